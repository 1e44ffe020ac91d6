/*
 * conf_team.c: the team gateway's part of the configuration file: keys[]
 * (named client keys with the models they may use and their limits),
 * routes[] (ordered rules that pick a model), usage_log and the limits
 * backend (local shared memory, or Redis).
 *
 * conf.c calls conf_team_parse once the providers are read and
 * conf_team_check once the model table has passed its own checks, since
 * keys and routes name models. "ak", when set, becomes the first client
 * key, named "ak", with every model and no limits, so that the rest of the
 * daemon knows one kind of key.
 *
 * Promises: every name that reaches a log line or a metrics label (key
 * and route names) is 1..64 of A-Z a-z 0-9 . _ -; no two keys share a
 * name or a secret; every model named resolves; a Redis URL is taken
 * apart here, and its password is only ever kept as a secret. Errors are
 * conf.c's one line "<key path>: <problem>"; what was allocated is freed
 * by conf_team_free, which conf_free calls.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "conf.h"
#include "conf_parse.h"
#include "models.h"

#define TEAM_MAX_KEYS		1000
#define TEAM_MAX_ROUTES		256
#define TEAM_NAME_MAX		64
#define REDIS_DEFAULT_PORT	6379

/* names go into log lines and metrics labels as they are */
static int
team_name_ok(const char *s)
{
	size_t	 n = strlen(s);

	return n >= 1 && n <= TEAM_NAME_MAX &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") == n;
}

static int
team_name(struct conf_ctx *cx, json_object *obj, const char *where,
    const char *path, char **out)
{
	const char	*s;
	char		 kw[CONF_PATHMAX];

	if (conf_str(cx, obj, where, path, 0, &s) == -1)
		return -1;
	conf_join(kw, sizeof(kw), where, "name");
	if (!team_name_ok(s))
		return conf_err(cx, kw, "\"%.80s\": use 1 to 64 of A-Z a-z "
		    "0-9 . _ -", s);
	return conf_strdup(cx, kw, s, out);
}

/* a boolean that may be absent: -1 */
static int
team_tristate(json_object *obj, const char *path)
{
	json_object	*v = conf_get(obj, conf_key_must(path, CONF_BOOL));

	return v == NULL ? -1 : json_object_get_boolean(v);
}

static int
team_limits(struct conf_ctx *cx, json_object *key, const char *where,
    struct conf_limits *l)
{
	static const struct {
		const char	*path;
		size_t		 off;
	} ints[] = {
		{ "keys[].limits.requests_per_minute",
		    offsetof(struct conf_limits, requests_per_minute) },
		{ "keys[].limits.concurrent_requests",
		    offsetof(struct conf_limits, concurrent_requests) },
		{ "keys[].limits.input_tokens_per_minute",
		    offsetof(struct conf_limits, input_tokens_per_minute) },
		{ "keys[].limits.output_tokens_per_day",
		    offsetof(struct conf_limits, output_tokens_per_day) },
	};
	json_object	*obj, *none = NULL;
	char		 lw[CONF_PATHMAX];
	long long	 n;
	size_t		 i;
	int		 rv = 0;

	obj = conf_get(key, conf_key_must("keys[].limits", CONF_OBJECT));
	if (obj == NULL && (obj = none = json_object_new_object()) == NULL)
		return conf_err(cx, where, "%s", strerror(errno));
	conf_join(lw, sizeof(lw), where, "limits");
	for (i = 0; rv == 0 && i < sizeof(ints) / sizeof(ints[0]); i++)
		if ((rv = conf_int(cx, obj, lw, ints[i].path, &n)) == 0)
			*(int64_t *)((char *)l + ints[i].off) = n;
	json_object_put(none);
	return rv;
}

static int
team_key(struct conf_ctx *cx, json_object *obj, const char *where,
    struct conf_client_key *k)
{
	json_object	*arr;
	const char	*s;
	char		 kw[CONF_PATHMAX];
	size_t		 i;

	if (team_name(cx, obj, where, "keys[].name", &k->name) == -1)
		return -1;
	if (strcmp(k->name, "ak") == 0) {
		conf_join(kw, sizeof(kw), where, "name");
		return conf_err(cx, kw, "\"ak\" is the name of the top-level "
		    "ak");
	}
	if (conf_secret(cx, obj, where, "keys[].key", &k->key) == -1)
		return -1;
	if (k->key[0] == '\0') {
		conf_join(kw, sizeof(kw), where, "key");
		return conf_err(cx, kw, "empty");
	}
	if (conf_str(cx, obj, where, "keys[].default_model", 0, &s) == -1 ||
	    (s != NULL && conf_strdup(cx, where, s, &k->default_model) == -1))
		return -1;
	if (team_limits(cx, obj, where, &k->limits) == -1)
		return -1;
	k->limited = k->limits.requests_per_minute > 0 ||
	    k->limits.concurrent_requests > 0 ||
	    k->limits.input_tokens_per_minute > 0 ||
	    k->limits.output_tokens_per_day > 0;

	arr = conf_get(obj, conf_key_must("keys[].models", CONF_STRING_ARRAY));
	if (arr == NULL || json_object_array_length(arr) == 0)
		return 0;
	k->nmodels = json_object_array_length(arr);
	if ((k->models = calloc(k->nmodels, sizeof(*k->models))) == NULL) {
		k->nmodels = 0;
		return conf_err(cx, where, "%s", strerror(errno));
	}
	for (i = 0; i < k->nmodels; i++) {
		s = json_object_get_string(json_object_array_get_idx(arr, i));
		conf_path(kw, sizeof(kw), "%s.models[%zu]", where, i);
		if (*s == '\0')
			return conf_err(cx, kw, "empty");
		if (conf_strdup(cx, kw, s, &k->models[i]) == -1)
			return -1;
	}
	return 0;
}

/* the secrets of two keys are compared so that a client's key names one
 * key only; the message names the other by its path, never the key */
static int
team_keys_unique(struct conf_ctx *cx, const struct conf *c, size_t first)
{
	char	 kw[CONF_PATHMAX], other[CONF_PATHMAX];
	size_t	 i, j;

	for (i = 0; i < c->nclient_keys; i++)
		for (j = 0; j < i; j++) {
			const struct conf_client_key *a = &c->client_keys[i];
			const struct conf_client_key *b = &c->client_keys[j];

			if (j < first)
				snprintf(other, sizeof(other), "ak");
			else
				snprintf(other, sizeof(other), "keys[%zu]",
				    j - first);
			if (strcmp(a->name, b->name) == 0) {
				conf_path(kw, sizeof(kw), "keys[%zu].name",
				    i - first);
				return conf_err(cx, kw, "duplicate name \"%s\" "
				    "(also %s)", a->name, other);
			}
			if (strcmp(a->key, b->key) == 0) {
				conf_path(kw, sizeof(kw), "keys[%zu].key",
				    i - first);
				return conf_err(cx, kw, "the same key as %s",
				    other);
			}
		}
	return 0;
}

static int
team_keys(struct conf_ctx *cx, json_object *root, struct conf *c)
{
	json_object	*arr;
	char		 kw[CONF_PATHMAX];
	size_t		 n, i, first;

	arr = conf_get(root, conf_key_must("keys", CONF_ARRAY));
	n = arr != NULL ? json_object_array_length(arr) : 0;
	if (n > TEAM_MAX_KEYS)
		return conf_err(cx, "keys", "more than %d keys", TEAM_MAX_KEYS);
	first = c->ak != NULL && c->ak[0] != '\0';
	if (n + first == 0)
		return 0;
	if ((c->client_keys = calloc(n + first, sizeof(*c->client_keys))) ==
	    NULL)
		return conf_err(cx, "keys", "%s", strerror(errno));
	if (first) {
		c->nclient_keys = 1;
		if (conf_strdup(cx, "ak", "ak", &c->client_keys[0].name) ==
		    -1 || conf_strdup(cx, "ak", c->ak,
		    &c->client_keys[0].key) == -1)
			return -1;
	}
	for (i = 0; i < n; i++) {
		conf_path(kw, sizeof(kw), "keys[%zu]", i);
		c->nclient_keys++;
		if (team_key(cx, json_object_array_get_idx(arr, i), kw,
		    &c->client_keys[first + i]) == -1)
			return -1;
	}
	return team_keys_unique(cx, c, first);
}

static int
team_route(struct conf_ctx *cx, json_object *obj, const char *where,
    struct conf_route *r)
{
	json_object	*m, *none = NULL;
	const char	*s;
	char		 mw[CONF_PATHMAX];
	long long	 n;
	int		 rv = -1;

	if (team_name(cx, obj, where, "routes[].name", &r->name) == -1 ||
	    conf_str(cx, obj, where, "routes[].model", 0, &s) == -1 ||
	    conf_strdup(cx, where, s, &r->model) == -1)
		return -1;
	m = conf_get(obj, conf_key_must("routes[].match", CONF_OBJECT));
	if (m == NULL && (m = none = json_object_new_object()) == NULL)
		return conf_err(cx, where, "%s", strerror(errno));
	conf_join(mw, sizeof(mw), where, "match");
	if (conf_str(cx, m, mw, "routes[].match.model", 0, &s) == -1 ||
	    (s != NULL && conf_strdup(cx, mw, s, &r->match.model) == -1))
		goto done;
	if (conf_str(cx, m, mw, "routes[].match.key", 0, &s) == -1 ||
	    (s != NULL && conf_strdup(cx, mw, s, &r->match.key) == -1))
		goto done;
	if (conf_int(cx, m, mw, "routes[].match.min_input_tokens", &n) == -1)
		goto done;
	r->match.min_input_tokens = n;
	r->match.thinking = team_tristate(m, "routes[].match.thinking");
	r->match.images = team_tristate(m, "routes[].match.images");
	r->match.server_tools = team_tristate(m,
	    "routes[].match.server_tools");
	r->match.no_tools = team_tristate(m, "routes[].match.no_tools");
	rv = 0;
 done:
	json_object_put(none);
	return rv;
}

static int
team_routes(struct conf_ctx *cx, json_object *root, struct conf *c)
{
	json_object	*arr;
	char		 kw[CONF_PATHMAX];
	size_t		 n, i, j;

	arr = conf_get(root, conf_key_must("routes", CONF_ARRAY));
	n = arr != NULL ? json_object_array_length(arr) : 0;
	if (n == 0)
		return 0;
	if (n > TEAM_MAX_ROUTES)
		return conf_err(cx, "routes", "more than %d routes",
		    TEAM_MAX_ROUTES);
	if ((c->routes = calloc(n, sizeof(*c->routes))) == NULL)
		return conf_err(cx, "routes", "%s", strerror(errno));
	for (i = 0; i < n; i++) {
		conf_path(kw, sizeof(kw), "routes[%zu]", i);
		c->nroutes++;
		if (team_route(cx, json_object_array_get_idx(arr, i), kw,
		    &c->routes[i]) == -1)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(c->routes[i].name, c->routes[j].name) ==
			    0) {
				conf_path(kw, sizeof(kw), "routes[%zu].name",
				    i);
				return conf_err(cx, kw, "duplicate name \"%s\" "
				    "(also routes[%zu])", c->routes[i].name,
				    j);
			}
	}
	return 0;
}

/* %XX in the user and password of a URL */
static char *
team_unpercent(const char *s, size_t len)
{
	char	*out, *o;
	size_t	 i;

	if ((out = o = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len &&
		    isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = { s[i + 1], s[i + 2], '\0' };

			*o++ = (char)strtol(hex, NULL, 16);
			i += 2;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	return out;
}

/* redis://[[user]:password@]host[:port][/db] */
static int
team_redis_url(struct conf_ctx *cx, const char *url, struct conf *c)
{
	static const char kw[] = "limits_backend";
	const char	*p = url + 8, *at, *end, *host, *colon, *s;
	const char	*errstr;
	size_t		 hostlen;

	end = p + strcspn(p, "/?#");
	if (*end == '?' || *end == '#')
		return conf_err(cx, kw, "query or fragment not allowed");
	for (s = url; *s; s++)
		if (iscntrl((unsigned char)*s) || *s == ' ')
			return conf_err(cx, kw, "not a redis:// URL");
	/* the last '@' before the path: a password may hold one */
	for (at = NULL, s = p; s < end; s++)
		if (*s == '@')
			at = s;
	host = at != NULL ? at + 1 : p;
	if (at != NULL) {
		colon = memchr(p, ':', at - p);
		if (colon == NULL)
			return conf_err(cx, kw, "user without a password "
			    "(redis://:password@host)");
		if (colon > p && (c->redis_user = team_unpercent(p,
		    colon - p)) == NULL)
			return conf_err(cx, kw, "%s", strerror(errno));
		if (colon + 1 == at)
			return conf_err(cx, kw, "empty password");
		if ((c->redis_password = team_unpercent(colon + 1,
		    at - colon - 1)) == NULL)
			return conf_err(cx, kw, "%s", strerror(errno));
	}
	c->redis_port = REDIS_DEFAULT_PORT;
	if (*host == '[') {
		if ((s = memchr(host, ']', end - host)) == NULL)
			return conf_err(cx, kw, "not a redis:// URL");
		hostlen = s - host - 1;
		host++;
		colon = s + 1 < end && s[1] == ':' ? s + 1 : NULL;
	} else {
		colon = memchr(host, ':', end - host);
		hostlen = (colon != NULL ? colon : end) - host;
	}
	if (hostlen == 0)
		return conf_err(cx, kw, "no host");
	if ((c->redis_host = strndup(host, hostlen)) == NULL)
		return conf_err(cx, kw, "%s", strerror(errno));
	if (colon != NULL) {
		char port[8];

		if (end - colon - 1 < 1 || end - colon - 1 > 5)
			return conf_err(cx, kw, "bad port");
		snprintf(port, sizeof(port), "%.*s", (int)(end - colon - 1),
		    colon + 1);
		c->redis_port = (int)strtonum(port, 1, 65535, &errstr);
		if (errstr != NULL)
			return conf_err(cx, kw, "port %s is %s", port, errstr);
	}
	if (*end == '/' && end[1] != '\0') {
		c->redis_db = (int)strtonum(end + 1, 0, 1000000, &errstr);
		if (errstr != NULL)
			return conf_err(cx, kw, "database \"%.20s\" is %s",
			    end + 1, errstr);
	}
	return 0;
}

static int
team_backend(struct conf_ctx *cx, json_object *root, struct conf *c)
{
	const char	*literal = cx->literal;
	char		*url = NULL;
	const char	*s;
	long long	 n;
	int		 rv;

	if (conf_str(cx, root, "", "usage_log", 1, &s) == -1 ||
	    conf_strdup(cx, "usage_log", s != NULL ? s : "", &c->usage_log) ==
	    -1)
		return -1;
	if (c->usage_log[0] != '\0' && c->usage_log[0] != '/')
		return conf_err(cx, "usage_log", "needs an absolute path");
	for (s = c->usage_log; *s; s++)
		if (iscntrl((unsigned char)*s))
			return conf_err(cx, "usage_log",
			    "contains control characters");

	if (conf_str(cx, root, "", "limits_redis_failure", 0, &s) == -1)
		return -1;
	if (s != NULL && strcmp(s, "open") != 0 && strcmp(s, "closed") != 0)
		return conf_err(cx, "limits_redis_failure", "\"%.40s\": "
		    "\"open\" or \"closed\"", s);
	c->limits_redis_fail_open = s == NULL || strcmp(s, "open") == 0;
	if (conf_int(cx, root, "", "limits_redis_timeout_ms", &n) == -1)
		return -1;
	c->limits_redis_timeout_ms = (int)n;

	/* the URL may come from env: or file: since it may hold a password;
	 * only a literal one with a password is worth the warning */
	if (conf_str(cx, root, "", "limits_backend", 0, &s) == -1)
		return -1;
	if (s == NULL || strcmp(s, "local") == 0)
		return 0;
	if (conf_secret(cx, root, "", "limits_backend", &url) == -1)
		return -1;
	cx->literal = literal;
	if (strncasecmp(url, "redis://", 8) != 0)
		rv = conf_err(cx, "limits_backend", "\"local\" or a redis:// "
		    "URL");
	else
		rv = team_redis_url(cx, url, c);
	if (rv == 0 && c->redis_password != NULL && cx->literal == NULL &&
	    strncmp(s, "env:", 4) != 0 && strncmp(s, "file:", 5) != 0)
		cx->literal = "limits_backend";
	explicit_bzero(url, strlen(url));
	free(url);
	return rv;
}

int
conf_team_parse(struct conf_ctx *cx, json_object *root, struct conf *c)
{
	if (team_keys(cx, root, c) == -1 || team_routes(cx, root, c) == -1 ||
	    team_backend(cx, root, c) == -1)
		return -1;
	return 0;
}

/*
 * The checks that need the whole model table.
 */

static int
team_has_id(const struct conf *c, const char *id)
{
	size_t	 i, j;

	for (i = 0; i < c->nproviders; i++)
		for (j = 0; j < c->providers[i].nmodels; j++)
			if (strcmp(c->providers[i].models[j].id, id) == 0)
				return 1;
	return 0;
}

static int
team_allow(struct conf_client_key *k, const char *id)
{
	const char	**a;
	size_t		 i;

	for (i = 0; i < k->nallowed; i++)
		if (strcmp(k->allowed[i], id) == 0)
			return 0;
	if ((a = reallocarray(k->allowed, k->nallowed + 1,
	    sizeof(*a))) == NULL)
		return -1;
	a[k->nallowed++] = id;
	k->allowed = a;
	return 0;
}

static int
team_check_key(struct conf_ctx *cx, struct conf *c, size_t i, size_t first)
{
	struct conf_client_key *k = &c->client_keys[i];
	struct model_route	 r[16];
	char			 kw[CONF_PATHMAX];
	size_t			 m, n, j;

	for (m = 0; m < k->nmodels; m++) {
		conf_path(kw, sizeof(kw), "keys[%zu].models[%zu]", i - first,
		    m);
		if ((n = models_resolve(c, k->models[m], r, 16)) == 0)
			return conf_err(cx, kw, "no model answers to \"%s\"",
			    k->models[m]);
		for (j = 0; j < n; j++)
			if (team_allow(k, r[j].model->id) == -1)
				return conf_err(cx, kw, "%s", strerror(errno));
	}
	if (k->default_model == NULL)
		return 0;
	conf_path(kw, sizeof(kw), "keys[%zu].default_model", i - first);
	if (!team_has_id(c, k->default_model))
		return conf_err(cx, kw, "no model has the id \"%s\"",
		    k->default_model);
	for (j = 0; j < k->nallowed; j++)
		if (strcmp(k->allowed[j], k->default_model) == 0)
			break;
	if (k->nallowed > 0 && j == k->nallowed)
		return conf_err(cx, kw, "\"%s\" is not one of the key's models",
		    k->default_model);
	return 0;
}

int
conf_team_check(struct conf_ctx *cx, struct conf *c)
{
	const struct conf_route *r;
	char			 kw[CONF_PATHMAX];
	size_t			 i, j, first;

	first = c->ak != NULL && c->ak[0] != '\0';
	for (i = first; i < c->nclient_keys; i++)
		if (team_check_key(cx, c, i, first) == -1)
			return -1;
	for (i = 0; i < c->nroutes; i++) {
		r = &c->routes[i];
		if (!team_has_id(c, r->model)) {
			conf_path(kw, sizeof(kw), "routes[%zu].model", i);
			return conf_err(cx, kw, "no model has the id \"%s\"",
			    r->model);
		}
		if (r->match.key == NULL)
			continue;
		for (j = 0; j < c->nclient_keys; j++)
			if (strcmp(c->client_keys[j].name, r->match.key) == 0)
				break;
		if (j == c->nclient_keys) {
			conf_path(kw, sizeof(kw), "routes[%zu].match.key", i);
			return conf_err(cx, kw, "no key is named \"%s\"",
			    r->match.key);
		}
	}
	return 0;
}

void
conf_team_free(struct conf *c)
{
	struct conf_client_key *k;
	struct conf_route *r;
	size_t	 i, j;

	for (i = 0; i < c->nclient_keys; i++) {
		k = &c->client_keys[i];
		free(k->name);
		if (k->key != NULL)
			explicit_bzero(k->key, strlen(k->key));
		free(k->key);
		for (j = 0; j < k->nmodels; j++)
			free(k->models[j]);
		free(k->models);
		free(k->allowed);
		free(k->default_model);
	}
	free(c->client_keys);
	for (i = 0; i < c->nroutes; i++) {
		r = &c->routes[i];
		free(r->name);
		free(r->model);
		free(r->match.model);
		free(r->match.key);
	}
	free(c->routes);
	free(c->usage_log);
	free(c->redis_host);
	free(c->redis_user);
	if (c->redis_password != NULL)
		explicit_bzero(c->redis_password, strlen(c->redis_password));
	free(c->redis_password);
}
