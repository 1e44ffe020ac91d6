/*
 * keys: the client keys (conf's keys[] and the ak): which one a request
 * presents, and what it may use.
 */
#ifndef CP_KEYS_H
#define CP_KEYS_H

#include <stddef.h>

#include "conf.h"

/* the key whose secret is v[0..len), or NULL; compares against every key,
 * each over its whole length, whatever matched */
const struct conf_client_key *keys_match(const struct conf *, const char *v,
	    size_t len);
/* may k use the model with this id? (NULL k: no keys, anything goes) */
int	 keys_may_use(const struct conf_client_key *k, const char *model_id);
/* the name for logs and metrics: "-" without a key */
const char *keys_name(const struct conf_client_key *);

#endif
