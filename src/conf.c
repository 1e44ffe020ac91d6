/*
 * conf.c: the JSON configuration file.
 *
 * conf_keys[] declares every key once: its path ("providers[].models[].id"),
 * JSON type, documented default (NULL = required), whether SIGHUP applies
 * it, one line of documentation, and an integer's range. Parsing runs in two passes over the
 * json-c tree. The first is driven by the table alone: every key met is
 * looked up there (not found = "unknown key"), its JSON type is checked
 * against the table's, arrays are walked into, and every required key of
 * each object must be present. Only then does the second pass copy values
 * into struct conf, taking integer and boolean defaults from the table's
 * default text, checking ranges, resolving secrets and deriving what is
 * derived (host, provider name, url, display_name, remote_id). A last
 * pass checks the model table as a whole (duplicate ids, colliding aliases).
 *
 * Secrets: "ak" and every "api_key" may hold "env:NAME" (the value of environment
 * variable NAME) or "file:/abs/path" (the file's contents without trailing
 * newlines). They are resolved at parse time, so a reload re-reads them.
 *
 * Before either pass the text is scanned once more (jsonscan) for a
 * member name repeated in one object, which json-c would silently resolve
 * to the last value. JSON syntax errors name the line and the column.
 *
 * Promises: conf_parse either returns a complete, validated configuration
 * with every derived field filled in, or returns -1 with exactly one line
 * "<key path>: <problem>" in err and nothing left allocated. It never logs;
 * conf_load logs one warning when a file readable by group or others holds
 * a literal key.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "conf.h"
#include "conf_parse.h"
#include "jsonparse.h"
#include "jsonscan.h"
#include "log.h"
#include "schema.h"

#define CONF_FILEMAX	(16 * 1024 * 1024)	/* config file */
#define CONF_SECRETMAX	(64 * 1024)		/* file: secret */
#define CONF_MAXDEPTH	64			/* nesting; the schema has 4 */

struct conf *conf;

const struct conf_key conf_keys[] = {
	/* top level */
	{ "ak", CONF_STRING, "\"\"", 1,
	    "inbound API key clients must send as \"Authorization: Bearer\" or "
	    "\"x-api-key\"; \"\" = no auth; \"env:NAME\" reads environment "
	    "variable NAME, \"file:/path\" reads an absolute file path "
	    "(trailing newlines stripped)" },
	{ "host", CONF_STRING, "127.0.0.1 if ak and keys are empty, else 0.0.0.0", 0,
	    "listen address (IPv4 or IPv6 literal or host name)" },
	{ "port", CONF_INT, "8888", 0,
	    "listen port (0 = any free port)", 0, 65535 },
	{ "workers", CONF_INT, "0", 1,
	    "worker processes started and always kept "
	    "(0 = 2 x online cores, at least 4)", 0, CONF_MAX_WORKERS },
	{ "max_workers", CONF_INT, "256", 1,
	    "ceiling of the worker pool: when idle workers run short more are "
	    "started, up to this many", 1, CONF_MAX_WORKERS },
	{ "spare_workers", CONF_INT, "1", 1,
	    "idle workers kept ready: when fewer are idle the pool grows by "
	    "the connections waiting plus this many (up to max_workers)", 0,
	    CONF_MAX_WORKERS },
	{ "worker_idle_timeout_seconds", CONF_INT, "60", 1,
	    "workers beyond \"workers\" that stay idle this long are "
	    "retired", 1, 86400 },
	{ "upstream_timeout_seconds", CONF_INT, "300", 1,
	    "total time for a non-streaming upstream request", 1, 86400 },
	{ "upstream_connect_timeout_seconds", CONF_INT, "10", 1,
	    "time to connect to an upstream (TCP and TLS)", 1, 3600 },
	{ "stream_idle_timeout_seconds", CONF_INT, "0", 1,
	    "longest silence from a streaming upstream "
	    "(0 = upstream_timeout_seconds)", 0, 86400 },
	{ "stream_ping_seconds", CONF_INT, "10", 1,
	    "interval of ping events to a streaming client while the upstream "
	    "is silent", 1, 3600 },
	{ "header_timeout_seconds", CONF_INT, "10", 1,
	    "deadline for a client's request line and headers (for a "
	    "connection's first request counted from the accept)", 1, 3600 },
	{ "body_timeout_seconds", CONF_INT, "60", 1,
	    "deadline for a client's request body", 1, 3600 },
	{ "keepalive_timeout_seconds", CONF_INT, "75", 1,
	    "how long an idle client connection is kept open", 1, 3600 },
	{ "send_timeout_seconds", CONF_INT, "60", 1,
	    "deadline for each write to a client", 1, 3600 },
	{ "shutdown_timeout_seconds", CONF_INT, "30", 1,
	    "how long in-flight requests may run after SIGTERM", 1, 3600 },
	{ "max_body_bytes", CONF_INT, "33554432", 1,
	    "largest request body accepted (413 above)", 1024, 1073741824 },
	{ "log_body_max_chars", CONF_INT, "4096", 1,
	    "characters of request and response bodies logged (0 = none)",
	    0, 16777216 },
	{ "log_stream_text_preview_chars", CONF_INT, "256", 1,
	    "characters of streamed text previewed in the log (0 = none)",
	    0, 16777216 },
	{ "providers", CONF_ARRAY, NULL, 1,
	    "upstream OpenAI-compatible services (non-empty array of objects)" },

	/* providers[] */
	{ "providers[].name", CONF_STRING, "host[:port] of base_url", 1,
	    "name used in logs and error messages" },
	{ "providers[].base_url", CONF_STRING, NULL, 1,
	    "http:// or https:// URL of the upstream; requests go to "
	    "{base_url}/v1/chat/completions (api \"responses\": "
	    "{base_url}/v1/responses, api \"anthropic\": "
	    "{base_url}/v1/messages), without the /v1 when base_url already "
	    "ends in a version segment such as /v1, /v4 or /v1beta, or in a "
	    "version and /openai" },
	{ "providers[].url", CONF_STRING, "derived from base_url", 1,
	    "the whole URL requests go to, for an endpoint the base_url rule "
	    "does not find (a query string is kept)" },
	{ "providers[].api", CONF_STRING, "\"openai\"", 1,
	    "the API the upstream speaks: \"openai\" (Chat Completions), "
	    "\"responses\" (the OpenAI Responses API) or \"anthropic\" (the "
	    "Messages API: requests and answers passed through)" },
	{ "providers[].api_key", CONF_STRING, "required unless api_keys", 1,
	    "upstream key sent as \"Authorization: Bearer\" or as auth says "
	    "(\"\" = none, for local servers); \"env:NAME\" reads "
	    "environment variable NAME, \"file:/path\" reads an absolute file "
	    "path (trailing newlines stripped); exactly one of api_key and "
	    "api_keys" },
	{ "providers[].auth", CONF_STRING, "\"bearer\" (\"x-api-key\" for "
	    "api anthropic)", 1,
	    "how the key is sent: \"bearer\" (Authorization: Bearer) or "
	    "\"x-api-key\"" },
	{ "providers[].betas", CONF_STRING_ARRAY, "absent: all", 1,
	    "api anthropic: the anthropic-beta values forwarded from clients "
	    "(others are left out); absent = every one" },
	{ "providers[].count_tokens", CONF_BOOL, "false", 1,
	    "api anthropic: the upstream answers /v1/messages/count_tokens, "
	    "so count_tokens is forwarded (otherwise estimated locally)" },
	{ "providers[].api_keys", CONF_STRING_ARRAY, "absent: api_key", 1,
	    "several upstream keys (1..32, each \"env:\"/\"file:\" as "
	    "api_key), used in turn by all workers; one answered 401 (or 403 "
	    "where another key is served the same request) is set aside "
	    "until reload, one answered 429 cools down for its retry-after "
	    "(default 30 s)" },
	{ "providers[].retries", CONF_OBJECT, "absent: no retries", 1,
	    "try the same provider again after 429, 5xx or a failed "
	    "connection, before the client got a byte, with exponential "
	    "backoff and full jitter, within upstream_timeout_seconds" },
	{ "providers[].retries.count", CONF_INT, "2", 1,
	    "retries after the first attempt", 0, 10 },
	{ "providers[].retries.base_ms", CONF_INT, "500", 1,
	    "ceiling of the first wait, doubled for each retry; the wait is "
	    "a random time below it", 1, 60000 },
	{ "providers[].retries.max_wait_seconds", CONF_INT, "30", 1,
	    "longest single wait; a retry-after longer than this (or than the "
	    "time left) is not waited for: the next provider serves", 1,
	    3600 },
	{ "providers[].top_k", CONF_BOOL, "false", 1,
	    "the upstream accepts top_k (otherwise it is dropped)" },
	{ "providers[].pdf", CONF_BOOL, "false", 1,
	    "the upstream accepts PDF documents as file parts (otherwise the "
	    "next provider of the chain that does, else 400)" },
	{ "providers[].include_usage", CONF_BOOL, "true", 1,
	    "ask for token usage on streams (stream_options.include_usage)" },
	{ "providers[].strip_attribution", CONF_BOOL, "true", 1,
	    "remove Claude Code's x-anthropic-billing-header line from the "
	    "system prompt before forwarding" },
	{ "providers[].tool_call_repair", CONF_BOOL, "false", 1,
	    "tool calls the model writes as text (<tool_call> tags, fenced "
	    "JSON naming a request tool) become tool_use blocks, almost-JSON "
	    "arguments repaired (for small local models; api openai only)" },
	{ "providers[].schema", CONF_STRING, "absent: as clients wrote them", 1,
	    "\"gemini\": tool parameter schemas rewritten into the subset a "
	    "strict upstream accepts (Gemini's OpenAI-compatible endpoint "
	    "rejects $schema, propertyNames, exclusiveMinimum ...)" },
	{ "providers[].headers", CONF_STRING_MAP, "{}", 1,
	    "extra request headers, name: value; a value may be \"env:NAME\" "
	    "or \"file:/path\" (then masked as a secret); names that frame "
	    "the request (Host, Content-Length, Transfer-Encoding, Connection "
	    "...) are refused" },
	{ "providers[].params", CONF_VALUE_MAP, "{}", 1,
	    "members set in (or replacing those of) every request body sent "
	    "to the upstream, after the translation: temperature, "
	    "reasoning_effort, enable_thinking ..." },
	{ "providers[].drop", CONF_STRING_ARRAY, "[]", 1,
	    "top-level members removed from every request body sent to the "
	    "upstream (before params are set)" },
	{ "providers[].models", CONF_ARRAY, NULL, 1,
	    "models served by this provider (non-empty array of objects)" },

	/* providers[].models[] */
	{ "providers[].models[].id", CONF_STRING, NULL, 1,
	    "model name clients ask for; unique within its provider, and the same "
	    "id under several providers is a fallback chain tried in order" },
	{ "providers[].models[].display_name", CONF_STRING, "id", 1,
	    "display_name in /v1/models" },
	{ "providers[].models[].remote_id", CONF_STRING, "id", 1,
	    "model name sent to the upstream" },
	{ "providers[].models[].aliases", CONF_STRING_ARRAY, "[]", 1,
	    "glob patterns (fnmatch, case-sensitive) of further names routed to "
	    "this model, such as \"claude-*haiku*\"; may not match another "
	    "model's id or repeat another model's alias (members of one "
	    "fallback chain may share them)" },
	{ "providers[].models[].max_tokens", CONF_INT, "0", 1,
	    "cap on max_tokens sent upstream (0 = no cap)", 0, INT32_MAX },
	{ "providers[].models[].reasoning", CONF_BOOL, "false", 1,
	    "the model accepts reasoning_effort (from thinking / output_config)" },

	/* the web tools (Anthropic's web_search and web_fetch server tools,
	 * run by the proxy) */
	{ "web_search", CONF_OBJECT, "absent: web search off", 1,
	    "the search backend that runs the web_search server tool; "
	    "without it the tool is dropped from requests" },
	{ "web_search.backend", CONF_STRING, NULL, 1,
	    "\"tavily\", \"searxng\" (a SearXNG instance's JSON API) or "
	    "\"brave\" (Brave Search API)" },
	{ "web_search.base_url", CONF_STRING, "the backend's public API", 1,
	    "http:// or https:// URL of the backend: https://api.tavily.com "
	    "for tavily, https://api.search.brave.com for brave; required for "
	    "searxng" },
	{ "web_search.api_key", CONF_STRING, "\"\"", 1,
	    "the backend's key (tavily: Authorization: Bearer; brave: "
	    "X-Subscription-Token; searxng: Authorization: Bearer if set); "
	    "required for tavily and brave; \"env:NAME\" or \"file:/path\" "
	    "as for providers[].api_key" },
	{ "web_search.max_results", CONF_INT, "5", 1,
	    "results per search when the tool asks for no other number",
	    1, 20 },
	{ "web_search.timeout_seconds", CONF_INT, "10", 1,
	    "time for one backend call", 1, 300 },
	{ "web_fetch", CONF_OBJECT, "absent: web fetch off", 1,
	    "the proxy's fetcher that runs the web_fetch server tool" },
	{ "web_fetch.enabled", CONF_BOOL, "false", 1,
	    "run web_fetch (otherwise the tool is dropped from requests)" },
	{ "web_fetch.max_bytes", CONF_INT, "10485760", 1,
	    "bytes of one page read; a longer text is cut there, a longer "
	    "PDF refused (content_too_large)", 1024, 104857600 },
	{ "web_fetch.timeout_seconds", CONF_INT, "30", 1,
	    "time for one fetch, redirects included", 1, 300 },
	{ "web_fetch.allow_private_addresses", CONF_BOOL, "false", 1,
	    "let the fetcher connect to loopback, private, link-local and "
	    "other non-public addresses" },

	/* the team gateway: named keys with limits, routes, usage
	 * (conf_team.c reads them) */
	{ "keys", CONF_ARRAY, "[]", 1,
	    "named client keys, each with the models it may use and its "
	    "limits, at most 1000 (array of objects); with ak, clients may "
	    "send either" },
	{ "keys[].name", CONF_STRING, NULL, 1,
	    "the key's name in the access line, the metrics and the usage "
	    "log (never the key): 1..64 of A-Z a-z 0-9 . _ -, unique, not "
	    "\"ak\"" },
	{ "keys[].key", CONF_STRING, NULL, 1,
	    "the key clients send as \"Authorization: Bearer\" or "
	    "\"x-api-key\"; unique; \"env:NAME\" or \"file:/path\" as "
	    "for ak" },
	{ "keys[].models", CONF_STRING_ARRAY, "[]", 1,
	    "model ids, or names that aliases resolve, the key may use; [] = "
	    "every model" },
	{ "keys[].default_model", CONF_STRING, "none", 1,
	    "model id that serves the key's requests for a model it may not "
	    "use or that does not exist (otherwise 403 or 404)" },
	{ "keys[].limits", CONF_OBJECT, "absent: no limits", 1,
	    "the key's limits; 0 = no limit; fixed windows (UTC minutes, UTC "
	    "days)" },
	{ "keys[].limits.requests_per_minute", CONF_INT, "0", 1,
	    "requests admitted per UTC minute", 0, 1000000000 },
	{ "keys[].limits.concurrent_requests", CONF_INT, "0", 1,
	    "requests in progress at once", 0, 100000 },
	{ "keys[].limits.input_tokens_per_minute", CONF_INT, "0", 1,
	    "input tokens per UTC minute (estimated at admission, settled "
	    "with the upstream's count)", 0, 1000000000000LL },
	{ "keys[].limits.output_tokens_per_day", CONF_INT, "0", 1,
	    "output tokens per UTC day, charged when an answer ends",
	    0, 1000000000000LL },
	{ "routes", CONF_ARRAY, "[]", 1,
	    "ordered rules, at most 256: the first whose match holds picks "
	    "the model of a /v1/messages request (array of objects)" },
	{ "routes[].name", CONF_STRING, NULL, 1,
	    "the route's name in the access line and the metrics: 1..64 of "
	    "A-Z a-z 0-9 . _ -, unique" },
	{ "routes[].match", CONF_OBJECT, "absent: every request", 1,
	    "the conditions, all of which must hold" },
	{ "routes[].match.model", CONF_STRING, "any", 1,
	    "glob pattern (fnmatch) of the model the client asked for" },
	{ "routes[].match.key", CONF_STRING, "any", 1,
	    "the name of the client's key (a keys[].name, or \"ak\")" },
	{ "routes[].match.thinking", CONF_BOOL, "either", 1,
	    "true: thinking is enabled or adaptive; false: it is not" },
	{ "routes[].match.min_input_tokens", CONF_INT, "0", 1,
	    "the estimated input tokens are at least this (0 = any)",
	    0, 100000000 },
	{ "routes[].match.images", CONF_BOOL, "either", 1,
	    "true: a message holds an image; false: none does" },
	{ "routes[].match.server_tools", CONF_BOOL, "either", 1,
	    "true: the request offers a server tool (web_search, web_fetch, "
	    "code_execution); false: it offers none" },
	{ "routes[].match.no_tools", CONF_BOOL, "either", 1,
	    "true: the request offers no tools; false: it offers some" },
	{ "routes[].model", CONF_STRING, NULL, 1,
	    "the id of the model that serves a matching request" },
	{ "usage_log", CONF_STRING, "\"\"", 1,
	    "absolute path of the usage log, one JSON line per /v1/messages "
	    "request, reopened on SIGHUP; \"\" = none" },
	{ "limits_backend", CONF_STRING, "local", 1,
	    "where key limits are counted: \"local\" (this instance's "
	    "shared memory) or \"redis://[:password@]host[:port][/db]\" "
	    "(shared by every instance using it)" },
	{ "limits_redis_failure", CONF_STRING, "open", 1,
	    "when Redis cannot be reached: \"open\" serves without limits, "
	    "\"closed\" answers 503" },
	{ "limits_redis_timeout_ms", CONF_INT, "100", 1,
	    "bound on connecting to Redis and on each command", 10, 10000 },
};
const size_t conf_nkeys = sizeof(conf_keys) / sizeof(conf_keys[0]);

const char *const conf_api_names[] = { "openai", "responses", "anthropic" };

/* websearch.c has an implementation for each (test_websearch checks) */
const struct conf_search_backend conf_search_backends[] = {
	{ "tavily", "https://api.tavily.com", 1 },
	{ "searxng", NULL, 0 },
	{ "brave", "https://api.search.brave.com", 1 },
};
const size_t conf_nsearch_backends = sizeof(conf_search_backends) /
    sizeof(conf_search_backends[0]);

static int	 conf_parse_named(const char *, const char *, size_t,
		    struct conf **, struct conf_ctx *);

int
conf_err(struct conf_ctx *cx, const char *where, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cx->errsz > 0)
		snprintf(cx->err, cx->errsz, "%s: %s", where, msg);
	return -1;
}

int
conf_path(char *out, size_t outsz, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(out, outsz, fmt, ap);
	va_end(ap);
	return (n < 0 || (size_t)n >= outsz) ? -1 : 0;
}

int
conf_join(char *out, size_t outsz, const char *parent, const char *name)
{
	return conf_path(out, outsz, "%s%s%s", parent, *parent ? "." : "",
	    name);
}

static const struct conf_key *
conf_key_find(const char *path)
{
	size_t	 i;

	for (i = 0; i < conf_nkeys; i++)
		if (strcmp(conf_keys[i].path, path) == 0)
			return &conf_keys[i];
	return NULL;
}

static const char *
conf_leaf(const char *path)
{
	const char	*dot = strrchr(path, '.');

	return dot ? dot + 1 : path;
}

/* is path a direct child of the object pattern parent ("" = top level)? */
static int
conf_key_in(const char *path, const char *parent)
{
	size_t	 plen = strlen(parent);
	const char *leaf = conf_leaf(path);

	if (plen == 0)
		return leaf == path;
	return leaf - path == (ptrdiff_t)plen + 1 &&
	    strncmp(path, parent, plen) == 0;
}

/*
 * Pass 1: structure and types, from the table alone.
 */

static int	 conf_check_object(struct conf_ctx *, json_object *,
		    const char *, const char *);

/* "\u0000" would silently cut the C string */
static int
conf_has_nul(json_object *v)
{
	return strlen(json_object_get_string(v)) !=
	    (size_t)json_object_get_string_len(v);
}

static int
conf_check_value(struct conf_ctx *cx, const struct conf_key *k,
    json_object *v, const char *where)
{
	char	 pat[CONF_PATHMAX], elem[CONF_PATHMAX];
	size_t	 i, n;

	switch (k->type) {
	case CONF_STRING:
		if (!json_object_is_type(v, json_type_string))
			return conf_err(cx, where, "expected string");
		if (conf_has_nul(v))
			return conf_err(cx, where, "contains a NUL character");
		break;
	case CONF_INT:
		if (!json_object_is_type(v, json_type_int))
			return conf_err(cx, where, "expected integer");
		break;
	case CONF_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return conf_err(cx, where, "expected boolean");
		break;
	case CONF_OBJECT:
		if (!json_object_is_type(v, json_type_object))
			return conf_err(cx, where, "expected object");
		return conf_check_object(cx, v, k->path, where);
	case CONF_VALUE_MAP:
		if (!json_object_is_type(v, json_type_object))
			return conf_err(cx, where, "expected object");
		break;
	case CONF_STRING_MAP:
		if (!json_object_is_type(v, json_type_object))
			return conf_err(cx, where, "expected object");
		json_object_object_foreach(v, name, member) {
			conf_join(elem, sizeof(elem), where, name);
			if (!json_object_is_type(member, json_type_string))
				return conf_err(cx, elem, "expected string");
			if (conf_has_nul(member))
				return conf_err(cx, elem,
				    "contains a NUL character");
		}
		break;
	case CONF_ARRAY:
	case CONF_STRING_ARRAY:
		if (!json_object_is_type(v, json_type_array))
			return conf_err(cx, where, "expected array");
		n = json_object_array_length(v);
		if (n == 0 && k->default_value == NULL)
			return conf_err(cx, where, "empty");
		conf_path(pat, sizeof(pat), "%s[]", k->path);
		for (i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(v, i);

			conf_path(elem, sizeof(elem), "%s[%zu]", where, i);
			if (k->type == CONF_STRING_ARRAY) {
				if (!json_object_is_type(e, json_type_string))
					return conf_err(cx, elem,
					    "expected string");
				if (conf_has_nul(e))
					return conf_err(cx, elem,
					    "contains a NUL character");
				continue;
			}
			if (!json_object_is_type(e, json_type_object))
				return conf_err(cx, elem, "expected object");
			if (conf_check_object(cx, e, pat, elem) == -1)
				return -1;
		}
		break;
	}
	return 0;
}

/* pat: the object's pattern ("providers[]"); where: its instance path */
static int
conf_check_object(struct conf_ctx *cx, json_object *obj, const char *pat,
    const char *where)
{
	const struct conf_key *k;
	char	 kp[CONF_PATHMAX], kw[CONF_PATHMAX];
	size_t	 i;

	json_object_object_foreach(obj, name, val) {
		conf_join(kw, sizeof(kw), where, name);	/* cut if long */
		/* a name with '.' or '[' must not alias a nested key path */
		if (strpbrk(name, ".[]") != NULL ||
		    conf_join(kp, sizeof(kp), pat, name) == -1 ||
		    (k = conf_key_find(kp)) == NULL)
			return conf_err(cx, kw, "unknown key");
		if (conf_check_value(cx, k, val, kw) == -1)
			return -1;
	}
	for (i = 0; i < conf_nkeys; i++) {
		k = &conf_keys[i];
		if (k->default_value != NULL || !conf_key_in(k->path, pat))
			continue;
		if (!json_object_object_get_ex(obj, conf_leaf(k->path), NULL)) {
			conf_join(kw, sizeof(kw), where, conf_leaf(k->path));
			return conf_err(cx, kw, "missing");
		}
	}
	return 0;
}

/*
 * Pass 2: values. The tree has passed pass 1, so types are known.
 */

const struct conf_key *
conf_key_must(const char *path, enum conf_type type)
{
	const struct conf_key *k;

	if ((k = conf_key_find(path)) == NULL || k->type != type)
		fatalx("bug: conf key %s not in conf_keys[] as read", path);
	return k;
}

json_object *
conf_get(json_object *obj, const struct conf_key *k)
{
	json_object	*v;

	return json_object_object_get_ex(obj, conf_leaf(k->path), &v) ?
	    v : NULL;
}

/* an integer, checked against its key's range in conf_keys[] */
int
conf_int(struct conf_ctx *cx, json_object *obj, const char *where,
    const char *path, long long *out)
{
	const struct conf_key *k = conf_key_must(path, CONF_INT);
	long long	 min = k->min, max = k->max;
	json_object	*v;
	const char	*errstr;
	char		 kw[CONF_PATHMAX];
	long long	 n;

	conf_join(kw, sizeof(kw), where, conf_leaf(path));
	if ((v = conf_get(obj, k)) == NULL) {
		n = strtonum(k->default_value, min, max, &errstr);
		if (errstr != NULL)
			fatalx("bug: default of %s is %s", path, errstr);
	} else {
		n = json_object_get_int64(v);	/* clamped to int64 */
		if (n < min || n > max)
			return conf_err(cx, kw, "%lld out of range %lld..%lld",
			    n, min, max);
	}
	*out = n;
	return 0;
}

static int
conf_int32(struct conf_ctx *cx, json_object *obj, const char *where,
    const char *path, int *out)
{
	long long	 n;

	if (conf_int(cx, obj, where, path, &n) == -1)
		return -1;
	*out = (int)n;
	return 0;
}

void
conf_bool(json_object *obj, const char *path, int *out)
{
	const struct conf_key *k = conf_key_must(path, CONF_BOOL);
	json_object	*v;

	if ((v = conf_get(obj, k)) != NULL)
		*out = json_object_get_boolean(v);
	else if (strcmp(k->default_value, "true") == 0)
		*out = 1;
	else if (strcmp(k->default_value, "false") == 0)
		*out = 0;
	else
		fatalx("bug: default of %s is not a boolean", path);
}

/* the string at path, or NULL when absent; "" refused unless allow_empty */
int
conf_str(struct conf_ctx *cx, json_object *obj, const char *where,
    const char *path, int allow_empty, const char **out)
{
	const struct conf_key *k = conf_key_must(path, CONF_STRING);
	json_object	*v;
	char		 kw[CONF_PATHMAX];

	*out = NULL;
	if ((v = conf_get(obj, k)) == NULL)
		return 0;
	*out = json_object_get_string(v);
	if (!allow_empty && **out == '\0') {
		conf_join(kw, sizeof(kw), where, conf_leaf(path));
		return conf_err(cx, kw, "empty");
	}
	return 0;
}

int
conf_strdup(struct conf_ctx *cx, const char *where, const char *s, char **out)
{
	if ((*out = strdup(s)) == NULL)
		return conf_err(cx, where, "%s", strerror(errno));
	return 0;
}

/* a key ends up in an HTTP header: no control characters */
static int
conf_secret_ok(const char *s)
{
	for (; *s; s++)
		if (iscntrl((unsigned char)*s))
			return 0;
	return 1;
}

static int
conf_secret_file(struct conf_ctx *cx, const char *kw, const char *path,
    char **out)
{
	struct buf	 b = BUF_INITIALIZER;
	ssize_t		 n;
	int		 fd;

	if (path[0] != '/')
		return conf_err(cx, kw, "file: needs an absolute path");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return conf_err(cx, kw, "%s: %s", path, strerror(errno));
	for (;;) {
		if (buf_reserve(&b, 4096) == -1) {
			n = -1;
			break;
		}
		n = read(fd, b.data + b.len, b.cap - b.len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		b.len += n;
		b.data[b.len] = '\0';
		if (b.len > CONF_SECRETMAX) {
			close(fd);
			buf_free(&b);
			return conf_err(cx, kw, "%s: too large", path);
		}
	}
	if (n == -1) {
		int saved = errno;

		close(fd);
		buf_free(&b);
		return conf_err(cx, kw, "%s: %s", path, strerror(saved));
	}
	close(fd);
	while (b.len > 0 && (b.data[b.len - 1] == '\n' ||
	    b.data[b.len - 1] == '\r'))
		b.data[--b.len] = '\0';
	if (b.len == 0 || memchr(b.data, '\0', b.len) != NULL ||
	    !conf_secret_ok(b.data)) {
		const char *why = b.len == 0 ? "empty" :
		    "contains control characters";

		buf_free(&b);
		return conf_err(cx, kw, "%s: %s", path, why);
	}
	*out = buf_steal(&b);
	return 0;
}

/* "env:NAME", "file:/path" or the key itself */
int
conf_secret(struct conf_ctx *cx, json_object *obj, const char *where,
    const char *path, char **out)
{
	const char	*s;
	char		 kw[CONF_PATHMAX];

	conf_join(kw, sizeof(kw), where, conf_leaf(path));
	if (conf_str(cx, obj, where, path, 1, &s) == -1)
		return -1;
	return conf_secret_value(cx, kw, conf_leaf(path), s != NULL ? s : "",
	    out, NULL);
}

int
conf_secret_value(struct conf_ctx *cx, const char *kw, const char *leaf,
    const char *s, char **out, int *indirect)
{
	const char	*name;

	if (indirect != NULL)
		*indirect = strncmp(s, "env:", 4) == 0 ||
		    strncmp(s, "file:", 5) == 0;
	if (strncmp(s, "env:", 4) == 0) {
		name = s + 4;
		if (*name == '\0')
			return conf_err(cx, kw, "env: needs a variable name");
		if ((s = getenv(name)) == NULL)
			return conf_err(cx, kw,
			    "environment variable %s is not set", name);
		if (*s == '\0')
			return conf_err(cx, kw,
			    "environment variable %s is empty", name);
		if (!conf_secret_ok(s))
			return conf_err(cx, kw, "environment variable %s "
			    "contains control characters", name);
		return conf_strdup(cx, kw, s, out);
	}
	if (strncmp(s, "file:", 5) == 0)
		return conf_secret_file(cx, kw, s + 5, out);
	if (!conf_secret_ok(s))
		return conf_err(cx, kw, "contains control characters");
	if (*s != '\0' && cx->literal == NULL && leaf != NULL)
		cx->literal = leaf;
	return conf_strdup(cx, kw, s, out);
}

/* a path segment that names an API version: v1, v4, v1beta, v2alpha1 */
static int
conf_version_segment(const char *seg, size_t len)
{
	size_t	 i = 1;

	if (len < 2 || seg[0] != 'v' || seg[1] < '0' || seg[1] > '9')
		return 0;
	while (i < len && seg[i] >= '0' && seg[i] <= '9')
		i++;
	if (i < len && (seg[i] < 'a' || seg[i] > 'z'))
		return 0;
	for (; i < len; i++)
		if ((seg[i] < 'a' || seg[i] > 'z') &&
		    (seg[i] < '0' || seg[i] > '9'))
			return 0;
	return 1;
}

/*
 * Does the path (after the authority, no trailing '/') already end where
 * the API's version goes? A last segment that is a version (/v1, /v4,
 * /v1beta), or a version followed by /openai, as Gemini's OpenAI endpoint
 * is .../v1beta/openai; a bare /openai (Groq's .../openai) still wants
 * its /v1.
 */
static int
conf_has_version(const char *path, size_t len)
{
	const char	*seg;
	size_t		 n;

	if (len >= 7 && memcmp(path + len - 7, "/openai", 7) == 0) {
		len -= 7;
		if (len == 0)
			return 0;
	}
	for (seg = path + len; seg > path && seg[-1] != '/'; seg--)
		;
	n = (size_t)(path + len - seg);
	return conf_version_segment(seg, n);
}

/* the endpoint of an API under a base URL, by p->api */
static const char *const conf_api_paths[CONF_API_COUNT] = {
	[CONF_API_OPENAI] = "/chat/completions",
	[CONF_API_RESPONSES] = "/responses",
	[CONF_API_ANTHROPIC] = "/messages",
};

/*
 * base_url: "http(s)://authority[/path]" without query or fragment.
 * Derives the trimmed base_url, the default name (authority without
 * userinfo) and the URL requests go to, by p->api.
 */
static int
conf_base_url(struct conf_ctx *cx, const char *kw, const char *url,
    struct conf_provider *p, char **defname)
{
	const char	*auth, *path, *host, *s;
	size_t		 len, hostlen;
	struct buf	 b = BUF_INITIALIZER;

	if (strncasecmp(url, "http://", 7) == 0)
		auth = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		auth = url + 8;
	else
		return conf_err(cx, kw, "not an http(s) URL");
	for (s = url; *s; s++)
		if (iscntrl((unsigned char)*s) || *s == ' ')
			return conf_err(cx, kw, "not an http(s) URL");
	if (strpbrk(url, "?#") != NULL)
		return conf_err(cx, kw, "query or fragment not allowed");
	path = auth + strcspn(auth, "/");
	host = auth;
	for (s = auth; s < path; s++)
		if (*s == '@')
			host = s + 1;
	hostlen = path - host;
	/* the host itself, before any ":port" (an IPv6 literal is bracketed) */
	if (hostlen == 0 || host[0] == ':' ||
	    (host[0] == '[' && memchr(host, ']', hostlen) == NULL))
		return conf_err(cx, kw, "not an http(s) URL");

	len = strlen(url);
	while (len > (size_t)(path - url) && url[len - 1] == '/')
		len--;
	if ((p->base_url = strndup(url, len)) == NULL ||
	    (*defname = strndup(host, hostlen)) == NULL)
		return conf_err(cx, kw, "%s", strerror(errno));

	if (buf_puts(&b, p->base_url) == -1 ||
	    (!conf_has_version(p->base_url + (path - url), len -
	    (size_t)(path - url)) && buf_puts(&b, "/v1") == -1) ||
	    buf_puts(&b, conf_api_paths[p->api]) == -1) {
		buf_free(&b);
		return conf_err(cx, kw, "%s", strerror(errno));
	}
	p->url = buf_steal(&b);
	return 0;
}

static int
conf_model(struct conf_ctx *cx, json_object *obj, const char *where,
    struct conf_model *m)
{
	const struct conf_key *k;
	json_object	*arr;
	const char	*s;
	char		 kw[CONF_PATHMAX];
	long long	 n = 0;
	size_t		 i;

	if (conf_str(cx, obj, where, "providers[].models[].id", 0, &s) == -1 ||
	    conf_strdup(cx, where, s, &m->id) == -1)
		return -1;
	if (conf_str(cx, obj, where, "providers[].models[].display_name", 0,
	    &s) == -1 || conf_strdup(cx, where, s ? s : m->id,
	    &m->display_name) == -1)
		return -1;
	if (conf_str(cx, obj, where, "providers[].models[].remote_id", 0,
	    &s) == -1 || conf_strdup(cx, where, s ? s : m->id,
	    &m->remote_id) == -1)
		return -1;
	if (conf_int(cx, obj, where, "providers[].models[].max_tokens",
	    &n) == -1)
		return -1;
	m->max_tokens = n;
	conf_bool(obj, "providers[].models[].reasoning", &m->reasoning);

	k = conf_key_must("providers[].models[].aliases", CONF_STRING_ARRAY);
	if ((arr = conf_get(obj, k)) == NULL)
		return 0;
	m->naliases = json_object_array_length(arr);
	if (m->naliases == 0)
		return 0;
	if ((m->aliases = calloc(m->naliases, sizeof(*m->aliases))) == NULL) {
		m->naliases = 0;
		return conf_err(cx, where, "%s", strerror(errno));
	}
	for (i = 0; i < m->naliases; i++) {
		s = json_object_get_string(json_object_array_get_idx(arr, i));
		conf_path(kw, sizeof(kw), "%s.aliases[%zu]", where, i);
		if (*s == '\0')
			return conf_err(cx, kw, "empty");
		if (conf_strdup(cx, kw, s, &m->aliases[i]) == -1)
			return -1;
	}
	return 0;
}

/* url: the endpoint itself, replacing what base_url derived; an
 * http(s) URL whose query is kept (Azure's api-version) */
static int
conf_url(struct conf_ctx *cx, json_object *obj, const char *where,
    struct conf_provider *p)
{
	const char	*s, *auth, *c;
	char		 kw[CONF_PATHMAX];

	if (conf_str(cx, obj, where, "providers[].url", 0, &s) == -1)
		return -1;
	if (s == NULL)
		return 0;
	conf_join(kw, sizeof(kw), where, "url");
	if (strncasecmp(s, "http://", 7) == 0)
		auth = s + 7;
	else if (strncasecmp(s, "https://", 8) == 0)
		auth = s + 8;
	else
		return conf_err(cx, kw, "not an http(s) URL");
	for (c = s; *c; c++)
		if (iscntrl((unsigned char)*c) || *c == ' ')
			return conf_err(cx, kw, "not an http(s) URL");
	if (strchr(s, '#') != NULL)
		return conf_err(cx, kw, "fragment not allowed");
	if (*auth == '\0' || *auth == '/' || *auth == '?' || *auth == ':')
		return conf_err(cx, kw, "not an http(s) URL");
	free(p->url);
	return conf_strdup(cx, kw, s, &p->url);
}

/* api: one of conf_api_names[], "openai" when absent */
static int
conf_api(struct conf_ctx *cx, json_object *obj, const char *where,
    struct conf_provider *p)
{
	const char	*s;
	char		 kw[CONF_PATHMAX];
	size_t		 i;

	p->api = CONF_API_OPENAI;
	if (conf_str(cx, obj, where, "providers[].api", 0, &s) == -1)
		return -1;
	if (s == NULL)
		return 0;
	for (i = 0; i < CONF_API_COUNT; i++)
		if (strcmp(s, conf_api_names[i]) == 0) {
			p->api = (enum conf_api)i;
			return 0;
		}
	conf_join(kw, sizeof(kw), where, "api");
	return conf_err(cx, kw, "unknown API \"%s\" (openai, responses or "
	    "anthropic)", s);
}

/* schema: a dialect schema.c knows, or absent */
static int
conf_schema(struct conf_ctx *cx, json_object *obj, const char *where,
    struct conf_provider *p)
{
	const char	*s;
	char		 kw[CONF_PATHMAX];

	p->schema = NULL;
	if (conf_str(cx, obj, where, "providers[].schema", 0, &s) == -1)
		return -1;
	if (s == NULL || (p->schema = schema_dialect(s)) != NULL)
		return 0;
	conf_join(kw, sizeof(kw), where, "schema");
	return conf_err(cx, kw, "unknown dialect \"%s\" (gemini)", s);
}

static int
conf_provider(struct conf_ctx *cx, json_object *obj, const char *where,
    struct conf_provider *p)
{
	const struct conf_key *k;
	json_object	*arr;
	const char	*s;
	char		 kw[CONF_PATHMAX], mw[CONF_PATHMAX];
	char		*defname = NULL;
	size_t		 i;
	int		 rv;

	if (conf_api(cx, obj, where, p) == -1 ||
	    conf_str(cx, obj, where, "providers[].base_url", 0, &s) == -1)
		return -1;
	conf_join(kw, sizeof(kw), where, "base_url");
	rv = conf_base_url(cx, kw, s, p, &defname);
	if (rv == 0 && (rv = conf_str(cx, obj, where, "providers[].name", 0,
	    &s)) == 0) {
		if (s != NULL)
			rv = conf_strdup(cx, where, s, &p->name);
		else {
			p->name = defname;
			defname = NULL;
		}
	}
	free(defname);
	if (rv == -1 || conf_url(cx, obj, where, p) == -1)
		return -1;
	if (conf_upkeys_parse(cx, obj, where, p) == -1)
		return -1;
	conf_bool(obj, "providers[].top_k", &p->top_k);
	conf_bool(obj, "providers[].pdf", &p->pdf);
	conf_bool(obj, "providers[].include_usage", &p->include_usage);
	conf_bool(obj, "providers[].strip_attribution", &p->strip_attribution);
	conf_bool(obj, "providers[].tool_call_repair", &p->tool_call_repair);
	/* the other kinds' translators have no repair: on, it would do
	 * nothing, and the user would not know */
	if (p->tool_call_repair && p->api != CONF_API_OPENAI) {
		conf_join(kw, sizeof(kw), where, "tool_call_repair");
		return conf_err(cx, kw, "only for api \"openai\"");
	}
	if (conf_schema(cx, obj, where, p) == -1 ||
	    conf_upstream_parse(cx, obj, where, p) == -1)
		return -1;

	k = conf_key_must("providers[].models", CONF_ARRAY);
	arr = conf_get(obj, k);
	p->nmodels = json_object_array_length(arr);
	if ((p->models = calloc(p->nmodels, sizeof(*p->models))) == NULL) {
		p->nmodels = 0;
		return conf_err(cx, where, "%s", strerror(errno));
	}
	for (i = 0; i < p->nmodels; i++) {
		conf_path(mw, sizeof(mw), "%s.models[%zu]", where, i);
		if (conf_model(cx, json_object_array_get_idx(arr, i), mw,
		    &p->models[i]) == -1)
			return -1;
	}
	return 0;
}

/* a backend URL: http(s)://host[:port][/path], no query or fragment;
 * kept without a trailing '/' */
static int
conf_web_url(struct conf_ctx *cx, const char *kw, const char *url,
    char **out)
{
	const char	*auth, *s;
	size_t		 len;

	if (strncasecmp(url, "http://", 7) == 0)
		auth = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		auth = url + 8;
	else
		return conf_err(cx, kw, "not an http(s) URL");
	for (s = url; *s; s++)
		if (iscntrl((unsigned char)*s) || *s == ' ')
			return conf_err(cx, kw, "not an http(s) URL");
	if (strpbrk(url, "?#") != NULL)
		return conf_err(cx, kw, "query or fragment not allowed");
	if (*auth == '\0' || *auth == '/' || *auth == ':')
		return conf_err(cx, kw, "not an http(s) URL");
	len = strlen(url);
	while (len > (size_t)(auth - url) && url[len - 1] == '/')
		len--;
	if ((*out = strndup(url, len)) == NULL)
		return conf_err(cx, kw, "%s", strerror(errno));
	return 0;
}

static int
conf_web_search(struct conf_ctx *cx, json_object *root,
    struct conf_web_search *w)
{
	const struct conf_search_backend *b = NULL;
	json_object	*obj;
	const char	*s;
	size_t		 i;

	obj = conf_get(root, conf_key_must("web_search", CONF_OBJECT));
	if (obj == NULL)
		return 0;			/* web search off */
	if (conf_str(cx, obj, "web_search", "web_search.backend", 0, &s) ==
	    -1)
		return -1;
	for (i = 0; i < conf_nsearch_backends; i++)
		if (strcmp(conf_search_backends[i].name, s) == 0)
			b = &conf_search_backends[i];
	if (b == NULL)
		return conf_err(cx, "web_search.backend", "unknown backend "
		    "\"%s\" (tavily, searxng or brave)", s);
	if (conf_strdup(cx, "web_search.backend", s, &w->backend) == -1 ||
	    conf_str(cx, obj, "web_search", "web_search.base_url", 0, &s) ==
	    -1)
		return -1;
	if (s == NULL && (s = b->default_base_url) == NULL)
		return conf_err(cx, "web_search.base_url", "missing (backend "
		    "%s has no public default)", b->name);
	if (conf_web_url(cx, "web_search.base_url", s, &w->base_url) == -1 ||
	    conf_secret(cx, obj, "web_search", "web_search.api_key",
	    &w->api_key) == -1)
		return -1;
	if (b->needs_key && w->api_key[0] == '\0')
		return conf_err(cx, "web_search.api_key", "missing (backend "
		    "%s needs a key)", b->name);
	if (conf_int32(cx, obj, "web_search", "web_search.max_results",
	    &w->max_results) == -1 ||
	    conf_int32(cx, obj, "web_search", "web_search.timeout_seconds",
	    &w->timeout_seconds) == -1)
		return -1;
	return 0;
}

/* the defaults apply whether the object is there or not */
static int
conf_web_fetch(struct conf_ctx *cx, json_object *root,
    struct conf_web_fetch *w)
{
	json_object	*obj, *none = NULL;
	long long	 n;
	int		 rv = -1;

	obj = conf_get(root, conf_key_must("web_fetch", CONF_OBJECT));
	if (obj == NULL && (obj = none = json_object_new_object()) == NULL)
		return conf_err(cx, "web_fetch", "%s", strerror(errno));
	conf_bool(obj, "web_fetch.enabled", &w->enabled);
	conf_bool(obj, "web_fetch.allow_private_addresses",
	    &w->allow_private_addresses);
	if (conf_int32(cx, obj, "web_fetch", "web_fetch.timeout_seconds",
	    &w->timeout_seconds) == 0 &&
	    conf_int(cx, obj, "web_fetch", "web_fetch.max_bytes", &n) == 0) {
		w->max_bytes = n;
		rv = 0;
	}
	json_object_put(none);
	return rv;
}

static int
conf_top(struct conf_ctx *cx, json_object *root, struct conf *c)
{
	/* the int keys of struct conf; their ranges are conf_keys[]' */
	static const struct {
		const char	*path;
		size_t		 off;
	} ints[] = {
		{ "port", offsetof(struct conf, port) },
		{ "workers", offsetof(struct conf, workers) },
		{ "max_workers", offsetof(struct conf, max_workers) },
		{ "spare_workers", offsetof(struct conf, spare_workers) },
		{ "worker_idle_timeout_seconds",
		    offsetof(struct conf, worker_idle_timeout_seconds) },
		{ "upstream_timeout_seconds",
		    offsetof(struct conf, upstream_timeout_seconds) },
		{ "upstream_connect_timeout_seconds",
		    offsetof(struct conf, upstream_connect_timeout_seconds) },
		{ "stream_idle_timeout_seconds",
		    offsetof(struct conf, stream_idle_timeout_seconds) },
		{ "stream_ping_seconds",
		    offsetof(struct conf, stream_ping_seconds) },
		{ "header_timeout_seconds",
		    offsetof(struct conf, header_timeout_seconds) },
		{ "body_timeout_seconds",
		    offsetof(struct conf, body_timeout_seconds) },
		{ "keepalive_timeout_seconds",
		    offsetof(struct conf, keepalive_timeout_seconds) },
		{ "send_timeout_seconds",
		    offsetof(struct conf, send_timeout_seconds) },
		{ "shutdown_timeout_seconds",
		    offsetof(struct conf, shutdown_timeout_seconds) },
		{ "log_body_max_chars",
		    offsetof(struct conf, log_body_max_chars) },
		{ "log_stream_text_preview_chars",
		    offsetof(struct conf, log_stream_text_preview_chars) },
	};
	const struct conf_key *k;
	json_object	*arr;
	const char	*s;
	char		 pw[CONF_PATHMAX];
	long long	 n;
	size_t		 i;

	if (conf_secret(cx, root, "", "ak", &c->ak) == -1)
		return -1;
	if (conf_str(cx, root, "", "host", 0, &s) == -1)
		return -1;
	/* without any key only local clients can reach the proxy */
	arr = conf_get(root, conf_key_must("keys", CONF_ARRAY));
	if (s == NULL)
		s = c->ak[0] == '\0' && (arr == NULL ||
		    json_object_array_length(arr) == 0) ? "127.0.0.1" :
		    "0.0.0.0";
	if (conf_strdup(cx, "host", s, &c->host) == -1)
		return -1;
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		if (conf_int32(cx, root, "", ints[i].path,
		    (int *)((char *)c + ints[i].off)) == -1)
			return -1;
	if (c->workers > c->max_workers)
		return conf_err(cx, "max_workers", "%d is less than workers "
		    "(%d)", c->max_workers, c->workers);
	if (c->spare_workers > c->max_workers)
		return conf_err(cx, "spare_workers", "%d is more than "
		    "max_workers (%d)", c->spare_workers, c->max_workers);
	if (conf_int(cx, root, "", "max_body_bytes", &n) == -1)
		return -1;
	c->max_body_bytes = n;

	k = conf_key_must("providers", CONF_ARRAY);
	arr = conf_get(root, k);
	c->nproviders = json_object_array_length(arr);
	if ((c->providers = calloc(c->nproviders, sizeof(*c->providers))) ==
	    NULL) {
		c->nproviders = 0;
		return conf_err(cx, "providers", "%s", strerror(errno));
	}
	for (i = 0; i < c->nproviders; i++) {
		conf_path(pw, sizeof(pw), "providers[%zu]", i);
		if (conf_provider(cx, json_object_array_get_idx(arr, i), pw,
		    &c->providers[i]) == -1)
			return -1;
	}
	if (conf_web_search(cx, root, &c->web_search) == -1 ||
	    conf_web_fetch(cx, root, &c->web_fetch) == -1 ||
	    conf_team_parse(cx, root, c) == -1)
		return -1;
	return 0;
}

/*
 * Pass 3: the model table as a whole. A model id is unique within its
 * provider; the same id under several providers is one model with a
 * fallback chain (tried in config order). An alias may not match another
 * model's id (that id would become ambiguous) nor repeat another model's
 * alias, except between members of one fallback chain.
 */
struct conf_mref {
	const struct conf_model	*m;
	size_t			 pi, mi;
};

static int
conf_check_models(struct conf_ctx *cx, const struct conf *c)
{
	struct conf_mref *r;
	size_t	 n, i, j, ai, aj;
	char	 kw[CONF_PATHMAX];
	int	 rv = -1;

	for (n = 0, i = 0; i < c->nproviders; i++)
		n += c->providers[i].nmodels;
	if ((r = calloc(n, sizeof(*r))) == NULL)
		return conf_err(cx, "providers", "%s", strerror(errno));
	for (n = 0, i = 0; i < c->nproviders; i++)
		for (j = 0; j < c->providers[i].nmodels; j++, n++) {
			r[n].m = &c->providers[i].models[j];
			r[n].pi = i;
			r[n].mi = j;
		}

	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++) {
			if (r[i].pi != r[j].pi ||
			    strcmp(r[i].m->id, r[j].m->id) != 0)
				continue;
			conf_path(kw, sizeof(kw), "providers[%zu].models[%zu].id",
			    r[i].pi, r[i].mi);
			conf_err(cx, kw, "duplicate model id \"%s\" "
			    "(also providers[%zu].models[%zu])", r[i].m->id,
			    r[j].pi, r[j].mi);
			goto done;
		}

	for (i = 0; i < n; i++)
		for (ai = 0; ai < r[i].m->naliases; ai++) {
			const char *a = r[i].m->aliases[ai];

			conf_path(kw, sizeof(kw),
			    "providers[%zu].models[%zu].aliases[%zu]",
			    r[i].pi, r[i].mi, ai);
			for (j = 0; j < n; j++) {
				if (j == i || fnmatch(a, r[j].m->id, 0) != 0 ||
				    strcmp(r[i].m->id, r[j].m->id) == 0)
					continue;
				conf_err(cx, kw, "alias \"%s\" matches model id "
				    "\"%s\" (providers[%zu].models[%zu])", a,
				    r[j].m->id, r[j].pi, r[j].mi);
				goto done;
			}
			for (j = 0; j <= i; j++)
				for (aj = 0; aj < r[j].m->naliases; aj++) {
					if (j == i && aj == ai)
						break;
					if (strcmp(a, r[j].m->aliases[aj]) != 0 ||
					    (j != i &&
					    strcmp(r[i].m->id, r[j].m->id) == 0))
						continue;
					conf_err(cx, kw, "duplicate alias \"%s\" "
					    "(also providers[%zu].models[%zu]."
					    "aliases[%zu])", a, r[j].pi,
					    r[j].mi, aj);
					goto done;
				}
		}
	rv = 0;
 done:
	free(r);
	return rv;
}

/* "name: line L, column C: msg" for the byte at offset at; the column
 * counts characters (UTF-8 sequences), as editors show it */
static int
conf_syntax_err(struct conf_ctx *cx, const char *name, const char *text,
    size_t len, size_t at, const char *msg)
{
	size_t	 i, line = 1, col = 1;

	for (i = 0; i < at && i < len; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80)
			col++;
	}
	return conf_err(cx, name, "line %zu, column %zu: %s", line, col, msg);
}

/* the path of member key (decoded, klen bytes) of the object at where */
static void
conf_member_path(char *out, size_t outsz, const char *where, const char *key,
    size_t klen)
{
	conf_path(out, outsz, "%s%s%.*s", where, *where ? "." : "", (int)klen,
	    key);
}

/*
 * json-c keeps the last of repeated member names and says nothing, so
 * "port" given twice would silently be the second. The tokens of jsonscan
 * keep every member in order: any name met twice in one object is
 * refused, naming its path.
 */
static int
conf_dup_walk(struct conf_ctx *cx, const struct jsonscan *sc, size_t v,
    const char *where)
{
	const struct jsonscan_tok *t = &sc->tok[v], *kt, *jt;
	char	 kw[CONF_PATHMAX];
	size_t	 k, j, i;

	if (t->type == JSONSCAN_ARRAY) {
		for (i = 0, k = v + 1; k < t->next; i++, k = sc->tok[k].next) {
			conf_path(kw, sizeof(kw), "%s[%zu]", where, i);
			if (conf_dup_walk(cx, sc, k, kw) == -1)
				return -1;
		}
		return 0;
	}
	if (t->type != JSONSCAN_OBJECT)
		return 0;
	/* members: key token, value token, ...; keys are decoded in place
	 * right after their opening quote */
	for (k = v + 1; k < t->next; k = sc->tok[k + 1].next) {
		kt = &sc->tok[k];
		conf_member_path(kw, sizeof(kw), where,
		    sc->text.data + kt->start + 1, kt->n);
		for (j = v + 1; j < k; j = sc->tok[j + 1].next) {
			jt = &sc->tok[j];
			if (jt->n == kt->n && memcmp(sc->text.data + jt->start + 1,
			    sc->text.data + kt->start + 1, kt->n) == 0)
				return conf_err(cx, kw, "duplicate key");
		}
		if (conf_dup_walk(cx, sc, k + 1, kw) == -1)
			return -1;
	}
	return 0;
}

static int
conf_check_duplicates(struct conf_ctx *cx, const char *name,
    const char *text, size_t len)
{
	struct jsonscan		 sc = JSONSCAN_INITIALIZER;
	struct jsonlex_err	 e;
	int			 rv;

	memset(&e, 0, sizeof(e));
	if (jsonscan(&sc, text, len, CONF_MAXDEPTH, 0, &e) == -1)
		rv = conf_syntax_err(cx, name, text, len, e.offset,
		    e.what != NULL ? e.what : "invalid JSON");
	else
		rv = conf_dup_walk(cx, &sc, 0, "");
	jsonscan_free(&sc);
	return rv;
}

static json_object *
conf_json(struct conf_ctx *cx, const char *name, const char *text,
    size_t len)
{
	static const struct jsonparse_opts opts = { 32, 0, NULL };
	struct jsonlex_err	 perr;
	json_object	*root;
	const char	*msg, *nul;
	size_t		 end;

	if (len > CONF_FILEMAX) {
		conf_err(cx, name, "larger than %d bytes", CONF_FILEMAX);
		return NULL;
	}
	/* strict RFC 8259, UTF-8 checked, only whitespace after the value */
	root = jsonparse_whole(text, len, &opts, &perr);
	msg = perr.eof ? "unexpected end of input" : perr.what;
	end = perr.eof ? len : perr.offset;
	if ((nul = memchr(text, '\0', len)) != NULL) {
		end = nul - text;
		msg = "NUL byte";
	}
	if (msg != NULL) {
		json_object_put(root);
		conf_syntax_err(cx, name, text, len, end, msg);
		return NULL;
	}
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		conf_err(cx, name, "expected a JSON object at the top level");
		return NULL;
	}
	return root;
}

static int
conf_parse_named(const char *name, const char *text, size_t len,
    struct conf **out, struct conf_ctx *cx)
{
	json_object	*root;
	struct conf	*c;
	int		 rv = -1;

	*out = NULL;
	if (cx->errsz > 0)
		cx->err[0] = '\0';
	if ((root = conf_json(cx, name, text, len)) == NULL)
		return -1;
	if (conf_check_duplicates(cx, name, text, len) == -1) {
		json_object_put(root);
		return -1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		conf_err(cx, name, "%s", strerror(errno));
		goto done;
	}
	if (conf_check_object(cx, root, "", "") == -1 ||
	    conf_top(cx, root, c) == -1 ||
	    conf_check_models(cx, c) == -1 ||
	    conf_team_check(cx, c) == -1) {
		conf_free(c);
		goto done;
	}
	c->loaded_at = time(NULL);
	*out = c;
	rv = 0;
 done:
	json_object_put(root);
	return rv;
}

int
conf_parse(const char *text, size_t len, struct conf **out, char *err,
    size_t errsz)
{
	struct conf_ctx	 cx = { err, errsz, NULL };

	return conf_parse_named("config", text, len, out, &cx);
}

int
conf_load(const char *path, struct conf **out, char *err, size_t errsz)
{
	struct conf_ctx	 cx = { err, errsz, NULL };
	struct buf	 b = BUF_INITIALIZER;
	struct stat	 st;
	ssize_t		 n;
	int		 fd, saved, rv;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return conf_err(&cx, path, "not a regular file");
	}
	for (;;) {
		if (b.len > CONF_FILEMAX) {
			close(fd);
			buf_free(&b);
			return conf_err(&cx, path, "larger than %d bytes",
			    CONF_FILEMAX);
		}
		if (buf_reserve(&b, 65536) == -1)
			goto fail;
		n = read(fd, b.data + b.len, b.cap - b.len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		b.len += n;
		b.data[b.len] = '\0';
	}
	close(fd);
	rv = conf_parse_named(path, b.data ? b.data : "", b.len, out, &cx);
	buf_free(&b);
	if (rv == -1)
		return -1;
	if (cx.literal != NULL && (st.st_mode & (S_IRGRP | S_IROTH)))
		log_warnx("%s: readable by group or others but holds a literal "
		    "%s; use \"env:NAME\" or \"file:/path\", or chmod 600",
		    path, cx.literal);
	(*out)->loaded_at = time(NULL);
	return 0;
 fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	buf_free(&b);
	return conf_err(&cx, path, "%s", strerror(saved));
}

void
conf_free(struct conf *c)
{
	struct conf_provider *p;
	struct conf_model *m;
	size_t	 i, j, k;

	if (c == NULL)
		return;
	for (i = 0; i < c->nproviders; i++) {
		p = &c->providers[i];
		for (j = 0; j < p->nmodels; j++) {
			m = &p->models[j];
			free(m->id);
			free(m->display_name);
			free(m->remote_id);
			for (k = 0; k < m->naliases; k++)
				free(m->aliases[k]);
			free(m->aliases);
		}
		free(p->models);
		free(p->name);
		free(p->base_url);
		conf_upkeys_free(p);
		free(p->url);
		free(p->count_url);
		conf_upstream_free(p);
	}
	free(c->providers);
	conf_team_free(c);
	free(c->web_search.backend);
	free(c->web_search.base_url);
	if (c->web_search.api_key != NULL)
		explicit_bzero(c->web_search.api_key,
		    strlen(c->web_search.api_key));
	free(c->web_search.api_key);
	if (c->ak != NULL)
		explicit_bzero(c->ak, strlen(c->ak));
	free(c->ak);
	free(c->host);
	free(c);
}

int
conf_workers(const struct conf *c)
{
	long	 n;

	if (c->workers > 0)
		return c->workers;
	if ((n = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		n = 1;
	n *= 2;
	if (n < 4)
		n = 4;
	if (n > CONF_MAX_WORKERS)
		n = CONF_MAX_WORKERS;
	return (int)n;
}

int
conf_stream_idle_seconds(const struct conf *c)
{
	return c->stream_idle_timeout_seconds > 0 ?
	    c->stream_idle_timeout_seconds : c->upstream_timeout_seconds;
}
