/*
 * One end of the netcon-dgram benchmark: a UDP sender or receiver that speaks the netcon protocol
 * itself (native/intercept/proto.h: SOCKET and BIND over the RPC socket, then one record per
 * seqpacket message, sendmmsg/recvmmsg in batches), or plain kernel UDP as the reference when the
 * socket argument is "kernel". Prints one JSON line.
 *
 *   dgram_peer recv <rpc socket|kernel> <port> <idle ms>
 *   dgram_peer send <rpc socket|kernel> <addr> <port> <size> <count>
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../native/intercept/proto.h"

#define BATCH 64
#define MAXDG 65536

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* One RPC; returns the result, copies up to `outlen` payload bytes and an attached fd (or -1). */
static int rpc(int ctl, uint8_t op, uint64_t ino, const void *payload, uint32_t len, void *out, size_t outlen,
               int *fd) {
  uint8_t frame[ZT_MAX_FRAME] = {0};
  uint32_t flen = ZT_REQ_HEADER - 4 + len;
  memcpy(frame, &flen, 4);
  frame[4] = ZT_PROTO_VERSION;
  frame[5] = op;
  memcpy(frame + 8, &ino, 8);
  memcpy(frame + ZT_REQ_HEADER, payload, len);
  if (write(ctl, frame, ZT_REQ_HEADER + len) != (ssize_t)(ZT_REQ_HEADER + len)) die("rpc write");
  uint8_t resp[ZT_MAX_FRAME];
  struct iovec iov = {resp, sizeof(resp)};
  char cbuf[CMSG_SPACE(sizeof(int))];
  struct msghdr m = {0};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = cbuf;
  m.msg_controllen = sizeof(cbuf);
  ssize_t n = recvmsg(ctl, &m, 0);
  if (n < ZT_RESP_HEADER) die("rpc read");
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  if (fd) {
    *fd = -1;
    if (c && c->cmsg_type == SCM_RIGHTS) memcpy(fd, CMSG_DATA(c), sizeof(int));
  }
  if (out && (size_t)n >= ZT_RESP_HEADER + outlen) memcpy(out, resp + ZT_RESP_HEADER, outlen);
  int32_t result;
  memcpy(&result, resp + 8, 4);
  return result;
}

static void setopt_rpc(int ctl, uint64_t ino, int32_t level, int32_t name, int32_t val) {
  uint8_t so[16];
  uint32_t len = 4;
  memcpy(so, &level, 4);
  memcpy(so + 4, &name, 4);
  memcpy(so + 8, &len, 4);
  memcpy(so + 12, &val, 4);
  rpc(ctl, ZT_OP_SETSOCKOPT, ino, so, 16, NULL, 0, NULL);
}

/* A UDP socket on the daemon, bound to port (0: at first send): the app's seqpacket end. */
static int ztnc_socket(const char *path, int port) {
  int ctl = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
  if (connect(ctl, (struct sockaddr *)&sa, sizeof(sa)) != 0) die("connect rpc");
  uint32_t req[3] = {SOCK_DGRAM, 0, AF_INET};
  uint64_t ino = 0;
  int fd;
  if (rpc(ctl, ZT_OP_SOCKET, 0, req, sizeof(req), &ino, 8, &fd) != 0 || fd < 0) die("SOCKET");
  if (port) {
    uint8_t b[ZT_SOCKADDR] = {0};
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    memcpy(b, &a, sizeof(a));
    if (rpc(ctl, ZT_OP_BIND, ino, b, sizeof(b), NULL, 0, NULL) != 0) die("BIND");
  }
  setopt_rpc(ctl, ino, SOL_SOCKET, SO_RCVBUF, 4 << 20);
  /* the RPC connection stays open for the process's life (as the library's does) */
  int big = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
  return fd;
}

static int kernel_socket(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int big = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
  struct sockaddr_in a = {
      .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (port && bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) die("bind");
  return fd;
}

static uint8_t bufs[BATCH][MAXDG + ZT_DGRAM_HEADER];

static int do_recv(int fd, int idle_ms) {
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  unsigned long long n = 0, bytes = 0;
  double first = 0, last = 0;
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, n == 0 ? 30000 : idle_ms);
    if (r <= 0) break;
    for (int i = 0; i < BATCH; i++) {
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = sizeof(bufs[i]);
      memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int got = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (got <= 0) continue;
    if (n == 0) first = now();
    for (int i = 0; i < got; i++) bytes += msgs[i].msg_len;
    n += (unsigned)got;
    last = now();
  }
  printf("{\"datagrams\":%llu,\"bytes\":%llu,\"seconds\":%.6f}\n", n, bytes, last - first);
  return 0;
}

static int do_send(int fd, int ztnc, uint32_t addr, int port, int size, long count) {
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH][2];
  uint8_t hdr[ZT_DGRAM_HEADER] = {0};
  hdr[0] = ZT_DG_DATA;
  hdr[1] = ZT_DGF_TO;
  uint16_t p16 = (uint16_t)port;
  uint32_t be = htonl(addr);
  memcpy(hdr + 2, &p16, 2);
  memcpy(hdr + 16, &be, 4); /* addr[16]: an AF_INET socket's address in its first 4 bytes */
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(addr)};
  static uint8_t payload[MAXDG];
  memset(payload, 'x', sizeof(payload));
  for (int i = 0; i < BATCH; i++) {
    memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
    if (ztnc) {
      iov[i][0].iov_base = hdr;
      iov[i][0].iov_len = sizeof(hdr);
      iov[i][1].iov_base = payload;
      iov[i][1].iov_len = (size_t)size;
      msgs[i].msg_hdr.msg_iovlen = 2;
    } else {
      iov[i][0].iov_base = payload;
      iov[i][0].iov_len = (size_t)size;
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &to;
      msgs[i].msg_hdr.msg_namelen = sizeof(to);
    }
    msgs[i].msg_hdr.msg_iov = iov[i];
  }
  long sent = 0;
  double t0 = now();
  while (sent < count) {
    int k = count - sent < BATCH ? (int)(count - sent) : BATCH;
    int r = sendmmsg(fd, msgs, (unsigned)k, 0);
    if (r < 0) {
      if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) continue;
      die("sendmmsg");
    }
    sent += r;
  }
  double t1 = now();
  printf("{\"sent\":%ld,\"seconds\":%.6f}\n", sent, t1 - t0);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: dgram_peer recv <socket|kernel> <port> <idle ms> | send <socket|kernel> <addr> <port> "
                    "<size> <count>\n");
    return 2;
  }
  int ztnc = strcmp(argv[2], "kernel") != 0;
  if (strcmp(argv[1], "recv") == 0) {
    int port = atoi(argv[3]);
    int fd = ztnc ? ztnc_socket(argv[2], port) : kernel_socket(port);
    printf("READY\n");
    fflush(stdout);
    return do_recv(fd, atoi(argv[4]));
  }
  if (argc < 7) return 2;
  struct in_addr a;
  if (inet_pton(AF_INET, argv[3], &a) != 1) return 2;
  int fd = ztnc ? ztnc_socket(argv[2], 0) : kernel_socket(0);
  return do_send(fd, ztnc, ntohl(a.s_addr), atoi(argv[4]), atoi(argv[5]), atol(argv[6]));
}
