/* guests.h - which guests KSM helps: one row per process that uses KSM,
 * from a procscan (procscan.h: /proc read as root by `ksmpilotctl guests`,
 * or state_dir/processes, left by `ksmpilotctl inspect`, for ksmpilotd),
 * with the guest's name (guest.h), its merged and zero pages, its profit,
 * and the share of its resident memory that is merged; sorted by saving.
 * Also the per-guest Prometheus series, bounded to the top N guests and
 * "other". Nothing here logs. */
#ifndef KSMPILOT_GUESTS_H
#define KSMPILOT_GUESTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "guest.h"
#include "procscan.h"

struct guest_row {
	int pid;
	uint32_t uid;
	char name[GUEST_NAME_MAX];      /* unique within a table */
	char comm[PROCSCAN_COMM_MAX];
	unsigned processes;             /* 1, or how many a summary row sums */
	int64_t merging_pages;          /* ksm_merging_pages; -1 when the kernel lacks it */
	int64_t zero_pages;             /* ksm_zero_pages; -1 when the kernel lacks it */
	int64_t rmap_items;             /* ksm_rmap_items; -1 when the kernel lacks it */
	double profit_bytes;            /* ksm_process_profit, or estimated (below) */
	bool profit_estimated;          /* the kernel lacks it: (merging + zero) * page size - rmap * 64 */
	uint64_t rss_bytes;             /* resident memory, from statm; 0 when unknown */
	int64_t rss_merging_pages;      /* merged pages of the rows whose rss_bytes is known; -1: none */
};

struct guest_table {
	unsigned n;
	struct guest_row *rows;         /* sorted by saving, most first */
	struct guest_row total;         /* sums of the rows (processes = n); a count -1 when no row has it */
	unsigned denied, dropped;       /* from the scan: ksm_stat unreadable, records past its limit */
	int64_t time;                   /* the scan's CLOCK_REALTIME seconds */
};

/* Bytes saved in the process: (merging + zero pages) * the page size. */
double guest_saving_bytes(const struct guest_row *r);
/* Merged share of its resident memory, 0..1; NAN when unknown. */
double guest_merged_share(const struct guest_row *r);

/* Build the table from ps. proc_dir: where to read each process's statm
 * for its resident memory (its comm must still be the scanned one, so
 * that a pid reused meanwhile is not taken for it); NULL skips it.
 * libvirt_dir: for names, may be NULL. 0 or -ENOMEM; free with
 * guests_free(). */
int guests_build(const struct procscan *ps, const char *proc_dir, const char *libvirt_dir, struct guest_table *out);
void guests_free(struct guest_table *t);

/* The Prometheus series ksmpilot_guest_*{guest="NAME"}: the first top rows
 * by name, the others summed as guest="other"; and
 * ksmpilot_guest_processes{kind="listed"|"other"}. */
void guests_metrics(FILE *f, const struct guest_table *t, unsigned top);

#endif
