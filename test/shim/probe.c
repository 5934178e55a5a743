/*
 * Behaviours that only exist under libztintercept.so (no kernel twin): address families the
 * virtual network does not carry, an absent daemon, an unreachable address, a daemon restart.
 * `probe <case> <ipv4 addr>`.
 */
#define _GNU_SOURCE
#include <sys/un.h>

#include "common.h"

static void case_families(void) {
  int u[2];
  SAY("inet6 %s", RES(socket(AF_INET6, SOCK_STREAM, 0)));
  SAY("udp %s", RES(socket(AF_INET, SOCK_DGRAM, 0)));
  SAY("unix %s", RES(socket(AF_UNIX, SOCK_STREAM, 0)));
  SAY("unix pair %s", RES(socketpair(AF_UNIX, SOCK_STREAM, 0, u)));
  {
    int v = 0;
    socklen_t l = sizeof(v);
    getsockopt(u[0], SOL_SOCKET, SO_DOMAIN, &v, &l);
    SAY("unix pair domain %d", v);
  }
}

static void case_unreachable(void) {
  int fd = tcp_socket(), r;
  struct sockaddr_in a = mkaddr(host_addr, 80);
  double t0 = now_s();
  r = connect(fd, (struct sockaddr *)&a, sizeof(a));
  SAY("connect %s after %.1f s", r == 0 ? "OK" : ename(errno), now_s() - t0);
}

static void case_absent(void) {
  double t0 = now_s();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  SAY("socket %s fast %d", fd < 0 ? ename(errno) : "OK", now_s() - t0 < 2.0);
  SAY("unix still %s", RES(socket(AF_UNIX, SOCK_STREAM, 0)));
}

/* Reads one command line from stdin ("down", "up", "quit"). */
static int command(char *buf, size_t n) {
  if (fgets(buf, (int)n, stdin) == NULL) return 0;
  buf[strcspn(buf, "\n")] = 0;
  return 1;
}

static int echo_round(void) {
  int port, lfd = listener(&port, 4), fd = connect_to(port), c = accept_one(lfd);
  char b = 0;
  write_all(fd, "e", 1);
  int ok = read_full(c, &b, 1) == 1 && b == 'e';
  close(c);
  close(fd);
  close(lfd);
  return ok;
}

static void case_restart(void) {
  char cmd[64];
  int port, lfd = listener(&port, 4), fd = connect_to(port), c = accept_one(lfd);
  SAY("phase1 %d", echo_round());
  while (command(cmd, sizeof(cmd))) {
    if (!strcmp(cmd, "down")) {
      /* The daemon is gone: old sockets end, new ones fail at once with a clear error. */
      struct pollfd p = {.fd = fd, .events = POLLIN};
      char b;
      int n = poll(&p, 1, 3000);
      ssize_t r = n > 0 ? read(fd, &b, 1) : -2;
      SAY("old connection ended %d", n == 1 && r <= 0);
      fcntl(lfd, F_SETFL, O_NONBLOCK);
      SAY("old listener accept fails %d", accept(lfd, NULL, NULL) < 0);
      double t0 = now_s();
      int s = socket(AF_INET, SOCK_STREAM, 0);
      SAY("socket while down %s fast %d", s < 0 ? ename(errno) : "OK", now_s() - t0 < 2.0);
    } else if (!strcmp(cmd, "up")) {
      SAY("phase2 %d", echo_round());
    } else {
      break;
    }
  }
  close(c);
  close(fd);
  close(lfd);
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "";
  if (argc > 2) host_addr = argv[2];
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (!strcmp(which, "families")) case_families();
  else if (!strcmp(which, "unreachable")) case_unreachable();
  else if (!strcmp(which, "absent")) case_absent();
  else if (!strcmp(which, "restart")) case_restart();
  else {
    fprintf(stderr, "unknown case %s\n", which);
    return 2;
  }
  return 0;
}
