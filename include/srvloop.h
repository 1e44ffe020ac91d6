/*
 * srvloop: a request that offers server tools the proxy runs, answered by
 * calling the upstream again after each round of web_search / web_fetch
 * calls until the model answers without one.
 */
#ifndef CP_SRVLOOP_H
#define CP_SRVLOOP_H

#include <json-c/json.h>

#include "http_conn.h"
#include "models.h"

#define SRVLOOP_MAX_ROUNDS	10	/* upstream calls; then pause_turn */

/*
 * One attempt on route, as messages.c's relays: 1 = failed before the
 * client got anything (the next provider may be tried), 0 = answered,
 * -1 = connection lost. up is the request xlate_req made for the route
 * (its stream flags are dropped: the rounds are plain calls; a streaming
 * client gets the finished message as an event stream).
 */
int	 srvloop_run(struct http_conn *, struct http_request *,
	    json_object *req, const char *model,
	    const struct model_route *route, json_object *up, int stream,
	    int last);

#endif
