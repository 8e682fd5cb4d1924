/* test_docs.c - every configuration key is documented, with its default, in
 * docs/ksmpilot.conf.5 and docs/configuration.md; every MESSAGE_ID in the
 * code has a journal catalog entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_man_page_has_every_key),
		cmocka_unit_test(test_configuration_md_has_every_key),
		cmocka_unit_test(test_catalog_has_every_message_id),
		cmocka_unit_test(test_every_used_message_id_is_defined),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
