/*
 * http_resp: status lines, JSON responses, the Anthropic error envelope and
 * the chunked text/event-stream response. Every response carries
 * request-id; HEAD gets headers only; Connection: close when !keep_alive.
 */
#ifndef CP_HTTP_RESP_H
#define CP_HTTP_RESP_H

#include <stddef.h>
#include <json-c/json.h>

#include "http_conn.h"

const char *http_resp_reason(int status);		/* "Not Found" */
const char *http_resp_error_type(int status);		/* "not_found_error" */

/* extra_headers: "Retry-After: 3\r\n" style lines or NULL */
int	 http_resp_send(struct http_conn *, struct http_request *, int status,
	    const char *content_type, const char *body, size_t len,
	    const char *extra_headers);
int	 http_resp_json(struct http_conn *, struct http_request *, int status,
	    json_object *);
/* {"type":"error","error":{"type":T,"message":M},"request_id":R};
 * type NULL = http_resp_error_type(status) */
int	 http_resp_error(struct http_conn *, struct http_request *, int status,
	    const char *type, const char *extra_headers, const char *fmt, ...)
	    __attribute__((format(printf, 6, 7)));
/* the envelope alone, for event: error */
json_object *http_resp_error_json(const char *type, const char *message,
	    const char *request_id);

/* 200 text/event-stream, Cache-Control: no-cache, chunked */
int	 http_resp_stream_begin(struct http_conn *, struct http_request *);
int	 http_resp_stream_write(struct http_conn *, const char *, size_t);
int	 http_resp_stream_end(struct http_conn *);

#endif
