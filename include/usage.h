/*
 * usage: what each /v1/messages request used, by key and model: the usage
 * log (one JSON line per request) and the per-key metrics.
 */
#ifndef CP_USAGE_H
#define CP_USAGE_H

#include <stdint.h>
#include <stdio.h>

/* the tokens of one answer, as its final usage reported them */
struct usage_tokens {
	int64_t		 input;		/* uncached input */
	int64_t		 output;
	int64_t		 cache_read;
	int64_t		 cache_creation;
	int64_t		 server_tool_calls;
	int		 known;		/* an answer (or part of one) came */
};

/* one finished /v1/messages request */
struct usage_rec {
	const char	*request_id;
	const char	*key;		/* a key's name, NULL = no keys */
	const char	*model_requested;	/* the client's words, or NULL */
	const char	*model;		/* the model id that served, or NULL */
	const char	*provider;	/* the provider that served, or NULL */
	const char	*route;		/* the route that chose it, or NULL */
	const char	*session;	/* X-Claude-Code-Session-Id, or NULL */
	int		 status;
	uint64_t	 duration_ms;
	struct usage_tokens tokens;
};

struct conf;

/* master: open the configuration's usage log (at start, and on every
 * reload, so that logrotate can move it away); the workers forked from
 * then on write to the new file, older ones to the file they had. -1
 * with errno when it cannot be opened (nothing changes then). */
int	 usage_log_open(const struct conf *);
/* worker: the request's line in the usage log, its counts in /metrics */
void	 usage_record(const struct usage_rec *);

/* --usage-report: per-key totals of one UTC day (YYYY-MM-DD or "today")
 * from a usage log ("-" = standard input); 0, or -1 with a message in
 * err */
int	 usage_report(const char *day, const char *path, FILE *out, char *err,
	    size_t errsz);

#endif
