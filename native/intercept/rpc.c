/*
 * The RPC's wire format (proto.h) and its checks: requests are built here and nowhere else, and a
 * reply is used only once its length, version, op, result and attached descriptors are what the
 * request allows. A reply that breaks the protocol makes the call fail with ENETDOWN and the
 * channel is dropped (it is out of step); nothing of it reaches the app.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"
#include "fdpass.h"
#include "rpc.h"

/* Largest errno the kernel uses (MAX_ERRNO): a result below -ZT_MAX_ERRNO is malformed. */
#define ZT_MAX_ERRNO 4095

_Static_assert(ZT_REQ_HEADER == 4 + 1 + 1 + 2 + 8, "request header: len, version, op, flags, ino");
_Static_assert(ZT_RESP_HEADER == 4 + 1 + 1 + 2 + 4, "response header: len, version, op, flags, result");
_Static_assert(sizeof(((struct zt_reply *)0)->payload) == ZT_MAX_FRAME - ZT_RESP_HEADER,
               "a reply buffer holds the largest response payload exactly");
_Static_assert(12 + ZT_MAX_SETSOCKOPT_LEN <= ZT_MAX_REQ_PAYLOAD, "setsockopt payload fits a frame");

static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put_u16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static uint16_t get_u16(const uint8_t *p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}

static int send_all(int fd, const uint8_t *buf, size_t len) {
  size_t off = 0;
  while (off < len) {
    ssize_t n = zt_real.send(fd, buf + off, len - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    off += (size_t)n;
  }
  return 0;
}

/* Reads exactly `len` bytes, collecting attached fds (the first in *got_fd, the rest closed; a
 * second one is a protocol error). EINTR ends the read only when `interruptible`. */
static int recv_exact(int fd, uint8_t *buf, size_t len, int cloexec, int interruptible, int *got_fd, int *extra_fds) {
  size_t off = 0;
  while (off < len) {
    ssize_t n = zt_recv_with_fd(fd, buf + off, len - off, cloexec, got_fd, extra_fds);
    if (n < 0) {
      if (errno == EINTR && !interruptible) continue;
      return errno == EAGAIN ? ETIMEDOUT : errno;
    }
    if (n == 0) return ECONNRESET;
    off += (size_t)n;
  }
  return 0;
}

/* Checks a response header against the request: 0, or EPROTO with the reason traced. */
static int check_header(const uint8_t *hdr, uint8_t op, uint32_t *len, int32_t *result) {
  memcpy(len, hdr, 4);
  memcpy(result, hdr + 8, 4);
  if (*len < ZT_RESP_HEADER - 4 || *len > ZT_MAX_FRAME - 4) {
    zt_trace("malformed reply: frame length %u outside %d..%d", *len, ZT_RESP_HEADER - 4, ZT_MAX_FRAME - 4);
    return EPROTO;
  }
  if (hdr[4] != ZT_PROTO_VERSION) {
    zt_trace("malformed reply: protocol version %u, expected %d", hdr[4], ZT_PROTO_VERSION);
    return EPROTO;
  }
  if (hdr[5] != op) {
    zt_trace("malformed reply: op %u answers request op %u", hdr[5], op);
    return EPROTO;
  }
  if (*result < -ZT_MAX_ERRNO) {
    zt_trace("malformed reply: result %d is no errno", *result);
    return EPROTO;
  }
  return 0;
}

static int drain_owed(int fd, int *owed, const uint8_t *ops);

/*
 * One request/response on `fd`. The replies `owed` to requests posted before (NULL: none can be)
 * come first, read once this request is on its way. 0, or an errno describing why the channel
 * failed.
 */
static int exchange(int fd, int *owed, const uint8_t *owed_ops, const uint8_t *req, size_t req_len, uint8_t op,
                    int cloexec, int interruptible, struct zt_reply *reply) {
  uint8_t hdr[ZT_RESP_HEADER];
  uint32_t len;
  int got_fd = -1, extra_fds = 0, err;
  err = send_all(fd, req, req_len);
  if (err == 0 && owed != NULL) err = drain_owed(fd, owed, owed_ops);
  if (err) return err;
  err = recv_exact(fd, hdr, sizeof(hdr), cloexec, interruptible, &got_fd, &extra_fds);
  if (err == 0) err = check_header(hdr, op, &len, &reply->result);
  if (err == 0) {
    reply->payload_len = len - (ZT_RESP_HEADER - 4);
    if (reply->payload_len > sizeof(reply->payload)) err = EPROTO; /* ruled out by check_header */
  }
  if (err == 0) err = recv_exact(fd, reply->payload, reply->payload_len, cloexec, interruptible, &got_fd, &extra_fds);
  if (err == 0) {
    memcpy(&reply->flags, hdr + 6, 2);
    if (extra_fds || (got_fd >= 0 && op != ZT_OP_SOCKET)) {
      zt_trace("malformed reply: descriptors attached to op %u that carries %s", op,
               op == ZT_OP_SOCKET ? "one" : "none");
      err = EPROTO;
    }
  }
  if (err) {
    if (got_fd >= 0) close(got_fd);
    reply->payload_len = 0;
    reply->result = 0;
    reply->flags = 0;
    return err;
  }
  reply->fd = got_fd;
  return 0;
}

/* A request frame (proto.h) in `req` (ZT_MAX_FRAME bytes); `len` is at most ZT_MAX_REQ_PAYLOAD. */
static void build_request(uint8_t *req, uint8_t op, uint16_t flags, uint64_t ino, const void *payload, size_t len) {
  put_u32(req, (uint32_t)(ZT_REQ_HEADER - 4 + len));
  req[4] = ZT_PROTO_VERSION;
  req[5] = op;
  put_u16(req + 6, flags);
  memcpy(req + 8, &ino, 8);
  if (len) memcpy(req + ZT_REQ_HEADER, payload, len);
}

/*
 * Reads the replies the daemon owes to posted requests (zt_rpc_post), which come before any other
 * on the channel (it answers a channel's requests in order): each a bare answer (no payload) to the
 * op in `ops`. Their results are dropped (only requests whose answer is known are posted). 0, or an
 * errno: the channel is then out of step.
 */
static int drain_owed(int fd, int *owed, const uint8_t *ops) {
  uint8_t buf[ZT_MAX_OWED * ZT_RESP_HEADER];
  uint32_t len;
  int32_t result;
  int got_fd = -1, extra_fds = 0, err, i, n = *owed;
  if (n <= 0) return 0;
  if (n > ZT_MAX_OWED) return EPROTO;
  err = recv_exact(fd, buf, (size_t)n * ZT_RESP_HEADER, 0, 0, &got_fd, &extra_fds);
  for (i = 0; err == 0 && i < n; i++) {
    err = check_header(buf + (size_t)i * ZT_RESP_HEADER, ops[i], &len, &result);
    if (err == 0 && len != ZT_RESP_HEADER - 4) {
      zt_trace("malformed reply: a posted op %u answered with %u bytes of payload", ops[i], len - (ZT_RESP_HEADER - 4));
      err = EPROTO;
    }
  }
  if (err == 0 && (got_fd >= 0 || extra_fds)) err = EPROTO;
  if (got_fd >= 0) close(got_fd);
  if (err == 0) *owed = 0;
  return err;
}

int zt_rpc_post(uint8_t op, uint16_t flags, uint64_t ino, const void *payload, size_t len) {
  uint8_t req[ZT_MAX_FRAME];
  struct zt_channel_use use;
  int err;
  if (len > ZT_MAX_REQ_PAYLOAD) return EINVAL;
  build_request(req, op, flags, ino, payload, len);
  err = zt_channel_acquire(0, &use);
  if (err) return err;
  if (use.owed == NULL) {
    /* A connection of this call's own (a signal handler's) closes at once: nobody would read the reply. */
    zt_channel_release(&use, 0);
    return EAGAIN;
  }
  err = send_all(use.fd, req, ZT_REQ_HEADER + len);
  if (err == 0) use.owed_ops[(*use.owed)++] = op;
  if (err == 0 && *use.owed >= ZT_MAX_OWED) err = drain_owed(use.fd, use.owed, use.owed_ops);
  zt_channel_release(&use, err != 0);
  return err;
}

int zt_rpc(uint8_t op, uint16_t flags, uint64_t ino, const void *payload, size_t len, int wait, int cloexec,
           struct zt_reply *reply) {
  uint8_t req[ZT_MAX_FRAME];
  int err = ENETDOWN, attempt;
  reply->fd = -1;
  reply->payload_len = 0;
  reply->result = 0;
  reply->flags = 0;
  if (len > ZT_MAX_REQ_PAYLOAD) return EINVAL;
  build_request(req, op, flags, ino, payload, len);

  /* A second attempt on a fresh connection covers a daemon that restarted since the last call. */
  for (attempt = 0; attempt < 2; attempt++) {
    struct zt_channel_use use;
    err = zt_channel_acquire(wait, &use);
    if (err) break;
    err = exchange(use.fd, use.owed, use.owed_ops, req, ZT_REQ_HEADER + len, op, cloexec, wait, reply);
    if (err == 0) {
      zt_channel_release(&use, 0);
      break;
    }
    /* The channel is out of step (an answer may still come) or dead: never reuse it. */
    zt_trace("control channel failed (%s)", strerror(err));
    zt_channel_release(&use, 1);
    if (err == EINTR) break;
    if (use.fresh || use.private || (err != ECONNRESET && err != EPIPE)) {
      err = ENETDOWN;
      break;
    }
    err = ENETDOWN;
  }
  return err;
}

int zt_rpc_status(int channel_err, const struct zt_reply *reply) {
  if (channel_err) return zt_fail(channel_err);
  if (reply->result < 0) return zt_fail(-reply->result);
  return 0;
}

int zt_rpc_socket(uint32_t type, int32_t protocol, int32_t domain, int cloexec, int *fd) {
  struct zt_reply r;
  uint8_t p[12];
  int err;
  put_u32(p, type);
  put_u32(p + 4, (uint32_t)protocol);
  put_u32(p + 8, (uint32_t)domain);
  err = zt_rpc(ZT_OP_SOCKET, 0, 0, p, sizeof(p), 0, cloexec, &r);
  if (err) return err;
  if (r.result < 0 || r.fd < 0 || r.payload_len < 8) {
    if (r.fd >= 0) close(r.fd);
    return r.result < 0 ? -r.result : EIO;
  }
  *fd = r.fd;
  return 0;
}

int zt_rpc_whois(uint64_t ino) {
  struct zt_reply r;
  if (zt_rpc(ZT_OP_WHOIS, 0, ino, NULL, 0, 0, 0, &r) != 0) return -1;
  return r.result >= ZT_KIND_TCP && r.result <= ZT_KIND_RAW_ICMP ? r.result : 0;
}

int zt_rpc_family(uint64_t ino) {
  uint8_t sa[ZT_SOCKADDR];
  int saved = errno;
  if (zt_rpc_name(ZT_OP_GETSOCKNAME, ino, sa) != 0) {
    errno = saved;
    return AF_INET;
  }
  return get_u16(sa);
}

int zt_rpc_address(uint8_t op, uint16_t flags, uint64_t ino, const uint8_t *sockaddr, int wait,
                   struct zt_reply *reply) {
  return zt_rpc(op, flags, ino, sockaddr, ZT_SOCKADDR, wait, 0, reply);
}

int zt_rpc_connect_filled(uint16_t flags, uint64_t ino, const uint8_t *sockaddr, uint32_t filler,
                          struct zt_reply *reply) {
  uint8_t p[ZT_SOCKADDR + 4];
  memcpy(p, sockaddr, ZT_SOCKADDR);
  put_u32(p + ZT_SOCKADDR, filler);
  return zt_rpc(ZT_OP_CONNECT, flags, ino, p, sizeof(p), 0, 0, reply);
}

int zt_rpc_int(uint8_t op, uint64_t ino, int32_t value, struct zt_reply *reply) {
  return zt_rpc(op, 0, ino, &value, sizeof(value), 0, 0, reply);
}

int zt_rpc_name(uint8_t op, uint64_t ino, uint8_t *sockaddr) {
  uint16_t rflags;
  return zt_rpc_name_flags(op, ino, sockaddr, &rflags);
}

int zt_rpc_name_flags(uint8_t op, uint64_t ino, uint8_t *sockaddr, uint16_t *rflags) {
  struct zt_reply r;
  uint16_t family;
  int err = zt_rpc(op, 0, ino, NULL, 0, 0, 0, &r);
  if (zt_rpc_status(err, &r) != 0) return -1;
  *rflags = r.flags;
  if (r.payload_len < ZT_SOCKADDR) return zt_fail(EIO);
  family = get_u16(r.payload);
  if (family != AF_INET && family != AF_INET6) {
    zt_trace("malformed reply: address family %u", family);
    return zt_fail(EIO);
  }
  memcpy(sockaddr, r.payload, ZT_SOCKADDR);
  return 0;
}

int zt_rpc_getsockopt(uint64_t ino, int level, int name, uint32_t len, uint16_t flags, int wait,
                      struct zt_reply *reply) {
  uint8_t p[12];
  put_u32(p, (uint32_t)level);
  put_u32(p + 4, (uint32_t)name);
  put_u32(p + 8, len);
  return zt_rpc(ZT_OP_GETSOCKOPT, flags, ino, p, sizeof(p), wait, 0, reply);
}

int zt_rpc_post_filled(uint64_t ino, const uint8_t *sockaddr, uint32_t written) {
  uint8_t p[ZT_SOCKADDR + 4];
  memcpy(p, sockaddr, ZT_SOCKADDR);
  put_u32(p + ZT_SOCKADDR, written);
  return zt_rpc_post(ZT_OP_CONNECT, ZT_F_FILLED, ino, p, sizeof(p));
}

/* SETSOCKOPT's payload (level, name, length, value) in `p`; its size. `len` is checked by the callers. */
static size_t setsockopt_payload(uint8_t *p, int level, int name, const void *value, uint32_t len) {
  put_u32(p, (uint32_t)level);
  put_u32(p + 4, (uint32_t)name);
  put_u32(p + 8, len);
  if (len) memcpy(p + 12, value, len);
  return 12 + (size_t)len;
}

int zt_rpc_post_setsockopt(uint64_t ino, int level, int name, const void *value, uint32_t len) {
  uint8_t p[12 + ZT_MAX_SETSOCKOPT_LEN];
  if (len > ZT_MAX_SETSOCKOPT_LEN) return EINVAL;
  return zt_rpc_post(ZT_OP_SETSOCKOPT, 0, ino, p, setsockopt_payload(p, level, name, value, len));
}

int zt_rpc_setsockopt(uint64_t ino, int level, int name, const void *value, uint32_t len, struct zt_reply *reply) {
  uint8_t p[12 + ZT_MAX_SETSOCKOPT_LEN];
  if (len > ZT_MAX_SETSOCKOPT_LEN) return EINVAL;
  return zt_rpc(ZT_OP_SETSOCKOPT, 0, ino, p, setsockopt_payload(p, level, name, value, len), 0, 0, reply);
}

/* A name's text as a reply carries it: 1..ZT_NAME_MAX-1 bytes, no NUL among them. */
static int take_name(const uint8_t *p, size_t len, char *out) {
  if (len == 0 || len >= ZT_NAME_MAX || memchr(p, 0, len) != NULL) return 0;
  memcpy(out, p, len);
  out[len] = '\0';
  return 1;
}

int zt_rpc_resolve(const char *name, int family, struct zt_resolved *out) {
  uint8_t p[ZT_MAX_REQ_PAYLOAD];
  size_t n = strlen(name), clen, i, off;
  struct zt_reply r;
  int err;
  if (n == 0 || 1 + n > sizeof(p)) return -ENOENT;
  p[0] = (uint8_t)family;
  memcpy(p + 1, name, n);
  err = zt_rpc(ZT_OP_RESOLVE, 0, 0, p, 1 + n, 0, 0, &r);
  if (err) return -err;
  if (r.result < 0) return r.result;
  /* u8 n, the canonical name (n bytes), then result × (u8 family, 16 bytes). */
  if (r.payload_len < 1) return -EIO;
  clen = r.payload[0];
  out->canonical[0] = '\0'; /* none given (n = 0): the name asked for is its own canonical name */
  if (r.payload_len != 1 + clen + (size_t)r.result * 17 || (clen && !take_name(r.payload + 1, clen, out->canonical))) {
    zt_trace("malformed RESOLVE reply: %zu payload bytes for %d addresses", r.payload_len, r.result);
    return -EIO;
  }
  out->count = 0;
  for (i = 0, off = 1 + clen; i < (size_t)r.result; i++, off += 17) {
    uint8_t f = r.payload[off];
    if ((f != AF_INET && f != AF_INET6) || (family != AF_UNSPEC && f != family)) {
      zt_trace("malformed RESOLVE reply: address family %u for a query of family %d", f, family);
      return -EIO;
    }
    if (out->count == ZT_RESOLVE_MAX_ADDRS) continue;
    out->addrs[out->count].family = f;
    memcpy(out->addrs[out->count].bytes, r.payload + off + 1, 16);
    out->count++;
  }
  /* An answer without addresses: the name has none of that family. */
  return out->count ? 0 : -ENODATA;
}

int zt_rpc_reverse(int family, const void *addr, char *name) {
  uint8_t p[17];
  size_t alen = family == AF_INET6 ? 16 : 4;
  struct zt_reply r;
  int err;
  p[0] = (uint8_t)family;
  memcpy(p + 1, addr, alen);
  err = zt_rpc(ZT_OP_REVERSE, 0, 0, p, 1 + alen, 0, 0, &r);
  if (err) return -err;
  if (r.result < 0) return r.result;
  if ((size_t)r.result != r.payload_len || !take_name(r.payload, r.payload_len, name)) {
    zt_trace("malformed REVERSE reply: result %d, %zu payload bytes", r.result, r.payload_len);
    return -EIO;
  }
  return 0;
}

/* Smallest DNS message: the 12-byte header (RFC 1035 4.1.1). */
#define ZT_DNS_HEADER 12

int zt_rpc_dns_query(const void *query, size_t len, void *answer, size_t cap) {
  struct zt_reply r;
  int err;
  if (len > ZT_MAX_REQ_PAYLOAD) return -EMSGSIZE;
  err = zt_rpc(ZT_OP_DNS_QUERY, 0, 0, query, len, 0, 0, &r);
  if (err) return -err;
  if (r.result < 0) return r.result;
  if ((size_t)r.result != r.payload_len || r.payload_len < ZT_DNS_HEADER) {
    zt_trace("malformed DNS_QUERY reply: result %d, %zu payload bytes", r.result, r.payload_len);
    return -EIO;
  }
  memcpy(answer, r.payload, r.payload_len < cap ? r.payload_len : cap);
  return r.result;
}
