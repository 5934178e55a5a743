#!/bin/bash
# IPv4 and IPv6 clients under the library in the monitor container (each in an empty network
# namespace of its own, in_client) against the two dual-stack servers on :: (python and node):
# - curl -6 to the server's rfc4193 address fetches a 10 MB file from each, SHA-256 equal;
# - each server's socket saw the IPv6 client as the monitor's rfc4193 address on its own, and the
#   IPv4 client (curl -4 to the server's IPv4 address) as ::ffff:<monitor's IPv4> on
#   ::ffff:<server's IPv4> (GET /peer);
# - clients of the other language: node http.get (family 6 and 4) to the python server, python
#   sockets (AF_INET6 and AF_INET) to the node server, same answers;
# - node's echo server on :: returns 10 MB a node client sends it over IPv6.
# The kernel reference runs it over ::1 and 127.0.0.1.
ZTNC_ROLE=monitor
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/http.sh"
trap zt_stop EXIT
zt_join
wait_server_address
wait_server_address6
wait_published "$ZTNC_TEST.ports"
read -r PY_PORT NODE_PORT ECHO_PORT <<< "$(published "$ZTNC_TEST.ports")"
HTTP_CLIENT=in_client
HTTP_CURL_ARGS=(-6)
PEER6="$ZT_IP6 $SERVER_IP6"
PEER4="::ffff:$ZT_IP ::ffff:$SERVER_IP"

# GET /peer by a node client: node_peer <host> <port> <family>
node_peer() {
  in_client node -e '
    const [host, port, family] = process.argv.slice(1);
    require("http").get({ host, port: Number(port), family: Number(family), path: "/peer" }, (res) => {
      let s = ""; res.on("data", (d) => (s += d)).on("end", () => process.stdout.write(s.trim()));
    }).on("error", (e) => { console.log("error", e.code || e.message); process.exit(1); });' "$@" 2>&1
}
# GET /peer by a python client over a socket of the address's family: python_peer <host> <port>
python_peer() {
  in_client python3 -c '
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(family, socket.SOCK_STREAM); s.settimeout(20); s.connect((host, port))
s.sendall(b"GET /peer HTTP/1.0\r\nHost: x\r\n\r\n")
data = b""
while True:
    d = s.recv(65536)
    if not d: break
    data += d
print(data.split(b"\r\n\r\n", 1)[1].decode().strip())' "$@" 2>&1 | tail -n 1
}

for server in python node; do
  if [ "$server" = python ]; then port="$PY_PORT"; else port="$NODE_PORT"; fi
  BASE_URL="http://[$SERVER_IP6]:$port"
  wait_or_fail "the $server server at $BASE_URL" in_client curl -6 -sS --fail --max-time 5 -o /dev/null "$BASE_URL/small.bin"
  http_check_fetch
  expect_equal "$server on [::]:$port saw the IPv6 client (curl -6 GET $BASE_URL/peer)" \
    "$(in_client curl -6 -sS --fail --max-time 30 "$BASE_URL/peer" 2>&1)" "$PEER6"
  expect_equal "$server on [::]:$port saw the IPv4 client as v4-mapped (curl -4 GET http://$SERVER_IP:$port/peer)" \
    "$(in_client curl -4 -sS --fail --max-time 30 "http://$SERVER_IP:$port/peer" 2>&1)" "$PEER4"
done
expect_equal "python on [::]:$PY_PORT, node http.get family 6 to $SERVER_IP6" "$(node_peer "$SERVER_IP6" "$PY_PORT" 6)" "$PEER6"
expect_equal "python on [::]:$PY_PORT, node http.get family 4 to $SERVER_IP" "$(node_peer "$SERVER_IP" "$PY_PORT" 4)" "$PEER4"
expect_equal "node on [::]:$NODE_PORT, python AF_INET6 socket to $SERVER_IP6" "$(python_peer "$SERVER_IP6" "$NODE_PORT")" "$PEER6"
expect_equal "node on [::]:$NODE_PORT, python AF_INET socket to $SERVER_IP" "$(python_peer "$SERVER_IP" "$NODE_PORT")" "$PEER4"

make_payload "$ZTNC_WORK/echo.bin"
if got="$(in_client node "$DOCKER_TEST_DIR/node/echo-client.mjs" "$SERVER_IP6" "$ECHO_PORT" "$ZTNC_WORK/echo.bin" 2>&1)"; then
  expect_equal "node echo on [::]:$ECHO_PORT: 10 MB over IPv6 from $ZT_IP6, SHA-256 and length" "$got" "$(sha256_of "$ZTNC_WORK/echo.bin") $PAYLOAD_BYTES"
else
  fail "node echo client to [$SERVER_IP6]:$ECHO_PORT: $got"
fi
note_stderr curl "$ZTNC_WORK/curl.err"
finish
