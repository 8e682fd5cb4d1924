/* controller.c - see controller.h and docs/controller.md */
#include "controller.h"

#include <math.h>
#include <string.h>

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
	[CTL_WAKE_MEM_DROP] = "memory-drop",
	[CTL_WAKE_RMAP_GROWTH] = "rmap-growth",
	[CTL_WAKE_UNSHARED] = "unshared-growth",
	[CTL_WAKE_SHARING_DROP] = "sharing-drop",
	[CTL_WAKE_IDLE_YIELD] = "idle-scan-yield",
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

/* Shortest and longest a cost may be: 50 ns .. 1 ms a page. */
#define COST_MIN 5e-8
#define COST_MAX 1e-3
/* Enough ksmd CPU (5 ticks at 100 Hz) and pages to trust a cost sample. */
#define COST_MIN_CPU 0.05
#define COST_MIN_PAGES 1000.0
/* Time constant of the short-term yield average, seconds. */
#define YIELD_TAU 20.0
/* Keep the written knobs while they give a rate within this of the wanted. */
#define DEADBAND 0.10
/* Share of a full scan after which its own yield replaces the last one's. */
#define EPOCH_JUDGE_SHARE 0.3
/* Tolerated overshoot of max_cpu before the rate is cut (tick rounding). */
#define CAP_SLACK 1.05

void ctl_init(struct ctl_state *st)
{
	memset(st, 0, sizeof(*st));
	st->cost = CTL_DEFAULT_COST_S;
	st->mode = CTL_MODE_ACTIVE;
	st->run = -1;
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
	return true;
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

static double error_of(const struct cfg *cfg, const struct sample *s, struct ctl_terms *t)
{
	double total = (double)s->mem_total;
	double setpoint = (double)size_resolve(&cfg->target_available, s->mem_total);
	double e;

	t->setpoint = (uint64_t)setpoint;
	t->error_mem = (setpoint - (double)s->mem_available) / total;
	t->error_guest = -1;
	t->error_psi = -1;
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

static void reset_refs(struct ctl_state *st, const struct sample *s)
{
	st->idle_avail_ref = s->mem_available;
	st->idle_rmap_ref = rmap_of(s);
	st->idle_unshared_ref = s->ksm.v[KSM_PAGES_UNSHARED];
	st->idle_gain_ref = gain_of(s);
}

static void start_probe(struct ctl_state *st, const struct sample *s)
{
	st->mode = CTL_MODE_ACTIVE;
	st->probing = true;
	st->probe_boundaries = 0;
	reset_refs(st, s);
}

static void reset_epoch(struct ctl_state *st, const struct sample *s)
{
	st->epoch_scanned = 0;
	st->epoch_gain = 0;
	st->epoch_rmap_start = rmap_of(s);
}

/* Signs that new mergeable memory may have appeared. */
static enum ctl_wake wake_signal(const struct cfg *cfg, struct ctl_state *st, const struct sample *s)
{
	double wake_pages = (double)size_resolve(&cfg->wake_threshold, s->mem_total) / CTL_PAGE_SIZE;
	uint64_t wake_bytes = size_resolve(&cfg->wake_threshold, s->mem_total);
	int64_t rmap = rmap_of(s), unshared = s->ksm.v[KSM_PAGES_UNSHARED];

	if (s->mem_available > st->idle_avail_ref)
		st->idle_avail_ref = s->mem_available;
	if (rmap < st->idle_rmap_ref)
		st->idle_rmap_ref = rmap;
	if (unshared < st->idle_unshared_ref)
		st->idle_unshared_ref = unshared;
	if (gain_of(s) > st->idle_gain_ref)
		st->idle_gain_ref = gain_of(s);
	if (st->idle_avail_ref - s->mem_available > wake_bytes)
		return CTL_WAKE_MEM_DROP;
	if ((double)(rmap - st->idle_rmap_ref) > wake_pages)
		return CTL_WAKE_RMAP_GROWTH;
	if ((double)(unshared - st->idle_unshared_ref) > wake_pages)
		return CTL_WAKE_UNSHARED;
	/* Processes left: new ones may have arrived at the same moment, with
	 * MemAvailable unchanged, and would wait for the idle scan. */
	if ((double)(st->idle_gain_ref - gain_of(s)) > wake_pages)
		return CTL_WAKE_SHARING_DROP;
	return CTL_WAKE_NONE;
}

/* End of a full scan: judge it. Returns a wake reason when an idle scan
 * found something worth merging. */
static enum ctl_wake end_of_epoch(const struct cfg *cfg, struct ctl_state *st, const struct sample *s)
{
	double wake_pages = (double)size_resolve(&cfg->wake_threshold, s->mem_total) / CTL_PAGE_SIZE;
	double growth = (double)(rmap_of(s) - st->epoch_rmap_start);
	bool fruitless;
	enum ctl_wake w = CTL_WAKE_NONE;

	st->epoch_growth = growth;
	if (st->epoch_scanned >= 1) {
		st->epoch_yield = maxd(st->epoch_gain, 0) / st->epoch_scanned;
		st->epoch_yield_valid = true;
	}
	fruitless = st->epoch_gain < cfg->min_yield * st->epoch_scanned || st->epoch_gain <= 0;
	fruitless = fruitless && growth < wake_pages;

	if (st->mode == CTL_MODE_ACTIVE) {
		if (st->probing)
			st->probe_boundaries++;
		/* The first boundary after a probe starts closes a scan that
		 * began before it; new memory is only seen after it. */
		if (!st->probing || st->probe_boundaries >= 2) {
			if (fruitless) {
				st->mode = CTL_MODE_IDLE;
				st->probing = false;
				reset_refs(st, s);
			} else if (st->probing && st->probe_boundaries >= 3) {
				/* two whole scans of the new memory: judge by yield now */
				st->probing = false;
				reset_refs(st, s);
			}
		}
	} else if (st->mode == CTL_MODE_IDLE && !fruitless && st->epoch_gain > 0) {
		w = CTL_WAKE_IDLE_YIELD;
	}
	reset_epoch(st, s);
	return w;
}

static void prime(struct ctl_state *st, const struct sample *s, int64_t scanned)
{
	st->prev_meas = (double)s->mem_available / (double)s->mem_total;
	st->prev_gain = gain_of(s);
	st->prev_scanned = scanned;
	st->prev_full_scans = s->ksm.v[KSM_FULL_SCANS];
	st->prev_skipped = ksm_values_has(&s->ksm, KSM_PAGES_SKIPPED) ? s->ksm.v[KSM_PAGES_SKIPPED] : 0;
	st->prev_have_cpu = s->have_ksmd_cpu;
	st->prev_ksmd_cpu = s->ksmd_cpu_s;
	st->primed = true;
}

void ctl_step(const struct cfg *cfg, struct ctl_state *st, const struct sample *s, double dt,
	      struct ctl_decision *out)
{
	struct ctl_terms t;
	double interval = (double)cfg->interval_ms / 1000.0;
	double total, meas, e, margin, u, b, rate, rate_max, rate_floor, rmap_pages;
	double d_scan = 0, d_gain = 0;
	int64_t scanned, d_full = 0;
	bool fresh, pressure, released, cpu_cut = false;
	enum ctl_wake wake = CTL_WAKE_NONE;
	int cur_run;

	if (!usable(s)) {
		*out = st->last;
		out->hold = true;
		out->reason = CTL_R_HOLD;
		out->wake = CTL_WAKE_NONE;
		return;
	}
	memset(&t, 0, sizeof(t));
	memset(out, 0, sizeof(*out));
	total = (double)s->mem_total;
	meas = (double)s->mem_available / total;
	cur_run = (int)s->ksm.v[KSM_RUN];

	/* pages scanned: the kernel's counter, or an estimate from the knobs
	 * that were in force (kernels before 6.6) */
	if (ksm_values_has(&s->ksm, KSM_PAGES_SCANNED)) {
		scanned = s->ksm.v[KSM_PAGES_SCANNED];
	} else {
		double est = 0;
		if (st->primed && cur_run == 1 && dt > 0)
			est = ctl_rate_of((uint64_t)s->ksm.v[KSM_PAGES_TO_SCAN], (uint64_t)s->ksm.v[KSM_SLEEP_MILLISECS],
					  st->cost) * dt;
		scanned = sat_add(st->prev_scanned, (int64_t)clamp(est, 0, 1e15));
	}

	fresh = !st->primed || !(dt > 0) || dt > 10.0 * interval;
	if (!fresh) {
		d_full = s->ksm.v[KSM_FULL_SCANS] - st->prev_full_scans;
		d_scan = (double)(scanned - st->prev_scanned);
		d_gain = (double)(gain_of(s) - st->prev_gain);
		/* a counter that went backwards was reset: start over */
		if (d_full < 0 || d_scan < 0)
			fresh = true;
	}
	if (st->run < 0) {
		st->run = cur_run == 1;
		reset_epoch(st, s);
		start_probe(st, s);
		wake = CTL_WAKE_START;
	}

	/* ---- memory pressure: PID on the available-memory error ---------- */
	e = error_of(cfg, s, &t);
	margin = (double)size_resolve(&cfg->stop_margin, s->mem_total) / total;
	t.error = e;
	t.p = cfg->kp * e;
	if (!fresh) {
		double raw = -(meas - st->prev_meas) / dt;
		double tf = (double)cfg->derivative_filter_ms / 1000.0;
		st->dfilt += (dt / (tf + dt)) * (raw - st->dfilt);
	}
	/* Only a fall of MemAvailable raises effort: a rise is usually KSM's
	 * own merging, and must not slow the merging that causes it. */
	t.d = cfg->kd * maxd(st->dfilt, 0);

	/* ---- benefit and cost from the counter deltas --------------------- */
	if (!fresh) {
		double d_cpu = 0;
		if (s->have_ksmd_cpu && st->prev_have_cpu)
			d_cpu = s->ksmd_cpu_s - st->prev_ksmd_cpu;
		if (d_cpu < 0)
			d_cpu = 0;
		if (s->have_ksmd_cpu && st->prev_have_cpu) {
			st->cpu_share = d_cpu / dt;
			st->acc_cpu += d_cpu;
			st->acc_scanned += d_scan;
			if (st->acc_cpu >= COST_MIN_CPU && st->acc_scanned >= COST_MIN_PAGES) {
				double c = clamp(st->acc_cpu / st->acc_scanned, COST_MIN, COST_MAX);
				st->cost = st->cost_measured ? st->cost + 0.5 * (c - st->cost) : c;
				st->cost_measured = true;
				st->acc_cpu = st->acc_scanned = 0;
			} else if (st->acc_scanned > 1e9) {
				st->acc_cpu = st->acc_scanned = 0;
			}
		} else {
			st->cpu_share = d_scan * st->cost / dt;
		}
		if (d_scan > 0) {
			double y = maxd(d_gain, 0) / d_scan;
			st->yield_ewma += clamp(dt / YIELD_TAU, 0, 1) * (y - st->yield_ewma);
		}
		st->epoch_scanned += d_scan;
		st->epoch_gain += d_gain;
		if (d_full > 0) {
			if (ksm_values_has(&s->ksm, KSM_PAGES_SKIPPED))
				st->epoch_skipped = s->ksm.v[KSM_PAGES_SKIPPED] - st->prev_skipped;
			if (!ksm_values_has(&s->ksm, KSM_PAGES_SCANNED))
				st->epoch_scanned = maxd(st->epoch_scanned, (double)rmap_of(s));
			enum ctl_wake w = end_of_epoch(cfg, st, s);
			if (w != CTL_WAKE_NONE)
				wake = w;
		}
	} else if (st->primed) {
		reset_epoch(st, s);
	}
	t.scanned_rate = fresh ? 0 : d_scan / dt;

	/* ---- run, with hysteresis ------------------------------------------ */
	pressure = e > 0;
	released = e < -margin;
	if (pressure) {
		st->calm_s = 0;
		if (!st->run || st->mode == CTL_MODE_STOPPED) {
			st->run = 1;
			start_probe(st, s);
			wake = CTL_WAKE_START;
		}
	} else if (released && !fresh) {
		st->calm_s += dt;
	}
	if (!pressure && st->run && (released || cur_run != 1) &&
	    (st->calm_s * 1000.0 >= (double)cfg->stop_delay_ms || cur_run != 1)) {
		/* KSM already stopped by someone with no pressure: stay out */
		st->run = 0;
	}
	if (!pressure && !st->run)
		st->mode = CTL_MODE_STOPPED;

	/* ---- new memory? ---------------------------------------------------- */
	if (st->mode != CTL_MODE_STOPPED) {
		enum ctl_wake w = wake_signal(cfg, st, s);
		/* While scanning actively, tracked and unshared pages grow as
		 * the scan reaches them: that is the scan's own doing, judged at
		 * the end of the full scan. Only events from outside (memory
		 * taken, merged pages gone) restart a probe then. */
		bool outside = w == CTL_WAKE_MEM_DROP || w == CTL_WAKE_SHARING_DROP;
		if (wake == CTL_WAKE_NONE && w != CTL_WAKE_NONE &&
		    (st->mode == CTL_MODE_IDLE || (!st->probing && outside)))
			wake = w;
		if (wake != CTL_WAKE_NONE && wake != CTL_WAKE_START)
			start_probe(st, s);
	}

	/* ---- effort u, with anti-windup --------------------------------------- */
	{
		bool saturated_hi = st->u >= 1.0 && e > 0;
		bool saturated_lo = st->u <= 0.0 && e < 0;
		bool useless = st->mode != CTL_MODE_ACTIVE && e > 0;
		if (!fresh && !saturated_hi && !saturated_lo && !useless)
			st->integ += cfg->ki * e * dt;
		st->integ = clamp(st->integ, 0, 1);
	}
	t.i = st->integ;
	u = clamp(t.p + t.i + t.d, 0, 1);
	st->u = u;
	t.u = u;

	/* ---- benefit factor b ------------------------------------------------- */
	{
		double vol = (double)s->ksm.v[KSM_PAGES_VOLATILE];
		double unsh = (double)s->ksm.v[KSM_PAGES_UNSHARED];
		double y_ref = maxd(st->epoch_yield_valid ? st->epoch_yield : 0, st->yield_ewma);
		double wake_pages = (double)size_resolve(&cfg->wake_threshold, s->mem_total) / CTL_PAGE_SIZE;
		/* Pages merge on their second visit. When the last full scan gave
		 * no page its first visit, this one can only find what is left:
		 * once it has covered EPOCH_JUDGE_SHARE of the tracked pages, its
		 * own yield says more than the last one's, and a scan after the
		 * one that merged everything need not run at full effort to the
		 * end to find nothing. (New processes are scanned last in a pass,
		 * so a scan that follows first visits is never judged early.) */
		bool early = st->epoch_growth < wake_pages && st->epoch_scanned > 0 &&
			     st->epoch_scanned >= EPOCH_JUDGE_SHARE * (double)rmap_of(s) &&
			     (!st->probing || st->probe_boundaries >= 2);
		if (early)
			y_ref = maxd(maxd(st->epoch_gain, 0) / st->epoch_scanned, st->yield_ewma);
		vol = maxd(vol - (double)(st->epoch_skipped > 0 ? st->epoch_skipped : 0), 0);
		t.churn = unsh + vol > 0 ? vol / (unsh + vol) : 0;
		t.yield = st->yield_ewma;
		t.epoch_yield = st->epoch_yield;
		if (st->mode != CTL_MODE_ACTIVE) {
			b = 0;
		} else if (st->probing && !early) {
			b = 1;
		} else {
			double lim = cfg->volatile_limit / 100.0;
			b = clamp((y_ref - cfg->min_yield) / (cfg->full_yield - cfg->min_yield), 0, 1);
			if (t.churn > lim && lim < 1)
				b *= clamp((1.0 - t.churn) / (1.0 - lim), 0, 1);
		}
		t.benefit = b;
	}

	/* ---- cost: the CPU cap as a rate ---------------------------------------- */
	rmap_pages = (double)rmap_of(s);
	rate_max = (double)cfg->pages_to_scan_max * 1000.0 / (double)cfg->sleep_ms_min;
	rate_floor = (double)cfg->pages_to_scan_min * 1000.0 / (double)cfg->sleep_ms_max;
	t.cost_us = st->cost * 1e6;
	t.cpu_share = st->cpu_share;
	t.rate_cap = (cfg->max_cpu / 100.0) / st->cost;
	if (!fresh && s->have_ksmd_cpu && st->cpu_share > CAP_SLACK * cfg->max_cpu / 100.0 && t.scanned_rate > 0) {
		/* measured above the cap: cut to what the last interval shows */
		double cut = t.scanned_rate * (cfg->max_cpu / 100.0) / st->cpu_share;
		if (cut < t.rate_cap)
			t.rate_cap = cut;
		cpu_cut = true;
	}
	t.rate_cap = clamp(t.rate_cap, rate_floor, rate_max);
	t.rate_idle = clamp(rmap_pages / ((double)cfg->idle_scan_period_ms / 1000.0), rate_floor, t.rate_cap);

	/* ---- the rate, and the knobs ---------------------------------------- */
	rate = t.rate_idle + (t.rate_cap - t.rate_idle) * u * b;
	rate = clamp(rate, rate_floor, t.rate_cap);
	out->rate = rate;
	out->run = st->run ? 1 : 0;
	out->set_pages = cfg->kernel_advisor == ADVISOR_TAKEOVER ||
			 !ksm_values_has(&s->ksm, KSM_ADVISOR_MODE) || s->ksm.v[KSM_ADVISOR_MODE] == 0;
	{
		/* defer: the advisor's pages_to_scan is given; only the sleep is ours */
		uint64_t kernel_pages = (uint64_t)s->ksm.v[KSM_PAGES_TO_SCAN];
		uint64_t fixed = out->set_pages ? 0 : (kernel_pages ? kernel_pages : 1);
		uint64_t p, sl;
		double prev_rate = st->pages ? ctl_rate_of(fixed ? fixed : st->pages, st->sleep_ms, st->cost) : 0;
		bool in_bounds = st->pages >= cfg->pages_to_scan_min && st->pages <= cfg->pages_to_scan_max &&
				 st->sleep_ms >= cfg->sleep_ms_min && st->sleep_ms <= cfg->sleep_ms_max;
		if (in_bounds && prev_rate > 0 && fabs(prev_rate - rate) <= DEADBAND * rate &&
		    prev_rate <= t.rate_cap * (1 + DEADBAND / 2) && (!fixed || fixed == st->pages)) {
			p = fixed ? fixed : st->pages;
			sl = st->sleep_ms;
		} else {
			ctl_map_rate(cfg, rate, st->cost, fixed, &p, &sl);
		}
		st->pages = p;
		st->sleep_ms = sl;
		out->pages_to_scan = out->set_pages ? p : kernel_pages;
		out->sleep_ms = sl;
		out->rate_planned = ctl_rate_of(p, sl, st->cost);
	}

	/* ---- the reason -------------------------------------------------------- */
	if (!out->run)
		out->reason = CTL_R_NO_PRESSURE;
	else if (!pressure)
		out->reason = released ? CTL_R_PRESSURE_FADING : CTL_R_NO_PRESSURE;
	else if (cpu_cut)
		out->reason = CTL_R_CPU_CAP;
	else if (st->mode == CTL_MODE_IDLE)
		out->reason = CTL_R_NOTHING_TO_MERGE;
	else if (st->probing && b >= 1)
		out->reason = CTL_R_PROBING;
	else if (t.churn > cfg->volatile_limit / 100.0 && b < 1)
		out->reason = CTL_R_CHURN;
	else if (b < 1)
		out->reason = CTL_R_LOW_YIELD;
	else
		out->reason = CTL_R_MERGING;
	out->mode = st->mode;
	out->wake = wake;
	out->estimated_cpu = !s->have_ksmd_cpu;
	out->t = t;
	st->last = *out;
	prime(st, s, scanned);
}

void ctl_reconfigure(const struct cfg *new_cfg, struct ctl_state *st, const struct sample *s)
{
	struct ctl_terms t;
	double p, d, i;

	if (!st->primed || !s || s->mem_total == 0)
		return;
	memset(&t, 0, sizeof(t));
	p = new_cfg->kp * error_of(new_cfg, s, &t);
	d = new_cfg->kd * maxd(st->dfilt, 0);
	/* keep u where it was: the integral takes up the difference */
	i = st->u - p - d;
	st->integ = clamp(i, 0, 1);
}
