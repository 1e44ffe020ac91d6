/*
 * fork_relay.c: the cheapest possible server of claude-proxy's design,
 * for the concurrent-stream benchmark (bench/run.sh --streams N).
 *
 * A parent forks --workers processes that each block in accept() on one
 * shared listening socket and serve one connection at a time, as
 * claude-proxy's workers do, but with no translation at all: the client's
 * request is sent to the upstream byte for byte and the answer relayed
 * back as it comes, one read and one write per upstream event, the wait a
 * poll() on both sockets. What this costs at N streams is the floor of the
 * process-per-stream design on this machine, as nginx's proxy_pass is the
 * floor of an event loop: claude-proxy cannot relay an event for less.
 *
 * Listens on 127.0.0.1 (a free port), prints "port N" on stdout when every
 * worker is ready; SIGTERM ends the parent and with it the workers. The
 * client must send Content-Length; the upstream's answer ends with its
 * last chunk ("0\r\n\r\n"), after which both connections are closed.
 */
#define _GNU_SOURCE
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define IN_MAX	(256 * 1024)

static int	 upstream_port;

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* the whole request: head and Content-Length bytes of body */
static ssize_t
read_request(int fd, char *in)
{
	size_t	 len = 0, want = 0;
	ssize_t	 r;
	char	*end, *cl;

	for (;;) {
		if (len == IN_MAX)
			return -1;
		if ((r = read(fd, in + len, IN_MAX - len)) <= 0)
			return -1;
		len += (size_t)r;
		in[len < IN_MAX ? len : IN_MAX - 1] = '\0';
		if (want == 0 && (end = strstr(in, "\r\n\r\n")) != NULL) {
			want = (size_t)(end + 4 - in);
			if ((cl = strcasestr(in, "\r\ncontent-length:")) != NULL &&
			    cl < end)
				want += strtoul(cl + 17, NULL, 10);
		}
		if (want > 0 && len >= want)
			return (ssize_t)len;
	}
}

static int
connect_upstream(void)
{
	struct sockaddr_in	 sin;
	int			 fd, on = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(upstream_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	return fd;
}

static void
serve(int cfd, char *buf)
{
	struct pollfd	 pfd[2];
	ssize_t		 n, r;
	int		 ufd, on = 1;
	char		 tail[5] = "";

	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if ((n = read_request(cfd, buf)) == -1 ||
	    (ufd = connect_upstream()) == -1)
		return;
	if (write_all(ufd, buf, (size_t)n) == -1) {
		close(ufd);
		return;
	}
	pfd[0].fd = ufd;
	pfd[1].fd = cfd;
	pfd[0].events = pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, 60000) <= 0 || pfd[1].revents != 0)
			break;		/* idle, or the client left */
		if ((r = read(ufd, buf, IN_MAX)) <= 0 ||
		    write_all(cfd, buf, (size_t)r) == -1)
			break;
		/* the last chunk, also when split across reads */
		if (r >= 5)
			memcpy(tail, buf + r - 5, 5);
		else {
			memmove(tail, tail + r, 5 - (size_t)r);
			memcpy(tail + 5 - r, buf, (size_t)r);
		}
		if (memcmp(tail, "0\r\n\r\n", 5) == 0)
			break;
	}
	close(ufd);
}

static void
worker(int lfd)
{
	char	*buf = malloc(IN_MAX);
	int	 cfd;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (buf == NULL)
		_exit(1);
	for (;;) {
		if ((cfd = accept(lfd, NULL, NULL)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			_exit(1);
		}
		serve(cfd, buf);
		close(cfd);
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	int			 lfd, i, workers = 0, on = 1;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--workers") == 0)
			workers = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--upstream-port") == 0)
			upstream_port = atoi(argv[i + 1]);
	}
	if (workers <= 0 || upstream_port <= 0 || i != argc) {
		fprintf(stderr, "usage: fork_relay --workers N "
		    "--upstream-port P\n");
		return 2;
	}
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 65535) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &sl) == -1) {
		perror("fork_relay: listen");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < workers; i++) {
		switch (fork()) {
		case -1:
			perror("fork_relay: fork");
			return 1;
		case 0:
			worker(lfd);
		}
	}
	printf("port %d\n", ntohs(sin.sin_port));
	fflush(stdout);
	for (;;)
		if (wait(NULL) == -1 && errno == ECHILD)
			return 0;
}
