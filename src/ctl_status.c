/* ctl_status.c - `ksmpilotctl status [--json]`: KSM and ksmpilotd at a
 * glance. It reads sysfs and the daemon's state file, and works whether the
 * daemon runs or not. See ksmpilotctl(8). */
#define _GNU_SOURCE /* F_OFD_GETLK */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
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

#define MiB (1024.0 * 1024.0)

struct status {
	struct ksm ksm;
	struct sample s;                /* the kernel side, now */
	double ksmd_share;              /* over the last second or the daemon's interval */
	bool have_share;
	struct state_kv kv;
	int state_err;                  /* 0, -ENOENT, ... */
	bool running;
	long pid;
	unsigned numa_nodes;
};

/* Whether a daemon holds state_dir/lock: 1 yes, 0 no, -1 cannot tell
 * (no read access). F_OFD_GETLK only asks: it never takes the lock, so a
 * daemon starting meanwhile is not refused. */
static int lock_held(const char *state_dir)
{
	char path[CFG_PATH_MAX + 16];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd, r;

	snprintf(path, sizeof(path), "%s/lock", state_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	r = fcntl(fd, F_OFD_GETLK, &fl);
	close(fd);
	if (r < 0)
		return -1;
	return fl.l_type != F_UNLCK;
}

/* Without access to the lock: the pid is alive and named ksmpilotd. */
static bool pid_is_ksmpilotd(long pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	if (pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno != EPERM))
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, "ksmpilotd") == 0;
}

static const char *kv(const struct status *st, const char *key)
{
	const char *v = st->running ? state_get(&st->kv, key) : NULL;
	return v ? v : "";
}

static double kvd(const struct status *st, const char *key)
{
	const char *v = kv(st, key);
	return *v ? strtod(v, NULL) : NAN;
}

static int64_t cnt(const struct status *st, enum ksm_item i)
{
	return ksm_values_has(&st->s.ksm, i) ? st->s.ksm.v[i] : -1;
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : NAN;
}

static int gather(struct status *st, const char *sysfs, const char *state_dir)
{
	struct sampler sm;
	char path[CFG_PATH_MAX + 16];
	int r;

	memset(st, 0, sizeof(*st));
	r = ksm_open(&st->ksm, sysfs, NULL);
	if (r < 0) {
		fprintf(stderr, "ksmpilotctl: KSM is not available: %s: %s\n", sysfs, strerror(-r));
		return CTL_NO_KSM;
	}
	snprintf(path, sizeof(path), "%s/state", state_dir);
	st->state_err = state_read(path, &st->kv);
	if (st->state_err == 0) {
		const char *p = state_get(&st->kv, "pid");
		st->pid = p ? strtol(p, NULL, 10) : 0;
		int held = lock_held(state_dir);
		st->running = held < 0 ? pid_is_ksmpilotd(st->pid) : held > 0;
	}
	r = sampler_init(&sm, &st->ksm, NULL, NULL, NULL);
	if (r < 0) {
		fprintf(stderr, "ksmpilotctl: cannot read /proc: %s\n", strerror(-r));
		return CTL_FAIL;
	}
	sample_take(&sm, now_ms(), &st->s);
	if (st->running && *kv(st, "cpu_share")) {
		st->ksmd_share = kvd(st, "cpu_share");
		st->have_share = true;
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
	st->numa_nodes = hazard_numa_nodes("/sys/devices/system/node");
	return CTL_OK;
}

static void print_ago(FILE *f, const char *label, const char *when)
{
	long long t = *when ? strtoll(when, NULL, 10) : 0;
	long long ago = (long long)time(NULL) - t;
	char buf[64];
	struct tm tm;
	time_t tt = (time_t)t;

	if (!t)
		return;
	localtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(f, "%s %s (%llds ago)", label, buf, ago);
}

static void print_text(const struct status *st)
{
	static const enum ksm_item features[] = { KSM_GENERAL_PROFIT, KSM_PAGES_SCANNED, KSM_ZERO_PAGES,
						  KSM_SMART_SCAN, KSM_PAGES_SKIPPED, KSM_ADVISOR_MODE,
						  KSM_MERGE_ACROSS_NODES, KSM_MAX_PAGE_SHARING };
	const struct sample *s = &st->s;
	double saved = report_saved_bytes(s);
	int64_t run = cnt(st, KSM_RUN);
	struct utsname u;

	printf("KSM         %s (run=%" PRId64 "), pages_to_scan %" PRId64 ", sleep_millisecs %" PRId64 "%s\n",
	       run == 1 ? "running" : run == 2 ? "unmerging" : "stopped", run, cnt(st, KSM_PAGES_TO_SCAN),
	       cnt(st, KSM_SLEEP_MILLISECS),
	       ksm_values_has(&s->ksm, KSM_ADVISOR_MODE) && s->ksm.v[KSM_ADVISOR_MODE] ? ", kernel advisor on" : "");
	printf("Saving      %.1f MiB, %.2f%% of memory (pages_sharing %" PRId64, saved / MiB,
	       100.0 * saved / (double)(s->mem_total ? s->mem_total : 1), cnt(st, KSM_PAGES_SHARING));
	if (ksm_values_has(&s->ksm, KSM_ZERO_PAGES))
		printf(", zero pages %" PRId64, s->ksm.v[KSM_ZERO_PAGES]);
	printf(")\n");
	if (ksm_values_has(&s->ksm, KSM_GENERAL_PROFIT))
		printf("Profit      %.1f MiB (general_profit: saved minus the 64-byte rmap items)\n",
		       (double)s->ksm.v[KSM_GENERAL_PROFIT] / MiB);
	{
		double shared = (double)cnt(st, KSM_PAGES_SHARED), sharing = (double)cnt(st, KSM_PAGES_SHARING);
		double unsh = (double)cnt(st, KSM_PAGES_UNSHARED), vol = (double)cnt(st, KSM_PAGES_VOLATILE);
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
	printf("Memory      %.0f MiB available of %.0f MiB\n", (double)s->mem_available / MiB,
	       (double)s->mem_total / MiB);

	if (!st->running) {
		if (st->state_err == 0)
			printf("ksmpilotd   not running (stale state from pid %ld)\n", st->pid);
		else
			printf("ksmpilotd   not running\n");
	} else {
		printf("ksmpilotd   running, pid %ld", st->pid);
		print_ago(stdout, ", started", kv(st, "started"));
		printf("%s\n", strcmp(kv(st, "dry_run"), "1") == 0 ? ", dry run" : "");
		printf("Decision    %s", kv(st, "reason"));
		print_ago(stdout, " since", kv(st, "decided"));
		printf(": run=%s, %s pages/s (pages_to_scan %s, sleep %s ms), mode %s\n", kv(st, "run"),
		       kv(st, "rate_planned"), kv(st, "pages_to_scan"), kv(st, "sleep_ms"), kv(st, "mode"));
		printf("Terms       error %+.4f: P %.3f + I %.3f + D %.3f = effort %.2f; benefit %.2f "
		       "(yield %.4f, churn %.2f)\n",
		       kvd(st, "error"), kvd(st, "p"), kvd(st, "i"), kvd(st, "d"), kvd(st, "u"), kvd(st, "benefit"),
		       kvd(st, "yield"), kvd(st, "churn"));
		printf("Cost        %.2f us a page; max_cpu allows %s pages/s; idle rate %s pages/s\n",
		       kvd(st, "cost_us"), kv(st, "rate_cap"), kv(st, "rate_idle"));
		printf("Counters    %s ticks, %s adjustments, %s write errors, %s reloads (%s refused)\n",
		       kv(st, "ticks"), kv(st, "adjustments"), kv(st, "write_errors"), kv(st, "reloads"),
		       kv(st, "reload_failures"));
	}
	printf("Hazards    ");
	{
		bool any = false;
		if (st->running && strcmp(kv(st, "hazard_negative_profit"), "1") == 0) {
			printf(" general_profit negative for 10 minutes;");
			any = true;
		} else if (!st->running && ksm_values_has(&s->ksm, KSM_GENERAL_PROFIT) &&
			   s->ksm.v[KSM_GENERAL_PROFIT] < 0) {
			printf(" general_profit negative now;");
			any = true;
		}
		if (st->running && strcmp(kv(st, "hazard_map_count"), "1") == 0) {
			printf(" pid %s (%s) at %s of %s memory mappings;", kv(st, "map_count_pid"),
			       kv(st, "map_count_comm"), kv(st, "map_count_vmas"), kv(st, "max_map_count"));
			any = true;
		}
		if (ksm_values_has(&s->ksm, KSM_MERGE_ACROSS_NODES) && s->ksm.v[KSM_MERGE_ACROSS_NODES] == 1 &&
		    st->numa_nodes > 1) {
			printf(" merge_across_nodes=1 with %u NUMA nodes;", st->numa_nodes);
			any = true;
		}
		printf("%s\n", any ? "" : " none");
	}
	printf("Kernel      %s; has", uname(&u) == 0 ? u.release : "?");
	for (size_t i = 0; i < ARRAY_SIZE(features); i++)
		if (ksm_has(&st->ksm, features[i]))
			printf(" %s", ksm_item_name(features[i]));
	printf("; lacks");
	{
		bool none = true;
		for (size_t i = 0; i < ARRAY_SIZE(features); i++)
			if (!ksm_has(&st->ksm, features[i])) {
				printf(" %s", ksm_item_name(features[i]));
				none = false;
			}
		if (none)
			printf(" nothing");
	}
	printf("\n");
}

static double cntd(const struct status *st, enum ksm_item i)
{
	return ksm_values_has(&st->s.ksm, i) ? (double)st->s.ksm.v[i] : NAN;
}

/* JSON: numbers as numbers, null where a value is unknown or absent. */
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
	struct json j;

	json_begin(&j, stdout, false);
	json_object_open(&j);
	json_kv_int(&j, "format", 1);
	json_key(&j, "ksm");
	json_object_open(&j);
	for (size_t i = 0; i < ARRAY_SIZE(items); i++)
		json_kv_double(&j, ksm_item_name(items[i]), cntd(st, items[i]));
	if (ksm_values_has(&s->ksm, KSM_ADVISOR_MODE))
		json_kv_string(&j, "advisor_mode", s->ksm.v[KSM_ADVISOR_MODE] ? "scan-time" : "none");
	else
		json_kv_null(&j, "advisor_mode");
	json_object_close(&j);
	json_key(&j, "memory");
	json_object_open(&j);
	json_kv_double(&j, "total_bytes", (double)s->mem_total);
	json_kv_double(&j, "available_bytes", (double)s->mem_available);
	json_object_close(&j);
	json_key(&j, "saving");
	json_object_open(&j);
	json_kv_double(&j, "bytes", saved);
	json_kv_double(&j, "share_of_memory", ratio(saved, (double)s->mem_total));
	json_kv_double(&j, "general_profit_bytes", cntd(st, KSM_GENERAL_PROFIT));
	json_kv_double(&j, "zero_pages", cntd(st, KSM_ZERO_PAGES));
	json_object_close(&j);
	json_key(&j, "efficiency");
	json_object_open(&j);
	json_kv_double(&j, "sharing_per_shared", ratio(sharing, shared));
	json_kv_double(&j, "unshared_per_sharing", ratio(unsh, sharing));
	json_kv_double(&j, "volatile_share", ratio(vol, shared + sharing + unsh + vol));
	json_object_close(&j);
	json_key(&j, "ksmd");
	json_object_open(&j);
	json_kv_bool(&j, "visible", s->have_ksmd_cpu);
	json_kv_double(&j, "cpu_seconds", s->have_ksmd_cpu ? s->ksmd_cpu_s : NAN);
	json_kv_double(&j, "cpu_share", st->have_share ? st->ksmd_share : NAN);
	json_object_close(&j);
	json_key(&j, "daemon");
	json_object_open(&j);
	json_kv_bool(&j, "running", st->running);
	if (st->running) {
		static const char *const nums[] = { "pid", "started", "updated", "decided", "interval_ms", "run",
						    "pages_to_scan", "sleep_ms", "rate", "rate_planned", "ticks",
						    "adjustments", "write_errors", "reloads", "reload_failures" };
		static const char *const terms[] = { "error", "p", "i", "d", "u", "benefit", "yield",
						     "epoch_yield", "churn", "cost_us", "cpu_share", "rate_cap",
						     "rate_idle", "setpoint_bytes" };
		for (size_t i = 0; i < ARRAY_SIZE(nums); i++)
			json_kv_double(&j, nums[i], kvd(st, nums[i]));
		json_kv_bool(&j, "dry_run", strcmp(kv(st, "dry_run"), "1") == 0);
		json_kv_string(&j, "config", kv(st, "config"));
		json_kv_string(&j, "kernel_advisor", kv(st, "kernel_advisor"));
		json_kv_string(&j, "reason", kv(st, "reason"));
		json_kv_string(&j, "mode", kv(st, "mode"));
		json_key(&j, "terms");
		json_object_open(&j);
		for (size_t i = 0; i < ARRAY_SIZE(terms); i++)
			json_kv_double(&j, terms[i], kvd(st, terms[i]));
		json_object_close(&j);
		json_key(&j, "hazards");
		json_object_open(&j);
		json_kv_bool(&j, "negative_profit", strcmp(kv(st, "hazard_negative_profit"), "1") == 0);
		json_kv_bool(&j, "map_count", strcmp(kv(st, "hazard_map_count"), "1") == 0);
		json_kv_bool(&j, "numa_merge", strcmp(kv(st, "hazard_numa_merge"), "1") == 0);
		json_object_close(&j);
	}
	json_object_close(&j);
	json_key(&j, "features");
	json_object_open(&j);
	for (size_t i = 0; i < ARRAY_SIZE(features); i++)
		json_kv_bool(&j, ksm_item_name(features[i]), ksm_has(&st->ksm, features[i]));
	json_object_close(&j);
	json_kv_uint(&j, "numa_nodes", st->numa_nodes);
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
	if (!cfg || !st || ctl_load_config(o, cfg) < 0) {
		free(cfg);
		free(st);
		return CTL_FAIL;
	}
	rc = gather(st, o->sysfs, cfg->state_dir);
	if (rc == CTL_OK) {
		if (o->json)
			rc = print_json(st);
		else
			print_text(st);
	}
	ksm_close(&st->ksm);
	free(st);
	free(cfg);
	return rc;
}
