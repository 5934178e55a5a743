#!/bin/bash
# curl under the library in the monitor container: a 10 MB file with its SHA-256, then 50
# concurrent clients.
exec "$(dirname "$0")/../lib/http-monitor.sh" fetch concurrent
