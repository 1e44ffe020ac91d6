/*
 * resp_req.c: an Anthropic Messages request -> an OpenAI Responses API
 * request (POST /v1/responses).
 *
 * The walk is xlate_req's (xr.h): the same validation, in the same order,
 * with the same messages naming the JSON path; the same system text
 * (role "system" messages folded in, Claude Code's attribution line left
 * out where the provider says so) as "instructions"; the same translation
 * of text, images, documents and the blocks that become text; the same
 * parameters and tools, renamed for this API. What differs is the shape
 * of the conversation. Chat Completions has one assistant message per
 * turn; the Responses API takes "input" items in order, so every block
 * keeps its place: text becomes an assistant message item, tool_use a
 * function_call item, and a thinking block whose signature carries a
 * reasoning item of this provider and model (resp_sig.c) becomes that
 * reasoning item again, encrypted_content and all, right where it was.
 * Other thinking blocks, redacted thinking and blocks nothing stands for
 * are dropped with a log line; a turn that would end in a reasoning item
 * loses it (the API wants what the reasoning led to after it).
 *
 * Tool results become function_call_output items in the order of the
 * calls they answer, images and PDFs inside the output where the API
 * takes them; a call without a result gets a placeholder output that
 * says so (the API refuses unanswered calls); a result that answers no
 * call of the turn before (the API refuses those too) goes into the user
 * message as text, with a log line.
 *
 * Parameters: max_tokens (capped as xlate_req caps it, and raised to the
 * API's minimum of RESP_MIN_OUTPUT_TOKENS) -> max_output_tokens;
 * temperature, top_p and metadata.user_id (hashed) as in Chat Completions;
 * stop_sequences, which this API lacks, and top_k are left out, the former
 * with a log line. A model configured for reasoning gets reasoning.effort
 * as xlate_req chooses it, summaries (unless thinking is disabled) and
 * include ["reasoning.encrypted_content"], and neither temperature nor
 * top_p (reasoning models refuse them). store is always false.
 *
 * Failure: NULL with the xlate_err filled, as xlate_req.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "conf.h"
#include "gsig.h"
#include "log.h"
#include "models.h"
#include "resp.h"
#include "turns.h"
#include "util.h"
#include "xlate.h"
#include "xr.h"

struct rq {
	struct xr	 x;		/* the shared walker's state */
	json_object	*input;		/* the input items so far */
	json_object	*calls;		/* call ids of the last assistant turn
					 * that no result has answered yet */
	struct buf	 text;		/* assistant text not yet an item */
	char		 key[RESP_SIG_KEY_SIZE];
};

/* a new {"type": type} */
static json_object *
rq_item(struct rq *q, const char *type)
{
	json_object	*o;

	if ((o = json_object_new_object()) == NULL) {
		xr_nomem(&q->x);
		return NULL;
	}
	if (xr_add(&q->x, o, "type", json_object_new_string(type)) == -1) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* {"type": type, "text": s} */
static json_object *
rq_text(struct rq *q, const char *type, const char *s, size_t len)
{
	json_object	*o;

	if ((o = rq_item(q, type)) == NULL)
		return NULL;
	if (xr_add(&q->x, o, "text", json_object_new_string_len(s,
	    (int)len)) == -1) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* {"type": type, "text": s}, the string shared with the request */
static json_object *
rq_text_of(struct rq *q, const char *type, json_object *s)
{
	json_object	*o;

	if ((o = rq_item(q, type)) == NULL)
		return NULL;
	if (xr_add(&q->x, o, "text", xr_string(s)) == -1) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *
rq_member(json_object *o, const char *key)
{
	json_object	*v;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* o[key] shared into n[key] when o has it */
static int
rq_share(struct rq *q, json_object *n, const char *key, json_object *o,
    const char *okey)
{
	json_object	*v;

	if ((v = rq_member(o, okey)) == NULL)
		return 0;
	return xr_add(&q->x, n, key, json_object_get(v));
}

/*
 * A Chat Completions content part (xr.h's) -> its Responses form: text ->
 * input_text, image_url -> input_image, file -> input_file.
 */
static json_object *
rq_part(struct rq *q, json_object *p)
{
	json_object	*t = rq_member(p, "type"), *inner, *n;
	const char	*type = json_object_get_string(t);

	if (strcmp(type, "text") == 0)
		return rq_text_of(q, "input_text", rq_member(p, "text"));
	if (strcmp(type, "image_url") == 0) {
		inner = rq_member(p, "image_url");
		if ((n = rq_item(q, "input_image")) == NULL)
			return NULL;
		if (rq_share(q, n, "image_url", inner, "url") == -1 ||
		    xr_add(&q->x, n, "detail",
		    json_object_new_string("auto")) == -1) {
			json_object_put(n);
			return NULL;
		}
		return n;
	}
	inner = rq_member(p, "file");
	if ((n = rq_item(q, "input_file")) == NULL)
		return NULL;
	if (rq_share(q, n, "filename", inner, "filename") == -1 ||
	    rq_share(q, n, "file_data", inner, "file_data") == -1) {
		json_object_put(n);
		return NULL;
	}
	return n;
}

/* every part of chat onto arr, converted */
static int
rq_parts(struct rq *q, json_object *chat, json_object *arr)
{
	size_t	 i, n = json_object_array_length(chat);

	for (i = 0; i < n; i++)
		if (xr_push(&q->x, arr, rq_part(q,
		    json_object_array_get_idx(chat, i))) == -1)
			return -1;
	return 0;
}

/* ---- tool calls and their results --------------------------------------- */

static int
rq_output(struct rq *q, json_object *call_id, json_object *output)
{
	json_object	*o;

	if (output == NULL)
		return xr_nomem(&q->x);
	if ((o = rq_item(q, "function_call_output")) == NULL) {
		json_object_put(output);
		return -1;
	}
	if (xr_add(&q->x, o, "call_id", gsig_plain_id(call_id)) == -1 ||
	    xr_add(&q->x, o, "output", output) == -1) {
		json_object_put(o);
		return -1;
	}
	return xr_push(&q->x, q->input, o);
}

/* a call nothing answered: the API refuses it, the model is told */
static int
rq_placeholder(struct rq *q, json_object *call_id)
{
	struct buf	 e = BUF_INITIALIZER;

	util_log_excerpt(&e, json_object_get_string(call_id),
	    (size_t)json_object_get_string_len(call_id), 64);
	log_info("%s xlate: tool call \"%s\" has no result; the upstream is "
	    "told it is missing", q->x.rid, e.data ? e.data : "");
	buf_free(&e);
	return rq_output(q, call_id, json_object_new_string(
	    TURNS_MISSING_RESULT));
}

/* the calls of the last assistant turn that are still unanswered */
static int
rq_answer_pending(struct rq *q)
{
	size_t	 i, n = json_object_array_length(q->calls);

	for (i = 0; i < n; i++)
		if (rq_placeholder(q, json_object_array_get_idx(q->calls,
		    i)) == -1)
			return -1;
	json_object_put(q->calls);
	if ((q->calls = json_object_new_array()) == NULL)
		return xr_nomem(&q->x);
	return 0;
}

struct rq_result {				/* one translated tool_result */
	json_object	*id;			/* borrowed from the request */
	json_object	*output;		/* a string or parts */
	size_t		 block;			/* its index in the content */
	int		 sent;
};

/*
 * tool_result block -> its output: the text ("Error: " first when
 * is_error, so models that read only text see it), and the images and
 * PDFs after it as input parts, where the API takes them.
 */
static int
rq_tool_result(struct rq *q, json_object *b, const char *path,
    struct rq_result *r)
{
	struct buf	 body = BUF_INITIALIZER, text = BUF_INITIALIZER;
	json_object	*id, *err, *content, *media = NULL, *out = NULL;
	int		 rc = -1;

	if (xr_str(&q->x, b, path, "tool_use_id", XR_REQUIRED, &id) == -1 ||
	    xr_member(&q->x, b, path, "is_error", json_type_boolean,
	    XR_OPTIONAL, &err) == -1 ||
	    xr_content(&q->x, b, path, XR_OPTIONAL, &content) == -1)
		return -1;
	if ((media = json_object_new_array()) == NULL) {
		xr_nomem(&q->x);
		goto done;
	}
	if (xr_result_body(&q->x, content, path, &body, media) == -1)
		goto done;
	if ((json_object_get_boolean(err) && buf_puts(&text, body.len > 0 ?
	    "Error: " : "Error") == -1) || (body.len > 0 &&
	    buf_append(&text, body.data, body.len) == -1)) {
		xr_nomem(&q->x);
		goto done;
	}
	if (json_object_array_length(media) == 0)
		out = json_object_new_string_len(text.data ? text.data : "",
		    (int)text.len);
	else if ((out = json_object_new_array()) != NULL && ((text.len > 0 &&
	    xr_push(&q->x, out, rq_text(q, "input_text", text.data,
	    text.len)) == -1) || rq_parts(q, media, out) == -1)) {
		json_object_put(out);
		goto done;
	}
	if (out == NULL) {
		xr_nomem(&q->x);
		goto done;
	}
	r->id = id;
	r->output = out;
	rc = 0;
done:
	json_object_put(media);
	buf_free(&body);
	buf_free(&text);
	return rc;
}

static int
rq_same_id(json_object *a, json_object *b)
{
	return strcmp(json_object_get_string(a), json_object_get_string(b)) ==
	    0;
}

/*
 * A result that answers no call of the turn before (the API refuses a
 * function_call_output without its call): its content as user parts,
 * text first, so the model still sees it.
 */
static int
rq_stray(struct rq *q, struct rq_result *r, const char *cp, json_object *parts)
{
	char		 bp[XR_PATH];
	struct buf	 t = BUF_INITIALIZER;
	json_object	*o = r->output, *first;
	size_t		 i = 0, n;
	int		 rc = -1;

	xr_index(bp, sizeof(bp), cp, r->block);
	xr_drop(&q->x, bp, "tool_result", "it answers no tool call of the "
	    "turn before; its content goes as text");
	if (buf_printf(&t, "[result of tool call %s]",
	    json_object_get_string(r->id)) == -1)
		goto nomem;
	if (json_object_is_type(o, json_type_string)) {
		if (json_object_get_string_len(o) > 0 && (buf_putc(&t, '\n') ==
		    -1 || buf_append(&t, json_object_get_string(o),
		    (size_t)json_object_get_string_len(o)) == -1))
			goto nomem;
		n = 0;
	} else {
		/* [input_text?, media...]: the text joins ours */
		n = json_object_array_length(o);
		first = json_object_array_get_idx(o, 0);
		if (json_object_object_get_ex(first, "text", &first)) {
			if (buf_putc(&t, '\n') == -1 || buf_append(&t,
			    json_object_get_string(first),
			    (size_t)json_object_get_string_len(first)) == -1)
				goto nomem;
			i = 1;
		}
	}
	if (xr_push(&q->x, parts, rq_text(q, "input_text", t.data,
	    t.len)) == -1)
		goto done;
	for (; i < n; i++)
		if (xr_push(&q->x, parts, json_object_get(
		    json_object_array_get_idx(o, i))) == -1)
			goto done;
	rc = 0;
	goto done;
nomem:
	xr_nomem(&q->x);
done:
	buf_free(&t);
	return rc;
}

/*
 * Results in the order of the calls they answer, placeholders for the
 * calls none answers; results answering none of them become user parts
 * (cp names the content, for the log).
 */
static int
rq_send_results(struct rq *q, struct rq_result *res, size_t nres,
    const char *cp, json_object *parts)
{
	json_object	*id;
	size_t		 i, j, ncalls = json_object_array_length(q->calls);
	int		 rc;

	for (i = 0; i < ncalls; i++) {
		id = json_object_array_get_idx(q->calls, i);
		for (j = 0; j < nres; j++)
			if (!res[j].sent && rq_same_id(res[j].id, id))
				break;
		if (j == nres)
			rc = rq_placeholder(q, id);
		else {
			res[j].sent = 1;
			rc = rq_output(q, res[j].id, json_object_get(
			    res[j].output));
		}
		if (rc == -1)
			return -1;
	}
	for (j = 0; j < nres; j++)
		if (!res[j].sent && rq_stray(q, &res[j], cp, parts) == -1)
			return -1;
	json_object_put(q->calls);
	if ((q->calls = json_object_new_array()) == NULL)
		return xr_nomem(&q->x);
	return 0;
}

/* ---- user messages ------------------------------------------------------ */

/* a user message item with these (Responses) parts, if there are any */
static int
rq_send_user(struct rq *q, json_object *parts)
{
	json_object	*m;

	if (json_object_array_length(parts) == 0)
		return 0;
	if ((m = rq_item(q, "message")) == NULL)
		return -1;
	if (xr_add(&q->x, m, "role", json_object_new_string("user")) == -1 ||
	    xr_add(&q->x, m, "content", json_object_get(parts)) == -1) {
		json_object_put(m);
		return -1;
	}
	return xr_push(&q->x, q->input, m);
}

/* tool results into res, the user's own blocks onto chat (Chat parts) */
static int
rq_user_blocks(struct rq *q, json_object *content, const char *cp,
    struct rq_result *res, size_t *nres, json_object *chat)
{
	char		 bp[XR_PATH];
	json_object	*b;
	const char	*type;
	size_t		 i, n = json_object_array_length(content);

	for (i = 0; i < n; i++) {
		b = json_object_array_get_idx(content, i);
		xr_index(bp, sizeof(bp), cp, i);
		if (xr_block(&q->x, b, bp, &type) == -1)
			return -1;
		if (strcmp(type, "tool_result") == 0) {
			if (rq_tool_result(q, b, bp, &res[*nres]) == -1)
				return -1;
			res[(*nres)++].block = i;
		} else if (xr_user_part(&q->x, b, bp, type, chat) == -1)
			return -1;
	}
	return 0;
}

/* a user message: the results of the turn before first, then the rest */
static int
rq_user(struct rq *q, json_object *content, const char *path)
{
	char		  cp[XR_PATH];
	json_object	 *chat = NULL, *parts = NULL;
	struct rq_result *res = NULL;
	size_t		  i, n, nres = 0;
	int		  rc = -1;

	xr_key(cp, sizeof(cp), path, "content");
	if ((chat = json_object_new_array()) == NULL ||
	    (parts = json_object_new_array()) == NULL) {
		xr_nomem(&q->x);
		goto done;
	}
	if (json_object_is_type(content, json_type_string)) {
		if (rq_answer_pending(q) == -1 ||
		    (json_object_get_string_len(content) > 0 &&
		    xr_push(&q->x, parts, rq_text_of(q, "input_text",
		    content)) == -1))
			goto done;
	} else {
		n = json_object_array_length(content);
		if ((res = calloc(n ? n : 1, sizeof(*res))) == NULL) {
			xr_nomem(&q->x);
			goto done;
		}
		if (rq_user_blocks(q, content, cp, res, &nres, chat) == -1 ||
		    rq_send_results(q, res, nres, cp, parts) == -1 ||
		    rq_parts(q, chat, parts) == -1)
			goto done;
	}
	rc = rq_send_user(q, parts);
done:
	for (i = 0; i < nres; i++)
		json_object_put(res[i].output);
	free(res);
	json_object_put(chat);
	json_object_put(parts);
	return rc;
}

/* ---- assistant messages ------------------------------------------------- */

/* the assistant text so far as one message item */
static int
rq_flush_text(struct rq *q)
{
	json_object	*m, *content;

	if (q->text.len == 0)
		return 0;
	if ((m = rq_item(q, "message")) == NULL)
		return -1;
	if (xr_add(&q->x, m, "role", json_object_new_string("assistant")) ==
	    -1 || xr_add(&q->x, m, "content",
	    (content = json_object_new_array())) == -1 ||
	    xr_push(&q->x, content, rq_text(q, "output_text", q->text.data,
	    q->text.len)) == -1) {
		json_object_put(m);
		return -1;
	}
	buf_reset(&q->text);
	return xr_push(&q->x, q->input, m);
}

/* a reasoning item from the signature that carries it, or a logged drop */
static int
rq_thinking(struct rq *q, json_object *b, const char *path,
    json_object *thinking)
{
	json_object	*sig, *item, *summary;
	const char	*enc, *why;
	size_t		 len;

	if (!json_object_object_get_ex(b, "signature", &sig) ||
	    !json_object_is_type(sig, json_type_string)) {
		xr_drop(&q->x, path, "thinking", "it has no signature");
		return 0;
	}
	if ((enc = resp_sig_decode(json_object_get_string(sig),
	    (size_t)json_object_get_string_len(sig), q->key, &len,
	    &why)) == NULL) {
		xr_drop(&q->x, path, "thinking", why);
		return 0;
	}
	if (rq_flush_text(q) == -1 || (item = rq_item(q, "reasoning")) == NULL)
		return -1;
	if (xr_add(&q->x, item, "summary",
	    (summary = json_object_new_array())) == -1 ||
	    (json_object_get_string_len(thinking) > 0 &&
	    xr_push(&q->x, summary, rq_text_of(q, "summary_text",
	    thinking)) == -1) ||
	    xr_add(&q->x, item, "encrypted_content",
	    json_object_new_string_len(enc, (int)len)) == -1) {
		json_object_put(item);
		return -1;
	}
	return xr_push(&q->x, q->input, item);
}

/* tool_use block -> a function_call item; its id awaits a result */
static int
rq_tool_use(struct rq *q, json_object *b, const char *path)
{
	json_object	*id, *name, *input, *item;
	const char	*args;

	if (xr_str(&q->x, b, path, "id", XR_REQUIRED, &id) == -1 ||
	    xr_str(&q->x, b, path, "name", XR_REQUIRED, &name) == -1 ||
	    xr_member(&q->x, b, path, "input", json_type_object, XR_REQUIRED,
	    &input) == -1)
		return -1;
	/* serialised, never read: input may be jsonparse's kept text */
	if ((args = json_object_to_json_string_ext(input,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) == NULL)
		return xr_nomem(&q->x);
	if (rq_flush_text(q) == -1 || (item = rq_item(q, "function_call")) ==
	    NULL)
		return -1;
	if (xr_add(&q->x, item, "call_id", gsig_plain_id(id)) == -1 ||
	    xr_add(&q->x, item, "name", xr_string(name)) == -1 ||
	    xr_add(&q->x, item, "arguments",
	    json_object_new_string(args)) == -1) {
		json_object_put(item);
		return -1;
	}
	if (xr_push(&q->x, q->input, item) == -1 || xr_load(&q->x, name) == -1)
		return -1;
	return xr_push(&q->x, q->calls, xr_string(id));
}

static int
rq_assistant_block(struct rq *q, json_object *b, const char *path)
{
	json_object	*s;
	const char	*type;
	int		 r;

	if (xr_block(&q->x, b, path, &type) == -1)
		return -1;
	if (strcmp(type, "text") == 0) {
		if (xr_str(&q->x, b, path, "text", XR_REQUIRED, &s) == -1)
			return -1;
		return xr_join(&q->x, &q->text, "\n\n", s);
	}
	if (strcmp(type, "thinking") == 0) {
		if (xr_str(&q->x, b, path, "thinking", XR_REQUIRED, &s) == -1)
			return -1;
		return rq_thinking(q, b, path, s);
	}
	if (strcmp(type, "tool_use") == 0)
		return rq_tool_use(q, b, path);
	if (strcmp(type, "redacted_thinking") == 0) {
		xr_drop(&q->x, path, type, "it is encrypted for Claude only");
		return 0;
	}
	if ((r = xr_render(&q->x, b, type, &q->text, "\n\n")) == 0)
		xr_drop(&q->x, path, type, "the upstream has no equivalent");
	return r == -1 ? -1 : 0;
}

/* reasoning must lead somewhere: none may end the turn */
static void
rq_trim_reasoning(struct rq *q, size_t start, const char *path)
{
	json_object	*last, *t;
	size_t		 n;

	while ((n = json_object_array_length(q->input)) > start) {
		last = json_object_array_get_idx(q->input, n - 1);
		if (!json_object_object_get_ex(last, "type", &t) ||
		    strcmp(json_object_get_string(t), "reasoning") != 0)
			return;
		log_info("%s xlate: %s: a reasoning item dropped: nothing of "
		    "the turn follows it", q->x.rid, path);
		json_object_array_del_idx(q->input, n - 1, 1);
	}
}

static int
rq_assistant(struct rq *q, json_object *content, const char *path)
{
	char	 cp[XR_PATH], bp[XR_PATH];
	size_t	 i, n, start;

	/* the turn before called tools and no user message answered */
	if (rq_answer_pending(q) == -1)
		return -1;
	start = json_object_array_length(q->input);
	if (json_object_is_type(content, json_type_string)) {
		if (xr_join(&q->x, &q->text, "", content) == -1)
			return -1;
	} else {
		xr_key(cp, sizeof(cp), path, "content");
		n = json_object_array_length(content);
		for (i = 0; i < n; i++) {
			xr_index(bp, sizeof(bp), cp, i);
			if (rq_assistant_block(q, json_object_array_get_idx(
			    content, i), bp) == -1)
				return -1;
		}
	}
	if (rq_flush_text(q) == -1)
		return -1;
	rq_trim_reasoning(q, start, path);
	return 0;
}

/* ---- the conversation --------------------------------------------------- */

static int
rq_one_message(struct rq *q, json_object *m, const char *path)
{
	char		 cp[XR_PATH];
	json_object	*role, *content;
	const char	*r;

	if (!json_object_is_type(m, json_type_object))
		return xr_fail(&q->x, "%s: expected object", path);
	if (xr_str(&q->x, m, path, "role", XR_REQUIRED, &role) == -1 ||
	    xr_content(&q->x, m, path, XR_REQUIRED, &content) == -1)
		return -1;
	r = json_object_get_string(role);
	if (strcmp(r, "user") == 0)
		return rq_user(q, content, path);
	if (strcmp(r, "assistant") == 0)
		return rq_assistant(q, content, path);
	if (strcmp(r, "system") == 0) {
		xr_key(cp, sizeof(cp), path, "content");
		return xr_system(&q->x, content, cp, 0);
	}
	return xr_fail(&q->x, "%s.role: must be \"user\" or \"assistant\"",
	    path);
}

/* "system" and "messages" -> x.system and q->input */
static int
rq_messages(struct rq *q, json_object *req)
{
	char		 mp[XR_PATH];
	json_object	*sys, *msgs;
	size_t		 i, n;

	if (xr_member(&q->x, req, "", "messages", json_type_array,
	    XR_REQUIRED, &msgs) == -1)
		return -1;
	if (json_object_object_get_ex(req, "system", &sys) && sys != NULL) {
		if (!json_object_is_type(sys, json_type_string) &&
		    !json_object_is_type(sys, json_type_array))
			return xr_fail(&q->x, "system: expected string or "
			    "array");
		if (xr_system(&q->x, sys, "system", 1) == -1)
			return -1;
	}
	if ((n = json_object_array_length(msgs)) == 0)
		return xr_fail(&q->x, "messages: at least one message is "
		    "required");
	for (i = 0; i < n; i++) {
		xr_index(mp, sizeof(mp), "messages", i);
		if (rq_one_message(q, json_object_array_get_idx(msgs, i),
		    mp) == -1)
			return -1;
	}
	if (rq_answer_pending(q) == -1)
		return -1;
	if (json_object_array_length(q->input) == 0)
		return xr_fail(&q->x, "messages: at least one non-empty user "
		    "or assistant message is required");
	return 0;
}

/* ---- tools -------------------------------------------------------------- */

/* {"type":"function","function":{name,description,parameters}} ->
 * {"type":"function",name,description,parameters,"strict":false} */
static json_object *
rq_tool(struct rq *q, json_object *chat)
{
	json_object	*fn = rq_member(chat, "function"), *t;

	if ((t = rq_item(q, "function")) == NULL)
		return NULL;
	if (rq_share(q, t, "name", fn, "name") == -1 ||
	    rq_share(q, t, "description", fn, "description") == -1 ||
	    rq_share(q, t, "parameters", fn, "parameters") == -1 ||
	    xr_add(&q->x, t, "strict", json_object_new_boolean(0)) == -1) {
		json_object_put(t);
		return NULL;
	}
	return t;
}

static int
rq_tools(struct rq *q, json_object *chat, json_object *out)
{
	json_object	*tools, *tc, *arr, *name, *choice;
	size_t		 i, n;

	if ((tools = rq_member(chat, "tools")) == NULL)
		return 0;
	if (xr_add(&q->x, out, "tools", (arr = json_object_new_array())) == -1)
		return -1;
	n = json_object_array_length(tools);
	for (i = 0; i < n; i++)
		if (xr_push(&q->x, arr, rq_tool(q,
		    json_object_array_get_idx(tools, i))) == -1)
			return -1;
	if ((tc = rq_member(chat, "tool_choice")) != NULL) {
		/* "auto", "required", "none" as they are; a forced tool
		 * loses Chat Completions' "function" wrapper */
		if (json_object_is_type(tc, json_type_string))
			choice = json_object_get(tc);
		else if ((choice = rq_item(q, "function")) != NULL) {
			name = rq_member(rq_member(tc, "function"), "name");
			if (xr_add(&q->x, choice, "name", xr_string(name)) ==
			    -1) {
				json_object_put(choice);
				return -1;
			}
		} else
			return -1;
		if (xr_add(&q->x, out, "tool_choice", choice) == -1)
			return -1;
	}
	return rq_share(q, out, "parallel_tool_calls", chat,
	    "parallel_tool_calls");
}

/* ---- parameters --------------------------------------------------------- */

static int
rq_max_tokens(struct rq *q, json_object *chat, json_object *out)
{
	int64_t	 n = json_object_get_int64(rq_member(chat, "max_tokens"));

	if (n < RESP_MIN_OUTPUT_TOKENS)
		n = RESP_MIN_OUTPUT_TOKENS;
	return xr_add(&q->x, out, "max_output_tokens",
	    json_object_new_int64(n));
}

/* thinking disabled: reasoning still goes on (the model decides) and
 * comes back encrypted, but no summaries become thinking text */
static int
rq_thinking_disabled(json_object *req)
{
	json_object	*t = rq_member(rq_member(req, "thinking"), "type");

	return t != NULL && strcmp(json_object_get_string(t), "disabled") == 0;
}

static int
rq_reasoning(struct rq *q, json_object *req, json_object *chat,
    json_object *out)
{
	json_object	*r, *inc;

	if (!q->x.route->model->reasoning)
		return 0;
	if ((r = json_object_new_object()) == NULL)
		return xr_nomem(&q->x);
	if (rq_share(q, r, "effort", chat, "reasoning_effort") == -1 ||
	    (!rq_thinking_disabled(req) && xr_add(&q->x, r, "summary",
	    json_object_new_string("auto")) == -1)) {
		json_object_put(r);
		return -1;
	}
	if (json_object_object_length(r) == 0)
		json_object_put(r);
	else if (xr_add(&q->x, out, "reasoning", r) == -1)
		return -1;
	if (xr_add(&q->x, out, "include", (inc = json_object_new_array())) ==
	    -1 || xr_push(&q->x, inc, json_object_new_string(
	    "reasoning.encrypted_content")) == -1)
		return -1;
	return 0;
}

/* temperature and top_p; reasoning models refuse both (Claude Code sends
 * temperature 1 with thinking on, which would fail every request) */
static int
rq_sampling(struct rq *q, json_object *chat, json_object *out)
{
	if (q->x.route->model->reasoning)
		return 0;
	if (rq_share(q, out, "temperature", chat, "temperature") == -1 ||
	    rq_share(q, out, "top_p", chat, "top_p") == -1)
		return -1;
	return 0;
}

static int
rq_params(struct rq *q, json_object *req, json_object *chat, int stream,
    json_object *out)
{
	if (rq_member(chat, "stop") != NULL)
		log_info("%s xlate: stop_sequences dropped: the Responses API "
		    "has no stop sequences", q->x.rid);
	if (rq_share(q, out, "model", chat, "model") == -1 ||
	    (q->x.system.len > 0 && xr_add(&q->x, out, "instructions",
	    json_object_new_string_len(q->x.system.data,
	    (int)q->x.system.len)) == -1) ||
	    xr_add(&q->x, out, "input", json_object_get(q->input)) == -1 ||
	    rq_max_tokens(q, chat, out) == -1 ||
	    rq_sampling(q, chat, out) == -1 ||
	    rq_share(q, out, "user", chat, "user") == -1 ||
	    rq_reasoning(q, req, chat, out) == -1 ||
	    rq_tools(q, chat, out) == -1 ||
	    xr_add(&q->x, out, "store", json_object_new_boolean(0)) == -1 ||
	    (stream && xr_add(&q->x, out, "stream",
	    json_object_new_boolean(1)) == -1))
		return -1;
	return 0;
}

/* ---- entry point -------------------------------------------------------- */

json_object *
resp_req(json_object *req, const struct model_route *route, int stream,
    const char *request_id, struct xlate_err *err)
{
	struct rq	 q;
	json_object	*out = NULL, *chat = NULL;

	if (route == NULL || route->model == NULL || route->provider == NULL)
		fatalx("bug: resp_req without a route");
	memset(&q, 0, sizeof(q));
	q.x.route = route;
	q.x.rid = request_id != NULL ? request_id : "-";
	q.x.err = err;
	err->provider_limit = 0;
	resp_sig_key(route, q.key);
	if (!json_object_is_type(req, json_type_object)) {
		xr_fail(&q.x, "request body: expected a JSON object");
		return NULL;
	}
	if ((out = json_object_new_object()) == NULL ||
	    (chat = json_object_new_object()) == NULL ||
	    (q.input = json_object_new_array()) == NULL ||
	    (q.calls = json_object_new_array()) == NULL ||
	    (q.x.loaded = json_object_new_object()) == NULL) {
		xr_nomem(&q.x);
		goto fail;
	}
	/* xlate_req's order, so the first problem reported is the same */
	if (xr_model(&q.x, req, chat) == -1 ||
	    xr_max_tokens(&q.x, req, chat) == -1 ||
	    rq_messages(&q, req) == -1 ||
	    xr_params(&q.x, req, 0, chat) == -1 ||
	    xr_tools(&q.x, req, chat) == -1 ||
	    rq_params(&q, req, chat, stream, out) == -1)
		goto fail;
	goto done;
fail:
	json_object_put(out);
	out = NULL;
done:
	json_object_put(chat);
	json_object_put(q.input);
	json_object_put(q.calls);
	json_object_put(q.x.loaded);
	buf_free(&q.x.system);
	buf_free(&q.text);
	return out;
}
