/*
 * models: model ids and aliases -> provider routes; /v1/models bodies.
 */
#ifndef CP_MODELS_H
#define CP_MODELS_H

#include <stddef.h>
#include <json-c/json.h>

#include "buf.h"
#include "conf.h"
#include "reqinfo.h"

struct model_route {
	const struct conf_provider	*provider;
	const struct conf_model		*model;
};

/* exact id first, then aliases in config order; fills up to max routes
 * (all providers serving that name, in order) and returns how many */
size_t	 models_resolve(const struct conf *, const char *name,
	    struct model_route *, size_t max);
/* the first of c's routes whose conditions hold for a request for model
 * by the key named key (NULL = no key), or NULL */
const struct conf_route *models_route(const struct conf *, const char *model,
	    const char *key, const struct reqinfo *);
/* "glm, minimax" for error messages */
void	 models_available(const struct conf *, struct buf *);
/* list body with limit (1..1000, default 20), after_id, before_id (NULL =
 * unset); NULL if after_id/before_id names no model (404) */
json_object *models_list_json(const struct conf *, int limit,
	    const char *after_id, const char *before_id);
json_object *models_one_json(const struct conf *, const char *id);

#endif
