/*
 * A checked TCP stream for the paths bench's real-time part (iperf3 does not look at the bytes it
 * moves): the sender writes a pseudo-random byte stream from a fixed seed for a number of seconds,
 * with the congestion control it is told (TCP_CONGESTION), then half-closes; the receiver
 * regenerates the same stream and compares every byte as it arrives. Run under
 * libztintercept.so it checks the daemons' stacks end to end; on the kernel, the kernel's.
 *
 *   stream_check serve <addr> <port>               one connection; prints "listening", then at the
 *                                                  end {"bytes":N,"intact":true|false,"first_bad":-1|offset,"mbps":X}
 *   stream_check send <addr> <port> <seconds> <algo> [trace]   prints {"bytes":N,"algo":"…"}
 * With `trace` the sender also prints, every 100 ms on stderr, what TCP_INFO and TCP_CC_INFO say
 * of its connection (RTT, cwnd, pacing and delivery rates; BBR's gains, bandwidth and min RTT):
 * how the algorithm's model moves, on the kernel or under the library alike.
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

/* The leading part of Linux's struct tcp_info the trace reads (offsets as include/uapi/linux/tcp.h). */
static void trace_line(int s, double t) {
  unsigned char ti[248], cc[20];
  socklen_t l = sizeof(ti), lc = sizeof(cc);
  uint32_t rtt, cwnd, mss, retrans, bw_lo = 0, bw_hi = 0, min_rtt = 0, pg = 0, cg = 0;
  uint64_t pacing, delivery;
  memset(ti, 0, sizeof(ti));
  memset(cc, 0, sizeof(cc));
  if (getsockopt(s, IPPROTO_TCP, TCP_INFO, ti, &l) != 0) return;
  if (getsockopt(s, IPPROTO_TCP, 26 /* TCP_CC_INFO */, cc, &lc) != 0) lc = 0;
  memcpy(&mss, ti + 16, 4);
  memcpy(&rtt, ti + 68, 4);
  memcpy(&cwnd, ti + 80, 4);
  memcpy(&retrans, ti + 100, 4);
  memcpy(&pacing, ti + 104, 8);
  memcpy(&delivery, ti + 160, 8);
  if (lc >= 20) {
    memcpy(&bw_lo, cc, 4);
    memcpy(&bw_hi, cc + 4, 4);
    memcpy(&min_rtt, cc + 8, 4);
    memcpy(&pg, cc + 12, 4);
    memcpy(&cg, cc + 16, 4);
  }
  fprintf(stderr,
          "trace t=%.1f rtt_ms=%.2f cwnd=%u mss=%u retrans=%u pacing_mbps=%.1f delivery_mbps=%.1f bbr_bw_mbps=%.1f "
          "bbr_min_rtt_ms=%.2f pacing_gain=%u cwnd_gain=%u\n",
          t, rtt / 1000.0, cwnd, mss, retrans, pacing == ~0ull ? -1.0 : pacing * 8 / 1e6, delivery * 8 / 1e6,
          (double)((uint64_t)bw_hi << 32 | bw_lo) * 8 / 1e6, min_rtt / 1000.0, pg, cg);
}

static int send_for(const char *ip, const char *port, double seconds, const char *algo, int trace) {
  struct sockaddr_in a = addr_of(ip, port);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) die("socket");
  if (setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, algo, (socklen_t)strlen(algo)) < 0) die("TCP_CONGESTION");
  if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) die("connect");
  static unsigned char b[BLOCK];
  uint64_t off = 0;
  double start = now_s(), end = start + seconds, next_trace = start;
  while (now_s() < end) {
    if (trace && now_s() >= next_trace) {
      trace_line(s, now_s() - start);
      next_trace += 0.1;
    }
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
  if ((argc == 6 || argc == 7) && !strcmp(argv[1], "send"))
    return send_for(argv[2], argv[3], atof(argv[4]), argv[5], argc == 7 && !strcmp(argv[6], "trace"));
  fprintf(stderr, "usage: stream_check serve <addr> <port> | send <addr> <port> <seconds> <algo> [trace]\n");
  return 2;
}
