/* fuzz_dropins.c - libFuzzer target for the listing of drop-ins: cfg_load()
 * on a main file and a drop-in directory whose file names come from the
 * input (split at '/', the one byte a name cannot hold; up to 64 names).
 * Each drop-in sets interval to a value of its own; the first byte of the
 * input makes some of them broken and says whether the main file exists.
 *
 * Besides the sanitizers, the target aborts when
 *   - a name that cfg_load() must read (it ends in ".conf", has more than
 *     that, and does not start with '.') is skipped, or another one read;
 *   - the drop-ins are not taken in byte order of their names: the last
 *     one must win;
 *   - a broken drop-in is not reported, or an error is reported without
 *     one;
 *   - an error message does not start with the path of the file it is
 *     about (or, where the path is too long for a message, with its end
 *     behind "..." and then its line), or holds a control character or
 *     bytes that are not UTF-8 (a file name is anyone's text). */
#include "fuzz.h"

#include <errno.h>

#include "config.h"

#define MAX_NAMES 64

struct name {
	char s[256];
	unsigned value;         /* interval in ms it sets */
	bool bad;               /* its content is broken */
	bool read;              /* cfg_load() must read it */
};

NO_COVERAGE static bool eligible(const char *n)
{
	size_t len = strlen(n);
	return n[0] != '.' && len > 5 && strcmp(n + len - 5, ".conf") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct name names[MAX_NAMES];
	static struct cfg cfg;
	static struct cfg_errors errs;
	char dir[512], dropdir[600], main_path[600];
	const struct name *last = NULL;
	unsigned n = 0, flags, bad_files = 0;
	bool have_main;
	const uint8_t *p, *end = data + size;
	int r;

	if (size < 1)
		return 0;
	flags = data[0];
	have_main = flags & 0x80;
	snprintf(dir, sizeof(dir), "%s", fuzz_dir());
	snprintf(main_path, sizeof(main_path), "%s/k.conf", dir);
	snprintf(dropdir, sizeof(dropdir), "%s/k.conf.d", dir);
	fuzz_dir_clear(dropdir);
	unlink(main_path);
	if (mkdir(dropdir, 0700) < 0 && errno != EEXIST)
		FUZZ_DIE("mkdir %s", dropdir);
	if (have_main && !fuzz_put(dir, "k.conf", "[daemon]\ninterval = 5s\n", 23, 0600))
		FUZZ_DIE("cannot write the main file");

	for (p = data + 1; p < end && n < MAX_NAMES;) {
		const uint8_t *slash = memchr(p, '/', (size_t)(end - p));
		size_t len = slash ? (size_t)(slash - p) : (size_t)(end - p);
		struct name *nm = &names[n];
		char text[64];
		int tlen;

		if (len > 0 && len < sizeof(nm->s) && !memchr(p, '\0', len)) {
			memcpy(nm->s, p, len);
			nm->s[len] = '\0';
			nm->value = 100 + n;
			nm->bad = (flags & 0x0f) && (n % 16) == (flags & 0x0f) - 1;
			tlen = nm->bad ? snprintf(text, sizeof(text), "[daemon]\ninterval = %u parsecs\n", n)
				       : snprintf(text, sizeof(text), "[daemon]\ninterval = %ums\n", nm->value);
			bool dup = false;
			for (unsigned i = 0; i < n; i++)
				dup |= strcmp(names[i].s, nm->s) == 0;
			if (!dup && strcmp(nm->s, ".") != 0 && strcmp(nm->s, "..") != 0 &&
			    fuzz_put(dropdir, nm->s, text, (size_t)tlen, 0600))
				n++;
		}
		p += len + (slash ? 1 : 0);
	}

	for (unsigned i = 0; i < n; i++) {
		names[i].read = eligible(names[i].s);
		if (!names[i].read)
			continue;
		bad_files += names[i].bad;
		if (!last || strcmp(names[i].s, last->s) > 0)
			last = &names[i];
	}

	memset(&errs, 0, sizeof(errs));
	r = cfg_load(main_path, false, &cfg, &errs);
	for (unsigned i = 0; i < errs.n; i++) {
		const char *m = errs.msg[i], *at = strstr(m, ":2: interval: ");
		/* the file's path, or (a path too long for a message) its end
		 * behind "...", and then its line: a broken drop-in's is 2 */
		if (strncmp(m, dir, strlen(dir)) != 0 &&
		    (strncmp(m, "...", 3) != 0 || !at || at - m > CFG_ERROR_LEN / 3))
			FUZZ_DIE("an error message does not start with the file's path and line: %s", m);
		if (!fuzz_text_clean(m))
			FUZZ_DIE("an error message holds a control character or is not UTF-8: %s", m);
	}
	if (bad_files && r != -EINVAL)
		FUZZ_DIE("%u broken drop-ins, but cfg_load() returned %d", bad_files, r);
	if (!bad_files && r != 0)
		FUZZ_DIE("no broken drop-in, but cfg_load() failed: %s", errs.n ? errs.msg[0] : "(no message)");
	if (r == 0) {
		uint64_t want = last ? last->value : have_main ? 5000 : 1000;
		if (cfg.interval_ms != want)
			FUZZ_DIE("interval %llu ms, but the last drop-in in byte order (%s) sets %llu ms",
				 (unsigned long long)cfg.interval_ms, last ? last->s : "none",
				 (unsigned long long)want);
	}
	return 0;
}
