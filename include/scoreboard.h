/*
 * scoreboard: counters shared between the workers and the master
 * (anonymous shared memory mapped before the first fork).
 */
#ifndef CP_SCOREBOARD_H
#define CP_SCOREBOARD_H

#include <stdint.h>

int	 scoreboard_init(void);		/* master, before forking */
void	 scoreboard_request_done(void);	/* worker, after each request */
uint64_t scoreboard_requests(void);	/* requests served, all workers */

#endif
