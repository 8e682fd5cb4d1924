/* sample.c - see sample.h */
#include "sample.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libproc2/meminfo.h>
#include <libproc2/pids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* ---- libproc2 ----------------------------------------------------------- */

struct procps_ctx {
	struct meminfo_info *mem;
	struct pids_info *one;          /* finding ksmd: PID, CMD, PPID, FLAGS */
	int stat_fd;                    /* /proc/<ksmd>/stat, kept open */
	int stat_pid;
	int vmstat_fd;                  /* /proc/vmstat, kept open; -1 until needed */
	struct pids_info *guest;        /* the guest scan's pass under way, or NULL */
	struct guest_usage guest_acc;   /* its sums so far */
	char *cmdline;                  /* SAMPLE_GUEST_MATCH_MAX + 1 bytes, for the scan; NULL until needed */
};

enum { ONE_PID, ONE_CMD, ONE_PPID, ONE_FLAGS };
static enum pids_item one_items[] = { PIDS_ID_PID, PIDS_CMD, PIDS_ID_PPID, PIDS_FLAGS };
/* Kernel threads are children of kthreadd, pid 2, and carry PF_KTHREAD; a
 * user process may call itself "ksmd" too, and in a PID namespace be a
 * child of that namespace's pid 2. */
#define KTHREADD_PID 2
#define PF_KTHREAD 0x00200000UL
static enum meminfo_item mem_items[] = { MEMINFO_MEM_TOTAL, MEMINFO_MEM_AVAILABLE, MEMINFO_MEM_FREE,
					 MEMINFO_MEM_ANON };

static int pp_meminfo(void *ctx, struct meminfo_values *out)
{
	struct procps_ctx *c = ctx;
	struct meminfo_stack *st;

	/* procps_meminfo_get() caches for a second; select re-reads. */
	st = procps_meminfo_select(c->mem, mem_items, (int)ARRAY_SIZE(mem_items));
	if (!st)
		return errno ? -errno : -EIO;
	out->total = (uint64_t)MEMINFO_VAL(0, ul_int, st, c->mem) * 1024u;
	out->available = (uint64_t)MEMINFO_VAL(1, ul_int, st, c->mem) * 1024u;
	out->free = (uint64_t)MEMINFO_VAL(2, ul_int, st, c->mem) * 1024u;
	out->anon = (uint64_t)MEMINFO_VAL(3, ul_int, st, c->mem) * 1024u;
	out->have_anon = true;
	if (out->total == 0)
		return -EBADMSG;
	return 0;
}

static int pp_find_ksmd(void *ctx, int *pid)
{
	struct procps_ctx *c = ctx;
	struct pids_fetch *f;

	f = procps_pids_reap(c->one, PIDS_FETCH_TASKS_ONLY);
	if (!f)
		return errno ? -errno : -EIO;
	for (int i = 0; i < f->counts->total; i++) {
		const char *cmd = PIDS_VAL(ONE_CMD, str, f->stacks[i], c->one);
		if (cmd && strcmp(cmd, "ksmd") == 0 && PIDS_VAL(ONE_PPID, s_int, f->stacks[i], c->one) == KTHREADD_PID &&
		    (PIDS_VAL(ONE_FLAGS, ul_int, f->stacks[i], c->one) & PF_KTHREAD)) {
			*pid = PIDS_VAL(ONE_PID, s_int, f->stacks[i], c->one);
			return 0;
		}
	}
	return -ESRCH;
}

/* utime + stime from a /proc/PID/stat line of ksmd. */
/* The rest of a /proc/PID/stat line after its comm, where the comm is
 * ksmd: "PID (comm) state ...", the comm running to the last ')'; NULL
 * for another comm (a process may put ") (ksmd)" in its name). */
static const char *after_ksmd_comm(const char *text)
{
	const char *close = strrchr(text, ')'), *open = strchr(text, '(');

	if (!close || !open || close - open != 5 || strncmp(open, "(ksmd)", 6) != 0)
		return NULL;
	return close + 1;
}

int sample_parse_stat_ticks(const char *text, uint64_t *ticks)
{
	const char *p = after_ksmd_comm(text);
	uint64_t f[2] = { 0, 0 };
	char *end;

	/* utime and stime are fields 14 and 15 */
	if (!p)
		return -ESRCH;
	for (int field = 3; field <= 15; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -EBADMSG;
		if (field >= 14) {
			errno = 0;
			f[field - 14] = strtoull(p, &end, 10);
			if (end == p || errno)
				return -EBADMSG;
			p = end;
		} else {
			p += strcspn(p, " ");
		}
	}
	*ticks = f[0] + f[1];
	return 0;
}

/* Whether a /proc/PID/stat line is the kernel's ksmd: named so, a child
 * of kthreadd, and a kernel thread (anyone may name a process "ksmd"). */
bool sample_stat_is_ksmd(const char *text)
{
	const char *p = after_ksmd_comm(text);
	unsigned long f[6];

	if (!p)
		return false;
	/* " S PPID PGRP SESSION TTY TPGID FLAGS ..." */
	while (*p == ' ')
		p++;
	if (!*p)
		return false;
	p += strcspn(p, " ");
	for (int i = 0; i < 6; i++) {
		char *end;
		errno = 0;
		/* tty and tpgid may be negative; only ppid and flags count */
		f[i] = (unsigned long)strtol(p, &end, 10);
		if (end == p || errno)
			return false;
		p = end;
	}
	return f[0] == KTHREADD_PID && (f[5] & PF_KTHREAD);
}

/* The hot path: libproc2 opens, reads and closes /proc/uptime,
 * /proc/PID/status and /proc/PID/stat on every select; one pread of a
 * kept descriptor costs a tenth of that. libproc2 still finds ksmd. */
static int pp_task_ticks(void *ctx, int pid, uint64_t *ticks)
{
	struct procps_ctx *c = ctx;
	char buf[512];
	ssize_t n;
	int r;

	if (c->stat_pid != pid || c->stat_fd < 0) {
		char path[64];
		if (c->stat_fd >= 0)
			close(c->stat_fd);
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		c->stat_fd = open(path, O_RDONLY | O_CLOEXEC);
		c->stat_pid = pid;
		if (c->stat_fd < 0)
			return -ESRCH;
	}
	n = pread_text(c->stat_fd, buf, sizeof(buf));
	r = n < 0 ? -ESRCH : sample_parse_stat_ticks(buf, ticks);
	if (r < 0) {
		close(c->stat_fd);
		c->stat_fd = -1;
	}
	return r;
}

bool sample_guest_match(struct search_re *re, const char *cmdline)
{
	return search_re_match(re, cmdline, strnlen(cmdline, SAMPLE_GUEST_MATCH_MAX));
}

static int pp_guest_usage(void *ctx, struct search_re *re, uint64_t budget_us, bool restart, struct guest_usage *out)
{
	static enum pids_item items[] = { PIDS_ID_PID, PIDS_MEM_RES };
	struct procps_ctx *c = ctx;
	struct pids_stack *st;
	uint64_t deadline = now_us() + budget_us;

	if (restart && c->guest)
		procps_pids_unref(&c->guest);
	if (!c->cmdline) {
		c->cmdline = malloc(SAMPLE_GUEST_MATCH_MAX + 1);
		if (!c->cmdline)
			return -ENOMEM;
	}
	/* A handle of its own, kept from one call to the next while a pass
	 * goes on: it reads one task at a time (procps_pids_get), so that
	 * only one command line is held, and the walk can stop and resume. */
	if (!c->guest) {
		int r = procps_pids_new(&c->guest, items, (int)ARRAY_SIZE(items));
		if (r < 0) {
			c->guest = NULL;
			return r;
		}
		memset(&c->guest_acc, 0, sizeof(c->guest_acc));
	}
	while ((st = procps_pids_get(c->guest, PIDS_FETCH_TASKS_ONLY)) != NULL) {
		char name[32];
		ssize_t n;

		/* the command line read here, not libproc2's: that one makes a
		 * tab '.' and every byte past ASCII '?' (in the C locale), and a
		 * kernel thread's "[(null)]"; cmdline_join() gives the raw bytes,
		 * control characters as spaces, as qemu_count() and doctor see
		 * them. At most SAMPLE_GUEST_MATCH_MAX bytes are read. */
		snprintf(name, sizeof(name), "/proc/%d/cmdline", PIDS_VAL(0, s_int, st, c->guest));
		n = read_file_at(AT_FDCWD, name, c->cmdline, SAMPLE_GUEST_MATCH_MAX + 1);
		c->guest_acc.seen++;
		if (n > 0 && cmdline_join(c->cmdline, (size_t)n) > 0 && sample_guest_match(re, c->cmdline)) {
			c->guest_acc.rss += (uint64_t)PIDS_VAL(1, ul_int, st, c->guest) * 1024u;
			c->guest_acc.count++;
		}
		if (now_us() >= deadline) {
			out->seen = c->guest_acc.seen;
			return -EINPROGRESS;
		}
	}
	procps_pids_unref(&c->guest);
	*out = c->guest_acc;
	return 0;
}

int sample_parse_vmstat_cow(const char *text, uint64_t *cow_ksm)
{
	const char *p = text;
	uint64_t v;
	char num[24];
	size_t n;

	for (;;) {
		if (strncmp(p, "cow_ksm ", 8) == 0)
			break;
		p = strchr(p, '\n');
		if (!p)
			return -ENOENT;
		p++;
	}
	p += 8;
	n = strcspn(p, "\n");
	if (n == 0 || n >= sizeof(num))
		return -EBADMSG;
	memcpy(num, p, n);
	num[n] = '\0';
	if (parse_u64(num, 0, UINT64_MAX, &v) < 0)
		return -EBADMSG;
	*cow_ksm = v;
	return 0;
}

/* preads of a kept descriptor: /proc/vmstat is a few KiB of text, a page
 * at most a read, and cow_ksm is near its end. */
static int pp_vmstat_cow(void *ctx, uint64_t *cow_ksm)
{
	struct procps_ctx *c = ctx;
	char buf[16384];

	if (c->vmstat_fd < 0) {
		c->vmstat_fd = open("/proc/vmstat", O_RDONLY | O_CLOEXEC);
		if (c->vmstat_fd < 0)
			return -errno;
	}
	if (pread_all_text(c->vmstat_fd, buf, sizeof(buf)) < 0)
		return -EIO;
	return sample_parse_vmstat_cow(buf, cow_ksm);
}

static void pp_destroy(void *ctx)
{
	struct procps_ctx *c = ctx;

	if (!c)
		return;
	if (c->stat_fd >= 0)
		close(c->stat_fd);
	if (c->vmstat_fd >= 0)
		close(c->vmstat_fd);
	if (c->one)
		procps_pids_unref(&c->one);
	if (c->guest)
		procps_pids_unref(&c->guest);
	if (c->mem)
		procps_meminfo_unref(&c->mem);
	free(c->cmdline);
	free(c);
}

void *proc_libproc2_new(void)
{
	struct procps_ctx *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return NULL;
	c->stat_fd = -1;
	c->vmstat_fd = -1;
	/* libproc2 hides kernel threads, ksmd among them, when this is set. */
	unsetenv("LIBPROC_HIDE_KERNEL");
	r = procps_meminfo_new(&c->mem);
	if (r >= 0)
		r = procps_pids_new(&c->one, one_items, (int)ARRAY_SIZE(one_items));
	if (r < 0) {
		pp_destroy(c);
		errno = -r;
		return NULL;
	}
	return c;
}

const struct proc_ops proc_ops_libproc2 = {
	.meminfo = pp_meminfo,
	.find_ksmd = pp_find_ksmd,
	.task_ticks = pp_task_ticks,
	.guest_usage = pp_guest_usage,
	.destroy = pp_destroy,
	.vmstat_cow = pp_vmstat_cow,
};

/* ---- sampler ----------------------------------------------------------- */

int sampler_init(struct sampler *s, struct ksm *ksm, const struct proc_ops *ops, void *ctx, const char *psi_path)
{
	memset(s, 0, sizeof(*s));
	s->psi_fd = -1;
	s->ksm = ksm;
	if (!ops) {
		ctx = proc_libproc2_new();
		if (!ctx)
			return -errno;
		ops = &proc_ops_libproc2;
	}
	s->ops = ops;
	s->ctx = ctx;
	s->clk_tck = sysconf(_SC_CLK_TCK);
	if (s->clk_tck <= 0)
		s->clk_tck = 100;
	if (psi_path) {
		s->psi_fd = open(psi_path, O_RDONLY | O_CLOEXEC);
		s->psi_err = s->psi_fd < 0 ? -errno : 0;
	} else {
		s->psi_err = -ENOENT;
	}
	s->psi_on = s->psi_fd >= 0;
	return 0;
}

void sampler_set_vmstat(struct sampler *s, bool on, bool slow)
{
	if (!on)
		s->cow_valid = false;
	s->vmstat_on = on;
	s->vmstat_slow = slow;
}

void sampler_set_quiet(struct sampler *s, bool on)
{
	s->quiet = on;
}

void sampler_invalidate(struct sampler *s)
{
	s->counters_valid = false; /* read at the next sample */
}

void sampler_invalidate_knobs(struct sampler *s)
{
	s->cold_valid = false; /* read at the next sample */
}

int sampler_set_guest(struct sampler *s, const char *regex, uint64_t interval_ms)
{
	struct search_re re;

	if (regex && regex[0]) {
		if (search_re_init(&re, regex) != 0)
			return -EINVAL;
	}
	if (s->guest_on)
		search_re_free(&s->guest_re);
	s->guest_on = regex && regex[0];
	if (s->guest_on)
		s->guest_re = re;
	s->guest_interval_ms = interval_ms;
	s->guest_next_ms = 0; /* scan at the next sample */
	s->guest_restart = s->guest_partial;
	s->guest_partial = false;
	if (!s->guest_budget_us)
		s->guest_budget_us = (uint64_t)SAMPLE_GUEST_BUDGET_MS * 1000;
	s->guest_valid = false;
	return 0;
}

void sampler_fini(struct sampler *s)
{
	if (s->guest_on)
		search_re_free(&s->guest_re);
	s->guest_on = false;
	if (s->psi_fd >= 0)
		close(s->psi_fd);
	s->psi_fd = -1;
	if (s->ops && s->ops->destroy)
		s->ops->destroy(s->ctx);
	s->ops = NULL;
	s->ctx = NULL;
}

void sampler_set_psi(struct sampler *s, bool on)
{
	s->psi_on = on && s->psi_fd >= 0;
}

int sample_parse_psi(const char *text, double *avg10)
{
	const char *line = text, *p;
	char buf[256], *end;
	size_t n;
	double v;

	/* The "some" line, at the start of a line. */
	while (strncmp(line, "some ", 5) != 0) {
		line = strchr(line, '\n');
		if (!line)
			return -EBADMSG;
		line++;
	}
	/* Look for avg10 in that line only, never in the "full" line. */
	n = strcspn(line, "\n");
	if (n >= sizeof(buf))
		return -EBADMSG;
	memcpy(buf, line, n);
	buf[n] = '\0';
	p = strstr(buf, " avg10=");
	if (!p)
		return -EBADMSG;
	p += 7;
	if (!isdigit((unsigned char)*p))
		return -EBADMSG;
	errno = 0;
	v = strtod(p, &end);
	if (end == p || errno || (*end != ' ' && *end != '\0') || !(v >= 0 && v <= 100))
		return -EBADMSG;
	*avg10 = v;
	return 0;
}

uint64_t sample_rmap_items(const struct sample *s)
{
	static const enum ksm_item parts[] = { KSM_PAGES_SHARED, KSM_PAGES_SHARING, KSM_PAGES_UNSHARED,
					       KSM_PAGES_VOLATILE };
	uint64_t n = 0;

	/* Each term is at most INT64_MAX: sum without overflow, and stay in
	 * int64_t range for callers that subtract. */
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		int64_t v = s->ksm.v[parts[i]];
		if (v > 0)
			n += (uint64_t)v;
		if (n > (uint64_t)INT64_MAX)
			return (uint64_t)INT64_MAX;
	}
	return n;
}

static void sample_ksmd(struct sampler *s, uint64_t now, bool cached, struct sample *out)
{
	bool fresh = false;
	uint64_t ticks;
	int pid = 0, r;

	out->have_ksmd_cpu = false;
	if (cached && s->ksmd_cpu_valid && s->ksmd_pid > 0) {
		/* stopped or idling: its CPU time as last read */
		out->have_ksmd_cpu = true;
		out->ksmd_pid = s->ksmd_pid;
		out->ksmd_cpu_s = s->ksmd_cpu_last;
		return;
	}
	s->ksmd_cpu_valid = false;
	if (s->ksmd_pid <= 0) {
		if (now < s->ksmd_retry_ms)
			return;
		r = s->ops->find_ksmd(s->ctx, &pid);
		if (r < 0 || pid <= 0) {
			s->ksmd_pid = 0;
			s->ksmd_retry_ms = now + SAMPLE_KSMD_RETRY_MS;
			return;
		}
		s->ksmd_pid = pid;
		fresh = true;
	}
	r = s->ops->task_ticks(s->ctx, s->ksmd_pid, &ticks);
	if (r < 0) {
		/* A pid that worked before: look for ksmd again at the next
		 * sample. One found just now that cannot be read: wait for the
		 * retry, or every sample would walk the whole of /proc. */
		s->ksmd_pid = 0;
		s->ksmd_retry_ms = fresh ? now + SAMPLE_KSMD_RETRY_MS : 0;
		return;
	}
	out->have_ksmd_cpu = true;
	out->ksmd_pid = s->ksmd_pid;
	out->ksmd_cpu_s = (double)ticks / (double)s->clk_tck;
	s->ksmd_cpu_last = out->ksmd_cpu_s;
	s->ksmd_cpu_valid = true;
}

/* The KSM files: the cold ones (the knobs) every SAMPLE_COLD_MS; the hot
 * ones (the counters) at every sample, or, while ksmd is stopped or
 * idles (quiet), as last read until the next read is due. Returns
 * whether they were carried over. */
static bool sample_ksm(struct sampler *s, uint64_t now, struct sample *out)
{
	bool cached = false;
	int cold_err = 0;

	if (!s->cold_valid || now >= s->cold_next_ms) {
		cold_err = ksm_read_set(s->ksm, ~(uint64_t)SAMPLE_KSM_HOT, &s->cold);
		s->cold_valid = true;
		s->cold_next_ms = now + SAMPLE_COLD_MS;
	}
	out->ksm = s->cold;
	if (s->quiet && s->counters_valid && now < s->counters_next_ms) {
		/* stopped or idling: the knobs and the counters as last read */
		uint64_t cold_present = out->ksm.present & ~(uint64_t)SAMPLE_KSM_HOT;
		out->ksm = s->counters;
		out->ksm.present = (s->counters.present & SAMPLE_KSM_HOT) | cold_present;
		for (int i = 0; i < KSM_ITEM_COUNT; i++)
			if (!(SAMPLE_KSM_HOT & KSM_BIT(i)))
				out->ksm.v[i] = s->cold.v[i];
		cached = true;
	} else {
		out->ksm_err = ksm_read_set(s->ksm, SAMPLE_KSM_HOT, &out->ksm);
		s->counters_next_ms = now + (ksm_values_has(&out->ksm, KSM_RUN) && out->ksm.v[KSM_RUN] == 0 ?
						     SAMPLE_STOPPED_MS : SAMPLE_QUIET_MS);
		/* a read that failed is tried again at the next sample,
		 * not hidden by the last good one until the next is due */
		s->counters_valid = false; /* until this read succeeds */
	}
	if (!out->ksm_err) {
		s->counters = out->ksm;
		s->counters_valid = true;
	}
	if (!out->ksm_err)
		out->ksm_err = cold_err;
	return cached;
}

/* cow_ksm from /proc/vmstat: at every sample, or every SAMPLE_QUIET_MS
 * when vmstat_slow. */
static void sample_cow(struct sampler *s, uint64_t now, struct sample *out)
{
	if (!s->vmstat_on || s->cow_missing || !s->ops->vmstat_cow)
		return;
	if (s->vmstat_slow && s->cow_valid && now < s->vmstat_next_ms) {
		out->cow_ksm = s->cow_last;
		out->have_cow = true;
	} else {
		int r = s->ops->vmstat_cow(s->ctx, &out->cow_ksm);
		out->have_cow = r == 0;
		out->cow_fresh = r == 0;
		s->cow_missing = r == -ENOENT;
		s->cow_valid = r == 0;
		s->cow_last = out->cow_ksm;
		s->vmstat_next_ms = now + SAMPLE_QUIET_MS;
	}
}

static void sample_psi(struct sampler *s, struct sample *out)
{
	char buf[256];
	ssize_t n;

	if (!s->psi_on)
		return;
	n = pread_text(s->psi_fd, buf, sizeof(buf));
	s->psi_err = n < 0 ? (int)n : 0;
	if (n >= 0 && sample_parse_psi(buf, &out->psi_some_avg10) == 0)
		out->have_psi = true;
}

/* The guests' committed memory: a walk of /proc every guest_interval_ms,
 * in pieces of guest_budget_us; the last whole walk in between. */
static void sample_guests(struct sampler *s, uint64_t now, struct sample *out)
{
	if (!s->guest_on)
		return;
	if (now >= s->guest_next_ms || s->guest_partial) {
		struct guest_usage g = { 0 };
		if (!s->guest_partial)
			s->guest_next_ms = now + s->guest_interval_ms;
		out->guest_err = s->ops->guest_usage(s->ctx, &s->guest_re, s->guest_budget_us,
						     s->guest_restart, &g);
		s->guest_restart = false;
		s->guest_partial = out->guest_err == -EINPROGRESS;
		if (out->guest_err == 0) {
			s->guest = g;
			s->guest_valid = true;
		}
		out->guest_seen = g.seen;
		out->guest_scanned = true;
	}
	out->have_guest = s->guest_valid;
	out->guest_rss = s->guest.rss;
	out->guest_count = s->guest.count;
}

int sample_take(struct sampler *s, uint64_t now, struct sample *out)
{
	struct meminfo_values mi;
	bool cached; /* quiet, and the counters not due */
	int first = 0;

	memset(out, 0, sizeof(*out));
	out->meminfo_err = s->ops->meminfo(s->ctx, &mi);
	if (out->meminfo_err == 0) {
		out->mem_total = mi.total;
		out->mem_available = mi.available;
		out->mem_free = mi.free;
		out->anon = mi.anon;
		out->have_anon = mi.have_anon;
	} else {
		first = out->meminfo_err;
	}
	cached = sample_ksm(s, now, out);
	if (out->ksm_err && !first)
		first = out->ksm_err;
	/* carried over: the hot items and ksmd's CPU time as last read,
	 * whatever the cold read did */
	sample_ksmd(s, now, cached, out);
	out->ksm_cached = cached;
	sample_cow(s, now, out);
	sample_psi(s, out);
	sample_guests(s, now, out);
	return first;
}
