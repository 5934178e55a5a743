#!/bin/bash
# nginx with one dual-stack listener, `listen [::]:PORT ipv6only=off` (epoll, sendfile, two
# workers, keep-alive), under the intercept library in the server container, whose member is named
# "web6" on the network: web6.<dns domain> has an AAAA record with its rfc4193 address. /peer
# answers the client's and the listener's address as nginx saw them ($remote_addr $server_addr).
ZTNC_ROLE=server
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/http.sh"
zt_join
publish_server_ip6
zt_name_member web6
PORT="$(random_port)"
PREFIX="$ZTNC_WORK/nginx"
WWW="$PREFIX/www"
http_prepare_www "$WWW"
nginx_write_conf "$PREFIX" "    # The only listener: IPv6 clients and, through it, IPv4 ones (as ::ffff:a.b.c.d).
    listen [::]:$PORT ipv6only=off;
    root $WWW;
    location = /peer { default_type text/plain; return 200 \"\$remote_addr \$server_addr\\n\"; }"
publish "$ZTNC_TEST.port" "$PORT"
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
log "nginx on [::]:$PORT ($ZT_IP6, $ZT_IP, web6.$ZTNC_DNS_DOMAIN) under the intercept library"
exec_in_container nginx -p "$PREFIX" -c "$PREFIX/nginx.conf" -e "$PREFIX/logs/error.log"
