/* ctl_import.c - `ksmpilotctl import-ksmtuned [FILE]`: print a ksmpilot.conf
 * equivalent to a ksmtuned.conf (the translation is in import.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "import.h"
#include "sample.h"
#include "util.h"

int ctl_import(const struct ctl_opts *o, int argc, char **argv)
{
	struct meminfo_values mi = { 0 };
	const char *file = "/etc/ksmtuned.conf";
	void *proc;
	char *text = NULL;
	size_t len = 0;
	int r;

	(void)o;
	if (argc > 1) {
		fprintf(stderr, "ksmpilotctl: import-ksmtuned takes at most one file\n");
		return CTL_USAGE;
	}
	if (argc == 1)
		file = argv[0];
	r = read_file(file, CFG_MAX_FILE_SIZE, &text, &len);
	if (r < 0) {
		fprintf(stderr, "ksmpilotctl: %s: cannot read: %s\n", file, strerror(-r));
		return CTL_FAIL;
	}
	/* ksmtuned scaled some values by MemTotal: use this machine's */
	proc = proc_libproc2_new();
	if (!proc || proc_ops_libproc2.meminfo(proc, &mi) < 0)
		mi.total = 0;
	if (proc)
		proc_ops_libproc2.destroy(proc);
	r = import_ksmtuned(text, len, file, mi.total, stdout, stderr);
	free(text);
	if (fflush(stdout) != 0 && r >= 0)
		r = -EIO;
	if (r < 0) {
		fprintf(stderr, "ksmpilotctl: import-ksmtuned %s: %s\n", file, strerror(-r));
		return CTL_FAIL;
	}
	return r > 0 ? CTL_CONFIG : CTL_OK;
}
