/* state.c - see state.h */
#define _GNU_SOURCE /* F_OFD_GETLK */
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "report.h"
#include "util.h"

#define STATE_MAGIC "# ksmpilot state"

static const char *advisor_name(int v)
{
	return v == ADVISOR_DEFER ? "defer" : "takeover";
}

/* Run print into a memory stream; the malloc()ed text, or NULL. */
static char *format_with(void (*print)(FILE *f, const struct state_info *si), const struct state_info *si)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	print(f, si);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void print_state(FILE *f, const struct state_info *si)
{
	const struct sample *s = si->s;
	const struct ctl_decision *d = si->d;
	const struct ctl_terms *t = &d->t;

	fprintf(f, STATE_MAGIC " v%d: key=value, documented in ksmpilotctl(8)\n", STATE_VERSION);
	fprintf(f, "version=%d\npid=%ld\nstarted=%" PRId64 "\nupdated=%" PRId64 "\ndecided=%" PRId64 "\n",
		STATE_VERSION, si->pid, si->started, si->updated, si->decided);
	fprintf(f, "config=%s\ninterval_ms=%" PRIu64 "\ndry_run=%d\nkernel_advisor=%s\n", si->config_path,
		si->interval_ms, si->dry_run, advisor_name(si->kernel_advisor));
	fprintf(f, "ticks=%" PRIu64 "\nadjustments=%" PRIu64 "\nwrite_errors=%" PRIu64 "\nreloads=%" PRIu64
		   "\nreload_failures=%" PRIu64 "\n",
		si->ticks, si->adjustments, si->write_errors, si->reloads, si->reload_failures);
	fprintf(f, "run=%d\npages_to_scan=%" PRIu64 "\nsleep_ms=%" PRIu64 "\nset_pages=%d\n", d->run,
		d->pages_to_scan, d->sleep_ms, d->set_pages);
	fprintf(f, "rate=%.0f\nrate_planned=%.0f\nreason=%s\nmode=%s\nwake=%s\n", d->rate, d->rate_planned,
		ctl_reason_name(d->reason), ctl_mode_name(d->mode), ctl_wake_name(d->wake));
	fprintf(f, "error=%.6f\nerror_mem=%.6f\n", t->error, t->error_mem);
	/* a source that is off (NaN) has no key */
	if (!isnan(t->error_guest))
		fprintf(f, "error_guest=%.6f\n", t->error_guest);
	if (!isnan(t->error_psi))
		fprintf(f, "error_psi=%.6f\n", t->error_psi);
	fprintf(f, "p=%.6f\ni=%.6f\nd=%.6f\nu=%.6f\nu_probe=%.6f\nbenefit=%.6f\n", t->p, t->i, t->d, t->u,
		t->u_probe, t->benefit);
	fprintf(f, "yield=%.6f\nb_yield=%.6f\nb_probe=%.6f\nb_churn=%.6f\nderate=%.6f\nchurn=%.6f\n", t->yield,
		t->b_yield, t->b_probe, t->b_churn, t->derate, t->churn);
	fprintf(f, "breaks=%.3f\nprobe_pages=%.0f\nanon_excess=%.0f\nanon_noise=%.0f\n", t->breaks, t->probe_pages,
		t->anon_excess, t->anon_noise);
	fprintf(f, "plan_cost_us=%.4f\ncpu_cap=%.6f\nburst=%.6f\n", t->plan_cost_us, t->cpu_cap, t->burst);
	fprintf(f, "cost_us=%.4f\ncpu_share=%.6f\nrate_cap=%.0f\nrate_idle=%.0f\nscanned_rate=%.0f\n", t->cost_us,
		t->cpu_share, t->rate_cap, t->rate_idle, t->scanned_rate);
	fprintf(f, "setpoint_bytes=%" PRIu64 "\nmem_total_bytes=%" PRIu64 "\nmem_available_bytes=%" PRIu64 "\n",
		t->setpoint, s->mem_total, s->mem_available);
	fprintf(f, "ksmd_visible=%d\nksmd_cpu_seconds=%.2f\nestimated_cpu=%d\n", s->have_ksmd_cpu, s->ksmd_cpu_s,
		d->estimated_cpu);
	if (s->have_guest)
		fprintf(f, "guest_rss_bytes=%" PRIu64 "\nguest_processes=%u\n", s->guest_rss, s->guest_count);
	if (s->have_psi)
		fprintf(f, "psi_some_avg10=%.2f\n", s->psi_some_avg10);
	fprintf(f, "hazard_negative_profit=%d\n", si->hazard_profit);
	fprintf(f, "hazard_map_count=%d\n", si->hazard_maps);
	if (si->maps.pid)
		fprintf(f, "map_count_pid=%d\nmap_count_comm=%s\nmap_count_vmas=%" PRIu64 "\n", si->maps.pid,
			si->maps.comm, si->maps.vmas);
	fprintf(f, "max_map_count=%" PRIu64 "\n", si->maps.max_map_count);
	fprintf(f, "inspect=%s\ninspect_time=%" PRId64 "\n", si->inspect ? si->inspect : "missing", si->inspect_time);
	fprintf(f, "hazard_numa_merge=%d\nnuma_nodes=%u\n", si->hazard_numa, si->numa_nodes);
	fprintf(f, "hazard_foreign_tuner=%d\nforeign_changes=%" PRIu64 "\n", si->hazard_foreign,
		si->foreign_changes);
	fprintf(f, "mode_changes=%" PRIu64 "\nprobes=%" PRIu64 "\n", si->mode_changes, si->probes);
	if (si->full_scan_s >= 0)
		fprintf(f, "full_scan_seconds=%.1f\n", si->full_scan_s);
	fprintf(f, "max_cpu=%.4f\n", si->max_cpu);
}

/* A line-oriented file: a newline in a value would add a key. */
static bool values_ok(const struct state_info *si)
{
	return !(si->config_path && strchr(si->config_path, '\n')) && !strchr(si->maps.comm, '\n') &&
	       !(si->inspect && strchr(si->inspect, '\n'));
}

char *state_format(const struct state_info *si)
{
	if (!values_ok(si))
		return NULL;
	return format_with(print_state, si);
}

/* Whole numbers (bytes, counts) in full; others with 9 digits. */
static void value(FILE *f, double v)
{
	if (isnan(v))
		fprintf(f, "NaN\n");
	else if (isinf(v))
		fprintf(f, "%sInf\n", v > 0 ? "+" : "-");
	else if (v == floor(v) && fabs(v) < 1e18)
		fprintf(f, "%.0f\n", v);
	else
		fprintf(f, "%.9g\n", v);
}

static void metric(FILE *f, const char *type, const char *name, const char *help, double v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s ", name, help, name, type, name);
	value(f, v);
}

static void gauge(FILE *f, const char *name, const char *help, double v)
{
	metric(f, "gauge", name, help, v);
}

static void counter(FILE *f, const char *name, const char *help, double v)
{
	metric(f, "counter", name, help, v);
}

/* The controller's terms, one family per kind of quantity: a ratio of
 * MemTotal, a dimensionless share of the effort, a rate. Rows of one family
 * are adjacent. A change to struct ctl_terms is one edit here. */
struct term_metric {
	const char *name, *help;
	const char *label, *value;      /* NULL: no label */
	size_t offset;                  /* of a double in struct ctl_terms */
	double scale;
};
#define TERM(f) offsetof(struct ctl_terms, f)
static const struct term_metric term_metrics[] = {
	{ "ksmpilot_pressure_ratio",
	  "Memory pressure, above 0 when short: memory (setpoint - MemAvailable) / MemTotal, guests (committed "
	  "guest memory + setpoint - MemTotal) / MemTotal, psi (some avg10 - psi_threshold) / 100, combined the "
	  "largest; no series for a source that is off.",
	  "source", "combined", TERM(error), 1 },
	{ "ksmpilot_pressure_ratio", NULL, "source", "memory", TERM(error_mem), 1 },
	{ "ksmpilot_pressure_ratio", NULL, "source", "guests", TERM(error_guest), 1 },
	{ "ksmpilot_pressure_ratio", NULL, "source", "psi", TERM(error_psi), 1 },
	{ "ksmpilot_effort_term", "PID terms of the effort (dimensionless; their sum, clamped to 0..1, is the effort).",
	  "term", "p", TERM(p), 1 },
	{ "ksmpilot_effort_term", NULL, "term", "i", TERM(i), 1 },
	{ "ksmpilot_effort_term", NULL, "term", "d", TERM(d), 1 },
	{ "ksmpilot_effort_ratio", "Effort from memory pressure, 0..1.", NULL, NULL, TERM(u), 1 },
	{ "ksmpilot_probe_effort_ratio", "Effort of a probe of new memory: the effort, or more while memory is short, "
	  "0..1.", NULL, NULL, TERM(u_probe), 1 },
	{ "ksmpilot_benefit_ratio", "Whether scanning pays, 0..1.", NULL, NULL, TERM(benefit), 1 },
	{ "ksmpilot_benefit_term", "Parts of the benefit (dimensionless): from the merge yield, from new memory "
	  "being probed, from re-merging broken pages.", "term", "yield", TERM(b_yield), 1 },
	{ "ksmpilot_benefit_term", NULL, "term", "probe", TERM(b_probe), 1 },
	{ "ksmpilot_benefit_term", NULL, "term", "churn", TERM(b_churn), 1 },
	{ "ksmpilot_benefit_derate_ratio", "Factor on the yield benefit while volatile pages dominate, 0..1.", NULL,
	  NULL, TERM(derate), 1 },
	{ "ksmpilot_merge_yield_ratio", "Pages merged per page scanned, recently, net of broken merges.", NULL, NULL,
	  TERM(yield), 1 },
	{ "ksmpilot_churn_ratio", "Volatile share of the unshared and volatile pages.", NULL, NULL, TERM(churn), 1 },
	{ "ksmpilot_merge_breaks_pages_per_second", "Merged pages broken by writes (copy on write).", NULL, NULL,
	  TERM(breaks), 1 },
	{ "ksmpilot_probe_pages", "Pages of new memory being probed (not yet scanned twice).", NULL, NULL,
	  TERM(probe_pages), 1 },
	{ "ksmpilot_anon_excess_bytes", "Anonymous memory above the level the controller knows.", NULL, NULL,
	  TERM(anon_excess), 1 },
	{ "ksmpilot_anon_noise_bytes", "Mean change of anonymous memory between two samples.", NULL, NULL,
	  TERM(anon_noise), 1 },
	{ "ksmpilot_ksmd_cost_seconds_per_page", "ksmd CPU time per page scanned: measured, and as the cap was planned.",
	  "basis", "measured", TERM(cost_us), 1e-6 },
	{ "ksmpilot_ksmd_cost_seconds_per_page", NULL, "basis", "planned", TERM(plan_cost_us), 1e-6 },
	{ "ksmpilot_ksmd_cpu_ratio", "ksmd CPU over the last interval (the last 10 s while ksmd idles), in cores.", NULL, NULL, TERM(cpu_share), 1 },
	{ "ksmpilot_ksmd_cpu_allowed_ratio", "ksmd CPU allowed now (max_cpu, up to max_cpu_burst), in cores.", NULL,
	  NULL, TERM(cpu_cap), 1 },
	{ "ksmpilot_ksmd_cpu_burst_ratio", "Burst allowance left, 0..1.", NULL, NULL, TERM(burst), 1 },
	{ "ksmpilot_scan_rate_cap_pages_per_second", "Scan rate the CPU cap allows at the planned cost.", NULL, NULL,
	  TERM(rate_cap), 1 },
	{ "ksmpilot_idle_scan_rate_pages_per_second", "Scan rate of the idle scan.", NULL, NULL, TERM(rate_idle), 1 },
	{ "ksmpilot_scanned_pages_per_second", "Pages scanned per second over the last interval (the last 10 s while ksmd idles).", NULL, NULL,
	  TERM(scanned_rate), 1 },
};
#undef TERM

static void print_terms(FILE *f, const struct ctl_terms *t)
{
	for (size_t i = 0; i < ARRAY_SIZE(term_metrics); i++) {
		const struct term_metric *m = &term_metrics[i];
		double v = *(const double *)(const void *)((const char *)t + m->offset) * m->scale;

		/* NaN: a pressure source that is off (guest_cmdline, PSI) has
		 * no series; never the first of its family, so the HELP is out */
		if (isnan(v))
			continue; /* a pressure source that is off */
		if (m->help)
			fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", m->name, m->help, m->name);
		if (m->label)
			fprintf(f, "%s{%s=\"%s\"} ", m->name, m->label, m->value);
		else
			fprintf(f, "%s ", m->name);
		value(f, v);
	}
}

/* Only what node_exporter's own ksmd collector lacks: it already exports
 * run, pages_to_scan, sleep_millisecs and the page counters (and is off by
 * default). */
static void print_metrics(FILE *f, const struct state_info *si)
{
	const struct ctl_decision *d = si->d;
	const struct sample *s = si->s;

	fprintf(f, "# HELP ksmpilot_build_info ksmpilotd version.\n# TYPE ksmpilot_build_info gauge\n"
		   "ksmpilot_build_info{version=\"%s\"} 1\n",
		KSMPILOT_VERSION);
	gauge(f, "ksmpilot_last_update_timestamp_seconds", "When ksmpilotd last wrote this file.",
	      (double)si->updated);
	gauge(f, "ksmpilot_saving_bytes", "Memory KSM saves now: the pages merged, zero pages included, in bytes.",
	      report_saved_bytes(s));
	if (ksm_values_has(&s->ksm, KSM_GENERAL_PROFIT))
		gauge(f, "ksmpilot_general_profit_bytes", "general_profit: the saving minus the 64-byte rmap items.",
		      (double)s->ksm.v[KSM_GENERAL_PROFIT]);
	if (ksm_values_has(&s->ksm, KSM_PAGES_SCANNED))
		counter(f, "ksmpilot_pages_scanned_total", "Pages ksmd has scanned since boot (pages_scanned).",
			(double)s->ksm.v[KSM_PAGES_SCANNED]);
	if (si->full_scan_s >= 0)
		gauge(f, "ksmpilot_full_scan_seconds", "Duration of the last full scan, as seen at the ticks.",
		      si->full_scan_s);
	gauge(f, "ksmpilot_setpoint_bytes", "MemAvailable the controller aims at (target_available).",
	      (double)d->t.setpoint);
	gauge(f, "ksmpilot_memory_available_bytes", "MemAvailable as the controller saw it at the last tick.",
	      (double)s->mem_available);
	fprintf(f, "# HELP ksmpilot_controller_mode The controller's mode (1 for the current one).\n"
		   "# TYPE ksmpilot_controller_mode gauge\n");
	for (int m = 0; m < CTL_MODE_COUNT; m++)
		fprintf(f, "ksmpilot_controller_mode{mode=\"%s\"} %d\n", ctl_mode_name((enum ctl_mode)m),
			m == (int)d->mode);
	fprintf(f, "# HELP ksmpilot_decision_reason Reason for the last decision (1 for the current one).\n"
		   "# TYPE ksmpilot_decision_reason gauge\n");
	for (int r = 0; r < CTL_R_COUNT; r++)
		fprintf(f, "ksmpilot_decision_reason{reason=\"%s\"} %d\n", ctl_reason_name((enum ctl_reason)r),
			r == (int)d->reason);
	print_terms(f, &d->t);
	gauge(f, "ksmpilot_wanted_scan_rate_pages_per_second", "Scan rate the controller wants.", d->run ? d->rate : 0);
	gauge(f, "ksmpilot_ksmd_cpu_cap_ratio", "The cap on ksmd CPU (max_cpu), in cores.", si->max_cpu);
	if (s->have_ksmd_cpu)
		counter(f, "ksmpilot_ksmd_cpu_seconds_total", "CPU time of the ksmd kernel thread since boot.",
			s->ksmd_cpu_s);
	counter(f, "ksmpilot_ticks_total", "Samples taken and decided on.", (double)si->ticks);
	counter(f, "ksmpilot_adjustments_total", "Ticks that wrote at least one KSM knob.", (double)si->adjustments);
	counter(f, "ksmpilot_write_errors_total", "KSM knob writes the kernel rejected.", (double)si->write_errors);
	counter(f, "ksmpilot_reloads_total", "Configuration reloads taken.", (double)si->reloads);
	counter(f, "ksmpilot_reload_failures_total", "Configuration reloads refused (bad file).",
		(double)si->reload_failures);
	counter(f, "ksmpilot_mode_changes_total", "Changes of the controller's mode.", (double)si->mode_changes);
	counter(f, "ksmpilot_probes_total", "Probes: ticks on which new memory ended idling or stopping.",
		(double)si->probes);
	counter(f, "ksmpilot_foreign_changes_total", "Knob changes made by someone else (another tuner, an admin).",
		(double)si->foreign_changes);
	gauge(f, "ksmpilot_last_decision_timestamp_seconds", "When the decision last changed.", (double)si->decided);
	fprintf(f, "# HELP ksmpilot_hazard Hazards from the KSM documentation (1 while an episode is on).\n"
		   "# TYPE ksmpilot_hazard gauge\n");
	/* not checked, and not a 0, where the kernel has no general_profit */
	if (si->s && ksm_values_has(&si->s->ksm, KSM_GENERAL_PROFIT))
		fprintf(f, "ksmpilot_hazard{hazard=\"negative_profit\"} %d\n", si->hazard_profit);
	fprintf(f, "ksmpilot_hazard{hazard=\"map_count\"} %d\n"
		   "ksmpilot_hazard{hazard=\"numa_merge\"} %d\n"
		   "ksmpilot_hazard{hazard=\"foreign_tuner\"} %d\n",
		si->hazard_maps, si->hazard_numa, si->hazard_foreign);
	/* without fresh data from ksmpilotctl inspect the map_count check is
	 * off, and its hazard reads 0: said here rather than hidden */
	gauge(f, "ksmpilot_inspect_fresh",
	      "Whether ksmpilotctl inspect's data is fresh: 1 while the vm.max_map_count check runs, 0 while it is off.",
	      si->inspect && strcmp(si->inspect, "fresh") == 0 ? 1 : 0);
	if (si->inspect_time > 0)
		gauge(f, "ksmpilot_inspect_timestamp_seconds", "When ksmpilotctl inspect last scanned the processes.",
		      (double)si->inspect_time);
	if (si->guests)
		guests_metrics(f, si->guests, si->guest_series);
}

char *metrics_format(const struct state_info *si)
{
	return format_with(print_metrics, si);
}

/* Rewritten every few seconds: atomic, but no fsync. */
int state_write(int dirfd, const char *name, const struct state_info *si)
{
	char *text;
	int r;

	if (!values_ok(si))
		return -EINVAL;
	text = state_format(si);
	if (!text)
		return -ENOMEM;
	r = write_file_at(dirfd, name, text, strlen(text), 0644, false);
	free(text);
	return r;
}

int metrics_write(const char *path, const struct state_info *si)
{
	char *text = metrics_format(si);
	int r;

	if (!text)
		return -ENOMEM;
	r = write_file_replace(path, text, strlen(text), 0644, false);
	free(text);
	return r;
}

int state_read(const char *path, struct state_kv *kv)
{
	char *text, *line, *save = NULL;
	size_t len;
	int r;

	r = read_file(path, (size_t)64 * 1024, &text, &len);
	if (r < 0)
		return r;
	memset(kv, 0, sizeof(*kv));
	if (strncmp(text, STATE_MAGIC, strlen(STATE_MAGIC)) != 0) {
		free(text);
		return -EINVAL;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (line[0] == '#' || !eq || kv->n == STATE_MAX_KEYS)
			continue;
		*eq = '\0';
		snprintf(kv->key[kv->n], sizeof(kv->key[0]), "%s", line);
		snprintf(kv->value[kv->n], sizeof(kv->value[0]), "%s", eq + 1);
		/* printed on a root terminal: whatever wrote it, no control
		 * character gets through */
		text_sanitize(kv->key[kv->n]);
		text_sanitize(kv->value[kv->n]);
		kv->n++;
	}
	free(text);
	return 0;
}

const char *state_get(const struct state_kv *kv, const char *key)
{
	for (unsigned i = 0; i < kv->n; i++)
		if (strcmp(kv->key[i], key) == 0)
			return kv->value[i];
	return NULL;
}

/* Whether a daemon holds state_dir/lock: 1 yes, 0 no, -1 cannot tell
 * (no read access). F_OFD_GETLK only asks: it never takes the lock, so a
 * daemon starting meanwhile is not refused. */
static int lock_held(const char *state_dir)
{
	char path[CFG_PATH_MAX + 16];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd, r;

	snprintf(path, sizeof(path), "%s/lock", state_dir);
	/* O_NONBLOCK: a FIFO put there must not hang a root ksmpilotctl */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	r = fcntl(fd, F_OFD_GETLK, &fl);
	close(fd);
	if (r < 0)
		return -1;
	return fl.l_type != F_UNLCK;
}

/* Without access to the lock: the pid is alive and named ksmpilotd. */
bool state_pid_is_ksmpilotd(const char *proc_dir, long pid)
{
	char path[CFG_PATH_MAX + 32], comm[32] = "";
	FILE *f;

	if (pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno != EPERM))
		return false;
	snprintf(path, sizeof(path), "%s/%ld/comm", proc_dir, pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, "ksmpilotd") == 0;
}

/* The pid the lock's holder wrote into it; 0 while it has not yet (or the
 * file cannot be read). */
static long lock_pid(const char *state_dir)
{
	char path[CFG_PATH_MAX + 16], buf[32];
	ssize_t n = -1;
	long pid = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/lock", state_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd >= 0) {
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		close(fd);
	}
	if (n > 0) {
		char *end;
		buf[n] = '\0';
		errno = 0;
		pid = strtol(buf, &end, 10);
		if (errno || end == buf || (*end != '\n' && *end != '\0') || pid <= 0)
			pid = 0;
	}
	return pid;
}

bool state_daemon_running(const char *state_dir, const char *proc_dir, long pid)
{
	int held = lock_held(state_dir);
	long holder;

	if (held < 0)
		return state_pid_is_ksmpilotd(proc_dir, pid);
	if (held == 0 || pid == 0)
		return held > 0;
	/* held: by that pid? A state file left by an instance that died is
	 * not the holder's (its pid, in the lock, tells). A lock with no pid
	 * in it yet tells nothing: then the pid must be a ksmpilotd's, since
	 * ksmpilotctl reload signals it */
	holder = lock_pid(state_dir);
	return holder == pid || (holder == 0 && state_pid_is_ksmpilotd(proc_dir, pid));
}

int state_dir_of_pid(const char *proc_dir, long pid, char *dir, size_t size)
{
	char path[CFG_PATH_MAX + 64], link[CFG_PATH_MAX + 16];
	struct dirent *de;
	int r = -ENOENT;
	DIR *d;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "%s/%ld/fd", proc_dir, pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		ssize_t n;
		char *slash;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%ld/fd/%s", proc_dir, pid, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0 || (size_t)n >= sizeof(link) - 1)
			continue; /* gone meanwhile, or longer than a state_dir */
		link[n] = '\0';
		slash = strrchr(link, '/');
		if (link[0] != '/' || !slash || slash == link || strcmp(slash, "/lock") != 0)
			continue;
		*slash = '\0';
		if ((size_t)(slash - link) >= size) {
			r = -ENAMETOOLONG;
			continue;
		}
		memcpy(dir, link, (size_t)(slash - link) + 1);
		r = 0;
		break;
	}
	closedir(d);
	return r;
}
