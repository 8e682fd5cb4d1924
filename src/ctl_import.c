/* ctl_import.c - `ksmpilotctl import-ksmtuned [-o OUT] [FILE|-]`: print (or
 * write to OUT) a ksmpilot.conf equivalent to a ksmtuned.conf (the
 * translation is in import.c), told which QEMU processes run here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl.h"
#include "import.h"
#include "qemu.h"
#include "sample.h"
#include "util.h"

/* All of f (at most max bytes) into a malloc()ed, NUL-terminated buffer. */
static int read_stream(FILE *f, size_t max, char **out, size_t *len)
{
	size_t size = 4096, used = 0;
	char *buf = malloc(size);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		size_t n = fread(buf + used, 1, size - used - 1, f);
		used += n;
		if (used > max) {
			free(buf);
			return -EFBIG;
		}
		if (n == 0)
			break;
		if (size - used < 2) {
			char *bigger = realloc(buf, size * 2);
			if (!bigger) {
				free(buf);
				return -ENOMEM;
			}
			buf = bigger;
			size *= 2;
		}
	}
	if (ferror(f)) {
		free(buf);
		return -EIO;
	}
	buf[used] = '\0';
	*out = buf;
	*len = used;
	return 0;
}

int ctl_import(const struct ctl_opts *o, int argc, char **argv)
{
	struct meminfo_values mi = { 0 };
	struct qemu_count q;
	const char *file = "/etc/ksmtuned.conf";
	bool have_q;
	char *text = NULL, *conf = NULL;
	size_t len = 0, conf_len = 0;
	struct stat st;
	FILE *out;
	void *proc;
	int r;

	if (argc > 1) {
		fprintf(stderr, "ksmpilotctl: import-ksmtuned takes at most one file\n");
		return CTL_USAGE;
	}
	if (argc == 1)
		file = argv[0];
	/* "-" is standard input; a pipe (<(ssh node cat ...), or a FIFO) is
	 * read as a stream, opened once and waiting for its writer */
	if (strcmp(file, "-") == 0) {
		r = read_stream(stdin, CFG_MAX_FILE_SIZE, &text, &len);
	} else if (stat(file, &st) == 0 && S_ISFIFO(st.st_mode)) {
		FILE *f = fopen(file, "re");
		r = f ? read_stream(f, CFG_MAX_FILE_SIZE, &text, &len) : -errno;
		if (f)
			fclose(f);
	} else {
		r = read_file(file, CFG_MAX_FILE_SIZE, &text, &len);
	}
	if (r < 0) {
		fprintf(stderr, "ksmpilotctl: %s: cannot read: %s\n", strcmp(file, "-") == 0 ? "standard input" : file,
			strerror(-r));
		return CTL_FAIL;
	}
	/* ksmtuned scaled some values by MemTotal: use this machine's */
	proc = proc_libproc2_new();
	if (!proc || proc_ops_libproc2.meminfo(proc, &mi) < 0)
		mi.total = 0;
	if (proc)
		proc_ops_libproc2.destroy(proc);
	/* what ksmtuned's qemu rule matches among the guests running here */
	have_q = qemu_count("/proc", IMPORT_KSMTUNED_QEMU_REGEX, &q) == 0;
	out = o->output ? open_memstream(&conf, &conf_len) : stdout;
	if (!out) {
		free(text);
		return CTL_FAIL;
	}
	r = import_ksmtuned_running(text, len, file, mi.total, have_q ? &q : NULL, out, stderr);
	free(text);
	if (o->output) {
		if (fclose(out) != 0 && r >= 0)
			r = -ENOMEM;
		/* written whole or not at all, never half a file */
		if (r >= 0) {
			int w = write_file_atomic(o->output, conf, conf_len, 0644);
			if (w < 0) {
				fprintf(stderr, "ksmpilotctl: %s: cannot write: %s\n", o->output, strerror(-w));
				free(conf);
				return CTL_FAIL;
			}
		}
		free(conf);
	} else if (fflush(stdout) != 0 && r >= 0) {
		r = -EIO;
	}
	if (r < 0) {
		fprintf(stderr, "ksmpilotctl: import-ksmtuned %s: %s\n", file, strerror(-r));
		return CTL_FAIL;
	}
	return r > 0 ? CTL_CONFIG : CTL_OK;
}
