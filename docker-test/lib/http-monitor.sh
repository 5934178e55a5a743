#!/bin/bash
# The monitor side of the plain HTTP tests (apache2-event, apache2-prefork, nginx, python): joins,
# waits for the server to answer under the library, then runs the named checks of http.sh in
# order (`fetch`, `concurrent`, `keepalive`: http_check_<name>) and writes the verdict.
# Usage: lib/http-monitor.sh <check>...
ZTNC_ROLE=monitor
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/http.sh"
trap zt_stop EXIT
zt_join
http_wait_server
for check in "$@"; do
  "http_check_$check"
done
finish
