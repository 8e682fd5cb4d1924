/* test_controller.c - the pure controller: bounds, clamping, the knob
 * mapping, the PID terms, bumpless reload, and a property test over a
 * million random but plausible samples (seed printed; KSMPILOT_SEED=N
 * replays it, KSMPILOT_TEST_SCALE=0.01 shortens it). */
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "config.h"
#include "controller.h"

#define GiB (1024.0 * 1024 * 1024)
#define MiB (1024.0 * 1024)

static void base_sample(struct sample *s, double total, double avail)
{
	memset(s, 0, sizeof(*s));
	s->mem_total = (uint64_t)total;
	s->mem_available = (uint64_t)avail;
	s->mem_free = (uint64_t)avail;
	s->ksm.present = KSM_BIT(KSM_RUN) | KSM_BIT(KSM_PAGES_TO_SCAN) | KSM_BIT(KSM_SLEEP_MILLISECS) |
			 KSM_BIT(KSM_PAGES_SHARED) | KSM_BIT(KSM_PAGES_SHARING) | KSM_BIT(KSM_PAGES_UNSHARED) |
			 KSM_BIT(KSM_PAGES_VOLATILE) | KSM_BIT(KSM_FULL_SCANS) | KSM_BIT(KSM_PAGES_SCANNED);
	s->ksm.v[KSM_PAGES_TO_SCAN] = 100;
	s->ksm.v[KSM_SLEEP_MILLISECS] = 20;
	s->have_ksmd_cpu = true;
}

/* What no clamp makes true of a decision: under defer, pages_to_scan is
 * the kernel's (the bounds of sleep_ms and pages_to_scan, and of the rate,
 * are clamps in ctl_map_rate() and ctl_step(), and rate_planned a rate of
 * those: not checked here). */
static void assert_in_bounds(const struct cfg *c, const struct ctl_decision *d, const struct sample *s)
{
	(void)c;
	if (!d->set_pages)
		assert_true(d->pages_to_scan == (uint64_t)s->ksm.v[KSM_PAGES_TO_SCAN]);
}

/* ---- mapping ------------------------------------------------------------ */

static void test_map_rate_bounds(void **state)
{
	struct cfg c;
	uint64_t p, s;
	static const double rates[] = { 0, 1e-9, 1, 50, 100, 437, 1000, 5e4, 1e5, 1e6, 1e9, INFINITY };
	double last = 0;

	(void)state;
	cfg_defaults(&c);
	/* a faster rate asked never gives slower knobs (the bounds themselves
	 * are clamps) */
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		ctl_map_rate(&c, rates[i], 2e-6, 0, &p, &s);
		assert_true(ctl_rate_of(p, s, 2e-6) >= last * (1 - 1e-9));
		last = ctl_rate_of(p, s, 2e-6);
	}
	/* the mapping reaches the rate where the bounds allow it */
	ctl_map_rate(&c, 5000, 2e-6, 0, &p, &s);
	assert_true(fabs(ctl_rate_of(p, s, 2e-6) - 5000) < 50);
	ctl_map_rate(&c, 90000, 2.7e-6, 0, &p, &s);
	assert_true(fabs(ctl_rate_of(p, s, 2.7e-6) - 90000) < 0.03 * 90000);
	/* a rate above the bounds gives the fastest setting */
	ctl_map_rate(&c, 1e9, 2e-6, 0, &p, &s);
	assert_int_equal(p, c.pages_to_scan_max);
	assert_int_equal(s, c.sleep_ms_min);
	/* and a rate below them the slowest */
	ctl_map_rate(&c, 1, 2e-6, 0, &p, &s);
	assert_int_equal(p, c.pages_to_scan_min);
	assert_int_equal(s, c.sleep_ms_max);
	/* the longest sleep that reaches the rate: 1000 pages/s at 1 s */
	ctl_map_rate(&c, 1000, 0, 0, &p, &s);
	assert_int_equal(s, 1000);
	assert_int_equal(p, 1000);
}

static void test_map_rate_defer_keeps_pages(void **state)
{
	struct cfg c;
	uint64_t p, s;

	(void)state;
	cfg_defaults(&c);
	ctl_map_rate(&c, 10000, 1e-6, 1420, &p, &s);
	assert_int_equal(p, 1420);
	/* 1420 pages at 10000/s: 142 ms a period, less the batch */
	assert_true(s >= 139 && s <= 142);
	ctl_map_rate(&c, 1e9, 1e-6, 1420, &p, &s);
	assert_int_equal(s, c.sleep_ms_min);
}

static void test_rate_of(void **state)
{
	(void)state;
	assert_true(fabs(ctl_rate_of(100, 20, 0) - 5000) < 1e-6);
	assert_true(fabs(ctl_rate_of(1250, 10, 2.7e-6) - 1250 / (0.010 + 1250 * 2.7e-6)) < 1e-6);
	assert_true(ctl_rate_of(0, 0, 0) == 0);
}

/* ---- single steps ---------------------------------------------------------- */

/* When the sampler may carry the counters over: ksmd stopped, or idling
 * with no probe open or opening, on a kernel that counts pages_scanned. */
static void test_counters_quiet_when(void **state)
{
	struct ctl_decision d;
	struct sample s;

	(void)state;
	base_sample(&s, 16 * GiB, 1 * GiB);
	memset(&d, 0, sizeof(d));
	d.run = 1;
	d.mode = CTL_MODE_IDLE;
	s.ksm.v[KSM_RUN] = 1;
	assert_true(ctl_counters_quiet(&d, &s));
	d.t.probe_pages = 1000;
	assert_false(ctl_counters_quiet(&d, &s));
	d.t.probe_pages = 0;
	d.wake = CTL_WAKE_ANON_GROWTH;
	assert_false(ctl_counters_quiet(&d, &s));
	d.wake = CTL_WAKE_NONE;
	d.mode = CTL_MODE_ACTIVE;
	assert_false(ctl_counters_quiet(&d, &s));
	d.mode = CTL_MODE_IDLE;
	d.hold = true;
	assert_false(ctl_counters_quiet(&d, &s));
	d.hold = false;
	s.ksm.present &= ~KSM_BIT(KSM_PAGES_SCANNED); /* before 6.6 */
	assert_false(ctl_counters_quiet(&d, &s));
	/* stopped, and ksmd too */
	d.run = 0;
	d.mode = CTL_MODE_STOPPED;
	assert_false(ctl_counters_quiet(&d, &s));
	s.ksm.v[KSM_RUN] = 0;
	assert_true(ctl_counters_quiet(&d, &s));
}

/* Counters carried over between reads (ksm_cached: ksmd idles, and the
 * sampler reads them every SAMPLE_QUIET_MS) say nothing new: the next
 * read's deltas span the time since the last one, so ksmd's share and the
 * scan rate are those of that span, and they hold between reads. */
/* An interval that ends three passes of a small host records the pages of
 * one pass, not of three: the passes' length prices the probes' margins
 * and the churn. */
static void test_several_passes_in_one_interval(void **state)
{
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;

	(void)state;
	cfg_defaults(&c);
	ctl_init(&st);
	base_sample(&s, 16 * GiB, 1 * GiB);
	s.ksm.v[KSM_RUN] = 1;
	s.ksm.v[KSM_PAGES_UNSHARED] = 100000;
	s.ksm.present |= KSM_BIT(KSM_PAGES_SKIPPED);
	ctl_step(&c, &st, &s, 0, &d);
	s.ksm.v[KSM_FULL_SCANS] += 1;
	s.ksm.v[KSM_PAGES_SCANNED] += 100000;
	s.ksm.v[KSM_PAGES_SKIPPED] += 1000;
	ctl_step(&c, &st, &s, 1, &d);
	assert_true(fabs(st.pass_len - 100000) < 1);
	assert_true(fabs(st.skipped_pass - 1000) < 1);
	s.ksm.v[KSM_FULL_SCANS] += 3;
	s.ksm.v[KSM_PAGES_SCANNED] += 300000;
	s.ksm.v[KSM_PAGES_SKIPPED] += 3000;
	ctl_step(&c, &st, &s, 1, &d);
	assert_true(fabs(st.pass_len - 100000) < 1);
	/* and smart_scan's skips of those passes are one pass's too */
	assert_true(fabs(st.skipped_pass - 1000) < 1);
	for (size_t i = 0; i < CTL_PASS_CYCLE; i++)
		assert_true(st.pass_hist[i] <= 100000 + 1);
}

/* A fresh controller beside a ksmd that runs at share of a core, read
 * every second for seconds, scanning 100000 pages a second. */
static void ksmd_runs_at(const struct cfg *c, struct ctl_state *st, struct sample *s, struct ctl_decision *d,
			 double share, int seconds)
{
	ctl_init(st);
	base_sample(s, 16 * GiB, 1 * GiB);
	s->ksm.v[KSM_RUN] = 1;
	s->ksm.v[KSM_PAGES_UNSHARED] = 1000000;
	ctl_step(c, st, s, 0, d);
	for (int i = 0; i < seconds; i++) {
		s->ksmd_cpu_s += share;
		s->ksm.v[KSM_PAGES_SCANNED] += 100000;
		ctl_step(c, st, s, 1, d);
	}
	assert_true(fabs(d->t.cpu_share - share) < 1e-9);
}

/* The burst allowance is spent on what ksmd measured over each span of
 * its CPU time: the ticks that carry the last read over (ksmd idles) do not
 * spend it again at the share of a burst that ended. */
static void test_burst_allowance_over_carried_ticks(void **state)
{
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;
	double burst_after;

	(void)state;
	cfg_defaults(&c);
	c.max_cpu = 25;
	c.max_cpu_burst = 100;
	c.burst_duration_ms = 20000; /* 15 CPU-seconds */
	/* ten seconds at half a core, read each second: 2.5 CPU-s spent */
	ksmd_runs_at(&c, &st, &s, &d, 0.5, 10);
	burst_after = d.t.burst;
	assert_true(burst_after < 0.9);
	/* then ksmd idles at 1%, read every 10 s: the carried ticks spend
	 * nothing, and the read refills over its whole span */
	for (int i = 0; i < 4; i++) {
		s.ksm_cached = true;
		ctl_step(&c, &st, &s, 2, &d);
		assert_true(d.t.burst >= burst_after - 1e-9);
	}
	s.ksm_cached = false;
	s.ksmd_cpu_s += 0.1;
	s.ksm.v[KSM_PAGES_SCANNED] += 1000;
	ctl_step(&c, &st, &s, 2, &d);
	assert_true(fabs(d.t.cpu_share - 0.01) < 1e-9);
	assert_true(fabs(d.t.burst * 15 - (burst_after * 15 + (0.25 - 0.01) * 10)) < 1e-6);
	assert_int_not_equal(d.reason, CTL_R_CPU_CAP);
}

/* The tick a reload asks for comes a few milliseconds after the last:
 * ksmd's CPU time, in clock ticks of 10 ms, measures no share over that,
 * and the rate is not cut for it. */
static void test_short_span_measures_no_share(void **state)
{
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;

	(void)state;
	cfg_defaults(&c);
	c.max_cpu = 25;
	c.max_cpu_burst = 25; /* no burst: the cap is max_cpu */
	ksmd_runs_at(&c, &st, &s, &d, 0.25, 10);
	/* 20 ms later, one clock tick more: 50% over that span */
	s.ksmd_cpu_s += 0.01;
	s.ksm.v[KSM_PAGES_SCANNED] += 2000;
	ctl_step(&c, &st, &s, 0.02, &d);
	assert_true(fabs(d.t.cpu_share - 0.25) < 1e-9);
	assert_int_not_equal(d.reason, CTL_R_CPU_CAP);
	/* and the next interval measures again */
	s.ksmd_cpu_s += 0.3;
	s.ksm.v[KSM_PAGES_SCANNED] += 100000;
	ctl_step(&c, &st, &s, 1, &d);
	assert_true(fabs(d.t.cpu_share - 0.3) < 1e-9);
}

/* Nor does it give D a rate of change: 8 MiB of MemAvailable's noise over
 * 5 ms, with no derivative filter, would be u = 1 for a tick. */
static void test_short_span_moves_no_derivative(void **state)
{
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;

	(void)state;
	cfg_defaults(&c);
	c.derivative_filter_ms = 0;
	ctl_init(&st);
	base_sample(&s, 16 * GiB, 4 * GiB);
	for (int i = 0; i < 5; i++)
		ctl_step(&c, &st, &s, i ? 1 : 0, &d);
	s.mem_available -= 8 * 1048576;
	ctl_step(&c, &st, &s, 0.005, &d);
	assert_true(d.t.d == 0);
	/* over a whole interval, the same fall is a rate of change */
	s.mem_available -= 8 * 1048576;
	ctl_step(&c, &st, &s, 1, &d);
	assert_true(d.t.d > 0);
}

static void test_counters_carried_over(void **state)
{
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;

	(void)state;
	cfg_defaults(&c);
	ctl_init(&st);
	base_sample(&s, 16 * GiB, 1 * GiB);
	s.ksm.v[KSM_RUN] = 1;
	s.ksm.v[KSM_PAGES_UNSHARED] = 1000000;
	ctl_step(&c, &st, &s, 0, &d);
	/* ksmd at 1% of a core and 1000 pages a second, read every 10 s */
	for (int read = 1; read <= 3; read++) {
		for (int i = 0; i < 4; i++) {
			s.ksm_cached = true;
			ctl_step(&c, &st, &s, 2, &d);
			assert_int_equal(d.run, 1);
			if (read > 1) {
				assert_true(fabs(d.t.cpu_share - 0.01) < 1e-9);
				assert_true(fabs(d.t.scanned_rate - 1000) < 1e-6);
			}
		}
		s.ksm_cached = false;
		s.ksmd_cpu_s += 0.1;
		s.ksm.v[KSM_PAGES_SCANNED] += 10000;
		ctl_step(&c, &st, &s, 2, &d);
		assert_true(fabs(d.t.cpu_share - 0.01) < 1e-9);
		assert_true(fabs(d.t.scanned_rate - 1000) < 1e-6);
	}
	/* a gap (a stalled daemon) at a sample whose counters were carried over:
	 * of an age not known, they measure no rate at the next read */
	s.ksm_cached = true;
	ctl_step(&c, &st, &s, 3600, &d);
	s.ksm_cached = false;
	s.ksmd_cpu_s += 0.5;
	s.ksm.v[KSM_PAGES_SCANNED] += 50000;
	ctl_step(&c, &st, &s, 2, &d);
	assert_true(fabs(d.t.cpu_share - 0.01) < 1e-9);
	assert_true(d.t.scanned_rate == 0);
	s.ksmd_cpu_s += 0.02;
	s.ksm.v[KSM_PAGES_SCANNED] += 2000;
	ctl_step(&c, &st, &s, 2, &d);
	assert_true(fabs(d.t.cpu_share - 0.01) < 1e-9);
	assert_true(fabs(d.t.scanned_rate - 1000) < 1e-6);
}

/* ksmd stopped and its counters carried over for four samples, then a read
 * that finds it running, with 0.1 s of its CPU and 20000 pages since the
 * read before; avail sets whether the controller wants it to run
 * (*run_before: its decision at the sample before). */
static void started_after_carried(const struct cfg *c, struct ctl_state *st, double avail, int *run_before,
				  struct ctl_decision *d)
{
	struct sample s;

	ctl_init(st);
	base_sample(&s, 16 * GiB, avail);
	s.ksm.v[KSM_RUN] = 0;
	s.ksm.v[KSM_PAGES_UNSHARED] = 1000000;
	ctl_step(c, st, &s, 0, d);
	for (int i = 0; i < 4; i++) {
		s.ksm_cached = true;
		ctl_step(c, st, &s, 2, d);
	}
	*run_before = d->run;
	s.ksm_cached = false;
	s.ksm.v[KSM_RUN] = 1;
	s.ksmd_cpu_s += 0.1;
	s.ksm.v[KSM_PAGES_SCANNED] += 20000;
	ctl_step(c, st, &s, 2, d);
}

/* Started by this daemon at the last sample, ksmd ran since then only, and
 * its share is over that, not over the time since the read before. Started
 * by someone else while this daemon keeps it stopped, it ran for a time not
 * known: that read measures no rate. */
static void test_counters_carried_over_start(void **state)
{
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	int before;

	(void)state;
	cfg_defaults(&c);
	started_after_carried(&c, &st, 1 * GiB, &before, &d);
	assert_int_equal(before, 1);
	assert_true(fabs(d.t.cpu_share - 0.05) < 1e-9);
	assert_true(fabs(d.t.scanned_rate - 10000) < 1e-6);
	started_after_carried(&c, &st, 12 * GiB, &before, &d);
	assert_int_equal(before, 0);
	assert_true(d.t.cpu_share == 0);
	assert_true(d.t.scanned_rate == 0);
}

static void test_unusable_sample_holds(void **state)
{
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d, d2;
	struct sample s;

	(void)state;
	cfg_defaults(&c);
	ctl_init(&st);
	base_sample(&s, 16 * GiB, 1 * GiB);
	ctl_step(&c, &st, &s, 0, &d);
	assert_false(d.hold);
	s.meminfo_err = -5;
	ctl_step(&c, &st, &s, 2, &d2);
	assert_true(d2.hold);
	assert_int_equal(d2.reason, CTL_R_HOLD);
	assert_int_equal(d2.run, d.run);
	assert_int_equal(d2.pages_to_scan, d.pages_to_scan);
	s.meminfo_err = 0;
	s.ksm.present &= ~KSM_BIT(KSM_PAGES_SHARING);
	ctl_step(&c, &st, &s, 2, &d2);
	assert_true(d2.hold);
}

static void test_pressure_starts_and_p_term(void **state)
{
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;

	(void)state;
	cfg_defaults(&c);
	ctl_init(&st);
	/* 10% available, setpoint 20%: error +0.1 */
	base_sample(&s, 10 * GiB, 1 * GiB);
	ctl_step(&c, &st, &s, 0, &d);
	assert_int_equal(d.run, 1);
	assert_true(fabs(d.t.error - 0.1) < 1e-9);
	assert_true(fabs(d.t.p - c.kp * 0.1) < 1e-9);
	assert_true(d.t.u > 0.99); /* kp 10 x 0.1 saturates */
	assert_int_equal(d.wake, CTL_WAKE_START);
	assert_int_equal(d.reason, CTL_R_PROBING);
	assert_true(d.set_pages);
}

static void test_no_pressure_stopped_ksm_stays_stopped(void **state)
{
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;

	(void)state;
	cfg_defaults(&c);
	ctl_init(&st);
	base_sample(&s, 10 * GiB, 9 * GiB);
	ctl_step(&c, &st, &s, 0, &d);
	assert_int_equal(d.run, 0);
	assert_int_equal(d.mode, CTL_MODE_STOPPED);
	assert_int_equal(d.reason, CTL_R_NO_PRESSURE);
}

/* A running KSM without pressure keeps running for stop_delay, then stops. */
static void test_stop_delay(void **state)
{
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;
	double t = 0;

	(void)state;
	cfg_defaults(&c);
	ctl_init(&st);
	base_sample(&s, 10 * GiB, 9 * GiB);
	s.ksm.v[KSM_RUN] = 1;
	ctl_step(&c, &st, &s, 0, &d);
	assert_int_equal(d.run, 1);
	while (d.run == 1 && t < 3600) {
		ctl_step(&c, &st, &s, 2, &d);
		t += 2;
	}
	assert_int_equal(d.run, 0);
	assert_true(fabs(t - (double)c.stop_delay_ms / 1000.0) <= 2);
	/* in the hysteresis band (above setpoint, below setpoint+margin), no stop */
	ctl_init(&st);
	base_sample(&s, 10 * GiB, 2.2 * GiB);
	s.ksm.v[KSM_RUN] = 1;
	for (int i = 0; i < 1000; i++)
		ctl_step(&c, &st, &s, 2, &d);
	assert_int_equal(d.run, 1);
	assert_int_equal(d.reason, CTL_R_NO_PRESSURE);
	/* with PSI counted at a threshold within the margin (5 points,
	 * margin 5%), no stall and plenty of memory still stop ksmd */
	c.psi_threshold = 5;
	ctl_init(&st);
	base_sample(&s, 10 * GiB, 6 * GiB);
	s.ksm.v[KSM_RUN] = 1;
	s.have_psi = true;
	s.psi_some_avg10 = 0;
	t = 0;
	ctl_step(&c, &st, &s, 0, &d);
	while (d.run == 1 && t < 3600) {
		ctl_step(&c, &st, &s, 2, &d);
		t += 2;
	}
	assert_int_equal(d.run, 0);
	assert_true(fabs(t - (double)c.stop_delay_ms / 1000.0) <= 2);
	/* a stall at the threshold is not released: ksmd stays on */
	ctl_init(&st);
	s.psi_some_avg10 = 5;
	ctl_step(&c, &st, &s, 0, &d);
	for (int i = 0; i < 1000; i++)
		ctl_step(&c, &st, &s, 2, &d);
	assert_int_equal(d.run, 1);
}

static void test_derivative_on_falling_memory(void **state)
{
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;
	double tf;

	(void)state;
	cfg_defaults(&c);
	c.kp = 0;
	c.ki = 0;
	tf = (double)c.derivative_filter_ms / 1000.0;
	ctl_init(&st);
	base_sample(&s, 10 * GiB, 1.9 * GiB);
	ctl_step(&c, &st, &s, 0, &d);
	assert_true(d.t.d == 0);
	s.mem_available = (uint64_t)(1.5 * GiB); /* falls 4% of MemTotal in 2 s */
	ctl_step(&c, &st, &s, 2, &d);
	/* kd times the filtered fall: 0.04 / 2 s through a first-order filter */
	assert_true(fabs(d.t.d - c.kd * (2 / (tf + 2)) * 0.02) < 1e-9);
	/* a rise is no kick at all, in either direction */
	s.mem_available = (uint64_t)(3 * GiB);
	for (int i = 0; i < 20; i++)
		ctl_step(&c, &st, &s, 2, &d);
	assert_true(d.t.d == 0);
	assert_true(st.dfilt < 0);
}

/* The integral: ki * e * dt, and anti-windup once u is saturated. */
static void test_integral_and_antiwindup(void **state)
{
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;
	double i_sat = -1;
	int steps = 0;

	(void)state;
	cfg_defaults(&c);
	c.kp = 1;
	c.kd = 0;
	ctl_init(&st);
	base_sample(&s, 10 * GiB, 1.9 * GiB); /* error 0.01 */
	s.ksm.v[KSM_PAGES_SHARING] = 100000; /* merging pays: the integral may grow */
	ctl_step(&c, &st, &s, 0, &d);
	st.ev_gain = 5000;
	st.ev_scanned = 10000;
	ctl_step(&c, &st, &s, 2, &d);
	assert_true(fabs(d.t.i - c.ki * 0.01 * 2) < 1e-9);
	/* it grows by ki * e * dt until u saturates, then stops */
	while (steps++ < 10000) {
		st.ev_gain = 5000;
		st.ev_scanned = 10000;
		ctl_step(&c, &st, &s, 2, &d);
		if (d.t.u >= 1 && i_sat < 0)
			i_sat = d.t.i;
	}
	assert_true(i_sat > 0);
	assert_true(fabs(d.t.i - i_sat) <= c.ki * 0.01 * 2 + 1e-9);
	assert_true(fabs(d.t.p + i_sat - 1) <= c.ki * 0.01 * 2 + 1e-9);
}

/* Evidence of more than full_yield says "full effort" and no more. Once
 * the merging stops, the benefit falls after ln 2 eighths of a pass of
 * pages that merge nothing, however much merged before: an arrival merged
 * whole (yield 0.5) held the rate at the cap for ln 25 eighths. A gap of
 * less between merges (unique pages between a guest's mergeable ones)
 * keeps full effort. */
static void test_yield_fades_from_full(void **state)
{
	const double rmap = 400000, step = 2000;
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;
	double full = 0;

	(void)state;
	cfg_defaults(&c);
	ctl_init(&st);
	base_sample(&s, 10 * GiB, 1.0 * GiB);
	s.ksm.v[KSM_RUN] = 1;
	s.ksm.v[KSM_PAGES_UNSHARED] = (int64_t)rmap;
	ctl_step(&c, &st, &s, 0, &d);
	st.probe.open = false;
	/* an eighth of a pass merging half the pages it scans */
	for (int i = 0; i < 25; i++) {
		s.ksm.v[KSM_PAGES_SCANNED] += (int64_t)step;
		s.ksm.v[KSM_PAGES_SHARING] += (int64_t)step / 2;
		s.ksm.v[KSM_PAGES_UNSHARED] -= (int64_t)step / 2;
		ctl_step(&c, &st, &s, 1, &d);
		st.probe.open = false;
	}
	assert_true(d.t.yield > c.full_yield && d.t.b_yield == 1);
	/* then nothing merges */
	while (d.t.b_yield >= 1 && full < rmap) {
		s.ksm.v[KSM_PAGES_SCANNED] += (int64_t)step;
		ctl_step(&c, &st, &s, 1, &d);
		st.probe.open = false;
		full += step;
	}
	assert_true(full >= 0.05 * rmap);
	assert_true(full <= 0.1 * rmap);
}

/* While nothing is worth merging, pressure does not grow the integral. */
static void test_integral_frozen_while_idle(void **state)
{
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;

	(void)state;
	cfg_defaults(&c);
	ctl_init(&st);
	base_sample(&s, 10 * GiB, 1.9 * GiB); /* error 0.01 */
	s.ksm.v[KSM_RUN] = 1;
	s.ksm.v[KSM_PAGES_SHARING] = 100000;
	ctl_step(&c, &st, &s, 0, &d);
	st.probe.open = false; /* no probe: nothing new to look at */
	for (int i = 0; i < 100; i++) {
		s.ksm.v[KSM_PAGES_SCANNED] += 5000; /* scanning, merging nothing */
		ctl_step(&c, &st, &s, 2, &d);
	}
	assert_true(d.t.benefit < 0.02);
	assert_true(d.t.i == 0);
}

static void test_bumpless_reload(void **state)
{
	struct cfg c, c2;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;
	double u0;

	(void)state;
	cfg_defaults(&c);
	c.kp = 2;
	ctl_init(&st);
	base_sample(&s, 10 * GiB, 1.8 * GiB); /* error 0.02 */
	ctl_step(&c, &st, &s, 0, &d);
	for (int i = 0; i < 10; i++)
		ctl_step(&c, &st, &s, 2, &d);
	u0 = d.t.u;
	assert_true(u0 > 0.04 && u0 < 0.99);
	c2 = c;
	c2.kp = 5;
	c2.target_available.percent = 21;
	ctl_reconfigure(&c2, &st, &s);
	ctl_step(&c2, &st, &s, 1e-6, &d);
	assert_true(fabs(d.t.u - u0) < 1e-3);
	/* gains that alone would saturate u: still no bump */
	c2.kp = 500;
	ctl_reconfigure(&c2, &st, &s);
	ctl_step(&c2, &st, &s, 1e-6, &d);
	assert_true(fabs(d.t.u - u0) < 1e-3);
	assert_true(d.t.i < 0);
	/* and from there u rises with the pressure, as the integral pays back */
	for (int i = 0; i < 50; i++)
		ctl_step(&c2, &st, &s, 2, &d);
	assert_true(d.t.u > u0 + 0.01);
}

/* A reload with the same gains changes nothing, also at a clamp: with
 * plenty of memory (P far below 0, u held at 0) the integral stays where
 * it was (taking up u - P - D would fill it, and the first pressure after
 * it would pay full price at once); and the same at the upper clamp. */
static void test_reload_at_a_clamp(void **state)
{
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;
	double i0;

	(void)state;
	cfg_defaults(&c);
	ctl_init(&st);
	base_sample(&s, 10 * GiB, 4 * GiB); /* 20 points above the setpoint */
	ctl_step(&c, &st, &s, 0, &d);
	for (int i = 0; i < 10; i++)
		ctl_step(&c, &st, &s, 2, &d);
	assert_true(d.t.p < -1);
	assert_true(d.t.u == 0);
	i0 = st.integ;
	ctl_reconfigure(&c, &st, &s);
	assert_true(st.integ == i0);
	/* new gains that keep u at 0 leave the integral too */
	c.kp = 5;
	ctl_reconfigure(&c, &st, &s);
	assert_true(st.integ == i0);

	/* the upper clamp: far short, u held at 1 */
	cfg_defaults(&c);
	ctl_init(&st);
	base_sample(&s, 10 * GiB, 0.5 * GiB); /* error 0.15: P 1.5 */
	ctl_step(&c, &st, &s, 0, &d);
	for (int i = 0; i < 10; i++)
		ctl_step(&c, &st, &s, 2, &d);
	assert_true(d.t.u == 1);
	i0 = st.integ;
	ctl_reconfigure(&c, &st, &s);
	assert_true(st.integ == i0);
}

/* After the reload, not only at its instant: new gains leave u where it
 * was at the ticks that follow, and a new setpoint reaches P through its
 * filter (derivative_filter), not as a step (docs/controller.md, §2). */
static void test_reload_after_the_instant(void **state)
{
	struct cfg c, c2;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;
	double u0, tf, first;

	(void)state;
	cfg_defaults(&c);
	c.kp = 2;
	c.ki = 0; /* u is then P + D: what the reload does to P shows alone */
	tf = (double)c.derivative_filter_ms / 1000.0;
	ctl_init(&st);
	base_sample(&s, 10 * GiB, 1.8 * GiB); /* error 0.02, steady */
	ctl_step(&c, &st, &s, 0, &d);
	for (int i = 0; i < 10; i++)
		ctl_step(&c, &st, &s, 2, &d);
	u0 = d.t.u;
	assert_true(fabs(u0 - 0.04) < 1e-3);
	/* new gains: the same u at every later tick */
	c2 = c;
	c2.kp = 5;
	ctl_reconfigure(&c2, &st, &s);
	for (int i = 0; i < 20; i++) {
		ctl_step(&c2, &st, &s, 2, &d);
		assert_true(fabs(d.t.u - u0) < 1e-6);
	}
	/* a setpoint 5 points higher: kp x 0.05 = 0.25 more, reached through
	 * the filter, a share dt / (tf + dt) of the step at the first tick */
	c2.target_available.percent = 25;
	ctl_reconfigure(&c2, &st, &s);
	ctl_step(&c2, &st, &s, 2, &d);
	first = d.t.u - u0;
	assert_true(fabs(first - 0.25 * 2 / (tf + 2)) < 0.01);
	for (int i = 0; i < 60; i++)
		ctl_step(&c2, &st, &s, 2, &d);
	assert_true(fabs(d.t.u - (u0 + 0.25)) < 0.01);
}

static void test_defer_leaves_pages_to_advisor(void **state)
{
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;

	(void)state;
	cfg_defaults(&c);
	c.kernel_advisor = ADVISOR_DEFER;
	ctl_init(&st);
	base_sample(&s, 10 * GiB, 1 * GiB);
	s.ksm.present |= KSM_BIT(KSM_ADVISOR_MODE);
	s.ksm.v[KSM_ADVISOR_MODE] = 1;
	s.ksm.v[KSM_PAGES_TO_SCAN] = 1420;
	ctl_step(&c, &st, &s, 0, &d);
	assert_false(d.set_pages);
	assert_int_equal(d.pages_to_scan, 1420);
	/* takeover always sets pages */
	c.kernel_advisor = ADVISOR_TAKEOVER;
	ctl_init(&st);
	ctl_step(&c, &st, &s, 0, &d);
	assert_true(d.set_pages);
}

/* A huge dt (a stalled daemon) or a counter going backwards re-primes, without a
 * kick from the derivative or a jump of the integral. */
static void test_gap_and_counter_reset(void **state)
{
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;
	double i0;

	(void)state;
	cfg_defaults(&c);
	ctl_init(&st);
	base_sample(&s, 10 * GiB, 1.9 * GiB);
	ctl_step(&c, &st, &s, 0, &d);
	ctl_step(&c, &st, &s, 2, &d);
	i0 = d.t.i;
	s.mem_available = (uint64_t)(0.5 * GiB);
	ctl_step(&c, &st, &s, 3 * 86400, &d); /* three days late */
	assert_true(fabs(d.t.i - i0) < 1e-12);
	assert_true(d.t.d <= 1e-12);
	s.ksm.v[KSM_PAGES_SCANNED] = 1000000;
	ctl_step(&c, &st, &s, 2, &d);
	s.ksm.v[KSM_PAGES_SCANNED] = 10; /* reset */
	ctl_step(&c, &st, &s, 2, &d);
	assert_in_bounds(&c, &d, &s);
	assert_true(d.t.scanned_rate == 0);
	ctl_step(&c, &st, &s, -5, &d); /* clock went backwards */
	assert_in_bounds(&c, &d, &s);
}

/* ksmd measured above the cap (max_cpu, or the burst while it lasts) cuts
 * the rate at once, to what the last interval shows the cap allows. */
static void test_cpu_measured_over_cap_cuts(void **state)
{
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;

	(void)state;
	cfg_defaults(&c);
	ctl_init(&st);
	base_sample(&s, 10 * GiB, 1 * GiB);
	s.ksm.v[KSM_RUN] = 1;
	ctl_step(&c, &st, &s, 0, &d);
	assert_true(fabs(d.t.cpu_cap - c.max_cpu_burst / 100) < 1e-9); /* a full allowance */
	/* a cost of 3 µs a page, measured over a while */
	for (int i = 0; i < 10; i++) {
		s.ksm.v[KSM_PAGES_SCANNED] += 20000;
		s.ksmd_cpu_s += 0.06;
		ctl_step(&c, &st, &s, 2, &d);
	}
	assert_true(fabs(d.t.cost_us - 3) < 0.01);
	/* then 2 s: 100k pages scanned for 1.5 s of CPU = 75%, above the 50%
	 * burst; the cost estimate (the mean of 3 and 15 µs) would allow
	 * 0.5 / 9 µs, the cut allows what the interval showed */
	s.ksm.v[KSM_PAGES_SCANNED] += 100000;
	s.ksmd_cpu_s += 1.5;
	ctl_step(&c, &st, &s, 2, &d);
	assert_int_equal(d.reason, CTL_R_CPU_CAP);
	assert_true(fabs(d.t.cost_us - 9) < 0.01);
	assert_true(fabs(d.t.rate_cap - 50000 * 0.5 / 0.75) < 1);
	assert_true(d.rate_planned <= 50000 * 0.5 / 0.75 * 1.1);
	/* and the allowance paid for what went above max_cpu */
	assert_true(d.t.burst < 1);
}

/* Without a burst allowance the cap is max_cpu. */
static void test_cap_without_burst(void **state)
{
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;

	(void)state;
	cfg_defaults(&c);
	c.max_cpu_burst = c.max_cpu;
	ctl_init(&st);
	base_sample(&s, 10 * GiB, 1 * GiB);
	ctl_step(&c, &st, &s, 0, &d);
	assert_true(fabs(d.t.cpu_cap - c.max_cpu / 100) < 1e-9);
	assert_true(fabs(d.t.rate_cap - (c.max_cpu / 100) / (d.t.plan_cost_us * 1e-6)) < 1);
}

/* smart_scan begins to skip the unique pages of merged guests in the
 * middle of a pass: they leave the unstable tree (unshared) and count as
 * volatile. pages_skipped says so at once; that is not churn, and the
 * merging of what merges is not de-rated for it. */
static void test_smart_scan_skips_are_not_churn(void **state)
{
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;

	(void)state;
	cfg_defaults(&c);
	ctl_init(&st);
	base_sample(&s, 24 * GiB, 4 * GiB);
	s.ksm.present |= KSM_BIT(KSM_PAGES_SKIPPED);
	s.ksm.v[KSM_RUN] = 1;
	/* 4 guests of 64k pages: 60% merged, 30% unique, 10% volatile */
	s.ksm.v[KSM_PAGES_SHARED] = 600;
	s.ksm.v[KSM_PAGES_SHARING] = 156000;
	s.ksm.v[KSM_PAGES_UNSHARED] = 78600;
	s.ksm.v[KSM_PAGES_VOLATILE] = 26200;
	ctl_step(&c, &st, &s, 0, &d);
	/* two whole passes at 20000 pages a second */
	for (int i = 0; i < 30; i++) {
		s.ksm.v[KSM_PAGES_SCANNED] += 20000;
		s.ksmd_cpu_s += 0.03;
		if (i % 13 == 12)
			s.ksm.v[KSM_FULL_SCANS]++;
		ctl_step(&c, &st, &s, 1, &d);
	}
	assert_true(d.t.derate == 1);
	/* half way through the next pass, smart_scan skips 60000 of them */
	for (int i = 0; i < 6; i++) {
		s.ksm.v[KSM_PAGES_SCANNED] += 20000;
		s.ksm.v[KSM_PAGES_SKIPPED] += 10000;
		s.ksm.v[KSM_PAGES_UNSHARED] -= 10000;
		s.ksm.v[KSM_PAGES_VOLATILE] += 10000;
		s.ksmd_cpu_s += 0.03;
		ctl_step(&c, &st, &s, 1, &d);
		assert_true(d.t.derate == 1);
	}
	/* while pages that turn volatile without being skipped do de-rate
	 * (merged pages written with new content) */
	s.ksm.v[KSM_PAGES_SHARING] -= 60000;
	s.ksm.v[KSM_PAGES_VOLATILE] += 60000;
	s.ksm.v[KSM_PAGES_SCANNED] += 20000;
	ctl_step(&c, &st, &s, 1, &d);
	assert_true(d.t.derate < 1);
}

/* A host whose start-up probe closed after ten minutes at 1000 pages a
 * second (a pass every 131 s), then a guest of 256 MiB: its probe opens. */
static void guest_after_quiet_start(struct cfg *c, struct ctl_state *st, struct sample *s, struct ctl_decision *d,
				    bool skipped, unsigned guest_mib)
{
	cfg_defaults(c);
	ctl_init(st);
	base_sample(s, 24 * GiB, 4 * GiB);
	if (skipped)
		s->ksm.present |= KSM_BIT(KSM_PAGES_SKIPPED);
	s->have_anon = true;
	s->anon = (uint64_t)600 << 20;
	s->ksm.v[KSM_RUN] = 1;
	s->ksm.v[KSM_PAGES_SHARED] = 308;
	s->ksm.v[KSM_PAGES_SHARING] = 78364;
	s->ksm.v[KSM_PAGES_UNSHARED] = 19650;
	s->ksm.v[KSM_PAGES_VOLATILE] = 32750;
	ctl_step(c, st, s, 0, d);
	for (int i = 0; i < 600; i++) {
		s->ksm.v[KSM_PAGES_SCANNED] += 1000;
		s->ksmd_cpu_s += 0.0025;
		if (i % 131 == 130)
			s->ksm.v[KSM_FULL_SCANS]++;
		ctl_step(c, st, s, 1, d);
	}
	assert_false(st->probe.open);
	s->anon += (uint64_t)guest_mib << 20;
	ctl_step(c, st, s, 1, d);
	assert_true(st->probe.open);
}

/* A guest's first visits and a full scan in one interval: the full scan may
 * have come first (ksm_enter() put the guest at the head of the list), and
 * then its second visit is a whole pass away, whatever the pages of the
 * last pass said (on the real kernel, a probe that took the full scan as
 * after the first visits closed a tick later, and the guest took 44 s). */
static void test_first_visits_beside_a_full_scan(void **state)
{
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;

	(void)state;
	guest_after_quiet_start(&c, &st, &s, &d, false, 256);
	/* the rest of the pass, a full scan and all 65536 first visits */
	s.ksm.v[KSM_PAGES_SCANNED] += 160000;
	s.ksm.v[KSM_FULL_SCANS]++;
	s.ksm.v[KSM_PAGES_VOLATILE] += 65536;
	s.ksmd_cpu_s += 0.4;
	ctl_step(&c, &st, &s, 1, &d);
	assert_true(st.probe.open);
	/* more than the last pass's pages (236000), no full scan: still open */
	s.ksm.v[KSM_PAGES_SCANNED] += 250000;
	s.ksmd_cpu_s += 0.6;
	ctl_step(&c, &st, &s, 1, &d);
	assert_true(st.probe.open);
	/* the full scan, then a pass (the one that just ended) after the
	 * first visits: closed */
	s.ksm.v[KSM_PAGES_SCANNED] += 60000;
	s.ksm.v[KSM_FULL_SCANS]++;
	s.ksmd_cpu_s += 0.15;
	ctl_step(&c, &st, &s, 1, &d);
	s.ksm.v[KSM_PAGES_SCANNED] += 20000;
	s.ksmd_cpu_s += 0.05;
	ctl_step(&c, &st, &s, 1, &d);
	assert_false(st.probe.open);
}

/* A guest arrives beside two merged ones whose unique pages smart_scan
 * skips. The probe's first pass finishes the older memory's pass, and the
 * skipped pages come back into the unstable tree all at once (unshared
 * 19650 to 39300, as measured, then `back` more: 24000 measured) while
 * nothing merges yet: that is not the new guest's second visit, and the
 * probe stays open until it has had one; a second visit that settles
 * without merging still closes it. The guest's process has 192 MiB, 128 MiB
 * of it (32768 pages) marked mergeable, so that what comes back is more
 * than the two thirds of its first visits that close a probe. */
static void skipped_pages_return(unsigned back)
{
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s;

	guest_after_quiet_start(&c, &st, &s, &d, true, 192);
	/* the rest of the pass, then 25151 first visits; 19650 skipped pages
	 * come back, nothing merges */
	s.ksm.v[KSM_PAGES_SCANNED] += 160000;
	s.ksm.v[KSM_FULL_SCANS]++;
	s.ksm.v[KSM_PAGES_UNSHARED] = 39300;
	s.ksm.v[KSM_PAGES_VOLATILE] = 32750 + 25151;
	s.ksmd_cpu_s += 0.38;
	ctl_step(&c, &st, &s, 1, &d);
	assert_true(st.probe.open);
	assert_int_equal(d.reason, CTL_R_PROBING);
	/* the last 7617 first visits */
	s.ksm.v[KSM_PAGES_SCANNED] += 7617;
	s.ksm.v[KSM_PAGES_VOLATILE] += 7617;
	s.ksmd_cpu_s += 0.02;
	ctl_step(&c, &st, &s, 1, &d);
	assert_true(st.probe.open);
	/* the older memory's pass, longer than the last one (131000 pages):
	 * smart_scan's skipped pages come back in it, past the last pass's
	 * length, and settle in the unstable tree; then the full scan: still
	 * open */
	for (int i = 0; i < 5; i++) {
		s.ksm.v[KSM_PAGES_SCANNED] += i < 4 ? 40000 : 10000;
		if (i == 3) {
			s.ksm.v[KSM_PAGES_UNSHARED] += back;
			s.ksm.v[KSM_PAGES_VOLATILE] -= back;
		}
		s.ksm.v[KSM_FULL_SCANS] += i == 4;
		s.ksmd_cpu_s += 0.1;
		ctl_step(&c, &st, &s, 1, &d);
		assert_true(st.probe.open);
	}
	/* the guest's second visit settles its pages and merges none (it was
	 * unique after all): closed before the visit ends */
	for (int i = 0; i < 4 && st.probe.open; i++) {
		s.ksm.v[KSM_PAGES_SCANNED] += 8000;
		s.ksm.v[KSM_PAGES_UNSHARED] += 8000;
		s.ksm.v[KSM_PAGES_VOLATILE] -= 8000;
		s.ksmd_cpu_s += 0.02;
		ctl_step(&c, &st, &s, 1, &d);
	}
	assert_false(st.probe.open);
}

/* As measured; and with more skipped pages coming back (a host with more
 * unique memory in its guests), enough to pass for the two thirds of the
 * probe's growth that close it: only the full scan to come tells them
 * from the second visit. */
static void test_skipped_pages_returning_keep_the_probe(void **state)
{
	(void)state;
	skipped_pages_return(24000);
	skipped_pages_return(40000);
}

/* ---- property test ----------------------------------------------------------- */

static uint64_t rs;
static uint64_t rnd(void)
{
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return rs * 0x2545F4914F6CDD1DULL;
}
static double urand(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}
static uint64_t between(uint64_t lo, uint64_t hi)
{
	return lo + rnd() % (hi - lo + 1);
}

static void random_cfg(struct cfg *c)
{
	cfg_defaults(c);
	c->interval_ms = between(100, 600000);
	c->idle_interval_ms = between(c->interval_ms, 600000);
	c->kernel_advisor = (int)(rnd() % 2);
	c->target_available.is_percent = rnd() % 2;
	c->target_available.percent = urand() * 100;
	c->target_available.bytes = between(0, (uint64_t)64 << 40);
	c->stop_margin.percent = urand() * 100;
	c->stop_delay_ms = between(0, 86400000);
	c->psi_threshold = rnd() % 3 ? 0 : urand() * 100;
	if (rnd() % 4 == 0)
		strcpy(c->guest_cmdline, "qemu");
	c->kp = urand() * 1000;
	c->ki = urand() * 100;
	c->kd = urand() * 100000;
	c->derivative_filter_ms = between(0, 3600000);
	c->max_cpu = 1 + urand() * 99;
	c->max_cpu_burst = c->max_cpu + urand() * (100 - c->max_cpu);
	c->burst_duration_ms = between(0, 3600000);
	c->idle_max_cpu = 0.01 + urand() * (c->max_cpu - 0.01) * 0.99;
	c->idle_scan_period_ms = between(10000, 7 * 86400000ULL);
	c->min_yield = urand() * 0.5;
	c->full_yield = c->min_yield + 1e-6 + urand() * 0.5;
	c->volatile_limit = urand() * 100;
	c->churn_loss = 0.1 + urand() * 24.9;
	c->wake_threshold.percent = urand() * 100;
	c->wake_threshold.is_percent = rnd() % 2;
	c->wake_threshold.bytes = between(0, (uint64_t)1 << 40);
	c->pages_to_scan_min = between(1, 1000000);
	c->pages_to_scan_max = between(c->pages_to_scan_min, 1000000);
	c->sleep_ms_min = between(1, 60000);
	c->sleep_ms_max = between(c->sleep_ms_min, 60000);
}

static void random_sample(struct sample *s, const struct sample *prev)
{
	uint64_t total = rnd() % 64 == 0 ? between(1, (uint64_t)8 << 40) : prev->mem_total;
	int64_t *v = s->ksm.v;

	*s = *prev;
	s->mem_total = total ? total : 1;
	s->mem_available = rnd() % 8 == 0 ? between(0, s->mem_total) : prev->mem_available;
	if (s->mem_available > s->mem_total)
		s->mem_available = s->mem_total;
	s->meminfo_err = rnd() % 200 == 0 ? -5 : 0;
	for (int i = KSM_PAGES_SHARED; i < KSM_ITEM_COUNT; i++) {
		switch (rnd() % 16) {
		case 0: v[i] = 0; break;                                    /* reset */
		case 1: v[i] = (int64_t)(rnd() >> 1); break;                /* garbage, huge */
		case 2: v[i] -= (int64_t)between(0, 1000); break;           /* backwards */
		default: v[i] += (int64_t)between(0, 100000); break;        /* normal */
		}
		if (i != KSM_GENERAL_PROFIT && v[i] < 0)
			v[i] = 0;
	}
	v[KSM_RUN] = (int64_t)(rnd() % 3);
	v[KSM_PAGES_TO_SCAN] = (int64_t)between(0, 100000);
	v[KSM_SLEEP_MILLISECS] = (int64_t)between(0, 100000);
	v[KSM_ADVISOR_MODE] = (int64_t)(rnd() % 2);
	s->ksm.present = rnd() % 100 == 0 ? rnd() : ~UINT64_C(0);
	s->have_ksmd_cpu = rnd() % 10 != 0;
	s->ksmd_cpu_s += rnd() % 20 == 0 ? -urand() * 100 : urand() * 5;
	s->have_psi = rnd() % 2;
	s->psi_some_avg10 = urand() * 100;
	s->have_guest = rnd() % 2;
	s->guest_rss = between(0, (uint64_t)1 << 44);
	s->have_anon = rnd() % 8 != 0;
	s->anon = rnd() % 8 == 0 ? between(0, s->mem_total) : prev->anon + between(0, 1 << 20);
	s->have_cow = rnd() % 8 != 0;
	s->cow_ksm = rnd() % 32 == 0 ? rnd() : prev->cow_ksm + between(0, 1000);
}

static double random_dt(void)
{
	switch (rnd() % 20) {
	case 0: return 0;
	case 1: return -urand() * 10;
	case 2: return urand() * 1e6;   /* a stalled daemon */
	case 3: return 1e-9;
	default: return urand() * 20;
	}
}

static void assert_state_finite(const struct cfg *c, const struct ctl_state *st)
{
	const double v[] = { st->dfilt, st->efilt, st->cost, st->cost_merging, st->cpu_share, st->calm_s,
			     st->acc_cpu, st->acc_scanned, st->acc_work, st->ev_gain, st->ev_scanned, st->breaks,
			     st->anon.known, st->anon.noise, st->anon.level, st->anon.dev, st->anon.cusum,
			     st->low.known, st->low.noise, st->low.cusum, st->low_value, st->low_claim,
			     st->bucket, st->pass_pages, st->pass_len, st->probe.pages, st->probe.scanned };
	/* integ and u are clamps, not checked */
	(void)c;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_true(isfinite(v[i]));
	assert_true(st->ev_gain >= 0 && st->ev_scanned >= 0 && st->anon.noise >= 0);
}

static void assert_terms_finite(const struct ctl_terms *t)
{
	const double v[] = { t->error, t->p, t->i, t->d, t->yield, t->churn, t->breaks, t->probe_pages,
			     t->anon_excess, t->anon_noise, t->cost_us, t->plan_cost_us, t->cpu_share, t->cpu_cap,
			     t->burst, t->rate_cap, t->scanned_rate };
	/* u, the benefit and its parts, rate_idle and the rate are clamps
	 * (clamp() maps NaN to a bound too): not checked */
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_true(isfinite(v[i]));
}

static void test_property_random_samples(void **state)
{
	const char *seed_env = getenv("KSMPILOT_SEED");
	const char *scale_env = getenv("KSMPILOT_TEST_SCALE");
	uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : (uint64_t)time(NULL) ^ 0xA5A5A5A5ULL;
	double sc = scale_env ? atof(scale_env) : 1.0;
	long n = (long)(1000000 * (sc > 0 && sc <= 1 ? sc : 1.0));
	struct cfg c;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s, prev;

	(void)state;
	printf("property test: %ld samples, seed %" PRIu64 " (replay with KSMPILOT_SEED=%" PRIu64 ")\n", n, seed,
	       seed);
	rs = seed ? seed : 1;
	random_cfg(&c);
	ctl_init(&st);
	base_sample(&prev, 16 * GiB, 4 * GiB);
	for (long i = 0; i < n; i++) {
		if (rnd() % 50000 == 0) {
			struct cfg c2;
			random_cfg(&c2);
			ctl_reconfigure(&c2, &st, &prev);
			c = c2;
		}
		random_sample(&s, &prev);
		ctl_step(&c, &st, &s, random_dt(), &d);
		if (!d.hold) {
			assert_in_bounds(&c, &d, &s);
			assert_terms_finite(&d.t);
		}
		assert_state_finite(&c, &st);
		prev = s;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_rate_bounds),
		cmocka_unit_test(test_map_rate_defer_keeps_pages),
		cmocka_unit_test(test_rate_of),
		cmocka_unit_test(test_unusable_sample_holds),
		cmocka_unit_test(test_several_passes_in_one_interval),
		cmocka_unit_test(test_burst_allowance_over_carried_ticks),
		cmocka_unit_test(test_short_span_measures_no_share),
		cmocka_unit_test(test_short_span_moves_no_derivative),
		cmocka_unit_test(test_counters_carried_over),
		cmocka_unit_test(test_counters_carried_over_start),
		cmocka_unit_test(test_counters_quiet_when),
		cmocka_unit_test(test_pressure_starts_and_p_term),
		cmocka_unit_test(test_no_pressure_stopped_ksm_stays_stopped),
		cmocka_unit_test(test_stop_delay),
		cmocka_unit_test(test_derivative_on_falling_memory),
		cmocka_unit_test(test_integral_and_antiwindup),
		cmocka_unit_test(test_yield_fades_from_full),
		cmocka_unit_test(test_integral_frozen_while_idle),
		cmocka_unit_test(test_bumpless_reload),
		cmocka_unit_test(test_reload_at_a_clamp),
		cmocka_unit_test(test_reload_after_the_instant),
		cmocka_unit_test(test_defer_leaves_pages_to_advisor),
		cmocka_unit_test(test_gap_and_counter_reset),
		cmocka_unit_test(test_cpu_measured_over_cap_cuts),
		cmocka_unit_test(test_cap_without_burst),
		cmocka_unit_test(test_smart_scan_skips_are_not_churn),
		cmocka_unit_test(test_skipped_pages_returning_keep_the_probe),
		cmocka_unit_test(test_first_visits_beside_a_full_scan),
		cmocka_unit_test(test_property_random_samples),
	};

	/* KSMPILOT_TEST=test_name runs one (a glob) */
	if (getenv("KSMPILOT_TEST"))
		cmocka_set_test_filter(getenv("KSMPILOT_TEST"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
