/*
 * webfetch: fetch one URL for Anthropic's web_fetch server tool, safely:
 * http(s) only, every connected address checked, redirects re-checked,
 * size and time bounded; the page comes back as text or a base64 PDF.
 */
#ifndef CP_WEBFETCH_H
#define CP_WEBFETCH_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conf.h"
#include "webhttp.h"

#define WEBFETCH_URL_MAX	250	/* characters, as Anthropic's tool */
#define WEBFETCH_MAX_REDIRECTS	5

/* Anthropic's web_fetch_tool_result_error codes, and one of ours */
enum webfetch_error {
	WEBFETCH_OK = 0,
	WEBFETCH_INVALID_TOOL_INPUT,
	WEBFETCH_URL_TOO_LONG,
	WEBFETCH_URL_NOT_ALLOWED,	/* domain filter, scheme, address */
	WEBFETCH_URL_NOT_IN_PRIOR_CONTEXT,	/* the caller's to give */
	WEBFETCH_URL_NOT_ACCESSIBLE,	/* HTTP error, timeout, no answer */
	WEBFETCH_UNSUPPORTED_CONTENT_TYPE,
	WEBFETCH_TOO_MANY_REQUESTS,
	WEBFETCH_MAX_USES_EXCEEDED,	/* the caller's to give */
	WEBFETCH_UNAVAILABLE,
	WEBFETCH_CONTENT_TOO_LARGE,	/* a PDF over max_bytes */
	WEBFETCH_ABORTED		/* the client hung up: no answer due */
};

struct webfetch_query {
	const char		*url;
	const char *const	*allowed;	/* allowed_domains */
	size_t			 nallowed;
	const char *const	*blocked;	/* blocked_domains */
	size_t			 nblocked;
	/* which addresses may be connected to; NULL = public ones, or any
	 * with web_fetch.allow_private_addresses. Tests narrow it. */
	int			(*allow_addr)(void *arg,
				    const struct sockaddr *, socklen_t);
	void			*addr_arg;
};

/* a web_fetch_result's document */
struct webfetch_doc {
	char		*url;		/* as asked */
	char		*final_url;	/* after redirects */
	char		*title;		/* NULL = none */
	const char	*media_type;	/* "text/plain" or "application/pdf" */
	struct buf	 data;		/* UTF-8 text, or the PDF in base64 */
	int		 truncated;	/* text cut at max_bytes */
	char		 retrieved_at[32];	/* "2025-08-25T10:30:00Z" */
};

/* for the log line */
struct webfetch_info {
	long		 status;	/* last HTTP status, 0 = none */
	int		 redirects;
	uint64_t	 ms;
	char		 detail[320];	/* why it failed, "" when it did not */
};

enum webfetch_error webfetch_run(const struct conf_web_fetch *,
		    const struct webfetch_query *, const struct webhttp_wait *,
		    struct webfetch_doc *, struct webfetch_info *);
const char	*webfetch_error_code(enum webfetch_error);
void		 webfetch_doc_free(struct webfetch_doc *);

/* text -> valid UTF-8 without NUL: from charset (NULL = UTF-8) through
 * iconv, bad or cut sequences become U+FFFD */
int		 webfetch_to_utf8(const char *, size_t, const char *charset,
		    struct buf *);
int		 webfetch_base64(struct buf *, const unsigned char *, size_t);

#endif
