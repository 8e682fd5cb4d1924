/* log.c - see log.h */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "util.h"

#define IDENT "ksmpilotd"
#define MAX_FIELDS 40

static enum log_target target = LOG_TARGET_STDERR;
static int level = LOG_INFO;
static log_sink_fn sink;
static void *sink_data;

void log_set_sink(log_sink_fn fn, void *userdata)
{
	sink = fn;
	sink_data = userdata;
}

int log_parse_target(const char *s, enum log_target *out)
{
	if (strcmp(s, "auto") == 0)
		*out = LOG_TARGET_AUTO;
	else if (strcmp(s, "journal") == 0)
		*out = LOG_TARGET_JOURNAL;
	else if (strcmp(s, "stderr") == 0)
		*out = LOG_TARGET_STDERR;
	else
		return -EINVAL;
	return 0;
}

/* systemd sets JOURNAL_STREAM=dev:ino for the stream stdout/stderr are
 * connected to; it only counts if stderr is still that stream. */
bool log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char *end;

	if (!e)
		return false;
	errno = 0;
	dev = strtoull(e, &end, 10);
	if (end == e || *end != ':' || errno)
		return false;
	e = end + 1;
	ino = strtoull(e, &end, 10);
	if (end == e || *end != '\0' || errno)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_open(enum log_target t)
{
	if (t == LOG_TARGET_AUTO)
		t = log_stderr_is_journal() ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR;
	target = t;
}

enum log_target log_target(void)
{
	return target;
}

void log_set_level(int prio)
{
	level = prio;
}

int log_level(void)
{
	return level;
}

bool log_enabled(int prio)
{
	return prio <= level;
}

void log_field_set(struct log_field *f, const char *name, const char *fmt, ...)
{
	va_list ap;

	f->name = name;
	va_start(ap, fmt);
	/* va_start is just above: a false positive of clang 14's analyzer */
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
	vsnprintf(f->value, sizeof(f->value), fmt, ap);
	va_end(ap);
}

static const char *prio_name(int prio)
{
	static const char *const n[] = { "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug" };
	return prio >= 0 && prio < 8 ? n[prio] : "?";
}

static void emit(int prio, const char *msgid, const struct log_field *fields, size_t nfields, const char *msg,
		 bool always)
{
	if (!always && !log_enabled(prio))
		return;
	if (sink) {
		sink(prio, msgid, msg, sink_data);
		return;
	}
	if (target == LOG_TARGET_JOURNAL) {
		struct iovec iov[MAX_FIELDS + 4];
		char buf[MAX_FIELDS + 4][160];
		size_t n = 0, mlen = strlen(msg);
		char *m = malloc(mlen + 9);
		int r;

		if (m) {
			memcpy(m, "MESSAGE=", 8);
			memcpy(m + 8, msg, mlen);
			m[8 + mlen] = '\0';
			iov[n].iov_base = m;
			iov[n++].iov_len = mlen + 8;
		}
		snprintf(buf[n], sizeof(buf[n]), "PRIORITY=%d", prio);
		iov[n].iov_base = buf[n];
		iov[n].iov_len = strlen(buf[n]);
		n++;
		snprintf(buf[n], sizeof(buf[n]), "SYSLOG_IDENTIFIER=%s", IDENT);
		iov[n].iov_base = buf[n];
		iov[n].iov_len = strlen(buf[n]);
		n++;
		if (msgid) {
			snprintf(buf[n], sizeof(buf[n]), "MESSAGE_ID=%s", msgid);
			iov[n].iov_base = buf[n];
			iov[n].iov_len = strlen(buf[n]);
			n++;
		}
		for (size_t i = 0; i < nfields && i < MAX_FIELDS; i++, n++) {
			snprintf(buf[n], sizeof(buf[n]), "%s=%s", fields[i].name, fields[i].value);
			iov[n].iov_base = buf[n];
			iov[n].iov_len = strlen(buf[n]);
		}
		r = m ? sd_journal_sendv(iov, (int)n) : -ENOMEM;
		free(m);
		if (r >= 0)
			return;
		/* journald gone: fall through to stderr rather than lose it */
	}
	fprintf(stderr, "%s: %s: %s\n", IDENT, prio_name(prio), msg);
}

static void vlog(int prio, const char *msgid, const struct log_field *fields, size_t nfields, int err,
		 bool always, const char *fmt, va_list ap) __attribute__((format(printf, 7, 0)));
static void vlog(int prio, const char *msgid, const struct log_field *fields, size_t nfields, int err,
		 bool always, const char *fmt, va_list ap)
{
	char msg[1024];
	int n;

	if (!always && !log_enabled(prio))
		return;
	/* va_start is just above: a false positive of clang 14's analyzer */
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err && n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(err));
	emit(prio, msgid, fields, nfields, msg, always);
}

void log_struct(int prio, const char *msgid, const struct log_field *fields, size_t nfields, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, msgid, fields, nfields, 0, false, fmt, ap);
	va_end(ap);
}

void log_data(int prio, const char *msgid, const struct log_field *fields, size_t nfields, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, msgid, fields, nfields, 0, true, fmt, ap);
	va_end(ap);
}

#define DEFINE_LOG(name, prio, with_err)                                    \
	void name(const char *fmt, ...)                                     \
	{                                                                   \
		va_list ap;                                                 \
		va_start(ap, fmt);                                          \
		vlog(prio, NULL, NULL, 0, 0, false, fmt, ap);                      \
		va_end(ap);                                                 \
	}

void log_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, NULL, NULL, 0, err, false, fmt, ap);
	va_end(ap);
}

void log_warn(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, NULL, NULL, 0, err, false, fmt, ap);
	va_end(ap);
}

DEFINE_LOG(log_errx, LOG_ERR, 0)
DEFINE_LOG(log_warnx, LOG_WARNING, 0)
DEFINE_LOG(log_notice, LOG_NOTICE, 0)
DEFINE_LOG(log_info, LOG_INFO, 0)
DEFINE_LOG(log_debug, LOG_DEBUG, 0)
