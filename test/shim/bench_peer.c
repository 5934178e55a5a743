/*
 * Measurements for bench/netcon.ts, run once on the kernel's loopback and once under
 * libztintercept.so. Prints one JSON line.
 *   bench_peer latency <addr> <rounds>   connect + accept + 1-byte round trip, µs p50/p99
 *   bench_peer bulk <addr> <megabytes>   one-way transfer between two processes, Gbit/s
 */
#define _GNU_SOURCE
#include "common.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void latency(int rounds) {
  int port, lfd = listener(&port, 128);
  double *t = calloc((size_t)rounds, sizeof(double));
  pid_t pid = fork();
  if (pid == 0) {
    for (int i = 0; i < rounds; i++) {
      int c = accept(lfd, NULL, NULL);
      char b;
      if (c < 0) _exit(1);
      if (read(c, &b, 1) == 1) write_all(c, &b, 1);
      close(c);
    }
    _exit(0);
  }
  close(lfd);
  for (int i = 0; i < rounds; i++) {
    double t0 = now_s();
    int fd = tcp_socket(), one = 1;
    struct sockaddr_in a = mkaddr(host_addr, port);
    char b = 'p';
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) die("connect");
    write_all(fd, &b, 1);
    if (read(fd, &b, 1) != 1) die("read");
    t[i] = (now_s() - t0) * 1e6;
    close(fd);
  }
  waitpid(pid, NULL, 0);
  qsort(t, (size_t)rounds, sizeof(double), cmp_double);
  printf("{\"p50_us\":%.1f,\"p99_us\":%.1f,\"rounds\":%d}\n", t[rounds / 2], t[(rounds * 99) / 100], rounds);
}

static void bulk(long megabytes) {
  int port, lfd = listener(&port, 8), p[2];
  long total = megabytes * 1024 * 1024;
  pid_t pid;
  pipe(p);
  pid = fork();
  if (pid == 0) {
    static char buf[1 << 17];
    int c = accept(lfd, NULL, NULL);
    long got = 0;
    ssize_t n;
    double t0 = 0;
    while ((n = read(c, buf, sizeof(buf))) > 0) {
      if (got == 0) t0 = now_s();
      got += n;
    }
    double dt = now_s() - t0;
    write(p[1], &got, sizeof(got));
    write(p[1], &dt, sizeof(dt));
    _exit(0);
  }
  close(lfd);
  {
    static char buf[1 << 17];
    int fd = connect_to(port);
    long sent = 0, got = 0;
    double dt = 0;
    memset(buf, 0x5a, sizeof(buf));
    while (sent < total) {
      ssize_t w = write(fd, buf, sizeof(buf));
      if (w <= 0) die("write");
      sent += w;
    }
    close(fd);
    read(p[0], &got, sizeof(got));
    read(p[0], &dt, sizeof(dt));
    waitpid(pid, NULL, 0);
    printf("{\"gbps\":%.3f,\"bytes\":%ld,\"seconds\":%.3f}\n", (double)got * 8 / dt / 1e9, got, dt);
  }
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: bench_peer latency|bulk <addr> <n>\n");
    return 2;
  }
  host_addr = argv[2];
  if (!strcmp(argv[1], "latency"))
    latency(atoi(argv[3]));
  else if (!strcmp(argv[1], "bulk"))
    bulk(atol(argv[3]));
  else
    return 2;
  return 0;
}
