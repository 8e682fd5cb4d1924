/* test_history.c - the history record: the accumulator over a period, the
 * fields written and read back through one table, records that lack a
 * field or hold garbage, --since, and the sparkline. The journal itself is
 * covered by tests/history.sh against a real journald. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "history.h"
#include "msgid.h"
#include "util.h"

static void sample_at(struct sample *s, int64_t sharing, int64_t zero, int64_t full_scans, int64_t scanned,
		      double ksmd_cpu)
{
	memset(s, 0, sizeof(*s));
	s->mem_total = 16ULL << 30;
	s->ksm.present = KSM_BIT(KSM_PAGES_SHARING) | KSM_BIT(KSM_ZERO_PAGES) | KSM_BIT(KSM_FULL_SCANS) |
			 KSM_BIT(KSM_PAGES_SCANNED) | KSM_BIT(KSM_GENERAL_PROFIT);
	s->ksm.v[KSM_PAGES_SHARING] = sharing;
	s->ksm.v[KSM_ZERO_PAGES] = zero;
	s->ksm.v[KSM_FULL_SCANS] = full_scans;
	s->ksm.v[KSM_PAGES_SCANNED] = scanned;
	s->ksm.v[KSM_GENERAL_PROFIT] = (int64_t)((double)sharing * page_bytes()) - 1000;
	s->have_ksmd_cpu = ksmd_cpu >= 0;
	s->ksmd_cpu_s = ksmd_cpu;
}

static void decision(struct ctl_decision *d, enum ctl_mode mode, double error, double cpu_share)
{
	memset(d, 0, sizeof(*d));
	d->mode = mode;
	d->t.error = error;
	d->t.cpu_share = cpu_share;
}

/* Parse the fields as journald would hand them back. */
static void read_back(const struct log_field *f, size_t n, struct history_record *r)
{
	history_record_init(r);
	for (size_t i = 0; i < n; i++) {
		char data[200];
		int len = snprintf(data, sizeof(data), "%s=%s", f[i].name, f[i].value);
		assert_int_equal(history_record_field(r, data, (size_t)len), 0);
	}
}

static void test_accumulate_period(void **state)
{
	struct history h;
	struct sample s;
	struct ctl_decision d;
	struct log_field f[HISTORY_MAX_FIELDS];
	struct history_record r;
	uint64_t t0 = 5000000;
	size_t n;

	(void)state;
	memset(&h, 0, sizeof(h));
	history_start(&h, t0, 1796000000);
	/* 10 ticks of 1 s: pressure 0.1 for 4 s, then 0.35 for 6 s; ksmd
	 * takes 0.25 s a tick; two full scans end; pages_scanned grows 1000
	 * a tick; one mode change and one probe */
	for (int i = 0; i <= 10; i++) {
		sample_at(&s, 100 * i, 10, 7 + (i >= 3) + (i >= 8), 50000 + 1000 * i, 100.0 + 0.25 * i);
		decision(&d, i < 5 ? CTL_MODE_ACTIVE : CTL_MODE_IDLE, i <= 4 ? 0.1 : 0.35, 0.5);
		history_add(&h, &s, &d, i ? 1.0 : 0.0, i == 5, i == 0);
	}
	assert_false(history_due(&h, t0 + 9999999, 10000));
	assert_true(history_due(&h, t0 + 10000000, 10000));
	n = history_fields(&h, t0 + 10000000, &s, &d, f, HISTORY_MAX_FIELDS);
	read_back(f, n, &r);
	assert_true(history_record_complete(&r));
	assert_int_equal(r.start, 1796000000);
	assert_true(fabs(r.period_s - 10.0) < 1e-9);
	assert_true(fabs(r.ksmd_cpu_s - 2.5) < 0.006);   /* measured, not the 0.5 share estimate */
	assert_false(r.cpu_estimated);
	assert_true(r.full_scans == 2);
	assert_true(r.pages_scanned == 10000);
	assert_true(r.mode_changes == 1);
	assert_true(r.probes == 1);
	/* time-weighted: ticks 1..4 at 0.1, ticks 5..10 at 0.35 */
	assert_true(fabs(r.pressure_mean - (4 * 0.1 + 6 * 0.35) / 10) < 1e-5);
	assert_true(fabs(r.pressure_max - 0.35) < 1e-5);
	assert_true(r.saving_bytes == (1000 + 10) * page_bytes());
	assert_true(r.profit_bytes == 1000 * page_bytes() - 1000);
	assert_string_equal(r.mode, "idle");
	assert_true(r.mem_total_bytes == (double)(16ULL << 30));
	/* the mean saving: ticks 1..10 at 100 i + 10 pages */
	assert_true(fabs(r.saving_mean_bytes - (550 + 10) * page_bytes()) < 1);
}

static void test_next_period_keeps_deltas(void **state)
{
	struct history h;
	struct sample s;
	struct ctl_decision d;
	struct log_field f[HISTORY_MAX_FIELDS];
	struct history_record r;
	size_t n;

	(void)state;
	memset(&h, 0, sizeof(h));
	decision(&d, CTL_MODE_ACTIVE, 0, 0.1);
	history_start(&h, 0, 1);
	sample_at(&s, 0, 0, 10, 0, 5.0);
	history_add(&h, &s, &d, 0, false, false);
	/* the period ends; the full scan that ends on the next tick belongs
	 * to the next period, counted from the last tick of this one */
	history_start(&h, 1000000, 2);
	sample_at(&s, 0, 0, 11, 0, 6.0);
	history_add(&h, &s, &d, 1.0, false, false);
	n = history_fields(&h, 2000000, &s, &d, f, HISTORY_MAX_FIELDS);
	read_back(f, n, &r);
	assert_true(r.full_scans == 1);
	assert_true(fabs(r.ksmd_cpu_s - 1.0) < 0.006);
	/* a counter that goes back counts nothing */
	history_start(&h, 2000000, 3);
	sample_at(&s, 0, 0, 3, 0, 7.0);
	history_add(&h, &s, &d, 1.0, false, false);
	n = history_fields(&h, 3000000, &s, &d, f, HISTORY_MAX_FIELDS);
	read_back(f, n, &r);
	assert_true(r.full_scans == 0);
	/* a tick without full_scans, then one with it: no growth since boot */
	history_start(&h, 3000000, 4);
	sample_at(&s, 0, 0, 3, 0, 8.0);
	s.ksm.present &= ~KSM_BIT(KSM_FULL_SCANS);
	history_add(&h, &s, &d, 1.0, false, false);
	sample_at(&s, 0, 0, 500, 0, 9.0);
	history_add(&h, &s, &d, 1.0, false, false);
	n = history_fields(&h, 5000000, &s, &d, f, HISTORY_MAX_FIELDS);
	read_back(f, n, &r);
	assert_true(r.full_scans == 0);
}

static void test_invisible_ksmd_and_old_kernel(void **state)
{
	struct history h;
	struct sample s;
	struct ctl_decision d;
	struct log_field f[HISTORY_MAX_FIELDS];
	struct history_record r;
	size_t n;

	(void)state;
	memset(&h, 0, sizeof(h));
	history_start(&h, 0, 1);
	for (int i = 0; i <= 4; i++) {
		sample_at(&s, 0, 0, 1, 0, -1); /* ksmd not visible */
		s.ksm.present &= ~(KSM_BIT(KSM_PAGES_SCANNED) | KSM_BIT(KSM_GENERAL_PROFIT) | KSM_BIT(KSM_ZERO_PAGES));
		decision(&d, CTL_MODE_ACTIVE, 0, 0.2);
		history_add(&h, &s, &d, i ? 2.0 : 0.0, false, false);
	}
	n = history_fields(&h, 8000000, &s, &d, f, HISTORY_MAX_FIELDS);
	for (size_t i = 0; i < n; i++) {
		assert_string_not_equal(f[i].name, "KSM_GENERAL_PROFIT");
		assert_string_not_equal(f[i].name, "KSM_PERIOD_PAGES_SCANNED");
	}
	read_back(f, n, &r);
	assert_true(history_record_complete(&r));
	assert_true(r.cpu_estimated);
	assert_true(fabs(r.ksmd_cpu_s - 0.2 * 8) < 0.006);
	assert_true(isnan(r.profit_bytes));
	assert_true(isnan(r.pages_scanned));
}

static void test_record_fields(void **state)
{
	struct history_record r;
	static const char *const complete[] = {
		"KSM_PERIOD_START=1796000000", "KSM_PERIOD_SECONDS=3600.0", "KSM_SAVING_BYTES=641728512",
		"KSM_PERIOD_KSMD_CPU_SECONDS=42.10", "KSM_PERIOD_FULL_SCANS=12", "KSM_PERIOD_MODE_CHANGES=3",
		"KSM_PERIOD_PROBES=1", "KSM_PERIOD_PRESSURE_MEAN=0.01200",
	};
	char buf[64];

	(void)state;
	history_record_init(&r);
	for (size_t i = 0; i < ARRAY_SIZE(complete); i++) {
		assert_false(history_record_complete(&r));
		assert_int_equal(history_record_field(&r, complete[i], strlen(complete[i])), 0);
	}
	assert_true(history_record_complete(&r));
	assert_true(r.ksmd_cpu_s == 42.10);
	/* other fields, and fields without '=', are ignored */
	assert_int_equal(history_record_field(&r, "MESSAGE=history: x", 18), 0);
	assert_int_equal(history_record_field(&r, "KSM_FUTURE_FIELD=1", 18), 0);
	assert_int_equal(history_record_field(&r, "garbage", 7), 0);
	/* not NUL-terminated: only len bytes count */
	memcpy(buf, "_PID=123456789", 14);
	assert_int_equal(history_record_field(&r, buf, 8), 0);
	assert_int_equal(r.pid, 123);
	/* a known field with a bad value */
	assert_int_equal(history_record_field(&r, "KSM_SAVING_BYTES=12MiB", 22), -EBADMSG);
	assert_int_equal(history_record_field(&r, "KSM_PERIOD_START=", 17), -EBADMSG);
	assert_int_equal(history_record_field(&r, "_PID=-5", 7), -EBADMSG);
	assert_int_equal(history_record_field(&r, "KSM_MODE=a-mode-name-far-too-long", 33), -EBADMSG);
	/* a hostile mode name is sanitised */
	assert_int_equal(history_record_field(&r, "KSM_MODE=id\x1b[2Jle", 17), 0);
	assert_null(strchr(r.mode, '\x1b'));
}

static void test_parse_since(void **state)
{
	int64_t now = 1796000000, t;
	struct tm tm;
	time_t tt;

	(void)state;
	assert_int_equal(history_parse_since("-7d", now, &t), 0);
	assert_true(t == now - 7 * 86400);
	assert_int_equal(history_parse_since("-12h", now, &t), 0);
	assert_true(t == now - 12 * 3600);
	assert_int_equal(history_parse_since("-30min", now, &t), 0);
	assert_true(t == now - 1800);
	assert_int_equal(history_parse_since("-90s", now, &t), 0);
	assert_true(t == now - 90);
	assert_int_equal(history_parse_since("-2w", now, &t), 0);
	assert_true(t == now - 14 * 86400);
	assert_int_equal(history_parse_since("-1.5h", now, &t), 0);
	assert_true(t == now - 5400);
	assert_int_equal(history_parse_since("@1795000000", now, &t), 0);
	assert_true(t == 1795000000);
	assert_int_equal(history_parse_since("2026-11-20 14:30", now, &t), 0);
	tt = (time_t)t;
	localtime_r(&tt, &tm);
	assert_int_equal(tm.tm_year, 126);
	assert_int_equal(tm.tm_mon, 10);
	assert_int_equal(tm.tm_mday, 20);
	assert_int_equal(tm.tm_hour, 14);
	assert_int_equal(tm.tm_min, 30);
	assert_int_equal(history_parse_since("2026-11-20", now, &t), 0);
	tt = (time_t)t;
	localtime_r(&tt, &tm);
	assert_int_equal(tm.tm_hour, 0);
	assert_int_equal(history_parse_since("today", now, &t), 0);
	assert_true(t <= now && now - t < 86400 + 3600);
	assert_int_equal(history_parse_since("yesterday", now, &t), 0);
	assert_true(t < now - 86400 + 3600 && now - t < 2 * 86400 + 3600);
	t = 42;
	/* "@10000000000000": in microseconds, past INT64_MAX */
	static const char *const bad[] = { "", "7d", "-d", "-7", "-7 d", "-7days", "-1e99d", "@", "@x", "@-5",
					   "@10000000000000", "2026-13-45", "2026-11-20 25:00", "2026-11-20x",
					   "lastweek", "-inf h" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (history_parse_since(bad[i], now, &t) != -EINVAL)
			fail_msg("'%s' was taken as a time", bad[i]);
		assert_true(t == 42);
	}
}

static void test_sparkline(void **state)
{
	const double rise[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	const double gap[3] = { 1, NAN, 3 };
	const double flat[4] = { 5, 5, 5, 5 };
	double many[120];
	char out[512];

	(void)state;
	assert_int_equal(history_sparkline(rise, 8, 60, true, out, sizeof(out)), 8);
	assert_string_equal(out, "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588");
	assert_int_equal(history_sparkline(rise, 8, 60, false, out, sizeof(out)), 8);
	assert_string_equal(out, "_.-:=+*#");
	assert_int_equal(history_sparkline(gap, 3, 60, false, out, sizeof(out)), 3);
	assert_string_equal(out, "_ #");
	assert_int_equal(history_sparkline(flat, 4, 60, false, out, sizeof(out)), 4);
	assert_string_equal(out, "____");
	/* 120 values in 60 columns: each column the mean of two */
	for (int i = 0; i < 120; i++)
		many[i] = i < 60 ? 0 : (i % 2 ? 10 : 0);
	assert_int_equal(history_sparkline(many, 120, 60, false, out, sizeof(out)), 60);
	assert_int_equal(strlen(out), 60);
	assert_int_equal(out[0], '_');
	assert_int_equal(out[59], '=');        /* mean 5 of 0..10: level 4 */
	/* the buffer bounds the output, whole glyphs only */
	assert_int_equal(history_sparkline(rise, 8, 60, true, out, 10), 3);
	assert_int_equal(strlen(out), 9);
	assert_int_equal(history_sparkline(rise, 0, 60, true, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accumulate_period),
		cmocka_unit_test(test_next_period_keeps_deltas),
		cmocka_unit_test(test_invisible_ksmd_and_old_kernel),
		cmocka_unit_test(test_record_fields),
		cmocka_unit_test(test_parse_since),
		cmocka_unit_test(test_sparkline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
