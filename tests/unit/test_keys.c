/*
 * test_keys: which client key a request presents, and what it may use.
 */
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "keys.h"
#include "tap.h"

static struct conf *
load(const char *json)
{
	struct conf	*c = NULL;
	char		 err[512];

	if (conf_parse(json, strlen(json), &c, err, sizeof(err)) == -1)
		printf("# %s\n", err);
	return c;
}

int
main(void)
{
	static const char cfg[] = "{\"ak\":\"the-ak-1234\",\"keys\":["
	    "{\"name\":\"alice\",\"key\":\"alice-key-1\",\"models\":[\"mini\","
	    "\"claude-sonnet-4\"]},{\"name\":\"bob\",\"key\":\"bob-key-22\"}],"
	    "\"providers\":[{\"base_url\":\"http://x\",\"api_key\":\"\","
	    "\"models\":[{\"id\":\"glm\",\"aliases\":[\"claude-*sonnet*\"]},"
	    "{\"id\":\"mini\"},{\"id\":\"big\"}]}]}";
	struct conf	*c = load(cfg), *none;
	const struct conf_client_key *k;

	ok(c != NULL, "configuration loads");
	if (c == NULL)
		return tap_done();

	k = keys_match(c, "alice-key-1", 11);
	is_str(keys_name(k), "alice", "alice's key is alice");
	k = keys_match(c, "bob-key-22", 10);
	is_str(keys_name(k), "bob", "bob's key is bob");
	k = keys_match(c, "the-ak-1234", 11);
	is_str(keys_name(k), "ak", "the ak is named ak");
	ok(keys_match(c, "alice-key-", 10) == NULL, "a prefix is no key");
	ok(keys_match(c, "alice-key-12", 12) == NULL, "a longer one neither");
	ok(keys_match(c, "alice-key-2", 11) == NULL, "nor one byte off");
	ok(keys_match(c, "", 0) == NULL, "nor nothing");
	ok(keys_match(c, "alice-key-1\0", 12) == NULL, "nor one with a NUL");
	is_str(keys_name(NULL), "-", "no key: -");

	k = keys_match(c, "alice-key-1", 11);
	ok(keys_may_use(k, "mini") && keys_may_use(k, "glm"),
	    "alice may use her models, by id and by alias");
	ok(!keys_may_use(k, "big"), "alice may not use another");
	k = keys_match(c, "bob-key-22", 10);
	ok(keys_may_use(k, "big") && keys_may_use(k, "mini"),
	    "bob, without models, may use any");
	ok(keys_may_use(NULL, "big"), "without keys anything goes");
	conf_free(c);

	none = load("{\"providers\":[{\"base_url\":\"http://x\",\"api_key\":"
	    "\"\",\"models\":[{\"id\":\"glm\"}]}]}");
	ok(none != NULL && none->nclient_keys == 0 &&
	    keys_match(none, "x", 1) == NULL, "no keys: nothing matches");
	conf_free(none);
	return tap_done();
}
