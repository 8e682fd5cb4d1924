/* hazard.c - see hazard.h */
#include "hazard.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int hazard_update(struct hazard_episode *h, bool cond, uint64_t now_ms, uint64_t hold_ms)
{
	if (cond != h->cond) {
		h->cond = cond;
		h->since_ms = now_ms;
	}
	if (!h->active && h->cond && now_ms - h->since_ms >= hold_ms) {
		h->active = true;
		return 1;
	}
	if (h->active && !h->cond && now_ms - h->since_ms >= hold_ms) {
		h->active = false;
		return -1;
	}
	return 0;
}

/* Read a small file under dirfd into buf; length or -errno. */
static ssize_t read_small(int dirfd, const char *name, char *buf, size_t len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread_text(fd, buf, len);
	close(fd);
	return n;
}

/* "ksm_rmap_items 1234" in ksm_stat */
static uint64_t rmap_items_of(const char *text)
{
	const char *p = strstr(text, "ksm_rmap_items ");
	uint64_t v = 0;

	if (!p)
		return 0;
	p += strlen("ksm_rmap_items ");
	while (isdigit((unsigned char)*p))
		v = v * 10 + (uint64_t)(*p++ - '0');
	return v;
}

/* Count the lines of maps without holding it all in memory. */
static int count_lines(int dirfd, const char *name, uint64_t *out)
{
	char buf[16384];
	uint64_t lines = 0;
	ssize_t n;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	close(fd);
	if (n < 0)
		return -errno;
	*out = lines;
	return 0;
}

int hazard_scan_maps(const char *proc_dir, struct map_usage *out)
{
	char path[512], buf[512];
	struct dirent *de;
	DIR *d;
	double worst = -1;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "%s/sys/vm/max_map_count", proc_dir);
	{
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (pread_text(fd, buf, sizeof(buf)) > 0)
				parse_u64(buf, 1, UINT64_MAX, &out->max_map_count);
			close(fd);
		}
	}
	if (out->max_map_count == 0)
		out->max_map_count = 65530; /* the kernel's default */
	d = opendir(proc_dir);
	if (!d)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		uint64_t vmas = 0;
		int pfd, pid;
		char *end;
		long v = strtol(de->d_name, &end, 10);

		if (*end || v <= 0 || v > INT32_MAX)
			continue;
		pid = (int)v;
		pfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0)
			continue;
		if (read_small(pfd, "ksm_stat", buf, sizeof(buf)) <= 0 || rmap_items_of(buf) == 0) {
			close(pfd);
			continue;
		}
		out->ksm_processes++;
		if (count_lines(pfd, "maps", &vmas) < 0) {
			out->unreadable++;
			close(pfd);
			continue;
		}
		if ((double)vmas / (double)out->max_map_count > worst) {
			worst = (double)vmas / (double)out->max_map_count;
			out->pid = pid;
			out->vmas = vmas;
			if (read_small(pfd, "comm", out->comm, sizeof(out->comm)) < 0)
				snprintf(out->comm, sizeof(out->comm), "?");
		}
		close(pfd);
	}
	closedir(d);
	return 0;
}

unsigned hazard_numa_nodes(const char *sys_node_dir)
{
	struct dirent *de;
	unsigned n = 0;
	DIR *d = opendir(sys_node_dir);

	if (!d)
		return 1;
	while ((de = readdir(d)) != NULL) {
		const char *p = de->d_name;
		if (strncmp(p, "node", 4) != 0 || !isdigit((unsigned char)p[4]))
			continue;
		for (p += 4; isdigit((unsigned char)*p); p++)
			;
		if (*p == '\0')
			n++;
	}
	closedir(d);
	return n ? n : 1;
}
