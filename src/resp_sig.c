/*
 * resp_sig.c: a Responses reasoning item carried through an Anthropic
 * thinking block's signature, and back.
 *
 * With store:false the Responses API keeps nothing between requests: a
 * reasoning model's reasoning survives into the next turn only when the
 * client sends the item's encrypted_content back. Anthropic clients keep
 * exactly one opaque value per thinking block and echo it unread: the
 * signature. So a reasoning item's encrypted content becomes the
 * signature "cprs_1_<key>_<content>" (resp_resp.c, resp_stream.c), and
 * resp_req.c turns such a signature back into the reasoning item.
 *
 * The key, 16 hex digits of SHA-256(provider name, NUL, remote model id),
 * says which upstream can read the content: encrypted reasoning goes back
 * only to the provider and model that made it, never to a fallback
 * provider (another organisation's key cannot decrypt it, and the request
 * would fail). The content is kept as the upstream sent it (base64 text):
 * wrapping it again would only make it longer.
 *
 * Promises: encode never makes a signature longer than RESP_SIG_MAX plus
 * the prefix and key, and falls back to a plain random "cpsig_" signature
 * (carrying nothing) when there is nothing to carry or too much; decode
 * reads nothing but the signature's own bytes and says why it refuses one.
 * Fails only when memory runs out.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sha2.h>

#include "buf.h"
#include "conf.h"
#include "models.h"
#include "resp.h"
#include "util.h"
#include "xlate.h"

#define RS_KEY_HEX	(RESP_SIG_KEY_SIZE - 1)

void
resp_sig_key(const struct model_route *route, char key[RESP_SIG_KEY_SIZE])
{
	SHA2_CTX	 ctx;
	uint8_t		 d[SHA256_DIGEST_LENGTH];
	const char	*p = "", *m = "";
	size_t		 i;

	if (route != NULL && route->provider != NULL &&
	    route->provider->name != NULL)
		p = route->provider->name;
	if (route != NULL && route->model != NULL &&
	    route->model->remote_id != NULL)
		m = route->model->remote_id;
	SHA256Init(&ctx);
	SHA256Update(&ctx, (const uint8_t *)p, strlen(p) + 1);
	SHA256Update(&ctx, (const uint8_t *)m, strlen(m));
	SHA256Final(d, &ctx);
	for (i = 0; i < RS_KEY_HEX / 2; i++)
		snprintf(key + 2 * i, 3, "%02x", d[i]);
	key[RS_KEY_HEX] = '\0';
}

int
resp_sig_encode(struct buf *out, const char *key, const char *enc,
    size_t len)
{
	char	 sig[XLATE_SIG_SIZE];

	if (key == NULL || enc == NULL || len == 0 || len > RESP_SIG_MAX) {
		xlate_signature(sig, sizeof(sig));
		return buf_puts(out, sig) == -1 ? -1 : 0;
	}
	if (buf_reserve(out, sizeof(RESP_SIG_PREFIX) + RS_KEY_HEX + 1 +
	    len) == -1)
		return -1;
	buf_puts(out, RESP_SIG_PREFIX);
	buf_append(out, key, RS_KEY_HEX);
	buf_putc(out, '_');
	buf_append(out, enc, len);
	return 1;
}

const char *
resp_sig_decode(const char *sig, size_t len, const char *key,
    size_t *enclen, const char **why)
{
	size_t	 pre = sizeof(RESP_SIG_PREFIX) - 1;

	*enclen = 0;
	if (len < pre || memcmp(sig, RESP_SIG_PREFIX, pre) != 0) {
		*why = "its signature carries no reasoning item";
		return NULL;
	}
	if (len < pre + RS_KEY_HEX + 2 || sig[pre + RS_KEY_HEX] != '_' ||
	    len - pre - RS_KEY_HEX - 1 > RESP_SIG_MAX) {
		*why = "its signature is damaged";
		return NULL;
	}
	if (key == NULL || memcmp(sig + pre, key, RS_KEY_HEX) != 0) {
		*why = "its reasoning was made by another provider or model";
		return NULL;
	}
	*enclen = len - pre - RS_KEY_HEX - 1;
	return sig + pre + RS_KEY_HEX + 1;
}
