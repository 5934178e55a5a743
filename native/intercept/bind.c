/* bind() and listen() on the daemon's sockets: the address and backlog go to the stack. */
#include "hooks.h"
#include "rpc.h"
#include "sockaddr.h"

ZT_EXPORT int bind(int fd, const struct sockaddr *sa, socklen_t len) {
  uint64_t ino;
  int kind, err;
  uint32_t addr;
  uint16_t port;
  struct zt_reply r;
  zt_ensure_init();
  if (!zt_classify(fd, &ino, &kind)) return zt_real.bind(fd, sa, len);
  if (zt_take_sockaddr(sa, len, 1, &addr, &port) != 0) return -1;
  err = zt_rpc_address(ZT_OP_BIND, 0, ino, addr, port, 0, &r);
  zt_trace("bind(%d, port %u) = %d", fd, port, err ? -err : r.result);
  return zt_rpc_status(err, &r);
}

ZT_EXPORT int listen(int fd, int backlog) {
  uint64_t ino;
  int kind, err;
  struct zt_reply r;
  zt_ensure_init();
  if (!zt_classify(fd, &ino, &kind)) return zt_real.listen(fd, backlog);
  err = zt_rpc_int(ZT_OP_LISTEN, ino, backlog, &r);
  if (err == 0 && r.result >= 0) zt_ino_remember(ino, ZT_INO_OURS_LISTENER);
  zt_trace("listen(%d) = %d", fd, err ? -err : r.result);
  return zt_rpc_status(err, &r);
}
