/**
 * local.conf's congestion-control settings: `settings.tcpCongestion` is what new TCP sockets of
 * every network start with (the daemon's net.ipv4.tcp_congestion_control), a network's entry under
 * the top-level `networks` object overrides it there. A program under libztintercept.so reads the
 * algorithm back with getsockopt(TCP_CONGESTION), as on Linux; a name the stack does not have
 * keeps the daemon from starting, with an error naming the key.
 * The programs run under `unshare -n` (they are on the virtual network).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CongestionAlgo } from '../../src/netstack/index.js';
import { parseLocalConf, tcpCongestionFor } from '../../src/service/local-conf.js';
import { interceptLibrary } from '../support/programs.js';
import { combine, needPrograms, needRootNetns, requireOrSkip } from '../support/requirements.js';
import { runCollecting } from '../support/run-collecting.js';
import { killAll, runService, serviceEnv, type Service, startRoot, tempDir } from './service-harness.js';

const NET_DEFAULT = '8056c2e21c0000a1';
const NET_RENO = '8056c2e21c0000a2';

/** Prints the algorithm a new TCP socket starts with, as getsockopt(TCP_CONGESTION) names it. */
const READ_CONGESTION = `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).rstrip(b'\\0').decode())
`;

describe('local.conf tcpCongestion (parsing)', () => {
  it('takes Linux names for the daemon and per network; a network entry wins there', () => {
    const s = parseLocalConf(
      JSON.stringify({ settings: { tcpCongestion: 'bbr' }, networks: { [NET_RENO.toUpperCase()]: { tcpCongestion: 'reno' } } }),
      'local.conf',
    );
    expect(s.tcpCongestion).toBe('bbr');
    expect(tcpCongestionFor(s, NET_DEFAULT)).toBe(CongestionAlgo.Bbr);
    expect(tcpCongestionFor(s, NET_RENO)).toBe(CongestionAlgo.NewReno);
    expect(tcpCongestionFor(parseLocalConf('{}', 'local.conf'), NET_DEFAULT)).toBeUndefined();
  });

  it.each([
    ['{"settings": {"tcpCongestion": "vegas"}}', /"tcpCongestion" must be one of "cubic", "reno", "bbr", not "vegas"/],
    ['{"settings": {"tcpCongestion": 2}}', /"tcpCongestion" must be one of/],
    ['{"settings": {"tcpCongestion": "BBR"}}', /"tcpCongestion" must be one of/],
    ['{"networks": {"8056c2e21c0000a1": {"tcpCongestion": "newreno"}}}', /"networks.8056c2e21c0000a1.tcpCongestion" must be one of/],
    ['{"networks": {"nope": {}}}', /"networks.nope" is not a network id/],
    ['{"networks": []}', /"networks" must be an object/],
  ])('refuses %s naming the key', (text, re) => {
    expect(() => parseLocalConf(text, 'local.conf')).toThrow(re);
  });
});

const RIG = combine(needRootNetns(), needPrograms('python3', 'unshare', 'make', 'cc'));

describe.runIf(requireOrSkip(RIG, 'congestion control from local.conf under the library'))('local.conf tcpCongestion on a daemon', () => {
  const tmp = tempDir('ztnc-cc-');
  let daemon: Service | null = null;
  afterAll(async () => {
    await daemon?.stop();
    await killAll();
  });

  async function congestionOn(home: string, nwid: string): Promise<string> {
    const env = { ...serviceEnv(), LD_PRELOAD: interceptLibrary(), ZT_NC_HOME: home, ZT_NC_NWID: nwid };
    const r = await runCollecting('unshare', ['-n', 'python3', '-c', READ_CONGESTION], { env, timeoutMs: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r.stdout.trim();
  }

  it('new sockets start with the daemon default, and with the network override where one is set', async () => {
    const home = join(tmp, 'daemon');
    mkdirSync(home, { recursive: true, mode: 0o700 });
    writeFileSync(
      join(home, 'local.conf'),
      JSON.stringify({ settings: { tcpCongestion: 'bbr' }, networks: { [NET_RENO]: { tcpCongestion: 'reno' } } }),
    );
    daemon = await startRoot(home);
    for (const nwid of [NET_DEFAULT, NET_RENO]) expect((await daemon.api('POST', `/network/${nwid}`, {})).status).toBe(200);
    expect(await congestionOn(home, NET_DEFAULT)).toBe('bbr');
    expect(await congestionOn(home, NET_RENO)).toBe('reno');
  });

  it('a daemon whose local.conf names an unknown algorithm does not start, and says which key', async () => {
    const home = join(tmp, 'bad');
    mkdirSync(home, { recursive: true, mode: 0o700 });
    writeFileSync(join(home, 'local.conf'), JSON.stringify({ settings: { tcpCongestion: 'bbr2' } }));
    const r = await runService([home, '-p', '0', '--api-port', '0', '--private-planet'], serviceEnv(), 60_000);
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toMatch(/local\.conf: "tcpCongestion" must be one of "cubic", "reno", "bbr", not "bbr2"/);
  });
});
