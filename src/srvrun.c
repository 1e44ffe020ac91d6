/*
 * srvrun.c: one web_search or web_fetch call, run for the model.
 *
 * The model's call (its input as the function's arguments) becomes a
 * websearch_run or webfetch_run with the tool definition's options (domain
 * filters, user_location), bounded by the backend's own timeout and by
 * the caller's wait (a client that hangs up, the loop's deadline). The
 * outcome is Anthropic's result block: web_search_tool_result with
 * web_search_result items (url, title, page_age, and an encrypted_content
 * that carries what the model saw, srvhist_seal_result), or
 * web_fetch_tool_result with the fetched document; or the block's error
 * form with Anthropic's error_code. Two rules are the caller's to know
 * and applied here: a call past the tool's max_uses is not run
 * (max_uses_exceeded), and web_fetch fetches only a URL that has
 * appeared in the conversation (url_not_in_prior_context).
 *
 * Text that reaches the client (titles, excerpts, fetched text) is masked
 * of every configured secret, as answers are; a fetched text is cut to
 * about max_content_tokens (four bytes a token) when the tool sets it.
 * Each call is one log line (request id, tool, backend, outcome, time; the
 * failure's reason masked; never a query, a URL or a key) and counted in
 * the scoreboard (websearch and webfetch count their runs; the two rules
 * above are counted here).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "conf.h"
#include "log.h"
#include "scoreboard.h"
#include "secret.h"
#include "srvhist.h"
#include "srvrun.h"
#include "util.h"
#include "webfetch.h"
#include "websearch.h"

#define TOKEN_BYTES	4	/* max_content_tokens: bytes a token */

static json_object *
masked(const char *s)
{
	struct buf	 m = BUF_INITIALIZER;
	json_object	*o;
	size_t		 len = s != NULL ? strlen(s) : 0;

	secret_mask_exact(&m, s != NULL ? s : "", len);
	o = json_object_new_string_len(m.data != NULL ? m.data : "",
	    (int)m.len);
	buf_free(&m);
	return o;
}

static const char *
input_string(json_object *input, const char *key)
{
	json_object	*v;

	if (!json_object_is_type(input, json_type_object) ||
	    !json_object_object_get_ex(input, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* {"type":type,"tool_use_id":id,"content":content,"caller":{direct}} */
static json_object *
result_block(const char *type, const char *id, json_object *content)
{
	json_object	*b, *caller;

	if (content == NULL)
		return NULL;
	if ((b = json_object_new_object()) == NULL ||
	    (caller = json_object_new_object()) == NULL) {
		json_object_put(b);
		json_object_put(content);
		return NULL;
	}
	json_object_object_add(caller, "type", json_object_new_string("direct"));
	json_object_object_add(b, "type", json_object_new_string(type));
	json_object_object_add(b, "tool_use_id", json_object_new_string(id));
	json_object_object_add(b, "content", content);
	json_object_object_add(b, "caller", caller);
	return b;
}

static json_object *
error_content(const char *type, const char *code)
{
	json_object	*e;

	if ((e = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(e, "type", json_object_new_string(type));
	json_object_object_add(e, "error_code", json_object_new_string(code));
	return e;
}

static void
log_call(const struct srvrun_call *c, const char *backend, const char *code,
    const char *detail, size_t nresults, uint64_t ms)
{
	struct buf	 d = BUF_INITIALIZER;

	if (detail != NULL && *detail != '\0')
		secret_log_excerpt(&d, detail, strlen(detail), 200);
	if (code == NULL)
		log_info("%s server tool %s via %s: ok (%zu result%s), %" PRIu64
		    " ms", c->request_id, srvtool_name(c->kind), backend,
		    nresults, nresults == 1 ? "" : "s", ms);
	else
		log_info("%s server tool %s via %s: %s%s%s, %" PRIu64 " ms",
		    c->request_id, srvtool_name(c->kind), backend, code,
		    d.len > 0 ? ": " : "", d.len > 0 ? d.data : "", ms);
	buf_free(&d);
}

json_object *
srvrun_error_block(enum srvtool_kind k, const char *id, const char *code)
{
	return result_block(k == SRVTOOL_SEARCH ? "web_search_tool_result" :
	    "web_fetch_tool_result", id, error_content(k == SRVTOOL_SEARCH ?
	    "web_search_tool_result_error" : "web_fetch_tool_result_error",
	    code));
}

/* an error the proxy gives without running the tool */
static enum srvrun_outcome
refuse(const struct srvrun_call *c, const char *code, const char *why,
    json_object **result)
{
	const char	*backend = c->kind == SRVTOOL_SEARCH ?
	    conf->web_search.backend : "fetch";

	scoreboard_server_tool_done(srvtool_name(c->kind), backend, 1);
	log_call(c, backend, code, why, 0, 0);
	*result = srvrun_error_block(c->kind, c->id, code);
	return *result != NULL ? SRVRUN_FAILED : SRVRUN_NOMEM;
}

/* one web_search_result item */
static json_object *
search_item(const struct websearch_result *r)
{
	struct buf	 enc = BUF_INITIALIZER;
	json_object	*o;

	if ((o = json_object_new_object()) == NULL ||
	    srvhist_seal_result(&enc, r->url, r->title, r->page_age,
	    r->content) == -1) {
		json_object_put(o);
		buf_free(&enc);
		return NULL;
	}
	json_object_object_add(o, "type",
	    json_object_new_string("web_search_result"));
	json_object_object_add(o, "url", json_object_new_string(r->url));
	json_object_object_add(o, "title", masked(r->title));
	json_object_object_add(o, "encrypted_content",
	    json_object_new_string(enc.data));
	json_object_object_add(o, "page_age", r->page_age != NULL ?
	    json_object_new_string(r->page_age) : NULL);
	buf_free(&enc);
	return o;
}

static enum srvrun_outcome
search(const struct srvrun_call *c, json_object **result)
{
	struct websearch_query	 q;
	struct websearch_results res;
	struct websearch_info	 info;
	struct websearch_result	*r;
	enum websearch_error	 e;
	json_object		*items, *it;
	size_t			 i;

	memset(&q, 0, sizeof(q));
	q.query = input_string(c->input, "query");
	q.allowed = c->def->allowed;
	q.nallowed = c->def->nallowed;
	q.blocked = c->def->blocked;
	q.nblocked = c->def->nblocked;
	q.location = c->def->location;
	e = websearch_run(&conf->web_search, &q, c->wait, &res, &info);
	if (e == WEBSEARCH_ABORTED) {
		websearch_results_free(&res);
		return SRVRUN_ABORTED;
	}
	log_call(c, conf->web_search.backend, e == WEBSEARCH_OK ? NULL :
	    websearch_error_code(e), info.detail, res.n, info.ms);
	if (e != WEBSEARCH_OK) {
		websearch_results_free(&res);
		*result = result_block("web_search_tool_result", c->id,
		    error_content("web_search_tool_result_error",
		    websearch_error_code(e)));
		return *result != NULL ? SRVRUN_FAILED : SRVRUN_NOMEM;
	}
	if ((items = json_object_new_array()) == NULL) {
		websearch_results_free(&res);
		return SRVRUN_NOMEM;
	}
	for (i = 0; i < res.n; i++) {
		r = &res.v[i];
		/* a URL too long to carry is no result a model can use */
		if (strlen(r->url) > SRVHIST_URL_MAX)
			continue;
		if ((it = search_item(r)) == NULL ||
		    json_object_array_add(items, it) != 0) {
			json_object_put(it);
			json_object_put(items);
			websearch_results_free(&res);
			return SRVRUN_NOMEM;
		}
	}
	websearch_results_free(&res);
	*result = result_block("web_search_tool_result", c->id, items);
	return *result != NULL ? SRVRUN_OK : SRVRUN_NOMEM;
}

/* the document: text (masked, cut to max_content_tokens) or a PDF */
static json_object *
document(const struct webfetch_doc *d, const struct srvtool_def *def)
{
	json_object	*doc, *src, *cit;
	size_t		 len = d->data.len;
	int		 pdf = strcmp(d->media_type, "application/pdf") == 0;
	char		*text;

	if ((doc = json_object_new_object()) == NULL ||
	    (src = json_object_new_object()) == NULL) {
		json_object_put(doc);
		return NULL;
	}
	if (!pdf && def->max_content_tokens > 0 &&
	    (uint64_t)len / TOKEN_BYTES > (uint64_t)def->max_content_tokens)
		len = util_utf8_cut(d->data.data,
		    (size_t)def->max_content_tokens * TOKEN_BYTES);
	json_object_object_add(src, "type", json_object_new_string(pdf ?
	    "base64" : "text"));
	json_object_object_add(src, "media_type",
	    json_object_new_string(d->media_type));
	if (pdf)
		json_object_object_add(src, "data", json_object_new_string_len(
		    d->data.data != NULL ? d->data.data : "", (int)len));
	else if ((text = strndup(d->data.data != NULL ? d->data.data : "",
	    len)) != NULL) {
		json_object_object_add(src, "data", masked(text));
		free(text);
	}
	json_object_object_add(doc, "type", json_object_new_string("document"));
	json_object_object_add(doc, "source", src);
	json_object_object_add(doc, "title", d->title != NULL ?
	    masked(d->title) : NULL);
	if ((cit = json_object_new_object()) != NULL)
		json_object_object_add(cit, "enabled",
		    json_object_new_boolean(def->citations));
	json_object_object_add(doc, "citations", cit);
	return doc;
}

static json_object *
fetch_content(const struct webfetch_doc *d, const struct srvtool_def *def)
{
	json_object	*c, *doc;

	if ((doc = document(d, def)) == NULL)
		return NULL;
	if ((c = json_object_new_object()) == NULL) {
		json_object_put(doc);
		return NULL;
	}
	json_object_object_add(c, "type",
	    json_object_new_string("web_fetch_result"));
	json_object_object_add(c, "url", json_object_new_string(d->url));
	json_object_object_add(c, "retrieved_at",
	    json_object_new_string(d->retrieved_at));
	json_object_object_add(c, "content", doc);
	return c;
}

/* has url appeared in the conversation? -1 when memory runs out */
static int
seen(const struct srvrun_call *c, const char *url)
{
	struct srvhist	 h;
	int		 r;

	if (srvhist_init(&h, c->messages) == -1)
		return -1;
	r = srvhist_url_seen(&h, c->messages, url);
	srvhist_free(&h);
	return r;
}

static enum srvrun_outcome
fetch(const struct srvrun_call *c, json_object **result)
{
	struct webfetch_query	 q;
	struct webfetch_doc	 doc;
	struct webfetch_info	 info;
	enum webfetch_error	 e;
	const char		*url = input_string(c->input, "url");
	int			 r;

	if (url != NULL && *url != '\0' && strlen(url) <= WEBFETCH_URL_MAX) {
		if ((r = seen(c, url)) == -1)
			return SRVRUN_NOMEM;
		if (r == 0)
			return refuse(c, "url_not_in_prior_context", "the URL "
			    "has not appeared in the conversation", result);
	}
	memset(&q, 0, sizeof(q));
	q.url = url;
	q.allowed = c->def->allowed;
	q.nallowed = c->def->nallowed;
	q.blocked = c->def->blocked;
	q.nblocked = c->def->nblocked;
	e = webfetch_run(&conf->web_fetch, &q, c->wait, &doc, &info);
	if (e == WEBFETCH_ABORTED)
		return SRVRUN_ABORTED;
	log_call(c, "fetch", e == WEBFETCH_OK ? NULL : webfetch_error_code(e),
	    info.detail, e == WEBFETCH_OK, info.ms);
	if (e != WEBFETCH_OK) {
		*result = result_block("web_fetch_tool_result", c->id,
		    error_content("web_fetch_tool_result_error",
		    webfetch_error_code(e)));
		return *result != NULL ? SRVRUN_FAILED : SRVRUN_NOMEM;
	}
	*result = result_block("web_fetch_tool_result", c->id,
	    fetch_content(&doc, c->def));
	webfetch_doc_free(&doc);
	return *result != NULL ? SRVRUN_OK : SRVRUN_NOMEM;
}

enum srvrun_outcome
srvrun(const struct srvrun_call *c, json_object **result)
{
	*result = NULL;
	if (c->over_limit)
		return refuse(c, "max_uses_exceeded", "the tool's max_uses is "
		    "reached", result);
	if (c->kind == SRVTOOL_SEARCH)
		return search(c, result);
	return fetch(c, result);
}
