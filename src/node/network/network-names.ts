/**
 * The names of a network's members, as the ztnc controller adds them to the network config under
 * the dictionary key NAMES_KEY (a ztnc-only key: stock nodes never look it up, and a stock
 * controller's config has none). Each member's resolver serves `<name>.<dns domain>` from it.
 *
 * Value (binary, escaped by the dictionary as any value):
 *   u8 format (1) | u16 count | count × ( u8 len | name (len bytes, one DNS label)
 *                                       | u8 n | n × InetAddress (type 4 or 6, port 0) )
 *
 * Bounded: at most MAX_NAME_ENTRIES entries, MAX_ADDRESSES_PER_NAME addresses each, and
 * MAX_NAMES_BYTES bytes in all; the controller writes entries in name order and leaves out those
 * past a bound (it logs how many). Stock nodes take configs far larger (their dictionary holds a
 * few hundred KB), so the key never stops a stock member from taking the config.
 */
import { Reader, Writer } from '../wire/bytes.js';
import { readInetAddress, writeInetAddress, type InetAddress } from '../wire/inet-address.js';

export const NAMES_KEY = 'ztnc.names';
export const NAMES_FORMAT = 1;
export const MAX_NAME_ENTRIES = 1024;
export const MAX_ADDRESSES_PER_NAME = 8;
export const MAX_NAMES_BYTES = 32 * 1024;
const MAX_LABEL = 63;

export interface MemberName {
  /** One DNS label: [a-z0-9-], 1–63 characters. */
  name: string;
  addrs: InetAddress[];
}

/** The value for `names`: as many entries as fit the bounds, in the order given. */
export function encodeNames(names: readonly MemberName[]): { value: Buffer; written: number } {
  const w = new Writer(256);
  w.u8(NAMES_FORMAT).u16(0);
  let size = 3;
  let written = 0;
  for (const n of names) {
    if (written >= MAX_NAME_ENTRIES) break;
    const label = Buffer.from(n.name, 'latin1');
    if (label.length === 0 || label.length > MAX_LABEL) continue;
    const e = new Writer(64);
    const addrs = n.addrs.slice(0, MAX_ADDRESSES_PER_NAME);
    e.u8(label.length).bytes(label).u8(addrs.length);
    for (const a of addrs) writeInetAddress(e, { ...a, port: 0 });
    const bytes = e.finish();
    if (size + bytes.length > MAX_NAMES_BYTES) break;
    w.bytes(bytes);
    size += bytes.length;
    written++;
  }
  const value = w.finish();
  value.writeUInt16BE(written, 1);
  return { value, written };
}

/** Reads the value; null when it is not one this node understands (the names are then left out). */
export function decodeNames(value: Buffer): MemberName[] | null {
  if (value.length > MAX_NAMES_BYTES) return null;
  const r = new Reader(value);
  if (r.u8('names format') !== NAMES_FORMAT) return null;
  const count = r.u16('names count');
  if (count > MAX_NAME_ENTRIES) return null;
  const out: MemberName[] = [];
  for (let i = 0; i < count && r.failed === null; i++) {
    const len = r.u8('name length');
    const label = r.bytes(len, 'name').toString('latin1');
    const n = r.u8('address count');
    if (len === 0 || len > MAX_LABEL || !/^[a-z0-9-]+$/.test(label) || n > MAX_ADDRESSES_PER_NAME) return null;
    const addrs: InetAddress[] = [];
    for (let j = 0; j < n && r.failed === null; j++) {
      const a = readInetAddress(r);
      if (a) addrs.push(a);
    }
    out.push({ name: label, addrs });
  }
  return r.failed === null ? out : null;
}
