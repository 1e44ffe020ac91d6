/*
 * webfetch.c: one fetch for the web_fetch server tool.
 *
 * The fetcher is an SSRF target: a model, steered by whatever text it
 * read, picks the URL. So, all in this file:
 *  - the URL must be http or https, at most 250 characters, and pass the
 *    tool's domain filters (domain only, as Anthropic's web fetch);
 *  - every connection's address is checked after name resolution, when
 *    the socket is opened (webhttp's allow_addr): loopback, private,
 *    CGNAT, link-local/metadata, multicast and reserved addresses are
 *    refused (url_not_allowed) unless web_fetch.allow_private_addresses,
 *    so a name that resolves to 127.0.0.1, or rebinds to it, gains
 *    nothing; no proxy is used and no connection is reused;
 *  - redirects are followed here, at most 5, each new URL checked again
 *    (scheme, domain filters) before it is fetched, and its connection by
 *    the address check;
 *  - the whole fetch, redirects included, is bounded by
 *    web_fetch.timeout_seconds, and at most web_fetch.max_bytes of body
 *    are read: longer text is cut there (as Anthropic truncates long
 *    content), a longer PDF is refused (content_too_large; half a PDF is
 *    no document).
 * The page is data for the model and is never interpreted: HTML becomes
 * text through libxml2 (html_text), plain text, JSON and XML pass as
 * UTF-8, a PDF passes as base64 (Anthropic's web fetch returns PDFs as
 * base64 documents), anything else is unsupported_content_type.
 *
 * Every run is counted in the scoreboard's server-tool counters.
 *
 * Promises: every outcome is one of Anthropic's web_fetch error codes or
 * a document; the document's text is valid UTF-8 without NUL.
 */
#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "html_text.h"
#include "ipclass.h"
#include "scoreboard.h"
#include "util.h"
#include "webdomain.h"
#include "webfetch.h"

static const char accept_types[] = "Accept: text/html,application/xhtml+xml,"
    "text/plain;q=0.9,application/json;q=0.9,application/pdf;q=0.8,"
    "*/*;q=0.5";

/* what the address check saw last, for the log */
struct guard {
	const struct webfetch_query	*q;
	enum ipclass			 last;
};

const char *
webfetch_error_code(enum webfetch_error e)
{
	switch (e) {
	case WEBFETCH_INVALID_TOOL_INPUT:	return "invalid_tool_input";
	case WEBFETCH_URL_TOO_LONG:		return "url_too_long";
	case WEBFETCH_URL_NOT_ALLOWED:		return "url_not_allowed";
	case WEBFETCH_URL_NOT_IN_PRIOR_CONTEXT:	return "url_not_in_prior_context";
	case WEBFETCH_URL_NOT_ACCESSIBLE:	return "url_not_accessible";
	case WEBFETCH_UNSUPPORTED_CONTENT_TYPE:	return "unsupported_content_type";
	case WEBFETCH_TOO_MANY_REQUESTS:	return "too_many_requests";
	case WEBFETCH_MAX_USES_EXCEEDED:	return "max_uses_exceeded";
	case WEBFETCH_CONTENT_TOO_LARGE:	return "content_too_large";
	case WEBFETCH_OK:
	case WEBFETCH_UNAVAILABLE:
	case WEBFETCH_ABORTED:
		break;
	}
	return "unavailable";
}

void
webfetch_doc_free(struct webfetch_doc *d)
{
	free(d->url);
	free(d->final_url);
	free(d->title);
	buf_free(&d->data);
	memset(d, 0, sizeof(*d));
}

static int
guard_check(void *arg, const struct sockaddr *sa, socklen_t len)
{
	struct guard	*g = arg;

	g->last = ipclass_of(sa);
	if (g->q->allow_addr != NULL)
		return g->q->allow_addr(g->q->addr_arg, sa, len);
	return g->last == IPCLASS_PUBLIC;
}

static enum webfetch_error
fail(struct webfetch_info *info, enum webfetch_error e, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static enum webfetch_error
fail(struct webfetch_info *info, enum webfetch_error e, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(info->detail, sizeof(info->detail), fmt, ap);
	va_end(ap);
	return e;
}

/* may this URL be fetched at all? http(s) with a host, and the filters */
static enum webfetch_error
check_url(const char *url, const struct webfetch_query *q)
{
	CURLU		*u;
	char		*scheme = NULL, *host = NULL;
	enum webfetch_error e = WEBFETCH_INVALID_TOOL_INPUT;

	if ((u = curl_url()) == NULL)
		return WEBFETCH_UNAVAILABLE;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    *host != '\0' && (strcasecmp(scheme, "http") == 0 ||
	    strcasecmp(scheme, "https") == 0))
		e = webdomain_url_allowed(url, q->allowed, q->nallowed,
		    q->blocked, q->nblocked, WEBDOMAIN_FETCH) == 1 ?
		    WEBFETCH_OK : WEBFETCH_URL_NOT_ALLOWED;
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return e;
}

static enum webfetch_error
check_input(const struct webfetch_query *q)
{
	size_t	 i;

	if (q->url == NULL || q->url[0] == '\0')
		return WEBFETCH_INVALID_TOOL_INPUT;
	if (strlen(q->url) > WEBFETCH_URL_MAX)
		return WEBFETCH_URL_TOO_LONG;
	if (q->nallowed > 0 && q->nblocked > 0)
		return WEBFETCH_INVALID_TOOL_INPUT;
	for (i = 0; i < q->nallowed; i++)
		if (!webdomain_valid(q->allowed[i]))
			return WEBFETCH_INVALID_TOOL_INPUT;
	for (i = 0; i < q->nblocked; i++)
		if (!webdomain_valid(q->blocked[i]))
			return WEBFETCH_INVALID_TOOL_INPUT;
	return check_url(q->url, q);
}

/*
 * Text
 */

static int
put_replacement(struct buf *out)
{
	return buf_append(out, "\xef\xbf\xbd", 3);
}

/* valid UTF-8 as it is, anything else as U+FFFD, NUL too */
static int
sanitize(const char *p, size_t len, struct buf *out)
{
	size_t	 ok_len, nul;

	while (len > 0) {
		ok_len = util_utf8_check(p, len);
		nul = strnlen(p, ok_len);
		if (nul < ok_len)
			ok_len = nul;
		if (buf_append(out, p, ok_len) == -1)
			return -1;
		p += ok_len;
		len -= ok_len;
		if (len == 0)
			break;
		if (put_replacement(out) == -1)
			return -1;
		p++;
		len--;
	}
	return buf_puts(out, "");
}

static int
is_utf8_name(const char *cs)
{
	return cs == NULL || *cs == '\0' || strcasecmp(cs, "utf-8") == 0 ||
	    strcasecmp(cs, "utf8") == 0 || strcasecmp(cs, "us-ascii") == 0;
}

int
webfetch_to_utf8(const char *p, size_t len, const char *charset,
    struct buf *out)
{
	struct buf	 mid = BUF_INITIALIZER;
	iconv_t		 cd;
	char		*in = (char *)p, *o;
	size_t		 inleft = len, oleft;
	int		 rv;

	if (is_utf8_name(charset) ||
	    (cd = iconv_open("UTF-8", charset)) == (iconv_t)-1)
		return sanitize(p, len, out);
	while (inleft > 0) {
		if (buf_reserve(&mid, inleft * 2 + 16) == -1) {
			iconv_close(cd);
			buf_free(&mid);
			return -1;
		}
		o = mid.data + mid.len;
		oleft = mid.cap - mid.len - 1;
		if (iconv(cd, &in, &inleft, &o, &oleft) != (size_t)-1) {
			mid.len = o - mid.data;
			break;
		}
		mid.len = o - mid.data;
		if (errno == E2BIG)
			continue;
		if (errno == EINVAL)	/* cut at the end: dropped */
			break;
		/* EILSEQ: a byte the charset does not have */
		if (put_replacement(&mid) == -1)
			break;
		in++;
		inleft--;
	}
	iconv_close(cd);
	rv = sanitize(mid.data ? mid.data : "", mid.len, out);
	buf_free(&mid);
	return rv;
}

int
webfetch_base64(struct buf *out, const unsigned char *p, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789+/";
	char	*o;
	size_t	 i;
	uint32_t v;

	if (buf_reserve(out, (len + 2) / 3 * 4) == -1)
		return -1;
	o = out->data + out->len;
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = tab[(v >> 6) & 63];
		*o++ = tab[v & 63];
	}
	if (i < len) {
		v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] <<
		    8 : 0);
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	out->len = o - out->data;
	out->data[out->len] = '\0';
	return 0;
}

/*
 * Content types
 */

enum kind { KIND_HTML, KIND_TEXT, KIND_PDF, KIND_OTHER };

/* "text/html; charset=ISO-8859-1" -> type "text/html", charset */
static void
split_type(const char *ct, char *type, size_t typesz, char *cs, size_t cssz)
{
	const char	*p;
	size_t		 n;

	n = strcspn(ct, ";");
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	snprintf(type, typesz, "%.*s", (int)n, ct);
	cs[0] = '\0';
	for (p = ct; (p = strcasestr(p, "charset=")) != NULL; p += 8) {
		p += 8;
		if (*p == '"')
			p++;
		snprintf(cs, cssz, "%.*s", (int)strcspn(p, "\"; \t"), p);
		break;
	}
}

static int
ends_with(const char *s, const char *tail)
{
	size_t	 n = strlen(s), m = strlen(tail);

	return n >= m && strcasecmp(s + n - m, tail) == 0;
}

static enum kind
sniff(const char *p, size_t len)
{
	size_t	 i = 0;

	if (len >= 5 && memcmp(p, "%PDF-", 5) == 0)
		return KIND_PDF;
	while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
	    p[i] == '\n'))
		i++;
	if ((len - i >= 14 && strncasecmp(p + i, "<!doctype html", 14) == 0) ||
	    (len - i >= 5 && strncasecmp(p + i, "<html", 5) == 0))
		return KIND_HTML;
	/* text: valid UTF-8 without NUL, a cut last character forgiven */
	i = util_utf8_check(p, len);
	if (len - i < 4 && memchr(p, '\0', len) == NULL)
		return KIND_TEXT;
	return KIND_OTHER;
}

static enum kind
kind_of(const char *type, const char *p, size_t len)
{
	if (type[0] == '\0')
		return sniff(p, len);
	if (strcasecmp(type, "text/html") == 0 ||
	    strcasecmp(type, "application/xhtml+xml") == 0)
		return KIND_HTML;
	if (strcasecmp(type, "application/pdf") == 0)
		return KIND_PDF;
	if (strncasecmp(type, "text/", 5) == 0 ||
	    strcasecmp(type, "application/json") == 0 ||
	    strcasecmp(type, "application/xml") == 0 ||
	    strcasecmp(type, "application/javascript") == 0 ||
	    ends_with(type, "+json") || ends_with(type, "+xml"))
		return KIND_TEXT;
	return KIND_OTHER;
}

static enum webfetch_error
make_doc(const struct webhttp_resp *resp, const char *url,
    struct webfetch_doc *doc, struct webfetch_info *info)
{
	struct buf	 title = BUF_INITIALIZER;
	char		 type[128], cs[64];
	const char	*body = resp->body.data ? resp->body.data : "";
	time_t		 now = time(NULL);
	struct tm	 tm;
	int		 rv;

	split_type(resp->content_type, type, sizeof(type), cs, sizeof(cs));
	doc->truncated = resp->truncated;
	doc->media_type = "text/plain";
	switch (kind_of(type, body, resp->body.len)) {
	case KIND_HTML:
		rv = html_text(body, resp->body.len, cs[0] ? cs : NULL, url,
		    &doc->data, &title);
		if (rv == 0 && title.len > 0)
			doc->title = buf_steal(&title);
		buf_free(&title);
		break;
	case KIND_TEXT:
		rv = webfetch_to_utf8(body, resp->body.len, cs[0] ? cs : NULL,
		    &doc->data);
		break;
	case KIND_PDF:
		if (resp->truncated)
			return fail(info, WEBFETCH_CONTENT_TOO_LARGE,
			    "a PDF larger than web_fetch.max_bytes");
		doc->media_type = "application/pdf";
		rv = webfetch_base64(&doc->data,
		    (const unsigned char *)body, resp->body.len);
		break;
	default:
		return fail(info, WEBFETCH_UNSUPPORTED_CONTENT_TYPE,
		    "content type \"%s\"", type[0] ? type : "(none)");
	}
	if (rv == -1 || buf_puts(&doc->data, "") == -1)
		return fail(info, WEBFETCH_UNAVAILABLE, "out of memory");
	gmtime_r(&now, &tm);
	strftime(doc->retrieved_at, sizeof(doc->retrieved_at),
	    "%Y-%m-%dT%H:%M:%SZ", &tm);
	return WEBFETCH_OK;
}

/* one hop's failure to answer */
static enum webfetch_error
no_answer(const struct webhttp_resp *resp, const struct guard *g,
    const struct conf_web_fetch *cw, struct webfetch_info *info)
{
	if (resp->aborted)
		return fail(info, WEBFETCH_ABORTED, "client gone");
	if (resp->refused)
		return fail(info, WEBFETCH_URL_NOT_ALLOWED, "address %s is %s",
		    resp->refused_addr, ipclass_name(g->last));
	if (resp->timed_out)
		return fail(info, WEBFETCH_URL_NOT_ACCESSIBLE,
		    "no answer in %d s", cw->timeout_seconds);
	return fail(info, WEBFETCH_URL_NOT_ACCESSIBLE, "%s", resp->error);
}

/* a 3xx: its target becomes *url once checked like the first URL */
static enum webfetch_error
redirect(struct webhttp_resp *resp, const struct webfetch_query *q,
    struct webfetch_info *info, char **url)
{
	if (++info->redirects > WEBFETCH_MAX_REDIRECTS)
		return fail(info, WEBFETCH_URL_NOT_ACCESSIBLE,
		    "more than %d redirects", WEBFETCH_MAX_REDIRECTS);
	if (check_url(resp->redirect_url, q) != WEBFETCH_OK)
		return fail(info, WEBFETCH_URL_NOT_ALLOWED,
		    "redirect to a URL not allowed");
	free(*url);
	*url = resp->redirect_url;
	resp->redirect_url = NULL;
	return WEBFETCH_OK;
}

/* the last hop's answer: the document, or the HTTP error */
static enum webfetch_error
final_answer(const struct webhttp_resp *resp, const char *url,
    struct webfetch_doc *doc, struct webfetch_info *info)
{
	if (resp->status == 429)
		return fail(info, WEBFETCH_TOO_MANY_REQUESTS, "HTTP 429");
	if (resp->status / 100 != 2)
		return fail(info, WEBFETCH_URL_NOT_ACCESSIBLE, "HTTP %ld",
		    resp->status);
	return make_doc(resp, url, doc, info);
}

/* hop after hop until an answer that is no redirect, within the time */
static enum webfetch_error
follow(const struct conf_web_fetch *cw, const struct webfetch_query *q,
    struct webhttp_req *req, const struct guard *g, char **url,
    struct webfetch_doc *doc, struct webfetch_info *info)
{
	struct webhttp_resp	 resp;
	enum webfetch_error	 e;
	uint64_t		 start = util_now_ms(), spent;
	uint64_t		 limit = (uint64_t)cw->timeout_seconds * 1000;

	for (;;) {
		if ((spent = util_now_ms() - start) >= limit)
			return fail(info, WEBFETCH_URL_NOT_ACCESSIBLE,
			    "no answer in %d s", cw->timeout_seconds);
		req->url = *url;
		req->timeout_ms = (long)(limit - spent);
		if (webhttp_perform(req, &resp) == -1)
			e = no_answer(&resp, g, cw, info);
		else {
			info->status = resp.status;
			if (resp.status / 100 == 3 && resp.redirect_url != NULL) {
				e = redirect(&resp, q, info, url);
				webhttp_resp_free(&resp);
				if (e == WEBFETCH_OK)
					continue;
				return e;
			}
			e = final_answer(&resp, *url, doc, info);
		}
		webhttp_resp_free(&resp);
		return e;
	}
}

static enum webfetch_error
fetch(const struct conf_web_fetch *cw, const struct webfetch_query *q,
    const struct webhttp_wait *wait, struct webfetch_doc *doc,
    struct webfetch_info *info)
{
	struct guard		 g = { q, IPCLASS_PUBLIC };
	struct curl_slist	*headers;
	struct webhttp_req	 req;
	enum webfetch_error	 e;
	uint64_t		 start = util_now_ms();
	char			*url = NULL;

	memset(doc, 0, sizeof(*doc));
	memset(info, 0, sizeof(*info));
	if ((e = check_input(q)) != WEBFETCH_OK)
		return fail(info, e, "URL refused before fetching");
	if ((doc->url = strdup(q->url)) == NULL || (url = strdup(q->url)) ==
	    NULL || (headers = curl_slist_append(NULL, accept_types)) == NULL) {
		free(url);
		webfetch_doc_free(doc);
		return fail(info, WEBFETCH_UNAVAILABLE, "out of memory");
	}
	memset(&req, 0, sizeof(req));
	req.headers = headers;
	req.max_bytes = (size_t)cw->max_bytes;
	req.keep_partial = 1;
	req.isolated = 1;
	if (q->allow_addr != NULL || !cw->allow_private_addresses) {
		req.allow_addr = guard_check;
		req.addr_arg = &g;
	}
	req.wait = wait;
	e = follow(cw, q, &req, &g, &url, doc, info);
	curl_slist_free_all(headers);
	info->ms = util_now_ms() - start;
	if (e == WEBFETCH_OK) {
		doc->final_url = url;
		return e;
	}
	free(url);
	webfetch_doc_free(doc);
	return e;
}

enum webfetch_error
webfetch_run(const struct conf_web_fetch *cw, const struct webfetch_query *q,
    const struct webhttp_wait *wait, struct webfetch_doc *doc,
    struct webfetch_info *info)
{
	enum webfetch_error	 e;

	e = fetch(cw, q, wait, doc, info);
	/* a client that hung up got no result block: not a failure */
	scoreboard_server_tool_done("web_fetch", "fetch",
	    e != WEBFETCH_OK && e != WEBFETCH_ABORTED);
	return e;
}
