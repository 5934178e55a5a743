/*
 * Which socket inodes are the daemon's. A direct-mapped table of 64-bit words, each holding
 * (inode << 2 | state), read and written atomically: no lock, so it is safe across fork and from
 * signal handlers. A collision just evicts; a miss costs one WHOIS call to the daemon. Socket
 * inodes come from a counter in the kernel and are not reused soon, so entries do not go stale.
 */
#include "inocache.h"

#define ZT_INO_SLOTS 4096

static uint64_t slots[ZT_INO_SLOTS];

static size_t slot_of(uint64_t ino) { return (size_t)((ino * 0x9E3779B97F4A7C15ull) >> 52) % ZT_INO_SLOTS; }

enum zt_ino_state zt_ino_lookup(uint64_t ino) {
  uint64_t v = __atomic_load_n(&slots[slot_of(ino)], __ATOMIC_ACQUIRE);
  if (v == 0 || (v >> 2) != ino) return ZT_INO_UNKNOWN;
  return (enum zt_ino_state)(v & 3);
}

void zt_ino_remember(uint64_t ino, enum zt_ino_state state) {
  __atomic_store_n(&slots[slot_of(ino)], (ino << 2) | (uint64_t)state, __ATOMIC_RELEASE);
}
