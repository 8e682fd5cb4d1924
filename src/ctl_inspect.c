/* ctl_inspect.c - `ksmpilotctl inspect [PROC_DIR]`: find the processes that
 * use KSM (procscan.c) and leave what was found in state_dir/processes, for
 * ksmpilotd. Reading other users' ksm_stat and maps needs
 * CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE, which ksmpilotd does not hold:
 * ksmpilot-inspect.service runs this on a timer with those two only. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ctl.h"
#include "procscan.h"
#include "util.h"

/* What CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE allow reaches far beyond
 * the scan: /proc/1/root is the host's whole file system, /proc/PID/mem
 * any process's memory. Once the scan has each KSM process's ksm_stat and
 * its maps open, and before it reads anything another user controls, only
 * proc_dir may be read, and only the state directory written. */
struct confinement {
	int proc_fd, state_fd, abi;
	const char *step;
};

static int confine(void *arg)
{
	struct confinement *c = arg;

	c->abi = landlock_confine(c->proc_fd, c->state_fd, &c->step);
	return c->abi < 0 ? c->abi : 0;
}

/* Two descriptors are held for each process that uses KSM (procscan.h): as
 * many as the hard limit allows. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int ctl_inspect(const struct ctl_opts *o, int argc, char **argv)
{
	const char *proc_dir = argc > 0 ? argv[0] : "/proc";
	struct cfg *cfg = NULL;
	struct procscan ps = { 0 };
	const struct procscan_proc *worst;
	char why[CFG_PATH_MAX * 2 + 64], *text = NULL;
	struct confinement conf = { .proc_fd = -1, .state_fd = -1, .step = "" };
	int dirfd = -1, rc = CTL_FAIL, r;

	if (argc > 1) {
		fprintf(stderr, "ksmpilotctl: inspect takes at most one directory (default /proc)\n");
		return CTL_USAGE;
	}
	cfg = malloc(sizeof(*cfg));
	if (!cfg)
		goto out;
	if (o->state_dir) {
		cfg_defaults(cfg);
		snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", o->state_dir);
	} else {
		/* root writes into state_dir: only the one a valid
		 * configuration names, never a fallback */
		struct cfg_errors *errs = calloc(1, sizeof(*errs));
		if (!errs)
			goto out;
		r = cfg_load(o->config, o->config_explicit, cfg, errs);
		for (unsigned i = 0; r < 0 && i < errs->n; i++)
			fprintf(stderr, "%s\n", errs->msg[i]);
		free(errs);
		if (r < 0) {
			rc = CTL_CONFIG;
			goto out;
		}
	}
	dirfd = dir_open_trusted(cfg->state_dir, true, why, sizeof(why));
	if (dirfd == -EPERM) {
		fprintf(stderr, "ksmpilotctl: inspect: refusing the state directory: %s\n", why);
		rc = CTL_CONFIG;
		goto out;
	}
	if (dirfd < 0) {
		fprintf(stderr, "ksmpilotctl: inspect: state directory %s: %s\n", cfg->state_dir, strerror(-dirfd));
		goto out;
	}
	conf.proc_fd = open(proc_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (conf.proc_fd < 0) {
		fprintf(stderr, "ksmpilotctl: inspect: cannot list %s: %s\n", proc_dir, strerror(errno));
		goto out;
	}
	/* a file of no process would read as fresh data that shows no
	 * process near vm.max_map_count: none is written */
	if (!ctl_kernel_has_per_process(proc_dir)) {
		fprintf(stderr, "ksmpilotctl: inspect: %s; nothing written\n", CTL_NO_PER_PROCESS);
		goto out;
	}
	conf.state_fd = dirfd;
	raise_nofile();
	r = procscan_run_confined(proc_dir, &ps, confine, &conf);
	if (r < 0 && conf.abi < 0) {
		fprintf(stderr, "ksmpilotctl: inspect: cannot confine itself to %s and %s with Landlock: %s: %s\n",
			proc_dir, cfg->state_dir, conf.step, strerror(-conf.abi));
		goto out;
	}
	if (r < 0) {
		fprintf(stderr, "ksmpilotctl: inspect: cannot scan %s: %s\n", proc_dir, strerror(-r));
		goto out;
	}
	r = procscan_format(&ps, &text);
	if (r == 0)
		/* mode 0600: ksm_stat and maps of other users' processes are
		 * not for everyone (the kernel makes ksm_stat 0400) */
		r = write_file_at(dirfd, "processes", text, strlen(text), 0600, false);
	if (r < 0) {
		fprintf(stderr, "ksmpilotctl: inspect: cannot write %s/processes: %s\n", cfg->state_dir, strerror(-r));
		goto out;
	}
	worst = procscan_worst_maps(&ps);
	printf("%u of %u processes use KSM", ps.n + ps.dropped, ps.scanned);
	if (worst)
		printf("; the most memory mappings: pid %d (%s), %llu of vm.max_map_count %llu", worst->pid,
		       worst->comm, (unsigned long long)worst->maps, (unsigned long long)ps.max_map_count);
	if (ps.denied || ps.maps_unreadable)
		printf("; not readable: %u ksm_stat, %u maps (CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE)", ps.denied,
		       ps.maps_unreadable);
	printf("; written to %s/processes", cfg->state_dir);
	if (conf.abi > 0)
		printf(" (confined by Landlock, ABI %d)\n", conf.abi);
	else
		printf(" (not confined: %s)\n", conf.step);
	/* the unit logs standard error only: a kernel without Landlock is
	 * what it is, but a filter that forbids it is a setting to mend */
	if (conf.abi == 0 && strcmp(conf.step, LANDLOCK_FILTERED) == 0)
		fprintf(stderr, "ksmpilotctl: inspect: not confined: %s (the seccomp filter, the unit's "
				"SystemCallFilter= or a container's, must allow landlock_create_ruleset, "
				"landlock_add_rule and landlock_restrict_self)\n",
			conf.step);
	rc = CTL_OK;
out:
	if (rc == CTL_FAIL && !cfg)
		fprintf(stderr, "ksmpilotctl: inspect: out of memory\n");
	free(text);
	procscan_free(&ps);
	if (dirfd >= 0)
		close(dirfd);
	if (conf.proc_fd >= 0)
		close(conf.proc_fd);
	free(cfg);
	return rc;
}
