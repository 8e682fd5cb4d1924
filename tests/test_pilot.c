/* test_pilot.c - the daemon's tick logic (pilot.c) driven by a fake clock,
 * with the KSM files and /proc served by the simulated plant:
 *   - faults from the kernel side, each logged once, outputs in bounds;
 *   - the hazards of the KSM documentation, warned once per episode;
 *   - a simulated week at a 1 s interval: memory and file descriptors flat,
 *     no counter overflow, every output within bounds.
 * KSMPILOT_TEST_SCALE shortens the week (CI runs it under valgrind). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"
#include "msgid.h"
#include "pilot.h"
#include "plant.h"
#include "procscan.h"
#include "state.h"
#include "util.h"

#define GiB (1024.0 * 1024 * 1024)
#define MiB (1024.0 * 1024)

/* ---- the fake world ---------------------------------------------------------- */

static struct world {
	char dir[256];                  /* KSM tree, state dir, /proc, /sys nodes */
	char ksm[300], state[300], proc[300], numa[300], conf[300], psi[300];
	struct plant p;
	struct sample cur;              /* what the kernel shows this tick */
	/* faults */
	int read_errno;                 /* every KSM read fails */
	bool offlining;                 /* memory going offline: run reads with KSM_RUN_OFFLINE */
	int unmerge;                    /* run=2 written by someone: 1 under way, 2 done (nothing merged),
					   3 under way with only pages merged with the zero page left */
	enum ksm_item garbage_item;     /* this item reads "garbage" */
	bool garbage;
	int write_errno[KSM_ITEM_COUNT];
	int meminfo_errno;
	int guest_errno;
	bool ksmd_hidden;
	int merge_across_nodes;
	/* what happened */
	unsigned writes[KSM_ITEM_COUNT];
	unsigned reads[KSM_ITEM_COUNT];
	unsigned log_count;
	char logs[64][256];             /* the last messages, for messages */
	unsigned msgid_count[16];
	unsigned profit_ticks;          /* the next samples' general_profit is profit */
	int64_t profit;
} w;

static const char *const watched_ids[] = { MSGID_KSM_UNAVAILABLE, MSGID_WRITE_REJECTED, MSGID_NEGATIVE_PROFIT,
					   MSGID_MAP_COUNT, MSGID_NUMA_MERGE, MSGID_NOTHING_TO_MERGE,
					   MSGID_FOREIGN_CHANGE, MSGID_KSM_STARTED, MSGID_KSM_STOPPED,
					   MSGID_INSPECT_STALE, MSGID_HISTORY };
enum { ID_UNAVAIL, ID_REJECTED, ID_PROFIT, ID_MAPS, ID_NUMA, ID_IDLE, ID_FOREIGN, ID_STARTED, ID_STOPPED,
       ID_INSPECT, ID_HISTORY };

static void sink(int prio, const char *msgid, const char *msg, void *ud)
{
	(void)prio;
	(void)ud;
	snprintf(w.logs[w.log_count % 64], sizeof(w.logs[0]), "%s", msg);
	w.log_count++;
	for (size_t i = 0; msgid && i < sizeof(watched_ids) / sizeof(watched_ids[0]); i++)
		if (strcmp(msgid, watched_ids[i]) == 0)
			w.msgid_count[i]++;
	if (getenv("KSMPILOT_TRACE"))
		fprintf(stderr, "log: %s\n", msg);
}

/* messages containing s among the last 64 */
static unsigned logged(const char *s)
{
	unsigned n = 0, from = w.log_count > 64 ? w.log_count - 64 : 0;

	for (unsigned i = from; i < w.log_count; i++)
		if (strstr(w.logs[i % 64], s))
			n++;
	return n;
}

/* the last of the last 64 messages that contains s, or NULL */
static const char *last_logged(const char *s)
{
	unsigned from = w.log_count > 64 ? w.log_count - 64 : 0;

	for (unsigned i = w.log_count; i > from; i--)
		if (strstr(w.logs[(i - 1) % 64], s))
			return w.logs[(i - 1) % 64];
	return NULL;
}

static ssize_t fake_read(int fd, char *buf, size_t len, enum ksm_item item)
{
	(void)fd;
	w.reads[item]++;
	if (w.read_errno)
		return -w.read_errno;
	if (w.garbage && item == w.garbage_item)
		return snprintf(buf, len, "garbage");
	if (!ksm_values_has(&w.cur.ksm, item)) {
		if (item == KSM_MERGE_ACROSS_NODES)
			return snprintf(buf, len, "%d", w.merge_across_nodes);
		if (item == KSM_ADVISOR_MODE)
			return snprintf(buf, len, "[none] scan-time");
		return snprintf(buf, len, "0");
	}
	if (item == KSM_RUN && w.offlining)
		return snprintf(buf, len, "%" PRId64, w.cur.ksm.v[item] | KSM_RUN_OFFLINE);
	if (item == KSM_RUN && w.unmerge)
		return snprintf(buf, len, "2");
	if ((item == KSM_PAGES_SHARED || item == KSM_PAGES_SHARING || item == KSM_PAGES_UNSHARED) && w.unmerge)
		return snprintf(buf, len, "%" PRId64,
				w.unmerge != 1 ? 0 : w.cur.ksm.v[item] > 0 ? w.cur.ksm.v[item] : 1);
	if (item == KSM_ZERO_PAGES && w.unmerge)
		return snprintf(buf, len, "%d", w.unmerge == 3 ? 100 : 0);
	if (item == KSM_ADVISOR_MODE) /* as written since the plant's sample */
		return snprintf(buf, len, "%s", w.p.advisor ? "none [scan-time]" : "[none] scan-time");
	return snprintf(buf, len, "%" PRId64, w.cur.ksm.v[item]);
}

static int fake_write(int dirfd, const char *name, const char *buf, size_t len, enum ksm_item item)
{
	int64_t v = 0;

	(void)dirfd;
	(void)name;
	(void)len;
	if (w.write_errno[item])
		return -w.write_errno[item];
	if (item == KSM_PAGES_TO_SCAN && w.p.advisor)
		return -EINVAL; /* as the kernel while advisor_mode=scan-time */
	w.writes[item]++;
	if (item != KSM_ADVISOR_MODE)
		parse_i64(buf, 0, INT64_MAX, &v);
	switch (item) {
	case KSM_RUN:
		w.p.run = (int)v;
		w.unmerge = 0; /* after it, if under way: the write waited for it */
		break;
	case KSM_PAGES_TO_SCAN:
		w.p.pages_to_scan = (uint64_t)v;
		break;
	case KSM_SLEEP_MILLISECS:
		w.p.sleep_ms = (uint64_t)v;
		break;
	case KSM_MERGE_ACROSS_NODES:
		w.merge_across_nodes = (int)v;
		break;
	case KSM_ADVISOR_MODE:
		/* a switch resets pages_to_scan, as the kernel does */
		w.p.advisor = strncmp(buf, "scan-time", 9) == 0;
		w.p.pages_to_scan = w.p.advisor ? (uint64_t)w.p.advisor_min_pages : 100;
		break;
	default:
		break;
	}
	return 0;
}

static const struct ksm_io fake_io = { fake_read, fake_write };

static int fake_meminfo(void *ctx, struct meminfo_values *out)
{
	(void)ctx;
	if (w.meminfo_errno)
		return -w.meminfo_errno;
	out->total = w.cur.mem_total;
	out->available = w.cur.mem_available;
	out->free = w.cur.mem_free;
	out->anon = w.cur.anon;
	out->have_anon = w.cur.have_anon;
	return 0;
}

static int fake_find_ksmd(void *ctx, int *pid)
{
	(void)ctx;
	if (w.ksmd_hidden)
		return -ESRCH;
	*pid = 42;
	return 0;
}

static int fake_ticks(void *ctx, int pid, uint64_t *ticks)
{
	(void)ctx;
	if (w.ksmd_hidden || pid != 42)
		return -ESRCH;
	*ticks = (uint64_t)(w.p.ksmd_cpu * 100.0);
	return 0;
}

static int fake_guests(void *ctx, struct search_re *re, uint64_t budget_us, bool restart, struct guest_usage *out)
{
	(void)ctx;
	(void)re;
	(void)budget_us;
	(void)restart;
	if (w.guest_errno)
		return -w.guest_errno;
	out->rss = 0;
	out->count = 0;
	return 0;
}

static const struct proc_ops fake_proc = { fake_meminfo, fake_find_ksmd, fake_ticks, fake_guests, NULL, NULL };

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* The world's configuration: its [daemon] lines, then EXTRA. */
static void put_conf(const char *extra)
{
	char text[1024];

	snprintf(text, sizeof(text), "[daemon]\ninterval = 1s\nstate_dir = %s\nlog_level = info\n%s\n", w.state, extra);
	put(w.conf, text);
}

static void world_init(double total, double avail, const char *conf_extra)
{
	char path[400];
	static const char *const files[] = {
		"run", "pages_to_scan", "sleep_millisecs", "merge_across_nodes", "use_zero_pages",
		"max_page_sharing", "smart_scan", "advisor_mode", "pages_shared", "pages_sharing",
		"pages_unshared", "pages_volatile", "full_scans", "pages_scanned", "pages_skipped",
		"general_profit", "ksm_zero_pages",
	};

	memset(&w, 0, sizeof(w));
	/* tmpfs, like /run: the state file is renamed into place every 10-30 s */
	snprintf(w.dir, sizeof(w.dir), "%s/ksmpilot-test-pilot.XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	assert_non_null(mkdtemp(w.dir));
	snprintf(w.ksm, sizeof(w.ksm), "%s/ksm", w.dir);
	snprintf(w.state, sizeof(w.state), "%s/state", w.dir);
	snprintf(w.proc, sizeof(w.proc), "%s/proc", w.dir);
	snprintf(w.numa, sizeof(w.numa), "%s/node", w.dir);
	snprintf(w.conf, sizeof(w.conf), "%s/k.conf", w.dir);
	snprintf(w.psi, sizeof(w.psi), "%s/psi", w.dir); /* absent unless a test writes it */
	assert_int_equal(mkdir(w.ksm, 0755), 0);
	assert_int_equal(mkdir(w.proc, 0755), 0);
	assert_int_equal(mkdir(w.numa, 0755), 0);
	/* the files must exist for ksm_open; their content comes from the plant */
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", w.ksm, files[i]);
		put(path, "0\n");
	}
	snprintf(path, sizeof(path), "%s/node0", w.numa);
	assert_int_equal(mkdir(path, 0755), 0);
	plant_init(&w.p, total, avail);
	w.merge_across_nodes = 1;
	plant_sample(&w.p, &w.cur);
	put_conf(conf_extra ? conf_extra : "");
	log_set_sink(sink, NULL);
	log_set_level(LOG_INFO);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void world_fini(void)
{
	log_set_sink(NULL, NULL);
	nftw(w.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static struct pilot *start(int expect_rc)
{
	static struct pilot_env env;
	struct daemon_opts o = { 0 };
	struct cfg_errors *errs = calloc(1, sizeof(*errs));
	struct cfg cfg;
	struct pilot *p = NULL;
	int rc;

	assert_non_null(errs);
	assert_int_equal(cfg_load(w.conf, true, &cfg, errs), 0);
	free(errs);
	o.config_path = w.conf;
	o.config_explicit = true;
	o.sysfs_dir = w.ksm;
	o.psi_path = w.psi;
	env.ksm_io = &fake_io;
	env.proc_ops = &fake_proc;
	env.proc_ctx = NULL;
	env.numa_dir = w.numa;
	env.offline_wait_ms = 300; /* not a stop's 10 s */
	rc = pilot_new(&p, &o, &cfg, &env);
	assert_int_equal(rc, expect_rc);
	return p;
}

static uint64_t clock_us = 1000000;

/* One tick: the plant shows its state, the pilot decides, the plant runs
 * one interval. dt_s: how long the plant runs before the next tick. */
static void tick(struct pilot *p, double dt_s)
{
	plant_sample(&w.p, &w.cur);
	w.cur.ksm.present |= KSM_BIT(KSM_MERGE_ACROSS_NODES);
	w.cur.ksm.v[KSM_MERGE_ACROSS_NODES] = w.merge_across_nodes;
	if (w.profit_ticks) {
		w.cur.ksm.v[KSM_GENERAL_PROFIT] = w.profit;
		w.profit_ticks--;
	}
	pilot_tick(p, clock_us);
	plant_advance(&w.p, dt_s);
	clock_us += (uint64_t)(dt_s * 1e6);
}

/* Seconds within which the state file and the textfile are rewritten, busy
 * or not. */
#define REWRITE_S (STATE_REFRESH_IDLE_MS / 1000 + 5)

static void ticks(struct pilot *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		tick(p, 1.0);
}

static void assert_knobs_in_bounds(const struct pilot *p)
{
	const struct cfg *c = pilot_cfg(p);

	assert_true(w.p.run == 0 || w.p.run == 1);
	if (w.p.run == 1 && pilot_last_decision(p)) {
		assert_true(w.p.pages_to_scan >= c->pages_to_scan_min && w.p.pages_to_scan <= c->pages_to_scan_max);
		assert_true(w.p.sleep_ms >= c->sleep_ms_min && w.p.sleep_ms <= c->sleep_ms_max);
	}
}

static void add_guest(double mib)
{
	plant_add(&w.p, REGION_MERGEABLE, 1, mib * MiB * 0.6);
	plant_add(&w.p, REGION_UNIQUE, 0, mib * MiB * 0.3);
	plant_add(&w.p, REGION_VOLATILE, 0, mib * MiB * 0.1);
}

/* ---- faults --------------------------------------------------------------------- */

/* The knobs written so far. */
static unsigned knob_writes(void)
{
	return w.writes[KSM_RUN] + w.writes[KSM_PAGES_TO_SCAN] + w.writes[KSM_SLEEP_MILLISECS];
}

/* A daemon that merges a guest, ten ticks in. */
static struct pilot *start_merging(void)
{
	struct pilot *p;

	world_init(24 * GiB, 4 * GiB, NULL);
	p = start(EXIT_OK);
	add_guest(256);
	ticks(p, 10);
	assert_int_equal(w.p.run, 1);
	return p;
}

/* The reason the state file gives now. */
static void expect_reason(const char *want, bool equal)
{
	struct state_kv *kv = calloc(1, sizeof(*kv));
	char path[400];

	assert_non_null(kv);
	snprintf(path, sizeof(path), "%s/state", w.state);
	assert_int_equal(state_read(path, kv), 0);
	if (equal)
		assert_string_equal(state_get(kv, "reason"), want);
	else
		assert_string_not_equal(state_get(kv, "reason"), want);
	free(kv);
}

/* The KSM directory vanishes mid-run: hold, logged once, and back. */
static void test_ksm_vanishes(void **state)
{
	struct pilot *p;
	unsigned writes;

	(void)state;
	p = start_merging();
	w.read_errno = ENODEV;
	writes = knob_writes();
	ticks(p, 200);
	assert_int_equal(w.msgid_count[ID_UNAVAIL], 1);
	assert_int_equal(logged("cannot read the KSM counters"), 1);
	/* nothing written while blind */
	assert_int_equal(knob_writes(), writes);
	/* but alive, and holding, for the state file and the metrics */
	expect_reason("hold", true);
	w.read_errno = 0;
	ticks(p, 1);
	expect_reason("hold", false); /* at once, not at the next refresh */
	ticks(p, 4);
	assert_int_equal(logged("inputs readable again"), 1);
	assert_knobs_in_bounds(p);
	assert_true(pilot_stop(p));
	pilot_free(p);
	world_fini();
}

/* Writes rejected with EIO and EINVAL: logged once per knob, counted. */
static void test_write_errors(void **state)
{
	struct pilot *p;
	char want[PATH_MAX + 128];
	uint64_t sleep0;

	(void)state;
	world_init(24 * GiB, 4 * GiB, NULL);
	sleep0 = w.p.sleep_ms;
	p = start(EXIT_OK);
	add_guest(256);
	w.write_errno[KSM_PAGES_TO_SCAN] = EINVAL;
	w.write_errno[KSM_SLEEP_MILLISECS] = EIO;
	for (unsigned i = 0; i < 300 && !w.msgid_count[ID_REJECTED]; i++)
		tick(p, 1.0);
	/* the message names the value refused, the one this tick decided */
	assert_non_null(pilot_last_decision(p));
	snprintf(want, sizeof(want), "the kernel rejected a write of %" PRIu64 " to %s/pages_to_scan: ",
		 pilot_last_decision(p)->pages_to_scan, w.ksm);
	assert_int_equal(logged(want), 1);
	ticks(p, 300);
	assert_int_equal(w.msgid_count[ID_REJECTED], 1); /* the first failing knob stops the write */
	assert_int_equal(logged("advisor"), 1);           /* EINVAL on pages_to_scan names the advisor */
	assert_true(pilot_stats(p)->write_errors >= 300);
	w.write_errno[KSM_PAGES_TO_SCAN] = 0;
	ticks(p, 300);
	assert_int_equal(w.msgid_count[ID_REJECTED], 2); /* sleep_millisecs now, once */
	w.write_errno[KSM_SLEEP_MILLISECS] = 0;
	ticks(p, 5);
	assert_int_equal(w.p.run, 1);
	assert_knobs_in_bounds(p);
	/* on exit too, with the value found at start-up */
	w.write_errno[KSM_SLEEP_MILLISECS] = EIO;
	assert_false(pilot_stop(p));
	snprintf(want, sizeof(want), "on_exit=restore: cannot restore sleep_millisecs=%" PRIu64 ": ", sleep0);
	assert_int_equal(logged(want), 1);
	pilot_free(p);
	world_fini();
	/* a kernel without the advisor (before 6.8): its EINVAL is not blamed on it */
	world_init(24 * GiB, 4 * GiB, NULL);
	snprintf(want, sizeof(want), "%s/advisor_mode", w.ksm);
	assert_int_equal(unlink(want), 0);
	p = start(EXIT_OK);
	add_guest(256);
	w.write_errno[KSM_PAGES_TO_SCAN] = EINVAL;
	for (unsigned i = 0; i < 300 && !w.msgid_count[ID_REJECTED]; i++)
		tick(p, 1.0);
	assert_int_equal(w.msgid_count[ID_REJECTED], 1);
	assert_int_equal(logged("advisor rejects it"), 0);
	pilot_free(p);
	world_fini();
}

/* merge_across_nodes = keep (the default) leaves the knob alone, on exit
 * too: an admin's change while the daemon runs stays. */
static void test_merge_across_nodes_keep(void **state)
{
	struct pilot *p;

	(void)state;
	world_init(24 * GiB, 4 * GiB, NULL);
	w.merge_across_nodes = 1;
	p = start(EXIT_OK);
	ticks(p, 5);
	w.merge_across_nodes = 0; /* the admin's, with nothing merged */
	ticks(p, 5);
	assert_true(pilot_stop(p));
	assert_int_equal(w.merge_across_nodes, 0);
	assert_int_equal(w.writes[KSM_MERGE_ACROSS_NODES], 0);
	pilot_free(p);
	world_fini();
	/* a run with keep dies (its snapshot stays, without the knob); the
	 * next, with merge_across_nodes = 0, writes it, and its stop puts
	 * back the value found */
	world_init(24 * GiB, 20 * GiB, NULL);
	w.merge_across_nodes = 1;
	p = start(EXIT_OK);
	ticks(p, 3);
	pilot_free(p); /* no stop: as a SIGKILL */
	put_conf("[kernel]\nmerge_across_nodes = 0\n");
	p = start(EXIT_OK);
	ticks(p, 3);
	assert_int_equal(w.merge_across_nodes, 0);
	assert_true(pilot_stop(p));
	assert_int_equal(w.merge_across_nodes, 1);
	pilot_free(p);
	world_fini();
}

/* A snapshot that an instance of an earlier boot left in a state_dir that
 * outlives a boot: the boot reset the knobs it holds, so the stop does not
 * write them back; one of this boot is restored from. */
static void test_snapshot_of_an_earlier_boot(void **state)
{
	char boot[KSM_BOOT_ID_MAX + 1], path[400], text[256];
	struct pilot *p;

	(void)state;
	boot_id_read(boot, sizeof(boot));
	if (!boot[0])
		skip(); /* no /proc/sys/kernel/random/boot_id here */
	for (int same = 0; same <= 1; same++) {
		world_init(24 * GiB, 20 * GiB, NULL);
		assert_int_equal(mkdir(w.state, 0755), 0);
		snprintf(path, sizeof(path), "%s/snapshot", w.state);
		snprintf(text, sizeof(text),
			 "# ksmpilot snapshot v1\npid=4242\ntime=1\nboot_id=%s\nrun=0\nsleep_millisecs=1234\n",
			 same ? boot : strcmp(boot, "0") ? "0" : "1");
		put(path, text);
		assert_int_equal(chmod(path, 0644), 0);
		p = start(EXIT_OK);
		assert_int_equal(logged("taken before the last boot"), same ? 0 : 1);
		assert_int_equal(logged("found the snapshot of a previous run (pid 4242)"), same ? 1 : 0);
		if (!same) { /* the new one names this boot, so that the next boot ignores it */
			char *snap, want[64];
			size_t len;
			assert_int_equal(read_file(path, 4096, &snap, &len), 0);
			snprintf(want, sizeof(want), "\nboot_id=%s\n", boot);
			assert_non_null(strstr(snap, want));
			free(snap);
		}
		ticks(p, 3);
		assert_true(pilot_stop(p));
		assert_int_equal(w.p.sleep_ms, same ? 1234 : 20);
		pilot_free(p);
		world_fini();
	}
}

/* merge_across_nodes = 0 asked while pages are merged: EBUSY, reported
 * clearly, nothing unmerged, the daemon runs on. */
static void test_merge_across_nodes_busy(void **state)
{
	struct pilot *p;
	char snap[PATH_MAX];

	(void)state;
	world_init(24 * GiB, 4 * GiB, "[kernel]\nmerge_across_nodes = 0");
	w.write_errno[KSM_MERGE_ACROSS_NODES] = EBUSY;
	p = start(EXIT_OK);
	assert_int_equal(w.msgid_count[ID_REJECTED], 1);
	assert_int_equal(logged("only while no page is merged"), 1);
	assert_int_equal(w.writes[KSM_RUN], 0); /* no run=2 to force it */
	ticks(p, 3);
	pilot_stop(p);
	pilot_free(p);
	/* and when nothing is merged, it is applied */
	world_init(24 * GiB, 4 * GiB, "[kernel]\nmerge_across_nodes = 0");
	p = start(EXIT_OK);
	assert_int_equal(w.merge_across_nodes, 0);
	assert_int_equal(logged("merge_across_nodes set to 0"), 1);
	/* Pages merged since: on_exit=restore cannot put 1 back (EBUSY), and
	 * leaves 0 with a notice; the exit is clean and the snapshot goes. */
	add_guest(256);
	ticks(p, 60);
	w.write_errno[KSM_MERGE_ACROSS_NODES] = EBUSY;
	snprintf(snap, sizeof(snap), "%s/snapshot", w.state);
	assert_int_equal(access(snap, F_OK), 0);
	assert_true(pilot_stop(p));
	assert_int_equal(logged("on_exit=restore: merge_across_nodes left at 0, not restored to 1: pages are merged"), 1);
	assert_int_equal(w.msgid_count[ID_REJECTED], 0);
	assert_int_equal(logged("on_exit=restore: knobs restored"), 1);
	assert_int_equal(access(snap, F_OK), -1);
	assert_int_equal(w.merge_across_nodes, 0);
	pilot_free(p);
	/* memory going offline at start-up, and past the wait: the write
	 * would wait in the kernel until it is done, so none is made */
	world_init(24 * GiB, 4 * GiB, "[kernel]\nmerge_across_nodes = 0");
	w.offlining = true;
	p = start(EXIT_OK);
	assert_int_equal(w.writes[KSM_MERGE_ACROSS_NODES], 0);
	assert_int_equal(w.merge_across_nodes, 1);
	assert_int_equal(logged("merge_across_nodes = 0 not written: memory is still going offline"), 1);
	w.offlining = false;
	ticks(p, 3);
	pilot_stop(p);
	pilot_free(p);
	world_fini();
}

/* The kernel busy (memory going offline, or an unmerge someone asked
 * for), or done: the world's faults for it. */
static void offline_busy(bool on)
{
	w.offlining = on;
}

static void unmerge_busy(bool on)
{
	w.unmerge = on ? 1 : 2; /* done: run reads 2, nothing merged */
}

/* A stop while the kernel stays busy past the wait: nothing written, the
 * snapshot kept for --restore; then the world ends. */
static void stop_while_busy(struct pilot *p, void (*busy)(bool), const char *still)
{
	unsigned writes;

	busy(true);
	ticks(p, 2);
	writes = knob_writes();
	assert_false(pilot_stop(p));
	assert_int_equal(knob_writes(), writes);
	assert_int_equal(logged(still), 1);
	assert_int_equal(access(strcat(strcpy((char[400]){ 0 }, w.state), "/snapshot"), F_OK), 0);
	pilot_free(p);
	world_fini();
}

/* ksmd stopped, its counters read once a minute: the kernel busy
 * meanwhile, then pressure; run is read again before it is written, and
 * not written while the kernel is busy, nor taken for written (no change
 * by someone else seen once it is done). */
static void busy_while_stopped(void (*busy)(bool), unsigned foreign)
{
	struct pilot *p;
	unsigned writes;

	world_init(24 * GiB, 20 * GiB, NULL);
	p = start(EXIT_OK);
	ticks(p, 30);
	assert_int_equal(w.p.run, 0);
	writes = w.writes[KSM_RUN];
	busy(true);
	w.p.base_available = 2 * GiB;
	ticks(p, 20);
	assert_int_equal(w.writes[KSM_RUN], writes);
	busy(false);
	ticks(p, 70);
	assert_int_equal(w.p.run, 1);
	assert_int_equal(w.msgid_count[ID_FOREIGN], foreign);
	assert_true(pilot_stop(p));
	pilot_free(p);
	world_fini();
}

/* Memory going offline mid-run: run reads 5, and a write of run would wait
 * in the kernel until the offline is done. Nothing is written, and no
 * change by someone else is seen, until run reads 0..2 again. */
static void test_memory_offline(void **state)
{
	struct pilot *p;
	unsigned writes;

	(void)state;
	p = start_merging();
	w.offlining = true;
	writes = knob_writes();
	ticks(p, 60);
	assert_int_equal(knob_writes(), writes);
	assert_int_equal(logged("memory is going offline"), 1);
	assert_int_equal(w.msgid_count[ID_FOREIGN], 0);
	expect_reason("hold", true);
	w.offlining = false;
	ticks(p, 4);
	assert_int_equal(logged("memory offline done"), 1);
	assert_int_equal(w.msgid_count[ID_FOREIGN], 0);
	assert_int_equal(w.p.run, 1);
	assert_knobs_in_bounds(p);
	stop_while_busy(p, offline_busy, "memory is still going offline");
	busy_while_stopped(offline_busy, 0);
}

/* Someone unmerges (run=2) while pages are merged: the kernel holds its
 * lock for the whole unmerge, and a write of run waits for it in D state.
 * The daemon holds meanwhile; once nothing is merged, run=2 is someone
 * else's change, which it sets back. A stop during an unmerge that lasts
 * writes nothing and keeps the snapshot. */
static void test_unmerge_under_way(void **state)
{
	struct pilot *p;
	unsigned writes;

	(void)state;
	p = start_merging();
	w.unmerge = 1;
	writes = knob_writes();
	ticks(p, 30);
	w.unmerge = 3; /* only pages merged with the zero page left: not done */
	ticks(p, 30);
	assert_int_equal(knob_writes(), writes);
	assert_int_equal(logged("an unmerge (run=2) is under way"), 1);
	assert_int_equal(w.msgid_count[ID_FOREIGN], 0);
	expect_reason("hold", true);
	w.unmerge = 2;
	ticks(p, 4);
	assert_int_equal(logged("unmerge done"), 1);
	assert_int_equal(w.msgid_count[ID_FOREIGN], 1);
	assert_int_equal(w.unmerge, 0);
	assert_int_equal(w.p.run, 1);
	stop_while_busy(p, unmerge_busy, "an unmerge (run=2) is still under way");
	/* once done, run=2 is someone's change: the one foreign change */
	busy_while_stopped(unmerge_busy, 1);
	/* an unmerge that ended while the counters were carried over: ksmd
	 * starts at the first tick short of memory, not at the next read */
	world_init(24 * GiB, 20 * GiB, NULL);
	p = start(EXIT_OK);
	ticks(p, 31);
	w.unmerge = 2;
	w.p.base_available = 2 * GiB;
	ticks(p, 1);
	assert_int_equal(w.p.run, 1);
	assert_true(pilot_stop(p));
	pilot_free(p);
	world_fini();
}

/* Counters read garbage, go backwards, wrap: no crash, bounds hold. */
static void test_counter_garbage_and_resets(void **state)
{
	struct pilot *p;

	(void)state;
	world_init(24 * GiB, 4 * GiB, NULL);
	p = start(EXIT_OK);
	add_guest(512);
	ticks(p, 30);
	w.garbage = true;
	w.garbage_item = KSM_PAGES_SHARING;
	ticks(p, 50);
	assert_int_equal(logged("cannot read the KSM counters"), 1);
	w.garbage = false;
	ticks(p, 5);
	/* counters reset to zero (as after a kernel module reload) and jump */
	w.p.pages_scanned = 0;
	w.p.full_scans = 0;
	ticks(p, 5);
	w.p.pages_scanned = 1e18;
	ticks(p, 5);
	assert_knobs_in_bounds(p);
	pilot_stop(p);
	pilot_free(p);
	world_fini();
}

/* ksmd cannot be found: degraded mode, logged once, CPU estimated. */
static void test_ksmd_hidden(void **state)
{
	struct pilot *p;

	(void)state;
	world_init(24 * GiB, 4 * GiB, NULL);
	w.ksmd_hidden = true;
	p = start(EXIT_OK);
	add_guest(256);
	ticks(p, 200);
	assert_int_equal(logged("ksmd is not visible"), 1);
	assert_true(pilot_last_decision(p)->estimated_cpu);
	assert_true(w.p.run == 1);
	pilot_stop(p);
	pilot_free(p);
	world_fini();
}

/* /proc/meminfo unreadable mid-run: hold, logged once; at start-up: exit 1. */
static void test_meminfo_unreadable(void **state)
{
	struct pilot *p;

	(void)state;
	world_init(24 * GiB, 4 * GiB, NULL);
	p = start(EXIT_OK);
	ticks(p, 5);
	w.meminfo_errno = EIO;
	ticks(p, 100);
	assert_int_equal(logged("cannot read /proc/meminfo"), 1);
	w.meminfo_errno = 0;
	ticks(p, 3);
	pilot_stop(p);
	pilot_free(p);
	world_fini();
	world_init(24 * GiB, 4 * GiB, NULL);
	w.meminfo_errno = EACCES;
	start(EXIT_RUNTIME);
	world_fini();
}

/* The clock jumps (a tick minutes or days late, after a suspend): no
 * windup, no derivative kick, bounds hold. */
static void test_clock_jumps(void **state)
{
	struct pilot *p;
	double i0;

	(void)state;
	world_init(24 * GiB, 4 * GiB, NULL);
	p = start(EXIT_OK);
	add_guest(256);
	ticks(p, 60);
	i0 = pilot_last_decision(p)->t.i;
	clock_us += 3ULL * 86400 * 1000000; /* three days asleep */
	tick(p, 1.0);
	assert_true(fabs(pilot_last_decision(p)->t.i - i0) < 0.05);
	clock_us += 5ULL * 60 * 1000000; /* five minutes late */
	tick(p, 1.0);
	assert_knobs_in_bounds(p);
	ticks(p, 10);
	assert_knobs_in_bounds(p);
	pilot_stop(p);
	pilot_free(p);
	world_fini();
}

/* ---- hazards ------------------------------------------------------------------- */

static void test_hazard_numa(void **state)
{
	struct pilot *p;
	struct state_kv *kv = calloc(1, sizeof(*kv));
	char path[400];

	(void)state;
	assert_non_null(kv);
	world_init(24 * GiB, 4 * GiB, NULL);
	snprintf(path, sizeof(path), "%s/node1", w.numa);
	assert_int_equal(mkdir(path, 0755), 0);
	p = start(EXIT_OK);
	assert_int_equal(w.msgid_count[ID_NUMA], 1);
	ticks(p, 30);
	assert_int_equal(w.msgid_count[ID_NUMA], 1);
	snprintf(path, sizeof(path), "%s/state", w.state);
	assert_int_equal(state_read(path, kv), 0);
	assert_string_equal(state_get(kv, "hazard_numa_merge"), "1");
	assert_string_equal(state_get(kv, "numa_nodes"), "2");
	/* an admin sets merge_across_nodes = 0 while the daemon runs, and 1
	 * again: the hazard follows, and is warned of once more */
	w.merge_across_nodes = 0;
	ticks(p, 60);
	assert_int_equal(state_read(path, kv), 0);
	assert_string_equal(state_get(kv, "hazard_numa_merge"), "0");
	assert_int_equal(logged("merge_across_nodes=0 now: merges stay within a NUMA node"), 1);
	w.merge_across_nodes = 1;
	ticks(p, 60);
	assert_int_equal(state_read(path, kv), 0);
	assert_string_equal(state_get(kv, "hazard_numa_merge"), "1");
	assert_int_equal(w.msgid_count[ID_NUMA], 2);
	pilot_stop(p);
	pilot_free(p);
	world_fini();

	/* merge_across_nodes = 0 set by the daemon at start-up: no warning
	 * from the value read before the write */
	world_init(24 * GiB, 4 * GiB, "[kernel]\nmerge_across_nodes = 0");
	snprintf(path, sizeof(path), "%s/node1", w.numa);
	assert_int_equal(mkdir(path, 0755), 0);
	p = start(EXIT_OK);
	assert_int_equal(w.merge_across_nodes, 0);
	ticks(p, 30);
	assert_int_equal(w.msgid_count[ID_NUMA], 0);
	snprintf(path, sizeof(path), "%s/state", w.state);
	assert_int_equal(state_read(path, kv), 0);
	assert_string_equal(state_get(kv, "hazard_numa_merge"), "0");
	pilot_stop(p);
	pilot_free(p);
	world_fini();
	free(kv);
}

/* general_profit < 0 is a hazard once ksmd has been over everything twice
 * (a pair merges at its second visit at the earliest), and it stayed so for
 * 10 minutes: once per episode. */
static void test_hazard_negative_profit(void **state)
{
	struct pilot *p;
	int64_t scans0 = -1;
	unsigned t, neg;

	(void)state;
	/* one idle scan every 30 minutes: a new count of two full scans would
	 * take longer than the 10 minutes that end an episode */
	world_init(24 * GiB, 4 * GiB, "[controller]\nidle_scan_period = 30min");
	/* memory that never merges: rmap items cost, nothing saved */
	plant_add(&w.p, REGION_UNIQUE, 0, 512 * MiB);
	p = start(EXIT_OK);
	for (t = 0; t < 3600; t++) {
		tick(p, 1.0);
		if (scans0 < 0 && w.cur.ksm.v[KSM_GENERAL_PROFIT] < 0)
			scans0 = w.cur.ksm.v[KSM_FULL_SCANS];
		if (scans0 >= 0 && w.cur.ksm.v[KSM_FULL_SCANS] - scans0 >= 2)
			break;
	}
	assert_true(t < 3600);
	ticks(p, 9 * 60);
	assert_int_equal(w.msgid_count[ID_PROFIT], 0); /* not yet 10 minutes */
	ticks(p, 120);
	assert_int_equal(w.msgid_count[ID_PROFIT], 1);
	assert_int_equal(logged("general_profit has stayed negative over two full scans and 10 minutes"), 1);
	/* a sample at or above 0 within the episode (the counters are read
	 * every 10 s while ksmd idles: 12 s of it) neither ends it nor starts
	 * the count of two full scans again */
	w.profit_ticks = 12;
	w.profit = 4096;
	ticks(p, 15 * 60);
	assert_int_equal(logged("positive again"), 0);
	assert_true(pilot_last_sample(p)->ksm.v[KSM_GENERAL_PROFIT] < 0);
	ticks(p, 3600);
	assert_int_equal(w.msgid_count[ID_PROFIT], 1); /* once per episode */
	pilot_stop(p);
	pilot_free(p);
	world_fini();

	/* A large arrival that merges, at a cap of 1% of a core: its rmap
	 * items cost before it saves, for longer than 10 minutes, during its
	 * first two full scans, and that is no hazard. */
	world_init(24 * GiB, 4 * GiB, "[controller]\nmax_cpu = 1\nmax_cpu_burst = 1");
	p = start(EXIT_OK);
	add_guest(8192);
	for (t = 0; t < 3 * 3600 && w.cur.ksm.v[KSM_GENERAL_PROFIT] >= 0; t++)
		tick(p, 1.0);
	scans0 = w.cur.ksm.v[KSM_FULL_SCANS];
	for (neg = 0; t < 3 * 3600 && w.cur.ksm.v[KSM_GENERAL_PROFIT] < 0; t++, neg++)
		tick(p, 1.0);
	if (getenv("KSMPILOT_TRACE"))
		fprintf(stderr, "negative for %u s, over %" PRId64 " full scans\n", neg,
			w.cur.ksm.v[KSM_FULL_SCANS] - scans0);
	assert_true(t < 3 * 3600); /* it came to pay */
	assert_true(neg > HAZARD_HOLD_MS / 1000 + 60); /* longer than the 10 minutes alone would allow */
	assert_int_equal(w.msgid_count[ID_PROFIT], 0);
	pilot_stop(p);
	pilot_free(p);
	world_fini();
}

/* state_dir/processes as ksmpilotctl inspect writes it: one KSM process
 * with vmas of 100 mappings, scanned age seconds ago. */
static void put_processes(int vmas, int64_t age, mode_t mode)
{
	struct procscan_proc proc;
	struct procscan ps = { .max_map_count = 100, .scanned = 50, .n = 1, .procs = &proc };
	char path[400], *text;

	memset(&proc, 0, sizeof(proc));
	ps.time = (int64_t)time(NULL) - age;
	proc.pid = 4242;
	proc.uid = 64055;
	snprintf(proc.comm, sizeof(proc.comm), "qemu-system-x86");
	snprintf(proc.cmdline, sizeof(proc.cmdline), "qemu-system-x86_64 -name guest=vm1");
	proc.present = PS_BIT(PS_RMAP_ITEMS);
	proc.stat[PS_RMAP_ITEMS] = 77;
	proc.have_maps = true;
	proc.maps = (uint64_t)vmas;
	assert_int_equal(procscan_format(&ps, &text), 0);
	mkdir(w.state, 0755);
	snprintf(path, sizeof(path), "%s/processes", w.state);
	assert_int_equal(write_file_replace(path, text, strlen(text), mode, false), 0);
	free(text);
}

static const char *state_value(const char *key)
{
	static struct state_kv kv;
	char path[400];

	snprintf(path, sizeof(path), "%s/state", w.state);
	assert_int_equal(state_read(path, &kv), 0);
	return state_get(&kv, key);
}

/* Nothing changes while ksmd idles: the state file is rewritten every
 * STATE_REFRESH_IDLE_MS (its tick count tells when), not every tick. */
static void test_idle_rewrites_seldom(void **state)
{
	struct pilot *p;
	char first[32];

	(void)state;
	world_init(24 * GiB, 20 * GiB, NULL);
	p = start(EXIT_OK);
	ticks(p, REWRITE_S);
	assert_string_not_equal(state_value("mode"), "active");
	snprintf(first, sizeof(first), "%s", state_value("ticks"));
	ticks(p, STATE_REFRESH_MS / 1000 + 2);
	assert_string_equal(state_value("ticks"), first);
	ticks(p, STATE_REFRESH_IDLE_MS / 1000);
	assert_string_not_equal(state_value("ticks"), first);
	pilot_stop(p);
	pilot_free(p);
	world_fini();
}

/* kernel_advisor = defer: idle, the advisor raises pages_to_scan to its
 * maximum, and its batch every sleep_ms_max costs more than idle_max_cpu.
 * The daemon says so once, and again after a reload that keeps the same
 * bound; not with a sleep_ms_max that keeps the batch within the budget,
 * though still above the idle rate. */
static void defer_world(const char *extra)
{
	world_init(24 * GiB, 4 * GiB, extra);
	w.p.advisor = true;
	w.p.pages_to_scan = 500;
	plant_sample(&w.p, &w.cur);
}

/* Reload with [daemon] lines EXTRA in the world's configuration. */
static void reload_daemon(struct pilot *p, const char *extra)
{
	put_conf(extra);
	assert_int_equal(pilot_reload(p), 0);
}

static void test_defer_floor_told(void **state)
{
	const char *msg = "above the idle budget of 1% (idle_max_cpu), where";
	struct pilot *p;

	(void)state;
	defer_world("kernel_advisor = defer");
	p = start(EXIT_OK);
	add_guest(1024);
	ticks(p, 1200);
	assert_int_equal(w.writes[KSM_PAGES_TO_SCAN], 0);
	assert_int_equal(w.p.sleep_ms, pilot_cfg(p)->sleep_ms_max);
	assert_int_equal(logged(msg), 1);
	ticks(p, 600);
	assert_int_equal(logged(msg), 1);
	assert_int_equal(pilot_reload(p), 0);
	ticks(p, 5);
	assert_int_equal(logged(msg), 2);
	pilot_stop(p);
	pilot_free(p);
	world_fini();

	/* the advisor at its maximum already: the share measured while merging
	 * is not the idle one; told only once it was measured idle */
	defer_world("kernel_advisor = defer");
	w.p.pages_to_scan = 30000;
	p = start(EXIT_OK);
	add_guest(1024);
	for (int i = 0; i < 600 && !(pilot_last_decision(p) && pilot_last_decision(p)->mode == CTL_MODE_IDLE); i++)
		ticks(p, 1);
	assert_int_equal(pilot_last_decision(p)->mode, CTL_MODE_IDLE);
	assert_int_equal(logged(msg), 0);
	for (int i = 0; i < 1200 && !logged(msg); i++)
		ticks(p, 1);
	assert_int_equal(logged(msg), 1);
	pilot_stop(p);
	pilot_free(p);
	world_fini();

	/* the sleep cannot be written: ksmd does not sleep sleep_ms_max, and
	 * what it costs is not the advisor's batch at that sleep */
	defer_world("kernel_advisor = defer");
	w.write_errno[KSM_SLEEP_MILLISECS] = EIO;
	w.p.run = 1; /* started by someone else, at the kernel's sleep */
	p = start(EXIT_OK);
	add_guest(1024);
	ticks(p, 1200);
	assert_int_equal(pilot_last_decision(p)->mode, CTL_MODE_IDLE);
	assert_true(w.p.sleep_ms < pilot_cfg(p)->sleep_ms_max);
	assert_int_equal(logged(msg), 0);
	pilot_stop(p);
	pilot_free(p);
	world_fini();

	/* 30000 pages every 10 s: seven times the idle rate, but within the budget */
	defer_world("kernel_advisor = defer\n[scan]\nsleep_ms_max = 10000");
	p = start(EXIT_OK);
	add_guest(1024);
	ticks(p, 1800);
	assert_int_equal(w.writes[KSM_PAGES_TO_SCAN], 0);
	assert_int_equal(w.p.pages_to_scan, 30000);
	assert_int_equal(w.p.sleep_ms, 10000);
	assert_int_equal(logged(msg), 0);
	pilot_stop(p);
	pilot_free(p);
	world_fini();
}

/* A reload from takeover to defer gives back the advisor this daemon
 * switched off: on again, pages_to_scan left to it, no write refused and
 * nothing taken for a foreign change. A reload to a dry run: a knob
 * changed after it is not someone else's change to set back. */
/* The advisor on at start-up, and kernel_advisor = takeover: switched off
 * by the tick that starts scanning for a guest, within SECONDS. */
static struct pilot *advisor_taken(unsigned seconds)
{
	struct pilot *p;

	defer_world(NULL);
	p = start(EXIT_OK);
	add_guest(1024);
	ticks(p, seconds);
	assert_false(w.p.advisor);
	return p;
}

/* A reload to takeover switches the advisor off and writes pages_to_scan;
 * run, 1 already, is not written again: a write of run, even of the value
 * it has, waits in the kernel for memory going offline or an unmerge. */
static void test_takeover_writes_no_run_again(void **state)
{
	struct pilot *p;
	unsigned run_writes;

	(void)state;
	defer_world("kernel_advisor = defer\n");
	p = start(EXIT_OK);
	add_guest(512);
	ticks(p, 30);
	assert_int_equal(w.p.run, 1);
	assert_true(w.p.advisor);
	run_writes = w.writes[KSM_RUN];
	reload_daemon(p, "kernel_advisor = takeover\n");
	ticks(p, 2);
	assert_false(w.p.advisor);
	assert_int_equal(w.p.run, 1);
	assert_int_equal(w.writes[KSM_RUN], run_writes);
	assert_true(pilot_stop(p));
	pilot_free(p);
	world_fini();
}

static void test_reload_to_defer(void **state)
{
	struct pilot *p;
	unsigned pages_writes;

	(void)state;
	p = advisor_taken(60);
	assert_true(w.writes[KSM_PAGES_TO_SCAN] > 0);
	reload_daemon(p, "kernel_advisor = defer\n");
	assert_true(w.p.advisor);
	assert_int_equal(logged("kernel advisor switched back on (advisor_mode=scan-time)"), 1);
	pages_writes = w.writes[KSM_PAGES_TO_SCAN];
	add_guest(512);
	ticks(p, 600);
	assert_true(w.p.advisor);
	assert_int_equal(w.writes[KSM_PAGES_TO_SCAN], pages_writes);
	assert_int_equal(w.msgid_count[ID_REJECTED], 0);
	assert_int_equal(w.msgid_count[ID_FOREIGN], 0);
	/* an admin switches it off: under defer, not set back, and not foreign */
	w.p.advisor = false;
	ticks(p, 30);
	assert_false(w.p.advisor);
	assert_int_equal(w.msgid_count[ID_FOREIGN], 0);
	/* a reload to a dry run, then sleep_millisecs changed by hand */
	reload_daemon(p, "kernel_advisor = defer\ndry_run = yes\n");
	w.p.sleep_ms += 7;
	ticks(p, 30);
	assert_int_equal(w.msgid_count[ID_FOREIGN], 0);
	assert_true(pilot_stop(p));
	assert_true(w.p.advisor); /* restored from the snapshot */
	pilot_free(p);
	world_fini();

	/* defer and a dry run in one reload: nothing written, the advisor
	 * stays off; the reload that ends the dry run gives it back */
	p = advisor_taken(60);
	reload_daemon(p, "kernel_advisor = defer\ndry_run = yes\n");
	ticks(p, 10);
	assert_false(w.p.advisor);
	reload_daemon(p, "kernel_advisor = defer\n");
	assert_true(w.p.advisor);
	assert_int_equal(logged("kernel advisor switched back on (advisor_mode=scan-time)"), 1);
	ticks(p, 30);
	assert_int_equal(w.msgid_count[ID_REJECTED], 0);
	assert_true(pilot_stop(p));
	pilot_free(p);
	world_fini();

	/* a reload right after the tick that switched it off, whose sample
	 * still showed it on */
	p = advisor_taken(1);
	assert_int_equal(pilot_last_sample(p)->ksm.v[KSM_ADVISOR_MODE], 1);
	reload_daemon(p, "kernel_advisor = defer\n");
	assert_true(w.p.advisor);
	assert_true(pilot_stop(p));
	pilot_free(p);
	world_fini();
}

/* The map count comes from state_dir/processes: ksmpilotd reads no other
 * process's maps itself. One warning per episode. */
static void test_hazard_map_count(void **state)
{
	struct pilot *p;

	(void)state;
	world_init(24 * GiB, 4 * GiB, NULL);
	put_processes(95, 0, 0600);
	p = start(EXIT_OK);
	ticks(p, 5);
	assert_int_equal(w.msgid_count[ID_MAPS], 1);
	assert_int_equal(logged("process 4242 (qemu-system-x86) uses KSM and has 95 memory mappings, 95% of "
				"vm.max_map_count (100)"), 1);
	ticks(p, REWRITE_S);
	assert_string_equal(state_value("inspect"), "fresh");
	assert_string_equal(state_value("hazard_map_count"), "1");
	assert_string_equal(state_value("map_count_pid"), "4242");
	assert_string_equal(state_value("map_count_comm"), "qemu-system-x86");
	assert_string_equal(state_value("map_count_vmas"), "95");
	/* rewritten every minute, still near: still one warning */
	for (int i = 0; i < 5; i++) {
		put_processes(95, 0, 0600);
		ticks(p, 60);
	}
	assert_int_equal(w.msgid_count[ID_MAPS], 1);
	/* away from the limit: the episode ends */
	put_processes(20, 0, 0600);
	ticks(p, REWRITE_S);
	assert_int_equal(logged("no KSM process is near vm.max_map_count any more"), 1);
	assert_string_equal(state_value("hazard_map_count"), "0");
	assert_null(state_value("map_count_pid")); /* others' mappings are not every user's to read */
	assert_int_equal(w.msgid_count[ID_INSPECT], 0);
	/* near again, then the data goes stale (the timer stopped): the check
	 * is off, so the hazard reads 0 and names no process, without a
	 * word that the process moved away */
	put_processes(95, 0, 0600);
	ticks(p, REWRITE_S);
	assert_string_equal(state_value("hazard_map_count"), "1");
	assert_int_equal(w.msgid_count[ID_MAPS], 2);
	put_processes(95, INSPECT_STALE_S + 100, 0600);
	ticks(p, INSPECT_CHECK_MS / 1000 + REWRITE_S);
	assert_string_equal(state_value("inspect"), "stale");
	assert_string_equal(state_value("hazard_map_count"), "0");
	assert_null(state_value("map_count_pid"));
	assert_int_equal(logged("no KSM process is near vm.max_map_count any more"), 1);
	/* fresh again and still near: a new episode, warned again */
	put_processes(95, 0, 0600);
	ticks(p, INSPECT_CHECK_MS / 1000 + REWRITE_S);
	assert_string_equal(state_value("hazard_map_count"), "1");
	assert_int_equal(w.msgid_count[ID_MAPS], 3);
	pilot_stop(p);
	pilot_free(p);
	world_fini();
}

/* No fresh state_dir/processes (the timer is not running, the file is old,
 * or it is not one root can trust): logged once per episode, after
 * INSPECT_GRACE_MS, with the reason; once more when it is back. */
static void test_inspect_missing_stale_refused(void **state)
{
	struct pilot *p;
	char path[400];
	unsigned grace_ticks = (unsigned)(INSPECT_GRACE_MS / 1000);

	(void)state;
	world_init(24 * GiB, 4 * GiB, NULL);
	p = start(EXIT_OK);
	ticks(p, grace_ticks - 20);
	assert_int_equal(w.msgid_count[ID_INSPECT], 0); /* not at start-up: the timer's first run is due */
	ticks(p, 40);
	assert_int_equal(w.msgid_count[ID_INSPECT], 1);
	assert_int_equal(logged("(missing: no such file)"), 1);
	assert_string_equal(state_value("inspect"), "missing");
	ticks(p, 3600);
	assert_int_equal(w.msgid_count[ID_INSPECT], 1); /* once */

	/* back: logged once, and fresh in the state file at the next check,
	 * not at the idle rewrite of the state file */
	put_processes(10, 0, 0600);
	ticks(p, INSPECT_CHECK_MS / 1000 + 2);
	assert_int_equal(logged("/processes is back"), 1);
	assert_string_equal(state_value("inspect"), "fresh");

	/* stale: a file the timer has not rewritten for long */
	put_processes(10, INSPECT_STALE_S + 100, 0600);
	ticks(p, grace_ticks + 20);
	assert_int_equal(w.msgid_count[ID_INSPECT], 2);
	assert_int_equal(logged("(stale: written 4"), 1);
	assert_string_equal(state_value("inspect"), "stale");

	/* refused: near the limit, but others can write the file: no map
	 * warning from it */
	put_processes(99, 0, 0666);
	ticks(p, REWRITE_S);
	assert_string_equal(state_value("inspect"), "refused");
	assert_int_equal(w.msgid_count[ID_MAPS], 0);
	put_processes(99, 0, 0600);
	ticks(p, REWRITE_S);
	assert_string_equal(state_value("inspect"), "fresh");
	assert_int_equal(w.msgid_count[ID_MAPS], 1);
	/* a symlink, a file in another format, another owner */
	snprintf(path, sizeof(path), "%s/processes", w.state);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink(w.conf, path), 0);
	ticks(p, REWRITE_S);
	assert_string_equal(state_value("inspect"), "refused");
	assert_int_equal(unlink(path), 0);
	put(path, "# ksmpilot processes v1\nversion=1\npid=3\n");
	ticks(p, grace_ticks + 20);
	assert_string_equal(state_value("inspect"), "refused");
	assert_int_equal(w.msgid_count[ID_INSPECT], 3);
	assert_int_equal(logged("(refused: line 3 does not parse)"), 1);
	if (geteuid() == 0) {
		put_processes(10, 0, 0600);
		assert_int_equal(chown(path, 65534, 65534), 0);
		ticks(p, REWRITE_S);
		assert_string_equal(state_value("inspect"), "refused");
	}
	pilot_stop(p);
	pilot_free(p);
	world_fini();
}

/* A state directory someone other than root can write is refused: root
 * keeps its lock and snapshot there, and reads what inspect leaves. */
/* What a daemon that died in the middle of a write left in state_dir goes
 * when the next takes the lock; a write of ksmpilotctl inspect's, which
 * may be under way, stays. */
static void test_leftover_temp_files(void **state)
{
	static const char *const gone[] = { ".state.0123456789abcdef", ".controller.0123456789abcdef",
					    ".snapshot.0123456789abcdef" };
	const char *kept = ".processes.0123456789abcdef";
	char path[400];
	struct pilot *p;

	(void)state;
	world_init(24 * GiB, 4 * GiB, NULL);
	assert_int_equal(mkdir(w.state, 0755), 0);
	for (size_t i = 0; i < ARRAY_SIZE(gone); i++) {
		snprintf(path, sizeof(path), "%s/%s", w.state, gone[i]);
		put(path, "half");
	}
	snprintf(path, sizeof(path), "%s/%s", w.state, kept);
	put(path, "half");
	p = start(EXIT_OK);
	for (size_t i = 0; i < ARRAY_SIZE(gone); i++) {
		snprintf(path, sizeof(path), "%s/%s", w.state, gone[i]);
		assert_int_equal(access(path, F_OK), -1);
	}
	snprintf(path, sizeof(path), "%s/%s", w.state, kept);
	assert_int_equal(access(path, F_OK), 0);
	pilot_stop(p);
	pilot_free(p);
	world_fini();
}

static void test_state_dir_untrusted(void **state)
{
	struct pilot *p;

	(void)state;
	world_init(24 * GiB, 4 * GiB, NULL);
	assert_int_equal(mkdir(w.state, 0777), 0);
	assert_int_equal(chmod(w.state, 0777), 0);
	p = start(EXIT_CONFIG);
	assert_null(p);
	assert_int_equal(logged("refusing the state directory: "), 1);
	assert_int_equal(logged("state can be written by anyone (mode 0777)"), 1);
	assert_int_equal(w.writes[KSM_RUN] + w.writes[KSM_PAGES_TO_SCAN], 0);
	world_fini();
}

/* What a check cannot read is said once, not skipped in silence: a guest
 * scan that needs more than a tick's budget (a hostile process table),
 * memory PSI that psi_threshold asks for but cannot be read. Once more
 * when it is back. */
static void test_unreadable_inputs_logged_once(void **state)
{
	struct pilot *p;

	(void)state;
	world_init(24 * GiB, 4 * GiB, "[memory]\nguest_cmdline = ^qemu\nguest_scan_interval = 10s\npsi_threshold = 5");
	w.guest_errno = EINPROGRESS;
	p = start(EXIT_OK);
	ticks(p, 60);
	assert_int_equal(logged("the guest_cmdline scan of /proc read 0 processes in 50 ms and goes on"), 1);
	assert_int_equal(logged("psi_threshold is set, but "), 1);
	assert_int_equal(logged("psi cannot be read (No such file or directory)"), 1);
	ticks(p, 60);
	assert_int_equal(logged("the guest_cmdline scan of /proc read"), 1); /* once */
	w.guest_errno = EIO;
	ticks(p, 20);
	assert_int_equal(logged("the guest_cmdline scan of /proc failed"), 1);
	w.guest_errno = 0;
	ticks(p, 20);
	assert_int_equal(logged("the guest_cmdline scan of /proc completes again"), 1);
	w.guest_errno = EIO;
	ticks(p, 20);
	assert_int_equal(logged("the guest_cmdline scan of /proc failed"), 2);
	assert_int_equal(logged("psi_threshold is set, but "), 1);
	pilot_stop(p);
	pilot_free(p);
	world_fini();
}

/* While ksmd idles, the KSM counters are read every 10 s, not at every
 * sample; a tick that writes a knob makes the next sample read them again,
 * so that the daemon does not take its own write for someone else's, and
 * so does a tick that holds. */
static void test_idle_reads_counters_seldom(void **state)
{
	struct pilot *p;
	unsigned reads, writes;
	char text[600];
	int i;

	(void)state;
	world_init(24 * GiB, 4 * GiB, NULL);
	p = start(EXIT_OK);
	add_guest(256);
	for (i = 0; i < 900 && !(pilot_last_decision(p) && pilot_last_decision(p)->mode == CTL_MODE_IDLE); i++)
		tick(p, 1.0);
	assert_int_equal(pilot_last_decision(p)->mode, CTL_MODE_IDLE);
	ticks(p, 20);
	reads = w.reads[KSM_PAGES_SHARING];
	ticks(p, 60); /* a sample a second here */
	assert_int_equal(pilot_last_decision(p)->mode, CTL_MODE_IDLE);
	assert_true(w.reads[KSM_PAGES_SHARING] - reads >= 5 && w.reads[KSM_PAGES_SHARING] - reads <= 7);
	/* a faster idle scan: new knobs, written once, and no foreign change */
	writes = w.writes[KSM_SLEEP_MILLISECS] + w.writes[KSM_PAGES_TO_SCAN];
	snprintf(text, sizeof(text), "[daemon]\ninterval = 1s\nstate_dir = %s\nlog_level = info\n"
		 "[controller]\nidle_scan_period = 2min\n", w.state);
	put(w.conf, text);
	assert_int_equal(pilot_reload(p), 0);
	ticks(p, 30);
	assert_int_equal(pilot_last_decision(p)->mode, CTL_MODE_IDLE);
	assert_int_equal(w.writes[KSM_SLEEP_MILLISECS] + w.writes[KSM_PAGES_TO_SCAN] - writes, 1);
	assert_int_equal(logged("by someone else"), 0);
	/* a tick that holds (/proc/meminfo unreadable) when the counters are
	 * due: the controller never saw that read, and the next sample reads
	 * them again rather than carry it over */
	reads = w.reads[KSM_PAGES_SHARING];
	for (i = 0; i < 20 && w.reads[KSM_PAGES_SHARING] == reads; i++)
		tick(p, 1.0);
	assert_int_equal(w.reads[KSM_PAGES_SHARING], reads + 1);
	ticks(p, 9);
	assert_int_equal(w.reads[KSM_PAGES_SHARING], reads + 1);
	w.meminfo_errno = EIO;
	tick(p, 1.0);
	assert_int_equal(logged("cannot read /proc/meminfo"), 1);
	assert_int_equal(w.reads[KSM_PAGES_SHARING], reads + 2);
	w.meminfo_errno = 0;
	tick(p, 1.0);
	assert_int_equal(w.reads[KSM_PAGES_SHARING], reads + 3);
	assert_true(pilot_stop(p));
	pilot_free(p);
	world_fini();
}

/* The Prometheus textfile: when a reload names another one (or none), the
 * old file goes, or it would export frozen values for ever; a directory
 * others can write is pointed out once. */
static void test_textfile_reload(void **state)
{
	struct pilot *p;
	char a[600], b[600], dir[300], text[1400], left[4][600];

	(void)state;
	world_init(24 * GiB, 4 * GiB, NULL);
	snprintf(dir, sizeof(dir), "%s/prom", w.dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	snprintf(a, sizeof(a), "%s/a.prom", dir);
	snprintf(b, sizeof(b), "%s/b.prom", dir);
	snprintf(text, sizeof(text), "[daemon]\ninterval = 1s\nstate_dir = %s\n[metrics]\ntextfile = %s\n", w.state, a);
	put(w.conf, text);
	/* what a write that died left half done, two minutes ago, goes at
	 * the start, and nothing else: another file's, a name that is not a
	 * temporary one, one written a moment ago (another daemon's write
	 * under way) */
	snprintf(left[0], sizeof(left[0]), "%s/.a.prom.0123456789abcdef", dir);
	snprintf(left[1], sizeof(left[1]), "%s/.b.prom.0123456789abcdef", dir);
	snprintf(left[2], sizeof(left[2]), "%s/.a.prom.0123456789abcdeg", dir);
	snprintf(left[3], sizeof(left[3]), "%s/.a.prom.1111111111111111", dir);
	for (int i = 0; i < 4; i++) {
		struct timespec old[2] = { { .tv_sec = time(NULL) - 120 }, { .tv_sec = time(NULL) - 120 } };
		put(left[i], "x");
		assert_int_equal(utimensat(AT_FDCWD, left[i], i < 3 ? old : NULL, 0), 0);
	}
	p = start(EXIT_OK);
	assert_int_equal(access(left[0], F_OK), -1);
	assert_int_equal(access(left[1], F_OK), 0);
	assert_int_equal(access(left[2], F_OK), 0);
	assert_int_equal(access(left[3], F_OK), 0);
	assert_int_equal(logged("textfile directory"), 1);
	assert_int_equal(logged("can be written by anyone (mode 0777)"), 1);
	ticks(p, 3);
	assert_int_equal(access(a, F_OK), 0);
	/* another file: the old one goes, the new one comes at the next tick */
	snprintf(text, sizeof(text), "[daemon]\ninterval = 1s\nstate_dir = %s\n[metrics]\ntextfile = %s\n", w.state, b);
	put(w.conf, text);
	assert_int_equal(pilot_reload(p), 0);
	assert_int_equal(access(a, F_OK), -1);
	ticks(p, 1);
	assert_int_equal(access(b, F_OK), 0);
	assert_int_equal(access(left[1], F_OK), -1); /* and at a reload to another */
	assert_int_equal(access(left[2], F_OK), 0);
	assert_int_equal(logged("textfile directory"), 2); /* once per textfile */
	/* a reload that keeps it: no new note */
	assert_int_equal(pilot_reload(p), 0);
	assert_int_equal(logged("textfile directory"), 2);
	/* the old file already gone (removed by hand, or never written
	 * there): the reload is taken all the same */
	assert_int_equal(unlink(b), 0);
	snprintf(text, sizeof(text), "[daemon]\ninterval = 1s\nstate_dir = %s\n[metrics]\ntextfile = %s\n", w.state, a);
	put(w.conf, text);
	assert_int_equal(pilot_reload(p), 0);
	ticks(p, 1);
	assert_int_equal(access(a, F_OK), 0);
	snprintf(text, sizeof(text), "[daemon]\ninterval = 1s\nstate_dir = %s\n[metrics]\ntextfile = %s\n", w.state, b);
	put(w.conf, text);
	assert_int_equal(pilot_reload(p), 0);
	ticks(p, 1);
	/* metrics off: the file goes */
	snprintf(text, sizeof(text), "[daemon]\ninterval = 1s\nstate_dir = %s\n", w.state);
	put(w.conf, text);
	assert_int_equal(pilot_reload(p), 0);
	assert_int_equal(access(b, F_OK), -1);
	ticks(p, 3);
	assert_int_equal(access(b, F_OK), -1);
	pilot_stop(p);
	pilot_free(p);
	world_fini();
}

/* The per-guest series from state_dir/processes: the top guest_series by
 * saving, the rest as guest="other"; none while the file is stale. */
static void put_guests(unsigned n, int64_t age)
{
	struct procscan_proc procs[8];
	struct procscan ps = { .max_map_count = 65530, .scanned = 50, .n = n, .procs = procs };
	char path[400], *text;

	assert_true(n <= 8);
	memset(procs, 0, sizeof(procs));
	ps.time = (int64_t)time(NULL) - age;
	for (unsigned i = 0; i < n; i++) {
		procs[i].pid = 5000 + (int)i;
		snprintf(procs[i].comm, sizeof(procs[i].comm), "qemu-system-x86");
		/* g0 saves least: the order is the saving's, not the file's */
		snprintf(procs[i].cmdline, sizeof(procs[i].cmdline), "qemu-system-x86_64 -name guest=g%u", i);
		procs[i].present = PS_BIT(PS_RMAP_ITEMS) | PS_BIT(PS_MERGING_PAGES) | PS_BIT(PS_PROCESS_PROFIT);
		procs[i].stat[PS_MERGING_PAGES] = 100 * (int64_t)(i + 1);
		procs[i].stat[PS_RMAP_ITEMS] = 200 * (int64_t)(i + 1);
		procs[i].stat[PS_PROCESS_PROFIT] = 1000 * (int64_t)(i + 1);
	}
	assert_int_equal(procscan_format(&ps, &text), 0);
	mkdir(w.state, 0755);
	snprintf(path, sizeof(path), "%s/processes", w.state);
	assert_int_equal(write_file_replace(path, text, strlen(text), 0600, false), 0);
	free(text);
}

static char *slurp(const char *path)
{
	char *text = NULL;
	size_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(read_fd(fd, 1 << 20, &text, &len), 0);
	close(fd);
	return text;
}

static void test_guest_series(void **state)
{
	struct pilot *p;
	char prom[400], conf[1400], *m;

	(void)state;
	world_init(24 * GiB, 4 * GiB, NULL);
	snprintf(prom, sizeof(prom), "%s/k.prom", w.dir);
	snprintf(conf, sizeof(conf), "[daemon]\ninterval = 1s\nstate_dir = %s\n[metrics]\ntextfile = %s\nguest_series = 2\n",
		 w.state, prom);
	put(w.conf, conf);
	put_guests(4, 0);
	p = start(EXIT_OK);
	ticks(p, REWRITE_S);
	m = slurp(prom);
	assert_non_null(strstr(m, "\nksmpilot_guest_saving_bytes{guest=\"g3\"} 1638400\n"));
	assert_non_null(strstr(m, "\nksmpilot_guest_saving_bytes{guest=\"g2\"} 1228800\n"));
	assert_null(strstr(m, "guest=\"g1\""));
	assert_null(strstr(m, "guest=\"g0\""));
	assert_non_null(strstr(m, "\nksmpilot_guest_saving_bytes{guest=\"other\"} 1228800\n"));
	assert_non_null(strstr(m, "\nksmpilot_guest_profit_bytes{guest=\"other\"} 3000\n"));
	assert_non_null(strstr(m, "ksmpilot_guest_processes{kind=\"listed\"} 2\nksmpilot_guest_processes{kind=\"other\"} 2\n"));
	free(m);
	/* stale: no guest series rather than old ones */
	put_guests(4, INSPECT_STALE_S + 100);
	ticks(p, REWRITE_S);
	m = slurp(prom);
	assert_null(strstr(m, "ksmpilot_guest_"));
	assert_non_null(strstr(m, "ksmpilot_saving_bytes "));
	free(m);
	/* fresh again, and a reload to guest_series = 0: only other */
	put_guests(3, 0);
	snprintf(conf, sizeof(conf), "[daemon]\ninterval = 1s\nstate_dir = %s\n[metrics]\ntextfile = %s\nguest_series = 0\n",
		 w.state, prom);
	put(w.conf, conf);
	assert_int_equal(pilot_reload(p), 0);
	ticks(p, REWRITE_S);
	m = slurp(prom);
	assert_null(strstr(m, "guest=\"g"));
	assert_non_null(strstr(m, "\nksmpilot_guest_merged_bytes{guest=\"other\"} 2457600\n"));
	free(m);
	pilot_stop(p);
	pilot_free(p);
	world_fini();
}

/* ---- a simulated week --------------------------------------------------------- */

static unsigned count_fds(void)
{
	unsigned n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_week(void **state)
{
	const char *e = getenv("KSMPILOT_TEST_SCALE");
	double sc = e ? atof(e) : 1.0;
	unsigned days = 7, day_ticks = (unsigned)(86400 * (sc > 0 && sc <= 1 ? sc : 1.0));
	struct pilot *p;
	unsigned fds_day1 = 0;
	size_t heap_day1 = 0;
	int guests[8] = { 0 };

	(void)state;
	world_init(64 * GiB, 16 * GiB, NULL);
	p = start(EXIT_OK);
	for (unsigned day = 0; day < days; day++) {
		/* each day: guests come and go, pressure comes and goes, churn */
		for (unsigned t = 0; t < day_ticks; t++) {
			unsigned phase = t * 8 / day_ticks;
			if (t == day_ticks * phase / 8) {
				int g = (int)((day + phase) % 8);
				if (guests[g])
					plant_remove(&w.p, guests[g]);
				guests[g] = plant_add(&w.p, g % 3 == 2 ? REGION_VOLATILE : REGION_MERGEABLE, g,
						      (128 + 64 * g) * MiB);
				w.p.base_available = (phase % 4 == 3) ? 48 * GiB : 11 * GiB;
			}
			tick(p, 1.0);
			if ((t & 1023) == 0)
				assert_knobs_in_bounds(p);
		}
		if (day == 0) {
			fds_day1 = count_fds();
			heap_day1 = mallinfo2().uordblks;
		}
		assert_int_equal(count_fds(), fds_day1);
	}
	/* memory flat: the heap in use after a week is what it was after a day */
	if (!getenv("KSMPILOT_VALGRIND"))
		assert_true(mallinfo2().uordblks <= heap_day1 + 64 * 1024);
	{
		const struct ctl_decision *d = pilot_last_decision(p);
		assert_true(isfinite(d->rate) && isfinite(d->t.i) && isfinite(d->t.cost_us));
	}
	if (getenv("KSMPILOT_TRACE"))
		fprintf(stderr, "week: %" PRIu64 " ticks, %" PRIu64 " adjustments, ksmd %.0f s, %u log records\n",
			pilot_stats(p)->ticks, pilot_stats(p)->adjustments, w.p.ksmd_cpu, w.log_count);
	/* not a log line a tick: decisions are logged when they change */
	assert_true(w.log_count < days * day_ticks / 20);
	assert_true(pilot_stop(p));
	pilot_free(p);
	world_fini();
}

/* A restart (stop, start) reuses what the controller learned: no start-up
 * probe, the idle rate at once. A state file from someone else, or from a
 * KSM that was reset meanwhile, is not reused, and says why. */
static void test_restart_reuses_controller_state(void **state)
{
	struct pilot *p;
	char path[400];
	const struct ctl_decision *d;

	(void)state;
	world_init(24 * GiB, 4 * GiB, NULL);
	p = start(EXIT_OK);
	add_guest(512);
	ticks(p, 600);
	d = pilot_last_decision(p);
	assert_int_equal(d->mode, CTL_MODE_IDLE);
	assert_true(pilot_stop(p));
	pilot_free(p);
	snprintf(path, sizeof(path), "%s/controller", w.state);
	assert_int_equal(access(path, R_OK), 0);

	p = start(EXIT_OK);
	assert_int_equal(logged("controller state restored"), 1);
	tick(p, 1.0);
	d = pilot_last_decision(p);
	assert_int_equal(d->wake, CTL_WAKE_NONE);
	assert_int_equal(d->mode, CTL_MODE_IDLE);
	assert_true(pilot_next_tick_us(p) >= 1000 * pilot_cfg(p)->idle_interval_ms);
	ticks(p, 30);
	assert_int_equal(pilot_last_decision(p)->mode, CTL_MODE_IDLE);
	assert_true(pilot_stop(p));
	pilot_free(p);

	/* KSM reset meanwhile (full_scans went back): not reused */
	w.p.full_scans = 0;
	plant_sample(&w.p, &w.cur);
	p = start(EXIT_OK);
	assert_int_equal(logged("not reusing the controller state"), 1);
	assert_int_equal(logged("full_scans disagrees"), 1);
	pilot_free(p);

	/* a state file writable by others: not read */
	assert_int_equal(chmod(path, 0666), 0);
	p = start(EXIT_OK);
	assert_int_equal(logged("ignoring the controller state"), 1);
	pilot_free(p);
	world_fini();
}

/* The history records a daemon on conf writes in n ticks and its stop. */
static unsigned history_records_of(const char *conf, unsigned n)
{
	struct pilot *p;
	unsigned records;

	world_init(24 * GiB, 4 * GiB, conf);
	p = start(EXIT_OK);
	ticks(p, n);
	assert_true(pilot_stop(p));
	records = w.msgid_count[ID_HISTORY];
	pilot_free(p);
	return records;
}

/* The history record once per history_period and at the stop, whatever
 * log_level says; mode changes and probes counted from the decisions; the
 * duration of a full scan as the plant made it; all of it published. */
static void test_history_and_counters(void **state)
{
	struct pilot *p;
	struct state_kv *kv = calloc(1, sizeof(*kv));
	uint64_t mode_changes = 0, probes = 0, last_scans = 0, scans;
	double scan_start = -1, scan_s = -1, now_s = 0, cpu0, cpu_off, cpu;
	int64_t scans0;
	const char *rec;
	enum ctl_mode mode = CTL_MODE_STOPPED;
	char path[400];

	(void)state;
	assert_non_null(kv);
	world_init(24 * GiB, 4 * GiB, "[metrics]\nhistory_period = 60s");
	p = start(EXIT_OK);
	log_set_level(LOG_WARNING); /* decisions are not logged; the record is */
	add_guest(512);
	for (int t = 0; t < 185; t++) {
		const struct ctl_decision *d;
		tick(p, 1.0);
		d = pilot_last_decision(p);
		mode_changes += t > 0 && d->mode != mode;
		probes += d->wake != CTL_WAKE_NONE;
		mode = d->mode;
		/* the plant's full scans as the ticks see them */
		if (w.cur.ksm.v[KSM_FULL_SCANS] > (int64_t)last_scans) {
			if (scan_start >= 0)
				scan_s = (now_s - scan_start) / (double)(w.cur.ksm.v[KSM_FULL_SCANS] - (int64_t)last_scans);
			scan_start = now_s;
		}
		last_scans = (uint64_t)w.cur.ksm.v[KSM_FULL_SCANS];
		now_s += 1.0;
		if (t == 58)
			assert_int_equal(w.msgid_count[ID_HISTORY], 0);
	}
	/* at 60, 120 and 180 s */
	assert_int_equal(w.msgid_count[ID_HISTORY], 3);
	assert_int_equal(logged("history: saving"), 3);
	assert_true(mode_changes >= 1 && probes >= 1);
	assert_int_equal(pilot_stats(p)->mode_changes, mode_changes);
	assert_int_equal(pilot_stats(p)->probes, probes);
	/* published */
	assert_true(scan_s > 0);
	snprintf(path, sizeof(path), "%s/state", w.state);
	assert_int_equal(state_read(path, kv), 0);
	assert_true(fabs(strtod(state_get(kv, "full_scan_seconds"), NULL) - scan_s) < 0.06);
	assert_int_equal(strtoull(state_get(kv, "probes"), NULL, 10), probes);
	assert_int_equal(strtoull(state_get(kv, "mode_changes"), NULL, 10), mode_changes);
	/* the stop writes the part of the period so far */
	assert_true(pilot_stop(p));
	assert_int_equal(w.msgid_count[ID_HISTORY], 4);
	pilot_free(p);
	/* history_period = 0: none at all */
	assert_int_equal(history_records_of("[metrics]\nhistory_period = 0", 100), 0);
	/* a stop right after the first tick: a period of no length, no record
	 * (its share of a core would be 0/0) */
	assert_int_equal(history_records_of("[metrics]\nhistory_period = 60s", 1), 0);
	/* a reload that turns history off writes the period so far first, as
	 * a stop does, and then none */
	world_init(24 * GiB, 4 * GiB, "[metrics]\nhistory_period = 60s");
	p = start(EXIT_OK);
	ticks(p, 30);
	cpu_off = w.p.ksmd_cpu;
	assert_int_equal(w.msgid_count[ID_HISTORY], 0);
	reload_daemon(p, "[metrics]\nhistory_period = 0\n");
	add_guest(512); /* ksmd works while history is off */
	ticks(p, 100);
	assert_int_equal(w.msgid_count[ID_HISTORY], 1);
	/* turned on again: the next record has only what came since */
	cpu0 = w.p.ksmd_cpu;
	scans0 = w.cur.ksm.v[KSM_FULL_SCANS];
	reload_daemon(p, "[metrics]\nhistory_period = 60s\n");
	ticks(p, 20);
	assert_true(pilot_stop(p));
	assert_int_equal(w.msgid_count[ID_HISTORY], 2);
	rec = last_logged("history: saving");
	assert_non_null(rec);
	rec = strstr(rec, "ksmd ");
	assert_non_null(rec);
	assert_int_equal(sscanf(rec, "ksmd %lf s of CPU (%*f%% of a core), %" SCNu64 " full scans", &cpu, &scans), 2);
	assert_true(cpu <= w.p.ksmd_cpu - cpu0 + 0.05);
	assert_true(scans <= (uint64_t)(w.cur.ksm.v[KSM_FULL_SCANS] - scans0));
	assert_true(w.p.ksmd_cpu - cpu0 < 0.9 * (cpu0 - cpu_off)); /* the test means something */
	pilot_free(p);
	world_fini();
	free(kv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restart_reuses_controller_state),
		cmocka_unit_test(test_ksm_vanishes),
		cmocka_unit_test(test_memory_offline),
		cmocka_unit_test(test_unmerge_under_way),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_idle_rewrites_seldom),
		cmocka_unit_test(test_defer_floor_told),
		cmocka_unit_test(test_reload_to_defer),
		cmocka_unit_test(test_takeover_writes_no_run_again),
		cmocka_unit_test(test_idle_reads_counters_seldom),
		cmocka_unit_test(test_merge_across_nodes_busy),
		cmocka_unit_test(test_merge_across_nodes_keep),
		cmocka_unit_test(test_snapshot_of_an_earlier_boot),
		cmocka_unit_test(test_counter_garbage_and_resets),
		cmocka_unit_test(test_ksmd_hidden),
		cmocka_unit_test(test_meminfo_unreadable),
		cmocka_unit_test(test_clock_jumps),
		cmocka_unit_test(test_hazard_numa),
		cmocka_unit_test(test_hazard_negative_profit),
		cmocka_unit_test(test_hazard_map_count),
		cmocka_unit_test(test_inspect_missing_stale_refused),
		cmocka_unit_test(test_leftover_temp_files),
		cmocka_unit_test(test_state_dir_untrusted),
		cmocka_unit_test(test_textfile_reload),
		cmocka_unit_test(test_guest_series),
		cmocka_unit_test(test_unreadable_inputs_logged_once),
		cmocka_unit_test(test_history_and_counters),
		cmocka_unit_test(test_week),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
