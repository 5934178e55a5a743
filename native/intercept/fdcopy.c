/*
 * dup, dup2, dup3 and fcntl(F_DUPFD, F_DUPFD_CLOEXEC): the new fd number is the same socket, so
 * it gets the old number's datagram entry (fdtable.h), or loses a stale one it had.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

#include "fdtable.h"

ZT_EXPORT int dup(int fd) {
  int r;
  zt_ensure_init();
  r = zt_real.dup(fd);
  if (r >= 0) zt_fd_copy(fd, r);
  return r;
}

ZT_EXPORT int dup2(int fd, int to) {
  int r;
  zt_ensure_init();
  r = zt_real.dup2(fd, to);
  if (r >= 0) zt_fd_copy(fd, r);
  return r;
}

ZT_EXPORT int dup3(int fd, int to, int flags) {
  int r;
  zt_ensure_init();
  r = zt_real.dup3(fd, to, flags);
  if (r >= 0) zt_fd_copy(fd, r);
  return r;
}

static int fcntl_common(int (*real)(int, int, ...), int fd, int cmd, void *arg) {
  int r = real(fd, cmd, arg);
  if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)) zt_fd_copy(fd, r);
  return r;
}

ZT_EXPORT int fcntl(int fd, int cmd, ...) {
  va_list ap;
  void *arg;
  va_start(ap, cmd);
  arg = va_arg(ap, void *);
  va_end(ap);
  zt_ensure_init();
  return fcntl_common(zt_real.fcntl, fd, cmd, arg);
}

/* glibc's name for fcntl when a program is built with _FILE_OFFSET_BITS=64 (or time64). */
ZT_EXPORT int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  void *arg;
  va_start(ap, cmd);
  arg = va_arg(ap, void *);
  va_end(ap);
  zt_ensure_init();
  return fcntl_common(zt_real.fcntl64, fd, cmd, arg);
}
