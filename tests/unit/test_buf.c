/* test_buf: growable buffers and log excerpts. */
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"
#include "tap.h"

/* the byte-at-a-time validator util_utf8_check had before its ASCII fast
 * path: the fast one must give the same answer for every input */
static size_t
utf8_reference(const unsigned char *s, size_t len)
{
	size_t		 i = 0, n, k;
	uint32_t	 cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 2; cp = s[i] & 0x1f; min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 3; cp = s[i] & 0x0f; min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 4; cp = s[i] & 0x07; min = 0x10000;
		} else
			return i;
		if (len - i < n)
			return i;
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return i;
		i += n;
	}
	return len;
}

/* the 8-byte ASCII fast path: sequences across word boundaries, a bad
 * byte at every offset, unaligned starts, and random bytes against the
 * reference */
static void
utf8_words(void)
{
	static const struct { const char *seq; int valid; } seqs[] = {
		{ "\xc3\xa9", 1 }, { "\xe2\x82\xac", 1 },
		{ "\xf0\x9f\x98\x80", 1 }, { "\xf4\x8f\xbf\xbf", 1 },
		{ "\x80", 0 }, { "\xff", 0 }, { "\xc0\xaf", 0 },
		{ "\xe0\x80\xaf", 0 }, { "\xed\xa0\x80", 0 },
		{ "\xf4\x90\x80\x80", 0 }, { "\xc3", 0 }, { "\xe2\x82", 0 },
	};
	unsigned char	 b[64], *u;
	unsigned char	 raw[40];
	size_t		 len, pos, k, sl, bad = 0, off;
	uint32_t	 x = 2463534242u;	/* xorshift32 */
	int		 r;

	/* each sequence at offsets 0..17 of 24 ASCII bytes: it sits in the
	 * first word, straddles the boundary at 8 or 16, or ends the tail */
	for (k = 0; k < sizeof(seqs) / sizeof(seqs[0]); k++) {
		sl = strlen(seqs[k].seq);
		for (pos = 0; pos <= 17; pos++) {
			len = 24;
			memset(b, 'a', len);
			memcpy(b + pos, seqs[k].seq, sl);
			if (utf8_reference(b, len) != util_utf8_check((char *)b,
			    len) || util_utf8_check((char *)b, len) !=
			    (seqs[k].valid ? len : pos))
				bad++;
			/* cut right after it: a truncated tail or exact end */
			len = pos + sl;
			if (util_utf8_check((char *)b, len) !=
			    (seqs[k].valid ? len : pos) ||
			    util_utf8_check((char *)b, len) !=
			    utf8_reference(b, len))
				bad++;
		}
	}
	is_int(bad, 0, "utf8: sequences at offsets 0..17, across words");

	/* one bad byte at every position 0..17 of otherwise ASCII input,
	 * for buffer lengths around the word size, from unaligned starts */
	bad = 0;
	for (off = 0; off < 8; off++) {
		u = raw + off;
		for (len = 1; len <= 26; len++) {
			for (pos = 0; pos < len && pos <= 17; pos++) {
				memset(u, 'x', len);
				u[pos] = 0x80;
				if (util_utf8_check((char *)u, len) != pos)
					bad++;
			}
			memset(u, 'x', len);
			if (util_utf8_check((char *)u, len) != len)
				bad++;
		}
	}
	is_int(bad, 0, "utf8: a bad byte at each position 0..17, any alignment");

	/* random: mostly ASCII, some valid sequences, some stray high
	 * bytes, so both paths and every way out of the fast one run */
	bad = 0;
	for (k = 0; k < 200000; k++) {
		len = k % 40;
		for (pos = 0; pos < len; ) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			r = (int)(x % 100);
			sl = strlen(seqs[(x >> 8) % 4].seq);
			if (r < 15 && pos + sl <= len) {
				memcpy(b + pos, seqs[(x >> 8) % 4].seq, sl);
				pos += sl;
			} else
				b[pos++] = r < 95 ?
				    (unsigned char)(0x20 + (x >> 8) % 0x5f) :
				    (unsigned char)(0x80 + (x >> 8) % 0x80);
		}
		if (util_utf8_check((char *)b, len) != utf8_reference(b, len))
			bad++;
	}
	is_int(bad, 0, "utf8: 200000 random buffers agree with the reference");
}

/* ids come from a pool of random bytes: a forked child must not hand out
 * what its parent will, and ids stay distinct and in the alphabet */
static void
random_ids(void)
{
	char	 a[40], b[40], ids[2000][25], small[8];
	int	 p[2], status, same = 0, alien = 0;
	pid_t	 pid;
	size_t	 i, j;

	util_random_id(a, sizeof(a), "", 24);		/* the pool is filled */
	if (pipe(p) == -1 || (pid = fork()) == -1) {
		ok(0, "pipe/fork");
		return;
	}
	if (pid == 0) {
		util_random_id(b, sizeof(b), "", 24);
		_exit(write(p[1], b, 25) == 25 ? 0 : 1);
	}
	util_random_id(a, sizeof(a), "", 24);
	memset(b, 0, sizeof(b));
	ok(read(p[0], b, 25) == 25 && waitpid(pid, &status, 0) == pid &&
	    WIFEXITED(status) && WEXITSTATUS(status) == 0, "child made an id");
	ok(strcmp(a, b) != 0, "a forked child's id differs from its parent's "
	    "next one (%s, %s)", a, b);
	close(p[0]);
	close(p[1]);

	/* 2000 ids span the pool's refills */
	for (i = 0; i < 2000; i++) {
		util_random_id(ids[i], sizeof(ids[i]), "", 24);
		alien += strspn(ids[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789") != 24;
	}
	for (i = 0; i < 2000; i++)
		for (j = i + 1; j < 2000; j++)
			same += strcmp(ids[i], ids[j]) == 0;
	is_int(alien, 0, "ids hold only [A-Za-z0-9]");
	is_int(same, 0, "2000 ids, all different");
	util_random_id(small, sizeof(small), "toolu_", 24);
	ok(strncmp(small, "toolu_", 6) == 0, "cut to the buffer: prefix kept");
	ok(strlen(small) == 7, "cut to the buffer: %zu chars", strlen(small));
}

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

	utf8_words();

	util_random_id(id, sizeof(id), "msg_", 24);
	is_int(strlen(id), 28, "random id length");
	ok(strncmp(id, "msg_", 4) == 0, "random id prefix");
	random_ids();
	return tap_done();
}
