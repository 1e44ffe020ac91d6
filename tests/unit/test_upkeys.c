/*
 * test_upkeys: the shared key-state table: keys in turn, a 401 key set
 * aside, a 403 only counted until the caller sets it aside, this
 * request's refused keys skipped, a 429 key cooling for its time, nothing
 * usable, the states seen
 * by /metrics, and reloads that keep or reset the states.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "upkeys.h"
#include "tap.h"

static struct conf *
load(const char *keys)
{
	char		 text[1024], err[256];
	struct conf	*c = NULL;

	snprintf(text, sizeof(text), "{\"providers\":[{\"name\":\"p\","
	    "\"base_url\":\"http://x\",\"api_keys\":[%s],\"models\":[{\"id\":"
	    "\"a\"}]},{\"name\":\"one\",\"base_url\":\"http://y\",\"api_key\":"
	    "\"k\",\"models\":[{\"id\":\"b\"}]}]}", keys);
	if (conf_parse(text, strlen(text), &c, err, sizeof(err)) == -1)
		printf("# %s\n", err);
	return c;
}

static enum upkeys_state
state(const struct conf_provider *p, size_t i, uint64_t now)
{
	struct upkeys_stat st;

	if (upkeys_stat(p, i, now, &st) == -1)
		return UPKEYS_NSTATES;
	return st.state;
}

int
main(void)
{
	struct conf	*c, *same, *changed;
	const struct conf_provider *p;
	struct upkeys_stat st;
	uint64_t	 now = 1000000, wait;
	int		 i, seen[3] = { 0, 0, 0 };

	ok(upkeys_init() == 0, "the table is mapped");
	c = load("\"key-aaaa\",\"key-bbbb\",\"key-cccc\"");
	ok(c != NULL, "config");
	if (c == NULL)
		return tap_done();
	upkeys_sync(NULL, c);
	p = &c->providers[0];

	for (i = 0; i < 9; i++)
		seen[upkeys_pick(p, now, &wait, 0)]++;
	ok(seen[0] == 3 && seen[1] == 3 && seen[2] == 3,
	    "in turn: 3 each of 9 (%d %d %d)", seen[0], seen[1], seen[2]);
	is_int(upkeys_pick(&c->providers[1], now, &wait, 0), 0,
	    "a provider without api_keys: its api_key");
	is_int(upkeys_stat(&c->providers[1], 0, now, &st), -1,
	    "... and no key states");

	upkeys_report(p, 1, 401, -1, now, "req_test");
	is_int(state(p, 1, now), UPKEYS_SET_ASIDE, "401: set aside");
	for (i = 0; i < 6; i++)
		ok(upkeys_pick(p, now, &wait, 0) != 1, "set-aside key %d skipped",
		    i);
	upkeys_report(p, 0, 429, 2000, now, "req_test");
	is_int(state(p, 0, now), UPKEYS_COOLING, "429: cooling");
	for (i = 0; i < 3; i++)
		is_int(upkeys_pick(p, now + 1000, &wait, 0), 2,
		    "only key 2 while 0 cools");
	ok(upkeys_usable(p, now, 0), "a key is usable");
	upkeys_report(p, 2, 429, -1, now, "req_test");
	is_int(upkeys_pick(p, now + 1000, &wait, 0), -1, "none usable");
	is_int(wait, 1000, "... until key 0 cools down in 1000 ms");
	is_int(upkeys_wait_ms(p, now + 1000, 0), 1000,
	    "upkeys_wait_ms says the same");
	ok(!upkeys_usable(p, now + 1000, 0), "none usable now");
	is_int(upkeys_pick(p, now + 2000, &wait, 0), 0, "key 0 back after 2 s");
	is_int(state(p, 0, now + 2000), UPKEYS_ACTIVE, "... active again");
	is_int(state(p, 2, now + 2000), UPKEYS_COOLING,
	    "no retry-after: the default cooldown");
	is_int(state(p, 2, now + UPKEYS_COOLDOWN_MS), UPKEYS_ACTIVE,
	    "... of UPKEYS_COOLDOWN_MS");
	/* a request this request's refused keys are skipped for */
	is_int(upkeys_pick(p, now + UPKEYS_COOLDOWN_MS, &wait, 1u << 0), 2,
	    "key 0 skipped: key 2");
	is_int(upkeys_pick(p, now + UPKEYS_COOLDOWN_MS, &wait,
	    1u << 0 | 1u << 2), -1, "keys 0 and 2 skipped, 1 set aside: none");
	ok(!upkeys_usable(p, now + UPKEYS_COOLDOWN_MS, 1u << 0 | 1u << 2),
	    "... and none usable");
	ok(upkeys_usable(p, now + UPKEYS_COOLDOWN_MS, 1u << 2),
	    "key 0 usable when only 2 is skipped");
	upkeys_report(p, 0, 429, 5000, now, "req_test");
	is_int(upkeys_wait_ms(p, now, 1u << 2), 5000,
	    "wait: key 0 cools, 2 skipped, 1 set aside: 5 s");
	is_int(upkeys_wait_ms(p, now, 1u << 0 | 1u << 2), -1,
	    "... with 0 skipped too: never");
	/* a 403 only counts: it may be the request's */
	upkeys_report(p, 0, 403, -1, now, "req_test");
	upkeys_report(p, 2, 403, -1, now, "req_test");
	is_int(state(p, 0, now + UPKEYS_COOLDOWN_MS), UPKEYS_ACTIVE,
	    "403: still active");
	upkeys_set_aside(p, 0, 403, 2, "req_test");
	upkeys_set_aside(p, 2, 403, -1, "req_test");
	is_int(state(p, 0, now + UPKEYS_COOLDOWN_MS), UPKEYS_SET_ASIDE,
	    "set aside by the caller");
	is_int(upkeys_pick(p, now + UPKEYS_COOLDOWN_MS, &wait, 0), -1,
	    "every key set aside");
	is_int(wait, 0, "... for good");
	is_int(upkeys_wait_ms(p, now + UPKEYS_COOLDOWN_MS, 0), -1,
	    "upkeys_wait_ms: never");
	upkeys_stat(p, 1, now, &st);
	ok(st.requests == 3 && st.failures == 1,
	    "key 1: 3 requests, 1 failure (%llu, %llu)",
	    (unsigned long long)st.requests, (unsigned long long)st.failures);
	upkeys_report(p, 5, 401, -1, now, "req_test");
	is_int(upkeys_stat(p, 3, now, &st), -1, "no key 3");

	/* a reload with the same keys keeps their counts and cooldowns and
	 * gives set-aside keys another chance */
	same = load("\"key-aaaa\",\"key-bbbb\",\"key-cccc\"");
	upkeys_sync(c, same);
	is_int(state(&same->providers[0], 1, now), UPKEYS_ACTIVE,
	    "same keys: a set-aside key is tried again after a reload");
	is_int(state(p, 1, now), UPKEYS_ACTIVE, "the old generation's map "
	    "is gone: its keys read as active, nothing recorded");
	/* one that changes them starts afresh */
	changed = load("\"key-aaaa\",\"key-dddd\"");
	upkeys_sync(same, changed);
	is_int(state(&changed->providers[0], 0, now), UPKEYS_ACTIVE,
	    "changed keys: afresh");
	upkeys_stat(&changed->providers[0], 0, now, &st);
	ok(st.requests == 0 && st.failures == 0, "... with counts at 0");
	is_int(upkeys_pick(&changed->providers[0], now, &wait, 0) >= 0, 1,
	    "a key again");
	conf_free(c);
	conf_free(same);
	conf_free(changed);
	return tap_done();
}
