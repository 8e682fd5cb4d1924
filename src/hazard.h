/* hazard.h - the hazards named in the kernel's KSM documentation, watched
 * so that an operator hears of them once per episode:
 *   - general_profit negative over two full scans and for a long time:
 *     the rmap items (64 bytes per page scanned) cost more memory than
 *     merging saves (the two scans are counted by the caller);
 *   - a process using KSM near vm.max_map_count: MADV_MERGEABLE splits
 *     VMAs, and past the limit the process's mmap() calls fail;
 *   - merge_across_nodes=1 on a machine with several NUMA nodes.
 * hazard_update() gives an episode hysteresis in time: the profit's starts
 * when the condition has held for HAZARD_HOLD_MS and ends when it has been
 * clear for as long; the map count's has none (it changes with each fresh
 * inspect file), nor has the NUMA one. The map count comes from
 * state_dir/processes (ksmpilotctl inspect, procscan.h): ksmpilotd holds no
 * capability to read other users' /proc/PID/maps. The /sys root is a
 * parameter, so that tests use fake trees. Nothing here logs. */
#ifndef KSMPILOT_HAZARD_H
#define KSMPILOT_HAZARD_H

#include <stdbool.h>
#include <stdint.h>

#include "procscan.h"

#define HAZARD_HOLD_MS (UINT64_C(10) * 60 * 1000)
/* A process at this share of vm.max_map_count is a hazard. */
#define HAZARD_MAP_SHARE 0.9

/* One condition with hysteresis in time. */
struct hazard_episode {
	bool active;            /* an episode is on (reported) */
	bool cond;              /* the condition held at the last update */
	uint64_t since_ms;      /* when cond last changed */
};

/* Feed the condition at now; returns +1 when an episode starts, -1 when
 * it ends, 0 otherwise. hold_ms = 0 starts and ends at once. */
int hazard_update(struct hazard_episode *h, bool cond, uint64_t now_ms, uint64_t hold_ms);

/* The process closest to vm.max_map_count among those that use KSM. */
struct map_usage {
	int pid;                /* 0: no KSM process with its maps read */
	char comm[PROCSCAN_COMM_MAX]; /* sanitised where it was read */
	uint64_t vmas;          /* memory mappings */
	uint64_t max_map_count;
	unsigned ksm_processes; /* processes that use KSM */
	unsigned unreadable;    /* KSM processes whose maps could not be read */
};

/* The map usage of a scan (one read back from state_dir/processes). */
void hazard_map_usage(const struct procscan *ps, struct map_usage *out);
/* Whether it is a hazard: at least HAZARD_MAP_SHARE of max_map_count. */
bool hazard_maps_near(const struct map_usage *mu);

/* NUMA nodes with memory under sys_node_dir ("/sys/devices/system/node"),
 * from its has_memory list (a node of CPUs only holds no page KSM could
 * merge across), else its node directories; 1 when the directory is
 * missing (no NUMA). */
unsigned hazard_numa_nodes(const char *sys_node_dir);

#endif
