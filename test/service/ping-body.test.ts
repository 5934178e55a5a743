// The local API's ping body (POST /network/<nwid>/ping): IPv4 and IPv6 unicast addresses, answered
// in canonical form; what is no unicast address on a network is refused naming the field.
import { describe, expect, it } from 'vitest';
import { parsePingBody } from '../../src/service/local-api.js';

describe('ping body', () => {
  it('takes IPv6 unicast addresses (rfc4193, 6plane, link-local) in RFC 5952 form', () => {
    expect(parsePingBody({ address: 'FD80:56c2:e21c:0000:0199:93de:adbe:ef01' })).toMatchObject({
      address: 'fd80:56c2:e21c:0:199:93de:adbe:ef01',
    });
    expect(parsePingBody({ address: 'fc9c:56c2:e3de:adbe:ef01::1', count: 2 })).toMatchObject({
      address: 'fc9c:56c2:e3de:adbe:ef01::1',
      count: 2,
    });
    expect(parsePingBody({ address: 'fe80::1' })).toMatchObject({ address: 'fe80::1' });
    expect(parsePingBody({ address: '10.1.2.3' })).toMatchObject({ address: '10.1.2.3' });
  });

  it('refuses the unspecified, loopback, multicast and v4-mapped IPv6 addresses, and non-addresses', () => {
    for (const address of ['::', '::1', 'ff02::1', 'ff05::1:3', '::ffff:10.1.2.3'])
      expect(parsePingBody({ address }), address).toMatch(/^address: .* is not a unicast address on a network/);
    expect(parsePingBody({ address: 'fd00::1::2' })).toMatch(/^address: "fd00::1::2" is not an IPv4 address or an IPv6 address/);
  });
});
