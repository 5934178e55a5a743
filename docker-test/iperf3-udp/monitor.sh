#!/bin/bash
# iperf3 -u under the library in another container (in an empty network namespace of its own,
# in_client) against iperf3 -s in the server container, 2 s at 10 Mbit/s each, a rate far below
# what the path carries. The receiver counts the datagrams and the gaps in their sequence numbers;
# at least 90% must arrive, so a direction or a datagram size that does not work fails, while a
# few datagrams a busy machine drops (UDP's right) are noted, not judged: the loss and speed
# figures live in `npm run bench -- apps`.
# - client to server, 1400-byte datagrams;
# - server to client (-R), 1400-byte datagrams;
# - client to server, 8000-byte datagrams (each in fragments).
ZTNC_ROLE=monitor
. "$(dirname "$0")/../lib/common.sh"
trap zt_stop EXIT
zt_join
wait_server_address
# iperf3_udp <what> <iperf3 args…>: one run, judged on what the receiving side counted.
iperf3_udp() {
  local what="$1" out verdict; shift
  out="$(in_client iperf3 -c "$SERVER_IP" -p "$SERVER_PORT" -u -b 10M -t 2 -J "$@" 2>"$ZTNC_WORK/iperf3.err")"
  verdict="$(printf '%s' "$out" | python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)
except ValueError:
    print("FAILED no JSON from iperf3"); sys.exit()
if "error" in r:
    print("FAILED iperf3: " + r["error"]); sys.exit()
s = r["end"]["sum_received"]
ok = s["packets"] > 0 and s["lost_percent"] <= 10
print(("ok" if ok else "FAILED") + " %d datagrams, %d lost (%.2f%%), %.1f Mbit/s, jitter %.3f ms" % (s["packets"], s["lost_packets"], s["lost_percent"], s["bits_per_second"] / 1e6, s["jitter_ms"]))
')"
  case "$verdict" in
    ok\ *) pass "iperf3 -u $what: ${verdict#ok }" ;;
    *) fail "iperf3 -u $what: ${verdict#FAILED } $(tail -n 2 "$ZTNC_WORK/iperf3.err" | tr '\n' ' ')" ;;
  esac
}
server_up() { in_client iperf3 -c "$SERVER_IP" -p "$SERVER_PORT" -u -b 1M -t 1 -l 100 >/dev/null; }
wait_for "iperf3 -s at $SERVER_IP:$SERVER_PORT" server_up
iperf3_udp "-l 1400, client to server, 10 Mbit/s" -l 1400
iperf3_udp "-l 1400 -R, server to client, 10 Mbit/s" -l 1400 -R
iperf3_udp "-l 8000 (fragmented), client to server, 10 Mbit/s" -l 8000
finish
