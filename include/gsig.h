/*
 * gsig: Gemini's thought signatures carried through Anthropic tool_use ids.
 *
 * Gemini (through its OpenAI-compatible endpoint) puts a thought signature
 * on tool calls, extra_content.google.thought_signature, and Gemini 3
 * refuses a later turn whose assistant tool calls come back without it.
 * Anthropic clients keep nothing of a tool call but its id, name and
 * input, so the signature rides inside the id (see gsig.c for why the id).
 */
#ifndef CP_GSIG_H
#define CP_GSIG_H

#include <stddef.h>

#include <json-c/json.h>

#include "buf.h"
#include "models.h"

#define GSIG_PREFIX	"cpgs1_"
#define GSIG_KEY_SIZE	17		/* 16 hex digits and a NUL */
#define GSIG_MAX	(64 * 1024)	/* longer signatures: not carried */

/* which upstream a signature belongs to: the provider and its model (the
 * same key as resp_sig's); NULL route: "" */
void	 gsig_key(const struct model_route *, char key[GSIG_KEY_SIZE]);

/*
 * The client's id for a call whose upstream id (already made an Anthropic
 * id: [A-Za-z0-9_-], non-empty) is id and whose thought signature is sig
 * (len bytes): appended to out. 1 carried, 0 not (no key, no signature,
 * or one longer than GSIG_MAX: out gets id as it is), -1 out of memory.
 */
int	 gsig_id_encode(struct buf *out, const char *key, const char *id,
	    const char *sig, size_t len);

/*
 * A client's id back: 0 it carries nothing (orig and sig untouched);
 * 1 it carries a signature for key (orig = the upstream's id, sig = the
 * signature); 2 it carries one for another provider or model (orig only:
 * the signature is not that upstream's to see); -1 out of memory.
 */
int	 gsig_id_decode(const char *id, const char *key, struct buf *orig,
	    struct buf *sig);

/* a client's id as the upstream should see it: the id it gave, whatever
 * signature rides along left out; a new reference to a string (id itself
 * when it carries nothing), NULL when memory runs out */
json_object *gsig_plain_id(json_object *id);

/* a Chat Completions tool call's extra_content.google.thought_signature,
 * or NULL */
const char *gsig_of_call(json_object *call, size_t *len);
/* call.extra_content = {"google":{"thought_signature":sig}}: 0 or -1 */
int	 gsig_put_call(json_object *call, const char *sig, size_t len);

#endif
