/* ctl_status.c - `ksmpilotctl status [--json]`: KSM and ksmpilotd at a
 * glance. It reads sysfs and the daemon's state file, and works whether the
 * daemon runs or not. The text and the JSON (format 1, described by
 * docs/ksmpilotctl-status.schema.json) show the same facts, gathered once
 * into struct status. Exit codes and formats: ksmpilotctl(8). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "hazard.h"
#include "json.h"
#include "ksm.h"
#include "report.h"
#include "sample.h"
#include "state.h"
#include "util.h"

/* The state file is rewritten at least every STATE_REFRESH_IDLE_MS, or each
 * interval or idle_interval if that is longer; missing this many rewrites
 * makes it stale. */
#define STALE_PERIODS 3

struct status {
	struct ksm ksm;
	struct sample s;                /* the kernel side, now */
	double ksmd_share;              /* over the last second or the daemon's interval */
	bool have_share;
	struct state_kv kv;
	int state_err;                  /* 0, -ENOENT, ... */
	bool running;                   /* a daemon holds the lock */
	bool stale;                     /* ... but has not updated the state file */
	bool locked_only;               /* the lock is held, the state file unreadable */
	bool offlining;                 /* run read with KSM_RUN_OFFLINE, which s no longer has */
	char state_dir[CFG_PATH_MAX];
	long pid;
	int64_t now;                    /* CLOCK_REALTIME seconds */
	int64_t updated_age;            /* seconds since the state file was updated */
	uint64_t refresh_ms;            /* how often it should be */
	uint64_t target;                /* MemAvailable aimed at, bytes */
	unsigned numa_nodes;
	char release[65];               /* uname -r */
};

static const char *kv(const struct status *st, const char *key)
{
	const char *v = st->running ? state_get(&st->kv, key) : NULL;
	return v ? v : "";
}

/* A number from the state file; NaN when absent, not a decimal number
 * (nan, inf, hex) or beyond 1e18, so that every integer taken from one
 * fits an int64_t. The daemon writes nothing larger. */
static double kvd(const struct status *st, const char *key)
{
	double d;

	return parse_double(kv(st, key), -1e18, 1e18, &d) == 0 ? d : NAN;
}

static bool kv_true(const struct status *st, const char *key)
{
	return strcmp(kv(st, key), "1") == 0;
}

static int64_t cnt(const struct status *st, enum ksm_item i)
{
	return ksm_values_has(&st->s.ksm, i) ? st->s.ksm.v[i] : -1;
}

static double cntd(const struct status *st, enum ksm_item i)
{
	return ksm_values_has(&st->s.ksm, i) ? (double)st->s.ksm.v[i] : NAN;
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : NAN;
}

/* ---- the controller's terms -------------------------------------------------- */

/* One row per term the state file carries: its key there, its label in the
 * text, its name in the JSON (with the unit in it) and the unit shown in
 * the text. The terms follow the controller; this table is the one place
 * that names them here. */
static const struct term_row {
	const char *key;
	const char *label;
	const char *json;
	const char *unit;
} term_rows[] = {
	{ "error", "error", "error", "" },
	{ "error_mem", "memory error", "error_memory", "" },
	{ "error_guest", "guest error", "error_guests", "" },
	{ "error_psi", "PSI error", "error_psi", "" },
	{ "p", "P", "p", "" },
	{ "i", "I", "i", "" },
	{ "d", "D", "d", "" },
	{ "u", "price", "effort", "" },
	{ "u_probe", "probe effort", "effort_probe", "" },
	{ "benefit", "benefit", "benefit", "" },
	{ "b_yield", "from yield", "benefit_yield", "" },
	{ "b_probe", "from probe", "benefit_probe", "" },
	{ "b_churn", "from breaks", "benefit_churn", "" },
	{ "derate", "volatile de-rating", "derate", "" },
	{ "yield", "yield", "yield", "" },
	{ "churn", "volatile share", "churn", "" },
	{ "breaks", "breaks", "breaks_pages_per_second", "pages/s" },
	{ "probe_pages", "probing", "probe_pages", "pages" },
	{ "anon_excess", "new anon memory", "anon_excess_bytes", "bytes" },
	{ "anon_noise", "anon noise", "anon_noise_bytes", "bytes" },
	{ "cost_us", "ksmd cost", "ksmd_cost_microseconds_per_page", "us a page" },
	{ "plan_cost_us", "planned cost", "planned_cost_microseconds_per_page", "us a page" },
	{ "cpu_cap", "CPU cap", "cpu_cap_ratio", "of a core" },
	{ "burst", "burst left", "burst_ratio", "" },
	{ "rate_cap", "cap allows", "rate_cap_pages_per_second", "pages/s" },
	{ "rate_idle", "idle rate", "rate_idle_pages_per_second", "pages/s" },
	{ "scanned_rate", "scanned", "scanned_pages_per_second", "pages/s" },
};

/* ---- gathering ------------------------------------------------------------------ */

static int gather(struct status *st, const char *sysfs, const struct cfg *cfg)
{
	struct sampler sm;
	struct utsname u;
	char path[CFG_PATH_MAX + 16];
	int r;

	memset(st, 0, sizeof(*st));
	r = ksm_open(&st->ksm, sysfs, NULL);
	if (r < 0) {
		fprintf(stderr, "ksmpilotctl: KSM is not available: %s: %s\n", sysfs, strerror(-r));
		return CTL_NO_KSM;
	}
	snprintf(path, sizeof(path), "%s/state", cfg->state_dir);
	snprintf(st->state_dir, sizeof(st->state_dir), "%s", cfg->state_dir);
	st->state_err = state_read(path, &st->kv);
	if (st->state_err == 0) {
		const char *p = state_get(&st->kv, "pid");
		int64_t pid;
		/* without a pid, the file tells of no daemon (the lock may: below) */
		if (p && parse_i64(p, 1, INT_MAX, &pid) == 0) {
			st->pid = (long)pid;
			st->running = ctl_daemon_running(cfg->state_dir, st->pid);
		}
	}
	if (!st->running && ctl_daemon_running(cfg->state_dir, 0)) {
		/* a daemon holds the lock, but its state cannot be read (not
		 * written yet: it is starting; or it cannot write it), or the
		 * file is another instance's, one that died */
		st->locked_only = true;
		st->stale = true;
	}
	r = sampler_init(&sm, &st->ksm, NULL, NULL, NULL);
	if (r < 0) {
		fprintf(stderr, "ksmpilotctl: cannot read /proc: %s\n", strerror(-r));
		return CTL_FAIL;
	}
	sample_take(&sm, now_ms(), &st->s);
	if (st->running && *kv(st, "cpu_share")) {
		st->ksmd_share = kvd(st, "cpu_share");
		st->have_share = isfinite(st->ksmd_share);
	} else if (st->s.have_ksmd_cpu) {
		/* no daemon to ask: measure ksmd over one second */
		struct sample s2;
		uint64_t t0 = now_us();
		usleep(1000000);
		sample_take(&sm, now_ms(), &s2);
		if (s2.have_ksmd_cpu) {
			st->ksmd_share = (s2.ksmd_cpu_s - st->s.ksmd_cpu_s) / ((double)(now_us() - t0) / 1e6);
			st->have_share = true;
		}
		st->s = s2;
	}
	sampler_fini(&sm);
	/* memory going offline: the kernel ORs 4 into run for the while */
	if (ksm_values_has(&st->s.ksm, KSM_RUN) && (st->s.ksm.v[KSM_RUN] & KSM_RUN_OFFLINE)) {
		st->offlining = true;
		st->s.ksm.v[KSM_RUN] &= ~KSM_RUN_OFFLINE;
	}
	st->numa_nodes = hazard_numa_nodes("/sys/devices/system/node");
	st->now = (int64_t)time(NULL);
	snprintf(st->release, sizeof(st->release), "%s", uname(&u) == 0 ? u.release : "");
	/* the setpoint the daemon uses, or the configured one */
	st->target = st->running && kvd(st, "setpoint_bytes") >= 0 ? (uint64_t)kvd(st, "setpoint_bytes") :
								      size_resolve(&cfg->target_available, st->s.mem_total);
	if (st->running) {
		double interval = kvd(st, "interval_ms"), updated = kvd(st, "updated");
		/* idle, the daemon ticks every idle_interval (as configured:
		 * the file does not say), and writes at its ticks */
		st->refresh_ms = isfinite(interval) && interval > STATE_REFRESH_IDLE_MS ? (uint64_t)interval :
											   STATE_REFRESH_IDLE_MS;
		if (cfg->idle_interval_ms > st->refresh_ms)
			st->refresh_ms = cfg->idle_interval_ms;
		st->updated_age = isfinite(updated) ? st->now - (int64_t)updated : INT64_MAX;
		st->stale = st->updated_age > (int64_t)(STALE_PERIODS * st->refresh_ms / 1000);
	}
	return CTL_OK;
}

/* The hazards, once for both outputs. */
struct hazards {
	bool negative_profit;           /* the daemon's 10-minute episode, or negative now */
	bool profit_now;                /* judged here (no daemon) */
	bool map_count;
	bool numa_merge;
};

static void hazards_of(const struct status *st, struct hazards *h)
{
	const struct sample *s = &st->s;

	memset(h, 0, sizeof(*h));
	if (st->running) {
		h->negative_profit = kv_true(st, "hazard_negative_profit");
	} else if (ksm_values_has(&s->ksm, KSM_GENERAL_PROFIT)) {
		h->negative_profit = s->ksm.v[KSM_GENERAL_PROFIT] < 0;
		h->profit_now = true;
	}
	h->map_count = st->running && kv_true(st, "hazard_map_count");
	h->numa_merge = ksm_values_has(&s->ksm, KSM_MERGE_ACROSS_NODES) && s->ksm.v[KSM_MERGE_ACROSS_NODES] == 1 &&
			st->numa_nodes > 1;
}

/* ---- text ------------------------------------------------------------------------ */

/* 1536 -> "1.5 KiB"; below 1 KiB in bytes. */
static void fmt_bytes(double b, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = fabs(b);
	int u = -1;

	if (!isfinite(b)) {
		snprintf(buf, len, "?");
		return;
	}
	while (v >= 1024 && u + 1 < (int)ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%.0f B", b);
	else
		snprintf(buf, len, "%s%.1f %s", b < 0 ? "-" : "", v, units[u]);
}

/* 90 -> "1min 30s", 1036802 -> "12d 0h": the two largest units. */
static void fmt_age(int64_t s, char *buf, size_t len)
{
	static const struct {
		const char *unit;
		int64_t secs;
	} units[] = { { "d", 86400 }, { "h", 3600 }, { "min", 60 }, { "s", 1 } };

	if (s < 0) {
		snprintf(buf, len, "in the future");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (s >= units[i].secs || i + 1 == ARRAY_SIZE(units)) {
			int64_t a = s / units[i].secs;
			if (i + 1 < ARRAY_SIZE(units))
				snprintf(buf, len, "%" PRId64 "%s %" PRId64 "%s ago", a, units[i].unit,
					 s % units[i].secs / units[i + 1].secs, units[i + 1].unit);
			else
				snprintf(buf, len, "%" PRId64 "%s ago", a, units[i].unit);
			return;
		}
	}
}

/* " LABEL 2026-11-30 03:04:05 (12d 0h ago)" for a time in the state file;
 * nothing when absent, "(invalid time)" when it is no time the calendar
 * holds. */
static void print_ago(FILE *f, const char *label, int64_t now, const char *when)
{
	char *end, buf[64], ago[48];
	long long t;
	struct tm tm;
	time_t tt;

	if (!*when)
		return;
	errno = 0;
	t = strtoll(when, &end, 10);
	tt = (time_t)t;
	/* localtime_r() fails past the years an int holds; a time before
	 * 1970 or over a day ahead is no daemon's */
	if (errno || *end || t <= 0 || t > now + 86400 || !localtime_r(&tt, &tm) ||
	    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm) == 0) {
		fprintf(f, "%s (invalid time)", label);
		return;
	}
	fmt_age(now - t, ago, sizeof(ago));
	fprintf(f, "%s %s (%s)", label, buf, ago);
}

/* Text of a rate: "1000 pages/s". */
static void fmt_rate(const struct status *st, const char *key, char *buf, size_t len)
{
	double r = kvd(st, key);

	if (isfinite(r))
		snprintf(buf, len, "%.0f pages/s", r);
	else
		snprintf(buf, len, "?");
}

static void print_terms(const struct status *st)
{
	char item[96];
	size_t col = 12;

	printf("Terms      ");
	for (size_t i = 0; i < ARRAY_SIZE(term_rows); i++) {
		const struct term_row *t = &term_rows[i];
		double v = kvd(st, t->key);
		int n;

		if (!isfinite(v))
			continue;
		/* four significant digits, whole numbers from 1000 on */
		n = snprintf(item, sizeof(item), fabs(v) >= 1000 ? "%s %.0f%s%s" : "%s %.4g%s%s", t->label, v,
			     t->unit[0] ? " " : "", t->unit);
		if (n < 0)
			continue;
		if (col + (size_t)n + 2 > 100) {
			printf(",\n           ");
			col = 12;
		} else if (col > 12) {
			printf(",");
			col++;
		}
		printf(" %s", item);
		col += (size_t)n + 1;
	}
	printf("\n");
}

static void print_daemon(const struct status *st)
{
	char a[48];
	double v;

	if (st->locked_only && st->state_err == 0) {
		printf("ksmpilotd   STALE: a daemon holds the lock in %s, but the state file is from pid %ld, another "
		       "instance: it may be starting, or unable to write it; look at journalctl -u ksmpilot\n",
		       st->state_dir, st->pid);
		return;
	}
	if (st->locked_only) {
		printf("ksmpilotd   STALE: a daemon holds the lock in %s, but its state file cannot be read (%s): it may "
		       "be starting, or unable to write it; look at journalctl -u ksmpilot\n",
		       st->state_dir, strerror(-st->state_err));
		return;
	}
	if (!st->running) {
		if (st->state_err == 0)
			printf("ksmpilotd   not running (a state file from pid %ld remains); see systemctl status "
			       "ksmpilot and journalctl -u ksmpilot\n", st->pid);
		else
			printf("ksmpilotd   not running; see systemctl status ksmpilot and journalctl -u ksmpilot\n");
		return;
	}
	printf("ksmpilotd   running, pid %ld", st->pid);
	print_ago(stdout, ", started", st->now, kv(st, "started"));
	printf("%s\n", kv_true(st, "dry_run") ? ", dry run" : "");
	if (st->stale) {
		if (st->updated_age == INT64_MAX)
			snprintf(a, sizeof(a), "never");
		else
			fmt_age(st->updated_age, a, sizeof(a));
		printf("STALE       the state file was last updated %s, and should be at least every %" PRIu64
		       "s: ksmpilotd may be hung; look at journalctl -u ksmpilot\n", a, st->refresh_ms / 1000);
	}
	printf("Decision    %s", kv(st, "reason"));
	print_ago(stdout, " since", st->now, kv(st, "decided"));
	if (strcmp(kv(st, "run"), "0") == 0) {
		printf(": run=0, mode %s, ksmd stopped", kv(st, "mode"));
	} else {
		fmt_rate(st, "rate_planned", a, sizeof(a));
		printf(": run=%s, mode %s, %s (pages_to_scan %s, sleep_millisecs %s)", kv(st, "run"), kv(st, "mode"),
		       a, kv(st, "pages_to_scan"), kv(st, "sleep_ms"));
	}
	if (*kv(st, "wake") && strcmp(kv(st, "wake"), "none") != 0)
		printf(", woken by %s", kv(st, "wake"));
	printf("\n");
	print_terms(st);
	if (*kv(st, "guest_processes")) {
		fmt_bytes(kvd(st, "guest_rss_bytes"), a, sizeof(a));
		printf("Guests      %s resident in %s process%s matching guest_cmdline\n", a, kv(st, "guest_processes"),
		       strcmp(kv(st, "guest_processes"), "1") == 0 ? "" : "es");
	}
	v = kvd(st, "psi_some_avg10");
	if (isfinite(v))
		printf("PSI         memory some avg10 %.2f%%\n", v);
	printf("Counters    %s ticks, %s adjustments, %s write errors, %s reloads (%s refused)\n", kv(st, "ticks"),
	       kv(st, "adjustments"), kv(st, "write_errors"), kv(st, "reloads"), kv(st, "reload_failures"));
}

static void print_text(const struct status *st)
{
	static const enum ksm_item features[] = { KSM_GENERAL_PROFIT, KSM_PAGES_SCANNED, KSM_ZERO_PAGES,
						  KSM_SMART_SCAN, KSM_PAGES_SKIPPED, KSM_ADVISOR_MODE,
						  KSM_MERGE_ACROSS_NODES, KSM_MAX_PAGE_SHARING };
	const struct sample *s = &st->s;
	double saved = report_saved_bytes(s);
	int64_t run = cnt(st, KSM_RUN);
	struct hazards h;
	char a[48], b[48], c[48];
	bool any = false;

	printf("KSM         %s (run=%" PRId64 "), pages_to_scan %" PRId64 ", sleep_millisecs %" PRId64 "%s%s\n",
	       run == 1 ? "running" : run == 2 ? "unmerging" : "stopped", run, cnt(st, KSM_PAGES_TO_SCAN),
	       cnt(st, KSM_SLEEP_MILLISECS),
	       ksm_values_has(&s->ksm, KSM_ADVISOR_MODE) && s->ksm.v[KSM_ADVISOR_MODE] ? ", kernel advisor on" : "",
	       st->offlining ? ", memory going offline (ksmd waits)" : "");
	fmt_bytes(saved, a, sizeof(a));
	printf("Saving      %s, %.2f%% of memory (pages_sharing %" PRId64, a,
	       100.0 * saved / (double)(s->mem_total ? s->mem_total : 1), cnt(st, KSM_PAGES_SHARING));
	if (ksm_values_has(&s->ksm, KSM_ZERO_PAGES))
		printf(", zero pages %" PRId64, s->ksm.v[KSM_ZERO_PAGES]);
	printf(")\n");
	if (ksm_values_has(&s->ksm, KSM_GENERAL_PROFIT)) {
		fmt_bytes((double)s->ksm.v[KSM_GENERAL_PROFIT], a, sizeof(a));
		printf("Profit      %s (general_profit: saved minus the 64-byte rmap items)\n", a);
	}
	{
		double shared = cntd(st, KSM_PAGES_SHARED), sharing = cntd(st, KSM_PAGES_SHARING);
		double unsh = cntd(st, KSM_PAGES_UNSHARED), vol = cntd(st, KSM_PAGES_VOLATILE);
		if (shared + sharing + unsh + vol > 0)
			printf("Efficiency  sharing/shared %.1f, unshared/sharing %.2f, volatile %.0f%% of tracked "
			       "pages\n",
			       shared > 0 ? sharing / shared : 0.0, sharing > 0 ? unsh / sharing : 0.0,
			       100.0 * vol / (shared + sharing + unsh + vol));
		else
			printf("Efficiency  no page tracked yet\n");
	}
	if (s->have_ksmd_cpu)
		printf("ksmd        %s%.1f%% of a core%s, %.1f s of CPU since boot\n", st->have_share ? "" : "? ",
		       100.0 * st->ksmd_share, st->running ? " (last interval)" : " (last second)", s->ksmd_cpu_s);
	else
		printf("ksmd        not visible here (a PID namespace?)\n");
	fmt_bytes((double)st->target, a, sizeof(a));
	fmt_bytes((double)s->mem_available, b, sizeof(b));
	fmt_bytes(st->target > s->mem_available ? (double)(st->target - s->mem_available) : 0, c, sizeof(c));
	printf("Memory      target %s, available %s, short %s", a, b, c);
	fmt_bytes((double)s->mem_total, a, sizeof(a));
	printf(" (of %s)\n", a);
	print_daemon(st);

	hazards_of(st, &h);
	printf("Hazards    ");
	if (h.negative_profit) {
		printf(h.profit_now ? " general_profit negative now;" : " general_profit negative for 10 minutes;");
		any = true;
	}
	if (h.map_count) {
		printf(" pid %s (%s) at %s of %s memory mappings;", kv(st, "map_count_pid"), kv(st, "map_count_comm"),
		       kv(st, "map_count_vmas"), kv(st, "max_map_count"));
		any = true;
	}
	if (h.numa_merge) {
		printf(" merge_across_nodes=1 with %u NUMA nodes;", st->numa_nodes);
		any = true;
	}
	printf("%s\n", any ? "" : " none");
	printf("Kernel      %s; has", st->release[0] ? st->release : "?");
	for (size_t i = 0; i < ARRAY_SIZE(features); i++)
		if (ksm_has(&st->ksm, features[i]))
			printf(" %s", ksm_item_name(features[i]));
	printf("; lacks");
	any = false;
	for (size_t i = 0; i < ARRAY_SIZE(features); i++)
		if (!ksm_has(&st->ksm, features[i])) {
			printf(" %s", ksm_item_name(features[i]));
			any = true;
		}
	printf("%s\n", any ? "" : " nothing");
}

/* ---- JSON (format 1) ---------------------------------------------------------- */

/* A number from the state file, or null. */
static void kv_num(struct json *j, const struct status *st, const char *name, const char *key)
{
	json_kv_double(j, name, kvd(st, key));
}

static void json_daemon(struct json *j, const struct status *st)
{
	static const struct {
		const char *json, *key;
	} counters[] = { { "ticks", "ticks" },
			 { "adjustments", "adjustments" },
			 { "write_errors", "write_errors" },
			 { "reloads", "reloads" },
			 { "reload_failures", "reload_failures" } };
	double interval = kvd(st, "interval_ms");

	json_key(j, "daemon");
	json_object_open(j);
	json_kv_bool(j, "running", st->running);
	json_kv_bool(j, "stale", st->stale);
	if (st->running) {
		json_kv_int(j, "pid", st->pid);
		kv_num(j, st, "started_timestamp_seconds", "started");
		kv_num(j, st, "updated_timestamp_seconds", "updated");
		kv_num(j, st, "decided_timestamp_seconds", "decided");
		json_kv_double(j, "interval_seconds", interval / 1000);
		json_kv_bool(j, "dry_run", kv_true(st, "dry_run"));
		json_kv_string(j, "config", kv(st, "config"));
		json_kv_string(j, "kernel_advisor", kv(st, "kernel_advisor"));
		json_key(j, "decision");
		json_object_open(j);
		json_kv_string(j, "reason", kv(st, "reason"));
		json_kv_string(j, "mode", kv(st, "mode"));
		json_kv_string(j, "wake", kv(st, "wake"));
		kv_num(j, st, "run", "run");
		kv_num(j, st, "pages_to_scan", "pages_to_scan");
		kv_num(j, st, "sleep_millisecs", "sleep_ms");
		json_kv_double(j, "rate_pages_per_second", strcmp(kv(st, "run"), "0") == 0 ? 0 : kvd(st, "rate"));
		json_kv_double(j, "planned_rate_pages_per_second",
			       strcmp(kv(st, "run"), "0") == 0 ? 0 : kvd(st, "rate_planned"));
		json_object_close(j);
		json_key(j, "terms");
		json_object_open(j);
		for (size_t i = 0; i < ARRAY_SIZE(term_rows); i++)
			kv_num(j, st, term_rows[i].json, term_rows[i].key);
		json_object_close(j);
		json_key(j, "counters");
		json_object_open(j);
		for (size_t i = 0; i < ARRAY_SIZE(counters); i++)
			kv_num(j, st, counters[i].json, counters[i].key);
		json_object_close(j);
		json_key(j, "guests");
		if (*kv(st, "guest_processes")) {
			json_object_open(j);
			kv_num(j, st, "processes", "guest_processes");
			kv_num(j, st, "resident_bytes", "guest_rss_bytes");
			json_object_close(j);
		} else {
			json_null(j);
		}
		json_kv_double(j, "psi_some_avg10_percent", kvd(st, "psi_some_avg10"));
	}
	json_object_close(j);
}

static int print_json(const struct status *st)
{
	static const enum ksm_item items[] = { KSM_RUN, KSM_PAGES_TO_SCAN, KSM_SLEEP_MILLISECS, KSM_PAGES_SHARED,
					       KSM_PAGES_SHARING, KSM_PAGES_UNSHARED, KSM_PAGES_VOLATILE,
					       KSM_FULL_SCANS, KSM_PAGES_SCANNED, KSM_PAGES_SKIPPED,
					       KSM_ZERO_PAGES, KSM_GENERAL_PROFIT, KSM_MERGE_ACROSS_NODES,
					       KSM_MAX_PAGE_SHARING, KSM_USE_ZERO_PAGES, KSM_SMART_SCAN };
	static const enum ksm_item features[] = { KSM_GENERAL_PROFIT, KSM_PAGES_SCANNED, KSM_ZERO_PAGES,
						  KSM_SMART_SCAN, KSM_PAGES_SKIPPED, KSM_ADVISOR_MODE,
						  KSM_MERGE_ACROSS_NODES, KSM_MAX_PAGE_SHARING };
	const struct sample *s = &st->s;
	double saved = report_saved_bytes(s);
	double shared = cntd(st, KSM_PAGES_SHARED), sharing = cntd(st, KSM_PAGES_SHARING);
	double unsh = cntd(st, KSM_PAGES_UNSHARED), vol = cntd(st, KSM_PAGES_VOLATILE);
	struct hazards h;
	struct json j;

	hazards_of(st, &h);
	json_begin(&j, stdout, false);
	json_object_open(&j);
	json_kv_int(&j, "format", 1);
	json_kv_string(&j, "version", KSMPILOT_VERSION);
	json_key(&j, "ksm");
	json_object_open(&j);
	for (size_t i = 0; i < ARRAY_SIZE(items); i++)
		json_kv_double(&j, ksm_item_name(items[i]), cntd(st, items[i]));
	if (ksm_values_has(&s->ksm, KSM_ADVISOR_MODE))
		json_kv_string(&j, "advisor_mode", s->ksm.v[KSM_ADVISOR_MODE] ? "scan-time" : "none");
	else
		json_kv_null(&j, "advisor_mode");
	json_kv_bool(&j, "offlining", st->offlining);
	json_object_close(&j);
	json_key(&j, "memory");
	json_object_open(&j);
	json_kv_uint(&j, "total_bytes", s->mem_total);
	json_kv_uint(&j, "available_bytes", s->mem_available);
	json_kv_uint(&j, "target_bytes", st->target);
	json_kv_uint(&j, "short_bytes", st->target > s->mem_available ? st->target - s->mem_available : 0);
	json_object_close(&j);
	json_key(&j, "saving");
	json_object_open(&j);
	json_kv_double(&j, "bytes", saved);
	json_kv_double(&j, "memory_ratio", ratio(saved, (double)s->mem_total));
	json_kv_double(&j, "general_profit_bytes", cntd(st, KSM_GENERAL_PROFIT));
	json_kv_double(&j, "zero_pages", cntd(st, KSM_ZERO_PAGES));
	json_object_close(&j);
	json_key(&j, "efficiency");
	json_object_open(&j);
	json_kv_double(&j, "sharing_per_shared", ratio(sharing, shared));
	json_kv_double(&j, "unshared_per_sharing", ratio(unsh, sharing));
	json_kv_double(&j, "volatile_ratio", ratio(vol, shared + sharing + unsh + vol));
	json_object_close(&j);
	json_key(&j, "ksmd");
	json_object_open(&j);
	json_kv_bool(&j, "visible", s->have_ksmd_cpu);
	json_kv_double(&j, "cpu_seconds", s->have_ksmd_cpu ? s->ksmd_cpu_s : NAN);
	json_kv_double(&j, "cpu_ratio", st->have_share ? st->ksmd_share : NAN);
	json_object_close(&j);
	json_daemon(&j, st);
	json_key(&j, "hazards");
	json_object_open(&j);
	json_kv_bool(&j, "negative_profit", h.negative_profit);
	json_key(&j, "map_count");
	if (h.map_count) {
		json_object_open(&j);
		kv_num(&j, st, "pid", "map_count_pid");
		json_kv_string(&j, "comm", kv(st, "map_count_comm"));
		kv_num(&j, st, "mappings", "map_count_vmas");
		kv_num(&j, st, "max_map_count", "max_map_count");
		json_object_close(&j);
	} else {
		json_null(&j);
	}
	json_kv_bool(&j, "numa_merge", h.numa_merge);
	json_object_close(&j);
	json_key(&j, "kernel");
	json_object_open(&j);
	json_kv_string(&j, "release", st->release);
	json_kv_uint(&j, "numa_nodes", st->numa_nodes);
	json_key(&j, "features");
	json_object_open(&j);
	for (size_t i = 0; i < ARRAY_SIZE(features); i++)
		json_kv_bool(&j, ksm_item_name(features[i]), ksm_has(&st->ksm, features[i]));
	json_object_close(&j);
	json_object_close(&j);
	json_object_close(&j);
	return json_end(&j) < 0 ? CTL_FAIL : CTL_OK;
}

int ctl_status(const struct ctl_opts *o, int argc, char **argv)
{
	struct status *st;
	struct cfg *cfg;
	int rc;

	if (argc > 0) {
		fprintf(stderr, "ksmpilotctl: status: unexpected argument '%s'\n", argv[0]);
		return CTL_USAGE;
	}
	cfg = malloc(sizeof(*cfg));
	st = calloc(1, sizeof(*st));
	rc = cfg && st ? ctl_load_config(o, cfg) : -ENOMEM;
	if (rc < 0) {
		free(cfg);
		free(st);
		return CTL_FAIL;
	}
	rc = gather(st, o->sysfs, cfg);
	if (rc == CTL_OK) {
		if (o->json)
			rc = print_json(st);
		else
			print_text(st);
		fflush(stdout);
		if (rc == CTL_OK && ferror(stdout))
			rc = CTL_FAIL;
		if (rc == CTL_OK && !st->running && !st->locked_only)
			rc = CTL_NOT_RUNNING;
		else if (rc == CTL_OK && st->stale)
			rc = CTL_STALE;
	}
	ksm_close(&st->ksm);
	free(st);
	free(cfg);
	return rc;
}
