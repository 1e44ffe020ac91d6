/*
 * test_retry: the backoff (full jitter, doubling, cap), the decision to
 * retry (count, retry-after within the cap, a fresh key, the deadline)
 * and Retry-After in both of RFC 9110's forms.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "retry.h"
#include "tap.h"

static const struct conf_retries cfg = { 3, 500, 4 };

static void
test_backoff(void)
{
	/* the ceiling: 500, 1000, 2000, then the cap of 4000 */
	is_int(retry_backoff_ms(&cfg, 1, UINT32_MAX), UINT32_MAX % 501,
	    "retry 1: a random value modulo 501");
	is_int(retry_backoff_ms(&cfg, 1, 500), 500, "retry 1: at most 500");
	is_int(retry_backoff_ms(&cfg, 1, 501), 0, "retry 1: 501 wraps to 0");
	is_int(retry_backoff_ms(&cfg, 2, 1000), 1000, "retry 2: ceiling 1000");
	is_int(retry_backoff_ms(&cfg, 2, 1001), 0, "retry 2: nothing above");
	is_int(retry_backoff_ms(&cfg, 3, 2000), 2000, "retry 3: ceiling 2000");
	is_int(retry_backoff_ms(&cfg, 4, 4000), 4000, "retry 4: the cap");
	is_int(retry_backoff_ms(&cfg, 30, 4001), 0, "retry 30: still the cap, "
	    "no overflow");
	is_int(retry_backoff_ms(&cfg, 1, 0), 0, "full jitter reaches 0");
}

static void
test_wait(void)
{
	struct retry_case rc;

	memset(&rc, 0, sizeof(rc));
	rc.cfg = &cfg;
	rc.retry = 1;
	rc.retry_after_ms = -1;
	rc.left_ms = 60000;
	rc.random = 123;
	is_int(retry_wait_ms(&rc), 123, "the backoff without retry-after");
	rc.retry = 4;
	is_int(retry_wait_ms(&rc), -1, "no retry past count");
	rc.retry = 0;
	is_int(retry_wait_ms(&rc), -1, "retry numbers start at 1");
	rc.retry = 1;
	rc.retry_after_ms = 3000;
	is_int(retry_wait_ms(&rc), 3000, "retry-after within the cap honoured");
	rc.retry_after_ms = 4001;
	is_int(retry_wait_ms(&rc), -1, "retry-after beyond the cap: no retry");
	rc.fresh_key = 1;
	is_int(retry_wait_ms(&rc), 123, "another key usable: only the backoff");
	rc.fresh_key = 0;
	rc.retry_after_ms = 3000;
	rc.left_ms = 3000;
	is_int(retry_wait_ms(&rc), -1, "a wait up to the deadline: no retry");
	rc.left_ms = 3001;
	is_int(retry_wait_ms(&rc), 3000, "a wait that ends before it: waited");
	rc.retry_after_ms = -1;
	rc.left_ms = 100;
	is_int(retry_wait_ms(&rc), -1, "the backoff past the deadline: none");
}

static void
test_after(void)
{
	time_t	 now = 1700000000;	/* Tue, 14 Nov 2023 22:13:20 GMT */

	is_int(retry_after_ms("", now), -1, "empty: none");
	is_int(retry_after_ms(NULL, now), -1, "NULL: none");
	is_int(retry_after_ms("0", now), 0, "0 s");
	is_int(retry_after_ms("30", now), 30000, "delta-seconds");
	ok(retry_after_ms("99999999999999999999", now) > 0,
	    "a huge delta is long, not negative");
	is_int(retry_after_ms("Tue, 14 Nov 2023 22:13:50 GMT", now), 30000,
	    "IMF-fixdate 30 s ahead");
	is_int(retry_after_ms("Tue, 14 Nov 2023 22:00:00 GMT", now), 0,
	    "a date in the past: now");
	is_int(retry_after_ms("Tuesday, 14-Nov-23 22:13:30 GMT", now), 10000,
	    "RFC 850 form");
}

static int
tick_stop(void *arg)
{
	int	*n = arg;

	return ++*n >= 2 ? -1 : 0;
}

static void
test_sleep(void)
{
	struct timespec	 a, b;
	int		 n = 0;
	long		 ms;

	clock_gettime(CLOCK_MONOTONIC, &a);
	is_int(retry_sleep(-1, 120, NULL, NULL), 0, "a short wait ends");
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	ok(ms >= 110 && ms < 1000, "it lasted about 120 ms (%ld)", ms);
	is_int(retry_sleep(-1, 60000, tick_stop, &n), -1, "the tick ends it");
	is_int(n, 2, "after two ticks, not 60 s");
}

int
main(void)
{
	test_backoff();
	test_wait();
	test_after();
	test_sleep();
	return tap_done();
}
