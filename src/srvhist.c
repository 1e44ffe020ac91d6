/*
 * srvhist.c: the server tools' results in a conversation, for the model.
 *
 * Clients send a turn's server_tool_use and result blocks back in later
 * requests, and the server-tool loop appends them to the conversation as
 * it runs. For an upstream that was offered the tools as functions, each
 * call becomes an assistant tool call and each result a tool message
 * (xlate_req.c); this file finds the result that answers a call (by
 * tool_use_id, wherever it is: after a call that ran together with a
 * client tool, the result comes in the next response), numbers the search
 * results across the whole conversation so that the model can cite them
 * as [1], [2] ..., and writes the tool message's text: titles, URLs, page
 * ages and excerpts, a fetched page's text, or what an error means.
 *
 * A search result's excerpt travels only in its encrypted_content, which
 * the proxy made (webseal: url, title, page age and excerpt under an
 * HMAC); a value that is not ours, forged or damaged, gives the model the
 * block's title and URL alone. Fetched text travels in clear, as in
 * Anthropic's own blocks. Whether a URL has appeared in the conversation
 * (web_fetch fetches no other) is answered here too, from the same blocks.
 *
 * Promises: nothing here fails on a block of the wrong shape (it is left
 * out, or read as far as it goes); -1 only when memory runs out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "srvhist.h"
#include "util.h"
#include "webseal.h"

#define SEAL_RESULT	"cpr1"
#define SEAL_INDEX	"cpi1"

/* ---- small readers ------------------------------------------------------- */

static json_object *
get(json_object *o, const char *key, json_type t)
{
	json_object	*v;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, t))
		return NULL;
	return v;
}

static const char *
str(json_object *o, const char *key)
{
	json_object	*v = get(o, key, json_type_string);

	return v != NULL ? json_object_get_string(v) : NULL;
}

static char *
dup_cut(const char *s, size_t max)
{
	size_t	 n;
	char	*d;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	if (n > max)
		n = util_utf8_cut(s, max);
	if ((d = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* ---- sealing ------------------------------------------------------------- */

int
srvhist_seal_result(struct buf *out, const char *url, const char *title,
    const char *page_age, const char *snippet)
{
	json_object	*p;
	const char	*s;
	char		*t = dup_cut(title != NULL ? title : "", SRVHIST_TITLE_MAX);
	char		*x = dup_cut(snippet != NULL ? snippet : "",
			    SRVHIST_SNIPPET_MAX);
	size_t		 len;
	int		 rc = -1;

	if ((p = json_object_new_object()) == NULL || t == NULL || x == NULL)
		goto done;
	json_object_object_add(p, "u", json_object_new_string(url));
	json_object_object_add(p, "t", json_object_new_string(t));
	if (page_age != NULL)
		json_object_object_add(p, "a", json_object_new_string(page_age));
	json_object_object_add(p, "s", json_object_new_string(x));
	s = json_object_to_json_string_length(p, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	/* an excerpt full of escapes may not fit: the rest still does */
	if (s != NULL && len > WEBSEAL_MAX) {
		json_object_object_add(p, "s", json_object_new_string(""));
		s = json_object_to_json_string_length(p, JSON_C_TO_STRING_PLAIN |
		    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	}
	if (s != NULL)
		rc = webseal_seal(out, SEAL_RESULT, s, len);
done:
	json_object_put(p);
	free(t);
	free(x);
	return rc;
}

void
srvhist_source_free(struct srvhist_source *s)
{
	free(s->url);
	free(s->title);
	free(s->page_age);
	free(s->snippet);
	memset(s, 0, sizeof(*s));
}

int
srvhist_open_result(const char *enc, size_t len, struct srvhist_source *s)
{
	struct buf	 payload = BUF_INITIALIZER;
	json_object	*p = NULL;
	const char	*u, *t, *a, *x;
	int		 rc = -1;

	memset(s, 0, sizeof(*s));
	if (webseal_open(enc, len, SEAL_RESULT, &payload) == -1 ||
	    (p = json_tokener_parse(payload.data)) == NULL ||
	    (u = str(p, "u")) == NULL || (t = str(p, "t")) == NULL ||
	    (x = str(p, "s")) == NULL)
		goto done;
	a = str(p, "a");
	s->url = strdup(u);
	s->title = strdup(t);
	s->snippet = strdup(x);
	s->page_age = a != NULL ? strdup(a) : NULL;
	if (s->url == NULL || s->title == NULL || s->snippet == NULL ||
	    (a != NULL && s->page_age == NULL)) {
		srvhist_source_free(s);
		goto done;
	}
	s->verified = 1;
	rc = 0;
done:
	json_object_put(p);
	buf_free(&payload);
	return rc;
}

int
srvhist_seal_index(struct buf *out, const char *url, size_t number)
{
	json_object	*p;
	const char	*s;
	size_t		 len;
	int		 rc = -1;

	if ((p = json_object_new_object()) == NULL)
		return -1;
	json_object_object_add(p, "u", json_object_new_string(url));
	json_object_object_add(p, "n", json_object_new_int64((int64_t)number));
	s = json_object_to_json_string_length(p, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s != NULL)
		rc = webseal_seal(out, SEAL_INDEX, s, len);
	json_object_put(p);
	return rc;
}

/* ---- the index ----------------------------------------------------------- */

/* a web_search_result item: ours read back, or the clear title and URL */
static int
add_source(struct srvhist *h, json_object *item)
{
	struct srvhist_source	*v, *s;
	const char		*enc = str(item, "encrypted_content");
	const char		*url = str(item, "url"), *title = str(item, "title");
	const char		*age = str(item, "page_age");

	if ((v = reallocarray(h->sources, h->nsources + 1, sizeof(*v))) == NULL)
		return -1;
	h->sources = v;
	s = &v[h->nsources];
	if (enc != NULL && srvhist_open_result(enc, strlen(enc), s) == 0) {
		h->nsources++;
		return 0;
	}
	memset(s, 0, sizeof(*s));
	s->url = dup_cut(url != NULL ? url : "", SRVHIST_URL_MAX);
	s->title = dup_cut(title != NULL ? title : "", SRVHIST_TITLE_MAX);
	s->snippet = strdup("");
	s->page_age = age != NULL ? dup_cut(age, 64) : NULL;
	h->nsources++;		/* freed with the rest even when short */
	if (s->url == NULL || s->title == NULL || s->snippet == NULL ||
	    (age != NULL && s->page_age == NULL))
		return -1;
	return 0;
}

static int
add_result(struct srvhist *h, json_object *b, enum srvtool_kind k)
{
	struct srvhist_result	*v, *r;
	json_object		*items;
	size_t			 i, n;

	if ((v = reallocarray(h->results, h->nresults + 1, sizeof(*v))) ==
	    NULL)
		return -1;
	h->results = v;
	r = &v[h->nresults++];
	memset(r, 0, sizeof(*r));
	r->id = str(b, "tool_use_id");
	r->block = b;
	r->kind = k;
	r->first = h->nsources;
	if (k != SRVTOOL_SEARCH ||
	    (items = get(b, "content", json_type_array)) == NULL)
		return 0;
	n = json_object_array_length(items);
	for (i = 0; i < n; i++) {
		if (add_source(h, json_object_array_get_idx(items, i)) == -1)
			return -1;
		r->nsources++;
	}
	return 0;
}

int
srvhist_init(struct srvhist *h, json_object *messages)
{
	json_object	*content, *b;
	const char	*type;
	size_t		 i, j, n, m;
	int		 rc;

	memset(h, 0, sizeof(*h));
	if (!json_object_is_type(messages, json_type_array))
		return 0;
	n = json_object_array_length(messages);
	for (i = 0; i < n; i++) {
		content = get(json_object_array_get_idx(messages, i), "content",
		    json_type_array);
		m = content != NULL ? json_object_array_length(content) : 0;
		for (j = 0; j < m; j++) {
			b = json_object_array_get_idx(content, j);
			if ((type = str(b, "type")) == NULL)
				continue;
			rc = 0;
			if (strcmp(type, "web_search_tool_result") == 0)
				rc = add_result(h, b, SRVTOOL_SEARCH);
			else if (strcmp(type, "web_fetch_tool_result") == 0)
				rc = add_result(h, b, SRVTOOL_FETCH);
			if (rc == -1) {
				srvhist_free(h);
				return -1;
			}
		}
	}
	return 0;
}

void
srvhist_free(struct srvhist *h)
{
	size_t	 i;

	for (i = 0; i < h->nsources; i++)
		srvhist_source_free(&h->sources[i]);
	free(h->sources);
	free(h->results);
	memset(h, 0, sizeof(*h));
}

struct srvhist_result *
srvhist_find(struct srvhist *h, const char *id)
{
	size_t	 i;

	for (i = 0; id != NULL && i < h->nresults; i++)
		if (!h->results[i].used && h->results[i].id != NULL &&
		    strcmp(h->results[i].id, id) == 0)
			return &h->results[i];
	return NULL;
}

struct srvhist_result *
srvhist_of_block(struct srvhist *h, json_object *b)
{
	size_t	 i;

	for (i = 0; i < h->nresults; i++)
		if (h->results[i].block == b)
			return &h->results[i];
	return NULL;
}

/* ---- the tool message's text --------------------------------------------- */

static const struct {
	const char	*code;
	const char	*meaning;
} meanings[] = {
	{ "max_uses_exceeded", "this tool's limit of uses for the request is "
	    "reached; answer with what you have" },
	{ "too_many_requests", "the service is rate-limited right now; try "
	    "later or answer without it" },
	{ "invalid_tool_input", "the input was not valid" },
	{ "query_too_long", "the query is longer than 400 characters" },
	{ "request_too_large", "the request was too large for the service" },
	{ "url_too_long", "the URL is longer than 250 characters" },
	{ "url_not_allowed", "that URL may not be fetched (its scheme, its "
	    "domain, or its address is refused)" },
	{ "url_not_in_prior_context", "only URLs the user gave or that "
	    "appeared in earlier search or fetch results may be fetched" },
	{ "url_not_accessible", "the page could not be retrieved" },
	{ "unsupported_content_type", "the page is of a type that cannot be "
	    "read as text" },
	{ "content_too_large", "the document is too large" },
	{ "unavailable", "the service is unavailable" },
};

static int
render_error(json_object *c, const char *what, struct buf *out)
{
	const char	*code = str(c, "error_code"), *meaning = NULL;
	size_t		 i;

	if (code == NULL)
		code = "unavailable";
	for (i = 0; i < sizeof(meanings) / sizeof(meanings[0]); i++)
		if (strcmp(code, meanings[i].code) == 0)
			meaning = meanings[i].meaning;
	return buf_printf(out, "The %s failed: %s%s%s.", what, code,
	    meaning != NULL ? ": " : "", meaning != NULL ? meaning : "");
}

static int
render_search(const struct srvhist *h, const struct srvhist_result *r,
    struct buf *out)
{
	const struct srvhist_source *s;
	json_object	*c = get(r->block, "content", json_type_array);
	size_t		 i;

	if (c == NULL)
		return render_error(get(r->block, "content", json_type_object),
		    "web search", out);
	if (r->nsources == 0)
		return buf_puts(out, "The web search found no results.");
	if (buf_puts(out, "Web search results:\n") == -1)
		return -1;
	for (i = 0; i < r->nsources; i++) {
		s = &h->sources[r->first + i];
		if (buf_printf(out, "\n[%zu] %s\nURL: %s\n", r->first + i + 1,
		    s->title[0] ? s->title : "(untitled)", s->url) == -1 ||
		    (s->page_age != NULL && buf_printf(out, "Age: %s\n",
		    s->page_age) == -1) ||
		    (s->snippet[0] != '\0' && buf_printf(out, "%s\n",
		    s->snippet) == -1))
			return -1;
	}
	return buf_puts(out, "\nWhen your answer uses a result, cite it by "
	    "its number in square brackets right after the statement it "
	    "supports, like [1].");
}

static int
render_fetch(json_object *b, struct buf *out)
{
	json_object	*c = get(b, "content", json_type_object), *doc, *src;
	const char	*type, *url, *title, *when, *data;

	if (c == NULL)
		return buf_puts(out, "The web fetch returned nothing.");
	if ((type = str(c, "type")) != NULL &&
	    strcmp(type, "web_fetch_result") != 0)
		return render_error(c, "web fetch", out);
	doc = get(c, "content", json_type_object);
	src = get(doc, "source", json_type_object);
	url = str(c, "url");
	title = str(doc, "title");
	when = str(c, "retrieved_at");
	if (buf_printf(out, "Fetched %s\n", url != NULL ? url : "(no URL)") ==
	    -1 || (title != NULL && buf_printf(out, "Title: %s\n", title) ==
	    -1) || (when != NULL && buf_printf(out, "Retrieved: %s\n", when) ==
	    -1))
		return -1;
	type = str(src, "type");
	data = str(src, "data");
	if (type != NULL && strcmp(type, "text") == 0 && data != NULL)
		return buf_printf(out, "\n%s", data);
	return buf_printf(out, "\n(The document is %s; its text cannot be "
	    "shown here.)", type != NULL && strcmp(type, "base64") == 0 ?
	    "a PDF" : "not text");
}

int
srvhist_render(const struct srvhist *h, const struct srvhist_result *r,
    struct buf *out)
{
	if (r->kind == SRVTOOL_SEARCH)
		return render_search(h, r, out);
	return render_fetch(r->block, out);
}

/* ---- has a URL appeared? ------------------------------------------------- */

/* a URL's end in text: the end, blank, or a closing mark and then one of
 * those (prose puts "." and ")" after links) */
static int
url_ends(const char *p)
{
	for (; *p != '\0' && strchr(".,;:!?)]}>'\"", *p) != NULL; p++)
		;
	return *p == '\0' || *p == ' ' || *p == '\n' || *p == '\t' ||
	    *p == '\r' || *p == '<' || *p == '>' || *p == '"' || *p == '`' ||
	    *p == '|';
}

/* text holds url[0..n) as a whole URL, or with a '/' more */
static int
holds_n(const char *text, const char *url, size_t n)
{
	const char	*p;

	for (p = text; (p = memmem(p, strlen(p), url, n)) != NULL; p++)
		if (url_ends(p + n) || (p[n] == '/' && url_ends(p + n + 1)))
			return 1;
	return 0;
}

/* does text hold url as a whole URL (give or take a last '/')? */
static int
holds(const char *text, const char *url)
{
	size_t	 n = strlen(url);

	if (text == NULL || n == 0)
		return 0;
	if (holds_n(text, url, n))
		return 1;
	return n > 1 && url[n - 1] == '/' && holds_n(text, url, n - 1);
}

/* the same comparison for a single URL string */
static int
same_url(const char *a, const char *url)
{
	size_t	 la, lu;

	if (a == NULL)
		return 0;
	la = strlen(a);
	lu = strlen(url);
	if (la == lu)
		return strcmp(a, url) == 0;
	if (la + 1 == lu && url[lu - 1] == '/')
		return strncmp(a, url, la) == 0;
	if (lu + 1 == la && a[la - 1] == '/')
		return strncmp(a, url, lu) == 0;
	return 0;
}

static int	seen_in_blocks(json_object *, const char *, int);

/* a block the user (or a client tool) gave */
static int
seen_in_block(json_object *b, const char *url, int depth)
{
	json_object	*src, *c;
	const char	*type = str(b, "type");

	if (type == NULL)
		return 0;
	if (strcmp(type, "text") == 0)
		return holds(str(b, "text"), url);
	if (strcmp(type, "tool_result") == 0) {
		if ((c = get(b, "content", json_type_string)) != NULL)
			return holds(json_object_get_string(c), url);
		return seen_in_blocks(get(b, "content", json_type_array), url,
		    depth + 1);
	}
	if (strcmp(type, "search_result") == 0)
		return same_url(str(b, "source"), url) ||
		    holds(str(b, "source"), url) ||
		    seen_in_blocks(get(b, "content", json_type_array), url,
		    depth + 1);
	if (strcmp(type, "document") == 0) {
		src = get(b, "source", json_type_object);
		return holds(str(src, "data"), url) ||
		    same_url(str(src, "url"), url) ||
		    seen_in_blocks(get(src, "content", json_type_array), url,
		    depth + 1);
	}
	return 0;
}

static int
seen_in_blocks(json_object *arr, const char *url, int depth)
{
	size_t	 i, n;

	if (arr == NULL || depth > 4)
		return 0;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++)
		if (seen_in_block(json_object_array_get_idx(arr, i), url,
		    depth))
			return 1;
	return 0;
}

static int
seen_in_results(const struct srvhist *h, const char *url)
{
	json_object	*c, *doc, *src;
	size_t		 i;

	for (i = 0; i < h->nsources; i++)
		if (same_url(h->sources[i].url, url) ||
		    holds(h->sources[i].snippet, url))
			return 1;
	for (i = 0; i < h->nresults; i++) {
		if (h->results[i].kind != SRVTOOL_FETCH)
			continue;
		c = get(h->results[i].block, "content", json_type_object);
		doc = get(c, "content", json_type_object);
		src = get(doc, "source", json_type_object);
		if (same_url(str(c, "url"), url) || holds(str(src, "data"), url))
			return 1;
	}
	return 0;
}

int
srvhist_url_seen(const struct srvhist *h, json_object *messages,
    const char *url)
{
	json_object	*m, *c;
	const char	*role;
	size_t		 i, n;

	if (url == NULL || *url == '\0')
		return 0;
	if (seen_in_results(h, url))
		return 1;
	if (!json_object_is_type(messages, json_type_array))
		return 0;
	n = json_object_array_length(messages);
	for (i = 0; i < n; i++) {
		m = json_object_array_get_idx(messages, i);
		if ((role = str(m, "role")) == NULL || strcmp(role, "user") != 0)
			continue;
		if ((c = get(m, "content", json_type_string)) != NULL) {
			if (holds(json_object_get_string(c), url))
				return 1;
		} else if (seen_in_blocks(get(m, "content", json_type_array),
		    url, 0))
			return 1;
	}
	return 0;
}
