#!/bin/bash
# curl as the client, and what a container must not reach or expose:
# - curl under the library reaches the server in the other container by its virtual IP;
# - curl under the library to a stock server on the host loopback is refused;
# - curl under the library to the server's port on loopback is refused (it is not on the host);
# - nothing listens on the host at the server's port (ss -ltn).
ZTNC_ROLE=monitor
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/http.sh"
HOST_SERVER_PID=
cleanup() { [ -n "$HOST_SERVER_PID" ] && kill "$HOST_SERVER_PID" 2>/dev/null; zt_stop; }
trap cleanup EXIT
zt_join
http_wait_server
http_check_fetch

# A stock server on the host's loopback, without the library.
mkdir -p "$ZTNC_WORK/host-www"
echo "host loopback page" > "$ZTNC_WORK/host-www/index.html"
for attempt in 1 2 3 4 5; do
  HOST_PORT="$(random_port)"
  python3 -m http.server "$HOST_PORT" --bind 127.0.0.1 --directory "$ZTNC_WORK/host-www" >"$ZTNC_WORK/host-server.log" 2>&1 &
  HOST_SERVER_PID=$!
  host_up() { curl -sS --fail --max-time 2 -o /dev/null "http://127.0.0.1:$HOST_PORT/index.html"; }
  end=$((SECONDS + 20))
  until host_up 2>/dev/null || ! kill -0 "$HOST_SERVER_PID" 2>/dev/null || [ "$SECONDS" -ge "$end" ]; do sleep 0.2; done
  host_up 2>/dev/null && break
  kill "$HOST_SERVER_PID" 2>/dev/null; HOST_SERVER_PID=
done
if [ -z "$HOST_SERVER_PID" ]; then
  fail "could not start a stock server on the host loopback"
else
  pass "a stock server answers plain curl on the host at 127.0.0.1:$HOST_PORT"
  if out="$(in_container curl -sS --fail --max-time 10 "http://127.0.0.1:$HOST_PORT/index.html" 2>&1)"; then
    fail "curl under the library reached the host's loopback server: $out"
  else
    pass "curl under the library to the host's loopback server 127.0.0.1:$HOST_PORT is refused ($(echo "$out" | head -n1))"
  fi
fi

if out="$(in_container curl -sS --fail --max-time 10 -o /dev/null "http://127.0.0.1:$SERVER_PORT/small.bin" 2>&1)"; then
  fail "curl under the library reached the other container's server on loopback port $SERVER_PORT"
else
  pass "the other container's server is reachable by its virtual IP only (127.0.0.1:$SERVER_PORT refused: $(echo "$out" | head -n1))"
fi

listening="$(ss -ltnH "( sport = :$SERVER_PORT )" 2>&1)"
if [ -z "$listening" ]; then
  pass "nothing listens on the host at port $SERVER_PORT (ss -ltn)"
else
  fail "the host has a listener at port $SERVER_PORT: $listening"
fi
finish
