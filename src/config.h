/* config.h - the validated configuration of ksmpilotd.
 *
 * Every key is described once, in the table in config.c: section, name,
 * type, range, default and a one-line meaning. Defaults, parsing, range
 * checks and --dump-config all come from that table. */
#ifndef KSMPILOT_CONFIG_H
#define KSMPILOT_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

enum on_exit_action { ON_EXIT_RESTORE, ON_EXIT_LEAVE, ON_EXIT_STOP };
enum advisor_policy { ADVISOR_TAKEOVER, ADVISOR_DEFER };
enum man_policy { MAN_KEEP = -1, MAN_OFF = 0, MAN_ON = 1 }; /* merge_across_nodes */
enum log_level_cfg { LOGL_ERR = 3, LOGL_WARNING = 4, LOGL_NOTICE = 5, LOGL_INFO = 6, LOGL_DEBUG = 7 };

#define CFG_PATH_MAX 256
#define CFG_STR_MAX 256
#define CFG_MAX_KEYS 48
/* One name per key plus the file being read: with fewer, more drop-ins
 * than slots would make cross-key errors name the wrong file. */
#define CFG_MAX_FILES (CFG_MAX_KEYS + 1)

/* Where each key was last set, so that cross-key errors can name a line. */
struct cfg_source {
	unsigned nfiles;
	char file[CFG_MAX_FILES][CFG_PATH_MAX];
	unsigned char key_file[CFG_MAX_KEYS];  /* index into file[], valid when key_line != 0 */
	unsigned key_line[CFG_MAX_KEYS];
	/* the value on key_line did not parse: the key holds an earlier value,
	 * and cfg_validate() skips the checks that involve it */
	bool key_bad[CFG_MAX_KEYS];
};

struct cfg {
	/* [daemon] */
	uint64_t interval_ms;
	uint64_t idle_interval_ms;
	bool dry_run;
	int on_exit;            /* enum on_exit_action */
	int kernel_advisor;     /* enum advisor_policy */
	char state_dir[CFG_PATH_MAX];
	int log_level;          /* syslog priority */
	/* [memory] */
	struct size_spec target_available;
	struct size_spec stop_margin;
	uint64_t stop_delay_ms;
	double psi_threshold;   /* % of some avg10; 0 = off */
	char guest_cmdline[CFG_STR_MAX]; /* extended regex; "" = off */
	uint64_t guest_scan_interval_ms;
	/* [controller] */
	double kp;
	double ki;              /* per second */
	double kd;              /* seconds */
	uint64_t derivative_filter_ms;
	double max_cpu;         /* % of one core, on average */
	double max_cpu_burst;   /* % of one core, at most, while the burst lasts */
	uint64_t burst_duration_ms;
	double idle_max_cpu;    /* % of one core for the idle scan */
	uint64_t idle_scan_period_ms;
	double min_yield;
	double full_yield;
	double volatile_limit;  /* % */
	double churn_loss;      /* % of the merged pages */
	struct size_spec wake_threshold;
	/* [scan] */
	uint64_t pages_to_scan_min;
	uint64_t pages_to_scan_max;
	uint64_t sleep_ms_min;
	uint64_t sleep_ms_max;
	/* [kernel] */
	int merge_across_nodes;         /* enum man_policy */
	/* [metrics] */
	char textfile[CFG_PATH_MAX];    /* node_exporter textfile; "" = off */
	uint64_t history_period_ms;     /* summary record in the journal; 0 = off */
	uint64_t guest_series;          /* guests with ksmpilot_guest_* series of their own */

	struct cfg_source src;
};

#define CFG_MAX_ERRORS 32
#define CFG_ERROR_LEN 384
struct cfg_errors {
	unsigned n;
	unsigned dropped;       /* errors past CFG_MAX_ERRORS */
	char msg[CFG_MAX_ERRORS][CFG_ERROR_LEN];
};

/* The largest file cfg_load() reads, and the longest line it accepts
 * (longer lines are rejected before inih, which would split them). */
#define CFG_MAX_FILE_SIZE ((size_t)1024 * 1024)
#define CFG_MAX_LINE_LEN 1024

/* Fill cfg with every default. */
void cfg_defaults(struct cfg *cfg);

/* Parse one INI text on top of *cfg; errors are appended to errs as
 * "FILENAME:LINE: message". Returns 0 or -EINVAL when errs gained any.
 * On error *cfg may hold a mix of old and new values: callers parse into a
 * copy (cfg_load does). Does not run the cross-key checks. */
int cfg_parse_string(struct cfg *cfg, const char *text, size_t len, const char *filename,
		     struct cfg_errors *errs);

/* The cross-key checks (min <= max, regex compiles, ...). A check that
 * involves a key whose value did not parse (src.key_bad) is skipped: its
 * error is reported already, and the value in force is not the one the
 * file meant. */
int cfg_validate(const struct cfg *cfg, const char *filename, struct cfg_errors *errs);

/* Defaults, then path, then path.d/ (*.conf in byte order of the name,
 * dotfiles skipped), then cfg_validate(), so that one pass reports every
 * error. When must_exist is false a
 * missing main file means "defaults" (drop-ins are still read). On success
 * *out is replaced; on any error it is left as it was and -EINVAL (see
 * errs) is returned, or -ENOMEM before anything was read. errs is not
 * cleared: zero it first. */
int cfg_load(const char *path, bool must_exist, struct cfg *out, struct cfg_errors *errs);

/* The files cfg_load_files() read, in order, their names made safe to
 * print; main_missing when the main file did not exist (and was optional):
 * the defaults are in force but for the drop-ins. */
#define CFG_FILES_MAX 64
struct cfg_files {
	unsigned n;
	unsigned more;          /* read, past CFG_FILES_MAX */
	bool main_missing;
	char name[CFG_FILES_MAX][CFG_PATH_MAX];
};
/* cfg_load(), and the files it read (for --check-config). */
int cfg_load_files(const char *path, bool must_exist, struct cfg *out, struct cfg_errors *errs,
		   struct cfg_files *files);

/* cfg_load() for --restore: on a parse or validation error *out still
 * receives every value that parsed, defaults elsewhere, so that the
 * snapshot is looked for in the configured state_dir even when another
 * key is broken; a state_dir that is not absolute or goes up with ".."
 * is the default. Same return values; on -ENOMEM *out is left as it was. */
int cfg_load_salvage(const char *path, bool must_exist, struct cfg *out,
		     struct cfg_errors *errs);

/* Whether path may be a state_dir: absolute, without a ".." component. */
bool cfg_state_dir_ok(const char *path);

/* Print the configuration as INI, every key included. */
void cfg_dump(const struct cfg *cfg, FILE *f);

/* cfg_dump(), each key set in a file preceded by "# FILE:LINE", under a
 * header that says so (--dump-config). */
void cfg_dump_origins(const struct cfg *cfg, FILE *f);
/* "key = value" for each of the n keys named ("key" or "section.key"), in
 * that order. -ENOENT (and nothing written) if a name is no key's: why
 * says which, with the nearest key. */
int cfg_dump_keys(const struct cfg *cfg, char *const *names, unsigned n, FILE *f, char *why, size_t why_len);

/* Warnings (in warns, "FILE:LINE: warning: ...") for state_dir and the
 * textfile's directory outside the space-separated directories that the
 * unit makes writable (ReadWritePaths=, RuntimeDirectory=, ... of
 * systemd/ksmpilot.service.in). Returns 1 if it warned, else 0. */
int cfg_check_writable(const struct cfg *cfg, const char *filename, const char *writable,
		       struct cfg_errors *warns);

/* A warning (in warns) for a guest_cmdline in quotes, "..." or '...':
 * values are taken as written, so the quotes are part of the pattern and
 * it matches no command line without them. Returns 1 if it warned. */
int cfg_check_quotes(const struct cfg *cfg, const char *filename, struct cfg_errors *warns);

/* "FILE:LINE" where key was set, or fallback if it was not. */
const char *cfg_where(const struct cfg *cfg, const char *fallback, const char *key, char *buf, size_t len);

/* Appends a formatted message to errs. */
void cfg_error(struct cfg_errors *errs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Iteration over the key table, for documentation checks and tests. */
struct cfg_key_info {
	const char *section;
	const char *name;
	const char *type;       /* "duration", "size", "bool", ... */
	const char *def;
	const char *help;
	char range[96];         /* "100ms..10min", "restore, leave, stop", "" */
};
unsigned cfg_key_count(void);
const struct cfg_key_info *cfg_key(unsigned i, struct cfg_key_info *out);

const char *on_exit_name(int v);
const char *advisor_policy_name(int v);

#endif
