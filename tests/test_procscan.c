/* test_procscan.c - the walk of a proc directory for processes that use
 * KSM (procscan.c), on fake trees made with mkdtemp(): the ksm_stat
 * formats of 6.1 to 6.18 and of kernels before it, hostile comm and
 * command lines, bounds, processes that cannot be read; the text of
 * state_dir/processes, written and read back, and every way to break it;
 * and one look at the real /proc. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "procscan.h"
#include "util.h"

static char root[256], proc[300];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "%s/ksmpilot-test-procscan.XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(root))
		return -1;
	chmod(root, 0755);
	snprintf(proc, sizeof(proc), "%s/proc", root);
	return mkdir(proc, 0755);
}

static int teardown(void **state)
{
	(void)state;
	return nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void put_n(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* put("123/comm", "x\n"): a file under the fake proc */
static void put(const char *rel, const char *text)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", proc, rel);
	put_n(path, text, strlen(text));
}

static void mk(const char *rel)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", proc, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

/* The ksm_stat of 6.18 */
static const char *stat618(unsigned rmap, unsigned merged)
{
	static char text[256];

	snprintf(text, sizeof(text),
		 "ksm_rmap_items %u\nksm_zero_pages 3\nksm_merging_pages %u\n"
		 "ksm_process_profit -4096\nksm_merge_any: no\nksm_mergeable: yes\n",
		 rmap, merged);
	return text;
}

/* A fake process: ksm_stat (NULL: none), status with uid, comm, cmdline
 * and maps lines (nmaps < 0: no maps file). */
static void fake(int pid, const char *ksm_stat, unsigned uid, const char *comm, const char *cmdline,
		 size_t cmdline_len, int nmaps)
{
	char rel[64], text[512];

	snprintf(rel, sizeof(rel), "%d", pid);
	mk(rel);
	if (ksm_stat) {
		snprintf(rel, sizeof(rel), "%d/ksm_stat", pid);
		put(rel, ksm_stat);
	}
	snprintf(rel, sizeof(rel), "%d/status", pid);
	snprintf(text, sizeof(text), "Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%d\nPid:\t%d\n"
		 "Uid:\t%u\t%u\t%u\t%u\nGid:\t0\t0\t0\t0\n", "x", pid, pid, uid, uid + 1, uid + 2, uid + 3);
	put(rel, text);
	snprintf(rel, sizeof(rel), "%d/comm", pid);
	snprintf(text, sizeof(text), "%s\n", comm);
	put(rel, text);
	{
		char path[600];
		snprintf(path, sizeof(path), "%s/%d/cmdline", proc, pid);
		put_n(path, cmdline, cmdline_len);
	}
	if (nmaps >= 0) {
		char *maps = malloc((size_t)nmaps * 64 + 1);
		size_t len = 0;
		assert_non_null(maps);
		maps[0] = '\0';
		for (int i = 0; i < nmaps; i++)
			len += (size_t)sprintf(maps + len, "7f%08x000-7f%08x000 rw-p 00000000 00:00 0\n", i, i + 1);
		snprintf(rel, sizeof(rel), "%d/maps", pid);
		put(rel, maps);
		free(maps);
	}
}

static const struct procscan_proc *find(const struct procscan *ps, int pid)
{
	for (unsigned i = 0; i < ps->n; i++)
		if (ps->procs[i].pid == pid)
			return &ps->procs[i];
	return NULL;
}

/* The record of pid, which must be there. */
static const struct procscan_proc *get(const struct procscan *ps, int pid)
{
	const struct procscan_proc *p = find(ps, pid);

	if (!p) {
		fail_msg("no record for pid %d", pid);
		abort();
	}
	return p;
}

static void test_parse_ksm_stat(void **state)
{
	struct procscan_proc p;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(procscan_parse_ksm_stat("ksm_rmap_items 12\nksm_zero_pages 3\nksm_merging_pages 4\n"
						 "ksm_process_profit -8192\nksm_merge_any: yes\nksm_mergeable: no\n",
						 &p),
			 0);
	assert_int_equal(p.present, (1u << PS_STAT_COUNT) - 1);
	assert_int_equal(p.stat[PS_RMAP_ITEMS], 12);
	assert_int_equal(p.stat[PS_ZERO_PAGES], 3);
	assert_int_equal(p.stat[PS_MERGING_PAGES], 4);
	assert_int_equal(p.stat[PS_PROCESS_PROFIT], -8192);
	assert_int_equal(p.stat[PS_MERGE_ANY], 1);
	assert_int_equal(p.stat[PS_MERGEABLE], 0);
	assert_true(procscan_uses_ksm(&p));
	/* 6.1: the first field only; a later kernel's unknown field is skipped */
	assert_int_equal(procscan_parse_ksm_stat("ksm_rmap_items 0\nksm_future_thing 5\n", &p), 0);
	assert_int_equal(p.present, PS_BIT(PS_RMAP_ITEMS));
	assert_false(procscan_uses_ksm(&p));
	/* a kernel thread: empty */
	assert_int_equal(procscan_parse_ksm_stat("", &p), 0);
	assert_int_equal(p.present, 0);
	/* garbled known fields, a negative count, a repeated field: each is
	 * left out, and the fields beside it are kept */
	assert_int_equal(procscan_parse_ksm_stat("ksm_rmap_items x\n", &p), -EBADMSG);
	assert_int_equal(p.present, 0);
	assert_int_equal(procscan_parse_ksm_stat("ksm_rmap_items -1\nksm_merging_pages 7\n", &p), -EBADMSG);
	assert_int_equal(p.present, PS_BIT(PS_MERGING_PAGES));
	assert_int_equal(p.stat[PS_MERGING_PAGES], 7);
	assert_int_equal(p.stat[PS_RMAP_ITEMS], 0);
	assert_int_equal(procscan_parse_ksm_stat("ksm_rmap_items\n", &p), -EBADMSG);
	assert_int_equal(procscan_parse_ksm_stat("ksm_mergeable: maybe\nksm_merge_any: yes\n", &p), -EBADMSG);
	assert_int_equal(p.present, PS_BIT(PS_MERGE_ANY));
	assert_int_equal(procscan_parse_ksm_stat("ksm_rmap_items 1\nksm_rmap_items 2\nksm_zero_pages 3\n", &p),
			 -EBADMSG);
	assert_int_equal(p.present, PS_BIT(PS_ZERO_PAGES));
	assert_int_equal(p.stat[PS_RMAP_ITEMS], 0);
	assert_int_equal(procscan_parse_ksm_stat("ksm_rmap_items 99999999999999999999\n", &p), -EBADMSG);
	/* 6.6-6.9 could show ksm_zero_pages wrapped below zero, printed
	 * unsigned: the process still uses KSM by its other fields */
	assert_int_equal(procscan_parse_ksm_stat("ksm_rmap_items 5000\nksm_zero_pages 18446744073709551615\n"
						 "ksm_merging_pages 4000\nksm_process_profit 1000\n",
						 &p),
			 -EBADMSG);
	assert_int_equal(p.present, PS_BIT(PS_RMAP_ITEMS) | PS_BIT(PS_MERGING_PAGES) | PS_BIT(PS_PROCESS_PROFIT));
	assert_int_equal(p.stat[PS_MERGING_PAGES], 4000);
	assert_true(procscan_uses_ksm(&p));
	assert_string_equal(procscan_stat_name(PS_MERGE_ANY), "ksm_merge_any");
}

static void test_parse_start(void **state)
{
	static const struct {
		const char *text;
		int r;
		uint64_t start;
	} c[] = {
		{ "1234 (qemu-system-x86) S 1 1234 1234 0 -1 4194560 100 0 0 0 10 5 0 0 20 0 4 0 98765 1000 300\n", 0,
		  98765 },
		/* a comm that holds ") (" and spaces: it runs to the last ')' */
		{ "77 (a) (b c) S 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 4242\n", 0, 4242 },
		{ "77 (x) S 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 4242", 0, 4242 }, /* the last field */
		{ "77 (x) S 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0\n", -EBADMSG, 0 }, /* cut short */
		{ "77 (x) S 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -5 1\n", -EBADMSG, 0 },
		{ "77 (x) S 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 12x 1\n", -EBADMSG, 0 },
		{ "77 (x) S 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99999999999999999999 1\n", -EBADMSG, 0 },
		{ "77 x S 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 4242\n", -EBADMSG, 0 }, /* no comm */
	};
	char self[1024];
	FILE *f;
	size_t n;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		uint64_t start = 7;
		int r = procscan_parse_start(c[i].text, &start);
		if (r != c[i].r || start != (c[i].r == 0 ? c[i].start : 7))
			fail_msg("case %zu: %d, start %llu", i, r, (unsigned long long)start);
	}
	/* this kernel's own line */
	f = fopen("/proc/self/stat", "r");
	assert_non_null(f);
	n = fread(self, 1, sizeof(self) - 1, f);
	fclose(f);
	self[n] = '\0';
	{
		uint64_t start = 0;
		assert_int_equal(procscan_parse_start(self, &start), 0);
		assert_true(start > 0);
	}
}

static void test_scan(void **state)
{
	static const char hostile_cmd[] = "qemu\0-name\0guest=\x1b]0;pwned\x07\0\xff\xfe\0";
	struct procscan ps;
	const struct procscan_proc *p;
	char rel[600];

	(void)state;
	mk("sys");
	mk("sys/vm");
	put("sys/vm/max_map_count", "1000\n");
	fake(100, stat618(5000, 77), 64055, "qemu-system-x86", "qemu-system-x86_64\0-name\0guest=vm1\0", 34,
	     950);
	put("100/stat", "100 (qemu-system-x86) S 1 100 100 0 -1 4194560 100 0 0 0 10 5 0 0 20 0 4 0 98765 1000\n");
	fake(200, "ksm_rmap_items 10\n", 1000, "\x1b[31mevil\nkey=1", hostile_cmd, sizeof(hostile_cmd) - 1,
	     300);
	/* 6.1: ksm_stat has the rmap items only, the merged pages their file */
	put("200/ksm_merging_pages", "6\n");
	fake(300, "ksm_rmap_items 0\nksm_merging_pages 0\nksm_mergeable: no\n", 0, "idle", "idle\0", 5, 5);
	fake(400, "", 0, "kthreadd", "", 0, -1); /* a kernel thread */
	/* a kernel before 6.1: ksm_merging_pages alone */
	fake(500, NULL, 33, "old", "old\0", 4, 7);
	put("500/ksm_merging_pages", "42\n");
	/* uses KSM, maps unreadable */
	fake(600, stat618(1, 1), 0, "nomaps", "nomaps\0", 7, -1);
	/* a FIFO in place of ksm_stat must not hang the walk */
	mk("700");
	snprintf(rel, sizeof(rel), "%s/700/ksm_stat", proc);
	assert_int_equal(mkfifo(rel, 0644), 0);
	/* gone half-way: ksm_stat but no status */
	mk("800");
	put("800/ksm_stat", "ksm_rmap_items 9\n");
	/* ksm_zero_pages wrapped (6.6-6.9): that field is left out, not the process */
	fake(900, "ksm_rmap_items 300\nksm_zero_pages 18446744073709551615\nksm_merging_pages 200\n", 0, "wrapped",
	     "wrapped\0", 8, 12);
	mk("self");
	mk("0123");
	put("meminfo", "x\n");
	assert_int_equal(procscan_run(proc, &ps), 0);
	assert_int_equal(ps.max_map_count, 1000);
	assert_int_equal(ps.scanned, 9); /* 100..900, not self, 0123 or meminfo */
	assert_int_equal(ps.denied, 0);
	assert_int_equal(ps.n, 5);       /* 100, 200, 500, 600, 900 */
	assert_int_equal(ps.maps_unreadable, 1);
	assert_int_equal(ps.dropped, 0);
	assert_true(ps.time > 1600000000);

	p = get(&ps, 100);
	assert_int_equal(p->uid, 64055); /* the real uid, not the effective one */
	assert_string_equal(p->comm, "qemu-system-x86");
	assert_string_equal(p->cmdline, "qemu-system-x86_64 -name guest=vm1");
	assert_int_equal(p->start, 98765);
	assert_int_equal(p->present, (1u << PS_STAT_COUNT) - 1);
	assert_int_equal(p->stat[PS_RMAP_ITEMS], 5000);
	assert_int_equal(p->stat[PS_MERGING_PAGES], 77);
	assert_int_equal(p->stat[PS_PROCESS_PROFIT], -4096);
	assert_int_equal(p->stat[PS_MERGEABLE], 1);
	assert_true(p->have_maps);
	assert_int_equal(p->maps, 950);

	/* comm and cmdline from a hostile process: no control byte, no
	 * newline, no invalid UTF-8 left */
	p = get(&ps, 200);
	assert_string_equal(p->comm, "?[31mevil?key=1");
	assert_string_equal(p->cmdline, "qemu -name guest=?]0;pwned? ??");
	assert_int_equal(p->present, PS_BIT(PS_RMAP_ITEMS) | PS_BIT(PS_MERGING_PAGES));
	assert_int_equal(p->stat[PS_MERGING_PAGES], 6);
	assert_int_equal(p->start, 0); /* no stat file: unknown */

	p = get(&ps, 500);
	assert_int_equal(p->present, PS_BIT(PS_MERGING_PAGES));
	assert_int_equal(p->stat[PS_MERGING_PAGES], 42);
	assert_int_equal(p->uid, 33);

	p = get(&ps, 900);
	assert_int_equal(p->present, PS_BIT(PS_RMAP_ITEMS) | PS_BIT(PS_MERGING_PAGES));
	assert_int_equal(p->stat[PS_MERGING_PAGES], 200);

	p = get(&ps, 600);
	assert_false(p->have_maps);

	assert_null(find(&ps, 300)); /* no KSM use */
	assert_null(find(&ps, 400));
	assert_null(find(&ps, 800));
	p = procscan_worst_maps(&ps);
	assert_non_null(p);
	assert_int_equal(p->pid, 100);
	procscan_free(&ps);
	assert_null(ps.procs);

	/* no proc dir: an error, the output untouched */
	ps.n = 12345;
	snprintf(rel, sizeof(rel), "%s/none", root);
	assert_int_equal(procscan_run(rel, &ps), -ENOENT);
	assert_int_equal(ps.n, 12345);
}

/* The open descriptors of this process. */
static unsigned open_fds(void)
{
	unsigned n = 0;
	DIR *d = opendir("/proc/self/fd");

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int confine_calls, confine_result;

/* What the confinement would take away, done at its moment: what the
 * scan reads after it must come from then, its ksm_stat from before, its
 * maps from the descriptor opened before. */
static int fake_confine(void *arg)
{
	char path[600];

	assert_ptr_equal(arg, &confine_calls);
	confine_calls++;
	put("100/comm", "after\n");
	put("100/ksm_stat", stat618(9, 9));
	snprintf(path, sizeof(path), "%s/100/maps", proc);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/200/status", proc); /* 200 is gone */
	assert_int_equal(unlink(path), 0);
	return confine_result;
}

static int count_confine(void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void test_confined_phases(void **state)
{
	struct procscan ps;
	const struct procscan_proc *p;
	unsigned fds = open_fds();

	(void)state;
	fake(100, stat618(5000, 77), 64055, "before", "cmd\0", 4, 40);
	fake(200, stat618(1, 1), 0, "gone", "gone\0", 5, 5);
	fake(300, "ksm_rmap_items 0\n", 0, "idle", "idle\0", 5, 5);
	confine_result = 0;
	assert_int_equal(procscan_run_confined(proc, &ps, fake_confine, &confine_calls), 0);
	assert_int_equal(confine_calls, 1);
	assert_int_equal(ps.scanned, 3);
	assert_int_equal(ps.n, 1); /* 300 uses no KSM, 200 went away */
	p = get(&ps, 100);
	assert_string_equal(p->comm, "after");
	assert_int_equal(p->stat[PS_RMAP_ITEMS], 5000);
	assert_true(p->have_maps);
	assert_int_equal(p->maps, 40);
	assert_int_equal(ps.maps_unreadable, 0);
	procscan_free(&ps);
	assert_int_equal(open_fds(), fds);

	/* a confinement that fails fails the scan, and leaves nothing open */
	put("100/maps", "0-1 r--p 0 00:00 0\n");
	put("200/status", "Uid:\t0\t0\t0\t0\n");
	confine_result = -EPERM;
	ps.n = 12345;
	assert_int_equal(procscan_run_confined(proc, &ps, fake_confine, &confine_calls), -EPERM);
	assert_int_equal(confine_calls, 2);
	assert_int_equal(ps.n, 12345);
	assert_int_equal(open_fds(), fds);
}

static void test_bounds(void **state)
{
	char big[PROCSCAN_CMDLINE_MAX * 4];
	struct procscan ps;
	const struct procscan_proc *p;

	(void)state;
	/* no max_map_count: the kernel's default */
	fake(1, stat618(1, 1), 0, "long", "x\0", 2, 3);
	assert_int_equal(procscan_run(proc, &ps), 0);
	assert_int_equal(ps.max_map_count, PROCSCAN_DEFAULT_MAX_MAP_COUNT);
	procscan_free(&ps);
	/* a command line of 2 KiB is cut; maps are counted up to twice
	 * max_map_count; a comm longer than any kernel's is cut */
	mk("sys");
	mk("sys/vm");
	put("sys/vm/max_map_count", "10\n");
	memset(big, 'a', sizeof(big));
	big[PROCSCAN_CMDLINE_MAX - 2] = '\xc3'; /* a UTF-8 sequence cut by the bound */
	big[PROCSCAN_CMDLINE_MAX - 1] = '\xa9';
	fake(2, stat618(1, 1), 0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", big,
	     sizeof(big), 50);
	assert_int_equal(procscan_run(proc, &ps), 0);
	p = get(&ps, 2);
	assert_int_equal(strlen(p->cmdline), PROCSCAN_CMDLINE_MAX - 1);
	assert_int_equal(p->cmdline[PROCSCAN_CMDLINE_MAX - 2], '?'); /* the cut 0xc3 */
	assert_int_equal(strlen(p->comm), PROCSCAN_COMM_MAX - 1);
	assert_int_equal(p->maps, 20);
	procscan_free(&ps);
}

static void test_max_procs(void **state)
{
	struct procscan ps;

	(void)state;
	for (int pid = 1; pid <= PROCSCAN_MAX_PROCS + 3; pid++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "%d", pid);
		mk(rel);
		snprintf(rel, sizeof(rel), "%d/ksm_stat", pid);
		put(rel, "ksm_rmap_items 1\n");
		snprintf(rel, sizeof(rel), "%d/status", pid);
		put(rel, "Name:\tx\nUid:\t0\t0\t0\t0\n");
		snprintf(rel, sizeof(rel), "%d/comm", pid);
		put(rel, "x\n");
		snprintf(rel, sizeof(rel), "%d/cmdline", pid);
		put(rel, "x");
	}
	assert_int_equal(procscan_run(proc, &ps), 0);
	assert_int_equal(ps.n, PROCSCAN_MAX_PROCS);
	assert_int_equal(ps.dropped, 3);
	assert_int_equal(ps.scanned, PROCSCAN_MAX_PROCS + 3);
	assert_int_equal(ps.maps_unreadable, PROCSCAN_MAX_PROCS); /* of the records */
	procscan_free(&ps);

	/* confined, it holds two descriptors for each (its directory and
	 * maps): with 64 or 65 at most, those it cannot open count as denied
	 * (whether they use KSM is unknown), and those it holds are read
	 * whole. One limit runs out at a process's directory, the other at
	 * its ksm_stat. */
	for (int pid = 1; pid <= PROCSCAN_MAX_PROCS + 3; pid++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "%d/maps", pid);
		put(rel, "0-1 r--p 0 00:00 0\n");
	}
	for (rlim_t lim = 64; lim <= 65; lim++) {
		struct rlimit old, low;
		unsigned fds = open_fds();
		assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
		low = old;
		low.rlim_cur = lim;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
		confine_calls = 0;
		confine_result = 0;
		assert_int_equal(procscan_run_confined(proc, &ps, count_confine, &confine_calls), 0);
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
		assert_int_equal(confine_calls, 1);
		assert_int_equal(ps.scanned, PROCSCAN_MAX_PROCS + 3);
		assert_true(ps.n > 10 && ps.n < 64);
		assert_int_equal(ps.n + ps.denied, PROCSCAN_MAX_PROCS + 3);
		assert_int_equal(ps.dropped, 0);
		assert_int_equal(ps.maps_unreadable, 0);
		for (unsigned i = 0; i < ps.n; i++) {
			assert_string_equal(ps.procs[i].comm, "x");
			assert_int_equal(ps.procs[i].maps, 1);
		}
		procscan_free(&ps);
		assert_int_equal(open_fds(), fds);
	}
}

/* Another user's ksm_stat (mode 0400) cannot be read without
 * CAP_DAC_READ_SEARCH: counted as denied, never fatal. */
static void test_denied(void **state)
{
	char path[600];
	pid_t child;
	int status;

	(void)state;
	fake(10, stat618(1, 1), 0, "mine", "mine\0", 5, 3);
	fake(11, stat618(1, 1), 0, "other", "other\0", 6, 3);
	snprintf(path, sizeof(path), "%s/11/ksm_stat", proc);
	/* as the kernel makes it, 0400; a user who is not root owns it here,
	 * and cannot read it at mode 0 */
	assert_int_equal(chmod(path, geteuid() == 0 ? 0400 : 0), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct procscan ps;
		if (geteuid() == 0) {
			/* root reads anything: look as nobody, owner of 10 only */
			snprintf(path, sizeof(path), "%s/10/ksm_stat", proc);
			if (chown(path, 65534, 65534) < 0 || setresgid(65534, 65534, 65534) < 0 ||
			    setresuid(65534, 65534, 65534) < 0)
				_exit(77);
		}
		if (procscan_run(proc, &ps) < 0)
			_exit(1);
		_exit(ps.denied == 1 && ps.n == 1 && ps.procs[0].pid == 10 ? 0 : 2);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		print_message("skipped: root cannot switch to nobody here\n");
		skip();
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void sample_scan(struct procscan *ps)
{
	static struct procscan_proc procs[2];

	memset(ps, 0, sizeof(*ps));
	memset(procs, 0, sizeof(procs));
	ps->time = 1795713190;
	ps->max_map_count = 65530;
	ps->scanned = 312;
	ps->denied = 1;
	ps->maps_unreadable = 1;
	ps->dropped = 0;
	ps->n = 2;
	ps->procs = procs;
	procs[0].pid = 4242;
	procs[0].uid = 64055;
	snprintf(procs[0].comm, sizeof(procs[0].comm), "qemu-system-x86");
	snprintf(procs[0].cmdline, sizeof(procs[0].cmdline), "qemu-system-x86_64 -name guest=vm1 a=b");
	procs[0].present = (1u << PS_STAT_COUNT) - 1;
	procs[0].stat[PS_RMAP_ITEMS] = 123;
	procs[0].stat[PS_MERGING_PAGES] = 456;
	procs[0].stat[PS_PROCESS_PROFIT] = -64;
	procs[0].stat[PS_MERGEABLE] = 1;
	procs[0].have_maps = true;
	procs[0].maps = 950;
	procs[0].start = 31415;
	procs[1].pid = 7;
	procs[1].present = PS_BIT(PS_MERGING_PAGES);
	procs[1].stat[PS_MERGING_PAGES] = 3;
}

static void test_file_roundtrip(void **state)
{
	struct procscan ps, back;
	char *text, *again;
	unsigned line;

	(void)state;
	sample_scan(&ps);
	assert_int_equal(procscan_format(&ps, &text), 0);
	assert_non_null(strstr(text, "\npid=4242\nuid=64055\ncomm=qemu-system-x86\n"));
	assert_non_null(strstr(text, "\nksm_process_profit=-64\n"));
	assert_non_null(strstr(text, "\nprocesses=2\n"));
	assert_null(strstr(text, "ksm_rmap_items=0")); /* absent for pid 7: left out */
	assert_non_null(strstr(text, "\nmaps=950\nstart=31415\npid=7\n")); /* and no start for pid 7 */
	assert_int_equal(procscan_parse(text, strlen(text), &back, &line), 0);
	assert_int_equal(back.n, 2);
	assert_int_equal(back.time, ps.time);
	assert_int_equal(back.max_map_count, 65530);
	assert_int_equal(back.scanned, 312);
	assert_int_equal(back.denied, 1);
	assert_int_equal(back.maps_unreadable, 1);
	assert_string_equal(back.procs[0].cmdline, "qemu-system-x86_64 -name guest=vm1 a=b");
	assert_int_equal(back.procs[0].present, ps.procs[0].present);
	assert_int_equal(back.procs[0].stat[PS_PROCESS_PROFIT], -64);
	assert_int_equal(back.procs[1].present, PS_BIT(PS_MERGING_PAGES));
	assert_false(back.procs[1].have_maps);
	assert_int_equal(back.procs[0].start, 31415);
	assert_int_equal(back.procs[1].start, 0);
	assert_int_equal(procscan_format(&back, &again), 0);
	assert_string_equal(text, again);
	procscan_free(&back);
	free(again);
	free(text);

	/* the writer refuses a newline in a value */
	snprintf(ps.procs[0].comm, sizeof(ps.procs[0].comm), "a\nmaps=1");
	text = NULL;
	assert_int_equal(procscan_format(&ps, &text), -EINVAL);
	assert_null(text);
}

/* Replace the first from with to in the formatted sample; parse it. */
static int parse_edited(const char *from, const char *to, unsigned *line, struct procscan *out)
{
	struct procscan ps;
	char *text, *p, *edited;
	int r;

	sample_scan(&ps);
	assert_int_equal(procscan_format(&ps, &text), 0);
	p = strstr(text, from);
	assert_non_null(p);
	edited = malloc(strlen(text) + strlen(to) + 1);
	assert_non_null(edited);
	memcpy(edited, text, (size_t)(p - text));
	strcpy(edited + (p - text), to);
	strcat(edited, p + strlen(from));
	out->n = 999;
	r = procscan_parse(edited, strlen(edited), out, line);
	free(edited);
	free(text);
	return r;
}

static void test_file_errors(void **state)
{
	static const struct {
		const char *from, *to;
		unsigned line;          /* 0: the whole text */
	} bad[] = {
		{ "# ksmpilot processes v1", "# ksmpilot state v1", 1 },
		{ "version=1\n", "version=2\n", 2 },
		{ "version=1\n", "", 9 },                           /* a header key missing at pid= */
		{ "time=", "time=x", 3 },
		{ "scanned=312\n", "scanned=312\nscanned=312\n", 6 }, /* twice */
		{ "processes=2\n", "processes=3\n", 0 },            /* a record missing */
		{ "processes=2\n", "processes=1\n", 22 },          /* a record too many */
		{ "processes=2\n", "processes=5000\n", 9 },        /* past PROCSCAN_MAX_PROCS */
		{ "uid=64055\n", "uid=64055\nuid=1\n", 12 },        /* twice in a record */
		{ "maps=950\n", "maps=950\nversion=1\n", 21 },      /* the header after a record */
		{ "version=1\n", "version=1\nuid=3\n", 3 },         /* a record key before pid= */
		{ "pid=4242\n", "pid=-1\n", 10 },
		{ "pid=4242\n", "pid=0\n", 10 },
		{ "ksm_mergeable=1\n", "ksm_mergeable=2\n", 18 },
		{ "ksm_merging_pages=456\n", "ksm_merging_pages=-1\n", 16 },
		{ "maps=950\n", "maps950\n", 20 },                   /* no '=' */
		{ "maps=950\n", "Maps=950\n", 20 },                  /* not a key */
		{ "start=31415\n", "start=0\n", 21 },              /* never written: unknown is left out */
		{ "start=31415\n", "start=31415\nstart=1\n", 22 },  /* twice in a record */
		{ "ksm_merging_pages=3\n", "ksm_merging_pages=3", 26 }, /* no final newline */
	};
	struct procscan ps;
	unsigned line;
	char long_cmd[PROCSCAN_CMDLINE_MAX + 32];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = parse_edited(bad[i].from, bad[i].to, &line, &ps);
		if (r != -EBADMSG || line != bad[i].line)
			fail_msg("case %zu (%s -> %s): %d at line %u, expected line %u", i, bad[i].from, bad[i].to, r,
				 line, bad[i].line);
		assert_int_equal(ps.n, 999); /* untouched */
	}
	/* a command line longer than a record holds */
	memset(long_cmd, 'b', sizeof(long_cmd) - 1);
	long_cmd[sizeof(long_cmd) - 1] = '\0';
	memcpy(long_cmd, "cmdline=", 8);
	long_cmd[sizeof(long_cmd) - 2] = '\n';
	assert_int_equal(parse_edited("cmdline=qemu-system-x86_64 -name guest=vm1 a=b\n", long_cmd, &line, &ps), -EBADMSG);
	assert_int_equal(line, 13);
	/* a NUL inside a line */
	{
		static const char nul[] = "# ksmpilot processes v1\nversion=1\0\n";
		assert_int_equal(procscan_parse(nul, sizeof(nul) - 1, &ps, &line), -EBADMSG);
		assert_int_equal(line, 2);
	}
	/* empty text */
	assert_int_equal(procscan_parse("", 0, &ps, &line), -EBADMSG);
	assert_int_equal(line, 0);
	/* an unknown key of the right shape is skipped, in the header and in
	 * a record; a value from a file is sanitised again */
	assert_int_equal(parse_edited("version=1\n", "version=1\nlater_key=x\n", &line, &ps), 0);
	procscan_free(&ps);
	assert_int_equal(parse_edited("uid=64055\n", "uid=64055\nguest_name=vm1\n", &line, &ps), 0);
	procscan_free(&ps);
	assert_int_equal(parse_edited("comm=qemu-system-x86\n", "comm=\x1b[2Jqemu\xff\n", &line, &ps), 0);
	assert_string_equal(ps.procs[0].comm, "?[2Jqemu?");
	procscan_free(&ps);
}

/* The real /proc: our own process shows up once it has mergeable memory
 * (nothing is merged: the page is random and is unmapped at once). */
static void test_real_proc(void **state)
{
	struct procscan ps;
	const struct procscan_proc *me;
	size_t len = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char *p;
	char stat[256];
	int fd;

	(void)state;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)rand();
	if (madvise(p, len, MADV_MERGEABLE) < 0) {
		munmap(p, len);
		print_message("skipped: madvise(MADV_MERGEABLE): %s: no KSM here\n", strerror(errno));
		skip();
	}
	assert_int_equal(procscan_run("/proc", &ps), 0);
	assert_true(ps.scanned > 1);
	assert_true(ps.max_map_count > 0);
	me = find(&ps, getpid());
	fd = open("/proc/self/ksm_stat", O_RDONLY | O_CLOEXEC);
	stat[0] = '\0';
	if (fd >= 0) {
		ssize_t n = read(fd, stat, sizeof(stat) - 1);
		stat[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	if (!strstr(stat, "ksm_mergeable: yes")) {
		/* without ksm_mergeable (6.1 has none), a process shows KSM use
		 * only once ksmd scanned it, which a test does not wait for */
		procscan_free(&ps);
		munmap(p, len);
		print_message("skipped: /proc/self/ksm_stat has no ksm_mergeable: this process shows no KSM use until ksmd "
			      "scans it\n");
		skip();
	}
	assert_non_null(me);
	assert_int_equal(me->uid, getuid());
	assert_true(me->have_maps);
	assert_true(me->maps > 3);
	assert_non_null(strstr(me->cmdline, "test_procscan"));
	procscan_free(&ps);
	munmap(p, len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ksm_stat),
		cmocka_unit_test(test_parse_start),
		cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confined_phases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_procs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_denied, setup, teardown),
		cmocka_unit_test(test_file_roundtrip),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_real_proc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
