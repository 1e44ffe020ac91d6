/*
 * ratelimit: the client keys' limits (keys[].limits), counted in fixed
 * windows (UTC minutes, UTC days) that every worker, and with Redis every
 * instance, shares; Anthropic's rate-limit headers and 429s.
 */
#ifndef CP_RATELIMIT_H
#define CP_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

enum ratelimit_dim { LIM_REQUESTS, LIM_CONCURRENT, LIM_INPUT, LIM_OUTPUT,
	LIM_NDIMS };

enum { RATELIMIT_OK = 0, RATELIMIT_REFUSED = 1, RATELIMIT_UNAVAILABLE = 2 };

/* a key's standing: what its windows hold, after an admission's charge */
struct ratelimit_usage {
	int64_t		 used[LIM_NDIMS];
	int64_t		 now;		/* epoch seconds the windows are of */
	int		 known;		/* 0: no counts (no limits, or the
					 * backend failed open) */
	int		 refused;	/* the dimension that refused, or -1 */
};

/* one admitted request, until it is settled */
struct ratelimit_ticket {
	const struct conf_client_key *key;
	int		 backend;	/* 0 = nothing to settle */
	int		 entry;		/* local: the key's shared entry */
	uint32_t	 tag;
	int		 held;		/* a concurrency place */
	int64_t		 minute;	/* window charged with the estimate */
	int64_t		 input_charged;
	uint64_t	 renewed_ms;	/* Redis: the lease's last renewal */
	char		 lease[64];	/* Redis: the concurrency lease */
};

/* master: map the shared counters before forking; take a configuration's
 * keys into them (at start and on every reload, before the generation's
 * workers are forked): a name that stays keeps its counters; -1 = no room
 * (the configuration is refused) */
int	 ratelimit_init(void);
int	 ratelimit_sync(const struct conf *);
/* master: a worker was reaped; what it held is free again */
void	 ratelimit_worker_gone(int board_slot);
/* worker: the scoreboard slot it was given */
void	 ratelimit_attach(int board_slot);

/* admit a request of key with an estimated input: RATELIMIT_OK (settle the
 * ticket when it ends), RATELIMIT_REFUSED (u says why) or RATELIMIT_UNAVAILABLE
 * (Redis is down and limits fail closed). A NULL key or one without
 * limits is admitted with nothing to settle. */
int	 ratelimit_admit(const struct conf *, const struct conf_client_key *,
	    int64_t input_estimate, struct ratelimit_ticket *,
	    struct ratelimit_usage *);
/* the standing without charging anything (count_tokens) */
void	 ratelimit_peek(const struct conf *, const struct conf_client_key *,
	    struct ratelimit_usage *);
/* the request ended: the upstream's counts replace the estimate, output
 * tokens are charged, the concurrency place is given back */
void	 ratelimit_settle(const struct conf *, struct ratelimit_ticket *,
	    int64_t input_tokens, int64_t output_tokens);
/* while a request runs (called often; acts every few seconds): keeps a
 * Redis concurrency lease alive */
void	 ratelimit_tick(const struct conf *, struct ratelimit_ticket *);

/* anthropic-ratelimit-* header lines for k's limits, "" without */
void	 ratelimit_headers(const struct conf_client_key *k,
	    const struct ratelimit_usage *, char *out, size_t outsz);
/* seconds until the refusing window ends (retry-after) */
int	 ratelimit_retry_after(const struct ratelimit_usage *);
/* why a request was refused, for the 429's message */
void	 ratelimit_reason(const struct conf_client_key *k,
	    const struct ratelimit_usage *, int64_t input_estimate, char *out,
	    size_t outsz);

/* window arithmetic (shared with the backends) */
int64_t	 ratelimit_window_start(enum ratelimit_dim, int64_t now);
int64_t	 ratelimit_window_end(enum ratelimit_dim, int64_t now);
int64_t	 ratelimit_limit(const struct conf_client_key *, enum ratelimit_dim);

/* one start-up line: where the limits are counted */
void	 ratelimit_log_config(const struct conf *);
/* a backend failure worth logging: at most one line a minute across all
 * workers (local shared memory decides which one) */
void	 ratelimit_warn_once_a_minute(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/* the local backend (ratelimit_shm.c) */
int	 ratelimit_shm_admit(const struct conf *, const struct conf_client_key *,
	    int64_t input_estimate, struct ratelimit_ticket *,
	    struct ratelimit_usage *);
void	 ratelimit_shm_peek(const struct conf *, const struct conf_client_key *,
	    struct ratelimit_usage *);
void	 ratelimit_shm_settle(struct ratelimit_ticket *, int64_t input_tokens,
	    int64_t output_tokens);
int	 ratelimit_shm_claim_warning(int64_t minute);

/* the Redis backend (ratelimit_redis.c), when limits_backend names one */
int	 ratelimit_redis_admit(const struct conf *,
	    const struct conf_client_key *, int64_t input_estimate,
	    struct ratelimit_ticket *, struct ratelimit_usage *);
void	 ratelimit_redis_peek(const struct conf *,
	    const struct conf_client_key *, struct ratelimit_usage *);
void	 ratelimit_redis_settle(const struct conf *,
	    struct ratelimit_ticket *, int64_t input_tokens,
	    int64_t output_tokens);
void	 ratelimit_redis_tick(const struct conf *, struct ratelimit_ticket *);

#endif
