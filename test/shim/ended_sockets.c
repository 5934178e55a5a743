/*
 * A socket whose daemon end has gone (the daemon stopped with no fd keeper left to hold it) must
 * not wake an event loop for ever. `ended_sockets <case> <ipv4 addr>` makes a listener (or a UDP
 * socket), prints "listening", waits for "down" on stdin (the test stops the daemon first), then
 * runs the loop servers run — wait for readiness with a 100 ms timeout, accept (or recv) when
 * ready — until the wait has timed out QUIET times in all (a quiet socket) or it has woken SPIN
 * times (a spinning loop). It prints how often the wait woke up and what the calls answered:
 * counts, never durations. Cases: poll; epoll (level-triggered, non-blocking listener, as
 * event-loop servers); shared (epoll, with a child process holding the same listener, so the
 * ended socket stays open); udp (poll on a UDP socket, recvfrom when ready).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/epoll.h>

#include "common.h"

#define QUIET 5
#define SPIN 5000

static void on_alarm(int sig) { (void)sig; }

/* Waits for the listener: >0 ready, 0 timed out. */
static int wait_ready(int lfd, int ep) {
  if (ep >= 0) {
    struct epoll_event ev;
    return epoll_wait(ep, &ev, 1, 100);
  }
  struct pollfd p = {.fd = lfd, .events = POLLIN};
  return poll(&p, 1, 100);
}

/* One call on a ready socket: accept on a listener, recvfrom on a UDP socket. -1 with errno, or 0. */
static int take(int fd, int udp) {
  if (udp) {
    char buf[64];
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    return recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) < 0 ? -1 : 0;
  }
  int c = accept(fd, NULL, NULL);
  if (c >= 0) close(c);
  return c < 0 ? -1 : 0;
}

static void event_loop(int lfd, int ep, int udp) {
  int wakeups = 0, timeouts = 0, taken = 0, first_err = -1;
  while (timeouts < QUIET && wakeups < SPIN) {
    int n = wait_ready(lfd, ep);
    if (n <= 0) {
      timeouts++;
      continue;
    }
    wakeups++;
    if (take(lfd, udp) == 0)
      taken++;
    else if (first_err < 0)
      first_err = errno;
  }
  SAY("first %s %s", udp ? "recvfrom" : "accept", first_err < 0 ? "none" : ename(first_err));
  SAY("%s %d", udp ? "received" : "accepted", taken);
  SAY("wakeups %s", wakeups >= SPIN ? "spinning" : wakeups <= 1 ? "at most 1" : "several");
  SAY("quiet %d", timeouts >= QUIET);
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "";
  char line[64];
  int port, lfd, ep = -1, one_shot[2];
  pid_t child = -1;
  struct sigaction sa;
  int udp = !strcmp(which, "udp");
  if (argc > 2) host_addr = argv[2];
  if (udp) {
    struct sockaddr_in a = mkaddr(host_addr, 0);
    lfd = socket(AF_INET, SOCK_DGRAM, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0) die("udp");
    (void)port;
  } else {
    lfd = listener(&port, 8);
  }
  if (strcmp(which, "poll") != 0 && !udp) {
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
    fcntl(lfd, F_SETFD, FD_CLOEXEC);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0) die("epoll");
  }
  if (!strcmp(which, "shared")) {
    /* The child holds the listener (and nothing else to do) until the parent's end of the pipe closes. */
    if (pipe(one_shot) != 0) die("pipe");
    child = fork();
    if (child == 0) {
      char b;
      close(one_shot[1]);
      while (read(one_shot[0], &b, 1) > 0) {
      }
      _exit(0);
    }
    close(one_shot[0]);
  }
  SAY("listening");
  if (fgets(line, sizeof(line), stdin) == NULL || strncmp(line, "down", 4) != 0) return 2;
  event_loop(lfd, ep, udp);
  if (ep >= 0) {
    SAY("still non-blocking %d", (fcntl(lfd, F_GETFL) & O_NONBLOCK) != 0);
    SAY("still close-on-exec %d", (fcntl(lfd, F_GETFD) & FD_CLOEXEC) != 0);
    SAY("accept now %s", RES(accept(lfd, NULL, NULL)));
  } else {
    /* A blocking call on the ended socket waits, as on a kernel socket whose network has gone,
     * until a signal interrupts it. */
    char b;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    if (udp)
      SAY("blocking recv %s", RES(recv(lfd, &b, 1, 0)));
    else
      SAY("blocking accept %s", RES(accept(lfd, NULL, NULL)));
  }
  if (child > 0) {
    close(one_shot[1]);
    waitpid(child, NULL, 0);
  }
  return 0;
}
