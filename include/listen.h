/*
 * listen: the one listening socket, bound by the master, inherited by all
 * workers.
 */
#ifndef CP_LISTEN_H
#define CP_LISTEN_H

#include <stddef.h>

/* bind host:port (port 0 = any free port); -1 with err filled on failure.
 * defer_seconds: TCP_DEFER_ACCEPT, connections that send nothing wait in
 * the kernel, not in a worker. bound receives "127.0.0.1:8888". */
int	 listen_open(const char *host, int port, int defer_seconds,
	    char *bound, size_t boundsz, char *err, size_t errsz);

#endif
