/*
 * auth: the inbound key (config "ak"), compared in constant time.
 */
#ifndef CP_AUTH_H
#define CP_AUTH_H

#include "conf.h"
#include "http_conn.h"

/* 0 = allowed (no ak configured, or a matching Authorization: Bearer or
 * x-api-key header), -1 = not */
int	 auth_check(const struct conf *, const struct http_request *);

#endif
