/*
 * test_resp_req: Anthropic -> OpenAI Responses request translation.
 *
 * Golden fixtures: DIR/NAME.in.json (DIR is resp_req, or xlate_req for the
 * inputs both translators are tested with) is translated with the route
 * in fixtures[] and compared, as JSON values, with resp_req/NAME.out.json
 * (CP_TEST_REGEN=1 writes them: review the diff). Then every bad request
 * xlate_req refuses must be refused with the same message, and the
 * behaviour the fixtures do not show.
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
#include "resp.h"
#include "xlate.h"
#include "tap.h"
#include "fixtures.h"
#include "jsondiff.h"
#include "testroute.h"

static const struct fixture {
	const char	*name;
	const char	*indir;		/* where NAME.in.json is */
	struct opts	 o;
} fixtures[] = {
	{ "claude_code", "xlate_req", { 1, 8192, 1, 0, 0, 1, "gpt-5" } },
	{ "claude_code_2_1_332", "xlate_req", { 1, 8192, 1, 0, 0, 1,
	    "gpt-5" } },
	{ "system_fold", "xlate_req", { 0 } },
	{ "system_attribution_kept", "xlate_req", { .keep_attribution = 1 } },
	{ "user_media", "xlate_req", { .pdf = 1 } },
	{ "server_tool_history", "xlate_req", { 0 } },
	{ "tools_deferred_toolsearch", "xlate_req", { .stream = 1 } },
	{ "tools_choice_tool", "xlate_req", { 0 } },
	{ "tools_choice_any", "xlate_req", { 0 } },
	{ "tools_choice_none", "xlate_req", { 0 } },
	{ "reasoning_budget_low", "xlate_req", { .reasoning = 1 } },
	{ "reasoning_adaptive_effort", "xlate_req", { .reasoning = 1 } },
	{ "reasoning_not_configured", "xlate_req", { 0 } },
	{ "max_tokens_capped", "xlate_req", { .cap = 8192 } },
	{ "tool_results", "xlate_req", { 0 } },
	{ "tool_use_unanswered", "xlate_req", { 0 } },
	{ "tool_result_documents", "xlate_req", { .pdf = 1 } },
	{ "assistant_blocks", "xlate_req", { .reasoning = 1 } },
	{ "params_top_k", "xlate_req", { .stream = 1, .top_k = 1 } },
	{ "reasoning_roundtrip", "resp_req", { .reasoning = 1 } },
	{ "reasoning_disabled", "resp_req", { .reasoning = 1 } },
};

#define NFIXTURES	(sizeof(fixtures) / sizeof(fixtures[0]))

static const char *datadir;

static void
run_fixture(const struct fixture *f, int regenerate)
{
	struct route	 rt;
	struct xlate_err err;
	json_object	*in, *want, *got = NULL;
	int		 same;

	memset(&err, 0, sizeof(err));
	route_init(&rt, &f->o);
	in = fixture_load(datadir, f->indir, f->name, "in");
	if (in != NULL)
		got = resp_req(in, &rt.r, f->o.stream, "req_test", &err);
	if (regenerate && got != NULL)
		fixture_save(datadir, "resp_req", f->name, "out", got);
	want = fixture_load(datadir, "resp_req", f->name, "out");
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

#include "bad_requests.h"

#define NBAD	(sizeof(bad) / sizeof(bad[0]))

/* one walk, one set of messages: what xlate_req refuses, so does this */
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
		got = resp_req(in, &rt.r, 0, "req_test", &err);
	good = in != NULL && got == NULL && err.status == 400 &&
	    strcmp(err.type, "invalid_request_error") == 0 &&
	    strcmp(err.message, b->message) == 0 &&
	    err.provider_limit == (strstr(b->message, "PDF documents") != NULL);
	ok(good, "rejects: %s", b->message);
	if (!good)
		printf("#   got  %d %s '%s'\n#   want 400 invalid_request_error "
		    "'%s'\n", err.status, err.type, err.message, b->message);
	json_object_put(got);
	json_object_put(in);
}

/* ---- behaviour the fixtures do not show --------------------------------- */

static json_object *
translate(const char *json, const struct opts *o)
{
	struct route	 rt;
	struct xlate_err err;
	json_object	*in, *out = NULL;

	route_init(&rt, o);
	if ((in = json_tokener_parse(json)) != NULL)
		out = resp_req(in, &rt.r, o->stream, "req_test", &err);
	json_object_put(in);
	return out;
}

static const char *
str_at(json_object *o, const char *k1, const char *k2)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, k1, &v))
		return NULL;
	if (k2 != NULL && !json_object_object_get_ex(v, k2, &v))
		return NULL;
	return json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

static void
check_min_output_tokens(void)
{
	static const struct opts o = { 0 };
	json_object	*out, *v;

	/* Claude Code's quota probe asks for one token */
	out = translate("{\"model\":\"m\",\"max_tokens\":1," HI "}", &o);
	ok(out != NULL && json_object_object_get_ex(out, "max_output_tokens",
	    &v) && json_object_get_int64(v) == RESP_MIN_OUTPUT_TOKENS,
	    "max_tokens 1 becomes the API's minimum of %d",
	    RESP_MIN_OUTPUT_TOKENS);
	json_object_put(out);
}

/* signatures: what resp_resp makes, resp_req takes back, and only that */
static void
check_signatures(void)
{
	static const struct opts o = { .reasoning = 1 };
	struct route	 rt;
	struct buf	 sig = BUF_INITIALIZER;
	char		 key[RESP_SIG_KEY_SIZE], other[RESP_SIG_KEY_SIZE];
	const char	*enc, *why;
	size_t		 len;

	route_init(&rt, &o);
	resp_sig_key(&rt.r, key);
	is_str(key, "8bce7b9701a5e5a3", "sig: the key of testprov/test-remote");
	rt.m.remote_id = "gpt-5";
	resp_sig_key(&rt.r, other);
	ok(strcmp(key, other) != 0, "sig: another model, another key");

	is_int(resp_sig_encode(&sig, key, "gAAAAB-x_y=", 11), 1,
	    "sig: encrypted content is carried");
	is_str(sig.data, "cprs_1_8bce7b9701a5e5a3_gAAAAB-x_y=",
	    "sig: prefix, key, content");
	enc = resp_sig_decode(sig.data, sig.len, key, &len, &why);
	ok(enc != NULL && len == 11 && memcmp(enc, "gAAAAB-x_y=", 11) == 0,
	    "sig: and taken back");
	ok(resp_sig_decode(sig.data, sig.len, other, &len, &why) == NULL &&
	    strstr(why, "another provider") != NULL,
	    "sig: not for another provider or model");
	ok(resp_sig_decode("cprs_1_8bce7b97", 15, key, &len, &why) == NULL &&
	    strstr(why, "damaged") != NULL, "sig: too short is damaged");
	ok(resp_sig_decode("cpsig_abc", 9, key, &len, &why) == NULL &&
	    strstr(why, "no reasoning") != NULL,
	    "sig: a Chat Completions signature carries nothing");
	ok(resp_sig_decode("EqoBCkgIARAB", 12, key, &len, &why) == NULL,
	    "sig: nor does Anthropic's own");

	buf_reset(&sig);
	is_int(resp_sig_encode(&sig, key, NULL, 0), 0,
	    "sig: nothing to carry: a plain signature");
	ok(strncmp(sig.data, "cpsig_", 6) == 0 && sig.len == 38,
	    "sig: ... cpsig_ and 32 characters");
	buf_reset(&sig);
	is_int(resp_sig_encode(&sig, NULL, "abc", 3), 0,
	    "sig: no key (no route): a plain signature");
	buf_free(&sig);
	{
		char	*big = malloc(RESP_SIG_MAX + 1);

		memset(big, 'A', RESP_SIG_MAX + 1);
		is_int(resp_sig_encode(&sig, key, big, RESP_SIG_MAX + 1), 0,
		    "sig: content beyond RESP_SIG_MAX is not carried");
		ok(sig.len < 64, "sig: ... and the signature stays short");
		buf_reset(&sig);
		is_int(resp_sig_encode(&sig, key, big, RESP_SIG_MAX), 1,
		    "sig: RESP_SIG_MAX itself is carried");
		ok(resp_sig_decode(sig.data, sig.len, key, &len, &why) !=
		    NULL && len == RESP_SIG_MAX, "sig: ... and taken back");
		free(big);
		buf_free(&sig);
	}
}

/* a thinking block carrying reasoning goes back only to its own model */
static void
check_reasoning_elsewhere(void)
{
	static const struct opts mine = { .reasoning = 1 };
	static const struct opts theirs = { .reasoning = 1,
	    .remote_id = "gpt-5" };
	static const char req[] = "{\"model\":\"m\",\"max_tokens\":100,"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
	    "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\","
	    "\"thinking\":\"hm\",\"signature\":"
	    "\"cprs_1_8bce7b9701a5e5a3_gAAAAB\"},{\"type\":\"text\","
	    "\"text\":\"b\"}]},{\"role\":\"user\",\"content\":\"c\"}]}";
	json_object	*out, *input;

	out = translate(req, &mine);
	json_object_object_get_ex(out, "input", &input);
	is_str(str_at(json_object_array_get_idx(input, 1), "type", NULL),
	    "reasoning", "reasoning: back to the model that made it");
	is_str(str_at(json_object_array_get_idx(input, 1),
	    "encrypted_content", NULL), "gAAAAB",
	    "reasoning: with its encrypted content");
	json_object_put(out);

	out = translate(req, &theirs);
	json_object_object_get_ex(out, "input", &input);
	is_int(json_object_array_length(input), 3,
	    "reasoning: not to another model");
	is_str(str_at(json_object_array_get_idx(input, 1), "type", NULL),
	    "message", "reasoning: ... whose turn keeps its text");
	json_object_put(out);
}

/* a result with no call before it: as xlate_req, no error; the API
 * would refuse it as an output, so it is the user's text */
static void
check_stray_only(void)
{
	static const struct opts o = { 0 };
	json_object	*out, *input, *m, *c;

	out = translate("{\"model\":\"m\",\"max_tokens\":10,\"messages\":"
	    "[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
	    "\"tool_use_id\":\"toolu_m\",\"content\":\"running\"}]}]}", &o);
	ok(out != NULL, "stray: a lone tool result is no error");
	json_object_object_get_ex(out, "input", &input);
	m = json_object_array_get_idx(input, 0);
	json_object_object_get_ex(m, "content", &c);
	is_str(str_at(json_object_array_get_idx(c, 0), "text", NULL),
	    "[result of tool call toolu_m]\nrunning",
	    "stray: ... it is the user's text");
	json_object_put(out);
}

int
main(void)
{
	size_t	 i;
	int	 regenerate = getenv("CP_TEST_REGEN") != NULL;

	if ((datadir = getenv("CP_TEST_DATA")) == NULL)
		datadir = "tests/data";
	fixtures_all_listed(datadir, "resp_req", fixtures, NFIXTURES,
	    sizeof(fixtures[0]));
	for (i = 0; i < NFIXTURES; i++)
		run_fixture(&fixtures[i], regenerate);
	for (i = 0; i < NBAD; i++)
		run_bad(&bad[i]);
	check_min_output_tokens();
	check_signatures();
	check_reasoning_elsewhere();
	check_stray_only();
	return tap_done();
}
