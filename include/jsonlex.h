/*
 * jsonlex: the JSON lexer shared by jsonparse (json-c trees) and jsonscan
 * (flat token arrays).
 */
#ifndef CP_JSONLEX_H
#define CP_JSONLEX_H

#include <stddef.h>

#include "buf.h"

/* where a JSON text first went wrong, as jsonparse and jsonscan report it */
struct jsonlex_err {
	size_t		 offset;	/* byte of the first problem */
	const char	*what;		/* "unexpected character", ... */
	int		 eof;		/* the text ended inside a value */
};

struct jsonlex {
	const unsigned char	*s;		/* the text */
	size_t			 len, i;	/* its length, the position */
	int			 allow_ctrl;	/* raw control bytes in strings */
	int			 saw_ctrl;	/* ... seen in the last string */
	int			 saw_unpaired;	/* an escaped unpaired UTF-16
						 * surrogate was read (as U+FFFD)
						 * since the caller cleared it */
	struct jsonlex_err	*err;		/* the first error */
};

/* records the first error (at = its byte); always -1 */
int	 jsonlex_fail(struct jsonlex *, size_t at, const char *what);
void	 jsonlex_ws(struct jsonlex *);		/* skips JSON whitespace */
/*
 * The string whose opening quote is at i; i moves past its closing quote.
 * With dec != NULL its value is decoded into dec (an escape-free string is
 * not copied: *val points into the text, not NUL-terminated).
 */
int	 jsonlex_string(struct jsonlex *, struct buf *dec, const char **val,
	    size_t *vlen);
/* the length of the number at i (i does not move); *is_double: . or e */
int	 jsonlex_number(struct jsonlex *, size_t *n, int *is_double);
/* after a member or element: 1 past a ',', 0 past close ('}' or ']') */
int	 jsonlex_next(struct jsonlex *, char close);

#endif
