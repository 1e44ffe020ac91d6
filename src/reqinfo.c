/*
 * reqinfo.c: what a Messages request needs, read for routes[].match:
 * thinking, images, server tools, tools at all, and the estimated input.
 *
 * It only reads, and never fails: a part of the wrong shape simply does
 * not count (xlate_req refuses it later, with a message). Images are
 * looked for in each message's content and inside tool results, where
 * Claude Code puts screenshots. Server tools are Anthropic's own, which a
 * client offers by a versioned type (web_search_20250305, web_fetch_…,
 * code_execution_…) rather than by a schema.
 */
#include <string.h>

#include "reqinfo.h"
#include "tokens.h"

static const char *const server_tool_types[] = {
	"web_search_", "web_fetch_", "code_execution_",
};

static const char *
block_type(json_object *b)
{
	json_object	*t;

	if (!json_object_object_get_ex(b, "type", &t) ||
	    !json_object_is_type(t, json_type_string))
		return "";
	return json_object_get_string(t);
}

/* an image among these blocks, or in the content of a tool result */
static int
has_image(json_object *content, int depth)
{
	json_object	*b, *inner;
	size_t		 i, n;

	if (!json_object_is_type(content, json_type_array) || depth > 1)
		return 0;
	n = json_object_array_length(content);
	for (i = 0; i < n; i++) {
		b = json_object_array_get_idx(content, i);
		if (strcmp(block_type(b), "image") == 0)
			return 1;
		if (strcmp(block_type(b), "tool_result") == 0 &&
		    json_object_object_get_ex(b, "content", &inner) &&
		    has_image(inner, depth + 1))
			return 1;
	}
	return 0;
}

static void
read_tools(json_object *tools, struct reqinfo *ri)
{
	const char	*t;
	size_t		 i, j, n;

	if (!json_object_is_type(tools, json_type_array))
		return;
	n = json_object_array_length(tools);
	ri->tools = n > 0;
	for (i = 0; i < n; i++) {
		t = block_type(json_object_array_get_idx(tools, i));
		for (j = 0; j < sizeof(server_tool_types) /
		    sizeof(server_tool_types[0]); j++)
			if (strncmp(t, server_tool_types[j],
			    strlen(server_tool_types[j])) == 0)
				ri->server_tools = 1;
	}
}

void
reqinfo_read(json_object *req, struct reqinfo *ri)
{
	json_object	*v, *msgs;
	size_t		 i, n;

	memset(ri, 0, sizeof(*ri));
	if (json_object_object_get_ex(req, "thinking", &v)) {
		const char *t = block_type(v);

		ri->thinking = strcmp(t, "enabled") == 0 ||
		    strcmp(t, "adaptive") == 0;
	}
	if (json_object_object_get_ex(req, "tools", &v))
		read_tools(v, ri);
	if (json_object_object_get_ex(req, "messages", &msgs) &&
	    json_object_is_type(msgs, json_type_array)) {
		n = json_object_array_length(msgs);
		for (i = 0; i < n && !ri->images; i++)
			if (json_object_object_get_ex(
			    json_object_array_get_idx(msgs, i), "content", &v))
				ri->images = has_image(v, 0);
	}
	ri->input_tokens = tokens_estimate_request(req);
}
