/*
 * html_text.c: HTML -> readable text.
 *
 * libxml2's HTML parser (the well-kept one Debian ships) builds the tree,
 * recovering from broken markup as browsers do and decoding entities and
 * charsets into UTF-8; this file only walks the tree. The walk is
 * iterative (parent pointers), so a deeply nested page cannot exhaust the
 * stack, and the parser runs with NONET (no external entities or DTDs
 * fetched) and no error output. Fetched text is data for the model: it is
 * never interpreted here beyond the tree.
 *
 * A link keeps where it goes: after its text comes " (URL)", the href
 * made absolute against the page's URL (or its <base href>), when it is
 * an http or https URL other than the text itself; so a URL a page links
 * to is in the text the model reads, and counts as having appeared in the
 * conversation for a later web_fetch (srvhist_url_seen).
 *
 * Promises: text and title are NUL-terminated UTF-8 (libxml2's output)
 * with no trailing whitespace; -1 leaves both empty.
 */
#include <limits.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/uri.h>

#include "html_text.h"

/* how an element shapes the text around it */
enum shape { INLINE, SKIP, BLOCK, PARA, ITEM, CELL, ROW, BREAK, PRE };

static const struct {
	const char	*name;
	enum shape	 shape;
} shapes[] = {
	/* never visible */
	{ "head", SKIP }, { "script", SKIP }, { "style", SKIP },
	{ "noscript", SKIP }, { "template", SKIP }, { "svg", SKIP },
	{ "math", SKIP }, { "iframe", SKIP }, { "object", SKIP },
	{ "embed", SKIP }, { "canvas", SKIP }, { "select", SKIP },
	{ "datalist", SKIP }, { "audio", SKIP }, { "video", SKIP },
	{ "map", SKIP }, { "title", SKIP },
	/* a blank line around */
	{ "p", PARA }, { "h1", PARA }, { "h2", PARA }, { "h3", PARA },
	{ "h4", PARA }, { "h5", PARA }, { "h6", PARA },
	{ "blockquote", PARA }, { "table", PARA }, { "ul", PARA },
	{ "ol", PARA }, { "dl", PARA }, { "figure", PARA },
	{ "hr", PARA }, { "pre", PRE },
	/* a line of their own */
	{ "div", BLOCK }, { "section", BLOCK }, { "article", BLOCK },
	{ "main", BLOCK }, { "header", BLOCK }, { "footer", BLOCK },
	{ "nav", BLOCK }, { "aside", BLOCK }, { "address", BLOCK },
	{ "form", BLOCK }, { "fieldset", BLOCK }, { "details", BLOCK },
	{ "summary", BLOCK }, { "figcaption", BLOCK }, { "caption", BLOCK },
	{ "dt", BLOCK }, { "dd", BLOCK }, { "center", BLOCK },
	{ "body", BLOCK }, { "html", BLOCK }, { "legend", BLOCK },
	{ "li", ITEM }, { "tr", ROW }, { "td", CELL }, { "th", CELL },
	{ "br", BREAK },
};

struct out {
	struct buf	*b;
	int		 newlines;	/* owed before the next text: 0..2 */
	int		 space;		/* a space is owed */
	int		 cell;		/* a cell separator is owed */
	int		 bullet;	/* a list item's "- " is owed */
	int		 pre;		/* depth inside <pre> */
	int		 oom;
	const char	*base;		/* links resolve against it, or NULL */
	size_t		 link_start;	/* where the open <a>'s text began */
};

#define LINK_MAX	2048	/* a longer href is left out */

static enum shape
shape_of(const xmlNode *n)
{
	size_t	 i;

	if (xmlHasProp((xmlNode *)n, (const xmlChar *)"hidden") != NULL)
		return SKIP;
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		if (strcasecmp((const char *)n->name, shapes[i].name) == 0)
			return shapes[i].shape;
	return INLINE;
}

static void
owe_newlines(struct out *o, int n)
{
	if (o->newlines < n)
		o->newlines = n;
	o->space = o->cell = 0;
}

static void
put(struct out *o, const char *p, size_t len)
{
	if (buf_append(o->b, p, len) == -1)
		o->oom = 1;
}

/* what is owed, before a visible character */
static void
settle(struct out *o)
{
	if (o->b->len > 0) {
		if (o->newlines > 0)
			put(o, "\n\n", o->newlines);
		else if (o->cell)
			put(o, " | ", 3);
		else if (o->space)
			put(o, " ", 1);
	}
	if (o->bullet)
		put(o, "- ", 2);
	o->newlines = o->space = o->cell = o->bullet = 0;
}

static void
text(struct out *o, const char *s)
{
	size_t	 run;

	while (*s) {
		if (o->pre > 0) {
			run = strlen(s);
			settle(o);
			put(o, s, run);
			return;
		}
		/* ASCII whitespace and U+00A0 collapse into one space */
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' ||
		    *s == '\f') {
			o->space = 1;
			s++;
			continue;
		}
		if ((unsigned char)s[0] == 0xc2 && (unsigned char)s[1] == 0xa0) {
			o->space = 1;
			s += 2;
			continue;
		}
		run = strcspn(s, " \t\n\r\f\xc2");
		if (run == 0)
			run = 1;	/* a 0xc2 lead byte of another character */
		settle(o);
		put(o, s, run);
		s += run;
	}
}

static void
enter(struct out *o, enum shape sh)
{
	switch (sh) {
	case PARA:
		owe_newlines(o, 2);
		break;
	case PRE:
		owe_newlines(o, 2);
		o->pre++;
		break;
	case BLOCK:
	case ROW:
		owe_newlines(o, 1);
		break;
	case ITEM:
		owe_newlines(o, 1);
		o->bullet = 1;
		break;
	case CELL:
		if (o->newlines == 0 && o->b->len > 0)
			o->cell = 1;
		break;
	case BREAK:
		if (o->newlines < 2)
			o->newlines++;
		o->space = 0;
		break;
	default:
		break;
	}
}

static void
leave(struct out *o, enum shape sh)
{
	switch (sh) {
	case PARA:
		owe_newlines(o, 2);
		break;
	case PRE:
		o->pre--;
		owe_newlines(o, 2);
		break;
	case BLOCK:
	case ROW:
	case ITEM:
		owe_newlines(o, 1);
		break;
	default:
		break;
	}
}

static int
is_link(const xmlNode *n)
{
	return n->type == XML_ELEMENT_NODE &&
	    strcasecmp((const char *)n->name, "a") == 0;
}

/* the href of link n made absolute, if it is an http(s) URL; xmlFree it */
static xmlChar *
link_target(const struct out *o, xmlNode *n)
{
	xmlChar	*href, *abs;

	if ((href = xmlGetProp(n, (const xmlChar *)"href")) == NULL)
		return NULL;
	abs = xmlBuildURI(href, (const xmlChar *)(o->base != NULL ?
	    o->base : ""));
	xmlFree(href);
	if (abs == NULL)
		return NULL;
	if ((strncasecmp((const char *)abs, "http://", 7) != 0 &&
	    strncasecmp((const char *)abs, "https://", 8) != 0) ||
	    strlen((const char *)abs) > LINK_MAX ||
	    strpbrk((const char *)abs, " \t\r\n") != NULL) {
		xmlFree(abs);
		return NULL;
	}
	return abs;
}

/* after a link's text: where it goes, unless the text says it already */
static void
link_end(struct out *o, xmlNode *n)
{
	xmlChar	*url;
	size_t	 ulen;

	/* a link without text (an icon) says nothing to the model */
	if (o->pre > 0 || o->b->len <= o->link_start ||
	    (url = link_target(o, n)) == NULL)
		return;
	ulen = strlen((const char *)url);
	if (o->b->len - o->link_start != ulen ||
	    memcmp(o->b->data + o->link_start, url, ulen) != 0) {
		o->space = o->b->len > 0;
		settle(o);
		put(o, "(", 1);
		put(o, (const char *)url, ulen);
		put(o, ")", 1);
	}
	xmlFree(url);
}

/* depth-first over the tree without recursion */
static void
walk(struct out *o, xmlNode *root)
{
	xmlNode		*n = root;
	enum shape	 sh;

	while (n != NULL && !o->oom) {
		sh = SKIP;
		if (n->type == XML_ELEMENT_NODE) {
			sh = shape_of(n);
			if (sh != SKIP)
				enter(o, sh);
			if (is_link(n))
				o->link_start = o->b->len + (o->b->len > 0 &&
				    (o->space || o->newlines > 0 || o->cell));
		} else if (n->type == XML_TEXT_NODE ||
		    n->type == XML_CDATA_SECTION_NODE) {
			if (n->content != NULL)
				text(o, (const char *)n->content);
		}
		if (n->type == XML_ELEMENT_NODE && sh != SKIP &&
		    n->children != NULL) {
			n = n->children;
			continue;
		}
		if (n->type == XML_ELEMENT_NODE && sh != SKIP) {
			if (is_link(n))
				link_end(o, n);
			leave(o, sh);
		}
		/* up until there is a next sibling, closing elements */
		while (n != root && n->next == NULL) {
			n = n->parent;
			if (n == NULL)
				return;
			if (n->type == XML_ELEMENT_NODE) {
				if (is_link(n))
					link_end(o, n);
				leave(o, shape_of(n));
			}
		}
		if (n == root)
			return;
		n = n->next;
	}
}

/* the first <title> in document order */
static xmlNode *
find_title(xmlNode *n)
{
	xmlNode	*found;

	/* titles live near the top; a bounded depth keeps this cheap and
	 * the recursion shallow */
	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (strcasecmp((const char *)n->name, "title") == 0)
			return n;
		if ((strcasecmp((const char *)n->name, "html") == 0 ||
		    strcasecmp((const char *)n->name, "head") == 0) &&
		    (found = find_title(n->children)) != NULL)
			return found;
	}
	return NULL;
}

static void
title_text(xmlNode *t, struct buf *title, int *oom)
{
	struct out	 o;
	xmlNode		*c;

	memset(&o, 0, sizeof(o));
	o.b = title;
	for (c = t->children; c != NULL; c = c->next)
		if (c->type == XML_TEXT_NODE && c->content != NULL)
			text(&o, (const char *)c->content);
	*oom |= o.oom;
}

static void
trim(struct buf *b)
{
	while (b->len > 0 && (b->data[b->len - 1] == ' ' ||
	    b->data[b->len - 1] == '\n'))
		b->data[--b->len] = '\0';
}

static htmlDocPtr
parse(const char *html, size_t len, const char *charset)
{
	const int	 opts = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR |
	    HTML_PARSE_NOWARNING | HTML_PARSE_NONET | HTML_PARSE_COMPACT;
	htmlDocPtr	 doc = NULL;

	if (len > INT_MAX)
		len = INT_MAX;
	xmlInitParser();
	if (charset != NULL && *charset != '\0')
		doc = htmlReadMemory(html, (int)len, NULL, charset, opts);
	/* an encoding libxml2 does not know: let it guess */
	if (doc == NULL)
		doc = htmlReadMemory(html, (int)len, NULL, NULL, opts);
	return doc;
}

/* the document's <base href>, made absolute against url (xmlFree it) */
static xmlChar *
base_of(htmlDocPtr doc, const char *url)
{
	xmlNode	*n = xmlDocGetRootElement(doc), *h;
	xmlChar	*href, *abs = NULL;

	for (; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    strcasecmp((const char *)n->name, "html") == 0)
			break;
	for (h = n != NULL ? n->children : NULL; h != NULL; h = h->next)
		if (h->type == XML_ELEMENT_NODE &&
		    strcasecmp((const char *)h->name, "head") == 0)
			break;
	for (n = h != NULL ? h->children : NULL; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    strcasecmp((const char *)n->name, "base") == 0 &&
		    (href = xmlGetProp(n, (const xmlChar *)"href")) != NULL) {
			abs = xmlBuildURI(href, (const xmlChar *)(url != NULL ?
			    url : ""));
			xmlFree(href);
			break;
		}
	return abs;
}

int
html_text(const char *html, size_t len, const char *charset,
    const char *url, struct buf *text_out, struct buf *title)
{
	xmlChar		*base;
	struct out	 o;
	htmlDocPtr	 doc;
	xmlNode		*root, *t;
	int		 oom = 0;

	buf_reset(text_out);
	buf_reset(title);
	if (len == 0)
		return buf_puts(text_out, "") == -1 || buf_puts(title, "") ==
		    -1 ? -1 : 0;
	if ((doc = parse(html, len, charset)) == NULL)
		return -1;
	root = xmlDocGetRootElement(doc);
	memset(&o, 0, sizeof(o));
	o.b = text_out;
	base = base_of(doc, url);
	o.base = base != NULL ? (const char *)base : url;
	if (root != NULL) {
		walk(&o, root);
		if ((t = find_title(root)) != NULL)
			title_text(t, title, &oom);
	}
	xmlFree(base);
	xmlFreeDoc(doc);
	/* both are strings even when empty */
	if (o.oom || oom || buf_puts(text_out, "") == -1 ||
	    buf_puts(title, "") == -1) {
		buf_reset(text_out);
		buf_reset(title);
		return -1;
	}
	trim(text_out);
	trim(title);
	return 0;
}
