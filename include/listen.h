/*
 * listen: the one listening socket, bound by the master, inherited by all
 * workers.
 */
#ifndef CP_LISTEN_H
#define CP_LISTEN_H

#include <stddef.h>

/* bind host:port (port 0 = any free port); -1 with err filled on failure.
 * bound receives "127.0.0.1:8888". */
int	 listen_open(const char *host, int port, char *bound, size_t boundsz,
	    char *err, size_t errsz);
/* the daemon stops: take no new connection, keep the queued ones, and
 * bound accept() so workers that find the queue empty return (EAGAIN);
 * -1 (errno set) when the kernel refused either */
int	 listen_drain(int fd);
/* has listen_drain run on fd? (async-signal-safe: one getsockopt) */
int	 listen_draining(int fd);
/* connections in fd's accept queue that no worker has taken yet, or -1
 * when the kernel does not say (the pool grows by this much) */
int	 listen_queued(int fd);

#endif
