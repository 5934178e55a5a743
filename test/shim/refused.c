/*
 * Connect attempts that fail, as an event loop sees them: `refused <case> <ipv4 addr>`. Run once
 * against the kernel and once under libztintercept.so; the printed lines must match except where
 * test/netcon/connect-failure.test.ts says why not. The Linux kernel reports a failed
 * non-blocking connect as POLLOUT|POLLERR|POLLHUP (and POLLIN); programs such as haproxy wait for
 * readability or hang-up, so a socket that only ever says POLLOUT makes them wait out a timeout.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>

#include "common.h"

/* Errno names common.h does not know. */
static const char *name_of(int e) {
  switch (e) {
  case ECONNABORTED:
    return "ECONNABORTED";
  case EBADFD:
    return "EBADFD";
  default:
    return ename(e);
  }
}

#define RESULT(expr) ((expr) < 0 ? name_of(errno) : "OK")

/* A port on host_addr nobody listens on (a listener's, closed again). */
static int closed_port(void) {
  int port, lfd = listener(&port, 1);
  close(lfd);
  return port;
}

/* Starts a non-blocking connect to `port`; prints the immediate result. */
static int start_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in sa = mkaddr(host_addr, port);
  if (fd < 0) die("socket");
  SAY("connect %s", RESULT(connect(fd, (struct sockaddr *)&sa, sizeof(sa))));
  return fd;
}

/* Polls for up to `secs` seconds until POLLERR or POLLHUP; returns every event seen. */
static int poll_until_hangup(int fd, double secs) {
  struct pollfd p;
  int seen = 0;
  double end = now_s() + secs;
  while (now_s() < end && !(seen & (POLLERR | POLLHUP))) {
    p.fd = fd;
    p.events = POLLIN | POLLOUT;
    p.revents = 0;
    if (poll(&p, 1, 100) > 0) seen |= p.revents;
    /* POLLOUT alone comes at once on both; do not spin on it. */
    if (!(seen & (POLLERR | POLLHUP))) usleep(10000);
  }
  return seen;
}

static int local_port(int fd) {
  struct sockaddr_in a;
  socklen_t l = sizeof(a);
  if (getsockname(fd, (struct sockaddr *)&a, &l) != 0) return -errno;
  return ntohs(a.sin_port);
}

static int connect_again(int fd, int port) {
  struct sockaddr_in sa = mkaddr(host_addr, port);
  return connect(fd, (struct sockaddr *)&sa, sizeof(sa));
}

/* Refused: hang-up (waited for up to 20 s, a bound, not a speed check), then every call a
 * program makes next. */
static void case_nonblocking(void) {
  int port = closed_port(), fd = start_connect(port), before = local_port(fd), seen;
  char b[4];
  ssize_t n;
  struct sockaddr_in peer;
  socklen_t pl = sizeof(peer);
  seen = poll_until_hangup(fd, 20.0);
  SAY("hangup %d", (seen & (POLLERR | POLLHUP)) != 0);
  SAY("readable %d writable %d", (seen & POLLIN) != 0, (seen & POLLOUT) != 0);
  SAY("local port kept %d", before > 0 && local_port(fd) == before);
  SAY("getpeername %s", RESULT(getpeername(fd, (struct sockaddr *)&peer, &pl)));
  SAY("so_error %s", name_of(get_int_opt(fd, SOL_SOCKET, SO_ERROR)));
  SAY("so_error again %s", name_of(get_int_opt(fd, SOL_SOCKET, SO_ERROR)));
  SAY("still hung up %d", (poll_until_hangup(fd, 5.0) & POLLHUP) != 0);
  n = recv(fd, b, sizeof(b), 0);
  SAY("recv %s", n < 0 ? name_of(errno) : n == 0 ? "EOF" : "data");
  SAY("send %s", RESULT(send(fd, "x", 1, MSG_NOSIGNAL)));
  SAY("connect again %s", RESULT(connect_again(fd, port)));
  close(fd);
}

/* A connect after the hang-up, before SO_ERROR was read, returns the error itself. */
static void case_unread(void) {
  int port = closed_port(), fd = start_connect(port);
  SAY("hangup %d", (poll_until_hangup(fd, 20.0) & (POLLERR | POLLHUP)) != 0);
  SAY("connect again %s", RESULT(connect_again(fd, port)));
  SAY("so_error %s", name_of(get_int_opt(fd, SOL_SOCKET, SO_ERROR)));
  close(fd);
}

/* Edge-triggered epoll, as haproxy and nginx register a connecting socket. */
static void case_epoll(void) {
  int port = closed_port(), fd = start_connect(port), ep = epoll_create1(EPOLL_CLOEXEC), seen = 0;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.fd = fd}, out[4];
  double end = now_s() + 20.0;
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll");
  while (now_s() < end && !(seen & (EPOLLERR | EPOLLHUP))) {
    int k = epoll_wait(ep, out, 4, 100);
    for (int i = 0; i < k; i++) seen |= (int)out[i].events;
  }
  SAY("epoll hangup %d", (seen & (EPOLLERR | EPOLLHUP)) != 0);
  SAY("epoll rdhup %d", (seen & EPOLLRDHUP) != 0);
  SAY("so_error %s", name_of(get_int_opt(fd, SOL_SOCKET, SO_ERROR)));
  close(ep);
  close(fd);
}

/* A blocking connect returns its failure itself; the socket can try again and carry data. */
static void case_blocking_retry(void) {
  int port = closed_port(), lport, lfd = listener(&lport, 4), fd = tcp_socket(), a;
  char got[4] = {0};
  SAY("blocking refused %s", RESULT(connect_again(fd, port)));
  SAY("retry %s", RESULT(connect_again(fd, lport)));
  a = accept_one(lfd);
  SAY("write %s", RESULT(write_all(fd, "ok!", 3)));
  SAY("peer read %zd %s", read_full(a, got, 3), got);
  close(a);
  close(fd);
  close(lfd);
}

/* The attempt after the one that reported the failure: the kernel starts afresh. */
static void case_reconnect(void) {
  int port = closed_port(), lport, lfd = listener(&lport, 4), fd = start_connect(port);
  poll_until_hangup(fd, 20.0);
  SAY("so_error %s", name_of(get_int_opt(fd, SOL_SOCKET, SO_ERROR)));
  SAY("connect again %s", RESULT(connect_again(fd, port)));
  SAY("third connect %s", RESULT(connect_again(fd, lport)));
  close(fd);
  close(lfd);
}

/* No kernel twin: an address nobody answers on the virtual network fails the same way. */
static void case_unreachable(void) {
  int fd = start_connect(80);
  int seen = poll_until_hangup(fd, 30.0);
  int e = get_int_opt(fd, SOL_SOCKET, SO_ERROR);
  SAY("hangup %d so_error %s", (seen & (POLLERR | POLLHUP)) != 0, name_of(e));
  close(fd);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: refused <case> <ipv4 addr>\n");
    return 2;
  }
  host_addr = argv[2];
  if (!strcmp(argv[1], "nonblocking"))
    case_nonblocking();
  else if (!strcmp(argv[1], "unread"))
    case_unread();
  else if (!strcmp(argv[1], "epoll"))
    case_epoll();
  else if (!strcmp(argv[1], "blocking-retry"))
    case_blocking_retry();
  else if (!strcmp(argv[1], "reconnect"))
    case_reconnect();
  else if (!strcmp(argv[1], "unreachable"))
    case_unreachable();
  else {
    fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
  }
  return 0;
}
