/*
 * util.c: monotonic time, random identifiers, log excerpts and the UTF-8
 * check.
 *
 * Random ids come from arc4random_buf (libbsd), never from rand(). Log
 * excerpts are bounded, escape control characters, and elide base64
 * payloads so images and PDFs never flood the log. The UTF-8 check is
 * strict (RFC 3629) and runs over every request body, so ASCII, most of
 * any body, goes 8 bytes at a time.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <stdlib.h>	/* arc4random via libbsd-overlay */

#include "util.h"

uint64_t
util_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Random bytes for ids come from a per-process pool refilled 1 KiB at a
 * time: libbsd's arc4random_buf makes a getpid() system call on every
 * call (its fork check), which was two per request. A forked child must
 * never hand out the bytes its parent will, so an atfork handler empties
 * the pool in the child; if the handler cannot be registered there is no
 * pool, only a call per id.
 */
static unsigned char	 rnd_pool[1024];
static size_t		 rnd_next = sizeof(rnd_pool);	/* all used */
static int		 rnd_pooled;	/* the atfork handler is in place */

static void
rnd_forget(void)
{
	explicit_bzero(rnd_pool, sizeof(rnd_pool));
	rnd_next = sizeof(rnd_pool);
}

/* at most want bytes, at least one; *got says how many */
static const unsigned char *
rnd_bytes(unsigned char *scratch, size_t want, size_t *got)
{
	if (!rnd_pooled && pthread_atfork(NULL, NULL, rnd_forget) == 0)
		rnd_pooled = 1;
	if (!rnd_pooled) {
		arc4random_buf(scratch, want);
		*got = want;
		return scratch;
	}
	if (rnd_next == sizeof(rnd_pool)) {
		arc4random_buf(rnd_pool, sizeof(rnd_pool));
		rnd_next = 0;
	}
	*got = sizeof(rnd_pool) - rnd_next;
	if (*got > want)
		*got = want;
	rnd_next += *got;
	return rnd_pool + rnd_next - *got;
}

void
util_random_id(char *out, size_t outsz, const char *prefix, size_t n)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char		 scratch[64];
	const unsigned char	*r = NULL;
	size_t			 plen = strlen(prefix), i = 0, k = 0, got = 0;

	if (outsz == 0)
		return;
	if (plen + n + 1 > outsz) {
		if (plen + 1 > outsz)
			plen = outsz - 1;
		n = outsz - 1 - plen;
	}
	memcpy(out, prefix, plen);
	/* bytes >= 248 are dropped so every character is equally likely */
	while (i < n) {
		if (k == got) {
			/* as many as are still needed: a drop asks again */
			r = rnd_bytes(scratch, n - i < sizeof(scratch) ?
			    n - i : sizeof(scratch), &got);
			k = 0;
		}
		if (r[k] < 248)
			out[plen + i++] = alphabet[r[k] % 62];
		k++;
	}
	out[plen + n] = '\0';
}

int
util_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
util_strncaseeq(const char *p, size_t len, const char *s)
{
	return strlen(s) == len && strncasecmp(p, s, len) == 0;
}

/* without isalnum(): a locale lookup per byte was most of a log excerpt */
static int
is_b64(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

/* util_log_excerpt's walk; out NULL only counts: the bytes of s shown */
static size_t
log_excerpt_walk(struct buf *out, const char *s, size_t len, size_t max)
{
	size_t	 i, shown = 0, run;

	for (i = 0; i < len && shown < max; ) {
		/* a long unbroken base64 run is a payload, not prose */
		for (run = 0; i + run < len && is_b64((unsigned char)s[i + run]);
		    run++)
			;
		if (run >= 200) {
			if (out != NULL)
				buf_printf(out, "<base64 %zu bytes>", run);
			i += run;
			shown += 16;
			continue;
		}
		if (run > 0) {
			if (run > max - shown)
				run = max - shown;
			if (out != NULL)
				buf_append(out, s + i, run);
			i += run;
			shown += run;
			continue;
		}
		unsigned char c = (unsigned char)s[i++];
		shown++;
		if (out == NULL)
			continue;
		if (c == '\n')
			buf_puts(out, "\\n");
		else if (c == '\r')
			buf_puts(out, "\\r");
		else if (c == '\t')
			buf_puts(out, "\\t");
		else if (c < 0x20 || c == 0x7f)
			buf_printf(out, "\\x%02x", c);
		else
			buf_putc(out, (char)c);
	}
	return i;
}

void
util_log_excerpt(struct buf *out, const char *s, size_t len, size_t max)
{
	size_t	 i = log_excerpt_walk(out, s, len, max);

	if (i < len)
		buf_printf(out, "...(%zu more bytes)", len - i);
}

size_t
util_log_excerpt_span(const char *s, size_t len, size_t max)
{
	return log_excerpt_walk(NULL, s, len, max);
}

size_t
util_utf8_check(const char *p, size_t len)
{
	const unsigned char	*s = (const unsigned char *)p;
	size_t			 i = 0, n, k;
	uint32_t		 cp, min;
	uint64_t		 w;

	while (i < len) {
		/* bodies are mostly ASCII: skip it 8 bytes at a time (memcpy:
		 * no alignment assumed), decode byte by byte only from the
		 * word that holds a byte >= 0x80 */
		while (len - i >= 8) {
			memcpy(&w, s + i, sizeof(w));
			if (w & UINT64_C(0x8080808080808080))
				break;
			i += 8;
		}
		if (i == len)
			break;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 2; cp = s[i] & 0x1f; min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 3; cp = s[i] & 0x0f; min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 4; cp = s[i] & 0x07; min = 0x10000;
		} else
			return i;
		if (len - i < n)
			return i;
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* overlong forms, UTF-16 surrogates, beyond U+10FFFF */
		if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return i;
		i += n;
	}
	return len;
}

/* the length of s[0..len) without a trailing incomplete UTF-8 sequence */
size_t
util_utf8_cut(const char *s, size_t len)
{
	size_t		 i = len, need;
	unsigned char	 c;

	while (i > 0 && len - i < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0 || (c = (unsigned char)s[i - 1]) < 0xc0)
		return len;
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	return len - (i - 1) >= need ? len : i - 1;
}

/*
 * One line of someone else's text for a message: whitespace runs become one
 * space, other control characters vanish, HTML tags are skipped, at most max
 * bytes (cut on a UTF-8 boundary, "..." marks the cut).
 */
void
util_excerpt(struct buf *out, const char *s, size_t len, int html, size_t max)
{
	size_t		 i, start = out->len;
	int		 space = 0, intag = 0, cut = 0;
	unsigned char	 c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (html && (c == '<' || intag)) {
			intag = c != '>';
			space = 1;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			space = 1;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			continue;
		if (out->len - start + space + 1 > max) {
			cut = 1;
			break;
		}
		if (space && out->len > start)
			buf_putc(out, ' ');
		space = 0;
		buf_putc(out, (char)c);
	}
	if (cut && out->data != NULL) {
		out->len = start + util_utf8_cut(out->data + start,
		    out->len - start);
		out->data[out->len] = '\0';
		buf_puts(out, "...");
	}
}
