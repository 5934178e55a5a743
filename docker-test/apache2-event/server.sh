#!/bin/bash
# apache2, event MPM, under the intercept library in the server container.
APACHE_MPM=event exec "$(dirname "$0")/../lib/apache2-server.sh" "$@"
