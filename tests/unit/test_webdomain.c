/*
 * test_webdomain: Anthropic's domain filter rules for web search and web
 * fetch, and which entries are well formed.
 */
#include <stdio.h>

#include "tap.h"
#include "webdomain.h"

static const struct {
	const char	*entry;
	int		 valid;
} entries[] = {
	{ "example.com", 1 },
	{ "docs.example.com", 1 },
	{ "example.com/blog", 1 },
	{ "example.com/*", 1 },
	{ "example.com/*/articles", 1 },
	{ "xn--bcher-kva.de", 1 },
	{ "bücher.de", 1 },
	{ "my_host.example.org", 1 },
	{ "", 0 },
	{ "https://example.com", 0 },
	{ "http://example.com/blog", 0 },
	{ "*.example.com", 0 },
	{ "ex*.com", 0 },
	{ ".example.com", 0 },
	{ "example.com.", 0 },
	{ "example..com", 0 },
	{ "-example.com", 0 },
	{ "localhost", 0 },
	{ "/blog", 0 },
	{ "example.com:8080", 0 },
	{ "exa mple.com", 0 },
	{ "example.com/a b", 0 },
	{ "example.com/?q=1", 0 },
	{ "example.com/\t", 0 },
};

static const struct {
	const char	*entry, *host, *path;
	int		 search, fetch;
} matches[] = {
	{ "example.com", "example.com", "/", 1, 1 },
	{ "example.com", "EXAMPLE.com", "/", 1, 1 },
	{ "example.com", "docs.example.com", "/x", 1, 1 },
	{ "example.com", "a.b.example.com", "/x", 1, 1 },
	{ "example.com", "example.com.", "/", 1, 1 },
	{ "example.com", "badexample.com", "/", 0, 0 },
	{ "example.com", "example.com.evil.net", "/", 0, 0 },
	{ "example.com", "com", "/", 0, 0 },
	{ "docs.example.com", "docs.example.com", "/", 1, 1 },
	{ "docs.example.com", "v2.docs.example.com", "/", 1, 1 },
	{ "docs.example.com", "example.com", "/", 0, 0 },
	{ "docs.example.com", "api.example.com", "/", 0, 0 },
	{ "example.com/blog", "example.com", "/blog", 1, 0 },
	{ "example.com/blog", "example.com", "/blog/post-1", 1, 0 },
	{ "example.com/blog", "www.example.com", "/blog/post-1", 1, 0 },
	{ "example.com/blog", "example.com", "/news", 0, 0 },
	{ "example.com/blog", "example.com", "/", 0, 0 },
	{ "example.com/blog", "example.com", "/Blog", 0, 0 },
	{ "example.com/*", "example.com", "/anything", 1, 0 },
	{ "example.com/*/articles", "example.com", "/en/articles/1", 1, 0 },
	{ "example.com/*/articles", "example.com", "/a/b/articles", 1, 0 },
	{ "example.com/*/articles", "example.com", "/en/news", 0, 0 },
	{ "example.com/*/articles", "example.com", "/articles", 0, 0 },
};

int
main(void)
{
	static const char *const allowed[] = { "example.com", "docs.python.org" };
	static const char *const blocked[] = { "evil.example.com" };
	static const char *const paths[] = { "example.com/blog" };
	size_t	 i;

	for (i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
		is_int(webdomain_valid(entries[i].entry), entries[i].valid,
		    "\"%s\" is %s", entries[i].entry,
		    entries[i].valid ? "valid" : "refused");
	for (i = 0; i < sizeof(matches) / sizeof(matches[0]); i++) {
		is_int(webdomain_match(matches[i].entry, matches[i].host,
		    matches[i].path, WEBDOMAIN_SEARCH), matches[i].search,
		    "search: %s %s %s%s", matches[i].entry,
		    matches[i].search ? "covers" : "does not cover",
		    matches[i].host, matches[i].path);
		is_int(webdomain_match(matches[i].entry, matches[i].host,
		    matches[i].path, WEBDOMAIN_FETCH), matches[i].fetch,
		    "fetch: %s %s %s%s", matches[i].entry,
		    matches[i].fetch ? "covers" : "does not cover",
		    matches[i].host, matches[i].path);
	}

	/* whole URLs */
	is_int(webdomain_url_allowed("https://docs.example.com/a?b=1", allowed,
	    2, NULL, 0, WEBDOMAIN_SEARCH), 1, "allowed list: a subdomain");
	is_int(webdomain_url_allowed("https://docs.python.org/3/", allowed, 2,
	    NULL, 0, WEBDOMAIN_FETCH), 1, "allowed list: the second entry");
	is_int(webdomain_url_allowed("https://example.org/", allowed, 2, NULL,
	    0, WEBDOMAIN_SEARCH), 0, "allowed list: another domain");
	is_int(webdomain_url_allowed("https://EVIL.example.com/x", NULL, 0,
	    blocked, 1, WEBDOMAIN_FETCH), 0, "blocked list: the domain");
	is_int(webdomain_url_allowed("https://a.evil.example.com/x", NULL, 0,
	    blocked, 1, WEBDOMAIN_SEARCH), 0, "blocked list: its subdomain");
	is_int(webdomain_url_allowed("https://example.com/x", NULL, 0,
	    blocked, 1, WEBDOMAIN_SEARCH), 1, "blocked list: the parent");
	is_int(webdomain_url_allowed("https://example.com/x", NULL, 0, NULL, 0,
	    WEBDOMAIN_FETCH), 1, "no lists: anything");
	is_int(webdomain_url_allowed("https://user:pw@example.com:8443/blog/1",
	    paths, 1, NULL, 0, WEBDOMAIN_SEARCH), 1,
	    "userinfo and port do not hide the host");
	is_int(webdomain_url_allowed("https://example.com/blog/1", paths, 1,
	    NULL, 0, WEBDOMAIN_FETCH), 0, "a path entry allows no fetch");
	is_int(webdomain_url_allowed("https://example.com@evil.net/", allowed,
	    2, NULL, 0, WEBDOMAIN_FETCH), 0, "the host, not the userinfo");
	is_int(webdomain_url_allowed("ftp://example.com/", allowed, 2, NULL, 0,
	    WEBDOMAIN_FETCH), -1, "ftp is not a web URL");
	is_int(webdomain_url_allowed("not a url", NULL, 0, NULL, 0,
	    WEBDOMAIN_FETCH), -1, "garbage is not a URL");
	return tap_done();
}
