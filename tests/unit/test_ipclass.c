/*
 * test_ipclass: every range the fetcher refuses, its edges, and the IPv6
 * forms that carry an IPv4 address.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include "ipclass.h"
#include "tap.h"

static const struct {
	const char	*addr;
	enum ipclass	 class;
} cases[] = {
	/* IPv4: each range, its first and last address, and the neighbours */
	{ "0.0.0.0", IPCLASS_UNSPECIFIED },
	{ "0.255.255.255", IPCLASS_UNSPECIFIED },
	{ "1.0.0.0", IPCLASS_PUBLIC },
	{ "9.255.255.255", IPCLASS_PUBLIC },
	{ "10.0.0.0", IPCLASS_PRIVATE },
	{ "10.255.255.255", IPCLASS_PRIVATE },
	{ "11.0.0.0", IPCLASS_PUBLIC },
	{ "100.63.255.255", IPCLASS_PUBLIC },
	{ "100.64.0.0", IPCLASS_SHARED },
	{ "100.100.100.200", IPCLASS_SHARED },	/* Alibaba metadata */
	{ "100.127.255.255", IPCLASS_SHARED },
	{ "100.128.0.0", IPCLASS_PUBLIC },
	{ "126.255.255.255", IPCLASS_PUBLIC },
	{ "127.0.0.0", IPCLASS_LOOPBACK },
	{ "127.0.0.1", IPCLASS_LOOPBACK },
	{ "127.255.255.255", IPCLASS_LOOPBACK },
	{ "128.0.0.0", IPCLASS_PUBLIC },
	{ "168.63.129.15", IPCLASS_PUBLIC },
	{ "168.63.129.16", IPCLASS_METADATA },	/* Azure wireserver */
	{ "168.63.129.17", IPCLASS_PUBLIC },
	{ "169.253.255.255", IPCLASS_PUBLIC },
	{ "169.254.0.0", IPCLASS_LINK_LOCAL },
	{ "169.254.169.254", IPCLASS_LINK_LOCAL },	/* AWS, GCP metadata */
	{ "169.254.255.255", IPCLASS_LINK_LOCAL },
	{ "169.255.0.0", IPCLASS_PUBLIC },
	{ "172.15.255.255", IPCLASS_PUBLIC },
	{ "172.16.0.0", IPCLASS_PRIVATE },
	{ "172.31.255.255", IPCLASS_PRIVATE },
	{ "172.32.0.0", IPCLASS_PUBLIC },
	{ "192.0.0.0", IPCLASS_RESERVED },
	{ "192.0.0.192", IPCLASS_RESERVED },	/* Oracle Cloud metadata */
	{ "192.0.0.255", IPCLASS_RESERVED },
	{ "192.0.1.0", IPCLASS_PUBLIC },
	{ "192.0.2.1", IPCLASS_RESERVED },
	{ "192.88.99.1", IPCLASS_RESERVED },
	{ "192.167.255.255", IPCLASS_PUBLIC },
	{ "192.168.0.0", IPCLASS_PRIVATE },
	{ "192.168.255.255", IPCLASS_PRIVATE },
	{ "192.169.0.0", IPCLASS_PUBLIC },
	{ "198.17.255.255", IPCLASS_PUBLIC },
	{ "198.18.0.0", IPCLASS_RESERVED },
	{ "198.19.255.255", IPCLASS_RESERVED },
	{ "198.20.0.0", IPCLASS_PUBLIC },
	{ "198.51.100.7", IPCLASS_RESERVED },
	{ "203.0.113.9", IPCLASS_RESERVED },
	{ "8.8.8.8", IPCLASS_PUBLIC },
	{ "223.255.255.255", IPCLASS_PUBLIC },
	{ "224.0.0.0", IPCLASS_MULTICAST },
	{ "239.255.255.255", IPCLASS_MULTICAST },
	{ "240.0.0.0", IPCLASS_RESERVED },
	{ "255.255.255.255", IPCLASS_RESERVED },
	/* IPv6 */
	{ "::", IPCLASS_UNSPECIFIED },
	{ "::1", IPCLASS_LOOPBACK },
	{ "::2", IPCLASS_RESERVED },
	{ "::7f00:1", IPCLASS_RESERVED },	/* IPv4-compatible, deprecated */
	{ "::ffff:127.0.0.1", IPCLASS_LOOPBACK },
	{ "::ffff:10.1.2.3", IPCLASS_PRIVATE },
	{ "::ffff:169.254.169.254", IPCLASS_LINK_LOCAL },
	{ "::ffff:0.0.0.0", IPCLASS_UNSPECIFIED },
	{ "::ffff:8.8.8.8", IPCLASS_PUBLIC },
	{ "64:ff9b::127.0.0.1", IPCLASS_LOOPBACK },	/* NAT64 */
	{ "64:ff9b::8.8.8.8", IPCLASS_PUBLIC },
	{ "64:ff9b:1::1", IPCLASS_PRIVATE },
	{ "100::1", IPCLASS_RESERVED },
	{ "2001::1", IPCLASS_RESERVED },		/* Teredo */
	{ "2001:1ff:ffff::1", IPCLASS_RESERVED },
	{ "2001:200::1", IPCLASS_PUBLIC },
	{ "2001:db8::1", IPCLASS_RESERVED },
	{ "2002:7f00:1::1", IPCLASS_LOOPBACK },		/* 6to4 of 127.0.0.1 */
	{ "2002:a9fe:a9fe::", IPCLASS_LINK_LOCAL },	/* 6to4 of metadata */
	{ "2002:808:808::1", IPCLASS_PUBLIC },
	{ "2606:4700::1111", IPCLASS_PUBLIC },
	{ "3fff::1", IPCLASS_RESERVED },
	{ "5f00::1", IPCLASS_RESERVED },
	{ "4000::1", IPCLASS_RESERVED },		/* not 2000::/3 */
	{ "1fff:ffff::1", IPCLASS_RESERVED },
	{ "fbff::1", IPCLASS_RESERVED },
	{ "fc00::1", IPCLASS_PRIVATE },
	{ "fd00:ec2::254", IPCLASS_PRIVATE },		/* AWS metadata v6 */
	{ "fdff:ffff::1", IPCLASS_PRIVATE },
	{ "fe80::1", IPCLASS_LINK_LOCAL },
	{ "febf:ffff::1", IPCLASS_LINK_LOCAL },
	{ "fec0::1", IPCLASS_PRIVATE },
	{ "ff02::1", IPCLASS_MULTICAST },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", IPCLASS_MULTICAST },
};

static int
classify(const char *text, enum ipclass *out)
{
	struct sockaddr_in	 in4;
	struct sockaddr_in6	 in6;

	memset(&in4, 0, sizeof(in4));
	memset(&in6, 0, sizeof(in6));
	if (inet_pton(AF_INET, text, &in4.sin_addr) == 1) {
		in4.sin_family = AF_INET;
		*out = ipclass_of((struct sockaddr *)&in4);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &in6.sin6_addr) == 1) {
		in6.sin6_family = AF_INET6;
		*out = ipclass_of((struct sockaddr *)&in6);
		return 0;
	}
	return -1;
}

int
main(void)
{
	struct sockaddr	 other;
	enum ipclass	 c;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (classify(cases[i].addr, &c) == -1) {
			ok(0, "%s parses", cases[i].addr);
			continue;
		}
		ok(c == cases[i].class, "%s is %s", cases[i].addr,
		    ipclass_name(cases[i].class));
		if (c != cases[i].class)
			printf("#   got %s\n", ipclass_name(c));
	}
	memset(&other, 0, sizeof(other));
	other.sa_family = AF_UNIX;
	ok(ipclass_of(&other) == IPCLASS_RESERVED,
	    "a family other than IPv4 and IPv6 is never public");
	is_str(ipclass_name(IPCLASS_LOOPBACK), "loopback", "names");
	return tap_done();
}
