/*
 * test_secret: which configured secrets are known, the forms they are
 * found in, the heuristic net after them, text that arrives in pieces and
 * the log excerpt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "secret.h"
#include "tap.h"

struct mask_case {
	const char	*in;
	const char	*want;
};

/* the heuristic net: what looks like a credential, configured or not */
static const struct mask_case heuristic_cases[] = {
	{ "plain words stay", "plain words stay" },
	{ "Authorization: Bearer abc123.DEF-456_ghi, ok",
	  "Authorization: Bearer ***, ok" },
	{ "key sk-or-v1-0123456789abcdef0123456789abcdef.",
	  "key sk-***." },
	{ "https://x/v1?key=AIzaSyA1b2C3d4E5f6G7h8I9j0&x=1",
	  "https://x/v1?key=***&x=1" },
	{ "x-api-key: secret-value-1 and api_key=\"hunter2\"",
	  "x-api-key: *** and api_key=\"***\"" },
	{ "token 0f3c9a7b2e4d6f8a1c3e5b7d9f0a2c4e.Xy7Kp2Qm9Rt4Wv6Z",
	  "token ***" },
	/* model names and UUIDs have short parts: not keys */
	{ "Qwen3-Coder-480B-A35B-Instruct-FP8-Turbo-2507 "
	  "123e4567-e89b-12d3-a456-426614174000",
	  "Qwen3-Coder-480B-A35B-Instruct-FP8-Turbo-2507 "
	  "123e4567-e89b-12d3-a456-426614174000" },
	/* a prefix inside a word is not a key's start */
	{ "task-force risk-assessment0123456789", "task-force "
	  "risk-assessment0123456789" },
};

static void
test_heuristics(void)
{
	struct buf	 b = BUF_INITIALIZER;
	size_t		 i;

	for (i = 0; i < sizeof(heuristic_cases) / sizeof(heuristic_cases[0]);
	    i++) {
		buf_reset(&b);
		secret_mask(&b, heuristic_cases[i].in,
		    strlen(heuristic_cases[i].in));
		is_str(b.data, heuristic_cases[i].want, "heuristic case %zu", i);
	}
	buf_free(&b);
}

/* a passphrase with every byte JSON and URLs escape */
#define PASS	"pass\"phrase/with\\slash"
#define AK	"inbound-ak-1"

static char *
masked(const char *in)
{
	static struct buf	 b;

	buf_reset(&b);
	secret_mask(&b, in, strlen(in));
	return b.data != NULL ? b.data : "";
}

static char *
masked_exact(const char *in)
{
	static struct buf	 b;

	buf_reset(&b);
	secret_mask_exact(&b, in, strlen(in));
	return b.data != NULL ? b.data : "";
}

static void
load_keys(void)
{
	static struct conf_provider	 p[3];
	static struct conf		 c;

	p[0].api_key = PASS;
	p[1].api_key = "";		/* a local server: none */
	p[2].api_key = "short7!";	/* under SECRET_MIN_LEN */
	c.ak = AK;
	c.providers = p;
	c.nproviders = 3;
	ok(secret_load(&c) == 0, "secret_load");
}

static const struct mask_case exact_cases[] = {
	{ "key " PASS " refused", "key *** refused" },
	/* inside a JSON string, '/' escaped or not, \u forms */
	{ "{\"m\":\"pass\\\"phrase\\/with\\\\slash\"}",
	  "{\"m\":\"***\"}" },
	{ "{\"m\":\"pass\\\"phrase/with\\\\slash\"}", "{\"m\":\"***\"}" },
	{ "\\u0070ass\\u0022phrase\\u002fwith\\u005cslash", "***" },
	/* percent-encoded, either case, mixed with the raw bytes */
	{ "GET /v1?k=pass%22phrase%2Fwith%5Cslash&x=1", "GET /v1?k=***&x=1" },
	{ "pass%22phrase%2fwith%5cslash", "***" },
	{ "pass\"phrase%2Fwith\\slash", "***" },
	{ "%70%61%73%73%22%70%68%72%61%73%65%2F%77%69%74%68%5C%73%6C%61%73%68",
	  "***" },
	/* the ak, twice, and back to back */
	{ AK AK " and " AK, "****** and ***" },
	/* the beginning of a key alone is not the key */
	{ "pass\"phrase/with", "pass\"phrase/with" },
	/* under 8 bytes: ordinary words, never masked */
	{ "short7! is short", "short7! is short" },
};

static void
test_exact(void)
{
	size_t	 i;

	load_keys();
	is_int(secret_longest(), strlen(PASS), "longest secret");
	for (i = 0; i < sizeof(exact_cases) / sizeof(exact_cases[0]); i++)
		is_str(masked_exact(exact_cases[i].in), exact_cases[i].want,
		    "exact case %zu", i);
	/* both nets: the exact match first, the heuristics after */
	is_str(masked("Bearer " AK ", sk-abcdefghijklmnop"),
	    "Bearer ***, sk-***", "exact, then heuristic");
	is_str(masked_exact("sk-abcdefghijklmnop"), "sk-abcdefghijklmnop",
	    "answer text: no heuristics");
	/* a key that holds another: the longer wins */
	ok(secret_add(AK "-and-more", strlen(AK "-and-more")) == 0,
	    "secret_add");
	is_str(masked_exact("x " AK "-and-more y " AK), "x *** y ***",
	    "longest first");
	ok(secret_add("tiny", 4) == 0, "a short secret is ignored");
	is_str(masked_exact("tiny"), "tiny", "short secret not masked");
	/* a reload replaces the set */
	load_keys();
	is_str(masked_exact(AK "-and-more"), "***-and-more",
	    "reload forgets the added key");
	secret_clear();
	is_int(secret_longest(), 0, "cleared");
	is_str(masked_exact(AK), AK, "nothing known: nothing masked");
}

/* pieces: only a tail that may begin a secret is held back */
static void
test_stream(void)
{
	struct buf	 b = BUF_INITIALIZER;
	const char	*t;
	size_t		 n;

	load_keys();
	t = "hello pass\"phr";
	n = secret_mask_stream(&b, t, strlen(t));
	is_int(n, 6, "a key's beginning is held");
	is_str(b.data, "hello ", "... and the rest goes");
	buf_reset(&b);
	t = "pass\"phrase/with\\slash and on";
	n = secret_mask_stream(&b, t, strlen(t));
	is_int(n, strlen(t), "a whole key: nothing held");
	is_str(b.data, "*** and on", "... and masked");
	buf_reset(&b);
	t = "hello pax";
	is_int(secret_mask_stream(&b, t, strlen(t)), strlen(t),
	    "no key begins here: nothing held");
	buf_reset(&b);
	t = "50%";
	is_int(secret_mask_stream(&b, t, strlen(t)), 2, "a lone %% may be %%70");
	buf_reset(&b);
	t = "50%4";
	is_int(secret_mask_stream(&b, t, strlen(t)), strlen(t),
	    "%%4 cannot start p (%%70): nothing held");
	buf_reset(&b);
	t = "a\\u00";
	is_int(secret_mask_stream(&b, t, strlen(t)), 1, "a cut \\u escape");
	buf_free(&b);
	secret_clear();
}

static void
test_log_excerpt(void)
{
	struct buf	 b = BUF_INITIALIZER, in = BUF_INITIALIZER;
	size_t		 i;

	load_keys();
	secret_log_excerpt(&b, "a\n" AK "\tb", strlen("a\n" AK "\tb"), 100);
	is_str(b.data, "a\\n***\\tb", "masked, then escaped");
	/* a key across the cut is not shown in part */
	buf_reset(&b);
	secret_log_excerpt(&b, "0123456789" AK, strlen("0123456789" AK), 14);
	ok(strstr(b.data, "inbo") == NULL, "no part of a key at the cut: %s",
	    b.data);
	/* an image stays one elided run, the heuristics do not chop it */
	buf_reset(&b);
	/* parts long and random enough for looks_random */
	for (i = 0; i < 24; i++)
		buf_puts(&in, "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAf8+");
	secret_log_excerpt(&b, in.data, in.len, 100);
	is_str(b.data, "<base64 984 bytes>", "base64 elided whole");
	buf_free(&in);
	buf_free(&b);
	secret_clear();
}

static void
test_query(void)
{
	static const struct mask_case cases[] = {
		{ "beta=true", "beta=true" },
		{ "ak=abc&limit=2", "ak=***&limit=2" },
		{ "API_KEY=a;X-Api-Key=b&apikey=c&access_token=d&Token=",
		  "API_KEY=***;X-Api-Key=***&apikey=***&access_token=***&"
		  "Token=***" },
		{ "api%5Fkey=a&client_secret=b&password=c&sig=d",
		  "api%5Fkey=***&client_secret=***&password=***&sig=***" },
		/* a name alone, or a value that merely looks like a name */
		{ "key&q=key&keys=x", "key&q=key&keys=x" },
		{ "q=a%0Ab", "q=a%0Ab" },
		{ "", "" },
	};
	struct buf	 b = BUF_INITIALIZER;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		secret_log_query(&b, cases[i].in, strlen(cases[i].in), 200);
		is_str(b.data != NULL ? b.data : "", cases[i].want,
		    "query case %zu", i);
	}
	buf_free(&b);
}

/* a provider's header values read from env: or file: are secrets too;
 * those written in the file are not */
static void
test_header_values(void)
{
	static struct conf_header	 h[2];
	static struct conf_provider	 p;
	static struct conf		 c;

	h[0].name = "X-Gateway-Token";
	h[0].line = "X-Gateway-Token: gw-token-0123456789";
	h[0].value = h[0].line + 17;
	h[0].secret = 1;
	h[1].name = "X-Title";
	h[1].line = "X-Title: public title words";
	h[1].value = h[1].line + 9;
	p.api_key = "";
	p.headers = h;
	p.nheaders = 2;
	c.providers = &p;
	c.nproviders = 1;
	ok(secret_load(&c) == 0, "secret_load with headers");
	is_str(masked_exact("echo gw-token-0123456789!"), "echo ***!",
	    "a header's secret value is masked");
	is_str(masked_exact("the public title words"),
	    "the public title words", "a literal header value is not");
	secret_clear();
}

/* JSON text: a key is found only where a character begins, so its "***"
 * leaves the JSON valid; a key's quote or backslash is found escaped */
static void
test_json(void)
{
	static const struct {
		const char	*key, *in, *want, *why;
	} cases[] = {
		{ "passw0rd\"", "{\"p\":\"passw0rd\"}", "{\"p\":\"passw0rd\"}",
		  "a key's last quote is not the string's end" },
		{ "passw0rd\"", "{\"p\":\"passw0rd\\\"\"}", "{\"p\":\"***\"}",
		  "... but its escaped form is the key" },
		{ "\"hunter22x", "{\"p\":\"hunter22x\"}", "{\"p\":\"hunter22x\"}",
		  "a key's first quote is not the string's start" },
		{ "nopqrstuv", "[\"x\\nopqrstuv\"]", "[\"x\\nopqrstuv\"]",
		  "a key is not found from the letter of an escape" },
		{ "nopqrstuv", "[\"x\\\\nopqrstuv\"]", "[\"x\\\\***\"]",
		  "... but after an escaped backslash it is" },
		{ "abcdefgh\\", "[\"abcdefgh\\\"q\"]", "[\"abcdefgh\\\"q\"]",
		  "a key's backslash is not an escape's" },
		{ "abcdefgh\\", "[\"abcdefgh\\\\q\"]", "[\"***q\"]",
		  "... but an escaped backslash is" },
		{ "unicode-key-1", "[\"\\u0041unicode-key-1\"]", "[\"\\u0041***\"]",
		  "after a \\u escape" },
		{ "unicode-key-1", "[\"\\u0075nicode-key-1\"]", "[\"***\"]",
		  "a key's letter as a \\u escape" },
	};
	struct buf	 b = BUF_INITIALIZER;
	size_t		 i, n;
	const char	*t;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		secret_clear();
		secret_add(cases[i].key, strlen(cases[i].key));
		buf_reset(&b);
		secret_mask_json(&b, cases[i].in, strlen(cases[i].in));
		is_str(b.data, cases[i].want, "json: %s", cases[i].why);
	}
	/* streamed: an escape cut at the end is held, not read from its
	 * letter when the rest comes */
	secret_clear();
	secret_add("nopqrstuv", 9);
	buf_reset(&b);
	t = "[\"x\\";
	n = secret_mask_json_stream(&b, t, strlen(t));
	is_int(n, 3, "json stream: a cut escape is held");
	buf_reset(&b);
	t = "\\nopqrstuv\"]";
	n = secret_mask_json_stream(&b, t, strlen(t));
	is_int(n, strlen(t), "... and with its letter nothing is held");
	is_str(b.data, t, "... nor masked");
	buf_free(&b);
	secret_clear();
}

int
main(void)
{
	test_heuristics();
	test_exact();
	test_stream();
	test_json();
	test_log_excerpt();
	test_query();
	test_header_values();
	return tap_done();
}
