/*
 * jsonscan.c: JSON text -> a flat array of tokens, allocation-free once
 * sized.
 *
 * Why: the streaming relay reads a few members of every upstream chunk,
 * one chunk per token the model writes. Building a json-c tree for each
 * costs a dozen allocations and frees per event; this costs none after
 * the first chunks. The grammar and every check are jsonparse's (the
 * lexer is shared, jsonlex.c).
 *
 * Layout: tokens in document order; an object's members follow it as key
 * token, value token, ...; tok[i].next is the index just past i's subtree,
 * so siblings are one step apart. Strings are decoded into a copy of the
 * text, in place (a decoded string is never longer than its source), and
 * NUL-terminated where the closing quote was; numbers are NUL-terminated
 * on the delimiter after them, so strtod can read them where they are.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonlex.h"
#include "jsonscan.h"

struct js {
	struct jsonlex		 lx;
	struct jsonscan		*sc;
	int			 max_depth;
};

static int	js_value(struct js *, int);

static int
js_push(struct js *j, int type, size_t start)
{
	struct jsonscan		*sc = j->sc;
	struct jsonscan_tok	*t;
	size_t			 cap;

	if (sc->ntok == sc->cap) {
		cap = sc->cap ? sc->cap * 2 : 64;
		if (cap > UINT32_MAX ||
		    (t = reallocarray(sc->tok, cap, sizeof(*t))) == NULL)
			return jsonlex_fail(&j->lx, start, "out of memory");
		sc->tok = t;
		sc->cap = cap;
	}
	t = &sc->tok[sc->ntok];
	memset(t, 0, sizeof(*t));
	t->type = (uint8_t)type;
	t->start = (uint32_t)start;
	return (int)sc->ntok++;
}

/* the string at i, decoded into the copy in place */
static int
js_string(struct js *j)
{
	struct jsonscan	*sc = j->sc;
	const char	*v;
	size_t		 n, start = j->lx.i;
	int		 t;

	if ((t = js_push(j, JSONSCAN_STRING, start)) == -1 ||
	    jsonlex_string(&j->lx, &sc->scratch, &v, &n) == -1)
		return -1;
	if (v != (const char *)j->lx.s + start + 1)	/* had escapes */
		memcpy(sc->text.data + start + 1, v, n);
	sc->text.data[start + 1 + n] = '\0';
	sc->tok[t].n = (uint32_t)n;
	sc->tok[t].len = (uint32_t)(j->lx.i - start);
	return t;
}

static int
js_container(struct js *j, int depth)
{
	struct jsonscan	*sc = j->sc;
	size_t		 start = j->lx.i, count = 0;
	char		 close = j->lx.s[start] == '{' ? '}' : ']';
	int		 t, more;

	if (depth >= j->max_depth)
		return jsonlex_fail(&j->lx, start, "nesting too deep");
	if ((t = js_push(j, close == '}' ? JSONSCAN_OBJECT : JSONSCAN_ARRAY,
	    start)) == -1)
		return -1;
	j->lx.i++;
	jsonlex_ws(&j->lx);
	if (j->lx.i < j->lx.len && j->lx.s[j->lx.i] == close)
		goto empty;
	for (;;) {
		jsonlex_ws(&j->lx);
		if (close == '}') {
			if (j->lx.i >= j->lx.len || j->lx.s[j->lx.i] != '"')
				return jsonlex_fail(&j->lx, j->lx.i,
				    "object key expected");
			if (js_string(j) == -1)
				return -1;
			jsonlex_ws(&j->lx);
			if (j->lx.i >= j->lx.len || j->lx.s[j->lx.i] != ':')
				return jsonlex_fail(&j->lx, j->lx.i,
				    "':' expected");
			j->lx.i++;
		}
		if (js_value(j, depth + 1) == -1 ||
		    (more = jsonlex_next(&j->lx, close)) == -1)
			return -1;
		count++;
		if (!more)
			goto done;
	}
empty:
	j->lx.i++;		/* the empty container's close */
done:
	if (count > UINT32_MAX)
		return jsonlex_fail(&j->lx, start, "out of memory");
	sc->tok[t].n = (uint32_t)count;
	sc->tok[t].len = (uint32_t)(j->lx.i - start);
	sc->tok[t].next = (uint32_t)sc->ntok;
	return t;
}

static int
js_value(struct js *j, int depth)
{
	struct jsonscan	*sc = j->sc;
	const unsigned char *s = j->lx.s;
	size_t		 i, n;
	int		 t, is_double;

	jsonlex_ws(&j->lx);
	i = j->lx.i;
	if (i >= j->lx.len)
		return jsonlex_fail(&j->lx, i, "unexpected end of input");
	switch (s[i]) {
	case '{':
	case '[':
		return js_container(j, depth);
	case '"':
		if ((t = js_string(j)) == -1)
			return -1;
		break;
	case 't':
	case 'f':
	case 'n':
		n = s[i] == 'f' ? 5 : 4;
		if (j->lx.len - i < n || memcmp(s + i, s[i] == 't' ? "true" :
		    s[i] == 'f' ? "false" : "null", n) != 0)
			return jsonlex_fail(&j->lx, i, "unexpected character");
		if ((t = js_push(j, s[i] == 'n' ? JSONSCAN_NULL :
		    JSONSCAN_BOOL, i)) == -1)
			return -1;
		sc->tok[t].flag = s[i] == 't';
		sc->tok[t].len = (uint32_t)n;
		j->lx.i += n;
		break;
	default:
		if (s[i] != '-' && (s[i] < '0' || s[i] > '9'))
			return jsonlex_fail(&j->lx, i, "unexpected character");
		if (jsonlex_number(&j->lx, &n, &is_double) == -1 ||
		    (t = js_push(j, JSONSCAN_NUMBER, i)) == -1)
			return -1;
		sc->tok[t].flag = (uint8_t)is_double;
		sc->tok[t].len = (uint32_t)n;
		/* the delimiter after it is structure, already read */
		sc->text.data[i + n] = '\0';
		j->lx.i += n;
		break;
	}
	sc->tok[t].next = (uint32_t)sc->ntok;
	return t;
}

int
jsonscan(struct jsonscan *sc, const char *text, size_t len, int max_depth,
    int allow_ctrl, struct jsonlex_err *err)
{
	struct js	 j;

	memset(err, 0, sizeof(*err));
	sc->ntok = 0;
	sc->src = text;
	memset(&j, 0, sizeof(j));
	j.lx.s = (const unsigned char *)text;
	j.lx.len = len;
	j.lx.allow_ctrl = allow_ctrl;
	j.lx.err = err;
	j.sc = sc;
	j.max_depth = max_depth;
	if (len >= UINT32_MAX)
		return jsonlex_fail(&j.lx, 0, "text too long");
	buf_reset(&sc->text);
	if (buf_append(&sc->text, text, len) == -1)
		return jsonlex_fail(&j.lx, 0, "out of memory");
	if (js_value(&j, 0) == -1)
		goto fail;
	jsonlex_ws(&j.lx);
	if (j.lx.i != len) {
		jsonlex_fail(&j.lx, j.lx.i, "trailing data");
		goto fail;
	}
	return 0;
fail:
	sc->ntok = 0;
	return -1;
}

void
jsonscan_free(struct jsonscan *sc)
{
	free(sc->tok);
	buf_free(&sc->text);
	buf_free(&sc->scratch);
	memset(sc, 0, sizeof(*sc));
}

/* ---- reading ------------------------------------------------------------ */

static const struct jsonscan_tok *
js_tok(const struct jsonscan *sc, int v)
{
	return v < 0 || (size_t)v >= sc->ntok ? NULL : &sc->tok[v];
}

int
jsonscan_type(const struct jsonscan *sc, int v)
{
	const struct jsonscan_tok	*t = js_tok(sc, v);

	return t == NULL ? JSONSCAN_NULL : t->type;
}

int
jsonscan_member(const struct jsonscan *sc, int v, const char *key)
{
	const struct jsonscan_tok	*t = js_tok(sc, v);
	size_t				 k, klen = strlen(key);
	int				 found = -1;

	if (t == NULL || t->type != JSONSCAN_OBJECT)
		return -1;
	for (k = (size_t)v + 1; k < t->next; k = sc->tok[k + 1].next)
		/* json-c cuts keys at a NUL: so does strcmp here */
		if (sc->tok[k].n >= klen && strcmp(sc->text.data +
		    sc->tok[k].start + 1, key) == 0)
			found = (int)k + 1;
	return found;
}

int
jsonscan_index(const struct jsonscan *sc, int v, size_t i)
{
	const struct jsonscan_tok	*t = js_tok(sc, v);
	size_t				 k;

	if (t == NULL || t->type != JSONSCAN_ARRAY || i >= t->n)
		return -1;
	for (k = (size_t)v + 1; i > 0; i--)
		k = sc->tok[k].next;
	return (int)k;
}

size_t
jsonscan_count(const struct jsonscan *sc, int v)
{
	const struct jsonscan_tok	*t = js_tok(sc, v);

	return t == NULL || (t->type != JSONSCAN_ARRAY &&
	    t->type != JSONSCAN_OBJECT) ? 0 : t->n;
}

const char *
jsonscan_str(const struct jsonscan *sc, int v, size_t *len)
{
	const struct jsonscan_tok	*t = js_tok(sc, v);

	if (t == NULL || t->type != JSONSCAN_STRING)
		return NULL;
	if (len != NULL)
		*len = t->n;
	return sc->text.data + t->start + 1;
}

int
jsonscan_int64(const struct jsonscan *sc, int v, int64_t *out)
{
	const struct jsonscan_tok	*t = js_tok(sc, v);
	const char			*p;
	uint64_t			 u = 0, lim;
	int				 neg;

	if (t == NULL || t->type != JSONSCAN_NUMBER || t->flag)
		return -1;
	p = sc->text.data + t->start;
	if ((neg = *p == '-'))
		p++;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *p != '\0'; p++) {
		if (u > (lim - (uint64_t)(*p - '0')) / 10) {
			u = lim;	/* json-c saturates */
			break;
		}
		u = u * 10 + (uint64_t)(*p - '0');
	}
	if (neg)
		*out = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
	else
		*out = (int64_t)u;
	return 0;
}

int
jsonscan_double(const struct jsonscan *sc, int v, double *out)
{
	const struct jsonscan_tok	*t = js_tok(sc, v);

	if (t == NULL || t->type != JSONSCAN_NUMBER)
		return -1;
	/* the daemon never calls setlocale: the decimal point is '.' */
	*out = strtod(sc->text.data + t->start, NULL);
	return 0;
}

const char *
jsonscan_raw(const struct jsonscan *sc, int v, size_t *len)
{
	const struct jsonscan_tok	*t = js_tok(sc, v);

	if (t == NULL)
		return NULL;
	*len = t->len;
	return sc->src + t->start;
}
