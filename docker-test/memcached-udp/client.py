"""memcached's UDP protocol as a client (protocol.txt, "UDP protocol"): every request is one
datagram with an 8-byte frame header (request id, sequence number, datagram count, reserved) and
the text command; an answer may span several datagrams, numbered, which the client puts back in
order. Checks, each printed as `ok <what>` or `FAILED <what>`:
- set then get of small values over UDP, 200 keys, each answer matched by its request id;
- a 6000-byte value set over TCP and read over UDP: its answer spans several datagrams, put back
  together by sequence number, SHA-256 equal;
- a value set over UDP read back over TCP;
- `stats` over UDP: memcached counts the UDP requests.
Usage: client.py <server ip> <port>"""
import hashlib
import os
import socket
import struct
import sys

HOST, PORT = sys.argv[1], int(sys.argv[2])
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.settimeout(3)
next_id = 0


def verdict(ok, what):
    print(("ok " if ok else "FAILED ") + what, flush=True)


def udp_request(command):
    """Sends one command, returns the whole answer (all its datagrams, in sequence order)."""
    global next_id
    next_id = (next_id + 1) & 0xFFFF
    rid = next_id
    for _attempt in range(3):
        udp.sendto(struct.pack("!HHHH", rid, 0, 1, 0) + command, (HOST, PORT))
        parts, total = {}, None
        try:
            while total is None or len(parts) < total:
                data, src = udp.recvfrom(65535)
                if src != (HOST, PORT) or len(data) < 8:
                    raise RuntimeError(f"answer from {src}, {len(data)} bytes")
                got_id, seq, count, _ = struct.unpack("!HHHH", data[:8])
                if got_id != rid:
                    continue  # a late answer to an earlier, retried request
                total = count
                parts[seq] = data[8:]
            return b"".join(parts[i] for i in range(total)), total
        except socket.timeout:
            continue
    raise RuntimeError(f"no answer to {command[:40]!r} after 3 tries")


def tcp_request(command, until):
    with socket.create_connection((HOST, PORT), timeout=10) as s:
        s.sendall(command)
        data = b""
        while not data.endswith(until):
            d = s.recv(65536)
            if not d:
                break
            data += d
        return data


# Small values over UDP.
good = 0
for i in range(200):
    value = os.urandom(16).hex().encode()
    stored, _ = udp_request(b"set k%d 0 0 %d\r\n%s\r\n" % (i, len(value), value))
    got, _ = udp_request(b"get k%d\r\n" % i)
    if stored == b"STORED\r\n" and got == b"VALUE k%d 0 %d\r\n%s\r\nEND\r\n" % (i, len(value), value):
        good += 1
verdict(good == 200, f"set then get of 200 small values over UDP, each answer by its request id ({good}/200)")

# A value bigger than one datagram: set over TCP, get over UDP.
big = os.urandom(3000).hex().encode()
stored = tcp_request(b"set big 0 0 %d\r\n%s\r\n" % (len(big), big), b"\r\n")
answer, datagrams = udp_request(b"get big\r\n")
prefix = b"VALUE big 0 %d\r\n" % len(big)
value = answer[len(prefix):-len(b"\r\nEND\r\n")] if answer.startswith(prefix) and answer.endswith(b"\r\nEND\r\n") else b""
verdict(
    stored == b"STORED\r\n" and hashlib.sha256(value).digest() == hashlib.sha256(big).digest() and datagrams > 1,
    f"a {len(big)}-byte value set over TCP, read over UDP in {datagrams} datagrams, SHA-256 "
    + ("equal" if value == big else "DIFFERENT"),
)

# Set over UDP, read over TCP.
value = b"from-udp-" + os.urandom(8).hex().encode()
stored, _ = udp_request(b"set fromudp 0 0 %d\r\n%s\r\n" % (len(value), value))
got = tcp_request(b"get fromudp\r\n", b"END\r\n")
verdict(stored == b"STORED\r\n" and got == b"VALUE fromudp 0 %d\r\n%s\r\nEND\r\n" % (len(value), value), "a value set over UDP reads back over TCP")

stats, _ = udp_request(b"stats\r\n")
fields = dict(line.split(b" ")[1:3] for line in stats.split(b"\r\n") if line.startswith(b"STAT "))
verdict(int(fields.get(b"cmd_get", b"0")) >= 201, f"stats over UDP: cmd_get {fields.get(b'cmd_get', b'?').decode()}, cmd_set {fields.get(b'cmd_set', b'?').decode()}")
