/*
 * test_webseal: HMAC-SHA256 against RFC 4231's vectors, and sealed values:
 * they open under the key they were made with and under no other, and a
 * changed byte, another kind, bad base64 or an oversized payload is
 * refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "tap.h"
#include "webseal.h"

static void
hex(const uint8_t *d, size_t n, char *out)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void
rfc4231(void)
{
	uint8_t	 key[131], data[50], mac[32];
	char	 got[65];

	memset(key, 0x0b, 20);
	webseal_hmac(key, 20, "Hi There", 8, mac);
	hex(mac, 32, got);
	is_str(got, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
	    "RFC 4231 test case 1");
	webseal_hmac((const uint8_t *)"Jefe", 4, "what do ya want for nothing?",
	    28, mac);
	hex(mac, 32, got);
	is_str(got, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
	    "RFC 4231 test case 2");
	memset(key, 0xaa, 20);
	memset(data, 0xdd, 50);
	webseal_hmac(key, 20, data, 50, mac);
	hex(mac, 32, got);
	is_str(got, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
	    "RFC 4231 test case 3");
	memset(key, 0xaa, 131);
	webseal_hmac(key, 131, "Test Using Larger Than Block-Size Key - Hash "
	    "Key First", 54, mac);
	hex(mac, 32, got);
	is_str(got, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
	    "RFC 4231 test case 6 (a key longer than a block)");
}

static struct conf	 c1, c2;

static void
sealing(void)
{
	struct buf	 v = BUF_INITIALIZER, p = BUF_INITIALIZER;
	struct buf	 big = BUF_INITIALIZER;
	char		 bad[256];
	const char	*payload = "{\"u\":\"https://example.com/\",\"s\":\"é\"}";
	size_t		 i;
	int		 refused = 0;

	c1.ak = "inbound-key-one-0123";
	c2.ak = "inbound-key-two-4567";
	conf = &c1;
	ok(webseal_seal(&v, "cpr1", payload, strlen(payload)) == 0 &&
	    strncmp(v.data, "cpr1", 4) == 0, "sealed: %s", v.data);
	ok(strspn(v.data + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") == v.len - 4, "base64url, no padding");
	ok(webseal_open(v.data, v.len, "cpr1", &p) == 0 &&
	    strcmp(p.data, payload) == 0, "opens to its payload");
	ok(webseal_open(v.data, v.len, "cpi1", &p) == -1 && p.len == 0,
	    "not as another kind");
	/* every single-character change is refused */
	for (i = 4; i < v.len && i < sizeof(bad) - 1; i++) {
		snprintf(bad, sizeof(bad), "%s", v.data);
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		refused += webseal_open(bad, strlen(bad), "cpr1", &p) == -1;
	}
	is_int(refused, (long long)(v.len - 4), "a changed character anywhere is refused");
	ok(webseal_open(v.data, v.len - 1, "cpr1", &p) == -1, "cut short");
	ok(webseal_open("cpr1", 4, "cpr1", &p) == -1, "empty");
	ok(webseal_open("cpr1!!!!", 8, "cpr1", &p) == -1, "not base64url");
	ok(webseal_open("cpr1AAAA====", 12, "cpr1", &p) == -1, "padding");
	ok(webseal_open("garbage", 7, "cpr1", &p) == -1, "not ours");
	conf = &c2;
	ok(webseal_open(v.data, v.len, "cpr1", &p) == -1,
	    "not under another configuration's key");
	conf = &c1;
	ok(webseal_open(v.data, v.len, "cpr1", &p) == 0,
	    "again under its own (the key is derived, not random)");
	conf = NULL;
	buf_reset(&v);
	ok(webseal_seal(&v, "cpr1", payload, strlen(payload)) == 0 &&
	    webseal_open(v.data, v.len, "cpr1", &p) == 0,
	    "no configuration: a constant key still seals and opens");
	for (i = 0; i < WEBSEAL_MAX + 1; i++)
		buf_putc(&big, 'x');
	ok(webseal_seal(&v, "cpr1", big.data, big.len) == -1,
	    "a payload over WEBSEAL_MAX is refused");
	buf_free(&v);
	buf_free(&p);
	buf_free(&big);
}

int
main(void)
{
	rfc4231();
	sealing();
	return tap_done();
}
