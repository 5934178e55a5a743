/*
 * Which socket inodes are the daemon's, and of what kind. A direct-mapped table of 64-bit words,
 * each holding (inode << 4 | AF_INET6 bit << 3 | state), read and written atomically: no lock, so it is safe across
 * fork and from signal handlers. A collision just evicts; a miss costs one WHOIS call to the
 * daemon. Socket inodes come from a counter in the kernel and are not reused soon, so entries do
 * not go stale.
 */
#include "inocache.h"

#define ZT_INO_SLOTS 4096
#define ZT_INO_BITS 4
#define ZT_INO_STATE_MASK 0x7u
#define ZT_INO_INET6 0x8u /* the socket is AF_INET6 */

static uint64_t slots[ZT_INO_SLOTS];

static size_t slot_of(uint64_t ino) { return (size_t)((ino * 0x9E3779B97F4A7C15ull) >> 52) % ZT_INO_SLOTS; }

static int same_ino(uint64_t v, uint64_t ino) {
  return v != 0 && (v >> ZT_INO_BITS) == (ino & (UINT64_MAX >> ZT_INO_BITS));
}

enum zt_ino_state zt_ino_lookup_family(uint64_t ino, int *family) {
  uint64_t v = __atomic_load_n(&slots[slot_of(ino)], __ATOMIC_ACQUIRE);
  if (family != NULL) *family = AF_INET;
  if (!same_ino(v, ino)) return ZT_INO_UNKNOWN;
  if (family != NULL && (v & ZT_INO_INET6)) *family = AF_INET6;
  return (enum zt_ino_state)(v & ZT_INO_STATE_MASK);
}

enum zt_ino_state zt_ino_lookup(uint64_t ino) { return zt_ino_lookup_family(ino, NULL); }

void zt_ino_remember_family(uint64_t ino, enum zt_ino_state state, int family) {
  __atomic_store_n(&slots[slot_of(ino)],
                   (ino << ZT_INO_BITS) | (family == AF_INET6 ? ZT_INO_INET6 : 0) | (uint64_t)state, __ATOMIC_RELEASE);
}

void zt_ino_remember(uint64_t ino, enum zt_ino_state state) {
  uint64_t *slot = &slots[slot_of(ino)], v = __atomic_load_n(slot, __ATOMIC_ACQUIRE), want;
  do {
    want = (ino << ZT_INO_BITS) | (same_ino(v, ino) ? (v & ZT_INO_INET6) : 0) | (uint64_t)state;
  } while (!__atomic_compare_exchange_n(slot, &v, want, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
}

int zt_kind_of_state(enum zt_ino_state s) {
  switch (s) {
  case ZT_INO_OURS:
    return ZT_KIND_TCP;
  case ZT_INO_OURS_LISTENER:
    return ZT_KIND_LISTENER;
  case ZT_INO_UDP:
    return ZT_KIND_UDP;
  case ZT_INO_PING:
    return ZT_KIND_PING;
  case ZT_INO_RAW_ICMP:
    return ZT_KIND_RAW_ICMP;
  default:
    return 0;
  }
}

enum zt_ino_state zt_state_of_kind(int kind) {
  switch (kind) {
  case ZT_KIND_TCP:
    return ZT_INO_OURS;
  case ZT_KIND_LISTENER:
    return ZT_INO_OURS_LISTENER;
  case ZT_KIND_UDP:
    return ZT_INO_UDP;
  case ZT_KIND_PING:
    return ZT_INO_PING;
  case ZT_KIND_RAW_ICMP:
    return ZT_INO_RAW_ICMP;
  default:
    return ZT_INO_FOREIGN;
  }
}
