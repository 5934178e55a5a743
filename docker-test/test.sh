#!/bin/bash
# Runs the compatibility matrix in Docker containers (after build.sh): one root+controller
# container, then per test a server container and a monitor container, all on the host network
# (the private planet's root answers on 127.0.0.1) with a shared directory for the hand-over.
# Each monitor writes docker-test/_results/OK.<test> or FAIL.<test> holding what it checked.
# Usage: docker-test/test.sh [substring]   (only the tests whose name contains it)
# Without a Docker engine, run-local.sh runs the same entrypoints as plain processes.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
filter="${1:-}"
results="$here/_results"
shared="$(mktemp -d)"
chmod 1777 "$shared"
mkdir -p "$results"
tag="ztnc-$$"
common=(--network host -v "$shared:/shared" -e ZTNC_SHARED=/shared -e ZTNC_RESULTS=/results -v "$results:/results")
# Monitors run their clients in an empty network namespace of their own (lib/common.sh: in_client;
# the quic row also gives it a route): unshare(CLONE_NEWNET) and configuring lo in it.
monitor_caps=(--cap-add SYS_ADMIN --cap-add NET_ADMIN --security-opt seccomp=unconfined --security-opt apparmor=unconfined)
cleanup() {
  touch "$shared/stop"
  docker ps -aq --filter "name=^$tag-" | xargs -r docker rm -f >/dev/null
  rm -rf "$shared"
}
trap cleanup EXIT

docker run -d --name "$tag-root" "${common[@]}" -e ZTNC_TEST=root ztnc-test-base /opt/ztnc/docker-test/root/entrypoint.sh >/dev/null
failed=0
while read -r t; do
  [ -z "$t" ] || [[ "$t" != *"$filter"* ]] && continue
  rm -f "$results/OK.$t" "$results/FAIL.$t"
  echo "== $t"
  docker run -d --name "$tag-$t-server" "${common[@]}" -e ZTNC_TEST="$t" "ztnc-test-$t" >/dev/null
  docker run --name "$tag-$t-monitor" "${common[@]}" "${monitor_caps[@]}" -e ZTNC_TEST="$t" "ztnc-test-$t" "/opt/ztnc/docker-test/$t/monitor.sh"
  if [ -e "$results/OK.$t" ]; then
    echo "OK   $t"
  else
    echo "FAIL $t"; failed=1
    [ -e "$results/FAIL.$t" ] || { echo "no result written"; docker logs "$tag-$t-server" 2>&1 | tail -n 20; } > "$results/FAIL.$t"
  fi
  docker rm -f "$tag-$t-server" "$tag-$t-monitor" >/dev/null
done < "$here/tests.list"
exit "$failed"
