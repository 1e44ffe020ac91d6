/*
 * webdomain: the allowed_domains / blocked_domains of Anthropic's web
 * tools, as Anthropic documents them.
 */
#ifndef CP_WEBDOMAIN_H
#define CP_WEBDOMAIN_H

#include <stddef.h>

enum webdomain_tool { WEBDOMAIN_SEARCH, WEBDOMAIN_FETCH };

/* is entry a well-formed filter: a bare domain ("example.com"), for
 * search optionally with a path that may hold '*' ("example.com/blog",
 * "example.com/<star>/articles"); no scheme, no wildcard in the domain */
int	 webdomain_valid(const char *entry);

/* does entry cover host (and path, for search)? host is compared
 * case-insensitively and covers its subdomains; an entry with a path
 * never matches for fetch */
int	 webdomain_match(const char *entry, const char *host,
	    const char *path, enum webdomain_tool);

/* may url be used under these lists (either may be empty, not both
 * non-empty)? 1 = yes, 0 = no, -1 = not an http(s) URL with a host */
int	 webdomain_url_allowed(const char *url, const char *const *allowed,
	    size_t nallowed, const char *const *blocked, size_t nblocked,
	    enum webdomain_tool);

#endif
