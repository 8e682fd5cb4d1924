/* ksm.h - the KSM sysfs layer: read counters, read and write knobs, detect
 * which optional files the running kernel has, snapshot and restore.
 *
 * The directory is a parameter (default /sys/kernel/mm/ksm), so tests use a
 * fake tree made with mkdtemp(). File I/O goes through struct ksm_io, which
 * tests replace to inject EINVAL, EBUSY, EIO or EROFS. Nothing here logs:
 * functions return 0 or a negative errno. */
#ifndef KSMPILOT_KSM_H
#define KSMPILOT_KSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KSM_SYSFS_DIR "/sys/kernel/mm/ksm"
/* run reads with this bit while memory is going offline (mm/ksm.c), and a
 * write of run then waits, uninterruptible, until the offline is done */
#define KSM_RUN_OFFLINE 4
/* run=2: unmerge every page and stop ksmd. The kernel holds its lock for the
 * whole unmerge, and a write of run or merge_across_nodes waits for it,
 * uninterruptible, as for an offline; run reads 2 from its start on. */
#define KSM_RUN_UNMERGE 2

enum ksm_item {
	/* knobs */
	KSM_RUN,
	KSM_PAGES_TO_SCAN,
	KSM_SLEEP_MILLISECS,
	KSM_MERGE_ACROSS_NODES,
	KSM_USE_ZERO_PAGES,
	KSM_MAX_PAGE_SHARING,
	KSM_SMART_SCAN,
	KSM_ADVISOR_MODE,               /* 0 = none, 1 = scan-time */
	KSM_ADVISOR_TARGET_SCAN_TIME,
	KSM_ADVISOR_MAX_CPU,
	KSM_ADVISOR_MIN_PAGES_TO_SCAN,
	KSM_ADVISOR_MAX_PAGES_TO_SCAN,
	KSM_STABLE_NODE_CHAINS_PRUNE_MILLISECS,
	/* counters */
	KSM_PAGES_SHARED,
	KSM_PAGES_SHARING,
	KSM_PAGES_UNSHARED,
	KSM_PAGES_VOLATILE,
	KSM_FULL_SCANS,
	KSM_PAGES_SCANNED,
	KSM_PAGES_SKIPPED,
	KSM_GENERAL_PROFIT,             /* bytes, may be negative */
	KSM_ZERO_PAGES,
	KSM_STABLE_NODE_CHAINS,
	KSM_STABLE_NODE_DUPS,
	KSM_ITEM_COUNT
};

#define KSM_BIT(i) (UINT64_C(1) << (i))

struct ksm_values {
	uint64_t present;               /* KSM_BIT(item) when read this time */
	int64_t v[KSM_ITEM_COUNT];
};

static inline bool ksm_values_has(const struct ksm_values *kv, enum ksm_item i)
{
	return (kv->present & KSM_BIT(i)) != 0;
}

/* Replaceable I/O, for fault injection in tests. */
struct ksm_io {
	/* Read the file (already open as fd) from offset 0 into buf (len
	 * bytes); returns the number of bytes of text or -errno. The caller
	 * NUL-terminates; a result >= len counts as garbage. */
	ssize_t (*read_at)(int fd, char *buf, size_t len, enum ksm_item item);
	/* Write buf as the whole new content of name under dirfd with one
	 * write(); 0 or -errno. */
	int (*write_file)(int dirfd, const char *name, const char *buf, size_t len, enum ksm_item item);
};
extern const struct ksm_io ksm_io_default;

struct ksm {
	char dir[256];
	int dirfd;
	int fd[KSM_ITEM_COUNT];         /* open read-only, -1 where absent */
	uint64_t present;               /* files found by ksm_open() */
	const struct ksm_io *io;
};

/* Open dir; -ENOENT when it or its 'run' file is missing (CONFIG_KSM=n),
 * -ENOTDIR, or another -errno. Optional files may be absent. */
int ksm_open(struct ksm *k, const char *dir, const struct ksm_io *io);
void ksm_close(struct ksm *k);

static inline bool ksm_has(const struct ksm *k, enum ksm_item i)
{
	return (k->present & KSM_BIT(i)) != 0;
}

const char *ksm_item_name(enum ksm_item i);
bool ksm_item_is_knob(enum ksm_item i);
/* Kernel version that introduced the file, for messages ("6.8"). */
const char *ksm_item_since(enum ksm_item i);

/* Read one item. advisor_mode reads as 0 (none) or 1 (scan-time). */
int ksm_read(struct ksm *k, enum ksm_item i, int64_t *out);

/* Work of the kernel that a write of run or merge_across_nodes would wait
 * for: memory going offline, or an unmerge (run=2) while pages are still
 * merged. ksm_busy_of() from values read (none where run was not),
 * ksm_busy() from the kernel now; ksm_busy_name() says what it is. */
enum ksm_busy { KSM_BUSY_NONE, KSM_BUSY_OFFLINE, KSM_BUSY_UNMERGE };
enum ksm_busy ksm_busy_of(const struct ksm_values *v);
enum ksm_busy ksm_busy(struct ksm *k);
const char *ksm_busy_name(enum ksm_busy b);

/* Read every present item into out (hot path: one pread per file). Items
 * that fail to read are left out of out->present; the first error is
 * returned, but every other item is still read. */
int ksm_read_all(struct ksm *k, struct ksm_values *out);
/* The same for the items in mask only; the others in out are kept. */
int ksm_read_set(struct ksm *k, uint64_t mask, struct ksm_values *out);

/* Write a knob with one checked write(). -EINVAL for a counter, a negative
 * value, run outside 0..2 or advisor_mode outside 0..1 (nothing written);
 * -ENOENT if absent; -EINVAL, -EBUSY, -EACCES, -EROFS, -EIO as the kernel
 * reports them. */
int ksm_write(struct ksm *k, enum ksm_item i, int64_t value);

/* Write only when value differs from cur (the last value read); returns 1
 * when written, 0 when unchanged, or -errno. */
int ksm_apply(struct ksm *k, enum ksm_item i, int64_t value, const struct ksm_values *cur);

/* 0 if the knobs can be written, else -EROFS or -EACCES. */
int ksm_check_writable(const struct ksm *k);

/* ---- snapshot ---------------------------------------------------------
 * The knobs as found at start-up, kept in a file so that a restart after
 * a crash still knows the state from before ksmpilot. A boot resets the
 * knobs, so a snapshot names its boot (/proc/sys/kernel/random/boot_id). */
#define KSM_BOOT_ID_MAX 36
struct ksm_snapshot {
	uint64_t present;               /* knobs held */
	int64_t v[KSM_ITEM_COUNT];
	long pid;                       /* the instance that wrote it */
	int64_t time;                   /* CLOCK_REALTIME seconds */
	char boot_id[KSM_BOOT_ID_MAX + 1]; /* the boot it was taken in; "" if not known */
};

/* The knobs a snapshot keeps and restore puts back. */
bool ksm_snapshot_item(enum ksm_item i);
void ksm_snapshot_from(struct ksm_snapshot *s, const struct ksm_values *kv, long pid, int64_t time);
/* What a snapshot may hold for a knob it keeps (false for the others):
 * what the kernel accepts (run 0 or 1, as 2 is never restored), and for
 * pages_to_scan and sleep_millisecs what a person or a tuner sets; no
 * value outside is ever written back. */
#define KSM_SNAPSHOT_PAGES_MAX 1000000          /* 4 GiB a batch; ksmpilotd writes at most this */
#define KSM_SNAPSHOT_SLEEP_MAX 3600000          /* an hour */
bool ksm_snapshot_range(enum ksm_item i, int64_t *min, int64_t *max);
/* Write the snapshot (mode 0644, replaced safely); -ERANGE when a value is
 * outside ksm_snapshot_range(), as it could not be read back. */
int ksm_snapshot_save(const struct ksm_snapshot *s, const char *path);
/* Read a snapshot whole, as root restores from it: -ENOENT when absent;
 * -EPERM when it is a symlink, not a regular file, not root's or writable
 * by others; -EINVAL when a line is not its format, a key comes twice, a
 * value is outside ksm_snapshot_range() or pid, time or run is missing,
 * or boot_id (optional) is not up to KSM_BOOT_ID_MAX of [0-9a-f-].
 * The reason, with the line, goes to why. *s is untouched on failure. */
int ksm_snapshot_load(struct ksm_snapshot *s, const char *path, char *why, size_t why_len);

/* Write back every knob of the snapshot that differs from the current
 * value, advisor_mode last, run never 2. When skip_run, run is left alone.
 * failed gets KSM_BIT() of each knob that could not be written, with the
 * errno in errs[] (may be NULL). Returns 0 or the first -errno. */
int ksm_restore(struct ksm *k, const struct ksm_snapshot *s, bool skip_run, uint64_t *failed,
		int errs[KSM_ITEM_COUNT]);

/* Format a value the way the kernel file shows it ("scan-time"). */
void ksm_format_value(enum ksm_item i, int64_t v, char *buf, size_t len);

#endif
