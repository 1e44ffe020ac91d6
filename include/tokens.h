/*
 * tokens: a local estimate of input tokens (system, tools, messages).
 */
#ifndef CP_TOKENS_H
#define CP_TOKENS_H

#include <stdint.h>
#include <json-c/json.h>

int64_t	 tokens_estimate_request(json_object *anthropic_req);
int64_t	 tokens_estimate_text(const char *, size_t);

#endif
