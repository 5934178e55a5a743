#!/bin/bash
# The server side of the isolation test: python3 -m http.server under the library.
ZTNC_ROLE=server
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/http.sh"
zt_join
PORT="$(random_port)"
WWW="$ZTNC_WORK/www"
http_prepare_www "$WWW"
publish "$ZTNC_TEST.port" "$PORT"
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
log "python3 -m http.server on $ZT_IP:$PORT under the intercept library"
exec_in_container python3 -m http.server "$PORT" --bind "$ZT_IP" --directory "$WWW"
