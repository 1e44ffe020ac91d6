/*
 * fuzz_resp: the "responses" upstream kind's translators and the schema
 * dialects, on the same input read four ways.
 *
 * Pass 1, the stream relay: the input as a Responses API event stream, fed
 * in pieces through the SSE decoder into resp_stream, flushed after every
 * piece as messages.c flushes after every upstream read; a failure ends
 * it with resp_stream_error, a clean end with resp_stream_finish. What is
 * emitted must be whole events in the order DESIGN.md section 5 promises
 * (message_start first, blocks 0, 1, 2 ... one open at a time, deltas
 * that fit their block, a signature before a thinking block stops, no
 * open block at message_delta, nothing after message_stop or error, one
 * of the two at the end), and the end marked once, by the last write.
 * Pass 2: the input as a Responses answer: resp_resp gives a message
 * whose blocks are of the kinds it makes, or an error with a status.
 * Pass 3: the input as a tool schema: schema_rewrite gives a schema in
 * gemini's subset (its keywords only, one string type, string enums,
 * anyOf alone with two or more branches, required naming properties).
 * Pass 4: the input as an Anthropic request, parsed as messages.c parses
 * it: resp_req and xlate_req must agree, to the message, on what they
 * refuse (one walk, one set of rules).
 */
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "conf.h"
#include "fuzz.h"
#include "jsonparse.h"
#include "models.h"
#include "resp.h"
#include "resp_stream.h"
#include "schema.h"
#include "sse.h"
#include "xlate.h"

static struct conf_model	 model = { .id = "m", .remote_id = "gpt-5",
				    .reasoning = 1, .max_tokens = 64000 };
static struct conf_provider	 provider = { .name = "fuzz",
				    .strip_attribution = 1, .pdf = 1 };
static struct model_route	 route = { &provider, &model };

/* ---- pass 1: the relay and the grammar of what it writes ---------------- */

struct grammar {
	int	 started, stopped, errored, deltas;
	int	 open, next;		/* open block, -1 none */
	char	 kind[16];
	int	 sig;
};

struct relay {
	struct aevent		 ev;
	struct resp_stream	 st;
	struct sse_decoder	 out;	/* decodes what we emit */
	struct grammar		 g;
	int			 failed, lasts;
};

static const char *
jstr(json_object *o, const char *k)
{
	json_object	*v;

	return json_object_object_get_ex(o, k, &v) &&
	    json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

static int
jint(json_object *o, const char *k)
{
	json_object	*v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int(v) :
	    -1;
}

static void
check_delta(struct grammar *g, json_object *o)
{
	json_object	*d;
	const char	*t;

	FUZZ_CHECK(g->open != -1 && jint(o, "index") == g->open,
	    "delta for block %d, open %d", jint(o, "index"), g->open);
	json_object_object_get_ex(o, "delta", &d);
	t = jstr(d, "type");
	FUZZ_CHECK(t != NULL, "delta without a type");
	if (strcmp(t, "signature_delta") == 0) {
		FUZZ_CHECK(strcmp(g->kind, "thinking") == 0 && !g->sig &&
		    jstr(d, "signature") != NULL &&
		    *jstr(d, "signature") != '\0', "bad signature_delta");
		g->sig = 1;
		return;
	}
	FUZZ_CHECK((strcmp(g->kind, "text") == 0 && strcmp(t,
	    "text_delta") == 0) || (strcmp(g->kind, "thinking") == 0 &&
	    strcmp(t, "thinking_delta") == 0 && !g->sig) ||
	    (strcmp(g->kind, "tool_use") == 0 && strcmp(t,
	    "input_json_delta") == 0), "%s in a %s block", t, g->kind);
}

static int
grammar_event(void *arg, const char *ev, size_t evlen, const char *data,
    size_t len)
{
	struct grammar	*g = arg;
	json_object	*o, *cb;
	char		 name[64];
	const char	*t;

	FUZZ_CHECK(evlen < sizeof(name), "event name %zu bytes", evlen);
	memcpy(name, ev, evlen);
	name[evlen] = '\0';
	o = json_tokener_parse(data);
	(void)len;
	FUZZ_CHECK(o != NULL && (t = jstr(o, "type")) != NULL &&
	    strcmp(t, name) == 0, "event %s: data %s", name, data);
	FUZZ_CHECK(!g->stopped && !g->errored, "%s after the end", name);
	if (strcmp(name, "error") == 0)
		g->errored = 1;
	else if (strcmp(name, "ping") == 0)
		;
	else if (!g->started) {
		FUZZ_CHECK(strcmp(name, "message_start") == 0,
		    "%s before message_start", name);
		g->started = 1;
	} else if (strcmp(name, "content_block_start") == 0) {
		FUZZ_CHECK(g->open == -1 && !g->deltas &&
		    jint(o, "index") == g->next, "block start %d",
		    jint(o, "index"));
		json_object_object_get_ex(o, "content_block", &cb);
		strlcpy(g->kind, jstr(cb, "type") ? jstr(cb, "type") : "",
		    sizeof(g->kind));
		g->open = g->next++;
		g->sig = 0;
	} else if (strcmp(name, "content_block_delta") == 0)
		check_delta(g, o);
	else if (strcmp(name, "content_block_stop") == 0) {
		FUZZ_CHECK(g->open == jint(o, "index") && g->open != -1,
		    "stop of %d, open %d", jint(o, "index"), g->open);
		FUZZ_CHECK(strcmp(g->kind, "thinking") != 0 || g->sig,
		    "thinking block stopped without a signature");
		g->open = -1;
	} else if (strcmp(name, "message_delta") == 0) {
		FUZZ_CHECK(g->open == -1 && !g->deltas, "message_delta");
		g->deltas = 1;
	} else {
		FUZZ_CHECK(strcmp(name, "message_stop") == 0 && g->deltas,
		    "unexpected %s", name);
		g->stopped = 1;
	}
	json_object_put(o);
	return 0;
}

static int
relay_emit(void *arg, const char *p, size_t len, int last)
{
	struct relay	*r = arg;

	FUZZ_CHECK(r->lasts == 0, "%zu bytes written after the end", len);
	r->lasts += last;
	FUZZ_CHECK(sse_decoder_feed(&r->out, p, len, grammar_event, &r->g) ==
	    0, "emitted bytes are not SSE");
	return 0;
}

static int
relay_event(void *arg, const char *ev, size_t evlen, const char *data,
    size_t len)
{
	struct relay	*r = arg;

	if (r->failed)
		return 0;
	if (resp_stream_feed(&r->st, ev, evlen, data, len) == -1) {
		r->failed = 1;
		FUZZ_CHECK(r->st.error[0] != '\0', "failed without a message");
		resp_stream_error(&r->st, r->st.error_type, r->st.error, NULL);
	}
	return 0;
}

static void
pass_stream(const uint8_t *data, size_t len)
{
	static struct relay	 r;	/* 60 KB: not on the stack */
	struct sse_decoder	 in;
	uint64_t		 seed = fuzz_seed(data, len);
	size_t			 pos, k;

	memset(&r, 0, sizeof(r));
	r.g.open = -1;
	sse_decoder_init(&in);
	sse_decoder_init(&r.out);
	aevent_init(&r.ev, 40, relay_emit, &r);
	resp_stream_init(&r.st, &r.ev, "msg_fuzz", "claude-fuzz", 100, &route);
	for (pos = 0; pos < len && !r.failed; pos += k) {
		k = fuzz_piece(&seed, len - pos);
		if (sse_decoder_feed(&in, (const char *)data + pos, k,
		    relay_event, &r) == -1)
			break;
		resp_stream_flush(&r.st);
	}
	sse_decoder_finish(&in, relay_event, &r);
	resp_stream_finish(&r.st);
	sse_decoder_finish(&r.out, grammar_event, &r.g);
	FUZZ_CHECK(r.lasts == 1, "the end marked %d times", r.lasts);
	FUZZ_CHECK(r.g.stopped || r.g.errored, "neither message_stop nor error");
	FUZZ_CHECK(r.st.usage_in >= 0 && r.st.usage_out >= 0 &&
	    r.st.usage_cached >= 0 && r.st.usage_written >= 0,
	    "negative token counts");
	resp_stream_free(&r.st);
	aevent_free(&r.ev);
	sse_decoder_free(&in);
	sse_decoder_free(&r.out);
}

/* ---- pass 2: an answer -------------------------------------------------- */

static void
pass_answer(json_object *o)
{
	struct xlate_err err;
	json_object	*m, *content, *b;
	const char	*t;
	size_t		 i, n;

	memset(&err, 0, sizeof(err));
	if ((m = resp_resp(o, "claude-fuzz", NULL, &route, &err)) == NULL) {
		FUZZ_CHECK(err.status >= 400 && err.message[0] != '\0',
		    "NULL with status %d", err.status);
		return;
	}
	FUZZ_CHECK(json_object_object_get_ex(m, "content", &content),
	    "no content");
	n = json_object_array_length(content);
	for (i = 0; i < n; i++) {
		b = json_object_array_get_idx(content, i);
		t = jstr(b, "type");
		FUZZ_CHECK(t != NULL && (strcmp(t, "text") == 0 ||
		    strcmp(t, "tool_use") == 0 || (strcmp(t, "thinking") == 0 &&
		    jstr(b, "signature") != NULL)), "block %zu", i);
	}
	json_object_put(m);
}

/* ---- pass 3: a schema --------------------------------------------------- */

static const char *const gemini_keywords[] = {
	"type", "format", "title", "description", "nullable", "enum",
	"default", "example", "properties", "required", "propertyOrdering",
	"minProperties", "maxProperties", "items", "minItems", "maxItems",
	"minLength", "maxLength", "pattern", "minimum", "maximum", "anyOf",
	NULL
};

static void
check_gemini(json_object *s, int depth)
{
	json_object	*v, *props = NULL;
	size_t		 i, n;
	int		 known;

	FUZZ_CHECK(json_object_is_type(s, json_type_object), "not an object");
	FUZZ_CHECK(depth < 200, "too deep");
	json_object_object_foreach(s, k, val) {
		(void)val;
		for (i = 0, known = 0; gemini_keywords[i] != NULL; i++)
			known |= strcmp(gemini_keywords[i], k) == 0;
		FUZZ_CHECK(known, "keyword %s", k);
	}
	if (json_object_object_get_ex(s, "type", &v))
		FUZZ_CHECK(json_object_is_type(v, json_type_string), "type");
	if (json_object_object_get_ex(s, "enum", &v)) {
		n = json_object_array_length(v);
		FUZZ_CHECK(n > 0, "empty enum");
		for (i = 0; i < n; i++)
			FUZZ_CHECK(json_object_is_type(
			    json_object_array_get_idx(v, i), json_type_string),
			    "enum value");
	}
	if (json_object_object_get_ex(s, "anyOf", &v)) {
		n = json_object_array_length(v);
		FUZZ_CHECK(n >= 2 && json_object_object_length(s) == 1,
		    "anyOf of %zu with %d keys", n,
		    json_object_object_length(s));
		for (i = 0; i < n; i++)
			check_gemini(json_object_array_get_idx(v, i),
			    depth + 1);
	}
	json_object_object_get_ex(s, "properties", &props);
	if (json_object_object_get_ex(s, "required", &v)) {
		n = json_object_array_length(v);
		FUZZ_CHECK(n > 0, "empty required");
		for (i = 0; i < n; i++)
			FUZZ_CHECK(props != NULL &&
			    json_object_object_get_ex(props,
			    json_object_get_string(json_object_array_get_idx(v,
			    i)), NULL), "required without its property");
	}
	if (props != NULL) {
		json_object_object_foreach(props, pk, pv) {
			(void)pk;
			check_gemini(pv, depth + 1);
		}
	}
	if (json_object_object_get_ex(s, "items", &v))
		check_gemini(v, depth + 1);
}

static void
pass_schema(json_object *o)
{
	json_object	*s;

	s = schema_rewrite(o, schema_dialect("gemini"));
	FUZZ_CHECK(s != NULL, "schema_rewrite failed");
	check_gemini(s, 0);
	json_object_put(s);
}

/* ---- pass 4: a request, both translators -------------------------------- */

static void
pass_request(const uint8_t *data, size_t len)
{
	static const struct jsonparse_opts opts = { 64, 0, xlate_req_opaque };
	struct jsonlex_err	 perr;
	struct xlate_err	 e1, e2;
	json_object		*req, *a, *b;
	size_t			 end;
	int			 stream = len > 0 && (data[0] & 1);

	if ((req = jsonparse((const char *)data, len, &opts, &end,
	    &perr)) == NULL)
		return;
	memset(&e1, 0, sizeof(e1));
	memset(&e2, 0, sizeof(e2));
	a = xlate_req(req, &route, stream, "fuzz", &e1);
	b = resp_req(req, &route, stream, "fuzz", &e2);
	FUZZ_CHECK((a == NULL) == (b == NULL), "xlate_req: %s; resp_req: %s",
	    a ? "ok" : e1.message, b ? "ok" : e2.message);
	if (a == NULL)
		FUZZ_CHECK(e1.status == e2.status &&
		    strcmp(e1.message, e2.message) == 0, "%d %s / %d %s",
		    e1.status, e1.message, e2.status, e2.message);
	else
		FUZZ_CHECK(json_object_to_json_string(b) != NULL,
		    "unserialisable request");
	json_object_put(a);
	json_object_put(b);
	json_object_put(req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct json_tokener	*tok;
	json_object		*o;

	pass_stream(data, len);
	if (len > 0 && len < INT32_MAX &&
	    (tok = json_tokener_new_ex(64)) != NULL) {
		o = json_tokener_parse_ex(tok, (const char *)data, (int)len);
		json_tokener_free(tok);
		if (o != NULL) {
			pass_answer(o);
			pass_schema(o);
			json_object_put(o);
		}
	}
	pass_request(data, len);
	return 0;
}
