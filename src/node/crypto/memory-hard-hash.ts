/**
 * ZeroTier's memory-hard identity hash ("hashcash"): SHA-512 of the 64-byte public key seeds a
 * Salsa20/20 stream (key = digest[0..32], nonce = digest[32..40]); a 2 MiB buffer is filled so each
 * 64-byte block is the previous one XOR the next keystream block; then 131072 rounds each read two
 * big-endian 64-bit words of the buffer in order, the first (mod 8) choosing a digest word and the
 * second (mod 262144) a buffer word, swap those two words and re-encrypt the digest with the
 * continuing stream. An identity is valid when digest[0] < 17 and digest[59..64] is its address.
 *
 * This costs ~150 ms of CPU in JS, so callers on the event loop use `memoryHardHash` (a worker
 * thread, results cached); `memoryHardHashSync` is for tools and tests.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

export const MEMORY_HARD_HASH_BYTES = 2097152;
export const DIGEST_FIRST_BYTE_LIMIT = 17;

/**
 * The hash itself. It closes over nothing (not even imports) because its source text is also the
 * body of the worker thread; `sha512` and the 2 MiB scratch buffer are passed in. For the same
 * reason its Salsa20/20 block function is its own copy of `Salsa20.nextBlock` (salsa20.ts), not a
 * call to it: keep the two in step (both are checked against stock ZeroTier's vectors).
 */
export function computeMemoryHardHash(
  publicKey: Uint8Array,
  sha512: (data: Uint8Array) => Uint8Array,
  genmem: Uint8Array,
): Uint8Array {
  const MEM = 2097152;
  if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) throw new Error('memory-hard hash needs a little-endian host');
  const digest = new Uint8Array(64);
  digest.set(sha512(publicKey).subarray(0, 64));
  const s = new Uint32Array(16);
  const ks = new Uint32Array(16);
  const rd = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
  s[0] = 0x61707865; s[5] = 0x3320646e; s[10] = 0x79622d32; s[15] = 0x6b206574;
  s[1] = rd(digest, 0); s[2] = rd(digest, 4); s[3] = rd(digest, 8); s[4] = rd(digest, 12);
  s[11] = rd(digest, 16); s[12] = rd(digest, 20); s[13] = rd(digest, 24); s[14] = rd(digest, 28);
  s[6] = rd(digest, 32); s[7] = rd(digest, 36); s[8] = 0; s[9] = 0;

  // One Salsa20/20 keystream block into ks, advancing the 64-bit counter.
  const next = (): void => {
    let x0 = s[0]!, x1 = s[1]!, x2 = s[2]!, x3 = s[3]!, x4 = s[4]!, x5 = s[5]!, x6 = s[6]!, x7 = s[7]!;
    let x8 = s[8]!, x9 = s[9]!, x10 = s[10]!, x11 = s[11]!, x12 = s[12]!, x13 = s[13]!, x14 = s[14]!, x15 = s[15]!;
    let u: number;
    for (let i = 0; i < 20; i += 2) {
      u = (x0 + x12) | 0; x4 ^= (u << 7) | (u >>> 25);
      u = (x4 + x0) | 0; x8 ^= (u << 9) | (u >>> 23);
      u = (x8 + x4) | 0; x12 ^= (u << 13) | (u >>> 19);
      u = (x12 + x8) | 0; x0 ^= (u << 18) | (u >>> 14);
      u = (x5 + x1) | 0; x9 ^= (u << 7) | (u >>> 25);
      u = (x9 + x5) | 0; x13 ^= (u << 9) | (u >>> 23);
      u = (x13 + x9) | 0; x1 ^= (u << 13) | (u >>> 19);
      u = (x1 + x13) | 0; x5 ^= (u << 18) | (u >>> 14);
      u = (x10 + x6) | 0; x14 ^= (u << 7) | (u >>> 25);
      u = (x14 + x10) | 0; x2 ^= (u << 9) | (u >>> 23);
      u = (x2 + x14) | 0; x6 ^= (u << 13) | (u >>> 19);
      u = (x6 + x2) | 0; x10 ^= (u << 18) | (u >>> 14);
      u = (x15 + x11) | 0; x3 ^= (u << 7) | (u >>> 25);
      u = (x3 + x15) | 0; x7 ^= (u << 9) | (u >>> 23);
      u = (x7 + x3) | 0; x11 ^= (u << 13) | (u >>> 19);
      u = (x11 + x7) | 0; x15 ^= (u << 18) | (u >>> 14);
      u = (x0 + x3) | 0; x1 ^= (u << 7) | (u >>> 25);
      u = (x1 + x0) | 0; x2 ^= (u << 9) | (u >>> 23);
      u = (x2 + x1) | 0; x3 ^= (u << 13) | (u >>> 19);
      u = (x3 + x2) | 0; x0 ^= (u << 18) | (u >>> 14);
      u = (x5 + x4) | 0; x6 ^= (u << 7) | (u >>> 25);
      u = (x6 + x5) | 0; x7 ^= (u << 9) | (u >>> 23);
      u = (x7 + x6) | 0; x4 ^= (u << 13) | (u >>> 19);
      u = (x4 + x7) | 0; x5 ^= (u << 18) | (u >>> 14);
      u = (x10 + x9) | 0; x11 ^= (u << 7) | (u >>> 25);
      u = (x11 + x10) | 0; x8 ^= (u << 9) | (u >>> 23);
      u = (x8 + x11) | 0; x9 ^= (u << 13) | (u >>> 19);
      u = (x9 + x8) | 0; x10 ^= (u << 18) | (u >>> 14);
      u = (x15 + x14) | 0; x12 ^= (u << 7) | (u >>> 25);
      u = (x12 + x15) | 0; x13 ^= (u << 9) | (u >>> 23);
      u = (x13 + x12) | 0; x14 ^= (u << 13) | (u >>> 19);
      u = (x14 + x13) | 0; x15 ^= (u << 18) | (u >>> 14);
    }
    ks[0] = x0 + s[0]!; ks[1] = x1 + s[1]!; ks[2] = x2 + s[2]!; ks[3] = x3 + s[3]!;
    ks[4] = x4 + s[4]!; ks[5] = x5 + s[5]!; ks[6] = x6 + s[6]!; ks[7] = x7 + s[7]!;
    ks[8] = x8 + s[8]!; ks[9] = x9 + s[9]!; ks[10] = x10 + s[10]!; ks[11] = x11 + s[11]!;
    ks[12] = x12 + s[12]!; ks[13] = x13 + s[13]!; ks[14] = x14 + s[14]!; ks[15] = x15 + s[15]!;
    s[8] = (s[8]! + 1) >>> 0;
    if (s[8] === 0) s[9] = (s[9]! + 1) >>> 0;
  };

  const mem32 = new Uint32Array(genmem.buffer, genmem.byteOffset, MEM >>> 2);
  next();
  for (let w = 0; w < 16; w++) mem32[w] = ks[w]!;
  for (let i = 16; i < MEM >>> 2; i += 16) {
    next();
    for (let w = 0; w < 16; w++) mem32[i + w] = mem32[i - 16 + w]! ^ ks[w]!;
  }

  const dig32 = new Uint32Array(digest.buffer, digest.byteOffset, 16);
  for (let i = 0; i < MEM >>> 3; ) {
    // big-endian u64 mod 8 and mod 2^18 only need the word's last bytes
    const a = i++ << 3;
    const idx1 = genmem[a + 7]! & 7;
    const b = i++ << 3;
    const idx2 = ((genmem[b + 5]! & 3) << 16) | (genmem[b + 6]! << 8) | genmem[b + 7]!;
    const m = idx2 << 1;
    const d = idx1 << 1;
    const t0 = mem32[m]!, t1 = mem32[m + 1]!;
    mem32[m] = dig32[d]!;
    mem32[m + 1] = dig32[d + 1]!;
    dig32[d] = t0;
    dig32[d + 1] = t1;
    next();
    for (let w = 0; w < 16; w++) dig32[w] = dig32[w]! ^ ks[w]!;
  }
  return digest;
}

const sha512 = (data: Uint8Array): Uint8Array => createHash('sha512').update(data).digest();
let syncScratch: Uint8Array | null = null;

/** The 64-byte digest, computed on the calling thread (blocks it for ~150 ms). */
export function memoryHardHashSync(publicKey: Uint8Array): Buffer {
  syncScratch ??= new Uint8Array(MEMORY_HARD_HASH_BYTES);
  const d = computeMemoryHardHash(publicKey, sha512, syncScratch);
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const compute = (${computeMemoryHardHash.toString()});
const genmem = new Uint8Array(${MEMORY_HARD_HASH_BYTES});
const sha512 = (d) => createHash('sha512').update(d).digest();
parentPort.on('message', (m) => {
  try {
    parentPort.postMessage({ id: m.id, digest: compute(m.publicKey, sha512, genmem) });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String(e && e.message || e) });
  }
});
`;

interface Pending {
  resolve: (d: Buffer) => void;
  reject: (e: Error) => void;
}

/**
 * Most hashes waiting at once (~20 s of work). Past it, requests fail at once instead of growing
 * the queue, so a flood of new identities cannot use unbounded memory.
 */
export const MAX_PENDING_HASHES = 1024;

/** Thrown (as a rejection) when MAX_PENDING_HASHES hashes are already waiting. */
export class HashQueueFullError extends Error {
  override readonly name = 'HashQueueFullError';
}

/** One background thread that computes hashes in arrival order; idle, it does not keep the process alive. */
class HashWorker {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  run(publicKey: Uint8Array): Promise<Buffer> {
    if (this.pending.size >= MAX_PENDING_HASHES) {
      return Promise.reject(new HashQueueFullError(`memory-hard hash queue full (${MAX_PENDING_HASHES} waiting)`));
    }
    const w = this.ensure();
    const id = this.nextId++;
    return new Promise<Buffer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) w.ref();
      w.postMessage({ id, publicKey: Uint8Array.from(publicKey) });
    });
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.unref();
    w.on('message', (m: { id: number; digest?: Uint8Array; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) w.unref();
      if (m.digest) p.resolve(Buffer.from(m.digest.buffer, m.digest.byteOffset, m.digest.byteLength));
      else p.reject(new Error(`memory-hard hash failed: ${m.error ?? 'unknown error'}`));
    });
    const fail = (e: Error): void => {
      if (this.worker === w) this.worker = null;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`memory-hard hash worker exited (${code})`)));
    this.worker = w;
    return w;
  }

  /** Stops the thread (pending hashes are rejected); the next request starts a new one. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}

const CACHE_LIMIT = 4096;
const cache = new Map<string, Promise<Buffer>>();
const worker = new HashWorker();

/**
 * The digest of a public key, computed off the event loop. Results (and hashes in progress) are
 * cached by public key, so each peer's identity costs one hash however often it is checked; the
 * returned Buffer is shared, so callers must not modify it. Rejects with HashQueueFullError when
 * too many hashes are waiting (the failure is not cached).
 */
export function memoryHardHash(publicKey: Uint8Array): Promise<Buffer> {
  const key = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('hex');
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key); // refresh recency
    cache.set(key, hit);
    return hit;
  }
  const p = worker.run(publicKey);
  p.catch(() => cache.delete(key));
  if (cache.size >= CACHE_LIMIT) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(key, p);
  return p;
}

/** Hashes a candidate without caching it (identity generation tries many keys once each). */
export function memoryHardHashUncached(publicKey: Uint8Array): Promise<Buffer> {
  return worker.run(publicKey);
}

/** Stops the worker thread, e.g. at daemon shutdown or the end of a test file. */
export function closeMemoryHardHashWorker(): Promise<void> {
  return worker.close();
}
