/**
 * Reassembles a network config sent as signed chunks (each already signature-checked by the
 * caller): chunks of one config share an update id; each names its byte offset and the total
 * length. Bounded in size and in the number of updates in flight.
 */
export interface ConfigChunk {
  updateId: bigint;
  totalLength: number;
  /** Byte offset of this chunk within the whole config. */
  offset: number;
  data: Uint8Array;
}

interface InFlight {
  total: number;
  parts: Map<number, Uint8Array>;
  have: number;
  started: number;
}

export type ChunkResult = { kind: 'complete'; config: Buffer } | { kind: 'partial' } | { kind: 'invalid'; reason: string };

export const MAX_CONFIG_BYTES = 1 << 20;

export class ConfigChunkAssembly {
  private readonly inFlight = new Map<bigint, InFlight>();

  constructor(
    private readonly maxUpdates = 4,
    private readonly ttlMs = 30_000,
  ) {}

  add(chunk: ConfigChunk, now: number): ChunkResult {
    const { updateId, totalLength, offset, data } = chunk;
    if (totalLength <= 0 || totalLength > MAX_CONFIG_BYTES) return { kind: 'invalid', reason: 'config length out of range' };
    if (offset < 0 || data.length === 0 || offset + data.length > totalLength)
      return { kind: 'invalid', reason: 'chunk outside the config' };
    for (const [id, f] of this.inFlight) if (now - f.started > this.ttlMs) this.inFlight.delete(id);
    let f = this.inFlight.get(updateId);
    if (!f) {
      if (this.inFlight.size >= this.maxUpdates) {
        const oldest = this.inFlight.keys().next().value;
        if (oldest !== undefined) this.inFlight.delete(oldest);
      }
      f = { total: totalLength, parts: new Map(), have: 0, started: now };
      this.inFlight.set(updateId, f);
    }
    if (f.total !== totalLength) return { kind: 'invalid', reason: 'chunks disagree on the total length' };
    if (!f.parts.has(offset)) {
      f.parts.set(offset, data);
      f.have += data.length;
    }
    if (f.have < f.total) return { kind: 'partial' };
    // every byte must be covered exactly once, in order
    const out = Buffer.alloc(f.total);
    let pos = 0;
    for (const off of [...f.parts.keys()].sort((a, b) => a - b)) {
      if (off !== pos) {
        this.inFlight.delete(updateId);
        return { kind: 'invalid', reason: 'chunks overlap or leave a gap' };
      }
      const part = f.parts.get(off)!;
      out.set(part, pos);
      pos += part.length;
    }
    this.inFlight.delete(updateId);
    return { kind: 'complete', config: out };
  }
}
