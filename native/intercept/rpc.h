/*
 * The RPC to the daemon (rpc.c): the one place where requests are encoded and replies decoded and
 * checked (proto.h). Each call returns 0 with the reply filled, or a positive errno when the
 * daemon cannot be used: ENETDOWN (absent, or it broke the protocol), EACCES (an untrusted
 * socket, see trust.h) or EINTR (a waiting call interrupted).
 */
#ifndef ZTNC_RPC_H
#define ZTNC_RPC_H

#include "shim.h"

struct zt_reply {
  int32_t result; /* >= 0, or a negative errno in 1..4095 (anything else is refused as malformed) */
  uint16_t flags;
  uint8_t payload[ZT_MAX_RESP_PAYLOAD];
  size_t payload_len; /* never more than sizeof(payload) */
  int fd;             /* descriptor received with a SOCKET reply, or -1 */
};

/*
 * One request/response. `wait` = the daemon may take long to answer (no timeout; EINTR is returned
 * as is). `cloexec` applies to a received fd. A payload longer than ZT_MAX_REQ_PAYLOAD is EINVAL.
 */
ZT_HIDDEN int zt_rpc(uint8_t op, uint16_t flags, uint64_t ino, const void *payload, size_t len, int wait, int cloexec,
                     struct zt_reply *reply);

/*
 * A request sent without waiting for its reply, for calls whose answer the library knows (a
 * setsockopt that cannot fail, the connect filler's report), and that has no payload: the app goes on at once instead
 * of waiting for the daemon's turn. The daemon answers a channel's requests in order, so the next call on this thread
 * reads the replies owed first; once ZT_MAX_OWED are owed they are read at once. 0 when sent; otherwise an errno, and
 * the caller makes the call the ordinary way.
 */
ZT_HIDDEN int zt_rpc_post(uint8_t op, uint16_t flags, uint64_t ino, const void *payload, size_t len);

/* 0 for a successful reply, else -1 with errno: the channel's error or the daemon's result. */
ZT_HIDDEN int zt_rpc_status(int channel_err, const struct zt_reply *reply);

/* SOCKET (type with its flags, protocol, domain): the app's end of a new socket in *fd. 0, or a positive errno. */
ZT_HIDDEN int zt_rpc_socket(uint32_t type, int32_t protocol, int32_t domain, int cloexec, int *fd);
/* WHOIS: ZT_KIND_* when `ino` is one of the daemon's sockets, 0 when not, -1 when the daemon is away. */
ZT_HIDDEN int zt_rpc_whois(uint64_t ino);
/* The address family of the daemon's socket `ino` (from GETSOCKNAME); AF_INET when it cannot say. */
ZT_HIDDEN int zt_rpc_family(uint64_t ino);
/* BIND, CONNECT: a ZT_SOCKADDR (sockaddr.h builds it). */
ZT_HIDDEN int zt_rpc_address(uint8_t op, uint16_t flags, uint64_t ino, const uint8_t *sockaddr, int wait,
                             struct zt_reply *reply);
/* CONNECT with ZT_F_FILLED posted (zt_rpc_post): the report of `written` filler bytes, answered 0. */
ZT_HIDDEN int zt_rpc_post_filled(uint64_t ino, const uint8_t *sockaddr, uint32_t written);
/* CONNECT without waiting, announcing `filler` bytes the library writes on EINPROGRESS (connect.c);
 * with ZT_F_FILLED, the bytes it wrote. */
ZT_HIDDEN int zt_rpc_connect_filled(uint16_t flags, uint64_t ino, const uint8_t *sockaddr, uint32_t filler,
                                    struct zt_reply *reply);
/* LISTEN (backlog), SHUTDOWN (how). */
ZT_HIDDEN int zt_rpc_int(uint8_t op, uint64_t ino, int32_t value, struct zt_reply *reply);
/* GETSOCKNAME, GETPEERNAME: 0 with the ZT_SOCKADDR (of family AF_INET or AF_INET6) in `sockaddr`,
 * or -1 with errno. */
ZT_HIDDEN int zt_rpc_name(uint8_t op, uint64_t ino, uint8_t *sockaddr);
/* The same, with the reply's flags in *rflags. */
ZT_HIDDEN int zt_rpc_name_flags(uint8_t op, uint64_t ino, uint8_t *sockaddr, uint16_t *rflags);
/* GETSOCKOPT: `len` = the app's buffer size; the value comes back as the reply's payload. */
ZT_HIDDEN int zt_rpc_getsockopt(uint64_t ino, int level, int name, uint32_t len, uint16_t flags, int wait,
                                struct zt_reply *reply);
/* SETSOCKOPT: at most ZT_MAX_SETSOCKOPT_LEN bytes of value. */
#define ZT_MAX_SETSOCKOPT_LEN 64
ZT_HIDDEN int zt_rpc_setsockopt(uint64_t ino, int level, int name, const void *value, uint32_t len,
                                struct zt_reply *reply);
/* SETSOCKOPT posted (zt_rpc_post): 0 when sent. */
ZT_HIDDEN int zt_rpc_post_setsockopt(uint64_t ino, int level, int name, const void *value, uint32_t len);

/*
 * Names (ino 0; proto.h RESOLVE, REVERSE, DNS_QUERY). Each returns 0 (or a length) on an answer,
 * else a negative errno: the daemon's -ENOENT (no such name), -ENODATA (no address of that family)
 * or -EAGAIN (no answer now), or the channel's: -ENETDOWN (daemon absent or its reply broke the
 * protocol), -EACCES (untrusted socket), -EIO (a reply whose payload contradicts its result).
 */
#define ZT_RESOLVE_MAX_ADDRS 64 /* addresses kept of one RESOLVE answer (the first ones) */
#define ZT_NAME_MAX 256         /* a DNS name's text, NUL included (RFC 1035: 253 characters) */
struct zt_resolved {
  char canonical[ZT_NAME_MAX]; /* empty when the daemon gave none */
  int count;
  struct {
    uint8_t family; /* AF_INET or AF_INET6 */
    uint8_t bytes[16];
  } addrs[ZT_RESOLVE_MAX_ADDRS];
};
/* RESOLVE: `name`'s addresses of `family` (AF_INET, AF_INET6 or AF_UNSPEC). */
ZT_HIDDEN int zt_rpc_resolve(const char *name, int family, struct zt_resolved *out);
/* REVERSE: the name of an address (4 bytes for AF_INET, 16 for AF_INET6) into `name` (ZT_NAME_MAX). */
ZT_HIDDEN int zt_rpc_reverse(int family, const void *addr, char *name);
/* DNS_QUERY: one query message in; the answer's whole length back, with its first min(length, cap)
 * bytes copied to `answer`. */
ZT_HIDDEN int zt_rpc_dns_query(const void *query, size_t len, void *answer, size_t cap);

#endif
