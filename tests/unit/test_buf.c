/* test_buf: growable buffers and log excerpts. */
#include <string.h>

#include "buf.h"
#include "util.h"
#include "tap.h"

int
main(void)
{
	struct buf	 b = BUF_INITIALIZER;
	char		 big[1000], id[40];
	size_t		 i;

	ok(buf_puts(&b, "hello") == 0, "puts");
	is_str(b.data, "hello", "content");
	buf_printf(&b, " %d", 42);
	is_str(b.data, "hello 42", "printf appends");
	buf_consume(&b, 6);
	is_str(b.data, "42", "consume drops the front");
	for (i = 0; i < 10000; i++)
		buf_putc(&b, 'x');
	is_int(b.len, 10002, "grows");
	buf_reset(&b);
	is_int(b.len, 0, "reset");
	is_str(b.data, "", "reset leaves empty string");

	memset(big, 'A', sizeof(big));
	buf_reset(&b);
	util_log_excerpt(&b, big, sizeof(big), 4096);
	is_str(b.data, "<base64 1000 bytes>", "base64 elided");
	buf_reset(&b);
	util_log_excerpt(&b, "a\nb\x01", 4, 4096);
	is_str(b.data, "a\\nb\\x01", "control characters escaped");
	buf_reset(&b);
	util_log_excerpt(&b, "hello world", 11, 5);
	is_str(b.data, "hello...(6 more bytes)", "cut at max");
	buf_free(&b);

	{
		static const struct { const char *s; size_t valid; } u8[] = {
			{ "plain", 5 }, { "caf\xc3\xa9", 5 },
			{ "\xe2\x82\xac", 3 }, { "\xf0\x9f\x98\x80", 4 },
			{ "a\xc0\xaf", 1 },		/* overlong '/' */
			{ "\xe0\x80\xaf", 0 },		/* overlong, 3 bytes */
			{ "x\xed\xa0\x80", 1 },		/* surrogate */
			{ "\xf4\x90\x80\x80", 0 },	/* above U+10FFFF */
			{ "\xf5\x80\x80\x80", 0 },
			{ "ab\xc3", 2 },			/* truncated */
			{ "\x80", 0 },			/* lone continuation */
			{ "\xf4\x8f\xbf\xbf", 4 },	/* U+10FFFF itself */
		};
		size_t k;
		for (k = 0; k < sizeof(u8) / sizeof(u8[0]); k++)
			is_int(util_utf8_check(u8[k].s, strlen(u8[k].s)),
			    u8[k].valid, "utf8 case %zu", k);
	}

	util_random_id(id, sizeof(id), "msg_", 24);
	is_int(strlen(id), 28, "random id length");
	ok(strncmp(id, "msg_", 4) == 0, "random id prefix");
	return tap_done();
}
