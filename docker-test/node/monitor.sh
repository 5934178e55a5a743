#!/bin/bash
# curl under the library fetches 10 MB from the node http server (SHA-256 equal); a node client
# under the library sends 10 MB to the node echo server and gets the same bytes back.
ZTNC_ROLE=monitor
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/http.sh"
trap zt_stop EXIT
zt_join
http_wait_server
http_check_fetch
wait_published "$ZTNC_TEST.echo-port"
ECHO_PORT="$(published "$ZTNC_TEST.echo-port")"
make_payload "$ZTNC_WORK/echo.bin"
if got="$(in_container node "$DOCKER_TEST_DIR/node/echo-client.mjs" "$SERVER_IP" "$ECHO_PORT" "$ZTNC_WORK/echo.bin" 2>&1)"; then
  expect_equal "echo of 10 MB through $SERVER_IP:$ECHO_PORT: SHA-256 and length" "$got" "$(sha256_of "$ZTNC_WORK/echo.bin") $PAYLOAD_BYTES"
else
  fail "echo client: $got"
fi
finish
