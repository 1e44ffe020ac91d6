/*
 * http_parse: HTTP/1.1 request head parser and chunked body decoder in the
 * picohttpparser style. No allocation: names and values are (ptr, len) pairs
 * into the caller's buffer. Return: bytes consumed, -1 malformed,
 * -2 incomplete (read more and call again with last_len = previous length).
 */
#ifndef CP_HTTP_PARSE_H
#define CP_HTTP_PARSE_H

#include <stddef.h>
#include <sys/types.h>

#define HTTP_PARSE_BAD		(-1)
#define HTTP_PARSE_PARTIAL	(-2)
#define HTTP_PARSE_TOO_MANY	(-3)	/* more headers than the array holds */

struct http_header {
	const char	*name;
	size_t		 name_len;
	const char	*value;		/* leading/trailing blanks trimmed */
	size_t		 value_len;
};

/* *nheaders in: capacity of headers[]; out: headers found */
int	 http_parse_request(const char *buf, size_t len, const char **method,
	    size_t *method_len, const char **target, size_t *target_len,
	    int *minor_version, struct http_header *headers, size_t *nheaders,
	    size_t last_len);

struct http_chunked {
	size_t	 left;		/* bytes left in the current chunk */
	int	 state;
	size_t	 total;		/* decoded bytes so far */
};

/*
 * Decode in place: buf[0..*len) holds raw bytes, on return buf[0..*len)
 * holds decoded data. Returns -1 malformed, -2 need more, or >= 0 when the
 * body (and trailers) ended: the number of bytes after the body's end that
 * were not consumed, left at buf[*len .. *len + ret).
 */
ssize_t	 http_parse_chunked(struct http_chunked *, char *buf, size_t *len);

#endif
