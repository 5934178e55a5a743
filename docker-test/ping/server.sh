#!/bin/bash
# The server side of the ping test: no app, only this container's daemon, whose stack answers
# the monitor's echo requests. Stays in the foreground as long as the daemon runs.
ZTNC_ROLE=server
. "$(dirname "$0")/../lib/common.sh"
zt_join
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
log "daemon on $ZT_IP answers pings on $NWID"
[ -n "${ZTNC_KERNEL_REFERENCE:-}" ] && exec sleep infinity
zt_wait_stopped
die "ztnc-service in $DAEMON_HOME stopped${ZTNC_ENDPOINT:+ (or its endpoint $ZTNC_ENDPOINT is gone)}"
