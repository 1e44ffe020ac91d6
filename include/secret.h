/*
 * secret: the one place that keeps credentials out of what the proxy says
 * to clients and writes to logs.
 */
#ifndef CP_SECRET_H
#define CP_SECRET_H

#include <stddef.h>

#include "buf.h"

/* append s with anything that looks like a credential (Bearer tokens,
 * sk-... keys, key=... parameters, long random strings) replaced by *** */
void	 secret_mask(struct buf *out, const char *s, size_t len);

#endif
