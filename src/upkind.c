/*
 * upkind.c: the upstream kinds and their translator pairs, one table.
 *
 * A provider's "api" (conf.c checks the name) picks its row: "openai" is
 * Chat Completions (xlate_req.c, xlate_resp.c, stream.c), "responses" the
 * OpenAI Responses API (resp_req.c, resp_resp.c, resp_stream.c),
 * "anthropic" the Messages API passed through (passthru.c: answers go
 * back as they came, the stream as bytes rather than events). Each row
 * holds what messages.c calls and nothing it decides: the relay above
 * tries providers in turn, retries, counts and logs the same way whatever
 * row it drives, and the stream machines write through one aevent, so a
 * client cannot tell the kinds apart by the bytes it reads. The small
 * functions here only adapt each module's own signature to the row's.
 *
 * Promises: upkind_request applies a provider's schema dialect to the
 * tools of any kind's request (schema_rewrite_tools reads both shapes),
 * then its drop and params, so that what the provider's configuration
 * says of its requests holds whatever translated them.
 * Fails as the translators do (NULL + err); out of memory while rewriting
 * schemas is a 500.
 */
#include <string.h>

#include <json-c/json.h>

#include "aevent.h"
#include "conf.h"
#include "errmap.h"
#include "gsig.h"
#include "passthru.h"
#include "resp.h"
#include "resp_stream.h"
#include "schema.h"
#include "stream.h"
#include "upkind.h"
#include "xlate.h"

/* ---- "openai": Chat Completions --------------------------------------- */

static json_object *
chat_resp(json_object *up, const char *client_model, json_object *req,
    const struct model_route *route, struct xlate_err *err)
{
	return xlate_resp_route(up, client_model, req, route, err);
}

static void
chat_init(union upkind_stream *u, struct aevent *ev, const char *msg_id,
    const char *model, int64_t input_tokens, const struct model_route *route,
    const char *request_id)
{
	stream_init(&u->chat, ev, msg_id, model, input_tokens,
	    route->provider->include_usage);
	strlcpy(u->chat.request_id, request_id, sizeof(u->chat.request_id));
	gsig_key(route, u->chat.gsig_key);
}

static int
chat_feed(union upkind_stream *u, const char *event, size_t event_len,
    const char *data, size_t len)
{
	(void)event;
	(void)event_len;
	return stream_feed(&u->chat, data, len);
}

static int
chat_finish(union upkind_stream *u)
{
	return stream_finish(&u->chat);
}

static int
chat_error(union upkind_stream *u, const char *type, const char *message,
    const char *request_id)
{
	return stream_error(&u->chat, type, message, request_id);
}

static int
chat_ping(union upkind_stream *u)
{
	return stream_ping(&u->chat);
}

static void
chat_report(const union upkind_stream *u, struct upkind_report *r)
{
	r->finish = u->chat.finish_reason;
	r->settled = u->chat.finish_reason != NULL;
	r->events = u->chat.chunks;
	r->tool_calls = u->chat.ntool_calls;
	r->error_type = u->chat.error_type;
	r->error = u->chat.error;
}

static void
chat_free(union upkind_stream *u)
{
	stream_free(&u->chat);
}

/* ---- "responses": the OpenAI Responses API ------------------------------ */

static void
resp_init(union upkind_stream *u, struct aevent *ev, const char *msg_id,
    const char *model, int64_t input_tokens, const struct model_route *route,
    const char *request_id)
{
	resp_stream_init(&u->resp, ev, msg_id, model, input_tokens, route);
	strlcpy(u->resp.request_id, request_id, sizeof(u->resp.request_id));
}

static int
resp_feed(union upkind_stream *u, const char *event, size_t event_len,
    const char *data, size_t len)
{
	return resp_stream_feed(&u->resp, event, event_len, data, len);
}

static int
resp_finish(union upkind_stream *u)
{
	return resp_stream_finish(&u->resp);
}

static int
resp_error_ev(union upkind_stream *u, const char *type, const char *message,
    const char *request_id)
{
	return resp_stream_error(&u->resp, type, message, request_id);
}

static int
resp_ping(union upkind_stream *u)
{
	return resp_stream_ping(&u->resp);
}

static void
resp_report(const union upkind_stream *u, struct upkind_report *r)
{
	/* the stop reason it decided: the Responses API has no finish
	 * word of its own but the response's status */
	r->finish = u->resp.stop_reason;
	r->settled = u->resp.terminal;
	r->events = u->resp.events;
	r->tool_calls = u->resp.ntool_calls;
	r->error_type = u->resp.error_type;
	r->error = u->resp.error;
}

static void
resp_free(union upkind_stream *u)
{
	resp_stream_free(&u->resp);
}

/* ---- "anthropic": the Messages API passed through ------------------------ */

static void
pass_init(union upkind_stream *u, struct aevent *ev, const char *msg_id,
    const char *model, int64_t input_tokens, const struct model_route *route,
    const char *request_id)
{
	/* the upstream's message_start says all of these */
	(void)msg_id;
	(void)model;
	(void)input_tokens;
	passthru_stream_init(&u->pass, ev, route->provider->name, request_id);
}

static int
pass_bytes(union upkind_stream *u, const char *p, size_t len)
{
	return passthru_stream_bytes(&u->pass, p, len);
}

static int
pass_finish(union upkind_stream *u)
{
	return passthru_stream_finish(&u->pass);
}

static int
pass_error(union upkind_stream *u, const char *type, const char *message,
    const char *request_id)
{
	return passthru_stream_error(&u->pass, type, message, request_id);
}

static int
pass_ping(union upkind_stream *u)
{
	return passthru_stream_ping(&u->pass);
}

static void
pass_report(const union upkind_stream *u, struct upkind_report *r)
{
	r->finish = u->pass.stop_reason[0] != '\0' ? u->pass.stop_reason :
	    u->pass.failed ? "error" : NULL;
	r->settled = u->pass.stopped || u->pass.failed;
	r->events = u->pass.events;
	r->tool_calls = u->pass.tool_calls;
	r->error_type = u->pass.error_type;
	r->error = u->pass.error;
}

static void
pass_free(union upkind_stream *u)
{
	passthru_stream_free(&u->pass);
}

/* ---- the table ---------------------------------------------------------- */

static const struct upkind kinds[CONF_API_COUNT] = {
	[CONF_API_OPENAI] = {
		"openai", "the stream ended without a finish_reason", 0,
		xlate_req, chat_resp, errmap_http, NULL, NULL,
		chat_init, chat_feed, NULL, chat_finish, chat_error,
		chat_ping, chat_report, chat_free,
	},
	[CONF_API_RESPONSES] = {
		"responses", "the stream ended before the response was "
		    "complete", 0,
		resp_req, resp_resp, errmap_http, NULL, NULL,
		resp_init, resp_feed, NULL, resp_finish, resp_error_ev,
		resp_ping, resp_report, resp_free,
	},
	[CONF_API_ANTHROPIC] = {
		"anthropic", "the stream ended before message_stop", 1,
		passthru_req, passthru_resp, errmap_anthropic,
		passthru_headers, passthru_count_req,
		pass_init, NULL, pass_bytes, pass_finish, pass_error,
		pass_ping, pass_report, pass_free,
	},
};

const struct upkind *
upkind_of(const struct conf_provider *p)
{
	return &kinds[p->api];
}

/* the provider's drop, then its params, on the built request */
static int
apply_controls(json_object *up, const struct conf_provider *p)
{
	json_object	*copy;
	size_t		 i;

	for (i = 0; i < p->ndrop; i++)
		json_object_object_del(up, p->drop[i]);
	if (p->params == NULL)
		return 0;
	json_object_object_foreach(p->params, key, val) {
		/* a copy: a later step may change the request in place,
		 * never the configuration */
		copy = NULL;
		if (json_object_deep_copy(val, &copy, NULL) != 0 ||
		    json_object_object_add(up, key, copy) != 0) {
			json_object_put(copy);
			return -1;
		}
	}
	return 0;
}

void
upkind_stream_repair(union upkind_stream *u, const struct model_route *route,
    json_object *req)
{
	json_object	*tools = NULL;

	if (route->provider->api != CONF_API_OPENAI ||
	    !route->provider->tool_call_repair)
		return;
	/* no tools: nothing can be a call, and nothing is held */
	if (req != NULL && json_object_object_get_ex(req, "tools", &tools) &&
	    json_object_is_type(tools, json_type_array) &&
	    json_object_array_length(tools) > 0)
		stream_repair(&u->chat, tools);
}

json_object *
upkind_request(json_object *req, const struct model_route *route, int stream,
    const char *request_id, struct xlate_err *err)
{
	const struct conf_provider *p = route->provider;
	json_object	*up, *tools;

	up = upkind_of(p)->req(req, route, stream, request_id, err);
	if (up == NULL)
		return NULL;
	if ((p->schema != NULL &&
	    json_object_object_get_ex(up, "tools", &tools) &&
	    schema_rewrite_tools(tools, p->schema) == -1) ||
	    apply_controls(up, p) == -1) {
		json_object_put(up);
		xlate_err_set(err, 500, "api_error", "out of memory");
		return NULL;
	}
	return up;
}
