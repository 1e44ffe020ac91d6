/*
 * test_tokens: the count_tokens estimate grows with every part of the input
 * and is deterministic.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "tokens.h"
#include "tap.h"

static int64_t
estimate(const char *json)
{
	json_object	*req;
	int64_t		 n;

	if ((req = json_tokener_parse(json)) == NULL) {
		printf("#   test JSON does not parse: %s\n", json);
		return -1;
	}
	n = tokens_estimate_request(req);
	json_object_put(req);
	return n;
}

/* {"messages":[{"role":"user","content":"xxxx..."}]} with n x's */
static int64_t
estimate_user_text(size_t n)
{
	struct buf	 b = BUF_INITIALIZER;
	int64_t		 t;
	size_t		 i;

	buf_puts(&b, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"");
	for (i = 0; i < n; i++)
		buf_putc(&b, 'x');
	buf_puts(&b, "\"}]}");
	t = estimate(b.data);
	buf_free(&b);
	return t;
}

static void
text(void)
{
	is_int(tokens_estimate_text("", 0), 0, "empty text is 0");
	is_int(tokens_estimate_text("abcd", 4), 1, "four ASCII bytes ~ 1");
	is_int(tokens_estimate_text("hello world!", 12), 3, "twelve ~ 3");
	is_int(tokens_estimate_text("日本語", strlen("日本語")), 3,
	    "one per non-ASCII code point");
	ok(tokens_estimate_text("a\0b\0c\0d\0e", 9) == 3,
	    "counts by length, not up to a NUL");
}

static void
monotonic(void)
{
	int64_t	 prev = 0, t;
	size_t	 n;
	int	 mono = 1, grows = 1;

	for (n = 0; n <= 4096; n += 7) {
		t = estimate_user_text(n);
		if (t < prev)
			mono = 0;
		prev = t;
	}
	ok(mono, "never shrinks as a message grows");
	for (n = 16; n <= 1 << 16; n *= 2)
		if (estimate_user_text(2 * n) <= estimate_user_text(n))
			grows = 0;
	ok(grows, "doubling a message raises the count");
	t = estimate_user_text(40000);
	ok(t >= 9000 && t <= 11000, "40000 ASCII bytes ~ 10000 tokens (%lld)",
	    (long long)t);
}

#define HI	"\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"
#define TOOL(n, d, s) "{\"name\":\"" n "\",\"description\":\"" d "\"," \
	"\"input_schema\":" s "}"
#define SCHEMA	"{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"}}}"
#define BIGSCHEMA "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\"," \
	"\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"," \
	"\"description\":\"The query to run against the index\"}," \
	"\"mode\":{\"anyOf\":[{\"const\":\"fast\"},{\"const\":\"slow\"}]}}," \
	"\"required\":[\"q\"],\"additionalProperties\":false}"

static void
parts(void)
{
	int64_t	 base = estimate("{\"model\":\"m\"," HI "}");

	ok(base > 0, "a request costs something");
	ok(estimate("{\"model\":\"m\",\"system\":\"You are a helpful assistant"
	    " that answers briefly.\"," HI "}") > base, "system string counts");
	ok(estimate("{\"model\":\"m\",\"system\":[{\"type\":\"text\",\"text\":"
	    "\"You are a helpful assistant that answers briefly.\"}]," HI "}") >
	    base, "system blocks count");
	ok(estimate("{\"model\":\"m\",\"tools\":[" TOOL("a", "", SCHEMA) "],"
	    HI "}") > base, "tools count");
	ok(estimate("{\"model\":\"m\",\"tools\":[" TOOL("a", "", BIGSCHEMA)
	    "]," HI "}") > estimate("{\"model\":\"m\",\"tools\":["
	    TOOL("a", "", SCHEMA) "]," HI "}"), "a larger schema counts more");
	ok(estimate("{\"model\":\"m\",\"tools\":[" TOOL("a", "Search the "
	    "project index for a query and return matching files", SCHEMA)
	    "]," HI "}") > estimate("{\"model\":\"m\",\"tools\":["
	    TOOL("a", "", SCHEMA) "]," HI "}"), "tool descriptions count");
	ok(estimate("{\"model\":\"m\",\"tools\":[" TOOL("search_the_project_"
	    "index_for_files", "", SCHEMA) "]," HI "}") > estimate("{\"model\":"
	    "\"m\",\"tools\":[" TOOL("a", "", SCHEMA) "]," HI "}"),
	    "tool names count");
	ok(estimate("{\"model\":\"m\",\"tools\":[" TOOL("a", "", SCHEMA) ","
	    TOOL("b", "", SCHEMA) "]," HI "}") > estimate("{\"model\":\"m\","
	    "\"tools\":[" TOOL("a", "", SCHEMA) "]," HI "}"),
	    "each tool counts");
	ok(estimate("{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"hello\"}"
	    "]}") > base, "each message counts");
}

#define A(c)	"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":" \
	"\"go\"},{\"role\":\"assistant\",\"content\":[" c "]}]}"
#define R(c)	"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[" \
	c "]}]}"

static void
blocks(void)
{
	int64_t	 img, two;

	ok(estimate(A("{\"type\":\"text\",\"text\":\"a longer answer with "
	    "several words in it\"}")) > estimate(A("{\"type\":\"text\","
	    "\"text\":\"ok\"}")), "assistant text counts");
	ok(estimate(A("{\"type\":\"thinking\",\"thinking\":\"Let me think "
	    "about the problem step by step first.\",\"signature\":\"s\"}")) >
	    estimate(A("{\"type\":\"thinking\",\"thinking\":\"\","
	    "\"signature\":\"s\"}")), "thinking counts");
	ok(estimate(A("{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"Read\","
	    "\"input\":{\"file_path\":\"/a/very/long/path/to/some/file.c\"}}")) >
	    estimate(A("{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"Read\","
	    "\"input\":{}}")), "tool_use input counts");
	ok(estimate(A("{\"type\":\"tool_use\",\"id\":\"t\",\"name\":"
	    "\"mcp__github__create_pull_request\",\"input\":{}}")) >
	    estimate(A("{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"R\","
	    "\"input\":{}}")), "tool_use name counts");
	ok(estimate(R("{\"type\":\"tool_result\",\"tool_use_id\":\"t\","
	    "\"content\":\"line one\\nline two\\nline three\\nline four\"}")) >
	    estimate(R("{\"type\":\"tool_result\",\"tool_use_id\":\"t\","
	    "\"content\":\"\"}")), "tool_result string content counts");
	ok(estimate(R("{\"type\":\"tool_result\",\"tool_use_id\":\"t\","
	    "\"content\":[{\"type\":\"text\",\"text\":\"line one, line two, "
	    "line three\"}]}")) > estimate(R("{\"type\":\"tool_result\","
	    "\"tool_use_id\":\"t\",\"content\":[]}")),
	    "tool_result block content counts");
	img = estimate(R("{\"type\":\"image\",\"source\":{\"type\":\"base64\","
	    "\"media_type\":\"image/png\",\"data\":\"iVBORw0KGgo=\"}}"));
	ok(img >= 1600 && img < 1700, "an image costs a fixed ~1600 (%lld)",
	    (long long)img);
	two = estimate(R("{\"type\":\"tool_result\",\"tool_use_id\":\"t\","
	    "\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"url\","
	    "\"url\":\"https://x/a.png\"}},{\"type\":\"image\",\"source\":"
	    "{\"type\":\"url\",\"url\":\"https://x/b.png\"}}]}"));
	ok(two >= 3200, "images inside a tool_result count (%lld)",
	    (long long)two);
	ok(estimate(R("{\"type\":\"document\",\"source\":{\"type\":\"text\","
	    "\"media_type\":\"text/plain\",\"data\":\"A document of some "
	    "length that the model has to read.\"}}")) > estimate(R("{\"type\":"
	    "\"document\",\"source\":{\"type\":\"text\",\"media_type\":"
	    "\"text/plain\",\"data\":\"\"}}")), "text documents count");
}

static void
whole(void)
{
	char		 path[1024];
	const char	*dir, *s;
	json_object	*req;
	int64_t		 a, b;
	size_t		 len;

	if ((dir = getenv("CP_TEST_DATA")) == NULL)
		dir = "tests/data";
	snprintf(path, sizeof(path), "%s/xlate_req/claude_code.in.json", dir);
	if ((req = json_object_from_file(path)) == NULL) {
		ok(0, "load %s", path);
		return;
	}
	a = tokens_estimate_request(req);
	b = tokens_estimate_request(req);
	is_int(a, b, "deterministic");
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	len = strlen(s);
	ok(a > (int64_t)len / 8 && a < (int64_t)len / 2,
	    "a Claude Code request of %zu bytes ~ %lld tokens", len,
	    (long long)a);
	json_object_put(req);
	is_int(estimate("[1,2,3]"), 0, "not an object: 0");
	ok(estimate("{\"model\":\"m\",\"messages\":[7,{\"role\":\"user\"},"
	    "{\"content\":{\"odd\":true}}],\"tools\":[3],\"system\":5}") > 0,
	    "odd shapes are counted, never fatal");
	ok(estimate(R("{\"type\":\"document\",\"source\":{\"type\":null}},"
	    "{\"type\":\"document\",\"source\":7},{\"type\":null}")) > 0,
	    "blocks with a type of the wrong kind are counted, never fatal");
}

int
main(void)
{
	text();
	monotonic();
	parts();
	blocks();
	whole();
	return tap_done();
}
