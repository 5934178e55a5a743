/**
 * WHOIS (verb 4): one or more 5-byte addresses. OK(WHOIS): one or more binary identities.
 * Only answers from roots and moons are to be trusted (the caller's rule, not the codec's).
 */
import { Reader, Writer, fail, ok, type Parsed } from './bytes.js';
import { readIdentityBytes, writeIdentityPublic, type IdentityBytes } from './identity-bytes.js';

/** Bound on addresses per request, so one packet cannot ask for thousands of lookups. */
export const MAX_WHOIS_ADDRESSES = 128;

export function parseWhois(payload: Buffer): Parsed<bigint[]> {
  if (payload.length === 0 || payload.length % 5 !== 0) return fail(`WHOIS: payload of ${payload.length} bytes`);
  if (payload.length / 5 > MAX_WHOIS_ADDRESSES) return fail('WHOIS: too many addresses');
  const r = new Reader(payload);
  const out: bigint[] = [];
  while (r.remaining > 0) out.push(r.address());
  return ok(out);
}

export function emitWhois(addresses: readonly bigint[]): Buffer {
  const w = new Writer(addresses.length * 5);
  for (const a of addresses) w.address(a);
  return Buffer.from(w.finish());
}

export function parseOkWhois(body: Buffer, maxIdentities = MAX_WHOIS_ADDRESSES): Parsed<IdentityBytes[]> {
  const r = new Reader(body);
  const out: IdentityBytes[] = [];
  while (r.remaining > 0) {
    if (out.length >= maxIdentities) return fail('OK(WHOIS): too many identities');
    const id = readIdentityBytes(r);
    if (!id) return fail(`OK(WHOIS): ${r.failed ?? 'bad identity'}`);
    if (id.privateKey) return fail('OK(WHOIS): identity carries a private key');
    out.push(id);
  }
  return out.length > 0 ? ok(out) : fail('OK(WHOIS): empty');
}

export function emitOkWhois(identities: readonly { address: bigint; publicKey: Uint8Array }[]): Buffer {
  const w = new Writer(71 * identities.length);
  for (const id of identities) writeIdentityPublic(w, id.address, id.publicKey);
  return Buffer.from(w.finish());
}
