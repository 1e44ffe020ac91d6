/*
 * jsonscan: JSON text -> a flat array of tokens, for readers that only look
 * values up (the streaming relay reads one upstream chunk per event). After
 * the first few texts nothing is allocated: the token array and the copy
 * of the text are reused and grow only for a text larger than any before.
 */
#ifndef CP_JSONSCAN_H
#define CP_JSONSCAN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "jsonlex.h"	/* struct jsonlex_err */

enum jsonscan_type {
	JSONSCAN_NULL, JSONSCAN_BOOL, JSONSCAN_NUMBER, JSONSCAN_STRING,
	JSONSCAN_OBJECT, JSONSCAN_ARRAY
};

struct jsonscan_tok {
	uint8_t		 type;		/* enum jsonscan_type */
	uint8_t		 flag;		/* bool: its value; number: has . or e */
	uint32_t	 start;		/* first byte in the text */
	uint32_t	 len;		/* bytes in the text */
	uint32_t	 next;		/* the token after this value's subtree */
	uint32_t	 n;		/* string: decoded bytes; container: values */
};

struct jsonscan {
	struct jsonscan_tok	*tok;		/* tok[0] is the whole value */
	size_t			 ntok, cap;
	const char		*src;		/* the text of the last scan */
	struct buf		 text;		/* its copy: strings decoded in
						 * place, every string and number
						 * NUL-terminated */
	struct buf		 scratch;	/* decoding */
};

#define JSONSCAN_INITIALIZER	{ NULL, 0, 0, NULL, BUF_INITIALIZER, \
				    BUF_INITIALIZER }

/*
 * Scans one JSON value that must fill text (whitespace around it allowed);
 * the same grammar and checks as jsonparse. 0, or -1 with *err filled.
 * Tokens and strings stay valid until the next scan; raw spans
 * (jsonscan_raw) only while text does.
 */
int		 jsonscan(struct jsonscan *, const char *text, size_t len,
		    int max_depth, int allow_ctrl, struct jsonlex_err *err);
void		 jsonscan_free(struct jsonscan *);

/* the type of value v; -1 (no value) is JSONSCAN_NULL */
int		 jsonscan_type(const struct jsonscan *, int v);
/* the value of member key of object v (the last one if repeated), or -1 */
int		 jsonscan_member(const struct jsonscan *, int v, const char *key);
/* the i-th value of array v, or -1 */
int		 jsonscan_index(const struct jsonscan *, int v, size_t i);
size_t		 jsonscan_count(const struct jsonscan *, int v);
/* string v decoded and NUL-terminated (it may hold NULs: *len), or NULL */
const char	*jsonscan_str(const struct jsonscan *, int v, size_t *len);
/* number v as json-c reads it: integers saturate to int64, doubles
 * truncate (0: not a number) */
int		 jsonscan_int64(const struct jsonscan *, int v, int64_t *);
int		 jsonscan_double(const struct jsonscan *, int v, double *);
/* the source text of v, as written */
const char	*jsonscan_raw(const struct jsonscan *, int v, size_t *len);

#endif
