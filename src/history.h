/* history.h - the daemon's summary of each period ([metrics]
 * history_period, default 1 h), written to the journal as one record with
 * its own MESSAGE_ID (MSGID_HISTORY) and structured fields, and read back
 * by `ksmpilotctl history` with sd-journal: journald keeps and rotates the
 * data, and the records stay readable when the daemon is stopped.
 *
 * The accumulator is pure: pilot.c feeds it each tick's sample and
 * decision and asks for the fields when a period is over. The reader takes
 * the journal directory as a parameter (NULL: the local journal). Nothing
 * here logs. Fields and their meaning: ksmpilotd(8). */
#ifndef KSMPILOT_HISTORY_H
#define KSMPILOT_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controller.h"
#include "log.h"
#include "sample.h"

#define HISTORY_VERSION 1

/* One period being summed up. */
struct history {
	uint64_t start_us;              /* monotonic start of the period */
	int64_t start_time;             /* CLOCK_REALTIME seconds of the start */
	uint64_t ticks;
	double seconds;                 /* sum of the ticks' dt */
	double ksmd_cpu_s;              /* ksmd CPU in the period */
	bool cpu_estimated;             /* part of it estimated from the scan rate */
	double pressure_sum;            /* integral of the pressure (t.error) over time */
	double pressure_max;
	double saving_sum;              /* integral of the saving (bytes) over time */
	uint64_t full_scans;
	uint64_t pages_scanned;
	bool have_pages_scanned;
	uint64_t mode_changes, probes;
	/* the previous tick, kept across periods so no delta is lost */
	bool have_prev;
	bool prev_have_cpu, prev_have_scanned, prev_have_full;
	double prev_cpu_s;
	int64_t prev_full_scans, prev_scanned;
};

/* Start a new period at now (monotonic µs) and realtime (seconds); the
 * previous tick is kept. */
void history_start(struct history *h, uint64_t now_us, int64_t realtime);
/* Add one tick: dt seconds since the previous tick (0 on the first);
 * mode_changed and probe as pilot.c counted them. */
void history_add(struct history *h, const struct sample *s, const struct ctl_decision *d, double dt,
		 bool mode_changed, bool probe);
/* The period is over at now when it has lasted period_ms. */
bool history_due(const struct history *h, uint64_t now_us, uint64_t period_ms);

/* The record's fields for the period ending at now, with the last sample
 * and decision; up to max, returns how many. */
#define HISTORY_MAX_FIELDS 20
size_t history_fields(const struct history *h, uint64_t now_us, const struct sample *s,
		      const struct ctl_decision *d, struct log_field *f, size_t max);
/* Its one-line message. */
void history_message(const struct history *h, uint64_t now_us, const struct sample *s, char *buf, size_t len);

/* ---- reading the records back ---------------------------------------------- */

struct history_record {
	int64_t time;                   /* CLOCK_REALTIME µs of the record (end of the period) */
	int64_t start;                  /* Unix seconds of the start of the period */
	double period_s;
	long pid;                       /* the daemon that wrote it */
	double saving_bytes;            /* at the end of the period */
	double saving_mean_bytes;
	double profit_bytes;            /* general_profit at the end; NAN when the kernel lacks it */
	double ksmd_cpu_s;
	bool cpu_estimated;
	double full_scans, pages_scanned; /* pages_scanned NAN when the kernel lacks it */
	double mode_changes, probes;
	double pressure_mean, pressure_max;
	double mem_total_bytes;
	char mode[16];
	unsigned have;                  /* HR_* bits of the required fields seen */
};

/* Take one journal field "NAME=value" (len bytes, not NUL-terminated)
 * into r; fields of other names are ignored. -EBADMSG for a value that is
 * not a number of the kind the field holds. */
int history_record_field(struct history_record *r, const char *data, size_t len);
/* Whether r has every required field (a record of a later version may
 * have more). */
bool history_record_complete(const struct history_record *r);
void history_record_init(struct history_record *r);

/* Read the records from since to until (CLOCK_REALTIME µs; 0 = open end)
 * in time order, from journal_dir, or the local journal when NULL.
 * *out is a malloc()ed array of *n records; *skipped counts records that
 * lack a required field. -errno when the journal cannot be opened. */
int history_read(const char *journal_dir, int64_t since_us, int64_t until_us, struct history_record **out,
		 size_t *n, unsigned *skipped);

/* "-7d", "-12h", "-30min", "-90s", "-2w" (before now), "@UNIXSECONDS",
 * "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]" (local time), "today",
 * "yesterday". now in Unix seconds; the result in Unix seconds. -EINVAL. */
int history_parse_since(const char *s, int64_t now, int64_t *out);

/* A one-line chart of v[0..n-1] in width columns (values averaged per
 * column when n > width): 8 levels of U+2581..U+2588 when utf8, else the
 * ASCII "_.-:=+*#" scale; NAN leaves a blank. The lowest value maps to
 * the lowest level, the highest to the highest; all equal: the lowest.
 * Writes a NUL-terminated string; returns the number of columns. */
size_t history_sparkline(const double *v, size_t n, size_t width, bool utf8, char *out, size_t outlen);

#endif
