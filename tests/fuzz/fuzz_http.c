/*
 * fuzz_http: http_parse_request on arbitrary bytes.
 *
 * The input is one request head as it might sit in the connection buffer
 * (libFuzzer's copy is exactly sized, so ASan sees any read past it).
 * Beyond "no crash", the target checks what the parser promises:
 *  - a parsed head ends in LF inside the buffer; the method and header
 *    names are tokens, the target has no CTL or SP, header values carry
 *    no CTL but HTAB and no blanks at either end, and nothing points
 *    outside buf[0..n);
 *  - the header capacity only matters as -3: with exactly as many slots
 *    as headers it parses, with one fewer it says -3;
 *  - incremental parsing (the same bytes arriving in pieces, each call
 *    with last_len = the previous length, as http_conn does) agrees with
 *    parsing all of it at once: the same head once complete, and never
 *    "incomplete" for a head that is complete.
 */
#include <string.h>

#include "fuzz.h"
#include "http_parse.h"

#define MAX_HEADERS	64

struct parsed {
	int			 r;
	const char		*method, *target;
	size_t			 method_len, target_len, nheaders;
	int			 minor;
	struct http_header	 h[MAX_HEADERS];
};

static void
parse(struct parsed *p, const char *buf, size_t len, size_t cap,
    size_t last_len)
{
	memset(p, 0, sizeof(*p));
	p->nheaders = cap;
	p->r = http_parse_request(buf, len, &p->method, &p->method_len,
	    &p->target, &p->target_len, &p->minor, p->h, &p->nheaders,
	    last_len);
}

static int
is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != 0 && strchr("!#$%&'*+-.^_`|~",
	    c) != NULL);
}

static void
inside(const char *buf, size_t n, const char *p, size_t len, const char *what)
{
	FUZZ_CHECK(p >= buf && len <= n && (size_t)(p - buf) <= n - len,
	    "%s outside the head", what);
}

static void
check_head(const struct parsed *p, const char *buf, size_t len, size_t cap)
{
	size_t	 i, j, n;

	if (p->r < 0) {
		FUZZ_CHECK(p->r == HTTP_PARSE_BAD ||
		    p->r == HTTP_PARSE_PARTIAL || p->r == HTTP_PARSE_TOO_MANY,
		    "odd return %d", p->r);
		FUZZ_CHECK(p->nheaders == 0, "headers reported on failure");
		return;
	}
	n = (size_t)p->r;
	FUZZ_CHECK(n > 0 && n <= len, "consumed %zu of %zu", n, len);
	FUZZ_CHECK(buf[n - 1] == '\n', "head does not end in LF");
	FUZZ_CHECK(p->nheaders <= cap, "%zu headers, room for %zu",
	    p->nheaders, cap);
	inside(buf, n, p->method, p->method_len, "method");
	FUZZ_CHECK(p->method_len > 0, "empty method");
	for (i = 0; i < p->method_len; i++)
		FUZZ_CHECK(is_tchar(p->method[i]), "method byte %#x",
		    (unsigned char)p->method[i]);
	inside(buf, n, p->target, p->target_len, "target");
	FUZZ_CHECK(p->target_len > 0, "empty target");
	for (i = 0; i < p->target_len; i++)
		FUZZ_CHECK((unsigned char)p->target[i] > 0x20 &&
		    (unsigned char)p->target[i] != 0x7f, "target byte %#x",
		    (unsigned char)p->target[i]);
	FUZZ_CHECK(p->minor >= 0 && p->minor <= 9, "minor %d", p->minor);
	for (j = 0; j < p->nheaders; j++) {
		const struct http_header *h = &p->h[j];

		inside(buf, n, h->name, h->name_len, "header name");
		inside(buf, n, h->value, h->value_len, "header value");
		FUZZ_CHECK(h->name_len > 0, "empty header name");
		for (i = 0; i < h->name_len; i++)
			FUZZ_CHECK(is_tchar(h->name[i]), "name byte %#x",
			    (unsigned char)h->name[i]);
		for (i = 0; i < h->value_len; i++) {
			unsigned char c = h->value[i];

			FUZZ_CHECK(c == '\t' || (c >= 0x20 && c != 0x7f),
			    "value byte %#x", c);
		}
		if (h->value_len > 0) {
			FUZZ_CHECK(h->value[0] != ' ' && h->value[0] != '\t',
			    "value not trimmed at the start");
			FUZZ_CHECK(h->value[h->value_len - 1] != ' ' &&
			    h->value[h->value_len - 1] != '\t',
			    "value not trimmed at the end");
		}
	}
}

static void
same_head(const struct parsed *a, const struct parsed *b, const char *how)
{
	size_t	 i;

	FUZZ_CHECK(a->r == b->r, "%s: %d vs %d", how, a->r, b->r);
	if (a->r < 0)
		return;
	FUZZ_CHECK(a->method == b->method && a->method_len == b->method_len &&
	    a->target == b->target && a->target_len == b->target_len &&
	    a->minor == b->minor && a->nheaders == b->nheaders,
	    "%s: request lines or header counts differ", how);
	for (i = 0; i < a->nheaders; i++)
		FUZZ_CHECK(a->h[i].name == b->h[i].name &&
		    a->h[i].name_len == b->h[i].name_len &&
		    a->h[i].value == b->h[i].value &&
		    a->h[i].value_len == b->h[i].value_len,
		    "%s: header %zu differs", how, i);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct parsed	 full, other;
	const char		*buf = (const char *)data;
	uint64_t		 seed;
	size_t			 pos, prev;

	parse(&full, buf, len, MAX_HEADERS, 0);
	check_head(&full, buf, len, MAX_HEADERS);

	/* capacity: exactly enough works, one short is -3 */
	if (full.r >= 0) {
		parse(&other, buf, len, full.nheaders, 0);
		same_head(&full, &other, "exact capacity");
		if (full.nheaders > 0) {
			parse(&other, buf, len, full.nheaders - 1, 0);
			FUZZ_CHECK(other.r == HTTP_PARSE_TOO_MANY,
			    "one slot short: %d", other.r);
		}
	}

	/* the same bytes in pieces, re-parsed after each "read" */
	seed = fuzz_seed(data, len);
	pos = prev = 0;
	other.r = HTTP_PARSE_PARTIAL;
	while (pos < len) {
		pos += fuzz_piece(&seed, len - pos);
		parse(&other, buf, pos, MAX_HEADERS, prev);
		check_head(&other, buf, pos, MAX_HEADERS);
		if (other.r != HTTP_PARSE_PARTIAL)
			break;
		prev = pos;
	}
	if (full.r >= 0)
		same_head(&full, &other, "incremental");
	else if (other.r != HTTP_PARSE_PARTIAL)
		/* an error seen early is the error of the whole */
		FUZZ_CHECK(other.r == full.r, "incremental: %d vs %d",
		    other.r, full.r);
	return 0;
}
