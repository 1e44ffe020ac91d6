/*
 * srvloop.c: the server-tool loop, between messages.c and upstream.c.
 *
 * A request whose tools include web_search / web_fetch, where the proxy
 * runs them (srvtool.c), is answered here instead of by messages.c's
 * relays. The upstream is offered the tools as functions (xlate_req); when
 * its answer calls only those, each call runs (srvrun.c: the search
 * backend, the fetcher), the round's blocks (the model's text and
 * thinking, a server_tool_use with a "srvtoolu_" id per call, its result
 * block) join the answer, the conversation grows by them (an assistant
 * message holding the blocks, which xlate_req turns into tool calls and
 * tool messages as it does for history a client sends back), and the
 * upstream is called again. The loop ends when the model answers without
 * a server tool (its blocks close the answer), when it calls a client
 * tool (stop_reason tool_use; a client tool called together with server
 * tools runs nothing: both calls are answered, the server_tool_use
 * without a result, and its result comes at the start of the next
 * request's answer, once the client has sent its tool_result, as
 * Anthropic does), after SRVLOOP_MAX_ROUNDS upstream calls, or when the
 * loop's deadline passes with work done (stop_reason pause_turn: the
 * client sends the answer back to go on). Past a tool's max_uses a call
 * gets max_uses_exceeded instead of running. A tool_choice that forces a
 * tool ("any", or a server tool by name) forces the first round only.
 *
 * The answer: every round's blocks in order, the model's [n] markers made
 * citations (srvcite.c), usage summed over the rounds with
 * server_tool_use's web_search_requests and web_fetch_requests (the calls
 * that returned a result). A client that asked for a stream sees each
 * block as it happens: every round streams from the upstream through the
 * stream machine onto one aevent for the whole turn (one message_start,
 * indexes going on, one message_delta with the summed usage); the calls
 * to server tools are held back from it (stream_hold) and shown as a
 * server_tool_use once their input is whole, each result block goes out
 * when its backend answers (pings every stream_ping_seconds while it
 * works), and the text is split into cited blocks as it streams
 * (srvcite_stream_text). aevent records the blocks written, which are the
 * answer so far sent upstream in the next round. What the loop used is
 * the exchange's (srvloop_acct), charged before the answer's end.
 *
 * Bounds: the whole loop, backends included, ends upstream_timeout_seconds
 * after it began (a call still running then is cut off: an upstream call
 * ends the loop with pause_turn when rounds have run, else 504; a backend
 * call's result becomes unavailable); each upstream call keeps its own
 * total timeout, each backend call its own. A client that hangs up aborts
 * whatever runs (499).
 *
 * Failures follow messages.c's relays: until a byte went to the client,
 * a key of api_keys that refuses a call (401/403) gives way to another
 * (upkeys_note sets it aside as messages.c does), an upstream failure
 * worth retrying (transport, 429, 5xx) on a route that
 * is not the last leaves the request to the next provider (return 1),
 * which starts the loop afresh; otherwise it is answered in Anthropic's
 * error envelope, over HTTP or, once the stream has begun, as an error
 * event. Each failed attempt is one warning line.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aevent.h"
#include "buf.h"
#include "conf.h"
#include "errmap.h"
#include "http_resp.h"
#include "jsonparse.h"
#include "log.h"
#include "scoreboard.h"
#include "secret.h"
#include "srvcite.h"
#include "srvhist.h"
#include "srvloop.h"
#include "srvrun.h"
#include "srvtool.h"
#include "sse.h"
#include "stream.h"
#include "tokens.h"
#include "upkeys.h"
#include "upkind.h"
#include "upstream.h"
#include "util.h"
#include "xlate.h"

#define JSON_FLAGS	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define JSON_MAX_DEPTH	64
#define REASON_LOG_MAX	400

enum round_end { ROUND_MORE, ROUND_DONE, ROUND_GONE, ROUND_NOMEM };

/* a server tool's call the model made in a streamed round */
struct held_call {
	enum srvtool_kind	 kind;
	char			 id[40];
	json_object		*input;
};

struct loop {
	struct http_conn	*conn;
	struct http_request	*req;
	json_object		*body;		/* the client's request */
	const char		*model;		/* as the client named it */
	const struct model_route *route;
	int			 stream;
	int			 last;		/* no provider after this one */
	unsigned		 offer;		/* SRVTOOL_BIT()s run here */
	struct upkeys_request	 keys;		/* api_keys that refused it */
	struct srvtool_set	 tools;
	json_object		*content;	/* the answer's blocks so far */
	int64_t			 in, out, cached;	/* usage, summed */
	int			 uses[SRVTOOL_NKINDS];	/* calls made */
	int			 done[SRVTOOL_NKINDS];	/* ... with a result */
	int			 rounds;	/* upstream calls answered */
	long			 upstream_ms;
	uint64_t		 deadline_ms;
	int			 deadline_hit;
	int			 client_gone;
	int			 committed;	/* a round answered: no fallback */
	int			 began;		/* stream head sent */
	char			 msg_id[40];
	struct buf		 wire;		/* http_resp_stream's scratch */
	uint64_t		 last_write_ms;
	struct srvloop_acct	*acct;

	/* a streamed loop: one message over the rounds (its blocks recorded
	 * into content as they are written), each round's upstream stream
	 * through the decoder and stream machine, the server calls it holds
	 * back, the citations of its text */
	struct aevent		 ev;
	struct sse_decoder	 dec;
	struct stream		*st;
	struct stream_hold	 hold;
	struct srvhist		 hist;
	struct srvcite_stream	 cite;
	const struct upstream_result *res;	/* the round's, live */
	uint64_t		 activity_ms;
	int			 bad_upstream;
	int			 ended;		/* the last bytes went */
	struct held_call	 calls[STREAM_MAX_TOOLS];
	size_t			 ncalls;
};

/* ---- writing to the client ----------------------------------------------- */

/* aevent's writer: whole events, the first write carries the head */
static int
emit(void *arg, const char *p, size_t len, int last)
{
	struct loop	*l = arg;
	int		 flags = (l->began ? 0 : HTTP_STREAM_BEGIN) |
	    (last ? HTTP_STREAM_END : 0);

	if (l->client_gone)
		return -1;
	if (!l->began)
		scoreboard_set_streaming(1);
	l->began = 1;
	l->ended = last;
	if (http_resp_stream(l->conn, l->req, &l->wire, p, len, flags) == -1) {
		l->client_gone = 1;
		return -1;
	}
	l->last_write_ms = util_now_ms();
	return 0;
}

static int
start_stream(struct loop *l)
{
	return aevent_message_start(&l->ev, l->msg_id, l->model,
	    tokens_estimate_request(l->body));
}

/* while anything waits: the client's hang-up, the deadline, pings (once
 * the stream has begun or the upstream has accepted the round), the
 * key's limits */
static int
tick(void *arg)
{
	struct loop	*l = arg;
	uint64_t	 now = util_now_ms();
	uint64_t	 ping_ms = (uint64_t)conf->stream_ping_seconds * 1000;

	if (l->acct != NULL && l->acct->tick != NULL)
		l->acct->tick(l->acct->arg);
	if (http_conn_peer_gone(l->conn)) {
		l->client_gone = 1;
		return -1;
	}
	if (now >= l->deadline_ms) {
		l->deadline_hit = 1;
		return -1;
	}
	if (l->stream && ping_ms > 0 && now - l->last_write_ms >= ping_ms &&
	    (l->ev.started || l->committed ||
	    (l->res != NULL && l->res->status / 100 == 2)) &&
	    (start_stream(l) == -1 || aevent_ping(&l->ev) == -1 ||
	    aevent_emit(&l->ev, 0) == -1))
		return -1;
	return 0;
}

/* an error in Anthropic's envelope: over HTTP, or as the stream's last
 * event once it has begun; 0 answered, -1 connection lost */
static int
fail(struct loop *l, int status, const char *type, const char *extra,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
fail(struct loop *l, int status, const char *type, const char *extra,
    const char *fmt, ...)
{
	char	 msg[640];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!l->began && !l->ev.started)
		return http_resp_error(l->conn, l->req, status, type, extra,
		    "%s", msg) == -1 ? -1 : 0;
	/* as Anthropic's API: the error event alone, an open block left
	 * open (what aevent still holds goes first) */
	return aevent_fail(&l->ev, type != NULL ? type :
	    http_resp_error_type(status), msg, l->req->request_id);
}

static void
log_failure(const struct loop *l, const char *reason, int next)
{
	struct buf	 b = BUF_INITIALIZER;

	secret_log_excerpt(&b, reason, strlen(reason), REASON_LOG_MAX);
	log_warnx("%s provider %s failed: %s%s", l->req->request_id,
	    l->route->provider->name, b.data != NULL ? b.data : "",
	    next ? "; trying the next one" : "");
	buf_free(&b);
}

static void
log_result_failure(const struct loop *l, const struct upstream_result *res,
    int next)
{
	struct buf	 why = BUF_INITIALIZER;

	if (res->failed)
		buf_puts(&why, res->error);
	else
		errmap_reason(res->status, res->body.data, res->body.len, &why);
	log_failure(l, why.data != NULL ? why.data : "", next);
	buf_free(&why);
}

/* an upstream's failure, answered as messages.c answers it */
static int
answer_failure(struct loop *l, const struct upstream_result *res)
{
	const char		*name = l->route->provider->name;
	struct xlate_err	 err;
	char			 extra[64] = "";

	log_result_failure(l, res, 0);
	if (res->failed && res->timed_out)
		return fail(l, 504, NULL, NULL, "upstream provider %s did not "
		    "answer in time (%s)", name, res->error);
	if (res->failed)
		return fail(l, 502, NULL, NULL, "upstream provider %s failed: %s",
		    name, res->error);
	errmap_http(res->status, res->body.data, res->body.len, name, &err);
	if (res->retry_after[0] != '\0')
		snprintf(extra, sizeof(extra), "Retry-After: %s\r\n",
		    res->retry_after);
	return fail(l, err.status, err.type, extra[0] ? extra : NULL, "%s",
	    err.message);
}

/* ---- the conversation as it grows ---------------------------------------- */

/* the request's messages and, when there is one, the answer so far as
 * the assistant's last message (new array, members shared) */
static json_object *
conversation(struct loop *l)
{
	json_object	*msgs, *arr, *m;
	size_t		 i, n;

	if (!json_object_object_get_ex(l->body, "messages", &msgs) ||
	    !json_object_is_type(msgs, json_type_array) ||
	    (arr = json_object_new_array()) == NULL)
		return NULL;
	n = json_object_array_length(msgs);
	for (i = 0; i < n; i++)
		if (json_object_array_add(arr, json_object_get(
		    json_object_array_get_idx(msgs, i))) != 0)
			goto fail;
	if (json_object_array_length(l->content) == 0)
		return arr;
	if ((m = json_object_new_object()) == NULL)
		goto fail;
	json_object_object_add(m, "role", json_object_new_string("assistant"));
	json_object_object_add(m, "content", json_object_get(l->content));
	if (json_object_array_add(arr, m) != 0) {
		json_object_put(m);
		goto fail;
	}
	return arr;
fail:
	json_object_put(arr);
	return NULL;
}

/* a tool_choice that forces a tool forces the first round only: the
 * model could not otherwise stop calling a server tool */
static json_object *
later_tool_choice(struct loop *l, json_object *tc)
{
	json_object	*type, *name, *dp, *out;
	const char	*t;

	if (!json_object_object_get_ex(tc, "type", &type) ||
	    !json_object_is_type(type, json_type_string))
		return json_object_get(tc);
	t = json_object_get_string(type);
	if (strcmp(t, "any") != 0 && (strcmp(t, "tool") != 0 ||
	    !json_object_object_get_ex(tc, "name", &name) ||
	    !json_object_is_type(name, json_type_string) ||
	    srvtool_kind_of_name(json_object_get_string(name)) ==
	    SRVTOOL_NONE))
		return json_object_get(tc);
	if ((out = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(out, "type", json_object_new_string("auto"));
	if (json_object_object_get_ex(tc, "disable_parallel_tool_use", &dp))
		json_object_object_add(out, "disable_parallel_tool_use",
		    json_object_get(dp));
	return out;
}

/* the next round's upstream request: the client's, with the answer so
 * far appended to its conversation */
static json_object *
next_request(struct loop *l, struct xlate_err *err)
{
	json_object	*aug, *msgs, *tc, *out = NULL;

	if ((aug = json_object_new_object()) == NULL)
		goto nomem;
	json_object_object_foreach(l->body, key, val) {
		if (strcmp(key, "messages") == 0 ||
		    strcmp(key, "tool_choice") == 0 ||
		    strcmp(key, "stream") == 0)
			continue;
		if (json_object_object_add(aug, key, json_object_get(val)) !=
		    0) {
			json_object_put(val);
			goto nomem;
		}
	}
	if ((msgs = conversation(l)) == NULL ||
	    json_object_object_add(aug, "messages", msgs) != 0)
		goto nomem;
	if (json_object_object_get_ex(l->body, "tool_choice", &tc) &&
	    tc != NULL && json_object_object_add(aug, "tool_choice",
	    later_tool_choice(l, tc)) != 0)
		goto nomem;
	/* as messages.c built the first: schema, drop and params too */
	out = upkind_request(aug, l->route, l->stream, l->req->request_id,
	    err);
	json_object_put(aug);
	return out;
nomem:
	json_object_put(aug);
	xlate_err_set(err, 500, "api_error", "out of memory");
	return NULL;
}

/* ---- one upstream call ---------------------------------------------------- */

/* an upstream call of the loop; while keys of api_keys refuse it (401,
 * 403), again with another one, as messages.c does for a request without
 * the loop: a refusal is not streamed, so even a round after the stream
 * began has sent nothing of its own */
static void
perform(struct loop *l, struct upstream_call *c, struct upstream_result *res)
{
	const struct conf_provider *p = l->route->provider;
	size_t		 swaps = 0;

	c->request_id = l->req->request_id;
	for (;;) {
		c->skip_keys = l->keys.refused;
		upstream_perform(c, res);
		upkeys_note(p, &l->keys, res->failed ? -1 : res->key,
		    res->status, l->req->request_id);
		if (res->failed || (res->status != 401 && res->status != 403) ||
		    ++swaps >= p->napi_keys ||
		    !upkeys_usable(p, util_now_ms(), l->keys.refused))
			return;
		scoreboard_upstream_done(p->name, (long)res->ms, 1);
		log_result_failure(l, res, 0);
		log_warnx("%s provider %s: trying another of its api_keys",
		    l->req->request_id, p->name);
		l->upstream_ms += (long)res->ms;
		upstream_result_free(res);
	}
}

/* the upstream's answer as an Anthropic message; -1: the loop ends with
 * *rv (1 next provider, 0 answered, -1 connection lost) */
static int
call_upstream(struct loop *l, json_object *upreq, json_object **msg, int *rv)
{
	static const struct jsonparse_opts opts = { JSON_MAX_DEPTH, 1, NULL };
	struct upstream_call	 c;
	struct upstream_result	 res;
	struct jsonlex_err	 perr;
	struct xlate_err	 err;
	json_object		*up;
	const char		*name = l->route->provider->name;
	size_t			 len, end;

	*msg = NULL;
	memset(&c, 0, sizeof(c));
	c.provider = l->route->provider;
	if ((c.body = json_object_to_json_string_length(upreq, JSON_FLAGS,
	    &len)) == NULL) {
		*rv = fail(l, 500, "api_error", NULL, "out of memory");
		return -1;
	}
	c.body_len = len;
	c.on_tick = tick;
	c.watch_fd = l->conn->fd;
	c.arg = l;
	perform(l, &c, &res);
	l->upstream_ms += (long)res.ms;
	l->req->log_upstream_ms = l->upstream_ms;
	if (!res.aborted)
		scoreboard_upstream_done(name, (long)res.ms,
		    res.failed || res.status / 100 != 2);
	if ((res.aborted && l->deadline_hit) ||
	    (res.failed && res.timed_out && l->rounds > 0)) {
		/* the call's own total timeout ends with the loop's deadline */
		log_failure(l, "the server-tool loop ran out of time", 0);
		*rv = l->rounds > 0 ? 2 : fail(l, 504, NULL, NULL, "upstream "
		    "provider %s did not answer in time (%d s)", name,
		    conf->upstream_timeout_seconds);
	} else if (res.aborted)
		*rv = -1;
	else if ((res.failed || res.status / 100 != 2) && !l->began &&
	    !l->last && (res.failed || res.status == 429 ||
	    res.status >= 500)) {
		log_result_failure(l, &res, 1);
		*rv = 1;
	} else if (res.failed || res.status / 100 != 2)
		*rv = answer_failure(l, &res);
	else if ((up = jsonparse(res.body.data, res.body.len, &opts, &end,
	    &perr)) == NULL) {
		log_failure(l, "returned a body that is not JSON", 0);
		*rv = fail(l, 502, NULL, NULL, "upstream provider %s returned a "
		    "body that is not JSON", name);
	} else {
		*msg = xlate_resp(up, l->model, l->body, &err);
		json_object_put(up);
		if (*msg == NULL) {
			log_failure(l, err.message, 0);
			*rv = fail(l, err.status, err.type, NULL, "%s",
			    err.message);
		}
	}
	upstream_result_free(&res);
	return *msg != NULL ? 0 : -1;
}

/* ---- running the calls ---------------------------------------------------- */

static enum srvtool_kind
server_kind(const struct loop *l, json_object *b)
{
	json_object	*type, *name;
	enum srvtool_kind k;

	if (!json_object_object_get_ex(b, "type", &type) ||
	    strcmp(json_object_get_string(type), "tool_use") != 0 ||
	    !json_object_object_get_ex(b, "name", &name) ||
	    (k = srvtool_kind_of_name(json_object_get_string(name))) ==
	    SRVTOOL_NONE || !(l->offer & SRVTOOL_BIT(k)))
		return SRVTOOL_NONE;
	return k;
}

static int
append(struct loop *l, json_object *b)
{
	if (b == NULL)
		return -1;
	if (json_object_array_add(l->content, b) != 0) {
		json_object_put(b);
		return -1;
	}
	return 0;
}

/* a result block joins the answer: in a stream it goes out at once (and
 * aevent records it into content) */
static int
add_result(struct loop *l, json_object *b)
{
	int	 rc;

	if (!l->stream)
		return append(l, b);
	if (b == NULL)
		return -1;
	if ((rc = start_stream(l)) == 0)
		rc = aevent_block_whole(&l->ev, b) == -1 ? -1 : 0;
	json_object_put(b);
	if (rc == -1)
		return -1;
	if (aevent_emit(&l->ev, 0) == -1)
		l->client_gone = 1;
	return 0;
}

/* the model's call as Anthropic shows a server tool's call */
static json_object *
server_tool_use(const char *id, enum srvtool_kind k, json_object *input)
{
	json_object	*b, *caller;

	if ((b = json_object_new_object()) == NULL ||
	    (caller = json_object_new_object()) == NULL) {
		json_object_put(b);
		return NULL;
	}
	json_object_object_add(caller, "type", json_object_new_string("direct"));
	json_object_object_add(b, "type",
	    json_object_new_string("server_tool_use"));
	json_object_object_add(b, "id", json_object_new_string(id));
	json_object_object_add(b, "name",
	    json_object_new_string(srvtool_name(k)));
	json_object_object_add(b, "input", json_object_get(input));
	json_object_object_add(b, "caller", caller);
	return b;
}

/* one call run, its result appended */
static enum round_end
run(struct loop *l, enum srvtool_kind k, const char *id, json_object *input)
{
	struct srvrun_call	 c;
	struct webhttp_wait	 w;
	json_object		*result = NULL;
	enum srvrun_outcome	 o;

	memset(&c, 0, sizeof(c));
	w.watch_fd = l->conn->fd;
	w.on_tick = tick;
	w.arg = l;
	c.kind = k;
	c.id = id;
	c.input = input;
	c.def = &l->tools.tool[k];
	l->uses[k]++;
	c.over_limit = c.def->max_uses > 0 && l->uses[k] > c.def->max_uses;
	c.wait = &w;
	c.request_id = l->req->request_id;
	if ((c.messages = conversation(l)) == NULL)
		return ROUND_NOMEM;
	/* the deadline passed before or during the call: it cannot run */
	if (l->deadline_hit)
		o = (result = srvrun_error_block(k, id, "unavailable")) !=
		    NULL ? SRVRUN_FAILED : SRVRUN_NOMEM;
	else
		o = srvrun(&c, &result);
	json_object_put(c.messages);
	if (o == SRVRUN_ABORTED && l->deadline_hit)
		o = (result = srvrun_error_block(k, id, "unavailable")) !=
		    NULL ? SRVRUN_FAILED : SRVRUN_NOMEM;
	if (o == SRVRUN_ABORTED)
		return ROUND_GONE;
	if (o == SRVRUN_NOMEM || add_result(l, result) == -1)
		return ROUND_NOMEM;
	if (l->client_gone)
		return ROUND_GONE;
	if (o == SRVRUN_OK)
		l->done[k]++;
	return ROUND_MORE;
}

/* calls of an earlier answer that ran with a client tool: they run now
 * that the client has answered its own, and their results open this
 * answer (a streamed one begins before the first runs: the result will
 * be written whatever the backend does, so the answer is committed) */
static enum round_end
run_pending(struct loop *l)
{
	struct srvhist	 h;
	json_object	*msgs, *m, *content, *b, *v, *input;
	const char	*role, *id, *args;
	enum srvtool_kind k;
	enum round_end	 r = ROUND_MORE;
	size_t		 i, n;

	if (!json_object_object_get_ex(l->body, "messages", &msgs) ||
	    !json_object_is_type(msgs, json_type_array))
		return ROUND_MORE;
	for (i = json_object_array_length(msgs); i > 0; i--) {
		m = json_object_array_get_idx(msgs, i - 1);
		if (json_object_object_get_ex(m, "role", &v) &&
		    (role = json_object_get_string(v)) != NULL &&
		    strcmp(role, "assistant") == 0)
			break;
	}
	if (i == 0 || !json_object_object_get_ex(m, "content", &content) ||
	    !json_object_is_type(content, json_type_array))
		return ROUND_MORE;
	if (srvhist_init(&h, msgs) == -1)
		return ROUND_NOMEM;
	n = json_object_array_length(content);
	for (i = 0; i < n && r == ROUND_MORE; i++) {
		b = json_object_array_get_idx(content, i);
		if (!json_object_object_get_ex(b, "type", &v) ||
		    strcmp(json_object_get_string(v), "server_tool_use") != 0 ||
		    !json_object_object_get_ex(b, "name", &v) ||
		    (k = srvtool_kind_of_name(json_object_get_string(v))) ==
		    SRVTOOL_NONE || !(l->offer & SRVTOOL_BIT(k)) ||
		    !json_object_object_get_ex(b, "id", &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    srvhist_find(&h, id = json_object_get_string(v)) != NULL)
			continue;
		/* the answer opens with this result: begin the stream now, so
		 * the client has message_start, and pings, while it runs */
		if (l->stream) {
			if (start_stream(l) == -1) {
				r = ROUND_NOMEM;
				break;
			}
			if (aevent_emit(&l->ev, 0) == -1) {
				l->client_gone = 1;
				r = ROUND_GONE;
				break;
			}
		}
		/* the request parser keeps tool inputs as text: read it */
		input = NULL;
		if (json_object_object_get_ex(b, "input", &v) &&
		    (args = json_object_to_json_string_ext(v, JSON_FLAGS)) !=
		    NULL)
			input = json_tokener_parse(args);
		r = run(l, k, id, input);
		json_object_put(input);
	}
	srvhist_free(&h);
	return r;
}

/* one round's answer: its blocks joined to the answer, its server
 * calls run */
static enum round_end
take_round(struct loop *l, json_object *msg, const char **stop)
{
	json_object	*content, *b, *v, *input;
	enum srvtool_kind k;
	enum round_end	 r = ROUND_MORE;
	size_t		 i, n, nserver = 0, nclient = 0;
	char		 id[40];

	json_object_object_get_ex(msg, "content", &content);
	json_object_object_get_ex(msg, "stop_reason", &v);
	*stop = json_object_get_string(v);
	n = json_object_array_length(content);
	for (i = 0; i < n; i++) {
		b = json_object_array_get_idx(content, i);
		if (server_kind(l, b) != SRVTOOL_NONE)
			nserver++;
		else if (json_object_object_get_ex(b, "type", &v) &&
		    strcmp(json_object_get_string(v), "tool_use") == 0)
			nclient++;
	}
	/* the calls run when the model called nothing else and said so
	 * (a cut answer's calls do not) */
	for (i = 0; i < n; i++) {
		b = json_object_array_get_idx(content, i);
		if ((k = server_kind(l, b)) == SRVTOOL_NONE) {
			if (append(l, json_object_get(b)) == -1)
				return ROUND_NOMEM;
			continue;
		}
		util_random_id(id, sizeof(id), "srvtoolu_", 24);
		json_object_object_get_ex(b, "input", &input);
		if (append(l, server_tool_use(id, k, input)) == -1)
			return ROUND_NOMEM;
		if (nclient == 0 && strcmp(*stop, "tool_use") == 0 &&
		    (r = run(l, k, id, input)) != ROUND_MORE)
			return r;
	}
	if (nserver == 0 || nclient > 0 || strcmp(*stop, "tool_use") != 0)
		return ROUND_DONE;
	return ROUND_MORE;
}

/* ---- the answer ------------------------------------------------------------ */

static json_object *
usage(const struct loop *l)
{
	json_object	*u, *s;

	if ((u = json_object_new_object()) == NULL ||
	    (s = json_object_new_object()) == NULL) {
		json_object_put(u);
		return NULL;
	}
	json_object_object_add(u, "input_tokens", json_object_new_int64(l->in));
	json_object_object_add(u, "cache_creation_input_tokens",
	    json_object_new_int64(0));
	json_object_object_add(u, "cache_read_input_tokens",
	    json_object_new_int64(l->cached));
	json_object_object_add(u, "output_tokens", json_object_new_int64(l->out));
	json_object_object_add(s, "web_search_requests",
	    json_object_new_int(l->done[SRVTOOL_SEARCH]));
	json_object_object_add(s, "web_fetch_requests",
	    json_object_new_int(l->done[SRVTOOL_FETCH]));
	json_object_object_add(u, "server_tool_use", s);
	return u;
}

static void
add_usage(struct loop *l, json_object *msg)
{
	json_object	*u = NULL;

	json_object_object_get_ex(msg, "usage", &u);
	l->in += xlate_json_count(u, "input_tokens") > 0 ?
	    xlate_json_count(u, "input_tokens") : 0;
	l->out += xlate_json_count(u, "output_tokens") > 0 ?
	    xlate_json_count(u, "output_tokens") : 0;
	l->cached += xlate_json_count(u, "cache_read_input_tokens") > 0 ?
	    xlate_json_count(u, "cache_read_input_tokens") : 0;
}

/* the answer's blocks with the model's markers made citations */
static json_object *
cited_content(struct loop *l)
{
	struct srvhist	 h;
	json_object	*msgs, *out, *b, *v;
	size_t		 i, n = json_object_array_length(l->content);
	int		 rc = 0;

	if ((msgs = conversation(l)) == NULL)
		return NULL;
	if (srvhist_init(&h, msgs) == -1) {
		json_object_put(msgs);
		return NULL;
	}
	if ((out = json_object_new_array()) == NULL)
		rc = -1;
	for (i = 0; i < n && rc == 0; i++) {
		b = json_object_array_get_idx(l->content, i);
		if (json_object_object_get_ex(b, "type", &v) &&
		    strcmp(json_object_get_string(v), "text") == 0 &&
		    json_object_object_get_ex(b, "text", &v))
			rc = srvcite_split(json_object_get_string(v),
			    (size_t)json_object_get_string_len(v), &h, out);
		else if (json_object_array_add(out, json_object_get(b)) != 0) {
			json_object_put(b);
			rc = -1;
		}
	}
	srvhist_free(&h);
	json_object_put(msgs);
	if (rc == -1) {
		json_object_put(out);
		return NULL;
	}
	return out;
}

/* what the loop used so far, where the exchange reads it (the key's
 * limits, the usage log, /metrics); a stream cut short counts what was
 * sent */
static void
note_usage(struct loop *l)
{
	struct usage_tokens	*u;
	const struct aevent	*ev = &l->ev;

	if (l->acct == NULL || l->acct->used == NULL)
		return;
	u = l->acct->used;
	if (l->stream) {
		if (!ev->started)
			return;
		u->input = ev->ends > 0 ? ev->sum.input : ev->input_estimate;
		u->output = ev->sum.output + (int64_t)(ev->round_bytes + 3) / 4;
		u->cache_read = ev->sum.cache_read;
		u->cache_creation = ev->sum.cache_creation;
	} else {
		if (l->rounds == 0)
			return;
		u->input = l->in - l->cached;
		u->output = l->out;
		u->cache_read = l->cached;
		u->cache_creation = 0;
	}
	u->known = 1;
	u->server_tool_calls = l->done[SRVTOOL_SEARCH] +
	    l->done[SRVTOOL_FETCH];
}

/* the answer's usage is charged before its end reaches the client, so
 * its next request finds the key's limits up to date */
static void
charge(struct loop *l)
{
	note_usage(l);
	if (l->acct != NULL && l->acct->charge != NULL)
		l->acct->charge(l->acct->arg);
}

static void
log_end(const struct loop *l, const char *stop)
{
	log_info("%s server tools: rounds=%d web_search=%d/%d web_fetch=%d/%d "
	    "stop_reason=%s%s", l->req->request_id, l->rounds,
	    l->done[SRVTOOL_SEARCH], l->uses[SRVTOOL_SEARCH],
	    l->done[SRVTOOL_FETCH], l->uses[SRVTOOL_FETCH], stop,
	    l->stream ? " streamed" : "");
}

/* the end of a streamed answer: its blocks went as they came;
 * message_delta with the whole loop's usage, message_stop */
static int
finish_stream(struct loop *l, const char *stop)
{
	log_end(l, stop != NULL ? stop : l->ev.stop_reason[0] != '\0' ?
	    l->ev.stop_reason : "end_turn");
	l->ev.web_search_requests = l->done[SRVTOOL_SEARCH];
	l->ev.web_fetch_requests = l->done[SRVTOOL_FETCH];
	charge(l);
	if (start_stream(l) == -1 || aevent_turn_end(&l->ev, stop) == -1)
		return fail(l, 500, "api_error", NULL, "out of memory");
	return aevent_emit(&l->ev, 1);
}

/* the whole answer, plain or as events; 0 answered, -1 connection lost */
static int
finish(struct loop *l, const char *stop, const char *seq)
{
	json_object	*content, *msg;
	int		 rc;

	if (l->stream)
		return finish_stream(l, stop);
	log_end(l, stop);
	if ((content = cited_content(l)) == NULL ||
	    (msg = xlate_message(content, l->model, stop, seq, usage(l))) ==
	    NULL)
		return fail(l, 500, "api_error", NULL, "out of memory");
	charge(l);
	rc = http_resp_json(l->conn, l->req, 200, msg);
	json_object_put(msg);
	return rc == -1 ? -1 : 0;
}

/* ---- a streamed round ------------------------------------------------------ */

/* the model's calls to the server tools offered are the loop's to run */
static int
hold_holds(void *arg, const char *name)
{
	struct loop	*l = arg;
	enum srvtool_kind k = srvtool_kind_of_name(name);

	return k != SRVTOOL_NONE && (l->offer & SRVTOOL_BIT(k));
}

/* a call whose arguments are whole: its server_tool_use goes out now,
 * before it runs (after the round) */
static int
hold_take(void *arg, const char *name, const char *args, size_t len)
{
	struct loop		*l = arg;
	struct held_call	*c;
	struct json_tokener	*tok;
	json_object		*input = NULL, *b;
	int			 index;

	if (l->ncalls == STREAM_MAX_TOOLS)
		return -1;
	c = &l->calls[l->ncalls];
	c->kind = srvtool_kind_of_name(name);
	if ((tok = json_tokener_new()) != NULL) {
		input = json_tokener_parse_ex(tok, args, (int)len);
		json_tokener_free(tok);
	}
	if (!json_object_is_type(input, json_type_object)) {
		json_object_put(input);
		if ((input = json_object_new_object()) == NULL)
			return -1;
	}
	util_random_id(c->id, sizeof(c->id), "srvtoolu_", 24);
	if ((b = server_tool_use(c->id, c->kind, input)) == NULL) {
		json_object_put(input);
		return -1;
	}
	index = aevent_block_whole(&l->ev, b);
	json_object_put(b);
	if (index == -1) {
		json_object_put(input);
		return -1;
	}
	c->input = input;
	l->ncalls++;
	return index;
}

static int
stream_event(void *arg, const char *event, size_t elen, const char *data,
    size_t dlen)
{
	struct loop	*l = arg;

	(void)event;
	(void)elen;
	l->activity_ms = util_now_ms();
	if (stream_feed(l->st, data, dlen) == -1) {
		if (!l->ev.client_gone)
			l->bad_upstream = 1;
		return -1;
	}
	return 0;
}

/* one upstream read: its events go to the client before it returns */
static int
stream_data(void *arg, const char *p, size_t len)
{
	struct loop	*l = arg;
	int		 rv = 0;

	if (sse_decoder_feed(&l->dec, p, len, stream_event, l) == -1) {
		if (!l->ev.client_gone)
			l->bad_upstream = 1;
		rv = -1;
	}
	if (!l->client_gone && aevent_emit(&l->ev, 0) == -1)
		l->client_gone = 1;
	return l->client_gone ? -1 : rv;
}

static void
free_calls(struct loop *l)
{
	size_t	 i;

	for (i = 0; i < l->ncalls; i++)
		json_object_put(l->calls[i].input);
	l->ncalls = 0;
}

/* how a round's stream ended, once the transfer is over; -1: the loop
 * ends with *rv, as call_upstream */
static int
stream_outcome(struct loop *l, const struct upstream_result *res, int wrote,
    int *rv)
{
	const char	*name = l->route->provider->name;
	const struct stream *st = l->st;

	if (!res->failed && !l->bad_upstream && !res->aborted &&
	    res->status / 100 == 2 &&
	    sse_decoder_finish(&l->dec, stream_event, l) == -1 &&
	    !l->ev.client_gone)
		l->bad_upstream = 1;
	if (res->aborted && l->deadline_hit) {
		log_failure(l, "the server-tool loop ran out of time", 0);
		if (!wrote)	/* the round showed nothing: what ran stays */
			*rv = l->rounds > 0 ? 2 : fail(l, 504, NULL, NULL,
			    "upstream provider %s did not answer in time (%d s)",
			    name, conf->upstream_timeout_seconds);
		else
			*rv = fail(l, 504, "timeout_error", NULL, "upstream "
			    "provider %s did not finish in time (%d s)", name,
			    conf->upstream_timeout_seconds);
		return -1;
	}
	if (l->client_gone || l->ev.client_gone ||
	    (res->aborted && !l->bad_upstream)) {
		*rv = -1;
		return -1;
	}
	if (!l->began && !l->ev.started && !l->last &&
	    (res->failed || res->status == 429 || res->status >= 500)) {
		log_result_failure(l, res, 1);
		*rv = 1;
		return -1;
	}
	if (l->bad_upstream) {
		log_failure(l, st->error[0] ? st->error : "sent an invalid "
		    "stream", 0);
		*rv = fail(l, 502, st->error_type[0] ? st->error_type : NULL,
		    NULL, "upstream provider %s%s%s", name,
		    st->error[0] ? ": " : " ", st->error[0] ? st->error :
		    "sent an invalid stream");
		return -1;
	}
	if (res->failed && res->timed_out && st->chunks > 0) {
		log_failure(l, "the stream went silent", 0);
		*rv = fail(l, 504, "timeout_error", NULL, "upstream provider %s "
		    "sent nothing for %d seconds", name,
		    conf_stream_idle_seconds(conf));
		return -1;
	}
	if (res->failed && st->chunks > 0) {
		log_failure(l, res->error, 0);
		*rv = fail(l, 502, "api_error", NULL, "upstream provider %s: "
		    "stream broken: %s", name, res->error);
		return -1;
	}
	if (res->failed || res->status / 100 != 2) {
		*rv = answer_failure(l, res);
		return -1;
	}
	if (st->finish_reason == NULL) {
		log_failure(l, st->chunks > 0 ? "the stream ended without a "
		    "finish_reason" : "sent an empty stream", 0);
		*rv = fail(l, 502, NULL, NULL, "upstream provider %s %s", name,
		    st->chunks > 0 ? "ended its stream without a finish_reason" :
		    "sent an empty stream");
		return -1;
	}
	return 0;
}

/* one round streamed to the client as the upstream sends it; the calls
 * to server tools are held back (l->calls); -1: the loop ends with *rv */
static int
call_stream(struct loop *l, json_object *upreq, int *rv)
{
	struct upstream_call	 c;
	struct upstream_result	 res;
	json_object		*msgs;
	size_t			 len;
	int			 r, blocks = l->ev.next_block;

	memset(&c, 0, sizeof(c));
	c.provider = l->route->provider;
	if ((c.body = json_object_to_json_string_length(upreq, JSON_FLAGS,
	    &len)) == NULL || (msgs = conversation(l)) == NULL) {
		*rv = fail(l, 500, "api_error", NULL, "out of memory");
		return -1;
	}
	/* the results so far, numbered, for the round's citations */
	r = srvhist_init(&l->hist, msgs);
	json_object_put(msgs);
	if (r == -1) {
		*rv = fail(l, 500, "api_error", NULL, "out of memory");
		return -1;
	}
	srvcite_stream_init(&l->cite, &l->hist, &l->ev);
	aevent_text_filter(&l->ev, srvcite_stream_text, &l->cite);
	stream_init(l->st, &l->ev, l->msg_id, l->model,
	    tokens_estimate_request(l->body), l->route->provider->include_usage);
	snprintf(l->st->request_id, sizeof(l->st->request_id), "%s",
	    l->req->request_id);
	stream_hold(l->st, &l->hold);
	sse_decoder_init(&l->dec);
	l->bad_upstream = 0;
	l->activity_ms = util_now_ms();
	c.body_len = len;
	c.stream = 1;
	c.on_data = stream_data;
	c.on_tick = tick;
	c.watch_fd = l->conn->fd;
	c.activity_ms = &l->activity_ms;
	c.arg = l;
	l->res = &res;
	perform(l, &c, &res);
	l->res = NULL;
	l->upstream_ms += (long)res.ms;
	l->req->log_upstream_ms = l->upstream_ms;
	if (!res.aborted || l->bad_upstream)
		scoreboard_upstream_done(l->route->provider->name, (long)res.ms,
		    res.failed || l->bad_upstream || res.status / 100 != 2);
	r = stream_outcome(l, &res, l->ev.next_block != blocks ||
	    l->ev.open >= 0 || l->ev.lazy, rv);
	if (r == 0 && stream_finish(l->st) == -1) {
		*rv = -1;
		r = -1;
	}
	upstream_result_free(&res);
	stream_free(l->st);	/* its counts stay for run_held */
	aevent_text_filter(&l->ev, NULL, NULL);
	srvcite_stream_free(&l->cite);
	srvhist_free(&l->hist);
	sse_decoder_free(&l->dec);
	return r;
}

/* the calls a streamed round held run when the model called nothing
 * else and said so */
static enum round_end
run_held(struct loop *l)
{
	const struct stream *st = l->st;
	const char	*stop = l->ev.stop_reason;
	enum round_end	 r = ROUND_MORE;
	size_t		 i;

	if (l->ncalls == 0 || st->ntool_calls > st->nheld ||
	    strcmp(stop, "tool_use") != 0)
		return ROUND_DONE;
	for (i = 0; i < l->ncalls && r == ROUND_MORE; i++)
		r = run(l, l->calls[i].kind, l->calls[i].id,
		    l->calls[i].input);
	return r;
}

/* ---- the loop ------------------------------------------------------------- */

/* one round: the upstream called and answered, its calls run */
static enum round_end
one_round(struct loop *l, json_object *upreq, const char **stop, char *seq,
    size_t seqsz, int *rv)
{
	json_object	*msg, *v;
	enum round_end	 r;

	seq[0] = '\0';
	*stop = NULL;
	if (l->stream) {
		free_calls(l);
		if (call_stream(l, upreq, rv) == -1)
			return ROUND_GONE;
		l->committed = 1;
		l->rounds++;
		return run_held(l);
	}
	if (call_upstream(l, upreq, &msg, rv) == -1)
		return ROUND_GONE;
	l->committed = 1;
	l->rounds++;
	add_usage(l, msg);
	if (json_object_object_get_ex(msg, "stop_sequence", &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(seq, seqsz, "%s", json_object_get_string(v));
	r = take_round(l, msg, stop);
	/* the stop reason lives in msg: keep it for finish */
	if (r == ROUND_DONE) {
		*rv = finish(l, *stop, seq[0] ? seq : NULL);
		json_object_put(msg);
		return ROUND_GONE;
	}
	json_object_put(msg);
	return r;
}

static int
rounds(struct loop *l, json_object *up)
{
	struct xlate_err err;
	json_object	*upreq;
	const char	*stop;
	char		 seq[256];
	enum round_end	 r;
	int		 rv = 0;

	switch (run_pending(l)) {
	case ROUND_GONE:
		return -1;
	case ROUND_NOMEM:
		return fail(l, 500, "api_error", NULL, "out of memory");
	default:
		break;
	}
	for (;;) {
		if (l->rounds == 0 && json_object_array_length(l->content) == 0)
			upreq = json_object_get(up);
		else if ((upreq = next_request(l, &err)) == NULL)
			return fail(l, err.status, err.type, NULL, "%s",
			    err.message);
		rv = -2;
		r = one_round(l, upreq, &stop, seq, sizeof(seq), &rv);
		json_object_put(upreq);
		if (r == ROUND_GONE && rv != -2)
			/* 2: the deadline cut a round off: what ran stays */
			return rv == 2 ? finish(l, "pause_turn", NULL) : rv;
		if (r == ROUND_DONE)	/* streamed: the answer is out */
			return finish(l, NULL, NULL);
		if (r == ROUND_GONE || l->client_gone)
			return -1;
		if (r == ROUND_NOMEM)
			return fail(l, 500, "api_error", NULL, "out of memory");
		if (l->deadline_hit || util_now_ms() >= l->deadline_ms ||
		    l->rounds >= SRVLOOP_MAX_ROUNDS)
			return finish(l, "pause_turn", NULL);
	}
}

int
srvloop_run(struct http_conn *conn, struct http_request *req,
    json_object *body, const char *model, const struct model_route *route,
    json_object *up, int stream, int last, struct srvloop_acct *acct)
{
	struct loop	*l;
	struct xlate_err err;
	json_object	*tools = NULL;
	int		 rv;

	/* the stream machine's call table is large: not on the stack */
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (stream && (l->st = calloc(1, sizeof(*l->st))) == NULL)) {
		free(l);
		return http_resp_error(conn, req, 500, "api_error", NULL,
		    "out of memory") == -1 ? -1 : 0;
	}
	l->conn = conn;
	l->req = req;
	l->body = body;
	l->model = model;
	l->route = route;
	l->stream = stream;
	l->last = last;
	l->acct = acct;
	l->offer = srvtool_offered(body);
	l->last_write_ms = util_now_ms();
	l->deadline_ms = l->last_write_ms +
	    (uint64_t)conf->upstream_timeout_seconds * 1000;
	l->hold.holds = hold_holds;
	l->hold.take = hold_take;
	l->hold.arg = l;
	util_random_id(l->msg_id, sizeof(l->msg_id), "msg_", 24);
	aevent_init(&l->ev, (size_t)conf->log_stream_text_preview_chars, emit,
	    l);
	aevent_rounds(&l->ev, 1);
	json_object_object_get_ex(body, "tools", &tools);
	if (srvtool_scan(tools, &l->tools, &err) == -1) {
		rv = http_resp_error(conn, req, err.status, err.type, NULL,
		    "%s", err.message) == -1 ? -1 : 0;
		goto out;
	}
	if ((l->content = json_object_new_array()) == NULL) {
		rv = http_resp_error(conn, req, 500, "api_error", NULL,
		    "out of memory") == -1 ? -1 : 0;
		goto out;
	}
	/* a stream's blocks join the answer as they are written */
	if (stream)
		aevent_record(&l->ev, l->content);
	else {
		json_object_object_del(up, "stream");
		json_object_object_del(up, "stream_options");
	}
	rv = rounds(l, up);
	if (l->client_gone || l->ev.client_gone)
		rv = -1;
	note_usage(l);
	/* a stream whose last events could not be built still ends */
	if (l->began && !l->ended && !l->client_gone &&
	    http_resp_stream(conn, req, &l->wire, NULL, 0, HTTP_STREAM_END) ==
	    -1)
		rv = -1;
	if (l->began)
		scoreboard_set_streaming(0);
out:
	free_calls(l);
	json_object_put(l->content);
	srvtool_set_free(&l->tools);
	aevent_free(&l->ev);
	buf_free(&l->wire);
	if (l->st != NULL)
		stream_free(l->st);
	free(l->st);
	free(l);
	return rv;
}
