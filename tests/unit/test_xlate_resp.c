/*
 * test_xlate_resp: OpenAI answers -> Anthropic messages, and upstream errors
 * -> Anthropic errors.
 *
 * Golden fixtures live in $CP_TEST_DATA/xlate_resp: every NAME.in.json (an
 * OpenAI response) has either NAME.out.json (the Anthropic message) or
 * NAME.err.json ({"status","type","message"}, compared exactly). In
 * expected output a string "~prefix" matches any longer string that starts
 * with prefix: ids and thinking signatures are random.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "jsonparse.h"
#include "util.h"
#include "xlate.h"
#include "tap.h"

#define MODEL	"claude-sonnet-4-5"

static const char *datadir;

/* 1 if got matches want; on mismatch, where says where */
static int
json_match(json_object *got, json_object *want, struct buf *where)
{
	const char	*w;
	json_object	*g;
	size_t		 i, n, at = where->len;

	if (json_object_is_type(want, json_type_string) &&
	    (w = json_object_get_string(want))[0] == '~') {
		if (!json_object_is_type(got, json_type_string) ||
		    strncmp(json_object_get_string(got), w + 1,
		    strlen(w + 1)) != 0 ||
		    strlen(json_object_get_string(got)) <= strlen(w + 1))
			goto differ;
		return 1;
	}
	if (json_object_get_type(got) != json_object_get_type(want))
		goto differ;
	switch (json_object_get_type(want)) {
	case json_type_object:
		if (json_object_object_length(got) !=
		    json_object_object_length(want)) {
			buf_puts(where, " (different keys)");
			goto differ;
		}
		json_object_object_foreach(want, key, wv) {
			buf_printf(where, ".%s", key);
			if (!json_object_object_get_ex(got, key, &g) ||
			    !json_match(g, wv, where))
				return 0;
			where->len = at;
			where->data[at] = '\0';
		}
		return 1;
	case json_type_array:
		if ((n = json_object_array_length(want)) !=
		    json_object_array_length(got)) {
			buf_puts(where, " (length)");
			goto differ;
		}
		for (i = 0; i < n; i++) {
			buf_printf(where, "[%zu]", i);
			if (!json_match(json_object_array_get_idx(got, i),
			    json_object_array_get_idx(want, i), where))
				return 0;
			where->len = at;
			where->data[at] = '\0';
		}
		return 1;
	default:
		if (!json_object_equal(got, want))
			goto differ;
		return 1;
	}
 differ:
	buf_printf(where, ": got %s", json_object_to_json_string_ext(got,
	    JSON_C_TO_STRING_PLAIN));
	return 0;
}

static json_object *
load(const char *name, const char *suffix)
{
	static const struct jsonparse_opts upstream = { 64, 1, NULL };
	char			 path[1024];
	struct jsonlex_err	 err;
	json_object		*o;
	FILE			*f;
	char			*text;
	size_t			 len, end;
	long			 n;

	snprintf(path, sizeof(path), "%s/xlate_resp/%s%s", datadir, name,
	    suffix);
	if (strcmp(suffix, ".in.json") != 0)
		return json_object_from_file(path);
	/* an upstream answer is read as messages.c reads it */
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	if (n < 0 || (text = malloc((size_t)n + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	len = fread(text, 1, (size_t)n, f);
	fclose(f);
	o = jsonparse(text, len, &upstream, &end, &err);
	free(text);
	return o;
}

static void
fixture_ok(const char *name, json_object *got, json_object *want)
{
	struct buf	 where = BUF_INITIALIZER;
	const char	*id;

	buf_puts(&where, "$");
	ok(json_match(got, want, &where), "%s: matches %s.out.json", name,
	    name);
	if (where.len > 1)
		printf("#   at %s\n", where.data);
	id = json_object_get_string(json_object_object_get(got, "id"));
	ok(id != NULL && strlen(id) == 28 && strncmp(id, "msg_", 4) == 0,
	    "%s: id is msg_ + 24", name);
	buf_free(&where);
}

static void
fixture_err(const char *name, const struct xlate_err *err, json_object *want)
{
	is_int(err->status, json_object_get_int(json_object_object_get(want,
	    "status")), "%s: status", name);
	is_str(err->type, json_object_get_string(json_object_object_get(want,
	    "type")), "%s: type", name);
	is_str(err->message, json_object_get_string(json_object_object_get(
	    want, "message")), "%s: message", name);
}

static int
is_input(const struct dirent *d)
{
	size_t	 n = strlen(d->d_name);

	return n > 8 && strcmp(d->d_name + n - 8, ".in.json") == 0;
}

static void
test_fixtures(void)
{
	struct dirent	**list;
	struct xlate_err  err;
	json_object	 *in, *want, *got;
	char		  name[256], dir[1024];
	int		  i, n;

	snprintf(dir, sizeof(dir), "%s/xlate_resp", datadir);
	if ((n = scandir(dir, &list, is_input, alphasort)) < 0)
		list = NULL;
	ok(n >= 20, "found %d fixtures in %s", n, dir);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%.*s",
		    (int)(strlen(list[i]->d_name) - 8), list[i]->d_name);
		free(list[i]);
		in = load(name, ".in.json");
		ok(in != NULL, "%s: input parses", name);
		memset(&err, 0, sizeof(err));
		got = xlate_resp(in, MODEL, &err);
		if ((want = load(name, ".out.json")) != NULL) {
			ok(got != NULL, "%s: translated", name);
			if (got == NULL)
				printf("#   %d %s: %s\n", err.status, err.type,
				    err.message);
			else
				fixture_ok(name, got, want);
		} else if ((want = load(name, ".err.json")) != NULL) {
			ok(got == NULL, "%s: refused", name);
			fixture_err(name, &err, want);
		} else
			ok(0, "%s: has neither .out.json nor .err.json", name);
		json_object_put(in);
		json_object_put(want);
		json_object_put(got);
	}
	free(list);
}

static void
test_stop_reason(void)
{
	static const char *const map[][2] = {
		{ "stop", "end_turn" },
		{ "length", "max_tokens" },
		{ "tool_calls", "tool_use" },
		{ "function_call", "tool_use" },
		{ "content_filter", "refusal" },
		{ "eos", "end_turn" },
		{ "something_new", "end_turn" },
		{ "", "end_turn" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		is_str(xlate_stop_reason(map[i][0]), map[i][1],
		    "stop reason %s", map[i][0]);
	is_str(xlate_stop_reason(NULL), "end_turn", "stop reason NULL");
}

static void
test_tool_id(void)
{
	char	 id[96], small[8], tiny[1] = { 'x' };
	size_t	 i;

	xlate_tool_id(id, sizeof(id), "call_abc-123");
	is_str(id, "call_abc-123", "tool id kept");
	xlate_tool_id(id, sizeof(id), "call:1/2.3 x");
	is_str(id, "call_1_2_3_x", "tool id sanitised");
	xlate_tool_id(id, sizeof(id), "toolu_\xc3\xa9");
	is_str(id, "toolu___", "non-ASCII bytes replaced");
	xlate_tool_id(small, sizeof(small), "call_0123456789");
	is_str(small, "call_01", "tool id truncated to fit");
	xlate_tool_id(id, sizeof(id), "");
	ok(strncmp(id, "toolu_", 6) == 0 && strlen(id) == 30,
	    "empty id -> toolu_ + 24 (%s)", id);
	for (i = 6; i < strlen(id); i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= '0' && id[i] <= '9')))
			break;
	is_int(i, 30, "random part is alphanumeric");
	xlate_tool_id(id, sizeof(id), NULL);
	ok(strncmp(id, "toolu_", 6) == 0 && strlen(id) == 30,
	    "NULL id -> toolu_ + 24");
	xlate_tool_id(tiny, sizeof(tiny), "abc");
	is_int(tiny[0], 0, "one-byte buffer gets an empty string");
}

/* a few properties of the translated message that fixtures do not show */
static void
test_resp_misc(void)
{
	struct xlate_err  err;
	json_object	 *in, *out, *c;
	const char	 *sig;
	char		  sig1[64];

	in = json_tokener_parse("{\"choices\":[{\"message\":{\"content\":"
	    "\"x\",\"reasoning_content\":\"think\"},\"finish_reason\":"
	    "\"stop\"}]}");
	out = xlate_resp(in, MODEL, &err);
	c = json_object_array_get_idx(json_object_object_get(out, "content"),
	    0);
	sig = json_object_get_string(json_object_object_get(c, "signature"));
	ok(sig != NULL && strlen(sig) >= 16, "thinking signature is set");
	strlcpy(sig1, sig != NULL ? sig : "", sizeof(sig1));
	json_object_put(out);
	out = xlate_resp(in, NULL, &err);
	is_str(json_object_get_string(json_object_object_get(out, "model")), "",
	    "no client model and none upstream -> empty model");
	c = json_object_array_get_idx(json_object_object_get(out, "content"),
	    0);
	sig = json_object_get_string(json_object_object_get(c, "signature"));
	ok(sig != NULL && strcmp(sig1, sig) != 0,
	    "signatures differ between answers");
	json_object_put(out);
	json_object_put(in);

	in = json_tokener_parse("[1,2]");
	ok(xlate_resp(in, MODEL, &err) == NULL && err.status == 502,
	    "array body refused");
	is_str(err.message, "upstream returned no choices",
	    "array body: message");
	json_object_put(in);
	ok(xlate_resp(NULL, MODEL, &err) == NULL && err.status == 502,
	    "NULL body refused");
}

struct err_case {
	long		 status;
	const char	*body;
	const char	*provider;
	int		 want_status;
	const char	*want_type;
	const char	*want_message;
};

static const struct err_case err_cases[] = {
	/* --- plain status mapping, JSON bodies -------------------------- */
	{ 400, "{\"error\":{\"message\":\"Invalid value for 'temperature': "
	  "must be <= 2.\",\"type\":\"invalid_request_error\",\"param\":"
	  "\"temperature\",\"code\":null}}", "openai",
	  400, "invalid_request_error",
	  "upstream provider \"openai\" rejected the request: Invalid value "
	  "for 'temperature': must be <= 2." },
	{ 422, "{\"detail\":[{\"loc\":[\"body\",\"messages\",0,\"content\"],"
	  "\"msg\":\"field required\",\"type\":\"value_error.missing\"}]}",
	  "vllm", 400, "invalid_request_error",
	  "upstream provider \"vllm\" rejected the request (HTTP 422): "
	  "body.messages.0.content: field required" },
	{ 401, "{\"error\":{\"message\":\"Incorrect API key provided: "
	  "sk-proj-abcdEFGH1234********************wxyz. You can find your "
	  "API key at https://platform.openai.com/account/api-keys.\",\"type\":"
	  "\"invalid_request_error\",\"param\":null,\"code\":"
	  "\"invalid_api_key\"}}", "openai",
	  502, "api_error",
	  "upstream provider \"openai\" rejected the proxy's API key (check "
	  "api_key in the proxy configuration): Incorrect API key provided: "
	  "sk-***. You can find your API key at "
	  "https://platform.openai.com/account/api-keys." },
	{ 401, "{\"error\":{\"message\":\"Authentication Fails, Your api key: "
	  "****3f2a is invalid\",\"type\":\"authentication_error\",\"param\":"
	  "null,\"code\":\"invalid_request_error\"}}", "deepseek",
	  502, "api_error",
	  "upstream provider \"deepseek\" rejected the proxy's API key (check "
	  "api_key in the proxy configuration): Authentication Fails, Your "
	  "api key: ****3f2a is invalid" },
	{ 403, "{\"error\":\"Forbidden\"}", "glm", 502, "api_error",
	  "upstream provider \"glm\" rejected the proxy's API key (check "
	  "api_key in the proxy configuration): Forbidden" },
	{ 402, "{\"error\":{\"message\":\"Insufficient Balance\",\"type\":"
	  "\"unknown_error\",\"param\":null,\"code\":"
	  "\"invalid_request_error\"}}",
	  "deepseek", 502, "api_error",
	  "upstream provider \"deepseek\" refused the request for billing "
	  "reasons (HTTP 402; check the proxy's account with that provider): "
	  "Insufficient Balance" },
	{ 404, "{\"error\":{\"message\":\"The model `deepseek-chatt` does not "
	  "exist\",\"type\":\"invalid_request_error\",\"code\":"
	  "\"model_not_found\"}}", "deepseek", 502, "api_error",
	  "upstream provider \"deepseek\" answered 404 Not Found (check the "
	  "model's remote_id and the provider's base_url in the proxy "
	  "configuration): The model `deepseek-chatt` does not exist" },
	{ 408, "{\"message\":\"Request timeout\"}", "p", 504, "timeout_error",
	  "upstream provider \"p\" timed out (HTTP 408): Request timeout" },
	{ 429, "{\"error\":{\"message\":\"Rate limit reached for requests\","
	  "\"type\":\"requests\",\"param\":null,\"code\":"
	  "\"rate_limit_exceeded\"}}", "openai", 429, "rate_limit_error",
	  "upstream provider \"openai\" is rate limiting the proxy (HTTP 429): "
	  "Rate limit reached for requests" },
	{ 500, "{\"detail\":\"Internal Server Error\"}", "sglang",
	  502, "api_error", "upstream provider \"sglang\" failed with an "
	  "internal error (HTTP 500): Internal Server Error" },
	{ 503, "{\"object\":\"error\",\"message\":\"The server is overloaded\","
	  "\"type\":\"ServiceUnavailableError\",\"param\":null,\"code\":503}",
	  "vllm", 529, "overloaded_error", "upstream provider \"vllm\" is "
	  "unavailable or overloaded (HTTP 503): The server is overloaded" },
	{ 529, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
	  "\"message\":\"Overloaded\"}}", "minimax", 529, "overloaded_error",
	  "upstream provider \"minimax\" is overloaded (HTTP 529): "
	  "Overloaded" },
	{ 504, "{\"error\":{\"message\":\"Gateway timeout\"}}", "p",
	  504, "timeout_error", "upstream provider \"p\" timed out at its "
	  "gateway (HTTP 504): Gateway timeout" },
	{ 418, "{\"error\":{\"message\":\"I'm a teapot\"}}", "p", 502,
	  "api_error",
	  "upstream provider \"p\" answered HTTP 418: I'm a teapot" },
	{ 400, "[{\"error\":{\"code\":400,\"message\":\"Request contains an "
	  "invalid argument.\",\"status\":\"INVALID_ARGUMENT\"}}]", "gemini",
	  400, "invalid_request_error", "upstream provider \"gemini\" rejected "
	  "the request: Request contains an invalid argument." },
	{ 400, "{\"error\":{\"message\":\"Provider returned error\",\"code\":"
	  "400,\"metadata\":{\"raw\":\"{\\\"error\\\":{\\\"message\\\":"
	  "\\\"tools[3].function.parameters: unsupported keyword "
	  "propertyNames\\\"}}\",\"provider_name\":\"Chutes\"}}}", "openrouter",
	  400, "invalid_request_error", "upstream provider \"openrouter\" "
	  "rejected the request: Provider returned error (Chutes): "
	  "tools[3].function.parameters: unsupported keyword propertyNames" },
	{ 400, "{\"error\":{\"message\":\"{\\\"error\\\":{\\\"message\\\":"
	  "\\\"bad tool schema\\\"}}\"}}", "litellm", 400,
	  "invalid_request_error", "upstream provider \"litellm\" rejected "
	  "the request: bad tool schema" },
	{ 500, "{\"error\":{\"code\":\"server_error\"}}", "p", 502, "api_error",
	  "upstream provider \"p\" failed with an internal error (HTTP 500): "
	  "server_error" },
	{ 500, "{\"status\":\"failed\"}", "p", 502, "api_error",
	  "upstream provider \"p\" failed with an internal error (HTTP 500): "
	  "{\"status\":\"failed\"}" },
	{ 429, "\"Too many requests\"", "p", 429, "rate_limit_error",
	  "upstream provider \"p\" is rate limiting the proxy (HTTP 429): "
	  "Too many requests" },

	/* --- non-JSON bodies -------------------------------------------- */
	{ 400, "Bad Request\n", "p", 400, "invalid_request_error",
	  "upstream provider \"p\" rejected the request: Bad Request" },
	{ 401, "Unauthorized", "ollama", 502, "api_error",
	  "upstream provider \"ollama\" rejected the proxy's API key (check "
	  "api_key in the proxy configuration): Unauthorized" },
	{ 404, "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>"
	  "\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx"
	  "</center>\r\n</body>\r\n</html>\r\n", "local", 502, "api_error",
	  "upstream provider \"local\" answered 404 Not Found (check the "
	  "model's remote_id and the provider's base_url in the proxy "
	  "configuration): 404 Not Found 404 Not Found nginx" },
	{ 413, "<html><head><title>413 Request Entity Too Large</title></head>"
	  "<body><center><h1>413 Request Entity Too Large</h1></center><hr>"
	  "<center>nginx/1.22.1</center></body></html>", "p",
	  413, "request_too_large", "upstream provider \"p\" found the request "
	  "too large (HTTP 413): 413 Request Entity Too Large 413 Request "
	  "Entity Too Large nginx/1.22.1" },
	{ 502, "error code: 502", "cf", 502, "api_error",
	  "upstream provider \"cf\" reported a bad gateway (HTTP 502): "
	  "error code: 502" },
	{ 503, "Service Unavailable", "p", 529, "overloaded_error",
	  "upstream provider \"p\" is unavailable or overloaded (HTTP 503): "
	  "Service Unavailable" },
	{ 504, "upstream request timeout", "p", 504, "timeout_error",
	  "upstream provider \"p\" timed out at its gateway (HTTP 504): "
	  "upstream request timeout" },
	{ 500, "", "p", 502, "api_error",
	  "upstream provider \"p\" failed with an internal error (HTTP 500)" },
	{ 500, "  \n\t ", NULL, 502, "api_error",
	  "the upstream provider failed with an internal error (HTTP 500)" },
	{ 500, "line one\n\tline\x01two\x7f  \r\n three", "p", 502, "api_error",
	  "upstream provider \"p\" failed with an internal error (HTTP 500): "
	  "line one line two three" },
	{ 400, "{\"error\": {\"message\": \"cut", "p", 400,
	  "invalid_request_error", "upstream provider \"p\" rejected the "
	  "request: {\"error\": {\"message\": \"cut" },

	/* --- context overflows -> Anthropic's exact words ---------------- */
	{ 400, "{\"error\":{\"message\":\"This model's maximum context length "
	  "is 128000 tokens. However, your messages resulted in 130412 tokens. "
	  "Please reduce the length of the messages.\",\"type\":"
	  "\"invalid_request_error\",\"param\":\"messages\",\"code\":"
	  "\"context_length_exceeded\"}}", "openai", 400,
	  "invalid_request_error",
	  "prompt is too long: 130412 tokens > 128000 maximum" },
	{ 400, "{\"error\":{\"message\":\"This model's maximum context length "
	  "is 65536 tokens. However, you requested 70000 tokens (38000 in the "
	  "messages, 32000 in the completion). Please reduce the length of the "
	  "messages or completion.\",\"type\":\"invalid_request_error\","
	  "\"param\":null,\"code\":\"invalid_request_error\"}}", "deepseek",
	  400, "invalid_request_error",
	  "input length and `max_tokens` exceed context limit: 38000 + 32000 > "
	  "65536, decrease input length or `max_tokens` and try again" },
	{ 400, "{\"error\":{\"message\":\"This model's maximum context length "
	  "is 128000 tokens. However, you requested 132000 tokens (30000 in "
	  "the "
	  "messages, 2000 in the functions, 100000 in the completion). Please "
	  "reduce the length of the messages, functions, or completion.\","
	  "\"code\":\"context_length_exceeded\"}}", "openai", 400,
	  "invalid_request_error",
	  "input length and `max_tokens` exceed context limit: 32000 + 100000 "
	  "> "
	  "128000, decrease input length or `max_tokens` and try again" },
	{ 400, "{\"object\":\"error\",\"message\":\"This model's maximum "
	  "context length is 32768 tokens. However, you requested 32000 output "
	  "tokens and your prompt contains at least 769 input tokens, for a "
	  "total of at least 32769 tokens. Please reduce the length of the "
	  "input prompt or the number of requested output tokens. (parameter="
	  "input_tokens, value=769)\",\"type\":\"BadRequestError\",\"param\":"
	  "\"input_tokens\",\"code\":400}", "vllm", 400,
	  "invalid_request_error",
	  "input length and `max_tokens` exceed context limit: 769 + 32000 > "
	  "32768, decrease input length or `max_tokens` and try again" },
	{ 400, "{\"error\":{\"message\":\"This model's maximum context length "
	  "is 40960 tokens. However, you requested 0 output tokens and your "
	  "prompt contains at least 40961 input tokens, for a total of at "
	  "least "
	  "40961 tokens. Please reduce the length of the input prompt or the "
	  "number of requested output tokens. (parameter=input_tokens, value="
	  "40961)\",\"type\":\"BadRequestError\",\"param\":\"input_tokens\","
	  "\"code\":400}}", "vllm", 400, "invalid_request_error",
	  "prompt is too long: 40961 tokens > 40960 maximum" },
	{ 400, "{\"object\":\"error\",\"message\":\"'max_tokens' or "
	  "'max_completion_tokens' is too large: 32000. This model's maximum "
	  "context length is 32768 tokens and your request has 1000 input "
	  "tokens (32000 > 32768 - 1000). None\",\"type\":\"BadRequestError\","
	  "\"param\":null,\"code\":400}", "vllm", 400, "invalid_request_error",
	  "input length and `max_tokens` exceed context limit: 1000 + 32000 > "
	  "32768, decrease input length or `max_tokens` and try again" },
	{ 400, "{\"object\":\"error\",\"message\":\"The decoder prompt (length "
	  "40000) is longer than the maximum model length of 32768. Make sure "
	  "that `max_model_len` is no smaller than the number of text "
	  "tokens.\","
	  "\"type\":\"BadRequestError\",\"param\":null,\"code\":400}", "vllm",
	  400, "invalid_request_error",
	  "prompt is too long: 40000 tokens > 32768 maximum" },
	{ 400, "{\"error\":{\"code\":400,\"message\":\"the request exceeds the "
	  "available context size, try increasing it\",\"type\":"
	  "\"exceed_context_size_error\",\"n_prompt_tokens\":5000,\"n_ctx\":"
	  "4096}}", "llamacpp", 400, "invalid_request_error",
	  "prompt is too long: 5000 tokens > 4096 maximum" },
	/* input fits, max_tokens unknown: the least that overflows */
	{ 400, "{\"error\":{\"code\":400,\"message\":\"the request exceeds the "
	  "available context size, try increasing it\",\"type\":"
	  "\"exceed_context_size_error\",\"n_prompt_tokens\":3000,\"n_ctx\":"
	  "4096}}", "llamacpp", 400, "invalid_request_error",
	  "input length and `max_tokens` exceed context limit: 3000 + 1097 > "
	  "4096, decrease input length or `max_tokens` and try again" },
	{ 500, "{\"error\":{\"code\":500,\"message\":\"the request exceeds the "
	  "available context size. try increasing the context size or enable "
	  "context shift\",\"type\":\"server_error\"}}", "llamacpp", 400,
	  "invalid_request_error", "prompt is too long: the request exceeds "
	  "the model's context window (upstream provider \"llamacpp\": the "
	  "request exceeds the available context size. try increasing the "
	  "context size or enable context shift)" },
	{ 400, "{\"error\":{\"message\":\"This endpoint's maximum context "
	  "length is 163840 tokens. However, you requested about 180000 tokens "
	  "(150000 of text input, 5000 of tool input, 25000 in the output). "
	  "Please reduce the length of either one, or use the "
	  "\\\"middle-out\\\" "
	  "transform to compress your prompt automatically.\",\"code\":400}}",
	  "openrouter", 400, "invalid_request_error",
	  "input length and `max_tokens` exceed context limit: 155000 + 25000 "
	  "> "
	  "163840, decrease input length or `max_tokens` and try again" },
	{ 400, "{\"error\":{\"message\":\"Requested token count exceeds the "
	  "model's maximum context length of 32768 tokens. You requested a "
	  "total of 40000 tokens: 8000 tokens from the input messages and "
	  "32000 tokens for the completion. Please reduce the number of tokens "
	  "in the input messages or the completion to fit within the limit.\","
	  "\"code\":400}}", "sglang", 400, "invalid_request_error",
	  "input length and `max_tokens` exceed context limit: 8000 + 32000 > "
	  "32768, decrease input length or `max_tokens` and try again" },
	{ 422, "{\"error\":\"Input validation error: `inputs` tokens + "
	  "`max_new_tokens` must be <= 32768. Given: 31000 `inputs` tokens "
	  "and 4000 `max_new_tokens`\",\"error_type\":\"validation\"}", "tgi",
	  400, "invalid_request_error",
	  "input length and `max_tokens` exceed context limit: 31000 + 4000 > "
	  "32768, decrease input length or `max_tokens` and try again" },
	{ 400, "{\"object\":\"error\",\"message\":\"Prompt contains 40000 "
	  "tokens and 0 draft tokens, too large for model with 32768 maximum "
	  "context "
	  "length\",\"type\":\"invalid_request_invalid_args\",\"param\":"
	  "null,\"code\":\"3051\"}", "mistral", 400, "invalid_request_error",
	  "prompt is too long: 40000 tokens > 32768 maximum" },
	{ 400, "[{\"error\":{\"code\":400,\"message\":\"The input token count "
	  "(1200000) exceeds the maximum number of tokens allowed (1048576).\","
	  "\"status\":\"INVALID_ARGUMENT\"}}]", "gemini", 400,
	  "invalid_request_error",
	  "prompt is too long: 1200000 tokens > 1048576 maximum" },
	{ 400, "{\"error\":{\"message\":\"<400> InternalError.Algo."
	  "InvalidParameter: Range of input length should be [1, 129024]\","
	  "\"type\":\"invalid_request_error\",\"param\":null,\"code\":"
	  "\"invalid_parameter_error\"}}", "qwen", 400, "invalid_request_error",
	  "prompt is too long: the request exceeds the model's context window "
	  "of 129024 tokens (upstream provider \"qwen\": <400> InternalError."
	  "Algo.InvalidParameter: Range of input length should be [1, "
	  "129024])" },
	{ 400, "{\"error\":{\"message\":\"Please reduce the length of the "
	  "messages or completion.\",\"type\":\"invalid_request_error\","
	  "\"param\":\"messages\",\"code\":\"context_length_exceeded\"}}",
	  "groq", 400, "invalid_request_error",
	  "prompt is too long: the request exceeds the model's context window "
	  "(upstream provider \"groq\": Please reduce the length of the "
	  "messages or completion.)" },
	{ 400, "{\"type\":\"error\",\"error\":{\"type\":"
	  "\"invalid_request_error\",\"message\":\"prompt is too long: 210000 "
	  "tokens > 200000 maximum\"}}", "anthropic-compatible", 400,
	  "invalid_request_error",
	  "prompt is too long: 210000 tokens > 200000 maximum" },
	{ 413, "{\"error\":{\"message\":\"This model's maximum context length "
	  "is 8192 tokens. However, your messages resulted in 9000 tokens.\"}}",
	  "p", 400, "invalid_request_error",
	  "prompt is too long: 9000 tokens > 8192 maximum" },
	{ 400, "This model's maximum context length is 4097 tokens, however "
	  "you requested 5000 tokens (1000 in your prompt; 4000 for the "
	  "completion). Please reduce your prompt; or completion length.", "p",
	  400, "invalid_request_error",
	  "input length and `max_tokens` exceed context limit: 1000 + 4000 > "
	  "4097, decrease input length or `max_tokens` and try again" },
	{ 400, "{\"error\":{\"message\":\"This model's maximum context length "
	  "is 8192 tokens. However, you requested 9000 tokens. Please reduce "
	  "the length of the messages.\"}}", "p", 400, "invalid_request_error",
	  "prompt is too long: 9000 tokens > 8192 maximum" },
	/* a rate limit that mentions tokens stays a rate limit */
	{ 429, "{\"error\":{\"message\":\"Request too large for gpt-4o: "
	  "maximum context length exceeded on tokens per min (TPM): Limit "
	  "30000, Requested 45000.\",\"code\":\"rate_limit_exceeded\"}}",
	  "openai", 429, "rate_limit_error",
	  "upstream provider \"openai\" is rate limiting the proxy (HTTP 429): "
	  "Request too large for gpt-4o: maximum context length exceeded on "
	  "tokens per min (TPM): Limit 30000, Requested 45000." },

	/* --- credentials never come back --------------------------------- */
	{ 400, "{\"error\":{\"message\":\"bad header Authorization: Bearer "
	  "abc123.DEF-456_ghi, expected a key\"}}", "p", 400,
	  "invalid_request_error", "upstream provider \"p\" rejected the "
	  "request: bad header Authorization: Bearer ***, expected a key" },
	{ 401, "invalid key sk-or-v1-0123456789abcdef0123456789abcdef for "
	  "https://api.example.com/v1?key=AIzaSyA1b2C3d4E5f6G7h8I9j0&x=1", "p",
	  502, "api_error", "upstream provider \"p\" rejected the proxy's API "
	  "key (check api_key in the proxy configuration): invalid key sk-*** "
	  "for https://api.example.com/v1?key=***&x=1" },
	{ 401, "{\"error\":{\"message\":\"token expired: "
	  "0f3c9a7b2e4d6f8a1c3e5b7d9f0a2c4e.Xy7Kp2Qm9Rt4Wv6Z\",\"code\":"
	  "\"1002\"}}", "glm", 502, "api_error", "upstream provider \"glm\" "
	  "rejected the proxy's API key (check api_key in the proxy "
	  "configuration): token expired: ***" },
	{ 404, "{\"error\":{\"message\":\"model Qwen3-Coder-480B-A35B-Instruct-"
	  "FP8-Turbo-2507 not found, request 123e4567-e89b-12d3-a456-"
	  "426614174000\"}}", "p", 502, "api_error", "upstream provider \"p\" "
	  "answered 404 Not Found (check the model's remote_id and the "
	  "provider's base_url in the proxy configuration): model "
	  "Qwen3-Coder-480B-A35B-Instruct-FP8-Turbo-2507 not found, request "
	  "123e4567-e89b-12d3-a456-426614174000" },
	{ 400, "{\"error\":{\"message\":\"the task-force said x-api-key: "
	  "secret-value-1 and api_key=\\\"hunter2\\\"\"}}", "p", 400,
	  "invalid_request_error", "upstream provider \"p\" rejected the "
	  "request: the task-force said x-api-key: *** and api_key=\"***\"" },
};

static void
test_upstream_errors(void)
{
	struct xlate_err	 err;
	const struct err_case	*c;
	size_t			 i;

	for (i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		c = &err_cases[i];
		memset(&err, 0, sizeof(err));
		xlate_upstream_error(c->status, c->body, strlen(c->body),
		    c->provider, &err);
		is_int(err.status, c->want_status, "error case %zu (%ld): "
		    "status", i, c->status);
		is_str(err.type, c->want_type, "error case %zu: type", i);
		is_str(err.message, c->want_message, "error case %zu: message",
		    i);
	}
}

/* bodies are (ptr, len): never read past len, never need a NUL */
static void
test_error_bounds(void)
{
	struct xlate_err	 err;
	struct buf		 big = BUF_INITIALIZER;
	char			*body;
	const char		 text[] = "{\"error\":{\"message\":\"short\"}}";
	size_t			 i, n;

	body = malloc(sizeof(text) - 1);
	memcpy(body, text, sizeof(text) - 1);
	xlate_upstream_error(400, body, sizeof(text) - 1, "p", &err);
	is_str(err.message, "upstream provider \"p\" rejected the request: "
	    "short", "unterminated JSON body");
	free(body);
	body = malloc(11);
	memcpy(body, "Bad Gateway", 11);
	xlate_upstream_error(502, body, 11, "p", &err);
	is_str(err.message, "upstream provider \"p\" reported a bad gateway "
	    "(HTTP 502): Bad Gateway", "unterminated text body");
	free(body);
	xlate_upstream_error(500, NULL, 0, "p", &err);
	is_int(err.status, 502, "NULL body");

	/* long text: cut on a UTF-8 boundary, marked, within the message */
	for (i = 0; i < 400; i++)
		buf_puts(&big, "\xc3\xa9");
	xlate_upstream_error(400, big.data, big.len, "p", &err);
	n = strlen(err.message);
	ok(n < sizeof(err.message) && n > 300, "long body excerpted (%zu)", n);
	ok(n >= 3 && strcmp(err.message + n - 3, "...") == 0,
	    "cut is marked");
	ok(((unsigned char)err.message[n - 4] & 0xc0) == 0x80 &&
	    (unsigned char)err.message[n - 5] == 0xc3,
	    "cut on a UTF-8 boundary");
	buf_reset(&big);
	buf_puts(&big, "{\"error\":{\"message\":\"");
	for (i = 0; i < 2000; i++)
		buf_puts(&big, "word ");
	buf_puts(&big, "\"}}");
	xlate_upstream_error(400, big.data, big.len,
	    "a-provider-with-a-rather-long-name", &err);
	n = strlen(err.message);
	ok(n < sizeof(err.message), "long JSON message bounded (%zu)", n);
	ok(strstr(err.message, "word word") != NULL &&
	    strcmp(err.message + n - 3, "...") == 0, "long JSON message cut");
	buf_free(&big);
}

int
main(void)
{
	if ((datadir = getenv("CP_TEST_DATA")) == NULL)
		datadir = "tests/data";
	test_fixtures();
	test_stop_reason();
	test_tool_id();
	test_resp_misc();
	test_upstream_errors();
	test_error_bounds();
	return tap_done();
}
