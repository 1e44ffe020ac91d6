/*
 * keystats: /metrics by client key and model, and by route, in shared
 * memory every worker adds to.
 */
#ifndef CP_KEYSTATS_H
#define CP_KEYSTATS_H

#include <stdint.h>

#include "buf.h"

enum { KS_REQUESTS, KS_ERRORS, KS_INPUT, KS_OUTPUT, KS_CACHE_READ,
	KS_CACHE_CREATION, KS_SERVER_TOOLS, KS_NCOUNTERS };

int	 keystats_init(void);		/* master, before forking */
/* add n[KS_NCOUNTERS] to the row of (key name, model id) */
void	 keystats_add(const char *key, const char *model, const uint64_t *n);
/* one more request whose model the route chose */
void	 keystats_route(const char *route, const char *model);
/* the Prometheus families */
void	 keystats_render(struct buf *);

#endif
