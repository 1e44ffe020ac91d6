/*
 * jsonfix: almost-JSON, as small models write it, made JSON: trailing
 * commas, single-quoted strings, raw control characters inside strings,
 * unquoted keys, Python's True/False/None.
 */
#ifndef CP_JSONFIX_H
#define CP_JSONFIX_H

#include <stddef.h>

#include <json-c/json.h>

#include "buf.h"

/* the text s rewritten into out (appended); what is not one of the
 * mistakes above is copied as it is, for the parser to refuse: 0, or -1
 * when memory runs out */
int	 jsonfix_text(const char *s, size_t len, struct buf *out);

/*
 * One JSON value from s: as it is when it is JSON, else after
 * jsonfix_text. NULL when even that does not parse (why says how, at
 * which byte of the fixed text), or when memory runs out (why = "out of
 * memory"). *fixed says whether the fix was needed.
 */
json_object *jsonfix_parse(const char *s, size_t len, int *fixed,
	    char *why, size_t whysz);

#endif
