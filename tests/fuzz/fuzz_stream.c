/*
 * fuzz_stream: upstream SSE bytes -> sse decoder -> stream state machine
 * -> Anthropic events, the way messages.c relays a stream.
 *
 * Pass 1, the decoder alone: the input decoded in one piece and in many
 * pieces must give the same events (sse.c promises the split does not
 * matter).
 * Pass 2, the relay: the input fed in pieces (upstream reads), each
 * followed by stream_flush; every SSE event goes to stream_feed, a failure
 * stops the feed and ends the stream with stream_error, a clean end runs
 * sse_decoder_finish and stream_finish (the emit marked last); a
 * comment line (an upstream keep-alive) stands in for the ping timer. The
 * emit callback checks every byte it is given: whole events
 * "event: NAME\ndata: JSON\n\n", the JSON an object whose type is NAME,
 * and the order DESIGN.md section 5 promises (message_start first, blocks
 * indexed 0, 1, 2... one open at a time, deltas that fit their block, a
 * signature before a thinking block stops, tool_use input {}, no open
 * block at message_delta, message_stop right after it, nothing after
 * message_stop or error, and one of the two at the end); token counts
 * are never negative.
 * A configured secret (FUZZ_SECRET, also in sse.dict) never appears in
 * the text or thinking of a block, however the chunks cut it.
 * Pass 3: the same with the client gone at some emit: nothing may be
 * emitted after a failed emit.
 */
#include <ctype.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "fuzz.h"
#include "secret.h"
#include "sse.h"
#include "stream.h"

#define FUZZ_SECRET	"fuzzkey!"

/* ---- pass 1: the decoder's events, whole and split -------------------- */

static int
record_event(void *arg, const char *ev, size_t evlen, const char *data,
    size_t len)
{
	struct buf	*b = arg;

	buf_printf(b, "%zu:", evlen);
	buf_append(b, ev, evlen);
	buf_printf(b, "%zu:", len);
	buf_append(b, data, len);
	return 0;
}

static void
decode_twice(const uint8_t *data, size_t len)
{
	struct sse_decoder	 d1, d2;
	struct buf		 e1 = BUF_INITIALIZER, e2 = BUF_INITIALIZER;
	uint64_t		 seed = fuzz_seed(data, len);
	size_t			 pos, k;
	int			 r1, r2 = 0;

	sse_decoder_init(&d1);
	r1 = sse_decoder_feed(&d1, (const char *)data, len, record_event, &e1);
	if (r1 == 0)
		r1 = sse_decoder_finish(&d1, record_event, &e1);

	sse_decoder_init(&d2);
	for (pos = 0; pos < len && r2 == 0; pos += k) {
		k = fuzz_piece(&seed, len - pos);
		r2 = sse_decoder_feed(&d2, (const char *)data + pos, k,
		    record_event, &e2);
	}
	if (r2 == 0)
		r2 = sse_decoder_finish(&d2, record_event, &e2);

	FUZZ_CHECK(r1 == r2, "whole: %d, in pieces: %d", r1, r2);
	FUZZ_CHECK(e1.len == e2.len && (e1.len == 0 ||
	    memcmp(e1.data, e2.data, e1.len) == 0),
	    "the split changed the events:\n%s\n---\n%s",
	    e1.data ? e1.data : "", e2.data ? e2.data : "");
	FUZZ_CHECK(d1.comments == d2.comments, "comments %zu vs %zu",
	    d1.comments, d2.comments);
	sse_decoder_free(&d1);
	sse_decoder_free(&d2);
	buf_free(&e1);
	buf_free(&e2);
}

/* ---- the Anthropic side: what a client may rely on --------------------- */

struct check {
	int	 started;	/* message_start seen */
	int	 ended;		/* message_stop or error seen */
	int	 delta_seen;	/* message_delta seen */
	int	 open;		/* open block index, -1 none */
	int	 next;		/* next block index */
	char	 kind[16];	/* open block's type */
	int	 sig;		/* the open block has its signature */
	size_t	 events;
	size_t	 bytes;
	struct buf text;	/* the open block's text or thinking */
};

static const char *
jstr(json_object *o, const char *k)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static json_object *
jobj(json_object *o, const char *k)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

static int
jint(json_object *o, const char *k, int64_t *out)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_int64(v);
	return 0;
}

static void
check_index(json_object *o, int want, const char *ev)
{
	int64_t	 idx;

	FUZZ_CHECK(jint(o, "index", &idx) == 0, "%s without index", ev);
	FUZZ_CHECK(want >= 0 && idx == want, "%s index %lld, open block %d",
	    ev, (long long)idx, want);
}

static void
check_usage(json_object *o, const char *ev)
{
	json_object	*u = jobj(o, "usage");
	int64_t		 v;

	FUZZ_CHECK(u != NULL, "%s without usage", ev);
	FUZZ_CHECK(jint(u, "input_tokens", &v) == 0 && v >= 0,
	    "%s: input_tokens", ev);
	FUZZ_CHECK(jint(u, "output_tokens", &v) == 0 && v >= 0,
	    "%s: output_tokens", ev);
	FUZZ_CHECK(jint(u, "cache_read_input_tokens", &v) == -1 || v >= 0,
	    "%s: cache_read_input_tokens", ev);
}

static int
valid_tool_id(const char *id)
{
	if (id == NULL || *id == '\0')
		return 0;
	for (; *id; id++)
		if (!isalnum((unsigned char)*id) && *id != '_' && *id != '-')
			return 0;
	return 1;
}

static void
check_block_start(struct check *c, json_object *o)
{
	json_object	*cb, *in;
	const char	*type;

	FUZZ_CHECK(c->started, "content_block_start before message_start");
	FUZZ_CHECK(c->open == -1, "content_block_start while %d is open",
	    c->open);
	FUZZ_CHECK(!c->delta_seen, "content_block_start after message_delta");
	check_index(o, c->next, "content_block_start");
	c->open = c->next++;
	c->sig = 0;
	FUZZ_CHECK((cb = jobj(o, "content_block")) != NULL,
	    "content_block_start without content_block");
	type = jstr(cb, "type");
	FUZZ_CHECK(type != NULL && (strcmp(type, "text") == 0 ||
	    strcmp(type, "thinking") == 0 || strcmp(type, "tool_use") == 0),
	    "content block type %s", type ? type : "(none)");
	strlcpy(c->kind, type, sizeof(c->kind));
	if (strcmp(type, "tool_use") == 0) {
		FUZZ_CHECK((in = jobj(cb, "input")) != NULL &&
		    json_object_object_length(in) == 0,
		    "tool_use input is not {}");
		FUZZ_CHECK(valid_tool_id(jstr(cb, "id")), "tool id %s",
		    jstr(cb, "id") ? jstr(cb, "id") : "(none)");
		FUZZ_CHECK(jstr(cb, "name") != NULL && *jstr(cb, "name"),
		    "tool_use without a name");
	}
}

static void
check_block_delta(struct check *c, json_object *o)
{
	json_object	*d;
	const char	*type, *field, *v;

	check_index(o, c->open, "content_block_delta");
	FUZZ_CHECK((d = jobj(o, "delta")) != NULL, "delta missing");
	type = jstr(d, "type");
	FUZZ_CHECK(type != NULL, "delta without type");
	if (strcmp(c->kind, "text") == 0 && strcmp(type, "text_delta") == 0)
		field = "text";
	else if (strcmp(c->kind, "tool_use") == 0 &&
	    strcmp(type, "input_json_delta") == 0)
		field = "partial_json";
	else if (strcmp(c->kind, "thinking") == 0 && !c->sig &&
	    strcmp(type, "thinking_delta") == 0)
		field = "thinking";
	else if (strcmp(c->kind, "thinking") == 0 && !c->sig &&
	    strcmp(type, "signature_delta") == 0) {
		field = "signature";
		c->sig = 1;
	} else
		FUZZ_CHECK(0, "%s in a %s block%s", type, c->kind,
		    c->sig ? " after its signature" : "");
	v = jstr(d, field);
	FUZZ_CHECK(v != NULL, "%s without %s", type, field);
	if (strcmp(field, "text") == 0 || strcmp(field, "thinking") == 0)
		buf_puts(&c->text, v);
	if (c->sig)
		FUZZ_CHECK(*v != '\0', "empty signature");
}

static void
check_event(struct check *c, const char *name, json_object *o)
{
	json_object	*m, *d, *content, *e;
	const char	*r;
	static const char *const reasons[] = { "end_turn", "max_tokens",
	    "stop_sequence", "tool_use", "pause_turn", "refusal",
	    "model_context_window_exceeded" };
	size_t		 i;

	FUZZ_CHECK(!c->ended, "%s after the end", name);
	c->events++;
	if (strcmp(name, "message_start") == 0) {
		FUZZ_CHECK(!c->started, "second message_start");
		c->started = 1;
		FUZZ_CHECK((m = jobj(o, "message")) != NULL, "no message");
		FUZZ_CHECK(json_object_object_get_ex(m, "content", &content) &&
		    json_object_is_type(content, json_type_array) &&
		    json_object_array_length(content) == 0,
		    "message_start content is not []");
		FUZZ_CHECK(jstr(m, "id") != NULL && jstr(m, "model") != NULL,
		    "message_start without id or model");
		check_usage(m, name);
	} else if (strcmp(name, "ping") == 0) {
		FUZZ_CHECK(c->started, "ping before message_start");
	} else if (strcmp(name, "content_block_start") == 0) {
		check_block_start(c, o);
	} else if (strcmp(name, "content_block_delta") == 0) {
		check_block_delta(c, o);
	} else if (strcmp(name, "content_block_stop") == 0) {
		check_index(o, c->open, name);
		if (strcmp(c->kind, "thinking") == 0)
			FUZZ_CHECK(c->sig, "thinking block stopped without "
			    "a signature");
		FUZZ_CHECK(c->text.data == NULL || strstr(c->text.data,
		    FUZZ_SECRET) == NULL, "a secret in a %s block", c->kind);
		buf_reset(&c->text);
		c->open = -1;
	} else if (strcmp(name, "message_delta") == 0) {
		FUZZ_CHECK(c->started, "message_delta before message_start");
		FUZZ_CHECK(!c->delta_seen, "second message_delta");
		FUZZ_CHECK(c->open == -1, "message_delta with block %d open",
		    c->open);
		c->delta_seen = 1;
		FUZZ_CHECK((d = jobj(o, "delta")) != NULL, "no delta");
		r = jstr(d, "stop_reason");
		for (i = 0; r != NULL && i < sizeof(reasons) /
		    sizeof(reasons[0]); i++)
			if (strcmp(r, reasons[i]) == 0)
				break;
		FUZZ_CHECK(r != NULL &&
		    i < sizeof(reasons) / sizeof(reasons[0]),
		    "stop_reason %s", r ? r : "(none)");
		if (strcmp(r, "stop_sequence") == 0)
			FUZZ_CHECK(jstr(d, "stop_sequence") != NULL,
			    "stop_sequence without its string");
		check_usage(o, name);
	} else if (strcmp(name, "message_stop") == 0) {
		FUZZ_CHECK(c->delta_seen, "message_stop without message_delta");
		c->ended = 1;
	} else if (strcmp(name, "error") == 0) {
		FUZZ_CHECK((e = jobj(o, "error")) != NULL,
		    "error without error");
		FUZZ_CHECK(jstr(e, "type") != NULL &&
		    jstr(e, "message") != NULL,
		    "error without type or message");
		c->ended = 1;
	} else
		FUZZ_CHECK(0, "unknown event %s", name);
}

/* whole events only: "event: NAME\ndata: JSON\n\n" ... */
static void
check_bytes(struct check *c, const char *p, size_t len)
{
	const char	*end = p + len, *nl, *type;
	char		 name[64];
	json_tokener	*tok;
	json_object	*o;
	size_t		 n;

	FUZZ_CHECK(len > 0, "empty emit");
	c->bytes += len;
	while (p < end) {
		FUZZ_CHECK((size_t)(end - p) > 7 &&
		    memcmp(p, "event: ", 7) == 0,
		    "expected \"event: \": %.*s", (int)(end - p), p);
		p += 7;
		nl = memchr(p, '\n', end - p);
		FUZZ_CHECK(nl != NULL && nl > p &&
		    (size_t)(nl - p) < sizeof(name),
		    "bad event line");
		memcpy(name, p, nl - p);
		name[nl - p] = '\0';
		p = nl + 1;
		FUZZ_CHECK((size_t)(end - p) > 6 && memcmp(p, "data: ", 6) == 0,
		    "expected \"data: \" after event %s", name);
		p += 6;
		nl = memchr(p, '\n', end - p);
		FUZZ_CHECK(nl != NULL && nl + 1 < end && nl[1] == '\n',
		    "event %s not ended by a blank line", name);
		n = nl - p;
		FUZZ_CHECK(memchr(p, '\r', n) == NULL, "CR in the data of %s",
		    name);
		tok = json_tokener_new();
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
		o = json_tokener_parse_ex(tok, p, (int)n);
		FUZZ_CHECK(o != NULL &&
		    json_tokener_get_error(tok) == json_tokener_success &&
		    json_tokener_get_parse_end(tok) == n,
		    "event %s: data is not one JSON value: %.*s", name,
		    (int)n, p);
		json_tokener_free(tok);
		FUZZ_CHECK(json_object_is_type(o, json_type_object),
		    "event %s: data is not an object", name);
		type = jstr(o, "type");
		FUZZ_CHECK(type != NULL && strcmp(type, name) == 0,
		    "event %s has type %s", name, type ? type : "(none)");
		check_event(c, name, o);
		json_object_put(o);
		p = nl + 2;
	}
}

/* ---- pass 2 and 3: the relay ------------------------------------------ */

struct relay {
	struct sse_decoder	 dec;
	struct aevent		 ev;
	struct stream		 st;
	struct check		 chk;
	int			 bad_upstream;
	int			 gone;		/* an emit failed */
	int			 last;		/* an emit was marked last */
	size_t			 emits;
	size_t			 fail_at;	/* failing emit or 0 */
};

static int
relay_emit(void *arg, const char *p, size_t len, int last)
{
	struct relay	*r = arg;

	FUZZ_CHECK(!r->gone, "emit after the client went away");
	FUZZ_CHECK(!r->last, "emit after the one marked last");
	r->last = last;
	if (++r->emits == r->fail_at) {
		r->gone = 1;
		return -1;
	}
	if (len > 0 || !last)
		check_bytes(&r->chk, p, len);
	return 0;
}

static int
relay_event(void *arg, const char *ev, size_t evlen, const char *data,
    size_t len)
{
	struct relay	*r = arg;

	(void)ev;
	(void)evlen;
	if (stream_feed(&r->st, data, len) == -1) {
		if (!r->ev.client_gone)
			r->bad_upstream = 1;
		return -1;
	}
	return 0;
}

static size_t
relay_run(const uint8_t *data, size_t len, size_t fail_at)
{
	struct relay	 r;
	uint64_t	 seed = fuzz_seed(data, len) ^ 0x5bd1e995;
	size_t		 pos, k, comments = 0;
	int		 failed = 0;

	memset(&r, 0, sizeof(r));
	r.fail_at = fail_at;
	r.chk.open = -1;
	sse_decoder_init(&r.dec);
	aevent_init(&r.ev, 40, relay_emit, &r);
	stream_init(&r.st, &r.ev, "msg_fuzz", "claude-fuzz", 42, 1);
	strlcpy(r.st.request_id, "req_fuzz", sizeof(r.st.request_id));

	for (pos = 0; pos < len; pos += k) {
		k = fuzz_piece(&seed, len - pos);
		/* one upstream read: its events leave in one emit, those
		 * before bad input too */
		if (sse_decoder_feed(&r.dec, (const char *)data + pos, k,
		    relay_event, &r) == -1) {
			if (!r.ev.client_gone)
				r.bad_upstream = 1;
			failed = 1;
		}
		if (!r.ev.client_gone)
			stream_flush(&r.st);
		if (failed)
			break;
		/* a keep-alive comment stands in for the ping timer */
		if (r.dec.comments != comments) {
			comments = r.dec.comments;
			if (r.ev.started && stream_ping(&r.st) == -1)
				break;
		}
	}
	if (!failed && !r.ev.client_gone && sse_decoder_finish(&r.dec,
	    relay_event, &r) == -1 && !r.ev.client_gone)
		r.bad_upstream = 1;
	if (!r.ev.client_gone) {
		if (r.bad_upstream)
			stream_error(&r.st, r.st.error_type[0] ?
			    r.st.error_type : "api_error", r.st.error[0] ?
			    r.st.error : "invalid stream", NULL);
		else
			stream_finish(&r.st);
	}
	if (fail_at == 0) {
		FUZZ_CHECK(!r.ev.client_gone,
		    "client gone, yet no emit failed");
		FUZZ_CHECK(r.chk.ended, "the stream ended without message_stop "
		    "or error (%zu events)", r.chk.events);
		FUZZ_CHECK(r.last, "the last emit was not marked last");
		FUZZ_CHECK(r.chk.started || r.chk.events == 1,
		    "events without message_start");
	} else
		FUZZ_CHECK(r.ev.client_gone == r.gone, "client_gone %d, emit "
		    "failed %d", r.ev.client_gone, r.gone);
	sse_decoder_free(&r.dec);
	stream_free(&r.st);
	aevent_free(&r.ev);
	buf_free(&r.chk.text);
	return r.emits;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int	 ready;
	size_t		 emits;

	if (!ready) {
		secret_add(FUZZ_SECRET, strlen(FUZZ_SECRET));
		ready = 1;
	}
	decode_twice(data, len);
	emits = relay_run(data, len, 0);
	if (emits > 1)
		relay_run(data, len, 1 + fuzz_seed(data, len) % emits);
	return 0;
}
