/* ksmpilotctl.c - the operator's tool: the options and the command table.
 * Each command is in its own src/ctl_NAME.c (see ctl.h); this file parses
 * the command line, finds the command and runs it. Options may come before
 * or after the command name. See ksmpilotctl(8). */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "ksm.h"

static const struct ctl_cmd commands[] = {
	{ "status", "[--json]", "KSM and ksmpilotd at a glance; works without the daemon", CTL_OPT_JSON,
	  ctl_status },
	{ "import-ksmtuned", "[FILE]", "a ksmpilot.conf from a ksmtuned.conf (default /etc/ksmtuned.conf; - is stdin)",
	  CTL_OPT_OUTPUT, ctl_import },
	{ "reload", "[PID]", "re-read ksmpilotd's configuration; fails if the daemon refuses it", 0, ctl_reload },
	{ "inspect", "[PROC_DIR]", "record the processes that use KSM in state_dir/processes, for ksmpilotd", 0,
	  ctl_inspect },
	{ "history", "[--since TIME] [--json]", "the daemon's records (every history_period) from the journal, with a trend line",
	  CTL_OPT_JSON | CTL_OPT_SINCE | CTL_OPT_JOURNAL_DIR, ctl_history },
	{ "guests", "[--json]", "which guests KSM helps: saving, merged pages, profit per process (root: /proc; else state_dir/processes)",
	  CTL_OPT_JSON | CTL_OPT_PROC_DIR, ctl_guests },
	{ "doctor", "[--window DURATION] [--json]", "why nothing merges: findings with evidence and fix; exit 1 if one needs action",
	  CTL_OPT_JSON | CTL_OPT_PROC_DIR | CTL_OPT_SYS_DIR | CTL_OPT_WINDOW, ctl_doctor },
};

enum { OPT_STATE_DIR = 256, OPT_SYSFS, OPT_JSON, OPT_SINCE, OPT_JOURNAL_DIR, OPT_PROC_DIR, OPT_SYS_DIR, OPT_WINDOW };

/* Command-specific options: getopt's value, the bit, the name for the
 * messages, and where a value goes (0: --json, a flag). */
static const struct {
	int id;
	unsigned bit;
	const char *name;
	size_t field;
} opt_names[] = {
	{ OPT_JSON, CTL_OPT_JSON, "--json", 0 },
	{ 'o', CTL_OPT_OUTPUT, "-o", offsetof(struct ctl_opts, output) },
	{ OPT_SINCE, CTL_OPT_SINCE, "--since", offsetof(struct ctl_opts, since) },
	{ OPT_JOURNAL_DIR, CTL_OPT_JOURNAL_DIR, "--journal-dir", offsetof(struct ctl_opts, journal_dir) },
	{ OPT_PROC_DIR, CTL_OPT_PROC_DIR, "--proc-dir", offsetof(struct ctl_opts, proc_dir) },
	{ OPT_SYS_DIR, CTL_OPT_SYS_DIR, "--sys-dir", offsetof(struct ctl_opts, sys_dir) },
	{ OPT_WINDOW, CTL_OPT_WINDOW, "--window", offsetof(struct ctl_opts, window) },
};

/* A command-specific option: recorded in o; false when c is not one. */
static bool take_option(struct ctl_opts *o, int c, const char *arg)
{
	for (size_t i = 0; i < ARRAY_SIZE(opt_names); i++) {
		if (opt_names[i].id != c)
			continue;
		o->given |= opt_names[i].bit;
		if (opt_names[i].field)
			*(const char **)(void *)((char *)o + opt_names[i].field) = arg;
		else
			o->json = true;
		return true;
	}
	return false;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: ksmpilotctl [OPTION]... COMMAND [ARG]...\n"
		   "KSM and the ksmpilotd KSM tuner, for operators.\n"
		   "\n"
		   "Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		char head[64];
		snprintf(head, sizeof(head), "%s %s", commands[i].name, commands[i].synopsis);
		if (strlen(head) > 26)
			fprintf(f, "  %s\n  %-26s %s\n", head, "", commands[i].summary);
		else
			fprintf(f, "  %-26s %s\n", head, commands[i].summary);
	}
	fprintf(f,
		"\n"
		"Options (before or after the command):\n"
		"  -c, --config FILE          ksmpilotd's configuration: state_dir, and keys a command uses (default %s)\n"
		"      --state-dir DIR        ksmpilotd's state directory (overrides the configuration)\n"
		"      --sysfs-dir DIR        KSM sysfs directory (default %s)\n"
		"      --json                 JSON output, where the command has it; see ksmpilotctl(8)\n"
		"  -o, --output FILE          import-ksmtuned: write FILE (whole, or not at all)\n"
		"                             instead of standard output\n"
		"      --since TIME           history: from TIME (-7d, -12h, YYYY-MM-DD [HH:MM]; default -7d)\n"
		"      --journal-dir DIR      history: read the journal files in DIR\n"
		"      --proc-dir DIR         guests, doctor: the proc directory (default /proc)\n"
		"      --sys-dir DIR          doctor: the sysfs root (default /sys)\n"
		"      --window DURATION      doctor: watch ksmd and the knobs this long (default 2s)\n"
		"  -h, --help                 show this help and exit\n"
		"  -V, --version              show the version and exit\n"
		"\n"
		"Exit codes: 0 success, 1 failure, 2 bad usage, 3 bad configuration or input,\n"
		"4 KSM not available; status, reload: 5 ksmpilotd not running; status: 6 running\n"
		"but its state is stale (not updated for 3 periods: look at journalctl -u ksmpilot).\n",
		KSMPILOT_CONFIG, KSM_SYSFS_DIR);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "sysfs-dir", required_argument, NULL, OPT_SYSFS },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "output", required_argument, NULL, 'o' },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "journal-dir", required_argument, NULL, OPT_JOURNAL_DIR },
		{ "proc-dir", required_argument, NULL, OPT_PROC_DIR },
		{ "sys-dir", required_argument, NULL, OPT_SYS_DIR },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_opts o = { .config = KSMPILOT_CONFIG, .sysfs = KSM_SYSFS_DIR, .proc_dir = "/proc", .sys_dir = "/sys" };
	const struct ctl_cmd *cmd = NULL;
	int c;

	/* Options anywhere: getopt_long moves the operands (the command name
	 * and its arguments) to the end, in their order. */
	while ((c = getopt_long(argc, argv, "c:ho:V", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.config = optarg;
			o.config_explicit = true;
			break;
		case OPT_STATE_DIR:
			/* a longer one would be cut into another directory's name */
			if (strlen(optarg) >= CFG_PATH_MAX) {
				fprintf(stderr, "ksmpilotctl: --state-dir: longer than %d bytes\n", CFG_PATH_MAX - 1);
				return CTL_USAGE;
			}
			if (!cfg_state_dir_ok(optarg)) {
				fprintf(stderr, "ksmpilotctl: --state-dir: '%s' is not an absolute path without '..'\n",
					optarg);
				return CTL_USAGE;
			}
			o.state_dir = optarg;
			break;
		case OPT_SYSFS:
			o.sysfs = optarg;
			break;
		case 'h':
			usage(stdout);
			return CTL_OK;
		case 'V':
			printf("ksmpilotctl %s\n", KSMPILOT_VERSION);
			return CTL_OK;
		default:
			if (take_option(&o, c, optarg))
				break;
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "ksmpilotctl: unknown command '%s'\n", argv[optind]);
		usage(stderr);
		return CTL_USAGE;
	}
	for (size_t i = 0; i < ARRAY_SIZE(opt_names); i++) {
		if ((o.given & opt_names[i].bit) && !(cmd->opts & opt_names[i].bit)) {
			fprintf(stderr, "ksmpilotctl: %s: %s does not apply to this command\n", cmd->name,
				opt_names[i].name);
			return CTL_USAGE;
		}
	}
	return cmd->run(&o, argc - optind - 1, argv + optind + 1);
}
