/*
 * sse_load.c: open N streaming requests in one burst and read each to its
 * end (bench/run.sh --streams N).
 *
 * All N connections are started at once (non-blocking connect in a loop),
 * each sends its request as soon as it is connected, and one thread reads
 * every answer with epoll: chunked, Content-Length or close-delimited
 * bodies. A stream is complete when it answered 200, its decoded body
 * holds exactly --expect occurrences of the --count marker, holds the
 * --end marker and no --fail marker, and its body ended properly.
 *
 * Times are taken from just before a stream's connect(): first byte (the
 * first byte of the response head), first event (the first --count
 * marker) and duration (the end of the body). The largest gap between two
 * reads that brought events shows whether events kept their pace.
 * Everything is bounded by --deadline seconds.
 *
 * Prints one JSON object on stdout, with its own CPU time, so a run can
 * show that this client was not the limit.
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX	(64 * 1024)
#define MAX_HEADERS	16
#define MARK_MAX	128

enum phase { CONNECTING, HEAD, CHUNK_SIZE, CHUNK_DATA, CHUNK_CRLF, TRAILER,
	BODY_LENGTH, BODY_CLOSE, DONE };

struct stream {
	int		 fd;
	enum phase	 phase;
	size_t		 sent;		/* request bytes written */
	char		*head;		/* response head so far */
	size_t		 headlen;
	int		 status;
	uint64_t	 left;		/* chunk or body bytes left */
	char		 line[64];	/* a chunk-size line or trailer line */
	size_t		 linelen;
	/* the last bytes of decoded body, so markers split between reads
	 * are found (a match is counted once: when its last byte arrives) */
	char		 tail[MARK_MAX];
	size_t		 taillen;
	long		 count;
	int		 end_seen, fail_seen;
	uint64_t	 t0, t_byte, t_event, t_last_event, t_end;
	uint64_t	 max_gap;
	const char	*error;
	char		 status_error[16];	/* "status 429" */
};

static struct {
	const char	*host, *path, *body_file, *count, *end, *fail;
	const char	*headers[MAX_HEADERS];
	int		 nheaders, port, streams;
	long		 expect;
	double		 deadline;
} opt = { "127.0.0.1", "/v1/messages", NULL, NULL, NULL, NULL, { 0 }, 0,
	0, 1, -1, 120 };

static char	*request;
static size_t	 request_len;
static size_t	 maxmark;
static int	 ep;

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
	fprintf(stderr, "sse_load: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
usage(void)
{
	fprintf(stderr, "usage: sse_load --port N --streams N --body-file F "
	    "--count MARK --expect N --end MARK [--fail MARK] [--path P] "
	    "[--header 'K: V']... [--deadline S]\n");
	exit(2);
}

static void
build_request(void)
{
	FILE	*f;
	char	*body = NULL;
	size_t	 bodylen = 0, cap = 0, n;
	int	 i, len;

	if ((f = fopen(opt.body_file, "rb")) == NULL)
		die(opt.body_file);
	for (;;) {
		if (bodylen == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((body = realloc(body, cap)) == NULL)
				die("realloc");
		}
		if ((n = fread(body + bodylen, 1, cap - bodylen, f)) == 0)
			break;
		bodylen += n;
	}
	fclose(f);
	request_len = 0;
	for (i = 0; i < opt.nheaders; i++)
		request_len += strlen(opt.headers[i]) + 2;
	request_len += strlen(opt.path) + bodylen + 256;
	if ((request = malloc(request_len)) == NULL)
		die("malloc");
	len = snprintf(request, request_len, "POST %s HTTP/1.1\r\nHost: %s:%d"
	    "\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n",
	    opt.path, opt.host, opt.port, bodylen);
	for (i = 0; i < opt.nheaders; i++)
		len += snprintf(request + len, request_len - (size_t)len,
		    "%s\r\n", opt.headers[i]);
	len += snprintf(request + len, request_len - (size_t)len, "\r\n");
	memcpy(request + len, body, bodylen);
	request_len = (size_t)len + bodylen;
	free(body);
}

static void
finish(struct stream *s, const char *error)
{
	if (s->phase == DONE)
		return;
	s->phase = DONE;
	s->t_end = now_us();
	if (error == NULL) {
		if (s->status != 200) {
			snprintf(s->status_error, sizeof(s->status_error),
			    "status %d", s->status);
			error = s->status_error;
		}
		else if (s->fail_seen)
			error = "fail marker";
		else if (!s->end_seen)
			error = "no end marker";
		else if (s->count != opt.expect)
			error = "event count";
	}
	s->error = error;
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	free(s->head);
	s->head = NULL;
}

/* occurrences of mark in p[0..n) that end past p[old]: the bytes before
 * old were searched with the previous read */
static long
count_in(const char *p, size_t n, size_t old, const char *mark)
{
	size_t	 m = strlen(mark);
	const char *q, *from = p, *end = p + n;
	long	 k = 0;

	while ((q = memmem(from, (size_t)(end - from), mark, m)) != NULL) {
		if ((size_t)(q + m - p) > old)
			k++;
		from = q + 1;
	}
	return k;
}

/* decoded body bytes */
static void
body(struct stream *s, const char *p, size_t n, uint64_t now)
{
	char	 scratch[MARK_MAX + 65536];
	size_t	 len, keep;
	long	 k;

	while (n > 0) {
		size_t take = n > 65536 ? 65536 : n;
		memcpy(scratch, s->tail, s->taillen);
		memcpy(scratch + s->taillen, p, take);
		len = s->taillen + take;
		k = count_in(scratch, len, s->taillen, opt.count);
		if (k > 0) {
			if (s->count == 0)
				s->t_event = now;
			else if (now - s->t_last_event > s->max_gap)
				s->max_gap = now - s->t_last_event;
			s->t_last_event = now;
			s->count += k;
		}
		if (!s->end_seen && count_in(scratch, len, s->taillen, opt.end) > 0)
			s->end_seen = 1;
		if (opt.fail && !s->fail_seen &&
		    count_in(scratch, len, s->taillen, opt.fail) > 0)
			s->fail_seen = 1;
		keep = len < maxmark - 1 ? len : maxmark - 1;
		memcpy(s->tail, scratch + len - keep, keep);
		s->taillen = keep;
		p += take;
		n -= take;
	}
}

/* the response head is complete in s->head[0..end) */
static int
parse_head(struct stream *s, size_t end)
{
	char	*p = s->head, *e = s->head + end, *nl;
	int	 chunked = 0;
	long long len = -1;

	if (end < 12 || strncmp(p, "HTTP/1.", 7) != 0)
		return -1;
	s->status = atoi(p + 9);
	while ((nl = memmem(p, (size_t)(e - p), "\r\n", 2)) != NULL &&
	    nl + 2 < e) {
		p = nl + 2;
		if (strncasecmp(p, "transfer-encoding:", 18) == 0 &&
		    memmem(p, (size_t)(e - p), "chunked", 7) != NULL &&
		    (char *)memmem(p, (size_t)(e - p), "chunked", 7) <
		    (char *)memmem(p, (size_t)(e - p), "\r\n", 2))
			chunked = 1;
		else if (strncasecmp(p, "content-length:", 15) == 0)
			len = atoll(p + 15);
	}
	if (chunked)
		s->phase = CHUNK_SIZE;
	else if (len >= 0) {
		s->phase = BODY_LENGTH;
		s->left = (uint64_t)len;
	} else
		s->phase = BODY_CLOSE;
	return 0;
}

/* feed response bytes; returns with s->phase == DONE at the end */
static void
feed(struct stream *s, const char *p, size_t n, uint64_t now)
{
	while (n > 0 && s->phase != DONE) {
		switch (s->phase) {
		case HEAD: {
			size_t	 from = s->headlen > 3 ? s->headlen - 3 : 0;
			size_t	 take = n;
			char	*end;
			if (s->headlen + take > HEAD_MAX)
				take = HEAD_MAX - s->headlen;
			if (take == 0) {
				finish(s, "head too long");
				return;
			}
			memcpy(s->head + s->headlen, p, take);
			s->headlen += take;
			end = memmem(s->head + from, s->headlen - from,
			    "\r\n\r\n", 4);
			if (end == NULL) {
				p += take;
				n -= take;
				break;
			}
			size_t hl = (size_t)(end + 4 - s->head);
			size_t rest = s->headlen - hl;
			if (parse_head(s, hl) == -1) {
				finish(s, "bad head");
				return;
			}
			/* bytes of this read past the head */
			p += take - rest;
			n -= take - rest;
			break;
		}
		case CHUNK_SIZE:
		case CHUNK_CRLF:
		case TRAILER: {
			char	 c = *p++;
			n--;
			if (s->linelen >= sizeof(s->line) - 1) {
				finish(s, "bad chunk");
				return;
			}
			s->line[s->linelen++] = c;
			if (c != '\n')
				break;
			s->line[s->linelen] = '\0';
			if (s->phase == CHUNK_CRLF) {
				if (s->linelen != 2) {
					finish(s, "bad chunk");
					return;
				}
				s->phase = CHUNK_SIZE;
			} else if (s->phase == TRAILER) {
				if (s->linelen == 2) {
					finish(s, NULL);
					return;
				}
			} else {
				char *e;
				s->left = strtoull(s->line, &e, 16);
				if (e == s->line) {
					finish(s, "bad chunk");
					return;
				}
				s->phase = s->left == 0 ? TRAILER : CHUNK_DATA;
			}
			s->linelen = 0;
			break;
		}
		case CHUNK_DATA:
		case BODY_LENGTH: {
			size_t take = n < s->left ? n : (size_t)s->left;
			body(s, p, take, now);
			p += take;
			n -= take;
			s->left -= take;
			if (s->left == 0) {
				if (s->phase == BODY_LENGTH) {
					finish(s, NULL);
					return;
				}
				s->phase = CHUNK_CRLF;
			}
			break;
		}
		case BODY_CLOSE:
			body(s, p, n, now);
			n = 0;
			break;
		default:
			return;
		}
	}
}

static void
on_event(struct stream *s, uint32_t events)
{
	char	 buf[65536];
	ssize_t	 r;
	uint64_t now;

	if (s->phase == CONNECTING) {
		int	 err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
		    err != 0) {
			errno = err;
			finish(s, err == ECONNREFUSED ? "connect refused" :
			    err == ETIMEDOUT ? "connect timed out" : "connect");
			return;
		}
		while (s->sent < request_len) {
			r = send(s->fd, request + s->sent, request_len - s->sent,
			    MSG_NOSIGNAL);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN)
					return;		/* EPOLLOUT again */
				finish(s, "send");
				return;
			}
			s->sent += (size_t)r;
		}
		if ((s->head = malloc(HEAD_MAX)) == NULL)
			die("malloc");
		s->phase = HEAD;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
		epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
		return;
	}
	(void)events;
	for (;;) {
		r = recv(s->fd, buf, sizeof(buf), 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				finish(s, errno == ECONNRESET ? "reset" : "recv");
			return;
		}
		now = now_us();
		if (r == 0) {
			if (s->phase == BODY_CLOSE)
				finish(s, NULL);
			else
				finish(s, s->phase == HEAD && s->headlen == 0 ?
				    "closed before answering" : "cut");
			return;
		}
		if (s->t_byte == 0)
			s->t_byte = now;
		feed(s, buf, (size_t)r, now);
		if (s->phase == DONE)
			return;
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* "name":{"n":..,"min":..,"p50":..,"p90":..,"p99":..,"max":..} in s */
static void
print_dist(const char *name, uint64_t *v, size_t n, int comma)
{
	printf("%s\"%s\":", comma ? "," : "", name);
	if (n == 0) {
		printf("null");
		return;
	}
	qsort(v, n, sizeof(*v), cmp_u64);
#define PCT(p) (v[(size_t)((p) / 100.0 * (double)(n - 1) + 0.5)] / 1e6)
	printf("{\"n\":%zu,\"min\":%.4f,\"p50\":%.4f,\"p90\":%.4f,"
	    "\"p99\":%.4f,\"max\":%.4f}", n, v[0] / 1e6, PCT(50), PCT(90),
	    PCT(99), v[n - 1] / 1e6);
#undef PCT
}

static void
report(struct stream *ss, uint64_t t_start, uint64_t t_opened)
{
	struct rusage	 ru;
	uint64_t	*byte, *event, *dur, *gap;
	const char	*names[32];
	long		 counts[32];
	size_t		 nb = 0, ne = 0, nd = 0, ng = 0, nerr = 0, i, k;
	int		 ok = 0;

	byte = calloc((size_t)opt.streams, sizeof(*byte));
	event = calloc((size_t)opt.streams, sizeof(*event));
	dur = calloc((size_t)opt.streams, sizeof(*dur));
	gap = calloc((size_t)opt.streams, sizeof(*gap));
	if (!byte || !event || !dur || !gap)
		die("calloc");
	for (i = 0; i < (size_t)opt.streams; i++) {
		struct stream *s = &ss[i];
		if (s->t_byte)
			byte[nb++] = s->t_byte - s->t0;
		if (s->t_event)
			event[ne++] = s->t_event - s->t0;
		if (s->error == NULL) {
			ok++;
			dur[nd++] = s->t_end - s->t0;
			gap[ng++] = s->max_gap;
			continue;
		}
		for (k = 0; k < nerr; k++)
			if (strcmp(names[k], s->error) == 0)
				break;
		if (k == nerr && nerr < 32) {
			names[nerr] = s->error;
			counts[nerr++] = 0;
		}
		if (k < 32)
			counts[k]++;
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"streams\":%d,\"completed\":%d,\"failed\":%d,\"errors\":{",
	    opt.streams, ok, opt.streams - ok);
	for (k = 0; k < nerr; k++)
		printf("%s\"%s\":%ld", k ? "," : "", names[k], counts[k]);
	printf("},\"wall_s\":%.3f,\"connects_issued_s\":%.4f",
	    (now_us() - t_start) / 1e6, (t_opened - t_start) / 1e6);
	print_dist("first_byte_s", byte, nb, 1);
	print_dist("first_event_s", event, ne, 1);
	print_dist("duration_s", dur, nd, 1);
	print_dist("max_gap_s", gap, ng, 1);
	printf(",\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f}\n",
	    ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	fflush(stdout);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in	 sin;
	struct epoll_event	 evs[1024];
	struct stream		*ss;
	struct rlimit		 rl;
	uint64_t		 t_start, t_opened, end;
	int			 i, n, open = 0, on = 1;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "--port") == 0)
			opt.port = atoi(v);
		else if (strcmp(a, "--host") == 0)
			opt.host = v;
		else if (strcmp(a, "--streams") == 0)
			opt.streams = atoi(v);
		else if (strcmp(a, "--path") == 0)
			opt.path = v;
		else if (strcmp(a, "--body-file") == 0)
			opt.body_file = v;
		else if (strcmp(a, "--count") == 0)
			opt.count = v;
		else if (strcmp(a, "--expect") == 0)
			opt.expect = atol(v);
		else if (strcmp(a, "--end") == 0)
			opt.end = v;
		else if (strcmp(a, "--fail") == 0)
			opt.fail = v;
		else if (strcmp(a, "--deadline") == 0)
			opt.deadline = atof(v);
		else if (strcmp(a, "--header") == 0 &&
		    opt.nheaders < MAX_HEADERS)
			opt.headers[opt.nheaders++] = v;
		else
			usage();
	}
	if (opt.port <= 0 || opt.streams < 1 || opt.body_file == NULL ||
	    opt.count == NULL || opt.end == NULL || opt.expect < 0)
		usage();
	maxmark = strlen(opt.count);
	if (strlen(opt.end) > maxmark)
		maxmark = strlen(opt.end);
	if (opt.fail && strlen(opt.fail) > maxmark)
		maxmark = strlen(opt.fail);
	if (maxmark >= MARK_MAX || strlen(opt.count) == 0 ||
	    strlen(opt.end) == 0) {
		fprintf(stderr, "sse_load: markers must be 1..%d bytes\n",
		    MARK_MAX - 1);
		return 2;
	}
	/* a socket per stream */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < (rlim_t)opt.streams + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	build_request();
	if ((ss = calloc((size_t)opt.streams, sizeof(*ss))) == NULL)
		die("calloc");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)opt.port);
	if (inet_pton(AF_INET, opt.host, &sin.sin_addr) != 1) {
		fprintf(stderr, "sse_load: --host must be an IPv4 address\n");
		return 2;
	}

	/* the burst: every connection started before any is served */
	t_start = now_us();
	for (i = 0; i < opt.streams; i++) {
		struct stream *s = &ss[i];
		s->t0 = now_us();
		s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (s->fd == -1) {
			finish(s, "socket");
			continue;
		}
		setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		if (connect(s->fd, (struct sockaddr *)&sin, sizeof(sin)) ==
		    -1 && errno != EINPROGRESS) {
			finish(s, "connect");
			continue;
		}
		struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = s };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) == -1)
			die("epoll_ctl");
		open++;
	}
	t_opened = now_us();

	end = t_start + (uint64_t)(opt.deadline * 1e6);
	while (open > 0) {
		uint64_t now = now_us();
		if (now >= end)
			break;
		n = epoll_wait(ep, evs, sizeof(evs) / sizeof(evs[0]),
		    (int)((end - now) / 1000) + 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			struct stream *s = evs[i].data.ptr;
			if (s->phase == DONE)
				continue;
			on_event(s, evs[i].events);
			if (s->phase == DONE)
				open--;
		}
	}
	for (i = 0; i < opt.streams; i++)
		if (ss[i].phase != DONE)
			finish(&ss[i], "deadline");
	report(ss, t_start, t_opened);
	return 0;
}
