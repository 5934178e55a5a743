/*
 * Datagram sockets' data path (UDP, ICMP "ping", raw ICMP): each datagram is one record on the
 * app's seqpacket end, a ZT_DGRAM_HEADER-byte header then the payload (proto.h). The header goes
 * in front as an iovec of its own, so the payload is never copied. dgram-send.c builds records
 * from sendmsg's arguments; dgram-recv.c turns records into what recvmsg returns, with the
 * kernel's address truncation, flags and control messages; dgram-io.c holds the hooks.
 */
#ifndef ZTNC_DGRAM_H
#define ZTNC_DGRAM_H

#include <sys/socket.h>

#include "fdtable.h"

/* Where each field of a record header sits (proto.h ZT_DGRAM_HEADER). */
#define ZT_DGO_TYPE 0
#define ZT_DGO_FLAGS 1
#define ZT_DGO_PORT 2 /* u16, little-endian */
#define ZT_DGO_TOS 4
#define ZT_DGO_TTL 5
#define ZT_DGO_ERR 6    /* u16 */
#define ZT_DGO_INFO 8   /* u32 */
#define ZT_DGO_SCOPE 12 /* u32 */
#define ZT_DGO_ADDR 16  /* 16 bytes, network order (IPv4: the first 4) */
#define ZT_DGO_LOCAL 32

/* Largest payload of each kind (IPv4 total length 65535 less the IP and UDP headers). */
#define ZT_UDP_MAX_PAYLOAD 65507
#define ZT_ICMP_MAX_PAYLOAD 65515
/* IPv6: the payload length 65535 less the UDP header; ICMPv6 as much as one send takes (0xffff). */
#define ZT_UDP6_MAX_PAYLOAD 65527
#define ZT_ICMP6_MAX_PAYLOAD 65535
/* What the library keeps of an ICMP error's offending datagram for MSG_ERRQUEUE. */
#define ZT_ERR_PAYLOAD_MAX 576

/* sendmsg on a datagram socket: payload bytes sent, or -1 with errno as the kernel's. */
ZT_HIDDEN ssize_t zt_dgram_send(struct zt_dgram *d, const struct msghdr *msg, int flags);
/* recvmsg on a datagram socket (MSG_ERRQUEUE included): as the kernel's. */
ZT_HIDDEN ssize_t zt_dgram_recv(struct zt_dgram *d, struct msghdr *msg, int flags);
/* The errno of an ICMP error record at the head of the queue, consumed (kept for MSG_ERRQUEUE
 * when IP_RECVERR is set); 0 when the head is no error. SO_ERROR and sends use it. */
ZT_HIDDEN int zt_dgram_take_error(struct zt_dgram *d);
/* FIONREAD/SIOCINQ: the next datagram's payload size, 0 when none waits. */
ZT_HIDDEN int zt_dgram_next_size(struct zt_dgram *d);
/* IPV6_V6ONLY of an AF_INET6 datagram socket (asked of the daemon once, then kept in the fd table). */
ZT_HIDDEN int zt_dgram_v6only(struct zt_dgram *d);

#endif
