/* ctl_common.c - helpers shared by the commands of ksmpilotctl (ctl.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "state.h"

int ctl_load_config(const struct ctl_opts *o, struct cfg *cfg)
{
	struct cfg_errors *errs;
	bool broken;

	/* --state-dir alone needs no configuration; with -c the other keys
	 * (guest_cmdline for doctor) still come from the file */
	if (o->state_dir && !o->config_explicit) {
		cfg_defaults(cfg);
		memcpy(cfg->state_dir, o->state_dir, strlen(o->state_dir) + 1);
		return 0;
	}
	errs = calloc(1, sizeof(*errs));
	if (!errs)
		return -ENOMEM;
	/* a read-only command must still work on a broken configuration */
	broken = cfg_load(o->config, o->config_explicit, cfg, errs) < 0;
	if (broken) {
		for (unsigned i = 0; i < errs->n; i++)
			fprintf(stderr, "%s\n", errs->msg[i]);
		if (errs->dropped)
			fprintf(stderr, "ksmpilotctl: and %u more errors\n", errs->dropped);
		cfg_defaults(cfg);
	}
	if (o->state_dir)
		memcpy(cfg->state_dir, o->state_dir, strlen(o->state_dir) + 1);
	if (broken)
		fprintf(stderr, "ksmpilotctl: using the defaults (state directory %s)\n", cfg->state_dir);
	free(errs);
	return 0;
}

bool ctl_daemon_running(const char *state_dir, long pid)
{
	return state_daemon_running(state_dir, "/proc", pid);
}

bool ctl_kernel_has_per_process(const char *proc_dir)
{
	char path[CFG_PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/self/ksm_merging_pages", proc_dir);
	if (access(path, F_OK) == 0)
		return true;
	snprintf(path, sizeof(path), "%s/self/ksm_stat", proc_dir);
	return access(path, F_OK) == 0;
}
