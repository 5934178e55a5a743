#!/bin/bash
# iperf3 -s under the intercept library in the server container, on its rfc4193 address: the TCP
# control connection, the TCP and the UDP test streams all over IPv6.
ZTNC_ROLE=server
. "$(dirname "$0")/../lib/common.sh"
zt_join
publish_server_ip6
PORT="$(random_port)"
publish "$ZTNC_TEST.port" "$PORT"
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
log "iperf3 -s on [$ZT_IP6]:$PORT under the intercept library"
exec_in_container iperf3 -s -B "$ZT_IP6" -p "$PORT"
