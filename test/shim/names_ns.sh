#!/bin/sh
# Runs a command in a private mount and network namespace (run as: unshare -mn sh names_ns.sh …)
# whose /etc/hosts, /etc/nsswitch.conf and /etc/resolv.conf are the test's, with only loopback up:
# the program under test reads the real paths, and nothing it sends can leave the namespace.
#
#   names_ns.sh <dir> [--dns <table.json>] -- command args…
#
# <dir> holds hosts, nsswitch.conf and resolv.conf. With --dns, a DNS server answering the table
# (names_daemon.py dns) listens on 127.0.0.1:53 first — the glibc reference runs.
set -eu
dir=$1
shift
table=
if [ "$1" = "--dns" ]; then
  table=$2
  shift 2
fi
[ "$1" = "--" ] && shift
mount --make-rprivate /
for f in hosts nsswitch.conf resolv.conf; do
  mount --bind "$dir/$f" "/etc/$f"
done
ip link set lo up
if [ -n "$table" ]; then
  ready=$(mktemp)
  python3 "$(dirname "$0")/names_daemon.py" dns 127.0.0.1 "$table" >"$ready" 2>"$dir/dns.err" &
  i=0
  while ! grep -q READY "$ready"; do
    i=$((i + 1))
    [ $i -gt 150 ] && { echo "DNS server did not start: $(cat "$dir/dns.err")" >&2; exit 1; }
    sleep 0.1
  done
fi
set +e
"$@"
status=$?
[ -n "$table" ] && kill %1 2>/dev/null && rm -f "$ready"
exit $status
