/*
 * test_models: routing of model names and the /v1/models bodies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "conf.h"
#include "models.h"
#include "tap.h"

/* two providers; "claude-*" on b overlaps "claude-*haiku*" on local-1 */
static const char config[] =
    "{\"providers\":["
    "{\"name\":\"one\",\"base_url\":\"http://one\",\"api_key\":\"\",\"models\":["
    "{\"id\":\"a\",\"display_name\":\"Model A\",\"remote_id\":\"ra\"},"
    "{\"id\":\"b\",\"aliases\":[\"claude-*\",\"gpt-[34]*\"]},"
    "{\"id\":\"c\"}]},"
    "{\"name\":\"two\",\"base_url\":\"http://two\",\"api_key\":\"\",\"models\":["
    "{\"id\":\"local-1\",\"aliases\":[\"claude-*haiku*\"]},"
    "{\"id\":\"e\",\"aliases\":[\"E*\"]}]}"
    "]}";

static struct conf *
load(void)
{
	struct conf	*c = NULL;
	char		 err[256];

	if (conf_parse(config, strlen(config), &c, err, sizeof(err)) == -1) {
		printf("# %s\n", err);
		return NULL;
	}
	c->loaded_at = 1700000000;	/* 2023-11-14T22:13:20Z */
	return c;
}

static void
test_resolve(const struct conf *c)
{
	struct model_route	 r[4];
	size_t			 n;

	n = models_resolve(c, "a", r, 4);
	is_int(n, 1, "exact id: one route");
	ok(n == 1 && strcmp(r[0].model->remote_id, "ra") == 0 &&
	    strcmp(r[0].provider->name, "one") == 0, "exact id: model and provider");

	n = models_resolve(c, "local-1", r, 4);
	ok(n == 1 && strcmp(r[0].provider->name, "two") == 0,
	    "exact id on the second provider");

	n = models_resolve(c, "claude-sonnet-4-5-20250929", r, 4);
	ok(n == 1 && strcmp(r[0].model->id, "b") == 0, "alias claude-*");

	n = models_resolve(c, "claude-3-5-haiku-20241022", r, 4);
	is_int(n, 2, "overlapping aliases: two routes");
	ok(n == 2 && strcmp(r[0].model->id, "b") == 0 &&
	    strcmp(r[1].model->id, "local-1") == 0, "routes in config order");
	n = models_resolve(c, "claude-3-5-haiku-20241022", r, 1);
	ok(n == 1 && strcmp(r[0].model->id, "b") == 0, "max limits the routes");
	is_int(models_resolve(c, "claude-3-5-haiku", r, 0), 0, "max 0");

	n = models_resolve(c, "gpt-4o", r, 4);
	ok(n == 1 && strcmp(r[0].model->id, "b") == 0, "bracket glob");
	is_int(models_resolve(c, "gpt-5", r, 4), 0, "bracket glob mismatch");

	is_int(models_resolve(c, "A", r, 4), 0, "ids are case-sensitive");
	is_int(models_resolve(c, "Claude-x", r, 4), 0,
	    "aliases are case-sensitive");
	n = models_resolve(c, "Ex", r, 4);
	ok(n == 1 && strcmp(r[0].model->id, "e") == 0, "alias E*");
	is_int(models_resolve(c, "nope", r, 4), 0, "unknown name");
	is_int(models_resolve(c, "", r, 4), 0, "empty name");
}

static void
test_available(const struct conf *c)
{
	struct buf	 b = BUF_INITIALIZER;

	models_available(c, &b);
	is_str(b.data, "a, b, c, local-1, e", "available ids in config order");
	buf_free(&b);
}

/* "a,b" from data[].id, with has_more/first_id/last_id */
static void
check_page(const struct conf *c, int limit, const char *after,
    const char *before, const char *want_ids, int want_more,
    const char *what)
{
	json_object	*body, *data, *v;
	char		 ids[256] = "";
	const char	*first, *last;
	size_t		 i;
	int		 more;

	body = models_list_json(c, limit, after, before);
	if (body == NULL) {
		ok(0, "%s: got NULL", what);
		return;
	}
	data = json_object_object_get(body, "data");
	for (i = 0; i < json_object_array_length(data); i++) {
		v = json_object_object_get(json_object_array_get_idx(data, i),
		    "id");
		if (i > 0)
			strlcat(ids, ",", sizeof(ids));
		strlcat(ids, json_object_get_string(v), sizeof(ids));
	}
	is_str(ids, want_ids, "%s: ids", what);
	more = json_object_get_boolean(json_object_object_get(body,
	    "has_more"));
	is_int(more, want_more, "%s: has_more", what);
	first = json_object_get_string(json_object_object_get(body,
	    "first_id"));
	last = json_object_get_string(json_object_object_get(body, "last_id"));
	if (i == 0)
		ok(first == NULL && last == NULL &&
		    json_object_object_get_ex(body, "first_id", NULL) &&
		    json_object_object_get_ex(body, "last_id", NULL),
		    "%s: first_id/last_id null", what);
	else {
		char f[256], l[256];

		snprintf(f, sizeof(f), "%.*s", (int)strcspn(ids, ","), ids);
		snprintf(l, sizeof(l), "%s", strrchr(ids, ',') ?
		    strrchr(ids, ',') + 1 : ids);
		ok(first && last && strcmp(first, f) == 0 &&
		    strcmp(last, l) == 0, "%s: first_id/last_id", what);
	}
	json_object_put(body);
}

static void
test_list(const struct conf *c)
{
	check_page(c, 0, NULL, NULL, "a,b,c,local-1,e", 0, "default limit");
	check_page(c, 2, NULL, NULL, "a,b", 1, "limit 2");
	check_page(c, 2, "b", NULL, "c,local-1", 1, "after b");
	check_page(c, 2, "local-1", NULL, "e", 0, "after local-1");
	check_page(c, 2, "e", NULL, "", 0, "after the last");
	check_page(c, 2, NULL, "e", "c,local-1", 1, "before e");
	check_page(c, 2, NULL, "b", "a", 0, "before b");
	check_page(c, 2, NULL, "a", "", 0, "before the first");
	check_page(c, 0, "a", "e", "b,c,local-1", 0, "between a and e");
	check_page(c, 2, "a", "e", "b,c", 1, "between a and e, limit 2");
	check_page(c, 0, "e", "a", "", 0, "after_id past before_id");
	check_page(c, -5, NULL, NULL, "a", 1, "negative limit clamps to 1");
	check_page(c, 5000, NULL, NULL, "a,b,c,local-1,e", 0,
	    "limit clamps to 1000");
	check_page(c, 5, NULL, NULL, "a,b,c,local-1,e", 0, "limit = count");
	ok(models_list_json(c, 0, "nope", NULL) == NULL, "unknown after_id");
	ok(models_list_json(c, 0, NULL, "nope") == NULL, "unknown before_id");
	ok(models_list_json(c, 0, "claude-x", NULL) == NULL,
	    "after_id is an id, not an alias");
}

static void
test_shape(const struct conf *c)
{
	json_object	*o;

	o = models_list_json(c, 1, NULL, NULL);
	is_str(o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) :
	    NULL,
	    "{\"object\":\"list\",\"data\":[{\"type\":\"model\",\"id\":\"a\","
	    "\"display_name\":\"Model A\",\"created_at\":\"2023-11-14T22:13:20Z\","
	    "\"object\":\"model\",\"created\":1700000000}],\"has_more\":true,"
	    "\"first_id\":\"a\",\"last_id\":\"a\"}", "list JSON shape");
	json_object_put(o);

	o = models_list_json(c, 0, "e", NULL);
	is_str(o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) :
	    NULL,
	    "{\"object\":\"list\",\"data\":[],\"has_more\":false,"
	    "\"first_id\":null,\"last_id\":null}", "empty page JSON shape");
	json_object_put(o);

	o = models_one_json(c, "c");
	is_str(o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) :
	    NULL,
	    "{\"type\":\"model\",\"id\":\"c\",\"display_name\":\"c\","
	    "\"created_at\":\"2023-11-14T22:13:20Z\",\"object\":\"model\","
	    "\"created\":1700000000}", "one model JSON, display_name = id");
	json_object_put(o);

	o = models_one_json(c, "claude-opus-4-1");
	is_str(o ? json_object_get_string(json_object_object_get(o, "id")) :
	    NULL, "b", "one model by alias: the resolved model");
	json_object_put(o);

	ok(models_one_json(c, "nope") == NULL, "unknown model: NULL");
}

/* the same id under two providers: one model, two routes in order */
static void
test_fallback(void)
{
	static const char fb[] = "{\"providers\":["
	    "{\"name\":\"p1\",\"base_url\":\"http://p1\",\"api_key\":\"\","
	    "\"models\":[{\"id\":\"glm\",\"aliases\":[\"claude-*\"]}]},"
	    "{\"name\":\"p2\",\"base_url\":\"http://p2\",\"api_key\":\"\","
	    "\"models\":[{\"id\":\"x\"},{\"id\":\"glm\",\"remote_id\":\"glm-b\","
	    "\"aliases\":[\"claude-*\"]}]}]}";
	struct conf		*c = NULL;
	struct model_route	 r[4];
	struct buf		 b = BUF_INITIALIZER;
	json_object		*list, *data;
	char			 err[256];
	size_t			 n;

	ok(conf_parse(fb, strlen(fb), &c, err, sizeof(err)) == 0,
	    "fallback chain parses");
	if (c == NULL) {
		printf("# %s\n", err);
		return;
	}
	n = models_resolve(c, "glm", r, 4);
	ok(n == 2 && strcmp(r[0].provider->name, "p1") == 0 &&
	    strcmp(r[1].provider->name, "p2") == 0 &&
	    strcmp(r[1].model->remote_id, "glm-b") == 0,
	    "fallback: both providers, in config order");
	n = models_resolve(c, "claude-sonnet-4", r, 4);
	ok(n == 2 && strcmp(r[1].provider->name, "p2") == 0,
	    "fallback: a shared alias routes to both");
	models_available(c, &b);
	is_str(b.data, "glm, x", "fallback: listed once");
	list = models_list_json(c, 0, NULL, NULL);
	json_object_object_get_ex(list, "data", &data);
	is_int(json_object_array_length(data), 2, "fallback: /v1/models once");
	json_object_put(list);
	buf_free(&b);
	conf_free(c);
}

static json_object *
req(const char *json)
{
	json_object	*o = json_tokener_parse(json);

	if (o == NULL)
		printf("# bad test JSON: %s\n", json);
	return o;
}

/* what a request needs, as routes see it */
static void
test_reqinfo(void)
{
	struct reqinfo	 ri;
	json_object	*o;

	o = req("{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"hi\"}]}");
	reqinfo_read(o, &ri);
	ok(!ri.thinking && !ri.images && !ri.server_tools && !ri.tools &&
	    ri.input_tokens > 0, "a plain request needs nothing");
	json_object_put(o);

	o = req("{\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":2000},"
	    "\"tools\":[{\"name\":\"Bash\",\"input_schema\":{}}],"
	    "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	    "\"tool_result\",\"tool_use_id\":\"t\",\"content\":[{\"type\":"
	    "\"image\",\"source\":{}}]}]}]}");
	reqinfo_read(o, &ri);
	ok(ri.thinking && ri.images && ri.tools && !ri.server_tools,
	    "thinking, an image in a tool result, a client tool");
	json_object_put(o);

	o = req("{\"thinking\":{\"type\":\"disabled\"},\"tools\":[{\"type\":"
	    "\"web_search_20250305\",\"name\":\"web_search\"}],\"messages\":"
	    "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
	    "\"x\"},{\"type\":\"image\",\"source\":{}}]}]}");
	reqinfo_read(o, &ri);
	ok(!ri.thinking && ri.images && ri.tools && ri.server_tools,
	    "disabled thinking, an image, a server tool");
	json_object_put(o);

	o = req("{\"thinking\":{\"type\":\"adaptive\"},\"tools\":[],"
	    "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	    "\"tool_result\",\"tool_use_id\":\"t\",\"content\":\"image\"}]}]}");
	reqinfo_read(o, &ri);
	ok(ri.thinking && !ri.images && !ri.tools,
	    "adaptive thinking; an empty tool list is no tools");
	json_object_put(o);

	reqinfo_read(NULL, &ri);
	ok(!ri.thinking && ri.input_tokens == 0, "not even an object");
}

/* routes: the first whose conditions all hold */
static void
test_routes(void)
{
	static const char cfg[] = "{\"keys\":[{\"name\":\"alice\",\"key\":"
	    "\"alice-key-1\"}],\"providers\":[{\"base_url\":\"http://x\","
	    "\"api_key\":\"\",\"models\":[{\"id\":\"main\",\"aliases\":"
	    "[\"claude-*\"]},{\"id\":\"cheap\"},{\"id\":\"reason\"},"
	    "{\"id\":\"long\"},{\"id\":\"vision\"},{\"id\":\"web\"},"
	    "{\"id\":\"alices\"}]}],\"routes\":["
	    "{\"name\":\"bg\",\"match\":{\"model\":\"claude-*haiku*\","
	    "\"no_tools\":true},\"model\":\"cheap\"},"
	    "{\"name\":\"think\",\"match\":{\"thinking\":true},\"model\":"
	    "\"reason\"},"
	    "{\"name\":\"long\",\"match\":{\"min_input_tokens\":1000},"
	    "\"model\":\"long\"},"
	    "{\"name\":\"eyes\",\"match\":{\"images\":true},\"model\":"
	    "\"vision\"},"
	    "{\"name\":\"web\",\"match\":{\"server_tools\":true},\"model\":"
	    "\"web\"},"
	    "{\"name\":\"alice\",\"match\":{\"key\":\"alice\",\"no_tools\":"
	    "false},\"model\":\"alices\"}]}";
	struct reqinfo	 ri;
	struct conf	*c = NULL;
	char		 err[256];
	const struct conf_route *r;

	ok(conf_parse(cfg, strlen(cfg), &c, err, sizeof(err)) == 0,
	    "routes config parses (%s)", err);
	if (c == NULL)
		return;
	memset(&ri, 0, sizeof(ri));
	ri.input_tokens = 10;
	ok(models_route(c, "claude-sonnet-4", NULL, &ri) == NULL,
	    "a plain request matches no route");
	r = models_route(c, "claude-haiku-4-5", NULL, &ri);
	is_str(r ? r->name : NULL, "bg", "haiku without tools: background");
	ri.tools = 1;
	ok(models_route(c, "claude-haiku-4-5", NULL, &ri) == NULL,
	    "haiku with tools: no route");
	r = models_route(c, "claude-haiku-4-5", "alice", &ri);
	is_str(r ? r->name : NULL, "alice", "alice's requests with tools");
	ri.tools = 0;
	ok(models_route(c, "claude-sonnet", "alice", &ri) == NULL,
	    "alice without tools: no_tools false does not hold");
	ri.thinking = 1;
	r = models_route(c, "claude-haiku-4-5", NULL, &ri);
	is_str(r ? r->name : NULL, "bg", "the first route wins");
	r = models_route(c, "claude-opus", NULL, &ri);
	is_str(r ? r->name : NULL, "think", "thinking");
	ri.thinking = 0;
	ri.input_tokens = 999;
	ok(models_route(c, "x", NULL, &ri) == NULL, "999 tokens: short");
	ri.input_tokens = 1000;
	r = models_route(c, "x", NULL, &ri);
	is_str(r ? r->name : NULL, "long", "1000 tokens: long context");
	ri.input_tokens = 10;
	ri.images = 1;
	r = models_route(c, "x", NULL, &ri);
	is_str(r ? r->name : NULL, "eyes", "an image");
	ri.images = 0;
	ri.server_tools = ri.tools = 1;
	r = models_route(c, "x", NULL, &ri);
	is_str(r ? r->name : NULL, "web", "a server tool");
	conf_free(c);
}

int
main(void)
{
	struct conf	*c = load();

	ok(c != NULL, "test config parses");
	if (c == NULL)
		return tap_done();
	test_resolve(c);
	test_available(c);
	test_list(c);
	test_shape(c);
	test_fallback();
	test_reqinfo();
	test_routes();
	conf_free(c);
	return tap_done();
}
