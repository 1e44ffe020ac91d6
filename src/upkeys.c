/*
 * upkeys.c: the state of every provider's api_keys, in shared memory.
 *
 * Layout (struct upkeys_board, MAP_SHARED anonymous memory the master maps
 * before it forks, as the scoreboard and the local limits are, so every
 * worker of every generation sees it):
 *
 *   groups[]     one per provider with api_keys: its name, a tag, the
 *                number of keys, the turn counter, and per key whether it
 *                is set aside, until when it cools down (CLOCK_MONOTONIC
 *                ms, one clock for every process of the machine) and its
 *                request and failure counts
 *
 * One owner: only the master gives groups to providers (upkeys_sync, at
 * start and on every reload, before the new generation is forked). A
 * provider whose name and keys stay keeps its group and the keys' states;
 * a provider whose keys changed gets its group back zeroed under a new
 * tag. Workers reach their providers' groups through a table the master
 * built for their configuration and they inherited at fork; a worker of
 * an older generation whose tag no longer matches (its provider's keys
 * changed or left) picks keys at random and records nothing.
 *
 * Workers only ever do single atomic operations on a group's counters and
 * key states: the turn is a fetch-and-add, being set aside a store of 1,
 * a cooldown a store of its end. No lock, so a worker killed at any point
 * leaves the table consistent. Two workers may pick a key at the same
 * moment that a third sets aside; that attempt is answered 401/403 too
 * and changes nothing.
 *
 * A 401 says the key is bad. A 403 may say the same (a key without access
 * to the model) or speak of the request (OpenRouter's moderation flag, a
 * region): set aside on the first 403, one such request would set aside
 * every key in turn until a reload. So a 403 only counts, and the caller
 * that tries another key for the same request sets the first aside when
 * the other is served (upkeys_note: a 2xx); a request every key refuses
 * changes no key's state.
 *
 * Promises: no key's value is ever in the table or in a log line (keys
 * are named by their index in api_keys); a set-aside key stays so until a
 * reload that changes the provider's keys, or a restart. Without a table
 * (mapping failed) keys are picked at random and never set aside.
 */

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "upkeys.h"
#include "shmboard.h"

#define UPKEYS_GROUPS	128	/* providers with api_keys, reloads reuse */
#define UPKEYS_NAME	256

const char *const upkeys_state_names[UPKEYS_NSTATES] = { "active",
	"cooling", "set_aside" };

struct upkeys_key {
	uint32_t	 set_aside;
	uint64_t	 cool_until_ms;
	uint64_t	 requests;
	uint64_t	 failures;
};

struct upkeys_group {
	char		 name[UPKEYS_NAME];	/* "" = free */
	uint32_t	 tag;
	uint32_t	 nkeys;
	uint64_t	 turn;
	struct upkeys_key keys[UPKEYS_MAX_KEYS];
};

struct upkeys_board {
	struct upkeys_group groups[UPKEYS_GROUPS];
};

/* this generation's providers -> groups; built by the master, inherited
 * by the workers */
struct upkeys_map {
	const struct conf_provider *p;
	int		 group;
	uint32_t	 tag;
};

static struct upkeys_board	*board;
static struct upkeys_map	*map;
static size_t			 nmap;

#define LOAD(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define ADD(p, v)	__atomic_fetch_add((p), (v), __ATOMIC_RELAXED)

int
upkeys_init(void)
{
	if ((board = shmboard_map(sizeof(*board))) == NULL)
		return -1;
	return 0;
}

/* the same keys in the same order */
static int
upkeys_same(const struct conf_provider *a, const struct conf_provider *b)
{
	size_t	 i;

	if (a->napi_keys != b->napi_keys)
		return 0;
	for (i = 0; i < a->napi_keys; i++)
		if (strcmp(a->api_keys[i], b->api_keys[i]) != 0)
			return 0;
	return 1;
}

static const struct conf_provider *
upkeys_named(const struct conf *c, const char *name)
{
	size_t	 i;

	for (i = 0; c != NULL && i < c->nproviders; i++)
		if (c->providers[i].napi_keys > 0 &&
		    strcmp(c->providers[i].name, name) == 0)
			return &c->providers[i];
	return NULL;
}

/* a group for fresh provider p: its own when the keys stayed, else a free
 * one, or one whose provider left, zeroed under a new tag; -1 = none */
static int
upkeys_group_for(const struct conf *old, const struct conf *fresh,
    const struct conf_provider *p, const unsigned char *claimed)
{
	const struct conf_provider *was;
	struct upkeys_group *g;
	int		 i, pick = -1;

	for (i = 0; i < UPKEYS_GROUPS && pick == -1; i++)
		if (!claimed[i] && strncmp(board->groups[i].name, p->name,
		    UPKEYS_NAME - 1) == 0)
			pick = i;
	if (pick != -1 && (was = upkeys_named(old, p->name)) != NULL &&
	    upkeys_same(was, p) && board->groups[pick].nkeys == p->napi_keys) {
		/* the operator reloads after mending a key at the vendor:
		 * set-aside keys get another chance; counts and cooldowns
		 * (the vendor's own word on when) stay */
		for (i = 0; i < (int)p->napi_keys; i++)
			STORE(&board->groups[pick].keys[i].set_aside, 0);
		return pick;
	}
	for (i = 0; i < UPKEYS_GROUPS && pick == -1; i++)
		if (!claimed[i] && board->groups[i].name[0] == '\0')
			pick = i;
	for (i = 0; i < UPKEYS_GROUPS && pick == -1; i++)
		if (!claimed[i] && upkeys_named(fresh,
		    board->groups[i].name) == NULL)
			pick = i;
	if (pick == -1)
		return -1;
	g = &board->groups[pick];
	STORE(&g->tag, g->tag + 1);
	memset(g->keys, 0, sizeof(g->keys));
	g->turn = 0;
	g->nkeys = (uint32_t)p->napi_keys;
	strlcpy(g->name, p->name, sizeof(g->name));
	return pick;
}

void
upkeys_sync(const struct conf *old, const struct conf *fresh)
{
	unsigned char	 claimed[UPKEYS_GROUPS];
	struct upkeys_map *m;
	size_t		 i, n = 0;
	int		 g;

	if ((m = calloc(fresh->nproviders + 1, sizeof(*m))) == NULL) {
		log_warnx("no memory for the api_keys table: keys are "
		    "picked at random");
		free(map);
		map = NULL;
		nmap = 0;
		return;
	}
	memset(claimed, 0, sizeof(claimed));
	for (i = 0; i < fresh->nproviders; i++) {
		const struct conf_provider *p = &fresh->providers[i];

		if (p->napi_keys == 0)
			continue;
		g = board != NULL ? upkeys_group_for(old, fresh, p, claimed) :
		    -1;
		if (g == -1 && board != NULL)
			log_warnx("provider %s: no room for the state of its "
			    "api_keys: they are picked at random", p->name);
		m[n].p = p;
		m[n].group = g;
		if (g != -1) {
			claimed[g] = 1;
			m[n].tag = board->groups[g].tag;
		}
		n++;
	}
	free(map);
	map = m;
	nmap = n;
}

/* p's group in this generation, or NULL */
static struct upkeys_group *
upkeys_group(const struct conf_provider *p)
{
	struct upkeys_group *g;
	size_t	 i;

	for (i = 0; i < nmap; i++) {
		if (map[i].p != p)
			continue;
		if (map[i].group < 0)
			return NULL;
		g = &board->groups[map[i].group];
		return LOAD(&g->tag) == map[i].tag ? g : NULL;
	}
	return NULL;
}

/* usable now; else *wait_ms until it is (0 = never) */
static int
upkeys_key_usable(struct upkeys_key *k, uint64_t now_ms, uint64_t *wait_ms)
{
	uint64_t	 until;

	*wait_ms = 0;
	if (LOAD(&k->set_aside))
		return 0;
	if ((until = LOAD(&k->cool_until_ms)) > now_ms) {
		*wait_ms = until - now_ms;
		return 0;
	}
	return 1;
}

#define SKIPPED(skip, k)	((k) < 32 && ((skip) >> (k) & 1))

/* without a table: one at random among those not skipped */
static int
upkeys_random(const struct conf_provider *p, uint32_t skip)
{
	size_t	 k, n = 0, pick;

	for (k = 0; k < p->napi_keys; k++)
		if (!SKIPPED(skip, k))
			n++;
	if (n == 0)
		return -1;
	pick = arc4random_uniform((uint32_t)n);
	for (k = 0; k < p->napi_keys; k++)
		if (!SKIPPED(skip, k) && pick-- == 0)
			break;
	return (int)k;
}

int
upkeys_pick(const struct conf_provider *p, uint64_t now_ms,
    uint64_t *wait_ms, uint32_t skip)
{
	struct upkeys_group *g;
	uint64_t	 start, wait, soonest = 0;
	size_t		 i, k, n;

	*wait_ms = 0;
	if (p->napi_keys == 0)
		return 0;
	if ((g = upkeys_group(p)) == NULL)
		return upkeys_random(p, skip);
	/* a group the master is handing to a new generation may hold more
	 * keys than this one knows: never index past p->api_keys */
	n = LOAD(&g->nkeys) < p->napi_keys ? LOAD(&g->nkeys) : p->napi_keys;
	start = ADD(&g->turn, 1);
	for (i = 0; i < n; i++) {
		k = (size_t)((start + i) % n);
		if (SKIPPED(skip, k))
			continue;
		if (upkeys_key_usable(&g->keys[k], now_ms, &wait)) {
			ADD(&g->keys[k].requests, 1);
			return (int)k;
		}
		if (wait > 0 && (soonest == 0 || wait < soonest))
			soonest = wait;
	}
	*wait_ms = soonest;
	return -1;
}

int64_t
upkeys_wait_ms(const struct conf_provider *p, uint64_t now_ms,
    uint32_t skip)
{
	struct upkeys_group *g;
	uint64_t	 wait, soonest = 0;
	size_t		 k, n;

	if (p->napi_keys == 0 || (g = upkeys_group(p)) == NULL)
		return 0;
	n = LOAD(&g->nkeys) < p->napi_keys ? LOAD(&g->nkeys) : p->napi_keys;
	for (k = 0; k < n; k++) {
		if (SKIPPED(skip, k))
			continue;
		if (upkeys_key_usable(&g->keys[k], now_ms, &wait))
			return 0;
		if (wait > 0 && (soonest == 0 || wait < soonest))
			soonest = wait;
	}
	return soonest > 0 ? (int64_t)soonest : -1;
}

int
upkeys_usable(const struct conf_provider *p, uint64_t now_ms, uint32_t skip)
{
	struct upkeys_group *g;
	uint64_t	 wait;
	size_t		 k;

	if (p->napi_keys == 0)
		return 1;
	if ((g = upkeys_group(p)) == NULL)
		return upkeys_random(p, skip) >= 0;
	for (k = 0; k < g->nkeys && k < p->napi_keys; k++)
		if (!SKIPPED(skip, k) &&
		    upkeys_key_usable(&g->keys[k], now_ms, &wait))
			return 1;
	return 0;
}

void
upkeys_report(const struct conf_provider *p, int i, long status,
    int64_t cooldown_ms, uint64_t now_ms, const char *request_id)
{
	struct upkeys_group *g;
	struct upkeys_key *k;

	if (p->napi_keys == 0 || (g = upkeys_group(p)) == NULL || i < 0 ||
	    (uint32_t)i >= g->nkeys)
		return;
	k = &g->keys[i];
	if (status / 100 == 2)
		return;
	ADD(&k->failures, 1);
	if (status == 401)
		upkeys_set_aside(p, i, status, -1, request_id);
	else if (status == 429) {
		if (cooldown_ms < 0)
			cooldown_ms = UPKEYS_COOLDOWN_MS;
		STORE(&k->cool_until_ms, now_ms + (uint64_t)cooldown_ms);
		log_info("%s provider %s: api_keys[%d] answered 429: cooling "
		    "down for %lld ms", request_id, p->name, i,
		    (long long)cooldown_ms);
	}
}

void
upkeys_set_aside(const struct conf_provider *p, int i, long status,
    int other_key, const char *request_id)
{
	struct upkeys_group *g;

	if (p->napi_keys == 0 || (g = upkeys_group(p)) == NULL || i < 0 ||
	    (uint32_t)i >= g->nkeys)
		return;
	if (__atomic_exchange_n(&g->keys[i].set_aside, 1, __ATOMIC_RELAXED))
		return;
	if (other_key >= 0)
		log_warnx("%s provider %s: api_keys[%d] answered %ld where "
		    "api_keys[%d] was served: set aside until a reload or "
		    "restart", request_id, p->name, i, status, other_key);
	else
		log_warnx("%s provider %s: api_keys[%d] answered %ld: set "
		    "aside until a reload or restart", request_id, p->name, i,
		    status);
}

void
upkeys_note(const struct conf_provider *p, struct upkeys_request *r, int i,
    long status, const char *request_id)
{
	size_t	 k;

	if (p->napi_keys == 0 || i < 0 || i >= 32 || status == 0)
		return;
	if (status == 401 || status == 403) {
		r->refused |= UINT32_C(1) << i;
		if (status == 403)
			r->forbidden |= UINT32_C(1) << i;
		return;
	}
	/* only an answer proves the other key was served: a 429, a 5xx or
	 * a 400 may come before or instead of the check that said 403 */
	if (status / 100 != 2)
		return;
	for (k = 0; k < 32 && r->forbidden != 0; k++)
		if (r->forbidden >> k & 1) {
			upkeys_set_aside(p, (int)k, 403, i, request_id);
			r->forbidden &= ~(UINT32_C(1) << k);
		}
}

int
upkeys_stat(const struct conf_provider *p, size_t i, uint64_t now_ms,
    struct upkeys_stat *st)
{
	struct upkeys_group *g;
	struct upkeys_key *k;
	uint64_t	 wait;

	memset(st, 0, sizeof(*st));
	if (i >= p->napi_keys)
		return -1;
	if ((g = upkeys_group(p)) == NULL || i >= g->nkeys)
		return 0;	/* no table: active, nothing counted */
	k = &g->keys[i];
	st->requests = LOAD(&k->requests);
	st->failures = LOAD(&k->failures);
	if (!upkeys_key_usable(k, now_ms, &wait))
		st->state = wait > 0 ? UPKEYS_COOLING : UPKEYS_SET_ASIDE;
	return 0;
}
