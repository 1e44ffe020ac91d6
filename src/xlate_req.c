/*
 * xlate_req.c: an Anthropic Messages request -> an OpenAI Chat Completions
 * request.
 *
 * The input is validated while it is walked. The first problem fails the
 * whole request with 400 invalid_request_error and a message that names the
 * JSON path ("messages[3].content[1].source.data: expected string"); out of
 * memory is a 500 api_error. The output is a new tree; values that pass
 * through unchanged are shared with the input by reference count, so
 * either tree may be freed first.
 *
 * Upstream quirks are absorbed here, so weak chat templates see a plain
 * conversation: one leading system message (role "system" entries inside
 * messages[] are folded into it, Claude Code's attribution line left out
 * where the provider says so), tool results in the order of the calls
 * they answer, images and PDFs moved out of tool messages into the next user
 * message, never an empty user message; then turns.c merges what is left
 * of same-role neighbours and answers every tool call. Blocks without a
 * Chat Completions part become text where they have any (blocktext.c);
 * the rest (redacted_thinking, unknown future types) are dropped, never
 * fatal, and each drop is logged with the request id. Tools sent with
 * defer_loading go upstream once the conversation has loaded them (tool
 * search). metadata.user_id goes upstream as a short hash. Unknown
 * top-level keys are ignored.
 *
 * A PDF for a provider without pdf fails like bad input, but marked as the
 * provider's limit (xlate_err.provider_limit), so a fallback chain can try
 * its next provider.
 *
 * The walker's parts that do not depend on Chat Completions' shape
 * (validation, content blocks, system text, parameters and tools) are
 * shared with resp_req.c through xr.h: one set of rules and error
 * messages for every upstream API.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <sha2.h>

#include "blocktext.h"
#include "buf.h"
#include "conf.h"
#include "log.h"
#include "models.h"
#include "srvhist.h"
#include "srvtool.h"
#include "turns.h"
#include "util.h"
#include "xlate.h"
#include "xr.h"

struct xr_result {				/* one translated tool_result */
	const char	*id;			/* borrowed from the request */
	json_object	*msg;			/* role "tool" */
	json_object	*media;			/* parts for the next user message */
	int		 sent;
};

/* xr_one_tool only checks that input_schema is an object and passes it
 * on; xr_tool_use only serialises input into "arguments". Reading inside
 * either would see an empty container: keep this list in step. */
static const char *const xr_opaque_schema[] = {
	"tools", "*", "input_schema", NULL
};
static const char *const xr_opaque_input[] = {
	"messages", "*", "content", "*", "input", NULL
};
const char *const *const xlate_req_opaque[] = {
	xr_opaque_schema, xr_opaque_input, NULL
};

/* ---- errors, paths and typed members ------------------------------------ */

int
xr_fail(struct xr *x, const char *fmt, ...)
{
	va_list	 ap;

	x->err->status = 400;
	strlcpy(x->err->type, "invalid_request_error", sizeof(x->err->type));
	va_start(ap, fmt);
	vsnprintf(x->err->message, sizeof(x->err->message), fmt, ap);
	va_end(ap);
	return -1;
}

int
xr_nomem(struct xr *x)
{
	x->err->status = 500;
	strlcpy(x->err->type, "api_error", sizeof(x->err->type));
	strlcpy(x->err->message, "out of memory", sizeof(x->err->message));
	return -1;
}

/* a path cut short ends in "..." rather than silently */
static void
xr_path_done(char *out, size_t outsz, int n)
{
	if (n >= 0 && (size_t)n < outsz)
		return;
	if (outsz >= 4)
		memcpy(out + outsz - 4, "...", 4);
}

void
xr_key(char *out, size_t outsz, const char *path, const char *key)
{
	if (*path == '\0')
		xr_path_done(out, outsz, snprintf(out, outsz, "%s", key));
	else
		xr_path_done(out, outsz, snprintf(out, outsz, "%s.%s", path,
		    key));
}

void
xr_index(char *out, size_t outsz, const char *path, size_t i)
{
	xr_path_done(out, outsz, snprintf(out, outsz, "%s[%zu]", path, i));
}

static int
xr_failk(struct xr *x, const char *path, const char *key, const char *what)
{
	char	 p[XR_PATH];

	xr_key(p, sizeof(p), path, key);
	return xr_fail(x, "%s: %s", p, what);
}

static int
xr_is(json_object *v, json_type want)
{
	if (want == json_type_double)	/* "number": 1 and 1.5, not 1e400 */
		return json_object_is_type(v, json_type_int) ||
		    (json_object_is_type(v, json_type_double) &&
		    isfinite(json_object_get_double(v)));
	return json_object_is_type(v, want);
}

static const char *
xr_expected(json_type t)
{
	switch (t) {
	case json_type_string:
		return "expected string";
	case json_type_int:
		return "expected integer";
	case json_type_double:
		return "expected number";
	case json_type_boolean:
		return "expected boolean";
	case json_type_array:
		return "expected array";
	default:
		return "expected object";
	}
}

/*
 * obj[key] with the wanted type. Absent -> "field required" when required,
 * else *out = NULL. JSON null counts as absent for optional members (SDKs
 * send it) and as a wrong type for required ones.
 */
int
xr_member(struct xr *x, json_object *obj, const char *path, const char *key,
    json_type want, int required, json_object **out)
{
	json_object	*v;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v))
		return required ? xr_failk(x, path, key, "field required") : 0;
	if (v == NULL && !required)
		return 0;
	if (v == NULL || !xr_is(v, want))
		return xr_failk(x, path, key, xr_expected(want));
	*out = v;
	return 0;
}

int
xr_str(struct xr *x, json_object *obj, const char *path, const char *key,
    int required, json_object **out)
{
	return xr_member(x, obj, path, key, json_type_string, required, out);
}

/* a content block: an object with a string "type" */
int
xr_block(struct xr *x, json_object *b, const char *path, const char **type)
{
	json_object	*t;

	if (!json_object_is_type(b, json_type_object))
		return xr_fail(x, "%s: expected object", path);
	if (xr_str(x, b, path, "type", XR_REQUIRED, &t) == -1)
		return -1;
	*type = json_object_get_string(t);
	return 0;
}

/* string or array of blocks, as message and tool_result content may be */
int
xr_content(struct xr *x, json_object *obj, const char *path, int required,
    json_object **out)
{
	json_object	*v;

	*out = NULL;
	if (!json_object_object_get_ex(obj, "content", &v))
		return required ? xr_failk(x, path, "content", "field required") : 0;
	if (v == NULL && !required)
		return 0;
	if (!json_object_is_type(v, json_type_string) &&
	    !json_object_is_type(v, json_type_array))
		return xr_failk(x, path, "content", "expected string or array");
	*out = v;
	return 0;
}

/*
 * A block the upstream cannot take is left out of the translation, never
 * silently: one log line with the request id, where it was and why. Block
 * types come from the client, so they are bounded and escaped. Validation
 * alone (count_tokens) drops nothing and says nothing.
 */
void
xr_drop(struct xr *x, const char *path, const char *type, const char *why)
{
	struct buf	 t = BUF_INITIALIZER;

	if (x->route == NULL)
		return;
	util_log_excerpt(&t, type, strlen(type), 64);
	log_info("%s xlate: %s: %s block dropped: %s", x->rid,
	    path, t.data ? t.data : "", why);
	buf_free(&t);
}

/*
 * A tool sent with defer_loading stays out of the upstream's tools until
 * the conversation loads it: a tool_reference names it (tool search), an
 * earlier tool_use called it, or tool_choice forces it.
 */
int
xr_load(struct xr *x, json_object *name)
{
	if (json_object_object_add(x->loaded, json_object_get_string(name),
	    NULL) == -1)
		return xr_nomem(x);
	return 0;
}

static int
xr_is_loaded(struct xr *x, json_object *name)
{
	return json_object_object_get_ex(x->loaded,
	    json_object_get_string(name), NULL);
}

/* ---- building the output ------------------------------------------------ */

/* obj[key] = val, taking val; val == NULL means allocation failed. key
 * must be a string literal (json-c keeps the pointer, not a copy); so it
 * is for every caller, down to xr_part's type and xr_scalar's outkey */
int
xr_add(struct xr *x, json_object *obj, const char *key, json_object *val)
{
	if (val == NULL)
		return xr_nomem(x);
	if (json_object_object_add_ex(obj, key, val,
	    JSON_C_OBJECT_ADD_CONSTANT_KEY) == -1) {
		json_object_put(val);
		return xr_nomem(x);
	}
	return 0;
}

/* obj[key] = null; key a string literal, as for xr_add */
static int
xr_add_null(struct xr *x, json_object *obj, const char *key)
{
	if (json_object_object_add_ex(obj, key, NULL,
	    JSON_C_OBJECT_ADD_CONSTANT_KEY) == -1)
		return xr_nomem(x);
	return 0;
}

int
xr_push(struct xr *x, json_object *arr, json_object *val)
{
	if (val == NULL)
		return xr_nomem(x);
	if (json_object_array_add(arr, val) == -1) {
		json_object_put(val);
		return xr_nomem(x);
	}
	return 0;
}

/*
 * Values that pass through unchanged (strings, tool schemas) are shared
 * with the client's tree by reference count, not copied: json-c objects
 * know no parent, the output is never modified once built, and either
 * tree may be freed first. On a 20 KB Claude Code request the deep copy
 * of the tool schemas alone was a tenth of the proxy's CPU.
 */
json_object *
xr_string(json_object *s)
{
	if (s == NULL)
		return json_object_new_string("");
	return json_object_get(s);
}

static json_object *
xr_copy(json_object *v)
{
	return json_object_get(v);
}

/* b += sep + s[0..len), the separator only between two non-empty pieces */
int
xr_join_text(struct xr *x, struct buf *b, const char *sep, const char *s,
    size_t len)
{
	if (len == 0)
		return 0;
	if (b->len > 0 && buf_puts(b, sep) == -1)
		return xr_nomem(x);
	if (buf_append(b, s, len) == -1)
		return xr_nomem(x);
	return 0;
}

int
xr_join(struct xr *x, struct buf *b, const char *sep, json_object *s)
{
	return xr_join_text(x, b, sep, json_object_get_string(s),
	    (size_t)json_object_get_string_len(s));
}

/* a new object {"role": role} */
static json_object *
xr_message(struct xr *x, const char *role)
{
	json_object	*m;

	if ((m = json_object_new_object()) == NULL) {
		xr_nomem(x);
		return NULL;
	}
	if (xr_add(x, m, "role", json_object_new_string(role)) == -1) {
		json_object_put(m);
		return NULL;
	}
	return m;
}

static json_object *
xr_text_part(struct xr *x, const char *s, size_t len)
{
	json_object	*p;

	if ((p = json_object_new_object()) == NULL) {
		xr_nomem(x);
		return NULL;
	}
	if (xr_add(x, p, "type", json_object_new_string("text")) == -1 ||
	    xr_add(x, p, "text", json_object_new_string_len(s, (int)len)) == -1) {
		json_object_put(p);
		return NULL;
	}
	return p;
}

/* {"type": type, type: {key: value}} as image_url and file parts are */
static json_object *
xr_part(struct xr *x, const char *type, json_object *inner)
{
	json_object	*p;

	if (inner == NULL) {
		xr_nomem(x);
		return NULL;
	}
	if ((p = json_object_new_object()) == NULL) {
		json_object_put(inner);
		xr_nomem(x);
		return NULL;
	}
	if (xr_add(x, p, "type", json_object_new_string(type)) == -1 ||
	    xr_add(x, p, type, inner) == -1) {
		json_object_put(p);
		return NULL;
	}
	return p;
}

/* "data:<media_type>;base64,<data>" */
static json_object *
xr_data_url(struct xr *x, const char *media_type, json_object *data)
{
	struct buf	 b = BUF_INITIALIZER;
	json_object	*s;

	if (buf_printf(&b, "data:%s;base64,", media_type) == -1 ||
	    buf_append(&b, json_object_get_string(data),
	    (size_t)json_object_get_string_len(data)) == -1) {
		buf_free(&b);
		xr_nomem(x);
		return NULL;
	}
	s = json_object_new_string_len(b.data, (int)b.len);
	buf_free(&b);
	if (s == NULL)
		xr_nomem(x);
	return s;
}

/* ---- user content blocks ------------------------------------------------ */

static int
xr_image_type_ok(const char *t)
{
	return strcmp(t, "image/jpeg") == 0 || strcmp(t, "image/png") == 0 ||
	    strcmp(t, "image/gif") == 0 || strcmp(t, "image/webp") == 0;
}

/* image block -> {"type":"image_url","image_url":{"url":...}} */
/* the block's "source" object and its "type"; sp gets the source's path */
static int
xr_source(struct xr *x, json_object *b, const char *path,
    char sp[XR_PATH], json_object **src, const char **type)
{
	json_object	*t;

	xr_key(sp, XR_PATH, path, "source");
	if (xr_member(x, b, path, "source", json_type_object, XR_REQUIRED,
	    src) == -1 || xr_str(x, *src, sp, "type", XR_REQUIRED, &t) == -1)
		return -1;
	*type = json_object_get_string(t);
	return 0;
}

static int
xr_image(struct xr *x, json_object *b, const char *path, json_object **out)
{
	char		 sp[XR_PATH];
	json_object	*src, *mt, *data, *url, *inner;
	const char	*t;

	*out = NULL;
	if (xr_source(x, b, path, sp, &src, &t) == -1)
		return -1;
	if (strcmp(t, "base64") == 0) {
		if (xr_str(x, src, sp, "media_type", XR_REQUIRED, &mt) == -1)
			return -1;
		if (!xr_image_type_ok(json_object_get_string(mt)))
			return xr_fail(x, "%s.media_type: must be one of "
			    "image/jpeg, image/png, image/gif, image/webp", sp);
		if (xr_str(x, src, sp, "data", XR_REQUIRED, &data) == -1)
			return -1;
		url = xr_data_url(x, json_object_get_string(mt), data);
	} else if (strcmp(t, "url") == 0) {
		if (xr_str(x, src, sp, "url", XR_REQUIRED, &data) == -1)
			return -1;
		url = xr_string(data);
	} else
		return xr_fail(x, "%s.type: image sources of type \"%s\" are "
		    "not supported (use \"base64\" or \"url\")", sp, t);
	if (url == NULL)
		return xr_nomem(x);
	if ((inner = json_object_new_object()) == NULL) {
		json_object_put(url);
		return xr_nomem(x);
	}
	if (xr_add(x, inner, "url", url) == -1) {
		json_object_put(inner);
		return -1;
	}
	*out = xr_part(x, "image_url", inner);
	return *out == NULL ? -1 : 0;
}

/* title, context and body of a text document, as one text part */
static int
xr_doc_text(struct xr *x, json_object *b, const char *path, json_object *body,
    json_object **out)
{
	struct buf	 t = BUF_INITIALIZER;
	json_object	*title, *ctx;
	int		 rc = -1;

	*out = NULL;
	if (xr_str(x, b, path, "title", XR_OPTIONAL, &title) == -1 ||
	    xr_str(x, b, path, "context", XR_OPTIONAL, &ctx) == -1)
		return -1;
	if ((title != NULL && xr_join(x, &t, "\n\n", title) == -1) ||
	    (ctx != NULL && xr_join(x, &t, "\n\n", ctx) == -1) ||
	    xr_join(x, &t, "\n\n", body) == -1)
		goto done;
	rc = 0;
	if (t.len > 0 && (*out = xr_text_part(x, t.data, t.len)) == NULL)
		rc = -1;
done:
	buf_free(&t);
	return rc;
}

/* a "content" document source: its text blocks, joined */
static int
xr_doc_content(struct xr *x, json_object *b, const char *path,
    json_object *src, const char *sp, json_object **out)
{
	struct buf	 t = BUF_INITIALIZER;
	json_object	*c, *blk, *s, *body;
	char		 cp[XR_PATH], bp[XR_PATH];
	const char	*type;
	size_t		 i, n;
	int		 rc = -1;

	*out = NULL;
	if (xr_content(x, src, sp, XR_REQUIRED, &c) == -1)
		return -1;
	if (json_object_is_type(c, json_type_string))
		return xr_doc_text(x, b, path, c, out);
	xr_key(cp, sizeof(cp), sp, "content");
	n = json_object_array_length(c);
	for (i = 0; i < n; i++) {
		blk = json_object_array_get_idx(c, i);
		xr_index(bp, sizeof(bp), cp, i);
		if (xr_block(x, blk, bp, &type) == -1)
			goto done;
		if (strcmp(type, "text") != 0) {
			xr_drop(x, bp, type, "a text document keeps only text");
			continue;
		}
		if (xr_str(x, blk, bp, "text", XR_REQUIRED, &s) == -1 ||
		    xr_join(x, &t, "\n\n", s) == -1)
			goto done;
	}
	if ((body = json_object_new_string_len(t.data ? t.data : "",
	    (int)t.len)) == NULL) {
		xr_nomem(x);
		goto done;
	}
	rc = xr_doc_text(x, b, path, body, out);
	json_object_put(body);
done:
	buf_free(&t);
	return rc;
}

static int
xr_pdf_ok(const struct xr *x)
{
	return x->route == NULL || x->route->provider->pdf;
}

/* "report.pdf": the title, made to end in .pdf, or a default */
static json_object *
xr_pdf_name(json_object *title)
{
	const char	*t;
	size_t		 len;
	struct buf	 b = BUF_INITIALIZER;
	json_object	*s;

	if (title == NULL || json_object_get_string_len(title) == 0)
		return json_object_new_string("document.pdf");
	t = json_object_get_string(title);
	len = strlen(t);
	if (len >= 4 && strcasecmp(t + len - 4, ".pdf") == 0)
		return json_object_new_string(t);
	if (buf_printf(&b, "%s.pdf", t) == -1)
		return NULL;
	s = json_object_new_string(b.data);
	buf_free(&b);
	return s;
}

/* a base64 PDF -> an OpenAI "file" part with filename and file_data */
static int
xr_doc_pdf(struct xr *x, json_object *b, const char *path, json_object *src,
    const char *sp, json_object **out)
{
	json_object	*mt, *data, *title, *inner;

	*out = NULL;
	if (xr_str(x, src, sp, "media_type", XR_REQUIRED, &mt) == -1)
		return -1;
	if (strcmp(json_object_get_string(mt), "application/pdf") != 0)
		return xr_fail(x, "%s.media_type: must be \"application/pdf\"",
		    sp);
	if (xr_str(x, src, sp, "data", XR_REQUIRED, &data) == -1 ||
	    xr_str(x, b, path, "title", XR_OPTIONAL, &title) == -1)
		return -1;
	if (!xr_pdf_ok(x)) {
		x->err->provider_limit = 1;
		return xr_fail(x, "%s: the provider for this model (%s) does "
		    "not accept PDF documents; send the text instead", path,
		    x->route->provider->name ? x->route->provider->name : "?");
	}
	if ((inner = json_object_new_object()) == NULL)
		return xr_nomem(x);
	if (xr_add(x, inner, "filename", xr_pdf_name(title)) == -1 ||
	    xr_add(x, inner, "file_data",
	    xr_data_url(x, "application/pdf", data)) == -1) {
		json_object_put(inner);
		return -1;
	}
	*out = xr_part(x, "file", inner);
	return *out == NULL ? -1 : 0;
}

/* document block -> a text part, a file part, or nothing (empty text) */
static int
xr_document(struct xr *x, json_object *b, const char *path, json_object **out)
{
	char		 sp[XR_PATH];
	json_object	*src, *data;
	const char	*t;

	*out = NULL;
	if (xr_source(x, b, path, sp, &src, &t) == -1)
		return -1;
	if (strcmp(t, "text") == 0) {
		if (xr_str(x, src, sp, "data", XR_REQUIRED, &data) == -1)
			return -1;
		return xr_doc_text(x, b, path, data, out);
	}
	if (strcmp(t, "content") == 0)
		return xr_doc_content(x, b, path, src, sp, out);
	if (strcmp(t, "base64") == 0)
		return xr_doc_pdf(x, b, path, src, sp, out);
	return xr_fail(x, "%s.type: document sources of type \"%s\" are not "
	    "supported (use \"text\", \"content\" or \"base64\")", sp, t);
}

/*
 * A block blocktext turns into text (search results, tool references,
 * server tool calls and their results) appended to out, after sep when
 * out has text: 1 done, 0 not such a block, -1 out of memory.
 */
int
xr_render(struct xr *x, json_object *b, const char *type, struct buf *out,
    const char *sep)
{
	struct buf	 t = BUF_INITIALIZER;
	int		 r;

	if ((r = blocktext_render(b, type, &t)) == 1 && t.len > 0)
		r = xr_join_text(x, out, sep, t.data, t.len) == -1 ? -1 : 1;
	else if (r == -1)
		xr_nomem(x);
	buf_free(&t);
	return r;
}

/* a block of the user's own content that is no text, image or document:
 * rendered as a text part, or dropped with a log line */
static int
xr_user_other(struct xr *x, json_object *b, const char *path,
    const char *type, json_object **part)
{
	struct buf	 t = BUF_INITIALIZER;
	int		 r;

	if ((r = xr_render(x, b, type, &t, "")) == 0)
		xr_drop(x, path, type, "the upstream has no equivalent");
	if (r == 1 && t.len > 0 && (*part = xr_text_part(x, t.data,
	    t.len)) == NULL)
		r = -1;
	buf_free(&t);
	return r == -1 ? -1 : 0;
}

/* a part of the user's own content: text, image, document, or text that
 * stands for another block */
int
xr_user_part(struct xr *x, json_object *b, const char *path, const char *type,
    json_object *parts)
{
	json_object	*s, *part = NULL;

	if (strcmp(type, "text") == 0) {
		if (xr_str(x, b, path, "text", XR_REQUIRED, &s) == -1)
			return -1;
		if (json_object_get_string_len(s) == 0)
			return 0;
		part = xr_text_part(x, json_object_get_string(s),
		    (size_t)json_object_get_string_len(s));
		if (part == NULL)
			return -1;
	} else if (strcmp(type, "image") == 0) {
		if (xr_image(x, b, path, &part) == -1)
			return -1;
	} else if (strcmp(type, "document") == 0) {
		if (xr_document(x, b, path, &part) == -1)
			return -1;
	} else if (xr_user_other(x, b, path, type, &part) == -1)
		return -1;
	return part == NULL ? 0 : xr_push(x, parts, part);
}

/* ---- tool results ------------------------------------------------------- */

/* a part from a tool result: text joins the tool message, media moves out */
static int
xr_result_part(struct xr *x, json_object *part, struct buf *text,
    json_object *media)
{
	json_object	*s;
	int		 rc;

	if (part == NULL)
		return 0;
	if (!json_object_object_get_ex(part, "text", &s))
		return xr_push(x, media, part);
	rc = xr_join(x, text, "\n", s);
	json_object_put(part);
	return rc;
}

/* one block of a tool_result's content; search results and tool
 * references become text, unknown types are dropped */
static int
xr_result_block(struct xr *x, json_object *b, const char *path,
    struct buf *text, json_object *media)
{
	json_object	*s, *part = NULL;
	const char	*type;
	int		 r;

	if (xr_block(x, b, path, &type) == -1)
		return -1;
	if (strcmp(type, "text") == 0) {
		if (xr_str(x, b, path, "text", XR_REQUIRED, &s) == -1)
			return -1;
		return xr_join(x, text, "\n", s);
	}
	if (strcmp(type, "image") == 0) {
		if (xr_image(x, b, path, &part) == -1)
			return -1;
	} else if (strcmp(type, "document") == 0) {
		if (xr_document(x, b, path, &part) == -1)
			return -1;
	} else {
		if (strcmp(type, "tool_reference") == 0 &&
		    (xr_str(x, b, path, "tool_name", XR_REQUIRED, &s) == -1 ||
		    xr_load(x, s) == -1))
			return -1;
		if ((r = xr_render(x, b, type, text, "\n")) == -1)
			return -1;
		if (r == 0)
			xr_drop(x, path, type,
			    "the upstream has no equivalent");
	}
	return xr_result_part(x, part, text, media);
}

/* the content's own text, media moved out of it */
int
xr_result_body(struct xr *x, json_object *content, const char *path,
    struct buf *body, json_object *media)
{
	char	 cp[XR_PATH], bp[XR_PATH];
	size_t	 i, n;

	if (content == NULL)
		return 0;
	if (json_object_is_type(content, json_type_string))
		return xr_join(x, body, "", content);
	xr_key(cp, sizeof(cp), path, "content");
	n = json_object_array_length(content);
	for (i = 0; i < n; i++) {
		xr_index(bp, sizeof(bp), cp, i);
		if (xr_result_block(x, json_object_array_get_idx(content, i),
		    bp, body, media) == -1)
			return -1;
	}
	return 0;
}

/*
 * The tool message's text: "Error: " keeps is_error visible to models that
 * only read text; a note says where moved media went.
 */
static int
xr_result_text(struct xr *x, json_object *content, const char *path,
    int is_error, json_object *media, struct buf *text)
{
	struct buf	 body = BUF_INITIALIZER;
	size_t		 n;
	int		 rc = -1;

	if (xr_result_body(x, content, path, &body, media) == -1)
		goto done;
	n = json_object_array_length(media);
	if (n > 0 && buf_printf(&body, "%s[%zu attachment%s in the next "
	    "message]", body.len > 0 ? "\n" : "", n, n == 1 ? "" : "s") == -1)
		goto nomem;
	if (is_error && buf_puts(text, body.len > 0 ? "Error: " : "Error") == -1)
		goto nomem;
	if (body.len > 0 && buf_append(text, body.data, body.len) == -1)
		goto nomem;
	rc = 0;
	goto done;
nomem:
	xr_nomem(x);
done:
	buf_free(&body);
	return rc;
}

/* tool_result block -> r: a role "tool" message and the media it carried */
static int
xr_tool_result(struct xr *x, json_object *b, const char *path,
    struct xr_result *r)
{
	struct buf	 text = BUF_INITIALIZER;
	json_object	*id, *err, *content, *msg = NULL, *media;
	int		 rc = -1;

	if (xr_str(x, b, path, "tool_use_id", XR_REQUIRED, &id) == -1 ||
	    xr_member(x, b, path, "is_error", json_type_boolean, XR_OPTIONAL,
	    &err) == -1 || xr_content(x, b, path, XR_OPTIONAL, &content) == -1)
		return -1;
	if ((media = json_object_new_array()) == NULL)
		return xr_nomem(x);
	if (xr_result_text(x, content, path, json_object_get_boolean(err),
	    media, &text) == -1 || (msg = xr_message(x, "tool")) == NULL ||
	    xr_add(x, msg, "tool_call_id", xr_string(id)) == -1 ||
	    xr_add(x, msg, "content", json_object_new_string_len(
	    text.data ? text.data : "", (int)text.len)) == -1)
		goto done;
	r->id = json_object_get_string(id);
	r->msg = msg;
	r->media = media;
	msg = media = NULL;
	rc = 0;
done:
	json_object_put(msg);
	json_object_put(media);
	buf_free(&text);
	return rc;
}

/* r's tool message goes out now; its media joins the next user message */
static int
xr_send_result(struct xr *x, struct xr_result *r, json_object *media)
{
	size_t	 i, n = json_object_array_length(r->media);

	r->sent = 1;
	if (xr_push(x, x->msgs, json_object_get(r->msg)) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (xr_push(x, media, json_object_get(
		    json_object_array_get_idx(r->media, i))) == -1)
			return -1;
	return 0;
}

/* results in the order of the calls they answer, strays after them */
static int
xr_send_results(struct xr *x, struct xr_result *res, size_t nres,
    json_object *media)
{
	size_t		 i, j, ncalls = json_object_array_length(x->calls);
	const char	*id;

	for (i = 0; i < ncalls; i++) {
		id = json_object_get_string(json_object_array_get_idx(x->calls,
		    i));
		for (j = 0; j < nres; j++) {
			if (res[j].sent || strcmp(res[j].id, id) != 0)
				continue;
			if (xr_send_result(x, &res[j], media) == -1)
				return -1;
			break;
		}
	}
	for (j = 0; j < nres; j++)
		if (!res[j].sent && xr_send_result(x, &res[j], media) == -1)
			return -1;
	return 0;
}

/* ---- messages ----------------------------------------------------------- */

/* a user message of media then own parts; a lone text goes as a string */
static int
xr_send_user(struct xr *x, json_object *media, json_object *parts)
{
	json_object	*m, *content, *p;
	size_t		 i, nm = json_object_array_length(media);
	size_t		 np = json_object_array_length(parts);

	if (nm + np == 0)
		return 0;
	if (nm == 0 && np == 1 && json_object_object_get_ex(
	    json_object_array_get_idx(parts, 0), "text", &p))
		content = xr_string(p);
	else if ((content = json_object_new_array()) != NULL) {
		for (i = 0; i < nm + np; i++) {
			p = i < nm ? json_object_array_get_idx(media, i) :
			    json_object_array_get_idx(parts, i - nm);
			if (xr_push(x, content, json_object_get(p)) == -1) {
				json_object_put(content);
				return -1;
			}
		}
	}
	if (content == NULL)
		return xr_nomem(x);
	if ((m = xr_message(x, "user")) == NULL) {
		json_object_put(content);
		return -1;
	}
	if (xr_add(x, m, "content", content) == -1) {
		json_object_put(m);
		return -1;
	}
	return xr_push(x, x->msgs, m);
}

static int
xr_user_blocks(struct xr *x, json_object *content, const char *path,
    struct xr_result *res, size_t *nres, json_object *parts)
{
	char		 bp[XR_PATH];
	json_object	*b;
	const char	*type;
	size_t		 i, n = json_object_array_length(content);

	for (i = 0; i < n; i++) {
		b = json_object_array_get_idx(content, i);
		xr_index(bp, sizeof(bp), path, i);
		if (xr_block(x, b, bp, &type) == -1)
			return -1;
		if (strcmp(type, "tool_result") == 0) {
			if (xr_tool_result(x, b, bp, &res[*nres]) == -1)
				return -1;
			(*nres)++;
		} else if (xr_user_part(x, b, bp, type, parts) == -1)
			return -1;
	}
	return 0;
}

static int
xr_user(struct xr *x, json_object *content, const char *path)
{
	char		  cp[XR_PATH];
	json_object	 *parts = NULL, *media = NULL;
	struct xr_result *res = NULL;
	size_t		  i, n, nres = 0;
	int		  rc = -1;

	xr_key(cp, sizeof(cp), path, "content");
	if ((parts = json_object_new_array()) == NULL ||
	    (media = json_object_new_array()) == NULL) {
		xr_nomem(x);
		goto done;
	}
	if (json_object_is_type(content, json_type_string)) {
		if (json_object_get_string_len(content) > 0 &&
		    xr_push(x, parts, xr_text_part(x,
		    json_object_get_string(content),
		    (size_t)json_object_get_string_len(content))) == -1)
			goto done;
	} else {
		n = json_object_array_length(content);
		if ((res = calloc(n ? n : 1, sizeof(*res))) == NULL) {
			xr_nomem(x);
			goto done;
		}
		if (xr_user_blocks(x, content, cp, res, &nres, parts) == -1 ||
		    xr_send_results(x, res, nres, media) == -1)
			goto done;
	}
	rc = xr_send_user(x, media, parts);
done:
	for (i = 0; i < nres; i++) {
		json_object_put(res[i].msg);
		json_object_put(res[i].media);
	}
	free(res);
	json_object_put(parts);
	json_object_put(media);
	return rc;
}

/* tool_use block -> a tool_calls entry, its id remembered for the results */
static int
xr_tool_use(struct xr *x, json_object *b, const char *path,
    json_object *calls, json_object *ids)
{
	json_object	*id, *name, *input, *call, *fn;
	const char	*args;

	if (xr_str(x, b, path, "id", XR_REQUIRED, &id) == -1 ||
	    xr_str(x, b, path, "name", XR_REQUIRED, &name) == -1 ||
	    xr_member(x, b, path, "input", json_type_object, XR_REQUIRED,
	    &input) == -1)
		return -1;
	args = json_object_to_json_string_ext(input,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (args == NULL)
		return xr_nomem(x);
	if ((fn = json_object_new_object()) == NULL)
		return xr_nomem(x);
	if (xr_add(x, fn, "name", xr_string(name)) == -1 ||
	    xr_add(x, fn, "arguments", json_object_new_string(args)) == -1) {
		json_object_put(fn);
		return -1;
	}
	if ((call = xr_part(x, "function", fn)) == NULL)
		return -1;
	/* xr_part gave {"type":"function","function":{...}}; add the id */
	if (xr_add(x, call, "id", xr_string(id)) == -1) {
		json_object_put(call);
		return -1;
	}
	if (xr_push(x, calls, call) == -1 || xr_load(x, name) == -1)
		return -1;
	return xr_push(x, ids, xr_string(id));
}

/*
 * An assistant message is walked as segments: text, reasoning and calls
 * that go upstream as one assistant message. Where the proxy runs a
 * server tool (x->hist), a server_tool_use is a call like a tool_use and
 * the result that answers it (srvhist finds it, in this message or a
 * later one) a tool message right after its segment; text after such a
 * call, or a call after a result, starts the next segment, so the model
 * sees its rounds of calls and results in order. Everything else keeps
 * one segment per message, as before.
 */
struct xr_seg {
	struct buf	 text, think;
	json_object	*calls;		/* tool_calls */
	json_object	*ids;		/* their ids */
	json_object	*results;	/* tool messages after the segment */
	int		 server;	/* server calls in it */
	int		 after_result;	/* a result came after its calls */
};

static int
xr_seg_init(struct xr *x, struct xr_seg *g)
{
	memset(g, 0, sizeof(*g));
	if ((g->calls = json_object_new_array()) == NULL ||
	    (g->ids = json_object_new_array()) == NULL ||
	    (g->results = json_object_new_array()) == NULL)
		return xr_nomem(x);
	return 0;
}

static void
xr_seg_free(struct xr_seg *g)
{
	buf_free(&g->text);
	buf_free(&g->think);
	json_object_put(g->calls);
	json_object_put(g->ids);
	json_object_put(g->results);
	memset(g, 0, sizeof(*g));
}

/* is b a server tool's block for a tool the upstream is offered? */
static int
xr_is_server(struct xr *x, json_object *b, const char *type)
{
	json_object	*name;

	if (x->hist == NULL)
		return 0;
	if (strcmp(type, "server_tool_use") == 0)
		return json_object_object_get_ex(b, "name", &name) &&
		    json_object_is_type(name, json_type_string) &&
		    srvtool_kind_of_name(json_object_get_string(name)) !=
		    SRVTOOL_NONE && (x->srv_offer & SRVTOOL_BIT(
		    srvtool_kind_of_name(json_object_get_string(name))));
	if (strcmp(type, "web_search_tool_result") == 0)
		return (x->srv_offer & SRVTOOL_BIT(SRVTOOL_SEARCH)) != 0;
	if (strcmp(type, "web_fetch_tool_result") == 0)
		return (x->srv_offer & SRVTOOL_BIT(SRVTOOL_FETCH)) != 0;
	return 0;
}

/* a result as the tool message that answers its call */
static int
xr_result_message(struct xr *x, struct srvhist_result *r, json_object *out)
{
	struct buf	 t = BUF_INITIALIZER;
	json_object	*m = NULL;
	int		 rc = -1;

	r->used = 1;
	if (srvhist_render(x->hist, r, &t) == -1) {
		xr_nomem(x);
		goto done;
	}
	if ((m = xr_message(x, "tool")) == NULL ||
	    xr_add(x, m, "tool_call_id", json_object_new_string(r->id)) == -1 ||
	    xr_add(x, m, "content", json_object_new_string_len(
	    t.data != NULL ? t.data : "", (int)t.len)) == -1)
		goto done;
	rc = xr_push(x, out, m);
	m = NULL;
done:
	json_object_put(m);
	buf_free(&t);
	return rc;
}

static int	xr_send_assistant(struct xr *, struct buf *, struct buf *,
		    json_object *);

/* the segment goes out (assistant message, then the results of its
 * server calls); the ids of its calls wait for the next user message */
static int
xr_seg_flush(struct xr *x, struct xr_seg *g)
{
	size_t	 i, n = json_object_array_length(g->results);

	if (xr_send_assistant(x, &g->text, &g->think, g->calls) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (xr_push(x, x->msgs, json_object_get(
		    json_object_array_get_idx(g->results, i))) == -1)
			return -1;
	json_object_put(x->calls);
	x->calls = g->ids;
	g->ids = NULL;
	xr_seg_free(g);
	return xr_seg_init(x, g);
}

/* a server tool's call or result where the proxy runs the tool */
static int
xr_server_block(struct xr *x, json_object *b, const char *path,
    const char *type, struct xr_seg *g)
{
	struct srvhist_result	*r;
	json_object		*id;

	if (strcmp(type, "server_tool_use") != 0) {
		r = srvhist_of_block(x->hist, b);
		if (r != NULL && r->used) {	/* placed after its call */
			g->after_result = 1;
			return 0;
		}
		/* no call before it: what it says, as text */
		if (g->server > 0 && xr_seg_flush(x, g) == -1)
			return -1;
		return xr_render(x, b, type, &g->text, "\n\n") == -1 ? -1 : 0;
	}
	if (g->after_result && xr_seg_flush(x, g) == -1)
		return -1;
	if (xr_tool_use(x, b, path, g->calls, g->ids) == -1)
		return -1;
	g->server++;
	json_object_object_get_ex(b, "id", &id);
	if ((r = srvhist_find(x->hist, json_object_get_string(id))) != NULL)
		return xr_result_message(x, r, g->results);
	return 0;
}

/* one assistant block into the segment: text, reasoning or a call;
 * server tool calls and their results become text where the proxy does
 * not run the tool; redacted thinking and unknown types are dropped */
static int
xr_assistant_block(struct xr *x, json_object *b, const char *path,
    struct xr_seg *g)
{
	json_object	*s;
	const char	*type;
	int		 r;

	if (xr_block(x, b, path, &type) == -1)
		return -1;
	if (xr_is_server(x, b, type))
		return xr_server_block(x, b, path, type, g);
	if (strcmp(type, "tool_use") == 0) {
		if (g->after_result && xr_seg_flush(x, g) == -1)
			return -1;
		return xr_tool_use(x, b, path, g->calls, g->ids);
	}
	/* text after server calls: the model's next round */
	if (g->server > 0 && strcmp(type, "redacted_thinking") != 0 &&
	    xr_seg_flush(x, g) == -1)
		return -1;
	if (strcmp(type, "text") == 0) {
		if (xr_str(x, b, path, "text", XR_REQUIRED, &s) == -1)
			return -1;
		return xr_join(x, &g->text, "\n\n", s);
	}
	if (strcmp(type, "thinking") == 0) {
		if (xr_str(x, b, path, "thinking", XR_REQUIRED, &s) == -1)
			return -1;
		return xr_join(x, &g->think, "\n\n", s);
	}
	if (strcmp(type, "redacted_thinking") == 0) {
		xr_drop(x, path, type, "it is encrypted for Claude only");
		return 0;
	}
	if ((r = xr_render(x, b, type, &g->text, "\n\n")) == 0)
		xr_drop(x, path, type, "the upstream has no equivalent");
	return r == -1 ? -1 : 0;
}

static int
xr_send_assistant(struct xr *x, struct buf *text, struct buf *think,
    json_object *calls)
{
	json_object	*m;

	if (text->len == 0 && json_object_array_length(calls) == 0)
		return 0;	/* nothing an upstream would accept */
	if ((m = xr_message(x, "assistant")) == NULL)
		return -1;
	if ((text->len > 0 ? xr_add(x, m, "content",
	    json_object_new_string_len(text->data, (int)text->len)) :
	    xr_add_null(x, m, "content")) == -1 ||
	    (think->len > 0 && xr_add(x, m, "reasoning_content",
	    json_object_new_string_len(think->data, (int)think->len)) == -1) ||
	    (json_object_array_length(calls) > 0 &&
	    xr_add(x, m, "tool_calls", json_object_get(calls)) == -1)) {
		json_object_put(m);
		return -1;
	}
	return xr_push(x, x->msgs, m);
}

static int
xr_assistant(struct xr *x, json_object *content, const char *path)
{
	struct xr_seg	 g;
	char		 cp[XR_PATH], bp[XR_PATH];
	size_t		 i, n;
	int		 rc = -1;

	if (xr_seg_init(x, &g) == -1)
		goto done;
	if (json_object_is_type(content, json_type_string)) {
		if (xr_join(x, &g.text, "", content) == -1)
			goto done;
	} else {
		xr_key(cp, sizeof(cp), path, "content");
		n = json_object_array_length(content);
		for (i = 0; i < n; i++) {
			xr_index(bp, sizeof(bp), cp, i);
			if (xr_assistant_block(x, json_object_array_get_idx(
			    content, i), bp, &g) == -1)
				goto done;
		}
	}
	rc = xr_seg_flush(x, &g);
done:
	xr_seg_free(&g);
	return rc;
}

/*
 * Claude Code starts the system prompt with an attribution line, a text
 * block of its own: "x-anthropic-billing-header: cc_version=2.1.332.441;
 * cc_entrypoint=sdk-cli;". It means nothing to another vendor and changes
 * with every version and entry point, so an upstream's prefix cache would
 * start afresh each time: unless the provider wants it, the first line of
 * the first system text goes when it is that line.
 */
#define XR_ATTRIBUTION	"x-anthropic-billing-header:"

static int
xr_system_text(struct xr *x, json_object *s, int first)
{
	const char	*t = json_object_get_string(s), *nl;
	size_t		 len = (size_t)json_object_get_string_len(s);

	if (first && x->route != NULL &&
	    x->route->provider->strip_attribution &&
	    strncmp(t, XR_ATTRIBUTION, sizeof(XR_ATTRIBUTION) - 1) == 0) {
		if ((nl = memchr(t, '\n', len)) == NULL)
			return 0;
		len -= (size_t)(nl + 1 - t);
		t = nl + 1;
	}
	return xr_join_text(x, &x->system, "\n\n", t, len);
}

/*
 * System text: a string or text blocks. Top-level "system" takes text blocks
 * only (strict) and may start with Claude Code's attribution line; role
 * "system" messages skip other blocks.
 */
int
xr_system(struct xr *x, json_object *v, const char *path, int strict)
{
	char		 bp[XR_PATH];
	json_object	*b, *s;
	const char	*type;
	size_t		 i, n;

	if (json_object_is_type(v, json_type_string))
		return xr_system_text(x, v, strict);
	n = json_object_array_length(v);
	for (i = 0; i < n; i++) {
		b = json_object_array_get_idx(v, i);
		xr_index(bp, sizeof(bp), path, i);
		if (xr_block(x, b, bp, &type) == -1)
			return -1;
		if (strcmp(type, "text") != 0) {
			if (strict)
				return xr_fail(x, "%s.type: must be \"text\"",
				    bp);
			xr_drop(x, bp, type, "system text keeps only text");
			continue;
		}
		if (xr_str(x, b, bp, "text", XR_REQUIRED, &s) == -1 ||
		    xr_system_text(x, s, strict && i == 0) == -1)
			return -1;
	}
	return 0;
}

static int
xr_one_message(struct xr *x, json_object *m, const char *path)
{
	char		 cp[XR_PATH];
	json_object	*role, *content;
	const char	*r;

	if (!json_object_is_type(m, json_type_object))
		return xr_fail(x, "%s: expected object", path);
	if (xr_str(x, m, path, "role", XR_REQUIRED, &role) == -1 ||
	    xr_content(x, m, path, XR_REQUIRED, &content) == -1)
		return -1;
	r = json_object_get_string(role);
	if (strcmp(r, "user") == 0)
		return xr_user(x, content, path);
	if (strcmp(r, "assistant") == 0)
		return xr_assistant(x, content, path);
	if (strcmp(r, "system") == 0) {
		xr_key(cp, sizeof(cp), path, "content");
		return xr_system(x, content, cp, 0);
	}
	return xr_fail(x, "%s.role: must be \"user\" or \"assistant\"", path);
}

/* the folded system text as the first message */
static int
xr_send_system(struct xr *x, json_object *arr)
{
	json_object	*m;

	if ((m = xr_message(x, "system")) == NULL)
		return -1;
	if (xr_add(x, m, "content", json_object_new_string_len(x->system.data,
	    (int)x->system.len)) == -1) {
		json_object_put(m);
		return -1;
	}
	return xr_push(x, arr, m);
}

/* "system" and "messages" -> out.messages, the system text leading */
static int
xr_messages(struct xr *x, json_object *req, json_object *out)
{
	char		 mp[XR_PATH];
	json_object	*sys, *msgs, *arr, *turns;
	size_t		 i, n;
	int		 rc = -1;

	if (xr_member(x, req, "", "messages", json_type_array, XR_REQUIRED,
	    &msgs) == -1)
		return -1;
	if (json_object_object_get_ex(req, "system", &sys) && sys != NULL) {
		if (!json_object_is_type(sys, json_type_string) &&
		    !json_object_is_type(sys, json_type_array))
			return xr_fail(x, "system: expected string or array");
		if (xr_system(x, sys, "system", 1) == -1)
			return -1;
	}
	if ((n = json_object_array_length(msgs)) == 0)
		return xr_fail(x, "messages: at least one message is required");
	for (i = 0; i < n; i++) {
		xr_index(mp, sizeof(mp), "messages", i);
		if (xr_one_message(x, json_object_array_get_idx(msgs, i),
		    mp) == -1)
			return -1;
	}
	if (json_object_array_length(x->msgs) == 0)
		return xr_fail(x, "messages: at least one non-empty user or "
		    "assistant message is required");
	/* what translation left (two user messages in a row, calls without
	 * results) made acceptable to strict upstreams */
	if (x->route == NULL)
		turns = json_object_get(x->msgs);
	else if ((turns = turns_repair(x->msgs, x->rid)) == NULL)
		return xr_nomem(x);
	n = json_object_array_length(turns);
	if ((arr = json_object_new_array_ext((int)n + 1)) == NULL) {
		xr_nomem(x);
		goto done;
	}
	if (xr_add(x, out, "messages", arr) == -1 ||
	    (x->system.len > 0 && xr_send_system(x, arr) == -1))
		goto done;
	for (i = 0; i < n; i++)
		if (xr_push(x, arr, json_object_get(
		    json_object_array_get_idx(turns, i))) == -1)
			goto done;
	rc = 0;
done:
	json_object_put(turns);
	return rc;
}

/* ---- tools -------------------------------------------------------------- */

/* names come from the client: bounded and escaped before they are logged */
static void
xr_log_dropped(struct xr *x, json_object *name, json_object *type)
{
	struct buf	 n = BUF_INITIALIZER, t = BUF_INITIALIZER;

	util_log_excerpt(&n, json_object_get_string(name),
	    (size_t)json_object_get_string_len(name), 64);
	if (type != NULL)
		util_log_excerpt(&t, json_object_get_string(type),
		    (size_t)json_object_get_string_len(type), 64);
	log_info("%s xlate: tool \"%s\" (type %s) dropped: it has no "
	    "input_schema, the upstream cannot run it", x->rid,
	    n.data ? n.data : "",
	    t.data ? t.data : "custom");
	buf_free(&n);
	buf_free(&t);
}

/*
 * A server tool (web_search_*, web_fetch_*; srvtool_scan has checked it)
 * goes upstream as the function the proxy runs for it, where it does;
 * elsewhere it is dropped with a line saying why. 1 = such a tool.
 */
static int
xr_server_tool(struct xr *x, json_object *type, json_object *out)
{
	enum srvtool_kind	 k;
	struct buf		 t = BUF_INITIALIZER;

	if (type == NULL ||
	    (k = srvtool_kind(json_object_get_string(type))) == SRVTOOL_NONE)
		return 0;
	if (x->srv_offer & SRVTOOL_BIT(k))
		return xr_push(x, out, srvtool_function(k)) == -1 ? -1 : 1;
	if (x->route != NULL) {
		util_log_excerpt(&t, json_object_get_string(type),
		    (size_t)json_object_get_string_len(type), 64);
		log_info("%s xlate: tool \"%s\" (type %s) dropped: %s", x->rid,
		    srvtool_name(k), t.data ? t.data : "", !srvtool_enabled(k) ?
		    (k == SRVTOOL_SEARCH ? "web search is off (no web_search "
		    "backend configured)" : "web fetch is off (web_fetch."
		    "enabled is false)") : "this upstream cannot run it");
		buf_free(&t);
	}
	return 1;
}

static int
xr_one_tool(struct xr *x, json_object *t, const char *path, json_object *out)
{
	json_object	*name, *desc, *schema, *type, *fn, *defer;
	int		 r;

	if (!json_object_is_type(t, json_type_object))
		return xr_fail(x, "%s: expected object", path);
	if (xr_str(x, t, path, "name", XR_REQUIRED, &name) == -1 ||
	    xr_str(x, t, path, "type", XR_OPTIONAL, &type) == -1 ||
	    xr_str(x, t, path, "description", XR_OPTIONAL, &desc) == -1 ||
	    xr_member(x, t, path, "input_schema", json_type_object, XR_OPTIONAL,
	    &schema) == -1 ||
	    xr_member(x, t, path, "defer_loading", json_type_boolean,
	    XR_OPTIONAL, &defer) == -1)
		return -1;
	/* as Anthropic's API keeps it out of the model's context */
	if (json_object_get_boolean(defer) && !xr_is_loaded(x, name))
		return 0;
	if (schema == NULL && (r = xr_server_tool(x, type, out)) != 0)
		return r == -1 ? -1 : 0;
	if (schema == NULL) {
		if (x->route != NULL)
			xr_log_dropped(x, name, type);
		return 0;
	}
	if ((fn = json_object_new_object()) == NULL)
		return xr_nomem(x);
	if (xr_add(x, fn, "name", xr_string(name)) == -1 ||
	    (desc != NULL && xr_add(x, fn, "description",
	    xr_string(desc)) == -1) ||
	    xr_add(x, fn, "parameters", xr_copy(schema)) == -1) {
		json_object_put(fn);
		return -1;
	}
	return xr_push(x, out, xr_part(x, "function", fn));
}

static int
xr_has_tool(json_object *tools, const char *name)
{
	size_t		 i, n = json_object_array_length(tools);
	json_object	*fn, *nm;

	for (i = 0; i < n; i++) {
		fn = json_object_object_get(json_object_array_get_idx(tools, i),
		    "function");
		if (json_object_object_get_ex(fn, "name", &nm) &&
		    strcmp(json_object_get_string(nm), name) == 0)
			return 1;
	}
	return 0;
}

/* tool_choice -> its OpenAI form; *dpar set by disable_parallel_tool_use */
static int
xr_tool_choice(struct xr *x, json_object *tc, json_object *tools,
    json_object **out, int *dpar)
{
	json_object	*type, *name, *dp, *fn;
	const char	*t;

	*out = NULL;
	if (xr_str(x, tc, "tool_choice", "type", XR_REQUIRED, &type) == -1 ||
	    xr_member(x, tc, "tool_choice", "disable_parallel_tool_use",
	    json_type_boolean, XR_OPTIONAL, &dp) == -1)
		return -1;
	*dpar = json_object_get_boolean(dp);
	t = json_object_get_string(type);
	if (strcmp(t, "auto") == 0)
		*out = json_object_new_string("auto");
	else if (strcmp(t, "any") == 0)
		*out = json_object_new_string("required");
	else if (strcmp(t, "none") == 0)
		*out = json_object_new_string("none");
	else if (strcmp(t, "tool") == 0) {
		if (xr_str(x, tc, "tool_choice", "name", XR_REQUIRED,
		    &name) == -1)
			return -1;
		if (tools != NULL && json_object_array_length(tools) > 0 &&
		    !xr_has_tool(tools, json_object_get_string(name)))
			return xr_fail(x, "tool_choice.name: no tool named "
			    "\"%s\" can be forwarded", json_object_get_string(
			    name));
		if ((fn = json_object_new_object()) == NULL)
			return xr_nomem(x);
		if (xr_add(x, fn, "name", xr_string(name)) == -1) {
			json_object_put(fn);
			return -1;
		}
		*out = xr_part(x, "function", fn);
		return *out == NULL ? -1 : 0;
	} else
		return xr_fail(x, "tool_choice.type: must be one of \"auto\", "
		    "\"any\", \"tool\", \"none\"");
	return *out == NULL ? xr_nomem(x) : 0;
}

/* tools and tool_choice; both omitted when no tool can be forwarded */
int
xr_tools(struct xr *x, json_object *req, json_object *out)
{
	char		 tp[XR_PATH];
	json_object	*tools, *tc, *name = NULL, *arr = NULL, *choice = NULL;
	size_t		 i, n;
	int		 dpar = 0, rc = -1;

	if (xr_member(x, req, "", "tools", json_type_array, XR_OPTIONAL,
	    &tools) == -1 || xr_member(x, req, "", "tool_choice",
	    json_type_object, XR_OPTIONAL, &tc) == -1 ||
	    srvtool_scan(tools, NULL, x->err) == -1)
		return -1;
	/* a tool forced by name is loaded; xr_tool_choice checks the name */
	if (tc != NULL && json_object_object_get_ex(tc, "name", &name) &&
	    json_object_is_type(name, json_type_string) &&
	    xr_load(x, name) == -1)
		return -1;
	if ((arr = json_object_new_array()) == NULL)
		return xr_nomem(x);
	n = tools ? json_object_array_length(tools) : 0;
	for (i = 0; i < n; i++) {
		xr_index(tp, sizeof(tp), "tools", i);
		if (xr_one_tool(x, json_object_array_get_idx(tools, i), tp,
		    arr) == -1)
			goto done;
	}
	if (tc != NULL && xr_tool_choice(x, tc, arr, &choice, &dpar) == -1)
		goto done;
	rc = 0;
	if (json_object_array_length(arr) == 0)
		goto done;
	if (xr_add(x, out, "tools", json_object_get(arr)) == -1 ||
	    (choice != NULL && xr_add(x, out, "tool_choice",
	    json_object_get(choice)) == -1) ||
	    (dpar && xr_add(x, out, "parallel_tool_calls",
	    json_object_new_boolean(0)) == -1))
		rc = -1;
done:
	json_object_put(arr);
	json_object_put(choice);
	return rc;
}

/* ---- scalar parameters -------------------------------------------------- */

int
xr_model(struct xr *x, json_object *req, json_object *out)
{
	json_object	*m;

	if (xr_str(x, req, "", "model", XR_REQUIRED, &m) == -1)
		return -1;
	if (x->route == NULL)
		return 0;
	return xr_add(x, out, "model",
	    json_object_new_string(x->route->model->remote_id));
}

int
xr_max_tokens(struct xr *x, json_object *req, json_object *out)
{
	json_object	*v;
	int64_t		 n, cap;

	if (xr_member(x, req, "", "max_tokens", json_type_int,
	    x->route ? XR_REQUIRED : XR_OPTIONAL, &v) == -1)
		return -1;
	if (v == NULL)
		return 0;
	if ((n = json_object_get_int64(v)) <= 0)
		return xr_fail(x, "max_tokens: must be a positive integer");
	if (n > XR_MAX_COUNT)
		return xr_fail(x, "max_tokens: too large");
	if (x->route == NULL)
		return 0;
	cap = x->route->model->max_tokens;
	if (cap > 0 && n > cap)
		n = cap;
	return xr_add(x, out, "max_tokens", json_object_new_int64(n));
}

static int
xr_stream(struct xr *x, json_object *req, int stream, json_object *out)
{
	json_object	*v, *so;

	if (xr_member(x, req, "", "stream", json_type_boolean, XR_OPTIONAL,
	    &v) == -1)
		return -1;
	if (x->route == NULL || !stream)
		return 0;
	if (xr_add(x, out, "stream", json_object_new_boolean(1)) == -1)
		return -1;
	if (!x->route->provider->include_usage)
		return 0;
	if ((so = json_object_new_object()) == NULL)
		return xr_nomem(x);
	if (xr_add(x, so, "include_usage", json_object_new_boolean(1)) == -1) {
		json_object_put(so);
		return -1;
	}
	return xr_add(x, out, "stream_options", so);
}

/* a number or integer member copied under a new name when wanted */
static int
xr_scalar(struct xr *x, json_object *req, const char *key, json_type t,
    const char *outkey, int wanted, json_object *out)
{
	json_object	*v;

	if (xr_member(x, req, "", key, t, XR_OPTIONAL, &v) == -1)
		return -1;
	if (v == NULL || !wanted || x->route == NULL)
		return 0;
	return xr_add(x, out, outkey, xr_copy(v));
}

static int
xr_stop(struct xr *x, json_object *req, json_object *out)
{
	char		 sp[XR_PATH];
	json_object	*v, *arr, *s;
	size_t		 i, n;

	if (xr_member(x, req, "", "stop_sequences", json_type_array,
	    XR_OPTIONAL, &v) == -1)
		return -1;
	if (v == NULL || (n = json_object_array_length(v)) == 0)
		return 0;
	if ((arr = json_object_new_array()) == NULL)
		return xr_nomem(x);
	for (i = 0; i < n; i++) {
		s = json_object_array_get_idx(v, i);
		if (!json_object_is_type(s, json_type_string)) {
			json_object_put(arr);
			xr_index(sp, sizeof(sp), "stop_sequences", i);
			return xr_fail(x, "%s: expected string", sp);
		}
		if (xr_push(x, arr, xr_string(s)) == -1) {
			json_object_put(arr);
			return -1;
		}
	}
	if (x->route == NULL) {
		json_object_put(arr);
		return 0;
	}
	return xr_add(x, out, "stop", arr);
}

/*
 * Who metadata.user_id names: Claude Code sends JSON text,
 * {"device_id":...,"account_uuid":...,"session_id":...}, older versions
 * "user_<hash>_account_<uuid>_session_<uuid>". A user is the account (or
 * the device when there is no account), not one session, so the session
 * is left out; any other value is taken whole.
 */
static void
xr_user_key(const char *uid, size_t len, struct buf *key)
{
	json_object	*o, *acct, *dev;
	const char	*sess;

	if (len < 4096 && uid[0] == '{' &&
	    (o = json_tokener_parse(uid)) != NULL) {
		if (json_object_object_get_ex(o, "account_uuid", &acct) &&
		    json_object_is_type(acct, json_type_string) &&
		    json_object_get_string_len(acct) > 0)
			buf_printf(key, "account:%s",
			    json_object_get_string(acct));
		else if (json_object_object_get_ex(o, "device_id", &dev) &&
		    json_object_is_type(dev, json_type_string) &&
		    json_object_get_string_len(dev) > 0)
			buf_printf(key, "device:%s",
			    json_object_get_string(dev));
		json_object_put(o);
		if (key->len > 0)
			return;
	}
	if ((sess = strstr(uid, "_session_")) != NULL && sess > uid)
		len = (size_t)(sess - uid);
	buf_append(key, uid, len);
}

/*
 * metadata.user_id -> user, as "cp_" and 32 hex digits of the SHA-256 of
 * the user it names: stable for one user, 35 characters where upstreams
 * cap the field at 64 (OpenRouter at 128; Claude Code's is ~150), and the
 * client's own identifiers never leave the proxy.
 */
static json_object *
xr_user_hash(const char *uid, size_t len)
{
	struct buf	 key = BUF_INITIALIZER;
	char		 hex[SHA256_DIGEST_STRING_LENGTH], user[3 + 32 + 1];

	xr_user_key(uid, len, &key);
	if (key.data == NULL) {
		buf_free(&key);
		return NULL;
	}
	SHA256Data((const uint8_t *)key.data, key.len, hex);
	buf_free(&key);
	snprintf(user, sizeof(user), "cp_%.32s", hex);
	return json_object_new_string(user);
}

static int
xr_metadata(struct xr *x, json_object *req, json_object *out)
{
	json_object	*md, *uid;

	if (xr_member(x, req, "", "metadata", json_type_object, XR_OPTIONAL,
	    &md) == -1)
		return -1;
	if (md == NULL)
		return 0;
	if (xr_str(x, md, "metadata", "user_id", XR_OPTIONAL, &uid) == -1)
		return -1;
	if (uid == NULL || json_object_get_string_len(uid) == 0 ||
	    x->route == NULL)
		return 0;
	return xr_add(x, out, "user", xr_user_hash(json_object_get_string(uid),
	    (size_t)json_object_get_string_len(uid)));
}

/* output_config.effort -> low/medium/high, NULL when absent or unknown */
static const char *
xr_effort(json_object *req)
{
	json_object	*oc, *e;
	const char	*s;

	if (!json_object_object_get_ex(req, "output_config", &oc) ||
	    !json_object_is_type(oc, json_type_object) ||
	    !json_object_object_get_ex(oc, "effort", &e) ||
	    !json_object_is_type(e, json_type_string))
		return NULL;
	s = json_object_get_string(e);
	if (strcmp(s, "low") == 0 || strcmp(s, "medium") == 0 ||
	    strcmp(s, "high") == 0)
		return s;
	if (strcmp(s, "max") == 0)
		return "high";
	return NULL;
}

/* thinking.budget_tokens -> an effort; the bounds follow Anthropic's docs */
static const char *
xr_budget_effort(int64_t budget)
{
	if (budget < 4096)
		return "low";
	if (budget < 16384)
		return "medium";
	return "high";
}

/*
 * thinking and output_config.effort -> reasoning_effort, for models
 * configured to take it. An explicit effort wins; then the budget;
 * adaptive thinking defaults to medium; disabled thinking sends nothing.
 */
static int
xr_reasoning(struct xr *x, json_object *req, json_object *out)
{
	json_object	*th, *type, *budget = NULL;
	const char	*t = NULL, *effort;

	if (xr_member(x, req, "", "thinking", json_type_object, XR_OPTIONAL,
	    &th) == -1)
		return -1;
	if (th != NULL) {
		if (xr_str(x, th, "thinking", "type", XR_REQUIRED, &type) == -1)
			return -1;
		t = json_object_get_string(type);
		if (strcmp(t, "enabled") == 0) {
			if (xr_member(x, th, "thinking", "budget_tokens",
			    json_type_int, XR_REQUIRED, &budget) == -1)
				return -1;
			if (json_object_get_int64(budget) <= 0)
				return xr_fail(x, "thinking.budget_tokens: "
				    "must be a positive integer");
			if (json_object_get_int64(budget) > XR_MAX_COUNT)
				return xr_fail(x, "thinking.budget_tokens: "
				    "too large");
		}
	}
	if (x->route == NULL || !x->route->model->reasoning ||
	    (t != NULL && strcmp(t, "disabled") == 0))
		return 0;
	if ((effort = xr_effort(req)) == NULL) {
		if (budget != NULL)
			effort = xr_budget_effort(json_object_get_int64(budget));
		else if (t != NULL && strcmp(t, "adaptive") == 0)
			effort = "medium";
		else
			return 0;
	}
	return xr_add(x, out, "reasoning_effort",
	    json_object_new_string(effort));
}

int
xr_params(struct xr *x, json_object *req, int stream, json_object *out)
{
	int	 top_k = x->route != NULL && x->route->provider->top_k;

	if (xr_stream(x, req, stream, out) == -1 ||
	    xr_scalar(x, req, "temperature", json_type_double, "temperature",
	    1, out) == -1 ||
	    xr_scalar(x, req, "top_p", json_type_double, "top_p", 1,
	    out) == -1 ||
	    xr_scalar(x, req, "top_k", json_type_int, "top_k", top_k,
	    out) == -1 ||
	    xr_stop(x, req, out) == -1 ||
	    xr_metadata(x, req, out) == -1 ||
	    xr_reasoning(x, req, out) == -1)
		return -1;
	return 0;
}

/* ---- entry points ------------------------------------------------------- */

/* the server tools the proxy runs for this request, and the results its
 * conversation holds (xr_assistant places them after their calls) */
static int
xr_server_history(struct xr *x, json_object *req)
{
	json_object	*msgs = NULL;

	if ((x->srv_offer = srvtool_offered(req)) == 0)
		return 0;
	json_object_object_get_ex(req, "messages", &msgs);
	if ((x->hist = malloc(sizeof(*x->hist))) == NULL ||
	    srvhist_init(x->hist, msgs) == -1) {
		free(x->hist);
		x->hist = NULL;
		return xr_nomem(x);
	}
	return 0;
}

static json_object *
xr_translate(json_object *req, const struct model_route *route, int stream,
    const char *request_id, struct xlate_err *err)
{
	struct xr	 x;
	json_object	*out = NULL;

	memset(&x, 0, sizeof(x));
	x.route = route;
	x.rid = request_id != NULL ? request_id : "-";
	x.err = err;
	err->provider_limit = 0;
	if (!json_object_is_type(req, json_type_object)) {
		xr_fail(&x, "request body: expected a JSON object");
		return NULL;
	}
	if ((out = json_object_new_object()) == NULL ||
	    (x.msgs = json_object_new_array()) == NULL ||
	    (x.calls = json_object_new_array()) == NULL ||
	    (x.loaded = json_object_new_object()) == NULL) {
		xr_nomem(&x);
		goto fail;
	}
	/* validation alone (count_tokens) sees the tools as xlate_req does */
	if (xr_server_history(&x, req) == -1)
		goto fail;
	if (xr_model(&x, req, out) == -1 ||
	    xr_max_tokens(&x, req, out) == -1 ||
	    xr_messages(&x, req, out) == -1 ||
	    xr_params(&x, req, stream, out) == -1 ||
	    xr_tools(&x, req, out) == -1)
		goto fail;
	goto done;
fail:
	json_object_put(out);
	out = NULL;
done:
	json_object_put(x.msgs);
	json_object_put(x.calls);
	json_object_put(x.loaded);
	if (x.hist != NULL) {
		srvhist_free(x.hist);
		free(x.hist);
	}
	buf_free(&x.system);
	return out;
}

json_object *
xlate_req(json_object *req, const struct model_route *route, int stream,
    const char *request_id, struct xlate_err *err)
{
	if (route == NULL || route->model == NULL || route->provider == NULL)
		fatalx("bug: xlate_req without a route");
	return xr_translate(req, route, stream, request_id, err);
}

int
xlate_req_check(json_object *req, struct xlate_err *err)
{
	json_object	*out;

	if ((out = xr_translate(req, NULL, 0, NULL, err)) == NULL)
		return -1;
	json_object_put(out);
	return 0;
}
