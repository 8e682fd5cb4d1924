/* test_util.c - unit tests for util.c: number, duration and size parsing,
 * formatting round trips, read_file(), write_file_atomic() against what
 * another user can plant, and dir_open_trusted().
 *
 * File tests run in a private mkdtemp() directory that teardown removes.
 * Nothing here needs root, and nothing relies on permissions (root ignores
 * them) or on timing. */
#define _GNU_SOURCE /* nftw flags */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>

#include "util.h"

#define SENTINEL_U64 UINT64_C(0x5A5A5A5A5A5A5A5A)

/* ---- temporary directory --------------------------------------------- */

static char tmpdir[PATH_MAX];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup_tmpdir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/ksmpilot-test-util.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmpdir(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The umask tests change it; teardown puts it back even when they fail,
 * so that later mkdtemp() directories stay usable for non-root users. */
static mode_t saved_umask;

static int setup_umask(void **state)
{
	saved_umask = umask(022);
	umask(saved_umask);
	return setup_tmpdir(state);
}

static int teardown_umask(void **state)
{
	umask(saved_umask);
	return teardown_tmpdir(state);
}

/* tmpdir/name in a static buffer (one at a time per slot) */
static const char *tpath(int slot, const char *name)
{
	static char buf[4][PATH_MAX + 64];
	snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", tmpdir, name);
	return buf[slot];
}

static void put_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Number of entries in tmpdir (without . and ..). */
static int count_entries(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void check_content(const char *path, const char *want, size_t want_len)
{
	char *text;
	size_t len;

	assert_int_equal(read_file(path, 1 << 20, &text, &len), 0);
	assert_int_equal(len, want_len);
	assert_memory_equal(text, want, want_len);
	free(text);
}

/* ---- parse_u64 -------------------------------------------------------- */

static void test_parse_u64_good(void **state)
{
	uint64_t v;
	(void)state;

	assert_int_equal(parse_u64("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_u64("10", 0, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(parse_u64("  42 \t", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_u64("007", 0, 100, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
}

static void test_parse_u64_bad(void **state)
{
	static const char *const junk[] = {
		"", " ", "-1", "-0", "+1", "abc", "12abc", "1.5", "1e3", "0x10", "1 2", "nan", "inf", "1_000",
	};
	uint64_t v = SENTINEL_U64;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
		if (parse_u64(junk[i], 0, UINT64_MAX, &v) != -EINVAL)
			fail_msg("parse_u64(\"%s\") should be -EINVAL", junk[i]);
	}
	/* out of [min, max] */
	assert_int_equal(parse_u64("5", 6, 10, &v), -ERANGE);
	assert_int_equal(parse_u64("11", 6, 10, &v), -ERANGE);
	/* overflow */
	assert_int_equal(parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_u64("99999999999999999999999", 0, UINT64_MAX, &v), -ERANGE);
	assert_true(v == SENTINEL_U64);
}

/* ---- parse_i64 -------------------------------------------------------- */

static void test_parse_i64(void **state)
{
	static const char *const junk[] = { "", "-", "+", "--1", "+-1", "- 1", "abc", "1x", "0x10", "1.0", "1e2", "nan" };
	int64_t v;
	(void)state;

	assert_int_equal(parse_i64("-5", -10, 10, &v), 0);
	assert_true(v == -5);
	assert_int_equal(parse_i64("+7", -10, 10, &v), 0);
	assert_true(v == 7);
	assert_int_equal(parse_i64(" -0 ", -10, 10, &v), 0);
	assert_true(v == 0);
	assert_int_equal(parse_i64("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(parse_i64("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MAX);

	v = 12345;
	for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
		if (parse_i64(junk[i], INT64_MIN, INT64_MAX, &v) != -EINVAL)
			fail_msg("parse_i64(\"%s\") should be -EINVAL", junk[i]);
	}
	assert_int_equal(parse_i64("-9223372036854775809", INT64_MIN, INT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_i64("9223372036854775808", INT64_MIN, INT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_i64("-11", -10, 10, &v), -ERANGE);
	assert_int_equal(parse_i64("11", -10, 10, &v), -ERANGE);
	assert_true(v == 12345);
}

/* ---- parse_double ------------------------------------------------------- */

static void test_parse_double_good(void **state)
{
	static const struct {
		const char *s;
		double v;
	} ok[] = {
		{ "0", 0 },     { "1.5", 1.5 },  { "-2.5e3", -2500 }, { ".5", 0.5 },   { "5.", 5 },
		{ "1e-3", 1e-3 }, { " 3 ", 3 },  { "+4", 4 },          { "1E2", 100 }, { "2.5e+1", 25 },
	};
	double v;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		if (parse_double(ok[i].s, -1e6, 1e6, &v) != 0 || v != ok[i].v)
			fail_msg("parse_double(\"%s\") should give %g", ok[i].s, ok[i].v);
	}
	/* a negative zero is zero: --dump-config writes "0", not "-0" */
	assert_int_equal(parse_double("-0", 0, 1, &v), 0);
	assert_false(signbit(v));
	assert_int_equal(parse_double("-0.0e5", 0, 1, &v), 0);
	assert_false(signbit(v));
}

static void test_parse_double_bad(void **state)
{
	static const char *const junk[] = {
		"", " ", "nan", "NaN", "-nan", "inf", "-inf", "+inf", "infinity", "0x10", "0X1p3", "0x1.8p1",
		"1.2.3", "1e", "1e+", "e5", ".", "-.", "abc", "1,5", "1 2", "5%", "--1", "1e5x",
	};
	double v = 42;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
		if (parse_double(junk[i], -1e300, 1e300, &v) != -EINVAL)
			fail_msg("parse_double(\"%s\") should be -EINVAL", junk[i]);
	}
	assert_int_equal(parse_double("100.0001", 0, 100, &v), -ERANGE);
	assert_int_equal(parse_double("-0.1", 0, 100, &v), -ERANGE);
	assert_int_equal(parse_double("1e999", -1e300, 1e300, &v), -ERANGE);
	assert_int_equal(parse_double("-1e999", -1e300, 1e300, &v), -ERANGE);
	assert_true(v == 42);
	/* the bounds themselves are inside */
	assert_int_equal(parse_double("100", 0, 100, &v), 0);
	assert_true(v == 100);
	assert_int_equal(parse_double("0", 0, 100, &v), 0);
	assert_true(v == 0);
	/* strtod's ERANGE on underflow: numbers in range, near zero */
	assert_int_equal(parse_double("1e-320", 0, 1, &v), 0);
	assert_true(v > 0 && v < 1e-319);
	assert_int_equal(parse_double("1e-400", 0, 1, &v), 0);
	assert_true(v == 0);
}

/* ---- regcomp_search ---------------------------------------------------- */

/* "^.*(P)" matches where P matches anywhere: anchors inside P, alternation
 * at its top level, brackets and escapes keep their meaning. On text
 * without a newline, as every caller searches (util.h). */
static void test_regcomp_search_same_matches(void **state)
{
	static const char *const pats[] = {
		"qemu", "^qemu", "kvm$", "^$", "a|b", "^a|b$", "x|^b", "(a|aa)*b", "a+b", "[a-z]+-vm", "(.*a){3}b",
		"\\(x", "[)]", "-name guest=[^ ,]+", "^([^ ]*/)?(qemu-system-[^ /]+|qemu-kvm|kvm)( |$)", "\\bkvm\\b",
		"a{2,3}", ".", "^.",
	};
	static const char *const strs[] = {
		"", "a", "b", "ab", "aab", "qemu", "xqemu", "qemu-system-x86_64 -enable-kvm", "/usr/bin/kvm -id 1",
		"my-vm", "(x", ")", "-name guest=vm1,debug", "kvmx", "x kvm y", "aaa", "ba", "aaab",
		"\xff\x80 qemu", /* not UTF-8: the daemon runs in the C locale, where '.' is any byte */
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(pats); i++) {
		regex_t raw, wrapped;
		assert_int_equal(regcomp(&raw, pats[i], REG_EXTENDED | REG_NOSUB), 0);
		assert_int_equal(regcomp_search(&wrapped, pats[i]), 0);
		for (size_t j = 0; j < ARRAY_SIZE(strs); j++) {
			bool a = regexec(&raw, strs[j], 0, NULL, 0) == 0, b = regexec(&wrapped, strs[j], 0, NULL, 0) == 0;
			if (a != b)
				fail_msg("'%s' against '%s': %d as is, %d by regcomp_search()", pats[i], strs[j], a, b);
		}
		regfree(&raw);
		regfree(&wrapped);
	}
}

/* search_re: compiled again once SEARCH_RENEW_BYTES were searched with it
 * (glibc keeps the states regexec() builds until regfree()) and the time
 * spent searching is SEARCH_RENEW_RATIO times what compiling took, and
 * finding the same before and after. The times are set by hand where a
 * step depends on them. */
static void test_search_re_renews(void **state)
{
	static char text[SEARCH_RENEW_BYTES + 1];
	static const char *const pats[] = { "qemu", "^a|b$", "(a|aa)*b", "\\bkvm\\b", "-name guest=[^ ,]+" };
	static const char *const strs[] = { "", "a", "ab", "qemu-system-x86_64 -name guest=vm1", "x kvm y", "kvmx" };
	struct search_re s;
	(void)state;

	assert_int_equal(search_re_init(&s, "a.{3}c"), 0);
	memset(text, 'a', sizeof(text) - 1); /* NUL-terminated: ASan's regexec() reads to the NUL */
	assert_false(search_re_match(&s, text, sizeof(text) - 2));
	assert_int_equal(s.renewals, 0);
	assert_true(s.search_ns > 0); /* 16 KiB take microseconds */
	s.search_ns = SEARCH_RENEW_RATIO * s.compile_ns; /* long enough */
	assert_true(search_re_match(&s, "xabbbc", 6)); /* one byte short of the mark before it */
	assert_int_equal(s.renewals, 0);
	/* past the mark, but compiling costs more than a tenth of the search */
	s.compile_ns = s.search_ns / SEARCH_RENEW_RATIO + 1;
	assert_false(search_re_match(&s, "zzz", 3));
	assert_int_equal(s.renewals, 0);
	s.search_ns = SEARCH_RENEW_RATIO * s.compile_ns;
	assert_false(search_re_match(&s, "zzz", 3)); /* both: compiled again first */
	assert_int_equal(s.renewals, 1);
	assert_int_equal(s.searched, 3);
	assert_true(search_re_match(&s, "abbbcz", 6));
	assert_false(search_re_match(&s, "abbbcz", 4)); /* only the first len bytes */
	assert_int_equal(s.renewals, 1);
	search_re_free(&s);
	search_re_free(&s); /* once is enough */

	/* every search right after a renewal finds what regcomp_search() does */
	for (size_t i = 0; i < ARRAY_SIZE(pats); i++) {
		regex_t ref;
		assert_int_equal(regcomp_search(&ref, pats[i]), 0);
		assert_int_equal(search_re_init(&s, pats[i]), 0);
		for (size_t j = 0; j < ARRAY_SIZE(strs); j++) {
			bool want = regexec(&ref, strs[j], 0, NULL, 0) == 0;
			s.searched = SEARCH_RENEW_BYTES;
			s.search_ns = SEARCH_RENEW_RATIO * s.compile_ns;
			if (search_re_match(&s, strs[j], strlen(strs[j])) != want)
				fail_msg("'%s' against '%s' after a renewal: %d, not %d", pats[i], strs[j], !want, want);
			assert_int_equal(s.renewals, j + 1);
		}
		search_re_free(&s);
		regfree(&ref);
	}
	/* a pattern that does not compile leaves nothing to free */
	assert_int_not_equal(search_re_init(&s, "(qemu"), 0);
	assert_null(s.pattern);
	search_re_free(&s);
}

/* ---- parse_bool ------------------------------------------------------- */

static void test_parse_bool(void **state)
{
	static const char *const yes[] = { "1", "yes", "YES", "true", "True", "on", "oN" };
	static const char *const no[] = { "0", "no", "NO", "false", "FALSE", "off", "Off" };
	static const char *const junk[] = { "", "y", "n", "2", "-1", "yess", "enable", "yes please", "10", "t" };
	bool v;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		v = false;
		assert_int_equal(parse_bool(yes[i], &v), 0);
		assert_true(v);
	}
	for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
		v = true;
		assert_int_equal(parse_bool(no[i], &v), 0);
		assert_false(v);
	}
	for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
		v = true;
		if (parse_bool(junk[i], &v) != -EINVAL || !v)
			fail_msg("parse_bool(\"%s\") should be -EINVAL and leave *out", junk[i]);
	}
}

/* ---- parse_duration_ms ---------------------------------------------- */

static void test_parse_duration_good(void **state)
{
	static const struct {
		const char *s;
		uint64_t ms;
	} ok[] = {
		{ "500ms", 500 },      { "10s", 10000 },       { "5min", 300000 },  { "1h", 3600000 },
		{ "2", 2000 },         { "0", 0 },             { "1.5s", 1500 },    { "0.5", 500 },
		{ "10 s", 10000 },     { "10S", 10000 },       { "3MS", 3 },        { "1sec", 1000 },
		{ "2m", 120000 },      { "1.5h", 5400000 },    { "1e3ms", 1000 },   { " 7s ", 7000 },
		{ "0.25min", 15000 },  { "2H", 7200000 },      { "1d", 86400000 },  { "2w", 1209600000 },
		{ "0.5d", 43200000 },  { "1D", 86400000 },
	};
	uint64_t v;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		v = SENTINEL_U64;
		if (parse_duration_ms(ok[i].s, 0, UINT64_MAX, &v) != 0 || v != ok[i].ms)
			fail_msg("parse_duration_ms(\"%s\") gave %" PRIu64 ", want %" PRIu64, ok[i].s, v, ok[i].ms);
	}
	/* values beyond 2^53 and 2^63 must come out exact, not through a
	 * lossy double or an overflowing llround() */
	assert_int_equal(parse_duration_ms("9223372036854775808ms", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_C(9223372036854775808));
	assert_int_equal(parse_duration_ms("18446744073709551615ms", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(parse_duration_ms("5124095576030h", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_C(5124095576030) * 3600000);
}

static void test_parse_duration_bad(void **state)
{
	static const char *const junk[] = {
		"", " ", "s", "ms", "5x", "5y", "5days", "5 mins", "5msx", "5 s s", "ms5", "5s5", "nan", "inf", "infs",
		"0x10s", "1.2.3s", "5 parsecs", "5e", "5%", "--5s", "5 ,s", "5minutes",
	};
	uint64_t v = SENTINEL_U64;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
		if (parse_duration_ms(junk[i], 0, UINT64_MAX, &v) != -EINVAL)
			fail_msg("parse_duration_ms(\"%s\") should be -EINVAL", junk[i]);
	}
	/* negatives */
	assert_int_equal(parse_duration_ms("-1s", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_duration_ms("-1", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_duration_ms("-0.5ms", 0, UINT64_MAX, &v), -ERANGE);
	/* range: checked before rounding, bounds inclusive */
	assert_int_equal(parse_duration_ms("99ms", 100, 600000, &v), -ERANGE);
	assert_int_equal(parse_duration_ms("99.6ms", 100, 600000, &v), -ERANGE);
	assert_int_equal(parse_duration_ms("601s", 100, 600000, &v), -ERANGE);
	assert_int_equal(parse_duration_ms("10.01min", 100, 600000, &v), -ERANGE);
	assert_int_equal(parse_duration_ms("1e300h", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_duration_ms("1e999", 0, UINT64_MAX, &v), -ERANGE);
	/* 2^64 ms and more do not fit */
	assert_int_equal(parse_duration_ms("18446744073709551616ms", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_duration_ms("5124095576031h", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_duration_ms("2e19ms", 0, UINT64_MAX, &v), -ERANGE);
	/* exactly 2^64, through the double: (double)UINT64_MAX is 2^64 too */
	assert_int_equal(parse_duration_ms("18446744073709551616.0ms", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_duration_ms("1.8446744073709551616e19ms", 0, UINT64_MAX, &v), -ERANGE);
	assert_true(v == SENTINEL_U64);

	assert_int_equal(parse_duration_ms("100ms", 100, 600000, &v), 0);
	assert_true(v == 100);
	assert_int_equal(parse_duration_ms("10min", 100, 600000, &v), 0);
	assert_true(v == 600000);
}

/* ---- parse_size ------------------------------------------------------- */

static void test_parse_size_good(void **state)
{
	static const struct {
		const char *s;
		uint64_t bytes;
	} ok[] = {
		{ "0", 0 },
		{ "512", 512 },
		{ "1K", 1024 },
		{ "1k", 1024 },
		{ "1KB", 1024 },
		{ "1kb", 1024 },
		{ "1KiB", 1024 },
		{ "1kib", 1024 },
		{ "1 K", 1024 },
		{ "512M", UINT64_C(512) << 20 },
		{ "512MiB", UINT64_C(512) << 20 },
		{ "4G", UINT64_C(4) << 30 },
		{ "4gb", UINT64_C(4) << 30 },
		{ "1T", UINT64_C(1) << 40 },
		{ "1TiB", UINT64_C(1) << 40 },
		{ "1.5G", UINT64_C(1610612736) },
		{ "0.5K", 512 },
		{ " 2M ", UINT64_C(2) << 20 },
		{ "1e3", 1000 },
		/* exact beyond 2^53 and 2^63 */
		{ "8388608T", UINT64_C(1) << 63 },
		{ "18446744073709551615", UINT64_MAX },
		{ "9007199254740993", UINT64_C(9007199254740993) },
	};
	struct size_spec sp;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		memset(&sp, 0x5a, sizeof(sp));
		if (parse_size(ok[i].s, UINT64_MAX, &sp) != 0 || sp.is_percent || sp.bytes != ok[i].bytes)
			fail_msg("parse_size(\"%s\") gave %" PRIu64 ", want %" PRIu64, ok[i].s, sp.bytes, ok[i].bytes);
	}

	assert_int_equal(parse_size("20%", 0, &sp), 0); /* max_bytes does not limit a share */
	assert_true(sp.is_percent);
	assert_true(sp.percent == 20);
	assert_int_equal(parse_size("2.5%", UINT64_MAX, &sp), 0);
	assert_true(sp.is_percent && sp.percent == 2.5);
	assert_int_equal(parse_size("100%", UINT64_MAX, &sp), 0);
	assert_true(sp.is_percent && sp.percent == 100);
	assert_int_equal(parse_size("0%", UINT64_MAX, &sp), 0);
	assert_true(sp.is_percent && sp.percent == 0);
	assert_int_equal(parse_size("5 %", UINT64_MAX, &sp), 0);
	assert_true(sp.is_percent && sp.percent == 5);
	/* max_bytes is inclusive */
	assert_int_equal(parse_size("1K", 1024, &sp), 0);
	assert_true(!sp.is_percent && sp.bytes == 1024);
}

static void test_parse_size_bad(void **state)
{
	static const char *const junk[] = {
		"", " ", "%", "K", "abc", "1P", "1PB", "1E", "1KX", "1Ki", "1KBB", "1 K B", "5%%", "5%K",
		"0x10", "0x10M", "nan", "inf%", "1.2.3M", "1,5G", "12 34",
	};
	struct size_spec sp, before;
	(void)state;

	memset(&sp, 0x5a, sizeof(sp));
	before = sp;
	for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
		if (parse_size(junk[i], UINT64_MAX, &sp) != -EINVAL)
			fail_msg("parse_size(\"%s\") should be -EINVAL", junk[i]);
	}
	/* a bare number counts bytes: a fraction of one is an error of its own */
	assert_int_equal(parse_size("0.2", UINT64_MAX, &sp), -EDOM);
	assert_int_equal(parse_size("1.5", UINT64_MAX, &sp), -EDOM);
	assert_int_equal(parse_size("1e-1", UINT64_MAX, &sp), -EDOM);
	/* shares above 100% and negative values */
	assert_int_equal(parse_size("100.5%", UINT64_MAX, &sp), -ERANGE);
	assert_int_equal(parse_size("101%", UINT64_MAX, &sp), -ERANGE);
	assert_int_equal(parse_size("-5%", UINT64_MAX, &sp), -ERANGE);
	assert_int_equal(parse_size("-1", UINT64_MAX, &sp), -ERANGE);
	assert_int_equal(parse_size("-5M", UINT64_MAX, &sp), -ERANGE);
	/* above max_bytes */
	assert_int_equal(parse_size("1025", 1024, &sp), -ERANGE);
	assert_int_equal(parse_size("2K", 1024, &sp), -ERANGE);
	assert_int_equal(parse_size("1.01K", 1024, &sp), -ERANGE);
	assert_int_equal(parse_size("65T", UINT64_C(64) << 40, &sp), -ERANGE);
	/* overflow of 64 bits */
	assert_int_equal(parse_size("16777216T", UINT64_MAX, &sp), -ERANGE);
	assert_int_equal(parse_size("18446744073709551616", UINT64_MAX, &sp), -ERANGE);
	assert_int_equal(parse_size("99999999999999999999999T", UINT64_MAX, &sp), -ERANGE);
	assert_int_equal(parse_size("1e300T", UINT64_MAX, &sp), -ERANGE);
	assert_int_equal(parse_size("16777216.0T", UINT64_MAX, &sp), -ERANGE); /* 2^64 exactly */
	assert_int_equal(parse_size("18446744073709551616.0", UINT64_MAX, &sp), -ERANGE);
	assert_int_equal(parse_size("1e999", UINT64_MAX, &sp), -ERANGE);
	assert_memory_equal(&sp, &before, sizeof(sp));
}

/* ---- size_resolve ------------------------------------------------------ */

static void test_size_resolve(void **state)
{
	struct size_spec b = { .is_percent = false, .bytes = 12345 };
	struct size_spec p = { .is_percent = true };
	(void)state;

	assert_true(size_resolve(&b, 0) == 12345);
	assert_true(size_resolve(&b, UINT64_C(1) << 40) == 12345);
	p.percent = 20;
	assert_true(size_resolve(&p, 1000) == 200);
	p.percent = 2.5;
	assert_true(size_resolve(&p, UINT64_C(1) << 30) == (UINT64_C(1) << 30) / 40);
	p.percent = 0;
	assert_true(size_resolve(&p, UINT64_C(24) << 30) == 0);
	p.percent = 100;
	assert_true(size_resolve(&p, UINT64_C(24) << 30) == UINT64_C(24) << 30);
	assert_true(size_resolve(&p, 0) == 0);
	/* 100% never exceeds the total, even where doubles cannot hold it */
	assert_true(size_resolve(&p, UINT64_MAX) == UINT64_MAX);
	assert_true(size_resolve(&p, (UINT64_C(1) << 60) + 1) == (UINT64_C(1) << 60) + 1);
	p.percent = 50;
	assert_true(size_resolve(&p, UINT64_MAX) <= UINT64_MAX / 2 + 1);
	assert_true(size_resolve(&p, UINT64_MAX) >= UINT64_MAX / 2 - 4096);
}

/* ---- formatting -------------------------------------------------------- */

static void check_size_roundtrip(const struct size_spec *sp)
{
	struct size_spec back;
	char buf[64];

	size_format(sp, buf, sizeof(buf));
	memset(&back, 0x5a, sizeof(back));
	if (parse_size(buf, UINT64_MAX, &back) != 0)
		fail_msg("size_format gave '%s', which parse_size rejects", buf);
	if (back.is_percent != sp->is_percent)
		fail_msg("'%s': is_percent changed", buf);
	if (sp->is_percent && back.percent != sp->percent)
		fail_msg("'%s': percent %.17g came back as %.17g", buf, sp->percent, back.percent);
	if (!sp->is_percent && back.bytes != sp->bytes)
		fail_msg("'%s': %" PRIu64 " bytes came back as %" PRIu64, buf, sp->bytes, back.bytes);
}

static void test_size_format(void **state)
{
	static const struct {
		uint64_t bytes;
		const char *text;
	} fixed[] = {
		{ 0, "0" },
		{ 1, "1" },
		{ 1023, "1023" },
		{ 1024, "1K" },
		{ 1536, "1536" },
		{ UINT64_C(1) << 20, "1M" },
		{ UINT64_C(128) << 20, "128M" },
		{ UINT64_C(3) << 30, "3G" },
		{ UINT64_C(5) << 40, "5T" },
		{ UINT64_C(1) << 50, "1024T" },
		{ (UINT64_C(1) << 30) + 1024, "1048577K" },
	};
	static const double percents[] = { 0, 20, 2.5, 100, 0.1, 1e-5, 100.0 / 3, 12.345678901234567, 99.99999999 };
	struct size_spec sp;
	char buf[64];
	uint64_t x = 0x9e3779b97f4a7c15u; /* fixed seed: failures replay */
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
		sp = (struct size_spec){ .bytes = fixed[i].bytes };
		size_format(&sp, buf, sizeof(buf));
		assert_string_equal(buf, fixed[i].text);
		check_size_roundtrip(&sp);
	}
	sp = (struct size_spec){ .is_percent = true, .percent = 20 };
	size_format(&sp, buf, sizeof(buf));
	assert_string_equal(buf, "20%");
	sp.percent = 2.5;
	size_format(&sp, buf, sizeof(buf));
	assert_string_equal(buf, "2.5%");
	for (size_t i = 0; i < ARRAY_SIZE(percents); i++) {
		sp = (struct size_spec){ .is_percent = true, .percent = percents[i] };
		check_size_roundtrip(&sp);
	}
	sp = (struct size_spec){ .bytes = UINT64_MAX };
	check_size_roundtrip(&sp);
	for (int i = 0; i < 2000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* any byte count, then ones with many low zero bits */
		sp = (struct size_spec){ .bytes = x >> (i % 64) << (i % 41) };
		check_size_roundtrip(&sp);
		sp = (struct size_spec){ .is_percent = true, .percent = (double)(x >> 11) / (double)(UINT64_C(1) << 53) * 100 };
		check_size_roundtrip(&sp);
	}
	/* a small buffer truncates and stays terminated */
	sp = (struct size_spec){ .bytes = 123456789 };
	size_format(&sp, buf, 4);
	assert_string_equal(buf, "123");
}

static void check_duration_roundtrip(uint64_t ms)
{
	char buf[64];
	uint64_t back = SENTINEL_U64;

	duration_format(ms, buf, sizeof(buf));
	if (parse_duration_ms(buf, 0, UINT64_MAX, &back) != 0 || back != ms)
		fail_msg("%" PRIu64 " ms formatted as '%s' came back as %" PRIu64, ms, buf, back);
}

static void test_duration_format(void **state)
{
	static const struct {
		uint64_t ms;
		const char *text;
	} fixed[] = {
		{ 0, "0s" },          { 1, "1ms" },        { 999, "999ms" },      { 1000, "1s" },
		{ 1500, "1500ms" },   { 20000, "20s" },    { 60000, "1min" },     { 90000, "90s" },
		{ 300000, "5min" },   { 3600000, "1h" },   { 5400000, "90min" },  { 86400000, "1d" },
		{ 90000000, "25h" },  { 604800000, "7d" },
	};
	char buf[64];
	uint64_t x = 0x2545f4914f6cdd1du; /* fixed seed */
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
		duration_format(fixed[i].ms, buf, sizeof(buf));
		assert_string_equal(buf, fixed[i].text);
		check_duration_roundtrip(fixed[i].ms);
	}
	check_duration_roundtrip(UINT64_MAX);
	check_duration_roundtrip(UINT64_MAX / 3600000 * 3600000);
	check_duration_roundtrip(UINT64_MAX / 86400000 * 86400000);
	check_duration_roundtrip(UINT64_C(1) << 63);
	for (int i = 0; i < 2000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		check_duration_roundtrip(x >> (i % 64));
		check_duration_roundtrip((x % 1000) * 60000);
		check_duration_roundtrip((x % 100000) * 1000);
	}
}

static void test_double_format(void **state)
{
	static const double v[] = { 0, 1, -1, 0.1, 0.5, 2.5, 1e-7, 1e21, 100.0 / 3, 0.1234567891234,
				    12.345678901234567, 1.7976931348623157e308, 2.2250738585072014e-308, 1000 };
	char buf[64];
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		double back;
		double_format(v[i], buf, sizeof(buf));
		if (parse_double(buf, -DBL_MAX, DBL_MAX, &back) != 0 || back != v[i])
			fail_msg("%.17g formatted as '%s' does not come back", v[i], buf);
	}
	/* short where short is exact */
	double_format(0.5, buf, sizeof(buf));
	assert_string_equal(buf, "0.5");
	double_format(0.1, buf, sizeof(buf));
	assert_string_equal(buf, "0.1");
	double_format(25, buf, sizeof(buf));
	assert_string_equal(buf, "25");
	double_format(0.001, buf, sizeof(buf));
	assert_string_equal(buf, "0.001");
}

/* ---- read_file ------------------------------------------------------- */

static void test_read_file_regular(void **state)
{
	char *text = NULL;
	size_t len = 99;
	(void)state;

	put_file(tpath(0, "f"), "hello\nworld\n", 12);
	assert_int_equal(read_file(tpath(0, "f"), 1024, &text, &len), 0);
	assert_int_equal(len, 12);
	assert_string_equal(text, "hello\nworld\n");
	free(text);

	/* exactly max bytes fits; one more does not */
	assert_int_equal(read_file(tpath(0, "f"), 12, &text, &len), 0);
	assert_int_equal(len, 12);
	free(text);
	text = (char *)0x1;
	len = 99;
	assert_int_equal(read_file(tpath(0, "f"), 11, &text, &len), -EFBIG);
	assert_ptr_equal(text, (char *)0x1);
	assert_int_equal(len, 99);

	/* empty file */
	put_file(tpath(0, "empty"), "", 0);
	assert_int_equal(read_file(tpath(0, "empty"), 0, &text, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(text, "");
	free(text);

	/* embedded NUL bytes are kept, and the length says so */
	put_file(tpath(0, "bin"), "a\0b", 3);
	assert_int_equal(read_file(tpath(0, "bin"), 100, &text, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(text, "a\0b\0", 4);
	free(text);

	/* "no limit" must not overflow max + 1 */
	assert_int_equal(read_file(tpath(0, "f"), SIZE_MAX, &text, &len), 0);
	assert_int_equal(len, 12);
	assert_string_equal(text, "hello\nworld\n");
	free(text);

	/* a symlink to a regular file is followed */
	assert_int_equal(symlink(tpath(0, "f"), tpath(1, "link")), 0);
	assert_int_equal(read_file(tpath(1, "link"), 100, &text, &len), 0);
	assert_int_equal(len, 12);
	free(text);
}

static void test_read_file_big(void **state)
{
	size_t n = 300000, len = 0;
	char *data = malloc(n), *text = NULL;
	(void)state;

	assert_non_null(data);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	put_file(tpath(0, "big"), data, n);
	assert_int_equal(read_file(tpath(0, "big"), n, &text, &len), 0);
	assert_int_equal(len, n);
	assert_memory_equal(text, data, n);
	assert_int_equal(text[n], '\0');
	free(text);
	text = NULL;
	assert_int_equal(read_file(tpath(0, "big"), n - 1, &text, &len), -EFBIG);
	assert_int_equal(read_file(tpath(0, "big"), 1024 * 1024, &text, &len), 0);
	assert_int_equal(len, n);
	free(text);
	free(data);
}

/* In a child confined to reading /proc and writing one directory: what
 * ksmpilotctl inspect may still do, and what its capabilities would allow
 * without Landlock. Exit 0 when all hold, 77 without Landlock, else the
 * number of the first check that failed. */
static int landlock_child(const char *wdir, const char *outside)
{
	char path[PATH_MAX + 64];
	int pfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int wfd = open(wdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *step = "";
	int abi, fd;

	if (pfd < 0 || wfd < 0)
		return 1;
	abi = landlock_confine(pfd, wfd, &step);
	if (abi == 0)
		return 77;
	if (abi < 0)
		return 2;
	/* allowed: read /proc, make, replace and remove files in wdir */
	if (read_file_at(AT_FDCWD, "/proc/self/status", path, sizeof(path)) <= 0)
		return 3;
	if (write_file_at(wfd, "processes", "a\n", 2, 0600, false) != 0 ||
	    write_file_at(wfd, "processes", "b\n", 2, 0600, false) != 0)
		return 4;
	if (read_file_at(wfd, "processes", path, sizeof(path)) <= 0 || path[0] != 'b')
		return 5;
	if (unlinkat(wfd, "processes", 0) != 0)
		return 6;
	/* denied: any other file, also through /proc/self/root */
	snprintf(path, sizeof(path), "%s/secret", outside);
	if (open(path, O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES)
		return 7;
	snprintf(path, sizeof(path), "/proc/self/root%s/secret", outside);
	if (open(path, O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES)
		return 8;
	if (open("/etc/passwd", O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES)
		return 9;
	/* denied: writing /proc (a process's memory), a directory or a link in wdir */
	fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	if (fd >= 0 || errno != EACCES)
		return 10;
	if (mkdirat(wfd, "d", 0700) == 0 || errno != EACCES)
		return 11;
	if (symlinkat("/etc/passwd", wfd, "l") == 0 || errno != EACCES)
		return 12;
	/* not even reading the memory of a process outside the domain,
	 * which the rules for /proc alone would allow */
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)getppid());
	if (open(path, O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES)
		return 14;
	/* ABI 6: no signal to a process outside the domain */
	if (abi >= 6 && (kill(getppid(), 0) == 0 || errno != EPERM))
		return 13;
	return 0;
}

static void test_landlock_confine(void **state)
{
	char wdir[PATH_MAX + 8], outside[PATH_MAX + 8], secret[PATH_MAX + 16];
	int status;
	pid_t pid;
	(void)state;

	snprintf(wdir, sizeof(wdir), "%s/w", tmpdir);
	snprintf(outside, sizeof(outside), "%s/out", tmpdir);
	snprintf(secret, sizeof(secret), "%s/secret", outside);
	assert_int_equal(mkdir(wdir, 0755), 0);
	assert_int_equal(mkdir(outside, 0755), 0);
	assert_int_equal(write_file_atomic(secret, "s", 1, 0644), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(landlock_child(wdir, outside));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		print_message("skipped: no Landlock here (the kernel lacks it or a seccomp filter forbids it)\n");
		skip();
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* /proc files report st_size 0 but have content: read_file reads them whole. */
static void test_read_file_proc(void **state)
{
	char *text = NULL;
	size_t len = 0;
	(void)state;

	if (access("/proc/self/status", R_OK) != 0)
		skip();
	assert_int_equal(read_file("/proc/self/status", 1024 * 1024, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	assert_true(len > 200);
	assert_true(strncmp(text, "Name:", 5) == 0);
	assert_non_null(strstr(text, "\nPid:"));
	free(text);
	assert_int_equal(read_file("/proc/self/status", 10, &text, &len), -EFBIG);
}

static void test_read_file_not_regular(void **state)
{
	char *text = (char *)0x1;
	size_t len = 7;
	(void)state;

	assert_int_equal(read_file(tmpdir, 1024, &text, &len), -EISDIR);
	assert_int_equal(mkfifo(tpath(0, "fifo"), 0600), 0);
	/* Nobody writes to the FIFO: if read_file blocked, the alarm would
	 * kill the test instead of hanging the suite. */
	alarm(60);
	assert_int_equal(read_file(tpath(0, "fifo"), 1024, &text, &len), -EINVAL);
	alarm(0);
	if (access("/dev/null", F_OK) == 0)
		assert_int_equal(read_file("/dev/null", 1024, &text, &len), -EINVAL);
	assert_ptr_equal(text, (char *)0x1);
	assert_int_equal(len, 7);
}

static void test_read_file_missing_and_loop(void **state)
{
	char *text = (char *)0x1;
	size_t len = 7;
	(void)state;

	assert_int_equal(read_file(tpath(0, "nope"), 1024, &text, &len), -ENOENT);
	assert_int_equal(read_file(tpath(0, "nope/deeper"), 1024, &text, &len), -ENOENT);
	assert_int_equal(symlink(tpath(0, "b"), tpath(1, "a")), 0);
	assert_int_equal(symlink(tpath(0, "a"), tpath(1, "b")), 0);
	assert_int_equal(read_file(tpath(0, "a"), 1024, &text, &len), -ELOOP);
	/* a dangling symlink is a missing file */
	assert_int_equal(symlink(tpath(0, "nowhere"), tpath(1, "dangling")), 0);
	assert_int_equal(read_file(tpath(0, "dangling"), 1024, &text, &len), -ENOENT);
	/* a regular file used as a directory */
	put_file(tpath(0, "file"), "x", 1);
	assert_int_equal(read_file(tpath(0, "file/x"), 1024, &text, &len), -ENOTDIR);
	assert_ptr_equal(text, (char *)0x1);
	assert_int_equal(len, 7);
}

/* ---- write_file_atomic ---------------------------------------------- */

static void check_file(const char *path, const char *want, size_t want_len, mode_t want_mode)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	if ((st.st_mode & 07777) != want_mode)
		fail_msg("%s: mode %04o, want %04o", path, st.st_mode & 07777, want_mode);
	check_content(path, want, want_len);
}

static void test_write_file_atomic(void **state)
{
	const char *p = tpath(0, "state");
	(void)state;

	umask(077);
	/* mode 0644 whatever the umask */
	assert_int_equal(write_file_atomic(p, "abc\n", 4, 0644), 0);
	check_file(p, "abc\n", 4, 0644);
	assert_int_equal(count_entries(), 1); /* no .tmp left behind */

	/* replacing a longer file truncates it */
	put_file(p, "0123456789abcdef", 16);
	assert_int_equal(write_file_atomic(p, "xy", 2, 0644), 0);
	check_file(p, "xy", 2, 0644);

	/* the mode is applied even when it is wider than the umask allows,
	 * and narrower modes work too */
	umask(0);
	assert_int_equal(write_file_atomic(p, "z", 1, 0600), 0);
	check_file(p, "z", 1, 0600);
	umask(0777);
	assert_int_equal(write_file_atomic(p, "", 0, 0644), 0);
	check_file(p, "", 0, 0644);

	/* binary data with NUL bytes */
	assert_int_equal(write_file_atomic(p, "a\0b", 3, 0640), 0);
	check_file(p, "a\0b", 3, 0640);

	/* a file named like the old fixed temporary name is not ours: it is
	 * neither used nor removed, and nothing else is left behind */
	umask(022);
	put_file(tpath(1, "state.tmp"), "not ours", 8);
	assert_int_equal(write_file_atomic(p, "new", 3, 0644), 0);
	check_file(p, "new", 3, 0644);
	check_content(tpath(1, "state.tmp"), "not ours", 8);
	assert_int_equal(count_entries(), 2);
}

static void test_write_file_atomic_errors(void **state)
{
	char big[PATH_MAX * 2];
	(void)state;

	/* parent directory missing */
	assert_int_equal(write_file_atomic(tpath(0, "no/such/file"), "x", 1, 0644), -ENOENT);

	/* target is a directory: rename fails and the .tmp is removed */
	assert_int_equal(mkdir(tpath(0, "dir"), 0755), 0);
	assert_true(write_file_atomic(tpath(0, "dir"), "x", 1, 0644) < 0);
	assert_int_equal(access(tpath(0, "dir.tmp"), F_OK), -1);
	assert_int_equal(count_entries(), 1);

	/* a name with a slash, for write_file_at() */
	{
		int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY);
		assert_true(dfd >= 0);
		assert_int_equal(write_file_at(dfd, "a/b", "x", 1, 0644, false), -EINVAL);
		assert_int_equal(write_file_at(dfd, "", "x", 1, 0644, false), -EINVAL);
		close(dfd);
	}

	/* a name too long for its temporary name */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(write_file_atomic(big, "x", 1, 0644), -ENAMETOOLONG);
}

/* What a write cut short by a crash leaves (".NAME.<16 hex>") goes; the
 * file itself, another name's and anything of another shape stay, and
 * with a minimum age, one written since. */
static void test_remove_temp_files(void **state)
{
	static const char *const keep[] = { "state", ".state.0123", ".state.0123456789abcdefX", ".state.0123456789abcdeg",
					     "x.state.0123456789abcdef", ".state.0123456789ABCDEF" };
	int dirfd;
	(void)state;

	put_file(tpath(0, ".state.0123456789abcdef"), "x", 1);
	put_file(tpath(0, ".state.fedcba9876543210"), "x", 1);
	put_file(tpath(0, ".controller.0123456789abcdef"), "x", 1);
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
		put_file(tpath(0, keep[i]), "x", 1);
	dirfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dirfd >= 0);
	assert_int_equal(remove_temp_files(dirfd, "state", 0), 2);
	assert_int_equal(access(tpath(0, ".state.0123456789abcdef"), F_OK), -1);
	assert_int_equal(access(tpath(0, ".state.fedcba9876543210"), F_OK), -1);
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
		assert_int_equal(access(tpath(0, keep[i]), F_OK), 0);
	assert_int_equal(remove_temp_files(dirfd, "state", 0), 0);
	/* a second name through the same descriptor: the first call did not
	 * leave it at the end of the directory */
	assert_int_equal(remove_temp_files(dirfd, "controller", 0), 1);
	assert_int_equal(access(tpath(0, ".controller.0123456789abcdef"), F_OK), -1);
	/* with a minimum age: one written a second ago may be a write under
	 * way; one of two minutes ago is a write that died */
	put_file(tpath(0, ".state.00000000000000aa"), "x", 1);
	put_file(tpath(0, ".state.00000000000000bb"), "x", 1);
	{
		struct timespec old[2] = { { .tv_sec = time(NULL) - 120 }, { .tv_sec = time(NULL) - 120 } };
		assert_int_equal(utimensat(dirfd, ".state.00000000000000bb", old, 0), 0);
	}
	assert_int_equal(remove_temp_files(dirfd, "state", 60), 1);
	assert_int_equal(access(tpath(0, ".state.00000000000000aa"), F_OK), 0);
	assert_int_equal(access(tpath(0, ".state.00000000000000bb"), F_OK), -1);
	close(dirfd);
}

/* What another user can plant in a directory that holds a file root
 * rewrites (the Prometheus textfile directory may belong to the
 * node_exporter user): a FIFO, a hard link to a file of root's and a
 * symlink, each at the old fixed temporary name and at the name itself.
 * The write neither hangs, nor truncates or follows anything, nor fails,
 * and leaves no temporary file. */
static void test_write_file_planted(void **state)
{
	static const char *const names[] = { "m.prom.tmp", "m.prom" };
	char p[PATH_MAX + 64];
	(void)state;

	snprintf(p, sizeof(p), "%s", tpath(0, "m.prom"));
	put_file(tpath(0, "victim"), "keep", 4);
	alarm(60); /* a blocking open of a FIFO would hang: SIGALRM fails the test */
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		assert_int_equal(mkfifo(tpath(1, names[i]), 0666), 0);
		assert_int_equal(write_file_replace(p, "one\n", 4, 0644, false), 0);
		check_file(p, "one\n", 4, 0644);
		unlink(tpath(1, names[i]));
		unlink(p);

		assert_int_equal(link(tpath(0, "victim"), tpath(1, names[i])), 0);
		assert_int_equal(write_file_replace(p, "two\n", 4, 0644, false), 0);
		check_file(p, "two\n", 4, 0644);
		check_content(tpath(0, "victim"), "keep", 4);
		unlink(tpath(1, names[i]));
		unlink(p);

		assert_int_equal(symlink(tpath(0, "victim"), tpath(1, names[i])), 0);
		assert_int_equal(write_file_replace(p, "three\n", 6, 0644, false), 0);
		check_file(p, "three\n", 6, 0644);
		check_content(tpath(0, "victim"), "keep", 4);
		/* victim, m.prom and the symlink if it is not m.prom: no temporary left */
		assert_int_equal(count_entries(), i == 0 ? 3 : 2);
		unlink(tpath(1, names[i]));
		unlink(p);
	}
	alarm(0);
}

/* A directory above the textfile's that another user may write (Debian's
 * /var/lib/prometheus belongs to the prometheus user) lets that user swap
 * the textfile's directory for a symlink, before a write or during it:
 * root must then neither write nor remove a file where the symlink points.
 * The walk stops at a symlink in a directory others may write, or of
 * another user; one of root's (or the caller's) in a directory no one
 * else may write, or a sticky one, is followed, relative or absolute. */
static void test_dir_walk_nofollow(void **state)
{
	char real[PATH_MAX], p[PATH_MAX * 2];
	int fd;
	(void)state;

	assert_int_equal(mkdir(tpath(0, "exporter"), 0755), 0);
	assert_int_equal(mkdir(tpath(0, "elsewhere"), 0755), 0);
	assert_non_null(realpath(tmpdir, real));
	/* the swap: "textdir" is now a symlink to a directory of root's */
	assert_int_equal(symlink(tpath(0, "elsewhere"), tpath(1, "textdir")), 0);
	snprintf(p, sizeof(p), "%s/textdir", real);
	assert_int_equal(dir_walk_nofollow(p), -ENOTDIR);
	snprintf(p, sizeof(p), "%s/exporter", real);
	fd = dir_walk_nofollow(p);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(dir_walk_nofollow("relative/path"), -EINVAL);
	snprintf(p, sizeof(p), "%s/absent", real);
	assert_int_equal(dir_walk_nofollow(p), -ENOENT);
	/* a symlink in the configured path is resolved before the walk */
	fd = dir_open_nofollow(tpath(0, "textdir"));
	assert_true(fd >= 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/textdir/m.prom", tmpdir);
	assert_int_equal(write_file_replace(p, "x\n", 2, 0644, false), 0);
	check_content(tpath(0, "elsewhere/m.prom"), "x\n", 2);
	assert_int_equal(unlink_nofollow(p), 0);
	assert_int_equal(access(tpath(0, "elsewhere/m.prom"), F_OK), -1);
	assert_int_equal(unlink_nofollow(p), -ENOENT);

	/* in a directory others may write (the prometheus user's), the same
	 * link was there before the write: neither followed nor removed */
	assert_int_equal(mkdir(tpath(0, "shared"), 0755), 0);
	assert_int_equal(chmod(tpath(0, "shared"), 0777), 0);
	assert_int_equal(symlink(tpath(0, "elsewhere"), tpath(1, "shared/textdir")), 0);
	assert_int_equal(dir_open_nofollow(tpath(0, "shared/textdir")), -ENOTDIR);
	snprintf(p, sizeof(p), "%s/shared/textdir/m.prom", tmpdir);
	assert_int_equal(write_file_replace(p, "x\n", 2, 0644, false), -ENOTDIR);
	assert_int_equal(access(tpath(0, "elsewhere/m.prom"), F_OK), -1);
	put_file(tpath(0, "elsewhere/m.prom"), "keep", 4);
	assert_int_equal(unlink_nofollow(p), -ENOTDIR);
	check_content(tpath(0, "elsewhere/m.prom"), "keep", 4);
	/* sticky, as /tmp: only the link's owner can swap it */
	assert_int_equal(chmod(tpath(0, "shared"), 01777), 0);
	fd = dir_open_nofollow(tpath(0, "shared/textdir"));
	assert_true(fd >= 0);
	close(fd);
	/* a relative link, and one that points to itself */
	assert_int_equal(symlink("../elsewhere", tpath(0, "exporter/rel")), 0);
	fd = dir_open_nofollow(tpath(0, "exporter/rel"));
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(symlink("loop", tpath(0, "loop")), 0);
	assert_int_equal(dir_open_nofollow(tpath(0, "loop")), -ELOOP);
	/* a link of another user's, in a sticky directory too */
	if (geteuid() == 0) {
		assert_int_equal(lchown(tpath(0, "shared/textdir"), 65534, 65534), 0);
		assert_int_equal(dir_open_nofollow(tpath(0, "shared/textdir")), -ENOTDIR);
	}
}

static void test_dir_open_trusted(void **state)
{
	char why[512];
	struct stat st;
	int fd;
	(void)state;

	/* created when missing, with mode 0755 */
	fd = dir_open_trusted(tpath(0, "state"), true, why, sizeof(why));
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	close(fd);
	/* 0755 whatever the umask: others read the state file */
	mode_t mask = umask(077);
	fd = dir_open_trusted(tpath(0, "state-umask"), true, why, sizeof(why));
	umask(mask);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	close(fd);
	/* but only once it passed the checks: one made under a directory
	 * anyone can write (which could swap it for a symlink to a file of
	 * root's) is refused before its mode is touched */
	assert_int_equal(mkdir(tpath(0, "open-umask"), 0700), 0);
	assert_int_equal(chmod(tpath(0, "open-umask"), 0777), 0);
	mask = umask(077);
	fd = dir_open_trusted(tpath(0, "open-umask/state"), true, why, sizeof(why));
	umask(mask);
	assert_int_equal(fd, -EPERM);
	assert_int_equal(stat(tpath(0, "open-umask/state"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* not created when not asked */
	assert_int_equal(dir_open_trusted(tpath(0, "absent"), false, why, sizeof(why)), -ENOENT);
	/* writable by others, or by its group: refused, sticky or not */
	assert_int_equal(chmod(tpath(0, "state"), 0777), 0);
	assert_int_equal(dir_open_trusted(tpath(0, "state"), true, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "state can be written by anyone (mode 0777)"));
	assert_int_equal(chmod(tpath(0, "state"), 01777), 0);
	assert_int_equal(dir_open_trusted(tpath(0, "state"), true, why, sizeof(why)), -EPERM);
	assert_int_equal(chmod(tpath(0, "state"), 0775), 0);
	assert_int_equal(dir_open_trusted(tpath(0, "state"), true, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "its group"));
	assert_int_equal(chmod(tpath(0, "state"), 0700), 0);
	/* a directory above that anyone can write: refused, unless sticky */
	assert_int_equal(mkdir(tpath(0, "open"), 0755), 0);
	assert_int_equal(chmod(tpath(0, "open"), 0777), 0);
	fd = dir_open_trusted(tpath(0, "open/state"), true, why, sizeof(why));
	assert_int_equal(fd, -EPERM);
	assert_non_null(strstr(why, "/open can be written by anyone"));
	assert_int_equal(chmod(tpath(0, "open"), 01777), 0);
	fd = dir_open_trusted(tpath(0, "open/state"), true, why, sizeof(why));
	assert_true(fd >= 0);
	close(fd);
	/* a symlink is resolved, and what it points to is checked */
	assert_int_equal(symlink(tpath(0, "open"), tpath(1, "link")), 0);
	assert_int_equal(chmod(tpath(0, "open"), 0777), 0);
	assert_int_equal(dir_open_trusted(tpath(0, "link/state"), false, why, sizeof(why)), -EPERM);
	/* a file is not a directory */
	put_file(tpath(0, "file"), "x", 1);
	assert_int_equal(dir_open_trusted(tpath(0, "file"), false, why, sizeof(why)), -ENOTDIR);
	/* another owner (root can give the directory away) */
	if (geteuid() == 0) {
		assert_int_equal(chown(tpath(0, "state"), 65534, 65534), 0);
		assert_int_equal(dir_open_trusted(tpath(0, "state"), false, why, sizeof(why)), -EPERM);
		assert_non_null(strstr(why, "belongs to uid 65534, not to root"));
		/* a user's symlink in a sticky directory, to a directory of
		 * root's that passes every check: not followed */
		assert_int_equal(mkdir(tpath(0, "sticky"), 0755), 0);
		assert_int_equal(chmod(tpath(0, "sticky"), 01777), 0);
		assert_int_equal(mkdir(tpath(0, "roots"), 0755), 0);
		assert_int_equal(symlink(tpath(0, "roots"), tpath(1, "sticky/state")), 0);
		fd = dir_open_trusted(tpath(0, "sticky/state"), true, why, sizeof(why));
		assert_true(fd >= 0); /* root's own link */
		close(fd);
		assert_int_equal(lchown(tpath(0, "sticky/state"), 65534, 65534), 0);
		assert_int_equal(dir_open_trusted(tpath(0, "sticky/state"), true, why, sizeof(why)), -EPERM);
		assert_non_null(strstr(why, "a symlink on the way that another user could swap"));
	}
}

/* ---- pread_text, clocks ----------------------------------------------- */

static void test_pread_text(void **state)
{
	char buf[16];
	int fd;
	(void)state;

	put_file(tpath(0, "knob"), "1250\n", 5);
	fd = open(tpath(0, "knob"), O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread_text(fd, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "1250");
	/* from offset 0 every time */
	assert_int_equal(pread_text(fd, buf, sizeof(buf)), 4);
	/* truncated to the buffer, still terminated */
	assert_int_equal(pread_text(fd, buf, 3), 2);
	assert_string_equal(buf, "12");
	assert_int_equal(pread_text(fd, buf, 0), -EINVAL);
	close(fd);

	put_file(tpath(0, "two"), "a\n\n", 3);
	fd = open(tpath(0, "two"), O_RDONLY);
	assert_int_equal(pread_text(fd, buf, sizeof(buf)), 2); /* one newline only */
	assert_string_equal(buf, "a\n");
	close(fd);
	assert_int_equal(pread_text(fd, buf, sizeof(buf)), -EBADF);
}

/* A file of the kernel's made of many records gives a page at most a read
 * (seq_file): /proc/vmstat, whose cow_ksm is near its end, is more than a
 * page on a host with large counters. /proc/self/maps, made long. */
static void test_pread_all_text(void **state)
{
	static char one[1 << 16], all[1 << 16], whole[1 << 16];
	long page = sysconf(_SC_PAGESIZE);
	char *m;
	ssize_t n1, n;
	int fd;
	(void)state;

	/* 200 mappings, every other one read-only, so none merge */
	m = mmap(NULL, (size_t)page * 400, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	for (int i = 0; i < 400; i += 2)
		assert_int_equal(mprotect(m + (size_t)i * (size_t)page, (size_t)page, PROT_READ), 0);
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n1 = pread(fd, one, sizeof(one) - 1, 0);
	n = pread_all_text(fd, all, sizeof(all));
	assert_true(read_file_at(AT_FDCWD, "/proc/self/maps", whole, sizeof(whole)) > 0);
	/* to the end: the last mapping (the stack, or [vsyscall]) is there,
	 * whatever a sanitizer or valgrind mapped between the reads */
	assert_true(n > 0 && all[n - 1] == '\n');
	all[n - 1] = '\0';
	whole[strlen(whole) - 1] = '\0';
	assert_string_equal(strrchr(all, '\n'), strrchr(whole, '\n'));
	/* the test means something where one read stops short */
	if (n1 >= n)
		print_message("one pread of /proc/self/maps gave all %zd bytes here\n", n);
	else
		assert_true(n1 > 0 && n1 < n);
	/* cut to the buffer, still terminated */
	assert_int_equal(pread_all_text(fd, all, 11), 10);
	assert_int_equal(strlen(all), 10);
	assert_int_equal(pread_all_text(fd, all, 0), -EINVAL);
	close(fd);
	munmap(m, (size_t)page * 400);
}

static void test_read_file_at_and_cmdline_join(void **state)
{
	char buf[16];
	int dfd;
	(void)state;

	put_file(tpath(0, "cmdline"), "a\0b\nc\0\x7f\t\xc3\xa9\0\0", 11);
	dfd = open(tmpdir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	assert_int_equal(read_file_at(dfd, "cmdline", buf, sizeof(buf)), 11);
	assert_memory_equal(buf, "a\0b\nc\0\x7f\t\xc3\xa9\0\0", 12); /* NUL-terminated */
	/* arguments joined, control characters spaces, trailing ones gone, UTF-8 kept */
	assert_int_equal(cmdline_join(buf, 11), 10);
	assert_string_equal(buf, "a b c   \xc3\xa9");
	/* cut to the buffer, still terminated */
	assert_int_equal(read_file_at(dfd, "cmdline", buf, 4), 3);
	assert_memory_equal(buf, "a\0b", 4);
	assert_int_equal(cmdline_join(buf, 0), 0);
	assert_string_equal(buf, "");
	/* never a symlink, never anything but a regular file */
	assert_int_equal(symlink("cmdline", tpath(0, "link")), 0);
	assert_int_equal(read_file_at(dfd, "link", buf, sizeof(buf)), -ELOOP);
	assert_int_equal(mkfifo(tpath(0, "fifo"), 0600), 0);
	assert_int_equal(read_file_at(dfd, "fifo", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(read_file_at(dfd, "missing", buf, sizeof(buf)), -ENOENT);
	close(dfd);
}

static void test_text_mark_invisible(void **state)
{
	char out[64];
	(void)state;

	/* no-break space, zero-width space, BOM, soft hyphen; é is text */
	assert_string_equal(text_mark_invisible("a\xC2\xA0" "b\xE2\x80\x8B\xEF\xBB\xBF\xC2\xAD\xC3\xA9", out, sizeof(out)),
			    "a<U+00A0>b<U+200B><U+FEFF><U+00AD>\xC3\xA9");
	assert_string_equal(text_drop_invisible("a\xC2\xA0" "b\xE2\x80\x8B\xC3\xA9\xFF", out, sizeof(out)), "ab\xC3\xA9\xFF");
	/* a byte that is not UTF-8 */
	assert_string_equal(text_mark_invisible("x\xFFy\xC3", out, sizeof(out)), "x\\xFFy\\xC3");
	/* cut at the last whole character or mark that fits */
	assert_string_equal(text_mark_invisible("ab\xC2\xA0", out, 9), "ab");
	assert_string_equal(text_mark_invisible("ab\xC2\xA0", out, 11), "ab<U+00A0>");
	assert_string_equal(text_mark_invisible("\xC3\xA9\xC3\xA9", out, 4), "\xC3\xA9");
	assert_string_equal(text_mark_invisible("abc", out, 1), "");
	assert_string_equal(text_mark_invisible("", out, sizeof(out)), "");
	/* a C1 control, a bidirectional isolate, a tag character */
	assert_string_equal(text_mark_invisible("a\xC2\x85" "b\xE2\x81\xA6\xF3\xA0\x81\x81", out, sizeof(out)),
			    "a<U+0085>b<U+2066><U+E0041>");
	/* a cut between two characters */
	assert_int_equal(utf8_prefix("a\xC3\xA9z", 2), 1);
	assert_int_equal(utf8_prefix("a\xC3\xA9z", 3), 3);
	assert_int_equal(utf8_prefix("abc", 2), 2);
	assert_int_equal(utf8_prefix("ab", 40), 2);
}

static void test_text_keep_end(void **state)
{
	char out[16];
	(void)state;

	/* whole while it fits, NUL included */
	text_keep_end(out, 8, "abcdefg");
	assert_string_equal(out, "abcdefg");
	/* else its last len - 4 bytes behind "...", in len - 1 at most */
	text_keep_end(out, 8, "/a/b/conf");
	assert_string_equal(out, "...conf");
	/* cut between two characters: never the middle of an e-acute or a
	 * euro sign, however many bytes that drops */
	text_keep_end(out, 8, "aaaa\xC3\xA9" "bc");
	assert_string_equal(out, "...\xC3\xA9" "bc");
	text_keep_end(out, 7, "aaaa\xC3\xA9" "bc");
	assert_string_equal(out, "...bc");
	text_keep_end(out, 7, "xxxx\xE2\x82\xAC" "y");
	assert_string_equal(out, "...y");
	assert_true(utf8_inside_char("\xC3\xA9", 1));
	assert_false(utf8_inside_char("\xC3\xA9", 0));
	assert_true(utf8_inside_char("\xE2\x82\xAC", 2));
	/* a stray continuation byte is a byte of its own, kept (and made safe
	 * by whoever prints it) */
	assert_false(utf8_inside_char("a\x80" "b", 1));
	text_keep_end(out, 7, "abcd\x80xy");
	assert_string_equal(out, "...\x80xy");
}

static void test_clocks(void **state)
{
	uint64_t a, b, c;
	(void)state;

	a = now_ms();
	b = now_us();
	c = now_ms();
	assert_true(a <= c);
	assert_true(a <= b / 1000 && b / 1000 <= c);
	assert_true(now_us() >= b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64_good),
		cmocka_unit_test(test_parse_u64_bad),
		cmocka_unit_test(test_parse_i64),
		cmocka_unit_test(test_parse_double_good),
		cmocka_unit_test(test_parse_double_bad),
		cmocka_unit_test(test_regcomp_search_same_matches),
		cmocka_unit_test(test_search_re_renews),
		cmocka_unit_test(test_parse_bool),
		cmocka_unit_test(test_parse_duration_good),
		cmocka_unit_test(test_parse_duration_bad),
		cmocka_unit_test(test_parse_size_good),
		cmocka_unit_test(test_parse_size_bad),
		cmocka_unit_test(test_size_resolve),
		cmocka_unit_test(test_size_format),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_double_format),
		cmocka_unit_test_setup_teardown(test_read_file_regular, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_read_file_big, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test(test_read_file_proc),
		cmocka_unit_test_setup_teardown(test_read_file_not_regular, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_read_file_missing_and_loop, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_write_file_atomic, setup_umask, teardown_umask),
		cmocka_unit_test_setup_teardown(test_write_file_atomic_errors, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_write_file_planted, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_remove_temp_files, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_dir_walk_nofollow, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_dir_open_trusted, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_pread_text, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test(test_pread_all_text),
		cmocka_unit_test_setup_teardown(test_read_file_at_and_cmdline_join, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_landlock_confine, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test(test_text_mark_invisible),
		cmocka_unit_test(test_text_keep_end),
		cmocka_unit_test(test_clocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
