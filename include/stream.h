/*
 * stream: the state machine that turns OpenAI chat.completion.chunk payloads
 * into Anthropic streaming events (message_start, content blocks, deltas,
 * message_delta, message_stop, ping, error), emitted once per upstream
 * read, never held longer.
 */
#ifndef CP_STREAM_H
#define CP_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "jsonscan.h"

/* write these bytes (whole events, possibly none when last) to the client
 * in one write; last: the stream ends with them; -1 = client gone */
typedef int (*stream_emit_fn)(void *arg, const char *, size_t, int last);

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
	stream_emit_fn	 emit;
	void		*emit_arg;
	char		 msg_id[40];
	char		 request_id[64];/* optional, set by the caller: used
					 * by errors that stream_finish emits */
	char		 model[128];	/* what the client asked for */
	int64_t		 input_tokens;	/* local estimate for message_start */
	int		 wait_for_usage;/* include_usage on: usage chunk follows */

	int		 started;	/* message_start sent */
	int		 open_kind;	/* 0 none, 1 text, 2 thinking, 3 tool */
	int		 open_block;
	int		 next_block;
	size_t		 ntools;	/* in use in tools[], at the end */
	int		 open_tool;	/* index into tools[] or -1 */
	char		*finish_reason;	/* first one seen */
	char		*stop_sequence;	/* vLLM: choices[0].stop_reason string */
	int		 done;		/* [DONE] seen */
	int		 finished;	/* message_stop or error sent */
	int64_t		 usage_in, usage_out, usage_cached;
	int		 have_usage;

	/* for the summary log line */
	size_t		 chunks;
	size_t		 text_chars;
	size_t		 ntool_calls;
	struct buf	 preview;
	size_t		 preview_max;

	struct buf	 out;		/* events not yet emitted */
	size_t		 out_whole;	/* ... of which whole events */
	/* text and thinking of the open block, masked of configured
	 * secrets: held = a tail that may begin one, masked = scratch */
	struct buf	 held;
	struct buf	 masked;
	struct jsonscan	 js;		/* reused for every chunk */
	size_t		 out_chars;	/* text, thinking, arguments emitted */

	/* stream_feed returned -1: which of the two reasons */
	int		 client_gone;	/* emit failed: stop, write nothing */
	char		 error_type[32];/* else: for stream_error() */
	char		 error[256];

	/* last: stream_init does not clear it (tool_new clears each entry
	 * it takes) */
	struct stream_tool tools[STREAM_MAX_TOOLS];
};

void	 stream_init(struct stream *, const char *msg_id, const char *model,
	    int64_t input_tokens, int wait_for_usage, size_t preview_max,
	    stream_emit_fn, void *);
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
