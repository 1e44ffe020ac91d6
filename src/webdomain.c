/*
 * webdomain.c: domain filters of the web tools.
 *
 * Anthropic's rules (server tools guide, "Domain filtering"): entries
 * carry no scheme; "example.com" covers its subdomains, "docs.example.com"
 * only that subdomain (and its own subdomains); a path restricts web
 * search results to URLs under it and matches anything after it, with
 * '*' allowed in the path only; web fetch matches the domain only, so an
 * entry with a path never matches a fetch URL. With allowed_domains a URL
 * must match one entry, with blocked_domains none.
 *
 * Promises: pure functions, no allocation but libcurl's URL parser; a URL
 * that does not parse is never allowed.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "webdomain.h"

#define WEBDOMAIN_HOSTMAX	253

static int
host_char(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.' || c >= 0x80;
}

int
webdomain_valid(const char *entry)
{
	const char	*p, *path;
	size_t		 hlen;

	if (entry == NULL || strstr(entry, "://") != NULL)
		return 0;
	path = entry + strcspn(entry, "/");
	hlen = path - entry;
	if (hlen == 0 || hlen > WEBDOMAIN_HOSTMAX || entry[0] == '.' ||
	    entry[0] == '-' || entry[hlen - 1] == '.' ||
	    memchr(entry, '.', hlen) == NULL)
		return 0;
	for (p = entry; p < path; p++)
		if (!host_char((unsigned char)*p) ||
		    (p[0] == '.' && p[1] == '.'))
			return 0;
	for (p = path; *p; p++)
		if (iscntrl((unsigned char)*p) || *p == ' ' || *p == '?' ||
		    *p == '#')
			return 0;
	return 1;
}

/* does pattern ('*' = any run of characters) match a prefix of text? */
static int
path_prefix_match(const char *pat, const char *text)
{
	const char	*star = NULL, *resume = NULL;

	for (;;) {
		if (*pat == '\0')
			return 1;	/* anything after the path matches */
		if (*pat == '*') {
			star = ++pat;
			resume = text;
			continue;
		}
		if (*text != '\0' && *pat == *text) {
			pat++;
			text++;
			continue;
		}
		if (star == NULL || *resume == '\0')
			return 0;
		pat = star;
		text = ++resume;
	}
}

int
webdomain_match(const char *entry, const char *host, const char *path,
    enum webdomain_tool tool)
{
	const char	*epath = entry + strcspn(entry, "/");
	size_t		 elen = epath - entry, hlen = strlen(host);

	if (hlen > 0 && host[hlen - 1] == '.')
		hlen--;				/* "example.com." */
	if (hlen < elen || strncasecmp(host + hlen - elen, entry, elen) != 0)
		return 0;
	if (hlen > elen && host[hlen - elen - 1] != '.')
		return 0;			/* "badexample.com" */
	if (*epath == '\0')
		return 1;
	if (tool == WEBDOMAIN_FETCH)
		return 0;
	return path_prefix_match(epath, path != NULL && *path ? path : "/");
}

static int
any_match(const char *const *list, size_t n, const char *host,
    const char *path, enum webdomain_tool tool)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (webdomain_match(list[i], host, path, tool))
			return 1;
	return 0;
}

int
webdomain_url_allowed(const char *url, const char *const *allowed,
    size_t nallowed, const char *const *blocked, size_t nblocked,
    enum webdomain_tool tool)
{
	CURLU	*u;
	char	*scheme = NULL, *host = NULL, *path = NULL;
	int	 rv = -1;

	if ((u = curl_url()) == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto done;
	if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)
		goto done;
	if (nallowed > 0)
		rv = any_match(allowed, nallowed, host, path, tool);
	else
		rv = !any_match(blocked, nblocked, host, path, tool);
done:
	curl_free(scheme);
	curl_free(host);
	curl_free(path);
	curl_url_cleanup(u);
	return rv;
}
