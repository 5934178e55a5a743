/* A socket whose daemon end has gone: the fd becomes a quiet stand-in (ended.c). */
#ifndef ZTNC_ENDED_H
#define ZTNC_ENDED_H

#include <stdint.h>

#include "shim.h"

/*
 * Called once end of stream was read on `fd` (socket inode `ino`) — a listener in accept(), a
 * datagram socket (`dgram` 1) in recv without the app's own shutdown — before the end is reported:
 * puts a socket nothing can reach on the fd number, keeping its flags and epoll registrations.
 * 0 when done (or done already by another thread), -1 when it could not be (the fd is left as it was).
 */
ZT_HIDDEN int zt_socket_ended(int fd, uint64_t ino, int dgram);

#endif
