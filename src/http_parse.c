/*
 * http_parse.c: HTTP/1.1 request heads and chunked bodies, by hand.
 *
 * What it does: http_parse_request reads a request line and header fields
 * out of a caller's buffer without allocating and without copying; names,
 * values, the method and the target are (pointer, length) pairs into that
 * buffer. http_parse_chunked decodes a chunked body in place, a piece at a
 * time, as bytes arrive.
 *
 * Promises: never reads outside buf[0..len); never writes to the head
 * buffer; every byte is checked against RFC 9112's grammar before it is
 * reported. Header names are tokens; values carry no NUL or control
 * character except HTAB; CR only as part of CRLF; bare LF is accepted as
 * a line end; obs-fold (a line starting with SP or HTAB) is rejected, as
 * is whitespace between a field name and its colon. The request line is
 * method SP target SP "HTTP/1." DIGIT, single spaces only. Leading empty
 * lines before the request line are skipped (RFC 9112 section 2.2).
 * With last_len != 0 an incomplete head is detected by looking only at
 * the bytes that arrived since the previous call, so re-parsing after
 * each read is cheap.
 *
 * How it fails: -1 (HTTP_PARSE_BAD) malformed, -2 (HTTP_PARSE_PARTIAL)
 * the head or body is not complete yet, -3 (HTTP_PARSE_TOO_MANY) more
 * header fields than the caller's array holds. A chunked body whose size
 * line has no digits, more than 16 hex digits or a value that overflows
 * size_t is malformed.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http_parse.h"

/* tchar from RFC 9110 section 5.6.2 */
static int
is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-value bytes: VCHAR, obs-text, SP and HTAB */
static int
is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* request-target bytes: anything visible; no CTL, SP or DEL */
static int
is_target_char(unsigned char c)
{
	return c > 0x20 && c != 0x7f;
}

static int
is_hex(unsigned char c, unsigned int *v)
{
	if (c >= '0' && c <= '9')
		*v = c - '0';
	else if (c >= 'a' && c <= 'f')
		*v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		*v = c - 'A' + 10;
	else
		return 0;
	return 1;
}

/*
 * Does buf[0..len) hold an empty line after position last_len - 3?
 * Bytes before that were already seen without one by the previous call.
 */
static int
head_complete(const char *buf, size_t len, size_t last_len)
{
	const char	*p, *end = buf + len;

	p = buf + (last_len > 3 ? last_len - 3 : 0);
	while (p < end && (p = memchr(p, '\n', end - p)) != NULL) {
		p++;
		if (p < end && *p == '\r')
			p++;
		if (p < end && *p == '\n')
			return 1;
	}
	return 0;
}

/*
 * Consume a line end (CRLF or LF) at *pp.
 * 0 done, -1 not a line end, -2 need more.
 */
static int
eat_eol(const char **pp, const char *end)
{
	const char	*p = *pp;

	if (p == end)
		return HTTP_PARSE_PARTIAL;
	if (*p == '\r') {
		if (++p == end)
			return HTTP_PARSE_PARTIAL;
		if (*p != '\n')
			return HTTP_PARSE_BAD;
	} else if (*p != '\n')
		return HTTP_PARSE_BAD;
	*pp = p + 1;
	return 0;
}

static int
parse_request_line(const char **pp, const char *end, const char **method,
    size_t *method_len, const char **target, size_t *target_len,
    int *minor_version)
{
	static const char	 proto[] = "HTTP/1.";
	const char		*p = *pp;
	size_t			 i;
	int			 r;

	*method = p;
	while (p < end && is_tchar(*p))
		p++;
	if (p == end)
		return HTTP_PARSE_PARTIAL;
	if (p == *method || *p != ' ')
		return HTTP_PARSE_BAD;
	*method_len = p - *method;
	p++;

	*target = p;
	while (p < end && is_target_char(*p))
		p++;
	if (p == end)
		return HTTP_PARSE_PARTIAL;
	if (p == *target || *p != ' ')
		return HTTP_PARSE_BAD;
	*target_len = p - *target;
	p++;

	for (i = 0; i < sizeof(proto) - 1; i++, p++) {
		if (p == end)
			return HTTP_PARSE_PARTIAL;
		if (*p != proto[i])
			return HTTP_PARSE_BAD;
	}
	if (p == end)
		return HTTP_PARSE_PARTIAL;
	if (*p < '0' || *p > '9')
		return HTTP_PARSE_BAD;
	*minor_version = *p++ - '0';
	if ((r = eat_eol(&p, end)) != 0)
		return r;
	*pp = p;
	return 0;
}

/* one header field line at *pp; the caller has ruled out an empty line */
static int
parse_header(const char **pp, const char *end, struct http_header *h)
{
	const char	*p = *pp, *vend;
	int		 r;

	h->name = p;
	while (p < end && is_tchar(*p))
		p++;
	if (p == end)
		return HTTP_PARSE_PARTIAL;
	if (p == h->name || *p != ':')
		return HTTP_PARSE_BAD;
	h->name_len = p - h->name;
	p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	h->value = p;
	while (p < end && is_value_char(*p))
		p++;
	vend = p;
	if ((r = eat_eol(&p, end)) != 0)
		return r;
	while (vend > h->value && (vend[-1] == ' ' || vend[-1] == '\t'))
		vend--;
	h->value_len = vend - h->value;
	*pp = p;
	return 0;
}

int
http_parse_request(const char *buf, size_t len, const char **method,
    size_t *method_len, const char **target, size_t *target_len,
    int *minor_version, struct http_header *headers, size_t *nheaders,
    size_t last_len)
{
	const char	*p = buf, *end = buf + len;
	size_t		 max = *nheaders, n = 0;
	int		 r;

	*nheaders = 0;
	if (last_len != 0 && !head_complete(buf, len, last_len))
		return HTTP_PARSE_PARTIAL;

	/* empty lines before the request line are ignored */
	for (;;) {
		if (p == end)
			return HTTP_PARSE_PARTIAL;
		if (*p != '\r' && *p != '\n')
			break;
		if ((r = eat_eol(&p, end)) != 0)
			return r;
	}

	if ((r = parse_request_line(&p, end, method, method_len, target,
	    target_len, minor_version)) != 0)
		return r;

	for (;;) {
		if (p == end)
			return HTTP_PARSE_PARTIAL;
		if (*p == '\r' || *p == '\n') {
			if ((r = eat_eol(&p, end)) != 0)
				return r;
			break;
		}
		if (*p == ' ' || *p == '\t')
			return HTTP_PARSE_BAD;		/* obs-fold */
		if (n == max)
			return HTTP_PARSE_TOO_MANY;
		if ((r = parse_header(&p, end, &headers[n])) != 0)
			return r;
		n++;
	}
	if (p - buf > INT_MAX)
		return HTTP_PARSE_BAD;
	*nheaders = n;
	return (int)(p - buf);
}

/*
 * Decoder states. CH_SIZE + k means "k hex digits of the chunk size read",
 * so a zeroed struct http_chunked starts at the first size digit.
 */
#define CH_MAX_DIGITS	16
enum {
	CH_SIZE = 0,		/* ... CH_SIZE + CH_MAX_DIGITS */
	CH_SIZE_WS = CH_SIZE + CH_MAX_DIGITS + 1, /* blanks after the size */
	CH_EXT,			/* chunk extension, ignored */
	CH_SIZE_LF,		/* CR seen at the end of the size line */
	CH_DATA,
	CH_DATA_END,		/* CRLF or LF after the data */
	CH_DATA_LF,
	CH_TRAILER,		/* start of a trailer line or the final CRLF */
	CH_TRAILER_LINE,	/* inside a trailer field, skipped */
	CH_TRAILER_LF,		/* CR seen inside a trailer line */
	CH_END_LF,		/* CR of the final empty line seen */
	CH_DONE
};

/* end of the size line: a 0 size goes to the trailers */
static int
chunk_size_done(struct http_chunked *ch)
{
	return ch->left == 0 ? CH_TRAILER : CH_DATA;
}

ssize_t
http_parse_chunked(struct http_chunked *ch, char *buf, size_t *len)
{
	size_t		 src = 0, dst = 0, n, end = *len;
	unsigned int	 v;
	unsigned char	 c;

	while (src < end) {
		if (ch->state == CH_DATA) {
			n = end - src;
			if (n > ch->left)
				n = ch->left;
			memmove(buf + dst, buf + src, n);
			src += n;
			dst += n;
			ch->left -= n;
			ch->total += n;
			if (ch->left == 0)
				ch->state = CH_DATA_END;
			continue;
		}
		c = (unsigned char)buf[src++];
		/* the size line's digits */
		if (ch->state <= CH_SIZE + CH_MAX_DIGITS) {
			if (is_hex(c, &v)) {
				if (ch->state == CH_SIZE + CH_MAX_DIGITS ||
				    ch->left > (SIZE_MAX - v) / 16)
					return -1;
				ch->left = ch->left * 16 + v;
				ch->state++;
				continue;
			}
			if (ch->state == CH_SIZE)
				return -1;		/* no digits */
			if (c == ' ' || c == '\t')
				ch->state = CH_SIZE_WS;
			else if (c == ';')
				ch->state = CH_EXT;
			else if (c == '\r')
				ch->state = CH_SIZE_LF;
			else if (c == '\n')
				ch->state = chunk_size_done(ch);
			else
				return -1;
			continue;
		}
		switch (ch->state) {
		case CH_SIZE_WS:
			if (c == ';')
				ch->state = CH_EXT;
			else if (c == '\r')
				ch->state = CH_SIZE_LF;
			else if (c == '\n')
				ch->state = chunk_size_done(ch);
			else if (c != ' ' && c != '\t')
				return -1;
			break;
		case CH_EXT:
			if (c == '\r')
				ch->state = CH_SIZE_LF;
			else if (c == '\n')
				ch->state = chunk_size_done(ch);
			else if (!is_value_char(c))
				return -1;
			break;
		case CH_SIZE_LF:
			if (c != '\n')
				return -1;
			ch->state = chunk_size_done(ch);
			break;
		case CH_DATA_END:
			if (c == '\r')
				ch->state = CH_DATA_LF;
			else if (c == '\n')
				ch->state = CH_SIZE;
			else
				return -1;
			break;
		case CH_DATA_LF:
			if (c != '\n')
				return -1;
			ch->state = CH_SIZE;
			break;
		case CH_TRAILER:
			if (c == '\r')
				ch->state = CH_END_LF;
			else if (c == '\n')
				ch->state = CH_DONE;
			else if (!is_tchar(c))
				return -1;
			else
				ch->state = CH_TRAILER_LINE;
			break;
		case CH_TRAILER_LINE:
			if (c == '\r')
				ch->state = CH_TRAILER_LF;
			else if (c == '\n')
				ch->state = CH_TRAILER;
			else if (!is_value_char(c))
				return -1;
			break;
		case CH_TRAILER_LF:
			if (c != '\n')
				return -1;
			ch->state = CH_TRAILER;
			break;
		case CH_END_LF:
			if (c != '\n')
				return -1;
			ch->state = CH_DONE;
			break;
		default:
			return -1;	/* called again after the end */
		}
		if (ch->state == CH_DONE)
			break;
	}
	if (ch->state != CH_DONE) {
		*len = dst;
		return -2;
	}
	/* what follows the body moves down to sit right after the data */
	memmove(buf + dst, buf + src, end - src);
	*len = dst;
	return (ssize_t)(end - src);
}
