#!/bin/bash
# ngtcp2's HTTP/3 client (gtlsclient) under the library in another container fetches over QUIC:
# - the 1 MB file, SHA-256 equal;
# - the same file on 3 streams of one connection, each copy's SHA-256 equal.
# gtlsclient picks its source address by asking the kernel's routing table (netlink
# RTM_GETROUTE) and binds it; netlink is not the virtual network's, so the client runs in an empty
# network namespace of its own whose only route sends the server's address out of lo with this
# container's address as the source: the lookup answers what the virtual network would, and a
# socket the library did not carry would still reach nothing outside that namespace.
ZTNC_ROLE=monitor
. "$(dirname "$0")/../lib/common.sh"
trap zt_stop EXIT
zt_join
wait_server_address
SHA="$(published "$ZTNC_TEST.sha256")"
URL="https://$SERVER_IP:$SERVER_PORT/blob.bin"
# quic_client <gtlsclient args…>
quic_client() {
  if [ -n "${ZTNC_KERNEL_REFERENCE:-}" ]; then
    timeout -k 5 "${ZTNC_CLIENT_TIMEOUT:-60}" gtlsclient "$@"
    return
  fi
  library_command
  timeout -k 5 "${ZTNC_CLIENT_TIMEOUT:-60}" unshare -n bash -c 'ip link set lo up && ip addr add "$2/32" dev lo && ip route add "$1/32" dev lo src "$2" || exit 99
    shift 2; exec "$@"' _ "$SERVER_IP" "$ZT_IP" "${LIBRARY_COMMAND[@]}" gtlsclient "$@"
}
# fetch <dir> [<gtlsclient args…>]: downloads $URL into <dir>.
fetch() {
  local dir="$1"; shift
  rm -rf "$dir"; mkdir -p "$dir"
  quic_client -q --exit-on-all-streams-close --timeout=10s --download="$dir" "$@" "$SERVER_IP" "$SERVER_PORT" "$URL"
}
wait_for "gtlsserver at $SERVER_IP:$SERVER_PORT/udp" fetch "$ZTNC_WORK/probe"
fetch "$ZTNC_WORK/one" 2>"$ZTNC_WORK/client.err"
expect_equal "HTTP/3 over QUIC: gtlsclient GET $URL, SHA-256" "$(sha256_of "$ZTNC_WORK/one/blob.bin" 2>/dev/null)" "$SHA"
fetch "$ZTNC_WORK/three" -n 3 2>>"$ZTNC_WORK/client.err"
expect_equal "HTTP/3 over QUIC: the file on 3 streams of one connection, SHA-256" "$(sha256_of "$ZTNC_WORK/three/blob.bin" 2>/dev/null)" "$SHA"
note_stderr gtlsclient "$ZTNC_WORK/client.err"
finish
