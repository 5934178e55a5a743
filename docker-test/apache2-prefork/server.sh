#!/bin/bash
# apache2, prefork MPM, under the intercept library in the server container.
APACHE_MPM=prefork exec "$(dirname "$0")/../lib/apache2-server.sh" "$@"
