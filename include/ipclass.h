/*
 * ipclass: what kind of address an IPv4 or IPv6 address is, so that the
 * fetcher connects only to public ones (SSRF).
 */
#ifndef CP_IPCLASS_H
#define CP_IPCLASS_H

#include <sys/socket.h>

#include <stdint.h>

enum ipclass {
	IPCLASS_PUBLIC,		/* global unicast */
	IPCLASS_UNSPECIFIED,	/* 0.0.0.0/8, :: */
	IPCLASS_LOOPBACK,	/* 127.0.0.0/8, ::1 */
	IPCLASS_PRIVATE,	/* RFC 1918, fc00::/7, fec0::/10 */
	IPCLASS_SHARED,		/* 100.64.0.0/10 (carrier-grade NAT) */
	IPCLASS_LINK_LOCAL,	/* 169.254.0.0/16, fe80::/10 */
	IPCLASS_METADATA,	/* cloud metadata outside those ranges */
	IPCLASS_MULTICAST,	/* 224.0.0.0/4, ff00::/8 */
	IPCLASS_RESERVED	/* documentation, benchmarking, future use,
				 * broadcast, not global unicast (v6) */
};

/* AF_INET or AF_INET6; anything else is IPCLASS_RESERVED. IPv6 forms that
 * carry an IPv4 address (v4-mapped, NAT64 64:ff9b::/96, 6to4) are the class
 * of that IPv4 address. */
enum ipclass	 ipclass_of(const struct sockaddr *);
enum ipclass	 ipclass_of_v4(uint32_t host_order);
enum ipclass	 ipclass_of_v6(const uint8_t addr[16]);
const char	*ipclass_name(enum ipclass);	/* "loopback", ... */

#endif
