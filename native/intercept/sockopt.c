/*
 * getsockopt() and setsockopt() on the daemon's sockets. Options of the TCP connection go to the
 * stack; those that shape the app's own end of the pair stay local (local_option); SO_TYPE,
 * SO_DOMAIN and SO_PROTOCOL answer as for the kernel's socket of that kind. A datagram socket's
 * SO_ERROR is the ICMP error record at the head of its queue, if any (dgram.h).
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "dgram.h"
#include "hooks.h"
#include "rpc.h"

/*
 * Options that shape the app's own end of the pair (timeouts, wakeup thresholds, receive
 * timestamps) stay local. So does SO_PRIORITY: it only orders the host's queueing, which the
 * virtual network never sees, and the kernel then checks the caller's privilege for values above 6
 * and reports the value as for any socket.
 */
static int local_option(int level, int name) {
  return level == SOL_SOCKET &&
         (name == SO_RCVTIMEO_OLD || name == SO_SNDTIMEO_OLD || name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO_NEW ||
          name == SO_RCVLOWAT || name == SO_SNDLOWAT || name == SO_PRIORITY || name == SO_TIMESTAMP_OLD ||
          name == SO_TIMESTAMP_NEW || name == SO_TIMESTAMPNS_OLD || name == SO_TIMESTAMPNS_NEW);
}

/*
 * The app's end carries an error of its own (ECONNRESET, hence POLLERR) when the daemon closed it
 * with bytes unread: a failed non-blocking connect's filler (connect.c). The daemon's SO_ERROR is
 * the real one; once the app has taken it, the local one goes too, as the kernel clears a
 * socket's error when SO_ERROR or connect() reports it (later reads then see end of stream).
 */
void zt_clear_local_error(int fd) {
  int e = 0;
  socklen_t l = sizeof(e);
  zt_real.getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
}

static int put_int_opt(void *val, socklen_t *len, int v) {
  socklen_t n = *len < sizeof(int) ? *len : (socklen_t)sizeof(int);
  memcpy(val, &v, n);
  *len = n;
  return 0;
}

ZT_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len) {
  uint64_t ino;
  int kind, family, err;
  struct zt_reply r;
  socklen_t n;
  zt_ensure_init();
  if (!zt_classify(fd, &ino, &kind, &family)) return zt_real.getsockopt(fd, level, name, val, len);
  if (local_option(level, name)) return zt_real.getsockopt(fd, level, name, val, len);
  if (val == NULL || len == NULL) return zt_fail(EFAULT);
  if ((int)*len < 0) return zt_fail(EINVAL);
  if (level == SOL_SOCKET && name == SO_TYPE)
    return put_int_opt(val, len,
                       kind == ZT_KIND_RAW_ICMP                      ? SOCK_RAW
                       : kind == ZT_KIND_UDP || kind == ZT_KIND_PING ? SOCK_DGRAM
                                                                     : SOCK_STREAM);
  if (level == SOL_SOCKET && name == SO_DOMAIN) return put_int_opt(val, len, family);
  if (level == SOL_SOCKET && name == SO_PROTOCOL)
    return put_int_opt(val, len,
                       kind == ZT_KIND_UDP      ? IPPROTO_UDP
                       : zt_kind_is_dgram(kind) ? (family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP)
                                                : IPPROTO_TCP);
  if (level == SOL_SOCKET && name == SO_ERROR && zt_kind_is_dgram(kind)) {
    struct zt_dgram d;
    if (!zt_fd_dgram(fd, &d)) return zt_fail(EBADF);
    return put_int_opt(val, len, zt_dgram_take_error(&d));
  }
  err = zt_rpc_getsockopt(ino, level, name, (uint32_t)*len, 0, 0, &r);
  if (err == 0 && (r.flags & ZT_RF_PENDING)) {
    /* SO_ERROR while the connect is still under way: the app did not wait for POLLOUT, or saw it
     * early (a socketpair without the connect filler is writable at once, connect.c), so answer
     * with the outcome, as the kernel would after real POLLOUT. */
    err = zt_rpc_getsockopt(ino, level, name, (uint32_t)*len, ZT_F_WAIT, 1, &r);
  }
  if (zt_rpc_status(err, &r) != 0) return -1;
  if ((r.flags & ZT_RF_KERNEL) && level == SOL_SOCKET && name == SO_ERROR) {
    /* A fast-path socket's errors are its kernel socket's (a reset: ECONNRESET), taken as read. */
    int e = 0;
    socklen_t l = sizeof(e);
    zt_real.getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
    return put_int_opt(val, len, e);
  }
  if ((r.flags & ZT_RF_KERNEL) && level == IPPROTO_TCP && name == TCP_INFO && r.payload_len > 0)
    r.payload[0] = (uint8_t)zt_fast_tcp_state(fd, r.flags);
  if (level == SOL_SOCKET && name == SO_ERROR) zt_clear_local_error(fd);
  /* Never more than the app's buffer, nor more than the reply brought. */
  n = (socklen_t)r.payload_len;
  if (n > *len) n = *len;
  memcpy(val, r.payload, n);
  *len = n;
  return 0;
}

/*
 * Options a connection's socket takes whatever int it is given (the daemon's answer is 0), set
 * per request by servers: nginx corks and uncorks around every response (tcp_nopush), redis sets
 * TCP_NODELAY and SO_KEEPALIVE on every accepted connection. Their setsockopt is posted: the app
 * does not wait for the daemon (rpc.h zt_rpc_post).
 */
static int posted_option(int kind, int level, int name, socklen_t len) {
  return kind == ZT_KIND_TCP && len >= sizeof(int) &&
         ((level == IPPROTO_TCP && (name == TCP_NODELAY || name == TCP_CORK)) ||
          (level == SOL_SOCKET && name == SO_KEEPALIVE));
}

/* The TOS value the daemon keeps for `ino`, or -1 when it cannot be asked. */
static int current_tos(uint64_t ino) {
  int32_t v;
  struct zt_reply r;
  if (zt_rpc_getsockopt(ino, IPPROTO_IP, IP_TOS, sizeof(v), 0, 0, &r) != 0 || r.result != 4 || r.payload_len < 4)
    return -1;
  memcpy(&v, r.payload, 4);
  return v;
}

/*
 * Linux's IP_TOS also sets SO_PRIORITY from the TOS bits (rt_tos2priority) when the TOS changes.
 * SO_PRIORITY lives on the app's end (local_option), so the library does the same there.
 */
static void priority_from_tos(int fd, int stream, int before, const void *val, socklen_t len) {
  static const unsigned char tos2prio[16] = {0, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4};
  int tos = 0, prio;
  if (len >= sizeof(int))
    memcpy(&tos, val, sizeof(int));
  else if (len >= 1)
    tos = *(const unsigned char *)val;
  if (!stream)
    tos &= 0xff;
  else
    tos &= 0xfc; /* as stored for a TCP socket: the ECN bits are the stack's */
  if (tos == before) return;
  prio = tos2prio[(tos & 0x1e) >> 1];
  zt_real.setsockopt(fd, SOL_SOCKET, SO_PRIORITY, &prio, sizeof(prio));
}

ZT_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len) {
  uint64_t ino;
  int kind, err, tos_before = -1;
  struct zt_reply r;
  zt_ensure_init();
  if (!zt_classify(fd, &ino, &kind, NULL)) return zt_real.setsockopt(fd, level, name, val, len);
  if (local_option(level, name)) return zt_real.setsockopt(fd, level, name, val, len);
  if ((int)len < 0 || len > ZT_MAX_SETSOCKOPT_LEN) return zt_fail(EINVAL);
  if (val == NULL && len > 0) return zt_fail(EFAULT);
  if (posted_option(kind, level, name, len) && zt_rpc_post_setsockopt(ino, level, name, val, len) == 0) {
    zt_trace("setsockopt(%d, %d, %d) posted", fd, level, name);
    return 0;
  }
  if (level == IPPROTO_IP && name == IP_TOS) tos_before = current_tos(ino);
  err = zt_rpc_setsockopt(ino, level, name, val, len, &r);
  zt_trace("setsockopt(%d, %d, %d) = %d", fd, level, name, err ? -err : r.result);
  if (err == 0 && r.result == 0 && level == IPPROTO_IP && name == IP_TOS)
    priority_from_tos(fd, !zt_kind_is_dgram(kind), tos_before, val, len);
  if (err == 0 && r.result == 0 && level == SOL_SOCKET && name == SO_BROADCAST && zt_kind_is_dgram(kind)) {
    int on = 0;
    if (len >= sizeof(int))
      memcpy(&on, val, sizeof(int));
    else if (len >= 1)
      on = *(const unsigned char *)val;
    zt_fd_set_bits(fd, ZT_FDB_BCAST_KNOWN | (on ? ZT_FDB_BCAST_ON : 0), on ? 0 : ZT_FDB_BCAST_ON);
  }
  if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY && zt_kind_is_dgram(kind)) {
    /* Forget what sends knew: the daemon's value is asked again when next needed. */
    zt_fd_set_bits(fd, 0, ZT_FDB_V6ONLY_KNOWN | ZT_FDB_V6ONLY_ON);
  }
  return zt_rpc_status(err, &r);
}
