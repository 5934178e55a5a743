#!/bin/bash
# ICMP echo from one container to the other:
# - `ztnc-cli ping` (the daemon's own stack sends; the server's daemon answers): every request to
#   the server's virtual IP gets its reply; an address on the network that no container holds gets
#   none, and ztnc-cli exits 1;
# - iputils `ping` and `fping` under the library (their ICMP sockets carried by the monitor's
#   daemon), in an empty network namespace of their own (in_client): every request answered, also
#   with 3000 bytes of data (fragments both ways); the unheld address: no reply, exit 1.
ZTNC_ROLE=monitor
. "$(dirname "$0")/../lib/common.sh"
trap zt_stop EXIT
zt_join
wait_published "$ZTNC_TEST.server-ip"
SERVER_IP="$(published "$ZTNC_TEST.server-ip")"
COUNT=5

# zt_ping <count> <address> [<timeout ms>]: the kernel reference uses the system ping instead.
if [ -n "${ZTNC_KERNEL_REFERENCE:-}" ]; then
  zt_ping() { ping -n -c "$1" -W "$(( (${3:-2000} + 999) / 1000 ))" "$2"; }
else
  # In endpoints mode the shared daemon's own identity (a member too) pings the server's endpoint.
  zt_ping() { ztnc-cli -D "$DAEMON_HOME" ping "$NWID" "$2" -c "$1" ${3:+--timeout "$3"}; }
fi

# The first request also waits for ARP and the peers' path: retry until one reply comes back.
wait_for "a first reply from $SERVER_IP" zt_ping 1 "$SERVER_IP" 5000

out="$(zt_ping "$COUNT" "$SERVER_IP" 2>"$ZTNC_WORK/ping.err")"
code=$?
summary="$(printf '%s\n' "$out" | grep 'packets transmitted' | head -n1)"
rtt="$(printf '%s\n' "$out" | grep '^rtt' | head -n1)"
if [ "$code" = 0 ] && printf '%s\n' "$summary" | grep -qE "^$COUNT packets transmitted, $COUNT received, 0% packet loss"; then
  pass "ping from the monitor's daemon to the server's $SERVER_IP: ${summary%%, time*} (${rtt#rtt })"
else
  fail "ping from the monitor's daemon to the server's $SERVER_IP (exit $code): ${summary:-no summary} $(head -n1 "$ZTNC_WORK/ping.err")"
fi
note_stderr "ping" "$ZTNC_WORK/ping.err"

# ping_check <what> <expected count> <ping args…>: iputils ping under the library.
ping_check() {
  local what="$1" n="$2" out code summary; shift 2
  out="$(in_client ping -n "$@" 2>"$ZTNC_WORK/ping-lib.err")"
  code=$?
  summary="$(printf '%s\n' "$out" | grep 'packets transmitted' | head -n1)"
  if [ "$code" = 0 ] && printf '%s\n' "$summary" | grep -qE "^$n packets transmitted, $n received, 0% packet loss"; then
    pass "$what: ${summary%%, time*}"
  else
    fail "$what (exit $code): ${summary:-no summary} $(head -n1 "$ZTNC_WORK/ping-lib.err")"
  fi
}
ping_check "iputils ping under the library to $SERVER_IP" 5 -c 5 -i 0.2 -W 2 "$SERVER_IP"
ping_check "iputils ping -s 3000 (fragmented) under the library to $SERVER_IP" 2 -c 2 -i 0.2 -W 2 -s 3000 "$SERVER_IP"
# fping reports on stderr: "<ip> : xmt/rcv/%loss = 3/3/0%, min/avg/max = …".
fp="$(in_client fping -c 3 -p 200 "$SERVER_IP" 2>&1 >/dev/null | grep 'xmt/rcv' | head -n1)"
if printf '%s\n' "$fp" | grep -qE 'xmt/rcv/%loss = 3/3/0%'; then pass "fping -c 3 under the library: $fp"; else fail "fping -c 3 under the library to $SERVER_IP: ${fp:-no summary}"; fi

if [ -n "${ZTNC_KERNEL_REFERENCE:-}" ]; then
  note "no unassigned-address check over the kernel's loopback"
else
  # Only the server and the monitor are on the network during this test.
  prefix="${ZT_IP%.*}"
  for last in 254 253 252; do
    NOBODY="$prefix.$last"
    [ "$NOBODY" != "$SERVER_IP" ] && [ "$NOBODY" != "$ZT_IP" ] && break
  done
  out="$(zt_ping 2 "$NOBODY" 1000 2>"$ZTNC_WORK/ping-nobody.err")"
  code=$?
  summary="$(printf '%s\n' "$out" | grep 'packets transmitted' | head -n1)"
  if [ "$code" = 1 ] && printf '%s\n' "$summary" | grep -qE '^2 packets transmitted, 0 received, .*100% packet loss'; then
    pass "ping to $NOBODY, which no container holds, gets no reply and exits 1 ($summary)"
  else
    fail "ping to $NOBODY, which no container holds (exit $code): ${summary:-no summary} $(head -n1 "$ZTNC_WORK/ping-nobody.err")"
  fi
  out="$(in_client ping -n -c 2 -i 0.2 -W 1 "$NOBODY" 2>"$ZTNC_WORK/ping-lib-nobody.err")"
  code=$?
  summary="$(printf '%s\n' "$out" | grep 'packets transmitted' | head -n1)"
  if [ "$code" = 1 ] && printf '%s\n' "$summary" | grep -qE '^2 packets transmitted, 0 received, .*100% packet loss'; then
    pass "iputils ping under the library to $NOBODY gets no reply and exits 1 (${summary%%, time*})"
  else
    fail "iputils ping under the library to $NOBODY (exit $code): ${summary:-no summary} $(head -n1 "$ZTNC_WORK/ping-lib-nobody.err")"
  fi
fi
finish
