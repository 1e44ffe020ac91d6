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
 * The same split as the text streams (srvcite_stream_text, aevent's text
 * filter): the text goes out as it comes except the sentence a marker
 * could still cite (from the last sentence start on, or a '[' more text
 * could make a marker), which waits for the marker or for the next
 * sentence to begin; a cited stretch goes out as its own text block with
 * its citations. The blocks are those srvcite_split makes of the whole
 * text, but for a sentence longer than SRVCITE_HOLD_MAX bytes: it is not
 * held whole, and a marker after it cites only its last part.
 *
 * Fails only when memory runs out (-1).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aevent.h"
#include "buf.h"
#include "srvcite.h"
#include "srvhist.h"
#include "util.h"

#define MAX_PER_MARKER	16
/* a sentence that has not ended after this many bytes is not held whole:
 * all but its last SRVCITE_HOLD_KEEP bytes go out, so a marker after it
 * cites those. Bounds the wait and the rescans of the held text */
#define SRVCITE_HOLD_MAX	4096
#define SRVCITE_HOLD_KEEP	512

/* where the blocks go: a JSON array (srvcite_split) or a stream */
struct cite_out {
	int	(*plain)(void *arg, const char *, size_t);
	int	(*cited)(void *arg, json_object *citations, const char *,
		    size_t);	/* citations taken */
	void	*arg;
};

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
    const struct srvhist *h, const struct cite_out *out)
{
	size_t		 end = m->start, start;
	json_object	*c;

	while (end > *pos && (t[end - 1] == ' ' || t[end - 1] == '\t'))
		end--;
	start = sentence_start(t, *pos, end);
	if (start >= end)
		return 0;		/* nothing to cite: the marker stays */
	if (start > *pos && out->plain(out->arg, t + *pos, start - *pos) == -1)
		return -1;
	if ((c = citations(h, m)) == NULL ||
	    out->cited(out->arg, c, t + start, end - start) == -1)
		return -1;
	*pos = m->end;
	return 1;
}

static int
array_plain(void *arg, const char *p, size_t len)
{
	return add_block(arg, p, len, NULL);
}

static int
array_cited(void *arg, json_object *cites, const char *p, size_t len)
{
	return add_block(arg, p, len, cites);
}

int
srvcite_split(const char *t, size_t len, const struct srvhist *h,
    json_object *arr)
{
	const struct cite_out out = { array_plain, array_cited, arr };
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
		if ((r = cite(t, &pos, &m, h, &out)) == -1)
			return -1;
		if (r == 1)
			i = m.end - 1;
	}
	if (pos < len || pos == 0)
		return add_block(arr, t + pos, len - pos, NULL);
	return 0;
}

/* ---- the same, as the text streams ----------------------------------- */

/* could more text change the marker that ends at end? (more groups
 * after blanks, or the link test of the byte after it) */
static int
marker_open(const char *t, size_t len, size_t end)
{
	size_t	 q = end;

	while (q < len && t[q] == ' ')
		q++;
	if (q >= len)
		return 1;
	if (t[q] != '[')
		return 0;
	for (q++; q < len; q++)
		if (!isdigit((unsigned char)t[q]) && t[q] != ',' && t[q] != ' ')
			return 0;
	return 1;
}

/* could the '[' at i still begin a marker once more text comes? */
static int
group_open(const char *t, size_t len, size_t i)
{
	for (i++; i < len; i++)
		if (!isdigit((unsigned char)t[i]) && t[i] != ',' && t[i] != ' ')
			return 0;
	return 1;
}

static int
stream_plain(void *arg, const char *p, size_t len)
{
	return aevent_text_out(((struct srvcite_stream *)arg)->ev, p, len);
}

static int
stream_cited(void *arg, json_object *cites, const char *p, size_t len)
{
	int	 rc;

	rc = aevent_cited(((struct srvcite_stream *)arg)->ev, cites, p, len);
	json_object_put(cites);
	return rc;
}

void
srvcite_stream_init(struct srvcite_stream *cs, const struct srvhist *h,
    struct aevent *ev)
{
	memset(cs, 0, sizeof(*cs));
	cs->h = h;
	cs->ev = ev;
}

void
srvcite_stream_free(struct srvcite_stream *cs)
{
	buf_free(&cs->text);
}

/* where a sentence held too long is cut: SRVCITE_HOLD_KEEP bytes before
 * to, moved on to the next word (a marker then cites whole words), or to
 * the next character when the run has no blank */
static size_t
hold_cut(const char *t, size_t to)
{
	size_t	 cut = to - SRVCITE_HOLD_KEEP, i;

	for (i = cut; i < to && i < cut + SRVCITE_HOLD_KEEP / 2; i++)
		if (t[i] == ' ' || t[i] == '\t')
			return i + 1;
	while (cut < to && ((unsigned char)t[cut] & 0xc0) == 0x80)
		cut++;
	return cut;
}

/*
 * The scan goes as far as the text decides (a '[' that more text could
 * make a marker, a ``` not yet whole, stops it); the text before the
 * sentence a marker could still cite goes out, as a marker cites from
 * where its sentence starts.
 */
static int
stream_scan(struct srvcite_stream *cs, int final)
{
	const struct cite_out out = { stream_plain, stream_cited, cs };
	const char	*t = cs->text.data;
	size_t		 len = cs->text.len, i, safe;
	struct marker	 m;
	int		 r;

	for (i = cs->scan; i < len; i++) {
		if ((i == 0 || t[i - 1] == '\n') && t[i] == '`') {
			if (len - i < 3 && !final)
				break;
			if (len - i >= 3 && memcmp(t + i, "```", 3) == 0) {
				cs->fence = !cs->fence;
				cs->code = 0;
				i += 2;
				continue;
			}
		}
		if (cs->fence)
			continue;
		if (t[i] == '`') {
			cs->code = !cs->code;
			continue;
		}
		if (t[i] == '\n')
			cs->code = 0;
		if (cs->code || t[i] != '[')
			continue;
		if (!marker_at(t, len, i, cs->h, &m)) {
			if (!final && group_open(t, len, i))
				break;
			continue;
		}
		if (!final && marker_open(t, len, m.end))
			break;
		if ((r = cite(t, &cs->pos, &m, cs->h, &out)) == -1)
			return -1;
		if (r == 1)
			i = m.end - 1;
	}
	cs->scan = i;
	if (final)
		safe = len;
	else {
		while (i > cs->pos && (t[i - 1] == ' ' || t[i - 1] == '\t'))
			i--;
		safe = sentence_start(t, cs->pos, i);
		if (i - safe > SRVCITE_HOLD_MAX)
			safe = hold_cut(t, i);
	}
	if (safe > cs->pos && out.plain(cs, t + cs->pos, safe - cs->pos) == -1)
		return -1;
	if (safe > cs->pos)
		cs->pos = safe;
	return 0;
}

int
srvcite_stream_text(void *arg, const char *p, size_t len, int final)
{
	struct srvcite_stream *cs = arg;
	int		 rc;

	if (cs->h == NULL || cs->h->nsources == 0)
		return aevent_text_out(cs->ev, p, len);
	if (len > 0 && buf_append(&cs->text, p, len) == -1)
		return -1;
	if (cs->text.len == 0)
		return 0;
	rc = stream_scan(cs, final);
	if (final) {
		/* the next text block starts afresh */
		buf_reset(&cs->text);
		cs->pos = cs->scan = 0;
		cs->fence = cs->code = 0;
	}
	return rc;
}
