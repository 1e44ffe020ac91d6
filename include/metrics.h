/*
 * metrics: GET /metrics in the Prometheus text format.
 */
#ifndef CP_METRICS_H
#define CP_METRICS_H

#include "buf.h"
#include "http_conn.h"

int	 metrics_handle(struct http_conn *, struct http_request *);
/* the exposition text from the scoreboard (for tests) */
int	 metrics_render(struct buf *);

#endif
