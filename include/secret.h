/*
 * secret: the one place that knows every configured secret and keeps it,
 * and anything that looks like a credential, out of what the proxy says to
 * clients and writes to logs.
 */
#ifndef CP_SECRET_H
#define CP_SECRET_H

#include <stddef.h>

#include "buf.h"

struct conf;

/* shorter secrets are not masked: they cannot be told from words */
#define SECRET_MIN_LEN	8

/* the set becomes c's secrets (every api_key, the ak); -1 = out of memory,
 * the set unchanged. The master calls it whenever a configuration comes
 * into force; workers inherit the set. */
int	 secret_load(const struct conf *c);
/* one more secret (a key of a kind secret_load does not know yet); short
 * or known ones are ignored; -1 = out of memory */
int	 secret_add(const char *value, size_t len);
void	 secret_clear(void);
/* bytes of the longest secret, 0 if none */
size_t	 secret_longest(void);

/* for messages to clients and log lines: every secret, in any form, then
 * anything that looks like a credential (Bearer tokens, sk-... keys,
 * key=... values, long random strings) replaced by *** */
void	 secret_mask(struct buf *out, const char *s, size_t len);
/* for answer text: the configured secrets only */
void	 secret_mask_exact(struct buf *out, const char *s, size_t len);
/* the same for text that arrives in pieces: appends the masked form of
 * s[0..n) and returns n; s[n..len) may be the beginning of a secret and
 * must be given again with what follows (or flushed as it is at the end) */
size_t	 secret_mask_stream(struct buf *out, const char *s, size_t len);
/* both for JSON text (a tool call's arguments, a whole event or body): a
 * secret is found only where a character begins, escaped or not, so the
 * "***" in its place leaves the JSON valid */
void	 secret_mask_json(struct buf *out, const char *s, size_t len);
size_t	 secret_mask_json_stream(struct buf *out, const char *s, size_t len);
/* a log line's excerpt of client or upstream text: secret_mask, then
 * util_log_excerpt's escaping and cut at max characters */
void	 secret_log_excerpt(struct buf *out, const char *s, size_t len,
	    size_t max);
/* the same for a query string, with the values of key-like parameters
 * (ak, key, api_key, x-api-key, token, access_token, ...: any case, '-'
 * and '_' ignored) replaced by *** and their names kept */
void	 secret_log_query(struct buf *out, const char *q, size_t len,
	    size_t max);

#endif
