/* qemu.c - see qemu.h */
#include "qemu.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* /proc/PID/cmdline with its NULs as spaces; length, 0 when empty or unreadable. */
static size_t read_cmdline(int dirfd, const char *pid, char *buf, size_t len)
{
	char path[sizeof(((struct dirent *)0)->d_name) + 16];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/cmdline", pid);
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return 0;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return 0;
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	/* the arguments joined by spaces, and no other control character: a
	 * newline would let regcomp_search()'s "^" match after it */
	for (ssize_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = ' ';
	buf[n] = '\0';
	return (size_t)n;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

int qemu_count(const char *proc_dir, const char *pattern, struct qemu_count *out)
{
	regex_t qemu, re;
	bool have_re = pattern && *pattern;
	struct dirent *d;
	char buf[QEMU_CMDLINE_MAX + 1];
	DIR *dir;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (regcomp(&qemu, QEMU_GUEST_REGEX, REG_EXTENDED | REG_NOSUB) != 0)
		return -EINVAL;
	if (have_re && regcomp_search(&re, pattern) != 0) {
		regfree(&qemu);
		return -EINVAL;
	}
	dir = opendir(proc_dir);
	if (!dir) {
		r = -errno;
		goto out;
	}
	while ((d = readdir(dir))) {
		bool is_qemu, hit;

		if (!all_digits(d->d_name) || read_cmdline(dirfd(dir), d->d_name, buf, sizeof(buf)) == 0)
			continue;
		is_qemu = regexec(&qemu, buf, 0, NULL, 0) == 0;
		hit = have_re && regexec(&re, buf, 0, NULL, 0) == 0;
		out->qemu += is_qemu;
		out->matched += hit;
		out->qemu_matched += is_qemu && hit;
		if (is_qemu && !hit && !out->missed[0]) {
			size_t n = strlen(buf);
			if (n >= sizeof(out->missed)) {
				n = sizeof(out->missed) - 4;
				while (n > 0 && ((unsigned char)buf[n] & 0xC0) == 0x80)
					n--; /* not inside a UTF-8 character */
				memcpy(buf + n, "...", 4);
				n += 3;
			}
			memcpy(out->missed, buf, n + 1); /* fits: n < sizeof(out->missed) */
			text_sanitize(out->missed); /* anyone's process */
		}
	}
	closedir(dir);
out:
	regfree(&qemu);
	if (have_re)
		regfree(&re);
	return r;
}
