#!/bin/bash
# ICMPv6 echo from one container to the other's rfc4193 address: iputils `ping -6` and `fping -6`
# under the library (their ICMPv6 sockets carried by the monitor's daemon), in an empty network
# namespace of their own (in_client): every request answered, also with 3000 bytes of data
# (IPv6 fragments both ways); an address of the network's rfc4193 prefix that no member holds:
# no reply, exit 1.
ZTNC_ROLE=monitor
. "$(dirname "$0")/../lib/common.sh"
trap zt_stop EXIT
zt_join
wait_published "$ZTNC_TEST.server-ip"
wait_server_address6

# ping_check <what> <expected count> <ping args…>: iputils ping -6 under the library.
ping_check() {
  local what="$1" n="$2" out code summary; shift 2
  out="$(in_client ping -6 -n "$@" 2>"$ZTNC_WORK/ping.err")"
  code=$?
  summary="$(printf '%s\n' "$out" | grep 'packets transmitted' | head -n1)"
  if [ "$code" = 0 ] && printf '%s\n' "$summary" | grep -qE "^$n packets transmitted, $n received, 0% packet loss"; then
    pass "$what: ${summary%%, time*}"
  else
    fail "$what (exit $code): ${summary:-no summary} $(head -n1 "$ZTNC_WORK/ping.err")"
  fi
}
# The first request also waits for neighbor discovery and the peers' path.
first_reply() { in_client ping -6 -n -c 1 -W 2 "$SERVER_IP6"; }
wait_or_fail "a first ICMPv6 echo reply from $SERVER_IP6" first_reply
ping_check "iputils ping -6 under the library to $SERVER_IP6" 5 -c 5 -i 0.2 -W 2 "$SERVER_IP6"
ping_check "iputils ping -6 -s 3000 (fragmented) under the library to $SERVER_IP6" 2 -c 2 -i 0.2 -W 2 -s 3000 "$SERVER_IP6"
# fping reports on stderr: "<ip> : xmt/rcv/%loss = 3/3/0%, min/avg/max = …".
fp="$(in_client fping -6 -c 3 -p 200 "$SERVER_IP6" 2>&1 >/dev/null | grep 'xmt/rcv' | head -n1)"
if printf '%s\n' "$fp" | grep -qE 'xmt/rcv/%loss = 3/3/0%'; then pass "fping -6 -c 3 under the library: $fp"; else fail "fping -6 -c 3 under the library to $SERVER_IP6: ${fp:-no summary}"; fi

if [ -n "${ZTNC_KERNEL_REFERENCE:-}" ]; then
  note "no unassigned-address check over the kernel's loopback"
else
  # The server's address with other bits in its member part (the last 40 bits): in the network's
  # rfc4193 /88, held by no container (only the server and the monitor are on the network now).
  NOBODY="$(python3 -c '
import ipaddress, sys
server, me = (int(ipaddress.IPv6Address(a)) for a in sys.argv[1:3])
for x in (0x5a5a5a, 0xa5a5a5, 0x3c3c3c):
    a = server ^ x
    if a != me:
        print(ipaddress.IPv6Address(a)); break' "$SERVER_IP6" "$ZT_IP6")"
  out="$(in_client ping -6 -n -c 2 -i 0.2 -W 1 "$NOBODY" 2>"$ZTNC_WORK/ping-nobody.err")"
  code=$?
  summary="$(printf '%s\n' "$out" | grep 'packets transmitted' | head -n1)"
  if [ "$code" = 1 ] && printf '%s\n' "$summary" | grep -qE '^2 packets transmitted, 0 received, .*100% packet loss'; then
    pass "iputils ping -6 under the library to $NOBODY gets no reply and exits 1 (${summary%%, time*})"
  else
    fail "iputils ping -6 under the library to $NOBODY (exit $code): ${summary:-no summary} $(head -n1 "$ZTNC_WORK/ping-nobody.err")"
  fi
fi
finish
