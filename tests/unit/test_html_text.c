/*
 * test_html_text: pages shaped like the ones web_fetch meets (an article
 * with navigation, scripts and tables; a legacy Latin-1 page; broken and
 * truncated markup; absurd nesting) come out as readable text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "html_text.h"
#include "tap.h"

static struct buf	 text, title;

static int
run(const char *html, const char *charset)
{
	return html_text(html, strlen(html), charset, NULL, &text, &title);
}

static void
test_article(void)
{
	static const char page[] =
	    "<!DOCTYPE html>\n<html lang=\"en\"><head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<title>\n  Claude Shannon &ndash;\n  Wikipedia </title>\n"
	    "<style>body { color: red }</style>\n"
	    "<script>var secret = \"do not show\";</script>\n"
	    "<link rel=stylesheet href=/x.css>\n"
	    "</head>\n<body>\n"
	    "<nav><ul><li><a href=\"/\">Home</a></li>"
	    "<li><a href=\"/about\">About</a></li></ul></nav>\n"
	    "<main><article>\n"
	    "<h1>Claude   Shannon</h1>\n"
	    "<p>Claude Elwood Shannon (April 30, 1916 &ndash; February 24, "
	    "2001) was an <a href=\"/wiki/Mathematician\">American "
	    "mathematician</a>,\n   electrical engineer &amp; "
	    "<em>cryptographer</em>.</p>\n"
	    "<p>Known as the&nbsp;father of <b>information theory</b>.</p>\n"
	    "<script>document.write('no')</script>"
	    "<noscript>Enable JavaScript</noscript>\n"
	    "<h2>Works</h2>\n<ul>\n  <li>A Mathematical Theory of "
	    "Communication</li>\n  <li><p>Communication Theory of Secrecy "
	    "Systems</p></li>\n</ul>\n"
	    "<table><tr><th>Year</th><th>Award</th></tr>"
	    "<tr><td>1966</td><td>National Medal of Science</td></tr>"
	    "</table>\n"
	    "<pre>int main(void)\n{\n    return 0;\n}</pre>\n"
	    "<p>Line one<br>Line two</p>\n"
	    "<div hidden>Hidden text</div><template><p>Tmpl</p></template>"
	    "<svg><text>svg text</text></svg>\n"
	    "</article></main>\n<footer>&copy; 2025 Example</footer>\n"
	    "</body></html>\n";
	static const char want[] =
	    "- Home\n"
	    "- About\n\n"
	    "Claude Shannon\n\n"
	    "Claude Elwood Shannon (April 30, 1916 \xe2\x80\x93 February 24, "
	    "2001) was an American mathematician, electrical engineer & "
	    "cryptographer.\n\n"
	    "Known as the father of information theory.\n\n"
	    "Works\n\n"
	    "- A Mathematical Theory of Communication\n\n"	/* <li><p> */
	    "- Communication Theory of Secrecy Systems\n\n"
	    "Year | Award\n"
	    "1966 | National Medal of Science\n\n"
	    "int main(void)\n{\n    return 0;\n}\n\n"
	    "Line one\nLine two\n\n"
	    "\xc2\xa9 2025 Example";

	ok(run(page, NULL) == 0, "an article page parses");
	is_str(text.data, want, "its readable text");
	is_str(title.data, "Claude Shannon \xe2\x80\x93 Wikipedia",
	    "its title, whitespace collapsed, entity decoded");
	ok(strstr(text.data, "secret") == NULL &&
	    strstr(text.data, "color") == NULL &&
	    strstr(text.data, "JavaScript") == NULL &&
	    strstr(text.data, "Hidden") == NULL &&
	    strstr(text.data, "Tmpl") == NULL &&
	    strstr(text.data, "svg") == NULL, "nothing invisible leaks in");
}

static void
test_charsets(void)
{
	/* "Café déjà vu" in ISO-8859-1 */
	static const char latin1[] = "<html><head><title>Caf\xe9</title>"
	    "</head><body><p>Caf\xe9 d\xe9j\xe0 vu</p></body></html>";
	static const char meta[] = "<html><head><meta http-equiv="
	    "\"Content-Type\" content=\"text/html; charset=iso-8859-1\">"
	    "</head><body>na\xefve</body></html>";

	ok(run(latin1, "ISO-8859-1") == 0, "Latin-1 with the header's charset");
	is_str(text.data, "Caf\xc3\xa9 d\xc3\xa9j\xc3\xa0 vu", "now UTF-8");
	is_str(title.data, "Caf\xc3\xa9", "title in UTF-8");
	ok(run(meta, NULL) == 0, "charset from <meta>");
	is_str(text.data, "na\xc3\xafve", "decoded by the meta charset");
	ok(run(latin1, "x-no-such-charset") == 0,
	    "an unknown charset name falls back to detection");
	ok(text.len > 0, "and still gives text");
}

static void
test_broken(void)
{
	ok(run("<p>one<p>two<li>three</div></span><p>four", NULL) == 0,
	    "unclosed and stray tags");
	is_str(text.data, "one\n\ntwo\n\n- three\n\nfour",
	    "recovered as a browser would");
	ok(run("<html><body><h1>Title</h1><p>cut in the mid", NULL) == 0,
	    "a page cut in the middle of text");
	is_str(text.data, "Title\n\ncut in the mid", "keeps what came");
	ok(run("<p>before</p><a href=\"http://x", NULL) == 0,
	    "a page cut inside a tag");
	is_str(text.data, "before", "keeps what came before the tag");
	ok(run("just text, no tags", NULL) == 0, "plain text");
	is_str(text.data, "just text, no tags", "passes");
	is_str(title.data, "", "no title");
	ok(run("", NULL) == 0, "empty input");
	is_str(text.data, "", "gives empty text");
	ok(run("<p>a<!-- comment -->b<?pi x?></p><![CDATA[c]]>", NULL) == 0,
	    "comments and processing instructions");
	ok(strstr(text.data, "comment") == NULL, "comments dropped");
}

static void
test_nesting(void)
{
	struct buf	 b = BUF_INITIALIZER;
	int		 i;

	for (i = 0; i < 100000; i++)
		buf_puts(&b, "<div><span>");
	buf_puts(&b, "deep");
	ok(b.data != NULL && html_text(b.data, b.len, NULL, NULL, &text, &title) !=
	    99, "100000 nested elements do not crash the walk");
	buf_free(&b);
}

/* links keep where they go, so a URL a page links to is in its text */
static void
test_links(void)
{
	ok(html_text("<p>See <a href=\"/docs/a?x=1\">the docs</a>, "
	    "<a href=\"https://other.example/b\">other</a> and "
	    "<a href=\"https://t.example/\">https://t.example/</a>.</p>",
	    strlen("<p>See <a href=\"/docs/a?x=1\">the docs</a>, "
	    "<a href=\"https://other.example/b\">other</a> and "
	    "<a href=\"https://t.example/\">https://t.example/</a>.</p>"),
	    NULL, "https://site.example/page/one", &text, &title) == 0,
	    "a page with links");
	is_str(text.data, "See the docs (https://site.example/docs/a?x=1), "
	    "other (https://other.example/b) and https://t.example/.",
	    "relative hrefs made absolute, a URL as text not repeated");
	ok(run("<p><a href=\"mailto:a@b.c\">mail</a> <a href=\"javascript:x()\">"
	    "js</a> <a href=\"#top\">top</a> <a href=\"/rel\">rel</a> "
	    "<a href=\"https://i.example/\"><img src=x></a></p>", NULL) == 0,
	    "links that go nowhere a fetch could");
	is_str(text.data, "mail js top rel",
	    "no mailto, javascript, fragment without a base, or empty text");
	ok(html_text("<html><head><base href=\"https://cdn.example/v2/\">"
	    "</head><body><a href=\"x.html\">x</a></body></html>",
	    strlen("<html><head><base href=\"https://cdn.example/v2/\">"
	    "</head><body><a href=\"x.html\">x</a></body></html>"), NULL,
	    "https://site.example/", &text, &title) == 0, "a <base href>");
	is_str(text.data, "x (https://cdn.example/v2/x.html)",
	    "resolved against the page's base");
}

int
main(void)
{
	test_article();
	test_charsets();
	test_broken();
	test_nesting();
	test_links();
	buf_free(&text);
	buf_free(&title);
	return tap_done();
}
