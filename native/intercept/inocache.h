/* Which socket inodes belong to the daemon, and of what kind (inocache.c): lock-free, safe across fork and in signal
 * handlers. */
#ifndef ZTNC_INOCACHE_H
#define ZTNC_INOCACHE_H

#include "shim.h"

enum zt_ino_state {
  ZT_INO_UNKNOWN = 0,
  ZT_INO_OURS = 1, /* a TCP socket */
  ZT_INO_FOREIGN = 2,
  ZT_INO_OURS_LISTENER = 3,
  ZT_INO_UDP = 4,
  ZT_INO_PING = 5,
  ZT_INO_RAW_ICMP = 6,
};
ZT_HIDDEN enum zt_ino_state zt_ino_lookup(uint64_t ino);
/* The same, with the socket's address family (AF_INET or AF_INET6; AF_INET when not recorded). */
ZT_HIDDEN enum zt_ino_state zt_ino_lookup_family(uint64_t ino, int *family);
/* Records a state, keeping the family already recorded for the inode. */
ZT_HIDDEN void zt_ino_remember(uint64_t ino, enum zt_ino_state state);
ZT_HIDDEN void zt_ino_remember_family(uint64_t ino, enum zt_ino_state state, int family);

/* ZT_KIND_* of a state of ours (0 for UNKNOWN/FOREIGN), and back. */
ZT_HIDDEN int zt_kind_of_state(enum zt_ino_state s);
ZT_HIDDEN enum zt_ino_state zt_state_of_kind(int kind);
/* A datagram kind (UDP, ping, raw ICMP)? */
static inline int zt_kind_is_dgram(int kind) {
  return kind == ZT_KIND_UDP || kind == ZT_KIND_PING || kind == ZT_KIND_RAW_ICMP;
}

#endif
