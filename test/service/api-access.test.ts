/**
 * Who reaches the local API: loopback on IPv4 and IPv6 (UIs say "localhost", which is ::1 first
 * on many hosts), and — with local.conf's allowManagementFrom, as stock — clients from the listed
 * networks, while every other address is answered 401 whatever token it shows.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLoopbackAddress, ManagementAccess } from '../../src/service/http/management-access.js';
import { LocalConfError, parseLocalConf } from '../../src/service/local-conf.js';
import { programPath } from '../support/programs.js';
import { rawHttp } from '../support/raw-http.js';
import { combine, needPrograms, needRootNetns, requireOrSkip } from '../support/requirements.js';
import { killAll, startService, tempDir } from './service-harness.js';

afterAll(async () => {
  await killAll();
}, 60_000);

const hasIpv6Loopback = Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === '::1'));
if (!hasIpv6Loopback) process.stderr.write('[skip] local API on ::1: this host has no IPv6 loopback\n');

describe('management access', () => {
  it('lets loopback in always, and the allowManagementFrom networks besides', () => {
    const none = new ManagementAccess();
    for (const a of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1']) expect(none.allows(a), a).toBe(true);
    for (const a of ['10.1.2.3', '::ffff:10.1.2.3', 'fd00::1', '0.0.0.0', '::', undefined]) expect(none.allows(a), String(a)).toBe(false);
    const some = new ManagementAccess(['10.1.0.0/16', 'fd00::/8', '192.168.7.7']);
    expect(some.allows('10.1.200.3')).toBe(true);
    expect(some.allows('::ffff:10.1.200.3')).toBe(true);
    expect(some.allows('fd12:3456::1')).toBe(true);
    expect(some.allows('192.168.7.7')).toBe(true);
    // a bare address allows that address only
    expect(some.allows('192.168.7.8')).toBe(false);
    expect(some.allows('10.2.0.1')).toBe(false);
    expect(some.allows('fe80::1')).toBe(false);
    expect(isLoopbackAddress('128.0.0.1')).toBe(false);
  });

  it('local.conf: allowManagementFrom must hold networks', () => {
    expect(parseLocalConf('{"settings":{"allowManagementFrom":["10.0.0.0/8","fd00::/8"]}}', 'local.conf').allowManagementFrom).toEqual([
      '10.0.0.0/8',
      'fd00::/8',
    ]);
    expect(parseLocalConf('{}', 'local.conf')).toMatchObject({ apiBind: [], allowManagementFrom: [] });
    for (const bad of ['["10.0.0.0/33"]', '["lan"]', '"10.0.0.0/8"', '[8]']) {
      expect(() => parseLocalConf(`{"settings":{"allowManagementFrom":${bad}}}`, 'local.conf'), bad).toThrow(LocalConfError);
      expect(() => parseLocalConf(`{"settings":{"allowManagementFrom":${bad}}}`, 'local.conf'), bad).toThrow(/"allowManagementFrom"/);
    }
  });
});

describe.runIf(hasIpv6Loopback)('the local API on IPv6 loopback', () => {
  it('answers on ::1 as on 127.0.0.1 by default', async () => {
    const s = await startService(join(tempDir(), 'home'), ['--private-planet']);
    const req = `GET /status HTTP/1.1\r\nHost: localhost\r\nX-ZT1-Auth: ${s.token}\r\nConnection: close\r\n\r\n`;
    const v6 = await rawHttp('::1', s.apiPort, req);
    expect(v6.status).toBe(200);
    expect(JSON.parse(v6.body)).toMatchObject({ address: await s.address() });
    expect((await rawHttp('::1', s.apiPort, 'GET /status HTTP/1.1\r\nConnection: close\r\n\r\n')).status).toBe(401);
    expect((await s.stop()).code).toBe(0);
  }, 120_000);
});

/**
 * Runs the daemon and its clients in a network namespace whose loopback also holds 10.9.9.1 and
 * 10.9.8.1 (non-loopback addresses, so traffic stays in the namespace), with allowManagementFrom
 * 10.9.9.0/24: prints one "<source> <status>" line per client.
 */
const NETNS_SCRIPT = String.raw`
set -e
ip link set lo up
ip addr add 10.9.9.1/32 dev lo
ip addr add 10.9.8.1/32 dev lo
home="$1"; service="$2"
node "$service" "$home" -p 0 --api-port 0 --private-planet >"$home.log" 2>&1 &
pid=$!
for i in $(seq 600); do [ -s "$home/ztnc.port" ] && break; kill -0 $pid || exit 3; sleep 0.1; done
python3 - "$(cat "$home/ztnc.port")" "$(cat "$home/authtoken.secret")" <<'PY'
import socket, sys
port, token = int(sys.argv[1]), sys.argv[2]
for fam, src, dst in [(socket.AF_INET, '127.0.0.1', '127.0.0.1'), (socket.AF_INET, '10.9.9.1', '10.9.9.1'), (socket.AF_INET, '10.9.8.1', '10.9.9.1'), (socket.AF_INET6, '::1', '::1')]:
    s = socket.socket(fam, socket.SOCK_STREAM); s.settimeout(10); s.bind((src, 0)); s.connect((dst, port))
    s.sendall(('GET /status HTTP/1.1\r\nX-ZT1-Auth: %s\r\nConnection: close\r\n\r\n' % token).encode())
    answer = b''
    while True:
        d = s.recv(4096)
        if not d: break
        answer += d
    s.close()
    print(src, answer.split(b' ')[1].decode() if answer.startswith(b'HTTP/') else 'none', flush=True)
PY
kill $pid; wait $pid || true
`;

describe.runIf(requireOrSkip(combine(needRootNetns(), needPrograms('unshare', 'python3')), 'allowManagementFrom from other addresses'))(
  'allowManagementFrom',
  () => {
    it('serves listed networks and loopback, and answers every other address 401', async () => {
      const home = join(tempDir(), 'home');
      mkdirSync(home, { recursive: true, mode: 0o700 });
      writeFileSync(join(home, 'local.conf'), JSON.stringify({ settings: { allowManagementFrom: ['10.9.9.0/24'] } }));
      const service = await programPath('ztnc-service');
      const env = { ...process.env, ZTNC_REFUSE_BUILTIN_PLANET: '1' };
      const r = spawnSync('unshare', ['-n', 'sh', '-c', NETNS_SCRIPT, 'netns', home, service], { env, encoding: 'utf8', timeout: 120_000 });
      const why = `stdout: ${r.stdout}\nstderr: ${r.stderr}\nerror: ${r.error?.message ?? ''}\ndaemon log: ${existsSync(`${home}.log`) ? readFileSync(`${home}.log`, 'utf8') : ''}`;
      expect(r.status, why).toBe(0);
      expect(r.stdout.trim().split('\n'), why).toEqual(['127.0.0.1 200', '10.9.9.1 200', '10.9.8.1 401', '::1 200']);
    }, 150_000);
  },
);
