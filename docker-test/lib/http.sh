# HTTP server and monitor pieces shared by the apache2, nginx, python and node tests (sourced
# after common.sh).

CONCURRENT_CLIENTS=50
SMALL_BYTES=$((256 * 1024))
# How the checks run curl: HTTP_CLIENT is in_container (default) or in_client (an empty network
# namespace of its own); HTTP_CURL_ARGS go before curl's other arguments (the IPv6 rows: -6).
HTTP_CLIENT=in_container
HTTP_CURL_ARGS=()

# Server side: a document root with a 10 MB and a 256 KB random file; publishes their SHA-256.
http_prepare_www() { # http_prepare_www <dir>
  mkdir -p "$1"
  make_payload "$1/payload.bin"
  make_payload "$1/small.bin" "$SMALL_BYTES"
  publish "$ZTNC_TEST.sha256" "$(sha256_of "$1/payload.bin")"
  publish "$ZTNC_TEST.small.sha256" "$(sha256_of "$1/small.bin")"
}

# Monitor side: waits for the server's address and port, then for it to answer under the library.
http_wait_server() {
  wait_server_address
  BASE_URL="http://$SERVER_IP:$SERVER_PORT"
  wait_for "the server at $BASE_URL" "$HTTP_CLIENT" curl "${HTTP_CURL_ARGS[@]}" -sS --fail --max-time 5 -o /dev/null "$BASE_URL/small.bin"
}

# The same over IPv6 (the IPv6 rows): curl -6 in an empty network namespace of its own, to the
# server's rfc4193 address; sets SERVER_IP6 and BASE_URL too.
http_wait_server6() {
  wait_server_address
  wait_server_address6
  HTTP_CLIENT=in_client
  HTTP_CURL_ARGS=(-6)
  BASE_URL="http://[$SERVER_IP6]:$SERVER_PORT"
  wait_or_fail "the server at $BASE_URL" "$HTTP_CLIENT" curl "${HTTP_CURL_ARGS[@]}" -sS --fail --max-time 5 -o /dev/null "$BASE_URL/small.bin"
}

# curl fetches the 10 MB file; its SHA-256 must equal the server's.
http_check_fetch() {
  local out="$ZTNC_WORK/fetch.bin"
  rm -f "$out"
  if "$HTTP_CLIENT" curl "${HTTP_CURL_ARGS[@]}" -sS --fail --max-time 180 -o "$out" "$BASE_URL/payload.bin" 2>"$ZTNC_WORK/curl.err"; then
    expect_equal "$(http_curl_name) GET $BASE_URL/payload.bin: $(stat -c %s "$out") bytes, SHA-256" "$(sha256_of "$out")" "$(published "$ZTNC_TEST.sha256")"
  else
    fail "$(http_curl_name) GET $BASE_URL/payload.bin: $(tr '\n' ' ' < "$ZTNC_WORK/curl.err")"
  fi
}

# 50 curl processes at once, each fetching the 256 KB file; every copy's SHA-256 must match.
http_check_concurrent() {
  local dir="$ZTNC_WORK/concurrent" expected good=0 i
  rm -rf "$dir"; mkdir -p "$dir"
  expected="$(published "$ZTNC_TEST.small.sha256")"
  "$HTTP_CLIENT" bash -c '
    n="$1" d="$2" url="$3"; shift 3
    for i in $(seq 1 "$n"); do curl "$@" -sS --fail --max-time 120 -o "$d/c.$i" "$url" 2>"$d/e.$i" & done
    wait' _ "$CONCURRENT_CLIENTS" "$dir" "$BASE_URL/small.bin" "${HTTP_CURL_ARGS[@]}"
  for i in $(seq 1 "$CONCURRENT_CLIENTS"); do
    [ -f "$dir/c.$i" ] && [ "$(sha256_of "$dir/c.$i")" = "$expected" ] && good=$((good + 1))
  done
  expect_equal "$CONCURRENT_CLIENTS concurrent $(http_curl_name) clients got $BASE_URL/small.bin intact" "$good" "$CONCURRENT_CLIENTS"
}

# "curl" with HTTP_CURL_ARGS, as the checks name the command they ran.
http_curl_name() { echo "curl${HTTP_CURL_ARGS[*]:+ ${HTTP_CURL_ARGS[*]}}"; }

# One curl run fetching twice: the second request must reuse the first connection.
http_check_keepalive() {
  local counts
  counts="$("$HTTP_CLIENT" curl "${HTTP_CURL_ARGS[@]}" -sS --fail --max-time 60 -o /dev/null -o /dev/null -w '%{num_connects} ' "$BASE_URL/small.bin" "$BASE_URL/small.bin" 2>&1)"
  expect_equal "keep-alive: new connections per request for two requests in one $(http_curl_name) run" "$(echo $counts)" "1 0"
}

# Server side: nginx's config in <prefix>/nginx.conf as the nginx rows run it (epoll, sendfile,
# two workers running as this user — the daemon serves only its own user's programs —, keep-alive,
# no access log) with one server block made of the given lines.
nginx_write_conf() { # nginx_write_conf <prefix> <server block lines>
  mkdir -p "$1/logs"
  cat > "$1/nginx.conf" <<CONF
user $(id -un) $(id -gn);
worker_processes 2;
daemon off;
pid $1/nginx.pid;
error_log $1/logs/error.log warn;
events { use epoll; worker_connections 512; }
http {
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 1000;
  access_log off;
  default_type application/octet-stream;
  client_body_temp_path $1/body; proxy_temp_path $1/proxy; fastcgi_temp_path $1/fastcgi;
  uwsgi_temp_path $1/uwsgi; scgi_temp_path $1/scgi;
  server {
$2
  }
}
CONF
}
