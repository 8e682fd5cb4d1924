/* history.c - see history.h */
#define _GNU_SOURCE /* strptime */
#include "history.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "msgid.h"
#include "report.h"
#include "util.h"

#define MiB (1024.0 * 1024.0)

/* ---- the accumulator ---------------------------------------------------------- */

void history_start(struct history *h, uint64_t now_us, int64_t realtime)
{
	struct history keep = *h;

	memset(h, 0, sizeof(*h));
	h->start_us = now_us;
	h->start_time = realtime;
	h->have_prev = keep.have_prev;
	h->prev_have_cpu = keep.prev_have_cpu;
	h->prev_have_scanned = keep.prev_have_scanned;
	h->prev_have_full = keep.prev_have_full;
	h->prev_cpu_s = keep.prev_cpu_s;
	h->prev_full_scans = keep.prev_full_scans;
	h->prev_scanned = keep.prev_scanned;
}

/* A counter's growth since the previous tick; a counter that went back
 * (ksmd restarted, a fake tree rewritten) counts nothing. */
static uint64_t growth(int64_t now, int64_t prev)
{
	return now > prev ? (uint64_t)(now - prev) : 0;
}

void history_add(struct history *h, const struct sample *s, const struct ctl_decision *d, double dt,
		 bool mode_changed, bool probe)
{
	bool has_scanned = ksm_values_has(&s->ksm, KSM_PAGES_SCANNED);

	if (!(dt >= 0) || !isfinite(dt))
		dt = 0;
	h->ticks++;
	h->seconds += dt;
	h->mode_changes += mode_changed;
	h->probes += probe;
	if (isfinite(d->t.error)) {
		h->pressure_sum += d->t.error * dt;
		if (h->ticks == 1 || d->t.error > h->pressure_max)
			h->pressure_max = d->t.error;
	}
	h->saving_sum += report_saved_bytes(s) * dt;
	if (h->have_prev) {
		if (s->have_ksmd_cpu && h->prev_have_cpu && s->ksmd_cpu_s >= h->prev_cpu_s) {
			h->ksmd_cpu_s += s->ksmd_cpu_s - h->prev_cpu_s;
		} else if (dt > 0) {
			h->ksmd_cpu_s += d->t.cpu_share * dt;
			h->cpu_estimated = true;
		}
		if (ksm_values_has(&s->ksm, KSM_FULL_SCANS) && h->prev_have_full)
			h->full_scans += growth(s->ksm.v[KSM_FULL_SCANS], h->prev_full_scans);
		if (has_scanned && h->prev_have_scanned) {
			h->pages_scanned += growth(s->ksm.v[KSM_PAGES_SCANNED], h->prev_scanned);
			h->have_pages_scanned = true;
		}
	}
	h->have_prev = true;
	h->prev_have_cpu = s->have_ksmd_cpu;
	h->prev_cpu_s = s->ksmd_cpu_s;
	h->prev_have_full = ksm_values_has(&s->ksm, KSM_FULL_SCANS);
	if (h->prev_have_full)
		h->prev_full_scans = s->ksm.v[KSM_FULL_SCANS];
	h->prev_have_scanned = has_scanned;
	if (has_scanned)
		h->prev_scanned = s->ksm.v[KSM_PAGES_SCANNED];
}

bool history_due(const struct history *h, uint64_t now_us, uint64_t period_ms)
{
	return now_us >= h->start_us && now_us - h->start_us >= period_ms * 1000;
}

/* ---- the record: one table for writing and reading -------------------------- */

enum hr_kind { HR_DOUBLE, HR_INT, HR_LONG, HR_BOOL, HR_STRING };

struct hr_field {
	const char *name;
	enum hr_kind kind;
	size_t offset;                  /* in struct history_record */
	int decimals;                   /* HR_DOUBLE: digits written */
	bool required;
};

#define R(f) offsetof(struct history_record, f)
static const struct hr_field hr_fields[] = {
	{ "KSM_PERIOD_START", HR_INT, R(start), 0, true },
	{ "KSM_PERIOD_SECONDS", HR_DOUBLE, R(period_s), 1, true },
	{ "KSM_SAVING_BYTES", HR_DOUBLE, R(saving_bytes), 0, true },
	{ "KSM_SAVING_MEAN_BYTES", HR_DOUBLE, R(saving_mean_bytes), 0, false },
	{ "KSM_GENERAL_PROFIT", HR_DOUBLE, R(profit_bytes), 0, false },
	{ "KSM_PERIOD_KSMD_CPU_SECONDS", HR_DOUBLE, R(ksmd_cpu_s), 2, true },
	{ "KSM_KSMD_CPU_ESTIMATED", HR_BOOL, R(cpu_estimated), 0, false },
	{ "KSM_PERIOD_FULL_SCANS", HR_DOUBLE, R(full_scans), 0, true },
	{ "KSM_PERIOD_PAGES_SCANNED", HR_DOUBLE, R(pages_scanned), 0, false },
	{ "KSM_PERIOD_MODE_CHANGES", HR_DOUBLE, R(mode_changes), 0, true },
	{ "KSM_PERIOD_PROBES", HR_DOUBLE, R(probes), 0, true },
	{ "KSM_PERIOD_PRESSURE_MEAN", HR_DOUBLE, R(pressure_mean), 5, true },
	{ "KSM_PERIOD_PRESSURE_MAX", HR_DOUBLE, R(pressure_max), 5, false },
	{ "KSM_MEM_TOTAL_BYTES", HR_DOUBLE, R(mem_total_bytes), 0, false },
	{ "KSM_MODE", HR_STRING, R(mode), 0, false },
	{ "_PID", HR_LONG, R(pid), 0, false },
};
#undef R
_Static_assert(ARRAY_SIZE(hr_fields) <= 8 * sizeof(unsigned), "history_record.have");

void history_record_init(struct history_record *r)
{
	memset(r, 0, sizeof(*r));
	r->profit_bytes = NAN;
	r->pages_scanned = NAN;
	r->saving_mean_bytes = NAN;
	r->pressure_max = NAN;
	r->mem_total_bytes = NAN;
}

/* The record of the period ending at now. */
static void summarize(const struct history *h, uint64_t now_us, const struct sample *s,
		      const struct ctl_decision *d, struct history_record *r)
{
	history_record_init(r);
	r->start = h->start_time;
	r->period_s = now_us > h->start_us ? (double)(now_us - h->start_us) / 1e6 : 0;
	r->saving_bytes = report_saved_bytes(s);
	if (h->seconds > 0)
		r->saving_mean_bytes = h->saving_sum / h->seconds;
	if (ksm_values_has(&s->ksm, KSM_GENERAL_PROFIT))
		r->profit_bytes = (double)s->ksm.v[KSM_GENERAL_PROFIT];
	r->ksmd_cpu_s = h->ksmd_cpu_s;
	r->cpu_estimated = h->cpu_estimated;
	r->full_scans = (double)h->full_scans;
	if (h->have_pages_scanned)
		r->pages_scanned = (double)h->pages_scanned;
	r->mode_changes = (double)h->mode_changes;
	r->probes = (double)h->probes;
	r->pressure_mean = h->seconds > 0 ? h->pressure_sum / h->seconds : (h->ticks ? h->pressure_max : 0);
	if (h->ticks)
		r->pressure_max = h->pressure_max;
	r->mem_total_bytes = (double)s->mem_total;
	snprintf(r->mode, sizeof(r->mode), "%s", ctl_mode_name(d->mode));
}

size_t history_fields(const struct history *h, uint64_t now_us, const struct sample *s,
		      const struct ctl_decision *d, struct log_field *f, size_t max)
{
	struct history_record r;
	size_t n = 0;

	summarize(h, now_us, s, d, &r);
	if (n < max)
		log_field_set(&f[n++], "KSM_HISTORY_VERSION", "%d", HISTORY_VERSION);
	for (size_t i = 0; i < ARRAY_SIZE(hr_fields) && n < max; i++) {
		const struct hr_field *hf = &hr_fields[i];
		const void *p = (const char *)&r + hf->offset;

		if (hf->name[0] == '_')
			continue; /* set by journald */
		switch (hf->kind) {
		case HR_DOUBLE: {
			double v = *(const double *)p;
			if (isfinite(v))
				log_field_set(&f[n++], hf->name, "%.*f", hf->decimals, v);
			break;
		}
		case HR_INT:
			log_field_set(&f[n++], hf->name, "%" PRId64, *(const int64_t *)p);
			break;
		case HR_LONG:
			log_field_set(&f[n++], hf->name, "%ld", *(const long *)p);
			break;
		case HR_BOOL:
			log_field_set(&f[n++], hf->name, "%d", *(const bool *)p);
			break;
		case HR_STRING:
			log_field_set(&f[n++], hf->name, "%s", (const char *)p);
			break;
		}
	}
	return n;
}

void history_message(const struct history *h, uint64_t now_us, const struct sample *s, char *buf, size_t len)
{
	double period = now_us > h->start_us ? (double)(now_us - h->start_us) / 1e6 : 0;
	char profit[48] = "";

	if (ksm_values_has(&s->ksm, KSM_GENERAL_PROFIT))
		snprintf(profit, sizeof(profit), ", profit %.0f MiB", (double)s->ksm.v[KSM_GENERAL_PROFIT] / MiB);
	snprintf(buf, len,
		 "history: saving %.0f MiB%s; over %.0f s: ksmd %.1f s of CPU (%.1f%% of a core)%s, %" PRIu64
		 " full scans, %" PRIu64 " mode changes, %" PRIu64 " probes, mean pressure %+.4f",
		 report_saved_bytes(s) / MiB, profit, period, h->ksmd_cpu_s,
		 period > 0 ? 100.0 * h->ksmd_cpu_s / period : 0.0, h->cpu_estimated ? " (estimated)" : "",
		 h->full_scans, h->mode_changes, h->probes, h->seconds > 0 ? h->pressure_sum / h->seconds : 0.0);
}

/* ---- reading ------------------------------------------------------------------- */

int history_record_field(struct history_record *r, const char *data, size_t len)
{
	const char *eq = memchr(data, '=', len);
	char value[128];
	size_t nlen, vlen;

	if (!eq)
		return 0;
	nlen = (size_t)(eq - data);
	vlen = len - nlen - 1;
	for (size_t i = 0; i < ARRAY_SIZE(hr_fields); i++) {
		const struct hr_field *hf = &hr_fields[i];
		void *p = (char *)r + hf->offset;
		int rc = 0;

		if (strlen(hf->name) != nlen || memcmp(hf->name, data, nlen) != 0)
			continue;
		if (vlen >= sizeof(value))
			return -EBADMSG;
		memcpy(value, eq + 1, vlen);
		value[vlen] = '\0';
		switch (hf->kind) {
		case HR_DOUBLE:
			rc = parse_double(value, -1e300, 1e300, (double *)p);
			break;
		case HR_INT:
			rc = parse_i64(value, INT64_MIN, INT64_MAX, (int64_t *)p);
			break;
		case HR_LONG: {
			int64_t v;
			rc = parse_i64(value, 0, INT32_MAX, &v);
			if (rc == 0)
				*(long *)p = (long)v;
			break;
		}
		case HR_BOOL:
			rc = parse_bool(value, (bool *)p);
			break;
		case HR_STRING:
			if (vlen >= sizeof(r->mode))
				return -EBADMSG;
			memcpy(p, value, vlen + 1);
			text_sanitize((char *)p);
			break;
		}
		if (rc < 0)
			return -EBADMSG;
		r->have |= 1u << i;
		return 0;
	}
	return 0;
}

bool history_record_complete(const struct history_record *r)
{
	for (size_t i = 0; i < ARRAY_SIZE(hr_fields); i++)
		if (hr_fields[i].required && !(r->have & (1u << i)))
			return false;
	return true;
}

int history_read(const char *journal_dir, int64_t since_us, int64_t until_us, struct history_record **out,
		 size_t *n, unsigned *skipped)
{
	sd_journal *j = NULL;
	struct history_record *recs = NULL;
	size_t cap = 0, cnt = 0;
	unsigned bad = 0;
	int r;

	r = journal_dir ? sd_journal_open_directory(&j, journal_dir, 0) : sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0)
		return r;
	r = sd_journal_add_match(j, "MESSAGE_ID=" MSGID_HISTORY, 0);
	/* and sent by root, or by the reader: anyone may send that MESSAGE_ID
	 * with fields of their own, but _UID is journald's (matches of one
	 * field are or'ed, of different fields and'ed) */
	if (r >= 0)
		r = sd_journal_add_match(j, "_UID=0", 0);
	if (r >= 0 && geteuid() != 0) {
		char uid[32];
		snprintf(uid, sizeof(uid), "_UID=%u", (unsigned)geteuid());
		r = sd_journal_add_match(j, uid, 0);
	}
	if (r >= 0)
		r = since_us > 0 ? sd_journal_seek_realtime_usec(j, (uint64_t)since_us) : sd_journal_seek_head(j);
	while (r >= 0 && (r = sd_journal_next(j)) > 0) {
		struct history_record rec;
		const void *data;
		size_t len;
		uint64_t t;
		bool broken = false;

		if (sd_journal_get_realtime_usec(j, &t) < 0)
			continue;
		if (since_us > 0 && (int64_t)t < since_us)
			continue;
		if (until_us > 0 && (int64_t)t > until_us)
			break;
		history_record_init(&rec);
		rec.time = (int64_t)t;
		SD_JOURNAL_FOREACH_DATA(j, data, len)
		{
			if (history_record_field(&rec, data, len) < 0)
				broken = true;
		}
		if (broken || !history_record_complete(&rec)) {
			bad++;
			continue;
		}
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct history_record *nr = realloc(recs, ncap * sizeof(*nr));
			if (!nr) {
				r = -ENOMEM;
				break;
			}
			recs = nr;
			cap = ncap;
		}
		recs[cnt++] = rec;
	}
	sd_journal_close(j);
	if (r < 0) {
		free(recs);
		return r;
	}
	*out = recs;
	*n = cnt;
	*skipped = bad;
	return 0;
}

/* ---- --since ------------------------------------------------------------------------ */

static int64_t local_midnight(int64_t now, int days_back)
{
	time_t t = (time_t)now;
	struct tm tm;

	localtime_r(&t, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mday -= days_back;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

int history_parse_since(const char *s, int64_t now, int64_t *out)
{
	static const struct {
		const char *unit;
		int64_t seconds;
	} units[] = { { "s", 1 }, { "min", 60 }, { "h", 3600 }, { "d", 86400 }, { "w", INT64_C(7) * 86400 } };
	static const char *const formats[] = { "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d" };

	if (strcmp(s, "today") == 0) {
		*out = local_midnight(now, 0);
		return 0;
	}
	if (strcmp(s, "yesterday") == 0) {
		*out = local_midnight(now, 1);
		return 0;
	}
	if (s[0] == '@') {
		int64_t v;
		/* in microseconds it must still fit (the journal's time) */
		if (parse_i64(s + 1, 0, INT64_MAX / 1000000, &v) < 0)
			return -EINVAL;
		*out = v;
		return 0;
	}
	if (s[0] == '-') {
		char *end;
		double v;

		if (!isdigit((unsigned char)s[1]))
			return -EINVAL;
		errno = 0;
		v = strtod(s + 1, &end);
		if (errno || !(v >= 0) || v > 1e9)
			return -EINVAL;
		for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
			if (strcmp(end, units[i].unit) == 0) {
				*out = now - (int64_t)(v * (double)units[i].seconds);
				return 0;
			}
		}
		return -EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
		struct tm tm;
		const char *end;

		memset(&tm, 0, sizeof(tm));
		end = strptime(s, formats[i], &tm);
		if (end && *end == '\0') {
			tm.tm_isdst = -1;
			*out = (int64_t)mktime(&tm);
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- the sparkline ------------------------------------------------------------------- */

size_t history_sparkline(const double *v, size_t n, size_t width, bool utf8, char *out, size_t outlen)
{
	static const char *const blocks[] = { "\u2581", "\u2582", "\u2583", "\u2584",
					      "\u2585", "\u2586", "\u2587", "\u2588" };
	static const char ascii[] = "_.-:=+*#";
	double lo = INFINITY, hi = -INFINITY;
	size_t cols = n < width ? n : width, pos = 0, c;

	if (outlen == 0)
		return 0;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (isnan(v[i]))
			continue;
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	for (c = 0; c < cols; c++) {
		/* the values falling in column c */
		size_t a = c * n / cols, b = (c + 1) * n / cols, k = 0;
		double sum = 0;
		const char *glyph;
		char one[2] = { 0, 0 };

		for (size_t i = a; i < b; i++) {
			if (!isnan(v[i])) {
				sum += v[i];
				k++;
			}
		}
		if (k == 0) {
			glyph = " ";
		} else {
			double x = sum / (double)k;
			int level = hi > lo ? (int)floor((x - lo) / (hi - lo) * 8.0) : 0;
			level = level < 0 ? 0 : level > 7 ? 7 : level;
			if (utf8) {
				glyph = blocks[level];
			} else {
				one[0] = ascii[level];
				glyph = one;
			}
		}
		if (pos + strlen(glyph) + 1 > outlen)
			break;
		memcpy(out + pos, glyph, strlen(glyph));
		pos += strlen(glyph);
		out[pos] = '\0';
	}
	return c;
}
