/**
 * `ztnc-cli ping` as a real process against the real local API server over an in-memory daemon:
 * the request it sends, ping-style output and -j, exit 1 when nothing answers, and every usage
 * and API error as one line on stderr.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { fakeDaemonForSuite, runProgram, type ProgramResult, expectOneLineError } from './harness.js';

const NWID = '8056c2e21c000001';
const PEER = '10.147.17.20';
const NOBODY = '10.147.17.99';

function expectError(r: ProgramResult, code: number, pattern: RegExp): void {
  expectOneLineError(r, code, pattern, /^ztnc-cli: /);
}

describe('ztnc-cli ping', () => {
  const { home, daemon } = fakeDaemonForSuite();

  function cli(...args: string[]): Promise<ProgramResult> {
    return runProgram('ztnc-cli', ['-D', home, ...args]);
  }

  beforeEach(() => {
    daemon().service.networksById.clear();
    daemon().service.reachable.clear();
    daemon().service.pingRequests.length = 0;
    daemon().service.join(NWID, {});
    const n = daemon().service.networksById.get(NWID)!;
    n.status = 'OK';
    n.assigned = ['10.147.17.10/24'];
  });

  it('prints a line per reply and the summary, as ping does', async () => {
    daemon().service.reachable.add(PEER);
    const r = await cli('ping', NWID, PEER, '-c', '4');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        `PING ${PEER} on ${NWID}: 56 data bytes`,
        `64 bytes from ${PEER}: icmp_seq=1 ttl=64 time=0.250 ms`,
        `64 bytes from ${PEER}: icmp_seq=2 ttl=64 time=0.500 ms`,
        `64 bytes from ${PEER}: icmp_seq=3 ttl=64 time=0.750 ms`,
        `64 bytes from ${PEER}: icmp_seq=4 ttl=64 time=1.00 ms`,
        '',
        `--- ${PEER} ping statistics ---`,
        '4 packets transmitted, 4 received, 0% packet loss',
        'rtt min/avg/max/mdev = 0.250/0.625/1.000/0.280 ms',
        '',
      ].join('\n'),
    );
    expect(daemon().service.pingRequests).toEqual([{ nwid: NWID, req: { address: PEER, count: 4, timeoutMs: 2000 } }]);
  });

  it('sends the defaults without -c, --timeout when given, and prints the report as JSON with -j', async () => {
    daemon().service.reachable.add(PEER);
    const r = await cli('-j', 'ping', NWID.toUpperCase(), PEER, '--timeout', '500');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      address: PEER,
      transmitted: 3,
      received: 3,
      rttMs: [0.25, 0.5, 0.75],
      replies: [
        { seq: 1, rttMs: 0.25, ttl: 64 },
        { seq: 2, rttMs: 0.5, ttl: 64 },
        { seq: 3, rttMs: 0.75, ttl: 64 },
      ],
    });
    expect(daemon().service.pingRequests).toEqual([{ nwid: NWID, req: { address: PEER, count: 3, timeoutMs: 500 } }]);
  });

  it('exits 1 with the summary on stdout and one line on stderr when nothing answers', async () => {
    const r = await cli('ping', NWID, NOBODY, '-c', '2');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      [
        `PING ${NOBODY} on ${NWID}: 56 data bytes`,
        `no reply from ${NOBODY}: icmp_seq=1 (ETIMEDOUT)`,
        `no reply from ${NOBODY}: icmp_seq=2 (ETIMEDOUT)`,
        '',
        `--- ${NOBODY} ping statistics ---`,
        '2 packets transmitted, 0 received, 100% packet loss',
        '',
      ].join('\n'),
    );
    expect(r.stderr).toBe(`ztnc-cli: ping: no reply from ${NOBODY}\n`);
    const j = await cli('-j', 'ping', NWID, NOBODY, '-c', '1');
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ address: NOBODY, transmitted: 1, received: 0, rttMs: [] });
  });

  it("reports the daemon's refusals: a network not joined, one without an address", async () => {
    expectError(await cli('ping', '8056c2e21c000002', PEER), 1, /^ztnc-cli: ping: network 8056c2e21c000002 not joined \(HTTP 404\)$/);
    daemon().service.networksById.get(NWID)!.assigned = [];
    daemon().service.networksById.get(NWID)!.status = 'ACCESS_DENIED';
    expectError(
      await cli('ping', NWID, PEER),
      1,
      /^ztnc-cli: ping: network 8056c2e21c000001 has no address yet \(status ACCESS_DENIED\) \(HTTP 409\)$/,
    );
  });

  it('asks the daemon to ping an IPv6 address', async () => {
    const peer6 = 'fd80:56c2:e21c:0:199:9383:4a02:2d1f';
    daemon().service.reachable.add(peer6);
    const r = await cli('ping', NWID, peer6, '-c', '1');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`PING ${peer6} on ${NWID}: 56 data bytes`);
    expect(daemon().service.pingRequests).toEqual([{ nwid: NWID, req: { address: peer6, count: 1, timeoutMs: 2000 } }]);
  });

  it('rejects bad usage with exit 2 before asking the daemon', async () => {
    expectError(await cli('ping'), 2, /usage: ztnc-cli ping <network ID> <address>/);
    expectError(await cli('ping', NWID), 2, /usage: ztnc-cli ping/);
    expectError(await cli('ping', NWID, PEER, 'extra'), 2, /usage: ztnc-cli ping/);
    expectError(await cli('ping', 'nope', PEER), 2, /invalid network id "nope"/);
    expectError(await cli('ping', NWID, '10.1.2'), 2, /ping: "10\.1\.2" is not an IPv4 or IPv6 address/);
    expectError(await cli('ping', NWID, 'fd00::1::2'), 2, /ping: "fd00::1::2" is not an IPv4 or IPv6 address/);
    expectError(await cli('ping', NWID, PEER, '-c', '0'), 2, /-c: "0" is not a count from 1 to 100/);
    expectError(await cli('ping', NWID, PEER, '-c', '101'), 2, /-c: "101"/);
    expectError(await cli('ping', NWID, PEER, '-c', 'x'), 2, /-c: "x"/);
    expectError(await cli('ping', NWID, PEER, '--timeout', '0'), 2, /--timeout: "0" is not a time in ms from 1 to 20000/);
    expectError(await cli('listnetworks', '-c', '2'), 2, /-c and --timeout belong to "ping"/);
    expect(daemon().service.pingRequests).toEqual([]);
    // the address checks the CLI leaves to the daemon come back as its 400
    expectError(
      await cli('ping', NWID, '127.0.0.1'),
      1,
      /^ztnc-cli: ping: address: 127\.0\.0\.1 is not a unicast address on a network \(HTTP 400\)$/,
    );
  });

  it('is listed in the help', async () => {
    const r = await cli('-h');
    expect(r.stdout).toMatch(/^ {2}ping <network ID> <address> \[-c N\] \[--timeout MS\]$/m);
  });
});
