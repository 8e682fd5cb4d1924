/* doctor.h - "why is nothing merging?": `ksmpilotctl doctor` gathers what
 * the kernel shows (the KSM directory, /proc, the NUMA nodes, transparent
 * huge pages, ksmpilotd's state file) and turns it into findings, each with
 * its evidence and its fix.
 *
 * Gathering takes every root as a parameter, so that tests build fake
 * trees with mkdtemp(); the checks (doctor_check) are pure. Two samples of
 * the KSM counters and of ksmd's CPU, a window apart, show whether ksmd
 * works without progress or someone else writes the knobs. Nothing here
 * logs; the findings are the output. */
#ifndef KSMPILOT_DOCTOR_H
#define KSMPILOT_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "hazard.h"
#include "ksm.h"
#include "qemu.h"
#include "state.h"

struct doctor_paths {
	const char *ksm_dir;            /* /sys/kernel/mm/ksm */
	const char *proc_dir;           /* /proc */
	const char *sys_dir;            /* /sys: devices/system/node, kernel/mm/transparent_hugepage */
	const char *state_dir;          /* ksmpilotd's state_dir */
	const char *libvirt_dir;        /* libvirt's pid files, for guest names; NULL: none */
};

/* One moment: the KSM counters and ksmd's CPU time. */
struct doctor_sample {
	int64_t ms;                     /* monotonic */
	int ksm_err;                    /* 0, or why the KSM directory could not be read */
	struct ksm_values v;
	bool ksmd_visible;
	double ksmd_cpu_s;
};

/* A process that uses KSM or looks like a guest. Sizes in KiB. */
struct doctor_proc {
	int pid;
	char comm[32];
	char name[64];                  /* guest_name() */
	bool guest;                     /* a VMM, or matches guest_cmdline */
	bool have_ksm_stat;             /* ksm_stat readable */
	int64_t rmap_items, merging_pages, zero_pages;
	bool mergeable, merge_any;      /* ksm_mergeable / ksm_merge_any: yes */
	bool have_smaps;                /* smaps readable */
	uint64_t mergeable_kb;          /* Rss of VMAs marked mergeable (VmFlags mg) */
	uint64_t mergeable_thp_kb;      /* of which in transparent huge pages */
	uint64_t anon_plain_kb;         /* private anonymous Rss not marked mergeable */
	uint64_t hugetlb_kb;            /* hugetlbfs pages (VmFlags ht) */
	uint64_t memfd_kb;              /* Rss of shared memfd mappings (vhost-user, share=on) */
	uint64_t shared_kb;             /* Rss of other shared mappings */
};

#define DOCTOR_MAX_PROCS 256
#define DOCTOR_MAX_TUNERS 8

struct doctor_input {
	struct doctor_paths paths;
	struct doctor_sample before, after;     /* a window apart */
	int ksm_open_err;                       /* ksm_open(): 0, -ENOENT, ... */
	int ksm_write_err;                      /* ksm_check_writable(): 0, -EROFS, -EACCES */
	uint64_t ksm_files;                     /* KSM_BIT of the files the kernel has */
	bool root;                              /* running as root (else some checks are partial) */
	/* ksmpilotd */
	bool daemon_running;
	bool daemon_locked;                     /* a daemon holds the lock; its state is unreadable */
	int state_err;                          /* state_read() */
	struct state_kv *kv;                    /* the state file, when running */
	/* the machine */
	unsigned numa_nodes;
	char thp_enabled[16];                   /* "always", "madvise", "never", "" when absent */
	int map_err;
	struct map_usage maps;
	/* processes */
	int proc_err;                           /* proc_dir unreadable */
	unsigned scanned, ksm_stat_denied;
	bool ksm_stat_unflagged;                /* a ksm_stat without ksm_mergeable: the kernel's lacks it */
	unsigned nprocs, dropped;
	struct doctor_proc procs[DOCTOR_MAX_PROCS];
	unsigned ntuners;
	char tuners[DOCTOR_MAX_TUNERS][48];     /* "ksmtuned (pid 123)" */
	/* the configuration */
	const struct cfg *cfg;
	bool guest_re_bad;                      /* guest_cmdline does not compile */
	int qemu_err;                           /* qemu_count() */
	struct qemu_count qemu;                 /* what guest_cmdline matches, and the QEMU it misses */
};

enum doctor_severity { DOCTOR_OK, DOCTOR_INFO, DOCTOR_ACTION };

struct doctor_finding {
	const char *id;                 /* stable name, documented in ksmpilotctl(8) */
	enum doctor_severity severity;
	char summary[200];
	char evidence[600];
	char fix[400];
};

#define DOCTOR_MAX_FINDINGS 48
struct doctor_report {
	unsigned n;
	struct doctor_finding f[DOCTOR_MAX_FINDINGS];
};

/* The severity's name: "ok", "info", "action". */
const char *doctor_severity_name(enum doctor_severity s);

/* Sample the KSM counters and ksmd's CPU (ksmd found by comm in proc_dir). */
void doctor_sample(const struct doctor_paths *p, struct doctor_sample *out);

/* Gather everything but the samples into in (zeroed first; in->kv is
 * allocated, free with doctor_input_free). 0 or -ENOMEM. */
int doctor_gather(const struct doctor_paths *p, const struct cfg *cfg, struct doctor_input *in);
void doctor_input_free(struct doctor_input *in);

/* Turn the input into findings, worst first. */
void doctor_check(const struct doctor_input *in, struct doctor_report *out);
/* Whether any finding needs action. */
bool doctor_needs_action(const struct doctor_report *r);

/* Parse one smaps text (every VMA) into p's size fields; exposed for tests. */
void doctor_parse_smaps(const char *text, struct doctor_proc *p);

#endif
