/**
 * POST /network/<nwid>/ping and `ztnc-cli ping` against real daemons: a private root+controller
 * and two members on one network. One member's stack pings the other's address across the
 * overlay and gets every reply; an address nobody holds gets none within the timeout; a network
 * without an address yet, one not joined, and bad bodies get clear errors naming the problem.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProgram } from '../cli/harness.js';
import {
  assignedIp,
  authorizeMember,
  createNetwork,
  killAll,
  type Service,
  startRoot,
  startService,
  tempDir,
  waitFor,
} from './service-harness.js';

const NETWORK_TIMEOUT_MS = 90_000;
const POOL = '10.94.0';
/** Below the pool's first address (.10): no member ever holds it. */
const NOBODY = `${POOL}.5`;

interface PingReport {
  address: string;
  transmitted: number;
  received: number;
  rttMs: number[];
  replies: ({ seq: number; rttMs: number; ttl: number } | { seq: number; error: string })[];
}

async function memberOn(tmp: string, name: string, root: Service, nwid: string): Promise<Service> {
  const home = join(tmp, name);
  mkdirSync(join(home, 'networks.d'), { recursive: true, mode: 0o700 });
  writeFileSync(join(home, 'networks.d', `${nwid}.conf`), '');
  return startService(home, ['--planet', join(root.home, 'planet')]);
}

async function addressOf(root: Service, member: Service, nwid: string): Promise<string> {
  await authorizeMember(root, nwid, member);
  return assignedIp(member, nwid, NETWORK_TIMEOUT_MS);
}

describe("ping from one daemon's stack to another", () => {
  const tmp = tempDir('ztnc-ping-');
  let root: Service;
  let a: Service;
  let b: Service;
  let nwid: string;
  let ipA: string;
  let ipB: string;

  beforeAll(async () => {
    root = await startRoot(join(tmp, 'root'));
    nwid = await createNetwork(root, POOL);
    [a, b] = await Promise.all([memberOn(tmp, 'a', root, nwid), memberOn(tmp, 'b', root, nwid)]);
    [ipA, ipB] = await Promise.all([addressOf(root, a, nwid), addressOf(root, b, nwid)]);
  }, 240_000);

  afterAll(async () => {
    await killAll();
  }, 60_000);

  it("a member pings the other's address and gets every reply", async () => {
    // generous timeouts: the first request also waits for ARP and the peers' path on a loaded machine
    const r = await a.api('POST', `/network/${nwid}/ping`, { address: ipB, count: 4, timeoutMs: 15_000 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const report = r.body as PingReport;
    expect(report).toMatchObject({ address: ipB, transmitted: 4, received: 4 });
    expect(report.rttMs).toHaveLength(4);
    for (const t of report.rttMs) expect(t).toBeGreaterThan(0);
    expect(report.replies.map((x) => x.seq)).toEqual([1, 2, 3, 4]);
    for (const x of report.replies) expect(x).toMatchObject({ ttl: 64 });
    // the other way, with the defaults (3 requests)
    const back = await b.api('POST', `/network/${nwid}/ping`, { address: ipA, timeoutMs: 15_000 });
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    expect(back.body).toMatchObject({ address: ipA, transmitted: 3, received: 3 });
    expect((back.body as PingReport).rttMs).toHaveLength(3);
    // its own address answers from its own stack, as on a kernel interface
    expect((await a.api('POST', `/network/${nwid}/ping`, { address: ipA, count: 1 })).body).toMatchObject({ transmitted: 1, received: 1 });
    // the replies are the peer stack's: b's ICMP layer answered a's 4 requests, and a b's 3 and its own 1
    type Counters = { networks: Record<string, { stack: { icmp: Record<string, number> } }> };
    const icmpA = (await a.get<Counters>('/counters')).networks[nwid]!.stack.icmp;
    const icmpB = (await b.get<Counters>('/counters')).networks[nwid]!.stack.icmp;
    expect(icmpA).toMatchObject({ tx_echo_request: 5, rx_echo_reply: 5, rx_echo_request: 4, tx_echo_reply: 4 });
    expect(icmpB).toMatchObject({ tx_echo_request: 3, rx_echo_reply: 3, rx_echo_request: 4, tx_echo_reply: 4 });
  }, 60_000);

  it('an address nobody holds gets no reply within the timeout', async () => {
    const r = await a.api('POST', `/network/${nwid}/ping`, { address: NOBODY, count: 2, timeoutMs: 500 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const report = r.body as PingReport;
    expect(report).toMatchObject({ address: NOBODY, transmitted: 2, received: 0, rttMs: [] });
    expect(report.replies).toHaveLength(2);
    for (const x of report.replies) expect(x).toMatchObject({ error: expect.stringMatching(/^(ETIMEDOUT|EHOSTUNREACH)$/) });
  }, 60_000);

  it('bad bodies get 400 naming the field; an unknown network 404; one with no address 409', async () => {
    const cases: [unknown, RegExp][] = [
      [{}, /^address: required/],
      [[], /^body must be a JSON object/],
      [{ address: 7 }, /^address: must be a string/],
      [{ address: '10.94.0' }, /^address: "10.94.0" is not an IPv4 address/],
      [{ address: '127.0.0.1' }, /^address: 127\.0\.0\.1 is not a unicast address/],
      [{ address: '224.0.0.1' }, /^address: .* not a unicast address/],
      [{ address: ipB, count: 0 }, /^count: must be an integer from 1 to 100/],
      [{ address: ipB, count: 101 }, /^count: /],
      [{ address: ipB, count: 1.5 }, /^count: /],
      [{ address: ipB, count: '3' }, /^count: /],
      [{ address: ipB, timeoutMs: 0 }, /^timeoutMs: must be an integer from 1 to 20000/],
      [{ address: ipB, timeoutMs: 60_000 }, /^timeoutMs: /],
      [{ address: ipB, timeoutMs: null }, /^timeoutMs: /],
    ];
    for (const [body, error] of cases) {
      const r = await a.api('POST', `/network/${nwid}/ping`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect((r.body as { error: string }).error, JSON.stringify(body)).toMatch(error);
    }
    expect((await a.api('POST', '/network/xyz/ping', { address: ipB })).status).toBe(400);
    // the address is answered in canonical form
    const padded = ipB
      .split('.')
      .map((o) => o.padStart(3, '0'))
      .join('.');
    expect((await a.api('POST', `/network/${nwid}/ping`, { address: padded, count: 1, timeoutMs: 15_000 })).body).toMatchObject({
      address: ipB,
      received: 1,
    });
    const other = nwid.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    const notJoined = await a.api('POST', `/network/${other}/ping`, { address: ipB });
    expect(notJoined).toEqual({ status: 404, body: { error: `network ${other} not joined` } });

    // a second network a is not authorized on: joined, but without an address
    const second = await createNetwork(root, '10.95.0');
    await a.post(`/network/${second}`, {});
    const noAddress = await a.api('POST', `/network/${second}/ping`, { address: '10.95.0.20' });
    expect(noAddress.status).toBe(409);
    expect((noAddress.body as { error: string }).error).toMatch(new RegExp(`^network ${second} has no address yet \\(status [A-Z_]+\\)$`));
    expect((await a.api('DELETE', `/network/${second}`)).status).toBe(200);
    // still serving, and still pinging
    expect((await a.api('POST', `/network/${nwid}/ping`, { address: ipB, count: 1 })).body).toMatchObject({ received: 1 });
  }, 60_000);

  it('ztnc-cli ping prints the replies and the summary, JSON with -j, and exits 1 when nothing answers', async () => {
    const r = await runProgram('ztnc-cli', ['-D', a.home, 'ping', nwid, ipB, '-c', '2', '--timeout', '15000']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`PING ${ipB} on ${nwid}: 56 data bytes`);
    expect(lines[1]).toMatch(new RegExp(`^64 bytes from ${ipB.replace(/\./g, '\\.')}: icmp_seq=1 ttl=64 time=[0-9.]+ ms$`));
    expect(lines[2]).toMatch(/: icmp_seq=2 ttl=64 time=[0-9.]+ ms$/);
    expect(r.stdout).toContain(`--- ${ipB} ping statistics ---\n2 packets transmitted, 2 received, 0% packet loss\n`);
    expect(lines[lines.length - 1]).toMatch(/^rtt min\/avg\/max\/mdev = [0-9.]+\/[0-9.]+\/[0-9.]+\/[0-9.]+ ms$/);

    const j = await runProgram('ztnc-cli', ['-D', b.home, '-j', 'ping', nwid, ipA, '-c', '1', '--timeout', '15000']);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ address: ipA, transmitted: 1, received: 1 });

    const none = await runProgram('ztnc-cli', ['-D', a.home, 'ping', nwid, NOBODY, '-c', '1', '--timeout', '300']);
    expect(none.code).toBe(1);
    expect(none.stdout).toContain('1 packets transmitted, 0 received, ');
    expect(none.stdout).toMatch(/100% packet loss\n$/);
    expect(none.stderr).toBe(`ztnc-cli: ping: no reply from ${NOBODY}\n`);
  }, 90_000);

  it('with rfc4193 and 6plane on, listnetworks shows them and a member pings the other over IPv6', async () => {
    await root.post(`/controller/network/${nwid}`, { v6AssignMode: { zt: false, rfc4193: true, '6plane': true } });
    const v6Of = async (m: Service): Promise<string[]> =>
      waitFor(
        async () => {
          const n = await m.get<{ assignedAddresses: string[] }>(`/network/${nwid}`);
          const v6 = n.assignedAddresses.filter((x) => x.includes(':'));
          return v6.length === 2 ? v6 : null;
        },
        NETWORK_TIMEOUT_MS,
        `IPv6 addresses on ${nwid} in ${m.home}`,
      );
    const [onA, onB] = await Promise.all([v6Of(a), v6Of(b)]);
    expect(onB.map((x) => x.replace(/^[^/]*\//, '/')).sort()).toEqual(['/40', '/88']);
    const listed = await runProgram('ztnc-cli', ['-D', b.home, 'listnetworks']);
    for (const x of onB) expect(listed.stdout).toContain(x);
    for (const cidr of onB) {
      const address = cidr.split('/')[0]!;
      const r = await a.api('POST', `/network/${nwid}/ping`, { address, count: 2, timeoutMs: 15_000 });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ address, transmitted: 2, received: 2 });
      for (const x of (r.body as PingReport).replies) expect(x).toMatchObject({ ttl: 64 });
    }
    // and back, to a's rfc4193 address
    const back = onA.find((x) => x.endsWith('/88'))!.split('/')[0]!;
    expect((await b.api('POST', `/network/${nwid}/ping`, { address: back, count: 1, timeoutMs: 15_000 })).body).toMatchObject({
      received: 1,
    });
  }, 120_000);
});
