/*
 * test_sse: the incremental SSE decoder and the event writer.
 *
 * Every transcript in tests/data/stream (upstream and Anthropic side) is
 * decoded whole, byte by byte, and split in two at every offset, with its
 * lines ending in LF, CRLF, CR and a mix of the three: all must give the
 * same events. Then the rules one by one: comments, multi-line data, the
 * event field, the optional space, unknown fields, dispatch at the end of
 * input, the size limit, a callback that stops the decoder.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sse.h"
#include "tap.h"

/* the events as text: "[event]data\n" with data's newlines as "\n" */
struct rec {
	struct buf	 b;
	size_t		 n;
	int		 stop_at;	/* -1 at this event, 0 = never */
};

static int
rec_cb(void *arg, const char *ev, size_t evlen, const char *data,
    size_t len)
{
	struct rec	*r = arg;
	size_t		 i;

	r->n++;
	buf_putc(&r->b, '[');
	buf_append(&r->b, ev, evlen);
	buf_putc(&r->b, ']');
	for (i = 0; i < len; i++) {
		if (data[i] == '\n')
			buf_puts(&r->b, "\\n");
		else if (data[i] == '\0')
			buf_puts(&r->b, "\\0");
		else
			buf_putc(&r->b, data[i]);
	}
	buf_putc(&r->b, '\n');
	if (r->stop_at != 0 && (int)r->n == r->stop_at)
		return -1;
	return 0;
}

/* decode p in pieces cut at cuts[0..ncuts); -1 on a decoder failure */
static int
decode(const char *p, size_t len, const size_t *cuts, size_t ncuts,
    struct rec *r, size_t *comments)
{
	struct sse_decoder	 d;
	size_t			 i, from = 0, to;
	int			 rv = 0;

	memset(r, 0, sizeof(*r));
	sse_decoder_init(&d);
	for (i = 0; i <= ncuts && rv == 0; i++) {
		to = i < ncuts ? cuts[i] : len;
		rv = sse_decoder_feed(&d, p + from, to - from, rec_cb, r);
		from = to;
	}
	if (rv == 0)
		rv = sse_decoder_finish(&d, rec_cb, r);
	if (comments != NULL)
		*comments = d.comments;
	sse_decoder_free(&d);
	return rv;
}

static int
decode_whole(const char *s, struct rec *r)
{
	return decode(s, strlen(s), NULL, 0, r, NULL);
}

/* ---- transcripts, however split --------------------------------------- */

static int
read_file(const char *path, struct buf *b)
{
	FILE	*f;
	char	 tmp[4096];
	size_t	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(b, tmp, n);
	fclose(f);
	return 0;
}

/* the text with every line end replaced: 0 LF, 1 CRLF, 2 CR, 3 mixed */
static void
relend(const struct buf *in, int style, struct buf *out)
{
	static const char *const ends[] = { "\n", "\r\n", "\r" };
	const char	*end;
	size_t		 i, line = 0;

	buf_reset(out);
	for (i = 0; i < in->len; i++) {
		if (in->data[i] != '\r' && in->data[i] != '\n') {
			buf_putc(out, in->data[i]);
			continue;
		}
		if (in->data[i] == '\r' && i + 1 < in->len &&
		    in->data[i + 1] == '\n')
			i++;
		end = ends[style == 3 ? line % 3 : (size_t)style];
		/* a CR followed by an LF would be one line end, not two */
		if (*end == '\n' && out->len > 0 &&
		    out->data[out->len - 1] == '\r')
			end = "\r";
		buf_puts(out, end);
		line++;
	}
}

static int
same_however_split(const struct buf *in, const struct rec *want,
    size_t *bad_at)
{
	struct rec	 r;
	size_t		 k, *cuts;
	int		 same;

	for (k = 0; k <= in->len; k++) {
		decode(in->data, in->len, &k, 1, &r, NULL);
		same = strcmp(r.b.data ? r.b.data : "",
		    want->b.data ? want->b.data : "") == 0;
		buf_free(&r.b);
		if (!same) {
			*bad_at = k;
			return 0;
		}
	}
	if ((cuts = calloc(in->len + 1, sizeof(*cuts))) == NULL)
		return 0;
	for (k = 0; k < in->len; k++)
		cuts[k] = k + 1;
	decode(in->data, in->len, cuts, in->len, &r, NULL);
	free(cuts);
	same = strcmp(r.b.data ? r.b.data : "",
	    want->b.data ? want->b.data : "") == 0;
	buf_free(&r.b);
	if (!same)
		*bad_at = in->len + 1;
	return same;
}

static void
test_transcript(const char *dir, const char *name)
{
	static const char *const style[] = { "LF", "CRLF", "CR", "mixed" };
	struct buf	 raw = BUF_INITIALIZER, in = BUF_INITIALIZER;
	struct rec	 want, got;
	char		 path[1024];
	size_t		 bad_at;
	int		 s;

	snprintf(path, sizeof(path), "%s/stream/%s", dir, name);
	if (read_file(path, &raw) == -1) {
		ok(0, "read %s", path);
		return;
	}
	relend(&raw, 0, &in);
	ok(decode(in.data, in.len, NULL, 0, &want, NULL) == 0 && want.n > 0,
	    "%s: decodes (%zu events)", name, want.n);
	for (s = 0; s < 4; s++) {
		relend(&raw, s, &in);
		decode(in.data, in.len, NULL, 0, &got, NULL);
		ok(strcmp(got.b.data, want.b.data) == 0, "%s: %s gives the "
		    "same events", name, style[s]);
		buf_free(&got.b);
		bad_at = 0;
		ok(same_however_split(&in, &want, &bad_at), "%s: %s split "
		    "anywhere and byte by byte", name, style[s]);
		if (bad_at != 0)
			printf("#   differs when split at %zu\n", bad_at);
	}
	buf_free(&want.b);
	buf_free(&raw);
	buf_free(&in);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_transcripts(const char *dir)
{
	char		 path[1024], *names[256];
	struct dirent	*de;
	DIR		*dp;
	size_t		 n = 0, i, len;

	snprintf(path, sizeof(path), "%s/stream", dir);
	if ((dp = opendir(path)) == NULL) {
		ok(0, "open %s", path);
		return;
	}
	while ((de = readdir(dp)) != NULL && n < 256) {
		len = strlen(de->d_name);
		if (len > 4 && strcmp(de->d_name + len - 4, ".sse") == 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(dp);
	qsort(names, n, sizeof(names[0]), cmp_names);
	ok(n >= 40, "found %zu transcripts", n);
	for (i = 0; i < n; i++) {
		test_transcript(dir, names[i]);
		free(names[i]);
	}
}

/* ---- the rules -------------------------------------------------------- */

struct rule {
	const char	*name;
	const char	*in;
	const char	*want;
};

static const struct rule rules[] = {
	{ "simple", "data: x\n\n", "[]x\n" },
	{ "two events", "data: a\n\ndata: b\n\n", "[]a\n[]b\n" },
	{ "multi-line data joined with LF",
	    "data: a\ndata: b\ndata: c\n\n", "[]a\\nb\\nc\n" },
	{ "one optional space stripped", "data:x\n\ndata:  y\n\n",
	    "[]x\n[] y\n" },
	{ "event field", "event: ping\ndata: {}\n\n", "[ping]{}\n" },
	{ "event field forgotten after dispatch",
	    "event: a\ndata: 1\n\ndata: 2\n\n", "[a]1\n[]2\n" },
	{ "event without data is not dispatched",
	    "event: a\n\ndata: 2\n\n", "[]2\n" },
	{ "comments ignored", ": hi\ndata: x\n: mid\n\n:\n\n", "[]x\n" },
	{ "empty line without data dispatches nothing", "\n\n\n", "" },
	{ "field without colon", "data\n\n", "[]\n" },
	{ "empty data lines", "data:\ndata:\n\n", "[]\\n\n" },
	{ "unknown fields ignored",
	    "id: 7\nretry: 10\nfoo: bar\nDATA: no\ndata: yes\n\n", "[]yes\n" },
	{ "value may contain colons", "data: a: b:c\n\n", "[]a: b:c\n" },
	{ "CRLF", "data: a\r\n\r\ndata: b\r\n\r\n", "[]a\n[]b\n" },
	{ "CR", "data: a\r\rdata: b\r\r", "[]a\n[]b\n" },
	{ "CR then LF is one line end, LF CR two",
	    "data: a\r\ndata: b\n\rdata: c\n\n", "[]a\\nb\n[]c\n" },
	{ "pending event dispatched at the end", "data: x\n", "[]x\n" },
	{ "last line without line end", "data: x\n\ndata: [DONE]",
	    "[]x\n[][DONE]\n" },
	{ "space in field name is part of it", "data : x\n\n", "" },
	{ "leading space is not a comment", " : x\ndata: y\n\n", "[]y\n" },
};

static void
test_rules(void)
{
	struct rec	 r;
	size_t		 i, k, len, comments;
	int		 same;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		decode_whole(rules[i].in, &r);
		is_str(r.b.data ? r.b.data : "", rules[i].want, "%s",
		    rules[i].name);
		buf_free(&r.b);
		/* and at every split point */
		len = strlen(rules[i].in);
		same = 1;
		for (k = 0; k <= len; k++) {
			decode(rules[i].in, len, &k, 1, &r, NULL);
			same &= strcmp(r.b.data ? r.b.data : "",
			    rules[i].want) == 0;
			buf_free(&r.b);
		}
		ok(same, "%s: split anywhere", rules[i].name);
	}

	decode(": a\n:b\r\n: c\rdata: x\n\n", 21, NULL, 0, &r, &comments);
	is_int(comments, 3, "comments counted");
	buf_free(&r.b);

	decode("data: a\0b\n\n", 11, NULL, 0, &r, NULL);
	is_str(r.b.data, "[]a\\0b\n", "NUL bytes pass through with the length");
	buf_free(&r.b);
}

static void
test_stop_and_limits(void)
{
	struct sse_decoder	 d;
	struct rec		 r;
	char			*big;
	size_t			 n = SSE_MAX_EVENT_BYTES / 8 * 9, i;
	int			 rv;

	memset(&r, 0, sizeof(r));
	r.stop_at = 2;
	sse_decoder_init(&d);
	rv = sse_decoder_feed(&d, "data: 1\n\ndata: 2\n\ndata: 3\n\n", 27,
	    rec_cb, &r);
	is_int(rv, -1, "callback -1 stops the decoder");
	is_int(r.n, 2, "no event after the stop");
	sse_decoder_free(&d);
	buf_free(&r.b);

	if ((big = malloc(n)) == NULL) {
		ok(0, "malloc");
		return;
	}
	/* one data line larger than the limit, split across feeds */
	memcpy(big, "data: ", 6);
	memset(big + 6, 'x', n - 6);
	memset(&r, 0, sizeof(r));
	sse_decoder_init(&d);
	for (rv = 0, i = 0; i < n && rv == 0; i += 65536)
		rv = sse_decoder_feed(&d, big + i, n - i < 65536 ? n - i :
		    65536, rec_cb, &r);
	is_int(rv, -1, "a line over SSE_MAX_EVENT_BYTES fails");
	sse_decoder_free(&d);

	/* many small lines adding up to more than the limit */
	sse_decoder_init(&d);
	for (i = 0; i + 1024 <= n; i += 1024) {
		memcpy(big + i, "data: ", 6);
		big[i + 1023] = '\n';
	}
	rv = sse_decoder_feed(&d, big, n - n % 1024, rec_cb, &r);
	is_int(rv, -1, "data lines adding up to the limit fail");
	is_int(r.n, 0, "nothing dispatched");
	sse_decoder_free(&d);

	/* just under the limit is fine */
	sse_decoder_init(&d);
	memcpy(big, "data: ", 6);
	memset(big + 6, 'y', SSE_MAX_EVENT_BYTES - 1);
	big[6 + SSE_MAX_EVENT_BYTES - 1] = '\n';
	big[6 + SSE_MAX_EVENT_BYTES] = '\n';
	rv = sse_decoder_feed(&d, big, SSE_MAX_EVENT_BYTES + 7, rec_cb, &r);
	ok(rv == 0 && r.n == 1, "an event just under the limit passes");
	sse_decoder_free(&d);
	buf_free(&r.b);
	free(big);
}

static void
test_writer(void)
{
	struct buf	 b = BUF_INITIALIZER;
	struct rec	 r;

	ok(sse_event_begin(&b, "ping") == 0 &&
	    buf_puts(&b, "{\"type\":\"ping\"}") == 0 &&
	    sse_event_end(&b) == 0, "write an event");
	sse_event_begin(&b, "message_stop");
	buf_puts(&b, "{\"type\":\"message_stop\"}");
	sse_event_end(&b);
	is_str(b.data, "event: ping\ndata: {\"type\":\"ping\"}\n\n"
	    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
	    "writer appends event: NAME\\ndata: JSON\\n\\n");
	decode_whole(b.data, &r);
	is_str(r.b.data, "[ping]{\"type\":\"ping\"}\n"
	    "[message_stop]{\"type\":\"message_stop\"}\n",
	    "what the writer writes, the decoder reads");
	buf_free(&r.b);
	buf_free(&b);
}

int
main(void)
{
	const char	*dir = getenv("CP_TEST_DATA");

	if (dir == NULL)
		dir = "tests/data";
	test_rules();
	test_stop_and_limits();
	test_writer();
	test_transcripts(dir);
	return tap_done();
}
