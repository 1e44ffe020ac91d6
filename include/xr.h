/*
 * xr: the parts of the request walker in xlate_req.c that the translators
 * of Anthropic requests share (xlate_req.c for Chat Completions, resp_req.c
 * for the Responses API): validation that names the JSON path, building
 * output values, the blocks both APIs take alike (text, images,
 * documents, blocks rendered as text), the folded system text, and the
 * parameters and tools in their Chat Completions form. One walker's rules
 * and error messages, whatever the upstream speaks.
 *
 * Every function fails with -1 and x->err filled (400 invalid_request_error
 * naming the path, or 500 when memory runs out), never otherwise.
 */
#ifndef CP_XR_H
#define CP_XR_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "buf.h"
#include "models.h"
#include "srvhist.h"
#include "xlate.h"

#define XR_PATH		160		/* longest JSON path we name */
#define XR_MAX_COUNT	INT32_MAX	/* json-c saturates huge integers */

enum { XR_OPTIONAL, XR_REQUIRED };

struct xr {
	const struct model_route *route;	/* NULL: validate only */
	const char		*rid;		/* request id for log lines */
	struct xlate_err	*err;
	struct buf		 system;	/* folded system text */
	json_object		*msgs;		/* Chat: the messages after the
						 * system message */
	json_object		*calls;		/* Chat: the last assistant's
						 * tool call ids */
	json_object		*loaded;	/* loaded deferred tools (keys) */
	/* Chat: the server tools offered as functions (SRVTOOL_BIT()s) and
	 * the results the conversation holds; 0 and NULL elsewhere, where
	 * server tools are dropped and their history is text */
	unsigned		 srv_offer;
	struct srvhist		*hist;
};

/* ---- errors, paths and typed members ---- */
int	 xr_fail(struct xr *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 xr_nomem(struct xr *);
/* out = path + "." + key / path + "[i]", cut with "..." */
void	 xr_key(char *out, size_t outsz, const char *path, const char *key);
void	 xr_index(char *out, size_t outsz, const char *path, size_t i);
/* obj[key] of type want ("field required" when required and absent; null
 * counts as absent when optional); *out NULL when absent */
int	 xr_member(struct xr *, json_object *obj, const char *path,
	    const char *key, json_type want, int required, json_object **out);
int	 xr_str(struct xr *, json_object *obj, const char *path,
	    const char *key, int required, json_object **out);
/* a content block: an object with a string "type" */
int	 xr_block(struct xr *, json_object *b, const char *path,
	    const char **type);
/* obj.content: a string or an array of blocks */
int	 xr_content(struct xr *, json_object *obj, const char *path,
	    int required, json_object **out);
/* the log line of a block left out of the translation */
void	 xr_drop(struct xr *, const char *path, const char *type,
	    const char *why);
/* a deferred tool the conversation has loaded (a call or a reference) */
int	 xr_load(struct xr *, json_object *name);

/* ---- building the output ---- */
/* obj[key] = val, taking val (NULL = allocation failed); key a literal */
int	 xr_add(struct xr *, json_object *obj, const char *key,
	    json_object *val);
int	 xr_push(struct xr *, json_object *arr, json_object *val);
/* a string of the request, shared by reference count ("" for NULL) */
json_object *xr_string(json_object *s);
/* b += sep + s, the separator only between two non-empty pieces */
int	 xr_join_text(struct xr *, struct buf *b, const char *sep,
	    const char *s, size_t len);
int	 xr_join(struct xr *, struct buf *b, const char *sep, json_object *s);

/* ---- content blocks, as Chat Completions parts ---- */
/* blocktext's rendering of b appended after sep: 1 done, 0 not such a
 * block, -1 out of memory */
int	 xr_render(struct xr *, json_object *b, const char *type,
	    struct buf *out, const char *sep);
/* a block of the user's own content (text, image, document, or text that
 * stands for another block) onto parts as a {"type":"text"},
 * {"type":"image_url"} or {"type":"file"} part; dropped blocks are logged */
int	 xr_user_part(struct xr *, json_object *b, const char *path,
	    const char *type, json_object *parts);
/* a tool_result's content: its text (joined by newlines) into body, its
 * images and PDFs as parts onto media */
int	 xr_result_body(struct xr *, json_object *content, const char *path,
	    struct buf *body, json_object *media);
/* system text (a string or text blocks) folded into x->system; strict for
 * the top-level "system" (only text blocks, Claude Code's attribution line
 * left out where the provider says so) */
int	 xr_system(struct xr *, json_object *v, const char *path, int strict);

/* ---- the rest of the request, in Chat Completions form ---- */
int	 xr_model(struct xr *, json_object *req, json_object *out);
/* max_tokens, capped at the model's limit */
int	 xr_max_tokens(struct xr *, json_object *req, json_object *out);
/* stream, temperature, top_p, top_k, stop, user, reasoning_effort */
int	 xr_params(struct xr *, json_object *req, int stream, json_object *out);
/* tools, tool_choice, parallel_tool_calls (after the messages: a tool the
 * conversation loaded goes upstream) */
int	 xr_tools(struct xr *, json_object *req, json_object *out);

#endif
