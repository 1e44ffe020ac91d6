/*
 * test_jsonparse: our parser against json-c's own, the oracle.
 *
 * Every accepted text must give the tree json_tokener gives (compared as
 * json-c's serialisation, which is exact: same types, same number text,
 * same decoded strings). Then what we refuse on purpose (RFC 8259 is
 * stricter than json-c's STRICT mode), error offsets, nesting, opaque
 * paths, every fixture in tests/data, and a few thousand generated
 * documents cut and mutated at random offsets. jsonscan, the token-array
 * reader on the same lexer, must accept exactly what jsonparse accepts and
 * read the same values from it.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jsonparse.h"
#include "jsonscan.h"
#include "tap.h"

#define FLAGS	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static const struct jsonparse_opts plain = { 64, 0, NULL };

/* json-c's answer: 1 and *out (a malloc'd serialisation) when it accepts
 * the whole text (trailing whitespace allowed), 0 when not */
static int
oracle(const char *s, size_t len, char **out)
{
	json_tokener	*t = json_tokener_new_ex(64);
	json_object	*o;
	char		*padded;
	size_t		 end;
	int		 good;

	/* a space ends a top-level number, which json-c otherwise waits
	 * to see continued */
	if ((padded = malloc(len + 1)) == NULL)
		abort();
	memcpy(padded, s, len);
	padded[len++] = ' ';
	s = padded;
	json_tokener_set_flags(t, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(t, s, (int)len);
	good = json_tokener_get_error(t) == json_tokener_success;
	end = json_tokener_get_parse_end(t);
	while (good && end < len && strchr(" \t\r\n", s[end]) && s[end])
		end++;
	good = good && end == len;
	*out = good ? strdup(o ? json_object_to_json_string_ext(o, FLAGS) :
	    "null") : NULL;
	json_object_put(o);
	json_tokener_free(t);
	free(padded);
	return good;
}

/* s read back by json-c and serialised again: long strings keep their
 * source escapes in our output ("\u00e9" where json-c writes the byte) */
static char *
normal(const char *s)
{
	json_tokener	*t = json_tokener_new_ex(64);
	json_object	*o = json_tokener_parse_ex(t, s, (int)strlen(s) + 1);
	char		*n;

	json_tokener_free(t);
	n = strdup(o ? json_object_to_json_string_ext(o, FLAGS) : "null");
	json_object_put(o);
	return n;
}

/* ours: same contract, err filled when it refuses */
static int
ours(const char *s, size_t len, const struct jsonparse_opts *o, char **out,
    struct jsonlex_err *err)
{
	json_object	*v;

	*out = NULL;
	v = jsonparse_whole(s, len, o, err);
	if (err->what != NULL)
		return 0;
	*out = normal(v ? json_object_to_json_string_ext(v, FLAGS) : "null");
	json_object_put(v);
	return 1;
}

/* 1 when both agree (both refuse, or both accept with the same tree) */
static int
agree_but(const char *s, size_t len, int *accepted, int stricter)
{
	struct jsonlex_err	 err;
	char			*a, *b;
	int			 ga, gb, same;

	ga = oracle(s, len, &a);
	gb = ours(s, len, &plain, &b, &err);
	same = ga == gb && (!ga || strcmp(a, b) == 0);
	/* where RFC 8259 is stricter than json-c: "1.", raw controls, and
	 * "00" (json-c takes a top-level leading zero) */
	if (!same && stricter && ga && !gb && (strcmp(err.what,
	    "unexpected characters after the top-level value") == 0 ||
	    strcmp(err.what, "number expected") == 0 ||
	    strcmp(err.what, "control character in string") == 0))
		same = 1;
	if (!same)
		printf("#   json-c %s: %s\n#   ours   %s: %s\n",
		    ga ? "accepts" : "refuses", a ? a : "",
		    gb ? "accepts" : "refuses", b ? b : err.what);
	if (accepted != NULL)
		*accepted = ga;
	free(a);
	free(b);
	return same;
}

static int
agree(const char *s, size_t len, int *accepted)
{
	return agree_but(s, len, accepted, 0);
}

static void
test_agreement(void)
{
	static const char *const cases[] = {
		"{}", "[]", "0", "-0", "1", "-1", "\"\"", "true", "false",
		"null", "[null]", "{\"a\":null}", " [ 1 , 2 ] ",
		"9223372036854775807", "9223372036854775808",
		"-9223372036854775808", "-9223372036854775809",
		"18446744073709551615", "18446744073709551616",
		"99999999999999999999999", "-99999999999999999999999",
		"1.0", "1e2", "1E+2", "1e-2", "-0.0", "0.1e-400", "1e400",
		"123456789012345678901234567890.5",
		"[1.5e3,2.25,-3.125E-7]",
		"\"\\ud800\"", "\"\\ud800x\"", "\"\\udc00\"",
		"\"\\ud83d\\ude00\"", "\"\\ud800\\u0041\"", "\"\\ud800\\ud800\"",
		"\"\\u0000a\"", "\"a/b\\/\"", "\"\\b\\f\\n\\r\\t\\\"\\\\\"",
		"\"\\u00e9\\u20AC\"", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
		"{\"a\":1,\"a\":2}", "{\"\\u0000k\":1}", "{\"k\\u00e9\":\"v\"}",
		"{\"a\":{\"b\":[1,{\"c\":[]}]}}",
		"[\"a long string with no escapes at all, past the word scan\"]",
		"[\"escape at the end of a word run.......\\n\"]",
		"[\"\xc3\xa9 after a multibyte \\\" quote\"]",
		/* refused by both */
		"", " ", "{", "[", "[1", "[1,", "[1,]", "{\"a\"}", "{\"a\":}",
		"{\"a\":1,}", "{a:1}", "['a']", "[01]", "[.5]", "[+1]", "[-]",
		"[1e]", "[1e+]", "[\"\\x\"]", "[\"\\u12\"]", "[\"\\u12g4\"]",
		"[tru]", "[nul]", "\"abc", "\"\\", "\"\xff\"", "\"\xc3\"",
		"[1 2]", "{\"a\" 1}",
		"[1]x", "{}{}",
	};
	size_t	 i;
	int	 acc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(agree(cases[i], strlen(cases[i]), &acc),
		    "agrees with json-c (%s): %s", acc ? "accepted" : "refused",
		    cases[i]);
}

static void
test_stricter(void)
{
	static const char *const cases[] = {
		"[NaN]", "[Infinity]", "[-Infinity]", "[1.]", "[-1.e5]",
		"[\"tab\there\"]", "[\"nl\nhere\"]",
		"[\"overlong \xc0\xaf\"]", "[\"surrogate \xed\xa0\x80\"]",
	};
	static const struct jsonparse_opts lax = { 64, 1, NULL };
	struct jsonlex_err	 err;
	char			*out;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(!ours(cases[i], strlen(cases[i]), &plain, &out, &err),
		    "refuses what json-c lets through: case %zu (%s)", i,
		    err.what);
	ok(ours("[\"tab\there\"]", 12, &lax, &out, &err) &&
	    strcmp(out, "[\"tab\\there\"]") == 0,
	    "allow_ctrl keeps raw control bytes");
	free(out);
}

static void
error_at(const char *s, size_t off, const char *what, int eof)
{
	struct jsonlex_err	 err;
	char			*out;

	ok(!ours(s, strlen(s), &plain, &out, &err) && err.offset == off &&
	    strcmp(err.what, what) == 0 && err.eof == eof,
	    "%.40s: error at %zu (%s)%s", s, off, what,
	    eof ? " at the end" : "");
	if (err.what != NULL && (err.offset != off || strcmp(err.what, what)))
		printf("#   got %zu %s\n", err.offset, err.what);
}

/* a whole text may end in any of RFC 8259's four whitespace bytes */
static void
test_whole(void)
{
	static const char *const fine[] = { "{} ", "[1]\r\n", "\t\"s\"\t",
	    " null\n\n", "0\r" };
	struct jsonlex_err	 err;
	json_object		*v;
	size_t			 i;

	for (i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		v = jsonparse_whole(fine[i], strlen(fine[i]), &plain, &err);
		ok(err.what == NULL, "whole text %zu with trailing whitespace",
		    i);
		json_object_put(v);
	}
	is_int(jsonparse_skip_ws(" \t\r\nx", 5, 0), 4, "skip_ws stops at x");
	is_int(jsonparse_skip_ws("  ", 2, 0), 2, "skip_ws stops at the end");
}

static void
test_errors(void)
{
	char	*deep;
	size_t	 i;

	error_at("hello", 0, "unexpected character", 0);
	error_at("{\"a\":1,}", 7, "object key expected", 0);
	error_at("[1,2", 4, "',' or ']' expected", 1);
	error_at("{\"a\":1", 6, "',' or '}' expected", 1);
	error_at("[\"ab", 4, "unterminated string", 1);
	error_at("[\"a\xff\"]", 3, "invalid utf-8 string", 0);
	error_at("[\"a\x01\"]", 3, "control character in string", 0);
	error_at("[\"a\\q\"]", 3, "invalid string sequence", 0);
	error_at("[01]", 2, "',' or ']' expected", 0);
	error_at("[-x]", 2, "number expected", 0);
	error_at("", 0, "unexpected end of input", 1);
	/* after the value: RFC 8259's whitespace only, not isspace()'s */
	error_at("{} x", 3, "unexpected characters after the top-level value",
	    0);
	error_at("null 1", 5, "unexpected characters after the top-level "
	    "value", 0);
	error_at("[]\v", 2, "unexpected characters after the top-level value",
	    0);
	error_at("1\f", 1, "unexpected characters after the top-level value",
	    0);
	error_at("\"a\" \"b\"", 4, "unexpected characters after the "
	    "top-level value", 0);

	if ((deep = malloc(10001)) == NULL)
		return;
	memset(deep, '[', 10000);
	deep[10000] = '\0';
	error_at(deep, 64, "nesting too deep", 0);
	/* 64 levels are allowed, as json_tokener_new_ex(64) allows */
	for (i = 0; i < 64; i++)
		deep[64 + i] = ']';
	deep[128] = '\0';
	ok(agree(deep, 128, NULL), "64 nested arrays agree");
	free(deep);
}

static jsonparse_path tools_schema = { "tools", "*", "input_schema", NULL };
static jsonparse_path msg_input = { "messages", "*", "content", "*",
    "input", NULL };
static const char *const *const opaque_paths[] = { tools_schema, msg_input,
    NULL };
static const struct jsonparse_opts opaque = { 64, 0, opaque_paths };

static void
test_opaque(void)
{
	const char *req =
	    "{\"tools\":[{\"name\":\"a\",\"input_schema\": {\n"
	    "  \"type\" : \"object\", \"properties\" : {\"x\": {\"enum\":"
	    " [1, -0, 2.50, \"\\u00e9\\/\"] } } } }, {\"input_schema\":[]}],"
	    "\"messages\":[{\"content\":[{\"type\":\"tool_use\",\"input\":"
	    "{ \"cmd\" : \"ls  -l\" }}]}],"
	    "\"other\":{\"input_schema\":{\"k\":1}}}";
	json_object		*v, *t, *schema, *in, *other;
	struct jsonlex_err	 err;
	size_t			 end;
	const char		*s;

	v = jsonparse(req, strlen(req), &opaque, &end, &err);
	ok(v != NULL && err.what == NULL && end == strlen(req),
	    "request with opaque paths parses");
	if (v == NULL)
		return;
	json_object_object_get_ex(v, "tools", &t);
	schema = json_object_object_get(json_object_array_get_idx(t, 0),
	    "input_schema");
	ok(jsonparse_is_opaque(schema) &&
	    json_object_is_type(schema, json_type_object),
	    "tools[0].input_schema is an opaque object");
	is_str(json_object_to_json_string_ext(schema, FLAGS),
	    "{\"type\":\"object\",\"properties\":{\"x\":{\"enum\":"
	    "[1,-0,2.50,\"\\u00e9\\/\"]}}}",
	    "it serialises to its own text, minified, escapes kept");
	schema = json_object_object_get(json_object_array_get_idx(t, 1),
	    "input_schema");
	ok(jsonparse_is_opaque(schema) &&
	    json_object_is_type(schema, json_type_array),
	    "an array there is an opaque array");
	in = json_object_object_get(json_object_array_get_idx(
	    json_object_object_get(json_object_array_get_idx(
	    json_object_object_get(v, "messages"), 0), "content"), 0),
	    "input");
	is_str(json_object_to_json_string_ext(in, FLAGS),
	    "{\"cmd\":\"ls  -l\"}", "tool input: spaces inside strings kept");
	other = json_object_object_get(json_object_object_get(v, "other"),
	    "input_schema");
	ok(!jsonparse_is_opaque(other) &&
	    json_object_object_length(other) == 1,
	    "the same name elsewhere is parsed");
	s = json_object_to_json_string_ext(v, FLAGS);
	ok(s != NULL && strstr(s, "\"input_schema\":{\"type\":\"object\"") &&
	    strstr(s, "\"input_schema\":[]"),
	    "a tree holding opaque values serialises them in place");
	json_object_put(v);
}

static void
test_long_strings(void)
{
	static const char text[] =
	    "[\"caf\\u00e9 \\/ a long string, \\\"quoted\\\", past the cut\","
	    "\"short \\u00e9\"]";
	static const char lone[] =
	    "{\"tools\":[{\"input_schema\":{\"description\":"
	    "\"a long description with a lone \\ud800 surrogate\"}}],"
	    "\"x\":\"another long string, lone \\udfff at the end\"}";
	static const char ctrl[] =
	    "[\"a raw\ttab in a long upstream string, escaped on output\"]";
	static const struct jsonparse_opts lax = { 64, 1, NULL };
	struct jsonlex_err	 err;
	json_object		*v;
	size_t			 end;

	v = jsonparse(text, strlen(text), &plain, &end, &err);
	ok(v != NULL, "long strings parse");
	if (v == NULL)
		return;
	is_str(json_object_get_string(json_object_array_get_idx(v, 0)),
	    "caf\xc3\xa9 / a long string, \"quoted\", past the cut",
	    "a long string's value is decoded");
	is_str(json_object_to_json_string_ext(v, FLAGS),
	    "[\"caf\\u00e9 \\/ a long string, \\\"quoted\\\", past the cut\","
	    "\"short \xc3\xa9\"]",
	    "it serialises as its source text; a short one as json-c does");
	json_object_put(v);

	/* an escaped lone surrogate reads as U+FFFD; the text must not
	 * carry the escape on, nor may an opaque value */
	v = jsonparse(lone, strlen(lone), &opaque, &end, &err);
	is_str(v ? json_object_to_json_string_ext(v, FLAGS) : NULL,
	    "{\"tools\":[{\"input_schema\":{\"description\":"
	    "\"a long description with a lone \xef\xbf\xbd surrogate\"}}],"
	    "\"x\":\"another long string, lone \xef\xbf\xbd at the end\"}",
	    "lone surrogates are written as U+FFFD, opaque or long");
	ok(v != NULL && !jsonparse_is_opaque(json_object_object_get(
	    json_object_array_get_idx(json_object_object_get(v, "tools"), 0),
	    "input_schema")), "such a schema is built, not kept as text");
	json_object_put(v);

	v = jsonparse(ctrl, strlen(ctrl), &lax, &end, &err);
	is_str(v ? json_object_to_json_string_ext(v, FLAGS) : NULL,
	    "[\"a raw\\ttab in a long upstream string, escaped on output\"]",
	    "a string with raw control bytes is escaped by json-c");
	json_object_put(v);
}

static void
test_opaque_refuses(void)
{
	static const char *const bad[] = {
		"{\"tools\":[{\"input_schema\":{\"a\":[1,]}}]}",
		"{\"tools\":[{\"input_schema\":{\"a\" 1}}]}",
		"{\"tools\":[{\"input_schema\":{\"a\":\"\xc0\xaf\"}}]}",
		"{\"tools\":[{\"input_schema\":{\"a\":NaN}}]}",
		"{\"tools\":[{\"input_schema\":{\"a\":tru}}]}",
		"{\"tools\":[{\"input_schema\":{\"a\":1}",
	};
	struct jsonlex_err	 err;
	char			*out;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!ours(bad[i], strlen(bad[i]), &opaque, &out, &err),
		    "opaque values are validated too: %s (%s)", bad[i],
		    err.what);
}

/* an opaque parse accepts what a plain one accepts, and its tree,
 * re-read by json-c, equals json-c's own parse */
static int
opaque_agrees(const char *s, size_t len)
{
	struct jsonlex_err	 err;
	json_object		*a, *b;
	char			*want, *got, *plain_out;
	int			 same, plain_ok;

	plain_ok = ours(s, len, &plain, &plain_out, &err);
	free(plain_out);
	if (!ours(s, len, &opaque, &got, &err))
		return !plain_ok;
	if (!plain_ok || !oracle(s, len, &want)) {
		free(got);
		return 0;
	}
	a = json_tokener_parse(want);
	b = json_tokener_parse(got);
	same = json_object_equal(a, b);
	json_object_put(a);
	json_object_put(b);
	free(want);
	free(got);
	return same;
}

/* tokens from v on hold the same value as json-c's o */
static int
tape_equal(const struct jsonscan *sc, int v, json_object *o)
{
	struct json_object_iterator	 it, end;
	const char			*str;
	size_t				 len, i;
	int64_t				 n;
	double				 d;

	switch (jsonscan_type(sc, v)) {
	case JSONSCAN_NULL:
		return o == NULL;
	case JSONSCAN_BOOL:
		return json_object_is_type(o, json_type_boolean) &&
		    json_object_get_boolean(o) == sc->tok[v].flag;
	case JSONSCAN_NUMBER:
		if (json_object_is_type(o, json_type_double))
			return jsonscan_int64(sc, v, &n) == -1 &&
			    jsonscan_double(sc, v, &d) == 0 &&
			    (d == json_object_get_double(o) ||
			    (d != d && json_object_get_double(o) !=
			    json_object_get_double(o)));
		return json_object_is_type(o, json_type_int) &&
		    jsonscan_int64(sc, v, &n) == 0 &&
		    n == json_object_get_int64(o);
	case JSONSCAN_STRING:
		str = jsonscan_str(sc, v, &len);
		return json_object_is_type(o, json_type_string) &&
		    len == (size_t)json_object_get_string_len(o) &&
		    memcmp(str, json_object_get_string(o), len) == 0 &&
		    str[len] == '\0';
	case JSONSCAN_ARRAY:
		if (!json_object_is_type(o, json_type_array) ||
		    jsonscan_count(sc, v) != json_object_array_length(o))
			return 0;
		for (i = 0; i < jsonscan_count(sc, v); i++)
			if (!tape_equal(sc, jsonscan_index(sc, v, i),
			    json_object_array_get_idx(o, i)))
				return 0;
		return jsonscan_index(sc, v, i) == -1;
	case JSONSCAN_OBJECT:
		if (!json_object_is_type(o, json_type_object))
			return 0;
		/* every json-c member is found, with its last value */
		it = json_object_iter_begin(o);
		end = json_object_iter_end(o);
		for (; !json_object_iter_equal(&it, &end);
		    json_object_iter_next(&it))
			if (!tape_equal(sc, jsonscan_member(sc, v,
			    json_object_iter_peek_name(&it)),
			    json_object_iter_peek_value(&it)))
				return 0;
		return jsonscan_member(sc, v, "no such key \x01") == -1;
	}
	return 0;
}

/* jsonscan accepts what jsonparse accepts, and reads the same values */
static int
scan_agrees(struct jsonscan *sc, const char *s, size_t len)
{
	struct jsonlex_err	 e1, e2;
	json_object		*o;
	size_t			 end;
	int			 parsed, scanned;

	o = jsonparse(s, len, &plain, &end, &e1);
	while (e1.what == NULL && end < len && strchr(" \t\r\n", s[end]) &&
	    s[end])
		end++;
	parsed = e1.what == NULL && end == len;
	scanned = jsonscan(sc, s, len, 64, 0, &e2) == 0;
	if (parsed != scanned || (parsed && !tape_equal(sc, 0, o))) {
		printf("#   jsonparse %s, jsonscan %s: %.200s\n",
		    parsed ? "accepts" : e1.what,
		    scanned ? "accepts" : e2.what, s);
		json_object_put(o);
		return 0;
	}
	json_object_put(o);
	return 1;
}

static void
test_scan(void)
{
	static const char doc[] =
	    "{\"choices\":[{\"delta\":{\"content\":\"caf\\u00e9\\n\","
	    "\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
	    "{\"a\": [1, 2]}}}]},\"finish_reason\":null}],"
	    "\"usage\":{\"prompt_tokens\":99999999999999999999,"
	    "\"completion_tokens\":-1e400},\"a\":1,\"a\":2}";
	struct jsonscan		 sc = JSONSCAN_INITIALIZER;
	struct jsonlex_err	 err;
	const char		*p;
	size_t			 len;
	int64_t			 n;
	double			 d;
	int			 ch, fn, u;

	ok(jsonscan(&sc, doc, strlen(doc), 64, 0, &err) == 0, "a chunk scans");
	ch = jsonscan_index(&sc, jsonscan_member(&sc, 0, "choices"), 0);
	p = jsonscan_str(&sc, jsonscan_member(&sc, jsonscan_member(&sc, ch,
	    "delta"), "content"), &len);
	ok(p != NULL && len == 6 && strcmp(p, "caf\xc3\xa9\n") == 0,
	    "a string is decoded and NUL-terminated");
	ok(jsonscan_type(&sc, jsonscan_member(&sc, ch, "finish_reason")) ==
	    JSONSCAN_NULL && jsonscan_member(&sc, ch, "finish_reason") != -1,
	    "a null member is there, typed null");
	fn = jsonscan_member(&sc, jsonscan_index(&sc, jsonscan_member(&sc,
	    jsonscan_member(&sc, ch, "delta"), "tool_calls"), 0), "function");
	p = jsonscan_raw(&sc, jsonscan_member(&sc, fn, "arguments"), &len);
	ok(p != NULL && len == 13 && memcmp(p, "{\"a\": [1, 2]}", 13) == 0,
	    "an object's raw text is the source's");
	u = jsonscan_member(&sc, 0, "usage");
	ok(jsonscan_int64(&sc, jsonscan_member(&sc, u, "prompt_tokens"),
	    &n) == 0 && n == INT64_MAX, "a huge integer saturates");
	ok(jsonscan_int64(&sc, jsonscan_member(&sc, u, "completion_tokens"),
	    &n) == -1 && jsonscan_double(&sc, jsonscan_member(&sc, u,
	    "completion_tokens"), &d) == 0 && d < -1e300,
	    "a double is not an integer; -1e400 reads as -inf");
	ok(jsonscan_int64(&sc, jsonscan_member(&sc, 0, "a"), &n) == 0 &&
	    n == 2, "a repeated key gives its last value");
	ok(jsonscan_member(&sc, 0, "missing") == -1 &&
	    jsonscan_index(&sc, jsonscan_member(&sc, 0, "choices"), 1) == -1 &&
	    jsonscan_str(&sc, -1, NULL) == NULL,
	    "what is absent reads as -1 or NULL");
	ok(jsonscan(&sc, "{\"a\":1} x", 9, 64, 0, &err) == -1 &&
	    strcmp(err.what, "trailing data") == 0 && err.offset == 8,
	    "trailing data is refused");
	ok(jsonscan(&sc, "[\"a\tb\"]", 7, 64, 1, &err) == 0 &&
	    jsonscan(&sc, "[\"a\tb\"]", 7, 64, 0, &err) == -1,
	    "raw control bytes only with allow_ctrl");
	jsonscan_free(&sc);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE	*f;
	char	*s;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	*len = fread(s, 1, (size_t)n, f);
	s[*len] = '\0';
	fclose(f);
	return s;
}

static void
test_fixtures(void)
{
	static const char *const dirs[] = { "xlate_req", "xlate_resp", "conf" };
	struct jsonscan	 scan = JSONSCAN_INITIALIZER;
	const char	*data = getenv("CP_TEST_DATA");
	char		 path[4096], *s;
	struct dirent	*e;
	DIR		*d;
	size_t		 i, len, n = 0, bad = 0;

	if (data == NULL)
		data = "tests/data";
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", data, dirs[i]);
		if ((d = opendir(path)) == NULL)
			continue;
		while ((e = readdir(d)) != NULL) {
			len = strlen(e->d_name);
			if (len < 5 || strcmp(e->d_name + len - 5, ".json"))
				continue;
			snprintf(path, sizeof(path), "%s/%s/%s", data, dirs[i],
			    e->d_name);
			if ((s = slurp(path, &len)) == NULL)
				continue;
			n++;
			if (!agree(s, len, NULL) || !opaque_agrees(s, len) ||
			    !scan_agrees(&scan, s, len)) {
				printf("#   fixture %s\n", path);
				bad++;
			}
			free(s);
		}
		closedir(d);
	}
	jsonscan_free(&scan);
	ok(n > 20 && bad == 0, "%zu fixtures agree with json-c, opaque or not, "
	    "and with jsonscan", n);
}

/* ---- generated documents ---------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned
roll(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void
gen(char *b, size_t *n, size_t cap, int depth)
{
	static const char *const atoms[] = {
		"0", "-1", "17", "3.5", "-2e-3", "1E9", "true", "false", "null",
		"\"\"", "\"plain text\"", "\"\\u00e9\\n\\\"q\\\"\"",
		"\"\xe2\x82\xac\xf0\x9f\x98\x80\"", "\"\\ud83d\\ude00 \\ud800\"",
		"9223372036854775808", "\"a\\/b\\\\c\\td\"",
	};
	static const char *const keys[] = {
		"\"a\"", "\"tools\"", "\"input_schema\"", "\"messages\"",
		"\"content\"", "\"input\"", "\"k\\u00e9\"", "\"\"",
	};
	const char	*a;
	int		 k, m, obj;

	if (*n + 64 >= cap)
		return;
	if (depth > 5 || roll(3) == 0) {
		a = atoms[roll(sizeof(atoms) / sizeof(atoms[0]))];
		memcpy(b + *n, a, strlen(a));
		*n += strlen(a);
		return;
	}
	obj = roll(2);
	b[(*n)++] = obj ? '{' : '[';
	m = (int)roll(5);
	for (k = 0; k < m && *n + 64 < cap; k++) {
		if (k)
			b[(*n)++] = ',';
		if (roll(4) == 0)
			b[(*n)++] = ' ';
		if (obj) {
			a = keys[roll(sizeof(keys) / sizeof(keys[0]))];
			memcpy(b + *n, a, strlen(a));
			*n += strlen(a);
			b[(*n)++] = ':';
		}
		gen(b, n, cap, depth + 1);
	}
	b[(*n)++] = obj ? '}' : ']';
}

static void
test_generated(void)
{
	static const char	 junk[] = "{}[],:\"\\ 0-1e.tfnu\x80\xc3\xff\n";
	struct jsonscan		 scan = JSONSCAN_INITIALIZER;
	char			 doc[8192], mut[8192];
	size_t			 n, cut, i, docs = 0, disagree = 0;
	int			 r;

	for (i = 0; i < 3000; i++) {
		n = 0;
		gen(doc, &n, sizeof(doc), 0);
		docs++;
		if (!agree(doc, n, NULL) || !opaque_agrees(doc, n) ||
		    !scan_agrees(&scan, doc, n)) {
			printf("#   generated: %.*s\n", (int)n, doc);
			disagree++;
		}
		/* every prefix of some, and one mutation of each */
		if (i % 50 == 0)
			for (cut = 0; cut < n; cut++)
				if (!agree_but(doc, cut, NULL, 1) ||
				    !opaque_agrees(doc, cut) ||
				    !scan_agrees(&scan, doc, cut))
					disagree++;
		memcpy(mut, doc, n);
		for (r = 0; r < 2; r++)
			mut[roll((unsigned)n)] = junk[roll(sizeof(junk) - 1)];
		if (!agree_but(mut, n, NULL, 1) ||
		    !scan_agrees(&scan, mut, n)) {
			printf("#   mutated: %.*s\n", (int)n, mut);
			disagree++;
		}
	}
	jsonscan_free(&scan);
	ok(disagree == 0, "%zu generated documents, their prefixes and "
	    "mutations: %zu disagreements", docs, disagree);
}

int
main(void)
{
	test_agreement();
	test_stricter();
	test_errors();
	test_whole();
	test_opaque();
	test_long_strings();
	test_opaque_refuses();
	test_scan();
	test_fixtures();
	test_generated();
	return tap_done();
}
