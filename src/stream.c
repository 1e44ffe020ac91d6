/*
 * stream.c: OpenAI chat.completion.chunk payloads -> Anthropic stream events.
 *
 * Input: one SSE data payload at a time (stream_feed), "[DONE]" included.
 * Output: whole Anthropic events through aevent.c (which frames them, masks
 * configured secrets in text, thinking and tool input, and keeps the
 * indexes),
 * collected until the caller says its upstream read is done (stream_flush)
 * and then handed to the writer in one call, so the payloads of one read
 * leave in one write; a ping, the finish and an error are one call each,
 * with whatever was still collected, the last two marked as the stream's
 * end. Nothing is held back past the read that produced it, except what
 * the protocol forces.
 *
 * Promises (DESIGN.md §5): message_start first, with a complete usage
 * object; content blocks indexed 0, 1, 2... with exactly one open at a
 * time, each started, filled with its own kind of delta and stopped; a
 * thinking block gets a signature_delta just before its stop; tool_use
 * blocks start with input {} and receive their arguments only through
 * input_json_delta; all blocks are closed before the single message_delta,
 * which is followed by message_stop. An error is one error event and
 * nothing more, as Anthropic's API sends it: the open block, if any, is
 * left open (no content_block_stop, signature_delta or message_delta), so
 * clients drop the unfinished message and retry.
 *
 * Tool calls. OpenAI streams calls keyed by tool_calls[].index, and lets
 * the fragments of parallel calls interleave; Anthropic allows one open
 * block. The policy:
 *  - calls are kept in order of first appearance; the key is .index, or
 *    the position in the chunk's array when .index is missing; an entry
 *    whose upstream id differs from the id of the call holding its key is
 *    a new call (upstreams that send every call at index 0);
 *  - a call's block can start once its name is known and its id is known
 *    (an id never sent is generated when the first arguments arrive, or at
 *    the finish); fragments that arrive earlier wait in tools[].pending;
 *  - the arguments of every call are scanned as they arrive; once they form
 *    a complete JSON object the call is "complete", and bytes after that
 *    are dropped (some upstreams repeat the arguments in their last chunk);
 *  - the open call's fragments are streamed live; another call's fragments
 *    wait in its pending buffer. When the open call is complete, the next
 *    waiting call in order is opened, its pending bytes are sent as one
 *    delta and it streams live from then on;
 *  - at the finish_reason everything still waiting is opened, emptied and
 *    closed in order; a call that never received arguments gets "{}".
 *  - a call the caller runs itself (stream_hold: the server-tool loop's
 *    web_search and web_fetch) never opens a block: its arguments are
 *    collected, and once complete it is handed to the caller in its place
 *    (the open block closed first), which writes what stands for it.
 * So sequential calls, whole arguments in one chunk (Ollama) and
 * interleaved parallel calls all yield, per block, the concatenation of
 * that call's fragments. Only text arriving in the middle of an unfinished
 * call ends that call early (a change of kind closes a block); its later
 * fragments are dropped and logged.
 *
 * Two optional passengers: a tool call's thought signature (Gemini,
 * extra_content on its first delta) rides in the id its block starts
 * with (gsig.c, s->gsig_key); with stream_repair, content text goes
 * through tcrepair, which holds back only what may still become a call
 * written as text and hands back text and whole calls (each call one
 * tool_use block, opened, filled and closed at once).
 *
 * Failure: stream_feed returns -1 when the payload is not a chunk we
 * understand, carries an upstream error, or memory runs out (error_type
 * and error set, for the caller's stream_error(); the whole events before
 * it stay valid); every call returns -1 once a write has failed
 * (ev->client_gone set: nothing more is written). An event that could not
 * be built whole is never written.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aevent.h"
#include "buf.h"
#include "jsonscan.h"
#include "log.h"
#include "secret.h"
#include "stream.h"
#include "util.h"
#include "xlate.h"

#define STREAM_JSON_DEPTH	64	/* nesting allowed in a chunk */

#define KIND_NONE	0
#define KIND_TEXT	1
#define KIND_THINKING	2
#define KIND_TOOL	3

/* stream_tool.json_state: how far the arguments' JSON has come */
#define TOOL_JSON_EMPTY		0	/* nothing but whitespace */
#define TOOL_JSON_VALUE		1	/* inside an object or array */
#define TOOL_JSON_STRING	2	/* ... and inside a string */
#define TOOL_JSON_ESCAPE	3	/* ... just after a backslash */
#define TOOL_JSON_DONE		4	/* the outermost value closed */
#define TOOL_JSON_OPAQUE	5	/* not an object: never "complete" */

static int	block_close(struct stream *);

/* ---- errors ------------------------------------------------ */

static int
stream_fail(struct stream *s, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
stream_fail(struct stream *s, const char *type, const char *fmt, ...)
{
	va_list	 ap;

	strlcpy(s->error_type, type, sizeof(s->error_type));
	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	return -1;
}

static int
stream_oom(struct stream *s)
{
	return stream_fail(s, "api_error", "out of memory");
}

/* ---- small helpers ---------------------------------------------------- */

static int
is_blank(const char *p, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (!isspace((unsigned char)p[i]))
			return 0;
	return 1;
}

/* the string member of chunk value o named key, or NULL (absent, null,
 * not a string); valid until the next chunk */
static const char *
jstr(const struct stream *s, int o, const char *key, size_t *len)
{
	return jsonscan_str(&s->js, jsonscan_member(&s->js, o, key), len);
}

/* member key of o if it has that type, else -1 */
static int
jget(const struct stream *s, int o, const char *key, int type)
{
	int	 v = jsonscan_member(&s->js, o, key);

	return v != -1 && jsonscan_type(&s->js, v) == type ? v : -1;
}

/* tool ids: [A-Za-z0-9_-] only, as Anthropic clients expect; the same
 * rule as non-streaming answers */
static void
tool_id_set(struct stream_tool *t, const char *id)
{
	xlate_tool_id(t->id, sizeof(t->id), id);
}

/* ---- blocks ----------------------------------------------------------- */

static int
block_open(struct stream *s, int kind, struct stream_tool *t)
{
	static const char *const types[] = { "", "text", "thinking",
	    "tool_use" };
	int	 index;

	if (block_close(s) == -1)
		return -1;
	if ((index = aevent_block_start(s->ev, types[kind], t == NULL ? NULL :
	    t->wire_id != NULL ? t->wire_id : t->id,
	    t != NULL ? t->name : NULL)) == -1)
		return stream_oom(s);
	s->open_kind = kind;
	if (t != NULL) {
		t->block = index;
		s->open_tool = t - s->tools;
	}
	return 0;
}

static int
block_close(struct stream *s)
{
	char			 sig[XLATE_SIG_SIZE] = "";
	struct stream_tool	*t;

	switch (s->open_kind) {
	case KIND_NONE:
		return 0;
	case KIND_THINKING:
		/* opaque to the client; it only has to be non-empty */
		xlate_signature(sig, sizeof(sig));
		break;
	case KIND_TOOL:
		t = &s->tools[s->open_tool];
		if (t->json_state == TOOL_JSON_EMPTY &&
		    aevent_delta(s->ev, "input_json_delta", "partial_json",
		    "{}", 2) == -1)
			return stream_oom(s);
		s->open_tool = -1;
		break;
	}
	if (aevent_block_stop(s->ev, sig, strlen(sig)) == -1)
		return stream_oom(s);
	s->open_kind = KIND_NONE;
	return 0;
}

/* text or thinking: append to the open block of that kind, or open one;
 * aevent masks configured secrets in it */
static int
block_text(struct stream *s, int kind, const char *p, size_t len)
{
	if (len == 0)
		return 0;
	if (s->open_kind != kind && block_open(s, kind, NULL) == -1)
		return -1;
	if (aevent_text(s->ev, p, len) == -1)
		return stream_oom(s);
	return 0;
}

/* ---- tool calls ------------------------------------------------------- */

/*
 * Scan fragment p of t's arguments; returns how many of its bytes belong
 * to the arguments (everything up to the end of the outermost JSON value;
 * nothing once it has ended).
 */
static size_t
tool_scan(struct stream_tool *t, const char *p, size_t len)
{
	size_t	 i;
	char	 c;

	for (i = 0; i < len; i++) {
		c = p[i];
		switch (t->json_state) {
		case TOOL_JSON_DONE:
			return i;
		case TOOL_JSON_OPAQUE:
			return len;
		case TOOL_JSON_EMPTY:
			if (isspace((unsigned char)c))
				break;
			if (c != '{' && c != '[') {
				t->json_state = TOOL_JSON_OPAQUE;
				return len;
			}
			t->json_state = TOOL_JSON_VALUE;
			t->json_depth = 1;
			break;
		case TOOL_JSON_VALUE:
			if (c == '"')
				t->json_state = TOOL_JSON_STRING;
			else if (c == '{' || c == '[')
				t->json_depth++;
			else if ((c == '}' || c == ']') && --t->json_depth == 0)
				t->json_state = TOOL_JSON_DONE;
			break;
		case TOOL_JSON_STRING:
			if (c == '\\')
				t->json_state = TOOL_JSON_ESCAPE;
			else if (c == '"')
				t->json_state = TOOL_JSON_VALUE;
			break;
		case TOOL_JSON_ESCAPE:
			t->json_state = TOOL_JSON_STRING;
			break;
		}
	}
	return len;
}

static struct stream_tool *
tool_new(struct stream *s, int key)
{
	struct stream_tool	*t;

	if (s->ntools == STREAM_MAX_TOOLS) {
		stream_fail(s, "api_error", "upstream sent more than %d tool "
		    "calls", STREAM_MAX_TOOLS);
		return NULL;
	}
	t = &s->tools[s->ntools++];
	memset(t, 0, sizeof(*t));
	t->oa_index = key;
	t->block = -1;
	return t;
}

/* the call a tool_calls[] entry belongs to; a new one if none */
static struct stream_tool *
tool_lookup(struct stream *s, int tc, size_t pos)
{
	struct stream_tool	*t;
	struct stream_tool	 probe;
	const char		*id;
	size_t			 i;
	int64_t			 n;
	int			 key = (int)pos;

	/* as json-c's get_int: an int32, saturated */
	if (jsonscan_int64(&s->js, jsonscan_member(&s->js, tc, "index"),
	    &n) == 0)
		key = n > INT32_MAX ? INT32_MAX : n < INT32_MIN ? INT32_MIN :
		    (int)n;
	id = jstr(s, tc, "id", NULL);
	for (i = s->ntools; i-- > 0; ) {
		t = &s->tools[i];
		if (t->oa_index != key || t->repaired)
			continue;
		if (id != NULL && *id != '\0' && t->id_given) {
			tool_id_set(&probe, id);
			if (strcmp(probe.id, t->id) != 0)
				break;	/* same key, another call */
		}
		return t;
	}
	return tool_new(s, key);
}

/* may t's block start now? A held call: once its arguments are whole */
static int
tool_ready(const struct stream_tool *t, int finishing)
{
	if (t->block >= 0)
		return 0;
	if (t->held)
		return finishing || t->json_state == TOOL_JSON_DONE;
	if (finishing)
		return t->name[0] != '\0' || t->id_given ||
		    t->json_state != TOOL_JSON_EMPTY || t->pending.len > 0;
	return t->name[0] != '\0' && (t->id_given ||
	    t->json_state != TOOL_JSON_EMPTY || t->pending.len > 0);
}

/* a held call goes to the caller in its place among the blocks */
static int
tool_take(struct stream *s, struct stream_tool *t)
{
	if (block_close(s) == -1)
		return -1;
	if ((t->block = s->hold->take(s->hold->arg, t->name,
	    t->pending.data != NULL ? t->pending.data : "", t->pending.len)) ==
	    -1)
		return stream_oom(s);
	s->ntool_calls++;
	s->nheld++;
	buf_free(&t->pending);
	return 0;
}

/* the id with the call's thought signature inside (gsig.c) */
static int
tool_wire_id(struct stream *s, struct stream_tool *t)
{
	struct buf	 b = BUF_INITIALIZER;

	if (gsig_id_encode(&b, s->gsig_key, t->id, t->sig, t->siglen) == -1) {
		buf_free(&b);
		return -1;
	}
	t->wire_id = buf_steal(&b);
	return 0;
}

/* Gemini puts the signature on the call's first delta; one that comes
 * after the block started cannot reach the client any more */
static int
tool_sig(struct stream *s, struct stream_tool *t, int tc)
{
	const char	*sig;
	size_t		 len;
	int		 ec, g;

	if (s->gsig_key[0] == '\0' || t->sig != NULL ||
	    (ec = jget(s, tc, "extra_content", JSONSCAN_OBJECT)) == -1 ||
	    (g = jget(s, ec, "google", JSONSCAN_OBJECT)) == -1 ||
	    (sig = jstr(s, g, "thought_signature", &len)) == NULL || len == 0)
		return 0;
	if (t->block >= 0) {
		log_warnx("stream %s: tool call %s: thought signature after "
		    "its block started, not kept", s->msg_id, t->id);
		return 0;
	}
	if ((t->sig = malloc(len + 1)) == NULL)
		return stream_oom(s);
	memcpy(t->sig, sig, len);
	t->sig[len] = '\0';
	t->siglen = len;
	return 0;
}

static int
tool_open(struct stream *s, struct stream_tool *t)
{
	if (t->held)
		return tool_take(s, t);
	if (t->id[0] == '\0')
		util_random_id(t->id, sizeof(t->id), "toolu_", 24);
	if (t->name[0] == '\0')		/* the upstream never said */
		strlcpy(t->name, "unknown_tool", sizeof(t->name));
	if (t->sig != NULL && tool_wire_id(s, t) == -1)
		return stream_oom(s);
	if (block_open(s, KIND_TOOL, t) == -1)
		return -1;
	s->ntool_calls++;
	if (t->pending.len > 0) {
		if (aevent_json(s->ev, t->pending.data, t->pending.len) == -1)
			return stream_oom(s);
		buf_free(&t->pending);
	}
	return 0;
}

/*
 * Open waiting calls, in order, while the open call (if any) is complete;
 * when finishing, open every call still waiting regardless.
 */
static int
tools_advance(struct stream *s, int finishing)
{
	struct stream_tool	*open;
	size_t			 i;

	for (;;) {
		if (s->open_kind == KIND_TOOL && !finishing) {
			open = &s->tools[s->open_tool];
			if (open->json_state != TOOL_JSON_DONE)
				return 0;
		}
		for (i = 0; i < s->ntools; i++)
			if (tool_ready(&s->tools[i], finishing))
				break;
		if (i == s->ntools)
			return 0;
		if (tool_open(s, &s->tools[i]) == -1)
			return -1;
	}
}

static int
tool_args(struct stream *s, struct stream_tool *t, const char *p,
    size_t len)
{
	size_t	 n;

	n = tool_scan(t, p, len);
	if (n < len && !is_blank(p + n, len - n))
		log_debug("stream %s: tool call %s: dropped %zu bytes after "
		    "its complete arguments", s->msg_id, t->id, len - n);
	if (n == 0)
		return 0;
	if (s->open_kind == KIND_TOOL && &s->tools[s->open_tool] == t)
		return aevent_json(s->ev, p, n) == -1 ? stream_oom(s) : 0;
	if (t->block >= 0) {
		log_warnx("stream %s: tool call %s: %zu bytes of arguments "
		    "after its block was closed, dropped", s->msg_id, t->id,
		    n);
		return 0;
	}
	if (buf_append(&t->pending, p, n) == -1)
		return stream_oom(s);
	return 0;
}

static int
tool_entry(struct stream *s, int tc, size_t pos)
{
	struct stream_tool	*t;
	const char		*id, *name, *p;
	size_t			 len;
	int			 fn, args;

	if ((t = tool_lookup(s, tc, pos)) == NULL)
		return -1;
	if ((id = jstr(s, tc, "id", NULL)) != NULL && *id != '\0' &&
	    !t->id_given && t->block < 0) {
		tool_id_set(t, id);
		t->id_given = 1;
	}
	if (tool_sig(s, t, tc) == -1)
		return -1;
	if ((fn = jget(s, tc, "function", JSONSCAN_OBJECT)) == -1)
		return 0;
	if ((name = jstr(s, fn, "name", NULL)) != NULL && t->name[0] == '\0') {
		strlcpy(t->name, name, sizeof(t->name));
		t->held = s->hold != NULL && s->hold->holds(s->hold->arg,
		    t->name);
	}
	args = jsonscan_member(&s->js, fn, "arguments");
	if (jsonscan_type(&s->js, args) == JSONSCAN_NULL)
		return 0;
	if ((p = jstr(s, fn, "arguments", &len)) == NULL)
		/* an object, not a string: some upstreams do that */
		p = jsonscan_raw(&s->js, args, &len);
	return tool_args(s, t, p, len);
}

static int
tool_calls(struct stream *s, int arr)
{
	size_t	 i, n = jsonscan_count(&s->js, arr);
	int	 tc;

	for (i = 0; i < n; i++) {
		tc = jsonscan_index(&s->js, arr, i);
		if (jsonscan_type(&s->js, tc) != JSONSCAN_OBJECT)
			continue;
		if (tool_entry(s, tc, i) == -1)
			return -1;
	}
	return tools_advance(s, 0);
}

/* ---- tool calls written as text (tool_call_repair) -------------------- */

static int
repair_text(void *arg, const char *p, size_t len)
{
	return block_text(arg, KIND_TEXT, p, len);
}

/* a call tcrepair found: a block of its own, whole at once */
static int
repair_call(void *arg, const char *name, json_object *input)
{
	struct stream		*s = arg;
	struct stream_tool	*t;
	const char		*args;

	if ((t = tool_new(s, -1)) == NULL)
		return -1;
	t->repaired = 1;
	t->json_state = TOOL_JSON_DONE;
	strlcpy(t->name, name, sizeof(t->name));
	if ((args = json_object_to_json_string_ext(input,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) == NULL)
		return stream_oom(s);
	if (tool_open(s, t) == -1)
		return -1;
	if (aevent_json(s->ev, args, strlen(args)) == -1)
		return stream_oom(s);
	return block_close(s);
}

/* how: 0 feed p, 1 release what is held (other content comes), 2 end */
static int
content_text(struct stream *s, const char *p, size_t len, int how,
    int truncated)
{
	const struct tcrepair_sink k = { repair_text, repair_call, s };
	int	 rc;

	if (!s->repair_on)
		return how == 0 ? block_text(s, KIND_TEXT, p, len) : 0;
	rc = how == 0 ? tcrepair_feed(&s->repair, p, len, &k) : how == 1 ?
	    tcrepair_release(&s->repair, &k) :
	    tcrepair_end(&s->repair, truncated, &k);
	if (rc == -1 && s->repair.error[0] != '\0')
		return stream_fail(s, "api_error", "%s", s->repair.error);
	return rc;
}

void
stream_repair(struct stream *s, json_object *tools)
{
	tcrepair_init(&s->repair, tools);
	s->repair_on = 1;
}

/* ---- chunks ----------------------------------------------------------- */

/* the message's first event (once per message, whatever the round) */
static int
stream_start(struct stream *s)
{
	return aevent_message_start(s->ev, s->msg_id, s->model,
	    s->input_tokens);
}

static int
chunk_delta(struct stream *s, int delta)
{
	const char	*p;
	size_t		 len;
	int		 arr;

	/* text held by tool_call_repair goes before any other kind */
	if ((p = jstr(s, delta, "reasoning_content", &len)) != NULL ||
	    (p = jstr(s, delta, "reasoning", &len)) != NULL)
		if ((len > 0 && content_text(s, NULL, 0, 1, 0) == -1) ||
		    block_text(s, KIND_THINKING, p, len) == -1)
			return -1;
	if ((p = jstr(s, delta, "content", &len)) != NULL &&
	    content_text(s, p, len, 0, 0) == -1)
		return -1;
	if ((p = jstr(s, delta, "refusal", &len)) != NULL &&
	    ((len > 0 && content_text(s, NULL, 0, 1, 0) == -1) ||
	    block_text(s, KIND_TEXT, p, len) == -1))
		return -1;
	if ((arr = jget(s, delta, "tool_calls", JSONSCAN_ARRAY)) != -1)
		if (content_text(s, NULL, 0, 1, 0) == -1 ||
		    tool_calls(s, arr) == -1)
			return -1;
	return 0;
}

/* the first finish_reason settles the content: every block is closed */
static int
chunk_finish(struct stream *s, int choice, const char *reason)
{
	const char	*seq;

	if (s->finish_reason != NULL)
		return 0;
	if (strcmp(reason, "error") == 0)
		return stream_fail(s, "api_error", "upstream reported an "
		    "error (finish_reason \"error\")");
	if ((s->finish_reason = strdup(reason)) == NULL)
		return stream_oom(s);
	/* the stop string that matched: vLLM says stop_reason, SGLang
	 * matched_stop (both are token ids, not strings, for EOS) */
	if ((seq = jstr(s, choice, "stop_reason", NULL)) == NULL)
		seq = jstr(s, choice, "matched_stop", NULL);
	if (seq != NULL && (s->stop_sequence = strdup(seq)) == NULL)
		return stream_oom(s);
	if (content_text(s, NULL, 0, 2, strcmp(xlate_stop_reason(reason),
	    "max_tokens") == 0) == -1)
		return -1;
	if (tools_advance(s, 1) == -1)
		return -1;
	return block_close(s);
}

static int
chunk_choice(struct stream *s, int choice)
{
	const char	*reason;
	int		 delta;

	if ((delta = jget(s, choice, "delta", JSONSCAN_OBJECT)) != -1 &&
	    chunk_delta(s, delta) == -1)
		return -1;
	/* some upstreams send "" instead of null until the end */
	if ((reason = jstr(s, choice, "finish_reason", NULL)) != NULL &&
	    *reason != '\0')
		return chunk_finish(s, choice, reason);
	return 0;
}

/* member key of o as a count, by xlate_json_count's rule */
static int64_t
jcount(const struct stream *s, int o, const char *key)
{
	int	 v = jsonscan_member(&s->js, o, key);
	int64_t	 n;
	double	 d;

	if (jsonscan_int64(&s->js, v, &n) == 0)
		return xlate_count_int(n);
	if (jsonscan_double(&s->js, v, &d) == 0)
		return xlate_count_double(d);
	return -1;
}

/* token counts: never negative, never huge (the same rule as plain
 * answers); absent = 0 */
static int64_t
jint(const struct stream *s, int o, const char *key)
{
	int64_t	 n = jcount(s, o, key);

	return n < 0 ? 0 : n;
}

static void
chunk_usage(struct stream *s, int u)
{
	int	 det;

	s->usage_in = jint(s, u, "prompt_tokens");
	s->usage_out = jint(s, u, "completion_tokens");
	det = jget(s, u, "prompt_tokens_details", JSONSCAN_OBJECT);
	s->usage_cached = jint(s, det, "cached_tokens");
	if (s->usage_cached == 0)	/* DeepSeek */
		s->usage_cached = jint(s, u, "prompt_cache_hit_tokens");
	if (s->usage_cached > s->usage_in)
		s->usage_cached = s->usage_in;
	s->have_usage = 1;
}

/* {"error":{"message":..,"type":..,"code":..}} or {"error":"text"} */
static int
chunk_error(struct stream *s, int err)
{
	const char	*msg = NULL, *type = NULL, *code = NULL;
	const char	*atype = "api_error";

	if (jsonscan_type(&s->js, err) == JSONSCAN_STRING)
		msg = jsonscan_str(&s->js, err, NULL);
	else if (jsonscan_type(&s->js, err) == JSONSCAN_OBJECT) {
		msg = jstr(s, err, "message", NULL);
		type = jstr(s, err, "type", NULL);
		code = jstr(s, err, "code", NULL);
		if (jint(s, err, "code") == 429 ||
		    (type != NULL && strstr(type, "rate_limit") != NULL) ||
		    (code != NULL && strstr(code, "rate_limit") != NULL))
			atype = "rate_limit_error";
		else if ((type != NULL && strstr(type, "overloaded")) ||
		    (code != NULL && strstr(code, "overloaded")) ||
		    jint(s, err, "code") == 529)
			atype = "overloaded_error";
	}
	{
		/* the upstream may echo our key back: never pass it on */
		struct buf	 clean = BUF_INITIALIZER;
		int		 rv;

		if (msg != NULL)
			secret_mask(&clean, msg, strlen(msg));
		rv = stream_fail(s, atype, "upstream error: %s",
		    clean.data != NULL ? clean.data : "(no message)");
		buf_free(&clean);
		return rv;
	}
}

static int
chunk_garbage(struct stream *s, const char *data, size_t len)
{
	struct buf	 ex = BUF_INITIALIZER, clean = BUF_INITIALIZER;

	util_log_excerpt(&ex, data, len, 80);
	if (ex.data != NULL)
		secret_mask(&clean, ex.data, ex.len);
	stream_fail(s, "api_error", "upstream sent an unreadable stream "
	    "chunk: %s", clean.data != NULL ? clean.data : "");
	buf_free(&ex);
	buf_free(&clean);
	return -1;
}

static int
chunk(struct stream *s)
{
	int	 choices, usage, err, first;

	if ((err = jsonscan_member(&s->js, 0, "error")) != -1 &&
	    jsonscan_type(&s->js, err) != JSONSCAN_NULL)
		return chunk_error(s, err);
	choices = jget(s, 0, "choices", JSONSCAN_ARRAY);
	usage = jget(s, 0, "usage", JSONSCAN_OBJECT);
	if (choices == -1 && usage == -1)
		return -2;
	s->chunks++;
	if (stream_start(s) == -1)
		return stream_oom(s);
	first = jsonscan_index(&s->js, choices, 0);
	if (jsonscan_type(&s->js, first) == JSONSCAN_OBJECT &&
	    chunk_choice(s, first) == -1)
		return -1;
	if (usage != -1)
		chunk_usage(s, usage);
	return 0;
}

/* ---- the interface ---------------------------------------------------- */

void
stream_init(struct stream *s, struct aevent *ev, const char *msg_id,
    const char *model, int64_t input_tokens, int wait_for_usage)
{
	/* tools[] is left alone: 30 KB to clear per request, and tool_new
	 * clears each entry it takes */
	memset(s, 0, offsetof(struct stream, tools));
	s->ev = ev;
	strlcpy(s->msg_id, msg_id, sizeof(s->msg_id));
	strlcpy(s->model, model, sizeof(s->model));
	s->input_tokens = input_tokens;
	s->wait_for_usage = wait_for_usage;
	s->open_kind = KIND_NONE;
	s->open_tool = -1;
}

void
stream_hold(struct stream *s, const struct stream_hold *hold)
{
	s->hold = hold;
}

int
stream_feed(struct stream *s, const char *data, size_t len)
{
	struct jsonlex_err	 err;
	int			 rv;

	if (s->ev->client_gone)
		return -1;
	if (s->finished)
		return 0;
	while (len > 0 && isspace((unsigned char)*data)) {
		data++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)data[len - 1]))
		len--;
	if (len == 0)
		return 0;
	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		s->done = 1;
		return 0;
	}
	/* the tokens and buffers are reused: nothing allocated per chunk
	 * once they fit the largest so far */
	if (jsonscan(&s->js, data, len, STREAM_JSON_DEPTH, 1, &err) == -1 ||
	    jsonscan_type(&s->js, 0) != JSONSCAN_OBJECT)
		return chunk_garbage(s, data, len);
	/* the events stay collected, whole ones valid even after a
	 * failure, until stream_flush or the end */
	rv = chunk(s);
	if (rv == -2)
		return chunk_garbage(s, data, len);
	return rv;
}

int
stream_flush(struct stream *s)
{
	return aevent_emit(s->ev, 0);
}

int
stream_complete(const struct stream *s)
{
	return s->finish_reason != NULL &&
	    (s->have_usage || !s->wait_for_usage || s->done);
}

static const char *
stream_stop_reason(const struct stream *s)
{
	const char	*f = s->finish_reason;

	const char	*stop = xlate_stop_reason(f);

	if (s->stop_sequence != NULL)
		return "stop_sequence";
	/* llama.cpp and Ollama have said "stop" after tool calls */
	if (strcmp(stop, "end_turn") == 0 && s->ntool_calls > 0)
		return "tool_use";
	return stop;
}

static int
stream_message_end(struct stream *s)
{
	if (!s->have_usage)	/* the estimate: ours, aevent's for output */
		return aevent_message_end(s->ev, stream_stop_reason(s),
		    s->stop_sequence, s->input_tokens, -1, 0, 0);
	return aevent_message_end(s->ev, stream_stop_reason(s),
	    s->stop_sequence, s->usage_in - s->usage_cached, s->usage_out,
	    s->usage_cached, 0);
}

int
stream_finish(struct stream *s)
{
	if (s->ev->client_gone)
		return -1;
	if (s->finished)
		return 0;
	if (s->finish_reason == NULL)
		return stream_error(s, "api_error",
		    "upstream stream ended without a finish_reason", NULL);
	if (stream_start(s) == -1 || tools_advance(s, 1) == -1 ||
	    block_close(s) == -1 || stream_message_end(s) == -1) {
		/* out of memory: the whole events so far, then the error */
		return stream_error(s, "api_error", "out of memory", NULL);
	}
	s->finished = 1;
	return aevent_emit(s->ev, 1);
}

int
stream_error(struct stream *s, const char *type, const char *message,
    const char *request_id)
{
	if (s->ev->client_gone)
		return -1;
	if (s->finished)
		return 0;
	s->finished = 1;
	if (request_id == NULL && s->request_id[0] != '\0')
		request_id = s->request_id;
	/* as Anthropic's API: the error event alone, whatever is open stays
	 * open (Claude Code 2.1.197 fails a turn whose block was stopped
	 * before the error, and retries one whose block was left open);
	 * aevent_error words it, masked, after what text may still go */
	return aevent_fail(s->ev, type, message, request_id);
}

int
stream_ping(struct stream *s)
{
	if (s->ev->client_gone)
		return -1;
	if (s->finished)
		return 0;
	/* a silent upstream still gets the message started first */
	if (stream_start(s) == -1 || aevent_ping(s->ev) == -1) {
		aevent_emit(s->ev, 0);
		return -1;
	}
	return aevent_emit(s->ev, 0);
}

void
stream_free(struct stream *s)
{
	size_t	 i;

	for (i = 0; i < s->ntools; i++) {
		buf_free(&s->tools[i].pending);
		free(s->tools[i].sig);
		free(s->tools[i].wire_id);
	}
	free(s->finish_reason);
	free(s->stop_sequence);
	jsonscan_free(&s->js);
	if (s->repair_on)
		tcrepair_free(&s->repair);
	s->repair_on = 0;
	s->finish_reason = s->stop_sequence = NULL;
	s->ntools = 0;
}
