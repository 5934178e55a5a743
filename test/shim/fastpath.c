/*
 * Connections between two programs on one daemon (the same-daemon fast path), run once on the
 * kernel's loopback (the reference) and once under libztintercept.so; the printed lines must be
 * identical. Addresses and ports are compared, never printed.
 *   fastpath <case> <ipv4 address> <ipv6 address>
 * Cases: blocking, nonblocking, large, shutdown, reset, accept4, ipv6, dual, fork, tcp-info, hold.
 * `hold` prints "held" with a connection open and closes it when its stdin ends; `survive` does
 * the same, then uses the connection again (run across a daemon restart).
 */
#define _GNU_SOURCE
#include <sys/epoll.h>

#include "common.h"

static const char *addr6 = "::1";

/* getsockname of one end equals getpeername of the other, both ways. */
static int names_cross(int c, int a) {
  struct sockaddr_storage cl, cp, al, ap;
  socklen_t l1 = sizeof(cl), l2 = sizeof(cp), l3 = sizeof(al), l4 = sizeof(ap);
  if (getsockname(c, (struct sockaddr *)&cl, &l1) || getpeername(c, (struct sockaddr *)&cp, &l2) ||
      getsockname(a, (struct sockaddr *)&al, &l3) || getpeername(a, (struct sockaddr *)&ap, &l4))
    return 0;
  return l1 == l4 && l2 == l3 && !memcmp(&cl, &ap, l1) && !memcmp(&cp, &al, l2);
}

static int tcp_state(int fd) {
  unsigned char info[104];
  socklen_t l = sizeof(info);
  memset(info, 0xff, sizeof(info));
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, &l) != 0) return -errno;
  return info[0];
}

/* One message each way: "ping" from the client, "pong" back. */
static void exchange(int c, int a) {
  char b[8] = {0};
  write_all(c, "ping", 4);
  SAY("server got %s", read_full(a, b, 4) == 4 && !memcmp(b, "ping", 4) ? "ping" : "?");
  write_all(a, "pong", 4);
  SAY("client got %s", read_full(c, b, 4) == 4 && !memcmp(b, "pong", 4) ? "pong" : "?");
}

static void case_blocking(void) {
  int port, lfd = listener(&port, 8), c = connect_to(port), a = accept_one(lfd), one = 1;
  exchange(c, a);
  SAY("names cross %d", names_cross(c, a));
  SAY("nodelay set %s get %d", RES(setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))),
      get_int_opt(c, IPPROTO_TCP, TCP_NODELAY));
  SAY("keepalive set %s get %d", RES(setsockopt(a, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one))),
      get_int_opt(a, SOL_SOCKET, SO_KEEPALIVE));
  SAY("so_error %d %d", get_int_opt(c, SOL_SOCKET, SO_ERROR), get_int_opt(a, SOL_SOCKET, SO_ERROR));
  {
    struct sockaddr_in sa = mkaddr(host_addr, port);
    SAY("connect again %s", RES(connect(c, (struct sockaddr *)&sa, sizeof(sa))));
  }
  SAY("listen on connected %s", RES(listen(c, 1)));
  close(c);
  close(a);
  close(lfd);
}

/* epoll registered before connect keeps working; EINPROGRESS, then POLLOUT and SO_ERROR 0. */
static void case_nonblocking(void) {
  int port, lfd = listener(&port, 8), c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), a, ep = epoll_create1(0), n;
  struct sockaddr_in sa = mkaddr(host_addr, port);
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.fd = c}, got;
  char b[8];
  epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
  n = connect(c, (struct sockaddr *)&sa, sizeof(sa));
  SAY("connect %s", n == 0 ? "OK" : ename(errno));
  n = epoll_wait(ep, &got, 1, 5000);
  SAY("epoll writable %d", n == 1 && (got.events & EPOLLOUT) != 0);
  SAY("so_error %d", get_int_opt(c, SOL_SOCKET, SO_ERROR));
  SAY("second connect %s", RES(connect(c, (struct sockaddr *)&sa, sizeof(sa))));
  SAY("third connect %s", RES(connect(c, (struct sockaddr *)&sa, sizeof(sa))));
  a = accept_one(lfd);
  write_all(a, "hi", 2);
  ev.events = EPOLLIN;
  epoll_ctl(ep, EPOLL_CTL_MOD, c, &ev);
  n = epoll_wait(ep, &got, 1, 5000);
  SAY("epoll readable %d read %zd", n == 1 && (got.events & EPOLLIN) != 0, read(c, b, sizeof(b)));
  SAY("empty read %s", read(c, b, sizeof(b)) < 0 ? ename(errno) : "DATA");
  close(ep);
  close(c);
  close(a);
  close(lfd);
}

/* 32 MiB each way at once, checksummed. */
static void case_large(void) {
  enum { N = 32 << 20 };
  int port, lfd = listener(&port, 8), c = connect_to(port), a = accept_one(lfd), i;
  unsigned char *out = malloc(N), *in = malloc(N);
  uint64_t want;
  fill_pattern(out, N, 7);
  want = fnv(FNV_INIT, out, N);
  for (i = 0; i < 2; i++) {
    if (fork() == 0) {
      int me = i == 0 ? c : a;
      if (write_all(me, out, N) != N) _exit(1);
      shutdown(me, SHUT_WR);
      _exit(0);
    }
  }
  for (i = 0; i < 2; i++) {
    int me = i == 0 ? a : c;
    char extra;
    ssize_t n = read_full(me, in, N);
    SAY("%s received %zd same %d then eof %zd", i == 0 ? "server" : "client", n, fnv(FNV_INIT, in, N) == want,
        read(me, &extra, 1));
  }
  while (wait(NULL) > 0) {
  }
  close(c);
  close(a);
  close(lfd);
}

static void case_shutdown(void) {
  int port, lfd = listener(&port, 8), c = connect_to(port), a = accept_one(lfd);
  char b[8];
  SAY("shutdown wr %s", RES(shutdown(c, SHUT_WR)));
  SAY("server eof %zd", read(a, b, sizeof(b)));
  SAY("client write after shutdown %s", RES(send(c, "x", 1, MSG_NOSIGNAL)));
  write_all(a, "late", 4);
  SAY("client still reads %zd", read_full(c, b, 4));
  SAY("server state after peer shut %d", tcp_state(a));
  close(a);
  SAY("client eof %zd", read(c, b, sizeof(b)));
  usleep(50000);
  SAY("client state after both %d", tcp_state(c));
  {
    struct sockaddr_in p;
    socklen_t l = sizeof(p);
    SAY("ended peer %s", RES(getpeername(c, (struct sockaddr *)&p, &l)));
  }
  SAY("ended shutdown %s", RES(shutdown(c, SHUT_RDWR)));
  close(c);
  close(lfd);
}

/* Closing with unread data resets: the peer's read gives ECONNRESET. */
static void case_reset(void) {
  int port, lfd = listener(&port, 8), c = connect_to(port), a = accept_one(lfd);
  char b[8];
  struct pollfd p = {.fd = c, .events = POLLIN};
  write_all(c, "unread", 6);
  usleep(100000);
  close(a);
  SAY("reset noticed %d", poll(&p, 1, 5000));
  usleep(50000);
  SAY("state after reset %d", tcp_state(c));
  {
    struct sockaddr_in pa;
    socklen_t l = sizeof(pa);
    SAY("reset peer %s", RES(getpeername(c, (struct sockaddr *)&pa, &l)));
  }
  SAY("so_error %s then %d", ename(get_int_opt(c, SOL_SOCKET, SO_ERROR)), get_int_opt(c, SOL_SOCKET, SO_ERROR));
  close(c);
  c = connect_to(port);
  a = accept_one(lfd);
  write_all(c, "unread", 6);
  usleep(100000);
  close(a);
  usleep(100000);
  {
    ssize_t r = read(c, b, sizeof(b));
    SAY("read after reset %s", r < 0 ? ename(errno) : r == 0 ? "EOF" : "DATA");
  }
  close(c);
  close(lfd);
}

static void case_accept4(void) {
  int port, lfd = listener(&port, 8), c1 = connect_to(port), c2 = connect_to(port), a1, a2;
  char b;
  a1 = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  a2 = accept(lfd, NULL, NULL);
  SAY("accept4 nonblock %d cloexec %d", (fcntl(a1, F_GETFL) & O_NONBLOCK) != 0, (fcntl(a1, F_GETFD) & FD_CLOEXEC) != 0);
  SAY("accept4 empty read %s", read(a1, &b, 1) < 0 ? ename(errno) : "DATA");
  SAY("accept nonblock %d cloexec %d", (fcntl(a2, F_GETFL) & O_NONBLOCK) != 0, (fcntl(a2, F_GETFD) & FD_CLOEXEC) != 0);
  SAY("client nonblock %d", (fcntl(c1, F_GETFL) & O_NONBLOCK) != 0);
  close(c1);
  close(c2);
  close(a1);
  close(a2);
  close(lfd);
}

static int listener6(const char *at, int *port) {
  int fd = socket(AF_INET6, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in6 a;
  socklen_t l = sizeof(a);
  memset(&a, 0, sizeof(a));
  a.sin6_family = AF_INET6;
  inet_pton(AF_INET6, at, &a.sin6_addr);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) die("bind6");
  if (listen(fd, 8) != 0) die("listen6");
  getsockname(fd, (struct sockaddr *)&a, &l);
  *port = ntohs(a.sin6_port);
  return fd;
}

static void case_ipv6(void) {
  int port, lfd = listener6(addr6, &port), c = socket(AF_INET6, SOCK_STREAM, 0), a;
  struct sockaddr_in6 sa, peer;
  socklen_t l = sizeof(peer);
  memset(&sa, 0, sizeof(sa));
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons((uint16_t)port);
  inet_pton(AF_INET6, addr6, &sa.sin6_addr);
  SAY("connect %s", RES(connect(c, (struct sockaddr *)&sa, sizeof(sa))));
  a = accept(lfd, (struct sockaddr *)&peer, &l);
  SAY("accepted family %d len %d", peer.sin6_family, (int)l);
  exchange(c, a);
  SAY("names cross %d", names_cross(c, a));
  SAY("peer is the connect address %d", getpeername(c, (struct sockaddr *)&peer, &l) == 0 &&
                                            !memcmp(&peer.sin6_addr, &sa.sin6_addr, 16) &&
                                            peer.sin6_port == sa.sin6_port);
  close(c);
  close(a);
  close(lfd);
}

/* An AF_INET6 listener on :: takes an IPv4 client: the peer is ::ffff:a.b.c.d. */
static void case_dual(void) {
  int port, lfd = listener6("::", &port), c = tcp_socket(), a;
  struct sockaddr_in sa = mkaddr(host_addr, port), cl;
  struct sockaddr_in6 peer;
  socklen_t l = sizeof(peer), l2 = sizeof(cl);
  SAY("connect %s", RES(connect(c, (struct sockaddr *)&sa, sizeof(sa))));
  a = accept(lfd, (struct sockaddr *)&peer, &l);
  getsockname(c, (struct sockaddr *)&cl, &l2);
  SAY("peer family %d mapped %d same %d", peer.sin6_family, IN6_IS_ADDR_V4MAPPED(&peer.sin6_addr),
      !memcmp(&peer.sin6_addr.s6_addr[12], &cl.sin_addr, 4) && peer.sin6_port == cl.sin_port);
  l = sizeof(peer);
  getsockname(a, (struct sockaddr *)&peer, &l);
  SAY("server name mapped %d is the connect address %d", IN6_IS_ADDR_V4MAPPED(&peer.sin6_addr),
      !memcmp(&peer.sin6_addr.s6_addr[12], &sa.sin_addr, 4) && peer.sin6_port == sa.sin_port);
  exchange(c, a);
  close(c);
  close(a);
  close(lfd);
}

/* A child forked after accept serves the connection; the parent's copy closes first. */
static void case_fork(void) {
  int port, lfd = listener(&port, 8), c = connect_to(port), a = accept_one(lfd);
  char b[16];
  pid_t pid = fork();
  if (pid == 0) {
    close(lfd);
    SAY("child names cross %d", names_cross(c, a));
    write_all(a, "child", 5);
    _exit(0);
  }
  waitpid(pid, NULL, 0);
  close(a);
  SAY("parent reads %zd", read_full(c, b, 5));
  SAY("then eof %zd", read(c, b, sizeof(b)));
  close(c);
  close(lfd);
}

static void case_tcp_info(void) {
  int port, lfd = listener(&port, 8), c = connect_to(port), a = accept_one(lfd);
  unsigned char info[232];
  socklen_t l = sizeof(info);
  uint32_t mss, total_retrans;
  SAY("states %d %d", tcp_state(c), tcp_state(a));
  getsockopt(c, IPPROTO_TCP, TCP_INFO, info, &l);
  memcpy(&mss, info + 16, 4);
  memcpy(&total_retrans, info + 100, 4);
  SAY("len %d mss sane %d retransmits %u", (int)l, mss >= 536 && mss <= 65495, total_retrans);
  close(c);
  close(a);
  close(lfd);
}

static void case_hold(int again) {
  int port, lfd = listener(&port, 8), c = connect_to(port), a = accept_one(lfd);
  char b;
  exchange(c, a);
  SAY("held");
  while (read(0, &b, 1) > 0) {
  }
  if (again) {
    struct sockaddr_in p;
    socklen_t l = sizeof(p);
    exchange(c, a);
    SAY("peer %s", RES(getpeername(c, (struct sockaddr *)&p, &l)));
  }
  close(c);
  close(a);
  close(lfd);
}

int main(int argc, char **argv) {
  const char *which;
  if (argc < 4) {
    fprintf(stderr, "usage: fastpath <case> <ipv4 address> <ipv6 address>\n");
    return 2;
  }
  which = argv[1];
  host_addr = argv[2];
  addr6 = argv[3];
  if (!strcmp(which, "blocking"))
    case_blocking();
  else if (!strcmp(which, "nonblocking"))
    case_nonblocking();
  else if (!strcmp(which, "large"))
    case_large();
  else if (!strcmp(which, "shutdown"))
    case_shutdown();
  else if (!strcmp(which, "reset"))
    case_reset();
  else if (!strcmp(which, "accept4"))
    case_accept4();
  else if (!strcmp(which, "ipv6"))
    case_ipv6();
  else if (!strcmp(which, "dual"))
    case_dual();
  else if (!strcmp(which, "fork"))
    case_fork();
  else if (!strcmp(which, "tcp-info"))
    case_tcp_info();
  else if (!strcmp(which, "hold"))
    case_hold(0);
  else if (!strcmp(which, "survive"))
    case_hold(1);
  else
    return 2;
  return 0;
}
