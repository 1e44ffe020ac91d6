/*
 * sse.c: incremental Server-Sent Events decoder and the event framing.
 *
 * The decoder follows the WHATWG "interpret an event stream" rules. Bytes
 * arrive in arbitrary pieces (a libcurl write callback), so a line, a line
 * end or an event may be split anywhere: a line ends in LF, CRLF or CR, and
 * a CR that ends one piece followed by an LF that starts the next is one
 * line end. "field: value" loses one leading space of its value; "data"
 * values are joined with '\n'; "event" names the event; lines starting with
 * ':' are comments (counted, since upstreams use them as keep-alives);
 * other fields are ignored. An empty line dispatches the event if any data
 * line was seen, then forgets the event name and data.
 *
 * Promises: the same bytes give the same events however they are split.
 * Complete lines inside one piece are parsed in place; only a partial line
 * is copied. Failure: -1 when the callback returns -1, when an event (its
 * pending line, event name and data) would exceed SSE_MAX_EVENT_BYTES, or
 * when memory runs out. After -1 the decoder must not be fed again.
 *
 * The framing of the events we write is here too, and only here:
 * sse_event_begin, the data (one line of JSON, built in place by the
 * caller), sse_event_end.
 */
#include <string.h>

#include "buf.h"
#include "sse.h"

void
sse_decoder_init(struct sse_decoder *d)
{
	memset(d, 0, sizeof(*d));
}

void
sse_decoder_free(struct sse_decoder *d)
{
	buf_free(&d->line);
	buf_free(&d->event);
	buf_free(&d->data);
	memset(d, 0, sizeof(*d));
}

/* bytes held for the event being assembled */
static size_t
sse_held(const struct sse_decoder *d)
{
	return d->event.len + d->data.len;
}

static size_t
sse_pending(const struct sse_decoder *d)
{
	return d->line.len + sse_held(d);
}

static void
sse_forget(struct sse_decoder *d)
{
	buf_reset(&d->event);
	buf_reset(&d->data);
	d->have_data = 0;
}

static int
sse_dispatch(struct sse_decoder *d, sse_event_fn fn, void *arg)
{
	int	 rv;

	if (!d->have_data) {
		sse_forget(d);
		return 0;
	}
	rv = fn(arg, d->event.data ? d->event.data : "", d->event.len,
	    d->data.data ? d->data.data : "", d->data.len);
	sse_forget(d);
	return rv == -1 ? -1 : 0;
}

/* where the line starting at i ends: its first CR or LF, or len; memchr
 * rather than a loop over the bytes, as whole streams pass through here */
static size_t
line_end(const char *p, size_t i, size_t len)
{
	const char	*lf, *cr;
	size_t		 end;

	lf = memchr(p + i, '\n', len - i);
	end = lf != NULL ? (size_t)(lf - p) : len;
	cr = memchr(p + i, '\r', end - i);
	return cr != NULL ? (size_t)(cr - p) : end;
}

/* one complete line, without its line end */
static int
sse_line(struct sse_decoder *d, const char *p, size_t len, sse_event_fn fn,
    void *arg)
{
	const char	*colon, *val;
	size_t		 flen, vlen;

	if (len == 0)
		return sse_dispatch(d, fn, arg);
	if (p[0] == ':') {
		d->comments++;
		return 0;
	}
	if ((colon = memchr(p, ':', len)) != NULL) {
		flen = colon - p;
		val = colon + 1;
		vlen = len - flen - 1;
		if (vlen > 0 && val[0] == ' ') {
			val++;
			vlen--;
		}
	} else {
		flen = len;
		val = p + len;
		vlen = 0;
	}

	if (flen == 4 && memcmp(p, "data", 4) == 0) {
		if (vlen + 1 > SSE_MAX_EVENT_BYTES - sse_held(d))
			return -1;
		if (d->have_data && buf_putc(&d->data, '\n') == -1)
			return -1;
		if (buf_append(&d->data, val, vlen) == -1)
			return -1;
		d->have_data = 1;
	} else if (flen == 5 && memcmp(p, "event", 5) == 0) {
		buf_reset(&d->event);
		if (vlen > SSE_MAX_EVENT_BYTES - sse_held(d))
			return -1;
		if (buf_append(&d->event, val, vlen) == -1)
			return -1;
	}
	/* id, retry and unknown fields mean nothing to us */
	return 0;
}

int
sse_decoder_feed(struct sse_decoder *d, const char *p, size_t len,
    sse_event_fn fn, void *arg)
{
	size_t	 i = 0, j;
	int	 rv;

	while (i < len) {
		if (d->last_cr) {
			d->last_cr = 0;
			if (p[i] == '\n') {
				i++;
				continue;
			}
		}
		j = line_end(p, i, len);
		if (j == len) {
			if (len - i > SSE_MAX_EVENT_BYTES - sse_pending(d))
				return -1;
			return buf_append(&d->line, p + i, len - i);
		}
		if (p[j] == '\r')
			d->last_cr = 1;
		if (d->line.len > 0) {
			if (j - i > SSE_MAX_EVENT_BYTES - sse_pending(d))
				return -1;
			if (buf_append(&d->line, p + i, j - i) == -1)
				return -1;
			rv = sse_line(d, d->line.data, d->line.len, fn, arg);
			buf_reset(&d->line);
		} else
			rv = sse_line(d, p + i, j - i, fn, arg);
		if (rv == -1)
			return -1;
		i = j + 1;
	}
	return 0;
}

int
sse_decoder_finish(struct sse_decoder *d, sse_event_fn fn, void *arg)
{
	int	 rv = 0;

	if (d->line.len > 0) {
		rv = sse_line(d, d->line.data, d->line.len, fn, arg);
		buf_reset(&d->line);
	}
	if (rv == 0)
		rv = sse_dispatch(d, fn, arg);
	sse_forget(d);
	d->last_cr = 0;
	return rv;
}

int
sse_event_begin(struct buf *b, const char *name)
{
	size_t	 nlen = strlen(name);

	if (buf_reserve(b, nlen + 14) == -1)
		return -1;
	buf_append(b, "event: ", 7);
	buf_append(b, name, nlen);
	return buf_append(b, "\ndata: ", 7);
}

int
sse_event_end(struct buf *b)
{
	return buf_append(b, "\n\n", 2);
}
