/*
 * upkeys: the state of every provider's api_keys, shared by all workers:
 * keys used in turn, set aside after a 401 (or a 403 another key did not
 * get for the same request), cooling down after 429.
 */
#ifndef CP_UPKEYS_H
#define CP_UPKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define UPKEYS_MAX_KEYS		32	/* per provider (conf_upkeys.c too) */
#define UPKEYS_COOLDOWN_MS	30000	/* a 429 without a usable retry-after */

enum upkeys_state { UPKEYS_ACTIVE, UPKEYS_COOLING, UPKEYS_SET_ASIDE,
	UPKEYS_NSTATES };
extern const char *const upkeys_state_names[UPKEYS_NSTATES];

/* one key as /metrics shows it */
struct upkeys_stat {
	enum upkeys_state state;
	uint64_t	 requests;	/* attempts it was chosen for */
	uint64_t	 failures;	/* ... that failed (any non-2xx, transport) */
};

/* master: map the table before forking; -1 = no table (keys are then
 * picked at random, never set aside) */
int	 upkeys_init(void);
/* master: the keys of fresh come into force (at start with old NULL, on
 * every reload before the new generation is forked): a provider whose
 * name and keys stay keeps their states, any other starts afresh */
void	 upkeys_sync(const struct conf *old, const struct conf *fresh);

/* worker: the index in p->api_keys of the key for the next attempt, taken
 * in turn among the usable ones not in skip (bit i: key i, those this
 * request had refused); -1 when every other key is set aside or cooling
 * (*wait_ms: until the first cooling one is usable again, 0 when none
 * will be). A provider without api_keys: 0. */
int	 upkeys_pick(const struct conf_provider *p, uint64_t now_ms,
	    uint64_t *wait_ms, uint32_t skip);
/* is a key not in skip usable now (nothing is taken)? */
int	 upkeys_usable(const struct conf_provider *p, uint64_t now_ms,
	    uint32_t skip);
/* ms until a key of p not in skip is usable: 0 now, -1 never (every one
 * set aside or skipped) */
int64_t	 upkeys_wait_ms(const struct conf_provider *p, uint64_t now_ms,
	    uint32_t skip);
/* an attempt with key i ended with status (0 = no HTTP answer): counted;
 * a 401 sets the key aside, a 429 cools it (cooldown_ms: its
 * retry-after, -1 = none). A 403 only counts: it may be the request's
 * (a region, a moderation flag), not the key's */
void	 upkeys_report(const struct conf_provider *p, int i, long status,
	    int64_t cooldown_ms, uint64_t now_ms, const char *request_id);
/* key i is set aside until a reload: it answered status (401, or a 403
 * where another key was served the same request; other_key says which,
 * -1 = none) */
void	 upkeys_set_aside(const struct conf_provider *p, int i, long status,
	    int other_key, const char *request_id);
/* one request's attempts with a provider's keys: those that refused it
 * (401/403; bit i: key i), to be skipped by its next attempts, and those
 * that refused it with 403, not yet known to be the keys' fault */
struct upkeys_request {
	uint32_t	 refused;
	uint32_t	 forbidden;
};
/* an attempt of the request with key i (-1: none) ended with status (0:
 * no HTTP answer): a refused key is remembered; a 2xx proves the
 * request's earlier 403s were their keys' fault and sets those aside.
 * A 403 no other key answers past is the request's and sets none aside. */
void	 upkeys_note(const struct conf_provider *p, struct upkeys_request *r,
	    int i, long status, const char *request_id);
/* readers: key i of p; -1 when p has no api_keys or i is out of range */
int	 upkeys_stat(const struct conf_provider *p, size_t i, uint64_t now_ms,
	    struct upkeys_stat *);

#endif
