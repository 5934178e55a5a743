/* Which socket inodes belong to the daemon (inocache.c): lock-free, safe across fork and in signal handlers. */
#ifndef ZTNC_INOCACHE_H
#define ZTNC_INOCACHE_H

#include "shim.h"

enum zt_ino_state { ZT_INO_UNKNOWN = 0, ZT_INO_OURS = 1, ZT_INO_FOREIGN = 2, ZT_INO_OURS_LISTENER = 3 };
ZT_HIDDEN enum zt_ino_state zt_ino_lookup(uint64_t ino);
ZT_HIDDEN void zt_ino_remember(uint64_t ino, enum zt_ino_state state);

#endif
