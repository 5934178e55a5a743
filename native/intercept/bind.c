/* bind() and listen() on the daemon's sockets: the address and backlog go to the stack. */
#include <arpa/inet.h>
#include <string.h>

#include "hooks.h"
#include "rpc.h"
#include "sockaddr.h"

ZT_EXPORT int bind(int fd, const struct sockaddr *sa, socklen_t len) {
  uint64_t ino;
  int kind, family, err;
  uint8_t wire[ZT_SOCKADDR];
  uint16_t port;
  struct zt_reply r;
  zt_ensure_init();
  if (!zt_classify(fd, &ino, &kind, &family)) return zt_real.bind(fd, sa, len);
  /* rawv6_bind refuses another family with EINVAL, where inet6_bind says EAFNOSUPPORT. */
  if (family == AF_INET6 && kind == ZT_KIND_RAW_ICMP && sa != NULL && len >= ZT_SIN6_LEN_RFC2133 &&
      sa->sa_family != AF_INET6)
    return zt_fail(EINVAL);
  if (zt_take_sockaddr(family, sa, len, 1, wire) != 0) return -1;
  err = zt_rpc_address(ZT_OP_BIND, 0, ino, wire, 0, &r);
  memcpy(&port, wire + 2, 2);
  zt_trace("bind(%d, port %u) = %d", fd, ntohs(port), err ? -err : r.result);
  return zt_rpc_status(err, &r);
}

ZT_EXPORT int listen(int fd, int backlog) {
  uint64_t ino;
  int kind, err;
  struct zt_reply r;
  zt_ensure_init();
  if (!zt_classify(fd, &ino, &kind, NULL)) return zt_real.listen(fd, backlog);
  err = zt_rpc_int(ZT_OP_LISTEN, ino, backlog, &r);
  if (err == 0 && r.result >= 0) zt_ino_remember(ino, ZT_INO_OURS_LISTENER);
  zt_trace("listen(%d) = %d", fd, err ? -err : r.result);
  return zt_rpc_status(err, &r);
}
