/*
 * srvtool.c: Anthropic's server tools in a request, as the proxy runs them.
 *
 * A request's tools may hold web_search_20250305, web_fetch_20250910 and
 * their later versions (web_search_<date>, web_fetch_<date>): tools with a
 * type and options but no input_schema, which Anthropic's servers run. The
 * proxy runs them itself (srvloop.c) when the configuration has a search
 * backend or turns the fetcher on; the upstream model is then offered a
 * function of the same name (web_search(query), web_fetch(url)) next to
 * the client's own tools. Without that configuration they are dropped as
 * before (xlate_req logs it).
 *
 * Their options are checked whether or not the proxy runs them, as
 * Anthropic answers a malformed definition with a 400: the name is the
 * tool's own, max_uses and max_content_tokens are positive integers, the
 * domain lists hold well-formed entries (webdomain_valid) and are not both
 * given, user_location is {"type":"approximate", city, region, country (two
 * letters), timezone}, citations is {"enabled": boolean}, and no two tools
 * share a server tool's name. Options the proxy has no use for
 * (cache_control, defer_loading, strict, allowed_callers, url_sources,
 * use_cache, ...) are accepted and ignored.
 *
 * Promises: a filled srvtool_set borrows the request's strings (free the
 * set before the request); fails only with a 400 that names the path, or
 * a 500 when memory runs out.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "conf.h"
#include "srvtool.h"
#include "webdomain.h"
#include "xlate.h"

#define PATH_MAX_LEN	96

static const char *const names[SRVTOOL_NKINDS] = { "web_search",
	"web_fetch" };

enum srvtool_kind
srvtool_kind(const char *type)
{
	static const char *const prefixes[SRVTOOL_NKINDS] = {
		"web_search_", "web_fetch_"
	};
	const char	*p;
	int		 k;

	if (type == NULL)
		return SRVTOOL_NONE;
	for (k = 0; k < SRVTOOL_NKINDS; k++) {
		if (strncmp(type, prefixes[k], strlen(prefixes[k])) != 0)
			continue;
		p = type + strlen(prefixes[k]);
		if (*p == '\0')
			return SRVTOOL_NONE;
		for (; *p != '\0'; p++)
			if (!isdigit((unsigned char)*p))
				return SRVTOOL_NONE;
		return (enum srvtool_kind)k;
	}
	return SRVTOOL_NONE;
}

const char *
srvtool_name(enum srvtool_kind k)
{
	return k >= 0 && k < SRVTOOL_NKINDS ? names[k] : "";
}

enum srvtool_kind
srvtool_kind_of_name(const char *name)
{
	int	 k;

	for (k = 0; name != NULL && k < SRVTOOL_NKINDS; k++)
		if (strcmp(name, names[k]) == 0)
			return (enum srvtool_kind)k;
	return SRVTOOL_NONE;
}

int
srvtool_enabled(enum srvtool_kind k)
{
	if (conf == NULL)
		return 0;
	if (k == SRVTOOL_SEARCH)
		return conf->web_search.backend != NULL;
	if (k == SRVTOOL_FETCH)
		return conf->web_fetch.enabled;
	return 0;
}

static const char *
type_of(json_object *t)
{
	json_object	*v;

	if (!json_object_is_type(t, json_type_object) ||
	    !json_object_object_get_ex(t, "type", &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

unsigned
srvtool_offered(json_object *req)
{
	json_object	*tools;
	enum srvtool_kind k;
	unsigned	 bits = 0;
	size_t		 i, n;

	if (!json_object_is_type(req, json_type_object) ||
	    !json_object_object_get_ex(req, "tools", &tools) ||
	    !json_object_is_type(tools, json_type_array))
		return 0;
	n = json_object_array_length(tools);
	for (i = 0; i < n; i++) {
		k = srvtool_kind(type_of(json_object_array_get_idx(tools, i)));
		if (k != SRVTOOL_NONE && srvtool_enabled(k))
			bits |= SRVTOOL_BIT(k);
	}
	return bits;
}

/* ---- checking a definition ---------------------------------------------- */

struct check {
	struct xlate_err	*err;
	char			 path[PATH_MAX_LEN];	/* "tools[3]" */
};

static int
bad(struct check *c, const char *key, const char *what)
{
	if (key != NULL)
		xlate_err_set(c->err, 400, "invalid_request_error", "%s.%s: %s",
		    c->path, key, what);
	else
		xlate_err_set(c->err, 400, "invalid_request_error", "%s: %s",
		    c->path, what);
	return -1;
}

static int
nomem(struct check *c)
{
	xlate_err_set(c->err, 500, "api_error", "out of memory");
	return -1;
}

/* t[key] when present and not null, else NULL */
static json_object *
member(json_object *t, const char *key)
{
	json_object	*v;

	if (!json_object_object_get_ex(t, key, &v))
		return NULL;
	return v;
}

static int
positive(struct check *c, json_object *t, const char *key, int64_t *out)
{
	json_object	*v = member(t, key);

	*out = 0;
	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) <= 0)
		return bad(c, key, "must be a positive integer");
	*out = json_object_get_int64(v);
	return 0;
}

/* a domain list: null, or an array of well-formed entries */
static int
domains(struct check *c, json_object *t, const char *key, const char ***out,
    size_t *nout)
{
	json_object	*v = member(t, key), *e;
	char		 what[256];
	size_t		 i, n;

	*out = NULL;
	*nout = 0;
	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return bad(c, key, "expected array");
	if ((n = json_object_array_length(v)) == 0)
		return 0;
	if ((*out = calloc(n, sizeof(**out))) == NULL)
		return nomem(c);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string)) {
			snprintf(what, sizeof(what), "entry %zu: expected "
			    "string", i);
			return bad(c, key, what);
		}
		if (!webdomain_valid(json_object_get_string(e))) {
			snprintf(what, sizeof(what), "entry %zu (\"%.64s\") is "
			    "not a domain (\"example.com\", optionally with a "
			    "path; no scheme, no wildcard in the domain)", i,
			    json_object_get_string(e));
			return bad(c, key, what);
		}
		(*out)[(*nout)++] = json_object_get_string(e);
	}
	return 0;
}

static int
location_field(struct check *c, json_object *loc, const char *key,
    const char **out)
{
	json_object	*v = member(loc, key);
	char		 k[40];

	*out = NULL;
	snprintf(k, sizeof(k), "user_location.%s", key);
	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return bad(c, k, "expected string");
	if (json_object_get_string_len(v) > 0)
		*out = json_object_get_string(v);
	return 0;
}

static int
location(struct check *c, json_object *t, struct web_location *out)
{
	json_object	*loc = member(t, "user_location"), *type;
	const char	*cc;

	memset(out, 0, sizeof(*out));
	if (loc == NULL)
		return 0;
	if (!json_object_is_type(loc, json_type_object))
		return bad(c, "user_location", "expected object");
	type = member(loc, "type");
	if (type == NULL || !json_object_is_type(type, json_type_string) ||
	    strcmp(json_object_get_string(type), "approximate") != 0)
		return bad(c, "user_location.type", "must be \"approximate\"");
	if (location_field(c, loc, "city", &out->city) == -1 ||
	    location_field(c, loc, "region", &out->region) == -1 ||
	    location_field(c, loc, "country", &out->country) == -1 ||
	    location_field(c, loc, "timezone", &out->timezone) == -1)
		return -1;
	cc = out->country;
	if (cc != NULL && (strlen(cc) != 2 || !isalpha((unsigned char)cc[0]) ||
	    !isalpha((unsigned char)cc[1])))
		return bad(c, "user_location.country", "must be a two-letter "
		    "ISO 3166-1 country code");
	return 0;
}

static int
citations(struct check *c, json_object *t, int *out)
{
	json_object	*v = member(t, "citations"), *e;

	*out = 0;
	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return bad(c, "citations", "expected object");
	if ((e = member(v, "enabled")) == NULL)
		return 0;
	if (!json_object_is_type(e, json_type_boolean))
		return bad(c, "citations.enabled", "expected boolean");
	*out = json_object_get_boolean(e);
	return 0;
}

static void
def_free(struct srvtool_def *d)
{
	free(d->allowed);
	free(d->blocked);
	memset(d, 0, sizeof(*d));
}

/* one server tool's definition into d */
static int
check_def(struct check *c, json_object *t, enum srvtool_kind k,
    struct srvtool_def *d)
{
	json_object	*name = member(t, "name");
	char		 what[64];

	if (name == NULL)
		return bad(c, "name", "field required");
	if (!json_object_is_type(name, json_type_string) ||
	    strcmp(json_object_get_string(name), names[k]) != 0) {
		snprintf(what, sizeof(what), "must be \"%s\"", names[k]);
		return bad(c, "name", what);
	}
	d->present = 1;
	if (positive(c, t, "max_uses", &d->max_uses) == -1 ||
	    domains(c, t, "allowed_domains", &d->allowed, &d->nallowed) == -1 ||
	    domains(c, t, "blocked_domains", &d->blocked, &d->nblocked) == -1)
		return -1;
	if (d->nallowed > 0 && d->nblocked > 0)
		return bad(c, NULL, "allowed_domains and blocked_domains cannot "
		    "both be given");
	if (k == SRVTOOL_SEARCH)
		return location(c, t, &d->location);
	if (positive(c, t, "max_content_tokens", &d->max_content_tokens) ==
	    -1)
		return -1;
	return citations(c, t, &d->citations);
}

/* no other tool may take a server tool's name */
static int
unique_names(struct check *c, json_object *tools, unsigned kinds)
{
	json_object	*t, *name;
	size_t		 i, n = json_object_array_length(tools);
	unsigned	 seen = 0;
	enum srvtool_kind k;

	for (i = 0; i < n; i++) {
		t = json_object_array_get_idx(tools, i);
		if (!json_object_is_type(t, json_type_object) ||
		    (name = member(t, "name")) == NULL ||
		    !json_object_is_type(name, json_type_string))
			continue;
		k = srvtool_kind_of_name(json_object_get_string(name));
		if (k == SRVTOOL_NONE || !(kinds & SRVTOOL_BIT(k)))
			continue;
		if (seen & SRVTOOL_BIT(k)) {
			snprintf(c->path, sizeof(c->path), "tools[%zu].name", i);
			return bad(c, NULL, "tool names must be unique");
		}
		seen |= SRVTOOL_BIT(k);
	}
	return 0;
}

int
srvtool_scan(json_object *tools, struct srvtool_set *set,
    struct xlate_err *err)
{
	struct srvtool_def	 scratch;
	struct check		 c;
	json_object		*t;
	enum srvtool_kind	 k;
	unsigned		 kinds = 0;
	size_t			 i, n;
	int			 rc;

	if (set != NULL)
		memset(set, 0, sizeof(*set));
	if (!json_object_is_type(tools, json_type_array))
		return 0;
	c.err = err;
	n = json_object_array_length(tools);
	for (i = 0; i < n; i++) {
		t = json_object_array_get_idx(tools, i);
		if ((k = srvtool_kind(type_of(t))) == SRVTOOL_NONE)
			continue;
		snprintf(c.path, sizeof(c.path), "tools[%zu]", i);
		memset(&scratch, 0, sizeof(scratch));
		rc = check_def(&c, t, k, &scratch);
		/* the first definition of a kind counts; a second one is
		 * refused below by its name */
		if (rc == 0 && set != NULL && !set->tool[k].present)
			set->tool[k] = scratch;
		else
			def_free(&scratch);
		if (rc == -1) {
			srvtool_set_free(set);
			return -1;
		}
		kinds |= SRVTOOL_BIT(k);
	}
	if (kinds != 0 && unique_names(&c, tools, kinds) == -1) {
		srvtool_set_free(set);
		return -1;
	}
	return 0;
}

void
srvtool_set_free(struct srvtool_set *set)
{
	int	 k;

	if (set == NULL)
		return;
	for (k = 0; k < SRVTOOL_NKINDS; k++)
		def_free(&set->tool[k]);
}

/* ---- what the upstream model is offered --------------------------------- */

static const char search_desc[] =
    "Search the web. Returns numbered results, each with a title, a URL, "
    "the page's age when known and an excerpt. Use it for current events "
    "and for facts that may have changed since your training. When your "
    "answer uses a result, cite it by its number in square brackets right "
    "after the statement it supports, like [1] or [1][3].";
static const char search_params[] =
    "{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\","
    "\"description\":\"The search query\"}},\"required\":[\"query\"]}";
static const char fetch_desc[] =
    "Fetch a web page or PDF by its URL and return its text. Only URLs "
    "that the user gave or that appeared in earlier search or fetch "
    "results can be fetched.";
static const char fetch_params[] =
    "{\"type\":\"object\",\"properties\":{\"url\":{\"type\":\"string\","
    "\"description\":\"The URL to fetch (http or https)\"}},"
    "\"required\":[\"url\"]}";

json_object *
srvtool_function(enum srvtool_kind k)
{
	json_object	*fn, *out, *params;

	if (k != SRVTOOL_SEARCH && k != SRVTOOL_FETCH)
		return NULL;
	params = json_tokener_parse(k == SRVTOOL_SEARCH ? search_params :
	    fetch_params);
	fn = json_object_new_object();
	out = json_object_new_object();
	if (params == NULL || fn == NULL || out == NULL ||
	    json_object_object_add(fn, "name",
	    json_object_new_string(names[k])) != 0 ||
	    json_object_object_add(fn, "description", json_object_new_string(
	    k == SRVTOOL_SEARCH ? search_desc : fetch_desc)) != 0 ||
	    json_object_object_add(fn, "parameters", params) != 0) {
		json_object_put(params);
		json_object_put(fn);
		json_object_put(out);
		return NULL;
	}
	if (json_object_object_add(out, "type",
	    json_object_new_string("function")) != 0 ||
	    json_object_object_add(out, "function", fn) != 0) {
		json_object_put(fn);
		json_object_put(out);
		return NULL;
	}
	return out;
}
