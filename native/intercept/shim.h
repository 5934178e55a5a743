/*
 * Internal interfaces shared by every part of libztintercept.so: the real libc functions (declared
 * once, resolved in real.c), the library's state from the environment (init.c) and tracing
 * (trace.c). The RPC, channel, location and inode-cache parts have headers of their own.
 */
#ifndef ZTNC_SHIM_H
#define ZTNC_SHIM_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "proto.h"

#define ZT_HIDDEN __attribute__((visibility("hidden")))
/* The hooked calls: the only symbols the library exports. */
#define ZT_EXPORT __attribute__((visibility("default")))

/* The real libc functions (real.c), resolved once by zt_ensure_init. */
struct zt_real {
  int (*socket)(int, int, int);
  int (*socketpair)(int, int, int, int[2]);
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
  /* The data path (dgram-io.c) and fd copies (fdcopy.c): the library itself calls these, never the hooks. */
  ssize_t (*read)(int, void *, size_t);
  ssize_t (*write)(int, const void *, size_t);
  ssize_t (*readv)(int, const struct iovec *, int);
  ssize_t (*writev)(int, const struct iovec *, int);
  ssize_t (*send)(int, const void *, size_t, int);
  ssize_t (*recv)(int, void *, size_t, int);
  ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
  ssize_t (*sendmsg)(int, const struct msghdr *, int);
  ssize_t (*recvmsg)(int, struct msghdr *, int);
  int (*sendmmsg)(int, struct mmsghdr *, unsigned int, int);
  int (*recvmmsg)(int, struct mmsghdr *, unsigned int, int, struct timespec *);
  int (*ioctl)(int, unsigned long, ...);
  int (*dup)(int);
  int (*dup2)(int, int);
  int (*dup3)(int, int, int);
  int (*fcntl)(int, int, ...);
  int (*fcntl64)(int, int, ...);
};
ZT_HIDDEN extern struct zt_real zt_real;
ZT_HIDDEN void zt_real_resolve(void);

/* The real name functions (real.c): all of them when the library is off; numeric input and the
 * service part otherwise (netdb.c, hostent.c, resquery.c). */
struct addrinfo;
struct gaicb;
struct sigevent;
struct hostent;
struct __res_state;
struct zt_real_netdb {
  int (*getaddrinfo)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
  int (*getnameinfo)(const struct sockaddr *, socklen_t, char *, socklen_t, char *, socklen_t, int);
  int (*getaddrinfo_a)(int, struct gaicb **, int, struct sigevent *);
  struct hostent *(*gethostbyname)(const char *);
  struct hostent *(*gethostbyname2)(const char *, int);
  struct hostent *(*gethostbyaddr)(const void *, socklen_t, int);
  int (*gethostbyname_r)(const char *, struct hostent *, char *, size_t, struct hostent **, int *);
  int (*gethostbyname2_r)(const char *, int, struct hostent *, char *, size_t, struct hostent **, int *);
  int (*gethostbyaddr_r)(const void *, socklen_t, int, struct hostent *, char *, size_t, struct hostent **, int *);
  int (*res_query)(const char *, int, int, unsigned char *, int);
  int (*res_search)(const char *, int, int, unsigned char *, int);
  int (*res_querydomain)(const char *, const char *, int, int, unsigned char *, int);
  int (*res_send)(const unsigned char *, int, unsigned char *, int);
  int (*res_nquery)(struct __res_state *, const char *, int, int, unsigned char *, int);
  int (*res_nsearch)(struct __res_state *, const char *, int, int, unsigned char *, int);
  int (*res_nquerydomain)(struct __res_state *, const char *, const char *, int, int, unsigned char *, int);
  int (*res_nsend)(struct __res_state *, const unsigned char *, int, unsigned char *, int);
};
ZT_HIDDEN extern struct zt_real_netdb zt_real_netdb;
ZT_HIDDEN void zt_real_resolve_netdb(void);

/* init.c: reads the environment once, before the first hooked call does anything. */
ZT_HIDDEN void zt_ensure_init(void);
/* 1 when ZT_NC_NWID is set (the library is active). */
ZT_HIDDEN extern int zt_enabled;
/* 0, or the errno every IPv4/IPv6 socket() fails with when ZT_NC_NWID is present but the setting
 * is unusable: ENETDOWN (no network id, a path too long), EACCES (ZT_NC_ENDPOINT is no name). */
ZT_HIDDEN extern int zt_misconfigured;
/* The same-daemon fast path may be used (ZT_NC_FASTPATH is not "0"; connect.c, proto.h ZT_F_FAST). */
ZT_HIDDEN extern int zt_fastpath;

/* trace.c: ZT_NC_DEBUG=1 lines on stderr ("[ztnc <pid>] …"); errno is left as it was. */
ZT_HIDDEN extern int zt_debug;
ZT_HIDDEN void zt_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* -1 with errno = err: how every hook reports a failure. */
static inline int zt_fail(int err) {
  errno = err;
  return -1;
}

#endif
