/*
 * messages: POST /v1/messages (plain and streaming) and
 * POST /v1/messages/count_tokens.
 */
#ifndef CP_MESSAGES_H
#define CP_MESSAGES_H

#include "http_conn.h"

int	 messages_handle(struct http_conn *, struct http_request *);
int	 messages_count_tokens(struct http_conn *, struct http_request *);

#endif
