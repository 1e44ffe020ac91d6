/*
 * event_rules: the Anthropic stream's rules (DESIGN.md §5) as a checker,
 * for the unit tests of every machine that writes Anthropic events (the
 * Chat Completions and the Responses stream machines). check_output
 * decodes a whole output and says "" when it follows the rules, else what
 * it breaks first. Static functions, as jsondiff.h: each test program
 * includes it once.
 */
#ifndef CP_EVENT_RULES_H
#define CP_EVENT_RULES_H

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "sse.h"
#include "util.h"

struct check {
	char		 err[300];
	int		 started, deltas, stopped, errored, events;
	int		 open;		/* -1 none */
	int		 next;
	char		 kind[16];
	int		 sig_seen;
	int		 cut_tools;	/* tool inputs that don't parse */
	struct buf	 json;
	char		 last_stop[32];
};

static int	check_fail(struct check *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static int
check_fail(struct check *c, const char *fmt, ...)
{
	va_list	 ap;

	if (c->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(c->err, sizeof(c->err), fmt, ap);
		va_end(ap);
	}
	return 0;
}

static const char *
js(json_object *o, const char *k)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int
valid_tool_id(const char *id)
{
	if (id == NULL || *id == '\0')
		return 0;
	for (; *id; id++)
		if (!isalnum((unsigned char)*id) && *id != '_' && *id != '-')
			return 0;
	return 1;
}

static void
check_block_start(struct check *c, json_object *o)
{
	json_object	*cb, *in, *idx;
	const char	*type;

	if (c->open != -1)
		check_fail(c, "%s: a block is already open", "start");
	json_object_object_get_ex(o, "index", &idx);
	if (json_object_get_int(idx) != c->next)
		check_fail(c, "%s: index out of order", "start");
	c->open = c->next++;
	json_object_object_get_ex(o, "content_block", &cb);
	type = js(cb, "type");
	strlcpy(c->kind, type ? type : "?", sizeof(c->kind));
	c->sig_seen = 0;
	buf_reset(&c->json);
	if (strcmp(c->kind, "tool_use") == 0) {
		if (!json_object_object_get_ex(cb, "input", &in) ||
		    !json_object_is_type(in, json_type_object) ||
		    json_object_object_length(in) != 0)
			check_fail(c, "%s: tool_use input is not {}", "start");
		if (!valid_tool_id(js(cb, "id")))
			check_fail(c, "%s: bad tool id", "start");
		const char *name = js(cb, "name");
		if (name == NULL || *name == '\0')
			check_fail(c, "%s: tool without a name", "start");
	} else if (strcmp(c->kind, "text") != 0 &&
	    strcmp(c->kind, "thinking") != 0)
		check_fail(c, "unknown block type %s", c->kind);
}

static void
check_block_delta(struct check *c, json_object *o)
{
	json_object	*d, *idx;
	const char	*type;

	json_object_object_get_ex(o, "index", &idx);
	if (c->open == -1 || json_object_get_int(idx) != c->open)
		check_fail(c, "%s: delta for a block that is not open",
		    "delta");
	json_object_object_get_ex(o, "delta", &d);
	type = js(d, "type");
	if (type == NULL)
		type = "?";
	if (strcmp(c->kind, "text") == 0 && strcmp(type, "text_delta") == 0)
		return;
	if (strcmp(c->kind, "tool_use") == 0 &&
	    strcmp(type, "input_json_delta") == 0) {
		buf_puts(&c->json, js(d, "partial_json"));
		return;
	}
	if (strcmp(c->kind, "thinking") == 0 &&
	    strcmp(type, "thinking_delta") == 0 && !c->sig_seen)
		return;
	const char *sig = js(d, "signature");
	if (strcmp(c->kind, "thinking") == 0 &&
	    strcmp(type, "signature_delta") == 0 && !c->sig_seen &&
	    sig != NULL && *sig != '\0') {
		c->sig_seen = 1;
		return;
	}
	check_fail(c, "delta %s does not fit its block", type);
}

static void
check_block_stop(struct check *c, json_object *o)
{
	json_object	*idx, *in;

	json_object_object_get_ex(o, "index", &idx);
	if (c->open == -1 || json_object_get_int(idx) != c->open)
		check_fail(c, "%s: stop for a block that is not open", "stop");
	if (strcmp(c->kind, "thinking") == 0 && !c->sig_seen)
		check_fail(c, "%s: thinking block without signature", "stop");
	if (strcmp(c->kind, "tool_use") == 0) {
		in = json_tokener_parse(c->json.data ? c->json.data : "");
		if (in == NULL)	/* allowed only with max_tokens */
			c->cut_tools++;
		else if (!json_object_is_type(in, json_type_object))
			check_fail(c, "tool input is not an object: %s",
			    c->json.data ? c->json.data : "");
		json_object_put(in);
	}
	c->open = -1;
}

static void
check_stop_reason(struct check *c, json_object *o)
{
	static const char *const valid[] = { "end_turn", "max_tokens",
	    "stop_sequence", "tool_use", "refusal" };
	json_object	*d;
	const char	*r;
	size_t		 i;

	json_object_object_get_ex(o, "delta", &d);
	if ((r = js(d, "stop_reason")) == NULL)
		r = "(null)";
	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		if (strcmp(r, valid[i]) == 0)
			break;
	if (i == sizeof(valid) / sizeof(valid[0]))
		check_fail(c, "bad stop_reason %s", r);
	if (c->cut_tools > 0 && strcmp(r, "max_tokens") != 0)
		check_fail(c, "tool input cut short, yet stop_reason %s", r);
	if ((strcmp(r, "stop_sequence") == 0) != (js(d, "stop_sequence") !=
	    NULL))
		check_fail(c, "stop_sequence does not fit stop_reason %s", r);
}

static int
check_event(void *arg, const char *ev, size_t evlen, const char *data,
    size_t len)
{
	struct check	*c = arg;
	json_object	*o;
	const char	*type;
	char		 name[64];

	(void)len;
	snprintf(name, sizeof(name), "%.*s", (int)evlen, ev);
	if ((o = json_tokener_parse(data)) == NULL)
		return check_fail(c, "event %s: data is not JSON", name);
	type = js(o, "type");
	if (type == NULL || strcmp(type, name) != 0)
		check_fail(c, "event %s: type does not match", name);
	if (c->stopped || c->errored)
		check_fail(c, "event %s after the end", name);
	if (strcmp(name, "ping") == 0)
		;
	else if (strcmp(name, "error") == 0) {
		/* ends the stream whatever is open: Anthropic's API leaves
		 * an unfinished block open */
		c->errored = 1;
	} else if (!c->started && strcmp(name, "message_start") != 0)
		check_fail(c, "%s before message_start", name);
	else if (strcmp(name, "message_start") == 0) {
		if (c->started++)
			check_fail(c, "%s twice", name);
	} else if (c->deltas && strcmp(name, "message_stop") != 0)
		check_fail(c, "%s after message_delta", name);
	else if (strcmp(name, "content_block_start") == 0)
		check_block_start(c, o);
	else if (strcmp(name, "content_block_delta") == 0)
		check_block_delta(c, o);
	else if (strcmp(name, "content_block_stop") == 0)
		check_block_stop(c, o);
	else if (strcmp(name, "message_delta") == 0) {
		if (c->open != -1)
			check_fail(c, "%s with a block open", name);
		check_stop_reason(c, o);
		c->deltas++;
	} else if (strcmp(name, "message_stop") == 0) {
		if (c->deltas != 1)
			check_fail(c, "%s without exactly one message_delta",
			    name);
		c->stopped = 1;
	} else
		check_fail(c, "unknown event %s", name);
	c->events++;
	json_object_put(o);
	return 0;
}

/* "" if the output follows the rules, else what is wrong; want_error
 * 1: must end in an error event, 0: in message_stop, -1: either */
static const char *
check_output(struct check *c, const struct buf *out, int want_error)
{
	struct sse_decoder	 d;

	memset(c, 0, sizeof(*c));
	c->open = -1;
	sse_decoder_init(&d);
	if (sse_decoder_feed(&d, out->data ? out->data : "", out->len,
	    check_event, c) == -1 || sse_decoder_finish(&d, check_event,
	    c) == -1)
		check_fail(c, "%s", "output is not SSE");
	sse_decoder_free(&d);
	buf_free(&c->json);
	if (want_error == 1 && !c->errored)
		check_fail(c, "%s", "no error event");
	if (want_error == 0 && !c->stopped)
		check_fail(c, "%s", "no message_stop");
	if (!c->errored && !c->stopped)
		check_fail(c, "%s", "neither message_stop nor error");
	return c->err;
}

#endif
