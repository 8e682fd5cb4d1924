/* test_json.c - the JSON writer (src/json.c): nesting and commas, string
 * escaping with invalid UTF-8 and control characters, numbers that are not
 * finite, and every misuse reported by json_end(). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "util.h"

struct buf {
	char *text;
	size_t len;
	FILE *f;
};

static void buf_open(struct buf *b, struct json *j, bool pretty)
{
	b->text = NULL;
	b->len = 0;
	b->f = open_memstream(&b->text, &b->len);
	assert_non_null(b->f);
	json_begin(j, b->f, pretty);
}

/* Ends the document, checks json_end()'s result and the text. */
static void buf_check(struct buf *b, struct json *j, int want_rc, const char *want)
{
	int rc = json_end(j);

	fclose(b->f);
	assert_int_equal(rc, want_rc);
	if (want)
		assert_string_equal(b->text, want);
	free(b->text);
}

static void test_nesting(void **state)
{
	struct buf b;
	struct json j;

	(void)state;
	buf_open(&b, &j, false);
	json_object_open(&j);
	json_kv_int(&j, "a", -3);
	json_key(&j, "b");
	json_array_open(&j);
	json_uint(&j, UINT64_MAX);
	json_bool(&j, true);
	json_null(&j);
	json_object_open(&j);
	json_object_close(&j);
	json_array_close(&j);
	json_kv_string(&j, "c", "x");
	json_object_close(&j);
	buf_check(&b, &j, 0, "{\"a\": -3, \"b\": [18446744073709551615,true,null,{}], \"c\": \"x\"}\n");
}

static void test_pretty(void **state)
{
	struct buf b;
	struct json j;

	(void)state;
	buf_open(&b, &j, true);
	json_object_open(&j);
	json_kv_int(&j, "a", 1);
	json_key(&j, "b");
	json_array_open(&j);
	json_int(&j, 2);
	json_array_close(&j);
	json_object_close(&j);
	buf_check(&b, &j, 0, "{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}\n");
}

static void test_numbers(void **state)
{
	struct buf b;
	struct json j;

	(void)state;
	buf_open(&b, &j, false);
	json_array_open(&j);
	json_double(&j, NAN);
	json_double(&j, INFINITY);
	json_double(&j, -INFINITY);
	json_double(&j, -0.0);
	json_double(&j, 42.0);
	json_double(&j, 0.1);
	json_double(&j, 1e300);
	json_array_close(&j);
	buf_check(&b, &j, 0, "[null,null,null,0,42,0.1,1e+300]\n");
}

static void test_escaping(void **state)
{
	/* quotes, backslash, C0 and C1 controls, DEL, valid multi-byte
	 * characters, and bytes that are not UTF-8: a lone continuation byte,
	 * an overlong '/', a surrogate, a truncated sequence at the end */
	static const char in[] = "q\"b\\n\nt\tc\x01" "d\x7f" "e\xc2\x9b" "f\xc3\xa9" "g\xe2\x82\xac" "h\xf0\x9f\x98\x80"
				 "i\x80" "j\xc0\xaf" "k\xed\xa0\x80" "l\xe2\x82";
	static const char want[] = "\"q\\\"b\\\\n\\nt\\tc\\u0001d\\u007fe\\u009bf\xc3\xa9g\xe2\x82\xach\xf0\x9f\x98\x80"
				   "i\\ufffdj\\ufffd\\ufffdk\\ufffd\\ufffd\\ufffdl\\ufffd\\ufffd\"\n";
	struct buf b;
	struct json j;

	(void)state;
	buf_open(&b, &j, false);
	json_string(&j, in);
	buf_check(&b, &j, 0, want);

	/* an embedded NUL with an explicit length */
	buf_open(&b, &j, false);
	json_string_n(&j, "a\0b", 3);
	buf_check(&b, &j, 0, "\"a\\u0000b\"\n");

	/* keys are escaped too */
	buf_open(&b, &j, false);
	json_object_open(&j);
	json_kv_null(&j, "k\"\xff");
	json_object_close(&j);
	buf_check(&b, &j, 0, "{\"k\\\"\\ufffd\": null}\n");
}

static void test_misuse(void **state)
{
	struct buf b;
	struct json j;

	(void)state;
	/* a value without a key inside an object */
	buf_open(&b, &j, false);
	json_object_open(&j);
	json_int(&j, 1);
	json_object_close(&j);
	buf_check(&b, &j, -EINVAL, NULL);
	/* a key inside an array */
	buf_open(&b, &j, false);
	json_array_open(&j);
	json_key(&j, "a");
	json_array_close(&j);
	buf_check(&b, &j, -EINVAL, NULL);
	/* a key without its value */
	buf_open(&b, &j, false);
	json_object_open(&j);
	json_key(&j, "a");
	json_object_close(&j);
	buf_check(&b, &j, -EINVAL, NULL);
	/* unbalanced: closed the wrong kind, left open, nothing written */
	buf_open(&b, &j, false);
	json_object_open(&j);
	json_array_close(&j);
	buf_check(&b, &j, -EINVAL, NULL);
	buf_open(&b, &j, false);
	json_array_open(&j);
	buf_check(&b, &j, -EINVAL, NULL);
	buf_open(&b, &j, false);
	buf_check(&b, &j, -EINVAL, NULL);
	/* two top-level values */
	buf_open(&b, &j, false);
	json_int(&j, 1);
	json_int(&j, 2);
	buf_check(&b, &j, -EINVAL, NULL);
	/* too deep */
	buf_open(&b, &j, false);
	for (int i = 0; i <= JSON_MAX_DEPTH; i++)
		json_array_open(&j);
	buf_check(&b, &j, -EINVAL, NULL);
}

static void test_sanitize(void **state)
{
	char s1[] = "ok \xc3\xa9\xe2\x82\xac";
	char s2[] = "a\nb\x1b[31mc\x7f" "d\xc2\x9b" "e\xff" "f\xc0\xaf" "g\xed\xa0\x80" "h\xe2\x82";
	char s3[] = "";
	/* a right-to-left override, a zero-width space, a byte order mark;
	 * a zero-width joiner and an ideographic space stay (names need them) */
	char s4[] = "vm\xe2\x80\xae" "ab\xe2\x80\x8b" "-prod\xef\xbb\xbf" "\xe2\x80\x8d\xe3\x80\x80";

	(void)state;
	assert_string_equal(text_sanitize(s1), "ok \xc3\xa9\xe2\x82\xac");
	assert_string_equal(text_sanitize(s2), "a?b?[31mc?d?e?f??g???h??");
	assert_string_equal(text_sanitize(s3), "");
	assert_string_equal(text_sanitize(s4), "vm?ab?-prod?\xe2\x80\x8d\xe3\x80\x80");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nesting),  cmocka_unit_test(test_pretty),	 cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_escaping), cmocka_unit_test(test_misuse),	 cmocka_unit_test(test_sanitize),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
