/* plant.c - see plant.h */
#include "plant.h"

#include <math.h>
#include <string.h>

#include "util.h"

/* the page KSM counts: the kernel's size, as the daemon takes it */
#define PAGE page_bytes()
/* smart_scan skips a page after this many visits without a merge */
#define SKIP_AFTER 3
/* ... and still looks at one skipped page in this many */
#define SKIP_RESCAN 8.0
/* max_page_sharing: sharers per KSM page */
#define MAX_SHARING 256.0
/* the advisor's CPU floor, % (KSM_ADVISOR_MIN_CPU) */
#define ADVISOR_MIN_CPU 10.0

void plant_init(struct plant *p, double mem_total, double base_available)
{
	memset(p, 0, sizeof(*p));
	p->mem_total = mem_total;
	p->base_available = base_available;
	p->base_anon = 0.02 * mem_total;
	p->cost_visit = 1.2e-6;
	p->cost_work = 1.5e-6;
	p->cost_skip = 0.02e-6;
	p->smart_scan = true;
	p->skip_bursts = true;
	p->has_pages_scanned = true;
	p->has_cow = true;
	p->has_anon = true;
	p->ksmd_visible = true;
	p->advisor_target_s = 200;
	p->advisor_min_pages = 500;
	p->advisor_max_pages = 30000;
	p->advisor_max_cpu = 70;
	p->rng = 0x9E3779B97F4A7C15ULL;
	p->run = 0;
	p->pages_to_scan = 100;
	p->sleep_ms = 20;
	p->next_id = 1;
}

static struct region *find(struct plant *p, int id)
{
	for (int i = 0; i < PLANT_MAX_REGIONS; i++)
		if (p->r[i].live && p->r[i].id == id)
			return &p->r[i];
	return NULL;
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
	if (kind == REGION_PRIVATE)
		return p->r[i].id; /* KSM never sees it */
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

void plant_set_cow(struct plant *p, int id, double pages_per_s, bool returns)
{
	struct region *r = find(p, id);

	if (r) {
		r->cow_rate = pages_per_s;
		r->cow_returns = returns;
	}
}

/* Drop order[k] from the scan list, keeping the cursor where it is. */
static void unlink_at(struct plant *p, int k)
{
	p->r[p->order[k]].live = false;
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
}

void plant_remove(struct plant *p, int id)
{
	struct region *r = find(p, id);
	int k, idx;

	if (!r || r->dying)
		return;
	if (r->kind == REGION_PRIVATE) {
		r->live = false;
		return;
	}
	idx = (int)(r - p->r);
	for (k = 0; k < p->norder && p->order[k] != idx; k++)
		;
	if (k == p->norder)
		return;
	r->dying = true;
	r->cow_rate = 0;
	if (k == p->cur) {
		unlink_at(p, k); /* at the cursor: ksmd tears it down at once */
		return;
	}
	/* __ksm_exit(): moved just after the cursor, torn down when reached */
	memmove(&p->order[k], &p->order[k + 1], (size_t)(p->norder - k - 1) * sizeof(int));
	p->norder--;
	if (k < p->cur)
		p->cur--;
	memmove(&p->order[p->cur + 2], &p->order[p->cur + 1], (size_t)(p->norder - p->cur - 1) * sizeof(int));
	p->order[p->cur + 1] = idx;
	p->norder++;
}

static double gauss(uint64_t *s)
{
	double u1, u2;

	do {
		*s ^= *s >> 12;
		*s ^= *s << 25;
		*s ^= *s >> 27;
		u1 = (double)((*s * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
		*s ^= *s >> 12;
		*s ^= *s << 25;
		*s ^= *s >> 27;
		u2 = (double)((*s * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
	} while (u1 <= 0);
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

void plant_set_noise(struct plant *p, double avail_sigma, double anon_sigma, double tau, uint64_t seed)
{
	p->noise_avail_sigma = avail_sigma;
	p->noise_anon_sigma = anon_sigma;
	p->noise_tau = tau;
	p->rng = seed ? seed : 1;
	p->noise_avail = avail_sigma * gauss(&p->rng);
	p->noise_anon = anon_sigma * gauss(&p->rng);
	p->noise_t = p->now;
}

static void noise_step(struct plant *p)
{
	double rho = p->noise_tau > 0 ? exp(-(p->now - p->noise_t) / p->noise_tau) : 0;
	double k = sqrt(1 - rho * rho);

	p->noise_avail = rho * p->noise_avail + k * p->noise_avail_sigma * gauss(&p->rng);
	p->noise_anon = rho * p->noise_anon + k * p->noise_anon_sigma * gauss(&p->rng);
	p->noise_t = p->now;
}

static bool merges(enum region_kind k)
{
	return k == REGION_MERGEABLE || k == REGION_TWIN;
}

static void group_flags(struct plant *p)
{
	bool any[PLANT_GROUPS] = { false };

	memset(p->twin_stable, 0, sizeof(p->twin_stable));
	for (int k = 0; k < p->norder; k++) {
		const struct region *r = &p->r[p->order[k]];
		if (!merges(r->kind) || r->dying)
			continue;
		for (int c = 0; c < PLANT_CHUNKS; c++)
			if (r->c[c].merged > 0) {
				if (r->kind == REGION_TWIN)
					p->twin_stable[r->group][c] = true;
				else
					any[r->group] = true;
			}
	}
	for (int g = 0; g < PLANT_GROUPS; g++)
		p->group_stable[g] = any[g];
}

static void unstable_tree_emptied(struct plant *p)
{
	memset(p->group_unstable, 0, sizeof(p->group_unstable));
	memset(p->twin_unstable, 0, sizeof(p->twin_unstable));
}

/* A visit of a chunk whose pages have twins: in the stable tree (*st: the
 * group has merged pages), in the unstable tree (*un: seen once in this
 * pass), or, for REGION_MERGEABLE (self), among its own pages (a few
 * patterns). Returns the pages that changed state. */
static double visit_merging(const struct region *r, struct chunk *ch, bool *st, bool *un, bool self)
{
	double work = 0;

	if (ch->broken > 0) {
		/* no longer a KSM page: out of the stable tree; back to its
		 * pattern it merges again at once, otherwise its checksum
		 * starts over */
		work += ch->broken;
		if (self && r->cow_returns && *st)
			ch->merged += ch->broken;
		else
			ch->seen += ch->broken;
		ch->broken = 0;
	}
	if (ch->unshared > 0 && (*st || *un || (self && ch->unshared + ch->seen >= 2))) {
		work += ch->unshared;
		ch->merged += ch->unshared;
		ch->unshared = 0;
		*st = true;
	}
	if (ch->seen > 0) {
		work += ch->seen;
		if (*st || *un || (self && ch->seen >= 2)) {
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
	return work;
}

/* The cursor has passed over a whole chunk: apply the visit. Returns the
 * CPU it cost. */
static double visit(struct plant *p, struct region *r, struct chunk *ch)
{
	double skipped0 = ch->skipped;
	double rescanned = !p->skip_bursts ? skipped0 / SKIP_RESCAN : ch->skip_wait == 0 ? skipped0 : 0;
	double work = 0, visits = ch->pages - skipped0;

	switch (r->kind) {
	case REGION_MERGEABLE:
		work = visit_merging(r, ch, &p->group_stable[r->group], &p->group_unstable[r->group], true);
		break;
	case REGION_TWIN: {
		/* a page's only twins are the pages at the same place in the
		 * group's other regions */
		int c = (int)(ch - r->c);
		work = visit_merging(r, ch, &p->twin_stable[r->group][c], &p->twin_unstable[r->group][c], false);
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
	case REGION_PRIVATE:
		break;
	}
	if (p->smart_scan && !merges(r->kind) && ch->fails > SKIP_AFTER) {
		ch->skipped += ch->seen + ch->unshared;
		ch->seen = ch->unshared = 0;
	}
	if (skipped0 > 0)
		ch->skip_wait = ch->skip_wait == 0 ? (unsigned)SKIP_RESCAN - 1 : ch->skip_wait - 1;
	else if (ch->skipped > 0)
		ch->skip_wait = (unsigned)SKIP_RESCAN - 1;
	p->pages_scanned += visits + rescanned;
	p->pages_skipped += skipped0 - rescanned;
	return (visits + rescanned) * p->cost_visit + work * p->cost_work + (skipped0 - rescanned) * p->cost_skip;
}

/* Pages of the chunk that take a slot of pages_to_scan. */
static double budget_of(const struct plant *p, const struct chunk *ch)
{
	if (p->skip_bursts)
		return ch->pages - (ch->skip_wait > 0 ? ch->skipped : 0);
	return ch->pages - ch->skipped + ch->skipped / SKIP_RESCAN;
}

/* Writes break merged pages: a private copy each, cow_ksm counts it. */
static void cow_step(struct plant *p, double dt)
{
	for (int k = 0; k < p->norder; k++) {
		struct region *r = &p->r[p->order[k]];
		double merged = 0, n;
		if (r->cow_rate <= 0 || r->dying)
			continue;
		for (int c = 0; c < PLANT_CHUNKS; c++)
			merged += r->c[c].merged;
		n = fmin(r->cow_rate * dt, merged);
		if (n <= 0)
			continue;
		for (int c = 0; c < PLANT_CHUNKS; c++) {
			double part = n * r->c[c].merged / merged;
			r->c[c].merged -= part;
			r->c[c].broken += part;
		}
		p->cow_ksm += n;
	}
}

/* The advisor at the end of a full scan (mm/ksm.c scan_time_advisor(),
 * simplified): pages_to_scan scaled by scan time over target, within its
 * CPU bounds. */
static void advisor_step(struct plant *p)
{
	double scan_time = fmax(p->now - p->advisor_pass_t0, 1);
	double cpu_pct = fmax((p->ksmd_cpu - p->advisor_pass_cpu0) * 100 / scan_time, 1);
	double pages = (double)p->pages_to_scan * scan_time / p->advisor_target_s;
	double per_pct = fmax((double)p->pages_to_scan / cpu_pct, 1);

	pages = fmin(pages, per_pct * p->advisor_max_cpu);
	pages = fmax(pages, per_pct * ADVISOR_MIN_CPU);
	pages = fmin(pages, p->advisor_max_pages);
	p->pages_to_scan = (uint64_t)fmax(round(pages), 1);
	p->advisor_pass_t0 = p->now;
	p->advisor_pass_cpu0 = p->ksmd_cpu;
}

void plant_advance(struct plant *p, double dt)
{
	double avg_cost, rate, n, cpu = 0;

	p->now += dt;
	cow_step(p, dt);
	if (p->run != 1 || p->norder == 0 || p->pages_to_scan == 0)
		return;
	/* average cost per page of the pass, from the current state */
	{
		double pages = 0, cost = 0;
		for (int k = 0; k < p->norder; k++) {
			const struct region *r = &p->r[p->order[k]];
			if (r->dying)
				continue;
			for (int c = 0; c < PLANT_CHUNKS; c++) {
				const struct chunk *ch = &r->c[c];
				double b = budget_of(p, ch);
				pages += b;
				cost += b * p->cost_visit + (ch->unseen + ch->seen + ch->broken) * p->cost_work +
					(merges(r->kind) ? ch->unshared * p->cost_work : 0);
			}
		}
		avg_cost = pages > 0 ? cost / pages : p->cost_visit;
	}
	rate = (double)p->pages_to_scan / ((double)p->sleep_ms / 1000.0 + (double)p->pages_to_scan * avg_cost);
	n = rate * dt;
	group_flags(p);
	while (n > 0 && p->norder > 0) {
		struct region *r = &p->r[p->order[p->cur]];
		struct chunk *ch;
		double left;
		if (r->dying) {
			/* the cursor reached a region that left: tear it down */
			bool wraps = p->cur == p->norder - 1;
			unlink_at(p, p->cur);
			if (wraps && p->norder > 0) {
				p->full_scans++;
				unstable_tree_emptied(p);
				if (p->advisor)
					advisor_step(p);
			}
			continue;
		}
		ch = &r->c[p->cur_chunk];
		left = budget_of(p, ch) - p->chunk_progress;
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
				unstable_tree_emptied(p);
				if (p->advisor)
					advisor_step(p);
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

	for (int k = 0; k < p->norder; k++) {
		const struct region *r = &p->r[p->order[k]];
		if (r->dying)
			continue;
		for (int c = 0; c < PLANT_CHUNKS; c++)
			m += r->c[c].merged;
	}
	return m;
}

double plant_mergeable(const struct plant *p)
{
	double m = 0;

	for (int k = 0; k < p->norder; k++)
		if (merges(p->r[p->order[k]].kind) && !p->r[p->order[k]].dying)
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

double plant_region_merged(const struct plant *p, int id)
{
	double m = 0;

	for (int i = 0; i < PLANT_MAX_REGIONS; i++)
		if (p->r[i].live && p->r[i].id == id && !p->r[i].dying)
			for (int c = 0; c < PLANT_CHUNKS; c++)
				m += p->r[i].c[c].merged;
	return m;
}

double plant_region_pages(const struct plant *p, int id)
{
	for (int i = 0; i < PLANT_MAX_REGIONS; i++)
		if (p->r[i].live && p->r[i].id == id)
			return p->r[i].pages;
	return 0;
}

void plant_sample(struct plant *p, struct sample *s)
{
	double used = 0, counted_g[PLANT_GROUPS] = { 0 }, live_g[PLANT_GROUPS] = { 0 };
	double shared = 0, counted = 0, live_merged = 0, live_shared = 0, unshared = 0, rmap = plant_rmap(p);
	double private_pages = 0, sharing, volatile_;
	int64_t *v = s->ksm.v;

	memset(s, 0, sizeof(*s));
	noise_step(p);
	for (int i = 0; i < PLANT_MAX_REGIONS; i++)
		if (p->r[i].live && p->r[i].kind == REGION_PRIVATE)
			private_pages += p->r[i].pages;
	for (int k = 0; k < p->norder; k++) {
		const struct region *r = &p->r[p->order[k]];
		for (int c = 0; c < PLANT_CHUNKS; c++) {
			const struct chunk *ch = &r->c[c];
			if (merges(r->kind) && !r->dying) {
				/* the kernel counts a broken page as merged until
				 * ksmd visits it again */
				counted_g[r->group] += ch->merged + ch->broken;
				live_g[r->group] += ch->merged;
			}
			unshared += ch->unshared;
		}
		if (!r->dying)
			used += r->pages;
	}
	/* A region that left still counts as merged until ksmd tears it down,
	 * if a region that stays maps its KSM pages. If none does, they were
	 * freed: their stable nodes are stale, ksmd drops them from the tree
	 * at its next search, and the counts fall at once (its rmap items, now
	 * volatile, still wait for the cursor). */
	for (int k = 0; k < p->norder; k++) {
		const struct region *r = &p->r[p->order[k]];
		if (!merges(r->kind) || !r->dying || live_g[r->group] <= 0)
			continue;
		for (int c = 0; c < PLANT_CHUNKS; c++)
			counted_g[r->group] += r->c[c].merged + r->c[c].broken;
	}
	for (int g = 0; g < PLANT_GROUPS; g++) {
		counted += counted_g[g];
		shared += ceil(counted_g[g] / (MAX_SHARING + 1));
		live_merged += live_g[g];
		live_shared += ceil(live_g[g] / (MAX_SHARING + 1));
	}
	sharing = counted - shared;
	volatile_ = rmap - shared - sharing - unshared;
	s->mem_total = (uint64_t)p->mem_total;
	{
		/* what the regions take: each page once, merged ones once per
		 * KSM page; rmap items take 64 bytes each */
		double take = (used - live_merged + live_shared + private_pages) * PAGE + rmap * 64.0;
		double avail = p->base_available - take + p->noise_avail;
		double anon = p->base_anon + (used - live_merged + live_shared + private_pages) * PAGE + p->noise_anon;
		avail = fmin(fmax(avail, 0), p->mem_total);
		s->mem_available = (uint64_t)avail;
		s->mem_free = (uint64_t)avail;
		if (p->has_anon) {
			s->anon = (uint64_t)fmax(anon, 0);
			s->have_anon = true;
		}
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
	v[KSM_ADVISOR_MODE] = p->advisor ? 1 : 0;
	if (p->has_pages_scanned) {
		s->ksm.present |= KSM_BIT(KSM_PAGES_SCANNED);
		v[KSM_PAGES_SCANNED] = (int64_t)llround(p->pages_scanned);
	}
	if (p->smart_scan) {
		s->ksm.present |= KSM_BIT(KSM_PAGES_SKIPPED) | KSM_BIT(KSM_SMART_SCAN);
		v[KSM_PAGES_SKIPPED] = (int64_t)llround(p->pages_skipped);
		v[KSM_SMART_SCAN] = 1;
	}
	if (p->has_cow) {
		s->have_cow = true;
		s->cow_fresh = true;
		s->cow_ksm = (uint64_t)llround(p->cow_ksm);
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
		if (d->set_pages) {
			if (p->advisor)
				p->einval_writes++; /* the kernel refuses it */
			else
				p->pages_to_scan = d->pages_to_scan;
		}
		p->sleep_ms = d->sleep_ms;
	}
}
