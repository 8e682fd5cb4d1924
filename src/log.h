/* log.h - one logging API for every call site: journald (with structured
 * fields and MESSAGE_IDs) or stderr.
 *
 * log_warn() appends the errno text, log_warnx() does not (as in OpenBSD's
 * ntpd). Library modules do not log; main and daemon do. */
#ifndef KSMPILOT_LOG_H
#define KSMPILOT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

enum log_target { LOG_TARGET_AUTO, LOG_TARGET_JOURNAL, LOG_TARGET_STDERR };

/* "auto", "journal" or "stderr"; -EINVAL otherwise. */
int log_parse_target(const char *s, enum log_target *out);
/* auto: journal when $JOURNAL_STREAM matches stderr's device:inode. */
void log_open(enum log_target t);
enum log_target log_target(void);
/* Whether stderr is the journal stream systemd connected ($JOURNAL_STREAM),
 * where a line that starts with "<N>" is logged at priority N. */
bool log_stderr_is_journal(void);
void log_set_level(int prio);
int log_level(void);
bool log_enabled(int prio);

/* A structured journal field, "NAME=value". */
struct log_field {
	const char *name;
	char value[64];
};

/* The general form: priority, optional MESSAGE_ID (32 hex digits),
 * optional fields, printf message. */
void log_struct(int prio, const char *msgid, const struct log_field *fields, size_t nfields, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* log_struct() whatever log_level says: for records that are data an
 * operator reads back (the history summary), not messages. */
void log_data(int prio, const char *msgid, const struct log_field *fields, size_t nfields, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

void log_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Tests: send every enabled record to fn instead of the journal or stderr.
 * NULL restores the normal target. */
typedef void (*log_sink_fn)(int prio, const char *msgid, const char *msg, void *userdata);
void log_set_sink(log_sink_fn fn, void *userdata);

void log_field_set(struct log_field *f, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
