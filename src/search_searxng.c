/*
 * search_searxng.c: a SearXNG instance's JSON API as a web_search
 * backend.
 *
 * Request: GET {base_url}/search?q=<query>&format=json&pageno=1 (the
 * instance must list "json" in search.formats), with "Authorization:
 * Bearer <api_key>" when a key is configured (for an instance behind an
 * authenticating proxy). SearXNG takes no result count, no domain filter
 * and no location: websearch.c cuts and filters the results.
 * Answer used: results[].url, .title, .content, .publishedDate (page_age,
 * may be null); engines, scores and the rest are ignored.
 */
#include <json-c/json.h>

#include "websearch.h"

static int
searxng_request(const struct conf_web_search *cw,
    const struct websearch_query *q, int count, struct websearch_http *h)
{
	(void)count;
	if (buf_printf(&h->url, "%s/search?q=", cw->base_url) == -1 ||
	    websearch_urlencode(&h->url, q->query) == -1 ||
	    buf_puts(&h->url, "&format=json&pageno=1") == -1 ||
	    websearch_header(&h->headers, "Accept", "", "application/json") ==
	    -1)
		return -1;
	if (cw->api_key[0] != '\0' && websearch_header(&h->headers,
	    "Authorization", "Bearer ", cw->api_key) == -1)
		return -1;
	return 0;
}

static int
searxng_parse(const char *text, size_t len, struct websearch_results *out)
{
	return websearch_results_parse(text, len, "publishedDate", out);
}

/* a SearXNG page holds about 10 to 30 results: ask for no more */
const struct websearch_backend search_searxng = {
	"searxng", 20, searxng_request, searxng_parse
};
