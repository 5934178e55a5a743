#!/bin/bash
# The private root+controller: starts `ztnc-service -d --private-planet`, creates a private
# dual-stack network through `ztnc-cli net create` (IPv4 pool ZTNC_POOL, rfc4193 IPv6 addresses)
# with the DNS domain ZTNC_DNS_DOMAIN (matrix.ztnc), issues a join token for it (`ztnc-cli net token
# create`, any number of members, valid for ZTNC_TOKEN_TTL), publishes the planet, network id and
# token to ZTNC_SHARED, then until ZTNC_SHARED/stop appears or it is told to stop applies the member
# names and the network's dns object the sides ask for (names/<address>, dns; see lib/common.sh:
# zt_name_member, zt_set_dns). Members authorize themselves with the token: nobody calls the API
# for them.
ZTNC_ROLE=root
ZTNC_TEST="${ZTNC_TEST:-root}"
. "$(dirname "$0")/../lib/common.sh"

stopping=0
trap 'stopping=1' TERM INT
mkdir -p "$ZT_HOME"
chmod 700 "$ZT_HOME"
log "starting ztnc-service -d --private-planet in $ZT_HOME"
ztnc-service -d -p 0 --api-port 0 --private-planet "$ZT_HOME" || die "ztnc-service -d --private-planet failed"
NWID="$(ztnc-cli -D "$ZT_HOME" net create --name ztnc-matrix --pool "${ZTNC_POOL:-10.147.20.0/24}" --private)" || die "net create failed"
NWID="$(printf '%s' "$NWID" | grep -oE '[0-9a-f]{16}' | head -n1)"
[ -n "$NWID" ] || die "net create printed no network id"
controller() { ztnc-cli -D "$ZT_HOME" "$@" >/dev/null; }
# Dual stack, as ZeroTier networks are in practice: each member also gets its rfc4193 address
# (fd + network id + 9993 + member address, /88), which the IPv6 rows use.
controller POST "/controller/network/$NWID" "{\"dns\":$DEFAULT_DNS,\"v6AssignMode\":{\"zt\":false,\"rfc4193\":true,\"6plane\":false}}" ||
  die "setting the network's dns and v6AssignMode failed"
# What an image's entrypoint gets as ZTNC_JOIN_TOKEN: members come up authorized on their own.
TOKEN_JSON="$(ztnc-cli -D "$ZT_HOME" net token create "$NWID" --uses 0 --expires "${ZTNC_TOKEN_TTL:-1d}" --name docker-test)" ||
  die "net token create failed"
JOIN_TOKEN="$(printf '%s' "$TOKEN_JSON" | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s).token))')"
[ -n "$JOIN_TOKEN" ] || die "net token create printed no token"
cp "$ZT_HOME/planet" "$ZTNC_SHARED/.planet.tmp" && mv "$ZTNC_SHARED/.planet.tmp" "$ZTNC_SHARED/planet"
( umask 077 && publish join-token "$JOIN_TOKEN" )
publish planet.ready yes
publish nwid "$NWID"
log "network $NWID ready; members join with its token"

while [ "$stopping" = 0 ] && [ ! -e "$ZTNC_SHARED/stop" ]; do
  for f in "$ZTNC_SHARED"/names/*; do
    [ -f "$f" ] || continue
    addr="$(basename "$f")"
    name="$(cat "$f")"
    shared_is "names.applied/$addr" "$name" && continue
    if controller POST "/controller/network/$NWID/member/$addr" "{\"name\":\"$name\"}"; then
      write_shared "names.applied/$addr" "$name"
      log "named $addr '$name'"
    fi
  done
  if [ -f "$ZTNC_SHARED/dns" ]; then
    dns="$(cat "$ZTNC_SHARED/dns")"
    if ! shared_is dns.applied "$dns" && controller POST "/controller/network/$NWID" "{\"dns\":$dns}"; then
      write_shared dns.applied "$dns"
      log "network dns: $dns"
    fi
  fi
  sleep 0.3
done
log "stopping"
zt_stop
