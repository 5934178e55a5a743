/**
 * One signed chunk of a network config, the payload of NETWORK_CONFIG (verb 12) and of
 * OK(NETWORK_CONFIG_REQUEST): network id (8), chunk length (2), chunk of the dictionary, flags
 * (1; 0x01 fast propagation), config update id (8), total length (4), chunk index (4), signature
 * type (1; 1 = Ed25519), signature length (2), signature. The controller signs the bytes from the
 * network id through the chunk index. An OK from a legacy controller may end after the chunk.
 */
import { sign, verify } from '../crypto/c25519.js';
import { Reader, Writer, fail, ok, type Parsed } from './bytes.js';

export const CONFIG_CHUNK_FLAG_FAST_PROPAGATION = 0x01;
export const CHUNK_SIGNATURE_TYPE_ED25519 = 1;

export interface ConfigChunkSigned {
  flags: number;
  configUpdateId: bigint;
  totalLength: number;
  chunkIndex: number;
  signatureType: number;
  signature: Buffer;
  /** The signed bytes (network id … chunk index). */
  signedPortion: Buffer;
}

export interface NetworkConfigChunk {
  networkId: bigint;
  data: Buffer;
  /** null for a legacy unsigned single-chunk answer. */
  signed: ConfigChunkSigned | null;
}

export function parseNetworkConfigChunk(payload: Buffer): Parsed<NetworkConfigChunk> {
  const r = new Reader(payload);
  const networkId = r.u64('network id');
  const data = r.bytes(r.u16('chunk length'), 'chunk');
  if (r.failed) return fail(`config chunk: ${r.failed}`);
  if (r.remaining === 0) return ok({ networkId, data, signed: null });
  const flags = r.u8('flags');
  const configUpdateId = r.u64('update id');
  const totalLength = r.u32('total length');
  const chunkIndex = r.u32('chunk index');
  const signedPortion = r.since(0);
  const signatureType = r.u8('signature type');
  const signature = r.bytes(r.u16('signature length'), 'signature');
  if (r.failed) return fail(`config chunk: ${r.failed}`);
  if (totalLength < data.length) return fail('config chunk: total shorter than the chunk');
  return ok({ networkId, data, signed: { flags, configUpdateId, totalLength, chunkIndex, signatureType, signature, signedPortion } });
}

export interface ConfigChunkFields {
  networkId: bigint;
  data: Uint8Array;
  flags: number;
  configUpdateId: bigint;
  totalLength: number;
  chunkIndex: number;
}

/** Builds and signs a chunk with the controller's keys. */
export function emitNetworkConfigChunk(c: ConfigChunkFields, signer: { publicKey: Uint8Array; privateKey: Uint8Array }): Buffer | null {
  if (c.data.length > 0xffff) return null;
  const w = new Writer(140 + c.data.length);
  w.u64(c.networkId).u16(c.data.length).bytes(c.data).u8(c.flags).u64(c.configUpdateId).u32(c.totalLength).u32(c.chunkIndex);
  const signature = sign(signer.privateKey, signer.publicKey, w.finish());
  w.u8(CHUNK_SIGNATURE_TYPE_ED25519).u16(signature.length).bytes(signature);
  return Buffer.from(w.finish());
}

/** Checks the chunk's signature by the controller's 64-byte public key. */
export function verifyNetworkConfigChunk(chunk: NetworkConfigChunk, controllerPublicKey: Uint8Array): boolean {
  const s = chunk.signed;
  if (!s || s.signatureType !== CHUNK_SIGNATURE_TYPE_ED25519) return false;
  return verify(controllerPublicKey, s.signedPortion, s.signature);
}
