/* config.c - INI configuration: one table of keys, one parse path.
 *
 * inih splits lines into sections and key/value pairs. Everything it would
 * get wrong quietly is handled before it sees a line, by our own line reader
 * (cfg_next_line): overlong lines (inih would split them and shift every
 * later line number), NUL bytes and control characters, indented lines
 * (inih would take them as continuations of the previous value), '#'
 * comments after a value, and lines that are neither a section nor a key.
 * The reader counts lines itself, so every error names FILE:LINE. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* T_PERCENT: a number in percent, written "25" or "25%" */
enum key_type { T_BOOL, T_U64, T_DOUBLE, T_DURATION, T_SIZE, T_STRING, T_ENUM, T_PERCENT };

struct key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset;
	double min, max;               /* U64, DOUBLE, DURATION (ms), SIZE (bytes) */
	const char *const *names;      /* ENUM: NULL-terminated */
	const int *values;             /* ENUM: value for each name */
	size_t len;                    /* STRING: buffer size */
	const char *def;
	const char *help;
};

static const char *const on_exit_names[] = { "restore", "leave", "stop", NULL };
static const int on_exit_values[] = { ON_EXIT_RESTORE, ON_EXIT_LEAVE, ON_EXIT_STOP };
static const char *const advisor_names[] = { "takeover", "defer", NULL };
static const int advisor_values[] = { ADVISOR_TAKEOVER, ADVISOR_DEFER };
static const char *const man_names[] = { "keep", "0", "1", NULL };
static const int man_values[] = { MAN_KEEP, MAN_OFF, MAN_ON };
static const char *const level_names[] = { "err", "warning", "notice", "info", "debug", NULL };
static const int level_values[] = { LOGL_ERR, LOGL_WARNING, LOGL_NOTICE, LOGL_INFO, LOGL_DEBUG };

#define OFF(f) offsetof(struct cfg, f)
#define TiB (1024.0 * 1024 * 1024 * 1024)
#define DAY_MS (86400.0 * 1000)

static const struct key keys[] = {
	/* [daemon] */
	{ "daemon", "interval", T_DURATION, OFF(interval_ms), 100, 600000, NULL, NULL, 0,
	  "1s", "time between two samples and decisions while ksmd works" },
	{ "daemon", "idle_interval", T_DURATION, OFF(idle_interval_ms), 100, 600000, NULL, NULL, 0,
	  "2s", "time between two samples while ksmd idles or is stopped (at least interval); new memory is noticed within it" },
	{ "daemon", "dry_run", T_BOOL, OFF(dry_run), 0, 0, NULL, NULL, 0,
	  "no", "decide and log, but write nothing to sysfs" },
	{ "daemon", "on_exit", T_ENUM, OFF(on_exit), 0, 0, on_exit_names, on_exit_values, 0,
	  "restore", "on SIGTERM: restore the knobs found at start-up, leave them, or stop ksmd (run=0)" },
	{ "daemon", "kernel_advisor", T_ENUM, OFF(kernel_advisor), 0, 0, advisor_names, advisor_values, 0,
	  "takeover", "kernel scan-time advisor: switch it off while running (takeover) or leave pages_to_scan to it (defer)" },
	{ "daemon", "state_dir", T_STRING, OFF(state_dir), 0, 0, NULL, NULL, CFG_PATH_MAX,
	  KSMPILOT_RUNSTATEDIR, "directory for the start-up snapshot, the instance lock and the state file" },
	{ "daemon", "log_level", T_ENUM, OFF(log_level), 0, 0, level_names, level_values, 0,
	  "info", "lowest priority logged: err, warning, notice, info or debug" },
	/* [memory] */
	{ "memory", "target_available", T_SIZE, OFF(target_available), 0, 64 * TiB, NULL, NULL, 0,
	  "20%", "setpoint: KSM works while MemAvailable is below this (size or % of MemTotal)" },
	{ "memory", "stop_margin", T_SIZE, OFF(stop_margin), 0, 64 * TiB, NULL, NULL, 0,
	  "5%", "hysteresis: pressure counts as gone once MemAvailable exceeds target_available by this" },
	{ "memory", "stop_delay", T_DURATION, OFF(stop_delay_ms), 0, DAY_MS, NULL, NULL, 0,
	  "5min", "ksmd is stopped (run=0, merged pages stay merged) after this long without pressure" },
	{ "memory", "psi_threshold", T_PERCENT, OFF(psi_threshold), 0, 100, NULL, NULL, 0,
	  "0", "memory PSI 'some avg10' (%) above which stalls count as pressure; 0 turns it off" },
	{ "memory", "guest_cmdline", T_STRING, OFF(guest_cmdline), 0, 0, NULL, NULL, CFG_STR_MAX,
	  "", "extended regex on command lines; the RSS of matching processes counts as committed memory; empty turns it off" },
	{ "memory", "guest_scan_interval", T_DURATION, OFF(guest_scan_interval_ms), 10000, DAY_MS, NULL, NULL, 0,
	  "1min", "how often /proc is scanned for guest_cmdline processes" },
	/* [controller] */
	{ "controller", "kp", T_DOUBLE, OFF(kp), 0, 1000, NULL, NULL, 0,
	  "10", "proportional gain on the memory error (fraction of MemTotal)" },
	{ "controller", "ki", T_DOUBLE, OFF(ki), 0, 100, NULL, NULL, 0,
	  "0.5", "integral gain, per second" },
	{ "controller", "kd", T_DOUBLE, OFF(kd), 0, 100000, NULL, NULL, 0,
	  "20", "derivative gain on falling MemAvailable, in seconds" },
	{ "controller", "derivative_filter", T_DURATION, OFF(derivative_filter_ms), 0, 3600000, NULL, NULL, 0,
	  "10s", "time constant of the low-pass filters on the derivative and on the error P follows" },
	{ "controller", "max_cpu", T_PERCENT, OFF(max_cpu), 1, 100, NULL, NULL, 0,
	  "25", "cap on ksmd CPU, in % of one core, on average" },
	{ "controller", "max_cpu_burst", T_PERCENT, OFF(max_cpu_burst), 1, 100, NULL, NULL, 0,
	  "50", "ksmd may use up to this (% of one core) while the burst allowance saved below max_cpu lasts; at or below max_cpu, no burst" },
	{ "controller", "burst_duration", T_DURATION, OFF(burst_duration_ms), 0, 3600000, NULL, NULL, 0,
	  "1min", "how long a full burst allowance lasts at max_cpu_burst; 0 turns bursts off" },
	{ "controller", "idle_max_cpu", T_PERCENT, OFF(idle_max_cpu), 0.01, 100, NULL, NULL, 0,
	  "1", "cap on the idle scan (nothing worth merging), in % of one core, on average over an hour; at most half of max_cpu is used" },
	{ "controller", "idle_scan_period", T_DURATION, OFF(idle_scan_period_ms), 10000, 7 * DAY_MS, NULL, NULL, 0,
	  "10min", "once nothing is worth merging: one full scan per this period, within idle_max_cpu" },
	{ "controller", "min_yield", T_DOUBLE, OFF(min_yield), 0, 1, NULL, NULL, 0,
	  "0.001", "pages merged per page scanned below which scanning is not worth more than the idle rate" },
	{ "controller", "full_yield", T_DOUBLE, OFF(full_yield), 0, 1, NULL, NULL, 0,
	  "0.02", "pages merged per page scanned at which scanning gets full effort" },
	{ "controller", "volatile_limit", T_PERCENT, OFF(volatile_limit), 0, 100, NULL, NULL, 0,
	  "50", "share (%) of volatile among unshared+volatile pages above which effort backs off" },
	{ "controller", "churn_loss", T_PERCENT, OFF(churn_loss), 0.1, 25, NULL, NULL, 0,
	  "2", "share (%) of the merged pages that writes may leave unmerged, waiting for ksmd's next visit; the scan that keeps them to it costs ksmd CPU roughly in inverse proportion" },
	{ "controller", "wake_threshold", T_SIZE, OFF(wake_threshold), 0, 64 * TiB, NULL, NULL, 0,
	  "0.25%", "new memory (anonymous memory growth beyond its noise, summed over the samples, or growth of the pages KSM tracks) that starts a probe; at least 16M" },
	/* [scan] */
	{ "scan", "pages_to_scan_min", T_U64, OFF(pages_to_scan_min), 1, 1000000, NULL, NULL, 0,
	  "100", "lower bound written to pages_to_scan" },
	{ "scan", "pages_to_scan_max", T_U64, OFF(pages_to_scan_max), 1, 1000000, NULL, NULL, 0,
	  "5000", "upper bound written to pages_to_scan" },
	{ "scan", "sleep_ms_min", T_U64, OFF(sleep_ms_min), 1, 60000, NULL, NULL, 0,
	  "10", "lower bound written to sleep_millisecs" },
	{ "scan", "sleep_ms_max", T_U64, OFF(sleep_ms_max), 1, 60000, NULL, NULL, 0,
	  "1000", "upper bound written to sleep_millisecs" },
	/* [kernel] */
	{ "kernel", "merge_across_nodes", T_ENUM, OFF(merge_across_nodes), 0, 0, man_names, man_values, 0,
	  "keep", "set merge_across_nodes at start-up (0 or 1; only possible while nothing is merged) or keep it" },
	/* [metrics] */
	{ "metrics", "textfile", T_STRING, OFF(textfile), 0, 0, NULL, NULL, CFG_PATH_MAX,
	  "", "Prometheus node_exporter textfile (*.prom) to write the controller's state to; empty turns it off" },
	{ "metrics", "history_period", T_DURATION, OFF(history_period_ms), 0, 7 * DAY_MS, NULL, NULL, 0,
	  "1h", "period of the summary record written to the journal for ksmpilotctl history; 0 turns it off" },
	{ "metrics", "guest_series", T_U64, OFF(guest_series), 0, 1000, NULL, NULL, 0,
	  "20", "guests (by saving) with ksmpilot_guest_* series of their own in the textfile; the rest are summed as guest=\"other\"" },
};

#define NKEYS ARRAY_SIZE(keys)
_Static_assert(ARRAY_SIZE(keys) <= CFG_MAX_KEYS, "raise CFG_MAX_KEYS");
/* add_source_file() relies on a free slot once unused names are dropped. */
_Static_assert(CFG_MAX_FILES > ARRAY_SIZE(keys) && CFG_MAX_FILES <= 256, "CFG_MAX_FILES");
/* A key name (at most 64 characters, see clean_line), " =", the marker of
 * a long value, '\n' and the NUL fit inih's line buffer. */
_Static_assert(64 + 5 <= INI_MAX_LINE, "INI_MAX_LINE");
static const char *const sections[] = { "daemon", "memory", "controller", "scan", "kernel", "metrics" };

const char *on_exit_name(int v)
{
	return (unsigned)v < ARRAY_SIZE(on_exit_values) ? on_exit_names[v] : "?";
}

const char *advisor_policy_name(int v)
{
	return (unsigned)v < ARRAY_SIZE(advisor_values) ? advisor_names[v] : "?";
}

void cfg_error(struct cfg_errors *errs, const char *fmt, ...)
{
	va_list ap;
	/* a message quotes at most a line and a path; marked, each byte
	 * becomes at most 4 */
	char raw[2 * CFG_MAX_LINE_LEN + 2 * CFG_PATH_MAX], shown[4 * sizeof(raw)];
	char *out;
	size_t n, head, tail;

	if (errs->n >= CFG_MAX_ERRORS) {
		errs->dropped++;
		return;
	}
	out = errs->msg[errs->n++];
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* the operator's text quoted in it: a no-break space or a BOM inside
	 * a key would make "unknown key 'interval'" look wrong */
	text_mark_invisible(raw, shown, sizeof(shown));
	n = strlen(shown);
	if (n < CFG_ERROR_LEN) {
		memcpy(out, shown, n + 1);
		return;
	}
	/* too long: the start (FILE:LINE: and the key) and the end (why), the
	 * middle of what it quotes left out; both cut between two characters
	 * of the message, before they are marked, so never inside a mark */
	n = strlen(raw);
	for (tail = n > CFG_ERROR_LEN / 3 ? n - CFG_ERROR_LEN / 3 : 0;; tail++) {
		if (utf8_inside_char(raw, tail))
			continue;
		text_mark_invisible(raw + tail, shown, sizeof(shown));
		if (strlen(shown) <= CFG_ERROR_LEN / 3)
			break;
	}
	head = CFG_ERROR_LEN - 3 - strlen(shown);
	text_mark_invisible(raw, out, head);
	head = strlen(out);
	snprintf(out + head, CFG_ERROR_LEN - head, "...%s", shown);
}

/* A file as messages name it: a third of a message at most, so that a
 * message cut to CFG_ERROR_LEN by cfg_error() keeps FILE:LINE: whatever it
 * quotes. */
#define SHOWN_PATH_LEN (CFG_ERROR_LEN / 3 + 1)

/* path in at most SHOWN_PATH_LEN - 1 bytes once cfg_error() marked what
 * shows as nothing in it (<U+XXXX>, \xNN: up to 4 bytes a byte): a longer
 * one keeps its end (the file's own name) behind "...", cut between two
 * characters. */
static void shorten_path(const char *path, char out[SHOWN_PATH_LEN])
{
	char marked[4 * SHOWN_PATH_LEN]; /* what fits, marked, and no more */
	size_t n = strlen(path), from;

	if (n < SHOWN_PATH_LEN && strlen(text_mark_invisible(path, marked, sizeof(marked))) < SHOWN_PATH_LEN) {
		memcpy(out, path, n + 1);
		return;
	}
	for (from = n > SHOWN_PATH_LEN - 4 ? n - (SHOWN_PATH_LEN - 4) : 0; from < n; from++)
		if (!utf8_inside_char(path, from) &&
		    strlen(text_mark_invisible(path + from, marked, sizeof(marked))) <= SHOWN_PATH_LEN - 4)
			break;
	snprintf(out, SHOWN_PATH_LEN, "...%s", path + from);
}

static void *field(struct cfg *cfg, const struct key *k)
{
	return (char *)cfg + k->offset;
}

static const void *cfield(const struct cfg *cfg, const struct key *k)
{
	return (const char *)cfg + k->offset;
}

static const char *type_name(enum key_type t)
{
	static const char *const n[] = { "bool", "integer", "number", "duration", "size", "string", "choice",
					  "percent" };
	return n[t];
}

/* Parse value into the key's field. On failure, write a message (without
 * location) to why and return negative. */
static int set_value(struct cfg *cfg, const struct key *k, const char *value, char *why, size_t why_len)
{
	void *p = field(cfg, k);
	int r = 0;

	if (*value == '\0' && k->type != T_STRING) {
		snprintf(why, why_len, "%s: empty value", k->name);
		return -EINVAL;
	}
	switch (k->type) {
	case T_BOOL:
		r = parse_bool(value, p);
		if (r < 0)
			snprintf(why, why_len, "%s: '%s' is not a boolean (yes/no, true/false, on/off, 1/0)",
				 k->name, value);
		break;
	case T_U64: {
		uint64_t v;
		r = parse_u64(value, (uint64_t)k->min, (uint64_t)k->max, &v);
		if (r == -ERANGE)
			snprintf(why, why_len, "%s: %s is out of range [%.0f, %.0f]", k->name, value, k->min, k->max);
		else if (r < 0)
			snprintf(why, why_len, "%s: '%s' is not a non-negative integer", k->name, value);
		else
			*(uint64_t *)p = v;
		break;
	}
	case T_DOUBLE:
	case T_PERCENT: {
		double v;
		char num[CFG_STR_MAX];
		size_t n = strlen(value);

		/* a key in percent takes "25" and "25%" alike */
		while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
			n--;
		if (k->type == T_PERCENT && n > 0 && n < sizeof(num) && value[n - 1] == '%') {
			memcpy(num, value, n - 1);
			num[n - 1] = '\0';
			value = num;
		}
		r = parse_double(value, k->min, k->max, &v);
		if (r == -ERANGE)
			snprintf(why, why_len, "%s: %s%s is out of range [%g, %g]", k->name, value,
				 value == num ? "%" : "", k->min, k->max);
		else if (r < 0)
			snprintf(why, why_len, "%s: '%s%s' is not a number%s", k->name, value, value == num ? "%" : "",
				 k->type == T_PERCENT ? " (a percentage, e.g. 25 or 25%)" : "");
		else
			*(double *)p = v;
		break;
	}
	case T_DURATION: {
		uint64_t v;
		char lo[32], hi[32];
		r = parse_duration_ms(value, (uint64_t)k->min, (uint64_t)k->max, &v);
		duration_format((uint64_t)k->min, lo, sizeof(lo));
		duration_format((uint64_t)k->max, hi, sizeof(hi));
		if (r == -ERANGE)
			snprintf(why, why_len, "%s: %s is out of range [%s, %s]", k->name, value, lo, hi);
		else if (r < 0)
			snprintf(why, why_len, "%s: '%s' is not a duration (e.g. 500ms, 10s, 5min, 1h)", k->name, value);
		else
			*(uint64_t *)p = v;
		break;
	}
	case T_SIZE: {
		struct size_spec v;
		memset(&v, 0, sizeof(v)); /* padding too: configs compare with memcmp */
		r = parse_size(value, (uint64_t)k->max, &v);
		if (r == -ERANGE)
			snprintf(why, why_len, "%s: %s is out of range (0..100%% or 0..%.0fT)", k->name, value,
				 k->max / TiB);
		else if (r == -EDOM)
			snprintf(why, why_len, "%s: '%s' is not a whole number of bytes; a number without a unit "
				 "counts bytes, and a share of memory is written with %% (e.g. 20%%)", k->name, value);
		else if (r < 0)
			snprintf(why, why_len, "%s: '%s' is not a size (e.g. 20%%, 512M, 4G)", k->name, value);
		else
			*(struct size_spec *)p = v;
		break;
	}
	case T_STRING:
		if (strlen(value) >= k->len) {
			snprintf(why, why_len, "%s: value is longer than %zu characters", k->name, k->len - 1);
			r = -ERANGE;
		} else {
			memcpy(p, value, strlen(value) + 1);
		}
		break;
	case T_ENUM:
		r = -EINVAL;
		for (unsigned i = 0; k->names[i]; i++) {
			if (strcmp(value, k->names[i]) == 0) {
				*(int *)p = k->values[i];
				r = 0;
				break;
			}
		}
		if (r < 0) {
			char list[128] = "";
			for (unsigned i = 0; k->names[i]; i++) {
				strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
				strncat(list, k->names[i], sizeof(list) - strlen(list) - 1);
			}
			snprintf(why, why_len, "%s: '%s' is not one of: %s", k->name, value, list);
		}
		break;
	}
	return r;
}

void cfg_defaults(struct cfg *cfg)
{
	char why[CFG_ERROR_LEN];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NKEYS; i++) {
		/* The defaults are constants checked by the test suite. */
		if (set_value(cfg, &keys[i], keys[i].def, why, sizeof(why)) < 0)
			abort();
	}
}

static void format_value(const struct cfg *cfg, const struct key *k, char *buf, size_t len)
{
	const void *p = cfield(cfg, k);

	switch (k->type) {
	case T_BOOL:
		snprintf(buf, len, "%s", *(const bool *)p ? "yes" : "no");
		break;
	case T_U64:
		snprintf(buf, len, "%" PRIu64, *(const uint64_t *)p);
		break;
	case T_DOUBLE:
	case T_PERCENT:
		double_format(*(const double *)p, buf, len); /* %g would round: the dump must read back */
		break;
	case T_DURATION:
		duration_format(*(const uint64_t *)p, buf, len);
		break;
	case T_SIZE:
		size_format(p, buf, len);
		break;
	case T_STRING:
		snprintf(buf, len, "%s", (const char *)p);
		break;
	case T_ENUM:
		snprintf(buf, len, "?");
		for (unsigned i = 0; k->names[i]; i++)
			if (k->values[i] == *(const int *)p)
				snprintf(buf, len, "%s", k->names[i]);
		break;
	}
}

void cfg_dump(const struct cfg *cfg, FILE *f)
{
	const char *sect = NULL, *sep;
	char buf[CFG_PATH_MAX + 32];

	for (size_t i = 0; i < NKEYS; i++) {
		if (!sect || strcmp(sect, keys[i].section) != 0) {
			fprintf(f, "%s[%s]\n", sect ? "\n" : "", keys[i].section);
			sect = keys[i].section;
		}
		format_value(cfg, &keys[i], buf, sizeof(buf));
		/* The dump must read back. A string may start with ';' or '#'
		 * ("key =#x"): after a space it would be a comment. And it may
		 * fill a line ("key=xxx..."): " = " would make it too long. */
		if (strlen(keys[i].name) + 3 + strlen(buf) > CFG_MAX_LINE_LEN)
			sep = "=";
		else if (buf[0] == ';' || buf[0] == '#')
			sep = " =";
		else
			sep = " = ";
		fprintf(f, "%s%s%s\n", keys[i].name, sep, buf);
	}
}

/* The values a key takes, in the syntax of the file. */
static void key_range(const struct key *k, char *buf, size_t len)
{
	char lo[32], hi[32];

	buf[0] = '\0';
	switch (k->type) {
	case T_U64:
		snprintf(buf, len, "%.0f..%.0f", k->min, k->max);
		break;
	case T_DOUBLE:
	case T_PERCENT:
		snprintf(buf, len, "%g..%g", k->min, k->max);
		break;
	case T_DURATION:
		duration_format((uint64_t)k->min, lo, sizeof(lo));
		duration_format((uint64_t)k->max, hi, sizeof(hi));
		snprintf(buf, len, "%s..%s", lo, hi);
		break;
	case T_SIZE:
		snprintf(buf, len, "0..100%% or 0..%.0fT", k->max / TiB);
		break;
	case T_ENUM:
		for (unsigned i = 0; k->names[i]; i++) {
			strncat(buf, i ? ", " : "", len - strlen(buf) - 1);
			strncat(buf, k->names[i], len - strlen(buf) - 1);
		}
		break;
	case T_BOOL:
		snprintf(buf, len, "yes, no");
		break;
	case T_STRING:
		snprintf(buf, len, "up to %zu characters", k->len - 1);
		break;
	}
}

unsigned cfg_key_count(void)
{
	return (unsigned)NKEYS;
}

const struct cfg_key_info *cfg_key(unsigned i, struct cfg_key_info *out)
{
	if (i >= NKEYS)
		return NULL;
	out->section = keys[i].section;
	out->name = keys[i].name;
	out->type = type_name(keys[i].type);
	out->def = keys[i].def;
	out->help = keys[i].help;
	key_range(&keys[i], out->range, sizeof(out->range));
	return out;
}

/* ---- parsing -------------------------------------------------------- */

struct parse_ctx {
	struct cfg *cfg;
	struct cfg_errors *errs;
	const char *file;              /* file_shown: as the messages name it */
	char file_shown[SHOWN_PATH_LEN];
	const char *p, *end;           /* the rest of the text */
	unsigned line;                 /* number of the line inih is handling */
	bool section_known;
	unsigned file_index;           /* into cfg->src.file[] */
	unsigned set_line[NKEYS];      /* where each key was set in this file */
	/* inih's line buffer (INI_MAX_LINE) is shorter than a line may be: a
	 * longer "key = value" reaches inih as "key=" and its value is kept
	 * here for cfg_handler */
	bool long_pending;
	char long_value[CFG_MAX_LINE_LEN + 1];
	char work[CFG_MAX_LINE_LEN + 1];
};

/* Edit distance (insertions, deletions, substitutions and transpositions
 * of neighbours), ignoring case, for "did you mean" hints. Names longer
 * than 63 characters are no key's: they get UINT_MAX. */
static unsigned edit_distance(const char *a, const char *b)
{
	enum { N = 64 };
	unsigned d[N + 1][N + 1];
	size_t la = strlen(a), lb = strlen(b);

	if (la > N || lb > N)
		return UINT_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (unsigned)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
			unsigned v = d[i - 1][j - 1] + (ca != cb);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/* Close enough to suggest: a typo or two, more in a long name. */
static bool near_miss(const char *typed, const char *name, unsigned *best)
{
	unsigned dist = edit_distance(typed, name), len = (unsigned)strlen(name);
	unsigned limit = len / 4 > 2 ? len / 4 : 2;

	if (dist > limit || dist >= len || dist >= *best)
		return false;
	*best = dist;
	return true;
}

/* The section nearest to s, or NULL. */
static const char *suggest_section(const char *s)
{
	const char *hit = NULL;
	unsigned best = UINT_MAX;

	for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
		if (near_miss(s, sections[i], &best))
			hit = sections[i];
	return hit;
}

/* The key nearest to name, preferring one in section; NULL if none is near. */
static const struct key *suggest_key(const char *section, const char *name)
{
	const struct key *hit = NULL;
	unsigned best = UINT_MAX;

	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && near_miss(name, keys[i].name, &best))
			hit = &keys[i];
	if (hit)
		return hit;
	for (size_t i = 0; i < NKEYS; i++)
		if (near_miss(name, keys[i].name, &best))
			hit = &keys[i];
	return hit;
}

static bool known_section(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
		if (strcmp(s, sections[i]) == 0)
			return true;
	return false;
}

static void trim_right(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

/* Remove a comment starting with ';' or '#' that follows whitespace. */
static void strip_inline_comment(char *s)
{
	for (char *c = s + 1; *c; c++) {
		if ((*c == ';' || *c == '#') && (c[-1] == ' ' || c[-1] == '\t')) {
			*c = '\0';
			break;
		}
	}
	trim_right(s);
}

/* A line refused before its section header was read: when it is one, the
 * keys under it are ignored, as under a malformed header, rather than
 * blamed on the section before. */
static void refused_line(struct parse_ctx *c, const char *s, size_t len)
{
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	if (len > 0 && *s == '[')
		c->section_known = false;
}

/* Check one raw line. Returns the text inih should see ("" to skip it) in
 * out, which holds out_len bytes. */
static void clean_line(struct parse_ctx *c, const char *raw, size_t n, char *out, size_t out_len)
{
	const char *s = raw;
	char *line, *sep;
	size_t len = n, name_len;

	out[0] = '\0';
	if (len > 0 && s[len - 1] == '\r')
		len--;
	if (c->line == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
		s += 3; /* UTF-8 byte order mark */
		len -= 3;
	}
	if (memchr(s, '\0', len)) {
		cfg_error(c->errs, "%s:%u: binary data (NUL byte) in the file", c->file, c->line);
		refused_line(c, s, len);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			cfg_error(c->errs, "%s:%u: control character 0x%02x in the line", c->file, c->line, ch);
			refused_line(c, s, len);
			return;
		}
	}
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	c->long_pending = false;
	if (len > CFG_MAX_LINE_LEN) {
		/* Name the key when the line is "key = ...": for a string
		 * value this is the "too long" error. */
		size_t k = 0, e;
		while (k < len && k < 64 && (isalnum((unsigned char)s[k]) || s[k] == '_'))
			k++;
		for (e = k; e < len && (s[e] == ' ' || s[e] == '\t'); e++)
			;
		if (k > 0 && e < len && (s[e] == '=' || s[e] == ':'))
			cfg_error(c->errs, "%s:%u: %.*s: line is longer than %d characters", c->file, c->line, (int)k,
				  s, CFG_MAX_LINE_LEN);
		else
			cfg_error(c->errs, "%s:%u: line is longer than %d characters", c->file, c->line,
				  CFG_MAX_LINE_LEN);
		refused_line(c, s, len);
		return;
	}
	if (len == 0 || *s == ';' || *s == '#')
		return;
	memcpy(c->work, s, len);
	c->work[len] = '\0';
	strip_inline_comment(c->work);
	line = c->work;

	if (line[0] == '[') {
		char *close = strchr(line, ']');
		if (!close || close[1] != '\0') {
			cfg_error(c->errs, "%s:%u: section header must be '[name]'", c->file, c->line);
			/* inih does not see this line and stays in the previous
			 * section: ignore the keys under it, like those of an
			 * unknown section, instead of blaming them on that one. */
			c->section_known = false;
			return;
		}
		*close = '\0';
		c->section_known = known_section(line + 1);
		if (!c->section_known) {
			char plain[CFG_ERROR_LEN];
			const char *near = suggest_section(text_drop_invisible(line + 1, plain, sizeof(plain)));
			if (near)
				cfg_error(c->errs, "%s:%u: unknown section [%s]; did you mean [%s]?", c->file, c->line,
					  line + 1, near);
			else {
				char list[128] = "";
				for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
					strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
					strncat(list, sections[i], sizeof(list) - strlen(list) - 1);
				}
				cfg_error(c->errs, "%s:%u: unknown section [%s] (sections: %s)", c->file, c->line,
					  line + 1, list);
			}
		}
		*close = ']';
		/* inih tracks the section; an unknown one is ignored anyway */
		if (c->section_known && strlen(line) + 2 <= out_len)
			memcpy(out, line, strlen(line) + 1);
		return;
	}
	sep = strpbrk(line, "=:");
	if (!sep) {
		cfg_error(c->errs, "%s:%u: expected 'key = value' or '[section]', got '%s'", c->file, c->line,
			  line);
		return;
	}
	if (strlen(line) + 2 <= out_len) {
		memcpy(out, line, strlen(line) + 1);
		return;
	}
	/* too long for inih: it gets "key=", the value waits here */
	name_len = (size_t)(sep - line);
	while (name_len > 0 && (line[name_len - 1] == ' ' || line[name_len - 1] == '\t'))
		name_len--;
	if (name_len > 64 || name_len + 4 > out_len) {
		cfg_error(c->errs, "%s:%u: unknown key '%.*s...'", c->file, c->line, (int)utf8_prefix(line, 40), line);
		return;
	}
	for (sep++; *sep == ' ' || *sep == '\t'; sep++)
		;
	memcpy(c->long_value, sep, strlen(sep) + 1);
	c->long_pending = true;
	memcpy(out, line, name_len);
	memcpy(out + name_len, "=\x1f", 3);
}

/* fgets()-like reader for ini_parse_stream: hands inih one cleaned line. */
static char *cfg_next_line(char *str, int num, void *stream)
{
	struct parse_ctx *c = stream;
	const char *nl;
	size_t n;

	if (c->p >= c->end)
		return NULL;
	nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	n = nl ? (size_t)(nl - c->p) : (size_t)(c->end - c->p);
	c->line++;
	/* num is inih's buffer size: clean_line() leaves room for "\n" */
	clean_line(c, c->p, n, str, (size_t)num);
	c->p += n + (nl ? 1 : 0);
	n = strlen(str); /* at most num - 2 */
	str[n] = '\n';
	str[n + 1] = '\0';
	return str;
}

static int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *c = user;
	const struct key *near;
	/* a value is at most a line: its reason whole, for cfg_error() to
	 * cut in the middle if it must */
	char why[2 * CFG_MAX_LINE_LEN], plain[CFG_ERROR_LEN];

	if (c->long_pending) {
		value = c->long_value; /* the line was too long for inih */
		c->long_pending = false;
	}
	if (!c->section_known)
		return 1; /* already reported at the section header */
	if (section[0] == '\0') {
		const char *hint = "";
		if (strncmp(name, "KSM_", 4) == 0 || strncmp(name, "export ", 7) == 0)
			hint = " (this looks like ksmtuned.conf; convert it with 'ksmpilotctl import-ksmtuned')";
		cfg_error(c->errs, "%s:%u: key '%s' outside of any section%s", c->file, c->line, name, hint);
		return 1;
	}
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].section, section) != 0 || strcmp(keys[i].name, name) != 0)
			continue;
		if (c->set_line[i]) {
			cfg_error(c->errs, "%s:%u: %s is already set on line %u", c->file, c->line, name,
				  c->set_line[i]);
			return 1;
		}
		c->set_line[i] = c->line;
		c->cfg->src.key_file[i] = (unsigned char)c->file_index;
		c->cfg->src.key_line[i] = c->line;
		c->cfg->src.key_bad[i] = set_value(c->cfg, &keys[i], value, why, sizeof(why)) < 0;
		if (c->cfg->src.key_bad[i])
			cfg_error(c->errs, "%s:%u: %s", c->file, c->line, why);
		return 1;
	}
	/* what it reads as, without characters that show as nothing */
	text_drop_invisible(name, plain, sizeof(plain));
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].name, plain) == 0 && strcmp(keys[i].section, section) != 0) {
			cfg_error(c->errs, "%s:%u: unknown key '%s' in [%s] (it belongs in [%s])", c->file, c->line,
				  name, section, keys[i].section);
			return 1;
		}
	}
	near = suggest_key(section, plain);
	if (near && strcmp(near->section, section) == 0)
		cfg_error(c->errs, "%s:%u: unknown key '%s' in [%s]; did you mean '%s'?", c->file, c->line, name,
			  section, near->name);
	else if (near)
		cfg_error(c->errs, "%s:%u: unknown key '%s' in [%s]; did you mean '%s' in [%s]?", c->file, c->line,
			  name, section, near->name, near->section);
	else
		cfg_error(c->errs, "%s:%u: unknown key '%s' in [%s]", c->file, c->line, name, section);
	return 1;
}

/* A slot in src->file[] for the next file. When the table is full, the
 * names that no key points to any more (a later file set the key again)
 * are dropped. At most NKEYS names are in use, so a slot always frees up,
 * and the order is kept, so where() can still tell the later file. */
static unsigned add_source_file(struct cfg_source *src, const char *file)
{
	if (src->nfiles >= CFG_MAX_FILES) {
		bool used[CFG_MAX_FILES] = { false };
		unsigned char map[CFG_MAX_FILES] = { 0 };
		unsigned n = 0;

		for (size_t i = 0; i < NKEYS; i++)
			if (src->key_line[i])
				used[src->key_file[i]] = true;
		for (unsigned f = 0; f < CFG_MAX_FILES; f++) {
			if (!used[f])
				continue;
			if (f != n)
				memcpy(src->file[n], src->file[f], sizeof(src->file[n]));
			map[f] = (unsigned char)n++;
		}
		for (size_t i = 0; i < NKEYS; i++)
			if (src->key_line[i])
				src->key_file[i] = map[src->key_file[i]];
		src->nfiles = n;
	}
	/* a name too long for the slot keeps its end: a message never names
	 * another file */
	text_keep_end(src->file[src->nfiles], CFG_PATH_MAX, file);
	return src->nfiles++;
}

static int key_index(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* "FILE:LINE" of the later of two keys, or of the one that was set. */
static const char *where(const struct cfg *cfg, const char *fallback, const char *a, const char *b, char *buf,
			 size_t len)
{
	int ia = key_index(a), ib = b ? key_index(b) : -1, k = -1;
	const struct cfg_source *s = &cfg->src;
	char file[SHOWN_PATH_LEN];

	if (ia >= 0 && s->key_line[ia])
		k = ia;
	if (ib >= 0 && s->key_line[ib] &&
	    (k < 0 || s->key_file[ib] > s->key_file[k] ||
	     (s->key_file[ib] == s->key_file[k] && s->key_line[ib] > s->key_line[k])))
		k = ib;
	if (k < 0) {
		shorten_path(fallback, file);
		snprintf(buf, len, "%s", file);
	} else {
		shorten_path(s->file[s->key_file[k]], file);
		snprintf(buf, len, "%s:%u", file, s->key_line[k]);
	}
	return buf;
}

int cfg_parse_string(struct cfg *cfg, const char *text, size_t len, const char *filename,
		     struct cfg_errors *errs)
{
	struct parse_ctx *c;
	unsigned before = errs->n + errs->dropped;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cfg = cfg;
	c->errs = errs;
	shorten_path(filename, c->file_shown);
	c->file = c->file_shown;
	c->p = text;
	c->end = text + len;
	c->section_known = true;
	c->file_index = add_source_file(&cfg->src, filename);
	r = ini_parse_stream(cfg_next_line, c, cfg_handler, c);
	/* cfg_handler appends to errs through c; cppcheck does not see it */
	// cppcheck-suppress knownConditionTrueFalse
	if (r > 0 && errs->n + errs->dropped == before)
		cfg_error(errs, "%s:%d: syntax error", c->file, r); /* not expected: the reader checks first */
	else if (r < 0)
		cfg_error(errs, "%s: cannot parse (error %d)", c->file, r);
	free(c);
	return errs->n + errs->dropped > before ? -EINVAL : 0;
}

void cfg_dump_origins(const struct cfg *cfg, FILE *f)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	size_t k = 0;

	fprintf(f, "# The configuration in force. Each key set in a file has FILE:LINE above\n"
		   "# it; the others are at their default.\n");
	if (!m)
		return;
	cfg_dump(cfg, m);
	if (fclose(m) != 0 || !text) {
		free(text);
		return;
	}
	/* cfg_dump() writes the keys in table order, one a line */
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] != '[' && k < NKEYS) {
			if (cfg->src.key_line[k])
				fprintf(f, "# %s:%u\n", cfg->src.file[cfg->src.key_file[k]], cfg->src.key_line[k]);
			k++;
		} else if (line[0] == '[' && line != text) {
			fputc('\n', f);
		}
		fprintf(f, "%s\n", line);
	}
	free(text);
}

/* The key named "name" or "section.name"; NULL if none. */
static const struct key *find_key(const char *spec)
{
	const char *dot = strchr(spec, '.');

	for (size_t i = 0; i < NKEYS; i++) {
		if (!dot && strcmp(keys[i].name, spec) == 0)
			return &keys[i];
		if (dot && strlen(keys[i].section) == (size_t)(dot - spec) &&
		    strncmp(keys[i].section, spec, (size_t)(dot - spec)) == 0 && strcmp(keys[i].name, dot + 1) == 0)
			return &keys[i];
	}
	return NULL;
}

int cfg_dump_keys(const struct cfg *cfg, char *const *names, unsigned n, FILE *f, char *why, size_t why_len)
{
	char buf[CFG_PATH_MAX + 32];

	for (unsigned i = 0; i < n; i++) {
		if (!find_key(names[i])) {
			const char *dot = strchr(names[i], '.');
			const struct key *near = suggest_key("", dot ? dot + 1 : names[i]);
			snprintf(why, why_len, "no configuration key '%s'%s%s%s", names[i],
				 near ? "; did you mean '" : "", near ? near->name : "", near ? "'?" : "");
			return -ENOENT;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		const struct key *k = find_key(names[i]);
		format_value(cfg, k, buf, sizeof(buf));
		fprintf(f, "%s = %s\n", k->name, buf);
	}
	return 0;
}

/* Whether path lies in dir (equal, or below it). */
static bool path_in(const char *path, const char *dir, size_t dir_len)
{
	while (dir_len > 1 && dir[dir_len - 1] == '/')
		dir_len--;
	if (strncmp(path, dir, dir_len) != 0)
		return false;
	return path[dir_len] == '\0' || path[dir_len] == '/' || (dir_len == 1 && dir[0] == '/');
}

/* Whether path lies in one of the space-separated directories of list. */
static bool path_in_list(const char *path, const char *list)
{
	const char *p = list;

	while (*p) {
		size_t n;
		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n && path_in(path, p, n))
			return true;
		p += n;
	}
	return false;
}

const char *cfg_where(const struct cfg *cfg, const char *fallback, const char *key, char *buf, size_t len)
{
	return where(cfg, fallback, key, NULL, buf, len);
}

int cfg_check_writable(const struct cfg *cfg, const char *filename, const char *writable,
		       struct cfg_errors *warns)
{
	unsigned before = warns->n + warns->dropped;
	char w[CFG_PATH_MAX + 16];

	if (!path_in_list(cfg->state_dir, writable))
		cfg_error(warns, "%s: warning: state_dir %s is not writable under ksmpilot.service (writable: %s): "
			  "the lock and the state file would fail with EROFS; add it with a drop-in, see "
			  "ksmpilot.conf(5)", where(cfg, filename, "state_dir", NULL, w, sizeof(w)), cfg->state_dir,
			  writable);
	if (cfg->textfile[0]) {
		/* the file is replaced through a temporary file in its directory */
		char dir[CFG_PATH_MAX], *slash;
		snprintf(dir, sizeof(dir), "%s", cfg->textfile);
		slash = strrchr(dir, '/');
		if (slash)
			slash[slash == dir] = '\0';
		if (!path_in_list(dir, writable))
			cfg_error(warns, "%s: warning: textfile %s is not writable under ksmpilot.service "
				  "(writable: %s): writing it would fail with EROFS; add %s with a drop-in, see "
				  "ksmpilot.conf(5)", where(cfg, filename, "textfile", NULL, w, sizeof(w)), cfg->textfile,
				  writable, dir);
	}
	return warns->n + warns->dropped > before ? 1 : 0;
}

int cfg_check_quotes(const struct cfg *cfg, const char *filename, struct cfg_errors *warns)
{
	const char *v = cfg->guest_cmdline;
	size_t n = strlen(v);
	char w[CFG_PATH_MAX + 16];

	if (n < 2 || (v[0] != '"' && v[0] != '\'') || v[n - 1] != v[0])
		return 0;
	cfg_error(warns, "%s: warning: guest_cmdline %s is matched with its quotes (a value is taken as written); "
		  "remove them unless the command lines hold them", where(cfg, filename, "guest_cmdline", NULL, w,
		  sizeof(w)), v);
	return 1;
}

/* glibc's regcomp() unrolls repetitions: "x{m,n}" becomes n copies of x,
 * "x{m,}" m+1 and "x+" two ("xx*"). Nested and chained repetitions
 * multiply, and the cost grows faster than the copies: "a{1,32767}" took
 * 8 GiB and 20 s, "((a{0,255}){0,255}){0,255}" more than 20 GiB, and
 * "a+++...+" doubles with each '+'. So before compiling, check that the
 * unrolled expression (each character, bracket expression and group
 * counting 1) has at most REGEX_SIZE_MAX elements.
 *
 * Anchors and what can match the empty string cost far more than their
 * size: glibc copies the nodes an anchor reaches through empty transitions,
 * and a branch whose two ways can both be empty doubles them. A loop over
 * the empty string is slow even when small: "(()*){499}" takes 0.5 s,
 * "((\b)*){20}" minutes; and so are copies of it, after the "^" that
 * regcomp_search() puts before every pattern: "(()?){499}" 5.5 s, "(x*|y*)
 * {333}" 4.4 s and "((^)?){333}" 2 s, each failing at 3 GiB (the limit of
 * that run). So no '*', '+' or repetition of more than one copy applies to
 * an expression that can match the empty string ("(a*)*", "(|a)+", "()*",
 * "(a?){2}", "(^){2}"; '?' and "{0,1}" make one copy and are allowed).
 * And the anchors (^ $ \< \> \` \' count 1, \b and \B 2, each an
 * alternation of two in glibc) are at most REGEX_ANCHORS_MAX once unrolled:
 * "((\b)x?){90}" took 3.6 s, and 16 "(\b|\B)" and 71 "x?" 9.7 s and 1.3
 * GiB, 51 "(^|$)" 0.5 s and 650 MiB; at 16, 0.3 s and 53 MiB at most. A
 * ')' that closes no group is a character to glibc, but would close the
 * group that regcomp_search() puts around the pattern. Returns 0,
 * REGEX_TOO_LARGE, REGEX_EMPTY_REPEAT, REGEX_BACKREF, REGEX_ANCHORS or
 * REGEX_PAREN. */
#define REGEX_SIZE_MAX 1000
#define REGEX_ANCHORS_MAX 16
enum { REGEX_TOO_LARGE = 1, REGEX_EMPTY_REPEAT, REGEX_BACKREF, REGEX_ANCHORS, REGEX_PAREN };

/* counts saturate just above the limit */
enum { REGEX_CAP = REGEX_SIZE_MAX + 1 };

static unsigned long rx_add(unsigned long a, unsigned long b)
{
	return a + b > REGEX_CAP ? REGEX_CAP : a + b;
}

static unsigned long rx_mul(unsigned long a, unsigned long b)
{
	return b && a > REGEX_CAP / b ? REGEX_CAP : a * b;
}

/* An open group: the size of its finished elements and of the last one
 * (0: none yet), the same in anchors, and whether the branch so far, a
 * finished branch and the last element can match the empty string. */
struct rx_group {
	unsigned long sum, last;
	unsigned long asum, alast;
	bool seq_empty, alt_empty, last_empty;
};

static void rx_open(struct rx_group *g)
{
	*g = (struct rx_group){ .seq_empty = true };
}

/* the last element is followed by no repetition: add it to the branch */
static void rx_finish_last(struct rx_group *g)
{
	if (g->last) {
		g->sum = rx_add(g->sum, g->last);
		g->asum = rx_add(g->asum, g->alast);
		g->seq_empty = g->seq_empty && g->last_empty;
	}
	g->last = g->alast = 0;
}

/* a new element of one copy: a character, a bracket expression or an
 * anchor (anchors: its weight as an anchor, 0 for a character; empty: it
 * matches the empty string) */
static void rx_element(struct rx_group *g, unsigned long anchors, bool empty)
{
	rx_finish_last(g);
	g->last = 1;
	g->alast = anchors;
	g->last_empty = empty;
}

/* A repetition: how many copies regcomp() makes, whether it loops ('*', '+'
 * or "{m,}"), and whether it may match nothing. */
struct rx_repeat {
	unsigned long copies;
	bool loop, may_be_empty;
};

/* The character of the token at q inside an interval, as glibc reads it
 * there: a backslash and a character stand for the character, so "\," is
 * a comma and "\0" a digit ("a{\,32767}" is "a{0,32767}"). "\}" closes
 * nothing and "\1".."\9" are back-references: 'x', neither digit, comma
 * nor brace. *len is the token's length (0 at the end). */
static char rx_token(const char *q, size_t *len)
{
	if (q[0] == '\\' && q[1]) {
		*len = 2;
		if (q[1] == '}' || (q[1] >= '1' && q[1] <= '9'))
			return 'x';
		return q[1];
	}
	*len = q[0] != '\0';
	return q[0];
}

/* the decimal number at *q (0 when there are no digits), saturated; *q
 * moves past it */
static unsigned long rx_number(const char **q)
{
	unsigned long v = 0;
	size_t len;
	char c;

	while (isdigit((unsigned char)(c = rx_token(*q, &len)))) {
		v = rx_add(rx_mul(v, 10), (unsigned long)(c - '0'));
		*q += len;
	}
	return v;
}

/* "{m}", "{m,}", "{m,n}" or "{,n}" at p: fills r and returns the character
 * after it, or NULL when it is not a repetition (a character, or regcomp()
 * fails). */
static const char *rx_interval(const char *p, struct rx_repeat *r)
{
	const char *q = p + 1, *hi_at = NULL;
	unsigned long lo, hi;
	size_t len;
	char c = rx_token(q, &len);

	if (!isdigit((unsigned char)c) && c != ',')
		return NULL;
	lo = rx_number(&q);
	hi = lo;
	if (rx_token(q, &len) == ',') {
		q += len;
		hi_at = q;
		hi = rx_number(&q);
	}
	if (rx_token(q, &len) != '}')
		return NULL;
	r->loop = hi_at == q; /* {m,}: a comma and no digits after it */
	r->copies = r->loop ? rx_add(lo, 1) : hi > lo ? hi : lo > 0 ? lo : 1;
	r->may_be_empty = lo == 0;
	return q + len;
}

/* The ']' that closes the bracket expression opened at p; '{' and '(' in
 * it are characters. NULL when it is unterminated (regcomp() fails). */
static const char *rx_bracket_end(const char *p)
{
	p++;
	p += *p == '^';
	p += *p == ']';
	for (; *p && *p != ']'; p++) {
		if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			const char *close = strchr(p + 2, p[1]);

			while (close && close[1] != ']')
				close = strchr(close + 1, p[1]);
			if (!close)
				return NULL;
			p = close + 1;
		}
	}
	return *p ? p : NULL;
}

static int regex_check(const char *re)
{
	struct rx_group g[CFG_STR_MAX + 1];
	unsigned n = 0;
	const char *p = re;

	rx_open(&g[0]);
	while (*p) {
		struct rx_repeat r;
		const char *next;

		switch (*p) {
		case '(':
			if (n + 1 >= ARRAY_SIZE(g))
				return REGEX_TOO_LARGE;
			rx_finish_last(&g[n]);
			rx_open(&g[++n]);
			p++;
			continue;
		case ')':
			if (n == 0)
				return REGEX_PAREN;
			rx_finish_last(&g[n]);
			n--;
			g[n].last = rx_add(g[n + 1].sum, 1);
			g[n].alast = g[n + 1].asum;
			g[n].last_empty = g[n + 1].seq_empty || g[n + 1].alt_empty;
			p++;
			continue;
		case '|':
			rx_finish_last(&g[n]);
			g[n].alt_empty = g[n].alt_empty || g[n].seq_empty;
			g[n].seq_empty = true;
			p++;
			continue;
		case '*':
		case '?':
		case '+':
			r.copies = *p == '+' ? 2 : 1;
			r.loop = *p != '?';
			r.may_be_empty = *p != '+';
			p++;
			goto repeat;
		case '{':
			next = rx_interval(p, &r);
			if (!next)
				break;
			p = next;
			goto repeat;
		case '^':
		case '$':
			rx_element(&g[n], 1, true); /* an anchor matches the empty string */
			p++;
			continue;
		case '\\':
			if (!p[1])
				break;
			p++;
			/* back-references make regexec() backtrack: seconds against
			 * one crafted command line of any local user */
			if (*p >= '1' && *p <= '9')
				return REGEX_BACKREF;
			/* \b \B \< \> \` \' are anchors; \b and \B two each */
			if (strchr("bB<>`'", *p)) {
				rx_element(&g[n], *p == 'b' || *p == 'B' ? 2 : 1, true);
				p++;
				continue;
			}
			break;
		case '[':
			p = rx_bracket_end(p);
			if (!p)
				goto out;
			break;
		default:
			break;
		}
		/* one element: a character, an escape or a bracket expression */
		rx_element(&g[n], 0, false);
		p++;
		continue;
repeat:
		if ((r.loop || r.copies > 1) && g[n].last && g[n].last_empty)
			return REGEX_EMPTY_REPEAT;
		g[n].last = rx_mul(g[n].last, r.copies);
		g[n].alast = rx_mul(g[n].alast, r.copies);
		if (g[n].alast > REGEX_ANCHORS_MAX)
			return REGEX_ANCHORS;
		g[n].last_empty = g[n].last_empty || r.may_be_empty;
	}
out:
	for (;;) { /* unclosed groups: regcomp() fails, count them anyway */
		rx_finish_last(&g[n]);
		if (n == 0)
			break;
		n--;
		g[n].sum = rx_add(g[n].sum, rx_add(g[n + 1].sum, 1));
		g[n].asum = rx_add(g[n].asum, g[n + 1].asum);
	}
	if (g[0].sum > REGEX_SIZE_MAX)
		return REGEX_TOO_LARGE;
	return g[0].asum > REGEX_ANCHORS_MAX ? REGEX_ANCHORS : 0;
}

/* Whether the value of a key did not parse (see cfg_validate). */
static bool bad(const struct cfg *cfg, const char *name)
{
	int i = key_index(name);
	return i >= 0 && cfg->src.key_line[i] && cfg->src.key_bad[i];
}

/* A ".." component: "/run/../tmp", "/x/..". */
static bool has_dotdot(const char *path)
{
	for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2)
		if ((p == path || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
			return true;
	return false;
}

bool cfg_state_dir_ok(const char *path)
{
	return path[0] == '/' && !has_dotdot(path);
}

int cfg_validate(const struct cfg *cfg, const char *filename, struct cfg_errors *errs)
{
	unsigned before = errs->n + errs->dropped;
	char w[CFG_PATH_MAX + 16];

#define BAD2(a, b) (bad(cfg, a) || bad(cfg, b))
	if (!BAD2("pages_to_scan_min", "pages_to_scan_max") && cfg->pages_to_scan_min > cfg->pages_to_scan_max)
		cfg_error(errs, "%s: pages_to_scan_min (%" PRIu64 ") is above pages_to_scan_max (%" PRIu64 ")",
			  where(cfg, filename, "pages_to_scan_min", "pages_to_scan_max", w, sizeof(w)),
			  cfg->pages_to_scan_min, cfg->pages_to_scan_max);
	if (!BAD2("sleep_ms_min", "sleep_ms_max") && cfg->sleep_ms_min > cfg->sleep_ms_max)
		cfg_error(errs, "%s: sleep_ms_min (%" PRIu64 ") is above sleep_ms_max (%" PRIu64 ")",
			  where(cfg, filename, "sleep_ms_min", "sleep_ms_max", w, sizeof(w)), cfg->sleep_ms_min,
			  cfg->sleep_ms_max);
	if (!BAD2("min_yield", "full_yield") && cfg->min_yield >= cfg->full_yield) {
		char lo[32], hi[32];
		double_format(cfg->min_yield, lo, sizeof(lo));
		double_format(cfg->full_yield, hi, sizeof(hi));
		cfg_error(errs, "%s: min_yield (%s) must be below full_yield (%s)",
			  where(cfg, filename, "min_yield", "full_yield", w, sizeof(w)), lo, hi);
	}
	if (!bad(cfg, "state_dir") && cfg->state_dir[0] != '/')
		cfg_error(errs, "%s: state_dir must be an absolute path, not '%s'",
			  where(cfg, filename, "state_dir", NULL, w, sizeof(w)), cfg->state_dir);
	else if (!bad(cfg, "state_dir") && has_dotdot(cfg->state_dir))
		cfg_error(errs, "%s: state_dir must not go up with '..', as in '%s': root keeps its lock and "
			  "snapshot there", where(cfg, filename, "state_dir", NULL, w, sizeof(w)), cfg->state_dir);
	if (!bad(cfg, "textfile") && cfg->textfile[0]) {
		size_t n = strlen(cfg->textfile);
		if (cfg->textfile[0] != '/' || n < 6 || strcmp(cfg->textfile + n - 5, ".prom") != 0)
			cfg_error(errs, "%s: textfile must be an absolute path ending in .prom, not '%s'",
				  where(cfg, filename, "textfile", NULL, w, sizeof(w)), cfg->textfile);
	}
	if (!bad(cfg, "guest_cmdline") && cfg->guest_cmdline[0]) {
		regex_t re;
		int r = regex_check(cfg->guest_cmdline);
		if (r == REGEX_EMPTY_REPEAT) {
			cfg_error(errs, "%s: guest_cmdline: '%s' repeats with *, + or a {m,n} of more than one copy "
				  "something that can match the empty string, like (a*)* or (a?){2}, which can make "
				  "compiling it take seconds",
				  where(cfg, filename, "guest_cmdline", NULL, w, sizeof(w)), cfg->guest_cmdline);
		} else if (r == REGEX_BACKREF) {
			cfg_error(errs, "%s: guest_cmdline: '%s' uses a back-reference (\\1..\\9), which can make "
				  "matching a crafted command line take seconds", where(cfg, filename, "guest_cmdline",
				  NULL, w, sizeof(w)), cfg->guest_cmdline);
		} else if (r == REGEX_TOO_LARGE) {
			cfg_error(errs, "%s: guest_cmdline: '%s' is too large once its repetitions ({m,n}, +) are "
				  "unrolled: more than %d elements", where(cfg, filename, "guest_cmdline", NULL, w, sizeof(w)),
				  cfg->guest_cmdline, REGEX_SIZE_MAX);
		} else if (r == REGEX_ANCHORS) {
			cfg_error(errs, "%s: guest_cmdline: '%s' has more than %d anchors (^, $, \\<, \\>, \\`, \\'; \\b "
				  "and \\B count 2) once its repetitions are unrolled, which makes compiling it take "
				  "seconds",
				  where(cfg, filename, "guest_cmdline", NULL, w, sizeof(w)), cfg->guest_cmdline,
				  REGEX_ANCHORS_MAX);
		} else if (r == REGEX_PAREN) {
			cfg_error(errs, "%s: guest_cmdline: '%s' has a ')' that closes no group; write \\) or [)] for "
				  "the character", where(cfg, filename, "guest_cmdline", NULL, w, sizeof(w)),
				  cfg->guest_cmdline);
		} else if ((r = regcomp(&re, cfg->guest_cmdline, REG_EXTENDED | REG_NOSUB)) != 0) {
			char msg[128];
			regerror(r, &re, msg, sizeof(msg));
			cfg_error(errs, "%s: guest_cmdline: bad regular expression '%s': %s",
				  where(cfg, filename, "guest_cmdline", NULL, w, sizeof(w)), cfg->guest_cmdline, msg);
		} else {
			regfree(&re);
		}
	}
#undef BAD2
	return errs->n + errs->dropped > before ? -EINVAL : 0;
}

/* path is opened; shown (path made safe to print) names it in messages,
 * shortened as the parser's are. */
static int parse_file(struct cfg *cfg, const char *path, const char *shown, struct cfg_errors *errs,
		      bool must_exist)
{
	char *text = NULL, file[SHOWN_PATH_LEN];
	size_t len = 0;
	int r;

	r = read_file(path, CFG_MAX_FILE_SIZE, &text, &len);
	if (r == -ENOENT && !must_exist)
		return -ENOENT;
	shorten_path(shown, file);
	if (r == -EFBIG) {
		cfg_error(errs, "%s: file is larger than %zu bytes", file, CFG_MAX_FILE_SIZE);
		return -EINVAL;
	}
	if (r == -EINVAL) {
		cfg_error(errs, "%s: not a regular file", file);
		return -EINVAL;
	}
	if (r < 0) {
		cfg_error(errs, "%s: cannot read: %s", file, strerror(-r));
		return -EINVAL;
	}
	r = cfg_parse_string(cfg, text, len, shown, errs);
	free(text);
	if (r < 0 && r != -EINVAL) {
		/* -ENOMEM adds no message: without one, cfg_load would count
		 * no error and hand out a half-parsed configuration. */
		cfg_error(errs, "%s: cannot parse: %s", file, strerror(-r));
		r = -EINVAL;
	}
	return r;
}

static int conf_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".conf") == 0;
}

/* Byte order, like systemd's drop-ins: alphasort() uses strcoll(), and a
 * locale may sort "10-b.conf" after "10_a.conf" (en_US ignores
 * punctuation). */
static int name_order(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* A file name made safe for messages: a drop-in's name is anyone's who
 * can write the directory, and a newline or an escape sequence in it would
 * forge or hide lines of the error report. */
static void shown_name(char *buf, size_t len, const char *path)
{
	snprintf(buf, len, "%s", path);
	text_sanitize(buf);
}

static void note_file(struct cfg_files *files, const char *shown)
{
	if (!files)
		return;
	if (files->n < CFG_FILES_MAX)
		text_keep_end(files->name[files->n++], sizeof(files->name[0]), shown);
	else
		files->more++;
}

static int load(const char *path, bool must_exist, struct cfg *out, struct cfg_errors *errs,
		bool salvage, struct cfg_files *files)
{
	struct cfg *tmp;
	struct dirent **list = NULL;
	char dir[PATH_MAX], shown[PATH_MAX + 256], file[SHOWN_PATH_LEN];
	unsigned before = errs->n + errs->dropped;
	int n, r;

	tmp = malloc(sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	if (files)
		memset(files, 0, sizeof(*files));
	cfg_defaults(tmp);
	shown_name(shown, sizeof(shown), path);
	/* 0, -ENOENT (missing and optional) or -EINVAL (reported in errs) */
	if (parse_file(tmp, path, shown, errs, must_exist) == -ENOENT) {
		if (files)
			files->main_missing = true;
	} else {
		note_file(files, shown);
	}

	if ((size_t)snprintf(dir, sizeof(dir), "%s.d", path) >= sizeof(dir)) {
		shorten_path(shown, file);
		cfg_error(errs, "%s: path too long", file);
		goto out;
	}
	n = scandir(dir, &list, conf_filter, name_order);
	if (n < 0 && errno != ENOENT) {
		int e = errno;
		shown_name(shown, sizeof(shown), dir);
		shorten_path(shown, file);
		cfg_error(errs, "%s: cannot list drop-in directory: %s", file, strerror(e));
	}
	for (int i = 0; i < n; i++) {
		char f[PATH_MAX + 256];
		snprintf(f, sizeof(f), "%s/%s", dir, list[i]->d_name);
		shown_name(shown, sizeof(shown), f);
		parse_file(tmp, f, shown, errs, true);
		note_file(files, shown);
		free(list[i]);
	}
	free(list);
	shown_name(shown, sizeof(shown), path);
	cfg_validate(tmp, shown, errs);
out:
	r = errs->n + errs->dropped > before ? -EINVAL : 0;
	/* a salvaged state_dir that cfg_validate() refused is not looked in */
	if (r < 0 && salvage && !cfg_state_dir_ok(tmp->state_dir))
		snprintf(tmp->state_dir, sizeof(tmp->state_dir), "%s", KSMPILOT_RUNSTATEDIR);
	if (r == 0 || salvage)
		*out = *tmp;
	free(tmp);
	return r;
}

int cfg_load(const char *path, bool must_exist, struct cfg *out, struct cfg_errors *errs)
{
	return load(path, must_exist, out, errs, false, NULL);
}

int cfg_load_files(const char *path, bool must_exist, struct cfg *out, struct cfg_errors *errs,
		   struct cfg_files *files)
{
	return load(path, must_exist, out, errs, false, files);
}

int cfg_load_salvage(const char *path, bool must_exist, struct cfg *out, struct cfg_errors *errs)
{
	return load(path, must_exist, out, errs, true, NULL);
}
