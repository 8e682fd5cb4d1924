/* fuzz_json.c - libFuzzer target for the JSON writer (src/json.c) of
 * ksmpilotctl. The input is a program: each byte an operation (open or
 * close an object or an array, a key, a string, a number, true, false,
 * null, or a key with its value), with its bytes or number taken from the
 * input; the first byte chooses pretty printing.
 *
 * A model of JSON's grammar runs beside the writer. Besides the
 * sanitizers, the target aborts when
 *   - json_end() and the model disagree on whether the program is valid
 *     JSON (a value without a key, a second top-level value, an unbalanced
 *     close, nesting past JSON_MAX_DEPTH, an unfinished document);
 *   - for a valid program, the output is not valid JSON (RFC 8259, checked
 *     by the parser below) or not valid UTF-8;
 *   - a string or key does not read back as the bytes given, each byte
 *     that is not part of valid UTF-8 replaced by U+FFFD;
 *   - a number does not read back as the value given (not finite: null). */
#include "fuzz.h"

#include <errno.h>
#include <math.h>

#include "json.h"

#define MAX_STRINGS 256

/* The strings and numbers written, in order, as the output must show them. */
struct expect {
	unsigned nstr, nnum;
	char *str[MAX_STRINGS];
	size_t len[MAX_STRINGS];
	double num[MAX_STRINGS];
	bool null[MAX_STRINGS];
	bool is_int[MAX_STRINGS];
	int64_t i64[MAX_STRINGS];
	bool is_uint[MAX_STRINGS];
	uint64_t u64[MAX_STRINGS];
};

/* ---- the reference: what a string must read back as ---------------------------- */

/* Length of a well-formed UTF-8 sequence at p (Unicode table 3-7), or 0. */
NO_COVERAGE static size_t wellformed(const uint8_t *p, size_t n)
{
	uint8_t b0 = p[0];

	if (b0 < 0x80)
		return 1;
	if (b0 >= 0xc2 && b0 <= 0xdf)
		return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (b0 >= 0xe0 && b0 <= 0xef) {
		uint8_t lo = b0 == 0xe0 ? 0xa0 : 0x80, hi = b0 == 0xed ? 0x9f : 0xbf;
		return n >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (b0 >= 0xf0 && b0 <= 0xf4) {
		uint8_t lo = b0 == 0xf0 ? 0x90 : 0x80, hi = b0 == 0xf4 ? 0x8f : 0xbf;
		return n >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

/* s with each byte that starts no well-formed sequence as U+FFFD. */
NO_COVERAGE static char *reference(const uint8_t *s, size_t n, size_t *out_len)
{
	char *r = malloc(n * 3 + 1);
	size_t o = 0;

	if (!r)
		FUZZ_DIE("out of memory");
	for (size_t i = 0; i < n;) {
		size_t len = wellformed(s + i, n - i);
		if (len == 0) {
			memcpy(r + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			memcpy(r + o, s + i, len);
			o += len;
			i += len;
		}
	}
	*out_len = o;
	return r;
}

/* ---- a strict JSON parser that collects what it reads ---------------------------- */

struct parser {
	const char *p, *end;
	const struct expect *ex;
	unsigned nstr, nnum;
	unsigned depth;
};

NO_COVERAGE static void ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

NO_COVERAGE static unsigned hex4(struct parser *ps)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = ps->p < ps->end ? *ps->p++ : 0;
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			FUZZ_DIE("a bad \\u escape");
	}
	return v;
}

NO_COVERAGE static size_t put_utf8(char *o, uint32_t c)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xc0 | (c >> 6));
		o[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xe0 | (c >> 12));
		o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		o[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (c >> 18));
	o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	o[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

NO_COVERAGE static void string(struct parser *ps)
{
	char *buf = malloc((size_t)(ps->end - ps->p) * 2 + 4);
	size_t o = 0;

	if (!buf)
		FUZZ_DIE("out of memory");
	if (ps->p >= ps->end || *ps->p != '"')
		FUZZ_DIE("a string expected");
	ps->p++;
	for (;;) {
		uint8_t c;
		if (ps->p >= ps->end)
			FUZZ_DIE("an unterminated string");
		c = (uint8_t)*ps->p;
		if (c == '"') {
			ps->p++;
			break;
		}
		if (c < 0x20)
			FUZZ_DIE("a raw control character in a string");
		if (c == '\\') {
			char e = ++ps->p < ps->end ? *ps->p++ : 0;
			uint32_t u;
			switch (e) {
			case '"': buf[o++] = '"'; break;
			case '\\': buf[o++] = '\\'; break;
			case '/': buf[o++] = '/'; break;
			case 'b': buf[o++] = '\b'; break;
			case 'f': buf[o++] = '\f'; break;
			case 'n': buf[o++] = '\n'; break;
			case 'r': buf[o++] = '\r'; break;
			case 't': buf[o++] = '\t'; break;
			case 'u':
				u = hex4(ps);
				if (u >= 0xdc00 && u <= 0xdfff)
					FUZZ_DIE("a lone low surrogate");
				if (u >= 0xd800 && u <= 0xdbff) {
					unsigned lo;
					if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u')
						FUZZ_DIE("a lone high surrogate");
					ps->p += 2;
					lo = hex4(ps);
					if (lo < 0xdc00 || lo > 0xdfff)
						FUZZ_DIE("a high surrogate without a low one");
					u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
				}
				o += put_utf8(buf + o, u);
				break;
			default:
				FUZZ_DIE("a bad escape \\%c", e);
			}
			continue;
		}
		{
			size_t len = wellformed((const uint8_t *)ps->p, (size_t)(ps->end - ps->p));
			if (len == 0)
				FUZZ_DIE("the output is not valid UTF-8");
			memcpy(buf + o, ps->p, len);
			o += len;
			ps->p += len;
		}
	}
	if (ps->nstr >= ps->ex->nstr)
		FUZZ_DIE("more strings in the output than were written");
	if (o != ps->ex->len[ps->nstr] || memcmp(buf, ps->ex->str[ps->nstr], o) != 0)
		FUZZ_DIE("string %u does not read back as written", ps->nstr);
	ps->nstr++;
	free(buf);
}

NO_COVERAGE static void number(struct parser *ps)
{
	const char *s = ps->p;
	char tmp[64];
	size_t n;
	unsigned i = ps->nnum;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p >= ps->end || !(*ps->p >= '0' && *ps->p <= '9'))
		FUZZ_DIE("a number without digits");
	if (*ps->p == '0' && ps->p + 1 < ps->end && ps->p[1] >= '0' && ps->p[1] <= '9')
		FUZZ_DIE("a number with a leading zero");
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		ps->p++;
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		if (ps->p >= ps->end || !(*ps->p >= '0' && *ps->p <= '9'))
			FUZZ_DIE("a fraction without digits");
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end || !(*ps->p >= '0' && *ps->p <= '9'))
			FUZZ_DIE("an exponent without digits");
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	n = (size_t)(ps->p - s);
	if (n >= sizeof(tmp))
		FUZZ_DIE("a number of %zu characters", n);
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (i >= ps->ex->nnum || ps->ex->null[i])
		FUZZ_DIE("a number where none, or null, was written");
	if (ps->ex->is_int[i]) {
		if (strtoll(tmp, NULL, 10) != ps->ex->i64[i])
			FUZZ_DIE("integer %u: %s, not %lld", i, tmp, (long long)ps->ex->i64[i]);
	} else if (ps->ex->is_uint[i]) {
		if (strtoull(tmp, NULL, 10) != ps->ex->u64[i])
			FUZZ_DIE("integer %u: %s, not %llu", i, tmp, (unsigned long long)ps->ex->u64[i]);
	} else {
		double v = ps->ex->num[i], r = strtod(tmp, NULL);
		if (r != v && !(v == 0 && r == 0))
			FUZZ_DIE("number %u: %s, not %.17g", i, tmp, v);
	}
	ps->nnum++;
}

NO_COVERAGE static void literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		FUZZ_DIE("not a JSON value");
	ps->p += n;
}

NO_COVERAGE static void value(struct parser *ps)
{
	ws(ps);
	if (ps->p >= ps->end)
		FUZZ_DIE("a value expected");
	switch (*ps->p) {
	case '{':
	case '[': {
		char close = *ps->p == '{' ? '}' : ']';
		bool object = close == '}';
		ps->p++;
		if (++ps->depth > JSON_MAX_DEPTH)
			FUZZ_DIE("nested past JSON_MAX_DEPTH");
		ws(ps);
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
		} else {
			for (;;) {
				if (object) {
					ws(ps);
					string(ps);
					ws(ps);
					if (ps->p >= ps->end || *ps->p != ':')
						FUZZ_DIE("a key without ':'");
					ps->p++;
				}
				value(ps);
				ws(ps);
				if (ps->p < ps->end && *ps->p == ',') {
					ps->p++;
					continue;
				}
				if (ps->p < ps->end && *ps->p == close) {
					ps->p++;
					break;
				}
				FUZZ_DIE("an object or array not closed");
			}
		}
		ps->depth--;
		break;
	}
	case '"':
		string(ps);
		break;
	case 't':
		literal(ps, "true");
		break;
	case 'f':
		literal(ps, "false");
		break;
	case 'n':
		literal(ps, "null");
		if (ps->nnum >= ps->ex->nnum || !ps->ex->null[ps->nnum])
			FUZZ_DIE("null where a number was written, or none");
		ps->nnum++;
		break;
	default:
		number(ps);
	}
}

/* ---- the program -------------------------------------------------------------------- */

enum { OP_OBJ, OP_END_OBJ, OP_ARR, OP_END_ARR, OP_KEY, OP_STR, OP_DOUBLE, OP_INT, OP_UINT, OP_TRUE, OP_NULL,
       OP_KV_STR, OP_KV_DOUBLE, OP_COUNT };

struct model {
	unsigned depth;
	bool object[JSON_MAX_DEPTH + 1];
	bool key_pending, done, bad;
};

NO_COVERAGE static void model_value(struct model *m)
{
	if (m->bad)
		return;
	if (m->depth == 0) {
		if (m->done)
			m->bad = true;
		m->done = true;
	} else if (m->object[m->depth - 1]) {
		if (!m->key_pending)
			m->bad = true;
		m->key_pending = false;
	}
}

NO_COVERAGE static void model_key(struct model *m)
{
	if (!m->bad && (m->depth == 0 || !m->object[m->depth - 1] || m->key_pending))
		m->bad = true;
	else
		m->key_pending = true;
}

NO_COVERAGE static void model_open(struct model *m, bool object)
{
	bool top = m->depth == 0;
	model_value(m);
	if (m->bad)
		return;
	if (top)
		m->done = false; /* done once it closes */
	if (m->depth == JSON_MAX_DEPTH) {
		m->bad = true;
		return;
	}
	m->object[m->depth++] = object;
}

NO_COVERAGE static void model_close(struct model *m, bool object)
{
	if (m->bad)
		return;
	if (m->depth == 0 || m->object[m->depth - 1] != object || m->key_pending) {
		m->bad = true;
		return;
	}
	if (--m->depth == 0)
		m->done = true;
}

/* Take n bytes of the program, or what is left. */
static const uint8_t *take(const uint8_t **p, const uint8_t *end, size_t *n)
{
	const uint8_t *r = *p;

	if ((size_t)(end - *p) < *n)
		*n = (size_t)(end - *p);
	*p += *n;
	return r;
}

static void add_string(struct expect *ex, const uint8_t *s, size_t n)
{
	if (ex->nstr < MAX_STRINGS) {
		ex->str[ex->nstr] = reference(s, n, &ex->len[ex->nstr]);
		ex->nstr++;
	}
}

static void add_number(struct expect *ex, double v)
{
	if (ex->nnum < MAX_STRINGS) {
		ex->is_int[ex->nnum] = false;
		ex->is_uint[ex->nnum] = false;
		ex->null[ex->nnum] = !isfinite(v);
		ex->num[ex->nnum++] = v;
	}
}

/* A string value: its length (at most 63) and bytes from the program. */
static void op_string(struct json *j, struct model *m, struct expect *ex, const uint8_t **p, const uint8_t *end)
{
	size_t n = *p < end ? *(*p)++ % 64 : 0;
	const uint8_t *s = take(p, end, &n);

	model_value(m);
	if (!m->bad)
		add_string(ex, s, n);
	json_string_n(j, (const char *)s, n);
}

/* A double of any bits from the program. */
static void op_double(struct json *j, struct model *m, struct expect *ex, const uint8_t **p, const uint8_t *end)
{
	size_t n = 8;
	const uint8_t *s = take(p, end, &n);
	uint64_t u = 0;
	double d;

	memcpy(&u, s, n);
	memcpy(&d, &u, sizeof(d));
	model_value(m);
	if (!m->bad)
		add_number(ex, d);
	json_double(j, d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct expect ex;
	const uint8_t *p = data, *end = data + size;
	struct model m = { 0 };
	struct json j;
	char *out = NULL, *key;
	size_t out_len = 0;
	unsigned ops = 0;
	FILE *f;
	int r;

	if (size < 1)
		return 0;
	memset(&ex, 0, sizeof(ex));
	f = open_memstream(&out, &out_len);
	if (!f)
		return 0;
	json_begin(&j, f, *p++ & 1);
	while (p < end && ops < 4 * MAX_STRINGS / 2 && ex.nstr < MAX_STRINGS - 2 && ex.nnum < MAX_STRINGS - 2) {
		unsigned op = *p++ % OP_COUNT;
		size_t n;
		const uint8_t *s;
		uint64_t u;

		ops++;
		switch (op) {
		case OP_OBJ:
		case OP_ARR:
			model_open(&m, op == OP_OBJ);
			if (op == OP_OBJ)
				json_object_open(&j);
			else
				json_array_open(&j);
			break;
		case OP_END_OBJ:
		case OP_END_ARR:
			model_close(&m, op == OP_END_OBJ);
			if (op == OP_END_OBJ)
				json_object_close(&j);
			else
				json_array_close(&j);
			break;
		case OP_KEY:
		case OP_KV_STR:
		case OP_KV_DOUBLE:
			n = p < end ? *p++ % 32 : 0;
			s = take(&p, end, &n);
			key = strndup((const char *)s, n); /* a key stops at a NUL */
			if (!key)
				FUZZ_DIE("out of memory");
			model_key(&m);
			if (!m.bad)
				add_string(&ex, (const uint8_t *)key, strlen(key));
			json_key(&j, key);
			free(key);
			if (op == OP_KV_STR)
				op_string(&j, &m, &ex, &p, end);
			else if (op == OP_KV_DOUBLE)
				op_double(&j, &m, &ex, &p, end);
			break;
		case OP_STR:
			op_string(&j, &m, &ex, &p, end);
			break;
		case OP_DOUBLE:
			op_double(&j, &m, &ex, &p, end);
			break;
		case OP_INT:
		case OP_UINT:
			n = 8;
			s = take(&p, end, &n);
			u = 0;
			memcpy(&u, s, n);
			model_value(&m);
			if (!m.bad && ex.nnum < MAX_STRINGS) {
				ex.null[ex.nnum] = false;
				ex.is_int[ex.nnum] = op == OP_INT;
				ex.is_uint[ex.nnum] = op == OP_UINT;
				ex.i64[ex.nnum] = (int64_t)u;
				ex.u64[ex.nnum] = u;
				ex.nnum++;
			}
			if (op == OP_INT)
				json_int(&j, (int64_t)u);
			else
				json_uint(&j, u);
			break;
		case OP_TRUE:
			model_value(&m);
			json_bool(&j, true);
			break;
		case OP_NULL:
			model_value(&m);
			if (!m.bad && ex.nnum < MAX_STRINGS) {
				ex.null[ex.nnum] = true;
				ex.is_int[ex.nnum] = ex.is_uint[ex.nnum] = false;
				ex.nnum++;
			}
			json_null(&j);
			break;
		}
	}
	if (!m.bad && (m.depth != 0 || !m.done || m.key_pending))
		m.bad = true;
	r = json_end(&j);
	if (fclose(f) != 0)
		FUZZ_DIE("fclose of a memory stream");
	if ((r == 0) != !m.bad)
		FUZZ_DIE("json_end() says %d, the grammar says %s", r, m.bad ? "invalid" : "valid");
	if (r == 0) {
		struct parser ps = { .p = out, .end = out + out_len, .ex = &ex };
		value(&ps);
		ws(&ps);
		if (ps.p != ps.end)
			FUZZ_DIE("text after the value: %.*s", (int)(ps.end - ps.p), ps.p);
		if (ps.nstr != ex.nstr || ps.nnum != ex.nnum)
			FUZZ_DIE("%u strings and %u numbers read back, %u and %u written", ps.nstr, ps.nnum, ex.nstr,
				 ex.nnum);
	}
	for (unsigned i = 0; i < ex.nstr; i++)
		free(ex.str[i]);
	free(out);
	return 0;
}
