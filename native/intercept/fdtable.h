/*
 * Which fds are the daemon's datagram sockets (fdtable.c). The data path (read, write, send*,
 * recv*, ioctl) must cost nothing for every other fd, so the answer is one load from a per-fd
 * table: an entry is set when a datagram socket is created or recognised, confirmed by the fd's
 * inode (fstat) when used, cleared when stale, and copied by dup/dup2/dup3/F_DUPFD (fdcopy.c).
 */
#ifndef ZTNC_FDTABLE_H
#define ZTNC_FDTABLE_H

#include "inocache.h"

/* fds at or above this are never taken for datagram sockets (Linux's default nr_open). */
#define ZT_FD_SLOTS (1u << 20)

/* Per-process facts about one datagram fd, kept in its entry (a dup copies them). */
#define ZT_FDB_CONNECTED 0x1   /* connect() succeeded here: sends need no check for a peer */
#define ZT_FDB_BCAST_KNOWN 0x2 /* SO_BROADCAST's value is known (ZT_FDB_BCAST_ON) */
#define ZT_FDB_BCAST_ON 0x4
#define ZT_FDB_INET6 0x8         /* an AF_INET6 socket */
#define ZT_FDB_V6ONLY_KNOWN 0x10 /* IPV6_V6ONLY's value is known (ZT_FDB_V6ONLY_ON) */
#define ZT_FDB_V6ONLY_ON 0x20
#define ZT_FDB_PEER_MAPPED 0x40 /* AF_INET6, connected to a v4-mapped peer: its sends are IPv4 */
#define ZT_FDB_SHUT_RD 0x80     /* shutdown(SHUT_RD or SHUT_RDWR) here: an end of stream is the app's own */

struct zt_dgram {
  int fd;
  uint64_t ino;
  int kind;      /* ZT_KIND_UDP, ZT_KIND_PING or ZT_KIND_RAW_ICMP */
  int family;    /* AF_INET or AF_INET6 */
  unsigned bits; /* ZT_FDB_* */
};

/* NULL until this process has had a datagram socket. */
ZT_HIDDEN extern uint64_t *zt_fd_table;

/* The fast test: 0 means "certainly not a datagram socket of ours", at the cost of one load. */
static inline int zt_fd_maybe_dgram(int fd) {
  uint64_t *t = __atomic_load_n(&zt_fd_table, __ATOMIC_ACQUIRE);
  return t != NULL && (unsigned)fd < ZT_FD_SLOTS && __atomic_load_n(&t[fd], __ATOMIC_RELAXED) != 0;
}

/* 1 with *d when `fd` is one of the daemon's datagram sockets (its inode checked), else 0. */
ZT_HIDDEN int zt_fd_dgram(int fd, struct zt_dgram *d);
ZT_HIDDEN void zt_fd_set(int fd, uint64_t ino, int kind, int family);
ZT_HIDDEN void zt_fd_copy(int from, int to);
ZT_HIDDEN void zt_fd_set_bits(int fd, unsigned set, unsigned clear);
/* An fd this process got without creating it (inherited across exec, received with SCM_RIGHTS):
 * an AF_UNIX seqpacket socket is asked about (WHOIS) and, when it is a datagram socket, entered. */
ZT_HIDDEN void zt_fd_recognise(int fd);
/* At start-up: recognises every inherited fd (init.c). */
ZT_HIDDEN void zt_fd_scan_inherited(void);

#endif
