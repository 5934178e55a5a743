#!/bin/bash
# ssh and scp under the library in the monitor container: a login runs a command; a 10 MB random
# file goes up and another comes down by scp, SHA-256 equal both ways.
ZTNC_ROLE=monitor
. "$(dirname "$0")/../lib/common.sh"
trap zt_stop EXIT
zt_join
wait_server_address
USER_AT="$(published "$ZTNC_TEST.user")@$SERVER_IP"
REMOTE="$(published "$ZTNC_TEST.remote-dir")"
KEY="$ZTNC_WORK/client_key"
install -m 600 "$ZTNC_SHARED/$ZTNC_TEST.client_key" "$KEY"
OPTS=(-F /dev/null -i "$KEY" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no
  -o UserKnownHostsFile=/dev/null -o ConnectTimeout=30 -o LogLevel=ERROR)
remote() { in_container ssh "${OPTS[@]}" -p "$SERVER_PORT" "$USER_AT" "$@"; }
sshd_answers() { remote true; }
wait_for "sshd at $SERVER_IP:$SERVER_PORT" sshd_answers

ERR="$ZTNC_WORK/ssh.err"
expect_equal "ssh login runs a command (its stdout)" "$(remote 'echo ztnc-ssh $((6 * 7))' 2>"$ERR")" "ztnc-ssh 42"
note_stderr "ssh" "$ERR"

make_payload "$ZTNC_WORK/up.bin"
if in_container scp "${OPTS[@]}" -P "$SERVER_PORT" "$ZTNC_WORK/up.bin" "$USER_AT:$REMOTE/up.bin" 2>"$ZTNC_WORK/scp.err"; then
  expect_equal "scp of 10 MB to the server: SHA-256 there" "$(remote sha256sum "$REMOTE/up.bin" 2>"$ERR" | cut -d' ' -f1)" "$(sha256_of "$ZTNC_WORK/up.bin")"
else
  fail "scp to the server: $(tr '\n' ' ' < "$ZTNC_WORK/scp.err")"
fi
note_stderr "scp (up)" "$ZTNC_WORK/scp.err"
rm -f "$ZTNC_WORK/down.bin"
if in_container scp "${OPTS[@]}" -P "$SERVER_PORT" "$USER_AT:$REMOTE/down.bin" "$ZTNC_WORK/down.bin" 2>"$ZTNC_WORK/scp.err"; then
  expect_equal "scp of 10 MB from the server: SHA-256 here" "$(sha256_of "$ZTNC_WORK/down.bin")" "$(published "$ZTNC_TEST.down.sha256")"
else
  fail "scp from the server: $(tr '\n' ' ' < "$ZTNC_WORK/scp.err")"
fi
note_stderr "scp (down)" "$ZTNC_WORK/scp.err"
finish
