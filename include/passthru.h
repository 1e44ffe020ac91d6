/*
 * passthru: api "anthropic", an upstream that speaks the Messages API
 * itself. The request goes up as the client wrote it but for the model's
 * name, its max_tokens cap and Claude Code's attribution line; answers,
 * streamed or not, come back as the upstream wrote them, configured
 * secrets masked, while their usage and stop reason are read for the
 * logs, the metrics and the key limits.
 */
#ifndef CP_PASSTHRU_H
#define CP_PASSTHRU_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "aevent.h"
#include "buf.h"
#include "conf.h"
#include "jsonscan.h"
#include "models.h"
#include "sse.h"
#include "xlate.h"

/* the anthropic-version sent when the client gave none */
#define PASSTHRU_VERSION	"2023-06-01"

struct passthru_stream {
	struct aevent	*ev;		/* the client's stream (borrowed) */
	char		 request_id[64];
	const char	*provider;	/* its name, for errors (borrowed) */

	/* the bytes of the event not yet complete, and how far they have
	 * been searched for its end (a blank line) */
	struct buf	 pending;
	size_t		 scanned;
	int		 line_start;	/* the search is at a line's start */
	int		 after_cr;	/* ... just after a CR */

	struct sse_decoder dec;		/* reads each whole event */
	struct jsonscan	 js;
	int		 replaced;	/* the event read was written otherwise
					 * (an error) */
	/* the event read, when it is a delta: its text (decoded, in js),
	 * block index and type (a literal) */
	const char	*delta;
	size_t		 delta_len;
	int64_t		 delta_index;
	const char	*delta_type;

	/* deltas of one block whose text ends where a configured secret may
	 * begin wait for the next, as they came and their text: a secret
	 * may span them */
	struct buf	 held_raw;
	struct buf	 held_text;
	int64_t		 held_index;
	const char	*held_type;

	int		 stopped;	/* message_stop passed */
	int		 failed;	/* an error event passed (or ours) */
	int		 finished;	/* the stream's end was written */
	char		 stop_reason[32];
	size_t		 events;
	size_t		 pings;		/* of them: the upstream's keep-alives */
	size_t		 tool_calls;

	/* passthru_stream_bytes returned -1, the client still there */
	char		 error_type[32];
	char		 error[256];
};

/* the upstream request: the client's body, model -> remote_id, max_tokens
 * capped, the attribution line left out where the provider says so;
 * stream as the relay needs it. NULL + err (400 naming the field, 500) */
json_object *passthru_req(json_object *req, const struct model_route *,
	    int stream, const char *request_id, struct xlate_err *);
/* the same for /v1/messages/count_tokens: no max_tokens, stream or
 * sampling parameters, the provider's drop applied */
json_object *passthru_count_req(json_object *req,
	    const struct model_route *, struct xlate_err *);
/* a 2xx answer: the message itself (a new reference) when it is one, to
 * read its usage from; NULL + err (502) when it is not */
json_object *passthru_resp(json_object *up, const char *client_model,
	    json_object *req, const struct model_route *, struct xlate_err *);
/* the header lines the client's request gives the upstream, each
 * NUL-terminated, appended to out: anthropic-version (the client's, or
 * PASSTHRU_VERSION) and anthropic-beta (the client's, filtered by the
 * provider's betas); -1 when memory runs out */
int	 passthru_headers(const char *version, size_t vlen, const char *beta,
	    size_t blen, const struct conf_provider *, struct buf *out);

void	 passthru_stream_init(struct passthru_stream *, struct aevent *ev,
	    const char *provider, const char *request_id);
/* an upstream read: whole events go to the client as they are (pending
 * ones wait for their end), their usage and stop read; the number of
 * events read, or -1 (an event that is not JSON, too large, memory; the
 * error for passthru_stream_error) */
int	 passthru_stream_bytes(struct passthru_stream *, const char *,
	    size_t);
/* the upstream ended: the end goes out, or an error event when the
 * upstream stopped before message_stop */
int	 passthru_stream_finish(struct passthru_stream *);
int	 passthru_stream_error(struct passthru_stream *, const char *type,
	    const char *message, const char *request_id);
int	 passthru_stream_ping(struct passthru_stream *);
void	 passthru_stream_free(struct passthru_stream *);

#endif
