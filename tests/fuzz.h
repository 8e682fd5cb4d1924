/* fuzz.h - what the libFuzzer targets (tests/fuzz_*.c) share: a private
 * scratch directory for the parsers that read files, removed at exit, and
 * checks on the text they produce. Build and run with `make fuzz`
 * (docs/testing.md). */
#ifndef KSMPILOT_FUZZ_H
#define KSMPILOT_FUZZ_H

#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The checks are not what is being fuzzed: no coverage feedback from them.
 * Not every target uses every helper. */
#define NO_COVERAGE __attribute__((no_sanitize("coverage"), unused))

#define FUZZ_DIE(...)                                                                                      \
	do {                                                                                               \
		fprintf(stderr, "fuzz: " __VA_ARGS__);                                                     \
		fputc('\n', stderr);                                                                       \
		abort();                                                                                   \
	} while (0)

static char fuzz_dir_path[256];

NO_COVERAGE static void fuzz_dir_clear(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

NO_COVERAGE static void fuzz_dir_remove(void)
{
	if (!fuzz_dir_path[0])
		return;
	fuzz_dir_clear(fuzz_dir_path);
	rmdir(fuzz_dir_path);
}

/* A private directory (mode 0700), the same for the whole run. */
NO_COVERAGE static const char *fuzz_dir(void)
{
	if (!fuzz_dir_path[0]) {
		snprintf(fuzz_dir_path, sizeof(fuzz_dir_path), "%s/ksmpilot-fuzz.XXXXXX",
			 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		if (!mkdtemp(fuzz_dir_path))
			FUZZ_DIE("mkdtemp: cannot make a scratch directory");
		atexit(fuzz_dir_remove);
	}
	return fuzz_dir_path;
}

/* Write data to dir/name (mode 0600); false when the name cannot be one. */
NO_COVERAGE static bool fuzz_put(const char *dir, const char *name, const void *data, size_t len, mode_t mode)
{
	char path[4096];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return false;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return false;
	if (len && write(fd, data, len) != (ssize_t)len) {
		close(fd);
		FUZZ_DIE("cannot write %s", path);
	}
	close(fd);
	return true;
}

/* Lines in len bytes, the last one terminated or not. */
NO_COVERAGE static unsigned fuzz_count_lines(const uint8_t *p, size_t len)
{
	unsigned n = 0;

	for (size_t i = 0; i < len; i++)
		n += p[i] == '\n';
	return n + (len > 0 && p[len - 1] != '\n');
}

/* Text that may reach a terminal or a line-oriented file: no control
 * character (C0, DEL, C1) and valid UTF-8 only. */
NO_COVERAGE static bool fuzz_text_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned len, i;
		uint32_t c;

		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				return false;
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			len = 2, c = *p & 0x1fu;
		else if (*p >= 0xe0 && *p <= 0xef)
			len = 3, c = *p & 0x0fu;
		else if (*p >= 0xf0 && *p <= 0xf4)
			len = 4, c = *p & 0x07u;
		else
			return false;
		for (i = 1; i < len; i++) {
			if ((p[i] & 0xc0u) != 0x80)
				return false;
			c = (c << 6) | (p[i] & 0x3fu);
		}
		if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
		    (c >= 0xd800 && c <= 0xdfff) || (c >= 0x80 && c <= 0x9f))
			return false;
		p += len;
	}
	return true;
}

#endif
