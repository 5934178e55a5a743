#!/usr/bin/env python3
"""
A hostile netcon daemon for the library's reply checks: speaks the RPC of native/intercept/proto.h
on a Unix socket and answers every request of one op with one malformed reply shape; other ops
get ordinary answers (SOCKET hands out a real socketpair end). Prints READY once listening.

  hostile_daemon.py <socket path> <case>      (cases: CASES below; test/shim/hostile.c drives them)
"""
import os
import socket
import struct
import sys
import threading

VERSION, REQ_HEADER, RESP_HEADER = 2, 16, 12
MAX_FRAME = 4096 + REQ_HEADER  # proto.h ZT_MAX_FRAME
OP_SOCKET, OP_LISTEN, OP_CONNECT, OP_GETSOCKNAME, OP_GETSOCKOPT, OP_SETSOCKOPT = 1, 3, 4, 5, 7, 8
F_FILLED, RF_FILLER, EINPROGRESS = 0x2, 0x2, 115
OP_RESOLVE, OP_REVERSE, OP_DNS_QUERY = 11, 12, 13
AF_INET, AF_INET6 = 2, 10
MAX_RESP_PAYLOAD = MAX_FRAME - RESP_HEADER


def frame(op, result=0, payload=b"", flags=0, version=VERSION, length=None):
    if length is None:
        length = RESP_HEADER - 4 + len(payload)
    return struct.pack("<IBBHi", length, version, op, flags, result) + payload


def full_payload():
    """MAX_RESP_PAYLOAD bytes; the last two are 0x00 0x20, which a buffer 4 bytes short let land in
    payload_len (8192)."""
    p = bytearray((i * 7 + 3) & 0xFF for i in range(MAX_RESP_PAYLOAD))
    p[-2], p[-1] = 0x00, 0x20
    return bytes(p)


def addr_entry(family, first=10):
    return bytes([family, first, 0, 0, 1]) + b"\0" * 12


last_request = [b""]  # the payload of the request being answered (DNS_QUERY cases echo its id)
last_flags = [0]  # and its flags


def dns_answer(size):
    """A DNS answer to the current query: its id, QR set, no records, padded to `size` bytes."""
    return last_request[0][:2] + b"\x81\x80" + b"\0" * 8 + b"\0" * (size - 12)


# case -> (op it targets, how to answer it: a function of (conn, op) that sends the reply)
def send(conn, data, fds=()):
    if fds:
        socket.send_fds(conn, [data], list(fds))
    else:
        conn.sendall(data)


def spare_fd():
    r, w = os.pipe()
    os.close(w)
    return r


SOCKADDR, ACCEPT_MAGIC = 28, 0x41


def sockaddr6(port, addr=b"\0" * 15 + b"\1", family=AF_INET6):
    """A ZT_SOCKADDR: struct sockaddr_in6 (family, port, flowinfo, address, scope id)."""
    return struct.pack("<H", family) + struct.pack(">HI", port, 0) + addr + struct.pack("<I", 0)


def accept_records(conn, op):
    """LISTEN succeeds; the listener then carries a record of an unknown family (dropped with its
    fd), then a good AF_INET6 one."""
    send(conn, frame(op, 0))
    listener = kept[-1]
    for family in (7, AF_INET6):
        app, mine = socket.socketpair()
        kept.append(mine)
        record = bytes([ACCEPT_MAGIC, 0, 0, 0]) + sockaddr6(4242, family=family)
        socket.send_fds(listener, [record], [app.fileno()])
        app.close()


CASES = {
    "len-zero": (OP_GETSOCKOPT, lambda c, op: send(c, frame(op, length=0))),
    "len-below-header": (OP_GETSOCKOPT, lambda c, op: send(c, frame(op, length=RESP_HEADER - 5))),
    "len-max": (OP_GETSOCKOPT, lambda c, op: send(c, frame(op, MAX_RESP_PAYLOAD, full_payload()))),
    "len-past-max": (OP_GETSOCKOPT, lambda c, op: send(c, frame(op, 0, full_payload() + b"x"))),
    "len-huge": (OP_GETSOCKOPT, lambda c, op: send(c, frame(op, length=0xFFFFFFFF) + b"\0" * 64)),
    "truncated-header": (OP_GETSOCKOPT, lambda c, op: send(c, frame(op)[:5])),
    "truncated-payload": (OP_GETSOCKOPT, lambda c, op: send(c, frame(op, 100, length=RESP_HEADER - 4 + 100) + b"\1" * 10)),
    "wrong-op": (OP_GETSOCKOPT, lambda c, op: send(c, frame(OP_SETSOCKOPT, 0))),
    "earlier-reply": (OP_GETSOCKOPT, lambda c, op: send(c, frame(OP_SOCKET, 0, b"\0" * 8))),
    "wrong-version": (OP_GETSOCKOPT, lambda c, op: send(c, frame(op, 4, b"\1\0\0\0", version=1))),
    "errno-out-of-range": (OP_GETSOCKOPT, lambda c, op: send(c, frame(op, -5000))),
    "errno-min": (OP_GETSOCKOPT, lambda c, op: send(c, frame(op, -(2**31)))),
    "more-than-asked": (OP_GETSOCKOPT, lambda c, op: send(c, frame(op, 100, b"\x5a" * 100))),
    "fd-on-getsockopt": (OP_GETSOCKOPT, lambda c, op: send(c, frame(op, 4, b"\1\0\0\0"), [spare_fd()])),
    "name-short": (OP_GETSOCKNAME, lambda c, op: send(c, frame(op, 0, b"\1\2"))),
    # A whole ZT_SOCKADDR of a family that is neither AF_INET nor AF_INET6.
    "name-bad-family": (OP_GETSOCKNAME, lambda c, op: send(c, frame(op, 0, sockaddr6(80, family=7)))),
    "accept-bad-family": (OP_LISTEN, accept_records),
    "socket-no-fd": (OP_SOCKET, lambda c, op: send(c, frame(op, 0, b"\0" * 8))),
    "socket-short-payload": (OP_SOCKET, lambda c, op: send(c, frame(op, 0, b"\0" * 4), [spare_fd()])),
    "socket-many-fds": (OP_SOCKET, lambda c, op: send(c, frame(op, 0, b"\0" * 8), [spare_fd() for _ in range(8)])),
    # Name ops: a payload that contradicts its result, a family not asked for, a NUL in a name, an
    # answer to another query, more addresses than the library keeps, the largest DNS answer.
    "resolve-count-mismatch": (OP_RESOLVE, lambda c, op: send(c, frame(op, 2, b"\x01a" + addr_entry(AF_INET)))),
    "resolve-wrong-family": (OP_RESOLVE, lambda c, op: send(c, frame(op, 1, b"\x01a" + addr_entry(AF_INET6)))),
    "resolve-nul-in-name": (OP_RESOLVE, lambda c, op: send(c, frame(op, 1, b"\x03a\0b" + addr_entry(AF_INET)))),
    "resolve-name-past-payload": (OP_RESOLVE, lambda c, op: send(c, frame(op, 0, b"\xffabc"))),
    "resolve-many": (OP_RESOLVE, lambda c, op: send(c, frame(op, 200, b"\x01a" + addr_entry(AF_INET) * 200))),
    "resolve-no-canonical": (OP_RESOLVE, lambda c, op: send(c, frame(op, 1, b"\x00" + addr_entry(AF_INET)))),
    "resolve-no-addresses": (OP_RESOLVE, lambda c, op: send(c, frame(op, 0, b"\x01a"))),
    "reverse-mismatch": (OP_REVERSE, lambda c, op: send(c, frame(op, 10, b"a.test"))),
    "reverse-empty": (OP_REVERSE, lambda c, op: send(c, frame(op, 0))),
    "dns-short": (OP_DNS_QUERY, lambda c, op: send(c, frame(op, 5, b"\0" * 5))),
    "dns-mismatch": (OP_DNS_QUERY, lambda c, op: send(c, frame(op, 100, dns_answer(40)))),
    "dns-wrong-id": (OP_DNS_QUERY, lambda c, op: send(c, frame(op, 12, b"\xff\xff" + dns_answer(12)[2:]))),
    "dns-max": (OP_DNS_QUERY, lambda c, op: send(c, frame(op, MAX_RESP_PAYLOAD, dns_answer(MAX_RESP_PAYLOAD)))),
    # Posted setsockopt calls (native/intercept/rpc.h zt_rpc_post): answers held back until the
    # next other request (the app must not wait for them), a wrong op, a payload on the answer.
    "posted-held": (OP_SETSOCKOPT, lambda c, op: held.append(frame(op, 0))),
    "posted-wrong-op": (OP_SETSOCKOPT, lambda c, op: send(c, frame(OP_GETSOCKOPT, 4, b"\1\0\0\0"))),
    "posted-payload": (OP_SETSOCKOPT, lambda c, op: send(c, frame(op, 4, b"\1\0\0\0"))),
    # A non-blocking connect under way with the filler asked for; the filler's report is posted.
    "posted-filled": (OP_CONNECT, lambda c, op: connect_in_progress(c, op)),
}

# Cases whose reply stops short: the connection is closed after it.
TRUNCATED = {"truncated-header", "truncated-payload"}

kept = []  # daemon ends of the socketpairs handed out
held = []  # replies held back ("posted-held"), sent before the next reply


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def serve(conn, target, answer, close_after):
    try:
        while True:
            head = read_exact(conn, 4)
            if head is None:
                return
            (length,) = struct.unpack("<I", head)
            body = read_exact(conn, length)
            if body is None:
                return
            op = body[1]
            last_request[0] = body[REQ_HEADER - 4 :]
            last_flags[0] = struct.unpack("<H", body[2:4])[0]
            if op == target:
                answer(conn, op)
                if close_after:
                    return
                continue
            while held:
                send(conn, held.pop(0))
            if op == OP_SOCKET:
                app, mine = socket.socketpair()
                kept.append(mine)
                send(conn, frame(op, 0, struct.pack("<Q", os.fstat(app.fileno()).st_ino)), [app.fileno()])
                app.close()
            elif op == OP_GETSOCKOPT:
                send(conn, frame(op, 4, b"\0\0\0\0"))
            else:
                send(conn, frame(op, 0))
    except OSError:
        pass
    finally:
        conn.close()


def connect_in_progress(conn, op):
    """CONNECT: EINPROGRESS asking for the filler; the report of it (ZT_F_FILLED) held back."""
    if last_flags[0] & F_FILLED:
        held.append(frame(op, 0))
    else:
        send(conn, frame(op, -EINPROGRESS, flags=RF_FILLER))


def main():
    path, case = sys.argv[1], sys.argv[2]
    target, answer = CASES[case]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(16)
    print("READY", flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, target, answer, case in TRUNCATED), daemon=True).start()


if __name__ == "__main__":
    main()
