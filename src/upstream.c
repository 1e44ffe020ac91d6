/*
 * upstream.c: the worker's one libcurl easy handle.
 *
 * The handle is created after fork and reused for every request, so
 * connections, TLS sessions and DNS answers survive between requests.
 * What never changes in a worker's life (callbacks, user agent, protocols,
 * connect timeout, proxy) is set once in upstream_init; a request sets only
 * what differs between requests, and sets every such option each time it
 * differs, so nothing of one request (a plain request's total timeout, its
 * Accept-Encoding) carries over to the next. The proxy comes from the
 * environment as curl(1) reads it (http_proxy, https_proxy, all_proxy,
 * no_proxy and their upper-case forms but HTTP_PROXY), read once here
 * rather than by libcurl on every request. Each call is bounded: a connect
 * timeout always; a total timeout for plain requests; for streams an idle
 * timeout (no byte for stream_idle_timeout seconds), never a total one that
 * would cut a long generation. While it waits it also watches the client's
 * socket and runs the caller's tick (xfer's), so a client that hung up
 * aborts the transfer at once. The API key goes only into the Authorization
 * header (or x-api-key, as providers[].auth says); curl's verbose mode
 * stays off so it never reaches a log. A provider with api_keys gets the
 * next usable key from upkeys, and hears back how the attempt went (a
 * transfer the client aborted is not held against the key); when none is
 * usable the call fails without a transfer. A call's own header lines (a
 * pass-through's anthropic-version and -beta) follow the proxy's; a
 * provider's own headers follow those and replace any of the same name.
 * Of the
 * upstream's head only the status and a Retry-After that is valid as RFC
 * 9110 writes it are kept; nothing else of it reaches the client's head.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "config.h"
#include "log.h"
#include "retry.h"
#include "upkeys.h"
#include "upstream.h"
#include "util.h"
#include "xfer.h"

#define UPSTREAM_MAX_BODY	(64 * 1024 * 1024)

struct transfer {
	const struct upstream_call	*call;
	struct upstream_result		*res;
	uint64_t			 last_data_ms;
};

static CURL	*easy;
static struct xfer loop;	/* its multi handle owns the connection cache */
static char	 errbuf[CURL_ERROR_SIZE];	/* the handle's, set once */

/* what the handle holds now: options that differ between requests are set
 * only when they do, and always when they do */
static const struct conf_provider *set_provider;	/* URL and proxy */
static int	 set_stream = -1;	/* total timeout and Accept-Encoding */

/* the proxy environment, read once: libcurl would read it on every
 * request; NULL = none */
static char	*proxy_http, *proxy_https, *proxy_except;

/* request headers per provider, mode and key, built once per worker: the
 * configuration does not change in a worker's life (a reload starts new
 * workers), so the provider pointers are stable keys */
#define HEADER_CACHE	64
static struct {
	const struct conf_provider	*provider;
	int				 stream;
	int				 key;
	struct curl_slist		*list;
} header_cache[HEADER_CACHE];

static size_t	on_header(char *, size_t, size_t, void *);
static size_t	on_body(char *, size_t, size_t, void *);

/* the first of two environment variables that is set and not empty, as
 * libcurl reads them; a copy, or NULL */
static int
env_copy(char **out, const char *name, const char *alt)
{
	const char	*v = getenv(name);

	if ((v == NULL || *v == '\0') && alt != NULL)
		v = getenv(alt);
	*out = NULL;
	if (v == NULL || *v == '\0')
		return 0;
	return (*out = strdup(v)) == NULL ? -1 : 0;
}

/* libcurl's rules: <scheme>_proxy, upper case too except for http (a CGI
 * "Proxy:" header would set HTTP_PROXY), else all_proxy */
static int
read_proxy_env(void)
{
	if (env_copy(&proxy_http, "http_proxy", NULL) == -1 ||
	    env_copy(&proxy_https, "https_proxy", "HTTPS_PROXY") == -1 ||
	    env_copy(&proxy_except, "no_proxy", "NO_PROXY") == -1)
		return -1;
	if (proxy_http == NULL &&
	    env_copy(&proxy_http, "all_proxy", "ALL_PROXY") == -1)
		return -1;
	if (proxy_https == NULL &&
	    env_copy(&proxy_https, "all_proxy", "ALL_PROXY") == -1)
		return -1;
	return 0;
}

/* the options every request shares; "" for the proxy and the exceptions
 * keeps libcurl from reading the environment itself */
static int
set_invariants(void)
{
	CURLcode	 rc = CURLE_OK;

#define SET(opt, v) do {						\
	if (rc == CURLE_OK) rc = curl_easy_setopt(easy, opt, v);	\
} while (0)
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_USERAGENT, "claude-proxy/" PACKAGE_VERSION);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TCP_NODELAY, 1L);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_CONNECTTIMEOUT_MS,
	    (long)conf->upstream_connect_timeout_seconds * 1000);
	SET(CURLOPT_NOPROXY, proxy_except != NULL ? proxy_except : "");
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_WRITEFUNCTION, on_body);
#undef SET
	return rc == CURLE_OK ? 0 : -1;
}

int
upstream_init(void)
{
	if (easy != NULL && loop.multi != NULL)
		return 0;
	upstream_cleanup();
	if ((easy = curl_easy_init()) == NULL || xfer_init(&loop) == -1 ||
	    read_proxy_env() == -1 || set_invariants() == -1) {
		upstream_cleanup();
		return -1;
	}
	return 0;
}

void
upstream_cleanup(void)
{
	if (easy != NULL)
		curl_easy_cleanup(easy);
	xfer_cleanup(&loop);
	easy = NULL;
	set_provider = NULL;
	set_stream = -1;
	free(proxy_http);
	free(proxy_https);
	free(proxy_except);
	proxy_http = proxy_https = proxy_except = NULL;
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

static const char *const day_names[] = { "Mon", "Tue", "Wed", "Thu", "Fri",
	"Sat", "Sun" };
static const char *const day_names_long[] = { "Monday", "Tuesday",
	"Wednesday", "Thursday", "Friday", "Saturday", "Sunday" };
static const char *const month_names[] = { "Jan", "Feb", "Mar", "Apr", "May",
	"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* the length of the name from list at v[0..len), 0 if none */
static size_t
date_name(const char *v, size_t len, const char *const *list, size_t n)
{
	size_t	 k, m;

	for (k = 0; k < n; k++) {
		m = strlen(list[k]);
		if (len >= m && memcmp(v, list[k], m) == 0)
			return m;
	}
	return 0;
}

/* does v[0..len) have the shape? 'D' a digit, 'd' a digit or a space
 * (asctime's day), '@' a day name, '&' a long day name, '#' a month */
static int
date_shape(const char *v, size_t len, const char *shape)
{
	size_t	 i = 0, m;

	for (; *shape != '\0'; shape++) {
		m = 1;
		if (*shape == '@')
			m = date_name(v + i, len - i, day_names, 7);
		else if (*shape == '&')
			m = date_name(v + i, len - i, day_names_long, 7);
		else if (*shape == '#')
			m = date_name(v + i, len - i, month_names, 12);
		else if (i == len)
			return 0;
		else if (*shape == 'D' ? v[i] < '0' || v[i] > '9' :
		    *shape == 'd' ? v[i] != ' ' && (v[i] < '0' || v[i] > '9') :
		    v[i] != *shape)
			return 0;
		if (m == 0)
			return 0;
		i += m;
	}
	return i == len;
}

/*
 * Retry-After as RFC 9110 has it: delta-seconds (1*DIGIT) or an
 * HTTP-date (IMF-fixdate, or the obsolete RFC 850 and asctime forms).
 * The value goes into our own response head, so anything else, a bare CR
 * that would start a header of the upstream's choosing included, is
 * dropped rather than repaired.
 */
int
upstream_retry_after_valid(const char *v, size_t len)
{
	size_t	 i;

	for (i = 0; i < len && v[i] >= '0' && v[i] <= '9'; i++)
		;
	if (i > 0 && i == len)
		return 1;
	return date_shape(v, len, "@, DD # DDDD DD:DD:DD GMT") ||
	    date_shape(v, len, "&, DD-#-DD DD:DD:DD GMT") ||
	    date_shape(v, len, "@ # dD DD:DD:DD DDDD");
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
		    v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		/* a later Retry-After replaces an earlier one, even a bad one */
		t->res->retry_after[0] = '\0';
		if (vlen < sizeof(t->res->retry_after) &&
		    upstream_retry_after_valid(v, vlen)) {
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

/* a stream's caller may count only real events as activity, so an
 * upstream that sends nothing but keep-alive comments still times out */
static uint64_t
last_activity(void *arg)
{
	const struct transfer *t = arg;

	if (t->call->activity_ms != NULL)
		return *t->call->activity_ms;
	return t->last_data_ms;
}

static int
tick_of(void *arg)
{
	const struct transfer *t = arg;

	return t->call->on_tick != NULL ? t->call->on_tick(t->call->arg) : 0;
}

/*
 * The wait also watches the client's socket (xfer), so a client that
 * hangs up aborts the transfer at once; streams end after
 * stream_idle_timeout seconds without activity.
 */
static CURLcode
run_transfer(struct transfer *t)
{
	struct xfer_wait	 w;
	enum xfer_end		 end;
	CURLcode		 rc;

	memset(&w, 0, sizeof(w));
	w.watch_fd = t->call->watch_fd;
	w.on_tick = tick_of;
	if (t->call->stream) {
		w.idle_ms = (uint64_t)conf_stream_idle_seconds(conf) * 1000;
		w.last_activity = last_activity;
	}
	w.arg = t;
	rc = xfer_run(&loop, easy, &w, &end);
	if (end == XFER_IDLE)
		t->res->timed_out = 1;
	else if (end == XFER_ABORTED)
		t->res->aborted = 1;
	return rc;
}

/* does the provider set a header of this name itself? */
static int
configured(const struct conf_provider *p, const char *name)
{
	size_t	 i;

	for (i = 0; i < p->nheaders; i++)
		if (strcasecmp(p->headers[i].name, name) == 0)
			return 1;
	return 0;
}

/* line onto *h: -1 when memory runs out */
static int
append(struct curl_slist **h, const char *line)
{
	struct curl_slist	*n;

	if ((n = curl_slist_append(*h, line)) == NULL)
		return -1;
	*h = n;
	return 0;
}

/* the proxy's own line, unless the provider's headers name it (the
 * line's name up to its colon): theirs replace ours */
static int
append_ours(struct curl_slist **h, const struct conf_provider *p,
    const char *line)
{
	char	 name[64];
	size_t	 len = strcspn(line, ":");

	if (len < sizeof(name)) {
		memcpy(name, line, len);
		name[len] = '\0';
		if (configured(p, name))
			return 0;
	}
	return append(h, line);
}

static struct curl_slist *
make_headers(const struct upstream_call *call, const char *key)
{
	const struct conf_provider *p = call->provider;
	struct curl_slist	*h = NULL;
	struct buf		 auth = BUF_INITIALIZER;
	size_t			 i;
	int			 rc;

	if (append_ours(&h, p, "Content-Type: application/json") == -1 ||
	    append_ours(&h, p, call->stream ? "Accept: text/event-stream" :
	    "Accept: application/json") == -1 ||
	    /* big bodies: no "Expect: 100-continue" round trip */
	    append_ours(&h, p, "Expect:") == -1)
		goto fail;
	if (key != NULL && key[0] != '\0') {
		if (buf_printf(&auth, p->auth == CONF_AUTH_X_API_KEY ?
		    "x-api-key: %s" : "Authorization: Bearer %s", key) == -1)
			goto fail;
		rc = append_ours(&h, p, auth.data);
		explicit_bzero(auth.data, auth.len);
		buf_free(&auth);
		if (rc == -1)
			goto fail;
	}
	for (i = 0; i < call->extra_len; i += strlen(call->extra_headers +
	    i) + 1)
		if (append_ours(&h, p, call->extra_headers + i) == -1)
			goto fail;
	for (i = 0; i < p->nheaders; i++)
		if (append(&h, p->headers[i].line) == -1)
			goto fail;
	return h;
fail:
	buf_free(&auth);
	curl_slist_free_all(h);
	return NULL;
}

/* the cached list, or a fresh one the caller frees (*owned = 1) */
static struct curl_slist *
headers_for(const struct upstream_call *call, int key, int *owned)
{
	const struct conf_provider *p = call->provider;
	const char	*value = key >= 0 ? p->api_keys[key] : p->api_key;
	size_t		 i;

	/* a call's own lines differ from call to call */
	*owned = call->extra_len > 0;
	if (*owned)
		return make_headers(call, value);
	for (i = 0; i < HEADER_CACHE && header_cache[i].provider != NULL; i++)
		if (header_cache[i].provider == p &&
		    header_cache[i].stream == call->stream &&
		    header_cache[i].key == key)
			return header_cache[i].list;
	if (i == HEADER_CACHE) {
		*owned = 1;
		return make_headers(call, value);
	}
	if ((header_cache[i].list = make_headers(call, value)) == NULL)
		return NULL;
	header_cache[i].provider = p;
	header_cache[i].stream = call->stream;
	header_cache[i].key = key;
	return header_cache[i].list;
}

/* with api_keys: the key of this attempt, or none usable (the call fails
 * without a transfer) */
static int
pick_key(const struct upstream_call *call, struct upstream_result *res)
{
	uint64_t	 wait_ms;

	res->key = -1;
	if (call->provider->napi_keys == 0)
		return 0;
	if ((res->key = upkeys_pick(call->provider, util_now_ms(),
	    &wait_ms, call->skip_keys)) >= 0)
		return 0;
	res->failed = res->no_key = 1;
	if (wait_ms > 0) {
		snprintf(res->retry_after, sizeof(res->retry_after), "%llu",
		    (unsigned long long)(wait_ms + 999) / 1000);
		snprintf(res->error, sizeof(res->error), "every key of "
		    "api_keys is set aside or cooling down");
	} else
		snprintf(res->error, sizeof(res->error), "every key of "
		    "api_keys is set aside or refused this request (401/403)");
	return -1;
}

/* how the attempt went, for the key's state */
static void
report_key(const struct upstream_call *call, const struct upstream_result *res)
{
	if (res->key < 0 || res->aborted)
		return;
	upkeys_report(call->provider, res->key, res->failed ? 0 : res->status,
	    res->status == 429 ? retry_after_ms(res->retry_after,
	    time(NULL)) : -1, util_now_ms(), call->request_id != NULL ?
	    call->request_id : "-");
}

static void
describe_failure(struct upstream_result *res, CURLcode rc, const char *why)
{
	if (res->timed_out || rc == CURLE_OPERATION_TIMEDOUT) {
		res->timed_out = 1;
		snprintf(res->error, sizeof(res->error), "timed out");
	} else if (res->too_large)
		snprintf(res->error, sizeof(res->error),
		    "answer larger than %d bytes", UPSTREAM_MAX_BODY);
	else if (why[0] != '\0')
		snprintf(res->error, sizeof(res->error), "%s", why);
	else
		snprintf(res->error, sizeof(res->error), "%s",
		    curl_easy_strerror(rc));
}

/* the options that differ between requests; each is set whenever it
 * differs from what the handle holds, so none leaks into the next request */
static int
set_request(const struct upstream_call *call, struct curl_slist *headers,
    struct transfer *t)
{
	const struct conf_provider *p = call->provider;
	const char	*proxy, *url;
	CURLcode	 rc = CURLE_OK;

#define SET(opt, v) do {						\
	if (rc == CURLE_OK) rc = curl_easy_setopt(easy, opt, v);	\
} while (0)
	if (p != set_provider || call->url != NULL) {
		set_provider = NULL;
		url = call->url != NULL ? call->url : p->url;
		proxy = strncasecmp(url, "https:", 6) == 0 ?
		    proxy_https : proxy_http;
		SET(CURLOPT_URL, url);
		SET(CURLOPT_PROXY, proxy != NULL ? proxy : "");
		if (rc != CURLE_OK)
			return -1;
		/* another URL: the next call sets the provider's again */
		if (call->url == NULL)
			set_provider = p;
	}
	if (call->stream != set_stream) {
		set_stream = -1;
		/* a stream has the idle timeout instead of a total one, and
		 * asks for no content coding (a compressor upstream may
		 * hold events back) */
		SET(CURLOPT_TIMEOUT_MS, call->stream ? 0L :
		    (long)conf->upstream_timeout_seconds * 1000);
		SET(CURLOPT_ACCEPT_ENCODING, call->stream ? NULL : "");
		if (rc != CURLE_OK)
			return -1;
		set_stream = call->stream;
	}
	SET(CURLOPT_POSTFIELDS, call->body);
	SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_HEADERDATA, t);
	SET(CURLOPT_WRITEDATA, t);
#undef SET
	return rc == CURLE_OK ? 0 : -1;
}

int
upstream_perform(const struct upstream_call *call, struct upstream_result *res)
{
	struct transfer		 t;
	struct curl_slist	*headers;
	uint64_t		 start = util_now_ms();
	CURLcode		 rc;
	int			 owned;

	memset(res, 0, sizeof(*res));
	memset(&t, 0, sizeof(t));
	t.call = call;
	t.res = res;
	t.last_data_ms = start;

	if ((easy == NULL || loop.multi == NULL) && upstream_init() == -1) {
		res->failed = 1;
		res->key = -1;
		snprintf(res->error, sizeof(res->error), "libcurl unavailable");
		return -1;
	}
	if (pick_key(call, res) == -1)
		return -1;
	if ((headers = headers_for(call, res->key, &owned)) == NULL) {
		res->failed = 1;
		snprintf(res->error, sizeof(res->error), "out of memory");
		return -1;
	}
	errbuf[0] = '\0';
	if (set_request(call, headers, &t) == -1) {
		if (owned)
			curl_slist_free_all(headers);
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
		res->failed = 1;
		snprintf(res->error, sizeof(res->error), "out of memory");
		return -1;
	}

	rc = run_transfer(&t);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &res->status);
	/* the body and t are the caller's and ours: the next request sets
	 * them before libcurl looks at them again; a list that is not
	 * cached is freed here, so the handle must forget it */
	if (owned) {
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
		curl_slist_free_all(headers);
	}
	res->ms = util_now_ms() - start;
	if (rc != CURLE_OK && !res->aborted) {
		res->failed = 1;
		describe_failure(res, rc, errbuf);
	}
	report_key(call, res);
	return rc == CURLE_OK ? 0 : -1;
}
