/*
 * tokens.c: a local estimate of a request's input tokens, for count_tokens.
 *
 * No tokenizer is at hand for the upstream's model, so this is a heuristic:
 * about four bytes of ASCII per token, one token per non-ASCII code point
 * (CJK text is close to that), a fixed price per image, and small overheads
 * per message, block and tool. It counts system, tools (names, descriptions,
 * schemas; a server tool the proxy runs as the function the upstream is
 * offered, one it does not run not at all) and every message block (web
 * search results as the model reads them), so it grows with the input and is
 * deterministic. It never fails: parts of the wrong shape count as their
 * JSON text, and a request that is not an object counts as 0. Validation is
 * xlate_req_check's job.
 */
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "srvhist.h"
#include "srvtool.h"
#include "tokens.h"

#define TOK_REQUEST	3	/* priming of the reply */
#define TOK_MESSAGE	4	/* role and separators */
#define TOK_BLOCK	3	/* block framing */
#define TOK_TOOL	8	/* function framing */
#define TOK_TOOLS	300	/* the tool-use preamble a model is given */
#define TOK_IMAGE	1600	/* a ~1.2 megapixel image */
#define TOK_PDF_BYTES	40	/* base64 bytes of PDF per token, roughly */

static int64_t	tok_blocks(json_object *);
static int64_t	tok_search_results(json_object *);

int64_t
tokens_estimate_text(const char *s, size_t len)
{
	int64_t	 ascii = 0, other = 0;
	size_t	 i;

	for (i = 0; i < len; i++) {
		unsigned char	 c = (unsigned char)s[i];

		if (c < 0x80)
			ascii++;
		else if ((c & 0xc0) != 0x80)	/* a lead byte: one code point */
			other++;
	}
	return (ascii + 3) / 4 + other;
}

static int64_t
tok_string(json_object *s)
{
	return tokens_estimate_text(json_object_get_string(s),
	    (size_t)json_object_get_string_len(s));
}

/* any value by its compact JSON text (tool inputs, schemas, odd shapes) */
static int64_t
tok_json(json_object *v)
{
	const char	*s;

	if (v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_string))
		return tok_string(v);
	s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	return s ? tokens_estimate_text(s, strlen(s)) : 0;
}

static int64_t
tok_member(json_object *obj, const char *key)
{
	json_object	*v;

	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return 0;
	return tok_json(v);
}

/* obj.type when it is a string, else "" */
static const char *
tok_type(json_object *obj)
{
	json_object	*t;

	if (!json_object_object_get_ex(obj, "type", &t) ||
	    !json_object_is_type(t, json_type_string))
		return "";
	return json_object_get_string(t);
}

/* a document: its text, or its PDF by size */
static int64_t
tok_document(json_object *b)
{
	json_object	*src, *data;
	const char	*type;
	int64_t		 n = tok_member(b, "title") + tok_member(b, "context");

	if (!json_object_object_get_ex(b, "source", &src))
		return n;
	type = tok_type(src);
	if (strcmp(type, "base64") == 0) {
		if (json_object_object_get_ex(src, "data", &data) &&
		    json_object_is_type(data, json_type_string))
			n += json_object_get_string_len(data) / TOK_PDF_BYTES;
		return n + 1;
	}
	if (strcmp(type, "content") == 0)
		return n + tok_blocks(json_object_object_get(src, "content"));
	if (*type == '\0')
		return n + tok_json(src);
	return n + tok_member(src, "data") + tok_member(src, "url");
}

static int64_t
tok_block(json_object *b)
{
	const char	*type;

	if (!json_object_is_type(b, json_type_object) ||
	    *(type = tok_type(b)) == '\0')
		return TOK_BLOCK + tok_json(b);
	if (strcmp(type, "text") == 0)
		return TOK_BLOCK + tok_member(b, "text");
	if (strcmp(type, "thinking") == 0)
		return TOK_BLOCK + tok_member(b, "thinking");
	if (strcmp(type, "redacted_thinking") == 0)
		return TOK_BLOCK + tok_member(b, "data") / 4;
	if (strcmp(type, "image") == 0)
		return TOK_BLOCK + TOK_IMAGE;
	if (strcmp(type, "document") == 0)
		return TOK_BLOCK + tok_document(b);
	if (strcmp(type, "tool_use") == 0 ||
	    strcmp(type, "server_tool_use") == 0)
		return TOK_BLOCK + tok_member(b, "id") + tok_member(b, "name") +
		    tok_member(b, "input");
	if (strcmp(type, "web_search_tool_result") == 0)
		return TOK_BLOCK + tok_search_results(b);
	if (strcmp(type, "tool_result") == 0)
		return TOK_BLOCK + tok_member(b, "tool_use_id") +
		    tok_blocks(json_object_object_get(b, "content"));
	return TOK_BLOCK + tok_json(b);
}

/* content: a string or an array of blocks */
static int64_t
tok_blocks(json_object *c)
{
	int64_t	 n = 0;
	size_t	 i, len;

	if (c == NULL)
		return 0;
	if (!json_object_is_type(c, json_type_array))
		return tok_json(c);
	len = json_object_array_length(c);
	for (i = 0; i < len; i++)
		n += tok_block(json_object_array_get_idx(c, i));
	return n;
}

/* a server tool counts as the function the upstream is offered in its
 * place, or nothing where the proxy does not run it (it is dropped) */
static int64_t
tok_server_tool(enum srvtool_kind k)
{
	json_object	*fn;
	int64_t		 n;

	if (!srvtool_enabled(k) || (fn = srvtool_function(k)) == NULL)
		return 0;
	n = TOK_TOOL + tok_json(json_object_object_get(fn, "function"));
	json_object_put(fn);
	return n;
}

/* web search results as the model reads them: title, URL, age and the
 * excerpt inside encrypted_content, not the encoding */
static int64_t
tok_search_results(json_object *b)
{
	struct srvhist_source	 src;
	json_object		*c, *item, *enc;
	int64_t			 n = 0;
	size_t			 i, len;

	if (!json_object_object_get_ex(b, "content", &c) ||
	    !json_object_is_type(c, json_type_array))
		return tok_json(b);
	len = json_object_array_length(c);
	for (i = 0; i < len; i++) {
		item = json_object_array_get_idx(c, i);
		n += TOK_BLOCK + tok_member(item, "title") +
		    tok_member(item, "url") + tok_member(item, "page_age");
		if (json_object_object_get_ex(item, "encrypted_content", &enc) &&
		    json_object_is_type(enc, json_type_string) &&
		    srvhist_open_result(json_object_get_string(enc),
		    (size_t)json_object_get_string_len(enc), &src) == 0) {
			n += tokens_estimate_text(src.snippet, strlen(src.snippet));
			srvhist_source_free(&src);
		}
	}
	return n;
}

static int64_t
tok_tools(json_object *tools)
{
	json_object	*t;
	enum srvtool_kind k;
	int64_t		 n = 0;
	size_t		 i, len;

	if (!json_object_is_type(tools, json_type_array))
		return tok_json(tools);
	if ((len = json_object_array_length(tools)) == 0)
		return 0;
	for (i = 0; i < len; i++) {
		t = json_object_array_get_idx(tools, i);
		if (!json_object_is_type(t, json_type_object)) {
			n += TOK_TOOL + tok_json(t);
			continue;
		}
		if ((k = srvtool_kind(tok_type(t))) != SRVTOOL_NONE) {
			n += tok_server_tool(k);
			continue;
		}
		n += TOK_TOOL + tok_member(t, "name") +
		    tok_member(t, "description") +
		    tok_member(t, "input_schema");
	}
	return TOK_TOOLS + n;
}

static int64_t
tok_messages(json_object *msgs)
{
	json_object	*m;
	int64_t		 n = 0;
	size_t		 i, len;

	if (!json_object_is_type(msgs, json_type_array))
		return tok_json(msgs);
	len = json_object_array_length(msgs);
	for (i = 0; i < len; i++) {
		m = json_object_array_get_idx(msgs, i);
		n += TOK_MESSAGE;
		if (json_object_is_type(m, json_type_object))
			n += tok_blocks(json_object_object_get(m, "content"));
		else
			n += tok_json(m);
	}
	return n;
}

int64_t
tokens_estimate_request(json_object *req)
{
	json_object	*v;
	int64_t		 n = TOK_REQUEST;

	if (!json_object_is_type(req, json_type_object))
		return 0;
	if (json_object_object_get_ex(req, "system", &v) && v != NULL)
		n += TOK_MESSAGE + tok_blocks(v);
	if (json_object_object_get_ex(req, "tools", &v) && v != NULL)
		n += tok_tools(v);
	if (json_object_object_get_ex(req, "messages", &v) && v != NULL)
		n += tok_messages(v);
	return n;
}
