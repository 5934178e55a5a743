#!/usr/bin/env python3
"""
A stand-in netcon daemon for the library's datagram path: speaks the RPC of
native/intercept/proto.h for datagram sockets (UDP, ping, raw ICMP) and carries each socket's
records to a kernel socket of the same kind, so the library's data path can be compared with
the kernel itself, case by case (run it in a network namespace of its own: `unshare -n`).
ZT_DG_DATA records become datagrams; received datagrams become records with the source, the
address they were sent to, TOS and TTL; ICMP errors become ZT_DG_ERROR records (proto.h).
Prints READY once listening.

  dgram_bridge_daemon.py <socket path>
"""
import os
import select
import socket
import struct
import sys
import threading

VERSION, REQ_HEADER, RESP_HEADER = 1, 16, 12
OP_SOCKET, OP_BIND, OP_LISTEN, OP_CONNECT, OP_GETSOCKNAME, OP_GETPEERNAME = 1, 2, 3, 4, 5, 6
OP_GETSOCKOPT, OP_SETSOCKOPT, OP_SHUTDOWN, OP_WHOIS = 7, 8, 9, 10
F_UNSPEC = 0x4
KIND_UDP, KIND_PING, KIND_RAW = 3, 4, 5
DG_DATA, DG_ERROR = 1, 2
DGF_TO, DGF_TOS, DGF_TTL, DGF_SRC = 0x01, 0x02, 0x04, 0x08
DGF_PKTINFO, DGF_RECVTOS, DGF_RECVTTL, DGF_RECVERR = 0x10, 0x20, 0x40, 0x80
HDR = struct.Struct("<BBHIIBBH")
SOL_IP, IP_TOS, IP_TTL, IP_PKTINFO, IP_RECVERR, IP_RECVTTL, IP_RECVTOS = 0, 1, 2, 8, 11, 12, 13
MSG_ERRQUEUE = 0x2000
EE = struct.Struct("=IBBBBII")  # sock_extended_err
EOPNOTSUPP, EBADF, EPROTONOSUPPORT = 95, 9, 93

sockets = {}  # ino -> Bridged
lock = threading.Lock()


def ip2int(a):
    return struct.unpack("!I", socket.inet_aton(a))[0]


def int2ip(v):
    return socket.inet_ntoa(struct.pack("!I", v))


class Bridged:
    """One datagram socket: the daemon's seqpacket end and the kernel socket it is carried on."""

    def __init__(self, kind, kernel, mine):
        self.kind, self.kernel, self.mine = kind, kernel, mine
        self.wants = {IP_PKTINFO: 0, IP_RECVTOS: 0, IP_RECVTTL: 0, IP_RECVERR: 0}
        self.write_shut = False
        for opt in (IP_PKTINFO, IP_RECVTOS, IP_RECVTTL):
            kernel.setsockopt(SOL_IP, opt, 1)
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
            typ, flags, port, addr, local, tos, ttl, _ = HDR.unpack_from(rec)
            data, cm = rec[HDR.size:], []
            if flags & DGF_TOS:
                cm.append((SOL_IP, IP_TOS, struct.pack("i", tos)))
            if flags & DGF_TTL:
                cm.append((SOL_IP, IP_TTL, struct.pack("i", ttl)))
            if flags & DGF_SRC:
                cm.append((SOL_IP, IP_PKTINFO, struct.pack("=i4s4s", 0, socket.inet_aton(int2ip(local)), b"\0" * 4)))
            try:
                if flags & DGF_TO:
                    self.kernel.sendmsg([data], cm, 0, (int2ip(addr), port))
                else:
                    self.kernel.sendmsg([data], cm)
            except OSError:
                pass  # a counted drop in the real daemon

    def record(self, typ, flags, port, addr, local, tos, ttl, err, payload):
        try:
            self.mine.send(HDR.pack(typ, flags, port, addr, local, tos, ttl, err) + payload)
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
                if level == SOL_IP and typ == IP_RECVERR:
                    errno_, origin, itype, icode, _, info, _ = EE.unpack_from(val)
                    offender = val[EE.size + 4:EE.size + 8]
                    self.record(DG_ERROR, DGF_RECVERR, itype << 8 | icode, ip2int(socket.inet_ntoa(offender)), info, 0, 0, errno_, data[:576])
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
            self.record(DG_ERROR, 0, 0, 0, 0, 0, 0, e.errno, b"")
            return
        local = tos = ttl = 0
        for level, typ, val in anc:
            if level == SOL_IP and typ == IP_PKTINFO:
                local = ip2int(socket.inet_ntoa(val[8:12]))
            elif level == SOL_IP and typ == IP_TOS:
                tos = val[0]
            elif level == SOL_IP and typ == IP_TTL:
                ttl = struct.unpack("i", val[:4])[0]
        flags = (DGF_PKTINFO if self.wants[IP_PKTINFO] else 0) | (DGF_RECVTOS if self.wants[IP_RECVTOS] else 0) | (DGF_RECVTTL if self.wants[IP_RECVTTL] else 0)
        port = src[1] if self.kind == KIND_UDP else 0
        self.record(DG_DATA, flags, port, ip2int(src[0]), local, tos, ttl, 0, data)


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
        typ, proto = struct.unpack_from("<Ii", p.ljust(8, b"\0"))
        base = typ & 0xF
        if base == socket.SOCK_DGRAM and proto in (0, 17):
            kind, k = KIND_UDP, socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        elif base == socket.SOCK_DGRAM and proto == 1:
            kind, k = KIND_PING, socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 1)
        elif base == socket.SOCK_RAW and proto == 1:
            kind, k = KIND_RAW, socket.socket(socket.AF_INET, socket.SOCK_RAW, 1)
        else:
            return conn.sendall(frame(op, -EPROTONOSUPPORT))
        app, mine = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        mine.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        app_ino = os.fstat(app.fileno()).st_ino
        with lock:
            sockets[app_ino] = Bridged(kind, k, mine)
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
        addr, port = struct.unpack_from("<IH", p)
        return conn.sendall(frame(op, errno_of(lambda: k.bind((int2ip(addr), port)))))
    if op == OP_LISTEN:
        return conn.sendall(frame(op, -EOPNOTSUPP))
    if op == OP_CONNECT:
        if flags & F_UNSPEC:
            sa = struct.pack("=H14x", 0)
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            rc = libc.connect(k.fileno(), sa, len(sa))
            return conn.sendall(frame(op, 0 if rc == 0 else -ctypes.get_errno()))
        addr, port = struct.unpack_from("<IH", p)
        k.setblocking(True)
        r = errno_of(lambda: k.connect((int2ip(addr), port)))
        k.setblocking(False)
        return conn.sendall(frame(op, r))
    if op in (OP_GETSOCKNAME, OP_GETPEERNAME):
        try:
            a = k.getsockname() if op == OP_GETSOCKNAME else k.getpeername()
        except OSError as e:
            return conn.sendall(frame(op, -e.errno))
        return conn.sendall(frame(op, 0, struct.pack("<IH", ip2int(a[0]), a[1])))
    if op == OP_GETSOCKOPT:
        level, name, length = struct.unpack_from("<iiI", p)
        if level == SOL_IP and name in b.wants:
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
        if r == 0 and level == SOL_IP and name in b.wants:
            b.wants[name] = 1 if any(val) else 0
            if name == IP_PKTINFO or name == IP_RECVTOS or name == IP_RECVTTL:
                k.setsockopt(SOL_IP, name, 1)  # the bridge always wants them
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
