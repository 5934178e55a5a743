/**
 * MULTICAST_FRAME (verb 14): network id (8), flags (1), [COM if 0x01, deprecated], [implicit
 * gather limit (4) if 0x02], [source MAC (6) if 0x04], destination MAC (6), ADI (4), ethertype
 * (2), payload. Flag 0x08 asks a replicator to replicate.
 * OK(MULTICAST_FRAME): network id, MAC, ADI, flags, [COM if 0x01], [gather results if 0x02].
 * ERROR(MULTICAST_FRAME) bodies carry network id, MAC and ADI.
 */
import { readCom, writeCom, type CertificateOfMembership } from '../credentials/certificate-of-membership.js';
import type { MulticastGroup } from '../network/multicast.js';
import { Reader, Writer, fail, ok, type Parsed } from './bytes.js';
import { readGatherResults, writeGatherResults, type GatherResults } from './multicast-gather.js';

export const MulticastFrameFlag = {
  COM: 0x01,
  GATHER_LIMIT: 0x02,
  SOURCE_MAC: 0x04,
  REPLICATE: 0x08,
} as const;

export interface MulticastFrame {
  networkId: bigint;
  flags: number;
  com: CertificateOfMembership | null;
  /** 0 when absent. */
  gatherLimit: number;
  /** null: derived from the sender's address. */
  sourceMac: bigint | null;
  group: MulticastGroup;
  etherType: number;
  data: Buffer;
}

export function parseMulticastFrame(payload: Buffer): Parsed<MulticastFrame> {
  const r = new Reader(payload);
  const networkId = r.u64('network id');
  const flags = r.u8('flags');
  const com = !r.failed && (flags & MulticastFrameFlag.COM) !== 0 ? readCom(r) : null;
  const gatherLimit = flags & MulticastFrameFlag.GATHER_LIMIT ? r.u32('gather limit') : 0;
  const sourceMac = flags & MulticastFrameFlag.SOURCE_MAC ? r.mac('source MAC') : null;
  const group = { mac: r.mac('group MAC'), adi: r.u32('group ADI') };
  const etherType = r.u16('ethertype');
  if (r.failed) return fail(`MULTICAST_FRAME: ${r.failed}`);
  return ok({ networkId, flags, com, gatherLimit, sourceMac, group, etherType, data: r.rest() });
}

/** Flags follow the optional fields given (COM, gather limit > 0, source MAC) plus `replicate`. */
export function emitMulticastFrame(f: Omit<MulticastFrame, 'flags'> & { replicate?: boolean }): Buffer {
  let flags = f.replicate ? MulticastFrameFlag.REPLICATE : 0;
  if (f.com) flags |= MulticastFrameFlag.COM;
  if (f.gatherLimit > 0) flags |= MulticastFrameFlag.GATHER_LIMIT;
  if (f.sourceMac !== null) flags |= MulticastFrameFlag.SOURCE_MAC;
  const w = new Writer(40 + f.data.length);
  w.u64(f.networkId).u8(flags);
  if (f.com) writeCom(w, f.com);
  if (f.gatherLimit > 0) w.u32(f.gatherLimit);
  if (f.sourceMac !== null) w.mac(f.sourceMac);
  w.mac(f.group.mac).u32(f.group.adi).u16(f.etherType).bytes(f.data);
  return Buffer.from(w.finish());
}

export interface OkMulticastFrame {
  networkId: bigint;
  group: MulticastGroup;
  flags: number;
  com: CertificateOfMembership | null;
  gather: GatherResults | null;
}

export function parseOkMulticastFrame(body: Buffer): Parsed<OkMulticastFrame> {
  const r = new Reader(body);
  const networkId = r.u64('network id');
  const group = { mac: r.mac('group MAC'), adi: r.u32('group ADI') };
  const flags = r.u8('flags');
  const com = !r.failed && flags & 0x01 ? readCom(r) : null;
  const gather = !r.failed && flags & 0x02 ? readGatherResults(r) : null;
  if (r.failed) return fail(`OK(MULTICAST_FRAME): ${r.failed}`);
  return ok({ networkId, group, flags, com, gather });
}

export function emitOkMulticastFrame(o: Omit<OkMulticastFrame, 'flags'>): Buffer {
  const w = new Writer(64);
  w.u64(o.networkId)
    .mac(o.group.mac)
    .u32(o.group.adi)
    .u8((o.com ? 0x01 : 0) | (o.gather ? 0x02 : 0));
  if (o.com) writeCom(w, o.com);
  if (o.gather) writeGatherResults(w, o.gather);
  return Buffer.from(w.finish());
}

export interface MulticastFrameErrorBody {
  networkId: bigint;
  group: MulticastGroup | null;
}

/** ERROR(MULTICAST_FRAME) bodies: network id, then MAC and ADI for UNWANTED_MULTICAST. */
export function parseMulticastFrameErrorBody(body: Buffer): Parsed<MulticastFrameErrorBody> {
  const r = new Reader(body);
  const networkId = r.u64('network id');
  const group = r.remaining >= 10 ? { mac: r.mac(), adi: r.u32() } : null;
  return r.failed ? fail(`ERROR(MULTICAST_FRAME): ${r.failed}`) : ok({ networkId, group });
}
