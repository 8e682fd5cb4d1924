/* ctl_guests.c - `ksmpilotctl guests [--json]`: which guests KSM helps.
 * One row per process that uses KSM, read from /proc/PID/ksm_stat and
 * /proc/PID/ksm_merging_pages (procscan.c): its name, merged and zero
 * pages, profit, and the merged share of its resident memory, sorted by
 * saving, with a total and the kernel's own figures beside it. Reading
 * other users' ksm_stat needs root (CAP_DAC_READ_SEARCH): where the caller
 * cannot read them all, what ksmpilotctl inspect left in
 * state_dir/processes is shown instead, with its age. See
 * ksmpilotctl(8). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "guests.h"
#include "json.h"
#include "ksm.h"
#include "pilot.h"
#include "util.h"

#define MiB (1024.0 * 1024.0)

/* Where the rows come from: a walk of proc_dir now, or the file
 * ksmpilotctl inspect wrote (path), made at time. */
struct source {
	bool file;
	char path[CFG_PATH_MAX + 16];
	int64_t time, age;
	unsigned live_denied;   /* ksm_stat this caller could not read */
	char file_why[200];     /* why the file was not taken; "" when it was or was not needed */
};

/* The kernel's side: pages_sharing, zero pages, general_profit. */
struct kernel_side {
	bool have;
	struct ksm_values v;
};

static double kernel_saving(const struct kernel_side *k)
{
	double p = (double)k->v.v[KSM_PAGES_SHARING];

	if (ksm_values_has(&k->v, KSM_ZERO_PAGES))
		p += (double)k->v.v[KSM_ZERO_PAGES];
	return p * page_bytes();
}

static void mib_or_dash(char *buf, size_t len, double bytes, bool known)
{
	if (known)
		snprintf(buf, len, "%.1f", bytes / MiB);
	else
		snprintf(buf, len, "-");
}

static void print_row(const struct guest_row *r, bool is_total)
{
	char merged[24], zero[24], profit[24], rss[24], share[16], pid[16], name[GUEST_NAME_MAX];
	double sh = guest_merged_share(r);

	mib_or_dash(merged, sizeof(merged), (double)r->merging_pages * page_bytes(), r->merging_pages >= 0);
	mib_or_dash(zero, sizeof(zero), (double)r->zero_pages * page_bytes(), r->zero_pages >= 0);
	snprintf(profit, sizeof(profit), "%s%.1f", r->profit_estimated ? "~" : "", r->profit_bytes / MiB);
	mib_or_dash(rss, sizeof(rss), (double)r->rss_bytes, r->rss_bytes > 0);
	if (isfinite(sh))
		snprintf(share, sizeof(share), "%.1f%%", 100.0 * sh);
	else
		snprintf(share, sizeof(share), "-");
	if (is_total) {
		snprintf(name, sizeof(name), "TOTAL (%u process%s)", r->processes, r->processes == 1 ? "" : "es");
		pid[0] = '\0';
	} else {
		snprintf(name, sizeof(name), "%s", r->name);
		snprintf(pid, sizeof(pid), "%d", r->pid);
	}
	/* the first 24 bytes, cut between two characters, padded to 24
	 * columns by characters (the names are valid UTF-8: sanitised) */
	name[utf8_prefix(name, 24)] = '\0';
	int cols = 0;
	for (const char *c = name; *c; c++)
		cols += ((unsigned char)*c & 0xc0) != 0x80;
	printf("%s%*s %8s %10.1f %10s %9s %10s %10s %7s\n", name, 24 - cols, "", pid, guest_saving_bytes(r) / MiB,
	       merged, zero, profit, rss, share);
}

static void print_source(const struct source *src)
{
	if (src->file) {
		printf("source: %s, written by ksmpilotctl inspect %lld s ago%s (this user cannot read %u "
		       "processes' ksm_stat)\n",
		       src->path, (long long)src->age,
		       src->age > INSPECT_STALE_S ? ", STALE: is ksmpilot-inspect.timer running?" : "",
		       src->live_denied);
	} else {
		printf("source: %s, read now\n", src->path);
	}
}

static void print_text(const struct guest_table *t, const struct kernel_side *k, const struct source *src)
{
	print_source(src);
	printf("%-24s %8s %10s %10s %9s %10s %10s %7s\n", "GUEST", "PID", "SAVING MiB", "MERGED MiB", "ZERO MiB",
	       "PROFIT MiB", "RSS MiB", "MERGED");
	for (unsigned i = 0; i < t->n; i++)
		print_row(&t->rows[i], false);
	if (t->n == 0)
		printf("(no process uses KSM)\n");
	print_row(&t->total, true);
	printf("sum of the processes' profits: %s%.1f MiB", t->total.profit_estimated ? "~" : "",
	       t->total.profit_bytes / MiB);
	if (k->have && ksm_values_has(&k->v, KSM_GENERAL_PROFIT))
		printf("; the kernel's general_profit: %.1f MiB", (double)k->v.v[KSM_GENERAL_PROFIT] / MiB);
	printf("\n");
	if (k->have) {
		printf("kernel: %.1f MiB saved (pages_sharing %lld", kernel_saving(k) / MiB,
		       (long long)k->v.v[KSM_PAGES_SHARING]);
		if (ksm_values_has(&k->v, KSM_ZERO_PAGES))
			printf(" + ksm_zero_pages %lld", (long long)k->v.v[KSM_ZERO_PAGES]);
		printf(", pages_shared %lld)\n", (long long)k->v.v[KSM_PAGES_SHARED]);
	}
	printf("The sums can exceed the kernel's: a process counts every page it maps from a merged page,\n"
	       "the one copy KSM keeps (pages_shared) included, in every process that maps it; and the\n"
	       "kernel counts processes not listed here (unreadable, or gone since).\n");
	if (t->total.profit_estimated)
		printf("~ profit estimated as the kernel computes ksm_process_profit (this kernel does not show it).\n");
	if (t->denied)
		printf("%u process%s could not be read (ksm_stat is root's to read)%s%s.\n", t->denied,
		       t->denied == 1 ? "'s ksm_stat" : "es' ksm_stat",
		       src->file_why[0] ? "; state_dir/processes: " : "", src->file_why);
	if (t->dropped)
		printf("%u more processes use KSM; only the first %u are listed.\n", t->dropped, t->n);
}

static void json_row(struct json *j, const struct guest_row *r, bool is_total)
{
	json_object_open(j);
	if (!is_total) {
		json_kv_string(j, "name", r->name);
		json_kv_int(j, "pid", r->pid);
		json_kv_uint(j, "uid", r->uid);
		json_kv_string(j, "comm", r->comm);
	} else {
		json_kv_uint(j, "processes", r->processes);
	}
	json_kv_double(j, "merging_pages", r->merging_pages >= 0 ? (double)r->merging_pages : NAN);
	json_kv_double(j, "zero_pages", r->zero_pages >= 0 ? (double)r->zero_pages : NAN);
	json_kv_double(j, "rmap_items", r->rmap_items >= 0 ? (double)r->rmap_items : NAN);
	json_kv_double(j, "saving_bytes", guest_saving_bytes(r));
	json_kv_double(j, "profit_bytes", r->profit_bytes);
	json_kv_bool(j, "profit_estimated", r->profit_estimated);
	json_kv_double(j, "resident_bytes", r->rss_bytes ? (double)r->rss_bytes : NAN);
	json_kv_double(j, "merged_share", guest_merged_share(r));
	json_object_close(j);
}

static int print_json(const struct guest_table *t, const struct kernel_side *k, const struct source *src)
{
	struct json j;

	json_begin(&j, stdout, false);
	json_object_open(&j);
	json_kv_int(&j, "format", 1);
	json_kv_int(&j, "time", t->time);
	json_key(&j, "source");
	json_object_open(&j);
	json_kv_string(&j, "kind", src->file ? "file" : "proc");
	json_kv_string(&j, "path", src->path);
	json_kv_int(&j, "age_seconds", src->file ? src->age : 0);
	json_object_close(&j);
	json_key(&j, "guests");
	json_array_open(&j);
	for (unsigned i = 0; i < t->n; i++)
		json_row(&j, &t->rows[i], false);
	json_array_close(&j);
	json_key(&j, "total");
	json_row(&j, &t->total, true);
	json_key(&j, "kernel");
	json_object_open(&j);
	json_kv_double(&j, "pages_sharing", k->have ? (double)k->v.v[KSM_PAGES_SHARING] : NAN);
	json_kv_double(&j, "pages_shared", k->have ? (double)k->v.v[KSM_PAGES_SHARED] : NAN);
	json_kv_double(&j, "saving_bytes", k->have ? kernel_saving(k) : NAN);
	json_kv_double(&j, "general_profit_bytes", k->have && ksm_values_has(&k->v, KSM_GENERAL_PROFIT)
							   ? (double)k->v.v[KSM_GENERAL_PROFIT]
							   : NAN);
	json_object_close(&j);
	json_kv_uint(&j, "unreadable", t->denied);
	json_kv_uint(&j, "dropped", t->dropped);
	json_object_close(&j);
	return json_end(&j) < 0 ? CTL_FAIL : CTL_OK;
}

/* state_dir/processes, as ksmpilotctl inspect wrote it: 0, or -errno
 * with why set. */
static int read_processes_file(const char *path, struct procscan *ps, char *why, size_t why_len)
{
	struct stat st;
	char *text = NULL;
	size_t len;
	unsigned line = 0;
	int r, fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);

	if (fd < 0) {
		r = -errno;
		snprintf(why, why_len, "%s", strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, why_len, "not a regular file");
		r = -EINVAL;
	} else if ((r = read_fd(fd, PROCSCAN_FILE_MAX, &text, &len)) < 0) {
		snprintf(why, why_len, "%s", strerror(-r));
	} else if ((r = procscan_parse(text, len, ps, &line)) < 0) {
		snprintf(why, why_len, line ? "line %u does not parse" : "incomplete", line);
	}
	free(text);
	close(fd);
	return r;
}

int ctl_guests(const struct ctl_opts *o, int argc, char **argv)
{
	struct procscan ps = { 0 }, file = { 0 };
	struct guest_table t = { 0 };
	struct kernel_side k = { 0 };
	struct source src = { 0 };
	struct ksm ksm;
	const char *libvirt = strcmp(o->proc_dir, "/proc") == 0 ? GUEST_LIBVIRT_DIR : NULL;
	char fake_libvirt[CFG_PATH_MAX + 32];
	int r, rc;

	if (argc > 0) {
		fprintf(stderr, "ksmpilotctl: guests: unexpected argument '%s'\n", argv[0]);
		return CTL_USAGE;
	}
	/* a directory that cannot be listed is not the kernel's fault */
	if (access(o->proc_dir, R_OK | X_OK) < 0) {
		fprintf(stderr, "ksmpilotctl: guests: cannot read %s: %s\n", o->proc_dir, strerror(errno));
		return CTL_FAIL;
	}
	if (!ctl_kernel_has_per_process(o->proc_dir)) {
		fprintf(stderr, "ksmpilotctl: guests: %s\n", CTL_NO_PER_PROCESS);
		return CTL_FAIL;
	}
	if (!libvirt) {
		/* a test tree: its libvirt pid files beside its proc */
		snprintf(fake_libvirt, sizeof(fake_libvirt), "%s/../run/libvirt/qemu", o->proc_dir);
		libvirt = fake_libvirt;
	}
	r = procscan_run(o->proc_dir, &ps);
	if (r < 0) {
		fprintf(stderr, "ksmpilotctl: guests: cannot read %s: %s\n", o->proc_dir, strerror(-r));
		return CTL_FAIL;
	}
	snprintf(src.path, sizeof(src.path), "%s", o->proc_dir); /* or the file, below */
	if (ps.denied) {
		/* not root: what the inspection unit, which is, left */
		struct cfg *cfg = malloc(sizeof(*cfg));
		char fpath[sizeof(src.path)];
		if (!cfg || ctl_load_config(o, cfg) < 0) {
			free(cfg);
			procscan_free(&ps);
			return CTL_FAIL;
		}
		snprintf(fpath, sizeof(fpath), "%s/processes", cfg->state_dir);
		free(cfg);
		src.live_denied = ps.denied;
		if (read_processes_file(fpath, &file, src.file_why, sizeof(src.file_why)) == 0) {
			memcpy(src.path, fpath, sizeof(src.path));
			procscan_free(&ps);
			ps = file;
			src.file = true;
			src.time = ps.time;
			src.age = (int64_t)time(NULL) - ps.time;
		}
	}
	r = guests_build(&ps, o->proc_dir, libvirt, &t);
	procscan_free(&ps);
	if (r < 0) {
		fprintf(stderr, "ksmpilotctl: guests: %s\n", strerror(-r));
		return CTL_FAIL;
	}
	if (ksm_open(&ksm, o->sysfs, NULL) == 0) {
		k.have = ksm_read_all(&ksm, &k.v) == 0 || ksm_values_has(&k.v, KSM_PAGES_SHARING);
		ksm_close(&ksm);
	}
	if (o->json) {
		rc = print_json(&t, &k, &src);
	} else {
		print_text(&t, &k, &src);
		rc = fflush(stdout) == 0 ? CTL_OK : CTL_FAIL;
	}
	guests_free(&t);
	return rc;
}
