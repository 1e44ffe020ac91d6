/*
 * ipclass.c: classify an address before the fetcher connects to it.
 *
 * The ranges are IANA's special-purpose registries (RFC 6890 and their
 * updates) plus the cloud metadata addresses that sit outside them. For
 * IPv6 the rule is strict: only global unicast (2000::/3) outside the
 * special ranges is public; everything IANA has not allocated is
 * reserved. IPv6 addresses that reach an IPv4 one (v4-mapped, NAT64's
 * well-known prefix, 6to4) are judged by that IPv4 address, so
 * ::ffff:127.0.0.1 is loopback.
 *
 * Promises: pure functions of the address, no allocation, no failure.
 */
#include <netinet/in.h>

#include <string.h>

#include "ipclass.h"

struct v4range {
	uint32_t	 net;
	int		 bits;
	enum ipclass	 class;
};

#define V4(a, b, c, d)	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | \
			 (uint32_t)(c) << 8 | (uint32_t)(d))

static const struct v4range v4ranges[] = {
	{ V4(0, 0, 0, 0), 8, IPCLASS_UNSPECIFIED },	/* "this network" */
	{ V4(10, 0, 0, 0), 8, IPCLASS_PRIVATE },
	{ V4(100, 64, 0, 0), 10, IPCLASS_SHARED },
	{ V4(127, 0, 0, 0), 8, IPCLASS_LOOPBACK },
	{ V4(169, 254, 0, 0), 16, IPCLASS_LINK_LOCAL },	/* 169.254.169.254 */
	{ V4(172, 16, 0, 0), 12, IPCLASS_PRIVATE },
	{ V4(192, 0, 0, 0), 24, IPCLASS_RESERVED },	/* IETF protocol */
	{ V4(192, 0, 2, 0), 24, IPCLASS_RESERVED },	/* TEST-NET-1 */
	{ V4(192, 31, 196, 0), 24, IPCLASS_RESERVED },	/* AS112 */
	{ V4(192, 52, 193, 0), 24, IPCLASS_RESERVED },	/* AMT */
	{ V4(192, 88, 99, 0), 24, IPCLASS_RESERVED },	/* 6to4 relay */
	{ V4(192, 168, 0, 0), 16, IPCLASS_PRIVATE },
	{ V4(192, 175, 48, 0), 24, IPCLASS_RESERVED },	/* AS112 */
	{ V4(198, 18, 0, 0), 15, IPCLASS_RESERVED },	/* benchmarking */
	{ V4(198, 51, 100, 0), 24, IPCLASS_RESERVED },	/* TEST-NET-2 */
	{ V4(203, 0, 113, 0), 24, IPCLASS_RESERVED },	/* TEST-NET-3 */
	{ V4(224, 0, 0, 0), 4, IPCLASS_MULTICAST },
	{ V4(240, 0, 0, 0), 4, IPCLASS_RESERVED },	/* and broadcast */
	/* Azure's platform endpoint (wireserver) is in public space */
	{ V4(168, 63, 129, 16), 32, IPCLASS_METADATA },
};

enum ipclass
ipclass_of_v4(uint32_t a)
{
	size_t	 i;
	uint32_t mask;

	for (i = 0; i < sizeof(v4ranges) / sizeof(v4ranges[0]); i++) {
		mask = v4ranges[i].bits == 0 ? 0 :
		    ~(uint32_t)0 << (32 - v4ranges[i].bits);
		if ((a & mask) == v4ranges[i].net)
			return v4ranges[i].class;
	}
	return IPCLASS_PUBLIC;
}

static uint32_t
v4_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* do the first bits of a equal those of prefix? */
static int
v6_in(const uint8_t a[16], const uint8_t prefix[16], int bits)
{
	int	 full = bits / 8, rest = bits % 8;

	if (memcmp(a, prefix, full) != 0)
		return 0;
	return rest == 0 ||
	    ((a[full] ^ prefix[full]) & (0xff << (8 - rest))) == 0;
}

struct v6range {
	uint8_t		 net[16];
	int		 bits;
	enum ipclass	 class;
};

static const struct v6range v6ranges[] = {
	{ { 0x01, 0x00 }, 64, IPCLASS_RESERVED },	/* 100::/64 discard */
	{ { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 }, 48,
	    IPCLASS_PRIVATE },				/* local NAT64 */
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32, IPCLASS_RESERVED }, /* docs */
	{ { 0x20, 0x01, 0x00, 0x00 }, 23, IPCLASS_RESERVED }, /* IETF,
							 * Teredo, ORCHID */
	{ { 0x3f, 0xff }, 20, IPCLASS_RESERVED },	/* docs (RFC 9637) */
	{ { 0x5f, 0x00 }, 16, IPCLASS_RESERVED },	/* SRv6 SIDs */
	{ { 0xfc }, 7, IPCLASS_PRIVATE },		/* unique local */
	{ { 0xfe, 0x80 }, 10, IPCLASS_LINK_LOCAL },
	{ { 0xfe, 0xc0 }, 10, IPCLASS_PRIVATE },	/* old site-local */
	{ { 0xff }, 8, IPCLASS_MULTICAST },
};

enum ipclass
ipclass_of_v6(const uint8_t a[16])
{
	static const uint8_t zero[16], mapped[12] = { [10] = 0xff,
	    [11] = 0xff }, nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
	static const uint8_t sixto4[2] = { 0x20, 0x02 };
	size_t	 i;

	if (memcmp(a, zero, 15) == 0)
		return a[15] == 1 ? IPCLASS_LOOPBACK :
		    a[15] == 0 ? IPCLASS_UNSPECIFIED : IPCLASS_RESERVED;
	if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
		return ipclass_of_v4(v4_at(a + 12));
	if (memcmp(a, sixto4, 2) == 0)
		return ipclass_of_v4(v4_at(a + 2));
	for (i = 0; i < sizeof(v6ranges) / sizeof(v6ranges[0]); i++)
		if (v6_in(a, v6ranges[i].net, v6ranges[i].bits))
			return v6ranges[i].class;
	/* outside 2000::/3 nothing is allocated for unicast: ::/96
	 * (IPv4-compatible), 400::/6 ... */
	if ((a[0] & 0xe0) != 0x20)
		return IPCLASS_RESERVED;
	return IPCLASS_PUBLIC;
}

enum ipclass
ipclass_of(const struct sockaddr *sa)
{
	const struct sockaddr_in	*in4;
	const struct sockaddr_in6	*in6;

	if (sa->sa_family == AF_INET) {
		in4 = (const struct sockaddr_in *)(const void *)sa;
		return ipclass_of_v4(ntohl(in4->sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6) {
		in6 = (const struct sockaddr_in6 *)(const void *)sa;
		return ipclass_of_v6(in6->sin6_addr.s6_addr);
	}
	return IPCLASS_RESERVED;
}

const char *
ipclass_name(enum ipclass c)
{
	switch (c) {
	case IPCLASS_PUBLIC:		return "public";
	case IPCLASS_UNSPECIFIED:	return "unspecified";
	case IPCLASS_LOOPBACK:		return "loopback";
	case IPCLASS_PRIVATE:		return "private";
	case IPCLASS_SHARED:		return "shared (CGNAT)";
	case IPCLASS_LINK_LOCAL:	return "link-local";
	case IPCLASS_METADATA:		return "cloud metadata";
	case IPCLASS_MULTICAST:		return "multicast";
	case IPCLASS_RESERVED:		return "reserved";
	}
	return "reserved";
}
