/*
 * upstream.c: the worker's one libcurl easy handle.
 *
 * The handle is created after fork and reused for every request, so
 * connections, TLS sessions and DNS answers survive between requests
 * (curl_easy_reset keeps them). Each call is bounded: a connect timeout
 * always; a total timeout for plain requests; for streams an idle timeout
 * (no byte for stream_idle_timeout seconds), never a total one that would
 * cut a long generation. While it waits it also watches the client's
 * socket and runs the caller's tick every 250 ms, so a client that hung up
 * aborts the transfer at once. The API key
 * goes only into the Authorization header; curl's verbose mode stays off so
 * it never reaches a log.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "config.h"
#include "log.h"
#include "upstream.h"
#include "util.h"

#define UPSTREAM_MAX_BODY	(64 * 1024 * 1024)
#define UPSTREAM_TICK_MS	250

struct transfer {
	const struct upstream_call	*call;
	struct upstream_result		*res;
	uint64_t			 last_data_ms;
	uint64_t			 last_tick_ms;
	uint64_t			 idle_ms;	/* 0 = no idle limit */
};

static CURL	*easy;
static CURLM	*multi;		/* owns the connection cache */

/* request headers per provider and mode, built once per worker: the
 * configuration does not change in a worker's life (a reload starts new
 * workers), so the provider pointers are stable keys */
#define HEADER_CACHE	32
static struct {
	const struct conf_provider	*provider;
	int				 stream;
	struct curl_slist		*list;
} header_cache[HEADER_CACHE];

int
upstream_init(void)
{
	if (easy == NULL && (easy = curl_easy_init()) == NULL)
		return -1;
	if (multi == NULL && (multi = curl_multi_init()) == NULL)
		return -1;
	return 0;
}

void
upstream_cleanup(void)
{
	if (easy != NULL)
		curl_easy_cleanup(easy);
	if (multi != NULL)
		curl_multi_cleanup(multi);
	easy = NULL;
	multi = NULL;
	for (size_t i = 0; i < HEADER_CACHE; i++) {
		curl_slist_free_all(header_cache[i].list);
		header_cache[i].list = NULL;
		header_cache[i].provider = NULL;
	}
}

void
upstream_result_free(struct upstream_result *r)
{
	buf_free(&r->body);
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct transfer	*t = arg;
	size_t		 len = size * n, vlen;
	const char	*v;

	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		t->res->retry_after[0] = '\0';	/* a new response (after 1xx) */
		return len;
	}
	if (len <= 2 && (p[0] == '\r' || p[0] == '\n')) {
		long	 status = 0;

		/* the head is in: a caller waiting for the first body byte
		 * may already act on the status */
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200)
			t->res->status = status;
		return len;
	}
	if (len > 12 && strncasecmp(p, "retry-after:", 12) == 0) {
		v = p + 12;
		vlen = len - 12;
		while (vlen > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
		    v[vlen - 1] == ' '))
			vlen--;
		if (vlen < sizeof(t->res->retry_after)) {
			memcpy(t->res->retry_after, v, vlen);
			t->res->retry_after[vlen] = '\0';
		}
	}
	return len;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct transfer	*t = arg;
	size_t		 len = size * n;

	t->last_data_ms = util_now_ms();
	if (t->res->status == 0)
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE,
		    &t->res->status);
	if (t->call->stream && t->res->status / 100 == 2) {
		if (t->call->on_data(t->call->arg, p, len) == -1) {
			t->res->aborted = 1;
			return 0;		/* makes curl stop */
		}
		return len;
	}
	if (t->res->body.len + len > UPSTREAM_MAX_BODY) {
		t->res->too_large = 1;
		return 0;
	}
	if (buf_append(&t->res->body, p, len) == -1)
		return 0;
	return len;
}

/*
 * Drive the transfer with the multi interface so that the wait can also
 * watch the client's socket: a client that hangs up is noticed at once,
 * not at libcurl's next progress call, and the transfer is removed (its
 * upstream connection closed). The loop also runs the caller's tick and
 * enforces the stream idle timeout.
 */
/* a stream's caller may count only real events as activity, so an
 * upstream that sends nothing but keep-alive comments still times out */
static uint64_t
last_activity(const struct transfer *t)
{
	if (t->call->activity_ms != NULL)
		return *t->call->activity_ms;
	return t->last_data_ms;
}

static CURLcode
run_transfer(struct transfer *t)
{
	const struct upstream_call *call = t->call;
	struct curl_waitfd	 wfd;
	CURLMsg			*msg;
	CURLcode		 rc = CURLE_OK;
	uint64_t		 now;
	int			 running, left, nfds, watch, woke = 0, wait;

	if (curl_multi_add_handle(multi, easy) != CURLM_OK)
		return CURLE_FAILED_INIT;
	watch = call->watch_fd >= 0;
	for (;;) {
		if (curl_multi_perform(multi, &running) != CURLM_OK) {
			rc = CURLE_FAILED_INIT;
			break;
		}
		if ((msg = curl_multi_info_read(multi, &left)) != NULL &&
		    msg->msg == CURLMSG_DONE) {
			rc = msg->data.result;
			break;
		}
		now = util_now_ms();
		if (t->idle_ms > 0 && now - last_activity(t) >= t->idle_ms) {
			t->res->timed_out = 1;
			rc = CURLE_OPERATION_TIMEDOUT;
			break;
		}
		if (call->on_tick != NULL &&
		    (woke || now - t->last_tick_ms >= UPSTREAM_TICK_MS)) {
			t->last_tick_ms = now;
			if (call->on_tick(call->arg) == -1) {
				t->res->aborted = 1;
				rc = CURLE_ABORTED_BY_CALLBACK;
				break;
			}
			/* readable but still there: pipelined bytes; stop
			 * watching, the tick still checks every 250 ms */
			if (woke)
				watch = 0;
		}
		wait = UPSTREAM_TICK_MS - (int)(now - t->last_tick_ms);
		if (wait < 1)
			wait = 1;
		wfd.fd = call->watch_fd;
		wfd.events = CURL_WAIT_POLLIN;
		wfd.revents = 0;
		if (curl_multi_poll(multi, watch ? &wfd : NULL, watch ? 1 : 0,
		    wait, &nfds) != CURLM_OK) {
			rc = CURLE_FAILED_INIT;
			break;
		}
		woke = watch && wfd.revents != 0;
	}
	curl_multi_remove_handle(multi, easy);
	return rc;
}

static struct curl_slist *
make_headers(const struct upstream_call *call)
{
	struct curl_slist	*h = NULL, *n;
	struct buf		 auth = BUF_INITIALIZER;

	h = curl_slist_append(h, "Content-Type: application/json");
	if (h == NULL)
		return NULL;
	n = curl_slist_append(h, call->stream ? "Accept: text/event-stream" :
	    "Accept: application/json");
	if (n == NULL)
		goto fail;
	/* big bodies: no "Expect: 100-continue" round trip */
	if ((n = curl_slist_append(h, "Expect:")) == NULL)
		goto fail;
	if (call->provider->api_key != NULL && call->provider->api_key[0]) {
		if (buf_printf(&auth, "Authorization: Bearer %s",
		    call->provider->api_key) == -1)
			goto fail;
		n = curl_slist_append(h, auth.data);
		explicit_bzero(auth.data, auth.len);
		buf_free(&auth);
		if (n == NULL)
			goto fail;
	}
	return h;
fail:
	buf_free(&auth);
	curl_slist_free_all(h);
	return NULL;
}

/* the cached list, or a fresh one the caller frees (*owned = 1) */
static struct curl_slist *
headers_for(const struct upstream_call *call, int *owned)
{
	size_t	 i;

	*owned = 0;
	for (i = 0; i < HEADER_CACHE && header_cache[i].provider != NULL; i++)
		if (header_cache[i].provider == call->provider &&
		    header_cache[i].stream == call->stream)
			return header_cache[i].list;
	if (i == HEADER_CACHE) {
		*owned = 1;
		return make_headers(call);
	}
	if ((header_cache[i].list = make_headers(call)) == NULL)
		return NULL;
	header_cache[i].provider = call->provider;
	header_cache[i].stream = call->stream;
	return header_cache[i].list;
}

static void
describe_failure(struct upstream_result *res, CURLcode rc, const char *errbuf)
{
	if (res->timed_out || rc == CURLE_OPERATION_TIMEDOUT) {
		res->timed_out = 1;
		snprintf(res->error, sizeof(res->error), "timed out");
	} else if (res->too_large)
		snprintf(res->error, sizeof(res->error),
		    "answer larger than %d bytes", UPSTREAM_MAX_BODY);
	else if (errbuf[0] != '\0')
		snprintf(res->error, sizeof(res->error), "%s", errbuf);
	else
		snprintf(res->error, sizeof(res->error), "%s",
		    curl_easy_strerror(rc));
}

int
upstream_perform(const struct upstream_call *call, struct upstream_result *res)
{
	struct transfer		 t;
	struct curl_slist	*headers;
	char			 errbuf[CURL_ERROR_SIZE] = "";
	uint64_t		 start = util_now_ms();
	CURLcode		 rc;
	int			 owned;

	memset(res, 0, sizeof(*res));
	memset(&t, 0, sizeof(t));
	t.call = call;
	t.res = res;
	t.last_data_ms = t.last_tick_ms = start;
	if (call->stream)
		t.idle_ms = (uint64_t)conf_stream_idle_seconds(conf) * 1000;

	if ((easy == NULL || multi == NULL) && upstream_init() == -1) {
		res->failed = 1;
		snprintf(res->error, sizeof(res->error), "libcurl unavailable");
		return -1;
	}
	if ((headers = headers_for(call, &owned)) == NULL) {
		res->failed = 1;
		snprintf(res->error, sizeof(res->error), "out of memory");
		return -1;
	}
	curl_easy_reset(easy);
	curl_easy_setopt(easy, CURLOPT_URL, call->provider->chat_url);
	curl_easy_setopt(easy, CURLOPT_POST, 1L);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, call->body);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)call->body_len);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "claude-proxy/"
	    PACKAGE_VERSION);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)conf->upstream_connect_timeout_seconds * 1000);
	if (!call->stream) {
		curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
		    (long)conf->upstream_timeout_seconds * 1000);
		curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
	}
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);

	rc = run_transfer(&t);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &res->status);
	/* the handle outlives this call: drop pointers to our stack */
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, NULL);
	if (owned)
		curl_slist_free_all(headers);
	res->ms = util_now_ms() - start;
	if (rc == CURLE_OK)
		return 0;
	if (res->aborted)
		return -1;
	res->failed = 1;
	describe_failure(res, rc, errbuf);
	return -1;
}
