/*
 * connect(), sendto() with an address (TCP Fast Open's connect-and-send) and shutdown() on the
 * daemon's sockets: the connection's life on the stack.
 */
#include <fcntl.h>
#include <sys/socket.h>

#include "hooks.h"
#include "rpc.h"
#include "sockaddr.h"

ZT_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len) {
  uint64_t ino;
  int kind, err, nonblock;
  uint32_t addr;
  uint16_t port;
  struct zt_reply r;
  zt_ensure_init();
  if (!zt_classify(fd, &ino, &kind)) return zt_real.connect(fd, sa, len);
  if (zt_take_sockaddr(sa, len, 0, &addr, &port) != 0) return -1;
  nonblock = (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
  err = zt_rpc_address(ZT_OP_CONNECT, nonblock ? 0 : ZT_F_WAIT, ino, addr, port, !nonblock, &r);
  if (err == 0 && (r.flags & ZT_RF_PENDING)) {
    /* A repeat connect while the first is under way: the app saw POLLOUT early (a socketpair is
     * always writable), so answer with the outcome, as the kernel would after real POLLOUT. */
    err = zt_rpc_address(ZT_OP_CONNECT, ZT_F_WAIT, ino, addr, port, 1, &r);
  }
  zt_trace("connect(%d, port %u%s) = %d", fd, port, nonblock ? ", nonblocking" : "", err ? -err : r.result);
  return zt_rpc_status(err, &r);
}

ZT_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t tolen) {
  uint64_t ino;
  int kind;
  zt_ensure_init();
  if (to != NULL && zt_classify(fd, &ino, &kind)) {
    /* TCP Fast Open's connect-and-send: here an ordinary connect, then the data (as the kernel
     * does when it has no cookie for the server). Its EINPROGRESS and EISCONN are the kernel's. */
    if ((flags & MSG_FASTOPEN) && connect(fd, to, tolen) != 0) return -1;
    /* TCP ignores a destination on a connected socket; a Unix stream socket would refuse it. */
    return zt_real.sendto(fd, buf, n, flags & ~MSG_FASTOPEN, NULL, 0);
  }
  return zt_real.sendto(fd, buf, n, flags, to, tolen);
}

ZT_EXPORT int shutdown(int fd, int how) {
  uint64_t ino;
  int kind, err;
  struct zt_reply r;
  zt_ensure_init();
  if (!zt_classify(fd, &ino, &kind)) return zt_real.shutdown(fd, how);
  err = zt_rpc_int(ZT_OP_SHUTDOWN, ino, how, &r);
  if (zt_rpc_status(err, &r) != 0) return -1;
  /* The daemon now knows the end of stream it will read is a half-close, not a close. */
  zt_real.shutdown(fd, how);
  return 0;
}
