#!/bin/bash
# The server side of the isolation test is the python row's server: python3 -m http.server under
# the library (the monitor side differs).
exec "$(dirname "$0")/../python/server.sh" "$@"
