/*
 * aevent.c: the Anthropic message a client reads, written as events.
 *
 * One place for the bytes a client reads from a stream, whatever state
 * machine produced them: "event: NAME\ndata: " + one line of JSON + "\n\n",
 * the JSON of each event type exactly as Anthropic's API orders its
 * members (clients compare nothing but the values; tests compare bytes,
 * and every stream the proxy writes must look alike: resp_stream.c's are
 * byte for byte those of stream.c).
 *
 * The message's order lives here too: one message_start however many
 * upstream rounds write into the message, block indexes handed out in
 * order, one block open at a time (a machine that breaks it is a bug:
 * fatalx), a thinking block's signature_delta just before its stop.
 *
 * Text, thinking and a tool call's input pass through the secret net:
 * every configured secret in them is masked (in the input, in whatever
 * escaped form its JSON text holds it), and a secret may be split across
 * deltas, so a tail
 * that may begin one waits (held) for the next piece, or goes out when
 * the block stops; nothing else is delayed, and no delta allocates once
 * the buffers fit. When the stream fails, a held tail shorter than half
 * the shortest secret goes before the error (it tells nothing and is the
 * model's text), a longer one is dropped with the unfinished block.
 *
 * For the server-tool loop it can also record the blocks it writes as
 * JSON (aevent_record) and hand a text block's text to a filter that
 * splits it into cited blocks (aevent_text_filter, aevent_cited); a text
 * block then reaches the wire only when the filter first writes to it.
 *
 * Events are appended to one buffer and handed to the writer when the
 * caller says so (aevent_emit: once per upstream read, or at the end), so
 * the events one read produced leave in one write. A pass-through stream
 * hands its upstream's whole events over as they were written
 * (aevent_relay), configured secrets masked, and says what text they
 * carried for the log (aevent_relayed). Promises: only whole
 * events are ever written (an event that ran out of memory half-way is
 * cut off again), nothing is written once a write has failed, strings
 * are escaped as JSON requires, an error's message has every secret
 * masked (secret_mask: the last net before a client) and a whole block's
 * JSON every configured secret (secret_mask_json: its ids and sealed
 * values look random and must reach the client as they are). Fails only when memory runs out (-1, the events before
 * still good) or the client is gone (-1 from aevent_emit).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aevent.h"
#include "buf.h"
#include "log.h"
#include "secret.h"
#include "sse.h"

enum { AE_NONE, AE_TEXT, AE_THINKING, AE_TOOL, AE_OTHER };

#define PREVIEW_MARGIN	256	/* characters kept past the preview */

void
aevent_init(struct aevent *a, size_t preview_max, aevent_emit_fn emit,
    void *arg)
{
	memset(a, 0, sizeof(*a));
	a->emit = emit;
	a->emit_arg = arg;
	a->preview_max = preview_max;
	a->open = -1;
}

void
aevent_free(struct aevent *a)
{
	buf_free(&a->out);
	buf_free(&a->held);
	buf_free(&a->masked);
	buf_free(&a->preview);
	free(a->stop_sequence);
	a->stop_sequence = NULL;
	a->whole = 0;
	buf_free(&a->rec);
	json_object_put(a->rec_block);
	a->rec_block = NULL;
}

/* forget a partly built event: the next one starts where it did */
static void
ae_whole_only(struct aevent *a)
{
	a->out.len = a->whole;
	if (a->out.data != NULL)
		a->out.data[a->out.len] = '\0';
}

static int
ae_begin(struct aevent *a, const char *name)
{
	ae_whole_only(a);
	return sse_event_begin(&a->out, name);
}

static int
ae_end(struct aevent *a)
{
	if (sse_event_end(&a->out) == -1)
		return -1;
	a->whole = a->out.len;
	return 0;
}

/* a JSON string literal: runs of plain bytes copied at once */
static int
ae_str(struct buf *b, const char *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t		 i, run;
	unsigned char	 c;
	char		 esc[7];

	if (buf_reserve(b, len + 2) == -1 || buf_putc(b, '"') == -1)
		return -1;
	for (i = 0; i < len; i += run) {
		for (run = 0; i + run < len; run++) {
			c = p[i + run];
			if (c < 0x20 || c == '"' || c == '\\')
				break;
		}
		if (run > 0) {
			if (buf_append(b, p + i, run) == -1)
				return -1;
			continue;
		}
		c = p[i];
		run = 1;
		esc[0] = '\\';
		esc[2] = '\0';
		switch (c) {
		case '"':	esc[1] = '"'; break;
		case '\\':	esc[1] = '\\'; break;
		case '\n':	esc[1] = 'n'; break;
		case '\r':	esc[1] = 'r'; break;
		case '\t':	esc[1] = 't'; break;
		case '\b':	esc[1] = 'b'; break;
		case '\f':	esc[1] = 'f'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			esc[6] = '\0';
		}
		if (buf_puts(b, esc) == -1)
			return -1;
	}
	return buf_putc(b, '"');
}

static int
ae_cstr(struct buf *b, const char *s)
{
	if (s == NULL)
		return buf_puts(b, "null");
	return ae_str(b, s, strlen(s));
}

/* a block index in decimal: appended, not printed, as deltas are the
 * bulk of a stream */
static int
ae_index(struct buf *b, int v)
{
	char	 d[12];
	size_t	 n = sizeof(d);
	unsigned u = v < 0 ? 0 : (unsigned)v;

	do
		d[--n] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	return buf_append(b, d + n, sizeof(d) - n);
}

static const char *
ae_member_str(json_object *o, const char *key)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* ---- the record (the server-tool loop's answer so far) ------------------ */

static int
ae_rec_start(struct aevent *a, const char *type, const char *id,
    const char *name)
{
	json_object	*b;

	if (a->record == NULL)
		return 0;
	buf_reset(&a->rec);
	if ((b = json_object_new_object()) == NULL)
		return -1;
	json_object_object_add(b, "type", json_object_new_string(type));
	if (id != NULL)
		json_object_object_add(b, "id", json_object_new_string(id));
	if (name != NULL)
		json_object_object_add(b, "name", json_object_new_string(name));
	json_object_put(a->rec_block);
	a->rec_block = b;
	return 0;
}

static int
ae_rec_text(struct aevent *a, const char *p, size_t len)
{
	if (a->rec_block == NULL || len == 0)
		return 0;
	return buf_append(&a->rec, p, len);
}

/* the block's text, thinking or input, and the block into the record */
static int
ae_rec_stop(struct aevent *a, const char *sig, size_t siglen)
{
	json_object	*b = a->rec_block, *in = NULL;
	const char	*type, *t = a->rec.data != NULL ? a->rec.data : "";
	struct json_tokener *tok;

	if (b == NULL)
		return 0;
	a->rec_block = NULL;
	type = ae_member_str(b, "type");
	if (strcmp(type, "tool_use") == 0) {
		if ((tok = json_tokener_new()) != NULL) {
			in = json_tokener_parse_ex(tok, t, (int)a->rec.len);
			json_tokener_free(tok);
		}
		if (!json_object_is_type(in, json_type_object)) {
			json_object_put(in);
			in = json_object_new_object();
		}
		json_object_object_add(b, "input", in);
	} else {
		json_object_object_add(b, type, json_object_new_string_len(t,
		    (int)a->rec.len));
		if (strcmp(type, "thinking") == 0)
			json_object_object_add(b, "signature",
			    json_object_new_string_len(sig != NULL ? sig : "",
			    (int)siglen));
	}
	buf_reset(&a->rec);
	if (json_object_array_add(a->record, b) != 0) {
		json_object_put(b);
		return -1;
	}
	return 0;
}

void
aevent_record(struct aevent *a, json_object *content)
{
	a->record = content;
}

void
aevent_text_filter(struct aevent *a, aevent_text_fn fn, void *arg)
{
	a->filter = fn;
	a->filter_arg = arg;
}

/* ---- the message -------------------------------------------------------- */

int
aevent_message_start(struct aevent *a, const char *msg_id, const char *model,
    int64_t input_tokens)
{
	struct buf	*o = &a->out;

	if (a->started)
		return 0;
	a->input_estimate = input_tokens;
	if (ae_begin(a, "message_start") == -1 ||
	    buf_puts(o, "{\"type\":\"message_start\",\"message\":"
	    "{\"id\":") == -1 ||
	    ae_cstr(o, msg_id) == -1 ||
	    buf_puts(o, ",\"type\":\"message\",\"role\":\"assistant\","
	    "\"model\":") == -1 ||
	    ae_cstr(o, model) == -1 ||
	    buf_printf(o, ",\"content\":[],\"stop_reason\":null,"
	    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":%" PRId64 ","
	    "\"output_tokens\":1,\"cache_creation_input_tokens\":0,"
	    "\"cache_read_input_tokens\":0}}}", input_tokens) == -1 ||
	    ae_end(a) == -1)
		return -1;
	a->started = 1;
	return 0;
}

/* the head of content_block_start up to its content_block; the index is
 * the next one, taken only when the event is whole (ae_block_end) */
static int
ae_block_begin(struct aevent *a)
{
	if (a->open >= 0)
		fatalx("bug: block %d started while block %d is open",
		    a->next_block, a->open);
	if (ae_begin(a, "content_block_start") == -1 ||
	    buf_puts(&a->out, "{\"type\":\"content_block_start\","
	    "\"index\":") == -1 ||
	    ae_index(&a->out, a->next_block) == -1 ||
	    buf_puts(&a->out, ",\"content_block\":") == -1)
		return -1;
	return 0;
}

static int
ae_block_end(struct aevent *a, int kind)
{
	if (ae_end(a) == -1)
		return -1;
	a->open = a->next_block++;
	a->open_kind = kind;
	return a->open;
}

int
aevent_block_start(struct aevent *a, const char *type, const char *id,
    const char *name)
{
	struct buf	*o = &a->out;
	int		 kind;

	if (a->lazy)
		fatalx("bug: block started while a text block is open");
	if (strcmp(type, "text") == 0 && a->filter != NULL) {
		/* on the wire when its filter first writes to it */
		if (a->open >= 0)
			fatalx("bug: block started while block %d is open",
			    a->open);
		if (ae_rec_start(a, "text", NULL, NULL) == -1)
			return -1;
		a->lazy = 1;
		a->open_kind = AE_TEXT;
		return a->next_block;
	}
	if (ae_block_begin(a) == -1)
		return -1;
	if (strcmp(type, "text") == 0) {
		kind = AE_TEXT;
		if (buf_puts(o, "{\"type\":\"text\",\"text\":\"\"}}") == -1)
			return -1;
	} else if (strcmp(type, "thinking") == 0) {
		kind = AE_THINKING;
		if (buf_puts(o, "{\"type\":\"thinking\",\"thinking\":\"\","
		    "\"signature\":\"\"}}") == -1)
			return -1;
	} else {
		kind = AE_TOOL;
		if (buf_puts(o, "{\"type\":\"tool_use\",\"id\":") == -1 ||
		    ae_cstr(o, id) == -1 ||
		    buf_puts(o, ",\"name\":") == -1 ||
		    ae_cstr(o, name) == -1 ||
		    buf_puts(o, ",\"input\":{}}}") == -1)
			return -1;
	}
	if (ae_block_end(a, kind) == -1 || ae_rec_start(a, type, id, name) ==
	    -1)
		return -1;
	return a->open;
}

int
aevent_delta(struct aevent *a, const char *type, const char *field,
    const char *p, size_t len)
{
	struct buf	*o = &a->out;

	if (a->open < 0)
		fatalx("bug: %s with no block open", type);
	if (ae_begin(a, "content_block_delta") == -1 ||
	    buf_puts(o, "{\"type\":\"content_block_delta\",\"index\":") ==
	    -1 || ae_index(o, a->open) == -1 ||
	    buf_puts(o, ",\"delta\":{\"type\":\"") == -1 ||
	    buf_puts(o, type) == -1 ||
	    buf_puts(o, "\",\"") == -1 ||
	    buf_puts(o, field) == -1 ||
	    buf_puts(o, "\":") == -1 ||
	    ae_str(o, p, len) == -1 ||
	    buf_puts(o, "}}") == -1)
		return -1;
	return ae_end(a);
}


/* ---- text and thinking ------------------------------------------------- */

static size_t
ae_utf8_chars(const char *p, size_t len)
{
	size_t	 i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)p[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* the characters the preview keeps: what the log shows, and room past
 * the cut so the log's heuristic net sees a credential-looking run whole
 * (configured secrets are masked before any text reaches the preview) */
static void
ae_preview(struct aevent *a, const char *p, size_t len)
{
	size_t	 have, i, keep;

	keep = a->preview_max == 0 ? 0 : a->preview_max + PREVIEW_MARGIN;
	if (a->preview.len >= keep * 4)
		return;
	have = ae_utf8_chars(a->preview.data, a->preview.len);
	for (i = 0; i < len; i++)
		if (((unsigned char)p[i] & 0xc0) != 0x80 && have++ >= keep)
			break;
	if (i > 0)
		buf_append(&a->preview, p, i);	/* best effort (logs) */
}

/* one delta of the open text, thinking or tool_use block, as it is,
 * counted */
static int
ae_text_delta(struct aevent *a, const char *p, size_t len)
{
	if (len == 0)
		return 0;
	if (ae_rec_text(a, p, len) == -1)
		return -1;
	if (a->lazy)
		return a->filter(a->filter_arg, p, len, 0);
	if (a->open_kind == AE_TEXT) {
		if (aevent_delta(a, "text_delta", "text", p, len) == -1)
			return -1;
		a->text_chars += ae_utf8_chars(p, len);
		ae_preview(a, p, len);
	} else if (a->open_kind == AE_TOOL) {
		if (aevent_delta(a, "input_json_delta", "partial_json", p,
		    len) == -1)
			return -1;
	} else if (aevent_delta(a, "thinking_delta", "thinking", p, len) ==
	    -1)
		return -1;
	a->round_bytes += len;
	return 0;
}

/* p masked into a->masked and written; final: the held tail too, nothing
 * left waiting. Both buffers keep their memory. */
static int
ae_masked(struct aevent *a, const char *p, size_t len, int final)
{
	const char	*t = p;
	size_t		 tlen = len, n;

	if (secret_longest() == 0 && a->held.len == 0)
		return ae_text_delta(a, p, len);
	if (a->held.len > 0) {
		if (buf_append(&a->held, p, len) == -1)
			return -1;
		t = a->held.data;
		tlen = a->held.len;
	}
	buf_reset(&a->masked);
	/* a tool call's input is JSON text, the rest decoded text */
	if (final) {
		if (a->open_kind == AE_TOOL)
			secret_mask_json(&a->masked, t, tlen);
		else
			secret_mask_exact(&a->masked, t, tlen);
		n = tlen;
	} else
		n = a->open_kind == AE_TOOL ?
		    secret_mask_json_stream(&a->masked, t, tlen) :
		    secret_mask_stream(&a->masked, t, tlen);
	if (a->masked.data == NULL && n > 0)
		return -1;
	if (t == a->held.data)
		buf_consume(&a->held, n);
	else if (n < len && buf_append(&a->held, p + n, len - n) == -1)
		return -1;
	return ae_text_delta(a, a->masked.data, a->masked.len);
}

/* a tool call's arguments are JSON text: a key in them is masked in the
 * escaped form it takes there, held like text's across the pieces */
int
aevent_json(struct aevent *a, const char *p, size_t len)
{
	if (a->open < 0 || a->open_kind != AE_TOOL)
		fatalx("bug: tool input with no tool_use block open");
	if (len == 0)
		return 0;
	return ae_masked(a, p, len, 0);
}

int
aevent_text(struct aevent *a, const char *p, size_t len)
{
	if ((a->open < 0 && !a->lazy) || (a->open_kind != AE_TEXT &&
	    a->open_kind != AE_THINKING))
		fatalx("bug: text with no text or thinking block open");
	if (len == 0)
		return 0;
	return ae_masked(a, p, len, 0);
}

/* content_block_stop of the block on the wire */
static int
ae_wire_stop(struct aevent *a)
{
	if (ae_begin(a, "content_block_stop") == -1 ||
	    buf_puts(&a->out, "{\"type\":\"content_block_stop\","
	    "\"index\":") == -1 ||
	    ae_index(&a->out, a->open) == -1 ||
	    buf_putc(&a->out, '}') == -1 ||
	    ae_end(a) == -1)
		return -1;
	a->open = -1;
	return 0;
}

int
aevent_block_stop(struct aevent *a, const char *sig, size_t siglen)
{
	if (a->open < 0 && !a->lazy)
		fatalx("bug: content_block_stop with no block open");
	/* what waited to be told from a secret's beginning goes first */
	if (a->held.len > 0 && ae_masked(a, "", 0, 1) == -1)
		return -1;
	if (a->lazy && a->filter(a->filter_arg, "", 0, 1) == -1)
		return -1;
	if (a->open_kind == AE_THINKING && aevent_delta(a, "signature_delta",
	    "signature", sig, siglen) == -1)
		return -1;
	if (a->open >= 0 && ae_wire_stop(a) == -1)
		return -1;
	a->lazy = 0;
	a->open_kind = AE_NONE;
	return ae_rec_stop(a, sig, siglen);
}

/* the filter's text: into the machine's text block, started at need */
int
aevent_text_out(struct aevent *a, const char *p, size_t len)
{
	if (!a->lazy)
		fatalx("bug: filtered text with no text block open");
	if (len == 0)
		return 0;
	if (a->open < 0 && (ae_block_begin(a) == -1 ||
	    buf_puts(&a->out, "{\"type\":\"text\",\"text\":\"\"}}") == -1 ||
	    ae_block_end(a, AE_TEXT) == -1))
		return -1;
	if (aevent_delta(a, "text_delta", "text", p, len) == -1)
		return -1;
	a->text_chars += ae_utf8_chars(p, len);
	ae_preview(a, p, len);
	a->round_bytes += len;
	return 0;
}

static const char *ae_json_masked(struct aevent *, json_object *, size_t *);

int
aevent_cited(struct aevent *a, json_object *citations, const char *p,
    size_t len)
{
	const char	*j;
	size_t		 i, n, jlen;

	if (!a->lazy)
		fatalx("bug: cited text with no text block open");
	if (a->open >= 0 && ae_wire_stop(a) == -1)
		return -1;
	if (ae_block_begin(a) == -1 ||
	    buf_puts(&a->out, "{\"type\":\"text\",\"text\":\"\"}}") == -1 ||
	    ae_block_end(a, AE_TEXT) == -1)
		return -1;
	n = json_object_array_length(citations);
	for (i = 0; i < n; i++)
		if ((j = ae_json_masked(a, json_object_array_get_idx(citations,
		    i), &jlen)) == NULL ||
		    ae_begin(a, "content_block_delta") == -1 ||
		    buf_puts(&a->out, "{\"type\":\"content_block_delta\","
		    "\"index\":") == -1 || ae_index(&a->out, a->open) == -1 ||
		    buf_puts(&a->out, ",\"delta\":{\"type\":\"citations_delta\","
		    "\"citation\":") == -1 ||
		    buf_append(&a->out, j, jlen) == -1 ||
		    buf_puts(&a->out, "}}") == -1 || ae_end(a) == -1)
			return -1;
	if (len > 0 && aevent_delta(a, "text_delta", "text", p, len) == -1)
		return -1;
	a->text_chars += ae_utf8_chars(p, len);
	ae_preview(a, p, len);
	a->round_bytes += len;
	return ae_wire_stop(a);
}

/* ---- whole blocks (server tools) --------------------------------------- */

/* the JSON text of o with every configured secret masked; only those:
 * the ids and sealed values in it look random and must round-trip */
static const char *
ae_json_masked(struct aevent *a, json_object *o, size_t *len)
{
	const char	*j;

	j = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, len);
	if (j == NULL || secret_longest() == 0)
		return j;
	buf_reset(&a->masked);
	secret_mask_json(&a->masked, j, *len);
	if (a->masked.data == NULL)
		return NULL;
	*len = a->masked.len;
	return a->masked.data;
}

static int
ae_server_tool_use(struct aevent *a, json_object *block)
{
	const char	*id = ae_member_str(block, "id");
	const char	*name = ae_member_str(block, "name");
	const char	*j;
	json_object	*input, *caller = NULL;
	size_t		 len;

	if (json_object_object_get_ex(block, "caller", &caller) &&
	    !json_object_is_type(caller, json_type_object))
		caller = NULL;
	if (id == NULL || name == NULL ||
	    !json_object_object_get_ex(block, "input", &input) ||
	    !json_object_is_type(input, json_type_object))
		return -1;
	if (ae_block_begin(a) == -1 ||
	    buf_puts(&a->out, "{\"type\":\"server_tool_use\",\"id\":") ==
	    -1 || ae_cstr(&a->out, id) == -1 ||
	    buf_puts(&a->out, ",\"name\":") == -1 ||
	    ae_cstr(&a->out, name) == -1 ||
	    buf_puts(&a->out, ",\"input\":{}") == -1)
		return -1;
	/* who called it ({"type":"direct"}), as Anthropic's blocks say */
	if (caller != NULL && ((j = json_object_to_json_string_ext(caller,
	    JSON_C_TO_STRING_PLAIN)) == NULL ||
	    buf_puts(&a->out, ",\"caller\":") == -1 ||
	    buf_puts(&a->out, j) == -1))
		return -1;
	if (buf_puts(&a->out, "}}") == -1 || ae_block_end(a, AE_OTHER) == -1)
		return -1;
	/* as Claude Code reads tool input: only from input_json_delta */
	if ((j = ae_json_masked(a, input, &len)) == NULL ||
	    aevent_delta(a, "input_json_delta", "partial_json", j, len) == -1)
		return -1;
	return 0;
}

int
aevent_block_whole(struct aevent *a, json_object *block)
{
	const char	*type = ae_member_str(block, "type"), *j;
	size_t		 len;
	int		 index = a->next_block;

	if (type == NULL)
		return -1;
	if (a->lazy)
		fatalx("bug: block started while a text block is open");
	if (strcmp(type, "server_tool_use") == 0) {
		if (ae_server_tool_use(a, block) == -1)
			return -1;
	} else if ((j = ae_json_masked(a, block, &len)) == NULL ||
	    ae_block_begin(a) == -1 ||
	    buf_append(&a->out, j, len) == -1 ||
	    buf_putc(&a->out, '}') == -1 ||
	    ae_block_end(a, AE_OTHER) == -1)
		return -1;
	if (aevent_block_stop(a, NULL, 0) == -1)
		return -1;
	if (a->record != NULL && json_object_array_add(a->record,
	    json_object_get(block)) != 0) {
		json_object_put(block);
		return -1;
	}
	return index;
}

/* ---- events passed through --------------------------------------------- */

int
aevent_relay(struct aevent *a, const char *p, size_t len)
{
	ae_whole_only(a);
	/* masking never lengthens the text (a secret is longer than its
	 * "***"), so with room for it nothing can fail half-way */
	if (buf_reserve(&a->out, len + 1) == -1)
		return -1;
	/* a configured secret cannot span a blank line: it holds no
	 * control characters, so whole events are masked alone */
	if (secret_longest() == 0)
		buf_append(&a->out, p, len);
	else
		secret_mask_json(&a->out, p, len);
	a->whole = a->out.len;
	return 0;
}

void
aevent_relayed(struct aevent *a, const char *p, size_t len, int text)
{
	if (text) {
		a->text_chars += ae_utf8_chars(p, len);
		ae_preview(a, p, len);
	}
	a->round_bytes += len;
}

/* ---- the end ------------------------------------------------------------ */

static int
ae_message_delta(struct aevent *a, const char *stop_reason,
    const char *stop_sequence, const struct aevent_usage *u)
{
	struct buf	*o = &a->out;

	if (ae_begin(a, "message_delta") == -1 ||
	    buf_puts(o, "{\"type\":\"message_delta\",\"delta\":"
	    "{\"stop_reason\":") == -1 ||
	    ae_cstr(o, stop_reason) == -1 ||
	    buf_puts(o, ",\"stop_sequence\":") == -1 ||
	    ae_cstr(o, stop_sequence) == -1 ||
	    buf_printf(o, "},\"usage\":{\"input_tokens\":%" PRId64 ","
	    "\"output_tokens\":%" PRId64 ",\"cache_read_input_tokens\":%"
	    PRId64 ",\"cache_creation_input_tokens\":%" PRId64, u->input,
	    u->output, u->cache_read, u->cache_creation) == -1)
		return -1;
	if ((a->web_search_requests > 0 || a->web_fetch_requests > 0) &&
	    buf_printf(o, ",\"server_tool_use\":{\"web_search_requests\":%d,"
	    "\"web_fetch_requests\":%d}", a->web_search_requests,
	    a->web_fetch_requests) == -1)
		return -1;
	if (buf_puts(o, "}}") == -1 || ae_end(a) == -1 ||
	    ae_begin(a, "message_stop") == -1 ||
	    buf_puts(o, "{\"type\":\"message_stop\"}") == -1)
		return -1;
	return ae_end(a);
}

int
aevent_message_end(struct aevent *a, const char *stop_reason,
    const char *stop_sequence, int64_t input_tokens, int64_t output_tokens,
    int64_t cache_read, int64_t cache_creation)
{
	struct aevent_usage	 u;

	if (a->open >= 0)
		fatalx("bug: message ended with block %d open", a->open);
	u.input = input_tokens;
	u.output = output_tokens >= 0 ? output_tokens :
	    (int64_t)(a->round_bytes + 3) / 4;
	u.cache_read = cache_read;
	u.cache_creation = cache_creation;
	a->ends++;
	a->sum.input += u.input;
	a->sum.output += u.output;
	a->sum.cache_read += u.cache_read;
	a->sum.cache_creation += u.cache_creation;
	if (!a->rounds)
		return ae_message_delta(a, stop_reason, stop_sequence, &u);
	/* a round of several: its end is the loop's to write */
	snprintf(a->stop_reason, sizeof(a->stop_reason), "%s",
	    stop_reason != NULL ? stop_reason : "end_turn");
	free(a->stop_sequence);
	a->stop_sequence = NULL;
	if (stop_sequence != NULL &&
	    (a->stop_sequence = strdup(stop_sequence)) == NULL)
		return -1;
	a->round_bytes = 0;
	return 0;
}

void
aevent_rounds(struct aevent *a, int on)
{
	a->rounds = on;
}

int
aevent_turn_end(struct aevent *a, const char *stop_reason)
{
	if (a->open >= 0)
		fatalx("bug: turn ended with block %d open", a->open);
	a->rounds = 0;
	if (stop_reason == NULL)
		stop_reason = a->stop_reason[0] != '\0' ? a->stop_reason :
		    "end_turn";
	return ae_message_delta(a, stop_reason, a->stop_sequence, &a->sum);
}

int
aevent_error(struct aevent *a, const char *type, const char *message,
    const char *request_id)
{
	struct buf	*o = &a->out;
	struct buf	 masked = BUF_INITIALIZER;
	int		 rc = -1;

	a->failed = 1;
	/* a tail held as a possible secret's start: a letter or two tell
	 * nothing and are the model's; more could be most of a key */
	if (a->held.len > 0 && a->held.len < SECRET_MIN_LEN / 2 && !a->lazy)
		(void)ae_masked(a, "", 0, 1);	/* no memory: dropped too */
	buf_reset(&a->held);
	/* the last net before a client: a message may quote an upstream */
	secret_mask(&masked, message, message != NULL ? strlen(message) : 0);
	if (ae_begin(a, "error") == -1 ||
	    buf_puts(o, "{\"type\":\"error\",\"error\":{\"type\":") == -1 ||
	    ae_cstr(o, type) == -1 ||
	    buf_puts(o, ",\"message\":") == -1 ||
	    ae_str(o, masked.data != NULL ? masked.data : "", masked.len) ==
	    -1 ||
	    buf_puts(o, "},\"request_id\":") == -1 ||
	    ae_cstr(o, request_id) == -1 ||
	    buf_putc(o, '}') == -1)
		goto done;
	rc = ae_end(a);
done:
	buf_free(&masked);
	return rc;
}

int
aevent_fail(struct aevent *a, const char *type, const char *message,
    const char *request_id)
{
	if (aevent_error(a, type, message, request_id) == -1) {
		aevent_emit(a, 1);	/* at least what was whole */
		return -1;
	}
	return aevent_emit(a, 1);
}

int
aevent_ping(struct aevent *a)
{
	if (ae_begin(a, "ping") == -1 ||
	    buf_puts(&a->out, "{\"type\":\"ping\"}") == -1)
		return -1;
	return ae_end(a);
}

int
aevent_emit(struct aevent *a, int last)
{
	int	 rv;

	if (a->client_gone)
		return -1;
	/* a round's end is not the message's, unless it failed */
	if (last && a->rounds && !a->failed)
		last = 0;
	ae_whole_only(a);
	if (a->out.len == 0 && !last)
		return 0;
	rv = a->emit(a->emit_arg, a->out.data != NULL ? a->out.data : "",
	    a->out.len, last);
	buf_reset(&a->out);
	a->whole = 0;
	if (rv == -1) {
		a->client_gone = 1;
		return -1;
	}
	return 0;
}
