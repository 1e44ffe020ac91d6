/*
 * keys.c: the client keys (keys[] and the ak, which conf makes the first
 * one, named "ak").
 *
 * A presented key is compared with every configured key, each over the
 * configured key's whole length whatever the presented one's length, and
 * without stopping at a match: the time taken says how many keys there
 * are, not which one matched nor how much of one. Only names ever leave
 * this module toward logs and metrics.
 */
#include <string.h>

#include "keys.h"

/* constant-time inequality over n bytes of a and b; b may be shorter
 * than n when blen < n, then a is compared with itself */
static int
keys_differ(const char *a, size_t alen, const char *b, size_t blen)
{
	volatile unsigned char	 acc = alen != blen;
	const char		*other = alen == blen ? b : a;
	size_t			 i;

	for (i = 0; i < alen; i++)
		acc |= (unsigned char)a[i] ^ (unsigned char)other[i];
	return acc != 0;
}

const struct conf_client_key *
keys_match(const struct conf *c, const char *v, size_t len)
{
	const struct conf_client_key *found = NULL;
	size_t	 i;

	for (i = 0; i < c->nclient_keys; i++) {
		const char *k = c->client_keys[i].key;

		if (!keys_differ(k, strlen(k), v, len) && found == NULL)
			found = &c->client_keys[i];
	}
	return found;
}

int
keys_may_use(const struct conf_client_key *k, const char *model_id)
{
	size_t	 i;

	if (k == NULL || k->nallowed == 0)
		return 1;
	for (i = 0; i < k->nallowed; i++)
		if (strcmp(k->allowed[i], model_id) == 0)
			return 1;
	return 0;
}

const char *
keys_name(const struct conf_client_key *k)
{
	return k != NULL ? k->name : "-";
}
