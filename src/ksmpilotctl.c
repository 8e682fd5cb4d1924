/* ksmpilotctl.c - the operator's tool: `status` (KSM and ksmpilotd at a
 * glance, or as JSON) and `import-ksmtuned` (a ksmpilot.conf from a
 * ksmtuned.conf). It reads sysfs and the daemon's state file, and works
 * whether the daemon runs or not. See ksmpilotctl(8). */
#define _GNU_SOURCE /* F_OFD_GETLK */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "hazard.h"
#include "import.h"
#include "ksm.h"
#include "report.h"
#include "sample.h"
#include "state.h"
#include "util.h"

#define MiB (1024.0 * 1024.0)

enum { CTL_OK = 0, CTL_FAIL = 1, CTL_USAGE = 2, CTL_CONFIG = 3, CTL_NO_KSM = 4 };

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ksmpilotctl [OPTION]... COMMAND\n"
		"KSM and the ksmpilotd KSM tuner, for operators.\n"
		"\n"
		"Commands:\n"
		"  status [--json]          KSM and ksmpilotd at a glance; works without the daemon\n"
		"  import-ksmtuned [FILE]   print a ksmpilot.conf equivalent to FILE\n"
		"                           (default /etc/ksmtuned.conf)\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE        ksmpilotd's configuration, for state_dir (default %s)\n"
		"      --state-dir DIR      ksmpilotd's state directory (overrides the configuration)\n"
		"      --sysfs-dir DIR      KSM sysfs directory (default %s)\n"
		"      --json               with status: JSON, see ksmpilotctl(8)\n"
		"  -h, --help               show this help and exit\n"
		"  -V, --version            show the version and exit\n"
		"\n"
		"Exit codes: 0 success, 1 failure, 2 bad usage, 3 bad configuration or input,\n"
		"4 KSM not available.\n",
		KSMPILOT_CONFIG, KSM_SYSFS_DIR);
}

/* ---- status ------------------------------------------------------------------ */

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

/* JSON: numbers as numbers, null where a value is unknown or absent. */
static void jnum(const char *key, double v, bool last)
{
	if (isfinite(v) && v == floor(v) && fabs(v) < 1e18)
		printf("\"%s\": %.0f%s", key, v, last ? "" : ", ");
	else if (isfinite(v))
		printf("\"%s\": %.10g%s", key, v, last ? "" : ", ");
	else
		printf("\"%s\": null%s", key, last ? "" : ", ");
}

static void jstr(const char *key, const char *v, bool last)
{
	printf("\"%s\": \"", key);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			printf("\\%c", *v);
		else if ((unsigned char)*v < 0x20)
			printf("\\u%04x", *v);
		else
			putchar(*v);
	}
	printf("\"%s", last ? "" : ", ");
}

static void jbool(const char *key, bool v, bool last)
{
	printf("\"%s\": %s%s", key, v ? "true" : "false", last ? "" : ", ");
}

static double cntd(const struct status *st, enum ksm_item i)
{
	return ksm_values_has(&st->s.ksm, i) ? (double)st->s.ksm.v[i] : NAN;
}

static void print_json(const struct status *st)
{
	static const enum ksm_item items[] = { KSM_RUN, KSM_PAGES_TO_SCAN, KSM_SLEEP_MILLISECS, KSM_PAGES_SHARED,
					       KSM_PAGES_SHARING, KSM_PAGES_UNSHARED, KSM_PAGES_VOLATILE,
					       KSM_FULL_SCANS, KSM_PAGES_SCANNED, KSM_PAGES_SKIPPED,
					       KSM_ZERO_PAGES, KSM_GENERAL_PROFIT, KSM_MERGE_ACROSS_NODES,
					       KSM_MAX_PAGE_SHARING, KSM_USE_ZERO_PAGES, KSM_SMART_SCAN };
	const struct sample *s = &st->s;
	double saved = report_saved_bytes(s);
	double shared = cntd(st, KSM_PAGES_SHARED), sharing = cntd(st, KSM_PAGES_SHARING);
	double unsh = cntd(st, KSM_PAGES_UNSHARED), vol = cntd(st, KSM_PAGES_VOLATILE);

	printf("{\"format\": 1, \"ksm\": {");
	for (size_t i = 0; i < ARRAY_SIZE(items); i++)
		jnum(ksm_item_name(items[i]), cntd(st, items[i]), false);
	if (ksm_values_has(&s->ksm, KSM_ADVISOR_MODE))
		jstr("advisor_mode", s->ksm.v[KSM_ADVISOR_MODE] ? "scan-time" : "none", true);
	else
		printf("\"advisor_mode\": null");
	printf("}, \"memory\": {");
	jnum("total_bytes", (double)s->mem_total, false);
	jnum("available_bytes", (double)s->mem_available, true);
	printf("}, \"saving\": {");
	jnum("bytes", saved, false);
	jnum("share_of_memory", ratio(saved, (double)s->mem_total), false);
	jnum("general_profit_bytes", cntd(st, KSM_GENERAL_PROFIT), false);
	jnum("zero_pages", cntd(st, KSM_ZERO_PAGES), true);
	printf("}, \"efficiency\": {");
	jnum("sharing_per_shared", ratio(sharing, shared), false);
	jnum("unshared_per_sharing", ratio(unsh, sharing), false);
	jnum("volatile_share", ratio(vol, shared + sharing + unsh + vol), true);
	printf("}, \"ksmd\": {");
	jbool("visible", s->have_ksmd_cpu, false);
	jnum("cpu_seconds", s->have_ksmd_cpu ? s->ksmd_cpu_s : NAN, false);
	jnum("cpu_share", st->have_share ? st->ksmd_share : NAN, true);
	printf("}, \"daemon\": {");
	jbool("running", st->running, !st->running);
	if (st->running) {
		static const char *const nums[] = { "pid", "started", "updated", "decided", "interval_ms", "run",
						    "pages_to_scan", "sleep_ms", "rate", "rate_planned", "ticks",
						    "adjustments", "write_errors", "reloads", "reload_failures" };
		static const char *const terms[] = { "error", "p", "i", "d", "u", "benefit", "yield",
						     "epoch_yield", "churn", "cost_us", "cpu_share", "rate_cap",
						     "rate_idle", "setpoint_bytes" };
		for (size_t i = 0; i < ARRAY_SIZE(nums); i++)
			jnum(nums[i], kvd(st, nums[i]), false);
		jbool("dry_run", strcmp(kv(st, "dry_run"), "1") == 0, false);
		jstr("config", kv(st, "config"), false);
		jstr("kernel_advisor", kv(st, "kernel_advisor"), false);
		jstr("reason", kv(st, "reason"), false);
		jstr("mode", kv(st, "mode"), false);
		printf("\"terms\": {");
		for (size_t i = 0; i < ARRAY_SIZE(terms); i++)
			jnum(terms[i], kvd(st, terms[i]), i + 1 == ARRAY_SIZE(terms));
		printf("}, \"hazards\": {");
		jbool("negative_profit", strcmp(kv(st, "hazard_negative_profit"), "1") == 0, false);
		jbool("map_count", strcmp(kv(st, "hazard_map_count"), "1") == 0, false);
		jbool("numa_merge", strcmp(kv(st, "hazard_numa_merge"), "1") == 0, true);
		printf("}");
	}
	printf("}, \"features\": {");
	{
		static const enum ksm_item f[] = { KSM_GENERAL_PROFIT, KSM_PAGES_SCANNED, KSM_ZERO_PAGES,
						   KSM_SMART_SCAN, KSM_PAGES_SKIPPED, KSM_ADVISOR_MODE,
						   KSM_MERGE_ACROSS_NODES, KSM_MAX_PAGE_SHARING };
		for (size_t i = 0; i < ARRAY_SIZE(f); i++)
			jbool(ksm_item_name(f[i]), ksm_has(&st->ksm, f[i]), i + 1 == ARRAY_SIZE(f));
	}
	printf("}, ");
	jnum("numa_nodes", st->numa_nodes, true);
	printf("}\n");
}

static int cmd_status(const char *sysfs, const char *state_dir, bool json)
{
	struct status *st = calloc(1, sizeof(*st));
	int rc;

	if (!st)
		return CTL_FAIL;
	rc = gather(st, sysfs, state_dir);
	if (rc == CTL_OK) {
		if (json)
			print_json(st);
		else
			print_text(st);
	}
	ksm_close(&st->ksm);
	free(st);
	return rc;
}

/* ---- import-ksmtuned ------------------------------------------------------------ */

static int cmd_import(const char *file)
{
	struct meminfo_values mi = { 0 };
	void *proc = proc_libproc2_new();
	char *text = NULL;
	size_t len = 0;
	int r;

	r = read_file(file, CFG_MAX_FILE_SIZE, &text, &len);
	if (r < 0) {
		fprintf(stderr, "ksmpilotctl: %s: cannot read: %s\n", file, strerror(-r));
		if (proc)
			proc_ops_libproc2.destroy(proc);
		return CTL_FAIL;
	}
	/* ksmtuned scaled some values by MemTotal: use this machine's */
	if (!proc || proc_ops_libproc2.meminfo(proc, &mi) < 0)
		mi.total = 0;
	if (proc)
		proc_ops_libproc2.destroy(proc);
	r = import_ksmtuned(text, len, file, mi.total, stdout, stderr);
	free(text);
	if (fflush(stdout) != 0 && r >= 0)
		r = -EIO;
	if (r < 0) {
		fprintf(stderr, "ksmpilotctl: import-ksmtuned %s: %s\n", file, strerror(-r));
		return CTL_FAIL;
	}
	return r > 0 ? CTL_CONFIG : CTL_OK;
}

/* ---- main ------------------------------------------------------------------- */

enum { OPT_STATE_DIR = 256, OPT_SYSFS, OPT_JSON };

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "sysfs-dir", required_argument, NULL, OPT_SYSFS },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = KSMPILOT_CONFIG, *state_dir = NULL, *sysfs = KSM_SYSFS_DIR;
	bool config_explicit = false, json = false;
	int c;

	while ((c = getopt_long(argc, argv, "+c:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			config_explicit = true;
			break;
		case OPT_STATE_DIR:
			state_dir = optarg;
			break;
		case OPT_SYSFS:
			sysfs = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			usage(stdout);
			return CTL_OK;
		case 'V':
			printf("ksmpilotctl %s\n", KSMPILOT_VERSION);
			return CTL_OK;
		default:
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	if (strcmp(argv[optind], "status") == 0) {
		struct cfg *cfg;
		struct cfg_errors *errs;
		int rc;
		for (int i = optind + 1; i < argc; i++) {
			if (strcmp(argv[i], "--json") == 0) {
				json = true;
			} else {
				fprintf(stderr, "ksmpilotctl: status: unexpected argument '%s'\n", argv[i]);
				return CTL_USAGE;
			}
		}
		cfg = malloc(sizeof(*cfg));
		errs = calloc(1, sizeof(*errs));
		if (!cfg || !errs) {
			free(cfg);
			free(errs);
			return CTL_FAIL;
		}
		if (!state_dir) {
			/* state_dir from ksmpilotd's configuration; fall back to the
			 * default if it does not parse (status must still work) */
			if (cfg_load(config, config_explicit, cfg, errs) < 0) {
				for (unsigned i = 0; i < errs->n; i++)
					fprintf(stderr, "%s\n", errs->msg[i]);
				fprintf(stderr, "ksmpilotctl: using the default state directory %s\n",
					KSMPILOT_RUNSTATEDIR);
				cfg_defaults(cfg);
			}
		} else {
			cfg_defaults(cfg);
			snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", state_dir);
		}
		rc = cmd_status(sysfs, cfg->state_dir, json);
		free(errs);
		free(cfg);
		return rc;
	}
	if (strcmp(argv[optind], "import-ksmtuned") == 0) {
		const char *file = "/etc/ksmtuned.conf";
		if (argc - optind > 2) {
			fprintf(stderr, "ksmpilotctl: import-ksmtuned takes at most one file\n");
			return CTL_USAGE;
		}
		if (argc - optind == 2)
			file = argv[optind + 1];
		return cmd_import(file);
	}
	fprintf(stderr, "ksmpilotctl: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return CTL_USAGE;
}
