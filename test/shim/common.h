/* Helpers for the shim behaviour programs: each prints lines that must be identical under the
 * kernel and under libztintercept.so. Addresses and ports are never printed, only compared. */
#ifndef ZT_TEST_COMMON_H
#define ZT_TEST_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *host_addr = "127.0.0.1";

static __attribute__((unused)) const char *ename(int e) {
  switch (e) {
  case 0:
    return "OK";
  case EAGAIN:
    return "EAGAIN";
  case EDESTADDRREQ:
    return "EDESTADDRREQ";
  case EMSGSIZE:
    return "EMSGSIZE";
  case EINTR:
    return "EINTR";
  case EINVAL:
    return "EINVAL";
  case EBADF:
    return "EBADF";
  case EPIPE:
    return "EPIPE";
  case EFAULT:
    return "EFAULT";
  case ENOTCONN:
    return "ENOTCONN";
  case EISCONN:
    return "EISCONN";
  case EALREADY:
    return "EALREADY";
  case EINPROGRESS:
    return "EINPROGRESS";
  case ECONNREFUSED:
    return "ECONNREFUSED";
  case ECONNRESET:
    return "ECONNRESET";
  case EADDRINUSE:
    return "EADDRINUSE";
  case EADDRNOTAVAIL:
    return "EADDRNOTAVAIL";
  case ETIMEDOUT:
    return "ETIMEDOUT";
  case EHOSTUNREACH:
    return "EHOSTUNREACH";
  case ENETUNREACH:
    return "ENETUNREACH";
  case ENETDOWN:
    return "ENETDOWN";
  case EAFNOSUPPORT:
    return "EAFNOSUPPORT";
  case ENOPROTOOPT:
    return "ENOPROTOOPT";
  case EOPNOTSUPP:
    return "EOPNOTSUPP";
  case EPROTONOSUPPORT:
    return "EPROTONOSUPPORT";
  case EIO:
    return "EIO";
  case EACCES:
    return "EACCES";
  case EPERM:
    return "EPERM";
  default: {
    static char buf[32];
    snprintf(buf, sizeof(buf), "E%d", e);
    return buf;
  }
  }
}

#define SAY(...)                                                                                                       \
  do {                                                                                                                 \
    printf(__VA_ARGS__);                                                                                               \
    printf("\n");                                                                                                      \
    fflush(stdout);                                                                                                    \
  } while (0)

/* Result of a call as text: "OK" or the errno name. */
#define RES(expr) ((expr) < 0 ? ename(errno) : "OK")

static __attribute__((unused)) void die(const char *what) {
  printf("FATAL %s: %s\n", what, ename(errno));
  fflush(stdout);
  exit(3);
}

static __attribute__((unused)) struct sockaddr_in mkaddr(const char *ip, int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

static __attribute__((unused)) int tcp_socket(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  return fd;
}

/* A listener on host_addr, port chosen by the system; its port in *port. */
static __attribute__((unused)) int listener(int *port, int backlog) {
  int fd = tcp_socket(), one = 1;
  struct sockaddr_in a = mkaddr(host_addr, 0);
  socklen_t l = sizeof(a);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) die("bind");
  if (listen(fd, backlog) != 0) die("listen");
  if (getsockname(fd, (struct sockaddr *)&a, &l) != 0) die("getsockname");
  *port = ntohs(a.sin_port);
  return fd;
}

static __attribute__((unused)) int connect_to(int port) {
  int fd = tcp_socket();
  struct sockaddr_in a = mkaddr(host_addr, port);
  if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) die("connect");
  return fd;
}

static __attribute__((unused)) int accept_one(int lfd) {
  int fd = accept(lfd, NULL, NULL);
  if (fd < 0) die("accept");
  return fd;
}

static __attribute__((unused)) ssize_t write_all(int fd, const void *buf, size_t n) {
  size_t off = 0;
  while (off < n) {
    ssize_t w = write(fd, (const char *)buf + off, n - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    off += (size_t)w;
  }
  return (ssize_t)off;
}

/* Reads until EOF (or n bytes); returns bytes read or -1. */
static __attribute__((unused)) ssize_t read_full(int fd, void *buf, size_t n) {
  size_t off = 0;
  while (off < n) {
    ssize_t r = read(fd, (char *)buf + off, n - off);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) break;
    off += (size_t)r;
  }
  return (ssize_t)off;
}

static __attribute__((unused)) double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static __attribute__((unused)) int get_int_opt(int fd, int level, int name) {
  int v = -12345;
  socklen_t l = sizeof(v);
  if (getsockopt(fd, level, name, &v, &l) != 0) return -errno;
  return v;
}

/* FNV-1a over a stream, to compare transfers without printing data. */
static __attribute__((unused)) uint64_t fnv(uint64_t h, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}
#define FNV_INIT 0xcbf29ce484222325ull

static __attribute__((unused)) void fill_pattern(unsigned char *p, size_t n, unsigned seed) {
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p[i] = (unsigned char)x;
  }
}

#endif
