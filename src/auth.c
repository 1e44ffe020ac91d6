/*
 * auth.c: inbound key check.
 *
 * Accepts "Authorization: Bearer <ak>" or "x-api-key: <ak>". The comparison
 * takes the same time whatever the prefix in common (it always runs over
 * the configured key's full length); the key itself is never logged.
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

int
auth_check(const struct conf *c, const struct http_request *req)
{
	const char	*v;
	size_t		 vlen, aklen;

	if (c->ak == NULL || c->ak[0] == '\0')
		return 0;
	aklen = strlen(c->ak);
	if ((v = http_request_header(req, "x-api-key", &vlen)) != NULL &&
	    key_matches(c->ak, aklen, v, vlen))
		return 0;
	if ((v = http_request_header(req, "authorization", &vlen)) != NULL &&
	    vlen > 7 && util_strncaseeq(v, 7, "bearer ")) {
		v += 7;
		vlen -= 7;
		while (vlen > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		if (key_matches(c->ak, aklen, v, vlen))
			return 0;
	}
	return -1;
}
