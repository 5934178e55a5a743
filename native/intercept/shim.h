/* Internal interfaces shared by the parts of libztintercept.so. */
#ifndef ZTNC_SHIM_H
#define ZTNC_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "proto.h"

#define ZT_HIDDEN __attribute__((visibility("hidden")))

/* The real libc functions, resolved once at load time. */
struct zt_real {
  int (*socket)(int, int, int);
  int (*bind)(int, const struct sockaddr *, socklen_t);
  int (*listen)(int, int);
  int (*accept)(int, struct sockaddr *, socklen_t *);
  int (*accept4)(int, struct sockaddr *, socklen_t *, int);
  int (*connect)(int, const struct sockaddr *, socklen_t);
  int (*getsockname)(int, struct sockaddr *, socklen_t *);
  int (*getpeername)(int, struct sockaddr *, socklen_t *);
  int (*getsockopt)(int, int, int, void *, socklen_t *);
  int (*setsockopt)(int, int, int, const void *, socklen_t);
  int (*shutdown)(int, int);
  ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
  long (*syscall)(long, ...);
};
ZT_HIDDEN extern struct zt_real zt_real;

/* 1 when ZT_NC_NWID is set (the library is active). */
ZT_HIDDEN extern int zt_enabled;
/* Set when ZT_NC_NWID is present but unusable: every AF_INET socket() fails with ENETDOWN. */
ZT_HIDDEN extern int zt_misconfigured;
ZT_HIDDEN extern int zt_debug;
ZT_HIDDEN void zt_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Control channel (control.c). */
ZT_HIDDEN void zt_control_init(const char *socket_path);
ZT_HIDDEN void zt_control_after_fork_child(void);

struct zt_reply {
  int32_t result;
  uint16_t flags;
  uint8_t payload[ZT_MAX_FRAME_PAYLOAD];
  size_t payload_len;
  int fd; /* received descriptor, or -1 */
};

/*
 * Sends one request and reads its response. `wait` = the daemon may take long to answer (uses a
 * connection of its own so other threads are never held up; EINTR is returned as is).
 * `cloexec` applies to a received fd. Returns 0 (reply filled) or a positive errno when the daemon
 * cannot be reached (ENETDOWN) or the call was interrupted (EINTR).
 */
ZT_HIDDEN int zt_rpc(uint8_t op, uint16_t flags, uint64_t ino, const void *payload, size_t len, int wait,
                     int cloexec, struct zt_reply *reply);

/* Inode cache (inocache.c): which socket inodes belong to the daemon. */
enum zt_ino_state { ZT_INO_UNKNOWN = 0, ZT_INO_OURS = 1, ZT_INO_FOREIGN = 2, ZT_INO_OURS_LISTENER = 3 };
ZT_HIDDEN enum zt_ino_state zt_ino_lookup(uint64_t ino);
ZT_HIDDEN void zt_ino_remember(uint64_t ino, enum zt_ino_state state);

#endif
