#!/bin/bash
# A python3 syslog receiver (receiver.py) under the intercept library in the server container, on
# a UDP port of its virtual address; what it receives lands in the shared directory for the
# monitor to read.
ZTNC_ROLE=server
. "$(dirname "$0")/../lib/common.sh"
zt_join
PORT="$(random_port)"
OUT="$ZTNC_SHARED/$ZTNC_TEST.received"
: > "$OUT"
rm -f "$ZTNC_WORK/ready"
(exec_in_container python3 "$(dirname "$0")/receiver.py" "$ZT_IP" "$PORT" "$OUT" "$ZTNC_WORK/ready") &
RECEIVER_PID=$!
trap 'kill $RECEIVER_PID 2>/dev/null; zt_stop' EXIT
wait_for "the receiver to bind $ZT_IP:$PORT" test -e "$ZTNC_WORK/ready"
publish "$ZTNC_TEST.port" "$PORT"
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
log "syslog receiver on $ZT_IP:$PORT (UDP) under the intercept library"
wait "$RECEIVER_PID"
