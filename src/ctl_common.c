/* ctl_common.c - helpers shared by the commands of ksmpilotctl (ctl.h). */
#define _GNU_SOURCE /* F_OFD_GETLK */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

int ctl_load_config(const struct ctl_opts *o, struct cfg *cfg)
{
	struct cfg_errors *errs;

	if (o->state_dir) {
		/* a longer one would be cut into another directory's name */
		if (strlen(o->state_dir) >= sizeof(cfg->state_dir)) {
			fprintf(stderr, "ksmpilotctl: --state-dir: longer than %zu bytes\n", sizeof(cfg->state_dir) - 1);
			return -ENAMETOOLONG;
		}
		cfg_defaults(cfg);
		memcpy(cfg->state_dir, o->state_dir, strlen(o->state_dir) + 1);
		return 0;
	}
	errs = calloc(1, sizeof(*errs));
	if (!errs)
		return -ENOMEM;
	/* a read-only command must still work on a broken configuration */
	if (cfg_load(o->config, o->config_explicit, cfg, errs) < 0) {
		for (unsigned i = 0; i < errs->n; i++)
			fprintf(stderr, "%s\n", errs->msg[i]);
		cfg_defaults(cfg);
		fprintf(stderr, "ksmpilotctl: using the defaults (state directory %s)\n", cfg->state_dir);
	}
	free(errs);
	return 0;
}

/* Whether a daemon holds state_dir/lock: 1 yes, 0 no, -1 cannot tell
 * (no read access). F_OFD_GETLK only asks: it never takes the lock, so a
 * daemon starting meanwhile is not refused. */
static int lock_held(const char *state_dir)
{
	char path[CFG_PATH_MAX + 16];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd, r;

	snprintf(path, sizeof(path), "%s/lock", state_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	r = fcntl(fd, F_OFD_GETLK, &fl);
	close(fd);
	if (r < 0)
		return -1;
	return fl.l_type != F_UNLCK;
}

/* Without access to the lock: the pid is alive and named ksmpilotd. */
static bool pid_is_ksmpilotd(long pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	if (pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno != EPERM))
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, "ksmpilotd") == 0;
}

bool ctl_daemon_running(const char *state_dir, long pid)
{
	int held = lock_held(state_dir);

	return held < 0 ? pid_is_ksmpilotd(pid) : held > 0;
}
