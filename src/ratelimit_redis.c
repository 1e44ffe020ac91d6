/*
 * ratelimit_redis.c: the key limits counted in Redis, shared by every
 * claude-proxy instance that names the same server (limits_backend).
 *
 * Keys, per client key name (in braces, a Redis Cluster hash tag, so one
 * key's counters live together):
 *
 *   claude-proxy:{NAME}:req:MINUTE   requests admitted in a UTC minute
 *   claude-proxy:{NAME}:in:MINUTE    input tokens of that minute
 *   claude-proxy:{NAME}:out:DAY      output tokens of a UTC day
 *   claude-proxy:{NAME}:conc         a sorted set of concurrency leases
 *
 * MINUTE and DAY are the windows' start in epoch seconds, so counters of
 * an ended window are simply never read again; each key expires after its
 * window. One Lua script checks every limit and charges them, atomically
 * on the server, so instances and workers agree exactly at the boundary.
 * Concurrency is a lease per request with an expiry (score): the script
 * drops expired leases before it counts, a request renews its lease while
 * it runs (ratelimit_redis_tick) and removes it when it is settled, so an
 * instance or worker that dies gives its places back when their leases
 * expire (LEASE_MS).
 *
 * Each worker keeps one connection, made when first needed. Every connect
 * and command is bounded by limits_redis_timeout_ms; after a failure the
 * worker waits a second before it tries again, and in between answers at
 * once as limits_redis_failure says: open (admit, no headers) or closed
 * (503). Failures are logged at most once a minute across all workers.
 * Windows come from this machine's clock: instances must keep theirs in
 * step (NTP).
 */
#include <sys/time.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "ratelimit.h"
#include "util.h"

#define LEASE_MS	60000	/* a lease outlives its last renewal this long */
#define RENEW_MS	15000
#define RETRY_MS	1000	/* after a failure, before the next connect */
#define KEY_MAX		160

/* KEYS: req, in, out, conc; ARGV: limits (req, conc, in, out), estimate,
 * now (ms), lease id, lease ms, peek. Returns {refused dimension or -1,
 * requests, leases, input, output}. The dimensions are enum
 * ratelimit_dim's; the longest wait is named first. */
static const char admit_lua[] =
    "local lr, lc, li, lo = tonumber(ARGV[1]), tonumber(ARGV[2]), "
    "tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local est, now = tonumber(ARGV[5]), tonumber(ARGV[6])\n"
    "local req = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "local inp = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
    "local out = tonumber(redis.call('GET', KEYS[3]) or '0')\n"
    "local conc = 0\n"
    "if lc > 0 then\n"
    "  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)\n"
    "  conc = redis.call('ZCARD', KEYS[4])\n"
    "end\n"
    "local refused = -1\n"
    "if lo > 0 and out >= lo then refused = 3\n"
    "elseif lr > 0 and req + 1 > lr then refused = 0\n"
    "elseif li > 0 and inp > 0 and inp + est > li then refused = 2\n"
    "elseif lc > 0 and conc + 1 > lc then refused = 1 end\n"
    "if refused < 0 and ARGV[9] ~= '1' then\n"
    "  req = redis.call('INCR', KEYS[1])\n"
    "  redis.call('EXPIRE', KEYS[1], 120)\n"
    "  if est > 0 then\n"
    "    inp = redis.call('INCRBY', KEYS[2], est)\n"
    "    redis.call('EXPIRE', KEYS[2], 120)\n"
    "  end\n"
    "  if lc > 0 then\n"
    "    redis.call('ZADD', KEYS[4], now + tonumber(ARGV[8]), ARGV[7])\n"
    "    redis.call('PEXPIRE', KEYS[4], ARGV[8])\n"
    "    conc = conc + 1\n"
    "  end\n"
    "end\n"
    "return {refused, req, conc, inp, out}\n";

/* KEYS: in (of the admission's minute), out (today), conc; ARGV: input
 * correction, output, lease id ("" = none) */
static const char settle_lua[] =
    "local d = tonumber(ARGV[1])\n"
    "if d ~= 0 and redis.call('EXISTS', KEYS[1]) == 1 then\n"
    "  local v = redis.call('INCRBY', KEYS[1], d)\n"
    "  if v < 0 then redis.call('INCRBY', KEYS[1], -v) end\n"
    "end\n"
    "if tonumber(ARGV[2]) > 0 then\n"
    "  redis.call('INCRBY', KEYS[2], ARGV[2])\n"
    "  redis.call('EXPIRE', KEYS[2], 172800)\n"
    "end\n"
    "if ARGV[3] ~= '' then redis.call('ZREM', KEYS[3], ARGV[3]) end\n"
    "return 0\n";

static redisContext	*rc;
static uint64_t		 next_try_ms;
static unsigned long	 lease_seq;

static uint64_t
epoch_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
redis_failed(const struct conf *c, const char *what)
{
	ratelimit_warn_once_a_minute("limits: Redis at %s:%d/%d: %s; %s "
	    "(logged once a minute)", c->redis_host, c->redis_port,
	    c->redis_db, what, c->limits_redis_fail_open ? "serving "
	    "requests without counting them" : "refusing requests of keys "
	    "with limits (503)");
	if (rc != NULL)
		redisFree(rc);
	rc = NULL;
	next_try_ms = util_now_ms() + RETRY_MS;
}

/* a reply that is not an error; NULL after logging the failure */
static redisReply *
redis_ok(const struct conf *c, redisReply *r, const char *what)
{
	char	 why[200];

	if (r == NULL) {
		snprintf(why, sizeof(why), "%s: %s", what, rc != NULL &&
		    rc->errstr[0] ? rc->errstr : "no answer");
		redis_failed(c, why);
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(why, sizeof(why), "%s: %.*s", what, (int)r->len,
		    r->str);
		freeReplyObject(r);
		redis_failed(c, why);
		return NULL;
	}
	return r;
}

static int
redis_connect(const struct conf *c)
{
	struct timeval	 tv;
	redisReply	*r;

	if (rc != NULL)
		return 0;
	if (util_now_ms() < next_try_ms)
		return -1;
	tv.tv_sec = c->limits_redis_timeout_ms / 1000;
	tv.tv_usec = (c->limits_redis_timeout_ms % 1000) * 1000;
	rc = redisConnectWithTimeout(c->redis_host, c->redis_port, tv);
	if (rc == NULL || rc->err) {
		redis_failed(c, rc != NULL ? rc->errstr : "out of memory");
		return -1;
	}
	if (redisSetTimeout(rc, tv) != REDIS_OK) {
		redis_failed(c, "cannot set a timeout");
		return -1;
	}
	if (c->redis_password != NULL) {
		r = c->redis_user != NULL ? redisCommand(rc, "AUTH %s %s",
		    c->redis_user, c->redis_password) : redisCommand(rc,
		    "AUTH %s", c->redis_password);
		if ((r = redis_ok(c, r, "AUTH")) == NULL)
			return -1;
		freeReplyObject(r);
	}
	if (c->redis_db != 0) {
		if ((r = redis_ok(c, redisCommand(rc, "SELECT %d",
		    c->redis_db), "SELECT")) == NULL)
			return -1;
		freeReplyObject(r);
	}
	return 0;
}

static void
redis_key(char *out, const char *name, const char *what, int64_t window)
{
	if (window >= 0)
		snprintf(out, KEY_MAX, "claude-proxy:{%s}:%s:%" PRId64, name,
		    what, window);
	else
		snprintf(out, KEY_MAX, "claude-proxy:{%s}:%s", name, what);
}

/* the admission script, charging or (peek) not; 0 or -1 (failed) */
static int
redis_run_admit(const struct conf *c, const struct conf_client_key *k,
    int64_t est, const char *lease, int peek, struct ratelimit_usage *u)
{
	char		 kreq[KEY_MAX], kin[KEY_MAX], kout[KEY_MAX];
	char		 kconc[KEY_MAX];
	redisReply	*r;
	size_t		 i;

	if (redis_connect(c) == -1)
		return -1;
	redis_key(kreq, k->name, "req",
	    ratelimit_window_start(LIM_REQUESTS, u->now));
	redis_key(kin, k->name, "in", ratelimit_window_start(LIM_INPUT,
	    u->now));
	redis_key(kout, k->name, "out", ratelimit_window_start(LIM_OUTPUT,
	    u->now));
	redis_key(kconc, k->name, "conc", -1);
	r = redisCommand(rc, "EVAL %s 4 %s %s %s %s %lld %lld %lld %lld "
	    "%lld %llu %s %d %s", admit_lua, kreq, kin, kout, kconc,
	    (long long)k->limits.requests_per_minute,
	    (long long)k->limits.concurrent_requests,
	    (long long)k->limits.input_tokens_per_minute,
	    (long long)k->limits.output_tokens_per_day, (long long)est,
	    (unsigned long long)epoch_ms(), lease, LEASE_MS, peek ? "1" : "0");
	if ((r = redis_ok(c, r, "EVAL")) == NULL)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 5) {
		freeReplyObject(r);
		redis_failed(c, "EVAL: an unexpected answer");
		return -1;
	}
	for (i = 0; i < 5; i++)
		if (r->element[i]->type != REDIS_REPLY_INTEGER) {
			freeReplyObject(r);
			redis_failed(c, "EVAL: an unexpected answer");
			return -1;
		}
	u->refused = (int)r->element[0]->integer;
	u->used[LIM_REQUESTS] = r->element[1]->integer;
	u->used[LIM_CONCURRENT] = r->element[2]->integer;
	u->used[LIM_INPUT] = r->element[3]->integer;
	u->used[LIM_OUTPUT] = r->element[4]->integer;
	u->known = 1;
	freeReplyObject(r);
	return 0;
}

int
ratelimit_redis_admit(const struct conf *c, const struct conf_client_key *k,
    int64_t est, struct ratelimit_ticket *t, struct ratelimit_usage *u)
{
	if (est < 0)
		est = 0;
	if (k->limits.concurrent_requests > 0)
		snprintf(t->lease, sizeof(t->lease), "%ld.%lu.%llu",
		    (long)getpid(), ++lease_seq,
		    (unsigned long long)epoch_ms());
	if (redis_run_admit(c, k, est, t->lease, 0, u) == -1) {
		t->lease[0] = '\0';
		return c->limits_redis_fail_open ? RATELIMIT_OK :
		    RATELIMIT_UNAVAILABLE;
	}
	if (u->refused >= 0) {
		t->lease[0] = '\0';
		return RATELIMIT_REFUSED;
	}
	t->backend = 2;
	t->held = t->lease[0] != '\0';
	t->minute = ratelimit_window_start(LIM_INPUT, u->now);
	t->input_charged = est;
	t->renewed_ms = util_now_ms();
	return RATELIMIT_OK;
}

void
ratelimit_redis_peek(const struct conf *c, const struct conf_client_key *k,
    struct ratelimit_usage *u)
{
	if (redis_run_admit(c, k, 0, "", 1, u) == -1)
		u->known = 0;
	u->refused = -1;
}

void
ratelimit_redis_settle(const struct conf *c, struct ratelimit_ticket *t,
    int64_t input, int64_t output)
{
	const char	*name = t->key->name;
	char		 kin[KEY_MAX], kout[KEY_MAX], kconc[KEY_MAX];
	redisReply	*r;
	int64_t		 fix = input >= 0 ? input - t->input_charged : 0;

	if (redis_connect(c) == -1)
		return;		/* the lease expires by itself */
	redis_key(kin, name, "in", t->minute);
	redis_key(kout, name, "out", ratelimit_window_start(LIM_OUTPUT,
	    (int64_t)time(NULL)));
	redis_key(kconc, name, "conc", -1);
	r = redisCommand(rc, "EVAL %s 3 %s %s %s %lld %lld %s", settle_lua,
	    kin, kout, kconc, (long long)fix,
	    (long long)(output > 0 ? output : 0), t->held ? t->lease : "");
	if ((r = redis_ok(c, r, "EVAL")) != NULL)
		freeReplyObject(r);
	t->held = 0;
}

void
ratelimit_redis_tick(const struct conf *c, struct ratelimit_ticket *t)
{
	char		 kconc[KEY_MAX];
	redisReply	*r;

	if (!t->held || util_now_ms() - t->renewed_ms < RENEW_MS)
		return;
	t->renewed_ms = util_now_ms();
	if (redis_connect(c) == -1)
		return;
	redis_key(kconc, t->key->name, "conc", -1);
	r = redisCommand(rc, "ZADD %s XX %llu %s", kconc,
	    (unsigned long long)(epoch_ms() + LEASE_MS), t->lease);
	if ((r = redis_ok(c, r, "ZADD")) != NULL)
		freeReplyObject(r);
	r = redisCommand(rc, "PEXPIRE %s %d", kconc, LEASE_MS);
	if ((r = redis_ok(c, r, "PEXPIRE")) != NULL)
		freeReplyObject(r);
}
