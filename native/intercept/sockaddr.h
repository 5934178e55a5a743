/* IPv4 socket addresses between the app and the RPC's (host-order address, port) pairs (sockaddr.c). */
#ifndef ZTNC_SOCKADDR_H
#define ZTNC_SOCKADDR_H

#include "shim.h"

/* Copies an IPv4 address out as the kernel does: truncated to *len, *len set to the full size. */
ZT_HIDDEN void zt_put_sockaddr(struct sockaddr *out, socklen_t *len, uint32_t addr, uint16_t port);

/* An IPv4 address from the app: 0, or -1 with errno as the kernel's inet_bind/inet_stream_connect.
 * `allow_unspec`: AF_UNSPEC with INADDR_ANY is accepted (bind does). */
ZT_HIDDEN int zt_take_sockaddr(const struct sockaddr *sa, socklen_t len, int allow_unspec, uint32_t *addr,
                               uint16_t *port);

#endif
