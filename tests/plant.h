/* plant.h - a simulated KSM "plant" for closed-loop controller tests.
 *
 * It models what matters to the controller, in aggregate and fast enough
 * for a simulated week in seconds, at any host size up to terabytes:
 *   - ksmd walks a circular list of memory regions, pages_to_scan pages per
 *     batch, sleeping sleep_millisecs between batches; a batch costs CPU,
 *     more for pages that change state than for settled ones;
 *   - a region that arrives is inserted just behind the scan cursor, as
 *     ksm_enter() does, so it is first visited after one whole pass;
 *   - the two-scan rule: a page's first visit only takes a checksum
 *     (volatile); on the next visit it enters the unstable tree (unshared)
 *     or merges with an identical page there or in the stable tree; a page
 *     identical to a stable one merges on its first visit;
 *   - volatile pages change between visits and never merge; with
 *     smart_scan they are skipped after failing several times, and looked
 *     at again all together every SKIP_RESCAN passes, as the kernel does
 *     for pages that failed together, so that a pass's length varies
 *     severalfold (or, without skip_bursts, one in SKIP_RESCAN a pass);
 *   - writes break merged pages (copy-on-write, cow_ksm counts them); the
 *     kernel's counters still count a broken page as merged until ksmd
 *     visits it again, and then re-merges it if its content came back;
 *   - a region that leaves frees its memory at once, but its rmap items
 *     (and merged-page counts) go only when the cursor reaches it, which
 *     it does next, as __ksm_exit() arranges;
 *   - memory that is not MADV_MERGEABLE (a build beside the guests) only
 *     takes memory; KSM never sees it;
 *   - MemAvailable and AnonPages follow the regions, with optional noise;
 *   - the kernel's scan-time advisor, which owns pages_to_scan when on.
 * Regions are split into chunks that change state when the cursor passes
 * them, so a pass visits each page exactly once. */
#ifndef KSMPILOT_TEST_PLANT_H
#define KSMPILOT_TEST_PLANT_H

#include <stdbool.h>
#include <stdint.h>

#include "controller.h"
#include "sample.h"

enum region_kind {
	REGION_MERGEABLE,       /* pages of a few patterns, the same across regions of a group */
	REGION_TWIN,            /* unique pages, each the same as its twin in the other regions
				 * of its group (guests booted from one image) */
	REGION_UNIQUE,          /* random pages, written once */
	REGION_VOLATILE,        /* pages rewritten all the time */
	REGION_PRIVATE,         /* not MADV_MERGEABLE: memory only */
};

#define PLANT_MAX_REGIONS 96
#define PLANT_CHUNKS 32
#define PLANT_GROUPS 64

struct chunk {
	double pages;
	double unseen;      /* no rmap item yet */
	double seen;        /* checksum taken once (counts as volatile) */
	double unshared;    /* in the unstable tree / stable checksum, unmatched */
	double merged;      /* mapped to a KSM page */
	double broken;      /* merged, then written: a private copy, still counted as merged */
	double skipped;     /* smart_scan: skipped (counts as volatile) */
	unsigned skip_wait; /* skip_bursts: passes the skipped pages still wait */
	unsigned fails;     /* visits without merging (volatile kind) */
};

struct region {
	bool live;
	bool dying;         /* left; its rmap items go when the cursor reaches it */
	int id;
	enum region_kind kind;
	int group;          /* REGION_MERGEABLE, REGION_TWIN: content group (pattern) */
	double pages;
	double cow_rate;    /* merged pages broken by writes, pages/s */
	bool cow_returns;   /* a broken page's content comes back to its pattern */
	struct chunk c[PLANT_CHUNKS];
};

struct plant {
	/* configuration */
	double mem_total;           /* bytes */
	double base_available;      /* MemAvailable without any region */
	double base_anon;           /* AnonPages of everything else */
	double cost_visit;          /* s per page visited, steady state */
	double cost_work;           /* extra s per page that changes state */
	double cost_skip;           /* s per skipped page */
	bool smart_scan;
	bool skip_bursts;           /* skipped pages all come back in one pass (the
				     * kernel: pages that failed together age together),
				     * rather than one in SKIP_RESCAN each pass; on by
				     * default */
	bool has_pages_scanned;     /* kernel 6.6+ counter */
	bool has_cow;               /* cow_ksm in /proc/vmstat (6.1+) */
	bool has_anon;              /* AnonPages given to the controller */
	bool ksmd_visible;
	/* noise: an AR(1) process per quantity, sigma in bytes, correlation
	 * time in seconds (0: white, a new value each sample) */
	double noise_avail_sigma, noise_anon_sigma, noise_tau;
	uint64_t rng;
	double noise_avail, noise_anon;
	double noise_t;
	/* the kernel's advisor (advisor_mode=scan-time) */
	bool advisor;
	double advisor_target_s;
	double advisor_min_pages, advisor_max_pages, advisor_max_cpu;
	double advisor_pass_t0, advisor_pass_cpu0;
	unsigned einval_writes;     /* pages_to_scan written while the advisor was on */
	/* knobs */
	int run;
	uint64_t pages_to_scan, sleep_ms;
	/* scan state */
	struct region r[PLANT_MAX_REGIONS];
	int order[PLANT_MAX_REGIONS];   /* scan order: indexes into r */
	int norder;
	int cur;                        /* position in order[] */
	int cur_chunk;
	double chunk_progress;          /* pages of the current chunk done */
	bool group_stable[PLANT_GROUPS];
	bool group_unstable[PLANT_GROUPS];
	bool twin_stable[PLANT_GROUPS][PLANT_CHUNKS];   /* REGION_TWIN: per group and chunk */
	bool twin_unstable[PLANT_GROUPS][PLANT_CHUNKS];
	/* counters */
	uint64_t full_scans;
	double pages_scanned;
	double pages_skipped;
	double cow_ksm;
	double ksmd_cpu;                /* seconds */
	double now;                     /* seconds */
	int next_id;
};

void plant_init(struct plant *p, double mem_total, double base_available);
/* Add memory: pages of one kind; returns its id, or -1 when full. */
int plant_add(struct plant *p, enum region_kind kind, int group, double bytes);
/* Writes that break merged pages of region id, pages/s. */
void plant_set_cow(struct plant *p, int id, double pages_per_s, bool returns);
void plant_remove(struct plant *p, int id);
/* Noise on MemAvailable and AnonPages; seed replays it. */
void plant_set_noise(struct plant *p, double avail_sigma, double anon_sigma, double tau, uint64_t seed);
/* Run the plant for dt seconds with the current knobs. */
void plant_advance(struct plant *p, double dt);
/* Fill a sample as the sampler would (advances the noise). */
void plant_sample(struct plant *p, struct sample *s);
/* Apply a decision as pilot_apply would. */
void plant_apply(struct plant *p, const struct ctl_decision *d);

/* Aggregates. */
double plant_merged(const struct plant *p);         /* pages mapped to KSM pages, live regions */
double plant_mergeable(const struct plant *p);      /* pages of live mergeable regions */
double plant_rmap(const struct plant *p);
/* Merged and mergeable pages of one region. */
double plant_region_merged(const struct plant *p, int id);
double plant_region_pages(const struct plant *p, int id);

#endif
