/*
 * ratelimit_shm.c: the local backend of the key limits, in shared memory.
 *
 * Layout (struct lim_board, MAP_SHARED anonymous memory the master maps
 * before it forks, so every worker of every generation sees it):
 *
 *   lock        a process-shared, robust mutex over everything below
 *   entries[]   one per key name: the name, a tag, the current minute's
 *               request and input-token counts, the current day's
 *               output-token count
 *   holding[]   one per scoreboard slot: the entry (+1) whose concurrency
 *               place the worker in that slot holds, 0 = none
 *   warned      the minute of the last backend-failure log line
 *
 * One owner: only the master gives entries to names (ratelimit_sync, at
 * start and on every reload, before the new generation is forked); a name
 * that stays keeps its entry and so its counters. Workers find their keys'
 * entries through a table the master built for their configuration and
 * they inherited at fork; an entry given to another name gets a new tag,
 * and a worker of an older generation whose tag no longer matches counts
 * nothing on it.
 *
 * Concurrency is not a counter but the number of holding[] slots naming
 * the entry: a worker records its place in its own slot, and the master
 * clears the slot when it reaps the worker, so a worker killed in the
 * middle of a request (SIGKILL included) gives its place back. A worker
 * killed while holding the lock leaves a consistent board (each update is
 * a store or two of one entry), and the robust mutex lets the next locker
 * go on (EOWNERDEAD).
 *
 * Every check and charge of one admission happens under the lock, so the
 * counts are exact at the boundary however many workers admit at once.
 * Without a board (mapping failed, unit tests) every request is admitted.
 */
#include <sys/mman.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ratelimit.h"
#include "log.h"
#include "scoreboard.h"
#include "shmboard.h"

#define LIM_ENTRIES	2048	/* twice conf's 1000 keys: reloads reuse */
#define LIM_NAME	65

struct lim_entry {
	char		 name[LIM_NAME];	/* "" = free */
	uint32_t	 tag;
	int64_t		 minute;	/* start of the window of these two */
	int64_t		 requests;
	int64_t		 input;
	int64_t		 day;		/* start of the day of output */
	int64_t		 output;
};

struct lim_board {
	pthread_mutex_t	 lock;
	struct lim_entry entries[LIM_ENTRIES];
	int32_t		 holding[SB_MAX_SLOTS];
	int64_t		 warned;
};

static struct lim_board	*board;
static int		 my_slot = -1;
/* this generation's keys -> entries, parallel to conf->client_keys;
 * built by the master, inherited by the workers */
static int		*key_entry;
static uint32_t		*key_tag;
static size_t		 nkeys;

int
ratelimit_init(void)
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

static void
lim_lock(void)
{
	/* a worker that died holding it left the board consistent */
	shmboard_lock(&board->lock);
}

static void
lim_unlock(void)
{
	pthread_mutex_unlock(&board->lock);
}

static int
lim_held(int e)
{
	int	 i, n = 0;

	for (i = 0; i < SB_MAX_SLOTS; i++)
		n += __atomic_load_n(&board->holding[i], __ATOMIC_RELAXED) ==
		    e + 1;
	return n;
}

static int
lim_find(const char *name)
{
	int	 i;

	for (i = 0; i < LIM_ENTRIES; i++)
		if (strcmp(board->entries[i].name, name) == 0)
			return i;
	return -1;
}

static int
lim_named(const struct conf *c, const char *name)
{
	size_t	 i;

	for (i = 0; i < c->nclient_keys; i++)
		if (c->client_keys[i].limited &&
		    strcmp(c->client_keys[i].name, name) == 0)
			return 1;
	return 0;
}

/* a fresh entry for name: a free one, else one whose name left the
 * configuration and that no worker holds; -1 when there is none */
static int
lim_give(const struct conf *c, const char *name)
{
	struct lim_entry *e;
	int	 i, pick = -1;

	for (i = 0; i < LIM_ENTRIES && pick == -1; i++)
		if (board->entries[i].name[0] == '\0')
			pick = i;
	for (i = 0; i < LIM_ENTRIES && pick == -1; i++)
		if (!lim_named(c, board->entries[i].name) && lim_held(i) == 0)
			pick = i;
	if (pick == -1)
		return -1;
	e = &board->entries[pick];
	e->tag++;
	e->minute = e->requests = e->input = e->day = e->output = 0;
	strlcpy(e->name, name, sizeof(e->name));
	return pick;
}

int
ratelimit_sync(const struct conf *c)
{
	int		*entry;
	uint32_t	*tag;
	size_t		 i;
	int		 rv = 0;

	if (board == NULL)
		return 0;
	entry = calloc(c->nclient_keys + 1, sizeof(*entry));
	tag = calloc(c->nclient_keys + 1, sizeof(*tag));
	if (entry == NULL || tag == NULL) {
		free(entry);
		free(tag);
		return -1;
	}
	lim_lock();
	for (i = 0; i < c->nclient_keys && rv == 0; i++) {
		entry[i] = -1;
		if (!c->client_keys[i].limited)
			continue;
		if ((entry[i] = lim_find(c->client_keys[i].name)) == -1 &&
		    (entry[i] = lim_give(c, c->client_keys[i].name)) == -1)
			rv = -1;
		else
			tag[i] = board->entries[entry[i]].tag;
	}
	lim_unlock();
	if (rv == -1) {
		free(entry);
		free(tag);
		return -1;
	}
	free(key_entry);
	free(key_tag);
	key_entry = entry;
	key_tag = tag;
	nkeys = c->nclient_keys;
	return 0;
}

void
ratelimit_worker_gone(int slot)
{
	if (board != NULL && slot >= 0 && slot < SB_MAX_SLOTS)
		__atomic_store_n(&board->holding[slot], 0, __ATOMIC_RELAXED);
}

void
ratelimit_attach(int slot)
{
	my_slot = slot;
}

/* the key's entry in this generation, or -1 */
static int
lim_entry_of(const struct conf *c, const struct conf_client_key *k,
    uint32_t *tag)
{
	size_t	 i = (size_t)(k - c->client_keys);

	if (board == NULL || k < c->client_keys || i >= nkeys ||
	    key_entry == NULL || key_entry[i] < 0)
		return -1;
	*tag = key_tag[i];
	return board->entries[key_entry[i]].tag == *tag ? key_entry[i] : -1;
}

/* windows that ended start again from 0 */
static void
lim_roll(struct lim_entry *e, int64_t now)
{
	int64_t	 minute = ratelimit_window_start(LIM_REQUESTS, now);
	int64_t	 day = ratelimit_window_start(LIM_OUTPUT, now);

	if (e->minute != minute) {
		e->minute = minute;
		e->requests = e->input = 0;
	}
	if (e->day != day) {
		e->day = day;
		e->output = 0;
	}
}

static void
lim_usage(struct lim_entry *e, int i, struct ratelimit_usage *u)
{
	u->used[LIM_REQUESTS] = e->requests;
	u->used[LIM_INPUT] = e->input;
	u->used[LIM_OUTPUT] = e->output;
	u->used[LIM_CONCURRENT] = lim_held(i);
	u->known = 1;
}

/* the dimension that refuses, or -1; the longest wait is named first */
static int
lim_refuses(const struct conf_client_key *k, const struct ratelimit_usage *u,
    int64_t est)
{
	int64_t	 l;

	if ((l = ratelimit_limit(k, LIM_OUTPUT)) > 0 && u->used[LIM_OUTPUT] >= l)
		return LIM_OUTPUT;
	if ((l = ratelimit_limit(k, LIM_REQUESTS)) > 0 &&
	    u->used[LIM_REQUESTS] + 1 > l)
		return LIM_REQUESTS;
	/* the first request of a minute goes whatever its size: a request
	 * larger than the whole budget could never pass otherwise */
	if ((l = ratelimit_limit(k, LIM_INPUT)) > 0 && u->used[LIM_INPUT] > 0 &&
	    u->used[LIM_INPUT] + est > l)
		return LIM_INPUT;
	if ((l = ratelimit_limit(k, LIM_CONCURRENT)) > 0 &&
	    u->used[LIM_CONCURRENT] + 1 > l)
		return LIM_CONCURRENT;
	return -1;
}

int
ratelimit_shm_admit(const struct conf *c, const struct conf_client_key *k,
    int64_t est, struct ratelimit_ticket *t, struct ratelimit_usage *u)
{
	struct lim_entry *e;
	uint32_t	 tag;
	int		 i;

	if ((i = lim_entry_of(c, k, &tag)) == -1)
		return RATELIMIT_OK;
	if (est < 0)
		est = 0;
	e = &board->entries[i];
	lim_lock();
	lim_roll(e, u->now);
	lim_usage(e, i, u);
	if ((u->refused = lim_refuses(k, u, est)) != -1) {
		lim_unlock();
		return RATELIMIT_REFUSED;
	}
	e->requests++;
	e->input += est;
	if (ratelimit_limit(k, LIM_CONCURRENT) > 0 && my_slot >= 0 &&
	    my_slot < SB_MAX_SLOTS) {
		__atomic_store_n(&board->holding[my_slot], i + 1,
		    __ATOMIC_RELAXED);
		t->held = 1;
	}
	lim_usage(e, i, u);
	lim_unlock();
	t->backend = 1;
	t->entry = i;
	t->tag = tag;
	t->minute = e->minute;
	t->input_charged = est;
	return RATELIMIT_OK;
}

void
ratelimit_shm_peek(const struct conf *c, const struct conf_client_key *k,
    struct ratelimit_usage *u)
{
	struct lim_entry *e;
	uint32_t	 tag;
	int		 i;

	if ((i = lim_entry_of(c, k, &tag)) == -1)
		return;
	e = &board->entries[i];
	lim_lock();
	lim_roll(e, u->now);
	lim_usage(e, i, u);
	lim_unlock();
}

void
ratelimit_shm_settle(struct ratelimit_ticket *t, int64_t input, int64_t output)
{
	struct lim_entry *e;

	if (board == NULL)
		return;
	e = &board->entries[t->entry];
	lim_lock();
	if (e->tag == t->tag) {
		/* the estimate gives way to the upstream's count, in the
		 * minute it was charged to (if that is still the current) */
		if (e->minute == t->minute && input >= 0) {
			e->input += input - t->input_charged;
			if (e->input < 0)
				e->input = 0;
		}
		lim_roll(e, (int64_t)time(NULL));
		if (output > 0)
			e->output += output;
	}
	if (t->held && my_slot >= 0 && my_slot < SB_MAX_SLOTS)
		__atomic_store_n(&board->holding[my_slot], 0, __ATOMIC_RELAXED);
	t->held = 0;
	lim_unlock();
}

int
ratelimit_shm_claim_warning(int64_t minute)
{
	int64_t	 last;

	if (board == NULL)
		return 1;
	last = __atomic_load_n(&board->warned, __ATOMIC_RELAXED);
	return last != minute && __atomic_compare_exchange_n(&board->warned,
	    &last, minute, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}
