/*
 * gsig.c: Gemini's thought signatures on tool calls, kept across turns
 * inside the tool_use ids the client echoes.
 *
 * Why the id. A thinking block's signature (resp_sig.c's carrier) only
 * comes back from clients that asked for thinking and keep thinking
 * blocks; frameworks that keep only text and tool calls, a request with
 * thinking off, or Claude Code after it drops an old turn's thinking would
 * lose it, and Gemini 3 then refuses the next turn with a 400. A tool_use
 * id is the one value every client must send back exactly, twice: on the
 * tool_use in the history and on the tool_result that answers it. Ids
 * allow [A-Za-z0-9_-] and no documented length limit, so the signature
 * (base64, some hundred bytes to a few KB) fits once its '+' and '/' are
 * spelled '-' and '_'.
 *
 * The id: "cpgs1_" KEY "_" MODE LEN "_" ORIG PAYLOAD, where KEY is 16 hex
 * digits naming the provider and model that made the signature (only
 * they get it back: a fallback provider, or any provider that is not that
 * Gemini, sees the plain upstream id), MODE 'b' (PAYLOAD is canonical
 * base64 with '-' '_' for '+' '/' and no padding) or 'x' (PAYLOAD is the
 * signature's bytes in hex, for anything that is not canonical base64),
 * LEN the decimal length of ORIG, the id the upstream gave the call. So
 * both directions are exact: the upstream gets back its own id and its
 * own signature, byte for byte.
 *
 * Promises: encode and decode read only their arguments; a malformed
 * "cpgs1_" id is taken as a plain id. Fails only when memory runs out.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "gsig.h"
#include "models.h"
#include "resp.h"
#include "util.h"

#define GSIG_KEY_HEX	(GSIG_KEY_SIZE - 1)
#define GSIG_LEN_MAX	4		/* digits of ORIG's length */

void
gsig_key(const struct model_route *route, char key[GSIG_KEY_SIZE])
{
	/* one rule for "which upstream made this", shared with resp_sig */
	resp_sig_key(route, key);
}

static int
is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* canonical base64: the alphabet, '=' only as padding to a multiple of 4 */
static int
canonical_b64(const char *s, size_t len)
{
	size_t	 i, body = len;

	if (len == 0 || len % 4 != 0)
		return 0;
	while (body > 0 && len - body < 2 && s[body - 1] == '=')
		body--;
	for (i = 0; i < body; i++)
		if (!is_b64(s[i]))
			return 0;
	return 1;
}

int
gsig_id_encode(struct buf *out, const char *key, const char *id,
    const char *sig, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t	 i, idlen = strlen(id);
	int	 b64;

	if (key == NULL || *key == '\0' || sig == NULL || len == 0 ||
	    len > GSIG_MAX || idlen == 0 || idlen > 9999)
		return buf_puts(out, id) == -1 ? -1 : 0;
	b64 = canonical_b64(sig, len);
	if (buf_reserve(out, sizeof(GSIG_PREFIX) + GSIG_KEY_HEX + 8 + idlen +
	    2 * len) == -1)
		return -1;
	buf_printf(out, "%s%.*s_%c%zu_%s", GSIG_PREFIX, GSIG_KEY_HEX, key,
	    b64 ? 'b' : 'x', idlen, id);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)sig[i];

		if (!b64) {
			buf_putc(out, hex[c >> 4]);
			buf_putc(out, hex[c & 15]);
		} else if (c == '+')
			buf_putc(out, '-');
		else if (c == '/')
			buf_putc(out, '_');
		else if (c != '=')
			buf_putc(out, (char)c);
	}
	return 1;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* payload p (n bytes) in mode m -> the signature onto sig; -1 malformed */
static int
payload_decode(char m, const char *p, size_t n, struct buf *sig)
{
	size_t	 i;
	int	 hi, lo;

	if (n == 0)
		return -1;
	if (m == 'x') {
		if (n % 2 != 0)
			return -1;
		for (i = 0; i < n; i += 2) {
			if ((hi = hexval(p[i])) == -1 ||
			    (lo = hexval(p[i + 1])) == -1)
				return -1;
			buf_putc(sig, (char)(hi << 4 | lo));
		}
		return 0;
	}
	if (n % 4 == 1)		/* no canonical base64 ends so */
		return -1;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '-' && p[i] != '_')
			return -1;	/* not url-safe base64: a plain id */
	for (i = 0; i < n; i++)
		buf_putc(sig, p[i] == '-' ? '+' : p[i] == '_' ? '/' : p[i]);
	while (sig->len % 4 != 0)
		buf_putc(sig, '=');
	return 0;
}

int
gsig_id_decode(const char *id, const char *key, struct buf *orig,
    struct buf *sig)
{
	size_t		 pre = sizeof(GSIG_PREFIX) - 1, n, idlen, i;
	const char	*p, *k;
	char		 m;

	n = strlen(id);
	if (n < pre || memcmp(id, GSIG_PREFIX, pre) != 0)
		return 0;
	k = id + pre;
	p = k + GSIG_KEY_HEX;
	if (n < pre + GSIG_KEY_HEX + 4 || *p != '_')
		return 0;
	for (i = 0; i < GSIG_KEY_HEX; i++)
		if (hexval(k[i]) == -1)
			return 0;
	m = *++p;
	if (m != 'b' && m != 'x')
		return 0;
	for (idlen = 0, i = 0, p++; i < GSIG_LEN_MAX && *p >= '0' &&
	    *p <= '9'; i++, p++)
		idlen = idlen * 10 + (size_t)(*p - '0');
	if (i == 0 || *p != '_' || idlen == 0 ||
	    idlen >= n - (size_t)(++p - id))
		return 0;
	/* p: ORIG then PAYLOAD */
	if (key == NULL || memcmp(k, key, GSIG_KEY_HEX) != 0 ||
	    strlen(key) != GSIG_KEY_HEX) {
		if (buf_append(orig, p, idlen) == -1)
			return -1;
		return 2;
	}
	if (buf_reserve(sig, 2 * (n - idlen)) == -1 ||
	    buf_append(orig, p, idlen) == -1)
		return -1;
	if (payload_decode(m, p + idlen, strlen(p + idlen), sig) == -1) {
		buf_reset(orig);
		buf_reset(sig);
		return 0;
	}
	return 1;
}

json_object *
gsig_plain_id(json_object *id)
{
	struct buf	 orig = BUF_INITIALIZER, sig = BUF_INITIALIZER;
	json_object	*o;
	int		 r;

	r = gsig_id_decode(json_object_get_string(id), NULL, &orig, &sig);
	buf_free(&sig);
	if (r == -1)
		return NULL;
	if (r == 0)
		return json_object_get(id);
	o = json_object_new_string_len(orig.data, (int)orig.len);
	buf_free(&orig);
	return o;
}

const char *
gsig_of_call(json_object *call, size_t *len)
{
	json_object	*ec, *g, *s;

	if (call == NULL ||
	    !json_object_object_get_ex(call, "extra_content", &ec) ||
	    !json_object_object_get_ex(ec, "google", &g) ||
	    !json_object_object_get_ex(g, "thought_signature", &s) ||
	    !json_object_is_type(s, json_type_string) ||
	    json_object_get_string_len(s) == 0)
		return NULL;
	*len = (size_t)json_object_get_string_len(s);
	return json_object_get_string(s);
}

int
gsig_put_call(json_object *call, const char *sig, size_t len)
{
	json_object	*ec, *g, *s;

	if ((s = json_object_new_string_len(sig, (int)len)) == NULL)
		return -1;
	if ((g = json_object_new_object()) == NULL) {
		json_object_put(s);
		return -1;
	}
	if (json_object_object_add(g, "thought_signature", s) != 0) {
		json_object_put(s);
		json_object_put(g);
		return -1;
	}
	if ((ec = json_object_new_object()) == NULL) {
		json_object_put(g);
		return -1;
	}
	if (json_object_object_add(ec, "google", g) != 0) {
		json_object_put(g);
		json_object_put(ec);
		return -1;
	}
	if (json_object_object_add(call, "extra_content", ec) != 0) {
		json_object_put(ec);
		return -1;
	}
	return 0;
}
