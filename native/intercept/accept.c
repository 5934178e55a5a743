/*
 * accept() and accept4() on the daemon's listening sockets. Connections arrive over the listening
 * socket itself, one ZT_ACCEPT_RECORD with one fd per message (proto.h), so readiness and several
 * processes on one listener behave as with the kernel.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ended.h"
#include "fdpass.h"
#include "hooks.h"
#include "rpc.h"
#include "sockaddr.h"

/* Takes one connection record (with its fd) off a listening socket (inode `ino`); blocking as the fd is. */
static int take_connection(int fd, uint64_t ino, struct sockaddr *addr, socklen_t *addrlen, int flags) {
  for (;;) {
    uint8_t rec[ZT_ACCEPT_RECORD];
    int newfd = -1, extra_fds = 0, family;
    /* Extra descriptors in one record are closed (one connection per record). */
    ssize_t n = zt_recv_with_fd(fd, rec, sizeof(rec), (flags & SOCK_CLOEXEC) != 0, &newfd, &extra_fds);
    if (n < 0) return -1;
    /* End of stream: the daemon dropped this listener (it stopped with no fd keeper to hold it, the
     * keeper gave up, or the network was left). Said once; then the fd is quiet (ended.c) rather
     * than readable for ever, which would keep the app's event loop spinning. */
    if (n == 0) {
      zt_socket_ended(fd, ino, 0);
      return zt_fail(EINVAL);
    }
    family = n == ZT_ACCEPT_RECORD ? zt_sockaddr_family(rec + 4) : AF_UNSPEC;
    if (newfd < 0 || n != ZT_ACCEPT_RECORD || rec[0] != ZT_ACCEPT_MAGIC || (family != AF_INET && family != AF_INET6)) {
      if (newfd >= 0) close(newfd);
      zt_trace("accept(%d): dropped a malformed connection record", fd);
      continue;
    }
    if ((flags & SOCK_NONBLOCK) && zt_real.fcntl(newfd, F_SETFL, zt_real.fcntl(newfd, F_GETFL) | O_NONBLOCK) != 0) {
      close(newfd);
      return zt_fail(EIO);
    }
    zt_remember_fd(newfd, ZT_INO_OURS, family);
    if (addr != NULL && addrlen != NULL) zt_put_sockaddr(addr, addrlen, rec + 4);
    zt_trace("accept(%d) = %d", fd, newfd);
    return newfd;
  }
}

static int accept_common(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags, int is4) {
  uint64_t ino;
  int kind;
  zt_ensure_init();
  if (!zt_classify(fd, &ino, &kind, NULL))
    return is4 ? zt_real.accept4(fd, addr, addrlen, flags) : zt_real.accept(fd, addr, addrlen);
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return zt_fail(EINVAL);
  if (addr != NULL && addrlen == NULL) return zt_fail(EFAULT);
  if (zt_kind_is_dgram(kind)) return zt_fail(EOPNOTSUPP); /* as the kernel's UDP and ICMP */
  if (kind != ZT_KIND_LISTENER) {
    /* Another process may have called listen() on it since this one looked. */
    if (zt_rpc_whois(ino) != ZT_KIND_LISTENER) return zt_fail(EINVAL);
    zt_ino_remember(ino, ZT_INO_OURS_LISTENER);
  }
  return take_connection(fd, ino, addr, addrlen, flags);
}

ZT_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *addrlen) {
  return accept_common(fd, addr, addrlen, 0, 0);
}

ZT_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags) {
  return accept_common(fd, addr, addrlen, flags, 1);
}
