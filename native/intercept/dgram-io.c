/*
 * The data-path hooks: read, write, readv, writev, send, recv, recvfrom, sendmsg, recvmsg,
 * sendmmsg, recvmmsg, the _FORTIFY_SOURCE variants (__read_chk, __recv_chk, __recvfrom_chk) and
 * ioctl's FIONREAD/SIOCINQ/SIOCOUTQ. For an fd that is not a datagram socket each costs one load
 * from the fd table (fdtable.h) before the real call: TCP and everything else go straight to the
 * kernel. (sendto is in connect.c with TCP Fast Open's.) recvmsg also recognises datagram sockets
 * received with SCM_RIGHTS.
 */
#include <limits.h>
#include <linux/sockios.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "dgram.h"

extern void __chk_fail(void) __attribute__((noreturn));

/* 1 with *d when `fd` is one of the daemon's datagram sockets. */
static inline int dgram_of(int fd, struct zt_dgram *d) {
  zt_ensure_init();
  return zt_fd_maybe_dgram(fd) && zt_fd_dgram(fd, d);
}

static void one_iov(struct msghdr *m, struct iovec *iov, void *buf, size_t n) {
  memset(m, 0, sizeof(*m));
  iov->iov_base = buf;
  iov->iov_len = n;
  m->msg_iov = iov;
  m->msg_iovlen = 1;
}

ZT_EXPORT ssize_t read(int fd, void *buf, size_t n) {
  struct zt_dgram d;
  struct msghdr m;
  struct iovec iov;
  if (!dgram_of(fd, &d)) return zt_real.read(fd, buf, n);
  one_iov(&m, &iov, buf, n);
  return zt_dgram_recv(&d, &m, 0);
}

ZT_EXPORT ssize_t write(int fd, const void *buf, size_t n) {
  struct zt_dgram d;
  struct msghdr m;
  struct iovec iov;
  if (!dgram_of(fd, &d)) return zt_real.write(fd, buf, n);
  one_iov(&m, &iov, (void *)buf, n);
  return zt_dgram_send(&d, &m, 0);
}

ZT_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt) {
  struct zt_dgram d;
  struct msghdr m;
  if (!dgram_of(fd, &d)) return zt_real.readv(fd, iov, cnt);
  if (cnt < 0) return zt_fail(EINVAL);
  memset(&m, 0, sizeof(m));
  m.msg_iov = (struct iovec *)iov;
  m.msg_iovlen = (size_t)cnt;
  return zt_dgram_recv(&d, &m, 0);
}

ZT_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt) {
  struct zt_dgram d;
  struct msghdr m;
  if (!dgram_of(fd, &d)) return zt_real.writev(fd, iov, cnt);
  if (cnt < 0) return zt_fail(EINVAL);
  memset(&m, 0, sizeof(m));
  m.msg_iov = (struct iovec *)iov;
  m.msg_iovlen = (size_t)cnt;
  return zt_dgram_send(&d, &m, 0);
}

ZT_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags) {
  struct zt_dgram d;
  struct msghdr m;
  struct iovec iov;
  if (!dgram_of(fd, &d)) return zt_real.send(fd, buf, n, flags);
  one_iov(&m, &iov, (void *)buf, n);
  return zt_dgram_send(&d, &m, flags);
}

ZT_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags) {
  struct zt_dgram d;
  struct msghdr m;
  struct iovec iov;
  if (!dgram_of(fd, &d)) return zt_real.recv(fd, buf, n, flags);
  one_iov(&m, &iov, buf, n);
  return zt_dgram_recv(&d, &m, flags);
}

ZT_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *fromlen) {
  struct zt_dgram d;
  struct msghdr m;
  struct iovec iov;
  ssize_t r;
  if (!dgram_of(fd, &d)) return zt_real.recvfrom(fd, buf, n, flags, from, fromlen);
  one_iov(&m, &iov, buf, n);
  if (from != NULL && fromlen != NULL) {
    if ((int)*fromlen < 0) return zt_fail(EINVAL);
    m.msg_name = from;
    m.msg_namelen = *fromlen;
  }
  r = zt_dgram_recv(&d, &m, flags);
  if (r >= 0 && m.msg_name != NULL) *fromlen = m.msg_namelen;
  return r;
}

ZT_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
  struct zt_dgram d;
  if (!dgram_of(fd, &d)) return zt_real.sendmsg(fd, msg, flags);
  if (msg == NULL) return zt_fail(EFAULT);
  return zt_dgram_send(&d, msg, flags);
}

/* Descriptors received with SCM_RIGHTS may be datagram sockets of ours. */
static void recognise_passed(struct msghdr *msg) {
  struct cmsghdr *c;
  for (c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
    size_t k, i;
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (i = 0; i < k; i++) {
      int f;
      memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      zt_fd_recognise(f);
    }
  }
}

ZT_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
  struct zt_dgram d;
  ssize_t n;
  if (dgram_of(fd, &d)) {
    if (msg == NULL) return zt_fail(EFAULT);
    return zt_dgram_recv(&d, msg, flags);
  }
  n = zt_real.recvmsg(fd, msg, flags);
  if (n >= 0 && zt_enabled && msg->msg_control != NULL && msg->msg_controllen >= CMSG_LEN(sizeof(int)))
    recognise_passed(msg);
  return n;
}

ZT_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags) {
  struct zt_dgram d;
  unsigned int i;
  if (!dgram_of(fd, &d)) return zt_real.sendmmsg(fd, vec, vlen, flags);
  if (vlen > IOV_MAX) vlen = IOV_MAX; /* UIO_MAXIOV, as the kernel caps it */
  for (i = 0; i < vlen; i++) {
    ssize_t n = zt_dgram_send(&d, &vec[i].msg_hdr, flags);
    if (n < 0) {
      if (i == 0) return -1;
      break;
    }
    vec[i].msg_len = (unsigned int)n;
  }
  return (int)i;
}

static int before(const struct timespec *a, const struct timespec *b) {
  return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

ZT_EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags, struct timespec *timeout) {
  struct zt_dgram d;
  struct timespec end = {0, 0}, now;
  unsigned int i;
  if (!dgram_of(fd, &d)) return zt_real.recvmmsg(fd, vec, vlen, flags, timeout);
  if (timeout != NULL) {
    if (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1000000000L) return zt_fail(EINVAL);
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += timeout->tv_sec;
    end.tv_nsec += timeout->tv_nsec;
    if (end.tv_nsec >= 1000000000L) {
      end.tv_sec++;
      end.tv_nsec -= 1000000000L;
    }
  }
  if (vlen > IOV_MAX) vlen = IOV_MAX;
  for (i = 0; i < vlen; i++) {
    ssize_t n = zt_dgram_recv(&d, &vec[i].msg_hdr, flags & ~MSG_WAITFORONE);
    if (n < 0) {
      if (i == 0) return -1;
      break;
    }
    vec[i].msg_len = (unsigned int)n;
    if (flags & MSG_WAITFORONE) flags |= MSG_DONTWAIT;
    if (timeout != NULL) {
      clock_gettime(CLOCK_MONOTONIC, &now);
      if (!before(&now, &end)) {
        timeout->tv_sec = 0;
        timeout->tv_nsec = 0;
        i++;
        break;
      }
      timeout->tv_sec = end.tv_sec - now.tv_sec;
      timeout->tv_nsec = end.tv_nsec - now.tv_nsec;
      if (timeout->tv_nsec < 0) {
        timeout->tv_sec--;
        timeout->tv_nsec += 1000000000L;
      }
    }
  }
  return (int)i;
}

/* What programs built with _FORTIFY_SOURCE call instead when the buffer's size is known. */
ZT_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen) {
  if (n > buflen) __chk_fail();
  return read(fd, buf, n);
}

ZT_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags) {
  if (n > buflen) __chk_fail();
  return recv(fd, buf, n, flags);
}

ZT_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *from,
                                 socklen_t *fromlen) {
  if (n > buflen) __chk_fail();
  return recvfrom(fd, buf, n, flags, from, fromlen);
}

ZT_EXPORT int ioctl(int fd, unsigned long req, ...) {
  struct zt_dgram d;
  va_list ap;
  void *arg;
  va_start(ap, req);
  arg = va_arg(ap, void *);
  va_end(ap);
  if ((req == SIOCINQ || req == SIOCOUTQ) && dgram_of(fd, &d)) {
    int v;
    if (arg == NULL) return zt_fail(EFAULT);
    /* SIOCINQ: the next datagram's payload, as the kernel's UDP; SIOCOUTQ: what waits for the daemon. */
    if (req == SIOCINQ)
      v = zt_dgram_next_size(&d);
    else if (zt_real.ioctl(fd, SIOCOUTQ, &v) != 0)
      return -1;
    memcpy(arg, &v, sizeof(v));
    return 0;
  }
  return zt_real.ioctl(fd, req, arg);
}
