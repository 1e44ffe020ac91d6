/*
 * auth: the inbound keys (config "ak" and keys[]), compared in constant
 * time.
 */
#ifndef CP_AUTH_H
#define CP_AUTH_H

#include "conf.h"
#include "http_conn.h"

/* 0 = allowed (no key configured, or a matching Authorization: Bearer or
 * x-api-key header; req->client_key says which), -1 = not */
int	 auth_check(const struct conf *, struct http_request *);

#endif
