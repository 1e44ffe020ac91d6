/*
 * test_http_parse: the request head parser and the chunked decoder, table
 * driven. Every input is placed at the very end of a page followed by an
 * inaccessible page, so a read past the input crashes the test instead of
 * passing by luck. Every proper prefix of a good head must be "partial";
 * every chunked body is also fed split at every offset and byte by byte.
 */
#include <sys/mman.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_parse.h"
#include "tap.h"

#define ALL	1000000		/* ALL + n: "the whole input but n bytes" */
#define NHDR	16

struct req_case {
	const char	*name;
	const char	*in;
	int		 want;		/* ALL + n, a length, or -1/-2/-3 */
	const char	*method;
	const char	*target;
	int		 minor;
	int		 nheaders;
	const char	*hname;		/* a header to check, by index */
	int		 hidx;
	const char	*hvalue;
	size_t		 cap;		/* header array capacity; 0 = NHDR */
	size_t		 len;		/* input length if it holds NULs */
};

static const struct req_case req_cases[] = {
	/* good */
	{ .name = "minimal GET", .in = "GET / HTTP/1.1\r\n\r\n", .want = ALL,
	  .method = "GET", .target = "/", .minor = 1, .nheaders = 0 },
	{ .name = "Claude Code POST with query",
	  .in = "POST /v1/messages?beta=true HTTP/1.1\r\n"
	  "Host: 127.0.0.1:8888\r\n"
	  "Content-Type: application/json\r\n"
	  "x-api-key: sk-test\r\n"
	  "anthropic-version: 2023-06-01\r\n"
	  "anthropic-beta: claude-code-20250219,interleaved-thinking\r\n"
	  "User-Agent: claude-cli/1.0 (external, cli)\r\n"
	  "Content-Length: 2\r\n\r\n{}",
	  .want = ALL + 2, .method = "POST", .target = "/v1/messages?beta=true",
	  .minor = 1, .nheaders = 7, .hname = "Content-Length", .hidx = 6,
	  .hvalue = "2" },
	{ .name = "HTTP/1.0 with bare LF", .in = "GET /x HTTP/1.0\nHost: a\n\n",
	  .want = ALL, .method = "GET", .target = "/x", .minor = 0,
	  .nheaders = 1, .hname = "Host", .hidx = 0, .hvalue = "a" },
	{ .name = "mixed CRLF and LF",
	  .in = "GET / HTTP/1.1\nA: 1\r\nB: 2\n\r\n", .want = ALL,
	  .method = "GET", .target = "/", .minor = 1, .nheaders = 2,
	  .hname = "B", .hidx = 1, .hvalue = "2" },
	{ .name = "value blanks trimmed",
	  .in = "GET / HTTP/1.1\r\nX:  \t hi there \t \r\n\r\n", .want = ALL,
	  .method = "GET", .target = "/", .minor = 1, .nheaders = 1,
	  .hname = "X", .hidx = 0, .hvalue = "hi there" },
	{ .name = "no blank after colon", .in = "GET / HTTP/1.1\r\nX:v\r\n\r\n",
	  .want = ALL, .method = "GET", .target = "/", .minor = 1,
	  .nheaders = 1, .hname = "X", .hidx = 0, .hvalue = "v" },
	{ .name = "empty value",
	  .in = "GET / HTTP/1.1\r\nX-Empty:\r\nY:   \r\n\r\n", .want = ALL,
	  .method = "GET", .target = "/", .minor = 1, .nheaders = 2,
	  .hname = "Y", .hidx = 1, .hvalue = "" },
	{ .name = "HTAB inside value",
	  .in = "GET / HTTP/1.1\r\nX: a\tb\r\n\r\n", .want = ALL,
	  .method = "GET", .target = "/", .minor = 1, .nheaders = 1,
	  .hname = "X", .hidx = 0, .hvalue = "a\tb" },
	{ .name = "obs-text in value",
	  .in = "GET / HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n", .want = ALL,
	  .method = "GET", .target = "/", .minor = 1, .nheaders = 1,
	  .hname = "X", .hidx = 0, .hvalue = "caf\xc3\xa9" },
	{ .name = "colons in value",
	  .in = "GET / HTTP/1.1\r\nHost: a:80\r\n\r\n", .want = ALL,
	  .method = "GET", .target = "/", .minor = 1, .nheaders = 1,
	  .hname = "Host", .hidx = 0, .hvalue = "a:80" },
	{ .name = "every tchar in a name",
	  .in = "GET / HTTP/1.1\r\nX-!#$%&'*+-.^_`|~9: v\r\n\r\n", .want = ALL,
	  .method = "GET", .target = "/", .minor = 1, .nheaders = 1,
	  .hname = "X-!#$%&'*+-.^_`|~9", .hidx = 0, .hvalue = "v" },
	{ .name = "leading empty lines skipped",
	  .in = "\r\n\nGET / HTTP/1.1\r\n\r\n", .want = ALL, .method = "GET",
	  .target = "/", .minor = 1, .nheaders = 0 },
	{ .name = "HEAD", .in = "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n",
	  .want = ALL, .method = "HEAD", .target = "/", .minor = 1,
	  .nheaders = 1 },
	{ .name = "extension method, asterisk",
	  .in = "M-SEARCH * HTTP/1.1\r\n\r\n", .want = ALL,
	  .method = "M-SEARCH", .target = "*", .minor = 1, .nheaders = 0 },
	{ .name = "UTF-8 in target",
	  .in = "GET /caf\xc3\xa9?q=1 HTTP/1.1\r\n\r\n", .want = ALL,
	  .method = "GET", .target = "/caf\xc3\xa9?q=1", .minor = 1,
	  .nheaders = 0 },
	{ .name = "HTTP/1.9 is for the caller to refuse",
	  .in = "GET / HTTP/1.9\r\n\r\n", .want = ALL, .method = "GET",
	  .target = "/", .minor = 9, .nheaders = 0 },
	{ .name = "headers exactly fill the array",
	  .in = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", .want = ALL,
	  .method = "GET", .target = "/", .minor = 1, .nheaders = 2,
	  .hname = "B", .hidx = 1, .hvalue = "2", .cap = 2 },
	{ .name = "pipelined: consumes only the first",
	  .in = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", .want = 19,
	  .method = "GET", .target = "/a", .minor = 1, .nheaders = 0 },

	/* bad request line */
	{ .name = "double space after method", .in = "GET  / HTTP/1.1\r\n\r\n",
	  .want = -1 },
	{ .name = "double space after target", .in = "GET /  HTTP/1.1\r\n\r\n",
	  .want = -1 },
	{ .name = "leading space", .in = " GET / HTTP/1.1\r\n\r\n",
	  .want = -1 },
	{ .name = "tab as separator", .in = "GET\t/ HTTP/1.1\r\n\r\n",
	  .want = -1 },
	{ .name = "trailing space after version",
	  .in = "GET / HTTP/1.1 \r\n\r\n", .want = -1 },
	{ .name = "HTTP/2.0", .in = "GET / HTTP/2.0\r\n\r\n", .want = -1 },
	{ .name = "HTTP/1.x", .in = "GET / HTTP/1.x\r\n\r\n", .want = -1 },
	{ .name = "HTTP/1.10", .in = "GET / HTTP/1.10\r\n\r\n", .want = -1 },
	{ .name = "lower-case protocol", .in = "GET / http/1.1\r\n\r\n",
	  .want = -1 },
	{ .name = "HTTP/0.9 request", .in = "GET /\r\n\r\n", .want = -1 },
	{ .name = "no target", .in = "GET HTTP/1.1\r\n\r\n", .want = -1 },
	{ .name = "non-token method", .in = "G(ET / HTTP/1.1\r\n\r\n",
	  .want = -1 },
	{ .name = "CTL in target", .in = "GET /a\x01z HTTP/1.1\r\n\r\n",
	  .want = -1 },
	{ .name = "DEL in target", .in = "GET /a\x7f HTTP/1.1\r\n\r\n",
	  .want = -1 },
	{ .name = "NUL in target", .in = "GET /a\0b HTTP/1.1\r\n\r\n",
	  .want = -1, .len = sizeof("GET /a\0b HTTP/1.1\r\n\r\n") - 1 },
	{ .name = "bare CR after version", .in = "GET / HTTP/1.1\rX\r\n\r\n",
	  .want = -1 },
	{ .name = "bare CR before request line",
	  .in = "\rGET / HTTP/1.1\r\n\r\n", .want = -1 },

	/* bad header fields */
	{ .name = "space before colon",
	  .in = "GET / HTTP/1.1\r\nHost : a\r\n\r\n", .want = -1 },
	{ .name = "tab before colon",
	  .in = "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", .want = -1 },
	{ .name = "no colon", .in = "GET / HTTP/1.1\r\nHost\r\n\r\n",
	  .want = -1 },
	{ .name = "empty name", .in = "GET / HTTP/1.1\r\n: a\r\n\r\n",
	  .want = -1 },
	{ .name = "non-token name", .in = "GET / HTTP/1.1\r\nX\x80: a\r\n\r\n",
	  .want = -1 },
	{ .name = "NUL in value", .in = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n",
	  .want = -1, .len = sizeof("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n") - 1 },
	{ .name = "CTL in value", .in = "GET / HTTP/1.1\r\nX: a\x01\r\n\r\n",
	  .want = -1 },
	{ .name = "DEL in value", .in = "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n",
	  .want = -1 },
	{ .name = "ESC in value", .in = "GET / HTTP/1.1\r\nX: \x1b[31m\r\n\r\n",
	  .want = -1 },
	{ .name = "bare CR in value", .in = "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
	  .want = -1 },
	{ .name = "CR CR LF", .in = "GET / HTTP/1.1\r\nX: a\r\r\n\r\n",
	  .want = -1 },
	{ .name = "obs-fold with SP",
	  .in = "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", .want = -1 },
	{ .name = "obs-fold with HTAB",
	  .in = "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", .want = -1 },
	{ .name = "first header line indented",
	  .in = "GET / HTTP/1.1\r\n X: a\r\n\r\n", .want = -1 },
	{ .name = "bare CR ends the head",
	  .in = "GET / HTTP/1.1\r\nX: a\r\n\rX", .want = -1 },

	/* too many */
	{ .name = "one header more than the array",
	  .in = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", .want = -3,
	  .cap = 2 },
	{ .name = "no room at all", .in = "GET / HTTP/1.1\r\nA: 1\r\n\r\n",
	  .want = -3, .cap = (size_t)-1 },

	/* partial */
	{ .name = "empty input", .in = "", .want = -2 },
	{ .name = "only empty lines", .in = "\r\n\r\n\n", .want = -2 },
	{ .name = "head without its end", .in = "GET / HTTP/1.1\r\nHost: a\r\n",
	  .want = -2 },
};

static size_t	 pagesz;

struct guarded {
	char	*map;
	size_t	 maplen;
	char	*p;
};

/* a writable copy of s ending exactly where an inaccessible page begins */
static char *
guard(struct guarded *g, const char *s, size_t len)
{
	size_t	 data_pages = (len + pagesz - 1) / pagesz;

	if (data_pages == 0)
		data_pages = 1;
	g->maplen = (data_pages + 1) * pagesz;
	g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->map == MAP_FAILED ||
	    mprotect(g->map + data_pages * pagesz, pagesz, PROT_NONE) == -1) {
		perror("mmap");
		exit(2);
	}
	g->p = g->map + data_pages * pagesz - len;
	memcpy(g->p, s, len);
	return g->p;
}

static void
unguard(struct guarded *g)
{
	munmap(g->map, g->maplen);
}

struct parsed {
	const char		*method, *target;
	size_t			 method_len, target_len, nh;
	int			 minor;
	struct http_header	 h[NHDR];
};

static int
parse(const struct req_case *c, const char *buf, size_t len, size_t last_len,
    struct parsed *out)
{
	size_t	 cap = c->cap == 0 ? NHDR : c->cap == (size_t)-1 ? 0 : c->cap;

	memset(out, 0, sizeof(*out));
	out->nh = cap;
	return http_parse_request(buf, len, &out->method, &out->method_len,
	    &out->target, &out->target_len, &out->minor, out->h, &out->nh,
	    last_len);
}

static int
span_eq(const char *p, size_t len, const char *s)
{
	return s != NULL && strlen(s) == len && memcmp(p, s, len) == 0;
}

static void
test_request_case(const struct req_case *c)
{
	struct guarded	 g;
	struct parsed	 r;
	size_t		 len = c->len ? c->len : strlen(c->in), k, last;
	int		 want = c->want >= ALL ? (int)len - (c->want - ALL) :
			    c->want, n, bad;
	char		*buf;

	buf = guard(&g, c->in, len);
	n = parse(c, buf, len, 0, &r);
	is_int(n, want, "%s: result", c->name);
	if (want > 0 && n == want) {
		ok(span_eq(r.method, r.method_len, c->method) &&
		    span_eq(r.target, r.target_len, c->target) &&
		    r.minor == c->minor && (int)r.nh == c->nheaders,
		    "%s: method, target, version, header count", c->name);
		if (c->hname != NULL)
			ok(span_eq(r.h[c->hidx].name, r.h[c->hidx].name_len,
			    c->hname) && span_eq(r.h[c->hidx].value,
			    r.h[c->hidx].value_len, c->hvalue),
			    "%s: header %d", c->name, c->hidx);
	}
	unguard(&g);

	/* every prefix, each at the end of a page */
	bad = 0;
	for (k = 0; k < len; k++) {
		buf = guard(&g, c->in, k);
		n = parse(c, buf, k, 0, &r);
		if (want > 0 && k < (size_t)want && n != HTTP_PARSE_PARTIAL)
			bad++;
		if (want > 0 && k >= (size_t)want && n != want)
			bad++;
		if (want < 0 && n != HTTP_PARSE_PARTIAL && n != want)
			bad++;
		unguard(&g);
	}
	is_int(bad, 0, "%s: every prefix is partial or %d", c->name, want);

	/* byte by byte with last_len, as a reading connection does */
	if (want > 0) {
		bad = 0;
		last = 0;
		for (k = 1; k <= len; k++) {
			buf = guard(&g, c->in, k);
			n = parse(c, buf, k, last, &r);
			if (k < (size_t)want ? n != HTTP_PARSE_PARTIAL :
			    n != want)
				bad++;
			if (n == HTTP_PARSE_PARTIAL)
				last = k;
			unguard(&g);
		}
		is_int(bad, 0, "%s: byte by byte with last_len", c->name);
	}
}

static void
test_last_len(void)
{
	static const char	 in[] = "GET / HTTP/1.1\r\nA: 1\r\n\r\n";
	struct req_case		 c = { .name = "last_len" };
	struct parsed		 r;
	size_t			 len = sizeof(in) - 1;

	/* complete in one go after partial reads: found from last_len-3 */
	is_int(parse(&c, in, len, len - 1, &r), (int)len,
	    "last_len: end found when only the final LF is new");
	is_int(parse(&c, in, len, len - 3, &r), (int)len,
	    "last_len: end found when CRLF CRLF straddles last_len");
	is_int(parse(&c, in, len - 1, len - 2, &r), HTTP_PARSE_PARTIAL,
	    "last_len: no end yet");
	/* a malformed head is still reported once it is complete */
	is_int(parse(&c, "GET / HTTP/1.1\r\nX : a\r\n\r\n", 26, 20, &r),
	    HTTP_PARSE_BAD, "last_len: malformed complete head is -1");
}

struct chunk_case {
	const char	*name;
	const char	*in;
	const char	*decoded;	/* NULL: malformed */
	const char	*leftover;
};

static const struct chunk_case chunk_cases[] = {
	{ "one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello", "" },
	{ "empty body", "0\r\n\r\n", "", "" },
	{ "several chunks", "3\r\nabc\r\n4\r\ndefg\r\n1\r\nh\r\n0\r\n\r\n",
	  "abcdefgh", "" },
	{ "hex sizes, both cases",
	  "a\r\n0123456789\r\nB\r\nABCDEFGHIJK\r\n0\r\n\r\n",
	  "0123456789ABCDEFGHIJK", "" },
	{ "next request left over",
	  "5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", "hello",
	  "GET / HTTP/1.1\r\n\r\n" },
	{ "extensions ignored", "5;name=value\r\nhello\r\n0;last\r\n\r\n",
	  "hello", "" },
	{ "quoted extension", "5;a=\"b c;d\"\r\nhello\r\n0\r\n\r\n", "hello",
	  "" },
	{ "blank before extension", "5 \t;a=b\r\nhello\r\n0\r\n\r\n", "hello",
	  "" },
	{ "blank after size", "5 \r\nhello\r\n0\r\n\r\n", "hello", "" },
	{ "trailers skipped", "5\r\nhello\r\n0\r\nX-T: v\r\nY: w\r\n\r\nZ",
	  "hello", "Z" },
	{ "bare LF everywhere", "5\nhello\n0\nX: 1\n\nrest", "hello", "rest" },
	{ "16 digits", "0000000000000005\r\nhello\r\n0\r\n\r\n", "hello", "" },
	{ "data holding CRLF", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n", "" },

	{ .name = "17 digits",
	  .in = "00000000000000005\r\nhello\r\n0\r\n\r\n" },
	{ .name = "size overflows", .in = "1FFFFFFFFFFFFFFFF\r\n" },
	{ .name = "empty size", .in = "\r\nhello\r\n0\r\n\r\n" },
	{ .name = "extension without size",
	  .in = ";a=b\r\nhello\r\n0\r\n\r\n" },
	{ .name = "non-hex size", .in = "g\r\nhello\r\n0\r\n\r\n" },
	{ .name = "junk after size", .in = "5x\r\nhello\r\n0\r\n\r\n" },
	{ .name = "0x prefix", .in = "0x5\r\nhello\r\n0\r\n\r\n" },
	{ .name = "negative size", .in = "-5\r\nhello\r\n0\r\n\r\n" },
	{ .name = "blank then junk", .in = "5 x\r\nhello\r\n0\r\n\r\n" },
	{ .name = "leading blank", .in = " 5\r\nhello\r\n0\r\n\r\n" },
	{ .name = "data longer than size", .in = "5\r\nhelloX\r\n0\r\n\r\n" },
	{ .name = "CR then junk after data", .in = "5\r\nhello\rX0\r\n\r\n" },
	{ .name = "bare CR in size line", .in = "5\rX\r\nhello\r\n0\r\n\r\n" },
	{ .name = "CTL in extension", .in = "5;a\x01\r\nhello\r\n0\r\n\r\n" },
	{ .name = "CTL in trailer", .in = "0\r\nX: \x01\r\n\r\n" },
	{ .name = "folded trailer", .in = "0\r\nX: a\r\n b\r\n\r\n" },
	{ .name = "bare CR ends trailers", .in = "0\r\n\rX" },
};

/* feed in[0..len) to a decoder in pieces ending at the given cuts */
static int
chunk_feed(const struct chunk_case *c, const size_t *cuts, size_t ncuts,
    char *out, size_t *outlen, char *left, size_t *leftlen)
{
	struct http_chunked	 ch;
	struct guarded		 g;
	size_t			 len = strlen(c->in), from = 0, i, n, dec = 0;
	ssize_t			 r = -2;
	char			*buf;

	memset(&ch, 0, sizeof(ch));
	*leftlen = 0;
	for (i = 0; i <= ncuts && r == -2; i++) {
		size_t to = i < ncuts ? cuts[i] : len;
		/* decoded so far, then the new raw bytes, against the guard */
		{
			size_t	 tot = dec + (to - from);
			char	*tmp = malloc(tot + 1);

			memcpy(tmp, out, dec);
			memcpy(tmp + dec, c->in + from, to - from);
			buf = guard(&g, tmp, tot);
			free(tmp);
		}
		n = to - from;
		r = http_parse_chunked(&ch, buf + dec, &n);
		if (r >= 0) {
			memcpy(left, buf + dec + n, r);
			*leftlen = r;
			/* bytes not yet fed are left over too */
			memcpy(left + r, c->in + to, len - to);
			*leftlen += len - to;
		}
		if (r != -1)
			memcpy(out + dec, buf + dec, n);
		dec += n;
		unguard(&g);
		from = to;
	}
	*outlen = dec;
	return (int)(r < 0 ? r : 0);
}

static void
test_chunk_case(const struct chunk_case *c)
{
	char	 out[256], left[256];
	size_t	 len = strlen(c->in), outlen, leftlen, cut, k, cuts[256];
	int	 r, bad;

	r = chunk_feed(c, NULL, 0, out, &outlen, left, &leftlen);
	if (c->decoded == NULL) {
		is_int(r, -1, "chunked %s: malformed", c->name);
	} else {
		ok(r == 0 && span_eq(out, outlen, c->decoded) &&
		    span_eq(left, leftlen, c->leftover),
		    "chunked %s: decoded and leftover", c->name);
	}

	/* split in two at every offset */
	bad = 0;
	for (cut = 0; cut <= len; cut++) {
		r = chunk_feed(c, &cut, 1, out, &outlen, left, &leftlen);
		if (c->decoded == NULL ? r != -1 : r != 0 ||
		    !span_eq(out, outlen, c->decoded) ||
		    !span_eq(left, leftlen, c->leftover))
			bad++;
	}
	is_int(bad, 0, "chunked %s: split at every offset", c->name);

	/* one byte at a time */
	for (k = 0; k < len && k < 256; k++)
		cuts[k] = k;
	r = chunk_feed(c, cuts, k, out, &outlen, left, &leftlen);
	if (c->decoded == NULL)
		is_int(r, -1, "chunked %s: byte by byte, malformed", c->name);
	else
		ok(r == 0 && span_eq(out, outlen, c->decoded) &&
		    span_eq(left, leftlen, c->leftover),
		    "chunked %s: byte by byte", c->name);
}

static void
test_chunked_misc(void)
{
	struct http_chunked	 ch;
	char			 buf[64];
	size_t			 n;
	ssize_t			 r;

	memset(&ch, 0, sizeof(ch));
	strlcpy(buf, "FFFFFFFFFFFFFFFF\r\nab", sizeof(buf));
	n = strlen(buf);
	r = http_parse_chunked(&ch, buf, &n);
	ok(r == -2 && n == 2 && ch.left == (size_t)0xFFFFFFFFFFFFFFFFULL - 2,
	    "chunked: 16 F digits is a huge size, visible in left");
	is_int(ch.total, 2, "chunked: total counts decoded bytes");

	memset(&ch, 0, sizeof(ch));
	strlcpy(buf, "3\r\nabc\r\n0\r\n\r\n", sizeof(buf));
	n = strlen(buf);
	r = http_parse_chunked(&ch, buf, &n);
	is_int(r, 0, "chunked: done");
	n = 0;
	is_int(http_parse_chunked(&ch, buf, &n), 0,
	    "chunked: empty call after the end is still done");
	n = 1;
	is_int(http_parse_chunked(&ch, buf, &n), -1,
	    "chunked: bytes after the end without reset are an error");
}

int
main(void)
{
	size_t	 i;

	pagesz = (size_t)sysconf(_SC_PAGESIZE);
	for (i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++)
		test_request_case(&req_cases[i]);
	test_last_len();
	for (i = 0; i < sizeof(chunk_cases) / sizeof(chunk_cases[0]); i++)
		test_chunk_case(&chunk_cases[i]);
	test_chunked_misc();
	return tap_done();
}
