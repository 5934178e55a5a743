/*
 * Sending on a datagram socket (dgram.h): the destination, sendmsg's IP_TOS/IP_TTL/IP_PKTINFO
 * (IPV6_TCLASS/IPV6_HOPLIMIT/IPV6_PKTINFO) control messages and the kernel's checks become the
 * record header; the payload follows as the app's own iovecs. Checks follow Linux's udp_sendmsg,
 * ping_v4_sendmsg and raw_sendmsg (udpv6_sendmsg, ping_v6_sendmsg, rawv6_sendmsg), in their
 * order, because they report the first failure. An AF_INET6 UDP socket sends to an AF_INET or
 * v4-mapped destination as IPv4 unless IPV6_V6ONLY is set (ENETUNREACH then). A UDP_SEGMENT control message (UDP GSO,
 * as QUIC stacks send) cuts the payload into datagrams of that size here, one record each, as the kernel cuts its
 * super-packet.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stddef.h>
#include <string.h>

#include "dgram.h"
#include "rpc.h"
#include "sockaddr.h"

static void put_u16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

#ifndef IPV6_FLOWINFO
#define IPV6_FLOWINFO 11 /* linux/in6.h; glibc's netinet/in.h lacks it */
#endif

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static int is_v4_mapped(const uint8_t *a) { return memcmp(a, v4_mapped_prefix, 12) == 0; }

/* Addresses that mean nothing without an interface (__ipv6_addr_needs_scope_id): link-local
 * unicast, interface- and link-local multicast. */
static int needs_scope(const uint8_t *a) {
  return (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || (a[0] == 0xff && ((a[1] & 0x0f) == 1 || (a[1] & 0x0f) == 2));
}

int zt_dgram_v6only(struct zt_dgram *d) {
  struct zt_reply r;
  int32_t v = 0;
  if (d->family != AF_INET6) return 0;
  if (!(d->bits & ZT_FDB_V6ONLY_KNOWN)) {
    if (zt_rpc_getsockopt(d->ino, IPPROTO_IPV6, IPV6_V6ONLY, sizeof(v), 0, 0, &r) == 0 && r.result >= 0 &&
        r.payload_len >= 4)
      memcpy(&v, r.payload, 4);
    d->bits |= ZT_FDB_V6ONLY_KNOWN | (v ? ZT_FDB_V6ONLY_ON : 0);
    zt_fd_set_bits(d->fd, d->bits & (ZT_FDB_V6ONLY_KNOWN | ZT_FDB_V6ONLY_ON), 0);
  }
  return (d->bits & ZT_FDB_V6ONLY_ON) != 0;
}

static void put_destination(uint8_t *hdr, const uint8_t *addr, size_t alen, uint16_t port, uint32_t scope) {
  hdr[ZT_DGO_FLAGS] |= ZT_DGF_TO;
  put_u16(hdr + ZT_DGO_PORT, port);
  put_u32(hdr + ZT_DGO_SCOPE, scope);
  memcpy(hdr + ZT_DGO_ADDR, addr, alen);
}

/* An AF_INET destination of an AF_INET6 UDP socket: its v4-mapped address (udp_sendmsg's checks). */
static int take_mapped_destination(struct zt_dgram *d, const void *name, socklen_t len, uint8_t *hdr) {
  struct sockaddr_in sin;
  uint8_t a[16];
  if (zt_dgram_v6only(d)) return ENETUNREACH;
  if (len < sizeof(sin)) return EINVAL;
  memcpy(&sin, name, sizeof(sin));
  if (sin.sin_port == 0) return EINVAL;
  memcpy(a, v4_mapped_prefix, 12);
  memcpy(a + 12, &sin.sin_addr, 4);
  put_destination(hdr, a, 16, ntohs(sin.sin_port), 0);
  return 0;
}

/*
 * The destination of an AF_INET6 socket from msg_name, as udpv6_sendmsg, ping_v6_sendmsg and
 * rawv6_sendmsg check it: 0, or an errno. *none: AF_UNSPEC on UDP, taken as no address at all.
 */
static int take_destination6(struct zt_dgram *d, const void *name, socklen_t len, uint8_t *hdr, int *none) {
  struct sockaddr_in6 sin6;
  sa_family_t f;
  if (len < sizeof(f)) return EINVAL;
  memcpy(&f, name, sizeof(f));
  if (d->kind == ZT_KIND_UDP) {
    if (f == AF_INET) return take_mapped_destination(d, name, len, hdr);
    if (f == AF_UNSPEC) {
      *none = 1;
      return 0;
    }
    if (f != AF_INET6) return EINVAL;
    if (len < ZT_SIN6_LEN_RFC2133) return EINVAL;
  } else if (d->kind == ZT_KIND_PING) {
    if (len < sizeof(sin6)) return EINVAL;
    if (f != AF_INET6) return EAFNOSUPPORT;
  } else {
    if (len < ZT_SIN6_LEN_RFC2133) return EINVAL;
    if (f != AF_INET6 && f != AF_UNSPEC) return EAFNOSUPPORT;
  }
  memset(&sin6, 0, sizeof(sin6));
  memcpy(&sin6, name, len < sizeof(sin6) ? len : sizeof(sin6));
  if (d->kind == ZT_KIND_UDP) {
    if (sin6.sin6_port == 0) return EINVAL;
    if (is_v4_mapped(sin6.sin6_addr.s6_addr) && zt_dgram_v6only(d)) return ENETUNREACH;
  }
  if (d->kind == ZT_KIND_PING &&
      (is_v4_mapped(sin6.sin6_addr.s6_addr) || (needs_scope(sin6.sin6_addr.s6_addr) && sin6.sin6_scope_id == 0)))
    return EINVAL;
  put_destination(hdr, sin6.sin6_addr.s6_addr, 16, d->kind == ZT_KIND_UDP ? ntohs(sin6.sin6_port) : 0,
                  sin6.sin6_scope_id);
  return 0;
}

/* The destination from msg_name: 0, or an errno. *none: no destination after all (a send as if
 * msg_name were NULL). */
static int take_destination(struct zt_dgram *d, const void *name, socklen_t len, uint8_t *hdr, int *none) {
  struct sockaddr_in sin;
  if (d->family == AF_INET6) return take_destination6(d, name, len, hdr, none);
  if (len < sizeof(sin)) return EINVAL;
  memcpy(&sin, name, sizeof(sin));
  /* UDP and raw take AF_UNSPEC as AF_INET (old BSD programs); ping sockets do not. */
  if (sin.sin_family != AF_INET && (d->kind == ZT_KIND_PING || sin.sin_family != AF_UNSPEC)) return EAFNOSUPPORT;
  if (d->kind == ZT_KIND_UDP && sin.sin_port == 0) return EINVAL;
  put_destination(hdr, (const uint8_t *)&sin.sin_addr, 4, ntohs(sin.sin_port), 0);
  return 0;
}

/* One SOL_IP control message (ip_cmsg_send): 0, or an errno. `mapped`: an AF_INET6 socket's
 * IPv4 datagram, whose source address the header carries v4-mapped. */
static int take_ip_cmsg(const struct cmsghdr *c, uint8_t *hdr, int mapped) {
  size_t dlen = c->cmsg_len - CMSG_LEN(0);
  int v;
  switch (c->cmsg_type) {
  case IP_PKTINFO: {
    struct in_pktinfo pi;
    if (c->cmsg_len != CMSG_LEN(sizeof(pi))) return EINVAL;
    memcpy(&pi, CMSG_DATA(c), sizeof(pi));
    if (pi.ipi_spec_dst.s_addr != 0) {
      hdr[ZT_DGO_FLAGS] |= ZT_DGF_SRC;
      if (mapped) memcpy(hdr + ZT_DGO_LOCAL, v4_mapped_prefix, 12);
      memcpy(hdr + ZT_DGO_LOCAL + (mapped ? 12 : 0), &pi.ipi_spec_dst, 4);
    }
    return 0;
  }
  case IP_TTL:
    if (c->cmsg_len != CMSG_LEN(sizeof(int))) return EINVAL;
    memcpy(&v, CMSG_DATA(c), sizeof(v));
    if (v < 1 || v > 255) return EINVAL;
    hdr[ZT_DGO_FLAGS] |= ZT_DGF_TTL;
    hdr[ZT_DGO_TTL] = (uint8_t)v;
    return 0;
  case IP_TOS:
    if (dlen == sizeof(int))
      memcpy(&v, CMSG_DATA(c), sizeof(v));
    else if (dlen == 1)
      v = *(const uint8_t *)CMSG_DATA(c);
    else
      return EINVAL;
    if (v < 0 || v > 255) return EINVAL;
    hdr[ZT_DGO_FLAGS] |= ZT_DGF_TOS;
    hdr[ZT_DGO_TOS] = (uint8_t)v;
    return 0;
  default:
    return EINVAL;
  }
}

/* One int of an IPv6 control message, -1 (the socket's own value) .. `max`: 0, or EINVAL. */
static int take_ipv6_int(const struct cmsghdr *c, int min, int max, int *v) {
  if (c->cmsg_len != CMSG_LEN(sizeof(int))) return EINVAL;
  memcpy(v, CMSG_DATA(c), sizeof(int));
  return *v < min || *v > max ? EINVAL : 0;
}

/* One SOL_IPV6 control message (ip6_datagram_send_ctl): 0, or an errno. */
static int take_ipv6_cmsg(const struct cmsghdr *c, uint8_t *hdr) {
  int v, err;
  switch (c->cmsg_type) {
  case IPV6_PKTINFO: {
    struct in6_pktinfo pi;
    if (c->cmsg_len < CMSG_LEN(sizeof(pi))) return EINVAL;
    memcpy(&pi, CMSG_DATA(c), sizeof(pi));
    /* The interface index names a host interface: the virtual network has none to pick. */
    if (!IN6_IS_ADDR_UNSPECIFIED(&pi.ipi6_addr)) {
      hdr[ZT_DGO_FLAGS] |= ZT_DGF_SRC;
      memcpy(hdr + ZT_DGO_LOCAL, &pi.ipi6_addr, 16);
    }
    return 0;
  }
  case IPV6_HOPLIMIT:
    err = take_ipv6_int(c, -1, 255, &v);
    if (err == 0 && v >= 0) {
      hdr[ZT_DGO_FLAGS] |= ZT_DGF_TTL;
      hdr[ZT_DGO_TTL] = (uint8_t)v;
    }
    return err;
  case IPV6_TCLASS:
    err = take_ipv6_int(c, -1, 255, &v);
    if (err == 0 && v >= 0) {
      hdr[ZT_DGO_FLAGS] |= ZT_DGF_TOS;
      hdr[ZT_DGO_TOS] = (uint8_t)v;
    }
    return err;
  case IPV6_DONTFRAG:
    return take_ipv6_int(c, -1, 1, &v);
  case IPV6_FLOWINFO:
    return c->cmsg_len < CMSG_LEN(4) ? EINVAL : 0;
  default:
    return EINVAL;
  }
}

/* Linux's UDP_MAX_SEGMENTS (128 in current kernels): the most datagrams one GSO send may make. */
#define ZT_UDP_MAX_SEGMENTS 128

/*
 * An AF_INET6 socket's IPv4 datagram is udp_sendmsg's (ip_cmsg_send with IPv6 allowed): SOL_IP
 * control messages apply, and of SOL_IPV6 only IPV6_PKTINFO, with a v4-mapped source.
 */
static int take_mapped_cmsg(const struct cmsghdr *c, uint8_t *hdr) {
  struct in6_pktinfo pi;
  if (c->cmsg_level == SOL_IP) return take_ip_cmsg(c, hdr, 1);
  if (c->cmsg_level != SOL_IPV6 || c->cmsg_type != IPV6_PKTINFO) return 0;
  if (c->cmsg_len < CMSG_LEN(sizeof(pi))) return EINVAL;
  memcpy(&pi, CMSG_DATA(c), sizeof(pi));
  if (!is_v4_mapped(pi.ipi6_addr.s6_addr)) return EINVAL;
  if (pi.ipi6_addr.s6_addr32[3] != 0) {
    hdr[ZT_DGO_FLAGS] |= ZT_DGF_SRC;
    memcpy(hdr + ZT_DGO_LOCAL, &pi.ipi6_addr, 16);
  }
  return 0;
}

/* sendmsg's control messages: 0, or an errno. SOL_UDP's UDP_SEGMENT sets *gso (UDP only); of the
 * IP levels an AF_INET socket takes SOL_IP, an AF_INET6 one SOL_IPV6 (SOL_IP for an IPv4
 * datagram, `v4`), and other levels are ignored, as the kernel ignores them. */
static int take_cmsgs(const struct zt_dgram *d, const struct msghdr *msg, uint8_t *hdr, size_t *gso, int v4) {
  struct msghdr m;
  struct cmsghdr *c;
  int err;
  if (msg->msg_control == NULL || msg->msg_controllen == 0) return 0;
  if (msg->msg_controllen > INT_MAX) return ENOBUFS;
  m = *msg;
  for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_len < sizeof(struct cmsghdr) || c->cmsg_len > m.msg_controllen - ((char *)c - (char *)m.msg_control))
      return EINVAL;
    if (c->cmsg_level == SOL_SOCKET) {
      /* __sock_cmsg_send: these are taken (and mean nothing on the virtual network), others refused. */
      if (c->cmsg_type == SO_MARK || c->cmsg_type == SO_TIMESTAMPING_OLD || c->cmsg_type == SCM_TXTIME ||
          c->cmsg_type == SO_PRIORITY || c->cmsg_type == SCM_RIGHTS || c->cmsg_type == SCM_CREDENTIALS)
        continue;
      return EINVAL;
    }
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_SEGMENT && d->kind == ZT_KIND_UDP) {
      uint16_t size;
      if (c->cmsg_len != CMSG_LEN(sizeof(size))) return EINVAL;
      memcpy(&size, CMSG_DATA(c), sizeof(size));
      *gso = size;
      continue;
    }
    if (d->family == AF_INET6 && v4) {
      err = take_mapped_cmsg(c, hdr);
    } else if (d->family == AF_INET6) {
      if (c->cmsg_level != SOL_IPV6) continue;
      err = take_ipv6_cmsg(c, hdr);
    } else {
      if (c->cmsg_level != SOL_IP) continue;
      err = take_ip_cmsg(c, hdr, 0);
    }
    if (err) return err;
  }
  return 0;
}

/* Ping sockets send ICMP (ICMPv6) echo requests only (ping_common_sendmsg): 0, or EINVAL. */
static int check_echo_request(const struct msghdr *msg, int family) {
  uint8_t head[2];
  size_t got = 0, i;
  for (i = 0; i < (size_t)msg->msg_iovlen && got < 2; i++) {
    size_t take = msg->msg_iov[i].iov_len < 2 - got ? msg->msg_iov[i].iov_len : 2 - got;
    memcpy(head + got, msg->msg_iov[i].iov_base, take);
    got += take;
  }
  return got == 2 && head[0] == (family == AF_INET6 ? 128 : 8) && head[1] == 0 ? 0 : EINVAL;
}

/* A send with no destination needs a connected socket: known here after connect(), else asked. */
static int check_connected(struct zt_dgram *d) {
  uint8_t peer[ZT_SOCKADDR];
  unsigned bits = ZT_FDB_CONNECTED;
  if (d->bits & ZT_FDB_CONNECTED) return 0;
  if (zt_rpc_name(ZT_OP_GETPEERNAME, d->ino, peer) != 0) return errno == ENOTCONN ? EDESTADDRREQ : errno;
  if (zt_sockaddr_family(peer) == AF_INET6 && is_v4_mapped(peer + offsetof(struct sockaddr_in6, sin6_addr)))
    bits |= ZT_FDB_PEER_MAPPED;
  d->bits |= bits;
  zt_fd_set_bits(d->fd, bits, 0);
  return 0;
}

/* Sending to 255.255.255.255 (v4-mapped on AF_INET6) needs SO_BROADCAST (EACCES otherwise, as the
 * kernel's route check). */
static int check_broadcast(struct zt_dgram *d, const uint8_t *hdr) {
  static const uint8_t all_ones[4] = {0xff, 0xff, 0xff, 0xff};
  const uint8_t *a = hdr + ZT_DGO_ADDR;
  struct zt_reply r;
  int32_t v = 0;
  if (!(hdr[ZT_DGO_FLAGS] & ZT_DGF_TO)) return 0;
  if (d->family == AF_INET6 ? !(is_v4_mapped(a) && memcmp(a + 12, all_ones, 4) == 0) : memcmp(a, all_ones, 4) != 0)
    return 0;
  if (!(d->bits & ZT_FDB_BCAST_KNOWN)) {
    if (zt_rpc_getsockopt(d->ino, SOL_SOCKET, SO_BROADCAST, sizeof(v), 0, 0, &r) == 0 && r.result >= 0 &&
        r.payload_len >= 4)
      memcpy(&v, r.payload, 4);
    d->bits |= ZT_FDB_BCAST_KNOWN | (v ? ZT_FDB_BCAST_ON : 0);
    zt_fd_set_bits(d->fd, d->bits & (ZT_FDB_BCAST_KNOWN | ZT_FDB_BCAST_ON), 0);
  }
  return (d->bits & ZT_FDB_BCAST_ON) ? 0 : EACCES;
}

/*
 * One record per gso-byte segment of the payload (the last may be shorter). Returns the payload
 * bytes of the segments sent; when a later segment does not fit a non-blocking socket the ones
 * before it count, as the kernel would have taken the whole super-packet or none of it.
 */
static ssize_t send_segments(struct zt_dgram *d, const struct msghdr *msg, size_t len, size_t gso, uint8_t *hdr,
                             int flags) {
  size_t iovlen = (size_t)msg->msg_iovlen, at = 0, vi = 0, voff = 0, sent = 0;
  struct iovec iov[iovlen + 1];
  while (at < len) {
    size_t want = len - at < gso ? len - at : gso, got = 0, k = 1;
    struct msghdr m;
    ssize_t n;
    iov[0].iov_base = hdr;
    iov[0].iov_len = ZT_DGRAM_HEADER;
    while (got < want && vi < iovlen) {
      size_t avail = msg->msg_iov[vi].iov_len - voff, take = avail < want - got ? avail : want - got;
      if (take > 0) {
        iov[k].iov_base = (char *)msg->msg_iov[vi].iov_base + voff;
        iov[k].iov_len = take;
        k++;
      }
      got += take;
      voff += take;
      if (voff == msg->msg_iov[vi].iov_len) {
        vi++;
        voff = 0;
      }
    }
    memset(&m, 0, sizeof(m));
    m.msg_iov = iov;
    m.msg_iovlen = k;
    n = zt_real.sendmsg(d->fd, &m, flags & (MSG_DONTWAIT | MSG_NOSIGNAL));
    if (n < 0) return sent > 0 ? (ssize_t)sent : -1;
    at += want;
    sent += want;
  }
  return (ssize_t)sent;
}

ssize_t zt_dgram_send(struct zt_dgram *d, const struct msghdr *msg, int flags) {
  uint8_t hdr[ZT_DGRAM_HEADER];
  size_t len = 0, i, iovlen = (size_t)msg->msg_iovlen, gso = 0, max;
  int err, none = 0, v4 = d->family == AF_INET;
  ssize_t n;
  memset(hdr, 0, sizeof(hdr));
  hdr[ZT_DGO_TYPE] = ZT_DG_DATA;
  if (iovlen > IOV_MAX) return zt_fail(EMSGSIZE);
  for (i = 0; i < iovlen; i++) {
    if (msg->msg_iov[i].iov_len > SSIZE_MAX - len) return zt_fail(EINVAL);
    len += msg->msg_iov[i].iov_len;
  }
  if (len > 0xffff) return zt_fail(EMSGSIZE);
  if (flags & MSG_OOB) return zt_fail(EOPNOTSUPP);
  if (d->kind == ZT_KIND_PING) {
    if (len < 8) return zt_fail(EINVAL);
    if (check_echo_request(msg, d->family)) return zt_fail(EINVAL);
  }
  err = 0;
  if (msg->msg_name != NULL && msg->msg_namelen > 0)
    err = take_destination(d, msg->msg_name, msg->msg_namelen, hdr, &none);
  if (!err && (msg->msg_name == NULL || msg->msg_namelen == 0 || none)) err = check_connected(d);
  /* An AF_INET6 socket's datagram to a v4-mapped address is IPv4 (udpv6_sendmsg hands it to udp_sendmsg). */
  if (d->family == AF_INET6)
    v4 = (hdr[ZT_DGO_FLAGS] & ZT_DGF_TO) ? is_v4_mapped(hdr + ZT_DGO_ADDR) : (d->bits & ZT_FDB_PEER_MAPPED) != 0;
  if (!err) err = take_cmsgs(d, msg, hdr, &gso, v4);
  /* udp_sendmsg: at most UDP_MAX_SEGMENTS segments; no larger than one datagram is a plain send */
  if (!err && gso > 0 && len > gso * ZT_UDP_MAX_SEGMENTS) err = EINVAL;
  if (!err && d->kind == ZT_KIND_UDP) err = check_broadcast(d, hdr);
  max = d->kind != ZT_KIND_UDP ? (d->family == AF_INET6 ? ZT_ICMP6_MAX_PAYLOAD : ZT_ICMP_MAX_PAYLOAD)
        : v4                   ? ZT_UDP_MAX_PAYLOAD
                               : ZT_UDP6_MAX_PAYLOAD;
  if (!err && len > max) err = EMSGSIZE;
  /* An ICMP error a connected socket received fails its next send, as the kernel's sk_err. */
  if (!err && (d->bits & ZT_FDB_CONNECTED)) err = zt_dgram_take_error(d);
  if (err) return zt_fail(err);
  if (gso > 0 && len > gso) return send_segments(d, msg, len, gso, hdr, flags);
  {
    struct iovec iov[iovlen + 1];
    struct msghdr m;
    iov[0].iov_base = hdr;
    iov[0].iov_len = sizeof(hdr);
    if (iovlen) memcpy(iov + 1, msg->msg_iov, iovlen * sizeof(struct iovec));
    memset(&m, 0, sizeof(m));
    m.msg_iov = iov;
    m.msg_iovlen = iovlen + 1;
    n = zt_real.sendmsg(d->fd, &m, flags & (MSG_DONTWAIT | MSG_NOSIGNAL));
  }
  if (n < 0) return -1;
  return n >= (ssize_t)sizeof(hdr) ? n - (ssize_t)sizeof(hdr) : 0;
}
