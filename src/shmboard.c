/*
 * shmboard.c: memory shared by the master and every worker it forks.
 *
 * The master maps a board before it forks, so every worker inherits the
 * same pages (MAP_SHARED | MAP_ANONYMOUS: no file, nothing left behind
 * when the last process exits). A board that needs a lock gets a
 * process-shared robust mutex: a worker killed while holding it (SIGKILL
 * included) cannot wedge the others, since the next locker is told
 * EOWNERDEAD and carries on. That is only sound because every user of a
 * board keeps it consistent at each store (the contract of each board's
 * module), so shmboard_lock marks the mutex consistent and goes on.
 *
 * Failure: shmboard_map gives NULL and shmboard_mutex_init -1; the caller
 * decides whether the feature can work without its board.
 */
#include <sys/mman.h>

#include <errno.h>
#include <pthread.h>

#include "shmboard.h"

void *
shmboard_map(size_t size)
{
	void	*p;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int
shmboard_mutex_init(pthread_mutex_t *lock)
{
	pthread_mutexattr_t	 a;
	int			 rv = -1;

	if (pthread_mutexattr_init(&a) != 0)
		return -1;
	if (pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) == 0 &&
	    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) == 0 &&
	    pthread_mutex_init(lock, &a) == 0)
		rv = 0;
	pthread_mutexattr_destroy(&a);
	return rv;
}

void
shmboard_lock(pthread_mutex_t *lock)
{
	if (pthread_mutex_lock(lock) == EOWNERDEAD)
		pthread_mutex_consistent(lock);
}
