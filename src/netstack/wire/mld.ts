/**
 * Multicast Listener Discovery codec (RFC 3810, MLDv2; RFC 2710's MLDv1 messages recognised):
 * the version 2 report a host sends (§5.2: a list of multicast address records, here without
 * source lists: a host joined to a group "excludes nothing") and the query it may receive (§5.1).
 * Zero-copy; `parseMldQuery` and `parseMld2Report` return 0 or a negative `MldParseError` and
 * never throw. The emitter writes the ICMPv6 checksum.
 */
import { ICMPV6_MLD2_REPORT, setIcmpv6Checksum } from './icmpv6.js';

/** ff02::16, where MLDv2 reports go (RFC 3810 §5.2.14). */
export const MLDV2_ROUTERS = `ff02${'0'.repeat(26)}16`;

// multicast address record types (RFC 3810 §5.2.12)
export const MLD_MODE_IS_INCLUDE = 1;
export const MLD_MODE_IS_EXCLUDE = 2;
export const MLD_CHANGE_TO_INCLUDE = 3;
export const MLD_CHANGE_TO_EXCLUDE = 4;

export const MLD2_REPORT_HEADER_LEN = 8;
/** A record without sources: type, aux length, source count, the group. */
export const MLD2_RECORD_LEN = 20;
export const MLD_QUERY_MIN_LEN = 24;

export const enum MldParseError {
  Ok = 0,
  Truncated = -1,
  BadRecord = -2,
}

/** A parsed query (v1: 24 bytes, v2: 28 + sources). */
export class MldQuery {
  /** Maximum response delay in milliseconds. */
  maxResponseMs = 0;
  /** The group asked about, or '' for a general query. */
  group = '';
}

export function parseMldQuery(msg: Buffer, out: MldQuery): number {
  if (msg.length < MLD_QUERY_MIN_LEN) return MldParseError.Truncated;
  const code = msg.readUInt16BE(4);
  // RFC 3810 §5.1.3: codes from 32768 are a floating-point encoding
  out.maxResponseMs = code < 32768 ? code : ((code & 0x0fff) | 0x1000) << (((code >>> 12) & 0x7) + 3);
  const g = msg.toString('hex', 8, 24);
  out.group = g === '0'.repeat(32) ? '' : g;
  return MldParseError.Ok;
}

export interface MldRecord {
  type: number;
  group: string;
  sources: string[];
}

/** The records of an MLDv2 report (for tests and diagnostics; a host does not act on others' reports). */
export function parseMld2Report(msg: Buffer, out: MldRecord[]): number {
  if (msg.length < MLD2_REPORT_HEADER_LEN) return MldParseError.Truncated;
  const n = msg.readUInt16BE(6);
  let at = MLD2_REPORT_HEADER_LEN;
  for (let i = 0; i < n; i++) {
    if (at + MLD2_RECORD_LEN > msg.length) return MldParseError.Truncated;
    const aux = msg[at + 1]! << 2;
    const ns = msg.readUInt16BE(at + 2);
    const end = at + MLD2_RECORD_LEN + ns * 16 + aux;
    if (end > msg.length) return MldParseError.BadRecord;
    const sources: string[] = [];
    for (let s = 0; s < ns; s++) sources.push(msg.toString('hex', at + 20 + s * 16, at + 36 + s * 16));
    out.push({ type: msg[at]!, group: msg.toString('hex', at + 4, at + 20), sources });
    at = end;
  }
  return MldParseError.Ok;
}

/** Bytes an MLDv2 report of `records` source-less records takes. */
export function mld2ReportLen(records: number): number {
  return MLD2_REPORT_HEADER_LEN + records * MLD2_RECORD_LEN;
}

/**
 * An MLDv2 report at buf[off...] with one source-less record of `type` per group. Returns its length.
 */
export function emitMld2Report(buf: Buffer, off: number, type: number, groups: readonly string[], src: string, dst: string): number {
  const len = mld2ReportLen(groups.length);
  buf[off] = ICMPV6_MLD2_REPORT;
  buf[off + 1] = 0;
  buf.writeUInt16BE(0, off + 4);
  buf.writeUInt16BE(groups.length, off + 6);
  let at = off + MLD2_REPORT_HEADER_LEN;
  for (const g of groups) {
    buf[at] = type;
    buf[at + 1] = 0;
    buf.writeUInt16BE(0, at + 2);
    buf.write(g, at + 4, 16, 'hex');
    at += MLD2_RECORD_LEN;
  }
  setIcmpv6Checksum(buf, off, off + len, src, dst);
  return len;
}
