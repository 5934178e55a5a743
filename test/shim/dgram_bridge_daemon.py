#!/usr/bin/env python3
"""
A stand-in netcon daemon for the library's datagram path: speaks the RPC of
native/intercept/proto.h for datagram sockets (UDP, ping, raw ICMP; AF_INET and AF_INET6) and
carries each socket's records to a kernel socket of the same kind and family, so the library's data path can be compared with
the kernel itself, case by case (run it in a network namespace of its own: `unshare -n`).
ZT_DG_DATA records become datagrams; received datagrams become records with the source, the
address they were sent to, TOS and TTL (traffic class and hop limit); ICMP errors become
ZT_DG_ERROR records (proto.h). Addresses go to and come from the kernel as the raw ZT_SOCKADDR
bytes (libc's bind/connect/getsockname through ctypes), so nothing is reinterpreted on the way.
Prints READY once listening.

  dgram_bridge_daemon.py <socket path>
"""
import ctypes
import os
import select
import socket
import struct
import sys
import threading

VERSION, REQ_HEADER, RESP_HEADER, SOCKADDR = 2, 16, 12, 28
OP_SOCKET, OP_BIND, OP_LISTEN, OP_CONNECT, OP_GETSOCKNAME, OP_GETPEERNAME = 1, 2, 3, 4, 5, 6
OP_GETSOCKOPT, OP_SETSOCKOPT, OP_SHUTDOWN, OP_WHOIS = 7, 8, 9, 10
F_UNSPEC = 0x4
KIND_UDP, KIND_PING, KIND_RAW = 3, 4, 5
DG_DATA, DG_ERROR = 1, 2
DGF_TO, DGF_TOS, DGF_TTL, DGF_SRC = 0x01, 0x02, 0x04, 0x08
DGF_PKTINFO, DGF_RECVTOS, DGF_RECVTTL, DGF_RECVERR = 0x10, 0x20, 0x40, 0x80
HDR = struct.Struct("<BBHBBHII16s16s")
SOL_IP, IP_TOS, IP_TTL, IP_PKTINFO, IP_RECVERR, IP_RECVTTL, IP_RECVTOS = 0, 1, 2, 8, 11, 12, 13
SOL_IPV6, IPV6_RECVERR, IPV6_RECVPKTINFO, IPV6_PKTINFO = 41, 25, 49, 50
IPV6_RECVHOPLIMIT, IPV6_HOPLIMIT, IPV6_RECVTCLASS, IPV6_TCLASS = 51, 52, 66, 67
AF_INET, AF_INET6 = 2, 10
# Per family: the level of its IP options, and option name -> the record flag it asks for.
WANTS = {
    AF_INET: (SOL_IP, {IP_PKTINFO: 0x10, IP_RECVTOS: 0x20, IP_RECVTTL: 0x40, IP_RECVERR: 0x80}),
    AF_INET6: (SOL_IPV6, {IPV6_RECVPKTINFO: 0x10, IPV6_RECVTCLASS: 0x20, IPV6_RECVHOPLIMIT: 0x40, IPV6_RECVERR: 0x80}),
}
libc = ctypes.CDLL(None, use_errno=True)
MSG_ERRQUEUE = 0x2000
EE = struct.Struct("=IBBBBII")  # sock_extended_err
EOPNOTSUPP, EBADF, EPROTONOSUPPORT = 95, 9, 93

sockets = {}  # ino -> Bridged
lock = threading.Lock()


def addr_bytes(family, text):
    """An address as a record carries it: 16 bytes, an IPv4 one in the first 4."""
    return socket.inet_pton(family, text).ljust(16, b"\0")


def addr_text(family, b):
    return socket.inet_ntop(family, b[:4] if family == AF_INET else b)


def raw_call(fn, fd, sa):
    """libc's bind or connect with the exact sockaddr bytes: 0 or -errno."""
    n = 16 if struct.unpack_from("=H", sa)[0] == AF_INET else len(sa)
    rc = fn(fd, ctypes.c_char_p(bytes(sa)), n)
    return 0 if rc == 0 else -ctypes.get_errno()


def raw_name(fn, fd):
    """getsockname/getpeername as the ZT_SOCKADDR bytes, or -errno."""
    buf = ctypes.create_string_buffer(128)
    n = ctypes.c_uint32(128)
    if fn(fd, buf, ctypes.byref(n)) != 0:
        return -ctypes.get_errno()
    return buf.raw[: min(n.value, SOCKADDR)].ljust(SOCKADDR, b"\0")


class Bridged:
    """One datagram socket: the daemon's seqpacket end and the kernel socket it is carried on."""

    def __init__(self, kind, family, kernel, mine):
        self.kind, self.family, self.kernel, self.mine = kind, family, kernel, mine
        self.level, flags = WANTS[family]
        self.wants = {name: 0 for name in flags}
        self.write_shut = False
        for opt in flags:
            if flags[opt] != 0x80:
                kernel.setsockopt(self.level, opt, 1)
        kernel.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        kernel.setblocking(False)
        threading.Thread(target=self.to_kernel, daemon=True).start()
        threading.Thread(target=self.to_app, daemon=True).start()

    def to_kernel(self):
        while True:
            try:
                rec = self.mine.recv(70000)
            except OSError:
                return
            if not rec:
                if not self.write_shut:  # the app closed its end: the socket is gone
                    try:
                        self.kernel.shutdown(socket.SHUT_RDWR)  # wakes to_app's select, which holds it
                    except OSError:
                        pass
                    self.kernel.close()
                    self.mine.close()
                return
            if len(rec) < HDR.size:
                continue
            typ, flags, port, tos, ttl, _, _, scope, addr, local = HDR.unpack_from(rec)
            data, cm = rec[HDR.size:], []
            # An AF_INET6 socket's IPv4 datagram takes SOL_IP control messages, as the kernel's.
            six = self.family == AF_INET6 and not self.to_ipv4(flags, addr)
            if flags & DGF_TOS:
                cm.append((SOL_IPV6, IPV6_TCLASS, struct.pack("i", tos)) if six else (SOL_IP, IP_TOS, struct.pack("i", tos)))
            if flags & DGF_TTL:
                cm.append((SOL_IPV6, IPV6_HOPLIMIT, struct.pack("i", ttl)) if six else (SOL_IP, IP_TTL, struct.pack("i", ttl)))
            if flags & DGF_SRC:
                if self.family == AF_INET6:
                    cm.append((SOL_IPV6, IPV6_PKTINFO, struct.pack("=16sI", local, 0)))
                else:
                    cm.append((SOL_IP, IP_PKTINFO, struct.pack("=i4s4s", 0, local[:4], b"\0" * 4)))
            dest = (addr_text(self.family, addr), port, 0, scope) if self.family == AF_INET6 else (addr_text(AF_INET, addr), port)
            try:
                if flags & DGF_TO:
                    self.kernel.sendmsg([data], cm, 0, dest)
                else:
                    self.kernel.sendmsg([data], cm)
            except OSError:
                pass  # a counted drop in the real daemon

    def to_ipv4(self, flags, addr):
        """Whether an AF_INET6 socket's datagram goes out as IPv4: to a v4-mapped address."""
        if not flags & DGF_TO:
            try:
                addr = socket.inet_pton(AF_INET6, self.kernel.getpeername()[0])
            except OSError:
                return False
        return addr[:12] == b"\0" * 10 + b"\xff\xff"

    def record(self, typ, flags, port, addr, local, tos, ttl, err, payload, info=0, scope=0):
        try:
            self.mine.send(HDR.pack(typ, flags, port, tos, ttl, err, info, scope, addr, local) + payload)
        except OSError:
            pass

    def to_app(self):
        while True:
            try:
                r, _, x = select.select([self.kernel], [], [self.kernel])
            except (OSError, ValueError):
                return
            self.pump()

    def pump(self):
        try:
            data, anc, _, src = self.kernel.recvmsg(1 << 17, 1024, MSG_ERRQUEUE)
            for level, typ, val in anc:
                if (level, typ) in ((SOL_IP, IP_RECVERR), (SOL_IPV6, IPV6_RECVERR)):
                    errno_, origin, itype, icode, _, info, _ = EE.unpack_from(val)
                    if level == SOL_IP:
                        offender, scope = val[EE.size + 4:EE.size + 8].ljust(16, b"\0"), 0
                    else:
                        offender, scope = val[EE.size + 8:EE.size + 24], struct.unpack_from("=I", val, EE.size + 24)[0]
                    self.record(DG_ERROR, DGF_RECVERR, itype << 8 | icode, offender, bytes(16), 0, 0, errno_, data[:576], info, scope)
            return
        except BlockingIOError:
            pass
        except OSError:
            return
        try:
            data, anc, _, src = self.kernel.recvmsg(1 << 17, 1024)
        except BlockingIOError:
            return
        except OSError as e:
            self.record(DG_ERROR, 0, 0, bytes(16), bytes(16), 0, 0, e.errno, b"")
            return
        local, tos, ttl = bytes(16), 0, 0
        for level, typ, val in anc:
            if level == SOL_IP and typ == IP_PKTINFO:
                local = val[8:12].ljust(16, b"\0")
            elif level == SOL_IP and typ == IP_TOS:
                tos = val[0]
            elif level == SOL_IP and typ == IP_TTL:
                ttl = struct.unpack("i", val[:4])[0]
            elif level == SOL_IPV6 and typ == IPV6_PKTINFO:
                local = val[:16]
            elif level == SOL_IPV6 and typ == IPV6_TCLASS:
                tos = struct.unpack("i", val[:4])[0]
            elif level == SOL_IPV6 and typ == IPV6_HOPLIMIT:
                ttl = struct.unpack("i", val[:4])[0]
        flags = 0
        for name, flag in WANTS[self.family][1].items():
            if flag != 0x80 and self.wants[name]:
                flags |= flag
        port = src[1] if self.kind == KIND_UDP else 0
        scope = src[3] if self.family == AF_INET6 else 0
        self.record(DG_DATA, flags, port, addr_bytes(self.family, src[0]), local, tos, ttl, 0, data, 0, scope)


def frame(op, result=0, payload=b"", flags=0):
    return struct.pack("<IBBHi", RESP_HEADER - 4 + len(payload), VERSION, op, flags, result) + payload


def errno_of(fn):
    try:
        fn()
        return 0
    except OSError as e:
        return -e.errno


def answer(conn, op, flags, ino, p):
    if op == OP_SOCKET:
        typ, proto, family = struct.unpack_from("<Iii", p.ljust(12, b"\0"))
        base, icmp = typ & 0xF, 58 if family == AF_INET6 else 1
        if family not in (AF_INET, AF_INET6):
            return conn.sendall(frame(op, -EPROTONOSUPPORT))
        if base == socket.SOCK_DGRAM and proto in (0, 17):
            kind, k = KIND_UDP, socket.socket(family, socket.SOCK_DGRAM)
        elif base == socket.SOCK_DGRAM and proto == icmp:
            kind, k = KIND_PING, socket.socket(family, socket.SOCK_DGRAM, icmp)
        elif base == socket.SOCK_RAW and proto == icmp:
            kind, k = KIND_RAW, socket.socket(family, socket.SOCK_RAW, icmp)
        else:
            return conn.sendall(frame(op, -EPROTONOSUPPORT))
        app, mine = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        mine.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        app_ino = os.fstat(app.fileno()).st_ino
        with lock:
            sockets[app_ino] = Bridged(kind, family, k, mine)
        socket.send_fds(conn, [frame(op, 0, struct.pack("<Q", app_ino))], [app.fileno()])
        app.close()
        return
    if op == OP_WHOIS:
        b = sockets.get(ino)
        return conn.sendall(frame(op, b.kind if b else -EBADF))
    b = sockets.get(ino)
    if b is None:
        return conn.sendall(frame(op, -EBADF))
    k = b.kernel
    if op == OP_BIND:
        return conn.sendall(frame(op, raw_call(libc.bind, k.fileno(), p[:SOCKADDR])))
    if op == OP_LISTEN:
        return conn.sendall(frame(op, -EOPNOTSUPP))
    if op == OP_CONNECT:
        if flags & F_UNSPEC:
            sa = struct.pack("=H14x", 0)
            rc = libc.connect(k.fileno(), sa, len(sa))
            return conn.sendall(frame(op, 0 if rc == 0 else -ctypes.get_errno()))
        k.setblocking(True)
        r = raw_call(libc.connect, k.fileno(), p[:SOCKADDR])
        k.setblocking(False)
        return conn.sendall(frame(op, r))
    if op in (OP_GETSOCKNAME, OP_GETPEERNAME):
        a = raw_name(libc.getsockname if op == OP_GETSOCKNAME else libc.getpeername, k.fileno())
        if isinstance(a, int):
            return conn.sendall(frame(op, a))
        return conn.sendall(frame(op, 0, a))
    if op == OP_GETSOCKOPT:
        level, name, length = struct.unpack_from("<iiI", p)
        if level == b.level and name in b.wants:
            v = struct.pack("i", b.wants[name])[: min(length, 4)]
            return conn.sendall(frame(op, len(v), v))
        try:
            v = k.getsockopt(level, name, max(length, 1))[:length]
        except OSError as e:
            return conn.sendall(frame(op, -e.errno))
        return conn.sendall(frame(op, len(v), v))
    if op == OP_SETSOCKOPT:
        level, name, length = struct.unpack_from("<iiI", p)
        val = p[12:12 + length]
        r = errno_of(lambda: k.setsockopt(level, name, val))
        if r == 0 and level == b.level and name in b.wants:
            b.wants[name] = 1 if any(val) else 0
            if WANTS[b.family][1][name] != 0x80:
                k.setsockopt(level, name, 1)  # the bridge always wants them
        return conn.sendall(frame(op, r))
    if op == OP_SHUTDOWN:
        (how,) = struct.unpack_from("<i", p)
        if how in (1, 2):
            b.write_shut = True
        return conn.sendall(frame(op, errno_of(lambda: k.shutdown(how))))
    conn.sendall(frame(op, -EOPNOTSUPP))


def serve(conn):
    try:
        while True:
            head = conn.recv(4, socket.MSG_WAITALL)
            if len(head) < 4:
                return
            (length,) = struct.unpack("<I", head)
            body = conn.recv(length, socket.MSG_WAITALL)
            _, op, flags, ino = struct.unpack_from("<BBHQ", body)
            answer(conn, op, flags, ino, body[12:])
    except OSError:
        pass
    finally:
        conn.close()


def main():
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sys.argv[1])
    srv.listen(16)
    print("READY", flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
