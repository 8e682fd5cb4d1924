/* controller.c - see controller.h and docs/controller.md
 *
 * ctl_step() runs the stages of the law in order:
 *   observe    counter deltas: pages scanned, gross merges, breaks, cost
 *   price      the PID term on the memory error: u
 *   probe      follows the new memory to its second visit (its first, if
 *              that merged it), and closes
 *   detect     new memory: anonymous memory past its known level, or pages
 *              the idle scan found; each opens (or grows) the probe
 *   caps       what max_cpu (with its burst) and the idle budget allow
 *   benefit    b from the measured yield, the probe and the breaks
 *   rate       idle + (cap - idle) * max(u * b, u_probe * b_probe), then
 *              the knobs */
#include "controller.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char *const reason_names[CTL_R_COUNT] = {
	[CTL_R_HOLD] = "hold",
	[CTL_R_NO_PRESSURE] = "no-pressure",
	[CTL_R_PRESSURE_FADING] = "pressure-fading",
	[CTL_R_PROBING] = "probing",
	[CTL_R_MERGING] = "merging",
	[CTL_R_LOW_YIELD] = "low-yield",
	[CTL_R_CHURN] = "churn",
	[CTL_R_NOTHING_TO_MERGE] = "nothing-to-merge",
	[CTL_R_CPU_CAP] = "cpu-cap",
};

static const char *const wake_names[CTL_WAKE_COUNT] = {
	[CTL_WAKE_NONE] = "none",
	[CTL_WAKE_START] = "start",
	[CTL_WAKE_ANON_GROWTH] = "anon-growth",
	[CTL_WAKE_RMAP_GROWTH] = "rmap-growth",
};

static const char *const signal_names[CTL_SIGNAL_COUNT] = {
	[CTL_SIGNAL_NONE] = "none",
	[CTL_SIGNAL_LEVEL] = "level",
	[CTL_SIGNAL_LOW] = "low-level",
	[CTL_SIGNAL_SWING] = "swing",
	[CTL_SIGNAL_RMAP] = "rmap",
	[CTL_SIGNAL_UNTRACKED] = "untracked",
};

const char *ctl_reason_name(enum ctl_reason r)
{
	return (unsigned)r < CTL_R_COUNT ? reason_names[r] : "?";
}

const char *ctl_mode_name(enum ctl_mode m)
{
	switch (m) {
	case CTL_MODE_STOPPED:
		return "stopped";
	case CTL_MODE_ACTIVE:
		return "active";
	case CTL_MODE_IDLE:
		return "idle";
	case CTL_MODE_COUNT:
		break;
	}
	return "?";
}

const char *ctl_wake_name(enum ctl_wake w)
{
	return (unsigned)w < CTL_WAKE_COUNT ? wake_names[w] : "?";
}

const char *ctl_signal_name(enum ctl_signal g)
{
	return (unsigned)g < CTL_SIGNAL_COUNT ? signal_names[g] : "?";
}

static double clamp(double v, double lo, double hi)
{
	if (!(v >= lo)) /* also catches NaN */
		return lo;
	return v > hi ? hi : v;
}

static double maxd(double a, double b)
{
	return a > b ? a : b;
}

static double mind(double a, double b)
{
	return a < b ? a : b;
}

/* ---- constants of the law (docs/controller.md explains each) -------------- */

/* Shortest and longest a cost may be: 50 ns .. 1 ms a page. */
#define COST_MIN 5e-8
#define COST_MAX 1e-3
/* Enough ksmd CPU (5 ticks at 100 Hz) and pages to trust a cost sample. */
#define COST_MIN_CPU 0.05
#define COST_MIN_PAGES 1000.0
/* The idle scan is planned with the cost averaged over this much idle
 * scanning (seconds), so that idle_max_cpu is an average over an hour, as
 * max_cpu is over a few seconds: the cursor crosses regions of unequal
 * cost (merged pages are cheap, volatile ones dear), and a rate that
 * followed each would reverse the knobs at each crossing. It plans with
 * at least half the cost measured now, so that a cost that rose takes
 * about twice the budget, not more, while the average catches up. */
#define IDLE_COST_TAU 3600.0
/* An interval where this share of the pages scanned changed state (merged,
 * or were seen for the first time) measures the merging cost. */
#define COST_WORK_SHARE 0.5
/* The evidence (gross merges per page scanned) covers this share of a
 * pass: what the scan finds now, not what it found before. */
#define EVIDENCE_SHARE (1.0 / 8)
/* Fewer pages than this in the evidence say nothing yet. */
#define EVIDENCE_MIN_PAGES 2000.0
/* The evidence counts a yield up to this many times full_yield: what
 * merges faster buys no more effort, and kept whole would hold the rate at
 * the cap long after the merging stopped (an arrival merged whole, at a
 * yield of 0.5, for ln 25 eighths of a pass). This much keeps full effort
 * across ln 2 eighths of a pass that merges nothing. */
#define EVIDENCE_CEIL 2.0
/* Time constant of the smoothed break rate (cow_ksm), seconds: bursts of
 * writes a few seconds apart move it by a few percent, within the knobs'
 * dead band. A minute without a break is a quiet spell. */
#define BREAK_TAU 60.0
/* Churn that begins after a quiet spell is measured over the time since it
 * began, and over this at least (seconds), rather than over a minute that
 * still counts the quiet. No shorter than the sampler's cow_ksm reads while
 * ksmd idles (SAMPLE_QUIET_MS), whose breaks come in lumps. */
#define BREAK_ONSET_S 10.0
/* Share of new anonymous memory expected to merge, before it is seen. */
#define PROBE_PRIOR 0.5
/* Memory short by this share of MemTotal: a probe runs at full effort. */
#define PROBE_FULL_ERROR 0.005
/* rmap growth, as a share of the probe's pages, that shows KSM tracks the
 * new memory once its first visit is due. */
#define PROBE_VISIBLE 0.25
/* Share of the new pages that, settled in the unstable tree by their
 * second visit while nothing merged, closes the probe. */
#define PROBE_EARLY (2.0 / 3)
/* Pages past the expected end of a visit before it counts as done, and
 * rmap growth that counts as first visits: the scan's position is known
 * to a tick. */
#define PROBE_MARGIN(len) (0.02 * (len) + 1000.0)
/* Passes an interval that a probe may scan: two see its new pages twice,
 * wherever the scan was when they came (they are put behind the cursor);
 * the third ends the second visit a third of an interval before the next
 * sample, not at it. */
#define PROBE_PASSES 3.0
/* A probe with nothing to scan (no KSM memory at all) closes after this. */
#define PROBE_EMPTY_S 10.0
/* For this long after a probe opens, or memory joins it, passes that end
 * while its memory is still arriving do not count towards finding it not
 * KSM's, seconds. */
#define PROBE_SETTLE_S 30.0
/* Volatile pages (those smart_scan skips aside) fewer than this share of
 * the rmap items do not count as churn. */
#define CHURN_MIN_SHARE 0.25
/* Below this benefit nothing is worth merging (anti-windup, reason). */
#define B_IDLE 0.02
/* A rate below this multiple of the idle rate is idling. */
#define IDLE_MARGIN 1.5
/* Growth of rmap items, as a share of the rmap items, that wakes the idle
 * controller (at least wake_threshold). */
#define GROWTH_SHARE (1.0 / 64)
/* Smallest wake threshold, bytes, whatever wake_threshold resolves to. */
#define WAKE_FLOOR (16.0 * 1024 * 1024)
/* The detector of new anonymous memory: slack and threshold in units of
 * the measured noise, the time constants of the noise and of the known
 * level's decay toward the current level. */
#define NOISE_K 3.0
#define NOISE_TAU 600.0
#define KNOWN_TAU (6 * 3600.0)
#define LEVEL_TAU 600.0
/* Time constant with which the level anonymous memory comes back down to
 * follows a rise: longer than the swings of memory that comes and goes. */
#define FLOOR_TAU 40.0
/* A trough that rose: by more than TROUGH_K times the mean change from one
 * trough to the next (over TROUGH_MEAN troughs), once TROUGH_LEARN troughs
 * in a row were seen, each within TROUGH_GAP seconds of the last. */
#define TROUGH_K 8.0
#define TROUGH_MEAN 16.0
#define TROUGH_LEARN 8
#define TROUGH_GAP 60.0
/* A swing is followed at interval for at most this long: a neighbour's
 * burst held longer is seen as it ends at the idle pace. */
#define SWING_FOLLOW_S 20.0
/* Beside a neighbour whose troughs are learned, memory that stands above
 * the last trough by the highest swing learned and this share of it again
 * (and by what a trough that rose must stand out by) is new memory, seen
 * while a burst is held (swing_excess()). */
#define SWING_EXCESS 0.5
/* Keep the written knobs while they give a rate within this share of the
 * wanted one; reversing the direction of the last change needs more. */
/* the shortest span of the counters, in intervals, that measures ksmd's
 * share and scan rate */
#define SPAN_MIN_SHARE 0.5
#define DEADBAND 0.10
#define REVERSE_BAND 0.30
/* Tolerated overshoot of the CPU cap before the rate is cut (tick rounding). */
#define CAP_SLACK 1.05

void ctl_init(struct ctl_state *st)
{
	memset(st, 0, sizeof(*st));
	st->cost = CTL_DEFAULT_COST_S;
	st->cost_merging = CTL_DEFAULT_COST_S;
	st->mode = CTL_MODE_ACTIVE;
	st->run = -1;
	st->bucket = -1; /* filled on the first step */
	st->swing_s = -1;
}

double ctl_rate_of(uint64_t pages, uint64_t sleep_ms, double cost)
{
	double period = (double)sleep_ms / 1000.0 + (double)pages * cost;

	return period > 0 ? (double)pages / period : 0;
}

void ctl_map_rate(const struct cfg *cfg, double rate, double cost, uint64_t fixed_pages, uint64_t *pages,
		  uint64_t *sleep_ms)
{
	double pmin = (double)cfg->pages_to_scan_min, pmax = (double)cfg->pages_to_scan_max;
	double smin = (double)cfg->sleep_ms_min, smax = (double)cfg->sleep_ms_max;
	double p, s;

	rate = maxd(rate, 1e-3);
	cost = clamp(cost, 0, COST_MAX);
	if (fixed_pages) {
		/* defer: the kernel advisor sets pages_to_scan, we set the sleep */
		p = (double)fixed_pages;
		s = clamp(p * (1.0 / rate - cost) * 1000.0, smin, smax);
	} else {
		/* The longest sleep that reaches the rate, so that ksmd wakes
		 * as seldom as it can; batch time p * cost is part of a period. */
		s = smax;
		p = rate * (s / 1000.0) / maxd(1.0 - rate * cost, 0.05);
		if (p > pmax) {
			p = pmax;
			s = clamp(p * (1.0 / rate - cost) * 1000.0, smin, smax);
		} else if (p < pmin) {
			p = pmin;
			s = clamp(p * (1.0 / rate - cost) * 1000.0, smin, smax);
		}
	}
	*pages = (uint64_t)llround(clamp(p, pmin, pmax));
	if (fixed_pages)
		*pages = fixed_pages;
	*sleep_ms = (uint64_t)llround(clamp(s, smin, smax));
}

static bool usable(const struct sample *s)
{
	static const enum ksm_item need[] = { KSM_RUN, KSM_PAGES_TO_SCAN, KSM_SLEEP_MILLISECS, KSM_PAGES_SHARED,
					      KSM_PAGES_SHARING, KSM_PAGES_UNSHARED, KSM_PAGES_VOLATILE,
					      KSM_FULL_SCANS };

	if (s->meminfo_err || s->mem_total == 0 || s->mem_available > s->mem_total * 2)
		return false;
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (!ksm_values_has(&s->ksm, need[i]) || s->ksm.v[need[i]] < 0)
			return false;
	/* memory going offline (KSM_RUN_OFFLINE), or an unmerge under way: a
	 * write of run would wait for it, and run is no state of ksmd to learn
	 * from */
	return s->ksm.v[KSM_RUN] <= KSM_RUN_UNMERGE && ksm_busy_of(&s->ksm) == KSM_BUSY_NONE;
}

/* Counters are non-negative; a garbage read must not overflow a sum. */
static int64_t sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	return a + b;
}

static int64_t gain_of(const struct sample *s)
{
	int64_t g = s->ksm.v[KSM_PAGES_SHARING];

	if (ksm_values_has(&s->ksm, KSM_ZERO_PAGES) && s->ksm.v[KSM_ZERO_PAGES] > 0)
		g = sat_add(g, s->ksm.v[KSM_ZERO_PAGES]);
	return g;
}

static int64_t rmap_of(const struct sample *s)
{
	return (int64_t)sample_rmap_items(s);
}

static double wake_bytes(const struct cfg *cfg, const struct sample *s)
{
	return maxd((double)size_resolve(&cfg->wake_threshold, s->mem_total), WAKE_FLOOR);
}

/* ---- observe: what changed since the last sample ------------------------- */

struct obs {
	bool fresh;             /* no usable previous sample: no deltas */
	bool cached;            /* the counters as last read (ksm_cached): they say nothing new */
	double dt;
	double kdt;             /* the time the counters' deltas span */
	int64_t scanned;        /* pages_scanned, or its estimate */
	double d_scan, d_gain, d_rmap, d_cow;
	int64_t d_full;
	double gross;           /* pages merged in the interval, breaks re-merged included */
	double rmap;            /* rmap items now */
};

/* The mean pass over smart_scan's cycle: pages that failed together are
 * skipped together and come back together, one pass in up to
 * CTL_PASS_CYCLE. */
static void pass_record(struct ctl_state *st)
{
	size_t n = ARRAY_SIZE(st->pass_hist), k;
	double sum = 0;

	st->pass_hist[st->pass_count % n] = st->pass_len;
	st->pass_count++;
	k = st->pass_count < n ? st->pass_count : n;
	for (size_t i = 0; i < k; i++)
		sum += st->pass_hist[i];
	st->pass_mean = sum / (double)k;
}

/* Pages of a pass: what the last one scanned (smart_scan's skipped pages
 * do not count), or the tracked pages before a pass was seen. */
static double pass_length(const struct ctl_state *st, double rmap)
{
	return st->pass_len > 0 ? st->pass_len : rmap;
}

/* The longest a pass may be now: the longest of the last passes (those
 * where smart_scan's skipped pages came back), or the tracked pages less
 * those the last pass skipped, which counts memory that came since; and
 * no more than the tracked pages (a pass visits each once). */
static double pass_longest(const struct ctl_state *st, double rmap)
{
	size_t n = ARRAY_SIZE(st->pass_hist), k = st->pass_count < n ? (size_t)st->pass_count : n;
	double len = maxd(st->pass_len, rmap - st->skipped_pass);

	for (size_t i = 0; i < k; i++)
		len = maxd(len, st->pass_hist[i]);
	return mind(len, rmap);
}

static void observe(const struct cfg *cfg, struct ctl_state *st, const struct sample *s, double dt,
		    struct obs *o)
{
	double longest = (double)maxd((double)cfg->interval_ms, (double)cfg->idle_interval_ms) / 1000.0;
	int cur_run = (int)s->ksm.v[KSM_RUN];

	memset(o, 0, sizeof(*o));
	o->dt = dt;
	o->rmap = (double)rmap_of(s);
	/* pages scanned: the kernel's counter, or an estimate from the knobs
	 * that were in force (kernels before 6.6) */
	if (ksm_values_has(&s->ksm, KSM_PAGES_SCANNED)) {
		o->scanned = s->ksm.v[KSM_PAGES_SCANNED];
	} else {
		double est = 0;
		if (st->primed && cur_run == 1 && dt > 0)
			est = ctl_rate_of((uint64_t)s->ksm.v[KSM_PAGES_TO_SCAN], (uint64_t)s->ksm.v[KSM_SLEEP_MILLISECS],
					  st->cost) * dt;
		o->scanned = sat_add(st->prev_scanned, (int64_t)clamp(est, 0, 1e15));
	}
	o->fresh = !st->primed || !(dt > 0) || dt > 10.0 * longest;
	/* Counters carried over from the last read (ksmd idles or is stopped,
	 * and the sampler reads them every SAMPLE_QUIET_MS) have no deltas;
	 * the next read's deltas span the time since the last one. */
	o->cached = !o->fresh && s->ksm_cached;
	/* after a gap, counters carried over are of an age not known: the
	 * next read's deltas measure no rate (ksm_span < 0) */
	if (o->fresh)
		st->ksm_span = s->ksm_cached ? -1 : 0;
	else if (st->ksm_span >= 0)
		st->ksm_span += dt;
	o->kdt = st->ksm_span;
	/* ksmd stopped at the read before and running now: started by this
	 * daemon at the last sample (it reads again after a write), it ran
	 * since then; started by someone else, at a time not known */
	if (!o->cached && st->prev_run == 0 && o->kdt > dt)
		o->kdt = st->last.run == 1 ? dt : -1;
	if (!o->fresh && !o->cached)
		st->ksm_span = 0;
	if (!o->fresh) {
		o->d_full = s->ksm.v[KSM_FULL_SCANS] - st->prev_full_scans;
		o->d_scan = (double)(o->scanned - st->prev_scanned);
		o->d_gain = (double)(gain_of(s) - st->prev_gain);
		o->d_rmap = o->rmap - (double)st->prev_rmap;
		if (s->have_cow && st->prev_have_cow && s->cow_ksm >= st->prev_cow)
			o->d_cow = (double)(s->cow_ksm - st->prev_cow);
		/* a counter that went backwards was reset: start over */
		if (o->d_full < 0 || o->d_scan < 0)
			o->fresh = true;
	}
	if (o->fresh) {
		o->d_full = 0;
		o->d_scan = o->d_gain = o->d_rmap = o->d_cow = 0;
	}
	/* A merged page broken by a write is re-merged, or seen to have
	 * changed, when ksmd visits it again: count breaks as merges to come,
	 * so that re-merging them shows as yield. */
	o->gross = maxd(o->d_gain + o->d_cow, 0);
	/* Until then the page counts twice: as the private copy in AnonPages
	 * and still as merged. The breaks not visited yet: those of this
	 * interval, and of the earlier ones what the scan has not passed. */
	if (!o->fresh) {
		st->cow_pending -= st->cow_pending * clamp(o->d_scan / maxd(pass_length(st, o->rmap), 1), 0, 1);
		st->cow_pending = clamp(st->cow_pending + o->d_cow, 0, maxd((double)gain_of(s), 0));
	}
}

/* Whether the counters' deltas span long enough to measure a rate: ksmd's
 * CPU time comes in clock ticks (10 ms), and the tick a reload asks for
 * at once may come a few milliseconds after the last. */
static bool span_measures(const struct cfg *cfg, const struct obs *o)
{
	return !o->fresh && !o->cached && o->kdt >= SPAN_MIN_SHARE * (double)cfg->interval_ms / 1000.0;
}

/* The cost of a page, and ksmd's share of a core, from its CPU time. */
static void measure_cost(const struct cfg *cfg, struct ctl_state *st, const struct sample *s, const struct obs *o)
{
	double d_cpu;

	if (!span_measures(cfg, o))
		return; /* the share as last measured */
	if (!(s->have_ksmd_cpu && st->prev_have_cpu)) {
		st->cpu_share = o->d_scan * st->cost / o->kdt;
		return;
	}
	d_cpu = maxd(s->ksmd_cpu_s - st->prev_ksmd_cpu, 0);
	st->cpu_share = d_cpu / o->kdt;
	st->acc_cpu += d_cpu;
	st->acc_scanned += o->d_scan;
	st->acc_work += o->gross + maxd(o->d_rmap, 0);
	/* the span ran at the last decision's knobs: a sample of the idle
	 * cost if every span in it idled (acc_s < 0: one did not) */
	if (st->last.mode != CTL_MODE_IDLE)
		st->acc_s = -1;
	else if (st->acc_s >= 0)
		st->acc_s += o->kdt;
	if (st->acc_cpu >= COST_MIN_CPU && st->acc_scanned >= COST_MIN_PAGES) {
		double c = clamp(st->acc_cpu / st->acc_scanned, COST_MIN, COST_MAX);
		st->cost = st->cost_measured ? st->cost + 0.5 * (c - st->cost) : c;
		st->cost_measured = true;
		if (st->acc_work >= COST_WORK_SHARE * st->acc_scanned)
			st->cost_merging = st->cost_merging + 0.5 * (c - st->cost_merging);
		if (st->acc_s > 0) {
			/* a mean over the idle time seen while it is short of the
			 * hour, so that a start does not plan on one region */
			double w = maxd(1 - exp(-st->acc_s / IDLE_COST_TAU), st->acc_s / (st->idle_s + st->acc_s));
			st->cost_idle += w * (c - st->cost_idle);
			st->idle_s = mind(st->idle_s + st->acc_s, IDLE_COST_TAU);
		}
		st->acc_cpu = st->acc_scanned = st->acc_work = st->acc_s = 0;
	} else if (st->acc_scanned > 1e9) {
		st->acc_cpu = st->acc_scanned = st->acc_work = st->acc_s = 0;
	}
}

/* The break rate, at each read of cow_ksm (every sample while ksmd works,
 * every SAMPLE_QUIET_MS while it idles; the samples between carry the last
 * read and say nothing), over the time since the last read: an average over
 * BREAK_TAU, which begins as the average since the churn began, over
 * BREAK_ONSET_S at least. The average over a minute that counts the quiet
 * before as no breaks took a minute to reach 63% of a new churn's rate;
 * the average since it began is the rate once BREAK_ONSET_S have passed,
 * and a minute's average once the churn has gone on for a few minutes. */
static void note_breaks(struct ctl_state *st, const struct sample *s, const struct obs *o)
{
	if (!s->have_cow || !st->prev_have_cow) {
		st->cow_span_ok = false;
		return;
	}
	st->cow_span += o->dt;
	if (!s->cow_fresh)
		return;
	/* the breaks since a read whose time is known (not the first read
	 * after a gap in them, whose breaks span the gap) */
	if (st->cow_span_ok) {
		double k = clamp(st->cow_span / BREAK_TAU, 0, 1), w;

		if (o->d_cow > 0 && st->cow_quiet >= BREAK_TAU) {
			st->breaks = 0; /* churn begins */
			st->break_weight = 0;
		}
		st->cow_quiet = o->d_cow > 0 ? 0 : st->cow_quiet + st->cow_span;
		st->break_weight += k * (1 - st->break_weight);
		w = maxd(st->break_weight, -expm1(-BREAK_ONSET_S / BREAK_TAU));
		st->breaks += clamp(k / w, 0, 1) * (o->d_cow / st->cow_span - st->breaks);
	}
	st->cow_span = 0;
	st->cow_span_ok = true;
}

/* Evidence: gross merges per page scanned, and the break rate, both
 * decaying with time so that they follow what ksmd finds now. */
static void gather_evidence(const struct cfg *cfg, struct ctl_state *st, const struct sample *s,
			    const struct obs *o)
{
	double keep;

	if (o->fresh) {
		st->cow_span_ok = false;
		return;
	}
	/* the evidence covers the last part of a pass, whatever the rate */
	keep = exp(-o->d_scan / clamp(o->rmap * EVIDENCE_SHARE, EVIDENCE_MIN_PAGES, 1e8));
	st->ev_scanned = st->ev_scanned * keep + o->d_scan;
	/* net merges: a page broken by a write and merged again on the next
	 * visit counts for nothing here; b_churn prices it */
	st->ev_gain = clamp(st->ev_gain * keep + o->d_gain, 0, EVIDENCE_CEIL * cfg->full_yield * st->ev_scanned);
	note_breaks(st, s, o);
	/* the scan's position in its pass, and what smart_scan skipped in the
	 * last whole pass */
	if (ksm_values_has(&s->ksm, KSM_PAGES_SKIPPED))
		st->skipped_acc += maxd((double)(s->ksm.v[KSM_PAGES_SKIPPED] - st->prev_skipped), 0);
	if (o->d_full > 0) {
		/* an interval that ended several passes scanned them all */
		st->pass_len = (st->pass_pages + o->d_scan) / (double)o->d_full;
		pass_record(st);
		st->skipped_pass = st->skipped_acc / (double)o->d_full;
		/* pages that failed together come back together, and are
		 * not skipped in that pass: the pages in skipping are the
		 * most skipped over the cycle */
		st->skipped_recent = maxd(st->skipped_pass, st->skipped_recent * (1 - 1.0 / CTL_PASS_CYCLE));
		st->skipped_acc = 0;
		st->pass_pages = 0;
	} else {
		st->pass_pages += o->d_scan;
	}
}

/* ---- price: PID on the memory error ----------------------------------------- */

static double error_of(const struct cfg *cfg, const struct sample *s, struct ctl_terms *t)
{
	double total = (double)s->mem_total;
	double setpoint = (double)size_resolve(&cfg->target_available, s->mem_total);
	double e;

	t->setpoint = (uint64_t)setpoint;
	t->error_mem = (setpoint - (double)s->mem_available) / total;
	t->error_guest = NAN; /* the source is off */
	t->error_psi = NAN;
	e = t->error_mem;
	if (cfg->guest_cmdline[0] && s->have_guest) {
		/* like ksmtuned: committed guest memory plus the setpoint above
		 * MemTotal is pressure, however much is free right now */
		t->error_guest = ((double)s->guest_rss + setpoint - total) / total;
		e = maxd(e, t->error_guest);
	}
	if (cfg->psi_threshold > 0 && s->have_psi) {
		t->error_psi = (s->psi_some_avg10 - cfg->psi_threshold) / 100.0;
		e = maxd(e, t->error_psi);
	}
	return clamp(e, -1, 1);
}

/* Lowest the integral may go: a reload may need it below 0 to keep u. */
static double integ_floor(const struct cfg *cfg)
{
	return -(cfg->kp + cfg->kd + 1.0);
}

/* P on the filtered error, D on the filtered fall of MemAvailable. The
 * integral is updated later, once the benefit is known (anti-windup). */
static void price(const struct cfg *cfg, struct ctl_state *st, const struct sample *s, const struct obs *o,
		  struct ctl_terms *t)
{
	double meas = (double)s->mem_available / (double)s->mem_total;
	double tf = (double)cfg->derivative_filter_ms / 1000.0;
	double e = error_of(cfg, s, t);

	t->error = e;
	/* a restart's first step has no span to filter over: it keeps the
	 * saved filtered error (bumpless), where a first start or a gap
	 * takes the error as it is */
	if (!st->efilt_valid || (o->fresh && !st->efilt_restored)) {
		st->efilt = e;
		st->efilt_valid = true;
	} else if (!o->fresh) {
		st->efilt += (o->dt / (tf + o->dt)) * (e - st->efilt);
	}
	st->efilt_restored = false;
	/* the sign of the raw error decides run; P follows the filtered one,
	 * so that noise on MemAvailable does not move the rate */
	t->p = cfg->kp * st->efilt;
	/* a span shorter than half an interval (the tick a reload asks for
	 * at once) gives no rate of change: MemAvailable's noise over a few
	 * milliseconds would make a spike of D */
	if (!o->fresh && o->dt >= SPAN_MIN_SHARE * (double)cfg->interval_ms / 1000.0) {
		double raw = -(meas - st->prev_meas) / o->dt;
		st->dfilt += (o->dt / (tf + o->dt)) * (raw - st->dfilt);
	}
	/* Only a fall of MemAvailable raises effort: a rise is usually KSM's
	 * own merging, and must not slow the merging that causes it. */
	t->d = cfg->kd * maxd(st->dfilt, 0);
}

/* The integral, with anti-windup: it does not grow while u is saturated in
 * the direction of the error, nor while scanning is known not to help
 * (nothing worth merging), nor on a fresh sample. */
static void integrate(const struct cfg *cfg, struct ctl_state *st, const struct obs *o, double b,
		      struct ctl_terms *t)
{
	double e = t->error;
	bool saturated_hi = st->u >= 1.0 && e > 0;
	bool saturated_lo = st->u <= 0.0 && e < 0;
	bool useless = b < B_IDLE && e > 0;

	if (!o->fresh && !saturated_hi && !saturated_lo && !useless) {
		double next = st->integ + cfg->ki * e * o->dt;
		/* in [0, 1]; below 0 only after a reload (bumpless), and then
		 * it can only be paid back */
		st->integ = st->integ >= 0 ? clamp(next, 0, 1) : clamp(next, st->integ, 1);
	}
	st->integ = clamp(st->integ, integ_floor(cfg), 1);
	t->i = st->integ;
	t->u = clamp(t->p + t->i + t->d, 0, 1);
	st->u = t->u;
}

/* ---- the probe ------------------------------------------------------------------ */

/* Anonymous memory as if nothing were merged: merging and breaking pages
 * moves pages between AnonPages and the merged count, not this. A break
 * reaches the merged count only when ksmd visits the page again; until
 * then it is taken out here (observe()), else COW churn reads as memory
 * that arrives (20-30 MiB under churn of 5-50% of the merged pages a
 * minute, which woke probes in the plant). */
static double logical_anon(const struct ctl_state *st, const struct sample *s)
{
	return (double)s->anon + ((double)gain_of(s) - st->cow_pending) * CTL_PAGE_SIZE;
}

static void probe_open(struct ctl_state *st, const struct sample *s, enum ctl_wake why, double pages,
		       double rmap_before)
{
	struct ctl_probe *p = &st->probe;
	double rmap = (double)rmap_of(s);

	if (!p->open) {
		memset(p, 0, sizeof(*p));
		p->open = true;
		p->why = why;
		p->rmap0 = (int64_t)rmap_before;
		p->growth = maxd(rmap - rmap_before, 0);
		p->unshared0 = s->ksm.v[KSM_PAGES_UNSHARED];
		p->anon = s->have_anon ? logical_anon(st, s) : -1;
		p->grew = why == CTL_WAKE_ANON_GROWTH;
		p->len0 = pass_length(st, rmap);
	} else if (pages > 0) {
		/* memory joins it, and may still be arriving */
		p->settle_s = 0;
		if (p->growth > PROBE_MARGIN(0)) {
			/* after the first visits began: KSM puts it behind
			 * the cursor when it is marked, so its own come
			 * after the next full scan, a pass from here; the
			 * full scans counted say nothing of it, and what
			 * merges may be the earlier memory's */
			p->join_pending = true;
			p->joined_late = true;
			p->growth_at = p->scanned;
			p->wraps = 0;
			p->wrapped = false;
		}
	}
	p->pages += maxd(pages, 0);
	p->idle_s = 0;
}

static void claim_extend(struct ctl_state *st);

/* The probe's first visits took in more new pages than its wake saw: the
 * rest of the same arrival, which came after the sample that woke it (a
 * process that fills its memory, then marks all of it mergeable). KSM has
 * visited that rest; known to the level now, up to what it shows above
 * its known level, so that it wakes no probe of its own once this one
 * closed (a probe that would find no first visits, and scan two passes to
 * learn it). A wake of the level opened a claim for the low level; one of
 * the low level or of the rmap items, whose memory the level had taken in
 * within its noise, leaves nothing above it to credit. */
static void probe_credit(struct ctl_state *st, const struct sample *s)
{
	const struct ctl_probe *p = &st->probe;
	double extra = (p->growth - p->pages) * CTL_PAGE_SIZE, above;

	if (extra <= 0 || !s->have_anon || !st->det_primed)
		return;
	above = logical_anon(st, s) - st->anon.known;
	if (above <= 0)
		return;
	st->anon.known += mind(extra, above);
	/* the low level climbs to it over FLOOR_TAU: the wake's claim holds
	 * it too */
	if (st->low_claim > 0 && st->anon.known > st->low.known)
		claim_extend(st);
}

static void probe_close(struct ctl_state *st, const struct sample *s)
{
	if (st->probe.open)
		probe_credit(st, s);
	memset(&st->probe, 0, sizeof(st->probe));
	st->ref_rmap = rmap_of(s);
}

/* A probe that saw its new pages twice, or merged what it was bought for
 * before their second visit: its merges were its own visits of them, at
 * the end of a pass, not what the next pass finds in the older memory it
 * begins with. Left in the evidence, they had the yield scan that memory
 * at full effort for an interval or more after every arrival, merging
 * nothing (a pass on a small host; on a larger one, a part of a pass,
 * which stopped before it reached the new pages again). */
static void probe_done(struct ctl_state *st, const struct sample *s)
{
	st->ev_gain = maxd(st->ev_gain - st->probe.gain, 0);
	probe_close(st, s);
}

/* A detector's slack: change within it is noise. A quarter of the wake
 * threshold at least. */
static double level_slack(const struct cfg *cfg, const struct ctl_level *d, const struct sample *s)
{
	return maxd(wake_bytes(cfg, s) / 4, NOISE_K * d->noise);
}

/* Whether the probe's memory may still be arriving, within PROBE_SETTLE_S
 * of its opening or of the last memory that joined it: the anonymous
 * memory rose above the highest level seen since the probe opened by more
 * than the anon detector's slack (its noise), in this interval or in the
 * one before. Called once a sample: it records this interval's rise for
 * the next. A process that fills its memory and then marks it mergeable
 * does so after the last rise, in the interval that follows it; a
 * neighbour that allocates and frees comes back up to the same peaks,
 * which are not new memory. KSM's memory that leaves meanwhile is taken
 * off that highest level as its rmap items are freed (probe_account()), so
 * that guests that fill in the place of those leaving still rise. */
static bool probe_arriving(const struct cfg *cfg, const struct ctl_state *st, struct ctl_probe *p,
			   const struct sample *s)
{
	double a = s->have_anon ? logical_anon(st, s) : -1;
	bool rose = p->anon >= 0 && a >= 0 && a - p->anon > level_slack(cfg, &st->anon, s);
	bool arriving = (rose || p->grew) && p->settle_s <= PROBE_SETTLE_S;

	p->anon = a >= 0 ? maxd(p->anon, a) : a;
	p->grew = rose;
	return arriving;
}

/* Add an interval to the open probe: what it scanned and merged, the first
 * visits of its new pages (rmap items added) and the full scans since they
 * began. False when it closed: KSM had nothing to scan for a while. */
static bool probe_account(const struct cfg *cfg, struct ctl_state *st, const struct sample *s, const struct obs *o)
{
	struct ctl_probe *p = &st->probe;
	double growth;

	p->settle_s += o->dt;
	p->scanned += o->d_scan;
	p->gain += o->d_gain + o->d_cow;
	/* nothing to scan at all: no process uses KSM */
	if (o->d_scan <= 0 && o->rmap <= 0 && s->ksm.v[KSM_RUN] == 1) {
		p->idle_s += o->dt;
		if (p->idle_s >= PROBE_EMPTY_S) {
			probe_close(st, s);
			return false;
		}
	} else {
		p->idle_s = 0;
	}
	/* rmap items freed meanwhile were memory that left (a guest torn
	 * down as the scan got there), not first visits undone */
	if (o->d_rmap < 0) {
		p->rmap0 = (int64_t)maxd((double)p->rmap0 + o->d_rmap, 0);
		/* and the highest level less it: what memory still
		 * arriving rises from */
		if (p->anon >= 0)
			p->anon = maxd(p->anon + o->d_rmap * CTL_PAGE_SIZE, 0);
	}
	growth = o->rmap - (double)p->rmap0;
	if (growth > p->growth + PROBE_MARGIN(0)) {
		/* first visits under way: after a join, those of the
		 * memory that joined, or of the earlier memory, which the
		 * pass counted from the join then starts later still */
		p->join_pending = false;
		p->growth = growth;
		p->growth_at = p->scanned;
		/* a full scan in the same interval may have come before the
		 * first visits or after them: closing takes it as before (of
		 * more, all but one came after), waiting for the second visit
		 * as after */
		p->wraps = o->d_full > 1 ? o->d_full - 1 : 0;
		p->wrapped = o->d_full > 0;
	} else {
		p->wraps += o->d_full;
		p->wrapped = p->wrapped || o->d_full > 0;
	}
	if (probe_arriving(cfg, st, p, s) && (p->growth < PROBE_VISIBLE * p->pages || p->join_pending)) {
		/* no first visits yet, and the memory still arriving: a
		 * process may mark it mergeable only once it filled it (KSM
		 * takes it in with the madvise), so the passes so far say
		 * nothing of it */
		p->wraps = 0;
		p->wrapped = false;
	}
	return true;
}

/* No first visits yet. */
static void probe_unseen(struct ctl_state *st, const struct sample *s)
{
	struct ctl_probe *p = &st->probe;

	if (p->wraps >= 2) {
		/* the pass in progress and a whole one after it, and no
		 * first visits: memory nobody marked mergeable; swings
		 * like it count as noise from now on. Not the memory
		 * the daemon found at its start: it did not arrive, and
		 * would hide arrivals of up to a sixth of it as noise
		 * (on a host with 6 GiB of other processes, a 1 GiB
		 * guest for ten minutes) */
		if (p->why != CTL_WAKE_START)
			st->anon.noise_floor =
				maxd(st->anon.noise_floor, p->pages * CTL_PAGE_SIZE / (2 * NOISE_K));
		probe_close(st, s);
	}
}

/* The older memory's pass after the first visits, which comes before their
 * second visit, is not over. */
static bool probe_before_second_visit(const struct ctl_probe *p)
{
	return p->scanned < p->growth_at + p->len0 - PROBE_MARGIN(p->len0);
}

/* Its first visits merged the share the probe was bought for. */
static bool probe_merged_early(struct ctl_state *st, const struct sample *s, double margin)
{
	struct ctl_probe *p = &st->probe;
	bool past, all_seen, older;

	/* seen once, and its first visits merged the share it was bought
	 * for: its pages found their twins in the stable tree, which ksmd
	 * searches before it looks at a page's checksum (guests of an image
	 * already merged). What a second visit adds, among its own pages,
	 * a later pass merges: the idle scan's, or the next probe's (its
	 * merges leave the evidence with it, probe_done()). The first visits
	 * are over once the scan went on past the last growth; or once each
	 * new page has its rmap item, and then the interval they ended in
	 * says so (an interval more at the probe's rate would scan again what
	 * merged), if the share merged is of all that came (more than it saw,
	 * the probe follows the new pages to their second visit). */
	past = p->scanned >= p->growth_at + margin;
	all_seen = p->growth >= p->pages - PROBE_MARGIN(p->pages);
	older = probe_before_second_visit(p);
	if ((past && p->gain >= PROBE_PRIOR * p->pages) || (all_seen && p->gain >= PROBE_PRIOR * p->growth)) {
		/* before its second visit began: done with them; during it,
		 * the yield prices the rest of it */
		if (older) {
			probe_done(st, s);
		} else {
			/* the rest of the visit, seen once: not churn. Its
			 * start is taken a pass of len0 after the first
			 * visits: a longer pass (skipped pages come back
			 * together) leaves part of the rest counted, a
			 * shorter one holds out more, until the next full
			 * scan at most */
			st->probe_tail = clamp(p->growth - (p->scanned - p->growth_at - p->len0), 0, p->growth);
			probe_close(st, s);
		}
		return true;
	}
	return false;
}

/* Follow the probe. New memory is first visited in the pass after the one
 * in progress when it appeared (ksm_enter() puts it behind the cursor),
 * which adds rmap items; once they stop growing, one more pass sees it
 * twice. Closed early: when two full scans after the memory stopped
 * arriving saw no growth (nobody marked it mergeable), when its first
 * visits merged what it was bought for (an image already merged), or when
 * its second visit settles it in the unstable tree (unique pages) without
 * merging anything. Memory that joins it after its first visits began is
 * followed from where it joined, and seen twice. Passes are counted in full
 * scans, not pages: the pages of a pass vary severalfold when smart_scan's
 * skipped pages come back together. */
static void probe_follow(const struct cfg *cfg, struct ctl_state *st, const struct sample *s, const struct obs *o)
{
	struct ctl_probe *p = &st->probe;
	double pass, margin, settled;

	/* the rest of a second visit after its probe closed: the pages
	 * scanned since are its second visits (new memory is scanned last in
	 * its pass), and none is left after the next full scan */
	if (o->d_full > 0 || o->fresh)
		st->probe_tail = 0;
	else
		st->probe_tail = maxd(st->probe_tail - o->d_scan, 0);
	if (!p->open || o->fresh || !probe_account(cfg, st, s, o))
		return;
	pass = maxd(pass_length(st, o->rmap), p->len0);
	margin = PROBE_MARGIN(pass);
	if (p->growth < PROBE_VISIBLE * p->pages) {
		probe_unseen(st, s);
		return;
	}
	/* seen twice: past the next full scan, a pass since the last first
	 * visit (or the whole next pass); memory that joined since, two
	 * full scans after it joined without first visits: nobody marked it */
	if (p->wraps >= 2 || (!p->join_pending && p->wraps >= 1 && p->scanned >= p->growth_at + pass + margin)) {
		probe_done(st, s);
		return;
	}
	/* memory joined it and has not had its first visits: what merged
	 * and what settled are the earlier memory's */
	if (p->join_pending)
		return;
	/* memory that joined after the first visits began is seen twice
	 * (above): merges of memory visited at different places say
	 * nothing of which merged */
	if (!p->joined_late && probe_merged_early(st, s, margin))
		return;
	/* Its second visit comes in the next pass, after the older memory's
	 * pass (new memory is scanned last). Until then, what settles in the
	 * unstable tree is older memory: smart_scan's skipped pages coming
	 * back, all at once for guests that arrived together. Count from
	 * there. */
	if (!p->wrapped || probe_before_second_visit(p)) {
		p->unshared0 = s->ksm.v[KSM_PAGES_UNSHARED];
		return;
	}
	/* its second visit settled a good part of it in the unstable tree
	 * (unique pages) and merged nothing: it will not merge */
	settled = (double)(s->ksm.v[KSM_PAGES_UNSHARED] - p->unshared0);
	if (settled >= PROBE_EARLY * p->growth && p->gain < cfg->min_yield * p->scanned)
		probe_close(st, s);
}

/* ---- detect: new memory ------------------------------------------------------------ */

/* Bytes of KSM's memory that left since the last sample, seen two ways;
 * each page once. Merged pages: pages_sharing fell. A guest that exits
 * takes its KSM pages with it, and their stale stable nodes leave the tree
 * at once; a page broken by a write leaves when ksmd visits it again (if
 * its content came back it merges again in the same visit). Tracked pages:
 * the kernel frees the rmap items of a process that left only when its
 * scan gets there, within a pass; the pages already counted as merged
 * pages that left are not counted again. Merged pages counted more than a
 * pass ago were not a leaver's (pages found changed stay tracked): they no
 * longer excuse freed items. */
static double memory_left(struct ctl_state *st, const struct obs *o)
{
	double drop, freed, use, use_last;

	if (o->fresh)
		return 0;
	if (o->d_full > 0) {
		st->left_credit_last = st->left_credit;
		st->left_credit = 0;
	}
	drop = maxd(-o->d_gain, 0);
	st->left_credit = mind(st->left_credit + drop, maxd(o->rmap, 0));
	freed = maxd(-o->d_rmap, 0);
	use_last = mind(freed, st->left_credit_last);
	st->left_credit_last -= use_last;
	use = mind(freed - use_last, st->left_credit);
	st->left_credit -= use;
	return (drop + freed - use_last - use) * CTL_PAGE_SIZE;
}

/* One detector: the signal's level past the highest level known (the level
 * KSM has had its chance at), by more than its noise, for long enough.
 * Memory that left KSM lowers the known level, so that guests replacing
 * guests are seen. Returns the bytes that arrived, or 0. */
static double level_step(const struct cfg *cfg, struct ctl_level *d, double a, const struct sample *s,
			 const struct obs *o, double left, double age_s, bool learning, bool ratchet, bool in_transit,
			 double pace)
{
	/* the CUSUM adds excess a sample at the pace of the samples that
	 * learn, whatever the pace of these */
	double k, h, x, floor_k, w_pace = pace > 0 ? clamp(o->dt / pace, 0, 1) : 1;

	floor_k = wake_bytes(cfg, s) / 4;
	d->prev = a;
	/* memory that left (memory_left()) */
	if (left > 0)
		d->known = maxd(d->known - left, 0);
	if (a < d->known)
		d->known -= (d->known - a) * clamp(o->dt / KNOWN_TAU, 0, 1);
	/* slack k: excess within the noise accumulates nothing; h: how much
	 * excess beyond it is new memory */
	k = level_slack(cfg, d, s);
	h = wake_bytes(cfg, s);
	x = a - d->known;
	/* The noise, two ways: the mean |change| a sample (fast noise), and
	 * the mean |distance| from a slow mean (noise that wanders); early on
	 * running means over the time they learned; clipped, so that an
	 * arrival moves them little (and the slow mean jumps to the level of
	 * new memory once it is seen) */
	d->level += clamp(o->dt / mind(LEVEL_TAU, maxd(age_s, o->dt)), 0, 1) * (a - d->level);
	d->lsince += o->dt;
	if (in_transit) {
		/* (a signal in transit to a level already explained moves by
		 * that, not by noise; its noise learns again where it left off,
		 * as fast as it began) */
		d->lprev = a;
		d->lsince = 0;
	} else if (d->lsince >= pace - 1e-6) {
		/* the noise is a change a sample at the pace of the samples
		 * that learn it: those the daemon takes early, while memory
		 * swings, only see a swing's fall (swing_track()) */
		double tau, inc, w = d->lsince;

		d->learned_s += w;
		tau = mind(NOISE_TAU, maxd(d->learned_s, w));
		inc = mind(fabs(a - d->lprev), 4 * maxd(d->noise, floor_k));
		d->step += clamp(w / tau, 0, 1) * (inc - d->step);
		double dev = mind(fabs(a - d->level), 4 * maxd(d->noise, floor_k));

		d->dev += clamp(w / tau, 0, 1) * (dev - d->dev);
		d->lprev = a;
		d->lsince = 0;
	}
	d->noise_floor *= exp(-o->dt / NOISE_TAU);
	d->noise = maxd(d->noise_floor, maxd(d->step, d->dev));
	if (x <= k || learning) {
		/* within the noise (or still learning it): known now; a signal
		 * that rises slowly by itself (the low level) is followed up
		 * slower still, else an arrival would creep in below the noise */
		if (ratchet || learning)
			d->known = maxd(d->known, a);
		else if (a > d->known)
			d->known += (a - d->known) * clamp(o->dt / (3 * FLOOR_TAU), 0, 1);
		d->cusum = maxd(d->cusum - k * w_pace, 0);
		if (learning && x > k) {
			/* new memory while learning (it joins the start
			 * probe): its level is the normal one from now on,
			 * not a distance from the slow mean to learn as noise */
			d->level = d->known;
			return x;
		}
		return 0;
	}
	d->cusum += (x - k) * w_pace;
	if (d->cusum < h)
		return 0;
	/* new memory: its level is the normal one from now on */
	d->level = d->known = a;
	d->cusum = 0;
	return x;
}

static void level_prime(struct ctl_level *d, double a, bool first)
{
	if (first)
		d->known = d->level = a;
	d->prev = d->lprev = a;
	d->lsince = 0;
	d->cusum = 0;
}

/* Where memory comes back down to after a swing (a fall of more than the
 * wake threshold in one sample): a neighbour that allocates and frees comes
 * back to the same trough each time. A trough far above the last, by many
 * times what one trough differs from the next, is memory that stayed: the
 * low level takes it at once rather than over FLOOR_TAU. Noise without
 * swings has no such trough (a sample after a fall is another draw of the
 * noise, or where it wandered to), so its troughs differ by the noise
 * itself, and a rise must stand far out of it. Troughs further apart than
 * TROUGH_GAP are not compared: what wandered meanwhile is not a trough's
 * change. REF: the trough to compare with. Returns whether this sample is a
 * trough that rose. */
static bool trough_rose(const struct cfg *cfg, struct ctl_state *st, const struct sample *s, const struct obs *o,
			double a, double fall, double ref)
{
	double floor_k = wake_bytes(cfg, s) / 4, d = a - ref;
	bool recent, rose;

	st->trough_t += o->dt;
	if (fall <= wake_bytes(cfg, s))
		return false;
	recent = st->trough_n >= 1 && st->trough_t <= TROUGH_GAP;
	rose = recent && st->trough_n >= TROUGH_LEARN && d > maxd(floor_k, TROUGH_K * st->trough_noise);
	/* the swing that ends here: its peak above the higher of its two
	 * troughs (guests that arrived during it raise the second) */
	if (recent)
		st->swing_hi = maxd(st->swing_hi, st->swing_peak - maxd(st->trough, a));
	st->swing_peak = a;
	st->swing_woke = false;
	if (recent && !rose) {
		double inc = mind(fabs(d), 4 * maxd(st->trough_noise, floor_k));

		st->trough_noise += (inc - st->trough_noise) / mind(st->trough_n, TROUGH_MEAN);
	}
	st->trough = a;
	st->trough_t = 0;
	st->trough_n = recent ? mind(st->trough_n + 1, 1e9) : 1;
	return rose;
}

/* A swing under way: memory rose as much as a trough that rose would have
 * to (beside a neighbour whose troughs are learned), and has not come back
 * down yet. Sampled at idle_interval, the fall at its end can hide in an
 * arrival's rise within the same sample, and the trough that shows the
 * arrival comes only at the end of the next swing; the daemon samples a
 * swing at interval instead (ctl_interval_ms()). */
static void swing_track(const struct cfg *cfg, struct ctl_state *st, const struct sample *s, const struct obs *o,
			double fall)
{
	double h = wake_bytes(cfg, s);

	if (st->swing_s >= 0)
		st->swing_s += o->dt;
	if (fall > h || st->swing_s > SWING_FOLLOW_S)
		st->swing_s = -1;
	else if (-fall > maxd(h, TROUGH_K * st->trough_noise) && st->trough_n >= TROUGH_LEARN &&
		 st->trough_t <= TROUGH_GAP)
		st->swing_s = 0;
}

/* Memory above a learned neighbour's swings: the level stands above the
 * last trough by more than the highest swing learned, and by SWING_EXCESS
 * of it again (wake_threshold, and what a trough that rose must stand out
 * by, at least). Guests that arrive while a burst
 * is held, seen before it ends: the low level sees them only at the next
 * trough, a hold later, and the level not at all when its noise, learned
 * from the swings, is as large as they are. Once a swing. Returns the bytes
 * above the swings, or 0. */
static double swing_excess(const struct cfg *cfg, struct ctl_state *st, const struct sample *s, double a)
{
	double x = a - st->trough - st->swing_hi, out = TROUGH_K * st->trough_noise;
	bool learned = st->trough_n >= TROUGH_LEARN && st->trough_t <= TROUGH_GAP;

	/* only in a swing (swing_track()), a rise that stood out of the
	 * troughs' own change, beside swings that do too, by as much as a
	 * trough that rose must: noise without swings has neither */
	if (!learned || st->swing_s < 0 || st->swing_hi <= out || st->swing_woke ||
	    x <= maxd(maxd(wake_bytes(cfg, s), out), SWING_EXCESS * st->swing_hi))
		return 0;
	st->swing_woke = true;
	return x;
}

/* The first sample, or the first after a gap (a restart, a stalled daemon): the
 * levels start from here. What arrived meanwhile is still new, so the known
 * levels are kept; no swing goes on over a gap, and the next trough is not
 * compared with the last. */
static void detect_prime(struct ctl_state *st, double a)
{
	if (!st->det_primed)
		st->low_value = a;
	st->low_value = mind(st->low_value, a);
	level_prime(&st->anon, a, !st->det_primed);
	level_prime(&st->low, st->low_value, !st->det_primed);
	st->det_primed = true;
	st->swing_s = -1;
	st->swing_peak = a;
	st->trough_t = TROUGH_GAP + 1;
	st->rose_pending = false;
}

/* Whether the trough that rose stayed: memory at its level at a later,
 * calm sample. A neighbour whose next burst is already coming in when the
 * last one is freed leaves a sample part-way up its ramp after the fall, and the next
 * trough may be part-way up the next ramp again; the samples after them
 * climb, and memory comes back down to the old trough later: that trough
 * did not rise. Memory that stayed is still there at the next calm sample:
 * one within a quarter of the wake threshold of the trough and of the
 * sample before it. (On the real kernel the troughs beside such a
 * neighbour differ by 20-30 MiB on average, and a later trough part-way up
 * came within 8 times that of the first; and a burst's held top may stand
 * within that of a trough part-way up it.) A sample below the trough by
 * more than the troughs differ, or 60 s without a calm one, drops it.
 * Returns true once it stayed. */
static bool rose_stayed(const struct cfg *cfg, struct ctl_state *st, const struct sample *s, const struct obs *o,
			double a)
{
	double tol = maxd(wake_bytes(cfg, s) / 4, TROUGH_K * st->trough_noise), calm = wake_bytes(cfg, s) / 4;

	if (!st->rose_pending)
		return false;
	st->rose_s += o->dt;
	if (a < st->rose_at - tol || st->rose_s > TROUGH_GAP) {
		st->rose_pending = false; /* back below it: it did not stay */
		return false;
	}
	if (fabs(a - st->rose_at) > calm || fabs(a - st->anon.prev) > calm)
		return false; /* not calm: a burst coming or going; wait */
	st->rose_pending = false;
	return true;
}

/* The floor the low level follows: it falls at once, rises over FLOOR_TAU,
 * and stands on a trough that rose once it stayed (rose_stayed()). */
static void floor_step(const struct cfg *cfg, struct ctl_state *st, const struct sample *s, const struct obs *o,
		       double a, bool learning)
{
	bool stayed, woke, rose;
	double ref;

	st->swing_hi *= exp(-o->dt / KNOWN_TAU);
	st->swing_peak = maxd(st->swing_peak, a);
	swing_track(cfg, st, s, o, st->anon.prev - a);
	woke = st->swing_woke;
	/* beside a trough that rose and was not confirmed, the one before it:
	 * a trough below it (which drops it) may still stand above that */
	ref = st->rose_pending ? st->rose_base : st->trough;
	stayed = rose_stayed(cfg, st, s, o, a);
	if (stayed) {
		woke = st->rose_woke;
		ref = st->trough;
	}
	rose = trough_rose(cfg, st, s, o, a, st->anon.prev - a, ref) && !learning;
	if (rose) {
		/* a trough that rose again while one waits keeps its age */
		if (!st->rose_pending)
			st->rose_s = 0;
		st->rose_base = ref;
		st->rose_pending = true;
		st->rose_woke = woke;
		st->rose_at = a;
	}
	if (stayed)
		a = mind(a, st->rose_at);
	if (a < st->low_value || stayed)
		st->low_value = a;
	else
		st->low_value += (a - st->low_value) * clamp(o->dt / FLOOR_TAU, 0, 1);
	if (stayed && woke) {
		/* the trough after a swing that woke above the swings: what
		 * stayed is what that wake saw, of which it claimed only the
		 * part above the highest swing (the burst may have been lower) */
		double raise = maxd(st->low_value - st->low.known, 0);

		st->low.known += raise;
		if (st->low_claim > 0)
			st->low_claim_raise += raise;
	}
}

/* An arrival the level saw: the low level rises to it over a few FLOOR_TAU,
 * and must not take it for another. The claim ends when the floor got
 * there; when it fell back (the level came down to it: what the floor holds
 * stayed, and the rest left, like a neighbour's swing that the low level
 * never saw, or one that joined the claim soon after guests); or after
 * 10 FLOOR_TAU (what stayed is known then). floor0: the floor before this
 * sample. */
static void claim_age(struct ctl_state *st, const struct obs *o, double floor0)
{
	bool fell = st->low_value < floor0;

	st->low_claim_left -= o->dt;
	if (st->low_value >= st->low_claim_base + 0.9 * st->low_claim) {
		/* got there */
	} else if (fell || st->low_claim_left <= 0) {
		/* withdrawn down to the floor. More than half of it left:
		 * the floor rose by floor0 - base for memory that comes and
		 * goes; the slack is twice that from now on */
		if (fell && st->low_value < st->low_claim_base + st->low_claim / 2)
			st->low.noise_floor =
				maxd(st->low.noise_floor, 2 * (floor0 - st->low_claim_base) / NOISE_K);
		st->low.known = maxd(st->low.known - st->low_claim_raise, st->low_value);
	} else {
		return;
	}
	st->low_claim = 0;
	st->low.level = st->low_value;
}

/* The arrival goes on within the level's noise, which took it as known at
 * once: the low level's climb to it is claimed too. */
static void claim_extend(struct ctl_state *st)
{
	double raise = st->anon.known - st->low.known;

	st->low.known += raise;
	st->low_claim_raise += raise;
	st->low_claim = maxd(st->low_claim, st->anon.known - st->low_claim_base);
}

/* The level saw x bytes arrive, or the swings' height z: the low level is
 * on its way to the level now, not only to the floor plus what arrived (the
 * level stood above the floor already). Above the swings, the level stands
 * on a burst, and the low level will come back down to the floor plus what
 * arrived. More memory during a claim joins it. */
static void claim_open(struct ctl_state *st, double a, double floor0, double x, double z)
{
	double known = st->low.known;
	double target = x > 0 ? maxd(a, floor0 + x) : floor0 + z;
	bool joins = st->low_claim > 0;

	st->low.known = maxd(known, target);
	if (joins) {
		st->low_claim = maxd(st->low_claim, target - st->low_claim_base);
		st->low_claim_raise += st->low.known - known;
	} else {
		st->low_claim = target - floor0;
		st->low_claim_base = floor0;
		st->low_claim_raise = st->low.known - known;
	}
	st->low.cusum = 0;
	st->low_claim_left = 10 * FLOOR_TAU;
}

/* New anonymous memory, seen three ways. The level itself shows an arrival
 * at once on a quiet host. The level it comes back down to (following
 * falls at once, rises over FLOOR_TAU) ignores memory that comes and goes,
 * like a build beside the guests, and shows what stays: an arrival
 * during such swings, at the trough after it. The swings' height shows
 * one that stands above them while a burst is held. Returns the bytes that
 * arrived, or 0. */
static double detect_anon(const struct cfg *cfg, struct ctl_state *st, const struct sample *s, const struct obs *o,
			  enum ctl_signal *signal)
{
	bool learning = st->age_s < CTL_LEARN_S;
	double a, x, y, z = 0, got, floor0, left, known0, pace;

	*signal = CTL_SIGNAL_NONE;
	left = memory_left(st, o);
	if (!s->have_anon)
		return 0;
	a = logical_anon(st, s);
	if (!st->det_primed || o->fresh) {
		detect_prime(st, a);
		return 0;
	}
	floor0 = st->low_value;
	floor_step(cfg, st, s, o, a, learning);
	if (st->low_claim > 0)
		claim_age(st, o, floor0);
	/* a sample taken early for a swing learns no noise on its own */
	pace = st->last.swinging && st->last.mode != CTL_MODE_ACTIVE ? (double)cfg->idle_interval_ms / 1000.0 : 0;
	known0 = st->anon.known;
	x = level_step(cfg, &st->anon, a, s, o, left, st->age_s, learning, true, false, pace);
	if (x <= 0 && st->low_claim > 0 && st->anon.known > known0 && st->anon.known > st->low.known)
		claim_extend(st);
	y = level_step(cfg, &st->low, st->low_value, s, o, left, st->age_s, learning, false, st->low_claim > 0, pace);
	if (x > 0 || y > 0) {
		/* seen already: not again above the swings in this swing */
		st->swing_woke = true;
	} else if (!learning) {
		z = swing_excess(cfg, st, s, a);
		if (z > 0) {
			/* the level has seen it too, whatever its CUSUM held */
			st->anon.known = maxd(st->anon.known, a);
			st->anon.cusum = 0;
		}
	}
	if (x > 0 || z > 0)
		claim_open(st, a, floor0, x, z);
	got = maxd(maxd(x, y), z);
	if (got > 0)
		*signal = y > x ? CTL_SIGNAL_LOW : z > 0 ? CTL_SIGNAL_SWING : CTL_SIGNAL_LEVEL;
	return got;
}

/* Pages the idle scan found: tracked pages that grew, i.e. pages visited
 * for the first time; they merge on their next visit if they have a twin. */
static bool detect_growth(const struct cfg *cfg, struct ctl_state *st, const struct sample *s, double *pages)
{
	int64_t rmap = rmap_of(s);
	double thr = maxd(wake_bytes(cfg, s) / CTL_PAGE_SIZE, GROWTH_SHARE * (double)rmap);

	if (rmap < st->ref_rmap)
		st->ref_rmap = rmap;
	*pages = (double)(rmap - st->ref_rmap);
	return *pages > thr;
}

static enum ctl_wake detect(const struct cfg *cfg, struct ctl_state *st, const struct sample *s, const struct obs *o,
			    double *bytes_out, enum ctl_signal *signal)
{
	double bytes = detect_anon(cfg, st, s, o, signal), pages = 0;

	if (bytes > 0) {
		/* more memory while a probe is open joins it */
		bool was_open = st->probe.open;
		probe_open(st, s, CTL_WAKE_ANON_GROWTH, bytes / CTL_PAGE_SIZE, o->rmap);
		*bytes_out = bytes;
		return was_open ? CTL_WAKE_NONE : CTL_WAKE_ANON_GROWTH;
	}
	if (st->probe.open || o->fresh)
		return CTL_WAKE_NONE;
	if (!detect_growth(cfg, st, s, &pages))
		return CTL_WAKE_NONE;
	/* seen once already (its growth counts): the second visit is a pass
	 * after the last first visit */
	probe_open(st, s, CTL_WAKE_RMAP_GROWTH, pages, (double)st->ref_rmap);
	*bytes_out = pages * CTL_PAGE_SIZE;
	*signal = CTL_SIGNAL_RMAP;
	return CTL_WAKE_RMAP_GROWTH;
}

/* ---- benefit ------------------------------------------------------------------------ */

/* Volatile share of the pages KSM tracks but has not merged, without the
 * pages smart_scan skips (they show up as volatile on a quiet system) and
 * without new pages seen once by a probe (their first visit only took a
 * checksum, which counts as volatile), or by one that closed on its merges
 * during their second visit, until that visit is over. */
static double churn_share(const struct ctl_state *st, const struct sample *s)
{
	double vol = (double)s->ksm.v[KSM_PAGES_VOLATILE], unsh = (double)s->ksm.v[KSM_PAGES_UNSHARED];
	double done = st->pass_len > 0 ? clamp(st->pass_pages / st->pass_len, 0, 1) : 1;

	/* skipped over the last pass's worth of visits: the part of this pass
	 * done, and the rest of the last one; a page smart_scan begins to skip
	 * leaves the unstable tree (unshared) for volatile in this pass */
	vol -= maxd(st->skipped_acc + st->skipped_pass * (1 - done), st->skipped_recent);
	if (st->probe.open)
		vol -= st->probe.growth;
	vol -= st->probe_tail;
	vol = maxd(vol, 0);
	/* a few volatile pages among merged ones say nothing */
	if (vol < CHURN_MIN_SHARE * (double)rmap_of(s))
		return 0;
	return unsh + vol > 0 ? vol / (unsh + vol) : 0;
}

static double benefit(const struct cfg *cfg, const struct ctl_state *st, const struct sample *s, double rate_idle,
		      double rate_cap, struct ctl_terms *t)
{
	double lim = cfg->volatile_limit / 100.0, y = 0;

	if (st->ev_scanned >= EVIDENCE_MIN_PAGES)
		y = st->ev_gain / st->ev_scanned;
	t->yield = y;
	t->breaks = st->breaks;
	t->b_yield = clamp((y - cfg->min_yield) / (cfg->full_yield - cfg->min_yield), 0, 1);
	t->churn = churn_share(st, s);
	t->derate = t->churn > lim && lim < 1 ? clamp((1.0 - t->churn) / (1.0 - lim), 0, 1) : 1;
	t->probe_pages = st->probe.open ? st->probe.pages : 0;
	t->b_probe = 0;
	if (st->probe.open) {
		/* what the probe can find (a share of the new pages merging)
		 * per page it must scan to see them twice */
		double r = (double)rmap_of(s), n = st->probe.pages;
		double prior = PROBE_PRIOR;
		/* at start-up, the memory KSM does not track yet is mostly
		 * memory nobody marked mergeable when KSM tracks much already */
		if (st->probe.why == CTL_WAKE_START)
			prior *= n / (r + n + 1);
		double y_probe = prior * n / (2.0 * (r + n) + 1);
		t->b_probe = clamp(y_probe / cfg->full_yield, 0, 1);
	}
	/* pages broken by writes at rate B merge again on ksmd's next visit:
	 * at R pages a pass and r pages/s, B * R / (2 r) wait on average;
	 * keep them to churn_loss of the merged pages M */
	t->b_churn = 0;
	if (t->breaks > 0 && gain_of(s) > 0) {
		double len = st->pass_mean > 0 ? st->pass_mean : (double)rmap_of(s);
		double want = t->breaks * len / (2.0 * cfg->churn_loss / 100.0 * (double)gain_of(s));
		t->b_churn = clamp((want - rate_idle) / maxd(rate_cap - rate_idle, 1), 0, 1);
	}
	/* volatile pages that dominate make every pass mostly checksums of
	 * pages that cannot merge: scanning faster for what merges (or merges
	 * again) is worth that much less; the probe is judged on its own */
	t->benefit = maxd(maxd(t->b_yield, t->b_churn) * t->derate, t->b_probe);
	return t->benefit;
}

/* ---- caps: max_cpu with its burst, the idle budget --------------------------- */

static void caps(const struct cfg *cfg, struct ctl_state *st, const struct sample *s, const struct obs *o,
		 bool working, struct ctl_terms *t, bool *cut)
{
	double base = cfg->max_cpu / 100.0, peak = maxd(cfg->max_cpu_burst / 100.0, base);
	double idle_budget = mind(cfg->idle_max_cpu, cfg->max_cpu / 2) / 100.0;
	double capacity = (peak - base) * (double)cfg->burst_duration_ms / 1000.0;
	double rate_max = (double)cfg->pages_to_scan_max * 1000.0 / (double)cfg->sleep_ms_min;
	double rate_floor = (double)cfg->pages_to_scan_min * 1000.0 / (double)cfg->sleep_ms_max;
	double plan = working ? maxd(st->cost, st->cost_merging) : st->cost;
	double idle_plan = !working && st->idle_s > 0 ? maxd(st->cost_idle, st->cost / 2) : st->cost;
	double idle_rate;

	/* the burst allowance: a token bucket of CPU-seconds, filled by what
	 * ksmd leaves below max_cpu, spent above it, over the time the share
	 * was measured on: a tick that carries the last read over knows
	 * nothing new of ksmd's CPU (the next read spans it), but a ksmd
	 * stopped spends none */
	if (st->bucket < 0)
		st->bucket = capacity;
	if (!o->fresh && s->ksm.v[KSM_RUN] == 0 && st->prev_run == 0)
		st->bucket += base * o->dt;
	else if (!o->fresh && !o->cached)
		st->bucket += (base - st->cpu_share) * maxd(o->kdt, o->dt);
	st->bucket = clamp(st->bucket, 0, capacity);
	t->burst = capacity > 0 ? st->bucket / capacity : 0;
	/* the allowance tapers off over its last quarter, not all at once */
	t->cpu_cap = base + (peak - base) * clamp(4 * t->burst, 0, 1);
	t->cost_us = st->cost * 1e6;
	t->plan_cost_us = plan * 1e6;
	t->cpu_share = st->cpu_share;
	t->rate_cap = t->cpu_cap / plan;
	*cut = false;
	/* above the cap in force over the span measured (the last decision's:
	 * while the allowance tapers, today's is lower than the one ksmd ran at) */
	if (!o->fresh && !o->cached && s->have_ksmd_cpu &&
	    st->cpu_share > CAP_SLACK * maxd(t->cpu_cap, st->last.t.cpu_cap) && t->scanned_rate > 0) {
		/* measured above the cap: cut to what the last interval shows */
		double c = t->scanned_rate * t->cpu_cap / st->cpu_share;
		if (c < t->rate_cap)
			t->rate_cap = c;
		*cut = true;
	}
	t->rate_cap = clamp(t->rate_cap, rate_floor, rate_max);
	/* the idle scan: one full scan per idle_scan_period, within its own
	 * budget (at most half of max_cpu) on average (IDLE_COST_TAU), and
	 * always below the cap */
	idle_rate = (double)rmap_of(s) / ((double)cfg->idle_scan_period_ms / 1000.0);
	idle_rate = mind(idle_rate, idle_budget / idle_plan);
	t->rate_idle = clamp(idle_rate, rate_floor, t->rate_cap);
}

/* ---- rate and knobs ---------------------------------------------------------------- */

/* Keep the written knobs unless the wanted rate left the band around what
 * they give: a narrow band to go on in the direction of the last change, a
 * wider one to reverse it, so that noise does not make the knobs dither. */
static bool keep_knobs(const struct ctl_state *st, double prev_rate, double rate, double cap, int *dir)
{
	double rel = prev_rate > 0 ? (rate - prev_rate) / prev_rate : 1e9;

	*dir = rel > 0 ? 1 : -1;
	if (prev_rate > cap * (1 + DEADBAND / 2))
		return false;
	if (fabs(rel) <= DEADBAND)
		return true;
	return st->last_dir != 0 && *dir != st->last_dir && fabs(rel) <= REVERSE_BAND;
}

static void knobs(const struct cfg *cfg, struct ctl_state *st, const struct sample *s, double rate,
		  struct ctl_decision *out)
{
	uint64_t kernel_pages = (uint64_t)s->ksm.v[KSM_PAGES_TO_SCAN];
	uint64_t fixed, p, sl;
	double prev_rate, bound;
	bool in_bounds;
	int dir = 0;

	out->set_pages = cfg->kernel_advisor == ADVISOR_TAKEOVER || !ksm_values_has(&s->ksm, KSM_ADVISOR_MODE) ||
			 s->ksm.v[KSM_ADVISOR_MODE] == 0;
	/* defer: the advisor's pages_to_scan is given; only the sleep is ours */
	fixed = out->set_pages ? 0 : (kernel_pages ? kernel_pages : 1);
	prev_rate = st->pages ? ctl_rate_of(fixed ? fixed : st->pages, st->sleep_ms, st->cost) : 0;
	/* under defer the batch is the advisor's, whatever our bounds */
	in_bounds = (fixed || (st->pages >= cfg->pages_to_scan_min && st->pages <= cfg->pages_to_scan_max)) &&
		    st->sleep_ms >= cfg->sleep_ms_min && st->sleep_ms <= cfg->sleep_ms_max;
	/* idling, the knobs kept may not scan faster than the budget allows
	 * (by half the dead band), as they may not above the cap */
	bound = rate < IDLE_MARGIN * out->t.rate_idle ? rate : out->t.rate_cap;
	if (in_bounds && prev_rate > 0 && (!fixed || fixed == st->pages) &&
	    keep_knobs(st, prev_rate, rate, bound, &dir)) {
		p = fixed ? fixed : st->pages;
		sl = st->sleep_ms;
	} else {
		ctl_map_rate(cfg, rate, st->cost, fixed, &p, &sl);
		if (prev_rate > 0 && (p != st->pages || sl != st->sleep_ms))
			st->last_dir = dir;
	}
	st->pages = p;
	st->sleep_ms = sl;
	out->pages_to_scan = out->set_pages ? p : kernel_pages;
	out->sleep_ms = sl;
	out->rate_planned = ctl_rate_of(p, sl, st->cost);
}

/* ---- run, with hysteresis ------------------------------------------------------------ */

static bool run_state(const struct cfg *cfg, struct ctl_state *st, const struct sample *s, const struct obs *o,
		      const struct ctl_terms *t, bool *released)
{
	double margin = (double)size_resolve(&cfg->stop_margin, s->mem_total) / (double)s->mem_total;
	bool pressure = t->error > 0;
	int cur_run = (int)s->ksm.v[KSM_RUN];

	/* released: memory (and guests) well above the setpoint, and no
	 * stall; a PSI error never goes below -psi_threshold/100, which
	 * may be within the margin */
	*released = maxd(t->error_mem, isnan(t->error_guest) ? -1 : t->error_guest) < -margin &&
		    !(t->error_psi >= 0);
	if (pressure) {
		st->calm_s = 0;
		st->run = 1;
	} else if (*released && !o->fresh) {
		st->calm_s += o->dt;
	}
	if (!pressure && st->run && (*released || cur_run != 1) &&
	    (st->calm_s * 1000.0 >= (double)cfg->stop_delay_ms || cur_run != 1)) {
		/* KSM already stopped by someone with no pressure: stay out */
		st->run = 0;
	}
	return pressure;
}

static enum ctl_reason reason_of(const struct ctl_state *st, const struct ctl_decision *d, bool pressure,
				 bool released, bool cut)
{
	const struct ctl_terms *t = &d->t;

	if (!d->run)
		return CTL_R_NO_PRESSURE;
	if (!pressure)
		return released ? CTL_R_PRESSURE_FADING : CTL_R_NO_PRESSURE;
	if (cut)
		return CTL_R_CPU_CAP;
	if (st->probe.open && t->b_probe >= t->benefit && t->benefit >= B_IDLE)
		return CTL_R_PROBING;
	if ((t->b_churn > 0 && t->b_churn >= t->b_yield) || (t->derate < 1 && maxd(t->b_yield, t->b_churn) > 0))
		return CTL_R_CHURN;
	if (t->benefit < B_IDLE)
		return CTL_R_NOTHING_TO_MERGE;
	return t->benefit < 1 ? CTL_R_LOW_YIELD : CTL_R_MERGING;
}

static void prime(struct ctl_state *st, const struct sample *s, const struct obs *o)
{
	st->prev_meas = (double)s->mem_available / (double)s->mem_total;
	st->prev_gain = gain_of(s);
	st->prev_scanned = o->scanned;
	st->prev_full_scans = s->ksm.v[KSM_FULL_SCANS];
	st->prev_skipped = ksm_values_has(&s->ksm, KSM_PAGES_SKIPPED) ? s->ksm.v[KSM_PAGES_SKIPPED] : 0;
	st->prev_rmap = rmap_of(s);
	if (!o->cached) {
		/* carried over, ksmd's CPU time is the last read's already;
		 * one read afresh beside carried counters would split a span */
		st->prev_have_cpu = s->have_ksmd_cpu;
		st->prev_ksmd_cpu = s->ksmd_cpu_s;
		st->prev_run = (int)s->ksm.v[KSM_RUN];
	}
	st->prev_have_cow = s->have_cow;
	st->prev_cow = s->cow_ksm;
	st->primed = true;
}

/* Start-up without a saved state: the anonymous memory KSM does not track
 * yet may hold what it can merge. */
static void start(struct ctl_state *st, const struct sample *s, const struct obs *o)
{
	double untracked;

	if (s->have_anon)
		untracked = logical_anon(st, s) - o->rmap * CTL_PAGE_SIZE;
	else
		untracked = (double)s->mem_total - mind((double)s->mem_available, (double)s->mem_total) -
			    o->rmap * CTL_PAGE_SIZE;
	st->run = s->ksm.v[KSM_RUN] == 1;
	st->ref_rmap = rmap_of(s);
	probe_open(st, s, CTL_WAKE_START, maxd(untracked, 0) / CTL_PAGE_SIZE, o->rmap);
}

/* A tick whose sample is unusable: the last decision again, marked held,
 * and nothing learned from it. */
static void hold(const struct ctl_state *st, struct ctl_decision *out)
{
	*out = st->last;
	out->hold = true;
	out->reason = CTL_R_HOLD;
	out->wake = CTL_WAKE_NONE;
	out->wake_bytes = 0;
	out->signal = CTL_SIGNAL_NONE;
}

/* What ksmd scanned a second over the interval, for the decision line. */
static void note_scanned(const struct cfg *cfg, struct ctl_state *st, const struct obs *o, struct ctl_terms *t)
{
	if (o->fresh)
		st->scanned_rate = 0;
	else if (span_measures(cfg, o))
		st->scanned_rate = o->d_scan / o->kdt;
	t->scanned_rate = st->scanned_rate;
}

/* New memory, from the detectors: the first wake of the tick is the one
 * reported (the start's comes before the detectors'). */
static void note_wake(const struct cfg *cfg, struct ctl_state *st, const struct sample *s, const struct obs *o,
		      struct ctl_decision *out)
{
	double bytes = 0;
	enum ctl_signal g = CTL_SIGNAL_NONE;
	enum ctl_wake w = detect(cfg, st, s, o, &bytes, &g);

	if (out->wake == CTL_WAKE_NONE && w != CTL_WAKE_NONE) {
		out->wake = w;
		out->wake_bytes = bytes;
		out->signal = g;
	}
}

/* The rate law: the idle rate, plus the span to the cap times an effort
 * and a benefit, once for merging (u, b) and once for the probe (u_probe,
 * b_probe); each bounded by the passes it can use. */
static double rate_law(const struct cfg *cfg, const struct ctl_state *st, const struct obs *o, double b,
		       struct ctl_terms *t)
{
	double rate, want, pass, span, r_merge, r_probe;

	/* A probe's cost is bounded (its new pages seen twice, or two passes
	 * to find them not KSM's): scanning it slowly saves no CPU, it only
	 * delays what it finds. So while memory is short at all, its effort
	 * is more than the price: full from PROBE_FULL_ERROR short. */
	t->u_probe = st->probe.open ? maxd(t->u, clamp(t->error / PROBE_FULL_ERROR, 0, 1)) : t->u;
	/* What the yield and the breaks price needs a visit of each page, a
	 * pass; a probe two, and a third to spare (PROBE_PASSES), its new
	 * pages counted (not tracked yet, they are not in the passes seen so
	 * far). More an interval scans again what the next decision has not
	 * judged: on a small host the cap is many passes a second. */
	pass = pass_longest(st, o->rmap);
	if (st->probe.open)
		pass += maxd(st->probe.pages - st->probe.growth, 0);
	t->rate_pass = maxd(pass / ((double)cfg->interval_ms / 1000.0), t->rate_idle);
	span = t->rate_cap - t->rate_idle;
	r_merge = t->rate_idle + span * t->u * b;
	r_probe = t->rate_idle + span * t->u_probe * t->b_probe;
	want = maxd(r_merge, r_probe);
	rate = maxd(mind(r_merge, t->rate_pass), mind(r_probe, PROBE_PASSES * t->rate_pass));
	t->pass_bound = rate < want;
	return clamp(rate, t->rate_idle, t->rate_cap);
}

static enum ctl_mode mode_of(const struct ctl_decision *d)
{
	if (!d->run)
		return CTL_MODE_STOPPED;
	return d->rate < IDLE_MARGIN * d->t.rate_idle ? CTL_MODE_IDLE : CTL_MODE_ACTIVE;
}

void ctl_step(const struct cfg *cfg, struct ctl_state *st, const struct sample *s, double dt,
	      struct ctl_decision *out)
{
	struct ctl_terms t;
	struct obs o;
	bool pressure, released, cut, working;
	double b;

	if (!usable(s)) {
		hold(st, out);
		return;
	}
	memset(&t, 0, sizeof(t));
	memset(out, 0, sizeof(*out));

	/* what the sample says: deltas, ksmd's cost a page, the evidence */
	observe(cfg, st, s, dt, &o);
	if (!o.fresh)
		st->age_s += dt;
	measure_cost(cfg, st, s, &o);
	gather_evidence(cfg, st, s, &o);
	note_scanned(cfg, st, &o, &t);
	if (st->run < 0) {
		start(st, s, &o);
		out->wake = CTL_WAKE_START;
		out->wake_bytes = st->probe.pages * CTL_PAGE_SIZE;
		out->signal = CTL_SIGNAL_UNTRACKED;
	}

	/* the price of memory, run or not, the probe, new memory */
	price(cfg, st, s, &o, &t);
	pressure = run_state(cfg, st, s, &o, &t, &released);
	probe_follow(cfg, st, s, &o);
	note_wake(cfg, st, s, &o, out);

	/* new memory, or merging under way: plan with the merging cost; also
	 * in the interval after a probe closed (its merges are the yield the
	 * next decision sees) */
	working = st->probe.open || st->last.t.b_yield >= 0.5 || st->last.t.probe_pages > 0;
	caps(cfg, st, s, &o, working, &t, &cut);
	b = benefit(cfg, st, s, t.rate_idle, t.rate_cap, &t);
	integrate(cfg, st, &o, b, &t);
	t.anon_excess = s->have_anon && st->det_primed ? logical_anon(st, s) - st->anon.known : 0;
	t.anon_noise = st->anon.noise;

	/* the rate, the knobs that give it, and the decision line */
	out->rate = rate_law(cfg, st, &o, b, &t);
	out->run = st->run ? 1 : 0;
	out->t = t;
	knobs(cfg, st, s, out->rate, out);
	st->mode = mode_of(out);
	out->mode = st->mode;
	out->reason = reason_of(st, out, pressure, released, cut);
	out->swinging = st->swing_s >= 0;
	out->estimated_cpu = !s->have_ksmd_cpu;
	st->last = *out;
	prime(st, s, &o);
}

bool ctl_counters_quiet(const struct ctl_decision *d, const struct sample *s)
{
	if (d->hold)
		return false;
	if (d->run == 0)
		return s->ksm.v[KSM_RUN] == 0;
	/* without pages_scanned (before 6.6) the pages are estimated at each
	 * sample, and would not span what ksmd's CPU time spans */
	return d->mode == CTL_MODE_IDLE && d->wake == CTL_WAKE_NONE && !(d->t.probe_pages > 0) &&
	       ksm_values_has(&s->ksm, KSM_PAGES_SCANNED);
}

uint64_t ctl_interval_ms(const struct cfg *cfg, const struct ctl_decision *d)
{
	if (d->mode == CTL_MODE_ACTIVE || d->swinging || cfg->idle_interval_ms < cfg->interval_ms)
		return cfg->interval_ms;
	return cfg->idle_interval_ms;
}

void ctl_reconfigure(const struct cfg *new_cfg, struct ctl_state *st, const struct sample *s)
{
	struct ctl_terms t;
	double e, p, d;

	if (!st->primed || !s || s->mem_total == 0)
		return;
	memset(&t, 0, sizeof(t));
	e = error_of(new_cfg, s, &t);
	p = new_cfg->kp * (st->efilt_valid ? st->efilt : e);
	d = new_cfg->kd * maxd(st->dfilt, 0);
	/* keep u where it was, moving the integral as little as that takes:
	 * inside (0, 1) it takes up the difference, below 0 if it must (new
	 * gains that alone would saturate); at a clamp it moves only if the
	 * new P + D would leave the clamp. So a reload with the same gains
	 * changes nothing, also while plenty of memory holds u at 0 (P far
	 * below 0), where taking up u - P - D would fill the integral. */
	if (st->u <= 0)
		st->integ = mind(st->integ, -p - d);
	else if (st->u >= 1)
		st->integ = maxd(st->integ, 1 - p - d);
	else
		st->integ = st->u - p - d;
	st->integ = clamp(st->integ, integ_floor(new_cfg), 1);
}

/* ---- the learned state, across a restart ------------------------------------------- */

#define SAVE_VERSION 1

/* The fields saved, with their ranges. */
struct saved_field {
	const char *key;
	size_t off;
	double lo, hi;
};
#define SF(k, f, lo, hi) { k, offsetof(struct ctl_state, f), lo, hi }
static const struct saved_field saved_fields[] = {
	SF("cost", cost, COST_MIN, COST_MAX),
	SF("cost_merging", cost_merging, COST_MIN, COST_MAX),
	SF("integ", integ, -1e6, 1),
	SF("efilt", efilt, -1, 1),
	SF("anon_known", anon.known, 0, 1e18),
	SF("anon_noise", anon.noise, 0, 1e18),
	SF("anon_step", anon.step, 0, 1e18),
	SF("anon_level", anon.level, 0, 1e18),
	SF("anon_dev", anon.dev, 0, 1e18),
	SF("anon_noise_floor", anon.noise_floor, 0, 1e18),
	SF("low_known", low.known, 0, 1e18),
	SF("low_noise", low.noise, 0, 1e18),
	SF("low_step", low.step, 0, 1e18),
	SF("low_level", low.level, 0, 1e18),
	SF("low_dev", low.dev, 0, 1e18),
	SF("low_noise_floor", low.noise_floor, 0, 1e18),
	SF("low_value", low_value, 0, 1e18),
	SF("low_claim", low_claim, 0, 1e18),
	SF("low_claim_base", low_claim_base, 0, 1e18),
	SF("low_claim_raise", low_claim_raise, 0, 1e18),
	SF("low_claim_left", low_claim_left, -1e9, 1e9),
	SF("ev_gain", ev_gain, 0, 1e18),
	SF("ev_scanned", ev_scanned, 0, 1e18),
	SF("breaks", breaks, 0, 1e12),
	SF("pass_len", pass_len, 0, 1e15),
	SF("skipped_pass", skipped_pass, 0, 1e15),
	SF("bucket", bucket, 0, 1e6),
};

int ctl_save(const struct ctl_state *st, const struct sample *s, char *buf, size_t len)
{
	size_t n = 0;
	int w;

	w = snprintf(buf, len,
		     "version=%d\nfull_scans=%" PRId64 "\nrmap=%" PRId64 "\ngain=%" PRId64 "\nrun=%d\n"
		     "probe_pages=%.0f\nprobe_why=%d\n",
		     SAVE_VERSION, s->ksm.v[KSM_FULL_SCANS], rmap_of(s), gain_of(s), st->run > 0 ? 1 : 0,
		     st->probe.open ? st->probe.pages : 0.0, st->probe.open ? (int)st->probe.why : 0);
	if (w < 0 || (size_t)w >= len)
		return -ENOSPC;
	n = (size_t)w;
	for (size_t i = 0; i < ARRAY_SIZE(saved_fields); i++) {
		double v;
		memcpy(&v, (const char *)st + saved_fields[i].off, sizeof(v));
		/* %.17g reads back exactly, in one pass */
		w = snprintf(buf + n, len - n, "%s=%.17g\n", saved_fields[i].key, v);
		if (w < 0 || (size_t)w >= len - n)
			return -ENOSPC;
		n += (size_t)w;
	}
	return 0;
}

/* The value of key in "key=value" lines, copied into val; false if absent. */
static bool saved_get(const char *text, const char *key, char *val, size_t len)
{
	size_t kl = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			size_t n = strcspn(p + kl + 1, "\n");
			if (n >= len)
				return false;
			memcpy(val, p + kl + 1, n);
			val[n] = '\0';
			return true;
		}
	}
	return false;
}

static bool saved_num(const char *text, const char *key, double lo, double hi, double *out)
{
	char v[64];

	return saved_get(text, key, v, sizeof(v)) && parse_double(v, lo, hi, out) == 0;
}

static bool near(double a, double b)
{
	return fabs(a - b) <= maxd(0.1 * maxd(a, b), 1024);
}

int ctl_restore(struct ctl_state *st, const char *text, const struct sample *s, double age_s, double max_age_s,
		const char **why)
{
	struct ctl_state tmp;
	double version, scans, rmap, gain, run, ppages, pwhy;

	*why = "";
	if (!saved_num(text, "version", SAVE_VERSION, SAVE_VERSION, &version) ||
	    !saved_num(text, "full_scans", 0, 9e15, &scans) || !saved_num(text, "rmap", 0, 9e15, &rmap) ||
	    !saved_num(text, "gain", 0, 9e15, &gain) || !saved_num(text, "run", 0, 1, &run) ||
	    !saved_num(text, "probe_pages", 0, 9e15, &ppages) ||
	    !saved_num(text, "probe_why", 0, CTL_WAKE_COUNT - 1, &pwhy)) {
		*why = "not a saved controller state";
		return -EINVAL;
	}
	ctl_init(&tmp);
	for (size_t i = 0; i < ARRAY_SIZE(saved_fields); i++) {
		double v;
		if (!saved_num(text, saved_fields[i].key, saved_fields[i].lo, saved_fields[i].hi, &v)) {
			*why = "a value is missing or out of range";
			return -EINVAL;
		}
		memcpy((char *)&tmp + saved_fields[i].off, &v, sizeof(v));
	}
	if (!(age_s >= 0 && age_s <= max_age_s)) {
		*why = "saved too long ago";
		return -ESTALE;
	}
	if (!usable(s) || (double)s->ksm.v[KSM_FULL_SCANS] < scans ||
	    (double)s->ksm.v[KSM_FULL_SCANS] > scans + 2 + age_s) {
		*why = "full_scans disagrees (a reboot, or KSM was reset)";
		return -ESTALE;
	}
	if (!near((double)rmap_of(s), rmap) || !near((double)gain_of(s), gain)) {
		*why = "the tracked or merged pages changed meanwhile";
		return -ESTALE;
	}
	tmp.run = s->ksm.v[KSM_RUN] == 1;
	tmp.cost_measured = true;
	tmp.efilt_valid = true;
	tmp.efilt_restored = true;
	tmp.break_weight = 1; /* the saved rate goes on as a minute's average */
	tmp.cow_quiet = tmp.breaks * BREAK_TAU < 1 ? BREAK_TAU : 0;
	tmp.age_s = CTL_LEARN_S; /* the noise is known: no learning period */
	tmp.anon.learned_s = tmp.low.learned_s = CTL_LEARN_S;
	tmp.det_primed = s->have_anon && tmp.anon.known > 0;
	tmp.anon.prev = s->have_anon ? logical_anon(&tmp, s) : 0;
	tmp.low.prev = tmp.low_value;
	tmp.ref_rmap = rmap_of(s);
	if (ppages > 0) {
		/* a probe was under way: it goes on, from its first visit */
		probe_open(&tmp, s, (enum ctl_wake)pwhy, ppages, (double)rmap_of(s));
	}
	*st = tmp;
	return 0;
}
