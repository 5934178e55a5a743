#!/bin/bash
# Two dual-stack servers on :: under the intercept library in the server container: a python HTTP
# server (server.py, IPV6_V6ONLY 0) and a node http + net echo server (server.mjs). Each HTTP
# server answers GET /peer with the client's address as it saw it.
ZTNC_ROLE=server
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/http.sh"
PY_PID=
cleanup() { [ -n "$PY_PID" ] && kill "$PY_PID" 2>/dev/null; zt_stop; }
trap cleanup EXIT
zt_join
publish_server_ip6
PY_PORT="$(random_port)"
NODE_PORT=$((PY_PORT + 1))
ECHO_PORT=$((PY_PORT + 2))
WWW="$ZTNC_WORK/www"
http_prepare_www "$WWW"
here="$(dirname "$0")"
log "python http on [::]:$PY_PORT, node http on [::]:$NODE_PORT and echo on [::]:$ECHO_PORT ($ZT_IP6, $ZT_IP) under the intercept library"
(exec_in_container python3 "$here/server.py" "$PY_PORT" "$WWW") >"$ZTNC_WORK/python.log" 2>&1 &
PY_PID=$!
publish "$ZTNC_TEST.ports" "$PY_PORT $NODE_PORT $ECHO_PORT"
publish "$ZTNC_TEST.port" "$PY_PORT"
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
in_container node "$here/server.mjs" "$NODE_PORT" "$ECHO_PORT" "$WWW"
