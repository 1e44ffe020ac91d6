/*
 * search_tavily.c: the Tavily Search API as a web_search backend.
 *
 * Request: POST {base_url}/search, "Authorization: Bearer <api_key>",
 * JSON {"query", "max_results", "search_depth": "basic", "topic":
 * "general", "include_domains", "exclude_domains"}; the filters' domains
 * (their paths dropped) go to Tavily so it can search inside them, and
 * websearch.c filters again. user_location is not sent: Tavily's
 * "country" wants an English country name, not the ISO code Anthropic's
 * tool carries.
 * Answer used: results[].url, .title, .content, .published_date
 * (page_age); other members (score, raw_content, answer, images) are
 * ignored.
 */
#include <string.h>

#include <json-c/json.h>

#include "websearch.h"

static json_object *
domains(const char *const *list, size_t n)
{
	json_object	*a = json_object_new_array(), *s;
	size_t		 i;

	for (i = 0; a != NULL && i < n; i++) {
		s = json_object_new_string_len(list[i],
		    (int)strcspn(list[i], "/"));
		if (s == NULL || json_object_array_add(a, s) != 0) {
			json_object_put(s);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

static int
tavily_request(const struct conf_web_search *cw,
    const struct websearch_query *q, int count, struct websearch_http *h)
{
	json_object	*o, *inc = NULL, *exc = NULL;
	const char	*text;
	int		 rv = -1;

	if ((o = json_object_new_object()) == NULL)
		return -1;
	json_object_object_add(o, "query", json_object_new_string(q->query));
	json_object_object_add(o, "max_results", json_object_new_int(count));
	json_object_object_add(o, "search_depth",
	    json_object_new_string("basic"));
	json_object_object_add(o, "topic", json_object_new_string("general"));
	if (q->nallowed > 0 && (inc = domains(q->allowed, q->nallowed)) != NULL)
		json_object_object_add(o, "include_domains", inc);
	if (q->nblocked > 0 && (exc = domains(q->blocked, q->nblocked)) != NULL)
		json_object_object_add(o, "exclude_domains", exc);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text != NULL && (q->nallowed == 0 || inc != NULL) &&
	    (q->nblocked == 0 || exc != NULL) &&
	    buf_puts(&h->body, text) == 0 &&
	    buf_printf(&h->url, "%s/search", cw->base_url) == 0 &&
	    websearch_header(&h->headers, "Content-Type", "",
	    "application/json") == 0 &&
	    websearch_header(&h->headers, "Accept", "", "application/json") ==
	    0 && websearch_header(&h->headers, "Authorization", "Bearer ",
	    cw->api_key) == 0)
		rv = 0;
	json_object_put(o);
	return rv;
}

static int
tavily_parse(const char *text, size_t len, struct websearch_results *out)
{
	return websearch_results_parse(text, len, "published_date", out);
}

const struct websearch_backend search_tavily = {
	"tavily", 20, tavily_request, tavily_parse
};
