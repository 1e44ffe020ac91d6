/*
 * test_ratelimit: the key limits' windows, headers and 429s, and the local
 * backend's counting in one process (the integration tests run it across
 * workers).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "ratelimit.h"
#include "tap.h"

static const char cfg[] = "{\"keys\":["
    "{\"name\":\"rpm\",\"key\":\"key-rpm-123\",\"limits\":"
    "{\"requests_per_minute\":3}},"
    "{\"name\":\"conc\",\"key\":\"key-conc-123\",\"limits\":"
    "{\"concurrent_requests\":1}},"
    "{\"name\":\"tok\",\"key\":\"key-tok-123\",\"limits\":"
    "{\"input_tokens_per_minute\":100,\"output_tokens_per_day\":50}},"
    "{\"name\":\"free\",\"key\":\"key-free-123\"}],"
    "\"providers\":[{\"base_url\":\"http://x\",\"api_key\":\"\","
    "\"models\":[{\"id\":\"m\"}]}]}";

static const struct conf_client_key *
key(const struct conf *c, const char *name)
{
	size_t	 i;

	for (i = 0; i < c->nclient_keys; i++)
		if (strcmp(c->client_keys[i].name, name) == 0)
			return &c->client_keys[i];
	return NULL;
}

static void
test_windows(void)
{
	/* 2024-01-01T00:00:59Z and the next day's start */
	is_int(ratelimit_window_start(LIM_REQUESTS, 1704067259), 1704067200,
	    "minute start");
	is_int(ratelimit_window_end(LIM_REQUESTS, 1704067259), 1704067260,
	    "minute end");
	is_int(ratelimit_window_end(LIM_OUTPUT, 1704067259), 1704153600,
	    "day end: midnight UTC");
}

static void
test_headers(const struct conf *c)
{
	struct ratelimit_usage	 u;
	char			 h[768], why[320];

	memset(&u, 0, sizeof(u));
	u.known = 1;
	u.refused = -1;
	u.now = 1704067259;
	u.used[LIM_INPUT] = 30;
	u.used[LIM_OUTPUT] = 45;
	ratelimit_headers(key(c, "tok"), &u, h, sizeof(h));
	is_str(h, "anthropic-ratelimit-input-tokens-limit: 100\r\n"
	    "anthropic-ratelimit-input-tokens-remaining: 70\r\n"
	    "anthropic-ratelimit-input-tokens-reset: 2024-01-01T00:01:00Z\r\n"
	    "anthropic-ratelimit-output-tokens-limit: 50\r\n"
	    "anthropic-ratelimit-output-tokens-remaining: 5\r\n"
	    "anthropic-ratelimit-output-tokens-reset: 2024-01-02T00:00:00Z\r\n"
	    "anthropic-ratelimit-tokens-limit: 50\r\n"
	    "anthropic-ratelimit-tokens-remaining: 5\r\n"
	    "anthropic-ratelimit-tokens-reset: 2024-01-02T00:00:00Z\r\n",
	    "token headers; tokens-* is the most restrictive");
	u.used[LIM_REQUESTS] = 5;
	ratelimit_headers(key(c, "rpm"), &u, h, sizeof(h));
	is_str(h, "anthropic-ratelimit-requests-limit: 3\r\n"
	    "anthropic-ratelimit-requests-remaining: 0\r\n"
	    "anthropic-ratelimit-requests-reset: 2024-01-01T00:01:00Z\r\n",
	    "requests headers; remaining never below 0");
	ratelimit_headers(key(c, "free"), &u, h, sizeof(h));
	is_str(h, "", "no limits, no headers");
	ratelimit_headers(NULL, &u, h, sizeof(h));
	is_str(h, "", "no key, no headers");
	ratelimit_headers(key(c, "tok"), &u, h, 100);
	ok(strlen(h) < 100 && strstr(h, "-limit: 100\r\n") == NULL &&
	    (h[0] == '\0' || h[strlen(h) - 1] == '\n'),
	    "a set that does not fit is left out whole: %s", h);

	u.refused = LIM_REQUESTS;
	is_int(ratelimit_retry_after(&u), 1, "1 s left in the minute");
	u.now = 1704067200;
	is_int(ratelimit_retry_after(&u), 60, "a whole minute");
	u.refused = LIM_OUTPUT;
	is_int(ratelimit_retry_after(&u), 86400, "a whole day");
	u.refused = LIM_CONCURRENT;
	is_int(ratelimit_retry_after(&u), 1, "concurrency: 1 s");
	u.refused = LIM_INPUT;
	ratelimit_reason(key(c, "tok"), &u, 40, why, sizeof(why));
	is_str(why, "this request (about 40 input tokens) would exceed the "
	    "rate limit of key tok: 100 input tokens per minute, 70 left this "
	    "minute", "input reason");
}

static void
test_counting(struct conf *c)
{
	struct ratelimit_ticket	 t[8];
	struct ratelimit_usage	 u;
	int			 i, r;

	ok(ratelimit_init() == 0, "shared memory mapped");
	ok(ratelimit_sync(c) == 0, "keys taken in");
	ratelimit_attach(5);

	/* well inside a minute, so the window does not turn under us */
	while (time(NULL) % 60 > 50)
		sleep(1);
	for (i = 0; i < 4; i++) {
		r = ratelimit_admit(c, key(c, "rpm"), 10, &t[i], &u);
		is_int(r, i < 3 ? RATELIMIT_OK : RATELIMIT_REFUSED,
		    "rpm request %d", i + 1);
		if (r == RATELIMIT_OK)
			ratelimit_settle(c, &t[i], 10, 1);
	}
	is_int(u.refused, LIM_REQUESTS, "refused for requests");

	r = ratelimit_admit(c, key(c, "conc"), 1, &t[0], &u);
	is_int(r, RATELIMIT_OK, "a concurrency place");
	is_int(u.used[LIM_CONCURRENT], 1, "held");
	is_int(ratelimit_admit(c, key(c, "conc"), 1, &t[1], &u),
	    RATELIMIT_REFUSED, "the only place is taken");
	ratelimit_worker_gone(5);
	is_int(ratelimit_admit(c, key(c, "conc"), 1, &t[1], &u),
	    RATELIMIT_OK, "the master freed a dead worker's place");
	ratelimit_settle(c, &t[1], 1, 0);
	ratelimit_settle(c, &t[0], 1, 0);

	/* the first request of a minute goes whatever its size */
	r = ratelimit_admit(c, key(c, "tok"), 500, &t[0], &u);
	is_int(r, RATELIMIT_OK, "a request larger than the minute's budget");
	ratelimit_settle(c, &t[0], 60, 20);
	r = ratelimit_admit(c, key(c, "tok"), 40, &t[1], &u);
	is_int(r, RATELIMIT_OK, "60 settled + 40 fits in 100");
	is_int(u.used[LIM_INPUT], 100, "charged");
	ratelimit_settle(c, &t[1], 40, 30);
	r = ratelimit_admit(c, key(c, "tok"), 1, &t[2], &u);
	is_int(r, RATELIMIT_REFUSED, "50 output tokens spent today");
	is_int(u.refused, LIM_OUTPUT, "refused for the day, the longest wait");

	is_int(ratelimit_admit(c, key(c, "free"), 1 << 30, &t[3], &u),
	    RATELIMIT_OK, "a key without limits");
	is_int(t[3].backend, 0, "nothing to settle");
	ok(!u.known, "and nothing known");

	ratelimit_peek(c, key(c, "rpm"), &u);
	ok(u.known && u.used[LIM_REQUESTS] == 3, "peek: 3 requests used");
	ok(ratelimit_sync(c) == 0, "a reload with the same keys");
	ratelimit_peek(c, key(c, "rpm"), &u);
	is_int(u.used[LIM_REQUESTS], 3, "keeps the counters");
}

int
main(void)
{
	struct conf	*c = NULL;
	char		 err[256];

	ok(conf_parse(cfg, strlen(cfg), &c, err, sizeof(err)) == 0,
	    "config (%s)", err);
	if (c == NULL)
		return tap_done();
	test_windows();
	test_headers(c);
	test_counting(c);
	conf_free(c);
	return tap_done();
}
