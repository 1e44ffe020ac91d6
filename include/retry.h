/*
 * retry: when and how long to wait before trying the same provider again
 * (providers[].retries), and the wait itself.
 */
#ifndef CP_RETRY_H
#define CP_RETRY_H

#include <stdint.h>
#include <time.h>

#include "conf.h"

/* what the wait is decided from */
struct retry_case {
	const struct conf_retries *cfg;
	int		 retry;		/* 1 for the first retry */
	int64_t		 retry_after_ms;	/* the upstream's, -1 = none */
	int		 fresh_key;	/* another key is usable now: the
					 * retry-after was the old key's */
	uint64_t	 left_ms;	/* until the retries' deadline */
	uint32_t	 random;	/* uniform, for the jitter */
};

/* full jitter: uniform in [0, min(base_ms * 2^(retry-1), cap)] */
uint64_t retry_backoff_ms(const struct conf_retries *, int retry,
	    uint32_t random);
/* the wait before the retry, or -1: no retry (none left, a retry-after
 * beyond max_wait_seconds, or a wait that would end past the deadline) */
int64_t	 retry_wait_ms(const struct retry_case *);
/* Retry-After (already valid as upstream_retry_after_valid checks it:
 * delta-seconds or an HTTP-date) in ms from now; -1 = none */
int64_t	 retry_after_ms(const char *v, time_t now);
/* wait ms, watching the client's socket; tick runs every 250 ms (the
 * limits' lease) and may end the wait; 0 = waited, -1 = the client hung
 * up or tick said stop */
int	 retry_sleep(int fd, uint64_t ms, int (*tick)(void *), void *arg);

#endif
