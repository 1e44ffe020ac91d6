/*
 * blocktext.c: content blocks without a Chat Completions part, as text.
 *
 * A conversation that began on Anthropic's API carries blocks no OpenAI
 * upstream knows: search results a client passed in, the server tools
 * Anthropic ran (web search and fetch) and what they returned, the
 * tool_reference blocks by which tool search loads a tool. Dropping them
 * leaves the model answering about results it cannot see, so each becomes
 * text in the message it was part of: what was searched or fetched,
 * titles and URLs, the text of a result, which tool was loaded.
 *
 * Promises: nothing is validated here (xlate_req has already said what it
 * requires); a member of the wrong shape is left out of the text. A
 * server_tool_use's input is only serialised, never read, because the
 * request parser may keep tool inputs as text (xlate_req_opaque). Fails
 * only when memory runs out (-1).
 */
#include <string.h>

#include <json-c/json.h>

#include "blocktext.h"
#include "buf.h"

/* o[key] when it is a non-empty string, else NULL */
static const char *
bt_str(json_object *o, const char *key)
{
	json_object	*v;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0)
		return NULL;
	return json_object_get_string(v);
}

static json_object *
bt_member(json_object *o, const char *key, json_type t)
{
	json_object	*v;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, t))
		return NULL;
	return v;
}

/* "prefix: s\n" when s is there */
static int
bt_line(struct buf *out, const char *prefix, const char *s)
{
	if (s == NULL)
		return 0;
	return buf_printf(out, "%s%s\n", prefix, s);
}

/* the text blocks of an array, each after a blank line */
static int
bt_texts(struct buf *out, json_object *arr)
{
	size_t		 i, n;
	const char	*t;

	if (arr == NULL)
		return 0;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		t = bt_str(json_object_array_get_idx(arr, i), "text");
		if (t != NULL && buf_printf(out, "\n%s\n", t) == -1)
			return -1;
	}
	return 0;
}

/* {"type":"search_result","source","title","content":[text blocks]} */
static int
bt_search_result(json_object *b, struct buf *out)
{
	if (buf_puts(out, "[search result]\n") == -1 ||
	    bt_line(out, "Title: ", bt_str(b, "title")) == -1 ||
	    bt_line(out, "Source: ", bt_str(b, "source")) == -1 ||
	    bt_texts(out, bt_member(b, "content", json_type_array)) == -1)
		return -1;
	return 0;
}

/* a tool that tool search loaded: the tool itself now goes upstream
 * among the request's tools (xlate_req), this tells the model so */
static int
bt_tool_reference(json_object *b, struct buf *out)
{
	const char	*name = bt_str(b, "tool_name");

	return buf_printf(out, "Tool %s loaded; it can now be called.\n",
	    name != NULL ? name : "(unnamed)");
}

/* the call Anthropic's server ran: its name and input, as the model
 * made them; the input is serialised, never read (see the top) */
static int
bt_server_tool_use(json_object *b, struct buf *out)
{
	const char	*name = bt_str(b, "name"), *args = "{}";
	json_object	*input = bt_member(b, "input", json_type_object);

	if (input != NULL && (args = json_object_to_json_string_ext(input,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) == NULL)
		return -1;
	return buf_printf(out, "[server tool call] %s %s\n",
	    name != NULL ? name : "(unnamed)", args);
}

/* an error result: {"type":"..._error","error_code":"..."} */
static int
bt_server_error(json_object *c, const char *what, struct buf *out)
{
	const char	*code = bt_str(c, "error_code");

	return buf_printf(out, "[%s failed: %s]\n", what,
	    code != NULL ? code : "unknown error");
}

/* web search results: numbered titles and URLs (their page text is
 * encrypted for Anthropic's models and means nothing elsewhere) */
static int
bt_web_search_result(json_object *b, struct buf *out)
{
	json_object	*c, *r;
	const char	*title, *url, *age;
	size_t		 i, n;

	if ((c = bt_member(b, "content", json_type_array)) == NULL)
		return bt_server_error(bt_member(b, "content",
		    json_type_object), "web search", out);
	n = json_object_array_length(c);
	if (buf_puts(out, n > 0 ? "[web search results]\n" :
	    "[web search: no results]\n") == -1)
		return -1;
	for (i = 0; i < n; i++) {
		r = json_object_array_get_idx(c, i);
		title = bt_str(r, "title");
		url = bt_str(r, "url");
		age = bt_str(r, "page_age");
		if (buf_printf(out, "%zu. %s\n", i + 1,
		    title != NULL ? title : "(untitled)") == -1 ||
		    bt_line(out, "   ", url) == -1 ||
		    bt_line(out, "   Page age: ", age) == -1)
			return -1;
	}
	return 0;
}

/* a fetched page: its URL, title and text (a PDF's bytes are left out) */
static int
bt_web_fetch_result(json_object *b, struct buf *out)
{
	json_object	*c, *doc, *src;
	const char	*type, *data = NULL;

	if ((c = bt_member(b, "content", json_type_object)) == NULL)
		return buf_puts(out, "[web fetch: no content]\n");
	type = bt_str(c, "type");
	if (type != NULL && strcmp(type, "web_fetch_result") != 0)
		return bt_server_error(c, "web fetch", out);
	doc = bt_member(c, "content", json_type_object);
	src = bt_member(doc, "source", json_type_object);
	if ((type = bt_str(src, "type")) != NULL && strcmp(type, "text") == 0)
		data = bt_str(src, "data");
	if (buf_puts(out, "[web fetch result]\n") == -1 ||
	    bt_line(out, "URL: ", bt_str(c, "url")) == -1 ||
	    bt_line(out, "Title: ", bt_str(doc, "title")) == -1)
		return -1;
	if (data != NULL)
		return buf_printf(out, "\n%s\n", data);
	return buf_puts(out, src != NULL ? "(the document is not text)\n" :
	    "");
}

int
blocktext_render(json_object *b, const char *type, struct buf *out)
{
	static const struct {
		const char	*type;
		int		(*render)(json_object *, struct buf *);
	} renderers[] = {
		{ "search_result", bt_search_result },
		{ "tool_reference", bt_tool_reference },
		{ "server_tool_use", bt_server_tool_use },
		{ "web_search_tool_result", bt_web_search_result },
		{ "web_fetch_tool_result", bt_web_fetch_result },
	};
	size_t	 i, before = out->len;

	for (i = 0; i < sizeof(renderers) / sizeof(renderers[0]); i++) {
		if (strcmp(type, renderers[i].type) != 0)
			continue;
		if (renderers[i].render(b, out) == -1)
			return -1;
		/* one block's text ends without the newline */
		if (out->len > before && out->data[out->len - 1] == '\n')
			out->data[--out->len] = '\0';
		return 1;
	}
	return 0;
}
