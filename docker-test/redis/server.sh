#!/bin/bash
# redis-server under the intercept library in the server container.
ZTNC_ROLE=server
. "$(dirname "$0")/../lib/common.sh"
zt_join
PORT="$(random_port)"
DIR="$ZTNC_WORK/redis"
mkdir -p "$DIR"
publish "$ZTNC_TEST.port" "$PORT"
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
log "redis-server on $ZT_IP:$PORT under the intercept library"
exec_in_container redis-server --port "$PORT" --bind "$ZT_IP" --protected-mode no --save '' --appendonly no --dir "$DIR"
