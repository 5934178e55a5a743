#!/bin/bash
# A python3 client of memcached's UDP protocol (client.py: frame header, request ids, answers in
# several datagrams put back in order) under the library in another container, in an empty network
# namespace of its own (in_client), against memcached -U in the server container.
ZTNC_ROLE=monitor
. "$(dirname "$0")/../lib/common.sh"
trap zt_stop EXIT
zt_join
wait_server_address
tcp_answers() { in_client python3 -c 'import socket,sys; s=socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3); s.sendall(b"version\r\n"); assert s.recv(100).startswith(b"VERSION")' "$SERVER_IP" "$SERVER_PORT"; }
wait_for "memcached at $SERVER_IP:$SERVER_PORT (TCP)" tcp_answers
in_client python3 "$(dirname "$0")/client.py" "$SERVER_IP" "$SERVER_PORT" > "$ZTNC_WORK/client.out" 2>"$ZTNC_WORK/client.err"
code=$?
while read -r word rest; do
  case "$word" in
    ok) pass "$rest" ;;
    FAILED) fail "$rest" ;;
  esac
done < "$ZTNC_WORK/client.out"
[ "$code" = 0 ] || fail "client.py exited $code: $(tail -n 3 "$ZTNC_WORK/client.err" | tr '\n' ' ')"
finish
