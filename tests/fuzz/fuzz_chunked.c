/*
 * fuzz_chunked: http_parse_chunked on arbitrary bytes, whole and in pieces.
 *
 * The input is a chunked body (maybe followed by the next request). It is
 * decoded twice: in one call, and in pieces the way http_conn reads it
 * (each piece appended right after the data decoded so far and decoded in
 * place there). Both buffers are exactly sized heap copies, so ASan sees
 * a read or write past them. Checks: the decoded length and the bytes
 * left over stay inside the input, ch.total counts the decoded bytes, and
 * the split changes nothing: same verdict, same data, same bytes after
 * the body.
 */
#include <string.h>

#include "fuzz.h"
#include "http_parse.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct http_chunked	 ch1, ch2;
	char			*whole, *piece;
	size_t			 n1, blen, pos, k, m, rest;
	ssize_t			 r1, r2;
	uint64_t		 seed;

	if (len == 0)
		return 0;
	whole = malloc(len);
	piece = malloc(len);
	if (whole == NULL || piece == NULL)
		abort();

	/* all at once */
	memcpy(whole, data, len);
	memset(&ch1, 0, sizeof(ch1));
	n1 = len;
	r1 = http_parse_chunked(&ch1, whole, &n1);
	FUZZ_CHECK(r1 >= -2, "odd return %zd", r1);
	if (r1 != -1) {
		FUZZ_CHECK(n1 <= len, "decoded %zu of %zu", n1, len);
		FUZZ_CHECK(ch1.total == n1, "total %zu, decoded %zu",
		    ch1.total, n1);
	}
	if (r1 >= 0)
		FUZZ_CHECK((size_t)r1 <= len - n1, "%zd left after %zu of %zu",
		    r1, n1, len);

	/* in pieces, as http_conn feeds it */
	seed = fuzz_seed(data, len);
	memset(&ch2, 0, sizeof(ch2));
	blen = pos = 0;
	r2 = -2;
	while (pos < len) {
		k = fuzz_piece(&seed, len - pos);
		memcpy(piece + blen, data + pos, k);
		m = k;
		r2 = http_parse_chunked(&ch2, piece + blen, &m);
		pos += k;
		if (r2 == -1)
			break;
		FUZZ_CHECK(m <= k, "piece of %zu decoded to %zu", k, m);
		if (r2 >= 0)
			FUZZ_CHECK((size_t)r2 <= k - m, "%zd left after %zu "
			    "of %zu", r2, m, k);
		blen += m;
		if (r2 >= 0)
			break;
	}

	FUZZ_CHECK((r1 >= 0) == (r2 >= 0) && (r1 < 0 ? r1 == r2 : 1),
	    "whole: %zd, in pieces: %zd", r1, r2);
	if (r1 != -1) {
		FUZZ_CHECK(blen == n1 && ch2.total == n1,
		    "decoded %zu whole, %zu in pieces", n1, blen);
		FUZZ_CHECK(memcmp(whole, piece, n1) == 0, "decoded data "
		    "differs");
	}
	if (r1 >= 0) {
		/* left over: r2 bytes in place, then the pieces not read */
		rest = (size_t)r2 + (len - pos);
		FUZZ_CHECK(rest == (size_t)r1, "%zd bytes after the body "
		    "whole, %zu in pieces", r1, rest);
		FUZZ_CHECK(memcmp(whole + n1, piece + blen, (size_t)r2) == 0 &&
		    memcmp(whole + n1 + r2, data + pos, len - pos) == 0,
		    "bytes after the body differ");
	}
	free(whole);
	free(piece);
	return 0;
}
