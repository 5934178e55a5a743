#!/bin/bash
# DNS clients in another container ask the dnsmasq container, over the virtual network:
# - dig under the library, straight to the server (UDP, then TCP): A from its hosts file, a
#   wildcard rule, TXT, PTR, NXDOMAIN for a name of its zone it does not know, 40 names in one
#   batch;
# - then the network's dns.servers is set to the dnsmasq container (through the controller): names
#   outside the network's own are forwarded there by the monitor's daemon, so getent (glibc's
#   getaddrinfo), python's socket.gethostbyname, node's dns.lookup (getaddrinfo) and dns.resolve4
#   (c-ares, its own UDP queries to resolv.conf's nameserver, answered by the daemon) find the
#   zone's names with no address or port given.
# Clients run in an empty network namespace of their own (in_client). The network's dns is put
# back as the root made it when the row ends.
ZTNC_ROLE=monitor
. "$(dirname "$0")/../lib/common.sh"
restore_dns=
cleanup() { [ -n "$restore_dns" ] && zt_set_dns "$DEFAULT_DNS"; zt_stop; }
trap cleanup EXIT
zt_join
wait_server_address
DIG=(dig +time=2 +tries=2 -p "$SERVER_PORT" "@$SERVER_IP")
# The first answer, asked by a few lines of python (dig is one of the clients judged below).
dns_answers() {
  ZTNC_CLIENT_TIMEOUT=10 in_client python3 - "$SERVER_IP" "$SERVER_PORT" <<'PY'
import socket, struct, sys
name = b"".join(bytes([len(p)]) + p for p in b"alpha.zone.test".split(b".")) + b"\0"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(struct.pack("!6H", 0x5a17, 0x0100, 1, 0, 0, 0) + name + struct.pack("!2H", 1, 1), (sys.argv[1], int(sys.argv[2])))
answer = s.recv(512)
sys.exit(0 if answer[:2] == b"\x5a\x17" and answer.endswith(bytes([10, 9, 8, 1])) else 1)
PY
}
wait_for "dnsmasq at $SERVER_IP:$SERVER_PORT" dns_answers

# check_dig <what> <expected> <dig args…>
check_dig() {
  local what="$1" want="$2"; shift 2
  expect_equal "dig $what" "$(in_client "${DIG[@]}" +short "$@" 2>&1 | tr '\n' ' ' | sed 's/ $//')" "$want"
}
check_dig "A alpha.zone.test (UDP)" 10.9.8.1 alpha.zone.test A
check_dig "+tcp A beta.zone.test" 10.9.8.2 +tcp beta.zone.test A
check_dig "A any.wild.zone.test (an --address rule)" 10.9.8.3 any.wild.zone.test A
check_dig "TXT txt.zone.test" '"ztnc matrix"' txt.zone.test TXT
check_dig "-x 10.9.8.2 (PTR)" beta.zone.test. -x 10.9.8.2
status="$(in_client "${DIG[@]}" nothere.zone.test A 2>&1 | grep -oE 'status: [A-Z]+' | head -n1)"
expect_equal "dig A nothere.zone.test" "$status" "status: NXDOMAIN"
for i in $(seq 1 40); do echo "host$i.zone.test A"; done > "$ZTNC_WORK/batch.txt"
got="$(in_client "${DIG[@]}" +short -f "$ZTNC_WORK/batch.txt" 2>&1 | tr '\n' ' ')"
want="$(for i in $(seq 1 40); do printf '10.9.9.%s ' "$i"; done)"
if [ "$got" = "$want" ]; then pass "dig -f: 40 queries, 40 right answers"; else fail "dig -f of 40 names: got '$got'"; fi

if [ -n "${ZTNC_KERNEL_REFERENCE:-}" ]; then
  note "no forwarding through the network's dns.servers over the kernel's loopback"
  finish
  exit
fi

restore_dns=1
zt_set_dns "{\"domain\":\"$ZTNC_DNS_DOMAIN\",\"servers\":[\"$SERVER_IP\"]}"
pass "the network's dns.servers is the dnsmasq container ($SERVER_IP)"
getent_alpha() { [ "$(in_client getent hosts alpha.zone.test 2>/dev/null | awk '{print $1}')" = 10.9.8.1 ]; }
# The new dns.servers reaches the monitor's daemon with the next config push.
wait_for "getent hosts alpha.zone.test through the network's DNS server" getent_alpha
expect_equal "getent hosts alpha.zone.test (forwarded to the network's DNS server)" \
  "$(in_client getent hosts alpha.zone.test 2>&1 | awk '{print $1, $2}')" "10.9.8.1 alpha.zone.test"
expect_equal "getent ahostsv4 any.wild.zone.test" "$(in_client getent ahostsv4 any.wild.zone.test 2>&1 | awk '{print $1}' | sort -u)" "10.9.8.3"
in_client getent hosts nothere.zone.test >/dev/null 2>&1
expect_equal "getent hosts nothere.zone.test: not found (exit status)" "$?" 2
expect_equal "python3 socket.gethostbyname('beta.zone.test')" \
  "$(in_client python3 -c 'import socket; print(socket.gethostbyname("beta.zone.test"))' 2>&1)" "10.9.8.2"
expect_equal "node dns.lookup('host7.zone.test') (getaddrinfo)" \
  "$(in_client node -e 'require("dns").lookup("host7.zone.test", 4, (e, a) => console.log(e ? e.code : a))' 2>&1)" "10.9.9.7"
expect_equal "node dns.resolve4('host8.zone.test') (c-ares, its own UDP queries)" \
  "$(in_client node -e 'require("dns").resolve4("host8.zone.test", (e, a) => console.log(e ? e.code : a.join(" ")))' 2>&1)" "10.9.9.8"
expect_equal "dig with resolv.conf's nameserver (the daemon answers it): A host9.zone.test" \
  "$(in_client dig +time=3 +tries=1 +short host9.zone.test A 2>&1)" "10.9.9.9"
finish
