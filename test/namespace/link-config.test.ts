/** The namespace interface's state from a network's JSON, and the `ip` commands between states (src/namespace/link-config.ts). */
import { describe, expect, it } from 'vitest';
import { hostsFile, linkCommands, linkState, resolvConf } from '../../src/namespace/link-config.js';

const ok = {
  status: 'OK',
  mac: '2a:12:0c:f0:6e:d9',
  mtu: 2800,
  assignedAddresses: ['10.1.0.5/24', 'fd00::5/88'],
  routes: [
    { target: '10.1.0.0/24', via: null, flags: 0, metric: 0 },
    { target: '0.0.0.0/0', via: '10.1.0.1', flags: 0, metric: 0 },
  ],
  dns: { domain: 'zt.example', servers: ['10.1.0.53'] },
};

describe('linkState', () => {
  it('takes addresses, routes, MTU, MAC and DNS from an OK network', () => {
    expect(linkState(ok)).toEqual({
      mac: '2a:12:0c:f0:6e:d9',
      mtu: 2800,
      addresses: ['10.1.0.5/24', 'fd00::5/88'],
      routes: [
        { target: '10.1.0.0/24', via: null },
        { target: '0.0.0.0/0', via: '10.1.0.1' },
      ],
      dns: { domain: 'zt.example', servers: ['10.1.0.53'] },
    });
  });

  it('gives a network that is not OK no addresses and no routes (de-authorized: the interface carries nothing)', () => {
    const s = linkState({ ...ok, status: 'ACCESS_DENIED' });
    expect(s.addresses).toEqual([]);
    expect(s.routes).toEqual([]);
  });

  it('drops malformed entries instead of passing them to ip', () => {
    const s = linkState({ ...ok, mtu: 'big', assignedAddresses: ['10.1.0.5/24', '; rm -rf /', 7], routes: [{ target: 'x y' }, null] });
    expect(s.mtu).toBe(2800);
    expect(s.addresses).toEqual(['10.1.0.5/24']);
    expect(s.routes).toEqual([]);
  });
});

describe('linkCommands', () => {
  it('brings a fresh interface up with MAC and MTU, then addresses, direct routes, then gateway routes', () => {
    expect(linkCommands('zt0', null, linkState(ok))).toEqual([
      ['link', 'set', 'dev', 'zt0', 'address', '2a:12:0c:f0:6e:d9'],
      ['link', 'set', 'dev', 'zt0', 'mtu', '2800', 'up'],
      ['-4', 'addr', 'add', '10.1.0.5/24', 'dev', 'zt0'],
      ['-6', 'addr', 'add', 'fd00::5/88', 'dev', 'zt0', 'nodad'],
      ['-4', 'route', 'replace', '10.1.0.0/24', 'dev', 'zt0'],
      ['-4', 'route', 'replace', 'default', 'via', '10.1.0.1', 'dev', 'zt0'],
    ]);
  });

  it('applies a change as a difference: new MTU, address moved, route removed', () => {
    const before = linkState(ok);
    const after = linkState({ ...ok, mtu: 1400, assignedAddresses: ['10.1.0.6/24', 'fd00::5/88'], routes: [ok.routes[0]] });
    expect(linkCommands('zt0', before, after)).toEqual([
      ['link', 'set', 'dev', 'zt0', 'mtu', '1400'],
      ['-4', 'route', 'del', 'default', 'via', '10.1.0.1', 'dev', 'zt0'],
      ['-4', 'addr', 'del', '10.1.0.5/24', 'dev', 'zt0'],
      ['-4', 'addr', 'add', '10.1.0.6/24', 'dev', 'zt0'],
    ]);
  });

  it('takes everything away on de-authorization, and nothing when nothing changed', () => {
    const before = linkState(ok);
    expect(linkCommands('zt0', before, linkState({ ...ok, status: 'ACCESS_DENIED' }))).toHaveLength(4);
    expect(linkCommands('zt0', before, linkState(ok))).toEqual([]);
  });
});

describe('resolv.conf and hosts', () => {
  it("names the network's resolvers, or one inside the namespace that answers nothing — never the host's", () => {
    expect(resolvConf(linkState(ok))).toContain('nameserver 10.1.0.53\nsearch zt.example\n');
    expect(resolvConf(linkState({ ...ok, dns: { domain: '', servers: [] } }))).toContain('nameserver 127.0.0.1\n');
  });

  it("puts the member's name on its addresses", () => {
    expect(hostsFile(linkState(ok), 'box')).toContain('10.1.0.5\tbox\nfd00::5\tbox\n');
  });
});
