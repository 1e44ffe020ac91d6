/*
 * webseal: opaque values the proxy hands to clients and reads back later
 * (a web_search_result's encrypted_content, a citation's encrypted_index),
 * protected by an HMAC so that a client cannot change what they say
 * unnoticed.
 */
#ifndef CP_WEBSEAL_H
#define CP_WEBSEAL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define WEBSEAL_MAX	8192	/* bytes of payload one value carries */
#define WEBSEAL_TAG	16	/* bytes of HMAC-SHA256 kept */

/*
 * out += kind (4 characters, e.g. "cpr1") + base64url(tag || payload);
 * -1 when memory runs out or the payload is over WEBSEAL_MAX.
 */
int	 webseal_seal(struct buf *out, const char *kind, const char *payload,
	    size_t len);
/*
 * The payload of a value sealed with this kind under the current key into
 * payload (NUL-terminated); -1 for anything else: another kind, bad
 * base64, a wrong tag (forged, damaged, or sealed under another key).
 */
int	 webseal_open(const char *value, size_t len, const char *kind,
	    struct buf *payload);

/* the key: derived from the configuration (see webseal.c) */
void	 webseal_key(uint8_t key[32]);
/* RFC 2104 HMAC with SHA-256 (for the tests) */
void	 webseal_hmac(const uint8_t *key, size_t klen, const void *msg,
	    size_t mlen, uint8_t out[32]);

#endif
