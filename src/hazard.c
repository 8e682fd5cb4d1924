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

/* The nodes in a list of the kernel's ("0-3,8,10-11"); 0 when it is not one. */
static unsigned list_count(const char *s)
{
	unsigned n = 0;

	while (*s && *s != '\n') {
		char *end;
		unsigned long a, b;

		if (!isdigit((unsigned char)*s))
			return 0;
		a = b = strtoul(s, &end, 10);
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1]))
				return 0;
			b = strtoul(end + 1, &end, 10);
		}
		if (b < a || b - a >= 65536)
			return 0;
		n += (unsigned)(b - a + 1);
		if (*end == ',')
			end++;
		else if (*end && *end != '\n')
			return 0;
		s = end;
	}
	return n;
}

unsigned hazard_numa_nodes(const char *sys_node_dir)
{
	struct dirent *de;
	unsigned n = 0;
	char path[4096];
	DIR *d;
	FILE *f;

	snprintf(path, sizeof(path), "%s/has_memory", sys_node_dir);
	f = fopen(path, "re");
	if (f) {
		char buf[4096];
		bool got = fgets(buf, sizeof(buf), f) != NULL;
		fclose(f);
		if (got && (n = list_count(buf)) > 0)
			return n;
	}
	d = opendir(sys_node_dir);

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
