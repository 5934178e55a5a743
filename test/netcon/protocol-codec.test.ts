/**
 * The codecs of protocol 2 (src/netcon/protocol.ts, SPEC §3): sockaddrs byte for byte as the
 * kernel lays out struct sockaddr_in / sockaddr_in6, the 48-byte datagram record header, the
 * 32-byte accept record and SOCKET's payload; bad input gives null, never a throw.
 */
import { describe, expect, it } from 'vitest';
import {
  ACCEPT_MAGIC,
  ACCEPT_RECORD_SIZE,
  AF_INET,
  AF_INET6,
  decodeAcceptRecord,
  decodeConnectFiller,
  decodeDgramHeader,
  decodeSockaddr,
  decodeSocketRequest,
  DGRAM_HEADER,
  type DgramHeader,
  DgramOffset,
  DgramType,
  encodeAcceptRecord,
  encodeDataHeader,
  encodeDgramHeader,
  encodeSockaddr,
  encodeSocketRequest,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOCKADDR_SIZE,
} from '../../src/netcon/protocol.js';
import { parseIpv4, parseIpv6Addr, v4Mapped } from '../../src/netstack/addr.js';

const V4 = parseIpv4('10.147.17.5')!;
const V6 = parseIpv6Addr('fd80:56c2:e21c:0:199:93aa:bb01:2')!;

/** struct sockaddr_in6 as the kernel lays it out (x86-64: family and scope id little-endian). */
function kernelSin6(port: number, flowinfo: number, addr: string, scope: number): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16LE(AF_INET6, 0);
  b.writeUInt16BE(port, 2);
  b.writeUInt32BE(flowinfo, 4);
  Buffer.from(addr, 'hex').copy(b, 8);
  b.writeUInt32LE(scope, 24);
  return b;
}

describe('sockaddr codec', () => {
  it('writes an AF_INET sockaddr as struct sockaddr_in, zero-padded to 28 bytes, and reads it back', () => {
    const b = encodeSockaddr({ family: 4, addr: V4, port: 8080 });
    expect(b.length).toBe(SOCKADDR_SIZE);
    expect(b.toString('hex')).toBe('0200' + '1f90' + '0a931105' + '00'.repeat(20));
    expect(decodeSockaddr(b)).toEqual({ family: 4, addr: V4, port: 8080, flowinfo: 0, scopeId: 0 });
  });

  it('writes an AF_INET6 sockaddr as struct sockaddr_in6 (flowinfo big-endian, scope id host order)', () => {
    const b = encodeSockaddr({ family: 6, addr: V6, port: 443, flowinfo: 0x12345, scopeId: 7 });
    expect(b.equals(kernelSin6(443, 0x12345, V6, 7))).toBe(true);
    expect(decodeSockaddr(b)).toEqual({ family: 6, addr: V6, port: 443, flowinfo: 0x12345, scopeId: 7 });
    const mapped = decodeSockaddr(kernelSin6(53, 0, v4Mapped(V4), 0))!;
    expect(mapped.addr).toBe('00000000000000000000ffff0a931105');
  });

  it('reads a sockaddr at an offset inside a larger payload (CONNECT with its filler count)', () => {
    const p = Buffer.alloc(4 + SOCKADDR_SIZE + 4);
    encodeSockaddr({ family: 6, addr: V6, port: 1 }, p, 4);
    expect(decodeSockaddr(p, 4)?.addr).toBe(V6);
    const connect = Buffer.concat([encodeSockaddr({ family: 4, addr: V4, port: 9 }), Buffer.from([3, 0, 0, 0])]);
    expect(decodeConnectFiller(connect)).toBe(3);
    expect(decodeConnectFiller(connect.subarray(0, SOCKADDR_SIZE))).toBe(0);
  });

  it('gives null for a short buffer, an unknown family and AF_UNSPEC (never a throw)', () => {
    expect(decodeSockaddr(Buffer.alloc(27))).toBeNull();
    expect(decodeSockaddr(Buffer.alloc(0))).toBeNull();
    expect(decodeSockaddr(Buffer.alloc(SOCKADDR_SIZE))).toBeNull();
    const odd = Buffer.alloc(SOCKADDR_SIZE);
    odd.writeUInt16LE(7, 0);
    expect(decodeSockaddr(odd)).toBeNull();
    expect(decodeSockaddr(Buffer.alloc(40), 20)).toBeNull();
    expect(decodeSockaddr(Buffer.alloc(40), -1)).toBeNull();
  });

  it('refuses to write an address of the other family (a caller bug, said clearly)', () => {
    expect(() => encodeSockaddr({ family: 4, addr: V6, port: 1 })).toThrow(/AF_INET sockaddr takes an IPv4/);
    expect(() => encodeSockaddr({ family: 6, addr: V4, port: 1 })).toThrow(/AF_INET6 sockaddr takes an IPv6/);
  });
});

describe('datagram record header (48 bytes)', () => {
  const base: DgramHeader = {
    type: DgramType.DATA,
    flags: 0x31,
    port: 5353,
    addr: 0,
    local: 0,
    tos: 0xb8,
    ttl: 3,
    err: 0,
    info: 0,
    scope: 0,
  };

  it('lays the fields out as proto.h says, and round-trips for an AF_INET socket', () => {
    const h = { ...base, addr: V4, local: parseIpv4('10.147.17.255')!, err: 111, info: 1400 };
    const b = encodeDgramHeader(h);
    expect(b.length).toBe(DGRAM_HEADER);
    expect(b[0]).toBe(DgramType.DATA);
    expect(b[1]).toBe(0x31);
    expect(b.readUInt16LE(2)).toBe(5353);
    expect([b[4], b[5]]).toEqual([0xb8, 3]);
    expect(b.readUInt16LE(6)).toBe(111);
    expect(b.readUInt32LE(8)).toBe(1400);
    expect(b.subarray(DgramOffset.ADDR, DgramOffset.ADDR + 16).toString('hex')).toBe('0a931105' + '00'.repeat(12));
    expect(b.subarray(DgramOffset.LOCAL, DgramOffset.LOCAL + 16).toString('hex')).toBe('0a9311ff' + '00'.repeat(12));
    expect(decodeDgramHeader(b, 4)).toEqual(h);
  });

  it('round-trips an AF_INET6 socket header with its scope id, v4-mapped addresses too', () => {
    const h = { ...base, addr: 'fe80' + '0'.repeat(24) + '0abc', local: v4Mapped(V4), scope: 3 };
    const b = encodeDgramHeader(h);
    expect(b.readUInt32LE(12)).toBe(3);
    expect(decodeDgramHeader(b, 6)).toEqual(h);
  });

  it('writes DATA headers in place (the hot path) exactly as the header codec does, at any offset', () => {
    const batch = Buffer.alloc(DGRAM_HEADER * 3, 0xee);
    encodeDataHeader(batch, DGRAM_HEADER, 0x10, 40000, V6, v4Mapped(V4), 0x28, 64, 2);
    const same = encodeDgramHeader({ ...base, flags: 0x10, port: 40000, addr: V6, local: v4Mapped(V4), tos: 0x28, ttl: 64, scope: 2 });
    expect(batch.subarray(DGRAM_HEADER, 2 * DGRAM_HEADER).equals(same)).toBe(true);
    expect(batch[DGRAM_HEADER - 1]).toBe(0xee);
    expect(batch[2 * DGRAM_HEADER]).toBe(0xee);
  });

  it('writes the same bytes into a zeroed batch when told it is zeroed (the fields that stay 0 are skipped)', () => {
    for (const [addr, local, scope] of [
      [V4, V4, 0],
      [V6, v4Mapped(V4), 5],
    ] as const) {
      const full = Buffer.alloc(DGRAM_HEADER, 0xee);
      encodeDataHeader(full, 0, 0x70, 7, addr, local, 1, 2, scope);
      const zeroed = Buffer.alloc(DGRAM_HEADER);
      encodeDataHeader(zeroed, 0, 0x70, 7, addr, local, 1, 2, scope, true);
      expect(zeroed.equals(full)).toBe(true);
    }
  });

  it('gives null for a record shorter than the header', () => {
    expect(decodeDgramHeader(Buffer.alloc(DGRAM_HEADER - 1), 4)).toBeNull();
    expect(decodeDgramHeader(Buffer.alloc(DGRAM_HEADER + 10), 6, 11)).toBeNull();
    expect(decodeDgramHeader(Buffer.alloc(DGRAM_HEADER + 10), 6, 10)).not.toBeNull();
  });
});

describe('accept record and SOCKET payload', () => {
  it('sends the peer as a sockaddr of the listener family after magic and padding (32 bytes)', () => {
    const r = encodeAcceptRecord({ family: 6, addr: v4Mapped(V4), port: 50000 });
    expect(r.length).toBe(ACCEPT_RECORD_SIZE);
    expect([...r.subarray(0, 4)]).toEqual([ACCEPT_MAGIC, 0, 0, 0]);
    expect(r.subarray(4).equals(encodeSockaddr({ family: 6, addr: v4Mapped(V4), port: 50000 }))).toBe(true);
    expect(decodeAcceptRecord(r)).toEqual({ family: 6, addr: v4Mapped(V4), port: 50000, flowinfo: 0, scopeId: 0 });
    expect(decodeAcceptRecord(encodeAcceptRecord({ family: 4, addr: V4, port: 1 }))?.addr).toBe(V4);
    expect(decodeAcceptRecord(r.subarray(0, 8))).toBeNull();
    const bad = Buffer.from(r);
    bad[0] = 0;
    expect(decodeAcceptRecord(bad)).toBeNull();
  });

  it('reads type (flags masked), protocol and domain; short payloads and unknown domains are told apart', () => {
    expect(decodeSocketRequest(encodeSocketRequest(SOCK_DGRAM | 0x800, 58, 6))).toEqual({ type: SOCK_DGRAM, protocol: 58, family: 6 });
    expect(decodeSocketRequest(encodeSocketRequest(0, 0, 4))).toEqual({ type: SOCK_STREAM, protocol: 0, family: 4 });
    const raw = encodeSocketRequest(SOCK_STREAM, 0, 4);
    expect(raw.readInt32LE(8)).toBe(AF_INET);
    raw.writeInt32LE(17, 8); // AF_PACKET
    expect(decodeSocketRequest(raw)?.family).toBeNull();
    expect(decodeSocketRequest(Buffer.alloc(8))).toBeNull();
  });
});
