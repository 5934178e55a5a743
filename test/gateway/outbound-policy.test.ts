/**
 * The outbound NAT's policy and its settings: host loopback off by default, deny and allow CIDRs,
 * flows per member; `local.conf`'s settings.gateway read with errors naming the key.
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
      policy: { allowHostLoopback: true, allow: ['10.0.0.0/8'], deny: [], maxPerMember: 4 },
    });
    conf({ networks: ['nope'] });
    expect(() => readGatewayConf(home)).toThrow(/settings.gateway.networks: "nope" is not a network id/);
    conf({ deny: ['10.0.0.0/40'] });
    expect(() => readGatewayConf(home)).toThrow(/settings.gateway: "10.0.0.0\/40"/);
    conf({ maxFlowsPerMember: 0 });
    expect(() => readGatewayConf(home)).toThrow(/maxFlowsPerMember must be a positive integer/);
    conf({ allowHostLoopback: 'yes' });
    expect(() => readGatewayConf(home)).toThrow(/allowHostLoopback must be true or false/);
  });
});
