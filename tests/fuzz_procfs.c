/* fuzz_procfs.c - libFuzzer target for the parsers of text from /proc:
 * memory PSI (sample_parse_psi()), ksmd's /proc/PID/stat
 * (sample_parse_stat_ticks()) and /proc/PID/ksm_stat
 * (procscan_parse_ksm_stat()), each on the input as a NUL-terminated
 * string. A kernel is not hostile, but a process names itself: the comm in
 * a stat line is anyone's text, and may hold spaces and parentheses.
 *
 * Besides the sanitizers, the target aborts when an accepted PSI value is
 * outside 0..100 or not finite, when ksmd's ticks are taken from a line
 * whose comm is not "ksmd", or when an accepted ksm_stat holds a field
 * out of what the kernel can show. */
#include "fuzz.h"

#include <errno.h>
#include <math.h>

#include "procscan.h"
#include "sample.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct procscan_proc p;
	char *text = malloc(size + 1);
	uint64_t ticks = 0;
	double avg10;
	int r;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	if (sample_parse_psi(text, &avg10) == 0 && !(avg10 >= 0 && avg10 <= 100))
		FUZZ_DIE("PSI avg10 %g accepted", avg10);

	r = sample_parse_stat_ticks(text, &ticks);
	if (r == 0) {
		const char *open = strchr(text, '('), *close = strrchr(text, ')');
		if (!open || !close || close - open != 5 || strncmp(open, "(ksmd)", 6) != 0)
			FUZZ_DIE("ticks taken from a line that is not ksmd's");
	} else if (r != -ESRCH && r != -EBADMSG) {
		FUZZ_DIE("sample_parse_stat_ticks() returned %d", r);
	}

	memset(&p, 0, sizeof(p));
	(void)procscan_parse_ksm_stat(text, &p); /* what it keeps must be in range */
	for (int f = 0; f < PS_STAT_COUNT; f++) {
		if (!(p.present & PS_BIT(f)))
			continue;
		if ((f != PS_PROCESS_PROFIT && p.stat[f] < 0) ||
		    ((f == PS_MERGEABLE || f == PS_MERGE_ANY) && p.stat[f] > 1))
			FUZZ_DIE("ksm_stat %s=%lld accepted", procscan_stat_name((enum procscan_stat)f),
				 (long long)p.stat[f]);
	}
	free(text);
	return 0;
}
