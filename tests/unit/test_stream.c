/*
 * test_stream: golden transcripts for the OpenAI chunk -> Anthropic event
 * state machine, one per upstream dialect and per awkward case.
 *
 * tests/data/stream/NAME.upstream.sse (the raw bytes an upstream sends) is
 * fed through the SSE decoder into the state machine; the output, with
 * generated tool ids and thinking signatures replaced by placeholders, must
 * equal NAME.anthropic.sse byte for byte, whether the input arrives whole,
 * byte by byte or split in two at any offset. Every output is also checked
 * against the protocol's rules (DESIGN.md §5) independently of the golden
 * file. CP_TEST_REGEN=1 rewrites the golden files (review the diff!).
 * Configured secrets are masked in text and thinking, also when a chunk
 * ends inside one. Last, the relay path (SSE decoder + state machine) is
 * held to issue 6's "no allocation per event": malloc is counted across
 * hundreds of chunks, with secrets to look for and text held back.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "secret.h"
#include "sse.h"
#include "stream.h"
#include "tap.h"

/* malloc, counted: this program's definitions take the place of libc's
 * for json-c and libc itself (glibc supports replacing malloc). Not under
 * ASan, which must own the heap. */
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
static int		fail_allocs;	/* out of memory while set */

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
	if (fail_allocs)
		return NULL;
	return __libc_realloc(p, n);
}
#endif

#define MSG_ID		"msg_01TestTestTestTestTest01"
#define MODEL		"claude-sonnet-4-5"
#define REQ_ID		"req_test"
#define INPUT_EST	1000

struct fixture {
	const char	*name;
	int		 wait_for_usage;
	int		 want_error;	/* ends in event: error */
	int		 want_complete;	/* stream_complete() at end */
};

static const struct fixture fixtures[] = {
	{ "openai",			1, 0, 1 },
	{ "openai_tools_parallel",	1, 0, 1 },
	{ "openai_tools_sequential",	1, 0, 1 },
	{ "deepseek_reasoning",		1, 0, 1 },
	{ "vllm",			1, 0, 1 },
	{ "llamacpp",			1, 0, 1 },
	{ "ollama",			0, 0, 1 },
	{ "openrouter",			1, 0, 1 },
	/* no usage, but [DONE] ends the wait */
	{ "missing_tool_ids",		1, 0, 1 },
	{ "same_index_calls",		1, 0, 1 },
	{ "late_tool_header",		1, 0, 1 },
	{ "text_after_tools",		1, 0, 1 },
	{ "usage_empty_choices",	1, 0, 1 },
	{ "role_only_first",		1, 0, 1 },
	{ "finish_with_content",	1, 0, 1 },
	{ "repeated_finish",		1, 0, 1 },
	{ "length",			1, 0, 1 },
	{ "empty_stream",		0, 0, 1 },
	{ "content_filter",		0, 0, 1 },
	{ "crlf",			1, 0, 1 },
	{ "eof_without_blank_line",	0, 0, 1 },
	{ "tool_args_quirks",		0, 0, 1 },
	{ "tool_cut_by_length",		1, 0, 1 },
	{ "no_finish",			1, 1, 0 },
	{ "garbage",			1, 1, 0 },
	{ "upstream_error",		1, 1, 0 },
};

/* ---- running a transcript --------------------------------------------- */

struct run {
	struct sse_decoder	 dec;
	struct aevent		 ev;
	struct stream		 st;
	struct buf		 out;
	size_t			 emits;
	size_t			 fail_at;	/* failing emit or 0 */
	int			 stopped;
	int			 ended;		/* an emit said last */
	int			 after_end;	/* emits after that: a bug */
};

static int
emit_cb(void *arg, const char *p, size_t len, int last)
{
	struct run	*r = arg;

	r->emits++;
	if (r->ended)
		r->after_end++;
	r->ended |= last;
	if (r->fail_at != 0 && r->emits >= r->fail_at)
		return -1;
	return buf_append(&r->out, p, len);
}

static int
event_cb(void *arg, const char *ev, size_t evlen, const char *data,
    size_t len)
{
	struct run	*r = arg;

	(void)ev;
	(void)evlen;
	if (r->stopped)
		return 0;
	if (stream_feed(&r->st, data, len) == -1) {
		r->stopped = 1;
		if (r->ev.client_gone)
			return -1;
		stream_error(&r->st, r->st.error_type, r->st.error, NULL);
	}
	return 0;
}

static void
run_init(struct run *r, int wait_for_usage)
{
	memset(r, 0, sizeof(*r));
	sse_decoder_init(&r->dec);
	aevent_init(&r->ev, 40, emit_cb, r);
	stream_init(&r->st, &r->ev, MSG_ID, MODEL, INPUT_EST, wait_for_usage);
	strlcpy(r->st.request_id, REQ_ID, sizeof(r->st.request_id));
}

/* one upstream read, as the relay does it: feed, then flush */
static void
run_feed(struct run *r, const char *p, size_t len)
{
	if (!r->ev.client_gone) {
		sse_decoder_feed(&r->dec, p, len, event_cb, r);
		stream_flush(&r->st);
	}
}

static void
run_end(struct run *r)
{
	if (!r->ev.client_gone) {
		sse_decoder_finish(&r->dec, event_cb, r);
		stream_finish(&r->st);
	}
}

static void
run_free(struct run *r)
{
	sse_decoder_free(&r->dec);
	stream_free(&r->st);
	aevent_free(&r->ev);
	buf_free(&r->out);
}

/* ---- normalising randomness ------------------------------------------- */

static void
normalise(struct buf *b)
{
	struct buf	 n = BUF_INITIALIZER;
	const char	*p = b->data ? b->data : "", *q;
	size_t		 k;

	while (*p != '\0') {
		if (strncmp(p, "\"signature\":\"", 13) == 0 && p[13] != '"') {
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

/* ---- the protocol's rules --------------------------------------------- */

struct check {
	char		 err[300];
	int		 started, deltas, stopped, errored, events;
	int		 open;		/* -1 none */
	int		 next;
	char		 kind[16];
	int		 sig_seen;
	int		 cut_tools;	/* tool inputs that don't parse */
	struct buf	 json;
	char		 last_stop[32];
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
	const char	*type;

	if (c->open != -1)
		check_fail(c, "%s: a block is already open", "start");
	json_object_object_get_ex(o, "index", &idx);
	if (json_object_get_int(idx) != c->next)
		check_fail(c, "%s: index out of order", "start");
	c->open = c->next++;
	json_object_object_get_ex(o, "content_block", &cb);
	type = js(cb, "type");
	strlcpy(c->kind, type ? type : "?", sizeof(c->kind));
	c->sig_seen = 0;
	buf_reset(&c->json);
	if (strcmp(c->kind, "tool_use") == 0) {
		if (!json_object_object_get_ex(cb, "input", &in) ||
		    !json_object_is_type(in, json_type_object) ||
		    json_object_object_length(in) != 0)
			check_fail(c, "%s: tool_use input is not {}", "start");
		if (!valid_tool_id(js(cb, "id")))
			check_fail(c, "%s: bad tool id", "start");
		const char *name = js(cb, "name");
		if (name == NULL || *name == '\0')
			check_fail(c, "%s: tool without a name", "start");
	} else if (strcmp(c->kind, "text") != 0 &&
	    strcmp(c->kind, "thinking") != 0)
		check_fail(c, "unknown block type %s", c->kind);
}

static void
check_block_delta(struct check *c, json_object *o)
{
	json_object	*d, *idx;
	const char	*type;

	json_object_object_get_ex(o, "index", &idx);
	if (c->open == -1 || json_object_get_int(idx) != c->open)
		check_fail(c, "%s: delta for a block that is not open",
		    "delta");
	json_object_object_get_ex(o, "delta", &d);
	type = js(d, "type");
	if (type == NULL)
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
	const char *sig = js(d, "signature");
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
		check_fail(c, "%s: stop for a block that is not open", "stop");
	if (strcmp(c->kind, "thinking") == 0 && !c->sig_seen)
		check_fail(c, "%s: thinking block without signature", "stop");
	if (strcmp(c->kind, "tool_use") == 0) {
		in = json_tokener_parse(c->json.data ? c->json.data : "");
		if (in == NULL)	/* allowed only with max_tokens */
			c->cut_tools++;
		else if (!json_object_is_type(in, json_type_object))
			check_fail(c, "tool input is not an object: %s",
			    c->json.data ? c->json.data : "");
		json_object_put(in);
	}
	c->open = -1;
}

static void
check_stop_reason(struct check *c, json_object *o)
{
	static const char *const valid[] = { "end_turn", "max_tokens",
	    "stop_sequence", "tool_use", "refusal" };
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
	if ((strcmp(r, "stop_sequence") == 0) != (js(d, "stop_sequence") !=
	    NULL))
		check_fail(c, "stop_sequence does not fit stop_reason %s", r);
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
	if (strcmp(name, "ping") == 0)
		;
	else if (strcmp(name, "error") == 0) {
		/* ends the stream whatever is open: Anthropic's API leaves
		 * an unfinished block open */
		c->errored = 1;
	} else if (!c->started && strcmp(name, "message_start") != 0)
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
	c->events++;
	json_object_put(o);
	return 0;
}

/* "" if the output follows the rules, else what is wrong; want_error
 * 1: must end in an error event, 0: in message_stop, -1: either */
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
		check_fail(c, "%s", "output is not SSE");
	sse_decoder_free(&d);
	buf_free(&c->json);
	if (want_error == 1 && !c->errored)
		check_fail(c, "%s", "no error event");
	if (want_error == 0 && !c->stopped)
		check_fail(c, "%s", "no message_stop");
	if (!c->errored && !c->stopped)
		check_fail(c, "%s", "neither message_stop nor error");
	return c->err;
}

/* ---- the golden transcripts ------------------------------------------- */

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
    int *complete)
{
	struct run	 r;

	run_init(&r, fx->wait_for_usage);
	run_feed(&r, in->data, in->len);
	sse_decoder_finish(&r.dec, event_cb, &r);
	*complete = stream_complete(&r.st);
	run_end(&r);
	ok(r.ended && r.after_end == 0, "%s: the last emit is marked last, "
	    "nothing follows it", fx->name);
	normalise(&r.out);
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
		run_init(&r, fx->wait_for_usage);
		if (k <= in->len) {
			run_feed(&r, in->data, k);
			run_feed(&r, in->data + k, in->len - k);
		} else {
			for (i = 0; i < in->len; i++)
				run_feed(&r, in->data + i, 1);
		}
		run_end(&r);
		normalise(&r.out);
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
run_truncated(const struct fixture *fx, const struct buf *in,
    size_t *bad_at, char *why, size_t whysz)
{
	struct run	 r;
	struct check	 c;
	size_t		 k;
	const char	*err;

	for (k = 0; k < in->len; k++) {
		run_init(&r, fx->wait_for_usage);
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
	int		 complete = 0;
	FILE		*f;

	snprintf(path, sizeof(path), "%s/stream/%s.upstream.sse", dir,
	    fx->name);
	if (read_file(path, &in) == -1) {
		ok(0, "%s: read %s", fx->name, path);
		return;
	}
	run_whole(fx, &in, &got, &complete);
	snprintf(path, sizeof(path), "%s/stream/%s.anthropic.sse", dir,
	    fx->name);
	if (regen && (f = fopen(path, "wb")) != NULL) {
		fwrite(got.data, 1, got.len, f);
		fclose(f);
	}
	if (read_file(path, &want) == -1)
		ok(0, "%s: read %s", fx->name, path);
	else
		is_str(got.data, want.data, "%s: golden transcript", fx->name);

	err = check_output(&c, &got, fx->want_error);
	is_str(err, "", "%s: output follows the protocol", fx->name);
	is_int(complete, fx->want_complete, "%s: stream_complete at the end",
	    fx->name);
	ok(run_splits(fx, &in, &got, &bad_at),
	    "%s: same output however the input is split", fx->name);
	if (bad_at != 0)
		printf("#   differs when split at %zu\n", bad_at);
	ok(run_truncated(fx, &in, &bad_at, why, sizeof(why)),
	    "%s: cut at any byte, the output is still well formed", fx->name);
	if (why[0] != '\0')
		printf("#   cut at %zu: %s\n", bad_at, why);
	buf_free(&in);
	buf_free(&want);
	buf_free(&got);
}

/* ---- behaviour the transcripts do not show ---------------------------- */

#define CHUNK(delta, finish) \
	"{\"choices\":[{\"index\":0,\"delta\":" delta \
	",\"finish_reason\":" finish "}]}"
#define USAGE \
	"{\"choices\":[],\"usage\":{\"prompt_tokens\":10," \
	"\"completion_tokens\":5}}"

/* one payload in a read of its own */
static int
feed(struct run *r, const char *s)
{
	int	 rv = stream_feed(&r->st, s, strlen(s));

	if (stream_flush(&r->st) == -1)
		return -1;
	return rv;
}

static void
test_complete(void)
{
	struct run	 r;

	run_init(&r, 1);
	ok(!stream_complete(&r.st), "complete: not at the start");
	feed(&r, CHUNK("{\"content\":\"a\"}", "null"));
	ok(!stream_complete(&r.st), "complete: not without finish_reason");
	feed(&r, CHUNK("{}", "\"stop\""));
	ok(!stream_complete(&r.st), "complete: waits for the usage chunk");
	feed(&r, USAGE);
	ok(stream_complete(&r.st), "complete: after the usage chunk");
	run_free(&r);

	run_init(&r, 0);
	feed(&r, CHUNK("{}", "\"stop\""));
	ok(stream_complete(&r.st), "complete: no wait without include_usage");
	run_free(&r);

	run_init(&r, 1);
	feed(&r, CHUNK("{}", "\"stop\""));
	feed(&r, "[DONE]");
	ok(stream_complete(&r.st), "complete: [DONE] ends the wait");
	run_free(&r);
}

static void
test_live(void)
{
	struct run	 r;
	size_t		 before;

	run_init(&r, 1);
	feed(&r, CHUNK("{\"role\":\"assistant\"}", "null"));
	ok(strstr(r.out.data ? r.out.data : "", "message_start") != NULL,
	    "live: message_start at the first chunk");
	before = r.emits;
	feed(&r, CHUNK("{\"content\":\"Hel\"}", "null"));
	ok(r.emits == before + 1 && strstr(r.out.data, "\"Hel\"") != NULL,
	    "live: a text delta is written at once, in one emit");
	feed(&r, CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"c0\","
	    "\"function\":{\"name\":\"A\",\"arguments\":\"{\\\"x\\\":\"}}]}",
	    "null"));
	ok(strstr(r.out.data, "\"partial_json\":\"{\\\"x\\\":\"") != NULL,
	    "live: the open tool's first fragment is written at once");
	feed(&r, CHUNK("{\"tool_calls\":[{\"index\":1,\"id\":\"c1\","
	    "\"function\":{\"name\":\"B\",\"arguments\":\"{\\\"y\\\":2}\"}}]}",
	    "null"));
	ok(strstr(r.out.data, "\"c1\"") == NULL,
	    "live: a second tool waits while the first is incomplete");
	feed(&r, CHUNK("{\"tool_calls\":[{\"index\":0,"
	    "\"function\":{\"arguments\":\"1}\"}}]}", "null"));
	ok(strstr(r.out.data, "\"c1\"") != NULL &&
	    strstr(r.out.data, "{\\\"y\\\":2}") != NULL,
	    "live: ... and follows as soon as the first is complete");
	is_int(r.st.ntool_calls, 2, "live: two tool calls counted");
	run_free(&r);
}

#define KEY	"correct horse battery"

/* a key split across chunks is masked; only the tail that may begin it
 * waits, and a tail still waiting at the block's end is written then */
static void
test_secrets(void)
{
	struct run	 r;
	const char	*o;

	ok(secret_add(KEY, strlen(KEY)) == 0, "secrets: a key registered");
	run_init(&r, 0);
	feed(&r, CHUNK("{\"content\":\"the key is correct hor\"}", "null"));
	o = r.out.data != NULL ? r.out.data : "";
	ok(strstr(o, "\"the key is \"") != NULL && strstr(o, "correct") ==
	    NULL, "secrets: the text before a key's beginning goes at once");
	feed(&r, CHUNK("{\"content\":\"se battery, correct\"}", "null"));
	o = r.out.data;
	ok(strstr(o, "\"***, \"") != NULL && strstr(o, "battery") == NULL,
	    "secrets: the key across two chunks is masked");
	feed(&r, CHUNK("{\"content\":\" horses\"}", "null"));
	ok(strstr(o = r.out.data, "\"correct horses\"") != NULL,
	    "secrets: a beginning that was not the key goes on unchanged");
	feed(&r, CHUNK("{\"content\":\" and correct\"}", "null"));
	feed(&r, CHUNK("{\"reasoning_content\":\"x correct\\u0020horse "
	    "battery y\"}", "null"));
	o = r.out.data;
	ok(strstr(o, "\" and \"") != NULL && strstr(o, "\"correct\"}}\n\n"
	    "event: content_block_stop") != NULL,
	    "secrets: a tail still held is written before the block stops");
	ok(strstr(o, "\"thinking\":\"x *** y\"") != NULL,
	    "secrets: thinking is masked too");
	feed(&r, CHUNK("{}", "\"stop\""));
	stream_finish(&r.st);
	ok(strstr(r.out.data, "message_stop") != NULL, "secrets: stream ends");
	ok(strstr(r.ev.preview.data, "***") != NULL &&
	    strstr(r.ev.preview.data, "battery") == NULL,
	    "secrets: the preview has the masked text");
	run_free(&r);

	/* a stream that fails while a tail is held: most of a key is never
	 * sent, a letter or two that tell nothing are */
	run_init(&r, 0);
	feed(&r, CHUNK("{\"content\":\"said correct horse\"}", "null"));
	stream_error(&r.st, "api_error", "cut", "req_1");
	o = r.out.data;
	ok(strstr(o, "\"said \"") != NULL && strstr(o, "corr") == NULL &&
	    strstr(o, "event: error") != NULL,
	    "secrets: a long held tail is dropped when the stream fails");
	run_free(&r);
	run_init(&r, 0);
	feed(&r, CHUNK("{\"content\":\"words, co\"}", "null"));
	stream_error(&r.st, "api_error", "cut", "req_1");
	o = r.out.data;
	ok(strstr(o, "\"co\"") != NULL && strstr(o, "\"co\"") <
	    strstr(o, "event: error") &&
	    strstr(o, "content_block_stop") == NULL,
	    "secrets: a short held tail goes before the error, block open");
	run_free(&r);
	secret_clear();
}

static void
test_client_gone(void)
{
	struct run	 r;
	size_t		 n;

	run_init(&r, 0);
	r.fail_at = 2;
	ok(feed(&r, CHUNK("{\"content\":\"a\"}", "null")) == 0,
	    "gone: first emit fine");
	is_int(feed(&r, CHUNK("{\"content\":\"b\"}", "null")), -1,
	    "gone: failed emit -> -1");
	ok(r.ev.client_gone, "gone: flag set");
	n = r.emits;
	is_int(feed(&r, CHUNK("{\"content\":\"c\"}", "null")), -1,
	    "gone: later feeds -> -1");
	is_int(stream_finish(&r.st), -1, "gone: finish -> -1");
	is_int(stream_ping(&r.st), -1, "gone: ping -> -1");
	is_int(stream_error(&r.st, "api_error", "x", NULL), -1,
	    "gone: error -> -1");
	is_int(r.emits, n, "gone: nothing more is written");
	run_free(&r);
}

static void
test_errors(void)
{
	struct run	 r;

	run_init(&r, 0);
	is_int(feed(&r, "not json"), -1, "garbage: -1");
	ok(!r.ev.client_gone, "garbage: not the client");
	is_str(r.st.error_type, "api_error", "garbage: error type");
	ok(strstr(r.st.error, "not json") != NULL, "garbage: message quotes "
	    "the chunk: %s", r.st.error);
	run_free(&r);

	run_init(&r, 0);
	is_int(feed(&r, "{\"object\":\"chat.completion.chunk\"}"), -1,
	    "no choices, no usage: -1");
	is_int(feed(&r, "[1,2]"), -1, "an array: -1");
	is_int(feed(&r, "{\"choices\":[]} x"), -1, "trailing garbage: -1");
	is_int(feed(&r, "  "), 0, "blank payload ignored");
	run_free(&r);

	run_init(&r, 0);
	is_int(feed(&r, "{\"error\":{\"message\":\"Rate limit reached\","
	    "\"type\":\"rate_limit_exceeded\",\"code\":429}}"), -1,
	    "upstream error chunk: -1");
	is_str(r.st.error_type, "rate_limit_error", "upstream 429 type");
	is_str(r.st.error, "upstream error: Rate limit reached",
	    "upstream error message");
	run_free(&r);

	/* an error is the event alone, after whatever was open, as
	 * Anthropic's API sends it: no signature, no stop, no message_delta */
	run_init(&r, 0);
	feed(&r, CHUNK("{\"reasoning_content\":\"hm\"}", "null"));
	stream_error(&r.st, "timeout_error", "upstream went silent", "req_9");
	ok(r.out.data != NULL && strstr(r.out.data, "\"thinking\":\"hm\"}}\n\n"
	    "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
	    "\"timeout_error\",\"message\":\"upstream went silent\"},"
	    "\"request_id\":\"req_9\"}\n\n") != NULL &&
	    strstr(r.out.data, "signature_delta") == NULL &&
	    strstr(r.out.data, "content_block_stop") == NULL,
	    "error: the thinking block left open, the envelope right after "
	    "its last delta");
	is_int(stream_finish(&r.st), 0, "error: finish afterwards is a no-op");
	ok(strstr(r.out.data, "message_stop") == NULL,
	    "error: no message_stop after an error");
	run_free(&r);

	run_init(&r, 0);
	feed(&r, CHUNK("{\"content\":\"half\"}", "null"));
	stream_error(&r.st, "api_error", "cut", NULL);
	ok(r.out.data != NULL && strstr(r.out.data, "\"text\":\"half\"}}\n\n"
	    "event: error\n") != NULL &&
	    strstr(r.out.data, "content_block_stop") == NULL &&
	    strstr(r.out.data, "message_delta") == NULL,
	    "error: a text block left open, nothing but the error after it");
	run_free(&r);

	run_init(&r, 0);
	feed(&r, CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"c\","
	    "\"function\":{\"name\":\"A\",\"arguments\":\"{}\"}}]}", "null"));
	stream_error(&r.st, "api_error", "cut", NULL);
	ok(r.out.data != NULL && strstr(r.out.data, "content_block_stop") ==
	    NULL, "error: even a complete tool call is left open");
	run_free(&r);

	run_init(&r, 0);
	feed(&r, CHUNK("{\"role\":\"assistant\"}", "null"));
	stream_error(&r.st, "overloaded_error", "busy", NULL);
	ok(r.out.data != NULL && strncmp(r.out.data, "event: message_start\n",
	    21) == 0 && strstr(r.out.data, "}}}\n\nevent: error\n") != NULL &&
	    strstr(r.out.data, "content_block") == NULL,
	    "error before any block: message_start, then the error");
	run_free(&r);
}

static size_t
utf8_count(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void
test_ping_and_counters(void)
{
	struct run	 r;
	size_t		 i;

	run_init(&r, 0);
	stream_ping(&r.st);
	ok(r.out.data != NULL && strncmp(r.out.data,
	    "event: message_start\n", 21) == 0 &&
	    strstr(r.out.data, "event: ping\ndata: {\"type\":\"ping\"}\n\n")
	    != NULL, "ping: message_start first, then ping");
	feed(&r, CHUNK("{\"content\":\"h\\u00e9llo w\\u00f6rld, "
	    "this is a long text\"}", "null"));
	feed(&r, CHUNK("{\"content\":\" more\"}", "\"stop\""));
	feed(&r, USAGE);
	is_int(r.st.chunks, 3, "counters: chunks");
	is_int(r.ev.text_chars, 37, "counters: text characters");
	is_str(r.ev.preview.data, "h\xc3\xa9llo w\xc3\xb6rld, this is a long "
	    "text more", "counters: preview");
	stream_finish(&r.st);
	ok(strstr(r.out.data, "\"usage\":{\"input_tokens\":10,"
	    "\"output_tokens\":5,") != NULL, "usage from the usage chunk");
	run_free(&r);

	/* the log line cuts at preview_max; the stream keeps 256 more
	 * characters so the log's masking sees a run across the cut whole */
	run_init(&r, 0);
	r.ev.preview_max = 4;
	feed(&r, CHUNK("{\"content\":\"h\\u00e9ll\"}", "null"));
	feed(&r, CHUNK("{\"content\":\"o\"}", "null"));
	is_str(r.ev.preview.data, "h\xc3\xa9llo", "preview: all of a short text");
	for (i = 0; i < 10; i++)
		feed(&r, CHUNK("{\"content\":\"\\u00e9123456789012345678901234"
		    "567890123456789\"}", "null"));
	is_int(utf8_count(r.ev.preview.data), 4 + 256,
	    "preview: 4 characters and 256 for the log's masking");
	run_free(&r);
}

static void
test_quirks(void)
{
	struct run	 r;

	run_init(&r, 0);
	feed(&r, CHUNK("{\"content\":\"a\"}", "\"\""));
	ok(!stream_complete(&r.st), "quirks: finish_reason \"\" is no finish");
	feed(&r, "{\"choices\":[{\"index\":0,\"delta\":{},"
	    "\"finish_reason\":\"stop\",\"matched_stop\":\"STOP\"}]}");
	stream_finish(&r.st);
	ok(strstr(r.out.data, "{\"stop_reason\":\"stop_sequence\","
	    "\"stop_sequence\":\"STOP\"}") != NULL,
	    "quirks: SGLang matched_stop string -> stop_sequence");
	run_free(&r);

	run_init(&r, 0);
	feed(&r, "{\"choices\":[{\"index\":0,\"delta\":{},"
	    "\"finish_reason\":\"stop\",\"stop_reason\":151643}]}");
	stream_finish(&r.st);
	ok(strstr(r.out.data, "{\"stop_reason\":\"end_turn\","
	    "\"stop_sequence\":null}") != NULL,
	    "quirks: vLLM token id stop_reason is no stop_sequence");
	run_free(&r);

	run_init(&r, 0);
	feed(&r, CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"c\","
	    "\"function\":{\"name\":\"A\",\"arguments\":\"{}\"}}]}",
	    "\"stop\""));
	stream_finish(&r.st);
	ok(strstr(r.out.data, "\"stop_reason\":\"tool_use\"") != NULL,
	    "quirks: \"stop\" after tool calls -> tool_use");
	run_free(&r);
}

/*
 * Issue 10, item 25: the events of one upstream read leave in one emit
 * (one write to the client), the final ones in one more, marked last; a
 * read that completes no event emits nothing.
 */
static void
test_batches(void)
{
	struct run	 r;
	struct buf	 in = BUF_INITIALIZER, one = BUF_INITIALIZER;
	size_t		 i;

	buf_puts(&in, "data: " CHUNK("{\"role\":\"assistant\","
	    "\"content\":\"\"}", "null") "\n\n");
	for (i = 0; i < 50; i++)
		buf_printf(&in, "data: " CHUNK("{\"content\":\" w%zu\"}",
		    "null") "\n\n", i);
	buf_puts(&in, "data: " CHUNK("{}", "\"stop\"") "\n\ndata: " USAGE
	    "\n\ndata: [DONE]\n\n");

	run_init(&r, 1);
	run_feed(&r, in.data, in.len);
	is_int(r.emits, 1, "batch: 53 chunks in one read -> one emit");
	ok(!r.ended, "batch: ... not marked last");
	run_feed(&r, "data: {\"choices\":[]}\n", 22);
	is_int(r.emits, 1, "batch: a read that completes no event emits "
	    "nothing");
	run_end(&r);
	is_int(r.emits, 2, "batch: the finish is one more emit");
	ok(r.ended && r.after_end == 0, "batch: ... marked last, nothing "
	    "after it");
	normalise(&r.out);
	buf_append(&one, r.out.data, r.out.len);
	run_free(&r);

	/* the same bytes as one read per chunk */
	run_init(&r, 1);
	for (i = 0; i < in.len; ) {
		const char *e = strstr(in.data + i, "\n\n");
		size_t n = (size_t)(e - (in.data + i)) + 2;

		run_feed(&r, in.data + i, n);
		i += n;
	}
	ok(r.emits >= 52, "batch: one read per chunk -> an emit per chunk "
	    "(%zu)", r.emits);
	run_end(&r);
	normalise(&r.out);
	is_str(r.out.data, one.data, "batch: the same events either way");
	run_free(&r);

	/* events before bad input in the same read, then the error: the
	 * error is emitted with them, last */
	run_init(&r, 1);
	buf_reset(&in);
	buf_puts(&in, "data: " CHUNK("{\"content\":\"ok\"}", "null")
	    "\n\ndata: {bad\n\n");
	run_feed(&r, in.data, in.len);
	is_int(r.emits, 1, "batch: events and the error of one read: one "
	    "emit");
	ok(r.ended && strstr(r.out.data, "\"ok\"") != NULL &&
	    strstr(r.out.data, "event: error") != NULL,
	    "batch: ... with both, marked last");
	run_free(&r);

	/* a ping goes at once, and takes what was collected with it */
	run_init(&r, 1);
	stream_feed(&r.st, CHUNK("{\"content\":\"a\"}", "null"),
	    strlen(CHUNK("{\"content\":\"a\"}", "null")));
	is_int(r.emits, 0, "batch: nothing emitted before the flush");
	stream_ping(&r.st);
	ok(r.emits == 1 && strstr(r.out.data, "\"a\"") != NULL &&
	    strstr(r.out.data, "event: ping") != NULL && !r.ended,
	    "batch: a ping is one emit with what was pending");
	run_free(&r);
	buf_free(&in);
	buf_free(&one);
}

/* memory runs out in the middle of an event: that event is never
 * written, not even in part, and the error follows the whole ones */
static void
test_oom_mid_event(void)
{
#if COUNT_ALLOCS
	struct run	 r;
	struct check	 c;
	struct buf	 big = BUF_INITIALIZER, chunk = BUF_INITIALIZER;
	const char	*err;
	int		 rv;

	while (big.len < 30000)
		buf_puts(&big, "abcdefghij");
	run_init(&r, 0);
	/* a large chunk whose events are small: the scanner's buffers fit
	 * what follows, the output buffer does not */
	buf_printf(&chunk, "{\"pad\":\"%s%s\",\"choices\":[{\"index\":0,"
	    "\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}",
	    big.data, big.data);
	feed(&r, chunk.data);
	buf_reset(&chunk);
	buf_printf(&chunk, CHUNK("{\"content\":\"%s\"}", "null"), big.data);
	fail_allocs = 1;
	rv = stream_feed(&r.st, chunk.data, chunk.len);
	fail_allocs = 0;
	is_int(rv, -1, "oom: the delta that cannot be built fails the feed");
	stream_error(&r.st, "api_error", "out of memory", NULL);
	err = check_output(&c, &r.out, 1);
	is_str(err, "", "oom: only whole events, then the error");
	ok(strstr(r.out.data, "abcdefghij") == NULL, "oom: nothing of the "
	    "unbuilt delta was written");
	run_free(&r);
	buf_free(&big);
	buf_free(&chunk);
#else
	ok(1, "out of memory mid-event # SKIP ASan owns malloc here");
#endif
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
	(void)ev;
	(void)evlen;
	return stream_feed(arg, data, len);
}
#endif

/* once its buffers fit, the relay allocates nothing per chunk: text,
 * reasoning, and a tool call's arguments streamed live, in reads of
 * several chunks */
static void
test_no_alloc(void)
{
#if COUNT_ALLOCS
	static const char *const shapes[] = {
		"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":"
		    "{\"reasoning_content\":\"think ### \\u00e9\"},"
		    "\"finish_reason\":null}]}\n\n",
		"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":"
		    "{\"content\":\"word ### \\\"q\\\"\"},"
		    "\"finish_reason\":null}]}\n\n",
		"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":"
		    "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
		    "\"\\\"k###\\\":1,\"}}]},\"finish_reason\":null}]}\n\n",
	};
	static const char first_call[] =
	    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":"
	    "[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\","
	    "\"function\":{\"name\":\"Bash\",\"arguments\":\"{\"}}]},"
	    "\"finish_reason\":null}]}\n\n";
	/* text chunks end in the beginning of a key, held and then let go
	 * at the next chunk; thinking chunks hold a whole one, and end in
	 * the beginning of another */
	static const char *const keys[] = { "\"q\" is the beginning of a key",
	    "think 31", "\xc3\xa9 is not a key at all" };
	struct sse_decoder	 dec;
	struct aevent		 ae;
	struct stream		 st;
	char			 ev[512], *num;
	size_t			 bytes = 0, k, i;
	unsigned long		 before[3], used[3];

	for (k = 0; k < 3; k++)
		secret_add(keys[k], strlen(keys[k]));
	for (k = 0; k < 3; k++) {
		sse_decoder_init(&dec);
		aevent_init(&ae, 0, count_emit, &bytes);
		stream_init(&st, &ae, MSG_ID, MODEL, INPUT_EST, 0);
		if (k == 2)
			sse_decoder_feed(&dec, first_call, strlen(first_call),
			    relay_event, &st);
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
			    &st);
			if (i % 5 == 4)		/* reads of 5 chunks */
				stream_flush(&st);
		}
		used[k] = allocs - before[k];
		ok(!ae.client_gone && st.error[0] == '\0',
		    "no-alloc stream %zu ran without error", k);
		stream_free(&st);
		aevent_free(&ae);
		sse_decoder_free(&dec);
	}
	secret_clear();
	is_int(used[0], 0, "300 reasoning chunks: no allocation");
	is_int(used[1], 0, "300 text chunks: no allocation");
	is_int(used[2], 0, "300 live tool-argument chunks: no allocation");
	ok(bytes > 300 * 3 * 50, "they produced events (%zu bytes)", bytes);
#else
	ok(1, "no allocation per chunk # SKIP ASan owns malloc here");
#endif
}

int
main(void)
{
	const char	*dir = getenv("CP_TEST_DATA");
	int		 regen = getenv("CP_TEST_REGEN") != NULL;
	size_t		 i;

	if (dir == NULL)
		dir = "tests/data";
	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		test_fixture(dir, &fixtures[i], regen);
	test_complete();
	test_live();
	test_secrets();
	test_client_gone();
	test_errors();
	test_ping_and_counters();
	test_quirks();
	test_batches();
	test_oom_mid_event();
	test_no_alloc();
	return tap_done();
}
