/* controller.h - the decision: run, pages_to_scan and sleep_millisecs.
 *
 * Pure code: no clock, no I/O, no logging. Each tick the caller passes the
 * configuration, the state, a fresh sample and the seconds since the last
 * sample (dt); ctl_step() updates the state and fills a decision that
 * carries its reason and the value of every term. See docs/controller.md.
 *
 *   effort u   = clamp(P + I + D, 0, 1)          memory pressure (PID)
 *   benefit b  in [0, 1]                          is scanning still paying?
 *   rate       = idle + (cap - idle) * u * b      pages per second
 *   cap        = max_cpu / cost_per_page          cost (measured ksmd CPU)
 *   (pages_to_scan, sleep_millisecs) from rate    mapping within [scan] bounds
 */
#ifndef KSMPILOT_CONTROLLER_H
#define KSMPILOT_CONTROLLER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "sample.h"

enum ctl_mode {
	CTL_MODE_STOPPED,       /* run=0: no pressure for stop_delay */
	CTL_MODE_ACTIVE,        /* scanning with effort u * b */
	CTL_MODE_IDLE,          /* nothing left to merge: idle rate */
	CTL_MODE_COUNT
};

enum ctl_reason {
	CTL_R_HOLD,             /* inputs unusable: keep the last decision */
	CTL_R_NO_PRESSURE,      /* enough memory available */
	CTL_R_PRESSURE_FADING,  /* pressure gone, waiting stop_delay before run=0 */
	CTL_R_PROBING,          /* new memory: scanning it twice before judging */
	CTL_R_MERGING,          /* scanning pays: merge yield is good */
	CTL_R_LOW_YIELD,        /* scanning pays a little: effort scaled down */
	CTL_R_CHURN,            /* volatile pages dominate: backing off */
	CTL_R_NOTHING_TO_MERGE, /* last full scan brought nothing: idle rate */
	CTL_R_CPU_CAP,          /* rate limited by max_cpu */
	CTL_R_COUNT
};

/* Why the controller left the idle rate, for the log. */
enum ctl_wake {
	CTL_WAKE_NONE,
	CTL_WAKE_START,         /* first tick or run resumed */
	CTL_WAKE_MEM_DROP,      /* MemAvailable fell by wake_threshold */
	CTL_WAKE_RMAP_GROWTH,   /* KSM tracks wake_threshold more pages */
	CTL_WAKE_UNSHARED,      /* pages settled into the unstable tree */
	CTL_WAKE_SHARING_DROP,  /* merged pages went away: the workload changed */
	CTL_WAKE_IDLE_YIELD,    /* an idle full scan merged pages */
	CTL_WAKE_COUNT
};

const char *ctl_reason_name(enum ctl_reason r);
const char *ctl_mode_name(enum ctl_mode m);
const char *ctl_wake_name(enum ctl_wake w);

/* The terms behind a decision, all shown to the operator. */
struct ctl_terms {
	double error;           /* (setpoint - available) / MemTotal, max over sources */
	double error_mem, error_guest, error_psi;
	double p, i, d;         /* PID terms */
	double u;               /* effort, clamp(P + I + D, 0, 1) */
	double benefit;         /* b */
	double yield;           /* merged per scanned, short-term */
	double epoch_yield;     /* merged per scanned over the last full scan */
	double churn;           /* volatile share of unshared + volatile */
	double cost_us;         /* ksmd CPU per page scanned, µs */
	double cpu_share;       /* ksmd CPU, fraction of one core, last interval */
	double rate_cap;        /* pages/s allowed by max_cpu */
	double rate_idle;       /* pages/s for one full scan per idle_scan_period */
	double scanned_rate;    /* pages/s scanned in the last interval */
	uint64_t setpoint;      /* bytes of MemAvailable aimed at */
};

struct ctl_decision {
	bool hold;              /* write nothing this tick */
	int run;                /* 0 or 1; never 2 */
	uint64_t pages_to_scan;
	uint64_t sleep_ms;
	bool set_pages;         /* false when the kernel advisor owns pages_to_scan */
	double rate;            /* wanted pages/s */
	double rate_planned;    /* pages/s the written knobs give */
	enum ctl_mode mode;
	enum ctl_reason reason;
	enum ctl_wake wake;     /* set on the tick that left idling */
	bool estimated_cpu;     /* ksmd invisible: CPU estimated from the rate */
	struct ctl_terms t;
};

/* What the controller keeps between ticks. Plain data; zero it with
 * ctl_init(). */
struct ctl_state {
	bool primed;                    /* prev holds a sample */
	/* previous sample, the parts used for deltas */
	double prev_meas;               /* MemAvailable / MemTotal */
	int64_t prev_gain;              /* pages_sharing + ksm_zero_pages */
	int64_t prev_scanned;           /* pages_scanned (or estimate) */
	int64_t prev_full_scans;
	int64_t prev_skipped;
	double prev_ksmd_cpu;
	bool prev_have_cpu;
	/* PID */
	double integ;
	double dfilt;                   /* filtered -d(available/total)/dt, 1/s */
	double u;
	/* run */
	int run;
	double calm_s;                  /* seconds without pressure */
	/* benefit */
	enum ctl_mode mode;
	unsigned probe_boundaries;      /* full scans seen since the probe began */
	bool probing;
	double epoch_scanned, epoch_gain;
	int64_t epoch_rmap_start;
	int64_t epoch_skipped;          /* pages_skipped during the last full scan */
	double epoch_growth;            /* rmap items added during the last full scan */
	double epoch_yield;
	bool epoch_yield_valid;
	double yield_ewma;
	uint64_t idle_avail_ref;        /* highest MemAvailable since idling */
	int64_t idle_rmap_ref;          /* lowest rmap count since idling */
	int64_t idle_unshared_ref;
	int64_t idle_gain_ref;          /* highest sharing + zero pages since idling */
	/* cost */
	double cost;                    /* seconds of ksmd CPU per page */
	bool cost_measured;
	double acc_cpu, acc_scanned;
	double cpu_share;
	/* output */
	uint64_t pages, sleep_ms;
	struct ctl_decision last;
};

/* ksmd cost per page assumed until measured, and when ksmd is invisible. */
#define CTL_DEFAULT_COST_S 3e-6
#define CTL_PAGE_SIZE 4096.0

void ctl_init(struct ctl_state *st);

/* One tick. dt: seconds since the previous sample (ignored on the first).
 * A dt above 10 intervals (suspend, stalled clock) re-primes the deltas. */
void ctl_step(const struct cfg *cfg, struct ctl_state *st, const struct sample *s, double dt,
	      struct ctl_decision *out);

/* Bumpless reload: keep the effort u unchanged across a change of gains or
 * setpoint by moving the integral. s is the last sample (may be NULL). */
void ctl_reconfigure(const struct cfg *new_cfg, struct ctl_state *st, const struct sample *s);

/* Knob mapping (exposed for tests and docs). */
void ctl_map_rate(const struct cfg *cfg, double rate, double cost, uint64_t fixed_pages, uint64_t *pages,
		  uint64_t *sleep_ms);
double ctl_rate_of(uint64_t pages, uint64_t sleep_ms, double cost);

#endif
