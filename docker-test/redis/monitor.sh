#!/bin/bash
# redis-cli under the library: SET and GET of a 10 MB value (SHA-256 equal), EVAL of a Lua
# script, and a short redis-benchmark run.
ZTNC_ROLE=monitor
. "$(dirname "$0")/../lib/common.sh"
trap zt_stop EXIT
zt_join
wait_server_address
cli() { in_container redis-cli -h "$SERVER_IP" -p "$SERVER_PORT" "$@"; }
redis_answers() { [ "$(cli PING 2>/dev/null)" = PONG ]; }
wait_for "redis at $SERVER_IP:$SERVER_PORT" redis_answers

make_payload "$ZTNC_WORK/value.bin"
expect_equal "redis-cli -x SET of a 10 MB value" "$(cli -x SET payload < "$ZTNC_WORK/value.bin" 2>&1)" "OK"
cli --raw GET payload > "$ZTNC_WORK/value.out" 2>"$ZTNC_WORK/redis.err"
# --raw ends the value with a newline.
head -c "$PAYLOAD_BYTES" "$ZTNC_WORK/value.out" > "$ZTNC_WORK/value.got"
expect_equal "redis-cli GET of the 10 MB value: SHA-256" "$(sha256_of "$ZTNC_WORK/value.got")" "$(sha256_of "$ZTNC_WORK/value.bin")"
expect_equal "EVAL of a Lua script (STRLEN of the value)" "$(cli EVAL "return redis.call('STRLEN', KEYS[1])" 1 payload 2>&1)" "$PAYLOAD_BYTES"
expect_equal "EVAL of a Lua script (SET then INCRBY)" "$(cli EVAL "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('INCRBY', KEYS[1], ARGV[2])" 1 counter 37 5 2>&1)" "42"
bench="$(in_container redis-benchmark -h "$SERVER_IP" -p "$SERVER_PORT" -t set,get -n 2000 -c 10 -q 2>&1 | tr '\r' '\n')"
for op in SET GET; do
  line="$(printf '%s\n' "$bench" | grep -E "^$op: [0-9.]+ requests per second" | tail -n1)"
  if [ -n "$line" ]; then pass "redis-benchmark -t set,get -n 2000 -c 10: $line"; else fail "redis-benchmark $op: $(printf '%s' "$bench" | tail -n 3 | tr '\n' ' ')"; fi
done
finish
