"""A syslog receiver over UDP (RFC 5426: one message per datagram): binds <ip>:<port>, says so by
creating <ready file>, then appends every message to <out file> as one line,
"<sender ip> <message>" (line breaks in a message escaped).
Usage: receiver.py <ip> <port> <out file> <ready file>"""
import socket
import sys

ip, port, out, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((ip, port))
open(ready, "w").close()
with open(out, "a", buffering=1) as f:
    while True:
        data, (src, _) = s.recvfrom(65535)
        f.write(src + " " + data.decode("utf-8", "replace").replace("\n", "\\n") + "\n")
