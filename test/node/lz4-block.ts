/**
 * Minimal LZ4 raw-block decoder for the armor vector tests only, so that compressed captured
 * packets can be compared with their recorded decompressed plaintext. The node's own codec lives
 * in src/node/wire; this one just has to be obviously right for well-formed input.
 */
export function lz4BlockDecompress(src: Uint8Array, maxOut: number): Buffer {
  const out = Buffer.alloc(maxOut);
  let ip = 0;
  let op = 0;
  while (ip < src.length) {
    const token = src[ip++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        b = src[ip++]!;
        lit += b;
      } while (b === 255);
    }
    out.set(src.subarray(ip, ip + lit), op);
    ip += lit;
    op += lit;
    if (ip >= src.length) break; // the last sequence has literals only
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    let mlen = token & 15;
    if (mlen === 15) {
      let b: number;
      do {
        b = src[ip++]!;
        mlen += b;
      } while (b === 255);
    }
    mlen += 4;
    if (offset === 0 || offset > op) throw new Error('lz4: bad offset');
    for (let i = 0; i < mlen; i++) out[op + i] = out[op - offset + i]!;
    op += mlen;
  }
  return out.subarray(0, op);
}
