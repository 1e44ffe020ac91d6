/*
 * srvcite: the model's [n] markers in an answer's text turned into
 * Anthropic's citations (web_search_result_location) of the numbered
 * search results the conversation holds.
 */
#ifndef CP_SRVCITE_H
#define CP_SRVCITE_H

#include <stddef.h>

#include <json-c/json.h>

#include "aevent.h"
#include "buf.h"
#include "srvhist.h"

/*
 * Appends text as text blocks to out: one block when it cites nothing,
 * else the text split at the markers, each cited stretch (from the start
 * of its sentence to the marker) a block with "citations", the markers
 * gone. A marker is [n] (or [n][m], [n, m]) with every n a result's
 * number, outside code, not an index (a[1]) nor a link ([1](...)); any
 * other bracket stays text. -1 when memory runs out.
 */
int	 srvcite_split(const char *text, size_t len, const struct srvhist *,
	    json_object *out);

/* the split of a text block as it streams (an aevent_text_fn): text goes
 * out through aevent_text_out as soon as no marker can cite it, cited
 * stretches through aevent_cited */
struct srvcite_stream {
	const struct srvhist	*h;	/* borrowed; NULL or no sources: the
					 * text passes as it is */
	struct aevent		*ev;
	struct buf		 text;	/* the block's text so far */
	size_t			 pos;	/* ... written up to */
	size_t			 scan;	/* ... scanned up to */
	int			 fence, code;
};

void	 srvcite_stream_init(struct srvcite_stream *, const struct srvhist *,
	    struct aevent *);
int	 srvcite_stream_text(void *cs, const char *, size_t, int final);
void	 srvcite_stream_free(struct srvcite_stream *);

#endif
