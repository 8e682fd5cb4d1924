/* doctor.c - see doctor.h */
#define _GNU_SOURCE /* getline on fdopen */
#include "doctor.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest.h"
#include "procscan.h"
#include "report.h"
#include "sample.h"
#include "util.h"

#define MiB (1024.0 * 1024.0)
#define KiB_MiB (1.0 / 1024.0)
#define CMDLINE_MAX CMDLINE_MATCH_MAX /* as the daemon's guest scan matches */
#define MAX_ARGS 256
/* a guest smaller than this is not worth a finding */
#define GUEST_MIN_KB UINT64_C(65536)
/* ksmd this busy (share of a core) with nothing merged is wasted */
#define BUSY_SHARE 0.05
/* findings about single guests, before "and N more" */
#define MAX_GUEST_FINDINGS 8

const char *doctor_severity_name(enum doctor_severity s)
{
	return s == DOCTOR_ACTION ? "action" : s == DOCTOR_INFO ? "info" : "ok";
}

/* ---- reading ------------------------------------------------------------------- */

/* The pid of ksmd, or 0: a process named ksmd whose parent is kthreadd,
 * as the daemon's sampler finds it (anyone may name a process "ksmd"). */
static int find_ksmd(DIR *d)
{
	struct dirent *de;

	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		char comm[32], name[300], stat[1024];
		long pid = strtol(de->d_name, NULL, 10);

		if (pid <= 0)
			continue;
		snprintf(name, sizeof(name), "%s/comm", de->d_name);
		if (read_text_at(dirfd(d), name, comm, sizeof(comm)) <= 0 || strcmp(comm, "ksmd") != 0)
			continue;
		snprintf(name, sizeof(name), "%s/stat", de->d_name);
		if (read_text_at(dirfd(d), name, stat, sizeof(stat)) > 0 && sample_stat_is_ksmd(stat))
			return (int)pid;
	}
	return 0;
}

void doctor_sample(const struct doctor_paths *p, struct doctor_sample *out)
{
	struct ksm k;
	DIR *d;
	int r;

	memset(out, 0, sizeof(*out));
	out->ms = (int64_t)now_ms();
	r = ksm_open(&k, p->ksm_dir, NULL);
	if (r == 0) {
		r = ksm_read_all(&k, &out->v);
		ksm_close(&k);
	}
	out->ksm_err = r < 0 ? r : 0;
	d = opendir(p->proc_dir);
	if (d) {
		int pid = find_ksmd(d);
		char name[64], stat[1024];
		uint64_t ticks;
		long tck = sysconf(_SC_CLK_TCK);

		snprintf(name, sizeof(name), "%d/stat", pid);
		if (pid > 0 && read_text_at(dirfd(d), name, stat, sizeof(stat)) > 0 &&
		    sample_parse_stat_ticks(stat, &ticks) == 0) {
			out->ksmd_visible = true;
			out->ksmd_cpu_s = (double)ticks / (double)(tck > 0 ? tck : 100);
		}
		closedir(d);
	}
}

/* ksm_stat's fields, through procscan's parser (absent ones stay 0).
 * Returns the fields present. */
static uint32_t parse_ksm_stat(const char *text, struct doctor_proc *p)
{
	struct procscan_proc ps = { 0 };

	(void)procscan_parse_ksm_stat(text, &ps); /* a bad value leaves that field out */
	p->rmap_items = ps.stat[PS_RMAP_ITEMS];
	p->merging_pages = ps.stat[PS_MERGING_PAGES];
	p->zero_pages = ps.stat[PS_ZERO_PAGES];
	p->mergeable = ps.stat[PS_MERGEABLE] != 0;
	p->merge_any = ps.stat[PS_MERGE_ANY] != 0;
	return ps.present;
}

/* One VMA's header: "start-end perms offset dev inode [path]". */
static bool vma_header(const char *line, char *path, size_t len)
{
	char *end;
	int fields = 0;

	errno = 0;
	strtoul(line, &end, 16);
	if (end == line || *end != '-' || errno)
		return false;
	line = end + 1;
	strtoul(line, &end, 16);
	if (end == line || *end != ' ' || errno)
		return false;
	line = end;
	/* perms, offset, dev, inode */
	while (fields < 4 && *line == ' ') {
		line += strspn(line, " ");
		line += strcspn(line, " \n");
		fields++;
	}
	if (fields < 4)
		return false;
	line += strspn(line, " ");
	snprintf(path, len, "%s", line);
	path[strcspn(path, "\n")] = '\0';
	return true;
}

/* "Key:   123 kB": the key and the number. */
static bool size_line(const char *line, char *key, size_t klen, uint64_t *v)
{
	size_t n = strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_");
	char *end;

	if (n == 0 || n >= klen || line[n] != ':')
		return false;
	memcpy(key, line, n);
	key[n] = '\0';
	line += n + 1;
	line += strspn(line, " ");
	if (!isdigit((unsigned char)*line))
		return false;
	errno = 0;
	*v = strtoull(line, &end, 10);
	return end != line && errno == 0 && strncmp(end, " kB", 3) == 0;
}

static bool has_flag(const char *flags, const char *f)
{
	size_t n = strlen(f);

	for (const char *p = flags; (p = strstr(p, f)) != NULL; p += n)
		if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0' || p[n] == '\n'))
			return true;
	return false;
}

void doctor_parse_smaps(const char *text, struct doctor_proc *p)
{
	char path[256] = "";
	uint64_t rss = 0, thp = 0, hugetlb = 0;
	const char *line = text;

	p->mergeable_kb = p->mergeable_thp_kb = p->anon_plain_kb = 0;
	p->hugetlb_kb = p->memfd_kb = p->shared_kb = 0;
	while (line && *line) {
		const char *next = strchr(line, '\n');
		char key[32];
		uint64_t v;

		if (vma_header(line, path, sizeof(path))) {
			rss = thp = hugetlb = 0;
		} else if (strncmp(line, "VmFlags:", 8) == 0) {
			char flags[256];
			size_t n = next ? (size_t)(next - line) - 8 : strlen(line + 8);
			snprintf(flags, sizeof(flags), "%.*s", (int)(n < sizeof(flags) ? n : sizeof(flags) - 1), line + 8);
			/* the last line of a VMA: classify it */
			if (has_flag(flags, "ht"))
				p->hugetlb_kb += hugetlb;
			else if (has_flag(flags, "sh") && strncmp(path, "/memfd:", 7) == 0)
				p->memfd_kb += rss;
			else if (has_flag(flags, "sh"))
				p->shared_kb += rss;
			else if (has_flag(flags, "mg")) {
				p->mergeable_kb += rss;
				p->mergeable_thp_kb += thp;
			} else if (path[0] == '\0' || path[0] == '[')
				p->anon_plain_kb += rss; /* anonymous, [heap], [stack] */
		} else if (size_line(line, key, sizeof(key), &v)) {
			if (strcmp(key, "Rss") == 0)
				rss = v;
			else if (strcmp(key, "AnonHugePages") == 0)
				thp = v;
			else if (strcmp(key, "Private_Hugetlb") == 0 || strcmp(key, "Shared_Hugetlb") == 0)
				hugetlb += v;
		}
		line = next ? next + 1 : NULL;
	}
}

/* The whole of a file under dirfd, up to max bytes; NULL on error. */
static char *slurp_at(int dirfd, const char *name, size_t max)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	char *buf;
	size_t len = 0, cap = 65536;

	if (fd < 0)
		return NULL;
	buf = malloc(cap + 1);
	while (buf) {
		ssize_t n;
		if (len == cap) {
			char *nb;
			if (cap >= max)
				break;
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			free(buf);
			buf = NULL;
		}
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (buf)
		buf[len] = '\0';
	return buf;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Another tuner of the KSM knobs, by its comm or its script's name. */
static const char *tuner_of(const char *comm, const char *const *args, size_t n)
{
	static const char *const tuners[] = { "ksmtuned", "momd", "virt-handler" };

	for (size_t i = 0; i < ARRAY_SIZE(tuners); i++) {
		if (strcmp(comm, tuners[i]) == 0)
			return tuners[i];
		/* an interpreted script: "/bin/bash /usr/sbin/ksmtuned" */
		for (size_t a = 1; a < n && a < 3; a++)
			if (strcmp(base_name(args[a]), tuners[i]) == 0)
				return tuners[i];
	}
	return NULL;
}

/* A ksmpilotd that writes the KSM knobs in ksm_dir: not --dry-run, not
 * --once, not on another --sysfs-dir (a test's fake tree). */
static bool ksmpilotd_tunes(const char *const *args, size_t n, const char *ksm_dir)
{
	const char *dir = KSM_SYSFS_DIR;

	for (size_t i = 1; i < n; i++) {
		if (strcmp(args[i], "--dry-run") == 0 || strcmp(args[i], "--once") == 0 ||
		    strcmp(args[i], "--check-config") == 0 || strcmp(args[i], "--dump-config") == 0)
			return false;
		if (strcmp(args[i], "--sysfs-dir") == 0 && i + 1 < n)
			dir = args[++i];
		else if (strncmp(args[i], "--sysfs-dir=", 12) == 0)
			dir = args[i] + 12;
	}
	return strcmp(dir, ksm_dir) == 0;
}

static void add_tuner(struct doctor_input *in, const char *what, int pid)
{
	if (in->ntuners < DOCTOR_MAX_TUNERS)
		snprintf(in->tuners[in->ntuners++], sizeof(in->tuners[0]), "%s (pid %d)", what, pid);
}

/* One process directory. */
static void look_at(struct doctor_input *in, const struct doctor_paths *p, int dfd, int pid, struct search_re *re,
		    long daemon_pid)
{
	char comm[32] = "", stat[1024], *cmd, *joined;
	const char *args[MAX_ARGS];
	size_t n = 0, len;
	ssize_t r;
	int pfd;
	struct doctor_proc pr;
	const char *tuner;
	bool matches;

	{
		char name[24];
		snprintf(name, sizeof(name), "%d", pid);
		pfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (pfd < 0)
		return;
	cmd = malloc(CMDLINE_MAX + 1);
	joined = malloc(CMDLINE_MAX + 1);
	if (!cmd || !joined)
		goto out;
	r = read_text_at(pfd, "comm", comm, sizeof(comm));
	if (r < 0)
		goto out; /* gone */
	text_sanitize(comm);
	{
		ssize_t got = read_file_at(pfd, "cmdline", cmd, CMDLINE_MAX + 1);
		len = got > 0 ? (size_t)got : 0;
		cmd[len] = '\0';
	}
	in->scanned++;
	/* matched as qemu_count() and the daemon see it; the arguments, for
	 * tuner_of() and the names, made safe to print */
	memcpy(joined, cmd, len + 1);
	cmdline_join(joined, len);
	/* each argument's length before text_sanitize(), which may shorten
	 * it in place (a C1 character of two bytes becomes one '?') */
	for (size_t i = 0, arg_len; i < len && n < MAX_ARGS; i += arg_len + 1) {
		arg_len = strlen(cmd + i);
		args[n++] = text_sanitize(cmd + i);
	}
	tuner = n ? tuner_of(comm, args, n) : NULL;
	if (tuner)
		add_tuner(in, tuner, pid);
	else if (strcmp(comm, "ksmpilotd") == 0 && (!in->daemon_running || pid != daemon_pid) &&
		 !in->daemon_locked && ksmpilotd_tunes(args, n, p->ksm_dir))
		add_tuner(in, "another ksmpilotd", pid);
	matches = re && n && search_re_match(re, joined, strlen(joined));
	memset(&pr, 0, sizeof(pr));
	pr.pid = pid;
	snprintf(pr.comm, sizeof(pr.comm), "%s", comm);
	r = read_text_at(pfd, "ksm_stat", stat, sizeof(stat));
	if (r >= 0) {
		uint32_t present = parse_ksm_stat(stat, &pr);
		pr.have_ksm_stat = true;
		/* a process's (a kernel thread's is empty) without the flag:
		 * memory marked mergeable shows only once ksmd has scanned it */
		if ((present & PS_BIT(PS_RMAP_ITEMS)) && !(present & PS_BIT(PS_MERGEABLE)))
			in->ksm_stat_unflagged = true;
		if (!strstr(stat, "ksm_merging_pages") && read_text_at(pfd, "ksm_merging_pages", stat, sizeof(stat)) > 0)
			pr.merging_pages = strtoll(stat, NULL, 10);
	} else if (r == -EACCES || r == -EPERM) {
		in->ksm_stat_denied++;
	}
	pr.guest = n && (matches || guest_is_vmm(comm));
	if (!pr.guest && !(pr.rmap_items > 0 || pr.merging_pages > 0 || pr.mergeable || pr.merge_any))
		goto out;
	if (in->nprocs == DOCTOR_MAX_PROCS) {
		in->dropped++;
		goto out;
	}
	guest_name(args, n, comm, pid, p->libvirt_dir, pr.name, sizeof(pr.name));
	{
		char *smaps = slurp_at(pfd, "smaps", (size_t)256 << 20);
		if (smaps) {
			pr.have_smaps = true;
			doctor_parse_smaps(smaps, &pr);
			free(smaps);
		}
	}
	in->procs[in->nprocs++] = pr;
out:
	free(cmd);
	free(joined);
	close(pfd);
}

static void walk_proc(struct doctor_input *in, const struct doctor_paths *p, const struct cfg *cfg)
{
	struct search_re re;
	bool have_re = false;
	long daemon_pid = 0;
	DIR *d;

	if (cfg->guest_cmdline[0]) {
		have_re = search_re_init(&re, cfg->guest_cmdline) == 0;
		in->guest_re_bad = !have_re;
	}
	if (in->kv) {
		const char *v = state_get(in->kv, "pid");
		daemon_pid = v ? strtol(v, NULL, 10) : 0;
	}
	d = opendir(p->proc_dir);
	if (!d) {
		in->proc_err = -errno;
	} else {
		const struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			char *end;
			long pid = strtol(de->d_name, &end, 10);
			if (*end || pid <= 0 || pid > INT32_MAX)
				continue;
			look_at(in, p, dirfd(d), (int)pid, have_re ? &re : NULL, daemon_pid);
		}
		closedir(d);
	}
	if (have_re)
		search_re_free(&re);
}

int doctor_gather(const struct doctor_paths *p, const struct cfg *cfg, struct doctor_input *in)
{
	struct doctor_sample keep_before = in->before, keep_after = in->after;
	char path[CFG_PATH_MAX + 64];
	struct ksm k;

	memset(in, 0, sizeof(*in));
	in->paths = *p;
	in->before = keep_before;
	in->after = keep_after;
	in->cfg = cfg;
	in->root = geteuid() == 0;
	in->kv = calloc(1, sizeof(*in->kv));
	if (!in->kv)
		return -ENOMEM;
	in->ksm_open_err = ksm_open(&k, p->ksm_dir, NULL);
	if (in->ksm_open_err == 0) {
		in->ksm_files = k.present;
		in->ksm_write_err = ksm_check_writable(&k);
		ksm_close(&k);
	}
	snprintf(path, sizeof(path), "%s/state", p->state_dir);
	in->state_err = state_read(path, in->kv);
	if (in->state_err == 0) {
		const char *pid = state_get(in->kv, "pid");
		int64_t v;
		/* without a pid of 1..INT_MAX the file tells of no daemon (0
		 * would ask only whether the lock is held) */
		in->daemon_running = pid && parse_i64(pid, 1, INT_MAX, &v) == 0 &&
				     state_daemon_running(p->state_dir, p->proc_dir, (long)v);
	}
	/* starting (no state yet), unable to write it, or the state is
	 * another instance's, one that died */
	if (!in->daemon_running)
		in->daemon_locked = state_daemon_running(p->state_dir, p->proc_dir, 0);
	snprintf(path, sizeof(path), "%s/devices/system/node", p->sys_dir);
	in->numa_nodes = hazard_numa_nodes(path);
	snprintf(path, sizeof(path), "%s/kernel/mm/transparent_hugepage/enabled", p->sys_dir);
	{
		char buf[128];
		if (read_text_at(AT_FDCWD, path, buf, sizeof(buf)) > 0) {
			const char *a = strchr(buf, '['), *b = a ? strchr(a, ']') : NULL;
			if (a && b && b - a - 1 < (ptrdiff_t)sizeof(in->thp_enabled))
				snprintf(in->thp_enabled, sizeof(in->thp_enabled), "%.*s", (int)(b - a - 1), a + 1);
		}
	}
	{
		struct procscan ps;
		in->map_err = procscan_run(p->proc_dir, &ps);
		if (in->map_err == 0) {
			hazard_map_usage(&ps, &in->maps);
			procscan_free(&ps);
		}
	}
	walk_proc(in, p, cfg);
	if (cfg->guest_cmdline[0])
		in->qemu_err = qemu_count(p->proc_dir, cfg->guest_cmdline, &in->qemu);
	return 0;
}

void doctor_input_free(struct doctor_input *in)
{
	free(in->kv);
	in->kv = NULL;
}

/* ---- the checks ----------------------------------------------------------------------- */

static struct doctor_finding *add(struct doctor_report *r, const char *id, enum doctor_severity sev,
				  const char *fix, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static struct doctor_finding *add(struct doctor_report *r, const char *id, enum doctor_severity sev,
				  const char *fix, const char *fmt, ...)
{
	static struct doctor_finding spill;
	struct doctor_finding *f = r->n < DOCTOR_MAX_FINDINGS ? &r->f[r->n++] : &spill;
	va_list ap;

	memset(f, 0, sizeof(*f));
	f->id = id;
	f->severity = sev;
	snprintf(f->fix, sizeof(f->fix), "%s", fix ? fix : "");
	va_start(ap, fmt);
	/* va_start is just above: a false positive of clang 14's analyzer */
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
	vsnprintf(f->summary, sizeof(f->summary), fmt, ap);
	va_end(ap);
	return f;
}

/* Append to the finding's evidence. */
static void ev(struct doctor_finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ev(struct doctor_finding *f, const char *fmt, ...)
{
	size_t n = strlen(f->evidence);
	va_list ap;

	if (n + 1 >= sizeof(f->evidence))
		return;
	va_start(ap, fmt);
	/* va_start is just above: a false positive of clang 14's analyzer */
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
	vsnprintf(f->evidence + n, sizeof(f->evidence) - n, fmt, ap);
	va_end(ap);
}

static bool has(const struct doctor_input *in, enum ksm_item i)
{
	return ksm_values_has(&in->after.v, i);
}

static int64_t val(const struct doctor_input *in, enum ksm_item i)
{
	return in->after.v.v[i];
}

static const char *kv(const struct doctor_input *in, const char *key)
{
	const char *v = in->daemon_running && in->kv ? state_get(in->kv, key) : NULL;
	return v ? v : "";
}

static double kvd(const struct doctor_input *in, const char *key)
{
	const char *v = kv(in, key);
	return *v ? strtod(v, NULL) : NAN;
}

/* KSM in the kernel, readable and writable. false: nothing else to check. */
static bool check_available(const struct doctor_input *in, struct doctor_report *r)
{
	const struct doctor_paths *p = &in->paths;
	struct doctor_finding *f;

	if (in->ksm_open_err == -ENOENT || in->ksm_open_err == -ENOTDIR) {
		f = add(r, "ksm-missing", DOCTOR_ACTION, "Use a kernel built with CONFIG_KSM=y (Debian's kernels are).",
			"This kernel has no KSM");
		ev(f, "%s/run does not exist", p->ksm_dir);
		return false;
	}
	if (in->ksm_open_err < 0 || in->after.ksm_err < 0) {
		f = add(r, "ksm-missing", DOCTOR_ACTION, "Check that sysfs is mounted, and run as root.",
			"The KSM directory cannot be read");
		ev(f, "%s: %s", p->ksm_dir, strerror(-(in->ksm_open_err < 0 ? in->ksm_open_err : in->after.ksm_err)));
		return false;
	}
	if (in->ksm_write_err == -EROFS || (in->ksm_write_err < 0 && in->root)) {
		f = add(r, "ksm-read-only", DOCTOR_ACTION,
			"Run ksmpilotd where /sys/kernel/mm/ksm is writable: on the host, not in a container.",
			"The KSM knobs cannot be written");
		ev(f, "%s/run: %s (a read-only sysfs, as in a container)", p->ksm_dir, strerror(-in->ksm_write_err));
	} else if (in->ksm_write_err < 0) {
		f = add(r, "ksm-read-only", DOCTOR_INFO, "Run ksmpilotctl doctor as root for every check.",
			"Not checked whether the KSM knobs can be written: not root");
		ev(f, "%s/run: %s", p->ksm_dir, strerror(-in->ksm_write_err));
	} else {
		f = add(r, "ksm-read-only", DOCTOR_OK, NULL, "KSM is present and its knobs can be written");
		ev(f, "%s", p->ksm_dir);
	}
	return true;
}

static void check_run(const struct doctor_input *in, struct doctor_report *r)
{
	const struct doctor_paths *p = &in->paths;
	int64_t run = val(in, KSM_RUN);
	struct doctor_finding *f;

	if (run >= 0 && (run & KSM_RUN_OFFLINE)) {
		f = add(r, "ksm-run", DOCTOR_INFO, "Wait for the offline to end, and run ksmpilotctl doctor again.",
			"Memory is going offline: ksmd waits, and so does a write of run");
		ev(f, "run=%" PRId64 ": the kernel adds 4 while memory is offlined; ksmpilotd holds the knobs meanwhile",
		   run);
		return;
	}
	if (run == 1) {
		f = add(r, "ksm-run", DOCTOR_OK, NULL, "ksmd is running (run=1)");
		ev(f, "run=1, pages_to_scan=%" PRId64 ", sleep_millisecs=%" PRId64, val(in, KSM_PAGES_TO_SCAN),
		   val(in, KSM_SLEEP_MILLISECS));
		return;
	}
	if (run == 2) {
		f = add(r, "ksm-run", DOCTOR_ACTION,
			"Write run=1 (or start ksmpilotd) once the unmerge is over; ksmpilotd never writes run=2.",
			"KSM is unmerging every page (run=2)");
		ev(f, "run=2: someone asked to unmerge everything; pages_shared=%" PRId64, val(in, KSM_PAGES_SHARED));
		return;
	}
	if (in->daemon_running && strcmp(kv(in, "run"), "0") == 0) {
		f = add(r, "ksm-run", DOCTOR_INFO,
			"Nothing to do: KSM starts within one interval when MemAvailable falls below the setpoint. "
			"To merge earlier, raise target_available.",
			"ksmpilotd stopped KSM because memory is not short");
		ev(f, "run=0; ksmpilotd (pid %s) decided %s: MemAvailable %.0f MiB, setpoint %.0f MiB", kv(in, "pid"),
		   kv(in, "reason"), kvd(in, "mem_available_bytes") / MiB, kvd(in, "setpoint_bytes") / MiB);
	} else if (in->daemon_running && strcmp(kv(in, "dry_run"), "1") == 0) {
		f = add(r, "ksm-run", DOCTOR_INFO,
			"Nothing is wrong: a dry run writes no knob. For ksmpilotd to start KSM, set dry_run = no "
			"and restart it.",
			"KSM is stopped, and ksmpilotd runs as a dry run");
		ev(f, "run=0; ksmpilotd (pid %s) would have written run=%s (%s), but writes nothing", kv(in, "pid"),
		   kv(in, "run"), kv(in, "reason"));
	} else if (in->daemon_running) {
		f = add(r, "ksm-run", DOCTOR_ACTION, "Find the other writer (see foreign-tuner) and stop it.",
			"KSM is stopped although ksmpilotd wants it running");
		ev(f, "run=0, but ksmpilotd (pid %s) last decided run=%s (%s)", kv(in, "pid"), kv(in, "run"),
		   kv(in, "reason"));
	} else if (in->daemon_locked) {
		f = add(r, "ksm-run", DOCTOR_ACTION,
			"Look at journalctl -u ksmpilot: ksmpilotd may be starting, hung, or unable to write its "
			"state_dir.",
			"KSM is stopped, and ksmpilotd holds its lock but its state cannot be read");
		if (in->state_err == 0)
			ev(f, "run=0; a ksmpilotd holds %s/lock; its state file is another instance's (pid %s)",
			   p->state_dir, kv(in, "pid"));
		else
			ev(f, "run=0; a ksmpilotd holds %s/lock; its state file: %s", p->state_dir,
			   strerror(-in->state_err));
	} else {
		f = add(r, "ksm-run", DOCTOR_ACTION,
			"Start the tuner: systemctl enable --now ksmpilot (or write 1 to run by hand).",
			"KSM is stopped (run=0) and ksmpilotd is not running");
		ev(f, "run=0; no ksmpilotd holds %s/lock", p->state_dir);
	}
}

static void check_advisor(const struct doctor_input *in, struct doctor_report *r)
{
	struct doctor_finding *f;

	if (!has(in, KSM_ADVISOR_MODE)) {
		add(r, "advisor", DOCTOR_OK, NULL, "This kernel has no scan-time advisor (before 6.8)");
		return;
	}
	if (val(in, KSM_ADVISOR_MODE) == 0) {
		add(r, "advisor", DOCTOR_OK, NULL, "The kernel advisor is off");
		return;
	}
	if (in->daemon_running && strcmp(kv(in, "kernel_advisor"), "defer") == 0) {
		f = add(r, "advisor", DOCTOR_INFO,
			"Nothing to do, unless you want ksmpilotd to set the rate: kernel_advisor = takeover.",
			"The kernel advisor sets pages_to_scan, as kernel_advisor = defer asks");
	} else if (in->daemon_running && strcmp(kv(in, "dry_run"), "1") == 0) {
		f = add(r, "advisor", DOCTOR_INFO,
			"Nothing is wrong: a dry run leaves the advisor on. With dry_run = no, ksmpilotd switches it "
			"off (kernel_advisor = takeover).",
			"The kernel advisor owns pages_to_scan; ksmpilotd runs as a dry run");
	} else if (in->daemon_running) {
		f = add(r, "advisor", DOCTOR_ACTION,
			"Find what switched it on (see foreign-tuner); ksmpilotd switches it off again while it runs.",
			"The kernel advisor was switched on under ksmpilotd (kernel_advisor = takeover)");
	} else {
		f = add(r, "advisor", DOCTOR_INFO,
			"The advisor reads no merge counter: it keeps pages_to_scan up when nothing is left to merge. "
			"ksmpilotd (kernel_advisor = takeover) scales the rate by the merge yield instead.",
			"The kernel advisor owns pages_to_scan");
	}
	ev(f, "advisor_mode=scan-time; pages_to_scan=%" PRId64, val(in, KSM_PAGES_TO_SCAN));
}

/* rmap items KSM tracks now: shared + sharing + unshared + volatile. */
static int64_t tracked_pages(const struct doctor_input *in)
{
	struct sample s = { .ksm = in->after.v };

	return (int64_t)sample_rmap_items(&s);
}

static bool uses_ksm(const struct doctor_proc *p)
{
	return p->rmap_items > 0 || p->merging_pages > 0 || p->mergeable || p->merge_any || p->mergeable_kb > 0;
}

static void check_mergeable(const struct doctor_input *in, struct doctor_report *r)
{
	struct doctor_finding *f;
	unsigned users = 0;
	uint64_t marked = 0;
	int64_t tracked = tracked_pages(in);

	for (unsigned i = 0; i < in->nprocs; i++) {
		users += uses_ksm(&in->procs[i]);
		marked += in->procs[i].mergeable_kb;
	}
	if (users || tracked > 0) {
		f = add(r, "mergeable-memory", DOCTOR_OK, NULL, "%u %s mergeable memory", users,
			users == 1 ? "process has" : "processes have");
		ev(f, "KSM tracks %" PRId64 " pages", tracked);
		if (marked)
			ev(f, "; %.0f MiB of resident memory is marked mergeable", (double)marked * KiB_MiB);
		if (in->dropped)
			ev(f, "; %u more processes that use KSM or look like guests were not read (at most %u are): "
			      "these figures, and those of guest-memory, thp and negative-profit, leave them out",
			   in->dropped, DOCTOR_MAX_PROCS);
		return;
	}
	if (in->proc_err < 0 || (!in->root && in->ksm_stat_denied)) {
		f = add(r, "mergeable-memory", DOCTOR_INFO, "Run ksmpilotctl doctor as root.",
			"Not checked which processes have mergeable memory");
		ev(f, "%u of %u processes' ksm_stat could not be read", in->ksm_stat_denied, in->scanned);
		return;
	}
	if (in->ksm_stat_unflagged) {
		f = add(r, "mergeable-memory", DOCTOR_INFO,
			"Start KSM (run=1), let ksmd scan, and run ksmpilotctl doctor again.",
			"Not known which processes have mergeable memory");
		ev(f, "%u processes looked at: this kernel's ksm_stat has no ksm_mergeable, so memory marked "
		      "mergeable shows only in ksm_rmap_items once ksmd has scanned it, and KSM tracks no page yet",
		   in->scanned);
		return;
	}
	f = add(r, "mergeable-memory", DOCTOR_ACTION,
		"QEMU marks guest RAM mergeable unless started with -machine mem-merge=off (libvirt: "
		"<memoryBacking><nosharepages/>); other programs call madvise(MADV_MERGEABLE) or "
		"prctl(PR_SET_MEMORY_MERGE).",
		"No process has mergeable memory: KSM has nothing to merge");
	ev(f, "%u processes looked at: none has MADV_MERGEABLE memory or PR_SET_MEMORY_MERGE (ksm_mergeable, "
	      "ksm_merge_any, ksm_rmap_items in /proc/PID/ksm_stat); KSM tracks no page",
	   in->scanned);
}

/* A guest whose memory is mostly of a kind KSM does not merge. */
static void check_guest_memory(const struct doctor_input *in, struct doctor_report *r)
{
	unsigned guests = 0, bad = 0, unread = 0;
	struct doctor_finding *f;

	for (unsigned i = 0; i < in->nprocs; i++) {
		const struct doctor_proc *g = &in->procs[i];
		uint64_t no = g->hugetlb_kb + g->memfd_kb + g->shared_kb + g->anon_plain_kb;
		uint64_t all = no + g->mergeable_kb, worst;
		const char *fix;

		if (!g->guest)
			continue;
		guests++;
		if (!g->have_smaps) {
			unread++;
			continue;
		}
		if (all < GUEST_MIN_KB || no * 2 < all)
			continue;
		if (++bad > MAX_GUEST_FINDINGS)
			continue;
		worst = g->hugetlb_kb;
		fix = "KSM merges only private anonymous pages: a guest on hugetlbfs (libvirt <hugepages/>, QEMU "
		      "-mem-path /dev/hugepages) is never merged. Leave it out of the KSM budget, or back it with "
		      "ordinary memory.";
		if (g->memfd_kb + g->shared_kb > worst) {
			worst = g->memfd_kb + g->shared_kb;
			fix = "Shared guest memory (memory-backend-memfd or -file with share=on, which vhost-user and "
			      "virtiofs need) is never merged. Use share=off where no vhost-user device needs it.";
		}
		if (g->anon_plain_kb > worst)
			fix = "The guest's memory is not marked mergeable: QEMU was started with -machine mem-merge=off "
			      "(libvirt: <memoryBacking><nosharepages/>). Remove that to let KSM merge it.";
		f = add(r, "guest-memory", DOCTOR_ACTION, fix, "Guest %s: %.0f%% of its memory is of a kind KSM does not merge",
			g->name, 100.0 * (double)no / (double)all);
		ev(f, "pid %d (%s): hugetlbfs %.0f MiB, shared memfd %.0f MiB, other shared %.0f MiB, anonymous not "
		      "marked mergeable %.0f MiB; mergeable %.0f MiB",
		   g->pid, g->comm, (double)g->hugetlb_kb * KiB_MiB, (double)g->memfd_kb * KiB_MiB,
		   (double)g->shared_kb * KiB_MiB, (double)g->anon_plain_kb * KiB_MiB, (double)g->mergeable_kb * KiB_MiB);
	}
	if (bad > MAX_GUEST_FINDINGS) {
		f = add(r, "guest-memory", DOCTOR_ACTION, "See the findings above.",
			"%u more guests with memory KSM does not merge", bad - MAX_GUEST_FINDINGS);
		ev(f, "only the first %u are listed", MAX_GUEST_FINDINGS);
	}
	if (bad)
		return;
	if (unread) {
		f = add(r, "guest-memory", DOCTOR_INFO, "Run ksmpilotctl doctor as root.",
			"Not checked how %u guest%s' memory is backed", unread, unread == 1 ? "" : "s");
		ev(f, "/proc/PID/smaps could not be read");
	} else if (guests) {
		f = add(r, "guest-memory", DOCTOR_OK, NULL, "The memory of %u guest%s is mergeable", guests,
			guests == 1 ? "" : "s");
		ev(f, "no guest has most of its memory on hugetlbfs, in shared mappings or unmarked");
	} else {
		add(r, "guest-memory", DOCTOR_OK, NULL, "No guest (QEMU or a guest_cmdline match) is running");
	}
}

static void check_thp(const struct doctor_input *in, struct doctor_report *r)
{
	uint64_t marked = 0, thp = 0, merged = 0;
	int64_t scans = has(in, KSM_FULL_SCANS) ? val(in, KSM_FULL_SCANS) : 0;
	struct doctor_finding *f;

	for (unsigned i = 0; i < in->nprocs; i++) {
		marked += in->procs[i].mergeable_kb;
		thp += in->procs[i].mergeable_thp_kb;
		merged += (uint64_t)(in->procs[i].merging_pages > 0 ? in->procs[i].merging_pages : 0) *
			  (uint64_t)(page_bytes() / 1024);
	}
	if (marked < GUEST_MIN_KB || thp * 2 < marked) {
		f = add(r, "thp", DOCTOR_OK, NULL, "Transparent huge pages hold little of the mergeable memory");
		ev(f, "transparent_hugepage/enabled=%s; %.0f of %.0f MiB in huge pages", in->thp_enabled[0] ? in->thp_enabled : "?",
		   (double)thp * KiB_MiB, (double)marked * KiB_MiB);
		return;
	}
	if (merged * 10 < marked && scans >= 2) {
		f = add(r, "thp", DOCTOR_ACTION,
			"KSM merges 4 KiB pages: it splits a huge page only when one of its pages finds a match, and "
			"cannot split one that is pinned (VFIO device assignment, direct I/O). Set transparent huge "
			"pages to madvise (echo madvise > /sys/kernel/mm/transparent_hugepage/enabled) where guests "
			"should merge.",
			"Transparent huge pages hold most of the mergeable memory, and little merges");
	} else {
		f = add(r, "thp", DOCTOR_INFO, "Nothing to do while merging goes on; if it stalls, see the action form of this finding in ksmpilotctl(8).",
			"Transparent huge pages hold most of the mergeable memory; KSM splits them as it merges");
	}
	ev(f, "transparent_hugepage/enabled=%s; %.0f of the %.0f MiB marked mergeable are in huge pages "
	      "(AnonHugePages); %.0f MiB merged; %" PRId64 " full scans since boot",
	   in->thp_enabled[0] ? in->thp_enabled : "?", (double)thp * KiB_MiB, (double)marked * KiB_MiB,
	   (double)merged * KiB_MiB, scans);
}

static void check_numa(const struct doctor_input *in, struct doctor_report *r)
{
	struct doctor_finding *f;
	int64_t man = has(in, KSM_MERGE_ACROSS_NODES) ? val(in, KSM_MERGE_ACROSS_NODES) : -1;

	if (in->numa_nodes > 1 && man == 1) {
		f = add(r, "numa", DOCTOR_ACTION,
			"Set [kernel] merge_across_nodes = 0 in ksmpilot.conf; the kernel accepts it only while nothing "
			"is merged (at boot, or after run=2).",
			"KSM merges across %u NUMA nodes", in->numa_nodes);
		ev(f, "merge_across_nodes=1: a merged page may live on a node far from the guests that use it, "
		      "which slows them");
	} else if (in->numa_nodes > 1 && man == 0) {
		f = add(r, "numa", DOCTOR_INFO, NULL, "KSM merges within each of %u NUMA nodes", in->numa_nodes);
		ev(f, "merge_across_nodes=0: an identical page is kept once per node");
	} else {
		f = add(r, "numa", DOCTOR_OK, NULL, "One NUMA node");
		ev(f, "merge_across_nodes=%" PRId64, man);
	}
}

static void check_profit(const struct doctor_input *in, struct doctor_report *r)
{
	struct doctor_finding *f;
	int64_t rmap = tracked_pages(in), per_process = 0;

	if (!has(in, KSM_GENERAL_PROFIT)) {
		add(r, "negative-profit", DOCTOR_OK, NULL, "This kernel has no general_profit (before 6.4)");
		return;
	}
	for (unsigned i = 0; i < in->nprocs; i++)
		per_process += in->procs[i].rmap_items;
	if (val(in, KSM_GENERAL_PROFIT) >= 0) {
		f = add(r, "negative-profit", DOCTOR_OK, NULL, "KSM saves more than it costs");
		ev(f, "general_profit=%.1f MiB", (double)val(in, KSM_GENERAL_PROFIT) / MiB);
		return;
	}
	f = add(r, "negative-profit", DOCTOR_ACTION,
		"Much memory is marked mergeable but does not merge: ksmpilotctl guests shows which processes; "
		"mark less memory mergeable there, or stop KSM where it does not pay.",
		"KSM costs more memory than it saves");
	ev(f, "general_profit=%.1f MiB: %.1f MiB saved, %" PRId64 " rmap items cost %.1f MiB",
	   (double)val(in, KSM_GENERAL_PROFIT) / MiB, report_saved_bytes(&(struct sample){ .ksm = in->after.v }) / MiB,
	   rmap, (double)rmap * 64 / MiB);
	if (per_process)
		ev(f, "; the processes hold %" PRId64 " rmap items", per_process);
}

static void check_busy(const struct doctor_input *in, struct doctor_report *r)
{
	const struct doctor_sample *a = &in->before, *b = &in->after;
	double dt = (double)(b->ms - a->ms) / 1000.0, share;
	int64_t gained, scanned = -1;
	struct doctor_finding *f;

	if (dt < 0.5 || !a->ksmd_visible || !b->ksmd_visible) {
		f = add(r, "ksmd-busy", DOCTOR_INFO, "Run as root on the host, with --window of a second or more.",
			"Not checked whether ksmd works without progress");
		ev(f, "%s", !b->ksmd_visible ? "ksmd is not visible here (a PID namespace?)" : "the window was too short");
		return;
	}
	share = (b->ksmd_cpu_s - a->ksmd_cpu_s) / dt;
	gained = (b->v.v[KSM_PAGES_SHARING] + b->v.v[KSM_ZERO_PAGES]) - (a->v.v[KSM_PAGES_SHARING] + a->v.v[KSM_ZERO_PAGES]);
	if (ksm_values_has(&a->v, KSM_PAGES_SCANNED) && ksm_values_has(&b->v, KSM_PAGES_SCANNED))
		scanned = b->v.v[KSM_PAGES_SCANNED] - a->v.v[KSM_PAGES_SCANNED];
	if (share < BUSY_SHARE || gained > 0 || scanned == 0) {
		f = add(r, "ksmd-busy", DOCTOR_OK, NULL, "%s",
			share < BUSY_SHARE ? "ksmd is quiet" : gained > 0 ? "ksmd's scanning merges pages" : "ksmd scanned nothing");
		ev(f, "ksmd used %.1f%% of a core over %.1f s; %+" PRId64 " pages merged", 100 * share, dt, gained);
		return;
	}
	if (in->daemon_running && strcmp(kv(in, "reason"), "probing") == 0) {
		f = add(r, "ksmd-busy", DOCTOR_INFO,
			"Nothing to do: a new pair of identical pages needs two full scans to merge.",
			"ksmd is busy without merging: ksmpilotd is probing new memory");
	} else {
		f = add(r, "ksmd-busy", DOCTOR_ACTION,
			"Scanning this fast gains nothing now. Let ksmpilotd set the rate (it drops to one full scan per "
			"idle_scan_period when a full scan brings nothing), or lower pages_to_scan.",
			"ksmd is busy and merges nothing");
	}
	ev(f, "ksmd used %.1f%% of a core over %.1f s", 100 * share, dt);
	if (scanned > 0)
		ev(f, ", scanned %" PRId64 " pages", scanned);
	ev(f, ", and pages_sharing went from %" PRId64 " to %" PRId64, a->v.v[KSM_PAGES_SHARING], b->v.v[KSM_PAGES_SHARING]);
	if (in->daemon_running)
		ev(f, "; ksmpilotd: %s, recent yield %s, benefit %s", kv(in, "reason"), kv(in, "yield"), kv(in, "benefit"));
	else
		ev(f, "; pages_to_scan=%" PRId64 ", sleep_millisecs=%" PRId64, val(in, KSM_PAGES_TO_SCAN),
		   val(in, KSM_SLEEP_MILLISECS));
}

static void check_maps(const struct doctor_input *in, struct doctor_report *r)
{
	struct doctor_finding *f;

	if (in->map_err < 0) {
		f = add(r, "map-count", DOCTOR_INFO, "Run ksmpilotctl doctor as root.", "Not checked: /proc cannot be read");
		ev(f, "%s", strerror(-in->map_err));
		return;
	}
	if (!in->maps.pid) {
		f = add(r, "map-count", DOCTOR_OK, NULL, "No process using KSM is near vm.max_map_count");
		ev(f, "vm.max_map_count=%" PRIu64 "%s", in->maps.max_map_count,
		   in->maps.unreadable ? "; some processes' maps could not be read" : "");
		return;
	}
	if ((double)in->maps.vmas >= HAZARD_MAP_SHARE * (double)in->maps.max_map_count) {
		f = add(r, "map-count", DOCTOR_ACTION,
			"Raise vm.max_map_count (sysctl -w vm.max_map_count=N, and in /etc/sysctl.d/) for this "
			"workload, or restart the process.",
			"Process %d (%s) uses KSM and is near vm.max_map_count", in->maps.pid, in->maps.comm);
		ev(f, "%" PRIu64 " memory mappings of %" PRIu64 " allowed: MADV_MERGEABLE splits mappings, and past "
		      "the limit its mmap() calls fail",
		   in->maps.vmas, in->maps.max_map_count);
		return;
	}
	f = add(r, "map-count", DOCTOR_OK, NULL, "No process using KSM is near vm.max_map_count");
	ev(f, "the most: pid %d (%s), %" PRIu64 " of %" PRIu64 " mappings", in->maps.pid, in->maps.comm, in->maps.vmas,
	   in->maps.max_map_count);
}

static void check_tuners(const struct doctor_input *in, struct doctor_report *r)
{
	static const enum ksm_item knobs[] = { KSM_RUN, KSM_PAGES_TO_SCAN, KSM_SLEEP_MILLISECS, KSM_ADVISOR_MODE };
	struct doctor_finding *f = NULL;
	const char *fix = "Run one tuner only: stop the other (systemctl disable --now ksmtuned), or stop ksmpilotd.";

	for (unsigned i = 0; i < in->ntuners; i++) {
		if (!f)
			f = add(r, "foreign-tuner", DOCTOR_ACTION, fix, "Another tuner of the KSM knobs is running");
		ev(f, "%s%s", i ? ", " : "", in->tuners[i]);
	}
	if (in->daemon_running && strcmp(kv(in, "hazard_foreign_tuner"), "1") == 0) {
		if (!f)
			f = add(r, "foreign-tuner", DOCTOR_ACTION, fix, "Someone else writes the KSM knobs");
		ev(f, "%sksmpilotd saw %s knob changes it did not make, the last within 30 ticks", f->evidence[0] ? "; " : "",
		   kv(in, "foreign_changes"));
	}
	/* no daemon: whatever changed during the window was someone else */
	for (size_t i = 0; !in->daemon_running && !in->daemon_locked && i < ARRAY_SIZE(knobs); i++) {
		enum ksm_item k = knobs[i];
		/* memory going offline adds 4 to run: no one's write */
		int64_t mask = k == KSM_RUN ? ~(int64_t)KSM_RUN_OFFLINE : ~(int64_t)0;
		if (!ksm_values_has(&in->before.v, k) || !has(in, k) || (in->before.v.v[k] & mask) == (val(in, k) & mask))
			continue;
		if (!f)
			f = add(r, "foreign-tuner", DOCTOR_ACTION, fix, "Someone writes the KSM knobs");
		ev(f, "%s%s changed from %" PRId64 " to %" PRId64 " during the window", f->evidence[0] ? "; " : "",
		   ksm_item_name(k), in->before.v.v[k], val(in, k));
	}
	if (f)
		return;
	if (in->daemon_running && *kv(in, "foreign_changes") && strcmp(kv(in, "foreign_changes"), "0") != 0) {
		f = add(r, "foreign-tuner", DOCTOR_INFO, "Nothing to do unless it recurs (an admin's one-off change).",
			"Someone changed a KSM knob under ksmpilotd, but not lately");
		ev(f, "%s knob changes since ksmpilotd started", kv(in, "foreign_changes"));
		return;
	}
	add(r, "foreign-tuner", DOCTOR_OK, NULL, "No other tuner of the KSM knobs was seen");
}

static void check_guest_cmdline(const struct doctor_input *in, struct doctor_report *r)
{
	struct doctor_finding *f;
	const char *re = in->cfg ? in->cfg->guest_cmdline : "";

	if (!re[0]) {
		add(r, "guest-cmdline", DOCTOR_OK, NULL, "guest_cmdline is not set");
		return;
	}
	if (in->guest_re_bad) {
		f = add(r, "guest-cmdline", DOCTOR_ACTION, "Fix guest_cmdline; ksmpilotd --check-config shows the error.",
			"guest_cmdline does not compile");
		ev(f, "guest_cmdline = %s", re);
		return;
	}
	if (in->qemu_err < 0) {
		f = add(r, "guest-cmdline", DOCTOR_INFO, "Run ksmpilotctl doctor as root.",
			"Not checked what guest_cmdline matches");
		ev(f, "%s", strerror(-in->qemu_err));
		return;
	}
	if (in->qemu.matched == 0) {
		f = add(r, "guest-cmdline", DOCTOR_ACTION,
			"Correct guest_cmdline (ksmpilot.conf(5)) to match your guests' command lines, or leave it "
			"empty; as it is, guest memory never counts as pressure.",
			"guest_cmdline matches no running process");
	} else if (in->qemu.qemu_matched < in->qemu.qemu) {
		f = add(r, "guest-cmdline", DOCTOR_ACTION,
			"Widen guest_cmdline, or use the pattern ksmpilotd --check-config proposes: " QEMU_GUEST_REGEX,
			"guest_cmdline misses %u of the %u QEMU processes", in->qemu.qemu - in->qemu.qemu_matched,
			in->qemu.qemu);
	} else {
		f = add(r, "guest-cmdline", DOCTOR_OK, NULL, "guest_cmdline matches %u process%s", in->qemu.matched,
			in->qemu.matched == 1 ? "" : "es");
	}
	ev(f, "guest_cmdline = %s; it matches %u command lines; %u QEMU processes run", re, in->qemu.matched,
	   in->qemu.qemu);
	if (in->qemu.missed[0])
		ev(f, "; one it misses: %s", in->qemu.missed);
}

void doctor_check(const struct doctor_input *in, struct doctor_report *out)
{
	memset(out, 0, sizeof(*out));
	if (check_available(in, out)) {
		check_run(in, out);
		check_advisor(in, out);
		check_busy(in, out);
		check_profit(in, out);
		check_numa(in, out);
	}
	check_mergeable(in, out);
	check_guest_memory(in, out);
	check_thp(in, out);
	check_maps(in, out);
	check_tuners(in, out);
	check_guest_cmdline(in, out);
	/* worst first, the order of the checks kept within a severity */
	for (unsigned i = 1; i < out->n; i++) {
		struct doctor_finding f = out->f[i];
		unsigned j = i;
		for (; j > 0 && out->f[j - 1].severity < f.severity; j--)
			out->f[j] = out->f[j - 1];
		out->f[j] = f;
	}
}

bool doctor_needs_action(const struct doctor_report *r)
{
	for (unsigned i = 0; i < r->n; i++)
		if (r->f[i].severity == DOCTOR_ACTION)
			return true;
	return false;
}
