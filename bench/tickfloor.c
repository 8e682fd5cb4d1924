/* tickfloor - what the machine charges for a tick before any daemon code runs.
 *
 * A loop that sleeps to an absolute deadline (clock_nanosleep, the cheapest
 * wake-up there is) and then, depending on LEVEL, reads what every
 * ksmpilotd tick has to read:
 *   0  nothing: the wake-up alone;
 *   1  /proc/meminfo (one pread on a kept descriptor) and MemAvailable
 *      parsed out of it;
 *   2  as 1, plus one pread on each KSM file ksmpilotd reads every tick
 *      (those present under KSM_DIR) and on /proc/<ksmd>/stat.
 * It prints "LEVEL TICKS NS": the task's sum_exec_runtime
 * (/proc/self/schedstat) over TICKS ticks, after three ticks to settle.
 * bench/tickcost sets these floors beside the daemon's own cost per tick.
 *
 * Usage: tickfloor INTERVAL_MS TICKS LEVEL [KSM_DIR]
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ksm.h"
#include "sample.h"

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int runtime_ns(unsigned long long *ns)
{
	char buf[128];
	int fd = open("/proc/self/schedstat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *end;
	errno = 0;
	*ns = strtoull(buf, &end, 10);
	return (errno != 0 || end == buf) ? -1 : 0;
}

/* The pid of the kernel thread ksmd, or -1. */
static long find_ksmd(void)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -1;
	long pid = -1;
	struct dirent *e;
	while (pid < 0 && (e = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		char path[300], comm[32];
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n > 0) {
			comm[n] = '\0';
			if (strcmp(comm, "ksmd\n") == 0)
				pid = strtol(e->d_name, NULL, 10);
		}
	}
	closedir(d);
	return pid;
}

static void advance(struct timespec *t, long interval_ms)
{
	t->tv_sec += interval_ms / 1000;
	t->tv_nsec += (interval_ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_nsec -= 1000000000L;
		t->tv_sec++;
	}
}

int main(int argc, char **argv)
{
	long interval_ms, ticks, level;
	if (argc < 4 || argc > 5 || parse_long(argv[1], 1, 60000, &interval_ms) < 0 ||
	    parse_long(argv[2], 1, 10000000, &ticks) < 0 || parse_long(argv[3], 0, 2, &level) < 0) {
		fprintf(stderr, "Usage: tickfloor INTERVAL_MS TICKS LEVEL(0-2) [KSM_DIR]\n");
		return 2;
	}
	const char *ksm_dir = argc == 5 ? argv[4] : "/sys/kernel/mm/ksm";

	int mem_fd = -1, fds[KSM_ITEM_COUNT + 1];
	size_t nfd = 0;
	if (level >= 1) {
		mem_fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
		if (mem_fd < 0) {
			fprintf(stderr, "tickfloor: /proc/meminfo: %s\n", strerror(errno));
			return 1;
		}
	}
	if (level >= 2) {
		char path[512];
		/* the KSM files sample_take() reads every tick */
		for (int i = 0; i < KSM_ITEM_COUNT; i++) {
			if (!(SAMPLE_KSM_HOT & KSM_BIT(i)))
				continue;
			int len = snprintf(path, sizeof(path), "%s/%s", ksm_dir, ksm_item_name((enum ksm_item)i));
			if (len < 0 || (size_t)len >= sizeof(path)) {
				fprintf(stderr, "tickfloor: KSM_DIR too long: %s\n", ksm_dir);
				return 2;
			}
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0)
				fds[nfd++] = fd;
		}
		long ksmd = find_ksmd();
		if (ksmd > 0) {
			snprintf(path, sizeof(path), "/proc/%ld/stat", ksmd);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0)
				fds[nfd++] = fd;
		}
	}

	char buf[8192];
	long long sink = 0;
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	unsigned long long start = 0, end = 0;
	for (long k = -3; k < ticks; k++) {
		if (k == 0 && runtime_ns(&start) < 0) {
			fprintf(stderr, "tickfloor: cannot read /proc/self/schedstat\n");
			return 1;
		}
		advance(&next, interval_ms);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
		if (mem_fd >= 0) {
			ssize_t n = pread(mem_fd, buf, sizeof(buf) - 1, 0);
			if (n > 0) {
				buf[n] = '\0';
				const char *p = strstr(buf, "MemAvailable:");
				if (p)
					sink += strtoll(p + 13, NULL, 10);
			}
		}
		for (size_t i = 0; i < nfd; i++)
			sink += pread(fds[i], buf, 511, 0);
	}
	if (runtime_ns(&end) < 0) {
		fprintf(stderr, "tickfloor: cannot read /proc/self/schedstat\n");
		return 1;
	}
	/* sink keeps the reads from being optimised away; it is never 0 at level 1+. */
	printf("%ld %ld %llu%s\n", level, ticks, end - start, (level > 0 && sink == 0) ? " (nothing read)" : "");
	return 0;
}
