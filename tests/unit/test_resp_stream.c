/*
 * test_resp_stream: golden transcripts for the Responses API event ->
 * Anthropic event state machine.
 *
 * tests/data/resp_stream/NAME.upstream.sse (the raw bytes a Responses
 * upstream sends) is fed through the SSE decoder into the state machine,
 * flushed after every read as the relay does; the output, with generated
 * tool ids and plain (random) signatures replaced by placeholders, must
 * equal the golden transcript byte for byte, whether the input arrives
 * whole, byte by byte or split in two at any offset. The golden file is
 * NAME.anthropic.sse, or for a "twin" the transcript stream.c writes for
 * the same answer from a Chat Completions upstream (tests/data/stream/):
 * both machines must write the same bytes. Every output is also checked
 * against the protocol's rules (DESIGN.md §5), and an upstream cut at any
 * byte must still give a well-formed client stream. CP_TEST_REGEN=1
 * rewrites the golden files of the non-twins (review the diff!). Last,
 * behaviour the transcripts do not show, and no allocation per event.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "resp.h"
#include "resp_stream.h"
#include "secret.h"
#include "sse.h"
#include "tap.h"
#include "testroute.h"

/* malloc, counted (as test_stream.c does); not under ASan */
#if defined(__SANITIZE_ADDRESS__)
#define COUNT_ALLOCS	0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNT_ALLOCS	0
#endif
#endif
#ifndef COUNT_ALLOCS
#define COUNT_ALLOCS	1
extern void	*__libc_malloc(size_t);
extern void	*__libc_calloc(size_t, size_t);
extern void	*__libc_realloc(void *, size_t);
static unsigned long	allocs;

void *
malloc(size_t n)
{
	allocs++;
	return __libc_malloc(n);
}

void *
calloc(size_t n, size_t m)
{
	allocs++;
	return __libc_calloc(n, m);
}

void *
realloc(void *p, size_t n)
{
	allocs++;
	return __libc_realloc(p, n);
}
#endif

#define MSG_ID		"msg_01TestTestTestTestTest01"
#define MODEL		"claude-sonnet-4-5"
#define REQ_ID		"req_test"
#define INPUT_EST	1000

struct fixture {
	const char	*name;
	const char	*twin;		/* stream/TWIN.anthropic.sse, or NULL */
	int		 want_error;	/* ends in event: error */
};

static const struct fixture fixtures[] = {
	{ "openai_twin",		"openai",		0 },
	{ "tools_parallel_twin",	"openai_tools_parallel", 0 },
	{ "reasoning_summary",		NULL,			0 },
	{ "reasoning_encrypted_only",	NULL,			0 },
	{ "reasoning_text_oss",		NULL,			0 },
	{ "incomplete_max_tokens",	NULL,			0 },
	{ "incomplete_content_filter",	NULL,			0 },
	{ "refusal",			NULL,			0 },
	{ "only_final",			NULL,			0 },
	{ "interleaved_calls",		NULL,			0 },
	{ "builtin_tool",		NULL,			0 },
	{ "done_only",			NULL,			0 },
	{ "failed_midway",		NULL,			1 },
	{ "failed_context",		NULL,			1 },
	{ "error_event",		NULL,			1 },
	{ "no_terminal",		NULL,			1 },
	{ "garbage",			NULL,			1 },
};

#define NFIXTURES	(sizeof(fixtures) / sizeof(fixtures[0]))

static struct route	 rt;

/* ---- running a transcript ----------------------------------------------- */

struct run {
	struct sse_decoder	 dec;
	struct aevent		 ev;
	struct resp_stream	 st;
	struct buf		 out;
	size_t			 emits;
	size_t			 fail_at;	/* failing emit or 0 */
	int			 last_seen;	/* an emit said last */
	int			 after_last;	/* ... and another came */
	int			 stopped;
};

static int
emit_cb(void *arg, const char *p, size_t len, int last)
{
	struct run	*r = arg;

	r->emits++;
	if (r->last_seen)
		r->after_last = 1;
	r->last_seen |= last;
	if (r->fail_at != 0 && r->emits >= r->fail_at)
		return -1;
	return buf_append(&r->out, p, len);
}

static int
event_cb(void *arg, const char *ev, size_t evlen, const char *data,
    size_t len)
{
	struct run	*r = arg;

	if (r->stopped)
		return 0;
	if (resp_stream_feed(&r->st, ev, evlen, data, len) == -1) {
		r->stopped = 1;
		if (r->ev.client_gone)
			return -1;
		resp_stream_error(&r->st, r->st.error_type, r->st.error,
		    NULL);
	}
	return 0;
}

static void
run_init(struct run *r)
{
	memset(r, 0, sizeof(*r));
	sse_decoder_init(&r->dec);
	aevent_init(&r->ev, 40, emit_cb, r);
	resp_stream_init(&r->st, &r->ev, MSG_ID, MODEL, INPUT_EST, &rt.r);
	strlcpy(r->st.request_id, REQ_ID, sizeof(r->st.request_id));
}

/* one upstream read: its events, then one flush */
static void
run_feed(struct run *r, const char *p, size_t len)
{
	if (r->ev.client_gone)
		return;
	sse_decoder_feed(&r->dec, p, len, event_cb, r);
	resp_stream_flush(&r->st);
}

static void
run_end(struct run *r)
{
	if (!r->ev.client_gone) {
		sse_decoder_finish(&r->dec, event_cb, r);
		resp_stream_finish(&r->st);
	}
}

static void
run_free(struct run *r)
{
	sse_decoder_free(&r->dec);
	resp_stream_free(&r->st);
	aevent_free(&r->ev);
	buf_free(&r->out);
}

/* ---- normalising randomness --------------------------------------------- */

/* random signatures and generated tool ids -> placeholders; all
 * signatures when matching a twin (stream.c's are random) */
static void
normalise(struct buf *b, int all_sigs)
{
	struct buf	 n = BUF_INITIALIZER;
	const char	*p = b->data ? b->data : "", *q;
	size_t		 k;

	while (*p != '\0') {
		if (strncmp(p, "\"signature\":\"", 13) == 0 && p[13] != '"' &&
		    (all_sigs || strncmp(p + 13, "cpsig_", 6) == 0)) {
			buf_puts(&n, "\"signature\":\"SIG\"");
			for (q = p + 13; *q != '\0' && *q != '"'; q++)
				;
			p = *q ? q + 1 : q;
			continue;
		}
		if (strncmp(p, "toolu_", 6) == 0) {
			for (k = 0; isalnum((unsigned char)p[6 + k]); k++)
				;
			if (k == 24) {
				buf_puts(&n, "toolu_GENERATED");
				p += 6 + k;
				continue;
			}
		}
		buf_putc(&n, *p++);
	}
	buf_free(b);
	*b = n;
}

/* ---- the protocol's rules ----------------------------------------------- */

struct check {
	char		 err[300];
	int		 started, deltas, stopped, errored;
	int		 open;		/* -1 none */
	int		 next;
	char		 kind[16];
	int		 sig_seen;
	int		 cut_tools;	/* tool inputs that do not parse */
	struct buf	 json;
};

static int	check_fail(struct check *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static int
check_fail(struct check *c, const char *fmt, ...)
{
	va_list	 ap;

	if (c->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(c->err, sizeof(c->err), fmt, ap);
		va_end(ap);
	}
	return 0;
}

static const char *
js(json_object *o, const char *k)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
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
	json_object	*cb, *in, *idx;
	const char	*name;

	if (c->open != -1)
		check_fail(c, "start: a block is already open");
	json_object_object_get_ex(o, "index", &idx);
	if (json_object_get_int(idx) != c->next)
		check_fail(c, "start: index out of order");
	c->open = c->next++;
	json_object_object_get_ex(o, "content_block", &cb);
	strlcpy(c->kind, js(cb, "type") ? js(cb, "type") : "?",
	    sizeof(c->kind));
	c->sig_seen = 0;
	buf_reset(&c->json);
	if (strcmp(c->kind, "tool_use") == 0) {
		if (!json_object_object_get_ex(cb, "input", &in) ||
		    !json_object_is_type(in, json_type_object) ||
		    json_object_object_length(in) != 0)
			check_fail(c, "start: tool_use input is not {}");
		if (!valid_tool_id(js(cb, "id")))
			check_fail(c, "start: bad tool id");
		name = js(cb, "name");
		if (name == NULL || *name == '\0')
			check_fail(c, "start: tool without a name");
	} else if (strcmp(c->kind, "text") != 0 &&
	    strcmp(c->kind, "thinking") != 0)
		check_fail(c, "unknown block type %s", c->kind);
}

static void
check_block_delta(struct check *c, json_object *o)
{
	json_object	*d, *idx;
	const char	*type, *sig;

	json_object_object_get_ex(o, "index", &idx);
	if (c->open == -1 || json_object_get_int(idx) != c->open)
		check_fail(c, "delta for a block that is not open");
	json_object_object_get_ex(o, "delta", &d);
	if ((type = js(d, "type")) == NULL)
		type = "?";
	if (strcmp(c->kind, "text") == 0 && strcmp(type, "text_delta") == 0)
		return;
	if (strcmp(c->kind, "tool_use") == 0 &&
	    strcmp(type, "input_json_delta") == 0) {
		buf_puts(&c->json, js(d, "partial_json"));
		return;
	}
	if (strcmp(c->kind, "thinking") == 0 &&
	    strcmp(type, "thinking_delta") == 0 && !c->sig_seen)
		return;
	sig = js(d, "signature");
	if (strcmp(c->kind, "thinking") == 0 &&
	    strcmp(type, "signature_delta") == 0 && !c->sig_seen &&
	    sig != NULL && *sig != '\0') {
		c->sig_seen = 1;
		return;
	}
	check_fail(c, "delta %s does not fit its block", type);
}

static void
check_block_stop(struct check *c, json_object *o)
{
	json_object	*idx, *in;

	json_object_object_get_ex(o, "index", &idx);
	if (c->open == -1 || json_object_get_int(idx) != c->open)
		check_fail(c, "stop for a block that is not open");
	if (strcmp(c->kind, "thinking") == 0 && !c->sig_seen)
		check_fail(c, "thinking block without signature");
	if (strcmp(c->kind, "tool_use") == 0) {
		in = json_tokener_parse(c->json.data ? c->json.data : "");
		if (in == NULL)
			c->cut_tools++;	/* allowed only with max_tokens */
		else if (!json_object_is_type(in, json_type_object))
			check_fail(c, "tool input is not an object");
		json_object_put(in);
	}
	c->open = -1;
}

static void
check_stop_reason(struct check *c, json_object *o)
{
	static const char *const valid[] = { "end_turn", "max_tokens",
	    "tool_use", "refusal" };
	json_object	*d;
	const char	*r;
	size_t		 i;

	json_object_object_get_ex(o, "delta", &d);
	if ((r = js(d, "stop_reason")) == NULL)
		r = "(null)";
	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		if (strcmp(r, valid[i]) == 0)
			break;
	if (i == sizeof(valid) / sizeof(valid[0]))
		check_fail(c, "bad stop_reason %s", r);
	if (c->cut_tools > 0 && strcmp(r, "max_tokens") != 0)
		check_fail(c, "tool input cut short, yet stop_reason %s", r);
}

static int
check_event(void *arg, const char *ev, size_t evlen, const char *data,
    size_t len)
{
	struct check	*c = arg;
	json_object	*o;
	const char	*type;
	char		 name[64];

	(void)len;
	snprintf(name, sizeof(name), "%.*s", (int)evlen, ev);
	if ((o = json_tokener_parse(data)) == NULL)
		return check_fail(c, "event %s: data is not JSON", name);
	type = js(o, "type");
	if (type == NULL || strcmp(type, name) != 0)
		check_fail(c, "event %s: type does not match", name);
	if (c->stopped || c->errored)
		check_fail(c, "event %s after the end", name);
	/* an error is the event alone: an open block stays open */
	if (strcmp(name, "ping") == 0)
		;
	else if (strcmp(name, "error") == 0)
		c->errored = 1;
	else if (!c->started && strcmp(name, "message_start") != 0)
		check_fail(c, "%s before message_start", name);
	else if (strcmp(name, "message_start") == 0) {
		if (c->started++)
			check_fail(c, "%s twice", name);
	} else if (c->deltas && strcmp(name, "message_stop") != 0)
		check_fail(c, "%s after message_delta", name);
	else if (strcmp(name, "content_block_start") == 0)
		check_block_start(c, o);
	else if (strcmp(name, "content_block_delta") == 0)
		check_block_delta(c, o);
	else if (strcmp(name, "content_block_stop") == 0)
		check_block_stop(c, o);
	else if (strcmp(name, "message_delta") == 0) {
		if (c->open != -1)
			check_fail(c, "%s with a block open", name);
		check_stop_reason(c, o);
		c->deltas++;
	} else if (strcmp(name, "message_stop") == 0) {
		if (c->deltas != 1)
			check_fail(c, "%s without exactly one message_delta",
			    name);
		c->stopped = 1;
	} else
		check_fail(c, "unknown event %s", name);
	json_object_put(o);
	return 0;
}

/* "" if the output follows the rules; want_error 1: must end in an error
 * event, 0: in message_stop, -1: either */
static const char *
check_output(struct check *c, const struct buf *out, int want_error)
{
	struct sse_decoder	 d;

	memset(c, 0, sizeof(*c));
	c->open = -1;
	sse_decoder_init(&d);
	if (sse_decoder_feed(&d, out->data ? out->data : "", out->len,
	    check_event, c) == -1 || sse_decoder_finish(&d, check_event,
	    c) == -1)
		check_fail(c, "output is not SSE");
	sse_decoder_free(&d);
	buf_free(&c->json);
	if (want_error == 1 && !c->errored)
		check_fail(c, "no error event");
	if (want_error == 0 && !c->stopped)
		check_fail(c, "no message_stop");
	if (!c->errored && !c->stopped)
		check_fail(c, "neither message_stop nor error");
	return c->err;
}

/* ---- the golden transcripts --------------------------------------------- */

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

static void
run_whole(const struct fixture *fx, const struct buf *in, struct buf *out,
    int *complete, int *single_last)
{
	struct run	 r;

	run_init(&r);
	run_feed(&r, in->data, in->len);
	sse_decoder_finish(&r.dec, event_cb, &r);
	*complete = resp_stream_complete(&r.st);
	run_end(&r);
	*single_last = r.last_seen && !r.after_last;
	normalise(&r.out, fx->twin != NULL);
	buf_reset(out);
	buf_append(out, r.out.data ? r.out.data : "", r.out.len);
	run_free(&r);
}

/* split at every offset, and byte by byte: all equal to want? */
static int
run_splits(const struct fixture *fx, const struct buf *in,
    const struct buf *want, size_t *bad_at)
{
	struct run	 r;
	size_t		 k, i;
	int		 same;

	for (k = 0; k <= in->len + 1; k++) {
		run_init(&r);
		if (k <= in->len) {
			run_feed(&r, in->data, k);
			run_feed(&r, in->data + k, in->len - k);
		} else {
			for (i = 0; i < in->len; i++)
				run_feed(&r, in->data + i, 1);
		}
		run_end(&r);
		normalise(&r.out, fx->twin != NULL);
		same = r.out.len == want->len &&
		    memcmp(r.out.data, want->data, want->len) == 0;
		run_free(&r);
		if (!same) {
			*bad_at = k;
			return 0;
		}
	}
	return 1;
}

/* an upstream cut at any byte still gives a well-formed client stream */
static int
run_truncated(const struct buf *in, size_t *bad_at, char *why, size_t whysz)
{
	struct run	 r;
	struct check	 c;
	size_t		 k;
	const char	*err;

	for (k = 0; k < in->len; k++) {
		run_init(&r);
		run_feed(&r, in->data, k);
		run_end(&r);
		err = check_output(&c, &r.out, -1);
		run_free(&r);
		if (*err != '\0') {
			*bad_at = k;
			strlcpy(why, err, whysz);
			return 0;
		}
	}
	return 1;
}

static void
test_fixture(const char *dir, const struct fixture *fx, int regen)
{
	struct buf	 in = BUF_INITIALIZER, want = BUF_INITIALIZER;
	struct buf	 got = BUF_INITIALIZER;
	struct check	 c;
	char		 path[1024], why[300] = "";
	const char	*err;
	size_t		 bad_at = 0;
	int		 complete = 0, single_last = 0;
	FILE		*f;

	snprintf(path, sizeof(path), "%s/resp_stream/%s.upstream.sse", dir,
	    fx->name);
	if (read_file(path, &in) == -1) {
		ok(0, "%s: read %s", fx->name, path);
		return;
	}
	run_whole(fx, &in, &got, &complete, &single_last);
	if (fx->twin != NULL)
		snprintf(path, sizeof(path), "%s/stream/%s.anthropic.sse", dir,
		    fx->twin);
	else
		snprintf(path, sizeof(path), "%s/resp_stream/%s.anthropic.sse",
		    dir, fx->name);
	if (regen && fx->twin == NULL && (f = fopen(path, "wb")) != NULL) {
		fwrite(got.data, 1, got.len, f);
		fclose(f);
	}
	if (read_file(path, &want) == -1)
		ok(0, "%s: read %s", fx->name, path);
	else
		is_str(got.data, want.data, "%s: golden transcript%s",
		    fx->name, fx->twin ? " (stream.c's)" : "");
	err = check_output(&c, &got, fx->want_error);
	is_str(err, "", "%s: output follows the protocol", fx->name);
	is_int(complete, !fx->want_error, "%s: resp_stream_complete at the "
	    "end", fx->name);
	ok(single_last, "%s: the end is marked once, by the last write",
	    fx->name);
	ok(run_splits(fx, &in, &got, &bad_at),
	    "%s: same output however the input is split", fx->name);
	if (bad_at != 0)
		printf("#   differs when split at %zu\n", bad_at);
	bad_at = 0;
	ok(run_truncated(&in, &bad_at, why, sizeof(why)),
	    "%s: cut at any byte, the output is still well formed", fx->name);
	if (why[0] != '\0')
		printf("#   cut at %zu: %s\n", bad_at, why);
	buf_free(&in);
	buf_free(&want);
	buf_free(&got);
}

/* ---- behaviour the transcripts do not show ------------------------------ */

static int
feed(struct run *r, const char *type, const char *json)
{
	int	 rv = resp_stream_feed(&r->st, type, strlen(type), json,
		    strlen(json));

	resp_stream_flush(&r->st);
	return rv;
}

#define ADDED_MSG \
	"{\"type\":\"response.output_item.added\",\"output_index\":0," \
	"\"item\":{\"id\":\"m\",\"type\":\"message\",\"content\":[]}}"
#define TEXT(t) \
	"{\"type\":\"response.output_text.delta\",\"output_index\":0," \
	"\"item_id\":\"m\",\"content_index\":0,\"delta\":\"" t "\"}"
#define COMPLETED \
	"{\"type\":\"response.completed\",\"response\":{\"status\":" \
	"\"completed\",\"usage\":{\"input_tokens\":10,\"output_tokens\":5," \
	"\"input_tokens_details\":{\"cached_tokens\":4,\"cache_write_tokens\":" \
	"2}}}}"

static void
test_live(void)
{
	struct run	 r;
	size_t		 before;

	run_init(&r);
	feed(&r, "response.created", "{\"type\":\"response.created\","
	    "\"response\":{\"status\":\"in_progress\"}}");
	ok(r.out.data != NULL && strncmp(r.out.data, "event: message_start\n",
	    21) == 0, "live: message_start at response.created");
	feed(&r, "", ADDED_MSG);
	before = r.emits;
	feed(&r, "", TEXT("Hel"));
	ok(r.emits == before + 1 && strstr(r.out.data, "\"Hel\"") != NULL,
	    "live: a text delta is written at once, in one emit");
	is_int(resp_stream_complete(&r.st), 0, "live: not complete yet");
	feed(&r, "", COMPLETED);
	is_int(resp_stream_complete(&r.st), 1,
	    "live: complete at response.completed");
	ok(strstr(r.out.data, "content_block_stop") != NULL &&
	    strstr(r.out.data, "message_delta") == NULL,
	    "live: blocks stop there, message_delta waits for the finish");
	resp_stream_finish(&r.st);
	ok(strstr(r.out.data, "\"usage\":{\"input_tokens\":4,\"output_tokens\":"
	    "5,\"cache_read_input_tokens\":4,\"cache_creation_input_tokens\":2}")
	    != NULL, "live: cached and newly cached input apart");
	run_free(&r);
}

static void
test_client_gone(void)
{
	struct run	 r;
	size_t		 n;

	run_init(&r);
	r.fail_at = 2;
	ok(feed(&r, "", ADDED_MSG) == 0, "gone: first emit fine");
	feed(&r, "", TEXT("a"));
	ok(r.ev.client_gone, "gone: a failed emit is noticed");
	n = r.emits;
	is_int(feed(&r, "", TEXT("b")), -1, "gone: later feeds -> -1");
	is_int(resp_stream_finish(&r.st), -1, "gone: finish -> -1");
	is_int(resp_stream_ping(&r.st), -1, "gone: ping -> -1");
	is_int(resp_stream_error(&r.st, "api_error", "x", NULL), -1,
	    "gone: error -> -1");
	is_int(r.emits, n, "gone: nothing more is written");
	run_free(&r);
}

static void
test_errors(void)
{
	struct run	 r;

	run_init(&r);
	is_int(feed(&r, "", "not json"), -1, "garbage: -1");
	ok(!r.ev.client_gone, "garbage: not the client");
	is_str(r.st.error_type, "api_error", "garbage: error type");
	ok(strstr(r.st.error, "not json") != NULL, "garbage: the message "
	    "quotes the event: %s", r.st.error);
	run_free(&r);

	run_init(&r);
	is_int(feed(&r, "", "{\"delta\":\"x\"}"), -1,
	    "no type and no event name: -1");
	is_int(feed(&r, "response.output_text.delta", "{\"delta\":\"x\"}"),
	    0, "no type but an event name: the name decides");
	is_int(feed(&r, "", "[1,2]"), -1, "an array: -1");
	is_int(feed(&r, "", "  "), 0, "blank data ignored");
	is_int(feed(&r, "", "[DONE]"), 0, "[DONE] ignored");
	is_int(feed(&r, "", "{\"type\":\"response.something_new\"}"), 0,
	    "unknown event types skipped");
	run_free(&r);

	/* the error event alone, the open thinking block left open */
	run_init(&r);
	feed(&r, "", "{\"type\":\"response.reasoning_summary_text.delta\","
	    "\"output_index\":0,\"summary_index\":0,\"delta\":\"hm\"}");
	resp_stream_error(&r.st, "timeout_error", "upstream went silent",
	    "req_9");
	ok(strstr(r.out.data, "signature_delta") == NULL &&
	    strstr(r.out.data, "content_block_stop") == NULL &&
	    strstr(r.out.data, "event: error\ndata: {\"type\":\"error\","
	    "\"error\":{\"type\":\"timeout_error\",\"message\":\"upstream "
	    "went silent\"},\"request_id\":\"req_9\"}\n\n") != NULL,
	    "error: the envelope alone, the block left open");
	is_int(resp_stream_finish(&r.st), 0, "error: finish afterwards is a "
	    "no-op");
	ok(strstr(r.out.data, "message_stop") == NULL,
	    "error: no message_stop after an error");
	run_free(&r);

	/* more output items than we keep */
	run_init(&r);
	{
		char	 ev[256];
		int	 i, rv = 0;

		for (i = 0; i <= RESP_STREAM_MAX_ITEMS && rv == 0; i++) {
			snprintf(ev, sizeof(ev), "{\"type\":"
			    "\"response.output_item.added\",\"output_index\":"
			    "%d,\"item\":{\"type\":\"function_call\","
			    "\"call_id\":\"c%d\",\"name\":\"N\"}}", i, i);
			rv = feed(&r, "", ev);
		}
		ok(rv == -1 && i == RESP_STREAM_MAX_ITEMS + 1 &&
		    strstr(r.st.error, "more than") != NULL,
		    "item %d: -1, the limit named", RESP_STREAM_MAX_ITEMS + 1);
	}
	run_free(&r);
}

static void
test_ping_and_counters(void)
{
	struct run	 r;

	run_init(&r);
	resp_stream_ping(&r.st);
	ok(r.out.data != NULL && strncmp(r.out.data,
	    "event: message_start\n", 21) == 0 &&
	    strstr(r.out.data, "event: ping\ndata: {\"type\":\"ping\"}\n\n")
	    != NULL, "ping: message_start first, then ping");
	feed(&r, "", ADDED_MSG);
	feed(&r, "", TEXT("h\\u00e9llo w\\u00f6rld, this is a long text"));
	feed(&r, "", TEXT(" more"));
	is_int(r.st.events, 3, "counters: events");
	is_int(r.ev.text_chars, 37, "counters: text characters");
	is_str(r.ev.preview.data, "h\xc3\xa9llo w\xc3\xb6rld, this is a long "
	    "text more", "counters: preview");
	run_free(&r);

	/* no usage: the estimate, as stream.c gives it */
	run_init(&r);
	feed(&r, "", ADDED_MSG);
	feed(&r, "", TEXT("12345678"));
	feed(&r, "", "{\"type\":\"response.completed\",\"response\":{}}");
	resp_stream_finish(&r.st);
	ok(strstr(r.out.data, "\"usage\":{\"input_tokens\":1000,"
	    "\"output_tokens\":2,") != NULL, "no usage: the estimate");
	run_free(&r);
}

#define KEY	"correct horse battery"

/* a key split across deltas is masked; only the tail that may begin it
 * waits, a tail still waiting at the block's end is written then, and
 * text that waited for its block is masked alike */
static void
test_secrets(void)
{
	struct run	 r;
	const char	*o;

	ok(secret_add(KEY, strlen(KEY)) == 0, "secrets: a key registered");
	run_init(&r);
	feed(&r, "", ADDED_MSG);
	feed(&r, "", TEXT("the key is correct hor"));
	o = r.out.data != NULL ? r.out.data : "";
	ok(strstr(o, "\"the key is \"") != NULL && strstr(o, "correct") ==
	    NULL, "secrets: the text before a key's beginning goes at once");
	feed(&r, "", TEXT("se battery, correct"));
	o = r.out.data;
	ok(strstr(o, "\"***, \"") != NULL && strstr(o, "battery") == NULL,
	    "secrets: the key across two deltas is masked");
	feed(&r, "", TEXT(" horses and correct"));
	/* the next item's text waits for this block: masked all the same */
	feed(&r, "", "{\"type\":\"response.reasoning_summary_text.delta\","
	    "\"output_index\":1,\"summary_index\":0,\"delta\":\"x correct "
	    "horse battery y\"}");
	feed(&r, "", "{\"type\":\"response.output_item.done\","
	    "\"output_index\":0,\"item\":{\"id\":\"m\",\"type\":"
	    "\"message\"}}");
	o = r.out.data;
	ok(strstr(o, "\"correct horses and \"") != NULL &&
	    strstr(o, "\"correct\"}}\n\nevent: content_block_stop") != NULL,
	    "secrets: a tail still held is written before the block stops");
	ok(strstr(o, "\"thinking\":\"x *** y\"") != NULL,
	    "secrets: thinking that waited is masked too");
	ok(strstr(r.ev.preview.data, "***") != NULL &&
	    strstr(r.ev.preview.data, "battery") == NULL,
	    "secrets: the preview has the masked text");
	run_free(&r);

	/* an error message that quotes the key */
	run_init(&r);
	resp_stream_error(&r.st, "api_error", "upstream said: " KEY, NULL);
	ok(strstr(r.out.data, "upstream said: ***") != NULL &&
	    strstr(r.out.data, "battery") == NULL,
	    "secrets: masked in an error event");
	run_free(&r);

	/* a stream that fails while a tail is held: as stream.c's, most of
	 * a key is never sent, a letter or two that tell nothing are */
	run_init(&r);
	feed(&r, "", ADDED_MSG);
	feed(&r, "", TEXT("said correct horse"));
	resp_stream_error(&r.st, "api_error", "cut", "req_1");
	o = r.out.data;
	ok(strstr(o, "\"said \"") != NULL && strstr(o, "corr") == NULL &&
	    strstr(o, "event: error") != NULL,
	    "secrets: a long held tail is dropped when the stream fails");
	run_free(&r);
	run_init(&r);
	feed(&r, "", ADDED_MSG);
	feed(&r, "", TEXT("words, co"));
	resp_stream_error(&r.st, "api_error", "cut", "req_1");
	o = r.out.data;
	ok(strstr(o, "\"co\"") != NULL && strstr(o, "\"co\"") <
	    strstr(o, "event: error") &&
	    strstr(o, "content_block_stop") == NULL,
	    "secrets: a short held tail goes before the error, block open");
	run_free(&r);
	secret_clear();
}

/* the signature of a streamed reasoning item is one resp_req takes back */
static void
test_signature_roundtrip(void)
{
	struct run	 r;
	const char	*sig, *enc, *why;
	size_t		 len;
	char		 key[RESP_SIG_KEY_SIZE];

	run_init(&r);
	feed(&r, "", "{\"type\":\"response.output_item.added\","
	    "\"output_index\":0,\"item\":{\"id\":\"rs_1\",\"type\":"
	    "\"reasoning\",\"summary\":[]}}");
	feed(&r, "", "{\"type\":\"response.output_item.done\","
	    "\"output_index\":0,\"item\":{\"id\":\"rs_1\",\"type\":"
	    "\"reasoning\",\"summary\":[],\"encrypted_content\":\"gAAAAB-E\"}}");
	sig = strstr(r.out.data ? r.out.data : "", "\"signature\":\"cprs_");
	resp_sig_key(&rt.r, key);
	enc = sig != NULL ? resp_sig_decode(sig + 13, strcspn(sig + 13, "\""),
	    key, &len, &why) : NULL;
	ok(enc != NULL && len == 8 && memcmp(enc, "gAAAAB-E", 8) == 0,
	    "signature: carries the encrypted content for resp_req");
	run_free(&r);
}

#if COUNT_ALLOCS
static int
count_emit(void *arg, const char *p, size_t len, int last)
{
	(void)p;
	(void)last;
	*(size_t *)arg += len;
	return 0;
}

static int
relay_event(void *arg, const char *ev, size_t evlen, const char *data,
    size_t len)
{
	struct resp_stream	*st = arg;
	int			 rv;

	rv = resp_stream_feed(st, ev, evlen, data, len);
	resp_stream_flush(st);
	return rv;
}
#endif

/* once its buffers fit, the relay allocates nothing per event: text,
 * reasoning, and a tool call's arguments streamed live */
static void
test_no_alloc(void)
{
#if COUNT_ALLOCS
	static const char *const added[] = {
		"event: response.output_item.added\ndata: {\"type\":"
		    "\"response.output_item.added\",\"output_index\":0,"
		    "\"item\":{\"id\":\"rs_1\",\"type\":\"reasoning\","
		    "\"summary\":[]}}\n\n",
		"event: response.output_item.added\ndata: {\"type\":"
		    "\"response.output_item.added\",\"output_index\":0,"
		    "\"item\":{\"id\":\"msg_1\",\"type\":\"message\","
		    "\"content\":[]}}\n\n",
		"event: response.output_item.added\ndata: {\"type\":"
		    "\"response.output_item.added\",\"output_index\":0,"
		    "\"item\":{\"id\":\"fc_1\",\"type\":\"function_call\","
		    "\"call_id\":\"call_1\",\"name\":\"Bash\","
		    "\"arguments\":\"\"}}\n\n",
	};
	static const char *const shapes[] = {
		"event: response.reasoning_summary_text.delta\ndata: {\"type\":"
		    "\"response.reasoning_summary_text.delta\",\"item_id\":"
		    "\"rs_1\",\"output_index\":0,\"summary_index\":0,"
		    "\"delta\":\"think ### \\u00e9\",\"sequence_number\":5}\n\n",
		"event: response.output_text.delta\ndata: {\"type\":"
		    "\"response.output_text.delta\",\"item_id\":\"msg_1\","
		    "\"output_index\":0,\"content_index\":0,\"delta\":"
		    "\"word ### \\\"q\\\"\",\"logprobs\":[]}\n\n",
		"event: response.function_call_arguments.delta\ndata: "
		    "{\"type\":\"response.function_call_arguments.delta\","
		    "\"item_id\":\"fc_1\",\"output_index\":0,\"delta\":"
		    "\"\\\"k###\\\":1,\"}\n\n",
	};
	struct sse_decoder	 dec;
	struct aevent		 ae;
	struct resp_stream	*st;
	char			 ev[512], *num;
	size_t			 bytes = 0, k, i;
	unsigned long		 before[3], used[3];

	st = calloc(1, sizeof(*st));
	/* with a secret to look for: text is masked, tails held */
	secret_add("correct horse battery", 21);
	for (k = 0; k < 3; k++) {
		sse_decoder_init(&dec);
		aevent_init(&ae, 0, count_emit, &bytes);
		resp_stream_init(st, &ae, MSG_ID, MODEL, INPUT_EST, &rt.r);
		sse_decoder_feed(&dec, added[k], strlen(added[k]),
		    relay_event, st);
		before[k] = 0;
		for (i = 0; i < 400; i++) {
			if (i == 100)		/* warmed up */
				before[k] = allocs;
			strlcpy(ev, shapes[k], sizeof(ev));
			num = strstr(ev, "###");
			num[0] = (char)('0' + i / 100 % 10);
			num[1] = (char)('0' + i / 10 % 10);
			num[2] = (char)('0' + i % 10);
			sse_decoder_feed(&dec, ev, strlen(ev), relay_event,
			    st);
		}
		used[k] = allocs - before[k];
		ok(!ae.client_gone && st->error[0] == '\0',
		    "no-alloc stream %zu ran without error", k);
		resp_stream_free(st);
		aevent_free(&ae);
		sse_decoder_free(&dec);
	}
	free(st);
	secret_clear();
	is_int(used[0], 0, "300 reasoning summary deltas: no allocation");
	is_int(used[1], 0, "300 text deltas: no allocation");
	is_int(used[2], 0, "300 live tool-argument deltas: no allocation");
	ok(bytes > 300 * 3 * 50, "they produced events (%zu bytes)", bytes);
#else
	ok(1, "no allocation per event # SKIP ASan owns malloc here");
#endif
}

int
main(void)
{
	static const struct opts o = { .reasoning = 1 };
	const char	*dir = getenv("CP_TEST_DATA");
	size_t		 i;
	int		 regen = getenv("CP_TEST_REGEN") != NULL;

	if (dir == NULL)
		dir = "tests/data";
	route_init(&rt, &o);
	for (i = 0; i < NFIXTURES; i++)
		test_fixture(dir, &fixtures[i], regen);
	test_live();
	test_client_gone();
	test_errors();
	test_ping_and_counters();
	test_signature_roundtrip();
	test_secrets();
	test_no_alloc();
	return tap_done();
}
