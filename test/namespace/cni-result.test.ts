/**
 * The CNI result ztnc-cni prints for ADD (cni-result.ts) in each supported spec version, the
 * addresses CHECK reads back from a previous result, and the GC and CHECK fields of the config.
 */
import { describe, expect, it } from 'vitest';
import { CniError, parseNetConf } from '../../src/namespace/cni-protocol.js';
import { cniResult, resultAddresses } from '../../src/namespace/cni-result.js';
import type { LinkState } from '../../src/namespace/link-config.js';

const state: LinkState = {
  mac: '02:aa:bb:cc:dd:ee',
  mtu: 2800,
  addresses: ['10.1.2.3/24', 'fd00::3/88'],
  routes: [
    { target: '10.1.2.0/24', via: null },
    { target: '0.0.0.0/0', via: '10.1.2.1' },
  ],
  dns: { domain: 'zt.example', servers: ['10.1.2.53'] },
};
const itf = { ifname: 'eth0', sandbox: '/var/run/netns/c1' };

describe('cniResult', () => {
  it('1.1.0: interface with sandbox and MTU, addresses indexed to it, routes, DNS', () => {
    expect(cniResult('1.1.0', itf, state)).toEqual({
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', mac: '02:aa:bb:cc:dd:ee', mtu: 2800, sandbox: '/var/run/netns/c1' }],
      ips: [
        { address: '10.1.2.3/24', interface: 0 },
        { address: 'fd00::3/88', interface: 0 },
      ],
      routes: [{ dst: '10.1.2.0/24' }, { dst: '0.0.0.0/0', gw: '10.1.2.1' }],
      dns: { nameservers: ['10.1.2.53'], domain: 'zt.example', search: ['zt.example'] },
    });
  });

  it('1.0.0 has no interface MTU; 0.4.0 gives each address its version', () => {
    expect((cniResult('1.0.0', itf, state).interfaces as object[])[0]).not.toHaveProperty('mtu');
    expect(cniResult('0.4.0', itf, state).ips).toEqual([
      { version: '4', address: '10.1.2.3/24', interface: 0 },
      { version: '6', address: 'fd00::3/88', interface: 0 },
    ]);
  });

  it('reads back the addresses of the named interface from a previous result', () => {
    const prev = {
      interfaces: [{ name: 'other' }, { name: 'eth0' }],
      ips: [
        { address: '192.0.2.1/24', interface: 0 },
        { address: '10.1.2.3/24', interface: 1 },
      ],
    };
    expect(resultAddresses(prev, 'eth0')).toEqual(['10.1.2.3/24']);
    expect(resultAddresses({}, 'eth0')).toEqual([]);
  });
});

describe('parseNetConf: CHECK and GC fields', () => {
  const base = { cniVersion: '1.1.0', name: 'n', type: 'ztnc', network: '8056C2E21C000001' };
  const code = (conf: unknown): number => {
    try {
      parseNetConf(JSON.stringify(conf));
      return 0;
    } catch (e) {
      return (e as CniError).code;
    }
  };

  it('keeps prevResult and cni.dev/valid-attachments', () => {
    const conf = parseNetConf(
      JSON.stringify({ ...base, prevResult: { ips: [] }, 'cni.dev/valid-attachments': [{ containerID: 'c', ifname: 'eth0', extra: 1 }] }),
    );
    expect(conf.network).toBe('8056c2e21c000001');
    expect(conf.prevResult).toEqual({ ips: [] });
    expect(conf.validAttachments).toEqual([{ containerID: 'c', ifname: 'eth0' }]);
  });

  it('refuses another plugin type, empty paths and malformed GC lists with code 7', () => {
    expect(code({ ...base, type: 'bridge' })).toBe(7);
    expect(code({ ...base, home: '' })).toBe(7);
    expect(code({ ...base, prevResult: [] })).toBe(7);
    expect(code({ ...base, 'cni.dev/valid-attachments': [{ containerID: 'c' }] })).toBe(7);
    expect(code(base)).toBe(0);
  });
});
