/*
 * conf: the JSON configuration file. One table (conf_keys[]) declares every
 * key once: the parser, --test-config, the man page test and the docs read it.
 */
#ifndef CP_CONF_H
#define CP_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* the largest workers and max_workers (the scoreboard has a slot for
 * each, SB_MAX_SLOTS); the system's own limits are usually lower, see
 * hostlimits.h */
#define CONF_MAX_WORKERS	16384

struct conf_model {
	char	 *id;
	char	 *display_name;		/* defaults to id */
	char	 *remote_id;		/* defaults to id */
	char	**aliases;		/* glob patterns (fnmatch) */
	size_t	  naliases;
	int64_t	  max_tokens;		/* cap on max_tokens; 0 = no cap */
	int	  reasoning;		/* forward reasoning_effort */
};

/* providers[].api: the API an upstream speaks; upkind.c has the
 * translator pair of each (for "anthropic", the pass-through) */
enum conf_api { CONF_API_OPENAI, CONF_API_RESPONSES, CONF_API_ANTHROPIC,
	CONF_API_COUNT };
extern const char *const conf_api_names[];	/* by enum conf_api */

/* providers[].auth: how the key goes upstream */
enum conf_auth { CONF_AUTH_BEARER, CONF_AUTH_X_API_KEY };

struct schema_dialect;

/* providers[].headers: one extra request header */
struct conf_header {
	char	 *name;
	char	 *line;			/* "Name: value", as curl takes it */
	const char *value;		/* in line */
	int	  secret;		/* from env: or file: (masked) */
};

/* providers[].retries: the same provider again after 429, 5xx or a failed
 * connection, before the client got a byte (retry.h) */
struct conf_retries {
	int	  count;		/* 0 = none */
	int	  base_ms;		/* first backoff ceiling, doubled */
	int	  max_wait_seconds;	/* cap on one wait, retry-after too */
};

struct conf_provider {
	char	 *name;			/* defaults to the base_url's host */
	char	 *base_url;
	char	 *api_key;		/* the one key ("" = none); with
					 * api_keys, a copy of the first */
	char	**api_keys;		/* used in turn (upkeys.h); NULL = the
					 * one api_key, never set aside */
	size_t	  napi_keys;
	struct conf_retries retries;
	enum conf_api api;
	char	 *url;			/* derived: .../v1/chat/completions,
					 * .../v1/responses, .../v1/messages by
					 * api; or providers[].url */
	char	 *count_url;		/* api anthropic: .../count_tokens */
	const struct schema_dialect *schema;	/* tool schemas; NULL as
						 * clients wrote them */
	struct conf_model *models;
	size_t	  nmodels;
	int	  top_k;		/* upstream accepts top_k */
	int	  pdf;			/* upstream accepts file (PDF) parts */
	int	  include_usage;	/* send stream_options.include_usage */
	int	  strip_attribution;	/* drop Claude Code's billing header */

	/* per-provider controls (conf_upstream.c) */
	struct conf_header *headers;	/* extra request headers */
	size_t	  nheaders;
	struct json_object *params;	/* body members set (an object) or NULL */
	char	**drop;			/* top-level body members removed */
	size_t	  ndrop;
	enum conf_auth auth;		/* Authorization: Bearer or x-api-key */
	char	**betas;		/* anthropic-beta values forwarded */
	size_t	  nbetas;
	int	  betas_listed;		/* 0: every one */
	int	  count_tokens;		/* api anthropic: forward count_tokens */
	int	  tool_call_repair;	/* calls written as text: tcrepair.c */
};

/* the web_search object: the backend of Anthropic's web_search server
 * tool; backend NULL = web search off */
struct conf_web_search {
	char	 *backend;		/* "tavily", "searxng", "brave" */
	char	 *base_url;		/* no trailing '/' */
	char	 *api_key;		/* "" = none; a secret to mask */
	int	  max_results;
	int	  timeout_seconds;	/* one backend call */
};

/* the web_fetch object: the proxy's fetcher for web_fetch */
struct conf_web_fetch {
	int	  enabled;
	int	  allow_private_addresses;
	int	  timeout_seconds;	/* one fetch, redirects included */
	int64_t	  max_bytes;
};

/* the search backends the configuration accepts */
struct conf_search_backend {
	const char	*name;
	const char	*default_base_url;	/* NULL = must be configured */
	int		 needs_key;
};
extern const struct conf_search_backend	 conf_search_backends[];
extern const size_t			 conf_nsearch_backends;

/* a client key's limits; 0 = no limit (ratelimit.h counts them) */
struct conf_limits {
	int64_t	  requests_per_minute;
	int64_t	  concurrent_requests;
	int64_t	  input_tokens_per_minute;
	int64_t	  output_tokens_per_day;
};

/* one client key (keys[]; "ak" becomes one named "ak" without limits) */
struct conf_client_key {
	char	 *name;			/* in logs, metrics, the usage log */
	char	 *key;			/* the secret clients send */
	char	**models;		/* as configured; none = every model */
	size_t	  nmodels;
	const char **allowed;		/* model ids they resolve to (not owned) */
	size_t	  nallowed;
	char	 *default_model;	/* a model id, NULL = none */
	struct conf_limits limits;
	int	  limited;		/* any limit set */
};

/* a route's conditions; -1 = either for the booleans */
struct conf_route_match {
	char	 *model;		/* glob of the requested model, NULL = any */
	char	 *key;			/* a key's name, NULL = any */
	int	  thinking;
	int64_t	  min_input_tokens;	/* 0 = any */
	int	  images;
	int	  server_tools;
	int	  no_tools;
};

struct conf_route {
	char	 *name;
	struct conf_route_match match;
	char	 *model;		/* a model id */
};

struct conf {
	char	 *ak;			/* inbound key; NULL or "" = no auth */
	char	 *host;			/* listen address (derived if unset) */
	int	  port;
	int	  workers;		/* 0 = auto: 2 x cores, at least 4 */
	int	  max_workers;		/* pool ceiling */
	int	  spare_workers;	/* idle workers kept ready */
	int	  worker_idle_timeout_seconds;	/* extras retire after */
	int	  upstream_timeout_seconds;
	int	  upstream_connect_timeout_seconds;
	int	  stream_idle_timeout_seconds;	/* 0 = upstream_timeout */
	int	  stream_ping_seconds;
	int	  header_timeout_seconds;
	int	  body_timeout_seconds;
	int	  keepalive_timeout_seconds;
	int	  send_timeout_seconds;
	int	  shutdown_timeout_seconds;
	int64_t	  max_body_bytes;
	int	  log_body_max_chars;
	int	  log_stream_text_preview_chars;
	struct conf_provider *providers;
	size_t	  nproviders;
	struct conf_web_search web_search;
	struct conf_web_fetch web_fetch;
	/* the team gateway (conf_team.c) */
	struct conf_client_key *client_keys;	/* "ak" first when set */
	size_t	  nclient_keys;
	struct conf_route *routes;
	size_t	  nroutes;
	char	 *usage_log;		/* absolute path, "" = none */
	char	 *redis_host;		/* NULL = local limits */
	int	  redis_port;
	int	  redis_db;
	char	 *redis_user;		/* NULL = none */
	char	 *redis_password;	/* NULL = none; a secret to mask */
	int	  limits_redis_fail_open;
	int	  limits_redis_timeout_ms;
	time_t	  loaded_at;		/* models' "created" */
};

/* CONF_STRING_MAP: an object whose members (any names) are strings;
 * CONF_VALUE_MAP: an object whose members are any JSON values */
enum conf_type { CONF_STRING, CONF_INT, CONF_BOOL, CONF_ARRAY, CONF_OBJECT,
	CONF_STRING_ARRAY, CONF_STRING_MAP, CONF_VALUE_MAP };

struct conf_key {
	const char	*path;		/* "port", "providers[].models[].id" */
	enum conf_type	 type;
	const char	*default_value;	/* as documented; NULL = required */
	int		 reloadable;	/* SIGHUP applies it */
	const char	*doc;		/* one line for humans */
	long long	 min, max;	/* CONF_INT: the values allowed; the
					 * parser and the man page test read
					 * them here and nowhere else */
};

extern const struct conf_key	 conf_keys[];
extern const size_t		 conf_nkeys;

/* the process-wide configuration in force */
extern struct conf		*conf;

/* parse and validate; on failure -1 and err = "providers[1].models[0].id: missing" */
int	 conf_load(const char *path, struct conf **, char *err, size_t errsz);
int	 conf_parse(const char *text, size_t len, struct conf **, char *err,
	    size_t errsz);
void	 conf_free(struct conf *);
int	 conf_workers(const struct conf *);	/* resolves 0 = auto */
int	 conf_stream_idle_seconds(const struct conf *);

#endif
