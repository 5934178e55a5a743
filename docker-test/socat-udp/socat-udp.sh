# What both sides of the socat-udp test share (sourced after common.sh).
UDP_PAYLOAD_BYTES=$((256 * 1024))
# 1400-byte datagrams: each read of socat's is one datagram.
UDP_DATAGRAM=1400

# paced_send <file> <ip> <port>: socat sends the file as datagrams of UDP_DATAGRAM bytes, 16 KB at a
# time every 20 ms: UDP has no flow control, and a burst bigger than the receiver's buffer would be
# dropped with the kernel too.
paced_send() {
  local chunks i
  chunks=$(( ($(stat -c %s "$1") + 16383) / 16384 ))
  for i in $(seq 0 $((chunks - 1))); do
    dd if="$1" bs=16384 skip="$i" count=1 status=none
    sleep 0.02
  done | in_client socat -u -b "$UDP_DATAGRAM" STDIN "UDP4-SENDTO:$2:$3"
}

# wait_size <file> <bytes>: true once the file holds that many bytes (10 s at most).
wait_size() {
  local end=$((SECONDS + 10))
  until [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ]; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.1
  done
}
