#!/usr/bin/env python3
"""
A stand-in for the daemon's name service in the library's name tests: answers the netcon name ops
(RESOLVE, REVERSE, DNS_QUERY of native/intercept/proto.h) from a JSON table, logs every name request
it gets, and serves the same table as a DNS server for the glibc reference runs.

  names_daemon.py rpc <socket path> <table.json> <log file> [<upstream socket>]
      the netcon RPC; other ops go to the upstream daemon when given (descriptors passed on), else
      fail with -ENETDOWN. Prints READY once listening.
  names_daemon.py dns <address> <table.json>
      a DNS server on <address> port 53, UDP and TCP (in a network namespace of the test's own).

Table: {"names": {name: {"canonical": c, "addrs": [..]} | {"errno": "ENODATA"|"EAGAIN"}},
        "reverse": {address: name}, "txt": {name: bytes of TXT data}}. A name not in it: no such name.
"""
import errno
import ipaddress
import json
import os
import socket
import struct
import sys
import threading

VERSION, REQ_HEADER, RESP_HEADER = 2, 16, 12
MAX_FRAME = 4096 + REQ_HEADER  # proto.h ZT_MAX_FRAME
OP_SOCKET, OP_RESOLVE, OP_REVERSE, OP_DNS_QUERY = 1, 11, 12, 13
AF_INET, AF_INET6 = 2, 10
T_A, T_CNAME, T_PTR, T_TXT, T_AAAA = 1, 5, 12, 16, 28

table = {}
log_lock = threading.Lock()
log_path = None


def log(entry):
    with log_lock, open(log_path, "a") as f:
        f.write(json.dumps(entry) + "\n")


def entry_of(name):
    for key, value in table.get("names", {}).items():
        if key.lower() == name.lower():
            return value
    return None


def addrs_of(entry, family):
    out = []
    for text in entry.get("addrs", []):
        ip = ipaddress.ip_address(text)
        fam = AF_INET if ip.version == 4 else AF_INET6
        if family in (0, fam):
            out.append((fam, ip.packed))
    return out


def lookup(name, family):
    """(canonical, [(family, bytes)]) or a negative errno."""
    entry = entry_of(name)
    if entry is None:
        return -errno.ENOENT
    if "errno" in entry:
        return -getattr(errno, entry["errno"])
    found = addrs_of(entry, family)
    if not found:
        return -errno.ENODATA
    return entry.get("canonical", name), found


# --- DNS messages (RFC 1035) -------------------------------------------------------------------


def read_name(msg, off):
    labels = []
    while True:
        n = msg[off]
        if n == 0:
            return ".".join(labels), off + 1
        labels.append(msg[off + 1 : off + 1 + n].decode("ascii", "replace"))
        off += 1 + n


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def reverse_name_to_addr(qname):
    labels = qname.rstrip(".").lower().split(".")
    if labels[-2:] == ["in-addr", "arpa"] and len(labels) == 6:
        return ".".join(reversed(labels[:4]))
    if labels[-2:] == ["ip6", "arpa"] and len(labels) == 34:
        nibbles = "".join(reversed(labels[:32]))
        return str(ipaddress.ip_address(bytes.fromhex(nibbles)))
    return None


def answer_dns(query):
    """The answer message to one query, or None to stay silent (an EAGAIN name)."""
    qid, flags, qd = struct.unpack(">HHH", query[:6])
    qname, off = read_name(query, 12)
    qtype, qclass = struct.unpack(">HH", query[off : off + 4])
    question = query[12 : off + 4]
    records, rcode = [], 0
    if qtype == T_PTR:
        addr = reverse_name_to_addr(qname)
        name = table.get("reverse", {}).get(addr) if addr else None
        if name is not None and (entry_of(name) or {}).get("errno") == "EAGAIN":
            return None
        if name is None:
            rcode = 3
        else:
            records.append((b"\xc0\x0c", T_PTR, encode_name(name)))
    else:
        entry = entry_of(qname)
        if entry is None:
            rcode = 3
        elif entry.get("errno") == "EAGAIN":
            return None
        elif qtype in (T_A, T_AAAA):
            # A name with another canonical name: a CNAME to it, then its addresses under that name.
            canonical = entry.get("canonical", qname)
            owner = b"\xc0\x0c"
            if canonical.lower() != qname.lower():
                records.append((owner, T_CNAME, encode_name(canonical)))
                owner = encode_name(canonical)
            for fam, packed in addrs_of(entry, AF_INET if qtype == T_A else AF_INET6):
                records.append((owner, qtype, packed))
        elif qtype == T_TXT and qname.lower() in table.get("txt", {}):
            data = bytes((i * 7 + 1) % 26 + 97 for i in range(table["txt"][qname.lower()]))
            chunks = b"".join(bytes([len(data[i : i + 255])]) + data[i : i + 255] for i in range(0, len(data), 255))
            records.append((b"\xc0\x0c", T_TXT, chunks))
    out = struct.pack(">HHHHHH", qid, 0x8180 | rcode | (flags & 0x0100), 1, len(records), 0, 0) + question
    for owner, rtype, rdata in records:
        out += owner + struct.pack(">HHIH", rtype, 1, 60, len(rdata)) + rdata
    return out


# --- the netcon RPC ----------------------------------------------------------------------------


def frame(op, result=0, payload=b""):
    return struct.pack("<IBBHi", RESP_HEADER - 4 + len(payload), VERSION, op, 0, result) + payload


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def name_op(op, payload):
    if op == OP_RESOLVE:
        family, name = payload[0], payload[1:].decode("utf-8", "replace")
        log({"op": "RESOLVE", "family": family, "name": name})
        got = lookup(name, family)
        if isinstance(got, int):
            return frame(op, got)
        canonical, addrs = got
        c = canonical.encode()
        body = bytes([len(c)]) + c + b"".join(bytes([f]) + a.ljust(16, b"\0") for f, a in addrs)
        return frame(op, len(addrs), body)
    if op == OP_REVERSE:
        family = payload[0]
        addr = str(ipaddress.ip_address(payload[1 : 1 + (4 if family == AF_INET else 16)]))
        log({"op": "REVERSE", "family": family, "addr": addr})
        name = table.get("reverse", {}).get(addr)
        entry = entry_of(name) if name else None
        if entry and entry.get("errno") == "EAGAIN":
            return frame(op, -errno.EAGAIN)
        if name is None:
            return frame(op, -errno.ENOENT)
        return frame(op, len(name.encode()), name.encode())
    qname, off = read_name(payload, 12)
    log({"op": "DNS_QUERY", "name": qname, "type": struct.unpack(">H", payload[off : off + 2])[0]})
    answer = answer_dns(payload)
    if answer is None:
        return frame(op, -errno.EAGAIN)
    return frame(op, len(answer), answer)


def serve(conn, upstream_path):
    upstream = None
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
            if op in (OP_RESOLVE, OP_REVERSE, OP_DNS_QUERY):
                conn.sendall(name_op(op, body[REQ_HEADER - 4 :]))
                continue
            if upstream_path is None:
                conn.sendall(frame(op, -errno.ENETDOWN))
                continue
            if upstream is None:
                upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                upstream.connect(upstream_path)
            upstream.sendall(head + body)
            # The reply: header, payload, and any descriptor (SOCKET) passed on.
            data, fds, _, _ = socket.recv_fds(upstream, RESP_HEADER, 4)
            while len(data) < RESP_HEADER:
                more, more_fds, _, _ = socket.recv_fds(upstream, RESP_HEADER - len(data), 4)
                if not more:
                    return
                data += more
                fds += more_fds
            (rlen,) = struct.unpack("<I", data[:4])
            rest = read_exact(upstream, rlen - (RESP_HEADER - 4)) if rlen > RESP_HEADER - 4 else b""
            if fds:
                socket.send_fds(conn, [data + rest], fds)
                for fd in fds:
                    os.close(fd)
            else:
                conn.sendall(data + rest)
    except OSError:
        pass
    finally:
        conn.close()
        if upstream:
            upstream.close()


def serve_rpc(path, upstream_path):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(64)
    print("READY", flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, upstream_path), daemon=True).start()


def serve_dns(address):
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((address, 53))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((address, 53))
    tcp.listen(16)

    def tcp_loop():
        while True:
            conn, _ = tcp.accept()
            try:
                while True:
                    head = read_exact(conn, 2)
                    if head is None:
                        break
                    query = read_exact(conn, struct.unpack(">H", head)[0])
                    answer = answer_dns(query)
                    if answer is not None:
                        conn.sendall(struct.pack(">H", len(answer)) + answer)
            except OSError:
                pass
            conn.close()

    threading.Thread(target=tcp_loop, daemon=True).start()
    print("READY", flush=True)
    while True:
        query, peer = udp.recvfrom(4096)
        answer = answer_dns(query)
        if answer is None:
            continue
        if len(answer) > 512:  # no EDNS0 in the queries: cut, as a server does (TC set)
            answer = answer[:2] + bytes([answer[2] | 0x02]) + answer[3:6] + b"\0\0\0\0\0\0" + answer[12:12 + len(query) - 12]
        udp.sendto(answer, peer)


def main():
    global table, log_path
    mode = sys.argv[1]
    if mode == "rpc":
        path, table_path, log_path = sys.argv[2], sys.argv[3], sys.argv[4]
        table = json.load(open(table_path))
        serve_rpc(path, sys.argv[5] if len(sys.argv) > 5 else None)
    else:
        table = json.load(open(sys.argv[3]))
        serve_dns(sys.argv[2])


if __name__ == "__main__":
    main()
