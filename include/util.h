/*
 * util: monotonic time, random ids, small string helpers.
 */
#ifndef CP_UTIL_H
#define CP_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

uint64_t util_now_ms(void);		/* CLOCK_MONOTONIC, milliseconds */
/* out = prefix + n random chars of [A-Za-z0-9]; out must hold prefix+n+1 */
void	 util_random_id(char *out, size_t outsz, const char *prefix, size_t n);
/* case-insensitive compare of a (ptr,len) with a C string */
int	 util_strncaseeq(const char *p, size_t len, const char *s);
/* the value of one hex digit, -1 if c is not one */
int	 util_hexval(int c);
/* append s with control characters and quotes escaped, for log lines;
 * long runs of base64 are replaced by "<base64 N bytes>"; at most max
 * characters of s are shown (0 = nothing), "...(N more)" marks the cut */
void	 util_log_excerpt(struct buf *out, const char *s, size_t len,
	    size_t max);
/* the bytes of s that util_log_excerpt would show for max */
size_t	 util_log_excerpt_span(const char *s, size_t len, size_t max);

/* length of the valid UTF-8 prefix (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF); == len when all of it is valid */
size_t	 util_utf8_check(const char *, size_t);
/* the length of s[0..len) without a trailing incomplete UTF-8 sequence */
size_t	 util_utf8_cut(const char *, size_t);
/* one line of someone else's text for a message to a client: whitespace
 * runs become one space, other control characters vanish, HTML tags are
 * skipped when html is set, at most max bytes (cut on a UTF-8 boundary,
 * "..." marks the cut) */
void	 util_excerpt(struct buf *out, const char *s, size_t len, int html,
	    size_t max);

#endif
