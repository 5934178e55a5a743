#!/bin/bash
# redis-server and OpenSSH sshd (privilege separation, as the sshd row) under the intercept
# library in the server container, both listening on the member's rfc4193 address only: redis on
# the published port, sshd on the next one.
ZTNC_ROLE=server
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sshd.sh"
REDIS_PID=
cleanup() { [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null; zt_stop; }
trap cleanup EXIT
zt_join
publish_server_ip6
PORT="$(random_port)"
SSH_PORT=$((PORT + 1))
mkdir -p "$ZTNC_WORK/redis"
log "redis-server on [$ZT_IP6]:$PORT under the intercept library"
(exec_in_container redis-server --port "$PORT" --bind "$ZT_IP6" --protected-mode no --save '' --appendonly no --dir "$ZTNC_WORK/redis") \
  >"$ZTNC_WORK/redis.log" 2>&1 &
REDIS_PID=$!

D="$ZTNC_WORK/sshd"
sshd_prepare "$D" "$SSH_PORT" "ListenAddress $ZT_IP6
AddressFamily inet6"
publish "$ZTNC_TEST.ssh-port" "$SSH_PORT"
publish "$ZTNC_TEST.port" "$PORT"
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
log "sshd on [$ZT_IP6]:$SSH_PORT under the intercept library"
in_container /usr/sbin/sshd -D -e -f "$D/sshd_config"
