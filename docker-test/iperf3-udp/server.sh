#!/bin/bash
# iperf3 -s under the intercept library in the server container: its TCP control connection and
# the UDP test streams on one port of its virtual address.
ZTNC_ROLE=server
. "$(dirname "$0")/../lib/common.sh"
zt_join
PORT="$(random_port)"
publish "$ZTNC_TEST.port" "$PORT"
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
log "iperf3 -s on $ZT_IP:$PORT under the intercept library"
exec_in_container iperf3 -s -B "$ZT_IP" -p "$PORT"
