#!/bin/bash
# iperf3 -6 under the library in the monitor container (in an empty network namespace of its own,
# in_client) against iperf3 -s on the server's rfc4193 address, 2 s per run:
# - TCP, client to server and server to client (-R): bytes arrive, the receiver's rate noted;
# - UDP at 10 Mbit/s (a rate far below what the path carries), 1400-byte datagrams both ways and
#   8000-byte ones (IPv6 fragments): at least 90% must arrive as the receiver counts, the loss noted.
# Speed is judged in `npm run bench -- apps`, not here.
ZTNC_ROLE=monitor
. "$(dirname "$0")/../lib/common.sh"
trap zt_stop EXIT
zt_join
wait_server_address
wait_server_address6
# iperf3_run <tcp|udp> <what> <iperf3 args…>: one run, judged on what the receiving side counted.
iperf3_run() {
  local kind="$1" what="$2" out verdict; shift 2
  out="$(in_client iperf3 -6 -c "$SERVER_IP6" -p "$SERVER_PORT" -t 2 -J "$@" 2>"$ZTNC_WORK/iperf3.err")"
  verdict="$(printf '%s' "$out" | python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)
except ValueError:
    print("FAILED no JSON from iperf3"); sys.exit()
if "error" in r:
    print("FAILED iperf3: " + r["error"]); sys.exit()
if sys.argv[1] == "tcp":
    s = r["end"]["sum_received"]
    ok = s["bytes"] > 0
    print(("ok" if ok else "FAILED") + " %d bytes received, %.1f Mbit/s" % (s["bytes"], s["bits_per_second"] / 1e6))
else:
    s = r["end"]["sum_received"] if "sum_received" in r["end"] else r["end"]["sum"]
    ok = s["packets"] > 0 and s["lost_percent"] <= 10
    print(("ok" if ok else "FAILED") + " %d datagrams, %d lost (%.2f%%), %.1f Mbit/s, jitter %.3f ms" % (s["packets"], s["lost_packets"], s["lost_percent"], s["bits_per_second"] / 1e6, s["jitter_ms"]))
' "$kind")"
  case "$verdict" in
    ok\ *) pass "iperf3 -6 $what: ${verdict#ok }" ;;
    *) fail "iperf3 -6 $what: ${verdict#FAILED } $(tail -n 2 "$ZTNC_WORK/iperf3.err" | tr '\n' ' ')" ;;
  esac
}
server_up() { in_client iperf3 -6 -c "$SERVER_IP6" -p "$SERVER_PORT" -n 1K >/dev/null; }
wait_or_fail "iperf3 -s at [$SERVER_IP6]:$SERVER_PORT" server_up
iperf3_run tcp "TCP, client to server"
iperf3_run tcp "TCP -R, server to client" -R
iperf3_run udp "-u -l 1400, client to server, 10 Mbit/s" -u -b 10M -l 1400
iperf3_run udp "-u -l 1400 -R, server to client, 10 Mbit/s" -u -b 10M -l 1400 -R
iperf3_run udp "-u -l 8000 (fragmented), client to server, 10 Mbit/s" -u -b 10M -l 8000
finish
