/*
 * websearch: one web search for Anthropic's web_search server tool,
 * through the configured backend (search_tavily, search_searxng,
 * search_brave), with the tool's domain filters applied to the results.
 */
#ifndef CP_WEBSEARCH_H
#define CP_WEBSEARCH_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "buf.h"
#include "conf.h"
#include "webhttp.h"

#define WEBSEARCH_QUERY_MAX	400	/* characters of a query */
#define WEBSEARCH_MAX_BODY	(4 * 1024 * 1024)	/* a backend's answer */

/* Anthropic's web_search_tool_result_error codes, and one of ours */
enum websearch_error {
	WEBSEARCH_OK = 0,
	WEBSEARCH_INVALID_TOOL_INPUT,
	WEBSEARCH_UNAVAILABLE,
	WEBSEARCH_MAX_USES_EXCEEDED,	/* the caller's to give */
	WEBSEARCH_TOO_MANY_REQUESTS,
	WEBSEARCH_QUERY_TOO_LONG,
	WEBSEARCH_REQUEST_TOO_LARGE,
	WEBSEARCH_ABORTED		/* the client hung up: no answer due */
};

/* the tool's user_location; NULL members are unknown */
struct web_location {
	const char	*city;
	const char	*region;
	const char	*country;	/* ISO 3166-1 alpha-2 */
	const char	*timezone;	/* IANA */
};

struct websearch_query {
	const char		*query;
	int			 max_results;	/* 0 = web_search.max_results */
	const char *const	*allowed;	/* allowed_domains */
	size_t			 nallowed;
	const char *const	*blocked;	/* blocked_domains */
	size_t			 nblocked;
	struct web_location	 location;
};

struct websearch_result {
	char		*url;
	char		*title;		/* "" when the backend had none */
	char		*page_age;	/* NULL = unknown */
	char		*content;	/* the backend's snippet, "" = none */
};

struct websearch_results {
	struct websearch_result	*v;
	size_t			 n;
};

/* for the log line: never a key */
struct websearch_info {
	const char	*backend;
	long		 status;	/* the backend's HTTP status, 0 = none */
	uint64_t	 ms;
	char		 detail[320];	/* why it failed, "" when it did not */
};

/* the HTTP request a backend builds for a query */
struct websearch_http {
	struct buf		 url;
	struct buf		 body;		/* empty = GET */
	struct curl_slist	*headers;
};

/* a backend: builds its request for count results, parses its answer
 * (-1 = not the answer that backend gives) */
struct websearch_backend {
	const char	*name;		/* as in web_search.backend */
	int		 max_count;	/* most results one call asks for */
	int		(*request)(const struct conf_web_search *,
			    const struct websearch_query *, int count,
			    struct websearch_http *);
	int		(*parse)(const char *, size_t,
			    struct websearch_results *);
};

extern const struct websearch_backend search_tavily, search_searxng,
	    search_brave;

const struct websearch_backend *websearch_backend(const char *name);

/*
 * Runs q through the configured backend; out gets at most max_results
 * results that pass the domain filters (possibly none), in the backend's
 * order. Bounded by web_search.timeout_seconds; wait watches the client.
 */
enum websearch_error websearch_run(const struct conf_web_search *,
		    const struct websearch_query *, const struct webhttp_wait *,
		    struct websearch_results *out, struct websearch_info *);
const char	*websearch_error_code(enum websearch_error);
/* one start-up log line saying whether web search and web fetch are on
 * (names the backend, never its URL or key) */
void		 websearch_log_config(const struct conf *);
void		 websearch_results_free(struct websearch_results *);

/* for the backends */
int	 websearch_results_add(struct websearch_results *, const char *url,
	    const char *title, const char *page_age, const char *content);
int	 websearch_urlencode(struct buf *, const char *);
/* appends "name: <prefix><value>" (prefix "Bearer " for keys) */
int	 websearch_header(struct curl_slist **, const char *name,
	    const char *prefix, const char *value);
void	 websearch_http_free(struct websearch_http *);
/* the answer as a JSON object, NULL when it is not one */
json_object *websearch_json(const char *, size_t);
/* o's member key when it is a string, else NULL */
const char *websearch_json_string(json_object *o, const char *key);
/*
 * The shape Tavily and SearXNG share: {"results":[{url, title, content,
 * <date_key>}…]}. Results without a URL are skipped; -1 when the answer
 * is not that shape or memory runs out.
 */
int	 websearch_results_parse(const char *text, size_t len,
	    const char *date_key, struct websearch_results *out);

#endif
