/*
 * test_conf: the configuration parser. JSON below is written with single
 * quotes for readability; q() turns them into double quotes.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conf.h"
#include "schema.h"
#include "tap.h"

/* one provider with one model, the smallest valid body of "providers" */
#define P1	"{'base_url':'https://api.example.com','api_key':'k','models':[{'id':'glm'}]}"
#define WITH(top)	"{" top ",'providers':[" P1 "]}"
#define PROV(prov)	"{'providers':[{'base_url':'https://api.example.com','api_key':'k'," prov "}]}"
#define MODELS(models)	PROV("'models':[" models "]")

static char	 data_dir[512];

static const char *
q(const char *s)
{
	static char	 out[8192];
	size_t		 i;

	for (i = 0; s[i] && i < sizeof(out) - 1; i++)
		out[i] = s[i] == '\'' ? '"' : s[i];
	out[i] = '\0';
	return out;
}

static struct conf *
parse(const char *json, char *err, size_t errsz)
{
	struct conf	*c = NULL;
	const char	*t = q(json);

	err[0] = '\0';
	if (conf_parse(t, strlen(t), &c, err, errsz) == -1)
		return NULL;
	return c;
}

struct bad {
	const char	*json;
	const char	*err;
};

static const struct bad bad[] = {
	/* JSON itself */
	{ "", "config: line 1, column 1: unexpected end of input" },
	{ "{", "config: line 1, column 2: unexpected end of input" },
	{ "{\n'port': 1,\n'ak': }", "config: line 3, column 7: unexpected character" },
	{ "{} {}", "config: line 1, column 4: unexpected characters after the top-level value" },
	{ "{}\n\nx", "config: line 3, column 1: unexpected characters after the top-level value" },
	{ "[]", "config: expected a JSON object at the top level" },
	{ "{'port': 1, /* no comments */ 'x': 2}", "config: line 1, column 13: object key expected" },
	{ "{'port': 1,}", "config: line 1, column 12: object key expected" },
	{ "{}\v", "config: line 1, column 3: unexpected characters after the top-level value" },
	/* columns count characters, not bytes */
	{ "{'ak':'\xc3\xa9\xc3\xa9',x}", "config: line 1, column 12: object key expected" },
	/* a key given twice is refused where it repeats, not last-wins */
	{ WITH("'port': 1, 'port': 2"), "port: duplicate key" },
	{ "{'p\\u006frt': 1, 'port': 2}", "port: duplicate key" },
	{ WITH("'foo': 1, 'foo': 1"), "foo: duplicate key" },
	{ PROV("'name':'a','models':[{'id':'a'}],'name':'b'"), "providers[0].name: duplicate key" },
	{ MODELS("{'id':'a'},{'id':'b','aliases':[],'aliases':['c']}"), "providers[0].models[1].aliases: duplicate key" },
	{ MODELS("{'id':'a','id':'b'}"), "providers[0].models[0].id: duplicate key" },
	/* unknown keys, at every level */
	{ WITH("'foo': 1"), "foo: unknown key" },
	{ WITH("'Port': 1"), "Port: unknown key" },
	{ WITH("'providers[].name': 'x'"), "providers[].name: unknown key" },
	{ PROV("'models':[{'id':'a'}],'foo':1"), "providers[0].foo: unknown key" },
	{ MODELS("{'id':'a','bar':true}"), "providers[0].models[0].bar: unknown key" },
	{ MODELS("{'id':'a','aliases.x':true}"), "providers[0].models[0].aliases.x: unknown key" },
	/* types */
	{ WITH("'port': '8888'"), "port: expected integer" },
	{ WITH("'port': 1.5"), "port: expected integer" },
	{ WITH("'port': true"), "port: expected integer" },
	{ WITH("'port': null"), "port: expected integer" },
	{ WITH("'ak': 5"), "ak: expected string" },
	{ WITH("'ak': null"), "ak: expected string" },
	{ WITH("'host': ['a']"), "host: expected string" },
	{ "{'providers': {}}", "providers: expected array" },
	{ "{'providers': [1]}", "providers[0]: expected object" },
	{ "{'providers': [" P1 ", 'x']}", "providers[1]: expected object" },
	{ PROV("'models':[{'id':'a'}],'top_k':'true'"), "providers[0].top_k: expected boolean" },
	{ PROV("'models':[{'id':'a'}],'pdf':1"), "providers[0].pdf: expected boolean" },
	{ PROV("'models':[{'id':'a'}],'include_usage':null"), "providers[0].include_usage: expected boolean" },
	{ PROV("'models':[{'id':'a'}],'api':'claude'"), "providers[0].api: unknown API \"claude\" (openai, responses or anthropic)" },
	{ PROV("'models':[{'id':'a'}],'api':'Responses'"), "providers[0].api: unknown API \"Responses\" (openai, responses or anthropic)" },
	{ PROV("'models':[{'id':'a'}],'auth':'basic'"), "providers[0].auth: unknown \"basic\" (bearer or x-api-key)" },
	{ PROV("'models':[{'id':'a'}],'betas':[]"), "providers[0].betas: only for api \"anthropic\"" },
	{ PROV("'models':[{'id':'a'}],'api':'responses','count_tokens':true"), "providers[0].count_tokens: only for api \"anthropic\"" },
	{ PROV("'models':[{'id':'a'}],'api':'responses','tool_call_repair':true"), "providers[0].tool_call_repair: only for api \"openai\"" },
	{ PROV("'models':[{'id':'a'}],'api':'anthropic','tool_call_repair':true"), "providers[0].tool_call_repair: only for api \"openai\"" },
	{ PROV("'models':[{'id':'a'}],'api':'anthropic','betas':['a,b']"), "providers[0].betas[0]: not a beta name" },
	{ PROV("'models':[{'id':'a'}],'api':''"), "providers[0].api: empty" },
	{ PROV("'models':[{'id':'a'}],'api':1"), "providers[0].api: expected string" },
	{ PROV("'models':[{'id':'a'}],'schema':'openapi'"), "providers[0].schema: unknown dialect \"openapi\" (gemini)" },
	{ PROV("'models':[{'id':'a'}],'schema':''"), "providers[0].schema: empty" },
	{ PROV("'models':{}"), "providers[0].models: expected array" },
	{ PROV("'models':['a']"), "providers[0].models[0]: expected object" },
	{ MODELS("{'id':7}"), "providers[0].models[0].id: expected string" },
	{ MODELS("{'id':'a','aliases':'claude-*'}"), "providers[0].models[0].aliases: expected array" },
	{ MODELS("{'id':'a','aliases':['x',3]}"), "providers[0].models[0].aliases[1]: expected string" },
	{ MODELS("{'id':'a','max_tokens':'8192'}"), "providers[0].models[0].max_tokens: expected integer" },
	{ MODELS("{'id':'a','reasoning':'yes'}"), "providers[0].models[0].reasoning: expected boolean" },
	/* missing and empty */
	{ "{}", "providers: missing" },
	{ "{'providers': []}", "providers: empty" },
	{ "{'providers':[{'api_key':'k','models':[{'id':'a'}]}]}", "providers[0].base_url: missing" },
	{ "{'providers':[{'base_url':'http://x','models':[{'id':'a'}]}]}", "providers[0].api_key: missing (or api_keys; \\'\\' for none)" },
	/* api_keys: exclusive with api_key, each a secret, none empty or twice */
	{ PROV("'api_keys':['a'],'models':[{'id':'a'}]"), "providers[0].api_key: not with api_keys (one key in api_key, or all of them in api_keys)" },
	{ "{'providers':[{'base_url':'http://x','api_keys':[],'models':[{'id':'a'}]}]}", "providers[0].api_keys: empty" },
	{ "{'providers':[{'base_url':'http://x','api_keys':['k1',''],'models':[{'id':'a'}]}]}", "providers[0].api_keys[1]: empty" },
	{ "{'providers':[{'base_url':'http://x','api_keys':['k1',1],'models':[{'id':'a'}]}]}", "providers[0].api_keys[1]: expected string" },
	{ "{'providers':[{'base_url':'http://x','api_keys':['key-one','env:CP_TEST_DUP_VAR'],'models':[{'id':'a'}]}]}", "providers[0].api_keys[1]: the same key as api_keys[0]" },
	{ "{'providers':[{'base_url':'http://x','api_keys':['k1','env:CP_TEST_UNSET_VAR'],'models':[{'id':'a'}]}]}", "providers[0].api_keys[1]: environment variable CP_TEST_UNSET_VAR is not set" },
	{ "{'providers':[{'base_url':'http://x','api_keys':['a','b','c','d','e','f','g','h','i','j','k','l','m','n','o','p','q','r','s','t','u','v','w','x','y','z','A','B','C','D','E','F','G'],'models':[{'id':'a'}]}]}", "providers[0].api_keys: 33 keys, at most 32" },
	/* retries */
	{ PROV("'retries':{'count':11},'models':[{'id':'a'}]"), "providers[0].retries.count: 11 out of range 0..10" },
	{ PROV("'retries':{'tries':1},'models':[{'id':'a'}]"), "providers[0].retries.tries: unknown key" },
	{ PROV("'retries':3,'models':[{'id':'a'}]"), "providers[0].retries: expected object" },
	{ "{'providers':[{'base_url':'http://x','api_key':'k'}]}", "providers[0].models: missing" },
	{ PROV("'models':[]"), "providers[0].models: empty" },
	{ "{'providers':[" P1 ",{'base_url':'http://x','api_key':'k','models':[{'display_name':'n'}]}]}",
	    "providers[1].models[0].id: missing" },
	{ MODELS("{'id':'a'},{'id':''}"), "providers[0].models[1].id: empty" },
	{ MODELS("{'id':'a','display_name':''}"), "providers[0].models[0].display_name: empty" },
	{ MODELS("{'id':'a','remote_id':''}"), "providers[0].models[0].remote_id: empty" },
	{ MODELS("{'id':'a','aliases':['x','']}"), "providers[0].models[0].aliases[1]: empty" },
	{ PROV("'models':[{'id':'a'}],'name':''"), "providers[0].name: empty" },
	{ WITH("'host': ''"), "host: empty" },
	/* ranges */
	{ WITH("'port': 65536"), "port: 65536 out of range 0..65535" },
	{ WITH("'port': -1"), "port: -1 out of range 0..65535" },
	{ WITH("'workers': 16385"), "workers: 16385 out of range 0..16384" },
	{ WITH("'workers': -1"), "workers: -1 out of range 0..16384" },
	{ WITH("'max_workers': 16385"), "max_workers: 16385 out of range 1..16384" },
	{ WITH("'spare_workers': -1"), "spare_workers: -1 out of range 0..16384" },
	{ WITH("'spare_workers': 300"), "spare_workers: 300 is more than max_workers (256)" },
	{ WITH("'upstream_timeout_seconds': 0"), "upstream_timeout_seconds: 0 out of range 1..86400" },
	{ WITH("'upstream_connect_timeout_seconds': -3"), "upstream_connect_timeout_seconds: -3 out of range 1..3600" },
	{ WITH("'stream_idle_timeout_seconds': -1"), "stream_idle_timeout_seconds: -1 out of range 0..86400" },
	{ WITH("'stream_ping_seconds': 0"), "stream_ping_seconds: 0 out of range 1..3600" },
	{ WITH("'header_timeout_seconds': 3601"), "header_timeout_seconds: 3601 out of range 1..3600" },
	{ WITH("'body_timeout_seconds': 0"), "body_timeout_seconds: 0 out of range 1..3600" },
	{ WITH("'keepalive_timeout_seconds': 0"), "keepalive_timeout_seconds: 0 out of range 1..3600" },
	{ WITH("'send_timeout_seconds': 0"), "send_timeout_seconds: 0 out of range 1..3600" },
	{ WITH("'shutdown_timeout_seconds': 0"), "shutdown_timeout_seconds: 0 out of range 1..3600" },
	{ WITH("'max_body_bytes': 100"), "max_body_bytes: 100 out of range 1024..1073741824" },
	{ WITH("'log_body_max_chars': -1"), "log_body_max_chars: -1 out of range 0..16777216" },
	{ WITH("'log_stream_text_preview_chars': 16777217"), "log_stream_text_preview_chars: 16777217 out of range 0..16777216" },
	{ WITH("'port': 99999999999999999999"), "port: 9223372036854775807 out of range 0..65535" },
	{ MODELS("{'id':'a','max_tokens':-1}"), "providers[0].models[0].max_tokens: -1 out of range 0..2147483647" },
	{ MODELS("{'id':'a','max_tokens':2147483648}"), "providers[0].models[0].max_tokens: 2147483648 out of range 0..2147483647" },
	/* base_url */
	{ "{'providers':[{'base_url':'ftp://x','api_key':'k','models':[{'id':'a'}]}]}", "providers[0].base_url: not an http(s) URL" },
	{ "{'providers':[{'base_url':'api.example.com','api_key':'k','models':[{'id':'a'}]}]}", "providers[0].base_url: not an http(s) URL" },
	{ "{'providers':[{'base_url':'http://','api_key':'k','models':[{'id':'a'}]}]}", "providers[0].base_url: not an http(s) URL" },
	{ "{'providers':[{'base_url':'https:///v1','api_key':'k','models':[{'id':'a'}]}]}", "providers[0].base_url: not an http(s) URL" },
	{ "{'providers':[{'base_url':'http://:80','api_key':'k','models':[{'id':'a'}]}]}", "providers[0].base_url: not an http(s) URL" },
	{ "{'providers':[{'base_url':'http://a b','api_key':'k','models':[{'id':'a'}]}]}", "providers[0].base_url: not an http(s) URL" },
	{ "{'providers':[{'base_url':'http://[::1','api_key':'k','models':[{'id':'a'}]}]}", "providers[0].base_url: not an http(s) URL" },
	{ "{'providers':[{'base_url':'','api_key':'k','models':[{'id':'a'}]}]}", "providers[0].base_url: empty" },
	{ "{'providers':[" P1 ",{'base_url':'http://x/v1?key=1','api_key':'k','models':[{'id':'a'}]}]}", "providers[1].base_url: query or fragment not allowed" },
	/* model table */
	{ MODELS("{'id':'glm'},{'id':'glm'}"),
	    "providers[0].models[1].id: duplicate model id \\'glm\\' (also providers[0].models[0])" },
	{ "{'providers':[" P1 ",{'base_url':'http://x','api_key':'','models':[{'id':'glm'},{'id':'m'},{'id':'glm'}]}]}",
	    "providers[1].models[2].id: duplicate model id \\'glm\\' (also providers[1].models[0])" },
	{ MODELS("{'id':'glm'},{'id':'minimax','aliases':['claude-*','g*']}"),
	    "providers[0].models[1].aliases[1]: alias \\'g*\\' matches model id \\'glm\\' (providers[0].models[0])" },
	{ "{'providers':[" P1 ",{'base_url':'http://x','api_key':'','models':[{'id':'m','aliases':['glm']}]}]}",
	    "providers[1].models[0].aliases[0]: alias \\'glm\\' matches model id \\'glm\\' (providers[0].models[0])" },
	{ MODELS("{'id':'a','aliases':['claude-*haiku*']},{'id':'b','aliases':['x','claude-*haiku*']}"),
	    "providers[0].models[1].aliases[1]: duplicate alias \\'claude-*haiku*\\' (also providers[0].models[0].aliases[0])" },
	{ "{'providers':[{'base_url':'http://y','api_key':'','models':[{'id':'a','aliases':['c*']}]},"
	    "{'base_url':'http://x','api_key':'','models':[{'id':'b','aliases':['c*']}]}]}",
	    "providers[1].models[0].aliases[0]: duplicate alias \\'c*\\' (also providers[0].models[0].aliases[0])" },
	{ MODELS("{'id':'a','aliases':['c*','c*']}"),
	    "providers[0].models[0].aliases[1]: duplicate alias \\'c*\\' (also providers[0].models[0].aliases[0])" },
	/* secrets */
	{ WITH("'ak': 'env:CP_TEST_UNSET_VAR'"), "ak: environment variable CP_TEST_UNSET_VAR is not set" },
	{ WITH("'ak': 'env:CP_TEST_EMPTY_VAR'"), "ak: environment variable CP_TEST_EMPTY_VAR is empty" },
	{ WITH("'ak': 'env:'"), "ak: env: needs a variable name" },
	{ "{'providers':[{'base_url':'https://api.example.com',"
	    "'api_key':'env:CP_TEST_UNSET_VAR','models':[{'id':'a'}]}]}",
	    "providers[0].api_key: environment variable CP_TEST_UNSET_VAR is not set" },
	{ WITH("'ak': 'file:relative/path'"), "ak: file: needs an absolute path" },
	{ WITH("'ak': 'file:/nonexistent/cp-test-key'"), "ak: /nonexistent/cp-test-key: No such file or directory" },
	{ WITH("'ak': 'a\\nb'"), "ak: contains control characters" },
	{ WITH("'ak': 'a\\u0000b'"), "ak: contains a NUL character" },
	{ MODELS("{'id':'a','aliases':['\\u0000']}"), "providers[0].models[0].aliases[0]: contains a NUL character" },
	{ WITH("'ak': 'env:CP_TEST_CTL_VAR'"), "ak: environment variable CP_TEST_CTL_VAR contains control characters" },
};

static void
test_bad(void)
{
	char		 err[512], want[512];
	struct conf	*c;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* expected errors use \' for a literal double quote */
		snprintf(want, sizeof(want), "%s", bad[i].err);
		for (char *p = want; *p; p++)
			if (p[0] == '\\' && p[1] == '\'')
				memmove(p, p + 1, strlen(p)), *p = '"';
		c = parse(bad[i].json, err, sizeof(err));
		ok(c == NULL, "bad %zu refused: %s", i, want);
		is_str(err, want, "bad %zu: error line", i);
		conf_free(c);
	}
}

static void
test_nul(void)
{
	static const char text[] = "{\n\"port\": 1\0}";
	struct conf	*c = NULL;
	char		 err[256];

	ok(conf_parse(text, sizeof(text) - 1, &c, err, sizeof(err)) == -1,
	    "NUL byte refused");
	is_str(err, "config: line 2, column 10: NUL byte", "NUL byte error");
	ok(conf_parse("{}", 2, &c, NULL, 0) == -1 && c == NULL,
	    "errsz 0 is fine");
}

static void
test_defaults(void)
{
	struct conf	*c;
	struct conf_provider *p;
	struct conf_model *m;
	char		 err[256];

	c = parse("{'providers':[" P1 "]}", err, sizeof(err));
	ok(c != NULL, "minimal config parses (%s)", err);
	if (c == NULL)
		return;
	is_str(c->ak, "", "ak defaults to empty");
	is_str(c->host, "127.0.0.1", "host: loopback without ak");
	is_int(c->port, 8888, "port");
	is_int(c->workers, 0, "workers");
	is_int(c->upstream_timeout_seconds, 300, "upstream_timeout_seconds");
	is_int(c->upstream_connect_timeout_seconds, 10,
	    "upstream_connect_timeout_seconds");
	is_int(c->stream_idle_timeout_seconds, 0, "stream_idle_timeout_seconds");
	is_int(c->stream_ping_seconds, 10, "stream_ping_seconds");
	is_int(c->header_timeout_seconds, 10, "header_timeout_seconds");
	is_int(c->body_timeout_seconds, 60, "body_timeout_seconds");
	is_int(c->keepalive_timeout_seconds, 75, "keepalive_timeout_seconds");
	is_int(c->send_timeout_seconds, 60, "send_timeout_seconds");
	is_int(c->shutdown_timeout_seconds, 30, "shutdown_timeout_seconds");
	is_int(c->max_body_bytes, 33554432, "max_body_bytes");
	is_int(c->log_body_max_chars, 4096, "log_body_max_chars");
	is_int(c->log_stream_text_preview_chars, 256,
	    "log_stream_text_preview_chars");
	ok(c->loaded_at > 0, "loaded_at set");
	is_int(c->nproviders, 1, "one provider");
	p = &c->providers[0];
	is_str(p->name, "api.example.com", "name defaults to host");
	is_str(p->base_url, "https://api.example.com", "base_url");
	is_str(p->api_key, "k", "api_key");
	is_str(p->url, "https://api.example.com/v1/chat/completions",
	    "url");
	is_int(p->top_k, 0, "top_k false");
	is_int(p->pdf, 0, "pdf false");
	is_int(p->include_usage, 1, "include_usage true");
	is_int(p->api, CONF_API_OPENAI, "api openai");
	ok(p->schema == NULL, "schema: none");
	is_int(p->nmodels, 1, "one model");
	m = &p->models[0];
	is_str(m->id, "glm", "id");
	is_str(m->display_name, "glm", "display_name defaults to id");
	is_str(m->remote_id, "glm", "remote_id defaults to id");
	is_int(m->naliases, 0, "no aliases");
	ok(m->aliases == NULL, "aliases NULL");
	is_int(m->max_tokens, 0, "max_tokens 0 = no cap");
	is_int(m->reasoning, 0, "reasoning false");
	is_int(conf_stream_idle_seconds(c), 300, "stream idle = upstream");
	ok(conf_workers(c) >= 4, "auto workers at least 4");
	ok(conf_workers(c) % 2 == 0, "auto workers even (2 x cores)");
	conf_free(c);
}

/* every key set to a value other than its default */
static void
test_full(void)
{
	struct conf	*c;
	struct conf_provider *p;
	struct conf_model *m;
	char		 err[256];

	c = parse("{'ak':'secret','host':'::1','port':0,'workers':3,"
	    "'upstream_timeout_seconds':600,'upstream_connect_timeout_seconds':5,"
	    "'stream_idle_timeout_seconds':120,'stream_ping_seconds':15,"
	    "'header_timeout_seconds':11,'body_timeout_seconds':61,"
	    "'keepalive_timeout_seconds':76,'send_timeout_seconds':62,"
	    "'shutdown_timeout_seconds':31,'max_body_bytes':1048576,"
	    "'log_body_max_chars':0,'log_stream_text_preview_chars':0,"
	    "'providers':[{'name':'ds','base_url':'https://api.deepseek.com/',"
	    "'api_key':'sk','top_k':true,'pdf':true,'include_usage':false,"
	    "'models':[{'id':'glm','display_name':'GLM 4.7','remote_id':'glm-4.7',"
	    "'aliases':['claude-*sonnet*','claude-*opus*'],'max_tokens':8192,"
	    "'reasoning':true}]}]}", err, sizeof(err));
	ok(c != NULL, "full config parses (%s)", err);
	if (c == NULL)
		return;
	is_str(c->ak, "secret", "ak");
	is_str(c->host, "::1", "host given");
	is_int(c->port, 0, "port 0 allowed");
	is_int(c->workers, 3, "workers");
	is_int(conf_workers(c), 3, "conf_workers explicit");
	is_int(c->upstream_timeout_seconds, 600, "upstream_timeout_seconds");
	is_int(c->upstream_connect_timeout_seconds, 5,
	    "upstream_connect_timeout_seconds");
	is_int(c->stream_idle_timeout_seconds, 120, "stream_idle_timeout_seconds");
	is_int(conf_stream_idle_seconds(c), 120, "conf_stream_idle_seconds");
	is_int(c->stream_ping_seconds, 15, "stream_ping_seconds");
	is_int(c->header_timeout_seconds, 11, "header_timeout_seconds");
	is_int(c->body_timeout_seconds, 61, "body_timeout_seconds");
	is_int(c->keepalive_timeout_seconds, 76, "keepalive_timeout_seconds");
	is_int(c->send_timeout_seconds, 62, "send_timeout_seconds");
	is_int(c->shutdown_timeout_seconds, 31, "shutdown_timeout_seconds");
	is_int(c->max_body_bytes, 1048576, "max_body_bytes");
	is_int(c->log_body_max_chars, 0, "log_body_max_chars 0");
	is_int(c->log_stream_text_preview_chars, 0,
	    "log_stream_text_preview_chars 0");
	p = &c->providers[0];
	is_str(p->name, "ds", "name given");
	is_str(p->base_url, "https://api.deepseek.com", "trailing slash trimmed");
	is_str(p->url, "https://api.deepseek.com/v1/chat/completions",
	    "url");
	is_int(p->top_k, 1, "top_k");
	is_int(p->pdf, 1, "pdf");
	is_int(p->include_usage, 0, "include_usage");
	m = &p->models[0];
	is_str(m->display_name, "GLM 4.7", "display_name");
	is_str(m->remote_id, "glm-4.7", "remote_id");
	is_int(m->naliases, 2, "two aliases");
	is_str(m->aliases[0], "claude-*sonnet*", "alias 0");
	is_str(m->aliases[1], "claude-*opus*", "alias 1");
	is_int(m->max_tokens, 8192, "max_tokens");
	is_int(m->reasoning, 1, "reasoning");
	conf_free(c);
}

static void
test_host(void)
{
	struct conf	*c;
	char		 err[256];

	c = parse(WITH("'ak':'x'"), err, sizeof(err));
	ok(c != NULL && strcmp(c->host, "0.0.0.0") == 0,
	    "host: all interfaces with ak");
	conf_free(c);
	c = parse(WITH("'ak':''"), err, sizeof(err));
	ok(c != NULL && strcmp(c->host, "127.0.0.1") == 0,
	    "host: loopback with empty ak");
	conf_free(c);
	c = parse(WITH("'ak':'x','host':'127.0.0.2'"), err, sizeof(err));
	ok(c != NULL && strcmp(c->host, "127.0.0.2") == 0,
	    "host: explicit wins over ak");
	conf_free(c);
	c = parse(WITH("'port':65535"), err, sizeof(err));
	ok(c != NULL && c->port == 65535, "port 65535");
	conf_free(c);
}

static void
test_urls(void)
{
	static const struct {
		const char	*base_url, *want_base, *want_chat, *want_name;
	} u[] = {
		{ "https://api.example.com", "https://api.example.com",
		    "https://api.example.com/v1/chat/completions", "api.example.com" },
		{ "https://api.example.com/", "https://api.example.com",
		    "https://api.example.com/v1/chat/completions", "api.example.com" },
		{ "https://api.example.com/v1", "https://api.example.com/v1",
		    "https://api.example.com/v1/chat/completions", "api.example.com" },
		{ "https://api.example.com/v1//", "https://api.example.com/v1",
		    "https://api.example.com/v1/chat/completions", "api.example.com" },
		{ "https://openrouter.ai/api/v1", "https://openrouter.ai/api/v1",
		    "https://openrouter.ai/api/v1/chat/completions", "openrouter.ai" },
		{ "https://open.bigmodel.cn/api/paas/v4/",
		    "https://open.bigmodel.cn/api/paas/v4",
		    "https://open.bigmodel.cn/api/paas/v4/chat/completions",
		    "open.bigmodel.cn" },
		/* Groq's form wants its /v1; Gemini's has its version */
		{ "https://example.com/openai", "https://example.com/openai",
		    "https://example.com/openai/v1/chat/completions", "example.com" },
		{ "https://example.com/v1beta", "https://example.com/v1beta",
		    "https://example.com/v1beta/chat/completions", "example.com" },
		{ "https://generativelanguage.googleapis.com/v1beta/openai/",
		    "https://generativelanguage.googleapis.com/v1beta/openai",
		    "https://generativelanguage.googleapis.com/v1beta/openai/"
		    "chat/completions", "generativelanguage.googleapis.com" },
		{ "https://example.com/v2alpha1", "https://example.com/v2alpha1",
		    "https://example.com/v2alpha1/chat/completions", "example.com" },
		{ "https://example.com/openai/v1/openai",
		    "https://example.com/openai/v1/openai",
		    "https://example.com/openai/v1/openai/chat/completions",
		    "example.com" },
		{ "https://example.com/vbeta", "https://example.com/vbeta",
		    "https://example.com/vbeta/v1/chat/completions", "example.com" },
		{ "https://example.com/v1-beta", "https://example.com/v1-beta",
		    "https://example.com/v1-beta/v1/chat/completions", "example.com" },
		{ "https://example.com/v1Beta", "https://example.com/v1Beta",
		    "https://example.com/v1Beta/v1/chat/completions", "example.com" },
		{ "https://example.com/v", "https://example.com/v",
		    "https://example.com/v/v1/chat/completions", "example.com" },
		{ "http://v1", "http://v1", "http://v1/v1/chat/completions", "v1" },
		{ "http://127.0.0.1:11434/v1", "http://127.0.0.1:11434/v1",
		    "http://127.0.0.1:11434/v1/chat/completions", "127.0.0.1:11434" },
		{ "http://[::1]:8000", "http://[::1]:8000",
		    "http://[::1]:8000/v1/chat/completions", "[::1]:8000" },
		{ "HTTPS://Example.COM", "HTTPS://Example.COM",
		    "HTTPS://Example.COM/v1/chat/completions", "Example.COM" },
		{ "http://user:pw@h:1/v2", "http://user:pw@h:1/v2",
		    "http://user:pw@h:1/v2/chat/completions", "h:1" },
	};
	char		 json[1024], err[256];
	struct conf	*c;
	size_t		 i;

	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		snprintf(json, sizeof(json), "{'providers':[{'base_url':'%s',"
		    "'api_key':'','models':[{'id':'a'}]}]}", u[i].base_url);
		c = parse(json, err, sizeof(err));
		ok(c != NULL, "base_url %s parses (%s)", u[i].base_url, err);
		if (c == NULL)
			continue;
		is_str(c->providers[0].base_url, u[i].want_base,
		    "base_url %s kept as", u[i].base_url);
		is_str(c->providers[0].url, u[i].want_chat,
		    "url of %s", u[i].base_url);
		is_str(c->providers[0].name, u[i].want_name,
		    "name of %s", u[i].base_url);
		conf_free(c);
	}
	/* the Responses API: the same rule, its own endpoint */
	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		char	 want[256], *cc;

		snprintf(json, sizeof(json), "{'providers':[{'base_url':'%s',"
		    "'api':'responses','api_key':'','models':[{'id':'a'}]}]}",
		    u[i].base_url);
		c = parse(json, err, sizeof(err));
		ok(c != NULL, "responses at %s parses (%s)", u[i].base_url, err);
		if (c == NULL)
			continue;
		strlcpy(want, u[i].want_chat, sizeof(want));
		cc = strstr(want, "/chat/completions");
		strlcpy(cc, "/responses", sizeof(want) - (cc - want));
		is_str(c->providers[0].url, want, "responses url of %s",
		    u[i].base_url);
		is_int(c->providers[0].api, CONF_API_RESPONSES, "api responses");
		conf_free(c);
	}
	/* url: the endpoint as given, its query kept */
	c = parse(PROV("'models':[{'id':'a'}],'url':'https://r.example/"
	    "openai/deployments/d/chat/completions?api-version=2024-10-21'"),
	    err, sizeof(err));
	ok(c != NULL, "url parses (%s)", err);
	if (c != NULL)
		is_str(c->providers[0].url, "https://r.example/openai/"
		    "deployments/d/chat/completions?api-version=2024-10-21",
		    "url taken as it is");
	conf_free(c);
	c = parse(PROV("'models':[{'id':'a'}],'url':'ftp://x/y'"), err,
	    sizeof(err));
	ok(c == NULL, "url: ftp refused");
	is_str(err, "providers[0].url: not an http(s) URL", "url: error");
	c = parse(PROV("'models':[{'id':'a'}],'url':'http://x/y#z'"), err,
	    sizeof(err));
	ok(c == NULL, "url: fragment refused");
	is_str(err, "providers[0].url: fragment not allowed", "url: error");
	c = parse(PROV("'models':[{'id':'a'}],'url':'https:///chat'"), err,
	    sizeof(err));
	ok(c == NULL, "url: no host refused");
	c = parse(PROV("'models':[{'id':'a'}],'api':'openai','schema':"
	    "'gemini'"), err, sizeof(err));
	ok(c != NULL && c->providers[0].schema == schema_dialect("gemini") &&
	    c->providers[0].api == CONF_API_OPENAI,
	    "api openai said, schema gemini (%s)", err);
	conf_free(c);
}

static void
test_secrets(void)
{
	char		 json[2048], err[512];
	struct conf	*c;

	c = parse("{'ak':'env:CP_TEST_AK','providers':[{'base_url':'http://x',"
	    "'api_key':'env:CP_TEST_API_KEY','models':[{'id':'a'}]}]}",
	    err, sizeof(err));
	ok(c != NULL, "env: secrets (%s)", err);
	if (c != NULL) {
		is_str(c->ak, "ak-from-env", "ak from env");
		is_str(c->host, "0.0.0.0", "host follows the resolved ak");
		is_str(c->providers[0].api_key, "sk-from-env",
		    "api_key from env");
	}
	conf_free(c);

	snprintf(json, sizeof(json), "{'ak':'file:%s/conf/api_key_crlf.txt',"
	    "'providers':[{'base_url':'http://x','api_key':"
	    "'file:%s/conf/api_key.txt','models':[{'id':'a'}]}]}",
	    data_dir, data_dir);
	c = parse(json, err, sizeof(err));
	ok(c != NULL, "file: secrets (%s)", err);
	if (c != NULL) {
		is_str(c->ak, "sk-crlf", "ak from file, CRLF stripped");
		is_str(c->providers[0].api_key, "sk-from-file",
		    "api_key from file, newline stripped");
	}
	conf_free(c);

	snprintf(json, sizeof(json), "{'providers':[{'base_url':'http://x',"
	    "'api_key':'file:%s/conf/empty.txt','models':[{'id':'a'}]}]}",
	    data_dir);
	c = parse(json, err, sizeof(err));
	ok(c == NULL, "empty secret file refused");
	snprintf(json, sizeof(json), "providers[0].api_key: %s/conf/empty.txt: "
	    "empty", data_dir);
	is_str(err, json, "empty secret file error");

	snprintf(json, sizeof(json), "{'ak':'file:%s/conf','providers':[" P1
	    "]}", data_dir);
	c = parse(json, err, sizeof(err));
	ok(c == NULL, "directory as secret file refused");
	snprintf(json, sizeof(json), "ak: %s/conf: Is a directory", data_dir);
	is_str(err, json, "directory secret error");

	c = parse("{'providers':[{'base_url':'https://api.example.com',"
	    "'api_key':'','models':[{'id':'a'}]}]}", err, sizeof(err));
	ok(c != NULL && strcmp(c->providers[0].api_key, "") == 0,
	    "empty literal api_key allowed (local servers)");
	conf_free(c);
}

/* api_keys and retries as read */
static void
test_upkeys_conf(void)
{
	char		 json[1024], err[512];
	struct conf	*c;
	struct conf_provider *p;

	snprintf(json, sizeof(json), "{'providers':[{'base_url':'http://x',"
	    "'api_keys':['key-one','env:CP_TEST_API_KEY',"
	    "'file:%s/conf/api_key.txt'],'retries':{'count':3,'base_ms':100},"
	    "'models':[{'id':'a'}]}]}", data_dir);
	c = parse(json, err, sizeof(err));
	ok(c != NULL, "api_keys and retries parse (%s)", err);
	if (c != NULL) {
		p = &c->providers[0];
		is_int(p->napi_keys, 3, "three keys");
		is_str(p->api_keys[0], "key-one", "api_keys[0] literal");
		is_str(p->api_keys[1], "sk-from-env", "api_keys[1] from env");
		is_str(p->api_keys[2], "sk-from-file", "api_keys[2] from file");
		is_str(p->api_key, "key-one", "api_key is a copy of the first");
		is_int(p->retries.count, 3, "retries.count");
		is_int(p->retries.base_ms, 100, "retries.base_ms");
		is_int(p->retries.max_wait_seconds, 30,
		    "retries.max_wait_seconds default");
	}
	conf_free(c);

	c = parse("{'providers':[" P1 "]}", err, sizeof(err));
	ok(c != NULL && c->providers[0].napi_keys == 0 &&
	    c->providers[0].api_keys == NULL &&
	    c->providers[0].retries.count == 0,
	    "without api_keys and retries: one key, no retries");
	conf_free(c);

	c = parse("{'providers':[{'base_url':'http://x','api_key':'k',"
	    "'retries':{},'models':[{'id':'a'}]}]}", err, sizeof(err));
	ok(c != NULL && c->providers[0].retries.count == 2 &&
	    c->providers[0].retries.base_ms == 500 &&
	    c->providers[0].retries.max_wait_seconds == 30,
	    "retries: {} takes the defaults (%s)", err);
	conf_free(c);
}

/* set (or with v == NULL delete) the value at a table path, [] = [0] */
static void
set_path(json_object *root, const char *path, json_object *v)
{
	char		 seg[128];
	const char	*s = path, *dot;
	size_t		 n;
	json_object	*o = root;

	for (;;) {
		dot = strchr(s, '.');
		n = dot ? (size_t)(dot - s) : strlen(s);
		snprintf(seg, sizeof(seg), "%.*s", (int)n, s);
		if (dot == NULL)
			break;
		if (n > 2 && strcmp(seg + n - 2, "[]") == 0) {
			seg[n - 2] = '\0';
			o = json_object_array_get_idx(
			    json_object_object_get(o, seg), 0);
		} else
			o = json_object_object_get(o, seg);
		s = dot + 1;
	}
	if (v == NULL)
		json_object_object_del(o, seg);
	else
		json_object_object_add(o, seg, v);
}

/* "providers[].models[].id" -> "providers[0].models[0].id" */
static void
instance(char *out, size_t outsz, const char *path)
{
	size_t	 o = 0;

	for (; *path && o + 3 < outsz; path++) {
		out[o++] = *path;
		if (path[0] == '[' && path[1] == ']')
			out[o++] = '0';
	}
	out[o] = '\0';
}

static json_object *
sample(const struct conf_key *k)
{
	const char	*errstr;
	long long	 n;

	switch (k->type) {
	case CONF_STRING:
		if (strcmp(k->path, "web_search.backend") == 0)
			return json_object_new_string("searxng");
		/* the team gateway's strings name models, keys, files */
		if (strcmp(k->path, "keys[].default_model") == 0 ||
		    strcmp(k->path, "routes[].model") == 0 ||
		    strcmp(k->path, "providers[].models[].id") == 0)
			return json_object_new_string("a");
		if (strcmp(k->path, "routes[].match.key") == 0)
			return json_object_new_string("k1");
		if (strcmp(k->path, "usage_log") == 0)
			return json_object_new_string("/var/log/usage.log");
		if (strcmp(k->path, "limits_backend") == 0)
			return json_object_new_string("redis://h:1/2");
		if (strcmp(k->path, "limits_redis_failure") == 0)
			return json_object_new_string("closed");
		if (strcmp(k->path, "providers[].api") == 0)
			return json_object_new_string("responses");
		if (strcmp(k->path, "providers[].schema") == 0)
			return json_object_new_string("gemini");
		if (strcmp(k->path, "providers[].auth") == 0)
			return json_object_new_string("x-api-key");
		if (strstr(k->path, "base_url") ||
		    strcmp(k->path, "providers[].url") == 0)
			return json_object_new_string("http://h:1/v1");
		return json_object_new_string("sample");
	case CONF_INT:
		n = strtonum(k->default_value, 0, 1 << 30, &errstr);
		return json_object_new_int64(errstr ? 1 : n + 1);
	case CONF_BOOL:
		return json_object_new_boolean(1);
	case CONF_STRING_ARRAY: {
		json_object *a = json_object_new_array();

		json_object_array_add(a, json_object_new_string(
		    strcmp(k->path, "keys[].models") == 0 ? "a" : "sample-*"));
		return a;
	}
	case CONF_STRING_MAP: {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "X-Sample",
		    json_object_new_string("sample"));
		return o;
	}
	case CONF_VALUE_MAP: {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "temperature",
		    json_object_new_double(0.5));
		return o;
	}
	default:
		return NULL;
	}
}

static const char *
wrong_type_error(enum conf_type t)
{
	switch (t) {
	case CONF_STRING:
		return "expected string";
	case CONF_INT:
		return "expected integer";
	case CONF_BOOL:
		return "expected boolean";
	case CONF_OBJECT:
	case CONF_STRING_MAP:
	case CONF_VALUE_MAP:
		return "expected object";
	default:
		return "expected array";
	}
}

/* the table drives the parser: every key parses, is type-checked, and
 * every required key is required */
/* the value v at the key k (instance path inst): 0 accepted, -1 refused */
static int
try_int(const char *base, const struct conf_key *k, long long v, char *err,
    size_t errsz)
{
	json_object	*root = json_tokener_parse(q(base));
	struct conf	*c = NULL;
	const char	*t;
	int		 rv;

	set_path(root, k->path, json_object_new_int64(v));
	/* workers and spare_workers may not exceed max_workers: give room
	 * both ways */
	if (strcmp(k->path, "workers") == 0 ||
	    strcmp(k->path, "spare_workers") == 0)
		set_path(root, "max_workers",
		    json_object_new_int64(CONF_MAX_WORKERS));
	if (strcmp(k->path, "max_workers") == 0)
		set_path(root, "workers", json_object_new_int64(1));
	t = json_object_to_json_string(root);
	rv = conf_parse(t, strlen(t), &c, err, errsz);
	conf_free(c);
	json_object_put(root);
	return rv;
}

static void
test_range(const char *base, const struct conf_key *k, const char *inst)
{
	char	 err[512], want[512];

	ok(k->min < k->max, "%s: range %lld..%lld", k->path, k->min, k->max);
	ok(try_int(base, k, k->min, err, sizeof(err)) == 0,
	    "%s: its minimum %lld is accepted (%s)", k->path, k->min, err);
	ok(try_int(base, k, k->max, err, sizeof(err)) == 0,
	    "%s: its maximum %lld is accepted (%s)", k->path, k->max, err);
	ok(try_int(base, k, k->min - 1, err, sizeof(err)) == -1,
	    "%s: %lld refused", k->path, k->min - 1);
	snprintf(want, sizeof(want), "%s: %lld out of range %lld..%lld", inst,
	    k->min - 1, k->min, k->max);
	is_str(err, want, "%s: below the range, named", k->path);
	ok(try_int(base, k, k->max + 1, err, sizeof(err)) == -1,
	    "%s: %lld refused", k->path, k->max + 1);
}

/* what a key needs next to it to be valid */
static void
companions(json_object *root, const char *path)
{
	if (strcmp(path, "providers[].betas") == 0 ||
	    strcmp(path, "providers[].count_tokens") == 0)
		set_path(root, "providers[].api",
		    json_object_new_string("anthropic"));
}

static void
test_table(void)
{
	static const char base[] = "{'providers':[{'base_url':'http://x',"
	    "'api_key':'','retries':{},'models':[{'id':'a'}]}],'web_search':{"
	    "'backend':'searxng','base_url':'http://h:1'},'web_fetch':{},"
	    "'keys':[{'name':'k1','key':'key-one','limits':{}}],"
	    "'routes':[{'name':'r1','model':'a','match':{}}]}";
	const struct conf_key *k;
	json_object	*root;
	struct conf	*c;
	const char	*t;
	char		 err[512], want[512], inst[256];
	size_t		 i, j, nreq = 0;

	for (i = 0; i < conf_nkeys; i++) {
		k = &conf_keys[i];
		ok(k->doc != NULL && k->doc[0] != '\0', "%s documented", k->path);
		for (j = 0; j < i; j++)
			if (strcmp(conf_keys[j].path, k->path) == 0)
				break;
		ok(j == i, "%s declared once", k->path);
		instance(inst, sizeof(inst), k->path);

		/* a sample value of the declared type is accepted */
		if (k->type != CONF_ARRAY && k->type != CONF_OBJECT) {
			root = json_tokener_parse(q(base));
			/* api_keys replaces api_key, never joins it */
			if (strcmp(k->path, "providers[].api_keys") == 0)
				set_path(root, "providers[].api_key", NULL);
			set_path(root, k->path, sample(k));
			companions(root, k->path);
			t = json_object_to_json_string(root);
			c = NULL;
			ok(conf_parse(t, strlen(t), &c, err, sizeof(err)) == 0,
			    "key %s parses (%s)", k->path, err);
			conf_free(c);
			json_object_put(root);
		}

		/* a value of another type is refused, naming the key */
		root = json_tokener_parse(q(base));
		set_path(root, k->path, k->type == CONF_STRING ?
		    json_object_new_int(1) : json_object_new_string("1"));
		t = json_object_to_json_string(root);
		c = NULL;
		ok(conf_parse(t, strlen(t), &c, err, sizeof(err)) == -1,
		    "key %s: wrong type refused", k->path);
		snprintf(want, sizeof(want), "%s: %s", inst,
		    wrong_type_error(k->type));
		is_str(err, want, "key %s: wrong type error", k->path);
		json_object_put(root);

		/* an integer's range is the table's: its ends are accepted,
		 * one past them refused (with max_workers and workers kept
		 * consistent by setting both) */
		if (k->type == CONF_INT)
			test_range(base, k, inst);
		else
			ok(k->min == 0 && k->max == 0, "%s has no range",
			    k->path);

		if (k->default_value != NULL)
			continue;
		nreq++;
		root = json_tokener_parse(q(base));
		set_path(root, k->path, NULL);
		t = json_object_to_json_string(root);
		c = NULL;
		ok(conf_parse(t, strlen(t), &c, err, sizeof(err)) == -1,
		    "required %s: absence refused", k->path);
		snprintf(want, sizeof(want), "%s: missing", inst);
		is_str(err, want, "required %s: error", k->path);
		json_object_put(root);
	}
	is_int(nreq, 9, "nine required keys");
	k = NULL;
	for (i = 0; i < conf_nkeys; i++)
		if (strcmp(conf_keys[i].path, "port") == 0)
			k = &conf_keys[i];
	ok(k != NULL && k->reloadable == 0, "port is not reloadable");
	for (i = 0; i < conf_nkeys; i++)
		if (strcmp(conf_keys[i].path, "host") == 0)
			k = &conf_keys[i];
	ok(k != NULL && k->reloadable == 0, "host is not reloadable");
}

/* the original Go proxy's example config is accepted unchanged */
static void
test_original(void)
{
	struct conf	*c;
	char		 err[256];

	c = parse("{'ak':'your-proxy-api-key','port':8888,"
	    "'upstream_timeout_seconds':300,'log_body_max_chars':4096,"
	    "'log_stream_text_preview_chars':256,'providers':[{"
	    "'base_url':'https://api.example.com',"
	    "'api_key':'your-upstream-api-key','models':["
	    "{'id':'glm','display_name':'glm4.7','remote_id':'deepseek-chat'},"
	    "{'id':'minimax','display_name':'minimax2.1',"
	    "'remote_id':'mimo-v2-flash'}]}]}", err, sizeof(err));
	ok(c != NULL, "original README example parses (%s)", err);
	if (c == NULL)
		return;
	is_str(c->providers[0].models[1].remote_id, "mimo-v2-flash",
	    "remote_id");
	is_str(c->host, "0.0.0.0", "ak set: all interfaces");
	conf_free(c);
}

static void
test_example(void)
{
	struct conf	*c = NULL;
	char		 path[1100], err[512];

	snprintf(path, sizeof(path), "%s/../../config.json.example", data_dir);
	setenv("CLAUDE_PROXY_AK", "example-ak", 1);
	setenv("DEEPSEEK_API_KEY", "example-key", 1);
	setenv("CLAUDE_PROXY_CI_KEY", "example-ci-key", 1);
	ok(conf_load(path, &c, err, sizeof(err)) == 0,
	    "config.json.example loads (%s)", err);
	if (c != NULL) {
		ok(c->nproviders == 4, "example: four providers");
		ok(c->providers[1].nmodels > 0 && strncmp(
		    c->providers[1].url, "http://127.0.0.1:11434/v1/", 26) == 0,
		    "example: local ollama");
		is_str(c->providers[2].url,
		    "https://api.deepseek.com/anthropic/v1/messages",
		    "example: an anthropic pass-through, /v1/messages");
		ok(c->providers[2].auth == CONF_AUTH_X_API_KEY &&
		    c->providers[2].nbetas == 1 && c->providers[2].betas_listed,
		    "example: its auth and betas");
	}
	conf_free(c);
	unsetenv("DEEPSEEK_API_KEY");
	ok(conf_load(path, &c, err, sizeof(err)) == -1,
	    "example without its env var refused");
	is_str(err, "providers[0].api_keys[0]: environment variable "
	    "DEEPSEEK_API_KEY is not set", "names the variable");
}

/* run conf_load with stderr captured; returns what was logged */
static const char *
load_capture(const char *path, int *rv, char *err, size_t errsz)
{
	static char	 out[4096];
	struct conf	*c = NULL;
	char		 tmpl[] = "/tmp/test_conf_stderr.XXXXXX";
	int		 fd, saved;
	ssize_t		 n;

	fflush(stderr);
	fd = mkstemp(tmpl);
	unlink(tmpl);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	*rv = conf_load(path, &c, err, errsz);
	dup2(saved, STDERR_FILENO);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	if (*rv == 0)
		ok(c->loaded_at > 0, "conf_load sets loaded_at");
	conf_free(c);
	return out;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int	 fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		printf("# cannot write %s\n", path);
	fchmod(fd, mode);
	close(fd);
}

static void
test_load(void)
{
	char		 path[1100], want[1200], err[512], tmpl[] =
	    "/tmp/test_conf.XXXXXX";
	const char	*logged;
	struct conf	*c = NULL;
	int		 rv;

	ok(conf_load("/nonexistent/claude-proxy.json", &c, err,
	    sizeof(err)) == -1 && c == NULL, "missing file refused");
	is_str(err, "/nonexistent/claude-proxy.json: No such file or directory",
	    "missing file error");
	ok(conf_load(data_dir, &c, err, sizeof(err)) == -1, "directory refused");
	snprintf(want, sizeof(want), "%s: not a regular file", data_dir);
	is_str(err, want, "directory error");

	snprintf(path, sizeof(path), "%s/conf/syntax_error.json", data_dir);
	ok(conf_load(path, &c, err, sizeof(err)) == -1, "syntax error refused");
	snprintf(want, sizeof(want), "%s: line 4, column 67: object key "
	    "expected", path);
	is_str(err, want, "syntax error names file, line and column");

	if (mkdtemp(tmpl) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/c.json", tmpl);

	write_file(path, q(WITH("'ak':'literal-ak'")), 0644);
	logged = load_capture(path, &rv, err, sizeof(err));
	ok(rv == 0, "world-readable literal config loads");
	ok(strstr(logged, "readable by group or others but holds a literal ak")
	    != NULL, "warns about a literal ak");

	write_file(path, q("{'providers':[" P1 "]}"), 0640);
	logged = load_capture(path, &rv, err, sizeof(err));
	ok(rv == 0 && strstr(logged, "literal api_key") != NULL,
	    "warns about a literal api_key readable by group");

	write_file(path, q(WITH("'ak':'literal-ak'")), 0600);
	logged = load_capture(path, &rv, err, sizeof(err));
	ok(rv == 0 && logged[0] == '\0', "mode 600: no warning");

	write_file(path, q("{'ak':'env:CP_TEST_AK','providers':[{"
	    "'base_url':'http://x','api_key':'env:CP_TEST_API_KEY',"
	    "'models':[{'id':'a'}]},{'base_url':'http://y','api_key':'',"
	    "'models':[{'id':'b'}]}]}"), 0644);
	logged = load_capture(path, &rv, err, sizeof(err));
	ok(rv == 0 && logged[0] == '\0', "env: keys and empty key: no warning");

	write_file(path, "", 0600);
	logged = load_capture(path, &rv, err, sizeof(err));
	snprintf(want, sizeof(want), "%s: line 1, column 1: unexpected end "
	    "of input", path);
	ok(rv == -1, "empty file refused");
	is_str(err, want, "empty file error");

	unlink(path);
	rmdir(tmpl);
}

/* the web tools: off unless configured, backends checked, keys resolved
 * like every secret */
static void
test_web(void)
{
	static const struct bad web_bad[] = {
		{ WITH("'web_search':{}"), "web_search.backend: missing" },
		{ WITH("'web_search':{'backend':'google'}"),
		    "web_search.backend: unknown backend \"google\" "
		    "(tavily, searxng or brave)" },
		{ WITH("'web_search':{'backend':'searxng'}"),
		    "web_search.base_url: missing (backend searxng has no "
		    "public default)" },
		{ WITH("'web_search':{'backend':'tavily'}"),
		    "web_search.api_key: missing (backend tavily needs a key)" },
		{ WITH("'web_search':{'backend':'brave','api_key':''}"),
		    "web_search.api_key: missing (backend brave needs a key)" },
		{ WITH("'web_search':{'backend':'searxng','base_url':'ftp://h'}"),
		    "web_search.base_url: not an http(s) URL" },
		{ WITH("'web_search':{'backend':'searxng','base_url':'http://'}"),
		    "web_search.base_url: not an http(s) URL" },
		{ WITH("'web_search':{'backend':'searxng',"
		    "'base_url':'http://h/?format=json'}"),
		    "web_search.base_url: query or fragment not allowed" },
		{ WITH("'web_search':{'backend':'searxng','base_url':'http://h',"
		    "'max_results':21}"),
		    "web_search.max_results: 21 out of range 1..20" },
		{ WITH("'web_search':{'backend':'searxng','base_url':'http://h',"
		    "'timeout_seconds':0}"),
		    "web_search.timeout_seconds: 0 out of range 1..300" },
		{ WITH("'web_search':{'backend':'tavily','api_key':'env:NO_SUCH_"
		    "VAR_CP'}"), "web_search.api_key: environment variable "
		    "NO_SUCH_VAR_CP is not set" },
		{ WITH("'web_search':{'backend':'searxng','base_url':'http://h',"
		    "'colour':1}"), "web_search.colour: unknown key" },
		{ WITH("'web_search':'tavily'"), "web_search: expected object" },
		{ WITH("'web_fetch':{'max_bytes':1023}"),
		    "web_fetch.max_bytes: 1023 out of range 1024..104857600" },
		{ WITH("'web_fetch':{'timeout_seconds':301}"),
		    "web_fetch.timeout_seconds: 301 out of range 1..300" },
		{ WITH("'web_fetch':{'enabled':1}"),
		    "web_fetch.enabled: expected boolean" },
	};
	struct conf	*c;
	char		 err[512];
	size_t		 i;

	for (i = 0; i < sizeof(web_bad) / sizeof(web_bad[0]); i++) {
		c = parse(web_bad[i].json, err, sizeof(err));
		ok(c == NULL, "web config %zu refused", i);
		is_str(err, web_bad[i].err, "web config %zu: error", i);
		conf_free(c);
	}

	c = parse(WITH("'port':1"), err, sizeof(err));
	ok(c != NULL && c->web_search.backend == NULL &&
	    !c->web_fetch.enabled, "no web objects: both tools off");
	if (c != NULL) {
		is_int(c->web_fetch.max_bytes, 10485760, "fetch max_bytes");
		is_int(c->web_fetch.timeout_seconds, 30, "fetch timeout");
		is_int(c->web_fetch.allow_private_addresses, 0,
		    "private addresses refused");
	}
	conf_free(c);

	c = parse(WITH("'web_search':{'backend':'tavily','api_key':'tvly-k'},"
	    "'web_fetch':{'timeout_seconds':5}"), err, sizeof(err));
	ok(c != NULL, "tavily with its defaults (%s)", err);
	if (c != NULL) {
		is_str(c->web_search.backend, "tavily", "backend");
		is_str(c->web_search.base_url, "https://api.tavily.com",
		    "tavily's public API by default");
		is_str(c->web_search.api_key, "tvly-k", "key");
		is_int(c->web_search.max_results, 5, "max_results default");
		is_int(c->web_search.timeout_seconds, 10, "timeout default");
		is_int(c->web_fetch.enabled, 0,
		    "a web_fetch object alone does not enable fetching");
	}
	conf_free(c);

	c = parse(WITH("'web_search':{'backend':'brave','api_key':'b'}"), err,
	    sizeof(err));
	ok(c != NULL && strcmp(c->web_search.base_url,
	    "https://api.search.brave.com") == 0, "brave's public API");
	conf_free(c);

	setenv("CP_TEST_SEARCH_KEY", "from-env", 1);
	c = parse(WITH("'web_search':{'backend':'searxng','base_url':"
	    "'http://127.0.0.1:8080/searx//','api_key':'env:CP_TEST_SEARCH_KEY',"
	    "'max_results':20,'timeout_seconds':300},'web_fetch':{'enabled':"
	    "true,'allow_private_addresses':true,'max_bytes':1024}"), err,
	    sizeof(err));
	ok(c != NULL, "searxng on loopback, every key set (%s)", err);
	if (c != NULL) {
		is_str(c->web_search.base_url, "http://127.0.0.1:8080/searx",
		    "trailing slashes dropped");
		is_str(c->web_search.api_key, "from-env", "env: key");
		is_int(c->web_search.max_results, 20, "max_results");
		ok(c->web_fetch.enabled && c->web_fetch.allow_private_addresses
		    && c->web_fetch.max_bytes == 1024, "fetch settings");
	}
	conf_free(c);
	unsetenv("CP_TEST_SEARCH_KEY");
}

/* keys[], routes[], the usage log and the limits backend */
#define TEAM(top)	"{" top ",'providers':[{'base_url':'http://x','api_key':''," \
	"'models':[{'id':'glm','aliases':['claude-*sonnet*']},{'id':'mini'," \
	"'aliases':['claude-*haiku*']}]}]}"
#define K(name, key)	"{'name':'" name "','key':'" key "'}"

static const struct bad team_bad[] = {
	{ TEAM("'keys':[{'name':'a b','key':'k1'}]"),
	    "keys[0].name: \"a b\": use 1 to 64 of A-Z a-z 0-9 . _ -" },
	{ TEAM("'keys':[{'name':'','key':'k1'}]"), "keys[0].name: empty" },
	{ TEAM("'keys':[{'name':'x','key':''}]"), "keys[0].key: empty" },
	{ TEAM("'keys':[{'key':'k1'}]"), "keys[0].name: missing" },
	{ TEAM("'keys':[{'name':'x'}]"), "keys[0].key: missing" },
	{ TEAM("'keys':[" K("ak", "k1") "]"),
	    "keys[0].name: \"ak\" is the name of the top-level ak" },
	{ TEAM("'keys':[" K("a", "k1") "," K("a", "k2") "]"),
	    "keys[1].name: duplicate name \"a\" (also keys[0])" },
	{ TEAM("'keys':[" K("a", "k1") "," K("b", "k1") "]"),
	    "keys[1].key: the same key as keys[0]" },
	{ TEAM("'ak':'k1','keys':[" K("a", "k1") "]"),
	    "keys[0].key: the same key as ak" },
	{ TEAM("'keys':[{'name':'a','key':'k','models':['nope']}]"),
	    "keys[0].models[0]: no model answers to \"nope\"" },
	{ TEAM("'keys':[{'name':'a','key':'k','models':['']}]"),
	    "keys[0].models[0]: empty" },
	{ TEAM("'keys':[{'name':'a','key':'k','default_model':'claude-x'}]"),
	    "keys[0].default_model: no model has the id \"claude-x\"" },
	{ TEAM("'keys':[{'name':'a','key':'k','models':['mini'],"
	    "'default_model':'glm'}]"),
	    "keys[0].default_model: \"glm\" is not one of the key's models" },
	{ TEAM("'keys':[{'name':'a','key':'k','limits':{'rpm':1}}]"),
	    "keys[0].limits.rpm: unknown key" },
	{ TEAM("'keys':[{'name':'a','key':'k','limits':"
	    "{'requests_per_minute':-1}}]"),
	    "keys[0].limits.requests_per_minute: -1 out of range 0..1000000000" },
	{ TEAM("'keys':[{'name':'a','key':'k','limits':"
	    "{'concurrent_requests':100001}}]"),
	    "keys[0].limits.concurrent_requests: 100001 out of range 0..100000" },
	{ TEAM("'routes':[{'name':'r','model':'claude-x'}]"),
	    "routes[0].model: no model has the id \"claude-x\"" },
	{ TEAM("'routes':[{'name':'r','model':'claude-sonnet'}]"),
	    "routes[0].model: no model has the id \"claude-sonnet\"" },
	{ TEAM("'routes':[{'model':'glm'}]"), "routes[0].name: missing" },
	{ TEAM("'routes':[{'name':'r'}]"), "routes[0].model: missing" },
	{ TEAM("'routes':[{'name':'r','model':'glm'},{'name':'r','model':"
	    "'mini'}]"), "routes[1].name: duplicate name \"r\" (also routes[0])" },
	{ TEAM("'routes':[{'name':'r','model':'glm','match':{'key':'bob'}}]"),
	    "routes[0].match.key: no key is named \"bob\"" },
	{ TEAM("'routes':[{'name':'r','model':'glm','match':{'tools':true}}]"),
	    "routes[0].match.tools: unknown key" },
	{ TEAM("'routes':[{'name':'r','model':'glm','match':{'thinking':1}}]"),
	    "routes[0].match.thinking: expected boolean" },
	{ TEAM("'routes':[{'name':'r','model':'glm','match':"
	    "{'min_input_tokens':-5}}]"),
	    "routes[0].match.min_input_tokens: -5 out of range 0..100000000" },
	{ TEAM("'usage_log':'usage.log'"), "usage_log: needs an absolute path" },
	{ TEAM("'limits_backend':'memcached://x'"),
	    "limits_backend: \"local\" or a redis:// URL" },
	{ TEAM("'limits_backend':'redis://'"), "limits_backend: no host" },
	{ TEAM("'limits_backend':'redis://h:0'"),
	    "limits_backend: port 0 is too small" },
	{ TEAM("'limits_backend':'redis://h:99999'"),
	    "limits_backend: port 99999 is too large" },
	{ TEAM("'limits_backend':'redis://h/x'"),
	    "limits_backend: database \"x\" is invalid" },
	{ TEAM("'limits_backend':'redis://h?db=1'"),
	    "limits_backend: query or fragment not allowed" },
	{ TEAM("'limits_backend':'redis://user@h'"),
	    "limits_backend: user without a password (redis://:password@host)" },
	{ TEAM("'limits_backend':'env:CP_TEST_UNSET_VAR'"),
	    "limits_backend: environment variable CP_TEST_UNSET_VAR is not set" },
	{ TEAM("'limits_redis_failure':'maybe'"),
	    "limits_redis_failure: \"maybe\": \"open\" or \"closed\"" },
	{ TEAM("'limits_redis_timeout_ms':5"),
	    "limits_redis_timeout_ms: 5 out of range 10..10000" },
};

static void
test_team(void)
{
	struct conf	*c;
	char		 err[512];
	size_t		 i;

	for (i = 0; i < sizeof(team_bad) / sizeof(team_bad[0]); i++) {
		c = parse(team_bad[i].json, err, sizeof(err));
		ok(c == NULL, "team bad %zu refused", i);
		is_str(err, team_bad[i].err, "team bad %zu: error", i);
		conf_free(c);
	}

	c = parse(TEAM("'ak':'the-ak-value','keys':[{'name':'alice',"
	    "'key':'alice-key','models':['claude-sonnet-4','mini','glm'],"
	    "'default_model':'mini','limits':{'requests_per_minute':5,"
	    "'concurrent_requests':2,'input_tokens_per_minute':1000,"
	    "'output_tokens_per_day':9}},{'name':'ci.bot_1','key':'ci-key'}],"
	    "'routes':[{'name':'bg','match':{'model':'claude-*haiku*',"
	    "'no_tools':true},'model':'mini'},{'name':'long','match':{"
	    "'min_input_tokens':50000,'key':'alice','thinking':false},"
	    "'model':'glm'}],'usage_log':'/var/log/claude-proxy/usage.log',"
	    "'limits_backend':'redis://:p%40ss@redis.example:6380/3',"
	    "'limits_redis_failure':'closed','limits_redis_timeout_ms':250"),
	    err, sizeof(err));
	ok(c != NULL, "a team configuration loads (%s)", err);
	if (c == NULL)
		return;
	is_int(c->nclient_keys, 3, "ak and two keys");
	is_str(c->client_keys[0].name, "ak", "ak comes first, named ak");
	is_str(c->client_keys[0].key, "the-ak-value", "with the ak's value");
	ok(!c->client_keys[0].limited && c->client_keys[0].nallowed == 0,
	    "ak: every model, no limits");
	is_str(c->client_keys[1].name, "alice", "keys[0]");
	is_int(c->client_keys[1].nallowed, 2, "alice: two models, once each");
	is_str(c->client_keys[1].allowed[0], "glm", "an alias resolves");
	is_str(c->client_keys[1].allowed[1], "mini", "an id");
	is_str(c->client_keys[1].default_model, "mini", "default_model");
	ok(c->client_keys[1].limited &&
	    c->client_keys[1].limits.requests_per_minute == 5 &&
	    c->client_keys[1].limits.concurrent_requests == 2 &&
	    c->client_keys[1].limits.input_tokens_per_minute == 1000 &&
	    c->client_keys[1].limits.output_tokens_per_day == 9, "limits");
	ok(!c->client_keys[2].limited && c->client_keys[2].nallowed == 0 &&
	    c->client_keys[2].default_model == NULL, "ci.bot_1: defaults");
	is_int(c->nroutes, 2, "two routes");
	ok(c->routes[0].match.no_tools == 1 && c->routes[0].match.thinking ==
	    -1 && c->routes[0].match.images == -1 &&
	    c->routes[0].match.key == NULL, "route 0's conditions");
	is_str(c->routes[0].match.model, "claude-*haiku*", "route 0's glob");
	ok(c->routes[1].match.thinking == 0 &&
	    c->routes[1].match.min_input_tokens == 50000 &&
	    c->routes[1].match.model == NULL, "route 1's conditions");
	is_str(c->usage_log, "/var/log/claude-proxy/usage.log", "usage_log");
	is_str(c->redis_host, "redis.example", "redis host");
	is_int(c->redis_port, 6380, "redis port");
	is_int(c->redis_db, 3, "redis db");
	ok(c->redis_user == NULL, "no redis user");
	is_str(c->redis_password, "p@ss", "the password, percent-decoded");
	ok(!c->limits_redis_fail_open, "fail closed");
	is_int(c->limits_redis_timeout_ms, 250, "redis timeout");
	is_str(c->host, "0.0.0.0", "keys: listening beyond loopback");
	conf_free(c);

	c = parse(TEAM("'keys':[" K("a", "k1") "],'limits_backend':"
	    "'redis://u:pw@[::1]'"), err, sizeof(err));
	ok(c != NULL, "keys without ak; redis on IPv6 (%s)", err);
	if (c != NULL) {
		is_int(c->nclient_keys, 1, "no ak entry");
		is_str(c->host, "0.0.0.0", "keys alone: beyond loopback");
		is_str(c->redis_host, "::1", "IPv6 host");
		is_int(c->redis_port, 6379, "default port");
		is_str(c->redis_user, "u", "redis user");
		is_int(c->redis_db, 0, "default db");
	}
	conf_free(c);

	c = parse(TEAM("'port':1"), err, sizeof(err));
	ok(c != NULL && c->nclient_keys == 0 && c->nroutes == 0 &&
	    c->redis_host == NULL && c->usage_log[0] == '\0' &&
	    c->limits_redis_fail_open && c->limits_redis_timeout_ms == 100 &&
	    strcmp(c->host, "127.0.0.1") == 0, "team defaults (%s)", err);
	conf_free(c);
	c = parse(TEAM("'limits_backend':'local'"), err, sizeof(err));
	ok(c != NULL && c->redis_host == NULL, "local limits (%s)", err);
	conf_free(c);
}

/* headers, params and drop: what a provider adds to or removes from its
 * requests */
static void
test_controls(void)
{
	static const struct bad refused[] = {
		{ PROV("'models':[{'id':'a'}],'headers':{'Host':'x'}"),
		    "providers[0].headers.Host: Host frames the request and is "
		    "set by the proxy" },
		{ PROV("'models':[{'id':'a'}],'headers':{'content-length':'1'}"),
		    "providers[0].headers.content-length: content-length frames "
		    "the request and is set by the proxy" },
		{ PROV("'models':[{'id':'a'}],'headers':{'Transfer-Encoding':"
		    "'chunked'}"), "providers[0].headers.Transfer-Encoding: "
		    "Transfer-Encoding frames the request and is set by the "
		    "proxy" },
		{ PROV("'models':[{'id':'a'}],'headers':{'CONNECTION':'close'}"),
		    "providers[0].headers.CONNECTION: CONNECTION frames the "
		    "request and is set by the proxy" },
		{ PROV("'models':[{'id':'a'}],'headers':{'X Bad':'v'}"),
		    "providers[0].headers.X Bad: not a header name" },
		{ PROV("'models':[{'id':'a'}],'headers':{'X:Bad':'v'}"),
		    "providers[0].headers.X:Bad: not a header name" },
		{ PROV("'models':[{'id':'a'}],'headers':{'':'v'}"),
		    "providers[0].headers.: empty header name" },
		{ PROV("'models':[{'id':'a'}],'headers':{'X-A':''}"),
		    "providers[0].headers.X-A: empty" },
		{ PROV("'models':[{'id':'a'}],'headers':{'X-A':'a\\r\\nX-B: b'}"),
		    "providers[0].headers.X-A: contains control characters" },
		{ PROV("'models':[{'id':'a'}],'headers':{'X-A':'env:CP_TEST_CTL_VAR'}"),
		    "providers[0].headers.X-A: environment variable "
		    "CP_TEST_CTL_VAR contains control characters" },
		{ PROV("'models':[{'id':'a'}],'headers':{'X-A':'env:CP_TEST_UNSET_VAR'}"),
		    "providers[0].headers.X-A: environment variable "
		    "CP_TEST_UNSET_VAR is not set" },
		{ PROV("'models':[{'id':'a'}],'headers':{'X-A':1}"),
		    "providers[0].headers.X-A: expected string" },
		{ PROV("'models':[{'id':'a'}],'headers':['X-A']"),
		    "providers[0].headers: expected object" },
		{ PROV("'models':[{'id':'a'}],'params':{'model':'x'}"),
		    "providers[0].params.model: the proxy sets model" },
		{ PROV("'models':[{'id':'a'}],'params':{'stream':false}"),
		    "providers[0].params.stream: the proxy sets stream" },
		{ PROV("'models':[{'id':'a'}],'params':{'messages':[]}"),
		    "providers[0].params.messages: the proxy sets messages" },
		{ PROV("'models':[{'id':'a'}],'params':[1]"),
		    "providers[0].params: expected object" },
		{ PROV("'models':[{'id':'a'}],'drop':['input']"),
		    "providers[0].drop[0]: the proxy needs input" },
		{ PROV("'models':[{'id':'a'}],'drop':['top_p','']"),
		    "providers[0].drop[1]: empty" },
		{ PROV("'models':[{'id':'a'}],'drop':[1]"),
		    "providers[0].drop[0]: expected string" },
	};
	char		 err[512];
	struct conf	*c;
	const struct conf_provider *p;
	json_object	*v;
	size_t		 i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		c = parse(refused[i].json, err, sizeof(err));
		ok(c == NULL, "controls: refused case %zu", i);
		is_str(err, refused[i].err, "controls: error %zu", i);
		conf_free(c);
	}

	c = parse(PROV("'models':[{'id':'a'}],'headers':{'HTTP-Referer':"
	    "'https://cp.example','X-Title':'claude proxy','X-Key':"
	    "'env:CP_TEST_API_KEY'},'params':{'temperature':0.2,'thinking':"
	    "{'type':'enabled'},'enable_thinking':false},'drop':['top_p',"
	    "'metadata']"), err, sizeof(err));
	ok(c != NULL, "controls parse (%s)", err);
	if (c == NULL)
		return;
	p = &c->providers[0];
	is_int(p->nheaders, 3, "three headers");
	is_str(p->headers[0].line, "HTTP-Referer: https://cp.example",
	    "a header line");
	is_str(p->headers[1].line, "X-Title: claude proxy", "spaces kept");
	is_str(p->headers[2].line, "X-Key: sk-from-env", "env: resolved");
	is_str(p->headers[2].value, "sk-from-env", "its value");
	ok(!p->headers[0].secret && p->headers[2].secret,
	    "only the env: value is a secret");
	ok(p->params != NULL && json_object_object_length(p->params) == 3,
	    "params kept");
	ok(json_object_object_get_ex(p->params, "thinking", &v) &&
	    json_object_is_type(v, json_type_object), "an object value");
	is_int(p->ndrop, 2, "drop");
	is_str(p->drop[1], "metadata", "drop kept in order");
	conf_free(c);

	c = parse(PROV("'models':[{'id':'a'}]"), err, sizeof(err));
	ok(c != NULL && c->providers[0].nheaders == 0 &&
	    c->providers[0].params == NULL && c->providers[0].ndrop == 0,
	    "no controls by default");
	conf_free(c);
}

int
main(void)
{
	const char	*d = getenv("CP_TEST_DATA");

	char		 cwd[256];

	if (d == NULL)
		d = "tests/data";
	if (d[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL)
		snprintf(data_dir, sizeof(data_dir), "%s/%s", cwd, d);
	else
		snprintf(data_dir, sizeof(data_dir), "%s", d);
	unsetenv("CP_TEST_UNSET_VAR");
	setenv("CP_TEST_EMPTY_VAR", "", 1);
	setenv("CP_TEST_CTL_VAR", "a\tb", 1);
	setenv("CP_TEST_AK", "ak-from-env", 1);
	setenv("CP_TEST_API_KEY", "sk-from-env", 1);
	setenv("CP_TEST_DUP_VAR", "key-one", 1);

	test_bad();
	test_nul();
	test_defaults();
	test_full();
	test_host();
	test_urls();
	test_secrets();
	test_controls();
	test_upkeys_conf();
	test_table();
	test_web();
	test_team();
	test_original();
	test_example();
	test_load();
	return tap_done();
}
