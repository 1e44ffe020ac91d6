/*
 * test_webfetch: what the fetcher refuses before any connection, its
 * UTF-8 cleaning and charset conversion, base64, and Anthropic's error
 * code strings. Fetches themselves are driven by web.test.mjs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "tap.h"
#include "webfetch.h"

static const struct conf_web_fetch cw = { 1, 0, 5, 1048576 };

static enum webfetch_error
fetch(const char *url, const char *const *allowed, size_t na,
    const char *const *blocked, size_t nb)
{
	struct webfetch_query	 q;
	struct webfetch_doc	 d;
	struct webfetch_info	 info;
	enum webfetch_error	 e;

	memset(&q, 0, sizeof(q));
	q.url = url;
	q.allowed = allowed;
	q.nallowed = na;
	q.blocked = blocked;
	q.nblocked = nb;
	e = webfetch_run(&cw, &q, NULL, &d, &info);
	ok(d.url == NULL && d.data.data == NULL, "nothing kept on error: %s",
	    info.detail);
	return e;
}

static void
test_refusals(void)
{
	static const char *const allowed[] = { "example.com" };
	static const char *const blocked[] = { "evil.example.com" };
	static const char *const with_path[] = { "example.com/docs" };
	static const char *const bad[] = { "https://example.com" };
	char	 longurl[300];

	is_int(fetch(NULL, NULL, 0, NULL, 0), WEBFETCH_INVALID_TOOL_INPUT,
	    "no url");
	is_int(fetch("", NULL, 0, NULL, 0), WEBFETCH_INVALID_TOOL_INPUT,
	    "empty url");
	is_int(fetch("file:///etc/passwd", NULL, 0, NULL, 0),
	    WEBFETCH_INVALID_TOOL_INPUT, "file:");
	is_int(fetch("gopher://example.com/", NULL, 0, NULL, 0),
	    WEBFETCH_INVALID_TOOL_INPUT, "gopher:");
	is_int(fetch("ftp://example.com/x", NULL, 0, NULL, 0),
	    WEBFETCH_INVALID_TOOL_INPUT, "ftp:");
	is_int(fetch("not a url at all", NULL, 0, NULL, 0),
	    WEBFETCH_INVALID_TOOL_INPUT, "not a URL");
	is_int(fetch("http://", NULL, 0, NULL, 0),
	    WEBFETCH_INVALID_TOOL_INPUT, "no host");
	snprintf(longurl, sizeof(longurl), "https://example.com/%0*d",
	    WEBFETCH_URL_MAX - 19, 0);
	is_int(strlen(longurl), WEBFETCH_URL_MAX + 1, "a URL of 251 characters");
	is_int(fetch(longurl, NULL, 0, NULL, 0), WEBFETCH_URL_TOO_LONG,
	    "is url_too_long");
	is_int(fetch("https://example.org/", allowed, 1, NULL, 0),
	    WEBFETCH_URL_NOT_ALLOWED, "outside allowed_domains");
	is_int(fetch("https://a.evil.example.com/", NULL, 0, blocked, 1),
	    WEBFETCH_URL_NOT_ALLOWED, "inside blocked_domains");
	is_int(fetch("https://example.com/docs/x", with_path, 1, NULL, 0),
	    WEBFETCH_URL_NOT_ALLOWED, "an entry with a path allows no fetch");
	is_int(fetch("https://example.com/", allowed, 1, blocked, 1),
	    WEBFETCH_INVALID_TOOL_INPUT, "both lists");
	is_int(fetch("https://example.com/", bad, 1, NULL, 0),
	    WEBFETCH_INVALID_TOOL_INPUT, "a malformed entry");
}

static void
test_utf8(void)
{
	struct buf	 b = BUF_INITIALIZER;

	ok(webfetch_to_utf8("caf\xc3\xa9", 5, NULL, &b) == 0 &&
	    strcmp(b.data, "caf\xc3\xa9") == 0, "UTF-8 passes");
	buf_reset(&b);
	ok(webfetch_to_utf8("a\xff" "b\xc3", 4, "utf-8", &b) == 0 &&
	    strcmp(b.data, "a\xef\xbf\xbd" "b\xef\xbf\xbd") == 0,
	    "bad and cut sequences become U+FFFD");
	buf_reset(&b);
	ok(webfetch_to_utf8("a\0b", 3, NULL, &b) == 0 && b.len == 5 &&
	    memcmp(b.data, "a\xef\xbf\xbd" "b", 5) == 0, "NUL becomes U+FFFD");
	buf_reset(&b);
	ok(webfetch_to_utf8("caf\xe9", 4, "ISO-8859-1", &b) == 0 &&
	    strcmp(b.data, "caf\xc3\xa9") == 0, "Latin-1 converted");
	buf_reset(&b);
	ok(webfetch_to_utf8("\x93quoted\x94", 8, "windows-1252", &b) == 0 &&
	    strcmp(b.data, "\xe2\x80\x9cquoted\xe2\x80\x9d") == 0,
	    "windows-1252 converted");
	buf_reset(&b);
	ok(webfetch_to_utf8("\x82\xa0", 2, "Shift_JIS", &b) == 0 &&
	    strcmp(b.data, "\xe3\x81\x82") == 0, "Shift_JIS converted");
	buf_reset(&b);
	ok(webfetch_to_utf8("abc\xe9", 4, "x-unknown-charset", &b) == 0 &&
	    strcmp(b.data, "abc\xef\xbf\xbd") == 0,
	    "an unknown charset is read as UTF-8");
	buf_reset(&b);
	ok(webfetch_to_utf8("", 0, NULL, &b) == 0 && b.data != NULL &&
	    b.len == 0, "empty text is an empty string");
	buf_free(&b);
}

static void
test_base64(void)
{
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
		{ "%PDF-1.4\n\xff\xfe", "JVBERi0xLjQK//4=" },
	};
	struct buf	 b = BUF_INITIALIZER;
	size_t		 i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		buf_reset(&b);
		ok(webfetch_base64(&b, (const unsigned char *)v[i].in,
		    strlen(v[i].in)) == 0, "base64 %zu", i);
		is_str(b.data ? b.data : "", v[i].out, "base64 of \"%s\"",
		    v[i].out);
	}
	buf_free(&b);
}

int
main(void)
{
	test_refusals();
	test_utf8();
	test_base64();
	is_str(webfetch_error_code(WEBFETCH_INVALID_TOOL_INPUT),
	    "invalid_tool_input", "code: invalid_tool_input");
	is_str(webfetch_error_code(WEBFETCH_URL_TOO_LONG), "url_too_long",
	    "code: url_too_long");
	is_str(webfetch_error_code(WEBFETCH_URL_NOT_ALLOWED), "url_not_allowed",
	    "code: url_not_allowed");
	is_str(webfetch_error_code(WEBFETCH_URL_NOT_IN_PRIOR_CONTEXT),
	    "url_not_in_prior_context", "code: url_not_in_prior_context");
	is_str(webfetch_error_code(WEBFETCH_URL_NOT_ACCESSIBLE),
	    "url_not_accessible", "code: url_not_accessible");
	is_str(webfetch_error_code(WEBFETCH_UNSUPPORTED_CONTENT_TYPE),
	    "unsupported_content_type", "code: unsupported_content_type");
	is_str(webfetch_error_code(WEBFETCH_TOO_MANY_REQUESTS),
	    "too_many_requests", "code: too_many_requests");
	is_str(webfetch_error_code(WEBFETCH_MAX_USES_EXCEEDED),
	    "max_uses_exceeded", "code: max_uses_exceeded");
	is_str(webfetch_error_code(WEBFETCH_CONTENT_TOO_LARGE),
	    "content_too_large", "code: content_too_large");
	is_str(webfetch_error_code(WEBFETCH_UNAVAILABLE), "unavailable",
	    "code: unavailable");
	return tap_done();
}
