/* fuzz_processes.c - libFuzzer target for state_dir/processes, which
 * `ksmpilotctl inspect` writes and ksmpilotd reads: any bytes through
 * procscan_parse().
 *
 * Besides the sanitizers, the target aborts when
 *   - an accepted file holds more records than PROCSCAN_MAX_PROCS, a
 *     record whose fields are out of what the kernel can show, or a comm
 *     or command line that is not clean text;
 *   - an accepted file does not come back the same through
 *     procscan_format() and procscan_parse();
 *   - a refused file names a line it does not have. */
#include "fuzz.h"

#include <errno.h>

#include "procscan.h"

NO_COVERAGE static void check_scan(const struct procscan *ps)
{
	if (ps->n > PROCSCAN_MAX_PROCS)
		FUZZ_DIE("%u records", ps->n);
	for (unsigned i = 0; i < ps->n; i++) {
		const struct procscan_proc *p = &ps->procs[i];
		if (p->pid <= 0)
			FUZZ_DIE("record %u: pid %d", i, p->pid);
		if (!fuzz_text_clean(p->comm) || !fuzz_text_clean(p->cmdline))
			FUZZ_DIE("record %u: comm or cmdline is not clean text", i);
		if (p->present >= (1u << PS_STAT_COUNT))
			FUZZ_DIE("record %u: present %#x", i, p->present);
		for (int f = 0; f < PS_STAT_COUNT; f++) {
			if (!(p->present & PS_BIT(f)))
				continue;
			if (f != PS_PROCESS_PROFIT && p->stat[f] < 0)
				FUZZ_DIE("record %u: %s=%lld", i, procscan_stat_name((enum procscan_stat)f),
					 (long long)p->stat[f]);
			if ((f == PS_MERGEABLE || f == PS_MERGE_ANY) && p->stat[f] > 1)
				FUZZ_DIE("record %u: %s=%lld", i, procscan_stat_name((enum procscan_stat)f),
					 (long long)p->stat[f]);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct procscan ps, again;
	char *text = NULL, *text2 = NULL;
	unsigned line;
	int r;

	r = procscan_parse((const char *)data, size, &ps, &line);
	if (r == -ENOMEM)
		return 0;
	if (r < 0) {
		if (r != -EBADMSG || line > fuzz_count_lines(data, size))
			FUZZ_DIE("refused with %d at line %u of %u", r, line, fuzz_count_lines(data, size));
		return 0;
	}
	check_scan(&ps);
	r = procscan_format(&ps, &text);
	if (r == -ENOMEM)
		goto out;
	if (r < 0)
		FUZZ_DIE("an accepted file cannot be written back: %d", r);
	if (procscan_parse(text, strlen(text), &again, &line) != 0)
		FUZZ_DIE("the file written back is refused at line %u:\n%s", line, text);
	r = procscan_format(&again, &text2);
	procscan_free(&again);
	if (r == 0 && strcmp(text, text2) != 0)
		FUZZ_DIE("a file does not come back the same:\n%s---\n%s", text, text2);
out:
	free(text2);
	free(text);
	procscan_free(&ps);
	return 0;
}
