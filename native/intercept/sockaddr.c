/* Socket addresses in and out of the hooks, for both families, with the kernel's checks and truncation (sockaddr.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "sockaddr.h"

int zt_sockaddr_family(const uint8_t *wire) {
  sa_family_t f;
  memcpy(&f, wire, sizeof(f));
  return f;
}

void zt_put_sockaddr(struct sockaddr *out, socklen_t *len, const uint8_t *wire) {
  socklen_t full = zt_sockaddr_size(zt_sockaddr_family(wire));
  memcpy(out, wire, *len < full ? *len : full);
  *len = full;
}

void zt_make_sockaddr(uint8_t *wire, int family, const uint8_t *addr, uint16_t port, uint32_t scope) {
  memset(wire, 0, ZT_SOCKADDR);
  if (family == AF_INET6) {
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    memcpy(&sin6.sin6_addr, addr, 16);
    sin6.sin6_scope_id = scope;
    memcpy(wire, &sin6, sizeof(sin6));
  } else {
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    memcpy(&sin.sin_addr, addr, 4);
    memcpy(wire, &sin, sizeof(sin));
  }
}

void zt_map_sockaddr4(uint8_t *wire, const struct sockaddr_in *sin) {
  uint8_t a[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  memcpy(a + 12, &sin->sin_addr, 4);
  zt_make_sockaddr(wire, AF_INET6, a, ntohs(sin->sin_port), 0);
}

int zt_take_sockaddr(int family, const struct sockaddr *sa, socklen_t len, int allow_unspec, uint8_t *wire) {
  sa_family_t f;
  if (sa == NULL) return zt_fail(EFAULT);
  memset(wire, 0, ZT_SOCKADDR);
  if (family == AF_INET6) {
    if (len < ZT_SIN6_LEN_RFC2133) return zt_fail(EINVAL);
    memcpy(&f, sa, sizeof(f));
    if (f != AF_INET6) return zt_fail(EAFNOSUPPORT);
    /* Without sin6_scope_id (RFC 2133's 24 bytes) the scope is 0, as the kernel reads it. */
    memcpy(wire, sa, len < ZT_SOCKADDR ? len : ZT_SOCKADDR);
    return 0;
  }
  if (len < sizeof(struct sockaddr_in)) return zt_fail(EINVAL);
  memcpy(wire, sa, sizeof(struct sockaddr_in));
  memcpy(&f, wire, sizeof(f));
  if (f != AF_INET) {
    struct sockaddr_in sin;
    memcpy(&sin, wire, sizeof(sin));
    if (!(allow_unspec && f == AF_UNSPEC && sin.sin_addr.s_addr == htonl(INADDR_ANY))) return zt_fail(EAFNOSUPPORT);
    f = AF_INET;
    memcpy(wire, &f, sizeof(f));
  }
  return 0;
}
