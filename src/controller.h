/* controller.h - the decision: run, pages_to_scan and sleep_millisecs.
 *
 * Pure code: no clock, no I/O, no logging. Each tick the caller passes the
 * configuration, the state, a fresh sample and the seconds since the last
 * sample (dt); ctl_step() updates the state and fills a decision that
 * carries its reason and the value of every term. See docs/controller.md.
 *
 *   price    u  = clamp(P + I + D, 0, 1)         memory pressure (PID)
 *            u_probe = max(u, error / 0.5%)       a probe's effort, while short
 *   benefit  b  = max(max(b_yield, b_churn) * derate, b_probe)  what scanning finds
 *   cost        cap = max_cpu (+ burst) / cost    ksmd's measured CPU a page
 *   rate        idle + (cap - idle) * max(u * b, u_probe * b_probe)  pages/s
 *   knobs       (pages_to_scan, sleep_millisecs)  within [scan], with hysteresis
 *
 * b_yield comes from the pages merged per page scanned; b_probe from new
 * memory that KSM has not seen twice yet, priced by its share of what a
 * scan must cover to reach it; b_churn from the pages that writes break
 * (cow_ksm), which wait for ksmd's next visit to merge again. */
#ifndef KSMPILOT_CONTROLLER_H
#define KSMPILOT_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "sample.h"
#include "util.h"

enum ctl_mode {
	CTL_MODE_STOPPED,       /* run=0: no pressure for stop_delay */
	CTL_MODE_ACTIVE,        /* scanning above the idle rate */
	CTL_MODE_IDLE,          /* nothing worth merging: the idle rate */
	CTL_MODE_COUNT
};

enum ctl_reason {
	CTL_R_HOLD,             /* inputs unusable: keep the last decision */
	CTL_R_NO_PRESSURE,      /* enough memory available */
	CTL_R_PRESSURE_FADING,  /* pressure gone, waiting stop_delay before run=0 */
	CTL_R_PROBING,          /* new memory: scanning it twice before judging */
	CTL_R_MERGING,          /* scanning pays: merge yield is good */
	CTL_R_LOW_YIELD,        /* scanning pays a little: effort scaled down */
	CTL_R_CHURN,            /* writes break merged pages, or volatile pages dominate */
	CTL_R_NOTHING_TO_MERGE, /* nothing worth merging: idle rate */
	CTL_R_CPU_CAP,          /* rate limited by max_cpu */
	CTL_R_COUNT
};

/* Why a probe started (the tick that opened it carries it). */
enum ctl_wake {
	CTL_WAKE_NONE,
	CTL_WAKE_START,         /* start-up: memory KSM does not track yet */
	CTL_WAKE_ANON_GROWTH,   /* anonymous memory grew past what was known */
	CTL_WAKE_RMAP_GROWTH,   /* the idle scan reached pages it had never seen */
	CTL_WAKE_COUNT
};

/* Which detector saw what woke a probe (docs/controller.md, section 3). */
enum ctl_signal {
	CTL_SIGNAL_NONE,
	CTL_SIGNAL_LEVEL,       /* anonymous memory above the level known */
	CTL_SIGNAL_LOW,         /* ... above the low level: memory that stayed amid swings */
	CTL_SIGNAL_SWING,       /* ... above a neighbour's swings, while one is held */
	CTL_SIGNAL_RMAP,        /* the idle scan reached pages it had never seen */
	CTL_SIGNAL_UNTRACKED,   /* start-up: memory KSM does not track yet */
	CTL_SIGNAL_COUNT
};

const char *ctl_reason_name(enum ctl_reason r);
const char *ctl_mode_name(enum ctl_mode m);
const char *ctl_wake_name(enum ctl_wake w);
const char *ctl_signal_name(enum ctl_signal g);

/* The terms behind a decision, all shown to the operator. */
struct ctl_terms {
	double error;           /* (setpoint - available) / MemTotal, max over sources */
	double error_mem, error_guest, error_psi; /* by source; NaN while one is off */
	double p, i, d;         /* PID terms */
	double u;               /* price (effort): clamp(P + I + D, 0, 1) */
	double u_probe;         /* the probe's effort: u, or more while memory is short */
	double benefit;         /* b */
	double b_yield;         /* from the gross merge yield */
	double b_probe;         /* from new memory not yet seen twice */
	double b_churn;         /* to re-merge pages broken by writes in time */
	double derate;          /* factor on b_yield when volatile pages dominate */
	double yield;           /* pages merged per page scanned, recent (net of breaks) */
	double churn;           /* volatile share of unshared + volatile */
	double breaks;          /* merged pages broken by writes (cow_ksm), pages/s */
	double probe_pages;     /* pages of new memory being probed */
	double anon_excess;     /* bytes of anonymous memory above the known level */
	double anon_noise;      /* mean |change| of anonymous memory a sample, bytes */
	double cost_us;         /* ksmd CPU per page scanned, µs (measured) */
	double plan_cost_us;    /* the cost the cap was planned with */
	double cpu_share;       /* ksmd CPU, fraction of one core, last interval */
	double cpu_cap;         /* share of a core allowed now (max_cpu, up to the burst) */
	double burst;           /* burst allowance left, 0..1 */
	double rate_cap;        /* pages/s allowed by cpu_cap */
	double rate_idle;       /* pages/s of the idle scan */
	double rate_pass;       /* pages/s of a pass an interval: the most the yield and churn get */
	bool pass_bound;        /* the yield or churn wanted more than rate_pass */
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
	enum ctl_wake wake;     /* set on the tick that started a probe */
	double wake_bytes;      /* with it: the new memory it saw, bytes */
	enum ctl_signal signal; /* with it: the detector that saw it */
	bool swinging;          /* memory rose as a neighbour's swing does, and has not come back
				 * down yet: sample at interval, not idle_interval (ctl_interval_ms) */
	bool estimated_cpu;     /* ksmd invisible: CPU estimated from the rate */
	struct ctl_terms t;
};

/* Passes that smart_scan skips a page for, at most, before it looks at it
 * again (mm/ksm.c skip_age()). */
#define CTL_PASS_CYCLE 8

/* The probe: new memory that KSM has not seen twice yet. A process that
 * starts using KSM is inserted just behind the scan cursor: its first
 * visit adds rmap items (growth), and a page is seen twice one pass after
 * its first visit. The probe follows the pages scanned since it opened,
 * and since the last first visit. */
struct ctl_probe {
	bool open;
	enum ctl_wake why;
	double pages;                   /* new pages it looks for */
	double scanned;                 /* pages scanned since it opened */
	double len0;                    /* pages of a pass when it opened */
	int64_t rmap0;                  /* rmap items when it opened */
	double growth;                  /* most rmap items added since rmap0 */
	double growth_at;               /* scanned when growth last rose, or memory joined late */
	int64_t wraps;                  /* full scans since it opened, or since growth last rose;
					 * one in the interval of the rise counts as before it */
	bool wrapped;                   /* a full scan since, one in that interval counting */
	int64_t unshared0;              /* pages_unshared when it opened */
	double gain;                    /* pages merged since it opened */
	double idle_s;                  /* seconds with nothing to scan */
	double settle_s;                /* seconds since it opened or memory last joined it */
	bool joined_late;               /* memory joined it after its first visits began */
	bool join_pending;              /* ... and no first visits since */
	double anon;                    /* highest logical anonymous memory since it opened, less KSM's
					 * memory that left since, bytes; -1 unknown */
	bool grew;                      /* it rose by more than the anon detector's slack in the last interval */
};

/* A detector of new memory on one signal (bytes): its highest level known
 * to KSM, and its noise. */
struct ctl_level {
	double known;                   /* the level KSM has had its chance at */
	double prev;
	double noise;                   /* max(step, dev, noise_floor) */
	double step;                    /* mean |change| a sample */
	double level;                   /* slow mean */
	double dev;                     /* mean |distance| from the slow mean */
	double learned_s;               /* seconds step and dev learned (not in transit) */
	double lprev;                   /* the signal at the last sample that learned */
	double lsince;                  /* seconds since then */
	double noise_floor;             /* learned from swings that were not KSM's; decays */
	double cusum;                   /* accumulated excess */
};

/* What the controller keeps between ticks. Plain data; zero it with
 * ctl_init(). */
struct ctl_state {
	bool primed;                    /* prev holds a sample */
	/* the previous sample, the parts used for deltas */
	double prev_meas;               /* MemAvailable / MemTotal */
	int64_t prev_gain;              /* pages_sharing + ksm_zero_pages */
	int64_t prev_scanned;           /* pages_scanned (or estimate) */
	int64_t prev_full_scans;
	int64_t prev_skipped;
	int64_t prev_rmap;
	uint64_t prev_cow;
	bool prev_have_cow;
	double prev_ksmd_cpu;
	bool prev_have_cpu;
	double ksm_span;                /* seconds since the counters were last read (not carried); <0: unknown */
	int prev_run;                   /* run at that read */
	double scanned_rate;            /* pages/s over that span */
	/* price */
	double integ;
	double dfilt;                   /* filtered -d(available/total)/dt, 1/s */
	double efilt;                   /* filtered error, for P */
	bool efilt_valid;
	bool efilt_restored;            /* efilt from a saved state: the first step keeps it */
	double u;
	int run;
	double calm_s;                  /* seconds without pressure */
	double age_s;                   /* seconds since the first sample */
	/* the scan's position */
	double pass_pages;              /* pages scanned since the last full scan ended */
	double pass_len;                /* pages of the last whole pass */
	double pass_mean;               /* ... on average over smart_scan's cycle */
	double pass_hist[CTL_PASS_CYCLE]; /* the last passes' pages, for pass_mean */
	unsigned pass_count;
	double skipped_pass;            /* pages skipped in the last whole pass */
	double skipped_recent;          /* ... most over smart_scan's cycle (decaying) */
	double skipped_acc;
	/* evidence */
	double ev_gain, ev_scanned;     /* pages merged and pages scanned, decaying */
	double breaks;                  /* cow_ksm rate, pages/s, smoothed */
	double break_weight;            /* of the time since churn began, in that smoothing */
	double cow_span;                /* seconds since cow_ksm was last read */
	bool cow_span_ok;               /* ... and that read's time is known */
	double cow_quiet;               /* seconds of reads without a break */
	double cow_pending;             /* breaks ksmd has not visited again yet, pages */
	/* new memory */
	bool det_primed;
	struct ctl_level anon;          /* logical anon memory */
	struct ctl_level low;           /* the level it comes back down to */
	double low_value;               /* that level: follows falls at once, rises slowly */
	double trough;                  /* where memory came back down to after the last swing */
	double trough_noise;            /* mean |change| from one trough to the next */
	double trough_n;                /* troughs seen, each within TROUGH_GAP of the last */
	double trough_t;                /* seconds since the last trough */
	double swing_s;                 /* seconds since a swing rose, not followed by a trough yet; <0: none */
	double swing_peak;              /* the highest level since the last trough */
	double swing_hi;                /* the highest swing learned: peak above the troughs on either side */
	bool swing_woke;                /* a wake above the swings since the last trough */
	bool rose_pending;              /* a trough that rose, not confirmed yet */
	bool rose_woke;                 /* ... after a swing that woke above the swings */
	double rose_at;                 /* its level */
	double rose_s;                  /* seconds since it */
	double rose_base;               /* the trough it rose from */
	double low_claim;               /* bytes the level saw arrive, that the low level will see again */
	double low_claim_base;          /* the low level before they arrived */
	double low_claim_raise;         /* what the claim added to low.known */
	double low_claim_left;          /* seconds until the claim ends */
	int64_t ref_rmap;               /* lowest rmap items since the last probe */
	/* merged pages seen to leave whose rmap items are not freed yet: in
	 * this pass, and in the last one */
	double left_credit, left_credit_last;
	struct ctl_probe probe;
	double probe_tail;              /* new pages seen once by a probe that closed on its merges
					 * during their second visit: not churn until that visit ends */
	/* cost */
	double cost;                    /* seconds of ksmd CPU a page, measured */
	double cost_merging;            /* ... while pages change state */
	bool cost_measured;
	double cost_idle;               /* ... averaged over IDLE_COST_TAU of idle scanning */
	double idle_s;                  /* idle seconds behind cost_idle, up to IDLE_COST_TAU; 0: none */
	double acc_cpu, acc_scanned, acc_work;
	double acc_s;                   /* idle seconds in them; <0: a span that did not idle */
	double cpu_share;
	double bucket;                  /* burst allowance, CPU-seconds */
	/* output */
	uint64_t pages, sleep_ms;
	int last_dir;                   /* direction of the last rate change: -1, 0, 1 */
	enum ctl_mode mode;
	struct ctl_decision last;
};

/* ksmd cost per page assumed until measured, and when ksmd is invisible. */
#define CTL_DEFAULT_COST_S 3e-6
/* KSM's counters count pages of the kernel's size (util.h) */
#define CTL_PAGE_SIZE page_bytes()
/* Seconds during which a start without saved state only learns the noise of
 * anonymous memory; what arrives meanwhile joins the start-up probe. */
#define CTL_LEARN_S 30.0

void ctl_init(struct ctl_state *st);

/* One tick. dt: seconds since the previous sample (ignored on the first).
 * A dt above 10 idle intervals (a stalled daemon; the monotonic clock does
 * not count a suspend) re-primes the
 * deltas. */
void ctl_step(const struct cfg *cfg, struct ctl_state *st, const struct sample *s, double dt,
	      struct ctl_decision *out);

/* Bumpless reload: keep the price u unchanged across a change of gains or
 * setpoint by moving the integral, even when the new gains alone would
 * saturate. s is the last sample (may be NULL). */
void ctl_reconfigure(const struct cfg *new_cfg, struct ctl_state *st, const struct sample *s);

/* The learned state, for a restart without a new probe: ctl_save() writes
 * "key=value" lines into buf (0, or -ENOSPC); ctl_restore() reads them
 * back into a fresh state. It takes them only when they are complete, in
 * range, at most max_age_s old (age_s: now - when they were saved) and the
 * kernel's counters in s agree (the same full scans or a few more, rmap
 * items and merged pages within a tenth). Returns 0, -ESTALE (too old, or
 * the counters disagree: *why says which) or -EINVAL (not a saved state). */
int ctl_save(const struct ctl_state *st, const struct sample *s, char *buf, size_t len);
int ctl_restore(struct ctl_state *st, const char *text, const struct sample *s, double age_s,
		double max_age_s, const char **why);

/* Whether the sampler may carry the KSM counters and ksmd's CPU time over
 * between reads every SAMPLE_QUIET_MS (ksm_cached): ksmd stopped, or idling
 * with no probe open and none opening. */
bool ctl_counters_quiet(const struct ctl_decision *d, const struct sample *s);
/* Milliseconds until the next sample after decision d: interval while ksmd
 * works or memory swings (so that the swing's fall is seen), idle_interval
 * (at least interval) otherwise. */
uint64_t ctl_interval_ms(const struct cfg *cfg, const struct ctl_decision *d);

/* Knob mapping (exposed for tests and docs). */
void ctl_map_rate(const struct cfg *cfg, double rate, double cost, uint64_t fixed_pages, uint64_t *pages,
		  uint64_t *sleep_ms);
double ctl_rate_of(uint64_t pages, uint64_t sleep_ms, double cost);

#endif
