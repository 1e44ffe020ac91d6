/*
 * resp_stream: the state machine that turns the streaming events of the
 * OpenAI Responses API into Anthropic streaming events, written through
 * aevent.h once per upstream read.
 */
#ifndef CP_RESP_STREAM_H
#define CP_RESP_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "aevent.h"
#include "buf.h"
#include "jsonscan.h"
#include "models.h"
#include "resp.h"

#define RESP_STREAM_MAX_ITEMS	128

struct resp_stream_item {
	int64_t		 out_index;	/* output_index, -1 unknown */
	char		 item_id[128];	/* the upstream's item id, "" unknown */
	int		 kind;		/* RS_* in resp_stream.c */
	int		 block;		/* our content block, -1 none yet */
	int		 done;		/* output_item.done seen */
	int		 closed;	/* its block stopped, or it had none */
	int		 has_text;	/* text or thinking arrived */
	int64_t		 part;		/* summary or content part of it */
	size_t		 args;		/* argument bytes that arrived */
	char		 id[96];	/* tool_use id */
	char		 name[128];	/* tool name */
	struct buf	 pending;	/* what waits for its block to open */
	struct buf	 sig;		/* thinking: its signature, once done */
};

struct resp_stream {
	struct aevent	*ev;		/* the message written (borrowed) */
	char		 msg_id[40];
	char		 request_id[64];/* optional, set by the caller: used
					 * by errors that resp_stream_finish
					 * emits */
	char		 model[128];	/* what the client asked for */
	const char	*provider;	/* for error messages (borrowed) */
	char		 key[RESP_SIG_KEY_SIZE];
	int		 have_key;
	int64_t		 input_tokens;	/* local estimate for message_start */

	int		 open;		/* items[] index of the open block,
					 * -1 none */
	size_t		 nitems;
	int		 terminal;	/* response.completed or .incomplete
					 * seen */
	const char	*stop_reason;	/* decided there */
	int		 refusal;	/* a refusal part was seen */
	int		 finished;	/* message_stop or error written */
	int64_t		 usage_in, usage_out, usage_cached, usage_written;
	int		 have_usage;

	/* for the summary log line (text: ev's counters) */
	size_t		 events;
	size_t		 ntool_calls;

	struct jsonscan	 js;		/* reused for every event */

	/* resp_stream_feed returned -1 and the client is still there: the
	 * error for resp_stream_error() */
	char		 error_type[32];
	char		 error[512];

	/* last: resp_stream_init does not clear it (each entry is cleared
	 * when taken) */
	struct resp_stream_item items[RESP_STREAM_MAX_ITEMS];
};

/* the events go to ev, which the caller set up and frees (one aevent may
 * carry several rounds: aevent_rounds); route (may be NULL: no reasoning
 * kept) names the provider for errors and keys the thinking signatures */
void	 resp_stream_init(struct resp_stream *, struct aevent *ev,
	    const char *msg_id, const char *model, int64_t input_tokens,
	    const struct model_route *route);
/* one SSE event from the upstream: its event name (may be empty; the
 * data's "type" decides) and data; its Anthropic events wait for
 * resp_stream_flush. -1: client gone (ev->client_gone) or the upstream
 * failed or sent what is not understood (error_type and error set) */
int	 resp_stream_feed(struct resp_stream *, const char *event,
	    size_t event_len, const char *data, size_t len);
/* emit what the events fed since the last flush produced, in one call:
 * at the end of each upstream read; -1: client gone */
int	 resp_stream_flush(struct resp_stream *);
/* has the response ended (response.completed or .incomplete)? */
int	 resp_stream_complete(const struct resp_stream *);
/* upstream ended: close what is open, message_delta, message_stop; an
 * upstream that ended before its response did gets an error event instead;
 * emitted with what is still collected, as the last bytes; -1 on write */
int	 resp_stream_finish(struct resp_stream *);
/* event: error with the envelope and nothing else (an open block stays
 * open, as in Anthropic's streams); emitted as the last bytes */
int	 resp_stream_error(struct resp_stream *, const char *type,
	    const char *message, const char *request_id);
/* a ping (after message_start if not yet written), emitted at once */
int	 resp_stream_ping(struct resp_stream *);
void	 resp_stream_free(struct resp_stream *);

#endif
