/*
 * xfer.c: one libcurl transfer driven by our own poll().
 *
 * A multi handle in socket mode tells us (CURLMOPT_SOCKETFUNCTION,
 * _TIMERFUNCTION) which sockets to wait on and when its timer is due;
 * waiting on them ourselves tells libcurl which socket is ready, so it
 * does not poll it again before reading, and lets the same wait watch a
 * client's socket: a client that hangs up is noticed at once, not at
 * libcurl's next progress call, and the transfer is removed (its
 * connection closed). The loop also runs the caller's tick (every 250 ms;
 * while data flows, on the next wake after that, every second at least)
 * and enforces an idle limit.
 *
 * Promises: xfer_run returns only when the transfer is over, with the
 * easy handle removed from the multi handle again; every wait is bounded
 * by the tick. It fails with XFER_BROKEN when poll() or libcurl's multi
 * interface fails, never by blocking.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "util.h"
#include "xfer.h"

static int
on_socket(CURL *e, curl_socket_t fd, int what, void *clientp, void *sockp)
{
	struct xfer	*x = clientp;
	int		 i;

	(void)e;
	(void)sockp;
	for (i = 0; i < x->nsocks && x->socks[i].fd != fd; i++)
		;
	if (what == CURL_POLL_REMOVE) {
		if (i < x->nsocks)
			x->socks[i] = x->socks[--x->nsocks];
		return 0;
	}
	if (i == x->nsocks) {
		if (x->nsocks == XFER_MAX_SOCKS)
			return -1;
		x->nsocks++;
	}
	x->socks[i].fd = fd;
	x->socks[i].events = ((what & CURL_POLL_IN) ? POLLIN : 0) |
	    ((what & CURL_POLL_OUT) ? POLLOUT : 0);
	return 0;
}

static int
on_timer(CURLM *m, long ms, void *clientp)
{
	struct xfer	*x = clientp;

	(void)m;
	x->timer_armed = ms >= 0;
	if (x->timer_armed)
		x->timer_at = util_now_ms() + (uint64_t)ms;
	return 0;
}

int
xfer_init(struct xfer *x)
{
	memset(x, 0, sizeof(*x));
	if ((x->multi = curl_multi_init()) == NULL)
		return -1;
	if (curl_multi_setopt(x->multi, CURLMOPT_SOCKETFUNCTION, on_socket) !=
	    CURLM_OK ||
	    curl_multi_setopt(x->multi, CURLMOPT_SOCKETDATA, x) != CURLM_OK ||
	    curl_multi_setopt(x->multi, CURLMOPT_TIMERFUNCTION, on_timer) !=
	    CURLM_OK ||
	    curl_multi_setopt(x->multi, CURLMOPT_TIMERDATA, x) != CURLM_OK) {
		xfer_cleanup(x);
		return -1;
	}
	return 0;
}

void
xfer_cleanup(struct xfer *x)
{
	if (x->multi != NULL)
		curl_multi_cleanup(x->multi);
	memset(x, 0, sizeof(*x));
}

/*
 * How long the loop may sleep: until libcurl's timer, the idle limit, or
 * the next tick. A tick is due XFER_TICK_MS after the last, but while
 * the sockets are active it runs on the wake their next bytes bring: the
 * loop wakes for it only once they have been quiet for XFER_TICK_MS, or
 * XFER_TICK_SLEEP_MS after the last tick. A stream's events come far
 * more often than ticks, and a wake of its own for each tick would cost
 * a stream of 20 events a second a sixth more context switches, with
 * thousands of streams on two cores the whole margin.
 */
static int
wait_ms(const struct xfer *x, const struct xfer_wait *w, uint64_t last_tick,
    uint64_t last_active, uint64_t now)
{
	uint64_t	 until, idle_at;

	until = (last_tick > last_active ? last_tick : last_active) +
	    XFER_TICK_MS;
	if (until > last_tick + XFER_TICK_SLEEP_MS)
		until = last_tick + XFER_TICK_SLEEP_MS;

	if (x->timer_armed && x->timer_at < until)
		until = x->timer_at;
	if (w->idle_ms > 0 &&
	    (idle_at = w->last_activity(w->arg) + w->idle_ms) < until)
		until = idle_at;
	return until <= now ? 0 : (int)(until - now);
}

/* libcurl's due timers; it reports its next one (if any) again, since a
 * timeout action makes it forget what it last told us */
static int
run_timers(struct xfer *x)
{
	int	 running;

	x->timer_armed = 0;
	return curl_multi_socket_action(x->multi, CURL_SOCKET_TIMEOUT, 0,
	    &running) == CURLM_OK ? 0 : -1;
}

/* hand each ready socket to libcurl, or else its timer once it is due;
 * 1 when a socket was ready, -1 when libcurl fails */
static int
dispatch(struct xfer *x, const struct pollfd *pfd, int n)
{
	int	 i, mask, running, acted = 0;

	for (i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		mask = 0;
		if (pfd[i].revents & (POLLIN | POLLHUP))
			mask |= CURL_CSELECT_IN;
		if (pfd[i].revents & POLLOUT)
			mask |= CURL_CSELECT_OUT;
		if (pfd[i].revents & (POLLERR | POLLNVAL))
			mask |= CURL_CSELECT_ERR;
		acted = 1;
		if (curl_multi_socket_action(x->multi, pfd[i].fd, mask,
		    &running) != CURLM_OK)
			return -1;
	}
	/* a socket action has run the due timers already */
	if (!acted && x->timer_armed && util_now_ms() >= x->timer_at)
		return run_timers(x);
	return acted;
}

/*
 * The poll() here is the only wait: libcurl learns which of its sockets
 * is ready instead of polling them again itself.
 */
CURLcode
xfer_run(struct xfer *x, CURL *easy, const struct xfer_wait *w,
    enum xfer_end *end)
{
	struct pollfd	 pfd[XFER_MAX_SOCKS + 1];
	CURLMsg		*msg;
	CURLcode	 rc = CURLE_OK;
	uint64_t	 now, last_tick = util_now_ms();
	uint64_t	 last_active = 0;	/* a socket of libcurl's was ready */
	int		 left, i, n, watch, woke = 0, acted;

	*end = XFER_BROKEN;
	if (curl_multi_add_handle(x->multi, easy) != CURLM_OK)
		return CURLE_FAILED_INIT;
	watch = w->watch_fd >= 0;
	/* start at once: connect or reuse, send, read what is there */
	if (run_timers(x) == -1) {
		curl_multi_remove_handle(x->multi, easy);
		return CURLE_FAILED_INIT;
	}
	for (;;) {
		if ((msg = curl_multi_info_read(x->multi, &left)) != NULL &&
		    msg->msg == CURLMSG_DONE) {
			rc = msg->data.result;
			*end = XFER_DONE;
			break;
		}
		now = util_now_ms();
		if (w->idle_ms > 0 &&
		    now - w->last_activity(w->arg) >= w->idle_ms) {
			rc = CURLE_OPERATION_TIMEDOUT;
			*end = XFER_IDLE;
			break;
		}
		if (woke || now - last_tick >= XFER_TICK_MS) {
			last_tick = now;
			if (w->on_tick != NULL && w->on_tick(w->arg) == -1) {
				rc = CURLE_ABORTED_BY_CALLBACK;
				*end = XFER_ABORTED;
				break;
			}
			/* readable but still there: pipelined bytes; stop
			 * watching, the tick still checks (every 250 ms while
			 * quiet) */
			if (woke)
				watch = 0;
		}
		for (n = 0; n < x->nsocks; n++) {
			pfd[n].fd = x->socks[n].fd;
			pfd[n].events = x->socks[n].events;
		}
		pfd[n].fd = watch ? w->watch_fd : -1;	/* -1: ignored */
		pfd[n].events = POLLIN;
		for (i = 0; i <= n; i++)
			pfd[i].revents = 0;
		/* a signal ends the wait early, as it did curl_multi_poll's */
		if (poll(pfd, n + 1, wait_ms(x, w, last_tick, last_active, now)) ==
		    -1) {
			if (errno != EINTR) {
				rc = CURLE_FAILED_INIT;
				break;
			}
			for (i = 0; i <= n; i++)
				pfd[i].revents = 0;
		}
		woke = pfd[n].revents != 0;
		if ((acted = dispatch(x, pfd, n)) == -1) {
			rc = CURLE_FAILED_INIT;
			break;
		}
		if (acted)
			last_active = util_now_ms();
	}
	curl_multi_remove_handle(x->multi, easy);
	return rc;
}
