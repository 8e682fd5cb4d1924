/* test_hazard.c - hazard episodes, the vm.max_map_count hazard from a scan,
 * NUMA node counting on a fake /sys, and the state file and Prometheus
 * textfile formats. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <math.h>
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

/* The map usage of a scan: the process nearest vm.max_map_count among
 * those whose maps were read. */
static void test_map_usage(void **state)
{
	struct procscan_proc procs[3];
	struct procscan ps = { .max_map_count = 1000, .n = 3, .dropped = 2, .maps_unreadable = 1, .procs = procs };
	struct map_usage mu;

	(void)state;
	memset(procs, 0, sizeof(procs));
	procs[0].pid = 200;
	procs[0].have_maps = true;
	procs[0].maps = 300;
	snprintf(procs[0].comm, sizeof(procs[0].comm), "other");
	procs[1].pid = 100;
	procs[1].have_maps = true;
	procs[1].maps = 950;
	snprintf(procs[1].comm, sizeof(procs[1].comm), "qemu-system-x86");
	procs[2].pid = 300;           /* maps not read: never the worst */
	procs[2].maps = 999;
	hazard_map_usage(&ps, &mu);
	assert_int_equal(mu.pid, 100);
	assert_string_equal(mu.comm, "qemu-system-x86");
	assert_int_equal(mu.vmas, 950);
	assert_int_equal(mu.max_map_count, 1000);
	assert_int_equal(mu.ksm_processes, 5);
	assert_int_equal(mu.unreadable, 1);
	assert_true(hazard_maps_near(&mu)); /* 95% */
	mu.vmas = 899;
	assert_false(hazard_maps_near(&mu));
	mu.vmas = 900;
	assert_true(hazard_maps_near(&mu)); /* exactly 90% */
	/* no record with its maps: no process, no hazard */
	procs[0].have_maps = procs[1].have_maps = false;
	hazard_map_usage(&ps, &mu);
	assert_int_equal(mu.pid, 0);
	assert_false(hazard_maps_near(&mu));
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
	/* the nodes with memory, where the kernel lists them: a node of
	 * CPUs only holds no page to merge across */
	put("node/has_memory", "0\n");
	assert_int_equal(hazard_numa_nodes(p), 1);
	put("node/has_memory", "0-1,12\n");
	assert_int_equal(hazard_numa_nodes(p), 3);
	put("node/has_memory", "0,2-5,7\n");
	assert_int_equal(hazard_numa_nodes(p), 6);
	put("node/has_memory", "garbage\n"); /* not a list: the directories */
	assert_int_equal(hazard_numa_nodes(p), 3);
	put("node/has_memory", "3-1\n");
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
	s->ksm.present = KSM_BIT(KSM_PAGES_SHARING) | KSM_BIT(KSM_ZERO_PAGES) | KSM_BIT(KSM_GENERAL_PROFIT) |
			 KSM_BIT(KSM_PAGES_SCANNED) | KSM_BIT(KSM_FULL_SCANS);
	s->ksm.v[KSM_PAGES_SHARING] = 1000;
	s->ksm.v[KSM_ZERO_PAGES] = 1;
	s->ksm.v[KSM_GENERAL_PROFIT] = -123456;
	s->ksm.v[KSM_PAGES_SCANNED] = 987654321;
	s->ksm.v[KSM_FULL_SCANS] = 77;
	d->t.error = -0.0125;
	d->t.error_guest = NAN; /* guest_cmdline empty */
	d->t.error_psi = 0.02;
	si->full_scan_s = 42.5;
	si->max_cpu = 0.25;
	si->foreign_changes = 3;
	si->hazard_foreign = true;
	si->mode_changes = 11;
	si->probes = 4;
}

static void test_state_roundtrip(void **state)
{
	struct state_info si;
	struct sample s;
	struct ctl_decision d;
	struct state_kv *kv = calloc(1, sizeof(*kv));
	char path[300];
	struct stat st;
	int dirfd;

	(void)state;
	assert_non_null(kv);
	fill(&si, &s, &d);
	dirfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dirfd >= 0);
	snprintf(path, sizeof(path), "%s/state", root);
	assert_int_equal(state_write(dirfd, "state", &si), 0);
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
	assert_string_equal(state_get(kv, "inspect"), "missing"); /* not set: the default */
	assert_string_equal(state_get(kv, "inspect_time"), "0");
	assert_string_equal(state_get(kv, "foreign_changes"), "3");
	assert_string_equal(state_get(kv, "hazard_foreign_tuner"), "1");
	assert_string_equal(state_get(kv, "full_scan_seconds"), "42.5");
	assert_string_equal(state_get(kv, "probes"), "4");
	assert_string_equal(state_get(kv, "mode_changes"), "11");
	assert_string_equal(state_get(kv, "max_cpu"), "0.2500");
	assert_null(state_get(kv, "no_such_key"));
	/* not a state file */
	put("junk", "pid=1\n");
	snprintf(path, sizeof(path), "%s/junk", root);
	assert_int_equal(state_read(path, kv), -EINVAL);
	snprintf(path, sizeof(path), "%s/absent", root);
	assert_int_equal(state_read(path, kv), -ENOENT);
	/* a newline in a value would add a key: the writer refuses it */
	si.config_path = "/etc/k.conf\nhazard_map_count=1";
	snprintf(path, sizeof(path), "%s/state2", root);
	assert_int_equal(state_write(dirfd, "state2", &si), -EINVAL);
	assert_int_equal(access(path, F_OK), -1);
	assert_null(state_format(&si));
	si.config_path = "/etc/ksmpilot.conf";
	snprintf(si.maps.comm, sizeof(si.maps.comm), "a\nb");
	assert_int_equal(state_write(dirfd, "state2", &si), -EINVAL);
	close(dirfd);
	/* the reader lets no control character through, whoever wrote it */
	put("esc", "# ksmpilot state v1\nmap_count_comm=\x1b]0;owned\x07x\xff\nreason=ok\n");
	snprintf(path, sizeof(path), "%s/esc", root);
	assert_int_equal(state_read(path, kv), 0);
	assert_string_equal(state_get(kv, "map_count_comm"), "?]0;owned?x?");
	assert_string_equal(state_get(kv, "reason"), "ok");
	free(kv);
}

static void test_metrics_format(void **state)
{
	struct state_info si;
	struct sample s;
	struct ctl_decision d;
	char *m, *line, *save = NULL;
	char path[300], want[128];
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
	/* the saving, chartable; the mode as an enum; counters for alerts */
	assert_non_null(strstr(m, "\nksmpilot_saving_bytes 4100096\n"));
	assert_non_null(strstr(m, "\nksmpilot_general_profit_bytes -123456\n"));
	assert_non_null(strstr(m, "# TYPE ksmpilot_pages_scanned_total counter\nksmpilot_pages_scanned_total 987654321\n"));
	assert_non_null(strstr(m, "\nksmpilot_full_scan_seconds 42.5\n"));
	assert_non_null(strstr(m, "ksmpilot_controller_mode{mode=\"idle\"} 1\n"));
	assert_non_null(strstr(m, "ksmpilot_controller_mode{mode=\"active\"} 0\n"));
	assert_non_null(strstr(m, "ksmpilot_controller_mode{mode=\"stopped\"} 0\n"));
	assert_non_null(strstr(m, "\nksmpilot_ksmd_cpu_cap_ratio 0.25\n"));
	assert_non_null(strstr(m, "\nksmpilot_foreign_changes_total 3\n"));
	assert_non_null(strstr(m, "\nksmpilot_mode_changes_total 11\n"));
	assert_non_null(strstr(m, "\nksmpilot_probes_total 4\n"));
	assert_non_null(strstr(m, "\nksmpilot_last_update_timestamp_seconds 1795713290\n"));
	assert_non_null(strstr(m, "ksmpilot_hazard{hazard=\"foreign_tuner\"} 1\n"));
	assert_non_null(strstr(m, "ksmpilot_hazard{hazard=\"negative_profit\"} "));
	/* inspect's data not fresh here: the map-count check is off, said so */
	assert_non_null(strstr(m, "\nksmpilot_inspect_fresh 0\n"));
	assert_null(strstr(m, "ksmpilot_inspect_timestamp_seconds"));
	{
		char *m2;
		si.inspect = "fresh";
		si.inspect_time = 1795713200;
		m2 = metrics_format(&si);
		assert_non_null(m2);
		assert_non_null(strstr(m2, "\nksmpilot_inspect_fresh 1\n"));
		assert_non_null(strstr(m2, "\nksmpilot_inspect_timestamp_seconds 1795713200\n"));
		free(m2);
		si.inspect = NULL;
		si.inspect_time = 0;
	}
	/* the terms, one family per kind of quantity, each with its HELP once */
	assert_null(strstr(m, "ksmpilot_controller_term"));
	assert_non_null(strstr(m, "ksmpilot_pressure_ratio{source=\"combined\"} -0.0125\n"));
	/* a source that is off (NaN: no guest_cmdline) has no series */
	assert_null(strstr(m, "ksmpilot_pressure_ratio{source=\"guests\"}"));
	assert_non_null(strstr(m, "ksmpilot_pressure_ratio{source=\"psi\"} 0.02\n"));
	{
		/* and the other way round, PSI off and guests on: even at -1
		 * (target_available = 0 and no guest running) */
		struct ctl_decision d2 = d;
		char *m2;
		d2.t.error_guest = -1;
		d2.t.error_psi = NAN;
		si.d = &d2;
		m2 = metrics_format(&si);
		assert_non_null(m2);
		assert_non_null(strstr(m2, "ksmpilot_pressure_ratio{source=\"guests\"} -1\n"));
		assert_null(strstr(m2, "ksmpilot_pressure_ratio{source=\"psi\"}"));
		free(m2);
		si.d = &d;
	}
	assert_non_null(strstr(m, "ksmpilot_effort_term{term=\"p\"} 0.51\n"));
	assert_non_null(strstr(m, "\nksmpilot_effort_ratio 0.81\n"));
	assert_non_null(strstr(m, "\nksmpilot_ksmd_cost_seconds_per_page{basis=\"measured\"} 1.2e-06\n"));
	{
		const char *h = strstr(m, "# HELP ksmpilot_pressure_ratio ");
		assert_non_null(h);
		assert_null(strstr(h + 1, "# HELP ksmpilot_pressure_ratio "));
		assert_non_null(strstr(m, "# TYPE ksmpilot_effort_term gauge\n"));
	}
	/* an old kernel: no profit, no pages_scanned; no full scan seen yet */
	{
		struct sample s2 = s;
		char *m2;
		s2.ksm.present = KSM_BIT(KSM_PAGES_SHARING);
		si.s = &s2;
		si.full_scan_s = -1;
		m2 = metrics_format(&si);
		assert_non_null(m2);
		assert_null(strstr(m2, "general_profit"));
		assert_null(strstr(m2, "negative_profit")); /* not checked: no series, not a 0 */
		assert_null(strstr(m2, "pages_scanned"));
		assert_null(strstr(m2, "full_scan_seconds"));
		snprintf(want, sizeof(want), "\nksmpilot_saving_bytes %.0f\n", 1000 * page_bytes());
		assert_non_null(strstr(m2, want));
		free(m2);
		si.s = &s;
	}
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
	/* the temporary file it was written to is gone: the file alone */
	{
		DIR *dir = opendir(root);
		struct dirent *de;
		unsigned n = 0;

		assert_non_null(dir);
		while ((de = readdir(dir)))
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
				assert_string_equal(de->d_name, "ksmpilot.prom");
				n++;
			}
		closedir(dir);
		assert_int_equal(n, 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_episode_hold),
		cmocka_unit_test(test_map_usage),
		cmocka_unit_test_setup_teardown(test_numa_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_format, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
