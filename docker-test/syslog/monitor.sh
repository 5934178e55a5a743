#!/bin/bash
# util-linux's logger under the library in another container (in an empty network namespace of
# its own, in_client) sends to the syslog receiver in the server container over UDP (-d -n -P):
# 20 RFC 5424 messages and one RFC 3164 message, each once, from the monitor's address, intact.
ZTNC_ROLE=monitor
. "$(dirname "$0")/../lib/common.sh"
trap zt_stop EXIT
zt_join
wait_server_address
RECEIVED="$ZTNC_SHARED/$ZTNC_TEST.received"
RUN="run-$$-$RANDOM"
logger_udp() { in_client logger -d -n "$SERVER_IP" -P "$SERVER_PORT" -t ztnc-matrix "$@"; }
for i in $(seq 1 20); do
  logger_udp --rfc5424 -p local0.notice "$RUN message $i" 2>>"$ZTNC_WORK/logger.err" || fail "logger --rfc5424 message $i: exit $?"
done
logger_udp --rfc3164 -p user.warning "$RUN old-style" 2>>"$ZTNC_WORK/logger.err" || fail "logger --rfc3164: exit $?"
all_arrived() { [ "$(grep -c " .*ztnc-matrix.* $RUN " "$RECEIVED")" -ge 21 ]; }
wait_for "the 21 messages at the receiver" all_arrived
got="$(for i in $(seq 1 20); do grep -c -E "^$ZT_IP <133>1 .* ztnc-matrix [0-9-]+ - .* $RUN message $i\$" "$RECEIVED"; done | sort | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' ')"
expect_equal "20 RFC 5424 messages (local0.notice) from $ZT_IP, each received once" "$got" "1x20 "
expect_equal "an RFC 3164 message (user.warning) from $ZT_IP received once" \
  "$(grep -c -E "^$ZT_IP <12>[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} .*ztnc-matrix(\[[0-9]+\])?: $RUN old-style\$" "$RECEIVED")" 1
note_stderr logger "$ZTNC_WORK/logger.err"
finish
