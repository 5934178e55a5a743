#!/bin/bash
# The compatibility matrix without Docker: the same entrypoint scripts as plain processes, each
# "container" a ztnc-service with its own home (needs `npm run build` first; root for sshd and
# apache2, and the apps installed on this machine). Results go to docker-test/_results.
# Usage: docker-test/run-local.sh [--kernel | --endpoints] [substring…]
exec node "$(cd "$(dirname "$0")/.." && pwd)/dist/src/demo/run-matrix.js" "$@"
