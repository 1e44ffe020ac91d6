/*
 * resp_resp.c: an OpenAI Responses API answer, translated back for the
 * client.
 *
 * resp_resp() turns a "response" object into an Anthropic message, one
 * block per output item and in their order: a reasoning item becomes a
 * thinking block (its summary parts, or its reasoning text, joined by
 * blank lines; its encrypted_content kept in the signature for resp_req
 * to send back, resp_sig.c), a message item a text block (its output_text
 * and refusal parts), a function_call item a tool_use block (arguments
 * parsed as xlate_resp parses them, never guessed). Items of the
 * provider's own tools (web_search_call and the like) have no Anthropic
 * block and are skipped. A reasoning item with neither text nor encrypted
 * content says nothing and is skipped too.
 *
 * stop_reason: "incomplete" with incomplete_details.reason
 * max_output_tokens -> max_tokens (a tool call cut short is dropped, as
 * xlate_resp drops it), content_filter -> refusal; a refusal part ->
 * refusal; function calls -> tool_use; else end_turn. usage: input_tokens
 * counts cached and newly cached tokens, Anthropic's does not:
 * cached_tokens go to cache_read_input_tokens, cache_write_tokens (where
 * reported) to cache_creation_input_tokens; an answer without usage gets
 * the estimate xlate_resp gives.
 *
 * Configured secrets in text, thinking and tool arguments are masked, as
 * xlate_resp masks them (xlate_answer_string, and xlate_tool_block).
 *
 * A failed (or cancelled) response, or one carrying an "error", is the
 * upstream's error: resp_error() words it as if the upstream had answered
 * the HTTP status its code stands for, through errmap_http (the
 * context-window wording Claude Code acts on included).
 *
 * Failure: NULL with the xlate_err filled (the upstream's error, 502 for
 * an answer that is no response, 500 when memory runs out).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "errmap.h"
#include "log.h"
#include "models.h"
#include "resp.h"
#include "tokens.h"
#include "util.h"
#include "xlate.h"

struct rr {
	json_object		*content;	/* the blocks so far */
	const char		*key;		/* signature key, or NULL */
	int			 truncated;	/* cut at max_output_tokens */
	int			 refusal;	/* a refusal part was seen */
	int			 ntools;
	struct xlate_err	*err;
};

static void
rr_nomem(struct xlate_err *err)
{
	err->status = 500;
	strlcpy(err->type, "api_error", sizeof(err->type));
	strlcpy(err->message, "out of memory", sizeof(err->message));
}

static void
rr_bad(struct xlate_err *err, const char *what)
{
	err->status = 502;
	strlcpy(err->type, "api_error", sizeof(err->type));
	snprintf(err->message, sizeof(err->message), "upstream returned %s",
	    what);
}

static json_object *
rr_get(json_object *o, const char *key, json_type type)
{
	json_object	*v;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

static const char *
rr_str(json_object *o, const char *key)
{
	json_object	*v = rr_get(o, key, json_type_string);

	return v != NULL ? json_object_get_string(v) : NULL;
}

/* obj[key] = val, taking val; key a literal */
static int
rr_set(json_object *obj, const char *key, json_object *val)
{
	if (val == NULL)
		return -1;
	if (json_object_object_add_ex(obj, key, val,
	    JSON_C_OBJECT_ADD_CONSTANT_KEY) == -1) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

static int
rr_push(json_object *arr, json_object *val)
{
	if (val == NULL)
		return -1;
	if (json_object_array_add(arr, val) == -1) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

/* {"type": type, field: text} onto the content */
static int
rr_block(struct rr *r, const char *type, const char *field,
    const struct buf *text, const struct buf *sig)
{
	json_object	*b;

	if ((b = json_object_new_object()) == NULL)
		return -1;
	if (rr_set(b, "type", json_object_new_string(type)) == -1 ||
	    rr_set(b, field, xlate_answer_string(text->data ? text->data : "",
	    text->len)) == -1 ||
	    (sig != NULL && rr_set(b, "signature", json_object_new_string_len(
	    sig->data, (int)sig->len)) == -1)) {
		json_object_put(b);
		return -1;
	}
	return rr_push(r->content, b);
}

/* the "text" of every part of arr whose type is one of want, joined by
 * sep (a part's text may be named by field instead) */
static int
rr_join(struct buf *out, json_object *arr, const char *want1,
    const char *want2, const char *field2, const char *sep, int *saw2)
{
	json_object	*p;
	const char	*type, *t;
	size_t		 i, n;

	if (arr == NULL)
		return 0;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		p = json_object_array_get_idx(arr, i);
		if ((type = rr_str(p, "type")) == NULL)
			continue;
		if (strcmp(type, want1) == 0)
			t = rr_str(p, "text");
		else if (want2 != NULL && strcmp(type, want2) == 0) {
			t = rr_str(p, field2);
			if (saw2 != NULL && t != NULL && *t != '\0')
				*saw2 = 1;
		} else
			continue;
		if (t == NULL || *t == '\0')
			continue;
		if ((out->len > 0 && buf_puts(out, sep) == -1) ||
		    buf_puts(out, t) == -1)
			return -1;
	}
	return 0;
}

/* reasoning item -> thinking block, its encrypted content the signature */
static int
rr_reasoning(struct rr *r, json_object *item)
{
	struct buf	 text = BUF_INITIALIZER, sig = BUF_INITIALIZER;
	json_object	*enc = rr_get(item, "encrypted_content",
			    json_type_string);
	const char	*e = enc != NULL ? json_object_get_string(enc) : NULL;
	size_t		 elen = enc != NULL ?
			    (size_t)json_object_get_string_len(enc) : 0;
	int		 rc = -1;

	/* the summary; open models' servers send the reasoning itself */
	if (rr_join(&text, rr_get(item, "summary", json_type_array),
	    "summary_text", NULL, NULL, "\n\n", NULL) == -1 ||
	    (text.len == 0 && rr_join(&text, rr_get(item, "content",
	    json_type_array), "reasoning_text", "text", "text", "\n\n",
	    NULL) == -1))
		goto done;
	if (text.len == 0 && elen == 0)
		rc = 0;			/* it says nothing */
	else if (resp_sig_encode(&sig, r->key, e, elen) != -1)
		rc = rr_block(r, "thinking", "thinking", &text, &sig);
done:
	buf_free(&text);
	buf_free(&sig);
	if (rc == -1)
		rr_nomem(r->err);
	return rc;
}

/* message item -> a text block of its output_text and refusal parts */
static int
rr_message(struct rr *r, json_object *item)
{
	struct buf	 text = BUF_INITIALIZER;
	int		 rc = -1;

	if (rr_join(&text, rr_get(item, "content", json_type_array),
	    "output_text", "refusal", "refusal", "", &r->refusal) == -1)
		goto done;
	rc = text.len > 0 ? rr_block(r, "text", "text", &text, NULL) : 0;
done:
	buf_free(&text);
	if (rc == -1)
		rr_nomem(r->err);
	return rc;
}

static int
rr_call(struct rr *r, json_object *item)
{
	int	 n;

	if ((n = xlate_tool_block(r->content, rr_str(item, "call_id"), item,
	    r->truncated, r->err)) == -1)
		return -1;
	r->ntools += n;
	return 0;
}

static int
rr_output(struct rr *r, json_object *output)
{
	json_object	*item;
	const char	*type;
	size_t		 i, n = json_object_array_length(output);
	int		 rc;

	for (i = 0; i < n; i++) {
		item = json_object_array_get_idx(output, i);
		if ((type = rr_str(item, "type")) == NULL)
			continue;
		if (strcmp(type, "reasoning") == 0)
			rc = rr_reasoning(r, item);
		else if (strcmp(type, "message") == 0)
			rc = rr_message(r, item);
		else if (strcmp(type, "function_call") == 0)
			rc = rr_call(r, item);
		else {
			log_debug("responses: output item of type %s skipped",
			    type);
			rc = 0;
		}
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* ---- stop reason and usage ---------------------------------------------- */

static const char *
rr_stop(json_object *resp, const struct rr *r)
{
	const char	*status = rr_str(resp, "status"), *why;

	if (status != NULL && strcmp(status, "incomplete") == 0) {
		why = rr_str(rr_get(resp, "incomplete_details",
		    json_type_object), "reason");
		if (why != NULL && strcmp(why, "content_filter") == 0)
			return "refusal";
		return "max_tokens";
	}
	if (r->refusal)
		return "refusal";
	return r->ntools > 0 ? "tool_use" : "end_turn";
}

static int64_t
rr_count(json_object *o, const char *key)
{
	int64_t	 n = xlate_json_count(o, key);

	return n < 0 ? 0 : n;
}

/*
 * Anthropic's input_tokens leaves out what was read from the cache and
 * what was written to it; the Responses API's counts them in.
 */
static json_object *
rr_usage(json_object *resp, json_object *content, json_object *req)
{
	json_object	*u = rr_get(resp, "usage", json_type_object), *out;
	json_object	*det = rr_get(u, "input_tokens_details",
			    json_type_object);
	int64_t		 in, outn, cached, written;

	in = rr_count(u, "input_tokens");
	outn = rr_count(u, "output_tokens");
	cached = rr_count(det, "cached_tokens");
	written = rr_count(det, "cache_write_tokens");
	if (u == NULL) {
		in = req != NULL ? tokens_estimate_request(req) : 0;
		outn = (int64_t)(xlate_output_bytes(content) + 3) / 4;
	}
	if (cached > in)
		cached = in;
	if (written > in - cached)
		written = in - cached;
	if ((out = json_object_new_object()) == NULL)
		return NULL;
	if (rr_set(out, "input_tokens", json_object_new_int64(in - cached -
	    written)) == -1 ||
	    rr_set(out, "cache_creation_input_tokens",
	    json_object_new_int64(written)) == -1 ||
	    rr_set(out, "cache_read_input_tokens",
	    json_object_new_int64(cached)) == -1 ||
	    rr_set(out, "output_tokens", json_object_new_int64(outn)) == -1) {
		json_object_put(out);
		return NULL;
	}
	return out;
}

/* ---- errors ------------------------------------------------------------- */

/* the HTTP status an error code of the Responses API stands for */
static long
rr_code_status(const char *code)
{
	static const struct {
		const char	*code;
		long		 status;
	} map[] = {
		{ "rate_limit_exceeded",	429 },
		{ "insufficient_quota",		429 },
		{ "server_error",		500 },
		{ "server_is_overloaded",	503 },
		{ "vector_store_timeout",	504 },
	};
	size_t	 i;

	if (code == NULL || *code == '\0')
		return 500;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(code, map[i].code) == 0)
			return map[i].status;
	/* invalid_prompt, context_length_exceeded, the image errors ... */
	return 400;
}

void
resp_error(const char *code, const char *e, size_t len,
    const char *provider_name, struct xlate_err *err)
{
	errmap_http(rr_code_status(code), e, len, provider_name, err);
}

/* a failed or cancelled response, or one that carries an error: -1 with
 * err filled, else 0 */
static int
rr_failed(json_object *resp, const struct model_route *route,
    struct xlate_err *err)
{
	json_object	*e;
	const char	*status = rr_str(resp, "status"), *text;
	const char	*provider = route != NULL && route->provider != NULL ?
			    route->provider->name : NULL;

	if ((e = rr_get(resp, "error", json_type_object)) != NULL) {
		text = json_object_to_json_string_ext(e,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		resp_error(rr_str(e, "code"), text, strlen(text), provider,
		    err);
		return -1;
	}
	if (status != NULL && (strcmp(status, "failed") == 0 ||
	    strcmp(status, "cancelled") == 0)) {
		text = strcmp(status, "failed") == 0 ?
		    "{\"message\":\"the response failed without an error\"}" :
		    "{\"message\":\"the response was cancelled\"}";
		resp_error(NULL, text, strlen(text), provider, err);
		return -1;
	}
	return 0;
}

json_object *
resp_resp(json_object *resp, const char *client_model, json_object *req,
    const struct model_route *route, struct xlate_err *err)
{
	struct rr	 r;
	json_object	*output, *usage;
	char		 key[RESP_SIG_KEY_SIZE];
	const char	*model, *stop;

	if (!json_object_is_type(resp, json_type_object)) {
		rr_bad(err, "no response object");
		return NULL;
	}
	if (rr_failed(resp, route, err) == -1)
		return NULL;
	if ((output = rr_get(resp, "output", json_type_array)) == NULL) {
		rr_bad(err, "a response without output");
		return NULL;
	}
	memset(&r, 0, sizeof(r));
	r.err = err;
	if (route != NULL) {
		resp_sig_key(route, key);
		r.key = key;
	}
	r.truncated = strcmp(rr_stop(resp, &r), "max_tokens") == 0;
	if ((r.content = json_object_new_array()) == NULL) {
		rr_nomem(err);
		return NULL;
	}
	if (rr_output(&r, output) == -1) {
		json_object_put(r.content);
		return NULL;
	}
	stop = rr_stop(resp, &r);
	if ((model = client_model) == NULL && (model = rr_str(resp,
	    "model")) == NULL)
		model = "";
	if ((usage = rr_usage(resp, r.content, req)) == NULL) {
		json_object_put(r.content);
		rr_nomem(err);
		return NULL;
	}
	if ((resp = xlate_message(r.content, model, stop, NULL, usage)) ==
	    NULL)
		rr_nomem(err);
	return resp;
}
