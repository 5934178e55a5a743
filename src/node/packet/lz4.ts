/**
 * LZ4 raw block format (no frame, no size prefix), as ZeroTier compresses packet payloads.
 * The receiver does not learn the decompressed size, so decompression takes an output cap and
 * rejects anything that would exceed it; malformed blocks give an error value, never a throw.
 */
import { fail, ok, type Parsed } from '../wire/bytes.js';

const MIN_MATCH = 4;
/** A block's last 5 bytes are literals and its last match starts at least 12 bytes before the end. */
const LAST_LITERALS = 5;
const MF_LIMIT = 12;
const HASH_BITS = 14;
const MAX_OFFSET = 65535;

export function lz4Decompress(src: Uint8Array, maxOutputBytes: number): Parsed<Buffer> {
  const maxOutput = Number.isFinite(maxOutputBytes) ? Math.max(0, Math.floor(maxOutputBytes)) : 0;
  // start near the likely size and grow up to the cap, so a generous cap costs nothing
  let out = Buffer.allocUnsafe(Math.min(maxOutput, Math.max(256, src.length * 4)));
  const ensure = (need: number): void => {
    if (need <= out.length) return;
    const next = Buffer.allocUnsafe(Math.min(maxOutput, Math.max(need, out.length * 2)));
    out.copy(next, 0, 0, op);
    out = next;
  };
  let ip = 0;
  let op = 0;
  const n = src.length;
  if (n === 0) return fail('lz4: empty block');
  for (;;) {
    if (ip >= n) return fail('lz4: truncated (no token)');
    const token = src[ip++]!;
    let litLen = token >>> 4;
    if (litLen === 15) {
      for (;;) {
        if (ip >= n) return fail('lz4: truncated literal length');
        const b = src[ip++]!;
        litLen += b;
        if (b !== 255) break;
        if (litLen > maxOutput) return fail('lz4: output over the cap');
      }
    }
    if (ip + litLen > n) return fail('lz4: literals run past the input');
    if (op + litLen > maxOutput) return fail('lz4: output over the cap');
    ensure(op + litLen);
    out.set(src.subarray(ip, ip + litLen), op);
    ip += litLen;
    op += litLen;
    if (ip === n) break; // the last sequence has literals only
    if (ip + 2 > n) return fail('lz4: truncated match offset');
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > op) return fail('lz4: match offset out of range');
    let matchLen = token & 15;
    if (matchLen === 15) {
      for (;;) {
        if (ip >= n) return fail('lz4: truncated match length');
        const b = src[ip++]!;
        matchLen += b;
        if (b !== 255) break;
        if (matchLen > maxOutput) return fail('lz4: output over the cap');
      }
    }
    matchLen += MIN_MATCH;
    if (op + matchLen > maxOutput) return fail('lz4: output over the cap');
    ensure(op + matchLen);
    let from = op - offset;
    if (offset >= matchLen) {
      out.copy(out, op, from, from + matchLen);
      op += matchLen;
    } else {
      // overlapping copy repeats the last `offset` bytes
      for (let k = 0; k < matchLen; k++) out[op++] = out[from++]!;
    }
  }
  return ok(out.subarray(0, op));
}

/** Worst-case compressed size of n bytes. */
export function lz4CompressBound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

function writeLength(out: Buffer, op: number, len: number): number {
  let l = len;
  while (l >= 255) {
    out[op++] = 255;
    l -= 255;
  }
  out[op++] = l;
  return op;
}

function emitSequence(
  out: Buffer,
  op: number,
  src: Uint8Array,
  litStart: number,
  litEnd: number,
  offset: number,
  matchLen: number,
): number {
  const litLen = litEnd - litStart;
  const tokenAt = op++;
  let token = (litLen >= 15 ? 15 : litLen) << 4;
  if (litLen >= 15) op = writeLength(out, op, litLen - 15);
  out.set(src.subarray(litStart, litEnd), op);
  op += litLen;
  if (matchLen > 0) {
    out[op++] = offset & 0xff;
    out[op++] = offset >>> 8;
    const ml = matchLen - MIN_MATCH;
    token |= ml >= 15 ? 15 : ml;
    if (ml >= 15) op = writeLength(out, op, ml - 15);
  }
  out[tokenAt] = token;
  return op;
}

function read32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/**
 * The hash table is reused across calls: entries hold position + `tableBase`, and each call
 * raises the base past every position the previous call stored, so old entries read as invalid
 * without clearing 64 KiB per call.
 */
const table = new Int32Array(1 << HASH_BITS);
let tableBase = 1;

/** Greedy single-pass compressor producing blocks any LZ4 block decoder accepts. */
export function lz4Compress(src: Uint8Array): Buffer {
  const n = src.length;
  const out = Buffer.allocUnsafe(lz4CompressBound(n));
  let op = 0;
  let anchor = 0;
  if (n >= MF_LIMIT + 1) {
    if (tableBase + n + 1 > 0x7fffffff) {
      table.fill(0);
      tableBase = 1;
    }
    const base = tableBase;
    tableBase += n + 1;
    const matchLimit = n - LAST_LITERALS;
    const limit = n - MF_LIMIT;
    let i = 0;
    while (i < limit) {
      const seq = read32(src, i);
      const h = Math.imul(seq, 2654435761) >>> (32 - HASH_BITS);
      const ref = table[h]! - base;
      table[h] = i + base;
      if (ref >= 0 && i - ref <= MAX_OFFSET && read32(src, ref) === seq) {
        let len = MIN_MATCH;
        while (i + len < matchLimit && src[ref + len] === src[i + len]) len++;
        op = emitSequence(out, op, src, anchor, i, i - ref, len);
        i += len;
        anchor = i;
      } else {
        i++;
      }
    }
  }
  op = emitSequence(out, op, src, anchor, n, 0, 0);
  return out.subarray(0, op);
}
