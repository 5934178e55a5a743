/**
 * NETWORK_CREDENTIALS (verb 10): COMs until a 0x00 byte, then counted (u16) lists of
 * capabilities, tags, revocations and certificates of ownership. Capabilities, tags and
 * revocations are framed (their bytes returned) but not interpreted: we grant none of them.
 */
import { readCom, writeCom, type CertificateOfMembership } from '../credentials/certificate-of-membership.js';
import { readCoo, writeCoo, type CertificateOfOwnership } from '../credentials/certificate-of-ownership.js';
import { readRevocation, writeRevocation, type Revocation } from '../credentials/revocation.js';
import { Reader, Writer, fail, ok, type Parsed } from './bytes.js';

/** Bound per list, so a packet cannot make us walk thousands of entries. */
export const MAX_CREDENTIALS_PER_LIST = 64;
const MAX_CUSTODY_CHAIN = 7;

export interface NetworkCredentials {
  coms: CertificateOfMembership[];
  capabilities: Buffer[];
  tags: Buffer[];
  revocations: Revocation[];
  coos: CertificateOfOwnership[];
}

function skipSignature(r: Reader): void {
  if (r.u8('signature type') === 1) {
    const len = r.u16('signature length');
    if (len !== 96) r.fail('bad signature length');
    r.bytes(96, 'signature');
  } else {
    r.bytes(r.u16('signature length'), 'signature');
  }
}

/** Frames one serialized capability (we grant none; it is carried, not interpreted). */
export function skipCapability(r: Reader): void {
  r.bytes(20, 'capability header');
  const rules = r.u16('capability rule count');
  for (let i = 0; i < rules && !r.failed; i++) {
    r.u8('rule type');
    r.bytes(r.u8('rule length'), 'rule');
  }
  r.u8('custody chain length');
  for (let i = 0; ; i++) {
    const to = r.address('custody to');
    if (to === 0n || r.failed) break;
    if (i >= MAX_CUSTODY_CHAIN) {
      r.fail('capability custody chain too long');
      break;
    }
    r.address('custody from');
    skipSignature(r);
  }
  r.bytes(r.u16('capability extra length'), 'capability extra');
}

/** Frames one serialized tag. */
export function skipTag(r: Reader): void {
  r.bytes(8 + 8 + 4 + 4 + 5 + 5, 'tag');
  skipSignature(r);
  r.bytes(r.u16('tag extra length'), 'tag extra');
}

function readList(r: Reader, what: string, skip: (r: Reader) => void): Buffer[] {
  const n = r.u16(`${what} count`);
  if (n > MAX_CREDENTIALS_PER_LIST) {
    r.fail(`${n} ${what}s`);
    return [];
  }
  const out: Buffer[] = [];
  for (let i = 0; i < n && !r.failed; i++) {
    const start = r.pos;
    skip(r);
    out.push(r.since(start));
  }
  return out;
}

export function parseNetworkCredentials(payload: Buffer): Parsed<NetworkCredentials> {
  const r = new Reader(payload);
  const coms: CertificateOfMembership[] = [];
  while (!r.failed && r.remaining > 0 && r.buf[r.pos] !== 0) {
    if (coms.length >= MAX_CREDENTIALS_PER_LIST) return fail('NETWORK_CREDENTIALS: too many COMs');
    const com = readCom(r);
    if (com) coms.push(com);
  }
  r.u8('COM terminator');
  const empty: Buffer[] = [];
  // older senders stop after the COMs
  const capabilities = r.remaining > 0 ? readList(r, 'capability', skipCapability) : empty;
  const tags = r.remaining > 0 ? readList(r, 'tag', skipTag) : empty;
  const revocations: Revocation[] = [];
  if (r.remaining > 0) {
    const n = r.u16('revocation count');
    if (n > MAX_CREDENTIALS_PER_LIST) return fail(`NETWORK_CREDENTIALS: ${n} revocations`);
    for (let i = 0; i < n && !r.failed; i++) {
      const v = readRevocation(r);
      if (v) revocations.push(v);
    }
  }
  const coos: CertificateOfOwnership[] = [];
  if (r.remaining > 0) {
    const n = r.u16('COO count');
    if (n > MAX_CREDENTIALS_PER_LIST) return fail(`NETWORK_CREDENTIALS: ${n} COOs`);
    for (let i = 0; i < n && !r.failed; i++) {
      const c = readCoo(r);
      if (c) coos.push(c);
    }
  }
  if (r.failed) return fail(`NETWORK_CREDENTIALS: ${r.failed}`);
  return ok({ coms, capabilities, tags, revocations, coos });
}

export function emitNetworkCredentials(c: Partial<NetworkCredentials>): Buffer {
  const w = new Writer(512);
  for (const com of c.coms ?? []) writeCom(w, com);
  w.u8(0);
  for (const list of [c.capabilities ?? [], c.tags ?? []]) {
    w.u16(list.length);
    for (const b of list) w.bytes(b);
  }
  w.u16(c.revocations?.length ?? 0);
  for (const v of c.revocations ?? []) writeRevocation(w, v);
  w.u16(c.coos?.length ?? 0);
  for (const coo of c.coos ?? []) writeCoo(w, coo);
  return Buffer.from(w.finish());
}
