/* getsockname() and getpeername() on the daemon's sockets: the stack's addresses, kernel-shaped. */
#include "hooks.h"
#include "rpc.h"
#include "sockaddr.h"

static int name_call(uint8_t op, int fd, struct sockaddr *sa, socklen_t *len) {
  uint64_t ino;
  int kind;
  uint8_t wire[ZT_SOCKADDR];
  zt_ensure_init();
  if (!zt_classify(fd, &ino, &kind, NULL))
    return op == ZT_OP_GETSOCKNAME ? zt_real.getsockname(fd, sa, len) : zt_real.getpeername(fd, sa, len);
  if (sa == NULL || len == NULL) return zt_fail(EFAULT);
  if ((int)*len < 0) return zt_fail(EINVAL);
  uint16_t rflags = 0;
  if (zt_rpc_name_flags(op, ino, wire, &rflags) != 0) return -1;
  if (op == ZT_OP_GETPEERNAME && (rflags & ZT_RF_KERNEL) && zt_fast_ended(fd, rflags)) return zt_fail(ENOTCONN);
  zt_put_sockaddr(sa, len, wire);
  return 0;
}

ZT_EXPORT int getsockname(int fd, struct sockaddr *sa, socklen_t *len) {
  return name_call(ZT_OP_GETSOCKNAME, fd, sa, len);
}

ZT_EXPORT int getpeername(int fd, struct sockaddr *sa, socklen_t *len) {
  return name_call(ZT_OP_GETPEERNAME, fd, sa, len);
}
