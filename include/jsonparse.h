/*
 * jsonparse: strict JSON text -> json-c tree, in one pass over the bytes.
 */
#ifndef CP_JSONPARSE_H
#define CP_JSONPARSE_H

#include <stddef.h>

#include <json-c/json.h>

#include "jsonlex.h"	/* struct jsonlex_err */

/*
 * An opaque path names values the caller only ever serialises, never
 * reads: a NULL-terminated list of member names, "*" for any array index.
 * A container found there is validated like any other value but kept as
 * its minified text: the tree holds an empty object or array of the same
 * type that serialises back to that text (jsonparse_is_opaque tells).
 */
typedef const char *const	 jsonparse_path[];

struct jsonparse_opts {
	int			  max_depth;	/* nesting limit, >= 1 */
	int			  allow_ctrl;	/* raw control bytes in strings */
	const char *const *const *opaque;	/* NULL-terminated, or NULL */
};

/*
 * Parses one JSON value from the front of text; *end is the byte after it
 * (trailing data is the caller's business). NULL with *err filled on bad
 * input or out of memory (what = "out of memory").
 */
json_object	*jsonparse(const char *text, size_t len,
		    const struct jsonparse_opts *, size_t *end,
		    struct jsonlex_err *err);
/*
 * One whole JSON text: jsonparse, then nothing but whitespace (space, tab,
 * LF, CR, as RFC 8259 says). Anything else after the value is an error
 * "unexpected characters after the top-level value" at its first byte.
 * As with jsonparse, NULL is also the text "null": err->what tells.
 */
json_object	*jsonparse_whole(const char *text, size_t len,
		    const struct jsonparse_opts *, struct jsonlex_err *err);
/* the first byte at or after i that is not JSON whitespace; len if none */
size_t		 jsonparse_skip_ws(const char *text, size_t len, size_t i);
int		 jsonparse_is_opaque(json_object *);

#endif
