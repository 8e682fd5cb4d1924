/* test_plant.c - the controller in closed loop with the simulated KSM plant
 * (tests/plant.c), through whole scenarios in simulated time.
 *
 * KSMPILOT_TRACE=1 prints one line per simulated minute (or per tick with
 * KSMPILOT_TRACE=2) for tuning. KSMPILOT_TEST_SCALE (default 1) shortens
 * the long scenarios. */
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
#include "plant.h"

#define GiB (1024.0 * 1024 * 1024)
#define MiB (1024.0 * 1024)

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

struct sim {
	struct cfg cfg;
	struct plant p;
	struct ctl_state st;
	struct ctl_decision d;
	double t;
	/* statistics over the current window */
	double win_cpu0, win_t0, win_scanned0;
	unsigned reversals;
	int last_dir;
	double last_rate;
	unsigned over_cap_run, max_over_cap_run;
	unsigned writes;
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
	s->reversals = 0;
	s->last_dir = 0;
	s->max_over_cap_run = 0;
	s->over_cap_run = 0;
}

static double window_cpu_share(const struct sim *s)
{
	return s->t > s->win_t0 ? (s->p.ksmd_cpu - s->win_cpu0) / (s->t - s->win_t0) : 0;
}

static double window_scan_rate(const struct sim *s)
{
	return s->t > s->win_t0 ? (s->p.pages_scanned - s->win_scanned0) / (s->t - s->win_t0) : 0;
}

/* One tick: sample, decide, apply, let the plant run one interval. */
static void sim_tick(struct sim *s)
{
	struct sample smp;
	double dt = (double)s->cfg.interval_ms / 1000.0;
	double cpu0 = s->p.ksmd_cpu, rate;
	uint64_t pages0 = s->p.pages_to_scan, sleep0 = s->p.sleep_ms;
	int run0 = s->p.run;

	plant_sample(&s->p, &smp);
	ctl_step(&s->cfg, &s->st, &smp, s->t == 0 ? 0 : dt, &s->d);
	plant_apply(&s->p, &s->d);
	if (s->p.pages_to_scan != pages0 || s->p.sleep_ms != sleep0 || s->p.run != run0)
		s->writes++;
	plant_advance(&s->p, dt);
	s->t += dt;

	/* direction reversals of the written scan rate */
	rate = s->p.run ? ctl_rate_of(s->p.pages_to_scan, s->p.sleep_ms, 0) : 0;
	if (fabs(rate - s->last_rate) > 1e-9) {
		int dir = rate > s->last_rate ? 1 : -1;
		if (s->last_dir && dir != s->last_dir)
			s->reversals++;
		s->last_dir = dir;
		s->last_rate = rate;
	}
	/* CPU cap: consecutive intervals above it */
	if ((s->p.ksmd_cpu - cpu0) / dt > s->cfg.max_cpu / 100.0 * 1.10) {
		s->over_cap_run++;
		if (s->over_cap_run > s->max_over_cap_run)
			s->max_over_cap_run = s->over_cap_run;
	} else {
		s->over_cap_run = 0;
	}
	if (trace_level() >= 2 || (trace_level() == 1 && fmod(s->t, 60.0) < dt - 1e-9))
		printf("t=%7.0f run=%d p=%5llu s=%4llu rate=%7.0f %-16s u=%.2f b=%.2f e=%+.3f merged=%7.0f/%7.0f "
		       "rmap=%7.0f full=%llu cpu=%.1f%% cost=%.2fus\n",
		       s->t, s->p.run, (unsigned long long)s->p.pages_to_scan, (unsigned long long)s->p.sleep_ms,
		       s->d.rate, ctl_reason_name(s->d.reason), s->d.t.u, s->d.t.benefit, s->d.t.error,
		       plant_merged(&s->p), plant_mergeable(&s->p), plant_rmap(&s->p),
		       (unsigned long long)s->p.full_scans, (s->p.ksmd_cpu - cpu0) / dt * 100, s->d.t.cost_us);
}

static void sim_run(struct sim *s, double seconds)
{
	double end = s->t + seconds;

	while (s->t < end - 1e-9)
		sim_tick(s);
}

/* Run until merged >= frac of mergeable; returns the seconds it took or
 * -1 after limit. */
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

/* 4 processes x 256 MiB: 60% mergeable in 4 patterns, 30% unique, 10% volatile */
static void add_guests(struct sim *s, int procs, int group0)
{
	for (int i = 0; i < procs; i++) {
		plant_add(&s->p, REGION_MERGEABLE, group0 + i % 4, 256 * MiB * 0.6);
		plant_add(&s->p, REGION_UNIQUE, 0, 256 * MiB * 0.3);
		plant_add(&s->p, REGION_VOLATILE, 0, 256 * MiB * 0.1);
	}
}

/* A burst of mergeable memory under pressure is merged. */
static void test_burst_is_merged(void **state)
{
	struct sim s;
	double took;

	(void)state;
	sim_init(&s, 24 * GiB, 4 * GiB); /* below the 20% setpoint */
	sim_run(&s, 10);
	add_guests(&s, 4, 1);
	took = sim_until_merged(&s, 0.9, 600);
	if (trace_level())
		printf("90%% merged after %.0f s\n", took);
	assert_true(took > 0);
	/* 1 GiB at 25% of a core: a few passes of ~70k pages/s */
	assert_true(took < 120);
	assert_int_equal(s.p.run, 1);
}

/* Once everything is merged, effort falls to the idle rate. */
static void test_nothing_left_goes_idle(void **state)
{
	struct sim s;
	double idle_rate;

	(void)state;
	sim_init(&s, 24 * GiB, 4 * GiB);
	add_guests(&s, 4, 1);
	assert_true(sim_until_merged(&s, 0.99, 600) > 0);
	sim_run(&s, 120);
	assert_int_equal(s.d.mode, CTL_MODE_IDLE);
	assert_int_equal(s.d.reason, CTL_R_NOTHING_TO_MERGE);
	window_start(&s);
	sim_run(&s, 1800 * scale());
	/* one full scan per idle_scan_period, give or take the bounds */
	idle_rate = plant_rmap(&s.p) / ((double)s.cfg.idle_scan_period_ms / 1000.0);
	if (trace_level())
		printf("idle: scanned %.0f pages/s (idle target %.0f), ksmd %.3f%%\n", window_scan_rate(&s), idle_rate,
		       window_cpu_share(&s) * 100);
	assert_true(window_scan_rate(&s) < 2.0 * idle_rate + 200);
	assert_true(window_cpu_share(&s) < 0.01);
	assert_int_equal(s.p.run, 1); /* pressure: merged pages stay, ksmd ticks over */
}

/* Volatile-heavy memory that never merges does not pin ksmd. */
static void test_churn_does_not_pin_ksmd(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, 24 * GiB, 4 * GiB);
	add_guests(&s, 4, 1);
	assert_true(sim_until_merged(&s, 0.99, 600) > 0);
	sim_run(&s, 120);
	plant_add(&s.p, REGION_VOLATILE, 0, 400 * MiB);
	plant_add(&s.p, REGION_UNIQUE, 0, 100 * MiB);
	sim_run(&s, 300);
	window_start(&s);
	sim_run(&s, 1800 * scale());
	if (trace_level())
		printf("churn: ksmd %.2f%% of a core, reason %s\n", window_cpu_share(&s) * 100,
		       ctl_reason_name(s.d.reason));
	assert_true(window_cpu_share(&s) < 0.02);
	assert_true(s.d.reason == CTL_R_NOTHING_TO_MERGE || s.d.reason == CTL_R_CHURN);
}

/* Pressure released: KSM is stopped after stop_delay; merged pages stay. */
static void test_released_pressure_stops_ksm(void **state)
{
	struct sim s;
	double t_release, merged;

	(void)state;
	sim_init(&s, 24 * GiB, 4 * GiB);
	add_guests(&s, 2, 1);
	assert_true(sim_until_merged(&s, 0.9, 600) > 0);
	s.p.base_available = 16 * GiB; /* pressure gone */
	t_release = s.t;
	while (s.p.run == 1 && s.t - t_release < 3600)
		sim_tick(&s);
	assert_int_equal(s.p.run, 0);
	assert_true(s.t - t_release >= (double)s.cfg.stop_delay_ms / 1000.0);
	assert_true(s.t - t_release <= (double)s.cfg.stop_delay_ms / 1000.0 + 2 * (double)s.cfg.interval_ms / 1000.0);
	merged = plant_merged(&s.p);
	sim_run(&s, 600);
	assert_int_equal(s.p.run, 0);
	assert_true(plant_merged(&s.p) >= merged); /* run=0 keeps them merged */
	assert_int_equal(s.d.mode, CTL_MODE_STOPPED);
	/* pressure back: KSM starts again within one interval */
	s.p.base_available = 4 * GiB;
	sim_tick(&s);
	assert_int_equal(s.p.run, 1);
}

/* The CPU cap holds: never above it for more than one interval. */
static void test_cpu_cap_holds(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, 64 * GiB, 4 * GiB);
	s.cfg.max_cpu = 10;
	s.p.cost_work = 4e-6; /* expensive merging */
	window_start(&s);
	for (int i = 0; i < 8; i++)
		add_guests(&s, 4, 1 + i * 4);
	sim_run(&s, 100); /* 8 GiB to merge: longer than this at 10% */
	if (trace_level())
		printf("cap: longest run above 10%%: %u intervals; mean %.1f%%\n", s.max_over_cap_run,
		       window_cpu_share(&s) * 100);
	assert_true(plant_merged(&s.p) < 0.9 * plant_mergeable(&s.p));
	assert_true(window_cpu_share(&s) <= 0.10 * 1.05);
	/* and the cap was actually reached, so the test means something */
	assert_true(window_cpu_share(&s) > 0.08);
	sim_run(&s, 1200);
	assert_true(s.max_over_cap_run <= 1);
}

/* In steady state, the scan rate does not oscillate. */
static void test_no_oscillation(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, 24 * GiB, 4 * GiB);
	add_guests(&s, 4, 1);
	plant_add(&s.p, REGION_VOLATILE, 0, 300 * MiB);
	sim_run(&s, 1800);
	window_start(&s);
	sim_run(&s, 3600);
	if (trace_level())
		printf("steady: %u reversals in an hour, %u writes\n", s.reversals, s.writes);
	assert_true(s.reversals <= 12);
}

/* Long saturation does not wind the integral up. */
static void test_no_windup(void **state)
{
	struct sim s;
	double t0;

	(void)state;
	sim_init(&s, 24 * GiB, 1 * GiB); /* deep pressure */
	add_guests(&s, 4, 1);
	sim_run(&s, 6 * 3600 * scale());
	assert_true(s.st.integ <= 1.0);
	assert_true(s.d.t.u >= 0.99);
	s.p.base_available = 16 * GiB;
	t0 = s.t;
	while (s.d.t.u > 0.01 && s.t - t0 < 600)
		sim_tick(&s);
	if (trace_level())
		printf("windup: u fell to %.3f %.0f s after the release\n", s.d.t.u, s.t - t0);
	assert_true(s.t - t0 <= 60);
	/* and pressure coming back finds a fresh integral, not a stale one */
	s.p.base_available = 4.7 * GiB;
	sim_run(&s, 4);
	assert_true(s.d.t.i < 0.5);
}

/* Memory leaving and new memory arriving in the same interval (MemAvailable
 * unchanged) is noticed and merged, not left to the idle scan. */
static void test_swap_of_guests_is_noticed(void **state)
{
	struct sim s;
	int ids[3];
	double took;

	(void)state;
	sim_init(&s, 24 * GiB, 4 * GiB);
	ids[0] = plant_add(&s.p, REGION_MERGEABLE, 1, 600 * MiB);
	ids[1] = plant_add(&s.p, REGION_UNIQUE, 0, 200 * MiB);
	ids[2] = plant_add(&s.p, REGION_MERGEABLE, 2, 600 * MiB);
	assert_true(sim_until_merged(&s, 0.99, 600) > 0);
	sim_run(&s, 300);
	assert_int_equal(s.d.mode, CTL_MODE_IDLE);
	plant_remove(&s.p, ids[2]);
	plant_add(&s.p, REGION_MERGEABLE, 7, 600 * MiB);
	took = sim_until_merged(&s, 0.9, 3600);
	if (trace_level())
		printf("swap: 90%% merged after %.0f s\n", took);
	assert_true(took > 0 && took < 120);
	(void)ids;
}

/* Kernels before 6.6 (no pages_scanned) and an invisible ksmd still merge
 * and still idle. */
static void test_old_kernel_and_hidden_ksmd(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, 24 * GiB, 4 * GiB);
	s.p.has_pages_scanned = false;
	s.p.smart_scan = false;
	s.p.ksmd_visible = false;
	add_guests(&s, 4, 1);
	assert_true(sim_until_merged(&s, 0.9, 600) > 0);
	sim_run(&s, 600);
	assert_int_equal(s.d.mode, CTL_MODE_IDLE);
	assert_true(s.d.estimated_cpu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_is_merged),
		cmocka_unit_test(test_nothing_left_goes_idle),
		cmocka_unit_test(test_churn_does_not_pin_ksmd),
		cmocka_unit_test(test_released_pressure_stops_ksm),
		cmocka_unit_test(test_cpu_cap_holds),
		cmocka_unit_test(test_no_oscillation),
		cmocka_unit_test(test_no_windup),
		cmocka_unit_test(test_swap_of_guests_is_noticed),
		cmocka_unit_test(test_old_kernel_and_hidden_ksmd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
