/* json.h - the one JSON writer of ksmpilotctl.
 *
 * Whatever the input, the output is valid JSON and valid UTF-8: strings
 * are escaped (control characters as \uXXXX, bytes that are not valid
 * UTF-8 as U+FFFD), numbers that are not finite are written as null, and
 * commas and nesting are kept by the writer. Values are written in order:
 * json_key() then a value inside an object, values alone inside an array.
 * A misuse (a value without a key in an object, an unbalanced end, nesting
 * deeper than JSON_MAX_DEPTH) is remembered and reported by json_end();
 * the output is then not to be used. Nothing here logs. */
#ifndef KSMPILOT_JSON_H
#define KSMPILOT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	bool pretty;                    /* newlines and two-space indentation */
	unsigned depth;
	bool in_object[JSON_MAX_DEPTH]; /* per level: object (true) or array */
	bool has_items[JSON_MAX_DEPTH]; /* per level: a comma is due */
	bool key_pending;               /* a key was written, its value is due */
	bool done;                      /* the top-level value is complete */
	int err;                        /* 0, or -EINVAL after a misuse */
};

void json_begin(struct json *j, FILE *f, bool pretty);
/* Ends the document with a newline. 0, -EINVAL (misuse, or an unfinished
 * document) or -EIO (the stream reported an error). */
int json_end(struct json *j);

void json_object_open(struct json *j);
void json_object_close(struct json *j);
void json_array_open(struct json *j);
void json_array_close(struct json *j);
void json_key(struct json *j, const char *key);

void json_string(struct json *j, const char *s);       /* NULL writes null */
void json_string_n(struct json *j, const char *s, size_t n);
void json_double(struct json *j, double v);            /* not finite: null */
void json_int(struct json *j, int64_t v);
void json_uint(struct json *j, uint64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);

/* A key and its value in one call. */
void json_kv_string(struct json *j, const char *key, const char *s);
void json_kv_double(struct json *j, const char *key, double v);
void json_kv_int(struct json *j, const char *key, int64_t v);
void json_kv_uint(struct json *j, const char *key, uint64_t v);
void json_kv_bool(struct json *j, const char *key, bool v);
void json_kv_null(struct json *j, const char *key);

/* Write s as the body of a JSON string (no quotes) to f: the escaping of
 * json_string(), for callers that build their own text. */
void json_escape(FILE *f, const char *s, size_t n);

#endif
