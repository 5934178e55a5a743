/*
 * A socket while its non-blocking connect is under way, as an event loop sees it:
 * `connecting <case> <ipv4 addr>`. Run once against the kernel and once under libztintercept.so;
 * the printed lines must match (test/netcon/connecting.test.ts). A connecting TCP socket is not
 * writable until the attempt is resolved: then POLLOUT alone on success, and on failure
 * POLLIN|POLLOUT|POLLERR|POLLHUP. Programs such as haproxy take writability for "connected".
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/epoll.h>

#include "common.h"

#define TRANSFER (512 * 1024)

static int start_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in sa = mkaddr(host_addr, port);
  if (fd < 0) die("socket");
  SAY("connect %s", RES(connect(fd, (struct sockaddr *)&sa, sizeof(sa))));
  return fd;
}

/* The first non-empty poll result within `secs` seconds (0 if none). */
static int first_events(int fd, double secs) {
  double end = now_s() + secs;
  while (now_s() < end) {
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    if (poll(&p, 1, 100) > 0 && p.revents) return p.revents;
  }
  return 0;
}

static const char *events_name(int ev) {
  static char b[64];
  b[0] = 0;
  if (ev & POLLIN) strcat(b, "IN ");
  if (ev & POLLOUT) strcat(b, "OUT ");
  if (ev & POLLERR) strcat(b, "ERR ");
  if (ev & POLLHUP) strcat(b, "HUP ");
  if (!b[0]) strcpy(b, "none ");
  b[strlen(b) - 1] = 0;
  return b;
}

/* The accepting side: reads the client's stream to its end, checks it, answers with its own. */
struct server {
  int lfd;
  uint64_t got;
  ssize_t got_n;
};

static void *serve(void *arg) {
  struct server *s = arg;
  static unsigned char in[TRANSFER], out[TRANSFER];
  int fd = accept_one(s->lfd);
  s->got_n = read_full(fd, in, TRANSFER);
  s->got = fnv(FNV_INIT, in, s->got_n > 0 ? (size_t)s->got_n : 0);
  fill_pattern(out, TRANSFER, 2);
  if (write_all(fd, out, TRANSFER) < 0) die("server write");
  close(fd);
  return NULL;
}

/* Both directions right after the outcome, each checked against what was sent. */
static void exchange(int fd, struct server *s, pthread_t t) {
  static unsigned char out[TRANSFER], in[TRANSFER], want[TRANSFER];
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  fill_pattern(out, TRANSFER, 1);
  SAY("write %s", RES(write_all(fd, out, TRANSFER)));
  shutdown(fd, SHUT_WR);
  ssize_t n = read_full(fd, in, TRANSFER);
  pthread_join(t, NULL);
  fill_pattern(want, TRANSFER, 2);
  SAY("server got %zd intact %d", s->got_n, s->got == fnv(FNV_INIT, out, TRANSFER));
  SAY("client got %zd intact %d", n, n == TRANSFER && !memcmp(in, want, TRANSFER));
}

/* Success under poll: POLLOUT alone once connected, then data both ways. */
static void case_success(void) {
  int port;
  struct server s = {.lfd = listener(&port, 4)};
  pthread_t t;
  int fd = start_connect(port);
  if (pthread_create(&t, NULL, serve, &s) != 0) die("thread");
  SAY("first events %s", events_name(first_events(fd, 20.0)));
  SAY("so_error %s", ename(get_int_opt(fd, SOL_SOCKET, SO_ERROR)));
  exchange(fd, &s, t);
  close(fd);
  close(s.lfd);
}

/* Success under edge-triggered epoll registered before connect, as nginx and haproxy do. */
static void case_success_epollet(void) {
  int port, ep = epoll_create1(EPOLL_CLOEXEC), seen = 0;
  struct server s = {.lfd = listener(&port, 4)};
  pthread_t t;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in sa = mkaddr(host_addr, port);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.fd = fd}, out[4];
  double end = now_s() + 20.0;
  if (fd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll");
  SAY("connect %s", RES(connect(fd, (struct sockaddr *)&sa, sizeof(sa))));
  if (pthread_create(&t, NULL, serve, &s) != 0) die("thread");
  while (now_s() < end && !seen) {
    int k = epoll_wait(ep, out, 4, 100);
    for (int i = 0; i < k; i++) seen |= (int)out[i].events;
  }
  SAY("epoll first events %s", events_name(seen & (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP)));
  SAY("so_error %s", ename(get_int_opt(fd, SOL_SOCKET, SO_ERROR)));
  close(ep);
  exchange(fd, &s, t);
  close(fd);
  close(s.lfd);
}

/* Refused: the whole failure event set at once, then the error once. */
static void case_refused(void) {
  int port, lfd = listener(&port, 1);
  close(lfd);
  int fd = start_connect(port);
  int ev = first_events(fd, 20.0);
  SAY("first events %s", events_name(ev));
  SAY("so_error %s", ename(get_int_opt(fd, SOL_SOCKET, SO_ERROR)));
  SAY("after so_error %s", events_name(first_events(fd, 1.0)));
  char b[4];
  ssize_t n = recv(fd, b, sizeof(b), 0);
  SAY("recv %s", n < 0 ? ename(errno) : n == 0 ? "EOF" : "data");
  close(fd);
}

/* No kernel twin: an address nobody answers. Not writable while the attempt runs (polled for a
 * second, a bound on what is looked at, not a speed check); then the failure's event set. */
static void case_pending(void) {
  int fd = start_connect(80);
  struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
  int early = poll(&p, 1, 1000) > 0 ? p.revents : 0;
  SAY("while connecting %s", events_name(early));
  SAY("first events %s", events_name(early ? early : first_events(fd, 60.0)));
  close(fd);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: connecting <case> <ipv4 addr>\n");
    return 2;
  }
  host_addr = argv[2];
  if (!strcmp(argv[1], "success"))
    case_success();
  else if (!strcmp(argv[1], "success-epollet"))
    case_success_epollet();
  else if (!strcmp(argv[1], "refused"))
    case_refused();
  else if (!strcmp(argv[1], "pending"))
    case_pending();
  else {
    fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
  }
  return 0;
}
