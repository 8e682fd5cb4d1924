/* ctl.h - what the commands of ksmpilotctl share: the options parsed by
 * ksmpilotctl.c, the exit codes, and the command table's entry type. Each
 * command lives in its own src/ctl_NAME.c and adds one row to the table in
 * ksmpilotctl.c. See ksmpilotctl(8). */
#ifndef KSMPILOT_CTL_H
#define KSMPILOT_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Exit codes, documented in ksmpilotctl(8). */
enum {
	CTL_OK = 0,
	CTL_FAIL = 1,
	CTL_USAGE = 2,
	CTL_CONFIG = 3,         /* bad configuration or input */
	CTL_NO_KSM = 4,         /* KSM not available */
	CTL_NOT_RUNNING = 5,    /* status: ksmpilotd is not running */
	CTL_STALE = 6,          /* status: it holds the lock but its state is stale */
};

/* Options that only some commands take: a command lists the ones it
 * accepts, and any other is a usage error. The global options (-c,
 * --state-dir, --sysfs-dir) apply to every command. */
enum {
	CTL_OPT_JSON = 1u << 0,
	CTL_OPT_OUTPUT = 1u << 1,
	CTL_OPT_SINCE = 1u << 2,
	CTL_OPT_JOURNAL_DIR = 1u << 3,
	CTL_OPT_PROC_DIR = 1u << 4,
	CTL_OPT_SYS_DIR = 1u << 5,
	CTL_OPT_WINDOW = 1u << 6,
};

struct ctl_opts {
	const char *config;             /* ksmpilotd's configuration */
	bool config_explicit;           /* -c given: the file must exist */
	const char *state_dir;          /* --state-dir, or NULL: from the configuration */
	const char *sysfs;              /* KSM sysfs directory */
	bool json;
	const char *output;             /* -o FILE, or NULL: standard output */
	const char *since;              /* --since (history) */
	const char *journal_dir;        /* --journal-dir (history); NULL: the local journal */
	const char *proc_dir;           /* --proc-dir (guests, doctor), default /proc */
	const char *sys_dir;            /* --sys-dir (doctor), default /sys */
	const char *window;             /* --window (doctor) */
	unsigned given;                 /* CTL_OPT_* seen on the command line */
};

struct ctl_cmd {
	const char *name;
	const char *synopsis;           /* arguments, for --help */
	const char *summary;            /* one line, for --help */
	unsigned opts;                  /* CTL_OPT_* it accepts */
	/* argv[0..argc-1]: the positional arguments after the command name */
	int (*run)(const struct ctl_opts *o, int argc, char **argv);
};

/* The configuration the options name, for commands that need it (state_dir
 * above all). A configuration that does not parse gives its errors on
 * stderr and the defaults, so that a read-only command still works; with
 * --state-dir that directory replaces the configured one (main() refuses
 * one longer than a state_dir holds). 0 or -ENOMEM. */
int ctl_load_config(const struct ctl_opts *o, struct cfg *cfg);

/* Whether ksmpilotd runs with state_dir: it holds state_dir/lock, or,
 * where the lock cannot be read, pid (from the state file) is alive and
 * named ksmpilotd. */
bool ctl_daemon_running(const char *state_dir, long pid);

/* Whether the kernel shows KSM figures per process (proc_dir/self):
 * kernels before 5.19 do not. */
bool ctl_kernel_has_per_process(const char *proc_dir);
#define CTL_NO_PER_PROCESS                                                                                         \
	"this kernel shows no per-process KSM figures (/proc/PID/ksm_merging_pages came with Linux 5.19, ksm_stat "   \
	"with 6.1)"

int ctl_status(const struct ctl_opts *o, int argc, char **argv);
int ctl_import(const struct ctl_opts *o, int argc, char **argv);
int ctl_reload(const struct ctl_opts *o, int argc, char **argv);
int ctl_inspect(const struct ctl_opts *o, int argc, char **argv);
int ctl_history(const struct ctl_opts *o, int argc, char **argv);
int ctl_doctor(const struct ctl_opts *o, int argc, char **argv);
int ctl_guests(const struct ctl_opts *o, int argc, char **argv);

#endif
