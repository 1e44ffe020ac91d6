/*
 * resp: Anthropic Messages <-> the OpenAI Responses API (POST /v1/responses),
 * non-streaming. resp_req.c builds the upstream request, resp_resp.c
 * translates the upstream's answer, resp_sig.c carries a reasoning item
 * through a thinking block's signature and back. Errors of the Responses
 * API ({"error":{"message","type","code"}}) are those of Chat Completions:
 * errmap_http() words them. resp_stream.h is the streaming half.
 */
#ifndef CP_RESP_H
#define CP_RESP_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "buf.h"
#include "models.h"
#include "xlate.h"

/*
 * Anthropic request -> new Responses request (caller puts it), or NULL +
 * err with the same validation and messages as xlate_req. The model's
 * remote_id becomes "model"; stream adds "stream":true. store is false;
 * for a model configured for reasoning the encrypted reasoning is asked for
 * (include) and thinking blocks that carry it go back as reasoning items.
 * Every block left out is logged with request_id (may be NULL).
 */
json_object *resp_req(json_object *req, const struct model_route *route,
	    int stream, const char *request_id, struct xlate_err *);

/* the smallest max_output_tokens the Responses API takes */
#define RESP_MIN_OUTPUT_TOKENS	16

/*
 * A Responses answer (the "response" object) -> Anthropic message, or NULL
 * + err: a failed response is the upstream's error (errmap_http words
 * it, naming route's provider), an answer without output a 502.
 * req, the client's request (may be NULL), gives the input estimate when
 * the upstream reports no usage; route (may be NULL: no reasoning is
 * round-tripped) keys the thinking signatures.
 */
json_object *resp_resp(json_object *resp, const char *client_model,
	    json_object *req, const struct model_route *route,
	    struct xlate_err *);

/*
 * An error a Responses answer carries in its body (a failed response's
 * "error", an "error" stream event): {"code","message"} -> the client's
 * status, type and message, as if the upstream had answered the HTTP
 * status its code stands for (rate_limit_exceeded 429, server_error 500,
 * invalid input 400). code is the error's "code" (may be NULL), e the
 * error object's JSON text.
 */
void	 resp_error(const char *code, const char *e, size_t len,
	    const char *provider_name, struct xlate_err *);

/* ---- resp_sig.c: reasoning items through thinking signatures ---- */

/*
 * A signature "cprs_1_" + key + "_" + the item's encrypted_content. The key
 * (16 hex digits of a SHA-256 of the provider's name and the model's
 * remote_id) keeps a reasoning item from going to an upstream that cannot
 * decrypt it: another provider's, another model's.
 */
#define RESP_SIG_PREFIX		"cprs_1_"
#define RESP_SIG_KEY_SIZE	17		/* 16 hex digits and a NUL */
#define RESP_SIG_MAX		(1024 * 1024)	/* longer content: not kept */

void	 resp_sig_key(const struct model_route *, char key[RESP_SIG_KEY_SIZE]);
/* appends the signature for encrypted content enc (len bytes; NULL or
 * empty: none) under key (NULL: none): 1 when it carries enc, 0 when it is
 * a plain "cpsig_" one (nothing to carry, no key, or enc longer than
 * RESP_SIG_MAX), -1 when memory runs out */
int	 resp_sig_encode(struct buf *out, const char *key, const char *enc,
	    size_t len);
/* the encrypted content signature sig carries for key, or NULL with *why
 * saying why it cannot go back */
const char *resp_sig_decode(const char *sig, size_t len, const char *key,
	    size_t *enclen, const char **why);

#endif
