/*
 * turns: a translated Chat Completions conversation made acceptable to
 * strict upstreams (alternating roles, every tool call answered).
 */
#ifndef CP_TURNS_H
#define CP_TURNS_H

#include <json-c/json.h>

/*
 * msgs: the OpenAI messages that follow the system message. Returns a new
 * array (the caller puts it; unchanged messages are shared, never
 * modified) in which adjacent user messages and adjacent assistant
 * messages are merged, and every assistant tool call without a tool
 * message after it gets a placeholder one. NULL when memory runs out.
 * request_id is for the log line a placeholder gets.
 */
json_object	*turns_repair(json_object *msgs, const char *request_id);

/* the placeholder's text */
#define TURNS_MISSING_RESULT \
	"Error: the result of this tool call is missing."

#endif
