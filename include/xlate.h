/*
 * xlate: Anthropic Messages <-> OpenAI Chat Completions, non-streaming.
 * xlate_req.c builds the upstream request, xlate_resp.c translates the
 * upstream's answer (errmap.c words its errors). Both work on json-c trees.
 */
#ifndef CP_XLATE_H
#define CP_XLATE_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "buf.h"
#include "models.h"

struct xlate_err {
	int	 status;		/* HTTP status for the client */
	char	 type[40];		/* Anthropic error type */
	char	 message[512];		/* names the field: "messages[3].content[1].source.data: expected string" */
	int	 provider_limit;	/* xlate_req: this provider cannot take
					 * the request (a PDF); another may */
};

/* Anthropic request -> new OpenAI request (caller puts it), or NULL + err.
 * route->model->remote_id becomes "model"; stream adds stream:true and,
 * where the provider allows it, stream_options.include_usage. Every block
 * left out is logged with request_id (may be NULL). */
json_object *xlate_req(json_object *req, const struct model_route *route,
	    int stream, const char *request_id, struct xlate_err *);
/* the same validation without a route and with max_tokens optional, as
 * count_tokens needs: 0, or -1 + err (the same messages as xlate_req) */
int	 xlate_req_check(json_object *req, struct xlate_err *);
/* the request values xlate_req (and count_tokens) only ever serialise,
 * never read: tool schemas and tool_use inputs. A parser may keep them
 * as text (jsonparse's opaque paths). */
extern const char *const *const xlate_req_opaque[];

/* the bytes of Claude Code's attribution line ("x-anthropic-billing-header:
 * ...") at the start of a system text, its newline included (all of t
 * when it is the whole text), 0 when t does not start with it: providers
 * with strip_attribution leave them out, whatever their api */
size_t	 xlate_attribution_len(const char *t, size_t len);

/* OpenAI chat.completion -> Anthropic message, or NULL + err (502).
 * req, the client's request (may be NULL), gives the input estimate when
 * the upstream reports no usage, as streams do. */
json_object *xlate_resp(json_object *resp, const char *client_model,
	    json_object *req, struct xlate_err *);
/* the same for route's provider: Gemini's thought signatures on tool
 * calls ride in the tool_use ids (gsig.h), and the provider's
 * tool_call_repair applies */
json_object *xlate_resp_route(json_object *resp, const char *client_model,
	    json_object *req, const struct model_route *,
	    struct xlate_err *);

/* a thinking block's signature, "cpsig_" and 32 random characters: clients
 * only echo it back and xlate_req ignores it, but plain answers and
 * streams make it alike. outsz >= XLATE_SIG_SIZE */
#define XLATE_SIG_SIZE	40
void	 xlate_signature(char *out, size_t outsz);

/* the answer's parts every translator of upstream answers builds alike:
 * a function call {"name","arguments"} -> a tool_use block appended to
 * content (its id made unique there): 1 added, 0 dropped (arguments cut
 * short in a truncated answer, logged), -1 with err filled */
int	 xlate_tool_block(json_object *content, const char *id, json_object *fn,
	    int truncated, struct xlate_err *);
/* the bytes the model wrote into content (text, thinking, tool inputs),
 * for an output estimate when the upstream reports no usage */
size_t	 xlate_output_bytes(json_object *content);
/* a string of answer text (text, thinking) with every configured secret
 * masked; NULL when memory runs out */
json_object *xlate_answer_string(const char *s, size_t len);
/* the Anthropic message around content and usage (both taken, also on
 * failure); NULL when memory runs out */
json_object *xlate_message(json_object *content, const char *model,
	    const char *stop, const char *seq, json_object *usage);

/* finish_reason -> stop_reason ("end_turn" for NULL/unknown) */
const char *xlate_stop_reason(const char *finish_reason);

/* tool call ids: keep [A-Za-z0-9_-], others -> '_'; empty -> "toolu_" + random */
void	 xlate_tool_id(char *out, size_t outsz, const char *id);

/* a token count from an upstream's JSON: -1 if absent, negative or not a
 * number; capped at XLATE_COUNT_MAX (inf and huge values included) */
#define XLATE_COUNT_MAX	((int64_t)1000000000000000)
int64_t	 xlate_json_count(json_object *, const char *key);
/* o's member key when o is an object and the member has that type, else
 * NULL; xlate_json_str for a string member's text */
json_object *xlate_json_member(json_object *o, const char *key, json_type);
const char *xlate_json_str(json_object *o, const char *key);
/* the same rule for a number already read: an integer, or a double
 * (truncated; inf and NaN are -1) */
int64_t	 xlate_count_int(int64_t);
int64_t	 xlate_count_double(double);

/* fill err; the message is cut on a UTF-8 boundary to fit */
void	 xlate_err_set(struct xlate_err *, int status, const char *type,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
