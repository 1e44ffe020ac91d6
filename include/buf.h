/*
 * buf: a growable byte buffer that is always NUL-terminated.
 */
#ifndef CP_BUF_H
#define CP_BUF_H

#include <stddef.h>

struct buf {
	char	*data;		/* NULL until the first append */
	size_t	 len;		/* bytes in use, not counting the NUL */
	size_t	 cap;		/* bytes allocated */
};

#define BUF_INITIALIZER	{ NULL, 0, 0 }

int	 buf_reserve(struct buf *, size_t);	/* room for n more bytes + NUL */
int	 buf_append(struct buf *, const void *, size_t);
int	 buf_puts(struct buf *, const char *);
int	 buf_putc(struct buf *, char);
int	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_consume(struct buf *, size_t);	/* drop n bytes from the front */
void	 buf_reset(struct buf *);		/* len = 0, keeps memory */
void	 buf_free(struct buf *);
char	*buf_steal(struct buf *);		/* caller owns data; buf reset */

#endif
