/* json.c - see json.h */
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "util.h"

void json_begin(struct json *j, FILE *f, bool pretty)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->pretty = pretty;
}

static void newline(struct json *j)
{
	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (unsigned i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

/* Before any value: the comma, or the check that a key came first. */
static bool value_start(struct json *j)
{
	if (j->err)
		return false;
	if (j->depth == 0) {
		if (j->done) {
			j->err = -EINVAL; /* a second top-level value */
			return false;
		}
		return true;
	}
	if (j->in_object[j->depth - 1]) {
		if (!j->key_pending) {
			j->err = -EINVAL; /* a value without a key */
			return false;
		}
		j->key_pending = false;
		return true;
	}
	if (j->has_items[j->depth - 1])
		fputc(',', j->f);
	j->has_items[j->depth - 1] = true;
	newline(j);
	return true;
}

static void value_end(struct json *j)
{
	if (j->depth == 0)
		j->done = true;
}

void json_key(struct json *j, const char *key)
{
	if (j->err)
		return;
	if (j->depth == 0 || !j->in_object[j->depth - 1] || j->key_pending || !key) {
		j->err = -EINVAL;
		return;
	}
	if (j->has_items[j->depth - 1])
		fputc(',', j->f);
	if (!j->pretty && j->has_items[j->depth - 1])
		fputc(' ', j->f);
	j->has_items[j->depth - 1] = true;
	newline(j);
	fputc('"', j->f);
	json_escape(j->f, key, strlen(key));
	fputs("\": ", j->f);
	j->key_pending = true;
}

static void open_level(struct json *j, bool object)
{
	if (!value_start(j))
		return;
	if (j->depth == JSON_MAX_DEPTH) {
		j->err = -EINVAL;
		return;
	}
	fputc(object ? '{' : '[', j->f);
	j->in_object[j->depth] = object;
	j->has_items[j->depth] = false;
	j->depth++;
}

static void close_level(struct json *j, bool object)
{
	bool had;

	if (j->err)
		return;
	if (j->depth == 0 || j->in_object[j->depth - 1] != object || j->key_pending) {
		j->err = -EINVAL;
		return;
	}
	had = j->has_items[j->depth - 1];
	j->depth--;
	if (had)
		newline(j);
	fputc(object ? '}' : ']', j->f);
	value_end(j);
}

void json_object_open(struct json *j)
{
	open_level(j, true);
}

void json_object_close(struct json *j)
{
	close_level(j, true);
}

void json_array_open(struct json *j)
{
	open_level(j, false);
}

void json_array_close(struct json *j)
{
	close_level(j, false);
}

void json_escape(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	while (n > 0) {
		uint32_t cp;
		size_t len = utf8_seq(p, n, &cp);
		if (len == 0) {
			fputs("\\ufffd", f); /* not UTF-8: the replacement character */
			len = 1;
		} else if (cp == '"' || cp == '\\') {
			fputc('\\', f);
			fputc((int)cp, f);
		} else if (cp == '\n') {
			fputs("\\n", f);
		} else if (cp == '\t') {
			fputs("\\t", f);
		} else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
			fprintf(f, "\\u%04" PRIx32, cp);
		} else {
			fwrite(p, 1, len, f);
		}
		p += len;
		n -= len;
	}
}

void json_string_n(struct json *j, const char *s, size_t n)
{
	if (!value_start(j))
		return;
	fputc('"', j->f);
	json_escape(j->f, s, n);
	fputc('"', j->f);
	value_end(j);
}

void json_string(struct json *j, const char *s)
{
	if (!s)
		json_null(j);
	else
		json_string_n(j, s, strlen(s));
}

void json_double(struct json *j, double v)
{
	char buf[40];

	if (!isfinite(v)) {
		json_null(j);
		return;
	}
	if (!value_start(j))
		return;
	if (v == floor(v) && fabs(v) < 9007199254740992.0) /* 2^53: exact */
		snprintf(buf, sizeof(buf), "%.0f", v);
	else
		double_format(v, buf, sizeof(buf));
	if (strcmp(buf, "-0") == 0)
		strcpy(buf, "0");
	fputs(buf, j->f);
	value_end(j);
}

void json_int(struct json *j, int64_t v)
{
	if (!value_start(j))
		return;
	fprintf(j->f, "%" PRId64, v);
	value_end(j);
}

void json_uint(struct json *j, uint64_t v)
{
	if (!value_start(j))
		return;
	fprintf(j->f, "%" PRIu64, v);
	value_end(j);
}

void json_bool(struct json *j, bool v)
{
	if (!value_start(j))
		return;
	fputs(v ? "true" : "false", j->f);
	value_end(j);
}

void json_null(struct json *j)
{
	if (!value_start(j))
		return;
	fputs("null", j->f);
	value_end(j);
}

void json_kv_string(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_string(j, s);
}

void json_kv_double(struct json *j, const char *key, double v)
{
	json_key(j, key);
	json_double(j, v);
}

void json_kv_int(struct json *j, const char *key, int64_t v)
{
	json_key(j, key);
	json_int(j, v);
}

void json_kv_uint(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_uint(j, v);
}

void json_kv_bool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}

void json_kv_null(struct json *j, const char *key)
{
	json_key(j, key);
	json_null(j);
}

int json_end(struct json *j)
{
	if (!j->err && (j->depth != 0 || !j->done || j->key_pending))
		j->err = -EINVAL;
	fputc('\n', j->f);
	/* a stream to a file or a pipe is buffered: its write happens here */
	if ((fflush(j->f) != 0 || ferror(j->f)) && !j->err)
		j->err = -EIO;
	return j->err;
}
