/* test_docs.c - the docs agree with the binaries: every configuration key
 * is documented, with the default --dump-config prints, in
 * docs/ksmpilot.conf.5, docs/configuration.md and conf/ksmpilot.conf; every
 * MESSAGE_ID in the code has a journal catalog entry; every document the
 * man pages cite exists (make install puts docs/ in DOCDIR); the cost of a
 * tick is quoted as docs/benchmarks.md measured it; the logging threshold
 * of ksmpilotd(8) is the code's, and it names every journal field. */
#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "controller.h"
#include "guests.h"
#include "pilot.h"
#include "sample.h"
#include "state.h"
#include "util.h"

static char *slurp(const char *path)
{
	char *text[1] = { NULL };
	size_t len;

	if (read_file(path, 1 << 20, text, &len) < 0) {
		fail_msg("cannot read %s (tests run from the repository root)", path);
		return NULL;
	}
	return text[0];
}

/* The range the parser enforces, as a page writes it: config.c's own text,
 * with a choice's names separated by SEP ("keep | 0 | 1" in the man page),
 * and a duration from 0 written "0..1d"; empty for a bool. */
static void doc_range(const struct cfg_key_info *k, const char *sep, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	if (!strcmp(k->type, "bool"))
		return;
	const char *r = strncmp(k->range, "0s..", 4) ? k->range : k->range + 2;
	if (r != k->range)
		out[n++] = '0';
	for (; *r && n + strlen(sep) < len; r++) {
		if (!strcmp(k->type, "choice") && r[0] == ',' && r[1] == ' ') {
			memcpy(out + n, sep, strlen(sep));
			n += strlen(sep);
			r++;
		} else {
			out[n++] = *r;
		}
	}
	out[n] = '\0';
}

static void test_man_page_has_every_key(void **state)
{
	char *man = slurp("docs/ksmpilot.conf.5");
	struct cfg_key_info k;

	(void)state;
	for (unsigned i = 0; i < cfg_key_count(); i++) {
		char want[256];
		cfg_key(i, &k);
		snprintf(want, sizeof(want), ".BR %s \" (", k.name);
		char *p = strstr(man, want);
		if (!p)
			fail_msg("ksmpilot.conf.5 does not document %s", k.name);
		char *eol = strchr(p, '\n');
		char line[512];
		snprintf(line, sizeof(line), "%.*s", (int)(eol - p), p);
		char range[128];
		doc_range(&k, " | ", range, sizeof(range));
		if (range[0] && !strstr(line, range))
			fail_msg("ksmpilot.conf.5: %s: range %s not in '%s'", k.name, range, line);
		if (k.def[0]) {
			char d[128];
			snprintf(d, sizeof(d), "default \" %s", k.def);
			if (!strstr(line, d))
				fail_msg("ksmpilot.conf.5: %s: default %s not in '%s'", k.name, k.def, line);
		} else if (!strstr(line, "default empty")) {
			fail_msg("ksmpilot.conf.5: %s: empty default not stated", k.name);
		}
	}
	free(man);
}

static void test_configuration_md_has_every_key(void **state)
{
	char *md = slurp("docs/configuration.md");
	struct cfg_key_info k;

	(void)state;
	for (unsigned i = 0; i < cfg_key_count(); i++) {
		char want[256], d[128];
		cfg_key(i, &k);
		snprintf(want, sizeof(want), "| `[%s]` | `%s` |", k.section, k.name);
		char *p = strstr(md, want);
		if (!p)
			fail_msg("configuration.md has no row for [%s] %s", k.section, k.name);
		char *eol = strchr(p, '\n');
		char line[1024];
		snprintf(line, sizeof(line), "%.*s", (int)(eol - p), p);
		char range[128];
		doc_range(&k, ", ", range, sizeof(range));
		if (range[0] && !strstr(line, range))
			fail_msg("configuration.md: %s: range %s not in its row", k.name, range);
		if (k.def[0])
			snprintf(d, sizeof(d), "| `%s` |", k.def);
		else
			snprintf(d, sizeof(d), "| (empty) |");
		if (!strstr(line, d))
			fail_msg("configuration.md: %s: default %s not in its row", k.name, k.def[0] ? k.def : "(empty)");
	}
	free(md);
}

/* Every MESSAGE_ID defined in src/msgid.h has an entry in the catalog,
 * and every MSGID_ used in src/ is defined there. */
static void test_catalog_has_every_message_id(void **state)
{
	char *ids = slurp("src/msgid.h");
	char *cat = slurp("systemd/ksmpilot.catalog");
	unsigned n = 0;

	(void)state;
	for (char *p = strstr(ids, "#define MSGID_"); p; p = strstr(p + 1, "#define MSGID_")) {
		char name[64], id[64], want[80];
		if (sscanf(p, "#define %63s \"%32[0-9a-f]\"", name, id) != 2)
			fail_msg("cannot parse '%.60s'", p);
		assert_int_equal(strlen(id), 32);
		snprintf(want, sizeof(want), "\n-- %s\n", id);
		if (!strstr(cat, want))
			fail_msg("systemd/ksmpilot.catalog has no entry for %s (%s)", name, id);
		n++;
	}
	assert_true(n >= 7);
	free(ids);
	free(cat);
}

static void test_every_used_message_id_is_defined(void **state)
{
	static const char *const files[] = { "src/pilot.c", "src/daemon.c", "src/ksmpilotd.c" };
	char *ids = slurp("src/msgid.h");

	(void)state;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		char *src = slurp(files[f]);
		for (char *p = strstr(src, "MSGID_"); p; p = strstr(p + 1, "MSGID_")) {
			char name[64], want[80];
			if (sscanf(p, "%63[A-Z_]", name) != 1)
				continue;
			snprintf(want, sizeof(want), "#define %s ", name);
			if (!strstr(ids, want))
				fail_msg("%s uses %s, which src/msgid.h does not define", files[f], name);
		}
		free(src);
	}
	free(ids);
}

/* The defaults as --dump-config prints them (cfg_defaults() + cfg_dump(),
 * what the binary runs): the table's text must be the same, so that the
 * docs, which quote the table, agree with the binary. */
static void test_defaults_match_dump_config(void **state)
{
	struct cfg c;
	struct cfg_key_info k;
	char *dump = NULL, want[512];
	size_t len = 0;
	FILE *f = open_memstream(&dump, &len);

	(void)state;
	assert_non_null(f);
	cfg_defaults(&c);
	cfg_dump(&c, f);
	assert_int_equal(fclose(f), 0);
	for (unsigned i = 0; cfg_key(i, &k); i++) {
		snprintf(want, sizeof(want), "\n%s = %s\n", k.name, k.def);
		if (!strstr(dump, want))
			fail_msg("%s: the key table says '%s', --dump-config prints another value", k.name, k.def);
	}
	free(dump);
}

/* conf/ksmpilot.conf lists every key, commented out at its default, in
 * its section. */
static void test_shipped_conf_has_every_key(void **state)
{
	char *conf = slurp("conf/ksmpilot.conf");
	struct cfg_key_info k;

	(void)state;
	for (unsigned i = 0; cfg_key(i, &k); i++) {
		char want[512], sect[64];
		const char *at, *s;
		snprintf(want, sizeof(want), "\n;%s =%s%s\n", k.name, k.def[0] ? " " : "", k.def);
		at = strstr(conf, want);
		if (!at)
			fail_msg("conf/ksmpilot.conf has no line ';%s = %s'", k.name, k.def);
		snprintf(sect, sizeof(sect), "\n[%s]\n", k.section);
		s = strstr(conf, sect);
		if (!s || s > at)
			fail_msg("conf/ksmpilot.conf: %s is not under [%s]", k.name, k.section);
		for (const char *n = strstr(s + 1, "\n["); n && n < at; n = strstr(n + 1, "\n["))
			fail_msg("conf/ksmpilot.conf: %s is not under [%s]", k.name, k.section);
	}
	free(conf);
}

/* Every "@DOCDIR@/NAME" a man page cites is a file of docs/, which make
 * install puts in DOCDIR (tests/install.sh checks that side). */
static void test_cited_docs_exist(void **state)
{
	static const char *const pages[] = { "docs/ksmpilotd.8", "docs/ksmpilotctl.8", "docs/ksmpilot.conf.5" };
	unsigned n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		char *man = slurp(pages[i]);
		for (char *p = strstr(man, "docs/"); p; p = strstr(p + 1, "docs/"))
			if (p == man || p[-1] != '/')
				fail_msg("%s cites '%.30s', which is not installed: write @DOCDIR@/NAME", pages[i], p);
		for (char *p = strstr(man, "@DOCDIR@/"); p; p = strstr(p + 1, "@DOCDIR@/")) {
			char name[128], path[160], *text = NULL;
			size_t len;
			if (sscanf(p + 9, "%127[A-Za-z0-9_.-]", name) != 1)
				fail_msg("%s: cannot read the name after '%.20s'", pages[i], p);
			while (name[strlen(name) - 1] == '.')
				name[strlen(name) - 1] = '\0'; /* the end of a sentence */
			snprintf(path, sizeof(path), "docs/%s", name);
			if (read_file(path, 1 << 20, &text, &len) < 0)
				fail_msg("%s cites %s, which does not exist", pages[i], path);
			free(text);
			n++;
		}
		free(man);
	}
	assert_true(n >= 3);
}

/* The cost of a tick is measured in docs/benchmarks.md (bench/tickcost's
 * "... us at 1s" at the shipped interval). Every doc that gives it says
 * "N µs of CPU a tick" (man pages: "N microseconds of CPU a tick") with
 * that figure, rounded; the vague wordings that disagreed are gone. When
 * the benchmark is run again, this fails until every doc follows. */
static void test_tick_cost_agrees(void **state)
{
	static const char *const files[] = { "README.md", "docs/configuration.md", "docs/controller.md",
					     "docs/migrating-from-ksmtuned.md", "docs/testing.md", "docs/ksmpilotd.8",
					     "docs/ksmpilotctl.8", "docs/ksmpilot.conf.5" };
	static const char *const vague[] = { "tenth of a millisecond", "tens of microseconds", "few microseconds",
					     "0.2 ms of CPU" };
	char *bench = slurp("docs/benchmarks.md"), *p;
	double measured = 0;
	long want;
	unsigned quoted = 0;

	(void)state;
	p = strstr(bench, " us at 1s");
	if (!p)
		fail_msg("docs/benchmarks.md has no tickcost line '... us at 1s'");
	while (p > bench && (p[-1] == '.' || (p[-1] >= '0' && p[-1] <= '9')))
		p--;
	measured = strtod(p, NULL);
	assert_true(measured > 0);
	want = lround(measured);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *doc = slurp(files[i]);
		for (size_t v = 0; v < sizeof(vague) / sizeof(vague[0]); v++)
			if (strstr(doc, vague[v]))
				fail_msg("%s: '%s': quote docs/benchmarks.md's %ld µs", files[i], vague[v], want);
		for (char *q = strstr(doc, " of CPU a tick"); q; q = strstr(q + 1, " of CPU a tick")) {
			char *num = q;
			long got;
			/* back over the unit to the number */
			while (num > doc && num[-1] != ' ')
				num--;
			if (strncmp(num, "µs ", strlen("µs ")) != 0 && strncmp(num, "microseconds ", 13) != 0)
				fail_msg("%s: the tick cost is not in µs or microseconds: '%.40s'", files[i], num);
			num--;
			while (num > doc && num[-1] >= '0' && num[-1] <= '9')
				num--;
			got = strtol(num, NULL, 10);
			if (got != want)
				fail_msg("%s says %ld µs of CPU a tick, docs/benchmarks.md measured %.1f", files[i], got,
					 measured);
			quoted++;
		}
		free(doc);
	}
	assert_true(quoted >= 3); /* README, the man page, the migration guide */
	free(bench);
}

/* ksmpilotd(8) gives the factor of rate change logged at info. */
static void test_log_rate_factor_documented(void **state)
{
	char *man = slurp("docs/ksmpilotd.8"), want[64];

	(void)state;
	snprintf(want, sizeof(want), "changes by a factor of %g or more", PILOT_LOG_RATE_FACTOR);
	if (!strstr(man, want))
		fail_msg("docs/ksmpilotd.8 does not say '%s'", want);
	free(man);
}

/* name in text, neither letter, digit nor '_' on either side: KSM_P
 * must not pass on KSM_PID, nor a metric on a longer one. */
static bool word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static bool has_word(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *m = strstr(text, name); m; m = strstr(m + 1, name))
		if (!word_char(m[n]) && (m == text || !word_char(m[-1])))
			return true;
	return false;
}

/* Every journal field the daemon sends ("KSM_..." or "KSMD_..." given to
 * a record in report.c, history.c or pilot.c) is named in ksmpilotd(8). */
static void test_journal_fields_documented(void **state)
{
	static const char *const files[] = { "src/report.c", "src/history.c", "src/pilot.c" };
	char *man = slurp("docs/ksmpilotd.8");
	unsigned seen = 0;

	(void)state;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		char *src = slurp(files[f]);
		for (char *p = strstr(src, "\"KSM"); p; p = strstr(p + 1, "\"KSM")) {
			char name[64];
			int len = 0;
			if (sscanf(p + 1, "%63[A-Z_]%n", name, &len) != 1 || (p[1 + len] != '"' && p[1 + len] != '='))
				continue;
			if (strncmp(name, "KSM_", 4) != 0 && strncmp(name, "KSMD_", 5) != 0)
				continue;
			seen++;
			if (!has_word(man, name))
				fail_msg("%s sends the journal field %s, which docs/ksmpilotd.8 does not name", files[f],
					 name);
		}
		free(src);
	}
	assert_true(seen >= 40);
	free(man);
}

/* The section of ksmpilotctl(8) that starts at the header, up to the next. */
static char *man_section(char *man, const char *header)
{
	char *s = strstr(man, header), *end;

	if (!s)
		fail_msg("docs/ksmpilotctl.8 has no %s", header);
	end = strstr(s + 1, "\n.SH ");
	if (end)
		end[1] = '\0';
	return s;
}

/* name appears in text as a bold word of its own (".B name" or
 * ".BR name ,"), or as the start of one followed by '{' (a metric). */
static bool man_names(const char *text, const char *name)
{
	static const char *const before[] = { "\n.B ", "\n.BR " };
	char want[128];

	for (size_t b = 0; b < 2; b++) {
		snprintf(want, sizeof(want), "%s%s", before[b], name);
		for (const char *m = strstr(text, want); m; m = strstr(m + 1, want)) {
			char after = m[strlen(want)];
			if (after == '\n' || after == ' ' || after == '{')
				return true;
		}
	}
	return false;
}

/* Every key of the state file, and every metric of the textfile, is
 * named in its section of ksmpilotctl(8); and every key the STATE FILE
 * section names with an underscore is one the daemon writes. */
static void test_state_and_metrics_documented(void **state)
{
	struct sample s;
	struct ctl_decision d;
	struct state_info si;
	struct guest_row row = { .pid = 7, .name = "vm", .processes = 1, .merging_pages = 1, .zero_pages = 1,
				 .rmap_items = 1 };
	struct guest_table guests = { .n = 1, .rows = &row };
	char *man = slurp("docs/ksmpilotctl.8"), *man2 = slurp("docs/ksmpilotctl.8");
	char *keys_doc = man_section(man, ".SH \"STATE FILE\""), *metrics_doc = man_section(man2, ".SH \"PROMETHEUS METRICS\"");
	char *text, *line, *save = NULL;
	unsigned nkeys = 0, nmetrics = 0;

	(void)state;
	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	memset(&si, 0, sizeof(si));
	/* every optional key and series present */
	s.have_guest = s.have_psi = s.have_ksmd_cpu = true;
	s.ksm.present = ~0ULL;
	si.s = &s;
	si.d = &d;
	si.config_path = "/etc/ksmpilot.conf";
	si.maps.pid = 1;
	si.full_scan_s = 1;
	/* one guest, for the ksmpilot_guest_* series */
	guests.total = row;
	si.guests = &guests;
	si.guest_series = 20;
	text = state_format(&si);
	assert_non_null(text);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (line[0] == '#' || !eq)
			continue;
		*eq = '\0';
		nkeys++;
		if (!man_names(keys_doc, line))
			fail_msg("the state file has the key %s, which ksmpilotctl(8)'s STATE FILE does not name", line);
	}
	free(text);
	assert_true(nkeys >= 60);
	/* the other way: a key named in the list (from "per line:" on) that
	 * the daemon does not write; the inspect states and the map_count_
	 * prefix are named there too */
	{
		static const char *const not_keys[] = { "fresh", "missing", "stale", "refused" };
		char *dup = state_format(&si), *list = strstr(keys_doc, "per line:");
		assert_non_null(list);
		for (const char *m = strstr(list, "\n.B"); m; m = strstr(m + 1, "\n.B")) {
			char word[64], want[80];
			bool skip = false;
			if (sscanf(m, "\n.%*[BR] %63[a-z0-9_]", word) != 1 || word[strlen(word) - 1] == '_')
				continue;
			for (size_t k = 0; k < sizeof(not_keys) / sizeof(not_keys[0]); k++)
				skip |= strcmp(word, not_keys[k]) == 0;
			if (skip)
				continue;
			snprintf(want, sizeof(want), "\n%s=", word);
			if (!strstr(dup, want))
				fail_msg("ksmpilotctl(8)'s STATE FILE names %s, which the state file does not hold", word);
		}
		free(dup);
	}
	text = metrics_format(&si);
	assert_non_null(text);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128];
		if (sscanf(line, "# TYPE %127s", name) != 1)
			continue;
		nmetrics++;
		if (!has_word(metrics_doc, name))
			fail_msg("the textfile has the metric %s, which ksmpilotctl(8)'s PROMETHEUS METRICS does not name",
				 name);
	}
	free(text);
	assert_true(nmetrics >= 30);
	free(man);
	free(man2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_man_page_has_every_key),
		cmocka_unit_test(test_configuration_md_has_every_key),
		cmocka_unit_test(test_catalog_has_every_message_id),
		cmocka_unit_test(test_every_used_message_id_is_defined),
		cmocka_unit_test(test_defaults_match_dump_config),
		cmocka_unit_test(test_shipped_conf_has_every_key),
		cmocka_unit_test(test_cited_docs_exist),
		cmocka_unit_test(test_tick_cost_agrees),
		cmocka_unit_test(test_log_rate_factor_documented),
		cmocka_unit_test(test_journal_fields_documented),
		cmocka_unit_test(test_state_and_metrics_documented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
