/* workload.c - a KSM workload for the real-kernel tests and the benchmark.
 *
 * N processes each map M MiB of anonymous memory and fill it with:
 *   - mergeable pages: one of a few repeated patterns, the same in every
 *     process (so they merge within and across processes);
 *   - volatile pages: rewritten with fresh data every interval, never
 *     stable long enough to merge;
 *   - unique pages: random data, written once.
 * Then madvise(MADV_MERGEABLE) marks the whole area. The parent prints one
 * "pid N" line per child, writes the pids to --pid-file when every child is
 * ready, and on SIGTERM/SIGINT (or after --time) stops them and exits 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* xorshift64*: fast, and different per process */
static uint64_t rng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static void fill_random(unsigned char *p, uint64_t *seed)
{
	uint64_t *w = (uint64_t *)(void *)p;
	for (unsigned i = 0; i < PAGE / 8; i++)
		w[i] = rng(seed);
}

static void fill_pattern(unsigned char *p, unsigned pattern)
{
	/* a non-zero pattern, so use_zero_pages plays no part */
	memset(p, (int)(0x11 * (pattern % 15 + 1)), PAGE);
	memcpy(p, &pattern, sizeof(pattern));
}

struct opts {
	unsigned long size_mib;
	unsigned procs;
	unsigned mergeable_pct, volatile_pct, patterns, interval_ms;
	unsigned seconds;
	const char *pid_file;
	unsigned tag;
};

static void child(const struct opts *o, unsigned idx, int ready_fd)
{
	size_t len = o->size_mib * 1024u * 1024u, pages = len / PAGE;
	size_t n_merge = pages * o->mergeable_pct / 100, n_vol = pages * o->volatile_pct / 100;
	uint64_t seed = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)getpid() << 20) ^ idx ^ ((uint64_t)o->tag << 40);
	struct timespec ts = { (time_t)(o->interval_ms / 1000), (long)(o->interval_ms % 1000) * 1000000L };
	unsigned char *m;
	char c = 'r';

	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		perror("workload: mmap");
		_exit(1);
	}
	/* interleave the kinds so that scans meet all of them everywhere */
	for (size_t i = 0; i < pages; i++) {
		unsigned char *p = m + i * PAGE;
		size_t slot = i % 100;
		if (slot < o->mergeable_pct)
			fill_pattern(p, (unsigned)((i / 100) % o->patterns) + o->tag * 1000u);
		else
			fill_random(p, &seed);
	}
	if (madvise(m, len, MADV_MERGEABLE) < 0) {
		perror("workload: madvise(MADV_MERGEABLE)");
		_exit(1);
	}
	if (write(ready_fd, &c, 1) != 1)
		_exit(1);
	close(ready_fd);
	(void)n_merge;
	while (!stop) {
		if (n_vol) {
			for (size_t i = 0; i < pages; i++) {
				size_t slot = i % 100;
				if (slot >= o->mergeable_pct && slot < o->mergeable_pct + o->volatile_pct)
					*(uint64_t *)(void *)(m + i * PAGE + (rng(&seed) % (PAGE / 8)) * 8) = rng(&seed);
			}
		}
		nanosleep(&ts, NULL);
	}
	_exit(0);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: workload [-s MiB] [-p procs] [-m mergeable%%] [-v volatile%%] [-P patterns]\n"
			"                [-i interval_ms] [-t seconds] [-T tag] [-f pid_file]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = { 256, 1, 60, 10, 4, 100, 0, NULL, 0 };
	struct sigaction sa;
	pid_t *pids;
	int fds[2], c;
	time_t t0 = time(NULL);

	while ((c = getopt(argc, argv, "s:p:m:v:P:i:t:T:f:")) != -1) {
		unsigned long v;
		if (c == 'f') {
			o.pid_file = optarg;
			continue;
		}
		if (parse_uint(optarg, 1UL << 20, &v) < 0)
			usage();
		switch (c) {
		case 's': o.size_mib = v; break;
		case 'p': o.procs = (unsigned)v; break;
		case 'm': o.mergeable_pct = (unsigned)v; break;
		case 'v': o.volatile_pct = (unsigned)v; break;
		case 'P': o.patterns = (unsigned)v; break;
		case 'i': o.interval_ms = (unsigned)v; break;
		case 't': o.seconds = (unsigned)v; break;
		case 'T': o.tag = (unsigned)v; break;
		default: usage();
		}
	}
	if (o.mergeable_pct + o.volatile_pct > 100 || o.procs == 0 || o.patterns == 0 || o.size_mib == 0 ||
	    o.interval_ms == 0)
		usage();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (pipe(fds) < 0) {
		perror("workload: pipe");
		return 1;
	}
	pids = calloc(o.procs, sizeof(*pids));
	if (!pids)
		return 1;
	for (unsigned i = 0; i < o.procs; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("workload: fork");
			stop = 1;
			break;
		}
		if (pids[i] == 0) {
			close(fds[0]);
			child(&o, i, fds[1]);
		}
		printf("pid %d\n", (int)pids[i]);
	}
	fflush(stdout);
	close(fds[1]);
	for (unsigned i = 0; i < o.procs && !stop; i++) {
		char ch;
		if (read(fds[0], &ch, 1) != 1)
			break;
	}
	if (o.pid_file && !stop) {
		char tmp[4096];
		FILE *f;
		snprintf(tmp, sizeof(tmp), "%s.tmp", o.pid_file);
		f = fopen(tmp, "w");
		if (f) {
			for (unsigned i = 0; i < o.procs; i++)
				fprintf(f, "%d\n", (int)pids[i]);
			if (fclose(f) == 0)
				rename(tmp, o.pid_file);
		}
	}
	while (!stop && (o.seconds == 0 || time(NULL) - t0 < (time_t)o.seconds))
		sleep(1);
	for (unsigned i = 0; i < o.procs; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (unsigned i = 0; i < o.procs; i++)
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);
	free(pids);
	return 0;
}
