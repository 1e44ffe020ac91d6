/*
 * stream: the state machine that turns OpenAI chat.completion.chunk payloads
 * into Anthropic streaming events (message_start, content blocks, deltas,
 * message_delta, message_stop, ping, error), written through aevent.h and
 * emitted once per upstream read, never held longer.
 */
#ifndef CP_STREAM_H
#define CP_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "aevent.h"
#include "buf.h"
#include "jsonscan.h"

#define STREAM_MAX_TOOLS	128

struct stream_tool {
	int	 oa_index;		/* OpenAI tool_calls[].index */
	int	 block;			/* our content block index, -1 = not started */
	char	 id[96];
	char	 name[128];
	struct buf pending;		/* arguments before id/name were known */
	int	 id_given;		/* id came from the upstream */
	int	 json_depth;		/* scan of the arguments so far: */
	int	 json_state;		/* see stream.c, TOOL_JSON_* */
};

struct stream {
	struct aevent	*ev;		/* the message written (borrowed) */
	char		 msg_id[40];
	char		 request_id[64];/* optional, set by the caller: used
					 * by errors that stream_finish emits */
	char		 model[128];	/* what the client asked for */
	int64_t		 input_tokens;	/* local estimate for message_start */
	int		 wait_for_usage;/* include_usage on: usage chunk follows */

	int		 open_kind;	/* 0 none, 1 text, 2 thinking, 3 tool */
	size_t		 ntools;	/* in use in tools[], at the end */
	int		 open_tool;	/* index into tools[] or -1 */
	char		*finish_reason;	/* first one seen */
	char		*stop_sequence;	/* vLLM: choices[0].stop_reason string */
	int		 done;		/* [DONE] seen */
	int		 finished;	/* message_stop or error sent */
	int64_t		 usage_in, usage_out, usage_cached;
	int		 have_usage;

	/* for the summary log line (text: ev's counters) */
	size_t		 chunks;
	size_t		 ntool_calls;

	struct jsonscan	 js;		/* reused for every chunk */

	/* stream_feed returned -1 and the client is still there
	 * (ev->client_gone): the error for stream_error() */
	char		 error_type[32];
	char		 error[256];

	/* last: stream_init does not clear it (tool_new clears each entry
	 * it takes) */
	struct stream_tool tools[STREAM_MAX_TOOLS];
};

/* the events go to ev, which the caller set up and frees (one aevent may
 * carry several rounds: aevent_rounds) */
void	 stream_init(struct stream *, struct aevent *ev, const char *msg_id,
	    const char *model, int64_t input_tokens, int wait_for_usage);
/* one SSE data payload from the upstream ("[DONE]" included); its events
 * wait for stream_flush; -1: client gone (stop) or payload not understood
 * (see stream->error) */
int	 stream_feed(struct stream *, const char *data, size_t len);
/* emit what the payloads fed since the last flush produced, in one call:
 * at the end of each upstream read; -1: client gone */
int	 stream_flush(struct stream *);
/* may we end now? (finish_reason seen and, if waited for, usage) */
int	 stream_complete(const struct stream *);
/* upstream ended: close blocks, message_delta, message_stop; if the upstream
 * ended without a finish_reason, emits an error event instead; emitted with
 * what is still collected, as the last bytes; -1 on write */
int	 stream_finish(struct stream *);
/* event: error with the envelope and nothing else: an open block stays
 * open, as in the streams of Anthropic's API; emitted as the last bytes */
int	 stream_error(struct stream *, const char *type, const char *message,
	    const char *request_id);
/* a ping (after message_start if not yet sent), emitted at once */
int	 stream_ping(struct stream *);
void	 stream_free(struct stream *);

#endif
