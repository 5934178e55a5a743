# Shared by every entrypoint (sourced, bash). The same scripts run inside Docker containers
# (test.sh) and as plain processes with separate homes (the local runner); everything they need
# comes from the environment:
#   ZTNC_TEST     test name (results are OK.<test> / FAIL.<test>)
#   ZTNC_SHARED   directory shared by the root, server and monitor (planet, network id,
#                 the network's join token, per-test hand-over files)
#   ZTNC_JOIN_TOKEN  join token the daemon presents (default: the one the root published)
#   ZTNC_RESULTS  where OK.<test> / FAIL.<test> go (default: docker-test/_results)
#   ZT_HOME       this container's daemon home (default /var/lib/ztnc)
#   ZTNC_WORK     scratch directory for the app (default $ZT_HOME/work)
#   ZTNC_INTERCEPT_LIBRARY  libztintercept.so (default: found by ztnc-intercept)
#   ZTNC_TIMEOUT  seconds to wait for each hand-over (default 120)
#   ZTNC_SHARED_DAEMON  endpoints mode: the home of a running daemon that every container shares;
#                 this container is then its endpoint ZTNC_ENDPOINT (default <test>-<role>)
#                 instead of a daemon of its own in ZT_HOME (which then holds only ZTNC_WORK)
# The ztnc-* commands must be on PATH.

set -u

DOCKER_TEST_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${ZTNC_TEST:?ZTNC_TEST must name the test}"
: "${ZTNC_SHARED:?ZTNC_SHARED must name the shared directory}"
ZTNC_RESULTS="${ZTNC_RESULTS:-$DOCKER_TEST_DIR/_results}"
ZT_HOME="${ZT_HOME:-/var/lib/ztnc}"
ZTNC_WORK="${ZTNC_WORK:-$ZT_HOME/work}"
ZTNC_TIMEOUT="${ZTNC_TIMEOUT:-120}"
PAYLOAD_BYTES=$((10 * 1024 * 1024))
export ZTNC_REFUSE_BUILTIN_PLANET=1
mkdir -p "$ZTNC_RESULTS" "$ZTNC_WORK"
# Where this container's daemon lives, and which of its endpoints is this container ('' = the
# daemon's own identity, a daemon per container).
DAEMON_HOME="$ZT_HOME"
ZTNC_ENDPOINT="${ZTNC_ENDPOINT:-}"
if [ -n "${ZTNC_SHARED_DAEMON:-}" ]; then
  DAEMON_HOME="$ZTNC_SHARED_DAEMON"
  ZTNC_ENDPOINT="${ZTNC_ENDPOINT:-$ZTNC_TEST-${ZTNC_ROLE:-container}}"
fi

log() { printf '[%s %s] %s\n' "$ZTNC_TEST" "${ZTNC_ROLE:-?}" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# wait_for <what> <command…>: retries the command every 0.3 s until it succeeds.
wait_for() {
  local what="$1"; shift
  local end=$((SECONDS + ZTNC_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$end" ] || die "timed out after ${ZTNC_TIMEOUT} s waiting for $what"
    sleep 0.3
  done
}

# retry_for <seconds> <command…>: as wait_for, but returns 1 when the time is up (the caller
# fails a check instead of the whole row).
retry_for() {
  local end=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.3
  done
}

# wait_or_fail <what> <command…>: as wait_for, but when the time is up the row fails with a check
# naming what never came and the command's last words, and the monitor ends (the IPv6 rows: a
# row whose first connection never works says so in its result).
wait_or_fail() {
  local what="$1"; shift
  retry_for "$ZTNC_TIMEOUT" "$@" && return 0
  fail "timed out after ${ZTNC_TIMEOUT} s waiting for $what: $("$@" 2>&1 | tail -n 2 | tr '\n' ' ')"
  finish
  exit 1
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Publishes a file to the other side atomically (write, then rename).
publish() { # publish <name> <content>
  printf '%s\n' "$2" > "$ZTNC_SHARED/.$1.tmp" && mv "$ZTNC_SHARED/.$1.tmp" "$ZTNC_SHARED/$1"
}
published() { cat "$ZTNC_SHARED/$1"; }
wait_published() { wait_for "$1 from the other side" test -s "$ZTNC_SHARED/$1"; }
# Monitor side: waits for the server's virtual IP and port; sets SERVER_IP and SERVER_PORT.
wait_server_address() {
  wait_published "$ZTNC_TEST.server-ip"
  wait_published "$ZTNC_TEST.port"
  SERVER_IP="$(published "$ZTNC_TEST.server-ip")"
  SERVER_PORT="$(published "$ZTNC_TEST.port")"
}

# This member's networks as JSON: `ztnc-cli listnetworks` of its daemon, or its endpoint's entry
# in `ztnc-cli endpoint list` (the same network objects).
member_networks() {
  if [ -n "$ZTNC_ENDPOINT" ]; then
    ztnc-cli -D "$DAEMON_HOME" -j endpoint list | node -e '
      let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        const e = JSON.parse(s).find((x) => x.name === process.argv[1]);
        if (!e) process.exit(1);
        console.log(JSON.stringify(e.networks));
      });' "$ZTNC_ENDPOINT"
  else
    ztnc-cli -D "$DAEMON_HOME" -j listnetworks
  fi
}

# The network's address of this member, once its networks show the network OK.
network_address() {
  member_networks | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const n = JSON.parse(s).find((x) => (x.id ?? x.nwid) === process.argv[1]);
      const ip = n && n.status === "OK" && (n.assignedAddresses || []).find((a) => /^\d+\.\d+\.\d+\.\d+\//.test(a));
      if (!ip) process.exit(1);
      console.log(ip.split("/")[0]);
    });' "$NWID"
}

# The member's rfc4193 IPv6 address on the network (fd…, the root's network is dual-stack), from
# the same answer; fails when there is none.
network_address6() {
  member_networks | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const n = JSON.parse(s).find((x) => (x.id ?? x.nwid) === process.argv[1]);
      const ip = n && n.status === "OK" && (n.assignedAddresses || []).find((a) => /^fd[0-9a-f]{2}:/i.test(a));
      if (!ip) process.exit(1);
      // As inet_ntop and the apps print it (RFC 5952: lowercase, longest zero run as ::).
      console.log(new URL(`http://[${ip.split("/")[0]}]/`).hostname.slice(1, -1));
    });' "$NWID"
}

# Starts this container's daemon (-d) on the shared private planet, joined to the shared network
# through networks.d/<nwid>.conf and authorized by the join token in ZTNC_JOIN_TOKEN (as an image
# would be given it; the root's token when unset), with no call to the controller's API; waits for
# an IP. In endpoints mode the container is instead a new endpoint of the shared daemon, joined
# with the same token (`ztnc-cli endpoint create`, `endpoint join --token`). Sets NWID,
# ZT_ADDRESS, ZT_IP and ZT_IP6 (the rfc4193 address; empty when the network gives none: only the
# IPv6 rows need it, and they fail saying so).
zt_join() {
  wait_published nwid
  wait_published planet.ready
  NWID="$(published nwid)"
  if [ -z "${ZTNC_JOIN_TOKEN:-}" ]; then
    wait_published join-token
    ZTNC_JOIN_TOKEN="$(published join-token)"
  fi
  if [ -n "$ZTNC_ENDPOINT" ]; then
    log "creating endpoint $ZTNC_ENDPOINT of the daemon in $DAEMON_HOME, joining $NWID with a join token"
    ZT_ADDRESS="$(ztnc-cli -D "$DAEMON_HOME" endpoint create "$ZTNC_ENDPOINT" | awk '{print $5}')"
    [ -n "$ZT_ADDRESS" ] || die "ztnc-cli endpoint create $ZTNC_ENDPOINT gave no address"
    ztnc-cli -D "$DAEMON_HOME" endpoint join "$ZTNC_ENDPOINT" "$NWID" --token "$ZTNC_JOIN_TOKEN" >/dev/null ||
      die "ztnc-cli endpoint join $ZTNC_ENDPOINT $NWID failed"
  else
    mkdir -p "$ZT_HOME/networks.d"
    chmod 700 "$ZT_HOME"
    : > "$ZT_HOME/networks.d/$NWID.conf"
    log "starting ztnc-service -d in $ZT_HOME, joining $NWID with a join token"
    ZTNC_JOIN_TOKEN="$ZTNC_JOIN_TOKEN" ztnc-service -d -p 0 --api-port 0 --planet "$ZTNC_SHARED/planet" "$ZT_HOME" ||
      die "ztnc-service -d failed"
    ZT_ADDRESS="$(ztnc-cli -D "$ZT_HOME" info | awk '{print $3}')"
    [ -n "$ZT_ADDRESS" ] || die "ztnc-cli info gave no address"
  fi
  wait_for "an address on $NWID (ztnc-cli listnetworks)" network_address
  ZT_IP="$(network_address)"
  # The config that carried the IPv4 address carries the IPv6 ones too.
  ZT_IP6="$(network_address6 2>/dev/null)" || ZT_IP6=""
  log "member $ZT_ADDRESS has $ZT_IP ${ZT_IP6:-(no rfc4193 address)} on $NWID"
}

# IPv6 rows, server side: publishes ZT_IP6 as <test>.server-ip6. Without one it publishes "none"
# (the monitor fails the row saying so) and stays up, as a server does, until it is stopped.
publish_server_ip6() {
  if [ -n "$ZT_IP6" ]; then publish "$ZTNC_TEST.server-ip6" "$ZT_IP6"; return 0; fi
  publish "$ZTNC_TEST.server-ip6" none
  log "member $ZT_ADDRESS has no rfc4193 address on $NWID (ztnc-cli -j listnetworks): nothing to serve over IPv6"
  exec sleep infinity
}
# IPv6 rows, monitor side: waits for the server's IPv6 address; sets SERVER_IP6. Fails the row
# at once, saying which, when the server or this side has no IPv6 address on the network.
wait_server_address6() {
  local why=""
  wait_published "$ZTNC_TEST.server-ip6"
  SERVER_IP6="$(published "$ZTNC_TEST.server-ip6")"
  [ "$SERVER_IP6" = none ] && why="the server's member has no rfc4193 address on the network"
  [ -z "$ZT_IP6" ] && why="${why:+$why; }this member ($ZT_ADDRESS) has no rfc4193 address on the network"
  if [ -n "$why" ]; then
    fail "IPv6: $why (ztnc-cli -j listnetworks assignedAddresses; is the network's v6AssignMode rfc4193 on?)"
    finish
    exit 1
  fi
}

# Stops this container's daemon (when the entrypoint ends); in endpoints mode, deletes its
# endpoint (it leaves the network; the shared daemon stays for the other containers).
zt_stop() {
  if [ -n "$ZTNC_ENDPOINT" ]; then
    ztnc-cli -D "$DAEMON_HOME" endpoint delete "$ZTNC_ENDPOINT" >/dev/null 2>&1 || true
  elif [ -s "$ZT_HOME/ztnc.pid" ]; then
    kill "$(cat "$ZT_HOME/ztnc.pid")" 2>/dev/null || true
  fi
}

# zt_wait_stopped: returns once this container's daemon has stopped (its endpoint gone, in
# endpoints mode), for server sides whose daemon alone does the serving.
zt_wait_stopped() {
  if [ -n "$ZTNC_ENDPOINT" ]; then
    while ztnc-cli -D "$DAEMON_HOME" endpoint list 2>/dev/null | awk -v n="$ZTNC_ENDPOINT" '$4 == n { f = 1 } END { exit !f }'; do
      sleep 1
    done
  else
    while [ -s "$ZT_HOME/ztnc.pid" ] && kill -0 "$(cat "$ZT_HOME/ztnc.pid")" 2>/dev/null; do sleep 1; done
  fi
}

# The command words that run a program under the library on this container's network (the
# preloaded library when ZTNC_INTERCEPT_LIBRARY names it, else ztnc-intercept), in LIBRARY_COMMAND.
library_command() {
  if [ -n "${ZTNC_INTERCEPT_LIBRARY:-}" ]; then
    LIBRARY_COMMAND=(env LD_PRELOAD="$ZTNC_INTERCEPT_LIBRARY" ZT_NC_NWID="$NWID" ZT_NC_HOME="$DAEMON_HOME")
    [ -n "$ZTNC_ENDPOINT" ] && LIBRARY_COMMAND+=(ZT_NC_ENDPOINT="$ZTNC_ENDPOINT")
  else
    LIBRARY_COMMAND=(ztnc-intercept -D "$DAEMON_HOME")
    [ -n "$ZTNC_ENDPOINT" ] && LIBRARY_COMMAND+=(-e "$ZTNC_ENDPOINT")
    LIBRARY_COMMAND+=(-n "$NWID" --)
  fi
  return 0
}

# in_container <command…>: runs a command with its sockets on the virtual network.
in_container() {
  library_command
  "${LIBRARY_COMMAND[@]}" "$@"
}

# exec_in_container <command…>: replaces this shell by the command, on the virtual network.
exec_in_container() {
  library_command
  exec "${LIBRARY_COMMAND[@]}" "$@"
}

# in_client <command…>: as in_container, for the clients of a row: when this side may make network
# namespaces (root, outside a locked-down container), the command runs in an empty one of its own
# (`unshare -n`), so a socket call the library does not carry fails instead of reaching the host's
# network. The kernel reference runs it as it is (its apps meet on the host's loopback). A client
# that hangs is stopped after ZTNC_CLIENT_TIMEOUT seconds (default 60; exit status 124), so it fails
# its check instead of the whole row.
CLIENT_NETNS=()
if [ -z "${ZTNC_KERNEL_REFERENCE:-}" ] && unshare -n true 2>/dev/null; then CLIENT_NETNS=(unshare -n); fi
in_client() {
  local limit=(timeout -k 5 "${ZTNC_CLIENT_TIMEOUT:-60}")
  if [ -n "${ZTNC_KERNEL_REFERENCE:-}" ]; then
    "${limit[@]}" "$@"
  else
    library_command
    "${limit[@]}" "${CLIENT_NETNS[@]}" "${LIBRARY_COMMAND[@]}" "$@"
  fi
}
# exec_in_client <command…>: replaces this shell by the command, as in_client runs it (no time
# limit: for clients that run in the background until stopped).
exec_in_client() {
  if [ -n "${ZTNC_KERNEL_REFERENCE:-}" ]; then
    exec "$@"
  else
    library_command
    exec "${CLIENT_NETNS[@]}" "${LIBRARY_COMMAND[@]}" "$@"
  fi
}

# Names of the network. The root gives the network the DNS domain ZTNC_DNS_DOMAIN (no servers)
# when it creates it, and applies what the sides ask through the shared directory:
#   names/<member address>  the member's name (controller: member "name")
#   dns                     the network's "dns" object (JSON: domain and servers)
# and acknowledges each in names.applied/<address> and dns.applied once the controller took it
# (the controller then pushes the config to every member).
ZTNC_DNS_DOMAIN="${ZTNC_DNS_DOMAIN:-matrix.ztnc}"
# write_shared <path under ZTNC_SHARED> <content>: written whole, then renamed into place.
# The temp file starts with a dot, so the root's `names/*` never sees it.
write_shared() {
  local dir tmp
  dir="$(dirname "$ZTNC_SHARED/$1")"
  tmp="$dir/.$(basename "$1").tmp.$$"
  mkdir -p "$dir"
  printf '%s\n' "$2" > "$tmp" && mv "$tmp" "$ZTNC_SHARED/$1"
}
shared_is() { [ "$(cat "$ZTNC_SHARED/$1" 2>/dev/null)" = "$2" ]; }
# zt_name_member <name>: names this member on the network (<name>.$ZTNC_DNS_DOMAIN); returns once
# the controller has it.
zt_name_member() {
  [ -n "${ZTNC_KERNEL_REFERENCE:-}" ] && return 0
  write_shared "names/$ZT_ADDRESS" "$1"
  wait_for "the controller to name $ZT_ADDRESS '$1'" shared_is "names.applied/$ZT_ADDRESS" "$1"
}
# zt_set_dns <json>: sets the network's dns object, e.g. '{"domain":"matrix.ztnc","servers":["10.147.20.5"]}'.
zt_set_dns() {
  [ -n "${ZTNC_KERNEL_REFERENCE:-}" ] && return 0
  write_shared dns "$1"
  wait_for "the controller to take dns $1" shared_is dns.applied "$1"
}
# The network's dns object as the root makes it: the domain, no servers.
DEFAULT_DNS="{\"domain\":\"$ZTNC_DNS_DOMAIN\",\"servers\":[]}"

# Monitor side: every check appends a line; finish writes OK.<test> or FAIL.<test>.
CHECKS_FILE="$ZTNC_WORK/checks.$ZTNC_TEST"
FAILED=0
: > "$CHECKS_FILE"
pass() { printf 'ok      %s\n' "$*" >> "$CHECKS_FILE"; log "ok: $*"; }
fail() { printf 'FAILED  %s\n' "$*" >> "$CHECKS_FILE"; log "FAILED: $*"; FAILED=1; }
# Something worth knowing that the check does not judge (e.g. a program's warnings on stderr).
note() { printf 'note    %s\n' "$*" >> "$CHECKS_FILE"; log "note: $*"; }
# note_stderr <what> <file>: notes the distinct lines a program wrote to stderr, if any.
note_stderr() {
  [ -s "$2" ] && note "$1 wrote to stderr: $(sort -u "$2" | head -n 5 | tr '\n' ';')"
  return 0
}
# expect_equal <what> <got> <expected>
expect_equal() {
  if [ "$2" = "$3" ]; then pass "$1 ($2)"; else fail "$1: got '$2', expected '$3'"; fi
}

finish() {
  local out
  {
    echo "test: $ZTNC_TEST"
    echo "network: ${NWID:-?}  server: $(cat "$ZTNC_SHARED/$ZTNC_TEST.server-ip" 2>/dev/null || echo ?)  monitor: ${ZT_IP:-?}"
    echo "member: ${ZT_ADDRESS:-?}${ZTNC_ENDPOINT:+ endpoint $ZTNC_ENDPOINT}"
    [ -e "$ZTNC_SHARED/$ZTNC_TEST.server-ip6" ] && echo "ipv6: server: $(cat "$ZTNC_SHARED/$ZTNC_TEST.server-ip6")  monitor: ${ZT_IP6:-none}"
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    cat "$CHECKS_FILE"
  } > "$ZTNC_WORK/result.$ZTNC_TEST"
  if [ "$FAILED" = 0 ] && grep -q '^ok' "$CHECKS_FILE"; then out="OK.$ZTNC_TEST"; else out="FAIL.$ZTNC_TEST"; fi
  rm -f "$ZTNC_RESULTS/OK.$ZTNC_TEST" "$ZTNC_RESULTS/FAIL.$ZTNC_TEST"
  mv "$ZTNC_WORK/result.$ZTNC_TEST" "$ZTNC_RESULTS/$out"
  log "wrote $ZTNC_RESULTS/$out"
  [ "$out" = "OK.$ZTNC_TEST" ]
}

# Makes a random payload of PAYLOAD_BYTES (or $2 bytes) at $1.
make_payload() { head -c "${2:-$PAYLOAD_BYTES}" /dev/urandom > "$1"; }

# A port for the app, chosen by the server side and handed over with its address.
# One nobody listens on at the host (TCP or UDP), so the isolation check's `ss -ltn` means something.
random_port() {
  local p
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    p=$((20000 + RANDOM % 20000))
    if ! command -v ss >/dev/null || [ -z "$(ss -ltunH "( sport = :$p or sport = :$((p + 1)) )" 2>/dev/null)" ]; then break; fi
  done
  echo "$p"
}

# ZTNC_KERNEL_REFERENCE=1: the same checks with no daemon and no library, over the kernel's
# loopback. It proves the scripts and the apps themselves (and is the reference the benchmarks
# compare with); the isolation test is meaningless there.
if [ -n "${ZTNC_KERNEL_REFERENCE:-}" ]; then
  zt_join() { NWID=kernel; ZT_ADDRESS=kernel; ZT_IP=127.0.0.1; ZT_IP6=::1; log "kernel reference: no daemon, apps on 127.0.0.1 and ::1"; }
  zt_stop() { :; }
  in_container() { "$@"; }
  exec_in_container() { exec "$@"; }
fi
