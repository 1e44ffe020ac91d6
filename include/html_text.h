/*
 * html_text: a fetched HTML page as readable text, through libxml2's
 * HTML parser.
 */
#ifndef CP_HTML_TEXT_H
#define CP_HTML_TEXT_H

#include <stddef.h>

#include "buf.h"

/*
 * text gets the page's readable text (UTF-8): no script, style, head or
 * other invisible content; block elements start new lines, paragraphs
 * and headings are separated by a blank line, list items start with
 * "- ", table cells are separated by " | ", whitespace is collapsed
 * except inside <pre>. title gets the <title>, whitespace collapsed
 * (empty when there is none). charset is the HTTP header's, or NULL to
 * let the parser find it (BOM, <meta>). A link's text is followed by
 * " (URL)": its http(s) href made absolute against url (the page's, or
 * NULL) or the page's <base href>, unless the text is that URL. -1 when
 * out of memory or the parser gives up; text and title are then empty.
 */
int	 html_text(const char *html, size_t len, const char *charset,
	    const char *url, struct buf *text, struct buf *title);

#endif
