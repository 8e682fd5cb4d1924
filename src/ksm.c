/* ksm.c - see ksm.h */
#include "ksm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static const struct {
	const char *name;
	const char *since;
	bool knob;
} items[KSM_ITEM_COUNT] = {
	[KSM_RUN] = { "run", "2.6.32", true },
	[KSM_PAGES_TO_SCAN] = { "pages_to_scan", "2.6.32", true },
	[KSM_SLEEP_MILLISECS] = { "sleep_millisecs", "2.6.32", true },
	[KSM_MERGE_ACROSS_NODES] = { "merge_across_nodes", "3.9", true },
	[KSM_USE_ZERO_PAGES] = { "use_zero_pages", "4.11", true },
	[KSM_MAX_PAGE_SHARING] = { "max_page_sharing", "4.13", true },
	[KSM_SMART_SCAN] = { "smart_scan", "6.7", true },
	[KSM_ADVISOR_MODE] = { "advisor_mode", "6.8", true },
	[KSM_ADVISOR_TARGET_SCAN_TIME] = { "advisor_target_scan_time", "6.8", true },
	[KSM_ADVISOR_MAX_CPU] = { "advisor_max_cpu", "6.8", true },
	[KSM_ADVISOR_MIN_PAGES_TO_SCAN] = { "advisor_min_pages_to_scan", "6.8", true },
	[KSM_ADVISOR_MAX_PAGES_TO_SCAN] = { "advisor_max_pages_to_scan", "6.8", true },
	[KSM_STABLE_NODE_CHAINS_PRUNE_MILLISECS] = { "stable_node_chains_prune_millisecs", "4.13", true },
	[KSM_PAGES_SHARED] = { "pages_shared", "2.6.32", false },
	[KSM_PAGES_SHARING] = { "pages_sharing", "2.6.32", false },
	[KSM_PAGES_UNSHARED] = { "pages_unshared", "2.6.32", false },
	[KSM_PAGES_VOLATILE] = { "pages_volatile", "2.6.32", false },
	[KSM_FULL_SCANS] = { "full_scans", "2.6.32", false },
	[KSM_PAGES_SCANNED] = { "pages_scanned", "6.6", false },
	[KSM_PAGES_SKIPPED] = { "pages_skipped", "6.7", false },
	[KSM_GENERAL_PROFIT] = { "general_profit", "6.4", false },
	[KSM_ZERO_PAGES] = { "ksm_zero_pages", "6.6", false },
	[KSM_STABLE_NODE_CHAINS] = { "stable_node_chains", "4.13", false },
	[KSM_STABLE_NODE_DUPS] = { "stable_node_dups", "4.13", false },
};

const char *ksm_item_name(enum ksm_item i)
{
	return (unsigned)i < KSM_ITEM_COUNT ? items[i].name : "?";
}

bool ksm_item_is_knob(enum ksm_item i)
{
	return (unsigned)i < KSM_ITEM_COUNT && items[i].knob;
}

const char *ksm_item_since(enum ksm_item i)
{
	return (unsigned)i < KSM_ITEM_COUNT ? items[i].since : "?";
}

static ssize_t default_read_at(int fd, char *buf, size_t len, enum ksm_item item)
{
	(void)item;
	return pread_text(fd, buf, len);
}

static int default_write_file(int dirfd, const char *name, const char *buf, size_t len, enum ksm_item item)
{
	ssize_t n;
	int fd, r = 0;

	(void)item;
	fd = openat(dirfd, name, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	/* One write(): sysfs reports EINVAL/EBUSY from this call. */
	n = write(fd, buf, len);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != len)
		r = -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

const struct ksm_io ksm_io_default = {
	.read_at = default_read_at,
	.write_file = default_write_file,
};

int ksm_open(struct ksm *k, const char *dir, const struct ksm_io *io)
{
	int fd;

	memset(k, 0, sizeof(*k));
	for (int i = 0; i < KSM_ITEM_COUNT; i++)
		k->fd[i] = -1;
	k->dirfd = -1;
	k->io = io ? io : &ksm_io_default;
	if ((size_t)snprintf(k->dir, sizeof(k->dir), "%s", dir) >= sizeof(k->dir))
		return -ENAMETOOLONG;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	k->dirfd = fd;
	for (int i = 0; i < KSM_ITEM_COUNT; i++) {
		int f = openat(fd, items[i].name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (f < 0) {
			/* Optional files may be absent; 'run' must open. */
			if (i == KSM_RUN) {
				int r = -errno;
				ksm_close(k);
				return r;
			}
			continue;
		}
		k->fd[i] = f;
		k->present |= KSM_BIT(i);
	}
	return 0;
}

void ksm_close(struct ksm *k)
{
	for (int i = 0; i < KSM_ITEM_COUNT; i++) {
		if (k->fd[i] >= 0)
			close(k->fd[i]);
		k->fd[i] = -1;
	}
	if (k->dirfd >= 0)
		close(k->dirfd);
	k->dirfd = -1;
	k->present = 0;
}

/* "[none] scan-time" -> 0, "none [scan-time]" -> 1 */
static int parse_advisor_mode(const char *s, int64_t *out)
{
	const char *open = strchr(s, '[');
	const char *close = open ? strchr(open, ']') : NULL;
	size_t n;

	if (!open || !close) {
		/* a bare word: what a fake tree holds after a write */
		if (strcmp(s, "none") == 0)
			*out = 0;
		else if (strcmp(s, "scan-time") == 0)
			*out = 1;
		else
			return -EINVAL;
		return 0;
	}
	n = (size_t)(close - open - 1);
	if (n == 4 && strncmp(open + 1, "none", 4) == 0)
		*out = 0;
	else if (n == 9 && strncmp(open + 1, "scan-time", 9) == 0)
		*out = 1;
	else
		return -EINVAL;
	return 0;
}

int ksm_read(struct ksm *k, enum ksm_item i, int64_t *out)
{
	char buf[64];
	ssize_t n;
	int64_t v;
	int r;

	if ((unsigned)i >= KSM_ITEM_COUNT || k->fd[i] < 0)
		return -ENOENT;
	n = k->io->read_at(k->fd[i], buf, sizeof(buf), i);
	if (n < 0)
		return (int)n;
	if ((size_t)n >= sizeof(buf))
		return -EBADMSG;
	buf[n] = '\0';
	if (i == KSM_ADVISOR_MODE)
		r = parse_advisor_mode(buf, &v);
	else if (i == KSM_GENERAL_PROFIT)
		r = parse_i64(buf, INT64_MIN, INT64_MAX, &v);
	else if (i == KSM_ZERO_PAGES) {
		/* 6.6-6.9 counted it without a lock, printed signed: it
		 * could read -1, or drift below zero and stay; none then */
		r = parse_i64(buf, INT64_MIN, INT64_MAX, &v);
		if (r == 0 && v < 0)
			v = 0;
	} else {
		uint64_t u;
		r = parse_u64(buf, 0, INT64_MAX, &u);
		v = (int64_t)u;
	}
	if (r < 0)
		return -EBADMSG; /* garbage from the file */
	*out = v;
	return 0;
}

enum ksm_busy ksm_busy_of(const struct ksm_values *v)
{
	if (!ksm_values_has(v, KSM_RUN))
		return KSM_BUSY_NONE;
	if (v->v[KSM_RUN] & KSM_RUN_OFFLINE)
		return KSM_BUSY_OFFLINE;
	/* the unmerge has ended once nothing is merged, not even with the
	 * zero page, and no rmap item is left (it removes them all); a
	 * counter not read counts as not ended, but for ksm_zero_pages, which
	 * kernels before 6.6 do not have */
	if (v->v[KSM_RUN] == KSM_RUN_UNMERGE) {
		static const enum ksm_item left[] = { KSM_PAGES_SHARED, KSM_PAGES_SHARING, KSM_PAGES_UNSHARED };
		for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++)
			if (!ksm_values_has(v, left[i]) || v->v[left[i]] > 0)
				return KSM_BUSY_UNMERGE;
		if (ksm_values_has(v, KSM_ZERO_PAGES) && v->v[KSM_ZERO_PAGES] > 0)
			return KSM_BUSY_UNMERGE;
	}
	return KSM_BUSY_NONE;
}

enum ksm_busy ksm_busy(struct ksm *k)
{
	struct ksm_values v = { 0 };
	static const enum ksm_item need[] = { KSM_RUN, KSM_PAGES_SHARED, KSM_PAGES_SHARING, KSM_PAGES_UNSHARED,
					      KSM_ZERO_PAGES };

	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (ksm_read(k, need[i], &v.v[need[i]]) == 0)
			v.present |= KSM_BIT(need[i]);
		if (i == 0 && (!ksm_values_has(&v, KSM_RUN) || v.v[KSM_RUN] != KSM_RUN_UNMERGE))
			break; /* the counters matter only at run=2 */
	}
	return ksm_busy_of(&v);
}

const char *ksm_busy_name(enum ksm_busy b)
{
	switch (b) {
	case KSM_BUSY_OFFLINE:
		return "memory is going offline";
	case KSM_BUSY_UNMERGE:
		return "an unmerge (run=2) is under way";
	default:
		return "none";
	}
}

int ksm_read_all(struct ksm *k, struct ksm_values *out)
{
	out->present = 0;
	return ksm_read_set(k, ~UINT64_C(0), out);
}

int ksm_read_set(struct ksm *k, uint64_t mask, struct ksm_values *out)
{
	int first = 0;

	out->present &= ~mask;
	for (int i = 0; i < KSM_ITEM_COUNT; i++) {
		int r;
		if (!(mask & KSM_BIT(i)) || !ksm_has(k, (enum ksm_item)i))
			continue;
		r = ksm_read(k, (enum ksm_item)i, &out->v[i]);
		if (r == 0)
			out->present |= KSM_BIT(i);
		else if (first == 0)
			first = r;
	}
	return first;
}

void ksm_format_value(enum ksm_item i, int64_t v, char *buf, size_t len)
{
	if (i == KSM_ADVISOR_MODE)
		snprintf(buf, len, "%s", v ? "scan-time" : "none");
	else
		snprintf(buf, len, "%" PRId64, v);
}

int ksm_write(struct ksm *k, enum ksm_item i, int64_t value)
{
	char buf[32];
	int n;

	if ((unsigned)i >= KSM_ITEM_COUNT || !items[i].knob)
		return -EINVAL;
	if (!ksm_has(k, i))
		return -ENOENT;
	/* Every knob is unsigned; run is 0..2 and advisor_mode 0..1, which
	 * ksm_format_value() would otherwise turn into "scan-time". */
	if (value < 0 || (i == KSM_RUN && value > 2) || (i == KSM_ADVISOR_MODE && value > 1))
		return -EINVAL;
	ksm_format_value(i, value, buf, sizeof(buf));
	n = (int)strlen(buf);
	return k->io->write_file(k->dirfd, items[i].name, buf, (size_t)n, i);
}

int ksm_apply(struct ksm *k, enum ksm_item i, int64_t value, const struct ksm_values *cur)
{
	int r;

	if (cur && ksm_values_has(cur, i) && cur->v[i] == value)
		return 0;
	r = ksm_write(k, i, value);
	return r < 0 ? r : 1;
}

int ksm_check_writable(const struct ksm *k)
{
	/* access() reports EROFS for a read-only mount even to root. */
	if (faccessat(k->dirfd, "run", W_OK, AT_EACCESS) < 0)
		return -errno;
	return 0;
}

/* ---- snapshot --------------------------------------------------------- */

bool ksm_snapshot_item(enum ksm_item i)
{
	switch (i) {
	case KSM_RUN:
	case KSM_PAGES_TO_SCAN:
	case KSM_SLEEP_MILLISECS:
	case KSM_ADVISOR_MODE:
	case KSM_MERGE_ACROSS_NODES:
		return true;
	default:
		return false;
	}
}

void ksm_snapshot_from(struct ksm_snapshot *s, const struct ksm_values *kv, long pid, int64_t time)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < KSM_ITEM_COUNT; i++) {
		if (ksm_snapshot_item((enum ksm_item)i) && ksm_values_has(kv, (enum ksm_item)i)) {
			s->present |= KSM_BIT(i);
			s->v[i] = kv->v[i];
		}
	}
	/* Memory going offline at start-up: run reads with the offline bit,
	 * which is no state to restore. A run=2 found at start-up is an
	 * unmerge in progress; restoring it would unmerge again, so keep it
	 * as "stopped". */
	s->v[KSM_RUN] &= ~KSM_RUN_OFFLINE;
	if (s->v[KSM_RUN] == KSM_RUN_UNMERGE)
		s->v[KSM_RUN] = 0;
	s->pid = pid;
	s->time = time;
}

#define SNAPSHOT_MAGIC "# ksmpilot snapshot v1"

bool ksm_snapshot_range(enum ksm_item i, int64_t *min, int64_t *max)
{
	*min = 0;
	switch (i) {
	case KSM_RUN:                   /* 2 (unmerge) is never restored */
	case KSM_ADVISOR_MODE:          /* none, scan-time */
	case KSM_MERGE_ACROSS_NODES:
		*max = 1;
		return true;
	case KSM_PAGES_TO_SCAN:
		*max = KSM_SNAPSHOT_PAGES_MAX;
		return true;
	case KSM_SLEEP_MILLISECS:
		*max = KSM_SNAPSHOT_SLEEP_MAX;
		return true;
	default:
		*max = -1;
		return false;
	}
}

int ksm_snapshot_save(const struct ksm_snapshot *s, const char *path)
{
	char buf[1024], val[32];
	size_t off = 0;

	off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s\npid=%ld\ntime=%" PRId64 "\n", SNAPSHOT_MAGIC,
				s->pid, s->time);
	if (s->boot_id[0]) {
		if (!boot_id_valid(s->boot_id))
			return -ERANGE;
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "boot_id=%s\n", s->boot_id);
	}
	for (int i = 0; i < KSM_ITEM_COUNT && off < sizeof(buf); i++) {
		int64_t min, max;
		if (!(s->present & KSM_BIT(i)))
			continue;
		/* never a file that --restore would refuse */
		if (!ksm_snapshot_range((enum ksm_item)i, &min, &max) || s->v[i] < min || s->v[i] > max)
			return -ERANGE;
		ksm_format_value((enum ksm_item)i, s->v[i], val, sizeof(val));
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s=%s\n", items[i].name, val);
	}
	if (off >= sizeof(buf))
		return -ENOBUFS;
	return write_file_atomic(path, buf, off, 0644);
}

_Static_assert(KSM_BOOT_ID_MAX == BOOT_ID_LEN_MAX, "a snapshot holds any boot id boot_id_valid() takes");

/* Parse one "key=value" line of a snapshot into tmp; seen collects the
 * keys (KSM_BIT of the knob, or the three bits past them for pid, time and
 * boot_id). */
#define SEEN_PID KSM_BIT(KSM_ITEM_COUNT)
#define SEEN_TIME KSM_BIT(KSM_ITEM_COUNT + 1)
#define SEEN_BOOT KSM_BIT(KSM_ITEM_COUNT + 2)
static int snapshot_line(char *line, struct ksm_snapshot *tmp, uint64_t *seen, char *why, size_t why_len)
{
	char *eq = strchr(line, '=');
	int64_t v, min, max;

	if (!eq) {
		snprintf(why, why_len, "not key=value");
		return -EINVAL;
	}
	*eq = '\0';
	if (strcmp(line, "boot_id") == 0) {
		if (*seen & SEEN_BOOT) {
			snprintf(why, why_len, "boot_id twice");
			return -EINVAL;
		}
		if (!boot_id_valid(eq + 1)) {
			snprintf(why, why_len, "boot_id: '%.40s' is not a boot id", eq + 1);
			return -EINVAL;
		}
		snprintf(tmp->boot_id, sizeof(tmp->boot_id), "%s", eq + 1);
		*seen |= SEEN_BOOT;
		return 0;
	}
	if (strcmp(line, "pid") == 0 || strcmp(line, "time") == 0) {
		bool pid = line[0] == 'p';
		if (*seen & (pid ? SEEN_PID : SEEN_TIME)) {
			snprintf(why, why_len, "%s twice", line);
			return -EINVAL;
		}
		if (parse_i64(eq + 1, pid ? 1 : 0, pid ? INT32_MAX : INT64_MAX, &v) < 0) {
			snprintf(why, why_len, "%s: '%.32s' is not a valid value", line, eq + 1);
			return -EINVAL;
		}
		if (pid)
			tmp->pid = (long)v;
		else
			tmp->time = v;
		*seen |= pid ? SEEN_PID : SEEN_TIME;
		return 0;
	}
	for (int i = 0; i < KSM_ITEM_COUNT; i++) {
		if (!ksm_snapshot_range((enum ksm_item)i, &min, &max) || strcmp(line, items[i].name) != 0)
			continue;
		if (*seen & KSM_BIT(i)) {
			snprintf(why, why_len, "%s twice", line);
			return -EINVAL;
		}
		if (i == KSM_ADVISOR_MODE) {
			if (strcmp(eq + 1, "none") == 0) {
				v = 0;
			} else if (strcmp(eq + 1, "scan-time") == 0) {
				v = 1;
			} else {
				snprintf(why, why_len, "advisor_mode: '%.32s' is not none or scan-time", eq + 1);
				return -EINVAL;
			}
		} else if (parse_i64(eq + 1, min, max, &v) < 0) {
			snprintf(why, why_len, "%s=%.32s is not a value the kernel had here (%" PRId64 "..%" PRId64 ")",
				 line, eq + 1, min, max);
			return -EINVAL;
		}
		tmp->v[i] = v;
		tmp->present |= KSM_BIT(i);
		*seen |= KSM_BIT(i);
		return 0;
	}
	snprintf(why, why_len, "unknown key '%.40s'", line);
	return -EINVAL;
}

int ksm_snapshot_load(struct ksm_snapshot *s, const char *path, char *why, size_t why_len)
{
	struct ksm_snapshot tmp;
	struct stat st;
	char *text = NULL, *line, *next;
	char detail[128] = "";
	uint64_t seen = 0;
	unsigned lineno = 0;
	size_t len;
	int fd, r;

	if (why_len)
		why[0] = '\0';
	/* O_NOFOLLOW, O_NONBLOCK: a symlink or a FIFO is refused, never opened */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP) {
			snprintf(why, why_len, "it is a symlink");
			return -EPERM;
		}
		snprintf(why, why_len, "%s", strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(why, why_len, "%s", strerror(-r));
		goto out;
	}
	/* root writes the knobs it holds: only a file of root's counts */
	r = -EPERM;
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, why_len, "not a regular file");
		goto out;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(why, why_len, "it belongs to uid %lu, not to root", (unsigned long)st.st_uid);
		goto out;
	}
	if (st.st_mode & 022) {
		snprintf(why, why_len, "its group or others can write it (mode %04o)", (unsigned)(st.st_mode & 07777));
		goto out;
	}
	r = read_fd(fd, (size_t)64 * 1024, &text, &len);
	if (r < 0) {
		snprintf(why, why_len, "%s", strerror(-r));
		goto out;
	}
	memset(&tmp, 0, sizeof(tmp));
	r = -EINVAL;
	if (memchr(text, '\0', len)) {
		snprintf(why, why_len, "a NUL byte");
		goto out;
	}
	if (len == 0 || text[len - 1] != '\n') {
		snprintf(why, why_len, "%s", len ? "cut short (no final newline)" : "empty");
		goto out;
	}
	for (line = text; *line; line = next) {
		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		else if (next == line)
			break;
		lineno++;
		if (lineno == 1) {
			if (strcmp(line, SNAPSHOT_MAGIC) != 0) {
				snprintf(why, why_len, "line 1: not \"%s\"", SNAPSHOT_MAGIC);
				goto out;
			}
			continue;
		}
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (snapshot_line(line, &tmp, &seen, detail, sizeof(detail)) < 0) {
			snprintf(why, why_len, "line %u: %s", lineno, detail);
			goto out;
		}
	}
	if ((seen & (SEEN_PID | SEEN_TIME | KSM_BIT(KSM_RUN))) != (SEEN_PID | SEEN_TIME | KSM_BIT(KSM_RUN))) {
		snprintf(why, why_len, "incomplete: pid, time and run are required");
		goto out;
	}
	*s = tmp;
	r = 0;
out:
	free(text);
	close(fd);
	if (r < 0 && why_len)
		text_sanitize(why); /* it quotes the file, and is logged */
	return r;
}

static void restore_one(struct ksm *k, enum ksm_item i, const struct ksm_snapshot *s, const struct ksm_values *cur,
			uint64_t *failed, int errs[KSM_ITEM_COUNT], int *first)
{
	int64_t v = s->v[i];
	int r;

	if (!(s->present & KSM_BIT(i)) || !ksm_has(k, i))
		return;
	/* Never unmerge on restore, even for a snapshot built in memory that
	 * did not go through ksm_snapshot_from() or ksm_snapshot_load(). */
	if (i == KSM_RUN && v == 2)
		v = 0;
	r = ksm_apply(k, i, v, cur);
	if (r >= 0)
		return;
	if (failed)
		*failed |= KSM_BIT(i);
	if (errs)
		errs[i] = -r;
	if (*first == 0)
		*first = r;
}

int ksm_restore(struct ksm *k, const struct ksm_snapshot *s, bool skip_run, uint64_t *failed,
		int errs[KSM_ITEM_COUNT])
{
	static const enum ksm_item order[] = { KSM_SLEEP_MILLISECS, KSM_MERGE_ACROSS_NODES };
	struct ksm_values cur;
	/* Only when this kernel has the advisor: otherwise pages_to_scan is
	 * ours to restore, whatever the snapshot says. */
	bool advisor_on_after = ksm_has(k, KSM_ADVISOR_MODE) && (s->present & KSM_BIT(KSM_ADVISOR_MODE)) &&
				s->v[KSM_ADVISOR_MODE] != 0;
	int first = 0;

	if (failed)
		*failed = 0;
	ksm_read_all(k, &cur);
	/* Switching the advisor off resets pages_to_scan, and pages_to_scan
	 * cannot be written while it is on: turn it off first, or on last. */
	if (!advisor_on_after) {
		restore_one(k, KSM_ADVISOR_MODE, s, &cur, failed, errs, &first);
		ksm_read_all(k, &cur); /* the switch may have reset pages_to_scan */
		restore_one(k, KSM_PAGES_TO_SCAN, s, &cur, failed, errs, &first);
	}
	for (size_t j = 0; j < ARRAY_SIZE(order); j++)
		restore_one(k, order[j], s, &cur, failed, errs, &first);
	if (!skip_run)
		restore_one(k, KSM_RUN, s, &cur, failed, errs, &first);
	if (advisor_on_after)
		restore_one(k, KSM_ADVISOR_MODE, s, &cur, failed, errs, &first);
	return first;
}
