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
 * partial tree. Recursion is bounded by max_depth.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <json-c/printbuf.h>

#include "buf.h"
#include "jsonparse.h"
#include "util.h"

#define JP_MAX_PATH	8		/* opaque paths are this deep at most */
#define JP_NUM_INLINE	64		/* numbers longer than this use the heap */
#define JP_RAW_MIN	32		/* strings this long keep their text */

struct jp_seg {				/* one step of the current path */
	const char	*key;		/* raw member name, NULL in an array */
	size_t		 keylen;
};

struct jp {
	const unsigned char		*s;
	size_t				 len, i;
	int				 saw_ctrl;	/* in the last string */
	const struct jsonparse_opts	*o;
	struct jsonparse_err		*err;
	struct buf			 scratch;	/* decoded strings */
	struct buf			 raw;		/* opaque text */
	struct jp_seg			 path[JP_MAX_PATH];
	int				 depth;
};

struct jp_opaque {			/* the userdata of an opaque value */
	size_t	 len;
	char	 text[];
};

static json_object	*jp_value(struct jp *);
static int		 jp_skip(struct jp *, int);
static int		 jp_keep_text(json_object *, const unsigned char *,
			    size_t);

static int
jp_fail(struct jp *p, size_t at, const char *what)
{
	if (p->err->what == NULL) {
		p->err->offset = at;
		p->err->what = what;
		p->err->eof = at >= p->len;
	}
	return -1;
}

static void
jp_ws(struct jp *p)
{
	while (p->i < p->len && (p->s[p->i] == ' ' || p->s[p->i] == '\n' ||
	    p->s[p->i] == '\r' || p->s[p->i] == '\t'))
		p->i++;
}

/* ---- strings ----------------------------------------------------------- */

/* bytes that end the fast scan: quote, backslash, control, non-ASCII */
static int
jp_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* index of the first byte at or after i that is not plain */
static size_t
jp_scan_plain(const unsigned char *s, size_t i, size_t len)
{
	const uint64_t	 ones = 0x0101010101010101ull;
	const uint64_t	 high = 0x8080808080808080ull;
	uint64_t	 w, t;

	while (len - i >= 8) {
		memcpy(&w, s + i, 8);
		/* a lane < 0x20, == '"', == '\\' or >= 0x80 sets its high
		 * bit (borrows may flag later lanes too: the byte loop below
		 * finds the exact one) */
		t = ((w - ones * 0x20) & ~w) |
		    (((w ^ ones * '"') - ones) & ~(w ^ ones * '"')) |
		    (((w ^ ones * '\\') - ones) & ~(w ^ ones * '\\')) | w;
		if ((t & high) != 0)
			break;
		i += 8;
	}
	while (i < len && jp_plain(s[i]))
		i++;
	return i;
}

static int
jp_hex4(const unsigned char *s, uint32_t *out)
{
	uint32_t	 v = 0;
	int		 k, d;

	for (k = 0; k < 4; k++) {
		if (s[k] >= '0' && s[k] <= '9')
			d = s[k] - '0';
		else if ((s[k] | 0x20) >= 'a' && (s[k] | 0x20) <= 'f')
			d = (s[k] | 0x20) - 'a' + 10;
		else
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return 0;
}

static int
jp_put_utf8(struct buf *b, uint32_t cp)
{
	char	 u[4];
	size_t	 n;

	if (cp < 0x80) {
		u[0] = (char)cp; n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f)); n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f)); n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f)); n = 4;
	}
	return buf_append(b, u, n);
}

/*
 * One \u escape at s[i] (the backslash); *i moves past it, and past a
 * second escape when the two form a surrogate pair.
 */
static int
jp_unicode(struct jp *p, size_t *i, uint32_t *cp)
{
	uint32_t	 hi, lo;

	if (p->len - *i < 6 || jp_hex4(p->s + *i + 2, &hi) == -1)
		return jp_fail(p, *i, "invalid string sequence");
	*i += 6;
	if (hi < 0xd800 || hi > 0xdfff) {
		*cp = hi;
		return 0;
	}
	*cp = 0xfffd;			/* unpaired, as json-c does */
	if (hi >= 0xdc00 || p->len - *i < 6 || p->s[*i] != '\\' ||
	    p->s[*i + 1] != 'u' || jp_hex4(p->s + *i + 2, &lo) == -1 ||
	    lo < 0xdc00 || lo > 0xdfff)
		return 0;
	*cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
	*i += 6;
	return 0;
}

/*
 * The string whose opening quote is at p->i; p->i moves past its closing
 * quote. With dec != NULL its value is decoded into dec (reset first; an
 * escape-free string is not copied: *val points into the text, and is not
 * NUL-terminated). Checks UTF-8 and escapes either way.
 */
static int
jp_string(struct jp *p, struct buf *dec, const char **val, size_t *vlen)
{
	const unsigned char	*s = p->s;
	size_t			 i = p->i + 1, run, bad;
	int			 escaped = 0, high = 0;
	uint32_t		 cp;
	char			 c;

	if (dec != NULL)
		buf_reset(dec);
	p->saw_ctrl = 0;
	for (;;) {
		run = i;
		i = jp_scan_plain(s, i, p->len);
		if (i >= p->len)
			return jp_fail(p, p->len, "unterminated string");
		if (s[i] >= 0x80) {
			high = 1;
			while (i < p->len && s[i] >= 0x80)
				i++;
			if (dec != NULL && escaped &&
			    buf_append(dec, s + run, i - run) == -1)
				return jp_fail(p, i, "out of memory");
			continue;
		}
		if (dec != NULL && escaped && i > run &&
		    buf_append(dec, s + run, i - run) == -1)
			return jp_fail(p, i, "out of memory");
		if (s[i] == '"')
			break;
		if (s[i] < 0x20) {
			if (!p->o->allow_ctrl)
				return jp_fail(p, i, "control character in string");
			p->saw_ctrl = 1;
			if (dec != NULL && escaped &&
			    buf_append(dec, s + i, 1) == -1)
				return jp_fail(p, i, "out of memory");
			i++;
			continue;
		}
		/* a backslash: switch to decoding, copying what came before */
		if (!escaped && dec != NULL &&
		    buf_append(dec, s + p->i + 1, i - p->i - 1) == -1)
			return jp_fail(p, i, "out of memory");
		escaped = 1;
		if (i + 1 >= p->len)
			return jp_fail(p, p->len, "unterminated string");
		switch (s[i + 1]) {
		case '"':  c = '"'; break;
		case '\\': c = '\\'; break;
		case '/':  c = '/'; break;
		case 'b':  c = '\b'; break;
		case 'f':  c = '\f'; break;
		case 'n':  c = '\n'; break;
		case 'r':  c = '\r'; break;
		case 't':  c = '\t'; break;
		case 'u':
			if (jp_unicode(p, &i, &cp) == -1)
				return -1;
			if (dec != NULL && jp_put_utf8(dec, cp) == -1)
				return jp_fail(p, i, "out of memory");
			continue;
		default:
			return jp_fail(p, i, "invalid string sequence");
		}
		if (dec != NULL && buf_putc(dec, c) == -1)
			return jp_fail(p, i, "out of memory");
		i += 2;
	}
	if (high) {
		/* the raw bytes between the quotes, escapes are ASCII */
		run = p->i + 1;
		bad = util_utf8_check((const char *)s + run, i - run);
		if (bad != i - run)
			return jp_fail(p, run + bad, "invalid utf-8 string");
	}
	if (dec != NULL) {
		if (escaped) {
			*val = dec->data ? dec->data : "";
			*vlen = dec->len;
		} else {
			*val = (const char *)s + p->i + 1;
			*vlen = i - p->i - 1;
		}
	}
	p->i = i + 1;
	return 0;
}

/* ---- numbers ------------------------------------------------------------ */

/* the extent of the number at p->i; *is_double when it has . or e */
static int
jp_number_span(struct jp *p, size_t *n, int *is_double)
{
	const unsigned char	*s = p->s;
	size_t			 i = p->i, d;

	*is_double = 0;
	if (i < p->len && s[i] == '-')
		i++;
	if (i >= p->len)
		return jp_fail(p, i, "number expected");
	if (s[i] == '0') {
		i++;
	} else if (s[i] >= '1' && s[i] <= '9') {
		while (i < p->len && s[i] >= '0' && s[i] <= '9')
			i++;
	} else
		return jp_fail(p, i, "number expected");
	if (i < p->len && s[i] == '.') {
		*is_double = 1;
		for (d = ++i; i < p->len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return jp_fail(p, i, "number expected");
	}
	if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
		*is_double = 1;
		i++;
		if (i < p->len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < p->len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return jp_fail(p, i, "number expected");
	}
	*n = i - p->i;
	return 0;
}

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

	if (jp_number_span(p, &n, &is_double) == -1)
		return NULL;
	if (!is_double) {
		o = jp_integer(p->s + p->i, n);
	} else {
		/* strtod needs a NUL; the daemon never calls setlocale, so
		 * the decimal point is '.' */
		text = n <= JP_NUM_INLINE ? inl : malloc(n + 1);
		if (text == NULL) {
			jp_fail(p, p->i, "out of memory");
			return NULL;
		}
		memcpy(text, p->s + p->i, n);
		text[n] = '\0';
		errno = 0;
		d = strtod(text, NULL);
		o = json_object_new_double_s(d, text);
		if (text != inl)
			free(text);
	}
	if (o == NULL)
		jp_fail(p, p->i, "out of memory");
	else
		p->i += n;
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

/* copy the raw bytes [from, p->i) into p->raw, whitespace left out */
static int
jp_raw_copy(struct jp *p, size_t from)
{
	if (buf_append(&p->raw, p->s + from, p->i - from) == -1)
		return jp_fail(p, from, "out of memory");
	return 0;
}

/* validate the value at p->i without building it; its minified text goes
 * to p->raw. depth counts as in jp_value. */
static int
jp_skip(struct jp *p, int depth)
{
	size_t	 from, n;
	int	 is_double, first;
	char	 close;

	jp_ws(p);
	if (p->i >= p->len)
		return jp_fail(p, p->i, "unexpected end of input");
	from = p->i;
	switch (p->s[p->i]) {
	case '"':
		if (jp_string(p, NULL, NULL, NULL) == -1)
			return -1;
		return jp_raw_copy(p, from);
	case '{':
	case '[':
		if (depth >= p->o->max_depth)
			return jp_fail(p, p->i, "nesting too deep");
		close = p->s[p->i] == '{' ? '}' : ']';
		p->i++;
		if (jp_raw_copy(p, from) == -1)
			return -1;
		for (first = 1;; first = 0) {
			jp_ws(p);
			if (p->i < p->len && p->s[p->i] == close && first)
				break;
			if (close == '}') {
				if (p->i >= p->len || p->s[p->i] != '"')
					return jp_fail(p, p->i,
					    "object key expected");
				if (jp_skip(p, depth + 1) == -1)
					return -1;
				jp_ws(p);
				if (p->i >= p->len || p->s[p->i] != ':')
					return jp_fail(p, p->i, "':' expected");
				p->i++;
				if (buf_putc(&p->raw, ':') == -1)
					return jp_fail(p, p->i, "out of memory");
			}
			if (jp_skip(p, depth + 1) == -1)
				return -1;
			jp_ws(p);
			if (p->i < p->len && p->s[p->i] == ',') {
				p->i++;
				if (buf_putc(&p->raw, ',') == -1)
					return jp_fail(p, p->i, "out of memory");
				continue;
			}
			if (p->i < p->len && p->s[p->i] == close)
				break;
			return jp_fail(p, p->i, close == '}' ?
			    "',' or '}' expected" : "',' or ']' expected");
		}
		p->i++;
		if (buf_putc(&p->raw, close) == -1)
			return jp_fail(p, p->i, "out of memory");
		return 0;
	case 't':
	case 'f':
	case 'n':
		n = p->s[p->i] == 'f' ? 5 : 4;
		if (p->len - p->i < n || memcmp(p->s + p->i,
		    p->s[p->i] == 't' ? "true" : p->s[p->i] == 'f' ? "false" :
		    "null", n) != 0)
			return jp_fail(p, p->i, "unexpected character");
		p->i += n;
		return jp_raw_copy(p, from);
	default:
		if (jp_number_span(p, &n, &is_double) == -1)
			return -1;
		p->i += n;
		return jp_raw_copy(p, from);
	}
}

static json_object *
jp_opaque(struct jp *p)
{
	json_object		*o;
	int			 is_object = p->s[p->i] == '{';

	buf_reset(&p->raw);
	if (jp_skip(p, p->depth) == -1)
		return NULL;
	if ((o = is_object ? json_object_new_object() :
	    json_object_new_array()) == NULL ||
	    jp_keep_text(o, (const unsigned char *)p->raw.data,
	    p->raw.len) == -1) {
		json_object_put(o);
		jp_fail(p, p->i, "out of memory");
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
		jp_fail(p, p->i, "out of memory");
		return NULL;
	}
	p->i++;
	jp_ws(p);
	if (p->i < p->len && p->s[p->i] == '}') {
		p->i++;
		return o;
	}
	for (;;) {
		jp_ws(p);
		if (p->i >= p->len || p->s[p->i] != '"') {
			jp_fail(p, p->i, "object key expected");
			goto fail;
		}
		start = p->i + 1;
		if (jp_string(p, &p->scratch, &key, &klen) == -1)
			goto fail;
		/* copied now: the value's strings reuse the scratch */
		k = klen < sizeof(inl) ? inl : malloc(klen + 1);
		if (k == NULL) {
			jp_fail(p, p->i, "out of memory");
			goto fail;
		}
		memcpy(k, key, klen);
		k[klen] = '\0';
		if (p->depth <= JP_MAX_PATH) {
			p->path[p->depth - 1].key = (const char *)p->s + start;
			p->path[p->depth - 1].keylen = p->i - 1 - start;
		}
		jp_ws(p);
		if (p->i >= p->len || p->s[p->i] != ':') {
			jp_fail(p, p->i, "':' expected");
			goto fail_key;
		}
		p->i++;
		if ((v = jp_value(p)) == NULL && p->err->what != NULL)
			goto fail_key;
		/* copies the key; a duplicate replaces the earlier value */
		rc = json_object_object_add(o, k, v);
		if (k != inl)
			free(k);
		if (rc != 0) {
			json_object_put(v);
			jp_fail(p, p->i, "out of memory");
			goto fail;
		}
		jp_ws(p);
		if (p->i < p->len && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->len && p->s[p->i] == '}') {
			p->i++;
			return o;
		}
		jp_fail(p, p->i, "',' or '}' expected");
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

	if ((a = json_object_new_array()) == NULL) {
		jp_fail(p, p->i, "out of memory");
		return NULL;
	}
	p->i++;
	jp_ws(p);
	if (p->i < p->len && p->s[p->i] == ']') {
		p->i++;
		return a;
	}
	for (;;) {
		if (p->depth <= JP_MAX_PATH)
			p->path[p->depth - 1].key = NULL;
		if ((v = jp_value(p)) == NULL && p->err->what != NULL)
			goto fail;
		if (json_object_array_add(a, v) != 0) {
			json_object_put(v);
			jp_fail(p, p->i, "out of memory");
			goto fail;
		}
		jp_ws(p);
		if (p->i < p->len && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->len && p->s[p->i] == ']') {
			p->i++;
			return a;
		}
		jp_fail(p, p->i, "',' or ']' expected");
		goto fail;
	}
fail:
	json_object_put(a);
	return NULL;
}

static json_object *
jp_value(struct jp *p)
{
	json_object	*o;
	const char	*v;
	size_t		 n, start;

	jp_ws(p);
	if (p->i >= p->len) {
		jp_fail(p, p->i, "unexpected end of input");
		return NULL;
	}
	switch (p->s[p->i]) {
	case '{':
	case '[':
		if (p->depth >= p->o->max_depth) {
			jp_fail(p, p->i, "nesting too deep");
			return NULL;
		}
		if (jp_at_opaque(p))
			return jp_opaque(p);
		p->depth++;
		o = p->s[p->i] == '{' ? jp_object(p) : jp_array(p);
		p->depth--;
		return o;
	case '"':
		start = p->i;
		if (jp_string(p, &p->scratch, &v, &n) == -1)
			return NULL;
		if ((o = json_object_new_string_len(v, (int)n)) == NULL) {
			jp_fail(p, p->i, "out of memory");
			return NULL;
		}
		if (p->i - start >= JP_RAW_MIN && !p->saw_ctrl &&
		    jp_keep_text(o, p->s + start, p->i - start) == -1) {
			json_object_put(o);
			jp_fail(p, p->i, "out of memory");
			return NULL;
		}
		return o;
	case 't':
		if (p->len - p->i >= 4 && memcmp(p->s + p->i, "true", 4) == 0) {
			p->i += 4;
			return json_object_new_boolean(1);
		}
		break;
	case 'f':
		if (p->len - p->i >= 5 && memcmp(p->s + p->i, "false", 5) == 0) {
			p->i += 5;
			return json_object_new_boolean(0);
		}
		break;
	case 'n':
		if (p->len - p->i >= 4 && memcmp(p->s + p->i, "null", 4) == 0) {
			p->i += 4;
			/* json-c's null is NULL; callers tell it from an
			 * error by err->what */
			return NULL;
		}
		break;
	default:
		if (p->s[p->i] == '-' || (p->s[p->i] >= '0' && p->s[p->i] <= '9'))
			return jp_number(p);
		break;
	}
	jp_fail(p, p->i, "unexpected character");
	return NULL;
}

json_object *
jsonparse(const char *text, size_t len, const struct jsonparse_opts *o,
    size_t *end, struct jsonparse_err *err)
{
	struct jp	 p;
	json_object	*v;

	memset(&p, 0, sizeof(p));
	memset(err, 0, sizeof(*err));
	p.s = (const unsigned char *)text;
	p.len = len;
	p.o = o;
	p.err = err;
	v = jp_value(&p);
	if (err->what != NULL) {
		json_object_put(v);
		v = NULL;
	}
	*end = p.i;
	buf_free(&p.scratch);
	buf_free(&p.raw);
	return v;
}
