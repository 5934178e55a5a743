#!/bin/bash
# Clients under the library in the monitor container (each in an empty network namespace of its
# own, in_client) reach the server's redis and sshd on its rfc4193 address:
# - redis-cli -h <IPv6>: SET and GET of a 10 MB value (SHA-256 equal), EVAL of a Lua script,
#   CLIENT INFO shows the monitor's rfc4193 address as the client, a short redis-benchmark;
# - ssh -6 login runs a command (SSH_CONNECTION holds both rfc4193 addresses); scp -6 of a 10 MB
#   file up and another down, SHA-256 equal both ways.
# The kernel reference runs it over ::1.
ZTNC_ROLE=monitor
. "$(dirname "$0")/../lib/common.sh"
trap zt_stop EXIT
zt_join
wait_server_address
wait_server_address6

cli() { in_client redis-cli -h "$SERVER_IP6" -p "$SERVER_PORT" "$@"; }
redis_answers() { [ "$(cli PING 2>/dev/null)" = PONG ]; }
wait_or_fail "redis at [$SERVER_IP6]:$SERVER_PORT" redis_answers
make_payload "$ZTNC_WORK/value.bin"
expect_equal "redis-cli -h $SERVER_IP6 -x SET of a 10 MB value" "$(cli -x SET payload < "$ZTNC_WORK/value.bin" 2>&1)" "OK"
cli --raw GET payload > "$ZTNC_WORK/value.out" 2>"$ZTNC_WORK/redis.err"
# --raw ends the value with a newline.
head -c "$PAYLOAD_BYTES" "$ZTNC_WORK/value.out" > "$ZTNC_WORK/value.got"
expect_equal "redis-cli -h $SERVER_IP6 GET of the 10 MB value: SHA-256" "$(sha256_of "$ZTNC_WORK/value.got")" "$(sha256_of "$ZTNC_WORK/value.bin")"
expect_equal "EVAL of a Lua script over IPv6 (STRLEN of the value)" "$(cli EVAL "return redis.call('STRLEN', KEYS[1])" 1 payload 2>&1)" "$PAYLOAD_BYTES"
# CLIENT INFO: "id=… addr=[<client>]:<port> laddr=[<server>]:<port> …" (redis 7), or addr=<client>:<port>.
info="$(cli CLIENT INFO 2>&1)"
client="$(printf '%s\n' "$info" | tr ' ' '\n' | sed -n 's/^addr=//p' | sed -E 's/:[0-9]+$//; s/^\[(.*)\]$/\1/')"
expect_equal "redis CLIENT INFO: the client's address as redis saw it" "$client" "$ZT_IP6"
bench="$(in_client redis-benchmark -h "$SERVER_IP6" -p "$SERVER_PORT" -t set,get -n 2000 -c 10 -q 2>&1 | tr '\r' '\n')"
for op in SET GET; do
  line="$(printf '%s\n' "$bench" | grep -E "^$op: [0-9.]+ requests per second" | tail -n1)"
  if [ -n "$line" ]; then pass "redis-benchmark -h $SERVER_IP6 -t set,get -n 2000 -c 10: $line"; else fail "redis-benchmark $op over IPv6: $(printf '%s' "$bench" | tail -n 3 | tr '\n' ' ')"; fi
done

wait_published "$ZTNC_TEST.ssh-port"
SSH_PORT="$(published "$ZTNC_TEST.ssh-port")"
SSH_USER="$(published "$ZTNC_TEST.user")"
REMOTE="$(published "$ZTNC_TEST.remote-dir")"
KEY="$ZTNC_WORK/client_key"
install -m 600 "$ZTNC_SHARED/$ZTNC_TEST.client_key" "$KEY"
OPTS=(-6 -F /dev/null -i "$KEY" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no
  -o UserKnownHostsFile=/dev/null -o ConnectTimeout=30 -o LogLevel=ERROR)
remote() { in_client ssh "${OPTS[@]}" -p "$SSH_PORT" "$SSH_USER@$SERVER_IP6" "$@"; }
sshd_answers() { remote true; }
wait_or_fail "sshd at [$SERVER_IP6]:$SSH_PORT" sshd_answers
ERR="$ZTNC_WORK/ssh.err"
expect_equal "ssh -6 login to $SERVER_IP6 runs a command (its stdout)" "$(remote 'echo ztnc-ssh $((6 * 7))' 2>"$ERR")" "ztnc-ssh 42"
expect_equal "ssh -6: SSH_CONNECTION's client and server addresses" "$(remote 'echo $SSH_CONNECTION' 2>>"$ERR" | awk '{print $1, $3}')" "$ZT_IP6 $SERVER_IP6"
note_stderr "ssh" "$ERR"
make_payload "$ZTNC_WORK/up.bin"
if in_client scp "${OPTS[@]}" -P "$SSH_PORT" "$ZTNC_WORK/up.bin" "$SSH_USER@[$SERVER_IP6]:$REMOTE/up.bin" 2>"$ZTNC_WORK/scp.err"; then
  expect_equal "scp -6 of 10 MB to the server: SHA-256 there" "$(remote sha256sum "$REMOTE/up.bin" 2>"$ERR" | cut -d' ' -f1)" "$(sha256_of "$ZTNC_WORK/up.bin")"
else
  fail "scp -6 to the server: $(tr '\n' ' ' < "$ZTNC_WORK/scp.err")"
fi
note_stderr "scp (up)" "$ZTNC_WORK/scp.err"
rm -f "$ZTNC_WORK/down.bin"
if in_client scp "${OPTS[@]}" -P "$SSH_PORT" "$SSH_USER@[$SERVER_IP6]:$REMOTE/down.bin" "$ZTNC_WORK/down.bin" 2>"$ZTNC_WORK/scp.err"; then
  expect_equal "scp -6 of 10 MB from the server: SHA-256 here" "$(sha256_of "$ZTNC_WORK/down.bin")" "$(published "$ZTNC_TEST.down.sha256")"
else
  fail "scp -6 from the server: $(tr '\n' ' ' < "$ZTNC_WORK/scp.err")"
fi
note_stderr "scp (down)" "$ZTNC_WORK/scp.err"
finish
