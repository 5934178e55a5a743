#!/bin/bash
# socat under the library on both sides, UDP both ways, in an empty network namespace of its own
# on the monitor's side (in_client):
# - echo: single datagrams of 1, 1473 (one byte over a 1500-byte MTU's UDP payload: fragments),
#   8000 and 65507 bytes (the largest) come back whole and equal;
# - upload: 256 KB as 1400-byte datagrams (paced), SHA-256 equal at the server;
# - download: the server's socat sends 256 KB to a socat receiving here, SHA-256 equal.
ZTNC_ROLE=monitor
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/socat-udp.sh"
RECV_PID=
cleanup() { [ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null; zt_stop; }
trap cleanup EXIT
zt_join
wait_server_address
ECHO_PORT=$((SERVER_PORT + 1))
# echo_of <file>: one datagram holding the file, what came back on stdout (socat waits 1 s for it).
echo_of() { in_client socat -b 65536 -t 1 STDIO "UDP4:$SERVER_IP:$ECHO_PORT" < "$1"; }
echo_answers() { printf 'x' > "$ZTNC_WORK/probe"; [ "$(echo_of "$ZTNC_WORK/probe")" = x ]; }
wait_for "socat's echo at $SERVER_IP:$ECHO_PORT" echo_answers

for n in 1 1473 8000 65507; do
  make_payload "$ZTNC_WORK/dgram.$n" "$n"
  echo_of "$ZTNC_WORK/dgram.$n" > "$ZTNC_WORK/back.$n" 2>>"$ZTNC_WORK/socat.err"
  expect_equal "a $n-byte datagram echoed by socat: bytes and SHA-256" \
    "$(stat -c %s "$ZTNC_WORK/back.$n") $(sha256_of "$ZTNC_WORK/back.$n")" "$n $(sha256_of "$ZTNC_WORK/dgram.$n")"
done

make_payload "$ZTNC_WORK/up.bin" "$UDP_PAYLOAD_BYTES"
publish "$ZTNC_TEST.up.size" "$UDP_PAYLOAD_BYTES"
paced_send "$ZTNC_WORK/up.bin" "$SERVER_IP" "$SERVER_PORT" 2>>"$ZTNC_WORK/socat.err"
wait_published "$ZTNC_TEST.up.got"
expect_equal "socat upload of $UDP_PAYLOAD_BYTES bytes in $UDP_DATAGRAM-byte datagrams: bytes and SHA-256 at the server" \
  "$(published "$ZTNC_TEST.up.got")" "$UDP_PAYLOAD_BYTES $(sha256_of "$ZTNC_WORK/up.bin")"

RECV_PORT="$(random_port)"
(exec_in_client socat -u -b 65536 "UDP4-RECV:$RECV_PORT,bind=$ZT_IP" OPEN:"$ZTNC_WORK/down.bin",creat,trunc) 2>>"$ZTNC_WORK/socat.err" &
RECV_PID=$!
# socat binds at once; give it a moment before the server sends.
sleep 0.5
publish "$ZTNC_TEST.down.to" "$ZT_IP $RECV_PORT"
wait_published "$ZTNC_TEST.down.sent"
wait_size "$ZTNC_WORK/down.bin" "$UDP_PAYLOAD_BYTES"
expect_equal "socat download of $UDP_PAYLOAD_BYTES bytes from the server: bytes and SHA-256" \
  "$(stat -c %s "$ZTNC_WORK/down.bin" 2>/dev/null) $(sha256_of "$ZTNC_WORK/down.bin" 2>/dev/null)" "$UDP_PAYLOAD_BYTES $(published "$ZTNC_TEST.down.sha256")"
note_stderr socat "$ZTNC_WORK/socat.err"
finish
