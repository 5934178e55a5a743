/*
 * Datagram socket behaviours (UDP, ICMP ping, raw ICMP) libztintercept.so must reproduce.
 * `behave_udp <case> <ipv4 addr>`: every case prints lines that must equal the kernel's own run
 * (addresses and ports are compared, never printed). Datagrams through the daemon arrive a
 * moment after the send, where the kernel's loopback has them at once: every receive that must
 * not block first waits for POLLIN.
 */
#define _GNU_SOURCE
/* linux/errqueue.h needs struct timespec first. */
#include <time.h>

#include <linux/errqueue.h>
#include <linux/sockios.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/uio.h>
#include <time.h>

#include <signal.h>

#include "common.h"

static int udp(void) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) die("socket");
  return fd;
}

static int port_of(int fd) {
  struct sockaddr_in a;
  socklen_t l = sizeof(a);
  if (getsockname(fd, (struct sockaddr *)&a, &l) != 0) die("getsockname");
  return ntohs(a.sin_port);
}

/* A UDP socket bound to host_addr, port chosen by the system. */
static int bound(void) {
  int fd = udp();
  struct sockaddr_in a = mkaddr(host_addr, 0);
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) die("bind");
  return fd;
}

static int readable(int fd, int ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  return poll(&p, 1, ms) > 0;
}

static int is_host(const struct sockaddr_in *a) {
  return a->sin_family == AF_INET && a->sin_addr.s_addr == mkaddr(host_addr, 0).sin_addr.s_addr;
}

static ssize_t send_to(int fd, const void *buf, size_t n, int port) {
  struct sockaddr_in a = mkaddr(host_addr, port);
  return sendto(fd, buf, n, 0, (struct sockaddr *)&a, sizeof(a));
}

/*
 * A port nobody is bound to: the discard port, which nothing in the test's namespace or on the
 * daemon's stack serves. (Binding a port and closing it is no proof: a daemon learns of the close
 * when it sees the hang-up, a moment later, and a datagram sent meanwhile still finds the socket.)
 */
static int closed_port(void) { return 9; }

static void case_flags(void) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  SAY("nonblock %d cloexec %d", (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0, (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  SAY("udp type %d domain %d protocol %d", get_int_opt(fd, SOL_SOCKET, SO_TYPE), get_int_opt(fd, SOL_SOCKET, SO_DOMAIN),
      get_int_opt(fd, SOL_SOCKET, SO_PROTOCOL));
  SAY("error %d broadcast %d", get_int_opt(fd, SOL_SOCKET, SO_ERROR), get_int_opt(fd, SOL_SOCKET, SO_BROADCAST));
  close(fd);
  fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
  SAY("udp protocol 17 %s nonblock %d", fd < 0 ? ename(errno) : "OK", (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
  close(fd);
  fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
  SAY("ping %s type %d protocol %d", fd < 0 ? ename(errno) : "OK", get_int_opt(fd, SOL_SOCKET, SO_TYPE),
      get_int_opt(fd, SOL_SOCKET, SO_PROTOCOL));
  close(fd);
  fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  SAY("raw %s type %d protocol %d", fd < 0 ? ename(errno) : "OK", get_int_opt(fd, SOL_SOCKET, SO_TYPE),
      get_int_opt(fd, SOL_SOCKET, SO_PROTOCOL));
  close(fd);
  SAY("dgram tcp %s", RES(socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP)));
  SAY("listen %s", RES(listen(fd = udp(), 4)));
  SAY("accept %s", RES(accept(fd, NULL, NULL)));
  close(fd);
}

static void case_bind(void) {
  int a = udp(), b = udp(), c, one = 1;
  struct sockaddr_in sa = mkaddr("0.0.0.0", 0), got;
  socklen_t l = sizeof(got);
  SAY("unbound name %s", RES(getsockname(a, (struct sockaddr *)&got, &l)));
  SAY("unbound addr %d port %d len %d", got.sin_addr.s_addr == 0, got.sin_port == 0, (int)l);
  l = sizeof(got);
  SAY("unbound peer %s", RES(getpeername(a, (struct sockaddr *)&got, &l)));
  SAY("short %s", RES(bind(a, (struct sockaddr *)&sa, 8)));
  sa.sin_family = AF_INET6;
  SAY("inet6 family %s", RES(bind(a, (struct sockaddr *)&sa, sizeof(sa))));
  sa = mkaddr(host_addr, 0);
  SAY("port 0 %s", RES(bind(a, (struct sockaddr *)&sa, sizeof(sa))));
  l = sizeof(got);
  getsockname(a, (struct sockaddr *)&got, &l);
  SAY("bound addr ok %d port nonzero %d", is_host(&got), got.sin_port != 0);
  SAY("second bind %s", RES(bind(a, (struct sockaddr *)&sa, sizeof(sa))));
  sa.sin_port = got.sin_port;
  SAY("same port %s", RES(bind(b, (struct sockaddr *)&sa, sizeof(sa))));
  close(b);
  /* SO_REUSEADDR on both: UDP sockets share the port. So does SO_REUSEPORT. */
  b = udp();
  c = udp();
  setsockopt(b, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sa.sin_port = 0;
  SAY("reuseaddr first %s", RES(bind(b, (struct sockaddr *)&sa, sizeof(sa))));
  sa.sin_port = htons((uint16_t)port_of(b));
  SAY("reuseaddr second %s", RES(bind(c, (struct sockaddr *)&sa, sizeof(sa))));
  close(b);
  close(c);
  b = udp();
  c = udp();
  setsockopt(b, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  setsockopt(c, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  sa.sin_port = 0;
  SAY("reuseport first %s", RES(bind(b, (struct sockaddr *)&sa, sizeof(sa))));
  sa.sin_port = htons((uint16_t)port_of(b));
  SAY("reuseport second %s", RES(bind(c, (struct sockaddr *)&sa, sizeof(sa))));
  close(b);
  close(c);
  b = udp();
  sa = mkaddr("0.0.0.0", 0);
  SAY("any %s", RES(bind(b, (struct sockaddr *)&sa, sizeof(sa))));
  l = sizeof(got);
  getsockname(b, (struct sockaddr *)&got, &l);
  SAY("any addr %d", got.sin_addr.s_addr == 0);
  close(b);
  close(a);
}

static void case_connect(void) {
  int srv = bound(), other = bound(), c = udp(), stranger = bound();
  struct sockaddr_in sa = mkaddr(host_addr, port_of(srv)), got;
  struct sockaddr un = {.sa_family = AF_UNSPEC};
  socklen_t l = sizeof(got);
  char buf[64];
  SAY("send unconnected %s", RES(send(c, "x", 1, 0)));
  SAY("write unconnected %s", RES(write(c, "x", 1)));
  SAY("connect %s", RES(connect(c, (struct sockaddr *)&sa, sizeof(sa))));
  getpeername(c, (struct sockaddr *)&got, &l);
  SAY("peer ok %d", is_host(&got) && got.sin_port == sa.sin_port);
  l = sizeof(got);
  getsockname(c, (struct sockaddr *)&got, &l);
  SAY("autobound %d", got.sin_port != 0);
  SAY("send %s", RES(send(c, "hello", 5, 0)));
  SAY("write %s", RES(write(c, "world", 5)));
  readable(srv, 2000);
  SAY("server got %zd", recv(srv, buf, sizeof(buf), 0));
  readable(srv, 2000);
  SAY("server got %zd", recv(srv, buf, sizeof(buf), 0));
  /* Only the peer's datagrams reach a connected socket. */
  SAY("stranger sends %s", RES(send_to(stranger, "zz", 2, got.sin_port ? ntohs(got.sin_port) : 0)));
  SAY("peer sends %s", RES(send_to(srv, "abc", 3, ntohs(got.sin_port))));
  readable(c, 2000);
  memset(buf, 0, sizeof(buf));
  SAY("read %zd %s", read(c, buf, sizeof(buf)), buf);
  SAY("then nothing %s", RES(recv(c, buf, sizeof(buf), MSG_DONTWAIT)));
  sa = mkaddr(host_addr, port_of(other));
  SAY("reconnect %s", RES(connect(c, (struct sockaddr *)&sa, sizeof(sa))));
  SAY("send %s", RES(send(c, "again", 5, 0)));
  readable(other, 2000);
  SAY("other got %zd", recv(other, buf, sizeof(buf), MSG_DONTWAIT));
  SAY("short %s", RES(connect(c, (struct sockaddr *)&sa, 4)));
  SAY("unspec %s", RES(connect(c, &un, sizeof(un))));
  l = sizeof(got);
  SAY("peer after unspec %s", RES(getpeername(c, (struct sockaddr *)&got, &l)));
  SAY("send after unspec %s", RES(send(c, "x", 1, 0)));
  SAY("sendto after unspec %s", RES(send_to(c, "y", 1, port_of(other))));
  readable(other, 2000);
  SAY("other got %zd", recv(other, buf, sizeof(buf), MSG_DONTWAIT));
  SAY("sendto port 0 %s", RES(send_to(c, "y", 1, 0)));
  close(c);
  close(srv);
  close(other);
  close(stranger);
}

static void case_data(void) {
  int s = bound(), c = bound(), i;
  static unsigned char big[70000], in[70000];
  struct sockaddr_in from;
  socklen_t fl;
  ssize_t n;
  int sizes[] = {1, 100, 1000, 0};
  char small[10];
  for (i = 0; i < 4; i++) send_to(c, big, (size_t)sizes[i], port_of(s));
  for (i = 0; i < 4; i++) {
    readable(s, 2000);
    fl = sizeof(from);
    memset(&from, 0, sizeof(from));
    n = recvfrom(s, in, sizeof(in), 0, (struct sockaddr *)&from, &fl);
    SAY("datagram %zd from ok %d len %d", n, is_host(&from) && ntohs(from.sin_port) == port_of(c), (int)fl);
  }
  SAY("empty %s", RES(recv(s, in, sizeof(in), MSG_DONTWAIT)));
  {
    int v = -1, r = ioctl(s, FIONREAD, &v);
    SAY("fionread empty %s %d", r == 0 ? "OK" : ename(errno), v);
  }
  send_to(c, "0123456789abcdef", 16, port_of(s));
  readable(s, 2000);
  {
    int v = -1;
    ioctl(s, FIONREAD, &v);
    SAY("fionread %d", v);
    ioctl(s, SIOCINQ, &v);
    SAY("siocinq %d", v);
  }
  memset(small, 0, sizeof(small));
  SAY("peek %zd", recv(s, small, 4, MSG_PEEK));
  SAY("peek trunc %zd", recv(s, small, 4, MSG_PEEK | MSG_TRUNC));
  {
    struct iovec iov = {small, sizeof(small)};
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    n = recvmsg(s, &m, 0);
    SAY("truncated %zd flags trunc %d %.10s", n, (m.msg_flags & MSG_TRUNC) != 0, small);
  }
  send_to(c, "0123456789abcdef", 16, port_of(s));
  readable(s, 2000);
  SAY("real length %zd", recv(s, small, 4, MSG_TRUNC));
  /* sendmsg gathers into one datagram; recvmsg scatters it; a short name is truncated. */
  {
    struct iovec out[3] = {{"ab", 2}, {"cde", 3}, {"f", 1}}, inv[2];
    struct msghdr m;
    char p1[3] = {0}, p2[8] = {0};
    unsigned char name[32];
    struct sockaddr_in to = mkaddr(host_addr, port_of(s));
    memset(&m, 0, sizeof(m));
    m.msg_name = &to;
    m.msg_namelen = sizeof(to);
    m.msg_iov = out;
    m.msg_iovlen = 3;
    SAY("sendmsg %zd", sendmsg(c, &m, 0));
    readable(s, 2000);
    inv[0].iov_base = p1;
    inv[0].iov_len = 2;
    inv[1].iov_base = p2;
    inv[1].iov_len = sizeof(p2) - 1;
    memset(&m, 0, sizeof(m));
    memset(name, 0xee, sizeof(name));
    m.msg_name = name;
    m.msg_namelen = 6;
    m.msg_iov = inv;
    m.msg_iovlen = 2;
    n = recvmsg(s, &m, 0);
    SAY("recvmsg %zd %s|%s namelen %d family %d untouched %d", n, p1, p2, (int)m.msg_namelen,
        ((struct sockaddr_in *)name)->sin_family, name[6] == 0xee);
  }
  {
    int v = 0;
    fl = 4;
    send_to(c, "q", 1, port_of(s));
    readable(s, 2000);
    memset(&from, 0, sizeof(from));
    n = recvfrom(s, &v, sizeof(v), 0, (struct sockaddr *)&from, &fl);
    SAY("short fromlen %zd len %d family %d", n, (int)fl, from.sin_family);
  }
  /* 8,000 and 65,507 bytes (the largest UDP payload) arrive whole; one more byte is refused. */
  fill_pattern(big, sizeof(big), 7);
  {
    size_t sz[2] = {8000, 65507};
    int sb = 1 << 20;
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &sb, sizeof(sb));
    for (i = 0; i < 2; i++) {
      SAY("send %zu %zd", sz[i], send_to(c, big, sz[i], port_of(s)));
      readable(s, 5000);
      memset(in, 0, sizeof(in));
      n = recv(s, in, sizeof(in), 0);
      SAY("got %zd same %d", n, n > 0 && memcmp(in, big, (size_t)n) == 0);
    }
    SAY("send 65508 %s", RES(send_to(c, big, 65508, port_of(s))));
  }
  close(s);
  close(c);
}

static void case_mmsg(void) {
  int s = bound(), c = bound(), i;
  struct mmsghdr out[3], inm[4];
  struct iovec oi[3], ii[4];
  char bufs[4][32];
  struct sockaddr_in to = mkaddr(host_addr, port_of(s)), from[4];
  const char *words[3] = {"one", "three", "fifteen"};
  memset(out, 0, sizeof(out));
  for (i = 0; i < 3; i++) {
    oi[i].iov_base = (void *)words[i];
    oi[i].iov_len = strlen(words[i]);
    out[i].msg_hdr.msg_iov = &oi[i];
    out[i].msg_hdr.msg_iovlen = 1;
    out[i].msg_hdr.msg_name = &to;
    out[i].msg_hdr.msg_namelen = sizeof(to);
  }
  i = sendmmsg(c, out, 3, 0);
  SAY("sendmmsg %d lens %u %u %u", i, out[0].msg_len, out[1].msg_len, out[2].msg_len);
  memset(inm, 0, sizeof(inm));
  for (i = 0; i < 4; i++) {
    ii[i].iov_base = bufs[i];
    ii[i].iov_len = sizeof(bufs[i]);
    inm[i].msg_hdr.msg_iov = &ii[i];
    inm[i].msg_hdr.msg_iovlen = 1;
    inm[i].msg_hdr.msg_name = &from[i];
    inm[i].msg_hdr.msg_namelen = sizeof(from[i]);
  }
  /* Wait until all three are there, then take them at once. */
  for (i = 0; i < 50; i++) {
    int v = 0;
    readable(s, 2000);
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
    ioctl(s, FIONREAD, &v);
    if (v) break;
  }
  {
    struct timespec ts = {0, 100 * 1000000};
    nanosleep(&ts, NULL);
  }
  i = recvmmsg(s, inm, 4, MSG_WAITFORONE, NULL);
  SAY("recvmmsg %d lens %u %u %u from ok %d", i, inm[0].msg_len, inm[1].msg_len, inm[2].msg_len,
      is_host(&from[2]) && ntohs(from[2].sin_port) == port_of(c));
  SAY("recvmmsg empty %s", RES(recvmmsg(s, inm, 4, MSG_DONTWAIT, NULL)));
  close(s);
  close(c);
}

/* sendmsg with UDP_SEGMENT (GSO, as QUIC stacks send): the payload arrives as datagrams of that size. */
static ssize_t send_gso(int fd, int port, const char *buf, size_t n, uint16_t seg) {
  struct sockaddr_in to = mkaddr(host_addr, port);
  struct iovec iov[2] = {{(void *)buf, n / 3}, {(void *)(buf + n / 3), n - n / 3}};
  char ctl[CMSG_SPACE(sizeof(uint16_t))];
  struct msghdr m;
  struct cmsghdr *c;
  memset(&m, 0, sizeof(m));
  memset(ctl, 0, sizeof(ctl));
  m.msg_name = &to;
  m.msg_namelen = sizeof(to);
  m.msg_iov = iov;
  m.msg_iovlen = 2;
  m.msg_control = ctl;
  m.msg_controllen = sizeof(ctl);
  c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof(seg));
  memcpy(CMSG_DATA(c), &seg, sizeof(seg));
  return sendmsg(fd, &m, 0);
}

static void case_gso(void) {
  int s = bound(), c = bound(), i;
  char out[1000], in[2000];
  for (i = 0; i < (int)sizeof(out); i++) out[i] = (char)(i * 7);
  {
    struct {
      size_t n;
      uint16_t seg;
    } sends[4] = {{300, 100}, {250, 100}, {80, 100}, {1000, 5}};
    for (i = 0; i < 4; i++) {
      ssize_t r = send_gso(c, port_of(s), out, sends[i].n, sends[i].seg);
      SAY("gso %zu/%u: %zd %s", sends[i].n, sends[i].seg, r, r < 0 ? ename(errno) : "");
    }
  }
  {
    size_t at = 0;
    int sizes[] = {100, 100, 100, 100, 100, 50, 80};
    for (i = 0; i < 7; i++) {
      ssize_t n;
      readable(s, 2000);
      n = recv(s, in, sizeof(in), MSG_DONTWAIT);
      /* each datagram holds the next bytes of what was sent (the 250 and 80 restart at 0) */
      if (i == 3 || i == 6) at = 0;
      SAY("datagram %d: %zd bytes, %s", i, n, n == sizes[i] && !memcmp(in, out + at, (size_t)n) ? "intact" : "WRONG");
      if (n > 0) at += (size_t)n;
    }
    SAY("then %s", RES(recv(s, in, sizeof(in), MSG_DONTWAIT)));
  }
  close(s);
  close(c);
}

static void case_readiness(void) {
  int s = bound(), c = bound(), ep, n;
  struct pollfd p = {.fd = s, .events = POLLIN | POLLOUT};
  struct epoll_event ev = {.events = EPOLLIN}, got[2];
  fd_set rs;
  struct timeval tv = {0, 0};
  char buf[16];
  n = poll(&p, 1, 0);
  SAY("fresh poll %d in %d out %d", n, (p.revents & POLLIN) != 0, (p.revents & POLLOUT) != 0);
  FD_ZERO(&rs);
  FD_SET(s, &rs);
  SAY("select empty %d", select(s + 1, &rs, NULL, NULL, &tv));
  send_to(c, "r", 1, port_of(s));
  readable(s, 2000);
  FD_ZERO(&rs);
  FD_SET(s, &rs);
  tv.tv_sec = 2;
  SAY("select ready %d", select(s + 1, &rs, NULL, NULL, &tv));
  ep = epoll_create1(0);
  epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
  SAY("epoll lt %d", epoll_wait(ep, got, 2, 0));
  SAY("epoll lt again %d", epoll_wait(ep, got, 2, 0));
  recv(s, buf, sizeof(buf), 0);
  SAY("epoll lt drained %d", epoll_wait(ep, got, 2, 0));
  ev.events = EPOLLIN | EPOLLET;
  epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev);
  send_to(c, "e", 1, port_of(s));
  SAY("epoll et %d", epoll_wait(ep, got, 2, 2000));
  SAY("epoll et again %d", epoll_wait(ep, got, 2, 0));
  send_to(c, "f", 1, port_of(s));
  SAY("epoll et new datagram %d", epoll_wait(ep, got, 2, 2000));
  recv(s, buf, sizeof(buf), 0);
  recv(s, buf, sizeof(buf), 0);
  SAY("epoll et drained %d", epoll_wait(ep, got, 2, 0));
  close(ep);
  close(s);
  close(c);
}

static void case_refused(void) {
  int c = udp(), port = closed_port(), one = 1, i;
  struct sockaddr_in sa = mkaddr(host_addr, port);
  char buf[64];
  connect(c, (struct sockaddr *)&sa, sizeof(sa));
  SAY("send %s", RES(send(c, "ping", 4, 0)));
  readable(c, 3000);
  SAY("recv %s", RES(recv(c, buf, sizeof(buf), 0)));
  SAY("recv again %s", RES(recv(c, buf, sizeof(buf), MSG_DONTWAIT)));
  SAY("send %s", RES(send(c, "ping", 4, 0)));
  readable(c, 3000);
  SAY("so_error %d", get_int_opt(c, SOL_SOCKET, SO_ERROR) == ECONNREFUSED);
  SAY("so_error after %d", get_int_opt(c, SOL_SOCKET, SO_ERROR));
  SAY("send %s", RES(send(c, "ping", 4, 0)));
  readable(c, 3000);
  SAY("next send %s", RES(send(c, "ping", 4, 0)));
  /* IP_RECVERR: the error also waits on the error queue, with its ICMP details. */
  setsockopt(c, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
  SAY("recverr %d", get_int_opt(c, IPPROTO_IP, IP_RECVERR));
  for (i = 0; i < 2; i++) {
    struct msghdr m;
    struct iovec iov = {buf, sizeof(buf)};
    char ctl[256];
    struct sockaddr_in name;
    struct cmsghdr *cm;
    ssize_t n;
    readable(c, 100);
    while (recv(c, buf, sizeof(buf), MSG_DONTWAIT) >= 0 || errno != EAGAIN) {
    }
    while (recvmsg(c, &(struct msghdr){.msg_iov = &iov, .msg_iovlen = 1}, MSG_ERRQUEUE | MSG_DONTWAIT) >= 0) {
    }
    send(c, "boom", 4, 0);
    readable(c, 3000);
    if (i == 0) SAY("recv with recverr %s", RES(recv(c, buf, sizeof(buf), 0)));
    memset(&m, 0, sizeof(m));
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof(ctl);
    m.msg_name = &name;
    m.msg_namelen = sizeof(name);
    n = recvmsg(c, &m, MSG_ERRQUEUE | MSG_DONTWAIT);
    SAY("errqueue %zd flags errqueue %d name ok %d", n, (m.msg_flags & MSG_ERRQUEUE) != 0,
        n >= 0 && is_host(&name) && ntohs(name.sin_port) == port);
    for (cm = CMSG_FIRSTHDR(&m); n >= 0 && cm; cm = CMSG_NXTHDR(&m, cm)) {
      struct sock_extended_err *ee = (struct sock_extended_err *)CMSG_DATA(cm);
      struct sockaddr_in *off = (struct sockaddr_in *)SO_EE_OFFENDER(ee);
      if (cm->cmsg_level != SOL_IP || cm->cmsg_type != IP_RECVERR) continue;
      SAY("ee %s origin %d type %d code %d offender ok %d", ename((int)ee->ee_errno), ee->ee_origin, ee->ee_type,
          ee->ee_code, is_host(off));
    }
    SAY("errqueue again %s", RES(recvmsg(c, &m, MSG_ERRQUEUE | MSG_DONTWAIT)));
  }
  close(c);
}

static void print_cmsgs(struct msghdr *m) {
  struct cmsghdr *cm;
  for (cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm)) {
    if (cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_PKTINFO) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
      struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr = pi.ipi_addr};
      SAY("  pktinfo addr ok %d len %d", is_host(&a), (int)cm->cmsg_len);
    } else if (cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_TOS) {
      SAY("  tos %d len %d", *(unsigned char *)CMSG_DATA(cm), (int)cm->cmsg_len);
    } else if (cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_TTL) {
      int t;
      memcpy(&t, CMSG_DATA(cm), sizeof(t));
      SAY("  ttl %d len %d", t, (int)cm->cmsg_len);
    } else {
      SAY("  cmsg level %d type %d", cm->cmsg_level, cm->cmsg_type);
    }
  }
}

static void case_cmsg(void) {
  int s = bound(), c = bound(), one = 1, v;
  char buf[32], ctl[256];
  struct iovec iov = {buf, sizeof(buf)};
  struct msghdr m;
  union {
    char b[CMSG_SPACE(sizeof(int)) * 2];
    struct cmsghdr h;
  } out;
  struct cmsghdr *cm;
  ssize_t n;
  setsockopt(s, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
  setsockopt(s, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one));
  setsockopt(s, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one));
  SAY("pktinfo %d recvtos %d recvttl %d", get_int_opt(s, IPPROTO_IP, IP_PKTINFO),
      get_int_opt(s, IPPROTO_IP, IP_RECVTOS), get_int_opt(s, IPPROTO_IP, IP_RECVTTL));
  v = 0x10;
  setsockopt(c, IPPROTO_IP, IP_TOS, &v, sizeof(v));
  v = 33;
  setsockopt(c, IPPROTO_IP, IP_TTL, &v, sizeof(v));
  SAY("sender tos %d ttl %d", get_int_opt(c, IPPROTO_IP, IP_TOS), get_int_opt(c, IPPROTO_IP, IP_TTL));
  send_to(c, "opts", 4, port_of(s));
  readable(s, 2000);
  memset(&m, 0, sizeof(m));
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = sizeof(ctl);
  n = recvmsg(s, &m, 0);
  SAY("recvmsg %zd controllen %d ctrunc %d", n, (int)m.msg_controllen, (m.msg_flags & MSG_CTRUNC) != 0);
  print_cmsgs(&m);
  /* Per-datagram TOS and TTL from sendmsg's control messages. */
  {
    struct sockaddr_in to = mkaddr(host_addr, port_of(s));
    struct iovec oi = {"cm", 2};
    struct msghdr om;
    memset(&om, 0, sizeof(om));
    om.msg_name = &to;
    om.msg_namelen = sizeof(to);
    om.msg_iov = &oi;
    om.msg_iovlen = 1;
    om.msg_control = out.b;
    om.msg_controllen = sizeof(out.b);
    cm = CMSG_FIRSTHDR(&om);
    cm->cmsg_level = SOL_IP;
    cm->cmsg_type = IP_TOS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    v = 0x20;
    memcpy(CMSG_DATA(cm), &v, sizeof(v));
    cm = CMSG_NXTHDR(&om, cm);
    cm->cmsg_level = SOL_IP;
    cm->cmsg_type = IP_TTL;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    v = 7;
    memcpy(CMSG_DATA(cm), &v, sizeof(v));
    SAY("sendmsg cmsgs %zd", sendmsg(c, &om, 0));
    v = 300;
    memcpy(CMSG_DATA(cm), &v, sizeof(v));
    SAY("sendmsg ttl 300 %s", RES(sendmsg(c, &om, 0)));
  }
  readable(s, 2000);
  m.msg_control = ctl;
  m.msg_controllen = sizeof(ctl);
  n = recvmsg(s, &m, 0);
  SAY("recvmsg %zd", n);
  print_cmsgs(&m);
  /* Too small a control buffer: what fits, and MSG_CTRUNC. */
  send_to(c, "tiny", 4, port_of(s));
  readable(s, 2000);
  m.msg_control = ctl;
  m.msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo)) + CMSG_LEN(2);
  n = recvmsg(s, &m, 0);
  SAY("small control %zd controllen %d ctrunc %d", n, (int)m.msg_controllen, (m.msg_flags & MSG_CTRUNC) != 0);
  /* A receive timestamp from the socket comes first, then the IP ones. */
  setsockopt(s, SOL_SOCKET, SO_TIMESTAMP, &one, sizeof(one));
  setsockopt(s, IPPROTO_IP, IP_RECVTOS, &(int){0}, sizeof(int));
  setsockopt(s, IPPROTO_IP, IP_RECVTTL, &(int){0}, sizeof(int));
  send_to(c, "ts", 2, port_of(s));
  readable(s, 2000);
  m.msg_control = ctl;
  m.msg_controllen = sizeof(ctl);
  n = recvmsg(s, &m, 0);
  SAY("with timestamp %zd", n);
  print_cmsgs(&m);
  /* Broadcast needs SO_BROADCAST. */
  {
    struct sockaddr_in b = mkaddr("255.255.255.255", port_of(s));
    SAY("broadcast without %s", RES(sendto(c, "b", 1, 0, (struct sockaddr *)&b, sizeof(b))));
    setsockopt(c, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
    SAY("so_broadcast %d", get_int_opt(c, SOL_SOCKET, SO_BROADCAST));
  }
  close(s);
  close(c);
}

static void case_dup_fork(void) {
  int s = bound(), c = bound(), d, e, f;
  char buf[16] = {0};
  pid_t pid;
  d = dup(c);
  SAY("dup send %zd", send_to(d, "dup", 3, port_of(s)));
  readable(s, 2000);
  SAY("got %zd", recv(s, buf, sizeof(buf), 0));
  e = dup2(c, 200);
  SAY("dup2 send %zd", send_to(e, "dup2", 4, port_of(s)));
  readable(s, 2000);
  SAY("got %zd", recv(s, buf, sizeof(buf), 0));
  f = fcntl(c, F_DUPFD_CLOEXEC, 300);
  SAY("fcntl dup send %zd", send_to(f, "fcntl", 5, port_of(s)));
  readable(s, 2000);
  SAY("got %zd", recv(s, buf, sizeof(buf), 0));
  close(c);
  close(d);
  close(e);
  /* The number reused by a pipe is a pipe again. */
  {
    int p[2];
    if (pipe(p) != 0) die("pipe");
    dup2(p[1], 200);
    SAY("reused number writes to the pipe %zd", write(200, "pipe", 4));
    SAY("pipe read %zd", read(p[0], buf, sizeof(buf)));
    close(p[0]);
    close(p[1]);
    close(200);
  }
  {
    /* A datagram socket passed over a Unix socket (SCM_RIGHTS) works on the receiving side. */
    int sv[2], got = -1, c2 = bound();
    char one = 'f';
    union {
      char b[CMSG_SPACE(sizeof(int))];
      struct cmsghdr h;
    } u;
    struct iovec iov = {&one, 1};
    struct msghdr m;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) die("socketpair");
    memset(&m, 0, sizeof(m));
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.b;
    m.msg_controllen = sizeof(u.b);
    CMSG_FIRSTHDR(&m)->cmsg_level = SOL_SOCKET;
    CMSG_FIRSTHDR(&m)->cmsg_type = SCM_RIGHTS;
    CMSG_FIRSTHDR(&m)->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(CMSG_FIRSTHDR(&m)), &c2, sizeof(int));
    sendmsg(sv[0], &m, 0);
    close(c2);
    /* The number it had is taken by something else first, so only the received fd is the socket. */
    {
      int p2[2];
      if (pipe(p2) != 0) die("pipe");
      memset(&m, 0, sizeof(m));
      m.msg_iov = &iov;
      m.msg_iovlen = 1;
      m.msg_control = u.b;
      m.msg_controllen = sizeof(u.b);
      SAY("passed %zd", recvmsg(sv[1], &m, 0));
      memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(int));
      SAY("received fd sends %zd", send_to(got, "passed", 6, port_of(s)));
      readable(s, 2000);
      SAY("got %zd", recv(s, buf, sizeof(buf), 0));
      close(p2[0]);
      close(p2[1]);
    }
    close(got);
    close(sv[0]);
    close(sv[1]);
  }
  pid = fork();
  if (pid == 0) {
    send_to(f, "child", 5, port_of(s));
    _exit(0);
  }
  waitpid(pid, NULL, 0);
  readable(s, 2000);
  memset(buf, 0, sizeof(buf));
  SAY("from child %zd %s", recv(s, buf, sizeof(buf), 0), buf);
  close(f);
  close(s);
}

static void case_exec(const char *self) {
  int s = bound(), c = bound();
  char fdarg[16], portarg[16], buf[16] = {0};
  pid_t pid;
  snprintf(fdarg, sizeof(fdarg), "%d", c);
  snprintf(portarg, sizeof(portarg), "%d", port_of(s));
  {
    struct sockaddr_in sa = mkaddr(host_addr, port_of(s));
    if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) != 0) die("connect");
  }
  pid = fork();
  if (pid == 0) {
    execl(self, self, "exec-child", host_addr, fdarg, portarg, (char *)NULL);
    _exit(127);
  }
  readable(s, 5000);
  SAY("from exec'd child %zd %s", recv(s, buf, sizeof(buf), MSG_DONTWAIT), buf);
  waitpid(pid, NULL, 0);
  close(s);
  close(c);
}

static void case_exec_child(int fd, int port) {
  /* write() is the first call on a connected socket inherited across exec: the library must have
   * recognised it at start-up, since nothing else has asked about it. */
  (void)port;
  if (write(fd, "exec", 4) != 4) _exit(1);
  _exit(0);
}

static void case_shutdown(void) {
  int s = bound(), c = udp();
  char buf[8];
  struct sockaddr_in sa = mkaddr(host_addr, port_of(s));
  SAY("unconnected shutdown %s", RES(shutdown(s, SHUT_RD)));
  SAY("recv after shut_rd %zd", recv(s, buf, sizeof(buf), 0));
  SAY("bad how %s", RES(shutdown(c, 7)));
  connect(c, (struct sockaddr *)&sa, sizeof(sa));
  {
    /* What was sent just before shutdown(SHUT_WR) still arrives (socat does this at its input's end). */
    int r2 = bound(), i;
    struct sockaddr_in to = mkaddr(host_addr, port_of(r2));
    int w = udp();
    char big[1000];
    memset(big, 'l', sizeof(big));
    connect(w, (struct sockaddr *)&to, sizeof(to));
    for (i = 0; i < 3; i++) send(w, big, sizeof(big), 0);
    SAY("shutdown right after sending %s", RES(shutdown(w, SHUT_WR)));
    for (i = 0; i < 3; i++) {
      readable(r2, 2000);
      SAY("sent before shutdown arrives %zd", recv(r2, big, sizeof(big), MSG_DONTWAIT));
    }
    close(w);
    close(r2);
  }
  SAY("connected shutdown %s", RES(shutdown(c, SHUT_WR)));
  SAY("send after shut_wr %s", RES(send(c, "x", 1, MSG_NOSIGNAL)));
  close(s);
  close(c);
}

static uint16_t icmp_sum(const void *p, size_t n) {
  const uint8_t *b = p;
  uint32_t s = 0;
  for (size_t i = 0; i + 1 < n; i += 2) s += (uint32_t)(b[i] << 8 | b[i + 1]);
  if (n & 1) s += (uint32_t)b[n - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return htons((uint16_t)~s);
}

static void case_ping(void) {
  int fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
  struct icmphdr h;
  unsigned char pkt[64], in[256];
  struct sockaddr_in to = mkaddr(host_addr, 0), from;
  socklen_t fl = sizeof(from);
  ssize_t n;
  if (fd < 0) die("ping socket");
  memset(pkt, 0, sizeof(pkt));
  memset(&h, 0, sizeof(h));
  h.type = ICMP_ECHO;
  h.un.echo.sequence = htons(1);
  memcpy(pkt, &h, sizeof(h));
  memcpy(pkt + sizeof(h), "payload!", 8);
  SAY("send echo %zd", sendto(fd, pkt, 16, 0, (struct sockaddr *)&to, sizeof(to)));
  readable(fd, 3000);
  n = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&from, &fl);
  SAY("reply %zd type %d code %d seq %d data %d from ok %d port %d", n, in[0], in[1], in[6] << 8 | in[7],
      n >= 16 && memcmp(in + 8, "payload!", 8) == 0, is_host(&from), ntohs(from.sin_port));
  pkt[0] = ICMP_ECHOREPLY;
  SAY("send reply type %s", RES(sendto(fd, pkt, 16, 0, (struct sockaddr *)&to, sizeof(to))));
  pkt[0] = ICMP_ECHO;
  SAY("send short %s", RES(sendto(fd, pkt, 4, 0, (struct sockaddr *)&to, sizeof(to))));
  SAY("send no address %s", RES(send(fd, pkt, 16, 0)));
  close(fd);
  /* A raw ICMP socket sees whole IP packets: our echo request on its way, then the reply. */
  fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  if (fd < 0) die("raw socket");
  h.un.echo.id = htons(0x4242);
  h.checksum = 0;
  memcpy(pkt, &h, sizeof(h));
  ((struct icmphdr *)pkt)->checksum = icmp_sum(pkt, 16);
  SAY("raw send %zd", sendto(fd, pkt, 16, 0, (struct sockaddr *)&to, sizeof(to)));
  for (int i = 0; i < 2; i++) {
    readable(fd, 3000);
    n = recv(fd, in, sizeof(in), MSG_DONTWAIT);
    SAY("raw got %zd version %d icmp type %d", n, n > 0 ? in[0] >> 4 : -1, n > 20 ? in[(in[0] & 15) * 4] : -1);
  }
  close(fd);
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "";
  if (argc > 2) host_addr = argv[2];
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
  if (!strcmp(which, "flags"))
    case_flags();
  else if (!strcmp(which, "bind"))
    case_bind();
  else if (!strcmp(which, "connect"))
    case_connect();
  else if (!strcmp(which, "data"))
    case_data();
  else if (!strcmp(which, "mmsg"))
    case_mmsg();
  else if (!strcmp(which, "gso"))
    case_gso();
  else if (!strcmp(which, "readiness"))
    case_readiness();
  else if (!strcmp(which, "refused"))
    case_refused();
  else if (!strcmp(which, "cmsg"))
    case_cmsg();
  else if (!strcmp(which, "dup-fork"))
    case_dup_fork();
  else if (!strcmp(which, "exec"))
    case_exec(argv[0]);
  else if (!strcmp(which, "exec-child"))
    case_exec_child(atoi(argv[3]), atoi(argv[4]));
  else if (!strcmp(which, "shutdown"))
    case_shutdown();
  else if (!strcmp(which, "ping"))
    case_ping();
  else {
    fprintf(stderr, "unknown case %s\n", which);
    return 2;
  }
  return 0;
}
