/*
 * Receiving on a datagram socket (dgram.h). The record's header lands in an iovec of the
 * library's own, the payload straight in the app's buffers, and the app's control buffer gets
 * what the kernel put there for the app's own end (SO_TIMESTAMP…) followed by IP_PKTINFO, IP_TTL
 * and IP_TOS as the record's flags ask, in the kernel's order (ip_cmsg_recv_offset); on an
 * AF_INET6 socket IPV6_PKTINFO, IPV6_HOPLIMIT and IPV6_TCLASS (ip6_datagram_recv_ctl), of which
 * an IPv4 datagram (v4-mapped source) gets IPV6_PKTINFO only, as udpv6_recvmsg gives it.
 *
 * ICMP errors arrive in order as ZT_DG_ERROR records: a receive that meets one fails with its
 * errno; with IP_RECVERR set it is also kept (per process, a few sockets at a time) so that
 * recvmsg(MSG_ERRQUEUE) can still return it as a sock_extended_err, as the kernel keeps the error
 * queue apart from sk_err.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <string.h>

#include "dgram.h"
#include "ended.h"
#include "rpc.h"
#include "sockaddr.h"

struct record {
  uint8_t type, flags;
  uint16_t port;
  uint8_t tos, ttl;
  uint16_t err;
  uint32_t info, scope;
  uint8_t addr[16], local[16];
};

static void decode(const uint8_t *h, struct record *r) {
  r->type = h[ZT_DGO_TYPE];
  r->flags = h[ZT_DGO_FLAGS];
  memcpy(&r->port, h + ZT_DGO_PORT, 2);
  r->tos = h[ZT_DGO_TOS];
  r->ttl = h[ZT_DGO_TTL];
  memcpy(&r->err, h + ZT_DGO_ERR, 2);
  memcpy(&r->info, h + ZT_DGO_INFO, 4);
  memcpy(&r->scope, h + ZT_DGO_SCOPE, 4);
  memcpy(r->addr, h + ZT_DGO_ADDR, 16);
  memcpy(r->local, h + ZT_DGO_LOCAL, 16);
}

static int is_v4_mapped(const uint8_t *a) {
  static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return memcmp(a, prefix, 12) == 0;
}

/* ---- errors kept for MSG_ERRQUEUE ---- */

#define KEPT_SLOTS 8
enum { SLOT_FREE = 0, SLOT_BUSY = 1, SLOT_FULL = 2 };
static struct kept {
  int state;
  uint64_t ino;
  uint8_t hdr[ZT_DGRAM_HEADER];
  size_t len;
  uint8_t payload[ZT_ERR_PAYLOAD_MAX];
} kept[KEPT_SLOTS];

static void keep_error(uint64_t ino, const uint8_t *hdr, const uint8_t *payload, size_t len) {
  int i, expected;
  for (i = 0; i < KEPT_SLOTS; i++) { /* one per socket: a newer error replaces the older */
    expected = SLOT_FULL;
    if (kept[i].ino == ino &&
        __atomic_compare_exchange_n(&kept[i].state, &expected, SLOT_FREE, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
      break;
  }
  for (i = 0; i < KEPT_SLOTS; i++) {
    expected = SLOT_FREE;
    if (!__atomic_compare_exchange_n(&kept[i].state, &expected, SLOT_BUSY, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
      continue;
    kept[i].ino = ino;
    memcpy(kept[i].hdr, hdr, ZT_DGRAM_HEADER);
    kept[i].len = len < ZT_ERR_PAYLOAD_MAX ? len : ZT_ERR_PAYLOAD_MAX;
    memcpy(kept[i].payload, payload, kept[i].len);
    __atomic_store_n(&kept[i].state, SLOT_FULL, __ATOMIC_RELEASE);
    return;
  }
}

/* Takes the error kept for `ino` into hdr/payload: its payload length, or -1 when none. */
static ssize_t take_kept(uint64_t ino, uint8_t *hdr, uint8_t *payload) {
  int i, expected;
  ssize_t len;
  for (i = 0; i < KEPT_SLOTS; i++) {
    expected = SLOT_FULL;
    if (kept[i].ino != ino ||
        !__atomic_compare_exchange_n(&kept[i].state, &expected, SLOT_BUSY, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
      continue;
    if (kept[i].ino != ino) {
      __atomic_store_n(&kept[i].state, SLOT_FULL, __ATOMIC_RELEASE);
      continue;
    }
    memcpy(hdr, kept[i].hdr, ZT_DGRAM_HEADER);
    memcpy(payload, kept[i].payload, kept[i].len);
    len = (ssize_t)kept[i].len;
    __atomic_store_n(&kept[i].state, SLOT_FREE, __ATOMIC_RELEASE);
    return len;
  }
  return -1;
}

/* Drops the record at the head (after a peek found it is no datagram for the app). */
static void consume_head(int fd) {
  uint8_t h[ZT_DGRAM_HEADER];
  zt_real.recv(fd, h, sizeof(h), MSG_DONTWAIT);
}

/* Peeks at the head record: its full length (header included) with up to `cap` bytes in buf, or -1. */
static ssize_t peek_head(int fd, uint8_t *buf, size_t cap) {
  ssize_t n;
  do {
    n = zt_real.recv(fd, buf, cap, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
  } while (n < 0 && errno == EINTR);
  return n;
}

int zt_dgram_take_error(struct zt_dgram *d) {
  uint8_t buf[ZT_DGRAM_HEADER + ZT_ERR_PAYLOAD_MAX];
  struct record r;
  ssize_t n = peek_head(d->fd, buf, sizeof(buf));
  if (n < ZT_DGRAM_HEADER) return 0;
  decode(buf, &r);
  if (r.type != ZT_DG_ERROR) return 0;
  consume_head(d->fd);
  if (r.flags & ZT_DGF_RECVERR) {
    size_t got = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf);
    keep_error(d->ino, buf, buf + ZT_DGRAM_HEADER, got - ZT_DGRAM_HEADER);
  }
  return r.err > 0 && r.err < 4096 ? r.err : EIO;
}

int zt_dgram_next_size(struct zt_dgram *d) {
  uint8_t buf[ZT_DGRAM_HEADER];
  ssize_t n = peek_head(d->fd, buf, sizeof(buf));
  if (n < ZT_DGRAM_HEADER || buf[ZT_DGO_TYPE] != ZT_DG_DATA) return 0;
  return (int)(n - ZT_DGRAM_HEADER);
}

/* ---- control messages, written as the kernel's put_cmsg writes them ---- */

struct cmsg_out {
  char *p;
  size_t left;
  int *flags;
};

static void put_cmsg(struct cmsg_out *o, int level, int type, const void *data, size_t len) {
  struct cmsghdr h;
  size_t cmlen = CMSG_LEN(len), step;
  if (o->p == NULL || o->left < sizeof(struct cmsghdr)) {
    *o->flags |= MSG_CTRUNC;
    return;
  }
  if (o->left < cmlen) {
    *o->flags |= MSG_CTRUNC;
    cmlen = o->left;
  }
  h.cmsg_len = cmlen;
  h.cmsg_level = level;
  h.cmsg_type = type;
  memcpy(o->p, &h, sizeof(h));
  memcpy(o->p + CMSG_LEN(0), data, cmlen - CMSG_LEN(0));
  step = CMSG_SPACE(len) < o->left ? CMSG_SPACE(len) : o->left;
  o->p += step;
  o->left -= step;
}

static void put_ip_cmsgs(struct cmsg_out *o, const struct record *r) {
  if (r->flags & ZT_DGF_PKTINFO) {
    struct in_pktinfo pi;
    memset(&pi, 0, sizeof(pi));
    pi.ipi_ifindex = 0; /* the virtual network is no interface of this host */
    memcpy(&pi.ipi_spec_dst, r->local, 4);
    memcpy(&pi.ipi_addr, r->local, 4);
    put_cmsg(o, SOL_IP, IP_PKTINFO, &pi, sizeof(pi));
  }
  if (r->flags & ZT_DGF_RECVTTL) {
    int ttl = r->ttl;
    put_cmsg(o, SOL_IP, IP_TTL, &ttl, sizeof(ttl));
  }
  if (r->flags & ZT_DGF_RECVTOS) put_cmsg(o, SOL_IP, IP_TOS, &r->tos, 1);
}

/* The interface index IPV6_PKTINFO reports for the virtual network (proto.h). */
#define ZT_PKTINFO6_IFINDEX 1

/* An AF_INET6 socket's control messages, in ip6_datagram_recv_ctl's order. */
static void put_ipv6_cmsgs(struct cmsg_out *o, const struct record *r) {
  int v;
  if (r->flags & ZT_DGF_PKTINFO) {
    struct in6_pktinfo pi;
    memset(&pi, 0, sizeof(pi));
    memcpy(&pi.ipi6_addr, r->local, 16);
    pi.ipi6_ifindex = ZT_PKTINFO6_IFINDEX;
    put_cmsg(o, SOL_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
  }
  if (is_v4_mapped(r->addr)) return; /* udpv6_recvmsg: IPv4 datagrams get no IPv6-specific ones */
  if (r->flags & ZT_DGF_RECVTTL) {
    v = r->ttl;
    put_cmsg(o, SOL_IPV6, IPV6_HOPLIMIT, &v, sizeof(v));
  }
  if (r->flags & ZT_DGF_RECVTOS) {
    v = r->tos;
    put_cmsg(o, SOL_IPV6, IPV6_TCLASS, &v, sizeof(v));
  }
}

/* The source of a record as the socket's family's sockaddr into the app's msg_name. */
static void put_source(const struct zt_dgram *d, struct msghdr *msg, const uint8_t *addr, uint16_t port,
                       uint32_t scope) {
  uint8_t wire[ZT_SOCKADDR];
  socklen_t nl = msg->msg_namelen;
  zt_make_sockaddr(wire, d->family, addr, port, scope);
  zt_put_sockaddr(msg->msg_name, &nl, wire);
  msg->msg_namelen = nl;
}

/* Copies `len` bytes into the app's iovecs; the number copied. */
static size_t copy_to_iov(const struct msghdr *msg, const uint8_t *src, size_t len) {
  size_t done = 0, i;
  for (i = 0; i < (size_t)msg->msg_iovlen && done < len; i++) {
    size_t take = msg->msg_iov[i].iov_len < len - done ? msg->msg_iov[i].iov_len : len - done;
    memcpy(msg->msg_iov[i].iov_base, src + done, take);
    done += take;
  }
  return done;
}

/* The sock_extended_err of an error record and its offender (SO_EE_OFFENDER), for either family. */
static void put_extended_err(struct cmsg_out *o, const struct zt_dgram *d, const struct record *r) {
  struct sock_extended_err ee;
  memset(&ee, 0, sizeof(ee));
  ee.ee_errno = r->err;
  ee.ee_type = (uint8_t)(r->port >> 8);
  ee.ee_code = (uint8_t)(r->port & 0xff);
  ee.ee_info = r->info;
  if (d->family == AF_INET6) {
    struct {
      struct sock_extended_err ee;
      struct sockaddr_in6 offender;
    } e;
    /* ipv6_recv_error: an IPv4 ICMP error keeps its origin, its offender v4-mapped. */
    ee.ee_origin = is_v4_mapped(r->addr) ? SO_EE_ORIGIN_ICMP : SO_EE_ORIGIN_ICMP6;
    memset(&e, 0, sizeof(e));
    e.ee = ee;
    e.offender.sin6_family = AF_INET6;
    memcpy(&e.offender.sin6_addr, r->addr, 16);
    e.offender.sin6_scope_id = r->scope;
    put_cmsg(o, SOL_IPV6, IPV6_RECVERR, &e, sizeof(e));
  } else {
    struct {
      struct sock_extended_err ee;
      struct sockaddr_in offender;
    } e;
    ee.ee_origin = SO_EE_ORIGIN_ICMP;
    memset(&e, 0, sizeof(e));
    e.ee = ee;
    e.offender.sin_family = AF_INET;
    memcpy(&e.offender.sin_addr, r->addr, 4);
    put_cmsg(o, SOL_IP, IP_RECVERR, &e, sizeof(e));
  }
}

/* recvmsg(MSG_ERRQUEUE): the kept error, or one at the head of the queue; EAGAIN when none. */
static ssize_t recv_errqueue(struct zt_dgram *d, struct msghdr *msg) {
  uint8_t buf[ZT_DGRAM_HEADER + ZT_ERR_PAYLOAD_MAX];
  struct record r;
  struct cmsg_out o;
  ssize_t len = take_kept(d->ino, buf, buf + ZT_DGRAM_HEADER);
  size_t copied;
  if (len < 0) {
    ssize_t n = peek_head(d->fd, buf, sizeof(buf));
    if (n < ZT_DGRAM_HEADER || buf[ZT_DGO_TYPE] != ZT_DG_ERROR || !(buf[ZT_DGO_FLAGS] & ZT_DGF_RECVERR))
      return zt_fail(EAGAIN);
    consume_head(d->fd);
    len = ((size_t)n < sizeof(buf) ? n : (ssize_t)sizeof(buf)) - ZT_DGRAM_HEADER;
  }
  decode(buf, &r);
  msg->msg_flags = MSG_ERRQUEUE;
  copied = copy_to_iov(msg, buf + ZT_DGRAM_HEADER, (size_t)len);
  if (copied < (size_t)len) msg->msg_flags |= MSG_TRUNC;
  if (msg->msg_name != NULL) {
    /* Where the offending datagram went: the record does not say, the connected peer does. */
    uint8_t peer[ZT_SOCKADDR];
    socklen_t nl = msg->msg_namelen;
    if (!(d->bits & ZT_FDB_CONNECTED) || zt_rpc_name(ZT_OP_GETPEERNAME, d->ino, peer) != 0) {
      static const uint8_t none[16];
      zt_make_sockaddr(peer, d->family, none, 0, 0);
    }
    if (d->kind != ZT_KIND_UDP) memset(peer + 2, 0, 2); /* the port */
    zt_put_sockaddr(msg->msg_name, &nl, peer);
    msg->msg_namelen = nl;
  }
  o.p = msg->msg_control;
  o.left = msg->msg_control ? msg->msg_controllen : 0;
  o.flags = &msg->msg_flags;
  put_extended_err(&o, d, &r);
  msg->msg_controllen = (msg->msg_control ? msg->msg_controllen : 0) - o.left;
  return (ssize_t)copied;
}

ssize_t zt_dgram_recv(struct zt_dgram *d, struct msghdr *msg, int flags) {
  size_t iovlen = (size_t)msg->msg_iovlen;
  int rflags = flags & (MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
  if (flags & MSG_ERRQUEUE) return recv_errqueue(d, msg);
  if (iovlen > IOV_MAX) return zt_fail(EMSGSIZE);
  for (;;) {
    uint8_t hdr[ZT_DGRAM_HEADER];
    struct iovec iov[iovlen + 1];
    struct msghdr m;
    struct record r;
    struct cmsg_out o;
    size_t ctl = msg->msg_control ? msg->msg_controllen : 0;
    ssize_t n;
    iov[0].iov_base = hdr;
    iov[0].iov_len = sizeof(hdr);
    if (iovlen) memcpy(iov + 1, msg->msg_iov, iovlen * sizeof(struct iovec));
    memset(&m, 0, sizeof(m));
    m.msg_iov = iov;
    m.msg_iovlen = iovlen + 1;
    m.msg_control = ctl ? msg->msg_control : NULL;
    m.msg_controllen = ctl;
    n = zt_real.recvmsg(d->fd, &m, rflags);
    if (n < 0) return -1;
    if (n == 0) { /* end of stream: shutdown(SHUT_RD), or the daemon went away */
      /* The daemon's end has gone: said once (ENETDOWN), then the fd is quiet (ended.c) rather
       * than "receiving" empty datagrams for ever, which would keep the app's loop spinning. */
      if (!(d->bits & ZT_FDB_SHUT_RD) && zt_socket_ended(d->fd, d->ino, 1) == 0) return zt_fail(ENETDOWN);
      msg->msg_flags = 0;
      msg->msg_controllen = m.msg_controllen;
      return 0;
    }
    if (n < ZT_DGRAM_HEADER) {
      zt_trace("recv(%d): dropped a %zd-byte record shorter than its header", d->fd, n);
      if (flags & MSG_PEEK) consume_head(d->fd);
      continue;
    }
    decode(hdr, &r);
    if (r.type == ZT_DG_ERROR) {
      if (flags & MSG_PEEK) consume_head(d->fd); /* an error is reported once, peeked or not */
      if (r.flags & ZT_DGF_RECVERR) {
        uint8_t payload[ZT_ERR_PAYLOAD_MAX];
        size_t have = (size_t)(n - ZT_DGRAM_HEADER), got = 0, i;
        for (i = 0; i < iovlen && got < have && got < sizeof(payload); i++) {
          size_t take = msg->msg_iov[i].iov_len;
          if (take > have - got) take = have - got;
          if (take > sizeof(payload) - got) take = sizeof(payload) - got;
          memcpy(payload + got, msg->msg_iov[i].iov_base, take);
          got += take;
        }
        keep_error(d->ino, hdr, payload, got);
      }
      return zt_fail(r.err > 0 && r.err < 4096 ? r.err : EIO);
    }
    if (r.type != ZT_DG_DATA) {
      zt_trace("recv(%d): dropped a record of unknown type %u", d->fd, r.type);
      if (flags & MSG_PEEK) consume_head(d->fd);
      continue;
    }
    msg->msg_flags = m.msg_flags & (MSG_TRUNC | MSG_CTRUNC);
    if (msg->msg_name != NULL) put_source(d, msg, r.addr, r.port, r.scope);
    o.p = ctl ? (char *)msg->msg_control + m.msg_controllen : NULL;
    o.left = ctl - m.msg_controllen;
    o.flags = &msg->msg_flags;
    if (r.flags & (ZT_DGF_PKTINFO | ZT_DGF_RECVTTL | ZT_DGF_RECVTOS)) {
      if (d->family == AF_INET6)
        put_ipv6_cmsgs(&o, &r);
      else
        put_ip_cmsgs(&o, &r);
    }
    msg->msg_controllen = ctl - o.left;
    return n - ZT_DGRAM_HEADER;
  }
}
