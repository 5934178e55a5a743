#!/bin/bash
# nginx with a default-style config (epoll, sendfile on, two worker processes, keep-alive) in a
# temp prefix, under the intercept library in the server container.
ZTNC_ROLE=server
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/http.sh"
zt_join
PORT="$(random_port)"
PREFIX="$ZTNC_WORK/nginx"
WWW="$PREFIX/www"
http_prepare_www "$WWW"
nginx_write_conf "$PREFIX" "    listen $ZT_IP:$PORT;
    root $WWW;"
publish "$ZTNC_TEST.port" "$PORT"
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
log "nginx on $ZT_IP:$PORT under the intercept library"
exec_in_container nginx -p "$PREFIX" -c "$PREFIX/nginx.conf" -e "$PREFIX/logs/error.log"
