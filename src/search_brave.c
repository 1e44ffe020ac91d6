/*
 * search_brave.c: the Brave Search API as a web_search backend.
 *
 * Request: GET {base_url}/res/v1/web/search?q=<query>&count=<n>
 * [&country=<ISO code from user_location>] with "X-Subscription-Token:
 * <api_key>" and "Accept: application/json". Brave has no domain filter
 * parameter: websearch.c filters the results.
 * Answer used: web.results[].url, .title, .description (content, its
 * <strong> highlighting removed), .age ("August 20, 2024", the form of
 * Anthropic's page_age) else .page_age (ISO 8601). An answer without
 * "web" found nothing.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "websearch.h"

static int
brave_request(const struct conf_web_search *cw,
    const struct websearch_query *q, int count, struct websearch_http *h)
{
	const char	*cc = q->location.country;

	if (buf_printf(&h->url, "%s/res/v1/web/search?q=", cw->base_url) ==
	    -1 || websearch_urlencode(&h->url, q->query) == -1 ||
	    buf_printf(&h->url, "&count=%d", count) == -1)
		return -1;
	if (cc != NULL && isalpha((unsigned char)cc[0]) &&
	    isalpha((unsigned char)cc[1]) && cc[2] == '\0' &&
	    buf_printf(&h->url, "&country=%c%c", tolower((unsigned char)cc[0]),
	    tolower((unsigned char)cc[1])) == -1)
		return -1;
	if (websearch_header(&h->headers, "Accept", "", "application/json") ==
	    -1 || websearch_header(&h->headers, "X-Subscription-Token", "",
	    cw->api_key) == -1)
		return -1;
	return 0;
}

/* Brave marks the query's words with <strong>; the model needs none */
static char *
unmark(const char *s)
{
	static const char *const tags[] = { "<strong>", "</strong>" };
	char	*out, *p;
	size_t	 i, n;

	if (s == NULL || (out = strdup(s)) == NULL)
		return NULL;
	for (i = 0; i < 2; i++) {
		n = strlen(tags[i]);
		while ((p = strstr(out, tags[i])) != NULL)
			memmove(p, p + n, strlen(p + n) + 1);
	}
	return out;
}

static int
brave_parse(const char *text, size_t len, struct websearch_results *out)
{
	json_object	*root, *web, *results, *r;
	const char	*url, *age;
	char		*content;
	size_t		 i, n;
	int		 rv = -1, added;

	if ((root = websearch_json(text, len)) == NULL)
		return -1;
	if (!json_object_object_get_ex(root, "web", &web)) {
		rv = 0;				/* nothing found */
		goto done;
	}
	if (!json_object_object_get_ex(web, "results", &results) ||
	    !json_object_is_type(results, json_type_array))
		goto done;
	n = json_object_array_length(results);
	for (i = 0; i < n; i++) {
		r = json_object_array_get_idx(results, i);
		if ((url = websearch_json_string(r, "url")) == NULL)
			continue;
		if ((age = websearch_json_string(r, "age")) == NULL)
			age = websearch_json_string(r, "page_age");
		content = unmark(websearch_json_string(r, "description"));
		added = websearch_results_add(out, url,
		    websearch_json_string(r, "title"), age, content);
		free(content);
		if (added == -1)
			goto done;
	}
	rv = 0;
done:
	json_object_put(root);
	return rv;
}

const struct websearch_backend search_brave = {
	"brave", 20, brave_request, brave_parse
};
