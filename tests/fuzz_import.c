/* fuzz_import.c - libFuzzer target for `ksmpilotctl import-ksmtuned`: any
 * bytes as a ksmtuned.conf, through import_ksmtuned() with a MemTotal of
 * 0 (unknown) or from the input.
 *
 * Besides the sanitizers, the target aborts when
 *   - the output does not pass cfg_parse_string() and cfg_validate()
 *     without an error, as import.h promises whatever the input;
 *   - a diagnostic line does not start with "FILE:LINE: error: " or
 *     "FILE:LINE: warning: ", or names a line the input does not have;
 *   - the errors returned and the error lines printed disagree. */
#include "fuzz.h"

#include <errno.h>

#include "config.h"
#include "import.h"

NO_COVERAGE static void check_diag(const char *diag, unsigned lines, int r)
{
	int errors = 0, printed = 0;
	bool capped = false;

	for (const char *l = diag; *l;) {
		size_t len = strcspn(l, "\n");
		char *endp;
		unsigned long line;

		if (strncmp(l, "fuzz.conf: ... and ", 19) == 0) {
			capped = true; /* the line that counts the rest */
		} else if (strncmp(l, "fuzz.conf:", 10) == 0) {
			line = strtoul(l + 10, &endp, 10);
			if (endp == l + 10 || line < 1 || line > lines)
				FUZZ_DIE("a diagnostic names line %lu of %u: %.*s", line, lines, (int)len, l);
			if (strncmp(endp, ": error: ", 9) == 0)
				errors++;
			else if (strncmp(endp, ": warning: ", 11) != 0)
				FUZZ_DIE("a diagnostic is neither an error nor a warning: %.*s", (int)len, l);
			printed++;
		} else {
			FUZZ_DIE("a diagnostic does not start with the file name: %.*s", (int)len, l);
		}
		l += len + (l[len] == '\n');
	}
	if (!capped && errors != r)
		FUZZ_DIE("import_ksmtuned() returned %d errors, printed %d", r, errors);
	if (printed > IMPORT_MAX_DIAGS)
		FUZZ_DIE("%d diagnostics printed, more than %d", printed, IMPORT_MAX_DIAGS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cfg cfg;
	static struct cfg_errors errs;
	char *out = NULL, *diag = NULL;
	size_t out_len = 0, diag_len = 0;
	uint64_t mem_total = 0;
	FILE *fo, *fd;
	int r;

	/* inputs that start with "M" take a MemTotal from the next 8 bytes */
	if (size >= 9 && data[0] == 'M') {
		memcpy(&mem_total, data + 1, 8);
		data += 9;
		size -= 9;
	}
	fo = open_memstream(&out, &out_len);
	fd = open_memstream(&diag, &diag_len);
	if (!fo || !fd)
		FUZZ_DIE("open_memstream");
	r = import_ksmtuned((const char *)data, size, "fuzz.conf", mem_total, fo, fd);
	if (fclose(fo) != 0 || fclose(fd) != 0)
		FUZZ_DIE("fclose of a memory stream");
	if (r == -ENOMEM)
		goto out;
	if (r < 0)
		FUZZ_DIE("import_ksmtuned() failed: %d", r);
	check_diag(diag, fuzz_count_lines(data, size), r);
	cfg_defaults(&cfg);
	memset(&errs, 0, sizeof(errs));
	if (cfg_parse_string(&cfg, out, out_len, "imported.conf", &errs) != 0 ||
	    cfg_validate(&cfg, "imported.conf", &errs) != 0)
		FUZZ_DIE("the output does not pass the parser: %s\n---\n%s", errs.n ? errs.msg[0] : "?", out);
out:
	free(out);
	free(diag);
	return 0;
}
