#!/bin/bash
# socat under the intercept library in the server container:
# - port P receives the monitor's upload (UDP4-RECV into a file); once the announced size has
#   arrived its SHA-256 is handed back;
# - port P+1 echoes every datagram to its sender (UDP4-RECVFROM with fork: a process per datagram);
# - when the monitor hands over its own receiving port, socat sends it a file (the download).
ZTNC_ROLE=server
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/socat-udp.sh"
PIDS=
cleanup() { kill $PIDS 2>/dev/null; zt_stop; }
trap cleanup EXIT
zt_join
PORT="$(random_port)"
(exec_in_container socat -u -b 65536 "UDP4-RECV:$PORT,bind=$ZT_IP" OPEN:"$ZTNC_WORK/up.bin",creat,trunc) 2>"$ZTNC_WORK/recv.err" &
PIDS="$PIDS $!"
(exec_in_container socat -b 65536 "UDP4-RECVFROM:$((PORT + 1)),bind=$ZT_IP,fork" PIPE) 2>"$ZTNC_WORK/echo.err" &
PIDS="$PIDS $!"
make_payload "$ZTNC_WORK/down.bin" "$UDP_PAYLOAD_BYTES"
publish "$ZTNC_TEST.down.sha256" "$(sha256_of "$ZTNC_WORK/down.bin")"
publish "$ZTNC_TEST.port" "$PORT"
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
log "socat on $ZT_IP:$PORT (receive) and $((PORT + 1)) (echo) under the intercept library"

wait_published "$ZTNC_TEST.up.size"
if wait_size "$ZTNC_WORK/up.bin" "$(published "$ZTNC_TEST.up.size")"; then
  publish "$ZTNC_TEST.up.got" "$(stat -c %s "$ZTNC_WORK/up.bin") $(sha256_of "$ZTNC_WORK/up.bin")"
else
  publish "$ZTNC_TEST.up.got" "$(stat -c %s "$ZTNC_WORK/up.bin" 2>/dev/null || echo 0) incomplete"
fi

wait_published "$ZTNC_TEST.down.to"
read -r TO_IP TO_PORT <<< "$(published "$ZTNC_TEST.down.to")"
log "sending $UDP_PAYLOAD_BYTES bytes to $TO_IP:$TO_PORT"
paced_send "$ZTNC_WORK/down.bin" "$TO_IP" "$TO_PORT"
publish "$ZTNC_TEST.down.sent" yes
wait $PIDS
