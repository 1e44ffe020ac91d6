/*
 * aevent.c: Anthropic stream events, written.
 *
 * One place for the bytes a client reads from a stream, whatever state
 * machine produced them: "event: NAME\ndata: " + one line of JSON + "\n\n",
 * the JSON of each event type exactly as Anthropic's API orders its
 * members (clients compare nothing but the values; tests compare bytes,
 * and every stream the proxy writes must look alike: resp_stream.c's are
 * byte for byte those of stream.c).
 *
 * Events are appended to one buffer and handed to the writer when the
 * caller says so (aevent_emit: once per upstream read, or at the end), so
 * the events one read produced leave in one write. Promises: only whole
 * events are ever written (an event that ran out of memory half-way is
 * cut off again), nothing is written once a write has failed, strings
 * are escaped as JSON requires, and an error's message has every secret
 * masked (secret_mask: the last net before a client). Fails only when memory runs out (-1, the
 * events before still good) or the client is gone (-1 from aevent_emit).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "aevent.h"
#include "buf.h"
#include "secret.h"
#include "sse.h"

void
aevent_init(struct aevent *a, aevent_emit_fn emit, void *arg)
{
	memset(a, 0, sizeof(*a));
	a->emit = emit;
	a->emit_arg = arg;
}

void
aevent_free(struct aevent *a)
{
	buf_free(&a->out);
	a->whole = 0;
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

int
aevent_message_start(struct aevent *a, const char *msg_id, const char *model,
    int64_t input_tokens)
{
	struct buf	*o = &a->out;

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
	    "\"cache_read_input_tokens\":0}}}", input_tokens) == -1)
		return -1;
	return ae_end(a);
}

int
aevent_block_start(struct aevent *a, int index, const char *type,
    const char *id, const char *name)
{
	struct buf	*o = &a->out;

	if (ae_begin(a, "content_block_start") == -1 ||
	    buf_puts(o, "{\"type\":\"content_block_start\",\"index\":") ==
	    -1 || ae_index(o, index) == -1 ||
	    buf_puts(o, ",\"content_block\":") == -1)
		return -1;
	if (strcmp(type, "text") == 0) {
		if (buf_puts(o, "{\"type\":\"text\",\"text\":\"\"}}") == -1)
			return -1;
	} else if (strcmp(type, "thinking") == 0) {
		if (buf_puts(o, "{\"type\":\"thinking\",\"thinking\":\"\","
		    "\"signature\":\"\"}}") == -1)
			return -1;
	} else if (buf_puts(o, "{\"type\":\"tool_use\",\"id\":") == -1 ||
	    ae_cstr(o, id) == -1 ||
	    buf_puts(o, ",\"name\":") == -1 ||
	    ae_cstr(o, name) == -1 ||
	    buf_puts(o, ",\"input\":{}}}") == -1)
		return -1;
	return ae_end(a);
}

int
aevent_delta(struct aevent *a, int index, const char *type,
    const char *field, const char *p, size_t len)
{
	struct buf	*o = &a->out;

	if (ae_begin(a, "content_block_delta") == -1 ||
	    buf_puts(o, "{\"type\":\"content_block_delta\",\"index\":") ==
	    -1 || ae_index(o, index) == -1 ||
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

int
aevent_block_stop(struct aevent *a, int index)
{
	if (ae_begin(a, "content_block_stop") == -1 ||
	    buf_puts(&a->out, "{\"type\":\"content_block_stop\","
	    "\"index\":") == -1 ||
	    ae_index(&a->out, index) == -1 ||
	    buf_putc(&a->out, '}') == -1)
		return -1;
	return ae_end(a);
}

int
aevent_message_end(struct aevent *a, const char *stop_reason,
    const char *stop_sequence, int64_t input_tokens, int64_t output_tokens,
    int64_t cache_read, int64_t cache_creation)
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
	    PRId64 ",\"cache_creation_input_tokens\":%" PRId64 "}}",
	    input_tokens, output_tokens, cache_read, cache_creation) == -1 ||
	    ae_end(a) == -1 ||
	    ae_begin(a, "message_stop") == -1 ||
	    buf_puts(o, "{\"type\":\"message_stop\"}") == -1)
		return -1;
	return ae_end(a);
}

int
aevent_error(struct aevent *a, const char *type, const char *message,
    const char *request_id)
{
	struct buf	*o = &a->out;
	struct buf	 masked = BUF_INITIALIZER;
	int		 rc = -1;

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
