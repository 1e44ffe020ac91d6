/*
 * auth.c: inbound key check.
 *
 * Accepts "Authorization: Bearer <ak>" or "x-api-key: <ak>". The comparison
 * takes the same time whatever the prefix in common (it always runs over
 * the configured key's full length); the key itself is never logged. A
 * refusal says what was missing or which header was wrong (no key, an
 * x-api-key, a bearer token, another Authorization scheme), never what
 * the client sent.
 */
#include <string.h>

#include "auth.h"
#include "util.h"

/* constant-time inequality over n bytes */
static int
ct_differs(const char *a, const char *b, size_t n)
{
	volatile unsigned char	 acc = 0;
	size_t			 i;

	for (i = 0; i < n; i++)
		acc |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return acc != 0;
}

static int
key_matches(const char *ak, size_t aklen, const char *v, size_t vlen)
{
	/* compare a full key's length either way so a wrong length costs
	 * the same time as a wrong byte */
	if (vlen != aklen) {
		ct_differs(ak, ak, aklen);
		return 0;
	}
	return !ct_differs(ak, v, aklen);
}

/* the token of "Authorization: Bearer <token>", or NULL for another
 * scheme */
static const char *
bearer_token(const char *v, size_t vlen, size_t *tlen)
{
	if (vlen < 6 || !util_strncaseeq(v, 6, "bearer") ||
	    (vlen > 6 && v[6] != ' ' && v[6] != '\t'))
		return NULL;
	v += 6;
	vlen -= 6;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	*tlen = vlen;
	return v;
}

const char *
auth_check(const struct conf *c, const struct http_request *req)
{
	const char	*xkey, *authz, *token = NULL;
	size_t		 xlen = 0, alen = 0, tlen = 0, aklen;

	if (c->ak == NULL || c->ak[0] == '\0')
		return NULL;
	aklen = strlen(c->ak);
	xkey = http_request_header(req, "x-api-key", &xlen);
	authz = http_request_header(req, "authorization", &alen);
	if (xkey != NULL && key_matches(c->ak, aklen, xkey, xlen))
		return NULL;
	if (authz != NULL &&
	    (token = bearer_token(authz, alen, &tlen)) != NULL &&
	    key_matches(c->ak, aklen, token, tlen))
		return NULL;

	/* say which header was wrong, never what it held */
	if (xkey != NULL)
		return xlen == 0 ? "empty x-api-key" : "invalid x-api-key";
	if (authz == NULL)
		return "missing API key: send x-api-key or Authorization: "
		    "Bearer";
	if (token == NULL)
		return "Authorization must be \"Bearer <key>\": send the key "
		    "that way or in x-api-key";
	/* worded so that the error envelope's credential net (a word after
	 * "Bearer ") leaves the message whole */
	return tlen == 0 ? "empty key in Authorization: Bearer" :
	    "invalid key in Authorization: Bearer";
}
