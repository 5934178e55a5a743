#!/bin/bash
# curl under the library in the monitor container fetches a 10 MB file; SHA-256 equal.
ZTNC_ROLE=monitor
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/http.sh"
trap zt_stop EXIT
zt_join
http_wait_server
http_check_fetch
finish
