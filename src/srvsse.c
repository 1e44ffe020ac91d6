/*
 * srvsse.c: a complete message written as Anthropic's event stream.
 *
 * The server-tool loop (srvloop.c) runs its rounds without streaming for
 * now; a client that asked for a stream gets message_start early (with
 * pings after it while backends and the upstream work) and the rest here
 * once the answer is whole, in the grammar Anthropic's streams follow:
 * each block opens with content_block_start, carries its content in
 * deltas where Anthropic sends deltas (text_delta, with citations_delta
 * before it for a cited text; thinking_delta then signature_delta;
 * input_json_delta for tool_use and server_tool_use, whose start has an
 * empty input, as clients read inputs only from the deltas), and
 * closes with content_block_stop; result blocks come whole in their
 * start. Then message_delta with the stop reason and the whole usage
 * (server_tool_use included), and message_stop.
 *
 * Phase 2b replaces this with the stream machine's own events (aevent).
 * Fails only when memory runs out (-1; what was appended before stays
 * whole events).
 */
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "http_resp.h"
#include "sse.h"
#include "srvsse.h"

#define JSON_FLAGS	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* event name + the JSON of v (taken) */
static int
event(struct buf *out, const char *name, json_object *v)
{
	const char	*s;
	size_t		 len, before = out->len;
	int		 rc = -1;

	if (v != NULL && (s = json_object_to_json_string_length(v, JSON_FLAGS,
	    &len)) != NULL && sse_event_begin(out, name) == 0 &&
	    buf_append(out, s, len) == 0 && sse_event_end(out) == 0)
		rc = 0;
	json_object_put(v);
	if (rc == -1) {
		out->len = before;	/* only whole events */
		if (out->data != NULL)
			out->data[out->len] = '\0';
	}
	return rc;
}

static json_object *
obj(const char *type)
{
	json_object	*o;

	if ((o = json_object_new_object()) != NULL)
		json_object_object_add(o, "type", json_object_new_string(type));
	return o;
}

int
srvsse_message_start(struct buf *out, const char *msg_id, const char *model,
    int64_t input_tokens)
{
	json_object	*e = obj("message_start"), *m = obj("message"), *u;

	u = json_object_new_object();
	if (e == NULL || m == NULL || u == NULL) {
		json_object_put(e);
		json_object_put(m);
		json_object_put(u);
		return -1;
	}
	json_object_object_add(m, "id", json_object_new_string(msg_id));
	json_object_object_add(m, "role", json_object_new_string("assistant"));
	json_object_object_add(m, "model", json_object_new_string(model));
	json_object_object_add(m, "content", json_object_new_array());
	json_object_object_add(m, "stop_reason", NULL);
	json_object_object_add(m, "stop_sequence", NULL);
	json_object_object_add(u, "input_tokens",
	    json_object_new_int64(input_tokens));
	json_object_object_add(u, "output_tokens", json_object_new_int64(1));
	json_object_object_add(u, "cache_creation_input_tokens",
	    json_object_new_int64(0));
	json_object_object_add(u, "cache_read_input_tokens",
	    json_object_new_int64(0));
	json_object_object_add(m, "usage", u);
	json_object_object_add(e, "message", m);
	return event(out, "message_start", e);
}

int
srvsse_ping(struct buf *out)
{
	return event(out, "ping", obj("ping"));
}

static int
block_start(struct buf *out, int index, json_object *block)
{
	json_object	*e = obj("content_block_start");

	if (e == NULL) {
		json_object_put(block);
		return -1;
	}
	json_object_object_add(e, "index", json_object_new_int(index));
	json_object_object_add(e, "content_block", block);
	return event(out, "content_block_start", e);
}

/* {"type":"content_block_delta","index":i,"delta":{"type":type,
 * field:value}} (value taken) */
static int
delta(struct buf *out, int index, const char *type, const char *field,
    json_object *value)
{
	json_object	*e = obj("content_block_delta"), *d = obj(type);

	if (e == NULL || d == NULL || value == NULL) {
		json_object_put(e);
		json_object_put(d);
		json_object_put(value);
		return -1;
	}
	json_object_object_add(d, field, value);
	json_object_object_add(e, "index", json_object_new_int(index));
	json_object_object_add(e, "delta", d);
	return event(out, "content_block_delta", e);
}

static int
block_stop(struct buf *out, int index)
{
	json_object	*e = obj("content_block_stop");

	if (e == NULL)
		return -1;
	json_object_object_add(e, "index", json_object_new_int(index));
	return event(out, "content_block_stop", e);
}

static json_object *
member(json_object *o, const char *key)
{
	json_object	*v;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *
string(json_object *o, const char *key)
{
	json_object	*v = member(o, key);

	return json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : "";
}

static int
text_block(struct buf *out, int i, json_object *b)
{
	json_object	*start = obj("text"), *cites = member(b, "citations");
	size_t		 k, n;

	if (start == NULL)
		return -1;
	json_object_object_add(start, "text", json_object_new_string(""));
	if (block_start(out, i, start) == -1)
		return -1;
	n = json_object_is_type(cites, json_type_array) ?
	    json_object_array_length(cites) : 0;
	for (k = 0; k < n; k++)
		if (delta(out, i, "citations_delta", "citation", json_object_get(
		    json_object_array_get_idx(cites, k))) == -1)
			return -1;
	if (delta(out, i, "text_delta", "text",
	    json_object_get(member(b, "text"))) == -1)
		return -1;
	return block_stop(out, i);
}

static int
thinking_block(struct buf *out, int i, json_object *b)
{
	json_object	*start = obj("thinking");

	if (start == NULL)
		return -1;
	json_object_object_add(start, "thinking", json_object_new_string(""));
	json_object_object_add(start, "signature", json_object_new_string(""));
	if (block_start(out, i, start) == -1 ||
	    delta(out, i, "thinking_delta", "thinking",
	    json_object_get(member(b, "thinking"))) == -1 ||
	    delta(out, i, "signature_delta", "signature",
	    json_object_get(member(b, "signature"))) == -1)
		return -1;
	return block_stop(out, i);
}

/* tool_use, server_tool_use: the block with input {}, then the input */
static int
call_block(struct buf *out, int i, json_object *b, const char *type)
{
	json_object	*start = obj(type), *caller;
	const char	*args;

	if (start == NULL)
		return -1;
	json_object_object_add(start, "id", json_object_new_string(
	    string(b, "id")));
	json_object_object_add(start, "name", json_object_new_string(
	    string(b, "name")));
	json_object_object_add(start, "input", json_object_new_object());
	if ((caller = member(b, "caller")) != NULL)
		json_object_object_add(start, "caller", json_object_get(caller));
	if (block_start(out, i, start) == -1)
		return -1;
	args = json_object_to_json_string_ext(member(b, "input"), JSON_FLAGS);
	if (delta(out, i, "input_json_delta", "partial_json",
	    json_object_new_string(args != NULL ? args : "{}")) == -1)
		return -1;
	return block_stop(out, i);
}

int
srvsse_content(struct buf *out, json_object *content)
{
	json_object	*b;
	const char	*type;
	size_t		 i, n = json_object_array_length(content);
	int		 rc;

	for (i = 0; i < n; i++) {
		b = json_object_array_get_idx(content, i);
		type = string(b, "type");
		if (strcmp(type, "text") == 0)
			rc = text_block(out, (int)i, b);
		else if (strcmp(type, "thinking") == 0)
			rc = thinking_block(out, (int)i, b);
		else if (strcmp(type, "tool_use") == 0 ||
		    strcmp(type, "server_tool_use") == 0)
			rc = call_block(out, (int)i, b, type);
		else
			rc = block_start(out, (int)i, json_object_get(b)) == -1 ?
			    -1 : block_stop(out, (int)i);
		if (rc == -1)
			return -1;
	}
	return 0;
}

int
srvsse_message_end(struct buf *out, json_object *msg)
{
	json_object	*e = obj("message_delta"), *d = json_object_new_object();

	if (e == NULL || d == NULL) {
		json_object_put(e);
		json_object_put(d);
		return -1;
	}
	json_object_object_add(d, "stop_reason",
	    json_object_get(member(msg, "stop_reason")));
	json_object_object_add(d, "stop_sequence",
	    json_object_get(member(msg, "stop_sequence")));
	json_object_object_add(e, "delta", d);
	json_object_object_add(e, "usage", json_object_get(member(msg,
	    "usage")));
	if (event(out, "message_delta", e) == -1)
		return -1;
	return event(out, "message_stop", obj("message_stop"));
}

int
srvsse_error(struct buf *out, const char *type, const char *message,
    const char *request_id)
{
	return event(out, "error", http_resp_error_json(type, message,
	    request_id));
}
