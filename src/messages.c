/*
 * messages.c: POST /v1/messages and /v1/messages/count_tokens.
 *
 * Parses the client's JSON (depth-limited, UTF-8 checked), resolves the
 * model to its providers (a route of the configuration may choose it; the
 * client's key must be allowed it, else its default model serves, else
 * 403), admits it under the key's limits (429 with retry-after when
 * over one; every answer carries the key's anthropic-ratelimit-* headers;
 * what the answer used is charged before its end reaches the client, and
 * the concurrency place is given back whatever happens), translates the
 * request for each provider's kind (upkind.h: Chat Completions, the
 * Responses API, or the Messages API passed through, whose answers go to
 * the client as the upstream wrote them, its secrets masked; nothing else
 * here depends on which), calls the upstream and answers: one JSON
 * response, or an Anthropic event stream relayed as the upstream produces
 * it. count_tokens goes to a provider that answers it (a pass-through's
 * count_tokens), else, or when that fails, it is estimated here.
 * Promises: every failure is answered in Anthropic's error envelope (over
 * HTTP before the stream starts, as event: error after); a provider that
 * fails before the client got a byte is tried again as its retries allow
 * (a refused key of api_keys: at once with the next key; 429, 5xx, a
 * failed connection: after a backoff, try_provider), then followed by the
 * next one serving the model; a client that hangs up aborts the upstream
 * transfer (and is logged as 499); a stream always ends with message_stop
 * or an error event. Every failed upstream attempt is one warning line with
 * the request id and the reason; every log line with a client's or an
 * upstream's text goes through secret_log_excerpt.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "conf.h"
#include "errmap.h"
#include "http_resp.h"
#include "jsonparse.h"
#include "keys.h"
#include "ratelimit.h"
#include "log.h"
#include "messages.h"
#include "models.h"
#include "reqinfo.h"
#include "retry.h"
#include "scoreboard.h"
#include "secret.h"
#include "srvloop.h"
#include "srvtool.h"
#include "sse.h"
#include "tokens.h"
#include "upkind.h"
#include "upkeys.h"
#include "upstream.h"
#include "usage.h"
#include "util.h"
#include "xlate.h"

#define JSON_MAX_DEPTH	64
#define MAX_ROUTES	8
#define REASON_LOG_MAX	400	/* characters of a failure's reason logged */


struct exchange {
	struct http_conn	*conn;
	struct http_request	*req;
	json_object		*body;
	const char		*model;		/* as the client named it */
	struct model_route	 routes[MAX_ROUTES];
	size_t			 nroutes;
	struct reqinfo		 info;		/* what the request needs */
	struct ratelimit_ticket	 ticket;	/* the key's limits, admitted */
	struct usage_tokens	 used;		/* the answer's usage */
	const struct conf_model	*served;	/* the model of the last try */
	struct buf		 up_headers;	/* the client's header lines the
						 * provider is given (upkind) */
	struct upkeys_request	 keys;		/* this provider's keys that
						 * refused the request */
};

/* the streaming relay: upstream bytes -> SSE decoder -> the provider
 * kind's stream machine -> client; the events one upstream read produces
 * leave in one write at the end of that read, never later */
struct relay {
	struct exchange		*ex;
	const struct conf_provider *provider;
	const struct upkind	*kind;
	struct sse_decoder	 dec;
	struct buf		 wire;		/* http_resp_stream's scratch */
	int			 began;		/* response head sent */
	int			 ended;		/* ... and the end of the body */
	int			 client_gone;
	int			 bad_upstream;	/* garbage from the upstream */
	uint64_t		 last_write_ms;
	uint64_t		 activity_ms;	/* last data event from upstream */
	const struct upstream_result *res;	/* the transfer's, live */
	struct aevent		 ev;	/* the message the client reads */
	union upkind_stream	 st;	/* last: large, its init sets it */
};

static const char *
json_string_or(json_object *o, const char *key, const char *dflt)
{
	json_object	*v;

	if (json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return dflt;
}

static int
json_flag(json_object *o, const char *key)
{
	json_object	*v;

	return json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_boolean) &&
	    json_object_get_boolean(v);
}

/* parse the body; on failure the error is already answered */
static json_object *
parse_body(struct http_conn *c, struct http_request *req)
{
	static const struct jsonparse_opts opts = {
		JSON_MAX_DEPTH, 0, xlate_req_opaque
	};
	struct jsonlex_err	 err;
	json_object		*o;

	if (req->body.len == 0) {
		http_resp_error(c, req, 400, NULL, NULL,
		    "request body is empty: expected a JSON object");
		return NULL;
	}
	/* strict RFC 8259 and UTF-8 (no overlong forms, no surrogates:
	 * upstreams reject them); the values xlate_req only passes on
	 * stay text */
	o = jsonparse_whole(req->body.data, req->body.len, &opts, &err);
	if (err.what != NULL) {
		if (strcmp(err.what, "out of memory") == 0)
			http_resp_error(c, req, 500, NULL, NULL,
			    "out of memory");
		else if (err.eof)
			http_resp_error(c, req, 400, NULL, NULL,
			    "invalid JSON body: unexpected end of input");
		else
			http_resp_error(c, req, 400, NULL, NULL,
			    "invalid JSON body at byte %zu: %s", err.offset,
			    err.what);
		return NULL;
	}
	if (!json_object_is_type(o, json_type_object)) {
		http_resp_error(c, req, 400, NULL, NULL,
		    "request body must be a JSON object");
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* keep the routes the client's key may use; how many are left */
static size_t
allowed_routes(struct exchange *ex)
{
	size_t	 i, n = 0;

	for (i = 0; i < ex->nroutes; i++)
		if (keys_may_use(ex->req->client_key, ex->routes[i].model->id))
			ex->routes[n++] = ex->routes[i];
	return ex->nroutes = n;
}

/*
 * The model and its routes: a route of the configuration may name the
 * model, then the client's key must be allowed it, else its default
 * model serves; on failure the error is already answered.
 */
static int
resolve_model(struct exchange *ex)
{
	const struct conf_client_key *key = ex->req->client_key;
	const struct conf_route *rule;
	const char	*target;
	json_object	*v;
	struct buf	 avail = BUF_INITIALIZER;
	size_t		 found;

	if (!json_object_object_get_ex(ex->body, "model", &v)) {
		http_resp_error(ex->conn, ex->req, 400, NULL, NULL,
		    "model: field required");
		return -1;
	}
	if (!json_object_is_type(v, json_type_string)) {
		http_resp_error(ex->conn, ex->req, 400, NULL, NULL,
		    "model: expected string");
		return -1;
	}
	ex->model = json_object_get_string(v);
	snprintf(ex->req->log_model, sizeof(ex->req->log_model), "%s",
	    ex->model);
	reqinfo_read(ex->body, &ex->info);
	target = ex->model;
	if ((rule = models_route(conf, ex->model, key != NULL ? key->name :
	    NULL, &ex->info)) != NULL) {
		target = rule->model;
		snprintf(ex->req->log_route, sizeof(ex->req->log_route), "%s",
		    rule->name);
	}
	ex->nroutes = models_resolve(conf, target, ex->routes, MAX_ROUTES);
	found = ex->nroutes;
	if (allowed_routes(ex) == 0 && key != NULL &&
	    key->default_model != NULL)
		ex->nroutes = models_resolve(conf, key->default_model,
		    ex->routes, MAX_ROUTES);
	if (ex->nroutes == 0 && found > 0) {
		http_resp_error(ex->conn, ex->req, 403, NULL, NULL,
		    "model: the key %s may not use %s", key->name, ex->model);
		return -1;
	}
	if (ex->nroutes == 0) {
		models_available(conf, &avail);
		http_resp_error(ex->conn, ex->req, 404, NULL, NULL,
		    "model: %s not found; available models: %s", ex->model,
		    avail.data ? avail.data : "(none)");
		buf_free(&avail);
		return -1;
	}
	return 0;
}

/* the key's limits: admitted, or answered with 429 (503 when they cannot
 * be checked); every answer from here on carries the key's headers */
static int
admit(struct exchange *ex)
{
	const struct conf_client_key *k = ex->req->client_key;
	struct ratelimit_usage	 u;
	char			 why[320], extra[48];
	int			 r;

	r = ratelimit_admit(conf, k, ex->info.input_tokens, &ex->ticket, &u);
	ratelimit_headers(k, &u, ex->req->ratelimit_headers,
	    sizeof(ex->req->ratelimit_headers));
	if (r == RATELIMIT_OK)
		return 0;
	if (r == RATELIMIT_UNAVAILABLE) {
		http_resp_error(ex->conn, ex->req, 503, NULL, NULL,
		    "the rate limits of key %s cannot be checked now; try "
		    "again later", k->name);
		return -1;
	}
	ratelimit_reason(k, &u, ex->info.input_tokens, why, sizeof(why));
	snprintf(extra, sizeof(extra), "retry-after: %d\r\n",
	    ratelimit_retry_after(&u));
	http_resp_error(ex->conn, ex->req, 429, "rate_limit_error", extra,
	    "%s", why);
	return -1;
}

/* the final usage of a plain answer (Anthropic's shape, as xlate_resp
 * made it; server_tool_use when a server-tool loop ran) */
static void
note_message_usage(struct exchange *ex, json_object *msg)
{
	json_object	*u, *st;
	int64_t		 n;

	if (!json_object_object_get_ex(msg, "usage", &u))
		return;
	ex->used.known = 1;
	/* a pass-through's usage is the upstream's own: counts by
	 * xlate_json_count's rule (never negative, capped), as streams read
	 * them, before they reach the limits and the usage log */
	if ((n = xlate_json_count(u, "input_tokens")) >= 0)
		ex->used.input = n;
	if ((n = xlate_json_count(u, "output_tokens")) >= 0)
		ex->used.output = n;
	if ((n = xlate_json_count(u, "cache_read_input_tokens")) >= 0)
		ex->used.cache_read = n;
	if ((n = xlate_json_count(u, "cache_creation_input_tokens")) >= 0)
		ex->used.cache_creation = n;
	if (json_object_object_get_ex(u, "server_tool_use", &st)) {
		if ((n = xlate_json_count(st, "web_search_requests")) >= 0)
			ex->used.server_tool_calls += n;
		if ((n = xlate_json_count(st, "web_fetch_requests")) >= 0)
			ex->used.server_tool_calls += n;
	}
}

/* the same for a stream, as its message_delta reported it (or would
 * have: a stream cut short is charged for what was sent) */
static void
note_stream_usage(struct exchange *ex, const struct aevent *ev)
{
	if (!ev->started)
		return;
	ex->used.known = 1;
	if (ev->ends > 0) {
		ex->used.input = ev->sum.input;
		ex->used.output = ev->sum.output;
		ex->used.cache_read = ev->sum.cache_read;
		ex->used.cache_creation = ev->sum.cache_creation;
	} else {
		/* ended early: what message_start estimated, what was sent */
		ex->used.input = ev->input_estimate;
		ex->used.output = ev->sum.output +
		    (int64_t)(ev->round_bytes + 3) / 4;
	}
}

/* the request is over: the limits learn what it really used */
static void
settle(struct exchange *ex)
{
	ratelimit_settle(conf, &ex->ticket, ex->used.known ? ex->used.input +
	    ex->used.cache_creation : -1, ex->used.output);
}

/* the request's line in the usage log and its counts in /metrics */
static void
record_usage(struct exchange *ex)
{
	struct usage_rec	 u;
	char			 session[160];
	const char		*v;
	size_t			 len;

	memset(&u, 0, sizeof(u));
	u.request_id = ex->req->request_id;
	u.key = ex->req->client_key != NULL ? ex->req->client_key->name :
	    NULL;
	u.model_requested = ex->model;
	u.model = ex->served != NULL ? ex->served->id : NULL;
	u.provider = ex->served != NULL ? ex->req->log_provider : NULL;
	u.route = ex->req->log_route[0] != '\0' ? ex->req->log_route : NULL;
	if ((v = http_request_header(ex->req, "x-claude-code-session-id",
	    &len)) != NULL && len < sizeof(session)) {
		memcpy(session, v, len);
		session[len] = '\0';
		u.session = session;
	}
	u.status = ex->req->status;
	u.duration_ms = util_now_ms() - ex->req->start_ms;
	u.tokens = ex->used;
	usage_record(&u);
}

/* a bounded excerpt of a body for the log; a client may paste the proxy's
 * own configuration, an upstream may echo its key: secret masks both */
static void
log_body(const struct http_request *req, const char *what, const char *p,
    size_t len)
{
	struct buf	 b = BUF_INITIALIZER;

	if (conf->log_body_max_chars <= 0 || len == 0)
		return;
	secret_log_excerpt(&b, p, len, (size_t)conf->log_body_max_chars);
	log_info("%s %s: %s", req->request_id, what, b.data ? b.data : "");
	buf_free(&b);
}

static int
client_gone_tick(void *arg)
{
	struct exchange	*ex = arg;

	ratelimit_tick(conf, &ex->ticket);
	return http_conn_peer_gone(ex->conn) ? -1 : 0;
}

/* may the provider be tried again, or the next one, after this answer?
 * A key refused (401/403) is worth another of api_keys */
static int
worth_retrying(const struct conf_provider *p,
    const struct upstream_result *res)
{
	if (res->aborted)
		return 0;
	if (res->failed)
		return 1;
	if ((res->status == 401 || res->status == 403) && p->napi_keys > 0)
		return 1;
	return res->status == 429 || res->status >= 500;
}

/* one warning line per failed upstream attempt: the client learns why in
 * its error, the operator here; the reason is masked like any upstream
 * text in a log line */
static void
log_failure(const struct exchange *ex, const struct conf_provider *p,
    const char *reason, int next)
{
	struct buf	 b = BUF_INITIALIZER;

	secret_log_excerpt(&b, reason, strlen(reason), REASON_LOG_MAX);
	log_warnx("%s provider %s failed: %s%s", ex->req->request_id, p->name,
	    b.data != NULL ? b.data : "", next ? "; trying the next one" : "");
	buf_free(&b);
}

/* the same for a transfer: libcurl's words, or the status and the
 * upstream's own words */
static void
log_result_failure(const struct exchange *ex, const struct conf_provider *p,
    const struct upstream_result *res, int next)
{
	struct buf	 why = BUF_INITIALIZER;

	if (res->failed)
		buf_puts(&why, res->error);
	else
		errmap_reason(res->status, res->body.data, res->body.len, &why);
	log_failure(ex, p, why.data != NULL ? why.data : "", next);
	buf_free(&why);
}

/* answer the client with an upstream failure that happened before any
 * byte was sent to it */
static int
answer_failure(struct exchange *ex, const struct conf_provider *p,
    const struct upstream_result *res)
{
	struct xlate_err	 err;
	char			 extra[64] = "";

	log_result_failure(ex, p, res, 0);

	/* Anthropic's own words for a rate limit, with when to come back;
	 * refused keys are the proxy's configuration problem */
	if (res->no_key && res->retry_after[0] != '\0') {
		snprintf(extra, sizeof(extra), "retry-after: %s\r\n",
		    res->retry_after);
		return http_resp_error(ex->conn, ex->req, 429,
		    "rate_limit_error", extra, "upstream provider %s is rate "
		    "limiting the proxy: %s", p->name, res->error);
	}
	if (res->no_key)
		return http_resp_error(ex->conn, ex->req, 502, "api_error",
		    NULL, "upstream provider %s: %s", p->name, res->error);
	if (res->failed && res->timed_out)
		return http_resp_error(ex->conn, ex->req, 504, NULL, NULL,
		    "upstream provider %s did not answer in time (%s)",
		    p->name, res->error);
	if (res->failed)
		return http_resp_error(ex->conn, ex->req, 502, NULL, NULL,
		    "upstream provider %s failed: %s", p->name, res->error);
	upkind_of(p)->error(res->status, res->body.data, res->body.len,
	    p->name, &err);
	if (res->retry_after[0] != '\0')
		snprintf(extra, sizeof(extra), "Retry-After: %s\r\n",
		    res->retry_after);
	return http_resp_error(ex->conn, ex->req, err.status, err.type,
	    extra[0] ? extra : NULL, "%s", err.message);
}

static int
answer_plain(struct exchange *ex, const struct model_route *route,
    const struct upstream_result *res)
{
	const struct conf_provider *p = route->provider;
	static const struct jsonparse_opts upstream_opts = {
		JSON_MAX_DEPTH, 1, NULL
	};
	struct jsonlex_err	 perr;
	json_object		*up, *out;
	struct xlate_err	 err;
	struct buf		 masked = BUF_INITIALIZER;
	size_t			 end;
	int			 r;

	log_body(ex->req, "upstream response", res->body.data, res->body.len);
	/* lenient on raw control bytes, as json-c was: some local servers
	 * send them inside strings; trailing bytes are ignored */
	up = jsonparse(res->body.data, res->body.len, &upstream_opts, &end,
	    &perr);
	if (up == NULL) {
		log_failure(ex, p, "returned a body that is not JSON", 0);
		return http_resp_error(ex->conn, ex->req, 502, NULL, NULL,
		    "upstream provider %s returned a body that is not JSON",
		    p->name);
	}
	out = upkind_of(p)->resp(up, ex->model, ex->body, route, &err);
	json_object_put(up);
	if (out != NULL) {
		/* charged before the answer goes, as for streams */
		note_message_usage(ex, out);
		settle(ex);
	}
	if (out == NULL) {
		log_failure(ex, p, err.message, 0);
		return http_resp_error(ex->conn, ex->req, err.status, err.type,
		    NULL, "%s", err.message);
	}
	if (!upkind_of(p)->verbatim) {
		r = http_resp_json(ex->conn, ex->req, 200, out);
		json_object_put(out);
		return r;
	}
	/* a pass-through: the upstream's bytes, its secrets masked */
	json_object_put(out);
	secret_mask_json(&masked, res->body.data, res->body.len);
	r = http_resp_send(ex->conn, ex->req, 200, "application/json",
	    masked.data != NULL ? masked.data : "", masked.len, NULL);
	buf_free(&masked);
	return r;
}

/* --- streaming relay -------------------------------------------------- */

static int
relay_emit(void *arg, const char *p, size_t len, int last)
{
	struct relay	*r = arg;
	int		 flags = 0;

	if (r->client_gone)
		return -1;
	if (!r->began)
		flags |= HTTP_STREAM_BEGIN;
	if (last)
		flags |= HTTP_STREAM_END;
	r->began = 1;
	r->ended = last;
	if (http_resp_stream(r->ex->conn, r->ex->req, &r->wire, p, len,
	    flags) == -1) {
		r->client_gone = 1;
		return -1;
	}
	r->last_write_ms = util_now_ms();
	return 0;
}

static int
relay_event(void *arg, const char *event, size_t elen, const char *data,
    size_t dlen)
{
	struct relay	*r = arg;

	r->activity_ms = util_now_ms();
	if (r->kind->stream_feed(&r->st, event, elen, data, dlen) == -1) {
		if (!r->client_gone)
			r->bad_upstream = 1;
		return -1;
	}
	return 0;
}

/* one upstream read (a libcurl write callback): whatever events it
 * completes go to the client in one write before it returns, those before
 * bad input too, so that how the upstream's bytes were split into reads
 * never decides whether the client got a stream */
static int
relay_data(void *arg, const char *p, size_t len)
{
	struct relay	*r = arg;
	int		 rv = 0, n;

	if (r->kind->stream_bytes != NULL) {
		/* a pass-through reads the bytes itself, whole events */
		if ((n = r->kind->stream_bytes(&r->st, p, len)) > 0)
			r->activity_ms = util_now_ms();
		if (n == -1 && !r->client_gone)
			r->bad_upstream = 1;
		rv = n == -1 ? -1 : 0;
	} else if (sse_decoder_feed(&r->dec, p, len, relay_event, r) == -1) {
		if (!r->client_gone)
			r->bad_upstream = 1;
		rv = -1;
	}
	if (!r->client_gone && aevent_emit(&r->ev, 0) == -1)
		r->client_gone = 1;
	return r->client_gone ? -1 : rv;
}

static int
relay_tick(void *arg)
{
	struct relay	*r = arg;
	uint64_t	 ping_ms = (uint64_t)conf->stream_ping_seconds * 1000;

	ratelimit_tick(conf, &r->ex->ticket);
	if (http_conn_peer_gone(r->ex->conn)) {
		r->client_gone = 1;
		return -1;
	}
	/* ping once the stream has begun, or once the upstream has accepted
	 * the request (2xx head) but is still thinking: the client must see
	 * a live stream, and an idle timeout then ends it with an error
	 * event. From then on no other provider can be tried. */
	if ((r->ev.started || (r->res != NULL && r->res->status / 100 == 2)) &&
	    ping_ms > 0 && util_now_ms() - r->last_write_ms >= ping_ms &&
	    r->kind->stream_ping(&r->st) == -1)
		return -1;
	return 0;
}

/* the upstream's words in it (finish reason, text) pass through the same
 * log excerpt as the bodies do */
static void
relay_summary(struct relay *r, const char *ending)
{
	struct buf		 finish = BUF_INITIALIZER;
	struct buf		 preview = BUF_INITIALIZER;
	struct upkind_report	 rep;

	r->kind->stream_report(&r->st, &rep);
	if (rep.finish != NULL)
		secret_log_excerpt(&finish, rep.finish, strlen(rep.finish),
		    64);
	secret_log_excerpt(&preview, r->ev.preview.data != NULL ?
	    r->ev.preview.data : "", r->ev.preview.len, r->ev.preview_max);
	log_info("%s stream: chunks=%zu text_chars=%zu tool_calls=%zu "
	    "finish=%s upstream_end=%s preview=\"%s\"", r->ex->req->request_id,
	    rep.events, r->ev.text_chars, rep.tool_calls,
	    finish.data ? finish.data : "-", ending,
	    preview.data ? preview.data : "");
	buf_free(&finish);
	buf_free(&preview);
}

/* ends the stream once the response has begun */
static int
relay_end(struct relay *r, const struct upstream_result *res)
{
	const char		*rid = r->ex->req->request_id;
	char			 msg[512], why[384] = "";
	const char		*ending = "ok";
	struct upkind_report	 rep;

	if (!res->failed && !r->bad_upstream && r->kind->stream_bytes == NULL &&
	    sse_decoder_finish(&r->dec, relay_event, r) == -1 &&
	    !r->client_gone)
		r->bad_upstream = 1;
	if (r->client_gone) {
		relay_summary(r, "client-gone");
		return -1;
	}
	r->kind->stream_report(&r->st, &rep);
	if (r->bad_upstream) {
		ending = "garbage";
		if (rep.error[0] != '\0')
			snprintf(why, sizeof(why), "%s", rep.error);
		else
			snprintf(why, sizeof(why), "sent an invalid stream");
		snprintf(msg, sizeof(msg), "upstream provider %s%s%s",
		    r->provider->name, rep.error[0] != '\0' ? ": " : " ",
		    why);
		r->kind->stream_error(&r->st, rep.error_type[0] ?
		    rep.error_type : "api_error", msg, rid);
	} else if (res->timed_out) {
		ending = "idle-timeout";
		snprintf(why, sizeof(why), "sent nothing for %d seconds",
		    conf_stream_idle_seconds(conf));
		snprintf(msg, sizeof(msg), "upstream provider %s %s",
		    r->provider->name, why);
		r->kind->stream_error(&r->st, "timeout_error", msg, rid);
	} else if (res->failed) {
		ending = "broken";
		snprintf(why, sizeof(why), "stream broken: %s", res->error);
		snprintf(msg, sizeof(msg), "upstream provider %s: %s",
		    r->provider->name, why);
		r->kind->stream_error(&r->st, "api_error", msg, rid);
	} else {
		if (!rep.settled) {
			ending = "no-finish-reason";
			snprintf(why, sizeof(why), "%s", r->kind->unsettled);
		}
		r->kind->stream_finish(&r->st);
	}
	if (why[0] != '\0')
		log_failure(r->ex, r->provider, why, 0);
	relay_summary(r, ending);
	/* charged before the client sees the end, so its next request
	 * finds the key's limits up to date */
	note_stream_usage(r->ex, &r->ev);
	settle(r->ex);
	if (r->client_gone)
		return -1;
	/* the last events carried the end of the body; this is only for
	 * when they could not be built */
	if (!r->ended && http_resp_stream(r->ex->conn, r->ex->req, &r->wire,
	    NULL, 0, HTTP_STREAM_END) == -1)
		return -1;
	return 0;
}

/* what an attempt says of the keys of p for this request */
static void
note_key(struct exchange *ex, const struct conf_provider *p,
    const struct upstream_result *res)
{
	upkeys_note(p, &ex->keys, res->failed ? -1 : res->key, res->status,
	    ex->req->request_id);
}

/* a call of this exchange to p: its body, the client's header lines the
 * kind passes on, and the client's socket watched (a plain call's tick) */
static void
call_init(struct upstream_call *call, struct exchange *ex,
    const struct conf_provider *p, const char *body, size_t len)
{
	memset(call, 0, sizeof(*call));
	call->provider = p;
	call->body = body;
	call->body_len = len;
	call->on_tick = client_gone_tick;
	call->watch_fd = ex->conn->fd;
	call->arg = ex;
	call->extra_headers = ex->up_headers.data;
	call->extra_len = ex->up_headers.len;
	call->request_id = ex->req->request_id;
	call->skip_keys = ex->keys.refused;
}

/* one streaming attempt; 1 = failed before the client got anything in a
 * way worth another try (the result is moved into *kept, for the caller
 * to answer or free), 0 = answered, -1 = connection lost */
static int
relay_stream(struct exchange *ex, const struct model_route *route,
    const char *body, size_t len, struct upstream_result *kept)
{
	struct relay		 r;
	struct upstream_call	 call;
	struct upstream_result	 res;
	struct upkind_report	 rep;
	char			 msg_id[40];
	int			 rv;

	memset(&r, 0, offsetof(struct relay, st));
	r.ex = ex;
	r.provider = route->provider;
	r.kind = upkind_of(route->provider);
	r.last_write_ms = r.activity_ms = util_now_ms();
	util_random_id(msg_id, sizeof(msg_id), "msg_", 24);
	aevent_init(&r.ev, (size_t)conf->log_stream_text_preview_chars,
	    relay_emit, &r);
	r.kind->stream_init(&r.st, &r.ev, msg_id, ex->model,
	    tokens_estimate_request(ex->body), route, ex->req->request_id);
	upkind_stream_repair(&r.st, route, ex->body);
	sse_decoder_init(&r.dec);

	call_init(&call, ex, route->provider, body, len);
	call.stream = 1;
	call.on_data = relay_data;
	call.on_tick = relay_tick;
	call.activity_ms = &r.activity_ms;
	call.arg = &r;
	r.res = &res;
	scoreboard_set_streaming(1);
	upstream_perform(&call, &res);
	scoreboard_set_streaming(0);
	note_key(ex, route->provider, &res);
	ex->req->log_upstream_ms = (long)res.ms;
	if ((!res.aborted || r.bad_upstream) && !res.no_key)
		scoreboard_upstream_done(route->provider->name, (long)res.ms,
		    res.failed || r.bad_upstream || res.status / 100 != 2);

	if (r.began) {
		rv = relay_end(&r, &res);
	} else if (r.client_gone || (res.aborted && !r.bad_upstream)) {
		rv = -1;
	} else if (worth_retrying(route->provider, &res)) {
		*kept = res;
		memset(&res, 0, sizeof(res));
		rv = 1;
	} else if (res.failed || res.status / 100 != 2) {
		rv = answer_failure(ex, route->provider, &res) == -1 ? -1 : 0;
	} else {
		/* 2xx, but nothing usable reached the state machine */
		r.kind->stream_report(&r.st, &rep);
		log_failure(ex, route->provider, rep.error[0] != '\0' ?
		    rep.error : r.bad_upstream ? "sent an invalid stream" :
		    "sent an empty stream", 0);
		rv = http_resp_error(ex->conn, ex->req, 502, NULL, NULL,
		    "upstream provider %s sent %s", route->provider->name,
		    r.bad_upstream ? "an invalid stream" : "an empty stream")
		    == -1 ? -1 : 0;
	}
	note_stream_usage(ex, &r.ev);
	r.kind->stream_free(&r.st);
	aevent_free(&r.ev);
	sse_decoder_free(&r.dec);
	buf_free(&r.wire);
	upstream_result_free(&res);
	return rv;
}

/* one plain attempt, same return convention as relay_stream */
static int
relay_plain(struct exchange *ex, const struct model_route *route,
    const char *body, size_t len, struct upstream_result *kept)
{
	struct upstream_call	 call;
	struct upstream_result	 res;
	int			 rv;

	call_init(&call, ex, route->provider, body, len);
	upstream_perform(&call, &res);
	note_key(ex, route->provider, &res);
	ex->req->log_upstream_ms = (long)res.ms;
	if (!res.aborted && !res.no_key)
		scoreboard_upstream_done(route->provider->name, (long)res.ms,
		    res.failed || res.status / 100 != 2);
	if (res.aborted)
		rv = -1;
	else if (worth_retrying(route->provider, &res)) {
		*kept = res;
		memset(&res, 0, sizeof(res));
		rv = 1;
	} else if (res.failed || res.status / 100 != 2)
		rv = answer_failure(ex, route->provider, &res) == -1 ? -1 : 0;
	else
		rv = answer_plain(ex, route, &res) == -1 ? -1 : 0;
	upstream_result_free(&res);
	return rv;
}

/* the server-tool loop's accounting hooks */
static void
loop_charge(void *arg)
{
	settle(arg);
}

static void
loop_tick(void *arg)
{
	struct exchange	*ex = arg;

	ratelimit_tick(conf, &ex->ticket);
}

/* the client's header lines a provider's kind passes on (a
 * pass-through's anthropic-version and -beta), into ex->up_headers */
static int
client_headers(struct exchange *ex, const struct conf_provider *p)
{
	const char	*version, *beta;
	size_t		 vlen = 0, blen = 0;

	buf_reset(&ex->up_headers);
	if (upkind_of(p)->headers == NULL)
		return 0;
	version = http_request_header(ex->req, "anthropic-version", &vlen);
	beta = http_request_header(ex->req, "anthropic-beta", &blen);
	return upkind_of(p)->headers(version, vlen, beta, blen, p,
	    &ex->up_headers);
}

/* --- one provider, with its retries ----------------------------------- */

/* what the log and /metrics call the failure a retry follows */
static const char *
retry_reason(const struct upstream_result *res, char *buf, size_t bufsz)
{
	if (res->failed && res->timed_out)
		return "timeout";
	if (res->failed)
		return "connection";
	snprintf(buf, bufsz, "%ld", res->status);
	return buf;
}

/* the wait before trying p again after res, or -1: no retry here */
static int64_t
retry_plan(const struct conf_provider *p, const struct upstream_result *res,
    int retry, uint64_t deadline_ms, uint32_t refused_keys)
{
	struct retry_case	 rc;
	uint64_t		 now = util_now_ms();
	int64_t			 key_wait;

	/* a refused key, or none usable: no wait makes it better */
	if (res->no_key || (!res->failed && res->status != 429 &&
	    res->status < 500))
		return -1;
	memset(&rc, 0, sizeof(rc));
	rc.cfg = &p->retries;
	rc.retry = retry;
	rc.retry_after_ms = retry_after_ms(res->retry_after, time(NULL));
	rc.fresh_key = p->napi_keys > 0 && upkeys_usable(p, now,
	    refused_keys);
	if (p->napi_keys > 0 && !rc.fresh_key) {
		/* every key cools (or is set aside): a retry before one is
		 * usable would find none; wait for it as for a retry-after,
		 * or leave the upstream's answer to the client */
		if ((key_wait = upkeys_wait_ms(p, now, refused_keys)) < 0)
			return -1;
		if (key_wait > rc.retry_after_ms)
			rc.retry_after_ms = key_wait;
	}
	rc.left_ms = deadline_ms > now ? deadline_ms - now : 0;
	rc.random = arc4random();
	return retry_wait_ms(&rc);
}

/*
 * The route's provider: tried, then tried again while its retries allow
 * (a refused key is followed at once by another of api_keys, each key at
 * most once), all before the client got a byte; what is left is answered,
 * or left to the next provider (1). 0 = answered, -1 = connection lost.
 */
static int
try_provider(struct exchange *ex, const struct model_route *route,
    const char *text, size_t len, int stream, int last)
{
	const struct conf_provider *p = route->provider;
	struct upstream_result	 res;
	uint64_t		 deadline = util_now_ms() +
	    (uint64_t)conf->upstream_timeout_seconds * 1000;
	int64_t			 wait;
	int			 retry = 0, swaps = 0, rv;
	char			 why[24];

	memset(&ex->keys, 0, sizeof(ex->keys));
	for (;;) {
		memset(&res, 0, sizeof(res));
		rv = stream ? relay_stream(ex, route, text, len, &res) :
		    relay_plain(ex, route, text, len, &res);
		if (rv != 1)
			return rv;
		if (!res.failed && (res.status == 401 || res.status == 403) &&
		    (size_t)++swaps < p->napi_keys &&
		    upkeys_usable(p, util_now_ms(), ex->keys.refused)) {
			log_result_failure(ex, p, &res, 0);
			log_warnx("%s provider %s: trying another of its "
			    "api_keys", ex->req->request_id, p->name);
			upstream_result_free(&res);
			continue;
		}
		if ((wait = retry_plan(p, &res, retry + 1, deadline,
		    ex->keys.refused)) >= 0) {
			retry++;
			log_result_failure(ex, p, &res, 0);
			log_warnx("%s provider %s: retry %d of %d in %lld ms "
			    "after %s", ex->req->request_id, p->name, retry,
			    p->retries.count, (long long)wait,
			    retry_reason(&res, why, sizeof(why)));
			scoreboard_upstream_retry(p->name);
			upstream_result_free(&res);
			if (retry_sleep(ex->conn->fd, (uint64_t)wait,
			    client_gone_tick, ex) == -1) {
				log_info("%s client left during the wait "
				    "before a retry", ex->req->request_id);
				return -1;
			}
			continue;
		}
		if (!last) {
			log_result_failure(ex, p, &res, 1);
			upstream_result_free(&res);
			return 1;
		}
		rv = answer_failure(ex, p, &res) == -1 ? -1 : 0;
		upstream_result_free(&res);
		return rv;
	}
}

int
messages_handle(struct http_conn *c, struct http_request *req)
{
	struct exchange		 ex;
	struct xlate_err	 err, limit;
	json_object		*up;
	const char		*text;
	size_t			 len, i;
	struct srvloop_acct	 acct;
	int			 stream, rv = 0, limited = 0;

	memset(&ex, 0, sizeof(ex));
	ex.conn = c;
	ex.req = req;
	acct.used = &ex.used;
	acct.charge = loop_charge;
	acct.tick = loop_tick;
	acct.arg = &ex;
	if ((ex.body = parse_body(c, req)) == NULL ||
	    resolve_model(&ex) == -1 || admit(&ex) == -1)
		goto done;
	stream = json_flag(ex.body, "stream");
	log_body(req, "request", req->body.data, req->body.len);

	for (i = 0; i < ex.nroutes; i++) {
		const struct model_route *route = &ex.routes[i];

		snprintf(req->log_provider, sizeof(req->log_provider), "%s",
		    route->provider->name);
		ex.served = route->model;
		if (client_headers(&ex, route->provider) == -1) {
			rv = http_resp_error(c, req, 500, NULL, NULL,
			    "out of memory");
			break;
		}
		if ((up = upkind_request(ex.body, route, stream,
		    req->request_id, &err)) == NULL) {
			/* a provider that cannot take the request (a PDF)
			 * leaves it to the next; when none can, the client
			 * hears why the first could not */
			if (err.provider_limit && !limited) {
				limit = err;
				limited = 1;
			}
			if (err.provider_limit && i + 1 < ex.nroutes) {
				log_info("%s provider %s cannot take this "
				    "request, trying the next one",
				    req->request_id, route->provider->name);
				continue;
			}
			if (err.provider_limit)
				err = limit;
			rv = http_resp_error(c, req, err.status, err.type,
			    NULL, "%s", err.message);
			break;
		}
		text = json_object_to_json_string_length(up,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		    &len);
		/* the server-tool loop speaks Chat Completions; the other
		 * kinds' translators drop server tools (logged) */
		rv = route->provider->api == CONF_API_OPENAI &&
		    srvtool_offered(ex.body) != 0 ? srvloop_run(c, req,
		    ex.body, ex.model, route, up, stream, i + 1 == ex.nroutes,
		    &acct) : try_provider(&ex, route, text, len, stream,
		    i + 1 == ex.nroutes);
		json_object_put(up);
		if (rv != 1)
			break;
	}
done:
	/* the client left (or stopped reading) before its answer was
	 * complete: 499 in the access line and /metrics, as nginx logs it */
	if (rv == -1)
		req->status = 499;
	settle(&ex);
	record_usage(&ex);	/* before the body: the model's name is in it */
	json_object_put(ex.body);
	buf_free(&ex.up_headers);
	return rv == -1 ? -1 : 0;
}

/* count_tokens asked of a provider that answers it (a pass-through with
 * providers[].count_tokens): 0 answered, -1 connection lost, 1 = count
 * locally (the upstream failed, or did not answer with a count) */
static int
count_forwarded(struct exchange *ex, const struct model_route *route)
{
	const struct conf_provider *p = route->provider;
	static const struct jsonparse_opts opts = { JSON_MAX_DEPTH, 1, NULL };
	struct upstream_call	 call;
	struct upstream_result	 res;
	struct xlate_err	 err;
	struct jsonlex_err	 perr;
	struct buf		 masked = BUF_INITIALIZER;
	json_object		*up, *v = NULL, *n;
	const char		*text;
	size_t			 len, end;
	int			 rv = 1;

	if (client_headers(ex, p) == -1 ||
	    (up = upkind_of(p)->count_req(ex->body, route, &err)) == NULL)
		return 1;
	text = json_object_to_json_string_length(up, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	call_init(&call, ex, p, text, len);
	call.url = p->count_url;
	upstream_perform(&call, &res);
	json_object_put(up);
	ex->req->log_upstream_ms = (long)res.ms;
	if (res.aborted)
		rv = -1;
	else if (worth_retrying(p, &res))
		log_result_failure(ex, p, &res, 0);
	else if (res.status / 100 != 2) {
		/* the request's fault, as the upstream words it */
		log_result_failure(ex, p, &res, 0);
		upkind_of(p)->error(res.status, res.body.data, res.body.len,
		    p->name, &err);
		rv = http_resp_error(ex->conn, ex->req, err.status, err.type,
		    NULL, "%s", err.message) == -1 ? -1 : 0;
	} else if ((v = jsonparse(res.body.data, res.body.len, &opts, &end,
	    &perr)) == NULL || !json_object_object_get_ex(v, "input_tokens",
	    &n) || !json_object_is_type(n, json_type_int))
		log_failure(ex, p, "answered count_tokens without "
		    "input_tokens", 0);
	else {
		secret_mask_json(&masked, res.body.data, res.body.len);
		rv = http_resp_send(ex->conn, ex->req, 200, "application/json",
		    masked.data != NULL ? masked.data : "", masked.len, NULL)
		    == -1 ? -1 : 0;
	}
	if (rv == 1)
		log_info("%s count_tokens estimated locally", ex->req->request_id);
	json_object_put(v);
	buf_free(&masked);
	upstream_result_free(&res);
	return rv;
}

/* a local estimate, or the provider's count where it answers one; the
 * model must be one /v1/messages would serve, as Anthropic answers 404
 * for a model it does not know on both */
int
messages_count_tokens(struct http_conn *c, struct http_request *req)
{
	struct exchange		 ex;
	json_object		*out;
	struct xlate_err	 err;
	int			 r;

	memset(&ex, 0, sizeof(ex));
	ex.conn = c;
	ex.req = req;
	if ((ex.body = parse_body(c, req)) == NULL)
		return 0;
	snprintf(req->log_model, sizeof(req->log_model), "%s",
	    json_string_or(ex.body, "model", "-"));
	if (resolve_model(&ex) == -1) {
		json_object_put(ex.body);
		return 0;
	}
	{
		struct ratelimit_usage u;

		ratelimit_peek(conf, req->client_key, &u);
		ratelimit_headers(req->client_key, &u, req->ratelimit_headers,
		    sizeof(req->ratelimit_headers));
	}
	if (ex.routes[0].provider->count_tokens &&
	    upkind_of(ex.routes[0].provider)->count_req != NULL) {
		snprintf(req->log_provider, sizeof(req->log_provider), "%s",
		    ex.routes[0].provider->name);
		r = count_forwarded(&ex, &ex.routes[0]);
		buf_free(&ex.up_headers);
		if (r != 1) {
			json_object_put(ex.body);
			return r;
		}
	}
	if (xlate_req_check(ex.body, &err) == -1) {
		json_object_put(ex.body);
		return http_resp_error(c, req, err.status, err.type, NULL,
		    "%s", err.message);
	}
	out = json_object_new_object();
	json_object_object_add(out, "input_tokens",
	    json_object_new_int64(tokens_estimate_request(ex.body)));
	r = http_resp_json(c, req, 200, out);
	json_object_put(out);
	json_object_put(ex.body);
	return r;
}
