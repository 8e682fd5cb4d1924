/* procscan.h - the processes that use KSM, read from a proc directory
 * given as a parameter ("/proc"; tests use a fake tree made with mkdtemp).
 *
 * One record per process with KSM state: pid, real uid, comm and command
 * line (sanitised with text_sanitize() where they are read, and cut to a
 * bounded length), every /proc/PID/ksm_stat field the kernel has (absent
 * ones marked absent), and the number of its memory mappings, for the
 * vm.max_map_count hazard. Reading another user's ksm_stat (mode 0400)
 * needs CAP_DAC_READ_SEARCH, and its maps ptrace read access
 * (CAP_SYS_PTRACE): `ksmpilotctl inspect` runs this in a unit of its own
 * and leaves the result in state_dir/processes, in the text format below,
 * for ksmpilotd, which holds no capability.
 *
 * Nothing here logs. Functions return 0 or a negative errno and leave
 * their output untouched on failure. The work is bounded: at most
 * PROCSCAN_MAX_PROCS records, PROCSCAN_STAT_MAX bytes of ksm_stat,
 * PROCSCAN_CMDLINE_MAX bytes of a command line, and at most twice
 * vm.max_map_count lines of a maps file are read per process. */
#ifndef KSMPILOT_PROCSCAN_H
#define KSMPILOT_PROCSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The fields of /proc/PID/ksm_stat (6.1 has the first only; 6.18 all). */
enum procscan_stat {
	PS_RMAP_ITEMS,          /* ksm_rmap_items: pages KSM tracks (64 bytes each) */
	PS_ZERO_PAGES,          /* ksm_zero_pages: merged with the zero page */
	PS_MERGING_PAGES,       /* ksm_merging_pages: pages merged (5.19: a file of its own) */
	PS_PROCESS_PROFIT,      /* ksm_process_profit: bytes saved minus rmap cost; may be < 0 */
	PS_MERGEABLE,           /* ksm_mergeable: 1 when some memory is MADV_MERGEABLE */
	PS_MERGE_ANY,           /* ksm_merge_any: 1 after prctl(PR_SET_MEMORY_MERGE) */
	PS_STAT_COUNT
};

#define PROCSCAN_COMM_MAX 64            /* comm is at most 15 bytes today */
#define PROCSCAN_CMDLINE_MAX 512        /* bytes kept of a command line, NUL included */
#define PROCSCAN_STAT_MAX 1024          /* bytes read of ksm_stat */
#define PROCSCAN_MAX_PROCS 4096         /* records kept; more are counted in dropped */
#define PROCSCAN_DEFAULT_MAX_MAP_COUNT 65530 /* the kernel's, when the sysctl cannot be read */

struct procscan_proc {
	int pid;
	uint32_t uid;                           /* real uid */
	char comm[PROCSCAN_COMM_MAX];           /* sanitised */
	char cmdline[PROCSCAN_CMDLINE_MAX];     /* arguments joined by spaces, cut, sanitised */
	uint32_t present;                       /* PS_BIT(field) for each field read */
	int64_t stat[PS_STAT_COUNT];
	bool have_maps;                         /* false: maps could not be read */
	uint64_t maps;                          /* memory mappings: lines of /proc/PID/maps */
	uint64_t start;                         /* start time, clock ticks after boot (/proc/PID/stat's
						 * field 22), to tell a pid reused since; 0: unknown */
};

#define PS_BIT(f) (UINT32_C(1) << (f))

struct procscan {
	int64_t time;           /* CLOCK_REALTIME seconds of the scan */
	uint64_t max_map_count; /* vm.max_map_count */
	unsigned scanned;       /* process directories looked at */
	unsigned denied;        /* ksm_stat not readable (no right, or no file
				 * descriptor left): whether they use KSM is unknown */
	unsigned maps_unreadable; /* KSM processes whose maps could not be read */
	unsigned dropped;       /* KSM processes past PROCSCAN_MAX_PROCS */
	unsigned n;             /* records in procs, in the order found */
	struct procscan_proc *procs;
};

const char *procscan_stat_name(enum procscan_stat f);

/* Walk proc_dir: one record for each process whose ksm_stat shows KSM use
 * (rmap items, merged or zero pages, or mergeable memory). A process that
 * goes away during the walk is left out. max_map_count comes from
 * proc_dir/sys/vm/max_map_count. -errno when proc_dir cannot be listed,
 * -ENOMEM. Free with procscan_free(). */
int procscan_run(const char *proc_dir, struct procscan *out);
/* The same in two phases: first each process's ksm_stat, with the
 * directory and the maps of those that use KSM held open (two descriptors
 * each); then confine(arg), when given, which may take the right to open
 * another process's maps away (Landlock does); then, read through what is
 * held open, the names, command lines and maps lines other users control.
 * confine's -errno fails the scan. */
int procscan_run_confined(const char *proc_dir, struct procscan *out, int (*confine)(void *arg), void *arg);
void procscan_free(struct procscan *ps);

/* Parse the text of a ksm_stat file into p->stat and p->present: lines
 * "NAME VALUE" or "NAME: VALUE" (yes/no for the flags); unknown names are
 * skipped. A known name with a bad value, or given twice, is left out
 * and the others kept: then -EBADMSG, else 0. */
int procscan_parse_ksm_stat(const char *text, struct procscan_proc *p);

/* The start time (field 22) of a /proc/PID/stat line, whose comm, in
 * parentheses, runs to the last ')': 0, or -EBADMSG. */
int procscan_parse_start(const char *text, uint64_t *start);
/* The same from the stat file in pfd, a /proc/PID directory: 0, -errno,
 * or -EBADMSG. */
int procscan_read_start(int pfd, uint64_t *start);

/* Whether the record shows KSM use (see procscan_run). */
bool procscan_uses_ksm(const struct procscan_proc *p);

/* The record with the most mappings relative to max_map_count (the first
 * among equals), NULL when no record has its maps. */
const struct procscan_proc *procscan_worst_maps(const struct procscan *ps);

/* ---- state_dir/processes ---------------------------------------------------
 * A text of key=value lines, documented in ksmpilotctl(8):
 *   # ksmpilot processes v1 ...       the first line
 *   version=1
 *   time= max_map_count= scanned= denied= maps_unreadable= dropped= processes=
 *   pid=PID                           starts a record; then, each at most once:
 *   uid= comm= cmdline= ksm_rmap_items= ksm_zero_pages= ksm_merging_pages=
 *   ksm_process_profit= ksm_mergeable= ksm_merge_any= maps= start=
 * A field the kernel did not give is left out. */
#define PROCSCAN_FILE_VERSION 1
#define PROCSCAN_FILE_MAX ((size_t)8 * 1024 * 1024)

/* Format into a malloc()ed text (*out). -EINVAL when a string holds a
 * newline (the writer of a line-oriented file refuses it), -ENOMEM. */
int procscan_format(const struct procscan *ps, char **out);

/* Parse len bytes of text (no NUL needed) whole: any line that is not
 * part of the format is refused. Unknown keys of the right shape are
 * skipped, for later versions of the same format. Strings are sanitised
 * again. -EBADMSG with *bad_line (1-based; 0 for the whole text, such as
 * a count that does not match) set, -ENOMEM. Free with procscan_free(). */
int procscan_parse(const char *text, size_t len, struct procscan *out, unsigned *bad_line);

#endif
