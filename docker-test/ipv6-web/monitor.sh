#!/bin/bash
# Clients under the library in the monitor container, each in an empty network namespace of its
# own (in_client), against nginx's one listener on [::]:
# - curl -6 to the server's rfc4193 address: a 10 MB file (SHA-256 equal), 50 concurrent clients,
#   keep-alive reuse; nginx saw the monitor's rfc4193 address and its own ($remote_addr $server_addr);
# - by name: web6.<dns domain> resolves to the rfc4193 address (getent ahostsv6: the AAAA record the
#   controller pushes), and curl -6 by name fetches a file from that address (SHA-256 equal);
# - curl -4 to the server's IPv4 address reaches the same [::] listener: a file (SHA-256 equal), and
#   nginx saw the client as ::ffff:<monitor's IPv4> on ::ffff:<its IPv4>.
# The kernel reference runs it over ::1 and 127.0.0.1, and by name only when the host's
# /etc/hosts gives localhost the address ::1.
ZTNC_ROLE=monitor
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/http.sh"
trap zt_stop EXIT
zt_join
http_wait_server6
http_check_fetch
http_check_concurrent
http_check_keepalive
expect_equal "nginx on [::]:$SERVER_PORT saw the IPv6 client (curl -6 GET $BASE_URL/peer: \$remote_addr \$server_addr)" \
  "$(in_client curl -6 -sS --fail --max-time 30 "$BASE_URL/peer" 2>&1)" "$ZT_IP6 $SERVER_IP6"

SMALL_SHA="$(published "$ZTNC_TEST.small.sha256")"
# curl_small <what> <curl args…>: fetches small.bin, checks its SHA-256 and the address curl used.
curl_small() {
  local what="$1" expect_ip="$2" got; shift 2
  rm -f "$ZTNC_WORK/small.bin"
  got="$(in_client curl -sS --fail --max-time 60 -o "$ZTNC_WORK/small.bin" -w '%{remote_ip}' "$@" 2>"$ZTNC_WORK/curl.err")"
  if [ -s "$ZTNC_WORK/small.bin" ]; then
    expect_equal "$what: SHA-256 and the address curl reached" "$(sha256_of "$ZTNC_WORK/small.bin") $got" "$SMALL_SHA $expect_ip"
  else
    fail "$what: $(tr '\n' ' ' < "$ZTNC_WORK/curl.err")"
  fi
}

URL4="http://$SERVER_IP:$SERVER_PORT"
curl_small "curl -4 GET $URL4/small.bin (the [::] listener, over IPv4)" "$SERVER_IP" -4 "$URL4/small.bin"
expect_equal "nginx on [::]:$SERVER_PORT saw the IPv4 client as v4-mapped (curl -4 GET $URL4/peer: \$remote_addr \$server_addr)" \
  "$(in_client curl -4 -sS --fail --max-time 30 "$URL4/peer" 2>&1)" "::ffff:$ZT_IP ::ffff:$SERVER_IP"

NAME="web6.$ZTNC_DNS_DOMAIN"
if [ -n "${ZTNC_KERNEL_REFERENCE:-}" ]; then
  NAME=localhost
  getent ahostsv6 localhost 2>/dev/null | awk '{print $1}' | grep -qx '::1' || NAME=
fi
if [ -z "$NAME" ]; then
  note "no name check over the kernel's loopback: the host's /etc/hosts does not give localhost ::1"
else
  aaaa() { in_client getent ahostsv6 "$NAME" 2>/dev/null | awk '{print $1}' | sort -u; }
  name_resolves6() { [ "$(aaaa)" = "$SERVER_IP6" ]; }
  # The name comes with the controller's next config push.
  retry_for 30 name_resolves6
  expect_equal "getent ahostsv6 $NAME (AAAA)" "$(aaaa)" "$SERVER_IP6"
  curl_small "curl -6 GET http://$NAME:$SERVER_PORT/small.bin (by name)" "$SERVER_IP6" -6 "http://$NAME:$SERVER_PORT/small.bin"
fi
note_stderr curl "$ZTNC_WORK/curl.err"
finish
