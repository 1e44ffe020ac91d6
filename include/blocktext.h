/*
 * blocktext: Anthropic content blocks that Chat Completions has no part
 * for, rendered as text a model can read and act on.
 */
#ifndef CP_BLOCKTEXT_H
#define CP_BLOCKTEXT_H

#include <json-c/json.h>

#include "buf.h"

/*
 * Appends the text of block b (whose "type" is type) to out: 1 when the
 * type is one this module renders (search_result, tool_reference,
 * server_tool_use, web_search_tool_result, web_fetch_tool_result), 0 when
 * it is not (out untouched), -1 when memory runs out. Members of the wrong
 * shape are left out of the text, never an error.
 */
int	 blocktext_render(json_object *b, const char *type, struct buf *out);

#endif
