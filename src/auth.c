/*
 * auth.c: inbound key check.
 *
 * Accepts "Authorization: Bearer <key>" or "x-api-key: <key>", where key
 * is one of the client keys (keys[] and the ak; keys.c compares them in
 * constant time). The key found is recorded in the request for the
 * limits, the logs and the metrics, by name; the key itself is never
 * logged. A refusal says what was missing or which header was wrong (no
 * key, an x-api-key, a bearer token, another Authorization scheme), never
 * what the client sent.
 */
#include <string.h>

#include "auth.h"
#include "keys.h"
#include "util.h"

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
auth_check(const struct conf *c, struct http_request *req)
{
	const char	*xkey, *authz, *token = NULL;
	size_t		 xlen = 0, alen = 0, tlen = 0;

	req->client_key = NULL;
	if (c->nclient_keys == 0)
		return NULL;
	xkey = http_request_header(req, "x-api-key", &xlen);
	authz = http_request_header(req, "authorization", &alen);
	if (xkey != NULL &&
	    (req->client_key = keys_match(c, xkey, xlen)) != NULL)
		return NULL;
	if (authz != NULL &&
	    (token = bearer_token(authz, alen, &tlen)) != NULL &&
	    (req->client_key = keys_match(c, token, tlen)) != NULL)
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
