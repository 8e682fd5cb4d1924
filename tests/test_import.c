/* test_import.c - unit tests for import.c (ksmpilotctl import-ksmtuned):
 * the shell subset (quotes, comments, export, blanks), every ksmtuned
 * variable, unknown and malformed lines with FILE:LINE, duplicates, values
 * outside ksmpilot's ranges, the MemTotal scaling, the stock Debian file,
 * and hostile or random input.
 *
 * Every output is parsed back with cfg_parse_string() and cfg_validate():
 * the import must produce a configuration ksmpilotd accepts, whatever it
 * was fed. The random test prints its seed; KSMPILOT_TEST_SEED=N replays
 * it, and KSMPILOT_TEST_ITERATIONS=N runs N inputs instead of 3000. */
#define _GNU_SOURCE /* open_memstream */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "import.h"
#include "qemu.h"
#include "util.h"

#define GiB(x) ((uint64_t)(x) << 30)
#define KiB_PER_GiB (1024u * 1024u)

/* /etc/ksmtuned.conf as Debian 12's ksmtuned 4.20150326+b1 ships it. */
static const char STOCK[] =
	"# Configuration file for ksmtuned.\n"
	"\n"
	"# How long ksmtuned should sleep between tuning adjustments\n"
	"# KSM_MONITOR_INTERVAL=60\n"
	"\n"
	"# Millisecond sleep between ksm scans for 16Gb server.\n"
	"# Smaller servers sleep more, bigger sleep less.\n"
	"# KSM_SLEEP_MSEC=10\n"
	"\n"
	"# KSM_NPAGES_BOOST=300\n"
	"# KSM_NPAGES_DECAY=-50\n"
	"# KSM_NPAGES_MIN=64\n"
	"# KSM_NPAGES_MAX=1250\n"
	"\n"
	"# KSM_THRES_COEF=20\n"
	"# KSM_THRES_CONST=2048\n"
	"\n"
	"# uncomment the following if you want ksmtuned debug info\n"
	"\n"
	"# LOGFILE=/var/log/ksmtuned\n"
	"# DEBUG=1\n";

/* The stock file with every line uncommented, and a few values changed. */
static const char EVERY[] =
	"# Configuration file for ksmtuned.\n"
	"KSM_MONITOR_INTERVAL=30\n"
	"KSM_SLEEP_MSEC=20\n"
	"KSM_NPAGES_BOOST=500\n"
	"KSM_NPAGES_DECAY=-100\n"
	"KSM_NPAGES_MIN=128\n"
	"KSM_NPAGES_MAX=2500\n"
	"KSM_THRES_COEF=30\n"
	"KSM_THRES_CONST=4096\n"
	"LOGFILE=/var/log/ksmtuned\n"
	"DEBUG=1\n"
	"PIDFILE=/run/ksmtune.pid\n";

struct result {
	int rc;
	char *out;
	size_t out_len;
	char *flat;             /* out with wrapped comments joined: "\n# " -> " " */
	char *diag;
	size_t diag_len;
	struct cfg cfg;
};

static void free_result(struct result *r)
{
	free(r->out);
	free(r->flat);
	free(r->diag);
	memset(r, 0, sizeof(*r));
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The diagnostics at the end of the output, as "# line N: ..." or
 * "# warning:"/"# error:" comment lines that start one. */
static unsigned count_notes(const char *out)
{
	const char *p = strstr(out, "# Settings not imported, and changes made");
	unsigned n = 0;

	if (!p)
		return 0;
	while ((p = strstr(p, "\n# ")) != NULL) {
		const char *q;
		p += 3;
		q = p;
		if (strncmp(q, "line ", 5) == 0) {
			for (q += 5; *q >= '0' && *q <= '9'; q++)
				;
			if (q == p + 5 || strncmp(q, ": ", 2) != 0)
				continue;
			q += 2;
		}
		if (strncmp(q, "warning:", 8) == 0 || strncmp(q, "error:", 6) == 0 ||
		    (q == p && strncmp(q, "... and ", 8) == 0))
			n++;
	}
	return n;
}

/* The output with each comment joined to the comment line before it, so
 * that tests need not know where the text wraps. Each note still starts
 * its own line. */
static bool starts_note(const char *p)
{
	return strncmp(p, "line ", 5) == 0 || strncmp(p, "Settings not", 12) == 0 || strncmp(p, "... and", 7) == 0;
}

static char *unwrap(const char *out)
{
	char *flat = malloc(strlen(out) + 1), *o = flat;
	const char *line = out; /* start of the current line */

	assert_non_null(flat);
	for (const char *p = out; *p;) {
		if (p[0] == '\n' && line[0] == '#' && p[1] == '#' && p[2] == ' ' && !starts_note(p + 3)) {
			*o++ = ' ';
			p += 3;
			continue;
		}
		if (*p == '\n')
			line = p + 1;
		*o++ = *p++;
	}
	*o = '\0';
	return flat;
}

/* Import text (len bytes) as "t.conf"; the output must pass the parser
 * and the validator, and repeat every diagnostic. */
static void run_n(const char *text, size_t len, uint64_t mem_total, struct result *r)
{
	FILE *out, *diag;
	struct cfg_errors e;
	int pr, vr;

	memset(r, 0, sizeof(*r));
	out = open_memstream(&r->out, &r->out_len);
	diag = open_memstream(&r->diag, &r->diag_len);
	assert_non_null(out);
	assert_non_null(diag);
	r->rc = import_ksmtuned(text, len, "t.conf", mem_total, out, diag);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(fclose(diag), 0);
	if (r->rc < 0)
		fail_msg("import_ksmtuned returned %d", r->rc);

	memset(&e, 0, sizeof(e));
	cfg_defaults(&r->cfg);
	pr = cfg_parse_string(&r->cfg, r->out, r->out_len, "out.conf", &e);
	vr = pr == 0 ? cfg_validate(&r->cfg, "out.conf", &e) : 0;
	if (pr != 0 || vr != 0 || e.n) {
		fprintf(stderr, "---- output ----\n%s---- errors ----\n", r->out);
		for (unsigned i = 0; i < e.n; i++)
			fprintf(stderr, "%s\n", e.msg[i]);
		fail_msg("the import does not pass cfg_parse_string/cfg_validate");
	}
	r->flat = unwrap(r->out);
	if (count_notes(r->out) != count_lines(r->diag)) {
		fprintf(stderr, "---- output ----\n%s---- diag ----\n%s", r->out, r->diag);
		fail_msg("%u diagnostics, but %u of them in the output", count_lines(r->diag), count_notes(r->out));
	}
}

static void run(const char *text, uint64_t mem_total, struct result *r)
{
	run_n(text, strlen(text), mem_total, r);
}

#define expect_in(hay, needle)                                                                      \
	do {                                                                                        \
		if (!strstr((hay), (needle)))                                                        \
			fail_msg("'%s' not found in:\n%s", (needle), (hay));                         \
	} while (0)

#define expect_not_in(hay, needle)                                                                  \
	do {                                                                                        \
		if (strstr((hay), (needle)))                                                         \
			fail_msg("'%s' unexpectedly found in:\n%s", (needle), (hay));                \
	} while (0)

/* What the defaults give: the key values an import without settings has. */
static void expect_defaults(const struct cfg *c)
{
	struct cfg d;

	cfg_defaults(&d);
	assert_int_equal(c->log_level, d.log_level);
	assert_int_equal(c->target_available.is_percent, d.target_available.is_percent);
	assert_true(c->target_available.percent == d.target_available.percent);
	assert_int_equal(c->target_available.bytes, d.target_available.bytes);
	assert_int_equal(c->pages_to_scan_min, d.pages_to_scan_min);
	assert_int_equal(c->pages_to_scan_max, d.pages_to_scan_max);
	assert_int_equal(c->sleep_ms_min, d.sleep_ms_min);
	assert_int_equal(c->sleep_ms_max, d.sleep_ms_max);
	assert_string_equal(c->guest_cmdline, QEMU_GUEST_REGEX);
}

static void expect_percent(const struct cfg *c, double pct)
{
	if (!c->target_available.is_percent || c->target_available.percent != pct)
		fail_msg("target_available is %s%g/%llu, expected %g%%", c->target_available.is_percent ? "%" : "",
			 c->target_available.percent, (unsigned long long)c->target_available.bytes, pct);
}

static void expect_kib(const struct cfg *c, uint64_t kib)
{
	if (c->target_available.is_percent || c->target_available.bytes != kib * 1024)
		fail_msg("target_available is %s%g/%llu, expected %llu KiB", c->target_available.is_percent ? "%" : "",
			 c->target_available.percent, (unsigned long long)c->target_available.bytes,
			 (unsigned long long)kib);
}

/* ---- tests ------------------------------------------------------------- */

static void test_empty_file(void **state)
{
	struct result r;

	(void)state;
	run("", GiB(24), &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.diag, "");
	expect_defaults(&r.cfg);
	expect_in(r.flat, "# ksmpilot.conf imported from t.conf");
	expect_in(r.flat, "Nothing in t.conf needed a note.");
	free_result(&r);

	/* no text at all, and no MemTotal */
	run_n(NULL, 0, 0, &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.diag, "");
	expect_defaults(&r.cfg);
	expect_in(r.flat, "MemTotal was not known");
	free_result(&r);

	/* blank lines, blanks and comments only */
	run("\n\n   \n\t\n# x=1\n   # KSM_NPAGES_MAX=5\n", GiB(24), &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.diag, "");
	expect_defaults(&r.cfg);
	free_result(&r);
}

static void test_stock_debian_file(void **state)
{
	struct result r;

	(void)state;
	run(STOCK, GiB(24), &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.diag, "");
	/* nothing set: ksmpilot's defaults, each shown with ksmtuned's */
	expect_defaults(&r.cfg);
	expect_in(r.flat, "# KSM_NPAGES_MIN: not set (ksmtuned's default: 64). ksmpilot's default:\n"
			 ";pages_to_scan_min = 100\n");
	expect_in(r.flat, "# KSM_NPAGES_MAX: not set (ksmtuned's default: 1250). ksmpilot's default:\n"
			 ";pages_to_scan_max = 5000\n");
	expect_in(r.flat, ";sleep_ms_min = 10\n");
	expect_in(r.flat, ";target_available = 20%\n");
	expect_in(r.flat, ";log_level = info\n");
	expect_in(r.flat, "\nguest_cmdline = " QEMU_GUEST_REGEX "\n");
	expect_in(r.flat, "MemTotal = 25165824 kB (24.0 GiB)");
	free_result(&r);
}

static void test_every_variable_at_once(void **state)
{
	struct result r;

	(void)state;
	run(EVERY, GiB(2), &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.cfg.log_level, LOGL_INFO);
	expect_percent(&r.cfg, 30);
	assert_int_equal(r.cfg.pages_to_scan_min, 128);
	assert_int_equal(r.cfg.pages_to_scan_max, 2500);
	assert_int_equal(r.cfg.sleep_ms_min, 160); /* 20 ms * 16 GiB / 2 GiB */
	assert_int_equal(r.cfg.sleep_ms_max, 1000);
	assert_string_equal(r.cfg.guest_cmdline, QEMU_GUEST_REGEX);
	/* the five settings without meaning, on stderr with FILE:LINE, in order */
	assert_int_equal(count_lines(r.diag), 5);
	expect_in(r.diag, "t.conf:2: warning: KSM_MONITOR_INTERVAL=30: no meaning in ksmpilotd");
	expect_in(r.diag, "t.conf:4: warning: KSM_NPAGES_BOOST=500: no meaning");
	expect_in(r.diag, "t.conf:5: warning: KSM_NPAGES_DECAY=-100: no meaning");
	expect_in(r.diag, "t.conf:10: warning: LOGFILE=/var/log/ksmtuned: no meaning");
	expect_in(r.diag, "t.conf:12: warning: PIDFILE=/run/ksmtune.pid: no meaning");
	assert_true(strstr(r.diag, "t.conf:2:") < strstr(r.diag, "t.conf:12:"));
	/* and as comments in the output */
	expect_in(r.flat, "# line 2: warning: KSM_MONITOR_INTERVAL=30: no meaning in ksmpilotd");
	expect_in(r.flat, "# line 10: warning: LOGFILE=/var/log/ksmtuned: no meaning");
	/* each key names its origin */
	expect_in(r.flat, "# DEBUG=1 (line 11): ");
	expect_in(r.flat, "# KSM_NPAGES_MIN=128 (line 6): ");
	expect_in(r.flat, "# KSM_NPAGES_MAX=2500 (line 7): ");
	expect_in(r.flat, "# KSM_SLEEP_MSEC=20 (line 3): ");
	expect_in(r.flat, "# KSM_THRES_COEF=30 (line 8), KSM_THRES_CONST=4096 (line 9): ");
	free_result(&r);
}

/* One variable at a time: the key and value it gives, or the diagnostic. */
static void test_each_variable(void **state)
{
	static const struct {
		const char *text;
		const char *line;       /* expected in the output */
		const char *diag;       /* expected on stderr; NULL: none */
	} cases[] = {
		{ "KSM_MONITOR_INTERVAL=10\n", ";sleep_ms_min = 10\n",
		  "t.conf:1: warning: KSM_MONITOR_INTERVAL=10: no meaning in ksmpilotd, not imported: " },
		{ "KSM_NPAGES_BOOST=1000\n", ";pages_to_scan_max = 5000\n",
		  "t.conf:1: warning: KSM_NPAGES_BOOST=1000: no meaning" },
		{ "KSM_NPAGES_DECAY=-10\n", ";pages_to_scan_min = 100\n",
		  "t.conf:1: warning: KSM_NPAGES_DECAY=-10: no meaning" },
		{ "KSM_NPAGES_MIN=200\n", "\npages_to_scan_min = 200\n", NULL },
		{ "KSM_NPAGES_MAX=3000\n", "\npages_to_scan_max = 3000\n", NULL },
		{ "KSM_SLEEP_MSEC=20\n", "\nsleep_ms_min = 20\n", NULL },
		{ "KSM_THRES_COEF=25\n", "\ntarget_available = 25%\n", NULL },
		{ "KSM_THRES_CONST=1048576\n", "\ntarget_available = 20%\n", NULL }, /* 1 GiB < 20% of 16 */
		{ "KSM_THRES_CONST=8388608\n", "\ntarget_available = 8388608K\n", NULL }, /* 8 GiB > 20% */
		{ "LOGFILE=/var/log/k\n", ";log_level = info\n", "t.conf:1: warning: LOGFILE=/var/log/k: no meaning" },
		{ "DEBUG=1\n", "\nlog_level = info\n", NULL },
		{ "PIDFILE=/run/k.pid\n", ";log_level = info\n", "t.conf:1: warning: PIDFILE=/run/k.pid: no meaning" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct result r;
		run(cases[i].text, GiB(16), &r);
		if (r.rc != 0)
			fail_msg("%s: rc %d, diag %s", cases[i].text, r.rc, r.diag);
		expect_in(r.out, cases[i].line);
		if (cases[i].diag) {
			expect_in(r.diag, cases[i].diag);
			assert_int_equal(count_lines(r.diag), 1);
		} else {
			assert_string_equal(r.diag, "");
		}
		free_result(&r);
	}
}

static void test_quotes(void **state)
{
	static const struct {
		const char *text;
		uint64_t max;
	} cases[] = {
		{ "KSM_NPAGES_MAX='2000'\n", 2000 },
		{ "KSM_NPAGES_MAX=\"2000\"\n", 2000 },
		{ "KSM_NPAGES_MAX=\"20\"'00'\n", 2000 },      /* concatenated */
		{ "KSM_NPAGES_MAX=2'0'\"0\"0\n", 2000 },
		{ "KSM_NPAGES_MAX=\\2\\000\n", 2000 },         /* backslash escapes */
		{ "KSM_NPAGES_MAX=\" 2000 \"\n", 2000 },      /* [ ] ignores the blanks */
		{ "KSM_NPAGES_MAX='2000'  # quoted, commented\n", 2000 },
		{ "KSM_NPAGES_MAX=\"2000\"# not a comment: part of the word\n", 5000 },
	};
	struct result r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run(cases[i].text, GiB(16), &r);
		if (r.cfg.pages_to_scan_max != cases[i].max)
			fail_msg("%s: pages_to_scan_max %llu, expected %llu (diag: %s)", cases[i].text,
				 (unsigned long long)r.cfg.pages_to_scan_max, (unsigned long long)cases[i].max, r.diag);
		assert_int_equal(r.rc, cases[i].max == 2000 ? 0 : 1);
		free_result(&r);
	}

	/* what quotes keep: blanks, '#', '$' in '...', escaped '"' and '$' in "..." */
	run("LOGFILE='/var/log/ksm tuned#1 $x'\n", GiB(16), &r);
	expect_in(r.diag, "t.conf:1: warning: LOGFILE=/var/log/ksm tuned#1 $x: no meaning");
	free_result(&r);
	run("LOGFILE=\"a \\\"b\\\" \\$c \\\\ \\d\"\n", GiB(16), &r);
	expect_in(r.diag, "LOGFILE=a \"b\" $c \\ \\d: no meaning");
	free_result(&r);
	run("LOGFILE=a\\ b\\#c\n", GiB(16), &r);
	expect_in(r.diag, "LOGFILE=a b#c: no meaning");
	free_result(&r);
	run("DEBUG=''\n", GiB(16), &r); /* empty: off */
	assert_int_equal(r.cfg.log_level, LOGL_INFO);
	assert_string_equal(r.diag, "");
	free_result(&r);
}

static void test_comments_and_blanks(void **state)
{
	struct result r;

	(void)state;
	run("# comment\n"
	    "   # indented comment\n"
	    "\n"
	    "  KSM_NPAGES_MIN=150   \n"          /* stray blanks around */
	    "\tKSM_NPAGES_MAX=3000\t# tab, comment\n"
	    "KSM_SLEEP_MSEC=20 #comment\n"
	    "DEBUG=1#x\n",                        /* value "1#x": non-empty, so on */
	    GiB(16), &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.diag, "");
	assert_int_equal(r.cfg.pages_to_scan_min, 150);
	assert_int_equal(r.cfg.pages_to_scan_max, 3000);
	assert_int_equal(r.cfg.sleep_ms_min, 20);
	assert_int_equal(r.cfg.log_level, LOGL_INFO);
	expect_in(r.flat, "# KSM_NPAGES_MIN=150 (line 4)");
	expect_in(r.flat, "# KSM_NPAGES_MAX=3000 (line 5)");
	free_result(&r);

	/* '#' inside a word is not a comment */
	run("KSM_NPAGES_MAX=3000#x\n", GiB(16), &r);
	assert_int_equal(r.rc, 1);
	expect_in(r.diag, "t.conf:1: error: KSM_NPAGES_MAX=3000#x: not an integer");
	assert_int_equal(r.cfg.pages_to_scan_max, 5000);
	free_result(&r);

	/* CRLF endings: reported once, values imported without the '\r';
	 * a byte order mark is reported too */
	run("\xEF\xBB\xBF# x\r\nKSM_NPAGES_MIN=150\r\nKSM_NPAGES_MAX=3000\r\n", GiB(16), &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.cfg.pages_to_scan_min, 150);
	assert_int_equal(r.cfg.pages_to_scan_max, 3000);
	assert_int_equal(count_lines(r.diag), 2);
	expect_in(r.diag, "t.conf:1: warning: CRLF (DOS) line endings");
	expect_in(r.diag, "t.conf:1: warning: UTF-8 byte order mark");
	free_result(&r);

	/* no newline at the end */
	run("KSM_NPAGES_MAX=3000", GiB(16), &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.cfg.pages_to_scan_max, 3000);
	free_result(&r);
}

static void test_export(void **state)
{
	struct result r;

	(void)state;
	run("export KSM_NPAGES_MAX=3000\n"
	    "export  KSM_NPAGES_MIN=150   KSM_SLEEP_MSEC=20 # two at once\n"
	    "KSM_THRES_COEF=30 DEBUG=1\n",        /* two without export */
	    GiB(16), &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.diag, "");
	assert_int_equal(r.cfg.pages_to_scan_max, 3000);
	assert_int_equal(r.cfg.pages_to_scan_min, 150);
	assert_int_equal(r.cfg.sleep_ms_min, 20);
	expect_percent(&r.cfg, 30);
	assert_int_equal(r.cfg.log_level, LOGL_INFO);
	free_result(&r);

	/* export without a value, and export alone, set nothing: warnings */
	run("KSM_NPAGES_MAX=3000\nexport KSM_NPAGES_MAX\nexport\n", GiB(16), &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.cfg.pages_to_scan_max, 3000);
	expect_in(r.diag, "t.conf:2: warning: export KSM_NPAGES_MAX without a value sets nothing");
	expect_in(r.diag, "t.conf:3: warning: 'export' alone only lists variables");
	free_result(&r);

	/* "exportKSM_X=1" and "export=1" are plain (unknown) assignments */
	run("exportKSM_NPAGES_MAX=1\nexport=1\n", GiB(16), &r);
	assert_int_equal(r.rc, 2);
	expect_in(r.diag, "t.conf:1: error: unknown variable exportKSM_NPAGES_MAX");
	expect_in(r.diag, "t.conf:2: error: unknown variable export:");
	assert_int_equal(r.cfg.pages_to_scan_max, 5000);
	free_result(&r);
}

static void test_unknown_variables(void **state)
{
	struct result r;

	(void)state;
	run("# typo\n"
	    "KSM_NPAGE_MAX=100\n"
	    "ksm_npages_max=100\n"
	    "KSM_NPAGES_MAX=3000\n"
	    "PATH=/bin\n"
	    "export FOO\n",
	    GiB(16), &r);
	assert_int_equal(r.rc, 4);
	expect_in(r.diag, "t.conf:2: error: unknown variable KSM_NPAGE_MAX: ksmtuned does not read it\n");
	expect_in(r.diag, "t.conf:3: error: unknown variable ksm_npages_max");
	expect_in(r.diag, "t.conf:5: error: unknown variable PATH");
	expect_in(r.diag, "t.conf:6: error: unknown variable FOO");
	expect_in(r.flat, "# line 2: error: unknown variable KSM_NPAGE_MAX");
	/* the known one on the same file is imported */
	assert_int_equal(r.cfg.pages_to_scan_max, 3000);
	free_result(&r);
}

static void test_malformed_lines(void **state)
{
	static const struct {
		const char *line;
		const char *msg;
	} cases[] = {
		{ "KSM_NPAGES_MAX = 2000", "error: blanks before '=': the shell runs 'KSM_NPAGES_MAX' as a command" },
		{ "KSM_NPAGES_MAX =2000", "error: blanks before '='" },
		{ "KSM_NPAGES_MAX= 2000", "error: '2000' follows an assignment: the shell runs it as a command" },
		{ "KSM_NPAGES_MAX=2000 echo", "error: 'echo' follows an assignment" },
		{ "KSM_NPAGES_MAX=2000 ./x", "error: './x' follows an assignment" },
		{ "KSM_NPAGES_MAX=\"2000", "error: unterminated \"...\" quote" },
		{ "KSM_NPAGES_MAX='2000", "error: unterminated '...' quote" },
		{ "KSM_NPAGES_MAX=\"2000\\\"", "error: unterminated \"...\" quote" },
		{ "KSM_NPAGES_MAX=$MAX", "error: '$': shell expansion is not supported" },
		{ "KSM_NPAGES_MAX=${MAX:-2000}", "error: '$': shell expansion" },
		{ "KSM_NPAGES_MAX=\"$MAX\"", "error: '$' in \"...\": shell expansion" },
		{ "KSM_NPAGES_MAX=`echo 2000`", "error: '`': shell expansion" },
		{ "KSM_NPAGES_MAX=$(echo 2000)", "error: '$': shell expansion" },
		{ "KSM_NPAGES_MAX=~/x", "error: '~': shell expansion" },
		{ "KSM_NPAGES_MAX=2000; DEBUG=1", "error: ';': only variable assignments are supported" },
		{ "KSM_NPAGES_MAX=2000 && DEBUG=1", "error: '&': only variable assignments" },
		{ "KSM_NPAGES_MAX=2000|cat", "error: '|': only variable assignments" },
		{ "KSM_NPAGES_MAX=2000>/tmp/x", "error: '>': only variable assignments" },
		{ "KSM_NPAGES_MAX=(2000)", "error: '(': only variable assignments" },
		{ "KSM_NPAGES_MAX=2000\\", "error: a backslash at the end of a line" },
		{ "echo KSM_NPAGES_MAX=2000", "error: 'echo' is a command, not a NAME=VALUE assignment" },
		{ "if true; then KSM_NPAGES_MAX=2000; fi", "error: 'if' is a command" },
		{ "1KSM_NPAGES_MAX=2000", "error: '1KSM_NPAGES_MAX=2000' is not a NAME=VALUE assignment" },
		{ "KSM-NPAGES-MAX=2000", "error: 'KSM-NPAGES-MAX=2000' is not a NAME=VALUE assignment" },
		{ "export -n KSM_NPAGES_MAX=2000", "error: '-n' is not a NAME=VALUE assignment; the shell's export would fail" },
		{ "A=1 B=2 C=3 D=4 E=5 F=6 G=7 H=8 KSM_NPAGES_MAX=2000", "error: more than 8 assignments on one line" },
		{ "KSM_NPAGES_MAX=20\x01" "00", "error: control character 0x01; line not imported" },
		{ "KSM_NPAGES_MAX=2000\x7f", "error: control character 0x7f" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct result r;
		char text[256], want[256];

		/* on line 3, after a comment and a blank line */
		snprintf(text, sizeof(text), "# ksmtuned.conf\n\n%s\nKSM_NPAGES_MIN=150\n", cases[i].line);
		snprintf(want, sizeof(want), "t.conf:3: %s", cases[i].msg);
		run(text, GiB(16), &r);
		if (r.rc != 1 || !strstr(r.diag, want) || count_lines(r.diag) != 1)
			fail_msg("%s: rc %d, expected 1 and '%s' alone, got:\n%s", cases[i].line, r.rc, want, r.diag);
		expect_in(r.flat, "# line 3: error: ");
		/* nothing on that line is imported; the next line is */
		assert_int_equal(r.cfg.pages_to_scan_max, 5000);
		assert_int_equal(r.cfg.log_level, LOGL_INFO);
		assert_int_equal(r.cfg.pages_to_scan_min, 150);
		free_result(&r);
	}
}

static void test_bad_values(void **state)
{
	struct result r;

	(void)state;
	run("KSM_NPAGES_MIN=abc\nKSM_NPAGES_MAX=12.5\nKSM_SLEEP_MSEC=09\nKSM_THRES_COEF=20%\n"
	    "KSM_THRES_CONST=0x100\nKSM_NPAGES_MAX=99999999999999999999\nKSM_SLEEP_MSEC=1+1\n",
	    GiB(16), &r);
	assert_int_equal(r.rc, 5);
	expect_in(r.diag, "t.conf:1: error: KSM_NPAGES_MIN=abc: not an integer (ksmtuned compares it with [ -lt ]");
	expect_in(r.diag, "t.conf:4: error: KSM_THRES_COEF=20%: not an integer; not imported");
	expect_in(r.diag, "t.conf:5: error: KSM_THRES_CONST=0x100: not an integer");
	expect_in(r.diag, "t.conf:6: error: KSM_NPAGES_MAX=99999999999999999999: out of range for a 64-bit integer");
	expect_in(r.diag, "t.conf:7: error: KSM_SLEEP_MSEC=1+1: not an integer");
	/* duplicates: the last value is the one judged */
	expect_in(r.diag, "t.conf:6: warning: KSM_NPAGES_MAX is set again (also on line 2)");
	expect_in(r.diag, "t.conf:7: warning: KSM_SLEEP_MSEC is set again (also on line 3)");
	expect_in(r.flat, "# KSM_NPAGES_MIN=abc (line 1): the lowest pages_to_scan ksmtuned set while KSM ran. "
			 "Not imported.\n;pages_to_scan_min = 100\n");
	expect_defaults(&r.cfg);
	free_result(&r);

	/* empty values: ksmtuned reads every KSM_* as ${VAR:-default} */
	run("KSM_NPAGES_MIN=\nKSM_NPAGES_MAX=''\nKSM_SLEEP_MSEC=\"\"\nKSM_THRES_COEF=\nDEBUG=\nLOGFILE=\n", GiB(16),
	    &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.diag, "");
	expect_defaults(&r.cfg);
	expect_in(r.flat, "# KSM_NPAGES_MIN= (line 1): empty, so ksmtuned used its default, 64.");
	expect_in(r.flat, "# DEBUG= (line 5): empty, so ksmtuned's debug output was off.");
	free_result(&r);

	/* bash's arithmetic: a leading 0 is octal, 0x hexadecimal */
	run("KSM_SLEEP_MSEC=030\nKSM_THRES_COEF=0x1e\n", GiB(16), &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.cfg.sleep_ms_min, 24);
	expect_percent(&r.cfg, 30);
	expect_in(r.diag, "t.conf:1: warning: KSM_SLEEP_MSEC=030: bash's arithmetic reads this as octal, 24");
	expect_in(r.diag, "t.conf:2: warning: KSM_THRES_COEF=0x1e: bash's arithmetic reads this as hexadecimal, 30");
	free_result(&r);
}

static void test_duplicates(void **state)
{
	struct result r;

	(void)state;
	run("KSM_NPAGES_MAX=2000\nKSM_NPAGES_MAX=3000\n# x\nKSM_NPAGES_MAX=4000\n", GiB(16), &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.cfg.pages_to_scan_max, 4000); /* the last wins, as in the shell */
	assert_int_equal(count_lines(r.diag), 2);
	expect_in(r.diag, "t.conf:2: warning: KSM_NPAGES_MAX is set again (also on line 1): the last value wins, "
			  "as in the shell\n");
	expect_in(r.diag, "t.conf:4: warning: KSM_NPAGES_MAX is set again (also on line 2)");
	expect_in(r.flat, "# KSM_NPAGES_MAX=4000 (line 4)");
	free_result(&r);

	/* on one line */
	run("KSM_NPAGES_MAX=2000 KSM_NPAGES_MAX=3000\n", GiB(16), &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.cfg.pages_to_scan_max, 3000);
	expect_in(r.diag, "t.conf:1: warning: KSM_NPAGES_MAX is set again (also on line 1)");
	free_result(&r);

	/* a malformed later line does not replace the value */
	run("KSM_NPAGES_MAX=2000\nKSM_NPAGES_MAX = 3000\n", GiB(16), &r);
	assert_int_equal(r.rc, 1);
	assert_int_equal(r.cfg.pages_to_scan_max, 2000);
	free_result(&r);
}

static void test_out_of_range(void **state)
{
	struct result r;

	(void)state;
	/* pages_to_scan: 1..1000000 */
	run("KSM_NPAGES_MIN=0\nKSM_NPAGES_MAX=2000000\n", GiB(16), &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.cfg.pages_to_scan_min, 1);
	assert_int_equal(r.cfg.pages_to_scan_max, 1000000);
	expect_in(r.diag, "t.conf:1: warning: KSM_NPAGES_MIN=0 is outside ksmpilot's range 1..1000000; imported as "
			  "pages_to_scan_min = 1");
	expect_in(r.diag, "t.conf:2: warning: KSM_NPAGES_MAX=2000000 is outside ksmpilot's range");
	free_result(&r);

	run("KSM_NPAGES_MIN=-5\n", GiB(16), &r);
	assert_int_equal(r.cfg.pages_to_scan_min, 1);
	expect_in(r.diag, "warning: KSM_NPAGES_MIN=-5 is outside");
	free_result(&r);

	/* min above ksmpilot's default max: max raised, and the other way */
	run("KSM_NPAGES_MIN=10000\n", GiB(16), &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.cfg.pages_to_scan_min, 10000);
	assert_int_equal(r.cfg.pages_to_scan_max, 10000);
	expect_in(r.flat, "Raised from ksmpilot's default (5000) to pages_to_scan_min");
	free_result(&r);
	run("KSM_NPAGES_MAX=50\n", GiB(16), &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.cfg.pages_to_scan_min, 50);
	assert_int_equal(r.cfg.pages_to_scan_max, 50);
	expect_in(r.flat, "Lowered from ksmpilot's default (100) to pages_to_scan_max");
	free_result(&r);

	/* both set, min above max: an error, min lowered */
	run("KSM_NPAGES_MIN=3000\nKSM_NPAGES_MAX=2000\n", GiB(16), &r);
	assert_int_equal(r.rc, 1);
	assert_int_equal(r.cfg.pages_to_scan_min, 2000);
	assert_int_equal(r.cfg.pages_to_scan_max, 2000);
	expect_in(r.diag, "t.conf:1: error: KSM_NPAGES_MIN (3000) is above KSM_NPAGES_MAX (2000)");
	free_result(&r);

	/* sleep: at least 10 (ksmtuned's floor), at most 60000 (ksmpilot's);
	 * above ksmpilot's default sleep_ms_max, that is raised too */
	run("KSM_SLEEP_MSEC=-5\n", GiB(16), &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.cfg.sleep_ms_min, 10);
	assert_string_equal(r.diag, "");
	free_result(&r);
	run("KSM_SLEEP_MSEC=100\n", GiB(1), &r);
	assert_int_equal(r.cfg.sleep_ms_min, 1600);
	assert_int_equal(r.cfg.sleep_ms_max, 1600);
	expect_in(r.flat, "Raised from ksmpilot's default (1000) to sleep_ms_min");
	free_result(&r);
	run("KSM_SLEEP_MSEC=9000000000000000000\n", GiB(16), &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.cfg.sleep_ms_min, 60000);
	assert_int_equal(r.cfg.sleep_ms_max, 60000);
	expect_in(r.diag, "t.conf:1: warning: KSM_SLEEP_MSEC=9000000000000000000 gives a sleep above ksmpilot's "
			  "range 1..60000 ms");
	free_result(&r);

	/* threshold: COEF 0..100, CONST 0..64T */
	run("KSM_THRES_COEF=150\n", GiB(16), &r);
	assert_int_equal(r.rc, 0);
	expect_percent(&r.cfg, 100);
	expect_in(r.diag, "t.conf:1: warning: KSM_THRES_COEF=150 is outside 0..100; imported as 100%");
	free_result(&r);
	run("KSM_THRES_COEF=-10\nKSM_THRES_CONST=4096\n", GiB(16), &r);
	expect_kib(&r.cfg, 4096);
	expect_in(r.diag, "t.conf:1: warning: KSM_THRES_COEF=-10 is outside 0..100; imported as 0%");
	free_result(&r);
	run("KSM_THRES_CONST=-5\n", GiB(16), &r);
	expect_percent(&r.cfg, 20);
	expect_in(r.diag, "t.conf:1: warning: KSM_THRES_CONST=-5 is below 0, so it set no floor; taken as 0");
	free_result(&r);
	run("KSM_THRES_CONST=1000000000000000\n", GiB(16), &r);
	expect_kib(&r.cfg, (uint64_t)64 << 30);
	expect_in(r.diag, "warning: KSM_THRES_CONST=1000000000000000 KiB is above ksmpilot's limit of 64T");
	free_result(&r);
}

static void test_threshold_and_memtotal(void **state)
{
	struct result r;

	(void)state;
	/* the percentage wins on this machine */
	run("KSM_THRES_COEF=20\nKSM_THRES_CONST=2048\n", GiB(24), &r);
	assert_int_equal(r.rc, 0);
	expect_percent(&r.cfg, 20);
	expect_in(r.flat, "max(20% of MemTotal, 2048 KiB); with MemTotal = 24.0 GiB the percentage is the larger");
	free_result(&r);

	/* the constant wins: 1% of 24 GiB is 251658 KiB */
	run("KSM_THRES_COEF=1\nKSM_THRES_CONST=262144\n", GiB(24), &r);
	expect_kib(&r.cfg, 262144);
	expect_in(r.flat, "the constant is the larger");
	free_result(&r);
	/* equal: the percentage (ksmtuned takes the constant only when larger) */
	run("KSM_THRES_COEF=1\nKSM_THRES_CONST=251658\n", GiB(24), &r);
	expect_percent(&r.cfg, 1);
	free_result(&r);
	/* the same file on a smaller machine */
	run("KSM_THRES_COEF=1\nKSM_THRES_CONST=262144\n", GiB(32), &r);
	expect_percent(&r.cfg, 1);
	free_result(&r);

	/* MemTotal unknown: the percentage, and the floor described */
	run("KSM_THRES_COEF=30\nKSM_THRES_CONST=1048576\n", 0, &r);
	expect_percent(&r.cfg, 30);
	expect_in(r.flat, "MemTotal unknown: imported as the percentage; the constant is larger only below 3495253 "
			 "KiB of memory.");
	free_result(&r);
	run("KSM_THRES_COEF=0\nKSM_THRES_CONST=1048576\n", 0, &r);
	expect_kib(&r.cfg, 1048576);
	free_result(&r);
}

static void test_sleep_scaling(void **state)
{
	static const struct {
		const char *text;
		uint64_t mem_total;
		uint64_t sleep;
	} cases[] = {
		{ "KSM_SLEEP_MSEC=10\n", GiB(16), 10 },
		{ "KSM_SLEEP_MSEC=10\n", GiB(8), 20 },
		{ "KSM_SLEEP_MSEC=10\n", GiB(4), 40 },
		{ "KSM_SLEEP_MSEC=10\n", GiB(64), 10 },    /* 2.5 -> floor 10 */
		{ "KSM_SLEEP_MSEC=10\n", GiB(24), 10 },    /* 6 -> floor 10 */
		{ "KSM_SLEEP_MSEC=15\n", GiB(12), 20 },
		{ "KSM_SLEEP_MSEC=100\n", GiB(24), 66 },   /* integer division */
		{ "KSM_SLEEP_MSEC=11\n", GiB(16), 11 },
		{ "KSM_SLEEP_MSEC=40\n", 0, 40 },          /* MemTotal unknown: as for 16 GiB */
		{ "KSM_SLEEP_MSEC=0\n", GiB(16), 10 },
		/* MemTotal in bytes is cut to KiB first, as /proc/meminfo has it */
		{ "KSM_SLEEP_MSEC=10\n", GiB(16) + 1023, 10 },
		{ "KSM_SLEEP_MSEC=10\n", 1023, 10 },       /* under 1 KiB: unknown */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct result r;
		run(cases[i].text, cases[i].mem_total, &r);
		if (r.rc != 0 || r.cfg.sleep_ms_min != cases[i].sleep)
			fail_msg("%s with MemTotal %llu: sleep_ms_min %llu, expected %llu (rc %d)", cases[i].text,
				 (unsigned long long)cases[i].mem_total, (unsigned long long)r.cfg.sleep_ms_min,
				 (unsigned long long)cases[i].sleep, r.rc);
		free_result(&r);
	}
}

/* Regression: DEBUG=1 became log_level = debug, about 86,000 journal
 * records a day where ksmtuned wrote a line a minute to its own file. Any
 * non-empty DEBUG now gives info, with a note that says why. */
static void test_debug(void **state)
{
	static const struct {
		const char *text;
		const char *note;
	} cases[] = {
		{ "DEBUG=1\n", "# DEBUG=1 (line 1): ksmtuned wrote a few debug lines each adjustment (once a minute), to "
			       "LOGFILE or else to standard output. ksmpilotd at log_level = debug writes a journal record every interval, about "
			       "86400 a day at the default interval, so this imports info" },
		{ "DEBUG=yes\n", "# DEBUG=yes (line 1): ksmtuned wrote" },
		{ "DEBUG=0\n", "# DEBUG=0 (line 1): ksmtuned wrote" },
		{ "DEBUG=\n", "# DEBUG= (line 1): empty, so ksmtuned's debug output was off." },
		{ "# DEBUG=1\n", "# DEBUG: not set, so ksmtuned's debug output was off." },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct result r;
		run(cases[i].text, GiB(16), &r);
		assert_int_equal(r.rc, 0);
		if (r.cfg.log_level != LOGL_INFO)
			fail_msg("%s: log_level %d, expected info", cases[i].text, r.cfg.log_level);
		expect_in(r.flat, cases[i].note);
		assert_string_equal(r.diag, "");
		free_result(&r);
	}
}

/* Regression: ksmtuned's '^qemu-system.*-enable-kvm' was imported as it
 * was, and matches no guest of libvirt (-accel kvm, full path), Proxmox
 * (/usr/bin/kvm) or RHEL (/usr/libexec/qemu-kvm). The imported pattern
 * matches QEMU as each starts it, and nothing else. */
static void test_guest_cmdline_matches_qemu(void **state)
{
	static const struct {
		const char *cmdline;
		int ksmtuned, imported;
	} cases[] = {
		{ "qemu-system-x86_64 -enable-kvm -m 2048", 1, 1 },
		{ "qemu-system-aarch64 -machine virt -enable-kvm", 1, 1 },
		{ "/usr/bin/qemu-system-x86_64 -name guest=vm1,debug-threads=on -S -accel kvm -m 4096", 0, 1 },
		{ "/usr/bin/kvm -id 100 -name vm100 -chardev socket,id=qmp", 0, 1 },
		{ "/usr/libexec/qemu-kvm -name guest=rhel9 -machine pc-q35-rhel9.2.0,accel=kvm", 0, 1 },
		{ "qemu-system-x86_64 -m 2048", 0, 1 },                  /* TCG: memory all the same */
		{ "qemu-img convert -O qcow2 a b", 0, 0 },
		{ "/usr/sbin/virtqemud --timeout 120", 0, 0 },
		{ "/usr/bin/kvmtool run", 0, 0 },
		{ "xqemu-system -enable-kvm", 0, 0 },
		{ "/bin/sh -c qemu-system-x86_64 -enable-kvm", 0, 0 },
	};
	struct result r;
	regex_t re, old;

	(void)state;
	run(STOCK, GiB(16), &r);
	assert_string_equal(r.cfg.guest_cmdline, QEMU_GUEST_REGEX);
	assert_int_equal(regcomp(&re, r.cfg.guest_cmdline, REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regcomp(&old, IMPORT_KSMTUNED_QEMU_REGEX, REG_EXTENDED | REG_NOSUB), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if ((regexec(&re, cases[i].cmdline, 0, NULL, 0) == 0) != cases[i].imported)
			fail_msg("'%s' %s", cases[i].cmdline, cases[i].imported ? "does not match" : "matches");
		if ((regexec(&old, cases[i].cmdline, 0, NULL, 0) == 0) != cases[i].ksmtuned)
			fail_msg("ksmtuned's pattern on '%s'", cases[i].cmdline);
	}
	regfree(&re);
	regfree(&old);
	free_result(&r);
}

/* The QEMU processes running, counted over a fake /proc, and what the
 * import says of them. */
static char proc_dir[PATH_MAX];

static void fake_process(int pid, const char *argv, size_t len)
{
	char path[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d", proc_dir, pid);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%d/cmdline", proc_dir, pid);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(argv, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

#define FAKE(pid, lit) fake_process(pid, lit, sizeof(lit) - 1)

static void test_running_qemu(void **state)
{
	struct qemu_count q;
	struct result r;
	FILE *out, *diag;
	char *o = NULL, *d = NULL;
	size_t ol = 0, dl = 0;

	(void)state;
	FAKE(10, "qemu-system-x86_64\0-enable-kvm\0-m\0002048\0");
	FAKE(11, "/usr/bin/kvm\0-id\0" "100\0");
	FAKE(12, "/usr/libexec/qemu-kvm\0-name\0guest=\033[31mx\0");
	FAKE(13, "/usr/sbin/sshd\0-D\0");
	FAKE(14, "");                                  /* a kernel thread */
	assert_int_equal(mkdir(strcat(strcpy((char[PATH_MAX + 8]){ 0 }, proc_dir), "/self"), 0755), 0);

	assert_int_equal(qemu_count(proc_dir, IMPORT_KSMTUNED_QEMU_REGEX, &q), 0);
	assert_int_equal(q.qemu, 3);
	assert_int_equal(q.matched, 1);
	assert_int_equal(q.qemu_matched, 1);
	if (strcmp(q.missed, "/usr/bin/kvm -id 100") != 0 && strcmp(q.missed, "/usr/libexec/qemu-kvm -name guest=?[31mx") != 0)
		fail_msg("missed: '%s'", q.missed);
	assert_null(strchr(q.missed, '\033'));       /* another user's text: sanitised */
	assert_int_equal(qemu_count(proc_dir, QEMU_GUEST_REGEX, &q), 0);
	assert_true(q.qemu == 3 && q.qemu_matched == 3 && q.missed[0] == '\0');
	assert_int_equal(qemu_count(proc_dir, "", &q), 0);
	assert_true(q.qemu == 3 && q.matched == 0);
	assert_int_equal(qemu_count(proc_dir, "(", &q), -EINVAL);
	assert_int_equal(qemu_count("/nonexistent-proc", "", &q), -ENOENT);
	{
		/* a newline in an argument is a space, as the daemon's guest
		 * scan sees it (cmdline_join()): "^" matches at the start of
		 * the line only */
		char p16[PATH_MAX + 32];
		FAKE(16, "sh\0-c\0x\nqemu-system-x86_64 -enable-kvm\0");
		assert_int_equal(qemu_count(proc_dir, IMPORT_KSMTUNED_QEMU_REGEX, &q), 0);
		assert_int_equal(q.matched, 1);
		snprintf(p16, sizeof(p16), "%s/16/cmdline", proc_dir);
		assert_int_equal(unlink(p16), 0);
		*strrchr(p16, '/') = '\0';
		assert_int_equal(rmdir(p16), 0);
	}
	{
		/* a long command line that a pattern misses is cut short,
		 * whole characters and "..." at the end */
		struct qemu_count q2;
		size_t n;
		assert_int_equal(qemu_count(proc_dir, "^/usr/sbin/sshd", &q2), 0);
		FAKE(15, "/usr/libexec/qemu-kvm\0-name\0guest=\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\0-m\0" "2048\0");
		memset(&q2, 0, sizeof(q2));
		assert_int_equal(qemu_count(proc_dir, "^/usr/sbin/sshd", &q2), 0);
		n = strlen(q2.missed);
		assert_true(n < sizeof(q2.missed));
		if (strncmp(q2.missed, "/usr/libexec/qemu-kvm", 21) == 0) {
			assert_true(n > 60);
			assert_string_equal(q2.missed + n - 3, "...");
			assert_false(((unsigned char)q2.missed[n - 4] & 0xC0) == 0xC0); /* no half character */
		}
		{
			char p15[PATH_MAX + 32];
			snprintf(p15, sizeof(p15), "%s/15/cmdline", proc_dir);
			assert_int_equal(unlink(p15), 0);
			*strrchr(p15, '/') = '\0';
			assert_int_equal(rmdir(p15), 0);
		}
	}

	/* the import says how many each pattern matches, and warns */
	assert_int_equal(qemu_count(proc_dir, IMPORT_KSMTUNED_QEMU_REGEX, &q), 0);
	out = open_memstream(&o, &ol);
	diag = open_memstream(&d, &dl);
	assert_int_equal(import_ksmtuned_running(STOCK, strlen(STOCK), "t.conf", GiB(16), &q, out, diag), 0);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(fclose(diag), 0);
	r.flat = unwrap(o);
	expect_in(r.flat, "Of the 3 QEMU processes running at the import, ksmtuned's pattern matches 1 and this one all 3.");
	expect_in(d, "t.conf: warning: ksmtuned's pattern ^qemu-system.*-enable-kvm matches 1 of the 3 QEMU processes running now");
	expect_in(d, "imported as guest_cmdline = " QEMU_GUEST_REGEX ", which matches all 3");
	free(r.flat);
	free(o);
	free(d);
	/* none running: said so, no warning */
	memset(&q, 0, sizeof(q));
	out = open_memstream(&o, &ol);
	assert_int_equal(import_ksmtuned_running(STOCK, strlen(STOCK), "t.conf", GiB(16), &q, out, NULL), 0);
	assert_int_equal(fclose(out), 0);
	assert_non_null(strstr(o, "No QEMU process was running at the import."));
	assert_null(strstr(o, "warning"));
	free(o);
}

static int setup_proc_dir(void **state)
{
	(void)state;
	snprintf(proc_dir, sizeof(proc_dir), "%s/ksmpilot-test-proc.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(proc_dir) ? 0 : -1;
}

/* also after a failure */
static int teardown_proc_dir(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", proc_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Regression: the output dropped every key it did not import. It now
 * lists them all, in the order of the key table, commented out at the
 * default with their meaning, like the shipped file. */
static void test_catalogue_of_every_key(void **state)
{
	struct cfg_key_info k;
	struct result r;
	const char *p;
	char want[512];

	(void)state;
	run("KSM_NPAGES_MAX=2500\nKSM_SLEEP_MSEC=200\n", GiB(1), &r);
	p = r.flat;
	for (unsigned i = 0; cfg_key(i, &k); i++) {
		const char *at;
		snprintf(want, sizeof(want), "\n[%s]\n", k.section);
		if (!strstr(r.flat, want))
			fail_msg("no [%s] in:\n%s", k.section, r.flat);
		/* each key once, commented out or set, after the one before */
		snprintf(want, sizeof(want), "\n;%s = %s\n", k.name, k.def);
		at = strstr(r.flat, want);
		if (!at) {
			snprintf(want, sizeof(want), "\n%s = ", k.name);
			at = strstr(r.flat, want);
		}
		if (!at || at < p)
			fail_msg("%s missing or out of order in:\n%s", k.name, r.flat);
		p = at;
	}
	/* with its meaning, capitalised, and its range */
	expect_in(r.flat, "# Cap on ksmd CPU, in % of one core, on average (percent: 1..100).\n;max_cpu = 25\n");
	expect_in(r.flat, "# Time between two samples and decisions while ksmd works (duration: 100ms..10min).\n;interval = 1s\n");
	/* the keys the file set, as before */
	assert_int_equal(r.cfg.pages_to_scan_max, 2500);
	assert_int_equal(r.cfg.sleep_ms_max, 3200);
	expect_not_in(r.flat, ";sleep_ms_max =");
	free_result(&r);
}

static void test_hostile_inputs(void **state)
{
	struct result r;
	char *big;
	size_t n;

	(void)state;
	/* every byte value, NUL included, on one line */
	big = malloc(512);
	assert_non_null(big);
	for (n = 0; n < 256; n++)
		big[n] = (char)n;
	run_n(big, 256, GiB(16), &r);
	assert_true(r.rc >= 1);
	free_result(&r);

	/* a NUL byte inside a value */
	{
		static const char nul[] = "KSM_NPAGES_MAX=20\0" "00\nKSM_NPAGES_MIN=150\n";
		run_n(nul, sizeof(nul) - 1, GiB(16), &r);
	}
	assert_int_equal(r.rc, 1);
	expect_in(r.diag, "t.conf:1: error: control character 0x00");
	assert_int_equal(r.cfg.pages_to_scan_max, 5000);
	assert_int_equal(r.cfg.pages_to_scan_min, 150);
	free_result(&r);

	/* the text need not end in NUL: len rules */
	run_n("KSM_NPAGES_MAX=2000", 17, GiB(16), &r);
	assert_int_equal(r.cfg.pages_to_scan_max, 20);
	free_result(&r);

	/* a 100000-character value, a long name, a long unknown line, and
	 * control characters in the file name: the output keeps short lines */
	free(big);
	big = malloc(300000);
	assert_non_null(big);
	n = (size_t)sprintf(big, "LOGFILE=");
	memset(big + n, 'x', 100000);
	n += 100000;
	n += (size_t)sprintf(big + n, "\nKSM_NPAGES_MAX=");
	memset(big + n, '9', 100000);
	n += 100000;
	big[n++] = '\n';
	memset(big + n, 'A', 50000);
	n += 50000;
	n += (size_t)sprintf(big + n, "=1\n");
	run_n(big, n, GiB(16), &r);
	assert_int_equal(r.rc, 2);
	expect_in(r.diag, "t.conf:1: warning: LOGFILE=xxxxxxxx");
	expect_in(r.diag, "...: no meaning");
	expect_in(r.diag, "t.conf:2: error: KSM_NPAGES_MAX=999");
	expect_in(r.diag, "t.conf:3: error: unknown variable AAAA");
	assert_int_equal(r.cfg.pages_to_scan_max, 5000);
	free_result(&r);

	{
		char *o = NULL, *d = NULL;
		size_t ol = 0, dl = 0;
		FILE *out = open_memstream(&o, &ol), *diag = open_memstream(&d, &dl);
		struct cfg c;
		struct cfg_errors e = { 0 };
		assert_int_equal(import_ksmtuned("A=1\n", 4, "a\nb\r\x1b[31m\xc2\x9b\xe2\x80\xae.conf", GiB(16), out, diag), 1);
		fclose(out);
		fclose(diag);
		expect_in(d, "a?b??[31m??.conf:1: error: unknown variable A"); /* C1 CSI, RLO */
		cfg_defaults(&c);
		assert_int_equal(cfg_parse_string(&c, o, ol, "o", &e), 0);
		free(o);
		free(d);
	}

	/* a file name too long to show whole keeps its end, the file's own
	 * name, cut between two characters: /ppp...p/ééé...é/kk.conf, whose
	 * last 125 bytes begin with the second half of an 'é' */
	{
		char name[512], want[sizeof(name) + 64], *d = NULL;
		size_t dl = 0, k = 0;
		FILE *diag = open_memstream(&d, &dl);

		name[k++] = '/';
		memset(name + k, 'p', 200);
		k += 200;
		name[k++] = '/';
		for (int i = 0; i < 100; i++) {
			name[k++] = (char)0xc3;
			name[k++] = (char)0xa9;
		}
		strcpy(name + k, "/kk.conf");
		k += 8;
		assert_int_equal(import_ksmtuned("A=1\n", 4, name, GiB(16), NULL, diag), 1);
		fclose(diag);
		snprintf(want, sizeof(want), "...%s:1: error: unknown variable A", name + k - 124);
		if (strncmp(d, want, strlen(want)) != 0)
			fail_msg("want '%s...', got '%s'", want, d);
		free(d);
	}

	/* many bad lines: diagnostics are capped, errors all counted */
	free(big);
	big = malloc(100000 * 4 + 1);
	assert_non_null(big);
	for (n = 0; n < 100000; n++)
		memcpy(big + n * 4, "x y\n", 4);
	run_n(big, 100000 * 4, GiB(16), &r);
	assert_int_equal(r.rc, 100000);
	assert_int_equal(count_lines(r.diag), IMPORT_MAX_DIAGS + 1);
	expect_in(r.diag, "t.conf: ... and 99936 more\n");
	expect_in(r.flat, "# ... and 99936 more\n");
	free_result(&r);
	free(big);

	/* unterminated quote on the last line, without a newline */
	run("KSM_NPAGES_MAX='2000", GiB(16), &r);
	assert_int_equal(r.rc, 1);
	free_result(&r);
}

/* Random files: assignments of random values to the ksmtuned variables
 * (extremes included), mixed with soups of shell-ish tokens and bytes.
 * The import never fails and its output always passes the parser and the
 * validator. */
static void test_random_inputs(void **state)
{
	static const char *const var[] = {
		"KSM_NPAGES_MIN", "KSM_NPAGES_MAX", "KSM_SLEEP_MSEC", "KSM_THRES_COEF", "KSM_THRES_CONST",
		"KSM_MONITOR_INTERVAL", "KSM_NPAGES_BOOST", "KSM_NPAGES_DECAY", "DEBUG", "LOGFILE", "PIDFILE",
	};
	static const char *const num[] = {
		"0", "1", "-1", "2", "9", "10", "64", "99", "100", "101", "1250", "2048", "4999", "5000", "5001",
		"59999", "60000", "60001", "999999", "1000000", "1000001", "4294967296", "9223372036854775807",
		"-9223372036854775808", "9223372036854775808", "010", "08", "0x10", "0x", "+5", " 7 ", "", "abc",
	};
	static const char *const tok[] = {
		"KSM_NPAGES_MIN", "KSM_NPAGES_MAX", "KSM_SLEEP_MSEC", "KSM_THRES_COEF", "KSM_THRES_CONST",
		"KSM_MONITOR_INTERVAL", "KSM_NPAGES_BOOST", "KSM_NPAGES_DECAY", "DEBUG", "LOGFILE", "PIDFILE",
		"export", "=", "'", "\"", "\\", "$", "`", "#", " ", "\t", "\n", "\r\n", ";", "~", "(", "0", "1",
		"-", "+", "010", "0x", "9999999999999999999999", "100", "1250", "64", "-1", "%", "K", "abc",
		"\xEF\xBB\xBF", "\x01", "\x7f", "\xff", "\xc3\xa9",
	};
	static const char *const quote[] = { "", "'", "\"" };
	const char *env = getenv("KSMPILOT_TEST_SEED");
	const char *iters = getenv("KSMPILOT_TEST_ITERATIONS");
	unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL) ^ (unsigned)getpid();
	long niter = iters ? strtol(iters, NULL, 10) : 3000;
	char text[4096];

	(void)state;
	print_message("seed %u (replay with KSMPILOT_TEST_SEED=%u)\n", seed, seed);
	srandom(seed);
	for (long iter = 0; iter < niter; iter++) {
		struct result r;
		size_t n = 0;
		int nlines = (int)(random() % 16);
		uint64_t mem = (uint64_t)(random() % 4) * GiB(1 + random() % 64) + (uint64_t)(random() % 3000);

		for (int l = 0; l < nlines && n < sizeof(text) - 512; l++) {
			if (random() % 2) {
				/* [export ]NAME=<q>VALUE<q>[ # comment] */
				const char *q = quote[random() % 3];
				n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%s=%s%s%s%s\n",
						      random() % 4 ? "" : "export ", var[random() % 11], q,
						      num[random() % (long)(sizeof(num) / sizeof(num[0]))], q,
						      random() % 4 ? "" : " # c");
				continue;
			}
			for (int t = (int)(random() % 12); t > 0; t--) {
				const char *s = tok[random() % (long)(sizeof(tok) / sizeof(tok[0]))];
				size_t len = strlen(s);
				if (random() % 8 == 0) {
					text[n++] = (char)(random() % 256);
					continue;
				}
				memcpy(text + n, s, len);
				n += len;
			}
			text[n++] = '\n';
		}
		run_n(text, n, mem, &r); /* fails on a bad output */
		free_result(&r);
	}
}

static void test_api_edges(void **state)
{
	FILE *full;

	(void)state;
	/* text NULL with a length */
	assert_int_equal(import_ksmtuned(NULL, 5, "t.conf", GiB(16), NULL, NULL), -EINVAL);
	/* no output and no diagnostics: only the count of errors */
	{
		static const char two[] = "X=1\nKSM_NPAGES_MAX=1 2\n";
		assert_int_equal(import_ksmtuned(two, strlen(two), NULL, 0, NULL, NULL), 2);
	}
	assert_int_equal(import_ksmtuned(STOCK, strlen(STOCK), NULL, 0, NULL, NULL), 0);
	/* a write error is -EIO */
	full = fopen("/dev/full", "w");
	if (full) {
		assert_int_equal(import_ksmtuned(STOCK, strlen(STOCK), "t.conf", GiB(16), full, NULL), -EIO);
		fclose(full);
	}
}

/* docs/migrating-from-ksmtuned.md has a row for every ksmtuned variable
 * (tests run from the repository root). */
static void test_migration_doc_lists_every_variable(void **state)
{
	static const char *const names[] = {
		"KSM_MONITOR_INTERVAL", "KSM_NPAGES_BOOST", "KSM_NPAGES_DECAY", "KSM_NPAGES_MIN",
		"KSM_NPAGES_MAX", "KSM_SLEEP_MSEC", "KSM_THRES_COEF", "KSM_THRES_CONST", "LOGFILE", "DEBUG",
		"PIDFILE",
	};
	char *doc = NULL;
	size_t len;

	(void)state;
	if (read_file("docs/migrating-from-ksmtuned.md", 1 << 20, &doc, &len) < 0)
		fail_msg("cannot read docs/migrating-from-ksmtuned.md (tests run from the repository root)");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char want[64];
		snprintf(want, sizeof(want), "\n| `%s` (", names[i]);
		if (!strstr(doc, want) && !(snprintf(want, sizeof(want), ", `%s` (", names[i]) && strstr(doc, want)))
			fail_msg("docs/migrating-from-ksmtuned.md has no row for %s", names[i]);
		/* and the import knows it: no "unknown variable" */
		snprintf(want, sizeof(want), "%s=1\n", names[i]);
		assert_true(import_ksmtuned(want, strlen(want), NULL, GiB(16), NULL, NULL) == 0);
	}
	assert_non_null(strstr(doc, IMPORT_KSMTUNED_QEMU_REGEX));
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_stock_debian_file),
		cmocka_unit_test(test_every_variable_at_once),
		cmocka_unit_test(test_each_variable),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_comments_and_blanks),
		cmocka_unit_test(test_export),
		cmocka_unit_test(test_unknown_variables),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_threshold_and_memtotal),
		cmocka_unit_test(test_sleep_scaling),
		cmocka_unit_test(test_debug),
		cmocka_unit_test(test_guest_cmdline_matches_qemu),
		cmocka_unit_test_setup_teardown(test_running_qemu, setup_proc_dir, teardown_proc_dir),
		cmocka_unit_test(test_catalogue_of_every_key),
		cmocka_unit_test(test_hostile_inputs),
		cmocka_unit_test(test_random_inputs),
		cmocka_unit_test(test_api_edges),
		cmocka_unit_test(test_migration_doc_lists_every_variable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
