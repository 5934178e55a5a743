/*
 * Descriptors passed by the daemon (fdpass.c): RPC replies carry a new socket's app end and
 * listening sockets carry accepted connections, both as SCM_RIGHTS; one walk of the control
 * messages serves both.
 */
#ifndef ZTNC_FDPASS_H
#define ZTNC_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

#include "shim.h"

/*
 * One recvmsg() of up to `len` bytes into `buf` (MSG_CMSG_CLOEXEC when `cloexec`). The first
 * descriptor received lands in *got_fd when it is still -1; any other is closed at once and sets
 * *extra_fds, as does a truncated control buffer (MSG_CTRUNC: the kernel dropped descriptors).
 * Returns what recvmsg() returns.
 */
ZT_HIDDEN ssize_t zt_recv_with_fd(int fd, void *buf, size_t len, int cloexec, int *got_fd, int *extra_fds);

#endif
