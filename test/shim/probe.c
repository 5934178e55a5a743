/*
 * Behaviours that only exist under libztintercept.so (no kernel twin): address families the
 * virtual network does not carry, an absent daemon, an unreachable address, a daemon restart.
 * `probe <case> <ipv4 addr>`.
 */
#define _GNU_SOURCE
#include <ifaddrs.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <sys/syscall.h>
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

/* A socket's outcome; any fd made is closed. */
static const char *made(int fd) {
  if (fd < 0) return ename(errno);
  close(fd);
  return "OK";
}

/* Families that would reach a network around the container are refused, by every entry point. */
static void case_containment(void) {
  int sv[2];
  struct ifaddrs *ifs = NULL;
  SAY("packet raw %s", made(socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))));
  SAY("packet dgram %s", made(socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP))));
  SAY("inet raw %s", made(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)));
  SAY("inet raw tcp %s", made(socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP)));
  SAY("inet ping %s", made(socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)));
  SAY("inet6 raw %s", made(socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6)));
  SAY("inet6 raw tcp %s", made(socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP)));
  SAY("inet6 ping %s", made(socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6)));
  SAY("vsock %s", made(socket(40 /* AF_VSOCK */, SOCK_STREAM, 0)));
  SAY("xdp %s", made(socket(44 /* AF_XDP */, SOCK_RAW, 0)));
  SAY("netlink route %s", made(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)));
  SAY("netlink netfilter %s", made(socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER)));
  SAY("netlink sock_diag %s", made(socket(AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG)));
  SAY("syscall packet %s", made((int)syscall(SYS_socket, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))));
  SAY("syscall inet raw %s", made((int)syscall(SYS_socket, AF_INET, SOCK_RAW, IPPROTO_UDP)));
  SAY("syscall inet udp %s", made((int)syscall(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)));
  SAY("syscall inet ping %s", made((int)syscall(SYS_socket, AF_INET, SOCK_DGRAM, IPPROTO_ICMP)));
  SAY("syscall inet6 raw %s", made((int)syscall(SYS_socket, AF_INET6, SOCK_RAW, IPPROTO_UDP)));
  SAY("syscall inet6 udp %s", made((int)syscall(SYS_socket, AF_INET6, SOCK_DGRAM, 0)));
  SAY("socketpair unix %s",
      socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 ? (close(sv[0]), close(sv[1]), "OK") : ename(errno));
  SAY("socketpair inet %s", RES(socketpair(AF_INET, SOCK_STREAM, 0, sv)));
  SAY("socketpair inet6 %s", RES(socketpair(AF_INET6, SOCK_DGRAM, 0, sv)));
  SAY("socketpair packet %s", RES(socketpair(AF_PACKET, SOCK_RAW, 0, sv)));
  SAY("syscall socketpair tipc %s", RES(syscall(SYS_socketpair, 30 /* AF_TIPC */, SOCK_SEQPACKET, 0, sv)));
  SAY("getifaddrs %s", RES(getifaddrs(&ifs)));
  if (ifs != NULL) freeifaddrs(ifs);
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

static int count_fds(void) {
  int n = 0;
  for (int fd = 0; fd < 4096; fd++)
    if (fcntl(fd, F_GETFD) >= 0) n++;
  return n;
}

static pthread_barrier_t hold;

static void *channel_thread(void *p) {
  (void)p;
  close(tcp_socket());         /* this thread's first socket call opens its channel */
  pthread_barrier_wait(&hold); /* channels exist */
  pthread_barrier_wait(&hold); /* the fork is done */
  return NULL;
}

/* Each thread has a channel of its own; a forked child closes every one it inherited. */
static void case_fork_channels(void) {
  pthread_t t[4];
  int base, with, i, p[2];
  close(tcp_socket());
  base = count_fds();
  pthread_barrier_init(&hold, NULL, 5);
  for (i = 0; i < 4; i++) pthread_create(&t[i], NULL, channel_thread, NULL);
  pthread_barrier_wait(&hold);
  with = count_fds();
  SAY("threads opened channels %d", with - base);
  pipe(p);
  if (fork() == 0) {
    int in_child = count_fds(), ok;
    close(tcp_socket());
    ok = count_fds() == in_child + 1;
    dprintf(p[1], "child closed inherited channels %d, opened its own %d\n", with + 2 - in_child, ok);
    _exit(0);
  }
  close(p[1]);
  {
    char line[128] = {0};
    ssize_t n = read(p[0], line, sizeof(line) - 1);
    if (n > 0) fputs(line, stdout);
  }
  close(p[0]);
  wait(NULL);
  pthread_barrier_wait(&hold);
  for (i = 0; i < 4; i++) pthread_join(t[i], NULL);
  SAY("channels after threads exit %d", count_fds() - base);
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "";
  if (argc > 2) host_addr = argv[2];
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (!strcmp(which, "families"))
    case_families();
  else if (!strcmp(which, "containment"))
    case_containment();
  else if (!strcmp(which, "unreachable"))
    case_unreachable();
  else if (!strcmp(which, "absent"))
    case_absent();
  else if (!strcmp(which, "restart"))
    case_restart();
  else if (!strcmp(which, "fork-channels"))
    case_fork_channels();
  else {
    fprintf(stderr, "unknown case %s\n", which);
    return 2;
  }
  return 0;
}
