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

/* Largest payload of each kind (IPv4 total length 65535 less the IP and UDP headers). */
#define ZT_UDP_MAX_PAYLOAD 65507
#define ZT_ICMP_MAX_PAYLOAD 65515
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

#endif
