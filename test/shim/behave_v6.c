/*
 * IPv6 socket behaviours (TCP, UDP, ICMPv6) libztintercept.so must reproduce.
 * `behave_v6 <case> <ipv6 addr> <ipv4 addr>`: every case prints lines that must equal the kernel's
 * own run (on ::1 and 127.0.0.1 in a network namespace of its own). Addresses and ports are
 * compared, never printed, except what is the same everywhere (::, ::ffff: prefixes, lengths).
 * Datagrams through the daemon arrive a moment after the send: every receive that must not block
 * first waits for POLLIN.
 */
#define _GNU_SOURCE
/* linux/errqueue.h needs struct timespec first. */
#include <time.h>

#include <linux/errqueue.h>
#include <netinet/icmp6.h>
#include <netinet/udp.h>
#include <signal.h>

#include "common.h"

static const char *addr6 = "::1";
static const char *addr4 = "127.0.0.1";

static struct sockaddr_in6 mk6(const char *ip, int port) {
  struct sockaddr_in6 a;
  memset(&a, 0, sizeof(a));
  a.sin6_family = AF_INET6;
  a.sin6_port = htons((uint16_t)port);
  if (inet_pton(AF_INET6, ip, &a.sin6_addr) != 1) die("inet_pton");
  return a;
}

/* ::ffff:<addr4> */
static struct in6_addr mapped4(void) {
  struct in6_addr m;
  memset(&m, 0, sizeof(m));
  m.s6_addr[10] = m.s6_addr[11] = 0xff;
  inet_pton(AF_INET, addr4, &m.s6_addr[12]);
  return m;
}

static struct in6_addr host6(void) { return mk6(addr6, 0).sin6_addr; }

static int same6(const struct in6_addr *a, const struct in6_addr *b) { return memcmp(a, b, 16) == 0; }

static int sock6(int type, int protocol) {
  int fd = socket(AF_INET6, type, protocol);
  if (fd < 0) die("socket");
  return fd;
}

static int readable(int fd, int ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  return poll(&p, 1, ms) > 0;
}

static int port6(int fd) {
  struct sockaddr_in6 a;
  socklen_t l = sizeof(a);
  if (getsockname(fd, (struct sockaddr *)&a, &l) != 0) die("getsockname");
  return ntohs(a.sin6_port);
}

/* Binds an AF_INET6 socket to `ip` (port chosen by the system); its port. */
static int bind6(int fd, const char *ip) {
  struct sockaddr_in6 a = mk6(ip, 0);
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) die("bind");
  return port6(fd);
}

/* What a sockaddr_in6 holds, as comparable text: family, which address, port nonzero, flowinfo, scope. */
static void say_name6(const char *what, const struct sockaddr_in6 *a, socklen_t len) {
  struct in6_addr h = host6(), m = mapped4();
  const char *which = same6(&a->sin6_addr, &in6addr_any)    ? "any"
                      : same6(&a->sin6_addr, &h)            ? "host6"
                      : same6(&a->sin6_addr, &m)            ? "mapped4"
                      : IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) ? "other-mapped"
                                                            : "other";
  SAY("%s family %d addr %s port %s flowinfo %u scope %u len %d", what, a->sin6_family, which,
      a->sin6_port ? "set" : "0", ntohl(a->sin6_flowinfo), a->sin6_scope_id, (int)len);
}

static void case_flags(void) {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  SAY("nonblock %d cloexec %d", (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0, (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  SAY("tcp type %d domain %d protocol %d v6only %d", get_int_opt(fd, SOL_SOCKET, SO_TYPE),
      get_int_opt(fd, SOL_SOCKET, SO_DOMAIN), get_int_opt(fd, SOL_SOCKET, SO_PROTOCOL),
      get_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY));
  close(fd);
  fd = sock6(SOCK_DGRAM | SOCK_NONBLOCK, IPPROTO_UDP);
  SAY("udp type %d domain %d protocol %d nonblock %d v6only %d", get_int_opt(fd, SOL_SOCKET, SO_TYPE),
      get_int_opt(fd, SOL_SOCKET, SO_DOMAIN), get_int_opt(fd, SOL_SOCKET, SO_PROTOCOL),
      (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0, get_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY));
  close(fd);
  fd = socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
  SAY("ping6 %s type %d domain %d protocol %d", fd < 0 ? ename(errno) : "OK", get_int_opt(fd, SOL_SOCKET, SO_TYPE),
      get_int_opt(fd, SOL_SOCKET, SO_DOMAIN), get_int_opt(fd, SOL_SOCKET, SO_PROTOCOL));
  close(fd);
  fd = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
  SAY("raw6 %s type %d domain %d protocol %d", fd < 0 ? ename(errno) : "OK", get_int_opt(fd, SOL_SOCKET, SO_TYPE),
      get_int_opt(fd, SOL_SOCKET, SO_DOMAIN), get_int_opt(fd, SOL_SOCKET, SO_PROTOCOL));
  close(fd);
  SAY("dgram tcp %s", RES(socket(AF_INET6, SOCK_DGRAM, IPPROTO_TCP)));
  SAY("stream udp %s", RES(socket(AF_INET6, SOCK_STREAM, IPPROTO_UDP)));
  SAY("dgram icmp (v4) %s", RES(socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMP)));
  SAY("bad type flags %s", RES(socket(AF_INET6, SOCK_STREAM | 0x100000, 0)));
}

/* The kernel's checks of the app's sockaddr on AF_INET6 and AF_INET sockets. */
static void case_addr(void) {
  int t = sock6(SOCK_STREAM, 0), u = sock6(SOCK_DGRAM, 0), t4, p;
  struct sockaddr_in6 a = mk6("::", 0), got;
  struct sockaddr_in sin = mkaddr(addr4, 0);
  struct sockaddr_storage big;
  socklen_t l = sizeof(got);
  memset(&got, 0x5a, sizeof(got));
  SAY("unbound name %s", RES(getsockname(t, (struct sockaddr *)&got, &l)));
  say_name6("unbound", &got, l);
  l = sizeof(got);
  SAY("unbound peer %s", RES(getpeername(t, (struct sockaddr *)&got, &l)));
  SAY("bind short 23 %s", RES(bind(t, (struct sockaddr *)&a, 23)));
  SAY("bind inet 16 %s", RES(bind(t, (struct sockaddr *)&sin, sizeof(sin))));
  memset(&big, 0, sizeof(big));
  memcpy(&big, &sin, sizeof(sin));
  SAY("bind inet 28 %s", RES(bind(t, (struct sockaddr *)&big, sizeof(a))));
  big.ss_family = AF_UNSPEC;
  SAY("bind unspec 28 %s", RES(bind(t, (struct sockaddr *)&big, sizeof(a))));
  SAY("connect short 23 %s", RES(connect(t, (struct sockaddr *)&a, 23)));
  SAY("connect inet 16 %s", RES(connect(t, (struct sockaddr *)&sin, sizeof(sin))));
  big.ss_family = AF_INET;
  SAY("connect inet 28 %s", RES(connect(t, (struct sockaddr *)&big, sizeof(a))));
  /* RFC 2133's 24 bytes (no sin6_scope_id) are a whole address. */
  a = mk6(addr6, 0);
  SAY("bind rfc2133 24 %s", RES(bind(t, (struct sockaddr *)&a, 24)));
  l = sizeof(got);
  getsockname(t, (struct sockaddr *)&got, &l);
  say_name6("bound", &got, l);
  /* Truncated to the buffer, the full length reported. */
  memset(&got, 0x5a, sizeof(got));
  l = 10;
  p = getsockname(t, (struct sockaddr *)&got, &l);
  SAY("short buffer %s len %d family %d port same %d tail untouched %d", p < 0 ? ename(errno) : "OK", (int)l,
      got.sin6_family, got.sin6_port == htons((uint16_t)port6(t)), got.sin6_flowinfo == 0x5a5a5a5a);
  SAY("second bind %s", RES(bind(t, (struct sockaddr *)&a, sizeof(a))));
  /* An AF_INET socket refuses an AF_INET6 address. */
  t4 = socket(AF_INET, SOCK_STREAM, 0);
  SAY("inet socket bind inet6 %s", RES(bind(t4, (struct sockaddr *)&a, sizeof(a))));
  SAY("inet socket connect inet6 %s", RES(connect(t4, (struct sockaddr *)&a, sizeof(a))));
  close(t4);
  t4 = socket(AF_INET, SOCK_DGRAM, 0);
  SAY("inet udp sendto inet6 %s", RES(sendto(t4, "x", 1, 0, (struct sockaddr *)&a, sizeof(a))));
  close(t4);
  /* UDP: an AF_INET address is the v4-mapped one (udpv6_pre_connect); a short one is refused. */
  sin = mkaddr(addr4, 9);
  SAY("udp connect inet 8 %s", RES(connect(u, (struct sockaddr *)&sin, 8)));
  SAY("udp connect inet %s", RES(connect(u, (struct sockaddr *)&sin, sizeof(sin))));
  l = sizeof(got);
  SAY("udp peer %s", RES(getpeername(u, (struct sockaddr *)&got, &l)));
  say_name6("udp peer", &got, l);
  close(u);
  u = sock6(SOCK_DGRAM, 0);
  p = 1;
  SAY("v6only on %s", RES(setsockopt(u, IPPROTO_IPV6, IPV6_V6ONLY, &p, sizeof(p))));
  SAY("v6only udp connect inet %s", RES(connect(u, (struct sockaddr *)&sin, sizeof(sin))));
  a = mk6(addr6, 9);
  SAY("v6only udp connect inet6 %s", RES(connect(u, (struct sockaddr *)&a, sizeof(a))));
  SAY("v6only after connect %s", RES(setsockopt(u, IPPROTO_IPV6, IPV6_V6ONLY, &p, sizeof(p))));
  big.ss_family = 7;
  SAY("udp connect family 7 %s", RES(connect(u, (struct sockaddr *)&big, sizeof(a))));
  close(u);
  /* Ping sockets take AF_INET6 only (ip6_datagram_connect_v6_only). */
  u = socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
  if (u >= 0) {
    SAY("ping6 connect inet %s", RES(connect(u, (struct sockaddr *)&sin, sizeof(sin))));
    big.ss_family = AF_INET;
    SAY("ping6 connect inet 28 %s", RES(connect(u, (struct sockaddr *)&big, sizeof(a))));
    SAY("ping6 bind inet 28 %s", RES(bind(u, (struct sockaddr *)&big, sizeof(a))));
    close(u);
  }
  close(t);
}

/* A TCP listener on `::`; v6only as asked. Its port in *port. */
static int listener6(int *port, int v6only) {
  int fd = sock6(SOCK_STREAM, 0), one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (v6only >= 0 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) != 0) die("v6only");
  *port = bind6(fd, "::");
  if (listen(fd, 8) != 0) die("listen");
  return fd;
}

/* Sends a byte each way over an accepted pair; 1 when both arrive. */
static int exchange(int a, int b) {
  char c = 0;
  return write(a, "p", 1) == 1 && read(b, &c, 1) == 1 && c == 'p' && write(b, "q", 1) == 1 && read(a, &c, 1) == 1 &&
         c == 'q';
}

static void case_dual(void) {
  int port, l6, c, s, v, q;
  struct sockaddr_in6 peer, name;
  struct sockaddr_in sin;
  socklen_t pl = sizeof(peer), nl;
  l6 = listener6(&port, -1);
  SAY("listener v6only %d", get_int_opt(l6, IPPROTO_IPV6, IPV6_V6ONLY));
  SAY("v6only after bind %s", RES(setsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &(int){1}, sizeof(int))));
  /* An IPv4 client reaches the dual-stack listener and is seen as ::ffff:a.b.c.d. */
  c = socket(AF_INET, SOCK_STREAM, 0);
  sin = mkaddr(addr4, port);
  SAY("ipv4 client connect %s", RES(connect(c, (struct sockaddr *)&sin, sizeof(sin))));
  s = accept(l6, (struct sockaddr *)&peer, &pl);
  SAY("accept %s", RES(s));
  say_name6("accepted peer", &peer, pl);
  pl = sizeof(peer);
  getpeername(s, (struct sockaddr *)&peer, &pl);
  say_name6("getpeername", &peer, pl);
  nl = sizeof(name);
  getsockname(s, (struct sockaddr *)&name, &nl);
  say_name6("getsockname", &name, nl);
  SAY("accepted domain %d", get_int_opt(s, SOL_SOCKET, SO_DOMAIN));
  {
    struct sockaddr_in cl;
    socklen_t cll = sizeof(cl);
    getsockname(c, (struct sockaddr *)&cl, &cll);
    SAY("peer port is the client's %d", cl.sin_port == peer.sin6_port);
  }
  SAY("ipv4 exchange %d", exchange(c, s));
  close(c);
  close(s);
  /* An IPv6 client. */
  c = sock6(SOCK_STREAM, 0);
  name = mk6(addr6, port);
  SAY("ipv6 client connect %s", RES(connect(c, (struct sockaddr *)&name, sizeof(name))));
  pl = sizeof(peer);
  s = accept(l6, (struct sockaddr *)&peer, &pl);
  SAY("accept %s", RES(s));
  say_name6("accepted peer", &peer, pl);
  nl = sizeof(name);
  getpeername(c, (struct sockaddr *)&name, &nl);
  say_name6("client peer", &name, nl);
  SAY("peer port is the client's %d", port6(c) == ntohs(peer.sin6_port));
  SAY("ipv6 exchange %d", exchange(c, s));
  close(c);
  close(s);
  /* An IPv6 client of a v4-mapped address is an IPv4 connection. */
  c = sock6(SOCK_STREAM, 0);
  name = mk6("::", port);
  name.sin6_addr = mapped4();
  SAY("mapped client connect %s", RES(connect(c, (struct sockaddr *)&name, sizeof(name))));
  pl = sizeof(peer);
  s = accept(l6, (struct sockaddr *)&peer, &pl);
  say_name6("mapped accepted peer", &peer, pl);
  nl = sizeof(name);
  getsockname(c, (struct sockaddr *)&name, &nl);
  say_name6("mapped client name", &name, nl);
  close(c);
  close(s);
  /* The port is taken for IPv4 too: a `::` listener without V6ONLY holds 0.0.0.0:port. */
  c = socket(AF_INET, SOCK_STREAM, 0);
  sin = mkaddr("0.0.0.0", port);
  SAY("ipv4 bind same port %s", RES(bind(c, (struct sockaddr *)&sin, sizeof(sin))));
  close(c);
  close(l6);
  /* IPV6_V6ONLY=1: IPv4 clients are refused, IPv6 ones accepted. */
  l6 = listener6(&port, 1);
  SAY("v6only listener v6only %d", get_int_opt(l6, IPPROTO_IPV6, IPV6_V6ONLY));
  c = socket(AF_INET, SOCK_STREAM, 0);
  sin = mkaddr(addr4, port);
  SAY("v6only ipv4 client connect %s", RES(connect(c, (struct sockaddr *)&sin, sizeof(sin))));
  close(c);
  c = sock6(SOCK_STREAM, 0);
  v = 1;
  SAY("client v6only %s", RES(setsockopt(c, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v))));
  name = mk6("::", port);
  name.sin6_addr = mapped4();
  SAY("v6only client to mapped %s", RES(connect(c, (struct sockaddr *)&name, sizeof(name))));
  close(c);
  c = sock6(SOCK_STREAM, 0);
  name = mk6(addr6, port);
  SAY("v6only ipv6 client connect %s", RES(connect(c, (struct sockaddr *)&name, sizeof(name))));
  s = accept(l6, NULL, NULL);
  SAY("v6only accept %s", RES(s));
  SAY("v6only exchange %d", exchange(c, s));
  close(c);
  close(s);
  /* With V6ONLY the IPv4 port is free. */
  c = socket(AF_INET, SOCK_STREAM, 0);
  sin = mkaddr(addr4, port);
  SAY("v6only ipv4 bind same port %s", RES(bind(c, (struct sockaddr *)&sin, sizeof(sin))));
  close(c);
  close(l6);
  /* TCP options at level IPPROTO_IPV6. */
  q = sock6(SOCK_STREAM, 0);
  v = 0x28;
  SAY("tclass set %s", RES(setsockopt(q, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof(v))));
  SAY("tclass get %d", get_int_opt(q, IPPROTO_IPV6, IPV6_TCLASS));
  v = 9;
  SAY("unicast hops set %s", RES(setsockopt(q, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof(v))));
  SAY("unicast hops get %d", get_int_opt(q, IPPROTO_IPV6, IPV6_UNICAST_HOPS));
  v = -1;
  SAY("unicast hops default %s", RES(setsockopt(q, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof(v))));
  SAY("unicast hops get %d", get_int_opt(q, IPPROTO_IPV6, IPV6_UNICAST_HOPS));
  v = 300;
  SAY("unicast hops 300 %s", RES(setsockopt(q, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof(v))));
  SAY("unknown option %s", RES(setsockopt(q, IPPROTO_IPV6, 0x7777, &v, sizeof(v))));
  close(q);
}

/* Receives one datagram (waiting for it first) with its control messages; payload length or -errno. */
static ssize_t recv6(int fd, void *buf, size_t n, struct sockaddr_in6 *from, socklen_t *fromlen, char *ctl,
                     size_t *ctllen) {
  struct iovec iov = {.iov_base = buf, .iov_len = n};
  struct msghdr m;
  ssize_t r;
  if (!readable(fd, 3000)) return -EAGAIN;
  memset(&m, 0, sizeof(m));
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_name = from;
  m.msg_namelen = fromlen ? *fromlen : 0;
  m.msg_control = ctl;
  m.msg_controllen = ctllen ? *ctllen : 0;
  r = recvmsg(fd, &m, MSG_DONTWAIT);
  if (r < 0) return -errno;
  if (fromlen) *fromlen = m.msg_namelen;
  if (ctllen) *ctllen = m.msg_controllen;
  return r;
}

/* The control messages of a receive, as comparable text. */
static void say_cmsgs(const char *what, char *ctl, size_t len) {
  struct msghdr m;
  struct cmsghdr *c;
  struct in6_addr h = host6(), mp = mapped4();
  memset(&m, 0, sizeof(m));
  m.msg_control = ctl;
  m.msg_controllen = len;
  for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
    int v = 0;
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof(pi));
      SAY("%s cmsg pktinfo len %d addr %s ifindex %u", what, (int)c->cmsg_len,
          same6(&pi.ipi6_addr, &h)    ? "host6"
          : same6(&pi.ipi6_addr, &mp) ? "mapped4"
                                      : "other",
          pi.ipi6_ifindex);
      continue;
    }
    if (c->cmsg_len == CMSG_LEN(sizeof(int))) memcpy(&v, CMSG_DATA(c), sizeof(v));
    SAY("%s cmsg level %d type %d len %d value %d", what, c->cmsg_level, c->cmsg_type, (int)c->cmsg_len, v);
  }
}

/* sendmsg with up to three IPv6 control messages (-2: leave it out). */
static ssize_t send_with(int fd, const struct sockaddr_in6 *to, const void *buf, size_t n, int tclass, int hops,
                         const struct in6_addr *src) {
  union {
    char buf[3 * CMSG_SPACE(sizeof(struct in6_pktinfo))];
    struct cmsghdr align;
  } u;
  struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
  struct msghdr m;
  struct cmsghdr *c;
  size_t used = 0;
  memset(&m, 0, sizeof(m));
  memset(&u, 0, sizeof(u));
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_name = (void *)to;
  m.msg_namelen = to ? sizeof(*to) : 0;
  m.msg_control = u.buf;
  m.msg_controllen = sizeof(u.buf);
  c = CMSG_FIRSTHDR(&m);
  if (tclass != -2) {
    c->cmsg_level = IPPROTO_IPV6, c->cmsg_type = IPV6_TCLASS, c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &tclass, sizeof(int));
    used += CMSG_SPACE(sizeof(int));
    c = CMSG_NXTHDR(&m, c);
  }
  if (hops != -2) {
    c->cmsg_level = IPPROTO_IPV6, c->cmsg_type = IPV6_HOPLIMIT, c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &hops, sizeof(int));
    used += CMSG_SPACE(sizeof(int));
    c = CMSG_NXTHDR(&m, c);
  }
  if (src != NULL) {
    struct in6_pktinfo pi;
    memset(&pi, 0, sizeof(pi));
    pi.ipi6_addr = *src;
    c->cmsg_level = IPPROTO_IPV6, c->cmsg_type = IPV6_PKTINFO, c->cmsg_len = CMSG_LEN(sizeof(pi));
    memcpy(CMSG_DATA(c), &pi, sizeof(pi));
    used += CMSG_SPACE(sizeof(pi));
  }
  m.msg_controllen = used;
  if (used == 0) m.msg_control = NULL;
  return sendmsg(fd, &m, 0);
}

/* sendmsg of one byte with one int control message. */
static ssize_t send_ip(int fd, const struct sockaddr_in6 *to, int level, int type, int value) {
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = {.iov_base = "q", .iov_len = 1};
  struct msghdr m;
  struct cmsghdr *c;
  memset(&m, 0, sizeof(m));
  memset(&u, 0, sizeof(u));
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_name = (void *)to;
  m.msg_namelen = to ? sizeof(*to) : 0;
  m.msg_control = u.buf;
  m.msg_controllen = sizeof(u.buf);
  c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = level, c->cmsg_type = type, c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &value, sizeof(int));
  return sendmsg(fd, &m, 0);
}

/* The IP_TTL an AF_INET socket received its next datagram with. */
static void say_ttl(int fd, const char *what) {
  union {
    char buf[256];
    struct cmsghdr align;
  } u;
  char b[16];
  struct iovec iov = {.iov_base = b, .iov_len = sizeof(b)};
  struct msghdr m;
  struct cmsghdr *c;
  int ttl = -1;
  memset(&m, 0, sizeof(m));
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = u.buf;
  m.msg_controllen = sizeof(u.buf);
  if (!readable(fd, 3000) || recvmsg(fd, &m, MSG_DONTWAIT) < 0) {
    SAY("%s: nothing received", what);
    return;
  }
  for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c))
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) memcpy(&ttl, CMSG_DATA(c), sizeof(ttl));
  SAY("%s: received with ttl %d", what, ttl);
}

static void case_udp(void) {
  int r = sock6(SOCK_DGRAM, 0), s = sock6(SOCK_DGRAM, 0), on = 1, rport, v;
  struct sockaddr_in6 to, from;
  struct sockaddr_in sin;
  socklen_t fl;
  char buf[128], ctl[512];
  size_t cl;
  ssize_t n;
  struct in6_addr h = host6();
  static char big[65536];
  rport = bind6(r, addr6);
  bind6(s, addr6);
  to = mk6(addr6, rport);
  /* Plain datagram: the source as a sockaddr_in6, full and truncated. */
  SAY("sendto %s", RES(sendto(s, "hello", 5, 0, (struct sockaddr *)&to, sizeof(to))));
  fl = sizeof(from);
  memset(&from, 0x5a, sizeof(from));
  n = recv6(r, buf, sizeof(buf), &from, &fl, NULL, NULL);
  SAY("recv %zd", n);
  say_name6("from", &from, fl);
  SAY("from port is the sender's %d", ntohs(from.sin6_port) == port6(s));
  sendto(s, "hello", 5, 0, (struct sockaddr *)&to, sizeof(to));
  fl = 16;
  memset(&from, 0x5a, sizeof(from));
  n = recv6(r, buf, sizeof(buf), &from, &fl, NULL, NULL);
  SAY("truncated from: recv %zd len %d family %d scope untouched %d", n, (int)fl, from.sin6_family,
      from.sin6_scope_id == 0x5a5a5a5a);
  /* RFC 2133 length, short, odd family, port 0. */
  SAY("sendto rfc2133 24 %s", RES(sendto(s, "a", 1, 0, (struct sockaddr *)&to, 24)));
  recv6(r, buf, sizeof(buf), NULL, NULL, NULL, NULL);
  SAY("sendto short 23 %s", RES(sendto(s, "a", 1, 0, (struct sockaddr *)&to, 23)));
  SAY("sendto namelen 1 %s", RES(sendto(s, "a", 1, 0, (struct sockaddr *)&to, 1)));
  to.sin6_family = 7;
  SAY("sendto family 7 %s", RES(sendto(s, "a", 1, 0, (struct sockaddr *)&to, sizeof(to))));
  to = mk6(addr6, 0);
  SAY("sendto port 0 %s", RES(sendto(s, "a", 1, 0, (struct sockaddr *)&to, sizeof(to))));
  to.sin6_family = AF_UNSPEC;
  SAY("sendto unspec unconnected %s", RES(sendto(s, "a", 1, 0, (struct sockaddr *)&to, sizeof(to))));
  to = mk6(addr6, rport);
  SAY("sendto 65527 %s", RES(sendto(s, big, 65527, 0, (struct sockaddr *)&to, sizeof(to))));
  n = recv6(r, big, sizeof(big), NULL, NULL, NULL, NULL);
  SAY("recv big %zd", n);
  SAY("sendto 65528 %s", RES(sendto(s, big, 65528, 0, (struct sockaddr *)&to, sizeof(to))));
  /* Control messages both ways. */
  setsockopt(r, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
  setsockopt(r, IPPROTO_IPV6, IPV6_RECVTCLASS, &on, sizeof(on));
  setsockopt(r, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof(on));
  SAY("recvpktinfo %d recvtclass %d recvhoplimit %d", get_int_opt(r, IPPROTO_IPV6, IPV6_RECVPKTINFO),
      get_int_opt(r, IPPROTO_IPV6, IPV6_RECVTCLASS), get_int_opt(r, IPPROTO_IPV6, IPV6_RECVHOPLIMIT));
  SAY("send tclass 0x28 hops 7 src %s", RES(send_with(s, &to, "c", 1, 0x28, 7, &h)));
  cl = sizeof(ctl);
  n = recv6(r, buf, sizeof(buf), NULL, NULL, ctl, &cl);
  SAY("recv %zd ctl %zu", n, cl);
  say_cmsgs("tc/hops", ctl, cl);
  /* (IPV6_TCLASS -1 is left out: kernels differ in what it sends.) */
  SAY("send hops -1 %s", RES(send_with(s, &to, "d", 1, -2, -1, NULL)));
  cl = sizeof(ctl);
  n = recv6(r, buf, sizeof(buf), NULL, NULL, ctl, &cl);
  SAY("recv %zd ctl %zu", n, cl);
  say_cmsgs("defaults", ctl, cl);
  v = 0x10;
  setsockopt(s, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof(v));
  v = 33;
  setsockopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof(v));
  SAY("socket tclass %d hops %d", get_int_opt(s, IPPROTO_IPV6, IPV6_TCLASS),
      get_int_opt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS));
  send_with(s, &to, "e", 1, -2, -2, NULL);
  cl = sizeof(ctl);
  n = recv6(r, buf, sizeof(buf), NULL, NULL, ctl, &cl);
  say_cmsgs("socket options", ctl, cl);
  SAY("send tclass 256 %s", RES(send_with(s, &to, "f", 1, 256, -2, NULL)));
  SAY("send hops -3 %s", RES(send_with(s, &to, "f", 1, -2, -3, NULL)));
  /* A control buffer too short for all of them. */
  send_with(s, &to, "g", 1, -2, -2, NULL);
  cl = CMSG_SPACE(sizeof(struct in6_pktinfo));
  n = recv6(r, buf, sizeof(buf), NULL, NULL, ctl, &cl);
  SAY("short control: recv %zd ctl %zu", n, cl);
  say_cmsgs("short", ctl, cl);
  /* Connected UDP. */
  SAY("connect %s", RES(connect(s, (struct sockaddr *)&to, sizeof(to))));
  fl = sizeof(from);
  SAY("peer %s", RES(getpeername(s, (struct sockaddr *)&from, &fl)));
  say_name6("peer", &from, fl);
  SAY("send %s", RES(send(s, "h", 1, 0)));
  n = recv6(r, buf, sizeof(buf), NULL, NULL, NULL, NULL);
  SAY("connected recv %zd", n);
  to.sin6_family = AF_UNSPEC;
  SAY("disconnect %s", RES(connect(s, (struct sockaddr *)&to, sizeof(to))));
  SAY("send after disconnect %s", RES(send(s, "i", 1, 0)));
  close(s);
  close(r);
  /* Dual stack: a `::` socket gets IPv4 datagrams from ::ffff:a.b.c.d, with IPV6_PKTINFO alone. */
  r = sock6(SOCK_DGRAM, 0);
  rport = bind6(r, "::");
  setsockopt(r, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
  setsockopt(r, IPPROTO_IPV6, IPV6_RECVTCLASS, &on, sizeof(on));
  setsockopt(r, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof(on));
  s = socket(AF_INET, SOCK_DGRAM, 0);
  sin = mkaddr(addr4, rport);
  SAY("ipv4 sendto %s", RES(sendto(s, "j", 1, 0, (struct sockaddr *)&sin, sizeof(sin))));
  fl = sizeof(from);
  cl = sizeof(ctl);
  n = recv6(r, buf, sizeof(buf), &from, &fl, ctl, &cl);
  SAY("dual recv %zd", n);
  say_name6("dual from", &from, fl);
  say_cmsgs("dual", ctl, cl);
  close(s);
  /* An AF_INET6 socket sends to an AF_INET address as IPv4 (and to its v4-mapped form). */
  s = socket(AF_INET, SOCK_DGRAM, 0);
  sin = mkaddr(addr4, 0);
  bind(s, (struct sockaddr *)&sin, sizeof(sin));
  {
    struct sockaddr_in got4;
    socklen_t gl = sizeof(got4);
    int q = sock6(SOCK_DGRAM, 0);
    getsockname(s, (struct sockaddr *)&got4, &gl);
    SAY("to inet %s", RES(sendto(q, "k", 1, 0, (struct sockaddr *)&got4, sizeof(got4))));
    gl = sizeof(sin);
    n = readable(s, 3000) ? recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&sin, &gl) : -1;
    SAY("ipv4 socket got %zd from its address %d", n, sin.sin_addr.s_addr == mkaddr(addr4, 0).sin_addr.s_addr);
    to = mk6("::", ntohs(got4.sin_port));
    to.sin6_addr = mapped4();
    SAY("to mapped %s", RES(sendto(q, "l", 1, 0, (struct sockaddr *)&to, sizeof(to))));
    n = readable(s, 3000) ? recv(s, buf, sizeof(buf), MSG_DONTWAIT) : -1;
    SAY("ipv4 socket got %zd", n);
    SAY("to mapped 65508 %s", RES(sendto(q, big, 65508, 0, (struct sockaddr *)&to, sizeof(to))));
    /* An IPv4 datagram takes SOL_IP control messages (udp_sendmsg's), of SOL_IPV6 only a mapped PKTINFO. */
    setsockopt(s, IPPROTO_IP, IP_RECVTTL, &on, sizeof(on));
    SAY("to mapped ip_ttl 5 %s", RES(send_ip(q, &to, IPPROTO_IP, IP_TTL, 5)));
    say_ttl(s, "ip_ttl 5");
    SAY("to mapped ipv6 hoplimit 7 %s", RES(send_ip(q, &to, IPPROTO_IPV6, IPV6_HOPLIMIT, 7)));
    say_ttl(s, "ipv6 hoplimit 7");
    SAY("to mapped ip type 99 %s", RES(send_ip(q, &to, IPPROTO_IP, 99, 1)));
    SAY("to mapped pktinfo host6 %s", RES(send_with(q, &to, "p", 1, -2, -2, &h)));
    {
      struct in6_addr m = mapped4();
      SAY("to mapped pktinfo mapped %s", RES(send_with(q, &to, "p", 1, -2, -2, &m)));
      n = readable(s, 3000) ? recv(s, buf, sizeof(buf), MSG_DONTWAIT) : -1;
      SAY("ipv4 socket got %zd", n);
    }
    SAY("connect mapped %s", RES(connect(q, (struct sockaddr *)&to, sizeof(to))));
    SAY("connected ip_ttl 6 %s", RES(send_ip(q, NULL, IPPROTO_IP, IP_TTL, 6)));
    say_ttl(s, "connected ip_ttl 6");
    SAY("connected 65508 %s", RES(send(q, big, 65508, 0)));
    SAY("to inet short 15 %s", RES(sendto(q, "m", 1, 0, (struct sockaddr *)&got4, 15)));
    close(q);
    q = sock6(SOCK_DGRAM, 0);
    setsockopt(q, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    SAY("v6only to inet %s", RES(sendto(q, "n", 1, 0, (struct sockaddr *)&got4, sizeof(got4))));
    SAY("v6only to mapped %s", RES(sendto(q, "o", 1, 0, (struct sockaddr *)&to, sizeof(to))));
    close(q);
  }
  close(s);
  close(r);
}

/* sendmmsg/recvmmsg with sockaddr_in6, and UDP GSO (UDP_SEGMENT) over IPv6. */
static void case_mmsg(void) {
  int r = sock6(SOCK_DGRAM, 0), s = sock6(SOCK_DGRAM, 0), rport, i, n;
  struct sockaddr_in6 to, from[3];
  struct mmsghdr v[3];
  struct iovec iov[3];
  char data[3][300];
  static char big[1000];
  rport = bind6(r, addr6);
  bind6(s, addr6);
  to = mk6(addr6, rport);
  memset(v, 0, sizeof(v));
  for (i = 0; i < 3; i++) {
    iov[i].iov_base = data[i];
    iov[i].iov_len = (size_t)(10 + i);
    v[i].msg_hdr.msg_iov = &iov[i];
    v[i].msg_hdr.msg_iovlen = 1;
    v[i].msg_hdr.msg_name = &to;
    v[i].msg_hdr.msg_namelen = sizeof(to);
  }
  SAY("sendmmsg %d", sendmmsg(s, v, 3, 0));
  memset(v, 0, sizeof(v));
  for (i = 0; i < 3; i++) {
    iov[i].iov_base = data[i];
    iov[i].iov_len = sizeof(data[i]);
    v[i].msg_hdr.msg_iov = &iov[i];
    v[i].msg_hdr.msg_iovlen = 1;
    v[i].msg_hdr.msg_name = &from[i];
    v[i].msg_hdr.msg_namelen = sizeof(from[i]);
  }
  for (n = 0; n < 3 && readable(r, 3000);) {
    int got = recvmmsg(r, v + n, (unsigned)(3 - n), MSG_DONTWAIT, NULL);
    if (got <= 0) break;
    n += got;
  }
  SAY("recvmmsg %d", n);
  for (i = 0; i < n; i++) {
    SAY("message %d len %u", i, v[i].msg_len);
    say_name6("message from", &from[i], v[i].msg_hdr.msg_namelen);
  }
  /* GSO: one send cut into 300-byte datagrams. */
  {
    union {
      char buf[CMSG_SPACE(sizeof(uint16_t))];
      struct cmsghdr align;
    } u;
    struct iovec bi = {.iov_base = big, .iov_len = sizeof(big)};
    struct msghdr m;
    struct cmsghdr *c;
    uint16_t seg = 300;
    char got[2000];
    memset(&m, 0, sizeof(m));
    memset(&u, 0, sizeof(u));
    m.msg_iov = &bi;
    m.msg_iovlen = 1;
    m.msg_name = &to;
    m.msg_namelen = sizeof(to);
    m.msg_control = u.buf;
    m.msg_controllen = sizeof(u.buf);
    c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_UDP, c->cmsg_type = UDP_SEGMENT, c->cmsg_len = CMSG_LEN(sizeof(seg));
    memcpy(CMSG_DATA(c), &seg, sizeof(seg));
    SAY("gso send %zd", sendmsg(s, &m, 0));
    for (i = 0; i < 5 && readable(r, i < 4 ? 3000 : 200); i++)
      SAY("gso datagram %zd", recv(r, got, sizeof(got), MSG_DONTWAIT));
  }
  close(s);
  close(r);
}

/* ICMP errors: ECONNREFUSED on the next call, the error queue with IPV6_RECVERR. */
static void case_errqueue(void) {
  int s = sock6(SOCK_DGRAM, 0), on = 1;
  struct sockaddr_in6 to = mk6(addr6, 9), name;
  char buf[64], ctl[256];
  struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
  struct msghdr m;
  struct cmsghdr *c;
  struct in6_addr h = host6();
  ssize_t n;
  SAY("recverr %s", RES(setsockopt(s, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on))));
  SAY("recverr get %d", get_int_opt(s, IPPROTO_IPV6, IPV6_RECVERR));
  SAY("connect %s", RES(connect(s, (struct sockaddr *)&to, sizeof(to))));
  SAY("send %s", RES(send(s, "ping", 4, 0)));
  readable(s, 3000);
  /* POLLERR first; the queued error fails the next receive. */
  SAY("recv %s", RES(recv(s, buf, sizeof(buf), MSG_DONTWAIT)));
  memset(&m, 0, sizeof(m));
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_name = &name;
  m.msg_namelen = sizeof(name);
  m.msg_control = ctl;
  m.msg_controllen = sizeof(ctl);
  n = recvmsg(s, &m, MSG_ERRQUEUE | MSG_DONTWAIT);
  SAY("errqueue %zd flags errqueue %d", n, (m.msg_flags & MSG_ERRQUEUE) != 0);
  if (n >= 0) {
    SAY("errqueue payload %d", n == 4 && memcmp(buf, "ping", 4) == 0);
    say_name6("errqueue name", &name, m.msg_namelen);
    for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
      struct sock_extended_err ee;
      struct sockaddr_in6 off;
      memcpy(&ee, CMSG_DATA(c), sizeof(ee));
      memcpy(&off, CMSG_DATA(c) + sizeof(ee), sizeof(off));
      SAY("cmsg level %d type %d len %d", c->cmsg_level, c->cmsg_type, (int)c->cmsg_len);
      SAY("ee errno %s origin %d type %d code %d info %u", ename((int)ee.ee_errno), ee.ee_origin, ee.ee_type,
          ee.ee_code, ee.ee_info);
      SAY("offender family %d host6 %d", off.sin6_family, same6(&off.sin6_addr, &h));
    }
  }
  SAY("errqueue again %s", RES(recvmsg(s, &m, MSG_ERRQUEUE | MSG_DONTWAIT)));
  close(s);
}

static void case_ping(void) {
  int p = socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6), filter_ok;
  struct sockaddr_in6 to = mk6(addr6, 0), from;
  struct sockaddr_in sin = mkaddr(addr4, 0);
  struct icmp6_hdr req, *rep;
  unsigned char msg[64], got[128];
  socklen_t fl = sizeof(from);
  ssize_t n;
  struct in6_addr h = host6();
  if (p < 0) die("ping socket");
  memset(&req, 0, sizeof(req));
  req.icmp6_type = ICMP6_ECHO_REQUEST;
  req.icmp6_id = htons(0x1234);
  req.icmp6_seq = htons(1);
  memcpy(msg, &req, sizeof(req));
  memcpy(msg + sizeof(req), "ztnc-ping6", 10);
  SAY("echo %s", RES(sendto(p, msg, sizeof(req) + 10, 0, (struct sockaddr *)&to, sizeof(to))));
  n = readable(p, 3000) ? recvfrom(p, got, sizeof(got), MSG_DONTWAIT, (struct sockaddr *)&from, &fl) : -1;
  rep = (struct icmp6_hdr *)got;
  SAY("reply %zd type %d code %d seq %d data %d", n, rep->icmp6_type, rep->icmp6_code, ntohs(rep->icmp6_seq),
      n == 18 && memcmp(got + 8, "ztnc-ping6", 10) == 0);
  SAY("reply from host6 %d family %d len %d port %d", same6(&from.sin6_addr, &h), from.sin6_family, (int)fl,
      from.sin6_port);
  msg[0] = 8; /* ICMPv4's echo request */
  SAY("v4 echo type %s", RES(sendto(p, msg, 18, 0, (struct sockaddr *)&to, sizeof(to))));
  msg[0] = ICMP6_ECHO_REQUEST;
  SAY("short %s", RES(sendto(p, msg, 7, 0, (struct sockaddr *)&to, sizeof(to))));
  SAY("namelen 24 %s", RES(sendto(p, msg, 18, 0, (struct sockaddr *)&to, 24)));
  SAY("to inet %s", RES(sendto(p, msg, 18, 0, (struct sockaddr *)&sin, sizeof(to))));
  to.sin6_addr = mapped4();
  SAY("to mapped %s", RES(sendto(p, msg, 18, 0, (struct sockaddr *)&to, sizeof(to))));
  to = mk6("fe80::1", 0);
  SAY("link-local without scope %s", RES(sendto(p, msg, 18, 0, (struct sockaddr *)&to, sizeof(to))));
  to = mk6(addr6, 0);
  SAY("connect %s", RES(connect(p, (struct sockaddr *)&to, sizeof(to))));
  SAY("send connected %s", RES(send(p, msg, 18, 0)));
  n = readable(p, 3000) ? recv(p, got, sizeof(got), MSG_DONTWAIT) : -1;
  SAY("connected reply %zd type %d", n, got[0]);
  close(p);
  /* Raw ICMPv6: messages without the IPv6 header; ICMP6_FILTER passes echo replies only. */
  p = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
  if (p < 0) die("raw socket");
  {
    struct icmp6_filter f;
    ICMP6_FILTER_SETBLOCKALL(&f);
    ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
    filter_ok = setsockopt(p, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f)) == 0;
    SAY("filter %d checksum offset %d", filter_ok, get_int_opt(p, IPPROTO_IPV6, IPV6_CHECKSUM));
  }
  req.icmp6_id = htons(0x4321);
  memcpy(msg, &req, sizeof(req));
  SAY("raw echo %s", RES(sendto(p, msg, 18, 0, (struct sockaddr *)&to, sizeof(to))));
  fl = sizeof(from);
  n = readable(p, 3000) ? recvfrom(p, got, sizeof(got), MSG_DONTWAIT, (struct sockaddr *)&from, &fl) : -1;
  SAY("raw reply %zd type %d id %d data %d from host6 %d", n, got[0], ntohs(((struct icmp6_hdr *)got)->icmp6_id),
      n == 18 && memcmp(got + 8, "ztnc-ping6", 10) == 0, same6(&from.sin6_addr, &h));
  SAY("raw nothing else %d", !readable(p, 200));
  close(p);
}

/* AF_INET6 datagram sockets inherited across exec keep their family (the library learns it anew). */
static void case_exec(const char *self) {
  int s = sock6(SOCK_DGRAM, 0), r = sock6(SOCK_DGRAM, 0);
  char fs[16], fr[16];
  bind6(s, addr6);
  bind6(r, addr6);
  snprintf(fs, sizeof(fs), "%d", s);
  snprintf(fr, sizeof(fr), "%d", r);
  execl(self, self, "exec-child", addr6, addr4, fs, fr, (char *)NULL);
  die("exec");
}

static void case_exec_child(int s, int r) {
  struct sockaddr_in6 to = mk6(addr6, port6(r)), from, name;
  socklen_t fl = sizeof(from), nl = sizeof(name);
  char buf[16];
  ssize_t n;
  SAY("inherited domain %d type %d", get_int_opt(s, SOL_SOCKET, SO_DOMAIN), get_int_opt(s, SOL_SOCKET, SO_TYPE));
  SAY("name %s", RES(getsockname(s, (struct sockaddr *)&name, &nl)));
  say_name6("inherited", &name, nl);
  SAY("sendto %s", RES(sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to))));
  n = readable(r, 3000) ? recvfrom(r, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl) : -1;
  SAY("recv %zd", n);
  say_name6("from", &from, fl);
  SAY("from the inherited socket %d", ntohs(from.sin6_port) == port6(s));
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "";
  if (argc > 2) addr6 = argv[2];
  if (argc > 3) addr4 = argv[3];
  host_addr = addr4;
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
  if (!strcmp(which, "flags"))
    case_flags();
  else if (!strcmp(which, "addr"))
    case_addr();
  else if (!strcmp(which, "dual"))
    case_dual();
  else if (!strcmp(which, "udp"))
    case_udp();
  else if (!strcmp(which, "mmsg"))
    case_mmsg();
  else if (!strcmp(which, "errqueue"))
    case_errqueue();
  else if (!strcmp(which, "ping"))
    case_ping();
  else if (!strcmp(which, "exec"))
    case_exec(argv[0]);
  else if (!strcmp(which, "exec-child") && argc > 5)
    case_exec_child(atoi(argv[4]), atoi(argv[5]));
  else {
    fprintf(stderr, "usage: behave_v6 flags|addr|dual|udp|mmsg|errqueue|ping|exec <ipv6 addr> <ipv4 addr>\n");
    return 2;
  }
  return 0;
}
