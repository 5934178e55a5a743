/**
 * MULTICAST_GATHER (verb 13): network id (8), flags (1), group MAC (6), ADI (4), max members
 * wanted (4), then a COM when flag 0x01 is set. OK(MULTICAST_GATHER): network id, MAC, ADI, then
 * gather results: total known (4), count in this packet (2), count × address (5) — the same
 * results OK(MULTICAST_FRAME) carries.
 */
import { readCom, writeCom, type CertificateOfMembership } from '../credentials/certificate-of-membership.js';
import type { MulticastGroup } from '../network/multicast.js';
import { Reader, Writer, fail, ok, type Parsed } from './bytes.js';

export const GATHER_FLAG_COM = 0x01;

export interface MulticastGather {
  networkId: bigint;
  flags: number;
  group: MulticastGroup;
  gatherLimit: number;
  com: CertificateOfMembership | null;
}

export function parseMulticastGather(payload: Buffer): Parsed<MulticastGather> {
  const r = new Reader(payload);
  const networkId = r.u64('network id');
  const flags = r.u8('flags');
  const group = { mac: r.mac('group MAC'), adi: r.u32('group ADI') };
  const gatherLimit = r.u32('gather limit');
  const com = !r.failed && (flags & GATHER_FLAG_COM) !== 0 ? readCom(r) : null;
  if (r.failed) return fail(`MULTICAST_GATHER: ${r.failed}`);
  return ok({ networkId, flags, group, gatherLimit, com });
}

export function emitMulticastGather(g: Omit<MulticastGather, 'flags'> & { flags?: number }): Buffer {
  const w = new Writer(64);
  const flags = ((g.flags ?? 0) & ~GATHER_FLAG_COM) | (g.com ? GATHER_FLAG_COM : 0);
  w.u64(g.networkId).u8(flags).mac(g.group.mac).u32(g.group.adi).u32(g.gatherLimit);
  if (g.com) writeCom(w, g.com);
  return Buffer.from(w.finish());
}

export interface GatherResults {
  totalKnown: number;
  members: bigint[];
}

export function readGatherResults(r: Reader): GatherResults {
  const totalKnown = r.u32('total known');
  const n = r.u16('member count');
  if (!r.failed && n * 5 > r.remaining) r.fail('gather results: count beyond the payload');
  const members: bigint[] = [];
  for (let i = 0; i < n && !r.failed; i++) members.push(r.address());
  return { totalKnown, members };
}

export function writeGatherResults(w: Writer, g: GatherResults): void {
  w.u32(g.totalKnown).u16(g.members.length);
  for (const m of g.members) w.address(m);
}

export interface OkMulticastGather extends GatherResults {
  networkId: bigint;
  group: MulticastGroup;
}

export function parseOkMulticastGather(body: Buffer): Parsed<OkMulticastGather> {
  const r = new Reader(body);
  const networkId = r.u64('network id');
  const group = { mac: r.mac('group MAC'), adi: r.u32('group ADI') };
  const res = readGatherResults(r);
  if (r.failed) return fail(`OK(MULTICAST_GATHER): ${r.failed}`);
  return ok({ networkId, group, ...res });
}

export function emitOkMulticastGather(o: OkMulticastGather): Buffer {
  const w = new Writer(32 + o.members.length * 5);
  w.u64(o.networkId).mac(o.group.mac).u32(o.group.adi);
  writeGatherResults(w, o);
  return Buffer.from(w.finish());
}
