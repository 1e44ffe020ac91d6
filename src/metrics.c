/*
 * metrics.c: the Prometheus exposition of the scoreboard.
 *
 * Counters add up every worker that ever ran (the master folds exited
 * workers into the scoreboard's retired totals), so they never go down
 * while the daemon runs. Label values come from fixed tables or from
 * provider names in the configuration, escaped as the format requires.
 * The api_keys' counts are upkeys' and start again when a reload changes
 * a provider's keys; keys are named by their index, never their value.
 */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "http_resp.h"
#include "keystats.h"
#include "metrics.h"
#include "scoreboard.h"
#include "upkeys.h"
#include "util.h"

static void
label_value(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			buf_putc(b, '\\');
		if (*s == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *s);
	}
}

static void
render_requests(struct buf *b, const struct sb_counters *c)
{
	size_t	 e, k;

	buf_puts(b, "# HELP claude_proxy_requests_total Requests answered, by "
	    "endpoint and status.\n# TYPE claude_proxy_requests_total "
	    "counter\n");
	for (e = 0; e < SB_NENDPOINTS; e++)
		for (k = 0; k < SB_NCODES; k++) {
			if (c->requests[e][k] == 0)
				continue;
			buf_printf(b, "claude_proxy_requests_total{endpoint=\""
			    "%s\",status=\"", sb_endpoint_names[e]);
			if (sb_codes[k] == 0)
				buf_puts(b, "other");
			else
				buf_printf(b, "%d", sb_codes[k]);
			buf_printf(b, "\"} %llu\n",
			    (unsigned long long)c->requests[e][k]);
		}
}

static void
render_latency(struct buf *b, const struct sb_counters *c)
{
	unsigned long long	 cum = 0;
	size_t			 k;

	buf_puts(b, "# HELP claude_proxy_upstream_duration_seconds Time from "
	    "sending a request upstream to its last byte.\n# TYPE "
	    "claude_proxy_upstream_duration_seconds histogram\n");
	for (k = 0; k < SB_NBUCKETS; k++) {
		cum += c->latency[k];
		if (sb_bucket_seconds[k] < 0)
			buf_printf(b, "claude_proxy_upstream_duration_seconds_"
			    "bucket{le=\"+Inf\"} %llu\n", cum);
		else
			buf_printf(b, "claude_proxy_upstream_duration_seconds_"
			    "bucket{le=\"%g\"} %llu\n", sb_bucket_seconds[k],
			    cum);
	}
	buf_printf(b, "claude_proxy_upstream_duration_seconds_sum %.3f\n"
	    "claude_proxy_upstream_duration_seconds_count %llu\n",
	    (double)c->latency_ms_sum / 1000.0,
	    (unsigned long long)c->latency_count);
}

static void
render_providers(struct buf *b, const struct sb_counters *c)
{
	size_t	 p;

	buf_puts(b, "# HELP claude_proxy_upstream_requests_total Upstream "
	    "requests, by provider.\n# TYPE claude_proxy_upstream_requests_"
	    "total counter\n");
	for (p = 0; p < SB_MAX_PROVIDERS && c->providers[p].name[0]; p++) {
		buf_puts(b, "claude_proxy_upstream_requests_total{provider=\"");
		label_value(b, c->providers[p].name);
		buf_printf(b, "\"} %llu\n",
		    (unsigned long long)c->providers[p].requests);
	}
	buf_puts(b, "# HELP claude_proxy_upstream_errors_total Upstream "
	    "requests that failed (transport error or non-2xx), by provider."
	    "\n# TYPE claude_proxy_upstream_errors_total counter\n");
	for (p = 0; p < SB_MAX_PROVIDERS && c->providers[p].name[0]; p++) {
		buf_puts(b, "claude_proxy_upstream_errors_total{provider=\"");
		label_value(b, c->providers[p].name);
		buf_printf(b, "\"} %llu\n",
		    (unsigned long long)c->providers[p].errors);
	}
	buf_puts(b, "# HELP claude_proxy_upstream_retries_total Tries of a "
	    "provider again after 429, 5xx or a failed connection "
	    "(providers[].retries), by provider.\n# TYPE claude_proxy_"
	    "upstream_retries_total counter\n");
	for (p = 0; p < SB_MAX_PROVIDERS && c->providers[p].name[0]; p++) {
		buf_puts(b, "claude_proxy_upstream_retries_total{provider=\"");
		label_value(b, c->providers[p].name);
		buf_printf(b, "\"} %llu\n",
		    (unsigned long long)c->providers[p].retries);
	}
}

/* one line per key of api_keys: its labels and value */
static void
key_line(struct buf *b, const char *metric, const char *provider, size_t i,
    const char *state, unsigned long long value)
{
	buf_printf(b, "%s{provider=\"", metric);
	label_value(b, provider);
	buf_printf(b, "\",index=\"%zu\"", i);
	if (state != NULL)
		buf_printf(b, ",state=\"%s\"", state);
	buf_printf(b, "} %llu\n", value);
}

/* the providers' api_keys, by index (never by value) */
static void
render_upstream_keys(struct buf *b)
{
	static const char *const names[] = {
		"claude_proxy_upstream_key_state",
		"claude_proxy_upstream_key_requests_total",
		"claude_proxy_upstream_key_failures_total" };
	static const char *const help[] = {
		"1 for the state a key of api_keys is in (active, cooling "
		    "after a 429, set_aside after a 401/403 until reload), by "
		    "provider and index.\n# TYPE claude_proxy_upstream_key_"
		    "state gauge",
		"Attempts a key of api_keys was chosen for, by provider and "
		    "index.\n# TYPE claude_proxy_upstream_key_requests_total "
		    "counter",
		"Attempts with a key of api_keys that failed, by provider "
		    "and index.\n# TYPE claude_proxy_upstream_key_failures_"
		    "total counter" };
	struct upkeys_stat	 st;
	const struct conf_provider *p;
	uint64_t		 now = util_now_ms();
	size_t			 f, i, k;
	int			 s;

	for (f = 0; f < 3; f++) {
		buf_printf(b, "# HELP %s %s\n", names[f], help[f]);
		for (i = 0; conf != NULL && i < conf->nproviders; i++) {
			p = &conf->providers[i];
			for (k = 0; upkeys_stat(p, k, now, &st) == 0; k++) {
				if (f == 1 || f == 2) {
					key_line(b, names[f], p->name, k, NULL,
					    f == 1 ? st.requests : st.failures);
					continue;
				}
				for (s = 0; s < UPKEYS_NSTATES; s++)
					key_line(b, names[f], p->name, k,
					    upkeys_state_names[s],
					    st.state == (enum upkeys_state)s);
			}
		}
	}
}

static void
render_server_tools(struct buf *b, const struct sb_counters *c)
{
	size_t	 k;

	buf_puts(b, "# HELP claude_proxy_server_tool_calls_total Server-tool "
	    "calls run by the proxy (web search, web fetch), by tool and "
	    "backend.\n# TYPE claude_proxy_server_tool_calls_total counter\n");
	for (k = 0; k < SB_NSERVER_TOOLS; k++)
		buf_printf(b, "claude_proxy_server_tool_calls_total{tool=\"%s\","
		    "backend=\"%s\"} %llu\n", sb_server_tools[k][0],
		    sb_server_tools[k][1],
		    (unsigned long long)c->server_tool_calls[k]);
	buf_puts(b, "# HELP claude_proxy_server_tool_failures_total Server-"
	    "tool calls whose result was an error, by tool and backend.\n"
	    "# TYPE claude_proxy_server_tool_failures_total counter\n");
	for (k = 0; k < SB_NSERVER_TOOLS; k++)
		buf_printf(b, "claude_proxy_server_tool_failures_total{tool=\""
		    "%s\",backend=\"%s\"} %llu\n", sb_server_tools[k][0],
		    sb_server_tools[k][1],
		    (unsigned long long)c->server_tool_failures[k]);
}

int
metrics_render(struct buf *b)
{
	struct sb_counters	 c;
	int			 busy, idle, streams;

	scoreboard_totals(&c, &busy, &idle, &streams);
	render_requests(b, &c);
	render_latency(b, &c);
	render_providers(b, &c);
	render_upstream_keys(b);
	render_server_tools(b, &c);
	keystats_render(b);
	buf_printf(b, "# HELP claude_proxy_active_streams Streams being "
	    "relayed now.\n# TYPE claude_proxy_active_streams gauge\n"
	    "claude_proxy_active_streams %d\n", streams);
	buf_printf(b, "# HELP claude_proxy_workers Worker processes, by "
	    "state.\n# TYPE claude_proxy_workers gauge\n"
	    "claude_proxy_workers{state=\"busy\"} %d\n"
	    "claude_proxy_workers{state=\"idle\"} %d\n", busy, idle);
	return b->data == NULL ? -1 : 0;
}

int
metrics_handle(struct http_conn *c, struct http_request *req)
{
	struct buf	 b = BUF_INITIALIZER;
	int		 r;

	if (metrics_render(&b) == -1) {
		buf_free(&b);
		return http_resp_error(c, req, 500, NULL, NULL,
		    "out of memory");
	}
	r = http_resp_send(c, req, 200, "text/plain; version=0.0.4; "
	    "charset=utf-8", b.data, b.len, NULL);
	buf_free(&b);
	return r;
}
