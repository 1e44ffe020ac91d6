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
 * xlate_upstream_error() turns an upstream non-2xx answer (JSON in any of the
 * usual shapes, or plain text or HTML) into the client's status, Anthropic
 * error type and a one-line message. Context-window overflows become
 * Anthropic's own wording, so Claude Code shrinks max_tokens or compacts; an
 * upstream that refuses the proxy's key is the proxy's configuration
 * problem (502), never the client's 401. Messages are bounded (struct
 * xlate_err), single-line, UTF-8-safe, and scrubbed of anything that looks
 * like a credential.
 *
 * Failure: xlate_resp() returns NULL and fills the xlate_err (502 for a bad
 * upstream answer, 500 when memory runs out). Nothing here keeps state.
 */
#include <ctype.h>
#include <inttypes.h>
#include <regex.h>
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
#include "util.h"
#include "xlate.h"

#define EXCERPT_MAX	 300		/* upstream words quoted in a message */
#define ARGS_EXCERPT_MAX 120		/* tool arguments quoted in a message */
#define ERRBODY_JSON_MAX (1024 * 1024)	/* larger error bodies are not parsed */
#define ERRTEXT_MAX	 8192		/* upstream text examined at all */
#define TOOL_ID_MAX	 96
#define ARGS_DEPTH	 64
#define TOKENS_MAX	 10000000000LL	/* larger "token counts" are noise */

/* ---------------------------------------------------------------------
 * Small helpers: json-c access, error filling, UTF-8-safe cuts.
 */

static void	 err_set(struct xlate_err *, int, const char *,
		    const char *, ...) __attribute__((format(printf, 4, 5)));

/* the length of s[0..len) without a trailing incomplete UTF-8 sequence */
static size_t
utf8_cut(const char *s, size_t len)
{
	size_t		 i = len, need;
	unsigned char	 c;

	while (i > 0 && len - i < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0 || (c = (unsigned char)s[i - 1]) < 0xc0)
		return len;
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	return len - (i - 1) >= need ? len : i - 1;
}

static void
err_set(struct xlate_err *err, int status, const char *type,
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
		err->message[utf8_cut(err->message, strlen(err->message))] =
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

static json_object *
jget(json_object *o, const char *key, json_type type)
{
	json_object	*v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

static const char *
jstr(json_object *o, const char *key)
{
	json_object	*v;

	if ((v = jget(o, key, json_type_string)) == NULL)
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

/*
 * One line of someone else's text for a message: whitespace runs become one
 * space, other control characters vanish, HTML tags are skipped, at most max
 * bytes (cut on a UTF-8 boundary, "..." marks the cut).
 */
static void
excerpt(struct buf *out, const char *s, size_t len, int html, size_t max)
{
	size_t		 i, start = out->len;
	int		 space = 0, intag = 0, cut = 0;
	unsigned char	 c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (html && (c == '<' || intag)) {
			intag = c != '>';
			space = 1;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			space = 1;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			continue;
		if (out->len - start + space + 1 > max) {
			cut = 1;
			break;
		}
		if (space && out->len > start)
			buf_putc(out, ' ');
		space = 0;
		buf_putc(out, (char)c);
	}
	if (cut && out->data != NULL) {
		out->len = start + utf8_cut(out->data + start,
		    out->len - start);
		out->data[out->len] = '\0';
		buf_puts(out, "...");
	}
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
	struct buf	 ex = BUF_INITIALIZER;

	excerpt(&ex, args, len, 0, ARGS_EXCERPT_MAX);
	err_set(err, 502, "api_error", "upstream returned invalid JSON "
	    "arguments for tool call \"%s\": %s (arguments: %s)",
	    name, what, bstr(&ex));
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

	for (i = 0; i < len && isspace((unsigned char)s[i]); i++)
		;
	if (i == len) {
		*out = json_object_new_object();
		return *out == NULL ? -1 : 0;
	}
	if (len > INT32_MAX - 1)
		return args_error(name, "too long", s, len, err);
	/* the fast strict parser first; what it refuses goes to json-c,
	 * whose leniency (and error messages) models have come to rely on */
	v = jsonparse(s, len, &args_opts, &end, &perr);
	for (i = end; perr.what == NULL && i < len &&
	    isspace((unsigned char)s[i]); i++)
		;
	if (perr.what == NULL && i == len &&
	    json_object_is_type(v, json_type_object)) {
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
	for (i = end; i < len && isspace((unsigned char)s[i]); i++)
		;
	if (i < len) {
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

	*out = NULL;
	err->status = 0;
	if (!json_object_object_get_ex(fn, "arguments", &args) || args == NULL)
		return (*out = json_object_new_object()) == NULL ? -1 : 0;
	if (json_object_is_type(args, json_type_string))
		return args_parse(name, json_object_get_string(args),
		    (size_t)json_object_get_string_len(args), out, err);
	if (json_object_is_type(args, json_type_object)) {
		/* a few upstreams send the object itself: shared, not copied
		 * (json-c cannot deep-copy jsonparse's kept source text) */
		*out = json_object_get(args);
		return 0;
	}
	return args_error(name, "expected a JSON object",
	    json_object_to_json_string(args),
	    strlen(json_object_to_json_string(args)), err);
}

/* one function call -> a tool_use block: 1 added, 0 dropped, -1 error */
static int
tool_block(json_object *content, const char *id, json_object *fn,
    int truncated, struct xlate_err *err)
{
	const char	*name = jstr(fn, "name");
	json_object	*input, *b;
	char		 tid[TOOL_ID_MAX];

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
		log_warnx("dropping tool call \"%s\" cut off at max_tokens: %s",
		    name, err->message);
		return 0;
	}
	tool_id_unique(tid, sizeof(tid), id, content);
	if ((b = block_new("tool_use")) == NULL ||
	    jset(b, "id", json_object_new_string(tid)) == -1 ||
	    jset(b, "name", json_object_new_string(name)) == -1) {
		json_object_put(b);
		json_object_put(input);
		err_nomem(err);
		return -1;
	}
	if (jset(b, "input", input) == -1 || jadd(content, b) == -1) {
		err_nomem(err);
		return -1;
	}
	return 1;
}

/* tool_calls (or the legacy function_call) -> blocks; count or -1 */
static int
resp_tools(json_object *msg, int truncated, json_object *content,
    struct xlate_err *err)
{
	json_object	*calls, *call, *fn;
	size_t		 i, n;
	int		 added = 0, r;

	if ((calls = jget(msg, "tool_calls", json_type_array)) == NULL) {
		if ((fn = jget(msg, "function_call", json_type_object)) == NULL)
			return 0;
		return tool_block(content, NULL, fn, truncated, err);
	}
	n = json_object_array_length(calls);
	for (i = 0; i < n; i++) {
		call = json_object_array_get_idx(calls, i);
		/* only function calls exist in Chat Completions today */
		if ((fn = jget(call, "function", json_type_object)) == NULL)
			continue;
		if ((r = tool_block(content, jstr(call, "id"), fn, truncated,
		    err)) == -1)
			return -1;
		added += r;
	}
	return added;
}

static int
resp_thinking(json_object *msg, json_object *content)
{
	const char	*r;
	char		 sig[40];
	json_object	*b;

	if ((r = jstr(msg, "reasoning_content")) == NULL || *r == '\0')
		r = jstr(msg, "reasoning");		/* OpenRouter */
	if (r == NULL || *r == '\0')
		return 0;
	/* Clients must echo a signature back but never read it; ours is
	 * opaque, and xlate_req ignores it on the way in. */
	util_random_id(sig, sizeof(sig), "cp", 32);
	if ((b = block_new("thinking")) == NULL ||
	    jset(b, "thinking", json_object_new_string(r)) == -1 ||
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

/* the text block; *refusal set when the text is the model's refusal */
static int
resp_text(json_object *choice, json_object *msg, json_object *content,
    int *refusal)
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
	if (text.len > 0) {
		if ((b = block_new("text")) == NULL ||
		    jset(b, "text", json_object_new_string_len(text.data,
		    (int)text.len)) == -1) {
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

static json_object *
resp_usage(json_object *resp)
{
	json_object	*u = jget(resp, "usage", json_type_object), *out;
	int64_t		 prompt, completion, cached;

	prompt = jint(u, "prompt_tokens");
	completion = jint(u, "completion_tokens");
	cached = jint(jget(u, "prompt_tokens_details", json_type_object),
	    "cached_tokens");
	if (cached <= 0)
		cached = jint(u, "prompt_cache_hit_tokens");	/* DeepSeek */
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

static json_object *
resp_message(json_object *content, const char *model, const char *stop,
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

static int	 error_from_body(json_object *, struct xlate_err *);

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
xlate_resp(json_object *resp, const char *client_model, struct xlate_err *err)
{
	json_object	*choice, *msg, *content, *usage, *out;
	const char	*stop, *seq, *model;
	int		 ntools, refusal, truncated;

	if (error_from_body(resp, err) == -1)
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
	if (resp_thinking(msg, content) == -1 ||
	    resp_text(choice, msg, content, &refusal) == -1) {
		json_object_put(content);
		goto nomem;
	}
	if ((ntools = resp_tools(msg, truncated, content, err)) == -1) {
		json_object_put(content);
		return NULL;
	}
	stop = resp_stop(choice, ntools, refusal, &seq);
	if ((model = client_model) == NULL && (model = jstr(resp, "model")) ==
	    NULL)
		model = "";
	if ((usage = resp_usage(resp)) == NULL) {
		json_object_put(content);
		goto nomem;
	}
	if ((out = resp_message(content, model, stop, seq, usage)) == NULL)
		goto nomem;
	return out;
 nomem:
	err_nomem(err);
	return NULL;
}

/* ---------------------------------------------------------------------
 * Error side: what the upstream said.
 */

struct upstream_text {
	struct buf	 msg;		/* the upstream's own words */
	struct buf	 probe;		/* msg + type + code: for detection */
	int64_t		 n_prompt;	/* llama.cpp's own fields, -1 unknown */
	int64_t		 n_ctx;
	int		 html;
};

static void	 ut_from_json(struct upstream_text *, json_object *, int);

/* a JSON text in body[0..len), or NULL (also when the text goes on) */
static json_object *
json_whole(const char *body, size_t len)
{
	struct json_tokener	*tok;
	json_object		*v;
	size_t			 i;

	for (i = 0; i < len && isspace((unsigned char)body[i]); i++)
		;
	if (i == len || len > ERRBODY_JSON_MAX ||
	    (body[i] != '{' && body[i] != '[' && body[i] != '"'))
		return NULL;
	if ((tok = json_tokener_new()) == NULL)
		return NULL;
	v = json_tokener_parse_ex(tok, body, (int)len);
	i = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (v == NULL)
		return NULL;
	for (; i < len && isspace((unsigned char)body[i]); i++)
		;
	if (i < len) {
		json_object_put(v);
		return NULL;
	}
	return v;
}

static void
ut_words(struct buf *b, const char *s)
{
	if (s == NULL || *s == '\0')
		return;
	if (b->len > 0)
		buf_putc(b, ' ');
	buf_puts(b, s);
}

/* a message that is itself a JSON error (a proxy that wrapped another) */
static void
ut_message(struct upstream_text *ut, const char *m, int depth)
{
	json_object	*inner;

	if (depth < 2 && (inner = json_whole(m, strlen(m))) != NULL) {
		if (!json_object_is_type(inner, json_type_string)) {
			ut_from_json(ut, inner, depth + 1);
			json_object_put(inner);
			return;
		}
		json_object_put(inner);
	}
	buf_puts(&ut->msg, m);
}

/* FastAPI's 422: [{"loc":["body","messages",0],"msg":"field required"}] */
static void
ut_detail_list(struct upstream_text *ut, json_object *detail)
{
	json_object	*d, *loc;
	const char	*m;
	size_t		 i, j, n = json_object_array_length(detail);

	for (i = 0; i < n && i < 3; i++) {
		d = json_object_array_get_idx(detail, i);
		if ((m = jstr(d, "msg")) == NULL)
			continue;
		if (ut->msg.len > 0)
			buf_puts(&ut->msg, "; ");
		if ((loc = jget(d, "loc", json_type_array)) != NULL) {
			for (j = 0; j < json_object_array_length(loc); j++)
				buf_printf(&ut->msg, "%s%s", j ? "." : "",
				    json_object_get_string(
				    json_object_array_get_idx(loc, j)));
			buf_puts(&ut->msg, ": ");
		}
		buf_puts(&ut->msg, m);
	}
}

/* {"message","type","code",...}, the inside of "error" or a flat body */
static void
ut_from_object(struct upstream_text *ut, json_object *e, int depth)
{
	json_object	*v, *meta;
	const char	*m, *raw, *pname;

	if ((m = jstr(e, "message")) != NULL || (m = jstr(e, "msg")) != NULL ||
	    (m = jstr(e, "detail")) != NULL || (m = jstr(e, "error")) != NULL)
		ut_message(ut, m, depth);
	else if ((v = jget(e, "detail", json_type_array)) != NULL)
		ut_detail_list(ut, v);
	ut_words(&ut->probe, jstr(e, "type"));
	ut_words(&ut->probe, jstr(e, "code"));
	if (ut->n_prompt < 0)
		ut->n_prompt = jint(e, "n_prompt_tokens");
	if (ut->n_ctx < 0)
		ut->n_ctx = jint(e, "n_ctx");
	/* OpenRouter: "Provider returned error", the real one in raw */
	meta = jget(e, "metadata", json_type_object);
	if ((raw = jstr(meta, "raw")) != NULL && depth < 2) {
		pname = jstr(meta, "provider_name");
		if (pname != NULL)
			buf_printf(&ut->msg, " (%s)", pname);
		buf_puts(&ut->msg, ": ");
		ut_message(ut, raw, depth + 1);
	}
	if (ut->msg.len == 0 && ut->probe.len == 0)
		buf_puts(&ut->msg, json_object_to_json_string_ext(e,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	else if (ut->msg.len == 0)
		buf_puts(&ut->msg, bstr(&ut->probe));
}

static void
ut_from_json(struct upstream_text *ut, json_object *body, int depth)
{
	json_object	*e = NULL;

	/* Gemini's OpenAI endpoint answers errors in an array */
	if (json_object_is_type(body, json_type_array) &&
	    json_object_array_length(body) > 0)
		body = json_object_array_get_idx(body, 0);
	if (json_object_is_type(body, json_type_string)) {
		ut_message(ut, json_object_get_string(body), depth);
		return;
	}
	if (!json_object_is_type(body, json_type_object)) {
		buf_puts(&ut->msg, json_object_to_json_string_ext(body,
		    JSON_C_TO_STRING_PLAIN));
		return;
	}
	if (json_object_object_get_ex(body, "error", &e) &&
	    json_object_is_type(e, json_type_object))
		ut_from_object(ut, e, depth);
	else if (json_object_is_type(e, json_type_string)) {
		ut_message(ut, json_object_get_string(e), depth);
		ut_words(&ut->probe, jstr(body, "type"));
		ut_words(&ut->probe, jstr(body, "code"));
	} else
		ut_from_object(ut, body, depth);
}

static void
ut_init(struct upstream_text *ut)
{
	memset(ut, 0, sizeof(*ut));
	ut->n_prompt = ut->n_ctx = -1;
}

static void
ut_free(struct upstream_text *ut)
{
	buf_free(&ut->msg);
	buf_free(&ut->probe);
}

static void
ut_from_body(struct upstream_text *ut, const char *body, size_t len)
{
	json_object	*v;
	size_t		 i;

	if (body == NULL)
		len = 0;
	if ((v = json_whole(body, len)) != NULL) {
		ut_from_json(ut, v, 0);
		json_object_put(v);
		return;
	}
	if (len > ERRTEXT_MAX)
		len = ERRTEXT_MAX;
	for (i = 0; i < len && isspace((unsigned char)body[i]); i++)
		;
	ut->html = i < len && body[i] == '<';
	buf_append(&ut->msg, body, len);
}

/* ---------------------------------------------------------------------
 * Credentials never travel back to the client. Upstreams echo keys in
 * refusals ("Incorrect API key provided: sk-..."), in headers they quote
 * and in URLs (?key=).
 */

static int
is_tokenc(int c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.' || c == '*';
}

/* a run of token characters at s[i], without a trailing sentence dot */
static size_t
token_run(const char *s, size_t len, size_t i)
{
	size_t	 n;

	for (n = 0; i + n < len && is_tokenc((unsigned char)s[i + n]); n++)
		;
	while (n > 0 && s[i + n - 1] == '.')
		n--;
	return n;
}

/* random-looking: long, letters and digits, one long separator-free part
 * (model names and UUIDs have short parts, keys do not) */
static int
looks_random(const char *s, size_t n)
{
	size_t	 i, part = 0, longest = 0;
	int	 alpha = 0, digit = 0;

	if (n < 32)
		return 0;
	for (i = 0; i < n; i++) {
		if (isalpha((unsigned char)s[i]))
			alpha = 1;
		else if (isdigit((unsigned char)s[i]))
			digit = 1;
		if (isalnum((unsigned char)s[i])) {
			if (++part > longest)
				longest = part;
		} else
			part = 0;
	}
	return alpha && digit && longest >= 24;
}

/* bytes of a secret at s[i] (0: none); *keep of them stay verbatim */
static size_t
secret_at(const char *s, size_t len, size_t i, size_t *keep)
{
	static const char *const markers[] = { "bearer ", "key=", "token=",
	    "api-key:", "api_key:", "apikey:" };
	static const char *const prefixes[] = { "sk-", "sk_", "AIza", "gsk_",
	    "xai-", "nvapi-", "hf_", "pplx-", "ghp_", "github_pat_", "glpat-" };
	size_t	 k, m, j, n;
	int	 boundary = i == 0 || !isalnum((unsigned char)s[i - 1]);

	for (k = 0; k < sizeof(markers) / sizeof(markers[0]); k++) {
		m = strlen(markers[k]);
		if (i + m > len || strncasecmp(s + i, markers[k], m) != 0)
			continue;
		for (j = i + m; j < len && (s[j] == ' ' || s[j] == '"' ||
		    s[j] == '\''); j++)
			;
		for (n = 0; j + n < len && !isspace((unsigned char)s[j + n]) &&
		    strchr("\"',;&)<>", s[j + n]) == NULL; n++)
			;
		if (n > 0) {
			*keep = j - i;
			return j - i + n;
		}
	}
	if (!boundary || !is_tokenc((unsigned char)s[i]))
		return 0;
	n = token_run(s, len, i);
	for (k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++) {
		m = strlen(prefixes[k]);
		if (n >= m + 8 && strncmp(s + i, prefixes[k], m) == 0) {
			*keep = m;
			return n;
		}
	}
	*keep = 0;
	return looks_random(s + i, n) ? n : 0;
}

void
xlate_redact(struct buf *out, const char *s, size_t len)
{
	size_t	 i = 0, n, keep;

	while (i < len) {
		if ((n = secret_at(s, len, i, &keep)) > 0) {
			buf_append(out, s + i, keep);
			buf_puts(out, "***");
			i += n;
		} else
			buf_putc(out, s[i++]);
	}
}

/* ---------------------------------------------------------------------
 * Context-window overflows, rewritten to Anthropic's words.
 *
 * Claude Code acts on two texts only. "input length and `max_tokens`
 * exceed context limit: A + B > C, ..." makes it retry with a max_tokens
 * that fits (it reads A and C; B only needs to be plausible). "prompt is too
 * long: N tokens > M maximum" makes it compact; it matches on the prefix, so
 * the prefix alone still works when the upstream named no numbers.
 *
 * Choices, from most to least known:
 *   A, B, C, A < C   -> the max_tokens form, exactly.
 *   A, C, A >= C     -> "prompt is too long: A tokens > C maximum": the
 *                       input alone does not fit (Anthropic does the same).
 *   A, C, no B       -> the max_tokens form with B = C - A + 1, the least
 *                       max_tokens that overflows: the arithmetic stays true
 *                       and the client's retry uses only A and C.
 *   T (total), C     -> "prompt is too long: T tokens > C maximum".
 *   C only, nothing  -> "prompt is too long: " + a sentence (with C when
 *                       known) + the upstream's words. The max_tokens form
 *                       without all three numbers would be ignored by the
 *                       client; this prefix still triggers compaction, and
 *                       no number is made up.
 */

struct ctx_nums {
	int64_t	 input, output, limit, total;	/* -1 = unknown */
};

/*
 * Matched against the upstream's words lower-cased with whitespace runs
 * collapsed. roles: one letter per group: A input (summed), B output
 * (summed), C limit, T total, L a "(X in the messages, Y in the
 * completion)" list, '.' ignored. First match wins: specific before general.
 */
static const struct ctx_pattern {
	const char	*re;
	const char	*roles;
} ctx_patterns[] = {
	/* Anthropic-compatible upstreams */
	{ "exceed context limit: ([0-9]+) \\+ ([0-9]+) > ([0-9]+)", "ABC" },
	{ "prompt is too long: ([0-9]+) tokens > ([0-9]+) maximum", "AC" },
	/* vLLM: max_tokens alone too large for what is left */
	{ "is too large: ([0-9]+)\\. this model's maximum context length is "
	  "([0-9]+) tokens and your request has ([0-9]+) input tokens", "BCA" },
	/* vLLM >= 0.10 */
	{ "maximum context length is ([0-9]+) tokens[.,]? (however,? )?you "
	  "requested ([0-9]+) output tokens and your prompt contains "
	  "(at least )?([0-9]+) input tokens", "C.B.A" },
	/* OpenAI, DeepSeek, older vLLM, OpenRouter */
	{ "maximum context length is ([0-9]+) tokens[.,]? (however,? )?you "
	  "requested (about )?([0-9]+) tokens \\(([^)]*)\\)", "C..TL" },
	{ "maximum context length is ([0-9]+) tokens[.,]? (however,? )?(your "
	  "messages resulted in|your request has|your prompt has) ([0-9]+) "
	  "(input )?tokens", "C..A." },
	{ "maximum context length is ([0-9]+) tokens[.,]? (however,? )?you "
	  "requested (about )?([0-9]+) tokens", "C..T" },
	{ "input tokens exceed the configured limit of ([0-9]+) tokens\\. "
	  "your messages resulted in ([0-9]+) tokens", "CA" },
	/* SGLang */
	{ "maximum context length of ([0-9]+) tokens\\. you requested a total "
	  "of ([0-9]+) tokens: ([0-9]+) tokens from the input messages and "
	  "([0-9]+) tokens for the completion", "CTAB" },
	{ "the input \\(([0-9]+) tokens\\) is longer than the model's context "
	  "length \\(([0-9]+) tokens\\)", "AC" },
	/* vLLM V1 engine */
	{ "prompt \\(length ([0-9]+)\\) is longer than the maximum model "
	  "length of ([0-9]+)", "AC" },
	/* TGI, Together */
	{ "must be <= ([0-9]+)\\. given: ([0-9]+) `inputs` tokens and "
	  "([0-9]+) `max_new_tokens`", "CAB" },
	/* Mistral */
	{ "prompt contains ([0-9]+) tokens( and ([0-9]+) draft tokens)?,? too "
	  "large for model with ([0-9]+) maximum context length", "A.AC" },
	/* Gemini, Copilot, Fireworks, Cerebras */
	{ "input token count \\(([0-9]+)\\) exceeds the maximum number of "
	  "tokens allowed \\(([0-9]+)\\)", "AC" },
	{ "prompt token count of ([0-9]+) exceeds the limit of ([0-9]+)",
	  "AC" },
	{ "prompt is too long: ([0-9]+),? model maximum context length:? "
	  "([0-9]+)", "AC" },
	{ "current length is ([0-9]+) while limit is ([0-9]+)", "TC" },
	/* Qwen (DashScope), Kimi: the limit only */
	{ "range of input length should be \\[1, ?([0-9]+)\\]", "C" },
	{ "exceeded model token limit: ([0-9]+)", "C" },
	{ "maximum context length is ([0-9]+)", "C" },
	{ "context length of ([0-9]+)", "C" },
};

/* words that mark an overflow even when no pattern matches */
static const char *const ctx_words[] = {
	"context length", "context_length", "context window", "context size",
	"context_size", "context limit", "maximum context", "max context",
	"too many tokens", "prompt is too long", "prompt too long",
	"input length", "model token limit", "maximum model length",
	"max_model_len", "input tokens exceed", "input token count",
	"prompt token count", "too large for model", "`inputs` tokens",
	"exceed_context_size",
};

static void
num_add(int64_t *slot, int64_t n)
{
	*slot = *slot < 0 ? n : *slot + n;
}

static int64_t
num_parse(const char *s, size_t len)
{
	int64_t	 n = 0;
	size_t	 i;

	for (i = 0; i < len && isdigit((unsigned char)s[i]); i++) {
		n = n * 10 + (s[i] - '0');
		if (n > TOKENS_MAX)
			return -1;
	}
	return i > 0 ? n : -1;
}

/* "4000 in the messages, 32000 in the completion" (OpenAI), "240000 of
 * text input, 10000 in the output" (OpenRouter), "; "-separated (legacy) */
static void
ctx_list(const char *s, size_t len, struct ctx_nums *n)
{
	size_t	 i = 0, end, j;
	int64_t	 v;
	char	 item[128];

	while (i < len) {
		for (end = i; end < len && s[end] != ',' && s[end] != ';';
		    end++)
			;
		for (j = i; j < end && s[j] == ' '; j++)
			;
		if ((v = num_parse(s + j, end - j)) >= 0) {
			snprintf(item, sizeof(item), "%.*s", (int)(end - j),
			    s + j);
			if (strstr(item, "completion") != NULL ||
			    strstr(item, "output") != NULL)
				num_add(&n->output, v);
			else
				num_add(&n->input, v);
		}
		i = end + 1;
	}
}

static int
ctx_match(const char *text, size_t which, struct ctx_nums *n)
{
	/* compiled once per process: errors are frequent under load */
	static regex_t	 compiled[sizeof(ctx_patterns) /
			    sizeof(ctx_patterns[0])];
	static int	 ready;
	const struct ctx_pattern *p = &ctx_patterns[which];
	regmatch_t	 m[8];
	size_t		 g, i;
	const char	*s;
	int64_t		 v;

	if (!ready) {
		for (i = 0; i < sizeof(compiled) / sizeof(compiled[0]); i++)
			if (regcomp(&compiled[i], ctx_patterns[i].re,
			    REG_EXTENDED) != 0)
				fatalx("bug: bad context pattern %s",
				    ctx_patterns[i].re);
		ready = 1;
	}
	if (regexec(&compiled[which], text, sizeof(m) / sizeof(m[0]), m,
	    0) != 0)
		return 0;
	for (g = 0; p->roles[g] != '\0' && g + 1 < sizeof(m) / sizeof(m[0]);
	    g++) {
		if (m[g + 1].rm_so < 0)
			continue;
		s = text + m[g + 1].rm_so;
		if (p->roles[g] == 'L') {
			ctx_list(s, (size_t)(m[g + 1].rm_eo - m[g + 1].rm_so),
			    n);
			continue;
		}
		if ((v = num_parse(s, (size_t)(m[g + 1].rm_eo -
		    m[g + 1].rm_so))) < 0)
			continue;
		switch (p->roles[g]) {
		case 'A':
			num_add(&n->input, v);
			break;
		case 'B':
			num_add(&n->output, v);
			break;
		case 'C':
			n->limit = v;
			break;
		case 'T':
			n->total = v;
			break;
		}
	}
	return 1;
}

/* lower-case, whitespace runs collapsed: what the patterns expect */
static char *
ctx_normalize(const char *s)
{
	struct buf	 b = BUF_INITIALIZER;
	int		 space = 0;

	for (; *s != '\0'; s++) {
		if (isspace((unsigned char)*s)) {
			space = 1;
			continue;
		}
		if (space && b.len > 0)
			buf_putc(&b, ' ');
		space = 0;
		buf_putc(&b, (char)tolower((unsigned char)*s));
	}
	return buf_steal(&b);
}

/* is it an overflow? numbers found go to n */
static int
ctx_detect(const struct upstream_text *ut, struct ctx_nums *n)
{
	struct buf	 all = BUF_INITIALIZER;
	char		*text;
	size_t		 i;
	int		 found = 0;

	n->input = n->output = n->limit = n->total = -1;
	buf_printf(&all, "%s %s", bstr(&ut->msg), bstr(&ut->probe));
	text = ctx_normalize(bstr(&all));
	buf_free(&all);
	if (text == NULL)
		return 0;
	for (i = 0; !found &&
	    i < sizeof(ctx_patterns) / sizeof(ctx_patterns[0]); i++)
		found = ctx_match(text, i, n);
	for (i = 0; !found && i < sizeof(ctx_words) / sizeof(ctx_words[0]);
	    i++)
		found = strstr(text, ctx_words[i]) != NULL;
	free(text);
	if (n->input < 0)
		n->input = ut->n_prompt;		/* llama.cpp */
	if (n->limit < 0)
		n->limit = ut->n_ctx;
	if (n->input < 0 && n->total >= 0 && n->output >= 0 &&
	    n->total >= n->output)
		n->input = n->total - n->output;
	if (n->output < 0 && n->total >= 0 && n->input >= 0 &&
	    n->total > n->input)
		n->output = n->total - n->input;
	return found;
}

static void
ctx_error(const struct ctx_nums *n, const char *who, const char *words,
    struct xlate_err *err)
{
	const char	*type = "invalid_request_error";
	const char	*sep = *words != '\0' ? ": " : "";
	int64_t		 prompt = n->input >= 0 ? n->input : n->total;

	if (n->limit > 0 && n->input >= 0 && n->input < n->limit)
		err_set(err, 400, type, "input length and `max_tokens` exceed "
		    "context limit: %" PRId64 " + %" PRId64 " > %" PRId64 ", "
		    "decrease input length or `max_tokens` and try again",
		    n->input, n->output >= 0 ? n->output :
		    n->limit - n->input + 1, n->limit);
	else if (n->limit > 0 && prompt >= 0)
		err_set(err, 400, type, "prompt is too long: %" PRId64
		    " tokens > %" PRId64 " maximum", prompt, n->limit);
	else if (n->limit > 0)
		err_set(err, 400, type, "prompt is too long: the request "
		    "exceeds the model's context window of %" PRId64 " tokens "
		    "(%s%s%s)", n->limit, who, sep, words);
	else
		err_set(err, 400, type, "prompt is too long: the request "
		    "exceeds the model's context window (%s%s%s)", who, sep,
		    words);
}

/* ---------------------------------------------------------------------
 * Error side: status mapping.
 */

static const struct status_map {
	long		 upstream;
	int		 status;
	const char	*type;
	const char	*what;
} status_map[] = {
	{ 400, 400, "invalid_request_error", "rejected the request" },
	{ 422, 400, "invalid_request_error", "rejected the request "
	  "(HTTP 422)" },
	/* the client's key was fine: ours was refused */
	{ 401, 502, "api_error", "rejected the proxy's API key (check api_key "
	  "in the proxy configuration)" },
	{ 403, 502, "api_error", "rejected the proxy's API key (check api_key "
	  "in the proxy configuration)" },
	{ 402, 502, "api_error", "refused the request for billing reasons "
	  "(HTTP 402; check the proxy's account with that provider)" },
	/* the client's model was routed: remote_id or base_url is wrong */
	{ 404, 502, "api_error", "answered 404 Not Found (check the model's "
	  "remote_id and the provider's base_url in the proxy "
	  "configuration)" },
	{ 408, 504, "timeout_error", "timed out (HTTP 408)" },
	{ 413, 413, "request_too_large", "found the request too large "
	  "(HTTP 413)" },
	{ 429, 429, "rate_limit_error", "is rate limiting the proxy "
	  "(HTTP 429)" },
	{ 500, 502, "api_error", "failed with an internal error (HTTP 500)" },
	{ 502, 502, "api_error", "reported a bad gateway (HTTP 502)" },
	{ 503, 529, "overloaded_error", "is unavailable or overloaded "
	  "(HTTP 503)" },
	{ 504, 504, "timeout_error", "timed out at its gateway (HTTP 504)" },
	{ 529, 529, "overloaded_error", "is overloaded (HTTP 529)" },
};

/* where an overflow may hide: 4xx validation errors, and 500 from servers
 * that report every failure that way (older llama.cpp) */
static int
ctx_status(long status)
{
	return status == 400 || status == 413 || status == 422 ||
	    status == 500;
}

static void
error_map(const struct upstream_text *ut, long status, const char *provider,
    int in_body, struct xlate_err *err)
{
	struct buf		 clean = BUF_INITIALIZER;
	struct buf		 words = BUF_INITIALIZER;
	struct ctx_nums		 n;
	const struct status_map	*row = NULL;
	char			 who[160], what[64];
	const char		*sep;
	size_t			 i;

	if (provider != NULL && *provider != '\0')
		snprintf(who, sizeof(who), "upstream provider \"%s\"",
		    provider);
	else
		strlcpy(who, "the upstream provider", sizeof(who));
	/* control bytes out first: deleting them after redaction could
	 * glue a key's pieces back together */
	for (i = 0; i < ut->msg.len; i++)
		if ((unsigned char)ut->msg.data[i] < 0x20 ||
		    ut->msg.data[i] == 0x7f)
			ut->msg.data[i] = ' ';
	xlate_redact(&clean, bstr(&ut->msg), ut->msg.len);
	excerpt(&words, bstr(&clean), clean.len, ut->html, EXCERPT_MAX);
	sep = words.len > 0 ? ": " : "";

	if ((in_body || ctx_status(status)) && ctx_detect(ut, &n)) {
		ctx_error(&n, who, bstr(&words), err);
		goto done;
	}
	for (i = 0; i < sizeof(status_map) / sizeof(status_map[0]); i++)
		if (status_map[i].upstream == status)
			row = &status_map[i];
	if (row != NULL)
		err_set(err, row->status, row->type, "%s %s%s%s", who,
		    row->what, sep, bstr(&words));
	else {
		if (in_body)
			strlcpy(what, "returned an error instead of a "
			    "completion", sizeof(what));
		else
			snprintf(what, sizeof(what), "answered HTTP %ld",
			    status);
		err_set(err, 502, "api_error", "%s %s%s%s", who, what, sep,
		    bstr(&words));
	}
 done:
	buf_free(&clean);
	buf_free(&words);
}

void
xlate_upstream_error(long upstream_status, const char *body, size_t len,
    const char *provider_name, struct xlate_err *err)
{
	struct upstream_text	 ut;

	ut_init(&ut);
	ut_from_body(&ut, body, len);
	error_map(&ut, upstream_status, provider_name, 0, err);
	ut_free(&ut);
}

/*
 * An error inside a 2xx answer ({"error":{...}} instead of choices, or
 * OpenRouter's choices[0].error after a provider failed mid-way): -1 with
 * err filled, as if the upstream had said so with the status in error.code.
 */
static int
error_from_body(json_object *resp, struct xlate_err *err)
{
	struct upstream_text	 ut;
	json_object		*e = NULL, *choices;
	int64_t			 code;

	if (!json_object_is_type(resp, json_type_object))
		return 0;
	if (!json_object_object_get_ex(resp, "error", &e) || e == NULL) {
		choices = jget(resp, "choices", json_type_array);
		if (choices == NULL || json_object_array_length(choices) == 0 ||
		    (e = jget(json_object_array_get_idx(choices, 0), "error",
		    json_type_object)) == NULL)
			return 0;
	}
	if (!json_object_is_type(e, json_type_object) &&
	    !json_object_is_type(e, json_type_string))
		return 0;
	ut_init(&ut);
	if (json_object_is_type(e, json_type_string))
		ut_message(&ut, json_object_get_string(e), 0);
	else
		ut_from_object(&ut, e, 0);
	code = jint(e, "code");
	error_map(&ut, code >= 400 && code <= 599 ? code : 0, NULL, 1, err);
	ut_free(&ut);
	return -1;
}
