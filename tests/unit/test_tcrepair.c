/*
 * test_tcrepair: tool calls written as text (tcrepair.c) and almost-JSON
 * (jsonfix.c). Every form (a <tool_call> tag, several, a JSON array in
 * one, the nested "function" shape, arguments as a string, a fenced JSON
 * call, one left unclosed at the end), every almost-JSON fix, what stays
 * text (other names, server tools, code fences, JSON that is no call, a
 * broken fence, a cut answer), the beyond-repair error; and each case fed
 * whole, split in two at every offset and byte by byte must give the same
 * text and calls: the stream's hold is exact.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "jsonfix.h"
#include "secret.h"
#include "tap.h"
#include "tcrepair.h"

/* ---- jsonfix ------------------------------------------------------------ */

static void
fix(const char *in, const char *want, int want_fixed, const char *what)
{
	json_object	*v;
	char		 why[160] = "";
	int		 fixed = -1;

	v = jsonfix_parse(in, strlen(in), &fixed, why, sizeof(why));
	if (want == NULL) {
		ok(v == NULL && why[0] != '\0', "jsonfix: %s: beyond repair "
		    "(%s)", what, why);
		json_object_put(v);
		return;
	}
	is_str(v != NULL ? json_object_to_json_string_ext(v,
	    JSON_C_TO_STRING_PLAIN) : why, want, "jsonfix: %s", what);
	is_int(fixed, want_fixed, "jsonfix: %s: fixed says so", what);
	json_object_put(v);
}

static void
test_jsonfix(void)
{
	fix("{\"a\":[1,2],\"b\":\"x\"}", "{\"a\":[1,2],\"b\":\"x\"}", 0,
	    "JSON stays as it is");
	fix("{\"a\": 1,}", "{\"a\":1}", 1, "a trailing comma in an object");
	fix("{\"a\": [1, 2, ],\n}", "{\"a\":[1,2]}", 1,
	    "trailing commas in an array and after it");
	fix("{'path': 'a.c'}", "{\"path\":\"a.c\"}", 1, "single quotes");
	fix("{'q': 'say \"hi\" and it\\'s'}",
	    "{\"q\":\"say \\\"hi\\\" and it's\"}", 1,
	    "single quotes around double ones and an escaped quote");
	fix("{\"cmd\": \"line one\nline\ttwo\"}",
	    "{\"cmd\":\"line one\\nline\\ttwo\"}", 1,
	    "raw newline and tab inside a string");
	fix("{\"c\": \"a\001b\r\"}", "{\"c\":\"a\\u0001b\\r\"}", 1,
	    "other raw control characters");
	fix("{path: \"a\", max_lines : 10}",
	    "{\"path\":\"a\",\"max_lines\":10}", 1, "unquoted keys");
	fix("{\"a\": True, \"b\": False, \"c\": None, \"d\": 1e5, \"e\": -2.5E-3}",
	    "{\"a\":true,\"b\":false,\"c\":null,\"d\":1e5,\"e\":-2.5E-3}",
	    1, "Python literals; exponents are no words");
	fix("{'s': 'a { b, } c'}", "{\"s\":\"a { b, } c\"}", 1,
	    "brackets and commas inside strings are left alone");
	fix("{\"a\": \"\\u00e9\\n\"}", "{\"a\":\"\xc3\xa9\\n\"}", 0,
	    "escapes are kept");
	fix("{\"a\": 1", NULL, 0, "a missing brace is not invented");
	fix("{\"a\": 1} trailing words", NULL, 0, "text after the value");
	fix("{\"a\": undefined}", NULL, 0, "a word that is no literal");
}

/* ---- the scanner -------------------------------------------------------- */

#define TOOLS "[{\"name\":\"Read\",\"input_schema\":{}}," \
	"{\"name\":\"Bash\",\"type\":\"custom\",\"input_schema\":{}}," \
	"{\"type\":\"web_search_20250305\",\"name\":\"web_search\"}]"

struct out {
	struct buf	 log;		/* TEXT(...) CALL(name,input) */
	struct buf	 text;		/* text not yet logged */
	int		 fail_call;
};

static void
out_flush(struct out *o)
{
	if (o->text.len == 0)
		return;
	buf_printf(&o->log, "TEXT(%s)", o->text.data);
	buf_reset(&o->text);
}

static int
on_text(void *arg, const char *p, size_t len)
{
	struct out	*o = arg;

	return buf_append(&o->text, p, len);
}

static int
on_call(void *arg, const char *name, json_object *input)
{
	struct out	*o = arg;

	if (o->fail_call)
		return -1;
	out_flush(o);
	buf_printf(&o->log, "CALL(%s,%s)", name,
	    json_object_to_json_string_ext(input, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	return 0;
}

/* the transcript of in fed in pieces (split: 0 whole, k split at k, -1
 * byte by byte); the error appended as ERROR(...) */
static void
scan(json_object *tools, const char *in, long split, int truncated,
    struct buf *res)
{
	struct tcrepair_sink	 k = { on_text, on_call, NULL };
	struct tcrepair		 r;
	struct out		 o;
	size_t			 len = strlen(in), i;
	int			 rc = 0;

	memset(&o, 0, sizeof(o));
	k.arg = &o;
	tcrepair_init(&r, tools);
	if (split < 0) {
		for (i = 0; i < len && rc == 0; i++)
			rc = tcrepair_feed(&r, in + i, 1, &k);
	} else if (split > 0) {
		rc = tcrepair_feed(&r, in, (size_t)split, &k);
		if (rc == 0)
			rc = tcrepair_feed(&r, in + split, len - (size_t)split,
			    &k);
	} else
		rc = tcrepair_feed(&r, in, len, &k);
	if (rc == 0)
		rc = tcrepair_end(&r, truncated, &k);
	out_flush(&o);
	if (rc == -1)
		buf_printf(&o.log, "ERROR(%s)", r.error);
	buf_reset(res);
	buf_append(res, o.log.data != NULL ? o.log.data : "", o.log.len);
	tcrepair_free(&r);
	buf_free(&o.log);
	buf_free(&o.text);
}

struct scase {
	const char	*name;
	const char	*in;
	const char	*want;		/* NULL: starts with ERROR */
	int		 truncated;
};

static const struct scase scases[] = {
	{ "plain text", "Just words, <b>bold</b> and `code`.",
	  "TEXT(Just words, <b>bold</b> and `code`.)" },
	{ "a tag", "I'll read it.\n\n<tool_call>\n{\"name\": \"Read\", "
	  "\"arguments\": {\"file_path\": \"/a.c\"}}\n</tool_call>",
	  "TEXT(I'll read it.)CALL(Read,{\"file_path\":\"/a.c\"})" },
	{ "two tags, text after", "<tool_call>{\"name\":\"Read\",\"arguments\":"
	  "{\"file_path\":\"/a\"}}</tool_call>\n<tool_call>{\"name\":\"Bash\","
	  "\"arguments\":{\"command\":\"ls\"}}</tool_call>\nDone.",
	  "CALL(Read,{\"file_path\":\"/a\"})CALL(Bash,{\"command\":\"ls\"})"
	  "TEXT(Done.)" },
	{ "an array in one tag", "<tool_call>[{\"name\":\"Read\",\"arguments\":"
	  "{}},{\"name\":\"Bash\",\"arguments\":{\"command\":\"pwd\"}}]"
	  "</tool_call>", "CALL(Read,{})CALL(Bash,{\"command\":\"pwd\"})" },
	{ "nested function shape, arguments as a string",
	  "<tool_call>{\"type\":\"function\",\"function\":{\"name\":\"Bash\","
	  "\"arguments\":\"{\\\"command\\\": \\\"ls\\\",}\"}}</tool_call>",
	  "CALL(Bash,{\"command\":\"ls\"})" },
	{ "parameters instead of arguments, almost-JSON",
	  "<tool_call>\n{'name': 'Bash', parameters: {'command': 'echo \"hi\"\n"
	  "echo two', timeout: 5,},}\n</tool_call>",
	  "CALL(Bash,{\"command\":\"echo \\\"hi\\\"\\necho two\",\"timeout\":5})" },
	{ "no arguments", "<tool_call>{\"name\":\"Read\"}</tool_call>",
	  "CALL(Read,{})" },
	{ "a fenced call", "Let me look.\n```json\n{\"name\": \"Read\", "
	  "\"arguments\": {\"file_path\": \"/b\"}}\n```\n",
	  "TEXT(Let me look.)CALL(Read,{\"file_path\":\"/b\"})" },
	{ "a fence without a language, indented",
	  "x\n  ```\n{\"name\":\"Bash\",\"arguments\":{\"command\":\"ls\"}}\n"
	  "  ```\ny", "TEXT(x)CALL(Bash,{\"command\":\"ls\"})TEXT(y)" },
	{ "a code fence stays text, its JSON too",
	  "Example:\n```python\nprint('<tool_call>')\n```\nand\n```json\n"
	  "{\"name\": \"Nope\", \"arguments\": {}}\n```\nok",
	  "TEXT(Example:\n```python\nprint('<tool_call>')\n```\nand\n```json\n"
	  "{\"name\": \"Nope\", \"arguments\": {}}\n```\nok)" },
	{ "a JSON fence that is no call", "```json\n{\"a\": 1}\n```",
	  "TEXT(```json\n{\"a\": 1}\n```)" },
	{ "a broken fenced call is text", "```json\n{\"name\": \"Read\", "
	  "\"arguments\": {\"file_path\": }\n```",
	  "TEXT(```json\n{\"name\": \"Read\", \"arguments\": {\"file_path\": }\n"
	  "```)" },
	{ "backticks inside a line are no fence", "a ```json\n{\"name\":"
	  "\"Read\"}\n```", "TEXT(a ```json\n{\"name\":\"Read\"}\n```)" },
	{ "a name that is not a tool", "<tool_call>{\"name\":\"Write\","
	  "\"arguments\":{}}</tool_call>",
	  "TEXT(<tool_call>{\"name\":\"Write\",\"arguments\":{}}</tool_call>)" },
	{ "a server tool's name", "<tool_call>{\"name\":\"web_search\","
	  "\"arguments\":{\"query\":\"x\"}}</tool_call>",
	  "TEXT(<tool_call>{\"name\":\"web_search\",\"arguments\":{\"query\":"
	  "\"x\"}}</tool_call>)" },
	{ "not a tag", "a <tool_calls> b <tool_cal", "TEXT(a <tool_calls> b "
	  "<tool_cal)" },
	{ "an unclosed tag at the end, whole", "Reading.\n<tool_call>"
	  "{\"name\":\"Read\",\"arguments\":{\"file_path\":\"/c\"}}",
	  "TEXT(Reading.)CALL(Read,{\"file_path\":\"/c\"})" },
	{ "an unclosed fence at the end, whole", "```json\n{\"name\":\"Read\","
	  "\"arguments\":{}}\n", "CALL(Read,{})" },
	{ "cut off at max_tokens: text", "Reading.\n<tool_call>{\"name\":"
	  "\"Read\",\"argu", "TEXT(Reading.\n<tool_call>{\"name\":\"Read\","
	  "\"argu)", 1 },
	{ "beyond repair", "<tool_call>{\"name\": \"Bash\", \"arguments\": "
	  "{\"command\": \"ls\" \"-l\"}}</tool_call>", NULL },
	{ "beyond repair, unclosed at the end", "<tool_call>{\"name\": "
	  "\"Read\", \"arguments\": {\"file_path\": ", NULL },
	{ "unparseable, and no tool's name: text", "<tool_call>{name: "
	  "\"Other\" oops}</tool_call>",
	  "TEXT(<tool_call>{name: \"Other\" oops}</tool_call>)" },
	{ "multibyte text around a call", "Voilà — ✓\n<tool_call>{\"name\":"
	  "\"Read\",\"arguments\":{\"file_path\":\"/é\"}}</tool_call>\nFin ✓",
	  "TEXT(Voilà — ✓)CALL(Read,{\"file_path\":\"/é\"})TEXT(Fin ✓)" },
};

static void
test_scan(void)
{
	json_object	*tools = json_tokener_parse(TOOLS);
	struct buf	 whole = BUF_INITIALIZER, part = BUF_INITIALIZER;
	const struct scase *c;
	size_t		 i, len;
	long		 k, bad;

	for (i = 0; i < sizeof(scases) / sizeof(scases[0]); i++) {
		c = &scases[i];
		scan(tools, c->in, 0, c->truncated, &whole);
		if (c->want != NULL)
			is_str(whole.data, c->want, "scan: %s", c->name);
		else
			ok(whole.data != NULL && strncmp(whole.data,
			    "ERROR(upstream wrote a tool call for", 36) == 0,
			    "scan: %s: %s", c->name, whole.data ? whole.data : "");
		len = strlen(c->in);
		bad = -2;
		for (k = -1; k < (long)len && bad == -2; k++) {
			scan(tools, c->in, k, c->truncated, &part);
			if (part.len != whole.len || memcmp(part.data,
			    whole.data, whole.len) != 0)
				bad = k;
		}
		ok(bad == -2, "scan: %s: the same split at every offset and "
		    "byte by byte", c->name);
		if (bad != -2)
			printf("#   split at %ld: %s\n", bad, part.data);
	}
	/* without tools nothing is a call */
	scan(NULL, scases[1].in, 0, 0, &whole);
	is_str(whole.data, "TEXT(I'll read it.\n\n<tool_call>\n{\"name\": "
	    "\"Read\", \"arguments\": {\"file_path\": \"/a.c\"}}\n"
	    "</tool_call>)", "scan: no tools, no calls");
	buf_free(&whole);
	buf_free(&part);
	json_object_put(tools);
}

/* the hold is bounded: an endless call is released as text */
static void
test_hold_bound(void)
{
	json_object		*tools = json_tokener_parse(TOOLS);
	struct tcrepair_sink	 k = { on_text, on_call, NULL };
	struct tcrepair		 r;
	struct out		 o;
	char			 piece[1024];
	size_t			 fed = 0;

	memset(&o, 0, sizeof(o));
	k.arg = &o;
	memset(piece, 'x', sizeof(piece));
	tcrepair_init(&r, tools);
	tcrepair_feed(&r, "<tool_call>{\"name\":\"Read\",\"arguments\":{\"a\":\"",
	    44, &k);
	is_int((int)o.text.len, 0, "hold: an open call is held");
	while (fed <= TCREPAIR_HOLD_MAX && o.text.len == 0) {
		tcrepair_feed(&r, piece, sizeof(piece), &k);
		fed += sizeof(piece);
	}
	ok(o.text.len > TCREPAIR_HOLD_MAX && strncmp(o.text.data,
	    "<tool_call>", 11) == 0, "hold: released as text past "
	    "TCREPAIR_HOLD_MAX (%zu bytes)", o.text.len);
	is_int((int)r.hold.len, 0, "hold: nothing kept after the release");
	tcrepair_free(&r);

	/* a sink that fails stops the scanner, with no error of its own */
	buf_reset(&o.text);
	o.fail_call = 1;
	tcrepair_init(&r, tools);
	is_int(tcrepair_feed(&r, scases[6].in, strlen(scases[6].in), &k), -1,
	    "sink: its failure stops the feed");
	is_str(r.error, "", "sink: no error of the scanner's");
	tcrepair_free(&r);
	buf_free(&o.text);
	buf_free(&o.log);
	json_object_put(tools);
}

/* the beyond-repair error quotes the call: a configured secret in it is
 * masked before the quote is cut, so no beginning of it is left */
static void
test_error_masked(void)
{
	static const char key[] = "repair-secret-0123456789ABCDEFGH";
	struct buf	 in = BUF_INITIALIZER, res = BUF_INITIALIZER;
	json_object	*tools = json_tokener_parse(TOOLS);
	size_t		 i;

	secret_add(key, strlen(key));
	buf_puts(&in, "<tool_call>{\"name\": \"Bash\", \"arguments\": "
	    "{\"command\": \"");
	for (i = in.len; i < 110; i++)
		buf_putc(&in, 'x');
	buf_printf(&in, "%s\" \"-l\"}}</tool_call>", key);
	scan(tools, in.data, 0, 0, &res);
	ok(strncmp(res.data, "ERROR(", 6) == 0 && strstr(res.data,
	    "repair-sec") == NULL, "beyond repair: no part of a secret in "
	    "the error: %s", res.data);
	secret_clear();
	buf_free(&in);
	buf_free(&res);
	json_object_put(tools);
}

int
main(void)
{
	test_jsonfix();
	test_scan();
	test_hold_bound();
	test_error_masked();
	return tap_done();
}
