/*
 * Many idle TCP connections, for the connections bench:
 *   conn_peer accept <addr> <port> <n>    listens, accepts n connections and holds them
 *   conn_peer connect <addr> <port> <n>   opens n connections and holds them
 * Each prints "held <n>" once it holds them all, then waits for a signal to end it. Raises its
 * open-file limit to the hard limit first.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what) {
  perror(what);
  exit(1);
}

int main(int argc, char **argv) {
  struct sockaddr_in a;
  struct rlimit r;
  int n, one = 1;
  if (argc < 5 || (strcmp(argv[1], "accept") && strcmp(argv[1], "connect"))) {
    fprintf(stderr, "usage: conn_peer accept|connect <ipv4> <port> <n>\n");
    return 2;
  }
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)atoi(argv[3]));
  if (inet_pton(AF_INET, argv[2], &a.sin_addr) != 1) die("address");
  n = atoi(argv[4]);
  if (n <= 0) die("count");
  if (getrlimit(RLIMIT_NOFILE, &r) == 0) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
  if (!strcmp(argv[1], "accept")) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0) die("socket");
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(l, (struct sockaddr *)&a, sizeof(a)) != 0) die("bind");
    if (listen(l, 4096) != 0) die("listen");
    printf("listening\n");
    fflush(stdout);
    for (int i = 0; i < n; i++)
      if (accept(l, NULL, NULL) < 0) die("accept");
  } else {
    for (int i = 0; i < n; i++) {
      int c = socket(AF_INET, SOCK_STREAM, 0);
      if (c < 0) die("socket");
      if (connect(c, (struct sockaddr *)&a, sizeof(a)) != 0) die("connect");
    }
  }
  printf("held %d\n", n);
  fflush(stdout);
  for (;;) pause();
}
