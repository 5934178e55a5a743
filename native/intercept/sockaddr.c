/* IPv4 socket addresses in and out of the hooks, with the kernel's checks and truncation (sockaddr.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "sockaddr.h"

void zt_put_sockaddr(struct sockaddr *out, socklen_t *len, uint32_t addr, uint16_t port) {
  struct sockaddr_in sin;
  socklen_t n;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(addr);
  n = *len < sizeof(sin) ? *len : (socklen_t)sizeof(sin);
  memcpy(out, &sin, n);
  *len = sizeof(sin);
}

int zt_take_sockaddr(const struct sockaddr *sa, socklen_t len, int allow_unspec, uint32_t *addr, uint16_t *port) {
  const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
  if (sa == NULL) return zt_fail(EFAULT);
  if (len < sizeof(struct sockaddr_in)) return zt_fail(EINVAL);
  if (sa->sa_family != AF_INET) {
    if (!(allow_unspec && sa->sa_family == AF_UNSPEC && sin->sin_addr.s_addr == htonl(INADDR_ANY)))
      return zt_fail(EAFNOSUPPORT);
  }
  *addr = ntohl(sin->sin_addr.s_addr);
  *port = ntohs(sin->sin_port);
  return 0;
}
