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
mkdir -p "$PREFIX/logs"
http_prepare_www "$WWW"
# Workers run as this user: the daemon serves only its own user's programs.
cat > "$PREFIX/nginx.conf" <<CONF
user $(id -un) $(id -gn);
worker_processes 2;
daemon off;
pid $PREFIX/nginx.pid;
error_log $PREFIX/logs/error.log warn;
events { use epoll; worker_connections 512; }
http {
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 1000;
  access_log off;
  default_type application/octet-stream;
  client_body_temp_path $PREFIX/body; proxy_temp_path $PREFIX/proxy; fastcgi_temp_path $PREFIX/fastcgi;
  uwsgi_temp_path $PREFIX/uwsgi; scgi_temp_path $PREFIX/scgi;
  server {
    # The only listener: IPv6 clients and, through it, IPv4 ones (as ::ffff:a.b.c.d).
    listen [::]:$PORT ipv6only=off;
    root $WWW;
    location = /peer { default_type text/plain; return 200 "\$remote_addr \$server_addr\n"; }
  }
}
CONF
publish "$ZTNC_TEST.port" "$PORT"
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
log "nginx on [::]:$PORT ($ZT_IP6, $ZT_IP, web6.$ZTNC_DNS_DOMAIN) under the intercept library"
exec_in_container nginx -p "$PREFIX" -c "$PREFIX/nginx.conf" -e "$PREFIX/logs/error.log"
