/*
 * A listening socket whose daemon end has gone (the daemon stopped with no fd keeper left to hold
 * it) must not wake an event loop for ever. `ended_listener <case> <ipv4 addr>` listens, prints
 * "listening", waits for "down" on stdin (the test stops the daemon first), then runs the loop
 * servers run — wait for readiness with a 100 ms timeout, accept when ready — until the wait has
 * timed out QUIET times in all (a quiet listener) or it has woken SPIN times (a spinning loop).
 * It prints how often the wait woke up and what accept answered: counts, never durations.
 * Cases: poll; epoll (level-triggered, non-blocking listener, as event-loop servers); shared
 * (epoll, with a child process holding the same listener, so the ended socket stays open).
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

static void event_loop(int lfd, int ep) {
  int wakeups = 0, timeouts = 0, accepted = 0, first_err = -1;
  while (timeouts < QUIET && wakeups < SPIN) {
    int n = wait_ready(lfd, ep);
    if (n <= 0) {
      timeouts++;
      continue;
    }
    wakeups++;
    int c = accept(lfd, NULL, NULL);
    if (c >= 0) {
      accepted++;
      close(c);
    } else if (first_err < 0) {
      first_err = errno;
    }
  }
  SAY("first accept %s", first_err < 0 ? "none" : ename(first_err));
  SAY("accepted %d", accepted);
  SAY("wakeups %s", wakeups >= SPIN ? "spinning" : wakeups <= 1 ? "at most 1" : "several");
  SAY("quiet %d", timeouts >= QUIET);
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "";
  char line[64];
  int port, lfd, ep = -1, one_shot[2];
  pid_t child = -1;
  struct sigaction sa;
  if (argc > 2) host_addr = argv[2];
  lfd = listener(&port, 8);
  if (strcmp(which, "poll") != 0) {
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
  event_loop(lfd, ep);
  if (ep >= 0) {
    SAY("still non-blocking %d", (fcntl(lfd, F_GETFL) & O_NONBLOCK) != 0);
    SAY("still close-on-exec %d", (fcntl(lfd, F_GETFD) & FD_CLOEXEC) != 0);
    SAY("accept now %s", RES(accept(lfd, NULL, NULL)));
  } else {
    /* A blocking accept on the ended listener waits, as on a kernel listener whose network has
     * gone, until a signal interrupts it. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    SAY("blocking accept %s", RES(accept(lfd, NULL, NULL)));
  }
  if (child > 0) {
    close(one_shot[1]);
    waitpid(child, NULL, 0);
  }
  return 0;
}
