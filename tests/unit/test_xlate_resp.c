/*
 * test_xlate_resp: OpenAI answers -> Anthropic messages (and the errors
 * inside 2xx answers, worded by errmap).
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
#include "tokens.h"
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
		got = xlate_resp(in, MODEL, NULL, &err);
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
/* no usage from the upstream: estimated as streams estimate it */
static void
test_usage_estimate(void)
{
	struct xlate_err  err;
	json_object	 *req, *in, *out, *u;
	int64_t		  want_in;

	req = json_tokener_parse("{\"model\":\"m\",\"max_tokens\":9,"
	    "\"system\":\"You answer questions about the weather.\","
	    "\"messages\":[{\"role\":\"user\",\"content\":\"Will it rain "
	    "in Paris tomorrow afternoon?\"}]}");
	want_in = tokens_estimate_request(req);
	in = json_tokener_parse("{\"choices\":[{\"message\":{\"content\":"
	    "\"Probably not.\",\"reasoning_content\":\"abc\",\"tool_calls\":"
	    "[{\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":"
	    "\"{\\\"x\\\":1}\"}}]},\"finish_reason\":\"tool_calls\"}]}");
	out = xlate_resp(in, MODEL, req, &err);
	u = json_object_object_get(out, "usage");
	ok(want_in > 10, "the request has an estimate (%lld)", (long long)want_in);
	is_int(json_object_get_int64(json_object_object_get(u, "input_tokens")),
	    want_in, "no upstream usage: input_tokens is the request's estimate");
	/* "Probably not." 13 + "abc" 3 + {"x":1} 7 bytes = 23 -> 6 */
	is_int(json_object_get_int64(json_object_object_get(u,
	    "output_tokens")), 6, "no upstream usage: output_tokens from "
	    "the bytes written");
	json_object_put(out);
	json_object_put(in);

	in = json_tokener_parse("{\"choices\":[{\"message\":{\"content\":"
	    "\"x\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":"
	    "7,\"completion_tokens\":2}}");
	out = xlate_resp(in, MODEL, req, &err);
	u = json_object_object_get(out, "usage");
	ok(json_object_get_int64(json_object_object_get(u, "input_tokens")) ==
	    7 && json_object_get_int64(json_object_object_get(u,
	    "output_tokens")) == 2, "upstream usage wins over the estimate");
	json_object_put(out);
	json_object_put(in);
	json_object_put(req);
}

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
	out = xlate_resp(in, MODEL, NULL, &err);
	c = json_object_array_get_idx(json_object_object_get(out, "content"),
	    0);
	sig = json_object_get_string(json_object_object_get(c, "signature"));
	ok(sig != NULL && strlen(sig) == 38 && strncmp(sig, "cpsig_", 6) == 0,
	    "thinking signature: cpsig_ and 32 characters, as streams make it");
	strlcpy(sig1, sig != NULL ? sig : "", sizeof(sig1));
	json_object_put(out);
	out = xlate_resp(in, NULL, NULL, &err);
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
	ok(xlate_resp(in, MODEL, NULL, &err) == NULL && err.status == 502,
	    "array body refused");
	is_str(err.message, "upstream returned no choices",
	    "array body: message");
	json_object_put(in);
	ok(xlate_resp(NULL, MODEL, NULL, &err) == NULL && err.status == 502,
	    "NULL body refused");
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
	test_usage_estimate();
	return tap_done();
}
