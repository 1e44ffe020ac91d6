/*
 * test_schema: tool schemas rewritten into a strict dialect.
 *
 * Golden fixtures in $CP_TEST_DATA/schema: NAME.in.json is an object of
 * named schemas (Claude Code's real tools, captured; and one case per
 * keyword the dialect rewrites); each is rewritten for gemini and the
 * object of results compared with NAME.gemini.json (CP_TEST_REGEN=1
 * writes it: review the diff). Every result is also held to what the
 * dialect accepts, independently of the golden file: only its keywords,
 * a single type, string enums, anyOf of two or more branches alone,
 * required naming only properties there are. Then: the input is never
 * modified, jsonparse's kept text is rewritten alike, and whole tool
 * arrays of both APIs.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jsonparse.h"
#include "schema.h"
#include "xlate.h"
#include "tap.h"
#include "fixtures.h"
#include "jsondiff.h"

static const char *datadir;

/* ---- what the gemini dialect accepts, checked apart from the code ------- */

static const char *const gemini_keywords[] = {
	"type", "format", "title", "description", "nullable", "enum",
	"default", "example", "properties", "required", "propertyOrdering",
	"minProperties", "maxProperties", "items", "minItems", "maxItems",
	"minLength", "maxLength", "pattern", "minimum", "maximum", "anyOf",
	NULL
};

static int
allowed(const char *k)
{
	size_t	 i;

	for (i = 0; gemini_keywords[i] != NULL; i++)
		if (strcmp(gemini_keywords[i], k) == 0)
			return 1;
	return 0;
}

/* "" if s is in gemini's subset, else what is wrong (at path) */
static void
check_gemini(json_object *s, const char *path, char *why, size_t whysz)
{
	json_object	*v, *props, *x;
	char		 p[512];
	size_t		 i, n;

	if (why[0] != '\0')
		return;
	if (!json_object_is_type(s, json_type_object)) {
		snprintf(why, whysz, "%s: not an object", path);
		return;
	}
	json_object_object_foreach(s, k, val) {
		if (!allowed(k)) {
			snprintf(why, whysz, "%s: keyword %s", path, k);
			return;
		}
		(void)val;
	}
	if (json_object_object_get_ex(s, "type", &v) &&
	    !json_object_is_type(v, json_type_string))
		snprintf(why, whysz, "%s: type is not one string", path);
	if (json_object_object_get_ex(s, "enum", &v)) {
		n = json_object_array_length(v);
		if (n == 0)
			snprintf(why, whysz, "%s: empty enum", path);
		for (i = 0; i < n; i++)
			if (!json_object_is_type(json_object_array_get_idx(v,
			    i), json_type_string))
				snprintf(why, whysz, "%s: enum value not a "
				    "string", path);
	}
	if (json_object_object_get_ex(s, "anyOf", &v)) {
		if (json_object_object_length(s) != 1)
			snprintf(why, whysz, "%s: anyOf with siblings", path);
		if ((n = json_object_array_length(v)) < 2)
			snprintf(why, whysz, "%s: anyOf of %zu", path, n);
		for (i = 0; i < n; i++) {
			snprintf(p, sizeof(p), "%s.anyOf[%zu]", path, i);
			check_gemini(json_object_array_get_idx(v, i), p, why,
			    whysz);
		}
	}
	props = json_object_object_get_ex(s, "properties", &props) ? props :
	    NULL;
	if (json_object_object_get_ex(s, "required", &v)) {
		n = json_object_array_length(v);
		if (n == 0)
			snprintf(why, whysz, "%s: empty required", path);
		for (i = 0; i < n; i++) {
			x = json_object_array_get_idx(v, i);
			if (props == NULL || !json_object_object_get_ex(props,
			    json_object_get_string(x), NULL))
				snprintf(why, whysz, "%s: required %s is no "
				    "property", path, json_object_get_string(x));
		}
	}
	if (props != NULL) {
		json_object_object_foreach(props, pk, pv) {
			snprintf(p, sizeof(p), "%s.properties.%s", path, pk);
			check_gemini(pv, p, why, whysz);
		}
	}
	if (json_object_object_get_ex(s, "items", &v)) {
		snprintf(p, sizeof(p), "%s.items", path);
		check_gemini(v, p, why, whysz);
	}
}

/* ---- golden fixtures ---------------------------------------------------- */

static void
run_fixture(const char *name, const struct schema_dialect *d, int regen)
{
	char		 path[1024], why[512];
	json_object	*in, *got, *want, *r;
	const char	*before;
	char		*copy;

	if ((in = fixture_load(datadir, "schema", name, "in")) == NULL) {
		ok(0, "%s: cannot load", name);
		return;
	}
	copy = strdup(json_object_to_json_string(in));
	got = json_object_new_object();
	json_object_object_foreach(in, k, schema) {
		r = schema_rewrite(schema, d);
		why[0] = '\0';
		check_gemini(r, k, why, sizeof(why));
		is_str(why, "", "%s: %s is in gemini's subset", name, k);
		json_object_object_add(got, k, r);
	}
	before = json_object_to_json_string(in);
	is_str(before, copy, "%s: the input is unchanged", name);
	if (regen) {
		snprintf(path, sizeof(path), "%s/schema/%s.gemini.json",
		    datadir, name);
		json_object_to_file_ext(path, got, JSON_C_TO_STRING_PRETTY |
		    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	}
	want = fixture_load(datadir, "schema", name, "gemini");
	ok(want != NULL && json_object_equal(got, want),
	    "%s: matches %s.gemini.json", name, name);
	if (want != NULL && !json_object_equal(got, want))
		json_diff(got, want, "$");
	free(copy);
	json_object_put(in);
	json_object_put(got);
	json_object_put(want);
}

/* ---- the rest ----------------------------------------------------------- */

static void
check_dialects(void)
{
	ok(schema_dialect("gemini") != NULL, "dialect: gemini exists");
	ok(schema_dialect("GEMINI") == NULL && schema_dialect("") == NULL &&
	    schema_dialect(NULL) == NULL, "dialect: other names do not");
	is_str(schema_dialect_names[0], "gemini", "dialect: names listed");
	ok(schema_dialect_names[1] == NULL, "dialect: ... NULL-terminated");
}

static json_object *
parse_request(const char *path)
{
	static const struct jsonparse_opts opts = { 64, 0, xlate_req_opaque };
	struct jsonlex_err	 err;
	json_object		*o;
	FILE			*f;
	char			*text;
	long			 n;
	size_t			 len, end;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = malloc((size_t)n + 1);
	len = fread(text, 1, (size_t)n, f);
	fclose(f);
	o = jsonparse(text, len, &opts, &end, &err);
	free(text);
	return o;
}

/* jsonparse keeps tool schemas as text: rewritten alike */
static void
check_opaque(const struct schema_dialect *d)
{
	char		 path[1024];
	json_object	*req, *plain, *tools, *schema, *a, *b;
	size_t		 i, n, same = 0, opaque = 0;

	snprintf(path, sizeof(path), "%s/xlate_req/claude_code.in.json",
	    datadir);
	req = parse_request(path);
	plain = json_object_from_file(path);
	json_object_object_get_ex(req, "tools", &tools);
	n = json_object_array_length(tools);
	for (i = 0; i < n; i++) {
		if (!json_object_object_get_ex(json_object_array_get_idx(tools,
		    i), "input_schema", &schema))
			continue;
		opaque += jsonparse_is_opaque(schema);
		a = schema_rewrite(schema, d);
		json_object_object_get_ex(json_object_array_get_idx(
		    json_object_object_get(plain, "tools"), i), "input_schema",
		    &schema);
		b = schema_rewrite(schema, d);
		same += a != NULL && json_object_equal(a, b);
		json_object_put(a);
		json_object_put(b);
	}
	ok(opaque >= 20, "opaque: the parser kept %zu schemas as text",
	    opaque);
	is_int(same, opaque, "opaque: each rewritten as its parsed form is");
	json_object_put(req);
	json_object_put(plain);
}

static void
check_tools(const struct schema_dialect *d)
{
	json_object	*chat, *resp, *p;
	const char	*s;

	chat = json_tokener_parse("[{\"type\":\"function\",\"function\":{"
	    "\"name\":\"a\",\"parameters\":{\"$schema\":\"x\",\"type\":"
	    "\"object\",\"properties\":{\"n\":{\"type\":\"integer\","
	    "\"exclusiveMinimum\":0}}}}},{\"type\":\"function\",\"function\":"
	    "{\"name\":\"b\"}}]");
	resp = json_tokener_parse("[{\"type\":\"function\",\"name\":\"a\","
	    "\"parameters\":{\"type\":\"object\",\"additionalProperties\":"
	    "false,\"properties\":{}},\"strict\":false}]");
	is_int(schema_rewrite_tools(chat, d), 0, "tools: Chat Completions");
	p = json_object_object_get(json_object_object_get(
	    json_object_array_get_idx(chat, 0), "function"), "parameters");
	s = json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN);
	is_str(s, "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":"
	    "\"integer\",\"minimum\":1}}}", "tools: ... parameters rewritten");
	ok(json_object_object_get(json_object_object_get(
	    json_object_array_get_idx(chat, 1), "function"), "parameters") ==
	    NULL, "tools: ... a tool without parameters left so");
	is_int(schema_rewrite_tools(resp, d), 0, "tools: Responses API");
	p = json_object_object_get(json_object_array_get_idx(resp, 0),
	    "parameters");
	is_str(json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN),
	    "{\"type\":\"object\",\"properties\":{}}",
	    "tools: ... flat parameters rewritten");
	is_int(schema_rewrite_tools(NULL, d), 0, "tools: none, nothing");
	json_object_put(chat);
	json_object_put(resp);
}

/* a schema that inlines itself, and one that would explode: bounded */
static void
check_bounds(const struct schema_dialect *d)
{
	json_object	*in, *out;
	const char	*s;

	in = json_tokener_parse("{\"$defs\":{\"T\":{\"type\":\"object\","
	    "\"properties\":{\"next\":{\"$ref\":\"#/$defs/T\"}}}},"
	    "\"$ref\":\"#/$defs/T\"}");
	out = schema_rewrite(in, d);
	s = out ? json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN) :
	    "";
	ok(out != NULL && strlen(s) < 2000 && strstr(s, "$ref") == NULL,
	    "bounds: a recursive $ref is cut off (%zu bytes)", strlen(s));
	json_object_put(out);
	json_object_put(in);

	/* ten definitions, each using the one before twice: 2^10 copies */
	{
		char	 buf[4096];
		size_t	 len;
		int	 i;

		len = (size_t)snprintf(buf, sizeof(buf), "{\"$defs\":{\"D0\":"
		    "{\"type\":\"string\"}");
		for (i = 1; i < 10; i++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len,
			    ",\"D%d\":{\"type\":\"object\",\"properties\":{"
			    "\"a\":{\"$ref\":\"#/$defs/D%d\"},\"b\":{\"$ref\":"
			    "\"#/$defs/D%d\"}}}", i, i - 1, i - 1);
		snprintf(buf + len, sizeof(buf) - len, "},\"$ref\":"
		    "\"#/$defs/D9\"}");
		in = json_tokener_parse(buf);
		out = schema_rewrite(in, d);
		ok(out != NULL, "bounds: an exploding schema still rewrites");
		json_object_put(out);
		json_object_put(in);
	}
}

int
main(void)
{
	const struct schema_dialect	*d;
	int				 regen = getenv("CP_TEST_REGEN") != NULL;

	if ((datadir = getenv("CP_TEST_DATA")) == NULL)
		datadir = "tests/data";
	check_dialects();
	d = schema_dialect("gemini");
	run_fixture("claude_code_2_1_332_tools", d, regen);
	run_fixture("claude_code_tools", d, regen);
	run_fixture("keywords", d, regen);
	check_opaque(d);
	check_tools(d);
	check_bounds(d);
	return tap_done();
}
