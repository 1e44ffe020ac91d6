/*
 * conf_upkeys.c: a provider's upstream keys and retries in the
 * configuration file: providers[].api_key, providers[].api_keys and the
 * providers[].retries object.
 *
 * api_key and api_keys are exclusive and one of them is required:
 * api_key is the one key as before (never set aside: a provider with one
 * key has nothing to rotate to); api_keys is a non-empty array of keys,
 * each resolved as every secret is ("env:NAME", "file:/path" or literal),
 * none empty, none repeated, that upkeys.c uses in turn. With api_keys,
 * p->api_key is a copy of the first, for code that knows one key.
 *
 * Promises: on success p->api_key is set (maybe ""), p->api_keys is NULL
 * or holds napi_keys resolved keys, and p->retries holds the table's
 * defaults for what is absent (count 0 without the object). Errors are
 * conf.c's one line "<key path>: <problem>"; what was allocated is freed
 * by conf_upkeys_free, which conf_free calls.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "conf.h"
#include "conf_parse.h"

#define UPKEYS_CONF_MAX	32	/* keys of one provider (upkeys.h agrees) */

static int
conf_upkeys_array(struct conf_ctx *cx, json_object *arr, const char *where,
    struct conf_provider *p)
{
	char		 kw[CONF_PATHMAX];
	const char	*s;
	size_t		 i, j, n = json_object_array_length(arr);

	conf_join(kw, sizeof(kw), where, "api_keys");
	if (n == 0)
		return conf_err(cx, kw, "empty");
	if (n > UPKEYS_CONF_MAX)
		return conf_err(cx, kw, "%zu keys, at most %d", n,
		    UPKEYS_CONF_MAX);
	if ((p->api_keys = calloc(n, sizeof(*p->api_keys))) == NULL)
		return conf_err(cx, kw, "%s", strerror(errno));
	for (i = 0; i < n; i++) {
		conf_path(kw, sizeof(kw), "%s.api_keys[%zu]", where, i);
		s = json_object_get_string(json_object_array_get_idx(arr, i));
		if (*s == '\0')
			return conf_err(cx, kw, "empty");
		if (conf_secret_value(cx, kw, "api_keys", s,
		    &p->api_keys[i], NULL) == -1)
			return -1;
		p->napi_keys = i + 1;
		/* a key twice would be used twice as often and set aside
		 * twice: surely a mistake (an env: and a file: of one key) */
		for (j = 0; j < i; j++)
			if (strcmp(p->api_keys[j], p->api_keys[i]) == 0)
				return conf_err(cx, kw, "the same key as "
				    "api_keys[%zu]", j);
	}
	return conf_strdup(cx, kw, p->api_keys[0], &p->api_key);
}

static int
conf_upkeys_retries(struct conf_ctx *cx, json_object *obj, const char *where,
    struct conf_provider *p)
{
	const struct conf_key *k = conf_key_must("providers[].retries",
	    CONF_OBJECT);
	json_object	*r;
	char		 rw[CONF_PATHMAX];
	long long	 count, base, cap;

	memset(&p->retries, 0, sizeof(p->retries));
	if ((r = conf_get(obj, k)) == NULL)
		return 0;
	conf_join(rw, sizeof(rw), where, "retries");
	if (conf_int(cx, r, rw, "providers[].retries.count", &count) == -1 ||
	    conf_int(cx, r, rw, "providers[].retries.base_ms", &base) == -1 ||
	    conf_int(cx, r, rw, "providers[].retries.max_wait_seconds",
	    &cap) == -1)
		return -1;
	p->retries.count = (int)count;
	p->retries.base_ms = (int)base;
	p->retries.max_wait_seconds = (int)cap;
	return 0;
}

int
conf_upkeys_parse(struct conf_ctx *cx, json_object *obj, const char *where,
    struct conf_provider *p)
{
	const struct conf_key *k = conf_key_must("providers[].api_keys",
	    CONF_STRING_ARRAY);
	json_object	*arr = conf_get(obj, k);
	char		 kw[CONF_PATHMAX];
	const char	*one;

	conf_join(kw, sizeof(kw), where, "api_key");
	if (conf_str(cx, obj, where, "providers[].api_key", 1, &one) == -1)
		return -1;
	if (one != NULL && arr != NULL)
		return conf_err(cx, kw, "not with api_keys (one key in "
		    "api_key, or all of them in api_keys)");
	if (one == NULL && arr == NULL)
		return conf_err(cx, kw, "missing (or api_keys; \"\" for "
		    "none)");
	if (arr != NULL) {
		if (conf_upkeys_array(cx, arr, where, p) == -1)
			return -1;
	} else if (conf_secret(cx, obj, where, "providers[].api_key",
	    &p->api_key) == -1)
		return -1;
	return conf_upkeys_retries(cx, obj, where, p);
}

void
conf_upkeys_free(struct conf_provider *p)
{
	size_t	 i;

	for (i = 0; i < p->napi_keys; i++) {
		explicit_bzero(p->api_keys[i], strlen(p->api_keys[i]));
		free(p->api_keys[i]);
	}
	free(p->api_keys);
	p->api_keys = NULL;
	p->napi_keys = 0;
	if (p->api_key != NULL)
		explicit_bzero(p->api_key, strlen(p->api_key));
	free(p->api_key);
	p->api_key = NULL;
}
