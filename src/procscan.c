/* procscan.c - see procscan.h */
#include "procscan.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static const char *const stat_names[PS_STAT_COUNT] = {
	[PS_RMAP_ITEMS] = "ksm_rmap_items",
	[PS_ZERO_PAGES] = "ksm_zero_pages",
	[PS_MERGING_PAGES] = "ksm_merging_pages",
	[PS_PROCESS_PROFIT] = "ksm_process_profit",
	[PS_MERGEABLE] = "ksm_mergeable",
	[PS_MERGE_ANY] = "ksm_merge_any",
};

const char *procscan_stat_name(enum procscan_stat f)
{
	return (unsigned)f < PS_STAT_COUNT ? stat_names[f] : "?";
}

static bool is_flag(enum procscan_stat f)
{
	return f == PS_MERGEABLE || f == PS_MERGE_ANY;
}

/* What the kernel can show: counts are >= 0, the profit may be negative,
 * the flags are 0 or 1. */
static void stat_range(enum procscan_stat f, int64_t *lo, int64_t *hi)
{
	*lo = f == PS_PROCESS_PROFIT ? INT64_MIN : 0;
	*hi = is_flag(f) ? 1 : INT64_MAX;
}

/* ---- reading /proc ---------------------------------------------------------- */

/* One field's value, after the name: " VALUE" or ": VALUE", len bytes. */
static int parse_stat_value(enum procscan_stat f, const char *val, size_t len, int64_t *out)
{
	char buf[32];
	const char *end = val + len;
	int64_t lo, hi;

	if (val < end && *val == ':')
		val++;
	while (val < end && *val == ' ')
		val++;
	if (val == end || (size_t)(end - val) >= sizeof(buf))
		return -EBADMSG;
	memcpy(buf, val, (size_t)(end - val));
	buf[end - val] = '\0';
	if (is_flag(f)) {
		if (strcmp(buf, "yes") != 0 && strcmp(buf, "no") != 0)
			return -EBADMSG;
		*out = strcmp(buf, "yes") == 0;
		return 0;
	}
	stat_range(f, &lo, &hi);
	return buf[0] == ' ' || parse_i64(buf, lo, hi, out) < 0 ? -EBADMSG : 0;
}

int procscan_parse_ksm_stat(const char *text, struct procscan_proc *p)
{
	int64_t v[PS_STAT_COUNT] = { 0 };
	uint32_t present = 0, bad = 0;
	const char *line = text;

	while (*line) {
		size_t len = strcspn(line, "\n"), name_len = strcspn(line, " :\n");
		const char *val = line + name_len;
		int f;

		for (f = 0; f < PS_STAT_COUNT; f++)
			if (strlen(stat_names[f]) == name_len && strncmp(line, stat_names[f], name_len) == 0)
				break;
		if (f < PS_STAT_COUNT && parse_stat_value((enum procscan_stat)f, val, (size_t)(line + len - val),
							  &v[f]) == 0 && !(present & PS_BIT(f)))
			present |= PS_BIT(f);
		else if (f < PS_STAT_COUNT)
			bad |= PS_BIT(f);
		line += len;
		if (*line == '\n')
			line++;
	}
	/* a bad or repeated field is left out, the others are kept: one
	 * counter a kernel shows wrapped (6.6-6.9's ksm_zero_pages) must not
	 * hide the process */
	present &= ~bad;
	for (int f = 0; f < PS_STAT_COUNT; f++)
		p->stat[f] = (present & PS_BIT(f)) ? v[f] : 0;
	p->present = present;
	return bad ? -EBADMSG : 0;
}

static bool has_positive(const struct procscan_proc *p, enum procscan_stat f)
{
	return (p->present & PS_BIT(f)) && p->stat[f] > 0;
}

bool procscan_uses_ksm(const struct procscan_proc *p)
{
	return has_positive(p, PS_RMAP_ITEMS) || has_positive(p, PS_MERGING_PAGES) ||
	       has_positive(p, PS_ZERO_PAGES) || has_positive(p, PS_MERGEABLE) || has_positive(p, PS_MERGE_ANY);
}

/* The real uid from the "Uid:" line of status. */
static int read_uid(int pfd, uint32_t *uid)
{
	char buf[4096], *p;
	uint64_t v;
	ssize_t n = read_file_at(pfd, "status", buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	p = strstr(buf, "\nUid:");
	if (!p)
		return -EBADMSG;
	p += 5;
	while (*p == '\t' || *p == ' ')
		p++;
	buf[sizeof(buf) - 1] = '\0';
	p[strcspn(p, "\t \n")] = '\0';
	if (parse_u64(p, 0, UINT32_MAX, &v) < 0)
		return -EBADMSG;
	*uid = (uint32_t)v;
	return 0;
}

/* The arguments joined by spaces, at most PROCSCAN_CMDLINE_MAX - 1 bytes. */
static int read_cmdline(int pfd, char *out)
{
	ssize_t n = read_file_at(pfd, "cmdline", out, PROCSCAN_CMDLINE_MAX);

	if (n < 0)
		return (int)n;
	for (ssize_t i = 0; i < n; i++)
		if (out[i] == '\0')
			out[i] = ' ';
	while (n > 0 && out[n - 1] == ' ')
		out[--n] = '\0';
	/* shown and stored, never matched: other control characters are '?' */
	text_sanitize(out);
	return 0;
}

static int read_comm(int pfd, char *out)
{
	ssize_t n = read_file_at(pfd, "comm", out, PROCSCAN_COMM_MAX);

	if (n < 0)
		return (int)n;
	if (n > 0 && out[n - 1] == '\n')
		out[n - 1] = '\0';
	text_sanitize(out);
	return 0;
}

int procscan_parse_start(const char *text, uint64_t *start)
{
	const char *p = strrchr(text, ')');
	char *end;
	uint64_t v;

	if (!p)
		return -EBADMSG;
	p++;
	/* fields 3 (the state) to 21 */
	for (int field = 3; field < 22; field++) {
		p += strspn(p, " ");
		if (!*p)
			return -EBADMSG;
		p += strcspn(p, " ");
	}
	p += strspn(p, " ");
	if (!isdigit((unsigned char)*p))
		return -EBADMSG;
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno || (*end != ' ' && *end != '\n' && *end != '\0'))
		return -EBADMSG;
	*start = v;
	return 0;
}

int procscan_read_start(int pfd, uint64_t *start)
{
	char buf[1024]; /* a stat line is about 300 bytes, its comm at most 15 */
	ssize_t n = read_file_at(pfd, "stat", buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	return procscan_parse_start(buf, start);
}

/* The process's maps, opened while ptrace read access is still to be had
 * (Landlock denies it to a confined process): -errno if it cannot be. */
static int open_maps(int pfd)
{
	struct stat st;
	int fd = openat(pfd, "maps", O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* Lines of the maps file open at fd, counting at most limit of them. */
static int count_maps(int fd, uint64_t limit, uint64_t *out)
{
	char buf[16384];
	uint64_t lines = 0;
	ssize_t n = 0;

	while (lines < limit) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	}
	if (n < 0)
		return -errno;
	*out = lines < limit ? lines : limit;
	return 0;
}

static uint64_t read_max_map_count(const char *proc_dir)
{
	char path[4096], buf[64];
	uint64_t v = 0;
	ssize_t n;

	if ((size_t)snprintf(path, sizeof(path), "%s/sys/vm/max_map_count", proc_dir) >= sizeof(path))
		return PROCSCAN_DEFAULT_MAX_MAP_COUNT;
	n = read_file_at(AT_FDCWD, path, buf, sizeof(buf));
	if (n > 0 && parse_u64(buf, 1, INT32_MAX, &v) == 0)
		return v;
	return PROCSCAN_DEFAULT_MAX_MAP_COUNT;
}

/* Fill p's KSM counters for the process in pfd. 1: a KSM process; 0: not
 * one; -EACCES: ksm_stat denied; another -errno: gone or unreadable (left
 * out). Only the kernel's numbers are read here. */
static int scan_stat(int pfd, struct procscan_proc *p)
{
	char buf[PROCSCAN_STAT_MAX] = "";
	ssize_t n = read_file_at(pfd, "ksm_stat", buf, sizeof(buf));

	if (n == -EACCES || n == -EPERM)
		return -EACCES;
	if (n >= 0) {
		/* a bad field is left out (-EBADMSG), the process kept */
		(void)procscan_parse_ksm_stat(buf, p);
		/* 6.1 to 6.3: ksm_stat without the merged pages, which are
		 * in their own file still */
		if (!(p->present & PS_BIT(PS_MERGING_PAGES)) && read_file_at(pfd, "ksm_merging_pages", buf, sizeof(buf)) > 0) {
			int64_t v;
			buf[strcspn(buf, "\n")] = '\0';
			if (parse_i64(buf, 0, INT64_MAX, &v) == 0) {
				p->stat[PS_MERGING_PAGES] = v;
				p->present |= PS_BIT(PS_MERGING_PAGES);
			}
		}
	} else if (n == -ENOENT) {
		/* before 6.1: no ksm_stat; 5.19 and 6.0 have ksm_merging_pages */
		int64_t v;
		n = read_file_at(pfd, "ksm_merging_pages", buf, sizeof(buf));
		if (n == -EACCES || n == -EPERM)
			return -EACCES;
		if (n < 0)
			return (int)n;
		buf[strcspn(buf, "\n")] = '\0';
		if (parse_i64(buf, 0, INT64_MAX, &v) < 0)
			return -EBADMSG;
		memset(p->stat, 0, sizeof(p->stat));
		p->stat[PS_MERGING_PAGES] = v;
		p->present = PS_BIT(PS_MERGING_PAGES);
	} else {
		return (int)n;
	}
	return procscan_uses_ksm(p) ? 1 : 0;
}

/* The rest of p, from what another user can set (its name, its command
 * line, the paths in its maps): read once the scan may be confined. 0, or
 * -errno for a process gone by now (left out). */
static int scan_rest(int pfd, int maps_fd, uint64_t maps_limit, struct procscan_proc *p)
{
	int r = read_uid(pfd, &p->uid);

	if (r == 0)
		r = read_comm(pfd, p->comm);
	if (r == 0)
		r = read_cmdline(pfd, p->cmdline);
	if (r < 0)
		return r;
	if (procscan_read_start(pfd, &p->start) < 0)
		p->start = 0; /* unknown: the record is matched by its comm alone */
	p->have_maps = maps_fd >= 0 && count_maps(maps_fd, maps_limit, &p->maps) == 0;
	return 0;
}

static int parse_pid(const char *name)
{
	uint64_t v;

	if (!isdigit((unsigned char)name[0]) || parse_u64(name, 1, INT32_MAX, &v) < 0 || name[0] == '0')
		return 0;
	for (const char *c = name; *c; c++)
		if (!isdigit((unsigned char)*c))
			return 0;
	return (int)v;
}

#define SPARE_FDS 4

/* The directory and maps descriptors of a record between the two phases. */
struct scan_fds {
	int pfd, maps_fd;
};


/* Room for one more record and its descriptors. */
static int grow(struct procscan *ps, struct scan_fds **fds, unsigned *cap)
{
	unsigned bigger = *cap ? *cap * 2 : 16;
	struct procscan_proc *np;
	struct scan_fds *nf;

	if (ps->n < *cap)
		return 0;
	np = realloc(ps->procs, (size_t)bigger * sizeof(*np));
	if (!np)
		return -ENOMEM;
	ps->procs = np;
	nf = realloc(*fds, (size_t)bigger * sizeof(*nf));
	if (!nf)
		return -ENOMEM;
	*fds = nf;
	*cap = bigger;
	return 0;
}

static bool out_of_fds(int err)
{
	return err == -EMFILE || err == -ENFILE;
}

static void close_pair(int pfd, int maps_fd)
{
	if (pfd >= 0)
		close(pfd);
	if (maps_fd >= 0)
		close(maps_fd);
}

/* The first phase: which processes use KSM, from their ksm_stat. With
 * hold, their directory and maps are held open in fds for the second;
 * without, each record is read whole at once and nothing is held. */
static int find_ksm_processes(DIR *d, struct procscan *ps, struct scan_fds **fds, bool hold, uint64_t maps_limit)
{
	struct dirent *de;
	unsigned cap = 0;

	while ((de = readdir(d)) != NULL) {
		struct procscan_proc p;
		int pid = parse_pid(de->d_name), pfd, maps_fd, r;

		if (pid <= 0)
			continue;
		pfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (pfd < 0 && out_of_fds(-errno)) {
			/* not read, for want of descriptors: whether it uses
			 * KSM is unknown, as when its ksm_stat is denied */
			ps->scanned++;
			ps->denied++;
		}
		if (pfd < 0)
			continue;
		ps->scanned++;
		memset(&p, 0, sizeof(p));
		p.pid = pid;
		r = scan_stat(pfd, &p);
		if (r == -EACCES || out_of_fds(r))
			ps->denied++;
		if (r > 0 && ps->n == PROCSCAN_MAX_PROCS)
			ps->dropped++;
		if (r <= 0 || ps->n == PROCSCAN_MAX_PROCS) {
			close(pfd);
			continue;
		}
		/* a maps file it cannot open counts as unreadable, both ways */
		maps_fd = open_maps(pfd);
		if (!hold) {
			r = scan_rest(pfd, maps_fd, maps_limit, &p);
			close_pair(pfd, maps_fd);
			pfd = maps_fd = -1;
			if (r < 0)
				continue;
			if (!p.have_maps)
				ps->maps_unreadable++;
		}
		if (grow(ps, fds, &cap) < 0) {
			close_pair(pfd, maps_fd);
			return -ENOMEM;
		}
		if (hold) {
			(*fds)[ps->n].pfd = pfd;
			(*fds)[ps->n].maps_fd = maps_fd;
		}
		ps->procs[ps->n++] = p;
	}
	return 0;
}

/* The second phase: the rest of each record; those gone are left out. */
static void read_the_rest(struct procscan *ps, const struct scan_fds *fds, uint64_t maps_limit)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < ps->n; i++) {
		struct procscan_proc p = ps->procs[i];
		if (scan_rest(fds[i].pfd, fds[i].maps_fd, maps_limit, &p) < 0)
			continue;
		if (!p.have_maps)
			ps->maps_unreadable++;
		ps->procs[kept++] = p;
	}
	ps->n = kept;
}

int procscan_run_confined(const char *proc_dir, struct procscan *out, int (*confine)(void *arg), void *arg)
{
	struct scan_fds *fds = NULL;
	struct procscan ps;
	int spare[SPARE_FDS];
	unsigned found;
	DIR *d;
	int r;

	memset(&ps, 0, sizeof(ps));
	ps.time = (int64_t)time(NULL);
	ps.max_map_count = read_max_map_count(proc_dir);
	d = opendir(proc_dir);
	if (!d)
		return -errno;
	/* descriptors held back from the first phase, for the second and for
	 * confine to open theirs */
	for (unsigned i = 0; confine && i < SPARE_FDS; i++)
		spare[i] = fcntl(dirfd(d), F_DUPFD_CLOEXEC, 0);
	/* no process can have more than max_map_count mappings; twice that
	 * is a bound on the read, not a limit of the kernel */
	r = find_ksm_processes(d, &ps, &fds, confine != NULL, ps.max_map_count * 2);
	for (unsigned i = 0; confine && i < SPARE_FDS; i++)
		if (spare[i] >= 0)
			close(spare[i]);
	closedir(d);
	found = confine ? ps.n : 0;
	if (r == 0 && confine)
		r = confine(arg);
	if (r == 0 && found > 0)
		read_the_rest(&ps, fds, ps.max_map_count * 2);
	for (unsigned i = 0; i < found; i++)
		close_pair(fds[i].pfd, fds[i].maps_fd);
	free(fds);
	if (r < 0) {
		procscan_free(&ps);
		return r;
	}
	*out = ps;
	return 0;
}

int procscan_run(const char *proc_dir, struct procscan *out)
{
	return procscan_run_confined(proc_dir, out, NULL, NULL);
}

void procscan_free(struct procscan *ps)
{
	free(ps->procs);
	ps->procs = NULL;
	ps->n = 0;
}

const struct procscan_proc *procscan_worst_maps(const struct procscan *ps)
{
	const struct procscan_proc *worst = NULL;

	for (unsigned i = 0; i < ps->n; i++)
		if (ps->procs[i].have_maps && (!worst || ps->procs[i].maps > worst->maps))
			worst = &ps->procs[i];
	return worst;
}

/* ---- state_dir/processes ---------------------------------------------------- */

#define FILE_MAGIC "# ksmpilot processes v1"

int procscan_format(const struct procscan *ps, char **out)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f;
	int r = 0;

	for (unsigned i = 0; i < ps->n; i++)
		if (strchr(ps->procs[i].comm, '\n') || strchr(ps->procs[i].cmdline, '\n'))
			return -EINVAL;
	f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	fprintf(f, FILE_MAGIC ": key=value, written by ksmpilotctl inspect, documented in ksmpilotctl(8)\n");
	fprintf(f, "version=%d\ntime=%" PRId64 "\nmax_map_count=%" PRIu64 "\n", PROCSCAN_FILE_VERSION, ps->time,
		ps->max_map_count);
	fprintf(f, "scanned=%u\ndenied=%u\nmaps_unreadable=%u\ndropped=%u\nprocesses=%u\n", ps->scanned, ps->denied,
		ps->maps_unreadable, ps->dropped, ps->n);
	for (unsigned i = 0; i < ps->n; i++) {
		const struct procscan_proc *p = &ps->procs[i];
		fprintf(f, "pid=%d\nuid=%" PRIu32 "\ncomm=%s\ncmdline=%s\n", p->pid, p->uid, p->comm, p->cmdline);
		for (int s = 0; s < PS_STAT_COUNT; s++)
			if (p->present & PS_BIT(s))
				fprintf(f, "%s=%" PRId64 "\n", stat_names[s], p->stat[s]);
		if (p->have_maps)
			fprintf(f, "maps=%" PRIu64 "\n", p->maps);
		if (p->start)
			fprintf(f, "start=%" PRIu64 "\n", p->start);
	}
	if (ferror(f))
		r = -ENOMEM;
	if (fclose(f) != 0 && r == 0)
		r = -ENOMEM;
	if (r < 0) {
		free(buf);
		return r;
	}
	*out = buf;
	return 0;
}

/* The header keys, each once, all required. */
enum { H_VERSION, H_TIME, H_MAX_MAP_COUNT, H_SCANNED, H_DENIED, H_MAPS_UNREADABLE, H_DROPPED, H_PROCESSES, H_COUNT };
static const char *const header_keys[H_COUNT] = { "version", "time", "max_map_count", "scanned",
						  "denied", "maps_unreadable", "dropped", "processes" };
/* The record keys other than pid and the ksm_stat fields, each at most once. */
enum { R_UID, R_COMM, R_CMDLINE, R_MAPS, R_START, R_COUNT };
static const char *const record_keys[R_COUNT] = { "uid", "comm", "cmdline", "maps", "start" };

static int key_index(const char *const *keys, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (strcmp(keys[i], key) == 0)
			return i;
	return -1;
}

/* [a-z][a-z0-9_]*: the shape of every key, known or later */
static bool key_shape(const char *k)
{
	if (*k < 'a' || *k > 'z')
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_'))
			return false;
	return true;
}

static int set_header(struct procscan *ps, int h, const char *v)
{
	uint64_t u;
	int64_t i;

	switch (h) {
	case H_VERSION:
		return parse_u64(v, PROCSCAN_FILE_VERSION, PROCSCAN_FILE_VERSION, &u);
	case H_TIME:
		if (parse_i64(v, 0, INT64_MAX, &i) < 0)
			return -EINVAL;
		ps->time = i;
		return 0;
	case H_MAX_MAP_COUNT:
		return parse_u64(v, 1, INT32_MAX, &ps->max_map_count);
	default:
		if (parse_u64(v, 0, UINT32_MAX, &u) < 0)
			return -EINVAL;
		if (h == H_SCANNED)
			ps->scanned = (unsigned)u;
		else if (h == H_DENIED)
			ps->denied = (unsigned)u;
		else if (h == H_MAPS_UNREADABLE)
			ps->maps_unreadable = (unsigned)u;
		else if (h == H_DROPPED)
			ps->dropped = (unsigned)u;
		return 0;
	}
}

static int set_record(struct procscan_proc *p, const char *key, const char *v, uint32_t *seen)
{
	int k = key_index(record_keys, R_COUNT, key), s = key_index(stat_names, PS_STAT_COUNT, key);
	uint64_t u;

	if (k >= 0) {
		if (*seen & PS_BIT(k))
			return -EINVAL;
		*seen |= PS_BIT(k);
		switch (k) {
		case R_UID:
			if (parse_u64(v, 0, UINT32_MAX, &u) < 0)
				return -EINVAL;
			p->uid = (uint32_t)u;
			return 0;
		case R_COMM:
		case R_CMDLINE: {
			char *dst = k == R_COMM ? p->comm : p->cmdline;
			size_t max = k == R_COMM ? sizeof(p->comm) : sizeof(p->cmdline);
			if (strlen(v) >= max)
				return -EINVAL;
			memcpy(dst, v, strlen(v) + 1);
			text_sanitize(dst);
			return 0;
		}
		case R_MAPS:
			if (parse_u64(v, 0, UINT32_MAX, &p->maps) < 0)
				return -EINVAL;
			p->have_maps = true;
			return 0;
		default: /* R_START: 0 is never written */
			return parse_u64(v, 1, UINT64_MAX, &p->start) < 0 ? -EINVAL : 0;
		}
	}
	if (s >= 0) {
		int64_t lo, hi;
		stat_range((enum procscan_stat)s, &lo, &hi);
		if ((p->present & PS_BIT(s)) || parse_i64(v, lo, hi, &p->stat[s]) < 0)
			return -EINVAL;
		p->present |= PS_BIT(s);
		return 0;
	}
	return 1; /* unknown: skipped */
}

int procscan_parse(const char *text, size_t len, struct procscan *out, unsigned *bad_line)
{
	struct procscan ps;
	const char *p = text, *end = text + len;
	char line[PROCSCAN_CMDLINE_MAX + 64];
	unsigned lineno = 0, header_seen = 0, cap = 0;
	uint64_t processes = 0;
	uint32_t rec_seen = 0;
	int r = -EBADMSG;

	memset(&ps, 0, sizeof(ps));
	*bad_line = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *eq;
		int h;

		lineno++;
		if (!nl || n >= sizeof(line) || memchr(p, '\0', n))
			goto bad; /* no final newline, too long, a NUL */
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;
		if (lineno == 1) {
			if (strncmp(line, FILE_MAGIC, strlen(FILE_MAGIC)) != 0)
				goto bad;
			continue;
		}
		eq = strchr(line, '=');
		if (!eq)
			goto bad;
		*eq = '\0';
		if (!key_shape(line))
			goto bad;
		h = key_index(header_keys, H_COUNT, line);
		if (h >= 0) {
			/* the header comes first, each key once */
			if (ps.n || (header_seen & (1u << h)))
				goto bad;
			if (h == H_PROCESSES) {
				if (parse_u64(eq + 1, 0, PROCSCAN_MAX_PROCS, &processes) < 0)
					goto bad;
			} else if (set_header(&ps, h, eq + 1) < 0) {
				goto bad;
			}
			header_seen |= 1u << h;
			continue;
		}
		if (strcmp(line, "pid") == 0) {
			uint64_t pid;
			if (header_seen != (1u << H_COUNT) - 1 || ps.n == processes ||
			    parse_u64(eq + 1, 1, INT32_MAX, &pid) < 0)
				goto bad;
			if (ps.n == cap) {
				unsigned bigger = cap ? cap * 2 : 16;
				struct procscan_proc *np = realloc(ps.procs, (size_t)bigger * sizeof(*np));
				if (!np) {
					r = -ENOMEM;
					goto fail;
				}
				ps.procs = np;
				cap = bigger;
			}
			memset(&ps.procs[ps.n], 0, sizeof(ps.procs[0]));
			ps.procs[ps.n++].pid = (int)pid;
			rec_seen = 0;
			continue;
		}
		if (ps.n == 0) {
			if (key_index(record_keys, R_COUNT, line) >= 0 || key_index(stat_names, PS_STAT_COUNT, line) >= 0)
				goto bad; /* a record key before any pid= */
			continue;
		}
		if (set_record(&ps.procs[ps.n - 1], line, eq + 1, &rec_seen) < 0)
			goto bad;
	}
	if (lineno == 0 || header_seen != (1u << H_COUNT) - 1 || ps.n != processes) {
		lineno = 0;
		goto bad;
	}
	*out = ps;
	return 0;
bad:
	*bad_line = lineno;
fail:
	procscan_free(&ps);
	return r;
}
