/*
 * The netcon RPC between libztintercept.so and the daemon (mirror of src/netcon/protocol.ts).
 *
 * One Unix stream connection per thread that makes socket calls (see control.c). Strictly
 * request/response, little-endian (both ends run on one host), every frame length-prefixed:
 *
 *   request:  u32 len | u8 version | u8 op | u16 flags | u64 ino | payload   (len counts from version)
 *   response: u32 len | u8 version | u8 op | u16 flags | i32 result | payload
 *
 * `result` is >= 0 or a negative errno. A SOCKET response carries the app's end of a new
 * socketpair as SCM_RIGHTS. Accepted connections do not use this channel: the daemon sends each
 * one over the listening socket as a ZT_ACCEPT_RECORD with the fd attached.
 *
 * Every socket address on the wire is a ZT_SOCKADDR: the kernel's own struct sockaddr_in (AF_INET
 * sockets) or struct sockaddr_in6 (AF_INET6 sockets) byte for byte — family u16 host order, port
 * and sin6_flowinfo big-endian, address bytes network order, sin6_scope_id host order — zero-padded
 * to 28 bytes. The library copies the app's sockaddr in once the kernel's checks pass (sockaddr.c).
 */
#ifndef ZTNC_PROTO_H
#define ZTNC_PROTO_H

#include <stdint.h>

#define ZT_PROTO_VERSION 2
#define ZT_REQ_HEADER 16  /* after the u32 length: 1+1+2+8 = 12; total header 16 */
#define ZT_RESP_HEADER 12 /* after the u32 length: 1+1+2+4 = 8; total header 12 */
/*
 * Largest frame either way, length prefix included: a 4096-byte DNS message (a query or an
 * answer of DNS_QUERY, the size resolvers commonly ask for with EDNS0) plus a request header.
 */
#define ZT_MAX_FRAME (4096 + ZT_REQ_HEADER) /* 4112 */
/* Largest payload of each frame: every buffer that holds one is sized from these, never by hand. */
#define ZT_MAX_REQ_PAYLOAD (ZT_MAX_FRAME - ZT_REQ_HEADER)   /* 4096 */
#define ZT_MAX_RESP_PAYLOAD (ZT_MAX_FRAME - ZT_RESP_HEADER) /* 4100 */
/* A socket address on the wire: sizeof(struct sockaddr_in6), an AF_INET one zero-padded to it. */
#define ZT_SOCKADDR 28

enum zt_op {
  /* payload: u32 type flags, i32 protocol, i32 domain (AF_INET, AF_INET6). resp payload: u64 ino; fd attached */
  ZT_OP_SOCKET = 1,
  ZT_OP_BIND = 2,   /* payload: ZT_SOCKADDR in the socket's family */
  ZT_OP_LISTEN = 3, /* payload: i32 backlog */
  /* payload: ZT_SOCKADDR[, u32 filler]. flag WAIT: reply when resolved. flag UNSPEC: family AF_UNSPEC, rest 0 */
  ZT_OP_CONNECT = 4,
  ZT_OP_GETSOCKNAME = 5, /* resp payload: ZT_SOCKADDR in the socket's family (v4-mapped IPv4 on AF_INET6) */
  ZT_OP_GETPEERNAME = 6, /* resp payload: ZT_SOCKADDR, as GETSOCKNAME */
  ZT_OP_GETSOCKOPT = 7,  /* payload: i32 level, i32 name, u32 len. resp: result = len, bytes */
  ZT_OP_SETSOCKOPT = 8,  /* payload: i32 level, i32 name, u32 len, bytes */
  ZT_OP_SHUTDOWN = 9,    /* payload: i32 how */
  ZT_OP_WHOIS = 10,      /* resp result: ZT_KIND_* if the inode is a socket of this daemon, else -EBADF */
  /*
   * Names (ino 0). RESOLVE payload: u8 family (AF_INET, AF_INET6 or AF_UNSPEC), the name (no NUL).
   * result: number of addresses; -ENOENT no such name, -ENODATA the name has no address of that
   * family, -EAGAIN no answer now. resp payload: u8 n, canonical name (n bytes), then per address
   * u8 family and 16 bytes (an IPv4 address in the first 4), network order.
   */
  ZT_OP_RESOLVE = 11,
  ZT_OP_REVERSE =
      12, /* payload: u8 family, 4 or 16 address bytes. result: name length or -ENOENT/-EAGAIN; payload: name */
  ZT_OP_DNS_QUERY = 13, /* payload: one DNS query message. result: answer length or -errno; payload: the answer */
};

/* Request flags. */
#define ZT_F_WAIT 0x1   /* CONNECT, GETSOCKOPT(SO_ERROR): answer once the connect attempt is resolved */
#define ZT_F_FILLED 0x2 /* CONNECT: the announced filler is written; u32 filler = bytes written */
#define ZT_F_UNSPEC 0x4 /* CONNECT of a datagram socket to AF_UNSPEC: dissolve the association */
/* CONNECT of a TCP socket: the daemon may join it straight to a listening app of its own (the
 * same-daemon fast path): the app did not opt out (ZT_NC_FASTPATH=0) and nothing it wrote waits
 * unread in its end. Such a connect answers 0 (blocking) or -EINPROGRESS without ZT_RF_FILLER. */
#define ZT_F_FAST 0x8

/* Response flags. */
#define ZT_RF_PENDING 0x1 /* GETSOCKOPT(SO_ERROR), CONNECT: a connect attempt is still in progress */
#define ZT_RF_FILLER 0x2  /* CONNECT (EINPROGRESS): the daemon expects the announced filler */
/* GETPEERNAME, GETSOCKOPT, SHUTDOWN of a fast-path socket (ZT_F_FAST): the kernel socket under the
 * fd is the connection itself; the library completes the answer from it (fastpath.c). */
#define ZT_RF_KERNEL 0x4
#define ZT_RF_SHUT_WR 0x8 /* with ZT_RF_KERNEL: this end had shut down writing before this call */

/*
 * CONNECT's optional filler count (non-blocking connects): on EINPROGRESS the library writes that
 * many bytes into the app's end before connect() returns; the daemon leaves them unread while the
 * attempt runs (so the app's end is not writable, as a connecting TCP socket is not), discards
 * them when it succeeds, and closes with them unread when it fails (so the app's end gets POLLERR).
 * The library writes it only when the EINPROGRESS reply carries ZT_RF_FILLER (a daemon that does
 * not know the filler would pass it on as data). A second CONNECT with ZT_F_FILLED then tells how
 * many were written: until it arrives the daemon neither reads the app's end nor closes it (so an
 * attempt that fails at once still finds the filler there), and the app has not been answered yet,
 * so it cannot have written anything else.
 */
#define ZT_CONNECT_FILLER_MAX (1u << 20)

enum zt_kind { ZT_KIND_TCP = 1, ZT_KIND_LISTENER = 2, ZT_KIND_UDP = 3, ZT_KIND_PING = 4, ZT_KIND_RAW_ICMP = 5 };

/*
 * Datagram sockets (UDP, ICMP "ping", raw ICMP; ICMPv6 on AF_INET6): the app's end is an AF_UNIX
 * SOCK_SEQPACKET socketpair and each message either way is one datagram: a ZT_DGRAM_HEADER-byte
 * record header, then the payload (UDP: the data; ping: the ICMP message; raw: app → daemon the
 * ICMP message, daemon → app the IP header and ICMP message as Linux delivers them — raw ICMPv6
 * without the IPv6 header, as Linux). No RPC per datagram.
 *
 *   u8 type | u8 flags | u16 port | u8 tos | u8 ttl | u16 err | u32 info | u32 scope |
 *   u8 addr[16] | u8 local[16]
 *
 * little-endian integers; addr and local are address bytes in network order: an AF_INET socket's
 * IPv4 address in the first 4 (the rest 0), an AF_INET6 socket's IPv6 address (v4-mapped for IPv4
 * traffic). App → daemon (ZT_DG_DATA): addr:port is the destination when ZT_DGF_TO (sendto), else
 * the connected peer, scope its sin6_scope_id; tos/ttl/local apply when their flag is set
 * (IP_TOS, IP_TTL, IP_PKTINFO control messages of sendmsg; IPV6_TCLASS, IPV6_HOPLIMIT,
 * IPV6_PKTINFO on AF_INET6). Daemon → app, ZT_DG_DATA: addr:port is the source (scope its
 * sin6_scope_id, 0 for global addresses), local the address it was sent to, tos and ttl as
 * received; ZT_DGF_PKTINFO/RECVTOS/RECVTTL say which control messages the app asked for
 * (setsockopt), to be added by recvmsg (IPV6_PKTINFO with interface index 1, IPV6_TCLASS,
 * IPV6_HOPLIMIT on AF_INET6).
 * Daemon → app, ZT_DG_ERROR: an ICMP error for this socket; err = errno, addr = the ICMP sender,
 * port = ICMP type << 8 | code, info = ee_info (e.g. the next-hop MTU), payload = the start of
 * the datagram that caused it; ZT_DGF_RECVERR when the app set IP_RECVERR/IPV6_RECVERR
 * (MSG_ERRQUEUE). The daemon's end's send buffer is the socket's SO_RCVBUF: a datagram that does
 * not fit is a counted drop, as on the kernel's receive queue.
 */
#define ZT_DGRAM_HEADER 48
enum zt_dgram_type { ZT_DG_DATA = 1, ZT_DG_ERROR = 2 };
#define ZT_DGF_TO 0x01      /* app → daemon: addr:port is the destination */
#define ZT_DGF_TOS 0x02     /* app → daemon: tos is this datagram's TOS */
#define ZT_DGF_TTL 0x04     /* app → daemon: ttl is this datagram's TTL */
#define ZT_DGF_SRC 0x08     /* app → daemon: local is the source address asked for */
#define ZT_DGF_PKTINFO 0x10 /* daemon → app: add IP_PKTINFO */
#define ZT_DGF_RECVTOS 0x20 /* daemon → app: add IP_TOS */
#define ZT_DGF_RECVTTL 0x40 /* daemon → app: add IP_TTL */
#define ZT_DGF_RECVERR 0x80 /* daemon → app (ZT_DG_ERROR): IP_RECVERR is set */

/* The record sent over a listening socket with each accepted connection's fd:
 * u8 ZT_ACCEPT_MAGIC | u8 0 | u16 0 | ZT_SOCKADDR (the peer, in the listener's family). */
#define ZT_ACCEPT_RECORD 32
#define ZT_ACCEPT_MAGIC 0x41

/*
 * Socket file (both ends look in this order; src/netcon/socket-path.ts):
 *   ZT_NC_SOCKET, else for ZT_NC_ENDPOINT=<name> (not "default")
 *   <home>/endpoints/<name>/sockets/<nwid>.sock with <home> = ZT_NC_HOME or $HOME/.ztnc, else
 *   $ZT_NC_HOME/sockets/<nwid>.sock, else $XDG_RUNTIME_DIR/ztnc/<nwid>.sock (when that directory
 *   is the user's own), else /tmp/.ztnc_<nwid>/<nwid>.sock.
 * Endpoint names: ^[a-z0-9][a-z0-9_.-]{0,62}$ (at most ZT_ENDPOINT_NAME_MAX characters).
 */
#define ZT_HOME_SOCKET_DIR "sockets"
#define ZT_ENDPOINTS_DIR "endpoints"
#define ZT_DEFAULT_ENDPOINT "default"
#define ZT_DEFAULT_HOME_DIR ".ztnc"
#define ZT_ENDPOINT_NAME_MAX 63
#define ZT_RUNTIME_SOCKET_DIR "ztnc"
#define ZT_DEFAULT_DIR_PREFIX "/tmp/.ztnc_"
#define ZT_SOCKET_SUFFIX ".sock"

#endif
