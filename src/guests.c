/* guests.c - see guests.h */
#include "guests.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define PAGE page_bytes()
#define RMAP_ITEM_BYTES 64.0

static int64_t stat_or(const struct procscan_proc *p, enum procscan_stat f, int64_t none)
{
	return (p->present & PS_BIT(f)) ? p->stat[f] : none;
}

static int64_t pages(int64_t v)
{
	return v > 0 ? v : 0;
}

double guest_saving_bytes(const struct guest_row *r)
{
	return (double)(pages(r->merging_pages) + pages(r->zero_pages)) * PAGE;
}

double guest_merged_share(const struct guest_row *r)
{
	/* in a sum, only the rows whose resident memory is known count, on
	 * both sides (a process gone since the scan has none) */
	if (r->rss_bytes == 0 || r->rss_merging_pages < 0)
		return NAN;
	return fmin(1.0, (double)r->rss_merging_pages * PAGE / (double)r->rss_bytes);
}

/* Whether pfd, a /proc/PID directory, is still the process of the record:
 * the same comm, and the same start time where the record has one (a pid
 * reused by another guest has the same comm). */
static bool same_process(int pfd, const struct procscan_proc *p)
{
	char now[PROCSCAN_COMM_MAX];
	uint64_t start;

	if (read_text_at(pfd, "comm", now, sizeof(now)) < 0 || strcmp(text_sanitize(now), p->comm) != 0)
		return false;
	return !p->start || (procscan_read_start(pfd, &start) == 0 && start == p->start);
}

/* Resident memory of the record's process from proc_dir/PID/statm, if it
 * is still that process; 0 otherwise. Every file through one descriptor
 * of its directory, which a pid reused later does not change. */
static uint64_t resident(const char *proc_dir, const struct procscan_proc *p)
{
	char path[4096], buf[256];
	int pfd;
	uint64_t bytes = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%d", proc_dir, p->pid) >= sizeof(path))
		return 0;
	pfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return 0;
	if (same_process(pfd, p) && read_text_at(pfd, "statm", buf, sizeof(buf)) > 0) {
		char *end;
		unsigned long long size = strtoull(buf, &end, 10), rss = strtoull(end, &end, 10);
		if (size > 0)
			bytes = (uint64_t)rss * (uint64_t)page_bytes();
	}
	close(pfd);
	return bytes;
}

static int by_saving(const void *a, const void *b)
{
	const struct guest_row *x = a, *y = b;
	double sx = guest_saving_bytes(x), sy = guest_saving_bytes(y);

	if (sx != sy)
		return sx < sy ? 1 : -1;
	return x->pid - y->pid;
}

/* A count summed: unknown (-1) while every one summed is. */
static int64_t sum_known(int64_t sum, int64_t v)
{
	return sum < 0 && v < 0 ? -1 : pages(sum) + pages(v);
}

/* A row to sum n rows into: every count unknown until a row that has it
 * comes (0 when there are none: an empty sum). */
static void sum_init(struct guest_row *sum, unsigned n)
{
	memset(sum, 0, sizeof(*sum));
	if (n)
		sum->merging_pages = sum->zero_pages = sum->rmap_items = sum->rss_merging_pages = -1;
}

static void add_to(struct guest_row *sum, const struct guest_row *r)
{
	sum->processes += r->processes;
	sum->merging_pages = sum_known(sum->merging_pages, r->merging_pages);
	sum->zero_pages = sum_known(sum->zero_pages, r->zero_pages);
	sum->rmap_items = sum_known(sum->rmap_items, r->rmap_items);
	sum->profit_bytes += r->profit_bytes;
	sum->profit_estimated |= r->profit_estimated;
	sum->rss_bytes += r->rss_bytes;
	sum->rss_merging_pages = sum_known(sum->rss_merging_pages, r->rss_merging_pages);
}

/* Whether row i's name is "other" (the series of the guests past the top
 * N) or an earlier row's. */
static bool name_taken(const struct guest_table *t, unsigned i)
{
	if (strcmp(t->rows[i].name, "other") == 0)
		return true;
	for (unsigned j = 0; j < i; j++)
		if (strcmp(t->rows[i].name, t->rows[j].name) == 0)
			return true;
	return false;
}

/* Two processes with the same name (two QEMU with one -name): the later
 * ones get their pid, so that every name is a series of its own. A name
 * so made may be an earlier row's own ("x[9]"): then [PID.1], [PID.2]...,
 * one of which is free among the rows before. */
static void unique_names(struct guest_table *t)
{
	for (unsigned i = 0; i < t->n; i++) {
		char base[sizeof(t->rows[i].name)];

		memcpy(base, t->rows[i].name, sizeof(base));
		for (unsigned k = 0; name_taken(t, i) && k <= i + 1; k++) {
			char suffix[32];
			size_t keep;

			if (k == 0)
				snprintf(suffix, sizeof(suffix), "[%d]", t->rows[i].pid);
			else
				snprintf(suffix, sizeof(suffix), "[%d.%u]", t->rows[i].pid, k);
			/* whole characters: a label value must be UTF-8 */
			keep = utf8_prefix(base, sizeof(base) - strlen(suffix) - 1);
			memcpy(t->rows[i].name, base, keep);
			memcpy(t->rows[i].name + keep, suffix, strlen(suffix) + 1);
		}
	}
}

int guests_build(const struct procscan *ps, const char *proc_dir, const char *libvirt_dir, struct guest_table *out)
{
	struct guest_table t = { 0 };

	t.rows = calloc(ps->n ? ps->n : 1, sizeof(*t.rows));
	if (!t.rows)
		return -ENOMEM;
	for (unsigned i = 0; i < ps->n; i++) {
		const struct procscan_proc *p = &ps->procs[i];
		struct guest_row *r = &t.rows[t.n++];

		r->pid = p->pid;
		r->uid = p->uid;
		r->processes = 1;
		snprintf(r->comm, sizeof(r->comm), "%s", p->comm);
		guest_name_joined(p->cmdline, p->comm, p->pid, libvirt_dir, r->name, sizeof(r->name));
		r->merging_pages = stat_or(p, PS_MERGING_PAGES, -1);
		r->zero_pages = stat_or(p, PS_ZERO_PAGES, -1);
		r->rmap_items = stat_or(p, PS_RMAP_ITEMS, -1);
		if (p->present & PS_BIT(PS_PROCESS_PROFIT)) {
			r->profit_bytes = (double)p->stat[PS_PROCESS_PROFIT];
		} else {
			/* the kernel's own formula (mm/ksm.c, ksm_process_profit) */
			r->profit_bytes = guest_saving_bytes(r) - (double)pages(r->rmap_items) * RMAP_ITEM_BYTES;
			r->profit_estimated = true;
		}
		if (proc_dir)
			r->rss_bytes = resident(proc_dir, p);
		r->rss_merging_pages = r->rss_bytes ? r->merging_pages : -1;
	}
	qsort(t.rows, t.n, sizeof(*t.rows), by_saving);
	unique_names(&t);
	sum_init(&t.total, t.n);
	for (unsigned i = 0; i < t.n; i++)
		add_to(&t.total, &t.rows[i]);
	t.denied = ps->denied;
	t.dropped = ps->dropped;
	t.time = ps->time;
	*out = t;
	return 0;
}

void guests_free(struct guest_table *t)
{
	free(t->rows);
	t->rows = NULL;
	t->n = 0;
}

/* A label value as the exposition format wants it: \\, \" and \\n. The
 * names are sanitised (no control character), but may hold quotes and
 * backslashes. */
static void label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

struct guest_series {
	const char *name, *help;
	double (*value)(const struct guest_row *r);
};

static double merged_bytes(const struct guest_row *r)
{
	return (double)pages(r->merging_pages) * PAGE;
}

static double zero_bytes(const struct guest_row *r)
{
	return (double)pages(r->zero_pages) * PAGE;
}

static double profit_bytes(const struct guest_row *r)
{
	return r->profit_bytes;
}

static const struct guest_series series[] = {
	{ "ksmpilot_guest_saving_bytes", "Memory KSM saves in the guest: its merged and zero pages, in bytes.",
	  guest_saving_bytes },
	{ "ksmpilot_guest_merged_bytes", "The guest's pages merged (ksm_merging_pages), in bytes.", merged_bytes },
	{ "ksmpilot_guest_zero_pages_bytes", "The guest's pages merged with the zero page, in bytes.", zero_bytes },
	{ "ksmpilot_guest_profit_bytes", "ksm_process_profit: the saving minus the rmap items' cost.", profit_bytes },
};

void guests_metrics(FILE *f, const struct guest_table *t, unsigned top)
{
	struct guest_row other;
	unsigned listed = t->n < top ? t->n : top;

	sum_init(&other, t->n - listed);
	for (unsigned i = listed; i < t->n; i++)
		add_to(&other, &t->rows[i]);
	for (size_t s = 0; s < ARRAY_SIZE(series); s++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", series[s].name, series[s].help, series[s].name);
		for (unsigned i = 0; i < listed; i++) {
			fprintf(f, "%s{guest=\"", series[s].name);
			label(f, t->rows[i].name);
			fprintf(f, "\"} %.0f\n", series[s].value(&t->rows[i]));
		}
		if (other.processes)
			fprintf(f, "%s{guest=\"other\"} %.0f\n", series[s].name, series[s].value(&other));
	}
	fprintf(f, "# HELP ksmpilot_guest_scan_timestamp_seconds When the processes were read (ksmpilotctl inspect).\n"
		   "# TYPE ksmpilot_guest_scan_timestamp_seconds gauge\nksmpilot_guest_scan_timestamp_seconds %" PRId64 "\n",
		t->time);
	fprintf(f, "# HELP ksmpilot_guest_processes Processes using KSM: listed by name, and summed as other.\n"
		   "# TYPE ksmpilot_guest_processes gauge\n"
		   "ksmpilot_guest_processes{kind=\"listed\"} %u\nksmpilot_guest_processes{kind=\"other\"} %u\n",
		listed, other.processes);
}
