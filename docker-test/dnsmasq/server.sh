#!/bin/bash
# dnsmasq under the intercept library in the server container: an authoritative-only DNS server
# for zone.test (no upstream, not the host's /etc/hosts: a hosts file and rules of its own), on
# port 53 of its own virtual address (UDP and TCP) and nowhere else. The kernel reference uses a
# free port on 127.0.0.1 instead of 53.
ZTNC_ROLE=server
. "$(dirname "$0")/../lib/common.sh"
zt_join
if [ -n "${ZTNC_KERNEL_REFERENCE:-}" ]; then PORT="$(random_port)"; else PORT=53; fi
HOSTS="$ZTNC_WORK/zone.hosts"
cat > "$HOSTS" <<HOSTS
10.9.8.1 alpha.zone.test
10.9.8.2 beta.zone.test
HOSTS
for i in $(seq 1 40); do echo "10.9.9.$i host$i.zone.test"; done >> "$HOSTS"
publish "$ZTNC_TEST.port" "$PORT"
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
log "dnsmasq on $ZT_IP:$PORT (UDP and TCP) under the intercept library"
# -C /dev/null: none of the host's configuration. --bind-interfaces --listen-address: one socket
# per protocol on this address only. --local=/zone.test/: names of the zone it does not know are
# NXDOMAIN. It keeps the user that started it: under the library a program's daemon serves only
# its own user.
exec_in_container dnsmasq --keep-in-foreground -C /dev/null --no-resolv --no-hosts --addn-hosts="$HOSTS" \
  --address=/wild.zone.test/10.9.8.3 --txt-record=txt.zone.test,"ztnc matrix" --local=/zone.test/ \
  --bind-interfaces --listen-address="$ZT_IP" --port="$PORT" \
  --user="$(id -un)" --group="$(id -gn)" --pid-file="$ZTNC_WORK/dnsmasq.pid" --log-queries --log-facility=-
