/*
 * test_upstream: what of an upstream's head may reach the client's: a
 * Retry-After only as RFC 9110 writes it.
 */
#include <stdio.h>
#include <string.h>

#include "upstream.h"
#include "tap.h"

static const struct {
	const char	*value;
	int		 valid;
} retry_after[] = {
	{ "17", 1 },
	{ "0", 1 },
	{ "120000", 1 },
	{ "Sun, 06 Nov 1994 08:49:37 GMT", 1 },	/* IMF-fixdate */
	{ "Sunday, 06-Nov-94 08:49:37 GMT", 1 },	/* RFC 850 */
	{ "Sun Nov  6 08:49:37 1994", 1 },		/* asctime */
	{ "Wed Dec 31 23:59:59 2025", 1 },
	{ "", 0 },
	{ "17\rX-Injected: yes", 0 },
	{ "17\nX-Injected: yes", 0 },
	{ "17 ", 0 },
	{ "-1", 0 },
	{ "1.5", 0 },
	{ "+3", 0 },
	{ "17, 18", 0 },
	{ "Sun, 06 Nov 1994 08:49:37 UTC", 0 },
	{ "Sun, 6 Nov 1994 08:49:37 GMT", 0 },
	{ "Sun, 06 Nov 1994 08:49:37 GMT\r\nX: y", 0 },
	{ "Sux, 06 Nov 1994 08:49:37 GMT", 0 },
	{ "Sun, 06 Nox 1994 08:49:37 GMT", 0 },
	{ "Sunday, 06-Nov-1994 08:49:37 GMT", 0 },
	{ "Sun Nov 6 08:49:37 1994", 0 },
	{ "soon", 0 },
};

int
main(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(retry_after) / sizeof(retry_after[0]); i++)
		is_int(upstream_retry_after_valid(retry_after[i].value,
		    strlen(retry_after[i].value)), retry_after[i].valid,
		    "Retry-After case %zu %s", i, retry_after[i].valid ?
		    "kept" : "dropped");
	return tap_done();
}
