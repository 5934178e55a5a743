#!/bin/bash
# memcached under the intercept library in the server container, with its UDP port on (-U) beside
# TCP, both on the same port number of its virtual address.
ZTNC_ROLE=server
. "$(dirname "$0")/../lib/common.sh"
zt_join
PORT="$(random_port)"
publish "$ZTNC_TEST.port" "$PORT"
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
log "memcached on $ZT_IP:$PORT (TCP and UDP) under the intercept library"
# -u: memcached refuses to run as root unless told which user to be; it stays the user that
# started it (under the library a program's daemon serves only its own user).
exec_in_container memcached -l "$ZT_IP" -p "$PORT" -U "$PORT" -u "$(id -un)" -t 2 -m 64
