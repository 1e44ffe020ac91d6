/*
 * secret.c: credentials never reach a client or a log line.
 *
 * secret_mask() copies a text with anything that looks like a credential
 * replaced by "***": Bearer tokens, known key prefixes (sk-, AIza, ...),
 * the values of key=, token=, api-key: and the like, and long random
 * runs (letters and digits with a long separator-free part; model names
 * and UUIDs have short parts). A prefix or marker stays, so the reader
 * still sees what kind of thing was there.
 *
 * Failure: none; out of memory gives a shorter text.
 */
#include <ctype.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "secret.h"

/* ---------------------------------------------------------------------
 * The heuristic net: what looks like a credential. Upstreams echo keys in
 * refusals ("Incorrect API key provided: sk-..."), in headers they quote
 * and in URLs (?key=).
 */

static int
is_tokenc(int c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.' || c == '*';
}

/* a run of token characters at s[i], without a trailing sentence dot */
static size_t
token_run(const char *s, size_t len, size_t i)
{
	size_t	 n;

	for (n = 0; i + n < len && is_tokenc((unsigned char)s[i + n]); n++)
		;
	while (n > 0 && s[i + n - 1] == '.')
		n--;
	return n;
}

/* random-looking: long, letters and digits, one long separator-free part
 * (model names and UUIDs have short parts, keys do not) */
static int
looks_random(const char *s, size_t n)
{
	size_t	 i, part = 0, longest = 0;
	int	 alpha = 0, digit = 0;

	if (n < 32)
		return 0;
	for (i = 0; i < n; i++) {
		if (isalpha((unsigned char)s[i]))
			alpha = 1;
		else if (isdigit((unsigned char)s[i]))
			digit = 1;
		if (isalnum((unsigned char)s[i])) {
			if (++part > longest)
				longest = part;
		} else
			part = 0;
	}
	return alpha && digit && longest >= 24;
}

/* bytes of a secret at s[i] (0: none); *keep of them stay verbatim */
static size_t
secret_at(const char *s, size_t len, size_t i, size_t *keep)
{
	static const char *const markers[] = { "bearer ", "key=", "token=",
	    "api-key:", "api_key:", "apikey:" };
	static const char *const prefixes[] = { "sk-", "sk_", "AIza", "gsk_",
	    "xai-", "nvapi-", "hf_", "pplx-", "ghp_", "github_pat_", "glpat-" };
	size_t	 k, m, j, n;
	int	 boundary = i == 0 || !isalnum((unsigned char)s[i - 1]);

	for (k = 0; k < sizeof(markers) / sizeof(markers[0]); k++) {
		m = strlen(markers[k]);
		if (i + m > len || strncasecmp(s + i, markers[k], m) != 0)
			continue;
		for (j = i + m; j < len && (s[j] == ' ' || s[j] == '"' ||
		    s[j] == '\''); j++)
			;
		for (n = 0; j + n < len && !isspace((unsigned char)s[j + n]) &&
		    strchr("\"',;&)<>", s[j + n]) == NULL; n++)
			;
		if (n > 0) {
			*keep = j - i;
			return j - i + n;
		}
	}
	if (!boundary || !is_tokenc((unsigned char)s[i]))
		return 0;
	n = token_run(s, len, i);
	for (k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++) {
		m = strlen(prefixes[k]);
		if (n >= m + 8 && strncmp(s + i, prefixes[k], m) == 0) {
			*keep = m;
			return n;
		}
	}
	*keep = 0;
	return looks_random(s + i, n) ? n : 0;
}

void
secret_mask(struct buf *out, const char *s, size_t len)
{
	size_t	 i = 0, n, keep;

	while (i < len) {
		if ((n = secret_at(s, len, i, &keep)) > 0) {
			buf_append(out, s + i, keep);
			buf_puts(out, "***");
			i += n;
		} else
			buf_putc(out, s[i++]);
	}
}
