/* Receiving data with descriptors attached (fdpass.h). */
#include "fdpass.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

ssize_t zt_recv_with_fd(int fd, void *buf, size_t len, int cloexec, int *got_fd, int *extra_fds) {
  /* Room for a few descriptors, so a hostile or confused sender's extras are received and closed
   * here rather than left to MSG_CTRUNC alone. */
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int) * 4)];
  } cm;
  struct iovec iov = {.iov_base = buf, .iov_len = len};
  struct msghdr msg;
  struct cmsghdr *c;
  ssize_t n;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cm.buf;
  msg.msg_controllen = sizeof(cm.buf);
  n = zt_real.recvmsg(fd, &msg, cloexec ? MSG_CMSG_CLOEXEC : 0);
  if (n < 0) return n;
  if (msg.msg_flags & MSG_CTRUNC) *extra_fds = 1;
  for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k; i++) {
      int f;
      memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (*got_fd < 0) {
        *got_fd = f;
      } else {
        close(f);
        *extra_fds = 1;
      }
    }
  }
  return n;
}
