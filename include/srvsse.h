/*
 * srvsse: a whole Anthropic message (the server-tool loop's answer) as its
 * event stream. Until the loop streams (issue 11, phase 2b), a streaming
 * client with server tools gets the answer this way once it is complete,
 * with pings before it while the loop runs.
 */
#ifndef CP_SRVSSE_H
#define CP_SRVSSE_H

#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"

/* each appends whole events to out; -1 when memory runs out */
int	 srvsse_message_start(struct buf *out, const char *msg_id,
	    const char *model, int64_t input_tokens);
int	 srvsse_ping(struct buf *out);
/* every block of the message's content: start, deltas, stop */
int	 srvsse_content(struct buf *out, json_object *content);
/* message_delta (stop_reason, stop_sequence, usage) and message_stop */
int	 srvsse_message_end(struct buf *out, json_object *msg);
/* the error envelope as event: error, its message masked of secrets */
int	 srvsse_error(struct buf *out, const char *type, const char *message,
	    const char *request_id);

#endif
