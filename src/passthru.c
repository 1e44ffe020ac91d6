/*
 * passthru.c: the Messages API passed through (providers[].api
 * "anthropic": DeepSeek's, Moonshot's, Z.ai's, MiniMax's, DashScope's,
 * OpenRouter's Anthropic endpoints, vLLM, llama.cpp, Ollama).
 *
 * Nothing is translated, since translating only adds risk where both
 * sides speak the same API. The request is the client's body with the
 * model's remote_id, its max_tokens cap (checked as xlate_req checks it)
 * and, where the provider says so, Claude Code's attribution line left
 * out of the system prompt (xlate_attribution_len, the rule every kind
 * shares); upkind_request then applies the provider's drop and params.
 * anthropic-version and anthropic-beta come from the client's request,
 * the betas filtered by the provider's list.
 *
 * A plain answer goes back as the upstream wrote it (messages.c sends
 * the bytes, masked); passthru_resp only checks it is a message and gives
 * it for its usage. A stream goes back byte for byte as well, in whole
 * events: each upstream read appends to the event being received, and
 * every event it completes (ended by a blank line, LF, CRLF or CR as SSE
 * allows) is read with an SSE decoder for what the proxy must know
 * (message_start's usage, the deltas' text for the log, message_delta's
 * stop reason and usage, message_stop) and appended to the client's
 * stream unchanged but for configured secrets (aevent_relay), so the
 * events one read completes leave in that read's one write. A secret
 * the model writes may span two deltas, where masking each event alone
 * misses it: a delta whose text ends where a configured secret may begin
 * waits for the next delta of its block, and when their text together
 * holds a secret they go out as one delta of it, masked (the one case
 * where the bytes differ, besides an error event); otherwise as they
 * came, only later. Since only
 * whole events are written, a ping of the proxy's own or an error event
 * always falls between two events. An upstream's error event is the one
 * event rewritten: Anthropic's envelope with the type it gave, its words
 * masked and the proxy's request id, as every error the proxy sends.
 *
 * Promises: the client reads the upstream's bytes, in its order, except
 * that secrets are masked, an error event carries our request id, and
 * nothing follows message_stop or an error. A stream that ends without
 * message_stop ends with an error event. Failure: -1 with error_type and
 * error set for an event that is not JSON or an event beyond
 * SSE_MAX_EVENT_BYTES, or out of memory.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aevent.h"
#include "buf.h"
#include "conf.h"
#include "errmap.h"
#include "jsonscan.h"
#include "log.h"
#include "passthru.h"
#include "secret.h"
#include "sse.h"
#include "xlate.h"
#include "xr.h"

#define JSON_MAX_DEPTH	64

/* ---- the request ---------------------------------------------------------- */

/* a system text block without the attribution line: NULL = drop the
 * block, else a new reference (the block itself when nothing changes) */
static json_object *
system_block(json_object *b, int *failed)
{
	json_object	*text, *copy;
	const char	*t;
	size_t		 len, cut;

	if (!json_object_object_get_ex(b, "text", &text) ||
	    !json_object_is_type(text, json_type_string))
		return json_object_get(b);
	t = json_object_get_string(text);
	len = (size_t)json_object_get_string_len(text);
	if ((cut = xlate_attribution_len(t, len)) == 0)
		return json_object_get(b);
	if (cut == len)
		return NULL;
	if ((copy = json_object_new_object()) == NULL)
		goto nomem;
	json_object_object_foreach(b, key, val)
		if (json_object_object_add(copy, key, strcmp(key, "text") == 0 ?
		    json_object_new_string_len(t + cut, (int)(len - cut)) :
		    json_object_get(val)) != 0) {
			json_object_put(copy);
			goto nomem;
		}
	return copy;
nomem:
	*failed = 1;
	return NULL;
}

/* the client's system prompt without Claude Code's attribution line (the
 * first line of its first text); NULL = no system left, or *failed */
static json_object *
system_without_attribution(json_object *sys, int *failed)
{
	json_object	*out, *b;
	const char	*t;
	size_t		 len, cut, i, n;

	if (json_object_is_type(sys, json_type_string)) {
		t = json_object_get_string(sys);
		len = (size_t)json_object_get_string_len(sys);
		if ((cut = xlate_attribution_len(t, len)) == 0)
			return json_object_get(sys);
		if (cut == len)
			return NULL;
		if ((out = json_object_new_string_len(t + cut,
		    (int)(len - cut))) == NULL)
			*failed = 1;
		return out;
	}
	if (!json_object_is_type(sys, json_type_array) ||
	    (n = json_object_array_length(sys)) == 0)
		return json_object_get(sys);	/* the upstream judges */
	if ((out = json_object_new_array()) == NULL) {
		*failed = 1;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		b = json_object_array_get_idx(sys, i);
		b = i == 0 ? system_block(b, failed) : json_object_get(b);
		if (*failed || (b != NULL && json_object_array_add(out, b) !=
		    0)) {
			json_object_put(b);
			json_object_put(out);
			*failed = 1;
			return NULL;
		}
	}
	if (json_object_array_length(out) == 0) {
		json_object_put(out);
		return NULL;
	}
	return out;
}

/* out = the client's members but those the caller sets, by reference */
static int
copy_members(json_object *req, json_object *out, const char *const *skip)
{
	size_t	 i;

	json_object_object_foreach(req, key, val) {
		for (i = 0; skip[i] != NULL; i++)
			if (strcmp(key, skip[i]) == 0)
				break;
		if (skip[i] != NULL)
			continue;
		if (json_object_object_add(out, key, json_object_get(val)) !=
		    0) {
			json_object_put(val);
			return -1;
		}
	}
	return 0;
}

/* model and system, for both endpoints */
static int
common(json_object *req, const struct model_route *route, json_object *out,
    struct xr *x)
{
	json_object	*sys, *v;
	int		 failed = 0;

	if (xr_model(x, req, out) == -1)
		return -1;
	if (!json_object_object_get_ex(req, "system", &sys) || sys == NULL)
		return 0;
	if (!route->provider->strip_attribution)
		return xr_add(x, out, "system", json_object_get(sys));
	v = system_without_attribution(sys, &failed);
	if (failed)
		return xr_nomem(x);
	return v == NULL ? 0 : xr_add(x, out, "system", v);
}

json_object *
passthru_req(json_object *req, const struct model_route *route, int stream,
    const char *request_id, struct xlate_err *err)
{
	static const char *const skip[] = { "model", "max_tokens", "system",
	    "stream", NULL };
	struct xr	 x;
	json_object	*out;

	memset(&x, 0, sizeof(x));
	x.route = route;
	x.rid = request_id != NULL ? request_id : "-";
	x.err = err;
	err->provider_limit = 0;
	if ((out = json_object_new_object()) == NULL) {
		xr_nomem(&x);
		return NULL;
	}
	if (copy_members(req, out, skip) == -1) {
		xr_nomem(&x);
		goto fail;
	}
	if (common(req, route, out, &x) == -1 ||
	    xr_max_tokens(&x, req, out) == -1 ||
	    (stream && xr_add(&x, out, "stream",
	    json_object_new_boolean(1)) == -1))
		goto fail;
	return out;
fail:
	json_object_put(out);
	return NULL;
}

json_object *
passthru_count_req(json_object *req, const struct model_route *route,
    struct xlate_err *err)
{
	/* what /v1/messages takes and count_tokens refuses */
	static const char *const skip[] = { "model", "system", "max_tokens",
	    "stream", "temperature", "top_p", "top_k", "stop_sequences",
	    "metadata", "service_tier", NULL };
	struct xr	 x;
	json_object	*out;
	size_t		 i;

	memset(&x, 0, sizeof(x));
	x.route = route;
	x.rid = "-";
	x.err = err;
	err->provider_limit = 0;
	if ((out = json_object_new_object()) == NULL) {
		xr_nomem(&x);
		return NULL;
	}
	if (copy_members(req, out, skip) == -1) {
		xr_nomem(&x);
		goto fail;
	}
	if (common(req, route, out, &x) == -1)
		goto fail;
	for (i = 0; i < route->provider->ndrop; i++)
		json_object_object_del(out, route->provider->drop[i]);
	return out;
fail:
	json_object_put(out);
	return NULL;
}

/* ---- a plain answer ------------------------------------------------------ */

json_object *
passthru_resp(json_object *up, const char *client_model, json_object *req,
    const struct model_route *route, struct xlate_err *err)
{
	json_object	*type, *content;
	const char	*t;

	(void)client_model;
	(void)req;
	if (!json_object_is_type(up, json_type_object) ||
	    !json_object_object_get_ex(up, "content", &content) ||
	    !json_object_is_type(content, json_type_array) ||
	    (json_object_object_get_ex(up, "type", &type) &&
	    ((t = json_object_get_string(type)) == NULL ||
	    strcmp(t, "message") != 0))) {
		xlate_err_set(err, 502, "api_error", "upstream provider %s "
		    "returned something other than a message",
		    route->provider->name);
		return NULL;
	}
	return json_object_get(up);
}

/* ---- the headers the client's request gives ------------------------------- */

/* a header value worth passing on: printable, no control characters */
static int
printable(const char *p, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return 0;
	return 1;
}

static int
beta_allowed(const struct conf_provider *p, const char *b, size_t len)
{
	size_t	 i;

	if (!p->betas_listed)
		return 1;
	for (i = 0; i < p->nbetas; i++)
		if (strlen(p->betas[i]) == len &&
		    memcmp(p->betas[i], b, len) == 0)
			return 1;
	return 0;
}

int
passthru_headers(const char *version, size_t vlen, const char *beta,
    size_t blen, const struct conf_provider *p, struct buf *out)
{
	struct buf	 kept = BUF_INITIALIZER;
	size_t		 i, j;
	int		 rc = -1;

	if (version == NULL || vlen == 0 || !printable(version, vlen)) {
		version = PASSTHRU_VERSION;
		vlen = strlen(version);
	}
	if (buf_printf(out, "anthropic-version: %.*s", (int)vlen, version) ==
	    -1 || buf_putc(out, '\0') == -1)
		return -1;
	if (beta == NULL || blen == 0 || !printable(beta, blen))
		return 0;
	/* a comma-separated list: each name trimmed, kept if listed */
	for (i = 0; i < blen; i = j + 1) {
		while (i < blen && (beta[i] == ' ' || beta[i] == '\t'))
			i++;
		for (j = i; j < blen && beta[j] != ','; j++)
			;
		size_t e = j;

		while (e > i && (beta[e - 1] == ' ' || beta[e - 1] == '\t'))
			e--;
		if (e == i || !beta_allowed(p, beta + i, e - i))
			continue;
		if ((kept.len > 0 && buf_putc(&kept, ',') == -1) ||
		    buf_append(&kept, beta + i, e - i) == -1)
			goto done;
	}
	rc = 0;
	if (kept.len > 0 && (buf_printf(out, "anthropic-beta: %s",
	    kept.data) == -1 || buf_putc(out, '\0') == -1))
		rc = -1;
done:
	buf_free(&kept);
	return rc;
}

/* ---- the stream ------------------------------------------------------------ */

void
passthru_stream_init(struct passthru_stream *s, struct aevent *ev,
    const char *provider, const char *request_id)
{
	memset(s, 0, sizeof(*s));
	s->ev = ev;
	s->provider = provider;
	s->line_start = 1;
	strlcpy(s->request_id, request_id != NULL ? request_id : "",
	    sizeof(s->request_id));
	sse_decoder_init(&s->dec);
}

void
passthru_stream_free(struct passthru_stream *s)
{
	buf_free(&s->pending);
	buf_free(&s->held_raw);
	buf_free(&s->held_text);
	sse_decoder_free(&s->dec);
	jsonscan_free(&s->js);
}

/* the stream cannot go on: why, for passthru_stream_error */
static int
bad(struct passthru_stream *s, const char *why, const char *detail)
{
	snprintf(s->error_type, sizeof(s->error_type), "api_error");
	snprintf(s->error, sizeof(s->error), "%s%s%s%s", why,
	    detail != NULL ? " (" : "", detail != NULL ? detail : "",
	    detail != NULL ? ")" : "");
	return -1;
}

static int64_t
count_at(struct passthru_stream *s, int obj, const char *key)
{
	int64_t	 n;

	if (jsonscan_int64(&s->js, jsonscan_member(&s->js, obj, key), &n) ==
	    -1 || n < 0)
		return -1;
	return n > XLATE_COUNT_MAX ? XLATE_COUNT_MAX : n;
}

/* usage fields of obj into the message's sums; output only when asked
 * (message_start's is a placeholder) */
static void
note_usage(struct passthru_stream *s, int u, int with_output)
{
	struct aevent	*a = s->ev;
	int64_t		 n;

	if (jsonscan_type(&s->js, u) != JSONSCAN_OBJECT)
		return;
	if ((n = count_at(s, u, "input_tokens")) >= 0)
		a->sum.input = n;
	if ((n = count_at(s, u, "cache_read_input_tokens")) >= 0)
		a->sum.cache_read = n;
	if ((n = count_at(s, u, "cache_creation_input_tokens")) >= 0)
		a->sum.cache_creation = n;
	if (with_output && (n = count_at(s, u, "output_tokens")) >= 0)
		a->sum.output = n;
}

static const char *
str_at(struct passthru_stream *s, int obj, const char *key, size_t *len)
{
	return jsonscan_str(&s->js, jsonscan_member(&s->js, obj, key), len);
}

/* the deltas that carry the model's words, and their member */
static const struct {
	const char	*type;
	const char	*field;
	int		 text;		/* counted as text for the log */
} delta_kinds[] = {
	{ "text_delta", "text", 1 },
	{ "thinking_delta", "thinking", 0 },
	{ "input_json_delta", "partial_json", 0 },
};

/* a delta's text, thinking or tool input, for the log and estimates,
 * and for the secrets that may span two deltas */
static void
note_delta(struct passthru_stream *s, int d, int64_t index)
{
	const char	*type = str_at(s, d, "type", NULL), *p;
	size_t		 len, k;

	if (type == NULL)
		return;
	for (k = 0; k < sizeof(delta_kinds) / sizeof(delta_kinds[0]); k++)
		if (strcmp(type, delta_kinds[k].type) == 0)
			break;
	if (k == sizeof(delta_kinds) / sizeof(delta_kinds[0]) ||
	    (p = str_at(s, d, delta_kinds[k].field, &len)) == NULL)
		return;
	aevent_relayed(s->ev, p, len, delta_kinds[k].text);
	s->delta = p;
	s->delta_len = len;
	s->delta_index = index;
	s->delta_type = delta_kinds[k].type;
}

static const char *
delta_field(const char *type)
{
	size_t	 k;

	for (k = 0; k < sizeof(delta_kinds) / sizeof(delta_kinds[0]); k++)
		if (strcmp(type, delta_kinds[k].type) == 0)
			return delta_kinds[k].field;
	return "text";
}

/* does the text end where a configured secret may begin? */
static int
may_begin_secret(const char *p, size_t len)
{
	struct buf	 scratch = BUF_INITIALIZER;
	size_t		 n;

	if (secret_longest() == 0 || len == 0)
		return 0;
	n = secret_mask_stream(&scratch, p, len);
	buf_free(&scratch);
	return n < len;
}

/*
 * The held deltas go out: as they came when their text holds no secret,
 * else as one delta of it, masked. final: the stream ends here (failed or
 * cut), so no more text can complete a secret whose beginning ends the
 * held text; as aevent_error rules, such a tail goes only when too short
 * to tell anything, else it is left out.
 */
static int
flush_held(struct passthru_stream *s, int final)
{
	struct buf	 masked = BUF_INITIALIZER, ev = BUF_INITIALIZER;
	json_object	*o = NULL, *d;
	const char	*js, *text = s->held_text.data != NULL ?
			    s->held_text.data : "";
	size_t		 n;
	int		 rc = -1;

	if (s->held_raw.len == 0)
		return 0;
	if (final) {
		n = secret_mask_stream(&masked, text, s->held_text.len);
		if (s->held_text.len - n < SECRET_MIN_LEN / 2 &&
		    buf_append(&masked, text + n, s->held_text.len - n) == -1)
			goto done;
	} else
		secret_mask_exact(&masked, text, s->held_text.len);
	if (masked.len == s->held_text.len && (masked.len == 0 ||
	    memcmp(masked.data, s->held_text.data, masked.len) == 0)) {
		rc = aevent_relay(s->ev, s->held_raw.data, s->held_raw.len);
		goto done;
	}
	if ((o = json_object_new_object()) == NULL ||
	    (d = json_object_new_object()) == NULL)
		goto done;
	json_object_object_add(o, "type",
	    json_object_new_string("content_block_delta"));
	json_object_object_add(o, "index", json_object_new_int64(
	    s->held_index));
	json_object_object_add(o, "delta", d);
	json_object_object_add(d, "type", json_object_new_string(
	    s->held_type));
	json_object_object_add(d, delta_field(s->held_type),
	    json_object_new_string_len(masked.data != NULL ? masked.data : "",
	    (int)masked.len));
	js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (js != NULL && buf_printf(&ev, "event: content_block_delta\n"
	    "data: %s\n\n", js) == 0)
		rc = aevent_relay(s->ev, ev.data, ev.len);
done:
	json_object_put(o);
	buf_free(&masked);
	buf_free(&ev);
	buf_reset(&s->held_raw);
	buf_reset(&s->held_text);
	return rc;
}

/* a delta read: held while a secret may span it and the next */
static int
pass_delta(struct passthru_stream *s, const char *p, size_t len)
{
	if (s->held_raw.len > 0 && (s->held_index != s->delta_index ||
	    s->held_type != s->delta_type) && flush_held(s, 0) == -1)
		return -1;
	if (s->held_raw.len == 0 && !may_begin_secret(s->delta,
	    s->delta_len))
		return aevent_relay(s->ev, p, len);
	/* an empty delta adds nothing to hold: left out, so a run of them
	 * cannot grow the hold without bound */
	if (s->delta_len == 0)
		return 0;
	s->held_index = s->delta_index;
	s->held_type = s->delta_type;
	if (buf_append(&s->held_raw, p, len) == -1 ||
	    buf_append(&s->held_text, s->delta, s->delta_len) == -1)
		return -1;
	if (may_begin_secret(s->held_text.data, s->held_text.len))
		return 0;
	return flush_held(s, 0);
}

/* the upstream's error event, written as ours: its type and words, our
 * request id */
static int
upstream_error(struct passthru_stream *s)
{
	int		 e = jsonscan_member(&s->js, 0, "error");
	const char	*type = errmap_anthropic_type(str_at(s, e, "type", NULL));
	const char	*msg = str_at(s, e, "message", NULL);
	struct buf	 text = BUF_INITIALIZER;
	int		 rc;

	if (flush_held(s, 1) == -1)
		return -1;
	s->failed = 1;
	s->replaced = 1;
	/* a type of Anthropic's, or api_error: the upstream's string is not
	 * written unchecked; its words masked whole, then cut */
	errmap_upstream_words(&text, msg != NULL ? msg :
	    "the upstream stream failed", 512);
	rc = aevent_error(s->ev, type != NULL ? type : "api_error",
	    text.data != NULL ? text.data : "", s->request_id);
	buf_free(&text);
	return rc;
}

/* one event the decoder read from the whole event s->raw */
static int
on_event(void *arg, const char *event, size_t elen, const char *data,
    size_t len)
{
	struct passthru_stream *s = arg;
	struct jsonlex_err	 jerr;
	const char		*type, *stop;
	char			 name[64];
	int			 v;
	int64_t			 n;

	s->events++;
	if (jsonscan(&s->js, data, len, JSON_MAX_DEPTH, 1, &jerr) == -1)
		return bad(s, "sent an event that is not JSON", jerr.what !=
		    NULL ? jerr.what : "cut short");
	if ((type = str_at(s, 0, "type", NULL)) == NULL) {
		snprintf(name, sizeof(name), "%.*s", (int)(elen < 63 ? elen :
		    63), event);
		type = name;
	}
	if (strcmp(type, "message_start") == 0) {
		s->ev->started = 1;
		v = jsonscan_member(&s->js, 0, "message");
		note_usage(s, jsonscan_member(&s->js, v, "usage"), 0);
		s->ev->input_estimate = s->ev->sum.input;
	} else if (strcmp(type, "content_block_start") == 0) {
		v = jsonscan_member(&s->js, 0, "content_block");
		if ((type = str_at(s, v, "type", NULL)) != NULL &&
		    strcmp(type, "tool_use") == 0)
			s->tool_calls++;
	} else if (strcmp(type, "content_block_delta") == 0) {
		if ((n = count_at(s, 0, "index")) < 0)
			n = -1;
		note_delta(s, jsonscan_member(&s->js, 0, "delta"), n);
	}
	else if (strcmp(type, "message_delta") == 0) {
		v = jsonscan_member(&s->js, 0, "delta");
		if ((stop = str_at(s, v, "stop_reason", NULL)) != NULL)
			snprintf(s->stop_reason, sizeof(s->stop_reason), "%s",
			    stop);
		note_usage(s, jsonscan_member(&s->js, 0, "usage"), 1);
		s->ev->ends = 1;
	} else if (strcmp(type, "message_stop") == 0)
		s->stopped = 1;
	else if (strcmp(type, "ping") == 0)
		s->pings++;	/* a keep-alive is not progress (idle timeout) */
	else if (strcmp(type, "error") == 0 && upstream_error(s) == -1)
		return bad(s, "out of memory", NULL);
	return 0;
}

/* a whole event: read, then written as it is unless it was replaced */
static int
one_event(struct passthru_stream *s, const char *p, size_t len)
{
	if (s->stopped || s->failed)
		return 0;	/* nothing follows the end */
	s->replaced = 0;
	s->delta = NULL;
	if (sse_decoder_feed(&s->dec, p, len, on_event, s) == -1) {
		if (s->error[0] == '\0')
			bad(s, "sent an event larger than 8 MiB", NULL);
		return -1;
	}
	if (s->replaced)
		return 0;
	if (s->delta != NULL) {
		if (pass_delta(s, p, len) == -1)
			return bad(s, "out of memory", NULL);
		return 0;
	}
	if (flush_held(s, 0) == -1 || aevent_relay(s->ev, p, len) == -1)
		return bad(s, "out of memory", NULL);
	return 0;
}

/* the end of the first whole event in pending from scanned on, 0 when
 * it has not come yet; the line state carries over between reads */
static size_t
event_end(struct passthru_stream *s)
{
	const char	*p = s->pending.data;
	size_t		 i;
	char		 c;

	for (i = s->scanned; i < s->pending.len; i++) {
		c = p[i];
		if (s->after_cr) {
			s->after_cr = 0;
			if (c == '\n')
				continue;	/* CRLF: one line end */
		}
		if (c != '\r' && c != '\n') {
			s->line_start = 0;
			continue;
		}
		s->after_cr = c == '\r';
		if (s->line_start) {
			s->scanned = 0;
			/* a blank line: the event's end, with the LF of a CRLF
			 * when it has come (else the next event begins with
			 * it, as harmless there as here) */
			if (c == '\r' && i + 1 < s->pending.len && p[i + 1] ==
			    '\n') {
				s->after_cr = 0;
				i++;
			}
			return i + 1;
		}
		s->line_start = 1;
	}
	s->scanned = i;
	return 0;
}

int
passthru_stream_bytes(struct passthru_stream *s, const char *p, size_t len)
{
	size_t	 end, before = s->events - s->pings;

	if (buf_append(&s->pending, p, len) == -1)
		return bad(s, "out of memory", NULL);
	while ((end = event_end(s)) > 0) {
		if (one_event(s, s->pending.data, end) == -1)
			return -1;
		buf_consume(&s->pending, end);
	}
	if (s->pending.len > SSE_MAX_EVENT_BYTES)
		return bad(s, "sent an event larger than 8 MiB", NULL);
	/* the message ended (message_stop or the upstream's error): nothing
	 * of ours (a ping, a timeout's error) may follow it, whatever the
	 * upstream's connection does next */
	if ((s->stopped || s->failed) && !s->finished && !s->after_cr) {
		/* the LF of the last event's CRLF, come in a read of its own:
		 * the upstream's bytes, whole */
		if (!s->failed && s->pending.len > 0 && strspn(s->pending.data,
		    "\r\n") == s->pending.len && aevent_relay(s->ev,
		    s->pending.data, s->pending.len) == -1)
			return bad(s, "out of memory", NULL);
		buf_reset(&s->pending);
		s->finished = 1;
		if (aevent_emit(s->ev, 1) == -1)
			return -1;
	}
	return (int)(s->events - s->pings - before);
}

int
passthru_stream_finish(struct passthru_stream *s)
{
	char	 msg[256];

	if (s->ev->client_gone)
		return -1;
	if (s->finished)
		return 0;
	if (flush_held(s, !s->stopped) == -1)
		return passthru_stream_error(s, "api_error", "out of memory",
		    NULL);
	/* the LF of the last event's CRLF, when it came in a read of its
	 * own: the upstream's bytes, whole */
	if (!s->failed && s->pending.len > 0 && strspn(s->pending.data, "\r\n")
	    == s->pending.len && aevent_relay(s->ev, s->pending.data,
	    s->pending.len) == -1)
		return passthru_stream_error(s, "api_error", "out of memory",
		    NULL);
	if (!s->stopped && !s->failed) {
		snprintf(msg, sizeof(msg), "upstream provider %s ended the "
		    "stream before message_stop", s->provider);
		return passthru_stream_error(s, "api_error", msg, NULL);
	}
	s->finished = 1;
	return aevent_emit(s->ev, 1);
}

int
passthru_stream_error(struct passthru_stream *s, const char *type,
    const char *message, const char *request_id)
{
	if (s->ev->client_gone)
		return -1;
	if (s->finished)
		return 0;
	s->finished = 1;
	/* deltas held back came whole: theirs (but a secret's possible
	 * beginning), then the error */
	(void)flush_held(s, 1);
	/* an error the upstream sent ended the stream already */
	if (s->failed)
		return aevent_emit(s->ev, 1);
	s->failed = 1;
	return aevent_fail(s->ev, type, message,
	    request_id != NULL ? request_id : s->request_id);
}

int
passthru_stream_ping(struct passthru_stream *s)
{
	if (s->ev->client_gone)
		return -1;
	if (s->finished)
		return 0;
	/* only whole events were written: a ping falls between two */
	if (aevent_ping(s->ev) == -1) {
		aevent_emit(s->ev, 0);
		return -1;
	}
	return aevent_emit(s->ev, 0);
}
