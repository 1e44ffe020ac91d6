/*
 * upstream: one libcurl easy handle per worker, reused across requests
 * (keep-alive, TLS sessions). POSTs JSON to a provider's url with its
 * key; bounded by connect, total (non-stream) or idle (stream) timeouts.
 */
#ifndef CP_UPSTREAM_H
#define CP_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conf.h"

struct upstream_call {
	const struct conf_provider *provider;
	const char	*body;
	size_t		 body_len;
	int		 stream;
	/* streams: bytes of a 2xx answer as they arrive; return -1 to abort */
	int		(*on_data)(void *arg, const char *, size_t);
	/* called as xfer runs its tick (every 250 ms; while data flows,
	 * every second at least), and at once when watch_fd becomes
	 * readable; return -1 to abort */
	int		(*on_tick)(void *arg);
	int		 watch_fd;	/* the client's socket, -1 = none */
	/* streams: when the caller last saw real data (CLOCK_MONOTONIC ms);
	 * the idle timeout runs from it. NULL = any byte counts */
	const uint64_t	*activity_ms;
	void		*arg;
	/* NULL = the provider's url; else this one (its count_tokens) */
	const char	*url;
	/* header lines of this request alone (the client's anthropic-version
	 * and -beta for a pass-through), each NUL-terminated; the
	 * provider's own headers of the same name replace them */
	const char	*extra_headers;
	size_t		 extra_len;
	const char	*request_id;	/* for log lines, NULL = "-" */
	/* api_keys not to pick (bit i: key i): this request's refused ones */
	uint32_t	 skip_keys;
};

struct upstream_result {
	long		 status;	/* HTTP status, 0 if none; set as soon as
					 * the head is in */
	struct buf	 body;		/* whole body (non-2xx always; 2xx when not streaming) */
	int		 failed;	/* transport failure: no usable answer */
	int		 timed_out;
	int		 aborted;	/* on_data/on_tick asked to stop */
	int		 too_large;
	char		 error[256];	/* transport failure, no secrets */
	char		 retry_after[32];	/* valid, or "" */
	uint64_t	 ms;
	int		 key;		/* the api_keys index used, -1 = none */
	int		 no_key;	/* failed before trying: every key is
					 * set aside or cooling (retry_after:
					 * until one cools down, if any) */
};

int	 upstream_init(void);		/* per worker, after fork */
void	 upstream_cleanup(void);
/* 0 when an HTTP answer came (any status), -1 on transport failure */
int	 upstream_perform(const struct upstream_call *, struct upstream_result *);
void	 upstream_result_free(struct upstream_result *);
/* v[0..len) is delta-seconds or an HTTP-date (RFC 9110), nothing else */
int	 upstream_retry_after_valid(const char *v, size_t len);

#endif
