/*
 * srvrun: one server-tool call the model made, run (a search through the
 * configured backend, a fetch through the fetcher) and answered with
 * Anthropic's result block; logged and counted.
 */
#ifndef CP_SRVRUN_H
#define CP_SRVRUN_H

#include <json-c/json.h>

#include "srvtool.h"
#include "webhttp.h"

enum srvrun_outcome {
	SRVRUN_OK,		/* a result block with results */
	SRVRUN_FAILED,		/* a result block with an error code */
	SRVRUN_ABORTED,		/* the wait said stop: no block */
	SRVRUN_NOMEM		/* no block */
};

struct srvrun_call {
	enum srvtool_kind	 kind;
	const char		*id;		/* the server_tool_use's id */
	json_object		*input;		/* {"query"} or {"url"} */
	const struct srvtool_def *def;		/* the tool's options */
	int			 over_limit;	/* past max_uses: not run */
	json_object		*messages;	/* the conversation so far (for
						 * web_fetch's prior-context rule) */
	const struct webhttp_wait *wait;
	const char		*request_id;	/* for the log line */
};

/* *result: web_search_tool_result or web_fetch_tool_result (new) */
enum srvrun_outcome srvrun(const struct srvrun_call *, json_object **result);
/* the result block of kind with an error code (new; NULL = no memory) */
json_object *srvrun_error_block(enum srvtool_kind, const char *id,
	    const char *code);

#endif
