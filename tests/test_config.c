/* test_config.c - unit tests for config.c: defaults, parsing, every kind of
 * bad value, error locations, cross-key checks, cfg_load() with drop-ins,
 * cfg_dump() round trips and the shipped conf/ksmpilot.conf.
 *
 * Tests run from the repository root (make check does). File tests use a
 * private mkdtemp() directory that teardown removes. Nothing relies on
 * permissions (CI runs as root) or on timing. */
#define _GNU_SOURCE /* nftw flags, open_memstream */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define SHIPPED_CONF "conf/ksmpilot.conf"

/* Every key set away from its default, with values that %g would round. */
static const char NONDEFAULT[] =
	"[daemon]\n"
	"interval = 1500ms\n"
	"idle_interval = 3s\n"
	"dry_run = yes\n"
	"on_exit = stop\n"
	"kernel_advisor = defer\n"
	"state_dir = /var/lib/ksm pilot\n"
	"log_level = debug\n"
	"[memory]\n"
	"target_available = 33.3333333333333%\n"
	"stop_margin = 1536M\n"
	"stop_delay = 90s\n"
	"psi_threshold = 12.345678901\n"
	"guest_cmdline = ^(/usr/bin/)?qemu-system-[a-z0-9_]+( |$)\n"
	"guest_scan_interval = 2h\n"
	"[controller]\n"
	"kp = 0.1234567891234\n"
	"ki = 1e-07\n"
	"kd = 333.333333333333\n"
	"derivative_filter = 0\n"
	"max_cpu = 99.5\n"
	"max_cpu_burst = 99.75\n"
	"burst_duration = 5min\n"
	"idle_max_cpu = 0.125\n"
	"idle_scan_period = 168h\n"
	"min_yield = 0.0001234567\n"
	"full_yield = 0.9\n"
	"volatile_limit = 12.5\n"
	"churn_loss = 0.25\n"
	"wake_threshold = 1000\n"
	"[scan]\n"
	"pages_to_scan_min = 1\n"
	"pages_to_scan_max = 1000000\n"
	"sleep_ms_min = 60000\n"
	"sleep_ms_max = 60000\n"
	"[kernel]\n"
	"merge_across_nodes = 0\n"
	"[metrics]\n"
	"textfile = /var/lib/prometheus/node-exporter/ksm pilot.prom\n"
	"history_period = 15min\n"
	"guest_series = 1000\n";

/* ---- helpers ------------------------------------------------------- */

static void print_errors(const struct cfg_errors *e)
{
	for (unsigned i = 0; i < e->n && i < CFG_MAX_ERRORS; i++)
		print_message("    error %u: %s\n", i, e->msg[i]);
	if (e->dropped)
		print_message("    (%u dropped)\n", e->dropped);
}

/* Defaults, then text as "t.conf". */
static int parse_n(struct cfg *c, const char *text, size_t len, struct cfg_errors *e)
{
	memset(e, 0, sizeof(*e));
	cfg_defaults(c);
	return cfg_parse_string(c, text, len, "t.conf", e);
}

static int parse(struct cfg *c, const char *text, struct cfg_errors *e)
{
	return parse_n(c, text, strlen(text), e);
}

static void expect_ok(int r, const struct cfg_errors *e)
{
	if (r != 0 || e->n != 0 || e->dropped != 0) {
		print_errors(e);
		fail_msg("expected no error, got r=%d and %u error(s)", r, e->n);
	}
}

/* Exactly one error; it starts with prefix and contains fragment. */
static void expect_one_error(int r, const struct cfg_errors *e, const char *prefix, const char *fragment)
{
	if (r != -EINVAL || e->n != 1 || e->dropped != 0 || strncmp(e->msg[0], prefix, strlen(prefix)) != 0 ||
	    (fragment && !strstr(e->msg[0], fragment))) {
		print_errors(e);
		fail_msg("expected r=-EINVAL and one error '%s...%s', got r=%d and %u error(s)", prefix,
			 fragment ? fragment : "", r, e->n);
	}
}

/* Error i starts with prefix and contains fragment. */
static void expect_error_at(const struct cfg_errors *e, unsigned i, const char *prefix, const char *fragment)
{
	if (i >= e->n || strncmp(e->msg[i], prefix, strlen(prefix)) != 0 ||
	    (fragment && !strstr(e->msg[i], fragment))) {
		print_errors(e);
		fail_msg("expected error %u to be '%s...%s'", i, prefix, fragment ? fragment : "");
	}
}

static void expect_size_equal(const char *what, const struct size_spec *a, const struct size_spec *b)
{
	if (a->is_percent != b->is_percent || a->percent != b->percent || a->bytes != b->bytes)
		fail_msg("%s differs: %s%.17g/%llu vs %s%.17g/%llu", what, a->is_percent ? "%" : "", a->percent,
			 (unsigned long long)a->bytes, b->is_percent ? "%" : "", b->percent,
			 (unsigned long long)b->bytes);
}

/* Every configuration field equal (the source locations may differ). */
static void expect_cfg_equal(const struct cfg *a, const struct cfg *b)
{
	/* A new key needs a line below. */
	assert_int_equal(cfg_key_count(), 35);
#define EQ(f)                                                                      \
	do {                                                                       \
		if (a->f != b->f)                                                  \
			fail_msg(#f " differs: %.17g vs %.17g", (double)a->f, (double)b->f); \
	} while (0)
#define STREQ(f)                                                               \
	do {                                                                   \
		if (strcmp(a->f, b->f) != 0)                                   \
			fail_msg(#f " differs: '%s' vs '%s'", a->f, b->f);     \
	} while (0)
	EQ(interval_ms);
	EQ(idle_interval_ms);
	EQ(dry_run);
	EQ(on_exit);
	EQ(kernel_advisor);
	STREQ(state_dir);
	EQ(log_level);
	expect_size_equal("target_available", &a->target_available, &b->target_available);
	expect_size_equal("stop_margin", &a->stop_margin, &b->stop_margin);
	EQ(stop_delay_ms);
	EQ(psi_threshold);
	STREQ(guest_cmdline);
	EQ(guest_scan_interval_ms);
	EQ(kp);
	EQ(ki);
	EQ(kd);
	EQ(derivative_filter_ms);
	EQ(max_cpu);
	EQ(max_cpu_burst);
	EQ(burst_duration_ms);
	EQ(idle_max_cpu);
	EQ(idle_scan_period_ms);
	EQ(min_yield);
	EQ(full_yield);
	EQ(volatile_limit);
	EQ(churn_loss);
	expect_size_equal("wake_threshold", &a->wake_threshold, &b->wake_threshold);
	EQ(pages_to_scan_min);
	EQ(pages_to_scan_max);
	EQ(sleep_ms_min);
	EQ(sleep_ms_max);
	EQ(merge_across_nodes);
	STREQ(textfile);
	EQ(history_period_ms);
	EQ(guest_series);
#undef EQ
#undef STREQ
}

static void nondefault_cfg(struct cfg *c)
{
	struct cfg_errors e;
	expect_ok(parse(c, NONDEFAULT, &e), &e);
}

/* cfg_dump() into a malloc()ed string */
static char *dump_string(const struct cfg *c)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	assert_non_null(f);
	cfg_dump(c, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

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
	snprintf(tmpdir, sizeof(tmpdir), "%s/ksmpilot-test-config.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmpdir(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* tmpdir/name in one of four static buffers */
static const char *tpath(int slot, const char *name)
{
	static char buf[4][PATH_MAX + 64];
	if (snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", tmpdir, name) >= (int)sizeof(buf[slot]))
		fail_msg("path too long: %s/%s", tmpdir, name);
	return buf[slot];
}

/* tmpdir/name:line (line 0: tmpdir/name) as a message names it, per
 * ksmpilot.conf(5): the path whole up to CFG_ERROR_LEN / 3 bytes, else its
 * last bytes behind "..." in as many. Skips where TMPDIR is not printable
 * ASCII, which a message would mark. */
static const char *tat(int slot, const char *name, unsigned line)
{
	static char buf[4][CFG_ERROR_LEN];
	const char *p = tpath(slot, name);
	size_t n = strlen(p), max = CFG_ERROR_LEN / 3;

	for (const char *q = tmpdir; *q; q++)
		if (*q < 0x20 || *q > 0x7e) {
			print_message("TMPDIR is not printable ASCII: skipped\n");
			skip();
		}
	snprintf(buf[slot], sizeof(buf[slot]), "%s%s", n > max ? "..." : "", n > max ? p + n - (max - 3) : p);
	if (line)
		snprintf(buf[slot] + strlen(buf[slot]), sizeof(buf[slot]) - strlen(buf[slot]), ":%u", line);
	return buf[slot];
}

static void put(const char *name, const char *text)
{
	FILE *f = fopen(tpath(3, name), "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void mkd(const char *name)
{
	assert_int_equal(mkdir(tpath(3, name), 0755), 0);
}

/* a directory of n 'd's in tmpdir; its name in dir (n + 1 bytes) */
static void mkd_long(char *dir, size_t n)
{
	memset(dir, 'd', n);
	dir[n] = '\0';
	mkd(dir);
}

/* cfg_load must fail with one error (prefix, fragment) and leave *out
 * byte for byte as it was. */
static void expect_load_fails(const char *path, bool must_exist, const char *prefix, const char *fragment)
{
	struct cfg out, before;
	struct cfg_errors e;
	int r;

	memset(&out, 0x5a, sizeof(out));
	memcpy(&before, &out, sizeof(out));
	memset(&e, 0, sizeof(e));
	r = cfg_load(path, must_exist, &out, &e);
	expect_one_error(r, &e, prefix, fragment);
	assert_memory_equal(&out, &before, sizeof(out));
}

static void expect_load_ok(const char *path, bool must_exist, struct cfg *out)
{
	struct cfg_errors e;

	memset(out, 0x5a, sizeof(*out));
	memset(&e, 0, sizeof(e));
	expect_ok(cfg_load(path, must_exist, out, &e), &e);
}

/* ---- the key table and the defaults ------------------------------ */

static void test_key_table(void **state)
{
	static const char *const types[] = { "bool", "integer", "number", "duration", "size", "string", "choice",
					     "percent" };
	static const char *const sections[] = { "daemon", "memory", "controller", "scan", "kernel", "metrics" };
	struct cfg_key_info ki, kj;
	unsigned n = cfg_key_count();
	size_t sect = 0;
	(void)state;

	assert_true(n > 0 && n <= CFG_MAX_KEYS);
	assert_null(cfg_key(n, &ki));
	assert_null(cfg_key(UINT_MAX, &ki));
	for (unsigned i = 0; i < n; i++) {
		bool type_ok = false;

		assert_ptr_equal(cfg_key(i, &ki), &ki);
		assert_true(ki.name && ki.name[0] && ki.section && ki.def && ki.help && ki.help[0]);
		for (size_t t = 0; t < ARRAY_SIZE(types); t++)
			type_ok |= strcmp(ki.type, types[t]) == 0;
		if (!type_ok)
			fail_msg("%s: unknown type '%s'", ki.name, ki.type);
		/* sections come in a fixed order, each in one run (cfg_dump
		 * prints one header per run) */
		while (sect < ARRAY_SIZE(sections) && strcmp(ki.section, sections[sect]) != 0)
			sect++;
		if (sect == ARRAY_SIZE(sections))
			fail_msg("%s: section [%s] out of order or unknown", ki.name, ki.section);
		/* names are unique across sections: cross-key messages and the
		 * "it belongs in [...]" hint look keys up by name */
		for (unsigned j = 0; j < i; j++) {
			cfg_key(j, &kj);
			if (strcmp(ki.name, kj.name) == 0)
				fail_msg("key '%s' appears twice", ki.name);
		}
	}
}

static void test_defaults(void **state)
{
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	memset(&c, 0x5a, sizeof(c));
	cfg_defaults(&c);
	assert_int_equal(c.interval_ms, 1000);
	assert_false(c.dry_run);
	assert_int_equal(c.on_exit, ON_EXIT_RESTORE);
	assert_int_equal(c.kernel_advisor, ADVISOR_TAKEOVER);
	assert_string_equal(c.state_dir, KSMPILOT_RUNSTATEDIR);
	assert_int_equal(c.log_level, LOGL_INFO);
	assert_true(c.target_available.is_percent && c.target_available.percent == 20);
	assert_true(c.stop_margin.is_percent && c.stop_margin.percent == 5);
	assert_int_equal(c.stop_delay_ms, 300000);
	assert_true(c.psi_threshold == 0);
	assert_string_equal(c.guest_cmdline, "");
	assert_int_equal(c.guest_scan_interval_ms, 60000);
	assert_true(c.kp == 10 && c.ki == 0.5 && c.kd == 20);
	assert_int_equal(c.derivative_filter_ms, 10000);
	assert_true(c.max_cpu == 25 && c.max_cpu_burst == 50 && c.idle_max_cpu == 1);
	assert_int_equal(c.burst_duration_ms, 60000);
	assert_int_equal(c.idle_interval_ms, 2000);
	assert_int_equal(c.idle_scan_period_ms, 600000);
	assert_true(c.min_yield == 0.001 && c.full_yield == 0.02 && c.volatile_limit == 50);
	assert_true(c.churn_loss == 2);
	assert_true(c.wake_threshold.is_percent && c.wake_threshold.percent == 0.25);
	assert_int_equal(c.pages_to_scan_min, 100);
	assert_int_equal(c.pages_to_scan_max, 5000);
	assert_int_equal(c.sleep_ms_min, 10);
	assert_int_equal(c.sleep_ms_max, 1000);
	assert_int_equal(c.src.nfiles, 0);
	for (unsigned i = 0; i < CFG_MAX_KEYS; i++)
		assert_int_equal(c.src.key_line[i], 0);

	/* the defaults pass the cross-key checks */
	memset(&e, 0, sizeof(e));
	assert_int_equal(cfg_validate(&c, "t.conf", &e), 0);
	assert_int_equal(e.n, 0);
}

/* Each key's default, written as "name = default" in its section, parses
 * and sets exactly the default (here on top of a config where every key
 * differs from it). */
static void test_every_default_parses(void **state)
{
	struct cfg c, def;
	struct cfg_errors e;
	struct cfg_key_info k;
	char text[512];
	(void)state;

	cfg_defaults(&def);
	nondefault_cfg(&c);
	memset(&e, 0, sizeof(e));
	for (unsigned i = 0; i < cfg_key_count(); i++) {
		cfg_key(i, &k);
		snprintf(text, sizeof(text), "[%s]\n%s = %s\n", k.section, k.name, k.def);
		if (cfg_parse_string(&c, text, strlen(text), k.name, &e) != 0) {
			print_errors(&e);
			fail_msg("default of %s does not parse", k.name);
		}
	}
	expect_cfg_equal(&c, &def);
	assert_int_equal(cfg_validate(&c, "t.conf", &e), 0);
}

/* ---- good files --------------------------------------------------------- */

static void test_good_file(void **state)
{
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	expect_ok(parse(&c, NONDEFAULT, &e), &e);
	assert_int_equal(cfg_validate(&c, "t.conf", &e), 0);
	assert_int_equal(c.interval_ms, 1500);
	assert_true(c.dry_run);
	assert_int_equal(c.on_exit, ON_EXIT_STOP);
	assert_int_equal(c.kernel_advisor, ADVISOR_DEFER);
	assert_string_equal(c.state_dir, "/var/lib/ksm pilot");
	assert_int_equal(c.log_level, LOGL_DEBUG);
	assert_true(c.target_available.is_percent && c.target_available.percent == 33.3333333333333);
	assert_true(!c.stop_margin.is_percent && c.stop_margin.bytes == 1536u << 20);
	assert_int_equal(c.stop_delay_ms, 90000);
	assert_true(c.psi_threshold == 12.345678901);
	assert_string_equal(c.guest_cmdline, "^(/usr/bin/)?qemu-system-[a-z0-9_]+( |$)");
	assert_int_equal(c.guest_scan_interval_ms, 7200000);
	assert_true(c.kp == 0.1234567891234 && c.ki == 1e-7 && c.kd == 333.333333333333);
	assert_int_equal(c.derivative_filter_ms, 0);
	assert_true(c.max_cpu == 99.5 && c.max_cpu_burst == 99.75 && c.idle_max_cpu == 0.125);
	assert_int_equal(c.burst_duration_ms, 300000);
	assert_int_equal(c.idle_interval_ms, 3000);
	assert_int_equal(c.idle_scan_period_ms, 7 * 86400000u);
	assert_true(c.min_yield == 0.0001234567 && c.full_yield == 0.9 && c.volatile_limit == 12.5);
	assert_true(c.churn_loss == 0.25);
	assert_true(!c.wake_threshold.is_percent && c.wake_threshold.bytes == 1000);
	assert_int_equal(c.pages_to_scan_min, 1);
	assert_int_equal(c.pages_to_scan_max, 1000000);
	assert_int_equal(c.sleep_ms_min, 60000);
	assert_int_equal(c.sleep_ms_max, 60000);
	/* where each key was set */
	assert_int_equal(c.src.nfiles, 1);
	assert_string_equal(c.src.file[0], "t.conf");
	assert_int_equal(c.src.key_line[0], 2); /* interval: the first key of the table */
}

/* /etc/ppp...p/ééé...éEND in path: "/etc/" and 'p' to plain bytes, '/',
 * accents two-byte 'é', then end; its length */
static size_t accented_path(char *path, size_t plain, int accents, const char *end)
{
	size_t n = plain;

	memset(path, 'p', plain);
	memcpy(path, "/etc/", 5);
	path[n++] = '/';
	for (int i = 0; i < accents; i++) {
		path[n++] = (char)0xc3;
		path[n++] = (char)0xa9;
	}
	strcpy(path + n, end);
	return n + strlen(end);
}

/* --dump-config's origins name a path too long for a slot by its end,
 * never from the middle of a character. */
static void test_origin_long_path_whole_chars(void **state)
{
	char path[512];
	const char *text = "[controller]\nkp = 3\n";
	struct cfg c;
	struct cfg_errors e;
	size_t n;
	(void)state;

	/* /etc/ppp...p/ééé...é/x.conf, 413 bytes: the last CFG_PATH_MAX - 4
	 * = 252 begin with the second half of an 'é' */
	n = accented_path(path, 105, 150, "/x.conf");
	cfg_defaults(&c);
	memset(&e, 0, sizeof(e));
	expect_ok(cfg_parse_string(&c, text, strlen(text), path, &e), &e);
	assert_int_equal(c.src.nfiles, 1);
	assert_int_equal((unsigned char)c.src.file[0][3], 0xc3);
	assert_string_equal(c.src.file[0] + 3, path + n - (CFG_PATH_MAX - 5));
	assert_memory_equal(c.src.file[0], "...", 3);
}

static void test_empty_and_comment_only(void **state)
{
	static const char *const texts[] = {
		"", "\n", "\n\n\n", "   \n\t\n", "# only a comment", "; one\n# two\n   ; three\n\t# four\n",
		"[daemon]", "[daemon]\n[memory]\n[controller]\n[scan]\n", "\xEF\xBB\xBF", "\r\n\r\n",
	};
	struct cfg c, def;
	struct cfg_errors e;
	(void)state;

	cfg_defaults(&def);
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		expect_ok(parse(&c, texts[i], &e), &e);
		expect_cfg_equal(&c, &def);
	}
}

static void test_syntax_variants(void **state)
{
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	/* no spaces, extra spaces, no final newline */
	expect_ok(parse(&c, "[controller]\nkp=3\nki   =   0.25   \nkd =\t7", &e), &e);
	assert_true(c.kp == 3 && c.ki == 0.25 && c.kd == 7);
	/* a section may come back; its keys still count once */
	expect_ok(parse(&c, "[controller]\nkp = 1\n[scan]\nsleep_ms_min = 5\n[controller]\nki = 2\n", &e), &e);
	assert_true(c.kp == 1 && c.ki == 2 && c.sleep_ms_min == 5);
	/* only len bytes are read */
	expect_ok(parse_n(&c, "[controller]\nkp = 3\nki = x\n", 20, &e), &e);
	assert_true(c.kp == 3);
	/* a string may be emptied */
	expect_ok(parse(&c, "[memory]\nguest_cmdline = ^qemu\n", &e), &e);
	expect_ok(cfg_parse_string(&c, "[memory]\nguest_cmdline =\n", strlen("[memory]\nguest_cmdline =\n"), "u.conf", &e),
		  &e);
	assert_string_equal(c.guest_cmdline, "");
}

/* ---- bad values ------------------------------------------------------ */

struct bad {
	const char *section, *key, *value, *fragment;
};

static const struct bad bad_values[] = {
	/* bool */
	{ "daemon", "dry_run", "maybe", "is not a boolean" },
	{ "daemon", "dry_run", "2", "is not a boolean" },
	{ "daemon", "dry_run", "yes please", "is not a boolean" },
	{ "daemon", "dry_run", "1#x", "is not a boolean" },
	{ "daemon", "dry_run", "", "empty value" },
	/* integer */
	{ "scan", "pages_to_scan_max", "-1", "is not a non-negative integer" },
	{ "scan", "pages_to_scan_max", "abc", "is not a non-negative integer" },
	{ "scan", "pages_to_scan_max", "1.5", "is not a non-negative integer" },
	{ "scan", "pages_to_scan_max", "0x10", "is not a non-negative integer" },
	{ "scan", "pages_to_scan_max", "1e3", "is not a non-negative integer" },
	{ "scan", "pages_to_scan_max", "5 000", "is not a non-negative integer" },
	{ "scan", "pages_to_scan_max", "100;x", "is not a non-negative integer" },
	{ "scan", "pages_to_scan_max", "1000001", "is out of range [1, 1000000]" },
	{ "scan", "pages_to_scan_max", "0", "is out of range [1, 1000000]" },
	{ "scan", "pages_to_scan_max", "99999999999999999999", "is out of range" },
	{ "scan", "sleep_ms_min", "60001", "is out of range [1, 60000]" },
	{ "scan", "sleep_ms_min", "", "empty value" },
	/* number */
	{ "controller", "kp", "nan", "is not a number" },
	{ "controller", "kp", "inf", "is not a number" },
	{ "controller", "kp", "-inf", "is not a number" },
	{ "controller", "kp", "0x10", "is not a number" },
	{ "controller", "kp", "abc", "is not a number" },
	{ "controller", "kp", "1,5", "is not a number" },
	{ "controller", "kp", "1;5", "is not a number" },
	{ "controller", "kp", "1001", "is out of range [0, 1000]" },
	{ "controller", "kp", "-0.5", "is out of range [0, 1000]" },
	{ "controller", "kp", "1e999", "is out of range" },
	{ "controller", "max_cpu", "0.5", "is out of range [1, 100]" },
	{ "controller", "min_yield", "1.5", "is out of range [0, 1]" },
	{ "controller", "ki", "", "empty value" },
	/* duration */
	{ "daemon", "interval", "5 parsecs", "is not a duration" },
	{ "daemon", "interval", "5x", "is not a duration" },
	{ "daemon", "interval", "1y", "is not a duration" },
	{ "daemon", "interval", "5 min s", "is not a duration" },
	{ "daemon", "interval", "min", "is not a duration" },
	{ "daemon", "interval", "nan", "is not a duration" },
	{ "daemon", "interval", "0x10s", "is not a duration" },
	{ "daemon", "interval", "-1s", "is out of range [100ms, 10min]" },
	{ "daemon", "interval", "99ms", "is out of range [100ms, 10min]" },
	{ "daemon", "interval", "11min", "is out of range [100ms, 10min]" },
	{ "daemon", "interval", "1e999s", "is out of range" },
	{ "memory", "guest_scan_interval", "9s", "is out of range [10s, 1d]" },
	{ "memory", "stop_delay", "", "empty value" },
	/* size */
	{ "memory", "target_available", "101%", "is out of range" },
	{ "memory", "target_available", "-5%", "is out of range" },
	{ "memory", "target_available", "-5M", "is out of range" },
	{ "memory", "target_available", "65T", "is out of range (0..100% or 0..64T)" },
	{ "memory", "target_available", "5P", "is not a size" },
	{ "memory", "target_available", "abc", "is not a size" },
	{ "memory", "target_available", "5%%", "is not a size" },
	{ "memory", "target_available", "0x10M", "is not a size" },
	{ "memory", "target_available", "1Ki", "is not a size" },
	{ "controller", "wake_threshold", "", "empty value" },
	/* enum */
	{ "daemon", "on_exit", "RESTORE", "is not one of: restore, leave, stop" },
	{ "daemon", "on_exit", "restor", "is not one of: restore, leave, stop" },
	{ "daemon", "on_exit", "stop now", "is not one of" },
	{ "daemon", "kernel_advisor", "off", "is not one of: takeover, defer" },
	{ "daemon", "log_level", "verbose", "is not one of: err, warning, notice, info, debug" },
	{ "daemon", "log_level", "", "empty value" },
};

/* Each bad value: exactly one error naming t.conf:3 and the key; the line
 * after it is still read. */
static void check_bad(const char *section, const char *key, const char *value, const char *fragment)
{
	struct cfg c;
	struct cfg_errors e;
	char text[1024], prefix[128];
	int r;

	snprintf(text, sizeof(text), "; bad value\n[%s]\n%s = %s\n[scan]\nsleep_ms_max = 999\n", section, key,
		 value);
	snprintf(prefix, sizeof(prefix), "t.conf:3: %s: ", key);
	r = parse(&c, text, &e);
	if (r != -EINVAL || e.n != 1 || e.dropped || strncmp(e.msg[0], prefix, strlen(prefix)) != 0 ||
	    !strstr(e.msg[0], fragment)) {
		print_errors(&e);
		fail_msg("[%s] %s = '%s': want one error '%s...%s'", section, key, value, prefix, fragment);
	}
	assert_int_equal(c.sleep_ms_max, 999);
}

static void test_bad_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_values); i++) {
		const struct bad *b = &bad_values[i];
		check_bad(b->section, b->key, b->value, b->fragment);
	}
}

/* A string too long for its buffer, or for a line: one error naming the key. */
static void test_string_too_long(void **state)
{
	char value[400];
	(void)state;

	value[0] = '/';
	memset(value + 1, 'x', sizeof(value) - 2);
	value[sizeof(value) - 1] = '\0';
	check_bad("daemon", "state_dir", value, "longer than");
	value[CFG_PATH_MAX] = '\0';
	check_bad("daemon", "state_dir", value, "longer than");
	check_bad("memory", "guest_cmdline", value, "longer than 255");
}

/* ---- keys and sections ---------------------------------------------- */

static void test_unknown_key(void **state)
{
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	expect_one_error(parse(&c, "[daemon]\nfoo = 1\n", &e), &e, "t.conf:2: unknown key 'foo' in [daemon]", NULL);
	assert_null(strstr(e.msg[0], "belongs"));
	/* a key of another section: the hint names the right one */
	expect_one_error(parse(&c, "[daemon]\ninterval = 5s\nkp = 1\n", &e), &e,
			 "t.conf:3: unknown key 'kp' in [daemon] (it belongs in [controller])", NULL);
	assert_true(c.kp == 10);
	expect_one_error(parse(&c, "[scan]\n\n\ntarget_available = 5%\n", &e), &e,
			 "t.conf:4: unknown key 'target_available' in [scan] (it belongs in [memory])", NULL);
	/* names are case-sensitive */
	expect_one_error(parse(&c, "[controller]\nKP = 1\n", &e), &e, "t.conf:2: unknown key 'KP'", NULL);
	/* a line that is no key and no section */
	expect_one_error(parse(&c, "[controller]\njust some words\n", &e), &e, "t.conf:2: expected 'key = value'",
			 NULL);
}

static void test_unknown_section(void **state)
{
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	/* reported once, at the header; its keys are not reported again,
	 * and the next known section works */
	expect_one_error(parse(&c, "[daemon]\ninterval = 5s\n\n[bogus]\nfoo = 1\nkp = x\n[controller]\nkp = 3\n", &e),
			 &e, "t.conf:4: unknown section [bogus]", NULL);
	assert_int_equal(c.interval_ms, 5000);
	assert_true(c.kp == 3);
	expect_one_error(parse(&c, "[Daemon]\ninterval = 5s\n", &e), &e, "t.conf:1: unknown section [Daemon]", NULL);
	assert_int_equal(c.interval_ms, 1000);
	expect_one_error(parse(&c, "[]\ninterval = 5s\n", &e), &e, "t.conf:1: unknown section []", NULL);
}

static void test_bad_section_header(void **state)
{
	static const char *const headers[] = { "[controller", "[controller] extra", "[controller]x", "[controller]#c" };
	struct cfg c;
	struct cfg_errors e;
	char text[256];
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(headers); i++) {
		/* one error at the header: the keys under it are not blamed on
		 * [daemon], the section before it */
		snprintf(text, sizeof(text), "[daemon]\ninterval = 5s\n%s\nkp = 3\nfoo = 1\n", headers[i]);
		expect_one_error(parse(&c, text, &e), &e, "t.conf:3: section header must be '[name]'", NULL);
		assert_true(c.kp == 10);
	}
	/* a header refused before it is read as one: a control character, a
	 * NUL, a line too long; the keys under it are not blamed either */
	static const char *const refused[] = { "[controller\x01]", "  [controller\x7f]" };
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		snprintf(text, sizeof(text), "[daemon]\ninterval = 5s\n%s\nkp = 3\nfoo = 1\n", refused[i]);
		expect_one_error(parse(&c, text, &e), &e, "t.conf:3: control character", NULL);
		assert_true(c.kp == 10);
	}
	static const char nul[] = "[daemon]\ninterval = 5s\n[contr\0ller]\nkp = 3\nfoo = 1\n";
	expect_one_error(parse_n(&c, nul, sizeof(nul) - 1, &e), &e, "t.conf:3: binary data", NULL);
	assert_true(c.kp == 10);
	char *longer = malloc(CFG_MAX_LINE_LEN + 64);
	assert_non_null(longer);
	int n = snprintf(longer, 32, "[daemon]\ninterval = 5s\n[");
	memset(longer + n, 'x', CFG_MAX_LINE_LEN);
	snprintf(longer + n + CFG_MAX_LINE_LEN, 32, "]\nkp = 3\nfoo = 1\n");
	expect_one_error(parse(&c, longer, &e), &e, "t.conf:3: line is longer", NULL);
	assert_true(c.kp == 10);
	free(longer);
	/* a comment after whitespace is fine */
	expect_ok(parse(&c, "[controller] # gains\nkp = 3\n[scan]\t; bounds\nsleep_ms_min = 2\n", &e), &e);
	assert_true(c.kp == 3 && c.sleep_ms_min == 2);
}

static void test_key_outside_section(void **state)
{
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	expect_one_error(parse(&c, "\ninterval = 5s\n[daemon]\n", &e), &e,
			 "t.conf:2: key 'interval' outside of any section", NULL);
	assert_null(strstr(e.msg[0], "ksmtuned"));
	assert_int_equal(c.interval_ms, 1000);
	/* ksmtuned.conf lines get a hint */
	expect_one_error(parse(&c, "# ksmtuned\nKSM_MONITOR_INTERVAL=60\n", &e), &e,
			 "t.conf:2: key 'KSM_MONITOR_INTERVAL' outside of any section", "ksmtuned.conf");
	expect_one_error(parse(&c, "export FOO=1\n", &e), &e, "t.conf:1: key 'export FOO' outside of any section",
			 "ksmtuned.conf");
}

static void test_ksmtuned_conf(void **state)
{
	/* the top of a stock /etc/ksmtuned.conf */
	static const char text[] =
		"# Configuration file for ksmtuned.\n"
		"\n"
		"# How long ksmtuned should sleep between tuning adjustments\n"
		"# KSM_MONITOR_INTERVAL=60\n"
		"\n"
		"# Millisecond sleep between ksm scans for 16Gb server.\n"
		"# Smaller servers sleep more, bigger sleep less.\n"
		"KSM_SLEEP_MSEC=10\n"
		"\n"
		"KSM_NPAGES_BOOST=300 # boost\n"
		"export KSM_THRES_COEF=\"20\"\n";
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	assert_int_equal(parse(&c, text, &e), -EINVAL);
	assert_int_equal(e.n, 3);
	expect_error_at(&e, 0, "t.conf:8: key 'KSM_SLEEP_MSEC'", "ksmtuned.conf");
	expect_error_at(&e, 1, "t.conf:10: key 'KSM_NPAGES_BOOST'", "ksmtuned.conf");
	expect_error_at(&e, 2, "t.conf:11: key 'export KSM_THRES_COEF'", "ksmtuned.conf");
}

static void test_duplicate_key(void **state)
{
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	expect_one_error(parse(&c, "[controller]\nkp = 1\nki = 2\nkp = 5\n", &e), &e,
			 "t.conf:4: kp is already set on line 2", NULL);
	assert_true(c.kp == 1 && c.ki == 2);
	/* also when the section is opened again */
	expect_one_error(parse(&c, "[controller]\nkp = 1\n[daemon]\n[controller]\nkp = 1\n", &e), &e,
			 "t.conf:5: kp is already set on line 2", NULL);
	/* a bad first value is still "set" */
	assert_int_equal(parse(&c, "[controller]\nkp = x\nkp = 2\n", &e), -EINVAL);
	assert_int_equal(e.n, 2);
	expect_error_at(&e, 0, "t.conf:2: kp: ", "not a number");
	expect_error_at(&e, 1, "t.conf:3: kp is already set on line 2", NULL);
	/* but separate files (drop-ins) may override each other */
	expect_ok(parse(&c, "[controller]\nkp = 1\n", &e), &e);
	expect_ok(cfg_parse_string(&c, "[controller]\nkp = 2\n", 20, "u.conf", &e), &e);
	assert_true(c.kp == 2);
}

/* ---- comments, indentation, line syntax ---------------------------- */

static void test_inline_comments(void **state)
{
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	expect_ok(parse(&c,
			"# full line\n"
			"; full line\n"
			"   # indented comment\n"
			"[controller]\n"
			"kp = 3 # three\n"
			"ki = 0.25\t; a quarter\n"
			"kd = 7 ;x#y = z\n"
			"max_cpu = 50\t#\n"
			"[memory]\n"
			"guest_cmdline = ^qemu # the guests\n"
			"[daemon]\n"
			"state_dir = /run/x#y;z\n",
			&e),
		  &e);
	assert_true(c.kp == 3 && c.ki == 0.25 && c.kd == 7 && c.max_cpu == 50);
	assert_string_equal(c.guest_cmdline, "^qemu");
	/* no whitespace before '#' or ';': part of the value */
	assert_string_equal(c.state_dir, "/run/x#y;z");
	/* ... which makes a number bad */
	expect_one_error(parse(&c, "[controller]\nkp = 1#x\n", &e), &e, "t.conf:2: kp: '1#x' is not a number", NULL);
	expect_one_error(parse(&c, "[controller]\nkp = 1;x\n", &e), &e, "t.conf:2: kp: '1;x' is not a number", NULL);
	/* a comment in place of the value leaves it empty */
	expect_one_error(parse(&c, "[controller]\nkp = # none\n", &e), &e, "t.conf:2: kp: empty value", NULL);
}

static void test_indented_lines(void **state)
{
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	/* inih would take an indented line as a continuation of kp */
	expect_ok(parse(&c, "[controller]\nkp = 1\n    ki = 3\n\tkd = 4\n\n  \t max_cpu = 5\n  [scan]\n  sleep_ms_min = 2\n",
			&e),
		  &e);
	assert_true(c.kp == 1 && c.ki == 3 && c.kd == 4 && c.max_cpu == 5 && c.sleep_ms_min == 2);
	/* under [controller], an indented kp sets kp */
	expect_ok(parse(&c, "[controller]\n  kp = 3\n", &e), &e);
	assert_true(c.kp == 3);
	/* an indented continuation-looking value is an error of its own */
	expect_one_error(parse(&c, "[controller]\nkp = 1\n   2\n", &e), &e, "t.conf:3: expected 'key = value'", NULL);
	assert_true(c.kp == 1);
}

static void test_long_lines(void **state)
{
	static char text[8192], line[CFG_MAX_LINE_LEN + 8];
	char *p = text;
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	/* a line of exactly CFG_MAX_LINE_LEN characters is fine, also with
	 * CRLF; one more is an error */
	memset(line, ' ', sizeof(line));
	memcpy(line, "guest_cmdline = a", 17);
	line[CFG_MAX_LINE_LEN - 2] = ';'; /* a comment fills the line */
	line[CFG_MAX_LINE_LEN] = '\0';
	snprintf(text, sizeof(text), "[memory]\n%s\r\n", line);
	expect_ok(parse(&c, text, &e), &e);
	assert_string_equal(c.guest_cmdline, "a");
	line[0] = ';';
	snprintf(text, sizeof(text), "%s\n", line);
	expect_ok(parse(&c, text, &e), &e);
	line[0] = 'g';
	line[CFG_MAX_LINE_LEN] = 'a';
	line[CFG_MAX_LINE_LEN + 1] = '\0';
	snprintf(text, sizeof(text), "[memory]\n%s\n", line);
	expect_one_error(parse(&c, text, &e), &e, "t.conf:2: guest_cmdline: ", "line is longer than 1024");

	/* long lines do not shift the line numbers that follow */
	p += sprintf(p, "[controller]\n");
	memset(line, 'x', 300);
	line[300] = '\0';
	p += sprintf(p, ";%s\n", line);                 /* 2: long comment */
	p += sprintf(p, "kp = 3\n");                     /* 3 */
	p += sprintf(p, "%s = 1\n", line);               /* 4: long key */
	p += sprintf(p, "ki = x\n");                     /* 5: bad value */
	p += sprintf(p, "kd = 4 ; %s\n", line);          /* 6: long comment after a value */
	p += sprintf(p, "max_cpu = 7\n");                /* 7 */
	p += sprintf(p, "volatile_limit = y\n");         /* 8: bad value */
	p += sprintf(p, "[%s]\n", line);                 /* 9: long section */
	sprintf(p, "min_yield = 0.5 ; %s\n", line);      /* 10: ignored, in the unknown section */
	assert_int_equal(parse(&c, text, &e), -EINVAL);
	assert_int_equal(e.n, 4);
	expect_error_at(&e, 0, "t.conf:4: unknown key 'xxxx", NULL);
	expect_error_at(&e, 1, "t.conf:5: ki: ", NULL);
	expect_error_at(&e, 2, "t.conf:8: volatile_limit: ", NULL);
	expect_error_at(&e, 3, "t.conf:9: unknown section [xxxx", NULL);
	assert_true(c.kp == 3 && c.kd == 4 && c.max_cpu == 7 && c.min_yield == 0.001);
}

/* Regression: inih's line buffer held 196 characters, which capped
 * guest_cmdline (documented up to 255) at 180. A value of 255 characters
 * now passes, one more is "longer than 255", and inih never sees more than
 * its buffer holds. */
static void test_long_string_value(void **state)
{
	static char text[4096];
	char value[CFG_STR_MAX + 2];
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	memset(value, 'q', sizeof(value));
	value[CFG_STR_MAX - 1] = '\0';
	snprintf(text, sizeof(text), "[memory]\nguest_cmdline =   %s   ; why\n[controller]\nkp = 2\n", value);
	expect_ok(parse(&c, text, &e), &e);
	assert_int_equal(strlen(c.guest_cmdline), CFG_STR_MAX - 1);
	assert_true(c.kp == 2);
	value[CFG_STR_MAX - 1] = 'q';
	value[CFG_STR_MAX] = '\0';
	snprintf(text, sizeof(text), "[memory]\nguest_cmdline = %s\nguest_scan_interval = x\n", value);
	assert_int_equal(parse(&c, text, &e), -EINVAL);
	assert_int_equal(e.n, 2);
	expect_error_at(&e, 0, "t.conf:2: guest_cmdline: value is longer than 255 characters", NULL);
	expect_error_at(&e, 1, "t.conf:3: guest_scan_interval: ", NULL);
	/* a long path in state_dir too, and it dumps and reads back */
	value[0] = '/';
	value[CFG_PATH_MAX - 1] = '\0';
	snprintf(text, sizeof(text), "[daemon]\nstate_dir=%s\n", value);
	expect_ok(parse(&c, text, &e), &e);
	assert_string_equal(c.state_dir, value);
}

static void test_nul_and_control_chars(void **state)
{
	static const char text[] =
		"[controller]\n"
		"kp = 1\0 2\n"                /* 2: NUL */
		"ki = \x01\n"                 /* 3 */
		"kd = 4\x1b[0m\n"             /* 4: escape sequence */
		"max_cpu = 5\x7f\n"           /* 5: DEL */
		"volatile_limit = 7\n"        /* 6: fine */
		"\f\n"                        /* 7: form feed */
		"derivative_filter = 1\r2s\n" /* 8: CR inside a line */
		"min_yield =\t0.0005\t\n";    /* 9: tabs are fine */
	static const struct {
		unsigned line;
		const char *fragment;
	} want[] = {
		{ 2, "NUL" }, { 3, "0x01" }, { 4, "0x1b" }, { 5, "0x7f" }, { 7, "0x0c" }, { 8, "0x0d" },
	};
	struct cfg c;
	struct cfg_errors e;
	char prefix[32];
	(void)state;

	assert_int_equal(parse_n(&c, text, sizeof(text) - 1, &e), -EINVAL);
	assert_int_equal(e.n, ARRAY_SIZE(want));
	for (unsigned i = 0; i < ARRAY_SIZE(want); i++) {
		snprintf(prefix, sizeof(prefix), "t.conf:%u: ", want[i].line);
		expect_error_at(&e, i, prefix, want[i].fragment);
	}
	/* the rejected lines set nothing; the others still count */
	assert_true(c.kp == 10 && c.ki == 0.5 && c.kd == 20 && c.max_cpu == 25);
	assert_true(c.volatile_limit == 7 && c.min_yield == 0.0005);
	assert_int_equal(c.derivative_filter_ms, 10000);
}

static void test_crlf_and_bom(void **state)
{
	char crlf[sizeof(NONDEFAULT) * 2 + 8], *q = crlf;
	struct cfg c, want;
	struct cfg_errors e;
	(void)state;

	nondefault_cfg(&want);
	/* the whole file with CRLF endings, the last line without one */
	for (const char *p = NONDEFAULT; *p; p++) {
		if (*p == '\n')
			*q++ = '\r';
		*q++ = *p;
	}
	q[-2] = '\0';
	expect_ok(parse(&c, crlf, &e), &e);
	expect_cfg_equal(&c, &want);
	expect_ok(parse(&c, "[controller]\r\nkp = 3 ; three\r\n# c\r\n\r\n", &e), &e);
	assert_true(c.kp == 3);

	/* UTF-8 byte order mark, before a section and before a comment */
	expect_ok(parse(&c, "\xEF\xBB\xBF[daemon]\r\ninterval = 5s\r\n", &e), &e);
	assert_int_equal(c.interval_ms, 5000);
	expect_ok(parse(&c, "\xEF\xBB\xBF# c\n[daemon]\ninterval = 5s\n", &e), &e);
	/* only at the start of the file; elsewhere, shown */
	expect_one_error(parse(&c, "[daemon]\n\xEF\xBB\xBFinterval = 5s\n", &e), &e,
			 "t.conf:2: unknown key '<U+FEFF>interval' in [daemon]; did you mean 'interval'?", NULL);
	/* UTF-8 elsewhere is text */
	expect_ok(parse(&c, "# Grüße\n[memory]\nguest_cmdline = qémü\n", &e), &e);
	assert_string_equal(c.guest_cmdline, "qémü");
	/* characters that show as nothing or as a space are named in the
	 * errors, and the key they were meant to be is found without them */
	expect_one_error(parse(&c, "[daemon]\ninterval\xC2\xA0= 5s\n", &e), &e,
			 "t.conf:2: unknown key 'interval<U+00A0>' in [daemon]; did you mean 'interval'?", NULL);
	expect_one_error(parse(&c, "[memory]\ninterval\xE2\x80\x8B = 5s\n", &e), &e,
			 "t.conf:2: unknown key 'interval<U+200B>' in [memory] (it belongs in [daemon])", NULL);
	expect_one_error(parse(&c, "[daemon\xE2\x80\x8B]\ninterval = 5s\n", &e), &e,
			 "t.conf:1: unknown section [daemon<U+200B>]; did you mean [daemon]?", NULL);
	expect_one_error(parse(&c, "[daemon]\ninterval = 5\xC2\xA0s\n", &e), &e, "t.conf:2: interval: '5<U+00A0>s' ",
			 NULL);
	/* and a byte that is not UTF-8, as \xNN */
	expect_one_error(parse(&c, "[daemon]\ninterval = 5\xFFs\n", &e), &e, "t.conf:2: interval: '5\\xFFs' ", NULL);
	{
		/* so many that the message is too long: its middle is left out,
		 * never its end, which says why */
		char text[256];
		int len = snprintf(text, sizeof(text), "[daemon]\ninterval = ");
		memset(text + len, 0xFF, 150);
		snprintf(text + len + 150, sizeof(text) - (size_t)len - 150, "\n");
		expect_one_error(parse(&c, text, &e), &e, "t.conf:2: interval: '\\xFF", "\\xFF...\\xFF");
		{
			const char *why = "\\xFF' is not a duration (e.g. 500ms, 10s, 5min, 1h)";
			size_t n = strlen(e.msg[0]);
			assert_true(n > strlen(why) && strcmp(e.msg[0] + n - strlen(why), why) == 0);
		}
	}
	{
		/* a value longer than a message: its reason is kept whole until
		 * cfg_error(), which leaves out the middle */
		char text[1024];
		const char *why = "xxx' is not a duration (e.g. 500ms, 10s, 5min, 1h)";
		size_t n;
		int len = snprintf(text, sizeof(text), "[daemon]\ninterval = ");
		memset(text + len, 'x', 700);
		snprintf(text + len + 700, sizeof(text) - (size_t)len - 700, "\n");
		expect_one_error(parse(&c, text, &e), &e, "t.conf:2: interval: 'xxx", "xxx...xxx");
		n = strlen(e.msg[0]);
		assert_true(n > strlen(why) && strcmp(e.msg[0] + n - strlen(why), why) == 0);
	}
	{
		/* a long key on a line too long for inih, named by its first 40
		 * bytes: cut between two characters, not inside one */
		char text[1024];
		int len = snprintf(text, sizeof(text), "[daemon]\n%s\xC3\xA9%s = ",
				   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
		assert_true(len > 0);
		memset(text + len, 'v', 600);
		snprintf(text + len + 600, sizeof(text) - (size_t)len - 600, "\n");
		expect_one_error(parse(&c, text, &e), &e, "t.conf:2: unknown key 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'",
				 NULL);
	}
}

/* ---- cross-key checks ---------------------------------------------------- */

/* parse must succeed, cfg_validate must give one error (prefix, fragment) */
static void check_cross(const char *text, const char *prefix, const char *fragment)
{
	struct cfg c;
	struct cfg_errors e;

	expect_ok(parse(&c, text, &e), &e);
	expect_one_error(cfg_validate(&c, "t.conf", &e), &e, prefix, fragment);
}

static void test_cross_key(void **state)
{
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	/* the key that was set, when only one was */
	check_cross("[scan]\npages_to_scan_min = 6000\n", "t.conf:2: pages_to_scan_min (6000) is above pages_to_scan_max (5000)",
		    NULL);
	check_cross("[scan]\n\nsleep_ms_max = 5\n", "t.conf:3: sleep_ms_min (10) is above sleep_ms_max (5)", NULL);
	/* the later one, when both were */
	check_cross("[scan]\npages_to_scan_min = 300\n\npages_to_scan_max = 200\n", "t.conf:4: pages_to_scan_min", NULL);
	check_cross("[scan]\npages_to_scan_max = 200\npages_to_scan_min = 300\n", "t.conf:3: pages_to_scan_min", NULL);
	check_cross("[scan]\nsleep_ms_min = 50\nsleep_ms_max = 40\n", "t.conf:3: sleep_ms_min (50)", NULL);
	check_cross("[scan]\nsleep_ms_max = 40\n\n\nsleep_ms_min = 50\n", "t.conf:5: sleep_ms_min (50)", NULL);
	/* min_yield must be strictly below full_yield */
	check_cross("[controller]\nfull_yield = 0.001\n", "t.conf:2: min_yield (0.001) must be below full_yield (0.001)",
		    NULL);
	check_cross("[controller]\nmin_yield = 0.5\nfull_yield = 0.1\n", "t.conf:3: min_yield (0.5)", NULL);
	check_cross("[controller]\nfull_yield = 0.1\nmin_yield = 0.5\n", "t.conf:3: min_yield (0.5)", NULL);
	/* state_dir */
	check_cross("[daemon]\n\nstate_dir = run/ksmpilot\n", "t.conf:3: state_dir must be an absolute path", "run/ksmpilot");
	check_cross("[daemon]\nstate_dir =\n", "t.conf:2: state_dir must be an absolute path", NULL);
	check_cross("[daemon]\nstate_dir = /run/../tmp/x\n", "t.conf:2: state_dir must not go up with '..'", "/run/../tmp/x");
	check_cross("[daemon]\nstate_dir = /run/ksmpilot/..\n", "t.conf:2: state_dir must not go up with '..'", NULL);
	check_cross("[daemon]\nstate_dir = /..\n", "t.conf:2: state_dir must not go up with '..'", NULL);
	/* a name with two dots in it is a name */
	expect_ok(parse(&c, "[daemon]\nstate_dir = /run/ksm..pilot/..x/x..\n", &e), &e);
	assert_int_equal(cfg_validate(&c, "t.conf", &e), 0);
	/* guest_cmdline */
	check_cross("[memory]\nguest_cmdline = (qemu\n", "t.conf:2: guest_cmdline: bad regular expression '(qemu'", NULL);
	check_cross("[memory]\n\nguest_cmdline = [[:nope:]]\n", "t.conf:3: guest_cmdline: bad regular expression", NULL);
	expect_ok(parse(&c, "[memory]\nguest_cmdline = ^(/usr/bin/)?qemu-(system|kvm)\n", &e), &e);
	assert_int_equal(cfg_validate(&c, "t.conf", &e), 0);

	/* all at once: one error each */
	expect_ok(parse(&c,
			"[daemon]\nstate_dir = x\n[memory]\nguest_cmdline = a{2,1}\n[controller]\nmin_yield = 1\n"
			"[scan]\npages_to_scan_min = 9000\nsleep_ms_min = 2000\n",
			&e),
		  &e);
	assert_int_equal(cfg_validate(&c, "t.conf", &e), -EINVAL);
	assert_int_equal(e.n, 5);

	/* a struct made in code has no locations: the fallback name is used */
	cfg_defaults(&c);
	c.sleep_ms_min = 5000;
	memset(&e, 0, sizeof(e));
	expect_one_error(cfg_validate(&c, "fallback", &e), &e, "fallback: sleep_ms_min (5000)", NULL);
}

/* Regression: glibc's regcomp() unrolls repetitions ("x{m,n}" into n
 * copies of x, "x+" into "xx*"), nested and chained ones multiply, and the
 * cost grows faster than the copies. "guest_cmdline = a{1,32767}" passed
 * --check-config after 20 s and 8 GiB; "((a{0,255}){0,255}){0,255}" was
 * killed at 22 GiB; the fuzzer ran out of memory on "a+++...+". And a loop
 * over something that matches the empty string is slow even when small:
 * the fuzzer timed out on "a++++++++****b****...+++++++", and "((\b)*){20}"
 * takes minutes. The unrolled size is now limited to 1000 elements, and
 * '*', '+' and {m,} must not repeat what can be empty. Inside an
 * interval glibc takes an escaped character for the character: the fuzzer
 * ran out of memory on "a{\,32767}", which is "a{0,32767}" (a seed of
 * tests/fuzz-corpus/config; here the cheaper "a{1\,3000}"). A review found
 * that copies of what can be empty, and anchors in alternations, cost as
 * much after the "^" the daemon puts before the pattern: "(()?){499}" 5.5 s
 * and 3 GiB, 16 "(\b|\B)" and 71 "x?" 9.7 s; so any repetition of what can
 * be empty is refused, ^ and $ count as anchors, \b and \B twice, and at
 * most 16 are allowed. Some refused patterns below would take seconds and
 * gigabytes without the checks; each list starts with cheap ones, so that
 * a broken check fails there first. */
static void test_regex_limits(void **state)
{
	static const char *const too_large[] = {
		"a{1,3000}", "(a{1,100}){0,100}", "((a{1,20}){1,20}){0,20}", "a{1001}", "a{1000,}", "a{,1001}",
		"(qemu|kvm){0,200}", "x{1,40}{1,40}", "x++++++++++++++++", "a{0000000000000000000000001001}",
		"[[:digit:]{]{1,1001}", "a{1,99999999999999999999999}",
		"(a{0,1000}", /* unclosed: counted anyway */
		/* an escaped comma or 0 is a comma or a digit to glibc */
		"a{1\\,3000}", "a{3\\0\\0\\0}", "(a{1\\,100}){0,100}",
	};
	static const char *const empty_loop[] = {
		"a**", "a***", "(((b)*)*)*", "(b*){2}+", "a++++++++****b*******************+++++++c", "()*", "(()*){499}",
		"(|a)+", "(a|)*", "((a|^)*){20}", "((\\b)*){15}", "(^)*", "($)+", "^*", "(a?b?)*", "(\\<|x){2,}",
		"((ab)+|c?)*", "(.*)*", "(a*){\\,}", "(a?){1\\,}",
		/* more than one copy of what can be empty */
		"(a?){2}", "(()?){499}", "(x*|y*){333}", "((^)?){333}", "(^){2}", "x{0,3}{30}", "(b*c*d*e*f*g*h*i*j*k*){90}",
		"((\\b)x?){32}", "(a{0,100}){0,100}", "((a{0,255}){0,255}){0,255}",
	};
	/* anchors unrolled: "((\b)x?){90}" took 3.6 s to compile (the fuzzer), 16
	 * "(\b|\B)" and 71 "x?" 9.7 s, 51 "(^|$)" 0.5 s and 640 MiB */
	static const char *const anchors[] = { "(\\<a\\>){9}", "((\\Bx){3}){3}", "(\\bx){9}", "(^a|b$){9}",
					       "(\\b|\\B)(\\b|\\B)(\\b|\\B)(\\b|\\B)(\\b|\\B)x?x?x?x?x?x?x?x?",
					       "(^|$)(^|$)(^|$)(^|$)(^|$)(^|$)(^|$)(^|$)(^|$)", "^a\\`b\\'(\\<x\\>){7}" };
	/* a ')' that closes nothing: a character to glibc, but it would close
	 * the group regcomp_search() wraps the pattern in */
	static const char *const lone_paren[] = { ")", "a)b{1,99}", "(a))", "x|)", "[(])", "\\())" };
	/* back-references: regexec() backtracks, 2 s on (a+)+\1c against 240 a's */
	static const char *const backref[] = { "(x)\\1*", "(a+)+\\1c", "(qemu) \\1", "(a)(b)(c)(d)\\9",
						  "a{1\\0\\0\\1}" /* \1 is no digit in an interval */ };
	static const char *const fine[] = {
		"^(/usr/bin/)?qemu-system-[a-z0-9_]{1,16}( |$)", "^qemu-system.*-enable-kvm", "a{1000}", "a{,1000}",
		"a{999,}", "(a{1,30}){0,30}", "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}", "x{2}{2}", "a+++",
		"a+b+c+d+e+f+g+h+i+j+k+l+m+n+o+p+q+r+s+t+", "(b*c*d*e*f*g*h*i*j*k*)", "((a+)?c)*", "(-[a-z]+ *)*",
		"(\\bqemu|kvm\\b)+", "((\\b)x){8}", "(^|/)qemu", "(a|b)*", "((^)?)", "(a?b){300}", "(\\<a\\>){8}",
		"(^|$)(^|$)(^|$)(^|$)(^|$)(^|$)(^|$)(^|$)", "[{]1000}", "a\\{1000}", "[]{1000}]",
		"[^]{1000}]", "[[:digit:]{]{1,9}", "[[.{.]]{1,2}", "a\\)b{1,99}", "[)]", "(a)(b)", "[*+?]{2}", "\\*\\*\\*", "a{0}b{1}",
		"a{\\,1000}", "a{1\\0\\0\\0}", "(a{1\\,30}){0\\,30}",
	};
	char text[256];
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(too_large); i++) {
		snprintf(text, sizeof(text), "[memory]\nguest_cmdline = %s\n", too_large[i]);
		check_cross(text, "t.conf:2: guest_cmdline: ", "is too large once its repetitions");
	}
	for (size_t i = 0; i < ARRAY_SIZE(empty_loop); i++) {
		snprintf(text, sizeof(text), "[memory]\nguest_cmdline = %s\n", empty_loop[i]);
		check_cross(text, "t.conf:2: guest_cmdline: ", "something that can match the empty string");
	}
	for (size_t i = 0; i < ARRAY_SIZE(anchors); i++) {
		snprintf(text, sizeof(text), "[memory]\nguest_cmdline = %s\n", anchors[i]);
		check_cross(text, "t.conf:2: guest_cmdline: ", "anchors (^, $");
	}
	for (size_t i = 0; i < ARRAY_SIZE(backref); i++) {
		snprintf(text, sizeof(text), "[memory]\nguest_cmdline = %s\n", backref[i]);
		check_cross(text, "t.conf:2: guest_cmdline: ", "uses a back-reference");
	}
	for (size_t i = 0; i < ARRAY_SIZE(lone_paren); i++) {
		snprintf(text, sizeof(text), "[memory]\nguest_cmdline = %s\n", lone_paren[i]);
		check_cross(text, "t.conf:2: guest_cmdline: ", "has a ')' that closes no group");
	}
	for (size_t i = 0; i < ARRAY_SIZE(fine); i++) {
		snprintf(text, sizeof(text), "[memory]\nguest_cmdline = %s\n", fine[i]);
		expect_ok(parse(&c, text, &e), &e);
		if (cfg_validate(&c, "t.conf", &e) != 0) {
			print_errors(&e);
			fail_msg("'%s' rejected", fine[i]);
		}
	}
	/* a broken expression still gets regcomp()'s message */
	check_cross("[memory]\nguest_cmdline = [a-z{1,5000}\n", "t.conf:2: guest_cmdline: bad regular expression", NULL);
	/* "\}" closes no interval: glibc fails, and nothing is counted (a check
	 * that took it for the end would call the pattern too large) */
	check_cross("[memory]\nguest_cmdline = a{2000\\}\n", "t.conf:2: guest_cmdline: bad regular expression", NULL);
	/* in a drop-in, the drop-in's line is named */
	expect_ok(parse(&c, "[memory]\nguest_cmdline = qemu\n", &e), &e);
	snprintf(text, sizeof(text), "\n[memory]\nguest_cmdline = a{1,32767}\n");
	assert_int_equal(cfg_parse_string(&c, text, strlen(text), "d.conf", &e), 0);
	expect_one_error(cfg_validate(&c, "t.conf", &e), &e, "d.conf:3: guest_cmdline: 'a{1,32767}' is too large", NULL);
}

/* ---- error list -------------------------------------------------------- */

static void test_error_overflow(void **state)
{
	char text[4096], *p = text;
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	p += sprintf(p, "[daemon]\n");
	for (int i = 0; i < CFG_MAX_ERRORS + 8; i++)
		p += sprintf(p, "nosuch%d = 1\n", i);
	sprintf(p, "interval = 7s\n");
	assert_int_equal(parse(&c, text, &e), -EINVAL);
	assert_int_equal(e.n, CFG_MAX_ERRORS);
	assert_int_equal(e.dropped, 8);
	expect_error_at(&e, 0, "t.conf:2: unknown key 'nosuch0'", NULL);
	expect_error_at(&e, CFG_MAX_ERRORS - 1, "t.conf:33: unknown key 'nosuch31'", NULL);
	assert_int_equal(c.interval_ms, 7000); /* parsing went on */

	/* a clean text on top of a full list is still a success */
	assert_int_equal(cfg_parse_string(&c, "[controller]\nkp = 2\n", 20, "u.conf", &e), 0);
	assert_int_equal(e.dropped, 8);
	/* and a bad one a failure, though its error can only be counted */
	assert_int_equal(cfg_parse_string(&c, "[controller]\nkp = x\n", 20, "u.conf", &e), -EINVAL);
	assert_int_equal(e.n, CFG_MAX_ERRORS);
	assert_int_equal(e.dropped, 9);
	assert_int_equal(cfg_validate(&c, "u.conf", &e), 0);

	/* cfg_error itself, and a message longer than a slot */
	memset(&e, 0, sizeof(e));
	memset(text, 'z', CFG_ERROR_LEN * 2);
	text[CFG_ERROR_LEN * 2] = '\0';
	cfg_error(&e, "%s", text);
	assert_int_equal(e.n, 1);
	assert_int_equal(strlen(e.msg[0]), CFG_ERROR_LEN - 1);
}

/* A file whose path is longer than a message, with a line quoted whole:
 * the message keeps FILE:LINE: and the reason, the path cut to its end
 * (the file's own name) behind "...", never inside a character. */
static void test_error_long_path_keeps_line(void **state)
{
	char path[2000], line[700], text[800], want[sizeof(path) + 64];
	struct cfg c;
	struct cfg_errors e;
	size_t n;
	(void)state;

	/* /etc/ppp...p/ééé...é1.conf: 80 two-byte characters before
	 * "1.conf", so that the last CFG_ERROR_LEN / 3 - 3 = 125 bytes begin
	 * inside one of them */
	n = accented_path(path, 1000, 80, "1.conf");
	memset(line, 'q', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	snprintf(text, sizeof(text), "[scan]\n\n%s\n", line);
	cfg_defaults(&c);
	memset(&e, 0, sizeof(e));
	assert_int_equal(cfg_parse_string(&c, text, strlen(text), path, &e), -EINVAL);
	assert_int_equal(e.n, 1);
	/* 124 bytes: the 125th would be the second half of an 'é' */
	snprintf(want, sizeof(want), "...%s:3: expected 'key = value' or '[section]', got 'qqq", path + n - 124);
	expect_error_at(&e, 0, want, NULL);
	assert_int_equal(strlen(e.msg[0]), CFG_ERROR_LEN - 1);

	/* 128 bytes fit, given whole; 129 do not */
	for (size_t len = 128; len <= 129; len++) {
		memset(path, 'p', len);
		path[0] = '/';
		memcpy(path + len - 7, "/x.conf", 8);
		memset(&e, 0, sizeof(e));
		assert_int_equal(cfg_parse_string(&c, text, strlen(text), path, &e), -EINVAL);
		snprintf(want, sizeof(want), "%s%s:3: expected 'key = value'", len == 128 ? "" : "...",
			 len == 128 ? path : path + len - 125);
		expect_error_at(&e, 0, want, NULL);
	}

	/* 99 bytes with no-break spaces, which a message marks as
	 * <U+00A0> (8 bytes for 2): too long once marked, so cut as well */
	strcpy(path, "/etc/");
	for (n = 5; n < 5 + 2 * 40; n += 2) {
		path[n] = (char)0xc2;
		path[n + 1] = (char)0xa0;
	}
	strcpy(path + n, "/ksmpilot.conf");
	assert_true(strlen(path) <= 128);
	memset(&e, 0, sizeof(e));
	assert_int_equal(cfg_parse_string(&c, text, strlen(text), path, &e), -EINVAL);
	expect_error_at(&e, 0, "...<U+00A0>", ":3: expected 'key = value' or '[section]', got 'qqq");
	/* the path marked in at most 128 bytes: "...", 13 marks, the name */
	assert_int_equal(strstr(e.msg[0], ":3: ") - e.msg[0], 3 + 13 * 8 + 14);
}

/* ---- cfg_dump ------------------------------------------------------------- */

static void check_roundtrip(const struct cfg *orig, const struct cfg *start)
{
	struct cfg c;
	struct cfg_errors e;
	char *text = dump_string(orig);

	memcpy(&c, start, sizeof(c));
	memset(&e, 0, sizeof(e));
	if (cfg_parse_string(&c, text, strlen(text), "dump", &e) != 0) {
		print_errors(&e);
		fail_msg("cfg_dump output does not parse:\n%s", text);
	}
	expect_cfg_equal(&c, orig);
	free(text);
}

static void test_dump_roundtrip(void **state)
{
	struct cfg def, nd;
	char *a, *b, *line, *save = NULL;
	unsigned keys = 0;
	(void)state;

	cfg_defaults(&def);
	nondefault_cfg(&nd);
	/* parse on top of the other config, so every key must be in the dump */
	check_roundtrip(&def, &nd);
	check_roundtrip(&nd, &def);

	/* every key once, and no "key = value" line the two share: the
	 * round trips above covered every key */
	a = dump_string(&def);
	b = dump_string(&nd);
	for (line = strtok_r(a, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strstr(line, " = "))
			continue;
		keys++;
		for (const char *p = strstr(b, line); p; p = strstr(p + 1, line))
			if ((p == b || p[-1] == '\n') && (p[strlen(line)] == '\n' || p[strlen(line)] == '\0'))
				fail_msg("'%s' is in both dumps", line);
	}
	assert_int_equal(keys, cfg_key_count());
	free(a);
	free(b);

	/* the exact text of the defaults' dump starts like this */
	a = dump_string(&def);
	assert_true(strncmp(a, "[daemon]\ninterval = 1s\nidle_interval = 2s\ndry_run = no\non_exit = restore\n", 73) == 0);
	assert_non_null(strstr(a, "\n\n[memory]\ntarget_available = 20%\n"));
	assert_non_null(strstr(a, "\n\n[scan]\npages_to_scan_min = 100\n"));
	free(a);
}

/* Regression (the round-trip check of tests/fuzz_config.c): a string value
 * may start with '#' or ';' when no space comes before it ("key =#x"). The
 * dump wrote "key = #x", which reads back as a comment: the value was lost. */
static void test_dump_value_starting_with_comment_char(void **state)
{
	struct cfg c, again;
	struct cfg_errors e;
	char *text;
	(void)state;

	expect_ok(parse(&c, "[memory]\nguest_cmdline =#x\n[daemon]\nstate_dir =/r;s #c\n", &e), &e);
	assert_string_equal(c.guest_cmdline, "#x");
	assert_string_equal(c.state_dir, "/r;s");
	text = dump_string(&c);
	assert_non_null(strstr(text, "\nguest_cmdline =#x\n"));
	free(text);
	check_roundtrip(&c, &c);
	cfg_defaults(&again);
	check_roundtrip(&c, &again);

	expect_ok(parse(&c, "[memory]\nguest_cmdline =;x\n", &e), &e);
	assert_string_equal(c.guest_cmdline, ";x");
	cfg_defaults(&again);
	check_roundtrip(&c, &again);
}

/* Regression (found by tests/fuzz_config.c): "key=value" without spaces
 * leaves room for a longer value than "key = value" does. The dump wrote
 * every key as "key = value", a line over CFG_MAX_LINE_LEN that
 * --check-config rejected. */
static void test_dump_long_string_value(void **state)
{
	char value[CFG_STR_MAX], text[2 * CFG_STR_MAX + 64], want[CFG_STR_MAX + 32], *dump;
	struct cfg c, again;
	struct cfg_errors e;
	(void)state;

	/* the longest values, each way: past inih's line buffer */
	for (int hash = 0; hash < 2; hash++) {
		memset(value, 'q', sizeof(value));
		if (hash)
			value[0] = '#';
		value[CFG_STR_MAX - 1] = '\0';
		snprintf(text, sizeof(text), "[memory]\nguest_cmdline=%s\n[daemon]\nstate_dir:/%0*d\n", value,
			 CFG_PATH_MAX - 2, 7);
		expect_ok(parse(&c, text, &e), &e);
		assert_int_equal(strlen(c.guest_cmdline), CFG_STR_MAX - 1);
		assert_int_equal(strlen(c.state_dir), CFG_PATH_MAX - 1);
		dump = dump_string(&c);
		snprintf(want, sizeof(want), "\nguest_cmdline %s%s\n", hash ? "=" : "= ", value);
		assert_non_null(strstr(dump, want));
		free(dump);
		cfg_defaults(&again);
		check_roundtrip(&c, &again);
	}
}

static void test_enum_names(void **state)
{
	(void)state;
	assert_string_equal(on_exit_name(ON_EXIT_RESTORE), "restore");
	assert_string_equal(on_exit_name(ON_EXIT_LEAVE), "leave");
	assert_string_equal(on_exit_name(ON_EXIT_STOP), "stop");
	assert_string_equal(on_exit_name(-1), "?");
	assert_string_equal(on_exit_name(3), "?");
	assert_string_equal(advisor_policy_name(ADVISOR_TAKEOVER), "takeover");
	assert_string_equal(advisor_policy_name(ADVISOR_DEFER), "defer");
	assert_string_equal(advisor_policy_name(2), "?");
	assert_string_equal(advisor_policy_name(INT_MIN), "?");
}

/* ---- cfg_load ------------------------------------------------------------- */

static void test_load_missing(void **state)
{
	struct cfg c, def;
	char prefix[PATH_MAX + 256];
	(void)state;

	cfg_defaults(&def);
	/* optional: defaults */
	expect_load_ok(tpath(0, "none.conf"), false, &c);
	expect_cfg_equal(&c, &def);
	/* required: one error naming the file */
	snprintf(prefix, sizeof(prefix), "%s: ", tat(0, "none.conf", 0));
	expect_load_fails(tpath(0, "none.conf"), true, prefix, "No such file");
	/* optional main file, drop-ins still read */
	mkd("none.conf.d");
	put("none.conf.d/a.conf", "[controller]\nkp = 4\n");
	expect_load_ok(tpath(0, "none.conf"), false, &c);
	assert_true(c.kp == 4);
	/* but a required main file stays required */
	snprintf(prefix, sizeof(prefix), "%s: ", tat(0, "none.conf", 0));
	expect_load_fails(tpath(0, "none.conf"), true, prefix, "No such file");
}

static void test_load_dropins(void **state)
{
	struct cfg c;
	(void)state;

	put("k.conf", "[controller]\nkp = 1\nki = 0.1\n");
	mkd("k.conf.d");
	/* created out of order: name order counts, not directory order */
	put("k.conf.d/20-b.conf", "[controller]\nkp = 3\n");
	put("k.conf.d/10-a.conf", "[controller]\nkp = 2\nkd = 5\n");
	/* ignored: not *.conf, or hidden */
	put("k.conf.d/README", "garbage\n");
	put("k.conf.d/30-c.conf.bak", "garbage\n");
	put("k.conf.d/30-c.conf~", "garbage\n");
	put("k.conf.d/40.CONF", "garbage\n");
	put("k.conf.d/conf", "garbage\n");
	put("k.conf.d/.conf", "garbage\n");
	put("k.conf.d/.hidden.conf", "garbage\n");
	mkd("k.conf.d/subdir");
	expect_load_ok(tpath(0, "k.conf"), true, &c);
	assert_true(c.kp == 3);   /* 20-b over 10-a over the main file */
	assert_true(c.ki == 0.1); /* main file only */
	assert_true(c.kd == 5);   /* 10-a only */
	assert_int_equal(c.src.nfiles, 3); /* the main file and two drop-ins */
}

/* Drop-ins are applied in byte order of their names, whatever the locale:
 * '-' (0x2d) < '_' (0x5f) < 'a', so 10a.conf is applied last. en_US
 * collation ignores punctuation and would put 10_a before 10-b; where that
 * locale is installed, the test runs under it. */
static void test_load_dropin_order_is_bytewise(void **state)
{
	struct cfg c;
	(void)state;

	put("o.conf", "");
	mkd("o.conf.d");
	put("o.conf.d/10a.conf", "[controller]\nkp = 3\n");
	put("o.conf.d/10_a.conf", "[controller]\nkp = 2\nki = 2\n");
	put("o.conf.d/10-b.conf", "[controller]\nkp = 1\nki = 1\n");
	if (!setlocale(LC_COLLATE, "en_US.UTF-8"))
		print_message("    (en_US.UTF-8 is not installed: checking under the C locale)\n");
	expect_load_ok(tpath(0, "o.conf"), true, &c);
	setlocale(LC_COLLATE, "C");
	assert_true(c.kp == 3);
	assert_true(c.ki == 2); /* 10_a after 10-b */
}

static void test_load_errors_name_the_file(void **state)
{
	struct cfg c, before;
	struct cfg_errors e;
	char prefix[PATH_MAX + 256];
	(void)state;

	put("m.conf", "[controller]\nkp = 1\n");
	mkd("m.conf.d");
	put("m.conf.d/10-ok.conf", "[controller]\nki = 1\n");
	put("m.conf.d/50-bad.conf", "[controller]\n\nkp = x\n");
	snprintf(prefix, sizeof(prefix), "%s: kp: ", tat(0, "m.conf.d/50-bad.conf", 3));
	expect_load_fails(tpath(0, "m.conf"), true, prefix, "not a number");

	/* errors in several files: each names its own, and the cross-key
	 * checks run too, so that one pass reports everything */
	put("m.conf", "[controller]\nkp = y\n[scan]\npages_to_scan_min = 9000\n");
	memset(&c, 0x5a, sizeof(c));
	memcpy(&before, &c, sizeof(c));
	memset(&e, 0, sizeof(e));
	assert_int_equal(cfg_load(tpath(0, "m.conf"), true, &c, &e), -EINVAL);
	assert_int_equal(e.n, 3);
	snprintf(prefix, sizeof(prefix), "%s: kp: ", tat(0, "m.conf", 2));
	expect_error_at(&e, 0, prefix, NULL);
	snprintf(prefix, sizeof(prefix), "%s: kp: ", tat(0, "m.conf.d/50-bad.conf", 3));
	expect_error_at(&e, 1, prefix, NULL);
	snprintf(prefix, sizeof(prefix), "%s: pages_to_scan_min (9000)", tat(0, "m.conf", 4));
	expect_error_at(&e, 2, prefix, NULL);
	assert_memory_equal(&c, &before, sizeof(c));

	/* a main file with more errors than the list holds */
	{
		char text[4096], *p = text;
		p += sprintf(p, "[daemon]\n");
		for (int i = 0; i < CFG_MAX_ERRORS + 3; i++)
			p += sprintf(p, "bad%d = 1\n", i);
		put("m.conf", text);
		memset(&e, 0, sizeof(e));
		assert_int_equal(cfg_load(tpath(0, "m.conf"), true, &c, &e), -EINVAL);
		assert_int_equal(e.n, CFG_MAX_ERRORS);
		assert_int_equal(e.dropped, 3 + 1); /* and 50-bad.conf's */
		assert_memory_equal(&c, &before, sizeof(c));
	}
}

/* --restore: the values that parsed are kept, defaults elsewhere, while
 * the error is still reported; cfg_load() itself leaves *out alone. */
static void test_load_salvage(void **state)
{
	struct cfg c, def;
	struct cfg_errors e;
	char prefix[PATH_MAX + 256];
	(void)state;

	put("s.conf", "[daemon]\nstate_dir = /tmp/salvaged\n[bogus]\n[controller]\nkp = 3\nki = x\n");
	cfg_defaults(&def);
	cfg_defaults(&c);
	memset(&e, 0, sizeof(e));
	assert_int_equal(cfg_load(tpath(0, "s.conf"), true, &c, &e), -EINVAL);
	assert_string_equal(c.state_dir, def.state_dir);
	memset(&e, 0, sizeof(e));
	assert_int_equal(cfg_load_salvage(tpath(0, "s.conf"), true, &c, &e), -EINVAL);
	assert_int_equal(e.n, 2);
	snprintf(prefix, sizeof(prefix), "%s: ", tat(0, "s.conf", 3));
	expect_error_at(&e, 0, prefix, "bogus");
	assert_string_equal(c.state_dir, "/tmp/salvaged");
	assert_true(c.kp == 3.0);
	assert_true(c.ki == def.ki);
	assert_int_equal(c.interval_ms, def.interval_ms);

	/* a state_dir that cfg_validate() refuses is not salvaged: root would
	 * look for the snapshot relative to its working directory */
	put("s.conf", "[daemon]\nstate_dir = run/ksmpilot\n");
	memset(&e, 0, sizeof(e));
	assert_int_equal(cfg_load_salvage(tpath(0, "s.conf"), true, &c, &e), -EINVAL);
	assert_string_equal(c.state_dir, def.state_dir);
	put("s.conf", "[daemon]\nstate_dir = /run/ksmpilot/../x\n");
	memset(&e, 0, sizeof(e));
	assert_int_equal(cfg_load_salvage(tpath(0, "s.conf"), true, &c, &e), -EINVAL);
	assert_string_equal(c.state_dir, def.state_dir);
}

static void test_load_cross_key_across_files(void **state)
{
	char prefix[PATH_MAX + 256];
	(void)state;

	/* main sets max on line 2, a drop-in min on line 4: the drop-in */
	put("x.conf", "[scan]\npages_to_scan_max = 200\n");
	mkd("x.conf.d");
	put("x.conf.d/10.conf", "# c\n[scan]\n\npages_to_scan_min = 300\n");
	snprintf(prefix, sizeof(prefix), "%s: pages_to_scan_min (300) is above pages_to_scan_max (200)",
		 tat(0, "x.conf.d/10.conf", 4));
	expect_load_fails(tpath(0, "x.conf"), true, prefix, NULL);

	/* main sets min on line 7, a drop-in max on line 3: still the
	 * drop-in, the later file, whatever the line numbers */
	put("x.conf", "\n\n\n\n\n[scan]\npages_to_scan_min = 60\n");
	put("x.conf.d/10.conf", "[scan]\n\npages_to_scan_max = 50\n");
	snprintf(prefix, sizeof(prefix), "%s: ", tat(0, "x.conf.d/10.conf", 3));
	expect_load_fails(tpath(0, "x.conf"), true, prefix, "pages_to_scan_min (60)");

	/* a drop-in whose path is longer than a name's slot: its end, the
	 * file's own name, behind "...", never a shorter path that names
	 * another file; in a message, the end that fits a third of it */
	char dir[241], rel[300];
	mkd_long(dir, sizeof(dir) - 1);
	snprintf(rel, sizeof(rel), "%s/x.conf", dir);
	put(rel, "[scan]\npages_to_scan_max = 200\n");
	snprintf(rel, sizeof(rel), "%s/x.conf.d", dir);
	mkd(rel);
	snprintf(rel, sizeof(rel), "%s/x.conf.d/10.conf", dir);
	put(rel, "[scan]\npages_to_scan_min = 300\n");
	const char *full = tpath(1, rel);
	assert_true(strlen(full) >= CFG_PATH_MAX);
	snprintf(prefix, sizeof(prefix), "...%s:2: pages_to_scan_min (300) is above pages_to_scan_max (200)",
		 full + strlen(full) - (CFG_ERROR_LEN / 3 - 3));
	snprintf(rel, sizeof(rel), "%s/x.conf", dir);
	expect_load_fails(tpath(0, rel), true, prefix, NULL);

	/* the main file's line when the drop-in does not touch the pair */
	put("x.conf", "[memory]\n\nguest_cmdline = (\n");
	put("x.conf.d/10.conf", "[controller]\nkp = 1\n");
	snprintf(prefix, sizeof(prefix), "%s: guest_cmdline: ", tat(0, "x.conf", 3));
	expect_load_fails(tpath(0, "x.conf"), true, prefix, "bad regular expression");
}

/* More files than any fixed table of names: every key is set in its own
 * drop-in, and the cross-key error still names the right file and line. */
static void test_load_many_files(void **state)
{
	struct cfg_key_info k;
	char name[64], text[512], prefix[PATH_MAX + 256];
	unsigned n = cfg_key_count(), max_file = 0;
	(void)state;

	put("many.conf", "[controller]\nkp = 1\n");
	mkd("many.conf.d");
	for (unsigned i = 0; i < n; i++) {
		cfg_key(i, &k);
		snprintf(name, sizeof(name), "many.conf.d/%02u.conf", i);
		/* i comment lines first, so each file has its own line number */
		text[0] = '\0';
		for (unsigned j = 0; j < i; j++)
			strcat(text, "#\n");
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "[%s]\n%s = %s\n", k.section, k.name,
			 strcmp(k.name, "pages_to_scan_max") == 0 ? "50" : k.def);
		if (strcmp(k.name, "pages_to_scan_max") == 0)
			max_file = i;
		put(name, text);
	}
	/* pages_to_scan_max = 50 is below the default min of 100 */
	snprintf(name, sizeof(name), "many.conf.d/%02u.conf", max_file);
	snprintf(prefix, sizeof(prefix), "%s: pages_to_scan_min (100) is above pages_to_scan_max (50)",
		 tat(0, name, max_file + 2));
	expect_load_fails(tpath(0, "many.conf"), true, prefix, NULL);

	/* and the same with more files than keys (the last ones empty) */
	for (unsigned i = n; i < n + 30; i++) {
		snprintf(name, sizeof(name), "many.conf.d/%02u.conf", i);
		put(name, "# nothing\n");
	}
	expect_load_fails(tpath(0, "many.conf"), true, prefix, NULL);
}

static void test_load_not_a_file(void **state)
{
	char prefix[PATH_MAX + 256];
	(void)state;

	/* a directory, whether or not the file must exist */
	mkd("dir.conf");
	snprintf(prefix, sizeof(prefix), "%s: ", tat(0, "dir.conf", 0));
	expect_load_fails(tpath(0, "dir.conf"), true, prefix, "Is a directory");
	expect_load_fails(tpath(0, "dir.conf"), false, prefix, "Is a directory");

	/* a symlink loop */
	assert_int_equal(symlink(tpath(0, "loop2.conf"), tpath(1, "loop1.conf")), 0);
	assert_int_equal(symlink(tpath(0, "loop1.conf"), tpath(1, "loop2.conf")), 0);
	snprintf(prefix, sizeof(prefix), "%s: ", tat(0, "loop1.conf", 0));
	expect_load_fails(tpath(0, "loop1.conf"), true, prefix, "symbolic links");
	expect_load_fails(tpath(0, "loop1.conf"), false, prefix, "symbolic links");

	/* a FIFO: an error, not a hang (the alarm turns a hang into a failure) */
	assert_int_equal(mkfifo(tpath(0, "fifo.conf"), 0600), 0);
	snprintf(prefix, sizeof(prefix), "%s: ", tat(0, "fifo.conf", 0));
	alarm(60);
	expect_load_fails(tpath(0, "fifo.conf"), true, prefix, "not a regular file");
	alarm(0);

	/* too big */
	{
		FILE *f = fopen(tpath(0, "big.conf"), "w");
		assert_non_null(f);
		for (size_t i = 0; i < CFG_MAX_FILE_SIZE / 8 + 1; i++)
			fputs("#######\n", f);
		fclose(f);
		snprintf(prefix, sizeof(prefix), "%s: ", tat(0, "big.conf", 0));
		expect_load_fails(tpath(0, "big.conf"), true, prefix, "larger than");
	}

	/* a drop-in that is a directory */
	put("d.conf", "[controller]\nkp = 1\n");
	mkd("d.conf.d");
	put("d.conf.d/10.conf", "[controller]\nkp = 2\n");
	mkd("d.conf.d/20.conf");
	snprintf(prefix, sizeof(prefix), "%s: ", tat(0, "d.conf.d/20.conf", 0));
	expect_load_fails(tpath(0, "d.conf"), true, prefix, "Is a directory");

	/* FILE.d that is not a directory */
	put("e.conf", "[controller]\nkp = 1\n");
	put("e.conf.d", "not a directory\n");
	snprintf(prefix, sizeof(prefix), "%s: ", tat(0, "e.conf.d", 0));
	expect_load_fails(tpath(0, "e.conf"), true, prefix, "drop-in");
}

/* The messages about a whole file, in a directory whose name alone is
 * past a third of a message: the end of the path, behind "...", as the
 * parser's. */
static void test_load_long_path_whole_file(void **state)
{
	char dir[201], rel[300], prefix[PATH_MAX + 256];
	const char *full;
	(void)state;

	mkd_long(dir, sizeof(dir) - 1);
	snprintf(rel, sizeof(rel), "%s/dir.conf", dir);
	mkd(rel);
	full = tpath(1, rel);
	snprintf(prefix, sizeof(prefix), "...%s: cannot read: ", full + strlen(full) - (CFG_ERROR_LEN / 3 - 3));
	expect_load_fails(tpath(0, rel), true, prefix, "Is a directory");

	snprintf(rel, sizeof(rel), "%s/fifo.conf", dir);
	assert_int_equal(mkfifo(tpath(0, rel), 0600), 0);
	full = tpath(1, rel);
	snprintf(prefix, sizeof(prefix), "...%s: not a regular file", full + strlen(full) - (CFG_ERROR_LEN / 3 - 3));
	alarm(60);
	expect_load_fails(tpath(0, rel), true, prefix, NULL);
	alarm(0);

	snprintf(rel, sizeof(rel), "%s/e.conf", dir);
	put(rel, "[controller]\nkp = 1\n");
	snprintf(rel, sizeof(rel), "%s/e.conf.d", dir);
	put(rel, "not a directory\n");
	full = tpath(1, rel);
	snprintf(prefix, sizeof(prefix), "...%s: cannot list drop-in directory: ",
		 full + strlen(full) - (CFG_ERROR_LEN / 3 - 3));
	snprintf(rel, sizeof(rel), "%s/e.conf", dir);
	expect_load_fails(tpath(0, rel), true, prefix, NULL);
}

static void test_load_success_replaces_out(void **state)
{
	struct cfg c, want;
	(void)state;

	put("nd.conf", NONDEFAULT);
	nondefault_cfg(&want);
	expect_load_ok(tpath(0, "nd.conf"), true, &c);
	expect_cfg_equal(&c, &want);
	assert_int_equal(c.src.nfiles, 1);
	assert_string_equal(c.src.file[0], tpath(0, "nd.conf"));
}

/* ---- the shipped configuration file ---------------------------------- */

static char *read_shipped(void)
{
	char *text = NULL;
	size_t len;
	int r = read_file(SHIPPED_CONF, CFG_MAX_FILE_SIZE, &text, &len);

	if (r < 0)
		fail_msg("cannot read %s (tests run from the repository root): %s", SHIPPED_CONF, strerror(-r));
	return text;
}

/* conf/ksmpilot.conf lists every key as ";NAME = DEFAULT", in its section. */
/* ---- what an operator trips over -------------------------------------- */

/* Regression: "target_available = 0.2" read as 0 bytes, so KSM never ran. */
static void test_size_without_unit(void **state)
{
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	expect_one_error(parse(&c, "[memory]\ntarget_available = 0.2\n", &e), &e,
			 "t.conf:2: target_available: '0.2' is not a whole number of bytes", "(e.g. 20%)");
	assert_true(c.target_available.is_percent && c.target_available.percent == 20);
	expect_one_error(parse(&c, "[controller]\nwake_threshold = 1.5\n", &e), &e, "t.conf:2: wake_threshold: ",
			 "whole number of bytes");
	/* a whole number of bytes, with or without a unit, and shares */
	expect_ok(parse(&c, "[memory]\ntarget_available = 1e9\nstop_margin = 0.5K\n", &e), &e);
	assert_true(!c.target_available.is_percent && c.target_available.bytes == 1000000000);
	assert_true(c.stop_margin.bytes == 512);
	expect_ok(parse(&c, "[memory]\ntarget_available = 0.2%\n", &e), &e);
	assert_true(c.target_available.is_percent && c.target_available.percent == 0.2);
}

/* Regression: the docs gave ranges in days ("0..1d", "10s..7d") that the
 * parser refused. */
static void test_days_and_weeks(void **state)
{
	struct cfg c;
	struct cfg_errors e;
	FILE *f;
	char *dump = NULL;
	size_t len = 0;
	(void)state;

	expect_ok(parse(&c, "[memory]\nstop_delay = 1d\n[controller]\nidle_scan_period = 1w\n", &e), &e);
	assert_int_equal(c.stop_delay_ms, 86400000);
	assert_int_equal(c.idle_scan_period_ms, 7 * 86400000);
	f = open_memstream(&dump, &len);
	assert_non_null(f);
	cfg_dump(&c, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(dump, "\nidle_scan_period = 7d\n"));
	free(dump);
	expect_one_error(parse(&c, "[memory]\nstop_delay = 2d\n", &e), &e, "t.conf:2: stop_delay: 2d is out of range",
			 "[0s, 1d]");
}

/* Regression: "max_cpu = 25%" was refused for a key "in % of one core". */
static void test_percent_keys(void **state)
{
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	expect_ok(parse(&c, "[memory]\npsi_threshold = 2.5%\n[controller]\nmax_cpu = 25%\nvolatile_limit = 30 %\n", &e),
		  &e);
	assert_true(c.psi_threshold == 2.5 && c.max_cpu == 25 && c.volatile_limit == 30);
	expect_one_error(parse(&c, "[controller]\nmax_cpu = 150%\n", &e), &e, "t.conf:2: max_cpu: 150% is out of range",
			 NULL);
	expect_one_error(parse(&c, "[controller]\nmax_cpu = 25%%\n", &e), &e, "t.conf:2: max_cpu: ", "a percentage");
	expect_one_error(parse(&c, "[controller]\nmax_cpu = %\n", &e), &e, "t.conf:2: max_cpu: ", NULL);
	/* only keys in percent take it */
	expect_one_error(parse(&c, "[controller]\nkp = 5%\n", &e), &e, "t.conf:2: kp: '5%' is not a number", NULL);
}

/* Regression: a misspelt key or section got no suggestion. */
static void test_suggestions(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "[memory]\ntarget_availabe = 20%\n", "t.conf:2: unknown key 'target_availabe' in [memory]; did you mean 'target_available'?" },
		{ "[deamon]\n", "t.conf:1: unknown section [deamon]; did you mean [daemon]?" },
		{ "[controler]\n", "t.conf:1: unknown section [controler]; did you mean [controller]?" },
		{ "[Memory]\n", "t.conf:1: unknown section [Memory]; did you mean [memory]?" },
		{ "[scan]\npages_to_scan_mx = 9\n", "t.conf:2: unknown key 'pages_to_scan_mx' in [scan]; did you mean 'pages_to_scan_max'?" },
		{ "[controller]\nKP = 1\n", "t.conf:2: unknown key 'KP' in [controller]; did you mean 'kp'?" },
		/* the nearest key is in another section */
		{ "[daemon]\nmax_cpus = 5\n", "t.conf:2: unknown key 'max_cpus' in [daemon]; did you mean 'max_cpu' in [controller]?" },
		{ "[memory]\nintervall = 5s\n", "t.conf:2: unknown key 'intervall' in [memory]; did you mean 'interval' in [daemon]?" },
	};
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		parse(&c, cases[i].text, &e);
		if (e.n != 1 || strcmp(e.msg[0], cases[i].want) != 0) {
			print_errors(&e);
			fail_msg("want '%s'", cases[i].want);
		}
	}
	/* nothing near: no guess */
	parse(&c, "[memory]\nbanana = 1\n[frobnicate]\n", &e);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.msg[0], "t.conf:2: unknown key 'banana' in [memory]");
	assert_null(strstr(e.msg[1], "did you mean"));
	assert_non_null(strstr(e.msg[1], "(sections: daemon, memory"));
}

/* A key whose value failed keeps an earlier value: a cross-key check on
 * it would report a conflict that the file does not have. */
static void test_cross_key_skips_bad_values(void **state)
{
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	parse(&c, "[scan]\npages_to_scan_min = 6000\npages_to_scan_max = lots\n", &e);
	assert_int_equal(e.n, 1);
	assert_int_equal(cfg_validate(&c, "t.conf", &e), 0);
	assert_int_equal(e.n, 1);
	/* the other checks still run */
	parse(&c, "[scan]\npages_to_scan_max = lots\nsleep_ms_min = 50\nsleep_ms_max = 40\n", &e);
	assert_int_equal(cfg_validate(&c, "t.conf", &e), -EINVAL);
	assert_int_equal(e.n, 2);
	expect_error_at(&e, 1, "t.conf:4: sleep_ms_min (50)", NULL);
}

/* Regression: cross-key errors were not reported while other errors
 * existed: fixing one file took two rounds. */
static void test_load_reports_every_error(void **state)
{
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	put("a.conf", "[scan]\npages_to_scan_min = 6000\npages_to_scan_max = 1000\n[controller]\nkp = x\n");
	memset(&e, 0, sizeof(e));
	assert_int_equal(cfg_load(tpath(0, "a.conf"), true, &c, &e), -EINVAL);
	if (e.n != 2 || !strstr(e.msg[0], "a.conf:5: kp:") || !strstr(e.msg[1], "a.conf:3: pages_to_scan_min (6000)")) {
		print_errors(&e);
		fail_msg("want the bad value and the cross-key error");
	}
}

/* --check-config names the files it read, and says when the main file is
 * missing. */
static void test_load_files(void **state)
{
	struct cfg c;
	struct cfg_errors e;
	struct cfg_files *fl = calloc(1, sizeof(*fl));
	char want[PATH_MAX + 64];
	(void)state;

	assert_non_null(fl);
	memset(&e, 0, sizeof(e));
	expect_ok(cfg_load_files(tpath(0, "none.conf"), false, &c, &e, fl), &e);
	assert_true(fl->main_missing);
	assert_int_equal(fl->n, 0);
	put("k.conf", "[daemon]\n");
	mkd("k.conf.d");
	put("k.conf.d/20-b.conf", "[controller]\nkp = 2\n");
	put("k.conf.d/10-a.conf", "[controller]\nkp = 1\n");
	put("k.conf.d/skipped.txt", "junk\n");
	expect_ok(cfg_load_files(tpath(0, "k.conf"), true, &c, &e, fl), &e);
	assert_false(fl->main_missing);
	assert_int_equal(fl->n, 3);
	assert_string_equal(fl->name[0], tpath(0, "k.conf"));
	snprintf(want, sizeof(want), "%s/k.conf.d/10-a.conf", tmpdir);
	assert_string_equal(fl->name[1], want);
	snprintf(want, sizeof(want), "%s/k.conf.d/20-b.conf", tmpdir);
	assert_string_equal(fl->name[2], want);

	/* a name too long for its slot: its end, behind "..." */
	{
		char dir[241], rel[300];

		mkd_long(dir, sizeof(dir) - 1);
		snprintf(rel, sizeof(rel), "%s/k.conf", dir);
		put(rel, "[daemon]\n");
		expect_ok(cfg_load_files(tpath(0, rel), true, &c, &e, fl), &e);
		assert_int_equal(fl->n, 1);
		snprintf(want, sizeof(want), "...%s", tpath(0, rel) + strlen(tpath(0, rel)) - (CFG_PATH_MAX - 4));
		assert_string_equal(fl->name[0], want);
	}
	free(fl);
}

/* Regression: a drop-in named with a newline or an escape sequence put
 * them raw into the error report, where they forge lines or colour the
 * terminal. */
static void test_dropin_names_sanitised(void **state)
{
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	put("k.conf", "[daemon]\n");
	mkd("k.conf.d");
	put("k.conf.d/a\nb.conf", "[controller]\nkp = x\n");
	put("k.conf.d/c\033[31md.conf", "[controller]\nki = y\n");
	memset(&e, 0, sizeof(e));
	assert_int_equal(cfg_load(tpath(0, "k.conf"), true, &c, &e), -EINVAL);
	assert_int_equal(e.n, 2);
	for (unsigned i = 0; i < e.n; i++)
		for (const char *p = e.msg[i]; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				fail_msg("control character 0x%02x in '%s'", *p, e.msg[i]);
	assert_non_null(strstr(e.msg[0], "k.conf.d/a?b.conf:2: kp:"));
	assert_non_null(strstr(e.msg[1], "k.conf.d/c?[31md.conf:2: ki:"));
}

/* --dump-config says which file set each key. */
static void test_dump_origins(void **state)
{
	struct cfg c;
	struct cfg_errors e;
	char *out = NULL, want[PATH_MAX + 128];
	size_t len = 0;
	FILE *f;
	(void)state;

	put("k.conf", "[daemon]\n\ninterval = 2s\n");
	mkd("k.conf.d");
	put("k.conf.d/50-x.conf", "[controller]\nkp = 3\n");
	memset(&e, 0, sizeof(e));
	expect_ok(cfg_load(tpath(0, "k.conf"), true, &c, &e), &e);
	f = open_memstream(&out, &len);
	assert_non_null(f);
	cfg_dump_origins(&c, f);
	assert_int_equal(fclose(f), 0);
	snprintf(want, sizeof(want), "\n# %s:3\ninterval = 2s\nidle_interval = 2s\n", tpath(0, "k.conf"));
	if (!strstr(out, want))
		fail_msg("no origin of interval in:\n%s", out);
	snprintf(want, sizeof(want), "\n# %s/k.conf.d/50-x.conf:2\nkp = 3\nki = 0.5\n", tmpdir);
	if (!strstr(out, want))
		fail_msg("no origin of kp in:\n%s", out);
	/* the dump with its comments reads back */
	put("dump.conf", out);
	expect_load_ok(tpath(0, "dump.conf"), true, &c);
	assert_int_equal(c.interval_ms, 2000);
	free(out);
}

static void test_dump_keys(void **state)
{
	struct cfg c;
	char *out = NULL, why[128] = "";
	char *names[] = { "max_cpu", "daemon.interval", "memory.guest_cmdline" };
	char *bad[] = { "max_cpu", "controller.intervall" };
	size_t len = 0;
	FILE *f;
	(void)state;

	cfg_defaults(&c);
	f = open_memstream(&out, &len);
	assert_non_null(f);
	assert_int_equal(cfg_dump_keys(&c, names, 3, f, why, sizeof(why)), 0);
	assert_int_equal(cfg_dump_keys(&c, bad, 2, f, why, sizeof(why)), -ENOENT);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(out, "max_cpu = 25\ninterval = 1s\nguest_cmdline = \n");
	assert_string_equal(why, "no configuration key 'controller.intervall'; did you mean 'interval'?");
	free(out);
}

/* A textfile or state_dir outside the unit's writable paths passed
 * --check-config and failed with EROFS under the unit. */
static void test_check_writable(void **state)
{
	static const char unit[] = "/run/ksmpilot /sys/kernel/mm/ksm /var/lib/prometheus/node-exporter";
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	expect_ok(parse(&c, "[metrics]\ntextfile = /var/lib/prometheus/node-exporter/ksmpilot.prom\n", &e), &e);
	assert_int_equal(cfg_check_writable(&c, "t.conf", unit, &e), 0);
	assert_int_equal(e.n, 0);
	expect_ok(parse(&c, "[daemon]\nstate_dir = /run/ksmpilot/\n[metrics]\ntextfile = /var/lib/prometheus/node-exporter/sub/k.prom\n", &e), &e);
	assert_int_equal(cfg_check_writable(&c, "t.conf", unit, &e), 0);
	/* a prefix of a name is not its directory */
	expect_ok(parse(&c, "[daemon]\nstate_dir = /run/ksmpilot2\n\n[metrics]\ntextfile = /srv/metrics/k.prom\n", &e), &e);
	assert_int_equal(cfg_check_writable(&c, "t.conf", unit, &e), 1);
	assert_int_equal(e.n, 2);
	expect_error_at(&e, 0, "t.conf:2: warning: state_dir /run/ksmpilot2 is not writable under ksmpilot.service", NULL);
	expect_error_at(&e, 1, "t.conf:5: warning: textfile /srv/metrics/k.prom ", "add /srv/metrics with a drop-in");
	/* a file directly under / has / as its directory */
	expect_ok(parse(&c, "[metrics]\ntextfile = /k.prom\n", &e), &e);
	assert_int_equal(cfg_check_writable(&c, "t.conf", "/", &e), 0);
}

/* guest_cmdline = "qemu" is the pattern "qemu" with its quotes: it
 * matches no command line that does not hold them. */
static void test_check_quotes(void **state)
{
	struct cfg c;
	struct cfg_errors e;
	(void)state;

	expect_ok(parse(&c, "[memory]\nguest_cmdline = \"qemu-system\"\n", &e), &e);
	assert_int_equal(cfg_check_quotes(&c, "t.conf", &e), 1);
	assert_int_equal(e.n, 1);
	expect_error_at(&e, 0, "t.conf:2: warning: guest_cmdline \"qemu-system\" is matched with its quotes", NULL);
	expect_ok(parse(&c, "[memory]\nguest_cmdline = 'kvm'\n", &e), &e);
	assert_int_equal(cfg_check_quotes(&c, "t.conf", &e), 1);
	/* quotes that do not wrap the whole pattern, one quote, nothing */
	expect_ok(parse(&c, "[memory]\nguest_cmdline = -name \"x\"$\n", &e), &e);
	assert_int_equal(cfg_check_quotes(&c, "t.conf", &e), 0);
	expect_ok(parse(&c, "[memory]\nguest_cmdline = \"a'\n", &e), &e);
	assert_int_equal(cfg_check_quotes(&c, "t.conf", &e), 0);
	expect_ok(parse(&c, "[memory]\nguest_cmdline = \"\n", &e), &e);
	assert_int_equal(cfg_check_quotes(&c, "t.conf", &e), 0);
	expect_ok(parse(&c, "", &e), &e);
	assert_int_equal(cfg_check_quotes(&c, "t.conf", &e), 0);
	assert_int_equal(e.n, 0);
}

static void test_shipped_conf_documents_every_key(void **state)
{
	char *text = read_shipped();
	struct cfg_key_info k;
	char want[512], header[64];
	(void)state;

	for (unsigned i = 0; i < cfg_key_count(); i++) {
		const char *sect, *next, *p;
		size_t n;
		bool found = false;

		cfg_key(i, &k);
		snprintf(header, sizeof(header), "\n[%s]\n", k.section);
		sect = strstr(text, header);
		if (!sect) {
			fail_msg("%s: no section [%s]", SHIPPED_CONF, k.section);
			return; /* fail_msg is not noreturn in cmocka 1.1 */
		}
		next = strstr(sect + 1, "\n[");
		snprintf(want, sizeof(want), ";%s = %s", k.name, k.def);
		n = strlen(want);
		while (n > 0 && want[n - 1] == ' ') /* ";guest_cmdline =" */
			want[--n] = '\0';
		for (p = strstr(sect, want); p && (!next || p < next); p = strstr(p + 1, want)) {
			if (p[-1] == '\n' && (p[n] == '\n' || p[n] == '\0')) {
				found = true;
				break;
			}
		}
		if (!found)
			fail_msg("%s: no line '%s' in [%s]", SHIPPED_CONF, want, k.section);
	}

	/* and every ";name = " line there is a key */
	for (const char *line = text; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		char name[64];
		bool known = false;

		if (sscanf(line, ";%63[a-z_] =", name) != 1 || strncmp(line + 1 + strlen(name), " =", 2) != 0)
			continue;
		for (unsigned i = 0; i < cfg_key_count(); i++)
			known |= strcmp(cfg_key(i, &k)->name, name) == 0;
		if (!known)
			fail_msg("%s documents ';%s', which is not a key", SHIPPED_CONF, name);
	}
	free(text);
}

/* It loads, and loading it gives exactly the defaults. */
static void test_shipped_conf_loads(void **state)
{
	struct cfg c, def;
	char *text = read_shipped();
	(void)state;

	free(text);
	cfg_defaults(&def);
	expect_load_ok(SHIPPED_CONF, true, &c);
	expect_cfg_equal(&c, &def);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_table),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_default_parses),
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_empty_and_comment_only),
		cmocka_unit_test(test_syntax_variants),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_string_too_long),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_unknown_section),
		cmocka_unit_test(test_bad_section_header),
		cmocka_unit_test(test_key_outside_section),
		cmocka_unit_test(test_ksmtuned_conf),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_inline_comments),
		cmocka_unit_test(test_indented_lines),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_long_string_value),
		cmocka_unit_test(test_size_without_unit),
		cmocka_unit_test(test_days_and_weeks),
		cmocka_unit_test(test_percent_keys),
		cmocka_unit_test(test_suggestions),
		cmocka_unit_test(test_cross_key_skips_bad_values),
		cmocka_unit_test_setup_teardown(test_load_reports_every_error, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_load_files, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_dropin_names_sanitised, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_dump_origins, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test(test_dump_keys),
		cmocka_unit_test(test_check_writable),
		cmocka_unit_test(test_check_quotes),
		cmocka_unit_test(test_nul_and_control_chars),
		cmocka_unit_test(test_crlf_and_bom),
		cmocka_unit_test(test_cross_key),
		cmocka_unit_test(test_regex_limits),
		cmocka_unit_test(test_error_overflow),
		cmocka_unit_test(test_error_long_path_keeps_line),
		cmocka_unit_test(test_origin_long_path_whole_chars),
		cmocka_unit_test(test_dump_roundtrip),
		cmocka_unit_test(test_dump_value_starting_with_comment_char),
		cmocka_unit_test(test_dump_long_string_value),
		cmocka_unit_test(test_enum_names),
		cmocka_unit_test_setup_teardown(test_load_missing, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_load_dropins, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_load_dropin_order_is_bytewise, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_load_errors_name_the_file, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_load_salvage, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_load_cross_key_across_files, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_load_many_files, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_load_not_a_file, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_load_long_path_whole_file, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_load_success_replaces_out, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test(test_shipped_conf_documents_every_key),
		cmocka_unit_test(test_shipped_conf_loads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
