/*
 * router.c: method + path -> handler.
 *
 * Paths are matched without their query string (Claude Code sends
 * /v1/messages?beta=true). A known path with the wrong method gets 405 with
 * Allow; an unknown path 404. Everything but the health check needs the
 * inbound key when one is configured. HEAD is accepted wherever GET is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "conf.h"
#include "http_resp.h"
#include "messages.h"
#include "metrics.h"
#include "models.h"
#include "router.h"
#include "util.h"

typedef int (*handler_fn)(struct http_conn *, struct http_request *);

struct route {
	const char	*path;		/* exact, or prefix when ending in '/' */
	const char	*method;	/* GET also allows HEAD */
	int		 open;		/* no inbound key needed */
	handler_fn	 handler;
};

static int	 handle_root(struct http_conn *, struct http_request *);
static int	 handle_models(struct http_conn *, struct http_request *);
static int	 handle_model(struct http_conn *, struct http_request *);

static const struct route routes[] = {
	{ "/",				"GET",	1, handle_root },
	{ "/v1/models",			"GET",	0, handle_models },
	{ "/v1/models/",		"GET",	0, handle_model },
	{ "/v1/messages",		"POST",	0, messages_handle },
	{ "/v1/messages/count_tokens",	"POST",	0, messages_count_tokens },
	{ "/metrics",			"GET",	0, metrics_handle },
};

/* same order as enum sb_endpoint up to "other" */
static const enum sb_endpoint route_endpoints[] = { SB_EP_ROOT,
	SB_EP_MODELS, SB_EP_MODELS, SB_EP_MESSAGES, SB_EP_COUNT_TOKENS,
	SB_EP_METRICS };

static int
path_matches(const struct route *r, const struct http_request *req)
{
	size_t	 n = strlen(r->path);

	if (n > 1 && r->path[n - 1] == '/')
		return req->path_len > n &&
		    memcmp(req->path, r->path, n) == 0 &&
		    memchr(req->path + n, '/', req->path_len - n) == NULL;
	return req->path_len == n && memcmp(req->path, r->path, n) == 0;
}

static int
method_matches(const struct route *r, const struct http_request *req)
{
	if (req->method_len == strlen(r->method) &&
	    memcmp(req->method, r->method, req->method_len) == 0)
		return 1;
	return strcmp(r->method, "GET") == 0 && req->is_head;
}

static int
handle_root(struct http_conn *c, struct http_request *req)
{
	static const char body[] =
	    "{\"message\":\"claude-proxy\",\"health\":\"ok\"}";

	return http_resp_send(c, req, 200, "application/json", body,
	    sizeof(body) - 1, NULL);
}

static int
handle_models(struct http_conn *c, struct http_request *req)
{
	char		 after[256], before[256], limstr[16];
	const char	*errstr = NULL;
	json_object	*list;
	int		 limit = 0, r;

	if (http_request_query(req, "limit", limstr, sizeof(limstr)) == 1) {
		limit = (int)strtonum(limstr, 1, 1000, &errstr);
		if (errstr != NULL)
			return http_resp_error(c, req, 400, NULL, NULL,
			    "limit: must be an integer from 1 to 1000");
	}
	if (http_request_query(req, "after_id", after, sizeof(after)) != 1)
		after[0] = '\0';
	if (http_request_query(req, "before_id", before, sizeof(before)) != 1)
		before[0] = '\0';
	list = models_list_json(conf, limit, after[0] ? after : NULL,
	    before[0] ? before : NULL);
	if (list == NULL)
		return http_resp_error(c, req, 404, NULL, NULL,
		    "model %s not found", after[0] ? after : before);
	r = http_resp_json(c, req, 200, list);
	json_object_put(list);
	return r;
}

static int
handle_model(struct http_conn *c, struct http_request *req)
{
	char		 id[256];
	size_t		 n = req->path_len - strlen("/v1/models/");
	json_object	*m;
	int		 r;

	if (n >= sizeof(id))
		return http_resp_error(c, req, 404, NULL, NULL,
		    "model not found");
	memcpy(id, req->path + strlen("/v1/models/"), n);
	id[n] = '\0';
	if ((m = models_one_json(conf, id)) == NULL)
		return http_resp_error(c, req, 404, NULL, NULL,
		    "model %s not found", id);
	r = http_resp_json(c, req, 200, m);
	json_object_put(m);
	return r;
}

enum sb_endpoint
router_endpoint(const struct http_request *req)
{
	size_t	 i;

	if (req->path == NULL)
		return SB_EP_OTHER;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (path_matches(&routes[i], req))
			return route_endpoints[i];
	return SB_EP_OTHER;
}

int
router_dispatch(struct http_conn *c, struct http_request *req)
{
	const struct route	*r, *path_hit = NULL;
	const char		*denied;
	size_t			 i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		r = &routes[i];
		if (!path_matches(r, req))
			continue;
		path_hit = r;
		if (!method_matches(r, req))
			continue;
		if (!r->open && (denied = auth_check(conf, req)) != NULL)
			return http_resp_error(c, req, 401, NULL, NULL, "%s",
			    denied);
		return r->handler(c, req);
	}
	if (path_hit != NULL) {
		char allow[64];
		snprintf(allow, sizeof(allow), "Allow: %s%s\r\n",
		    path_hit->method,
		    strcmp(path_hit->method, "GET") == 0 ? ", HEAD" : "");
		return http_resp_error(c, req, 405, NULL, allow,
		    "method %.*s not allowed for %.*s", (int)req->method_len,
		    req->method, (int)req->path_len, req->path);
	}
	return http_resp_error(c, req, 404, NULL, NULL, "not found: %.*s",
	    (int)req->path_len, req->path);
}
