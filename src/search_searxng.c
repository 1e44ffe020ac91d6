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
			continue;
		if (websearch_results_add(out, url,
		    websearch_json_string(r, "title"),
		    websearch_json_string(r, "publishedDate"),
		    websearch_json_string(r, "content")) == -1)
			goto done;
	}
	rv = 0;
done:
	json_object_put(root);
	return rv;
}

/* a SearXNG page holds about 10 to 30 results: ask for no more */
const struct websearch_backend search_searxng = {
	"searxng", 20, searxng_request, searxng_parse
};
