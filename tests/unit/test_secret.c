/*
 * test_secret: what secret_mask lets through and what it replaces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
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

int
main(void)
{
	test_heuristics();
	return tap_done();
}
