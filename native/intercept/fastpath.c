/*
 * A same-daemon fast-path socket as kernel TCP would report it. Its fd is one end of a kernel Unix
 * stream socket whose other end is the peer app's (proto.h ZT_F_FAST); the daemon answers names
 * and options, and these fill in what only that socket knows. When the peer closes, Linux shuts
 * both directions of the survivor (POLLHUP, and POLLERR with ECONNRESET when it left data unread:
 * a reset). TCP's connection has then ended (CLOSED) if it was reset or this end had shut down
 * writing already (both FINs exchanged); otherwise this end is in CLOSE_WAIT and still connected.
 */
#include <netinet/tcp.h>
#include <poll.h>

#include "hooks.h"
#include "proto.h"
#include "shim.h"

/* poll(2) bits now on fd, without waiting (0 when it cannot tell). */
static short revents_now(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP, .revents = 0};
  if (poll(&p, 1, 0) < 0) return 0; /* poll is not hooked */
  return p.revents;
}

int zt_fast_ended(int fd, uint16_t rflags) {
  short ev = revents_now(fd);
  return (ev & POLLHUP) && ((ev & POLLERR) || (rflags & ZT_RF_SHUT_WR));
}

int zt_fast_tcp_state(int fd, uint16_t rflags) {
  short ev = revents_now(fd);
  if ((ev & POLLHUP) && ((ev & POLLERR) || (rflags & ZT_RF_SHUT_WR))) return TCP_CLOSE;
  if (ev & POLLRDHUP) return (rflags & ZT_RF_SHUT_WR) ? TCP_LAST_ACK : TCP_CLOSE_WAIT;
  return (rflags & ZT_RF_SHUT_WR) ? TCP_FIN_WAIT2 : TCP_ESTABLISHED;
}
