/* ctl_history.c - `ksmpilotctl history [--since=TIME] [--json]`: the
 * summary records ksmpilotd writes to the journal once per history_period,
 * read back with sd-journal, as a table with a one-line trend of the saving
 * and of ksmd's CPU. It needs no running daemon: the records are in the
 * journal. See ksmpilotctl(8). */
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "history.h"
#include "json.h"
#include "util.h"

#define MiB (1024.0 * 1024.0)
#define SPARK_WIDTH 60
#define DEFAULT_SINCE "-7d"

static void fmt_time(int64_t unix_s, char *buf, size_t len)
{
	time_t t = (time_t)unix_s;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

static void fmt_period(double s, char *buf, size_t len)
{
	double m = round(s / 60.0);

	if (s < 60)
		snprintf(buf, len, "%.0fs", s);
	else if (m < 60)
		snprintf(buf, len, "%.0fmin", m);
	else
		snprintf(buf, len, "%.0fh%02.0f", floor(m / 60), fmod(m, 60));
}

static double cpu_share(const struct history_record *r)
{
	return r->period_s > 0 ? r->ksmd_cpu_s / r->period_s : NAN;
}

static void print_trends(const struct history_record *r, size_t n)
{
	double *saving = malloc(n * sizeof(*saving)), *cpu = malloc(n * sizeof(*cpu));
	const char *cs = nl_langinfo(CODESET);
	bool utf8 = cs && strcmp(cs, "UTF-8") == 0;
	char line[SPARK_WIDTH * 4 + 1];
	double smin = INFINITY, smax = -INFINITY, cmax = 0;

	if (!saving || !cpu) {
		free(saving);
		free(cpu);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		saving[i] = r[i].saving_bytes / MiB;
		cpu[i] = 100.0 * cpu_share(&r[i]);
		smin = fmin(smin, saving[i]);
		smax = fmax(smax, saving[i]);
		if (isfinite(cpu[i]))
			cmax = fmax(cmax, cpu[i]);
	}
	history_sparkline(saving, n, SPARK_WIDTH, utf8, line, sizeof(line));
	printf("saving    %s  %.0f MiB at the end (%.0f to %.0f)\n", line, saving[n - 1], smin, smax);
	history_sparkline(cpu, n, SPARK_WIDTH, utf8, line, sizeof(line));
	printf("ksmd CPU  %s  %.1f%% of a core in the last period (highest %.1f%%)\n", line,
	       isfinite(cpu[n - 1]) ? cpu[n - 1] : 0.0, cmax);
	free(saving);
	free(cpu);
}

static void print_text(const struct history_record *r, size_t n, int64_t since, unsigned skipped)
{
	char from[32];

	fmt_time(since, from, sizeof(from));
	if (n == 0) {
		printf("no history records since %s.\n"
		       "ksmpilotd writes one per history_period (default 1h) and when it stops;\n"
		       "reading the system journal needs root or the systemd-journal group.\n",
		       from);
	} else {
		printf("%zu record%s since %s\n\n", n, n == 1 ? "" : "s", from);
		print_trends(r, n);
		printf("\n%-16s %6s %10s %10s %9s %5s %6s %6s %6s %9s  %s\n", "period ending", "length", "saving MiB",
		       "profit MiB", "ksmd CPU", "%core", "scans", "modes", "probes", "pressure", "mode");
		for (size_t i = 0; i < n; i++) {
			char when[32], len[16], profit[16];

			fmt_time(r[i].time / 1000000, when, sizeof(when));
			fmt_period(r[i].period_s, len, sizeof(len));
			if (isfinite(r[i].profit_bytes))
				snprintf(profit, sizeof(profit), "%.1f", r[i].profit_bytes / MiB);
			else
				snprintf(profit, sizeof(profit), "-");
			printf("%-16s %6s %10.1f %10s %8.1fs%s %5.1f %6.0f %6.0f %6.0f %+9.4f  %s\n", when, len,
			       r[i].saving_bytes / MiB, profit, r[i].ksmd_cpu_s, r[i].cpu_estimated ? "~" : " ",
			       100.0 * cpu_share(&r[i]), r[i].full_scans, r[i].mode_changes, r[i].probes,
			       r[i].pressure_mean, r[i].mode[0] ? r[i].mode : "-");
		}
	}
	if (skipped)
		printf("%u record%s could not be read (a field missing or malformed)\n", skipped,
		       skipped == 1 ? "" : "s");
}

static int print_json(const struct history_record *r, size_t n, int64_t since, unsigned skipped)
{
	struct json j;

	json_begin(&j, stdout, false);
	json_object_open(&j);
	json_kv_int(&j, "format", 1);
	json_kv_int(&j, "since", since);
	json_kv_uint(&j, "skipped", skipped);
	json_key(&j, "records");
	json_array_open(&j);
	for (size_t i = 0; i < n; i++) {
		json_object_open(&j);
		json_kv_double(&j, "time", (double)r[i].time / 1e6);
		json_kv_int(&j, "start", r[i].start);
		json_kv_double(&j, "period_seconds", r[i].period_s);
		json_kv_int(&j, "pid", r[i].pid);
		json_kv_double(&j, "saving_bytes", r[i].saving_bytes);
		json_kv_double(&j, "saving_mean_bytes", r[i].saving_mean_bytes);
		json_kv_double(&j, "general_profit_bytes", r[i].profit_bytes);
		json_kv_double(&j, "ksmd_cpu_seconds", r[i].ksmd_cpu_s);
		json_kv_bool(&j, "ksmd_cpu_estimated", r[i].cpu_estimated);
		json_kv_double(&j, "full_scans", r[i].full_scans);
		json_kv_double(&j, "pages_scanned", r[i].pages_scanned);
		json_kv_double(&j, "mode_changes", r[i].mode_changes);
		json_kv_double(&j, "probes", r[i].probes);
		json_kv_double(&j, "pressure_mean", r[i].pressure_mean);
		json_kv_double(&j, "pressure_max", r[i].pressure_max);
		json_kv_double(&j, "mem_total_bytes", r[i].mem_total_bytes);
		json_kv_string(&j, "mode", r[i].mode[0] ? r[i].mode : NULL);
		json_object_close(&j);
	}
	json_array_close(&j);
	json_object_close(&j);
	return json_end(&j) < 0 ? CTL_FAIL : CTL_OK;
}

int ctl_history(const struct ctl_opts *o, int argc, char **argv)
{
	struct history_record *recs = NULL;
	const char *since_arg = o->since ? o->since : DEFAULT_SINCE;
	int64_t since;
	size_t n = 0;
	unsigned skipped = 0;
	int r, rc;

	if (argc > 0) {
		fprintf(stderr, "ksmpilotctl: history: unexpected argument '%s'\n", argv[0]);
		return CTL_USAGE;
	}
	if (history_parse_since(since_arg, (int64_t)time(NULL), &since) < 0) {
		fprintf(stderr,
			"ksmpilotctl: history: --since: '%s' is not a time (-7d, -12h, -30min, YYYY-MM-DD [HH:MM[:SS]], "
			"today, yesterday, @UNIXSECONDS)\n",
			since_arg);
		return CTL_USAGE;
	}
	setlocale(LC_CTYPE, "");
	r = history_read(o->journal_dir, since > 0 ? since * 1000000 : 1, 0, &recs, &n, &skipped);
	if (r < 0) {
		fprintf(stderr, "ksmpilotctl: history: cannot read the journal%s%s: %s\n",
			o->journal_dir ? " in " : "", o->journal_dir ? o->journal_dir : "", strerror(-r));
		return CTL_FAIL;
	}
	if (o->json) {
		rc = print_json(recs, n, since, skipped);
	} else {
		print_text(recs, n, since, skipped);
		rc = fflush(stdout) == 0 ? CTL_OK : CTL_FAIL;
	}
	free(recs);
	return rc;
}
