/*
 * xlate_resp.c: the upstream's answer, translated back for the client.
 *
 * xlate_resp() turns an OpenAI chat.completion into an Anthropic message:
 * a thinking block (reasoning_content, or OpenRouter's reasoning), a text
 * block, then tool_use blocks in call order; stop_reason, stop_sequence, and
 * usage with cached prompt tokens reported apart from input_tokens. Tool
 * arguments are parsed, never guessed: arguments that are not a JSON object
 * fail the whole answer with a 502 naming the tool. The one exception is an
 * answer the upstream itself says was cut off (finish_reason "length"): the
 * truncated call is dropped with a log line and the message ends with
 * stop_reason "max_tokens", as Anthropic's own would, so the client can ask
 * again with more room instead of retrying a 502 that will not change.
 *
 * For a route (xlate_resp_route): a tool call Gemini signed keeps its
 * thought signature in its tool_use id (gsig.c); with the provider's
 * tool_call_repair, calls the model wrote into its text become tool_use
 * blocks in their place among the text blocks (tcrepair.c), and one
 * beyond repair fails the answer with a 502 naming the tool.
 *
 * Configured secrets in the text, thinking and tool inputs are masked
 * (secret_mask_exact, secret_mask_json for the arguments' JSON text).
 * An answer that carries an error instead of choices is errmap's to word.
 *
 * Failure: xlate_resp() returns NULL and fills the xlate_err (502 for a bad
 * upstream answer, 500 when memory runs out). Nothing here keeps state.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "buf.h"
#include "jsonparse.h"
#include "log.h"
#include "errmap.h"
#include "gsig.h"
#include "tcrepair.h"
#include "secret.h"
#include "tokens.h"
#include "util.h"
#include "xlate.h"

#define ARGS_EXCERPT_MAX 120		/* tool arguments quoted in a message */
#define TOOL_ID_MAX	 96
#define ARGS_DEPTH	 64

/* ---------------------------------------------------------------------
 * Small helpers: json-c access, error filling, UTF-8-safe cuts.
 */

/* the short name this file has always used */
#define jget	 xlate_json_member
#define jstr	 xlate_json_str
#define err_set	 xlate_err_set

void
xlate_err_set(struct xlate_err *err, int status, const char *type,
    const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	err->status = status;
	strlcpy(err->type, type, sizeof(err->type));
	va_start(ap, fmt);
	n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(err->message))
		err->message[util_utf8_cut(err->message, strlen(err->message))] =
		    '\0';
}

static void
err_nomem(struct xlate_err *err)
{
	err_set(err, 500, "api_error", "out of memory");
}

static const char *
bstr(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

json_object *
xlate_json_member(json_object *o, const char *key, json_type type)
{
	json_object	*v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

const char *
xlate_json_str(json_object *o, const char *key)
{
	json_object	*v;

	if ((v = xlate_json_member(o, key, json_type_string)) == NULL)
		return NULL;
	return json_object_get_string(v);
}

int64_t
xlate_json_count(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return -1;
	if (json_object_is_type(v, json_type_int))
		return xlate_count_int(json_object_get_int64(v));
	if (json_object_is_type(v, json_type_double))
		return xlate_count_double(json_object_get_double(v));
	return -1;
}

int64_t
xlate_count_int(int64_t n)
{
	if (n < 0)
		return -1;
	return n > XLATE_COUNT_MAX ? XLATE_COUNT_MAX : n;
}

int64_t
xlate_count_double(double d)
{
	/* 1e400 parses as inf: casting that is undefined */
	if (!isfinite(d) || d < 0)
		return -1;
	return d >= (double)XLATE_COUNT_MAX ? XLATE_COUNT_MAX : (int64_t)d;
}

/* a non-negative integer member, -1 if absent or not a number */
static int64_t
jint(json_object *o, const char *key)
{
	return xlate_json_count(o, key);
}

/* attach v (consumed even on failure); -1 when v is NULL or on ENOMEM.
 * key must be a string literal: json-c keeps the pointer, not a copy */
static int
jset(json_object *o, const char *key, json_object *v)
{
	if (v == NULL)
		return -1;
	if (json_object_object_add_ex(o, key, v,
	    JSON_C_OBJECT_ADD_CONSTANT_KEY) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static int
jadd(json_object *a, json_object *v)
{
	if (v == NULL)
		return -1;
	if (json_object_array_add(a, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static json_object *
block_new(const char *type)
{
	json_object	*b;

	if ((b = json_object_new_object()) == NULL)
		return NULL;
	if (jset(b, "type", json_object_new_string(type)) == -1) {
		json_object_put(b);
		return NULL;
	}
	return b;
}

/* ---------------------------------------------------------------------
 * Response side.
 */

const char *
xlate_stop_reason(const char *finish_reason)
{
	static const struct {
		const char	*finish;
		const char	*stop;
	} map[] = {
		{ "stop",		"end_turn" },
		{ "eos",		"end_turn" },
		{ "length",		"max_tokens" },
		{ "max_tokens",		"max_tokens" },
		{ "tool_calls",		"tool_use" },
		{ "function_call",	"tool_use" },
		{ "content_filter",	"refusal" },
	};
	size_t	 i;

	if (finish_reason == NULL)
		return "end_turn";
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(finish_reason, map[i].finish) == 0)
			return map[i].stop;
	return "end_turn";
}

void
xlate_tool_id(char *out, size_t outsz, const char *id)
{
	size_t		 i;
	unsigned char	 c;

	if (outsz == 0)
		return;
	if (id == NULL || *id == '\0' || outsz == 1) {
		util_random_id(out, outsz, "toolu_", 24);
		return;
	}
	for (i = 0; id[i] != '\0' && i < outsz - 1; i++) {
		c = (unsigned char)id[i];
		out[i] = isalnum(c) || c == '_' || c == '-' ? (char)c : '_';
	}
	out[i] = '\0';
}

/* Anthropic wants tool_use ids unique within a message; some upstreams
 * repeat them (or send none), which would cross the tool results. */
static void
tool_id_unique(char *out, size_t outsz, const char *id, json_object *content)
{
	size_t		 i, n = json_object_array_length(content);
	const char	*seen;

	xlate_tool_id(out, outsz, id);
	for (i = 0; i < n; i++) {
		seen = jstr(json_object_array_get_idx(content, i), "id");
		if (seen != NULL && strcmp(seen, out) == 0) {
			util_random_id(out, outsz, "toolu_", 24);
			return;
		}
	}
}

static int
args_error(const char *name, const char *what, const char *args, size_t len,
    struct xlate_err *err)
{
	struct buf	 ex = BUF_INITIALIZER, clean = BUF_INITIALIZER;

	/* masked before the cut: no key is quoted in part */
	secret_mask(&clean, args, len);
	util_excerpt(&ex, bstr(&clean), clean.len, 0, ARGS_EXCERPT_MAX);
	err_set(err, 502, "api_error", "upstream returned invalid JSON "
	    "arguments for tool call \"%s\": %s (arguments: %s)",
	    name, what, bstr(&ex));
	buf_free(&clean);
	buf_free(&ex);
	return -1;
}

/* the arguments string -> a new JSON object; "" means no arguments */
static int
args_parse(const char *name, const char *s, size_t len, json_object **out,
    struct xlate_err *err)
{
	static const struct jsonparse_opts args_opts = { ARGS_DEPTH, 1, NULL };
	struct jsonlex_err	 perr;
	struct json_tokener	*tok;
	enum json_tokener_error	 jerr;
	json_object		*v;
	char			 what[96];
	size_t			 i, end;

	if (jsonparse_skip_ws(s, len, 0) == len) {
		*out = json_object_new_object();
		return *out == NULL ? -1 : 0;
	}
	if (len > INT32_MAX - 1)
		return args_error(name, "too long", s, len, err);
	/* the fast strict parser first; what it refuses goes to json-c,
	 * whose leniency (and error messages) models have come to rely on */
	v = jsonparse_whole(s, len, &args_opts, &perr);
	if (perr.what == NULL && json_object_is_type(v, json_type_object)) {
		*out = v;
		return 0;
	}
	json_object_put(v);
	if ((tok = json_tokener_new_ex(ARGS_DEPTH)) == NULL)
		return -1;
	/* len + 1 takes the NUL too: it ends a number or a literal */
	v = json_tokener_parse_ex(tok, s, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	if ((end = json_tokener_get_parse_end(tok)) > len)
		end = len;			/* the NUL we added */
	json_tokener_free(tok);
	if (v == NULL && jerr == json_tokener_success)
		return args_error(name, "expected a JSON object, got null",
		    s, len, err);
	if (v == NULL) {
		snprintf(what, sizeof(what), "%s at offset %zu",
		    json_tokener_error_desc(jerr), end);
		return args_error(name, what, s, len, err);
	}
	if ((i = jsonparse_skip_ws(s, len, end)) < len) {
		json_object_put(v);
		snprintf(what, sizeof(what), "unexpected text after the JSON "
		    "value at offset %zu", i);
		return args_error(name, what, s, len, err);
	}
	if (!json_object_is_type(v, json_type_object)) {
		snprintf(what, sizeof(what), "expected a JSON object, got %s",
		    json_type_to_name(json_object_get_type(v)));
		json_object_put(v);
		return args_error(name, what, s, len, err);
	}
	*out = v;
	return 0;
}

/* function.arguments -> a new object, or -1 with err filled (or -1 with
 * err->status 0 when memory ran out) */
static int
tool_input(json_object *fn, const char *name, json_object **out,
    struct xlate_err *err)
{
	json_object	*args;
	struct buf	 masked = BUF_INITIALIZER;
	const char	*s;
	size_t		 len;
	int		 rc;

	*out = NULL;
	err->status = 0;
	if (!json_object_object_get_ex(fn, "arguments", &args) || args == NULL)
		return (*out = json_object_new_object()) == NULL ? -1 : 0;
	if (json_object_is_type(args, json_type_string)) {
		s = json_object_get_string(args);
		len = (size_t)json_object_get_string_len(args);
	} else if (json_object_is_type(args, json_type_object)) {
		/* a few upstreams send the object itself: shared, not copied
		 * (json-c cannot deep-copy jsonparse's kept source text) */
		if (secret_longest() == 0) {
			*out = json_object_get(args);
			return 0;
		}
		if ((s = json_object_to_json_string_length(args,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		    &len)) == NULL)
			return -1;
	} else
		return args_error(name, "expected a JSON object",
		    json_object_to_json_string(args),
		    strlen(json_object_to_json_string(args)), err);
	if (secret_longest() == 0)
		return args_parse(name, s, len, out, err);
	/* a model may echo a configured key into a call (one it read in a
	 * file or an error), as into its text: masked before it is parsed,
	 * in every form the text may hold it */
	secret_mask_json(&masked, s, len);
	if (masked.data == NULL && len > 0)
		return -1;
	rc = args_parse(name, masked.data != NULL ? masked.data : "",
	    masked.len, out, err);
	buf_free(&masked);
	return rc;
}

/* the name is the upstream's: masked and escaped like any of its text */
static void
log_dropped_call(const char *name, const char *why)
{
	struct buf	 n = BUF_INITIALIZER;

	secret_log_excerpt(&n, name, strlen(name), 64);
	log_warnx("dropping tool call \"%s\" cut off at max_tokens: %s",
	    bstr(&n), why);
	buf_free(&n);
}

/* one function call -> a tool_use block: 1 added, 0 dropped, -1 error */
int
xlate_tool_block(json_object *content, const char *id, json_object *fn,
    int truncated, struct xlate_err *err)
{
	const char	*name = jstr(fn, "name");
	json_object	*input, *b;
	char		 tidbuf[TOOL_ID_MAX], *tid = tidbuf;
	size_t		 tidsz = sizeof(tidbuf);
	int		 rc = -1;

	if (name == NULL || *name == '\0') {
		err_set(err, 502, "api_error",
		    "upstream returned a tool call without a function name");
		return -1;
	}
	if (tool_input(fn, name, &input, err) == -1) {
		if (err->status == 0) {
			err_nomem(err);
			return -1;
		}
		if (!truncated)
			return -1;
		log_dropped_call(name, err->message);
		return 0;
	}
	/* an id carrying a thought signature (gsig.c) is kept whole */
	if (id != NULL && strncmp(id, GSIG_PREFIX, sizeof(GSIG_PREFIX) - 1) ==
	    0 && strlen(id) >= tidsz) {
		tidsz = strlen(id) + 1;
		if ((tid = malloc(tidsz)) == NULL) {
			json_object_put(input);
			err_nomem(err);
			return -1;
		}
	}
	tool_id_unique(tid, tidsz, id, content);
	if ((b = block_new("tool_use")) == NULL ||
	    jset(b, "id", json_object_new_string(tid)) == -1 ||
	    jset(b, "name", json_object_new_string(name)) == -1) {
		json_object_put(b);
		json_object_put(input);
		err_nomem(err);
		goto done;
	}
	if (jset(b, "input", input) == -1 || jadd(content, b) == -1) {
		err_nomem(err);
		goto done;
	}
	rc = 1;
done:
	if (tid != tidbuf)
		free(tid);
	return rc;
}

/* the id the client gets for a call: the upstream's, with its thought
 * signature inside when it gave one and key says whose it is (gsig.c) */
static int
tool_wire_id(json_object *call, const char *key, struct buf *out)
{
	const char	*sig;
	char		 tid[TOOL_ID_MAX];
	size_t		 len;

	if (key == NULL || (sig = gsig_of_call(call, &len)) == NULL)
		return 0;
	xlate_tool_id(tid, sizeof(tid), jstr(call, "id"));
	return gsig_id_encode(out, key, tid, sig, len);
}

/* tool_calls (or the legacy function_call) -> blocks; count or -1 */
static int
resp_tools(json_object *msg, int truncated, const char *key,
    json_object *content, struct xlate_err *err)
{
	struct buf	 wire = BUF_INITIALIZER;
	json_object	*calls, *call, *fn;
	const char	*id;
	size_t		 i, n;
	int		 added = 0, r;

	if ((calls = jget(msg, "tool_calls", json_type_array)) == NULL) {
		if ((fn = jget(msg, "function_call", json_type_object)) == NULL)
			return 0;
		return xlate_tool_block(content, NULL, fn, truncated, err);
	}
	n = json_object_array_length(calls);
	for (i = 0; i < n; i++) {
		call = json_object_array_get_idx(calls, i);
		/* only function calls exist in Chat Completions today */
		if ((fn = jget(call, "function", json_type_object)) == NULL)
			continue;
		buf_reset(&wire);
		if ((r = tool_wire_id(call, key, &wire)) == -1) {
			buf_free(&wire);
			err_nomem(err);
			return -1;
		}
		id = r == 1 ? wire.data : jstr(call, "id");
		if ((r = xlate_tool_block(content, id, fn, truncated,
		    err)) == -1) {
			buf_free(&wire);
			return -1;
		}
		added += r;
	}
	buf_free(&wire);
	return added;
}

void
xlate_signature(char *out, size_t outsz)
{
	util_random_id(out, outsz, "cpsig_", 32);
}

/* a string of answer text with every configured secret masked: an
 * upstream may echo one into the answer (gateways that report their own
 * errors as text). Only the exact match: a model's words may hold commit
 * hashes and example keys the heuristics would take for credentials. */
json_object *
xlate_answer_string(const char *s, size_t len)
{
	struct buf	 m = BUF_INITIALIZER;
	json_object	*o;

	secret_mask_exact(&m, s, len);
	if (m.data == NULL && len > 0)
		return NULL;
	o = json_object_new_string_len(m.data != NULL ? m.data : "",
	    (int)m.len);
	buf_free(&m);
	return o;
}

static int
resp_thinking(json_object *msg, json_object *content)
{
	const char	*r;
	char		 sig[XLATE_SIG_SIZE];
	json_object	*b;

	if ((r = jstr(msg, "reasoning_content")) == NULL || *r == '\0')
		r = jstr(msg, "reasoning");		/* OpenRouter */
	if (r == NULL || *r == '\0')
		return 0;
	/* Clients must echo a signature back but never read it; ours is
	 * opaque, and xlate_req ignores it on the way in. */
	xlate_signature(sig, sizeof(sig));
	if ((b = block_new("thinking")) == NULL ||
	    jset(b, "thinking", xlate_answer_string(r, strlen(r))) == -1 ||
	    jset(b, "signature", json_object_new_string(sig)) == -1) {
		json_object_put(b);
		return -1;
	}
	return jadd(content, b);
}

/* content: a string or an array of parts whose text parts are joined */
static void
text_gather(json_object *c, struct buf *text)
{
	json_object	*part;
	const char	*type, *t;
	size_t		 i, n;

	if (c == NULL)
		return;
	if (json_object_is_type(c, json_type_string)) {
		buf_append(text, json_object_get_string(c),
		    (size_t)json_object_get_string_len(c));
		return;
	}
	if (!json_object_is_type(c, json_type_array))
		return;
	n = json_object_array_length(c);
	for (i = 0; i < n; i++) {
		part = json_object_array_get_idx(c, i);
		type = jstr(part, "type");
		if (type != NULL && strcmp(type, "text") != 0 &&
		    strcmp(type, "output_text") != 0)
			continue;
		if ((t = jstr(part, "text")) != NULL)
			buf_puts(text, t);
	}
}

/* a text block of t, if any (t emptied) */
static int
text_block(json_object *content, struct buf *t)
{
	json_object	*b;

	if (t->len == 0)
		return 0;
	if ((b = block_new("text")) == NULL ||
	    jset(b, "text", xlate_answer_string(t->data, t->len)) == -1) {
		json_object_put(b);
		return -1;
	}
	buf_reset(t);
	return jadd(content, b);
}

/* tool calls written as text (tcrepair.c): its text and calls as blocks */
struct repair_out {
	json_object		*content;
	struct buf		 text;
	struct xlate_err	*err;
	int			 calls;
};

static int
repair_text(void *arg, const char *p, size_t len)
{
	struct repair_out	*o = arg;

	return buf_append(&o->text, p, len);
}

static int
repair_call(void *arg, const char *name, json_object *input)
{
	struct repair_out	*o = arg;
	json_object		*fn;
	int			 r;

	if (text_block(o->content, &o->text) == -1 ||
	    (fn = json_object_new_object()) == NULL)
		return -1;
	if (jset(fn, "name", json_object_new_string(name)) == -1 ||
	    jset(fn, "arguments", json_object_get(input)) == -1) {
		json_object_put(fn);
		return -1;
	}
	r = xlate_tool_block(o->content, NULL, fn, 0, o->err);
	json_object_put(fn);
	if (r == 1)
		o->calls++;
	return r == 1 ? 0 : -1;
}

/* text with calls written into it: text and tool_use blocks; the count of
 * calls, or -1 with err filled */
static int
repair_blocks(json_object *tools, struct buf *text, int truncated,
    json_object *content, struct xlate_err *err)
{
	struct repair_out	 o = { content, BUF_INITIALIZER, err, 0 };
	struct tcrepair_sink	 k = { repair_text, repair_call, &o };
	struct tcrepair		 r;
	int			 rc;

	err->status = 0;
	tcrepair_init(&r, tools);
	rc = tcrepair_feed(&r, text->data, text->len, &k);
	if (rc == 0)
		rc = tcrepair_end(&r, truncated, &k);
	if (rc == 0)
		rc = text_block(content, &o.text);
	if (rc == -1 && r.error[0] != '\0')
		err_set(err, 502, "api_error", "%s", r.error);
	else if (rc == -1 && err->status == 0)
		err_nomem(err);
	tcrepair_free(&r);
	buf_free(&o.text);
	return rc == -1 ? -1 : o.calls;
}

/* the text block; *refusal set when the text is the model's refusal;
 * with tools (tool_call_repair on), calls written as text become tool_use
 * blocks, counted in *repaired */
static int
resp_text(json_object *choice, json_object *msg, json_object *content,
    int *refusal, json_object *tools, int truncated, int *repaired,
    struct xlate_err *err)
{
	struct buf	 text = BUF_INITIALIZER;
	json_object	*v = NULL, *b;
	const char	*r;
	int		 rc = 0;

	*refusal = 0;
	if (msg != NULL)
		json_object_object_get_ex(msg, "content", &v);
	else
		v = jget(choice, "text", json_type_string); /* completions */
	text_gather(v, &text);
	if (text.len == 0 && (r = jstr(msg, "refusal")) != NULL && *r != '\0') {
		buf_puts(&text, r);
		*refusal = 1;
	}
	if (tools != NULL && !*refusal && text.len > 0) {
		*repaired = repair_blocks(tools, &text, truncated, content,
		    err);
		buf_free(&text);
		return *repaired == -1 ? -2 : 0;
	}
	if (text.len > 0) {
		if ((b = block_new("text")) == NULL ||
		    jset(b, "text", xlate_answer_string(text.data, text.len)) == -1) {
			json_object_put(b);
			rc = -1;
		} else
			rc = jadd(content, b);
	}
	buf_free(&text);
	return rc;
}

static const char *
resp_stop(json_object *choice, int ntools, int refusal, const char **seq)
{
	const char	*finish = jstr(choice, "finish_reason");
	const char	*stop = xlate_stop_reason(finish), *s;

	*seq = NULL;
	if (refusal)
		return "refusal";
	/* some upstreams say "stop" although they called tools */
	if (ntools > 0 && strcmp(stop, "end_turn") == 0)
		return "tool_use";
	/* an agent loop would wait forever for tools that are not there */
	if (ntools == 0 && strcmp(stop, "tool_use") == 0)
		return "end_turn";
	if (finish != NULL && strcmp(finish, "stop") == 0) {
		/* vLLM: stop_reason; SGLang: matched_stop (a token id when
		 * an integer, which is no stop sequence of the client's) */
		if ((s = jstr(choice, "stop_reason")) == NULL)
			s = jstr(choice, "matched_stop");
		if (s != NULL && *s != '\0') {
			*seq = s;
			return "stop_sequence";
		}
	}
	return stop;
}

/* the bytes of what the model wrote: text, thinking, tool inputs */
size_t
xlate_output_bytes(json_object *content)
{
	json_object	*b, *v;
	const char	*s;
	size_t		 i, n = json_object_array_length(content), bytes = 0;

	for (i = 0; i < n; i++) {
		b = json_object_array_get_idx(content, i);
		if ((v = jget(b, "text", json_type_string)) != NULL ||
		    (v = jget(b, "thinking", json_type_string)) != NULL)
			bytes += (size_t)json_object_get_string_len(v);
		else if ((v = jget(b, "input", json_type_object)) != NULL &&
		    (s = json_object_to_json_string_ext(v,
		    JSON_C_TO_STRING_PLAIN)) != NULL)
			bytes += strlen(s);
	}
	return bytes;
}

/*
 * usage; an upstream that reports none gets the estimate a stream without
 * usage gets: the request's local estimate in, a token per four bytes of
 * output out (stream.c), never zeros a client would take for real
 */
static json_object *
resp_usage(json_object *resp, json_object *content, json_object *req)
{
	json_object	*u = jget(resp, "usage", json_type_object), *out;
	int64_t		 prompt, completion, cached;

	prompt = jint(u, "prompt_tokens");
	completion = jint(u, "completion_tokens");
	cached = jint(jget(u, "prompt_tokens_details", json_type_object),
	    "cached_tokens");
	if (cached <= 0)
		cached = jint(u, "prompt_cache_hit_tokens");	/* DeepSeek */
	if (u == NULL) {
		prompt = req != NULL ? tokens_estimate_request(req) : 0;
		completion = (int64_t)(xlate_output_bytes(content) + 3) / 4;
	}
	if (prompt < 0)
		prompt = 0;
	if (completion < 0)
		completion = 0;
	if (cached < 0)
		cached = 0;
	if (cached > prompt)
		cached = prompt;
	if ((out = json_object_new_object()) == NULL)
		return NULL;
	if (jset(out, "input_tokens", json_object_new_int64(prompt - cached))
	    == -1 ||
	    jset(out, "cache_creation_input_tokens", json_object_new_int64(0))
	    == -1 ||
	    jset(out, "cache_read_input_tokens", json_object_new_int64(cached))
	    == -1 ||
	    jset(out, "output_tokens", json_object_new_int64(completion))
	    == -1) {
		json_object_put(out);
		return NULL;
	}
	return out;
}

json_object *
xlate_message(json_object *content, const char *model, const char *stop,
    const char *seq, json_object *usage)
{
	json_object	*m, *s = NULL;
	char		 id[40];

	util_random_id(id, sizeof(id), "msg_", 24);
	if ((m = json_object_new_object()) == NULL ||
	    jset(m, "id", json_object_new_string(id)) == -1 ||
	    jset(m, "type", json_object_new_string("message")) == -1 ||
	    jset(m, "role", json_object_new_string("assistant")) == -1 ||
	    jset(m, "model", json_object_new_string(model)) == -1) {
		json_object_put(m);
		json_object_put(content);
		json_object_put(usage);
		return NULL;
	}
	if (jset(m, "content", content) == -1) {
		json_object_put(m);
		json_object_put(usage);
		return NULL;
	}
	if (jset(m, "stop_reason", json_object_new_string(stop)) == -1 ||
	    (seq != NULL && (s = json_object_new_string(seq)) == NULL) ||
	    json_object_object_add(m, "stop_sequence", s) != 0) {
		json_object_put(s);
		json_object_put(m);
		json_object_put(usage);
		return NULL;
	}
	if (jset(m, "usage", usage) == -1) {
		json_object_put(m);
		return NULL;
	}
	return m;
}

/* choices[0], or NULL */
static json_object *
resp_choice(json_object *resp)
{
	json_object	*choices, *choice;

	if ((choices = jget(resp, "choices", json_type_array)) == NULL ||
	    json_object_array_length(choices) == 0)
		return NULL;
	choice = json_object_array_get_idx(choices, 0);
	return json_object_is_type(choice, json_type_object) ? choice : NULL;
}

json_object *
xlate_resp(json_object *resp, const char *client_model, json_object *req,
    struct xlate_err *err)
{
	return xlate_resp_route(resp, client_model, req, NULL, err);
}

json_object *
xlate_resp_route(json_object *resp, const char *client_model,
    json_object *req, const struct model_route *route, struct xlate_err *err)
{
	json_object	*choice, *msg, *content, *usage, *out;
	const char	*stop, *seq, *model;
	char		 key[GSIG_KEY_SIZE];
	json_object	*tools = NULL;
	int		 ntools, refusal, truncated, repaired = 0, rc;

	if (errmap_answer(resp, err) == -1)
		return NULL;
	if ((choice = resp_choice(resp)) == NULL) {
		err_set(err, 502, "api_error", "upstream returned no choices");
		return NULL;
	}
	msg = jget(choice, "message", json_type_object);
	if (msg == NULL && jget(choice, "text", json_type_string) == NULL) {
		err_set(err, 502, "api_error",
		    "upstream returned a choice without a message");
		return NULL;
	}
	truncated = strcmp(xlate_stop_reason(jstr(choice, "finish_reason")),
	    "max_tokens") == 0;
	if ((content = json_object_new_array()) == NULL)
		goto nomem;
	/* tool_call_repair: the request's tools are the names a call
	 * written as text may have */
	if (route != NULL && route->provider->tool_call_repair &&
	    (tools = jget(req, "tools", json_type_array)) == NULL)
		tools = json_object_new_array();
	else if (tools != NULL)
		json_object_get(tools);
	if (resp_thinking(msg, content) == -1 ||
	    (rc = resp_text(choice, msg, content, &refusal, tools, truncated,
	    &repaired, err)) == -1) {
		json_object_put(tools);
		json_object_put(content);
		goto nomem;
	}
	json_object_put(tools);
	if (rc == -2) {
		json_object_put(content);
		return NULL;
	}
	if (route != NULL)
		gsig_key(route, key);
	if ((ntools = resp_tools(msg, truncated, route != NULL ? key : NULL,
	    content, err)) == -1) {
		json_object_put(content);
		return NULL;
	}
	stop = resp_stop(choice, ntools + repaired, refusal, &seq);
	if ((model = client_model) == NULL && (model = jstr(resp, "model")) ==
	    NULL)
		model = "";
	if ((usage = resp_usage(resp, content, req)) == NULL) {
		json_object_put(content);
		goto nomem;
	}
	if ((out = xlate_message(content, model, stop, seq, usage)) == NULL)
		goto nomem;
	return out;
 nomem:
	err_nomem(err);
	return NULL;
}
