#!/bin/bash
# haproxy under the library in the monitor container, in front of the two backends in the server
# container, with HTTP health checks every 250 ms; curl under the library as the client.
# - both backends come UP and serve through haproxy (round robin: s1 and s2);
# - backend s1 is killed: its next health check is refused by the server's stack, and haproxy
#   marks it DOWN for that refusal instead of waiting out `timeout check` (5 s, which would read
#   L4TOUT/L7TOUT);
# - requests through haproxy then succeed, all from s2, and s1 stays DOWN.
# With the kernel the reason is always "Connection refused" (L4CON). Under the library a
# connecting socket is writable at once, so haproxy may already have written its HTTP check when
# the refusal arrives; it then reads the closed connection as "Layer7 invalid response" (L7RSP).
# Either is accepted there, never a timeout (see docker-test/README.md).
# haproxy keeps its default resolvers (2.6 makes a "default" section from /etc/resolv.conf): a
# third backend names the server container by its name on the network, backends.<dns domain>, which
# haproxy resolves at run time by its own UDP queries to resolv.conf's nameserver (the daemon
# answers them); it must come UP at the server's address. The kernel reference has no such name
# and leaves that backend out.
ZTNC_ROLE=monitor
. "$(dirname "$0")/../lib/common.sh"
HAPROXY_PID=
cleanup() { [ -n "$HAPROXY_PID" ] && kill "$HAPROXY_PID" 2>/dev/null; zt_stop; }
trap cleanup EXIT
zt_join
wait_published "$ZTNC_TEST.server-ip"
wait_published "$ZTNC_TEST.ports"
SERVER_IP="$(published "$ZTNC_TEST.server-ip")"
read -r PORT1 PORT2 <<< "$(published "$ZTNC_TEST.ports")"
FRONT_PORT="$(random_port)"
STATS_SOCK="$ZTNC_WORK/haproxy.sock"
CFG="$ZTNC_WORK/haproxy.cfg"
HLOG="$ZTNC_WORK/haproxy.log"
cat > "$CFG" <<CFG
global
  log stdout format raw local0 info
  stats socket $STATS_SOCK mode 600 level admin
  nbthread 2

defaults
  mode http
  log global
  option httplog
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout check 5s
  retries 2
  option redispatch 1

frontend front
  bind $ZT_IP:$FRONT_PORT
  default_backend backends

backend backends
  balance roundrobin
  option httpchk GET /backend.txt
  default-server check inter 250 fall 1 rise 1
  server s1 $SERVER_IP:$PORT1
  server s2 $SERVER_IP:$PORT2
CFG
if [ -z "${ZTNC_KERNEL_REFERENCE:-}" ]; then
  cat >> "$CFG" <<CFG

# Resolved only at run time, by haproxy's own resolvers (init-addr none: not at start).
backend named
  option httpchk GET /backend.txt
  server n1 backends.$ZTNC_DNS_DOMAIN:$PORT2 resolvers default resolve-prefer ipv4 init-addr none check inter 250 fall 1 rise 1
CFG
fi
log "haproxy on $ZT_IP:$FRONT_PORT in front of $SERVER_IP:$PORT1 and $SERVER_IP:$PORT2"
(exec_in_container haproxy -db -f "$CFG") >"$HLOG" 2>&1 &
HAPROXY_PID=$!

# server_state <name> [<backend>]: "<status> <check_status> <addr> <last_chk>" from haproxy's stats
# socket (a Unix socket, outside the virtual network).
server_state() {
  python3 - "$STATS_SOCK" "$1" "${2:-backends}" <<'PY'
import csv, io, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"show stat\n")
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
rows = list(csv.reader(io.StringIO(data.decode().lstrip("# "))))
head = rows[0]
for r in rows[1:]:
    if len(r) == len(head) and r[0] == sys.argv[3] and r[1] == sys.argv[2]:
        v = dict(zip(head, r))
        # "* L7OK": haproxy marks a check in progress with "* "; the state is the last result.
        print(v["status"], v["check_status"].lstrip("* "), v["addr"], v["last_chk"])
        sys.exit(0)
sys.exit(1)
PY
}
# is_state <name> <status> [<check_status> [<backend>]]
is_state() {
  local st
  st="$(server_state "$1" "${4:-backends}" 2>/dev/null)" || return 1
  [ "$(echo "$st" | cut -d' ' -f1)" = "$2" ] && { [ -z "${3:-}" ] || [ "$(echo "$st" | cut -d' ' -f2)" = "$3" ]; }
}
FRONT_URL="http://$ZT_IP:$FRONT_PORT/backend.txt"
through_haproxy() { in_container curl -sS --fail --max-time 10 "$FRONT_URL"; }

wait_for "haproxy's stats socket" test -S "$STATS_SOCK"
wait_for "backend s1 UP in haproxy (check passed)" is_state s1 UP L7OK
wait_for "backend s2 UP in haproxy (check passed)" is_state s2 UP L7OK
pass "both backends UP in haproxy's health checks ($(server_state s1 | cut -d' ' -f2), $(server_state s2 | cut -d' ' -f2))"
seen="$(for _ in 1 2 3 4; do through_haproxy 2>>"$ZTNC_WORK/curl.err"; done | sort -u | tr '\n' ' ')"
expect_equal "requests through haproxy are spread over both backends" "$seen" "s1 s2 "
if [ -z "${ZTNC_KERNEL_REFERENCE:-}" ]; then
  wait_for "server n1 (backends.$ZTNC_DNS_DOMAIN) resolved by haproxy's resolvers and UP" is_state n1 UP L7OK named
  expect_equal "haproxy's default resolvers (resolv.conf) resolve backends.$ZTNC_DNS_DOMAIN at run time; n1 UP at" \
    "$(server_state n1 named | cut -d' ' -f3)" "$SERVER_IP:$PORT2"
fi

# Only what haproxy logs from here on counts (the backends may have refused its first checks).
log_mark=$(wc -l < "$HLOG")
publish "$ZTNC_TEST.kill" "s1"
wait_published "$ZTNC_TEST.killed"
# Round robin may pick s1 before its check marks it DOWN. The kernel refuses that connect and
# haproxy redispatches to s2; under the library haproxy may already have written the request to
# the still-connecting socket and answer 502. Noted, not judged.
first="$(through_haproxy 2>&1)"
note "the first request through haproxy right after the kill got: $(echo "$first" | head -n 1)"
wait_for "backend s1 DOWN in haproxy" is_state s1 DOWN
tail -n +"$((log_mark + 1))" "$HLOG" > "$ZTNC_WORK/haproxy.after-kill.log"
down_line="$(grep -m1 'Server backends/s1 is DOWN' "$ZTNC_WORK/haproxy.after-kill.log" | sed 's/^.*Server backends/Server backends/')"
refused='Server backends/s1 is DOWN, reason: Layer4 connection problem, info: "Connection refused"'
closed='Server backends/s1 is DOWN, reason: Layer7 invalid response'
if [[ "$down_line" == "$refused"* ]] || { [ -z "${ZTNC_KERNEL_REFERENCE:-}" ] && [[ "$down_line" == "$closed"* ]]; }; then
  pass "haproxy marks the killed backend s1 DOWN for the refused connection, not a timeout: $down_line"
else
  fail "haproxy's log after the kill: '${down_line:-no DOWN line for s1}', expected '$refused'"
fi
state="$(server_state s1 | cut -d" " -f1,2,4-)"
case "$state" in
  "DOWN L4CON Connection refused") pass "haproxy's stats for s1 after the kill: $state" ;;
  "DOWN L7RSP"*) if [ -z "${ZTNC_KERNEL_REFERENCE:-}" ]; then pass "haproxy's stats for s1 after the kill: $state"; else fail "haproxy's stats for s1: $state"; fi ;;
  *) fail "haproxy's stats for s1 after the kill: '$state', expected 'DOWN L4CON Connection refused'" ;;
esac
seen="$(for _ in 1 2 3 4; do through_haproxy 2>>"$ZTNC_WORK/curl.err" || echo FAILED; done | sort | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' ')"
expect_equal "requests through haproxy after the kill all succeed, from s2" "$seen" "s2x4 "
is_state s2 UP L7OK && pass "backend s2 stays UP" || fail "backend s2 is $(server_state s2)"
is_state s1 DOWN && pass "backend s1 stays DOWN" || fail "backend s1 is $(server_state s1)"
note_stderr curl "$ZTNC_WORK/curl.err"
grep -E '^\[(ALERT|WARNING)\]' "$HLOG" > "$ZTNC_WORK/haproxy.warnings"
note_stderr haproxy "$ZTNC_WORK/haproxy.warnings"
finish
