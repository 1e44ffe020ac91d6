/*
 * keystats.c: /metrics by client key and model, and by route.
 *
 * Two tables of labelled counters in shared memory the master maps before
 * it forks (struct ks_board): one row per (key name, model id) with the
 * requests, errors, the four token counts and server-tool calls; one row
 * per (route name, model id) with the decisions. Rows are found by a hash
 * of their labels with linear probing. A worker adds to a row with atomic
 * additions, so counts are exact and survive the worker; a row is created
 * once, under a robust process-shared mutex (a worker killed holding it
 * cannot wedge the others), and published by its state with release
 * order, so readers never see half-written labels. Rows are never
 * removed: labels are names from the configuration, bounded by it, and a
 * full table counts the rest in its last row, labelled "(other)".
 *
 * Without a board (mapping failed, unit tests) every call is a no-op.
 */
#include <sys/mman.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "keystats.h"
#include "shmboard.h"

#define KS_KEY_ROWS	4096
#define KS_ROUTE_ROWS	1024
#define KS_LABEL	97

enum { ROW_FREE = 0, ROW_READY = 2 };

struct ks_row {
	uint32_t	 state;
	char		 a[KS_LABEL];	/* key or route name */
	char		 b[KS_LABEL];	/* model id */
	uint64_t	 n[KS_NCOUNTERS];
};

struct ks_board {
	pthread_mutex_t	 lock;
	struct ks_row	 keys[KS_KEY_ROWS];
	struct ks_row	 routes[KS_ROUTE_ROWS];
};

static struct ks_board	*board;

int
keystats_init(void)
{
	if ((board = shmboard_map(sizeof(*board))) == NULL)
		return -1;
	if (shmboard_mutex_init(&board->lock) == -1) {
		munmap(board, sizeof(*board));
		board = NULL;
		return -1;
	}
	return 0;
}

static uint32_t
ks_hash(const char *a, const char *b)
{
	uint32_t	 h = 2166136261u;	/* FNV-1a */

	for (; *a; a++)
		h = (h ^ (unsigned char)*a) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (; *b; b++)
		h = (h ^ (unsigned char)*b) * 16777619u;
	return h;
}

static int
ks_is(const struct ks_row *r, const char *a, const char *b)
{
	return strncmp(r->a, a, KS_LABEL - 1) == 0 &&
	    strncmp(r->b, b, KS_LABEL - 1) == 0;
}

/* the row of (a, b), made when missing; the last row takes the rest */
static struct ks_row *
ks_row(struct ks_row *rows, size_t nrows, const char *a, const char *b)
{
	size_t		 start = ks_hash(a, b) % (nrows - 1), i, at;
	struct ks_row	*r;

	for (i = 0; i < nrows - 1; i++) {
		r = &rows[(start + i) % (nrows - 1)];
		if (__atomic_load_n(&r->state, __ATOMIC_ACQUIRE) != ROW_READY)
			break;
		if (ks_is(r, a, b))
			return r;
	}
	shmboard_lock(&board->lock);
	/* again under the lock: another worker may have made it */
	for (i = 0; i < nrows - 1; i++) {
		at = (start + i) % (nrows - 1);
		r = &rows[at];
		if (r->state == ROW_READY) {
			if (ks_is(r, a, b))
				break;
			continue;
		}
		memset(r->n, 0, sizeof(r->n));
		snprintf(r->a, sizeof(r->a), "%s", a);
		snprintf(r->b, sizeof(r->b), "%s", b);
		__atomic_store_n(&r->state, ROW_READY, __ATOMIC_RELEASE);
		break;
	}
	if (i == nrows - 1) {
		r = &rows[nrows - 1];
		if (r->state != ROW_READY) {
			snprintf(r->a, sizeof(r->a), "(other)");
			snprintf(r->b, sizeof(r->b), "(other)");
			__atomic_store_n(&r->state, ROW_READY,
			    __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&board->lock);
	return r;
}

void
keystats_add(const char *key, const char *model, const uint64_t *n)
{
	struct ks_row	*r;
	size_t		 i;

	if (board == NULL)
		return;
	r = ks_row(board->keys, KS_KEY_ROWS, key, model);
	for (i = 0; i < KS_NCOUNTERS; i++)
		if (n[i] != 0)
			__atomic_add_fetch(&r->n[i], n[i], __ATOMIC_RELAXED);
}

void
keystats_route(const char *route, const char *model)
{
	struct ks_row	*r;

	if (board == NULL)
		return;
	r = ks_row(board->routes, KS_ROUTE_ROWS, route, model);
	__atomic_add_fetch(&r->n[0], 1, __ATOMIC_RELAXED);
}

static void
label(struct buf *b, const char *s)
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
sample(struct buf *b, const char *family, const char *l1, const char *v1,
    const struct ks_row *r, const char *extra, uint64_t n)
{
	buf_printf(b, "%s{%s=\"", family, l1);
	label(b, v1);
	buf_puts(b, "\",model=\"");
	label(b, r->b);
	buf_printf(b, "\"%s} %llu\n", extra, (unsigned long long)n);
}

/* every ready row of rows, one family */
static void
family(struct buf *b, const struct ks_row *rows, size_t nrows,
    const char *name, const char *help, const char *l1, int counter,
    const char *extra)
{
	size_t	 i;

	if (help != NULL)
		buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help,
		    name);
	for (i = 0; i < nrows; i++)
		if (__atomic_load_n(&rows[i].state, __ATOMIC_ACQUIRE) ==
		    ROW_READY)
			sample(b, name, l1, rows[i].a, &rows[i], extra ? extra :
			    "", __atomic_load_n(&rows[i].n[counter],
			    __ATOMIC_RELAXED));
}

void
keystats_render(struct buf *b)
{
	static const char *const types[] = { "input", "output", "cache_read",
	    "cache_creation" };
	char	 extra[48];
	size_t	 t;

	if (board == NULL)
		return;
	family(b, board->keys, KS_KEY_ROWS, "claude_proxy_key_requests_total",
	    "Messages requests, by client key and model served.", "key",
	    KS_REQUESTS, NULL);
	family(b, board->keys, KS_KEY_ROWS, "claude_proxy_key_errors_total",
	    "Messages requests answered with an error status (4xx, 5xx, "
	    "499), by client key and model.", "key", KS_ERRORS, NULL);
	buf_puts(b, "# HELP claude_proxy_key_tokens_total Tokens used, by "
	    "client key, model and type (input is uncached input).\n"
	    "# TYPE claude_proxy_key_tokens_total counter\n");
	for (t = 0; t < 4; t++) {
		snprintf(extra, sizeof(extra), ",type=\"%s\"", types[t]);
		family(b, board->keys, KS_KEY_ROWS,
		    "claude_proxy_key_tokens_total", NULL, "key",
		    KS_INPUT + (int)t, extra);
	}
	family(b, board->keys, KS_KEY_ROWS,
	    "claude_proxy_key_server_tool_calls_total", "Server-tool calls "
	    "(web search, web fetch), by client key and model.", "key",
	    KS_SERVER_TOOLS, NULL);
	family(b, board->routes, KS_ROUTE_ROWS,
	    "claude_proxy_route_requests_total", "Requests whose model a "
	    "route chose, by route and model.", "route", 0, NULL);
}
