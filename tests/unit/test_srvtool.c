/*
 * test_srvtool: which tool types are server tools the proxy may run,
 * their definitions checked as Anthropic checks them (a table of good and
 * bad definitions with the exact 400), what a request offers under a
 * configuration, and the functions offered in their place.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "conf.h"
#include "srvtool.h"
#include "tap.h"
#include "xlate.h"

static void
kinds(void)
{
	is_int(srvtool_kind("web_search_20250305"), SRVTOOL_SEARCH, "web_search_20250305");
	is_int(srvtool_kind("web_search_20260209"), SRVTOOL_SEARCH, "a later web_search");
	is_int(srvtool_kind("web_fetch_20250910"), SRVTOOL_FETCH, "web_fetch_20250910");
	is_int(srvtool_kind("web_fetch_20260318"), SRVTOOL_FETCH, "a later web_fetch");
	is_int(srvtool_kind("web_search_"), SRVTOOL_NONE, "no date");
	is_int(srvtool_kind("web_search_2025x"), SRVTOOL_NONE, "not a date");
	is_int(srvtool_kind("web_search"), SRVTOOL_NONE, "a name is no type");
	is_int(srvtool_kind("code_execution_20250825"), SRVTOOL_NONE, "other server tools");
	is_int(srvtool_kind(NULL), SRVTOOL_NONE, "NULL");
	is_int(srvtool_kind_of_name("web_fetch"), SRVTOOL_FETCH, "by name");
	is_str(srvtool_name(SRVTOOL_SEARCH), "web_search", "its name");
}

static const struct {
	const char	*tools;
	const char	*error;		/* NULL = valid */
} defs[] = {
	{ "[{\"type\":\"web_search_20250305\",\"name\":\"web_search\"}]", NULL },
	{ "[{\"type\":\"web_search_20250305\",\"name\":\"web_search\",\"max_uses\":8,"
	  "\"allowed_domains\":null,\"blocked_domains\":[],\"user_location\":"
	  "{\"type\":\"approximate\",\"city\":\"Oslo\",\"country\":\"NO\","
	  "\"region\":null,\"timezone\":\"Europe/Oslo\"},\"cache_control\":"
	  "{\"type\":\"ephemeral\"},\"allowed_callers\":[\"direct\"]}]", NULL },
	{ "[{\"type\":\"web_fetch_20250910\",\"name\":\"web_fetch\",\"max_uses\":2,"
	  "\"citations\":{\"enabled\":true},\"max_content_tokens\":1000,"
	  "\"blocked_domains\":[\"example.com/private\"]}]", NULL },
	{ "[{\"name\":\"get_weather\",\"input_schema\":{}},"
	  "{\"type\":\"web_search_20250305\",\"name\":\"web_search\"}]", NULL },
	{ "[{\"type\":\"web_search_20250305\"}]",
	  "tools[0].name: field required" },
	{ "[{\"type\":\"web_search_20250305\",\"name\":\"search\"}]",
	  "tools[0].name: must be \"web_search\"" },
	{ "[{\"type\":\"web_fetch_20250910\",\"name\":\"web_search\"}]",
	  "tools[0].name: must be \"web_fetch\"" },
	{ "[{\"type\":\"web_search_20250305\",\"name\":\"web_search\",\"max_uses\":0}]",
	  "tools[0].max_uses: must be a positive integer" },
	{ "[{\"type\":\"web_search_20250305\",\"name\":\"web_search\",\"max_uses\":\"3\"}]",
	  "tools[0].max_uses: must be a positive integer" },
	{ "[{\"type\":\"web_search_20250305\",\"name\":\"web_search\","
	  "\"allowed_domains\":[\"a.com\"],\"blocked_domains\":[\"b.com\"]}]",
	  "tools[0]: allowed_domains and blocked_domains cannot both be given" },
	{ "[{\"type\":\"web_search_20250305\",\"name\":\"web_search\","
	  "\"allowed_domains\":\"a.com\"}]",
	  "tools[0].allowed_domains: expected array" },
	{ "[{\"type\":\"web_search_20250305\",\"name\":\"web_search\","
	  "\"blocked_domains\":[\"ok.com\",7]}]",
	  "tools[0].blocked_domains: entry 1: expected string" },
	{ "[{\"type\":\"web_search_20250305\",\"name\":\"web_search\","
	  "\"allowed_domains\":[\"*.example.com\"]}]",
	  "tools[0].allowed_domains: entry 0 (\"*.example.com\") is not a domain "
	  "(\"example.com\", optionally with a path; no scheme, no wildcard in "
	  "the domain)" },
	{ "[{\"type\":\"web_search_20250305\",\"name\":\"web_search\","
	  "\"user_location\":{\"city\":\"Oslo\"}}]",
	  "tools[0].user_location.type: must be \"approximate\"" },
	{ "[{\"type\":\"web_search_20250305\",\"name\":\"web_search\","
	  "\"user_location\":{\"type\":\"approximate\",\"country\":\"Norway\"}}]",
	  "tools[0].user_location.country: must be a two-letter ISO 3166-1 "
	  "country code" },
	{ "[{\"type\":\"web_search_20250305\",\"name\":\"web_search\","
	  "\"user_location\":{\"type\":\"approximate\",\"city\":5}}]",
	  "tools[0].user_location.city: expected string" },
	{ "[{\"type\":\"web_search_20250305\",\"name\":\"web_search\","
	  "\"user_location\":[]}]",
	  "tools[0].user_location: expected object" },
	{ "[{\"type\":\"web_fetch_20250910\",\"name\":\"web_fetch\","
	  "\"citations\":{\"enabled\":\"yes\"}}]",
	  "tools[0].citations.enabled: expected boolean" },
	{ "[{\"type\":\"web_fetch_20250910\",\"name\":\"web_fetch\","
	  "\"max_content_tokens\":-1}]",
	  "tools[0].max_content_tokens: must be a positive integer" },
	{ "[{\"type\":\"web_search_20250305\",\"name\":\"web_search\"},"
	  "{\"name\":\"web_search\",\"input_schema\":{}}]",
	  "tools[1].name: tool names must be unique" },
	{ "[{\"type\":\"web_search_20250305\",\"name\":\"web_search\"},"
	  "{\"type\":\"web_search_20260209\",\"name\":\"web_search\"}]",
	  "tools[1].name: tool names must be unique" },
};

static void
definitions(void)
{
	struct srvtool_set	 set;
	struct xlate_err	 err;
	json_object		*t;
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		t = json_tokener_parse(defs[i].tools);
		memset(&err, 0, sizeof(err));
		rc = srvtool_scan(t, &set, &err);
		if (defs[i].error == NULL)
			ok(rc == 0, "valid: %s", defs[i].tools);
		else {
			ok(rc == -1 && err.status == 400 &&
			    strcmp(err.type, "invalid_request_error") == 0,
			    "refused: %s", defs[i].tools);
			is_str(err.message, defs[i].error, "... saying why");
		}
		srvtool_set_free(&set);
		json_object_put(t);
	}

	t = json_tokener_parse(defs[1].tools);
	ok(srvtool_scan(t, &set, &err) == 0 && set.tool[SRVTOOL_SEARCH].present &&
	    !set.tool[SRVTOOL_FETCH].present, "the set names what is there");
	is_int(set.tool[SRVTOOL_SEARCH].max_uses, 8, "max_uses");
	is_int(set.tool[SRVTOOL_SEARCH].nallowed + set.tool[SRVTOOL_SEARCH].nblocked,
	    0, "null and empty lists are no filter");
	is_str(set.tool[SRVTOOL_SEARCH].location.city, "Oslo", "user_location.city");
	is_str(set.tool[SRVTOOL_SEARCH].location.country, "NO", "... country");
	ok(set.tool[SRVTOOL_SEARCH].location.region == NULL, "... null region");
	srvtool_set_free(&set);
	json_object_put(t);
	t = json_tokener_parse(defs[2].tools);
	ok(srvtool_scan(t, &set, &err) == 0, "fetch");
	ok(set.tool[SRVTOOL_FETCH].citations == 1 &&
	    set.tool[SRVTOOL_FETCH].max_content_tokens == 1000 &&
	    set.tool[SRVTOOL_FETCH].nblocked == 1 &&
	    strcmp(set.tool[SRVTOOL_FETCH].blocked[0], "example.com/private") == 0,
	    "fetch options");
	srvtool_set_free(&set);
	json_object_put(t);
	ok(srvtool_scan(NULL, &set, &err) == 0, "no tools");
}

static void
offered(void)
{
	static struct conf	 c;
	json_object		*req, *fn, *v;

	req = json_tokener_parse("{\"tools\":[{\"type\":\"web_search_20250305\","
	    "\"name\":\"web_search\"},{\"type\":\"web_fetch_20250910\","
	    "\"name\":\"web_fetch\"}]}");
	conf = NULL;
	is_int(srvtool_offered(req), 0, "nothing without a configuration");
	conf = &c;
	is_int(srvtool_offered(req), 0, "nothing with neither configured");
	c.web_search.backend = "tavily";
	is_int(srvtool_offered(req), SRVTOOL_BIT(SRVTOOL_SEARCH), "search with a backend");
	c.web_fetch.enabled = 1;
	is_int(srvtool_offered(req), SRVTOOL_BIT(SRVTOOL_SEARCH) |
	    SRVTOOL_BIT(SRVTOOL_FETCH), "fetch when enabled");
	c.web_search.backend = NULL;
	is_int(srvtool_offered(req), SRVTOOL_BIT(SRVTOOL_FETCH), "fetch alone");
	json_object_put(req);
	req = json_tokener_parse("{\"tools\":[{\"name\":\"web_fetch\","
	    "\"input_schema\":{}}]}");
	is_int(srvtool_offered(req), 0, "a client tool of that name is no server tool");
	json_object_put(req);

	fn = srvtool_function(SRVTOOL_SEARCH);
	ok(fn != NULL && strcmp(json_object_get_string(json_object_object_get(fn,
	    "type")), "function") == 0, "a function tool");
	v = json_object_object_get(fn, "function");
	is_str(json_object_get_string(json_object_object_get(v, "name")),
	    "web_search", "named as the server tool");
	is_str(json_object_to_json_string_ext(json_object_object_get(v,
	    "parameters"), JSON_C_TO_STRING_PLAIN),
	    "{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\","
	    "\"description\":\"The search query\"}},\"required\":[\"query\"]}",
	    "query is its one parameter");
	ok(strstr(json_object_get_string(json_object_object_get(v,
	    "description")), "[1]") != NULL, "the description asks for [n] citations");
	json_object_put(fn);
	fn = srvtool_function(SRVTOOL_FETCH);
	v = json_object_object_get(fn, "function");
	is_str(json_object_get_string(json_object_object_get(v, "name")),
	    "web_fetch", "web_fetch");
	json_object_put(fn);
	conf = NULL;
}

int
main(void)
{
	kinds();
	definitions();
	offered();
	return tap_done();
}
