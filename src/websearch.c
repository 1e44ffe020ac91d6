/*
 * websearch.c: one search for the web_search server tool.
 *
 * The backend (a table entry per file: search_tavily.c, search_searxng.c,
 * search_brave.c) only builds its HTTP request and parses its answer;
 * this file checks the query as Anthropic does, makes the call through
 * webhttp (bounded by web_search.timeout_seconds, the client's socket
 * watched), maps the outcome to Anthropic's error codes and applies the
 * tool's allowed_domains / blocked_domains to the results whatever the
 * backend did with them. When filters are set it asks the backend for as
 * many results as it gives, so that filtering leaves enough.
 *
 * Error mapping: an empty query, both filter lists or a malformed entry,
 * and a backend's 400/422 are invalid_tool_input; a query over
 * WEBSEARCH_QUERY_MAX characters query_too_long; 413/414
 * request_too_large; 429 (and Tavily's plan limits 432/433)
 * too_many_requests; a timeout, a refused connection, any other status
 * and an answer that does not parse are unavailable.
 *
 * Every run is counted in the scoreboard's server-tool counters, as a
 * failure when it gives an error code.
 *
 * Promises: no key reaches info or a log (the backends put keys in
 * headers only, and the headers are freed after the call); the results
 * are owned by out and freed by websearch_results_free, even on error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonparse.h"
#include "log.h"
#include "scoreboard.h"
#include "util.h"
#include "webdomain.h"
#include "websearch.h"

static const struct websearch_backend *const backends[] = {
	&search_tavily, &search_searxng, &search_brave,
};

const struct websearch_backend *
websearch_backend(const char *name)
{
	size_t	 i;

	for (i = 0; name != NULL && i < sizeof(backends) / sizeof(backends[0]);
	    i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

const char *
websearch_error_code(enum websearch_error e)
{
	switch (e) {
	case WEBSEARCH_INVALID_TOOL_INPUT:	return "invalid_tool_input";
	case WEBSEARCH_MAX_USES_EXCEEDED:	return "max_uses_exceeded";
	case WEBSEARCH_TOO_MANY_REQUESTS:	return "too_many_requests";
	case WEBSEARCH_QUERY_TOO_LONG:		return "query_too_long";
	case WEBSEARCH_REQUEST_TOO_LARGE:	return "request_too_large";
	case WEBSEARCH_OK:
	case WEBSEARCH_UNAVAILABLE:
	case WEBSEARCH_ABORTED:
		break;
	}
	return "unavailable";
}

void
websearch_results_free(struct websearch_results *r)
{
	size_t	 i;

	for (i = 0; i < r->n; i++) {
		free(r->v[i].url);
		free(r->v[i].title);
		free(r->v[i].page_age);
		free(r->v[i].content);
	}
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

int
websearch_results_add(struct websearch_results *r, const char *url,
    const char *title, const char *page_age, const char *content)
{
	struct websearch_result	*v, *e;

	if ((v = reallocarray(r->v, r->n + 1, sizeof(*v))) == NULL)
		return -1;
	r->v = v;
	e = &v[r->n];
	memset(e, 0, sizeof(*e));
	e->url = strdup(url);
	e->title = strdup(title != NULL ? title : "");
	e->page_age = page_age != NULL && *page_age ? strdup(page_age) : NULL;
	e->content = strdup(content != NULL ? content : "");
	r->n++;			/* freed with the rest even when short */
	if (e->url == NULL || e->title == NULL || e->content == NULL ||
	    (page_age != NULL && *page_age && e->page_age == NULL))
		return -1;
	return 0;
}

int
websearch_urlencode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char	 c;

	for (; *s; s++) {
		c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			if (buf_putc(b, (char)c) == -1)
				return -1;
		} else if (buf_putc(b, '%') == -1 ||
		    buf_putc(b, hex[c >> 4]) == -1 ||
		    buf_putc(b, hex[c & 15]) == -1)
			return -1;
	}
	return buf_puts(b, "");	/* a string even when s is empty */
}

/* the formatted copy is wiped: keys pass through here */
int
websearch_header(struct curl_slist **list, const char *name,
    const char *prefix, const char *value)
{
	struct buf		 h = BUF_INITIALIZER;
	struct curl_slist	*n = NULL;

	if (buf_printf(&h, "%s: %s%s", name, prefix, value) == 0)
		n = curl_slist_append(*list, h.data);
	if (h.data != NULL)
		explicit_bzero(h.data, h.len);
	buf_free(&h);
	if (n == NULL)
		return -1;
	*list = n;
	return 0;
}

void
websearch_http_free(struct websearch_http *h)
{
	buf_free(&h->url);
	buf_free(&h->body);
	curl_slist_free_all(h->headers);	/* its copies of the key */
	h->headers = NULL;
}

void
websearch_log_config(const struct conf *c)
{
	const char	*fetch;

	fetch = !c->web_fetch.enabled ? "web fetch is off" :
	    c->web_fetch.allow_private_addresses ? "web fetch is on, private "
	    "addresses allowed" : "web fetch is on";
	if (c->web_search.backend == NULL)
		log_info("web search is off (no web_search backend "
		    "configured); %s", fetch);
	else
		log_info("web search backend: %s; %s", c->web_search.backend,
		    fetch);
}

json_object *
websearch_json(const char *text, size_t len)
{
	/* lenient on raw control bytes, as for upstream answers */
	static const struct jsonparse_opts opts = { 64, 1, NULL };
	struct jsonlex_err	 err;
	json_object		*o;
	size_t			 end;

	o = jsonparse(text, len, &opts, &end, &err);
	if (o != NULL && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

const char *
websearch_json_string(json_object *o, const char *key)
{
	json_object	*v;

	if (o != NULL && json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

int
websearch_results_parse(const char *text, size_t len, const char *date_key,
    struct websearch_results *out)
{
	json_object	*root, *results, *r;
	const char	*url;
	size_t		 i, n;
	int		 rv = -1;

	if ((root = websearch_json(text, len)) == NULL)
		return -1;
	if (!json_object_object_get_ex(root, "results", &results) ||
	    !json_object_is_type(results, json_type_array))
		goto done;
	n = json_object_array_length(results);
	for (i = 0; i < n; i++) {
		r = json_object_array_get_idx(results, i);
		if ((url = websearch_json_string(r, "url")) == NULL)
			continue;	/* a result without a URL cannot be cited */
		if (websearch_results_add(out, url,
		    websearch_json_string(r, "title"),
		    websearch_json_string(r, date_key),
		    websearch_json_string(r, "content")) == -1)
			goto done;
	}
	rv = 0;
done:
	json_object_put(root);
	return rv;
}

/* characters, not bytes: a query in any script gets the same length */
static size_t
utf8_chars(const char *s)
{
	size_t	 n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static enum websearch_error
check_query(const struct websearch_query *q)
{
	const char	*s;
	size_t		 i;

	if (q->query == NULL)
		return WEBSEARCH_INVALID_TOOL_INPUT;
	for (s = q->query; *s == ' ' || *s == '\t' || *s == '\n' ||
	    *s == '\r'; s++)
		;
	if (*s == '\0')
		return WEBSEARCH_INVALID_TOOL_INPUT;
	if (utf8_chars(q->query) > WEBSEARCH_QUERY_MAX)
		return WEBSEARCH_QUERY_TOO_LONG;
	if (q->nallowed > 0 && q->nblocked > 0)
		return WEBSEARCH_INVALID_TOOL_INPUT;
	for (i = 0; i < q->nallowed; i++)
		if (!webdomain_valid(q->allowed[i]))
			return WEBSEARCH_INVALID_TOOL_INPUT;
	for (i = 0; i < q->nblocked; i++)
		if (!webdomain_valid(q->blocked[i]))
			return WEBSEARCH_INVALID_TOOL_INPUT;
	return WEBSEARCH_OK;
}

static enum websearch_error
status_error(long status)
{
	switch (status) {
	case 400:
	case 422:
		return WEBSEARCH_INVALID_TOOL_INPUT;
	case 413:
	case 414:
		return WEBSEARCH_REQUEST_TOO_LARGE;
	case 429:
	case 432:	/* Tavily: plan limit */
	case 433:	/* Tavily: pay-as-you-go limit */
		return WEBSEARCH_TOO_MANY_REQUESTS;
	default:
		return WEBSEARCH_UNAVAILABLE;
	}
}

/* keep what the filters allow, at most want, in the backend's order */
static void
filter(struct websearch_results *r, const struct websearch_query *q,
    size_t want)
{
	size_t	 i, kept = 0;

	for (i = 0; i < r->n; i++) {
		if (kept < want && webdomain_url_allowed(r->v[i].url,
		    q->allowed, q->nallowed, q->blocked, q->nblocked,
		    WEBDOMAIN_SEARCH) == 1) {
			r->v[kept++] = r->v[i];
			continue;
		}
		free(r->v[i].url);
		free(r->v[i].title);
		free(r->v[i].page_age);
		free(r->v[i].content);
	}
	r->n = kept;
}

static enum websearch_error
fail(struct websearch_info *info, enum websearch_error e, const char *why)
{
	snprintf(info->detail, sizeof(info->detail), "%s", why);
	return e;
}

static enum websearch_error
search(const struct conf_web_search *cw, const struct websearch_query *q,
    const struct webhttp_wait *wait, struct websearch_results *out,
    struct websearch_info *info)
{
	const struct websearch_backend *b;
	struct websearch_http	 h;
	struct webhttp_req	 req;
	struct webhttp_resp	 resp;
	enum websearch_error	 e;
	int			 want, count, rv;
	char			 why[320];

	memset(out, 0, sizeof(*out));
	memset(info, 0, sizeof(*info));
	memset(&h, 0, sizeof(h));
	if ((b = websearch_backend(cw->backend)) == NULL)
		return fail(info, WEBSEARCH_UNAVAILABLE, "no search backend");
	info->backend = b->name;
	if ((e = check_query(q)) != WEBSEARCH_OK)
		return fail(info, e, "query refused before the backend");

	want = q->max_results > 0 ? q->max_results : cw->max_results;
	if (want > b->max_count)
		want = b->max_count;
	count = q->nallowed + q->nblocked > 0 ? b->max_count : want;
	if (b->request(cw, q, count, &h) == -1) {
		websearch_http_free(&h);
		return fail(info, WEBSEARCH_UNAVAILABLE, "out of memory");
	}

	memset(&req, 0, sizeof(req));
	req.url = h.url.data;
	if (h.body.len > 0) {
		req.body = h.body.data;
		req.body_len = h.body.len;
	}
	req.headers = h.headers;
	req.timeout_ms = (long)cw->timeout_seconds * 1000;
	req.max_bytes = WEBSEARCH_MAX_BODY;
	req.wait = wait;
	rv = webhttp_perform(&req, &resp);
	websearch_http_free(&h);
	info->status = resp.status;
	info->ms = resp.ms;

	if (resp.aborted)
		e = fail(info, WEBSEARCH_ABORTED, "client gone");
	else if (rv == -1) {
		if (resp.timed_out)
			snprintf(why, sizeof(why), "%s: no answer in %d s",
			    b->name, cw->timeout_seconds);
		else
			snprintf(why, sizeof(why), "%s: %s", b->name,
			    resp.error);
		e = fail(info, WEBSEARCH_UNAVAILABLE, why);
	} else if (resp.status / 100 != 2) {
		snprintf(why, sizeof(why), "%s: HTTP %ld", b->name,
		    resp.status);
		e = fail(info, status_error(resp.status), why);
	} else if (b->parse(resp.body.data ? resp.body.data : "",
	    resp.body.len, out) == -1) {
		websearch_results_free(out);
		snprintf(why, sizeof(why), "%s: an answer that is not %s's "
		    "JSON", b->name, b->name);
		e = fail(info, WEBSEARCH_UNAVAILABLE, why);
	} else {
		filter(out, q, (size_t)want);
		e = WEBSEARCH_OK;
	}
	webhttp_resp_free(&resp);
	return e;
}

enum websearch_error
websearch_run(const struct conf_web_search *cw,
    const struct websearch_query *q, const struct webhttp_wait *wait,
    struct websearch_results *out, struct websearch_info *info)
{
	enum websearch_error	 e;

	e = search(cw, q, wait, out, info);
	/* a client that hung up got no result block: not a failure */
	if (info->backend != NULL)
		scoreboard_server_tool_done("web_search", info->backend,
		    e != WEBSEARCH_OK && e != WEBSEARCH_ABORTED);
	return e;
}
