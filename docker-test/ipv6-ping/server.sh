#!/bin/bash
# The server side of the ipv6-ping test: no app, only this container's daemon, whose stack answers
# the monitor's ICMPv6 echo requests to its rfc4193 address. Stays in the foreground as long as the
# daemon runs.
ZTNC_ROLE=server
. "$(dirname "$0")/../lib/common.sh"
zt_join
publish_server_ip6
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
log "daemon on $ZT_IP6 answers ICMPv6 echo on $NWID"
[ -n "${ZTNC_KERNEL_REFERENCE:-}" ] && exec sleep infinity
zt_wait_stopped
die "ztnc-service in $DAEMON_HOME stopped${ZTNC_ENDPOINT:+ (or its endpoint $ZTNC_ENDPOINT is gone)}"
