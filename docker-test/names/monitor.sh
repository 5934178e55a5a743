#!/bin/bash
# Clients in another container reach the server by its name on the network, web.<dns domain>,
# which the controller pushes with the network's config (no DNS server runs anywhere):
# - getent hosts (gethostbyname2: IPv6 first, so the AAAA record's rfc4193 address) / ahostsv4
#   (glibc's getaddrinfo) and the reverse getent hosts <ip>;
# - curl http://web.<domain>:<port>/ fetches a file, SHA-256 equal;
# - python3: socket.getaddrinfo, socket.gethostbyaddr, urllib by name;
# - node: dns.lookup (getaddrinfo), dns.resolve4 and dns.reverse (c-ares, its own UDP queries to
#   resolv.conf's nameserver, which the daemon answers), http.get by name;
# - dig with resolv.conf's nameserver;
# - a name of the domain no member has is "not found" (getent exit 2), without waiting.
# Clients run in an empty network namespace of their own (in_client). The kernel reference
# resolves localhost instead (the same clients, the host's /etc/hosts).
ZTNC_ROLE=monitor
. "$(dirname "$0")/../lib/common.sh"
trap zt_stop EXIT
zt_join
wait_server_address
if [ -n "${ZTNC_KERNEL_REFERENCE:-}" ]; then NAME=localhost; else NAME="web.$ZTNC_DNS_DOMAIN"; fi
SMALL_SHA="$(published "$ZTNC_TEST.small.sha256")"
name_resolves() { [ "$(in_client getent ahostsv4 "$NAME" 2>/dev/null | awk '{print $1}' | sort -u)" = "$SERVER_IP" ]; }
wait_for "$NAME to resolve to $SERVER_IP (the controller's next config push)" name_resolves
# getent hosts asks for IPv6 first (gethostbyname2 AF_INET6, then AF_INET): on the dual-stack
# network the name's AAAA record, the server's rfc4193 address, answers. The kernel reference's
# localhost is the host's /etc/hosts' business: its IPv4 address is expected there, as before.
HOSTS_IP="$SERVER_IP"
SERVER_IP6="$(cat "$ZTNC_SHARED/$ZTNC_TEST.server-ip6" 2>/dev/null)"
if [ -z "${ZTNC_KERNEL_REFERENCE:-}" ] && [ -n "$SERVER_IP6" ] && [ "$SERVER_IP6" != none ]; then HOSTS_IP="$SERVER_IP6"; fi
URL="http://$NAME:$SERVER_PORT/small.bin"
wait_for "the server at $URL" in_client curl -sS --fail --max-time 5 -o /dev/null "$URL"

expect_equal "getent hosts $NAME" "$(in_client getent hosts "$NAME" 2>&1 | awk '{print $1, $2}')" "$HOSTS_IP $NAME"
expect_equal "getent ahostsv4 $NAME" "$(in_client getent ahostsv4 "$NAME" 2>&1 | awk '{print $1}' | sort -u)" "$SERVER_IP"
expect_equal "getent hosts $SERVER_IP (reverse)" "$(in_client getent hosts "$SERVER_IP" 2>&1 | awk '{print $2}')" "$NAME"
rm -f "$ZTNC_WORK/small.bin"
in_client curl -sS --fail --max-time 60 -o "$ZTNC_WORK/small.bin" "$URL" 2>"$ZTNC_WORK/curl.err"
expect_equal "curl GET $URL: SHA-256" "$(sha256_of "$ZTNC_WORK/small.bin" 2>/dev/null)" "$SMALL_SHA"
note_stderr curl "$ZTNC_WORK/curl.err"

py="$(in_client python3 - "$NAME" "$SERVER_PORT" "$SERVER_IP" <<'PY' 2>&1
import hashlib, socket, sys, urllib.request
name, port, ip = sys.argv[1], int(sys.argv[2]), sys.argv[3]
addrs = sorted({a[4][0] for a in socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)})
print("getaddrinfo", " ".join(addrs))
print("gethostbyaddr", socket.gethostbyaddr(ip)[0])
body = urllib.request.urlopen(f"http://{name}:{port}/small.bin", timeout=30).read()
print("urllib", hashlib.sha256(body).hexdigest())
PY
)"
expect_equal "python3 socket.getaddrinfo('$NAME')" "$(printf '%s\n' "$py" | sed -n 's/^getaddrinfo //p')" "$SERVER_IP"
expect_equal "python3 socket.gethostbyaddr('$SERVER_IP')" "$(printf '%s\n' "$py" | sed -n 's/^gethostbyaddr //p')" "$NAME"
expect_equal "python3 urllib GET $URL: SHA-256" "$(printf '%s\n' "$py" | sed -n 's/^urllib //p')" "$SMALL_SHA"
printf '%s\n' "$py" | grep -vqE '^(getaddrinfo|gethostbyaddr|urllib) ' && note "python3 said: $(printf '%s\n' "$py" | grep -vE '^(getaddrinfo|gethostbyaddr|urllib) ' | tail -n 3 | tr '\n' ' ')"

nd="$(in_client node - "$NAME" "$SERVER_PORT" "$SERVER_IP" "${ZTNC_KERNEL_REFERENCE:-}" <<'JS' 2>&1
const dns = require('dns'), http = require('http'), crypto = require('crypto');
const [name, port, ip, kernel] = process.argv.slice(2);
const show = (what, p) => p.then((v) => console.log(what, v), (e) => console.log(what, 'error', e.code || e.message));
(async () => {
  await show('lookup', dns.promises.lookup(name, 4).then((r) => r.address));
  // c-ares sends its own queries to resolv.conf's nameserver; the kernel reference has none to ask.
  if (!kernel) {
    await show('resolve4', dns.promises.resolve4(name).then((a) => a.join(' ')));
    await show('reverse', dns.promises.reverse(ip).then((a) => a.join(' ')));
  }
  await show('http', new Promise((resolve, reject) => {
    http.get(`http://${name}:${port}/small.bin`, (res) => {
      const h = crypto.createHash('sha256');
      res.on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
    }).on('error', reject);
  }));
})();
JS
)"
field() { printf '%s\n' "$nd" | sed -n "s/^$1 //p"; }
expect_equal "node dns.lookup('$NAME') (getaddrinfo)" "$(field lookup)" "$SERVER_IP"
if [ -z "${ZTNC_KERNEL_REFERENCE:-}" ]; then
  expect_equal "node dns.resolve4('$NAME') (c-ares)" "$(field resolve4)" "$SERVER_IP"
  expect_equal "node dns.reverse('$SERVER_IP') (c-ares)" "$(field reverse)" "$NAME"
fi
expect_equal "node http.get $URL: SHA-256" "$(field http)" "$SMALL_SHA"

if [ -n "${ZTNC_KERNEL_REFERENCE:-}" ]; then
  note "no dig through resolv.conf's nameserver, and no unknown name, over the kernel's loopback"
else
  expect_equal "dig with resolv.conf's nameserver: A $NAME" "$(in_client dig +time=3 +tries=1 +short "$NAME" A 2>&1)" "$SERVER_IP"
  in_client getent hosts "nobody.$ZTNC_DNS_DOMAIN" >/dev/null 2>&1
  expect_equal "getent hosts nobody.$ZTNC_DNS_DOMAIN: not found (exit status)" "$?" 2
fi
finish
