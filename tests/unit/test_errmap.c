/*
 * test_errmap: upstream failures -> Anthropic errors: status mapping, the
 * upstream's words in every usual shape, context-window overflows in
 * Anthropic's wording, credentials never quoted back, bounded messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "errmap.h"
#include "tap.h"

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
		errmap_http(c->status, c->body, strlen(c->body),
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
	errmap_http(400, body, sizeof(text) - 1, "p", &err);
	is_str(err.message, "upstream provider \"p\" rejected the request: "
	    "short", "unterminated JSON body");
	free(body);
	body = malloc(11);
	memcpy(body, "Bad Gateway", 11);
	errmap_http(502, body, 11, "p", &err);
	is_str(err.message, "upstream provider \"p\" reported a bad gateway "
	    "(HTTP 502): Bad Gateway", "unterminated text body");
	free(body);
	errmap_http(500, NULL, 0, "p", &err);
	is_int(err.status, 502, "NULL body");

	/* long text: cut on a UTF-8 boundary, marked, within the message */
	for (i = 0; i < 400; i++)
		buf_puts(&big, "\xc3\xa9");
	errmap_http(400, big.data, big.len, "p", &err);
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
	errmap_http(400, big.data, big.len,
	    "a-provider-with-a-rather-long-name", &err);
	n = strlen(err.message);
	ok(n < sizeof(err.message), "long JSON message bounded (%zu)", n);
	ok(strstr(err.message, "word word") != NULL &&
	    strcmp(err.message + n - 3, "...") == 0, "long JSON message cut");
	buf_free(&big);
}

/* the log's reason: the status and the upstream's words, masked, one line */
static void
test_reason(void)
{
	struct buf	 b = BUF_INITIALIZER;
	const char	*body = "{\"error\":{\"message\":\"bad\\nkey sk-abcdefghijkl"
	    "mnop\"}}";

	errmap_reason(401, body, strlen(body), &b);
	is_str(b.data, "HTTP 401: bad key sk-***", "reason: words, masked");
	buf_reset(&b);
	errmap_reason(502, "<html><body><h1>502 Bad Gateway</h1></body></html>",
	    50, &b);
	is_str(b.data, "HTTP 502: 502 Bad Gateway", "reason: HTML tags skipped");
	buf_reset(&b);
	errmap_reason(500, NULL, 0, &b);
	is_str(b.data, "HTTP 500", "reason: no body");
	buf_free(&b);
}

int
main(void)
{
	test_reason();
	test_upstream_errors();
	test_error_bounds();
	return tap_done();
}
