/*
 * test_srvcite: [n] markers in an answer become cited text blocks; text
 * that only looks like a marker stays as it is.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "aevent.h"
#include "buf.h"
#include "conf.h"
#include "srvcite.h"
#include "srvhist.h"
#include "tap.h"

static struct srvhist	 h;
static char		 url1[] = "https://one.example/", url2[] = "https://two.example/";
static char		 t1[] = "One", t2[] = "Two", none[] = "";
static char		 s1[] = "  An excerpt\nthat is   long enough to be cut at one "
			    "hundred and fifty characters, which is what Anthropic "
			    "allows in cited_text and not one more character than that.";
static char		 s2[] = "Short é excerpt";

/* the blocks as "text|n,m" lines: each block's text and its citations */
static void
render(json_object *arr, struct buf *out)
{
	json_object	*b, *cites, *c;
	size_t		 i, j;

	for (i = 0; i < json_object_array_length(arr); i++) {
		b = json_object_array_get_idx(arr, i);
		buf_printf(out, "%s%s", i ? "\n" : "",
		    json_object_get_string(json_object_object_get(b, "text")));
		if (!json_object_object_get_ex(b, "citations", &cites))
			continue;
		buf_puts(out, "|");
		for (j = 0; j < json_object_array_length(cites); j++) {
			c = json_object_array_get_idx(cites, j);
			buf_printf(out, "%s%s", j ? "," : "",
			    strcmp(json_object_get_string(json_object_object_get(c,
			    "url")), url1) == 0 ? "1" : "2");
		}
	}
}

static int
collect(void *arg, const char *p, size_t len, int last)
{
	(void)last;
	return buf_append(arg, p, len);
}

/* a sentence that never ends is not held whole as it streams: what waits
 * stays under the bound, and a marker after it still cites its end */
static void
long_sentence(void)
{
	struct aevent		 ev;
	struct srvcite_stream	 cs;
	struct buf		 wire = BUF_INITIALIZER, text = BUF_INITIALIZER;
	size_t			 i, most = 0, fed = 0;
	const char		*piece = "words ";

	aevent_init(&ev, 0, collect, &wire);
	srvcite_stream_init(&cs, &h, &ev);
	aevent_text_filter(&ev, srvcite_stream_text, &cs);
	aevent_message_start(&ev, "msg_test", "m", 1);
	aevent_block_start(&ev, "text", NULL, NULL);
	for (i = 0; i < 4000; i++) {
		buf_puts(&text, piece);
		aevent_text(&ev, piece, strlen(piece));
		fed += strlen(piece);
		if (fed - cs.pos > most)
			most = fed - cs.pos;
	}
	ok(most <= 4096 + strlen(piece), "24000 bytes without a sentence end: "
	    "at most %zu held", most);
	ok(cs.pos > 20000, "... and the rest written (%zu)", cs.pos);
	aevent_text(&ev, "end [1]. Done.", 14);
	aevent_block_stop(&ev, NULL, 0);
	aevent_emit(&ev, 1);
	ok(wire.data != NULL && strstr(wire.data, "\"citations_delta\"") !=
	    NULL, "the marker after it still cites");
	ok(wire.data != NULL && strstr(wire.data, "[1]") == NULL,
	    "... and is taken out");
	srvcite_stream_free(&cs);
	aevent_free(&ev);
	buf_free(&wire);
	buf_free(&text);
}

static const struct {
	const char	*in, *out, *why;
} cases[] = {
	{ "No markers here.", "No markers here.", "nothing cited: one block" },
	{ "Paris is big [1].", "Paris is big|1\n.", "a marker closes its sentence" },
	{ "First sentence. Paris is big [1]. More.",
	  "First sentence. \nParis is big|1\n. More.", "from the start of the sentence" },
	{ "A [1] and b [2].", "A|1\n \nand b|2\n.", "two in one sentence" },
	{ "Both [1][2].", "Both|1,2\n.", "adjacent markers cite both" },
	{ "Both [1, 2] here.", "Both|1,2\n here.", "a list" },
	{ "Both [1] [2].", "Both|1,2\n.", "markers a blank apart" },
	{ "Twice [1][1].", "Twice|1\n.", "one citation per result" },
	{ "Line one\nLine two [2]", "Line one\n\nLine two|2", "a line starts a sentence" },
	{ "Nine [9].", "Nine [9].", "a number that names no result" },
	{ "Zero [0].", "Zero [0].", "zero" },
	{ "x = a[1] + b[2]", "x = a[1] + b[2]", "an index" },
	{ "See [1](http://x) or [2]: def", "See [1](http://x) or [2]: def", "links and definitions" },
	{ "Code `v[1]` stays.", "Code `v[1]` stays.", "inline code" },
	{ "```\narr[1] = 2 [1]\n```\nDone [1].", "```\narr[1] = 2 [1]\n```\n\nDone|1\n.", "a fenced block" },
	{ "[1] starts it.", "[1] starts it.", "nothing before it to cite" },
	{ "Empty [ 1 ] and [1a] stay.", "Empty [ 1 ] and [1a] stay.", "malformed" },
	{ "日本語の文。東京は大きい[1]。", "日本語の文。\n東京は大きい|1\n。", "a CJK full stop" },
};

int
main(void)
{
	static struct conf	 c;
	struct srvhist_source	 src[2] = {
		{ url1, t1, NULL, s1, 1 }, { url2, t2, NULL, s2, 1 },
	};
	json_object	*arr, *cite, *b;
	struct buf	 got = BUF_INITIALIZER;
	const char	*ct;
	size_t		 i;

	c.ak = "citation-test-key-0123";
	conf = &c;
	h.sources = src;
	h.nsources = 2;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		arr = json_object_new_array();
		buf_reset(&got);
		ok(srvcite_split(cases[i].in, strlen(cases[i].in), &h, arr) == 0,
		    "split: %s", cases[i].why);
		render(arr, &got);
		is_str(got.data, cases[i].out, "... %s", cases[i].why);
		json_object_put(arr);
	}

	arr = json_object_new_array();
	srvcite_split("A claim [1] and [2].", 20, &h, arr);
	b = json_object_array_get_idx(arr, 0);
	cite = json_object_array_get_idx(json_object_object_get(b, "citations"), 0);
	is_str(json_object_get_string(json_object_object_get(cite, "type")),
	    "web_search_result_location", "the citation's type");
	is_str(json_object_get_string(json_object_object_get(cite, "title")), "One",
	    "its title");
	ct = json_object_get_string(json_object_object_get(cite, "cited_text"));
	ok(strncmp(ct, "An excerpt that is long enough", 30) == 0,
	    "cited_text: the excerpt, blanks folded: %s", ct);
	is_int(strlen(ct), 150, "at most 150 characters");
	ok(strncmp(json_object_get_string(json_object_object_get(cite,
	    "encrypted_index")), "cpi1", 4) == 0, "an encrypted_index of ours");
	cite = json_object_array_get_idx(json_object_object_get(
	    json_object_array_get_idx(arr, 2), "citations"), 0);
	is_str(json_object_get_string(json_object_object_get(cite, "cited_text")),
	    "Short é excerpt", "a short excerpt whole");
	json_object_put(arr);

	arr = json_object_new_array();
	h.nsources = 0;
	srvcite_split("No results [1].", 15, &h, arr);
	buf_reset(&got);
	render(arr, &got);
	is_str(got.data, "No results [1].", "no results: markers are text");
	json_object_put(arr);
	h.nsources = 2;
	long_sentence();
	(void)none;
	buf_free(&got);
	return tap_done();
}
