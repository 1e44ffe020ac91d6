/*
 * upkind.c: the upstream kinds and their translator pairs, one table.
 *
 * A provider's "api" (conf.c checks the name) picks its row: "openai" is
 * Chat Completions (xlate_req.c, xlate_resp.c, stream.c), "responses" the
 * OpenAI Responses API (resp_req.c, resp_resp.c, resp_stream.c). Each row
 * holds what messages.c calls and nothing it decides: the relay above
 * tries providers in turn, retries, counts and logs the same way whatever
 * row it drives, and the stream machines write through one aevent, so a
 * client cannot tell the kinds apart by the bytes it reads. The small
 * functions here only adapt each module's own signature to the row's.
 *
 * Promises: upkind_request applies a provider's schema dialect to the
 * tools of any kind's request (schema_rewrite_tools reads both shapes).
 * Fails as the translators do (NULL + err); out of memory while rewriting
 * schemas is a 500.
 */
#include <string.h>

#include <json-c/json.h>

#include "aevent.h"
#include "conf.h"
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
	(void)route;
	return xlate_resp(up, client_model, req, err);
}

static void
chat_init(union upkind_stream *u, struct aevent *ev, const char *msg_id,
    const char *model, int64_t input_tokens, const struct model_route *route,
    const char *request_id)
{
	stream_init(&u->chat, ev, msg_id, model, input_tokens,
	    route->provider->include_usage);
	strlcpy(u->chat.request_id, request_id, sizeof(u->chat.request_id));
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

/* ---- the table ---------------------------------------------------------- */

static const struct upkind kinds[CONF_API_COUNT] = {
	[CONF_API_OPENAI] = {
		"openai", "the stream ended without a finish_reason",
		xlate_req, chat_resp,
		chat_init, chat_feed, chat_finish, chat_error, chat_ping,
		chat_report, chat_free,
	},
	[CONF_API_RESPONSES] = {
		"responses", "the stream ended before the response was "
		    "complete",
		resp_req, resp_resp,
		resp_init, resp_feed, resp_finish, resp_error_ev, resp_ping,
		resp_report, resp_free,
	},
	/* [CONF_API_ANTHROPIC]: the Messages API passed through (passthru.c,
	 * issue 12's next part) */
};

const struct upkind *
upkind_of(const struct conf_provider *p)
{
	return &kinds[p->api];
}

json_object *
upkind_request(json_object *req, const struct model_route *route, int stream,
    const char *request_id, struct xlate_err *err)
{
	json_object	*up, *tools;

	up = upkind_of(route->provider)->req(req, route, stream, request_id,
	    err);
	if (up == NULL || route->provider->schema == NULL ||
	    !json_object_object_get_ex(up, "tools", &tools))
		return up;
	if (schema_rewrite_tools(tools, route->provider->schema) == -1) {
		json_object_put(up);
		xlate_err_set(err, 500, "api_error", "out of memory");
		return NULL;
	}
	return up;
}
