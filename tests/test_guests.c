/* test_guests.c - the per-guest table from a procscan: names, sorting by
 * saving, hostile names and a 6.1 kernel from a fake /proc, the kernel's profit or the estimate of it, the resident memory
 * from statm on a fake /proc (not taken from a pid reused meanwhile, by
 * another program or, told by the start time, by another guest),
 * unique names, totals; and the Prometheus series, bounded to the top N
 * and "other", with their labels escaped. */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "guests.h"
#include "util.h"

static char root[128];
static struct procscan ps;
static struct procscan_proc procs[8];

static void put(const char *rel, const char *text)
{
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *s = strchr(path + strlen(root) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A record as procscan leaves it; a negative value leaves the field out. */
static struct procscan_proc *rec(int pid, const char *comm, const char *cmdline, int64_t merging, int64_t zero,
				 int64_t rmap, int64_t profit)
{
	struct procscan_proc *p = &procs[ps.n++];
	int64_t v[] = { rmap, zero, merging, profit };
	enum procscan_stat f[] = { PS_RMAP_ITEMS, PS_ZERO_PAGES, PS_MERGING_PAGES, PS_PROCESS_PROFIT };

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	snprintf(p->comm, sizeof(p->comm), "%s", comm);
	snprintf(p->cmdline, sizeof(p->cmdline), "%s", cmdline);
	for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
		if (v[i] == INT64_MIN)
			continue;
		p->stat[f[i]] = v[i];
		p->present |= PS_BIT(f[i]);
	}
	return p;
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/ksmpilot-test-guests.XXXXXX");
	assert_non_null(mkdtemp(root));
	memset(&ps, 0, sizeof(ps));
	ps.procs = procs;
	ps.time = 1796000000;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_table(void **state)
{
	struct guest_table t;
	char proc[200];
	long page = sysconf(_SC_PAGESIZE);

	(void)state;
	rec(100, "qemu-system-x86", "/usr/bin/qemu-system-x86_64 -name guest=web1,debug-threads=on -m 2048", 1000, 10,
	    2000, 3000000);
	rec(200, "kvm", "/usr/bin/kvm -id 105 -name db,debug-threads=on", 50000, 0, 60000, 200000000);
	rec(300, "workload", "build/tests/workload -s 128", 0, 0, 100, -6400);
	/* a 6.1 kernel: ksm_merging_pages (its own file) and rmap items only */
	rec(400, "redis-server", "redis-server *:6379", 500, INT64_MIN, 600, INT64_MIN);
	/* resident memory: statm in pages; pid 300 was reused by another program */
	put("proc/100/comm", "qemu-system-x86\n");
	put("proc/100/statm", "600000 4000 100 1 0 5000 0\n");
	put("proc/200/comm", "kvm\n");
	put("proc/200/statm", "900000 100000 100 1 0 5000 0\n");
	put("proc/300/comm", "bash\n");
	put("proc/300/statm", "1000 500 100 1 0 50 0\n");
	snprintf(proc, sizeof(proc), "%s/proc", root);
	assert_int_equal(guests_build(&ps, proc, NULL, &t), 0);
	assert_int_equal(t.n, 4);
	/* by saving: db (50000), web1 (1010), redis (500), workload (0) */
	assert_string_equal(t.rows[0].name, "105:db");
	assert_string_equal(t.rows[1].name, "web1");
	assert_string_equal(t.rows[2].name, "redis-server[400]");
	assert_string_equal(t.rows[3].name, "workload[300]");
	assert_true(guest_saving_bytes(&t.rows[1]) == 1010 * page_bytes());
	/* the kernel's profit where it has it, else its formula */
	assert_true(t.rows[0].profit_bytes == 200000000);
	assert_false(t.rows[0].profit_estimated);
	assert_true(t.rows[2].profit_estimated);
	assert_true(t.rows[2].profit_bytes == 500 * page_bytes() - 600 * 64.0);
	assert_int_equal(t.rows[2].zero_pages, -1);
	/* resident memory and the merged share */
	assert_int_equal(t.rows[0].rss_bytes, (uint64_t)100000 * (uint64_t)page);
	assert_true(fabs(guest_merged_share(&t.rows[0]) - 50000 * page_bytes() / (100000.0 * (double)page)) < 1e-9);
	assert_int_equal(t.rows[3].rss_bytes, 0); /* comm changed: not ours */
	assert_true(isnan(guest_merged_share(&t.rows[3])));
	assert_int_equal(t.rows[2].rss_bytes, 0); /* no statm */
	/* totals */
	assert_int_equal(t.total.processes, 4);
	assert_int_equal(t.total.merging_pages, 51500);
	assert_int_equal(t.total.zero_pages, 10);
	assert_int_equal(t.total.rmap_items, 62700);
	/* the share of the total: the merged pages of the rows whose resident
	 * memory is known (db, web1), not redis's too */
	assert_true(fabs(guest_merged_share(&t.total) - 51000 * page_bytes() / (104000.0 * (double)page)) < 1e-9);
	assert_true(t.total.profit_estimated);
	assert_true(t.total.profit_bytes == 3000000 + 200000000 - 6400 + (500 * page_bytes() - 600 * 64.0));
	assert_int_equal(t.time, 1796000000);
	guests_free(&t);
}

#define LONG53 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* A pid reused by another guest since the scan has the same comm: the
 * start time in /proc/PID/stat tells them apart, where the record has it. */
static void test_reused_pid(void **state)
{
	static const char stat_line[] = "%d (qemu-system-x86) S 1 %d %d 0 -1 4194560 900 0 0 0 120 40 0 0 20 0 6 0 "
					"%llu 4096000000 1000 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0\n";
	static const struct {
		int pid;
		unsigned long long start, now; /* now 0: no stat file */
		uint64_t rss_pages;            /* 0: not the record's process */
	} c[] = {
		{ 600, 5000, 5000, 4000 }, /* the same process */
		{ 700, 5000, 9000, 0 },    /* the pid reused by a guest started later */
		{ 800, 5000, 0, 0 },       /* no start time to compare with */
		{ 900, 0, 9000, 4000 },    /* a record without one (an older file): by comm */
	};
	struct guest_table t;
	char proc[200], rel[64], text[400];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		struct procscan_proc *p = rec(c[i].pid, "qemu-system-x86", "qemu-system-x86_64 -name guest=g", 10, 0,
					      20, 100);
		p->start = c[i].start;
		snprintf(rel, sizeof(rel), "proc/%d/comm", c[i].pid);
		put(rel, "qemu-system-x86\n");
		snprintf(rel, sizeof(rel), "proc/%d/statm", c[i].pid);
		put(rel, "600000 4000 100 1 0 5000 0\n");
		if (c[i].now) {
			snprintf(rel, sizeof(rel), "proc/%d/stat", c[i].pid);
			snprintf(text, sizeof(text), stat_line, c[i].pid, c[i].pid, c[i].pid, c[i].now);
			put(rel, text);
		}
	}
	snprintf(proc, sizeof(proc), "%s/proc", root);
	assert_int_equal(guests_build(&ps, proc, NULL, &t), 0);
	assert_int_equal(t.n, ARRAY_SIZE(c));
	for (size_t i = 0; i < ARRAY_SIZE(c); i++)
		for (unsigned k = 0; k < t.n; k++)
			if (t.rows[k].pid == c[i].pid && t.rows[k].rss_bytes != c[i].rss_pages * (uint64_t)page_bytes())
				fail_msg("pid %d: resident %llu bytes, expected %llu pages", c[i].pid,
					 (unsigned long long)t.rows[k].rss_bytes, (unsigned long long)c[i].rss_pages);
	guests_free(&t);
}

static void test_unique_names(void **state)
{
	struct guest_table t;

	(void)state;
	rec(10, "qemu-system-x86", "qemu -name guest=twin", 300, 0, 300, 1);
	rec(11, "qemu-system-x86", "qemu -name guest=twin", 200, 0, 200, 1);
	rec(12, "qemu-system-x86", "qemu -name guest=other", 100, 0, 100, 1);
	assert_int_equal(guests_build(&ps, NULL, NULL, &t), 0);
	assert_string_equal(t.rows[0].name, "twin");
	assert_string_equal(t.rows[1].name, "twin[11]");
	/* "other" is the name of the sum past the top N */
	assert_string_equal(t.rows[2].name, "other[12]");
	guests_free(&t);
	/* a name made unique may be an earlier row's own: any local user
	 * can name a process "x[9]" */
	ps.n = 0;
	rec(3, "qemu-system-x86", "qemu -name guest=x[9]", 300, 0, 300, 1);
	rec(5, "qemu-system-x86", "qemu -name guest=x", 200, 0, 200, 1);
	rec(9, "qemu-system-x86", "qemu -name guest=x", 100, 0, 100, 1);
	rec(7, "qemu-system-x86", "qemu -name guest=x[9.1]", 50, 0, 50, 1);
	assert_int_equal(guests_build(&ps, NULL, NULL, &t), 0);
	assert_string_equal(t.rows[0].name, "x[9]");
	assert_string_equal(t.rows[1].name, "x");
	assert_string_equal(t.rows[2].name, "x[9.1]");
	assert_string_equal(t.rows[3].name, "x[9.1][7]");
	for (unsigned i = 0; i < t.n; i++)
		for (unsigned j = 0; j < i; j++)
			assert_string_not_equal(t.rows[i].name, t.rows[j].name);
	guests_free(&t);
	/* the suffix cuts a long name between two characters, never in one:
	 * a label value that is not UTF-8 makes node_exporter refuse the
	 * whole textfile. 53 ASCII bytes and five 2-byte characters fill
	 * the 63 bytes a name keeps; "[12345]" leaves room for 56. */
	ps.n = 0;
	rec(10, "qemu-system-x86", "qemu -name guest=" LONG53 "\u00e9\u00e9\u00e9\u00e9\u00e9", 300, 0, 300, 1);
	rec(12345, "qemu-system-x86", "qemu -name guest=" LONG53 "\u00e9\u00e9\u00e9\u00e9\u00e9", 200, 0, 200, 1);
	assert_int_equal(guests_build(&ps, NULL, NULL, &t), 0);
	assert_string_equal(t.rows[0].name, LONG53 "\u00e9\u00e9\u00e9\u00e9\u00e9");
	assert_string_equal(t.rows[1].name, LONG53 "\u00e9[12345]");
	guests_free(&t);
}

/* The series of t, top by name, as a malloc()ed text. */
static char *metrics_of(const struct guest_table *t, unsigned top)
{
	char *m = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&m, &len);

	assert_non_null(f);
	guests_metrics(f, t, top);
	assert_int_equal(fclose(f), 0);
	return m;
}

/* the series NAME with the value V, as the writer prints bytes */
static void expect_series(const char *m, const char *name, double v)
{
	char want[256];

	snprintf(want, sizeof(want), "\n%s %.0f\n", name, v);
	if (!strstr(m, want))
		fail_msg("no '%s' in the metrics", want + 1);
}

static void test_metrics(void **state)
{
	struct guest_table t;
	char *m;

	(void)state;
	rec(1, "qemu-system-x86", "qemu -name guest=a", 3000, 0, 3000, 100);
	rec(2, "qemu-system-x86", "qemu -name guest=b\"q\\", 2000, 5, 2000, 200);
	rec(3, "qemu-system-x86", "qemu -name guest=c", 1000, 0, 1000, 300);
	rec(4, "qemu-system-x86", "qemu -name guest=d", 500, 1, 500, 400);
	assert_int_equal(guests_build(&ps, NULL, NULL, &t), 0);
	m = metrics_of(&t, 2);
	/* the top 2 by name, the rest as other */
	expect_series(m, "ksmpilot_guest_saving_bytes{guest=\"a\"}", 3000 * page_bytes());
	expect_series(m, "ksmpilot_guest_saving_bytes{guest=\"b\\\"q\\\\\"}", 2005 * page_bytes());
	expect_series(m, "ksmpilot_guest_saving_bytes{guest=\"other\"}", 1501 * page_bytes());
	assert_null(strstr(m, "guest=\"c\""));
	assert_null(strstr(m, "guest=\"d\""));
	assert_non_null(strstr(m, "\nksmpilot_guest_profit_bytes{guest=\"other\"} 700\n"));
	expect_series(m, "ksmpilot_guest_zero_pages_bytes{guest=\"other\"}", page_bytes());
	assert_non_null(strstr(m, "ksmpilot_guest_processes{kind=\"listed\"} 2\nksmpilot_guest_processes{kind=\"other\"} 2\n"));
	/* a 500-guest host: at most top + 1 series a family */
	{
		unsigned n = 0;
		for (const char *p = m; (p = strstr(p, "\nksmpilot_guest_merged_bytes{")) != NULL; p++)
			n++;
		assert_int_equal(n, 3);
	}
	free(m);
	/* top 0: only other */
	m = metrics_of(&t, 0);
	assert_null(strstr(m, "guest=\"a\""));
	assert_non_null(strstr(m, "ksmpilot_guest_merged_bytes{guest=\"other\"} 26624000\n"));
	free(m);
	guests_free(&t);
	/* no guest: the families are there, with no series but the counts */
	ps.n = 0;
	assert_int_equal(guests_build(&ps, NULL, NULL, &t), 0);
	m = metrics_of(&t, 20);
	assert_null(strstr(m, "{guest="));
	assert_non_null(strstr(m, "ksmpilot_guest_processes{kind=\"listed\"} 0\n"));
	free(m);
	guests_free(&t);
}

/* From a fake /proc through procscan: a 6.1 kernel (ksm_stat with rmap
 * items only, ksm_merging_pages its own file) and a name another user
 * chose to paint the terminal and break the exposition format. */
static void test_hostile_old_kernel(void **state)
{
	struct procscan scan;
	struct guest_table t;
	char proc[200], *m;
	FILE *f;

	(void)state;
	put("proc/sys/vm/max_map_count", "65530\n");
	put("proc/700/comm", "\033[31mqemu\n");
	put("proc/700/status", "Name:\tx\nUid:\t1000\t1000\t1000\t1000\n");
	put("proc/700/ksm_stat", "ksm_rmap_items 900\n");
	put("proc/700/ksm_merging_pages", "800\n");
	put("proc/700/maps", "00400000-00500000 r-xp 00000000 00:00 0\n");
	{
		char path[300];
		static const char args[] = "qemu\0-name\0guest=a\"b\\c\033]0;x\007\n\0-m\0001024";
		snprintf(path, sizeof(path), "%s/proc/700/cmdline", root);
		f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(args, 1, sizeof(args), f), sizeof(args));
		assert_int_equal(fclose(f), 0);
	}
	snprintf(proc, sizeof(proc), "%s/proc", root);
	assert_int_equal(procscan_run(proc, &scan), 0);
	assert_int_equal(scan.n, 1);
	assert_int_equal(guests_build(&scan, proc, NULL, &t), 0);
	procscan_free(&scan);
	assert_int_equal(t.n, 1);
	/* no control character left; the quote and backslash stay text */
	assert_string_equal(t.rows[0].name, "a\"b\\c?]0;x??");
	assert_string_equal(t.rows[0].comm, "?[31mqemu");
	/* what 6.1 lacks: zero pages and the kernel's profit */
	assert_int_equal(t.rows[0].merging_pages, 800);
	assert_int_equal(t.rows[0].zero_pages, -1);
	assert_int_equal(t.total.zero_pages, -1); /* null in the JSON, as the row's, not 0 */
	assert_int_equal(t.total.merging_pages, 800);
	assert_true(t.rows[0].profit_estimated);
	assert_true(t.rows[0].profit_bytes == 800 * page_bytes() - 900 * 64.0);
	assert_true(guest_saving_bytes(&t.total) == 800 * page_bytes());
	m = metrics_of(&t, 20);
	expect_series(m, "ksmpilot_guest_saving_bytes{guest=\"a\\\"b\\\\c?]0;x??\"}", 800 * page_bytes());
	assert_non_null(strstr(m, "\nksmpilot_guest_zero_pages_bytes{guest=\"a\\\"b\\\\c?]0;x??\"} 0\n"));
	for (const char *c = m; *c; c++)
		assert_true(*c == '\n' || (unsigned char)*c >= 0x20);
	free(m);
	guests_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reused_pid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unique_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_old_kernel, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
