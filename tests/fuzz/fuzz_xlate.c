/*
 * fuzz_xlate: the translators on one input.
 *
 * The input is parsed as messages.c parses a client's body (jsonparse:
 * strict, UTF-8 checked, depth 64, opaque tool schemas and inputs,
 * nothing after the value), held to json-c's parse of the same text (no
 * more accepted, the same tree, the same translation), and, when it works,
 * translated with xlate_req twice (a bare provider, non-streaming; one
 * with every option on, streaming) and checked with xlate_req_check and
 * tokens_estimate_request. It is parsed again as messages.c parses an
 * upstream's answer (jsonparse, raw control bytes allowed) for
 * xlate_resp, and handed as raw bytes to errmap_http.
 * Checks beyond "no crash, no leak": every output tree serialises; a
 * failure fills xlate_err with a status, a type and a message; an
 * answer's token counts are not negative; xlate_req and xlate_req_check
 * agree (the check is the same validation with max_tokens optional);
 * upstream error messages are single-line, valid UTF-8 when the body was,
 * and carry neither a credential-looking token nor the configured
 * FUZZ_SECRET, in whatever form the body held it.
 *
 * The proxy runs web_search and web_fetch here (a configuration with a
 * search backend and the fetcher on), so server tools are offered as
 * functions and their history becomes tool calls and tool messages
 * (srvtool, srvhist); and the input, as an answer's text, goes through
 * srvcite_split against three numbered results: the blocks serialise and
 * hold no more text than went in.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "buf.h"
#include "conf.h"
#include "errmap.h"
#include "fuzz.h"
#include "jsonparse.h"
#include "models.h"
#include "secret.h"
#include "srvcite.h"
#include "srvhist.h"
#include "tokens.h"
#include "xlate.h"

#define FUZZ_SECRET	"fuzzkey!"	/* configured; also in json.dict */

#define JSON_MAX_DEPTH	64	/* as src/messages.c */

static int
utf8_valid(const unsigned char *s, size_t len)
{
	size_t		 i = 0, n, k;
	uint32_t	 cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			n = 1; cp = s[i] & 0x1f;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			n = 2; cp = s[i] & 0x0f;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			n = 3; cp = s[i] & 0x07;
		} else
			return 0;
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static void
check_err(const struct xlate_err *err, const char *who)
{
	FUZZ_CHECK(memchr(err->message, '\0', sizeof(err->message)) != NULL &&
	    memchr(err->type, '\0', sizeof(err->type)) != NULL,
	    "%s: unterminated error", who);
	FUZZ_CHECK(err->status >= 400 && err->status <= 599, "%s: status %d",
	    who, err->status);
	FUZZ_CHECK(err->type[0] != '\0' && err->message[0] != '\0',
	    "%s: error without type or message", who);
}

static void
serialise(json_object *o, const char *who)
{
	size_t		 len;
	const char	*s;

	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	FUZZ_CHECK(s != NULL && len > 0, "%s: output does not serialise", who);
}

/* ---- the request side ------------------------------------------------- */

struct route {
	struct conf_provider	 p;
	struct conf_model	 m;
	struct model_route	 r;
};

static void
route_init(struct route *rt, int all)
{
	memset(rt, 0, sizeof(*rt));
	rt->m.id = "claude-fuzz";
	rt->m.display_name = "claude-fuzz";
	rt->m.remote_id = "fuzz-remote";
	rt->m.max_tokens = all ? 1024 : 0;
	rt->m.reasoning = all;
	rt->p.name = "fuzzprov";
	rt->p.base_url = "http://127.0.0.1:1";
	rt->p.models = &rt->m;
	rt->p.nmodels = 1;
	rt->p.top_k = all;
	rt->p.pdf = all;
	rt->p.include_usage = all;
	rt->r.provider = &rt->p;
	rt->r.model = &rt->m;
}

/* json-c's own strict parse of the whole text: the oracle jsonparse is
 * held to */
static json_object *
parse_oracle(const char *p, size_t len, int *ok)
{
	json_tokener	*tok;
	json_object	*o;
	size_t		 end;

	*ok = 0;
	if (len == 0 || len > INT32_MAX ||
	    (tok = json_tokener_new_ex(JSON_MAX_DEPTH)) == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, p, (int)len);
	end = json_tokener_get_parse_end(tok);
	*ok = json_tokener_get_error(tok) == json_tokener_success;
	json_tokener_free(tok);
	while (*ok && end < len && strchr(" \t\r\n", p[end]) != NULL)
		end++;
	if (!*ok || end != len) {
		json_object_put(o);
		*ok = 0;
		return NULL;
	}
	return o;
}

/* as messages.c parses a client's body: jsonparse, strict, the opaque
 * paths of xlate_req, nothing but whitespace after the value */
static json_object *
parse_request(const char *p, size_t len)
{
	static const struct jsonparse_opts opts = {
		JSON_MAX_DEPTH, 0, xlate_req_opaque
	};
	struct jsonlex_err	 err;
	json_object		*o;
	size_t			 end;

	o = jsonparse(p, len, &opts, &end, &err);
	if (err.what != NULL)
		return NULL;
	while (end < len && strchr(" \t\r\n", p[end]) != NULL &&
	    p[end] != '\0')
		end++;
	if (end != len || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* two trees as JSON values: serialise both, read them back with json-c */
static int
same_json(json_object *a, json_object *b)
{
	json_object	*x, *y;
	int		 same;

	x = json_tokener_parse(json_object_to_json_string_ext(a,
	    JSON_C_TO_STRING_PLAIN));
	y = json_tokener_parse(json_object_to_json_string_ext(b,
	    JSON_C_TO_STRING_PLAIN));
	same = json_object_equal(x, y);
	json_object_put(x);
	json_object_put(y);
	return same;
}

/* jsonparse accepts nothing json-c refuses, and xlate_req gives the same
 * upstream request from its tree (opaque values and all) as from json-c's */
static void
check_parsers(json_object *req, const char *p, size_t len)
{
	struct route		 full;
	struct xlate_err	 e1, e2;
	json_object		*want, *o1, *o2;
	int			 ok;

	want = parse_oracle(p, len, &ok);
	FUZZ_CHECK(ok, "jsonparse took what json-c refuses");
	if (!ok)
		return;
	FUZZ_CHECK(same_json(req, want), "jsonparse and json-c trees differ");
	route_init(&full, 1);
	memset(&e1, 0, sizeof(e1));
	memset(&e2, 0, sizeof(e2));
	o1 = xlate_req(req, &full.r, 1, "req_fuzz", &e1);
	o2 = xlate_req(want, &full.r, 1, "req_fuzz", &e2);
	FUZZ_CHECK((o1 == NULL) == (o2 == NULL) &&
	    (o1 == NULL ? strcmp(e1.message, e2.message) == 0 :
	    same_json(o1, o2)), "xlate_req differs between the parsers");
	json_object_put(o1);
	json_object_put(o2);
	json_object_put(want);
}

static void
check_request(json_object *out, int stream)
{
	json_object	*v;

	serialise(out, "xlate_req");
	FUZZ_CHECK(json_object_object_get_ex(out, "model", &v) &&
	    strcmp(json_object_get_string(v), "fuzz-remote") == 0,
	    "xlate_req: model is not the route's remote_id");
	FUZZ_CHECK(json_object_object_get_ex(out, "messages", &v) &&
	    json_object_is_type(v, json_type_array),
	    "xlate_req: no messages array");
	FUZZ_CHECK(json_object_object_get_ex(out, "stream", &v) == stream,
	    "xlate_req: stream %d", stream);
}

static void
request_side(const char *p, size_t len)
{
	struct route		 bare, full;
	struct xlate_err	 e1, e2, ec;
	json_object		*req, *o1, *o2;
	int			 rc;

	if ((req = parse_request(p, len)) == NULL)
		return;
	check_parsers(req, p, len);
	route_init(&bare, 0);
	route_init(&full, 1);
	memset(&e1, 0, sizeof(e1));
	memset(&e2, 0, sizeof(e2));
	memset(&ec, 0, sizeof(ec));

	o1 = xlate_req(req, &bare.r, 0, "req_fuzz", &e1);
	o2 = xlate_req(req, &full.r, 1, "req_fuzz", &e2);
	rc = xlate_req_check(req, &ec);
	FUZZ_CHECK(tokens_estimate_request(req) >= 0, "negative estimate");

	if (o1 != NULL)
		check_request(o1, 0);
	else
		check_err(&e1, "xlate_req");
	if (o2 != NULL)
		check_request(o2, 1);
	else
		check_err(&e2, "xlate_req");
	if (rc == -1)
		check_err(&ec, "xlate_req_check");

	/* with PDFs allowed, only max_tokens tells the two apart */
	if (o2 != NULL)
		FUZZ_CHECK(rc == 0, "xlate_req took what xlate_req_check "
		    "refused: %s", ec.message);
	if (rc == -1)
		FUZZ_CHECK(o2 == NULL && (strcmp(e2.message, ec.message) == 0 ||
		    strncmp(e2.message, "max_tokens", 10) == 0),
		    "xlate_req_check: \"%s\", xlate_req: \"%s\"", ec.message,
		    o2 ? "(ok)" : e2.message);
	if (rc == 0 && o2 == NULL)
		FUZZ_CHECK(strncmp(e2.message, "max_tokens", 10) == 0,
		    "xlate_req failed where the check passed: %s", e2.message);
	/* the bare provider refuses more (PDFs), never less */
	if (o1 != NULL)
		FUZZ_CHECK(o2 != NULL, "bare route took what the full one "
		    "refused: %s", e2.message);

	json_object_put(o1);
	json_object_put(o2);
	json_object_put(req);
}

/* ---- the response side ------------------------------------------------ */

/* token counts: integers, never negative */
static int
usage_ok(json_object *u)
{
	static const char *const keys[] = { "input_tokens", "output_tokens",
	    "cache_read_input_tokens", "cache_creation_input_tokens" };
	json_object	*v;
	size_t		 i;

	if (!json_object_is_type(u, json_type_object))
		return 0;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!json_object_object_get_ex(u, keys[i], &v))
			continue;
		if (!json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) < 0)
			return 0;
	}
	return 1;
}

static void
response_side(const char *p, size_t len)
{
	static const struct jsonparse_opts opts = { JSON_MAX_DEPTH, 1, NULL };
	struct jsonlex_err	 perr;
	struct xlate_err	 err;
	json_object		*resp, *out, *v;
	size_t			 end;

	/* as messages.c parses an upstream's answer */
	if ((resp = jsonparse(p, len, &opts, &end, &perr)) == NULL)
		return;
	memset(&err, 0, sizeof(err));
	out = xlate_resp(resp, "claude-fuzz", NULL, &err);
	if (out != NULL) {
		serialise(out, "xlate_resp");
		FUZZ_CHECK(json_object_object_get_ex(out, "content", &v) &&
		    json_object_is_type(v, json_type_array),
		    "xlate_resp: no content array");
		FUZZ_CHECK(json_object_object_get_ex(out, "stop_reason", &v),
		    "xlate_resp: no stop_reason");
		FUZZ_CHECK(json_object_object_get_ex(out, "usage", &v) &&
		    usage_ok(v), "xlate_resp: bad usage %s",
		    json_object_to_json_string(v));
	} else
		check_err(&err, "xlate_resp");
	json_object_put(out);
	json_object_put(resp);
}

/* same definitions as xlate_resp.c's redactor */
static size_t
token_run(const char *s, size_t len, size_t i)
{
	size_t	 n;

	for (n = 0; i + n < len && (isalnum((unsigned char)s[i + n]) ||
	    strchr("_-.*", s[i + n]) != NULL) && s[i + n] != '\0'; n++)
		;
	while (n > 0 && s[i + n - 1] == '.')
		n--;
	return n;
}

static void
check_no_secret(const char *msg)
{
	static const char *const prefixes[] = { "sk-", "sk_", "AIza", "gsk_",
	    "xai-", "nvapi-", "hf_", "pplx-", "ghp_", "github_pat_", "glpat-" };
	size_t	 i, k, m, n, len = strlen(msg);

	for (i = 0; i < len; i++) {
		if (i > 0 && isalnum((unsigned char)msg[i - 1]))
			continue;
		n = token_run(msg, len, i);
		for (k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++) {
			m = strlen(prefixes[k]);
			FUZZ_CHECK(!(n >= m + 8 &&
			    strncmp(msg + i, prefixes[k], m) == 0),
			    "a key in the message: %s", msg);
		}
	}
}

/*
 * One status per input, picked by the input's hash: four of them (400,
 * 413, 422, 500) send the text through the context-overflow patterns.
 */
static void
upstream_error_side(const char *p, size_t len, uint64_t seed)
{
	static const long statuses[] = { 400, 401, 403, 404, 408, 413, 422,
	    429, 500, 502, 503, 504, 529, 200, 302, 0 };
	struct xlate_err	 err;

	memset(&err, 0, sizeof(err));
	errmap_http(statuses[seed % (sizeof(statuses) /
	    sizeof(statuses[0]))], p, len, "fuzzprov", &err);
	check_err(&err, "errmap_http");
	FUZZ_CHECK(strpbrk(err.message, "\r\n") == NULL,
	    "multi-line message: %s", err.message);
	if (utf8_valid((const unsigned char *)p, len))
		FUZZ_CHECK(utf8_valid((const unsigned char *)err.message,
		    strlen(err.message)), "message is not UTF-8: %s",
		    err.message);
	check_no_secret(err.message);
	FUZZ_CHECK(strstr(err.message, FUZZ_SECRET) == NULL,
	    "a configured secret in the message: %s", err.message);
}

/* the web tools are on: server tools go upstream as functions */
static struct conf web_conf = {
	.ak = FUZZ_SECRET "-inbound",
	.web_search = { .backend = "tavily" },
	.web_fetch = { .enabled = 1 },
};

static void
citation_side(const char *text, size_t len)
{
	static char	 url[] = "https://a.example/", title[] = "T";
	static char	 snippet[] = "an excerpt [1] with é";
	struct srvhist_source src[3] = {
		{ url, title, NULL, snippet, 1 }, { url, title, NULL, snippet, 1 },
		{ url, title, NULL, snippet, 1 },
	};
	struct srvhist	 h = { NULL, 0, src, 3 };
	json_object	*out, *t;
	size_t		 i, total = 0;

	if ((out = json_object_new_array()) == NULL)
		abort();
	if (srvcite_split(text, len, &h, out) == 0) {
		FUZZ_CHECK(json_object_to_json_string(out) != NULL,
		    "citations do not serialise");
		for (i = 0; i < json_object_array_length(out); i++) {
			t = json_object_object_get(json_object_array_get_idx(out,
			    i), "text");
			total += (size_t)json_object_get_string_len(t);
		}
		FUZZ_CHECK(total <= len, "more text after splitting");
	}
	json_object_put(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int	 ready;
	char		*copy;

	if (!ready) {
		secret_add(FUZZ_SECRET, strlen(FUZZ_SECRET));
		conf = &web_conf;
		ready = 1;
	}
	/* upstream bodies arrive in a NUL-terminated struct buf */
	if ((copy = malloc(len + 1)) == NULL)
		abort();
	memcpy(copy, data, len);
	copy[len] = '\0';

	request_side((const char *)data, len);
	citation_side((const char *)data, len);
	response_side((const char *)data, len);
	upstream_error_side(copy, len, fuzz_seed(data, len));
	free(copy);
	return 0;
}
