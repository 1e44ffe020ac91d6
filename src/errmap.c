/*
 * errmap.c: what an upstream said when it failed, worded for the client.
 *
 * errmap_http() turns an upstream's non-2xx answer (JSON in any of the
 * usual shapes: OpenAI's, FastAPI's detail list, Gemini's array,
 * OpenRouter's wrapped provider error, llama.cpp's fields; or plain text or
 * HTML) into the client's status, Anthropic error type and a one-line
 * message naming the provider. errmap_answer() does the same for an error
 * inside a 2xx answer. Context-window overflows become Anthropic's own
 * wording, so Claude Code shrinks max_tokens or compacts; an upstream that
 * refuses the proxy's key is the proxy's configuration problem (502), never
 * the client's 401.
 *
 * Promises: messages are bounded (struct xlate_err), single-line,
 * UTF-8-safe, and pass through secret_mask before they are cut, so no
 * configured secret, nor anything that looks like a credential, is quoted
 * back, not even in part. errmap_reason() gives the upstream's words, as
 * masked and bounded, for the log.
 * Nothing here keeps state but the compiled patterns.
 *
 * Failure: none; out of memory gives a shorter message.
 */
#include <ctype.h>
#include <inttypes.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "buf.h"
#include "errmap.h"
#include "jsonparse.h"
#include "log.h"
#include "secret.h"
#include "util.h"
#include "xlate.h"

#define EXCERPT_MAX	 300		/* upstream words quoted in a message */
#define ERRBODY_JSON_MAX (1024 * 1024)	/* larger error bodies are not parsed */
#define ERRBODY_DEPTH	 64
#define ERRTEXT_MAX	 8192		/* upstream text examined at all */
#define TOKENS_MAX	 10000000000LL	/* larger "token counts" are noise */

#define err_set	 xlate_err_set
#define jget	 xlate_json_member
#define jstr	 xlate_json_str

static const char *
bstr(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

/* a non-negative integer member, -1 if absent or not a number */
static int64_t
jint(json_object *o, const char *key)
{
	return xlate_json_count(o, key);
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

/* a JSON object, array or string that is all of body[0..len), or NULL;
 * lenient on raw control bytes, as some servers send them */
static json_object *
json_whole(const char *body, size_t len)
{
	static const struct jsonparse_opts opts = { ERRBODY_DEPTH, 1, NULL };
	struct jsonlex_err	 perr;
	json_object		*v;
	size_t			 i;

	i = jsonparse_skip_ws(body, len, 0);
	if (i == len || len > ERRBODY_JSON_MAX ||
	    (body[i] != '{' && body[i] != '[' && body[i] != '"'))
		return NULL;
	v = jsonparse_whole(body, len, &opts, &perr);
	return perr.what == NULL ? v : NULL;
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
	secret_mask(&clean, bstr(&ut->msg), ut->msg.len);
	util_excerpt(&words, bstr(&clean), clean.len, ut->html, EXCERPT_MAX);
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
errmap_http(long upstream_status, const char *body, size_t len,
    const char *provider_name, struct xlate_err *err)
{
	struct upstream_text	 ut;

	ut_init(&ut);
	ut_from_body(&ut, body, len);
	error_map(&ut, upstream_status, provider_name, 0, err);
	ut_free(&ut);
}

/* Anthropic's error types and the statuses its API answers them with */
static const struct {
	const char	*type;
	int		 status;
} anthropic_types[] = {
	{ "invalid_request_error", 400 }, { "request_too_large", 413 },
	{ "rate_limit_error", 429 }, { "api_error", 500 },
	{ "overloaded_error", 529 }, { "timeout_error", 504 },
};

const char *
errmap_anthropic_type(const char *type)
{
	size_t	 k;

	for (k = 0; type != NULL && k < sizeof(anthropic_types) /
	    sizeof(anthropic_types[0]); k++)
		if (strcmp(type, anthropic_types[k].type) == 0)
			return anthropic_types[k].type;
	return NULL;
}

void
errmap_upstream_words(struct buf *out, const char *msg, size_t max)
{
	struct buf	 words = BUF_INITIALIZER, clean = BUF_INITIALIZER;
	size_t		 i;

	/* control bytes out, then masked whole, then cut: a cut first could
	 * leave a secret's beginning that no longer matches */
	buf_puts(&words, msg != NULL ? msg : "");
	for (i = 0; i < words.len; i++)
		if ((unsigned char)words.data[i] < 0x20 ||
		    words.data[i] == 0x7f)
			words.data[i] = ' ';
	secret_mask(&clean, bstr(&words), words.len);
	util_excerpt(out, bstr(&clean), clean.len, 0, max);
	buf_free(&clean);
	buf_free(&words);
}

/*
 * An Anthropic-compatible upstream's non-2xx answer. Its own envelope
 * passes on with its type and words when they concern the request (400,
 * 413, 429, 500, 504, 529 and a known type), masked, on one line: the
 * client reads what the upstream said, as it would from Anthropic. What
 * the proxy's configuration caused (401 and 403 for its key, 402, 404 for
 * a remote_id), a context overflow (Anthropic's own wording either way),
 * and any other body are worded as errmap_http does.
 */
void
errmap_anthropic(long upstream_status, const char *body, size_t len,
    const char *provider_name, struct xlate_err *err)
{
	struct upstream_text	 ut;
	struct ctx_nums		 n;
	struct buf		 words = BUF_INITIALIZER;
	json_object		*v, *e;
	const char		*type, *msg;
	size_t			 k;

	v = json_whole(body != NULL ? body : "", body != NULL ? len : 0);
	e = jget(v, "error", json_type_object);
	type = jstr(e, "type");
	msg = jstr(e, "message");
	for (k = 0; type != NULL && k < sizeof(anthropic_types) /
	    sizeof(anthropic_types[0]); k++)
		if (strcmp(type, anthropic_types[k].type) == 0 &&
		    anthropic_types[k].status == upstream_status)
			break;
	if (type == NULL || msg == NULL || k == sizeof(anthropic_types) /
	    sizeof(anthropic_types[0])) {
		json_object_put(v);
		errmap_http(upstream_status, body, len, provider_name, err);
		return;
	}
	ut_init(&ut);
	ut_from_json(&ut, v, 0);
	if (ctx_status(upstream_status) && ctx_detect(&ut, &n)) {
		ut_free(&ut);
		json_object_put(v);
		errmap_http(upstream_status, body, len, provider_name, err);
		return;
	}
	ut_free(&ut);
	errmap_upstream_words(&words, msg, sizeof(err->message) - 8);
	err_set(err, (int)upstream_status, anthropic_types[k].type, "%s",
	    bstr(&words));
	buf_free(&words);
	json_object_put(v);
}

/*
 * An error inside a 2xx answer ({"error":{...}} instead of choices, or
 * OpenRouter's choices[0].error after a provider failed mid-way): -1 with
 * err filled, as if the upstream had said so with the status in error.code.
 */
int
errmap_answer(json_object *resp, struct xlate_err *err)
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

void
errmap_reason(long upstream_status, const char *body, size_t len,
    struct buf *out)
{
	struct upstream_text	 ut;
	struct buf		 clean = BUF_INITIALIZER;
	size_t			 i;

	ut_init(&ut);
	ut_from_body(&ut, body, len);
	for (i = 0; i < ut.msg.len; i++)
		if ((unsigned char)ut.msg.data[i] < 0x20 ||
		    ut.msg.data[i] == 0x7f)
			ut.msg.data[i] = ' ';
	secret_mask(&clean, bstr(&ut.msg), ut.msg.len);
	buf_printf(out, "HTTP %ld", upstream_status);
	if (clean.len > 0) {
		buf_puts(out, ": ");
		util_excerpt(out, bstr(&clean), clean.len, ut.html,
		    EXCERPT_MAX);
	}
	buf_free(&clean);
	ut_free(&ut);
}
