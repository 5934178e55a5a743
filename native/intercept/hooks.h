/* What the hook files share: which fds are the daemon's sockets (socket.c); the app end's own error (sockopt.c). */
#ifndef ZTNC_HOOKS_H
#define ZTNC_HOOKS_H

#include "inocache.h"

/*
 * Is `fd` one of the daemon's sockets? 1 (with *ino, *kind = ZT_KIND_* and, unless `family` is
 * NULL, *family = AF_INET or AF_INET6), or 0 (not ours: the kernel handles the call). Unknown
 * AF_UNIX stream sockets are asked about once and remembered.
 */
ZT_HIDDEN int zt_classify(int fd, uint64_t *ino, int *kind, int *family);
/* Records what the socket on `fd` is, by inode, and its family (AF_INET or AF_INET6). */
ZT_HIDDEN void zt_remember_fd(int fd, enum zt_ino_state state, int family);
/* Drops the error the kernel keeps on the app's end itself (sockopt.c). */
ZT_HIDDEN void zt_clear_local_error(int fd);

/*
 * A fast-path socket (proto.h ZT_F_FAST, ZT_RF_KERNEL) as kernel TCP would see it, from the Unix
 * socket under `fd` and the reply's flags (fastpath.c): whether the connection has ended (TCP's
 * CLOSED: getpeername and shutdown give ENOTCONN), and its TCP state number for TCP_INFO.
 */
ZT_HIDDEN int zt_fast_ended(int fd, uint16_t rflags);
ZT_HIDDEN int zt_fast_tcp_state(int fd, uint16_t rflags);

#endif
