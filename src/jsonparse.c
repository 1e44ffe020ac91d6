/*
 * jsonparse.c: strict JSON text -> json-c tree, in one pass over the bytes.
 *
 * Why not json_tokener: it walks the text one character at a time through
 * a state machine and a printbuf, about 60 instructions per byte, and was
 * the largest single cost of a 20 KB Claude Code request. This parser
 * scans strings a word at a time, builds the same json-c objects, and
 * leaves the parts the caller only passes on (tool schemas, tool inputs:
 * "opaque paths") as their minified text, so they cost one copy instead of
 * a hash table per object to build, serialise and free. Long strings
 * keep their source text too (a custom json-c serialiser), so serialising
 * them again is a copy, not json-c's escaping one character at a time;
 * their values are decoded as usual for whoever reads them.
 *
 * The grammar is RFC 8259, stricter than json-c's STRICT mode: no NaN or
 * Infinity, no "1.", no raw control bytes in strings (unless allow_ctrl,
 * for upstream answers), UTF-8 checked as util_utf8_check does. Values
 * match json-c's own parse: duplicate keys keep the last, integers beyond
 * int64 become uint64 or saturate, doubles keep their text
 * (json_object_new_double_s), unpaired UTF-16 surrogates become U+FFFD, a
 * key is cut at an escaped NUL (json-c keys are C strings).
 *
 * Errors give the byte offset and a short reason; an error is never a
 * partial tree. Recursion is bounded by max_depth. jsonparse_whole is the
 * one place that decides what may follow a whole JSON text: RFC 8259's
 * four whitespace bytes, nothing else.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <json-c/printbuf.h>

#include "buf.h"
#include "jsonlex.h"
#include "jsonparse.h"

#define JP_MAX_PATH	8		/* opaque paths are this deep at most */
#define JP_NUM_INLINE	64		/* numbers longer than this use the heap */
#define JP_RAW_MIN	32		/* strings this long keep their text */

struct jp_seg {				/* one step of the current path */
	const char	*key;		/* raw member name, NULL in an array */
	size_t		 keylen;
};

struct jp {
	struct jsonlex			 lx;		/* text, position, error */
	const struct jsonparse_opts	*o;
	struct buf			 scratch;	/* decoded strings */
	struct buf			 raw;		/* opaque text */
	struct jp_seg			 path[JP_MAX_PATH];
	int				 depth;
};

struct jp_opaque {			/* kept text: opaque values, long strings */
	size_t	 len;
	char	 text[];
};

static json_object	*jp_value(struct jp *);
static json_object	*jp_container(struct jp *);
static int		 jp_skip(struct jp *, int);
static int		 jp_keep_text(json_object *, const unsigned char *,
			    size_t);

static json_object *
jp_integer(const unsigned char *s, size_t n)
{
	uint64_t	 v = 0;
	size_t		 k = 0;
	int		 neg = 0, over = 0;

	if (s[0] == '-') {
		neg = 1;
		k = 1;
	}
	for (; k < n; k++) {
		if (v > (UINT64_MAX - (uint64_t)(s[k] - '0')) / 10)
			over = 1;
		v = v * 10 + (uint64_t)(s[k] - '0');
	}
	/* json-c saturates: INT64_MIN below, UINT64_MAX above */
	if (neg) {
		if (over || v > (uint64_t)INT64_MAX + 1)
			return json_object_new_int64(INT64_MIN);
		return json_object_new_int64(v == (uint64_t)INT64_MAX + 1 ?
		    INT64_MIN : -(int64_t)v);
	}
	if (over)
		return json_object_new_uint64(UINT64_MAX);
	if (v > (uint64_t)INT64_MAX)
		return json_object_new_uint64(v);
	return json_object_new_int64((int64_t)v);
}

static json_object *
jp_number(struct jp *p)
{
	char		 inl[JP_NUM_INLINE + 1], *text;
	json_object	*o;
	size_t		 n;
	int		 is_double;
	double		 d;

	if (jsonlex_number(&p->lx, &n, &is_double) == -1)
		return NULL;
	if (!is_double) {
		o = jp_integer(p->lx.s + p->lx.i, n);
	} else {
		/* strtod needs a NUL; the daemon never calls setlocale, so
		 * the decimal point is '.' */
		text = n <= JP_NUM_INLINE ? inl : malloc(n + 1);
		if (text == NULL) {
			jsonlex_fail(&p->lx, p->lx.i, "out of memory");
			return NULL;
		}
		memcpy(text, p->lx.s + p->lx.i, n);
		text[n] = '\0';
		d = strtod(text, NULL);
		o = json_object_new_double_s(d, text);
		if (text != inl)
			free(text);
	}
	if (o == NULL)
		jsonlex_fail(&p->lx, p->lx.i, "out of memory");
	else
		p->lx.i += n;
	return o;
}

/* ---- opaque values ------------------------------------------------------- */

static int
jp_opaque_serialize(json_object *o, struct printbuf *pb, int level, int flags)
{
	const struct jp_opaque	*q = json_object_get_userdata(o);

	(void)level;
	(void)flags;
	return printbuf_memappend(pb, q->text, (int)q->len) < 0 ? -1 : 0;
}

static void
jp_opaque_free(json_object *o, void *userdata)
{
	(void)o;
	free(userdata);
}

/*
 * o serialises as text from now on. For a long string this is its source
 * text, escapes as the client wrote them: one copy here instead of
 * json-c's escaping, character by character, at every serialisation.
 */
static int
jp_keep_text(json_object *o, const unsigned char *text, size_t len)
{
	struct jp_opaque	*q;

	if ((q = malloc(sizeof(*q) + len)) == NULL)
		return -1;
	q->len = len;
	memcpy(q->text, text, len);
	json_object_set_serializer(o, jp_opaque_serialize, q, jp_opaque_free);
	return 0;
}

int
jsonparse_is_opaque(json_object *o)
{
	return o != NULL && (json_object_is_type(o, json_type_object) ||
	    json_object_is_type(o, json_type_array)) &&
	    json_object_get_userdata(o) != NULL;
}

/* does the current path (p->path[0..depth-1]) name an opaque value? */
static int
jp_at_opaque(const struct jp *p)
{
	const char *const *const	*pat;
	const char *const		*seg;
	int				 d;

	if (p->o->opaque == NULL || p->depth > JP_MAX_PATH)
		return 0;
	for (pat = p->o->opaque; *pat != NULL; pat++) {
		for (d = 0, seg = *pat; *seg != NULL && d < p->depth;
		    d++, seg++) {
			if (p->path[d].key == NULL ?
			    strcmp(*seg, "*") != 0 :
			    (strlen(*seg) != p->path[d].keylen ||
			    memcmp(*seg, p->path[d].key, p->path[d].keylen) != 0))
				break;
		}
		if (*seg == NULL && d == p->depth)
			return 1;
	}
	return 0;
}

/* validate the value at i without building it; depth counts as in
 * jp_value */
static int
jp_skip(struct jp *p, int depth)
{
	size_t	 n;
	int	 is_double, first, more;
	char	 close;

	jsonlex_ws(&p->lx);
	if (p->lx.i >= p->lx.len)
		return jsonlex_fail(&p->lx, p->lx.i, "unexpected end of input");
	switch (p->lx.s[p->lx.i]) {
	case '"':
		return jsonlex_string(&p->lx, NULL, NULL, NULL);
	case '{':
	case '[':
		if (depth >= p->o->max_depth)
			return jsonlex_fail(&p->lx, p->lx.i, "nesting too deep");
		close = p->lx.s[p->lx.i] == '{' ? '}' : ']';
		p->lx.i++;
		for (first = 1;; first = 0) {
			jsonlex_ws(&p->lx);
			if (p->lx.i < p->lx.len && p->lx.s[p->lx.i] == close &&
			    first)
				break;
			if (close == '}') {
				if (p->lx.i >= p->lx.len ||
				    p->lx.s[p->lx.i] != '"')
					return jsonlex_fail(&p->lx, p->lx.i,
					    "object key expected");
				if (jsonlex_string(&p->lx, NULL, NULL,
				    NULL) == -1)
					return -1;
				jsonlex_ws(&p->lx);
				if (p->lx.i >= p->lx.len ||
				    p->lx.s[p->lx.i] != ':')
					return jsonlex_fail(&p->lx, p->lx.i,
					    "':' expected");
				p->lx.i++;
			}
			if (jp_skip(p, depth + 1) == -1 ||
			    (more = jsonlex_next(&p->lx, close)) == -1)
				return -1;
			if (!more)
				return 0;
		}
		p->lx.i++;		/* the empty container's close */
		return 0;
	case 't':
	case 'f':
	case 'n':
		n = p->lx.s[p->lx.i] == 'f' ? 5 : 4;
		if (p->lx.len - p->lx.i < n || memcmp(p->lx.s + p->lx.i,
		    p->lx.s[p->lx.i] == 't' ? "true" :
		    p->lx.s[p->lx.i] == 'f' ? "false" : "null", n) != 0)
			return jsonlex_fail(&p->lx, p->lx.i,
			    "unexpected character");
		p->lx.i += n;
		return 0;
	default:
		if (jsonlex_number(&p->lx, &n, &is_double) == -1)
			return -1;
		p->lx.i += n;
		return 0;
	}
}

/*
 * text[0..len), already validated, into p->raw without the whitespace
 * between tokens. Compact JSON (what SDKs send) is copied at once; a
 * pretty-printed value is copied run by run.
 */
static int
jp_minify(struct jp *p, const unsigned char *text, size_t len)
{
	size_t	 i, run;
	int	 in_string = 0;

	buf_reset(&p->raw);
	for (i = run = 0; i < len; i++) {
		if (in_string) {
			if (text[i] == '\\')
				i++;
			else if (text[i] == '"')
				in_string = 0;
			continue;
		}
		if (text[i] == '"') {
			in_string = 1;
		} else if (text[i] == ' ' || text[i] == '\n' ||
		    text[i] == '\r' || text[i] == '\t') {
			if (buf_append(&p->raw, text + run, i - run) == -1)
				return -1;
			run = i + 1;
		}
	}
	return buf_append(&p->raw, text + run, len - run);
}

static json_object *
jp_opaque(struct jp *p)
{
	json_object		*o;
	const unsigned char	*text = p->lx.s + p->lx.i;
	int			 is_object = *text == '{';

	p->lx.saw_unpaired = 0;
	if (jp_skip(p, p->depth) == -1)
		return NULL;
	if (p->lx.saw_unpaired) {
		/* its text would pass the escape on: build it after all */
		p->lx.i = (size_t)(text - p->lx.s);
		return jp_container(p);
	}
	if ((o = is_object ? json_object_new_object() :
	    json_object_new_array()) == NULL ||
	    jp_minify(p, text, (size_t)(p->lx.s + p->lx.i - text)) == -1 ||
	    jp_keep_text(o, (const unsigned char *)p->raw.data,
	    p->raw.len) == -1) {
		json_object_put(o);
		jsonlex_fail(&p->lx, p->lx.i, "out of memory");
		return NULL;
	}
	return o;
}

/* ---- containers ----------------------------------------------------------- */

/* json-c keys are C strings: a key is cut at an escaped NUL, as json-c
 * does; short keys are NUL-terminated on the stack */
#define JP_KEY_INLINE	128

static json_object *
jp_object(struct jp *p)
{
	json_object	*o, *v;
	const char	*key;
	char		 inl[JP_KEY_INLINE], *k;
	size_t		 klen, start;
	int		 rc;

	if ((o = json_object_new_object()) == NULL) {
		jsonlex_fail(&p->lx, p->lx.i, "out of memory");
		return NULL;
	}
	p->lx.i++;
	jsonlex_ws(&p->lx);
	if (p->lx.i < p->lx.len && p->lx.s[p->lx.i] == '}') {
		p->lx.i++;
		return o;
	}
	for (;;) {
		jsonlex_ws(&p->lx);
		if (p->lx.i >= p->lx.len || p->lx.s[p->lx.i] != '"') {
			jsonlex_fail(&p->lx, p->lx.i, "object key expected");
			goto fail;
		}
		start = p->lx.i + 1;
		if (jsonlex_string(&p->lx, &p->scratch, &key, &klen) == -1)
			goto fail;
		/* copied now: the value's strings reuse the scratch */
		k = klen < sizeof(inl) ? inl : malloc(klen + 1);
		if (k == NULL) {
			jsonlex_fail(&p->lx, p->lx.i, "out of memory");
			goto fail;
		}
		memcpy(k, key, klen);
		k[klen] = '\0';
		if (p->depth <= JP_MAX_PATH) {
			p->path[p->depth - 1].key = (const char *)p->lx.s + start;
			p->path[p->depth - 1].keylen = p->lx.i - 1 - start;
		}
		jsonlex_ws(&p->lx);
		if (p->lx.i >= p->lx.len || p->lx.s[p->lx.i] != ':') {
			jsonlex_fail(&p->lx, p->lx.i, "':' expected");
			goto fail_key;
		}
		p->lx.i++;
		if ((v = jp_value(p)) == NULL && p->lx.err->what != NULL)
			goto fail_key;
		/* copies the key; a duplicate replaces the earlier value */
		rc = json_object_object_add(o, k, v);
		if (k != inl)
			free(k);
		if (rc != 0) {
			json_object_put(v);
			jsonlex_fail(&p->lx, p->lx.i, "out of memory");
			goto fail;
		}
		if ((rc = jsonlex_next(&p->lx, '}')) == 0)
			return o;
		if (rc == -1)
			goto fail;
	}
fail_key:
	if (k != inl)
		free(k);
fail:
	json_object_put(o);
	return NULL;
}

static json_object *
jp_array(struct jp *p)
{
	json_object	*a, *v;
	int		 rc;

	if ((a = json_object_new_array()) == NULL) {
		jsonlex_fail(&p->lx, p->lx.i, "out of memory");
		return NULL;
	}
	p->lx.i++;
	jsonlex_ws(&p->lx);
	if (p->lx.i < p->lx.len && p->lx.s[p->lx.i] == ']') {
		p->lx.i++;
		return a;
	}
	for (;;) {
		if (p->depth <= JP_MAX_PATH)
			p->path[p->depth - 1].key = NULL;
		if ((v = jp_value(p)) == NULL && p->lx.err->what != NULL)
			goto fail;
		if (json_object_array_add(a, v) != 0) {
			json_object_put(v);
			jsonlex_fail(&p->lx, p->lx.i, "out of memory");
			goto fail;
		}
		if ((rc = jsonlex_next(&p->lx, ']')) == 0)
			return a;
		if (rc == -1)
			goto fail;
	}
fail:
	json_object_put(a);
	return NULL;
}

/* the object or array at i, built */
static json_object *
jp_container(struct jp *p)
{
	json_object	*o;

	p->depth++;
	o = p->lx.s[p->lx.i] == '{' ? jp_object(p) : jp_array(p);
	p->depth--;
	return o;
}

static json_object *
jp_value(struct jp *p)
{
	json_object	*o;
	const char	*v;
	size_t		 n, start;

	jsonlex_ws(&p->lx);
	if (p->lx.i >= p->lx.len) {
		jsonlex_fail(&p->lx, p->lx.i, "unexpected end of input");
		return NULL;
	}
	switch (p->lx.s[p->lx.i]) {
	case '{':
	case '[':
		if (p->depth >= p->o->max_depth) {
			jsonlex_fail(&p->lx, p->lx.i, "nesting too deep");
			return NULL;
		}
		if (jp_at_opaque(p))
			return jp_opaque(p);
		return jp_container(p);
	case '"':
		start = p->lx.i;
		p->lx.saw_unpaired = 0;
		if (jsonlex_string(&p->lx, &p->scratch, &v, &n) == -1)
			return NULL;
		if ((o = json_object_new_string_len(v, (int)n)) == NULL) {
			jsonlex_fail(&p->lx, p->lx.i, "out of memory");
			return NULL;
		}
		/* the source text must be what json-c would write: no raw
		 * control bytes, no escaped lone surrogate (json-c writes
		 * U+FFFD; upstreams may refuse the escape) */
		if (p->lx.i - start >= JP_RAW_MIN && !p->lx.saw_ctrl &&
		    !p->lx.saw_unpaired &&
		    jp_keep_text(o, p->lx.s + start, p->lx.i - start) == -1) {
			json_object_put(o);
			jsonlex_fail(&p->lx, p->lx.i, "out of memory");
			return NULL;
		}
		return o;
	case 't':
		if (p->lx.len - p->lx.i >= 4 && memcmp(p->lx.s + p->lx.i, "true", 4) == 0) {
			p->lx.i += 4;
			return json_object_new_boolean(1);
		}
		break;
	case 'f':
		if (p->lx.len - p->lx.i >= 5 && memcmp(p->lx.s + p->lx.i, "false", 5) == 0) {
			p->lx.i += 5;
			return json_object_new_boolean(0);
		}
		break;
	case 'n':
		if (p->lx.len - p->lx.i >= 4 && memcmp(p->lx.s + p->lx.i, "null", 4) == 0) {
			p->lx.i += 4;
			/* json-c's null is NULL; callers tell it from an
			 * error by err->what */
			return NULL;
		}
		break;
	default:
		if (p->lx.s[p->lx.i] == '-' || (p->lx.s[p->lx.i] >= '0' && p->lx.s[p->lx.i] <= '9'))
			return jp_number(p);
		break;
	}
	jsonlex_fail(&p->lx, p->lx.i, "unexpected character");
	return NULL;
}

json_object *
jsonparse(const char *text, size_t len, const struct jsonparse_opts *o,
    size_t *end, struct jsonlex_err *err)
{
	struct jp	 p;
	json_object	*v;

	memset(&p, 0, sizeof(p));
	memset(err, 0, sizeof(*err));
	p.lx.s = (const unsigned char *)text;
	p.lx.len = len;
	p.lx.allow_ctrl = o->allow_ctrl;
	p.lx.err = err;
	p.o = o;
	v = jp_value(&p);
	if (err->what != NULL) {
		json_object_put(v);
		v = NULL;
	}
	*end = p.lx.i;
	buf_free(&p.scratch);
	buf_free(&p.raw);
	return v;
}

size_t
jsonparse_skip_ws(const char *text, size_t len, size_t i)
{
	while (i < len && (text[i] == ' ' || text[i] == '\t' ||
	    text[i] == '\n' || text[i] == '\r'))
		i++;
	return i;
}

json_object *
jsonparse_whole(const char *text, size_t len, const struct jsonparse_opts *o,
    struct jsonlex_err *err)
{
	json_object	*v;
	size_t		 end;

	/* NULL is also JSON's null: err->what tells them apart */
	v = jsonparse(text, len, o, &end, err);
	if (err->what != NULL)
		return NULL;
	if ((end = jsonparse_skip_ws(text, len, end)) < len) {
		json_object_put(v);
		err->offset = end;
		err->what = "unexpected characters after the top-level value";
		return NULL;
	}
	return v;
}
