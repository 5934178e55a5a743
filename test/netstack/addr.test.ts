/**
 * Address text (src/netstack/addr.ts), which the controller's address pools and the resolver's
 * names read too: dotted quads and IPv6 in every RFC 4291 form, everything else refused.
 */
import { describe, expect, it } from 'vitest';
import { formatIpv4, parseIpv4, parseIpv6 } from '../../src/netstack/index.js';

const hex = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString('hex'));

describe('address text', () => {
  it('reads dotted quads and writes them back', () => {
    expect(parseIpv4('10.147.17.5')).toBe(0x0a931105);
    expect(formatIpv4(0x0a931105)).toBe('10.147.17.5');
    for (const bad of ['10.1.2', '10.1.2.256', '1.2.3.4.5', ' 1.2.3.4', '1.2.3.x', '']) expect(parseIpv4(bad), bad).toBeNull();
  });

  it('reads IPv6 with groups, one ::, and an IPv4 tail, in network order', () => {
    expect(hex(parseIpv6('::'))).toBe('0'.repeat(32));
    expect(hex(parseIpv6('::1'))).toBe(`${'0'.repeat(30)}01`);
    expect(hex(parseIpv6('fd80:56c2:e21c:0:199:9300:1:2'))).toBe('fd8056c2e21c00000199930000010002');
    expect(hex(parseIpv6('FC12::AB'))).toBe('fc1200000000000000000000000000ab');
    expect(hex(parseIpv6('::ffff:10.1.2.3'))).toBe('00000000000000000000ffff0a010203');
    expect(hex(parseIpv6('64:ff9b::192.0.2.33'))).toBe('0064ff9b0000000000000000c0000221');
    for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'g::1', '', ':::', '::1.2.3', '12345::', '1:2:3:4:5:6:7::8:9']) {
      expect(parseIpv6(bad), bad).toBeNull();
    }
  });
});
