/*
 * tcrepair: tool calls that a model wrote as text, found and made tool
 * calls (providers[].tool_call_repair, for small local models):
 * <tool_call>{"name":..,"arguments":{..}}</tool_call> as Qwen's and
 * Hermes-style chat templates write them, or a fenced JSON block
 * (```json {"name":..,"arguments":..} ```) naming one of the request's
 * tools. One incremental scanner for plain answers (fed once) and streams
 * (fed piece by piece, the same result however the text is split).
 */
#ifndef CP_TCREPAIR_H
#define CP_TCREPAIR_H

#include <stddef.h>

#include <json-c/json.h>

#include "buf.h"

#define TCREPAIR_HOLD_MAX	(256 * 1024)	/* one call's text, at most */

/* where the scanner's output goes: text as it may be shown, and calls
 * (input: an object, borrowed for the call); -1 from either stops it */
struct tcrepair_sink {
	int	 (*text)(void *arg, const char *p, size_t len);
	int	 (*call)(void *arg, const char *name, json_object *input);
	void	*arg;
};

struct tcrepair {
	json_object	*tools;		/* the request's tools (borrowed) */
	int		 state;		/* see tcrepair.c */
	struct buf	 hold;		/* text not decided yet */
	struct buf	 fence;		/* an open call's opening (tag or
					 * fence line) and the blank text
					 * before it */
	size_t		 scanned;	/* bytes of hold searched for the end
					 * of a call */
	size_t		 blank;		/* hold's leading blank bytes seen
					 * (a fence's body), not rescanned */
	int		 line_start;	/* hold begins a line */
	int		 after_call;	/* blank text after a call is dropped */
	size_t		 calls;		/* made so far */
	char		 error[400];	/* why the scanner failed, "" when the
					 * sink did */
};

/* tools: the request's "tools" array (NULL or absent: no name is a tool,
 * so nothing becomes a call) */
void	 tcrepair_init(struct tcrepair *, json_object *tools);
/*
 * Text of the answer, in order. What cannot be a call any more goes to
 * the sink at once; what still may be one is held (a possible start of a
 * tag or a fence: a few bytes; an open call: until it closes, at most
 * TCREPAIR_HOLD_MAX, then it is text). -1: the sink failed (error ""),
 * memory ran out, or a <tool_call> naming a request tool has arguments
 * beyond repair (error says which and why).
 */
int	 tcrepair_feed(struct tcrepair *, const char *p, size_t len,
	    const struct tcrepair_sink *);
/* something else than text comes (thinking, a proper tool call): what is
 * held goes out as text */
int	 tcrepair_release(struct tcrepair *, const struct tcrepair_sink *);
/* the answer's text ended; truncated: cut off at max_tokens, so a call
 * left open is text, never an error */
int	 tcrepair_end(struct tcrepair *, int truncated,
	    const struct tcrepair_sink *);
void	 tcrepair_free(struct tcrepair *);

#endif
