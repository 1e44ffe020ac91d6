/*
 * ratelimit.c: the client keys' limits, whatever counts them.
 *
 * Windows are fixed and aligned to UTC: requests_per_minute and
 * input_tokens_per_minute count in calendar minutes, output_tokens_per_day
 * in UTC days, so every worker and every instance agrees on when a window
 * begins and ends, reset times can be told exactly, and retry-after is
 * the time to the end of the window that refused. concurrent_requests
 * counts requests from admission to settlement.
 *
 * This module picks the backend (ratelimit_shm.c, this instance's shared
 * memory; ratelimit_redis.c, a Redis server every instance shares), and says
 * what a client is told: Anthropic's anthropic-ratelimit-* headers for the
 * limits the key has, and the 429's message and retry-after.
 *
 * Promises: a key without limits costs nothing and gets no headers; a
 * refused request is not charged; the headers and retry-after are
 * consistent with the windows above.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "ratelimit.h"
#include "log.h"

#define MINUTE	60
#define DAY	86400

int64_t
ratelimit_window_start(enum ratelimit_dim d, int64_t now)
{
	int64_t	 len = d == LIM_OUTPUT ? DAY : MINUTE;

	return now - now % len;
}

int64_t
ratelimit_window_end(enum ratelimit_dim d, int64_t now)
{
	return ratelimit_window_start(d, now) + (d == LIM_OUTPUT ? DAY : MINUTE);
}

int64_t
ratelimit_limit(const struct conf_client_key *k, enum ratelimit_dim d)
{
	switch (d) {
	case LIM_REQUESTS:	return k->limits.requests_per_minute;
	case LIM_CONCURRENT:	return k->limits.concurrent_requests;
	case LIM_INPUT:		return k->limits.input_tokens_per_minute;
	case LIM_OUTPUT:	return k->limits.output_tokens_per_day;
	default:		return 0;
	}
}

static void
nothing(struct ratelimit_ticket *t, struct ratelimit_usage *u)
{
	if (t != NULL)
		memset(t, 0, sizeof(*t));
	memset(u, 0, sizeof(*u));
	u->refused = -1;
	u->now = (int64_t)time(NULL);
}

int
ratelimit_admit(const struct conf *c, const struct conf_client_key *k,
    int64_t input_estimate, struct ratelimit_ticket *t, struct ratelimit_usage *u)
{
	nothing(t, u);
	if (k == NULL || !k->limited)
		return RATELIMIT_OK;
	t->key = k;
	if (c->redis_host != NULL)
		return ratelimit_redis_admit(c, k, input_estimate, t, u);
	return ratelimit_shm_admit(c, k, input_estimate, t, u);
}

void
ratelimit_peek(const struct conf *c, const struct conf_client_key *k,
    struct ratelimit_usage *u)
{
	nothing(NULL, u);
	if (k == NULL || !k->limited)
		return;
	if (c->redis_host != NULL)
		ratelimit_redis_peek(c, k, u);
	else
		ratelimit_shm_peek(c, k, u);
}

void
ratelimit_settle(const struct conf *c, struct ratelimit_ticket *t,
    int64_t input_tokens, int64_t output_tokens)
{
	if (t->backend == 2)
		ratelimit_redis_settle(c, t, input_tokens, output_tokens);
	else if (t->backend == 1)
		ratelimit_shm_settle(t, input_tokens, output_tokens);
	t->backend = 0;
}

void
ratelimit_tick(const struct conf *c, struct ratelimit_ticket *t)
{
	if (t->backend == 2)
		ratelimit_redis_tick(c, t);
}

static void
rfc3339(int64_t when, char *out, size_t outsz)
{
	time_t		 tt = (time_t)when;
	struct tm	 tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outsz, "1970-01-01T00:00:00Z");
}

static int64_t
remaining(const struct conf_client_key *k, const struct ratelimit_usage *u,
    enum ratelimit_dim d)
{
	int64_t	 left = ratelimit_limit(k, d) - u->used[d];

	return left > 0 ? left : 0;
}

static size_t
header_set(char *out, size_t outsz, size_t at, const char *name,
    int64_t limit, int64_t left, int64_t reset)
{
	char	 ts[32];
	int	 n;

	if (at >= outsz)
		return at;
	rfc3339(reset, ts, sizeof(ts));
	n = snprintf(out + at, outsz - at,
	    "anthropic-ratelimit-%s-limit: %lld\r\n"
	    "anthropic-ratelimit-%s-remaining: %lld\r\n"
	    "anthropic-ratelimit-%s-reset: %s\r\n", name, (long long)limit,
	    name, (long long)left, name, ts);
	if (n < 0 || (size_t)n >= outsz - at) {
		out[at] = '\0';		/* all of a set or none */
		return outsz;
	}
	return at + (size_t)n;
}

/*
 * requests-* for requests_per_minute, input-tokens-* and output-tokens-*
 * for the token limits, and tokens-* for the most restrictive of those two,
 * as Anthropic's API sends them. Concurrency has no header of its own.
 */
void
ratelimit_headers(const struct conf_client_key *k, const struct ratelimit_usage *u,
    char *out, size_t outsz)
{
	int64_t	 in_left, out_left;
	size_t	 at = 0;
	int	 tokens = -1;

	if (outsz > 0)
		out[0] = '\0';
	if (k == NULL || !k->limited || !u->known)
		return;
	if (ratelimit_limit(k, LIM_REQUESTS) > 0)
		at = header_set(out, outsz, at, "requests",
		    ratelimit_limit(k, LIM_REQUESTS), remaining(k, u, LIM_REQUESTS),
		    ratelimit_window_end(LIM_REQUESTS, u->now));
	in_left = remaining(k, u, LIM_INPUT);
	out_left = remaining(k, u, LIM_OUTPUT);
	if (ratelimit_limit(k, LIM_INPUT) > 0) {
		at = header_set(out, outsz, at, "input-tokens",
		    ratelimit_limit(k, LIM_INPUT), in_left,
		    ratelimit_window_end(LIM_INPUT, u->now));
		tokens = LIM_INPUT;
	}
	if (ratelimit_limit(k, LIM_OUTPUT) > 0) {
		at = header_set(out, outsz, at, "output-tokens",
		    ratelimit_limit(k, LIM_OUTPUT), out_left,
		    ratelimit_window_end(LIM_OUTPUT, u->now));
		if (tokens == -1 || out_left < in_left)
			tokens = LIM_OUTPUT;
	}
	if (tokens != -1)
		header_set(out, outsz, at, "tokens", ratelimit_limit(k, tokens),
		    remaining(k, u, tokens), ratelimit_window_end(tokens, u->now));
}

int
ratelimit_retry_after(const struct ratelimit_usage *u)
{
	int64_t	 s;

	if (u->refused < 0 || u->refused == LIM_CONCURRENT)
		return 1;
	s = ratelimit_window_end(u->refused, u->now) - u->now;
	return s > 0 ? (int)s : 1;
}

void
ratelimit_reason(const struct conf_client_key *k, const struct ratelimit_usage *u,
    int64_t input_estimate, char *out, size_t outsz)
{
	long long	 lim = (long long)ratelimit_limit(k, u->refused);

	switch (u->refused) {
	case LIM_REQUESTS:
		snprintf(out, outsz, "this request would exceed the rate limit "
		    "of key %s: %lld requests per minute", k->name, lim);
		break;
	case LIM_CONCURRENT:
		snprintf(out, outsz, "this request would exceed the rate limit "
		    "of key %s: %lld concurrent requests", k->name, lim);
		break;
	case LIM_INPUT:
		snprintf(out, outsz, "this request (about %lld input tokens) "
		    "would exceed the rate limit of key %s: %lld input tokens "
		    "per minute, %lld left this minute",
		    (long long)input_estimate, k->name, lim,
		    (long long)remaining(k, u, LIM_INPUT));
		break;
	default:
		snprintf(out, outsz, "key %s has used its %lld output tokens "
		    "for today (UTC)", k->name, lim);
		break;
	}
}

void
ratelimit_log_config(const struct conf *c)
{
	size_t	 i, n = 0;

	for (i = 0; i < c->nclient_keys; i++)
		n += c->client_keys[i].limited;
	if (n == 0)
		return;
	if (c->redis_host != NULL)
		log_info("keys with limits: %zu, counted in Redis at %s:%d/%d, "
		    "shared with every instance using it; while it cannot be "
		    "reached, requests are %s", n, c->redis_host, c->redis_port,
		    c->redis_db, c->limits_redis_fail_open ? "served uncounted" :
		    "refused (503)");
	else
		log_info("keys with limits: %zu, counted by this instance "
		    "alone (limits_backend local)", n);
}

void
ratelimit_warn_once_a_minute(const char *fmt, ...)
{
	va_list	 ap;

	if (!ratelimit_shm_claim_warning((int64_t)time(NULL) / MINUTE))
		return;
	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}
