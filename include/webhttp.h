/*
 * webhttp: the worker's HTTP client for the web tools (search backends
 * and the fetcher), apart from the provider's handle in upstream.c.
 */
#ifndef CP_WEBHTTP_H
#define CP_WEBHTTP_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "buf.h"

/* what a call waits with: the client's socket (a hang-up aborts) and a
 * tick every 250 ms while it waits (pings to a streaming client) */
struct webhttp_wait {
	int		 watch_fd;	/* -1 = none */
	int		(*on_tick)(void *arg);	/* -1 aborts */
	void		*arg;
};

struct webhttp_req {
	const char	*url;
	const char	*body;		/* NULL = GET, else POST */
	size_t		 body_len;
	const struct curl_slist *headers;
	long		 timeout_ms;	/* the whole call, > 0 */
	size_t		 max_bytes;	/* of the (decoded) body, > 0 */
	/* past max_bytes: 1 = stop reading and keep what came (truncated),
	 * 0 = fail (too_large) */
	int		 keep_partial;
	/* the fetcher's guard: an address a connection is about to be
	 * opened to is passed to allow_addr first; 0 refuses it */
	int		(*allow_addr)(void *arg, const struct sockaddr *,
			    socklen_t);
	void		*addr_arg;
	/* the fetcher's calls: no proxy from the environment (the proxy,
	 * not we, would pick the address), a fresh connection that is not
	 * kept, no redirects followed (the caller checks each one) */
	int		 isolated;
	const struct webhttp_wait *wait;	/* NULL = none */
};

struct webhttp_resp {
	long		 status;	/* 0 = no HTTP answer */
	struct buf	 body;
	char		 content_type[128];	/* "" = none */
	char		*redirect_url;	/* absolute Location of a 3xx, or NULL */
	int		 failed;	/* no usable HTTP answer */
	int		 timed_out;
	int		 aborted;	/* the wait's tick said stop */
	int		 refused;	/* allow_addr refused every address */
	int		 too_large;	/* over max_bytes, keep_partial 0 */
	int		 truncated;	/* over max_bytes, keep_partial 1 */
	char		 refused_addr[64];	/* the last one, "127.0.0.1" */
	char		 error[256];	/* transport failure, no secrets */
	uint64_t	 ms;
};

/* 0 when an HTTP answer came (any status, possibly truncated), -1 when
 * not (failed, timed_out, aborted, refused or too_large say why) */
int	 webhttp_perform(const struct webhttp_req *, struct webhttp_resp *);
void	 webhttp_resp_free(struct webhttp_resp *);
void	 webhttp_cleanup(void);		/* the worker's handles */

#endif
