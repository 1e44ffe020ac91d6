/*
 * conf_upstream.c: a provider's controls of the requests it is sent.
 *
 * headers: extra request headers. A name must be an HTTP token and may not
 * be one that frames the request or the connection (Host, Content-Length,
 * Transfer-Encoding, Connection and their kin): the proxy and libcurl own
 * those, and a second Content-Length would let an upstream read another
 * request than the one sent. A value may be "env:NAME" or "file:/path"
 * like every key, and such a value is a secret (secret_load masks it); a
 * value holds no control characters, so it cannot start a header of its
 * own. Each is kept as the "Name: value" line libcurl takes.
 *
 * params and drop: members of the upstream request body set or removed
 * after the translation, whatever the provider's api. The proxy owns the
 * members that carry the conversation and the stream (model, stream,
 * messages, input): those may be neither set nor removed.
 *
 * auth: the key as "Authorization: Bearer" or "x-api-key" (Anthropic's
 * own, the default for api "anthropic"). betas and count_tokens are the
 * Messages API's alone and refused elsewhere; for such a provider the
 * count_tokens endpoint is derived here, next to the messages one.
 *
 * Promises: conf_upstream_parse fills the controls or fails with one line
 * naming the key; conf_upstream_free releases what it filled, whether it
 * succeeded or not.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "buf.h"
#include "conf.h"
#include "conf_parse.h"

/* names that frame the request or the connection (RFC 9110, 9112) */
static const char *const framing_headers[] = {
	"host", "content-length", "transfer-encoding", "connection",
	"keep-alive", "proxy-connection", "upgrade", "te", "trailer",
	"expect",
};

/* the members that carry the conversation and the stream */
static const char *const owned_members[] = {
	"model", "stream", "messages", "input",
};

static int
token_char(unsigned char c)
{
	return isalnum(c) || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
header_name_ok(struct conf_ctx *cx, const char *kw, const char *name)
{
	size_t	 i;

	if (*name == '\0')
		return conf_err(cx, kw, "empty header name");
	for (i = 0; name[i] != '\0'; i++)
		if (!token_char((unsigned char)name[i]))
			return conf_err(cx, kw, "not a header name");
	for (i = 0; i < sizeof(framing_headers) / sizeof(framing_headers[0]);
	    i++)
		if (strcasecmp(name, framing_headers[i]) == 0)
			return conf_err(cx, kw, "%s frames the request and is "
			    "set by the proxy", name);
	return 0;
}

static int
conf_headers(struct conf_ctx *cx, json_object *obj, const char *where,
    struct conf_provider *p)
{
	json_object	*map;
	struct conf_header *h;
	struct buf	 line = BUF_INITIALIZER;
	char		 kw[CONF_PATHMAX], *value;
	size_t		 n;
	int		 indirect;

	map = conf_get(obj, conf_key_must("providers[].headers",
	    CONF_STRING_MAP));
	if (map == NULL || (n = (size_t)json_object_object_length(map)) == 0)
		return 0;
	if ((p->headers = calloc(n, sizeof(*p->headers))) == NULL)
		return conf_err(cx, where, "%s", strerror(errno));
	json_object_object_foreach(map, name, v) {
		conf_path(kw, sizeof(kw), "%s.headers.%s", where, name);
		if (header_name_ok(cx, kw, name) == -1)
			return -1;
		if (*json_object_get_string(v) == '\0')
			return conf_err(cx, kw, "empty");
		if (conf_secret_value(cx, kw, NULL, json_object_get_string(v),
		    &value, &indirect) == -1)
			return -1;
		h = &p->headers[p->nheaders++];
		h->secret = indirect;
		buf_reset(&line);
		if (buf_printf(&line, "%s: %s", name, value) == -1 ||
		    (h->name = strdup(name)) == NULL) {
			explicit_bzero(value, strlen(value));
			free(value);
			buf_free(&line);
			return conf_err(cx, kw, "%s", strerror(errno));
		}
		explicit_bzero(value, strlen(value));
		free(value);
		h->line = buf_steal(&line);
		h->value = h->line + strlen(name) + 2;
	}
	return 0;
}

static int
owned_member(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(owned_members) / sizeof(owned_members[0]); i++)
		if (strcmp(name, owned_members[i]) == 0)
			return 1;
	return 0;
}

static int
conf_params(struct conf_ctx *cx, json_object *obj, const char *where,
    struct conf_provider *p)
{
	json_object	*map;
	char		 kw[CONF_PATHMAX];

	map = conf_get(obj, conf_key_must("providers[].params",
	    CONF_VALUE_MAP));
	if (map == NULL || json_object_object_length(map) == 0)
		return 0;
	json_object_object_foreach(map, name, v) {
		(void)v;
		conf_path(kw, sizeof(kw), "%s.params.%s", where, name);
		if (*name == '\0')
			return conf_err(cx, kw, "empty member name");
		if (owned_member(name))
			return conf_err(cx, kw, "the proxy sets %s", name);
	}
	p->params = json_object_get(map);
	return 0;
}

static int
conf_drop(struct conf_ctx *cx, json_object *obj, const char *where,
    struct conf_provider *p)
{
	json_object	*arr;
	const char	*name;
	char		 kw[CONF_PATHMAX];
	size_t		 i, n;

	arr = conf_get(obj, conf_key_must("providers[].drop",
	    CONF_STRING_ARRAY));
	if (arr == NULL || (n = json_object_array_length(arr)) == 0)
		return 0;
	if ((p->drop = calloc(n, sizeof(*p->drop))) == NULL)
		return conf_err(cx, where, "%s", strerror(errno));
	for (i = 0; i < n; i++) {
		name = json_object_get_string(json_object_array_get_idx(arr,
		    i));
		conf_path(kw, sizeof(kw), "%s.drop[%zu]", where, i);
		if (*name == '\0')
			return conf_err(cx, kw, "empty");
		if (owned_member(name))
			return conf_err(cx, kw, "the proxy needs %s", name);
		if (conf_strdup(cx, kw, name, &p->drop[p->ndrop]) == -1)
			return -1;
		p->ndrop++;
	}
	return 0;
}

/* auth: "bearer" or "x-api-key"; Anthropic's API takes the latter */
static int
conf_auth(struct conf_ctx *cx, json_object *obj, const char *where,
    struct conf_provider *p)
{
	const char	*s;
	char		 kw[CONF_PATHMAX];

	p->auth = p->api == CONF_API_ANTHROPIC ? CONF_AUTH_X_API_KEY :
	    CONF_AUTH_BEARER;
	if (conf_str(cx, obj, where, "providers[].auth", 0, &s) == -1)
		return -1;
	if (s == NULL)
		return 0;
	if (strcmp(s, "bearer") == 0)
		p->auth = CONF_AUTH_BEARER;
	else if (strcmp(s, "x-api-key") == 0)
		p->auth = CONF_AUTH_X_API_KEY;
	else {
		conf_join(kw, sizeof(kw), where, "auth");
		return conf_err(cx, kw, "unknown \"%s\" (bearer or x-api-key)",
		    s);
	}
	return 0;
}

/* the options only the Messages API has: betas, count_tokens, and the
 * count_tokens endpoint next to the messages one (before its query) */
static int
conf_anthropic(struct conf_ctx *cx, json_object *obj, const char *where,
    struct conf_provider *p)
{
	json_object	*arr;
	const char	*name, *q;
	char		 kw[CONF_PATHMAX];
	size_t		 i, n;
	struct buf	 b = BUF_INITIALIZER;

	arr = conf_get(obj, conf_key_must("providers[].betas",
	    CONF_STRING_ARRAY));
	conf_bool(obj, "providers[].count_tokens", &p->count_tokens);
	if (p->api != CONF_API_ANTHROPIC) {
		conf_join(kw, sizeof(kw), where, arr != NULL ? "betas" :
		    "count_tokens");
		if (arr != NULL || p->count_tokens)
			return conf_err(cx, kw, "only for api \"anthropic\"");
		return 0;
	}
	q = p->url + strcspn(p->url, "?");
	if (buf_append(&b, p->url, (size_t)(q - p->url)) == -1 ||
	    buf_puts(&b, "/count_tokens") == -1 || buf_puts(&b, q) == -1) {
		buf_free(&b);
		return conf_err(cx, where, "%s", strerror(errno));
	}
	p->count_url = buf_steal(&b);
	if (arr == NULL)
		return 0;
	p->betas_listed = 1;
	if ((n = json_object_array_length(arr)) == 0)
		return 0;
	if ((p->betas = calloc(n, sizeof(*p->betas))) == NULL)
		return conf_err(cx, where, "%s", strerror(errno));
	for (i = 0; i < n; i++) {
		name = json_object_get_string(json_object_array_get_idx(arr,
		    i));
		conf_path(kw, sizeof(kw), "%s.betas[%zu]", where, i);
		if (*name == '\0' || strpbrk(name, ", \t") != NULL)
			return conf_err(cx, kw, "not a beta name");
		if (conf_strdup(cx, kw, name, &p->betas[p->nbetas]) == -1)
			return -1;
		p->nbetas++;
	}
	return 0;
}

int
conf_upstream_parse(struct conf_ctx *cx, json_object *obj, const char *where,
    struct conf_provider *p)
{
	if (conf_headers(cx, obj, where, p) == -1 ||
	    conf_params(cx, obj, where, p) == -1 ||
	    conf_drop(cx, obj, where, p) == -1 ||
	    conf_auth(cx, obj, where, p) == -1 ||
	    conf_anthropic(cx, obj, where, p) == -1)
		return -1;
	return 0;
}

void
conf_upstream_free(struct conf_provider *p)
{
	size_t	 i;

	for (i = 0; i < p->nheaders; i++) {
		if (p->headers[i].secret && p->headers[i].line != NULL)
			explicit_bzero(p->headers[i].line,
			    strlen(p->headers[i].line));
		free(p->headers[i].name);
		free(p->headers[i].line);
	}
	free(p->headers);
	p->headers = NULL;
	p->nheaders = 0;
	json_object_put(p->params);
	p->params = NULL;
	for (i = 0; i < p->ndrop; i++)
		free(p->drop[i]);
	free(p->drop);
	p->drop = NULL;
	p->ndrop = 0;
	for (i = 0; i < p->nbetas; i++)
		free(p->betas[i]);
	free(p->betas);
	p->betas = NULL;
	p->nbetas = 0;
}
