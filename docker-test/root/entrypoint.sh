#!/bin/bash
# The private root+controller: starts `ztnc-service -d --private-planet`, creates a private
# network through `ztnc-cli net create`, publishes the planet and network id to ZTNC_SHARED, then
# authorizes every member that writes its address to ZTNC_SHARED/members/ until ZTNC_SHARED/stop
# appears or it is told to stop.
ZTNC_ROLE=root
ZTNC_TEST="${ZTNC_TEST:-root}"
. "$(dirname "$0")/../lib/common.sh"

stopping=0
trap 'stopping=1' TERM INT
mkdir -p "$ZT_HOME" "$ZTNC_SHARED/authorized"
chmod 700 "$ZT_HOME"
log "starting ztnc-service -d --private-planet in $ZT_HOME"
ztnc-service -d -p 0 --api-port 0 --private-planet "$ZT_HOME" || die "ztnc-service -d --private-planet failed"
NWID="$(ztnc-cli -D "$ZT_HOME" net create --name ztnc-matrix --pool "${ZTNC_POOL:-10.147.20.0/24}" --private)" || die "net create failed"
NWID="$(printf '%s' "$NWID" | grep -oE '[0-9a-f]{16}' | head -n1)"
[ -n "$NWID" ] || die "net create printed no network id"
cp "$ZT_HOME/planet" "$ZTNC_SHARED/.planet.tmp" && mv "$ZTNC_SHARED/.planet.tmp" "$ZTNC_SHARED/planet"
publish planet.ready yes
publish nwid "$NWID"
log "network $NWID ready; authorizing members as they appear"

while [ "$stopping" = 0 ] && [ ! -e "$ZTNC_SHARED/stop" ]; do
  for f in "$ZTNC_SHARED"/members/*; do
    [ -e "$f" ] || continue
    addr="$(basename "$f")"
    [ -e "$ZTNC_SHARED/authorized/$addr" ] && continue
    if ztnc-cli -D "$ZT_HOME" net authorize "$NWID" "$addr" >/dev/null; then
      : > "$ZTNC_SHARED/authorized/$addr"
      log "authorized $addr"
    fi
  done
  sleep 0.3
done
log "stopping"
zt_stop
