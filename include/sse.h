/*
 * sse: incremental Server-Sent Events decoder for upstream bytes (an event
 * may be split anywhere, many may arrive at once; LF, CRLF, CR; comments;
 * multi-line data) and the framing of the Anthropic events we write.
 */
#ifndef CP_SSE_H
#define CP_SSE_H

#include <stddef.h>

#include "buf.h"

#define SSE_MAX_EVENT_BYTES	(8 * 1024 * 1024)

/* one dispatched event; data lines joined with '\n'. Return -1 to stop. */
typedef int (*sse_event_fn)(void *arg, const char *event, size_t event_len,
	    const char *data, size_t data_len);

struct sse_decoder {
	struct buf	 line;		/* partial line */
	struct buf	 event;		/* event: field */
	struct buf	 data;		/* data: fields */
	int		 have_data;
	int		 last_cr;	/* previous chunk ended in CR */
	size_t		 comments;	/* ": keep-alive" lines seen */
};

void	 sse_decoder_init(struct sse_decoder *);
/* -1 if the callback stopped it or an event exceeds SSE_MAX_EVENT_BYTES */
int	 sse_decoder_feed(struct sse_decoder *, const char *, size_t,
	    sse_event_fn, void *);
/* end of input: dispatch a pending event that lacked its blank line */
int	 sse_decoder_finish(struct sse_decoder *, sse_event_fn, void *);
void	 sse_decoder_free(struct sse_decoder *);

/* an event is "event: NAME\ndata: " + one line of JSON + "\n\n": begin
 * appends what comes before the JSON, end what comes after it */
int	 sse_event_begin(struct buf *, const char *name);
int	 sse_event_end(struct buf *);

#endif
