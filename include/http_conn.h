/*
 * http_conn: one client connection: buffered reads under whole-phase
 * deadlines, request framing (head, Content-Length or chunked body,
 * Expect: 100-continue, limits) and bounded writes.
 */
#ifndef CP_HTTP_CONN_H
#define CP_HTTP_CONN_H

#include <stddef.h>
#include <signal.h>
#include <stdint.h>

#include "buf.h"
#include "http_parse.h"

struct conf_client_key;

#define HTTP_MAX_HEADERS	100
#define HTTP_MAX_HEAD_BYTES	(64 * 1024)

struct http_limits {
	int	 keepalive_ms;		/* wait for the first byte of a request */
	int	 header_ms;		/* whole head, from its first byte */
	int	 body_ms;		/* whole body */
	int	 send_ms;		/* one write may block this long */
	int64_t	 max_body_bytes;
	/* a signal ends the wait for a request's first byte (as
	 * HTTP_CONN_STOPPED) only when it raised this flag (NULL: any
	 * signal does) */
	const volatile sig_atomic_t *stop;
	/* raised: every response from now on says Connection: close */
	const volatile sig_atomic_t *closing;
};

struct http_conn {
	int		 fd;
	struct buf	 in;		/* bytes read, not yet consumed */
	size_t		 head_len;	/* bytes of the current request head */
	struct http_limits limits;
	char		 peer[64];	/* "127.0.0.1:51234" */
	int		 broken;	/* a write failed or timed out */
	uint64_t	 bytes_out;	/* per request, for the access log */
	int		 stream_chunked; /* set by http_resp_stream_begin */
	unsigned	 requests;	/* begun on this connection */
	uint64_t	 accepted_ms;	/* http_conn_init: the first head's
					 * deadline counts from here */
	struct {
		int	 status;	/* 400, 408, 413, 417, 431, 500, 501,
					 * 505; 0 = none */
		char	 msg[96];
	}		 reject;	/* HTTP_CONN_REJECTED: answer this */
};

struct http_request {
	const char	*method;	/* pointers into conn->in */
	size_t		 method_len;
	const char	*path;		/* without the query string */
	size_t		 path_len;
	const char	*query;		/* after '?', NULL if none */
	size_t		 query_len;
	int		 minor_version;
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t		 nheaders;
	struct buf	 body;		/* decoded body, NUL-terminated */
	int		 keep_alive;	/* from version and Connection */
	int		 is_head;
	int		 status;	/* set by http_resp for the access log */
	char		 request_id[32];	/* "req_" + 24 random */
	uint64_t	 start_ms;
	/* filled by handlers for the access log line */
	char		 log_model[96];
	char		 log_provider[64];
	long		 log_upstream_ms;	/* -1 = no upstream call */
	/* the team gateway: the client's key (auth), the route that chose
	 * the model (messages), anthropic-ratelimit-* header lines that
	 * every response to it carries (limits) */
	const struct conf_client_key *client_key;	/* NULL = no keys */
	char		 log_route[64];
	char		 ratelimit_headers[768];
};

enum {
	HTTP_CONN_REQUEST = 0,	/* a request is ready */
	HTTP_CONN_EOF = 1,	/* peer closed or idle timeout between requests */
	HTTP_CONN_STOPPED = 2,	/* limits.stop raised while waiting for a
				 * request: nothing read, call again */
	HTTP_CONN_REJECTED = -2, /* a framing or limit error: answer
				 * conn->reject (keep_alive is off), then
				 * http_conn_linger, then close */
	HTTP_CONN_FAILED = -1	/* I/O failure or the client left mid-request:
				 * nobody to answer; close the connection */
};

/* peer: the client's address for the logs as accept() gave it, or NULL to
 * ask the socket (one getpeername) */
void	 http_conn_init(struct http_conn *, int fd, const struct http_limits *,
	    const char *peer);
void	 http_conn_close(struct http_conn *);	/* closes fd, frees */
int	 http_conn_read_request(struct http_conn *, struct http_request *);
/* after answering HTTP_CONN_REJECTED: drain the client's upload briefly */
void	 http_conn_linger(struct http_conn *);
void	 http_conn_end_request(struct http_conn *, struct http_request *);
/* as a response head is built: clears req->keep_alive once limits.closing
 * is raised; returns req->keep_alive */
int	 http_conn_decide_keep_alive(struct http_conn *, struct http_request *);
/* write all of it within limits.send_ms; -1 sets conn->broken */
int	 http_conn_write(struct http_conn *, const void *, size_t);
/* has the peer hung up? (non-blocking; does not consume request bytes) */
int	 http_conn_peer_gone(struct http_conn *);

/* header lookup, case-insensitive; NULL if absent */
const char *http_request_header(const struct http_request *, const char *name,
	    size_t *value_len);
/* query parameter, percent-decoded into out: 1 found, 0 absent, -1 too long */
int	 http_request_query(const struct http_request *, const char *name,
	    char *out, size_t outsz);

#endif
