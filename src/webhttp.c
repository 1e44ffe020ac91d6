/*
 * webhttp.c: HTTP calls of the web tools.
 *
 * One easy handle and one multi handle per worker, apart from the
 * provider's (upstream.c), created on first use. Every call resets the
 * easy handle and sets all its options, so nothing of one call (a
 * backend's key header, the fetcher's guard) carries over to the next;
 * the multi handle keeps backend connections alive between calls. The
 * wait is xfer's: it watches the client's socket and runs the caller's
 * tick (every 250 ms while it waits), and
 * CURLOPT_TIMEOUT_MS bounds the whole call.
 *
 * The fetcher's calls are isolated: no proxy (the proxy would choose the
 * address, not us), a fresh connection that is closed afterwards (a
 * connection opened without the guard, to a backend on loopback, is
 * never reused for a fetch), no redirect followed (the caller checks
 * each), and every address is passed to allow_addr before a socket is
 * opened for it: the address actually connected to is checked, so DNS
 * rebinding gains nothing. Only http and https are spoken.
 *
 * Promises: a call returns within its timeout (plus a tick), reads at
 * most max_bytes of body, and never logs; error texts are libcurl's and
 * hold no header, so no key.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "webhttp.h"
#include "util.h"
#include "xfer.h"

static CURL		*easy;
static struct xfer	 loop;

struct call {
	const struct webhttp_req	*req;
	struct webhttp_resp		*resp;
};

static int
init(void)
{
	if (easy != NULL && loop.multi != NULL)
		return 0;
	webhttp_cleanup();
	if ((easy = curl_easy_init()) == NULL || xfer_init(&loop) == -1) {
		webhttp_cleanup();
		return -1;
	}
	return 0;
}

void
webhttp_cleanup(void)
{
	if (easy != NULL)
		curl_easy_cleanup(easy);
	easy = NULL;
	xfer_cleanup(&loop);
}

void
webhttp_resp_free(struct webhttp_resp *r)
{
	buf_free(&r->body);
	free(r->redirect_url);
	r->redirect_url = NULL;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct call	*c = arg;
	size_t		 len = size * n, room;

	room = c->req->max_bytes - c->resp->body.len;
	if (len > room) {
		if (!c->req->keep_partial) {
			c->resp->too_large = 1;
			return 0;
		}
		if (buf_append(&c->resp->body, p, room) == -1)
			return 0;
		c->resp->truncated = 1;
		return 0;		/* enough: stop the transfer */
	}
	if (buf_append(&c->resp->body, p, len) == -1)
		return 0;
	return len;
}

static void
addr_text(const struct sockaddr *sa, char *out, size_t outsz)
{
	const void	*a = NULL;

	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr;
	if (a == NULL || inet_ntop(sa->sa_family, a, out, outsz) == NULL)
		snprintf(out, outsz, "address family %d", sa->sa_family);
}

/* CURLOPT_OPENSOCKETFUNCTION: the address libcurl is about to connect
 * to, after resolving, for every attempt and every redirect hop */
static curl_socket_t
open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct call	*c = arg;

	if (purpose != CURLSOCKTYPE_IPCXN ||
	    !c->req->allow_addr(c->req->addr_arg, &a->addr, a->addrlen)) {
		c->resp->refused = 1;
		addr_text(&a->addr, c->resp->refused_addr,
		    sizeof(c->resp->refused_addr));
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static int
tick(void *arg)
{
	const struct webhttp_wait *w = arg;

	return w->on_tick != NULL ? w->on_tick(w->arg) : 0;
}

static int
set_options(struct call *c, char *errbuf)
{
	const struct webhttp_req *r = c->req;
	CURLcode	 rc = CURLE_OK;

#define SET(opt, v) do {						\
	if (rc == CURLE_OK) rc = curl_easy_setopt(easy, opt, v);	\
} while (0)
	curl_easy_reset(easy);
	SET(CURLOPT_URL, r->url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_USERAGENT, "claude-proxy/" PACKAGE_VERSION);
	SET(CURLOPT_TIMEOUT_MS, r->timeout_ms);
	SET(CURLOPT_ACCEPT_ENCODING, "");	/* max_bytes counts decoded */
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, c);
	if (r->headers != NULL)
		SET(CURLOPT_HTTPHEADER, r->headers);
	if (r->body != NULL) {
		SET(CURLOPT_POSTFIELDS, r->body);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	}
	if (r->isolated) {
		SET(CURLOPT_PROXY, "");
		SET(CURLOPT_FRESH_CONNECT, 1L);
		SET(CURLOPT_FORBID_REUSE, 1L);
	}
	if (r->allow_addr != NULL) {
		SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
		SET(CURLOPT_OPENSOCKETDATA, c);
	}
#undef SET
	return rc == CURLE_OK ? 0 : -1;
}

static void
collect(struct webhttp_resp *resp)
{
	char	*s = NULL;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &resp->status);
	if (curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &s) == CURLE_OK &&
	    s != NULL)
		snprintf(resp->content_type, sizeof(resp->content_type), "%s",
		    s);
	s = NULL;
	if (resp->status / 100 == 3 &&
	    curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &s) == CURLE_OK &&
	    s != NULL)
		resp->redirect_url = strdup(s);
}

int
webhttp_perform(const struct webhttp_req *req, struct webhttp_resp *resp)
{
	static const struct webhttp_wait no_wait = { -1, NULL, NULL };
	struct call	 c = { req, resp };
	struct xfer_wait w;
	enum xfer_end	 end;
	char		 errbuf[CURL_ERROR_SIZE] = "";
	uint64_t	 start = util_now_ms();
	CURLcode	 rc;

	memset(resp, 0, sizeof(*resp));
	if (init() == -1 || set_options(&c, errbuf) == -1) {
		resp->failed = 1;
		snprintf(resp->error, sizeof(resp->error),
		    "libcurl unavailable");
		return -1;
	}
	memset(&w, 0, sizeof(w));
	w.watch_fd = (req->wait != NULL ? req->wait : &no_wait)->watch_fd;
	w.on_tick = tick;
	w.arg = (void *)(req->wait != NULL ? req->wait : &no_wait);
	rc = xfer_run(&loop, easy, &w, &end);
	resp->ms = util_now_ms() - start;
	collect(resp);
	/* the handle keeps pointers to our stack until the next reset */
	curl_easy_reset(easy);
	if (end == XFER_ABORTED) {
		resp->aborted = 1;
		return -1;
	}
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && resp->truncated)) {
		resp->refused = 0;	/* another address served */
		if (resp->status > 0)
			return 0;
		resp->failed = 1;
		snprintf(resp->error, sizeof(resp->error), "no HTTP answer");
		return -1;
	}
	resp->failed = 1;
	if (rc == CURLE_OPERATION_TIMEDOUT)
		resp->timed_out = 1;
	if (resp->refused)
		snprintf(resp->error, sizeof(resp->error),
		    "address %s refused", resp->refused_addr);
	else if (resp->too_large)
		snprintf(resp->error, sizeof(resp->error),
		    "answer larger than %zu bytes", req->max_bytes);
	else
		snprintf(resp->error, sizeof(resp->error), "%s",
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
	return -1;
}
