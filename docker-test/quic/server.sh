#!/bin/bash
# ngtcp2's HTTP/3 server (gtlsserver: QUIC over UDP, TLS 1.3 through GnuTLS) under the intercept
# library in the server container, on a UDP port of its virtual address, serving a 1 MB random file
# with a self-signed certificate made here.
ZTNC_ROLE=server
. "$(dirname "$0")/../lib/common.sh"
zt_join
PORT="$(random_port)"
WWW="$ZTNC_WORK/www"
mkdir -p "$WWW"
make_payload "$WWW/blob.bin" $((1024 * 1024))
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$ZT_IP" \
  -keyout "$ZTNC_WORK/key.pem" -out "$ZTNC_WORK/cert.pem" 2>"$ZTNC_WORK/openssl.err" || die "openssl: $(cat "$ZTNC_WORK/openssl.err")"
publish "$ZTNC_TEST.sha256" "$(sha256_of "$WWW/blob.bin")"
publish "$ZTNC_TEST.port" "$PORT"
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
log "gtlsserver (HTTP/3) on $ZT_IP:$PORT/udp under the intercept library"
exec_in_container gtlsserver -q -d "$WWW" "$ZT_IP" "$PORT" "$ZTNC_WORK/key.pem" "$ZTNC_WORK/cert.pem"
