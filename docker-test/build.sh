#!/bin/bash
# Builds the Docker images of the compatibility matrix (hosts with a Docker engine):
#   ztnc-test-base      ztnc built from this checkout and installed on a Debian base
#   ztnc-test-<test>    the base plus the app of each test in tests.list
# Usage: docker-test/build.sh [substring]   (only the tests whose name contains it)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
filter="${1:-}"
export DOCKER_BUILDKIT=1
docker build -f "$here/base.Dockerfile" -t ztnc-test-base "$repo"
while read -r t; do
  [ -z "$t" ] || [[ "$t" != *"$filter"* ]] && continue
  docker build -t "ztnc-test-$t" "$here/$t"
done < "$here/tests.list"
