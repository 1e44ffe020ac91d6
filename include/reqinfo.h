/*
 * reqinfo: what a Messages request needs, for routes to match on.
 */
#ifndef CP_REQINFO_H
#define CP_REQINFO_H

#include <stdint.h>
#include <json-c/json.h>

struct reqinfo {
	int	 thinking;	/* thinking enabled or adaptive */
	int	 images;	/* an image block in a message or tool result */
	int	 server_tools;	/* a web_search/web_fetch/code_execution tool */
	int	 tools;		/* any tool offered */
	int64_t	 input_tokens;	/* tokens_estimate_request */
};

void	 reqinfo_read(json_object *request, struct reqinfo *);

#endif
