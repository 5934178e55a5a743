import { describe, expect, it } from 'vitest';
import {
  emitEthernetHeader,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  EthernetHeader,
  EthernetParseError,
  isBroadcastMacAt,
  macEqualsAt,
  parseEthernet,
} from '../../src/netstack/wire/ethernet.js';

describe('wire/ethernet', () => {
  it('parses a hand-built frame header', () => {
    const f = Buffer.from('ffffffffffff' + '020000000001' + '0806' + '0001', 'hex');
    const h = new EthernetHeader();
    expect(parseEthernet(f, h)).toBe(0);
    expect(h.etherType).toBe(ETHERTYPE_ARP);
    expect(h.broadcast).toBe(true);
    expect(h.multicast).toBe(true);
    const u = Buffer.from('020000000002' + '020000000001' + '0800', 'hex');
    expect(parseEthernet(u, h)).toBe(0);
    expect(h.etherType).toBe(ETHERTYPE_IPV4);
    expect(h.broadcast).toBe(false);
    expect(h.multicast).toBe(false);
    const m = Buffer.from('01005e000001' + '020000000001' + '0800', 'hex');
    parseEthernet(m, h);
    expect(h.multicast).toBe(true);
    expect(h.broadcast).toBe(false);
  });

  it('rejects short frames without throwing', () => {
    const h = new EthernetHeader();
    for (let n = 0; n < 14; n++) expect(parseEthernet(Buffer.alloc(n), h)).toBe(EthernetParseError.Truncated);
  });

  it('emits a header in place and compares addresses', () => {
    const buf = Buffer.alloc(20, 0xee);
    const dst = Buffer.from([1, 2, 3, 4, 5, 6]);
    const src = Buffer.from([7, 8, 9, 10, 11, 12]);
    emitEthernetHeader(buf, 2, dst, src, 0x0800);
    expect(buf.toString('hex')).toBe('eeee' + '010203040506' + '0708090a0b0c' + '0800' + 'eeeeeeee');
    expect(macEqualsAt(buf, 2, dst)).toBe(true);
    expect(macEqualsAt(buf, 8, dst)).toBe(false);
    expect(isBroadcastMacAt(Buffer.alloc(6, 0xff), 0)).toBe(true);
    expect(isBroadcastMacAt(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]), 0)).toBe(false);
  });
});
