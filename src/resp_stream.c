/*
 * resp_stream.c: OpenAI Responses API streaming events -> Anthropic stream
 * events.
 *
 * Input: one SSE event at a time (resp_stream_feed), its name and data;
 * the data's "type" decides, the name is the fallback. Output: whole
 * Anthropic events through aevent.c, collected until the caller's upstream
 * read is done (resp_stream_flush) and handed to the writer in one call;
 * the finish, an error and a ping are one call each, the first two marked
 * as the stream's end. The bytes are those stream.c writes for the same
 * content, down to the message_start, configured secrets in text,
 * thinking and tool input masked by aevent.c as in stream.c's (a key split
 * across deltas too).
 *
 * Mapping: every output item (output_item.added ... output_item.done)
 * becomes at most one content block: a reasoning item a thinking block
 * (summary text, or an open model server's reasoning text, summary parts
 * joined by blank lines; the signature_delta before its stop carries the
 * item's encrypted_content, resp_sig.c, from output_item.done), a message
 * item a text block (output_text and refusal deltas), a function_call item
 * a tool_use block (input {} at the start, the arguments only as
 * input_json_delta, "{}" when there were none). Items of the provider's
 * own tools have no block. A text or thinking block opens at its first
 * text (a reasoning item with nothing to show and nothing to carry makes
 * no block), a tool_use block as soon as its name is known.
 *
 * Order (DESIGN.md §5): message_start first; blocks indexed 0, 1, 2 ... in
 * the order of the output items, one open at a time. The Responses API
 * sends its items one after another, but nothing here relies on it: what
 * arrives for an item whose block cannot open yet waits in that item's
 * pending buffer, and goes out in one delta when the block before it has
 * stopped (at that item's output_item.done). response.completed and
 * response.incomplete end the content: every item still waiting is
 * opened, emptied and stopped in order, and the stop reason is decided
 * (incomplete: max_output_tokens -> max_tokens, content_filter ->
 * refusal; else a refusal part -> refusal, tool calls -> tool_use,
 * end_turn); usage from the response (cached and newly cached input apart,
 * as resp_resp.c) goes into the single message_delta that
 * resp_stream_finish writes before message_stop.
 *
 * Failure: response.failed and an error event make resp_stream_feed return
 * -1 with the error worded by resp_error() (as a non-streaming answer's);
 * the caller's resp_stream_error() then writes the error event and
 * nothing else, the open block left open, as Anthropic's API does. Data
 * that is not a JSON object with a type, or more output items than
 * RESP_STREAM_MAX_ITEMS, fail the same way; unknown event types are
 * skipped (the API adds them). Every call returns -1 once a write has
 * failed. After the first few events nothing is allocated per event,
 * except a buffer for what has to wait and a reasoning item's signature.
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
#include "resp.h"
#include "resp_stream.h"
#include "secret.h"
#include "util.h"
#include "xlate.h"

#define RS_JSON_DEPTH	64		/* nesting allowed in an event */

enum { RS_TEXT = 1, RS_THINKING, RS_TOOL, RS_OTHER };

/* ---- errors ------------------------------------------------------------- */

static int	 rs_fail(struct resp_stream *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
rs_fail(struct resp_stream *s, const char *type, const char *fmt, ...)
{
	va_list	 ap;

	strlcpy(s->error_type, type, sizeof(s->error_type));
	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	return -1;
}

static int
rs_oom(struct resp_stream *s)
{
	return rs_fail(s, "api_error", "out of memory");
}

/* ---- reading an event --------------------------------------------------- */

/* the string member key of o, or NULL; valid until the next event */
static const char *
jstr(const struct resp_stream *s, int o, const char *key, size_t *len)
{
	return jsonscan_str(&s->js, jsonscan_member(&s->js, o, key), len);
}

/* member key of o if it has that type, else -1 */
static int
jget(const struct resp_stream *s, int o, const char *key, int type)
{
	int	 v = jsonscan_member(&s->js, o, key);

	return v != -1 && jsonscan_type(&s->js, v) == type ? v : -1;
}

/* an index member (output_index, summary_index): -1 when absent */
static int64_t
jindex(const struct resp_stream *s, int o, const char *key)
{
	int64_t	 n;

	if (jsonscan_int64(&s->js, jsonscan_member(&s->js, o, key), &n) == -1 ||
	    n < 0)
		return -1;
	return n;
}

/* a token count, by xlate_json_count's rule; absent = 0 */
static int64_t
jcount(const struct resp_stream *s, int o, const char *key)
{
	int	 v = jsonscan_member(&s->js, o, key);
	int64_t	 n;
	double	 d;

	if (jsonscan_int64(&s->js, v, &n) == 0)
		n = xlate_count_int(n);
	else if (jsonscan_double(&s->js, v, &d) == 0)
		n = xlate_count_double(d);
	else
		n = -1;
	return n < 0 ? 0 : n;
}

/* ---- blocks ------------------------------------------------------------- */

/* the message's first event (once per message, whatever the round) */
static int
rs_start(struct resp_stream *s)
{
	if (aevent_message_start(s->ev, s->msg_id, s->model,
	    s->input_tokens) == -1)
		return rs_oom(s);
	return 0;
}

/* text, thinking or arguments for x's open block (masked by aevent, a
 * tail that may begin a secret held back until the next piece or the
 * block's stop) */
static int
rs_delta(struct resp_stream *s, struct resp_stream_item *x, const char *p,
    size_t len)
{
	int	 rv;

	if (len == 0)
		return 0;
	rv = x->kind == RS_TOOL ? aevent_json(s->ev, p, len) :
	    aevent_text(s->ev, p, len);
	return rv == -1 ? rs_oom(s) : 0;
}

static int
rs_open(struct resp_stream *s, struct resp_stream_item *x)
{
	static const char *const types[] = { "", "text", "thinking",
	    "tool_use" };

	if (rs_start(s) == -1)
		return -1;
	if (x->kind == RS_TOOL) {
		if (x->id[0] == '\0')	/* the upstream never said */
			util_random_id(x->id, sizeof(x->id), "toolu_", 24);
		if (x->name[0] == '\0')
			strlcpy(x->name, "unknown_tool", sizeof(x->name));
	}
	if ((x->block = aevent_block_start(s->ev, types[x->kind], x->id,
	    x->name)) == -1)
		return rs_oom(s);
	s->open = (int)(x - s->items);
	if (x->kind == RS_TOOL)
		s->ntool_calls++;
	if (x->pending.len > 0) {
		if (rs_delta(s, x, x->pending.data, x->pending.len) == -1)
			return -1;
		buf_free(&x->pending);
	}
	return 0;
}

static int
rs_close(struct resp_stream *s, struct resp_stream_item *x)
{
	char		 plain[XLATE_SIG_SIZE] = "";
	const char	*sig = plain;
	size_t		 siglen;

	if (x->kind == RS_THINKING && x->sig.len > 0)
		sig = x->sig.data;
	else if (x->kind == RS_THINKING)
		/* no encrypted reasoning to carry: a plain one */
		xlate_signature(plain, sizeof(plain));
	else if (x->kind == RS_TOOL && x->args == 0 &&
	    rs_delta(s, x, "{}", 2) == -1)
		return -1;
	siglen = sig == plain ? strlen(plain) : x->sig.len;
	if (aevent_block_stop(s->ev, sig, siglen) == -1)
		return rs_oom(s);
	x->closed = 1;
	s->open = -1;
	buf_free(&x->sig);
	return 0;
}

/* may x's block open now? */
static int
rs_ready(const struct resp_stream_item *x, int finishing)
{
	switch (x->kind) {
	case RS_TEXT:
		return x->pending.len > 0;
	case RS_THINKING:
		return x->pending.len > 0 || x->sig.len > 0;
	case RS_TOOL:
		return x->name[0] != '\0' || (finishing && (x->args > 0 ||
		    x->id[0] != '\0'));
	default:
		return 0;
	}
}

/*
 * Stop the open block once its item is done, open the next items in
 * order while they can; finishing: everything, done or not.
 */
static int
rs_advance(struct resp_stream *s, int finishing)
{
	struct resp_stream_item	*x;
	size_t			 i;

	for (;;) {
		if (s->open >= 0) {
			x = &s->items[s->open];
			if (!x->done && !finishing)
				return 0;
			if (rs_close(s, x) == -1)
				return -1;
			continue;
		}
		for (i = 0; i < s->nitems && s->items[i].closed; i++)
			;
		if (i == s->nitems)
			return 0;
		x = &s->items[i];
		if (rs_ready(x, finishing)) {
			if (rs_open(s, x) == -1)
				return -1;
			continue;
		}
		if (!x->done && !finishing)
			return 0;
		x->closed = 1;		/* it had nothing to show */
		buf_free(&x->pending);
		buf_free(&x->sig);
	}
}

/* text, thinking or arguments for x: live when its block is open */
static int
rs_add(struct resp_stream *s, struct resp_stream_item *x, const char *p,
    size_t len)
{
	if (len == 0 || x->closed)
		return 0;
	if (x->kind == RS_TOOL)
		x->args += len;
	else
		x->has_text = 1;
	if (s->open == (int)(x - s->items))
		return rs_delta(s, x, p, len);
	if (buf_append(&x->pending, p, len) == -1)
		return rs_oom(s);
	return rs_advance(s, 0);
}

/* ---- output items ------------------------------------------------------- */

static int
rs_kind(const char *type)
{
	if (type == NULL)
		return RS_OTHER;
	if (strcmp(type, "message") == 0)
		return RS_TEXT;
	if (strcmp(type, "reasoning") == 0)
		return RS_THINKING;
	if (strcmp(type, "function_call") == 0)
		return RS_TOOL;
	return RS_OTHER;
}

static struct resp_stream_item *
rs_find(struct resp_stream *s, int64_t out_index, const char *item_id)
{
	size_t	 i;

	/* an event that names no item is about the latest one */
	if (out_index < 0 && (item_id == NULL || *item_id == '\0'))
		return s->nitems > 0 ? &s->items[s->nitems - 1] : NULL;
	for (i = 0; i < s->nitems; i++)
		if (out_index >= 0 ? s->items[i].out_index == out_index :
		    item_id != NULL && *item_id != '\0' &&
		    strcmp(s->items[i].item_id, item_id) == 0)
			return &s->items[i];
	return NULL;
}

static struct resp_stream_item *
rs_new(struct resp_stream *s, int64_t out_index, const char *item_id,
    int kind)
{
	struct resp_stream_item	*x;

	if (s->nitems == RESP_STREAM_MAX_ITEMS) {
		rs_fail(s, "api_error", "upstream sent more than %d output "
		    "items", RESP_STREAM_MAX_ITEMS);
		return NULL;
	}
	x = &s->items[s->nitems++];
	memset(x, 0, sizeof(*x));
	x->out_index = out_index;
	if (item_id != NULL)
		strlcpy(x->item_id, item_id, sizeof(x->item_id));
	x->kind = kind;
	x->block = -1;
	x->part = -1;
	/* the provider's own tools: nothing for the client */
	x->closed = kind == RS_OTHER;
	return x;
}

/* the item an event is about (by output_index, else item_id), made when
 * the upstream skipped its output_item.added */
static struct resp_stream_item *
rs_item(struct resp_stream *s, int ev, int kind)
{
	struct resp_stream_item	*x;
	int64_t			 idx = jindex(s, ev, "output_index");
	const char		*id = jstr(s, ev, "item_id", NULL);

	if ((x = rs_find(s, idx, id)) != NULL)
		return x;
	return rs_new(s, idx, id, kind);
}

/* a function call's name and id, from its item */
static void
rs_call(struct resp_stream *s, struct resp_stream_item *x, int item)
{
	const char	*name = jstr(s, item, "name", NULL);
	const char	*id = jstr(s, item, "call_id", NULL);

	if (x->block >= 0)
		return;
	if (x->name[0] == '\0' && name != NULL)
		strlcpy(x->name, name, sizeof(x->name));
	if (x->id[0] == '\0' && id != NULL && *id != '\0')
		xlate_tool_id(x->id, sizeof(x->id), id);
}

static int
rs_item_added(struct resp_stream *s, int ev)
{
	struct resp_stream_item	*x;
	int			 item = jget(s, ev, "item", JSONSCAN_OBJECT);
	int64_t			 idx = jindex(s, ev, "output_index");
	const char		*id = jstr(s, item, "id", NULL);

	if ((x = rs_find(s, idx, id)) == NULL &&
	    (x = rs_new(s, idx, id, rs_kind(jstr(s, item, "type",
	    NULL)))) == NULL)
		return -1;
	if (x->kind == RS_TOOL)
		rs_call(s, x, item);
	return rs_advance(s, 0);
}

/* the "text" (or field) of every part of array arr of type want, joined
 * by sep: for a done item whose text never came as deltas */
static int
rs_parts(struct resp_stream *s, struct resp_stream_item *x, int arr,
    const char *want, const char *field, const char *sep)
{
	const char	*t, *type;
	size_t		 i, n = jsonscan_count(&s->js, arr), len;
	int		 p;

	for (i = 0; i < n; i++) {
		p = jsonscan_index(&s->js, arr, i);
		if ((type = jstr(s, p, "type", NULL)) == NULL ||
		    strcmp(type, want) != 0 ||
		    (t = jstr(s, p, field, &len)) == NULL || len == 0)
			continue;
		if (strcmp(want, "refusal") == 0)
			s->refusal = 1;
		if ((x->has_text && rs_add(s, x, sep, strlen(sep)) == -1) ||
		    rs_add(s, x, t, len) == -1)
			return -1;
	}
	return 0;
}

/* a reasoning item's encrypted content, kept for its signature */
static int
rs_signature(struct resp_stream *s, struct resp_stream_item *x, int item)
{
	const char	*enc;
	size_t		 len;

	if ((enc = jstr(s, item, "encrypted_content", &len)) == NULL ||
	    len == 0)
		return 0;
	buf_reset(&x->sig);
	if (resp_sig_encode(&x->sig, s->have_key ? s->key : NULL, enc,
	    len) == -1)
		return rs_oom(s);
	return 0;
}

/*
 * The done item: what never came as deltas comes from it (some servers
 * send nothing else), and a reasoning item's encrypted content.
 */
static int
rs_item_fill(struct resp_stream *s, struct resp_stream_item *x, int item)
{
	const char	*args;
	size_t		 len;

	switch (x->kind) {
	case RS_TOOL:
		rs_call(s, x, item);
		if (x->args == 0 && (args = jstr(s, item, "arguments",
		    &len)) != NULL)
			return rs_add(s, x, args, len);
		return 0;
	case RS_TEXT:
		if (x->has_text)
			return 0;
		if (rs_parts(s, x, jget(s, item, "content", JSONSCAN_ARRAY),
		    "output_text", "text", "") == -1)
			return -1;
		return rs_parts(s, x, jget(s, item, "content",
		    JSONSCAN_ARRAY), "refusal", "refusal", "");
	case RS_THINKING:
		if (rs_signature(s, x, item) == -1)
			return -1;
		if (x->has_text)
			return 0;
		if (rs_parts(s, x, jget(s, item, "summary", JSONSCAN_ARRAY),
		    "summary_text", "text", "\n\n") == -1)
			return -1;
		if (x->has_text)
			return 0;
		return rs_parts(s, x, jget(s, item, "content",
		    JSONSCAN_ARRAY), "reasoning_text", "text", "\n\n");
	default:
		return 0;
	}
}

static int
rs_item_done(struct resp_stream *s, int item, int64_t idx)
{
	struct resp_stream_item	*x;
	const char		*id = jstr(s, item, "id", NULL);

	if ((x = rs_find(s, idx, id)) == NULL &&
	    (x = rs_new(s, idx, id, rs_kind(jstr(s, item, "type",
	    NULL)))) == NULL)
		return -1;
	if (rs_item_fill(s, x, item) == -1)
		return -1;
	x->done = 1;
	return rs_advance(s, 0);
}

/* ---- deltas ------------------------------------------------------------- */

/* output_text, refusal, reasoning summary and reasoning text deltas; a new
 * summary or content part of a reasoning item after a blank line */
static int
rs_text(struct resp_stream *s, int ev, int kind, const char *partkey)
{
	struct resp_stream_item	*x;
	const char		*p;
	size_t			 len;
	int64_t			 part;

	if ((p = jstr(s, ev, "delta", &len)) == NULL || len == 0)
		return 0;
	if ((x = rs_item(s, ev, kind)) == NULL)
		return -1;
	if (partkey != NULL) {
		part = jindex(s, ev, partkey);
		if (x->has_text && part != x->part &&
		    rs_add(s, x, "\n\n", 2) == -1)
			return -1;
		x->part = part;
	}
	return rs_add(s, x, p, len);
}

static int
rs_args(struct resp_stream *s, int ev)
{
	struct resp_stream_item	*x;
	const char		*p;
	size_t			 len;

	if ((p = jstr(s, ev, "delta", &len)) == NULL || len == 0)
		return 0;
	if ((x = rs_item(s, ev, RS_TOOL)) == NULL)
		return -1;
	return rs_add(s, x, p, len);
}

/* ---- the end of the response -------------------------------------------- */

static void
rs_usage(struct resp_stream *s, int resp)
{
	int	 u = jget(s, resp, "usage", JSONSCAN_OBJECT), det;

	if (u == -1)
		return;
	det = jget(s, u, "input_tokens_details", JSONSCAN_OBJECT);
	s->usage_in = jcount(s, u, "input_tokens");
	s->usage_out = jcount(s, u, "output_tokens");
	s->usage_cached = jcount(s, det, "cached_tokens");
	s->usage_written = jcount(s, det, "cache_write_tokens");
	if (s->usage_cached > s->usage_in)
		s->usage_cached = s->usage_in;
	if (s->usage_written > s->usage_in - s->usage_cached)
		s->usage_written = s->usage_in - s->usage_cached;
	s->have_usage = 1;
}

/* the error a failed response or an error event carries, worded as a
 * plain answer's would be: -1 always */
static int
rs_upstream_error(struct resp_stream *s, int e)
{
	struct xlate_err	 err;
	const char		*raw, *code;
	size_t			 len;

	memset(&err, 0, sizeof(err));
	code = jstr(s, e, "code", NULL);
	if (e == -1 || (raw = jsonscan_raw(&s->js, e, &len)) == NULL) {
		raw = "{\"message\":\"the response failed without an error\"}";
		len = strlen(raw);
	}
	resp_error(code, raw, len, s->provider, &err);
	strlcpy(s->error_type, err.type, sizeof(s->error_type));
	strlcpy(s->error, err.message, sizeof(s->error));
	return -1;
}

/* an upstream that sends only the final response: its items, as if each
 * had come and gone */
static int
rs_late_items(struct resp_stream *s, int resp)
{
	int	 out = jget(s, resp, "output", JSONSCAN_ARRAY), item;
	size_t	 i, n;

	if (s->nitems > 0 || out == -1)
		return 0;
	n = jsonscan_count(&s->js, out);
	for (i = 0; i < n; i++) {
		item = jsonscan_index(&s->js, out, i);
		if (jsonscan_type(&s->js, item) == JSONSCAN_OBJECT &&
		    rs_item_done(s, item, (int64_t)i) == -1)
			return -1;
	}
	return 0;
}

static const char *
rs_stop_reason(const struct resp_stream *s, const char *status, int resp)
{
	const char	*why;

	if (status != NULL && strcmp(status, "incomplete") == 0) {
		why = jstr(s, jget(s, resp, "incomplete_details",
		    JSONSCAN_OBJECT), "reason", NULL);
		if (why != NULL && strcmp(why, "content_filter") == 0)
			return "refusal";
		return "max_tokens";
	}
	if (s->refusal)
		return "refusal";
	return s->ntool_calls > 0 ? "tool_use" : "end_turn";
}

/* response.completed or response.incomplete: the content is settled */
static int
rs_terminal(struct resp_stream *s, int ev, int incomplete)
{
	int		 resp = jget(s, ev, "response", JSONSCAN_OBJECT);
	const char	*status = jstr(s, resp, "status", NULL);

	if (s->terminal)
		return 0;
	if (status != NULL && (strcmp(status, "failed") == 0 ||
	    strcmp(status, "cancelled") == 0))
		return rs_upstream_error(s, jget(s, resp, "error",
		    JSONSCAN_OBJECT));
	if (status == NULL)
		status = incomplete ? "incomplete" : "completed";
	rs_usage(s, resp);
	if (rs_late_items(s, resp) == -1 || rs_start(s) == -1 ||
	    rs_advance(s, 1) == -1)
		return -1;
	s->stop_reason = rs_stop_reason(s, status, resp);
	s->terminal = 1;
	return 0;
}

/* ---- events ------------------------------------------------------------- */

static int
rs_garbage(struct resp_stream *s, const char *data, size_t len)
{
	struct buf	 ex = BUF_INITIALIZER, clean = BUF_INITIALIZER;

	util_log_excerpt(&ex, data, len, 80);
	if (ex.data != NULL)
		secret_mask(&clean, ex.data, ex.len);
	rs_fail(s, "api_error", "upstream sent an unreadable stream event: "
	    "%s", clean.data != NULL ? clean.data : "");
	buf_free(&ex);
	buf_free(&clean);
	return -1;
}

static int
rs_event(struct resp_stream *s, const char *type)
{
	int	 e;

	if (strncmp(type, "response.", 9) != 0) {
		if (strcmp(type, "error") != 0)
			return 0;
		/* {"type":"error","code","message"}, or an "error" inside */
		if ((e = jget(s, 0, "error", JSONSCAN_OBJECT)) == -1)
			e = 0;
		return rs_upstream_error(s, e);
	}
	type += 9;
	if (strcmp(type, "failed") == 0)
		return rs_upstream_error(s, jget(s, jget(s, 0, "response",
		    JSONSCAN_OBJECT), "error", JSONSCAN_OBJECT));
	if (s->terminal)
		return 0;	/* the content is settled */
	if (strcmp(type, "output_text.delta") == 0)
		return rs_text(s, 0, RS_TEXT, NULL);
	if (strcmp(type, "function_call_arguments.delta") == 0)
		return rs_args(s, 0);
	if (strcmp(type, "reasoning_summary_text.delta") == 0)
		return rs_text(s, 0, RS_THINKING, "summary_index");
	if (strcmp(type, "reasoning_text.delta") == 0)
		return rs_text(s, 0, RS_THINKING, "content_index");
	if (strcmp(type, "refusal.delta") == 0) {
		s->refusal = 1;
		return rs_text(s, 0, RS_TEXT, NULL);
	}
	if (strcmp(type, "output_item.added") == 0)
		return rs_item_added(s, 0);
	if (strcmp(type, "output_item.done") == 0)
		return rs_item_done(s, jget(s, 0, "item", JSONSCAN_OBJECT),
		    jindex(s, 0, "output_index"));
	if (strcmp(type, "completed") == 0 || strcmp(type, "incomplete") == 0)
		return rs_terminal(s, 0, strcmp(type, "incomplete") == 0);
	/* created, in_progress, the .done echoes, parts, annotations, the
	 * provider's own tools ...: nothing to write */
	return 0;
}

/* ---- the interface ------------------------------------------------------ */

void
resp_stream_init(struct resp_stream *s, struct aevent *ev, const char *msg_id,
    const char *model, int64_t input_tokens, const struct model_route *route)
{
	static const struct jsonscan js0 = JSONSCAN_INITIALIZER;

	memset(s, 0, offsetof(struct resp_stream, items));
	s->js = js0;
	s->ev = ev;
	strlcpy(s->msg_id, msg_id, sizeof(s->msg_id));
	strlcpy(s->model, model, sizeof(s->model));
	s->input_tokens = input_tokens;
	s->open = -1;
	if (route != NULL) {
		s->provider = route->provider != NULL ? route->provider->name :
		    NULL;
		resp_sig_key(route, s->key);
		s->have_key = 1;
	}
}

int
resp_stream_feed(struct resp_stream *s, const char *event, size_t event_len,
    const char *data, size_t len)
{
	struct jsonlex_err	 err;
	const char		*type;
	char			 name[64];
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
	if (len == 0 || (len == 6 && memcmp(data, "[DONE]", 6) == 0))
		return 0;
	if (jsonscan(&s->js, data, len, RS_JSON_DEPTH, 1, &err) == -1 ||
	    jsonscan_type(&s->js, 0) != JSONSCAN_OBJECT)
		return rs_garbage(s, data, len);
	if ((type = jstr(s, 0, "type", NULL)) == NULL) {
		if (event_len == 0 || event_len >= sizeof(name))
			return rs_garbage(s, data, len);
		memcpy(name, event, event_len);
		name[event_len] = '\0';
		type = name;
	}
	s->events++;
	/* the first event starts the message, unless it is the error */
	if (strcmp(type, "error") != 0 && strcmp(type, "response.failed") !=
	    0 && rs_start(s) == -1)
		return -1;
	/* the events stay collected, whole ones valid even after a
	 * failure, until resp_stream_flush or the end */
	rv = rs_event(s, type);
	return rv == -1 ? -1 : 0;
}

int
resp_stream_flush(struct resp_stream *s)
{
	return aevent_emit(s->ev, 0);
}

int
resp_stream_complete(const struct resp_stream *s)
{
	return s->terminal;
}

int
resp_stream_finish(struct resp_stream *s)
{
	int64_t	 in, out, cached, written;

	if (s->ev->client_gone)
		return -1;
	if (s->finished)
		return 0;
	if (!s->terminal)
		return resp_stream_error(s, "api_error", "upstream stream "
		    "ended before the response was complete", NULL);
	if (s->have_usage) {
		in = s->usage_in - s->usage_cached - s->usage_written;
		out = s->usage_out;
		cached = s->usage_cached;
		written = s->usage_written;
	} else {
		in = s->input_tokens;
		out = -1;	/* aevent's estimate */
		cached = written = 0;
	}
	if (rs_start(s) == -1 || rs_advance(s, 1) == -1 ||
	    aevent_message_end(s->ev, s->stop_reason, NULL, in, out, cached,
	    written) == -1)
		/* out of memory: the whole events so far, then the error */
		return resp_stream_error(s, "api_error", "out of memory",
		    NULL);
	s->finished = 1;
	return aevent_emit(s->ev, 1);
}

int
resp_stream_error(struct resp_stream *s, const char *type,
    const char *message, const char *request_id)
{
	if (s->ev->client_gone)
		return -1;
	if (s->finished)
		return 0;
	s->finished = 1;
	if (request_id == NULL && s->request_id[0] != '\0')
		request_id = s->request_id;
	/* as Anthropic's API: the error event alone, whatever is open
	 * stays open, and clients drop the unfinished message */
	return aevent_fail(s->ev, type, message, request_id);
}

int
resp_stream_ping(struct resp_stream *s)
{
	if (s->ev->client_gone)
		return -1;
	if (s->finished)
		return 0;
	/* a silent upstream still gets the message started first */
	if (rs_start(s) == -1 || aevent_ping(s->ev) == -1) {
		aevent_emit(s->ev, 0);
		return -1;
	}
	return aevent_emit(s->ev, 0);
}

void
resp_stream_free(struct resp_stream *s)
{
	size_t	 i;

	for (i = 0; i < s->nitems; i++) {
		buf_free(&s->items[i].pending);
		buf_free(&s->items[i].sig);
	}
	s->nitems = 0;
	jsonscan_free(&s->js);
}
