/* hazard.c - see hazard.h */
#include "hazard.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int hazard_update(struct hazard_episode *h, bool cond, uint64_t now_ms, uint64_t hold_ms)
{
	if (cond != h->cond) {
		h->cond = cond;
		h->since_ms = now_ms;
	}
	if (!h->active && h->cond && now_ms - h->since_ms >= hold_ms) {
		h->active = true;
		return 1;
	}
	if (h->active && !h->cond && now_ms - h->since_ms >= hold_ms) {
		h->active = false;
		return -1;
	}
	return 0;
}

void hazard_map_usage(const struct procscan *ps, struct map_usage *out)
{
	const struct procscan_proc *worst = procscan_worst_maps(ps);

	memset(out, 0, sizeof(*out));
	out->max_map_count = ps->max_map_count;
	out->ksm_processes = ps->n + ps->dropped;
	out->unreadable = ps->maps_unreadable;
	if (worst) {
		out->pid = worst->pid;
		out->vmas = worst->maps;
		snprintf(out->comm, sizeof(out->comm), "%s", worst->comm);
	}
}

bool hazard_maps_near(const struct map_usage *mu)
{
	return mu->pid > 0 && mu->max_map_count > 0 &&
	       (double)mu->vmas >= HAZARD_MAP_SHARE * (double)mu->max_map_count;
}

unsigned hazard_numa_nodes(const char *sys_node_dir)
{
	struct dirent *de;
	unsigned n = 0;
	DIR *d = opendir(sys_node_dir);

	if (!d)
		return 1;
	while ((de = readdir(d)) != NULL) {
		const char *p = de->d_name;
		if (strncmp(p, "node", 4) != 0 || !isdigit((unsigned char)p[4]))
			continue;
		for (p += 4; isdigit((unsigned char)*p); p++)
			;
		if (*p == '\0')
			n++;
	}
	closedir(d);
	return n ? n : 1;
}
