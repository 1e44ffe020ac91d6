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
#include "usage.h"

#define SRVLOOP_MAX_ROUNDS	10	/* upstream calls; then pause_turn */

/* the exchange's accounting: what the loop used (every round, plain or
 * streamed, and the server-tool calls that returned a result) is written
 * to *used and charge() called before the answer's end goes out; tick()
 * while the loop waits (the key's limits) */
struct srvloop_acct {
	struct usage_tokens	*used;
	void			(*charge)(void *arg);
	void			(*tick)(void *arg);
	void			*arg;
};

/*
 * One attempt on route, as messages.c's relays: 1 = failed before the
 * client got anything (the next provider may be tried), 0 = answered,
 * -1 = connection lost. up is the request xlate_req made for the route:
 * with stream set every round streams and the client sees each block as
 * it happens; otherwise the rounds are plain calls. acct may be NULL.
 */
int	 srvloop_run(struct http_conn *, struct http_request *,
	    json_object *req, const char *model,
	    const struct model_route *route, json_object *up, int stream,
	    int last, struct srvloop_acct *acct);

#endif
