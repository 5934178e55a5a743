/**
 * The outbound NAT's policy and its settings: host loopback off by default, deny and allow CIDRs,
 * flows per member, the host-loopback alias; echo flows over an injected ping socket opener;
 * `local.conf`'s settings.gateway read with errors naming the key.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readGatewayConf } from '../../src/gateway/gateway-conf.js';
import { DEFAULT_OUTBOUND_POLICY, OutboundNat, parseCidr } from '../../src/gateway/outbound.js';
import { parseIpv4 } from '../../src/netstack/index.js';
import { tempDir } from '../support/temp-dir.js';

const ip = (t: string): number => parseIpv4(t)!;
const M = ip('10.1.0.5');

describe('outbound policy', () => {
  it('refuses the host loopback unless allowed, denied CIDRs, and what the allow list leaves out', () => {
    const open = new OutboundNat(DEFAULT_OUTBOUND_POLICY);
    expect(open.allow('tcp', M, 1000, ip('127.0.0.1'), 80)).toBe(false);
    expect(open.allow('tcp', M, 1000, ip('192.0.2.1'), 80)).toBe(true);
    const loop = new OutboundNat({ ...DEFAULT_OUTBOUND_POLICY, allowHostLoopback: true });
    expect(loop.allow('udp', M, 1000, ip('127.0.0.53'), 53)).toBe(true);
    const lists = new OutboundNat({ ...DEFAULT_OUTBOUND_POLICY, allow: ['192.0.2.0/24'], deny: ['192.0.2.128/25'] });
    expect(lists.allow('tcp', M, 1000, ip('192.0.2.1'), 80)).toBe(true);
    expect(lists.allow('tcp', M, 1000, ip('192.0.2.200'), 80)).toBe(false);
    expect(lists.allow('tcp', M, 1000, ip('198.51.100.1'), 80)).toBe(false);
    expect(lists.counters.refused).toBe(2);
  });

  it('rejects bad CIDRs by name', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ net: ip('10.0.0.0'), prefixLen: 8 });
    expect(parseCidr('10.0.0.1')).toEqual({ net: ip('10.0.0.1'), prefixLen: 32 });
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/"10.0.0.0\/33" is not an IPv4 CIDR/);
    expect(() => parseCidr('example')).toThrow(/not an IPv4 CIDR/);
  });

  it("reads local.conf's settings.gateway", () => {
    const home = tempDir('ztnc-gw-conf-');
    expect(readGatewayConf(home)).toEqual({ networks: [], policy: DEFAULT_OUTBOUND_POLICY });
    const conf = (gateway: unknown): void => writeFileSync(join(home, 'local.conf'), JSON.stringify({ settings: { gateway } }));
    conf({ networks: ['8056C2E21C000001'], allowHostLoopback: true, allow: ['10.0.0.0/8'], deny: [], maxFlowsPerMember: 4 });
    expect(readGatewayConf(home)).toEqual({
      networks: ['8056c2e21c000001'],
      policy: { allowHostLoopback: true, allow: ['10.0.0.0/8'], deny: [], maxPerMember: 4, hostLoopbackAlias: null },
    });
    conf({ networks: ['nope'] });
    expect(() => readGatewayConf(home)).toThrow(/settings.gateway.networks: "nope" is not a network id/);
    conf({ deny: ['10.0.0.0/40'] });
    expect(() => readGatewayConf(home)).toThrow(/settings.gateway: "10.0.0.0\/40"/);
    conf({ maxFlowsPerMember: 0 });
    expect(() => readGatewayConf(home)).toThrow(/maxFlowsPerMember must be a positive integer/);
    conf({ allowHostLoopback: 'yes' });
    expect(() => readGatewayConf(home)).toThrow(/allowHostLoopback must be true or false/);
    conf({ hostLoopbackAlias: '10.0.2.2' });
    expect(readGatewayConf(home).policy.hostLoopbackAlias).toBe('10.0.2.2');
    conf({ hostLoopbackAlias: '127.0.0.1' });
    expect(() => readGatewayConf(home)).toThrow(/host loopback alias "127.0.0.1" must be a unicast IPv4 address outside 127/);
  });

  it('the host-loopback alias stands for 127.0.0.1, under the same policy', () => {
    const alias = '10.0.2.2';
    const off = new OutboundNat({ ...DEFAULT_OUTBOUND_POLICY, hostLoopbackAlias: alias });
    expect(off.allow('tcp', M, 1000, ip(alias), 80)).toBe(false);
    const on = new OutboundNat({ ...DEFAULT_OUTBOUND_POLICY, hostLoopbackAlias: alias, allowHostLoopback: true, deny: ['192.0.2.0/24'] });
    expect(on.allow('tcp', M, 1000, ip(alias), 80)).toBe(true);
    expect(on.allow('icmp', M, 7, ip('192.0.2.9'), 0)).toBe(false);
    expect(() => new OutboundNat({ ...DEFAULT_OUTBOUND_POLICY, hostLoopbackAlias: '224.0.0.1' })).toThrow(/host loopback alias/);
  });

  it('echo flows: one ping socket per member, id and destination, replies under the flow; the alias pings 127.0.0.1', () => {
    const opened: { sent: { to: string; message: Buffer }[]; onReply: (seq: number, data: Buffer) => void; closed: boolean }[] = [];
    const nat = new OutboundNat({ ...DEFAULT_OUTBOUND_POLICY, hostLoopbackAlias: '10.0.2.2', allowHostLoopback: true }, (onReply) => {
      const s = { sent: [] as { to: string; message: Buffer }[], onReply, closed: false };
      opened.push(s);
      return {
        send: (to, message) => (s.sent.push({ to, message }), true),
        close: () => (s.closed = true),
      };
    });
    const replies: string[] = [];
    nat.echo(M, ip('192.0.2.1'), 7, 1, Buffer.from('abc'), (seq, d) => replies.push(`a ${seq} ${d.toString()}`));
    nat.echo(M, ip('192.0.2.1'), 7, 2, Buffer.from('abc'), (seq, d) => replies.push(`a ${seq} ${d.toString()}`));
    nat.echo(M, ip('10.0.2.2'), 7, 1, Buffer.from('x'), (seq, d) => replies.push(`b ${seq} ${d.toString()}`));
    expect(opened).toHaveLength(2);
    expect(opened[0]!.sent.map((x) => x.to)).toEqual(['192.0.2.1', '192.0.2.1']);
    expect(opened[0]!.sent[1]!.message.subarray(0, 8)).toEqual(Buffer.from([8, 0, 0, 0, 0, 7, 0, 2]));
    expect(opened[1]!.sent[0]!.to).toBe('127.0.0.1');
    opened[0]!.onReply(2, Buffer.from('abc'));
    opened[1]!.onReply(1, Buffer.from('x'));
    expect(replies).toEqual(['a 2 abc', 'b 1 x']);
    expect(nat.counters).toMatchObject({ flows: 2, active: 2, bytesOut: 7, bytesIn: 4 });
    nat.close();
    expect(opened.every((s) => s.closed)).toBe(true);
    // a host that permits no ping sockets: the request is counted failed
    const denied = new OutboundNat(DEFAULT_OUTBOUND_POLICY, () => -13);
    denied.echo(M, ip('192.0.2.1'), 7, 1, Buffer.from('abc'), () => {});
    expect(denied.counters).toMatchObject({ failed: 1, flows: 0 });
  });
});
