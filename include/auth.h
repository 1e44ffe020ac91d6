/*
 * auth: the inbound keys (config "ak" and keys[]), compared in constant
 * time.
 */
#ifndef CP_AUTH_H
#define CP_AUTH_H

#include "conf.h"
#include "http_conn.h"

/* NULL = allowed (no client key configured, or a matching Authorization:
 * Bearer or x-api-key header; req->client_key says which); otherwise the
 * message of the 401, which says what was missing or wrong and holds
 * nothing the client sent */
const char	*auth_check(const struct conf *, struct http_request *);

#endif
