/*
 * test_resp_resp: OpenAI Responses answers -> Anthropic messages, and the
 * errors of the Responses API -> Anthropic errors.
 *
 * Golden fixtures in $CP_TEST_DATA/resp_resp: every NAME.in.json (a
 * "response" object) has either NAME.out.json (the Anthropic message, its
 * random id, tool ids and plain signatures written as "msg_ID",
 * "toolu_GENERATED" and "cpsig_SIG") or
 * NAME.err.json ({"status","type","message"}, compared exactly).
 * CP_TEST_REGEN=1 writes them from what the code does: review the diff.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "errmap.h"
#include "resp.h"
#include "secret.h"
#include "xlate.h"
#include "tap.h"
#include "fixtures.h"
#include "jsondiff.h"
#include "testroute.h"

#define MODEL	"claude-sonnet-4-5"

static const char *datadir;
static int regenerate;

/* the random parts of a message, made fixed: the id, plain signatures */
static void
normalise(json_object *m)
{
	json_object	*content, *b, *sig;
	size_t		 i, n;

	json_object_object_add(m, "id", json_object_new_string("msg_ID"));
	if (!json_object_object_get_ex(m, "content", &content))
		return;
	n = json_object_array_length(content);
	for (i = 0; i < n; i++) {
		b = json_object_array_get_idx(content, i);
		if (json_object_object_get_ex(b, "id", &sig) &&
		    strncmp(json_object_get_string(sig), "toolu_", 6) == 0 &&
		    json_object_get_string_len(sig) == 30)
			json_object_object_add(b, "id",
			    json_object_new_string("toolu_GENERATED"));
		if (json_object_object_get_ex(b, "signature", &sig) &&
		    strncmp(json_object_get_string(sig), "cpsig_", 6) == 0)
			json_object_object_add(b, "signature",
			    json_object_new_string("cpsig_SIG"));
	}
}

static json_object *
err_json(const struct xlate_err *err)
{
	json_object	*o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_int(err->status));
	json_object_object_add(o, "type", json_object_new_string(err->type));
	json_object_object_add(o, "message",
	    json_object_new_string(err->message));
	return o;
}

static void
run_fixture(const char *name, const struct model_route *route)
{
	struct xlate_err err;
	json_object	*in, *got, *want;
	const char	*kind;
	char		 idcheck[64];
	json_object	*id;

	memset(&err, 0, sizeof(err));
	if ((in = fixture_load(datadir, "resp_resp", name, "in")) == NULL) {
		ok(0, "%s: cannot load", name);
		return;
	}
	got = resp_resp(in, MODEL, NULL, route, &err);
	if (got != NULL) {
		json_object_object_get_ex(got, "id", &id);
		snprintf(idcheck, sizeof(idcheck), "%s",
		    json_object_get_string(id));
		ok(strlen(idcheck) == 28 && strncmp(idcheck, "msg_", 4) == 0,
		    "%s: id is msg_ and 24 characters", name);
		normalise(got);
		kind = "out";
	} else {
		got = err_json(&err);
		kind = "err";
	}
	if (regenerate)
		fixture_save(datadir, "resp_resp", name, kind, got);
	want = fixture_load(datadir, "resp_resp", name, kind);
	ok(want != NULL && json_object_equal(got, want), "%s: matches "
	    "%s.%s.json", name, name, kind);
	if (want == NULL)
		printf("#   no %s.%s.json: got %s\n", name, kind,
		    json_object_to_json_string(got));
	else if (!json_object_equal(got, want))
		json_diff(got, want, "$");
	json_object_put(in);
	json_object_put(got);
	json_object_put(want);
}

static void
run_fixtures(const struct model_route *route)
{
	char		 path[1024], name[256];
	DIR		*d;
	struct dirent	*de;
	size_t		 len, n = 0;

	snprintf(path, sizeof(path), "%s/resp_resp", datadir);
	if ((d = opendir(path)) == NULL) {
		ok(0, "fixture directory %s", path);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 9 || strcmp(de->d_name + len - 8, ".in.json") != 0 ||
		    len - 8 >= sizeof(name))
			continue;
		memcpy(name, de->d_name, len - 8);
		name[len - 8] = '\0';
		run_fixture(name, route);
		n++;
	}
	closedir(d);
	ok(n >= 20, "%zu fixtures run", n);
}

/* ---- the reasoning's way back ------------------------------------------- */

static json_object *
block(json_object *m, size_t i)
{
	json_object	*content;

	json_object_object_get_ex(m, "content", &content);
	return json_object_array_get_idx(content, i);
}

static const char *
member(json_object *o, const char *key)
{
	json_object	*v;

	return json_object_object_get_ex(o, key, &v) ?
	    json_object_get_string(v) : NULL;
}

/* what resp_resp puts in a signature, resp_req takes out again */
static void
check_roundtrip(const struct route *rt)
{
	struct xlate_err err;
	json_object	*in, *m, *req, *out, *input, *item;
	char		 body[8192];
	const char	*sig;

	in = fixture_load(datadir, "resp_resp", "reasoning_tools", "in");
	m = resp_resp(in, MODEL, NULL, &rt->r, &err);
	sig = member(block(m, 0), "signature");
	snprintf(body, sizeof(body), "{\"model\":\"m\",\"max_tokens\":100,"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"go\"},"
	    "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\","
	    "\"thinking\":\"t\",\"signature\":\"%s\"},{\"type\":\"text\","
	    "\"text\":\"x\"}]},{\"role\":\"user\",\"content\":\"more\"}]}",
	    sig ? sig : "");
	req = json_tokener_parse(body);
	out = resp_req(req, &rt->r, 0, "req_test", &err);
	json_object_object_get_ex(out, "input", &input);
	item = json_object_array_get_idx(input, 1);
	is_str(member(item, "type"), "reasoning",
	    "roundtrip: the thinking block is a reasoning item again");
	is_str(member(item, "encrypted_content"),
	    member(json_object_array_get_idx(json_object_object_get(in,
	    "output"), 0), "encrypted_content"),
	    "roundtrip: ... with the upstream's encrypted_content");
	json_object_put(out);
	json_object_put(req);
	json_object_put(m);

	/* no route: nothing can be kept */
	m = resp_resp(in, MODEL, NULL, NULL, &err);
	sig = member(block(m, 0), "signature");
	ok(sig != NULL && strncmp(sig, "cpsig_", 6) == 0,
	    "no route: a plain signature");
	json_object_put(m);
	json_object_put(in);
}

/* ---- non-2xx answers: the Chat Completions mapping holds -------------- */

static const struct httperr {
	long		 status;
	const char	*body;
	int		 want_status;
	const char	*want_type;
	const char	*want_prefix;
} httperrs[] = {
	{ 400, "{\"error\":{\"message\":\"Your input exceeds the context "
	    "window of this model. Please adjust your input and try again.\","
	    "\"type\":\"invalid_request_error\",\"param\":\"input\","
	    "\"code\":\"context_length_exceeded\"}}", 400,
	    "invalid_request_error", "prompt is too long: " },
	{ 429, "{\"error\":{\"message\":\"Rate limit reached for gpt-5\","
	    "\"type\":\"tokens\",\"param\":null,\"code\":"
	    "\"rate_limit_exceeded\"}}", 429, "rate_limit_error",
	    "upstream provider \"testprov\" is rate limiting" },
	{ 400, "{\"error\":{\"message\":\"Unsupported parameter: "
	    "'temperature' is not supported with this model.\",\"type\":"
	    "\"invalid_request_error\",\"param\":\"temperature\",\"code\":"
	    "\"unsupported_parameter\"}}", 400, "invalid_request_error",
	    "upstream provider \"testprov\" rejected the request: Unsupported "
	    "parameter" },
	{ 401, "{\"error\":{\"message\":\"Incorrect API key provided: "
	    "sk-proj-abc***xyz.\",\"type\":\"invalid_request_error\","
	    "\"code\":\"invalid_api_key\"}}", 502, "api_error",
	    "upstream provider \"testprov\" rejected the proxy's API key" },
};

static void
check_http_errors(void)
{
	struct xlate_err err;
	size_t		 i;
	const struct httperr *h;

	for (i = 0; i < sizeof(httperrs) / sizeof(httperrs[0]); i++) {
		h = &httperrs[i];
		memset(&err, 0, sizeof(err));
		errmap_http(h->status, h->body, strlen(h->body), "testprov",
		    &err);
		ok(err.status == h->want_status &&
		    strcmp(err.type, h->want_type) == 0 &&
		    strncmp(err.message, h->want_prefix,
		    strlen(h->want_prefix)) == 0,
		    "HTTP %ld from the Responses API -> %d %s", h->status,
		    h->want_status, h->want_type);
		if (err.status != h->want_status ||
		    strncmp(err.message, h->want_prefix,
		    strlen(h->want_prefix)) != 0)
			printf("#   got %d %s '%s'\n", err.status, err.type,
			    err.message);
	}
}

/* in-body errors carry their code: the status it stands for */
static void
check_error_codes(void)
{
	static const struct {
		const char	*code;
		int		 status;
		const char	*type;
	} codes[] = {
		{ "rate_limit_exceeded", 429, "rate_limit_error" },
		{ "server_error", 502, "api_error" },
		{ "server_is_overloaded", 529, "overloaded_error" },
		{ "invalid_image", 400, "invalid_request_error" },
		{ NULL, 502, "api_error" },
	};
	struct xlate_err err;
	size_t		 i;
	const char	*e = "{\"message\":\"it went wrong\"}";

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		resp_error(codes[i].code, e, strlen(e), "testprov", &err);
		ok(err.status == codes[i].status &&
		    strcmp(err.type, codes[i].type) == 0,
		    "error code %s -> %d %s", codes[i].code ? codes[i].code :
		    "(none)", codes[i].status, codes[i].type);
	}
}

/* an upstream that echoes a configured secret into its answer */
static void
check_secrets(const struct route *rt)
{
	static const char key[] = "correct horse battery";
	struct xlate_err err;
	json_object	*in, *m;
	const char	*t, *th;

	ok(secret_add(key, strlen(key)) == 0, "secrets: a key registered");
	in = json_tokener_parse("{\"status\":\"completed\",\"output\":["
	    "{\"type\":\"reasoning\",\"summary\":[{\"type\":"
	    "\"summary_text\",\"text\":\"x correct horse battery y\"}]},"
	    "{\"type\":\"message\",\"content\":[{\"type\":\"output_text\","
	    "\"text\":\"the key is correct horse battery.\"}]}]}");
	m = resp_resp(in, MODEL, NULL, &rt->r, &err);
	th = member(block(m, 0), "thinking");
	t = member(block(m, 1), "text");
	is_str(t, "the key is ***.", "secrets: masked in the text");
	is_str(th, "x *** y", "secrets: masked in the thinking");
	json_object_put(m);
	json_object_put(in);
	secret_clear();
}

int
main(void)
{
	static const struct opts o = { .reasoning = 1 };
	struct route	 rt;

	if ((datadir = getenv("CP_TEST_DATA")) == NULL)
		datadir = "tests/data";
	regenerate = getenv("CP_TEST_REGEN") != NULL;
	route_init(&rt, &o);
	run_fixtures(&rt.r);
	check_roundtrip(&rt);
	check_http_errors();
	check_error_codes();
	check_secrets(&rt);
	return tap_done();
}
