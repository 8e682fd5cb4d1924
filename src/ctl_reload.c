/* ctl_reload.c - `ksmpilotctl reload [PID]`: ask ksmpilotd to re-read its
 * configuration (SIGHUP) and wait for its answer, so that the exit status
 * says whether the new configuration was taken. The unit's ExecReload= runs
 * it, and `systemctl reload` then fails when the daemon refuses the file.
 * The answer is in the state file: the daemon rewrites it at once after
 * each reload, and counts reloads and refused reloads there. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ctl.h"
#include "state.h"
#include "util.h"

/* How long to wait for the daemon's answer. A reload takes milliseconds; a
 * daemon stuck for longer is killed by its watchdog, and then this sees the
 * pid go. */
#define RELOAD_TIMEOUT_MS 60000u
#define RELOAD_POLL_NS 20000000L
#define RELOAD_STRANGER_MS 2000u /* a live pid, not ksmpilotd, and no lock: not one starting */

struct reload_state {
	long pid;
	uint64_t reloads, failures;
	char config[STATE_VALUE_MAX];
};

/* The state file's pid and counters: 0, or -errno (-ENOENT: no file). */
static int read_counters(const char *path, struct reload_state *rs)
{
	struct state_kv *kv = malloc(sizeof(*kv));
	int r;

	if (!kv)
		return -ENOMEM;
	r = state_read(path, kv);
	if (r == 0) {
		const char *p = state_get(kv, "pid");
		const char *ok = state_get(kv, "reloads");
		const char *bad = state_get(kv, "reload_failures");
		const char *conf = state_get(kv, "config");
		int64_t pid;
		/* the pid is signalled: 0 or -1 would reach a process group or every process */
		if (!p || !ok || !bad || parse_i64(p, 1, INT_MAX, &pid) < 0 ||
		    parse_u64(ok, 0, UINT64_MAX, &rs->reloads) < 0 || parse_u64(bad, 0, UINT64_MAX, &rs->failures) < 0) {
			r = -EINVAL;
		} else {
			rs->pid = (long)pid;
			snprintf(rs->config, sizeof(rs->config), "%s", conf ? conf : ""); /* sanitised */
		}
	}
	free(kv);
	return r;
}

/* Whether DIR holds the state of the running ksmpilotd PID. */
static bool holds_state_of(const char *dir, long pid)
{
	char path[CFG_PATH_MAX + 16];
	struct reload_state rs = { 0 };

	snprintf(path, sizeof(path), "%s/state", dir);
	return read_counters(path, &rs) == 0 && rs.pid == pid && ctl_daemon_running(dir, pid);
}

/* A reload keeps the state_dir the daemon started with (pilot.c): where the
 * configuration now names another, follow the daemon to its own, and say
 * why. Only with a pid (the unit gives $MAINPID). Where it is: the
 * directory of the lock it holds open, read in /proc/PID/fd (outside the
 * unit: under PrivateUsers= each of the unit's commands has a user
 * namespace of its own, and readlink there is refused); the unit's
 * RuntimeDirectory= ($RUNTIME_DIRECTORY, the only one of the default paths
 * the unit makes writable); the default state_dir. */
static void follow_daemon(long pid, char *state_dir, size_t size)
{
	const char *runtime = getenv("RUNTIME_DIRECTORY");
	char found[CFG_PATH_MAX];
	const char *where[3] = { NULL, NULL, KSMPILOT_RUNSTATEDIR };

	if (pid <= 0 || holds_state_of(state_dir, pid))
		return;
	if (state_dir_of_pid("/proc", pid, found, sizeof(found)) == 0)
		where[0] = found;
	if (runtime && runtime[0] == '/' && !strchr(runtime, ':') && strlen(runtime) < CFG_PATH_MAX)
		where[1] = runtime;
	for (size_t i = 0; i < ARRAY_SIZE(where); i++) {
		/* the configured one by another path holds no state of it either */
		if (!where[i] || !holds_state_of(where[i], pid))
			continue;
		fprintf(stderr,
			"ksmpilotctl: ksmpilotd (pid %ld) runs with state_dir %s, not %s as configured: state_dir "
			"changes take effect at the next start\n",
			pid, where[i], state_dir);
		snprintf(state_dir, size, "%s", where[i]);
		return;
	}
}

/* Whether process PID holds the lock of DIR open: no file the daemon writes
 * can make another process do that. */
static bool holds_lock_of(const char *dir, long pid)
{
	char found[CFG_PATH_MAX];
	struct stat a, b;

	return state_dir_of_pid("/proc", pid, found, sizeof(found)) == 0 && stat(found, &a) == 0 &&
	       stat(dir, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void pause_a_little(void)
{
	nanosleep(&(struct timespec){ .tv_nsec = RELOAD_POLL_NS }, NULL);
}

/* The daemon's configuration file, to read its errors from: the state
 * file's path where it is whole. The state file keeps STATE_VALUE_MAX - 1
 * bytes of a value, with a byte that would not print safely made '?': a
 * path that long, or with a '?', may name another file. NULL: none. */
static const char *daemon_config(const char *stated)
{
	if (!stated[0] || strlen(stated) >= STATE_VALUE_MAX - 1 || strchr(stated, '?'))
		return NULL;
	return stated;
}

#define DAEMON_LOG "its log (journalctl -u ksmpilot)"

/* After a refusal: the errors, as the daemon saw them. It logged them too,
 * which is where to look when its file cannot be named for sure, parses
 * by now, or cannot be read here. */
static void print_config_errors(const char *stated)
{
	const char *config = daemon_config(stated);
	struct cfg *cfg;
	struct cfg_errors *errs;
	int r = -ENOMEM;

	if (!config) {
		fprintf(stderr, "ksmpilotctl: its errors are in " DAEMON_LOG ": %s\n",
			stated[0] ? "the state file's path may be cut, or have a byte that could not be printed"
				  : "the state file names no configuration file");
		return;
	}
	cfg = malloc(sizeof(*cfg));
	errs = calloc(1, sizeof(*errs));
	if (cfg && errs)
		r = cfg_load(config, true, cfg, errs);
	if (r >= 0) {
		fprintf(stderr, "ksmpilotctl: %s parses by now; the errors ksmpilotd saw are in " DAEMON_LOG "\n",
			config);
	} else if (!errs || errs->n + errs->dropped == 0) {
		/* out of memory, here or in cfg_load(), which records no error for it */
		fprintf(stderr, "ksmpilotctl: cannot read %s: %s; the errors ksmpilotd saw are in " DAEMON_LOG "\n",
			config, strerror(-r));
	} else {
		for (unsigned i = 0; i < errs->n; i++)
			fprintf(stderr, "%s\n", errs->msg[i]);
		if (errs->dropped)
			fprintf(stderr, "ksmpilotctl: and %u more errors\n", errs->dropped);
	}
	free(cfg);
	free(errs);
}

int ctl_reload(const struct ctl_opts *o, int argc, char **argv)
{
	struct cfg *cfg;
	struct cfg_errors *errs;
	struct reload_state before = { 0 }, now = { 0 };
	char state_dir[CFG_PATH_MAX], path[CFG_PATH_MAX + 16];
	long pid = 0;
	uint64_t deadline = now_ms() + RELOAD_TIMEOUT_MS, stranger_since = 0;
	int r;

	if (argc > 1) {
		fprintf(stderr, "ksmpilotctl: reload takes at most one pid\n");
		return CTL_USAGE;
	}
	if (argc == 1) {
		char *end;
		errno = 0;
		pid = strtol(argv[0], &end, 10);
		if (errno || *end || end == argv[0] || pid <= 1 || pid > INT_MAX) {
			fprintf(stderr, "ksmpilotctl: reload: '%s' is not a process id\n", argv[0]);
			return CTL_USAGE;
		}
	}
	/* state_dir from the configuration. A broken file is what a refused
	 * reload is about: take the values that parse (state_dir among them),
	 * quietly; the errors come with the daemon's verdict */
	cfg = malloc(sizeof(*cfg));
	errs = calloc(1, sizeof(*errs));
	if (!cfg || !errs) {
		free(cfg);
		free(errs);
		return CTL_FAIL;
	}
	cfg_defaults(cfg);
	if (!o->state_dir)
		(void)cfg_load_salvage(o->config, o->config_explicit, cfg, errs); /* errors: see above */
	snprintf(state_dir, sizeof(state_dir), "%s", o->state_dir ? o->state_dir : cfg->state_dir);
	free(cfg);
	free(errs);
	if (!o->state_dir)
		follow_daemon(pid, state_dir, sizeof(state_dir));
	snprintf(path, sizeof(path), "%s/state", state_dir);

	/* The state of that daemon before the signal. Right after start-up
	 * its first tick may not have written the file yet: wait for it. */
	for (;;) {
		r = read_counters(path, &before);
		if (r == 0 && (pid == 0 || before.pid == pid) && ctl_daemon_running(state_dir, before.pid))
			break;
		if (r < 0 && r != -ENOENT) {
			fprintf(stderr, "ksmpilotctl: cannot read %s: %s\n", path,
				r == -EINVAL ? "not a state file" : strerror(-r));
			return CTL_FAIL;
		}
		/* no pid given, but a daemon holds the lock: it is starting
		 * (its first tick writes the file), or the file is another
		 * instance's; wait for its own as for a pid given */
		if (pid == 0 && ctl_daemon_running(state_dir, 0)) {
			if (now_ms() >= deadline) {
				fprintf(stderr,
					"ksmpilotctl: a ksmpilotd holds the lock in %s, but wrote no state file of its "
					"own in %u s; look at journalctl -u ksmpilot\n",
					state_dir, RELOAD_TIMEOUT_MS / 1000);
				return CTL_FAIL;
			}
			pause_a_little();
			continue;
		}
		if (pid == 0) {
			if (r == 0)
				fprintf(stderr, "ksmpilotctl: ksmpilotd is not running (%s is left from pid %ld)\n",
					path, before.pid);
			else
				fprintf(stderr, "ksmpilotctl: ksmpilotd is not running (no state file %s)\n", path);
			return CTL_NOT_RUNNING;
		}
		if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
			fprintf(stderr, "ksmpilotctl: process %ld does not exist\n", pid);
			return CTL_NOT_RUNNING;
		}
		/* alive, but no daemon holds the lock, and it is no ksmpilotd
		 * that is starting (for 2 s: a process just forked, or under
		 * a wrapper, has another name first): nothing to wait for */
		if (ctl_daemon_running(state_dir, 0) || state_pid_is_ksmpilotd("/proc", pid))
			stranger_since = 0;
		else if (!stranger_since)
			stranger_since = now_ms();
		if (stranger_since && now_ms() - stranger_since >= RELOAD_STRANGER_MS) {
			fprintf(stderr, "ksmpilotctl: process %ld is not ksmpilotd, and no ksmpilotd holds the lock in %s\n",
				pid, state_dir);
			return CTL_NOT_RUNNING;
		}
		if (now_ms() >= deadline) {
			fprintf(stderr, "ksmpilotctl: no state of ksmpilotd (pid %ld) in %s after %u s: is state_dir %s?\n",
				pid, path, RELOAD_TIMEOUT_MS / 1000, state_dir);
			return CTL_FAIL;
		}
		pause_a_little();
	}
	pid = before.pid;
	/* Without a pid given, the pid is the state file's, which the daemon
	 * writes (and the lock's pid too): a daemon taken over could name any
	 * process for root to signal. Where the unit gives $MAINPID, its
	 * commands may not read /proc/PID/fd (PrivateUsers=), and need not. */
	if (argc == 0 && !holds_lock_of(state_dir, pid)) {
		fprintf(stderr,
			"ksmpilotctl: process %ld, named by %s, does not hold %s/lock open: not signalled; give the "
			"daemon's pid (systemctl reload ksmpilot gives it)\n",
			pid, path, state_dir);
		return CTL_FAIL;
	}

	if (kill((pid_t)pid, SIGHUP) < 0) {
		fprintf(stderr, "ksmpilotctl: cannot signal ksmpilotd (pid %ld): %s\n", pid, strerror(errno));
		return CTL_FAIL;
	}
	for (;;) {
		pause_a_little();
		r = read_counters(path, &now);
		if (r == 0 && now.pid == pid && now.reloads + now.failures > before.reloads + before.failures)
			break;
		if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
			fprintf(stderr, "ksmpilotctl: ksmpilotd (pid %ld) exited during the reload\n", pid);
			return CTL_FAIL;
		}
		if (now_ms() >= deadline) {
			fprintf(stderr, "ksmpilotctl: no answer from ksmpilotd (pid %ld) in %u s\n", pid,
				RELOAD_TIMEOUT_MS / 1000);
			return CTL_FAIL;
		}
	}
	if (now.failures > before.failures) {
		fprintf(stderr,
			"ksmpilotctl: ksmpilotd (pid %ld) refused the configuration in %s; the old configuration keeps "
			"running\n",
			pid, now.config);
		print_config_errors(now.config);
		return CTL_CONFIG;
	}
	printf("ksmpilotd (pid %ld) reloaded %s (reload #%" PRIu64 ")\n", pid, now.config,
	       now.reloads + now.failures);
	return CTL_OK;
}
