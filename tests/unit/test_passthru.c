/*
 * test_passthru: api "anthropic", the Messages API passed through.
 *
 * The stream: a recorded upstream stream (tests/data/passthru/NAME.sse),
 * with LF, CRLF and CR line ends, is fed whole, byte by byte, and split in
 * two and in three at every offset, flushed after every read as the relay
 * does. The client must get the upstream's bytes exactly, each write made
 * of whole events only, and the accounting the same whatever the split
 * (usage, stop reason, events, tool calls, text). An upstream error event
 * ends the stream as ours, with our request id, nothing after it; a
 * stream without message_stop ends with an error; an event that is not
 * JSON fails; a configured secret is masked. Then the request (model, cap,
 * attribution line, stream; count_tokens' body) and the header lines
 * (anthropic-version, anthropic-beta filtered).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aevent.h"
#include "buf.h"
#include "conf.h"
#include "errmap.h"
#include "passthru.h"
#include "secret.h"
#include "tap.h"
#include "testroute.h"
#include "xlate.h"

#define REQ_ID	"req_passtest"

struct run {
	struct aevent		 ev;
	struct passthru_stream	 st;
	struct buf		 out;
	size_t			 emits;
	int			 partial;	/* an emit ended inside an event */
	int			 last_seen;
	int			 fed_fail;
};

/* whole events end in a blank line (LF, CRLF or CR) */
static int
ends_whole(const char *p, size_t len)
{
	if (len >= 2 && p[len - 1] == '\n' && p[len - 2] == '\n')
		return 1;
	if (len >= 2 && p[len - 1] == '\r' && p[len - 2] == '\r')
		return 1;
	if (len >= 3 && p[len - 1] == '\n' && p[len - 2] == '\r' &&
	    p[len - 3] == '\n')
		return 1;
	if (len >= 3 && p[len - 1] == '\r' && p[len - 2] == '\n' &&
	    p[len - 3] == '\r')
		return 1;
	/* the LF of a CRLF whose CR ended the last write */
	return len == 1 && p[0] == '\n';
}

static int
emit_cb(void *arg, const char *p, size_t len, int last)
{
	struct run	*r = arg;

	r->emits++;
	if (last)
		r->last_seen = 1;
	if (len > 0 && !ends_whole(p, len) && !(len > 1 && p[0] == '\n' &&
	    ends_whole(p + 1, len - 1)))
		r->partial = 1;
	buf_append(&r->out, p, len);
	return 0;
}

static void
run_init(struct run *r)
{
	memset(r, 0, sizeof(*r));
	aevent_init(&r->ev, 64, emit_cb, r);
	passthru_stream_init(&r->st, &r->ev, "testprov", REQ_ID);
}

static void
run_free(struct run *r)
{
	passthru_stream_free(&r->st);
	aevent_free(&r->ev);
	buf_free(&r->out);
}

/* one upstream read, flushed as relay_data does */
static void
feed(struct run *r, const char *p, size_t len)
{
	if (passthru_stream_bytes(&r->st, p, len) == -1)
		r->fed_fail = 1;
	aevent_emit(&r->ev, 0);
}

/* the stream fed at the cuts (sorted offsets, ncut of them), finished */
static void
run_split(struct run *r, const char *s, size_t len, const size_t *cut,
    size_t ncut)
{
	size_t	 from = 0, i;

	run_init(r);
	for (i = 0; i <= ncut; i++) {
		size_t to = i < ncut ? cut[i] : len;

		if (to > from)
			feed(r, s + from, to - from);
		from = to;
	}
	if (r->fed_fail)
		passthru_stream_error(&r->st, "api_error", "bad", NULL);
	else
		passthru_stream_finish(&r->st);
}

static char *
slurp(const char *name, size_t *len)
{
	const char	*dir = getenv("CP_TEST_DATA");
	char		 path[1024];
	FILE		*f;
	char		*p;
	long		 n;

	snprintf(path, sizeof(path), "%s/passthru/%s", dir ? dir :
	    "tests/data", name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	if (p != NULL && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	if (p != NULL) {
		p[n] = '\0';
		*len = (size_t)n;
	}
	return p;
}

/* s with every LF as eol */
static char *
with_eol(const char *s, size_t len, const char *eol, size_t *outlen)
{
	struct buf	 b = BUF_INITIALIZER;
	size_t		 i;

	for (i = 0; i < len; i++)
		if (s[i] == '\n')
			buf_puts(&b, eol);
		else
			buf_putc(&b, s[i]);
	*outlen = b.len;
	return buf_steal(&b);
}

/* what a clean run of the tool_use stream must have read */
static int
accounting_ok(const struct run *r)
{
	const struct aevent *a = &r->ev;

	return a->started && a->ends == 1 && a->sum.input == 472 &&
	    a->sum.cache_read == 128 && a->sum.output == 89 &&
	    a->input_estimate == 472 && strcmp(r->st.stop_reason,
	    "tool_use") == 0 && r->st.stopped && !r->st.failed &&
	    r->st.tool_calls == 1 && r->st.events == 18 && r->st.pings == 1 &&
	    a->text_chars == strlen("Let me check \xe2\x80\x94 "
	    "\xc3\xa9t\xc3\xa9 in Oslo.") - 4;
}

static void
test_splits(const char *what, const char *s, size_t len)
{
	struct run	 r;
	size_t		 i, j, cut[2], bad = 0, badacct = 0, badwhole = 0;
	size_t		 step;

	run_split(&r, s, len, NULL, 0);
	ok(r.out.len == len && memcmp(r.out.data, s, len) == 0,
	    "%s whole: the upstream's bytes", what);
	ok(accounting_ok(&r), "%s whole: usage, stop reason, counts read",
	    what);
	/* message_stop ends the client's stream in the same write, unless
	 * its last line end is a CR a LF may still follow */
	ok(r.last_seen && !r.partial && r.emits ==
	    (strcmp(what, "CR") == 0 ? 2 : 1),
	    "%s whole: one write of whole events and the end", what);
	run_free(&r);

	/* byte by byte */
	run_init(&r);
	for (i = 0; i < len; i++)
		feed(&r, s + i, 1);
	passthru_stream_finish(&r.st);
	ok(r.out.len == len && memcmp(r.out.data, s, len) == 0 &&
	    accounting_ok(&r) && !r.partial,
	    "%s byte by byte: the same bytes and accounting", what);
	run_free(&r);

	/* in two at every offset */
	for (i = 0; i <= len; i++) {
		cut[0] = i;
		run_split(&r, s, len, cut, 1);
		if (r.out.len != len || memcmp(r.out.data, s, len) != 0)
			bad++;
		if (!accounting_ok(&r))
			badacct++;
		if (r.partial)
			badwhole++;
		run_free(&r);
	}
	ok(bad == 0, "%s split in two anywhere: the bytes (%zu differ)",
	    what, bad);
	ok(badacct == 0, "%s split in two anywhere: the accounting (%zu "
	    "differ)", what, badacct);
	ok(badwhole == 0, "%s split in two anywhere: whole events per write "
	    "(%zu not)", what, badwhole);

	/* in three, at every pair of offsets a step apart */
	bad = 0;
	step = len / 97 + 1;
	for (i = 0; i <= len; i += step)
		for (j = i; j <= len; j += 13) {
			cut[0] = i;
			cut[1] = j;
			run_split(&r, s, len, cut, 2);
			if (r.out.len != len || memcmp(r.out.data, s, len) !=
			    0 || !accounting_ok(&r) || r.partial)
				bad++;
			run_free(&r);
		}
	ok(bad == 0, "%s split in three: bytes, accounting, whole events "
	    "(%zu differ)", what, bad);
}

/* the upstream's error event: the bytes before it, then ours */
static void
test_error_event(void)
{
	static const char tail[] = "event: error\ndata: {\"type\":\"error\","
	    "\"error\":{\"type\":\"overloaded_error\",\"message\":"
	    "\"Overloaded\"},\"request_id\":\"" REQ_ID "\"}\n\n";
	struct run	 r;
	char		*s, *head;
	size_t		 len, hlen, i, bad = 0;
	size_t		 cut[1];

	if ((s = slurp("error_midway.sse", &len)) == NULL) {
		ok(0, "error_midway.sse readable");
		return;
	}
	head = strstr(s, "event: error");
	hlen = (size_t)(head - s);
	for (i = 0; i <= len; i++) {
		cut[0] = i;
		run_split(&r, s, len, cut, 1);
		if (r.out.len != hlen + strlen(tail) ||
		    memcmp(r.out.data, s, hlen) != 0 ||
		    memcmp(r.out.data + hlen, tail, strlen(tail)) != 0 ||
		    !r.st.failed || !r.last_seen)
			bad++;
		if (i == len / 2) {
			struct buf b = BUF_INITIALIZER;

			buf_append(&b, r.out.data + hlen, r.out.len - hlen);
			is_str(b.data, tail, "error: ours, with our request id, "
			    "nothing after");
			buf_free(&b);
			is_str(r.st.stop_reason, "", "error: no stop reason");
		}
		run_free(&r);
	}
	ok(bad == 0, "error split anywhere: the same (%zu differ)", bad);
	free(s);
}

static void
test_endings(void)
{
	struct run	 r;
	static const char start[] = "event: message_start\ndata: {\"type\":"
	    "\"message_start\",\"message\":{\"usage\":{\"input_tokens\":7,"
	    "\"output_tokens\":1}}}\n\n";
	static const char text[] = "event: content_block_delta\ndata: "
	    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
	    "\"text_delta\",\"text\":\"x\"}}\n\n";

	/* cut short: an error event of ours after what came */
	run_init(&r);
	feed(&r, start, strlen(start));
	feed(&r, text, strlen(text));
	feed(&r, "event: content_block_de", 23);	/* never completed */
	passthru_stream_finish(&r.st);
	ok(r.out.len > strlen(start) + strlen(text) &&
	    memcmp(r.out.data, start, strlen(start)) == 0 &&
	    strstr(r.out.data, "event: error\n") != NULL &&
	    strstr(r.out.data, "before message_stop") != NULL &&
	    strstr(r.out.data, "content_block_de\n") == NULL,
	    "no message_stop: what came whole, then an error event");
	ok(r.ev.started && r.ev.ends == 0 && r.ev.input_estimate == 7,
	    "no message_stop: the estimate from message_start kept");
	run_free(&r);

	/* not JSON */
	run_init(&r);
	feed(&r, start, strlen(start));
	feed(&r, "event: content_block_delta\ndata: {nope\n\n", 40);
	ok(r.fed_fail && strstr(r.st.error, "not JSON") != NULL,
	    "an event that is not JSON fails the stream: %s", r.st.error);
	ok(r.out.len == strlen(start), "... and is not written");
	run_free(&r);

	/* a ping of ours falls between events */
	run_init(&r);
	feed(&r, start, strlen(start));
	feed(&r, text, 30);
	passthru_stream_ping(&r.st);
	feed(&r, text + 30, strlen(text) - 30);
	ok(strstr(r.out.data, "\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\n"
	    "event: content_block_delta") != NULL,
	    "a ping goes between two events, never into one");
	run_free(&r);
}

/* the review's cases: nothing after the end, the upstream's error type
 * and words checked, a held secret's beginning left out at a failure,
 * empty deltas not held, pings not progress */
static void
test_after_end(void)
{
	static const char key[] = "upstream-secret-0123456789ABCDEF";
	static const char start[] = "event: message_start\ndata: {\"type\":"
	    "\"message_start\",\"message\":{\"usage\":{\"input_tokens\":7,"
	    "\"output_tokens\":1}}}\n\n";
	static const char stop[] = "event: message_stop\ndata: {\"type\":"
	    "\"message_stop\"}\n\n";
	static const char ping[] = "event: ping\ndata: {\"type\":\"ping\"}\n\n";
	static const char empty[] = "event: content_block_delta\ndata: "
	    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
	    "\"text_delta\",\"text\":\"\"}}\n\n";
	struct buf	 ev = BUF_INITIALIZER;
	struct run	 r;
	size_t		 len, i;
	int		 n;

	secret_add(key, strlen(key));

	run_init(&r);
	feed(&r, start, strlen(start));
	feed(&r, stop, strlen(stop));
	len = r.out.len;
	passthru_stream_ping(&r.st);
	passthru_stream_error(&r.st, "timeout_error", "idle", NULL);
	passthru_stream_finish(&r.st);
	ok(r.last_seen && r.out.len == len && strstr(r.out.data,
	    "event: ping") == NULL && strstr(r.out.data, "event: error") ==
	    NULL, "after message_stop: no ping, no error, the end written");
	run_free(&r);

	run_init(&r);
	feed(&r, start, strlen(start));
	buf_printf(&ev, "event: error\ndata: {\"type\":\"error\",\"error\":"
	    "{\"type\":\"%s\",\"message\":\"", key);
	for (i = 0; i < 505; i++)
		buf_putc(&ev, 'w');
	buf_printf(&ev, "%s\"}}\n\n", key);
	feed(&r, ev.data, ev.len);
	ok(strstr(r.out.data, "upstream-sec") == NULL &&
	    strstr(r.out.data, "\"type\":\"api_error\"") != NULL,
	    "an upstream error's type not Anthropic's is api_error; its "
	    "words masked whole, then cut");
	len = r.out.len;
	passthru_stream_ping(&r.st);
	ok(r.out.len == len, "no ping after the upstream's error");
	run_free(&r);

	/* a delta ending in most of the key, then the stream is cut */
	run_init(&r);
	feed(&r, start, strlen(start));
	buf_reset(&ev);
	buf_printf(&ev, "event: content_block_delta\ndata: {\"type\":"
	    "\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
	    "\"text_delta\",\"text\":\"my key is %.20s\"}}\n\n", key);
	feed(&r, ev.data, ev.len);
	for (i = 0; i < 1000; i++)
		feed(&r, empty, strlen(empty));
	ok(r.st.held_raw.len < 2 * ev.len,
	    "empty deltas do not grow the hold (%zu bytes held)",
	    r.st.held_raw.len);
	passthru_stream_finish(&r.st);
	ok(strstr(r.out.data, "upstream-secret-0123") == NULL &&
	    strstr(r.out.data, "event: error") != NULL,
	    "a cut stream: a held secret's beginning is left out, then the "
	    "error");
	run_free(&r);

	run_init(&r);
	feed(&r, start, strlen(start));
	n = passthru_stream_bytes(&r.st, ping, strlen(ping));
	is_int(n, 0, "an upstream ping is not progress");
	run_free(&r);

	buf_free(&ev);
	secret_clear();
}

static void
test_secret(void)
{
	static const char key[] = "upstream-secret-0123456789";
	struct run	 r;
	struct buf	 s = BUF_INITIALIZER;

	secret_add(key, strlen(key));
	buf_printf(&s, "event: content_block_delta\ndata: {\"type\":"
	    "\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
	    "\"text_delta\",\"text\":\"key %s.\"}}\n\n", key);
	run_init(&r);
	feed(&r, s.data, 20);
	feed(&r, s.data + 20, s.len - 20);
	ok(strstr(r.out.data, key) == NULL &&
	    strstr(r.out.data, "\"key ***.\"") != NULL,
	    "a configured secret in an event is masked");
	run_free(&r);
	buf_free(&s);

	/* split over two deltas (at every offset of the key): masked as
	 * one delta; at the block's stop what was held goes out */
	{
		static const char stop[] = "event: content_block_stop\ndata: "
		    "{\"type\":\"content_block_stop\",\"index\":0}\n\n";
		size_t	 k, bad = 0;

		for (k = 1; k < strlen(key); k++) {
			buf_reset(&s);
			buf_printf(&s, "event: content_block_delta\ndata: "
			    "{\"type\":\"content_block_delta\",\"index\":0,"
			    "\"delta\":{\"type\":\"text_delta\",\"text\":"
			    "\"key %.*s\"}}\n\n", (int)k, key);
			buf_printf(&s, "event: content_block_delta\ndata: "
			    "{\"type\":\"content_block_delta\",\"index\":0,"
			    "\"delta\":{\"type\":\"text_delta\",\"text\":"
			    "\"%s.\"}}\n\n", key + k);
			buf_puts(&s, stop);
			run_init(&r);
			feed(&r, s.data, s.len);
			passthru_stream_error(&r.st, "api_error", "x", NULL);
			if (strstr(r.out.data, "\"text\":\"key ***.\"}}\n\n"
			    "event: content_block_stop") == NULL ||
			    strstr(r.out.data, key + k) != NULL)
				bad++;
			run_free(&r);
		}
		ok(bad == 0, "a secret split over two deltas anywhere is "
		    "masked (%zu not)", bad);

		/* its beginning, then something else: as they came */
		buf_reset(&s);
		buf_printf(&s, "event: content_block_delta\ndata: {\"type\":"
		    "\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
		    "\"text_delta\",\"text\":\"a %.6s\"}}\n\n", key);
		buf_printf(&s, "event: content_block_delta\ndata: {\"type\":"
		    "\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
		    "\"text_delta\",\"text\":\"-and-more\"}}\n\n");
		buf_puts(&s, stop);
		run_init(&r);
		feed(&r, s.data, 60);
		feed(&r, s.data + 60, s.len - 60);
		passthru_stream_finish(&r.st);
		ok(r.out.len > s.len && memcmp(r.out.data, s.data, s.len) == 0,
		    "a secret's beginning and no secret: the bytes as they came");
		run_free(&r);
		buf_free(&s);
	}
	secret_clear();
}

static void
test_request(void)
{
	struct route	 rt;
	struct opts	 o = { .cap = 1000, .remote_id = "remote-x" };
	struct xlate_err err;
	json_object	*req, *up, *v;

	route_init(&rt, &o);
	req = json_tokener_parse("{\"model\":\"claude-x\",\"max_tokens\":32000,"
	    "\"stream\":false,\"temperature\":1,\"system\":[{\"type\":\"text\","
	    "\"text\":\"x-anthropic-billing-header: cc_version=1;\\nBe "
	    "brief.\",\"cache_control\":{\"type\":\"ephemeral\"}}],"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
	    "\"tools\":[{\"name\":\"t\",\"input_schema\":{\"$schema\":\"s\"}}]}");
	up = passthru_req(req, &rt.r, 1, REQ_ID, &err);
	ok(up != NULL, "request built");
	is_str(json_object_to_json_string_ext(up, JSON_C_TO_STRING_PLAIN),
	    "{\"temperature\":1,\"messages\":[{\"role\":\"user\",\"content\":"
	    "\"hi\"}],\"tools\":[{\"name\":\"t\",\"input_schema\":{\"$schema\":"
	    "\"s\"}}],\"model\":\"remote-x\",\"system\":[{\"type\":\"text\","
	    "\"text\":\"Be brief.\",\"cache_control\":{\"type\":\"ephemeral\"}}],"
	    "\"max_tokens\":1000,\"stream\":true}",
	    "request: model, cap, attribution line, stream; the rest as it was");
	json_object_put(up);

	o.keep_attribution = 1;
	route_init(&rt, &o);
	up = passthru_req(req, &rt.r, 0, REQ_ID, &err);
	ok(up != NULL && json_object_object_get_ex(up, "system", &v) &&
	    strstr(json_object_to_json_string(v), "billing") != NULL &&
	    !json_object_object_get_ex(up, "stream", NULL),
	    "strip_attribution off keeps the line; not streaming, no stream");
	json_object_put(up);

	up = passthru_count_req(req, &rt.r, &err);
	ok(up != NULL && !json_object_object_get_ex(up, "max_tokens", NULL) &&
	    !json_object_object_get_ex(up, "stream", NULL) &&
	    !json_object_object_get_ex(up, "temperature", NULL) &&
	    json_object_object_get_ex(up, "tools", NULL),
	    "count_tokens: no max_tokens, stream or sampling; tools kept");
	json_object_put(up);
	json_object_put(req);

	req = json_tokener_parse("{\"model\":\"claude-x\",\"max_tokens\":\"a\","
	    "\"messages\":[]}");
	ok(passthru_req(req, &rt.r, 0, REQ_ID, &err) == NULL &&
	    err.status == 400 && strstr(err.message, "max_tokens") != NULL,
	    "a bad max_tokens: 400 naming it (%s)", err.message);
	json_object_put(req);
}

static void
test_headers(void)
{
	struct conf_provider p;
	struct buf	 b = BUF_INITIALIZER;
	char		*betas[] = { "b-one", "b-two" };
	static const char beta[] = " b-one, other ,b-two,,";

	memset(&p, 0, sizeof(p));
	ok(passthru_headers(NULL, 0, beta, strlen(beta), &p, &b) == 0 &&
	    b.len == sizeof("anthropic-version: 2023-06-01") +
	    sizeof("anthropic-beta: b-one,other,b-two") &&
	    strcmp(b.data, "anthropic-version: 2023-06-01") == 0 &&
	    strcmp(b.data + strlen(b.data) + 1,
	    "anthropic-beta: b-one,other,b-two") == 0,
	    "headers: the default version, every beta when none listed");
	buf_reset(&b);
	p.betas = betas;
	p.nbetas = 2;
	p.betas_listed = 1;
	ok(passthru_headers("2099-01-01", 10, beta, strlen(beta), &p,
	    &b) == 0 && strcmp(b.data, "anthropic-version: 2099-01-01") ==
	    0 && strcmp(b.data + strlen(b.data) + 1,
	    "anthropic-beta: b-one,b-two") == 0,
	    "headers: the client's version; betas filtered by the list");
	buf_reset(&b);
	ok(passthru_headers("x\r\ny: z", 7, "other", 5, &p, &b) == 0 &&
	    b.len == sizeof("anthropic-version: 2023-06-01"),
	    "headers: a version with control bytes replaced; none left: no "
	    "anthropic-beta");
	buf_free(&b);
}

static void
test_errors(void)
{
	struct xlate_err err;
	static const char over[] = "{\"type\":\"error\",\"error\":{\"type\":"
	    "\"overloaded_error\",\"message\":\"Overloaded\\nnow\"}}";
	static const char auth[] = "{\"type\":\"error\",\"error\":{\"type\":"
	    "\"authentication_error\",\"message\":\"invalid x-api-key\"}}";

	errmap_anthropic(529, over, strlen(over), "p", &err);
	ok(err.status == 529 && strcmp(err.type, "overloaded_error") == 0 &&
	    strcmp(err.message, "Overloaded now") == 0,
	    "errmap_anthropic: its type and words, on one line");
	errmap_anthropic(401, auth, strlen(auth), "p", &err);
	ok(err.status == 502, "errmap_anthropic: our key refused is ours "
	    "(%d %s)", err.status, err.message);
	errmap_anthropic(400, "<html>", 6, "p", &err);
	ok(err.status == 400 && strcmp(err.type, "invalid_request_error") ==
	    0, "errmap_anthropic: another body as errmap_http words it");
}

int
main(void)
{
	char	*s, *v;
	size_t	 len, vlen;

	if ((s = slurp("tool_use.sse", &len)) == NULL) {
		ok(0, "tool_use.sse readable");
		return tap_done();
	}
	test_splits("LF", s, len);
	v = with_eol(s, len, "\r\n", &vlen);
	test_splits("CRLF", v, vlen);
	free(v);
	v = with_eol(s, len, "\r", &vlen);
	test_splits("CR", v, vlen);
	free(v);
	free(s);
	test_error_event();
	test_endings();
	test_secret();
	test_after_end();
	test_request();
	test_headers();
	test_errors();
	return tap_done();
}
