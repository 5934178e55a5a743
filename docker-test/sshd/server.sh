#!/bin/bash
# OpenSSH sshd (privilege separation on, as OpenSSH always has it now) under the intercept
# library in the server container: its own config, host key generated into a temp dir, a
# non-default port, login with a generated key for the user running it.
ZTNC_ROLE=server
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sshd.sh"
zt_join
PORT="$(random_port)"
D="$ZTNC_WORK/sshd"
sshd_prepare "$D" "$PORT" "ListenAddress $ZT_IP"
publish "$ZTNC_TEST.port" "$PORT"
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
log "sshd on $ZT_IP:$PORT under the intercept library"
exec_in_container /usr/sbin/sshd -D -e -f "$D/sshd_config"
