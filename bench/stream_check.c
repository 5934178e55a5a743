/*
 * A checked TCP stream for the paths bench's real-time part (iperf3 does not look at the bytes it
 * moves): the sender writes a pseudo-random byte stream from a fixed seed for a number of seconds,
 * with the congestion control it is told (TCP_CONGESTION), then half-closes; the receiver
 * regenerates the same stream and compares every byte as it arrives. Run under
 * libztintercept.so it checks the daemons' stacks end to end; on the kernel, the kernel's.
 *
 *   stream_check serve <addr> <port>               one connection; prints "listening", then at the
 *                                                  end {"bytes":N,"intact":true|false,"first_bad":-1|offset,"mbps":X}
 *   stream_check send <addr> <port> <seconds> <algo>   prints {"bytes":N,"algo":"…"}
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 65536

static void die(const char *what) {
  perror(what);
  exit(1);
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The stream's byte at offset `off`: a function of the offset alone, so either end can check any part. */
static void fill(unsigned char *b, uint64_t off, size_t n) {
  uint64_t word = UINT64_MAX, x = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t pos = off + i;
    if (pos / 8 != word) {
      word = pos / 8;
      x = word;
      x ^= x >> 33;
      x *= 0xff51afd7ed558ccdull;
      x ^= x >> 33;
      x *= 0xc4ceb9fe1a85ec53ull;
      x ^= x >> 33;
    }
    b[i] = (unsigned char)(x >> ((pos % 8) * 8));
  }
}

static struct sockaddr_in addr_of(const char *ip, const char *port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)atoi(port));
  if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
    fprintf(stderr, "bad address %s\n", ip);
    exit(2);
  }
  return a;
}

static int serve(const char *ip, const char *port) {
  struct sockaddr_in a = addr_of(ip, port);
  int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);
  if (l < 0) die("socket");
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0) die("bind");
  if (listen(l, 1) < 0) die("listen");
  printf("listening\n");
  fflush(stdout);
  int c = accept(l, NULL, NULL);
  if (c < 0) die("accept");
  static unsigned char got[BLOCK], want[BLOCK];
  uint64_t off = 0;
  int64_t first_bad = -1;
  double t0 = 0, t1 = 0;
  for (;;) {
    ssize_t r = read(c, got, sizeof(got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("read");
    if (r == 0) break;
    if (off == 0) t0 = now_s();
    t1 = now_s();
    if (first_bad < 0) {
      fill(want, off, (size_t)r);
      for (ssize_t i = 0; i < r; i++)
        if (got[i] != want[i]) {
          first_bad = (int64_t)(off + (uint64_t)i);
          break;
        }
    }
    off += (uint64_t)r;
  }
  printf("{\"bytes\":%llu,\"intact\":%s,\"first_bad\":%lld,\"mbps\":%.1f}\n", (unsigned long long)off, first_bad < 0 ? "true" : "false",
         (long long)first_bad, t1 > t0 ? (double)off * 8 / (t1 - t0) / 1e6 : 0.0);
  close(c);
  close(l);
  return 0;
}

static int send_for(const char *ip, const char *port, double seconds, const char *algo) {
  struct sockaddr_in a = addr_of(ip, port);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) die("socket");
  if (setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, algo, (socklen_t)strlen(algo)) < 0) die("TCP_CONGESTION");
  if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) die("connect");
  static unsigned char b[BLOCK];
  uint64_t off = 0;
  double end = now_s() + seconds;
  while (now_s() < end) {
    fill(b, off, sizeof(b));
    size_t done = 0;
    while (done < sizeof(b)) {
      ssize_t w = write(s, b + done, sizeof(b) - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) die("write");
      done += (size_t)w;
    }
    off += sizeof(b);
  }
  if (shutdown(s, SHUT_WR) < 0) die("shutdown");
  /* the receiver closes once it has read everything */
  while (read(s, b, sizeof(b)) > 0) {
  }
  printf("{\"bytes\":%llu,\"algo\":\"%s\"}\n", (unsigned long long)off, algo);
  close(s);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], "serve")) return serve(argv[2], argv[3]);
  if (argc == 6 && !strcmp(argv[1], "send")) return send_for(argv[2], argv[3], atof(argv[4]), argv[5]);
  fprintf(stderr, "usage: stream_check serve <addr> <port> | send <addr> <port> <seconds> <algo>\n");
  return 2;
}
