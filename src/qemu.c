/* qemu.c - see qemu.h */
#include "qemu.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* /proc/PID/cmdline as cmdline_join() makes it; its length, 0 when empty
 * or unreadable (the process is gone). */
static size_t read_cmdline(int dirfd, const char *pid, char *buf, size_t len)
{
	char path[sizeof(((struct dirent *)0)->d_name) + 16];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/cmdline", pid);
	n = read_file_at(dirfd, path, buf, len);
	return n > 0 ? cmdline_join(buf, (size_t)n) : 0;
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
	regex_t qemu;
	struct search_re re;
	bool have_re = pattern && *pattern;
	struct dirent *d;
	char buf[QEMU_CMDLINE_MAX + 1];
	DIR *dir;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (regcomp(&qemu, QEMU_GUEST_REGEX, REG_EXTENDED | REG_NOSUB) != 0)
		return -EINVAL;
	if (have_re && search_re_init(&re, pattern) != 0) {
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
		hit = have_re && search_re_match(&re, buf, strlen(buf));
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
		search_re_free(&re);
	return r;
}
