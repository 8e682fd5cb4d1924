/* import.c - ksmtuned.conf to ksmpilot.conf (ksmpilotctl import-ksmtuned).
 *
 * Two passes. The first reads the file line by line with the shell's
 * rules for assignments (see import.h) and keeps the last value of each
 * variable, as sourcing the file does. The second maps the values to
 * ksmpilot's keys the way /usr/sbin/ksmtuned uses them:
 *
 *   KSM_NPAGES_MIN/MAX   [scan] pages_to_scan_min/max (the bounds ksmtuned
 *                        clamps pages_to_scan to)
 *   KSM_SLEEP_MSEC       [scan] sleep_ms_min = max(10, v * 16 GiB / MemTotal),
 *                        ksmtuned's fixed sleep_millisecs
 *   KSM_THRES_COEF/CONST [memory] target_available: ksmtuned's threshold is
 *                        max(COEF% of MemTotal, CONST KiB); the larger term
 *                        on this machine is written
 *   DEBUG (non-empty)    [daemon] log_level = info (debug would log every
 *                        interval, where ksmtuned wrote a line a minute)
 *   (built in)           [memory] guest_cmdline = QEMU_GUEST_REGEX, which
 *                        also matches QEMU as libvirt, Proxmox and RHEL
 *                        start it (qemu.h)
 *   KSM_MONITOR_INTERVAL, KSM_NPAGES_BOOST, KSM_NPAGES_DECAY, LOGFILE,
 *   PIDFILE              no meaning in ksmpilotd: reported
 *
 * A variable the file does not set keeps ksmpilot's default, written
 * commented out with what ksmtuned's default was; every other key follows
 * in its section, commented out at its default with its meaning, so the
 * result documents itself like the shipped ksmpilot.conf. Every value written is
 * inside ksmpilot's ranges and consistent (min <= max), so the output
 * always passes cfg_parse_string() and cfg_validate(). The reasons are in
 * docs/migrating-from-ksmtuned.md. */
#include "import.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "qemu.h"
#include "util.h"

/* ksmpilot's ranges for the keys written here (the table in config.c). */
#define PAGES_MIN_LIMIT 1
#define PAGES_MAX_LIMIT 1000000
#define SLEEP_MAX_LIMIT 60000
#define SIZE_MAX_KIB (INT64_C(64) << 30)   /* 64T, in KiB */

/* ksmtuned's constants (/usr/sbin/ksmtuned). */
#define KSMTUNED_SLEEP_FLOOR 10            /* [ $sleep -le 10 ] && sleep=10 */
#define KSMTUNED_REF_KIB (INT64_C(16) * 1024 * 1024) /* "for 16Gb server" */

#define VALUE_MAX 256           /* longer values are cut (and flagged) */
#define SHOW_MAX 48             /* characters of a value shown in messages */
#define MAX_ASSIGN_PER_LINE 8
#define DIAG_LEN 400
#define WRAP 76

enum var_id {
	V_MONITOR_INTERVAL,
	V_NPAGES_BOOST,
	V_NPAGES_DECAY,
	V_NPAGES_MIN,
	V_NPAGES_MAX,
	V_SLEEP_MSEC,
	V_THRES_COEF,
	V_THRES_CONST,
	V_LOGFILE,
	V_DEBUG,
	V_PIDFILE,
	NVARS
};

struct var_info {
	const char *name;
	const char *def;        /* ksmtuned's default */
	const char *obsolete;   /* why it has no meaning in ksmpilotd; NULL: mapped */
};

static const struct var_info vars[NVARS] = {
	[V_MONITOR_INTERVAL] = { "KSM_MONITOR_INTERVAL", "60",
				 "ksmtuned's time between two adjustments (seconds), long because each one "
				 "forks pgrep, ps and awk; ksmpilotd samples every [daemon] interval, without "
				 "forking" },
	[V_NPAGES_BOOST] = { "KSM_NPAGES_BOOST", "300",
			     "the fixed step ksmtuned added to pages_to_scan while free memory was below "
			     "its threshold; ksmpilotd sets the scan rate with a PID controller on "
			     "MemAvailable ([controller] kp, ki, kd), capped by max_cpu" },
	[V_NPAGES_DECAY] = { "KSM_NPAGES_DECAY", "-50",
			     "the fixed step ksmtuned added to pages_to_scan while free memory was above "
			     "its threshold; ksmpilotd's PID controller lowers the rate as the gap closes, "
			     "and idles when a full scan merges nothing" },
	[V_NPAGES_MIN] = { "KSM_NPAGES_MIN", "64", NULL },
	[V_NPAGES_MAX] = { "KSM_NPAGES_MAX", "1250", NULL },
	[V_SLEEP_MSEC] = { "KSM_SLEEP_MSEC", "10", NULL },
	[V_THRES_COEF] = { "KSM_THRES_COEF", "20", NULL },
	[V_THRES_CONST] = { "KSM_THRES_CONST", "2048", NULL },
	[V_LOGFILE] = { "LOGFILE", "",
			"ksmpilotd logs to the journal (journalctl -u ksmpilot), never to a file; "
			"ksmtuned wrote to LOGFILE only with DEBUG set" },
	[V_DEBUG] = { "DEBUG", "", NULL },
	[V_PIDFILE] = { "PIDFILE", "/var/run/ksmtune.pid",
			"systemd tracks ksmpilotd's process, and its lock file (state_dir/lock) holds "
			"the pid" },
};

struct setting {
	unsigned line;          /* 0: not set */
	bool too_long;
	char value[VALUE_MAX];  /* quotes removed */
};

enum sev { SEV_WARNING, SEV_ERROR };

struct diag_entry {
	unsigned line;          /* 0: the whole file */
	unsigned seq;           /* keeps the order within a line */
	enum sev sev;
	char msg[DIAG_LEN];
};

struct imp {
	char file[129];         /* shown in messages and in the output: 128 bytes, as ksmpilotd's */
	struct setting set[NVARS];
	struct diag_entry *d;
	unsigned nd, dropped;
	unsigned errors;
	int64_t total_kib;      /* MemTotal in KiB, as ksmtuned reads it; 0: unknown */
	const struct qemu_count *running; /* ksmtuned's pattern over the QEMU processes; NULL: unknown */
	bool sleep_max_written;
};

struct assignment {
	const char *name;       /* into the line */
	size_t name_len;
	bool has_value;         /* false: "export NAME" */
	bool too_long;
	char value[VALUE_MAX];
};

/* ---- small helpers ---------------------------------------------------- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

/* Copy s[0..n) for display: control characters become '?', and text past
 * max characters is cut (at a UTF-8 character boundary) and ends in "...". */
static void show(char *buf, size_t len, const char *s, size_t n, size_t max)
{
	size_t o = 0, lim = n;
	bool cut = false;

	if (len == 0)
		return;
	if (max + 4 > len)
		max = len > 4 ? len - 4 : 0;
	if (lim > max) {
		lim = max;
		while (lim > 0 && ((unsigned char)s[lim] & 0xC0) == 0x80)
			lim--;
		cut = true;
	}
	for (size_t i = 0; i < lim && o + 1 < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			buf[o++] = '?';
		else
			buf[o++] = s[i];
	}
	if (cut)
		for (int i = 0; i < 3 && o + 1 < len; i++)
			buf[o++] = '.';
	buf[o] = '\0';
}

static void add_diag(struct imp *im, unsigned line, enum sev sev, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add_diag(struct imp *im, unsigned line, enum sev sev, const char *fmt, ...)
{
	va_list ap;
	struct diag_entry *e;

	if (sev == SEV_ERROR)
		im->errors++;
	if (im->nd >= IMPORT_MAX_DIAGS) {
		im->dropped++;
		return;
	}
	e = &im->d[im->nd];
	e->line = line;
	e->seq = im->nd++;
	e->sev = sev;
	va_start(ap, fmt);
	/* va_start is just above: a false positive of clang 14's analyzer */
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

static int diag_order(const void *a, const void *b)
{
	const struct diag_entry *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Write text as '#' comment lines of at most WRAP characters. */
static void comment(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void comment(FILE *f, const char *fmt, ...)
{
	char buf[2048];
	const char *p = buf;
	va_list ap;

	va_start(ap, fmt);
	/* va_start is just above: a false positive of clang 14's analyzer */
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!*p) {
		fputs("#\n", f);
		return;
	}
	while (*p) {
		size_t n = strlen(p), cut = n;
		if (n > WRAP) {
			cut = WRAP;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = WRAP; /* one long word: break it */
		}
		fprintf(f, "# %.*s\n", (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

/* The default of a ksmpilot key, from the key table in config.c. */
static const char *key_default(const char *section, const char *name)
{
	struct cfg_key_info k;

	for (unsigned i = 0; i < cfg_key_count(); i++)
		if (cfg_key(i, &k) && strcmp(k.section, section) == 0 && strcmp(k.name, name) == 0)
			return k.def;
	return "";
}

static uint64_t key_default_u64(const char *section, const char *name)
{
	uint64_t v = 0;

	if (parse_u64(key_default(section, name), 0, UINT64_MAX, &v) < 0)
		return 0;
	return v;
}

/* ---- pass 1: the shell subset ------------------------------------------ */

/* One shell word from *pp, quotes removed, up to a blank or the end. */
static int parse_word(const char **pp, const char *end, char *out, bool *too_long, char *why, size_t why_len)
{
	const char *p = *pp;
	size_t n = 0;

#define PUT(ch)                                   \
	do {                                      \
		if (n + 1 < VALUE_MAX)            \
			out[n++] = (ch);          \
		else                              \
			*too_long = true;         \
	} while (0)

	*too_long = false;
	while (p < end && !is_blank(*p)) {
		char c = *p;
		if (c == '\'') {
			const char *q = memchr(p + 1, '\'', (size_t)(end - p - 1));
			if (!q) {
				snprintf(why, why_len, "unterminated '...' quote (values over several lines are "
					 "not supported)");
				return -EINVAL;
			}
			for (p++; p < q; p++)
				PUT(*p);
			p = q + 1;
		} else if (c == '"') {
			for (p++;; p++) {
				if (p >= end) {
					snprintf(why, why_len, "unterminated \"...\" quote (values over several "
						 "lines are not supported)");
					return -EINVAL;
				}
				c = *p;
				if (c == '"') {
					p++;
					break;
				}
				if (c == '$' || c == '`') {
					snprintf(why, why_len, "'%c' in \"...\": shell expansion is not supported, "
						 "write the value itself", c);
					return -EINVAL;
				}
				if (c == '\\' && p + 1 < end && p[1] && strchr("$`\"\\", p[1]))
					c = *++p;
				PUT(c);
			}
		} else if (c == '\\') {
			if (p + 1 >= end) {
				snprintf(why, why_len, "a backslash at the end of a line continues it on the next "
					 "one; not supported");
				return -EINVAL;
			}
			PUT(p[1]);
			p += 2;
		} else if (c == '$' || c == '`') {
			snprintf(why, why_len, "'%c': shell expansion is not supported, write the value itself", c);
			return -EINVAL;
		} else if (c && strchr(";&|<>()", c)) {
			snprintf(why, why_len, "'%c': only variable assignments are supported", c);
			return -EINVAL;
		} else {
			PUT(c);
			p++;
		}
	}
#undef PUT
	out[n] = '\0';
	*pp = p;
	return 0;
}

#define AFTER_ASSIGNMENT                                                                            \
	"'%s' follows an assignment: the shell runs it as a command with the assignments in its "  \
	"environment only, so ksmtuned ignored them"

/* One line (no '\n', no control characters): 0 with *na assignments (0 for
 * a blank or comment line), or -EINVAL with why. *bare_export is set for
 * a line that is only "export". */
static int parse_line(const char *s, size_t len, struct assignment *a, unsigned *na, bool *bare_export, char *why,
		      size_t why_len)
{
	const char *p = s, *end = s + len;
	bool export = false;
	char shown[SHOW_MAX + 8];

	*na = 0;
	*bare_export = false;
	while (p < end && is_blank(*p))
		p++;
	if (p == end || *p == '#')
		return 0;
	if (end - p >= 6 && memcmp(p, "export", 6) == 0 && (p + 6 == end || is_blank(p[6]))) {
		export = true;
		for (p += 6; p < end && is_blank(*p); p++)
			;
		if (p == end || *p == '#') {
			*bare_export = true;
			return 0;
		}
	}
	while (p < end && *p != '#') {
		const char *name = p, *q;
		struct assignment *cur;

		if (*p && strchr(";&|<>()", *p)) {
			snprintf(why, why_len, "'%c': only variable assignments are supported", *p);
			return -EINVAL;
		}
		while (p < end && name_char(*p))
			p++;
		if (p == name || !name_start(*name) || (p < end && *p != '=' && !is_blank(*p))) {
			const char *w = name;
			while (p < end && !is_blank(*p))
				p++;
			show(shown, sizeof(shown), w, (size_t)(p - w), SHOW_MAX);
			if (export)
				snprintf(why, why_len, "'%s' is not a NAME=VALUE assignment; the shell's export "
					 "would fail on it", shown);
			else if (*na > 0)
				snprintf(why, why_len, AFTER_ASSIGNMENT, shown);
			else
				snprintf(why, why_len, "'%s' is not a NAME=VALUE assignment", shown);
			return -EINVAL;
		}
		if (p == end || is_blank(*p)) {
			for (q = p; q < end && is_blank(*q); q++)
				;
			show(shown, sizeof(shown), name, (size_t)(p - name), SHOW_MAX);
			if (q < end && *q == '=') {
				snprintf(why, why_len,
					 "blanks before '=': the shell runs '%s' as a command, so ksmtuned ignored this "
					 "line; write %s=VALUE", shown, shown);
				return -EINVAL;
			}
			if (!export) {
				if (*na > 0)
					snprintf(why, why_len, AFTER_ASSIGNMENT, shown);
				else
					snprintf(why, why_len, "'%s' is a command, not a NAME=VALUE assignment", shown);
				return -EINVAL;
			}
			if (*na >= MAX_ASSIGN_PER_LINE)
				goto too_many;
			cur = &a[(*na)++]; /* "export NAME": no value */
			cur->name = name;
			cur->name_len = (size_t)(p - name);
			cur->has_value = false;
			cur->too_long = false;
			cur->value[0] = '\0';
			p = q;
			continue;
		}
		if (*na >= MAX_ASSIGN_PER_LINE)
			goto too_many;
		cur = &a[*na];
		cur->name = name;
		cur->name_len = (size_t)(p - name);
		cur->has_value = true;
		p++; /* '=' */
		if (p < end && *p == '~') {
			snprintf(why, why_len, "'~': shell expansion is not supported, write the value itself");
			return -EINVAL;
		}
		if (parse_word(&p, end, cur->value, &cur->too_long, why, why_len) < 0)
			return -EINVAL;
		(*na)++;
		while (p < end && is_blank(*p))
			p++;
	}
	return 0;
too_many:
	snprintf(why, why_len, "more than %d assignments on one line", MAX_ASSIGN_PER_LINE);
	return -EINVAL;
}

static int var_lookup(const char *name, size_t n)
{
	for (int i = 0; i < NVARS; i++)
		if (strlen(vars[i].name) == n && memcmp(vars[i].name, name, n) == 0)
			return i;
	return -1;
}

static int read_lines(struct imp *im, const char *text, size_t len)
{
	struct assignment *a = calloc(MAX_ASSIGN_PER_LINE, sizeof(*a));
	const char *p = text, *end = text + len;
	unsigned line = 0;
	bool crlf_seen = false;
	char why[DIAG_LEN - 64];
	char shown[SHOW_MAX + 8];

	if (!a)
		return -ENOMEM;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *s = p;
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		unsigned na;
		bool bare_export, bad = false;

		p += n + (nl ? 1 : 0);
		line++;
		/* n is 0 for an empty line (nl == p); cppcheck assumes otherwise */
		// cppcheck-suppress knownConditionTrueFalse
		if (n > 0 && s[n - 1] == '\r') {
			n--;
			if (!crlf_seen)
				add_diag(im, line, SEV_WARNING,
					 "CRLF (DOS) line endings: bash keeps the '\\r' in each value and ksmtuned "
					 "fails on it; imported without it");
			crlf_seen = true;
		}
		if (line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
			s += 3;
			n -= 3;
			add_diag(im, line, SEV_WARNING, "UTF-8 byte order mark ignored (bash does not ignore it)");
		}
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];
			if ((c < 0x20 && c != '\t') || c == 0x7f) {
				add_diag(im, line, SEV_ERROR, "control character 0x%02x; line not imported", c);
				bad = true;
				break;
			}
		}
		if (bad)
			continue;
		if (parse_line(s, n, a, &na, &bare_export, why, sizeof(why)) < 0) {
			add_diag(im, line, SEV_ERROR, "%s; line not imported", why);
			continue;
		}
		if (bare_export)
			add_diag(im, line, SEV_WARNING, "'export' alone only lists variables; nothing to import");
		for (unsigned i = 0; i < na; i++) {
			int v = var_lookup(a[i].name, a[i].name_len);
			show(shown, sizeof(shown), a[i].name, a[i].name_len, SHOW_MAX);
			if (v < 0) {
				add_diag(im, line, SEV_ERROR, "unknown variable %s: ksmtuned does not read it%s", shown,
					 a[i].has_value ? "" : " (and 'export' without a value sets nothing)");
				continue;
			}
			if (!a[i].has_value) {
				add_diag(im, line, SEV_WARNING, "export %s without a value sets nothing", shown);
				continue;
			}
			if (im->set[v].line)
				add_diag(im, line, SEV_WARNING,
					 "%s is set again (also on line %u): the last value wins, as in the shell",
					 shown, im->set[v].line);
			im->set[v].line = line;
			im->set[v].too_long = a[i].too_long;
			memcpy(im->set[v].value, a[i].value, sizeof(im->set[v].value));
		}
	}
	free(a);
	return 0;
}

/* ---- pass 2: the mapping -------------------------------------------------- */

/* Operands of `[ a -lt b ]`: blanks, an optional sign, decimal digits. */
static int parse_test_int(const char *s, int64_t *out)
{
	char *e;
	long long v;

	while (is_blank(*s))
		s++;
	if (!(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &e, 10);
	if (e == s || (e == s + 1 && (*s == '-' || *s == '+')))
		return -EINVAL;
	while (is_blank(*e))
		e++;
	if (*e)
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*out = v;
	return 0;
}

/* Operands of bash's $[...]: the same, but a leading 0 means octal and 0x
 * hexadecimal (*radix tells which). */
static int parse_arith_int(const char *s, int64_t *out, int *radix)
{
	const char *d;
	char *e;
	bool neg = false;
	unsigned long long v;

	while (is_blank(*s))
		s++;
	d = s;
	if (*d == '-' || *d == '+')
		neg = *d++ == '-';
	if (*d < '0' || *d > '9')
		return -EINVAL;
	*radix = 10;
	if (d[0] == '0' && (d[1] == 'x' || d[1] == 'X'))
		*radix = 16;
	else if (d[0] == '0' && d[1] >= '0' && d[1] <= '9')
		*radix = 8;
	if (*radix == 16 && !((d[2] >= '0' && d[2] <= '9') || (d[2] >= 'a' && d[2] <= 'f') ||
			      (d[2] >= 'A' && d[2] <= 'F')))
		return -EINVAL; /* strtoull would read "0x" as 0 */
	errno = 0;
	v = strtoull(d, &e, *radix);
	while (is_blank(*e))
		e++;
	if (*e)
		return -EINVAL;
	if (errno == ERANGE || v > (unsigned long long)INT64_MAX)
		return -ERANGE;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

/* "NAME=VALUE (line N)" for comments. */
static const char *origin(const struct imp *im, enum var_id v, char *buf, size_t len)
{
	char val[SHOW_MAX + 8];

	show(val, sizeof(val), im->set[v].value, strlen(im->set[v].value), SHOW_MAX);
	snprintf(buf, len, "%s=%s (line %u)", vars[v].name, val, im->set[v].line);
	return buf;
}

/* A numeric setting: 1 when set to a number (in *out), 0 when not set or
 * empty (ksmtuned uses its default: every KSM_* is read as ${VAR:-default}),
 * -1 when the value is not a number (an error is reported). */
static int get_number(struct imp *im, enum var_id v, bool arith, int64_t *out)
{
	const struct setting *s = &im->set[v];
	char val[SHOW_MAX + 8];
	int radix = 10, r;

	if (!s->line || !s->value[0])
		return 0;
	show(val, sizeof(val), s->value, strlen(s->value), SHOW_MAX);
	r = s->too_long ? -EINVAL : arith ? parse_arith_int(s->value, out, &radix) : parse_test_int(s->value, out);
	if (r == -ERANGE) {
		add_diag(im, s->line, SEV_ERROR, "%s=%s: out of range for a 64-bit integer; not imported",
			 vars[v].name, val);
		return -1;
	}
	if (r < 0) {
		add_diag(im, s->line, SEV_ERROR, "%s=%s: not an integer%s; not imported", vars[v].name, val,
			 arith ? "" : " (ksmtuned compares it with [ -lt ], which takes decimal digits only)");
		return -1;
	}
	if (radix != 10)
		add_diag(im, s->line, SEV_WARNING, "%s=%s: bash's arithmetic reads this as %s, %" PRId64,
			 vars[v].name, val, radix == 8 ? "octal" : "hexadecimal", *out);
	return 1;
}

/* "NAME=VALUE (line N)", "NAME not set (default D)", ... for a setting
 * get_number() returned got for. */
static void describe(const struct imp *im, enum var_id v, int got, char *buf, size_t len)
{
	char o[128];

	if (!im->set[v].line)
		snprintf(buf, len, "%s not set (default %s)", vars[v].name, vars[v].def);
	else if (got == 0)
		snprintf(buf, len, "%s= (line %u, empty: default %s)", vars[v].name, im->set[v].line, vars[v].def);
	else if (got < 0)
		snprintf(buf, len, "%s (not imported: default %s)", origin(im, v, o, sizeof(o)), vars[v].def);
	else
		origin(im, v, buf, len);
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static void key_line(FILE *f, bool active, const char *name, const char *value)
{
	fprintf(f, "%s%s = %s\n", active ? "" : ";", name, value);
}

/* DEBUG: ksmtuned wrote a line a minute to its own file; ksmpilotd at
 * debug writes a journal record every interval. So it maps to info. */
static void emit_log_level(struct imp *im, FILE *f)
{
	const struct setting *s = &im->set[V_DEBUG];
	uint64_t interval_ms = 1000;
	char o[128];

	if (parse_duration_ms(key_default("daemon", "interval"), 1, UINT64_MAX, &interval_ms) < 0)
		interval_ms = 1000;
	if (s->line && s->value[0]) {
		comment(f, "%s: ksmtuned wrote a few debug lines each adjustment (once a minute), to LOGFILE or else "
			   "to standard output. "
			   "ksmpilotd at log_level = debug writes a journal record every interval, about %" PRIu64
			   " a day at the default interval, so this imports info, which logs every decision "
			   "that changes. For every decision while you watch, set debug and reload.",
			origin(im, V_DEBUG, o, sizeof(o)), (uint64_t)86400000 / interval_ms);
		key_line(f, true, "log_level", "info");
	} else {
		if (s->line)
			comment(f, "DEBUG= (line %u): empty, so ksmtuned's debug output was off.", s->line);
		else
			comment(f, "DEBUG: not set, so ksmtuned's debug output was off.");
		key_line(f, false, "log_level", key_default("daemon", "log_level"));
	}
	if (im->set[V_LOGFILE].line && im->set[V_LOGFILE].value[0])
		comment(f, "%s: no meaning, ksmpilotd logs to the journal (journalctl -u ksmpilot).",
			origin(im, V_LOGFILE, o, sizeof(o)));
}

static void emit_target(struct imp *im, FILE *f)
{
	int64_t coef = 20, cnst = 2048, v;
	int rc, rk;
	char o1[192], o2[192], val[64];

	rc = get_number(im, V_THRES_COEF, true, &v);
	if (rc > 0)
		coef = v;
	rk = get_number(im, V_THRES_CONST, false, &v);
	if (rk > 0)
		cnst = v;
	describe(im, V_THRES_COEF, rc, o1, sizeof(o1));
	describe(im, V_THRES_CONST, rk, o2, sizeof(o2));

	if (rc <= 0 && rk <= 0) {
		/* nothing to import: both at ksmtuned's defaults (or broken) */
		comment(f, "%s, %s: ksmtuned's threshold is then max(20%% of MemTotal, 2048 KiB), "
			   "which is 20%% on any machine over 10 MiB. ksmpilot's default:", o1, o2);
		key_line(f, false, "target_available", key_default("memory", "target_available"));
		return;
	}
	if (coef > 100 || coef < 0) {
		add_diag(im, im->set[V_THRES_COEF].line, SEV_WARNING,
			 "KSM_THRES_COEF=%" PRId64 " is outside 0..100; imported as %d%%%s", coef, coef > 100 ? 100 : 0,
			 coef > 100 ? " (ksmtuned's threshold was above MemTotal, so KSM always ran; 100% "
				      "does the same)" :
				      " (below 0, ksmtuned's threshold was KSM_THRES_CONST alone)");
		coef = clamp64(coef, 0, 100);
	}
	if (cnst < 0 || cnst > SIZE_MAX_KIB) {
		add_diag(im, im->set[V_THRES_CONST].line, SEV_WARNING, "KSM_THRES_CONST=%" PRId64 " %s; taken as %s",
			 cnst, cnst < 0 ? "is below 0, so it set no floor" : "KiB is above ksmpilot's limit of 64T",
			 cnst < 0 ? "0" : "64T");
		cnst = clamp64(cnst, 0, SIZE_MAX_KIB);
	}
	if (im->total_kib > 0) {
		int64_t pct_kib = im->total_kib * coef / 100; /* integer, like ksmtuned */
		char mem[64];
		snprintf(mem, sizeof(mem), "%.1f GiB", (double)im->total_kib / (1024.0 * 1024.0));
		if (cnst > pct_kib) {
			snprintf(val, sizeof(val), "%" PRId64 "K", cnst);
			comment(f, "%s, %s: ksmtuned's threshold is max(%" PRId64 "%% of MemTotal, %" PRId64
				   " KiB); with MemTotal = %s the constant is the larger.", o1, o2, coef, cnst, mem);
		} else {
			snprintf(val, sizeof(val), "%" PRId64 "%%", coef);
			comment(f, "%s, %s: ksmtuned's threshold is max(%" PRId64 "%% of MemTotal, %" PRId64
				   " KiB); with MemTotal = %s the percentage is the larger.", o1, o2, coef, cnst, mem);
		}
	} else if (coef > 0) {
		snprintf(val, sizeof(val), "%" PRId64 "%%", coef);
		comment(f, "%s, %s: ksmtuned's threshold is max(%" PRId64 "%% of MemTotal, %" PRId64
			   " KiB). MemTotal unknown: imported as the percentage; the constant is larger "
			   "only below %" PRId64 " KiB of memory.", o1, o2, coef, cnst, cnst * 100 / coef);
	} else {
		snprintf(val, sizeof(val), "%" PRId64 "K", cnst);
		comment(f, "%s, %s: ksmtuned's threshold is KSM_THRES_CONST alone.", o1, o2);
	}
	comment(f, "ksmtuned compares it with MemFree+Buffers+Cached, ksmpilotd with MemAvailable.");
	key_line(f, true, "target_available", val);
}

/* ksmtuned's qemu rule: its pattern misses QEMU as libvirt, Proxmox and
 * RHEL start it. The import writes QEMU_GUEST_REGEX, and says what each
 * pattern matches among the QEMU processes running (when known). */
static void emit_guest(struct imp *im, FILE *f)
{
	const struct qemu_count *q = im->running;

	comment(f, "ksmtuned's built-in rule, not a setting: the RSS of processes whose command line "
		   "matches pgrep -f '%s' is committed memory, and committed memory plus the threshold "
		   "above MemTotal starts KSM however much is free. That pattern misses QEMU as libvirt "
		   "(/usr/bin/qemu-system-x86_64 ... -accel kvm), Proxmox (/usr/bin/kvm) and RHEL "
		   "(/usr/libexec/qemu-kvm) start it (Proxmox's own ksmtuned counts processes named kvm "
		   "instead); the pattern below matches those too. Empty turns the rule off.",
		IMPORT_KSMTUNED_QEMU_REGEX);
	if (q && q->qemu == 0)
		comment(f, "No QEMU process was running at the import.");
	else if (q)
		comment(f, "Of the %u QEMU processes running at the import, ksmtuned's pattern matches %u and "
			   "this one all %u.", q->qemu, q->qemu_matched, q->qemu);
	if (q && q->qemu_matched < q->qemu)
		add_diag(im, 0, SEV_WARNING,
			 "ksmtuned's pattern %s matches %u of the %u QEMU processes running now (it misses '%s'); "
			 "imported as guest_cmdline = %s, which matches all %u",
			 IMPORT_KSMTUNED_QEMU_REGEX, q->qemu_matched, q->qemu, q->missed, QEMU_GUEST_REGEX, q->qemu);
	key_line(f, true, "guest_cmdline", QEMU_GUEST_REGEX);
}

/* pages_to_scan_min/max from KSM_NPAGES_MIN/MAX. */
static void emit_pages(struct imp *im, FILE *f)
{
	static const enum var_id id[2] = { V_NPAGES_MIN, V_NPAGES_MAX };
	static const char *const key[2] = { "pages_to_scan_min", "pages_to_scan_max" };
	static const char *const what[2] = { "the lowest", "the highest" };
	int64_t val[2];
	bool imported[2], active[2];
	char o[128], note[2][192] = { "", "" }, buf[32];

	for (int i = 0; i < 2; i++) {
		val[i] = (int64_t)key_default_u64("scan", key[i]);
		imported[i] = get_number(im, id[i], false, &val[i]) > 0;
		active[i] = imported[i];
		if (imported[i] && (val[i] < PAGES_MIN_LIMIT || val[i] > PAGES_MAX_LIMIT)) {
			int64_t c = clamp64(val[i], PAGES_MIN_LIMIT, PAGES_MAX_LIMIT);
			add_diag(im, im->set[id[i]].line, SEV_WARNING,
				 "%s=%" PRId64 " is outside ksmpilot's range %d..%d; imported as %s = %" PRId64,
				 vars[id[i]].name, val[i], PAGES_MIN_LIMIT, PAGES_MAX_LIMIT, key[i], c);
			val[i] = c;
		}
	}
	if (val[0] > val[1]) {
		if (imported[0] && imported[1]) {
			add_diag(im, im->set[V_NPAGES_MIN].line, SEV_ERROR,
				 "KSM_NPAGES_MIN (%" PRId64 ") is above KSM_NPAGES_MAX (%" PRId64
				 "), and ksmtuned jumps between the two; imported as pages_to_scan_min = %" PRId64,
				 val[0], val[1], val[1]);
			snprintf(note[0], sizeof(note[0]), "Lowered to KSM_NPAGES_MAX, which it was above.");
			val[0] = val[1];
		} else if (imported[0]) {
			snprintf(note[1], sizeof(note[1]),
				 "Raised from ksmpilot's default (%s) to pages_to_scan_min, which may not be "
				 "above it.", key_default("scan", key[1]));
			val[1] = val[0];
			active[1] = true;
		} else {
			snprintf(note[0], sizeof(note[0]),
				 "Lowered from ksmpilot's default (%s) to pages_to_scan_max, which it may not "
				 "be above.", key_default("scan", key[0]));
			val[0] = val[1];
			active[0] = true;
		}
	}
	for (int i = 0; i < 2; i++) {
		const struct setting *s = &im->set[id[i]];
		const char *tail = active[i] ? "" : " ksmpilot's default:";
		if (s->line && s->value[0])
			comment(f, "%s: %s pages_to_scan ksmtuned set while KSM ran.%s",
				origin(im, id[i], o, sizeof(o)), what[i], imported[i] ? "" : " Not imported.");
		else if (s->line)
			comment(f, "%s= (line %u): empty, so ksmtuned used its default, %s.%s", vars[id[i]].name,
				s->line, vars[id[i]].def, tail);
		else
			comment(f, "%s: not set (ksmtuned's default: %s).%s", vars[id[i]].name, vars[id[i]].def, tail);
		if (note[i][0])
			comment(f, "%s", note[i]);
		snprintf(buf, sizeof(buf), "%" PRId64, val[i]);
		key_line(f, active[i], key[i], active[i] ? buf : key_default("scan", key[i]));
	}
}

/* ksmtuned: sleep = KSM_SLEEP_MSEC * 16 GiB / MemTotal, at least 10. */
static int64_t ksmtuned_sleep(int64_t msec, int64_t total_kib)
{
	int64_t s;

	if (total_kib <= 0)
		total_kib = KSMTUNED_REF_KIB;
	if (msec > INT64_MAX / KSMTUNED_REF_KIB)
		s = INT64_MAX;
	else if (msec < INT64_MIN / KSMTUNED_REF_KIB)
		s = INT64_MIN;
	else
		s = msec * KSMTUNED_REF_KIB / total_kib;
	return s <= KSMTUNED_SLEEP_FLOOR ? KSMTUNED_SLEEP_FLOOR : s;
}

static void emit_sleep(struct imp *im, FILE *f)
{
	const struct setting *s = &im->set[V_SLEEP_MSEC];
	uint64_t def_max = key_default_u64("scan", "sleep_ms_max");
	int64_t msec = 10, sleep;
	int got;
	char o[128], mem[96], buf[32];

	if (im->total_kib > 0)
		snprintf(mem, sizeof(mem), "with MemTotal = %.1f GiB", (double)im->total_kib / (1024.0 * 1024.0));
	else
		snprintf(mem, sizeof(mem), "taken as for 16 GiB, MemTotal being unknown");
	got = get_number(im, V_SLEEP_MSEC, true, &msec);
	sleep = ksmtuned_sleep(got > 0 ? msec : 10, im->total_kib);
	if (got <= 0) {
		if (s->line && s->value[0])
			comment(f, "%s: not imported.", origin(im, V_SLEEP_MSEC, o, sizeof(o)));
		else
			comment(f, "KSM_SLEEP_MSEC: %s (ksmtuned's default 10 gives %" PRId64 " ms %s). "
				   "ksmpilot's default:", s->line ? "empty" : "not set", sleep, mem);
		key_line(f, false, "sleep_ms_min", key_default("scan", "sleep_ms_min"));
		return;
	}
	if (sleep > SLEEP_MAX_LIMIT) {
		add_diag(im, s->line, SEV_WARNING,
			 "KSM_SLEEP_MSEC=%" PRId64 " gives a sleep above ksmpilot's range 1..%d ms; imported as "
			 "sleep_ms_min = %d", msec, SLEEP_MAX_LIMIT, SLEEP_MAX_LIMIT);
		sleep = SLEEP_MAX_LIMIT;
	}
	comment(f, "%s: ksmtuned's sleep_millisecs for a 16 GiB machine, scaled by 16 GiB / MemTotal "
		   "and at least 10: %" PRId64 " ms %s. ksmtuned kept it fixed; ksmpilotd sleeps "
		   "from sleep_ms_min to sleep_ms_max, never less than ksmtuned did.",
		origin(im, V_SLEEP_MSEC, o, sizeof(o)), sleep, mem);
	snprintf(buf, sizeof(buf), "%" PRId64, sleep);
	key_line(f, true, "sleep_ms_min", buf);
	if ((uint64_t)sleep > def_max) {
		comment(f, "Raised from ksmpilot's default (%" PRIu64 ") to sleep_ms_min: ksmtuned never "
			   "slept less than that between batches, nor more.", def_max);
		key_line(f, true, "sleep_ms_max", buf);
		im->sleep_max_written = true;
	}
}

/* A key the ksmtuned file has nothing for: its meaning and range, and its
 * default commented out, as in the shipped ksmpilot.conf. */
static void emit_catalogue(FILE *f, const struct cfg_key_info *k)
{
	comment(f, "%c%s (%s%s%s).", toupper((unsigned char)k->help[0]), k->help + 1, k->type,
		k->range[0] ? ": " : "", k->range);
	key_line(f, false, k->name, k->def);
}

/* Every section and key in the order of ksmpilot's key table: the keys
 * ksmtuned had something for from the file, the others as a catalogue. */
static void emit_keys(struct imp *im, FILE *f)
{
	const char *section = NULL;
	struct cfg_key_info k;

	for (unsigned i = 0; cfg_key(i, &k); i++) {
		if (!section || strcmp(section, k.section) != 0) {
			fprintf(f, "%s[%s]\n", section ? "\n" : "", k.section);
			section = k.section;
		}
		if (strcmp(k.name, "log_level") == 0)
			emit_log_level(im, f);
		else if (strcmp(k.name, "target_available") == 0)
			emit_target(im, f);
		else if (strcmp(k.name, "guest_cmdline") == 0)
			emit_guest(im, f);
		else if (strcmp(k.name, "pages_to_scan_min") == 0)
			emit_pages(im, f); /* and pages_to_scan_max */
		else if (strcmp(k.name, "sleep_ms_min") == 0)
			emit_sleep(im, f); /* and sleep_ms_max when it raised it */
		else if (strcmp(k.name, "pages_to_scan_max") != 0 &&
			 !(strcmp(k.name, "sleep_ms_max") == 0 && im->sleep_max_written))
			emit_catalogue(f, &k);
	}
}

static void emit_obsolete(struct imp *im)
{
	for (int v = 0; v < NVARS; v++) {
		char val[SHOW_MAX + 8];
		const struct setting *s = &im->set[v];

		if (!vars[v].obsolete || !s->line)
			continue;
		if (v == V_LOGFILE && !s->value[0])
			continue; /* LOGFILE= is ksmtuned's default */
		show(val, sizeof(val), s->value, strlen(s->value), SHOW_MAX);
		add_diag(im, s->line, SEV_WARNING, "%s=%s: no meaning in ksmpilotd, not imported: %s", vars[v].name,
			 val, vars[v].obsolete);
	}
}

static void emit_notes(const struct imp *im, FILE *f)
{
	fputs("\n", f);
	if (im->nd == 0) {
		comment(f, "Nothing in %s needed a note.", im->file);
		return;
	}
	comment(f, "Settings not imported, and changes made (also printed on stderr):");
	for (unsigned i = 0; i < im->nd; i++) {
		const struct diag_entry *e = &im->d[i];
		const char *sev = e->sev == SEV_ERROR ? "error" : "warning";
		if (e->line)
			comment(f, "line %u: %s: %s", e->line, sev, e->msg);
		else
			comment(f, "%s: %s", sev, e->msg);
	}
	if (im->dropped)
		comment(f, "... and %u more", im->dropped);
}

static void emit_header(const struct imp *im, FILE *f)
{
	comment(f, "ksmpilot.conf imported from %s by ksmpilotctl import-ksmtuned.", im->file);
	comment(f, "Every key of ksmpilot.conf is below. Those ksmtuned had a setting for name "
		   "the setting they came from; a key commented out with ';' keeps ksmpilot's "
		   "default: the ksmtuned file did not set that variable, its value could not be "
		   "imported, or ksmtuned had nothing like it (see ksmpilot.conf(5)).");
	if (im->total_kib > 0)
		comment(f, "ksmtuned scaled some values by MemTotal; this import used MemTotal = %" PRId64
			   " kB (%.1f GiB).", im->total_kib, (double)im->total_kib / (1024.0 * 1024.0));
	else
		comment(f, "ksmtuned scaled some values by MemTotal; MemTotal was not known to this import.");
	comment(f, "Check it with: ksmpilotd --check-config -c FILE");
	fputs("\n", f);
}

int import_ksmtuned(const char *text, size_t len, const char *filename, uint64_t mem_total, FILE *out,
		    FILE *diag)
{
	return import_ksmtuned_running(text, len, filename, mem_total, NULL, out, diag);
}

int import_ksmtuned_running(const char *text, size_t len, const char *filename, uint64_t mem_total,
			    const struct qemu_count *running, FILE *out, FILE *diag)
{
	struct imp *im;
	char *buf = NULL;
	size_t size = 0;
	FILE *f;
	int r = 0;

	if (!text && len > 0)
		return -EINVAL;
	if (!text)
		text = "";
	im = calloc(1, sizeof(*im));
	if (!im)
		return -ENOMEM;
	im->d = calloc(IMPORT_MAX_DIAGS, sizeof(*im->d));
	if (!im->d) {
		free(im);
		return -ENOMEM;
	}
	if (!filename)
		filename = "-";
	/* a long name by its end, as ksmpilotd's messages give a long path, and
	 * what would not print safely as '?', as a drop-in's name */
	text_keep_end(im->file, sizeof(im->file), filename);
	text_sanitize(im->file);
	im->total_kib = (int64_t)(mem_total / 1024); /* below 2^54: no product here overflows */
	im->running = running;

	r = read_lines(im, text, len);
	if (r < 0)
		goto out;
	f = open_memstream(&buf, &size);
	if (!f) {
		r = -ENOMEM;
		goto out;
	}
	emit_header(im, f);
	emit_keys(im, f);
	emit_obsolete(im);
	qsort(im->d, im->nd, sizeof(*im->d), diag_order);
	emit_notes(im, f);
	if (fclose(f) != 0 || !buf) {
		r = -ENOMEM;
		goto out;
	}
	if (out && (fwrite(buf, 1, size, out) != size || fflush(out) != 0))
		r = -EIO;
	if (diag) {
		for (unsigned i = 0; i < im->nd; i++) {
			const struct diag_entry *e = &im->d[i];
			const char *sev = e->sev == SEV_ERROR ? "error" : "warning";
			if (e->line)
				fprintf(diag, "%s:%u: %s: %s\n", im->file, e->line, sev, e->msg);
			else
				fprintf(diag, "%s: %s: %s\n", im->file, sev, e->msg);
		}
		if (im->dropped)
			fprintf(diag, "%s: ... and %u more\n", im->file, im->dropped);
		if (fflush(diag) != 0 || ferror(diag))
			r = -EIO;
	}
	if (r == 0)
		r = im->errors > INT_MAX ? INT_MAX : (int)im->errors;
out:
	free(buf);
	free(im->d);
	free(im);
	return r;
}
