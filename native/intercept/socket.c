/*
 * socket() and socketpair(): which address families a program under the library may have, and
 * which fds are the daemon's sockets (zt_classify). Nothing may reach the host's network around
 * the container: an IPv4 or IPv6 TCP, UDP or ICMP socket becomes the app's end of a socketpair the daemon holds;
 * families that stay on this host are the kernel's; every other family is refused as a kernel
 * without it refuses it (the table in README.md).
 */
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdtable.h"
#include "hooks.h"
#include "rpc.h"

enum family_outcome {
  FAMILY_KERNEL,  /* stays on this host: the kernel's */
  FAMILY_VIRTUAL, /* IPv4, IPv6: TCP, UDP and ICMP go to the virtual network, the rest is refused */
  FAMILY_REFUSED, /* would reach a network around the container */
};

/*
 * Netlink protocols that only read or report this host's state, which libc and common daemons
 * open (getifaddrs, if_nameindex, AI_ADDRCONFIG; audit; SELinux; uevents). The others configure
 * or inspect the host's network (NETFILTER, XFRM, SOCK_DIAG, GENERIC…) and are refused.
 */
static int netlink_allowed(int protocol) {
  return protocol == NETLINK_ROUTE || protocol == NETLINK_AUDIT || protocol == NETLINK_SELINUX ||
         protocol == NETLINK_KOBJECT_UEVENT;
}

/* What becomes of a socket of `domain`; *err is the errno when refused. */
static enum family_outcome family_policy(int domain, int protocol, int *err) {
  switch (domain) {
  case AF_UNIX:
  case AF_ALG: /* the kernel's crypto API: no network */
    return FAMILY_KERNEL;
  case AF_NETLINK:
    if (netlink_allowed(protocol)) return FAMILY_KERNEL;
    *err = EPROTONOSUPPORT;
    return FAMILY_REFUSED;
  case AF_INET:
  case AF_INET6:
    return FAMILY_VIRTUAL;
  default:
    /* AF_PACKET, AF_VSOCK, AF_XDP, AF_BLUETOOTH, AF_CAN, AF_TIPC… and any family added later. */
    *err = EAFNOSUPPORT;
    return FAMILY_REFUSED;
  }
}

int zt_classify(int fd, uint64_t *ino, int *kind, int *family) {
  struct stat st;
  int v, acc, whois, fam;
  socklen_t l;
  enum zt_ino_state s;
  if (!zt_enabled || zt_misconfigured || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return 0;
  *ino = (uint64_t)st.st_ino;
  s = zt_ino_lookup_family(*ino, &fam);
  if (s == ZT_INO_FOREIGN) return 0;
  if (s != ZT_INO_UNKNOWN) {
    *kind = zt_kind_of_state(s);
    if (family != NULL) *family = fam;
    /* A datagram socket reached by a number the table does not know yet (a dup made without the
     * hooks, say): from now on its data path is recognised too. */
    if (zt_kind_is_dgram(*kind) && !zt_fd_maybe_dgram(fd)) zt_fd_set(fd, *ino, *kind, fam);
    return 1;
  }
  l = sizeof(v);
  if (zt_real.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) != 0 || v != AF_UNIX) goto foreign;
  l = sizeof(v);
  /* TCP sockets are stream ends, datagram sockets seqpacket ends (proto.h). */
  if (zt_real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) != 0 || (v != SOCK_STREAM && v != SOCK_SEQPACKET))
    goto foreign;
  l = sizeof(acc);
  if (zt_real.getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) == 0 && acc) goto foreign;
  whois = zt_rpc_whois(*ino);
  if (whois < 0) return 0; /* daemon away: not known */
  if (whois > 0) {
    /* Met without socket() (inherited, received): its family is what its name says. */
    fam = zt_rpc_family(*ino);
    *kind = whois;
    if (family != NULL) *family = fam;
    zt_ino_remember_family(*ino, zt_state_of_kind(whois), fam);
    if (zt_kind_is_dgram(whois)) zt_fd_set(fd, *ino, whois, fam);
    return 1;
  }
foreign:
  zt_ino_remember(*ino, ZT_INO_FOREIGN);
  return 0;
}

void zt_remember_fd(int fd, enum zt_ino_state state, int family) {
  struct stat st;
  if (fd >= 0 && fstat(fd, &st) == 0) zt_ino_remember_family((uint64_t)st.st_ino, state, family);
}

/*
 * What an AF_INET or AF_INET6 socket of `base` type and `protocol` is on the virtual network:
 * ZT_KIND_TCP, ZT_KIND_UDP, ZT_KIND_PING (ICMP or ICMPv6 "ping" datagram socket),
 * ZT_KIND_RAW_ICMP, or 0 (refused with EPROTONOSUPPORT, as the kernel refuses a protocol the type
 * does not carry).
 */
static int inet_kind(int domain, int base, int protocol) {
  int icmp = domain == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
  if (base == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP)) return ZT_KIND_TCP;
  if (base == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP)) return ZT_KIND_UDP;
  if (base == SOCK_DGRAM && protocol == icmp) return ZT_KIND_PING;
  if (base == SOCK_RAW && protocol == icmp) return ZT_KIND_RAW_ICMP;
  return 0;
}

/* The daemon's end must be the kind of socket the protocol promises: a stream for TCP, a
 * seqpacket socket for datagrams. */
static int end_has_type(int fd, int want) {
  int v = 0;
  socklen_t l = sizeof(v);
  return zt_real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) == 0 && v == want;
}

static const char *family_name(int domain) { return domain == AF_INET6 ? "AF_INET6" : "AF_INET"; }

/* socket(AF_INET or AF_INET6, …) under the library: TCP, UDP and ICMP on the virtual network, anything else refused. */
static int inet_socket(int domain, int type, int protocol) {
  int base, err, fd, kind, cloexec = (type & SOCK_CLOEXEC) != 0;
  struct stat st;
  if (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC | 0xf)) return zt_fail(EINVAL);
  base = type & 0xf;
  kind = inet_kind(domain, base, protocol);
  if (kind == 0) {
    zt_trace("socket(%s, %d, %d): not carried on the virtual network", family_name(domain), base, protocol);
    return zt_fail(EPROTONOSUPPORT);
  }
  err = zt_rpc_socket((uint32_t)type, protocol, domain, cloexec, &fd);
  if (err) return zt_fail(err);
  if (!end_has_type(fd, kind == ZT_KIND_TCP ? SOCK_STREAM : SOCK_SEQPACKET) || fstat(fd, &st) != 0) {
    zt_trace("socket(): the daemon handed out the wrong kind of end");
    close(fd);
    return zt_fail(EIO);
  }
  if ((type & SOCK_NONBLOCK) && zt_real.fcntl(fd, F_SETFL, zt_real.fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
    close(fd);
    return zt_fail(EIO);
  }
  zt_ino_remember_family((uint64_t)st.st_ino, zt_state_of_kind(kind), domain);
  zt_fd_set(fd, (uint64_t)st.st_ino, kind, domain);
  zt_trace("socket(%s, %d, %d) = %d", family_name(domain), base, protocol, fd);
  return fd;
}

ZT_EXPORT int socket(int domain, int type, int protocol) {
  int err = 0, fd;
  zt_ensure_init();
  if (!zt_enabled) return zt_real.socket(domain, type, protocol);
  if (zt_misconfigured && (domain == AF_INET || domain == AF_INET6)) return zt_fail(zt_misconfigured);
  switch (family_policy(domain, protocol, &err)) {
  case FAMILY_KERNEL:
    fd = zt_real.socket(domain, type, protocol);
    if (domain == AF_UNIX) zt_remember_fd(fd, ZT_INO_FOREIGN, AF_UNIX);
    return fd;
  case FAMILY_VIRTUAL:
    return inet_socket(domain, type, protocol);
  case FAMILY_REFUSED:
  default:
    zt_trace("socket(%d, %d, %d) refused: the family would reach around the virtual network", domain, type, protocol);
    return zt_fail(err);
  }
}

ZT_EXPORT int socketpair(int domain, int type, int protocol, int sv[2]) {
  int err = 0, rc;
  zt_ensure_init();
  if (!zt_enabled) return zt_real.socketpair(domain, type, protocol, sv);
  switch (family_policy(domain, protocol, &err)) {
  case FAMILY_KERNEL:
    rc = zt_real.socketpair(domain, type, protocol, sv);
    if (rc == 0 && domain == AF_UNIX) {
      zt_remember_fd(sv[0], ZT_INO_FOREIGN, AF_UNIX);
      zt_remember_fd(sv[1], ZT_INO_FOREIGN, AF_UNIX);
    }
    return rc;
  case FAMILY_VIRTUAL:
    return zt_fail(EOPNOTSUPP); /* as the kernel: TCP has no socketpair */
  case FAMILY_REFUSED:
  default:
    zt_trace("socketpair(%d, %d, %d) refused", domain, type, protocol);
    return zt_fail(err);
  }
}
