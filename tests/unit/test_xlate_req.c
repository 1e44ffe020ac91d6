/*
 * test_xlate_req: Anthropic -> OpenAI request translation.
 *
 * Golden fixtures: $CP_TEST_DATA/xlate_req/NAME.in.json is translated with
 * the route in fixtures[] and compared, as JSON values, with NAME.out.json.
 * Then a table of bad requests, each with the exact error message.
 */
#include <sys/types.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "conf.h"
#include "models.h"
#include "xlate.h"
#include "tap.h"
#include "jsondiff.h"
#include "testroute.h"

static const struct fixture {
	const char	*name;
	struct opts	 o;
} fixtures[] = {
	{ "claude_code", { 1, 8192, 1, 0, 0, 1, "glm-4.6" } },
	{ "claude_code_2_1_332", { 1, 8192, 1, 0, 0, 1, "glm-4.6" } },
	{ "system_attribution_string", { 0 } },
	{ "system_attribution_kept", { .keep_attribution = 1 } },
	{ "minimal", { 0 } },
	{ "system_fold", { 0 } },
	{ "system_only_in_messages", { 0 } },
	{ "user_media", { .pdf = 1 } },
	{ "user_texts", { 0 } },
	{ "tool_results", { 0 } },
	{ "tool_use_unanswered", { 0 } },
	{ "merge_thinking_only", { 0 } },
	{ "merge_mid_system", { 0 } },
	{ "tool_result_documents", { .pdf = 1 } },
	{ "assistant_blocks", { .reasoning = 1 } },
	{ "server_tool_history", { 0 } },
	{ "server_tools_offered", { .web = 1 } },
	{ "tools_choice_tool", { 0 } },
	{ "tools_choice_any", { 0 } },
	{ "tools_choice_none", { 0 } },
	{ "tools_choice_auto", { 0 } },
	{ "tools_all_dropped", { 0 } },
	{ "tools_deferred_toolsearch", { .stream = 1 } },
	{ "tools_deferred_used", { 0 } },
	{ "params_top_k", { .stream = 1, .top_k = 1 } },
	{ "params_no_top_k", { .include_usage = 1 } },
	{ "reasoning_budget_low", { .reasoning = 1 } },
	{ "reasoning_budget_medium", { .reasoning = 1 } },
	{ "reasoning_budget_high", { .reasoning = 1 } },
	{ "reasoning_adaptive", { .reasoning = 1 } },
	{ "reasoning_adaptive_effort", { .reasoning = 1 } },
	{ "reasoning_effort_max", { .reasoning = 1 } },
	{ "reasoning_effort_only", { .reasoning = 1 } },
	{ "reasoning_effort_unknown", { .reasoning = 1 } },
	{ "reasoning_disabled", { .reasoning = 1 } },
	{ "reasoning_not_configured", { 0 } },
	{ "max_tokens_capped", { .cap = 8192 } },
	{ "max_tokens_under_cap", { .cap = 32000 } },
};

#define NFIXTURES	(sizeof(fixtures) / sizeof(fixtures[0]))

static const char *datadir;

/* the proxy runs web_search and web_fetch (fixtures with .web) */
static struct conf web_conf = {
	.web_search = { .backend = "tavily" },
	.web_fetch = { .enabled = 1 },
};

static json_object *
load(const char *name, const char *suffix)
{
	char	 path[1024];

	snprintf(path, sizeof(path), "%s/xlate_req/%s.%s.json", datadir, name,
	    suffix);
	return json_object_from_file(path);
}

static void
run_fixture(const struct fixture *f)
{
	struct route	 rt;
	struct xlate_err err;
	json_object	*in, *want, *got = NULL;
	int		 same;

	memset(&err, 0, sizeof(err));
	route_init(&rt, &f->o);
	conf = f->o.web ? &web_conf : NULL;
	in = load(f->name, "in");
	want = load(f->name, "out");
	if (in != NULL && want != NULL)
		got = xlate_req(in, &rt.r, f->o.stream, "req_test", &err);
	/* the output must not lean on the input */
	json_object_put(in);
	same = got != NULL && json_object_equal(got, want);
	ok(same, "fixture %s", f->name);
	if (in == NULL || want == NULL)
		printf("#   cannot load the fixture\n");
	else if (got == NULL)
		printf("#   error %d %s: %s\n", err.status, err.type,
		    err.message);
	else if (!same)
		json_diff(got, want, "$");
	json_object_put(got);
	json_object_put(want);
}

/* every NAME.in.json in the directory has a row in fixtures[] */
static void
all_fixtures_listed(void)
{
	char		 path[1024], name[256];
	DIR		*d;
	struct dirent	*de;
	size_t		 i, len, missing = 0;

	snprintf(path, sizeof(path), "%s/xlate_req", datadir);
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
		for (i = 0; i < NFIXTURES; i++)
			if (strcmp(fixtures[i].name, name) == 0)
				break;
		if (i == NFIXTURES) {
			printf("#   %s is not in fixtures[]\n", name);
			missing++;
		}
	}
	closedir(d);
	ok(missing == 0, "every fixture file is run");
}

#include "bad_requests.h"

#define NBAD	(sizeof(bad) / sizeof(bad[0]))

static void
run_bad(const struct bad *b)
{
	static const struct opts o = { 0 };
	struct route	 rt;
	struct xlate_err err;
	json_object	*in, *got = NULL;
	int		 good;

	memset(&err, 0, sizeof(err));
	route_init(&rt, &o);
	if ((in = json_tokener_parse(b->json)) != NULL)
		got = xlate_req(in, &rt.r, 0, "req_test", &err);
	/* only a PDF refusal is the provider's limit, which the next
	 * provider of a chain may not have */
	good = in != NULL && got == NULL && err.status == 400 &&
	    strcmp(err.type, "invalid_request_error") == 0 &&
	    strcmp(err.message, b->message) == 0 &&
	    err.provider_limit == (strstr(b->message, "PDF documents") != NULL);
	ok(good, "rejects: %s", b->message);
	if (!good) {
		if (in == NULL)
			printf("#   test JSON does not parse: %s\n", b->json);
		printf("#   got  %d %s '%s'\n#   want 400 invalid_request_error "
		    "'%s'\n", err.status, err.type, err.message, b->message);
	}
	json_object_put(got);
	json_object_put(in);
}

/* metadata.user_id -> user: short, stable per user, never the raw value */
#define CC_UID(acct, sess) "{\\\"device_id\\\":\\\"b755ef8a8cec46301f6531ba60abeb40f95e02" \
	"cb83a651e9951f34072bc57216\\\",\\\"account_uuid\\\":\\\"" acct "\\\"," \
	"\\\"session_id\\\":\\\"" sess "\\\"}"

static const struct user_case {
	const char	*user_id;	/* as a JSON string literal's inside */
	const char	*user;
	const char	*what;
} user_cases[] = {
	{ CC_UID("3c1e8a2b-5d4f-4e6a-9b7c-0d1e2f3a4b5c",
	    "f92e304e-90e8-4449-b410-7a4b0111a41c"),
	    "cp_e3f6c306997ba90184142fdd900fdb6e",
	    "Claude Code's JSON: the account" },
	{ CC_UID("3c1e8a2b-5d4f-4e6a-9b7c-0d1e2f3a4b5c",
	    "00000000-90e8-4449-b410-7a4b0111a41c"),
	    "cp_e3f6c306997ba90184142fdd900fdb6e",
	    "Claude Code's JSON: the same for another session" },
	{ CC_UID("", "f92e304e-90e8-4449-b410-7a4b0111a41c"),
	    "cp_e530e0f37f1b145e08947b353123f028",
	    "Claude Code's JSON without an account: the device" },
	{ "user_2f1c5e0a9b7d4c3e8f6a1b2c3d4e5f60718293a4b5c6d7e8f90123456789ab"
	    "_account_3c1e8a2b-5d4f-4e6a-9b7c-0d1e2f3a4b5c_session_OTHER",
	    "cp_21fe9277c56559c5e9cc1d18dc57e33d",
	    "older Claude Code: the session left out" },
	{ "alice", "cp_2bd806c97f0e00af1a1fc3328fa763a9", "any string, hashed" },
	{ "{\\\"session_id\\\":\\\"x\\\"}", "cp_32b09e495ac3a937b58972da60fc2fe9",
	    "JSON naming no user: hashed whole" },
};

static void
check_user_ids(void)
{
	static const struct opts o = { 0 };
	struct route	 rt;
	struct xlate_err err;
	json_object	*in, *out, *u;
	char		 body[1024];
	const char	*got;
	size_t		 i;

	route_init(&rt, &o);
	for (i = 0; i < sizeof(user_cases) / sizeof(user_cases[0]); i++) {
		snprintf(body, sizeof(body), "{" M HI ",\"metadata\":{"
		    "\"user_id\":\"%s\"}}", user_cases[i].user_id);
		out = NULL;
		if ((in = json_tokener_parse(body)) != NULL)
			out = xlate_req(in, &rt.r, 0, "req_test", &err);
		got = json_object_object_get_ex(out, "user", &u) ?
		    json_object_get_string(u) : "(none)";
		is_str(got, user_cases[i].user, "user: %s",
		    user_cases[i].what);
		ok(strlen(got) <= 64, "user: at most 64 characters");
		json_object_put(out);
		json_object_put(in);
	}
}

/* count_tokens bodies: max_tokens optional, the rest checked alike */
static void
check_count_tokens(void)
{
	struct xlate_err err;
	json_object	*in;

	memset(&err, 0, sizeof(err));
	in = json_tokener_parse("{\"model\":\"m\"," HI ",\"tools\":[{\"type\":"
	    "\"web_search_20250305\",\"name\":\"web_search\"}]}");
	is_int(xlate_req_check(in, &err), 0,
	    "count_tokens body without max_tokens passes");
	json_object_put(in);

	in = json_tokener_parse("{\"model\":\"m\"," U("{\"type\":\"document\","
	    "\"source\":{\"type\":\"base64\",\"media_type\":\"application/pdf\","
	    "\"data\":\"JVBE\"}}"));
	is_int(xlate_req_check(in, &err), 0,
	    "count_tokens accepts PDFs whatever the provider");
	json_object_put(in);

	in = json_tokener_parse("{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":[{\"type\":\"text\"}]}]}");
	ok(xlate_req_check(in, &err) == -1 && err.status == 400 &&
	    strcmp(err.message, "messages[0].content[0].text: field required")
	    == 0, "count_tokens body errors name the field");
	json_object_put(in);

	/* a tool_choice naming a server tool the proxy runs: count_tokens
	 * validates the tools as xlate_req forwards them (found by fuzzing) */
	conf = &web_conf;
	in = json_tokener_parse("{\"model\":\"m\"," HI ",\"tools\":[{\"name\":"
	    "\"a\",\"input_schema\":{}},{\"type\":\"web_search_20250305\","
	    "\"name\":\"web_search\"}],\"tool_choice\":{\"type\":\"tool\","
	    "\"name\":\"web_search\"}}");
	is_int(xlate_req_check(in, &err), 0,
	    "count_tokens takes a tool_choice that names web_search");
	json_object_put(in);
	in = json_tokener_parse("{\"model\":\"m\"," HI ",\"tools\":[{\"type\":"
	    "\"web_search_20250305\",\"name\":\"web_search\",\"max_uses\":0}]}");
	ok(xlate_req_check(in, &err) == -1 && strcmp(err.message,
	    "tools[0].max_uses: must be a positive integer") == 0,
	    "count_tokens checks a server tool's definition");
	json_object_put(in);
	conf = NULL;

	in = json_tokener_parse("{\"model\":\"m\",\"max_tokens\":0," HI "}");
	ok(xlate_req_check(in, &err) == -1 && strcmp(err.message,
	    "max_tokens: must be a positive integer") == 0,
	    "count_tokens still checks a max_tokens it is given");
	json_object_put(in);
}

int
main(void)
{
	size_t	 i;

	if ((datadir = getenv("CP_TEST_DATA")) == NULL)
		datadir = "tests/data";
	all_fixtures_listed();
	for (i = 0; i < NFIXTURES; i++)
		run_fixture(&fixtures[i]);
	for (i = 0; i < NBAD; i++)
		run_bad(&bad[i]);
	check_user_ids();
	check_count_tokens();
	return tap_done();
}
