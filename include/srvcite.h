/*
 * srvcite: the model's [n] markers in an answer's text turned into
 * Anthropic's citations (web_search_result_location) of the numbered
 * search results the conversation holds.
 */
#ifndef CP_SRVCITE_H
#define CP_SRVCITE_H

#include <stddef.h>

#include <json-c/json.h>

#include "srvhist.h"

/*
 * Appends text as text blocks to out: one block when it cites nothing,
 * else the text split at the markers, each cited stretch (from the start
 * of its sentence to the marker) a block with "citations", the markers
 * gone. A marker is [n] (or [n][m], [n, m]) with every n a result's
 * number, outside code, not an index (a[1]) nor a link ([1](...)); any
 * other bracket stays text. -1 when memory runs out.
 */
int	 srvcite_split(const char *text, size_t len, const struct srvhist *,
	    json_object *out);

#endif
