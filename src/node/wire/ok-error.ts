/**
 * OK (verb 3) and ERROR (verb 2) envelopes: in-re verb (1), in-re packet id (8: the request's
 * on-wire bytes 0–7, which for cipher 3 is the encrypted tag half), then for ERROR a code (1),
 * then a verb-specific body decoded by that verb's codec.
 */
import { Reader, Writer, fail, ok, type Parsed } from './bytes.js';

export const ErrorCode = {
  NONE: 0x00,
  INVALID_REQUEST: 0x01,
  BAD_PROTOCOL_VERSION: 0x02,
  OBJ_NOT_FOUND: 0x03,
  IDENTITY_COLLISION: 0x04,
  UNSUPPORTED_OPERATION: 0x05,
  NEED_MEMBERSHIP_CERTIFICATE: 0x06,
  NETWORK_ACCESS_DENIED: 0x07,
  UNWANTED_MULTICAST: 0x08,
  NETWORK_AUTHENTICATION_REQUIRED: 0x09,
} as const;

export interface OkMessage {
  inReVerb: number;
  inRePacketId: Buffer;
  body: Buffer;
}

export interface ErrorMessage extends OkMessage {
  code: number;
}

export function parseOk(payload: Buffer): Parsed<OkMessage> {
  const r = new Reader(payload);
  const inReVerb = r.u8() & 0x1f;
  const inRePacketId = r.bytes(8, 'in-re packet id');
  if (r.failed) return fail(`OK: ${r.failed}`);
  return ok({ inReVerb, inRePacketId, body: r.rest() });
}

export function emitOk(inReVerb: number, inRePacketId: Uint8Array, body: Uint8Array = Buffer.alloc(0)): Buffer {
  return Buffer.from(new Writer(9 + body.length).u8(inReVerb).bytes(inRePacketId.subarray(0, 8)).bytes(body).finish());
}

export function parseError(payload: Buffer): Parsed<ErrorMessage> {
  const r = new Reader(payload);
  const inReVerb = r.u8() & 0x1f;
  const inRePacketId = r.bytes(8, 'in-re packet id');
  const code = r.u8('error code');
  if (r.failed) return fail(`ERROR: ${r.failed}`);
  return ok({ inReVerb, inRePacketId, code, body: r.rest() });
}

export function emitError(inReVerb: number, inRePacketId: Uint8Array, code: number, body: Uint8Array = Buffer.alloc(0)): Buffer {
  return Buffer.from(new Writer(10 + body.length).u8(inReVerb).bytes(inRePacketId.subarray(0, 8)).u8(code).bytes(body).finish());
}

/**
 * Body of network errors (NEED_MEMBERSHIP_CERTIFICATE, NETWORK_ACCESS_DENIED, authentication
 * required): network id (8), then optionally a dictionary length (2) and dictionary.
 */
export interface NetworkErrorBody {
  networkId: bigint;
  dictionary: Buffer | null;
}

export function parseNetworkErrorBody(body: Buffer): Parsed<NetworkErrorBody> {
  const r = new Reader(body);
  const networkId = r.u64('network id');
  const dictionary = r.remaining >= 2 ? r.bytes(r.u16(), 'error dictionary') : null;
  if (r.failed) return fail(`ERROR: ${r.failed}`);
  return ok({ networkId, dictionary });
}

export function emitNetworkErrorBody(b: NetworkErrorBody): Buffer {
  const w = new Writer(16).u64(b.networkId);
  if (b.dictionary) w.u16(b.dictionary.length).bytes(b.dictionary);
  return Buffer.from(w.finish());
}
