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
    listen $ZT_IP:$PORT;
    root $WWW;
  }
}
CONF
publish "$ZTNC_TEST.port" "$PORT"
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
log "nginx on $ZT_IP:$PORT under the intercept library"
exec_in_container nginx -p "$PREFIX" -c "$PREFIX/nginx.conf" -e "$PREFIX/logs/error.log"
