/*
 * srvtool: the request side of Anthropic's server tools the proxy runs
 * (web_search_*, web_fetch_*): which are there, their options checked as
 * Anthropic checks them, and the functions offered to the upstream model
 * in their place.
 */
#ifndef CP_SRVTOOL_H
#define CP_SRVTOOL_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "websearch.h"
#include "xlate.h"

enum srvtool_kind { SRVTOOL_NONE = -1, SRVTOOL_SEARCH = 0, SRVTOOL_FETCH,
	SRVTOOL_NKINDS };

#define SRVTOOL_BIT(k)	(1u << (k))

/* one server tool of a request, as its definition says */
struct srvtool_def {
	int		 present;
	int64_t		 max_uses;	/* 0 = no limit */
	const char	**allowed;	/* allowed_domains (the request's
					 * strings), NULL when none */
	size_t		 nallowed;
	const char	**blocked;	/* blocked_domains */
	size_t		 nblocked;
	struct web_location location;	/* search: user_location */
	int64_t		 max_content_tokens;	/* fetch: 0 = no limit */
	int		 citations;	/* fetch: citations.enabled */
};

struct srvtool_set {
	struct srvtool_def tool[SRVTOOL_NKINDS];
};

/* "web_search_20250305" and later versions -> SRVTOOL_SEARCH, ... */
enum srvtool_kind srvtool_kind(const char *type);
/* the tool's (and the function's) name: "web_search", "web_fetch" */
const char	*srvtool_name(enum srvtool_kind);
enum srvtool_kind srvtool_kind_of_name(const char *name);

/*
 * Checks every server tool in the request's tools (a JSON array or NULL)
 * as Anthropic does and, when set is not NULL, fills it (its strings
 * borrowed from the request). 0, or -1 with err a 400 naming the path
 * ("tools[2].max_uses: must be a positive integer") or a 500.
 */
int	 srvtool_scan(json_object *tools, struct srvtool_set *,
	    struct xlate_err *);
void	 srvtool_set_free(struct srvtool_set *);

/* does the configuration run this kind (a search backend, the fetcher)? */
int	 srvtool_enabled(enum srvtool_kind);
/* SRVTOOL_BIT()s of the kinds the request's tools name and the
 * configuration runs (no validation: srvtool_scan's job); 0 = none, and
 * the request goes its ordinary way */
unsigned srvtool_offered(json_object *req);
/* {"type":"function","function":{name, description, parameters}}: what
 * the upstream model is offered instead; NULL when memory runs out */
json_object *srvtool_function(enum srvtool_kind);

#endif
