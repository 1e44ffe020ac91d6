/*
 * shmboard: memory shared by the master and the workers it forks, and the
 * lock that guards it. See src/shmboard.c.
 */
#ifndef CP_SHMBOARD_H
#define CP_SHMBOARD_H

#include <pthread.h>
#include <stddef.h>

/* size bytes of zeroed MAP_SHARED anonymous memory; NULL on failure */
void	*shmboard_map(size_t size);
/* a process-shared, robust mutex at lock (inside a mapped board); -1 on
 * failure */
int	 shmboard_mutex_init(pthread_mutex_t *lock);
/* takes lock, also when its last holder died holding it */
void	 shmboard_lock(pthread_mutex_t *lock);

#endif
