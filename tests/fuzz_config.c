/* fuzz_config.c - libFuzzer target for the configuration parser.
 *
 * The input is a configuration text, fed through the same calls as
 * cfg_load(): cfg_defaults(), cfg_parse_string() for the main file and each
 * drop-in, cfg_validate() and cfg_dump(). A line "#%%" (a comment to
 * ksmpilotd) starts the next file, so one input can be a main file and its
 * drop-ins ("fuzz.conf", "fuzz.conf.d/1.conf", ...). Each file is copied
 * into a buffer of exactly its length, without a NUL, so that reading past
 * the length given to cfg_parse_string() is a heap overflow.
 *
 * Besides the sanitizers, the target aborts when
 *   - an error message does not start with the name of a file it was given
 *     ("FILE:" or, for a line, "FILE:LINE:" with LINE inside that file);
 *   - the return values disagree with the errors reported;
 *   - a configuration does not come back from its own --dump-config output.
 *     A bad value sets nothing, so even after errors every field holds a
 *     value that parsed: the dump must parse without an error, dump again
 *     to the same text, and pass cfg_validate() if and only if the
 *     original, checked in full (keys whose value failed included), did.
 *
 * Build and run with `make fuzz` (docs/testing.md). */
#define _GNU_SOURCE /* open_memstream, memmem */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define SPLIT "\n#%%\n"
#define MAX_FILES (CFG_MAX_FILES + 16) /* enough to recycle cfg_source slots */

struct part {
	char name[32];
	const uint8_t *text;
	size_t len;
	unsigned lines;         /* lines in the part, the last one unterminated or not */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The checks below are not what is being fuzzed: no coverage feedback
 * (and no cost) from their loops. */
#define NO_COVERAGE __attribute__((no_sanitize("coverage")))

static void die(const char *what, const struct cfg_errors *e, const char *extra)
{
	fprintf(stderr, "fuzz_config: %s\n", what);
	for (unsigned i = 0; e && i < e->n; i++)
		fprintf(stderr, "  error %u: %s\n", i, e->msg[i]);
	if (extra)
		fprintf(stderr, "---\n%s---\n", extra);
	abort();
}

NO_COVERAGE static unsigned count_lines(const uint8_t *p, size_t len)
{
	unsigned n = 0;

	for (size_t i = 0; i < len; i++)
		n += p[i] == '\n';
	return n + (len > 0 && p[len - 1] != '\n');
}

/* Every message starts with "NAME:" for one of the parts; a line number
 * after it lies inside that part. */
NO_COVERAGE static void check_messages(const struct cfg_errors *e, const struct part *parts, unsigned nparts)
{
	for (unsigned i = 0; i < e->n; i++) {
		const char *m = e->msg[i];
		bool ok = false;

		if (memchr(m, '\0', CFG_ERROR_LEN) == NULL)
			die("error message without NUL", NULL, NULL);
		for (unsigned f = 0; f < nparts && !ok; f++) {
			size_t n = strlen(parts[f].name);
			char *end;
			unsigned long line;

			if (strncmp(m, parts[f].name, n) != 0 || m[n] != ':')
				continue;
			if (m[n + 1] < '0' || m[n + 1] > '9') {
				ok = true; /* "FILE: message" */
				continue;
			}
			line = strtoul(m + n + 1, &end, 10);
			ok = *end == ':' && line >= 1 && line <= parts[f].lines;
		}
		if (!ok)
			die("error message does not name a file, or names a line outside it", e, NULL);
	}
}

static char *dump(const struct cfg *cfg)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return NULL;
	cfg_dump(cfg, f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Whatever was parsed, every field holds a value that parsed (a bad value
 * sets nothing), so the dump must parse without an error, dump again to the
 * same text, and pass or fail cfg_validate() as the original did. */
static void check_roundtrip(const struct cfg *cfg, bool valid)
{
	struct cfg *again = malloc(sizeof(*again));
	struct cfg_errors *e = calloc(1, sizeof(*e));
	char *text = dump(cfg), *text2 = NULL;

	if (!again || !e || !text)
		goto out; /* out of memory is not a finding */
	cfg_defaults(again);
	if (cfg_parse_string(again, text, strlen(text), "dump.conf", e) != 0 || e->n || e->dropped)
		die("the dump does not parse", e, text);
	if ((cfg_validate(again, "dump.conf", e) == 0) != valid)
		die(valid ? "the dump of a valid configuration fails cfg_validate" :
			    "the dump of an invalid configuration passes cfg_validate", e, text);
	text2 = dump(again);
	if (text2 && strcmp(text, text2) != 0)
		die("the dump does not read back to the same configuration", NULL, text2);
out:
	free(text2);
	free(text);
	free(e);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct part parts[MAX_FILES];
	struct cfg *cfg = malloc(sizeof(*cfg));
	struct cfg_errors *e = calloc(1, sizeof(*e));
	unsigned nparts = 0;
	const uint8_t *p = data, *end = data + size;
	bool valid;
	FILE *null;

	if (!cfg || !e)
		goto out;
	/* Split into files at each "#%%" line. */
	while (nparts < MAX_FILES) {
		const uint8_t *sep = memmem(p, (size_t)(end - p), SPLIT, strlen(SPLIT));
		struct part *q = &parts[nparts];

		if (nparts == 0)
			snprintf(q->name, sizeof(q->name), "fuzz.conf");
		else
			snprintf(q->name, sizeof(q->name), "fuzz.conf.d/%u.conf", nparts);
		q->text = p;
		q->len = sep ? (size_t)(sep - p) + 1 : (size_t)(end - p); /* keep the '\n' */
		q->lines = count_lines(q->text, q->len);
		nparts++;
		if (!sep)
			break;
		p = sep + strlen(SPLIT);
	}
	if (nparts == MAX_FILES) { /* the last file takes the rest */
		parts[nparts - 1].len = (size_t)(end - parts[nparts - 1].text);
		parts[nparts - 1].lines = count_lines(parts[nparts - 1].text, parts[nparts - 1].len);
	}

	cfg_defaults(cfg);
	for (unsigned i = 0; i < nparts; i++) {
		struct part *q = &parts[i];
		char *copy = malloc(q->len ? q->len : 1);
		unsigned before = e->n + e->dropped;
		int r;

		if (!copy)
			goto out;
		memcpy(copy, q->text, q->len);
		r = cfg_parse_string(cfg, copy, q->len, q->name, e);
		free(copy);
		if (r != 0 && r != -EINVAL)
			goto out; /* -ENOMEM */
		if ((r == 0) != (e->n + e->dropped == before))
			die("cfg_parse_string: return value and errors disagree", e, NULL);
	}
	/* as cfg_load() does, after errors too */
	{
		unsigned before = e->n + e->dropped;
		int r = cfg_validate(cfg, "fuzz.conf", e);
		struct cfg_errors *scratch;

		if ((r == 0) != (e->n + e->dropped == before) || (r != 0 && r != -EINVAL))
			die("cfg_validate: return value and errors disagree", e, NULL);
		/* cfg_validate() skips the checks on keys whose value did not
		 * parse; the dump holds the values in force, checked in full */
		memset(cfg->src.key_bad, 0, sizeof(cfg->src.key_bad));
		scratch = calloc(1, sizeof(*scratch));
		if (!scratch)
			goto out;
		valid = cfg_validate(cfg, "fuzz.conf", scratch) == 0;
		free(scratch);
	}
	if (e->n > CFG_MAX_ERRORS)
		die("error count past CFG_MAX_ERRORS", NULL, NULL);
	check_messages(e, parts, nparts);

	null = fopen("/dev/null", "w");
	if (null) {
		cfg_dump(cfg, null);
		fclose(null);
	}
	check_roundtrip(cfg, valid);
out:
	free(e);
	free(cfg);
	return 0;
}
