/*
 * connect(), sendto() with an address (TCP Fast Open's connect-and-send) and shutdown() on the
 * daemon's sockets: the connection's life on the stack.
 *
 * A socketpair is writable at once, a connecting TCP socket only when its attempt is resolved, and
 * event loops take writability for "connected". So a non-blocking connect announces a filler to
 * the daemon and, on EINPROGRESS, writes it into the app's end before returning: a Unix stream
 * socket is writable only while what it has in flight is at most a quarter of its send buffer
 * (unix_writable), and the daemon leaves the filler unread until the outcome. Success: the daemon
 * reads and discards it (the app's end turns writable, an edge for epoll's EPOLLET); what the app
 * wrote meanwhile follows it in the stream. Failure: the daemon closes its end with the filler
 * unread, which gives the app's end POLLERR as well as POLLHUP, as the kernel's failed connect.
 * The filler is written after the daemon has stopped reading (its EINPROGRESS), and a second
 * message says how much was written (proto.h ZT_F_FILLED).
 *
 * The same-daemon fast path (proto.h ZT_F_FAST): when the daemon joins the socket straight to a
 * listening app of its own, the app's end becomes one end of a kernel socketpair whose other end
 * is the server's accepted fd. It is connected at once: a blocking connect gets 0, a non-blocking
 * one EINPROGRESS with no filler asked for (the end is writable at once, so POLLOUT and SO_ERROR 0
 * follow as with the kernel's loopback). The library offers it unless ZT_NC_FASTPATH=0, and only
 * when nothing the app wrote before connect waits unread in its end (those bytes would reach the
 * server as the stream's head; the kernel refuses writes on an unconnected socket).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include "dgram.h"
#include "hooks.h"
#include "rpc.h"
#include "sockaddr.h"

/* The filler's bytes (their value means nothing; the daemon discards them by count). */
static const char filler_bytes[64 * 1024];

/*
 * Filler bytes that make the app's end unwritable: just over a quarter of its send buffer. 0 (no
 * filler) when bytes the daemon has not read are still in flight (the count would not be the
 * stream's head) or the buffer is too large for a filler within ZT_CONNECT_FILLER_MAX.
 */
static uint32_t filler_size(int fd) {
  int sndbuf = 0, outq = -1;
  socklen_t l = sizeof(sndbuf);
  if (zt_real.getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &l) != 0 || sndbuf <= 0) return 0;
  if (zt_real.ioctl(fd, SIOCOUTQ, &outq) != 0 || outq != 0) return 0;
  if ((uint32_t)sndbuf / 4 + 1 > ZT_CONNECT_FILLER_MAX) return 0;
  return (uint32_t)sndbuf / 4 + 1;
}

/* Writes the announced filler (a buffer with nothing in flight holds it: it is just over a quarter
 * of its size); returns the bytes written. */
static uint32_t write_filler(int fd, uint32_t n) {
  uint32_t done = 0;
  while (done < n) {
    size_t chunk = n - done < sizeof(filler_bytes) ? n - done : sizeof(filler_bytes);
    ssize_t w = zt_real.send(fd, filler_bytes, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    /* EPIPE: the attempt failed already and the daemon closed its end; nothing is owed then. */
    if (w <= 0) {
      zt_trace("connect filler: %u of %u bytes written (%s)", done, n, w < 0 ? strerror(errno) : "0");
      break;
    }
    done += (uint32_t)w;
  }
  return done;
}

/* ZT_F_FAST when the fast path may be offered for this socket (see the file comment). */
static uint16_t fast_flag(int fd) {
  int outq = -1;
  if (!zt_fastpath) return 0;
  if (zt_real.ioctl(fd, SIOCOUTQ, &outq) != 0 || outq != 0) return 0;
  return ZT_F_FAST;
}

/*
 * connect() on a datagram socket (inet_dgram_connect, ip6_datagram_connect): immediate, no filler.
 * AF_UNSPEC dissolves the association. An AF_INET6 UDP socket takes an AF_INET address as its
 * v4-mapped one unless IPV6_V6ONLY is set (udpv6_pre_connect); ICMPv6 sockets take AF_INET6 only.
 * This process remembers the socket is connected, so its sends need no check.
 */
static int dgram_connect(struct zt_dgram *d, const struct sockaddr *sa, socklen_t len) {
  uint8_t wire[ZT_SOCKADDR];
  uint16_t flags = 0, port;
  struct zt_reply r;
  int err;
  if (sa == NULL) return zt_fail(len == 0 ? EINVAL : EFAULT);
  if (len < sizeof(sa->sa_family)) return zt_fail(EINVAL);
  memset(wire, 0, sizeof(wire));
  if (sa->sa_family == AF_UNSPEC) {
    flags = ZT_F_UNSPEC;
  } else if (d->family == AF_INET6 && d->kind == ZT_KIND_UDP && sa->sa_family == AF_INET) {
    struct sockaddr_in sin;
    if (zt_dgram_v6only(d)) return zt_fail(EAFNOSUPPORT);
    if (len < sizeof(sin)) return zt_fail(EINVAL);
    memcpy(&sin, sa, sizeof(sin));
    zt_map_sockaddr4(wire, &sin);
  } else if (d->family == AF_INET6 && d->kind != ZT_KIND_UDP && sa->sa_family != AF_INET6) {
    return zt_fail(EAFNOSUPPORT); /* ip6_datagram_connect_v6_only looks at the family first */
  } else {
    if (zt_take_sockaddr(d->family, sa, len, 0, wire) != 0) return -1;
  }
  err = zt_rpc_address(ZT_OP_CONNECT, flags, d->ino, wire, 0, &r);
  memcpy(&port, wire + 2, 2);
  zt_trace("connect(%d, %s port %u) = %d", d->fd, flags ? "unspec" : "inet", ntohs(port), err ? -err : r.result);
  if (err == 0 && r.result == 0) {
    struct sockaddr_in6 peer;
    memcpy(&peer, wire, sizeof(peer));
    if (flags)
      zt_fd_set_bits(d->fd, 0, ZT_FDB_CONNECTED | ZT_FDB_PEER_MAPPED);
    else if (peer.sin6_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&peer.sin6_addr))
      zt_fd_set_bits(d->fd, ZT_FDB_CONNECTED | ZT_FDB_PEER_MAPPED, 0);
    else
      zt_fd_set_bits(d->fd, ZT_FDB_CONNECTED, ZT_FDB_PEER_MAPPED);
  }
  return zt_rpc_status(err, &r);
}

ZT_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len) {
  uint64_t ino;
  int kind, family, err, nonblock, saved;
  uint32_t filler = 0, written;
  uint8_t wire[ZT_SOCKADDR];
  uint16_t port, fast;
  struct zt_reply r, filled;
  zt_ensure_init();
  if (!zt_classify(fd, &ino, &kind, &family)) return zt_real.connect(fd, sa, len);
  if (zt_kind_is_dgram(kind)) {
    struct zt_dgram d;
    if (!zt_fd_dgram(fd, &d)) return zt_fail(EBADF);
    return dgram_connect(&d, sa, len);
  }
  if (zt_take_sockaddr(family, sa, len, 0, wire) != 0) return -1;
  memcpy(&port, wire + 2, 2);
  port = ntohs(port);
  nonblock = (zt_real.fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
  fast = fast_flag(fd);
  if (nonblock) {
    filler = filler_size(fd);
    err = zt_rpc_connect_filled(fast, ino, wire, filler, &r);
  } else {
    err = zt_rpc_address(ZT_OP_CONNECT, ZT_F_WAIT | fast, ino, wire, 1, &r);
  }
  if (err == 0 && (r.flags & ZT_RF_PENDING)) {
    /* A repeat connect while the first is under way (the app did not wait for POLLOUT): answer
     * with the outcome, as the kernel would after real POLLOUT. */
    err = zt_rpc_address(ZT_OP_CONNECT, ZT_F_WAIT, ino, wire, 1, &r);
  }
  zt_trace("connect(%d, port %u%s) = %d", fd, port, nonblock ? ", nonblocking" : "", err ? -err : r.result);
  saved = errno;
  if (err == 0 && r.result == -EINPROGRESS && filler > 0 && (r.flags & ZT_RF_FILLER)) {
    /* The daemon waits for this before it reads or closes the app's end; its answer is 0. */
    written = write_filler(fd, filler);
    zt_rpc_connect_filled(ZT_F_FILLED, ino, wire, written, &filled);
  }
  /* The outcome of a failed attempt is taken now: so is the app end's own error (see below). */
  if (err == 0 && r.result < 0 && r.result != -EINPROGRESS && r.result != -EALREADY) zt_clear_local_error(fd);
  errno = saved;
  return zt_rpc_status(err, &r);
}
ZT_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t tolen) {
  uint64_t ino;
  int kind;
  struct zt_dgram d;
  zt_ensure_init();
  if (zt_fd_maybe_dgram(fd) && zt_fd_dgram(fd, &d)) {
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_name = (void *)to;
    m.msg_namelen = to != NULL ? tolen : 0;
    return zt_dgram_send(&d, &m, flags);
  }
  if (to != NULL && zt_classify(fd, &ino, &kind, NULL) && zt_kind_is_dgram(kind) && zt_fd_dgram(fd, &d)) {
    /* A datagram socket the table had not met (zt_classify has entered it now). */
    return sendto(fd, buf, n, flags, to, tolen);
  }
  if (to != NULL && zt_classify(fd, &ino, &kind, NULL) && !zt_kind_is_dgram(kind)) {
    /* TCP Fast Open's connect-and-send: here an ordinary connect, then the data (as the kernel
     * does when it has no cookie for the server). Its EINPROGRESS and EISCONN are the kernel's. */
    if ((flags & MSG_FASTOPEN) && connect(fd, to, tolen) != 0) return -1;
    /* TCP ignores a destination on a connected socket; a Unix stream socket would refuse it. */
    return zt_real.sendto(fd, buf, n, flags & ~MSG_FASTOPEN, NULL, 0);
  }
  return zt_real.sendto(fd, buf, n, flags, to, tolen);
}

/*
 * Datagrams sent before shutdown() went out before it, with the kernel. Here they may still wait
 * on the app's end: the daemon must read them before it hears of the shutdown, so wait (briefly,
 * bounded) until the end has nothing in flight.
 */
static void drain_sent(int fd) {
  int outq = 0, i;
  for (i = 0; i < 200; i++) {
    struct timespec ts = {0, 1000000};
    if (zt_real.ioctl(fd, SIOCOUTQ, &outq) != 0 || outq == 0) return;
    nanosleep(&ts, NULL);
  }
}

ZT_EXPORT int shutdown(int fd, int how) {
  uint64_t ino;
  int kind, err;
  struct zt_reply r;
  zt_ensure_init();
  if (!zt_classify(fd, &ino, &kind, NULL)) return zt_real.shutdown(fd, how);
  if (zt_kind_is_dgram(kind) && (how == SHUT_WR || how == SHUT_RDWR)) drain_sent(fd);
  err = zt_rpc_int(ZT_OP_SHUTDOWN, ino, how, &r);
  if (zt_kind_is_dgram(kind) && err == 0 && r.result == -ENOTCONN) {
    /* An unconnected datagram socket answers ENOTCONN yet is shut down all the same (Linux's
     * inet_shutdown), so a blocked or later recv sees the end. */
    zt_real.shutdown(fd, how);
    if (how != SHUT_WR) zt_fd_set_bits(fd, ZT_FDB_SHUT_RD, 0);
    return zt_fail(ENOTCONN);
  }
  if (zt_rpc_status(err, &r) != 0) return -1;
  /* A fast-path connection that has ended is TCP's CLOSED, which refuses shutdown. */
  if ((r.flags & ZT_RF_KERNEL) && zt_fast_ended(fd, r.flags)) return zt_fail(ENOTCONN);
  /* The daemon now knows the end of stream it will read is a half-close, not a close. */
  zt_real.shutdown(fd, how);
  if (zt_kind_is_dgram(kind) && how != SHUT_WR) zt_fd_set_bits(fd, ZT_FDB_SHUT_RD, 0);
  return 0;
}
