/*
 * tcrepair.c: tool calls written as text become tool calls.
 *
 * Small local models served without a tool-call parser write their calls
 * into the text: <tool_call>{"name":"Read","arguments":{...}}</tool_call>
 * (Qwen's and Hermes-style templates), or a fenced block ```json {"name":
 * ..., "arguments": ...} ```. With providers[].tool_call_repair on, such a
 * call naming one of the request's tools is taken out of the text and
 * handed on as a call (xlate_resp.c makes it a tool_use block, stream.c a
 * tool_use block's events); its arguments may be almost-JSON (jsonfix.c).
 * A name that is not one of the request's tools, and a fenced block that
 * is no call (code samples are fenced too), stay text.
 *
 * The scanner is incremental and holds back only what may still become a
 * call: in text, a tail that may begin "<tool_call>" or a fence at the
 * start of a line (a few bytes), and the blank text before it (dropped
 * when a call follows, as the call's block replaces it); inside a tag or a
 * JSON fence, the call's text until it closes, at most TCREPAIR_HOLD_MAX,
 * then it is released as text. A fence whose first character is not '{'
 * or '[' is a code block: released at once and passed through to its
 * closing fence without a second look. So a stream split anywhere gives
 * the same text and calls as the whole answer.
 *
 * Beyond repair: a <tool_call> naming a request tool whose arguments do not
 * parse even after jsonfix is an error (-1, error set), which the callers
 * answer as an upstream error (502 api_error, or the stream's error
 * event). Left as text, it would end Claude Code's turn with a broken
 * call in view and in the history, which a small model then imitates;
 * as an error, Claude Code retries the request (it retries 5xx and a
 * stream's error event) and a new sample usually comes out whole, while
 * the user sees why if it does not. A fenced block never fails: without a
 * tag, unparseable JSON may as well be an example.
 *
 * Promises: nothing but text and calls reaches the sink, in the order the
 * model wrote them; text is never altered except for the blank text
 * around a call and the call itself. Fails: the sink's -1, memory, beyond
 * repair (see above).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "buf.h"
#include "jsonfix.h"
#include "log.h"
#include "secret.h"
#include "tcrepair.h"
#include "util.h"

#define TAG_OPEN	"<tool_call>"
#define TAG_CLOSE	"</tool_call>"
#define FENCE		"```"
#define FENCE_LINE_MAX	24	/* "```json" and some spaces */
#define BLANK_MAX	256	/* blank text held before a possible call */
#define EXCERPT_MAX	120

enum {
	TC_TEXT,		/* plain text */
	TC_TAG,			/* inside <tool_call> */
	TC_FENCE,		/* inside a ```json fence that may be a call */
	TC_CODE,		/* inside a fence that is code: to its end */
};

void
tcrepair_init(struct tcrepair *r, json_object *tools)
{
	memset(r, 0, sizeof(*r));
	r->tools = tools;
	r->state = TC_TEXT;
	r->line_start = 1;
}

void
tcrepair_free(struct tcrepair *r)
{
	buf_free(&r->hold);
	buf_free(&r->fence);
}

static int
oom(struct tcrepair *r)
{
	strlcpy(r->error, "out of memory", sizeof(r->error));
	return -1;
}

/* ---- the request's tools ------------------------------------------------ */

/* is name one of the request's own tools (not a server tool)? */
static int
is_tool(const struct tcrepair *r, const char *name, size_t len)
{
	json_object	*t, *v;
	const char	*type;
	size_t		 i, n;

	if (r->tools == NULL || !json_object_is_type(r->tools, json_type_array))
		return 0;
	n = json_object_array_length(r->tools);
	for (i = 0; i < n; i++) {
		t = json_object_array_get_idx(r->tools, i);
		if (json_object_object_get_ex(t, "type", &v) &&
		    json_object_is_type(v, json_type_string) &&
		    strcmp(type = json_object_get_string(v), "custom") != 0)
			continue;
		if (json_object_object_get_ex(t, "name", &v) &&
		    json_object_is_type(v, json_type_string) &&
		    (size_t)json_object_get_string_len(v) == len &&
		    memcmp(json_object_get_string(v), name, len) == 0)
			return 1;
	}
	return 0;
}

/* ---- output ------------------------------------------------------------- */

static int
put_text(struct tcrepair *r, const struct tcrepair_sink *k, const char *p,
    size_t n)
{
	if (r->after_call) {		/* the blank line after a call */
		while (n > 0 && isspace((unsigned char)*p)) {
			p++;
			n--;
		}
		if (n == 0)
			return 0;
		r->after_call = 0;
	}
	return n == 0 ? 0 : k->text(k->arg, p, n);
}

/* the first n bytes of hold are decided: gone from it */
static void
consume(struct tcrepair *r, size_t n)
{
	if (n == 0)
		return;
	r->line_start = r->hold.data[n - 1] == '\n';
	buf_consume(&r->hold, n);
	r->scanned = 0;
	r->blank = 0;
}

/* hold[0..n) is text, but for its blank tail (unless longer than
 * BLANK_MAX), which waits: a call after it drops it */
static int
text_upto(struct tcrepair *r, const struct tcrepair_sink *k, size_t n)
{
	size_t	 t = n;

	while (t > 0 && n - t < BLANK_MAX &&
	    isspace((unsigned char)r->hold.data[t - 1]))
		t--;
	if (n - t >= BLANK_MAX)
		t = n;
	if (put_text(r, k, r->hold.data, t) == -1)
		return -1;
	consume(r, t);
	return 0;
}

/* ---- calls -------------------------------------------------------------- */

/* the arguments of a call: an object, or a string holding one; absent {} */
static json_object *
call_input(json_object *fn, char *why, size_t whysz)
{
	static const char *const keys[] = { "arguments", "parameters",
	    "input" };
	json_object	*a = NULL, *v;
	size_t		 i;
	int		 fixed;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]) && a == NULL; i++)
		if (!json_object_object_get_ex(fn, keys[i], &a))
			a = NULL;
	if (a == NULL)
		return json_object_new_object();
	if (json_object_is_type(a, json_type_object))
		return json_object_get(a);
	if (json_object_is_type(a, json_type_string)) {
		v = jsonfix_parse(json_object_get_string(a),
		    (size_t)json_object_get_string_len(a), &fixed, why, whysz);
		if (v != NULL && json_object_is_type(v, json_type_object))
			return v;
		if (v != NULL)
			snprintf(why, whysz, "arguments are not a JSON object");
		json_object_put(v);
		return NULL;
	}
	snprintf(why, whysz, "arguments are not a JSON object");
	return NULL;
}

/* {"name","arguments"}, or {"function":{...}} as some templates nest it */
static json_object *
call_fn(json_object *o, const char **name)
{
	json_object	*n, *f;

	*name = NULL;
	if (!json_object_is_type(o, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(o, "name", &n) &&
	    json_object_object_get_ex(o, "function", &f) &&
	    json_object_is_type(f, json_type_object)) {
		o = f;
		json_object_object_get_ex(o, "name", &n);
	}
	if (n == NULL || !json_object_is_type(n, json_type_string))
		return NULL;
	*name = json_object_get_string(n);
	return o;
}

/* a name the model wrote in text that is not JSON: "name": "X" or
 * 'name': 'X' or name: "X"; its bytes in out */
static int
name_in_text(const char *s, size_t len, const char **out, size_t *outlen)
{
	const char	*p = s, *end = s + len, *q;
	char		 quote;

	while ((p = memmem(p, (size_t)(end - p), "name", 4)) != NULL) {
		q = p + 4;
		p = q;
		if (q < end && (*q == '"' || *q == '\''))
			q++;
		while (q < end && isspace((unsigned char)*q))
			q++;
		if (q >= end || *q != ':')
			continue;
		for (q++; q < end && isspace((unsigned char)*q); q++)
			;
		if (q >= end || (*q != '"' && *q != '\''))
			continue;
		quote = *q++;
		*out = q;
		while (q < end && *q != quote)
			q++;
		*outlen = (size_t)(q - *out);
		return q < end;
	}
	return 0;
}

static int
beyond_repair(struct tcrepair *r, const char *name, size_t nlen,
    const char *why, const char *body, size_t len)
{
	struct buf	 ex = BUF_INITIALIZER, masked = BUF_INITIALIZER;

	/* masked whole, then cut: a cut first could leave a secret's
	 * beginning that no longer matches */
	secret_mask(&masked, body, len);
	util_excerpt(&ex, masked.data != NULL ? masked.data : "", masked.len,
	    0, EXCERPT_MAX);
	buf_free(&masked);
	snprintf(r->error, sizeof(r->error), "upstream wrote a tool call for "
	    "\"%.*s\" as text whose arguments are not JSON, even repaired: "
	    "%s (call: %s)", (int)(nlen > 64 ? 64 : nlen), name, why,
	    ex.data != NULL ? ex.data : "");
	buf_free(&ex);
	return -1;
}

/*
 * The text of one call (a tag's or a fence's body): 1 it was one or more
 * calls, handed on; 0 it is text (the caller says what); -1 failed.
 */
static int
take_call(struct tcrepair *r, const struct tcrepair_sink *k,
    const char *body, size_t len, int tagged)
{
	json_object	*v, *one, *fn, *in[16];
	const char	*name, *n;
	char		 why[160] = "";
	size_t		 i, count, nlen;
	int		 fixed, rc = 0;

	v = jsonfix_parse(body, len, &fixed, why, sizeof(why));
	if (v == NULL && strcmp(why, "out of memory") == 0)
		return oom(r);
	count = v == NULL ? 0 : json_object_is_type(v, json_type_array) ?
	    json_object_array_length(v) : 1;
	if (count == 0 || count > sizeof(in) / sizeof(in[0])) {
		json_object_put(v);
		if (v == NULL && tagged && name_in_text(body, len, &n, &nlen) &&
		    is_tool(r, n, nlen))
			return beyond_repair(r, n, nlen, why, body, len);
		return 0;
	}
	memset(in, 0, sizeof(in));
	for (i = 0; i < count; i++) {
		one = count > 1 || json_object_is_type(v, json_type_array) ?
		    json_object_array_get_idx(v, i) : v;
		if ((fn = call_fn(one, &name)) == NULL ||
		    !is_tool(r, name, strlen(name))) {
			if (name != NULL)
				log_info("tool_call_repair: \"%.64s\" is not "
				    "one of the request's tools: left as text",
				    name);
			goto done;
		}
		if ((in[i] = call_input(fn, why, sizeof(why))) == NULL) {
			if (strcmp(why, "out of memory") == 0)
				rc = oom(r);
			else if (tagged)
				rc = beyond_repair(r, name, strlen(name), why,
				    body, len);
			goto done;
		}
	}
	for (i = 0; i < count; i++) {
		one = count > 1 || json_object_is_type(v, json_type_array) ?
		    json_object_array_get_idx(v, i) : v;
		call_fn(one, &name);
		if (k->call(k->arg, name, in[i]) == -1) {
			r->error[0] = '\0';
			rc = -1;
			goto done;
		}
		r->calls++;
	}
	log_debug("tool_call_repair: %zu call(s) taken from the text%s",
	    count, fixed ? ", JSON repaired" : "");
	r->after_call = 1;
	rc = 1;
done:
	for (i = 0; i < count; i++)
		json_object_put(in[i]);
	json_object_put(v);
	return rc;
}

/* ---- the states --------------------------------------------------------- */

/* does s (n bytes) begin with lit: 1 yes, 2 it is a proper prefix of lit
 * (more text may tell), 0 no */
static int
starts(const char *s, size_t n, const char *lit)
{
	size_t	 l = strlen(lit);

	if (n >= l)
		return memcmp(s, lit, l) == 0;
	return memcmp(s, lit, n) == 0 ? 2 : 0;
}

/* where the line holding hold[i] begins, if only up to 3 spaces come
 * before i on it; -1 when i is not at a line's start */
static long
line_begins(const struct tcrepair *r, size_t i)
{
	size_t	 j = i;

	while (j > 0 && i - j < 3 && r->hold.data[j - 1] == ' ')
		j--;
	if (j == 0 ? r->line_start : r->hold.data[j - 1] == '\n')
		return (long)j;
	return -1;
}

/* is the language of a fence's first line one a call is written in? */
static int
call_fence(const char *lang, size_t n)
{
	while (n > 0 && isspace((unsigned char)lang[n - 1]))
		n--;
	while (n > 0 && isspace((unsigned char)*lang)) {
		lang++;
		n--;
	}
	return n == 0 || (n == 4 && strncasecmp(lang, "json", 4) == 0) ||
	    (n == 9 && strncmp(lang, "tool_call", 9) == 0);
}

/*
 * A call may begin at hold[i] and its opening (tag, or a fence's first
 * line) end before hold[end]: the text before it goes, the opening and
 * the blank text just before it wait in r->fence, given back as text if
 * no call comes of it.
 */
static int
opening(struct tcrepair *r, const struct tcrepair_sink *k, size_t i,
    size_t end, int state)
{
	const char	*h = r->hold.data;
	size_t		 t;

	for (t = i; t > 0 && i - t < BLANK_MAX &&
	    isspace((unsigned char)h[t - 1]); t--)
		;
	if (put_text(r, k, h, t) == -1)
		return -1;
	buf_reset(&r->fence);
	if (buf_append(&r->fence, h + t, end - t) == -1)
		return oom(r);
	consume(r, end);
	r->state = state;
	return 1;
}

/* a fence at hold[i] (the line's start at j): 1 state changed, 0 wait for
 * more, 2 not a fence */
static int
text_fence(struct tcrepair *r, const struct tcrepair_sink *k, size_t j,
    size_t i)
{
	const char	*h = r->hold.data, *nl;
	size_t		 n = r->hold.len, t;
	int		 m;

	if ((m = starts(h + i, n - i, FENCE)) == 0)
		return 2;
	nl = m == 1 ? memchr(h + i, '\n', n - i) : NULL;
	if (nl == NULL) {
		if (n - i > FENCE_LINE_MAX)
			goto code;
		return text_upto(r, k, j) == -1 ? -1 : 0;
	}
	if (!call_fence(h + i + 3, (size_t)(nl - h) - i - 3))
		goto code;
	return opening(r, k, j, (size_t)(nl - h) + 1, TC_FENCE);
code:
	/* a fence of code: text to the end of its first line, and the rest
	 * passes through to its closing fence */
	t = nl != NULL ? (size_t)(nl - h) + 1 : n;
	if (put_text(r, k, h, t) == -1)
		return -1;
	consume(r, t);
	r->state = TC_CODE;
	return 1;
}

static int
step_text(struct tcrepair *r, const struct tcrepair_sink *k)
{
	const char	*h = r->hold.data;
	size_t		 i, n = r->hold.len;
	long		 j;
	int		 m;

	for (i = 0; i < n; i++) {
		if (h[i] == '<') {
			if ((m = starts(h + i, n - i, TAG_OPEN)) == 2)
				return text_upto(r, k, i) == -1 ? -1 : 0;
			if (m == 1)
				return opening(r, k, i, i + strlen(TAG_OPEN),
				    TC_TAG);
		} else if (h[i] == '`' && (j = line_begins(r, i)) != -1) {
			if ((m = text_fence(r, k, (size_t)j, i)) != 2)
				return m;
		}
	}
	return text_upto(r, k, n) == -1 ? -1 : 0;
}

/* a call's text held too long: it is text after all */
static int
release_call(struct tcrepair *r, const struct tcrepair_sink *k, int next)
{
	log_info("tool_call_repair: a call's text passed %d bytes without "
	    "its end: left as text", TCREPAIR_HOLD_MAX);
	if (put_text(r, k, r->fence.data, r->fence.len) == -1 ||
	    put_text(r, k, r->hold.data, r->hold.len) == -1)
		return -1;
	consume(r, r->hold.len);
	r->state = next;
	return 1;
}

static int
step_tag(struct tcrepair *r, const struct tcrepair_sink *k)
{
	size_t		 from, cl = strlen(TAG_CLOSE), n = r->hold.len;
	const char	*end;
	int		 rc;

	from = r->scanned >= cl ? r->scanned - cl + 1 : 0;
	end = memmem(r->hold.data + from, n - from, TAG_CLOSE, cl);
	r->scanned = n;
	if (end == NULL) {
		if (n > TCREPAIR_HOLD_MAX)
			return release_call(r, k, TC_TEXT);
		return 0;
	}
	n = (size_t)(end - r->hold.data);
	if ((rc = take_call(r, k, r->hold.data, n, 1)) == -1)
		return -1;
	if (rc == 0 && (put_text(r, k, r->fence.data, r->fence.len) == -1 ||
	    put_text(r, k, r->hold.data, n + cl) == -1))
		return -1;
	consume(r, n + cl);
	r->state = TC_TEXT;
	return 1;
}

/* the closing fence in hold from byte from on: its offset, or -1 */
static long
fence_end(const struct tcrepair *r, size_t from)
{
	const char	*h = r->hold.data, *p;
	size_t		 n = r->hold.len;
	long		 j;

	while (from < n && (p = memmem(h + from, n - from, FENCE, 3)) != NULL) {
		from = (size_t)(p - h);
		if ((j = line_begins(r, from)) != -1 && (j > 0 ||
		    r->line_start))
			return (long)from;
		from++;
	}
	return -1;
}

static int
step_fence(struct tcrepair *r, const struct tcrepair_sink *k)
{
	size_t	 n = r->hold.len, first;
	long	 end;
	int	 rc;

	/* from where the last feed stopped: a model stuck writing blank
	 * lines must not cost a rescan per delta */
	first = r->blank < n ? r->blank : n;
	while (first < n && isspace((unsigned char)r->hold.data[first]))
		first++;
	r->blank = first;
	if (first < n && r->hold.data[first] != '{' &&
	    r->hold.data[first] != '[') {
		/* code, not a call */
		if (put_text(r, k, r->fence.data, r->fence.len) == -1)
			return -1;
		r->state = TC_CODE;
		return 1;
	}
	end = fence_end(r, r->scanned >= 3 ? r->scanned - 3 : 0);
	r->scanned = n;
	if (end == -1) {
		if (n > TCREPAIR_HOLD_MAX)
			return release_call(r, k, TC_CODE);
		return 0;
	}
	if ((rc = take_call(r, k, r->hold.data, (size_t)end, 0)) == -1)
		return -1;
	if (rc == 0 && (put_text(r, k, r->fence.data, r->fence.len) == -1 ||
	    put_text(r, k, r->hold.data, (size_t)end + 3) == -1))
		return -1;
	consume(r, (size_t)end + 3);
	r->state = TC_TEXT;
	return 1;
}

static int
step_code(struct tcrepair *r, const struct tcrepair_sink *k)
{
	const char	*h = r->hold.data;
	size_t		 i, n = r->hold.len;
	long		 j;
	int		 m;

	for (i = 0; i < n; i++) {
		if (h[i] != '`' || (j = line_begins(r, i)) == -1)
			continue;
		if ((m = starts(h + i, n - i, FENCE)) == 0)
			continue;
		if (m == 2) {
			if (put_text(r, k, h, (size_t)j) == -1)
				return -1;
			consume(r, (size_t)j);
			return 0;
		}
		if (put_text(r, k, h, i + 3) == -1)
			return -1;
		consume(r, i + 3);
		r->state = TC_TEXT;
		return 1;
	}
	if (put_text(r, k, h, n) == -1)
		return -1;
	consume(r, n);
	return 0;
}

static int
steps(struct tcrepair *r, const struct tcrepair_sink *k)
{
	int	 rc;

	do {
		switch (r->state) {
		case TC_TAG:
			rc = step_tag(r, k);
			break;
		case TC_FENCE:
			rc = step_fence(r, k);
			break;
		case TC_CODE:
			rc = step_code(r, k);
			break;
		default:
			rc = step_text(r, k);
			break;
		}
	} while (rc == 1 && r->hold.len > 0);
	return rc == -1 ? -1 : 0;
}

int
tcrepair_feed(struct tcrepair *r, const char *p, size_t len,
    const struct tcrepair_sink *k)
{
	if (len == 0)
		return 0;
	if (buf_append(&r->hold, p, len) == -1)
		return oom(r);
	return steps(r, k);
}

int
tcrepair_release(struct tcrepair *r, const struct tcrepair_sink *k)
{
	int	 rc = 0;

	if (r->state == TC_TAG || r->state == TC_FENCE)
		rc = put_text(r, k, r->fence.data, r->fence.len);
	if (rc == -1 || put_text(r, k, r->hold.data, r->hold.len) == -1)
		return -1;
	consume(r, r->hold.len);
	r->state = r->state == TC_FENCE ? TC_CODE : r->state == TC_CODE ?
	    TC_CODE : TC_TEXT;
	return 0;
}

int
tcrepair_end(struct tcrepair *r, int truncated, const struct tcrepair_sink *k)
{
	int	 rc = 0;

	if (r->hold.len > 0 && !truncated &&
	    (r->state == TC_TAG || r->state == TC_FENCE)) {
		/* a call at the very end, its closing tag or fence never
		 * written (a stop sequence took it): whole, it counts */
		if ((rc = take_call(r, k, r->hold.data, r->hold.len,
		    r->state == TC_TAG)) == -1)
			return -1;
		if (rc == 1) {
			consume(r, r->hold.len);
			r->state = TC_TEXT;
		}
	}
	if (tcrepair_release(r, k) == -1)
		return -1;
	r->state = TC_TEXT;
	return 0;
}
