/* test_ksm.c - the KSM sysfs layer against fake trees made with mkdtemp().
 *
 * Faults and kernel behaviour come in through struct ksm_io: the fake I/O
 * records every write (so the order of a restore can be checked), injects
 * an errno per knob, and can play the kernel's rules (pages_to_scan is
 * EINVAL while the advisor is on, merge_across_nodes and max_page_sharing
 * are EBUSY while pages are shared, switching the advisor resets
 * pages_to_scan). The files are always rewritten in place, because the
 * module keeps them open. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ksm.h"

/* ---- the fake tree ------------------------------------------------------ */

static const char *const tree_files[][2] = {
	{ "run", "1\n" },
	{ "pages_to_scan", "100\n" },
	{ "sleep_millisecs", "20\n" },
	{ "merge_across_nodes", "1\n" },
	{ "use_zero_pages", "0\n" },
	{ "max_page_sharing", "256\n" },
	{ "smart_scan", "1\n" },
	{ "advisor_mode", "[none] scan-time\n" },
	{ "advisor_target_scan_time", "200\n" },
	{ "advisor_max_cpu", "70\n" },
	{ "advisor_min_pages_to_scan", "500\n" },
	{ "advisor_max_pages_to_scan", "30000\n" },
	{ "stable_node_chains_prune_millisecs", "2000\n" },
	{ "pages_shared", "0\n" },
	{ "pages_sharing", "0\n" },
	{ "pages_unshared", "0\n" },
	{ "pages_volatile", "0\n" },
	{ "full_scans", "7\n" },
	{ "pages_scanned", "123456\n" },
	{ "pages_skipped", "42\n" },
	{ "general_profit", "-8192\n" },
	{ "ksm_zero_pages", "3\n" },
	{ "stable_node_chains", "0\n" },
	{ "stable_node_dups", "5\n" },
};

/* Files a 6.1 kernel does not have. */
static const enum ksm_item not_in_61[] = {
	KSM_GENERAL_PROFIT, KSM_PAGES_SCANNED, KSM_ZERO_PAGES, KSM_SMART_SCAN, KSM_PAGES_SKIPPED,
	KSM_ADVISOR_MODE, KSM_ADVISOR_TARGET_SCAN_TIME, KSM_ADVISOR_MAX_CPU, KSM_ADVISOR_MIN_PAGES_TO_SCAN,
	KSM_ADVISOR_MAX_PAGES_TO_SCAN,
};

struct fx {
	char dir[64];
	char path[128];
	struct ksm k;
	bool open;
};

/* Write text as the whole content of dir/name, in place (same inode). */
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

/* The whole content of dir/name. */
static const char *get(const char *dir, const char *name)
{
	static char buf[256];
	char p[256];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

static void drop(const char *dir, const char *name)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_int_equal(unlink(p), 0);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the one of opendir */
}

static int setup_tree(void **state, bool full)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/ksmpilot-test-ksm.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	for (size_t i = 0; i < sizeof(tree_files) / sizeof(tree_files[0]); i++)
		put(f->dir, tree_files[i][0], tree_files[i][1]);
	if (!full)
		for (size_t i = 0; i < sizeof(not_in_61) / sizeof(not_in_61[0]); i++)
			drop(f->dir, ksm_item_name(not_in_61[i]));
	snprintf(f->path, sizeof(f->path), "%s/snapshot", f->dir);
	*state = f;
	return 0;
}

static int setup_full(void **state)
{
	return setup_tree(state, true);
}

static int setup_61(void **state)
{
	return setup_tree(state, false);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->open)
		ksm_close(&f->k);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ---- the fake I/O --------------------------------------------------------- */

#define MAX_WRITES 64

static struct {
	int nw;                         /* write_file calls */
	enum ksm_item item[MAX_WRITES];
	char val[MAX_WRITES][32];
	int write_err[KSM_ITEM_COUNT];  /* inject: errno for a write */
	int read_err[KSM_ITEM_COUNT];   /* inject: errno for a read */
	const char *raw[KSM_ITEM_COUNT]; /* read_at returns this, unterminated */
	bool kernel;                    /* play the kernel's rules */
} fio;

static ssize_t at_read(int dirfd, const char *name, char *buf, size_t len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, len - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return n;
}

static void at_put(int dirfd, const char *name, const char *text)
{
	int fd = openat(dirfd, name, O_WRONLY | O_TRUNC | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static bool at_advisor_on(int dirfd)
{
	char buf[64];

	if (faccessat(dirfd, "advisor_mode", F_OK, 0) < 0)
		return false;
	at_read(dirfd, "advisor_mode", buf, sizeof(buf));
	return strstr(buf, "[scan-time]") != NULL;
}

static ssize_t fake_read_at(int fd, char *buf, size_t len, enum ksm_item item)
{
	if (fio.read_err[item])
		return -fio.read_err[item];
	if (fio.raw[item]) {
		size_t n = strlen(fio.raw[item]);
		memset(buf, '7', len);      /* no terminating NUL anywhere */
		memcpy(buf, fio.raw[item], n < len ? n : len);
		return (ssize_t)n;
	}
	return ksm_io_default.read_at(fd, buf, len, item);
}

static int fake_write_file(int dirfd, const char *name, const char *buf, size_t len, enum ksm_item item)
{
	char text[64];

	assert_true(fio.nw < MAX_WRITES);
	assert_true(len < sizeof(fio.val[0]));
	assert_string_equal(name, ksm_item_name(item));
	fio.item[fio.nw] = item;
	memcpy(fio.val[fio.nw], buf, len);
	fio.val[fio.nw][len] = '\0';
	fio.nw++;
	if (fio.write_err[item])
		return -fio.write_err[item];
	if (fio.kernel) {
		if (item == KSM_PAGES_TO_SCAN && at_advisor_on(dirfd))
			return -EINVAL;
		if (item == KSM_MERGE_ACROSS_NODES || item == KSM_MAX_PAGE_SHARING) {
			at_read(dirfd, "pages_shared", text, sizeof(text));
			if (strtoll(text, NULL, 10) > 0)
				return -EBUSY;
		}
		if (item == KSM_RUN && !(len == 1 && buf[0] >= '0' && buf[0] <= '2'))
			return -EINVAL;
		if (item == KSM_ADVISOR_MODE) {
			bool on = len == 9 && memcmp(buf, "scan-time", 9) == 0;
			bool was = at_advisor_on(dirfd);
			if (!on && !(len == 4 && memcmp(buf, "none", 4) == 0))
				return -EINVAL;
			at_put(dirfd, "advisor_mode", on ? "none [scan-time]\n" : "[none] scan-time\n");
			if (on != was) {
				if (on)
					at_read(dirfd, "advisor_min_pages_to_scan", text, sizeof(text));
				at_put(dirfd, "pages_to_scan", on ? text : "100\n");
			}
			return 0;
		}
	}
	return ksm_io_default.write_file(dirfd, name, buf, len, item);
}

static const struct ksm_io fake_io = { .read_at = fake_read_at, .write_file = fake_write_file };

/* The writes so far as "name=value,name=value". */
static const char *writes(void)
{
	static char buf[1024];
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < fio.nw; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s=%s", i ? "," : "",
					ksm_item_name(fio.item[i]), fio.val[i]);
	return buf;
}

static void open_fx(struct fx *f, bool fake)
{
	memset(&fio, 0, sizeof(fio));
	assert_int_equal(ksm_open(&f->k, f->dir, fake ? &fake_io : NULL), 0);
	f->open = true;
}

static int64_t rd(struct fx *f, enum ksm_item i)
{
	int64_t v = -777;

	assert_int_equal(ksm_read(&f->k, i, &v), 0);
	return v;
}

/* ---- items ------------------------------------------------------------------ */

static void test_item_table(void **state)
{
	(void)state;
	assert_string_equal(ksm_item_name(KSM_RUN), "run");
	assert_string_equal(ksm_item_name(KSM_ZERO_PAGES), "ksm_zero_pages");
	assert_string_equal(ksm_item_name(KSM_ITEM_COUNT), "?");
	assert_string_equal(ksm_item_name((enum ksm_item)-1), "?");
	assert_true(ksm_item_is_knob(KSM_RUN));
	assert_true(ksm_item_is_knob(KSM_ADVISOR_MODE));
	assert_true(ksm_item_is_knob(KSM_STABLE_NODE_CHAINS_PRUNE_MILLISECS));
	assert_false(ksm_item_is_knob(KSM_PAGES_SHARED));
	assert_false(ksm_item_is_knob(KSM_GENERAL_PROFIT));
	assert_false(ksm_item_is_knob(KSM_ITEM_COUNT));
	assert_string_equal(ksm_item_since(KSM_ADVISOR_MODE), "6.8");
	assert_string_equal(ksm_item_since(KSM_GENERAL_PROFIT), "6.4");
	assert_string_equal(ksm_item_since(KSM_ITEM_COUNT), "?");
	/* Every item has its own file name, and every name is in the tree. */
	for (int i = 0; i < KSM_ITEM_COUNT; i++) {
		assert_string_equal(ksm_item_name((enum ksm_item)i), tree_files[i][0]);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(ksm_item_name((enum ksm_item)i), ksm_item_name((enum ksm_item)j));
	}
}

static void test_format_value(void **state)
{
	char buf[32];

	(void)state;
	ksm_format_value(KSM_ADVISOR_MODE, 0, buf, sizeof(buf));
	assert_string_equal(buf, "none");
	ksm_format_value(KSM_ADVISOR_MODE, 1, buf, sizeof(buf));
	assert_string_equal(buf, "scan-time");
	ksm_format_value(KSM_PAGES_TO_SCAN, 1250, buf, sizeof(buf));
	assert_string_equal(buf, "1250");
	ksm_format_value(KSM_GENERAL_PROFIT, -4096, buf, sizeof(buf));
	assert_string_equal(buf, "-4096");
}

/* ---- ksm_open --------------------------------------------------------------- */

static void test_open_full(void **state)
{
	struct fx *f = *state;
	int fds = count_fds();

	open_fx(f, false);
	assert_string_equal(f->k.dir, f->dir);
	assert_true(f->k.dirfd >= 0);
	for (int i = 0; i < KSM_ITEM_COUNT; i++)
		assert_true(ksm_has(&f->k, (enum ksm_item)i));
	assert_int_equal(count_fds(), fds + 1 + KSM_ITEM_COUNT);
	ksm_close(&f->k);
	ksm_close(&f->k); /* twice is harmless */
	f->open = false;
	assert_false(ksm_has(&f->k, KSM_RUN));
	assert_int_equal(count_fds(), fds);
}

static void test_open_61(void **state)
{
	struct fx *f = *state;
	struct ksm_values kv;
	int64_t v = -777;

	open_fx(f, false);
	for (size_t i = 0; i < sizeof(not_in_61) / sizeof(not_in_61[0]); i++) {
		assert_false(ksm_has(&f->k, not_in_61[i]));
		assert_int_equal(ksm_read(&f->k, not_in_61[i], &v), -ENOENT);
		assert_int_equal(v, -777);
	}
	for (enum ksm_item i = KSM_RUN; i <= KSM_STABLE_NODE_DUPS; i++) {
		bool missing = false;
		for (size_t j = 0; j < sizeof(not_in_61) / sizeof(not_in_61[0]); j++)
			missing |= not_in_61[j] == i;
		assert_int_equal(ksm_has(&f->k, i), !missing);
	}
	assert_int_equal(ksm_read_all(&f->k, &kv), 0);
	assert_int_equal(kv.present, f->k.present);
	assert_int_equal(kv.v[KSM_FULL_SCANS], 7);
}

static void test_open_missing_dir(void **state)
{
	struct fx *f = *state;
	char p[256];
	int fds = count_fds();

	snprintf(p, sizeof(p), "%s/no-such-dir", f->dir);
	assert_int_equal(ksm_open(&f->k, p, NULL), -ENOENT);
	assert_int_equal(f->k.present, 0);
	ksm_close(&f->k); /* safe after a failed open */
	assert_int_equal(count_fds(), fds);
}

static void test_open_missing_run(void **state)
{
	struct fx *f = *state;
	int fds = count_fds();

	drop(f->dir, "run");
	assert_int_equal(ksm_open(&f->k, f->dir, NULL), -ENOENT);
	assert_int_equal(f->k.present, 0);
	assert_int_equal(count_fds(), fds);
	ksm_close(&f->k);
}

static void test_open_run_unopenable(void **state)
{
	struct fx *f = *state;
	char p[256];
	int fds = count_fds();

	/* 'run' exists (stat follows the link) but O_NOFOLLOW cannot open it:
	 * the real errno comes back and nothing stays open. */
	drop(f->dir, "run");
	snprintf(p, sizeof(p), "%s/run", f->dir);
	assert_int_equal(symlink("pages_to_scan", p), 0);
	assert_int_equal(ksm_open(&f->k, f->dir, NULL), -ELOOP);
	assert_int_equal(count_fds(), fds);
	ksm_close(&f->k);
}

static void test_open_not_dir(void **state)
{
	struct fx *f = *state;
	char p[256];

	snprintf(p, sizeof(p), "%s/run", f->dir);
	assert_int_equal(ksm_open(&f->k, p, NULL), -ENOTDIR);
	ksm_close(&f->k);
}

static void test_open_name_too_long(void **state)
{
	struct fx *f = *state;
	char p[400];

	memset(p, 'a', sizeof(p) - 1);
	p[0] = '/';
	p[sizeof(p) - 1] = '\0';
	assert_int_equal(ksm_open(&f->k, p, NULL), -ENAMETOOLONG);
	ksm_close(&f->k);
}

/* ---- ksm_read ------------------------------------------------------------- */

static void test_read_numbers(void **state)
{
	struct fx *f = *state;

	put(f->dir, "pages_to_scan", "1234\n");
	put(f->dir, "sleep_millisecs", "0"); /* no newline */
	put(f->dir, "pages_sharing", "9223372036854775807\n");
	open_fx(f, false);
	assert_int_equal(rd(f, KSM_PAGES_TO_SCAN), 1234);
	assert_int_equal(rd(f, KSM_SLEEP_MILLISECS), 0);
	assert_int_equal(rd(f, KSM_PAGES_SHARING), INT64_MAX);
	assert_int_equal(rd(f, KSM_FULL_SCANS), 7);
	assert_int_equal(rd(f, KSM_RUN), 1);
	/* The files stay open and are read again from the start each time. */
	put(f->dir, "pages_to_scan", "250\n");
	assert_int_equal(rd(f, KSM_PAGES_TO_SCAN), 250);
	put(f->dir, "pages_to_scan", "7\n");
	assert_int_equal(rd(f, KSM_PAGES_TO_SCAN), 7);
}

static void test_read_general_profit(void **state)
{
	struct fx *f = *state;
	int64_t v = -777;

	open_fx(f, false);
	assert_int_equal(rd(f, KSM_GENERAL_PROFIT), -8192);
	put(f->dir, "general_profit", "-9223372036854775808\n");
	assert_int_equal(rd(f, KSM_GENERAL_PROFIT), INT64_MIN);
	put(f->dir, "general_profit", "1048576\n");
	assert_int_equal(rd(f, KSM_GENERAL_PROFIT), 1048576);
	/* Only general_profit may be negative. */
	put(f->dir, "pages_shared", "-1\n");
	assert_int_equal(ksm_read(&f->k, KSM_PAGES_SHARED, &v), -EBADMSG);
	assert_int_equal(v, -777);
	/* ksm_zero_pages below zero (6.6-6.9 counted it racily): none, not
	 * a read error that would stop the daemon at start-up */
	put(f->dir, "ksm_zero_pages", "-1\n");
	assert_int_equal(ksm_read(&f->k, KSM_ZERO_PAGES, &v), 0);
	assert_int_equal(v, 0);
	put(f->dir, "ksm_zero_pages", "-4096\n");
	assert_int_equal(rd(f, KSM_ZERO_PAGES), 0);
	put(f->dir, "ksm_zero_pages", "77\n");
	assert_int_equal(rd(f, KSM_ZERO_PAGES), 77);
}

static void test_read_advisor_mode(void **state)
{
	static const char *const bad[] = { "none scan-time\n", "[bogus] none\n", "[none\n", "none] [\n",
					   "[scan-time\n", "[] none\n", "[none ] scan-time\n", "\n" };
	struct fx *f = *state;

	open_fx(f, false);
	assert_int_equal(rd(f, KSM_ADVISOR_MODE), 0);
	put(f->dir, "advisor_mode", "none [scan-time]\n");
	assert_int_equal(rd(f, KSM_ADVISOR_MODE), 1);
	put(f->dir, "advisor_mode", "[none] scan-time\n");
	assert_int_equal(rd(f, KSM_ADVISOR_MODE), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t v = -777;
		put(f->dir, "advisor_mode", bad[i]);
		assert_int_equal(ksm_read(&f->k, KSM_ADVISOR_MODE, &v), -EBADMSG);
		assert_int_equal(v, -777);
	}
}

static void test_read_garbage(void **state)
{
	static const char *const bad[] = { "", "\n", "abc\n", "12abc\n", "1 2\n", "0x10\n", "-1\n",
					   "99999999999999999999\n", "9223372036854775808\n", "1.5\n",
					   "[none] scan-time\n" };
	struct fx *f = *state;

	open_fx(f, false);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t v = -777;
		put(f->dir, "pages_to_scan", bad[i]);
		assert_int_equal(ksm_read(&f->k, KSM_PAGES_TO_SCAN, &v), -EBADMSG);
		assert_int_equal(v, -777);
	}
	/* More text than any KSM file holds. */
	put(f->dir, "pages_to_scan",
	    "1000000000000000000000000000000000000000000000000000000000000000000000000000000\n");
	assert_int_equal(ksm_read(&f->k, KSM_PAGES_TO_SCAN, &(int64_t){ 0 }), -EBADMSG);
	assert_int_equal(ksm_read(&f->k, KSM_ITEM_COUNT, &(int64_t){ 0 }), -ENOENT);
}

static void test_read_io(void **state)
{
	struct fx *f = *state;
	int64_t v = -777;

	open_fx(f, true);
	fio.read_err[KSM_FULL_SCANS] = EIO;
	assert_int_equal(ksm_read(&f->k, KSM_FULL_SCANS, &v), -EIO);
	assert_int_equal(v, -777);
	/* read_at need not terminate the text: only its length counts. */
	fio.raw[KSM_PAGES_TO_SCAN] = "42";
	assert_int_equal(rd(f, KSM_PAGES_TO_SCAN), 42);
	fio.raw[KSM_ADVISOR_MODE] = "none [scan-time]";
	assert_int_equal(rd(f, KSM_ADVISOR_MODE), 1);
	/* A length that fills the buffer is garbage, not an overrun. */
	fio.raw[KSM_SLEEP_MILLISECS] = "1111111111111111111111111111111111111111111111111111111111111111111111";
	assert_int_equal(ksm_read(&f->k, KSM_SLEEP_MILLISECS, &v), -EBADMSG);
	assert_int_equal(v, -777);
}

static void test_read_all(void **state)
{
	struct fx *f = *state;
	struct ksm_values kv;

	open_fx(f, true);
	memset(&kv, 0, sizeof(kv));
	assert_int_equal(ksm_read_all(&f->k, &kv), 0);
	assert_int_equal(kv.present, f->k.present);
	assert_int_equal(kv.v[KSM_GENERAL_PROFIT], -8192);
	assert_int_equal(kv.v[KSM_ADVISOR_MODE], 0);
	assert_int_equal(kv.v[KSM_STABLE_NODE_DUPS], 5);

	/* Two items fail: both are left out, the first error comes back,
	 * and everything after them is still read. */
	put(f->dir, "pages_shared", "junk\n");
	fio.read_err[KSM_FULL_SCANS] = EIO;
	put(f->dir, "stable_node_dups", "6\n");
	kv.present = ~UINT64_C(0);
	assert_int_equal(ksm_read_all(&f->k, &kv), -EBADMSG);
	assert_int_equal(kv.present, f->k.present & ~(KSM_BIT(KSM_PAGES_SHARED) | KSM_BIT(KSM_FULL_SCANS)));
	assert_false(ksm_values_has(&kv, KSM_PAGES_SHARED));
	assert_false(ksm_values_has(&kv, KSM_FULL_SCANS));
	assert_true(ksm_values_has(&kv, KSM_PAGES_SHARING));
	assert_int_equal(kv.v[KSM_STABLE_NODE_DUPS], 6);

	put(f->dir, "pages_shared", "3\n");
	assert_int_equal(ksm_read_all(&f->k, &kv), -EIO);
	assert_int_equal(kv.v[KSM_PAGES_SHARED], 3);
}

/* ---- ksm_write / ksm_apply ----------------------------------------------- */

static void test_write_exact(void **state)
{
	struct fx *f = *state;

	put(f->dir, "pages_to_scan", "100000\n");
	open_fx(f, false); /* the real write path */
	assert_int_equal(ksm_write(&f->k, KSM_PAGES_TO_SCAN, 5), 0);
	assert_string_equal(get(f->dir, "pages_to_scan"), "5");
	assert_int_equal(rd(f, KSM_PAGES_TO_SCAN), 5);
	assert_int_equal(ksm_write(&f->k, KSM_SLEEP_MILLISECS, 0), 0);
	assert_string_equal(get(f->dir, "sleep_millisecs"), "0");
	assert_int_equal(ksm_write(&f->k, KSM_MAX_PAGE_SHARING, 4096), 0);
	assert_string_equal(get(f->dir, "max_page_sharing"), "4096");
	for (int64_t run = 0; run <= 2; run++) {
		char want[4];
		snprintf(want, sizeof(want), "%d", (int)run);
		assert_int_equal(ksm_write(&f->k, KSM_RUN, run), 0);
		assert_string_equal(get(f->dir, "run"), want);
	}
	assert_int_equal(ksm_write(&f->k, KSM_ADVISOR_MODE, 1), 0);
	assert_string_equal(get(f->dir, "advisor_mode"), "scan-time");
	assert_int_equal(ksm_write(&f->k, KSM_ADVISOR_MODE, 0), 0);
	assert_string_equal(get(f->dir, "advisor_mode"), "none");
	assert_int_equal(ksm_write(&f->k, KSM_ADVISOR_MAX_PAGES_TO_SCAN, 4294967295), 0);
	assert_string_equal(get(f->dir, "advisor_max_pages_to_scan"), "4294967295");
}

static void test_write_refused(void **state)
{
	static const struct {
		enum ksm_item item;
		int64_t value;
	} bad[] = {
		{ KSM_PAGES_SHARED, 1 }, { KSM_GENERAL_PROFIT, 0 }, { KSM_FULL_SCANS, 0 },
		{ KSM_ITEM_COUNT, 1 }, { (enum ksm_item)-1, 1 }, { KSM_RUN, -1 },
		{ KSM_RUN, 3 }, { KSM_RUN, INT64_MAX }, { KSM_PAGES_TO_SCAN, -1 },
		{ KSM_SLEEP_MILLISECS, INT64_MIN }, { KSM_ADVISOR_MODE, 2 }, { KSM_ADVISOR_MODE, -1 },
	};
	struct fx *f = *state;

	open_fx(f, true);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ksm_write(&f->k, bad[i].item, bad[i].value), -EINVAL);
	assert_int_equal(fio.nw, 0);
	assert_string_equal(get(f->dir, "run"), "1\n");
	assert_string_equal(get(f->dir, "pages_shared"), "0\n");
	assert_string_equal(get(f->dir, "advisor_mode"), "[none] scan-time\n");
	/* The edges that are allowed. */
	assert_int_equal(ksm_write(&f->k, KSM_RUN, 0), 0);
	assert_int_equal(ksm_write(&f->k, KSM_RUN, 2), 0);
	assert_int_equal(ksm_write(&f->k, KSM_PAGES_TO_SCAN, 0), 0);
	assert_string_equal(writes(), "run=0,run=2,pages_to_scan=0");
}

static void test_write_absent(void **state)
{
	struct fx *f = *state;

	open_fx(f, true);
	assert_int_equal(ksm_write(&f->k, KSM_ADVISOR_MODE, 0), -ENOENT);
	assert_int_equal(ksm_write(&f->k, KSM_SMART_SCAN, 1), -ENOENT);
	assert_int_equal(ksm_write(&f->k, KSM_ADVISOR_MAX_CPU, 50), -ENOENT);
	assert_int_equal(ksm_apply(&f->k, KSM_ADVISOR_MODE, 1, NULL), -ENOENT);
	assert_int_equal(fio.nw, 0);
	assert_int_equal(ksm_write(&f->k, KSM_PAGES_TO_SCAN, 300), 0);
	assert_string_equal(writes(), "pages_to_scan=300");
}

static void test_write_kernel_errors(void **state)
{
	struct fx *f = *state;

	open_fx(f, true);
	fio.kernel = true;
	/* The advisor on: pages_to_scan is the kernel's. */
	assert_int_equal(ksm_write(&f->k, KSM_ADVISOR_MODE, 1), 0);
	assert_int_equal(rd(f, KSM_ADVISOR_MODE), 1);
	assert_int_equal(rd(f, KSM_PAGES_TO_SCAN), 500);
	assert_int_equal(ksm_write(&f->k, KSM_PAGES_TO_SCAN, 1000), -EINVAL);
	assert_int_equal(rd(f, KSM_PAGES_TO_SCAN), 500);
	assert_int_equal(ksm_write(&f->k, KSM_ADVISOR_MODE, 0), 0);
	assert_int_equal(rd(f, KSM_PAGES_TO_SCAN), 100);
	assert_int_equal(ksm_write(&f->k, KSM_PAGES_TO_SCAN, 1000), 0);
	assert_int_equal(rd(f, KSM_PAGES_TO_SCAN), 1000);

	/* Pages merged: merge_across_nodes and max_page_sharing are busy. */
	put(f->dir, "pages_shared", "10\n");
	assert_int_equal(ksm_write(&f->k, KSM_MERGE_ACROSS_NODES, 0), -EBUSY);
	assert_int_equal(ksm_write(&f->k, KSM_MAX_PAGE_SHARING, 512), -EBUSY);
	assert_int_equal(rd(f, KSM_MERGE_ACROSS_NODES), 1);
	assert_int_equal(rd(f, KSM_MAX_PAGE_SHARING), 256);
	put(f->dir, "pages_shared", "0\n");
	assert_int_equal(ksm_write(&f->k, KSM_MAX_PAGE_SHARING, 512), 0);
	assert_int_equal(rd(f, KSM_MAX_PAGE_SHARING), 512);

	/* Whatever the write reports comes back as -errno. */
	fio.write_err[KSM_SLEEP_MILLISECS] = EIO;
	fio.write_err[KSM_RUN] = EROFS;
	fio.write_err[KSM_USE_ZERO_PAGES] = EACCES;
	assert_int_equal(ksm_write(&f->k, KSM_SLEEP_MILLISECS, 50), -EIO);
	assert_int_equal(ksm_write(&f->k, KSM_RUN, 0), -EROFS);
	assert_int_equal(ksm_write(&f->k, KSM_USE_ZERO_PAGES, 1), -EACCES);
	assert_int_equal(rd(f, KSM_SLEEP_MILLISECS), 20);
	assert_int_equal(rd(f, KSM_RUN), 1);
	assert_int_equal(rd(f, KSM_USE_ZERO_PAGES), 0);
}

static void test_write_default_io_errors(void **state)
{
	struct fx *f = *state;
	char p[256];

	open_fx(f, false);
	/* The knob vanished after ksm_open(): the write must not create it. */
	drop(f->dir, "pages_to_scan");
	assert_int_equal(ksm_write(&f->k, KSM_PAGES_TO_SCAN, 10), -ENOENT);
	snprintf(p, sizeof(p), "%s/pages_to_scan", f->dir);
	assert_int_equal(access(p, F_OK), -1);
	/* Never through a symbolic link. */
	drop(f->dir, "sleep_millisecs");
	snprintf(p, sizeof(p), "%s/sleep_millisecs", f->dir);
	assert_int_equal(symlink("run", p), 0);
	assert_int_equal(ksm_write(&f->k, KSM_SLEEP_MILLISECS, 0), -ELOOP);
	assert_string_equal(get(f->dir, "run"), "1\n");
}

static void test_apply(void **state)
{
	struct fx *f = *state;
	struct ksm_values cur;

	open_fx(f, true);
	assert_int_equal(ksm_read_all(&f->k, &cur), 0);
	/* Unchanged: nothing written. */
	assert_int_equal(ksm_apply(&f->k, KSM_PAGES_TO_SCAN, 100, &cur), 0);
	assert_int_equal(ksm_apply(&f->k, KSM_RUN, 1, &cur), 0);
	assert_int_equal(ksm_apply(&f->k, KSM_ADVISOR_MODE, 0, &cur), 0);
	assert_int_equal(fio.nw, 0);
	/* Changed: one write each. */
	assert_int_equal(ksm_apply(&f->k, KSM_PAGES_TO_SCAN, 200, &cur), 1);
	assert_int_equal(ksm_apply(&f->k, KSM_SLEEP_MILLISECS, 10, &cur), 1);
	assert_string_equal(writes(), "pages_to_scan=200,sleep_millisecs=10");
	assert_string_equal(get(f->dir, "pages_to_scan"), "200");
	/* No current value (not read, or no cur at all): always written. */
	cur.present &= ~KSM_BIT(KSM_RUN);
	assert_int_equal(ksm_apply(&f->k, KSM_RUN, 1, &cur), 1);
	assert_int_equal(ksm_apply(&f->k, KSM_RUN, 1, NULL), 1);
	assert_int_equal(fio.nw, 4);
	/* Errors come back as they are. */
	fio.write_err[KSM_SLEEP_MILLISECS] = EBUSY;
	assert_int_equal(ksm_apply(&f->k, KSM_SLEEP_MILLISECS, 30, &cur), -EBUSY);
	assert_int_equal(ksm_apply(&f->k, KSM_RUN, 3, &cur), -EINVAL);
	assert_int_equal(fio.nw, 5);
}

/* ---- ksm_check_writable ----------------------------------------------------- */

/* In a child: 0 passed, 77 cannot run here, anything else a failure. */
static int readonly_child(const char *dir)
{
	struct ksm k;
	int r;

	if (unshare(CLONE_NEWNS) < 0)
		return 77;
	/* The kernel ignores the type of these three; "none" rather than NULL
	 * keeps valgrind quiet. MS_PRIVATE first: nothing reaches the host. */
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
		return 77;
	if (mount(dir, dir, "none", MS_BIND, NULL) < 0)
		return 77;
	if (mount("none", dir, "none", MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		return 77;
	if (ksm_open(&k, dir, NULL) != 0)
		return 2;
	r = ksm_check_writable(&k);
	if (r != -EROFS) {
		fprintf(stderr, "ksm_check_writable: %d, expected %d\n", r, -EROFS);
		return 3;
	}
	r = ksm_write(&k, KSM_PAGES_TO_SCAN, 10);
	if (r != -EROFS) {
		fprintf(stderr, "ksm_write: %d, expected %d\n", r, -EROFS);
		return 4;
	}
	ksm_close(&k);
	return 0;
}

/* As an unprivileged user, root's 0700 tree is not writable. */
static int unprivileged_child(const char *dir)
{
	struct ksm k;
	int r;

	if (ksm_open(&k, dir, NULL) != 0)
		return 2;
	if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
		return 77;
	r = ksm_check_writable(&k);
	if (r != -EACCES) {
		fprintf(stderr, "ksm_check_writable: %d, expected %d\n", r, -EACCES);
		return 3;
	}
	ksm_close(&k);
	return 0;
}

static int in_child(int (*fn)(const char *), const char *dir)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(dir));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_check_writable(void **state)
{
	struct fx *f = *state;
	char p[256];

	open_fx(f, false);
	assert_int_equal(ksm_check_writable(&f->k), 0);
	if (geteuid() != 0) {
		snprintf(p, sizeof(p), "%s/run", f->dir);
		assert_int_equal(chmod(p, 0444), 0);
		assert_int_equal(ksm_check_writable(&f->k), -EACCES);
		print_message("SKIP: read-only mount case needs root\n");
		skip();
	}
	assert_int_equal(in_child(unprivileged_child, f->dir), 0);
	switch (in_child(readonly_child, f->dir)) {
	case 0:
		break;
	case 77:
		print_message("SKIP: cannot make a read-only bind mount here (unshare/mount refused)\n");
		skip();
		break;
	default:
		fail_msg("read-only mount case failed");
	}
	/* Nothing leaked out of the child's mount namespace. */
	assert_int_equal(ksm_check_writable(&f->k), 0);
}

/* ---- snapshot ---------------------------------------------------------------- */

static void values_full(struct ksm_values *kv)
{
	memset(kv, 0, sizeof(*kv));
	for (int i = 0; i < KSM_ITEM_COUNT; i++) {
		kv->present |= KSM_BIT(i);
		kv->v[i] = 1000 + i;
	}
	kv->v[KSM_RUN] = 1;
	kv->v[KSM_ADVISOR_MODE] = 1;
	kv->v[KSM_MERGE_ACROSS_NODES] = 0;
}

static void assert_snap_equal(const struct ksm_snapshot *a, const struct ksm_snapshot *b)
{
	assert_int_equal(a->present, b->present);
	for (int i = 0; i < KSM_ITEM_COUNT; i++)
		if (a->present & KSM_BIT(i))
			assert_int_equal(a->v[i], b->v[i]);
	assert_int_equal(a->pid, b->pid);
	assert_int_equal(a->time, b->time);
	assert_string_equal(a->boot_id, b->boot_id);
}

static void test_snapshot_round_trip(void **state)
{
	char why[256];
	struct fx *f = *state;
	struct ksm_values kv;
	struct ksm_snapshot s, t;
	struct stat st;

	values_full(&kv);
	ksm_snapshot_from(&s, &kv, 4242, 1700000000);
	assert_int_equal(s.present, KSM_BIT(KSM_RUN) | KSM_BIT(KSM_PAGES_TO_SCAN) | KSM_BIT(KSM_SLEEP_MILLISECS) |
					    KSM_BIT(KSM_ADVISOR_MODE) | KSM_BIT(KSM_MERGE_ACROSS_NODES));
	for (int i = 0; i < KSM_ITEM_COUNT; i++)
		assert_int_equal(ksm_snapshot_item((enum ksm_item)i), (s.present & KSM_BIT(i)) != 0);
	assert_int_equal(s.v[KSM_PAGES_TO_SCAN], 1000 + KSM_PAGES_TO_SCAN);
	assert_int_equal(s.pid, 4242);
	assert_int_equal(s.time, 1700000000);

	assert_int_equal(ksm_snapshot_save(&s, f->path), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(strncmp(get(f->dir, "snapshot"), "# ksmpilot snapshot v1\n", 23), 0);
	assert_non_null(strstr(get(f->dir, "snapshot"), "\nadvisor_mode=scan-time\n"));
	memset(&t, 0xab, sizeof(t));
	assert_int_equal(ksm_snapshot_load(&t, f->path, why, sizeof(why)), 0);
	assert_snap_equal(&s, &t);
	assert_null(strstr(get(f->dir, "snapshot"), "boot_id")); /* none known: none written */
	/* the boot it was taken in */
	snprintf(s.boot_id, sizeof(s.boot_id), "%s", "0f4e2b1c-5d6a-4b7e-8c9d-a1b2c3d4e5f6");
	assert_int_equal(ksm_snapshot_save(&s, f->path), 0);
	assert_non_null(strstr(get(f->dir, "snapshot"), "\nboot_id=0f4e2b1c-5d6a-4b7e-8c9d-a1b2c3d4e5f6\n"));
	memset(&t, 0xab, sizeof(t));
	assert_int_equal(ksm_snapshot_load(&t, f->path, why, sizeof(why)), 0);
	assert_snap_equal(&s, &t);
	/* never a file that the load would refuse */
	snprintf(s.boot_id, sizeof(s.boot_id), "%s", "not a boot id");
	assert_int_equal(ksm_snapshot_save(&s, f->path), -ERANGE);

	/* The advisor off, and a 6.1 kernel without it. */
	kv.v[KSM_ADVISOR_MODE] = 0;
	ksm_snapshot_from(&s, &kv, 1, 0);
	assert_int_equal(ksm_snapshot_save(&s, f->path), 0);
	assert_int_equal(ksm_snapshot_load(&t, f->path, why, sizeof(why)), 0);
	assert_snap_equal(&s, &t);
	assert_int_equal(t.v[KSM_ADVISOR_MODE], 0);
	kv.present &= ~KSM_BIT(KSM_ADVISOR_MODE);
	ksm_snapshot_from(&s, &kv, 2, 3);
	assert_false(s.present & KSM_BIT(KSM_ADVISOR_MODE));
	assert_int_equal(ksm_snapshot_save(&s, f->path), 0);
	assert_int_equal(ksm_snapshot_load(&t, f->path, why, sizeof(why)), 0);
	assert_snap_equal(&s, &t);
	assert_null(strstr(get(f->dir, "snapshot"), "advisor_mode"));
	/* memory going offline at start-up: run 5, 4 or 6 is 1, 0 or 0 */
	for (int64_t run = 4; run <= 6; run++) {
		kv.v[KSM_RUN] = run;
		ksm_snapshot_from(&s, &kv, 1, 1);
		assert_int_equal(s.v[KSM_RUN], run == 5 ? 1 : 0);
		assert_int_equal(ksm_snapshot_save(&s, f->path), 0);
	}
}

static void test_snapshot_run2(void **state)
{
	char why[256];
	struct fx *f = *state;
	struct ksm_values kv;
	struct ksm_snapshot s, t;

	values_full(&kv);
	kv.v[KSM_RUN] = 2; /* an unmerge in progress at start-up */
	ksm_snapshot_from(&s, &kv, 1, 1);
	assert_true(s.present & KSM_BIT(KSM_RUN));
	assert_int_equal(s.v[KSM_RUN], 0);
	assert_int_equal(ksm_snapshot_save(&s, f->path), 0);
	assert_non_null(strstr(get(f->dir, "snapshot"), "\nrun=0\n"));
	assert_int_equal(ksm_snapshot_load(&t, f->path, why, sizeof(why)), 0);
	assert_int_equal(t.v[KSM_RUN], 0);
}

static void test_snapshot_load_accepts(void **state)
{
	char why[256];
	struct fx *f = *state;
	struct ksm_snapshot t;

	put(f->dir, "snapshot", "# ksmpilot snapshot v1\npid=7\ntime=0\n\n# a comment\nrun=1\n\nsleep_millisecs=20\n");
	assert_int_equal(ksm_snapshot_load(&t, f->path, why, sizeof(why)), 0);
	assert_int_equal(t.present, KSM_BIT(KSM_RUN) | KSM_BIT(KSM_SLEEP_MILLISECS));
	assert_int_equal(t.v[KSM_RUN], 1);
	assert_int_equal(t.v[KSM_SLEEP_MILLISECS], 20);
	assert_int_equal(t.pid, 7);
	assert_string_equal(t.boot_id, ""); /* a snapshot of version 0.1 names no boot */
	/* the bounds themselves */
	put(f->dir, "snapshot", "# ksmpilot snapshot v1\npid=2147483647\ntime=9\nrun=0\npages_to_scan=1000000\n"
				"sleep_millisecs=3600000\nmerge_across_nodes=1\nadvisor_mode=none\n");
	assert_int_equal(ksm_snapshot_load(&t, f->path, why, sizeof(why)), 0);
	assert_int_equal(t.v[KSM_PAGES_TO_SCAN], KSM_SNAPSHOT_PAGES_MAX);
	put(f->dir, "snapshot", "# ksmpilot snapshot v1\npid=7\ntime=0\nboot_id=0123456789abcdef0123456789abcdef-123\nrun=1\n");
	assert_int_equal(ksm_snapshot_load(&t, f->path, why, sizeof(why)), 0);
	assert_string_equal(t.boot_id, "0123456789abcdef0123456789abcdef-123");
}

static void test_snapshot_load_errors(void **state)
{
	char why[256];
#define MAGIC "# ksmpilot snapshot v1\n"
#define ID "pid=1\ntime=2\n"
	static const struct {
		const char *text, *why;
	} corrupt[] = {
		{ "", "empty" },
		{ "garbage\n", "line 1: not" },
		{ "# ksmpilot snapshot v1", "cut short" },
		{ "# ksmpilot snapshot v2\nrun=1\n", "line 1:" },
		{ "# ksmpilot snapshot v10\nrun=1\n", "line 1:" },
		{ "run=1\n" MAGIC, "line 1:" },
		{ MAGIC, "incomplete" },
		{ MAGIC "pages_to_scan=100\n", "incomplete" },
		{ MAGIC "run=1\n", "incomplete" },                    /* no pid, time */
		{ MAGIC "run=1\nbogus=3\n", "line 3: unknown key 'bogus'" },
		{ MAGIC "run=1\npages_to_scan\n", "line 3: not key=value" },
		{ MAGIC "run=1\npages_to_scan=\n", "line 3: pages_to_scan= is not" },
		{ MAGIC "run=1\npages_to_scan=abc\n", "line 3:" },
		{ MAGIC "run=1\npages_to_scan=-5\n", "line 3:" },
		{ MAGIC "run=1\npages_to_scan=99999999999\n", "line 3:" },
		/* the kernel takes any unsigned int, but never had this here */
		{ MAGIC ID "run=1\npages_to_scan=4294967295\n",
		  "line 5: pages_to_scan=4294967295 is not a value the kernel had here (0..1000000)" },
		{ MAGIC ID "run=1\npages_to_scan=1000001\n", "line 5:" },
		{ MAGIC ID "run=1\nsleep_millisecs=3600001\n", "line 5:" },
		{ MAGIC ID "run=1\nmerge_across_nodes=2\n", "line 5:" },
		{ MAGIC "run=2\n", "line 2: run=2 is not" },
		{ MAGIC "run=-1\n", "line 2:" },
		{ MAGIC "run=1\nadvisor_mode=maybe\n", "line 3: advisor_mode: 'maybe'" },
		{ MAGIC "run=1\nadvisor_mode=1\n", "line 3:" },
		{ MAGIC "run=1\npages_shared=5\n", "line 3: unknown key 'pages_shared'" },
		{ MAGIC "pid=abc\nrun=1\n", "line 2: pid:" },
		{ MAGIC "pid=-4\nrun=1\n", "line 2:" },
		{ MAGIC "pid=0\nrun=1\n", "line 2:" },
		{ MAGIC "time=-1\nrun=1\n", "line 2: time:" },
		{ MAGIC "run =1\n", "line 2: unknown key 'run '" },
		{ MAGIC "\x01\x02\x03\n", "line 2:" },
		{ MAGIC ID "run=1\nrun=0\n", "line 5: run twice" },
		{ MAGIC ID "pid=3\nrun=1\n", "line 4: pid twice" },
		{ MAGIC ID "run=1\npages_to_scan=5\npages_to_scan=6\n", "line 6: pages_to_scan twice" },
		{ MAGIC ID "run=1\npages_to_scan=5", "cut short" },
		{ MAGIC ID "boot_id=\nrun=1\n", "line 4: boot_id: '' is not a boot id" },
		{ MAGIC ID "boot_id=0f4e2b1c-5d6a-4b7e-8c9d-A1B2C3D4E5F6\nrun=1\n", "line 4: boot_id:" },
		{ MAGIC ID "boot_id=0f4e2b1c-5d6a-4b7e-8c9d-a1b2c3d4e5f6a\nrun=1\n", "line 4: boot_id:" },
		{ MAGIC ID "boot_id=1\nrun=1\nboot_id=1\n", "line 6: boot_id twice" },
	};
#undef MAGIC
#undef ID
	struct fx *f = *state;
	struct ksm_snapshot t, orig;

	memset(&t, 0x5a, sizeof(t));
	orig = t;
	assert_int_equal(ksm_snapshot_load(&t, f->path, why, sizeof(why)), -ENOENT);
	assert_memory_equal(&t, &orig, sizeof(t));
	for (size_t i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++) {
		put(f->dir, "snapshot", corrupt[i].text);
		if (ksm_snapshot_load(&t, f->path, why, sizeof(why)) != -EINVAL || !strstr(why, corrupt[i].why))
			fail_msg("snapshot #%zu \"%s\": '%s', not -EINVAL with '%s'", i, corrupt[i].text, why,
				 corrupt[i].why);
		assert_memory_equal(&t, &orig, sizeof(t));
	}
	/* a NUL hides nothing after it */
	{
		static const char nul[] = "# ksmpilot snapshot v1\npid=1\ntime=2\nrun=0\n\0pages_to_scan=4294967295\n";
		int fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, nul, sizeof(nul) - 1), (ssize_t)(sizeof(nul) - 1));
		close(fd);
		assert_int_equal(ksm_snapshot_load(&t, f->path, why, sizeof(why)), -EINVAL);
		assert_string_equal(why, "a NUL byte");
	}
}

/* Root restores the knobs from the snapshot: only a regular file of root's
 * (or the caller's) that others cannot write. */
static void test_snapshot_load_untrusted(void **state)
{
	struct fx *f = *state;
	struct ksm_snapshot t, orig;
	char why[256], other[300];

	memset(&t, 0x5a, sizeof(t));
	orig = t;
	put(f->dir, "snapshot", "# ksmpilot snapshot v1\npid=1\ntime=2\nrun=1\n");
	assert_int_equal(chmod(f->path, 0666), 0);
	assert_int_equal(ksm_snapshot_load(&t, f->path, why, sizeof(why)), -EPERM);
	assert_string_equal(why, "its group or others can write it (mode 0666)");
	assert_int_equal(chmod(f->path, 0620), 0);
	assert_int_equal(ksm_snapshot_load(&t, f->path, why, sizeof(why)), -EPERM);
	assert_int_equal(chmod(f->path, 0644), 0);
	assert_int_equal(ksm_snapshot_load(&t, f->path, why, sizeof(why)), 0);
	t = orig;
	/* a symlink to a good snapshot: not followed */
	snprintf(other, sizeof(other), "%s/elsewhere", f->dir);
	assert_int_equal(rename(f->path, other), 0);
	assert_int_equal(symlink(other, f->path), 0);
	assert_int_equal(ksm_snapshot_load(&t, f->path, why, sizeof(why)), -EPERM);
	assert_string_equal(why, "it is a symlink");
	assert_int_equal(unlink(f->path), 0);
	/* a FIFO: refused without blocking */
	assert_int_equal(mkfifo(f->path, 0600), 0);
	alarm(60);
	assert_int_equal(ksm_snapshot_load(&t, f->path, why, sizeof(why)), -EPERM);
	alarm(0);
	assert_string_equal(why, "not a regular file");
	assert_int_equal(unlink(f->path), 0);
	/* another owner */
	if (geteuid() == 0) {
		assert_int_equal(rename(other, f->path), 0);
		assert_int_equal(chown(f->path, 65534, 65534), 0);
		assert_int_equal(ksm_snapshot_load(&t, f->path, why, sizeof(why)), -EPERM);
		assert_string_equal(why, "it belongs to uid 65534, not to root");
	}
	assert_memory_equal(&t, &orig, sizeof(t));
}

static void test_snapshot_save_error(void **state)
{
	struct fx *f = *state;
	struct ksm_values kv;
	struct ksm_snapshot s;
	char p[256];

	values_full(&kv);
	ksm_snapshot_from(&s, &kv, 1, 1);
	snprintf(p, sizeof(p), "%s/no-such-dir/snapshot", f->dir);
	assert_int_equal(ksm_snapshot_save(&s, p), -ENOENT);
}

/* ---- ksm_restore --------------------------------------------------------------- */

/* A snapshot of the five knobs; adv < 0 leaves advisor_mode out. */
static struct ksm_snapshot snap(int64_t run, int64_t pages, int64_t sleep_ms, int64_t adv, int64_t merge)
{
	struct ksm_snapshot s;

	memset(&s, 0, sizeof(s));
	s.present = KSM_BIT(KSM_RUN) | KSM_BIT(KSM_PAGES_TO_SCAN) | KSM_BIT(KSM_SLEEP_MILLISECS) |
		    KSM_BIT(KSM_MERGE_ACROSS_NODES);
	s.v[KSM_RUN] = run;
	s.v[KSM_PAGES_TO_SCAN] = pages;
	s.v[KSM_SLEEP_MILLISECS] = sleep_ms;
	s.v[KSM_MERGE_ACROSS_NODES] = merge;
	if (adv >= 0) {
		s.present |= KSM_BIT(KSM_ADVISOR_MODE);
		s.v[KSM_ADVISOR_MODE] = adv;
	}
	return s;
}

static int restore(struct fx *f, const struct ksm_snapshot *s, bool skip_run, uint64_t *failed, int *errs)
{
	fio.nw = 0;
	return ksm_restore(&f->k, s, skip_run, failed, errs);
}

static void test_restore_advisor_on_in_snapshot(void **state)
{
	struct fx *f = *state;
	struct ksm_snapshot s = snap(0, 100, 20, 1, 1);
	uint64_t failed = ~UINT64_C(0);

	/* ksmpilot switched the advisor off and set its own rate. */
	put(f->dir, "pages_to_scan", "1234\n");
	put(f->dir, "sleep_millisecs", "10\n");
	open_fx(f, true);
	fio.kernel = true;
	assert_int_equal(restore(f, &s, false, &failed, NULL), 0);
	assert_int_equal(failed, 0);
	/* advisor_mode last, pages_to_scan left to the advisor. */
	assert_string_equal(writes(), "sleep_millisecs=20,run=0,advisor_mode=scan-time");
	assert_int_equal(rd(f, KSM_ADVISOR_MODE), 1);
	assert_int_equal(rd(f, KSM_PAGES_TO_SCAN), 500);
	assert_int_equal(rd(f, KSM_RUN), 0);

	/* Nothing to do the second time. */
	assert_int_equal(restore(f, &s, false, &failed, NULL), 0);
	assert_int_equal(fio.nw, 0);
}

static void test_restore_advisor_off_in_snapshot(void **state)
{
	struct fx *f = *state;
	struct ksm_snapshot s = snap(1, 300, 20, 0, 1);
	uint64_t failed = ~UINT64_C(0);

	/* The advisor was switched on while ksmpilot ran. */
	put(f->dir, "advisor_mode", "none [scan-time]\n");
	put(f->dir, "pages_to_scan", "700\n");
	open_fx(f, true);
	fio.kernel = true;
	assert_int_equal(restore(f, &s, false, &failed, NULL), 0);
	assert_int_equal(failed, 0);
	/* advisor_mode first, then pages_to_scan. */
	assert_string_equal(writes(), "advisor_mode=none,pages_to_scan=300");
	assert_int_equal(rd(f, KSM_ADVISOR_MODE), 0);
	assert_int_equal(rd(f, KSM_PAGES_TO_SCAN), 300);
}

static void test_restore_advisor_off_reset_value(void **state)
{
	struct fx *f = *state;
	struct ksm_snapshot s = snap(1, 100, 20, 0, 1);

	/* Switching the advisor off already sets pages_to_scan to 100. */
	put(f->dir, "advisor_mode", "none [scan-time]\n");
	put(f->dir, "pages_to_scan", "700\n");
	open_fx(f, true);
	fio.kernel = true;
	assert_int_equal(restore(f, &s, false, NULL, NULL), 0);
	assert_string_equal(writes(), "advisor_mode=none");
	assert_int_equal(rd(f, KSM_PAGES_TO_SCAN), 100);
}

static void test_restore_plain(void **state)
{
	struct fx *f = *state;
	struct ksm_snapshot s = snap(1, 100, 20, 0, 0);

	put(f->dir, "pages_to_scan", "1000\n");
	put(f->dir, "sleep_millisecs", "10\n");
	open_fx(f, true);
	fio.kernel = true;
	assert_int_equal(restore(f, &s, false, NULL, NULL), 0);
	/* Only what differs; run and advisor_mode are as in the snapshot. */
	assert_string_equal(writes(), "pages_to_scan=100,sleep_millisecs=20,merge_across_nodes=0");
	assert_string_equal(get(f->dir, "pages_to_scan"), "100");
	assert_string_equal(get(f->dir, "sleep_millisecs"), "20");
	assert_string_equal(get(f->dir, "merge_across_nodes"), "0");
}

static void test_restore_61(void **state)
{
	struct fx *f = *state;
	struct ksm_snapshot s = snap(1, 300, 20, -1, 1);
	uint64_t failed = ~UINT64_C(0);

	open_fx(f, true);
	fio.kernel = true;
	assert_int_equal(restore(f, &s, false, &failed, NULL), 0);
	assert_int_equal(failed, 0);
	assert_string_equal(writes(), "pages_to_scan=300");
	/* A snapshot that names the advisor, on a kernel without one: the
	 * advisor is skipped and pages_to_scan is still restored. */
	s = snap(1, 400, 20, 1, 1);
	assert_int_equal(restore(f, &s, false, &failed, NULL), 0);
	assert_int_equal(failed, 0);
	assert_string_equal(writes(), "pages_to_scan=400");
}

static void test_restore_run_never_2(void **state)
{
	struct fx *f = *state;
	struct ksm_snapshot s = snap(2, 100, 20, 0, 1); /* built in memory */

	open_fx(f, true);
	fio.kernel = true;
	assert_int_equal(restore(f, &s, false, NULL, NULL), 0);
	assert_string_equal(writes(), "run=0");
	assert_string_equal(get(f->dir, "run"), "0");
	/* Already 0: nothing to write, and never a 2. */
	assert_int_equal(restore(f, &s, false, NULL, NULL), 0);
	assert_int_equal(fio.nw, 0);
	/* Stopped by an unmerge now, running before: run=1 again. */
	put(f->dir, "run", "2\n");
	s.v[KSM_RUN] = 1;
	assert_int_equal(restore(f, &s, false, NULL, NULL), 0);
	assert_string_equal(writes(), "run=1");
}

static void test_restore_skip_run(void **state)
{
	struct fx *f = *state;
	struct ksm_snapshot s = snap(0, 100, 20, 0, 1);

	open_fx(f, true);
	fio.kernel = true;
	assert_int_equal(restore(f, &s, true, NULL, NULL), 0);
	assert_int_equal(fio.nw, 0);
	assert_string_equal(get(f->dir, "run"), "1\n");
	assert_int_equal(restore(f, &s, false, NULL, NULL), 0);
	assert_string_equal(writes(), "run=0");
}

static void test_restore_failures(void **state)
{
	struct fx *f = *state;
	struct ksm_snapshot s = snap(0, 100, 20, 0, 0);
	uint64_t failed = ~UINT64_C(0);
	int errs[KSM_ITEM_COUNT] = { 0 };

	put(f->dir, "pages_to_scan", "1000\n");
	put(f->dir, "sleep_millisecs", "10\n");
	put(f->dir, "pages_shared", "10\n"); /* merge_across_nodes busy */
	open_fx(f, true);
	fio.kernel = true;
	fio.write_err[KSM_SLEEP_MILLISECS] = EIO;
	assert_int_equal(restore(f, &s, false, &failed, errs), -EIO);
	assert_int_equal(failed, KSM_BIT(KSM_SLEEP_MILLISECS) | KSM_BIT(KSM_MERGE_ACROSS_NODES));
	assert_int_equal(errs[KSM_SLEEP_MILLISECS], EIO);
	assert_int_equal(errs[KSM_MERGE_ACROSS_NODES], EBUSY);
	for (int i = 0; i < KSM_ITEM_COUNT; i++)
		if (i != KSM_SLEEP_MILLISECS && i != KSM_MERGE_ACROSS_NODES)
			assert_int_equal(errs[i], 0);
	/* The others were still put back. */
	assert_string_equal(writes(), "pages_to_scan=100,sleep_millisecs=20,merge_across_nodes=0,run=0");
	assert_int_equal(rd(f, KSM_PAGES_TO_SCAN), 100);
	assert_int_equal(rd(f, KSM_RUN), 0);
	/* failed and errs may be NULL. */
	assert_int_equal(restore(f, &s, false, NULL, NULL), -EIO);
}

static void test_restore_advisor_write_fails(void **state)
{
	struct fx *f = *state;
	struct ksm_snapshot s = snap(1, 300, 20, 0, 1);
	uint64_t failed = 0;
	int errs[KSM_ITEM_COUNT] = { 0 };

	put(f->dir, "advisor_mode", "none [scan-time]\n");
	open_fx(f, true);
	fio.kernel = true;
	fio.write_err[KSM_ADVISOR_MODE] = EROFS;
	assert_int_equal(restore(f, &s, false, &failed, errs), -EROFS);
	/* The advisor stayed on, so the kernel refused pages_to_scan too. */
	assert_int_equal(failed, KSM_BIT(KSM_ADVISOR_MODE) | KSM_BIT(KSM_PAGES_TO_SCAN));
	assert_int_equal(errs[KSM_ADVISOR_MODE], EROFS);
	assert_int_equal(errs[KSM_PAGES_TO_SCAN], EINVAL);
	assert_string_equal(writes(), "advisor_mode=none,pages_to_scan=300");
}

int main(void)
{
#define T(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_item_table),
		cmocka_unit_test(test_format_value),
		T(test_open_full, setup_full),
		T(test_open_61, setup_61),
		T(test_open_missing_dir, setup_full),
		T(test_open_missing_run, setup_full),
		T(test_open_run_unopenable, setup_full),
		T(test_open_not_dir, setup_full),
		T(test_open_name_too_long, setup_full),
		T(test_read_numbers, setup_full),
		T(test_read_general_profit, setup_full),
		T(test_read_advisor_mode, setup_full),
		T(test_read_garbage, setup_full),
		T(test_read_io, setup_full),
		T(test_read_all, setup_full),
		T(test_write_exact, setup_full),
		T(test_write_refused, setup_full),
		T(test_write_absent, setup_61),
		T(test_write_kernel_errors, setup_full),
		T(test_write_default_io_errors, setup_full),
		T(test_apply, setup_full),
		T(test_check_writable, setup_full),
		T(test_snapshot_round_trip, setup_full),
		T(test_snapshot_run2, setup_full),
		T(test_snapshot_load_accepts, setup_full),
		T(test_snapshot_load_errors, setup_full),
		T(test_snapshot_load_untrusted, setup_full),
		T(test_snapshot_save_error, setup_full),
		T(test_restore_advisor_on_in_snapshot, setup_full),
		T(test_restore_advisor_off_in_snapshot, setup_full),
		T(test_restore_advisor_off_reset_value, setup_full),
		T(test_restore_plain, setup_full),
		T(test_restore_61, setup_61),
		T(test_restore_run_never_2, setup_full),
		T(test_restore_skip_run, setup_full),
		T(test_restore_failures, setup_full),
		T(test_restore_advisor_write_fails, setup_full),
	};
#undef T
	return cmocka_run_group_tests_name("ksm", tests, NULL, NULL);
}
