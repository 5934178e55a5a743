/*
 * Runs under libztintercept.so against test/shim/hostile_daemon.py: makes the one call whose
 * reply the daemon mangles (`hostile <case>`, the daemon's case names) and prints what the app
 * saw, whether an fd leaked, and whether the library still works afterwards. Every malformed
 * reply must end as an errno (or, for a well-formed maximal reply, exactly its bytes): never a
 * crash, never memory beyond the reply.
 */
#define _GNU_SOURCE
#include <netdb.h>
#include <resolv.h>
#include <sys/un.h>

#include "../../native/intercept/proto.h"
#include "common.h"

/* The app's fds: below 900, where the library never keeps its channels (control.c). */
static int count_fds(void) {
  int n = 0;
  for (int fd = 0; fd < 900; fd++)
    if (fcntl(fd, F_GETFD) >= 0) n++;
  return n;
}

/* The largest payload a reply holds, as hostile_daemon.py sends it for "len-max". */
static int is_full_payload(const unsigned char *p, size_t n) {
  if (n != ZT_MAX_RESP_PAYLOAD) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char want = i == n - 2 ? 0x00 : i == n - 1 ? 0x20 : (unsigned char)((i * 7 + 3) & 0xff);
    if (p[i] != want) return 0;
  }
  return 1;
}

static void call_getsockopt(const char *which, int fd) {
  static unsigned char buf[8192];
  socklen_t len = sizeof(buf);
  int r;
  memset(buf, 0xee, sizeof(buf));
  if (!strcmp(which, "more-than-asked")) {
    /* A 4-byte option: the library must not write past the app's buffer. */
    len = 4;
    r = getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, buf, &len);
    SAY("getsockopt %s optlen %u untouched after %d", RES(r), (unsigned)len, buf[4] == 0xee && buf[100] == 0xee);
    return;
  }
  r = getsockopt(fd, IPPROTO_TCP, TCP_INFO, buf, &len);
  if (r == 0)
    SAY("getsockopt OK optlen %u bytes %s", (unsigned)len, is_full_payload(buf, len) ? "as sent" : "WRONG");
  else
    SAY("getsockopt %s", ename(errno));
}

/* The name op the daemon mangles: what getaddrinfo, getnameinfo or res_send made of it. */
static void call_name_op(const char *which) {
  if (!strncmp(which, "resolve-", 8)) {
    struct addrinfo hints, *res, *p;
    int n = 0, rc;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo("x.test", NULL, &hints, &res);
    if (rc != 0) {
      SAY("getaddrinfo %s", rc == EAI_AGAIN ? "EAI_AGAIN" : gai_strerror(rc));
      return;
    }
    for (p = res; p; p = p->ai_next) n++;
    SAY("getaddrinfo OK %d entries", n);
    freeaddrinfo(res);
  } else if (!strncmp(which, "reverse-", 8)) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x0a000001)};
    char host[NI_MAXHOST];
    int rc = getnameinfo((struct sockaddr *)&a, sizeof(a), host, sizeof(host), NULL, 0, NI_NAMEREQD);
    SAY("getnameinfo %s", rc == 0 ? host : rc == EAI_AGAIN ? "EAI_AGAIN" : gai_strerror(rc));
  } else {
    unsigned char query[512], answer[512];
    int qlen = res_mkquery(QUERY, "x.test", C_IN, T_A, NULL, 0, NULL, query, sizeof(query));
    int n = res_send(query, qlen, answer, sizeof(answer));
    if (n < 0)
      SAY("res_send -1 %s", ename(errno));
    else
      SAY("res_send %d tc %d", n, ((HEADER *)answer)->tc);
  }
}

/* Posted setsockopt calls (the daemon holds or mangles their answers), then a call that reads them. */
static void call_posted(int fd) {
  int one = 1, ok = 0, i;
  socklen_t len = sizeof(one);
  for (i = 0; i < 3; i++) ok += setsockopt(fd, IPPROTO_TCP, i == 1 ? TCP_NODELAY : TCP_CORK, &one, sizeof(one)) == 0;
  SAY("setsockopt OK %d of 3", ok);
  SAY("getsockopt %s", RES(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, &len)));
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "";
  int fd = -1, before, r;
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (!strncmp(which, "socket-", 7)) {
    int u = socket(AF_UNIX, SOCK_STREAM, 0); /* the library's own fds settle first */
    close(u);
    before = count_fds();
    fd = socket(AF_INET, SOCK_STREAM, 0);
    SAY("socket %s", fd < 0 ? ename(errno) : "OK");
    if (fd >= 0) close(fd);
    SAY("fds leaked %d", count_fds() - before);
    SAY("then unix socket %s", RES(socket(AF_UNIX, SOCK_STREAM, 0)));
    return 0;
  }
  fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  before = count_fds();
  if (!strncmp(which, "resolve-", 8) || !strncmp(which, "reverse-", 8) || !strncmp(which, "dns-", 4)) {
    call_name_op(which);
  } else if (!strcmp(which, "accept-bad-family")) {
    /* The record of an unknown family is dropped with its fd; the next one is accepted. */
    struct sockaddr_in6 a;
    socklen_t l = sizeof(a);
    int lfd = socket(AF_INET6, SOCK_STREAM, 0), c;
    SAY("listen %s", RES(listen(lfd, 4)));
    c = accept(lfd, (struct sockaddr *)&a, &l);
    SAY("accept %s family %d len %d port %d", RES(c), a.sin6_family, (int)l, ntohs(a.sin6_port));
    close(c);
    close(lfd);
  } else if (!strcmp(which, "name-short") || !strcmp(which, "name-bad-family")) {
    struct sockaddr_in a;
    socklen_t l = sizeof(a);
    r = getsockname(fd, (struct sockaddr *)&a, &l);
    SAY("getsockname %s", RES(r));
  } else if (!strcmp(which, "posted-filled")) {
    struct sockaddr_in a = mkaddr("10.0.0.1", 80);
    int one = 1;
    socklen_t len = sizeof(one);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    r = connect(fd, (struct sockaddr *)&a, sizeof(a));
    SAY("connect %s", r == 0 ? "OK" : ename(errno));
    SAY("getsockopt %s", RES(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, &len)));
  } else if (!strncmp(which, "posted-", 7)) {
    call_posted(fd);
  } else {
    call_getsockopt(which, fd);
  }
  r = socket(AF_INET, SOCK_STREAM, 0);
  SAY("then socket %s", r < 0 ? ename(errno) : "OK");
  SAY("fds leaked %d", count_fds() - before - (r >= 0));
  return 0;
}
