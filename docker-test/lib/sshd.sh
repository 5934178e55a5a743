# OpenSSH sshd pieces shared by the sshd and ipv6-services rows (sourced after common.sh).

# Server side: a fresh directory <dir> with a host key, a client key that may log in, a 10 MB
# file to fetch, and sshd_config for <port> with the given extra lines (ListenAddress…), checked
# with sshd -t; publishes the client key, the user, the directory and the file's SHA-256.
sshd_prepare() { # sshd_prepare <dir> <port> <extra config lines>
  local d="$1"
  rm -rf "$d"; mkdir -p "$d"; chmod 700 "$d"
  ssh-keygen -q -t ed25519 -N '' -C ztnc-host -f "$d/ssh_host_ed25519_key" || die "ssh-keygen (host key)"
  ssh-keygen -q -t ed25519 -N '' -C ztnc-client -f "$d/client_key" || die "ssh-keygen (client key)"
  cp "$d/client_key.pub" "$d/authorized_keys"
  make_payload "$d/down.bin"
  # The privilege-separated pre-auth child chroots here (the openssh-server package makes it at
  # service start, which never ran).
  if [ "$(id -u)" = 0 ]; then mkdir -p /run/sshd && chmod 755 /run/sshd; fi
  cat > "$d/sshd_config" <<CONF
Port $2
$3
HostKey $d/ssh_host_ed25519_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
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
  /usr/sbin/sshd -t -f "$d/sshd_config" || die "sshd -t rejected the config"
  install -m 600 "$d/client_key" "$ZTNC_SHARED/$ZTNC_TEST.client_key"
  publish "$ZTNC_TEST.user" "$(id -un)"
  publish "$ZTNC_TEST.remote-dir" "$d"
  publish "$ZTNC_TEST.down.sha256" "$(sha256_of "$d/down.bin")"
}
