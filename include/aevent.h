/*
 * aevent: the Anthropic message a client reads as a stream: its events
 * (message_start, content blocks and their deltas, message_delta,
 * message_stop, ping, error) framed, collected whole in one buffer and
 * handed to the client's writer in one call per upstream read. It keeps
 * the message's order (one message_start, blocks indexed 0, 1, 2 ... one
 * open at a time) and masks configured secrets in what a block's text
 * says. A message may span several upstream rounds (the server-tool
 * loop): one aevent for the message, one state machine per round.
 */
#ifndef CP_AEVENT_H
#define CP_AEVENT_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"

/* write these bytes (whole events, possibly none when last) to the client
 * in one write; last: the stream ends with them; -1 = client gone */
typedef int (*aevent_emit_fn)(void *arg, const char *, size_t, int last);

/* the text of a text block, masked, as it comes (final: the block
 * stops); it writes it back with aevent_text_out and aevent_cited */
typedef int (*aevent_text_fn)(void *arg, const char *, size_t, int final);

struct aevent_usage {
	int64_t	 input;			/* uncached input tokens */
	int64_t	 output;
	int64_t	 cache_read;
	int64_t	 cache_creation;
};

struct aevent {
	aevent_emit_fn	 emit;
	void		*emit_arg;
	struct buf	 out;		/* events not yet emitted */
	size_t		 whole;		/* ... of which whole events */
	int		 client_gone;	/* emit failed: nothing more */

	/* the message */
	int		 started;	/* message_start written */
	int		 failed;	/* an error event was begun */
	int		 next_block;	/* the index the next block gets */
	int		 open;		/* the open block's index, -1 none */
	int		 open_kind;	/* its kind, AE_* in aevent.c */

	/* the open text or thinking block's text, masked of configured
	 * secrets: held = a tail that may begin one, masked = scratch */
	struct buf	 held;
	struct buf	 masked;

	/* what was written, for the log line and the output estimate */
	size_t		 text_chars;	/* characters of text, whole message */
	struct buf	 preview;	/* its beginning (preview_max chars) */
	size_t		 preview_max;
	size_t		 round_bytes;	/* text, thinking and counted input
					 * JSON of this round (see
					 * aevent_message_end) */

	/* the usage every message end so far reported (one, or each round's
	 * of several: aevent_rounds), for the caller's accounting too */
	int		 rounds;
	int		 ends;		/* aevent_message_end calls */
	struct aevent_usage sum;
	int64_t		 input_estimate;	/* message_start's */
	char		 stop_reason[32];	/* the last round's */
	char		*stop_sequence;		/* ... NULL none */
	int		 web_search_requests;	/* set by the loop: usage's */
	int		 web_fetch_requests;	/* server_tool_use */

	/* the server-tool loop: the blocks as written (aevent_record) and
	 * the text of text blocks through a filter (aevent_text_filter) */
	json_object	*record;	/* borrowed array, NULL = off */
	json_object	*rec_block;	/* the open block's record */
	struct buf	 rec;		/* ... its text or input so far */
	aevent_text_fn	 filter;
	void		*filter_arg;
	int		 lazy;		/* a text block open for the machine,
					 * none started on the wire */
};

/* preview_max: characters of text kept for the log line (0 none) */
void	 aevent_init(struct aevent *, size_t preview_max, aevent_emit_fn,
	    void *);
void	 aevent_free(struct aevent *);

/*
 * Each call appends whole events or nothing: -1 when memory runs out, and
 * the part of an event built so far is never written. A call that breaks
 * the message's order (a block opened while one is open, a delta with
 * none open) is a bug: fatalx.
 */

/* once per message (later calls write nothing and return 0); usage is
 * the estimate: input_tokens, output 1, no cache */
int	 aevent_message_start(struct aevent *, const char *msg_id,
	    const char *model, int64_t input_tokens);

/* a block of type "text", "thinking" or "tool_use" (id and name for the
 * last, input {}): its index, the next in order, or -1 */
int	 aevent_block_start(struct aevent *, const char *type,
	    const char *id, const char *name);
/* text for the open text or thinking block (text_delta, thinking_delta),
 * every configured secret masked: a tail that may begin one waits for the
 * next piece or the block's stop; counted */
int	 aevent_text(struct aevent *, const char *, size_t);
/* input_json_delta for the open tool_use block, every configured secret
 * masked in the form the JSON text holds it, held as aevent_text's;
 * counted in round_bytes */
int	 aevent_json(struct aevent *, const char *, size_t);
/* any delta of the open block, {"type":type, field:"p"}, as it is and
 * not counted */
int	 aevent_delta(struct aevent *, const char *type, const char *field,
	    const char *p, size_t len);
/* the text still held goes out, then a thinking block's signature_delta
 * (sig: required for thinking, ignored otherwise), then
 * content_block_stop */
int	 aevent_block_stop(struct aevent *, const char *sig, size_t siglen);

/*
 * A whole block from its JSON object, for the blocks of server tools:
 * "server_tool_use" starts with input {} and gets its input as one
 * input_json_delta; any other type ("web_search_tool_result",
 * "web_fetch_tool_result") is sent whole in content_block_start. Then
 * content_block_stop. Configured secrets are masked. Its index, or -1
 * (memory, or a block without a type or a server_tool_use without id,
 * name or an object input).
 */
int	 aevent_block_whole(struct aevent *, json_object *block);

/*
 * message_delta (stop_sequence NULL is null) and message_stop. output
 * < 0: the estimate from round_bytes. Between aevent_rounds(a, 1) and
 * aevent_turn_end() it writes nothing: the round's usage is added to sum,
 * its stop reason and sequence kept, round_bytes starts again.
 */
int	 aevent_message_end(struct aevent *, const char *stop_reason,
	    const char *stop_sequence, int64_t input_tokens,
	    int64_t output_tokens, int64_t cache_read, int64_t cache_creation);

/*
 * The server-tool loop. aevent_rounds(a, 1) before the first round: from
 * then on each round's state machine (a new one per round, all on this
 * aevent) continues the message (no second message_start, indexes go
 * on), its end (aevent_message_end) is folded into sum, and its final
 * emit is not the stream's last. aevent_turn_end() closes the turn:
 * message_delta with the summed usage (and server_tool_use when the loop
 * counted requests) and stop_reason (NULL: the last round's), then
 * message_stop; the caller then emits with last set. An error event
 * still ends the stream at once.
 */
void	 aevent_rounds(struct aevent *, int on);
int	 aevent_turn_end(struct aevent *, const char *stop_reason);

/*
 * The server-tool loop. aevent_record(a, content): each block written from
 * then on is appended to content as a JSON block when it stops (text and
 * thinking as masked, a tool_use's input parsed, {} when it is not JSON;
 * whole blocks as given), so the loop can send the answer so far upstream.
 * aevent_text_filter(a, fn, arg): the text of every text block goes to fn
 * instead of out; a text block then starts on the wire only when
 * aevent_text_out first writes to it, and aevent_cited writes a whole
 * text block with its citations (citations_delta each, the text as one
 * text_delta) after stopping the one started, as Anthropic streams cited
 * text; the text block the machine has open goes on after it.
 */
void	 aevent_record(struct aevent *, json_object *content);
void	 aevent_text_filter(struct aevent *, aevent_text_fn, void *arg);
int	 aevent_text_out(struct aevent *, const char *, size_t);
int	 aevent_cited(struct aevent *, json_object *citations, const char *,
	    size_t);

/* {"type":"error","error":{"type","message"},"request_id"}, the message
 * masked of secrets. An open block stays open (as Anthropic's API ends a
 * failed stream); a held tail shorter than half the shortest secret goes
 * first, as it tells nothing, a longer one is dropped. */
int	 aevent_error(struct aevent *, const char *type, const char *message,
	    const char *request_id);
/* a stream's end by failure: aevent_error, then everything written out
 * with the final flush (what was whole, even when the error could not be
 * written); -1 when either fails */
int	 aevent_fail(struct aevent *, const char *type, const char *message,
	    const char *request_id);
int	 aevent_ping(struct aevent *);

/*
 * Pass-through: p[0..len) is one or more whole events as an upstream
 * that speaks Anthropic's API wrote them, appended as they are but for
 * every configured secret, masked (exact forms only, as answer text);
 * -1 when memory runs out. The message's order is the upstream's: the
 * caller keeps started, ends, sum and stop_reason up to date from the
 * events it read, for the accounting.
 */
int	 aevent_relay(struct aevent *, const char *p, size_t len);
/* ... and the text, thinking or tool input such events carried, for the
 * log line and an output estimate (text: text_chars and the preview) */
void	 aevent_relayed(struct aevent *, const char *p, size_t len, int text);

/* hand the whole events collected to emit() in one call (none and not
 * last: no call); -1 once the client is gone */
int	 aevent_emit(struct aevent *, int last);

#endif
