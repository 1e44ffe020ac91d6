/*
 * http_resp: status lines, JSON responses, the Anthropic error envelope and
 * the text/event-stream response, a batch of events per write. Every
 * response carries request-id; HEAD gets headers only; Connection: close
 * when !keep_alive.
 */
#ifndef CP_HTTP_RESP_H
#define CP_HTTP_RESP_H

#include <stddef.h>
#include <json-c/json.h>

#include "buf.h"
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

/*
 * A 200 text/event-stream answer (Cache-Control: no-cache; chunked, or
 * delimited by close for HTTP/1.0; headers only for HEAD), a batch at a
 * time: data is one chunk, written in one write together with the head
 * (HTTP_STREAM_BEGIN, the first call) and the terminating chunk
 * (HTTP_STREAM_END, the last call; data may be empty). wire is the
 * caller's scratch buffer, reused from call to call.
 */
#define HTTP_STREAM_BEGIN	0x1
#define HTTP_STREAM_END		0x2
int	 http_resp_stream(struct http_conn *, struct http_request *,
	    struct buf *wire, const char *data, size_t len, int flags);

#endif
