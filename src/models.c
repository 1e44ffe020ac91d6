/*
 * models.c: client model names -> provider routes; the /v1/models bodies.
 *
 * Routing: an exact model id wins (conf guarantees ids are unique across
 * providers, and that no alias matches another model's id); otherwise
 * every model with an alias pattern matching the name (fnmatch(3), case
 * sensitive), in config order, each model once. Listing is in config order
 * and pages like Anthropic's API (limit, after_id, before_id), with the
 * original proxy's fields (object, created) alongside Anthropic's.
 *
 * Routes (routes[]) come before all that: the first rule whose conditions
 * all hold names the model id to resolve instead of the client's name.
 *
 * Promises: the configuration is only read. The JSON builders return a new
 * object the caller puts, or NULL for an unknown id or when memory runs out.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <fnmatch.h>

#include <json-c/json.h>

#include "buf.h"
#include "conf.h"
#include "models.h"

#define MODELS_LIMIT_DEFAULT	20
#define MODELS_LIMIT_MAX	1000

size_t
models_resolve(const struct conf *c, const char *name,
    struct model_route *routes, size_t max)
{
	const struct conf_provider *p;
	const struct conf_model *m;
	size_t	 i, j, k, n = 0;

	for (i = 0; i < c->nproviders && n < max; i++) {
		p = &c->providers[i];
		for (j = 0; j < p->nmodels && n < max; j++)
			if (strcmp(p->models[j].id, name) == 0) {
				routes[n].provider = p;
				routes[n++].model = &p->models[j];
			}
	}
	if (n > 0)
		return n;
	for (i = 0; i < c->nproviders && n < max; i++) {
		p = &c->providers[i];
		for (j = 0; j < p->nmodels && n < max; j++) {
			m = &p->models[j];
			for (k = 0; k < m->naliases; k++)
				if (fnmatch(m->aliases[k], name, 0) == 0)
					break;
			if (k < m->naliases) {
				routes[n].provider = p;
				routes[n++].model = m;
			}
		}
	}
	return n;
}

/* a tri-state condition: -1 holds always */
static int
models_cond(int want, int have)
{
	return want == -1 || !want == !have;
}

const struct conf_route *
models_route(const struct conf *c, const char *model, const char *key,
    const struct reqinfo *ri)
{
	const struct conf_route_match *m;
	size_t	 i;

	for (i = 0; i < c->nroutes; i++) {
		m = &c->routes[i].match;
		if (m->model != NULL && fnmatch(m->model, model, 0) != 0)
			continue;
		if (m->key != NULL && (key == NULL || strcmp(m->key, key) != 0))
			continue;
		if (ri->input_tokens < m->min_input_tokens ||
		    !models_cond(m->thinking, ri->thinking) ||
		    !models_cond(m->images, ri->images) ||
		    !models_cond(m->server_tools, ri->server_tools) ||
		    !models_cond(m->no_tools, !ri->tools))
			continue;
		return &c->routes[i];
	}
	return NULL;
}

/*
 * A model id served by several providers (a fallback chain) is one model
 * to clients: lists show its first occurrence only.
 */
static int
models_first_of_id(const struct conf *c, size_t pi, size_t mi)
{
	const char	*id = c->providers[pi].models[mi].id;
	size_t		 i, j;

	for (i = 0; i <= pi; i++)
		for (j = 0; j < c->providers[i].nmodels; j++) {
			if (i == pi && j == mi)
				return 1;
			if (strcmp(c->providers[i].models[j].id, id) == 0)
				return 0;
		}
	return 1;
}

void
models_available(const struct conf *c, struct buf *out)
{
	size_t	 i, j;
	int	 first = 1;

	for (i = 0; i < c->nproviders; i++)
		for (j = 0; j < c->providers[i].nmodels; j++) {
			if (!models_first_of_id(c, i, j))
				continue;
			if (!first)
				buf_puts(out, ", ");
			buf_puts(out, c->providers[i].models[j].id);
			first = 0;
		}
}

static size_t
models_count(const struct conf *c)
{
	size_t	 i, j, n = 0;

	for (i = 0; i < c->nproviders; i++)
		for (j = 0; j < c->providers[i].nmodels; j++)
			n += models_first_of_id(c, i, j);
	return n;
}

/* the model at position i of the flattened list in config order */
static const struct conf_model *
models_nth(const struct conf *c, size_t i)
{
	size_t	 p, j;

	for (p = 0; p < c->nproviders; p++)
		for (j = 0; j < c->providers[p].nmodels; j++) {
			if (!models_first_of_id(c, p, j))
				continue;
			if (i-- == 0)
				return &c->providers[p].models[j];
		}
	return NULL;
}

/* position of id in the flattened list, or -1 */
static long
models_index(const struct conf *c, const char *id)
{
	const struct conf_model *m;
	size_t	 i;

	for (i = 0; (m = models_nth(c, i)) != NULL; i++)
		if (strcmp(m->id, id) == 0)
			return (long)i;
	return -1;
}

static json_object *
models_object(const struct conf *c, const struct conf_model *m)
{
	json_object	*o;
	struct tm	 tm;
	time_t		 t = c->loaded_at;
	char		 ts[32];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if (json_object_object_add(o, "type",
	    json_object_new_string("model")) != 0 ||
	    json_object_object_add(o, "id",
	    json_object_new_string(m->id)) != 0 ||
	    json_object_object_add(o, "display_name",
	    json_object_new_string(m->display_name)) != 0 ||
	    json_object_object_add(o, "created_at",
	    json_object_new_string(ts)) != 0 ||
	    json_object_object_add(o, "object",
	    json_object_new_string("model")) != 0 ||
	    json_object_object_add(o, "created",
	    json_object_new_int64((int64_t)t)) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

json_object *
models_list_json(const struct conf *c, int limit, const char *after_id,
    const char *before_id)
{
	json_object	*body, *data, *o;
	const struct conf_model *m, *first, *last;
	size_t		 lo = 0, hi = models_count(c), start, end, i;
	long		 at;
	int		 more;

	if (limit == 0)
		limit = MODELS_LIMIT_DEFAULT;
	else if (limit < 1)
		limit = 1;
	else if (limit > MODELS_LIMIT_MAX)
		limit = MODELS_LIMIT_MAX;
	if (after_id != NULL) {
		if ((at = models_index(c, after_id)) == -1)
			return NULL;
		lo = at + 1;
	}
	if (before_id != NULL) {
		if ((at = models_index(c, before_id)) == -1)
			return NULL;
		hi = at;
	}
	if (hi < lo)
		hi = lo;
	/* before_id alone: the page nearest to it */
	if (before_id != NULL && after_id == NULL) {
		end = hi;
		start = end - lo > (size_t)limit ? end - limit : lo;
	} else {
		start = lo;
		end = hi - lo > (size_t)limit ? lo + limit : hi;
	}

	if ((body = json_object_new_object()) == NULL)
		return NULL;
	if ((data = json_object_new_array()) == NULL ||
	    json_object_object_add(body, "object",
	    json_object_new_string("list")) != 0 ||
	    json_object_object_add(body, "data", data) != 0)
		goto fail;
	for (i = start; i < end; i++) {
		if ((m = models_nth(c, i)) == NULL ||
		    (o = models_object(c, m)) == NULL)
			goto fail;
		if (json_object_array_add(data, o) != 0) {
			json_object_put(o);
			goto fail;
		}
	}
	first = start < end ? models_nth(c, start) : NULL;
	last = start < end ? models_nth(c, end - 1) : NULL;
	more = before_id != NULL && after_id == NULL ? start > lo : end < hi;
	if (json_object_object_add(body, "has_more",
	    json_object_new_boolean(more)) != 0 ||
	    json_object_object_add(body, "first_id", first ?
	    json_object_new_string(first->id) : NULL) != 0 ||
	    json_object_object_add(body, "last_id", last ?
	    json_object_new_string(last->id) : NULL) != 0)
		goto fail;
	return body;
 fail:
	json_object_put(body);
	return NULL;
}

json_object *
models_one_json(const struct conf *c, const char *id)
{
	const struct conf_model	*m;
	struct model_route	 r;
	long			 at;

	if ((at = models_index(c, id)) != -1)
		return (m = models_nth(c, (size_t)at)) ?
		    models_object(c, m) : NULL;
	/* Anthropic's API accepts an alias here too */
	if (models_resolve(c, id, &r, 1) == 1)
		return models_object(c, r.model);
	return NULL;
}
