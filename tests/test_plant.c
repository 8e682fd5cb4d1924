/* test_plant.c - the controller in closed loop with the simulated KSM plant
 * (tests/plant.c), through whole scenarios in simulated time. Each test
 * states a property of the law from docs/controller.md and checks the
 * figure the law should reach, with a tolerance near what it achieves, so
 * that breaking the law fails it (make mutate).
 *
 * The simulated daemon ticks as ksmpilotd does: every interval while ksmd
 * works, every idle_interval while it idles or is stopped.
 * KSMPILOT_TRACE=1 prints one line per simulated minute (2: per tick).
 * KSMPILOT_TEST_SCALE (default 1) shortens the long scenarios, and
 * KSMPILOT_TEST=NAME runs the tests whose name matches (a glob). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "controller.h"
#include "log.h"
#include "plant.h"
#include "report.h"

#define GiB (1024.0 * 1024 * 1024)
#define MiB (1024.0 * 1024)
#define TiB (1024.0 * GiB)
#define PAGE 4096.0
#define HOUR 3600.0
#define DAY (24 * HOUR)
/* The share of a second visit the probe saves when it merges nothing. */
#define PROBE_SKIPPED_SHARE_FOR_TESTS (1 - 0.3)

static int trace_level(void)
{
	const char *e = getenv("KSMPILOT_TRACE");
	return e ? atoi(e) : 0;
}

static double scale(void)
{
	const char *e = getenv("KSMPILOT_TEST_SCALE");
	double s = e ? atof(e) : 1.0;
	return s > 0 && s <= 1 ? s : 1.0;
}

/* ---- the simulated daemon ---------------------------------------------------- */

struct sim {
	struct cfg cfg;
	struct plant p;
	struct ctl_state st;
	struct ctl_decision d;
	double t, next_dt;
	bool started;
	/* statistics over the current window */
	double win_cpu0, win_t0, win_scanned0;
	unsigned reversals, probes, writes, ticks;
	int last_dir;
	double last_rate;
	/* the highest ksmd share over any 5 s, and per interval */
	double cpu_hist[64], t_hist[64];
	unsigned nhist;
	double max_share_5s, max_share_tick;
	enum ctl_wake last_wake;
	double last_wake_t;
	double last_wake_bytes;         /* the new memory it saw */
	/* the detector that saw it, as the journal's KSM_WAKE_SIGNAL says */
	char last_signal[32];
	/* cow_ksm as ksmpilotd reads it: every SAMPLE_QUIET_MS while ksmd
	 * idles, the value as last read between */
	uint64_t cow_last;
	double cow_next_t;
	bool cow_valid;
	/* the KSM items and ksmd's CPU time as ksmpilotd reads them: every
	 * SAMPLE_QUIET_MS while ctl_counters_quiet() says so (SAMPLE_STOPPED_MS
	 * when the last read found run=0), as last read between (ksm_cached),
	 * and afresh after a write */
	struct ksm_values kc_last;
	double kc_cpu;
	bool kc_have_cpu, kc_valid, kc_quiet;
	double kc_next_t;
	unsigned kc_cached;             /* samples that carried them over (in the window) */
	/* events between two samples, in the order of their times */
	struct sim_event {
		double t;
		void (*fn)(struct sim *, int);
		int arg;
	} ev[16];
	int nev;
};

static void sim_init(struct sim *s, double total, double avail)
{
	memset(s, 0, sizeof(*s));
	cfg_defaults(&s->cfg);
	plant_init(&s->p, total, avail);
	ctl_init(&s->st);
}

static void window_start(struct sim *s)
{
	s->win_cpu0 = s->p.ksmd_cpu;
	s->win_t0 = s->t;
	s->win_scanned0 = s->p.pages_scanned;
	s->reversals = s->probes = s->writes = s->ticks = 0;
	s->last_dir = 0;
	s->max_share_5s = s->max_share_tick = 0;
	s->nhist = 0;
	s->kc_cached = 0;
}

static double window_cpu_share(const struct sim *s)
{
	return s->t > s->win_t0 ? (s->p.ksmd_cpu - s->win_cpu0) / (s->t - s->win_t0) : 0;
}

static double window_cpu(const struct sim *s)
{
	return s->p.ksmd_cpu - s->win_cpu0;
}

static void trace(const struct sim *s, double cpu0, double dt)
{
	int lvl = trace_level();

	if (lvl >= 3) {
		struct sample x;
		struct plant pc = s->p;
		plant_sample(&pc, &x);
		printf("   vol=%lld unsh=%lld shared=%lld sharing=%lld skipped_pass=%.0f churn=%.3f\n",
		       (long long)x.ksm.v[KSM_PAGES_VOLATILE], (long long)x.ksm.v[KSM_PAGES_UNSHARED],
		       (long long)x.ksm.v[KSM_PAGES_SHARED], (long long)x.ksm.v[KSM_PAGES_SHARING], s->st.skipped_pass,
		       s->d.t.churn);
	}
	if (lvl >= 2 || (lvl == 1 && fmod(s->t, 60.0) < dt - 1e-9))
		printf("t=%7.0f run=%d p=%5llu s=%4llu rate=%7.0f %-16s u=%.2f b=%.3f (y%.3f p%.3f d%.2f) e=%+.3f "
		       "merged=%8.0f/%8.0f rmap=%9.0f full=%llu cpu=%5.1f%% cap=%.0f%% probe=%.0f x=%.0fM n=%.1fM\n",
		       s->t, s->p.run, (unsigned long long)s->p.pages_to_scan, (unsigned long long)s->p.sleep_ms,
		       s->d.rate, ctl_reason_name(s->d.reason), s->d.t.u, s->d.t.benefit, s->d.t.b_yield,
		       s->d.t.b_probe, s->d.t.derate, s->d.t.error, plant_merged(&s->p), plant_mergeable(&s->p),
		       plant_rmap(&s->p), (unsigned long long)s->p.full_scans, (s->p.ksmd_cpu - cpu0) / dt * 100,
		       s->d.t.cpu_cap * 100, s->d.t.probe_pages, s->d.t.anon_excess / MiB, s->d.t.anon_noise / MiB);
}

/* The KSM_WAKE_SIGNAL field of the journal record of decision d, in out
 * (len bytes); "" when it has none. */
static void wake_signal_field(const struct sample *smp, const struct ctl_decision *d, char *out, size_t len)
{
	struct log_field f[64];
	size_t n = report_fields(f, 64, smp, d);

	out[0] = 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i].name, "KSM_WAKE_SIGNAL") == 0)
			snprintf(out, len, "%s", f[i].value);
}

/* One tick: sample, decide, apply, let the plant run until the next one. */
static void sim_tick(struct sim *s)
{
	struct sample smp;
	double dt, cpu0 = s->p.ksmd_cpu, rate, share;
	uint64_t pages0 = s->p.pages_to_scan, sleep0 = s->p.sleep_ms;
	int run0 = s->p.run;

	plant_sample(&s->p, &smp);
	if (smp.have_cow) {
		if (s->started && s->d.mode == CTL_MODE_IDLE && s->cow_valid && s->t < s->cow_next_t - 1e-9) {
			smp.cow_ksm = s->cow_last;
			smp.cow_fresh = false;
		} else {
			s->cow_last = smp.cow_ksm;
			s->cow_valid = true;
			s->cow_next_t = s->t + SAMPLE_QUIET_MS / 1000.0;
		}
	}
	if (s->kc_quiet && s->kc_valid && s->t < s->kc_next_t - 1e-9) {
		smp.ksm = s->kc_last;
		smp.have_ksmd_cpu = s->kc_have_cpu;
		smp.ksmd_cpu_s = s->kc_cpu;
		smp.ksm_cached = true;
		s->kc_cached++;
	} else {
		s->kc_last = smp.ksm;
		s->kc_have_cpu = smp.have_ksmd_cpu;
		s->kc_cpu = smp.ksmd_cpu_s;
		s->kc_valid = true;
		s->kc_next_t = s->t + (smp.ksm.v[KSM_RUN] == 0 ? SAMPLE_STOPPED_MS : SAMPLE_QUIET_MS) / 1000.0;
	}
	ctl_step(&s->cfg, &s->st, &smp, s->started ? s->next_dt : 0, &s->d);
	s->started = true;
	s->kc_quiet = ctl_counters_quiet(&s->d, &smp);
	plant_apply(&s->p, &s->d);
	if (s->p.pages_to_scan != pages0 || s->p.sleep_ms != sleep0 || s->p.run != run0) {
		s->writes++;
		s->kc_valid = false;
	}
	if (s->d.wake != CTL_WAKE_NONE) {
		s->probes++;
		s->last_wake = s->d.wake;
		s->last_wake_t = s->t;
		s->last_wake_bytes = s->d.wake_bytes;
		wake_signal_field(&smp, &s->d, s->last_signal, sizeof(s->last_signal));
	}
	/* ksmpilotd's tick, as the daemon picks it */
	dt = (double)ctl_interval_ms(&s->cfg, &s->d) / 1000.0;
	{
		double at = s->t;

		while (s->nev > 0 && s->ev[0].t < s->t + dt) {
			struct sim_event e = s->ev[0];

			if (e.t > at) {
				plant_advance(&s->p, e.t - at);
				at = e.t;
			}
			s->nev--;
			memmove(s->ev, s->ev + 1, sizeof(s->ev[0]) * (size_t)s->nev);
			e.fn(s, e.arg);
		}
		plant_advance(&s->p, s->t + dt - at);
	}
	s->t += dt;
	s->next_dt = dt;
	s->ticks++;

	/* direction reversals of the written scan rate */
	rate = s->p.run ? ctl_rate_of(s->p.pages_to_scan, s->p.sleep_ms, 0) : 0;
	if (fabs(rate - s->last_rate) > 1e-9) {
		int dir = rate > s->last_rate ? 1 : -1;
		if (s->last_dir && dir != s->last_dir)
			s->reversals++;
		s->last_dir = dir;
		s->last_rate = rate;
	}
	/* ksmd's share per interval and over any 5 s */
	share = (s->p.ksmd_cpu - cpu0) / dt;
	if (share > s->max_share_tick)
		s->max_share_tick = share;
	s->cpu_hist[s->nhist % 64] = s->p.ksmd_cpu;
	s->t_hist[s->nhist % 64] = s->t;
	s->nhist++;
	for (unsigned k = 1; k < 64 && k < s->nhist; k++) {
		unsigned j = (s->nhist - 1 - k) % 64;
		if (s->t - s->t_hist[j] >= 5.0 - 1e-9) {
			double sh = (s->p.ksmd_cpu - s->cpu_hist[j]) / (s->t - s->t_hist[j]);
			if (sh > s->max_share_5s)
				s->max_share_5s = sh;
			break;
		}
	}
	trace(s, cpu0, dt);
}

static void sim_run(struct sim *s, double seconds)
{
	double end = s->t + seconds;

	while (s->t < end - 1e-9)
		sim_tick(s);
}

/* Regions ids (n of them) have frac of their pages merged. */
static bool regions_merged(struct sim *s, const int *ids, int n, double frac)
{
	double m = 0, all = 0;

	for (int i = 0; i < n; i++) {
		m += plant_region_merged(&s->p, ids[i]);
		all += plant_region_pages(&s->p, ids[i]);
	}
	return m >= frac * all;
}

/* Run until region ids (n of them) have frac of their pages merged;
 * returns the seconds it took, or -1 after limit. */
static double sim_until_regions(struct sim *s, const int *ids, int n, double frac, double limit)
{
	double t0 = s->t;

	while (s->t - t0 < limit) {
		if (regions_merged(s, ids, n, frac))
			return s->t - t0;
		sim_tick(s);
	}
	return -1;
}

static double sim_until_merged(struct sim *s, double frac, double limit)
{
	double t0 = s->t;

	while (s->t - t0 < limit) {
		if (plant_merged(&s->p) >= frac * plant_mergeable(&s->p))
			return s->t - t0;
		sim_tick(s);
	}
	return -1;
}

/* A guest: 60% mergeable pages (returns its id), 30% unique, 10% volatile. */
static int add_guest(struct sim *s, double bytes, int group)
{
	int id = plant_add(&s->p, REGION_MERGEABLE, group, bytes * 0.6);

	plant_add(&s->p, REGION_UNIQUE, 0, bytes * 0.3);
	plant_add(&s->p, REGION_VOLATILE, 0, bytes * 0.1);
	return id;
}

static void add_guests(struct sim *s, int n, double bytes, int group0, int *ids)
{
	for (int i = 0; i < n; i++) {
		int id = add_guest(s, bytes, group0 + i % 4);
		if (ids)
			ids[i] = id;
	}
}

/* A host whose guests are merged and whose controller idles: the start and
 * the merging are simulated, then the state is steady. */
static void steady_host(struct sim *s, double total, int guests, double guest_bytes)
{
	sim_init(s, total, 0.18 * total);
	add_guests(s, guests, guest_bytes, 1, NULL);
	assert_true(sim_until_merged(s, 0.99, 12 * HOUR) > 0);
	sim_run(s, 2 * HOUR);
}

/* Puts MemAvailable at the setpoint plus share of MemTotal (short below 0). */
static void spare_memory(struct sim *s, double share)
{
	struct sample smp;
	struct plant pc = s->p;

	plant_sample(&pc, &smp);
	s->p.base_available += (double)s->d.t.setpoint + share * s->p.mem_total - (double)smp.mem_available;
}

/* ---- 1. fast when it pays --------------------------------------------------------------- */

/* A large mergeable arrival under pressure is merged at the cap, with its
 * burst: 1 GiB needs two visits of ~260,000 pages at ~2.7 µs a page. */
static void test_arrival_merges_fast(void **state)
{
	struct sim s;
	int ids[4];
	double took;

	(void)state;
	sim_init(&s, 24 * GiB, 4 * GiB); /* below the 20% setpoint */
	sim_run(&s, 20);
	add_guests(&s, 4, 256 * MiB, 1, ids);
	window_start(&s);
	took = sim_until_regions(&s, ids, 4, 0.9, 600);
	sim_run(&s, 60);
	if (trace_level())
		printf("arrival: 90%% merged after %.0f s, %.2f s of ksmd CPU, peak %.0f%% a tick, %.0f%% over 5 s\n",
		       took, window_cpu(&s), s.max_share_tick * 100, s.max_share_5s * 100);
	/* noticed within an idle interval, then ~3 s at up to half a core */
	assert_true(took > 0 && took <= 7);
	assert_int_equal(s.p.run, 1);
	/* the burst, and no more */
	assert_true(s.max_share_5s <= s.cfg.max_cpu_burst / 100 * 1.05);
	assert_true(s.max_share_tick >= 1.2 * s.cfg.max_cpu / 100);
	assert_int_equal(s.probes, 1);
}

/* Memory a little short, so that the price is low: an arrival still merges
 * at the cap. Its probe costs two visits however slowly it runs, so a slow
 * one saves little CPU and delays the saving (on the real kernel, a
 * 768 MiB guest at 0.6% short: 55 s to 90% merged at the price's pace,
 * 29 s for ksmtuned at 10 s). */
static void test_arrival_when_little_short(void **state)
{
	struct sim s;
	int ids[2];
	double took, e, u, cpu;

	(void)state;
	steady_host(&s, 24 * GiB, 2, 256 * MiB);
	/* 0.5% of MemTotal to spare before 512 MiB arrive (2.1%), of which
	 * half merges: 1.6% short, then 0.5% */
	spare_memory(&s, 0.005);
	sim_run(&s, 600);
	add_guests(&s, 2, 256 * MiB, 7, ids);
	window_start(&s);
	while (s.d.wake == CTL_WAKE_NONE && s.t - s.win_t0 < 60)
		sim_tick(&s);
	e = s.d.t.error;
	u = s.d.t.u;
	/* past half a percent short, the probe runs at the cap at once */
	assert_true(s.d.t.u_probe > 0.99);
	assert_true(s.d.rate > 0.99 * s.d.t.rate_cap);
	took = s.t - s.win_t0 + sim_until_regions(&s, ids, 2, 0.9, HOUR);
	cpu = window_cpu(&s);
	sim_run(&s, 120);
	if (trace_level())
		printf("a little short: error %.4f, u=%.2f at the probe; 90%% merged after %.0f s, %.2f s of ksmd CPU "
		       "(%.2f s with the next two minutes)\n", e, u, took, cpu, window_cpu(&s));
	assert_true(e > 0.01 && e < 0.02);
	assert_true(u < 0.5);
	assert_true(took > 0 && took <= 10);
	assert_int_equal(s.probes, 1);
}

/* Guests whose processes start one after the other, a second apart, are
 * all merged by the probe the first one opened: the probe follows the
 * first visits until they stop. */
static void test_guests_one_after_the_other(void **state)
{
	struct sim s;
	int ids[4];
	double took;

	(void)state;
	sim_init(&s, 24 * GiB, 4 * GiB);
	sim_run(&s, 20);
	for (int i = 0; i < 4; i++) {
		ids[i] = add_guest(&s, 256 * MiB, 1 + i);
		sim_tick(&s);
	}
	took = sim_until_regions(&s, ids, 4, 0.9, 600);
	if (trace_level())
		printf("one after the other: 90%% merged %.0f s after the last, %u probes\n", took, s.probes);
	assert_true(took >= 0 && took <= 8);
}

/* Staggered arrivals, one every 20 to 40 s: each merged within seconds. */
static void test_staggered_arrivals(void **state)
{
	struct sim s;
	double worst = 0;

	(void)state;
	/* (the volatile pages smart_scan skips come back together: a pass
	 * may end twice in one interval, around the first visits of a guest) */
	sim_init(&s, 24 * GiB, 4 * GiB);
	sim_run(&s, 20);
	for (int i = 0; i < 6; i++) {
		int id = add_guest(&s, 256 * MiB, 1 + i % 4);
		double took = sim_until_regions(&s, &id, 1, 0.9, 600);
		if (took < 0 || took > worst)
			worst = took < 0 ? 1e9 : took;
		sim_run(&s, 20 + (i * 7) % 21 - took);
	}
	if (trace_level())
		printf("staggered: the slowest arrival merged in %.0f s\n", worst);
	assert_true(worst <= 8);
}

/* 1.2 GiB of new mergeable memory beside four merged guests, in parts of
 * 40 MiB (two processes' 20 MiB) every gap s, or at once (gap 0). Returns
 * the longest any part took from its arrival to 90% merged (-1: one was
 * not within 600 s); probes, and ksmd's CPU until the last probe closed. */
static double trickle(double gap, unsigned *probes, double *cpu)
{
	enum { PARTS = 30 };
	struct sim s;
	int ids[2 * PARTS];
	double at[PARTS], took[PARTS];
	int k = gap > 0 ? PARTS : 1, added = 0, left = k;
	double worst = 0, next, t0;

	steady_host(&s, 24 * GiB, 4, 256 * MiB);
	window_start(&s);
	next = t0 = s.t;
	while (left > 0 && s.t - t0 < k * gap + 600) {
		if (added < k && s.t >= next - 1e-9) {
			ids[2 * added] = plant_add(&s.p, REGION_MERGEABLE, 5, 600.0 / k * MiB);
			ids[2 * added + 1] = plant_add(&s.p, REGION_MERGEABLE, 5, 600.0 / k * MiB);
			at[added] = s.t;
			took[added++] = -1;
			next += gap;
		}
		sim_tick(&s);
		for (int i = 0; i < added; i++)
			if (took[i] < 0 && regions_merged(&s, ids + 2 * i, 2, 0.9)) {
				took[i] = s.t - at[i];
				worst = took[i] > worst ? took[i] : worst;
				left--;
			}
	}
	while (s.st.probe.open && s.t - t0 < k * gap + 1200)
		sim_tick(&s);
	*probes = s.probes;
	*cpu = window_cpu(&s);
	return left > 0 ? -1 : worst;
}

/* Memory that arrives a little at a time, as a guest touches its RAM: each
 * part that stands above the noise wakes a probe of its own, which scans
 * all the memory KSM tracks up to twice, so the parts cost many times what
 * the same memory costs at once (docs/controller.md, section 3). What
 * holds: each part merges as it arrives, within 20 s (a probe of 40 MiB
 * beside 2.2 GiB that KSM tracks runs at a quarter to half the rate: 19 s
 * for parts 10 s apart; 13 s when the merges each probe left in the
 * evidence carried the scan on to the next part, 22 s when a probe closed
 * during its second visit took them out too); no part buys more than one
 * probe, and parts 2 s apart share probes: a part joins the probe that is
 * open, which closes once the parts it found merged at their first visit,
 * or, when a part joined it late, once it saw them all twice (at most one
 * probe for two parts; 8 for the 30 and 12.9 s of ksmd CPU; 12 and 9.9 s
 * when the merges of the parts before closed it with the last behind the
 * cursor, 10 and 9.1 s when each probe waited an interval past its first
 * visits, 3 and 13.7 s when it waited for a second visit). In all, the
 * parts cost at most 10 times the same memory at once (5.3 to 6.4; 4.7 to
 * 9.5 when the probes' merges stayed in the evidence, 10.8 for parts 30 s
 * apart when the interval after each probe also planned its cap with the
 * cost of scanning merged pages). */
static void test_trickle_merges_as_it_fills(void **state)
{
	const double gaps[] = { 0, 2, 10, 30 };
	const unsigned most[] = { 1, 15, 30, 30 };
	double once = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(gaps); i++) {
		unsigned probes;
		double cpu, took = trickle(gaps[i], &probes, &cpu);

		if (trace_level())
			printf("1.2 GiB in %s%.0f s: each part 90%% merged within %.0f s, %u probes, ksmd %.2f s\n",
			       gaps[i] > 0 ? "parts every " : "one part, ", gaps[i], took, probes, cpu);
		assert_true(took >= 0 && took <= 20);
		assert_true(probes >= 1 && probes <= most[i]);
		if (gaps[i] == 0)
			once = cpu;
		else
			assert_true(cpu <= 10 * once);
	}
}

/* Without the burst the same arrival is held to max_cpu, from its first
 * interval on: the cost planned when the probe starts is the merging cost
 * (learned earlier), not the cheap cost of scanning merged pages. */
static void test_no_first_interval_overshoot(void **state)
{
	struct sim s;
	int ids[4];
	double took;

	(void)state;
	sim_init(&s, 24 * GiB, 4 * GiB);
	s.cfg.max_cpu_burst = s.cfg.max_cpu;
	add_guests(&s, 2, 256 * MiB, 1, NULL);
	assert_true(sim_until_merged(&s, 0.99, 600) > 0);
	sim_run(&s, 1800); /* idle: the measured cost is the merged one */
	assert_true(s.d.t.cost_us < 1.6);
	add_guests(&s, 4, 256 * MiB, 5, ids);
	window_start(&s);
	took = sim_until_regions(&s, ids, 4, 0.9, 600);
	sim_run(&s, 60);
	if (trace_level())
		printf("no burst: 90%% merged after %.0f s; peak %.1f%% a tick, %.1f%% over 5 s\n", took,
		       s.max_share_tick * 100, s.max_share_5s * 100);
	assert_true(took > 0 && took <= 16);
	assert_true(s.max_share_tick <= s.cfg.max_cpu / 100 * 1.10);
	assert_true(s.max_share_5s <= s.cfg.max_cpu / 100 * 1.05);
	assert_true(s.max_share_5s >= s.cfg.max_cpu / 100 * 0.8);
}

/* The average holds over long stretches: the burst allowance is spent,
 * then ksmd runs at max_cpu. 8 GiB to merge takes longer than it lasts. */
static void test_cpu_cap_holds(void **state)
{
	struct sim s;
	double capacity;

	(void)state;
	sim_init(&s, 64 * GiB, 4 * GiB);
	s.cfg.max_cpu = 10;
	s.cfg.max_cpu_burst = 30;
	s.p.cost_work = 4e-6; /* expensive merging: 16 GiB take longer than the window */
	capacity = (0.30 - 0.10) * (double)s.cfg.burst_duration_ms / 1000.0;
	sim_run(&s, 30);
	window_start(&s);
	add_guests(&s, 16, 1 * GiB, 1, NULL);
	sim_run(&s, 100);
	if (trace_level())
		printf("cap: %.1f%% over 100 s, peak %.1f%% over 5 s\n", window_cpu_share(&s) * 100,
		       s.max_share_5s * 100);
	assert_true(plant_merged(&s.p) < 0.9 * plant_mergeable(&s.p));
	/* at most max_cpu over the window plus the allowance, never above
	 * the burst, and both reached, so that the test means something */
	assert_true(window_cpu(&s) <= 0.10 * 100 * 1.05 + capacity);
	assert_true(window_cpu(&s) >= 0.10 * 100 + 0.5 * capacity);
	assert_true(s.max_share_5s <= 0.30 * 1.05);
	/* the allowance spent: max_cpu, until the merging is done */
	window_start(&s);
	sim_run(&s, 150);
	if (trace_level())
		printf("cap: then %.1f%% over 150 s\n", window_cpu_share(&s) * 100);
	assert_true(plant_merged(&s.p) < 0.9 * plant_mergeable(&s.p));
	assert_true(window_cpu_share(&s) <= 0.10 * 1.05);
	assert_true(window_cpu_share(&s) >= 0.09);
}

/* While the burst allowance tapers, the cap falls a little at each decision,
 * and ksmd ran at the last one: that is no reason to cut (cpu-cap). */
static void test_taper_is_no_cut(void **state)
{
	struct sim s;
	unsigned cuts = 0, taper = 0;

	(void)state;
	sim_init(&s, 64 * GiB, 4 * GiB);
	s.cfg.max_cpu_burst = 100;
	s.cfg.burst_duration_ms = 20000;
	sim_run(&s, 30);
	add_guests(&s, 16, 1 * GiB, 1, NULL);
	for (int i = 0; i < 200; i++) {
		double cap = s.d.t.cpu_cap;
		sim_run(&s, 1);
		if (s.d.t.cpu_cap < cap - 0.001 && s.d.t.cpu_cap > s.cfg.max_cpu / 100 + 0.001) {
			taper++;
			cuts += s.d.reason == CTL_R_CPU_CAP;
		}
	}
	if (trace_level())
		printf("taper: %u decisions, %u of them cpu-cap\n", taper, cuts);
	assert_true(taper >= 4); /* so that the test means something */
	assert_int_equal(cuts, 0);
}

/* ---- 2. scale-free ------------------------------------------------------------------------- */

/* Idle scanning has its own budget at every host size: one full scan per
 * idle_scan_period where that is cheap, idle_max_cpu where it is not, and
 * never near max_cpu. */
static void check_idle_at(double total, int guests, double guest_bytes)
{
	struct sim s;
	double want, rmap;

	steady_host(&s, total, guests, guest_bytes);
	assert_int_equal(s.d.mode, CTL_MODE_IDLE);
	window_start(&s);
	sim_run(&s, 2 * HOUR); /* not scaled: the share settles over a pass */
	rmap = plant_rmap(&s.p);
	want = fmin(rmap / ((double)s.cfg.idle_scan_period_ms / 1000.0) * s.p.cost_visit, s.cfg.idle_max_cpu / 100);
	if (trace_level())
		printf("idle at %.0f GiB: %.0f M rmap items, ksmd %.3f%% (expected %.3f%%), %u probes, %u "
		       "reversals, the KSM counters carried over in %u of %u samples\n", total / GiB, rmap / 1e6,
		       window_cpu_share(&s) * 100, want * 100, s.probes, s.reversals, s.kc_cached, s.ticks);
	assert_true(window_cpu_share(&s) <= s.cfg.idle_max_cpu / 100 * 1.05);
	assert_true(window_cpu_share(&s) >= 0.7 * want && window_cpu_share(&s) <= 1.4 * want);
	assert_int_equal(s.probes, 0);
	assert_int_equal(s.d.mode, CTL_MODE_IDLE);
	/* the cursor crosses the guests' volatile pages, dearer than their
	 * merged ones, and the rate does not follow each: at most two
	 * reversals an hour */
	assert_true(s.reversals <= 2 * 2);
	/* read every SAMPLE_QUIET_MS, not at every sample (2 s apart) */
	assert_true(s.kc_cached >= s.ticks * 3 / 4);
}

static void test_idle_budget_24g(void **state)
{
	(void)state;
	check_idle_at(24 * GiB, 4, 1 * GiB);
}

static void test_idle_budget_256g(void **state)
{
	(void)state;
	check_idle_at(256 * GiB, 8, 16 * GiB);
}

static void test_idle_budget_1t(void **state)
{
	(void)state;
	check_idle_at(1 * TiB, 8, 64 * GiB);
}

static void test_idle_budget_2t(void **state)
{
	(void)state;
	check_idle_at(2 * TiB, 8, 160 * GiB);
}

/* The idle rate is planned with the cost of an hour of idle scanning, and
 * at least half the cost measured now: when every page gets four times
 * dearer (another load's misses, new content), ksmd takes about twice the
 * idle budget while the hour's cost catches up (with the knobs' half band
 * and the lag of the cost measured, at most two and a half times). */
static void test_idle_cost_rise_bounded(void **state)
{
	struct sim s;
	double budget;

	(void)state;
	steady_host(&s, 1 * TiB, 8, 64 * GiB);
	budget = s.cfg.idle_max_cpu / 100;
	s.p.cost_visit *= 4;
	s.p.cost_work *= 4;
	sim_run(&s, 30); /* the first measurement of the new cost */
	window_start(&s);
	sim_run(&s, 10 * 60);
	if (trace_level())
		printf("idle cost x4: ksmd %.3f%% over 10 minutes (budget %.3f%%)\n", window_cpu_share(&s) * 100,
		       budget * 100);
	assert_true(window_cpu_share(&s) <= 2.5 * budget);
	assert_int_equal(s.d.mode, CTL_MODE_IDLE);
}

/* After a busy course (guests of four images, one that leaves, two of new
 * images, one whose merged pages are rewritten, 200 pages a second), the
 * steady state that follows keeps its knobs: at most two reversals an hour,
 * under noise of 0.25% of MemTotal. With the idle rate planned on the cost
 * of the last interval, 5 reversals in these 2 hours. */
static void test_steady_after_busy_course(void **state)
{
	struct sim s;
	int ids[6];

	(void)state;
	sim_init(&s, 256 * GiB, 0.18 * 256 * GiB);
	add_guests(&s, 6, 16 * GiB, 1, ids);
	assert_true(sim_until_merged(&s, 0.99, 12 * HOUR) > 0);
	plant_remove(&s.p, ids[5]);
	add_guests(&s, 2, 12 * GiB, 7, NULL);
	plant_set_cow(&s.p, ids[0], 200, true);
	plant_set_noise(&s.p, 0.0025 * 256 * GiB, 0.0025 * 256 * GiB, 300, 7);
	sim_run(&s, 4 * HOUR);
	window_start(&s);
	sim_run(&s, 2 * HOUR);
	if (trace_level())
		printf("after a busy course at 256 GiB: %u reversals, %u writes in 2 h, ksmd %.3f%%, reason %s\n",
		       s.reversals, s.writes, window_cpu_share(&s) * 100, ctl_reason_name(s.d.reason));
	assert_true(s.reversals <= 2 * 2);
	/* and the knobs kept do not scan above the budget (1.10% if they may) */
	assert_true(window_cpu_share(&s) <= s.cfg.idle_max_cpu / 100 * 1.05);
}

/* A small arrival on a big host is priced by what it can find: it does not
 * buy passes at the cap, only a little above the idle rate. And it is still
 * merged, in time. */
static void test_small_arrival_big_host_is_priced(void **state)
{
	struct sim s;
	int id;
	double idle_cpu, probe_cpu;

	(void)state;
	steady_host(&s, 1 * TiB, 8, 64 * GiB);
	window_start(&s);
	sim_run(&s, HOUR);
	idle_cpu = window_cpu(&s);
	id = add_guest(&s, 1 * GiB, 9);
	window_start(&s);
	sim_run(&s, HOUR);
	probe_cpu = window_cpu(&s);
	if (trace_level())
		printf("1 GiB on 1 TiB: ksmd %.0f s in the hour after (idle %.0f s); rate %.0f/s, idle %.0f/s, cap "
		       "%.0f/s\n",
		       probe_cpu, idle_cpu, s.d.rate, s.d.t.rate_idle, s.d.t.rate_cap);
	assert_int_equal(s.probes, 1);
	/* more than idling (it is worth something), far less than the cap */
	assert_true(probe_cpu > 1.2 * idle_cpu);
	assert_true(probe_cpu < 0.1 * s.cfg.max_cpu / 100 * HOUR);
	assert_true(s.d.rate > s.d.t.rate_idle && s.d.rate < 0.1 * s.d.t.rate_cap);
	assert_true(sim_until_regions(&s, &id, 1, 0.9, 2 * DAY * scale()) > 0 || scale() < 1);
}

/* A start without a saved state on a big host that KSM has merged already
 * does not scan it again at the cap: what KSM does not track there is
 * mostly memory nobody marked mergeable. */
static void test_fresh_start_big_host_is_priced(void **state)
{
	struct sim s, ref;

	(void)state;
	steady_host(&s, 1 * TiB, 8, 64 * GiB);
	ref = s;
	ctl_init(&s.st); /* the daemon restarted, and nothing was saved */
	s.started = false;
	window_start(&s);
	window_start(&ref);
	sim_run(&s, HOUR);
	sim_run(&ref, HOUR);
	if (trace_level())
		printf("fresh start on 1 TiB: ksmd %.0f s in the first hour (idling: %.0f s)\n", window_cpu(&s),
		       window_cpu(&ref));
	assert_true(window_cpu(&s) <= 1.5 * window_cpu(&ref));
}

/* ---- 3. noise-robust wake --------------------------------------------------------------- */

/* Stationary noise on MemAvailable and AnonPages (sigma 1% of MemTotal)
 * wakes no probe in a week, and does not make the knobs dither. */
static void check_noise(double tau)
{
	struct sim s;
	double days = 7 * scale();

	sim_init(&s, 24 * GiB, 0.18 * 24 * GiB);
	plant_set_noise(&s.p, 0.01 * s.p.mem_total, 0.01 * s.p.mem_total, tau, 42);
	add_guests(&s, 4, 1 * GiB, 1, NULL);
	assert_true(sim_until_merged(&s, 0.99, HOUR) > 0);
	sim_run(&s, HOUR);
	window_start(&s);
	sim_run(&s, days * DAY);
	if (trace_level())
		printf("noise (tau %.0f s): %u probes, %u reversals in %.1f days, ksmd %.3f%%\n", tau, s.probes,
		       s.reversals, days, window_cpu_share(&s) * 100);
	assert_int_equal(s.probes, 0);
	assert_true(s.reversals <= 2 * days * 24);
	assert_true(window_cpu_share(&s) <= s.cfg.idle_max_cpu / 100);
}

static void test_noise_white_wakes_nothing(void **state)
{
	(void)state;
	check_noise(0);
}

static void test_noise_correlated_wakes_nothing(void **state)
{
	(void)state;
	check_noise(60);
}

/* Guests that arrive while the daemon still learns the noise (correlated,
 * sigma = 1% of MemTotal): the low level's claim of them keeps it from
 * learning its noise for a minute or two, and then it learns again as fast
 * as it began, from the time it learned, not from the daemon's age. When
 * it learned at the pace of the daemon's age, it took the noise it had not
 * learned yet for two more arrivals within 6 minutes. */
static void test_noise_learned_after_early_arrival(void **state)
{
	const double sizes[] = { 256 * MiB, 1 * GiB };

	(void)state;
	for (unsigned i = 0; i < 2; i++) {
		struct sim s;
		int ids[4];
		unsigned probes;

		sim_init(&s, 24 * GiB, 0.15 * 24 * GiB);
		plant_set_noise(&s.p, 0.01 * s.p.mem_total, 0.01 * s.p.mem_total, 60, 5);
		sim_run(&s, 20);
		add_guests(&s, 4, sizes[i] / 4, 1, ids);
		assert_true(sim_until_regions(&s, ids, 4, 0.9, 60) > 0);
		probes = s.probes;
		sim_run(&s, HOUR * scale());
		if (trace_level())
			printf("%.0f MiB while learning the noise: %u probes in the hour after\n", sizes[i] / MiB,
			       s.probes - probes);
		assert_int_equal(s.probes, probes);
	}
}

/* A build-like neighbour: bursts of lo..lo+span MiB that nobody marked
 * mergeable, held for hold s, then off for off s. */
struct neighbour {
	double lo, span, hold, off;
	uint64_t rng;
};

/* Runs for seconds, or until regions ids (n of them, none: 0) are 90%
 * merged; returns whether they are. */
static bool run_watching(struct sim *s, double seconds, const int *ids, int n)
{
	double end = s->t + seconds;

	while (s->t < end - 1e-9) {
		if (n > 0 && regions_merged(s, ids, n, 0.9))
			return true;
		sim_tick(s);
	}
	return n > 0 && regions_merged(s, ids, n, 0.9);
}

/* One burst of the neighbour; stops early once regions ids (n of them) are
 * 90% merged, and returns whether they are. */
static bool neighbour_burst_watching(struct sim *s, struct neighbour *n, const int *ids, int nids)
{
	bool done;
	int nb;

	n->rng = n->rng * 6364136223846793005ULL + 1442695040888963407ULL;
	nb = plant_add(&s->p, REGION_PRIVATE, 0, (n->lo + (double)(n->rng >> 40) / (double)(1 << 24) * n->span) * MiB);
	done = run_watching(s, n->hold, ids, nids);
	plant_remove(&s->p, nb);
	return done || run_watching(s, n->off, ids, nids);
}

static void neighbour_burst(struct sim *s, struct neighbour *n)
{
	neighbour_burst_watching(s, n, NULL, 0);
}

/* The neighbour's bursts for seconds (to the end of the burst under way). */
static void neighbour_for(struct sim *s, struct neighbour *n, double seconds)
{
	double t_end = s->t + seconds;

	while (s->t < t_end)
		neighbour_burst(s, n);
}

/* Two guests of another image arrive while the neighbour goes on; returns
 * the seconds until they merged (-1: not in 600 s). */
static double late_guests_beside(struct sim *s, struct neighbour *n)
{
	double t0;
	int ids[2];

	add_guests(s, 2, 256 * MiB, 9, ids);
	t0 = s->t;
	while (s->t - t0 < 600)
		if (neighbour_burst_watching(s, n, ids, 2))
			return s->t - t0;
	return -1;
}

/* An hour of the neighbour beside 4 merged guests, then two guests of
 * another image; returns the seconds until they merged (-1: not in 600 s)
 * and the probes the neighbour alone caused. */
static double beside_neighbour(struct neighbour n, unsigned *probes, struct sim *end)
{
	struct sim s;
	double took;

	steady_host(&s, 24 * GiB, 4, 256 * MiB);
	window_start(&s);
	neighbour_for(&s, &n, HOUR * scale());
	*probes = s.probes;
	if (trace_level())
		printf("neighbour %.0f s on/%.0f s off: %u probes in %.0f s, ksmd %.2f s\n", n.hold, n.off, s.probes,
		       s.t - s.win_t0, window_cpu(&s));
	assert_true(window_cpu_share(&s) <= 1.5 * s.cfg.idle_max_cpu / 100);
	took = late_guests_beside(&s, &n);
	if (trace_level())
		printf("neighbour: the guests merged after %.0f s, %u probes in all; the last wake saw %.0f MiB (%s)\n",
		       took, s.probes, s.last_wake_bytes / MiB, s.last_signal);
	*end = s;
	return took;
}

/* A build-like neighbour allocates and frees hundreds of MiB that nobody
 * marked mergeable, every few seconds: seen once, then ignored. Guests
 * arriving meanwhile, smaller than its swings, are still seen as they
 * arrive (the idle scan alone takes minutes), by the level the memory
 * comes back down to: at the neighbour's next trough, which stands above
 * the last ones by the guests (8 s and 14 s to 90% merged; 12 s and 24 s
 * when that level only climbed to them over FLOOR_TAU). */
static void test_neighbour_seen_once(void **state)
{
	struct sim end;
	unsigned probes;
	double took;

	(void)state;
	took = beside_neighbour((struct neighbour){ 200, 400, 3, 3, 7 }, &probes, &end);
	assert_true(probes <= 1);
	assert_true(took > 0 && took <= 10);
	/* the decision that woke for the guests says how: once the neighbour
	 * was learned (not in a run shortened by KSMPILOT_TEST_SCALE, where the
	 * level sees the guests in parts), the low level saw them, about their
	 * size (512 MiB) */
	assert_int_equal(end.last_wake, CTL_WAKE_ANON_GROWTH);
	if (scale() >= 1) {
		assert_string_equal(end.last_signal, "low-level");
		assert_true(end.last_wake_bytes >= 0.5 * 512 * MiB && end.last_wake_bytes <= 1.5 * 512 * MiB);
	}
	/* slower, wider swings: a few probes while the low level learns them */
	took = beside_neighbour((struct neighbour){ 100, 900, 10, 10, 7 }, &probes, &end);
	assert_true(probes <= 4);
	assert_true(took > 0 && took <= 18);
}

/* A neighbour like the benchmark's workload (tests/workload.c -b): each
 * burst's memory comes in over RAMP seconds (in 12 parts), stays until HOLD
 * (at least RAMP) from its start, and is freed at once; the next starts
 * PERIOD after it began, or 0.2 s after the free when that has passed
 * (workload.c starts it at once: back to back, its bursts leave no sample
 * at the trough for seconds, and the low level climbs toward them, as
 * docs/controller.md's "Not handled" says; with bursts back to back, one
 * of the five cases below wakes once more in the hour that way, 61 MiB,
 * with and without the confirmation). The size is
 * drawn in [100 - JITTER, 100]% of BURST, the hold and the period within
 * JITTER% either way, from the seed (an LCG of its own: the same seed does
 * not give the benchmark's schedule). */
struct ramp_neighbour {
	double burst, hold, period, ramp, jitter;
	uint64_t rng;
};
static int ramp_ids[16], ramp_n;
static struct sim_event ramp_ev[1 << 16];
static int ramp_nev, ramp_next;

static void ramp_add(struct sim *s, int mib)
{
	if (ramp_n < 16)
		ramp_ids[ramp_n++] = plant_add(&s->p, REGION_PRIVATE, 0, (double)mib * MiB);
}

static void ramp_free(struct sim *s, int arg)
{
	(void)arg;
	for (int i = 0; i < ramp_n; i++)
		plant_remove(&s->p, ramp_ids[i]);
	ramp_n = 0;
}

static double ramp_u(struct ramp_neighbour *n)
{
	n->rng = n->rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(n->rng >> 40) / (double)(1 << 24);
}

/* the events of the bursts from T0 to T0 + SECONDS */
static void ramp_plan(struct ramp_neighbour *n, double t0, double seconds)
{
	double t = t0;

	ramp_nev = ramp_next = ramp_n = 0;
	while (t < t0 + seconds && ramp_nev + 14 < (int)ARRAY_SIZE(ramp_ev)) {
		double j = n->jitter / 100.0;
		double size = n->burst * (1 - j + j * ramp_u(n));
		double hold = n->hold * (1 - j + 2 * j * ramp_u(n));
		double period = n->period * (1 - j + 2 * j * ramp_u(n));
		double full = hold > n->ramp ? hold : n->ramp;
		for (int k = 0; k < 12; k++)
			ramp_ev[ramp_nev++] = (struct sim_event){ t + n->ramp * k / 12, ramp_add, (int)(size / 12) };
		ramp_ev[ramp_nev++] = (struct sim_event){ t + full, ramp_free, 0 };
		t += period > full + 0.2 ? period : full + 0.2;
	}
}

static void ramp_run(struct sim *s, double seconds)
{
	double end = s->t + seconds;

	while (s->t < end) {
		while (s->nev < 16 && ramp_next < ramp_nev && ramp_ev[ramp_next].t < s->t + 2.0)
			s->ev[s->nev++] = ramp_ev[ramp_next++];
		sim_tick(s);
	}
}

/* Beside such a neighbour, the sample after a burst's fall may be part-way
 * up the next one, and so may the trough after it: a trough that rose is
 * memory that stayed only once a calm sample confirms it. In an hour,
 * after the probe that sees the neighbour first: no probe; then guests
 * smaller than its bursts are still found (the idle scan alone takes
 * minutes). On the real kernel, beside 640 MiB every 4.5 s, a trough 195
 * MiB up woke a probe for nothing 50 s into the noise. */
static void test_ramp_neighbour(void **state)
{
	static const struct ramp_neighbour cases[] = {
		{ 640, 2, 4.5, 2, 50, 20612 }, { 384, 3, 6, 1.5, 50, 7 }, { 512, 1, 3, 1, 30, 11 },
		{ 900, 2, 5, 2.5, 50, 13 },    { 640, 2, 4.5, 2, 50, 99 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ramp_neighbour n = cases[i];
		struct sim s;
		double t0, took = -1;
		unsigned probes;
		int ids[2];

		steady_host(&s, 24 * GiB, 5, 384 * MiB);
		window_start(&s);
		ramp_plan(&n, s.t, HOUR + 600);
		ramp_run(&s, HOUR);
		probes = s.probes;
		/* guests smaller than the bursts, beside them */
		add_guests(&s, 2, 128 * MiB, 9, ids);
		t0 = s.t;
		while (s.t - t0 < 600 && took < 0) {
			ramp_run(&s, 1);
			if (regions_merged(&s, ids, 2, 0.9))
				took = s.t - t0;
		}
		if (trace_level())
			printf("ramping neighbour %.0f MiB every %.1f s: %u probes in %.0f s, ksmd %.2f s; guests merged "
			       "after %.0f s (%s)\n",
			       n.burst, n.period, probes, t0 - s.win_t0, window_cpu(&s), took, s.last_signal);
		assert_true(probes <= 1);
		assert_true(s.probes <= probes + 1); /* the guests' */
		assert_true(took > 0 && took <= 20);
	}
}

/* Four merged guests beside the neighbour for ten minutes: its troughs
 * and swings learned. The window starts there. */
static void beside_learned_neighbour(struct sim *s, struct neighbour *n)
{
	steady_host(s, 24 * GiB, 4, 256 * MiB);
	neighbour_for(s, n, 600);
	window_start(s);
}

/* Guests that arrive in a burst, freed as the next one already comes in:
 * the trough after the fall is part-way up that next burst, and only the
 * one after it shows the guests alone. That one stands below the first,
 * which is dropped, but above the troughs before them by the guests: it is
 * compared with those, not with the dropped one, and the low level takes
 * the guests there, whole, rather than over its 40 s climb. */
static void test_arrival_behind_a_partway_trough(void **state)
{
	struct neighbour n = { 400, 112, 3, 3, 7 };
	struct sim s;
	double t0, took = -1;
	int ids[2], b1, b2;

	(void)state;
	beside_learned_neighbour(&s, &n);
	run_watching(&s, 4, NULL, 0);
	t0 = s.t;
	add_guests(&s, 2, 100 * MiB, 9, ids);
	b1 = plant_add(&s.p, REGION_PRIVATE, 0, 400 * MiB);
	run_watching(&s, 3, NULL, 0);
	plant_remove(&s.p, b1);
	b2 = plant_add(&s.p, REGION_PRIVATE, 0, 150 * MiB);
	run_watching(&s, 1, NULL, 0);
	plant_remove(&s.p, b2);
	b2 = plant_add(&s.p, REGION_PRIVATE, 0, 400 * MiB);
	run_watching(&s, 2, NULL, 0);
	plant_remove(&s.p, b2);
	while (took < 0 && s.t - t0 < 600) {
		if (run_watching(&s, 1, ids, 2))
			took = s.t - t0;
	}
	if (trace_level())
		printf("guests behind a part-way trough: merged after %.0f s, %u probes (%s, %.0f MiB)\n", took, s.probes,
		       s.last_signal, s.last_wake_bytes / MiB);
	/* seen whole at their trough (compared with the dropped trough, the
	 * low level's climb saw 85 MiB of them, 2 s later) */
	assert_true(took > 0 && took <= 13);
	assert_string_equal(s.last_signal, "low-level");
	assert_true(s.last_wake_bytes >= 0.75 * 200 * MiB);
}

/* Events of test_arrival_in_a_swing_seen_at_its_fall(). */
static int swing_guests[2];

static void swing_guests_arrive(struct sim *s, int arg)
{
	(void)arg;
	add_guests(s, 2, 128 * MiB, 9, swing_guests);
}

static void swing_burst_ends(struct sim *s, int id)
{
	plant_remove(&s->p, id);
}

/* Guests that arrive while a neighbour's burst is held, the burst ending
 * before the next idle sample: sampled every idle_interval, the burst's
 * fall hides in the guests' rise, and the trough that shows them comes only
 * when the next burst ends (the benchmark's neighbour scenario once took
 * 11.0 s so on the real kernel). The daemon samples a swing at interval, so
 * the fall is seen, and its trough stands above the last by the guests. */
static void test_arrival_in_a_swing_seen_at_its_fall(void **state)
{
	struct neighbour n = { 250, 250, 3, 3, 11 };
	struct sim s;
	double t0, took = -1;
	int nb;

	(void)state;
	beside_learned_neighbour(&s, &n);
	/* a burst, seen by a sample, and by the next one (2 s later while the
	 * daemon idles); the guests arrive half a second after that sample,
	 * and the burst ends a second after them */
	nb = plant_add(&s.p, REGION_PRIVATE, 0, 300 * MiB);
	run_watching(&s, 2, NULL, 0);
	t0 = s.t + 0.5;
	s.ev[0] = (struct sim_event){ t0, swing_guests_arrive, 0 };
	s.ev[1] = (struct sim_event){ t0 + 1, swing_burst_ends, nb };
	s.nev = 2;
	sim_tick(&s);
	while (took < 0 && s.t - t0 < 600)
		if (neighbour_burst_watching(&s, &n, swing_guests, 2))
			took = s.t - t0;
	if (trace_level())
		printf("guests arrived in a swing: merged after %.1f s (%u probes, the wake's signal: %s)\n", took, s.probes,
		       s.last_signal);
	assert_true(took > 0 && took <= 6);
	assert_true(s.probes == 1);
}

/* Beside bursts of 400-512 MiB held 8 s, a burst of burst MiB, and two
 * guests of guest MiB a second into it; returns the seconds until they
 * merged (-1: not in 600 s), and the probes until four bursts after it. */
static double long_burst_course(double burst, double guest, unsigned *probes, bool *swing)
{
	struct neighbour n = { 400, 112, 8, 8, 13 };
	struct sim s;
	double t0, took = -1;
	int nb;

	beside_learned_neighbour(&s, &n);
	nb = plant_add(&s.p, REGION_PRIVATE, 0, burst * MiB);
	run_watching(&s, 1, NULL, 0);
	t0 = s.t;
	add_guests(&s, 2, guest * MiB, 9, swing_guests);
	s.ev[0] = (struct sim_event){ t0 + 7, swing_burst_ends, nb };
	s.nev = 1;
	while (took < 0 && s.t - t0 < 600) {
		if (run_watching(&s, 8, swing_guests, 2))
			took = s.t - t0;
		else if (neighbour_burst_watching(&s, &n, swing_guests, 2))
			took = s.t - t0;
	}
	*swing = strcmp(s.last_signal, "swing") == 0;
	/* past the burst's end, its pause, and the next bursts */
	run_watching(&s, t0 + 7 + n.off - s.t, NULL, 0);
	for (int i = 0; i < 4; i++)
		neighbour_burst(&s, &n);
	*probes = s.probes;
	if (trace_level())
		printf("guests of 2 x %.0f MiB in a burst of %.0f MiB held 8 s: merged after %.1f s, %u probes to the "
		       "next bursts, the last %.0f s after them (%.0f MiB, %s)\n", guest, burst, took, s.probes,
		       s.last_wake_t - t0, s.last_wake_bytes / MiB, s.last_signal);
	return took;
}

/* Guests that arrive while a neighbour holds a burst for 8 s, smaller than
 * its swings: the level's noise, learned from the swings, hides them, and
 * the low level sees them only at the burst's end. They stand above the
 * last trough by more than the highest swing learned, by half of it again,
 * and are seen while the burst is held (4 s to 90% merged; 12 s seen at the
 * trough). One probe in each case: the trough that then stands above the
 * last by them wakes none, though the wake saw only their part above the
 * highest swing (a burst lower than it), nor does a wake above the swings
 * come after the level saw them (guests of 300 MiB). */
static void test_arrival_in_a_long_burst_seen_as_it_holds(void **state)
{
	/* burst MiB, guest MiB, seen above the swings */
	static const struct {
		double burst, guest;
		bool swing;
	} cases[] = { { 500, 160, true }, { 430, 200, true }, { 400, 250, true }, { 512, 300, false } };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned probes;
		bool swing;
		double took = long_burst_course(cases[i].burst, cases[i].guest, &probes, &swing);

		assert_true(took > 0 && took <= 6);
		assert_int_equal(probes, 1);
		assert_true(swing == cases[i].swing);
	}
}

/* The probe a neighbour's first bursts wake costs its two passes, as any
 * memory nobody marked: the neighbour's memory coming back up to the same
 * peaks is not memory still arriving, and does not hold the probe open
 * (it did for 7 full scans on the real kernel, 1.3 s of ksmd CPU). */
static void test_neighbour_probe_costs_two_passes(void **state)
{
	struct neighbour n = { 100, 300, 1, 1, 7 };
	struct sim s;
	double r, cost, t0;

	(void)state;
	steady_host(&s, 24 * GiB, 4, 256 * MiB);
	r = s.st.pass_len;
	t0 = s.t;
	while (!s.st.probe.open && s.t - t0 < 600) {
		window_start(&s);
		neighbour_burst(&s, &n);
	}
	assert_true(s.st.probe.open);
	while (s.st.probe.open && s.t - t0 < 1200)
		neighbour_burst(&s, &n);
	cost = window_cpu(&s);
	if (trace_level())
		printf("a neighbour's first probe: %.2f s of ksmd CPU (a pass: %.2f s), closed after %.0f s\n", cost,
		       r * s.p.cost_visit, s.t - s.win_t0);
	assert_false(s.st.probe.open);
	/* two passes, and the interval after the last new peak at the burst,
	 * and the burst that opened it (two samples) */
	assert_true(cost <= 2.1 * r * s.p.cost_visit + 2 * s.cfg.max_cpu_burst / 100 * (double)s.cfg.interval_ms / 1000);
}

/* The benchmark's course: the daemon starts, guests arrive while it still
 * learns the noise (in two steps, as their processes fault their memory
 * in), a neighbour begins to swing beside them settle s later, for three
 * minutes, then two guests arrive, smaller than its swings; returns the
 * seconds until they merged (-1: not in 600 s). The level memory comes
 * back down to climbs to the first guests over a few FLOOR_TAU: that climb
 * is the arrival already seen, not noise, or the noise it would leave
 * hides the later guests. */
static double neighbour_course_with(struct neighbour n, double settle, unsigned max_beside)
{
	struct sim s;
	double took;
	unsigned beside;

	sim_init(&s, 24 * GiB, 4 * GiB);
	sim_run(&s, 20);
	add_guests(&s, 3, 256 * MiB, 1, NULL);
	sim_tick(&s);
	add_guests(&s, 1, 256 * MiB, 4, NULL);
	sim_run(&s, settle);
	window_start(&s);
	neighbour_for(&s, &n, 180);
	beside = s.probes;
	took = late_guests_beside(&s, &n);
	if (trace_level())
		printf("neighbour %.0f s after the guests: %u probes beside it, the later guests merged after %.0f s, "
		       "%u probes in all\n",
		       settle, beside, took, s.probes);
	assert_true(beside <= max_beside);
	return took;
}

static double neighbour_course(double settle)
{
	return neighbour_course_with((struct neighbour){ 200, 400, 3, 3, 7 }, settle, 1);
}

/* Whenever the neighbour begins: one that begins while the low level still
 * climbs to the first guests swings into the level's noise, and must leave
 * the low level's claim when it leaves (the level comes back down to the
 * floor), not hold the later guests hidden until the claim times out. */
static void test_neighbour_after_fresh_start(void **state)
{
	double took;

	(void)state;
	for (double settle = 15; settle <= 120; settle += 15) {
		took = neighbour_course(settle);

		/* 8 s; 14 s when the low level only climbed to the later
		 * guests, with the neighbour begun 90 s or more after the
		 * first ones */
		assert_true(took > 0 && took <= 10);
	}
	/* A neighbour that holds up to 600 MiB for 20 s, for the three
	 * minutes before the later guests: fewer falls than the troughs need
	 * to be learned (8), so the low level's climb alone sees the guests,
	 * and up to three probes beside the neighbour learn its swings.
	 * Begun 15 s after the first guests, while the low level still climbs
	 * to them, its first fall withdraws the claim: the later guests
	 * merged after 55 s (212 s when the claim ended only once most of it
	 * had left). Begun 120 s after, the claim's end takes the slow mean to
	 * the floor: 37 s (372 s when the slow mean stayed where the climb
	 * had left it). */
	took = neighbour_course_with((struct neighbour){ 200, 400, 20, 20, 7 }, 15, 3);
	assert_true(took > 0 && took <= 60);
	took = neighbour_course_with((struct neighbour){ 200, 400, 20, 20, 7 }, 120, 3);
	assert_true(took > 0 && took <= 60);
}

/* Guests arriving on a host whose anonymous memory has some noise (σ half
 * a percent of MemTotal, within the 1% the law must stand): the level
 * stands above the floor by the noise when the arrival is seen, and the low
 * level, climbing to the new level, must not see the rest of its climb as
 * more arrivals, each a probe of a whole pass. (At σ 0.3% the low level's
 * claim of the floor plus the arrival alone went unseen once the yield's
 * tail ended sooner: with that claim, seeds 1 and 7 of 8 probe twice at
 * σ 0.5%, the law once in all 8; since a probe closes once its memory
 * merged, seed 1 alone, so all 8 run.) */
static void test_arrival_under_noise_probes_once(void **state)
{
	struct sim host, s;
	int ids[4];

	(void)state;
	steady_host(&host, 24 * GiB, 4, 256 * MiB);
	for (unsigned seed = 1; seed <= 8; seed++) {
		s = host;
		plant_set_noise(&s.p, 0.005 * s.p.mem_total, 0.005 * s.p.mem_total, 0, seed);
		sim_run(&s, HOUR);
		window_start(&s);
		add_guests(&s, 4, 256 * MiB, 9, ids);
		assert_true(sim_until_regions(&s, ids, 4, 0.9, 120) > 0);
		sim_run(&s, 600);
		if (trace_level())
			printf("arrival under noise, seed %u: %u probes, ksmd %.2f s in %.0f s\n", seed, s.probes,
			       window_cpu(&s), s.t - s.win_t0);
		assert_int_equal(s.probes, 1);
	}
}

/* A swing that the level sees in two steps, a second apart, and that
 * leaves again: the low level's claim on it is withdrawn whole, so that
 * guests arriving later, smaller than the swing, are seen as they arrive. */
static void test_swing_in_two_steps_is_withdrawn_whole(void **state)
{
	struct sim s;
	int ids[2], a, b;
	double took;

	(void)state;
	steady_host(&s, 24 * GiB, 4, 256 * MiB);
	a = plant_add(&s.p, REGION_PRIVATE, 0, 400 * MiB);
	sim_tick(&s);
	b = plant_add(&s.p, REGION_PRIVATE, 0, 400 * MiB);
	sim_run(&s, 4);
	plant_remove(&s.p, a);
	plant_remove(&s.p, b);
	sim_run(&s, 120);
	add_guests(&s, 2, 256 * MiB, 9, ids);
	took = sim_until_regions(&s, ids, 2, 0.9, 600);
	if (trace_level())
		printf("a swing in two steps, then guests: merged after %.0f s, %u probes\n", took, s.probes);
	assert_true(took > 0 && took <= 36);
}

/* ---- 4. probes priced by what they find -------------------------------------------------- */

/* What a probe of an arrival costs: ksmd's CPU from the arrival until the
 * probe closed and the controller idles again. */
static double probe_cost(const struct sim *host, void (*arrive)(struct sim *), struct sim *out)
{
	*out = *host;
	arrive(out);
	window_start(out);
	sim_tick(out);
	while (out->t - out->win_t0 < 600 && out->st.probe.open)
		sim_tick(out);
	return window_cpu(out);
}

static void arrive_unmergeable(struct sim *s)
{
	plant_add(&s->p, REGION_UNIQUE, 0, 2 * GiB);
}

static void arrive_unmarked(struct sim *s)
{
	plant_add(&s->p, REGION_PRIVATE, 0, 1 * GiB);
}

static int arrived; /* the mergeable region of arrive_image(), arrive_new_image() */

static void arrive_image(struct sim *s)
{
	arrived = add_guest(s, 256 * MiB, 1);
}

static void arrive_new_image(struct sim *s)
{
	arrived = add_guest(s, 256 * MiB, 7);
}

/* A guest of an image already merged merges at its first visit: ksmd
 * searches the stable tree before it looks at a page's checksum. Its probe
 * closes then, not a pass later at its second visit: at least three
 * quarters of a pass fewer than the probe of a guest of a new image, which
 * merges at its second visit and waits for it (in the plant, 2.0 passes
 * against 3.6; 3.0 when the probe waited an interval past its first
 * visits, 4.0 when it also waited for the second). */
static void test_image_arrival_closes_at_first_visit(void **state)
{
	struct sim host, s;
	double pass, cost, scanned, cost_new, scanned_new, took;
	int ids[2];

	(void)state;
	steady_host(&host, 24 * GiB, 4, 256 * MiB);
	cost_new = probe_cost(&host, arrive_new_image, &s);
	scanned_new = s.p.pages_scanned - s.win_scanned0;
	assert_true(regions_merged(&s, &arrived, 1, 0.99));
	cost = probe_cost(&host, arrive_image, &s);
	scanned = s.p.pages_scanned - s.win_scanned0;
	/* the pages of a pass once the guest is in: its full scans took them */
	pass = scanned / (double)(s.p.full_scans - host.p.full_scans);
	if (trace_level())
		printf("a guest of a merged image: %.2f s of ksmd CPU, %.0f pages scanned (%.2f passes of %.0f), %u "
		       "probes; of a new image: %.2f s, %.0f pages (%.2f passes)\n",
		       cost, scanned, scanned / pass, pass, s.probes, cost_new, scanned_new, scanned_new / pass);
	assert_int_equal(s.probes, 1);
	assert_true(regions_merged(&s, &arrived, 1, 0.99));
	assert_true(scanned <= scanned_new - 0.75 * pass);

	/* two guests of the image a second apart, put at different places
	 * behind the cursor: the first merged alone is not what the probe was
	 * bought for, so it stays open for the second */
	s = host;
	window_start(&s);
	ids[0] = add_guest(&s, 256 * MiB, 1);
	sim_tick(&s);
	ids[1] = add_guest(&s, 256 * MiB, 2);
	took = sim_until_regions(&s, ids, 2, 0.9, 600);
	while (s.t - s.win_t0 < 600 && s.st.probe.open)
		sim_tick(&s);
	if (trace_level())
		printf("two guests of merged images a second apart: 90%% merged after %.0f s, %u probes\n", took,
		       s.probes);
	assert_true(took >= 0 && took <= 8);
	assert_int_equal(s.probes, 1);
}

/* Seconds until a guest of GROUP and SIZE bytes, arriving alone on HOST,
 * is 90% merged: its own probe. */
static double merged_alone(const struct sim *host, int group, double size)
{
	struct sim s = *host;
	int id;
	double took;

	window_start(&s);
	id = plant_add(&s.p, REGION_MERGEABLE, group, size);
	took = sim_until_regions(&s, &id, 1, 0.9, 600);
	assert_true(took > 0);
	return took;
}

/* A guest of 1 GiB joins the open probe of one of 2 GiB (all of their pages
 * mergeable), beside four merged guests of 2 GiB, when a tenth or two
 * fifths of the first one had its first visit. KSM puts the second one
 * behind the cursor: its first visits come a pass later. The probe follows
 * it from there and sees it twice: what merged so far is the first guest's,
 * not the share of the second that the probe was bought for. A guest of a
 * merged image merges at its first visits, one of a new image at its second
 * visit, a pass after them; each guest within half as long again as the
 * same guest alone (plus 2 s), in one probe that closes. When the merges so
 * far counted, the probe closed before the second guest was visited (a
 * merged image after a merged one: 246 s to 90% merged), and with the first
 * guest's merges in the share, at the second guest's first visits (a new
 * image after a merged one: 373 s). The real kernel: seven guests of
 * 512 MiB 8-15 s apart, one probe open across them; the last was not merged
 * within the minute it was watched. */
static void test_guest_joins_an_open_probe(void **state)
{
	static const double part[] = { 0.1, 0.4 };
	static const int first[] = { 1, 8 }, second[] = { 2, 9 };   /* merged in the host, new */
	struct sim host;
	double alone_of[ARRAY_SIZE(second)];

	(void)state;
	steady_host(&host, 24 * GiB, 4, 2 * GiB);
	for (size_t j = 0; j < ARRAY_SIZE(second); j++)
		alone_of[j] = merged_alone(&host, second[j], 1 * GiB);
	for (size_t i = 0; i < ARRAY_SIZE(part) * 4; i++) {
		struct sim s = host;
		double at = part[i % 2], took, alone = alone_of[i / 4];
		int ga = first[i / 2 % 2], gb = second[i / 4], a, b;

		window_start(&s);
		a = plant_add(&s.p, REGION_MERGEABLE, ga, 2 * GiB);
		while (s.t - s.win_t0 < 120 && !(s.st.probe.open && s.st.probe.growth >= at * 2 * GiB / PAGE))
			sim_tick(&s);
		assert_true(s.st.probe.open);
		b = plant_add(&s.p, REGION_MERGEABLE, gb, 1 * GiB);
		took = sim_until_regions(&s, &b, 1, 0.9, 600);
		while (s.t - s.win_t0 < 900 && s.st.probe.open)
			sim_tick(&s);
		if (trace_level())
			printf("a guest of a %s image joins the probe of one of a %s image at %.0f%% of its first "
			       "visits: 90%% merged after %.0f s (alone: %.0f s), %u probes, open %.0f s, ksmd %.2f s\n",
			       gb == 9 ? "new" : "merged", ga == 8 ? "new" : "merged", 100 * at, took, alone, s.probes,
			       s.t - s.win_t0, window_cpu(&s));
		assert_true(took >= 0 && took <= 1.5 * alone + 2);
		assert_false(s.st.probe.open);
		assert_true(s.probes >= 1 && s.probes <= 2);
		assert_true(regions_merged(&s, &a, 1, 0.9));
	}
	/* the second guest fills its memory over 20 s, longer than a pass,
	 * beside the probe of a guest of a merged or a new image, and marks
	 * it mergeable only then (madvise() once its heap is built): the
	 * probe holds until its first visits, a pass after the mark, and
	 * sees it twice (the pass counted from the join closed it during the
	 * fill) */
	for (int k = 0; k < 2; k++) {
		struct sim s = host;
		int a, b, filling[10], steps = 10;
		double took, t_mark, alone = alone_of[0];

		window_start(&s);
		a = plant_add(&s.p, REGION_MERGEABLE, k == 1 ? 8 : 1, 2 * GiB);
		while (s.t - s.win_t0 < 120 && !(s.st.probe.open && s.st.probe.growth >= 0.1 * 2 * GiB / PAGE))
			sim_tick(&s);
		for (int i = 0; i < steps; i++) {
			filling[i] = plant_add(&s.p, REGION_PRIVATE, 0, 1 * GiB / steps);
			sim_run(&s, 2);
		}
		assert_true(s.st.probe.open);
		for (int i = 0; i < steps; i++)
			plant_remove(&s.p, filling[i]);
		b = plant_add(&s.p, REGION_MERGEABLE, 2, 1 * GiB);
		t_mark = s.t;
		took = sim_until_regions(&s, &b, 1, 0.9, 600);
		while (s.t - s.win_t0 < 900 && s.st.probe.open)
			sim_tick(&s);
		if (trace_level())
			printf("a guest of a merged image filled over 20 s beside the probe of one of a %s image, then "
			       "marked: 90%% merged %.0f s after the mark (alone: %.0f s), %u probes, open %.0f s after "
			       "it\n",
			       k == 1 ? "new" : "merged", took, alone, s.probes, s.t - t_mark);
		assert_true(took >= 0 && took <= 1.5 * alone + 2);
		assert_false(s.st.probe.open);
		assert_int_equal(s.probes, 1);
		assert_true(regions_merged(&s, &a, 1, 0.9));
	}
}

static int marked; /* the mergeable region of fill_and_mark() */

/* The rest of a guest's fill, and then the madvise that hands it all to
 * KSM: the part filled so far leaves as private memory and comes back,
 * with the rest, as the guest. */
static void fill_and_mark(struct sim *s, int filled)
{
	plant_remove(&s->p, filled);
	marked = add_guest(s, 256 * MiB, 1);
}

/* A guest of a merged image that fills its 256 MiB, then marks it
 * mergeable, sampled while it fills: the wake sees the part filled so far,
 * the rest arrives after it. The probe's first visits take in all of the
 * guest, and merge it at once (an image already merged), so the probe can
 * close before the detector has seen the rest as an arrival of its own;
 * that rest was seen by the probe, and wakes no second probe (which would
 * scan two passes for pages KSM has visited already: a `staggered` run on
 * the real kernel, 68 MiB of a guest after its wake, three passes). */
static void test_rest_of_a_fill_seen_by_its_probe(void **state)
{
	static const double rest_mib[] = { 48, 56, 64, 72 }, at[] = { 0.2, 0.5, 0.8 };
	struct sim host;

	(void)state;
	steady_host(&host, 24 * GiB, 4, 256 * MiB);
	for (size_t i = 0; i < ARRAY_SIZE(rest_mib); i++) {
		for (size_t j = 0; j < ARRAY_SIZE(at); j++) {
			struct sim s = host;
			double t0, cpu;
			int filled;

			window_start(&s);
			filled = plant_add(&s.p, REGION_PRIVATE, 0, (256 - rest_mib[i]) * MiB);
			t0 = s.t;
			s.ev[0] = (struct sim_event){ t0 + at[j], fill_and_mark, filled };
			s.nev = 1;
			sim_tick(&s);
			while (s.t - t0 < 120 && (s.st.probe.open || s.d.mode == CTL_MODE_ACTIVE || s.nev > 0))
				sim_tick(&s);
			cpu = window_cpu(&s);
			/* and no wake later, when the low level has climbed to it */
			sim_run(&s, 900);
			if (trace_level())
				printf("a guest filled, then marked, %.0f MiB after the wake (%.1f s): %u probes, %.0f%% "
				       "merged, %.2f s of ksmd CPU until idle\n",
				       rest_mib[i], at[j], s.probes,
				       100 * plant_region_merged(&s.p, marked) / plant_region_pages(&s.p, marked), cpu);
			assert_true(regions_merged(&s, &marked, 1, 0.99));
			assert_int_equal(s.probes, 1);
		}
	}
}

static int old_private; /* test_credit_held_to_the_level() */

/* The rest of a guest's fill, marked mergeable, and memory a process
 * filled long ago, marked mergeable at the same time. */
static void fill_and_mark_old(struct sim *s, int filled)
{
	plant_remove(&s->p, filled);
	plant_remove(&s->p, old_private);
	marked = add_guest(s, 160 * MiB, 3);
	add_guest(s, 256 * MiB, 2);
}

/* A guest arrives (sampled as it fills) as a process marks memory it
 * filled long ago mergeable: the probe the guest woke takes in all of
 * both, but only the rest of the guest's fill stands above the level's
 * known level. Crediting all the probe saw would raise that above the
 * memory there is, and hide the next guest. */
static void test_credit_held_to_the_level(void **state)
{
	struct sim s;
	double t0, took;
	int filled, next;

	(void)state;
	steady_host(&s, 24 * GiB, 4, 256 * MiB);
	old_private = plant_add(&s.p, REGION_PRIVATE, 0, 256 * MiB);
	sim_run(&s, 600);
	filled = plant_add(&s.p, REGION_PRIVATE, 0, 112 * MiB);
	t0 = s.t;
	s.ev[0] = (struct sim_event){ t0 + 0.5, fill_and_mark_old, filled };
	s.nev = 1;
	sim_tick(&s);
	while (s.t - t0 < 300 && (s.st.probe.open || s.d.mode == CTL_MODE_ACTIVE || s.nev > 0))
		sim_tick(&s);
	sim_run(&s, 60);
	assert_true(regions_merged(&s, &marked, 1, 0.9));
	/* the next guest: more than the wake threshold above the memory there
	 * is, less than that above a known level raised by all the probe saw */
	window_start(&s);
	next = add_guest(&s, 80 * MiB, 4);
	took = sim_until_regions(&s, &next, 1, 0.9, 600);
	if (trace_level())
		printf("old memory marked as a guest fills, then a guest of 80 MiB: merged after %.0f s, %u probes\n",
		       took, s.probes);
	assert_true(took > 0 && took <= 10);
	assert_int_equal(s.probes, 1);
}

/* On a small host the cap is many passes a second (at 50% of a core and
 * 2 us a page, 250000 pages/s against passes of 32768 to 262144 pages):
 * what an arrival costs is counted in passes, not in seconds at the cap. A
 * probe scans at most three passes an interval, closes in the interval
 * where its first visits merged what came, and its merges leave the
 * evidence with it: no merging follows that scans the older memory again
 * for what the probe found. Guests of 128 MiB of a merged image, one every
 * 20 s on a host that tracks nothing else: each is 90% merged within 2 s,
 * and ksmd scans at most 3.5 passes from its arrival until the controller
 * idles again, 15 in all (in the plant, 0.7 to 3.1, 13.3 in all; 1.5 to
 * 4.1, 20.5 in all, when an interval of merging at the yield followed each
 * probe; 12.6 and 5.5 for the first two when each second of a probe and of
 * that merging ran at the cap). */
static void test_small_host_arrivals_cost_passes(void **state)
{
	struct sim s;
	double worst_took = 0, worst_passes = 0, all_passes = 0;

	(void)state;
	sim_init(&s, 24 * GiB, 4 * GiB);
	sim_run(&s, 20);
	for (int i = 0; i < 8; i++) {
		int id = add_guest(&s, 128 * MiB, 1);
		double scanned0 = s.p.pages_scanned, t0 = s.t, took, passes, cpu0 = s.p.ksmd_cpu;

		took = sim_until_regions(&s, &id, 1, 0.9, 60);
		while (s.t - t0 < 60 && (s.st.probe.open || s.d.mode == CTL_MODE_ACTIVE))
			sim_tick(&s);
		passes = (s.p.pages_scanned - scanned0) / plant_rmap(&s.p);
		if (trace_level())
			printf("guest %d of 128 MiB: 90%% merged in %.0f s, %.2f passes of %.0f pages until idle, "
			       "in %.0f s, %.3f s of ksmd CPU\n",
			       i + 1, took, passes, plant_rmap(&s.p), s.t - t0, s.p.ksmd_cpu - cpu0);
		worst_took = took < 0 ? 1e9 : fmax(worst_took, took);
		worst_passes = fmax(worst_passes, passes);
		all_passes += passes;
		sim_run(&s, 20);
	}
	assert_true(worst_took <= 2);
	assert_true(worst_passes <= 3.5);
	assert_true(all_passes <= 15);
}

/* A probe that closes during its second visit (memory of a new image, half
 * of it merged there) keeps its merges in the evidence, and the yield
 * carries the scan through the rest of the visit, a pass an interval at
 * most: on a small host the cap is more. A region of 256 MiB, 512 MiB and
 * 1 GiB whose pages match only each other, alone on a host that tracks
 * nothing else: 90% merged within 4 s, and at most 4 passes from its
 * arrival until the controller idles again (in the plant, 3.75, 3.75 and
 * 2.97; 4.47 for 256 MiB when the yield ran at the cap, or when a pass
 * counted as long as the passes that ended in one interval). */
static void test_yield_carries_a_second_visit(void **state)
{
	const double sizes[] = { 256 * MiB, 512 * MiB, 1 * GiB };

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct sim s;
		int id;
		double scanned0, t0, took, passes;

		sim_init(&s, 24 * GiB, 4 * GiB);
		sim_run(&s, 20);
		id = plant_add(&s.p, REGION_MERGEABLE, 6, sizes[i]);
		scanned0 = s.p.pages_scanned;
		t0 = s.t;
		took = sim_until_regions(&s, &id, 1, 0.9, 60);
		while (s.t - t0 < 60 && (s.st.probe.open || s.d.mode == CTL_MODE_ACTIVE))
			sim_tick(&s);
		passes = (s.p.pages_scanned - scanned0) / plant_rmap(&s.p);
		if (trace_level())
			printf("%.0f MiB of a new image: 90%% merged in %.0f s, %.2f passes until idle, in %.0f s\n",
			       sizes[i] / MiB, took, passes, s.t - t0);
		assert_true(took >= 0 && took <= 4);
		assert_true(passes <= 4);
	}
}

/* The rest of a second visit after its probe closed is not churn: a probe
 * whose wake saw part of an arrival closes during the arrival's second
 * visit once that merged the share it was bought for, and the yield
 * carries the scan through the rest. The rest's pages, seen once, read as
 * volatile until their second visit; taken for churn, they derated the
 * yield to nothing, and the rest waited for the idle scan. Two guests of
 * 512 MiB 10 and 11.7 minutes after a neighbour of 200-600 MiB stopped
 * (the level keeps the neighbour's peaks as known, and the wake sees about
 * 450 MiB of their 1,024): 90% merged within 10 s, the yield never derated
 * meanwhile (7 s; 32 s and 21 s, the derate at 0 for 20 s, when the rest
 * counted as churn). The rest shrinks as its second visits go by, and none
 * is left once the controller sees the next full scan. */
static void test_rest_of_a_second_visit_is_not_churn(void **state)
{
	const double after[] = { 600, 700 };

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(after); i++) {
		struct neighbour n = { 200, 400, 3, 3, 7 };
		struct sim s;
		int ids[2];
		double t0, took = -1, tail = 0, before = 0, derate = 1;
		int64_t f0;

		steady_host(&s, 24 * GiB, 4, 256 * MiB);
		neighbour_for(&s, &n, 180);
		sim_run(&s, after[i]);
		window_start(&s);
		add_guests(&s, 2, 512 * MiB, 9, ids);
		t0 = s.t;
		while (took < 0 && s.t - t0 < 600) {
			sim_tick(&s);
			if (s.st.probe_tail > 0 || tail > 0)
				derate = fmin(derate, s.d.t.derate);
			tail = fmax(tail, s.st.probe_tail);
			if (regions_merged(&s, ids, 2, 0.9))
				took = s.t - t0;
		}
		if (trace_level())
			printf("two guests of 512 MiB %.0f s after a neighbour stopped: 90%% merged after %.0f s, the wake "
			       "saw %.0f MiB, %u probes; the rest of the second visit %.0f pages, the derate at least "
			       "%.2f\n", after[i], took, s.last_wake_bytes / MiB, s.probes, tail, derate);
		/* the guests' own wake, the one probe, which saw part of them */
		assert_int_equal(s.probes, 1);
		assert_true(s.last_wake_t >= t0 && s.last_wake_bytes < 0.75 * GiB);
		assert_true(derate >= 1);
		assert_true(took > 0 && took <= 10);
		/* the rest is still there at the 90% mark; it shrinks as its
		 * second visits go by, and none is left once the controller
		 * sees the next full scan */
		tail = s.st.probe_tail;
		assert_true(tail > 0);
		f0 = s.st.prev_full_scans;
		sim_tick(&s);
		assert_true(s.st.probe_tail < tail);
		for (t0 = s.t; s.st.prev_full_scans == f0 && s.t - t0 < 600;) {
			before = s.st.probe_tail;
			sim_tick(&s);
		}
		assert_true(s.st.prev_full_scans != f0);
		assert_true(before > 0 && s.st.probe_tail == 0);
	}
}

/* Memory that cannot merge (unique pages, marked mergeable) costs what it
 * takes to see it twice, and no more: a pass up to its first visit, its
 * first visit, a pass up to its second visit, and its second visit, cut
 * short once two thirds of it settled in the unstable tree with nothing
 * merged. */
static void test_unmergeable_arrival_costs_two_visits(void **state)
{
	struct sim host, s;
	double r, n, cost, scanned, two_visits;

	(void)state;
	steady_host(&host, 24 * GiB, 4, 256 * MiB);
	r = host.st.pass_len;
	n = 2 * GiB / PAGE;
	cost = probe_cost(&host, arrive_unmergeable, &s);
	scanned = s.p.pages_scanned - s.win_scanned0;
	two_visits = 2 * (r + n) * s.p.cost_visit + 2 * n * s.p.cost_work;
	if (trace_level())
		printf("unmergeable 2 GiB on %.0f pages a pass: %.2f s of ksmd CPU in %.0f s (two whole visits: %.2f "
		       "s), %.0f pages scanned (%.2f passes and %.2f of the new memory), %u probes, reason %s\n",
		       r, cost, s.t - s.win_t0, two_visits, scanned, 2.0, (scanned - 2 * r) / n, s.probes,
		       ctl_reason_name(s.d.reason));
	assert_int_equal(s.probes, 1);
	assert_true(cost <= 1.1 * two_visits);
	/* the new memory not seen twice whole: two thirds of its second
	 * visit, and what a tick adds */
	assert_true(scanned <= 2 * r + 1.8 * n);
	assert_true(scanned >= 2 * r + 1.5 * n);
	assert_int_equal(s.d.mode, CTL_MODE_IDLE);
}

/* Memory nobody marked mergeable is seen as such after two full scans (the
 * pass in progress, when it would have been put behind the cursor, and the
 * next one) that end after the interval in which it stopped growing: at
 * most two passes of the older memory, or that interval. */
static void test_unmarked_arrival_costs_two_passes(void **state)
{
	struct sim host, s;
	double r, cost;

	(void)state;
	steady_host(&host, 24 * GiB, 4, 256 * MiB);
	r = host.st.pass_len;
	cost = probe_cost(&host, arrive_unmarked, &s);
	if (trace_level())
		printf("unmarked 1 GiB: %.2f s of ksmd CPU (a pass: %.2f s), %u probes\n", cost, r * s.p.cost_visit,
		       s.probes);
	assert_int_equal(s.probes, 1);
	/* and the interval after the memory stopped growing, at the burst:
	 * memory that is filled first is marked in it */
	assert_true(cost <= 2.1 * r * s.p.cost_visit + s.cfg.max_cpu_burst / 100 * (double)s.cfg.interval_ms / 1000);
	assert_int_equal(s.d.mode, CTL_MODE_IDLE);
}

/* The same under noise of 0.3% of MemTotal, white, on MemAvailable and
 * AnonPages: noise is not memory still arriving, so it does not hold the
 * probe open past the two passes. */
static void test_unmarked_arrival_under_noise(void **state)
{
	struct sim host, s;
	double r, cost;

	(void)state;
	steady_host(&host, 24 * GiB, 4, 256 * MiB);
	plant_set_noise(&host.p, 0.003 * host.p.mem_total, 0.003 * host.p.mem_total, 0, 7);
	sim_run(&host, HOUR);
	r = host.st.pass_len;
	cost = probe_cost(&host, arrive_unmarked, &s);
	if (trace_level())
		printf("unmarked 1 GiB under noise: %.2f s of ksmd CPU (a pass: %.2f s), %u probes\n", cost,
		       r * s.p.cost_visit, s.probes);
	assert_int_equal(s.probes, 1);
	assert_true(cost <= 2.1 * r * s.p.cost_visit + s.cfg.max_cpu_burst / 100 * (double)s.cfg.interval_ms / 1000);
}

/* Guests that fill their memory before they mark it mergeable (as
 * tests/workload.c does, and any program that calls madvise() or prctl()
 * once its heap is built): for a few seconds the arrival is memory KSM does
 * not see, and the passes over the older memory are short. The probe
 * counts its two passes from where the memory stopped growing, so it is
 * still open when KSM takes the guests in. On the real kernel, counting
 * them from the opening closed the probe as "not KSM's" before the
 * madvise, and the guests waited for the idle rate's pass (>89 s). */
static double filled_then_marked(double fill_s)
{
	struct sim s;
	int priv[32], ids[4], n = (int)fill_s;
	double took;

	assert_true(n >= 1 && n <= 32);
	sim_init(&s, 24 * GiB, 4 * GiB); /* below the 20% setpoint */
	plant_add(&s.p, REGION_VOLATILE, 0, 512 * MiB); /* short passes */
	sim_run(&s, 120);
	/* 1 GiB written at an even pace, a slice a second */
	for (int i = 0; i < n; i++) {
		priv[i] = plant_add(&s.p, REGION_PRIVATE, 0, 1 * GiB / n);
		sim_run(&s, 1);
	}
	for (int i = 0; i < n; i++)
		plant_remove(&s.p, priv[i]);
	add_guests(&s, 4, 256 * MiB, 1, ids);
	window_start(&s);
	took = sim_until_regions(&s, ids, 4, 0.9, 600);
	if (trace_level())
		printf("filled in %.0f s, then marked: 90%% merged %.1f s after, %u probes, %.2f s of ksmd CPU\n", fill_s,
		       took, s.probes, window_cpu(&s));
	return took;
}

static void test_arrival_marked_once_filled(void **state)
{
	double took;

	(void)state;
	took = filled_then_marked(4);
	assert_true(took > 0 && took <= 8);
	took = filled_then_marked(12);
	assert_true(took > 0 && took <= 8);
}

/* Memory that arrives while the daemon still learns the noise (its first
 * 30 s) is an arrival, not noise: the slow mean jumps to it. Else the
 * distance to the slow mean, left behind, is learned as noise (124 MiB
 * here, for minutes), and a guest that arrives later, smaller than three
 * times that, is taken for noise and left to the idle scan. As in the
 * benchmark, where 512 MiB of unmergeable memory arrive 20 s after the
 * start. */
static void test_arrival_while_learning_is_not_noise(void **state)
{
	struct sim s;
	int id;
	double t0, took;

	(void)state;
	sim_init(&s, 24 * GiB, 4 * GiB);
	sim_run(&s, 20);
	plant_add(&s.p, REGION_VOLATILE, 0, 512 * MiB);
	sim_run(&s, 120);
	t0 = s.t;
	id = add_guest(&s, 256 * MiB, 9);
	window_start(&s);
	took = sim_until_regions(&s, &id, 1, 0.9, 600);
	if (trace_level())
		printf("a guest 120 s after an arrival while learning: woke after %.0f s, 90%% merged after %.1f s; "
		       "anon noise %.1f MiB\n",
		       s.probes ? s.last_wake_t - t0 : -1, took, s.st.anon.noise / MiB);
	assert_true(s.probes >= 1);
	assert_int_equal(s.last_wake, CTL_WAKE_ANON_GROWTH);
	assert_true(s.last_wake_t - t0 <= (double)s.cfg.idle_interval_ms / 1000.0);
	assert_true(took > 0 && took <= 10);
	/* nor is the guest: the low level claims what the level saw, and
	 * learns no noise from its climb to it (1.7 MiB; 8.7 MiB when it took
	 * the guest for another arrival) */
	assert_true(s.st.anon.noise <= 4 * MiB);
}

/* Memory the daemon finds at its start that nobody marked mergeable (other
 * processes: 6 GiB here) closes the start probe after two passes, beside a
 * first guest that merges, but did not arrive: it is not a swing to learn
 * as noise. Taken as one, it set a floor of 1 GiB under the noise, and a
 * guest a minute later, smaller than three times that, was left to the
 * idle scan (159 s for a 128 MiB guest, 600 s and more for 1 GiB on a host
 * of 256 GiB). */
static void test_memory_at_start_is_not_noise(void **state)
{
	struct sim s;
	int id;
	double t0, took;

	(void)state;
	sim_init(&s, 24 * GiB, 4 * GiB);
	plant_add(&s.p, REGION_PRIVATE, 0, 6 * GiB);
	sim_run(&s, 5);
	add_guest(&s, 256 * MiB, 1);
	sim_run(&s, 55);
	t0 = s.t;
	id = add_guest(&s, 256 * MiB, 9);
	took = sim_until_regions(&s, &id, 1, 0.9, 600);
	if (trace_level())
		printf("a guest a minute after a start beside 6 GiB of other memory: woke after %.0f s, 90%% merged "
		       "after %.1f s; anon noise %.1f MiB\n",
		       s.last_wake_t - t0, took, s.st.anon.noise / MiB);
	assert_int_equal(s.last_wake, CTL_WAKE_ANON_GROWTH);
	assert_true(s.last_wake_t - t0 <= (double)s.cfg.idle_interval_ms / 1000.0);
	assert_true(took > 0 && took <= 10);
}

/* Where the COW tests begin: four guests of 256 MiB, merged and then
 * settled for ten minutes, with churn_loss set. */
static void merged_guests(struct sim *s, double churn_loss, int ids[4])
{
	sim_init(s, 24 * GiB, 3.5 * GiB);
	s->cfg.churn_loss = churn_loss;
	add_guests(s, 4, 256 * MiB, 1, ids);
	assert_true(sim_until_merged(s, 0.99, 600) > 0);
	sim_run(s, 600);
}

/* Each of those guests breaks this many of its merged pages a second
 * from now on (their content comes back). */
static void start_cow(struct sim *s, const int ids[4], double pages_each)
{
	for (int i = 0; i < 4; i++)
		plant_set_cow(&s->p, ids[i], pages_each, true);
}

/* Merged pages broken by writes at a steady rate (their content comes
 * back): re-merging them is priced, between the idle rate and the cap,
 * not chased with probes. The saving holds to churn_loss, and a smaller
 * loss is bought with more scanning: at 5% and at the default 2%, 94.2%
 * and 98.2% of the merged pages stay merged, for 0.52% and 1.47% of a
 * core. */
static void test_cow_churn_is_priced(void **state)
{
	const double losses[] = { 5, 2 };
	double cpu[2];

	(void)state;
	for (unsigned l = 0; l < 2; l++) {
		struct sim s;
		int ids[4];
		double saved = 0;

		merged_guests(&s, losses[l], ids);
		start_cow(&s, ids, 100);
		sim_run(&s, 600);
		window_start(&s);
		for (int i = 0; i < 3600; i++) {
			sim_run(&s, 1);
			saved += plant_merged(&s.p) / plant_mergeable(&s.p);
		}
		saved /= 3600;
		cpu[l] = window_cpu_share(&s);
		if (trace_level())
			printf("cow churn 400 pages/s, churn_loss %.0f%%: ksmd %.2f%%, %.1f%% merged on average, %u probes, "
			       "%u reversals, %u writes, reason %s\n",
			       losses[l], cpu[l] * 100, saved * 100, s.probes, s.reversals, s.writes,
			       ctl_reason_name(s.d.reason));
		assert_int_equal(s.probes, 0);
		assert_int_equal(s.d.reason, CTL_R_CHURN);
		/* at most churn_loss of the merged pages wait to merge again,
		 * and the rest of the mergeable pages, a percent */
		assert_true(saved >= 1 - losses[l] / 100 - 0.01);
		assert_true(cpu[l] > 3 * s.d.t.rate_idle * s.p.cost_visit);
		/* the rate asked for is inversely proportional to the loss */
		assert_true(cpu[l] < 0.0004 / (losses[l] / 100));
		assert_true(s.reversals <= 2);
	}
	assert_true(cpu[1] > 1.5 * cpu[0]);
}

/* COW churn that begins beside merged guests, at 20% and 50% of the
 * merged pages a minute, just after a read of cow_ksm while ksmd idles: the
 * rate that keeps the broken pages to churn_loss is reached within seconds,
 * without overshooting it: at least 96.9% and 93.4% merged (the default
 * churn_loss of 2%), no reversal. Measured over a minute that still
 * counted the quiet before, the break rate reached 63% of itself after a
 * minute, and the merged share fell to 93.7% and 90.4% before the scan
 * caught up (89.5% and 84.3% with a churn_loss of 5%); with the breaks of the next
 * read (10 s of them) taken over the last sample's 2 s, the rate overshot
 * and came back down. */
static void test_cow_churn_onset_keeps_the_saving(void **state)
{
	const double rates[] = { 0.2, 0.5 }, lows[] = { 0.95, 0.925 };

	(void)state;
	for (unsigned r = 0; r < 2; r++) {
		struct sim s;
		int ids[4];
		double low = 1, merged;

		merged_guests(&s, 2, ids);
		/* the writes begin just after a read of cow_ksm: the next one,
		 * SAMPLE_QUIET_MS later, counts all their breaks since */
		while (s.cow_next_t - s.t < SAMPLE_QUIET_MS / 1000.0 - 2.5)
			sim_tick(&s);
		merged = plant_merged(&s.p);
		start_cow(&s, ids, rates[r] * plant_mergeable(&s.p) / 4 / 60);
		window_start(&s);
		for (int i = 0; i < 300; i++) {
			sim_run(&s, 1);
			low = fmin(low, plant_merged(&s.p) / merged);
		}
		if (trace_level())
			printf("cow churn of %.0f%% a minute from its start: at least %.1f%% merged, ksmd %.2f%%, "
			       "%u reversals\n", rates[r] * 100, low * 100, window_cpu_share(&s) * 100, s.reversals);
		/* the loss of the steady state (churn_loss), and the breaks of
		 * the seconds it takes to measure their rate */
		assert_true(low >= lows[r]);
		assert_int_equal(s.reversals, 0);
	}
}

/* COW churn from its start, at 5%, 20% and 50% of the merged pages a
 * minute: a broken page is a private copy at once but counts as merged
 * until ksmd visits it again, so anonymous memory seems to grow by the
 * breaks not visited yet. Taken out, the churn wakes no probe and keeps
 * the knobs still. The unvisited breaks are the most where the scan is
 * slowest: with a churn_loss of 20%, taken for memory that arrived, they
 * woke two to four probes in the 10 minutes and three to seven reversals
 * (the default 2% visits them before they add up to a wake, with or
 * without the correction). */
static void test_cow_churn_wakes_nothing(void **state)
{
	const double rates[] = { 0.05, 0.2, 0.5 }, losses[] = { 2, 20 };

	(void)state;
	for (unsigned k = 0; k < 6; k++) {
		unsigned r = k % 3;
		struct sim s;
		int ids[4];
		unsigned probes, reversals;

		merged_guests(&s, losses[k / 3], ids);
		start_cow(&s, ids, rates[r] * plant_mergeable(&s.p) / 4 / 60);
		window_start(&s);
		probes = s.probes;
		reversals = s.reversals;
		sim_run(&s, 600);
		if (trace_level())
			printf("cow churn of %.0f%% a minute, churn_loss %.0f%%: %u probes, %u reversals in 10 minutes, "
			       "ksmd %.2f%%\n", rates[r] * 100, losses[k / 3], s.probes - probes, s.reversals - reversals,
			       window_cpu_share(&s) * 100);
		assert_int_equal(s.probes, probes);
		assert_true(s.reversals - reversals <= 1);
	}
}

/* ksmd's cost a page jitters with the load of the host (here +-25% from
 * one second to the next) while a big arrival merges at the CPU cap: the
 * knobs follow the trend, not each measurement back and forth. */
static void test_cost_jitter_does_not_flap(void **state)
{
	struct sim s;
	uint64_t rng = 3;
	unsigned rev0, writes0;
	double t0;

	(void)state;
	sim_init(&s, 24 * GiB, 2 * GiB);
	add_guests(&s, 16, 1 * GiB, 1, NULL);
	sim_run(&s, 30);
	rev0 = s.reversals;
	writes0 = s.writes;
	t0 = s.t;
	while (s.t - t0 < 600) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		s.p.cost_visit = 1.2e-6 * (0.75 + 0.5 * (double)(rng >> 11) / 9007199254740992.0);
		sim_tick(&s);
	}
	if (trace_level())
		printf("cost jitter: %u writes, %u reversals in 600 s, reason %s, %.0f%% merged\n", s.writes - writes0,
		       s.reversals - rev0, ctl_reason_name(s.d.reason), 100 * plant_merged(&s.p) / plant_mergeable(&s.p));
	/* at most one reversal a minute */
	assert_true(s.reversals - rev0 <= 10);
}

/* Volatile pages that dominate what KSM tracks back scanning off: with
 * smart_scan off, 2 GiB of them beside 128 MiB whose pages writes break,
 * re-merging those is not worth checksumming the 2 GiB faster. */
static void test_volatile_share_derates(void **state)
{
	struct sim s;
	int id;

	(void)state;
	sim_init(&s, 24 * GiB, 3.5 * GiB);
	s.p.smart_scan = false;
	id = plant_add(&s.p, REGION_MERGEABLE, 1, 128 * MiB);
	assert_true(sim_until_merged(&s, 0.99, 600) > 0);
	plant_add(&s.p, REGION_VOLATILE, 0, 2 * GiB);
	plant_set_cow(&s.p, id, 30, true);
	sim_run(&s, 1800);
	window_start(&s);
	sim_run(&s, HOUR);
	if (trace_level())
		printf("volatile: churn %.2f, derate %.2f, b_churn %.2f, ksmd %.2f%% (idle rate %.0f/s), reason %s\n",
		       s.d.t.churn, s.d.t.derate, s.d.t.b_churn, window_cpu_share(&s) * 100, s.d.t.rate_idle,
		       ctl_reason_name(s.d.reason));
	assert_true(s.d.t.churn > 0.9);
	assert_true(s.d.t.derate < 0.25);
	assert_true(s.d.t.b_churn > 0.02);
	assert_int_equal(s.d.reason, CTL_R_CHURN);
	/* about the idle rate, at the working cost of volatile pages */
	assert_true(window_cpu_share(&s) < 1.5 * s.d.t.rate_idle * (s.p.cost_visit + s.p.cost_work));
}

/* ---- 5. price: PID where it belongs ----------------------------------------------------- */

/* Pressure while nothing is worth merging does not wind the integral up:
 * the next arrival is priced at the pressure there is, not at a stale full
 * effort. */
static void test_no_windup_while_idle(void **state)
{
	struct sim s;
	double i0;

	(void)state;
	/* 1% of MemTotal short: P = 0.1 */
	steady_host(&s, 24 * GiB, 2, 256 * MiB);
	spare_memory(&s, -0.01);
	sim_run(&s, 600);
	i0 = s.d.t.i;
	sim_run(&s, 2 * HOUR);
	assert_true(s.d.t.error > 0.005 && s.d.t.error < 0.02);
	/* two hours short with nothing to merge: the integral did not move
	 * (ki 0.5 at 1% short would have wound it up by 0.005 a second) */
	assert_true(fabs(s.d.t.i - i0) < 0.001);
	add_guests(&s, 2, 128 * MiB, 7, NULL);
	while (s.d.wake == CTL_WAKE_NONE)
		sim_tick(&s);
	if (trace_level())
		printf("windup: u=%.2f (P %.2f I %.2f, %.2f two hours before) at the probe\n", s.d.t.u, s.d.t.p,
		       s.d.t.i, i0);
	assert_true(s.d.t.u < 0.4);
}

/* Long saturation does not wind up either. */
static void test_no_windup(void **state)
{
	struct sim s;
	double t0, integ;

	(void)state;
	sim_init(&s, 24 * GiB, 1 * GiB); /* deep pressure */
	add_guests(&s, 4, 256 * MiB, 1, NULL);
	sim_run(&s, 6 * HOUR * scale());
	/* P saturates u from the first samples: the integral stays where it
	 * was then (it would reach its clamp, 1, in seconds at 16% short) */
	integ = s.st.integ;
	assert_true(integ < 0.1);
	s.p.base_available = 16 * GiB;
	t0 = s.t;
	while (s.d.t.u > 0.01 && s.t - t0 < 600)
		sim_tick(&s);
	if (trace_level())
		printf("windup: integral %.3f after 6 h saturated; u fell to %.3f %.0f s after the release\n", integ,
		       s.d.t.u, s.t - t0);
	/* (u falls within seconds even from a wound-up integral: P is -4.7
	 * there; what windup does shows when pressure comes back) */
	/* and pressure coming back finds a fresh integral, not a stale one */
	s.p.base_available = 4.7 * GiB;
	sim_run(&s, 4);
	assert_true(s.d.t.i < 0.5);
}

/* Only a fall of MemAvailable raises effort: a rise (merging, or memory
 * given back) gives no derivative term. */
static void test_derivative_only_on_falls(void **state)
{
	struct sim s;
	double dmax = 0;

	(void)state;
	steady_host(&s, 24 * GiB, 2, 256 * MiB);
	s.p.base_available -= 1 * GiB;
	sim_run(&s, 60);
	assert_true(s.d.t.error > 0);
	s.p.base_available += 0.6 * GiB; /* a rise, still short */
	for (int i = 0; i < 60; i++) {
		sim_tick(&s);
		if (s.d.t.d > dmax)
			dmax = s.d.t.d;
	}
	assert_true(s.d.t.error > 0);
	assert_true(dmax < 1e-9);
	s.p.base_available -= 1 * GiB; /* a fall */
	sim_tick(&s);
	sim_tick(&s);
	assert_true(s.d.t.d > 0.05);
}

/* Pressure released: KSM is stopped after stop_delay; merged pages stay. */
static void test_released_pressure_stops_ksm(void **state)
{
	struct sim s;
	double t_release, merged;

	(void)state;
	sim_init(&s, 24 * GiB, 4 * GiB);
	add_guests(&s, 2, 256 * MiB, 1, NULL);
	assert_true(sim_until_merged(&s, 0.9, 600) > 0);
	s.p.base_available = 16 * GiB; /* pressure gone */
	t_release = s.t;
	while (s.p.run == 1 && s.t - t_release < 3600)
		sim_tick(&s);
	assert_int_equal(s.p.run, 0);
	assert_true(s.t - t_release >= (double)s.cfg.stop_delay_ms / 1000.0);
	assert_true(s.t - t_release <=
		    (double)s.cfg.stop_delay_ms / 1000.0 + 2 * (double)s.cfg.idle_interval_ms / 1000.0);
	merged = plant_merged(&s.p);
	sim_run(&s, 600);
	assert_int_equal(s.p.run, 0);
	assert_true(plant_merged(&s.p) >= merged); /* run=0 keeps them merged */
	assert_int_equal(s.d.mode, CTL_MODE_STOPPED);
	/* pressure back: KSM starts again within one idle interval */
	s.p.base_available = 4 * GiB;
	sim_tick(&s);
	assert_int_equal(s.p.run, 1);
}

/* ---- 6. new memory, however it shows -------------------------------------------------- */

/* An arrival of 256 MiB on an idle 24 GiB host is noticed at the next
 * sample, within idle_interval (2 s). */
static void test_noticed_within_idle_interval(void **state)
{
	struct sim s;
	double t0;

	(void)state;
	steady_host(&s, 24 * GiB, 4, 256 * MiB);
	assert_int_equal(s.d.mode, CTL_MODE_IDLE);
	window_start(&s);
	sim_run(&s, 600);
	/* idle: one sample per idle_interval */
	assert_true(s.ticks <= 600 / ((double)s.cfg.idle_interval_ms / 1000.0) + 1);
	t0 = s.t;
	add_guest(&s, 256 * MiB, 9);
	window_start(&s);
	while (s.probes == 0 && s.t - t0 < 60)
		sim_tick(&s);
	assert_int_equal(s.last_wake, CTL_WAKE_ANON_GROWTH);
	assert_true(s.last_wake_t - t0 <= (double)s.cfg.idle_interval_ms / 1000.0);
	/* on a quiet host the level itself sees the guest, whole */
	assert_string_equal(s.last_signal, "level");
	assert_true(s.last_wake_bytes >= 0.9 * 256 * MiB && s.last_wake_bytes <= 1.1 * 256 * MiB);
}

/* Without AnonPages (it is not given), the idle scan's first visit of new
 * memory shows as rmap growth, and the second visit is not left to it. */
static void test_rmap_growth_wakes(void **state)
{
	struct sim s;
	int ids[2];
	double took, pass;

	(void)state;
	sim_init(&s, 24 * GiB, 3.5 * GiB);
	s.p.has_anon = false;
	add_guests(&s, 4, 256 * MiB, 1, NULL);
	assert_true(sim_until_merged(&s, 0.99, 600) > 0);
	sim_run(&s, 2 * HOUR);
	assert_int_equal(s.d.mode, CTL_MODE_IDLE);
	pass = plant_rmap(&s.p) / s.d.t.rate_idle;
	add_guests(&s, 2, 256 * MiB, 9, ids);
	window_start(&s);
	took = sim_until_regions(&s, ids, 2, 0.9, 4 * HOUR);
	if (trace_level())
		printf("rmap growth: merged after %.0f s (an idle pass: %.0f s); wake %s\n", took, pass,
		       ctl_wake_name(s.last_wake));
	assert_int_equal(s.last_wake, CTL_WAKE_RMAP_GROWTH);
	assert_true(took > 0 && took <= 1.3 * pass);
}

/* Two guests of 512 MiB (old: their ids) and two of 256 MiB, merged. */
static void guests_to_replace(struct sim *s, int old[2])
{
	sim_init(s, 24 * GiB, 3.5 * GiB);
	add_guests(s, 2, 512 * MiB, 1, old);
	add_guests(s, 2, 256 * MiB, 3, NULL);
	assert_true(sim_until_merged(s, 0.99, 600) > 0);
}

/* Guests that left free their rmap items: the memory known to KSM shrinks,
 * so that guests arriving later in their place are seen at once. */
static void test_replacement_after_departure(void **state)
{
	struct sim s;
	int old[2], ids[2];
	double took;

	(void)state;
	guests_to_replace(&s, old);
	sim_run(&s, HOUR);
	for (int i = 0; i < 2; i++)
		plant_remove(&s.p, old[i]);
	/* memory that left is counted once: as merged pages when their KSM
	 * pages went, then not again when their rmap items are freed */
	window_start(&s);
	sim_run(&s, 1800);
	assert_int_equal(s.probes, 0);
	add_guests(&s, 2, 384 * MiB, 7, ids);
	window_start(&s);
	took = sim_until_regions(&s, ids, 2, 0.9, 4 * HOUR);
	if (trace_level())
		printf("replacement: merged after %.0f s, wake %s\n", took, ctl_wake_name(s.last_wake));
	assert_int_equal(s.last_wake, CTL_WAKE_ANON_GROWTH);
	assert_true(took > 0 && took <= 20);
}

/* Writes break every merged page of two guests for an hour, for good (the
 * pages do not come back): each broken page leaves pages_sharing when ksmd
 * visits it again, and stays tracked. Then the guests
 * leave, and guests of half their size arrive half an hour later: the
 * known level came down with the memory that left, counted once, and the
 * newcomers are seen. (Guests of a quarter of the size are not: the
 * churn's broken pages raised the known level; the idle scan finds them
 * after 254 s.) */
static void test_replacement_after_churn(void **state)
{
	struct sim s;
	int old[2], ids[2];
	double took;

	(void)state;
	guests_to_replace(&s, old);
	sim_run(&s, 600);
	for (int i = 0; i < 2; i++)
		plant_set_cow(&s.p, old[i], 100, false);
	window_start(&s);
	sim_run(&s, HOUR);
	/* two small probes of what the broken pages add, as many as without
	 * the merged pages that left: those sink no level */
	assert_true(s.probes <= 2);
	for (int i = 0; i < 2; i++)
		plant_remove(&s.p, old[i]);
	window_start(&s);
	sim_run(&s, 1800);
	assert_int_equal(s.probes, 0);
	add_guests(&s, 2, 256 * MiB, 7, ids);
	took = sim_until_regions(&s, ids, 2, 0.9, 4 * HOUR);
	if (trace_level())
		printf("replacement after churn: merged after %.0f s, wake %s\n", took, ctl_wake_name(s.last_wake));
	assert_true(took > 0 && took <= 20);
}

/* A replacement of guests that fill their memory, then mark it: the old
 * guests' mergeable memory (614 MiB) leaves 2 s into the new ones' fill.
 * That fall is KSM's memory leaving (its rmap items go as ksmd comes to
 * them), taken off the probe's highest level: the rest of the fill still
 * counts as memory arriving, and the probe waits for the marking. */
static void test_replacement_filled_then_marked(void **state)
{
	struct sim s;
	int old[2], priv[12], ids[2];
	double took;

	(void)state;
	guests_to_replace(&s, old);
	sim_run(&s, HOUR);
	window_start(&s);
	for (int i = 0; i < 12; i++) {
		priv[i] = plant_add(&s.p, REGION_PRIVATE, 0, 1 * GiB / 12);
		if (i == 2)
			for (int j = 0; j < 2; j++)
				plant_remove(&s.p, old[j]);
		sim_run(&s, 1);
	}
	for (int i = 0; i < 12; i++)
		plant_remove(&s.p, priv[i]);
	add_guests(&s, 2, 512 * MiB, 7, ids);
	took = sim_until_regions(&s, ids, 2, 0.9, 600);
	if (trace_level())
		printf("replacement filled then marked: 90%% merged %.1f s after, %u probes, %.2f s of ksmd CPU\n", took,
		       s.probes, window_cpu(&s));
	assert_int_equal(s.probes, 1);
	assert_true(took > 0 && took <= 8);
}

/* Two guests booted from one new image arrive together: half of each one's
 * pages are unique, the other half the same as the other guest's. The first
 * guest's second visit settles half the new pages in the unstable tree
 * before the second guest's merges its twins: that is not memory that will
 * not merge. */
static void test_twin_guests_merge(void **state)
{
	struct sim s;
	int ids[2];
	double took;

	(void)state;
	steady_host(&s, 24 * GiB, 2, 512 * MiB);
	for (int i = 0; i < 2; i++) {
		ids[i] = plant_add(&s.p, REGION_TWIN, 20, 400 * MiB);
		plant_add(&s.p, REGION_UNIQUE, 0, 400 * MiB);
	}
	window_start(&s);
	took = sim_until_regions(&s, ids, 2, 0.9, 4 * HOUR);
	if (trace_level())
		printf("twin guests: 90%% merged after %.0f s, %u probes\n", took, s.probes);
	assert_true(took > 0 && took <= 30);
}

/* Guests swapped in one interval (MemAvailable unchanged) are noticed. */
static void test_swap_of_guests_is_noticed(void **state)
{
	struct sim s;
	int ids[3], nid;
	double took;

	(void)state;
	sim_init(&s, 24 * GiB, 4 * GiB);
	ids[0] = plant_add(&s.p, REGION_MERGEABLE, 1, 600 * MiB);
	ids[1] = plant_add(&s.p, REGION_UNIQUE, 0, 200 * MiB);
	ids[2] = plant_add(&s.p, REGION_MERGEABLE, 2, 600 * MiB);
	assert_true(sim_until_merged(&s, 0.99, 600) > 0);
	sim_run(&s, 1800);
	assert_int_equal(s.d.mode, CTL_MODE_IDLE);
	plant_remove(&s.p, ids[2]);
	nid = plant_add(&s.p, REGION_MERGEABLE, 7, 600 * MiB);
	took = sim_until_regions(&s, &nid, 1, 0.9, 3600);
	if (trace_level())
		printf("swap: 90%% merged after %.0f s\n", took);
	assert_true(took > 0 && took <= 20);
}

/* Guests swapped in one interval while ksmd's cursor is deep in a big
 * region: the leaver's rmap items go only when the cursor gets there, minutes
 * away at the idle rate, but its KSM pages were its own, so pages_sharing
 * falls at once. That fall, which no copy-on-write break explains, is memory
 * that left: the newcomer is seen at the next sample, not when ksmd tears the
 * leaver down. Returns the seconds until the newcomer merged, MemAvailable
 * put short_by of MemTotal below the setpoint after the swap (0: as it is,
 * 2.5% below). */
static double swap_before_teardown(double short_by)
{
	struct sim s;
	int big, old, nid, bi = -1;
	double took;

	sim_init(&s, 24 * GiB, 10 * GiB);
	big = plant_add(&s.p, REGION_UNIQUE, 0, 6 * GiB);
	add_guests(&s, 2, 400 * MiB, 1, NULL);
	old = plant_add(&s.p, REGION_MERGEABLE, 5, 600 * MiB);
	assert_true(sim_until_merged(&s, 0.99, 1800) > 0);
	sim_run(&s, 1800);
	assert_int_equal(s.d.mode, CTL_MODE_IDLE);
	for (int i = 0; i < PLANT_MAX_REGIONS; i++)
		if (s.p.r[i].live && s.p.r[i].id == big)
			bi = i;
	/* wait for the cursor to enter the big region */
	for (int n = 0; n < 100000 && !(s.p.order[s.p.cur] == bi && s.p.cur_chunk < 2); n++)
		sim_tick(&s);
	assert_int_equal(s.p.order[s.p.cur], bi);
	plant_remove(&s.p, old);
	nid = plant_add(&s.p, REGION_MERGEABLE, 7, 600 * MiB);
	if (short_by > 0)
		spare_memory(&s, -short_by);
	took = sim_until_regions(&s, &nid, 1, 0.9, 3600);
	if (trace_level())
		printf("swap before teardown, %s: 90%% merged after %.0f s, wake %s\n",
		       short_by > 0 ? "memory put a little short" : "memory as it is", took, ctl_wake_name(s.last_wake));
	return took;
}

/* The same swap with memory a little short (0.4% of MemTotal): the probe
 * runs below the cap, so that the leaver's rmap items are freed while it
 * runs, and must not be taken for first visits undone (16 s; 44 s when
 * they were, the probe waiting two full scans for first visits it had
 * already seen). */
static void test_swap_seen_before_teardown(void **state)
{
	double took;

	(void)state;
	took = swap_before_teardown(0);
	assert_true(took > 0 && took <= 15);
	took = swap_before_teardown(0.004);
	assert_true(took > 0 && took <= 25);
}

/* Guests swapped beside processes whose pages smart_scan skips: those
 * come back all together every few passes (they failed together, they age
 * together), so one pass may be several times the last. The newcomer is
 * first visited after the pass in progress ends, however long it is: a
 * probe that took the last pass's length for "a pass without first visits"
 * closed before it got there. The swap is tried at each phase of the
 * skipped pages' return. */
static void test_swap_beside_skipped_pages(void **state)
{
	struct sim host, s;
	int old[2];
	double worst = 0;

	(void)state;
	sim_init(&host, 24 * GiB, 4 * GiB);
	add_guests(&host, 2, 512 * MiB, 1, NULL);
	plant_add(&host.p, REGION_VOLATILE, 0, 1 * GiB);
	plant_add(&host.p, REGION_UNIQUE, 0, 1 * GiB);
	old[0] = plant_add(&host.p, REGION_MERGEABLE, 5, 300 * MiB);
	old[1] = plant_add(&host.p, REGION_UNIQUE, 0, 200 * MiB);
	assert_true(sim_until_merged(&host, 0.99, 1800) > 0);
	sim_run(&host, 1800);
	assert_int_equal(host.d.mode, CTL_MODE_IDLE);
	for (int phase = 0; phase < 8; phase++) {
		uint64_t f0 = host.p.full_scans;
		int nid;
		double took;

		while (host.p.full_scans == f0)
			sim_tick(&host);
		s = host;
		window_start(&s);
		for (int i = 0; i < 2; i++)
			plant_remove(&s.p, old[i]);
		nid = plant_add(&s.p, REGION_MERGEABLE, 7, 300 * MiB);
		plant_add(&s.p, REGION_UNIQUE, 0, 200 * MiB);
		took = sim_until_regions(&s, &nid, 1, 0.9, 3600);
		if (trace_level())
			printf("swap beside skipped pages, phase %d: 90%% merged after %.0f s, %u probes\n", phase, took,
			       s.probes);
		worst = took < 0 || worst < 0 ? -1 : fmax(worst, took);
	}
	assert_true(worst > 0 && worst <= 10);
}

/* On a host whose anonymous memory is noisy (white noise of 0.25% of
 * MemTotal), a guest arrives in two steps a second apart, the second within
 * the noise: the level takes it as known at once, and the low level, on its
 * way up to the guest, must not take it for another arrival (a second step
 * of 100 MiB to 200 MiB woke one to three more probes, two minutes later,
 * for memory merged long before). */
static void test_arrival_tail_within_noise(void **state)
{
	struct sim s;
	int ids[2];

	(void)state;
	sim_init(&s, 24 * GiB, 4 * GiB);
	plant_set_noise(&s.p, 0, 0.0025 * s.p.mem_total, 0, 3);
	sim_run(&s, 20);
	plant_add(&s.p, REGION_UNIQUE, 0, 512 * MiB);
	sim_run(&s, 300);
	window_start(&s);
	ids[0] = plant_add(&s.p, REGION_MERGEABLE, 1, 900 * MiB);
	sim_tick(&s);
	ids[1] = plant_add(&s.p, REGION_MERGEABLE, 1, 150 * MiB);
	assert_true(sim_until_regions(&s, ids, 2, 0.9, 60) > 0);
	sim_run(&s, 600);
	if (trace_level())
		printf("arrival with a tail within the noise (%.0f MiB): %u probes, the last at %.0f s\n",
		       s.st.anon.noise / MiB, s.probes, s.last_wake_t);
	assert_int_equal(s.probes, 1);
}

/* ---- 7. restart without a re-probe ------------------------------------------------------- */

static void restart(struct sim *s, double age)
{
	struct sample smp;
	char buf[2048];
	const char *why;

	plant_sample(&s->p, &smp);
	assert_int_equal(ctl_save(&s->st, &smp, buf, sizeof(buf)), 0);
	ctl_init(&s->st);
	plant_sample(&s->p, &smp);
	assert_int_equal(ctl_restore(&s->st, buf, &smp, age, 600, &why), 0);
	s->started = false;
}

static void test_restart_does_not_probe(void **state)
{
	struct sim s, ref;

	(void)state;
	steady_host(&s, 256 * GiB, 8, 16 * GiB);
	ref = s;
	restart(&s, 3);
	window_start(&s);
	window_start(&ref);
	sim_run(&s, HOUR);
	sim_run(&ref, HOUR);
	if (trace_level())
		printf("restart: %u probes, ksmd %.1f s (without the restart %.1f s)\n", s.probes, window_cpu(&s),
		       window_cpu(&ref));
	assert_int_equal(s.probes, 0);
	assert_true(window_cpu(&s) <= 1.1 * window_cpu(&ref) + 1);
	assert_int_equal(s.d.mode, CTL_MODE_IDLE);
}

/* After a restart the idle scan's cost is learned again: a plain mean of the
 * idle time seen until that is an hour, not the first interval's cost held
 * for an hour, wherever the cursor was. Restarts 8 minutes apart: the hour
 * after each idles at 0.83 to 1.07 times the share without the restart
 * (0.56 at worst with the first interval's cost held). */
static void test_restart_idle_cost_relearned(void **state)
{
	struct sim s, ref;
	double worst = 1e9;

	(void)state;
	steady_host(&s, 1 * TiB, 8, 64 * GiB);
	for (int i = 0; i < 8; i++) {
		struct sim r = s;

		ref = s;
		restart(&r, 3);
		window_start(&r);
		window_start(&ref);
		sim_run(&r, HOUR);
		sim_run(&ref, HOUR);
		if (trace_level())
			printf("restart at +%d min: ksmd %.3f%% in the hour after (without the restart %.3f%%)\n",
			       i * 8, window_cpu_share(&r) * 100, window_cpu_share(&ref) * 100);
		worst = fmin(worst, window_cpu_share(&r) / window_cpu_share(&ref));
		sim_run(&s, 8 * 60);
	}
	assert_true(worst >= 0.75);
}

/* A restart is bumpless in P: its first step takes P from the saved
 * filtered error, as the run without the restart does, not from the error
 * of that sample alone. */
static void test_restart_keeps_filtered_error(void **state)
{
	struct sim s, ref;
	double p_raw;

	(void)state;
	sim_init(&s, 24 * GiB, 3 * GiB);
	sim_run(&s, 300);
	ref = s;
	restart(&s, 1);
	/* MemAvailable falls by 2% of MemTotal before the next sample */
	s.p.base_available -= 0.02 * s.p.mem_total;
	ref.p.base_available -= 0.02 * ref.p.mem_total;
	sim_tick(&s);
	sim_tick(&ref);
	p_raw = s.cfg.kp * s.d.t.error;
	if (trace_level())
		printf("restart: P %.4f, without the restart %.4f, from the raw error %.4f\n", s.d.t.p, ref.d.t.p, p_raw);
	assert_true(fabs(p_raw - ref.d.t.p) > 0.1); /* the step shows in the raw error */
	assert_true(fabs(s.d.t.p - ref.d.t.p) < 0.25 * fabs(p_raw - ref.d.t.p));
}

/* A restart in the middle of a probe goes on with it, priced as before. */
static void test_restart_keeps_probe(void **state)
{
	struct sim s;
	int ids[4];
	double took;

	(void)state;
	sim_init(&s, 24 * GiB, 4 * GiB);
	sim_run(&s, 60);
	add_guests(&s, 4, 256 * MiB, 1, ids);
	sim_run(&s, 2);
	assert_true(s.st.probe.open);
	restart(&s, 1);
	assert_true(s.st.probe.open);
	took = sim_until_regions(&s, ids, 4, 0.9, 600);
	assert_true(took > 0 && took <= 10);
}

/* A state that is stale, from another boot, or not a state is refused. */
static void test_restore_refuses(void **state)
{
	struct sim s;
	struct sample smp;
	struct ctl_state st;
	char buf[2048], bad[2048];
	const char *why;

	(void)state;
	steady_host(&s, 24 * GiB, 2, 256 * MiB);
	plant_sample(&s.p, &smp);
	assert_int_equal(ctl_save(&s.st, &smp, buf, sizeof(buf)), 0);
	ctl_init(&st);
	assert_int_equal(ctl_restore(&st, buf, &smp, 3600, 600, &why), -ESTALE);
	assert_int_equal(ctl_restore(&st, "", &smp, 1, 600, &why), -EINVAL);
	assert_int_equal(ctl_restore(&st, "version=1\nfull_scans=1\n", &smp, 1, 600, &why), -EINVAL);
	/* a cost out of range */
	{
		const char *at = strstr(buf, "\ncost="), *eol = strchr(at + 1, '\n');
		snprintf(bad, sizeof(bad), "%.*s\ncost=5%s", (int)(at - buf), buf, eol);
	}
	assert_int_equal(ctl_restore(&st, bad, &smp, 1, 600, &why), -EINVAL);
	/* the kernel's counters disagree: KSM was reset */
	smp.ksm.v[KSM_FULL_SCANS] = 0;
	assert_int_equal(ctl_restore(&st, buf, &smp, 1, 600, &why), -ESTALE);
	/* nothing was taken from the refused states */
	assert_int_equal(st.run, -1);
	assert_false(st.primed);
}

/* ---- 8. the kernel advisor, old kernels, hidden ksmd ------------------------------------ */

/* kernel_advisor = defer: pages_to_scan belongs to the advisor; only the
 * sleep is written, never refused, and merging and idling still work. Idle,
 * the advisor raises pages_to_scan to its maximum: at the default
 * sleep_ms_max its batch costs more than idle_max_cpu (the case that
 * test_pilot's test_defer_floor_told tells), and a longer sleep_ms_max
 * brings the idle back within it. */
static void test_advisor_defer(void **state)
{
	struct sim s;
	double dflt;

	(void)state;
	sim_init(&s, 24 * GiB, 4 * GiB);
	s.cfg.kernel_advisor = ADVISOR_DEFER;
	s.p.advisor = true;
	s.p.pages_to_scan = 500;
	add_guests(&s, 4, 256 * MiB, 1, NULL);
	assert_true(sim_until_merged(&s, 0.9, 1800) > 0);
	sim_run(&s, HOUR);
	assert_int_equal(s.p.einval_writes, 0);
	assert_false(s.d.set_pages);
	assert_int_equal(s.d.mode, CTL_MODE_IDLE);
	assert_int_equal(s.p.sleep_ms, s.cfg.sleep_ms_max);
	window_start(&s);
	sim_run(&s, HOUR);
	dflt = window_cpu_share(&s);
	s.cfg.sleep_ms_max = 60000;
	sim_run(&s, HOUR);
	window_start(&s);
	sim_run(&s, HOUR);
	if (trace_level())
		printf("defer, idle: ksmd %.2f%% at sleep_ms_max 1000, %.3f%% at 60000 (pages_to_scan %llu)\n",
		       dflt * 100, window_cpu_share(&s) * 100, (unsigned long long)s.p.pages_to_scan);
	assert_true(dflt > s.cfg.idle_max_cpu / 100);
	assert_int_equal(s.d.mode, CTL_MODE_IDLE);
	assert_int_equal(s.p.einval_writes, 0);
	assert_true(window_cpu_share(&s) <= s.cfg.idle_max_cpu / 100);
}

/* Changes of sleep_ms while guests merge under defer, the advisor's batch
 * at 20000 pages or more, with pages_to_scan_max as given. */
static unsigned defer_sleep_writes(uint64_t pages_max)
{
	struct sim s;
	unsigned writes = 0;
	uint64_t last;

	sim_init(&s, 24 * GiB, 0.18 * 24 * GiB);
	s.cfg.kernel_advisor = ADVISOR_DEFER;
	s.cfg.pages_to_scan_max = pages_max;
	s.p.advisor = true;
	s.p.pages_to_scan = 20000;
	s.p.advisor_min_pages = 20000;
	plant_set_noise(&s.p, 0.01 * s.p.mem_total, 0.01 * s.p.mem_total, 60, 42);
	add_guests(&s, 8, 1 * GiB, 1, NULL);
	last = s.p.sleep_ms;
	for (int t = 0; t < 1200; t++) {
		sim_run(&s, 1);
		writes += s.p.sleep_ms != last;
		last = s.p.sleep_ms;
	}
	return writes;
}

/* Under defer the batch is the advisor's: pages_to_scan_max, which it
 * may exceed, must not turn off the knobs' hysteresis on the sleep. */
static void test_advisor_batch_beyond_bounds_keeps_hysteresis(void **state)
{
	unsigned within, beyond;

	(void)state;
	within = defer_sleep_writes(100000);
	beyond = defer_sleep_writes(5000);
	if (trace_level())
		printf("defer, batch 20000-30000: %u sleep writes, %u with pages_to_scan_max 5000\n", within, beyond);
	assert_true(within > 0);
	assert_int_equal(beyond, within);
}

/* Kernels before 6.6 (no pages_scanned), without cow_ksm or AnonPages, and
 * an invisible ksmd still merge and still idle. */
static void test_old_kernel_and_hidden_ksmd(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, 24 * GiB, 4 * GiB);
	s.p.has_pages_scanned = false;
	s.p.smart_scan = false;
	s.p.ksmd_visible = false;
	s.p.has_cow = false;
	s.p.has_anon = false;
	add_guests(&s, 4, 256 * MiB, 1, NULL);
	assert_true(sim_until_merged(&s, 0.9, 600) > 0);
	sim_run(&s, 1800);
	assert_int_equal(s.d.mode, CTL_MODE_IDLE);
	assert_true(s.d.estimated_cpu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arrival_merges_fast),
		cmocka_unit_test(test_arrival_when_little_short),
		cmocka_unit_test(test_guests_one_after_the_other),
		cmocka_unit_test(test_staggered_arrivals),
		cmocka_unit_test(test_trickle_merges_as_it_fills),
		cmocka_unit_test(test_image_arrival_closes_at_first_visit),
		cmocka_unit_test(test_guest_joins_an_open_probe),
		cmocka_unit_test(test_rest_of_a_fill_seen_by_its_probe),
		cmocka_unit_test(test_credit_held_to_the_level),
		cmocka_unit_test(test_no_first_interval_overshoot),
		cmocka_unit_test(test_cpu_cap_holds),
		cmocka_unit_test(test_taper_is_no_cut),
		cmocka_unit_test(test_idle_budget_24g),
		cmocka_unit_test(test_idle_budget_256g),
		cmocka_unit_test(test_idle_budget_1t),
		cmocka_unit_test(test_idle_budget_2t),
		cmocka_unit_test(test_idle_cost_rise_bounded),
		cmocka_unit_test(test_steady_after_busy_course),
		cmocka_unit_test(test_small_arrival_big_host_is_priced),
		cmocka_unit_test(test_fresh_start_big_host_is_priced),
		cmocka_unit_test(test_noise_white_wakes_nothing),
		cmocka_unit_test(test_noise_correlated_wakes_nothing),
		cmocka_unit_test(test_noise_learned_after_early_arrival),
		cmocka_unit_test(test_neighbour_seen_once),
		cmocka_unit_test(test_ramp_neighbour),
		cmocka_unit_test(test_arrival_behind_a_partway_trough),
		cmocka_unit_test(test_arrival_in_a_swing_seen_at_its_fall),
		cmocka_unit_test(test_arrival_in_a_long_burst_seen_as_it_holds),
		cmocka_unit_test(test_neighbour_probe_costs_two_passes),
		cmocka_unit_test(test_neighbour_after_fresh_start),
		cmocka_unit_test(test_arrival_under_noise_probes_once),
		cmocka_unit_test(test_swing_in_two_steps_is_withdrawn_whole),
		cmocka_unit_test(test_small_host_arrivals_cost_passes),
		cmocka_unit_test(test_yield_carries_a_second_visit),
		cmocka_unit_test(test_rest_of_a_second_visit_is_not_churn),
		cmocka_unit_test(test_unmergeable_arrival_costs_two_visits),
		cmocka_unit_test(test_unmarked_arrival_costs_two_passes),
		cmocka_unit_test(test_unmarked_arrival_under_noise),
		cmocka_unit_test(test_arrival_marked_once_filled),
		cmocka_unit_test(test_replacement_filled_then_marked),
		cmocka_unit_test(test_arrival_while_learning_is_not_noise),
		cmocka_unit_test(test_memory_at_start_is_not_noise),
		cmocka_unit_test(test_cow_churn_is_priced),
		cmocka_unit_test(test_cow_churn_wakes_nothing),
		cmocka_unit_test(test_cow_churn_onset_keeps_the_saving),
		cmocka_unit_test(test_cost_jitter_does_not_flap),
		cmocka_unit_test(test_volatile_share_derates),
		cmocka_unit_test(test_no_windup_while_idle),
		cmocka_unit_test(test_no_windup),
		cmocka_unit_test(test_derivative_only_on_falls),
		cmocka_unit_test(test_released_pressure_stops_ksm),
		cmocka_unit_test(test_noticed_within_idle_interval),
		cmocka_unit_test(test_rmap_growth_wakes),
		cmocka_unit_test(test_replacement_after_departure),
		cmocka_unit_test(test_replacement_after_churn),
		cmocka_unit_test(test_twin_guests_merge),
		cmocka_unit_test(test_swap_of_guests_is_noticed),
		cmocka_unit_test(test_swap_seen_before_teardown),
		cmocka_unit_test(test_swap_beside_skipped_pages),
		cmocka_unit_test(test_arrival_tail_within_noise),
		cmocka_unit_test(test_restart_does_not_probe),
		cmocka_unit_test(test_restart_idle_cost_relearned),
		cmocka_unit_test(test_restart_keeps_filtered_error),
		cmocka_unit_test(test_restart_keeps_probe),
		cmocka_unit_test(test_restore_refuses),
		cmocka_unit_test(test_advisor_defer),
		cmocka_unit_test(test_advisor_batch_beyond_bounds_keeps_hysteresis),
		cmocka_unit_test(test_old_kernel_and_hidden_ksmd),
	};

	/* KSMPILOT_TEST=test_name runs one (a glob) */
	if (getenv("KSMPILOT_TEST"))
		cmocka_set_test_filter(getenv("KSMPILOT_TEST"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
