#!/bin/bash
# apache2 with its own config file in a temp ServerRoot (not the system service), MPM from
# APACHE_MPM (prefork or event). Apache's children take connections from the listener the parent
# opened; they make socket calls too (getsockname, TCP_NODELAY), and the daemon only serves its
# own user, so when started as root the whole server side (daemon and apache) runs as www-data.
ZTNC_ROLE=server
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/http.sh"
: "${APACHE_MPM:?APACHE_MPM must be prefork or event}"
RUN_AS="${ZTNC_APACHE_USER:-www-data}"

if [ "$(id -u)" = 0 ] && [ -z "${ZTNC_DROPPED:-}" ]; then
  mkdir -p "$ZT_HOME" "$ZTNC_WORK"
  chown -R "$RUN_AS:" "$ZT_HOME" "$ZTNC_WORK"
  chmod 1777 "$ZTNC_SHARED" "$ZTNC_SHARED/members"
  # The root publishes its join token 0600: read it here and hand it on, as an image's environment would.
  if [ -z "${ZTNC_JOIN_TOKEN:-}" ]; then
    wait_published join-token
    ZTNC_JOIN_TOKEN="$(published join-token)"
    export ZTNC_JOIN_TOKEN
  fi
  ZTNC_DROPPED=1 exec setpriv --reuid="$RUN_AS" --regid="$RUN_AS" --clear-groups "$0" "$@"
fi

zt_join
PORT="$(random_port)"
ROOT="$ZTNC_WORK/apache2"
WWW="$ROOT/www"
mkdir -p "$ROOT/logs"
http_prepare_www "$WWW"
MODULES=/usr/lib/apache2/modules
case "$APACHE_MPM" in
  prefork) MPM_CONF="StartServers 4
MinSpareServers 4
MaxSpareServers 16
ServerLimit 64
MaxRequestWorkers 64" ;;
  event) MPM_CONF="StartServers 2
ServerLimit 4
ThreadsPerChild 25
MaxRequestWorkers 100
MinSpareThreads 25
MaxSpareThreads 75" ;;
  *) die "APACHE_MPM must be prefork or event, not $APACHE_MPM" ;;
esac
cat > "$ROOT/httpd.conf" <<CONF
ServerRoot "$ROOT"
ServerName ztnc-$ZTNC_TEST
User $(id -un)
Group $(id -gn)
Listen $ZT_IP:$PORT
PidFile "$ROOT/httpd.pid"
Mutex file:$ROOT default
LoadModule mpm_${APACHE_MPM}_module $MODULES/mod_mpm_${APACHE_MPM}.so
LoadModule authz_core_module $MODULES/mod_authz_core.so
LoadModule mime_module $MODULES/mod_mime.so
TypesConfig /etc/mime.types
LoadModule dir_module $MODULES/mod_dir.so
$MPM_CONF
ErrorLog "$ROOT/logs/error.log"
LogLevel warn
EnableSendfile On
KeepAlive On
MaxKeepAliveRequests 100
KeepAliveTimeout 5
DocumentRoot "$WWW"
<Directory "$WWW">
  Require all granted
</Directory>
CONF
publish "$ZTNC_TEST.port" "$PORT"
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
log "apache2 ($APACHE_MPM MPM) on $ZT_IP:$PORT under the intercept library"
in_container apache2 -f "$ROOT/httpd.conf" -DFOREGROUND
status=$?
log "apache2 exited ($status); error log: $(tail -n 5 "$ROOT/logs/error.log" 2>/dev/null | tr '\n' ' ')"
exit "$status"
