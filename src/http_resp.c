/*
 * http_resp.c: responses toward the client.
 *
 * What it does: status line and headers, complete responses with a body
 * (JSON or anything else), the Anthropic error envelope, and the
 * text/event-stream response, written a batch of events at a time.
 *
 * Promises: every response carries `request-id: <req->request_id>` (and
 * req->ratelimit_headers, the key's anthropic-ratelimit-* lines); a
 * response to HEAD has the headers of the GET answer (Content-Length
 * included) and no body; `Connection: close` when the connection will be
 * closed (!req->keep_alive, which http_conn_decide_keep_alive clears when
 * the worker is told to go), `Connection: keep-alive` to HTTP/1.0 clients
 * that asked for it. A stream toward an HTTP/1.0 client is not chunked;
 * it ends when the connection closes, so keep_alive is forced off. Head
 * and body go out in one write where possible; in a stream each batch of
 * events is one chunk in one write, together with the head when it is the
 * first and with the terminating chunk when it is the last, in a buffer
 * the caller reuses (no allocation per write once it fits). req->status is set for the access log; the bytes
 * are counted in conn->bytes_out by http_conn_write. http_resp_json does
 * not take ownership of the object it is given.
 *
 * Every error message passes through secret_mask: no configured secret,
 * nor anything that looks like a credential, reaches a client in one.
 *
 * How it fails: -1 when memory runs out or the write fails or times out
 * (then conn->broken is set and the connection must be closed).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "buf.h"
#include "http_conn.h"
#include "http_resp.h"
#include "secret.h"

#define JSON_FLAGS \
	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

const char *
http_resp_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	case 529: return "Overloaded";
	}
	if (status >= 200 && status < 300)
		return "OK";
	if (status >= 400 && status < 500)
		return "Client Error";
	if (status >= 500 && status < 600)
		return "Server Error";
	return "Unknown";
}

const char *
http_resp_error_type(int status)
{
	switch (status) {
	case 401: return "authentication_error";
	case 402: return "billing_error";
	case 403: return "permission_error";
	case 404: return "not_found_error";
	case 408: return "timeout_error";
	case 413: return "request_too_large";
	case 429: return "rate_limit_error";
	case 501: return "invalid_request_error";	/* client's framing */
	case 505: return "invalid_request_error";
	case 504: return "timeout_error";
	case 529: return "overloaded_error";
	}
	if (status >= 500)
		return "api_error";
	return "invalid_request_error";	/* 400, 405, 417, 431 ... */
}

/* RFC 9110 IMF-fixdate, independent of the locale; formatted once a
 * second, not once a response */
static const char *
http_date(void)
{
	static const char *const days[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	static char	 date[64];
	static time_t	 made = (time_t)-1;
	time_t		 now = time(NULL);
	struct tm	 tm;

	if (now == made)
		return date;
	made = now;
	if (gmtime_r(&now, &tm) == NULL) {
		date[0] = '\0';
		return date;
	}
	snprintf(date, sizeof(date), "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return date;
}

/* v in decimal: the head is built with appends, not printf, which cost
 * more than the rest of the response */
static int
put_dec(struct buf *b, unsigned long long v)
{
	char	 d[24];
	size_t	 n = sizeof(d);

	do
		d[--n] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return buf_append(b, d + n, sizeof(d) - n);
}

/* status line, Date, request-id and Connection */
static int
put_head_start(struct buf *b, const struct http_request *req, int status)
{
	if (status < 0) {
		if (buf_printf(b, "HTTP/1.1 %d ", status) == -1)
			return -1;
	} else if (buf_puts(b, "HTTP/1.1 ") == -1 ||
	    put_dec(b, (unsigned)status) == -1 || buf_putc(b, ' ') == -1)
		return -1;
	if (buf_puts(b, http_resp_reason(status)) == -1 ||
	    buf_puts(b, "\r\nDate: ") == -1 || buf_puts(b, http_date()) == -1 ||
	    buf_puts(b, "\r\nrequest-id: ") == -1 ||
	    buf_puts(b, req->request_id) == -1 || buf_puts(b, "\r\n") == -1)
		return -1;
	/* a key with limits: anthropic-ratelimit-* on every answer */
	if (req->ratelimit_headers[0] != '\0' &&
	    buf_puts(b, req->ratelimit_headers) == -1)
		return -1;
	if (!req->keep_alive)
		return buf_puts(b, "Connection: close\r\n");
	if (req->minor_version == 0)
		return buf_puts(b, "Connection: keep-alive\r\n");
	return 0;
}

int
http_resp_send(struct http_conn *conn, struct http_request *req, int status,
    const char *content_type, const char *body, size_t len,
    const char *extra_headers)
{
	struct buf	 b = BUF_INITIALIZER;
	int		 nobody, rv = -1;

	req->status = status;
	/* 1xx, 204 and 304 have no content and no Content-Length */
	nobody = status < 200 || status == 204 || status == 304;
	/* head and body in one allocation, no regrowth on the way */
	if (buf_reserve(&b, 512 + (nobody || req->is_head ? 0 : len)) == -1)
		goto done;
	http_conn_decide_keep_alive(conn, req);
	if (put_head_start(&b, req, status) == -1)
		goto done;
	if (content_type != NULL && !nobody &&
	    (buf_puts(&b, "Content-Type: ") == -1 ||
	    buf_puts(&b, content_type) == -1 || buf_puts(&b, "\r\n") == -1))
		goto done;
	if (!nobody && (buf_puts(&b, "Content-Length: ") == -1 ||
	    put_dec(&b, len) == -1 || buf_puts(&b, "\r\n") == -1))
		goto done;
	if (extra_headers != NULL && buf_puts(&b, extra_headers) == -1)
		goto done;
	if (buf_puts(&b, "\r\n") == -1)
		goto done;
	if (!nobody && !req->is_head && len > 0 &&
	    buf_append(&b, body, len) == -1)
		goto done;
	rv = http_conn_write(conn, b.data, b.len);
 done:
	buf_free(&b);
	return rv;
}

int
http_resp_json(struct http_conn *conn, struct http_request *req, int status,
    json_object *obj)
{
	const char	*s;
	size_t		 len;

	if ((s = json_object_to_json_string_length(obj, JSON_FLAGS,
	    &len)) == NULL)
		return -1;
	return http_resp_send(conn, req, status, "application/json", s, len,
	    NULL);
}

json_object *
http_resp_error_json(const char *type, const char *message,
    const char *request_id)
{
	json_object	*env, *err;
	struct buf	 masked = BUF_INITIALIZER;

	if ((env = json_object_new_object()) == NULL)
		return NULL;
	if ((err = json_object_new_object()) == NULL) {
		json_object_put(env);
		return NULL;
	}
	json_object_object_add(env, "type", json_object_new_string("error"));
	json_object_object_add(err, "type",
	    json_object_new_string(type != NULL ? type : "api_error"));
	/* the last net before a client: a message may quote an upstream */
	if (message != NULL)
		secret_mask(&masked, message, strlen(message));
	json_object_object_add(err, "message", json_object_new_string_len(
	    masked.data != NULL ? masked.data : "", (int)masked.len));
	buf_free(&masked);
	json_object_object_add(env, "error", err);
	json_object_object_add(env, "request_id", request_id != NULL ?
	    json_object_new_string(request_id) : NULL);
	return env;
}

int
http_resp_error(struct http_conn *conn, struct http_request *req, int status,
    const char *type, const char *extra_headers, const char *fmt, ...)
{
	json_object	*env;
	const char	*s;
	char		*msg;
	size_t		 len;
	va_list		 ap;
	int		 n, rv = -1;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (msg = malloc((size_t)n + 1)) == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	va_end(ap);
	if (type == NULL)
		type = http_resp_error_type(status);
	env = http_resp_error_json(type, msg, req->request_id);
	free(msg);
	if (env == NULL)
		return -1;
	if ((s = json_object_to_json_string_length(env, JSON_FLAGS,
	    &len)) != NULL)
		rv = http_resp_send(conn, req, status, "application/json", s,
		    len, extra_headers);
	json_object_put(env);
	return rv;
}

/* the head of the 200 text/event-stream answer; sets how its body is
 * framed */
static int
put_stream_head(struct buf *b, struct http_conn *conn,
    struct http_request *req)
{
	req->status = 200;
	if (req->is_head)
		conn->stream_chunked = -1;	/* headers only */
	else if (req->minor_version == 0) {
		conn->stream_chunked = 0;	/* delimited by close */
		req->keep_alive = 0;
	} else
		conn->stream_chunked = 1;
	http_conn_decide_keep_alive(conn, req);
	if (put_head_start(b, req, 200) == -1 ||
	    buf_puts(b, "Content-Type: text/event-stream\r\n"
	    "Cache-Control: no-cache\r\n") == -1)
		return -1;
	if (conn->stream_chunked != 0 &&
	    buf_puts(b, "Transfer-Encoding: chunked\r\n") == -1)
		return -1;
	return buf_puts(b, "\r\n");
}

/* v in lower-case hex, no NUL: a chunk size line without snprintf */
static int
put_hex(char *out, size_t v)
{
	char	 d[2 * sizeof(size_t)];
	int	 n = (int)sizeof(d);

	do
		d[--n] = "0123456789abcdef"[v & 15];
	while ((v >>= 4) != 0);
	memcpy(out, d + n, sizeof(d) - (size_t)n);
	return (int)sizeof(d) - n;
}

int
http_resp_stream(struct http_conn *conn, struct http_request *req,
    struct buf *wire, const char *data, size_t len, int flags)
{
	char	 size[2 * sizeof(size_t) + 2];
	int	 n, rv;

	buf_reset(wire);
	if ((flags & HTTP_STREAM_BEGIN) &&
	    put_stream_head(wire, conn, req) == -1)
		return -1;
	if (conn->stream_chunked == 1 && len > 0) {
		/* "%zx\r\n" data "\r\n": the whole batch is one chunk */
		n = put_hex(size, len);
		size[n++] = '\r';
		size[n++] = '\n';
		if (buf_reserve(wire, (size_t)n + len + 2 + 5) == -1)
			return -1;
		buf_append(wire, size, (size_t)n);
		buf_append(wire, data, len);
		buf_append(wire, "\r\n", 2);
	} else if (conn->stream_chunked == 0 && len > 0 &&
	    buf_append(wire, data, len) == -1)
		return -1;
	if ((flags & HTTP_STREAM_END) && conn->stream_chunked == 1) {
		if (buf_append(wire, "0\r\n\r\n", 5) == -1)
			return -1;
		conn->stream_chunked = -1;	/* later writes are dropped */
	}
	if (wire->len == 0)
		return 0;
	rv = http_conn_write(conn, wire->data, wire->len);
	buf_reset(wire);
	return rv;
}
