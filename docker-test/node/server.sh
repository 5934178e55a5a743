#!/bin/bash
# A node http server and a net echo server under the intercept library in the server container.
ZTNC_ROLE=server
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/http.sh"
zt_join
PORT="$(random_port)"
ECHO_PORT=$((PORT + 1))
WWW="$ZTNC_WORK/www"
http_prepare_www "$WWW"
publish "$ZTNC_TEST.port" "$PORT"
publish "$ZTNC_TEST.echo-port" "$ECHO_PORT"
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
log "node http on $ZT_IP:$PORT and echo on $ECHO_PORT under the intercept library"
exec_in_container node "$DOCKER_TEST_DIR/node/server.mjs" "$ZT_IP" "$PORT" "$ECHO_PORT" "$WWW"
