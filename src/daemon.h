/* daemon.h - the ksmpilotd service: start-up, the sd-event loop (tick,
 * SIGHUP reload, SIGTERM/SIGINT, watchdog), applying decisions, on_exit.
 * Also the one-shot --once path, which shares the start-up and apply code. */
#ifndef KSMPILOT_DAEMON_H
#define KSMPILOT_DAEMON_H

#include <stdbool.h>

#include "config.h"
#include "controller.h"
#include "ksm.h"
#include "log.h"
#include "sample.h"

/* Exit codes, documented in ksmpilotd(8). */
enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,       /* any other failure at run time */
	EXIT_USAGE = 2,         /* bad command line */
	EXIT_CONFIG = 3,        /* bad configuration */
	EXIT_NO_KSM = 4,        /* KSM sysfs directory missing (CONFIG_KSM=n) */
	EXIT_KSM_READONLY = 5,  /* KSM knobs cannot be written, and a write is needed */
	EXIT_LOCKED = 6,        /* another instance holds the lock */
};

struct daemon_opts {
	const char *config_path;
	bool config_explicit;       /* -c given: the file must exist */
	const char *sysfs_dir;
	bool dry_run;               /* --dry-run (or the config's dry_run) */
	bool apply;                 /* --once --apply */
	enum log_target log_target;
	const char *psi_path;
};

/* Run the service until SIGTERM/SIGINT; returns an exit code. cfg has
 * been loaded and validated by the caller. */
int daemon_run(const struct daemon_opts *o, const struct cfg *cfg);

/* --once: two samples one second apart, print the block, apply when asked. */
int daemon_once(const struct daemon_opts *o, const struct cfg *cfg);

/* Write a decision's knobs that differ from cur: advisor off first when
 * taking over, then pages_to_scan and sleep_millisecs, then run. On
 * failure *bad_item names the knob. Returns the number of knobs written
 * or the first -errno. */
int daemon_apply(struct ksm *k, const struct cfg *cfg, const struct ctl_decision *d, const struct sample *cur,
		 enum ksm_item *bad_item);

#endif
