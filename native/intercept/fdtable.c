/*
 * The per-fd table of datagram sockets (fdtable.h). One 64-bit word per fd, (inode << 12 | bits
 * << 3 | kind), read and written atomically (no lock: fork and signal handlers are safe). The
 * table is mapped on the first datagram socket and untouched pages cost nothing. An entry can go
 * stale when its fd is closed (close needs no hook): every use confirms the inode with fstat, so a
 * reused number is caught at its first call and the entry cleared; an fd number that was never
 * a datagram socket costs no system call at all.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fdtable.h"
#include "rpc.h"

uint64_t *zt_fd_table;

#define KIND_MASK 0x7u
#define BITS_SHIFT 3
#define INO_SHIFT 12
#define BITS_MASK 0x1ffu

static uint64_t *table_for_writing(void) {
  uint64_t *t = __atomic_load_n(&zt_fd_table, __ATOMIC_ACQUIRE), *expected = NULL;
  if (t != NULL) return t;
  t = mmap(NULL, (size_t)ZT_FD_SLOTS * sizeof(uint64_t), PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (t == MAP_FAILED) return NULL;
  if (!__atomic_compare_exchange_n(&zt_fd_table, &expected, t, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    munmap(t, (size_t)ZT_FD_SLOTS * sizeof(uint64_t));
    return expected;
  }
  return t;
}

static void store(int fd, uint64_t v) {
  uint64_t *t;
  if (fd < 0 || (unsigned)fd >= ZT_FD_SLOTS) return;
  t = v ? table_for_writing() : __atomic_load_n(&zt_fd_table, __ATOMIC_ACQUIRE);
  if (t != NULL) __atomic_store_n(&t[fd], v, __ATOMIC_RELEASE);
}

static uint64_t load(int fd) {
  uint64_t *t = __atomic_load_n(&zt_fd_table, __ATOMIC_ACQUIRE);
  if (t == NULL || fd < 0 || (unsigned)fd >= ZT_FD_SLOTS) return 0;
  return __atomic_load_n(&t[fd], __ATOMIC_ACQUIRE);
}

void zt_fd_set(int fd, uint64_t ino, int kind, int family) {
  if (!zt_kind_is_dgram(kind)) {
    store(fd, 0);
    return;
  }
  store(fd, ino << INO_SHIFT | (family == AF_INET6 ? (uint64_t)ZT_FDB_INET6 << BITS_SHIFT : 0) | (uint64_t)kind);
}

void zt_fd_copy(int from, int to) {
  if (from != to) store(to, load(from));
}

void zt_fd_set_bits(int fd, unsigned set, unsigned clear) {
  uint64_t v = load(fd);
  if (v == 0) return;
  v &= ~((uint64_t)clear << BITS_SHIFT);
  v |= (uint64_t)set << BITS_SHIFT;
  store(fd, v);
}

int zt_fd_dgram(int fd, struct zt_dgram *d) {
  struct stat st;
  uint64_t v = load(fd);
  int kind, family;
  if (v == 0) return 0;
  if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) && (uint64_t)st.st_ino == v >> INO_SHIFT) {
    d->fd = fd;
    d->ino = (uint64_t)st.st_ino;
    d->kind = (int)(v & KIND_MASK);
    d->bits = (unsigned)(v >> BITS_SHIFT) & BITS_MASK;
    d->family = (d->bits & ZT_FDB_INET6) ? AF_INET6 : AF_INET;
    return 1;
  }
  /* The number was closed and reused: forget the entry; the new socket may be a datagram one too. */
  store(fd, 0);
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return 0;
  kind = zt_kind_of_state(zt_ino_lookup_family((uint64_t)st.st_ino, &family));
  if (!zt_kind_is_dgram(kind)) return 0;
  zt_fd_set(fd, (uint64_t)st.st_ino, kind, family);
  d->fd = fd;
  d->ino = (uint64_t)st.st_ino;
  d->kind = kind;
  d->family = family;
  d->bits = family == AF_INET6 ? ZT_FDB_INET6 : 0;
  return 1;
}

void zt_fd_recognise(int fd) {
  struct stat st;
  int v, kind, family;
  socklen_t l;
  enum zt_ino_state s;
  if (!zt_enabled || zt_misconfigured || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return;
  s = zt_ino_lookup_family((uint64_t)st.st_ino, &family);
  if (s == ZT_INO_UNKNOWN) {
    l = sizeof(v);
    if (zt_real.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) != 0 || v != AF_UNIX) return;
    l = sizeof(v);
    if (zt_real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) != 0 || v != SOCK_SEQPACKET) return;
    kind = zt_rpc_whois((uint64_t)st.st_ino);
    if (kind < 0) return; /* the daemon is away: not known */
    s = zt_state_of_kind(kind);
    family = kind > 0 ? zt_rpc_family((uint64_t)st.st_ino) : AF_INET;
    zt_ino_remember_family((uint64_t)st.st_ino, s, family);
  }
  kind = zt_kind_of_state(s);
  if (zt_kind_is_dgram(kind)) zt_fd_set(fd, (uint64_t)st.st_ino, kind, family);
}

/*
 * Runs inside the library's initialisation, which a malloc implementation may trigger from its own
 * (jemalloc calls syscall() while holding its init lock): so no opendir, whose buffer comes from
 * malloc, but getdents64 into a buffer on the stack.
 */
void zt_fd_scan_inherited(void) {
  union {
    char bytes[4096];
    struct dirent64 align;
  } buf;
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  long n;
  if (dir < 0) return;
  while ((n = zt_real.syscall(SYS_getdents64, dir, buf.bytes, sizeof(buf.bytes))) > 0) {
    long off = 0;
    while (off < n) {
      const struct dirent64 *e = (const struct dirent64 *)(void *)(buf.bytes + off);
      char *end;
      long fd = strtol(e->d_name, &end, 10);
      off += e->d_reclen;
      if (*end != '\0' || end == e->d_name || fd == dir) continue;
      zt_fd_recognise((int)fd);
    }
  }
  close(dir);
}
