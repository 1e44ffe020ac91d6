/*
 * upkind: the upstream kinds (a provider's "api") and each one's
 * translator pair behind one table of function pointers: the request it
 * is sent, its plain answer, its stream machine. Fallback, retries,
 * metrics and the logs (messages.c) drive any kind through it alike.
 */
#ifndef CP_UPKIND_H
#define CP_UPKIND_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "aevent.h"
#include "conf.h"
#include "models.h"
#include "resp_stream.h"
#include "stream.h"
#include "xlate.h"

/* the stream machine of any kind: large, the relay keeps one */
union upkind_stream {
	struct stream		 chat;		/* "openai": stream.c */
	struct resp_stream	 resp;		/* "responses" */
};

/* what a stream machine tells the relay for its log lines */
struct upkind_report {
	const char	*finish;	/* the upstream's finish, NULL none */
	int		 settled;	/* the upstream said the answer ended */
	size_t		 events;	/* chunks or events read */
	size_t		 tool_calls;
	const char	*error_type;	/* a failed feed's error, "" none */
	const char	*error;
};

struct upkind {
	const char	*name;		/* as providers[].api says it */
	/* why a stream that ended unsettled failed, for the log */
	const char	*unsettled;

	/* the client's request -> the upstream's, or NULL + err */
	json_object	*(*req)(json_object *req, const struct model_route *,
			    int stream, const char *request_id,
			    struct xlate_err *);
	/* a 2xx answer -> the Anthropic message, or NULL + err */
	json_object	*(*resp)(json_object *up, const char *client_model,
			    json_object *req, const struct model_route *,
			    struct xlate_err *);

	/* the stream machine: its events go to ev (aevent_emit flushes
	 * them); feed -1 = client gone (ev->client_gone) or an upstream
	 * error (report's error) */
	void		 (*stream_init)(union upkind_stream *, struct aevent *ev,
			    const char *msg_id, const char *model,
			    int64_t input_tokens, const struct model_route *,
			    const char *request_id);
	int		 (*stream_feed)(union upkind_stream *, const char *event,
			    size_t event_len, const char *data, size_t len);
	int		 (*stream_finish)(union upkind_stream *);
	int		 (*stream_error)(union upkind_stream *, const char *type,
			    const char *message, const char *request_id);
	int		 (*stream_ping)(union upkind_stream *);
	void		 (*stream_report)(const union upkind_stream *,
			    struct upkind_report *);
	void		 (*stream_free)(union upkind_stream *);
};

/* the kind a provider speaks */
const struct upkind *upkind_of(const struct conf_provider *);

/*
 * The upstream request for route's provider: its kind's translation, and
 * the tools' schemas rewritten into the provider's dialect (schema). NULL
 * + err as the kind's req.
 */
json_object *upkind_request(json_object *req, const struct model_route *,
	    int stream, const char *request_id, struct xlate_err *);

#endif
