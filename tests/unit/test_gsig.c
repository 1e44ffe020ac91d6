/*
 * test_gsig: Gemini's thought signatures through tool_use ids, and back:
 * the id codec (canonical base64, anything else in hex, the key that says
 * whose signature it is, malformed ids taken as plain), a plain answer
 * that carries them out (parallel calls, the signature on the first one
 * only, as Gemini sends them), and the next request that restores them on
 * tool_calls[].extra_content for the same provider and model only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "gsig.h"
#include "tap.h"
#include "testroute.h"
#include "xlate.h"

#define KEY	"0123456789abcdef"
#define OTHER	"fedcba9876543210"

static void
test_codec(void)
{
	struct buf	 id = BUF_INITIALIZER, orig = BUF_INITIALIZER;
	struct buf	 sig = BUF_INITIALIZER;
	char		*big;
	size_t		 i;

	is_int(gsig_id_encode(&id, KEY, "call_1", "Ab+/Cd==", 8), 1,
	    "codec: base64 signature carried");
	is_str(id.data, "cpgs1_" KEY "_b6_call_1Ab-_Cd",
	    "codec: prefix, key, mode and length, the id, url-safe payload");
	for (i = 0; i < id.len; i++)
		if (!(id.data[i] == '_' || id.data[i] == '-' ||
		    (id.data[i] >= '0' && id.data[i] <= '9') ||
		    (id.data[i] >= 'a' && id.data[i] <= 'z') ||
		    (id.data[i] >= 'A' && id.data[i] <= 'Z')))
			break;
	is_int((int)i, (int)id.len, "codec: only [A-Za-z0-9_-]");
	is_int(gsig_id_decode(id.data, KEY, &orig, &sig), 1,
	    "codec: decoded for its key");
	is_str(orig.data, "call_1", "codec: the upstream's own id back");
	is_str(sig.data, "Ab+/Cd==", "codec: the signature back, padded");

	buf_reset(&orig);
	buf_reset(&sig);
	is_int(gsig_id_decode(id.data, OTHER, &orig, &sig), 2,
	    "codec: another provider's key");
	is_str(orig.data, "call_1", "codec: it gets the plain id");
	is_int((int)sig.len, 0, "codec: and no signature");
	buf_reset(&orig);
	is_int(gsig_id_decode(id.data, NULL, &orig, &sig), 2,
	    "codec: no key at all: plain id");

	/* not canonical base64: hex, exact both ways */
	buf_reset(&id);
	buf_reset(&orig);
	is_int(gsig_id_encode(&id, KEY, "fc-9", "a.b\"c", 5), 1,
	    "codec: any other signature carried too");
	is_str(id.data, "cpgs1_" KEY "_x4_fc-9612e622263", "codec: in hex");
	is_int(gsig_id_decode(id.data, KEY, &orig, &sig), 1, "codec: hex back");
	is_str(sig.data, "a.b\"c", "codec: byte for byte");
	is_str(orig.data, "fc-9", "codec: id with a dash");

	/* a base64 body without its padding is not canonical: hex */
	buf_reset(&id);
	buf_reset(&sig);
	gsig_id_encode(&id, KEY, "c", "abcde", 5);
	is_int(id.data[6 + 16 + 1], 'x', "codec: unpadded base64 goes as hex");
	gsig_id_decode(id.data, KEY, &orig, &sig);
	is_str(sig.data, "abcde", "codec: and comes back unchanged");

	/* nothing to carry */
	buf_reset(&id);
	is_int(gsig_id_encode(&id, KEY, "call_2", NULL, 0), 0,
	    "codec: no signature: the id as it is");
	is_str(id.data, "call_2", "codec: unchanged");
	buf_reset(&id);
	is_int(gsig_id_encode(&id, NULL, "call_2", "AAAA", 4), 0,
	    "codec: no key: not carried");
	big = malloc(GSIG_MAX + 5);
	memset(big, 'A', GSIG_MAX + 4);
	big[GSIG_MAX + 4] = '\0';
	buf_reset(&id);
	is_int(gsig_id_encode(&id, KEY, "c", big, GSIG_MAX + 4), 0,
	    "codec: a signature over GSIG_MAX is not carried");
	free(big);

	/* plain and malformed ids are plain */
	buf_reset(&orig);
	buf_reset(&sig);
	is_int(gsig_id_decode("toolu_01abc", KEY, &orig, &sig), 0,
	    "codec: an ordinary id");
	is_int(gsig_id_decode("cpgs1_", KEY, &orig, &sig), 0,
	    "codec: the prefix alone");
	is_int(gsig_id_decode("cpgs1_0123456789abcdeX_b1_cAAAA", KEY, &orig,
	    &sig), 0, "codec: a key that is not hex");
	is_int(gsig_id_decode("cpgs1_" KEY "_q1_cAAAA", KEY, &orig, &sig), 0,
	    "codec: an unknown mode");
	is_int(gsig_id_decode("cpgs1_" KEY "_b9_cAAAA", KEY, &orig, &sig), 0,
	    "codec: a length past the end");
	is_int(gsig_id_decode("cpgs1_" KEY "_b1_c", KEY, &orig, &sig), 0,
	    "codec: no payload");
	is_int(gsig_id_decode("cpgs1_" KEY "_x1_cABC", KEY, &orig, &sig), 0,
	    "codec: odd hex");
	is_int(gsig_id_decode("cpgs1_" KEY "_b1_cAAAAA", KEY, &orig, &sig), 0,
	    "codec: base64 of an impossible length");
	buf_reset(&sig);
	gsig_id_decode("cpgs1_" KEY "_b1_ca!!", KEY, &orig, &sig);
	is_int((int)sig.len, 0, "codec: bytes not of url-safe base64: no "
	    "signature");
	is_int((int)(orig.len + sig.len), 0, "codec: nothing left behind");
	buf_free(&id);
	buf_free(&orig);
	buf_free(&sig);
}

static const char *
str_at(json_object *o, const char *path)
{
	char		 key[64];
	const char	*dot;
	json_object	*v = o;
	size_t		 n;

	while (v != NULL && *path != '\0') {
		dot = strchr(path, '.');
		n = dot != NULL ? (size_t)(dot - path) : strlen(path);
		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		if (json_object_is_type(v, json_type_array))
			v = json_object_array_get_idx(v, atoi(key));
		else if (!json_object_object_get_ex(v, key, &v))
			v = NULL;
		path += n + (dot != NULL);
	}
	return v != NULL && json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

#define GEMINI_ANSWER \
	"{\"choices\":[{\"index\":0,\"finish_reason\":\"tool_calls\"," \
	"\"message\":{\"role\":\"assistant\",\"tool_calls\":[" \
	"{\"id\":\"function-call-1\",\"type\":\"function\",\"function\":" \
	"{\"name\":\"Read\",\"arguments\":\"{\\\"file_path\\\":\\\"/a\\\"}\"}," \
	"\"extra_content\":{\"google\":{\"thought_signature\":" \
	"\"CiQB+/x9Zz==\"}}}," \
	"{\"id\":\"function-call-2\",\"type\":\"function\",\"function\":" \
	"{\"name\":\"Read\",\"arguments\":\"{\\\"file_path\\\":\\\"/b\\\"}\"}}" \
	"]}}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3}}"

/* the answer out, the next request back: the signature returns to the
 * same provider and model, never to another */
static void
test_round_trip(void)
{
	static const struct opts o = { 0 };
	struct route	 rt, other;
	struct xlate_err err;
	json_object	*up, *msg, *req, *oa, *content, *turn;
	const char	*id1, *id2, *sig;
	char		 body[4096];

	route_init(&rt, &o);
	route_init(&other, &o);
	other.p.name = "not-gemini";
	up = json_tokener_parse(GEMINI_ANSWER);
	msg = xlate_resp_route(up, "claude-test", NULL, &rt.r, &err);
	ok(msg != NULL, "answer: translated");
	id1 = str_at(msg, "content.0.id");
	id2 = str_at(msg, "content.1.id");
	ok(id1 != NULL && strncmp(id1, "cpgs1_", 6) == 0,
	    "answer: the signed call's id carries it");
	ok(id1 != NULL && strstr(id1, "function-call-1CiQB-_x9Zz") != NULL,
	    "answer: the upstream id, then the signature");
	is_str(id2, "function-call-2", "answer: the unsigned call keeps its id");
	is_str(str_at(msg, "stop_reason"), "tool_use", "answer: tool_use");

	/* without the route (the server-tool loop, tests): no carrier */
	json_object_put(msg);
	msg = xlate_resp(up, "claude-test", NULL, &err);
	is_str(str_at(msg, "content.0.id"), "function-call-1",
	    "answer: no route, plain ids");
	json_object_put(msg);
	msg = xlate_resp_route(up, "claude-test", NULL, &rt.r, &err);
	json_object_put(up);
	id1 = str_at(msg, "content.0.id");
	id2 = str_at(msg, "content.1.id");

	content = json_object_object_get(msg, "content");
	snprintf(body, sizeof(body), "{\"model\":\"claude-test\","
	    "\"max_tokens\":100,\"messages\":["
	    "{\"role\":\"user\",\"content\":\"read both\"},"
	    "{\"role\":\"assistant\",\"content\":%s},"
	    "{\"role\":\"user\",\"content\":["
	    "{\"type\":\"tool_result\",\"tool_use_id\":\"%s\",\"content\":\"b\"},"
	    "{\"type\":\"tool_result\",\"tool_use_id\":\"%s\",\"content\":\"a\"}"
	    "]}]}", json_object_to_json_string_ext(content,
	    JSON_C_TO_STRING_PLAIN), id2, id1);
	req = json_tokener_parse(body);
	ok(req != NULL, "request: built from the answer");

	oa = xlate_req(req, &rt.r, 0, NULL, &err);
	ok(oa != NULL, "request: translated for the same provider");
	turn = json_object_array_get_idx(json_object_object_get(oa,
	    "messages"), 1);
	is_str(str_at(turn, "tool_calls.0.id"), "function-call-1",
	    "request: the upstream's own id");
	sig = str_at(turn,
	    "tool_calls.0.extra_content.google.thought_signature");
	is_str(sig, "CiQB+/x9Zz==", "request: its signature restored");
	ok(str_at(turn, "tool_calls.1.extra_content.google."
	    "thought_signature") == NULL, "request: none on the second call");
	is_str(str_at(turn, "tool_calls.1.id"), "function-call-2",
	    "request: second id as it was");
	is_str(str_at(oa, "messages.2.tool_call_id"), "function-call-1",
	    "request: the first result answers the plain id, in call order");
	is_str(str_at(oa, "messages.3.tool_call_id"), "function-call-2",
	    "request: then the second");
	json_object_put(oa);

	oa = xlate_req(req, &other.r, 0, NULL, &err);
	ok(oa != NULL, "request: translated for another provider");
	ok(strstr(json_object_to_json_string(oa), "CiQB") == NULL &&
	    strstr(json_object_to_json_string(oa), "extra_content") == NULL &&
	    strstr(json_object_to_json_string(oa), "cpgs1_") == NULL,
	    "request: another provider never sees the signature");
	is_str(str_at(oa, "messages.1.tool_calls.0.id"), "function-call-1",
	    "request: it gets the plain id");
	is_str(str_at(oa, "messages.2.tool_call_id"), "function-call-1",
	    "request: and results that answer it");
	json_object_put(oa);

	other.m.remote_id = "gemini-other";
	other.p.name = "testprov";
	oa = xlate_req(req, &other.r, 0, NULL, &err);
	ok(oa != NULL && strstr(json_object_to_json_string(oa),
	    "extra_content") == NULL,
	    "request: nor another model of the same provider");
	json_object_put(oa);
	json_object_put(req);
	json_object_put(msg);
}

static void
test_plain_id(void)
{
	json_object	*id, *p;

	id = json_object_new_string("cpgs1_" KEY "_b6_call_1Ab-_Cd");
	p = gsig_plain_id(id);
	is_str(json_object_get_string(p), "call_1", "plain_id: carrier stripped");
	json_object_put(p);
	json_object_put(id);
	id = json_object_new_string("toolu_x");
	p = gsig_plain_id(id);
	ok(p == id, "plain_id: an ordinary id is shared");
	json_object_put(p);
	json_object_put(id);
}

int
main(void)
{
	test_codec();
	test_round_trip();
	test_plain_id();
	return tap_done();
}
