/*
 * One-byte request/response over TCP (TCP_NODELAY on both ends), the shape of every RPC-style
 * exchange, for the apps bench's round-trip figures:
 *   rr_peer serve <addr> <port>             accepts one connection and echoes each byte back
 *   rr_peer ping <addr> <port> <rounds> [warmup]
 *                                           connects, sends a byte and waits for it, `rounds` times
 *                                           after `warmup` (default 1000) unmeasured rounds on the
 *                                           same connection; prints µs p50/p90/p99
 *   rr_peer serve-each <addr> <port>        accepts connections one after another, echoes each
 *                                           one's first byte and closes it
 *   rr_peer connect <addr> <port> <rounds> [warmup]
 *                                           a new connection per round: connect, send a byte, wait
 *                                           for it, close; prints µs p50/p90/p99 of connect+echo
 * <addr> is IPv4 or IPv6. The server says "listening" once it is.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
  perror(what);
  exit(1);
}

static socklen_t make_addr(const char *ip, int port, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof(*ss));
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    return sizeof(*a4);
  }
  if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    return sizeof(*a6);
  }
  fprintf(stderr, "not an address: %s\n", ip);
  exit(2);
}

static void nodelay(int fd) {
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) die("TCP_NODELAY");
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int listener(const char *ip, int port, int backlog) {
  struct sockaddr_storage ss;
  socklen_t len = make_addr(ip, port, &ss);
  int one = 1, lfd = socket(ss.ss_family, SOCK_STREAM, 0);
  if (lfd < 0) die("socket");
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(lfd, (struct sockaddr *)&ss, len) != 0) die("bind");
  if (listen(lfd, backlog) != 0) die("listen");
  printf("listening\n");
  fflush(stdout);
  return lfd;
}

static void serve(const char *ip, int port) {
  int lfd = listener(ip, port, 8), c;
  char b;
  c = accept(lfd, NULL, NULL);
  if (c < 0) die("accept");
  nodelay(c);
  while (read(c, &b, 1) == 1)
    if (write(c, &b, 1) != 1) die("write");
  close(c);
  close(lfd);
}

static void serve_each(const char *ip, int port) {
  int lfd = listener(ip, port, 128);
  char b;
  for (;;) {
    int c = accept(lfd, NULL, NULL);
    if (c < 0) die("accept");
    nodelay(c);
    if (read(c, &b, 1) == 1 && write(c, &b, 1) != 1) perror("write");
    close(c);
  }
}

static void print_percentiles(double *t, int rounds) {
  qsort(t, (size_t)rounds, sizeof(double), cmp_double);
  printf("{\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"rounds\":%d}\n", t[rounds / 2], t[(rounds * 9) / 10],
         t[(rounds * 99) / 100], rounds);
}

static void connects(const char *ip, int port, int rounds, int warmup) {
  struct sockaddr_storage ss;
  socklen_t len = make_addr(ip, port, &ss);
  double *t = calloc((size_t)(rounds > 0 ? rounds : 1), sizeof(double));
  char b = 'c';
  if (rounds <= 0 || warmup < 0) {
    fprintf(stderr, "rounds must be positive and warmup not negative\n");
    exit(2);
  }
  if (t == NULL) die("calloc");
  for (int i = -warmup; i < rounds; i++) {
    double t0 = now_us();
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    nodelay(fd);
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) die("connect");
    if (write(fd, &b, 1) != 1) die("write");
    if (read(fd, &b, 1) != 1) die("read");
    if (i >= 0) t[i] = now_us() - t0;
    close(fd);
  }
  print_percentiles(t, rounds);
}

static void ping(const char *ip, int port, int rounds, int warmup) {
  struct sockaddr_storage ss;
  socklen_t len = make_addr(ip, port, &ss);
  int fd = socket(ss.ss_family, SOCK_STREAM, 0);
  double *t = calloc((size_t)rounds, sizeof(double));
  char b = 'p';
  if (rounds <= 0 || warmup < 0) {
    fprintf(stderr, "rounds must be positive and warmup not negative\n");
    exit(2);
  }
  if (fd < 0 || t == NULL) die("socket");
  nodelay(fd);
  if (connect(fd, (struct sockaddr *)&ss, len) != 0) die("connect");
  for (int i = -warmup; i < rounds; i++) {
    double t0 = now_us();
    if (write(fd, &b, 1) != 1) die("write");
    if (read(fd, &b, 1) != 1) die("read");
    if (i >= 0) t[i] = now_us() - t0;
  }
  close(fd);
  print_percentiles(t, rounds);
}

int main(int argc, char **argv) {
  if (argc >= 4 && !strcmp(argv[1], "serve"))
    serve(argv[2], atoi(argv[3]));
  else if (argc >= 5 && !strcmp(argv[1], "ping"))
    ping(argv[2], atoi(argv[3]), atoi(argv[4]), argc >= 6 ? atoi(argv[5]) : 1000);
  else if (argc >= 4 && !strcmp(argv[1], "serve-each"))
    serve_each(argv[2], atoi(argv[3]));
  else if (argc >= 5 && !strcmp(argv[1], "connect"))
    connects(argv[2], atoi(argv[3]), atoi(argv[4]), argc >= 6 ? atoi(argv[5]) : 100);
  else {
    fprintf(stderr,
            "usage: rr_peer serve|serve-each <addr> <port> | rr_peer ping|connect <addr> <port> <rounds> [warmup]\n");
    return 2;
  }
  return 0;
}
