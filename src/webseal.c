/*
 * webseal.c: opaque, integrity-protected values for clients to echo.
 *
 * Anthropic's web search gives each result an encrypted_content that the
 * client must send back unchanged for the model to see the result again
 * in a later turn, and each citation an encrypted_index. Ours carry what
 * the model saw (url, title, snippet) so that history needs no store on
 * the proxy: a value is a 4-character kind ("cpr1" for a result, "cpi1"
 * for a citation), then base64url (no padding) of a 16-byte tag and the
 * payload. The tag is HMAC-SHA256 (RFC 2104 over libmd's SHA-256) of the
 * kind and the payload, cut to 16 bytes, compared in constant time. The
 * payload is not encrypted: it holds nothing the client has not seen.
 *
 * The key must be the same in every worker, after reloads and restarts,
 * and in every instance behind one address, without a state file: it is
 * derived from the configuration's secrets, HMAC-SHA256 with a fixed label
 * of the inbound key ak, or when there is none, of every provider's
 * api_key and web_search.api_key in configuration order. Changing those
 * keys makes older values unreadable, which costs the model only the
 * snippets of earlier results (their titles and URLs travel in clear).
 * Without any secret configured the key is a constant: values then only
 * detect damage, which is all a proxy that anyone may call could promise.
 *
 * Promises: webseal_open accepts nothing it did not seal under the current
 * key; a value is at most 4 + (WEBSEAL_TAG + WEBSEAL_MAX) * 4 / 3 + 3
 * characters. Fails only when memory runs out (-1) or on a value that is
 * not ours (-1, never a crash).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sha2.h>

#include "buf.h"
#include "conf.h"
#include "webseal.h"

#define KIND_LEN	4
#define BLOCK		64	/* SHA-256's block size */
#define LABEL		"claude-proxy web seal v1"

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void
webseal_hmac(const uint8_t *key, size_t klen, const void *msg, size_t mlen,
    uint8_t out[32])
{
	SHA2_CTX	 ctx;
	uint8_t		 k[BLOCK], pad[BLOCK], inner[SHA256_DIGEST_LENGTH];
	size_t		 i;

	memset(k, 0, sizeof(k));
	if (klen > BLOCK) {
		SHA256Init(&ctx);
		SHA256Update(&ctx, key, klen);
		SHA256Final(k, &ctx);
	} else if (klen > 0)
		memcpy(k, key, klen);
	for (i = 0; i < BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	SHA256Init(&ctx);
	SHA256Update(&ctx, pad, BLOCK);
	SHA256Update(&ctx, msg, mlen);
	SHA256Final(inner, &ctx);
	for (i = 0; i < BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	SHA256Init(&ctx);
	SHA256Update(&ctx, pad, BLOCK);
	SHA256Update(&ctx, inner, sizeof(inner));
	SHA256Final(out, &ctx);
	explicit_bzero(k, sizeof(k));
	explicit_bzero(pad, sizeof(pad));
}

static int
add_secret(struct buf *m, const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	return buf_append(m, s, strlen(s) + 1);
}

void
webseal_key(uint8_t key[32])
{
	struct buf	 m = BUF_INITIALIZER;
	size_t		 i;
	int		 rc = 0;

	if (conf != NULL && conf->ak != NULL && conf->ak[0] != '\0')
		rc = add_secret(&m, conf->ak);
	else if (conf != NULL) {
		for (i = 0; i < conf->nproviders && rc == 0; i++)
			rc = add_secret(&m, conf->providers[i].api_key);
		if (rc == 0)
			rc = add_secret(&m, conf->web_search.api_key);
	}
	/* out of memory: a key nobody else derives, so nothing verifies
	 * rather than everything */
	if (rc == -1)
		arc4random_buf(key, 32);
	else
		webseal_hmac((const uint8_t *)LABEL, sizeof(LABEL) - 1,
		    m.data != NULL ? m.data : "", m.len, key);
	if (m.data != NULL)
		explicit_bzero(m.data, m.len);
	buf_free(&m);
}

/* the tag of kind || payload */
static void
tag_of(const char *kind, const char *payload, size_t len,
    uint8_t tag[WEBSEAL_TAG])
{
	struct buf	 m = BUF_INITIALIZER;
	uint8_t		 key[32], full[32];

	webseal_key(key);
	/* one message, kind first: HMAC over the concatenation */
	if (buf_append(&m, kind, KIND_LEN) == -1 ||
	    buf_append(&m, payload, len) == -1)
		arc4random_buf(full, sizeof(full));	/* matches nothing */
	else
		webseal_hmac(key, sizeof(key), m.data, m.len, full);
	memcpy(tag, full, WEBSEAL_TAG);
	explicit_bzero(key, sizeof(key));
	buf_free(&m);
}

static int
b64url_encode(struct buf *out, const uint8_t *p, size_t len)
{
	uint32_t	 v;
	size_t		 i;
	char		 q[4];

	if (buf_reserve(out, (len + 2) / 3 * 4) == -1)
		return -1;
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		q[0] = b64url[v >> 18];
		q[1] = b64url[(v >> 12) & 63];
		q[2] = b64url[(v >> 6) & 63];
		q[3] = b64url[v & 63];
		buf_append(out, q, 4);
	}
	if (i < len) {
		v = (uint32_t)p[i] << 16 |
		    (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);
		q[0] = b64url[v >> 18];
		q[1] = b64url[(v >> 12) & 63];
		q[2] = b64url[(v >> 6) & 63];
		buf_append(out, q, i + 1 < len ? 3 : 2);
	}
	return 0;
}

static int
b64url_value(char c)
{
	const char	*p;

	if (c == '\0' || (p = strchr(b64url, c)) == NULL)
		return -1;
	return (int)(p - b64url);
}

/* strict: the alphabet only, no padding, no stray bits */
static int
b64url_decode(const char *s, size_t len, struct buf *out)
{
	uint32_t	 v = 0;
	size_t		 i;
	int		 c, bits = 0;

	if (len % 4 == 1 || buf_reserve(out, len / 4 * 3 + 2) == -1)
		return -1;
	for (i = 0; i < len; i++) {
		if ((c = b64url_value(s[i])) == -1)
			return -1;
		v = v << 6 | (uint32_t)c;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_putc(out, (char)((v >> bits) & 0xff));
		}
	}
	if ((v & ((1u << bits) - 1)) != 0)
		return -1;
	return 0;
}

int
webseal_seal(struct buf *out, const char *kind, const char *payload,
    size_t len)
{
	struct buf	 raw = BUF_INITIALIZER;
	uint8_t		 tag[WEBSEAL_TAG];
	int		 rc = -1;

	if (strlen(kind) != KIND_LEN || len > WEBSEAL_MAX)
		return -1;
	tag_of(kind, payload, len, tag);
	if (buf_append(&raw, tag, sizeof(tag)) == 0 &&
	    buf_append(&raw, payload, len) == 0 &&
	    buf_append(out, kind, KIND_LEN) == 0)
		rc = b64url_encode(out, (const uint8_t *)raw.data, raw.len);
	buf_free(&raw);
	return rc;
}

/* constant time: how many bytes differ says nothing about where */
static int
tags_equal(const uint8_t *a, const uint8_t *b)
{
	unsigned	 d = 0;
	size_t		 i;

	for (i = 0; i < WEBSEAL_TAG; i++)
		d |= (unsigned)(a[i] ^ b[i]);
	return d == 0;
}

int
webseal_open(const char *value, size_t len, const char *kind,
    struct buf *payload)
{
	struct buf	 raw = BUF_INITIALIZER;
	uint8_t		 tag[WEBSEAL_TAG];
	size_t		 plen;
	int		 rc = -1;

	buf_reset(payload);
	if (value == NULL || len <= KIND_LEN || strlen(kind) != KIND_LEN ||
	    memcmp(value, kind, KIND_LEN) != 0 ||
	    len > KIND_LEN + (WEBSEAL_TAG + WEBSEAL_MAX + 2) / 3 * 4)
		return -1;
	if (b64url_decode(value + KIND_LEN, len - KIND_LEN, &raw) == -1 ||
	    raw.len < WEBSEAL_TAG)
		goto done;
	plen = raw.len - WEBSEAL_TAG;
	tag_of(kind, raw.data + WEBSEAL_TAG, plen, tag);
	if (!tags_equal(tag, (const uint8_t *)raw.data))
		goto done;
	if (buf_append(payload, raw.data + WEBSEAL_TAG, plen) == -1 ||
	    buf_puts(payload, "") == -1)
		goto done;
	rc = 0;
done:
	buf_free(&raw);
	return rc;
}
