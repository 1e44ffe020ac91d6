/*
 * listen.c: create the listening socket.
 *
 * One socket for all workers: they all block in accept() on it and Linux
 * wakes one. The accept queue belongs to the socket, so a worker that dies
 * or is replaced loses no queued connection. Failure is reported to the
 * caller (an address in use is a configuration problem, not a bug).
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"

#define LISTEN_BACKLOG	1024

static void
describe(const struct sockaddr *sa, char *out, size_t outsz)
{
	char	 host[INET6_ADDRSTRLEN];
	int	 port;

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		snprintf(out, outsz, "[%s]:%d", host, port);
	} else {
		const struct sockaddr_in *s4 = (const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
		snprintf(out, outsz, "%s:%d", host, port);
	}
}

int
listen_open(const char *host, int port, int defer_seconds, char *bound,
    size_t boundsz, char *err, size_t errsz)
{
	struct addrinfo		 hints, *res = NULL;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	char			 portstr[16];
	int			 fd = -1, on = 1, rv;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((rv = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		snprintf(err, errsz, "listen address %s: %s", host,
		    gai_strerror(rv));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC,
	    res->ai_protocol);
	if (fd == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1)
		goto fail;
	if (listen(fd, LISTEN_BACKLOG) == -1)
		goto fail;
	/* a connection that sends nothing never reaches (and occupies) a
	 * worker; best effort, the header deadline still bounds the rest */
	if (defer_seconds > 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT,
		    &defer_seconds, sizeof(defer_seconds));
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		goto fail;
	describe((struct sockaddr *)&ss, bound, boundsz);
	freeaddrinfo(res);
	return fd;
fail:
	snprintf(err, errsz, "listen on %s:%d: %s", host, port,
	    strerror(errno));
	if (fd != -1)
		close(fd);
	freeaddrinfo(res);
	return -1;
}
