/*
 * turns.c: the translated conversation made acceptable to strict upstreams.
 *
 * Anthropic's conversation shape does not survive translation unchanged:
 * a thinking-only assistant turn has nothing an upstream would accept and
 * is left out, and role "system" messages in the middle fold into the
 * leading system message. Either can leave two user messages in a row,
 * which several upstreams (DeepSeek's reasoner among them) reject. And a
 * client may send an assistant tool_use that no tool_result answers,
 * which leaves tool_calls without the tool messages that strict upstreams
 * require after them.
 *
 * So, after translation: adjacent user messages become one (the content
 * parts of both, in order, images kept; two plain strings are joined by a
 * blank line), adjacent assistant messages become one (text and reasoning
 * joined, tool_calls concatenated), tool and system messages are never
 * merged; then the tool messages right after an assistant message follow
 * the order of its calls, and a call none of them answers gets a
 * placeholder tool message in its place that says the result is missing
 * (tool messages that answer no call stay, after the others).
 *
 * Promises: the input is never modified; messages that need no change are
 * shared with it by reference count. Fails only when memory runs out.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "log.h"
#include "turns.h"
#include "util.h"

/* obj[key] = val (taking it), key a string literal; -1 on failure */
static int
tr_add(json_object *obj, const char *key, json_object *val)
{
	if (val == NULL)
		return -1;
	if (json_object_object_add_ex(obj, key, val,
	    JSON_C_OBJECT_ADD_CONSTANT_KEY) == -1) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

static int
tr_push(json_object *arr, json_object *val)
{
	if (val == NULL)
		return -1;
	if (json_object_array_add(arr, val) == -1) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

static json_object *
tr_get(json_object *m, const char *key)
{
	json_object	*v;

	return json_object_object_get_ex(m, key, &v) ? v : NULL;
}

static const char *
tr_role(json_object *m)
{
	json_object	*r = tr_get(m, "role");

	return json_object_is_type(r, json_type_string) ?
	    json_object_get_string(r) : "";
}

static int
tr_is(json_object *m, const char *role)
{
	return strcmp(tr_role(m), role) == 0;
}

/* a new {"role": role} */
static json_object *
tr_message(const char *role)
{
	json_object	*m;

	if ((m = json_object_new_object()) == NULL)
		return NULL;
	if (tr_add(m, "role", json_object_new_string(role)) == -1) {
		json_object_put(m);
		return NULL;
	}
	return m;
}

/* ---- merging ------------------------------------------------------------ */

/* content as parts onto arr: a string becomes one text part */
static int
tr_parts(json_object *arr, json_object *content)
{
	json_object	*p;
	size_t		 i, n;

	if (json_object_is_type(content, json_type_array)) {
		n = json_object_array_length(content);
		for (i = 0; i < n; i++)
			if (tr_push(arr, json_object_get(
			    json_object_array_get_idx(content, i))) == -1)
				return -1;
		return 0;
	}
	if (!json_object_is_type(content, json_type_string) ||
	    json_object_get_string_len(content) == 0)
		return 0;
	if ((p = json_object_new_object()) == NULL)
		return -1;
	if (tr_add(p, "type", json_object_new_string("text")) == -1 ||
	    tr_add(p, "text", json_object_get(content)) == -1 ||
	    tr_push(arr, p) == -1) {
		json_object_put(p);
		return -1;
	}
	return 0;
}

/* the strings a[key] and b[key] joined by a blank line; NULL (with *none
 * set) when neither has text */
static json_object *
tr_join(json_object *a, json_object *b, const char *key, int *none)
{
	struct buf	 t = BUF_INITIALIZER;
	json_object	*s, *out;
	json_object	*v[2] = { tr_get(a, key), tr_get(b, key) };
	size_t		 i;

	*none = 0;
	for (i = 0; i < 2; i++) {
		s = v[i];
		if (!json_object_is_type(s, json_type_string) ||
		    json_object_get_string_len(s) == 0)
			continue;
		if ((t.len > 0 && buf_puts(&t, "\n\n") == -1) ||
		    buf_append(&t, json_object_get_string(s),
		    (size_t)json_object_get_string_len(s)) == -1) {
			buf_free(&t);
			return NULL;
		}
	}
	if (t.len == 0) {
		*none = 1;
		return NULL;
	}
	out = json_object_new_string_len(t.data, (int)t.len);
	buf_free(&t);
	return out;
}

static json_object *
tr_merge_user(json_object *a, json_object *b)
{
	json_object	*m, *c;
	json_object	*ca = tr_get(a, "content"), *cb = tr_get(b, "content");
	int		 none;

	if ((m = tr_message("user")) == NULL)
		return NULL;
	if (json_object_is_type(ca, json_type_string) &&
	    json_object_is_type(cb, json_type_string)) {
		if ((c = tr_join(a, b, "content", &none)) == NULL && none)
			c = json_object_new_string("");
	} else if ((c = json_object_new_array()) != NULL &&
	    (tr_parts(c, ca) == -1 || tr_parts(c, cb) == -1)) {
		json_object_put(c);
		c = NULL;
	}
	if (c == NULL || tr_add(m, "content", c) == -1) {
		json_object_put(m);
		return NULL;
	}
	return m;
}

/* the tool_calls of a and b, one after the other; NULL + *none when
 * neither calls a tool */
static json_object *
tr_calls(json_object *a, json_object *b, int *none)
{
	json_object	*arr, *v[2] = { tr_get(a, "tool_calls"),
			    tr_get(b, "tool_calls") };

	*none = !json_object_is_type(v[0], json_type_array) &&
	    !json_object_is_type(v[1], json_type_array);
	if (*none || (arr = json_object_new_array()) == NULL)
		return NULL;
	if (tr_parts(arr, json_object_is_type(v[0], json_type_array) ? v[0] :
	    NULL) == -1 || tr_parts(arr, json_object_is_type(v[1],
	    json_type_array) ? v[1] : NULL) == -1) {
		json_object_put(arr);
		return NULL;
	}
	return arr;
}

static json_object *
tr_merge_assistant(json_object *a, json_object *b)
{
	json_object	*m, *v;
	int		 none;

	if ((m = tr_message("assistant")) == NULL)
		return NULL;
	v = tr_join(a, b, "content", &none);
	if (none ? json_object_object_add_ex(m, "content", NULL,
	    JSON_C_OBJECT_ADD_CONSTANT_KEY) == -1 : tr_add(m, "content",
	    v) == -1)
		goto fail;
	v = tr_join(a, b, "reasoning_content", &none);
	if (!none && tr_add(m, "reasoning_content", v) == -1)
		goto fail;
	v = tr_calls(a, b, &none);
	if (!none && tr_add(m, "tool_calls", v) == -1)
		goto fail;
	return m;
fail:
	json_object_put(m);
	return NULL;
}

/* adjacent user or assistant messages of msgs, merged */
static json_object *
tr_merge(json_object *msgs)
{
	json_object	*out, *m, *cur = NULL, *merged;
	size_t		 i, n = json_object_array_length(msgs);

	if ((out = json_object_new_array_ext((int)n)) == NULL)
		return NULL;
	for (i = 0; i <= n; i++) {
		m = i < n ? json_object_array_get_idx(msgs, i) : NULL;
		if (cur != NULL && m != NULL && (tr_is(m, "user") ||
		    tr_is(m, "assistant")) && strcmp(tr_role(m),
		    tr_role(cur)) == 0) {
			merged = tr_is(m, "user") ? tr_merge_user(cur, m) :
			    tr_merge_assistant(cur, m);
			json_object_put(cur);
			if ((cur = merged) == NULL)
				goto fail;
			continue;
		}
		if (cur != NULL && tr_push(out, cur) == -1) {
			cur = NULL;
			goto fail;
		}
		cur = m != NULL ? json_object_get(m) : NULL;
	}
	return out;
fail:
	json_object_put(out);
	return NULL;
}

/* ---- unanswered tool calls ---------------------------------------------- */

static int
tr_placeholder(json_object *out, json_object *id, const char *rid)
{
	struct buf	 e = BUF_INITIALIZER;
	json_object	*m;

	util_log_excerpt(&e, json_object_get_string(id),
	    (size_t)json_object_get_string_len(id), 64);
	log_info("%s xlate: tool call \"%s\" has no result; the upstream is "
	    "told it is missing", rid, e.data ? e.data : "");
	buf_free(&e);
	if ((m = tr_message("tool")) == NULL)
		return -1;
	if (tr_add(m, "tool_call_id", json_object_get(id)) == -1 ||
	    tr_add(m, "content", json_object_new_string(
	    TURNS_MISSING_RESULT)) == -1) {
		json_object_put(m);
		return -1;
	}
	return tr_push(out, m);
}

/* the first of msgs[from..to) not yet used that answers call id, or -1 */
static ssize_t
tr_answer(json_object *msgs, size_t from, size_t to, const char *used,
    json_object *id)
{
	json_object	*tid;
	size_t		 i;

	for (i = from; i < to; i++) {
		tid = tr_get(json_object_array_get_idx(msgs, i),
		    "tool_call_id");
		if (!used[i - from] && json_object_is_type(tid,
		    json_type_string) && strcmp(json_object_get_string(tid),
		    json_object_get_string(id)) == 0)
			return (ssize_t)i;
	}
	return -1;
}

/*
 * The tool messages msgs[from..to) after an assistant message with calls:
 * for each call in order its answer, or a placeholder; then the tool
 * messages that answer none of the calls, as they came.
 */
static int
tr_answer_calls(json_object *out, json_object *msgs, size_t from, size_t to,
    json_object *calls, const char *rid)
{
	json_object	*id;
	char		*used;
	size_t		 k, n;
	ssize_t		 at;
	int		 rc = -1;

	n = calls != NULL ? json_object_array_length(calls) : 0;
	if ((used = calloc(to - from + 1, 1)) == NULL)
		return -1;
	for (k = 0; k < n; k++) {
		id = tr_get(json_object_array_get_idx(calls, k), "id");
		if (!json_object_is_type(id, json_type_string))
			continue;
		if ((at = tr_answer(msgs, from, to, used, id)) == -1) {
			if (tr_placeholder(out, id, rid) == -1)
				goto done;
			continue;
		}
		used[at - (ssize_t)from] = 1;
		if (tr_push(out, json_object_get(json_object_array_get_idx(msgs,
		    (size_t)at))) == -1)
			goto done;
	}
	for (k = from; k < to; k++)
		if (!used[k - from] && tr_push(out, json_object_get(
		    json_object_array_get_idx(msgs, k))) == -1)
			goto done;
	rc = 0;
done:
	free(used);
	return rc;
}

/* msgs with every call of an assistant message answered right after it */
static json_object *
tr_answer_all(json_object *msgs, const char *rid)
{
	json_object	*out, *m, *calls;
	size_t		 i, j, n = json_object_array_length(msgs);

	if ((out = json_object_new_array_ext((int)n)) == NULL)
		return NULL;
	for (i = 0; i < n; i = j) {
		m = json_object_array_get_idx(msgs, i);
		if (tr_push(out, json_object_get(m)) == -1)
			goto fail;
		for (j = i + 1; j < n && tr_is(json_object_array_get_idx(msgs,
		    j), "tool"); j++)
			;
		calls = tr_get(m, "tool_calls");
		if (!tr_is(m, "assistant") ||
		    !json_object_is_type(calls, json_type_array))
			calls = NULL;
		if (tr_answer_calls(out, msgs, i + 1, j, calls, rid) == -1)
			goto fail;
	}
	return out;
fail:
	json_object_put(out);
	return NULL;
}

json_object *
turns_repair(json_object *msgs, const char *request_id)
{
	json_object	*merged, *out;

	if ((merged = tr_merge(msgs)) == NULL)
		return NULL;
	out = tr_answer_all(merged, request_id != NULL ? request_id : "-");
	json_object_put(merged);
	return out;
}
