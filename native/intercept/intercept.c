/*
 * libztintercept.so: LD_PRELOAD socket interception for ztnc network containers.
 *
 * Active only when ZT_NC_NWID is set. An AF_INET stream socket becomes the app's end of an
 * AF_UNIX socketpair whose other end the daemon holds; the fd never changes, data moves through
 * the kernel untouched, and only the calls below become RPCs. Sockets are recognised by the inode
 * of the app's end, so dup, fork, exec and fd passing need no bookkeeping here.
 *
 * Daemon socket: ZT_NC_SOCKET if set, else $ZT_NC_HOME/sockets/<nwid>.sock, else
 * /tmp/.ztnc_<nwid>/<nwid>.sock. ZT_NC_DEBUG=1 traces to stderr.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim.h"

#define EXPORT __attribute__((visibility("default")))

struct zt_real zt_real;
int zt_enabled;
int zt_misconfigured;
int zt_debug;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

void zt_trace(const char *fmt, ...) {
  char line[512];
  va_list ap;
  int n, saved = errno;
  if (!zt_debug) return;
  n = snprintf(line, sizeof(line), "[ztnc %d] ", (int)getpid());
  va_start(ap, fmt);
  n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof(line) - 2) n = (int)sizeof(line) - 2;
  line[n++] = '\n';
  if (write(2, line, (size_t)n) < 0) { /* nothing to do: tracing is best effort */
  }
  errno = saved;
}

static int valid_nwid(const char *s) {
  size_t i;
  if (strlen(s) != 16) return 0;
  for (i = 0; i < 16; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return 0;
  }
  return 1;
}

static void resolve(void) {
#define R(name) zt_real.name = (__typeof__(zt_real.name))dlsym(RTLD_NEXT, #name)
  R(socket);
  R(bind);
  R(listen);
  R(accept);
  R(accept4);
  R(connect);
  R(getsockname);
  R(getpeername);
  R(getsockopt);
  R(setsockopt);
  R(shutdown);
  R(sendto);
  R(syscall);
#undef R
}

static void init(void) {
  const char *nwid, *explicit_path, *home, *dbg;
  char path[256], nw[17];
  int n;
  resolve();
  dbg = getenv("ZT_NC_DEBUG");
  zt_debug = dbg != NULL && dbg[0] != '\0' && strcmp(dbg, "0") != 0;
  nwid = getenv("ZT_NC_NWID");
  if (nwid == NULL || nwid[0] == '\0') return;
  zt_enabled = 1;
  if (!valid_nwid(nwid)) {
    zt_misconfigured = 1;
    zt_trace("ZT_NC_NWID=%s is not 16 hex digits: IPv4 sockets will fail with ENETDOWN", nwid);
    return;
  }
  for (n = 0; n < 16; n++) nw[n] = (char)((nwid[n] >= 'A' && nwid[n] <= 'F') ? nwid[n] + 32 : nwid[n]);
  nw[16] = '\0';
  explicit_path = getenv("ZT_NC_SOCKET");
  home = getenv("ZT_NC_HOME");
  if (explicit_path != NULL && explicit_path[0] != '\0')
    n = snprintf(path, sizeof(path), "%s", explicit_path);
  else if (home != NULL && home[0] != '\0')
    n = snprintf(path, sizeof(path), "%s/sockets/%s.sock", home, nw);
  else
    n = snprintf(path, sizeof(path), "%s%s/%s.sock", ZT_DEFAULT_DIR_PREFIX, nw, nw);
  if (n <= 0 || (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
    zt_misconfigured = 1;
    zt_trace("daemon socket path too long: IPv4 sockets will fail with ENETDOWN");
    return;
  }
  zt_control_init(path);
  pthread_atfork(NULL, NULL, zt_control_after_fork_child);
  zt_trace("active for network %s via %s", nw, path);
}

static inline void ensure_init(void) { pthread_once(&init_once, init); }

static int fail(int err) {
  errno = err;
  return -1;
}

/* Where an RPC's answer goes: 0 for success, else -1 with errno set. */
static int rpc_status(int channel_err, const struct zt_reply *r) {
  if (channel_err) return fail(channel_err);
  if (r->result < 0) return fail(-r->result);
  return 0;
}

/*
 * Is `fd` one of the daemon's sockets? 1 (with *ino and *kind), 0 (not ours: the kernel handles
 * it). Unknown AF_UNIX stream sockets are asked about once and remembered.
 */
static int classify(int fd, uint64_t *ino, int *kind) {
  struct stat st;
  int v, acc;
  socklen_t l;
  struct zt_reply r;
  enum zt_ino_state s;
  if (!zt_enabled || zt_misconfigured || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return 0;
  *ino = (uint64_t)st.st_ino;
  s = zt_ino_lookup(*ino);
  if (s == ZT_INO_FOREIGN) return 0;
  if (s == ZT_INO_OURS || s == ZT_INO_OURS_LISTENER) {
    *kind = s == ZT_INO_OURS_LISTENER ? ZT_KIND_LISTENER : ZT_KIND_TCP;
    return 1;
  }
  l = sizeof(v);
  if (zt_real.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) != 0 || v != AF_UNIX) goto foreign;
  l = sizeof(v);
  if (zt_real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) != 0 || v != SOCK_STREAM) goto foreign;
  l = sizeof(acc);
  if (zt_real.getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) == 0 && acc) goto foreign;
  if (zt_rpc(ZT_OP_WHOIS, 0, *ino, NULL, 0, 0, 0, &r) != 0) return 0; /* daemon away: not known */
  if (r.result == ZT_KIND_TCP || r.result == ZT_KIND_LISTENER) {
    *kind = r.result;
    zt_ino_remember(*ino, r.result == ZT_KIND_LISTENER ? ZT_INO_OURS_LISTENER : ZT_INO_OURS);
    return 1;
  }
foreign:
  zt_ino_remember(*ino, ZT_INO_FOREIGN);
  return 0;
}

static void remember_fd(int fd, enum zt_ino_state s) {
  struct stat st;
  if (fd >= 0 && fstat(fd, &st) == 0) zt_ino_remember((uint64_t)st.st_ino, s);
}

static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put_u16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static uint32_t get_u32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static uint16_t get_u16(const uint8_t *p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}

/* Copies an IPv4 address out as the kernel does: truncated to *len, *len set to the full size. */
static void put_sockaddr(struct sockaddr *out, socklen_t *len, uint32_t addr, uint16_t port) {
  struct sockaddr_in sin;
  socklen_t n;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(addr);
  n = *len < sizeof(sin) ? *len : (socklen_t)sizeof(sin);
  memcpy(out, &sin, n);
  *len = sizeof(sin);
}

/* An IPv4 address from the app: 0, or -1 with errno as the kernel's inet_bind/inet_stream_connect. */
static int take_sockaddr(const struct sockaddr *sa, socklen_t len, int allow_unspec, uint32_t *addr,
                         uint16_t *port) {
  const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
  if (sa == NULL) return fail(EFAULT);
  if (len < sizeof(struct sockaddr_in)) return fail(EINVAL);
  if (sa->sa_family != AF_INET) {
    if (!(allow_unspec && sa->sa_family == AF_UNSPEC && sin->sin_addr.s_addr == htonl(INADDR_ANY)))
      return fail(EAFNOSUPPORT);
  }
  *addr = ntohl(sin->sin_addr.s_addr);
  *port = ntohs(sin->sin_port);
  return 0;
}

EXPORT int socket(int domain, int type, int protocol) {
  struct zt_reply r;
  int base, err, fd;
  uint32_t t;
  ensure_init();
  if (!zt_enabled || (domain != AF_INET && domain != AF_INET6)) {
    fd = zt_real.socket(domain, type, protocol);
    if (zt_enabled && domain == AF_UNIX) remember_fd(fd, ZT_INO_FOREIGN);
    return fd;
  }
  if (zt_misconfigured) return fail(ENETDOWN);
  /* No IPv6 on the virtual network yet: programs fall back to IPv4 on this error. */
  if (domain == AF_INET6) return fail(EAFNOSUPPORT);
  if (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC | 0xf)) return fail(EINVAL);
  base = type & 0xf;
  if (base != SOCK_STREAM || (protocol != 0 && protocol != IPPROTO_TCP)) {
    zt_trace("socket(AF_INET, %d, %d): only TCP is carried on the virtual network", base, protocol);
    return fail(EPROTONOSUPPORT);
  }
  t = (uint32_t)type;
  err = zt_rpc(ZT_OP_SOCKET, 0, 0, &t, sizeof(t), 0, (type & SOCK_CLOEXEC) != 0, &r);
  if (err) return fail(err);
  if (r.result < 0 || r.fd < 0 || r.payload_len < 8) {
    if (r.fd >= 0) close(r.fd);
    return fail(r.result < 0 ? -r.result : EIO);
  }
  fd = r.fd;
  if ((type & SOCK_NONBLOCK) && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
    close(fd);
    return fail(EIO);
  }
  remember_fd(fd, ZT_INO_OURS);
  zt_trace("socket() = %d", fd);
  return fd;
}

EXPORT int bind(int fd, const struct sockaddr *sa, socklen_t len) {
  uint64_t ino;
  int kind, err;
  uint32_t addr;
  uint16_t port;
  uint8_t p[6];
  struct zt_reply r;
  ensure_init();
  if (!classify(fd, &ino, &kind)) return zt_real.bind(fd, sa, len);
  if (take_sockaddr(sa, len, 1, &addr, &port) != 0) return -1;
  put_u32(p, addr);
  put_u16(p + 4, port);
  err = zt_rpc(ZT_OP_BIND, 0, ino, p, sizeof(p), 0, 0, &r);
  zt_trace("bind(%d, port %u) = %d", fd, port, err ? -err : r.result);
  return rpc_status(err, &r);
}

EXPORT int listen(int fd, int backlog) {
  uint64_t ino;
  int kind, err;
  int32_t b = backlog;
  struct zt_reply r;
  ensure_init();
  if (!classify(fd, &ino, &kind)) return zt_real.listen(fd, backlog);
  err = zt_rpc(ZT_OP_LISTEN, 0, ino, &b, sizeof(b), 0, 0, &r);
  if (err == 0 && r.result >= 0) zt_ino_remember(ino, ZT_INO_OURS_LISTENER);
  zt_trace("listen(%d) = %d", fd, err ? -err : r.result);
  return rpc_status(err, &r);
}

/* Takes one connection record (with its fd) off a listening socket; blocking as the fd is. */
static int take_connection(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags) {
  for (;;) {
    uint8_t rec[ZT_ACCEPT_RECORD];
    union {
      struct cmsghdr h;
      char buf[CMSG_SPACE(sizeof(int) * 4)];
    } cm;
    struct iovec iov = {.iov_base = rec, .iov_len = sizeof(rec)};
    struct msghdr msg;
    struct cmsghdr *c;
    int newfd = -1;
    ssize_t n;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cm.buf;
    msg.msg_controllen = sizeof(cm.buf);
    n = recvmsg(fd, &msg, (flags & SOCK_CLOEXEC) ? MSG_CMSG_CLOEXEC : 0);
    if (n < 0) return -1;
    /* End of stream: the daemon dropped this listener (it stopped or restarted). */
    if (n == 0) return fail(EINVAL);
    for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < k; i++) {
        int f;
        memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        if (newfd < 0)
          newfd = f;
        else
          close(f);
      }
    }
    if (newfd < 0 || n != ZT_ACCEPT_RECORD || rec[0] != ZT_ACCEPT_MAGIC) {
      if (newfd >= 0) close(newfd);
      zt_trace("accept(%d): dropped a malformed connection record", fd);
      continue;
    }
    if ((flags & SOCK_NONBLOCK) && fcntl(newfd, F_SETFL, fcntl(newfd, F_GETFL) | O_NONBLOCK) != 0) {
      close(newfd);
      return fail(EIO);
    }
    remember_fd(newfd, ZT_INO_OURS);
    if (addr != NULL && addrlen != NULL) {
      uint32_t a;
      uint16_t p;
      memcpy(&p, rec + 2, 2);
      memcpy(&a, rec + 4, 4);
      put_sockaddr(addr, addrlen, ntohl(a), ntohs(p));
    }
    zt_trace("accept(%d) = %d", fd, newfd);
    return newfd;
  }
}

static int accept_common(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags, int is4) {
  uint64_t ino;
  int kind;
  struct zt_reply r;
  ensure_init();
  if (!classify(fd, &ino, &kind))
    return is4 ? zt_real.accept4(fd, addr, addrlen, flags) : zt_real.accept(fd, addr, addrlen);
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return fail(EINVAL);
  if (addr != NULL && addrlen == NULL) return fail(EFAULT);
  if (kind != ZT_KIND_LISTENER) {
    /* Another process may have called listen() on it since this one looked. */
    if (zt_rpc(ZT_OP_WHOIS, 0, ino, NULL, 0, 0, 0, &r) != 0 || r.result != ZT_KIND_LISTENER) return fail(EINVAL);
    zt_ino_remember(ino, ZT_INO_OURS_LISTENER);
  }
  return take_connection(fd, addr, addrlen, flags);
}

EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *addrlen) { return accept_common(fd, addr, addrlen, 0, 0); }

EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags) {
  return accept_common(fd, addr, addrlen, flags, 1);
}

EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len) {
  uint64_t ino;
  int kind, err, nonblock;
  uint32_t addr;
  uint16_t port;
  uint8_t p[6];
  struct zt_reply r;
  ensure_init();
  if (!classify(fd, &ino, &kind)) return zt_real.connect(fd, sa, len);
  if (take_sockaddr(sa, len, 0, &addr, &port) != 0) return -1;
  nonblock = (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
  put_u32(p, addr);
  put_u16(p + 4, port);
  err = zt_rpc(ZT_OP_CONNECT, nonblock ? 0 : ZT_F_WAIT, ino, p, sizeof(p), !nonblock, 0, &r);
  if (err == 0 && (r.flags & ZT_RF_PENDING)) {
    /* A repeat connect while the first is under way: the app saw POLLOUT early (a socketpair is
     * always writable), so answer with the outcome, as the kernel would after real POLLOUT. */
    err = zt_rpc(ZT_OP_CONNECT, ZT_F_WAIT, ino, p, sizeof(p), 1, 0, &r);
  }
  zt_trace("connect(%d, port %u%s) = %d", fd, port, nonblock ? ", nonblocking" : "", err ? -err : r.result);
  return rpc_status(err, &r);
}

static int name_call(uint8_t op, int fd, struct sockaddr *sa, socklen_t *len) {
  uint64_t ino;
  int kind, err;
  struct zt_reply r;
  ensure_init();
  if (!classify(fd, &ino, &kind))
    return op == ZT_OP_GETSOCKNAME ? zt_real.getsockname(fd, sa, len) : zt_real.getpeername(fd, sa, len);
  if (sa == NULL || len == NULL) return fail(EFAULT);
  if ((int)*len < 0) return fail(EINVAL);
  err = zt_rpc(op, 0, ino, NULL, 0, 0, 0, &r);
  if (rpc_status(err, &r) != 0) return -1;
  if (r.payload_len < 6) return fail(EIO);
  put_sockaddr(sa, len, get_u32(r.payload), get_u16(r.payload + 4));
  return 0;
}

EXPORT int getsockname(int fd, struct sockaddr *sa, socklen_t *len) { return name_call(ZT_OP_GETSOCKNAME, fd, sa, len); }

EXPORT int getpeername(int fd, struct sockaddr *sa, socklen_t *len) { return name_call(ZT_OP_GETPEERNAME, fd, sa, len); }

/*
 * Options that shape the app's own end of the pair (timeouts, wakeup thresholds, receive
 * timestamps) stay local. So does SO_PRIORITY: it only orders the host's queueing, which the
 * virtual network never sees, and the kernel then checks the caller's privilege for values above 6
 * and reports the value as for any socket.
 */
static int local_option(int level, int name) {
  return level == SOL_SOCKET && (name == SO_RCVTIMEO_OLD || name == SO_SNDTIMEO_OLD || name == SO_RCVTIMEO_NEW ||
                                 name == SO_SNDTIMEO_NEW || name == SO_RCVLOWAT || name == SO_SNDLOWAT ||
                                 name == SO_PRIORITY || name == SO_TIMESTAMP_OLD || name == SO_TIMESTAMP_NEW ||
                                 name == SO_TIMESTAMPNS_OLD || name == SO_TIMESTAMPNS_NEW);
}

static int put_int_opt(void *val, socklen_t *len, int v) {
  socklen_t n = *len < sizeof(int) ? *len : (socklen_t)sizeof(int);
  memcpy(val, &v, n);
  *len = n;
  return 0;
}

EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len) {
  uint64_t ino;
  int kind, err;
  uint8_t p[12];
  struct zt_reply r;
  ensure_init();
  if (!classify(fd, &ino, &kind)) return zt_real.getsockopt(fd, level, name, val, len);
  if (local_option(level, name)) return zt_real.getsockopt(fd, level, name, val, len);
  if (val == NULL || len == NULL) return fail(EFAULT);
  if ((int)*len < 0) return fail(EINVAL);
  if (level == SOL_SOCKET && name == SO_TYPE) return put_int_opt(val, len, SOCK_STREAM);
  if (level == SOL_SOCKET && name == SO_DOMAIN) return put_int_opt(val, len, AF_INET);
  if (level == SOL_SOCKET && name == SO_PROTOCOL) return put_int_opt(val, len, IPPROTO_TCP);
  put_u32(p, (uint32_t)level);
  put_u32(p + 4, (uint32_t)name);
  put_u32(p + 8, (uint32_t)*len);
  err = zt_rpc(ZT_OP_GETSOCKOPT, 0, ino, p, sizeof(p), 0, 0, &r);
  if (err == 0 && (r.flags & ZT_RF_PENDING)) {
    /* SO_ERROR while the connect is still under way: the app saw POLLOUT early (a socketpair is
     * always writable), so answer with the outcome, as the kernel would after real POLLOUT. */
    err = zt_rpc(ZT_OP_GETSOCKOPT, ZT_F_WAIT, ino, p, sizeof(p), 1, 0, &r);
  }
  if (rpc_status(err, &r) != 0) return -1;
  {
    socklen_t n = (socklen_t)r.payload_len;
    if (n > *len) n = *len;
    memcpy(val, r.payload, n);
    *len = n;
  }
  return 0;
}

/* The TOS value the daemon keeps for `ino`, or -1 when it cannot be asked. */
static int current_tos(uint64_t ino) {
  uint8_t p[12];
  int32_t v;
  struct zt_reply r;
  put_u32(p, (uint32_t)IPPROTO_IP);
  put_u32(p + 4, (uint32_t)IP_TOS);
  put_u32(p + 8, (uint32_t)sizeof(v));
  if (zt_rpc(ZT_OP_GETSOCKOPT, 0, ino, p, sizeof(p), 0, 0, &r) != 0 || r.result != 4 || r.payload_len < 4) return -1;
  memcpy(&v, r.payload, 4);
  return v;
}

/*
 * Linux's IP_TOS also sets SO_PRIORITY from the TOS bits (rt_tos2priority) when the TOS changes.
 * SO_PRIORITY lives on the app's end (local_option), so the library does the same there.
 */
static void priority_from_tos(int fd, int before, const void *val, socklen_t len) {
  static const unsigned char tos2prio[16] = {0, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4};
  int tos = 0, prio;
  if (len >= sizeof(int))
    memcpy(&tos, val, sizeof(int));
  else if (len >= 1)
    tos = *(const unsigned char *)val;
  tos &= 0xfc; /* as stored for a TCP socket: the ECN bits are the stack's */
  if (tos == before) return;
  prio = tos2prio[(tos & 0x1e) >> 1];
  zt_real.setsockopt(fd, SOL_SOCKET, SO_PRIORITY, &prio, sizeof(prio));
}

EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len) {
  uint64_t ino;
  int kind, err, tos_before = -1;
  uint8_t p[12 + 64];
  struct zt_reply r;
  ensure_init();
  if (!classify(fd, &ino, &kind)) return zt_real.setsockopt(fd, level, name, val, len);
  if (local_option(level, name)) return zt_real.setsockopt(fd, level, name, val, len);
  if ((int)len < 0 || len > 64) return fail(EINVAL);
  if (val == NULL && len > 0) return fail(EFAULT);
  if (level == IPPROTO_IP && name == IP_TOS) tos_before = current_tos(ino);
  put_u32(p, (uint32_t)level);
  put_u32(p + 4, (uint32_t)name);
  put_u32(p + 8, (uint32_t)len);
  if (len) memcpy(p + 12, val, len);
  err = zt_rpc(ZT_OP_SETSOCKOPT, 0, ino, p, 12 + len, 0, 0, &r);
  zt_trace("setsockopt(%d, %d, %d) = %d", fd, level, name, err ? -err : r.result);
  if (err == 0 && r.result == 0 && level == IPPROTO_IP && name == IP_TOS) priority_from_tos(fd, tos_before, val, len);
  return rpc_status(err, &r);
}

EXPORT int shutdown(int fd, int how) {
  uint64_t ino;
  int kind, err;
  int32_t h = how;
  struct zt_reply r;
  ensure_init();
  if (!classify(fd, &ino, &kind)) return zt_real.shutdown(fd, how);
  err = zt_rpc(ZT_OP_SHUTDOWN, 0, ino, &h, sizeof(h), 0, 0, &r);
  if (rpc_status(err, &r) != 0) return -1;
  /* The daemon now knows the end of stream it will read is a half-close, not a close. */
  zt_real.shutdown(fd, how);
  return 0;
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t tolen) {
  uint64_t ino;
  int kind;
  ensure_init();
  if (to != NULL && classify(fd, &ino, &kind)) {
    /* TCP Fast Open's connect-and-send: here an ordinary connect, then the data (as the kernel
     * does when it has no cookie for the server). Its EINPROGRESS and EISCONN are the kernel's. */
    if ((flags & MSG_FASTOPEN) && connect(fd, to, tolen) != 0) return -1;
    /* TCP ignores a destination on a connected socket; a Unix stream socket would refuse it. */
    return zt_real.sendto(fd, buf, n, flags & ~MSG_FASTOPEN, NULL, 0);
  }
  return zt_real.sendto(fd, buf, n, flags, to, tolen);
}

/* libuv and others call some socket syscalls through syscall(2) directly. */
EXPORT long syscall(long number, ...) {
  va_list ap;
  long a[6];
  int i;
  ensure_init();
  va_start(ap, number);
  for (i = 0; i < 6; i++) a[i] = va_arg(ap, long);
  va_end(ap);
  switch (number) {
  case SYS_socket:
    return socket((int)a[0], (int)a[1], (int)a[2]);
  case SYS_bind:
    return bind((int)a[0], (const struct sockaddr *)a[1], (socklen_t)a[2]);
  case SYS_listen:
    return listen((int)a[0], (int)a[1]);
  case SYS_accept:
    return accept((int)a[0], (struct sockaddr *)a[1], (socklen_t *)a[2]);
  case SYS_accept4:
    return accept4((int)a[0], (struct sockaddr *)a[1], (socklen_t *)a[2], (int)a[3]);
  case SYS_connect:
    return connect((int)a[0], (const struct sockaddr *)a[1], (socklen_t)a[2]);
  case SYS_getsockname:
    return getsockname((int)a[0], (struct sockaddr *)a[1], (socklen_t *)a[2]);
  case SYS_getpeername:
    return getpeername((int)a[0], (struct sockaddr *)a[1], (socklen_t *)a[2]);
  case SYS_getsockopt:
    return getsockopt((int)a[0], (int)a[1], (int)a[2], (void *)a[3], (socklen_t *)a[4]);
  case SYS_setsockopt:
    return setsockopt((int)a[0], (int)a[1], (int)a[2], (const void *)a[3], (socklen_t)a[4]);
  case SYS_shutdown:
    return shutdown((int)a[0], (int)a[1]);
  default:
    return zt_real.syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
  }
}
