/* ksmpilotd.c - command line: parse options, load the configuration, and
 * hand over to the service or to a one-shot mode. Exit codes: daemon.h. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "qemu.h"

/* The directories ksmpilot.service makes writable, taken from
 * systemd/ksmpilot.service.in by the Makefile. */
#ifndef KSMPILOT_UNIT_WRITABLE
#error "KSMPILOT_UNIT_WRITABLE: build with the Makefile"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ksmpilotd [OPTION]...\n"
		"Feedback-loop tuner for Linux KSM (Kernel Samepage Merging).\n"
		"\n"
		"  -c, --config FILE      configuration file (default %s);\n"
		"                         drop-ins are read from FILE.d/*.conf in name order\n"
		"  -t, --check-config     check the configuration: name the files read, warn about\n"
		"                         what would fail under ksmpilot.service, print\n"
		"                         'configuration OK' and exit\n"
		"      --dump-config [KEY]...\n"
		"                         print the configuration in force, defaults included,\n"
		"                         with the FILE:LINE that set each key; or KEY = VALUE\n"
		"                         for the keys named (KEY or SECTION.KEY)\n"
		"      --list-config-keys print every configuration key, one a line, and exit\n"
		"                         (for shell completion)\n"
		"      --once             sample twice, 1 s apart, print the inputs and the decision, exit\n"
		"      --apply            with --once: write the decision to sysfs\n"
		"      --dry-run          decide and log, but write nothing to sysfs\n"
		"      --restore          apply on_exit from the snapshot a killed daemon left\n"
		"                         in state_dir, and exit (the unit's ExecStopPost)\n"
		"      --sysfs-dir DIR    KSM sysfs directory (default %s)\n"
		"      --log-target T     auto, journal or stderr (default auto: the journal when\n"
		"                         stderr is connected to it, else stderr)\n"
		"  -h, --help             show this help and exit\n"
		"  -V, --version          show the version and exit\n"
		"\n"
		"Exit codes: 0 success, 1 runtime failure, 2 bad usage, 3 bad configuration,\n"
		"4 KSM not available, 5 KSM not writable, 6 another instance is running.\n"
		"See ksmpilotd(8) and ksmpilot.conf(5).\n",
		KSMPILOT_CONFIG, KSM_SYSFS_DIR);
}

enum { OPT_DUMP = 256, OPT_ONCE, OPT_APPLY, OPT_DRY_RUN, OPT_SYSFS, OPT_LOG_TARGET, OPT_RESTORE, OPT_LIST_KEYS };

/* --check-config: the files read, then what the unit or the running
 * guests would make of the configuration (warnings, the exit stays 0). */
static void check_report(const struct daemon_opts *o, const struct cfg *cfg, const struct cfg_files *files)
{
	struct cfg_errors *warns = calloc(1, sizeof(*warns));
	struct qemu_count q;

	if (files->main_missing) {
		printf("%s does not exist: the defaults are in force%s\n", o->config_path,
		       files->n ? ", but for the drop-ins below" : "");
		/* a file named with -c must exist, and the unit names this one */
		fprintf(stderr,
			"%s: warning: ksmpilot.service runs ksmpilotd -c %s, which refuses a missing file: the "
			"service would not start (exit 3); create it, empty for the defaults\n",
			o->config_path, o->config_path);
	}
	for (unsigned i = 0; i < files->n; i++)
		printf("read %s\n", files->name[i]);
	if (files->more)
		printf("read %u more drop-ins\n", files->more);
	if (warns) {
		cfg_check_writable(cfg, o->config_path, KSMPILOT_UNIT_WRITABLE, warns);
		cfg_check_quotes(cfg, o->config_path, warns);
		for (unsigned i = 0; i < warns->n; i++)
			fprintf(stderr, "%s\n", warns->msg[i]);
		free(warns);
	}
	/* guest_cmdline against the QEMU processes running now */
	if (qemu_count("/proc", cfg->guest_cmdline, &q) == 0 && q.qemu > q.qemu_matched) {
		char w[CFG_PATH_MAX + 16];
		const char *at = cfg_where(cfg, o->config_path, "guest_cmdline", w, sizeof(w));
		if (cfg->guest_cmdline[0])
			fprintf(stderr, "%s: warning: guest_cmdline matches %u of the %u QEMU processes running now "
				"(it misses '%s'); guest_cmdline = %s matches all of them\n",
				at, q.qemu_matched, q.qemu, q.missed, QEMU_GUEST_REGEX);
		else
			fprintf(stderr, "%s: note: %u QEMU processes run, and guest_cmdline is empty: their memory "
				"does not count as committed; guest_cmdline = %s would count it\n",
				at, q.qemu, QEMU_GUEST_REGEX);
	}
}

/* What the command line asks for: the service, or one of the one-shot modes. */
enum mode { MODE_SERVICE, MODE_CHECK, MODE_DUMP, MODE_ONCE, MODE_RESTORE };

struct args {
	struct daemon_opts o;
	enum mode mode;
	bool clash;      /* two different modes asked for */
	char **keys;     /* --dump-config's KEYs */
	unsigned n_keys;
};

static void set_mode(struct args *a, enum mode m)
{
	if (a->mode != MODE_SERVICE && a->mode != m)
		a->clash = true;
	a->mode = m;
}

/* Parse the command line into a. Returns -1 to go on, or the exit code
 * (--help, --version and --list-config-keys are done here, and bad usage). */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 't' },
		{ "dump-config", no_argument, NULL, OPT_DUMP },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "apply", no_argument, NULL, OPT_APPLY },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "restore", no_argument, NULL, OPT_RESTORE },
		{ "sysfs-dir", required_argument, NULL, OPT_SYSFS },
		{ "log-target", required_argument, NULL, OPT_LOG_TARGET },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		/* for the shell completion: the configuration keys, one a line */
		{ "list-config-keys", no_argument, NULL, OPT_LIST_KEYS },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon_opts *o = &a->o;
	struct cfg_key_info k;
	int c;

	while ((c = getopt_long(argc, argv, "c:thV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_path = optarg;
			o->config_explicit = true;
			break;
		case 't':
			set_mode(a, MODE_CHECK);
			break;
		case OPT_DUMP:
			set_mode(a, MODE_DUMP);
			break;
		case OPT_ONCE:
			set_mode(a, MODE_ONCE);
			break;
		case OPT_APPLY:
			o->apply = true;
			break;
		case OPT_DRY_RUN:
			o->dry_run = true;
			break;
		case OPT_RESTORE:
			set_mode(a, MODE_RESTORE);
			break;
		case OPT_SYSFS:
			o->sysfs_dir = optarg;
			break;
		case OPT_LOG_TARGET:
			if (log_parse_target(optarg, &o->log_target) < 0) {
				fprintf(stderr, "ksmpilotd: --log-target: '%s' is not auto, journal or stderr\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_LIST_KEYS:
			for (unsigned i = 0; i < cfg_key_count(); i++)
				if (cfg_key(i, &k))
					printf("%s\n", k.name);
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("ksmpilotd %s\n", KSMPILOT_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc && a->mode != MODE_DUMP) {
		fprintf(stderr, "ksmpilotd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (o->apply && a->mode != MODE_ONCE) {
		fprintf(stderr, "ksmpilotd: --apply only goes with --once\n");
		return EXIT_USAGE;
	}
	if (o->dry_run && a->mode == MODE_RESTORE) {
		/* a restore that wrote nothing would still remove the snapshot */
		fprintf(stderr, "ksmpilotd: --restore writes the knobs: it does not go with --dry-run\n");
		return EXIT_USAGE;
	}
	if (a->clash) {
		fprintf(stderr, "ksmpilotd: --check-config, --dump-config, --once and --restore exclude each other\n");
		return EXIT_USAGE;
	}
	a->keys = argv + optind;
	a->n_keys = (unsigned)(argc - optind);
	return -1;
}

/* A configuration error: at priority err in the journal when the daemon
 * logs there, so that journalctl -p err shows why it did not start; on
 * stderr otherwise, as the commands that print are read. Under the unit,
 * through stderr's stream with a "<3>" prefix: journald ties a stream's
 * lines to the unit, and a native message of a process that exits at once
 * may lose its unit (journald reads it from /proc/PID/cgroup). */
static void config_error(const struct args *a, const char *msg)
{
	if (a->mode == MODE_SERVICE || a->mode == MODE_RESTORE) {
		if (log_stderr_is_journal()) {
			fprintf(stderr, "<%d>%s\n", LOG_ERR, msg);
			return;
		}
		if (log_target() == LOG_TARGET_JOURNAL) {
			log_errx("%s", msg);
			return;
		}
	}
	fprintf(stderr, "%s\n", msg);
}

/* Load the configuration into cfg; with --check-config, *files names the
 * files read. Returns -1 to go on, or the exit code. */
static int load_config(const struct args *a, struct cfg *cfg, struct cfg_files **files)
{
	struct cfg_errors *errs = calloc(1, sizeof(*errs));
	int r;

	if (!errs) {
		fprintf(stderr, "ksmpilotd: out of memory\n");
		return EXIT_RUNTIME;
	}
	if (a->mode == MODE_RESTORE) {
		/* putting the knobs back matters more than a broken file */
		cfg_defaults(cfg);
		r = cfg_load_salvage(a->o.config_path, a->o.config_explicit, cfg, errs);
		if (r < 0) {
			for (unsigned i = 0; i < errs->n; i++)
				config_error(a, errs->msg[i]);
			fprintf(stderr, "ksmpilotd: --restore goes on with the values that parsed "
				"and the defaults for the rest (state_dir %s)\n", cfg->state_dir);
			r = 0;
		}
	} else if (a->mode == MODE_CHECK) {
		*files = calloc(1, sizeof(**files));
		r = *files ? cfg_load_files(a->o.config_path, a->o.config_explicit, cfg, errs, *files) : -ENOMEM;
	} else {
		r = cfg_load(a->o.config_path, a->o.config_explicit, cfg, errs);
	}
	if (r == -ENOMEM) {
		fprintf(stderr, "ksmpilotd: out of memory\n");
	} else if (r < 0) {
		for (unsigned i = 0; i < errs->n; i++)
			config_error(a, errs->msg[i]);
		if (errs->dropped) {
			char more[64];
			snprintf(more, sizeof(more), "(%u more errors)", errs->dropped);
			config_error(a, more);
		}
	}
	free(errs);
	if (r < 0) {
		free(*files);
		*files = NULL;
		return r == -ENOMEM ? EXIT_RUNTIME : EXIT_CONFIG;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct args a = {
		.o = {
			.config_path = KSMPILOT_CONFIG,
			.sysfs_dir = KSM_SYSFS_DIR,
			.log_target = LOG_TARGET_AUTO,
			.psi_path = "/proc/pressure/memory",
		},
		.mode = MODE_SERVICE,
	};
	struct cfg_files *files = NULL;
	struct cfg cfg;
	int r;

	if ((r = parse_args(argc, argv, &a)) >= 0)
		return r;
	/* the service handles them between ticks; --restore and --once
	 * --apply, which write several knobs and exit within seconds, hold
	 * them to their exit: a Ctrl-C or a stop between the advisor and
	 * pages_to_scan would leave the knobs half written, without a word */
	if (a.mode == MODE_SERVICE || a.mode == MODE_RESTORE || (a.mode == MODE_ONCE && a.o.apply))
		daemon_block_signals();
	if (a.mode == MODE_SERVICE || a.mode == MODE_RESTORE)
		log_open(a.o.log_target); /* for the configuration's errors */
	if ((r = load_config(&a, &cfg, &files)) >= 0)
		return r;
	a.o.dry_run = a.o.dry_run || cfg.dry_run;
	switch (a.mode) {
	case MODE_CHECK:
		check_report(&a.o, &cfg, files);
		free(files);
		printf("configuration OK\n");
		return EXIT_OK;
	case MODE_DUMP: {
		char why[128];
		if (!a.n_keys) {
			cfg_dump_origins(&cfg, stdout);
		} else if (cfg_dump_keys(&cfg, a.keys, a.n_keys, stdout, why, sizeof(why)) < 0) {
			fprintf(stderr, "ksmpilotd: --dump-config: %s\n", why);
			return EXIT_USAGE;
		}
		return EXIT_OK;
	}
	case MODE_RESTORE:
		log_open(a.o.log_target);
		log_set_level(cfg.log_level);
		return pilot_restore_only(&a.o, &cfg);
	case MODE_ONCE:
		log_open(LOG_TARGET_STDERR);
		log_set_level(cfg.log_level);
		return pilot_once(&a.o, &cfg);
	case MODE_SERVICE:
		break;
	}
	log_open(a.o.log_target);
	log_set_level(cfg.log_level);
	return daemon_run(&a.o, &cfg);
}
