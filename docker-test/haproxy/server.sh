#!/bin/bash
# Two backends, python3 -m http.server under the intercept library in the server container, each
# serving a backend.txt that names it. When the monitor asks (hand-over file haproxy.kill),
# backend s1 is killed and s2 keeps serving until the runner stops this side. The member is named
# "backends" on the network.
ZTNC_ROLE=server
. "$(dirname "$0")/../lib/common.sh"
S1_PID=
S2_PID=
cleanup() { kill $S1_PID $S2_PID 2>/dev/null; zt_stop; }
trap cleanup EXIT
zt_join
# The monitor's haproxy also finds s2 by this member's name on the network.
zt_name_member backends
PORT1="$(random_port)"
PORT2=$((PORT1 + 1))
for n in 1 2; do
  mkdir -p "$ZTNC_WORK/www$n"
  echo "s$n" > "$ZTNC_WORK/www$n/backend.txt"
done
log "backends s1 on $ZT_IP:$PORT1 and s2 on $ZT_IP:$PORT2 under the intercept library"
(exec_in_container python3 -m http.server "$PORT1" --bind "$ZT_IP" --directory "$ZTNC_WORK/www1") >"$ZTNC_WORK/s1.log" 2>&1 &
S1_PID=$!
(exec_in_container python3 -m http.server "$PORT2" --bind "$ZT_IP" --directory "$ZTNC_WORK/www2") >"$ZTNC_WORK/s2.log" 2>&1 &
S2_PID=$!
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
publish "$ZTNC_TEST.ports" "$PORT1 $PORT2"

wait_published "$ZTNC_TEST.kill"
log "killing backend s1 (pid $S1_PID)"
kill "$S1_PID"
wait "$S1_PID" 2>/dev/null
S1_PID=
publish "$ZTNC_TEST.killed" "s1"
wait "$S2_PID"
