/*
 * srvcite.c: citations from the markers a model put in its text.
 *
 * Anthropic's answers cite web search results with text blocks that carry
 * "citations": a web_search_result_location (url, title, encrypted_index,
 * cited_text) for each result the stretch of text relies on. Other models
 * have no such output, so the search results are numbered for them
 * (srvhist.c) and they are asked to put [n] after what a result supports;
 * here each marker closes a cited block that starts where its sentence
 * starts (or where the previous marker ended), and the marker itself and
 * the blank before it are taken out. The cited_text is the result's own
 * excerpt, at most SRVHIST_CITED_MAX characters, as Anthropic's are quotes
 * of the source.
 *
 * Robust to text that merely looks like a marker: brackets inside code
 * (``` fences, `inline`), an index after a name (a[1]), a link or a
 * reference definition ([1](...), [1]: ...) and numbers that name no
 * result all stay text; a marker with nothing before it in its sentence
 * does too. The blocks' texts, joined, are the text without the markers.
 *
 * Fails only when memory runs out (-1).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "srvcite.h"
#include "srvhist.h"
#include "util.h"

#define MAX_PER_MARKER	16

struct marker {
	size_t	 start, end;		/* text[start..end) */
	size_t	 n[MAX_PER_MARKER];	/* result numbers, 1-based */
	size_t	 count;
};

static int
add_block(json_object *out, const char *p, size_t len, json_object *cites)
{
	json_object	*b;

	if ((b = json_object_new_object()) == NULL) {
		json_object_put(cites);
		return -1;
	}
	if (json_object_object_add(b, "type",
	    json_object_new_string("text")) != 0 ||
	    json_object_object_add(b, "text",
	    json_object_new_string_len(p, (int)len)) != 0 ||
	    (cites != NULL && json_object_object_add(b, "citations",
	    cites) != 0)) {
		json_object_put(b);
		return -1;
	}
	if (json_object_array_add(out, b) != 0) {
		json_object_put(b);
		return -1;
	}
	return 0;
}

/* the excerpt's first SRVHIST_CITED_MAX characters, whitespace folded */
static json_object *
cited_text(const char *snippet)
{
	struct buf	 b = BUF_INITIALIZER;
	json_object	*s;
	size_t		 chars = 0, i = 0;
	int		 space = 0;

	for (; snippet[i] != '\0' && chars < SRVHIST_CITED_MAX; i++) {
		unsigned char	 c = (unsigned char)snippet[i];

		if (isspace(c)) {
			space = b.len > 0;
			continue;
		}
		if (space) {
			buf_putc(&b, ' ');
			chars++;
			space = 0;
			if (chars == SRVHIST_CITED_MAX)
				break;
		}
		buf_putc(&b, (char)c);
		/* a character per lead byte, its continuation bytes with it */
		while ((unsigned char)snippet[i + 1] >= 0x80 &&
		    ((unsigned char)snippet[i + 1] & 0xc0) == 0x80)
			buf_putc(&b, snippet[++i]);
		chars++;
	}
	s = json_object_new_string_len(b.data != NULL ? b.data : "",
	    (int)b.len);
	buf_free(&b);
	return s;
}

static json_object *
citation(const struct srvhist *h, size_t n)
{
	const struct srvhist_source *s = &h->sources[n - 1];
	struct buf	 idx = BUF_INITIALIZER;
	json_object	*c;

	if ((c = json_object_new_object()) == NULL ||
	    srvhist_seal_index(&idx, s->url, n) == -1 ||
	    json_object_object_add(c, "type",
	    json_object_new_string("web_search_result_location")) != 0 ||
	    json_object_object_add(c, "cited_text", cited_text(s->snippet)) !=
	    0 ||
	    json_object_object_add(c, "url", json_object_new_string(s->url)) !=
	    0 ||
	    json_object_object_add(c, "title",
	    json_object_new_string(s->title)) != 0 ||
	    json_object_object_add(c, "encrypted_index",
	    json_object_new_string(idx.data)) != 0) {
		json_object_put(c);
		c = NULL;
	}
	buf_free(&idx);
	return c;
}

/* one [a, b] group at p; its end, or 0 when it is none */
static size_t
group(const char *t, size_t len, size_t p, const struct srvhist *h,
    struct marker *m)
{
	size_t	 v, digits;

	if (p >= len || t[p] != '[')
		return 0;
	p++;
	for (;;) {
		for (v = 0, digits = 0; p < len && isdigit((unsigned char)t[p]) &&
		    digits < 4; p++, digits++)
			v = v * 10 + (size_t)(t[p] - '0');
		if (digits == 0 || v == 0 || v > h->nsources ||
		    m->count == MAX_PER_MARKER)
			return 0;
		m->n[m->count++] = v;
		while (p < len && t[p] == ' ')
			p++;
		if (p < len && t[p] == ']')
			return p + 1;
		if (p >= len || t[p] != ',')
			return 0;
		p++;
		while (p < len && t[p] == ' ')
			p++;
	}
}

/* a marker starting at i: [n], [n][m], [n] [m], [n, m] */
static int
marker_at(const char *t, size_t len, size_t i, const struct srvhist *h,
    struct marker *m)
{
	size_t	 end, next, q;

	memset(m, 0, sizeof(*m));
	if (i > 0 && (isalnum((unsigned char)t[i - 1]) || t[i - 1] == '_' ||
	    t[i - 1] == ']' || t[i - 1] == ')'))
		return 0;
	if ((end = group(t, len, i, h, m)) == 0)
		return 0;
	for (;;) {
		for (q = end; q < len && t[q] == ' '; q++)
			;
		if (q >= len || t[q] != '[')
			break;
		if ((next = group(t, len, q, h, m)) == 0)
			break;
		end = next;
	}
	/* a link, a reference definition */
	if (end < len && (t[end] == '(' || t[end] == ':'))
		return 0;
	m->start = i;
	m->end = end;
	return 1;
}

/* where the sentence before the marker starts, not before from */
static size_t
sentence_start(const char *t, size_t from, size_t to)
{
	size_t	 i, start = from;

	for (i = from; i < to; i++) {
		if (t[i] == '\n')
			start = i + 1;
		else if ((t[i] == '.' || t[i] == '!' || t[i] == '?') &&
		    i + 1 < to && (t[i + 1] == ' ' || t[i + 1] == '\n'))
			start = i + 1;
		else if (i + 3 <= to && (memcmp(t + i, "\xe3\x80\x82", 3) ==
		    0 || memcmp(t + i, "\xef\xbc\x81", 3) == 0 ||
		    memcmp(t + i, "\xef\xbc\x9f", 3) == 0))
			start = i + 3;	/* 。！？ */
	}
	while (start < to && isspace((unsigned char)t[start]))
		start++;
	return start;
}

static json_object *
citations(const struct srvhist *h, const struct marker *m)
{
	json_object	*arr, *c;
	size_t		 i, j;

	if ((arr = json_object_new_array()) == NULL)
		return NULL;
	for (i = 0; i < m->count; i++) {
		for (j = 0; j < i && m->n[j] != m->n[i]; j++)
			;
		if (j < i)
			continue;	/* [1][1] */
		if ((c = citation(h, m->n[i])) == NULL ||
		    json_object_array_add(arr, c) != 0) {
			json_object_put(c);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

/* the cited stretch before m and the text before it, as blocks */
static int
cite(const char *t, size_t *pos, const struct marker *m,
    const struct srvhist *h, json_object *out)
{
	size_t		 end = m->start, start;
	json_object	*c;

	while (end > *pos && (t[end - 1] == ' ' || t[end - 1] == '\t'))
		end--;
	start = sentence_start(t, *pos, end);
	if (start >= end)
		return 0;		/* nothing to cite: the marker stays */
	if (start > *pos && add_block(out, t + *pos, start - *pos, NULL) == -1)
		return -1;
	if ((c = citations(h, m)) == NULL ||
	    add_block(out, t + start, end - start, c) == -1)
		return -1;
	*pos = m->end;
	return 1;
}

int
srvcite_split(const char *t, size_t len, const struct srvhist *h,
    json_object *out)
{
	struct marker	 m;
	size_t		 i, pos = 0;
	int		 fence = 0, code = 0, r;

	for (i = 0; h != NULL && h->nsources > 0 && i < len; i++) {
		if ((i == 0 || t[i - 1] == '\n') && len - i >= 3 &&
		    memcmp(t + i, "```", 3) == 0) {
			fence = !fence;
			code = 0;
			i += 2;
			continue;
		}
		if (fence)
			continue;
		if (t[i] == '`') {
			code = !code;
			continue;
		}
		if (t[i] == '\n')
			code = 0;	/* an unclosed ` ends with its line */
		if (code || t[i] != '[' || !marker_at(t, len, i, h, &m))
			continue;
		if ((r = cite(t, &pos, &m, h, out)) == -1)
			return -1;
		if (r == 1)
			i = m.end - 1;
	}
	if (pos < len || pos == 0)
		return add_block(out, t + pos, len - pos, NULL);
	return 0;
}
