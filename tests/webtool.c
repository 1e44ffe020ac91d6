/*
 * cp-webtool: drives websearch and webfetch from the command line, for
 * tests/integration/web.test.mjs, until the daemon's server-tool loop
 * (phase 2) runs them. Built by meson, never installed.
 *
 *   cp-webtool [options] CONFIG search QUERY
 *   cp-webtool [options] CONFIG fetch URL
 *
 *   -a DOMAIN	an allowed_domains entry (repeatable)
 *   -b DOMAIN	a blocked_domains entry (repeatable)
 *   -n N	max_results of the tool
 *   -c CC	user_location.country
 *   -p PORT	fetch: a loopback server on PORT may be connected to even
 *		without allow_private_addresses (every other address still
 *		passes the fetcher's own check); repeatable
 *   -w		watch standard input as a client's socket: its end aborts
 *
 * Prints one JSON object: {"ok":true,...} with the results or document,
 * or {"ok":false,"error":"<Anthropic error_code>","detail":...}; always
 * "ticks" (how often the wait's tick ran) and "ms". Exits 0 when it
 * printed, 2 on bad usage or configuration.
 */
#include <netinet/in.h>
#include <sys/socket.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "conf.h"
#include "ipclass.h"
#include "webfetch.h"
#include "webhttp.h"
#include "websearch.h"

#define MAXLIST	16

static int	 ports[MAXLIST], nports;
static int	 ticks;

static void
usage(void)
{
	fprintf(stderr, "usage: cp-webtool [-a domain] [-b domain] [-n n] "
	    "[-c country] [-p port] [-w] config search|fetch arg\n");
	exit(2);
}

/* the one listed loopback port, or what the fetcher allows anyway */
static int
test_addr(void *arg, const struct sockaddr *sa, socklen_t len)
{
	const struct conf_web_fetch *cw = arg;
	int	 port = 0, i;

	(void)len;
	if (sa->sa_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)(const void *)sa)->
		    sin_port);
	else if (sa->sa_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_port);
	for (i = 0; i < nports; i++)
		if (ports[i] == port && ipclass_of(sa) == IPCLASS_LOOPBACK)
			return 1;
	return cw->allow_private_addresses || ipclass_of(sa) == IPCLASS_PUBLIC;
}

/* standard input is the "client": its end (or anything sent) aborts */
static int
on_tick(void *arg)
{
	struct pollfd	 p = { STDIN_FILENO, POLLIN, 0 };
	char		 c;

	(void)arg;
	ticks++;
	if (poll(&p, 1, 0) == 1 && read(STDIN_FILENO, &c, 1) <= 0)
		return -1;
	return 0;
}

static void
add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static json_object *
search(const struct conf *c, const char *query, const char **allowed,
    size_t na, const char **blocked, size_t nb, int max, const char *cc,
    const struct webhttp_wait *w)
{
	struct websearch_query	 q;
	struct websearch_results r;
	struct websearch_info	 info;
	enum websearch_error	 e;
	json_object		*out = json_object_new_object(), *a, *item;
	size_t			 i;

	memset(&q, 0, sizeof(q));
	q.query = query;
	q.max_results = max;
	q.allowed = allowed;
	q.nallowed = na;
	q.blocked = blocked;
	q.nblocked = nb;
	q.location.country = cc;
	e = websearch_run(&c->web_search, &q, w, &r, &info);
	json_object_object_add(out, "ok", json_object_new_boolean(e == 0));
	if (e != WEBSEARCH_OK) {
		add_str(out, "error", e == WEBSEARCH_ABORTED ? "aborted" :
		    websearch_error_code(e));
		add_str(out, "detail", info.detail);
	}
	add_str(out, "backend", info.backend);
	json_object_object_add(out, "status", json_object_new_int64(
	    info.status));
	a = json_object_new_array();
	for (i = 0; i < r.n; i++) {
		item = json_object_new_object();
		add_str(item, "url", r.v[i].url);
		add_str(item, "title", r.v[i].title);
		add_str(item, "page_age", r.v[i].page_age);
		add_str(item, "content", r.v[i].content);
		json_object_array_add(a, item);
	}
	json_object_object_add(out, "results", a);
	websearch_results_free(&r);
	return out;
}

static json_object *
fetch(const struct conf *c, const char *url, const char **allowed,
    size_t na, const char **blocked, size_t nb,
    const struct webhttp_wait *w)
{
	struct webfetch_query	 q;
	struct webfetch_doc	 d;
	struct webfetch_info	 info;
	enum webfetch_error	 e;
	json_object		*out = json_object_new_object();

	memset(&q, 0, sizeof(q));
	q.url = url;
	q.allowed = allowed;
	q.nallowed = na;
	q.blocked = blocked;
	q.nblocked = nb;
	if (nports > 0) {
		q.allow_addr = test_addr;
		q.addr_arg = (void *)&c->web_fetch;
	}
	e = webfetch_run(&c->web_fetch, &q, w, &d, &info);
	json_object_object_add(out, "ok", json_object_new_boolean(e == 0));
	if (e != WEBFETCH_OK) {
		add_str(out, "error", e == WEBFETCH_ABORTED ? "aborted" :
		    webfetch_error_code(e));
		add_str(out, "detail", info.detail);
	} else {
		add_str(out, "url", d.url);
		add_str(out, "final_url", d.final_url);
		add_str(out, "title", d.title);
		add_str(out, "media_type", d.media_type);
		json_object_object_add(out, "data", json_object_new_string_len(
		    d.data.data, (int)d.data.len));
		json_object_object_add(out, "truncated",
		    json_object_new_boolean(d.truncated));
		add_str(out, "retrieved_at", d.retrieved_at);
	}
	json_object_object_add(out, "status", json_object_new_int64(
	    info.status));
	json_object_object_add(out, "redirects", json_object_new_int(
	    info.redirects));
	webfetch_doc_free(&d);
	return out;
}

int
main(int argc, char *argv[])
{
	const char	*allowed[MAXLIST], *blocked[MAXLIST], *cc = NULL;
	struct webhttp_wait w = { -1, on_tick, NULL };
	struct conf	*c;
	json_object	*out;
	char		 err[512];
	size_t		 na = 0, nb = 0;
	int		 ch, max = 0;

	while ((ch = getopt(argc, argv, "a:b:n:c:p:w")) != -1) {
		switch (ch) {
		case 'a':
			if (na == MAXLIST)
				usage();
			allowed[na++] = optarg;
			break;
		case 'b':
			if (nb == MAXLIST)
				usage();
			blocked[nb++] = optarg;
			break;
		case 'n':
			max = atoi(optarg);
			break;
		case 'c':
			cc = optarg;
			break;
		case 'p':
			if (nports == MAXLIST)
				usage();
			ports[nports++] = atoi(optarg);
			break;
		case 'w':
			w.watch_fd = STDIN_FILENO;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 3)
		usage();
	if (conf_load(argv[0], &c, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (strcmp(argv[1], "search") == 0 && c->web_search.backend != NULL)
		out = search(c, argv[2], allowed, na, blocked, nb, max, cc, &w);
	else if (strcmp(argv[1], "fetch") == 0)
		out = fetch(c, argv[2], allowed, na, blocked, nb, &w);
	else
		usage();
	json_object_object_add(out, "ticks", json_object_new_int(ticks));
	puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(out);
	webhttp_cleanup();
	conf_free(c);
	curl_global_cleanup();
	return 0;
}
