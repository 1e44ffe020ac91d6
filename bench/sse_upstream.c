/*
 * sse_upstream.c: a paced fake OpenAI upstream for the concurrent-stream
 * benchmark (bench/run.sh --streams N).
 *
 * Every POST gets a chunked text/event-stream answer: a role chunk at
 * once, then --events content chunks (" tok0", " tok1", ...) one every
 * --interval-ms, then a finish chunk, a usage chunk and "data: [DONE]".
 * Each stream is paced from its own start, so a late tick is caught up
 * rather than pushed back. Connections are kept alive.
 *
 * One thread, epoll, non-blocking sockets. Streams wait in one FIFO
 * ordered by their next due time: every stream has the same interval, so
 * a stream that has sent its event goes to the back and the order holds.
 * The loop sleeps until the head of the FIFO is due.
 *
 * Listens on 127.0.0.1 (a free port unless --port), prints "port N" on
 * stdout when ready. SIGTERM or SIGINT stops it; it then prints one JSON
 * line: connections, requests, streams completed and aborted, the most
 * streams at once, how late events were sent (the proof that this server
 * kept its pace), and its own CPU time.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define IN_MAX		(256 * 1024)	/* a request head and body */
#define LATE_BUCKETS	8		/* 1, 2, 5, 10, 20, 50, 100 ms, more */

struct conn {
	int		 fd;
	int		 streaming;	/* answering; else reading a request */
	int		 queued;	/* in the FIFO */
	int		 sent;		/* content events sent */
	uint64_t	 start_us;	/* of this stream */
	char		*in;		/* the request being read */
	size_t		 inlen;
	char		*out;		/* not yet accepted by the socket */
	size_t		 outlen, outcap;
};

static struct {
	int		 port, events, interval_ms, backlog;
} opt = { 0, 200, 50, 65535 };

static struct {
	unsigned long long connections, requests, completed, aborted,
	    events, bad_requests;
	int		 active, max_active;
	uint64_t	 late_max_us;
	unsigned long long late[LATE_BUCKETS];
} st;

static volatile sig_atomic_t	 stop;
static int			 ep;
/* closed connections, freed after the epoll batch that may name them */
static struct conn		**dead;
static size_t			 ndead, dead_cap;

/* the FIFO of streams waiting for their next event */
static struct conn		**fifo;
static size_t			 fifo_cap, fifo_head, fifo_len;

static uint64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
die(const char *what)
{
	fprintf(stderr, "sse_upstream: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL)
		die("realloc");
	return p;
}

static void
fifo_push(struct conn *c)
{
	if (fifo_len == fifo_cap) {
		size_t	 ncap = fifo_cap ? fifo_cap * 2 : 1024, i;
		struct conn **n = xrealloc(NULL, ncap * sizeof(*n));
		for (i = 0; i < fifo_len; i++)
			n[i] = fifo[(fifo_head + i) % fifo_cap];
		free(fifo);
		fifo = n;
		fifo_cap = ncap;
		fifo_head = 0;
	}
	fifo[(fifo_head + fifo_len++) % fifo_cap] = c;
	c->queued = 1;
}

static struct conn *
fifo_peek(void)
{
	return fifo_len ? fifo[fifo_head] : NULL;
}

static void
fifo_pop(void)
{
	fifo[fifo_head]->queued = 0;
	fifo_head = (fifo_head + 1) % fifo_cap;
	fifo_len--;
}

static void	 conn_close_late(struct conn *);

static uint64_t
due_us(const struct conn *c)
{
	return c->start_us + (uint64_t)(c->sent + 1) * opt.interval_ms * 1000;
}

static void
conn_close(struct conn *c)
{
	if (c->streaming) {
		st.aborted++;
		st.active--;
	}
	close(c->fd);
	c->fd = -1;		/* freed when it leaves the FIFO, or now */
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	if (!c->queued)
		conn_close_late(c);
}

static void
conn_close_late(struct conn *c)
{
	if (ndead == dead_cap) {
		dead_cap = dead_cap ? dead_cap * 2 : 256;
		dead = xrealloc(dead, dead_cap * sizeof(*dead));
	}
	dead[ndead++] = c;
}

/* queue bytes; write what the socket takes; -1: the peer is gone */
static int
send_bytes(struct conn *c, const char *p, size_t n)
{
	ssize_t	 w;

	if (c->outlen == 0) {
		while (n > 0) {
			w = send(c->fd, p, n, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				return -1;
			}
			p += w;
			n -= (size_t)w;
		}
		if (n == 0)
			return 0;
	}
	if (c->outlen + n > c->outcap) {
		c->outcap = (c->outlen + n) * 2;
		c->out = xrealloc(c->out, c->outcap);
	}
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	return 0;
}

static int
flush_out(struct conn *c)
{
	ssize_t	 w;
	size_t	 off = 0;

	while (off < c->outlen) {
		w = send(c->fd, c->out + off, c->outlen - off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		off += (size_t)w;
	}
	memmove(c->out, c->out + off, c->outlen - off);
	c->outlen -= off;
	if (c->outlen == 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	}
	return 0;
}

/* one SSE data payload as one HTTP chunk */
static size_t
frame(char *out, size_t outsz, const char *payload)
{
	size_t	 n = strlen(payload) + 8;	/* "data: " ... "\n\n" */

	return (size_t)snprintf(out, outsz, "%zx\r\ndata: %s\n\n\r\n", n,
	    payload);
}

#define CHUNK_ID "\"id\":\"chatcmpl-slow\",\"object\":\"chat.completion.chunk\"," \
	"\"created\":1700000000,\"model\":\"bench-slow-remote\""

static int
send_head(struct conn *c)
{
	char	 buf[1024];
	size_t	 n;

	n = (size_t)snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n");
	n += frame(buf + n, sizeof(buf) - n, "{" CHUNK_ID ",\"choices\":"
	    "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
	    "\"finish_reason\":null}]}");
	return send_bytes(c, buf, n);
}

static int
send_event(struct conn *c)
{
	char	 payload[512], buf[640];

	snprintf(payload, sizeof(payload), "{" CHUNK_ID ",\"choices\":"
	    "[{\"index\":0,\"delta\":{\"content\":\" tok%d\"},"
	    "\"finish_reason\":null}]}", c->sent);
	return send_bytes(c, buf, frame(buf, sizeof(buf), payload));
}

static int
send_end(struct conn *c)
{
	char	 buf[2048], payload[512];
	size_t	 n;

	n = frame(buf, sizeof(buf), "{" CHUNK_ID ",\"choices\":[{\"index\":0,"
	    "\"delta\":{},\"finish_reason\":\"stop\"}]}");
	snprintf(payload, sizeof(payload), "{" CHUNK_ID ",\"choices\":[],"
	    "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":%d,"
	    "\"total_tokens\":%d}}", opt.events, 10 + opt.events);
	n += frame(buf + n, sizeof(buf) - n, payload);
	n += frame(buf + n, sizeof(buf) - n, "[DONE]");
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "0\r\n\r\n");
	return send_bytes(c, buf, n);
}

/* bytes of a complete request in c->in, 0 if not yet, -1 if bad */
static long
request_size(const struct conn *c)
{
	const char	*end, *p, *line;
	long		 len = 0;
	int		 chunked = 0;

	end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
	if (end == NULL)
		return c->inlen >= IN_MAX ? -1 : 0;
	for (line = c->in; line < end; line = p + 2) {
		if ((p = memmem(line, (size_t)(end + 2 - line), "\r\n", 2)) ==
		    NULL)
			break;
		if ((size_t)(p - line) > 15 &&
		    strncasecmp(line, "content-length:", 15) == 0)
			len = strtol(line + 15, NULL, 10);
		else if ((size_t)(p - line) > 18 &&
		    strncasecmp(line, "transfer-encoding:", 18) == 0 &&
		    memmem(line, (size_t)(p - line), "chunked", 7) != NULL)
			chunked = 1;
	}
	end += 4;
	if (chunked) {
		const char *t = memmem(end, c->inlen - (size_t)(end - c->in),
		    "\r\n0\r\n\r\n", 7);
		if (t == NULL && c->inlen - (size_t)(end - c->in) >= 5 &&
		    memcmp(end, "0\r\n\r\n", 5) == 0)
			return end + 5 - c->in;
		if (t == NULL)
			return c->inlen >= IN_MAX ? -1 : 0;
		return t + 7 - c->in;
	}
	if (len < 0 || len > IN_MAX)
		return -1;
	if ((long)c->inlen - (end - c->in) < len)
		return 0;
	return (end - c->in) + len;
}

static void
start_stream(struct conn *c, uint64_t now)
{
	st.requests++;
	c->streaming = 1;
	c->sent = 0;
	c->start_us = now;
	if (++st.active > st.max_active)
		st.max_active = st.active;
	if (send_head(c) == -1) {
		conn_close(c);
		return;
	}
	fifo_push(c);
}

static void
on_readable(struct conn *c)
{
	char	 buf[16384];
	ssize_t	 r;
	long	 n;

	for (;;) {
		r = recv(c->fd, buf, sizeof(buf), 0);
		if (r == 0) {
			conn_close(c);
			return;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_close(c);
			return;
		}
		c->in = xrealloc(c->in, c->inlen + (size_t)r);
		memcpy(c->in + c->inlen, buf, (size_t)r);
		c->inlen += (size_t)r;
	}
	if (c->streaming || c->inlen == 0)
		return;
	if ((n = request_size(c)) == -1) {
		st.bad_requests++;
		conn_close(c);
		return;
	}
	if (n > 0) {
		memmove(c->in, c->in + n, c->inlen - (size_t)n);
		c->inlen -= (size_t)n;
		start_stream(c, now_us());
	}
}

static void
note_late(uint64_t late)
{
	static const uint64_t bounds[LATE_BUCKETS - 1] = { 1000, 2000, 5000,
		10000, 20000, 50000, 100000 };
	int	 i;

	for (i = 0; i < LATE_BUCKETS - 1; i++)
		if (late <= bounds[i])
			break;
	st.late[i]++;
	if (late > st.late_max_us)
		st.late_max_us = late;
}

/* send every event that is due; the time until the next one, in ms */
static int
tick(void)
{
	struct conn	*c;
	uint64_t	 now = now_us(), due;

	while ((c = fifo_peek()) != NULL) {
		if (c->fd == -1) {		/* closed while waiting */
			fifo_pop();
			conn_close_late(c);
			continue;
		}
		due = due_us(c);
		if (due > now) {
			now = now_us();
			if (due > now)
				return (int)((due - now + 999) / 1000);
		}
		fifo_pop();
		note_late(now - due);
		if (send_event(c) == -1) {
			conn_close(c);
			continue;
		}
		st.events++;
		if (++c->sent < opt.events) {
			fifo_push(c);
			continue;
		}
		if (send_end(c) == -1) {
			conn_close(c);
			continue;
		}
		c->streaming = 0;
		st.active--;
		st.completed++;
		if (c->inlen > 0) {	/* a request arrived meanwhile */
			long n = request_size(c);
			if (n > 0) {
				memmove(c->in, c->in + n, c->inlen - (size_t)n);
				c->inlen -= (size_t)n;
				start_stream(c, now_us());
			}
		}
	}
	return -1;
}

static void
accept_all(int lfd)
{
	struct conn	*c;
	int		 fd, on = 1;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				fprintf(stderr, "sse_upstream: accept: %s\n",
				    strerror(errno));
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		if ((c = calloc(1, sizeof(*c))) == NULL)
			die("calloc");
		c->fd = fd;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
			die("epoll_ctl");
		st.connections++;
	}
}

static void
on_signal(int s)
{
	(void)s;
	stop = 1;
}

static void
report(void)
{
	struct rusage	 ru;
	int		 i;

	getrusage(RUSAGE_SELF, &ru);
	printf("{\"connections\":%llu,\"requests\":%llu,\"completed\":%llu,"
	    "\"aborted\":%llu,\"bad_requests\":%llu,\"max_concurrent\":%d,"
	    "\"events\":%llu,\"late_max_ms\":%.3f,\"late_ms_buckets\":{",
	    st.connections, st.requests, st.completed, st.aborted,
	    st.bad_requests, st.max_active, st.events, st.late_max_us / 1000.0);
	for (i = 0; i < LATE_BUCKETS; i++)
		printf("%s\"%s\":%llu", i ? "," : "", (const char *[]){ "1", "2",
		    "5", "10", "20", "50", "100", "inf" }[i], st.late[i]);
	printf("},\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f}\n",
	    ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	fflush(stdout);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in	 sin;
	struct epoll_event	 evs[512];
	struct sigaction	 sa;
	socklen_t		 len = sizeof(sin);
	int			 lfd, on = 1, i, n, wait;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--port") == 0)
			opt.port = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--events") == 0)
			opt.events = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--interval-ms") == 0)
			opt.interval_ms = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--backlog") == 0)
			opt.backlog = atoi(argv[i + 1]);
		else
			break;
	}
	if (i != argc || opt.events < 1 || opt.interval_ms < 1) {
		fprintf(stderr, "usage: sse_upstream [--port N] [--events N] "
		    "[--interval-ms N] [--backlog N]\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)opt.port);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("bind");
	if (listen(lfd, opt.backlog) == -1)
		die("listen");
	if (getsockname(lfd, (struct sockaddr *)&sin, &len) == -1)
		die("getsockname");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1");
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) == -1)
		die("epoll_ctl");
	printf("port %d\n", ntohs(sin.sin_port));
	fflush(stdout);

	wait = -1;
	while (!stop) {
		n = epoll_wait(ep, evs, sizeof(evs) / sizeof(evs[0]), wait);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c == NULL) {
				accept_all(lfd);
				continue;
			}
			if (c->fd == -1)
				continue;
			if ((evs[i].events & EPOLLOUT) && flush_out(c) == -1) {
				conn_close(c);
				continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_readable(c);
		}
		wait = tick();
		while (ndead > 0)
			free(dead[--ndead]);
	}
	report();
	return 0;
}
