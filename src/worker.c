/*
 * worker.c: a worker process.
 *
 * Blocks in accept() on the listening socket it inherited and serves one
 * connection at a time, request after request while the client keeps it
 * alive. Every wait is bounded by http_conn's deadlines and upstream's
 * timeouts. On SIGTERM the handler closes the listening socket: the worker
 * finishes the request in hand (answering it with Connection: close) and
 * exits 0. On SIGUSR2 (a reload) it also waits, up to the keep-alive
 * timeout, for the next request of an idle keep-alive connection and
 * answers it with Connection: close, so no client writes a request into a
 * connection being closed. One access line is logged per request.
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

static void
serve(int fd, const struct sockaddr_storage *ss)
{
	struct http_conn	 c;
	struct http_request	 req;
	struct http_limits	 lim;
	char			 peer[sizeof(c.peer)];
	int			 on = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	lim.keepalive_ms = conf->keepalive_timeout_seconds * 1000;
	lim.header_ms = conf->header_timeout_seconds * 1000;
	lim.body_ms = conf->body_timeout_seconds * 1000;
	lim.send_ms = conf->send_timeout_seconds * 1000;
	lim.max_body_bytes = conf->max_body_bytes;
	lim.stop = &sig_terminate;	/* a reload (sig_retire) waits on */
	peer_name(ss, peer, sizeof(peer));
	http_conn_init(&c, fd, &lim, peer);

	for (;;) {
		memset(&req, 0, sizeof(req));
		req.log_upstream_ms = -1;
		c.bytes_out = 0;
		if (http_conn_read_request(&c, &req) != HTTP_CONN_REQUEST) {
			/* answered already (400, 408, 413, 431, 501, 505) */
			if (req.status != 0) {
				access_log(&c, &req);
				scoreboard_request_done(router_endpoint(&req),
				    req.status);
			}
			break;
		}
		if (sig_terminate || sig_retire)
			req.keep_alive = 0;
		router_dispatch(&c, &req);
		access_log(&c, &req);
		scoreboard_request_done(router_endpoint(&req), req.status);
		/* retiring, a connection whose last answer promised
		 * keep-alive stays open for the next request, which is then
		 * answered with Connection: close (above) */
		if (!req.keep_alive || c.broken || sig_terminate) {
			http_conn_end_request(&c, &req);
			break;
		}
		http_conn_end_request(&c, &req);
	}
	http_conn_close(&c);
}

/* took the last idle place in the pool: ask the master for more */
static void
became_busy(int board)
{
	struct sb_slot	*me = scoreboard_slot(board);
	int		 starting, idle, busy;

	scoreboard_set_state(SB_BUSY);
	if (me == NULL)
		return;
	scoreboard_count_states(me->generation, &starting, &idle, &busy);
	if (starting + idle == 0)
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

	while (!sig_terminate && !sig_retire) {
		scoreboard_set_state(SB_IDLE);
		sslen = sizeof(ss);
		fd = accept4(listen_fd, (struct sockaddr *)&ss, &sslen,
		    SOCK_CLOEXEC);
		if (fd == -1) {
			if (sig_terminate || sig_retire)
				break;
			if (errno == EINTR || errno == ECONNABORTED)
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
	upstream_cleanup();
	exit(0);
}
