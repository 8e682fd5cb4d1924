/* workload.c - a KSM workload for the real-kernel tests and the benchmark.
 *
 * N processes each map M MiB of anonymous memory and fill it with:
 *   - mergeable pages: one of a few repeated patterns, the same in every
 *     process (so they merge within and across processes);
 *   - volatile pages: rewritten with fresh data every interval, never
 *     stable long enough to merge;
 *   - unique pages: random data, written once.
 * Then madvise(MADV_MERGEABLE) marks the whole area (not with -n). The
 * parent prints one "pid N" line per child, writes the pids to --pid-file
 * when every child is ready, and on SIGTERM/SIGINT (or after --time) stops
 * them and exits 0.
 *
 * Two behaviours for the benchmark's scenarios, both off by default:
 *   - COW rewrites (-c RATE): each child rewrites RATE of its mergeable
 *     pages a second, chosen at random, with the pattern they already hold.
 *     A merged page written to is copied (a COW break); its content is the
 *     pattern again, so KSM can merge it back on its next visit.
 *   - bursts (-b PERIOD): each child maps its area, fills it, holds it for
 *     -H ms and unmaps it, one burst every PERIOD ms, like a build that
 *     allocates and frees. -j randomises sizes, holds and periods.
 * Randomness that must be the same from one run to the next (burst
 * schedule, which pages are rewritten) comes from -S SEED and the child's
 * index only. */
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

/* a uniform double in [0, 1) */
static double rng_unit(uint64_t *s)
{
	return (double)(rng(s) >> 11) / 9007199254740992.0;
}

/* splitmix64: turns a small seed into a good xorshift state (never 0) */
static uint64_t seed_mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	x ^= x >> 31;
	return x ? x : 1;
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
	int no_madvise;                 /* -n */
	unsigned cow_rate;              /* -c: mergeable pages rewritten a second */
	unsigned delay_s;               /* -d: before the COW rewrites or the first burst */
	unsigned burst_ms, hold_ms;     /* -b, -H: burst period and hold */
	unsigned jitter_pct;            /* -j */
	unsigned long seed;             /* -S */
};

/* an area laid out as the options say */
struct area {
	unsigned char *m;
	size_t len, pages;
};

static unsigned page_pattern(const struct opts *o, size_t i)
{
	return (unsigned)((i / 100) % o->patterns) + o->tag * 1000u;
}

static int is_mergeable(const struct opts *o, size_t i)
{
	return i % 100 < o->mergeable_pct;
}

static int is_volatile(const struct opts *o, size_t i)
{
	size_t slot = i % 100;
	return slot >= o->mergeable_pct && slot < o->mergeable_pct + o->volatile_pct;
}

static int area_map(const struct opts *o, struct area *a, size_t pages, uint64_t *seed)
{
	a->pages = pages;
	a->len = pages * PAGE;
	a->m = mmap(NULL, a->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a->m == MAP_FAILED) {
		perror("workload: mmap");
		return -1;
	}
	/* interleave the kinds so that scans meet all of them everywhere */
	for (size_t i = 0; i < pages; i++) {
		unsigned char *p = a->m + i * PAGE;
		if (is_mergeable(o, i))
			fill_pattern(p, page_pattern(o, i));
		else
			fill_random(p, seed);
	}
	if (!o->no_madvise && madvise(a->m, a->len, MADV_MERGEABLE) < 0) {
		perror("workload: madvise(MADV_MERGEABLE)");
		return -1;
	}
	return 0;
}

static void rewrite_volatile(const struct opts *o, const struct area *a, uint64_t *seed)
{
	if (!o->volatile_pct)
		return;
	for (size_t i = 0; i < a->pages; i++)
		if (is_volatile(o, i))
			*(uint64_t *)(void *)(a->m + i * PAGE + (rng(seed) % (PAGE / 8)) * 8) = rng(seed);
}

/* the number of mergeable pages of an area of PAGES pages */
static size_t mergeable_count(const struct opts *o, size_t pages)
{
	size_t rem = pages % 100;
	if (rem > o->mergeable_pct)
		rem = o->mergeable_pct;
	return pages / 100 * o->mergeable_pct + rem;
}

/* rewrite N random mergeable pages with the pattern they hold */
static void cow_rewrite(const struct opts *o, const struct area *a, size_t n, uint64_t *pick)
{
	size_t total = mergeable_count(o, a->pages);
	if (!total)
		return;
	for (size_t k = 0; k < n; k++) {
		size_t j = (size_t)(rng(pick) % total);
		size_t i = j / o->mergeable_pct * 100 + j % o->mergeable_pct;
		fill_pattern(a->m + i * PAGE, page_pattern(o, i));
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* sleep until the CLOCK_MONOTONIC time T (seconds); returns early on stop */
static void sleep_until(double t)
{
	struct timespec ts;
	if (t <= 0)
		return;
	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* sleep until T, rewriting the volatile pages of A (if any) every interval */
static void hold_until(const struct opts *o, const struct area *a, double t, uint64_t *seed)
{
	double step = o->interval_ms / 1000.0;
	while (!stop && now_s() < t) {
		double next = now_s() + step;
		if (a)
			rewrite_volatile(o, a, seed);
		sleep_until(next < t ? next : t);
	}
}

/* a factor in [1 - j, 1 + j], j = jitter_pct / 100 */
static double jitter(const struct opts *o, uint64_t *sched)
{
	return 1.0 + (double)o->jitter_pct / 100.0 * (2.0 * rng_unit(sched) - 1.0);
}

static void child_bursts(const struct opts *o, size_t pages, uint64_t *seed, uint64_t *sched)
{
	double next = now_s() + o->delay_s;

	hold_until(o, NULL, next, seed);
	while (!stop) {
		double start = now_s(), hold, period;
		/* size in [1 - j, 1] of -s: a burst never exceeds the budget */
		double f = 1.0 - (double)o->jitter_pct / 100.0 * rng_unit(sched);
		size_t n = (size_t)((double)pages * f);
		struct area a;

		hold = o->hold_ms / 1000.0 * jitter(o, sched);
		period = o->burst_ms / 1000.0 * jitter(o, sched);
		if (area_map(o, &a, n ? n : 1, seed) < 0)
			_exit(1);
		hold_until(o, &a, start + hold, seed);
		munmap(a.m, a.len);
		next = start + period;
		if (next < now_s())
			next = now_s();
		hold_until(o, NULL, next, seed);
	}
}

static void child_steady(const struct opts *o, const struct area *a, uint64_t *seed, uint64_t *pick)
{
	double t_cow = now_s() + o->delay_s, last = 0, owed = 0;
	struct timespec ts = { (time_t)(o->interval_ms / 1000), (long)(o->interval_ms % 1000) * 1000000L };

	while (!stop) {
		rewrite_volatile(o, a, seed);
		if (o->cow_rate) {
			double t = now_s();
			if (t >= t_cow) {
				if (last > 0)
					owed += (t - last) * o->cow_rate;
				last = t;
				if (owed >= 1) {
					size_t n = (size_t)owed;
					cow_rewrite(o, a, n, pick);
					owed -= (double)n;
				}
			}
		}
		nanosleep(&ts, NULL);
	}
}

static void child(const struct opts *o, unsigned idx, int ready_fd)
{
	size_t pages = o->size_mib * 1024u * 1024u / PAGE;
	uint64_t seed = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)getpid() << 20) ^ idx ^ ((uint64_t)o->tag << 40);
	/* the same in every run: from -S and the child's index only */
	uint64_t sched = seed_mix(o->seed * 2 + 1 + ((uint64_t)idx << 32));
	uint64_t pick = seed_mix(o->seed * 2 + ((uint64_t)idx << 32));
	struct area a = { NULL, 0, 0 };
	char c = 'r';

	if (!o->burst_ms && area_map(o, &a, pages, &seed) < 0)
		_exit(1);
	if (write(ready_fd, &c, 1) != 1)
		_exit(1);
	close(ready_fd);
	if (o->burst_ms)
		child_bursts(o, pages, &seed, &sched);
	else
		child_steady(o, &a, &seed, &pick);
	_exit(0);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: workload [-s MiB] [-p procs] [-m mergeable%%] [-v volatile%%] [-P patterns]\n"
		"                [-i interval_ms] [-t seconds] [-T tag] [-f pid_file] [-n]\n"
		"                [-c cow_pages_per_s] [-d delay_s] [-b burst_period_ms [-H hold_ms] [-j jitter%%]]\n"
		"                [-S seed]\n"
		"  -n  do not madvise(MADV_MERGEABLE): memory KSM never scans\n"
		"  -c  rewrite this many random mergeable pages a second (per process) with the\n"
		"      pattern they hold: merged ones are copied (COW), then can merge again\n"
		"  -d  start the rewrites of -c, or the bursts of -b, this many seconds after start-up\n"
		"  -b  bursts: map -s MiB, fill, hold -H ms (default half the period), unmap; one burst\n"
		"      every burst_period_ms\n"
		"  -j  bursts: sizes in [100-j, 100]%% of -s, holds and periods in [100-j, 100+j]%%\n"
		"  -S  seed of the burst schedule and of the pages -c picks (default 1)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = { 256, 1, 60, 10, 4, 100, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 1 };
	struct sigaction sa;
	pid_t *pids;
	int fds[2], c, hold_set = 0;
	time_t t0 = time(NULL);

	while ((c = getopt(argc, argv, "s:p:m:v:P:i:t:T:f:nc:d:b:H:j:S:")) != -1) {
		unsigned long v;
		if (c == 'f') {
			o.pid_file = optarg;
			continue;
		}
		if (c == 'n') {
			o.no_madvise = 1;
			continue;
		}
		if (c == '?' || parse_uint(optarg, c == 'S' ? 0xffffffffUL : 1UL << 20, &v) < 0)
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
		case 'c': o.cow_rate = (unsigned)v; break;
		case 'd': o.delay_s = (unsigned)v; break;
		case 'b': o.burst_ms = (unsigned)v; break;
		case 'H': o.hold_ms = (unsigned)v; hold_set = 1; break;
		case 'j': o.jitter_pct = (unsigned)v; break;
		case 'S': o.seed = v; break;
		default: usage();
		}
	}
	if (optind != argc || o.mergeable_pct + o.volatile_pct > 100 || o.procs == 0 || o.patterns == 0 ||
	    o.size_mib == 0 || o.interval_ms == 0 || o.jitter_pct > 100)
		usage();
	if (o.burst_ms && o.cow_rate) {
		fprintf(stderr, "workload: -c and -b do not go together\n");
		usage();
	}
	if ((hold_set || o.jitter_pct) && !o.burst_ms) {
		fprintf(stderr, "workload: -H and -j need -b\n");
		usage();
	}
	if (o.burst_ms && !hold_set)
		o.hold_ms = o.burst_ms / 2;
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
