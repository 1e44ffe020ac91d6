/*
 * jsonlex.c: the JSON lexer jsonparse and jsonscan share.
 *
 * Strings are scanned a word at a time, checked (escapes, UTF-8 as
 * util_utf8_check: no overlong forms, no surrogates; raw control bytes
 * only with allow_ctrl) and decoded on request; numbers are checked
 * against the RFC 8259 grammar. The first error is recorded with its
 * offset; every function returns -1 after it.
 */
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "jsonlex.h"
#include "util.h"

int
jsonlex_fail(struct jsonlex *p, size_t at, const char *what)
{
	if (p->err->what == NULL) {
		p->err->offset = at;
		p->err->what = what;
		p->err->eof = at >= p->len;
	}
	return -1;
}

void
jsonlex_ws(struct jsonlex *p)
{
	while (p->i < p->len && (p->s[p->i] == ' ' || p->s[p->i] == '\n' ||
	    p->s[p->i] == '\r' || p->s[p->i] == '\t'))
		p->i++;
}

/* ---- strings ----------------------------------------------------------- */

/* bytes that end the fast scan: quote, backslash, control, non-ASCII */
static int
lx_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* index of the first byte at or after i that is not plain */
static size_t
lx_scan_plain(const unsigned char *s, size_t i, size_t len)
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
	while (i < len && lx_plain(s[i]))
		i++;
	return i;
}

static int
lx_hex4(const unsigned char *s, uint32_t *out)
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
lx_put_utf8(struct buf *b, uint32_t cp)
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
lx_unicode(struct jsonlex *p, size_t *i, uint32_t *cp)
{
	uint32_t	 hi, lo;

	if (p->len - *i < 6 || lx_hex4(p->s + *i + 2, &hi) == -1)
		return jsonlex_fail(p, *i, "invalid string sequence");
	*i += 6;
	if (hi < 0xd800 || hi > 0xdfff) {
		*cp = hi;
		return 0;
	}
	*cp = 0xfffd;			/* unpaired, as json-c does */
	if (hi >= 0xdc00 || p->len - *i < 6 || p->s[*i] != '\\' ||
	    p->s[*i + 1] != 'u' || lx_hex4(p->s + *i + 2, &lo) == -1 ||
	    lo < 0xdc00 || lo > 0xdfff) {
		p->saw_unpaired = 1;
		return 0;
	}
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
int
jsonlex_string(struct jsonlex *p, struct buf *dec, const char **val,
    size_t *vlen)
{
	const unsigned char	*s = p->s;
	size_t			 i = p->i + 1, run, bad;
	int			 escaped = 0, high = 0;
	uint32_t		 cp = 0;
	char			 c;

	if (dec != NULL)
		buf_reset(dec);
	p->saw_ctrl = 0;
	for (;;) {
		run = i;
		i = lx_scan_plain(s, i, p->len);
		if (i >= p->len)
			return jsonlex_fail(p, p->len, "unterminated string");
		if (s[i] >= 0x80) {
			high = 1;
			while (i < p->len && s[i] >= 0x80)
				i++;
			if (dec != NULL && escaped &&
			    buf_append(dec, s + run, i - run) == -1)
				return jsonlex_fail(p, i, "out of memory");
			continue;
		}
		if (dec != NULL && escaped && i > run &&
		    buf_append(dec, s + run, i - run) == -1)
			return jsonlex_fail(p, i, "out of memory");
		if (s[i] == '"')
			break;
		if (s[i] < 0x20) {
			if (!p->allow_ctrl)
				return jsonlex_fail(p, i, "control character in string");
			p->saw_ctrl = 1;
			if (dec != NULL && escaped &&
			    buf_append(dec, s + i, 1) == -1)
				return jsonlex_fail(p, i, "out of memory");
			i++;
			continue;
		}
		/* a backslash: switch to decoding, copying what came before */
		if (!escaped && dec != NULL &&
		    buf_append(dec, s + p->i + 1, i - p->i - 1) == -1)
			return jsonlex_fail(p, i, "out of memory");
		escaped = 1;
		if (i + 1 >= p->len)
			return jsonlex_fail(p, p->len, "unterminated string");
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
			if (lx_unicode(p, &i, &cp) == -1)
				return -1;
			if (dec != NULL && lx_put_utf8(dec, cp) == -1)
				return jsonlex_fail(p, i, "out of memory");
			continue;
		default:
			return jsonlex_fail(p, i, "invalid string sequence");
		}
		if (dec != NULL && buf_putc(dec, c) == -1)
			return jsonlex_fail(p, i, "out of memory");
		i += 2;
	}
	if (high) {
		/* the raw bytes between the quotes, escapes are ASCII */
		run = p->i + 1;
		bad = util_utf8_check((const char *)s + run, i - run);
		if (bad != i - run)
			return jsonlex_fail(p, run + bad, "invalid utf-8 string");
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
int
jsonlex_number(struct jsonlex *p, size_t *n, int *is_double)
{
	const unsigned char	*s = p->s;
	size_t			 i = p->i, d;

	*is_double = 0;
	if (i < p->len && s[i] == '-')
		i++;
	if (i >= p->len)
		return jsonlex_fail(p, i, "number expected");
	if (s[i] == '0') {
		i++;
	} else if (s[i] >= '1' && s[i] <= '9') {
		while (i < p->len && s[i] >= '0' && s[i] <= '9')
			i++;
	} else
		return jsonlex_fail(p, i, "number expected");
	if (i < p->len && s[i] == '.') {
		*is_double = 1;
		for (d = ++i; i < p->len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return jsonlex_fail(p, i, "number expected");
	}
	if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
		*is_double = 1;
		i++;
		if (i < p->len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < p->len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return jsonlex_fail(p, i, "number expected");
	}
	*n = i - p->i;
	return 0;
}

int
jsonlex_next(struct jsonlex *p, char close)
{
	jsonlex_ws(p);
	if (p->i < p->len && p->s[p->i] == ',') {
		p->i++;
		return 1;
	}
	if (p->i < p->len && p->s[p->i] == close) {
		p->i++;
		return 0;
	}
	return jsonlex_fail(p, p->i, close == '}' ? "',' or '}' expected" :
	    "',' or ']' expected");
}
