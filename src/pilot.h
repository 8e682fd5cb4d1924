/* pilot.h - what ksmpilotd does, without the event loop: start-up (open
 * KSM, check it can be written, take the lock and the snapshot, handle the
 * kernel advisor), one tick (sample, decide, apply, log), a reload, and
 * on_exit. daemon.c drives it from sd-event; tests drive it with their own
 * clock, a fake KSM tree and a simulated plant. Also the one-shot --once. */
#ifndef KSMPILOT_PILOT_H
#define KSMPILOT_PILOT_H

#include <stdbool.h>
#include <stdint.h>

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

/* Seams for tests; a NULL field means the real thing. */
struct pilot_env {
	const struct ksm_io *ksm_io;
	const struct proc_ops *proc_ops;
	void *proc_ctx;                 /* owned by the pilot from pilot_new() */
	const char *numa_dir;           /* "/sys/devices/system/node" */
	int offline_wait_ms;            /* the wait for memory going offline at start-up and at a stop; 0: 10 s */
};

/* state_dir/processes, written by ksmpilotctl inspect every minute: looked
 * at every INSPECT_CHECK_MS and read when it changed; data older than
 * INSPECT_STALE_S is stale; with no fresh data for INSPECT_GRACE_MS,
 * ksmpilotd logs it once (MSGID_INSPECT_STALE). */
#define INSPECT_CHECK_MS 10000u
#define INSPECT_STALE_S 300
#define INSPECT_GRACE_MS (UINT64_C(5) * 60 * 1000)
enum inspect_status { INSPECT_MISSING, INSPECT_FRESH, INSPECT_STALE, INSPECT_REFUSED };

struct pilot_stats {
	uint64_t ticks, adjustments, write_errors, reloads, reload_failures;
	uint64_t mode_changes;          /* decisions whose mode differs from the one before */
	uint64_t probes;                /* decisions that started a probe (wake != CTL_WAKE_NONE) */
	uint64_t foreign_changes;       /* knob changes by someone else */
};

struct pilot;

/* Start-up. Returns an exit code: EXIT_OK with *out set, or the reason
 * ksmpilotd cannot run (EXIT_NO_KSM, EXIT_KSM_READONLY, EXIT_LOCKED, ...),
 * already logged. env may be NULL. */
int pilot_new(struct pilot **out, const struct daemon_opts *o, const struct cfg *cfg, const struct pilot_env *env);
/* One tick at monotonic time now (µs). */
void pilot_tick(struct pilot *p, uint64_t now_us);
/* When the next tick is due, in µs from the last one: interval while ksmd
 * works or memory swings, idle_interval (at least interval) while it idles
 * or is stopped (ctl_interval_ms()). */
uint64_t pilot_next_tick_us(const struct pilot *p);
/* Re-read the configuration; 0, or -EINVAL with the old one kept. */
int pilot_reload(struct pilot *p);
/* Apply on_exit; true when every knob was put back (or left, as asked). */
bool pilot_stop(struct pilot *p);
void pilot_free(struct pilot *p);

const struct pilot_stats *pilot_stats(const struct pilot *p);
const struct cfg *pilot_cfg(const struct pilot *p);
/* The last decision and sample; NULL before the first tick. */
const struct ctl_decision *pilot_last_decision(const struct pilot *p);
const struct sample *pilot_last_sample(const struct pilot *p);

/* --restore: apply on_exit from the snapshot a daemon left behind (one that
 * was killed, or stopped while hung), then remove it. Nothing to do when
 * there is no snapshot. Refuses while a daemon holds the lock. */
int pilot_restore_only(const struct daemon_opts *o, const struct cfg *cfg);

/* --once: two samples one second apart, print the block, apply when asked. */
int pilot_once(const struct daemon_opts *o, const struct cfg *cfg);

/* Write a decision's knobs that differ from cur: advisor off first when
 * taking over, then pages_to_scan and sleep_millisecs, then run. On
 * failure *bad_item names the knob and *bad_value the value refused.
 * Returns the number of knobs written, -EAGAIN when a write of run was put
 * off, nothing written, because the kernel is busy (ksm_busy(): cur is
 * carried over and did not show it), or the first -errno. */
int pilot_apply(struct ksm *k, const struct cfg *cfg, const struct ctl_decision *d, const struct sample *cur,
		enum ksm_item *bad_item, int64_t *bad_value);

/* A decision is logged at info when its planned rate changes by this
 * factor or more, up or down (ksmpilotd(8), JOURNAL). */
#define PILOT_LOG_RATE_FACTOR 1.5

#endif
