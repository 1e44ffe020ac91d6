/*
 * auth.c: inbound key check.
 *
 * Accepts "Authorization: Bearer <key>" or "x-api-key: <key>", where key
 * is one of the client keys (keys[] and the ak; keys.c compares them in
 * constant time). The key found is recorded in the request for the
 * limits, the logs and the metrics, by name; the key itself is never
 * logged.
 */
#include <string.h>

#include "auth.h"
#include "keys.h"
#include "util.h"

int
auth_check(const struct conf *c, struct http_request *req)
{
	const char	*v;
	size_t		 vlen;

	req->client_key = NULL;
	if (c->nclient_keys == 0)
		return 0;
	if ((v = http_request_header(req, "x-api-key", &vlen)) != NULL &&
	    (req->client_key = keys_match(c, v, vlen)) != NULL)
		return 0;
	if ((v = http_request_header(req, "authorization", &vlen)) != NULL &&
	    vlen > 7 && util_strncaseeq(v, 7, "bearer ")) {
		v += 7;
		vlen -= 7;
		while (vlen > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		if ((req->client_key = keys_match(c, v, vlen)) != NULL)
			return 0;
	}
	return -1;
}
