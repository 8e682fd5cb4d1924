/* test_sample.c - the sampler with a fake struct proc_ops and a fake KSM
 * tree, time driven by the now_ms argument; PSI from a temporary file; and
 * one plausibility test against the real libproc2 implementation. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ksm.h"
#include "sample.h"
#include "util.h"

#define GiB (UINT64_C(1) << 30)
#define MiB (UINT64_C(1) << 20)

/* ---- the fake /proc ------------------------------------------------------- */

struct fake_task {
	const char *cmdline;
	uint64_t rss;
};

struct fake {
	int meminfo_err, meminfo_calls;
	struct meminfo_values mi;
	int find_err, find_calls, find_pid;
	int ticks_err, ticks_calls, ticks_pid;
	uint64_t ticks;
	int guest_err, guest_calls;
	int guest_slices_left, guest_restarts;
	struct fake_task tasks[4];
	int destroy_calls;
	int cow_err, cow_calls;
	uint64_t cow;
};

static int fake_vmstat_cow(void *ctx, uint64_t *cow)
{
	struct fake *f = ctx;

	f->cow_calls++;
	if (f->cow_err)
		return f->cow_err;
	*cow = f->cow;
	return 0;
}

static int fake_meminfo(void *ctx, struct meminfo_values *out)
{
	struct fake *f = ctx;

	f->meminfo_calls++;
	if (f->meminfo_err)
		return f->meminfo_err;
	*out = f->mi;
	return 0;
}

static int fake_find_ksmd(void *ctx, int *pid)
{
	struct fake *f = ctx;

	f->find_calls++;
	if (f->find_err)
		return f->find_err;
	*pid = f->find_pid;
	return 0;
}

static int fake_task_ticks(void *ctx, int pid, uint64_t *ticks)
{
	struct fake *f = ctx;

	f->ticks_calls++;
	f->ticks_pid = pid;
	if (f->ticks_err)
		return f->ticks_err;
	*ticks = f->ticks;
	return 0;
}

static int fake_guest_usage(void *ctx, struct search_re *re, uint64_t budget_us, bool restart,
			    struct guest_usage *out)
{
	struct fake *f = ctx;

	(void)budget_us;
	f->guest_calls++;
	f->guest_restarts += restart;
	if (f->guest_slices_left > 0) {
		/* a pass that needs more than one call */
		f->guest_slices_left--;
		out->seen = 7;
		return -EINPROGRESS;
	}
	if (f->guest_err)
		return f->guest_err;
	out->rss = 0;
	out->count = 0;
	for (size_t i = 0; i < sizeof(f->tasks) / sizeof(f->tasks[0]); i++) {
		if (!f->tasks[i].cmdline || !sample_guest_match(re, f->tasks[i].cmdline))
			continue;
		out->rss += f->tasks[i].rss;
		out->count++;
	}
	return 0;
}

static void fake_destroy(void *ctx)
{
	struct fake *f = ctx;

	f->destroy_calls++;
}

static const struct proc_ops fake_ops = {
	.meminfo = fake_meminfo,
	.find_ksmd = fake_find_ksmd,
	.task_ticks = fake_task_ticks,
	.guest_usage = fake_guest_usage,
	.destroy = fake_destroy,
	.vmstat_cow = fake_vmstat_cow,
};

/* ---- fixture: a KSM tree, a sampler over the fake ------------------------ */

struct fx {
	char dir[64];
	char psi[128];
	struct ksm k;
	struct fake fk;
	struct sampler sm;
	bool sm_on;
};

static void put(const char *dir, const char *name, const char *text)
{
	char p[256];
	size_t len = strlen(text);
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void assert_dbl(double a, double b)
{
	if (!(fabs(a - b) <= 1e-9))
		fail_msg("%.12g != %.12g", a, b);
}

static int setup_plain(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/ksmpilot-test-sample.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	put(f->dir, "run", "1\n");
	put(f->dir, "pages_to_scan", "100\n");
	put(f->dir, "sleep_millisecs", "20\n");
	put(f->dir, "pages_shared", "10\n");
	put(f->dir, "pages_sharing", "20\n");
	put(f->dir, "pages_unshared", "30\n");
	put(f->dir, "pages_volatile", "40\n");
	put(f->dir, "full_scans", "2\n");
	put(f->dir, "general_profit", "-512\n");
	put(f->dir, "max_page_sharing", "256\n");
	snprintf(f->psi, sizeof(f->psi), "%s/psi", f->dir);
	if (ksm_open(&f->k, f->dir, NULL) != 0)
		return -1;
	f->fk.mi.total = 16 * GiB;
	f->fk.mi.available = 8 * GiB;
	f->fk.mi.free = 3 * GiB;
	f->fk.find_pid = 77;
	f->fk.ticks = 250;
	f->fk.tasks[0] = (struct fake_task){ "qemu-system-x86_64 -name vm1 -m 1024", 1 * GiB };
	f->fk.tasks[1] = (struct fake_task){ "qemu-system-x86_64 -name vm2 -m 2048", 2 * GiB };
	f->fk.tasks[2] = (struct fake_task){ "bash", 4 * MiB };
	*state = f;
	return 0;
}

static int setup(void **state)
{
	struct fx *f;

	if (setup_plain(state) < 0)
		return -1;
	f = *state;
	if (sampler_init(&f->sm, &f->k, &fake_ops, &f->fk, NULL) != 0)
		return -1;
	f->sm.clk_tck = 100; /* independent of the machine */
	f->sm_on = true;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->sm_on)
		sampler_fini(&f->sm);
	ksm_close(&f->k);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ---- meminfo and the KSM counters ------------------------------------------ */

static void test_meminfo(void **state)
{
	struct fx *f = *state;
	struct sample s;

	memset(&s, 0xff, sizeof(s));
	assert_int_equal(sample_take(&f->sm, 1000, &s), 0);
	assert_int_equal(s.meminfo_err, 0);
	assert_int_equal(s.mem_total, 16 * GiB);
	assert_int_equal(s.mem_available, 8 * GiB);
	assert_int_equal(s.mem_free, 3 * GiB);
	assert_int_equal(s.ksm_err, 0);
	assert_int_equal(s.ksm.present, f->k.present);
	assert_int_equal(s.ksm.v[KSM_PAGES_SHARING], 20);
	assert_int_equal(s.ksm.v[KSM_GENERAL_PROFIT], -512);
	/* Everything not filled in is zero, not left over. */
	assert_false(s.have_psi);
	assert_false(s.have_guest);
	assert_false(s.guest_scanned);
	assert_int_equal(s.guest_rss, 0);
	assert_int_equal(f->fk.meminfo_calls, 1);
	/* Fresh values on every sample. */
	f->fk.mi.available = 5 * GiB;
	assert_int_equal(sample_take(&f->sm, 2000, &s), 0);
	assert_int_equal(s.mem_available, 5 * GiB);
	assert_int_equal(f->fk.meminfo_calls, 2);
}

static void test_meminfo_error(void **state)
{
	struct fx *f = *state;
	struct sample s;

	f->fk.meminfo_err = -EIO;
	assert_int_equal(sample_take(&f->sm, 1000, &s), -EIO);
	assert_int_equal(s.meminfo_err, -EIO);
	assert_int_equal(s.mem_total, 0);
	assert_int_equal(s.mem_available, 0);
	/* The rest of the sample is still taken. */
	assert_int_equal(s.ksm_err, 0);
	assert_true(ksm_values_has(&s.ksm, KSM_PAGES_SHARING));
	assert_int_equal(s.ksm.v[KSM_PAGES_SHARING], 20);
	assert_true(s.have_ksmd_cpu);
	/* Both broken: the meminfo error is the first one. */
	put(f->dir, "pages_sharing", "junk\n");
	assert_int_equal(sample_take(&f->sm, 2000, &s), -EIO);
	assert_int_equal(s.ksm_err, -EBADMSG);
	/* Back again. */
	f->fk.meminfo_err = 0;
	assert_int_equal(sample_take(&f->sm, 3000, &s), -EBADMSG);
	assert_int_equal(s.meminfo_err, 0);
	assert_int_equal(s.mem_total, 16 * GiB);
}

static void test_ksm_error(void **state)
{
	struct fx *f = *state;
	struct sample s;

	put(f->dir, "pages_unshared", "12x\n");
	assert_int_equal(sample_take(&f->sm, 1000, &s), -EBADMSG);
	assert_int_equal(s.ksm_err, -EBADMSG);
	assert_int_equal(s.meminfo_err, 0);
	assert_false(ksm_values_has(&s.ksm, KSM_PAGES_UNSHARED));
	assert_true(ksm_values_has(&s.ksm, KSM_PAGES_VOLATILE));
	assert_int_equal(s.ksm.v[KSM_PAGES_VOLATILE], 40);
	assert_int_equal(s.mem_total, 16 * GiB);
}

/* AnonPages comes with meminfo. */
static void test_anon(void **state)
{
	struct fx *f = *state;
	struct sample s;

	f->fk.mi.anon = 3 * GiB;
	f->fk.mi.have_anon = true;
	assert_int_equal(sample_take(&f->sm, 1000, &s), 0);
	assert_true(s.have_anon);
	assert_int_equal(s.anon, 3 * GiB);
}

/* cow_ksm only while asked for, and not again once the kernel lacks it. */
static void test_vmstat_cow(void **state)
{
	struct fx *f = *state;
	struct sample s;

	f->fk.cow = 1234;
	assert_int_equal(sample_take(&f->sm, 1000, &s), 0);
	assert_false(s.have_cow);
	assert_int_equal(f->fk.cow_calls, 0);
	sampler_set_vmstat(&f->sm, true, false);
	assert_int_equal(sample_take(&f->sm, 2000, &s), 0);
	assert_true(s.have_cow);
	assert_true(s.cow_fresh);
	assert_int_equal(s.cow_ksm, 1234);
	/* ksmd idles: every SAMPLE_QUIET_MS, the value as last read between,
	 * which says so (the controller takes a read's breaks over the time
	 * since the read before) */
	sampler_set_vmstat(&f->sm, true, true);
	f->fk.cow = 1300;
	assert_int_equal(sample_take(&f->sm, 2000 + SAMPLE_QUIET_MS - 1, &s), 0);
	assert_true(s.have_cow);
	assert_false(s.cow_fresh);
	assert_int_equal(s.cow_ksm, 1234);
	assert_int_equal(f->fk.cow_calls, 1);
	assert_int_equal(sample_take(&f->sm, 2000 + SAMPLE_QUIET_MS, &s), 0);
	assert_true(s.cow_fresh);
	assert_int_equal(s.cow_ksm, 1300);
	/* at once when ksmd works again */
	sampler_set_vmstat(&f->sm, true, false);
	f->fk.cow = 1400;
	assert_int_equal(sample_take(&f->sm, 2001 + SAMPLE_QUIET_MS, &s), 0);
	assert_int_equal(s.cow_ksm, 1400);
	assert_int_equal(f->fk.cow_calls, 3);
	f->fk.cow_calls = 1;
	f->fk.cow_err = -ENOENT; /* a kernel before 6.1 */
	assert_int_equal(sample_take(&f->sm, 3000, &s), 0);
	assert_false(s.have_cow);
	assert_int_equal(sample_take(&f->sm, 4000, &s), 0);
	assert_int_equal(f->fk.cow_calls, 2);
}

/* ksmd stopped or idling: the knobs, the counters and ksmd's CPU time
 * every SAMPLE_STOPPED_MS while the last read found run=0 and every
 * SAMPLE_QUIET_MS once it found run=1, as last read in between (and said
 * to be); afresh after a write; every sample once ksmd works. */
static void test_quiet(void **state)
{
	struct fx *f = *state;
	struct sample s;
	int calls;

	double cpu;

	put(f->dir, "run", "0\n");
	assert_int_equal(sample_take(&f->sm, 1000, &s), 0);
	assert_false(s.ksm_cached);
	calls = f->fk.ticks_calls;
	cpu = s.ksmd_cpu_s;
	sampler_set_quiet(&f->sm, true);
	put(f->dir, "pages_sharing", "21\n");
	put(f->dir, "pages_to_scan", "101\n");
	f->fk.ticks += 7;
	assert_int_equal(sample_take(&f->sm, 2000, &s), 0);
	assert_int_equal(s.ksm.v[KSM_PAGES_SHARING], 20); /* as last read */
	assert_int_equal(s.ksm.v[KSM_PAGES_TO_SCAN], 100);  /* as last read */
	assert_true(s.ksm_cached);
	assert_true(ksm_values_has(&s.ksm, KSM_PAGES_SHARING));
	assert_int_equal(s.ksm.v[KSM_GENERAL_PROFIT], -512);
	/* ksmd's CPU time as last read, without reading it */
	assert_true(s.have_ksmd_cpu);
	assert_true(s.ksmd_cpu_s == cpu);
	assert_int_equal(f->fk.ticks_calls, calls);
	/* stopped at the last read: not due at SAMPLE_QUIET_MS */
	assert_int_equal(sample_take(&f->sm, 1000 + SAMPLE_QUIET_MS, &s), 0);
	assert_true(s.ksm_cached);
	assert_int_equal(s.ksm.v[KSM_PAGES_SHARING], 20);
	assert_int_equal(sample_take(&f->sm, 999 + SAMPLE_STOPPED_MS, &s), 0);
	assert_true(s.ksm_cached);
	assert_int_equal(sample_take(&f->sm, 1000 + SAMPLE_STOPPED_MS, &s), 0);
	assert_false(s.ksm_cached);
	assert_int_equal(s.ksm.v[KSM_PAGES_SHARING], 21);
	assert_int_equal(s.ksm.v[KSM_PAGES_TO_SCAN], 101);
	assert_int_equal(f->fk.ticks_calls, calls + 1);
	/* the daemon wrote a knob: the next sample reads them again */
	put(f->dir, "pages_to_scan", "102\n");
	assert_int_equal(sample_take(&f->sm, 1500 + SAMPLE_STOPPED_MS, &s), 0);
	assert_int_equal(s.ksm.v[KSM_PAGES_TO_SCAN], 101);
	sampler_invalidate(&f->sm);
	assert_int_equal(sample_take(&f->sm, 1600 + SAMPLE_STOPPED_MS, &s), 0);
	assert_false(s.ksm_cached);
	assert_int_equal(s.ksm.v[KSM_PAGES_TO_SCAN], 102);
	assert_int_equal(f->fk.ticks_calls, calls + 2);
	assert_int_equal(sample_take(&f->sm, 1700 + SAMPLE_STOPPED_MS, &s), 0);
	assert_true(s.ksm_cached);
	put(f->dir, "pages_sharing", "22\n");
	put(f->dir, "run", "1\n"); /* someone started ksmd */
	assert_int_equal(sample_take(&f->sm, 1600 + SAMPLE_STOPPED_MS + SAMPLE_QUIET_MS, &s), 0);
	assert_int_equal(s.ksm.v[KSM_RUN], 0);
	assert_int_equal(sample_take(&f->sm, 1600 + 2 * SAMPLE_STOPPED_MS, &s), 0);
	assert_int_equal(s.ksm.v[KSM_RUN], 1);
	assert_int_equal(s.ksm.v[KSM_PAGES_SHARING], 22);
	/* ksmd idles: every SAMPLE_QUIET_MS */
	put(f->dir, "pages_sharing", "23\n");
	assert_int_equal(sample_take(&f->sm, 1599 + 2 * SAMPLE_STOPPED_MS + SAMPLE_QUIET_MS, &s), 0);
	assert_true(s.ksm_cached);
	assert_int_equal(s.ksm.v[KSM_PAGES_SHARING], 22);
	assert_int_equal(sample_take(&f->sm, 1600 + 2 * SAMPLE_STOPPED_MS + SAMPLE_QUIET_MS, &s), 0);
	assert_false(s.ksm_cached);
	assert_int_equal(s.ksm.v[KSM_PAGES_SHARING], 23);
	sampler_set_quiet(&f->sm, false);
	put(f->dir, "pages_sharing", "24\n");
	assert_int_equal(sample_take(&f->sm, 1601 + 2 * SAMPLE_STOPPED_MS + SAMPLE_QUIET_MS, &s), 0);
	assert_int_equal(s.ksm.v[KSM_PAGES_SHARING], 24);
	/* a read that failed is tried again at the next sample, not hidden
	 * by the last good one until the next is due */
	sampler_set_quiet(&f->sm, true);
	put(f->dir, "pages_sharing", "x\n");
	assert_true(sample_take(&f->sm, 1601 + 2 * SAMPLE_STOPPED_MS + 2 * SAMPLE_QUIET_MS, &s) < 0);
	put(f->dir, "pages_sharing", "25\n");
	assert_int_equal(sample_take(&f->sm, 1602 + 2 * SAMPLE_STOPPED_MS + 2 * SAMPLE_QUIET_MS, &s), 0);
	assert_false(s.ksm_cached);
	assert_int_equal(s.ksm.v[KSM_PAGES_SHARING], 25);
}

/* Counters carried over when the cold items are due and one fails: the
 * sample is in error, and still says its counters and ksmd's CPU time are
 * the last read's. */
static void test_quiet_cold_error(void **state)
{
	struct fx *f = *state;
	struct sample s;
	int calls;

	assert_int_equal(sample_take(&f->sm, 1000, &s), 0);
	sampler_set_quiet(&f->sm, true);
	assert_int_equal(sample_take(&f->sm, 55000, &s), 0);
	assert_false(s.ksm_cached);
	calls = f->fk.ticks_calls;
	put(f->dir, "max_page_sharing", "junk\n");
	assert_true(sample_take(&f->sm, 1000 + SAMPLE_COLD_MS + 1000, &s) < 0);
	assert_true(s.ksm_err < 0);
	assert_true(s.ksm_cached);
	assert_int_equal(f->fk.ticks_calls, calls);
}

/* The knobs read every SAMPLE_COLD_MS (max_page_sharing, merge_across_nodes) are cached in
 * between; once the daemon wrote one, the next sample reads them again. */
static void test_knobs_invalidated(void **state)
{
	struct fx *f = *state;
	struct sample s;

	assert_int_equal(sample_take(&f->sm, 1000, &s), 0);
	assert_int_equal(s.ksm.v[KSM_MAX_PAGE_SHARING], 256);
	put(f->dir, "max_page_sharing", "512\n");
	assert_int_equal(sample_take(&f->sm, 2000, &s), 0);
	assert_int_equal(s.ksm.v[KSM_MAX_PAGE_SHARING], 256); /* cached */
	sampler_invalidate_knobs(&f->sm);
	assert_int_equal(sample_take(&f->sm, 3000, &s), 0);
	assert_int_equal(s.ksm.v[KSM_MAX_PAGE_SHARING], 512);
}

/* cow_ksm in the text of /proc/vmstat. */
static void test_parse_vmstat_cow(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(sample_parse_vmstat_cow("nr_free_pages 1\ncow_ksm 42\nksm_swpin_copy 0", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(sample_parse_vmstat_cow("cow_ksm 18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	v = 7;
	assert_int_equal(sample_parse_vmstat_cow("nr_free_pages 1\nksm_swpin_copy 0\n", &v), -ENOENT);
	assert_int_equal(sample_parse_vmstat_cow("xcow_ksm 5\n", &v), -ENOENT);
	assert_int_equal(sample_parse_vmstat_cow("cow_ksm \n", &v), -EBADMSG);
	assert_int_equal(sample_parse_vmstat_cow("cow_ksm 12x\n", &v), -EBADMSG);
	assert_int_equal(sample_parse_vmstat_cow("cow_ksm 99999999999999999999\n", &v), -EBADMSG);
	assert_int_equal(v, 7);
}

/* ---- ksmd ------------------------------------------------------------------ */

static void test_ksmd_cached(void **state)
{
	struct fx *f = *state;
	struct sample s;

	for (uint64_t t = 0; t < 100; t++) {
		f->fk.ticks = 100 * t;
		assert_int_equal(sample_take(&f->sm, 1000 * t, &s), 0);
		assert_true(s.have_ksmd_cpu);
		assert_int_equal(s.ksmd_pid, 77);
		assert_dbl(s.ksmd_cpu_s, (double)t);
	}
	assert_int_equal(f->fk.find_calls, 1);
	assert_int_equal(f->fk.ticks_calls, 100);
	assert_int_equal(f->fk.ticks_pid, 77);
}

static void test_ksmd_ticks(void **state)
{
	struct fx *f = *state;
	struct sample s;
	struct sampler sm;

	/* sampler_init() takes the tick rate of this machine. */
	assert_int_equal(sampler_init(&sm, &f->k, &fake_ops, &f->fk, NULL), 0);
	assert_int_equal(sm.clk_tck, sysconf(_SC_CLK_TCK));
	sm.ops = NULL; /* keep the fake for the fixture */
	sampler_fini(&sm);
	assert_int_equal(f->fk.destroy_calls, 0);

	f->fk.ticks = 1000;
	assert_int_equal(sample_take(&f->sm, 0, &s), 0);
	assert_dbl(s.ksmd_cpu_s, 10.0);
	f->sm.clk_tck = 250;
	f->fk.ticks = 1001;
	assert_int_equal(sample_take(&f->sm, 1, &s), 0);
	assert_dbl(s.ksmd_cpu_s, 4.004);
	f->sm.clk_tck = 1000;
	f->fk.ticks = UINT64_C(123456789);
	assert_int_equal(sample_take(&f->sm, 2, &s), 0);
	assert_dbl(s.ksmd_cpu_s, 123456.789);
}

static void test_ksmd_vanishes(void **state)
{
	struct fx *f = *state;
	struct sample s;
	uint64_t t0 = 5000, t;

	assert_int_equal(sample_take(&f->sm, t0, &s), 0);
	assert_true(s.have_ksmd_cpu);
	assert_int_equal(f->fk.find_calls, 1);

	/* ksmd gone (and not to be found again). */
	f->fk.ticks_err = -ESRCH;
	f->fk.find_err = -ESRCH;
	assert_int_equal(sample_take(&f->sm, t0 + 1000, &s), 0);
	assert_false(s.have_ksmd_cpu);
	assert_int_equal(s.ksmd_pid, 0);
	assert_dbl(s.ksmd_cpu_s, 0);
	/* Looked up again at the next sample... */
	assert_int_equal(sample_take(&f->sm, t0 + 2000, &s), 0);
	assert_false(s.have_ksmd_cpu);
	assert_int_equal(f->fk.find_calls, 2);
	/* ...then not before SAMPLE_KSMD_RETRY_MS has passed. */
	for (t = t0 + 2500; t < t0 + 2000 + SAMPLE_KSMD_RETRY_MS; t += 500) {
		assert_int_equal(sample_take(&f->sm, t, &s), 0);
		assert_false(s.have_ksmd_cpu);
	}
	assert_int_equal(f->fk.find_calls, 2);
	assert_int_equal(f->fk.ticks_calls, 2);
	assert_int_equal(sample_take(&f->sm, t0 + 2000 + SAMPLE_KSMD_RETRY_MS, &s), 0);
	assert_int_equal(f->fk.find_calls, 3);
	/* Back under another pid at the next retry. */
	f->fk.find_err = 0;
	f->fk.ticks_err = 0;
	f->fk.find_pid = 91;
	t = t0 + 2000 + 2 * SAMPLE_KSMD_RETRY_MS;
	assert_int_equal(sample_take(&f->sm, t - 1, &s), 0);
	assert_false(s.have_ksmd_cpu);
	assert_int_equal(f->fk.find_calls, 3);
	assert_int_equal(sample_take(&f->sm, t, &s), 0);
	assert_true(s.have_ksmd_cpu);
	assert_int_equal(s.ksmd_pid, 91);
	assert_int_equal(f->fk.find_calls, 4);
	assert_int_equal(f->fk.ticks_pid, 91);
	assert_int_equal(sample_take(&f->sm, t + 1000, &s), 0);
	assert_int_equal(f->fk.find_calls, 4);
}

static void test_ksmd_never_visible(void **state)
{
	struct fx *f = *state;
	struct sample s;

	/* In a PID namespace: one look per SAMPLE_KSMD_RETRY_MS, no more. */
	f->fk.find_err = -ESRCH;
	for (uint64_t t = 0; t < 10 * SAMPLE_KSMD_RETRY_MS; t += 1000) {
		assert_int_equal(sample_take(&f->sm, t, &s), 0);
		assert_false(s.have_ksmd_cpu);
		assert_int_equal(s.ksmd_pid, 0);
	}
	assert_int_equal(f->fk.find_calls, 10);
	assert_int_equal(f->fk.ticks_calls, 0);
}

static void test_ksmd_found_unreadable(void **state)
{
	struct fx *f = *state;
	struct sample s;

	/* Found, but its times cannot be read: no full /proc walk on every
	 * sample, still one look per SAMPLE_KSMD_RETRY_MS. */
	f->fk.ticks_err = -EIO;
	for (uint64_t t = 0; t < 10 * SAMPLE_KSMD_RETRY_MS; t += 1000) {
		assert_int_equal(sample_take(&f->sm, t, &s), 0);
		assert_false(s.have_ksmd_cpu);
	}
	assert_int_equal(f->fk.find_calls, 10);
	/* A lookup that "succeeds" with no pid counts as not found. */
	f->fk.ticks_err = 0;
	f->fk.find_pid = 0;
	for (uint64_t t = 10 * SAMPLE_KSMD_RETRY_MS; t < 20 * SAMPLE_KSMD_RETRY_MS; t += 1000) {
		assert_int_equal(sample_take(&f->sm, t, &s), 0);
		assert_false(s.have_ksmd_cpu);
	}
	assert_int_equal(f->fk.find_calls, 20);
	assert_int_equal(f->fk.ticks_calls, 10);
}

/* ---- the guest scan ------------------------------------------------------- */

static void test_guest_interval(void **state)
{
	struct fx *f = *state;
	struct sample s;
	int scans = 0;

	assert_int_equal(sampler_set_guest(&f->sm, "^qemu-system", 60000), 0);
	for (uint64_t t = 0; t <= 180000; t += 1000) {
		/* Between scans the RSS changes; the sample keeps the cached one. */
		f->fk.tasks[0].rss = GiB + t;
		assert_int_equal(sample_take(&f->sm, t, &s), 0);
		assert_true(s.have_guest);
		assert_int_equal(s.guest_count, 2);
		assert_int_equal(s.guest_scanned, t % 60000 == 0);
		assert_int_equal(s.guest_rss, 3 * GiB + (t / 60000) * 60000);
		scans += s.guest_scanned;
	}
	assert_int_equal(scans, 4);
	assert_int_equal(f->fk.guest_calls, 4);

	/* A new pattern rescans at the next sample and sees its processes. */
	assert_int_equal(sampler_set_guest(&f->sm, "vm2|^bash$", 60000), 0);
	assert_int_equal(sample_take(&f->sm, 181000, &s), 0);
	assert_true(s.guest_scanned);
	assert_int_equal(f->fk.guest_calls, 5);
	assert_int_equal(s.guest_count, 2);
	assert_int_equal(s.guest_rss, 2 * GiB + 4 * MiB);
	assert_int_equal(sample_take(&f->sm, 182000, &s), 0);
	assert_false(s.guest_scanned);
	assert_int_equal(f->fk.guest_calls, 5);
}

static void test_guest_off(void **state)
{
	struct fx *f = *state;
	struct sample s;

	assert_int_equal(sample_take(&f->sm, 0, &s), 0);
	assert_false(s.have_guest);
	assert_false(s.guest_scanned);
	assert_int_equal(sampler_set_guest(&f->sm, "qemu", 1000), 0);
	assert_int_equal(sample_take(&f->sm, 1, &s), 0);
	assert_true(s.have_guest);
	/* "" and NULL switch it off again. */
	assert_int_equal(sampler_set_guest(&f->sm, "", 1000), 0);
	assert_int_equal(sample_take(&f->sm, 5000, &s), 0);
	assert_false(s.have_guest);
	assert_false(s.guest_scanned);
	assert_int_equal(s.guest_rss, 0);
	assert_int_equal(sampler_set_guest(&f->sm, NULL, 1000), 0);
	assert_int_equal(sample_take(&f->sm, 9000, &s), 0);
	assert_false(s.have_guest);
	assert_int_equal(f->fk.guest_calls, 1);
}

static void test_guest_bad_regex(void **state)
{
	struct fx *f = *state;
	struct sample s;

	assert_int_equal(sampler_set_guest(&f->sm, "(", 1000), -EINVAL);
	assert_false(f->sm.guest_on);
	assert_int_equal(sampler_set_guest(&f->sm, "vm1", 60000), 0);
	assert_int_equal(sampler_set_guest(&f->sm, "[a-", 1000), -EINVAL);
	assert_int_equal(sampler_set_guest(&f->sm, "a{2,1}", 1000), -EINVAL);
	/* The previous pattern and interval are kept. */
	assert_true(f->sm.guest_on);
	assert_int_equal(f->sm.guest_interval_ms, 60000);
	assert_int_equal(sample_take(&f->sm, 0, &s), 0);
	assert_true(s.have_guest);
	assert_int_equal(s.guest_count, 1);
	assert_int_equal(s.guest_rss, GiB);
}

static void test_guest_error(void **state)
{
	struct fx *f = *state;
	struct sample s;

	assert_int_equal(sampler_set_guest(&f->sm, "qemu", 10000), 0);
	f->fk.guest_err = -ENOMEM;
	/* A failed scan: no value yet, and not retried before the interval. */
	assert_int_equal(sample_take(&f->sm, 0, &s), 0);
	assert_true(s.guest_scanned);
	assert_false(s.have_guest);
	assert_int_equal(sample_take(&f->sm, 5000, &s), 0);
	assert_false(s.guest_scanned);
	assert_false(s.have_guest);
	assert_int_equal(f->fk.guest_calls, 1);
	f->fk.guest_err = 0;
	assert_int_equal(sample_take(&f->sm, 10000, &s), 0);
	assert_true(s.guest_scanned);
	assert_true(s.have_guest);
	assert_int_equal(s.guest_rss, 3 * GiB);
	assert_int_equal(s.guest_err, 0);
	/* a pass longer than a tick's budget: the last complete pass's values
	 * until it ends, and it goes on at every sample, not a whole interval
	 * later; its end starts the interval again */
	f->fk.guest_slices_left = 3;
	f->fk.tasks[0].rss = 5 * GiB;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sample_take(&f->sm, 20000 + 1000u * (unsigned)i, &s), 0);
		assert_true(s.guest_scanned);
		assert_int_equal(s.guest_err, -EINPROGRESS);
		assert_int_equal(s.guest_seen, 7);
		assert_true(s.have_guest);
		assert_int_equal(s.guest_rss, 3 * GiB);
	}
	assert_int_equal(sample_take(&f->sm, 23000, &s), 0);
	assert_true(s.guest_scanned);
	assert_int_equal(s.guest_err, 0);
	assert_int_equal(s.guest_rss, 7 * GiB);
	assert_int_equal(f->fk.guest_calls, 6);
	assert_int_equal(sample_take(&f->sm, 29000, &s), 0);
	assert_false(s.guest_scanned);
	assert_int_equal(sample_take(&f->sm, 30000, &s), 0);
	assert_true(s.guest_scanned);
	assert_int_equal(f->fk.guest_restarts, 0);
	/* a new pattern drops a pass under way */
	f->fk.guest_slices_left = 1;
	assert_int_equal(sample_take(&f->sm, 40000, &s), 0);
	assert_int_equal(s.guest_err, -EINPROGRESS);
	assert_int_equal(sampler_set_guest(&f->sm, "vm1", 10000), 0);
	assert_int_equal(sample_take(&f->sm, 41000, &s), 0);
	assert_int_equal(s.guest_err, 0);
	assert_int_equal(f->fk.guest_restarts, 1);
	assert_int_equal(s.guest_count, 1);
}

/* Only the first SAMPLE_GUEST_MATCH_MAX bytes of a command line are matched:
 * as if it ended there. Compiled as sampler_set_guest() does. */
static void test_guest_match_bound(void **state)
{
	static char cl[SAMPLE_GUEST_MATCH_MAX * 4];
	struct search_re re, end;

	(void)state;
	assert_int_equal(search_re_init(&re, "^qemu-system.*-enable-kvm"), 0);
	assert_int_equal(search_re_init(&end, "x$"), 0);
	snprintf(cl, sizeof(cl), "qemu-system-x86_64 -name guest=vm1 -enable-kvm");
	assert_true(sample_guest_match(&re, cl));
	/* the same words past the bound */
	memset(cl, 'x', sizeof(cl) - 1);
	memcpy(cl, "qemu-system-x86_64 ", 19);
	memcpy(cl + SAMPLE_GUEST_MATCH_MAX - 11, "-enable-kvm", 11); /* ends at the bound: in */
	assert_true(sample_guest_match(&re, cl));
	memset(cl + SAMPLE_GUEST_MATCH_MAX - 11, 'x', 11);
	memcpy(cl + SAMPLE_GUEST_MATCH_MAX - 10, "-enable-kvm", 11); /* one byte past: out */
	assert_false(sample_guest_match(&re, cl));
	/* "$" matches where the bound cuts */
	cl[SAMPLE_GUEST_MATCH_MAX - 1] = 'x';
	assert_true(sample_guest_match(&end, cl));
	cl[SAMPLE_GUEST_MATCH_MAX - 1] = 'y';
	assert_false(sample_guest_match(&end, cl));
	search_re_free(&re);
	search_re_free(&end);
}

/* ---- PSI -------------------------------------------------------------------------- */

#define PSI_TEXT                                                                                                  \
	"some avg10=1.50 avg60=0.80 avg300=0.20 total=123456\n"                                                   \
	"full avg10=0.50 avg60=0.10 avg300=0.00 total=6789\n"

/* ksmd's /proc/PID/stat: utime (14) + stime (15), only for ksmd */
static void test_parse_stat_ticks(void **state)
{
	uint64_t t = 7;

	(void)state;
	assert_int_equal(sample_parse_stat_ticks("37 (ksmd) S 2 0 0 0 -1 2097216 0 0 0 0 1234 567 0 0 25 5 1 0 "
						 "95 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0",
						 &t),
			 0);
	assert_int_equal(t, 1801);
	/* not ksmd: a user process named "ksmd x" or anything else */
	assert_int_equal(sample_parse_stat_ticks("99 (ksmd) x) S 1 0 0 0 -1 0 0 0 0 0 5 5", &t), -ESRCH);
	assert_int_equal(sample_parse_stat_ticks("1 (init) S 0 0 0 0 -1 0 0 0 0 0 5 5", &t), -ESRCH);
	assert_int_equal(t, 1801);
	/* ksmd is the one whose parent is kthreadd */
	assert_true(sample_stat_is_ksmd("37 (ksmd) S 2 0 0 0 -1 2097216"));
	assert_false(sample_stat_is_ksmd("4242 (ksmd) R 1000 0 0 0 -1 0")); /* a user's, named so */
	assert_false(sample_stat_is_ksmd("37 (ksmd) S 22 0"));
	/* a child of a PID namespace's pid 2, named so: no PF_KTHREAD */
	assert_false(sample_stat_is_ksmd("37 (ksmd) S 2 0 0 0 -1 4194560 0 0"));
	assert_false(sample_stat_is_ksmd("37 (kswapd0) S 2 0"));
	assert_false(sample_stat_is_ksmd("37 (ksmd) S"));
	/* truncated or garbled */
	assert_int_equal(sample_parse_stat_ticks("37 (ksmd) S 2 0 0", &t), -EBADMSG);
	assert_int_equal(sample_parse_stat_ticks("37 (ksmd) S 2 0 0 0 -1 2097216 0 0 0 0 x y", &t), -EBADMSG);
	assert_int_equal(sample_parse_stat_ticks("garbage", &t), -ESRCH);
	assert_int_equal(t, 1801);
}

static void test_parse_psi(void **state)
{
	static const char *const bad[] = {
		"",
		"garbage",
		"\n\n",
		"full avg10=0.50 avg60=0.10 avg300=0.00 total=6789\n",             /* no "some" line */
		"some avg60=0.80 avg300=0.20 total=1\nfull avg10=0.50 total=6\n", /* avg10 only in "full" */
		"xsome avg10=1.00 avg60=0.00\n",
		"full avg10=2.00 some avg10=1.00\n",                               /* "some" not at a line start */
		"some avg10= avg60=0.00\n",
		"some avg10=abc avg60=0.00\n",
		"some avg10=-1.00 avg60=0.00\n",
		"some avg10=100.01 avg60=0.00\n",
		"some avg10=nan avg60=0.00\n",
		"some avg10=inf avg60=0.00\n",
		"some avg10=1.5x avg60=0.00\n",
		"some xavg10=1.00 avg60=0.00\n",
	};
	double v = -1;

	(void)state;
	assert_int_equal(sample_parse_psi(PSI_TEXT, &v), 0);
	assert_dbl(v, 1.5);
	assert_int_equal(sample_parse_psi("some avg10=0.00 avg60=0.00 avg300=0.00 total=0", &v), 0);
	assert_dbl(v, 0);
	assert_int_equal(sample_parse_psi("some avg10=100.00 avg60=99.00 avg300=0.00 total=0\n", &v), 0);
	assert_dbl(v, 100);
	/* "full" first still finds "some". */
	assert_int_equal(sample_parse_psi("full avg10=9.00 avg60=0 avg300=0 total=0\nsome avg10=3.25 avg60=0\n", &v),
			 0);
	assert_dbl(v, 3.25);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = -1;
		if (sample_parse_psi(bad[i], &v) != -EBADMSG)
			fail_msg("accepted PSI text #%zu: \"%s\"", i, bad[i]);
		assert_dbl(v, -1);
	}
}

static void test_psi_file(void **state)
{
	struct fx *f = *state;
	struct sample s;

	put(f->dir, "psi", PSI_TEXT);
	sampler_fini(&f->sm);
	assert_int_equal(f->fk.destroy_calls, 1);
	assert_int_equal(sampler_init(&f->sm, &f->k, &fake_ops, &f->fk, f->psi), 0);
	assert_true(f->sm.psi_fd >= 0);
	assert_int_equal(sample_take(&f->sm, 0, &s), 0);
	assert_true(s.have_psi);
	assert_dbl(s.psi_some_avg10, 1.5);
	/* Read again from the start of the same open file. */
	put(f->dir, "psi", "some avg10=12.25 avg60=1.00 avg300=0.00 total=1\nfull avg10=3.00 avg60=0 avg300=0 total=0\n");
	assert_int_equal(sample_take(&f->sm, 1000, &s), 0);
	assert_true(s.have_psi);
	assert_dbl(s.psi_some_avg10, 12.25);
	/* Garbage: no PSI in this sample, and not an error of the sample. */
	put(f->dir, "psi", "garbage\n");
	assert_int_equal(sample_take(&f->sm, 2000, &s), 0);
	assert_false(s.have_psi);
	assert_dbl(s.psi_some_avg10, 0);
}

static void test_psi_missing(void **state)
{
	struct fx *f = *state;
	struct sample s;
	char p[256];

	/* A kernel without PSI: the file does not exist; sampling goes on. */
	sampler_fini(&f->sm);
	snprintf(p, sizeof(p), "%s/no-such-file", f->dir);
	assert_int_equal(sampler_init(&f->sm, &f->k, &fake_ops, &f->fk, p), 0);
	assert_int_equal(f->sm.psi_fd, -1);
	assert_int_equal(sample_take(&f->sm, 0, &s), 0);
	assert_false(s.have_psi);
}

/* ---- misc ---------------------------------------------------------------------- */

static void test_rmap_items(void **state)
{
	struct fx *f = *state;
	struct sample s;

	assert_int_equal(sample_take(&f->sm, 0, &s), 0);
	assert_int_equal(sample_rmap_items(&s), 10 + 20 + 30 + 40);
	memset(&s, 0, sizeof(s));
	assert_int_equal(sample_rmap_items(&s), 0);
	s.ksm.v[KSM_PAGES_SHARED] = 1;
	s.ksm.v[KSM_PAGES_SHARING] = 1000000000000;
	s.ksm.v[KSM_PAGES_UNSHARED] = 5;
	s.ksm.v[KSM_PAGES_VOLATILE] = 7;
	assert_int_equal(sample_rmap_items(&s), 1000000000013);
	/* Only those four count. */
	s.ksm.v[KSM_FULL_SCANS] = 99;
	s.ksm.v[KSM_GENERAL_PROFIT] = -99;
	assert_int_equal(sample_rmap_items(&s), 1000000000013);
	/* A negative term (never from the kernel) counts as 0. */
	s.ksm.v[KSM_PAGES_SHARING] = -1000;
	assert_int_equal(sample_rmap_items(&s), 1 + 5 + 7);
	s.ksm.v[KSM_PAGES_SHARED] = INT64_MIN;
	assert_int_equal(sample_rmap_items(&s), 5 + 7);
	/* No overflow (UBSan checks), and the result fits an int64_t. */
	s.ksm.v[KSM_PAGES_SHARED] = INT64_MAX;
	s.ksm.v[KSM_PAGES_SHARING] = INT64_MAX;
	s.ksm.v[KSM_PAGES_UNSHARED] = INT64_MAX;
	s.ksm.v[KSM_PAGES_VOLATILE] = INT64_MAX;
	assert_int_equal(sample_rmap_items(&s), INT64_MAX);
	s.ksm.v[KSM_PAGES_SHARING] = 0;
	s.ksm.v[KSM_PAGES_UNSHARED] = 0;
	s.ksm.v[KSM_PAGES_VOLATILE] = 1;
	assert_int_equal(sample_rmap_items(&s), INT64_MAX);
	s.ksm.v[KSM_PAGES_SHARED] = INT64_MAX - 1;
	assert_int_equal(sample_rmap_items(&s), INT64_MAX);
	s.ksm.v[KSM_PAGES_VOLATILE] = 0;
	assert_int_equal(sample_rmap_items(&s), INT64_MAX - 1);
}

static void test_fini(void **state)
{
	struct fx *f = *state;

	assert_int_equal(sampler_set_guest(&f->sm, "qemu", 1000), 0);
	sampler_fini(&f->sm);
	assert_int_equal(f->fk.destroy_calls, 1);
	assert_false(f->sm.guest_on);
	assert_int_equal(f->sm.psi_fd, -1);
	sampler_fini(&f->sm); /* twice is harmless */
	assert_int_equal(f->fk.destroy_calls, 1);
	f->sm_on = false;
}

/* ---- the real libproc2 ------------------------------------------------------- */

static void test_libproc2(void **state)
{
	struct fx *f = *state;
	struct sample s;
	uint64_t ticks;
	int pid = 0, r;

	put(f->dir, "psi", PSI_TEXT);
	setenv("LIBPROC_HIDE_KERNEL", "1", 1);
	assert_int_equal(sampler_init(&f->sm, &f->k, NULL, NULL, f->psi), 0);
	f->sm_on = true;
	assert_ptr_equal(f->sm.ops, &proc_ops_libproc2);
	assert_non_null(f->sm.ctx);
	assert_null(getenv("LIBPROC_HIDE_KERNEL")); /* it would hide ksmd */

	assert_int_equal(sampler_set_guest(&f->sm, "test_sample", 0), 0);
	/* a pass may need more than one sample on a busy machine */
	for (int i = 0; i < 1000; i++) {
		r = sample_take(&f->sm, 0, &s);
		if (s.guest_err != -EINPROGRESS)
			break;
	}
	assert_int_equal(s.guest_err, 0);
	assert_int_equal(s.meminfo_err, 0);
	assert_int_equal(r, 0);
	assert_true(s.mem_total > 0);
	assert_true(s.mem_total % 1024 == 0);
	assert_true(s.mem_available <= s.mem_total);
	assert_true(s.mem_free <= s.mem_total);
	/* this process alone has some anonymous memory */
	assert_true(s.have_anon && s.anon > 0 && s.anon < s.mem_total);
	assert_int_equal(s.ksm.v[KSM_PAGES_SHARING], 20);
	assert_true(s.have_psi);
	{
		/* cow_ksm, where this kernel has it (6.1+) */
		char *text = NULL;
		size_t len;
		struct sample s2;
		bool has = read_file("/proc/vmstat", 1 << 20, &text, &len) == 0 && strstr(text, "\ncow_ksm ");
		free(text);
		sampler_set_vmstat(&f->sm, true, false);
		sample_take(&f->sm, 0, &s2);
		assert_int_equal(s2.have_cow, has);
		sampler_set_vmstat(&f->sm, false, false);
	}
	/* This very test matches the pattern. */
	assert_true(s.have_guest);
	assert_true(s.guest_count >= 1);
	assert_true(s.guest_rss > 0 && s.guest_rss < s.mem_total);
	{
		/* a command line as it is, control characters as spaces
		 * (cmdline_join()): libproc2's own would be "kvm-x.q?? z 30" */
		char *const argv[] = { "kvm-x\tq\xc3\xa9\nz", "30", NULL };
		char *const envp[] = { NULL };
		pid_t child = fork();
		assert_true(child >= 0);
		if (child == 0) {
			execve("/bin/sleep", argv, envp);
			_exit(127);
		}
		for (int i = 0; i < 100; i++) {
			char buf[64] = "";
			char path[64];
			snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)child);
			if (read_text_at(AT_FDCWD, path, buf, sizeof(buf)) > 0 && buf[0] == 'k')
				break; /* exec'd */
			usleep(10000);
		}
		assert_int_equal(sampler_set_guest(&f->sm, "^kvm-x q\xc3\xa9 z 30$", 0), 0);
		for (int i = 0; i < 1000; i++) {
			sample_take(&f->sm, 0, &s);
			if (s.guest_err != -EINPROGRESS)
				break;
		}
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		assert_int_equal(s.guest_err, 0);
		assert_int_equal(s.guest_count, 1);
		assert_int_equal(sampler_set_guest(&f->sm, "test_sample", 0), 0);
	}

	if (s.have_ksmd_cpu) {
		print_message("# ksmd visible: pid %d, %.2f s of CPU\n", s.ksmd_pid, s.ksmd_cpu_s);
		assert_true(s.ksmd_pid > 0);
		assert_true(s.ksmd_cpu_s >= 0);
		assert_int_equal(proc_ops_libproc2.find_ksmd(f->sm.ctx, &pid), 0);
		assert_int_equal(pid, s.ksmd_pid);
	} else {
		print_message("# ksmd not visible here (PID namespace or no KSM)\n");
		assert_int_equal(proc_ops_libproc2.find_ksmd(f->sm.ctx, &pid), -ESRCH);
	}
	/* Another task is never taken for ksmd. */
	assert_int_equal(proc_ops_libproc2.task_ticks(f->sm.ctx, (int)getpid(), &ticks), -ESRCH);
	/* The scan reads one process at a time, and stops when its budget is
	 * spent: 1 us is gone after the first process, whatever the machine.
	 * The next call goes on from there, so that a pass of 1 us slices
	 * ends, one process a call, and finds what a whole pass finds.  Other
	 * processes may hold "test_sample" in their command line for a moment
	 * (a grep, a shell of the test runner), so the two counts are compared
	 * over a few tries: a pass that loses processes differs every time. */
	for (int tries = 0;; tries++) {
		struct guest_usage g = { .rss = 77, .count = 7 }, whole;
		unsigned calls = 1;
		assert_int_equal(proc_ops_libproc2.guest_usage(f->sm.ctx, &f->sm.guest_re, 1, false, &g), -EINPROGRESS);
		assert_int_equal(g.seen, 1);
		assert_int_equal(g.rss, 77); /* untouched */
		assert_int_equal(g.count, 7);
		while ((r = proc_ops_libproc2.guest_usage(f->sm.ctx, &f->sm.guest_re, 1, false, &g)) == -EINPROGRESS) {
			calls++;
			assert_int_equal(g.seen, calls);
			assert_true(calls < 1000000);
		}
		assert_int_equal(r, 0);
		assert_true(calls > 1);
		assert_true(g.seen >= calls);
		assert_true(g.count >= 1);
		/* restart: a pass under way is dropped, the new one counts from 0 */
		assert_int_equal(proc_ops_libproc2.guest_usage(f->sm.ctx, &f->sm.guest_re, 1, false, &whole),
				 -EINPROGRESS);
		assert_int_equal(proc_ops_libproc2.guest_usage(f->sm.ctx, &f->sm.guest_re, 1, true, &whole),
				 -EINPROGRESS);
		assert_int_equal(whole.seen, 1);
		assert_int_equal(proc_ops_libproc2.guest_usage(f->sm.ctx, &f->sm.guest_re, 10u * 1000 * 1000, false,
							       &whole), 0);
		if (whole.count == g.count)
			break;
		print_message("# try %d: a pass in slices counted %u, a whole pass %u\n", tries + 1, g.count,
			      whole.count);
		assert_true(tries < 4);
	}
	assert_int_equal(sample_take(&f->sm, 1000, &s), 0);
	assert_true(s.mem_total > 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_meminfo),
		T(test_meminfo_error),
		T(test_ksm_error),
		T(test_anon),
		T(test_vmstat_cow),
		T(test_quiet),
		T(test_quiet_cold_error),
		T(test_knobs_invalidated),
		cmocka_unit_test(test_parse_vmstat_cow),
		T(test_ksmd_cached),
		T(test_ksmd_ticks),
		T(test_ksmd_vanishes),
		T(test_ksmd_never_visible),
		T(test_ksmd_found_unreadable),
		T(test_guest_interval),
		T(test_guest_off),
		T(test_guest_bad_regex),
		T(test_guest_error),
		cmocka_unit_test(test_guest_match_bound),
		cmocka_unit_test(test_parse_psi),
		cmocka_unit_test(test_parse_stat_ticks),
		T(test_psi_file),
		T(test_psi_missing),
		T(test_rmap_items),
		T(test_fini),
		cmocka_unit_test_setup_teardown(test_libproc2, setup_plain, teardown),
	};
#undef T
	return cmocka_run_group_tests_name("sample", tests, NULL, NULL);
}
