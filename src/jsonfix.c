/*
 * jsonfix.c: almost-JSON made JSON, for tool calls that small models write
 * as text (tcrepair.c).
 *
 * Models imitate the JavaScript and Python they were trained on: a comma
 * before a closing bracket, 'single quotes', a newline typed raw inside a
 * string, {key: 1}, True. One pass rewrites exactly those, with a
 * three-state scanner (outside strings, inside "...", inside '...'), and
 * copies everything else as it is: a text that is broken in another way
 * stays broken and the strict parser says where. Nothing is guessed: no
 * missing brackets are added, no text is dropped.
 *
 * Promises: a text that is already JSON comes out unchanged (jsonfix_parse
 * does not even rewrite it); the output of jsonfix_text is parsed with the
 * same strict parser as any upstream JSON. Fails only when memory runs
 * out.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "jsonfix.h"
#include "jsonparse.h"

#define JSONFIX_DEPTH	64

enum { OUTSIDE, IN_DQ, IN_SQ };

/* the output and whether memory ran out on the way */
struct fx {
	struct buf	*b;
	int		 bad;
};

static void
fx_append(struct fx *o, const char *p, size_t n)
{
	if (buf_append(o->b, p, n) == -1)
		o->bad = 1;
}

static void
fx_puts(struct fx *o, const char *p)
{
	fx_append(o, p, strlen(p));
}

static void
fx_putc(struct fx *o, char c)
{
	fx_append(o, &c, 1);
}

/* a control character inside a string, escaped */
static void
put_ctrl(struct fx *out, unsigned char c)
{
	char	 u[8];

	switch (c) {
	case '\n':
		fx_puts(out, "\\n");
		break;
	case '\r':
		fx_puts(out, "\\r");
		break;
	case '\t':
		fx_puts(out, "\\t");
		break;
	default:
		snprintf(u, sizeof(u), "\\u%04x", c);
		fx_puts(out, u);
		break;
	}
}

/* drop a comma (and the whitespace after it) just before a closer */
static void
drop_trailing_comma(struct fx *o)
{
	size_t	 n = o->b->len;

	while (n > 0 && isspace((unsigned char)o->b->data[n - 1]))
		n--;
	if (n > 0 && o->b->data[n - 1] == ',') {
		o->b->len = n - 1;
		o->b->data[o->b->len] = '\0';
	}
}

static int
is_ident(int c, int first)
{
	return isalpha(c) || c == '_' || c == '$' || (!first && isdigit(c));
}

/* a bare word outside strings: a key, a literal, or left for the parser */
static size_t
put_word(const char *s, size_t len, size_t i, struct fx *out)
{
	static const struct {
		const char	*word, *json;
	} lit[] = {
		{ "True", "true" }, { "False", "false" }, { "None", "null" },
	};
	size_t	 j = i, k, n;

	while (j < len && is_ident((unsigned char)s[j], j == i))
		j++;
	n = j - i;
	for (k = j; k < len && isspace((unsigned char)s[k]); k++)
		;
	if (k < len && s[k] == ':') {		/* an unquoted key */
		fx_putc(out, '"');
		fx_append(out, s + i, n);
		fx_putc(out, '"');
		return j;
	}
	for (k = 0; k < sizeof(lit) / sizeof(lit[0]); k++)
		if (strlen(lit[k].word) == n && memcmp(s + i, lit[k].word, n) ==
		    0) {
			fx_puts(out, lit[k].json);
			return j;
		}
	fx_append(out, s + i, n);
	return j;
}

int
jsonfix_text(const char *s, size_t len, struct buf *b)
{
	struct fx	 o = { b, 0 }, *out = &o;
	size_t		 i = 0;
	unsigned char	 c;
	int		 state = OUTSIDE;

	if (buf_reserve(b, len + len / 4 + 16) == -1)
		return -1;
	while (i < len) {
		c = (unsigned char)s[i];
		if (state == OUTSIDE) {
			if (c == '"') {
				state = IN_DQ;
				fx_putc(out, '"');
			} else if (c == '\'') {
				state = IN_SQ;
				fx_putc(out, '"');
			} else if (c == '}' || c == ']') {
				drop_trailing_comma(out);
				fx_putc(out, (char)c);
			} else if (isdigit(c) || c == '-' || c == '+' ||
			    c == '.') {
				/* a number's run, so its 'e' is no word */
				while (i < len && (isalnum((unsigned char)s[i]) ||
				    s[i] == '-' || s[i] == '+' || s[i] == '.'))
					fx_putc(out, s[i++]);
				continue;
			} else if (is_ident(c, 1)) {
				i = put_word(s, len, i, out);
				continue;
			} else
				fx_putc(out, (char)c);
			i++;
			continue;
		}
		if (c == '\\' && i + 1 < len) {
			/* \' is no JSON escape; inside '...' it means ' */
			if (s[i + 1] == '\'')
				fx_putc(out, '\'');
			else {
				fx_putc(out, '\\');
				fx_putc(out, s[i + 1]);
			}
			i += 2;
			continue;
		}
		if ((state == IN_DQ && c == '"') || (state == IN_SQ &&
		    c == '\'')) {
			fx_putc(out, '"');
			state = OUTSIDE;
		} else if (state == IN_SQ && c == '"')
			fx_puts(out, "\\\"");
		else if (c < 0x20)
			put_ctrl(out, c);
		else
			fx_putc(out, (char)c);
		i++;
	}
	return o.bad ? -1 : 0;
}

json_object *
jsonfix_parse(const char *s, size_t len, int *fixed, char *why, size_t whysz)
{
	static const struct jsonparse_opts opts = { JSONFIX_DEPTH, 0, NULL };
	struct jsonlex_err	 err;
	struct buf		 f = BUF_INITIALIZER;
	json_object		*v;

	*fixed = 0;
	v = jsonparse_whole(s, len, &opts, &err);
	if (err.what == NULL)
		return v;
	json_object_put(v);
	if (jsonfix_text(s, len, &f) == -1) {
		buf_free(&f);
		snprintf(why, whysz, "out of memory");
		return NULL;
	}
	*fixed = 1;
	v = jsonparse_whole(f.data != NULL ? f.data : "", f.len, &opts, &err);
	if (err.what != NULL) {
		json_object_put(v);
		v = NULL;
		snprintf(why, whysz, "%s at offset %zu", err.what, err.offset);
	}
	buf_free(&f);
	return v;
}
