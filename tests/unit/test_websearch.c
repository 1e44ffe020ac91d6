/*
 * test_websearch: each backend's request and answer parser on answers
 * shaped like the real services', the query checks made before any
 * backend is called, and Anthropic's error code strings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "tap.h"
#include "websearch.h"

static const char tavily_answer[] =
    "{\"query\":\"claude shannon\",\"follow_up_questions\":null,"
    "\"answer\":null,\"images\":[],\"results\":["
    "{\"url\":\"https://en.wikipedia.org/wiki/Claude_Shannon\","
    "\"title\":\"Claude Shannon - Wikipedia\",\"content\":\"Claude Elwood "
    "Shannon (April 30, 1916 \\u2013 February 24, 2001)\",\"score\":0.98,"
    "\"raw_content\":null},"
    "{\"url\":\"https://news.example.com/shannon\",\"title\":\"Shannon at "
    "100\",\"content\":\"A century\",\"score\":0.5,"
    "\"published_date\":\"Sat, 30 Apr 2016 10:00:00 GMT\"},"
    "{\"title\":\"no url, skipped\"}],\"response_time\":1.2}";

static const char searxng_answer[] =
    "{\"query\":\"claude shannon\",\"number_of_results\":0,\"results\":["
    "{\"url\":\"https://en.wikipedia.org/wiki/Claude_Shannon\",\"title\":"
    "\"Claude Shannon\",\"content\":\"American mathematician\",\"engine\":"
    "\"wikipedia\",\"engines\":[\"wikipedia\"],\"score\":3.0,"
    "\"publishedDate\":null},"
    "{\"url\":\"https://example.org/a\",\"title\":\"A\",\"content\":\"\","
    "\"publishedDate\":\"2024-01-02T00:00:00\"}],\"answers\":[],"
    "\"corrections\":[],\"infoboxes\":[],\"suggestions\":[],"
    "\"unresponsive_engines\":[]}";

static const char brave_answer[] =
    "{\"type\":\"search\",\"query\":{\"original\":\"claude shannon\"},"
    "\"mixed\":{\"type\":\"mixed\"},\"web\":{\"type\":\"search\","
    "\"results\":[{\"title\":\"Claude Shannon - Wikipedia\",\"url\":"
    "\"https://en.wikipedia.org/wiki/Claude_Shannon\",\"is_source_local\":"
    "false,\"description\":\"<strong>Claude</strong> Elwood "
    "<strong>Shannon</strong> was an American mathematician\",\"age\":"
    "\"April 30, 2025\",\"page_age\":\"2025-04-30T00:00:00\","
    "\"profile\":{\"name\":\"Wikipedia\"}},"
    "{\"title\":\"Only page_age\",\"url\":\"https://example.com/x\","
    "\"description\":\"d\",\"page_age\":\"2024-08-20T10:00:00\"}]}}";

static void
test_tavily(void)
{
	struct websearch_results r = { NULL, 0 };

	ok(search_tavily.parse(tavily_answer, strlen(tavily_answer), &r) == 0,
	    "tavily: an answer parses");
	is_int(r.n, 2, "tavily: results with a url");
	if (r.n == 2) {
		is_str(r.v[0].url, "https://en.wikipedia.org/wiki/Claude_Shannon",
		    "tavily: url");
		is_str(r.v[0].title, "Claude Shannon - Wikipedia",
		    "tavily: title");
		is_str(r.v[0].content, "Claude Elwood Shannon (April 30, 1916 "
		    "\xe2\x80\x93 February 24, 2001)", "tavily: content");
		ok(r.v[0].page_age == NULL, "tavily: no date, no page_age");
		is_str(r.v[1].page_age, "Sat, 30 Apr 2016 10:00:00 GMT",
		    "tavily: published_date is the page_age");
	}
	websearch_results_free(&r);
	ok(search_tavily.parse("{\"results\":[]}", 14, &r) == 0 && r.n == 0,
	    "tavily: no results");
	ok(search_tavily.parse("{\"detail\":{\"error\":\"x\"}}", 24, &r) == -1,
	    "tavily: an error object is not an answer");
	websearch_results_free(&r);
}

static void
test_searxng(void)
{
	struct websearch_results r = { NULL, 0 };

	ok(search_searxng.parse(searxng_answer, strlen(searxng_answer), &r) ==
	    0, "searxng: an answer parses");
	is_int(r.n, 2, "searxng: two results");
	if (r.n == 2) {
		is_str(r.v[0].content, "American mathematician",
		    "searxng: content");
		ok(r.v[0].page_age == NULL, "searxng: null publishedDate");
		is_str(r.v[1].page_age, "2024-01-02T00:00:00",
		    "searxng: publishedDate is the page_age");
	}
	websearch_results_free(&r);
	ok(search_searxng.parse("<html>Forbidden</html>", 22, &r) == -1,
	    "searxng: HTML (format json not enabled) is not an answer");
	websearch_results_free(&r);
}

static void
test_brave(void)
{
	struct websearch_results r = { NULL, 0 };

	ok(search_brave.parse(brave_answer, strlen(brave_answer), &r) == 0,
	    "brave: an answer parses");
	is_int(r.n, 2, "brave: two results");
	if (r.n == 2) {
		is_str(r.v[0].content, "Claude Elwood Shannon was an American "
		    "mathematician", "brave: <strong> removed");
		is_str(r.v[0].page_age, "April 30, 2025",
		    "brave: age, Anthropic's form of page_age");
		is_str(r.v[1].page_age, "2024-08-20T10:00:00",
		    "brave: else page_age");
	}
	websearch_results_free(&r);
	ok(search_brave.parse("{\"type\":\"search\",\"query\":{}}", 29, &r) ==
	    0 && r.n == 0, "brave: no web member, nothing found");
	ok(search_brave.parse("{\"web\":{\"results\":7}}", 21, &r) == -1,
	    "brave: results not an array");
	ok(search_brave.parse("[1,2]", 5, &r) == -1, "brave: not an object");
	ok(search_brave.parse("{\"web\":", 7, &r) == -1, "brave: cut JSON");
	websearch_results_free(&r);
}

static int
has_header(const struct curl_slist *h, const char *want)
{
	for (; h != NULL; h = h->next)
		if (strcmp(h->data, want) == 0)
			return 1;
	return 0;
}

static void
test_requests(void)
{
	static const char *const allowed[] = { "example.com/blog", "b.org" };
	struct conf_web_search cw = { "tavily", "https://api.tavily.com",
	    "tvly-secret", 5, 10 };
	struct websearch_query q;
	struct websearch_http h;

	memset(&q, 0, sizeof(q));
	q.query = "caf\xc3\xa9 & \"tea\"";
	q.allowed = allowed;
	q.nallowed = 2;
	memset(&h, 0, sizeof(h));
	ok(search_tavily.request(&cw, &q, 7, &h) == 0, "tavily: request");
	is_str(h.url.data, "https://api.tavily.com/search", "tavily: POST url");
	is_str(h.body.data, "{\"query\":\"caf\xc3\xa9 & \\\"tea\\\"\","
	    "\"max_results\":7,\"search_depth\":\"basic\",\"topic\":\"general\","
	    "\"include_domains\":[\"example.com\",\"b.org\"]}",
	    "tavily: JSON body, domains without their paths");
	ok(has_header(h.headers, "Authorization: Bearer tvly-secret"),
	    "tavily: key as a bearer token");
	ok(strstr(h.body.data, "secret") == NULL &&
	    strstr(h.url.data, "secret") == NULL, "tavily: key only in a header");
	websearch_http_free(&h);

	cw.backend = "searxng";
	cw.base_url = "http://127.0.0.1:8080";
	cw.api_key = "";
	memset(&h, 0, sizeof(h));
	ok(search_searxng.request(&cw, &q, 5, &h) == 0, "searxng: request");
	is_str(h.url.data, "http://127.0.0.1:8080/search?q=caf%C3%A9%20%26%20"
	    "%22tea%22&format=json&pageno=1", "searxng: GET url, encoded");
	ok(h.body.len == 0, "searxng: no body");
	ok(!has_header(h.headers, "Authorization: Bearer "),
	    "searxng: no key, no Authorization");
	websearch_http_free(&h);

	cw.backend = "brave";
	cw.base_url = "https://api.search.brave.com";
	cw.api_key = "BSA-secret";
	q.location.country = "DE";
	memset(&h, 0, sizeof(h));
	ok(search_brave.request(&cw, &q, 20, &h) == 0, "brave: request");
	is_str(h.url.data, "https://api.search.brave.com/res/v1/web/search?q="
	    "caf%C3%A9%20%26%20%22tea%22&count=20&country=de",
	    "brave: GET url with count and country");
	ok(has_header(h.headers, "X-Subscription-Token: BSA-secret"),
	    "brave: key in X-Subscription-Token");
	websearch_http_free(&h);
	q.location.country = "Germany";
	memset(&h, 0, sizeof(h));
	ok(search_brave.request(&cw, &q, 3, &h) == 0 &&
	    strstr(h.url.data, "country") == NULL,
	    "brave: a country that is no ISO code is not sent");
	websearch_http_free(&h);
}

static void
test_checks(void)
{
	static const char *const both[] = { "a.com" };
	static const char *const bad[] = { "*.a.com" };
	struct conf_web_search cw = { "searxng", "http://127.0.0.1:9",
	    "", 5, 1 };
	struct websearch_query q;
	struct websearch_results r;
	struct websearch_info info;
	char	 longq[WEBSEARCH_QUERY_MAX * 2 + 3];
	size_t	 i;

	memset(&q, 0, sizeof(q));
	q.query = " \t ";
	is_int(websearch_run(&cw, &q, NULL, &r, &info),
	    WEBSEARCH_INVALID_TOOL_INPUT, "blank query");
	q.query = NULL;
	is_int(websearch_run(&cw, &q, NULL, &r, &info),
	    WEBSEARCH_INVALID_TOOL_INPUT, "no query");
	/* 401 two-byte characters: too long in characters */
	for (i = 0; i < WEBSEARCH_QUERY_MAX + 1; i++)
		memcpy(longq + 2 * i, "\xc3\xa9", 2);
	longq[2 * (WEBSEARCH_QUERY_MAX + 1)] = '\0';
	q.query = longq;
	is_int(websearch_run(&cw, &q, NULL, &r, &info),
	    WEBSEARCH_QUERY_TOO_LONG, "401 characters: query_too_long");
	longq[2 * WEBSEARCH_QUERY_MAX] = '\0';
	/* 400 pass the check and reach the backend: nothing listens on
	 * port 9, so the search is unavailable */
	is_int(websearch_run(&cw, &q, NULL, &r, &info), WEBSEARCH_UNAVAILABLE,
	    "400 characters reach the backend");
	ok(strstr(info.detail, "searxng: ") == info.detail,
	    "the failure names the backend: %s", info.detail);
	websearch_results_free(&r);
	q.query = "x";
	q.allowed = both;
	q.nallowed = 1;
	q.blocked = both;
	q.nblocked = 1;
	is_int(websearch_run(&cw, &q, NULL, &r, &info),
	    WEBSEARCH_INVALID_TOOL_INPUT, "allowed and blocked together");
	q.nblocked = 0;
	q.allowed = bad;
	is_int(websearch_run(&cw, &q, NULL, &r, &info),
	    WEBSEARCH_INVALID_TOOL_INPUT, "a wildcard domain");
	is_str(info.backend, "searxng", "info names the backend");
	ok(r.n == 0 && r.v == NULL, "no results on error");
	cw.backend = "google";
	q.allowed = NULL;
	q.nallowed = 0;
	is_int(websearch_run(&cw, &q, NULL, &r, &info), WEBSEARCH_UNAVAILABLE,
	    "an unknown backend is unavailable");
}

int
main(void)
{
	size_t	 i;

	test_tavily();
	test_searxng();
	test_brave();
	test_requests();
	test_checks();
	for (i = 0; i < conf_nsearch_backends; i++)
		ok(websearch_backend(conf_search_backends[i].name) != NULL,
		    "the configuration's %s has an implementation",
		    conf_search_backends[i].name);
	is_str(websearch_error_code(WEBSEARCH_INVALID_TOOL_INPUT),
	    "invalid_tool_input", "code: invalid_tool_input");
	is_str(websearch_error_code(WEBSEARCH_UNAVAILABLE), "unavailable",
	    "code: unavailable");
	is_str(websearch_error_code(WEBSEARCH_MAX_USES_EXCEEDED),
	    "max_uses_exceeded", "code: max_uses_exceeded");
	is_str(websearch_error_code(WEBSEARCH_TOO_MANY_REQUESTS),
	    "too_many_requests", "code: too_many_requests");
	is_str(websearch_error_code(WEBSEARCH_QUERY_TOO_LONG),
	    "query_too_long", "code: query_too_long");
	is_str(websearch_error_code(WEBSEARCH_REQUEST_TOO_LARGE),
	    "request_too_large", "code: request_too_large");
	return tap_done();
}
