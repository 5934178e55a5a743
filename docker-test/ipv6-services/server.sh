#!/bin/bash
# redis-server and OpenSSH sshd (privilege separation, as the sshd row) under the intercept
# library in the server container, both listening on the member's rfc4193 address only: redis on
# the published port, sshd on the next one.
ZTNC_ROLE=server
. "$(dirname "$0")/../lib/common.sh"
REDIS_PID=
cleanup() { [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null; zt_stop; }
trap cleanup EXIT
zt_join
publish_server_ip6
PORT="$(random_port)"
SSH_PORT=$((PORT + 1))
mkdir -p "$ZTNC_WORK/redis"
log "redis-server on [$ZT_IP6]:$PORT under the intercept library"
(exec_in_container redis-server --port "$PORT" --bind "$ZT_IP6" --protected-mode no --save '' --appendonly no --dir "$ZTNC_WORK/redis") \
  >"$ZTNC_WORK/redis.log" 2>&1 &
REDIS_PID=$!

D="$ZTNC_WORK/sshd"
rm -rf "$D"; mkdir -p "$D"; chmod 700 "$D"
ssh-keygen -q -t ed25519 -N '' -C ztnc-host -f "$D/ssh_host_ed25519_key" || die "ssh-keygen (host key)"
ssh-keygen -q -t ed25519 -N '' -C ztnc-client -f "$D/client_key" || die "ssh-keygen (client key)"
cp "$D/client_key.pub" "$D/authorized_keys"
make_payload "$D/down.bin"
# The privilege-separated pre-auth child chroots here (the openssh-server package makes it at
# service start, which never ran).
if [ "$(id -u)" = 0 ]; then mkdir -p /run/sshd && chmod 755 /run/sshd; fi
cat > "$D/sshd_config" <<CONF
Port $SSH_PORT
ListenAddress $ZT_IP6
AddressFamily inet6
HostKey $D/ssh_host_ed25519_key
PidFile $D/sshd.pid
AuthorizedKeysFile $D/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
Subsystem sftp /usr/lib/openssh/sftp-server
LogLevel VERBOSE
CONF
/usr/sbin/sshd -t -f "$D/sshd_config" || die "sshd -t rejected the config"
install -m 600 "$D/client_key" "$ZTNC_SHARED/$ZTNC_TEST.client_key"
publish "$ZTNC_TEST.user" "$(id -un)"
publish "$ZTNC_TEST.remote-dir" "$D"
publish "$ZTNC_TEST.down.sha256" "$(sha256_of "$D/down.bin")"
publish "$ZTNC_TEST.ssh-port" "$SSH_PORT"
publish "$ZTNC_TEST.port" "$PORT"
publish "$ZTNC_TEST.server-ip" "$ZT_IP"
log "sshd on [$ZT_IP6]:$SSH_PORT under the intercept library"
in_container /usr/sbin/sshd -D -e -f "$D/sshd_config"
