/*
 * router: method + path -> handler, with the inbound key check.
 */
#ifndef CP_ROUTER_H
#define CP_ROUTER_H

#include "http_conn.h"
#include "scoreboard.h"

/* answers the request (any status); returns -1 when the connection must
 * close (a write failed) */
int	 router_dispatch(struct http_conn *, struct http_request *);
/* which endpoint the request was for, for the metrics */
enum sb_endpoint router_endpoint(const struct http_request *);

#endif
