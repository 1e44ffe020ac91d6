/*
 * scoreboard.c: process-shared worker slots and counters.
 *
 * MAP_SHARED anonymous memory mapped by the master before it forks, so the
 * master and every worker of every generation see the same slots. Each
 * worker writes only its own slot and counters, with relaxed atomic
 * stores; the master claims a slot at fork and, when it reaps the worker,
 * adds the slot's counters to "retired" before freeing it, so counters
 * never go backwards. Without a board (mapping failed, or a unit test)
 * every call is a no-op.
 *
 * Sized for thousands of workers without costing thousands: the master
 * claims the lowest free slot and keeps "used" one past the highest slot
 * in use, and every scan stops there, so a pool of 8 reads 8 slots. The
 * slots are small and packed (a worker scans them at each connection it
 * takes); the counters, about 2.5 KiB a worker, sit in their own array
 * that only its worker and /metrics touch. Pages of the mapping that no
 * worker has used are never touched, so they take no memory.
 */

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "scoreboard.h"
#include "util.h"
#include "shmboard.h"

_Static_assert(SB_MAX_SLOTS >= CONF_MAX_WORKERS,
    "a slot for every worker max_workers allows");

const int sb_codes[SB_NCODES] = { 200, 400, 401, 403, 404, 405, 408, 413,
	417, 429, 431, 499, 500, 501, 502, 503, 504, 505, 529, 100, 0 };
const char *const sb_endpoint_names[SB_NENDPOINTS] = { "/", "/v1/models",
	"/v1/messages", "/v1/messages/count_tokens", "/metrics", "other" };
const char *const sb_server_tools[SB_NSERVER_TOOLS][2] = {
	{ "web_search", "tavily" }, { "web_search", "searxng" },
	{ "web_search", "brave" }, { "web_fetch", "fetch" },
};
const double sb_bucket_seconds[SB_NBUCKETS] = { 0.05, 0.1, 0.25, 0.5, 1,
	2.5, 5, 10, 30, 60, 120, 300, -1 };

/* one worker's counters, written only by that worker */
struct sb_stats {
	uint64_t		 served;
	struct sb_counters	 c;
};

struct scoreboard {
	unsigned		 seq;	/* odd while the master folds a slot */
	int			 used;	/* slots [0, used) may be in use */
	int			 growth_asked;	/* a worker signalled the master */
	struct sb_counters	 retired;
	uint64_t		 retired_served;
	struct sb_slot		 slots[SB_MAX_SLOTS];
	struct sb_stats		 stats[SB_MAX_SLOTS];
};

static struct scoreboard	*board;
static struct sb_slot		*mine;	/* a worker's own slot */
static struct sb_stats		*mystats;	/* and its counters */

#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define LOAD(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define ADD(p, v)	__atomic_add_fetch((p), (v), __ATOMIC_RELAXED)

int
scoreboard_init(void)
{
	if ((board = shmboard_map(sizeof(*board))) == NULL)
		return -1;
	return 0;
}

struct sb_slot *
scoreboard_slot(int i)
{
	if (board == NULL || i < 0 || i >= SB_MAX_SLOTS)
		return NULL;
	return &board->slots[i];
}

int
scoreboard_slots_used(void)
{
	return board != NULL ? LOAD(&board->used) : 0;
}

int
scoreboard_claim(pid_t pid, unsigned generation)
{
	struct sb_slot	*s;
	int		 i;

	if (board == NULL)
		return -1;
	for (i = 0; i < SB_MAX_SLOTS; i++) {
		s = &board->slots[i];
		if (LOAD(&s->state) != SB_EMPTY)
			continue;
		memset(s, 0, sizeof(*s));
		memset(&board->stats[i], 0, sizeof(board->stats[i]));
		s->pid = pid;
		s->generation = generation;
		s->state_since_ms = util_now_ms();
		STORE(&s->state, SB_STARTING);
		if (i >= board->used)
			STORE(&board->used, i + 1);
		return i;
	}
	return -1;
}

static void
fold(struct sb_counters *to, const struct sb_counters *from)
{
	size_t	 e, k, p, q;

	for (e = 0; e < SB_NENDPOINTS; e++)
		for (k = 0; k < SB_NCODES; k++)
			to->requests[e][k] += LOAD(&from->requests[e][k]);
	for (k = 0; k < SB_NBUCKETS; k++)
		to->latency[k] += LOAD(&from->latency[k]);
	to->latency_count += LOAD(&from->latency_count);
	for (k = 0; k < SB_NSERVER_TOOLS; k++) {
		to->server_tool_calls[k] += LOAD(&from->server_tool_calls[k]);
		to->server_tool_failures[k] +=
		    LOAD(&from->server_tool_failures[k]);
	}
	to->latency_ms_sum += LOAD(&from->latency_ms_sum);
	for (p = 0; p < SB_MAX_PROVIDERS; p++) {
		const struct sb_provider *fp = &from->providers[p];
		if (fp->name[0] == '\0')
			continue;
		for (q = 0; q < SB_MAX_PROVIDERS; q++) {
			struct sb_provider *tp = &to->providers[q];
			if (tp->name[0] == '\0')
				memcpy(tp->name, fp->name, sizeof(tp->name));
			if (strcmp(tp->name, fp->name) == 0) {
				tp->requests += LOAD(&fp->requests);
				tp->errors += LOAD(&fp->errors);
				tp->retries += LOAD(&fp->retries);
				break;
			}
		}
	}
}

void
scoreboard_release(int i)
{
	struct sb_slot	*s = scoreboard_slot(i);

	if (s == NULL)
		return;
	/* a seqlock: readers retry rather than count the slot twice */
	__atomic_add_fetch(&board->seq, 1, __ATOMIC_SEQ_CST);
	fold(&board->retired, &board->stats[i].c);
	board->retired_served += LOAD(&board->stats[i].served);
	s->pid = 0;
	STORE(&s->state, SB_EMPTY);
	__atomic_add_fetch(&board->seq, 1, __ATOMIC_SEQ_CST);
	/* the scans stop earlier once the top slots are free */
	if (i == board->used - 1) {
		while (i > 0 && LOAD(&board->slots[i - 1].state) == SB_EMPTY)
			i--;
		STORE(&board->used, i);
	}
}

/* run a reader until it saw no fold in between (bounded: the master
 * folds one slot at a time, briefly) */
static unsigned
read_begin(void)
{
	unsigned	 seq;
	int		 spins = 0;

	while ((seq = __atomic_load_n(&board->seq, __ATOMIC_SEQ_CST)) & 1)
		if (++spins > 1000000)
			break;
	return seq;
}

static int
read_retry(unsigned seq)
{
	return __atomic_load_n(&board->seq, __ATOMIC_SEQ_CST) != seq;
}

int
scoreboard_find(pid_t pid)
{
	int	 i;

	if (board == NULL)
		return -1;
	for (i = 0; i < LOAD(&board->used); i++)
		if (board->slots[i].pid == pid &&
		    LOAD(&board->slots[i].state) != SB_EMPTY)
			return i;
	return -1;
}

void
scoreboard_attach(int i)
{
	mine = scoreboard_slot(i);
	mystats = mine != NULL ? &board->stats[i] : NULL;
}

int
scoreboard_ask_growth(void)
{
	if (board == NULL)
		return 0;
	return __atomic_exchange_n(&board->growth_asked, 1,
	    __ATOMIC_RELAXED) == 0;
}

void
scoreboard_growth_heard(void)
{
	if (board != NULL)
		STORE(&board->growth_asked, 0);
}

void
scoreboard_set_state(int state)
{
	if (mine == NULL)
		return;
	STORE(&mine->state_since_ms, util_now_ms());
	STORE(&mine->state, state);
}

void
scoreboard_set_streaming(int on)
{
	if (mine != NULL)
		STORE(&mine->streaming, on);
}

static size_t
code_index(int status)
{
	size_t	 k;

	for (k = 0; k < SB_NCODES - 1; k++)
		if (sb_codes[k] == status)
			return k;
	return SB_NCODES - 1;
}

void
scoreboard_request_done(enum sb_endpoint ep, int status)
{
	if (mine == NULL || (unsigned)ep >= SB_NENDPOINTS)
		return;
	ADD(&mystats->c.requests[ep][code_index(status)], 1);
	ADD(&mystats->served, 1);
}

/* this worker's counters of provider, or NULL when the table is full */
static struct sb_provider *
my_provider(const char *provider)
{
	struct sb_provider	*p;
	size_t			 k;

	for (k = 0; k < SB_MAX_PROVIDERS; k++) {
		p = &mystats->c.providers[k];
		if (p->name[0] == '\0') {
			/* only this worker writes its slot: no race */
			snprintf(p->name, sizeof(p->name), "%s", provider);
		}
		if (strncmp(p->name, provider, sizeof(p->name) - 1) == 0)
			return p;
	}
	return NULL;
}

void
scoreboard_upstream_done(const char *provider, long ms, int failed)
{
	struct sb_provider	*p;
	size_t			 k;

	if (mine == NULL)
		return;
	if (ms >= 0) {
		for (k = 0; k < SB_NBUCKETS - 1; k++)
			if ((double)ms <= sb_bucket_seconds[k] * 1000)
				break;
		ADD(&mystats->c.latency[k], 1);
		ADD(&mystats->c.latency_count, 1);
		ADD(&mystats->c.latency_ms_sum, (uint64_t)ms);
	}
	if ((p = my_provider(provider)) != NULL) {
		ADD(&p->requests, 1);
		if (failed)
			ADD(&p->errors, 1);
	}
}

void
scoreboard_upstream_retry(const char *provider)
{
	struct sb_provider	*p;

	if (mine != NULL && (p = my_provider(provider)) != NULL)
		ADD(&p->retries, 1);
}

void
scoreboard_server_tool_done(const char *tool, const char *backend,
    int failed)
{
	size_t	 k;

	if (mine == NULL || tool == NULL || backend == NULL)
		return;
	for (k = 0; k < SB_NSERVER_TOOLS; k++)
		if (strcmp(sb_server_tools[k][0], tool) == 0 &&
		    strcmp(sb_server_tools[k][1], backend) == 0) {
			ADD(&mystats->c.server_tool_calls[k], 1);
			if (failed)
				ADD(&mystats->c.server_tool_failures[k], 1);
			return;
		}
}

uint64_t
scoreboard_requests(void)
{
	uint64_t	 n;
	unsigned	 seq;
	int		 i, tries = 0;

	if (board == NULL)
		return 0;
	do {
		seq = read_begin();
		n = board->retired_served;
		for (i = 0; i < LOAD(&board->used); i++)
			if (LOAD(&board->slots[i].state) != SB_EMPTY)
				n += LOAD(&board->stats[i].served);
	} while (read_retry(seq) && ++tries < 100);
	return n;
}

void
scoreboard_count_states(unsigned generation, int *starting, int *idle,
    int *busy)
{
	int	 i, st;

	*starting = *idle = *busy = 0;
	if (board == NULL)
		return;
	for (i = 0; i < LOAD(&board->used); i++) {
		if (board->slots[i].generation != generation)
			continue;
		st = LOAD(&board->slots[i].state);
		if (st == SB_STARTING)
			(*starting)++;
		else if (st == SB_IDLE)
			(*idle)++;
		else if (st == SB_BUSY)
			(*busy)++;
	}
}

void
scoreboard_totals(struct sb_counters *out, int *busy, int *idle,
    int *streams)
{
	unsigned seq;
	int	 i, st, tries = 0;

	if (board == NULL) {
		memset(out, 0, sizeof(*out));
		*busy = *idle = *streams = 0;
		return;
	}
again:
	memset(out, 0, sizeof(*out));
	*busy = *idle = *streams = 0;
	seq = read_begin();
	fold(out, &board->retired);
	for (i = 0; i < LOAD(&board->used); i++) {
		struct sb_slot *s = &board->slots[i];
		st = LOAD(&s->state);
		if (st == SB_EMPTY)
			continue;
		fold(out, &board->stats[i].c);
		if (st == SB_BUSY)
			(*busy)++;
		else if (st == SB_IDLE || st == SB_STARTING)
			(*idle)++;
		*streams += LOAD(&s->streaming) ? 1 : 0;
	}
	if (read_retry(seq) && ++tries < 100)
		goto again;
}
