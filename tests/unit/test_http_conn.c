/*
 * test_http_conn: request framing, limits, deadlines and responses over a
 * socketpair. The test plays the client on the other end: it writes the
 * request (from a child process when the write could block or must be
 * paced) and reads back what the server side wrote.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "http_conn.h"
#include "http_resp.h"
#include "util.h"
#include "tap.h"

static struct http_conn		 conn;
static struct http_request	 req;
static int			 peer = -1;

/* send(2), counted: this program's definition takes the place of libc's
 * for http_conn_write, so a test can count the writes of a response */
static unsigned long		 sends;

ssize_t
send(int fd, const void *p, size_t len, int flags)
{
	sends++;
	return sendto(fd, p, len, flags, NULL, 0);
}

static const struct http_limits	 base_limits = {
	.keepalive_ms = 2000,
	.header_ms = 2000,
	.body_ms = 2000,
	.send_ms = 2000,
	.max_body_bytes = 1 << 20,
};

static void
open_pair(const struct http_limits *lim)
{
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1) {
		perror("socketpair");
		exit(2);
	}
	http_conn_init(&conn, sv[0], lim != NULL ? lim : &base_limits, NULL);
	peer = sv[1];
}

static void
close_pair(void)
{
	http_conn_close(&conn);
	close(peer);
	peer = -1;
}

/* what the worker does: read a request, answer a rejected one (and
 * drain the client's upload after the answer) */
static int
read_answered(void)
{
	int	 r = http_conn_read_request(&conn, &req);

	if (r == HTTP_CONN_REJECTED && http_resp_error(&conn, &req,
	    conn.reject.status, NULL, NULL, "%s", conn.reject.msg) == 0)
		http_conn_linger(&conn);
	return r;
}

static void
put_n(const void *data, size_t len)
{
	const char	*p = data;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(peer, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += n;
		len -= n;
	}
}

static void
put(const char *s)
{
	put_n(s, strlen(s));
}

/* write from a child process; usec_between > 0 paces it byte by byte */
static pid_t
put_async(const void *data, size_t len, useconds_t usec_between)
{
	const char	*p = data;
	pid_t		 pid;
	size_t		 i;

	if ((pid = fork()) == -1) {
		perror("fork");
		exit(2);
	}
	if (pid != 0)
		return pid;
	close(conn.fd);
	if (usec_between == 0) {
		put_n(data, len);
		_exit(0);
	}
	for (i = 0; i < len; i++) {
		if (write(peer, p + i, 1) != 1)
			_exit(0);
		usleep(usec_between);
	}
	_exit(0);
}

/* stop (if still writing) and collect a child; its exit status */
static int
reap(pid_t pid, int stop)
{
	int	 status;

	if (stop)
		kill(pid, SIGTERM);
	if (waitpid(pid, &status, 0) == -1)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* what the server wrote: until EOF or idle_ms without a byte */
static char *
get_all(int idle_ms)
{
	static struct buf	 b;
	struct pollfd		 pfd;
	char			 tmp[8192];
	ssize_t			 n;

	buf_reset(&b);
	buf_puts(&b, "");
	for (;;) {
		pfd.fd = peer;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, idle_ms) <= 0)
			break;
		if ((n = read(peer, tmp, sizeof(tmp))) <= 0)
			break;
		buf_append(&b, tmp, n);
	}
	return b.data;
}

static int
has_header(const char *raw, const char *line)
{
	const char	*end = strstr(raw, "\r\n\r\n");
	const char	*p = strstr(raw, line);

	return p != NULL && end != NULL && p < end;
}

static const char *
body_of(const char *raw)
{
	const char	*p = strstr(raw, "\r\n\r\n");

	return p != NULL ? p + 4 : "";
}

/* an answered framing error: status, request-id, close, envelope */
static void
check_error(const char *what, const char *raw, int status, const char *type)
{
	char		 want[64], idline[64];
	json_object	*o, *e, *v;
	const char	*body = body_of(raw);
	int		 good;

	snprintf(want, sizeof(want), "HTTP/1.1 %d ", status);
	ok(strncmp(raw, want, strlen(want)) == 0, "%s: status %d", what,
	    status);
	if (strncmp(raw, want, strlen(want)) != 0)
		printf("#   got: %.60s\n", raw);
	snprintf(idline, sizeof(idline), "\r\nrequest-id: %s\r\n",
	    req.request_id);
	ok(has_header(raw, idline), "%s: request-id header", what);
	ok(has_header(raw, "\r\nConnection: close\r\n"),
	    "%s: Connection: close", what);
	ok(strncmp(body, "{\"type\":\"error\",\"error\":{\"type\":\"", 33) == 0,
	    "%s: envelope shape", what);
	o = json_tokener_parse(body);
	good = o != NULL &&
	    json_object_object_get_ex(o, "error", &e) &&
	    json_object_object_get_ex(e, "type", &v) &&
	    strcmp(json_object_get_string(v), type) == 0 &&
	    json_object_object_get_ex(e, "message", &v) &&
	    json_object_get_string_len(v) > 0 &&
	    json_object_object_get_ex(o, "request_id", &v) &&
	    strcmp(json_object_get_string(v), req.request_id) == 0;
	ok(good, "%s: error type %s, message and request_id", what, type);
	if (!good)
		printf("#   body: %s\n", body);
	json_object_put(o);
}

/* write the request, half-close, expect an answered error */
static void
expect_error(const char *what, const char *request, int status,
    const char *type)
{
	int	 r;

	open_pair(NULL);
	put(request);
	shutdown(peer, SHUT_WR);
	r = read_answered();
	is_int(r, HTTP_CONN_REJECTED, "%s: rejected", what);
	check_error(what, get_all(200), status, type);
	close_pair();
}

static int
span_is(const char *p, size_t len, const char *s)
{
	return p != NULL && strlen(s) == len && memcmp(p, s, len) == 0;
}

/* the response's Date header is now's IMF-fixdate (or the second's
 * before, should the clock have ticked in between) */
static int
has_date(const char *raw)
{
	char		 want[64], line[80];
	time_t		 now = time(NULL), t;
	struct tm	 tm;

	for (t = now; t >= now - 1; t--) {
		gmtime_r(&t, &tm);
		strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		snprintf(line, sizeof(line), "\r\nDate: %s\r\n", want);
		if (has_header(raw, line))
			return 1;
	}
	return 0;
}

static void
test_content_length(void)
{
	const char	*raw, *v;
	size_t		 vlen;
	json_object	*o;

	open_pair(NULL);
	put("POST /v1/messages?beta=true HTTP/1.1\r\nHost: x\r\n"
	    "content-length: 13\r\nX-Api-Key: k\r\n\r\n{\"a\":\"hello\"}");
	req.log_upstream_ms = -1;
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "CL: request read");
	is_int(req.log_upstream_ms, -1, "CL: the caller's log fields are kept");
	ok(span_is(req.method, req.method_len, "POST"), "CL: method");
	ok(span_is(req.path, req.path_len, "/v1/messages"), "CL: path");
	ok(span_is(req.query, req.query_len, "beta=true"), "CL: query");
	is_str(req.body.data, "{\"a\":\"hello\"}", "CL: body");
	is_int(req.body.len, 13, "CL: body length");
	is_int(req.keep_alive, 1, "CL: HTTP/1.1 keeps alive");
	is_int(req.is_head, 0, "CL: not HEAD");
	ok(strncmp(req.request_id, "req_", 4) == 0 &&
	    strlen(req.request_id) == 28, "CL: request id req_ + 24");
	ok(req.start_ms > 0 && req.start_ms <= util_now_ms(), "CL: start_ms");
	v = http_request_header(&req, "CONTENT-LENGTH", &vlen);
	ok(v != NULL && span_is(v, vlen, "13"),
	    "header lookup is case-insensitive");
	v = http_request_header(&req, "x-api-key", &vlen);
	ok(v != NULL && span_is(v, vlen, "k"), "header lookup x-api-key");
	ok(http_request_header(&req, "Authorization", &vlen) == NULL,
	    "absent header is NULL");

	o = json_object_new_object();
	json_object_object_add(o, "url", json_object_new_string("a/b"));
	is_int(http_resp_json(&conn, &req, 200, o), 0, "json response sent");
	json_object_put(o);
	raw = get_all(100);
	ok(strncmp(raw, "HTTP/1.1 200 OK\r\n", 17) == 0, "200 status line");
	ok(has_date(raw), "Date: IMF-fixdate of now");
	ok(has_header(raw, "\r\nContent-Type: application/json\r\n"),
	    "json content type");
	ok(has_header(raw, "\r\nContent-Length: 13\r\n"), "content length");
	ok(!has_header(raw, "\r\nConnection:"),
	    "no Connection header for HTTP/1.1 keep-alive");
	is_str(body_of(raw), "{\"url\":\"a/b\"}", "json body, no slash escape");
	is_int(req.status, 200, "status recorded");
	is_int(conn.bytes_out, strlen(raw), "bytes_out counts the response");
	http_conn_end_request(&conn, &req);
	is_int(conn.in.len, 0, "end_request drops the request's bytes");
	close_pair();
}

static void
test_chunked(void)
{
	open_pair(NULL);
	put("POST /c HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"
	    "5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nTrailer: a\r\n\r\n");
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "chunked: request read");
	is_str(req.body.data, "hello world", "chunked: body decoded");
	is_int(req.body.len, 11, "chunked: body length");
	http_conn_end_request(&conn, &req);
	close_pair();

	expect_error("chunked: bad size line",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	    400, "invalid_request_error");
}

static void
test_pipelined(void)
{
	open_pair(NULL);
	put("POST /one HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
	    "GET /two?x=1 HTTP/1.1\r\n\r\n"
	    "POST /three HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\r\nxyz\r\n0\r\n\r\n"
	    "HEAD /four HTTP/1.1\r\nConnection: close\r\n\r\n");
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "pipelined: first");
	ok(span_is(req.path, req.path_len, "/one"), "pipelined: first path");
	is_str(req.body.data, "abc", "pipelined: first body");
	http_conn_end_request(&conn, &req);
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "pipelined: second");
	ok(span_is(req.path, req.path_len, "/two") &&
	    span_is(req.query, req.query_len, "x=1"), "pipelined: second path");
	is_str(req.body.data, "", "pipelined: GET body is an empty string");
	http_conn_end_request(&conn, &req);
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "pipelined: third");
	ok(span_is(req.path, req.path_len, "/three"), "pipelined: third path");
	is_str(req.body.data, "xyz", "pipelined: third body (chunked)");
	http_conn_end_request(&conn, &req);
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "pipelined: fourth after a chunked body");
	ok(span_is(req.path, req.path_len, "/four") && req.is_head &&
	    !req.keep_alive, "pipelined: HEAD with Connection: close");
	http_conn_end_request(&conn, &req);
	close_pair();
}

/* bodies larger than one read, so the next request arrives while reading */
static void
test_pipelined_large(void)
{
	struct buf	 w = BUF_INITIALIZER, want = BUF_INITIALIZER;
	pid_t		 pid;
	size_t		 i;
	char		 chunk[1000];

	for (i = 0; i < 100; i++) {
		memset(chunk, 'a' + i % 26, sizeof(chunk));
		buf_append(&want, chunk, sizeof(chunk));
	}
	buf_printf(&w, "POST /big HTTP/1.1\r\nContent-Length: %zu\r\n\r\n",
	    want.len);
	buf_append(&w, want.data, want.len);
	buf_puts(&w, "POST /bigc HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n");
	for (i = 0; i < 100; i++)
		buf_printf(&w, "%zx%s\r\n%.*s\r\n", sizeof(chunk),
		    i % 7 == 0 ? ";ext=1" : "", (int)sizeof(chunk),
		    want.data + i * sizeof(chunk));
	buf_puts(&w, "0\r\n\r\nGET /after HTTP/1.1\r\n\r\n");

	open_pair(NULL);
	pid = put_async(w.data, w.len, 0);
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "large: Content-Length request");
	ok(req.body.len == want.len && memcmp(req.body.data, want.data,
	    want.len) == 0, "large: Content-Length body intact");
	http_conn_end_request(&conn, &req);
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "large: chunked request");
	ok(span_is(req.path, req.path_len, "/bigc"), "large: chunked path");
	ok(req.body.len == want.len && memcmp(req.body.data, want.data,
	    want.len) == 0, "large: chunked body intact");
	http_conn_end_request(&conn, &req);
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "large: request after the chunked body");
	ok(span_is(req.path, req.path_len, "/after"),
	    "large: bytes after the chunked body preserved");
	http_conn_end_request(&conn, &req);
	reap(pid, 1);
	close_pair();
	buf_free(&w);
	buf_free(&want);
}

static void
test_limits(void)
{
	struct http_limits	 lim = base_limits;
	struct buf		 w = BUF_INITIALIZER;
	uint64_t		 t0;
	const char		*raw;
	pid_t			 pid;
	int			 i;

	/* 413 from Content-Length alone: no body is ever sent */
	lim.max_body_bytes = 1000;
	lim.body_ms = 300;
	open_pair(&lim);
	put("POST / HTTP/1.1\r\nContent-Length: 5000\r\n"
	    "Expect: 100-continue\r\n\r\n");
	t0 = util_now_ms();
	is_int(read_answered(), HTTP_CONN_REJECTED,
	    "413: rejected");
	ok(util_now_ms() - t0 < 1000, "413: drain after the answer is bounded");
	raw = get_all(100);
	ok(strstr(raw, "100 Continue") == NULL, "413: no 100 Continue sent");
	check_error("413 by Content-Length", raw, 413, "request_too_large");
	close_pair();

	/* a chunked body that grows past the limit */
	open_pair(&lim);
	buf_puts(&w, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (i = 0; i < 3; i++)
		buf_printf(&w, "190\r\n%0400d\r\n", 0);
	pid = put_async(w.data, w.len, 0);
	is_int(read_answered(), HTTP_CONN_REJECTED,
	    "413 chunked: rejected");
	reap(pid, 1);
	check_error("413 by chunked growth", get_all(100), 413,
	    "request_too_large");
	close_pair();
	buf_free(&w);

	/* a single chunk declared too large is refused before its data */
	open_pair(&lim);
	put("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "100000\r\nabc");
	shutdown(peer, SHUT_WR);
	is_int(read_answered(), HTTP_CONN_REJECTED,
	    "413 chunk size: rejected");
	check_error("413 by chunk size", get_all(100), 413,
	    "request_too_large");
	close_pair();

	/* exactly at the limit is fine */
	open_pair(&lim);
	buf_printf(&w, "POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n%01000d",
	    7);
	put(w.data);
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "body exactly max_body_bytes is accepted");
	is_int(req.body.len, 1000, "body at the limit read whole");
	http_conn_end_request(&conn, &req);
	close_pair();
	buf_free(&w);

	/* 431: a header section over HTTP_MAX_HEAD_BYTES */
	buf_puts(&w, "GET / HTTP/1.1\r\nX-Big: ");
	for (i = 0; i < HTTP_MAX_HEAD_BYTES; i++)
		buf_putc(&w, 'a');
	buf_puts(&w, "\r\n\r\n");
	open_pair(&lim);
	pid = put_async(w.data, w.len, 0);
	is_int(read_answered(), HTTP_CONN_REJECTED,
	    "431 size: rejected");
	reap(pid, 1);
	check_error("431 by size", get_all(100), 431, "invalid_request_error");
	close_pair();
	buf_free(&w);

	/* 431: more than HTTP_MAX_HEADERS fields */
	buf_puts(&w, "GET / HTTP/1.1\r\n");
	for (i = 0; i <= HTTP_MAX_HEADERS; i++)
		buf_printf(&w, "X-%d: %d\r\n", i, i);
	buf_puts(&w, "\r\n");
	expect_error("431 by count", w.data, 431, "invalid_request_error");
	buf_free(&w);

	/* HTTP_MAX_HEADERS fields exactly are fine */
	buf_puts(&w, "GET / HTTP/1.1\r\n");
	for (i = 0; i < HTTP_MAX_HEADERS; i++)
		buf_printf(&w, "X-%d: %d\r\n", i, i);
	buf_puts(&w, "\r\n");
	open_pair(NULL);
	put(w.data);
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "HTTP_MAX_HEADERS fields accepted");
	is_int(req.nheaders, HTTP_MAX_HEADERS, "all fields kept");
	http_conn_end_request(&conn, &req);
	close_pair();
	buf_free(&w);
}

static void
test_deadlines(void)
{
	struct http_limits	 lim = base_limits;
	static const char	 slow[] = "GET / HTTP/1.1\r\n"
	    "Host: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxx\r\n\r\n";
	uint64_t		 t0, dt;
	pid_t			 pid;
	int			 r;

	lim.keepalive_ms = 200;
	lim.header_ms = 200;
	lim.body_ms = 200;

	/* idle keep-alive: EOF, nothing written */
	open_pair(&lim);
	t0 = util_now_ms();
	r = http_conn_read_request(&conn, &req);
	dt = util_now_ms() - t0;
	is_int(r, HTTP_CONN_EOF, "keep-alive timeout is EOF");
	ok(dt >= 190 && dt < 1000, "keep-alive timeout took %llu ms",
	    (unsigned long long)dt);
	is_str(get_all(50), "", "keep-alive timeout: no response");
	close_pair();

	/* clean close before a request: EOF */
	open_pair(&lim);
	shutdown(peer, SHUT_WR);
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_EOF,
	    "close between requests is EOF");
	close_pair();

	/* half a head, then silence: 408 */
	open_pair(&lim);
	put("GET / HTTP/1.1\r\nHost: x\r\n");
	t0 = util_now_ms();
	r = read_answered();
	dt = util_now_ms() - t0;
	is_int(r, HTTP_CONN_REJECTED, "header deadline: rejected");
	ok(dt >= 190 && dt < 1000, "header deadline took %llu ms",
	    (unsigned long long)dt);
	check_error("408 head", get_all(100), 408, "timeout_error");
	close_pair();

	/* a byte every 20 ms never resets the whole-head deadline */
	open_pair(&lim);
	pid = put_async(slow, sizeof(slow) - 1, 20000);
	t0 = util_now_ms();
	r = read_answered();
	dt = util_now_ms() - t0;
	reap(pid, 1);
	is_int(r, HTTP_CONN_REJECTED, "slow head: rejected");
	ok(dt < 1000, "slow head cut at the phase deadline (%llu ms)",
	    (unsigned long long)dt);
	check_error("408 slow head", get_all(100), 408, "timeout_error");
	close_pair();

	/* body deadline */
	open_pair(&lim);
	put("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly a little");
	t0 = util_now_ms();
	r = read_answered();
	dt = util_now_ms() - t0;
	is_int(r, HTTP_CONN_REJECTED, "body deadline: rejected");
	ok(dt >= 190 && dt < 1000, "body deadline took %llu ms",
	    (unsigned long long)dt);
	check_error("408 body", get_all(100), 408, "timeout_error");
	close_pair();

	/* the client leaves mid-head: no answer */
	open_pair(&lim);
	put("GET / HTTP/1.1\r\nHo");
	shutdown(peer, SHUT_WR);
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_FAILED,
	    "EOF mid-head fails");
	is_str(get_all(50), "", "EOF mid-head: nothing written");
	close_pair();
}

static void
test_framing_errors(void)
{
	expect_error("CL + TE",
	    "POST / HTTP/1.1\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	    400, "invalid_request_error");
	expect_error("two different CL",
	    "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
	    "hello!", 400, "invalid_request_error");
	expect_error("CL garbage",
	    "POST / HTTP/1.1\r\nContent-Length: 5x\r\n\r\nhello",
	    400, "invalid_request_error");
	expect_error("CL negative",
	    "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
	    400, "invalid_request_error");
	expect_error("CL with sign",
	    "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello",
	    400, "invalid_request_error");
	expect_error("CL list",
	    "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\nhello",
	    400, "invalid_request_error");
	expect_error("CL empty",
	    "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
	    400, "invalid_request_error");
	expect_error("TE gzip",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
	    501, "invalid_request_error");
	expect_error("TE gzip, chunked",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	    501, "invalid_request_error");
	expect_error("TE twice",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 501, "invalid_request_error");
	expect_error("TE in HTTP/1.0",
	    "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	    400, "invalid_request_error");
	expect_error("malformed header",
	    "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400,
	    "invalid_request_error");
	expect_error("obs-fold",
	    "GET / HTTP/1.1\r\nA: x\r\n y\r\n\r\n", 400,
	    "invalid_request_error");
	expect_error("HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", 505,
	    "invalid_request_error");
	expect_error("HTTP/1.2", "GET / HTTP/1.2\r\n\r\n", 505,
	    "invalid_request_error");
	expect_error("Expect: other", "POST / HTTP/1.1\r\nContent-Length: 1\r\n"
	    "Expect: 200-ok\r\n\r\nx", 417, "invalid_request_error");

	/* identical duplicates are one length */
	open_pair(NULL);
	put("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"
	    "hello");
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "identical CL duplicates accepted");
	is_str(req.body.data, "hello", "identical CL duplicates: body");
	http_conn_end_request(&conn, &req);
	close_pair();
}

static void
test_continue(void)
{
	static const char	 head[] = "POST /v1/messages HTTP/1.1\r\n"
	    "Content-Length: 5\r\nExpect: 100-Continue\r\n\r\n";
	static const char	 cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	char			 got[sizeof(cont)];
	struct pollfd		 pfd;
	const char		*raw;
	size_t			 n = 0;
	ssize_t			 r;
	pid_t			 pid;

	open_pair(NULL);
	if ((pid = fork()) == 0) {
		close(conn.fd);
		put(head);
		while (n < sizeof(cont) - 1) {
			pfd.fd = peer;
			pfd.events = POLLIN;
			if (poll(&pfd, 1, 2000) <= 0)
				_exit(1);
			r = read(peer, got + n, sizeof(cont) - 1 - n);
			if (r <= 0)
				_exit(1);
			n += r;
		}
		put("hello");
		_exit(memcmp(got, cont, sizeof(cont) - 1) == 0 ? 0 : 1);
	}
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "100-continue: request read");
	is_str(req.body.data, "hello", "100-continue: body after the 100");
	is_int(reap(pid, 0), 0, "100-continue: client got 100 Continue first");
	is_int(conn.bytes_out, 0, "100-continue: not counted as response");
	http_resp_send(&conn, &req, 200, "text/plain", "ok", 2, NULL);
	raw = get_all(100);
	ok(strncmp(raw, "HTTP/1.1 200 OK\r\n", 17) == 0,
	    "100-continue: final response follows");
	http_conn_end_request(&conn, &req);
	close_pair();

	/* body already here: no 100 */
	open_pair(NULL);
	put(head);
	put("hello");
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "100-continue with the body buffered");
	http_resp_send(&conn, &req, 204, NULL, NULL, 0, NULL);
	raw = get_all(100);
	ok(strncmp(raw, "HTTP/1.1 204 No Content\r\n", 25) == 0,
	    "no 100 Continue when the body is already buffered");
	ok(!has_header(raw, "Content-Length"), "204 has no Content-Length");
	http_conn_end_request(&conn, &req);
	close_pair();

	/* HTTP/1.0 expectations are ignored */
	open_pair(NULL);
	put("POST / HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n"
	    "\r\nhi");
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "HTTP/1.0 Expect ignored");
	is_int(conn.bytes_out, 0, "HTTP/1.0 Expect: nothing written");
	http_conn_end_request(&conn, &req);
	close_pair();
}

static void
test_keep_alive(void)
{
	static const struct {
		const char	*in;
		int		 keep;
		const char	*conn_hdr;	/* in the response, or NULL */
	} cases[] = {
		{ "GET / HTTP/1.0\r\n\r\n", 0, "Connection: close" },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1,
		  "Connection: keep-alive" },
		{ "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 1,
		  "Connection: keep-alive" },
		{ "GET / HTTP/1.1\r\n\r\n", 1, NULL },
		{ "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 0,
		  "Connection: close" },
		{ "GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n", 0,
		  "Connection: close" },
		{ "GET / HTTP/1.1\r\nConnection: keep-alive\r\n"
		  "Connection: close\r\n\r\n", 0, "Connection: close" },
		{ "GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", 1, NULL },
	};
	const char	*raw;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		open_pair(NULL);
		put(cases[i].in);
		is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
		    "keep-alive case %zu: read", i);
		is_int(req.keep_alive, cases[i].keep,
		    "keep-alive case %zu: keep_alive", i);
		http_resp_send(&conn, &req, 404, "text/plain", "no", 2, NULL);
		raw = get_all(100);
		if (cases[i].conn_hdr != NULL)
			ok(has_header(raw, cases[i].conn_hdr),
			    "keep-alive case %zu: %s", i, cases[i].conn_hdr);
		else
			ok(!has_header(raw, "Connection:"),
			    "keep-alive case %zu: no Connection header", i);
		ok(strncmp(raw, "HTTP/1.1 404 Not Found\r\n", 24) == 0,
		    "keep-alive case %zu: answered as HTTP/1.1", i);
		http_conn_end_request(&conn, &req);
		close_pair();
	}
}

static void
test_query(void)
{
	char	 out[64];

	open_pair(NULL);
	put("GET /v1/models?limit=5&after_id=claude%2Dx&q=a+b%20c&empty=&flag"
	    "&enc%5Fkey=v&nul=%00&bad=%zz&limit=9 HTTP/1.1\r\n\r\n");
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "query: request read");
	ok(span_is(req.path, req.path_len, "/v1/models"), "query: path");
	is_int(http_request_query(&req, "limit", out, sizeof(out)), 1,
	    "query: limit found");
	is_str(out, "5", "query: first value wins");
	http_request_query(&req, "after_id", out, sizeof(out));
	is_str(out, "claude-x", "query: percent-decoded");
	http_request_query(&req, "q", out, sizeof(out));
	is_str(out, "a b c", "query: plus and %%20 are spaces");
	is_int(http_request_query(&req, "empty", out, sizeof(out)), 1,
	    "query: empty value found");
	is_str(out, "", "query: empty value");
	is_int(http_request_query(&req, "flag", out, sizeof(out)), 1,
	    "query: name without = found");
	is_str(out, "", "query: name without = is empty");
	is_int(http_request_query(&req, "enc_key", out, sizeof(out)), 1,
	    "query: percent-encoded name");
	http_request_query(&req, "nul", out, sizeof(out));
	is_str(out, "%00", "query: %%00 kept literally");
	http_request_query(&req, "bad", out, sizeof(out));
	is_str(out, "%zz", "query: bad escape kept literally");
	is_int(http_request_query(&req, "missing", out, sizeof(out)), 0,
	    "query: absent");
	is_int(http_request_query(&req, "lim", out, sizeof(out)), 0,
	    "query: prefix of a name is not the name");
	is_int(http_request_query(&req, "after_id", out, 8), -1,
	    "query: too long for out");
	is_int(http_request_query(&req, "after_id", out, 9), 1,
	    "query: exactly fits");
	http_conn_end_request(&conn, &req);

	put("GET /v1/models HTTP/1.1\r\n\r\n");
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "no query: read");
	ok(req.query == NULL, "no query: NULL");
	is_int(http_request_query(&req, "limit", out, sizeof(out)), 0,
	    "no query: absent");
	http_conn_end_request(&conn, &req);

	put("GET /x? HTTP/1.1\r\n\r\n");
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "empty query: read");
	ok(req.query != NULL && req.query_len == 0 &&
	    span_is(req.path, req.path_len, "/x"), "empty query: empty");
	http_conn_end_request(&conn, &req);
	close_pair();
}

static void
test_head_and_errors(void)
{
	const char	*raw;
	char		 idline[64];
	json_object	*o;

	open_pair(NULL);
	put("HEAD / HTTP/1.1\r\n\r\n");
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "HEAD: read");
	is_int(req.is_head, 1, "HEAD: is_head");
	http_resp_send(&conn, &req, 200, "application/json",
	    "{\"health\":\"ok\"}", 15, "X-Extra: 1\r\n");
	raw = get_all(100);
	ok(has_header(raw, "\r\nContent-Length: 15\r\n"),
	    "HEAD: real Content-Length");
	ok(has_header(raw, "\r\nX-Extra: 1\r\n"), "extra headers verbatim");
	is_str(body_of(raw), "", "HEAD: no body");
	http_conn_end_request(&conn, &req);

	/* an error from a handler keeps the connection */
	put("GET /nope HTTP/1.1\r\n\r\n");
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "404: read");
	http_resp_error(&conn, &req, 404, NULL, "Retry-After: 3\r\n",
	    "no route for %.*s", (int)req.path_len, req.path);
	raw = get_all(100);
	ok(strncmp(raw, "HTTP/1.1 404 Not Found\r\n", 24) == 0, "404 status");
	snprintf(idline, sizeof(idline), "\r\nrequest-id: %s\r\n",
	    req.request_id);
	ok(has_header(raw, idline), "404 request-id");
	ok(has_header(raw, "\r\nRetry-After: 3\r\n"), "404 extra header");
	ok(!has_header(raw, "Connection:"), "404 keeps the connection");
	snprintf(idline, sizeof(idline), "%s", req.request_id);
	{
		char	 want[256];

		snprintf(want, sizeof(want), "{\"type\":\"error\",\"error\":"
		    "{\"type\":\"not_found_error\",\"message\":\"no route for "
		    "/nope\"},\"request_id\":\"%s\"}", idline);
		is_str(body_of(raw), want, "404 envelope, exactly");
	}
	is_int(req.status, 404, "404 status recorded");
	http_conn_end_request(&conn, &req);
	close_pair();

	o = http_resp_error_json("api_error", "a/b \"q\"", "req_x");
	is_str(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE),
	    "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":"
	    "\"a/b \\\"q\\\"\"},\"request_id\":\"req_x\"}",
	    "error_json envelope");
	json_object_put(o);

	is_str(http_resp_error_type(400), "invalid_request_error", "type 400");
	is_str(http_resp_error_type(401), "authentication_error", "type 401");
	is_str(http_resp_error_type(402), "billing_error", "type 402");
	is_str(http_resp_error_type(403), "permission_error", "type 403");
	is_str(http_resp_error_type(404), "not_found_error", "type 404");
	is_str(http_resp_error_type(405), "invalid_request_error", "type 405");
	is_str(http_resp_error_type(408), "timeout_error", "type 408");
	is_str(http_resp_error_type(413), "request_too_large", "type 413");
	is_str(http_resp_error_type(429), "rate_limit_error", "type 429");
	is_str(http_resp_error_type(431), "invalid_request_error", "type 431");
	is_str(http_resp_error_type(500), "api_error", "type 500");
	is_str(http_resp_error_type(502), "api_error", "type 502");
	is_str(http_resp_error_type(503), "api_error", "type 503");
	is_str(http_resp_error_type(504), "timeout_error", "type 504");
	is_str(http_resp_error_type(529), "overloaded_error", "type 529");
	is_str(http_resp_error_type(418), "invalid_request_error", "type 418");
	is_str(http_resp_error_type(599), "api_error", "type 599");
	is_str(http_resp_reason(413), "Content Too Large", "reason 413");
	is_str(http_resp_reason(529), "Overloaded", "reason 529");
}

/* a stream request on the pair, read */
static void
stream_request(const char *version, const char *method)
{
	char	 r[160];

	snprintf(r, sizeof(r), "%s /v1/messages HTTP/%s\r\nContent-Length: "
	    "2\r\n%s\r\n{}", method, version, strcmp(version, "1.0") == 0 ?
	    "Connection: keep-alive\r\n" : "");
	put(r);
	http_conn_read_request(&conn, &req);
}

static void
test_stream(void)
{
	struct buf	 wire = BUF_INITIALIZER;
	const char	*raw;
	unsigned long	 n;
	int		 rv;

	open_pair(NULL);
	stream_request("1.1", "POST");
	n = sends;
	is_int(http_resp_stream(&conn, &req, &wire, "event: ping\ndata: {}\n\n",
	    22, HTTP_STREAM_BEGIN), 0, "stream: begin with a batch");
	is_int(sends - n, 1, "stream: head and first batch in one send");
	n = sends;
	is_int(http_resp_stream(&conn, &req, &wire, "data: 2\n\n", 9, 0), 0,
	    "stream: a batch");
	is_int(http_resp_stream(&conn, &req, &wire, "", 0, 0), 0,
	    "stream: an empty batch");
	is_int(sends - n, 1, "stream: one send for a batch, none for an "
	    "empty one");
	n = sends;
	is_int(http_resp_stream(&conn, &req, &wire, "data: 3\n\n", 9,
	    HTTP_STREAM_END), 0, "stream: the last batch");
	is_int(sends - n, 1, "stream: last batch and terminator in one send");
	raw = get_all(100);
	ok(strncmp(raw, "HTTP/1.1 200 OK\r\n", 17) == 0, "stream: 200");
	ok(has_header(raw, "\r\nContent-Type: text/event-stream\r\n") &&
	    has_header(raw, "\r\nCache-Control: no-cache\r\n") &&
	    has_header(raw, "\r\nTransfer-Encoding: chunked\r\n") &&
	    has_header(raw, "\r\nrequest-id: req_"), "stream: headers");
	ok(!has_header(raw, "Content-Length"), "stream: no Content-Length");
	is_str(body_of(raw), "16\r\nevent: ping\ndata: {}\n\n\r\n"
	    "9\r\ndata: 2\n\n\r\n9\r\ndata: 3\n\n\r\n0\r\n\r\n",
	    "stream: a chunk per batch, then the terminator");
	is_int(req.keep_alive, 1, "stream: HTTP/1.1 stays keep-alive");
	n = sends;
	is_int(http_resp_stream(&conn, &req, &wire, "late", 4, 0), 0,
	    "stream: a write after the end ...");
	is_int(sends - n, 0, "stream: ... is dropped");
	http_conn_end_request(&conn, &req);

	/* a whole stream in one read of the upstream: one send in all */
	stream_request("1.1", "POST");
	n = sends;
	http_resp_stream(&conn, &req, &wire, "data: x\n\n", 9,
	    HTTP_STREAM_BEGIN | HTTP_STREAM_END);
	is_int(sends - n, 1, "stream: begin and end at once: one send");
	is_str(body_of(get_all(100)), "9\r\ndata: x\n\n\r\n0\r\n\r\n",
	    "stream: ... head, chunk, terminator");
	http_conn_end_request(&conn, &req);

	/* chunk size lines in lower-case hex */
	{
		static const size_t sizes[] = { 1, 9, 10, 15, 16, 255, 256,
		    4064, 4065, 9999, 70000 };
		static char	 ev[70000];
		char		 want[16];
		size_t		 k, wl;
		int		 bad = 0;

		memset(ev, 'e', sizeof(ev));
		for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			stream_request("1.1", "POST");
			http_resp_stream(&conn, &req, &wire, NULL, 0,
			    HTTP_STREAM_BEGIN);
			http_resp_stream(&conn, &req, &wire, ev, sizes[k], 0);
			http_resp_stream(&conn, &req, &wire, NULL, 0,
			    HTTP_STREAM_END);
			raw = get_all(100);
			wl = (size_t)snprintf(want, sizeof(want), "%zx\r\n",
			    sizes[k]);
			if (strncmp(body_of(raw), want, wl) != 0 ||
			    strlen(body_of(raw)) != wl + sizes[k] + 2 + 5)
				bad++;
			http_conn_end_request(&conn, &req);
		}
		is_int(bad, 0, "stream: chunk sizes 1..70000 framed in hex");
	}

	stream_request("1.0", "POST");
	http_resp_stream(&conn, &req, &wire, "data: 1\n\n", 9,
	    HTTP_STREAM_BEGIN);
	n = sends;
	rv = http_resp_stream(&conn, &req, &wire, NULL, 0, HTTP_STREAM_END);
	ok(rv == 0 && sends == n, "stream 1.0: the end writes nothing");
	raw = get_all(100);
	ok(!has_header(raw, "Transfer-Encoding") &&
	    has_header(raw, "\r\nConnection: close\r\n"),
	    "stream 1.0: not chunked, closes");
	is_str(body_of(raw), "data: 1\n\n", "stream 1.0: raw body");
	is_int(req.keep_alive, 0, "stream 1.0: keep_alive forced off");
	http_conn_end_request(&conn, &req);

	stream_request("1.1", "HEAD");
	http_resp_stream(&conn, &req, &wire, "data: 1\n\n", 9,
	    HTTP_STREAM_BEGIN | HTTP_STREAM_END);
	raw = get_all(100);
	ok(has_header(raw, "\r\nContent-Type: text/event-stream\r\n") &&
	    *body_of(raw) == '\0', "stream to HEAD: the head alone");
	http_conn_end_request(&conn, &req);
	close_pair();
	buf_free(&wire);
}

static void
test_writes(void)
{
	struct http_limits	 lim = base_limits;
	static char		 big[4 << 20];
	uint64_t		 t0, dt;

	/* the peer never reads: the write gives up at send_ms */
	lim.send_ms = 200;
	open_pair(&lim);
	ok(!http_conn_peer_gone(&conn), "peer_gone: connected peer");
	t0 = util_now_ms();
	is_int(http_conn_write(&conn, big, sizeof(big)), -1,
	    "write to a peer that never reads fails");
	dt = util_now_ms() - t0;
	ok(dt >= 190 && dt < 1000, "write timeout took %llu ms",
	    (unsigned long long)dt);
	is_int(conn.broken, 1, "write timeout marks the connection broken");
	is_int(http_conn_write(&conn, "x", 1), -1, "broken stays broken");
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_FAILED,
	    "no requests on a broken connection");
	close_pair();

	/* pipelined bytes waiting: not gone; half-close or close: gone */
	open_pair(NULL);
	put("GET / HTTP/1.1\r\n\r\n");
	ok(!http_conn_peer_gone(&conn), "peer_gone: unread bytes, not gone");
	shutdown(peer, SHUT_WR);
	ok(http_conn_peer_gone(&conn), "peer_gone: after shutdown");
	close_pair();

	open_pair(NULL);
	close(peer);
	peer = -1;
	ok(http_conn_peer_gone(&conn), "peer_gone: after close");
	is_int(http_conn_write(&conn, "x", 1), -1,
	    "write to a closed peer fails without SIGPIPE");
	is_int(conn.broken, 1, "closed peer: broken");
	http_conn_close(&conn);
}

/*
 * The first head of a connection must arrive within header_ms of the
 * accept, silence before its first byte included (issue 10: a silent
 * start, then a slow head, held a worker twice header_timeout_seconds).
 */
static void
test_first_head_deadline(void)
{
	struct http_limits	 lim = base_limits;
	uint64_t		 t0, dt;
	pid_t			 pid;
	int			 r;

	lim.header_ms = 400;
	lim.keepalive_ms = 5000;
	open_pair(&lim);
	t0 = conn.accepted_ms;
	/* silent for 250 ms, then half a head */
	if ((pid = fork()) == 0) {
		close(conn.fd);
		usleep(250000);
		put("GET / HTTP/1.1\r\nHost: x\r\n");
		sleep(5);
		_exit(0);
	}
	r = read_answered();
	dt = util_now_ms() - t0;
	reap(pid, 1);
	is_int(r, HTTP_CONN_REJECTED, "late, slow first head: rejected");
	ok(dt >= 390 && dt < 600, "first head cut %llu ms after the accept "
	    "(header_ms 400, not 400 after its first byte)",
	    (unsigned long long)dt);
	check_error("408 late first head", get_all(100), 408, "timeout_error");
	close_pair();

	/* a silent new connection: closed at header_ms, no keep-alive wait */
	open_pair(&lim);
	r = read_answered();
	dt = util_now_ms() - conn.accepted_ms;
	is_int(r, HTTP_CONN_EOF, "silent new connection: EOF");
	ok(dt >= 390 && dt < 600, "silent new connection closed after %llu ms",
	    (unsigned long long)dt);
	close_pair();
}

static volatile sig_atomic_t	 stop_flag, closing_flag;

static void
on_alarm(int signo)
{
	(void)signo;
	stop_flag = 1;
}

/*
 * limits.stop interrupts the wait for a request without consuming
 * anything; limits.closing turns the next head's keep-alive off.
 */
static void
test_stop_and_closing(void)
{
	struct http_limits	 lim = base_limits;
	struct sigaction	 sa;
	struct itimerval	 it;
	uint64_t		 t0, dt;
	const char		*raw;
	int			 r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);
	lim.stop = &stop_flag;
	lim.closing = &closing_flag;

	/* a first request served keep-alive, then an idle wait */
	open_pair(&lim);
	put("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "stop: first request");
	http_resp_send(&conn, &req, 200, "text/plain", "ok", 2, NULL);
	raw = get_all(100);
	ok(strstr(raw, "Connection: close") == NULL && req.keep_alive,
	    "before closing: the answer keeps the connection");
	http_conn_end_request(&conn, &req);

	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = 150000;
	setitimer(ITIMER_REAL, &it, NULL);
	t0 = util_now_ms();
	r = http_conn_read_request(&conn, &req);
	dt = util_now_ms() - t0;
	is_int(r, HTTP_CONN_STOPPED, "a stop signal ends the idle wait");
	ok(dt >= 140 && dt < 1000, "stopped after %llu ms",
	    (unsigned long long)dt);

	/* nothing was lost: the next request is read and answered close */
	closing_flag = 1;
	put("GET /again HTTP/1.1\r\nHost: x\r\n\r\n");
	is_int(http_conn_read_request(&conn, &req), HTTP_CONN_REQUEST,
	    "after the stop: the next request is read");
	ok(span_is(req.path, req.path_len, "/again"), "... whole");
	http_resp_send(&conn, &req, 200, "text/plain", "ok", 2, NULL);
	raw = get_all(100);
	ok(has_header(raw, "\r\nConnection: close\r\n"),
	    "closing: the answer says Connection: close");
	is_int(req.keep_alive, 0, "closing: req->keep_alive cleared");
	http_conn_end_request(&conn, &req);
	close_pair();

	/* a signal that did not raise the flag does not end the wait */
	lim.stop = &closing_flag;
	lim.keepalive_ms = 300;
	closing_flag = 0;
	stop_flag = 0;
	open_pair(&lim);
	conn.requests = 1;		/* waiting for a next request */
	setitimer(ITIMER_REAL, &it, NULL);
	r = http_conn_read_request(&conn, &req);
	is_int(r, HTTP_CONN_EOF, "another signal: the wait runs to its end");
	is_int(stop_flag, 1, "... and that signal came");
	close_pair();
	signal(SIGALRM, SIG_DFL);
}

int
main(void)
{
	test_content_length();
	test_chunked();
	test_pipelined();
	test_pipelined_large();
	test_limits();
	test_deadlines();
	test_framing_errors();
	test_continue();
	test_keep_alive();
	test_query();
	test_head_and_errors();
	test_stream();
	test_writes();
	test_first_head_deadline();
	test_stop_and_closing();
	return tap_done();
}
