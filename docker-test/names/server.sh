#!/bin/bash
# python3 -m http.server under the intercept library in the server container, whose member is
# named "web" on the network through the controller: web.<network's dns domain> resolves to it in
# every container of the network (A: its IPv4 address; AAAA: its rfc4193 address).
ZTNC_ROLE=server
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/http.sh"
zt_join
zt_name_member web
PORT="$(random_port)"
WWW="$ZTNC_WORK/www"
http_prepare_www "$WWW"
# Its rfc4193 address too: the name has an AAAA record beside the A record (dual-stack network).
publish "$ZTNC_TEST.server-ip6" "${ZT_IP6:-none}"
publish "$ZTNC_TEST.port" "$PORT"
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
log "python3 -m http.server on $ZT_IP:$PORT (web.$ZTNC_DNS_DOMAIN) under the intercept library"
exec_in_container python3 -m http.server "$PORT" --bind "$ZT_IP" --directory "$WWW"
