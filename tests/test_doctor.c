/* test_doctor.c - every finding of `ksmpilotctl doctor`, each on a fake
 * /proc, sysfs and KSM tree made with mkdtemp(): the finding appears with
 * its severity and its evidence when the condition holds, and not when it
 * does not. The daemon "runs" when the test holds the lock on the fake
 * state_dir. The window between the two samples is set by the test (a fake
 * clock for ksmd's CPU). */
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

#include "doctor.h"
#include "util.h"

static char root[128];
static char ksm[240], proc[240], sys[240], state[240], libvirt[240];
static struct cfg cfg;
static struct doctor_input *in;
static struct doctor_report rep;
static int lock_fd = -1;

static void put(const char *path, const char *text)
{
	char *dup = strdup(path);
	FILE *f;

	assert_non_null(dup);
	for (char *s = strchr(dup + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(dup, 0755);
		*s = '/';
	}
	free(dup);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void putf(const char *fmt_path, const char *text, ...)
{
	char path[600];
	va_list ap;

	va_start(ap, text);
	vsnprintf(path, sizeof(path), fmt_path, ap);
	va_end(ap);
	put(path, text);
}

/* A KSM file. */
static void knob(const char *name, long long v)
{
	char path[400], text[32];

	snprintf(path, sizeof(path), "%s/%s", ksm, name);
	snprintf(text, sizeof(text), "%lld\n", v);
	put(path, text);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void ksmd_ticks(unsigned long long ticks)
{
	char text[256];

	snprintf(text, sizeof(text), "2 (ksmd) S 2 0 0 0 -1 2097216 0 0 0 0 %llu 0 0 0 25 5 1 0 30 0 0\n", ticks);
	putf("%s/2/stat", text, proc);
}

/* A 6.18-like machine at rest: KSM running, nothing of note. */
static int setup(void **unused)
{
	static const char *const zero[] = { "pages_shared", "pages_sharing", "pages_unshared", "pages_volatile",
					     "full_scans", "pages_scanned", "pages_skipped", "ksm_zero_pages",
					     "general_profit", "stable_node_chains", "stable_node_dups", "use_zero_pages" };
	(void)unused;
	snprintf(root, sizeof(root), "/tmp/ksmpilot-test-doctor.XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(ksm, sizeof(ksm), "%s/sys/kernel/mm/ksm", root);
	snprintf(proc, sizeof(proc), "%s/proc", root);
	snprintf(sys, sizeof(sys), "%s/sys", root);
	snprintf(state, sizeof(state), "%s/state", root);
	snprintf(libvirt, sizeof(libvirt), "%s/run/libvirt/qemu", root);
	for (size_t i = 0; i < ARRAY_SIZE(zero); i++)
		knob(zero[i], 0);
	knob("run", 1);
	knob("pages_to_scan", 100);
	knob("sleep_millisecs", 20);
	knob("merge_across_nodes", 1);
	knob("max_page_sharing", 256);
	knob("smart_scan", 1);
	putf("%s/advisor_mode", "[none] scan-time\n", ksm);
	putf("%s/devices/system/node/node0/cpulist", "0-1\n", sys);
	putf("%s/kernel/mm/transparent_hugepage/enabled", "always [madvise] never\n", sys);
	putf("%s/sys/vm/max_map_count", "65530\n", proc);
	putf("%s/2/comm", "ksmd\n", proc);
	putf("%s/2/cmdline", "", proc);
	ksmd_ticks(1000);
	putf("%s/1/comm", "init\n", proc);
	put(strcat(strcpy((char[400]){ 0 }, proc), "/1/cmdline"), "/sbin/init");
	mkdir(state, 0755);
	cfg_defaults(&cfg);
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s", state);
	in = calloc(1, sizeof(*in));
	return in ? 0 : -1;
}

static int teardown(void **unused)
{
	(void)unused;
	if (lock_fd >= 0)
		close(lock_fd);
	lock_fd = -1;
	if (in)
		doctor_input_free(in);
	free(in);
	in = NULL;
	return nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A process: comm, arguments separated by '\0' in args (len bytes), an
 * optional ksm_stat and smaps. */
static void process(int pid, const char *comm, const char *args, size_t len, const char *ksm_stat, const char *smaps)
{
	char path[400], c[64];
	FILE *f;

	snprintf(c, sizeof(c), "%s\n", comm);
	putf("%s/%d/comm", c, proc, pid);
	snprintf(path, sizeof(path), "%s/%d/cmdline", proc, pid);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(args, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	if (ksm_stat)
		putf("%s/%d/ksm_stat", ksm_stat, proc, pid);
	if (smaps)
		putf("%s/%d/smaps", smaps, proc, pid);
	putf("%s/%d/maps", "00400000-00500000 r-xp 00000000 00:00 0\n", proc, pid);
	putf("%s/%d/status", "Name:\tx\nUid:\t0\t0\t0\t0\n", proc, pid);
}

#define ARGS(s) s, sizeof(s) - 1

static const char *const KSM_STAT_MERGING = "ksm_rmap_items 300000\nksm_zero_pages 0\nksm_merging_pages 200000\n"
					    "ksm_process_profit 800000000\nksm_merge_any: no\nksm_mergeable: yes\n";
static const char *const KSM_STAT_NONE = "ksm_rmap_items 0\nksm_zero_pages 0\nksm_merging_pages 0\n"
					 "ksm_process_profit 0\nksm_merge_any: no\nksm_mergeable: no\n";

/* One VMA of smaps: size and Rss in KiB, AnonHugePages, hugetlb, flags. */
static void vma(char *buf, size_t len, unsigned long start, const char *path, unsigned long rss_kb,
		unsigned long thp_kb, unsigned long hugetlb_kb, const char *flags)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n,
		 "%08lx-%08lx rw-p 00000000 00:00 0          %s\n"
		 "Size:           %8lu kB\nRss:            %8lu kB\nAnonHugePages:  %8lu kB\n"
		 "Shared_Hugetlb:        0 kB\nPrivate_Hugetlb: %8lu kB\nVmFlags: %s\n",
		 start, start + 0x1000, path, rss_kb + hugetlb_kb, rss_kb, thp_kb, hugetlb_kb, flags);
}

/* The daemon runs: the test holds the lock on state_dir; its state file
 * has these extra lines. */
static void daemon_runs(const char *lines)
{
	char text[2048];

	snprintf(text, sizeof(text), "# ksmpilot state v1: key=value\nversion=1\npid=%d\n%s", (int)getpid(), lines);
	putf("%s/state", text, state);
	if (lock_fd >= 0)
		close(lock_fd);
	lock_fd = open(strcat(strcpy((char[400]){ 0 }, state), "/lock"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(lock_fd >= 0);
	assert_int_equal(fcntl(lock_fd, F_OFD_SETLK, &(struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET }), 0);
	/* its pid in the lock, as the daemon writes it */
	assert_true(dprintf(lock_fd, "%d\n", (int)getpid()) > 0);
}

/* Run the doctor: sample, gather, let the test change the tree
 * (between), sample again 2 s later on the fake clock, check. */
static void run_doctor(void (*between)(void))
{
	struct doctor_paths p = { ksm, proc, sys, state, libvirt };

	doctor_input_free(in);
	memset(in, 0, sizeof(*in));
	doctor_sample(&p, &in->before);
	assert_int_equal(doctor_gather(&p, &cfg, in), 0);
	if (between)
		between();
	doctor_sample(&p, &in->after);
	in->before.ms = in->after.ms - 2000;
	doctor_check(in, &rep);
}

/* The finding id with that severity, whose evidence contains text. */
static const struct doctor_finding *expect(const char *id, enum doctor_severity sev, const char *text)
{
	for (unsigned i = 0; i < rep.n; i++) {
		const struct doctor_finding *f = &rep.f[i];
		if (strcmp(f->id, id) != 0 || f->severity != sev)
			continue;
		if (text && !strstr(f->evidence, text) && !strstr(f->summary, text))
			continue;
		assert_true(f->summary[0] != '\0');
		if (sev == DOCTOR_ACTION)
			assert_true(f->fix[0] != '\0');
		return f;
	}
	for (unsigned i = 0; i < rep.n; i++)
		fprintf(stderr, "  %s %s: %s | %s\n", doctor_severity_name(rep.f[i].severity), rep.f[i].id, rep.f[i].summary,
			rep.f[i].evidence);
	fail_msg("no %s finding '%s' with '%s'", doctor_severity_name(sev), id, text ? text : "");
	return NULL;
}

static void expect_not(const char *id, enum doctor_severity sev)
{
	for (unsigned i = 0; i < rep.n; i++)
		if (strcmp(rep.f[i].id, id) == 0 && rep.f[i].severity == sev)
			fail_msg("unexpected %s finding %s: %s (%s)", doctor_severity_name(sev), id, rep.f[i].summary,
				 rep.f[i].evidence);
}

/* A healthy machine: ksmpilotd runs, a guest merges. Nothing needs action,
 * and every check reports. */
static void healthy_guest(void)
{
	char smaps[4096] = "";

	vma(smaps, sizeof(smaps), 0x10000, "", 2097152, 0, 0, "rd wr mr mw me ac sd mg");
	process(4000, "qemu-system-x86", ARGS("/usr/bin/qemu-system-x86_64\0-name\0guest=web1,debug-threads=on\0"),
		KSM_STAT_MERGING, smaps);
}

static void test_healthy(void **unused)
{
	static const char *const ids[] = { "ksm-read-only", "ksm-run", "advisor", "ksmd-busy", "negative-profit",
					   "numa", "mergeable-memory", "guest-memory", "thp", "map-count",
					   "foreign-tuner", "guest-cmdline" };
	(void)unused;
	healthy_guest();
	knob("pages_sharing", 200000);
	knob("pages_shared", 1000);
	knob("general_profit", 800000000);
	knob("merge_across_nodes", 0);
	daemon_runs("run=1\nreason=nothing-to-merge\nkernel_advisor=takeover\nforeign_changes=0\n");
	run_doctor(NULL);
	assert_false(doctor_needs_action(&rep));
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++)
		expect(ids[i], DOCTOR_OK, NULL);
	expect("guest-memory", DOCTOR_OK, "1 guest");
	expect("mergeable-memory", DOCTOR_OK, "2048 MiB");
}

static void test_ksm_missing(void **unused)
{
	char gone[400];

	(void)unused;
	snprintf(gone, sizeof(gone), "%s/gone", root);
	assert_int_equal(rename(ksm, gone), 0);
	run_doctor(NULL);
	expect("ksm-missing", DOCTOR_ACTION, "/run does not exist");
	assert_true(doctor_needs_action(&rep));
	/* nothing about the knobs of a KSM that is not there */
	for (unsigned i = 0; i < rep.n; i++)
		assert_string_not_equal(rep.f[i].id, "ksm-run");
	/* the top finding comes first */
	assert_string_equal(rep.f[0].id, "ksm-missing");
}

static void test_run_stopped(void **unused)
{
	(void)unused;
	/* no daemon */
	knob("run", 0);
	run_doctor(NULL);
	expect("ksm-run", DOCTOR_ACTION, "no ksmpilotd holds");
	/* ksmpilotd stopped it: no pressure, by design */
	daemon_runs("run=0\nreason=no-pressure\nmem_available_bytes=20000000000\nsetpoint_bytes=5000000000\n");
	run_doctor(NULL);
	expect("ksm-run", DOCTOR_INFO, "no-pressure: MemAvailable 19073 MiB, setpoint 4768 MiB");
	expect_not("ksm-run", DOCTOR_ACTION);
	/* ksmpilotd wants it running: someone else stopped it */
	daemon_runs("run=1\nreason=merging\n");
	run_doctor(NULL);
	expect("ksm-run", DOCTOR_ACTION, "last decided run=1 (merging)");
	/* a daemon that holds its lock but has no state file: not "not running" */
	daemon_runs("run=1\nreason=merging\n");
	assert_int_equal(unlink(strcat(strcpy((char[400]){ 0 }, state), "/state")), 0);
	run_doctor(NULL);
	expect("ksm-run", DOCTOR_ACTION, "holds");
	assert_non_null(strstr(expect("ksm-run", DOCTOR_ACTION, NULL)->summary, "holds its lock"));
	/* the lock's holder wrote another pid than the state file's: the file
	 * is an instance's that died, and the holder no foreign tuner */
	daemon_runs("run=1\nreason=merging\n");
	assert_int_equal(pwrite(lock_fd, "999999\n", 7, 0), 7);
	run_doctor(NULL);
	expect("ksm-run", DOCTOR_ACTION, "its state file is another instance's");
	/* nor is a state file of pid 0 the holder's */
	daemon_runs("run=1\nreason=merging\n");
	putf("%s/state", "# ksmpilot state v1: key=value\nversion=1\npid=0\nrun=1\nreason=merging\n", state);
	run_doctor(NULL);
	expect("ksm-run", DOCTOR_ACTION, "its state file is another instance's");
	/* a dry run wanted it running, and writes nothing: no other writer */
	daemon_runs("run=1\nreason=merging\ndry_run=1\n");
	run_doctor(NULL);
	expect("ksm-run", DOCTOR_INFO, "would have written run=1 (merging)");
	expect_not("ksm-run", DOCTOR_ACTION);
	/* run=2 */
	knob("run", 2);
	run_doctor(NULL);
	expect("ksm-run", DOCTOR_ACTION, "run=2");
}

static void offline_starts(void)
{
	knob("run", 5);
}

/* Memory going offline: run reads 5, and that is no state to act on, nor
 * a write of anyone's when it starts during the window. */
static void test_run_offlining(void **unused)
{
	(void)unused;
	knob("run", 5);
	run_doctor(NULL);
	expect("ksm-run", DOCTOR_INFO, "run=5: the kernel adds 4 while memory is offlined");
	expect_not("ksm-run", DOCTOR_ACTION);
	knob("run", 1);
	run_doctor(offline_starts);
	expect("foreign-tuner", DOCTOR_OK, NULL);
}

static void test_advisor(void **unused)
{
	(void)unused;
	putf("%s/advisor_mode", "none [scan-time]\n", ksm);
	run_doctor(NULL);
	expect("advisor", DOCTOR_INFO, "advisor_mode=scan-time");
	expect_not("advisor", DOCTOR_ACTION);
	daemon_runs("run=1\nkernel_advisor=defer\n");
	run_doctor(NULL);
	expect("advisor", DOCTOR_INFO, NULL);
	assert_non_null(strstr(expect("advisor", DOCTOR_INFO, NULL)->summary, "defer"));
	daemon_runs("run=1\nkernel_advisor=takeover\n");
	run_doctor(NULL);
	expect("advisor", DOCTOR_ACTION, "advisor_mode=scan-time");
	/* a dry run leaves it on */
	daemon_runs("run=1\nkernel_advisor=takeover\ndry_run=1\n");
	run_doctor(NULL);
	assert_non_null(strstr(expect("advisor", DOCTOR_INFO, NULL)->summary, "dry run"));
	expect_not("advisor", DOCTOR_ACTION);
	/* off, and a kernel without it */
	putf("%s/advisor_mode", "[none] scan-time\n", ksm);
	run_doctor(NULL);
	expect("advisor", DOCTOR_OK, NULL);
}

static void test_no_mergeable_memory(void **unused)
{
	(void)unused;
	process(300, "bash", ARGS("/bin/bash\0"), KSM_STAT_NONE, NULL);
	run_doctor(NULL);
	expect("mergeable-memory", DOCTOR_ACTION, "processes looked at");
	/* a kernel whose ksm_stat lacks ksm_mergeable: a process that marked
	 * memory shows nothing until ksmd scans it, so no ACTION */
	putf("%s/300/ksm_stat", "ksm_rmap_items 0\nksm_zero_pages 0\nksm_merging_pages 0\nksm_process_profit 0\n", proc);
	run_doctor(NULL);
	expect("mergeable-memory", DOCTOR_INFO, "this kernel's ksm_stat has no ksm_mergeable");
	putf("%s/300/ksm_stat", KSM_STAT_NONE, proc);
	/* one process with mergeable memory is enough */
	process(301, "redis-server", ARGS("redis-server\0"),
		"ksm_rmap_items 0\nksm_zero_pages 0\nksm_merging_pages 0\nksm_process_profit 0\n"
		"ksm_merge_any: yes\nksm_mergeable: yes\n",
		NULL);
	run_doctor(NULL);
	expect("mergeable-memory", DOCTOR_OK, "1 process");
	/* or pages KSM already tracks */
	putf("%s/301/ksm_stat", KSM_STAT_NONE, proc);
	knob("pages_unshared", 5);
	run_doctor(NULL);
	expect("mergeable-memory", DOCTOR_OK, "tracks 5 pages");
	/* more processes than are read: the finding says how many were left out */
	for (int pid = 1000; pid < 1000 + DOCTOR_MAX_PROCS + 3; pid++)
		process(pid, "redis-server", ARGS("redis-server\0"), KSM_STAT_MERGING, NULL);
	run_doctor(NULL);
	expect("mergeable-memory", DOCTOR_OK, "3 more processes that use KSM or look like guests were not read");
}

static void test_guest_memory_kinds(void **unused)
{
	char smaps[8192] = "";

	(void)unused;
	/* hugetlbfs: libvirt's <hugepages/> */
	vma(smaps, sizeof(smaps), 0x10000, "/dev/hugepages/libvirt/qemu/1-db1/qemu_back_mem.pc.ram", 0, 0, 4194304,
	    "rd wr sh mr mw me ms de ht sd");
	vma(smaps, sizeof(smaps), 0x20000, "", 102400, 0, 0, "rd wr mr mw me ac sd mg");
	process(4100, "qemu-system-x86", ARGS("/usr/bin/qemu-system-x86_64\0-name\0guest=db1,debug-threads=on\0"), KSM_STAT_NONE,
		smaps);
	/* memfd shared: vhost-user */
	smaps[0] = '\0';
	vma(smaps, sizeof(smaps), 0x10000, "/memfd:pc.ram (deleted)", 2097152, 0, 0, "rd wr sh mr mw me ms sd");
	process(4200, "qemu-system-x86", ARGS("/usr/bin/kvm\0-id\0" "105\0-name\0dpdk,debug-threads=on\0"), KSM_STAT_NONE,
		smaps);
	/* mem-merge=off: private anonymous, not marked */
	smaps[0] = '\0';
	vma(smaps, sizeof(smaps), 0x10000, "", 1048576, 0, 0, "rd wr mr mw me ac sd");
	process(4300, "qemu-system-x86", ARGS("/usr/bin/qemu-system-x86_64\0-machine\0mem-merge=off\0"), KSM_STAT_NONE,
		smaps);
	/* a libvirt domain without -name: its pid file names it */
	putf("%s/legacy.pid", "4300", libvirt);
	/* a small guest is not worth a finding */
	smaps[0] = '\0';
	vma(smaps, sizeof(smaps), 0x10000, "", 1024, 0, 0, "rd wr mr mw me ac sd");
	process(4400, "qemu-system-x86", ARGS("qemu-system-x86_64\0-name\0tiny\0"), KSM_STAT_NONE, smaps);
	run_doctor(NULL);
	assert_non_null(strstr(expect("guest-memory", DOCTOR_ACTION, "Guest db1: 98%")->fix, "hugetlbfs"));
	assert_non_null(strstr(expect("guest-memory", DOCTOR_ACTION, "Guest 105:dpdk: 100%")->fix, "share=off"));
	assert_non_null(strstr(expect("guest-memory", DOCTOR_ACTION, "Guest legacy: 100%")->fix, "mem-merge=off"));
	expect("guest-memory", DOCTOR_ACTION, "shared memfd 2048 MiB");
	for (unsigned i = 0; i < rep.n; i++)
		assert_null(strstr(rep.f[i].summary, "tiny"));
}

static void test_thp(void **unused)
{
	char smaps[4096] = "";

	(void)unused;
	/* 4 GiB marked mergeable, 3.5 GiB of it in huge pages, little merged after 5 full scans */
	vma(smaps, sizeof(smaps), 0x10000, "", 4194304, 3670016, 0, "rd wr mr mw me ac sd hg mg");
	process(5000, "qemu-system-x86", ARGS("qemu-system-x86_64\0-name\0guest=big\0"),
		"ksm_rmap_items 1000\nksm_merging_pages 100\nksm_mergeable: yes\n", smaps);
	putf("%s/kernel/mm/transparent_hugepage/enabled", "[always] madvise never\n", sys);
	knob("full_scans", 5);
	run_doctor(NULL);
	expect("thp", DOCTOR_ACTION, "enabled=always; 3584 of the 4096 MiB");
	/* merging goes on: only information */
	putf("%s/5000/ksm_stat", "ksm_rmap_items 1000\nksm_merging_pages 500000\nksm_mergeable: yes\n", proc);
	run_doctor(NULL);
	expect("thp", DOCTOR_INFO, NULL);
	expect_not("thp", DOCTOR_ACTION);
	/* too early to tell: no full scan yet */
	putf("%s/5000/ksm_stat", "ksm_rmap_items 1000\nksm_merging_pages 100\nksm_mergeable: yes\n", proc);
	knob("full_scans", 0);
	run_doctor(NULL);
	expect_not("thp", DOCTOR_ACTION);
}

static void test_numa(void **unused)
{
	(void)unused;
	putf("%s/devices/system/node/node1/cpulist", "2-3\n", sys);
	run_doctor(NULL);
	expect("numa", DOCTOR_ACTION, "merge_across_nodes=1");
	knob("merge_across_nodes", 0);
	run_doctor(NULL);
	expect("numa", DOCTOR_INFO, "once per node");
}

static void test_negative_profit(void **unused)
{
	(void)unused;
	knob("general_profit", -2097152);
	knob("pages_sharing", 100);
	knob("pages_unshared", 40000);
	knob("pages_volatile", 2000);
	run_doctor(NULL);
	expect("negative-profit", DOCTOR_ACTION, "general_profit=-2.0 MiB: 0.4 MiB saved, 42100 rmap items");
}

static void busy_window(void)
{
	ksmd_ticks(1000 + 40); /* 0.4 s of CPU in 2 s: 20% of a core */
	knob("pages_scanned", 500000);
}

static void busy_and_merging(void)
{
	busy_window();
	knob("pages_sharing", 5000);
}

static void test_ksmd_busy(void **unused)
{
	(void)unused;
	knob("pages_scanned", 100000);
	knob("pages_sharing", 4000);
	run_doctor(busy_window);
	expect("ksmd-busy", DOCTOR_ACTION, "20.0% of a core over 2.0 s, scanned 400000 pages, and pages_sharing went "
					   "from 4000 to 4000");
	/* merging: it pays */
	knob("pages_scanned", 100000);
	knob("pages_sharing", 4000);
	ksmd_ticks(1000);
	run_doctor(busy_and_merging);
	expect("ksmd-busy", DOCTOR_OK, "+1000 pages merged");
	/* quiet */
	ksmd_ticks(1000);
	run_doctor(NULL);
	expect("ksmd-busy", DOCTOR_OK, "0.0% of a core");
	/* ksmpilotd probing new memory: expected, not an action */
	knob("pages_scanned", 100000);
	knob("pages_sharing", 4000);
	ksmd_ticks(1000);
	daemon_runs("run=1\nreason=probing\nyield=0.000000\nbenefit=1.000000\n");
	run_doctor(busy_window);
	expect("ksmd-busy", DOCTOR_INFO, "probing");
	/* ksmpilotd idling, yet ksmd busy: what it saw goes in the evidence */
	knob("pages_scanned", 100000);
	ksmd_ticks(1000);
	daemon_runs("run=1\nreason=nothing-to-merge\nyield=0.000100\nbenefit=0.000000\n");
	run_doctor(busy_window);
	expect("ksmd-busy", DOCTOR_ACTION, "ksmpilotd: nothing-to-merge, recent yield 0.000100, benefit 0.000000");
	/* ksmd not visible */
	unlink(strcat(strcpy((char[400]){ 0 }, proc), "/2/comm"));
	run_doctor(NULL);
	expect("ksmd-busy", DOCTOR_INFO, "not visible");
	/* a user's process named ksmd is not ksmd: its parent is not kthreadd */
	putf("%s/4242/comm", "ksmd\n", proc);
	putf("%s/4242/stat", "4242 (ksmd) R 1000 0 0 0 -1 0 0 0 0 0 5000 0 0 0 20 0 1 0 30 0 0\n", proc);
	run_doctor(NULL);
	expect("ksmd-busy", DOCTOR_INFO, "not visible");
}

static void test_map_count(void **unused)
{
	char maps[4096] = "";

	(void)unused;
	putf("%s/sys/vm/max_map_count", "100\n", proc);
	for (int i = 0; i < 95; i++)
		snprintf(maps + strlen(maps), sizeof(maps) - strlen(maps), "%08x-%08x rw-p 00000000 00:00 0\n", i * 0x1000,
			 i * 0x1000 + 0x1000);
	process(6000, "java", ARGS("java\0-jar\0app.jar\0"), KSM_STAT_MERGING, NULL);
	putf("%s/6000/maps", maps, proc);
	run_doctor(NULL);
	expect("map-count", DOCTOR_ACTION, "95 memory mappings of 100");
	putf("%s/sys/vm/max_map_count", "65530\n", proc);
	run_doctor(NULL);
	expect("map-count", DOCTOR_OK, "pid 6000 (java), 95 of 65530");
}

static void admin_writes(void)
{
	knob("pages_to_scan", 1250);
}

static void test_foreign_tuner(void **unused)
{
	(void)unused;
	/* an argument that text_sanitize() shortens in place (nine C1
	 * characters of two bytes each become nine '?') leaves no phantom
	 * argument behind it made of its old tail ("ksmtuned") */
	process(710, "bash",
		ARGS("\xc2\x80\xc2\x80\xc2\x80\xc2\x80\xc2\x80\xc2\x80\xc2\x80\xc2\x80\xc2\x80ksmtuned\0"), NULL,
		NULL);
	run_doctor(NULL);
	expect("foreign-tuner", DOCTOR_OK, NULL);
	/* ksmtuned is a shell script: found by its name in the arguments */
	process(700, "ksmtuned", ARGS("/bin/bash\0/usr/sbin/ksmtuned\0"), NULL, NULL);
	putf("%s/700/comm", "bash\n", proc);
	run_doctor(NULL);
	expect("foreign-tuner", DOCTOR_ACTION, "ksmtuned (pid 700)");
	unlink(strcat(strcpy((char[400]){ 0 }, proc), "/700/cmdline"));
	unlink(strcat(strcpy((char[400]){ 0 }, proc), "/700/comm"));
	unlink(strcat(strcpy((char[400]){ 0 }, proc), "/700/maps"));
	rmdir(strcat(strcpy((char[400]){ 0 }, proc), "/700"));
	/* no daemon, a knob changes during the window */
	run_doctor(admin_writes);
	expect("foreign-tuner", DOCTOR_ACTION, "pages_to_scan changed from 100 to 1250 during the window");
	/* with ksmpilotd running, the knobs are its own to change; it reports the others */
	knob("pages_to_scan", 100);
	daemon_runs("run=1\nhazard_foreign_tuner=1\nforeign_changes=14\n");
	run_doctor(admin_writes);
	expect("foreign-tuner", DOCTOR_ACTION, "ksmpilotd saw 14 knob changes");
	expect_not("foreign-tuner", DOCTOR_OK);
	for (unsigned i = 0; i < rep.n; i++)
		assert_null(strstr(rep.f[i].evidence, "during the window"));
	/* a daemon holding its lock without a state file yet: its writes
	 * during the window are not someone else's */
	knob("pages_to_scan", 100);
	assert_int_equal(unlink(strcat(strcpy((char[400]){ 0 }, state), "/state")), 0);
	run_doctor(admin_writes);
	for (unsigned i = 0; i < rep.n; i++)
		assert_null(strstr(rep.f[i].evidence, "during the window"));
	daemon_runs("run=1\nhazard_foreign_tuner=0\nforeign_changes=1\n");
	run_doctor(NULL);
	expect("foreign-tuner", DOCTOR_INFO, "1 knob changes since");
	/* another ksmpilotd, not the one holding this state_dir; those on
	 * another KSM directory, dry runs and --once tune nothing here */
	{
		char args[600];
		int n = snprintf(args, sizeof(args), "/usr/sbin/ksmpilotd%c-c%c/tmp/other.conf%c--sysfs-dir=%s%c", 0, 0, 0,
				 ksm, 0);
		process(810, "ksmpilotd", ARGS("/usr/sbin/ksmpilotd\0--sysfs-dir\0/tmp/fake/ksm\0"), NULL, NULL);
		process(811, "ksmpilotd", ARGS("/usr/sbin/ksmpilotd\0--dry-run\0"), NULL, NULL);
		process(812, "ksmpilotd", ARGS("/usr/sbin/ksmpilotd\0--once\0"), NULL, NULL);
		run_doctor(NULL);
		expect("foreign-tuner", DOCTOR_INFO, NULL);
		process(800, "ksmpilotd", args, (size_t)n, NULL, NULL);
		run_doctor(NULL);
		expect("foreign-tuner", DOCTOR_ACTION, "another ksmpilotd (pid 800)");
		for (unsigned i = 0; i < rep.n; i++)
			assert_null(strstr(rep.f[i].evidence, "pid 81"));
	}
}

static void test_guest_cmdline(void **unused)
{
	(void)unused;
	snprintf(cfg.guest_cmdline, sizeof(cfg.guest_cmdline), "^/usr/bin/qemu-system");
	process(900, "qemu-system-x86", ARGS("/usr/libexec/qemu-kvm\0-m\0" "4096\0"), NULL, NULL);
	run_doctor(NULL);
	expect("guest-cmdline", DOCTOR_ACTION, "guest_cmdline = ^/usr/bin/qemu-system; it matches 0 command lines; 1 QEMU "
					       "processes run; one it misses: /usr/libexec/qemu-kvm -m 4096");
	/* it matches something, but not the QEMU running */
	snprintf(cfg.guest_cmdline, sizeof(cfg.guest_cmdline), "^/sbin/init");
	run_doctor(NULL);
	expect("guest-cmdline", DOCTOR_ACTION, "misses 1 of the 1 QEMU processes");
	/* matched against the arguments joined by spaces, as ksmpilotd does */
	snprintf(cfg.guest_cmdline, sizeof(cfg.guest_cmdline), "qemu-kvm -m 4096$");
	run_doctor(NULL);
	expect("guest-cmdline", DOCTOR_OK, "matches 1 process");
	/* a newline inside an argument is a space, as ksmpilotd's guest scan
	 * sees it (cmdline_join()): "^" after the ".*" of regcomp_search()
	 * does not match after it, in doctor's own scan as in qemu_count() */
	process(901, "sh", ARGS("sh\0-c\0x\nqemu-kvm -m 4096\0"), NULL, NULL);
	snprintf(cfg.guest_cmdline, sizeof(cfg.guest_cmdline), "^qemu-kvm -m 4096$");
	run_doctor(NULL);
	expect("guest-cmdline", DOCTOR_ACTION, "it matches 0 command lines");
	for (unsigned i = 0; i < in->nprocs; i++)
		assert_false(in->procs[i].pid == 901 && in->procs[i].guest);
	snprintf(cfg.guest_cmdline, sizeof(cfg.guest_cmdline), "sh -c x qemu-kvm");
	run_doctor(NULL);
	expect("guest-cmdline", DOCTOR_ACTION, "guest_cmdline = sh -c x qemu-kvm; it matches 1 command lines");
	{
		bool seen = false;
		for (unsigned i = 0; i < in->nprocs; i++)
			seen |= in->procs[i].pid == 901 && in->procs[i].guest;
		assert_true(seen);
	}
	{
		/* a command line of 10 KiB, matched at its end, as the daemon
		 * matches up to CMDLINE_MATCH_MAX: in doctor's own scan and in
		 * qemu_count() */
		static char args[10 * 1024 + 64];
		size_t n = (size_t)snprintf(args, sizeof(args), "/usr/bin/qemu-system-x86_64%c-append%c", 0, 0);
		bool seen = false;
		memset(args + n, 'a', 10 * 1024);
		n += 10 * 1024;
		n += (size_t)snprintf(args + n, sizeof(args) - n, "%c-name%cguest=far", 0, 0) + 1;
		process(902, "qemu-system-x86", args, n, NULL, NULL);
		snprintf(cfg.guest_cmdline, sizeof(cfg.guest_cmdline), "guest=far$");
		run_doctor(NULL);
		expect("guest-cmdline", DOCTOR_ACTION, "guest_cmdline = guest=far$; it matches 1 command lines");
		for (unsigned i = 0; i < in->nprocs; i++)
			seen |= in->procs[i].pid == 902 && in->procs[i].guest && strcmp(in->procs[i].name, "far") == 0;
		assert_true(seen);
	}
	snprintf(cfg.guest_cmdline, sizeof(cfg.guest_cmdline), "(");
	run_doctor(NULL);
	expect("guest-cmdline", DOCTOR_ACTION, "guest_cmdline = (");
	cfg.guest_cmdline[0] = '\0';
	run_doctor(NULL);
	expect("guest-cmdline", DOCTOR_OK, NULL);
}

/* Hostile names from /proc do not reach the output raw. */
static void test_hostile_names(void **unused)
{
	char smaps[4096] = "";

	(void)unused;
	vma(smaps, sizeof(smaps), 0x10000, "", 1048576, 0, 0, "rd wr mr mw me ac sd");
	process(950, "qemu\x1b[2J", ARGS("qemu\0-name\0guest=\x1b]0;pwned\x07,x=y\0"), KSM_STAT_NONE, smaps);
	run_doctor(NULL);
	for (unsigned i = 0; i < rep.n; i++) {
		for (const char *s = rep.f[i].summary; *s; s++)
			assert_true((unsigned char)*s >= 0x20);
		for (const char *s = rep.f[i].evidence; *s; s++)
			assert_true((unsigned char)*s >= 0x20);
	}
	expect("guest-memory", DOCTOR_ACTION, "Guest ?]0;pwned?");
}

static void test_parse_smaps(void **unused)
{
	struct doctor_proc p;
	char smaps[8192] = "";

	(void)unused;
	memset(&p, 0, sizeof(p));
	vma(smaps, sizeof(smaps), 0x10000, "", 1000, 512, 0, "rd wr mr mw me ac sd mg");
	vma(smaps, sizeof(smaps), 0x20000, "[heap]", 30, 0, 0, "rd wr mr mw me ac sd");
	vma(smaps, sizeof(smaps), 0x30000, "/usr/lib/libc.so.6", 400, 0, 0, "rd ex mr mw me sd");
	vma(smaps, sizeof(smaps), 0x40000, "/dev/shm/x", 70, 0, 0, "rd wr sh mr mw me ms sd");
	vma(smaps, sizeof(smaps), 0x50000, "/memfd:ram (deleted)", 9, 0, 0, "rd wr sh mr mw me ms sd");
	vma(smaps, sizeof(smaps), 0x60000, "/dev/hugepages/x", 0, 0, 2048, "rd wr sh mr mw me ms de ht sd");
	/* "mg" only as a whole flag, not inside another */
	vma(smaps, sizeof(smaps), 0x70000, "", 5, 0, 0, "rd wr mgx");
	doctor_parse_smaps(smaps, &p);
	assert_int_equal(p.mergeable_kb, 1000);
	assert_int_equal(p.mergeable_thp_kb, 512);
	assert_int_equal(p.anon_plain_kb, 35);
	assert_int_equal(p.shared_kb, 70);
	assert_int_equal(p.memfd_kb, 9);
	assert_int_equal(p.hugetlb_kb, 2048);
	/* garbage does not crash and counts nothing */
	doctor_parse_smaps("VmFlags: mg\nRss: x kB\n\n\n-", &p);
	assert_int_equal(p.mergeable_kb, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_healthy),       T(test_ksm_missing),  T(test_run_stopped),  T(test_run_offlining), T(test_advisor),
		T(test_no_mergeable_memory), T(test_guest_memory_kinds), T(test_thp), T(test_numa),
		T(test_negative_profit), T(test_ksmd_busy),  T(test_map_count),    T(test_foreign_tuner),
		T(test_guest_cmdline), T(test_hostile_names), T(test_parse_smaps),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
