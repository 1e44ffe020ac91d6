/*
 * usage: what each /v1/messages request used, by key and model: the usage
 * log (one JSON line per request) and the per-key metrics.
 */
#ifndef CP_USAGE_H
#define CP_USAGE_H

#include <stdint.h>

/* the tokens of one answer, as its final usage reported them */
struct usage_tokens {
	int64_t		 input;		/* uncached input */
	int64_t		 output;
	int64_t		 cache_read;
	int64_t		 cache_creation;
	int64_t		 server_tool_calls;
	int		 known;		/* an answer (or part of one) came */
};

#endif
