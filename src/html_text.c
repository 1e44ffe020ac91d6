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
 * Promises: text and title are NUL-terminated UTF-8 (libxml2's output)
 * with no trailing whitespace; -1 leaves both empty.
 */
#include <limits.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

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
};

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
		if (n->type == XML_ELEMENT_NODE && sh != SKIP)
			leave(o, sh);
		/* up until there is a next sibling, closing elements */
		while (n != root && n->next == NULL) {
			n = n->parent;
			if (n == NULL)
				return;
			if (n->type == XML_ELEMENT_NODE)
				leave(o, shape_of(n));
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

int
html_text(const char *html, size_t len, const char *charset,
    struct buf *text_out, struct buf *title)
{
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
	if (root != NULL) {
		walk(&o, root);
		if ((t = find_title(root)) != NULL)
			title_text(t, title, &oom);
	}
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
