/*
 * testroute: a provider and model to translate for, configured as a test
 * needs (the fields of conf_provider and conf_model that the translators
 * read), and the model_route that names them.
 */
#ifndef CP_TESTROUTE_H
#define CP_TESTROUTE_H

#include <stdint.h>
#include <string.h>

#include "conf.h"
#include "models.h"

struct opts {
	int	 stream;
	int64_t	 cap;
	int	 reasoning;
	int	 top_k;
	int	 pdf;
	int	 include_usage;
	const char *remote_id;		/* NULL: "test-remote" */
	int	 keep_attribution;	/* strip_attribution off */
	int	 web;			/* a web_search backend and web_fetch
					 * configured (the global conf) */
};

struct route {
	struct conf_provider	 p;
	struct conf_model	 m;
	struct model_route	 r;
};

static inline void
route_init(struct route *rt, const struct opts *o)
{
	memset(rt, 0, sizeof(*rt));
	rt->m.id = "claude-test";
	rt->m.display_name = "claude-test";
	rt->m.remote_id = (char *)(o->remote_id ? o->remote_id : "test-remote");
	rt->m.max_tokens = o->cap;
	rt->m.reasoning = o->reasoning;
	rt->p.name = "testprov";
	rt->p.base_url = "http://127.0.0.1:1";
	rt->p.models = &rt->m;
	rt->p.nmodels = 1;
	rt->p.top_k = o->top_k;
	rt->p.pdf = o->pdf;
	rt->p.include_usage = o->include_usage;
	rt->p.strip_attribution = !o->keep_attribution;	/* as configured */
	rt->r.provider = &rt->p;
	rt->r.model = &rt->m;
}

#endif
