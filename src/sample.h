/* sample.h - one plain struct with everything the controller reads each
 * tick, and the sampler that fills it.
 *
 * Sources: /proc/meminfo and ksmd's CPU time through libproc2, the KSM
 * counters through ksm.h, memory PSI, and (at most once per configured
 * interval) the RSS of processes whose command line matches a pattern.
 * /proc is behind struct proc_ops so that tests can feed their own values;
 * the libproc2 implementation is proc_ops_libproc2. Nothing here logs. */
#ifndef KSMPILOT_SAMPLE_H
#define KSMPILOT_SAMPLE_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "ksm.h"
#include "util.h"

struct sample {
	/* /proc/meminfo, bytes */
	uint64_t mem_total;
	uint64_t mem_available;
	uint64_t mem_free;
	uint64_t anon;              /* AnonPages */
	bool have_anon;
	int meminfo_err;            /* 0 or -errno; values invalid when set */
	/* /sys/kernel/mm/ksm */
	struct ksm_values ksm;
	int ksm_err;                /* first read error, 0 if none */
	/* ksmd */
	bool have_ksmd_cpu;         /* false: ksmd not visible (degraded) */
	int ksmd_pid;
	double ksmd_cpu_s;          /* utime + stime since boot, seconds */
	/* /proc/vmstat: copy-on-write faults on KSM pages (kernel 6.1+), read
	 * while sampler_set_vmstat() is on */
	bool have_cow;
	bool cow_fresh;             /* read at this sample, not the value as last read */
	bool ksm_cached;            /* the knobs, the counters and ksmd's CPU time as last read (quiet) */
	uint64_t cow_ksm;
	/* /proc/pressure/memory */
	bool have_psi;
	double psi_some_avg10;      /* percent */
	/* processes matching guest_cmdline (cached between scans) */
	bool have_guest;
	uint64_t guest_rss;         /* bytes */
	unsigned guest_count;
	bool guest_scanned;         /* the /proc scan ran during this sample */
	int guest_err;              /* when it ran: 0 (a pass ended), -EINPROGRESS (it
				       goes on at the next sample) or -errno; the guest
				       values are the last complete pass's */
	unsigned guest_seen;        /* processes it looked at */
};

struct meminfo_values {
	uint64_t total, available, free; /* bytes */
	uint64_t anon;                  /* AnonPages, bytes */
	bool have_anon;
};

struct guest_usage {
	uint64_t rss;                   /* bytes */
	unsigned count;
	unsigned seen;                  /* processes looked at */
};

/* Any local user can start processes with command lines up to ARG_MAX:
 * the guest scan matches at most SAMPLE_GUEST_MATCH_MAX bytes of each (as
 * if the command line ended there), reads one process at a time, and
 * spends at most SAMPLE_GUEST_BUDGET_MS of a tick on it, so that no number
 * or length of command lines can hold a tick for longer. A pass that needs
 * more goes on at the next ticks from where it stopped: many processes
 * delay a pass, but cannot stop one from ending. */
#define SAMPLE_GUEST_MATCH_MAX CMDLINE_MATCH_MAX
#define SAMPLE_GUEST_BUDGET_MS 50u
/* Whether re matches the first SAMPLE_GUEST_MATCH_MAX bytes of cmdline. */
bool sample_guest_match(struct search_re *re, const char *cmdline);

/* How the sampler reads /proc. Each returns 0 or -errno. */
struct proc_ops {
	int (*meminfo)(void *ctx, struct meminfo_values *out);
	/* Find the ksmd kernel thread: -ESRCH when it is not visible. */
	int (*find_ksmd)(void *ctx, int *pid);
	/* utime + stime of a task in clock ticks; -ESRCH when it is gone. */
	int (*task_ticks)(void *ctx, int pid, uint64_t *ticks);
	/* Go on with a pass over the processes, summing the RSS of those
	 * whose command line matches re (sample_guest_match()), for at most
	 * budget_us: 0 when the pass ended, with its totals in out;
	 * -EINPROGRESS when the budget ran out first, with out->seen (so far)
	 * set and the rest of out untouched: the next call goes on from
	 * there; -errno when it failed (the pass is dropped). restart drops
	 * a pass under way (re changed). */
	int (*guest_usage)(void *ctx, struct search_re *re, uint64_t budget_us, bool restart, struct guest_usage *out);
	void (*destroy)(void *ctx);
	/* cow_ksm from /proc/vmstat; -ENOENT on kernels without it. May be
	 * NULL: no vmstat. */
	int (*vmstat_cow)(void *ctx, uint64_t *cow_ksm);
};

/* libproc2: returns a context for the ops below, or NULL (errno set). */
extern const struct proc_ops proc_ops_libproc2;
void *proc_libproc2_new(void);

struct sampler {
	struct ksm *ksm;
	const struct proc_ops *ops;
	void *ctx;
	long clk_tck;
	int ksmd_pid;               /* cached; 0 = not found */
	double ksmd_cpu_last;       /* quiet: ksmd's CPU time as last read */
	bool ksmd_cpu_valid;
	uint64_t ksmd_retry_ms;     /* next time to look for ksmd again */
	int psi_fd;
	int psi_err;                /* 0, or -errno of opening or reading it */
	bool psi_on;                /* read PSI at each sample */
	bool vmstat_on;             /* read cow_ksm at each sample */
	bool vmstat_slow;           /* ... every SAMPLE_QUIET_MS only, as last read between */
	uint64_t vmstat_next_ms;
	uint64_t cow_last;
	bool cow_valid;
	bool cow_missing;           /* the kernel has no cow_ksm: stop asking */
	bool guest_on;
	struct search_re guest_re;
	uint64_t guest_interval_ms;
	uint64_t guest_next_ms;
	uint64_t guest_budget_us;   /* SAMPLE_GUEST_BUDGET_MS; tests change it */
	struct guest_usage guest;
	bool guest_valid;
	bool guest_partial;         /* a pass goes on at the next sample */
	bool guest_restart;         /* the pattern changed: a pass under way is dropped */
	struct ksm_values cold;     /* the items outside SAMPLE_KSM_HOT */
	struct ksm_values counters; /* the hot counters, as last read */
	bool counters_valid;
	uint64_t counters_next_ms;  /* quiet: next full read of the counters */
	bool quiet;                 /* ksmd stopped or idling: read KSM items seldom */
	uint64_t cold_next_ms;
	bool cold_valid;
};

#define SAMPLE_KSMD_RETRY_MS 60000u
/* KSM items read every tick: what the controller, the foreign-change check
 * and the profit hazard use. The others (tuning knobs that change seldom)
 * are read every SAMPLE_COLD_MS: each sysfs read is a system call. */
#define SAMPLE_KSM_HOT                                                                                     \
	(KSM_BIT(KSM_RUN) | KSM_BIT(KSM_PAGES_TO_SCAN) | KSM_BIT(KSM_SLEEP_MILLISECS) |                   \
	 KSM_BIT(KSM_ADVISOR_MODE) | KSM_BIT(KSM_PAGES_SHARED) | KSM_BIT(KSM_PAGES_SHARING) |              \
	 KSM_BIT(KSM_PAGES_UNSHARED) | KSM_BIT(KSM_PAGES_VOLATILE) | KSM_BIT(KSM_FULL_SCANS) |             \
	 KSM_BIT(KSM_PAGES_SCANNED) | KSM_BIT(KSM_PAGES_SKIPPED) | KSM_BIT(KSM_GENERAL_PROFIT) |           \
	 KSM_BIT(KSM_ZERO_PAGES))
#define SAMPLE_COLD_MS 60000u
/* While ksmd idles its counters and CPU time move slowly: the knobs
 * (someone else might set them), the counters and ksmd's CPU time are read
 * this often, and no KSM item at the samples between (each read is a system
 * call, and an idle daemon is mostly its system calls). */
#define SAMPLE_QUIET_MS 10000u
/* ... and this often while the last read found ksmd stopped (run=0): only
 * an exit that unmerges, or someone else's write, moves them then. */
#define SAMPLE_STOPPED_MS 60000u

/* psi_path may be NULL (PSI off). ops/ctx: NULL means libproc2. The sampler
 * owns ctx from here on: sampler_fini() passes it to ops->destroy. */
int sampler_init(struct sampler *s, struct ksm *ksm, const struct proc_ops *ops, void *ctx,
		 const char *psi_path);
/* Read memory PSI at each sample, or not (a system call saved). */
void sampler_set_psi(struct sampler *s, bool on);
/* Read cow_ksm from /proc/vmstat at each sample, or not: the controller
 * needs it while ksmd runs. slow: every SAMPLE_QUIET_MS, the value as last
 * read in between (ksmd idles; the read is the dearest of a tick, 25-45 us,
 * and breaks counted late are counted all the same). */
void sampler_set_vmstat(struct sampler *s, bool on, bool slow);
/* ksmd stopped (run=0) or idling: the knobs, its counters and its CPU time
 * are read every SAMPLE_QUIET_MS (SAMPLE_STOPPED_MS when the last read found
 * run=0), as last read in between (ksm_cached). */
void sampler_set_quiet(struct sampler *s, bool on);
/* The knobs were written: the next sample reads the KSM items again, so
 * that it does not carry what they were before. */
void sampler_invalidate(struct sampler *s);
/* A knob read every SAMPLE_COLD_MS (merge_across_nodes, ...) was written:
 * the next sample reads them again. */
void sampler_invalidate_knobs(struct sampler *s);
/* regex "" turns the guest scan off. -EINVAL for a bad regex. */
int sampler_set_guest(struct sampler *s, const char *regex, uint64_t interval_ms);
void sampler_fini(struct sampler *s);

/* Fill out. now_ms paces the slow parts (guest scan, ksmd lookup).
 * Returns 0 or the first error; out says which parts are valid. */
int sample_take(struct sampler *s, uint64_t now_ms, struct sample *out);

/* Parse the "some avg10=" value of /proc/pressure/memory. */
int sample_parse_psi(const char *text, double *avg10);

/* cow_ksm from the text of /proc/vmstat: 0, -ENOENT (no such line) or
 * -EBADMSG. */
int sample_parse_vmstat_cow(const char *text, uint64_t *cow_ksm);

/* utime + stime, in clock ticks, from ksmd's /proc/PID/stat line;
 * -ESRCH when the line is not ksmd's, -EBADMSG when it is garbled. */
int sample_parse_stat_ticks(const char *text, uint64_t *ticks);

/* Whether a /proc/PID/stat line is the kernel's ksmd: comm "ksmd" and
 * parent kthreadd (pid 2). */
bool sample_stat_is_ksmd(const char *text);

/* rmap items tracked by KSM: shared + sharing + unshared + volatile. A
 * negative term counts as 0; the sum stops at INT64_MAX. */
uint64_t sample_rmap_items(const struct sample *s);

#endif
