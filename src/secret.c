/*
 * secret.c: no configured secret reaches a client or a log line.
 *
 * One set of secrets per process: every provider's api_key, each of its
 * api_keys and the values of its headers read from env: or file:, the
 * inbound ak and every client key of keys[], the web search backend's
 * api_key, the Redis password, loaded
 * from the configuration in force by the master (at start and
 * at each reload, before it forks the workers that inherit it). It is
 * state derived from the process-wide configuration pointer and follows
 * it, nothing more. A new kind of configured key is registered in
 * secret_load, the same way.
 *
 * Exact match first. A secret is found verbatim and in the forms an
 * upstream or a client may echo it in: escaped inside a JSON string (\",
 * \\, \/, \n..., \uXXXX), percent-encoded in a URL (%2F, upper or lower
 * case, + for a space), or any mix of them, since each byte is compared as
 * whatever form it takes. Secrets shorter than SECRET_MIN_LEN bytes are
 * not registered: placeholders such as "EMPTY" or "ollama" would mask
 * ordinary words everywhere, and a real key is longer.
 *
 * Then, for messages and logs (secret_mask), the heuristic net: anything
 * that looks like a credential (Bearer tokens, known key prefixes, key=
 * values, long random runs). Answer text (secret_mask_exact and the
 * streaming form, secret_mask_stream) gets the exact match only: a model's
 * own words may hold commit hashes and example keys.
 *
 * Failure: secret_load and secret_add return -1 when memory runs out and
 * then leave the set as it was; masking never fails (out of memory gives a
 * shorter text).
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "conf.h"
#include "log.h"
#include "secret.h"
#include "util.h"

#define SECRET_B64_RUN	200	/* as util_log_excerpt: a payload, not prose */
#define LOG_MARGIN	256	/* a random run across a log cut is still seen */
#define MATCH_NONE	0
#define MATCH_FULL	1
#define MATCH_PARTIAL	2	/* the text ended while it still matched */

struct secret {
	char	*value;
	size_t	 len;
};

/* the set in force, longest first (a key that holds another wins) */
static struct secret	*set;
static size_t		 nset;
/* bytes a secret may start with, in any of its forms */
static unsigned char	 starts[256];

static void
set_free(struct secret *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		explicit_bzero(s[i].value, s[i].len);
		free(s[i].value);
	}
	free(s);
}

static void
starts_build(void)
{
	size_t	 i;

	memset(starts, 0, sizeof(starts));
	for (i = 0; i < nset; i++) {
		starts[(unsigned char)set[i].value[0]] = 1;
		if (set[i].value[0] == ' ')
			starts['+'] = 1;
	}
	if (nset > 0)
		starts['%'] = starts['\\'] = 1;
}

/* v into the sorted array s[0..*n); 0 also when v is short or known */
static int
set_insert(struct secret **s, size_t *n, const char *v, size_t len)
{
	struct secret	*grown;
	size_t		 i, at;

	if (v == NULL || len < SECRET_MIN_LEN)
		return 0;
	for (i = 0; i < *n; i++)
		if ((*s)[i].len == len && memcmp((*s)[i].value, v, len) == 0)
			return 0;
	if ((grown = reallocarray(*s, *n + 1, sizeof(**s))) == NULL)
		return -1;
	*s = grown;
	for (at = 0; at < *n && (*s)[at].len >= len; at++)
		;
	memmove(*s + at + 1, *s + at, (*n - at) * sizeof(**s));
	if (((*s)[at].value = malloc(len)) == NULL) {
		memmove(*s + at, *s + at + 1, (*n - at) * sizeof(**s));
		return -1;
	}
	memcpy((*s)[at].value, v, len);
	(*s)[at].len = len;
	(*n)++;
	return 0;
}

/* a provider's key and the header values read from env: or file: */
static int
load_provider(struct secret **s, size_t *n, const struct conf_provider *p)
{
	size_t	 i;

	if (p->api_key != NULL &&
	    set_insert(s, n, p->api_key, strlen(p->api_key)) == -1)
		return -1;
	for (i = 0; i < p->napi_keys; i++)
		if (set_insert(s, n, p->api_keys[i], strlen(p->api_keys[i])) ==
		    -1)
			return -1;
	for (i = 0; i < p->nheaders; i++)
		if (p->headers[i].secret && set_insert(s, n,
		    p->headers[i].value, strlen(p->headers[i].value)) == -1)
			return -1;
	return 0;
}

int
secret_load(const struct conf *c)
{
	struct secret	*fresh = NULL;
	size_t		 n = 0, i;
	int		 rv = 0;

	if (c->ak != NULL)
		rv = set_insert(&fresh, &n, c->ak, strlen(c->ak));
	for (i = 0; rv == 0 && i < c->nproviders; i++)
		rv = load_provider(&fresh, &n, &c->providers[i]);
	for (i = 0; rv == 0 && i < c->nclient_keys; i++)
		rv = set_insert(&fresh, &n, c->client_keys[i].key,
		    strlen(c->client_keys[i].key));
	/* a search backend's key: a backend's error or a result may quote it */
	if (rv == 0 && c->web_search.api_key != NULL &&
	    c->web_search.api_key[0] != '\0')
		rv = set_insert(&fresh, &n, c->web_search.api_key,
		    strlen(c->web_search.api_key));
	if (rv == 0 && c->redis_password != NULL)
		rv = set_insert(&fresh, &n, c->redis_password,
		    strlen(c->redis_password));
	if (rv == -1) {
		set_free(fresh, n);
		return -1;
	}
	set_free(set, nset);
	set = fresh;
	nset = n;
	starts_build();
	/* a provider's short key is a local server's placeholder ("EMPTY");
	 * a short ak is a real secret the operator should hear about */
	if (c->ak != NULL && *c->ak != '\0' && strlen(c->ak) < SECRET_MIN_LEN)
		log_warnx("ak is shorter than %d characters: it cannot be told "
		    "from ordinary words and is not masked in logs and "
		    "messages; use a longer key", SECRET_MIN_LEN);
	for (i = 0; i < c->nclient_keys; i++)
		if (strcmp(c->client_keys[i].name, "ak") != 0 &&
		    strlen(c->client_keys[i].key) < SECRET_MIN_LEN)
			log_warnx("the key of %s is shorter than %d characters: "
			    "it is not masked in logs and messages; use a "
			    "longer key", c->client_keys[i].name,
			    SECRET_MIN_LEN);
	return 0;
}

int
secret_add(const char *value, size_t len)
{
	if (set_insert(&set, &nset, value, len) == -1)
		return -1;
	starts_build();
	return 0;
}

void
secret_clear(void)
{
	set_free(set, nset);
	set = NULL;
	nset = 0;
	starts_build();
}

size_t
secret_longest(void)
{
	return nset > 0 ? set[0].len : 0;
}

/* ---------------------------------------------------------------------
 * Exact match, in every form.
 */

/* hex digits s[0..n) (n <= 4) as a number, -1 if one is not hex */
static long
hexnum(const char *s, size_t n)
{
	long	 v = 0;
	size_t	 i;
	int	 d;

	for (i = 0; i < n; i++) {
		if ((d = util_hexval((unsigned char)s[i])) < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* a code point below U+D800 (or above U+DFFF, in the BMP) as UTF-8 */
static size_t
utf8_put(unsigned char *out, long cp)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	out[0] = (unsigned char)(0xe0 | cp >> 12);
	out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	out[2] = (unsigned char)(0x80 | (cp & 0x3f));
	return 3;
}

/*
 * One step: does the text at t[j..len) spell the secret's bytes from k on,
 * in some form? MATCH_FULL with *tj, *sk advanced past what it spelled;
 * MATCH_PARTIAL when the text ends inside a form that may still match.
 */
static int
step(const char *t, size_t len, size_t *tj, const struct secret *sec,
    size_t *sk, int json)
{
	static const char jesc[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	unsigned char	 want = (unsigned char)sec->value[*sk], u[3];
	size_t		 j = *tj, left = len - j, n, e;
	long		 v;

	if (t[j] == '%') {
		if (left < 3)
			return left == 1 ||
			    util_hexval((unsigned char)t[j + 1]) == want >> 4 ?
			    MATCH_PARTIAL : MATCH_NONE;
		if ((v = hexnum(t + j + 1, 2)) == want) {
			*tj += 3;
			*sk += 1;
			return MATCH_FULL;
		}
	} else if (t[j] == '\\') {
		if (left < 2)
			return MATCH_PARTIAL;
		for (e = 0; jesc[e] != '\0'; e += 2)
			if (t[j + 1] == jesc[e] &&
			    (unsigned char)jesc[e + 1] == want) {
				*tj += 2;
				*sk += 1;
				return MATCH_FULL;
			}
		if (t[j + 1] == 'u') {
			if (left < 6)
				return hexnum(t + j + 2, left - 2) >= 0 ?
				    MATCH_PARTIAL : MATCH_NONE;
			v = hexnum(t + j + 2, 4);
			if (v >= 0 && (v < 0xd800 || v > 0xdfff)) {
				n = utf8_put(u, v);
				if (n <= sec->len - *sk &&
				    memcmp(u, sec->value + *sk, n) == 0) {
					*tj += 6;
					*sk += n;
					return MATCH_FULL;
				}
			}
		}
	} else if (t[j] == '+' && want == ' ') {
		*tj += 1;
		*sk += 1;
		return MATCH_FULL;
	}
	/* in JSON text a bare quote ends a string and a bare backslash
	 * begins an escape: neither spells the secret's own */
	if (json && (t[j] == '"' || t[j] == '\\'))
		return MATCH_NONE;
	if ((unsigned char)t[j] != want)
		return MATCH_NONE;
	*tj += 1;
	*sk += 1;
	return MATCH_FULL;
}

/* does sec start at t[i]? MATCH_FULL sets *end past it */
static int
match_at(const char *t, size_t len, size_t i, const struct secret *sec,
    size_t *end, int json)
{
	size_t	 j = i, k = 0;
	int	 r;

	while (k < sec->len) {
		if (j == len)
			return MATCH_PARTIAL;
		if ((r = step(t, len, &j, sec, &k, json)) != MATCH_FULL)
			return r;
	}
	*end = j;
	return MATCH_FULL;
}

/*
 * The exact pass over t[0..len): every whole secret becomes "***". With
 * stop_partial, it stops where a secret may begin and the text ends before
 * it could tell, and returns that offset; otherwise it returns len. With
 * json, t is JSON text: a match begins only where a character does, never
 * on the letter of an escape ("\n" then the rest of a key that begins
 * with n), and takes no bare quote or backslash, so "***" in its place
 * leaves the JSON valid.
 */
static size_t
mask_exact(struct buf *out, const char *t, size_t len, int stop_partial,
    int json)
{
	size_t	 i, k, from = 0, end;
	int	 r, partial;

	for (i = 0; i < len; ) {
		if (!starts[(unsigned char)t[i]]) {
			i++;
			continue;
		}
		partial = 0;
		for (k = 0; k < nset; k++) {
			r = match_at(t, len, i, &set[k], &end, json);
			if (r == MATCH_FULL)
				break;
			if (r == MATCH_PARTIAL)
				partial = 1;
		}
		if (k < nset) {
			buf_append(out, t + from, i - from);
			buf_puts(out, "***");
			i = from = end;
		} else if (partial && stop_partial) {
			len = i;
			break;
		} else if (json && t[i] == '\\')
			i += i + 1 < len && t[i + 1] == 'u' ? 6 : 2;
		else
			i++;
	}
	buf_append(out, t + from, len - from);
	return len;
}

void
secret_mask_exact(struct buf *out, const char *s, size_t len)
{
	mask_exact(out, s, len, 0, 0);
}

size_t
secret_mask_stream(struct buf *out, const char *s, size_t len)
{
	return mask_exact(out, s, len, 1, 0);
}

void
secret_mask_json(struct buf *out, const char *s, size_t len)
{
	mask_exact(out, s, len, 0, 1);
}

size_t
secret_mask_json_stream(struct buf *out, const char *s, size_t len)
{
	return mask_exact(out, s, len, 1, 1);
}

/* ---------------------------------------------------------------------
 * The heuristic net: what looks like a credential. Upstreams echo keys in
 * refusals ("Incorrect API key provided: sk-..."), in headers they quote
 * and in URLs (?key=).
 */

/* byte classes, one table lookup each: the net runs over whole log
 * excerpts, and ctype calls were most of its cost */
#define C_ALPHA	0x01
#define C_DIGIT	0x02
#define C_TOKEN	0x04	/* alnum and _ - . * */
#define C_B64	0x08	/* alnum and + / = */
#define C_MARK	0x10	/* a marker's first letter, either case */
#define C_ALNUM	(C_ALPHA | C_DIGIT)

#define C_L	(C_ALPHA | C_TOKEN | C_B64)
#define C_LM	(C_L | C_MARK)

static const unsigned char cls[256] = {
	['0' ... '9'] = C_DIGIT | C_TOKEN | C_B64,
	['A'] = C_LM, ['B'] = C_LM, ['C' ... 'J'] = C_L, ['K'] = C_LM,
	['L' ... 'S'] = C_L, ['T'] = C_LM, ['U' ... 'Z'] = C_L,
	['a'] = C_LM, ['b'] = C_LM, ['c' ... 'j'] = C_L, ['k'] = C_LM,
	['l' ... 's'] = C_L, ['t'] = C_LM, ['u' ... 'z'] = C_L,
	['_'] = C_TOKEN, ['-'] = C_TOKEN, ['.'] = C_TOKEN, ['*'] = C_TOKEN,
	['+'] = C_B64, ['/'] = C_B64, ['='] = C_B64,
};

#define IS(c, what)	(cls[(unsigned char)(c)] & (what))

static int
is_tokenc(int c)
{
	return IS(c, C_TOKEN);
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
		if (IS(s[i], C_ALPHA))
			alpha = 1;
		else if (IS(s[i], C_DIGIT))
			digit = 1;
		if (IS(s[i], C_ALNUM)) {
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
	int	 boundary = i == 0 || !IS(s[i - 1], C_ALNUM);
	int	 c = tolower((unsigned char)s[i]);

	/* every marker starts with one of these: most bytes stop here */
	for (k = 0; IS(s[i], C_MARK) &&
	    k < sizeof(markers) / sizeof(markers[0]); k++) {
		if (markers[k][0] != c || i + 1 == len ||
		    markers[k][1] != tolower((unsigned char)s[i + 1]))
			continue;
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
		if (prefixes[k][0] != s[i])
			continue;
		m = strlen(prefixes[k]);
		if (n >= m + 8 && strncmp(s + i, prefixes[k], m) == 0) {
			*keep = m;
			return n;
		}
	}
	*keep = 0;
	return looks_random(s + i, n) ? n : 0;
}


/* the heuristic pass; a long base64 run is a payload (an image), never a
 * key: it is left whole, so a log can still elide it as one */
static void
mask_heuristic(struct buf *out, const char *s, size_t len)
{
	size_t	 i = 0, from = 0, n, keep, b64_end = 0;

	while (i < len) {
		/* inside a word only a marker (key=, token=) can begin */
		if (i > 0 && IS(s[i - 1], C_ALNUM) && !IS(s[i], C_MARK)) {
			i++;
			continue;
		}
		if (i >= b64_end && IS(s[i], C_B64)) {
			for (n = 1; i + n < len && IS(s[i + n], C_B64); n++)
				;
			b64_end = i + n;
			if (n >= SECRET_B64_RUN) {
				i += n;
				continue;
			}
		}
		if ((n = secret_at(s, len, i, &keep)) == 0) {
			i++;
			continue;
		}
		buf_append(out, s + from, i + keep - from);
		buf_puts(out, "***");
		i += n;
		from = i;
		if (b64_end < i)
			b64_end = i;
	}
	buf_append(out, s + from, len - from);
}

/* ---------------------------------------------------------------------
 * Both nets.
 */

void
secret_mask(struct buf *out, const char *s, size_t len)
{
	struct buf	 exact = BUF_INITIALIZER;

	if (nset == 0) {
		mask_heuristic(out, s, len);
		return;
	}
	mask_exact(&exact, s, len, 0, 0);
	if (exact.data != NULL)
		mask_heuristic(out, exact.data, exact.len);
	buf_free(&exact);
}

void
secret_log_excerpt(struct buf *out, const char *s, size_t len, size_t max)
{
	struct buf	 masked = BUF_INITIALIZER;
	size_t		 take;

	if (max == 0 || len == 0)
		return;
	/* mask only what can be shown (masking costs more than showing),
	 * plus room for a secret, in its longest form, or a random run that
	 * straddles the cut to be seen whole; at most what was always
	 * examined, so a huge image costs no more than before */
	take = util_log_excerpt_span(s, len, max) + secret_longest() * 6 +
	    LOG_MARGIN;
	if (take > max * 4 + 65536)
		take = max * 4 + 65536;
	if (take > len)
		take = len;
	secret_mask(&masked, s, take);
	if (masked.data != NULL)
		util_log_excerpt(out, masked.data, masked.len, max);
	if (take < len)
		buf_printf(out, " (%zu bytes in all)", len);
	buf_free(&masked);
}

/* ---------------------------------------------------------------------
 * Query strings in the access line.
 */

/* does this parameter name a credential? Case-insensitive, '-', '_' and
 * their percent forms ignored: ak, key, api_key, x-api-key, access_token,
 * client_secret, password, sig... */
static int
keylike_param(const char *name, size_t len)
{
	static const char *const whole[] = { "ak", "auth", "authorization",
	    "sig", "signature", "code", "credential", "credentials" };
	static const char *const tails[] = { "key", "token", "secret",
	    "password", "passwd", "pwd" };
	char	 n[64];
	size_t	 i, k = 0, m;
	int	 c;

	for (i = 0; i < len && k < sizeof(n) - 1; i++) {
		c = (unsigned char)name[i];
		if (c == '%' && i + 2 < len && hexnum(name + i + 1, 2) >= 0) {
			c = (int)hexnum(name + i + 1, 2);
			i += 2;
		}
		if (c == '-' || c == '_' || c == '.')
			continue;
		n[k++] = (char)tolower(c);
	}
	n[k] = '\0';
	for (i = 0; i < sizeof(whole) / sizeof(whole[0]); i++)
		if (strcmp(n, whole[i]) == 0)
			return 1;
	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		m = strlen(tails[i]);
		if (k >= m && strcmp(n + k - m, tails[i]) == 0)
			return 1;
	}
	return 0;
}

void
secret_log_query(struct buf *out, const char *q, size_t len, size_t max)
{
	struct buf	 b = BUF_INITIALIZER;
	const char	*eq;
	size_t		 i = 0, end;

	while (i <= len) {
		for (end = i; end < len && q[end] != '&' && q[end] != ';'; end++)
			;
		eq = memchr(q + i, '=', end - i);
		if (eq != NULL && keylike_param(q + i, (size_t)(eq - q) - i)) {
			buf_append(&b, q + i, (size_t)(eq - q) + 1 - i);
			buf_puts(&b, "***");
		} else
			buf_append(&b, q + i, end - i);
		if (end < len)
			buf_putc(&b, q[end]);
		i = end + 1;
	}
	secret_log_excerpt(out, b.data != NULL ? b.data : "", b.len, max);
	buf_free(&b);
}
