/* state.h - what the daemon publishes about itself: the state file
 * (/run/ksmpilot/state, read by ksmpilotctl status) and the Prometheus
 * node_exporter textfile. Both are written through a temporary file and
 * rename(), so a reader never sees half a file. Formats: ksmpilotctl(8). */
#ifndef KSMPILOT_STATE_H
#define KSMPILOT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controller.h"
#include "guests.h"
#include "hazard.h"
#include "sample.h"

#define STATE_VERSION 1
/* Written when the decision changes, and at least this often while ksmd
 * works; this often while it idles or is stopped (a write is a file
 * created and renamed: the dearest part of an idle daemon's minute). */
#define STATE_REFRESH_MS 10000u
#define STATE_REFRESH_IDLE_MS 30000u

struct state_info {
	long pid;
	int64_t started, updated, decided;      /* CLOCK_REALTIME seconds */
	const char *config_path;
	uint64_t interval_ms;
	bool dry_run;
	int kernel_advisor;                     /* enum advisor_policy */
	uint64_t ticks, adjustments, write_errors, reloads, reload_failures;
	const struct sample *s;
	const struct ctl_decision *d;
	bool hazard_profit;                     /* general_profit negative for 10 min */
	bool hazard_maps;                       /* a KSM process near vm.max_map_count */
	struct map_usage maps;
	const char *inspect;                    /* state_dir/processes: fresh, missing, stale, refused */
	int64_t inspect_time;                   /* its scan time; 0 when none was read */
	bool hazard_numa;                       /* merge_across_nodes=1, several nodes */
	unsigned numa_nodes;
	bool hazard_foreign;                    /* someone else is writing the knobs */
	uint64_t mode_changes, probes;          /* since start */
	uint64_t foreign_changes;               /* knob changes by someone else, since start */
	double full_scan_s;                     /* duration of the last full scan; < 0: none seen */
	double max_cpu;                         /* the cap on ksmd, in cores */
	const struct guest_table *guests;       /* from a fresh state_dir/processes; NULL: none */
	unsigned guest_series;                  /* guests with series of their own (guest_series) */
};

/* Format into a malloc()ed string; NULL on ENOMEM, or (state) when a
 * string value holds a newline, which would add a key. */
char *state_format(const struct state_info *si);
char *metrics_format(const struct state_info *si);
/* Format and write atomically (mode 0644), the state file as name in the
 * directory dirfd, the metrics to path; 0 or -errno (-EINVAL: a newline
 * in a value). */
int state_write(int dirfd, const char *name, const struct state_info *si);
int metrics_write(const char *path, const struct state_info *si);

/* A parsed state file: key=value pairs in file order. */
#define STATE_MAX_KEYS 96
#define STATE_VALUE_MAX 256 /* a longer value is cut to STATE_VALUE_MAX - 1 bytes */
struct state_kv {
	unsigned n;
	char key[STATE_MAX_KEYS][40];
	char value[STATE_MAX_KEYS][STATE_VALUE_MAX];
};
/* -ENOENT when there is no state file, -EINVAL when it is not one. Keys
 * and values are sanitised (text_sanitize()): a byte that would not print
 * safely reads '?'. */
int state_read(const char *path, struct state_kv *kv);
/* The value of key, or NULL. */
const char *state_get(const struct state_kv *kv, const char *key);

/* Whether a ksmpilotd runs with this state_dir: it holds state_dir/lock
 * (an open file description lock, tested without taking it), and with a
 * pid (from the state file) the pid it wrote into the lock is that one, or,
 * before it wrote one, pid is a ksmpilotd (state_pid_is_ksmpilotd());
 * where the lock cannot be read, pid is alive and its comm in proc_dir is
 * ksmpilotd. */
bool state_daemon_running(const char *state_dir, const char *proc_dir, long pid);

/* Whether pid is alive and named ksmpilotd (its comm in proc_dir). */
bool state_pid_is_ksmpilotd(const char *proc_dir, long pid);

/* The state_dir that ksmpilotd pid runs with: the directory of the file
 * named lock it holds open, read from proc_dir/PID/fd. A reload keeps the
 * state_dir the daemon started with, so this may differ from the one
 * configured now. 0 with dir filled; -ENOENT: no such descriptor;
 * -ENAMETOOLONG; or -errno of opening the fd directory (EACCES: not the
 * caller's to read). */
int state_dir_of_pid(const char *proc_dir, long pid, char *dir, size_t size);

#endif
