/*
 * retry.c: the waits between tries of one provider (providers[].retries).
 *
 * A retry waits a random time between 0 and a ceiling that starts at
 * base_ms and doubles with each retry, capped at max_wait_seconds ("full
 * jitter": workers that failed together do not come back together). An
 * upstream's Retry-After is honoured instead when it is not longer than
 * max_wait_seconds, unless the retry goes out with another key that is
 * usable now (the 429 was the old key's). No wait may end past the
 * retries' deadline (upstream_timeout_seconds after the provider's first
 * try): such a retry is not made and the caller moves on.
 *
 * The wait is a poll on the client's socket for a hang-up, in slices of
 * 250 ms with the caller's tick in between, so a client that leaves ends
 * it at once and nothing waits unbounded.
 *
 * Promises: the computations are pure (the randomness is an argument);
 * retry_sleep returns within ms (+ one slice's rounding) or sooner.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "retry.h"
#include "util.h"

#define RETRY_SLICE_MS	250
#define RETRY_AFTER_MAX	(86400LL * 366)	/* seconds; longer is nonsense */

uint64_t
retry_backoff_ms(const struct conf_retries *cfg, int retry, uint32_t random)
{
	uint64_t	 ceiling = (uint64_t)cfg->base_ms;
	uint64_t	 cap = (uint64_t)cfg->max_wait_seconds * 1000;
	int		 i;

	for (i = 1; i < retry && ceiling < cap; i++)
		ceiling *= 2;
	if (ceiling > cap)
		ceiling = cap;
	return (uint64_t)random % (ceiling + 1);
}

int64_t
retry_wait_ms(const struct retry_case *rc)
{
	uint64_t	 wait;

	if (rc->retry < 1 || rc->retry > rc->cfg->count)
		return -1;
	wait = retry_backoff_ms(rc->cfg, rc->retry, rc->random);
	if (rc->retry_after_ms >= 0 && !rc->fresh_key) {
		if (rc->retry_after_ms > (int64_t)rc->cfg->max_wait_seconds *
		    1000)
			return -1;
		wait = (uint64_t)rc->retry_after_ms;
	}
	/* the try itself needs time too: a wait up to the deadline is as
	 * good as none */
	if (wait >= rc->left_ms)
		return -1;
	return (int64_t)wait;
}

int64_t
retry_after_ms(const char *v, time_t now)
{
	const char	*errstr;
	long long	 s;
	time_t		 t;

	if (v == NULL || *v == '\0')
		return -1;
	if (*v >= '0' && *v <= '9') {
		s = strtonum(v, 0, RETRY_AFTER_MAX, &errstr);
		return errstr != NULL ? RETRY_AFTER_MAX * 1000 : s * 1000;
	}
	if ((t = curl_getdate(v, NULL)) == -1)
		return -1;
	if (t <= now)
		return 0;
	if (t - now > RETRY_AFTER_MAX)
		return RETRY_AFTER_MAX * 1000;
	return (int64_t)(t - now) * 1000;
}

int
retry_sleep(int fd, uint64_t ms, int (*tick)(void *), void *arg)
{
	struct pollfd	 pfd;
	uint64_t	 end = util_now_ms() + ms, now;
	int		 n;

	for (;;) {
		if ((now = util_now_ms()) >= end)
			return 0;
		pfd.fd = fd;
		/* only a hang-up: bytes a client pipelines must not make the
		 * wait spin */
		pfd.events = POLLRDHUP;
		pfd.revents = 0;
		n = poll(fd >= 0 ? &pfd : NULL, fd >= 0 ? 1 : 0,
		    (int)(end - now < RETRY_SLICE_MS ? end - now :
		    RETRY_SLICE_MS));
		if (n == -1 && errno != EINTR)
			return -1;
		if (n > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR |
		    POLLNVAL)))
			return -1;
		if (tick != NULL && tick(arg) == -1)
			return -1;
	}
}
