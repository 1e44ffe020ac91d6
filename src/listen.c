/*
 * listen.c: create the listening socket, and drain it when the daemon
 * stops.
 *
 * One socket for all workers: they all block in accept() on it and Linux
 * wakes one. The accept queue belongs to the socket, so a worker that dies
 * or is replaced loses no queued connection. Failure is reported to the
 * caller (an address in use is a configuration problem, not a bug).
 *
 * The queue is as long as the kernel allows (net.core.somaxconn caps the
 * backlog asked for): a burst of connections waits there, each holding
 * its place, while the master forks the workers to take them. The master
 * learns how many wait from TCP_INFO, which for a listening socket gives
 * the accept queue's length (tcpi_unacked) and its limit (tcpi_sacked).
 *
 * No TCP_DEFER_ACCEPT: the kernel would hold a silent connection for up
 * to its own timeout before a worker saw it, and the worker's header
 * deadline would then start again, doubling header_timeout_seconds.
 *
 * Draining: closing a listening socket resets every connection still in
 * its accept queue, whose clients may already have sent a request. So at
 * a stop the socket first stops taking new connections (a socket filter
 * drops connection requests, which their clients retry and then find
 * refused) and gets a receive timeout that bounds accept(); the workers
 * accept and answer what is queued until accept() times out on an empty
 * queue, and only then is the socket closed.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>

#include <linux/filter.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"

#define LISTEN_BACKLOG	65535	/* the kernel caps it at somaxconn */
/* an empty queue stays empty this long before a stopping worker leaves:
 * a handshake already answered by the kernel completes within a round
 * trip and its connection must still find a worker */
#define DRAIN_WAIT_MS	250

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
listen_open(const char *host, int port, char *bound, size_t boundsz,
    char *err, size_t errsz)
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

int
listen_drain(int fd)
{
	/* TCP flags at byte 13 of the TCP header, where a socket filter's
	 * packet starts: drop a SYN without ACK, pass everything else (the
	 * handshakes under way complete) */
	static struct sock_filter	 drop_syn[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
	};
	struct sock_fprog	 prog = {
		sizeof(drop_syn) / sizeof(drop_syn[0]), drop_syn
	};
	struct timeval		 tv = { 0, DRAIN_WAIT_MS * 1000 };
	int			 rv = 0;

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
	    sizeof(prog)) == -1)
		rv = -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1)
		rv = -1;
	return rv;
}

int
listen_draining(int fd)
{
	struct timeval	 tv;
	socklen_t	 len = sizeof(tv);

	return getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len) == 0 &&
	    (tv.tv_sec != 0 || tv.tv_usec != 0);
}

int
listen_queued(int fd)
{
	struct tcp_info	 ti;
	socklen_t	 len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1 ||
	    len < offsetof(struct tcp_info, tcpi_unacked) +
	    sizeof(ti.tcpi_unacked) || ti.tcpi_state != TCP_LISTEN)
		return -1;
	return ti.tcpi_unacked > INT32_MAX ? INT32_MAX : (int)ti.tcpi_unacked;
}
