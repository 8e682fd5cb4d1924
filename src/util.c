/* util.c - see util.h */
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *skip_space(const char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	return s;
}

/* True when only whitespace is left. */
static bool at_end(const char *s)
{
	return *skip_space(s) == '\0';
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	s = skip_space(s);
	if (!isdigit((unsigned char)*s))
		return -EINVAL; /* rejects "-1", which strtoull would wrap */
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (end == s || !at_end(end))
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	s = skip_space(s);
	if (!isdigit((unsigned char)*s) && *s != '-' && *s != '+')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (end == s || !at_end(end))
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* strtod accepts "nan", "inf" and hex floats; configuration numbers are
 * plain decimals: [+-]digits[.digits][e[+-]digits]. Check the characters
 * first, then require strtod to stop exactly where the check did (it would
 * read "0x10" as 16 where the check saw "0"). */
static int strict_double(const char *s, double *v, const char **rest)
{
	const char *p = s;
	char *end;
	bool digits = false;
	double d;

	if (*p == '-' || *p == '+')
		p++;
	while (isdigit((unsigned char)*p) || *p == '.') {
		digits |= isdigit((unsigned char)*p) != 0;
		p++;
	}
	if (!digits)
		return -EINVAL;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	errno = 0;
	d = strtod(s, &end);
	if (end != p)
		return -EINVAL; /* "0x10", "1.2.3" */
	/* ERANGE on underflow comes with a result as near zero as a double
	 * gets ("1e-400"): a number in range, taken as that */
	if ((errno == ERANGE && fabs(d) > DBL_MIN) || !isfinite(d))
		return -ERANGE;
	*v = d == 0 ? 0.0 : d; /* "-0" is 0, and prints so */
	*rest = end;
	return 0;
}

int regcomp_search(regex_t *re, const char *pattern)
{
	size_t len = strlen(pattern) + sizeof("^.*()");
	char *w = malloc(len);
	int r;

	if (!w)
		return REG_ESPACE;
	snprintf(w, len, "^.*(%s)", pattern);
	r = regcomp(re, w, REG_EXTENDED | REG_NOSUB);
	free(w);
	return r;
}

/* CLOCK_MONOTONIC in ns: search_re's timings, and now_us() */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* compile s->pattern into re, timed into s->compile_ns */
static int search_re_compile(struct search_re *s, regex_t *re)
{
	uint64_t t0 = now_ns();
	int r = regcomp_search(re, s->pattern);

	if (r == 0)
		s->compile_ns = now_ns() - t0;
	return r;
}

int search_re_init(struct search_re *s, const char *pattern)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->pattern = strdup(pattern);
	if (!s->pattern)
		return REG_ESPACE;
	r = search_re_compile(s, &s->re);
	if (r != 0) {
		free(s->pattern);
		s->pattern = NULL;
	}
	return r;
}

void search_re_free(struct search_re *s)
{
	if (!s->pattern)
		return;
	regfree(&s->re);
	free(s->pattern);
	s->pattern = NULL;
}

bool search_re_match(struct search_re *s, const char *text, size_t len)
{
	regmatch_t m = { .rm_so = 0, .rm_eo = (regoff_t)len };
	uint64_t t0;
	bool found;

	if (s->searched >= SEARCH_RENEW_BYTES && s->search_ns / SEARCH_RENEW_RATIO >= s->compile_ns) {
		regex_t fresh;
		if (search_re_compile(s, &fresh) == 0) {
			regfree(&s->re);
			s->re = fresh;
			s->searched = 0;
			s->search_ns = 0;
			s->renewals++;
		}
	}
	t0 = now_ns();
	/* REG_STARTEND: within [rm_so, rm_eo), without a copy */
	found = regexec(&s->re, text, 1, &m, REG_STARTEND) == 0;
	s->search_ns += now_ns() - t0;
	s->searched += len;
	return found;
}

/* 2^64 as a double: the first value a uint64_t cannot hold. */
#define TWO_POW_64 18446744073709551616.0

/* The number in s..end (as read by strict_double, value v) times mult,
 * rounded to an integer in [min, max]. Plain digits are computed exactly in
 * integers, so every uint64_t that *_format() writes reads back unchanged;
 * anything else goes through the double, checked before it is converted. */
static int scale_u64(const char *s, const char *end, double v, uint64_t mult, uint64_t min, uint64_t max,
		     uint64_t *out)
{
	const char *p = s;
	uint64_t r;

	while (p < end && isdigit((unsigned char)*p))
		p++;
	if (p == end) {
		unsigned long long u;

		errno = 0;
		u = strtoull(s, NULL, 10);
		if (errno == ERANGE || (mult && u > UINT64_MAX / mult))
			return -ERANGE;
		r = u * mult;
	} else {
		double x = v * (double)mult;

		if (!(x >= 0) || x >= TWO_POW_64)
			return -ERANGE;
		if (x < (double)min || x > (double)max)
			return -ERANGE; /* before rounding: "99.6ms" is below 100ms */
		r = (uint64_t)round(x); /* x < 2^64, and round() cannot reach it */
	}
	if (r < min || r > max)
		return -ERANGE;
	*out = r;
	return 0;
}

int parse_double(const char *s, double min, double max, double *out)
{
	const char *rest;
	double v;
	int r;

	s = skip_space(s);
	r = strict_double(s, &v, &rest);
	if (r < 0)
		return r;
	if (!at_end(rest))
		return -EINVAL;
	if (!(v >= min && v <= max))
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int parse_duration_ms(const char *s, uint64_t min_ms, uint64_t max_ms, uint64_t *out)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "sec", 1000 }, { "min", 60000 },
		{ "m", 60000 }, { "h", 3600000 }, { "d", 86400000 }, { "w", 604800000 },
	};
	const char *rest, *num_end;
	double v;
	uint64_t mult = 1000;
	char unit[8];
	size_t n = 0;
	int r;

	s = skip_space(s);
	r = strict_double(s, &v, &rest);
	if (r < 0)
		return r;
	num_end = rest;
	rest = skip_space(rest);
	while (n < sizeof(unit) - 1 && isalpha((unsigned char)rest[n])) {
		unit[n] = (char)tolower((unsigned char)rest[n]);
		n++;
	}
	unit[n] = '\0';
	if (!at_end(rest + n))
		return -EINVAL;
	if (n > 0) {
		bool found = false;
		for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
			if (strcmp(unit, units[i].suffix) == 0) {
				mult = units[i].ms;
				found = true;
				break;
			}
		}
		if (!found)
			return -EINVAL;
	}
	if (v < 0)
		return -ERANGE;
	return scale_u64(s, num_end, v, mult, min_ms, max_ms, out);
}

int parse_size(const char *s, uint64_t max_bytes, struct size_spec *out)
{
	const char *rest, *num_end;
	double v;
	uint64_t mult = 1, bytes;
	int r;

	s = skip_space(s);
	r = strict_double(s, &v, &rest);
	if (r < 0)
		return r;
	if (v < 0)
		return -ERANGE;
	num_end = rest;
	rest = skip_space(rest);
	if (*rest == '%') {
		if (!at_end(rest + 1))
			return -EINVAL;
		if (v > 100)
			return -ERANGE;
		out->is_percent = true;
		out->percent = v;
		out->bytes = 0;
		return 0;
	}
	switch (toupper((unsigned char)*rest)) {
	case '\0':
		break;
	case 'K':
		mult = UINT64_C(1) << 10;
		break;
	case 'M':
		mult = UINT64_C(1) << 20;
		break;
	case 'G':
		mult = UINT64_C(1) << 30;
		break;
	case 'T':
		mult = UINT64_C(1) << 40;
		break;
	default:
		return -EINVAL;
	}
	if (*rest) {
		rest++;
		/* Accept "M", "MB", "MiB" alike. */
		if ((*rest == 'i' || *rest == 'I') && (rest[1] == 'B' || rest[1] == 'b'))
			rest += 2;
		else if (*rest == 'B' || *rest == 'b')
			rest++;
	}
	if (!at_end(rest))
		return -EINVAL;
	r = scale_u64(s, num_end, v, mult, 0, max_bytes, &bytes);
	if (r < 0)
		return r;
	/* "0.2" is not 0 bytes: a bare number counts bytes, and a share of
	 * memory is written with '%' */
	if (mult == 1 && v != floor(v))
		return -EDOM;
	out->is_percent = false;
	out->percent = 0;
	out->bytes = bytes;
	return 0;
}

uint64_t size_resolve(const struct size_spec *s, uint64_t mem_total)
{
	double v;

	if (!s->is_percent)
		return s->bytes;
	if (s->percent >= 100)
		return mem_total;
	if (!(s->percent > 0))
		return 0;
	/* Below 100% the share is below mem_total; the double may still
	 * round up to 2^64 (or past mem_total) for totals beyond 2^53. */
	v = (double)mem_total * s->percent / 100.0;
	if (v >= (double)mem_total)
		return mem_total;
	return (uint64_t)v;
}

void double_format(double v, char *buf, size_t len)
{
	if (len == 0)
		return;
	snprintf(buf, len, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, len, "%.17g", v);
}

void size_format(const struct size_spec *s, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	uint64_t b = s->bytes;
	int u = -1;

	if (s->is_percent) {
		char num[32];
		double_format(s->percent, num, sizeof(num));
		snprintf(buf, len, "%s%%", num);
		return;
	}
	while (b >= 1024 && b % 1024 == 0 && u < 3) {
		b /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%" PRIu64, b);
	else
		snprintf(buf, len, "%" PRIu64 "%c", b, units[u]);
}

void duration_format(uint64_t ms, char *buf, size_t len)
{
	if (ms % 86400000 == 0 && ms)
		snprintf(buf, len, "%" PRIu64 "d", ms / 86400000);
	else if (ms % 3600000 == 0 && ms)
		snprintf(buf, len, "%" PRIu64 "h", ms / 3600000);
	else if (ms % 60000 == 0 && ms)
		snprintf(buf, len, "%" PRIu64 "min", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%" PRIu64 "s", ms / 1000);
	else
		snprintf(buf, len, "%" PRIu64 "ms", ms);
}

int read_file(const char *path, size_t max, char **out, size_t *len)
{
	/* O_NONBLOCK: a FIFO in place of a config file must not hang us. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), r;

	if (fd < 0)
		return -errno;
	r = read_fd(fd, max, out, len);
	close(fd);
	return r;
}

int read_fd(int fd, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t size, used = 0;
	int r = 0;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	/* Room for what fstat() saw, one byte more to notice growth and the
	 * NUL. /proc files say 0: the buffer grows as long as the file does;
	 * reading past max means -EFBIG. */
	size = (size_t)st.st_size + 2;
	if (size < 64)
		size = 64;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (size - used < 2) {
			char *bigger;

			if (size > SIZE_MAX / 2) {
				r = -EFBIG;
				goto out;
			}
			bigger = realloc(buf, size * 2);
			if (!bigger) {
				r = -ENOMEM;
				goto out;
			}
			buf = bigger;
			size *= 2;
		}
		n = read(fd, buf + used, size - used - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > max) {
			r = -EFBIG;
			goto out;
		}
	}
	buf[used] = '\0';
	*out = buf;
	*len = used;
	buf = NULL;
out:
	free(buf);
	return r;
}

int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
	return write_file_replace(path, data, len, mode, true);
}

/* Open path's directory with dir_open_nofollow() ("." when path has no
 * slash); *name points at the last component. */
static int open_parent(const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];

	*name = slash ? slash + 1 : path;
	if (!slash)
		return dir_open_nofollow(".");
	if ((size_t)(slash - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	return dir_open_nofollow(dir);
}

int write_file_replace(const char *path, const char *data, size_t len, mode_t mode, bool sync)
{
	const char *name;
	int dirfd = open_parent(path, &name), r;

	if (dirfd < 0)
		return dirfd;
	r = write_file_at(dirfd, name, data, len, mode, sync);
	close(dirfd);
	return r;
}

static bool is_symlink_at(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

/* Walk abs_path from "/" one component at a time with O_NOFOLLOW. At a
 * symlink, -ELOOP with its directory open in *at and the offset of its
 * name in abs_path in *name_at; else the descriptor or another -errno. */
static int walk_to_link(const char *abs_path, int *at, size_t *name_at)
{
	char *path, *p, *next;
	int fd, r = 0;

	*at = -1;
	*name_at = 0;
	if (abs_path[0] != '/')
		return -EINVAL;
	path = strdup(abs_path);
	if (!path)
		return -ENOMEM;
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		r = -errno;
	for (p = path + 1; r == 0 && *p; p = next) {
		int sub, err;
		next = strchr(p, '/');
		if (next)
			*next++ = '\0';
		else
			next = p + strlen(p);
		if (!*p)
			continue; /* "//" */
		sub = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		err = sub < 0 ? errno : 0;
		/* a symlink fails with ELOOP, or ENOTDIR for O_DIRECTORY */
		if (sub < 0 && (err == ELOOP || err == ENOTDIR) && is_symlink_at(fd, p)) {
			*at = fd;
			*name_at = (size_t)(p - path);
			free(path);
			return -ELOOP;
		}
		if (sub < 0)
			r = err == ELOOP ? -ENOTDIR : -err; /* -ELOOP is the link's */
		close(fd);
		fd = sub;
	}
	free(path);
	if (r < 0 && fd >= 0)
		close(fd);
	return r < 0 ? r : fd;
}

/* A symlink root may follow: its own (or the caller's), in a directory of
 * root's (or the caller's) that no one else may write, or a sticky one.
 * Anyone else could swap it between two writes. */
static bool symlink_trusted(int dirfd, const char *name)
{
	struct stat l, d;

	if (fstatat(dirfd, name, &l, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(l.st_mode) || fstat(dirfd, &d) < 0)
		return false;
	if ((l.st_uid != 0 && l.st_uid != geteuid()) || (d.st_uid != 0 && d.st_uid != geteuid()))
		return false;
	return !(d.st_mode & (S_IWGRP | S_IWOTH)) || (d.st_mode & S_ISVTX);
}

int dir_open_nofollow(const char *path)
{
	char cur[PATH_MAX], link[NAME_MAX + 1], target[PATH_MAX], next[PATH_MAX * 2 + 2];
	size_t name_at;
	int at;

	if (path[0] == '/') {
		if ((size_t)snprintf(cur, sizeof(cur), "%s", path) >= sizeof(cur))
			return -ENAMETOOLONG;
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		if ((size_t)snprintf(cur, sizeof(cur), "%s/%s", cwd, path) >= sizeof(cur))
			return -ENAMETOOLONG;
	}
	/* as many links as the kernel follows in one path */
	for (int hops = 0; hops < 40; hops++) {
		const char *name, *rest;
		size_t name_len;
		ssize_t n;

		int r = walk_to_link(cur, &at, &name_at);
		if (r != -ELOOP)
			return r;
		name = cur + name_at;
		name_len = strcspn(name, "/");
		rest = name + name_len;
		if (name_len >= sizeof(link)) {
			close(at);
			return -ENAMETOOLONG;
		}
		snprintf(link, sizeof(link), "%.*s", (int)name_len, name);
		n = symlink_trusted(at, link) ? readlinkat(at, link, target, sizeof(target) - 1) : -1;
		close(at);
		if (n <= 0)
			return -ENOTDIR; /* a link someone else may swap */
		target[n] = '\0';
		/* the link replaced by its target, relative to its directory */
		if ((size_t)snprintf(next, sizeof(next), "%.*s%s%s", target[0] == '/' ? 0 : (int)name_at, cur, target,
				     rest) >= sizeof(cur))
			return -ENAMETOOLONG;
		memcpy(cur, next, strlen(next) + 1);
	}
	return -ELOOP;
}

int dir_walk_nofollow(const char *abs_path)
{
	int at, r = walk_to_link(abs_path, &at, &(size_t){ 0 });

	if (r == -ELOOP) {
		close(at);
		return -ENOTDIR;
	}
	return r;
}

int unlink_nofollow(const char *path)
{
	const char *name;
	int dirfd = open_parent(path, &name), r = 0;

	if (dirfd < 0)
		return dirfd;
	if (unlinkat(dirfd, name, 0) < 0)
		r = -errno;
	close(dirfd);
	return r;
}

/* A temporary name no one can guess: ".NAME.<64 random bits>". It does
 * not end in the name's suffix, so that a reader of *.prom skips it. */
/* The random part of a temporary name: a 64-bit number in hex. */
#define TEMP_HEX_DIGITS 16

static int temp_name(const char *name, char *buf, size_t len)
{
	uint64_t rnd;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		rnd = now_us() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)buf;
	if ((size_t)snprintf(buf, len, ".%s.%0*" PRIx64, name, TEMP_HEX_DIGITS, rnd) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int remove_temp_files(int dirfd, const char *name, time_t min_age)
{
	size_t nlen = strlen(name);
	struct dirent *de;
	DIR *d;
	/* a descriptor of its own: a dup would share dirfd's offset, and
	 * leave it at the end of the directory for the next caller */
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), removed = 0;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return -e;
	}
	while ((de = readdir(d)) != NULL) {
		const char *t = de->d_name;
		struct stat st;
		size_t i;
		/* temp_name()'s ".NAME." and its lower-case hex digits, nothing else */
		if (t[0] != '.' || strncmp(t + 1, name, nlen) != 0 || t[1 + nlen] != '.' ||
		    strlen(t) != nlen + 2 + TEMP_HEX_DIGITS)
			continue;
		for (i = nlen + 2; isdigit((unsigned char)t[i]) || (t[i] >= 'a' && t[i] <= 'f'); i++)
			;
		if (t[i] != '\0')
			continue;
		if (min_age > 0 && (fstatat(dirfd, t, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_mtime > time(NULL) - min_age))
			continue;
		if (unlinkat(dirfd, t, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

int write_file_at(int dirfd, const char *name, const char *data, size_t len, mode_t mode, bool sync)
{
	char tmp[NAME_MAX + 1];
	struct stat st;
	size_t off = 0;
	int fd = -1, r = 0;

	if (!name[0] || strchr(name, '/'))
		return -EINVAL;
	/* O_EXCL: a new file, never one planted there (a FIFO would hang the
	 * open without O_NONBLOCK, a hard link would make root truncate
	 * another file, a symlink would point the write elsewhere). */
	for (int tries = 0; fd < 0; tries++) {
		r = temp_name(name, tmp, sizeof(tmp));
		if (r < 0)
			return r;
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
			    mode);
		if (fd < 0 && (errno != EEXIST || tries == 16))
			return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		r = -EINVAL;
		goto fail;
	}
	if (fchmod(fd, mode) < 0) {
		r = -errno;
		goto fail;
	}
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto fail;
		}
		off += (size_t)n;
	}
	if (sync && fsync(fd) < 0) {
		r = -errno;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = -errno;
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		r = -errno;
		goto fail;
	}
	/* the rename itself outlives a crash once the directory is synced */
	if (sync && fsync(dirfd) < 0)
		return -errno;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	return r;
}

static bool trusted_owner(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* Why st (of path) cannot be trusted, in why; true when it can. */
static bool dir_trusted(const char *path, const struct stat *st, bool sticky_ok, char *why, size_t why_len)
{
	if (!S_ISDIR(st->st_mode)) {
		snprintf(why, why_len, "%s is not a directory", path);
		return false;
	}
	if (!trusted_owner(st->st_uid)) {
		snprintf(why, why_len, "%s belongs to uid %lu, not to root", path, (unsigned long)st->st_uid);
		return false;
	}
	if ((st->st_mode & 022) && !(sticky_ok && (st->st_mode & S_ISVTX))) {
		snprintf(why, why_len, "%s can be written by %s (mode %04o)", path,
			 (st->st_mode & 002) ? "anyone" : "its group", (unsigned)(st->st_mode & 07777));
		return false;
	}
	return true;
}

/* realpath() follows any symlink: one that another user planted in a
 * sticky directory (/var/tmp/ksmpilot -> /var/lib/dpkg) resolves to a
 * directory of root's that passes every check. The path walked with
 * O_NOFOLLOW, following only symlinks no one else can swap, must reach the
 * directory that was checked. */
static int same_dir_nofollow(const char *path, const struct stat *st, char *why, size_t why_len)
{
	struct stat w;
	int fd = dir_open_nofollow(path), r = 0;

	if (fd < 0) {
		snprintf(why, why_len, "%s: %s", path,
			 fd == -ENOTDIR ? "a symlink on the way that another user could swap" : strerror(-fd));
		return -EPERM;
	}
	if (fstat(fd, &w) < 0)
		r = -errno;
	else if (w.st_dev != st->st_dev || w.st_ino != st->st_ino) {
		snprintf(why, why_len, "%s changed while it was checked", path);
		r = -EPERM;
	}
	close(fd);
	return r;
}

int dir_open_trusted(const char *path, bool create, char *why, size_t why_len)
{
	struct stat st;
	char *real, *p;
	int fd = -1, r = 0;
	bool made = false;

	if (why_len)
		why[0] = '\0';
	if (create) {
		if (mkdir(path, 0755) == 0)
			made = true;
		else if (errno != EEXIST)
			return -errno;
	}
	real = realpath(path, NULL);
	if (!real)
		return -errno;
	/* every directory above it, from the root down: symlinks are resolved,
	 * so none of these can be swapped by someone who cannot write them */
	if (lstat("/", &st) < 0)
		r = -errno;
	else if (!dir_trusted("/", &st, true, why, why_len))
		r = -EPERM;
	for (p = strchr(real + 1, '/'); r == 0 && p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (lstat(real, &st) < 0)
			r = -errno;
		else if (!dir_trusted(real, &st, true, why, why_len))
			r = -EPERM;
		*p = '/';
	}
	if (r == 0) {
		fd = open(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0)
			r = -errno;
		else if (!dir_trusted(real, &st, false, why, why_len))
			r = -EPERM;
		else
			r = same_dir_nofollow(path, &st, why, why_len);
		/* whatever the umask, others read the state file; through the
		 * descriptor, once the directory is known to be the one made */
		if (r == 0 && made && fchmod(fd, 0755) < 0)
			r = -errno;
		if (r < 0 && fd >= 0)
			close(fd);
	}
	free(real);
	return r < 0 ? r : fd;
}

ssize_t pread_text(int fd, char *buf, size_t len)
{
	ssize_t n;

	if (len == 0)
		return -EINVAL;
	do
		n = pread(fd, buf, len - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return n;
}

bool boot_id_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= BOOT_ID_LEN_MAX && strspn(s, "0123456789abcdef-") == n;
}

void boot_id_read(char *buf, size_t len)
{
	char id[64];
	ssize_t n = read_text_at(AT_FDCWD, "/proc/sys/kernel/random/boot_id", id, sizeof(id));

	if (len)
		buf[0] = '\0';
	if (n > 0 && boot_id_valid(id) && (size_t)n < len)
		memcpy(buf, id, (size_t)n + 1);
}

ssize_t pread_all_text(int fd, char *buf, size_t len)
{
	size_t used = 0;

	if (len == 0)
		return -EINVAL;
	while (used < len - 1) {
		ssize_t n = pread(fd, buf + used, len - 1 - used, (off_t)used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	return (ssize_t)used;
}

ssize_t read_text_at(int dirfd, const char *name, char *buf, size_t len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread_text(fd, buf, len);
	close(fd);
	return n;
}

ssize_t read_file_at(int dirfd, const char *name, char *buf, size_t len)
{
	struct stat st;
	size_t used = 0;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;
	while (r == 0 && used < len - 1) {
		ssize_t n = read(fd, buf + used, len - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		else if (n == 0)
			break;
		else
			used += (size_t)n;
	}
	close(fd);
	if (r < 0)
		return r;
	buf[used] = '\0';
	return (ssize_t)used;
}

size_t cmdline_join(char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = ' ';
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
	return n;
}

size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c, min;
	size_t len;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1fu;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0fu;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07u;
		min = 0x10000;
	} else {
		return 0; /* a continuation byte, an overlong lead (C0, C1) or F5..FF */
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0u) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3fu);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* What turns the text around it, or splits it, or shows as nothing between
 * two characters that could pass for a name: bidirectional marks,
 * embeddings, overrides and isolates, the line and paragraph separators, a
 * zero-width space, a word joiner, a byte order mark. Joiners (ZWJ, ZWNJ),
 * no-break and wide spaces are left: names in some scripts, and emoji,
 * need them. */
static bool reorders_or_hides(uint32_t cp)
{
	return cp == 0x61c || cp == 0x200b || cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
	       cp == 0x2060 || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

char *text_sanitize(char *s)
{
	const unsigned char *r = (const unsigned char *)s;
	char *w = s;
	size_t n = strlen(s);

	while (n > 0) {
		uint32_t cp;
		size_t len = utf8_seq(r, n, &cp);
		/* also a right-to-left override or a zero-width space: a
		 * name must not pass for another, nor turn a line around */
		if (len == 0 || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || reorders_or_hides(cp)) {
			*w++ = '?';
			len = len ? len : 1;
		} else {
			memmove(w, r, len);
			w += len;
		}
		r += len;
		n -= len;
	}
	*w = '\0';
	return s;
}

/* A character that shows as nothing, as a plain space, or that moves the
 * text around it: C1 controls, no-break and other spaces, zero-width
 * characters and joiners, bidirectional marks and isolates, the line and
 * paragraph separators, a byte order mark, a soft hyphen, fillers,
 * variation selectors and tags. */
static bool invisible_cp(uint32_t cp)
{
	static const uint32_t ranges[][2] = {
		{ 0x80, 0xa0 },         /* C1 controls, the no-break space */
		{ 0xad, 0xad },         /* soft hyphen */
		{ 0x34f, 0x34f },       /* combining grapheme joiner */
		{ 0x61c, 0x61c },       /* Arabic letter mark */
		{ 0x115f, 0x1160 },     /* Hangul fillers */
		{ 0x180b, 0x180f },     /* Mongolian variation selectors, vowel separator */
		{ 0x2000, 0x200f },     /* spaces, zero-width characters, marks */
		{ 0x2028, 0x202f },     /* separators, embeddings, narrow no-break space */
		{ 0x205f, 0x206f },     /* math space, invisible operators, isolates */
		{ 0x3000, 0x3000 },     /* ideographic space */
		{ 0x3164, 0x3164 },     /* Hangul filler */
		{ 0xfe00, 0xfe0f },     /* variation selectors */
		{ 0xfeff, 0xfeff },     /* byte order mark */
		{ 0xffa0, 0xffa0 },     /* halfwidth Hangul filler */
		{ 0xfff9, 0xfffb },     /* interlinear annotation */
		{ 0xe0000, 0xe0fff },   /* tags, variation selectors supplement */
	};

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (cp >= ranges[i][0] && cp <= ranges[i][1])
			return true;
	return false;
}

static char *copy_invisible(const char *in, char *out, size_t len, bool mark)
{
	const unsigned char *r = (const unsigned char *)in;
	size_t n = strlen(in), o = 0;

	if (len == 0)
		return out;
	while (n > 0) {
		char tmp[16];
		const char *add = (const char *)r;
		uint32_t cp;
		size_t step = utf8_seq(r, n, &cp), alen = step;

		if (step == 0) {
			step = 1;
			alen = mark ? (size_t)snprintf(tmp, sizeof(tmp), "\\x%02X", r[0]) : 1;
			add = mark ? tmp : add;
		} else if (invisible_cp(cp)) {
			alen = mark ? (size_t)snprintf(tmp, sizeof(tmp), "<U+%04X>", (unsigned)cp) : 0;
			add = mark ? tmp : "";
		}
		if (o + alen >= len)
			break; /* whole characters only */
		memcpy(out + o, add, alen);
		o += alen;
		r += step;
		n -= step;
	}
	out[o] = '\0';
	return out;
}

size_t utf8_prefix(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (n == max)
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--; /* s[n] continues the character before it */
	return n;
}

bool utf8_inside_char(const char *s, size_t i)
{
	for (size_t k = 1; k <= 3 && k <= i; k++) {
		uint32_t cp;
		if (utf8_seq((const unsigned char *)s + i - k, strnlen(s + i - k, 4), &cp) > k)
			return true;
	}
	return false;
}

void text_keep_end(char *out, size_t len, const char *s)
{
	size_t n = strlen(s), from;

	if (n < len) {
		memcpy(out, s, n + 1);
		return;
	}
	for (from = n - (len - 4); utf8_inside_char(s, from); from++)
		;
	snprintf(out, len, "...%s", s + from);
}

char *text_mark_invisible(const char *in, char *out, size_t len)
{
	return copy_invisible(in, out, len, true);
}

char *text_drop_invisible(const char *in, char *out, size_t len)
{
	return copy_invisible(in, out, len, false);
}

double page_bytes(void)
{
	static double size;

	if (size <= 0) {
		long v = sysconf(_SC_PAGESIZE);
		size = v > 0 ? (double)v : 4096.0;
	}
	return size;
}

uint64_t now_us(void)
{
	return now_ns() / 1000u;
}

uint64_t now_ms(void)
{
	return now_us() / 1000u;
}

/* Landlock rights newer than the oldest headers built against (Debian 12
 * ships those of 6.1, ABI 2); the kernel's ABI number says which exist. */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#define LL_NET_BIND_TCP (1ULL << 0)
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LL_SCOPE_SIGNAL (1ULL << 1)

/* struct landlock_ruleset_attr as of ABI 6; the kernel takes the size
 * the running ABI knows, so older headers do not matter */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

static int ll_allow(int ruleset, int dir_fd, uint64_t access)
{
	struct landlock_path_beneath_attr rule = { .allowed_access = access, .parent_fd = dir_fd };

	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) < 0)
		return -errno;
	return 0;
}

int landlock_confine(int read_fd, int write_fd, const char **step)
{
	const uint64_t read = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	uint64_t write = read | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG |
			 LANDLOCK_ACCESS_FS_REMOVE_FILE;
	struct ll_ruleset_attr attr = { 0 };
	size_t attr_size = sizeof(attr.handled_access_fs);
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	int ruleset, r;

	*step = "landlock_create_ruleset";
	if (abi < 0 && errno == ENOSYS)
		/* or a seccomp filter that answers ENOSYS, as filters do for
		 * system calls their library does not know: not told apart */
		*step = "the kernel has no Landlock, or a seccomp filter hides it";
	else if (abi < 0 && errno == EOPNOTSUPP)
		*step = "Landlock is off in the kernel, not in its lsm= list";
	else if (abi < 0 && errno == EPERM)
		/* the version query needs no right: only a filter refuses it */
		*step = LANDLOCK_FILTERED;
	if (abi < 0)
		return errno == ENOSYS || errno == EOPNOTSUPP || errno == EPERM ? 0 : -errno;
	/* every right of the running ABI is handled, so none is left open */
	attr.handled_access_fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;
	if (abi >= 2)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3) {
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
		write |= LANDLOCK_ACCESS_FS_TRUNCATE;
	}
	if (abi >= 4) {
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
		attr_size = offsetof(struct ll_ruleset_attr, scoped);
	}
	if (abi >= 5)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
		attr_size = sizeof(attr);
	}
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
	if (ruleset < 0)
		return -errno;
	*step = "landlock_add_rule";
	r = ll_allow(ruleset, read_fd, read);
	if (r == 0)
		r = ll_allow(ruleset, write_fd, write);
	/* and its own /proc entry, which the C library and the sanitizers
	 * read (LeakSanitizer lists /proc/self/task at exit), whatever
	 * read_fd is */
	if (r == 0) {
		int self = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (self >= 0) {
			r = ll_allow(ruleset, self, read);
			close(self);
		}
	}
	/* without CAP_SYS_ADMIN the kernel requires no_new_privs, which the
	 * units set anyway */
	if (r == 0) {
		*step = "prctl(PR_SET_NO_NEW_PRIVS)";
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			r = -errno;
	}
	if (r == 0) {
		*step = "landlock_restrict_self";
		if (syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
			r = -errno;
	}
	close(ruleset);
	return r < 0 ? r : (int)abi;
}
