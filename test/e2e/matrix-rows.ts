/**
 * What both matrix suites (matrix.test.ts: a daemon per container; matrix-endpoints.test.ts: every
 * container an endpoint of one daemon) need: the programs the rows run, the checks each row's OK
 * file must hold, and the verdict on one row's result.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { IPV6_MATRIX_TESTS, MATRIX_TESTS, type MatrixResult } from '../../src/demo/matrix.js';
import { combine, needPrograms, type Requirement } from '../support/requirements.js';

const root: Requirement =
  process.getuid?.() === 0
    ? { ok: true, reason: '' }
    : { ok: false, reason: 'needs root (sshd privilege separation, apache2 dropping to www-data)' };

const MATRIX_PROGRAMS = [
  'bash',
  'curl',
  'python3',
  'nginx',
  'apache2',
  'redis-server',
  'redis-cli',
  'redis-benchmark',
  'sshd',
  'ssh',
  'scp',
  'ssh-keygen',
  'ss',
  'setpriv',
  'sha256sum',
  'haproxy',
  'dnsmasq',
  'dig',
  'getent',
  'node',
  'memcached',
  'socat',
  'iperf3',
  'logger',
  'ping',
  'fping',
  'unshare',
  'ip',
  'openssl',
  'gtlsserver',
  'gtlsclient',
];

/** The checks each row's OK file must contain (what issue 7's table asks of the row). */
const EXPECTED_CHECKS: Record<(typeof MATRIX_TESTS)[number], RegExp[]> = {
  python: [/^ok +curl GET .*payload\.bin: 10485760 bytes, SHA-256/m],
  node: [/^ok +curl GET .*payload\.bin: 10485760 bytes, SHA-256/m, /^ok +echo of 10 MB .* 10485760\)$/m],
  nginx: [/^ok +curl GET .*10485760 bytes/m, /^ok +50 concurrent curl clients .* \(50\)$/m, /^ok +keep-alive: .*\(1 0\)$/m],
  'apache2-prefork': [/^ok +curl GET .*10485760 bytes/m, /^ok +50 concurrent curl clients .* \(50\)$/m],
  'apache2-event': [/^ok +curl GET .*10485760 bytes/m, /^ok +50 concurrent curl clients .* \(50\)$/m],
  redis: [
    /^ok +redis-cli -x SET of a 10 MB value \(OK\)$/m,
    /^ok +redis-cli GET of the 10 MB value: SHA-256/m,
    /^ok +EVAL .*\(10485760\)$/m,
    /^ok +EVAL .*\(42\)$/m,
    /^ok +redis-benchmark .*SET: [0-9.]+ requests per second/m,
    /^ok +redis-benchmark .*GET: [0-9.]+ requests per second/m,
  ],
  sshd: [
    /^ok +ssh login runs a command .*\(ztnc-ssh 42\)$/m,
    /^ok +scp of 10 MB to the server: SHA-256/m,
    /^ok +scp of 10 MB from the server: SHA-256/m,
  ],
  isolation: [
    /^ok +curl GET .*10485760 bytes/m,
    /^ok +curl under the library to the host's loopback server .* is refused/m,
    /^ok +the other container's server is reachable by its virtual IP only/m,
    /^ok +nothing listens on the host at port \d+ \(ss -ltn\)$/m,
  ],
  ping: [
    /^ok +ping from the monitor's daemon to the server's [\d.]+: 5 packets transmitted, 5 received, 0% packet loss \(min\/avg\/max\/mdev = [\d./]+ ms\)$/m,
    /^ok +ping to [\d.]+, which no container holds, gets no reply and exits 1 \(2 packets transmitted, 0 received, .*100% packet loss\)$/m,
    /^ok +iputils ping under the library to [\d.]+: 5 packets transmitted, 5 received, 0% packet loss$/m,
    /^ok +iputils ping -s 3000 \(fragmented\) under the library to [\d.]+: 2 packets transmitted, 2 received, 0% packet loss$/m,
    /^ok +fping -c 3 under the library: [\d.]+ +: xmt\/rcv\/%loss = 3\/3\/0%/m,
    /^ok +iputils ping under the library to [\d.]+ gets no reply and exits 1 \(2 packets transmitted, 0 received, .*100% packet loss\)$/m,
  ],
  // Fail-over on the refusal itself: a check that waited out its timeout would read L4TOUT/L7TOUT.
  // "Layer7 invalid response": haproxy had written its HTTP check before the refusal arrived (a
  // connecting socket is writable at once under the library; docker-test/README.md).
  haproxy: [
    /^ok +both backends UP in haproxy's health checks \(L7OK, L7OK\)$/m,
    /^ok +requests through haproxy are spread over both backends \(s1 s2 \)$/m,
    /^ok +haproxy marks the killed backend s1 DOWN for the refused connection, not a timeout: Server backends\/s1 is DOWN, reason: (Layer4 connection problem, info: "Connection refused"|Layer7 invalid response), /m,
    /^ok +haproxy's stats for s1 after the kill: DOWN (L4CON Connection refused|L7RSP)/m,
    /^ok +requests through haproxy after the kill all succeed, from s2 \(s2x4 \)$/m,
    /^ok +backend s2 stays UP$/m,
    /^ok +backend s1 stays DOWN$/m,
    // haproxy's own UDP queries to resolv.conf's nameserver, answered by the daemon.
    /^ok +haproxy's default resolvers \(resolv\.conf\) resolve backends\.matrix\.ztnc at run time; n1 UP at \(([\d.]+):\d+\)$/m,
  ],
  dnsmasq: [
    /^ok +dig A alpha\.zone\.test \(UDP\) \(10\.9\.8\.1\)$/m,
    /^ok +dig \+tcp A beta\.zone\.test \(10\.9\.8\.2\)$/m,
    /^ok +dig A any\.wild\.zone\.test \(an --address rule\) \(10\.9\.8\.3\)$/m,
    /^ok +dig TXT txt\.zone\.test \("ztnc matrix"\)$/m,
    /^ok +dig -x 10\.9\.8\.2 \(PTR\) \(beta\.zone\.test\.\)$/m,
    /^ok +dig A nothere\.zone\.test \(status: NXDOMAIN\)$/m,
    /^ok +dig -f: 40 queries, 40 right answers$/m,
    /^ok +getent hosts alpha\.zone\.test \(forwarded to the network's DNS server\) \(10\.9\.8\.1 alpha\.zone\.test\)$/m,
    /^ok +getent ahostsv4 any\.wild\.zone\.test \(10\.9\.8\.3\)$/m,
    /^ok +getent hosts nothere\.zone\.test: not found \(exit status\) \(2\)$/m,
    /^ok +python3 socket\.gethostbyname\('beta\.zone\.test'\) \(10\.9\.8\.2\)$/m,
    /^ok +node dns\.lookup\('host7\.zone\.test'\) \(getaddrinfo\) \(10\.9\.9\.7\)$/m,
    /^ok +node dns\.resolve4\('host8\.zone\.test'\) \(c-ares, its own UDP queries\) \(10\.9\.9\.8\)$/m,
    /^ok +dig with resolv\.conf's nameserver \(the daemon answers it\): A host9\.zone\.test \(10\.9\.9\.9\)$/m,
  ],
  names: [
    // getent hosts asks for IPv6 first: the AAAA record's rfc4193 address (dual-stack network).
    /^ok +getent hosts web\.matrix\.ztnc \(fd[0-9a-f:]+ web\.matrix\.ztnc\)$/m,
    /^ok +getent ahostsv4 web\.matrix\.ztnc \([\d.]+\)$/m,
    /^ok +getent hosts [\d.]+ \(reverse\) \(web\.matrix\.ztnc\)$/m,
    /^ok +curl GET http:\/\/web\.matrix\.ztnc:\d+\/small\.bin: SHA-256/m,
    /^ok +python3 socket\.getaddrinfo\('web\.matrix\.ztnc'\) \([\d.]+\)$/m,
    /^ok +python3 socket\.gethostbyaddr\('[\d.]+'\) \(web\.matrix\.ztnc\)$/m,
    /^ok +python3 urllib GET .*: SHA-256/m,
    /^ok +node dns\.lookup\('web\.matrix\.ztnc'\) \(getaddrinfo\) \([\d.]+\)$/m,
    /^ok +node dns\.resolve4\('web\.matrix\.ztnc'\) \(c-ares\) \([\d.]+\)$/m,
    /^ok +node dns\.reverse\('[\d.]+'\) \(c-ares\) \(web\.matrix\.ztnc\)$/m,
    /^ok +node http\.get .*: SHA-256/m,
    /^ok +dig with resolv\.conf's nameserver: A web\.matrix\.ztnc \([\d.]+\)$/m,
    /^ok +getent hosts nobody\.matrix\.ztnc: not found \(exit status\) \(2\)$/m,
  ],
  'memcached-udp': [
    /^ok +set then get of 200 small values over UDP, each answer by its request id \(200\/200\)$/m,
    /^ok +a 6000-byte value set over TCP, read over UDP in [2-9]\d* datagrams, SHA-256 equal$/m,
    /^ok +a value set over UDP reads back over TCP$/m,
    /^ok +stats over UDP: cmd_get \d+/m,
  ],
  'socat-udp': [
    /^ok +a 1-byte datagram echoed by socat: bytes and SHA-256 \(1 /m,
    /^ok +a 1473-byte datagram echoed by socat: bytes and SHA-256 \(1473 /m,
    /^ok +a 8000-byte datagram echoed by socat: bytes and SHA-256 \(8000 /m,
    /^ok +a 65507-byte datagram echoed by socat: bytes and SHA-256 \(65507 /m,
    /^ok +socat upload of 262144 bytes in 1400-byte datagrams: bytes and SHA-256 at the server \(262144 /m,
    /^ok +socat download of 262144 bytes from the server: bytes and SHA-256 \(262144 /m,
  ],
  'iperf3-udp': [
    /^ok +iperf3 -u -l 1400, client to server, 10 Mbit\/s: \d+ datagrams, \d+ lost/m,
    /^ok +iperf3 -u -l 1400 -R, server to client, 10 Mbit\/s: \d+ datagrams, \d+ lost/m,
    /^ok +iperf3 -u -l 8000 \(fragmented\), client to server, 10 Mbit\/s: \d+ datagrams, \d+ lost/m,
  ],
  quic: [
    /^ok +HTTP\/3 over QUIC: gtlsclient GET https:\/\/[\d.]+:\d+\/blob\.bin, SHA-256/m,
    /^ok +HTTP\/3 over QUIC: the file on 3 streams of one connection, SHA-256/m,
  ],
  syslog: [
    /^ok +20 RFC 5424 messages \(local0\.notice\) from [\d.]+, each received once \(1x20 \)$/m,
    /^ok +an RFC 3164 message \(user\.warning\) from [\d.]+ received once \(1\)$/m,
  ],
  // Issue 16: the same apps over IPv6, between the members' rfc4193 addresses (fd…).
  'ipv6-web': [
    /^ok +curl -6 GET http:\/\/\[fd[0-9a-f:]+\]:\d+\/payload\.bin: 10485760 bytes, SHA-256/m,
    /^ok +50 concurrent curl -6 clients got http:\/\/\[fd[0-9a-f:]+\]:\d+\/small\.bin intact \(50\)$/m,
    /^ok +keep-alive: new connections per request for two requests in one curl -6 run \(1 0\)$/m,
    /^ok +nginx on \[::\]:\d+ saw the IPv6 client .*\(fd[0-9a-f:]+ fd[0-9a-f:]+\)$/m,
    /^ok +curl -4 GET http:\/\/[\d.]+:\d+\/small\.bin \(the \[::\] listener, over IPv4\): SHA-256 and the address curl reached \([0-9a-f]{64} [\d.]+\)$/m,
    /^ok +nginx on \[::\]:\d+ saw the IPv4 client as v4-mapped .*\(::ffff:[\d.]+ ::ffff:[\d.]+\)$/m,
    /^ok +getent ahostsv6 web6\.matrix\.ztnc \(AAAA\) \(fd[0-9a-f:]+\)$/m,
    /^ok +curl -6 GET http:\/\/web6\.matrix\.ztnc:\d+\/small\.bin \(by name\): SHA-256 and the address curl reached \([0-9a-f]{64} fd[0-9a-f:]+\)$/m,
  ],
  'ipv6-dualstack': [
    /^ok +curl -6 GET http:\/\/\[fd[0-9a-f:]+\]:\d+\/payload\.bin: 10485760 bytes, SHA-256[^\n]*\n(?:.*\n)*ok +curl -6 GET http:\/\/\[fd[0-9a-f:]+\]:\d+\/payload\.bin: 10485760 bytes, SHA-256/m,
    /^ok +python on \[::\]:\d+ saw the IPv6 client .*\(fd[0-9a-f:]+ fd[0-9a-f:]+\)$/m,
    /^ok +python on \[::\]:\d+ saw the IPv4 client as v4-mapped .*\(::ffff:[\d.]+ ::ffff:[\d.]+\)$/m,
    /^ok +node on \[::\]:\d+ saw the IPv6 client .*\(fd[0-9a-f:]+ fd[0-9a-f:]+\)$/m,
    /^ok +node on \[::\]:\d+ saw the IPv4 client as v4-mapped .*\(::ffff:[\d.]+ ::ffff:[\d.]+\)$/m,
    /^ok +python on \[::\]:\d+, node http\.get family 6 to fd[0-9a-f:]+ \(fd[0-9a-f:]+ fd[0-9a-f:]+\)$/m,
    /^ok +python on \[::\]:\d+, node http\.get family 4 to [\d.]+ \(::ffff:[\d.]+ ::ffff:[\d.]+\)$/m,
    /^ok +node on \[::\]:\d+, python AF_INET6 socket to fd[0-9a-f:]+ \(fd[0-9a-f:]+ fd[0-9a-f:]+\)$/m,
    /^ok +node on \[::\]:\d+, python AF_INET socket to [\d.]+ \(::ffff:[\d.]+ ::ffff:[\d.]+\)$/m,
    /^ok +node echo on \[::\]:\d+: 10 MB over IPv6 from fd[0-9a-f:]+, SHA-256 and length \([0-9a-f]{64} 10485760\)$/m,
  ],
  'ipv6-services': [
    /^ok +redis-cli -h fd[0-9a-f:]+ -x SET of a 10 MB value \(OK\)$/m,
    /^ok +redis-cli -h fd[0-9a-f:]+ GET of the 10 MB value: SHA-256/m,
    /^ok +EVAL of a Lua script over IPv6 \(STRLEN of the value\) \(10485760\)$/m,
    /^ok +redis CLIENT INFO: the client's address as redis saw it \(fd[0-9a-f:]+\)$/m,
    /^ok +redis-benchmark -h fd[0-9a-f:]+ .*SET: [0-9.]+ requests per second/m,
    /^ok +redis-benchmark -h fd[0-9a-f:]+ .*GET: [0-9.]+ requests per second/m,
    /^ok +ssh -6 login to fd[0-9a-f:]+ runs a command .*\(ztnc-ssh 42\)$/m,
    /^ok +ssh -6: SSH_CONNECTION's client and server addresses \(fd[0-9a-f:]+ fd[0-9a-f:]+\)$/m,
    /^ok +scp -6 of 10 MB to the server: SHA-256/m,
    /^ok +scp -6 of 10 MB from the server: SHA-256/m,
  ],
  'ipv6-iperf3': [
    /^ok +iperf3 -6 TCP, client to server: [1-9]\d* bytes received/m,
    /^ok +iperf3 -6 TCP -R, server to client: [1-9]\d* bytes received/m,
    /^ok +iperf3 -6 -u -l 1400, client to server, 10 Mbit\/s: \d+ datagrams, \d+ lost/m,
    /^ok +iperf3 -6 -u -l 1400 -R, server to client, 10 Mbit\/s: \d+ datagrams, \d+ lost/m,
    /^ok +iperf3 -6 -u -l 8000 \(fragmented\), client to server, 10 Mbit\/s: \d+ datagrams, \d+ lost/m,
  ],
  'ipv6-ping': [
    /^ok +iputils ping -6 under the library to fd[0-9a-f:]+: 5 packets transmitted, 5 received, 0% packet loss$/m,
    /^ok +iputils ping -6 -s 3000 \(fragmented\) under the library to fd[0-9a-f:]+: 2 packets transmitted, 2 received, 0% packet loss$/m,
    /^ok +fping -6 -c 3 under the library: fd[0-9a-f:]+ +: xmt\/rcv\/%loss = 3\/3\/0%/m,
    /^ok +iputils ping -6 under the library to fd[0-9a-f:]+ gets no reply and exits 1 \(2 packets transmitted, 0 received, .*100% packet loss\)$/m,
  ],
};

/**
 * What every row's result must show: OK.<test> and no FAIL, the row's checks, distinct virtual
 * addresses for server and monitor (IPv4, and rfc4193 IPv6 for the IPv6 rows).
 */
export function checkRow(test: (typeof MATRIX_TESTS)[number], r: MatrixResult, results: string): string {
  expect(r.ok, r.text).toBe(true);
  expect(existsSync(join(results, `OK.${test}`))).toBe(true);
  expect(existsSync(join(results, `FAIL.${test}`))).toBe(false);
  const text = readFileSync(join(results, `OK.${test}`), 'utf8');
  expect(text).toMatch(new RegExp(`^test: ${test}$`, 'm'));
  expect(text).not.toMatch(/^FAILED/m);
  // Server and monitor had distinct addresses on the virtual network.
  const m = /server: (\d+\.\d+\.\d+\.\d+) +monitor: (\d+\.\d+\.\d+\.\d+)/.exec(text);
  expect(m, text).not.toBeNull();
  expect(m![1]).not.toBe(m![2]);
  expect(m![1]).not.toMatch(/^127\./);
  if ((IPV6_MATRIX_TESTS as readonly string[]).includes(test)) {
    // Both sides had their own rfc4193 address (fd…) on the dual-stack network.
    const m6 = /^ipv6: server: (fd[0-9a-f:]+) +monitor: (fd[0-9a-f:]+)$/m.exec(text);
    expect(m6, text).not.toBeNull();
    expect(m6![1]).not.toBe(m6![2]);
  }
  for (const check of EXPECTED_CHECKS[test]) expect(text).toMatch(check);
  return text;
}

/** Root and every program a row runs. */
export const MATRIX_REQUIREMENT: Requirement = combine(root, needPrograms('make', 'cc', ...MATRIX_PROGRAMS));
