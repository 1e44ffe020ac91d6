/*
 * xfer: drive one libcurl easy handle to its end through a multi handle's
 * socket interface, so that the one wait also watches a client's socket,
 * runs a tick (every 250 ms; while data flows, on the next wake after
 * that, every second at least) and enforces an idle limit.
 */
#ifndef CP_XFER_H
#define CP_XFER_H

#include <stdint.h>

#include <curl/curl.h>

#define XFER_MAX_SOCKS	8	/* libcurl uses at most 5 per handle */
#define XFER_TICK_MS	250	/* a tick is due this long after the last */
#define XFER_TICK_SLEEP_MS 1000	/* while data flows, the latest it runs */

/* a multi handle (it owns the connection cache) and what libcurl told us
 * about its sockets and timer */
struct xfer {
	CURLM		*multi;
	struct {
		curl_socket_t	 fd;
		short		 events;
	}		 socks[XFER_MAX_SOCKS];
	int		 nsocks;
	int		 timer_armed;
	uint64_t	 timer_at;	/* CLOCK_MONOTONIC ms */
};

struct xfer_wait {
	int		 watch_fd;	/* the client's socket, -1 = none */
	/* every 250 ms (while data flows, on the next wake after that,
	 * every second at least), and at once when watch_fd becomes
	 * readable; -1 aborts the transfer */
	int		(*on_tick)(void *arg);
	/* idle limit: no activity for idle_ms ends the transfer; the
	 * activity clock is last_activity(arg) (CLOCK_MONOTONIC ms) */
	uint64_t	 idle_ms;	/* 0 = none */
	uint64_t	(*last_activity)(void *arg);
	void		*arg;
};

enum xfer_end {
	XFER_DONE,		/* libcurl finished: see the CURLcode */
	XFER_IDLE,		/* the idle limit passed */
	XFER_ABORTED,		/* on_tick asked to stop */
	XFER_BROKEN		/* poll() or libcurl's multi interface failed */
};

int	 xfer_init(struct xfer *);	/* -1 when libcurl cannot */
void	 xfer_cleanup(struct xfer *);
/* runs easy to its end; the handle is removed from the multi again */
CURLcode xfer_run(struct xfer *, CURL *easy, const struct xfer_wait *,
	    enum xfer_end *);

#endif
