/* test_hazard.c - hazard episodes, the vm.max_map_count scan on a fake
 * /proc, NUMA node counting on a fake /sys, and the state file and
 * Prometheus textfile formats. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hazard.h"
#include "state.h"
#include "util.h"

static char root[256];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/ksmpilot-test-hazard.XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void put(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void dir(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

/* A fake process with rmap items and n mappings. */
static void proc(int pid, const char *comm, unsigned rmap, unsigned n)
{
	char rel[64], line[128], *maps;
	size_t len = 0;

	snprintf(rel, sizeof(rel), "proc/%d", pid);
	dir(rel);
	snprintf(rel, sizeof(rel), "proc/%d/comm", pid);
	snprintf(line, sizeof(line), "%s\n", comm);
	put(rel, line);
	snprintf(rel, sizeof(rel), "proc/%d/ksm_stat", pid);
	snprintf(line, sizeof(line), "ksm_rmap_items %u\nksm_zero_pages 0\nksm_merging_pages 5\nksm_process_profit 1\n",
		 rmap);
	put(rel, line);
	maps = malloc((size_t)n * 80 + 1);
	assert_non_null(maps);
	maps[0] = '\0';
	for (unsigned i = 0; i < n; i++)
		len += (size_t)sprintf(maps + len, "7f%08x000-7f%08x000 rw-p 00000000 00:00 0\n", i, i + 1);
	snprintf(rel, sizeof(rel), "proc/%d/maps", pid);
	put(rel, maps);
	free(maps);
}

static void test_episode_hold(void **state)
{
	struct hazard_episode h = { 0 };

	(void)state;
	assert_int_equal(hazard_update(&h, true, 1000, 600), 0);
	assert_int_equal(hazard_update(&h, true, 1599, 600), 0);
	assert_int_equal(hazard_update(&h, true, 1600, 600), 1); /* held 600 ms: starts */
	assert_true(h.active);
	assert_int_equal(hazard_update(&h, true, 5000, 600), 0); /* once per episode */
	assert_int_equal(hazard_update(&h, false, 6000, 600), 0);
	assert_int_equal(hazard_update(&h, true, 6100, 600), 0); /* flicker: still on */
	assert_int_equal(hazard_update(&h, false, 6200, 600), 0);
	assert_int_equal(hazard_update(&h, false, 6799, 600), 0);
	assert_int_equal(hazard_update(&h, false, 6800, 600), -1); /* clear 600 ms: ends */
	assert_false(h.active);
	/* hold 0: at once */
	assert_int_equal(hazard_update(&h, true, 7000, 0), 1);
	assert_int_equal(hazard_update(&h, false, 7001, 0), -1);
}

static void test_scan_maps(void **state)
{
	struct map_usage mu;
	char p[300];

	(void)state;
	dir("proc");
	dir("proc/sys");
	dir("proc/sys/vm");
	put("proc/sys/vm/max_map_count", "1000\n");
	proc(100, "qemu-system-x86", 5000, 950);   /* 95%: the worst */
	proc(200, "other", 10, 300);
	proc(300, "no-ksm", 0, 999);               /* no rmap items: ignored */
	dir("proc/self");                           /* not a pid */
	put("proc/meminfo", "x\n");
	snprintf(p, sizeof(p), "%s/proc", root);
	assert_int_equal(hazard_scan_maps(p, &mu), 0);
	assert_int_equal(mu.pid, 100);
	assert_string_equal(mu.comm, "qemu-system-x86");
	assert_int_equal(mu.vmas, 950);
	assert_int_equal(mu.max_map_count, 1000);
	assert_int_equal(mu.ksm_processes, 2);
	assert_true((double)mu.vmas >= HAZARD_MAP_SHARE * (double)mu.max_map_count);
	/* a KSM process whose maps cannot be read is counted, not fatal */
	snprintf(p, sizeof(p), "%s/proc/200/maps", root);
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/proc", root);
	assert_int_equal(hazard_scan_maps(p, &mu), 0);
	assert_int_equal(mu.unreadable, 1);
	assert_int_equal(mu.pid, 100);
	/* no /proc: an error, and the default limit */
	snprintf(p, sizeof(p), "%s/none", root);
	assert_int_equal(hazard_scan_maps(p, &mu), -ENOENT);
}

static void test_real_proc(void **state)
{
	struct map_usage mu;

	(void)state;
	assert_int_equal(hazard_scan_maps("/proc", &mu), 0);
	assert_true(mu.max_map_count > 0);
}

static void test_numa_nodes(void **state)
{
	char p[300];

	(void)state;
	dir("node");
	snprintf(p, sizeof(p), "%s/node", root);
	assert_int_equal(hazard_numa_nodes(p), 1); /* empty: treated as one */
	dir("node/node0");
	put("node/possible", "0-1\n");
	dir("node/nodefoo");
	assert_int_equal(hazard_numa_nodes(p), 1);
	dir("node/node1");
	dir("node/node12");
	assert_int_equal(hazard_numa_nodes(p), 3);
	snprintf(p, sizeof(p), "%s/missing", root);
	assert_int_equal(hazard_numa_nodes(p), 1);
}

static void fill(struct state_info *si, struct sample *s, struct ctl_decision *d)
{
	memset(si, 0, sizeof(*si));
	memset(s, 0, sizeof(*s));
	memset(d, 0, sizeof(*d));
	s->mem_total = 25276514304ULL;
	s->mem_available = 3404058624ULL;
	s->have_ksmd_cpu = true;
	s->ksmd_cpu_s = 17.9;
	d->run = 1;
	d->pages_to_scan = 437;
	d->sleep_ms = 1000;
	d->rate = 437;
	d->rate_planned = 436.9;
	d->reason = CTL_R_NOTHING_TO_MERGE;
	d->mode = CTL_MODE_IDLE;
	d->t.setpoint = 5055302860ULL;
	d->t.p = 0.51;
	d->t.u = 0.81;
	d->t.cost_us = 1.2;
	si->pid = 4242;
	si->started = 1795713190;
	si->updated = 1795713290;
	si->decided = 1795713200;
	si->config_path = "/etc/ksmpilot.conf";
	si->interval_ms = 2000;
	si->ticks = 50;
	si->adjustments = 7;
	si->reloads = 2;
	si->s = s;
	si->d = d;
	si->hazard_maps = true;
	si->maps.pid = 100;
	snprintf(si->maps.comm, sizeof(si->maps.comm), "qemu");
	si->maps.vmas = 950;
	si->maps.max_map_count = 1000;
}

static void test_state_roundtrip(void **state)
{
	struct state_info si;
	struct sample s;
	struct ctl_decision d;
	struct state_kv *kv = calloc(1, sizeof(*kv));
	char path[300];
	struct stat st;

	(void)state;
	assert_non_null(kv);
	fill(&si, &s, &d);
	snprintf(path, sizeof(path), "%s/state", root);
	assert_int_equal(state_write(path, &si), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(state_read(path, kv), 0);
	assert_string_equal(state_get(kv, "version"), "1");
	assert_string_equal(state_get(kv, "pid"), "4242");
	assert_string_equal(state_get(kv, "reason"), "nothing-to-merge");
	assert_string_equal(state_get(kv, "mode"), "idle");
	assert_string_equal(state_get(kv, "pages_to_scan"), "437");
	assert_string_equal(state_get(kv, "mem_available_bytes"), "3404058624");
	assert_string_equal(state_get(kv, "reloads"), "2");
	assert_string_equal(state_get(kv, "hazard_map_count"), "1");
	assert_string_equal(state_get(kv, "map_count_comm"), "qemu");
	assert_null(state_get(kv, "no_such_key"));
	/* not a state file */
	put("junk", "pid=1\n");
	snprintf(path, sizeof(path), "%s/junk", root);
	assert_int_equal(state_read(path, kv), -EINVAL);
	snprintf(path, sizeof(path), "%s/absent", root);
	assert_int_equal(state_read(path, kv), -ENOENT);
	free(kv);
}

static void test_metrics_format(void **state)
{
	struct state_info si;
	struct sample s;
	struct ctl_decision d;
	char *m, *line, *save = NULL;
	char path[300];
	struct stat st;

	(void)state;
	fill(&si, &s, &d);
	m = metrics_format(&si);
	assert_non_null(m);
	/* base units and full precision for bytes */
	assert_non_null(strstr(m, "\nksmpilot_setpoint_bytes 5055302860\n"));
	assert_non_null(strstr(m, "\nksmpilot_memory_available_bytes 3404058624\n"));
	assert_non_null(strstr(m, "ksmpilot_decision_reason{reason=\"nothing-to-merge\"} 1\n"));
	assert_non_null(strstr(m, "ksmpilot_decision_reason{reason=\"merging\"} 0\n"));
	assert_non_null(strstr(m, "ksmpilot_build_info{version=\""));
	assert_non_null(strstr(m, "ksmpilot_hazard{hazard=\"map_count\"} 1\n"));
	assert_non_null(strstr(m, "# TYPE ksmpilot_ksmd_cpu_seconds_total counter\n"));
	assert_non_null(strstr(m, "\nksmpilot_adjustments_total 7\n"));
	/* what node_exporter's ksmd collector already has is not repeated */
	assert_null(strstr(m, "pages_sharing"));
	assert_null(strstr(m, "sleep_millisecs"));
	assert_null(strstr(m, "ksmpilot_run "));
	/* every counter ends in _total, every TYPE has a HELP */
	for (line = strtok_r(m, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# TYPE ", 7) == 0 && strstr(line, " counter")) {
			char name[128];
			sscanf(line + 7, "%127s", name);
			assert_non_null(strstr(name, "_total"));
		}
	}
	free(m);
	snprintf(path, sizeof(path), "%s/ksmpilot.prom", root);
	umask(077);
	assert_int_equal(metrics_write(path, &si), 0);
	umask(022);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644); /* node_exporter reads it as another user */
	snprintf(path, sizeof(path), "%s/ksmpilot.prom.tmp", root);
	assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_episode_hold),
		cmocka_unit_test_setup_teardown(test_scan_maps, setup, teardown),
		cmocka_unit_test(test_real_proc),
		cmocka_unit_test_setup_teardown(test_numa_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_format, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
