/*
 * errmap: an upstream's failure, worded for the client (Anthropic's status,
 * error type and a one-line message) and for the log.
 */
#ifndef CP_ERRMAP_H
#define CP_ERRMAP_H

#include <stddef.h>
#include <json-c/json.h>

#include "buf.h"
#include "xlate.h"

/*
 * An upstream non-2xx answer -> the client's status, error type and message:
 * 400 invalid_request_error, 401/403 from the upstream = the proxy's own key
 * was refused (reported as 502 api_error naming the provider, never as the
 * client's bad key), 404 -> 502 naming the provider (wrong remote_id or
 * base_url), 413, 429 rate_limit_error, 5xx
 * api_error/overloaded_error; context-length errors rewritten to Anthropic's
 * exact text (400 invalid_request_error).
 */
void	 errmap_http(long upstream_status, const char *body, size_t len,
	    const char *provider_name, struct xlate_err *);
/*
 * The same for an upstream that speaks Anthropic's API: its own error
 * envelope is passed on (type and message, masked and bounded) when it
 * concerns the request; the rest as errmap_http words it.
 */
void	 errmap_anthropic(long upstream_status, const char *body, size_t len,
	    const char *provider_name, struct xlate_err *);
/* type when it is one of Anthropic's error types (the list's own string),
 * else NULL */
const char *errmap_anthropic_type(const char *type);
/* an upstream's words for a client: control bytes as spaces, configured
 * secrets masked, then cut at max bytes (whole UTF-8 characters) */
void	 errmap_upstream_words(struct buf *out, const char *msg, size_t max);
/* an error inside a 2xx answer ({"error":...} instead of choices, or
 * OpenRouter's choices[0].error): -1 with err filled, 0 if there is none */
int	 errmap_answer(json_object *resp, struct xlate_err *);
/* for the log: "HTTP 401: the upstream's own words", masked, one line */
void	 errmap_reason(long upstream_status, const char *body, size_t len,
	    struct buf *out);

#endif
