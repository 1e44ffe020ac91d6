/*
 * aevent: the Anthropic stream events the proxy writes (message_start,
 * content blocks and their deltas, message_delta, message_stop, ping,
 * error), framed, collected whole in one buffer and handed to the client's
 * writer in one call per upstream read.
 */
#ifndef CP_AEVENT_H
#define CP_AEVENT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* write these bytes (whole events, possibly none when last) to the client
 * in one write; last: the stream ends with them; -1 = client gone */
typedef int (*aevent_emit_fn)(void *arg, const char *, size_t, int last);

struct aevent {
	aevent_emit_fn	 emit;
	void		*emit_arg;
	struct buf	 out;		/* events not yet emitted */
	size_t		 whole;		/* ... of which whole events */
	int		 client_gone;	/* emit failed: nothing more */
};

void	 aevent_init(struct aevent *, aevent_emit_fn, void *);
void	 aevent_free(struct aevent *);

/*
 * Each appends one event, or nothing: -1 when memory runs out, and the
 * part of the event built so far is never written. Usage in message_start
 * is the estimate (input_tokens, output 1, no cache); block types are
 * "text", "thinking" and "tool_use" (id and name for the last).
 */
int	 aevent_message_start(struct aevent *, const char *msg_id,
	    const char *model, int64_t input_tokens);
int	 aevent_block_start(struct aevent *, int index, const char *type,
	    const char *id, const char *name);
/* {"type":type, field:"p"}: text_delta/text, thinking_delta/thinking,
 * signature_delta/signature, input_json_delta/partial_json */
int	 aevent_delta(struct aevent *, int index, const char *type,
	    const char *field, const char *p, size_t len);
int	 aevent_block_stop(struct aevent *, int index);
/* message_delta (stop_sequence NULL is null) and message_stop */
int	 aevent_message_end(struct aevent *, const char *stop_reason,
	    const char *stop_sequence, int64_t input_tokens,
	    int64_t output_tokens, int64_t cache_read, int64_t cache_creation);
/* {"type":"error","error":{"type","message"},"request_id"}, the message
 * masked of secrets */
int	 aevent_error(struct aevent *, const char *type, const char *message,
	    const char *request_id);
int	 aevent_ping(struct aevent *);

/* hand the whole events collected to emit() in one call (none and not
 * last: no call); -1 once the client is gone */
int	 aevent_emit(struct aevent *, int last);

#endif
