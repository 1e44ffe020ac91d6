/*
 * scoreboard.c: process-shared counters.
 *
 * One page of MAP_SHARED anonymous memory, mapped by the master before it
 * forks, so every worker of every generation updates the same counters
 * with atomic adds and the master reads them for systemd's STATUS line.
 * Without it (mapping failed, or a unit test) the functions do nothing.
 */
#include <sys/mman.h>

#include <stddef.h>

#include "scoreboard.h"

struct scoreboard {
	uint64_t	 requests;
};

static struct scoreboard	*board;

int
scoreboard_init(void)
{
	void	*p;

	p = mmap(NULL, sizeof(*board), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	board = p;
	return 0;
}

void
scoreboard_request_done(void)
{
	if (board != NULL)
		__atomic_add_fetch(&board->requests, 1, __ATOMIC_RELAXED);
}

uint64_t
scoreboard_requests(void)
{
	return board ? __atomic_load_n(&board->requests, __ATOMIC_RELAXED) : 0;
}
