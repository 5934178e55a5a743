/*
 * Socket addresses between the app and the wire's ZT_SOCKADDR (proto.h), for AF_INET and AF_INET6
 * sockets, with the kernel's checks on the way in and its truncation on the way out (sockaddr.c).
 */
#ifndef ZTNC_SOCKADDR_H
#define ZTNC_SOCKADDR_H

#include <netinet/in.h>

#include "shim.h"

/* The shortest sockaddr_in6 the kernel takes: RFC 2133's, without sin6_scope_id. */
#define ZT_SIN6_LEN_RFC2133 24

_Static_assert(sizeof(struct sockaddr_in6) == ZT_SOCKADDR, "the wire's sockaddr is the kernel's sockaddr_in6");

/* sizeof(struct sockaddr_in) or sizeof(struct sockaddr_in6), by family. */
static inline socklen_t zt_sockaddr_size(int family) {
  return family == AF_INET6 ? (socklen_t)sizeof(struct sockaddr_in6) : (socklen_t)sizeof(struct sockaddr_in);
}

/* The family of a wire sockaddr (AF_INET, AF_INET6 or AF_UNSPEC as written). */
ZT_HIDDEN int zt_sockaddr_family(const uint8_t *wire);

/* Copies a wire sockaddr out as the kernel does: truncated to *len, *len set to its full size. */
ZT_HIDDEN void zt_put_sockaddr(struct sockaddr *out, socklen_t *len, const uint8_t *wire);

/* A wire sockaddr from its parts: `addr` holds 4 (AF_INET) or 16 (AF_INET6) bytes, network order. */
ZT_HIDDEN void zt_make_sockaddr(uint8_t *wire, int family, const uint8_t *addr, uint16_t port, uint32_t scope);

/* An AF_INET sockaddr's address and port as the v4-mapped AF_INET6 wire sockaddr ::ffff:a.b.c.d. */
ZT_HIDDEN void zt_map_sockaddr4(uint8_t *wire, const struct sockaddr_in *sin);

/*
 * An address from the app for a socket of `family` into `wire` (ZT_SOCKADDR bytes): 0, or -1 with
 * errno as the kernel's inet_bind/inet6_bind and tcp_v4_connect/tcp_v6_connect: shorter than
 * sockaddr_in (AF_INET) or SIN6_LEN_RFC2133 (AF_INET6) → EINVAL, another family → EAFNOSUPPORT.
 * `allow_unspec`: AF_UNSPEC with INADDR_ANY is taken as AF_INET (inet_bind does).
 */
ZT_HIDDEN int zt_take_sockaddr(int family, const struct sockaddr *sa, socklen_t len, int allow_unspec, uint8_t *wire);

#endif
