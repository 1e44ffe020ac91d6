/*
 * http_conn.c: one client connection, in blocking I/O with deadlines.
 *
 * What it does: reads requests off a connection (head, then a body framed
 * by Content-Length or chunked coding), applies the limits, and writes
 * responses with a bounded wait. It does not compose responses: a framing
 * or limit error is handed back to the caller to answer (with http_resp),
 * so this module stays below http_resp.
 *
 * Promises:
 * - Every wait is a poll() against a deadline for the whole phase, taken
 *   from CLOCK_MONOTONIC: for the first request of a connection,
 *   header_ms from the moment the connection was accepted bounds the wait
 *   for its first byte and its whole head together; for the next ones,
 *   keepalive_ms bounds the wait for the first byte and header_ms the
 *   head from that byte on; body_ms the whole body, send_ms one
 *   http_conn_write. A client sending a byte a second does not extend any
 *   of them.
 * - req->method, path, query and headers point into conn->in, which is
 *   neither reallocated nor moved below head_len until
 *   http_conn_end_request. Bodies are read into req->body, never into
 *   conn->in; bytes that arrive after the current request (pipelining)
 *   are kept in conn->in right after the head for the next call.
 * - No request smuggling: Content-Length is digits only, two different
 *   Content-Lengths are rejected, Content-Length with Transfer-Encoding
 *   is rejected, the only transfer coding is a single "chunked".
 * - 413 for a too large Content-Length is decided before any of the body
 *   is read and before 100 Continue is sent.
 * - A signal that raises limits.stop while the connection waits for the
 *   first byte of a request ends the wait as HTTP_CONN_STOPPED with
 *   nothing read, so the caller can wait again under a shorter bound (a
 *   stopping worker) without losing a request the client is sending.
 * - Once limits.closing is raised, the next response head says
 *   Connection: close (http_conn_decide_keep_alive).
 *
 * How it fails: framing and limit errors give HTTP_CONN_REJECTED with
 * conn->reject (status 400, 408, 413, 417, 431, 500, 501, 505 and a
 * message) and req->keep_alive off: the caller answers it and then calls
 * http_conn_linger, which drains the rest of the client's upload for a
 * short while so the answer is not destroyed by a reset. I/O errors and a
 * client that leaves mid-request give HTTP_CONN_FAILED with nothing to
 * answer. A failed or timed out write sets conn->broken.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* POLLRDHUP */
#endif
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "http_conn.h"
#include "http_parse.h"
#include "log.h"
#include "util.h"

#define READ_SIZE	(16 * 1024)	/* one recv() */
#define LINGER_MS	2000		/* drain after an error, at most */

enum {
	IO_EOF = 0,
	IO_ERR = -1,
	IO_TIMEOUT = -2,
	IO_INTR = -3
};

void
http_conn_init(struct http_conn *conn, int fd, const struct http_limits *lim,
    const char *peer)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 sslen = sizeof(ss);
	char			 addr[INET6_ADDRSTRLEN];

	memset(conn, 0, sizeof(*conn));
	conn->fd = fd;
	conn->limits = *lim;
	conn->accepted_ms = util_now_ms();
	/* a worker knows the address from accept(): no system call */
	if (peer != NULL) {
		strlcpy(conn->peer, peer, sizeof(conn->peer));
		return;
	}
	strlcpy(conn->peer, "unknown", sizeof(conn->peer));
	if (getpeername(fd, (struct sockaddr *)&ss, &sslen) == -1)
		return;
	if (ss.ss_family == AF_INET &&
	    inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr)) != NULL)
		snprintf(conn->peer, sizeof(conn->peer), "%s:%u", addr,
		    ntohs(sin->sin_port));
	else if (ss.ss_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr)) != NULL)
		snprintf(conn->peer, sizeof(conn->peer), "[%s]:%u", addr,
		    ntohs(sin6->sin6_port));
	else if (ss.ss_family == AF_UNIX)
		strlcpy(conn->peer, "unix", sizeof(conn->peer));
}

void
http_conn_close(struct http_conn *conn)
{
	if (conn->fd != -1)
		close(conn->fd);
	conn->fd = -1;
	buf_free(&conn->in);
}

static uint64_t
deadline_in(int ms)
{
	return util_now_ms() + (ms > 0 ? (uint64_t)ms : 0);
}

/* 1 ready, IO_TIMEOUT, IO_ERR, or IO_INTR when intr_stops and a signal
 * raised *stop (any signal when stop is NULL) */
static int
wait_fd(int fd, short events, uint64_t deadline, int intr_stops,
    const volatile sig_atomic_t *stop)
{
	struct pollfd	 pfd;
	uint64_t	 now;
	int		 r;

	for (;;) {
		now = util_now_ms();
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, now >= deadline ? 0 : (int)(deadline - now));
		if (r > 0)
			return 1;
		if (r == 0)
			return IO_TIMEOUT;
		if (errno != EINTR)
			return IO_ERR;
		if (intr_stops && (stop == NULL || *stop))
			return IO_INTR;
	}
}

/* bytes read (> 0), IO_EOF, IO_ERR, IO_TIMEOUT or IO_INTR */
static ssize_t
read_some(struct http_conn *conn, char *p, size_t n, uint64_t deadline,
    int intr_stops)
{
	ssize_t	 r;
	int	 w;

	for (;;) {
		if ((w = wait_fd(conn->fd, POLLIN, deadline, intr_stops,
		    conn->limits.stop)) != 1)
			return w;
		r = recv(conn->fd, p, n, MSG_DONTWAIT);
		if (r >= 0)
			return r;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return IO_ERR;
	}
}

/* append what the client sends next to conn->in */
static ssize_t
fill_in(struct http_conn *conn, uint64_t deadline, int intr_stops)
{
	struct buf	*in = &conn->in;
	ssize_t		 r;

	if (buf_reserve(in, READ_SIZE) == -1)
		return IO_ERR;
	r = read_some(conn, in->data + in->len, in->cap - in->len - 1,
	    deadline, intr_stops);
	if (r > 0) {
		in->len += r;
		in->data[in->len] = '\0';
	}
	return r;
}

/*
 * After the answer to a rejected request: stop sending, then read and drop
 * what the client is still uploading until it closes, for a little while,
 * so that closing with unread data (which resets the connection) does not
 * destroy the answer before the client has read it. Not after a 408: that
 * client is not sending.
 */
void
http_conn_linger(struct http_conn *conn)
{
	char		 scratch[4096];
	uint64_t	 deadline;
	int		 ms = conn->limits.body_ms;

	if (conn->broken || conn->reject.status == 408)
		return;
	if (shutdown(conn->fd, SHUT_WR) == -1)
		return;
	if (ms > LINGER_MS || ms <= 0)
		ms = LINGER_MS;
	deadline = deadline_in(ms);
	while (read_some(conn, scratch, sizeof(scratch), deadline, 1) > 0)
		;
}

/* a framing or limit error: the caller answers it */
static int
fail(struct http_conn *conn, struct http_request *req, int status,
    const char *msg)
{
	req->keep_alive = 0;
	conn->reject.status = status;
	strlcpy(conn->reject.msg, msg, sizeof(conn->reject.msg));
	log_debug("%s: %s: %d %s", conn->peer, req->request_id, status, msg);
	buf_free(&req->body);
	return HTTP_CONN_REJECTED;
}

/* the client left or the connection broke mid-request: nobody to answer */
static int
gone(struct http_conn *conn, struct http_request *req, ssize_t why)
{
	log_debug("%s: %s: connection %s mid-request", conn->peer,
	    req->request_id, why == IO_EOF ? "closed" : "failed");
	buf_free(&req->body);
	return HTTP_CONN_FAILED;
}

/* does the comma list in any `name` header hold token? */
static int
header_has_token(const struct http_request *req, const char *name,
    const char *token)
{
	const char	*p, *end, *t, *te;
	size_t		 i;

	for (i = 0; i < req->nheaders; i++) {
		if (!util_strncaseeq(req->headers[i].name,
		    req->headers[i].name_len, name))
			continue;
		p = req->headers[i].value;
		end = p + req->headers[i].value_len;
		while (p < end) {
			if ((te = memchr(p, ',', end - p)) == NULL)
				te = end;
			t = p;
			p = te < end ? te + 1 : end;
			while (t < te && (*t == ' ' || *t == '\t'))
				t++;
			while (te > t && (te[-1] == ' ' || te[-1] == '\t'))
				te--;
			if (util_strncaseeq(t, te - t, token))
				return 1;
		}
	}
	return 0;
}

/* digits only; values too large for 64 bits saturate (and are then 413) */
static int
parse_content_length(const char *p, size_t len, uint64_t *out)
{
	uint64_t	 v = 0;
	size_t		 i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (p[i] - '0')) / 10)
			v = UINT64_MAX;
		else
			v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

/* is the request line "... HTTP/x.y" with a major version other than 1? */
static int
other_major_version(const char *buf, size_t len)
{
	const char	*eol;
	size_t		 n;

	if ((eol = memchr(buf, '\n', len)) == NULL)
		return 0;
	n = eol - buf;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n < 9 || memcmp(buf + n - 9, " HTTP/", 6) != 0)
		return 0;
	return buf[n - 3] >= '0' && buf[n - 3] <= '9' && buf[n - 3] != '1' &&
	    buf[n - 2] == '.' && buf[n - 1] >= '0' && buf[n - 1] <= '9';
}

static void
set_request_line(struct http_request *req, const char *method,
    size_t method_len, const char *target, size_t target_len)
{
	const char	*q;

	req->method = method;
	req->method_len = method_len;
	req->path = target;
	req->path_len = target_len;
	if ((q = memchr(target, '?', target_len)) != NULL) {
		req->path_len = q - target;
		req->query = q + 1;
		req->query_len = target_len - req->path_len - 1;
	}
	req->is_head = method_len == 4 && memcmp(method, "HEAD", 4) == 0;
}

/* read and parse the head into req; HTTP_CONN_REQUEST or an answered error */
static int
read_head(struct http_conn *conn, struct http_request *req,
    uint64_t deadline)
{
	struct buf	*in = &conn->in;
	const char	*method, *target;
	size_t		 method_len, target_len, nh, last_len = 0;
	ssize_t		 r;
	int		 n;

	for (;;) {
		/*
		 * Room for one more read after the head: a chunked body's
		 * reads are bounded by it, so bytes past the body fit in
		 * conn->in without moving the head (see read_chunked).
		 */
		if (buf_reserve(in, READ_SIZE) == -1)
			return fail(conn, req, 500, "out of memory");
		nh = HTTP_MAX_HEADERS;
		n = http_parse_request(in->data, in->len, &method, &method_len,
		    &target, &target_len, &req->minor_version, req->headers,
		    &nh, last_len);
		if (n > HTTP_MAX_HEAD_BYTES)
			return fail(conn, req, 431,
			    "request header section too large");
		if (n > 0)
			break;
		if (n == HTTP_PARSE_BAD) {
			if (other_major_version(in->data, in->len))
				return fail(conn, req, 505,
				    "HTTP version not supported");
			return fail(conn, req, 400,
			    "malformed request line or header field");
		}
		if (n == HTTP_PARSE_TOO_MANY)
			return fail(conn, req, 431, "too many header fields");
		if (in->len >= HTTP_MAX_HEAD_BYTES)
			return fail(conn, req, 431,
			    "request header section too large");
		last_len = in->len;
		if ((r = fill_in(conn, deadline, 0)) == IO_TIMEOUT)
			return fail(conn, req, 408,
			    "request header not received in time");
		if (r <= 0)
			return gone(conn, req, r);
	}
	conn->head_len = n;
	req->nheaders = nh;
	set_request_line(req, method, method_len, target, target_len);
	if (req->minor_version > 1)
		return fail(conn, req, 505, "HTTP version not supported");
	if (req->minor_version == 1)
		req->keep_alive = !header_has_token(req, "Connection", "close");
	else
		req->keep_alive = header_has_token(req, "Connection",
		    "keep-alive");
	return HTTP_CONN_REQUEST;
}

static int
too_large(struct http_conn *conn, struct http_request *req)
{
	char	 msg[128];

	snprintf(msg, sizeof(msg), "request body exceeds %lld bytes",
	    (long long)conn->limits.max_body_bytes);
	return fail(conn, req, 413, msg);
}

static uint64_t
max_body(const struct http_conn *conn)
{
	return conn->limits.max_body_bytes > 0 ?
	    (uint64_t)conn->limits.max_body_bytes : 0;
}

static int
read_length(struct http_conn *conn, struct http_request *req, uint64_t cl,
    uint64_t deadline)
{
	struct buf	*in = &conn->in, *body = &req->body;
	size_t		 avail = in->len - conn->head_len, take, want;
	ssize_t		 r;

	take = avail < cl ? avail : (size_t)cl;
	/* the whole body at once: cl is within max_body_bytes (413 came
	 * first), and growing by doubling would copy it again and again */
	if (buf_reserve(body, (size_t)cl) == -1 ||
	    buf_append(body, in->data + conn->head_len, take) == -1)
		return fail(conn, req, 500, "out of memory");
	/* pipelined bytes past the body move down to follow the head */
	memmove(in->data + conn->head_len, in->data + conn->head_len + take,
	    avail - take);
	in->len -= take;
	in->data[in->len] = '\0';
	while (body->len < cl) {
		want = cl - body->len > READ_SIZE * 4 ? READ_SIZE * 4 :
		    (size_t)(cl - body->len);
		if (buf_reserve(body, want) == -1)
			return fail(conn, req, 500, "out of memory");
		r = read_some(conn, body->data + body->len, want, deadline, 0);
		if (r == IO_TIMEOUT)
			return fail(conn, req, 408,
			    "request body not received in time");
		if (r <= 0)
			return gone(conn, req, r);
		body->len += r;
		body->data[body->len] = '\0';
	}
	return HTTP_CONN_REQUEST;
}

static int
read_chunked(struct http_conn *conn, struct http_request *req,
    uint64_t deadline)
{
	struct buf		*in = &conn->in, *body = &req->body;
	struct http_chunked	 ch;
	size_t			 n, want;
	ssize_t			 r, got;

	memset(&ch, 0, sizeof(ch));
	/* the body's bytes already read move to req->body and decode there */
	n = in->len - conn->head_len;
	if (buf_append(body, in->data + conn->head_len, n) == -1)
		return fail(conn, req, 500, "out of memory");
	in->len = conn->head_len;
	in->data[in->len] = '\0';
	r = http_parse_chunked(&ch, body->data, &n);
	body->len = n;
	for (;;) {
		if (r == -1)
			return fail(conn, req, 400, "malformed chunked body");
		if (body->len > max_body(conn) ||
		    ch.left > max_body(conn) - body->len)
			return too_large(conn, req);
		if (r >= 0)
			break;
		/*
		 * Never read more than conn->in has room for past the head,
		 * so the bytes after the body can go back there in place.
		 */
		want = in->cap - in->len - 1;
		if (want > READ_SIZE)
			want = READ_SIZE;
		if (buf_reserve(body, want) == -1)
			return fail(conn, req, 500, "out of memory");
		got = read_some(conn, body->data + body->len, want, deadline,
		    0);
		if (got == IO_TIMEOUT)
			return fail(conn, req, 408,
			    "request body not received in time");
		if (got <= 0)
			return gone(conn, req, got);
		n = got;
		r = http_parse_chunked(&ch, body->data + body->len, &n);
		body->len += n;
	}
	/* r bytes after the body belong to the next request */
	memcpy(in->data + in->len, body->data + body->len, r);
	in->len += r;
	in->data[in->len] = '\0';
	body->data[body->len] = '\0';
	return HTTP_CONN_REQUEST;
}

/* Content-Length, Transfer-Encoding, Expect; then the body */
static int
read_body(struct http_conn *conn, struct http_request *req)
{
	static const char	 cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	const struct http_header *h;
	uint64_t		 cl = 0, v, deadline;
	size_t			 i;
	int			 has_cl = 0, nte = 0, chunked = 0, expect = 0;
	int			 rv;

	for (i = 0; i < req->nheaders; i++) {
		h = &req->headers[i];
		if (util_strncaseeq(h->name, h->name_len, "Content-Length")) {
			if (parse_content_length(h->value, h->value_len,
			    &v) == -1)
				return fail(conn, req, 400,
				    "invalid Content-Length");
			if (has_cl && v != cl)
				return fail(conn, req, 400,
				    "conflicting Content-Length headers");
			cl = v;
			has_cl = 1;
		} else if (util_strncaseeq(h->name, h->name_len,
		    "Transfer-Encoding")) {
			nte++;
			chunked = util_strncaseeq(h->value, h->value_len,
			    "chunked");
		} else if (util_strncaseeq(h->name, h->name_len, "Expect")) {
			if (!util_strncaseeq(h->value, h->value_len,
			    "100-continue"))
				expect = -1;
			else if (expect == 0)
				expect = 1;
		}
	}
	if (nte > 0 && has_cl)
		return fail(conn, req, 400,
		    "Content-Length with Transfer-Encoding");
	if (nte > 0 && req->minor_version == 0)
		return fail(conn, req, 400, "Transfer-Encoding in HTTP/1.0");
	if (nte > 1 || (nte == 1 && !chunked))
		return fail(conn, req, 501, "unsupported transfer coding");
	/* an HTTP/1.0 client's expectation is ignored (RFC 9110 10.1.1) */
	if (req->minor_version == 0)
		expect = 0;
	if (expect == -1)
		return fail(conn, req, 417, "unsupported expectation");
	if (has_cl && cl > max_body(conn))
		return too_large(conn, req);

	if ((has_cl && cl > 0) || chunked) {
		if (expect == 1 && conn->in.len == conn->head_len &&
		    http_conn_write(conn, cont, sizeof(cont) - 1) == -1)
			return gone(conn, req, IO_ERR);
		conn->bytes_out = 0;	/* the 100 is not the response */
		deadline = deadline_in(conn->limits.body_ms);
		if (chunked)
			rv = read_chunked(conn, req, deadline);
		else
			rv = read_length(conn, req, cl, deadline);
		if (rv != HTTP_CONN_REQUEST)
			return rv;
	}
	/* always a C string, even when empty */
	if (buf_reserve(&req->body, 0) == -1)
		return fail(conn, req, 500, "out of memory");
	req->body.data[req->body.len] = '\0';
	return HTTP_CONN_REQUEST;
}

/*
 * The fields this module fills; the rest of req (the handlers' log fields)
 * is the caller's. req->body must be empty or allocated by a previous
 * request (a zeroed struct, or one that went through end_request).
 */
static void
request_reset(struct http_request *req)
{
	buf_free(&req->body);
	req->method = req->path = req->query = NULL;
	req->method_len = req->path_len = req->query_len = 0;
	req->minor_version = 0;
	req->nheaders = 0;
	req->keep_alive = 0;
	req->is_head = 0;
	req->status = 0;
	req->request_id[0] = '\0';
	req->start_ms = 0;
}

int
http_conn_read_request(struct http_conn *conn, struct http_request *req)
{
	uint64_t	 first, head_deadline;
	ssize_t		 r;
	int		 rv;

	request_reset(req);
	util_random_id(req->request_id, sizeof(req->request_id), "req_", 24);
	conn->head_len = 0;
	conn->bytes_out = 0;
	conn->stream_chunked = 0;
	conn->reject.status = 0;
	conn->reject.msg[0] = '\0';
	if (conn->broken)
		return HTTP_CONN_FAILED;

	/*
	 * A new connection owes us its whole head within header_ms of being
	 * accepted, not after the keep-alive time and not header_ms after
	 * its first byte: silent and slow connections must not hold workers.
	 */
	first = conn->accepted_ms + (conn->limits.header_ms > 0 ?
	    (uint64_t)conn->limits.header_ms : 0);
	if (conn->in.len == 0) {
		r = fill_in(conn, conn->requests == 0 ? first :
		    deadline_in(conn->limits.keepalive_ms), 1);
		if (r == IO_INTR)
			return HTTP_CONN_STOPPED;
		if (r <= 0)
			return HTTP_CONN_EOF;
	}
	conn->requests++;
	req->start_ms = util_now_ms();
	head_deadline = conn->requests == 1 ? first :
	    deadline_in(conn->limits.header_ms);
	rv = read_head(conn, req, head_deadline);
	if (rv != HTTP_CONN_REQUEST)
		return rv;
	return read_body(conn, req);
}

int
http_conn_decide_keep_alive(struct http_conn *conn, struct http_request *req)
{
	if (conn->limits.closing != NULL && *conn->limits.closing)
		req->keep_alive = 0;
	return req->keep_alive;
}

void
http_conn_end_request(struct http_conn *conn, struct http_request *req)
{
	buf_consume(&conn->in, conn->head_len);
	conn->head_len = 0;
	buf_free(&req->body);
	req->method = req->path = req->query = NULL;
	req->nheaders = 0;
}

int
http_conn_write(struct http_conn *conn, const void *data, size_t len)
{
	const char	*p = data;
	uint64_t	 deadline;
	ssize_t		 n;
	int		 w;

	if (conn->broken)
		return -1;
	deadline = deadline_in(conn->limits.send_ms);
	while (len > 0) {
		n = send(conn->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= n;
			conn->bytes_out += n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			break;
		if ((w = wait_fd(conn->fd, POLLOUT, deadline, 0, NULL)) != 1) {
			if (w == IO_TIMEOUT)
				errno = ETIMEDOUT;
			break;
		}
	}
	if (len == 0)
		return 0;
	log_debug("%s: write: %s", conn->peer, strerror(errno));
	conn->broken = 1;
	return -1;
}

int
http_conn_peer_gone(struct http_conn *conn)
{
	struct pollfd	 pfd;
	char		 c;
	ssize_t		 r;

	if (conn->broken || conn->fd == -1)
		return 1;
	pfd.fd = conn->fd;
	pfd.events = POLLIN | POLLRDHUP;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	if (pfd.revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL))
		return 1;
	if (pfd.revents & POLLIN) {
		r = recv(conn->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
		if (r == 0)
			return 1;
		if (r == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			return 1;
	}
	return 0;
}

const char *
http_request_header(const struct http_request *req, const char *name,
    size_t *value_len)
{
	size_t	 i;

	for (i = 0; i < req->nheaders; i++) {
		if (util_strncaseeq(req->headers[i].name,
		    req->headers[i].name_len, name)) {
			if (value_len != NULL)
				*value_len = req->headers[i].value_len;
			return req->headers[i].value;
		}
	}
	return NULL;
}

/* next byte of a query component, percent-decoded, '+' as space */
static char
query_char(const char **pp, const char *end)
{
	const char	*p = *pp;
	int		 hi, lo;

	if (*p == '+') {
		*pp = p + 1;
		return ' ';
	}
	/* %00 would cut the C string short: it stays as it is */
	if (*p == '%' && end - p >= 3 && (hi = util_hexval(p[1])) != -1 &&
	    (lo = util_hexval(p[2])) != -1 && (hi | lo) != 0) {
		*pp = p + 3;
		return (char)(hi << 4 | lo);
	}
	*pp = p + 1;
	return *p;
}

/* the value of one "name=value" segment if its decoded name is name */
static int
query_segment(const char *q, const char *seg_end, const char *name,
    char *out, size_t outsz)
{
	const char	*key_end, *p;
	size_t		 i;

	if ((key_end = memchr(q, '=', seg_end - q)) == NULL)
		key_end = seg_end;
	if (key_end == q)
		return 0;
	for (p = q, i = 0; p < key_end && name[i] != '\0'; i++)
		if (query_char(&p, key_end) != name[i])
			break;
	if (p != key_end || name[i] != '\0')
		return 0;
	p = key_end < seg_end ? key_end + 1 : seg_end;
	for (i = 0; p < seg_end; i++) {
		if (i + 1 >= outsz)
			return -1;
		out[i] = query_char(&p, seg_end);
	}
	if (outsz == 0)
		return -1;
	out[i] = '\0';
	return 1;
}

int
http_request_query(const struct http_request *req, const char *name,
    char *out, size_t outsz)
{
	const char	*q, *qend, *seg_end;
	int		 r;

	if (req->query == NULL)
		return 0;
	q = req->query;
	qend = q + req->query_len;
	for (;;) {
		if ((seg_end = memchr(q, '&', qend - q)) == NULL)
			seg_end = qend;
		if ((r = query_segment(q, seg_end, name, out, outsz)) != 0)
			return r;
		if (seg_end == qend)
			return 0;
		q = seg_end + 1;
	}
}
