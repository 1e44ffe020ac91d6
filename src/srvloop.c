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
 * that returned a result). A client that asked for a stream gets
 * message_start once the first round has answered, pings every
 * stream_ping_seconds while the loop works, and the rest as events once
 * the answer is whole (srvsse.c; true streaming is issue 11's phase 2b).
 *
 * Bounds: the whole loop, backends included, ends upstream_timeout_seconds
 * after it began (a call still running then is cut off: an upstream call
 * ends the loop with pause_turn when rounds have run, else 504; a backend
 * call's result becomes unavailable); each upstream call keeps its own
 * total timeout, each backend call its own. A client that hangs up aborts
 * whatever runs (499).
 *
 * Failures follow messages.c's relays: until a byte went to the client,
 * an upstream failure worth retrying (transport, 429, 5xx) on a route that
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
#include "srvsse.h"
#include "srvtool.h"
#include "tokens.h"
#include "upstream.h"
#include "util.h"
#include "xlate.h"

#define JSON_FLAGS	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define JSON_MAX_DEPTH	64
#define REASON_LOG_MAX	400

enum round_end { ROUND_MORE, ROUND_DONE, ROUND_GONE, ROUND_NOMEM };

struct loop {
	struct http_conn	*conn;
	struct http_request	*req;
	json_object		*body;		/* the client's request */
	const char		*model;		/* as the client named it */
	const struct model_route *route;
	int			 stream;
	int			 last;		/* no provider after this one */
	unsigned		 offer;		/* SRVTOOL_BIT()s run here */
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
	struct buf		 ev;		/* events not yet written */
	struct buf		 wire;		/* http_resp_stream's scratch */
	uint64_t		 last_write_ms;
};

/* ---- writing to the client ----------------------------------------------- */

/* the events collected, in one write; the first carries the head */
static int
emit(struct loop *l, int last)
{
	int	 flags = (l->began ? 0 : HTTP_STREAM_BEGIN) |
	    (last ? HTTP_STREAM_END : 0);
	int	 rc;

	if (l->client_gone)
		return -1;
	if (l->ev.len == 0 && !last)
		return 0;
	if (!l->began)
		scoreboard_set_streaming(1);
	l->began = 1;
	rc = http_resp_stream(l->conn, l->req, &l->wire, l->ev.data, l->ev.len,
	    flags);
	buf_reset(&l->ev);
	l->last_write_ms = util_now_ms();
	if (rc == -1) {
		l->client_gone = 1;
		return -1;
	}
	return 0;
}

/* message_start goes first, once */
static int
start_stream(struct loop *l)
{
	if (l->began || (l->ev.len > 0 && strncmp(l->ev.data,
	    "event: message_start", 20) == 0))
		return 0;
	return srvsse_message_start(&l->ev, l->msg_id, l->model,
	    tokens_estimate_request(l->body));
}

/* while anything waits: the client's hang-up, the deadline, pings */
static int
tick(void *arg)
{
	struct loop	*l = arg;
	uint64_t	 now = util_now_ms();
	uint64_t	 ping_ms = (uint64_t)conf->stream_ping_seconds * 1000;

	if (http_conn_peer_gone(l->conn)) {
		l->client_gone = 1;
		return -1;
	}
	if (now >= l->deadline_ms) {
		l->deadline_hit = 1;
		return -1;
	}
	if (l->stream && l->committed && ping_ms > 0 &&
	    now - l->last_write_ms >= ping_ms &&
	    (start_stream(l) == -1 || srvsse_ping(&l->ev) == -1 ||
	    emit(l, 0) == -1))
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
	if (!l->began)
		return http_resp_error(l->conn, l->req, status, type, extra,
		    "%s", msg) == -1 ? -1 : 0;
	buf_reset(&l->ev);
	if (srvsse_error(&l->ev, type != NULL ? type :
	    http_resp_error_type(status), msg, l->req->request_id) == -1)
		return -1;
	return emit(l, 1);
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
	out = xlate_req(aug, l->route, 0, l->req->request_id, err);
	json_object_put(aug);
	return out;
nomem:
	json_object_put(aug);
	xlate_err_set(err, 500, "api_error", "out of memory");
	return NULL;
}

/* ---- one upstream call ---------------------------------------------------- */

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
	upstream_perform(&c, &res);
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
	if (o == SRVRUN_NOMEM || append(l, result) == -1)
		return ROUND_NOMEM;
	if (o == SRVRUN_OK)
		l->done[k]++;
	return ROUND_MORE;
}

/* calls of an earlier answer that ran with a client tool: they run now
 * that the client has answered its own, and their results open this
 * answer */
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

/* the whole answer, plain or as events; 0 answered, -1 connection lost */
static int
finish(struct loop *l, const char *stop, const char *seq)
{
	json_object	*content, *msg;
	int		 rc;

	log_info("%s server tools: rounds=%d web_search=%d/%d web_fetch=%d/%d "
	    "stop_reason=%s", l->req->request_id, l->rounds,
	    l->done[SRVTOOL_SEARCH], l->uses[SRVTOOL_SEARCH],
	    l->done[SRVTOOL_FETCH], l->uses[SRVTOOL_FETCH], stop);
	if ((content = cited_content(l)) == NULL ||
	    (msg = xlate_message(content, l->model, stop, seq, usage(l))) ==
	    NULL)
		return fail(l, 500, "api_error", NULL, "out of memory");
	if (!l->stream) {
		rc = http_resp_json(l->conn, l->req, 200, msg);
		json_object_put(msg);
		return rc == -1 ? -1 : 0;
	}
	json_object_object_add(msg, "id", json_object_new_string(l->msg_id));
	json_object_object_get_ex(msg, "content", &content);
	if (start_stream(l) == -1 || srvsse_content(&l->ev, content) == -1 ||
	    srvsse_message_end(&l->ev, msg) == -1) {
		json_object_put(msg);
		return fail(l, 500, "api_error", NULL, "out of memory");
	}
	json_object_put(msg);
	return emit(l, 1);
}

/* ---- the loop ------------------------------------------------------------- */

static int
rounds(struct loop *l, json_object *up)
{
	struct xlate_err err;
	json_object	*upreq, *msg, *v;
	const char	*stop;
	char		 seq[256];
	enum round_end	 r;
	int		 rv;

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
		if (call_upstream(l, upreq, &msg, &rv) == -1) {
			json_object_put(upreq);
			/* 2: the deadline cut a round off: what ran stays */
			return rv == 2 ? finish(l, "pause_turn", NULL) : rv;
		}
		json_object_put(upreq);
		l->committed = 1;
		l->rounds++;
		add_usage(l, msg);
		seq[0] = '\0';
		if (json_object_object_get_ex(msg, "stop_sequence", &v) &&
		    json_object_is_type(v, json_type_string))
			snprintf(seq, sizeof(seq), "%s",
			    json_object_get_string(v));
		r = take_round(l, msg, &stop);
		if (r == ROUND_DONE) {
			rv = finish(l, stop, seq[0] ? seq : NULL);
			json_object_put(msg);
			return rv;
		}
		json_object_put(msg);
		if (r == ROUND_GONE)
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
    json_object *up, int stream, int last)
{
	struct loop	 l;
	struct xlate_err err;
	json_object	*tools = NULL;
	int		 rv;

	memset(&l, 0, sizeof(l));
	l.conn = conn;
	l.req = req;
	l.body = body;
	l.model = model;
	l.route = route;
	l.stream = stream;
	l.last = last;
	l.offer = srvtool_offered(body);
	l.last_write_ms = util_now_ms();
	l.deadline_ms = l.last_write_ms +
	    (uint64_t)conf->upstream_timeout_seconds * 1000;
	util_random_id(l.msg_id, sizeof(l.msg_id), "msg_", 24);
	json_object_object_get_ex(body, "tools", &tools);
	if (srvtool_scan(tools, &l.tools, &err) == -1)
		return http_resp_error(conn, req, err.status, err.type, NULL,
		    "%s", err.message) == -1 ? -1 : 0;
	if ((l.content = json_object_new_array()) == NULL) {
		srvtool_set_free(&l.tools);
		return http_resp_error(conn, req, 500, "api_error", NULL,
		    "out of memory") == -1 ? -1 : 0;
	}
	/* the rounds are plain calls */
	json_object_object_del(up, "stream");
	json_object_object_del(up, "stream_options");
	rv = rounds(&l, up);
	if (l.client_gone)
		rv = -1;
	if (l.began)
		scoreboard_set_streaming(0);
	json_object_put(l.content);
	srvtool_set_free(&l.tools);
	buf_free(&l.ev);
	buf_free(&l.wire);
	return rv;
}
