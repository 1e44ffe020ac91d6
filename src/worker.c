/*
 * worker.c: a worker process.
 *
 * Blocks in accept() on the listening socket it inherited and serves one
 * connection at a time, request after request while the client keeps it
 * alive. Every wait is bounded by http_conn's deadlines and upstream's
 * timeouts. Framing errors http_conn finds are answered here. One access
 * line is logged per request.
 *
 * Promises when told to go: no client loses a request it has written.
 * From the signal on, every response says Connection: close. An answer
 * that went out before, promising keep-alive, is honoured: the worker
 * waits for that client's next request and answers it with
 * Connection: close, rather than close the connection while the client
 * may be writing into it. On SIGUSR2 (a reload, or an idle extra worker
 * retired) the wait is the keep-alive timeout, and the worker then exits
 * 0. On SIGTERM it is cut to end a second before the master's
 * shutdown_timeout_seconds run out; and when the master has set the
 * listening socket draining, the worker then accepts and answers the
 * connections still queued in the kernel (their first request answered
 * with Connection: close) until the queue stays empty, and exits 0.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "http_conn.h"
#include "http_resp.h"
#include "keys.h"
#include "ratelimit.h"
#include "log.h"
#include "router.h"
#include "scoreboard.h"
#include "secret.h"
#include "sig.h"
#include "upstream.h"
#include "util.h"
#include "worker.h"

#define ACCESS_PATH_MAX	1024	/* characters of path and query logged */

static void
peer_name(const struct sockaddr_storage *ss, char *out, size_t outsz)
{
	char	 host[INET6_ADDRSTRLEN] = "?";
	int	 port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
	}
	snprintf(out, outsz, "%s:%d", host, port);
}

/*
 * One line per request; the client's words in it (path, query, model)
 * pass through secret's log excerpt: masked, escaped, bounded. It settles
 * the status first, for this line and the scoreboard after it: a request
 * that got no answer at all lost its client, 499 as nginx logs it.
 */
static void
access_log(const struct http_conn *c, struct http_request *req)
{
	struct buf	 path = BUF_INITIALIZER, query = BUF_INITIALIZER;
	struct buf	 model = BUF_INITIALIZER;

	if (req->status == 0)
		req->status = 499;

	secret_log_excerpt(&path, req->path != NULL ? req->path : "",
	    req->path_len, ACCESS_PATH_MAX);
	if (req->query != NULL) {
		buf_putc(&query, '?');
		secret_log_query(&query, req->query, req->query_len,
		    ACCESS_PATH_MAX);
	}
	secret_log_excerpt(&model, req->log_model, strlen(req->log_model),
	    sizeof(req->log_model));
	log_info("%s %s \"%.*s %s%s\" %d model=%s provider=%s "
	    "upstream_ms=%ld bytes=%llu ms=%llu key=%s route=%s", c->peer,
	    req->request_id,
	    (int)req->method_len, req->method, path.data ? path.data : "",
	    query.data ? query.data : "", req->status,
	    model.data ? model.data : "-",
	    req->log_provider[0] ? req->log_provider : "-",
	    req->log_upstream_ms, (unsigned long long)c->bytes_out,
	    (unsigned long long)(util_now_ms() - req->start_ms),
	    keys_name(req->client_key),
	    req->log_route[0] ? req->log_route : "-");
	buf_free(&path);
	buf_free(&query);
	buf_free(&model);
}

/* a stopping worker leaves this long before the master would kill it */
#define STOP_MARGIN_MS	1000

/* how long to wait for a keep-alive connection's next request: the
 * keep-alive timeout, cut to what is left of the shutdown time once told
 * to stop */
static int
idle_wait_ms(void)
{
	int64_t	 ms = (int64_t)conf->keepalive_timeout_seconds * 1000, left;

	if (sig_terminate) {
		left = (int64_t)sig_terminate_sec * 1000 +
		    (int64_t)conf->shutdown_timeout_seconds * 1000 -
		    STOP_MARGIN_MS - (int64_t)util_now_ms();
		if (left < ms)
			ms = left > 0 ? left : 0;
	}
	return (int)ms;
}

/* a framing or limit error found by http_conn: answer it, then let the
 * client's upload drain so the answer is not lost to a reset */
static void
answer_rejected(struct http_conn *c, struct http_request *req)
{
	if (http_resp_error(c, req, c->reject.status, NULL, NULL, "%s",
	    c->reject.msg) == 0)
		http_conn_linger(c);
}

static void
serve(int fd, const struct sockaddr_storage *ss)
{
	struct http_conn	 c;
	struct http_request	 req;
	struct http_limits	 lim;
	char			 peer[sizeof(c.peer)];
	int			 on = 1, r;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	lim.keepalive_ms = conf->keepalive_timeout_seconds * 1000;
	lim.header_ms = conf->header_timeout_seconds * 1000;
	lim.body_ms = conf->body_timeout_seconds * 1000;
	lim.send_ms = conf->send_timeout_seconds * 1000;
	lim.max_body_bytes = conf->max_body_bytes;
	lim.stop = &sig_terminate;	/* shortens the wait; a reload does not */
	lim.closing = &sig_closing;
	peer_name(ss, peer, sizeof(peer));
	http_conn_init(&c, fd, &lim, peer);

	for (;;) {
		memset(&req, 0, sizeof(req));
		req.log_upstream_ms = -1;
		c.bytes_out = 0;
		c.limits.keepalive_ms = idle_wait_ms();
		r = http_conn_read_request(&c, &req);
		if (r == HTTP_CONN_STOPPED)
			continue;	/* wait again, for the time left */
		if (r == HTTP_CONN_REJECTED) {
			answer_rejected(&c, &req);
			access_log(&c, &req);
			scoreboard_request_done(router_endpoint(&req),
			    req.status);
		}
		if (r != HTTP_CONN_REQUEST)
			break;
		router_dispatch(&c, &req);
		access_log(&c, &req);
		scoreboard_request_done(router_endpoint(&req), req.status);
		/* an answer that promised keep-alive is honoured, also when
		 * told to go meanwhile: the client's next request is then
		 * answered with Connection: close (http_resp asks
		 * http_conn_decide_keep_alive) */
		http_conn_end_request(&c, &req);
		if (!req.keep_alive || c.broken)
			break;
	}
	http_conn_close(&c);
}

/* took one of the last spare_workers idle places in the pool: ask the
 * master for more (once: the first to ask signals, until the master has
 * looked) */
static void
became_busy(int board)
{
	struct sb_slot	*me = scoreboard_slot(board);
	int		 starting, idle, busy, spare;

	scoreboard_set_state(SB_BUSY);
	if (me == NULL)
		return;
	spare = conf->spare_workers > 0 ? conf->spare_workers : 1;
	scoreboard_count_states(me->generation, &starting, &idle, &busy);
	if (starting + idle < spare && scoreboard_ask_growth())
		kill(getppid(), SIGUSR1);
}

void
worker_main(int listen_fd, int board)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 fd;

	setproctitle("%s", "worker");
	log_setprefix("worker");
	sig_worker_install(listen_fd);
	if (upstream_init() == -1)
		fatalx("cannot initialise libcurl");
	scoreboard_attach(board);
	ratelimit_attach(board);

	for (;;) {
		/* a stop without draining (a stray signal, the master gone)
		 * has closed the socket, like a retirement */
		if (sig_retire || (sig_terminate && !sig_worker_listening()))
			break;
		scoreboard_set_state(SB_IDLE);
		sslen = sizeof(ss);
		fd = accept4(listen_fd, (struct sockaddr *)&ss, &sslen,
		    SOCK_CLOEXEC);
		if (fd == -1) {
			/* draining, and the queue stayed empty */
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR || errno == ECONNABORTED ||
			    (errno == EBADF && (sig_terminate || sig_retire)))
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_warn("accept");
				poll(NULL, 0, 100);	/* let fds free up */
				continue;
			}
			fatal("accept");
		}
		became_busy(board);
		serve(fd, &ss);
	}
	/* Every line is written already (the log and the usage log take one
	 * write(2) each) and the kernel closes the sockets: freeing libcurl's
	 * handles and running the libraries' exit handlers (OpenSSL, GnuTLS,
	 * the loader's destructors) would only write to, and so copy, pages
	 * this worker still shares with the master, a page fault at a time,
	 * for each of the thousands of workers a large pool retires. The
	 * sanitizer build frees and exits properly so leaks are still found. */
#ifdef __SANITIZE_ADDRESS__
	upstream_cleanup();
	exit(0);
#else
	_exit(0);
#endif
}
