/* plant.c - see plant.h */
#include "plant.h"

#include <math.h>
#include <string.h>

#define PAGE 4096.0
/* smart_scan skips a page after this many visits without a merge */
#define SKIP_AFTER 3
/* ... and still looks at one skipped page in this many */
#define SKIP_RESCAN 8.0
/* max_page_sharing: sharers per KSM page */
#define MAX_SHARING 256.0

void plant_init(struct plant *p, double mem_total, double base_available)
{
	memset(p, 0, sizeof(*p));
	p->mem_total = mem_total;
	p->base_available = base_available;
	p->cost_visit = 1.2e-6;
	p->cost_work = 1.5e-6;
	p->cost_skip = 0.02e-6;
	p->smart_scan = true;
	p->has_pages_scanned = true;
	p->ksmd_visible = true;
	p->run = 0;
	p->pages_to_scan = 100;
	p->sleep_ms = 20;
	p->next_id = 1;
}

int plant_add(struct plant *p, enum region_kind kind, int group, double bytes)
{
	int i;

	for (i = 0; i < PLANT_MAX_REGIONS && p->r[i].live; i++)
		;
	if (i == PLANT_MAX_REGIONS)
		return -1;
	memset(&p->r[i], 0, sizeof(p->r[i]));
	p->r[i].live = true;
	p->r[i].id = p->next_id++;
	p->r[i].kind = kind;
	p->r[i].group = group % PLANT_GROUPS;
	p->r[i].pages = floor(bytes / PAGE);
	for (int c = 0; c < PLANT_CHUNKS; c++) {
		p->r[i].c[c].pages = p->r[i].pages / PLANT_CHUNKS;
		p->r[i].c[c].unseen = p->r[i].c[c].pages;
	}
	/* ksm_enter(): just behind the scan cursor */
	if (p->norder == 0) {
		p->order[0] = i;
		p->norder = 1;
		p->cur = 0;
		p->cur_chunk = 0;
		p->chunk_progress = 0;
	} else {
		memmove(&p->order[p->cur + 1], &p->order[p->cur], (size_t)(p->norder - p->cur) * sizeof(int));
		p->order[p->cur] = i;
		p->norder++;
		p->cur++;
	}
	return p->r[i].id;
}

void plant_remove(struct plant *p, int id)
{
	for (int k = 0; k < p->norder; k++) {
		int i = p->order[k];
		if (p->r[i].id != id)
			continue;
		p->r[i].live = false;
		memmove(&p->order[k], &p->order[k + 1], (size_t)(p->norder - k - 1) * sizeof(int));
		p->norder--;
		if (k < p->cur) {
			p->cur--;
		} else if (k == p->cur) {
			p->cur_chunk = 0;
			p->chunk_progress = 0;
		}
		if (p->cur >= p->norder)
			p->cur = 0;
		return;
	}
}

static void group_flags(struct plant *p)
{
	bool any[PLANT_GROUPS] = { false };

	for (int k = 0; k < p->norder; k++) {
		const struct region *r = &p->r[p->order[k]];
		if (r->kind != REGION_MERGEABLE)
			continue;
		for (int c = 0; c < PLANT_CHUNKS; c++)
			if (r->c[c].merged > 0)
				any[r->group] = true;
	}
	for (int g = 0; g < PLANT_GROUPS; g++)
		p->group_stable[g] = any[g];
}

/* The cursor has passed over a whole chunk: apply the visit. Returns the
 * CPU it cost. */
static double visit(struct plant *p, struct region *r, struct chunk *ch)
{
	double skipped0 = ch->skipped;
	double rescanned = skipped0 / SKIP_RESCAN;
	double work = 0, visits = ch->pages - skipped0;

	switch (r->kind) {
	case REGION_MERGEABLE: {
		bool *st = &p->group_stable[r->group], *un = &p->group_unstable[r->group];
		if (ch->unshared > 0 && (*st || *un || ch->unshared + ch->seen >= 2)) {
			work += ch->unshared;
			ch->merged += ch->unshared;
			ch->unshared = 0;
			*st = true;
		}
		if (ch->seen > 0) {
			work += ch->seen;
			if (*st || *un || ch->seen >= 2) {
				ch->merged += ch->seen;
				*st = true;
			} else {
				ch->unshared += ch->seen;
				*un = true;
			}
			ch->seen = 0;
		}
		if (ch->unseen > 0) {
			work += ch->unseen;
			if (*st)
				ch->merged += ch->unseen; /* identical to a stable page */
			else
				ch->seen += ch->unseen;
			ch->unseen = 0;
		}
		break;
	}
	case REGION_UNIQUE:
		work += ch->seen + ch->unseen;
		ch->unshared += ch->seen;
		ch->seen = ch->unseen;
		ch->unseen = 0;
		if (ch->unshared > 0 || ch->seen > 0)
			ch->fails++;
		break;
	case REGION_VOLATILE:
		/* the checksum changed again: still volatile */
		work += ch->seen + ch->unseen;
		ch->seen += ch->unseen;
		ch->unseen = 0;
		ch->fails++;
		break;
	}
	if (p->smart_scan && r->kind != REGION_MERGEABLE && ch->fails > SKIP_AFTER) {
		ch->skipped += ch->seen + ch->unshared;
		ch->seen = ch->unshared = 0;
	}
	p->pages_scanned += visits + rescanned;
	p->pages_skipped += skipped0 - rescanned;
	return (visits + rescanned) * p->cost_visit + work * p->cost_work + (skipped0 - rescanned) * p->cost_skip;
}

/* Pages of the chunk that take a slot of pages_to_scan. */
static double budget_of(const struct chunk *ch)
{
	return ch->pages - ch->skipped + ch->skipped / SKIP_RESCAN;
}

void plant_advance(struct plant *p, double dt)
{
	double avg_cost, rate, n, cpu = 0;

	p->now += dt;
	if (p->run != 1 || p->norder == 0 || p->pages_to_scan == 0)
		return;
	/* average cost per page of the pass, from the current state */
	{
		double pages = 0, cost = 0;
		for (int k = 0; k < p->norder; k++) {
			const struct region *r = &p->r[p->order[k]];
			for (int c = 0; c < PLANT_CHUNKS; c++) {
				const struct chunk *ch = &r->c[c];
				double b = budget_of(ch);
				pages += b;
				cost += b * p->cost_visit + (ch->unseen + ch->seen) * p->cost_work +
					(r->kind == REGION_MERGEABLE ? ch->unshared * p->cost_work : 0);
			}
		}
		avg_cost = pages > 0 ? cost / pages : p->cost_visit;
	}
	rate = (double)p->pages_to_scan / ((double)p->sleep_ms / 1000.0 + (double)p->pages_to_scan * avg_cost);
	n = rate * dt;
	group_flags(p);
	while (n > 0 && p->norder > 0) {
		struct region *r = &p->r[p->order[p->cur]];
		struct chunk *ch = &r->c[p->cur_chunk];
		double left = budget_of(ch) - p->chunk_progress;
		if (left > n) {
			p->chunk_progress += n;
			n = 0;
			break;
		}
		n -= left;
		cpu += visit(p, r, ch);
		p->chunk_progress = 0;
		if (++p->cur_chunk == PLANT_CHUNKS) {
			p->cur_chunk = 0;
			if (++p->cur == p->norder) {
				p->cur = 0;
				p->full_scans++;
				memset(p->group_unstable, 0, sizeof(p->group_unstable));
			}
		}
	}
	if (cpu > dt)
		cpu = dt; /* one core at most */
	p->ksmd_cpu += cpu;
}

double plant_merged(const struct plant *p)
{
	double m = 0;

	for (int k = 0; k < p->norder; k++)
		for (int c = 0; c < PLANT_CHUNKS; c++)
			m += p->r[p->order[k]].c[c].merged;
	return m;
}

double plant_mergeable(const struct plant *p)
{
	double m = 0;

	for (int k = 0; k < p->norder; k++)
		if (p->r[p->order[k]].kind == REGION_MERGEABLE)
			m += p->r[p->order[k]].pages;
	return m;
}

double plant_rmap(const struct plant *p)
{
	double m = 0;

	for (int k = 0; k < p->norder; k++)
		for (int c = 0; c < PLANT_CHUNKS; c++) {
			const struct chunk *ch = &p->r[p->order[k]].c[c];
			m += ch->pages - ch->unseen;
		}
	return m;
}

void plant_sample(const struct plant *p, struct sample *s)
{
	double used = 0, shared = 0, merged_g[PLANT_GROUPS] = { 0 }, unshared = 0, rmap = plant_rmap(p);
	double merged = 0, sharing, volatile_;
	int64_t *v = s->ksm.v;

	memset(s, 0, sizeof(*s));
	for (int k = 0; k < p->norder; k++) {
		const struct region *r = &p->r[p->order[k]];
		used += r->pages * PAGE;
		for (int c = 0; c < PLANT_CHUNKS; c++) {
			merged_g[r->group] += r->kind == REGION_MERGEABLE ? r->c[c].merged : 0;
			unshared += r->c[c].unshared;
		}
	}
	for (int g = 0; g < PLANT_GROUPS; g++) {
		merged += merged_g[g];
		shared += ceil(merged_g[g] / (MAX_SHARING + 1));
	}
	sharing = merged - shared;
	volatile_ = rmap - shared - sharing - unshared;
	s->mem_total = (uint64_t)p->mem_total;
	{
		double avail = p->base_available - used + sharing * PAGE - rmap * 64.0;
		if (avail < 0)
			avail = 0;
		if (avail > p->mem_total)
			avail = p->mem_total;
		s->mem_available = (uint64_t)avail;
		s->mem_free = (uint64_t)avail;
	}
	s->ksm.present = KSM_BIT(KSM_RUN) | KSM_BIT(KSM_PAGES_TO_SCAN) | KSM_BIT(KSM_SLEEP_MILLISECS) |
			 KSM_BIT(KSM_PAGES_SHARED) | KSM_BIT(KSM_PAGES_SHARING) | KSM_BIT(KSM_PAGES_UNSHARED) |
			 KSM_BIT(KSM_PAGES_VOLATILE) | KSM_BIT(KSM_FULL_SCANS) | KSM_BIT(KSM_GENERAL_PROFIT) |
			 KSM_BIT(KSM_ZERO_PAGES) | KSM_BIT(KSM_ADVISOR_MODE);
	v[KSM_RUN] = p->run;
	v[KSM_PAGES_TO_SCAN] = (int64_t)p->pages_to_scan;
	v[KSM_SLEEP_MILLISECS] = (int64_t)p->sleep_ms;
	v[KSM_PAGES_SHARED] = (int64_t)llround(shared);
	v[KSM_PAGES_SHARING] = (int64_t)llround(sharing);
	v[KSM_PAGES_UNSHARED] = (int64_t)llround(unshared);
	v[KSM_PAGES_VOLATILE] = (int64_t)llround(volatile_ > 0 ? volatile_ : 0);
	v[KSM_FULL_SCANS] = (int64_t)p->full_scans;
	v[KSM_GENERAL_PROFIT] = (int64_t)llround(sharing * PAGE - rmap * 64.0);
	v[KSM_ZERO_PAGES] = 0;
	v[KSM_ADVISOR_MODE] = 0;
	if (p->has_pages_scanned) {
		s->ksm.present |= KSM_BIT(KSM_PAGES_SCANNED);
		v[KSM_PAGES_SCANNED] = (int64_t)llround(p->pages_scanned);
	}
	if (p->smart_scan) {
		s->ksm.present |= KSM_BIT(KSM_PAGES_SKIPPED) | KSM_BIT(KSM_SMART_SCAN);
		v[KSM_PAGES_SKIPPED] = (int64_t)llround(p->pages_skipped);
		v[KSM_SMART_SCAN] = 1;
	}
	s->have_ksmd_cpu = p->ksmd_visible;
	if (p->ksmd_visible) {
		s->ksmd_pid = 42;
		/* clock ticks of 10 ms, as /proc/PID/stat gives them */
		s->ksmd_cpu_s = floor(p->ksmd_cpu * 100.0) / 100.0;
	}
}

void plant_apply(struct plant *p, const struct ctl_decision *d)
{
	if (d->hold)
		return;
	p->run = d->run;
	if (d->run) {
		if (d->set_pages)
			p->pages_to_scan = d->pages_to_scan;
		p->sleep_ms = d->sleep_ms;
	}
}
