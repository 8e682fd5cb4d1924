/* plant.h - a simulated KSM "plant" for closed-loop controller tests.
 *
 * It models what matters to the controller, in aggregate and fast enough
 * for a simulated week in seconds:
 *   - ksmd walks a circular list of memory regions, pages_to_scan pages per
 *     batch, sleeping sleep_millisecs between batches; a batch costs CPU;
 *   - a region that arrives is inserted just behind the scan cursor, as
 *     ksm_enter() does, so it is first visited on the next pass;
 *   - the two-scan rule: a page's first visit only takes a checksum
 *     (volatile); on the next visit it enters the unstable tree (unshared)
 *     or merges with an identical page there or in the stable tree; a page
 *     identical to a stable one merges on its first visit;
 *   - the unstable tree is emptied at the end of every full scan;
 *   - volatile pages change between visits and never merge; with
 *     smart_scan they are skipped after failing several times;
 *   - merged pages save memory: MemAvailable = base - used + saved.
 * Regions are split into chunks that change state when the cursor passes
 * them, so a pass visits each page exactly once. */
#ifndef KSMPILOT_TEST_PLANT_H
#define KSMPILOT_TEST_PLANT_H

#include <stdbool.h>
#include <stdint.h>

#include "controller.h"
#include "sample.h"

enum region_kind { REGION_MERGEABLE, REGION_UNIQUE, REGION_VOLATILE };

#define PLANT_MAX_REGIONS 64
#define PLANT_CHUNKS 32
#define PLANT_GROUPS 64

struct chunk {
	double pages;
	double unseen;      /* no rmap item yet */
	double seen;        /* checksum taken once (counts as volatile) */
	double unshared;    /* in the unstable tree / stable checksum, unmatched */
	double merged;      /* mapped to a KSM page */
	double skipped;     /* smart_scan: skipped (counts as volatile) */
	unsigned fails;     /* visits without merging (volatile kind) */
};

struct region {
	bool live;
	int id;
	enum region_kind kind;
	int group;          /* REGION_MERGEABLE: content group (pattern) */
	double pages;
	struct chunk c[PLANT_CHUNKS];
};

struct plant {
	/* configuration */
	double mem_total;           /* bytes */
	double base_available;      /* MemAvailable without any region */
	double cost_visit;          /* s per page visited, steady state */
	double cost_work;           /* extra s per page that changes state */
	double cost_skip;           /* s per skipped page */
	bool smart_scan;
	bool has_pages_scanned;     /* kernel 6.6+ counter */
	bool ksmd_visible;
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
	/* counters */
	uint64_t full_scans;
	double pages_scanned;
	double pages_skipped;
	double ksmd_cpu;                /* seconds */
	double now;                     /* seconds */
	int next_id;
};

void plant_init(struct plant *p, double mem_total, double base_available);
/* Add memory: pages of one kind; returns its id. */
int plant_add(struct plant *p, enum region_kind kind, int group, double bytes);
void plant_remove(struct plant *p, int id);
/* Run the plant for dt seconds with the current knobs. */
void plant_advance(struct plant *p, double dt);
/* Fill a sample as the sampler would. */
void plant_sample(const struct plant *p, struct sample *s);
/* Apply a decision as daemon_apply would. */
void plant_apply(struct plant *p, const struct ctl_decision *d);

/* Aggregates. */
double plant_merged(const struct plant *p);         /* pages mapped to KSM pages */
double plant_mergeable(const struct plant *p);      /* pages of live mergeable regions */
double plant_rmap(const struct plant *p);

#endif
