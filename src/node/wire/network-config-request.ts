/**
 * NETWORK_CONFIG_REQUEST (verb 11): network id (8), metadata length (2), metadata dictionary,
 * revision (8) and timestamp (8) of the config the member already has (0 when none).
 */
import { Reader, Writer, fail, ok, type Parsed } from './bytes.js';

export interface NetworkConfigRequest {
  networkId: bigint;
  /** The member's metadata dictionary (text form). */
  metadata: Buffer;
  haveRevision: bigint;
  haveTimestamp: bigint;
}

export function parseNetworkConfigRequest(payload: Buffer): Parsed<NetworkConfigRequest> {
  const r = new Reader(payload);
  const networkId = r.u64('network id');
  const metadata = r.bytes(r.u16('metadata length'), 'metadata');
  // very old members stop after the metadata
  const haveRevision = r.remaining >= 8 ? r.u64() : 0n;
  const haveTimestamp = r.remaining >= 8 ? r.u64() : 0n;
  if (r.failed) return fail(`NETWORK_CONFIG_REQUEST: ${r.failed}`);
  return ok({ networkId, metadata, haveRevision, haveTimestamp });
}

export function emitNetworkConfigRequest(q: NetworkConfigRequest): Buffer | null {
  if (q.metadata.length > 0xffff) return null;
  return Buffer.from(
    new Writer(32 + q.metadata.length)
      .u64(q.networkId)
      .u16(q.metadata.length)
      .bytes(q.metadata)
      .u64(q.haveRevision)
      .u64(q.haveTimestamp)
      .finish(),
  );
}
