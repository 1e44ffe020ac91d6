/*
 * test_metrics: the server-tool counters, bumped by the web tools and by
 * callers, survive a worker's exit and come out in /metrics.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "metrics.h"
#include "scoreboard.h"
#include "tap.h"
#include "websearch.h"

static int
has_line(const char *text, const char *line)
{
	char	 want[256];

	snprintf(want, sizeof(want), "\n%s\n", line);
	return strstr(text, want) != NULL;
}

int
main(void)
{
	struct conf_web_search cw = { "tavily", "http://127.0.0.1:9", "k", 5, 1 };
	struct websearch_query	 q;
	struct websearch_results r;
	struct websearch_info	 info;
	struct buf		 b = BUF_INITIALIZER;
	int			 slot;

	ok(scoreboard_init() == 0, "scoreboard mapped");
	slot = scoreboard_claim(getpid(), 1);
	ok(slot >= 0, "a slot claimed");
	scoreboard_attach(slot);

	scoreboard_server_tool_done("web_search", "brave", 0);
	scoreboard_server_tool_done("web_search", "brave", 1);
	scoreboard_server_tool_done("web_fetch", "fetch", 1);
	scoreboard_server_tool_done("web_search", "google", 1);	/* ignored */
	memset(&q, 0, sizeof(q));
	q.query = "";
	is_int(websearch_run(&cw, &q, NULL, &r, &info),
	    WEBSEARCH_INVALID_TOOL_INPUT, "a refused query");

	ok(metrics_render(&b) == 0, "rendered");
	ok(has_line(b.data, "# TYPE claude_proxy_server_tool_calls_total "
	    "counter"), "calls family");
	ok(has_line(b.data, "claude_proxy_server_tool_calls_total{tool="
	    "\"web_search\",backend=\"brave\"} 2"), "brave: two calls");
	ok(has_line(b.data, "claude_proxy_server_tool_failures_total{tool="
	    "\"web_search\",backend=\"brave\"} 1"), "brave: one failure");
	ok(has_line(b.data, "claude_proxy_server_tool_calls_total{tool="
	    "\"web_search\",backend=\"tavily\"} 1"),
	    "websearch_run counts its call");
	ok(has_line(b.data, "claude_proxy_server_tool_failures_total{tool="
	    "\"web_search\",backend=\"tavily\"} 1"), "and its failure");
	ok(has_line(b.data, "claude_proxy_server_tool_failures_total{tool="
	    "\"web_fetch\",backend=\"fetch\"} 1"), "fetch failure");
	ok(has_line(b.data, "claude_proxy_server_tool_calls_total{tool="
	    "\"web_search\",backend=\"searxng\"} 0"),
	    "an unused backend shows 0");
	ok(strstr(b.data, "google") == NULL, "an unknown backend is not shown");

	/* the worker exits: its counts move to the retired totals */
	scoreboard_attach(-1);
	scoreboard_release(slot);
	buf_reset(&b);
	ok(metrics_render(&b) == 0 && has_line(b.data,
	    "claude_proxy_server_tool_calls_total{tool=\"web_search\","
	    "backend=\"brave\"} 2"), "counts survive the worker");
	buf_free(&b);
	return tap_done();
}
