#!/bin/bash
# curl under the library in the monitor container: a 10 MB file with its SHA-256, then 50
# concurrent clients.
ZTNC_ROLE=monitor
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/http.sh"
trap zt_stop EXIT
zt_join
http_wait_server
http_check_fetch
http_check_concurrent
finish
