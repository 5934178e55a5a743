#!/bin/bash
# curl under the library in the monitor container: a 10 MB file with its SHA-256, 50 concurrent
# clients, and keep-alive reuse of one connection for two requests.
exec "$(dirname "$0")/../lib/http-monitor.sh" fetch concurrent keepalive
