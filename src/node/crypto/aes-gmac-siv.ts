/**
 * AES-GMAC-SIV as ZeroTier 1.6+ uses it (cipher suite 3), on node:crypto (AES-NI):
 *  - GMAC under K0 with IV = packet id ‖ 0x00000000 over (16-byte padded header AAD ‖ plaintext),
 *    i.e. an AES-256-GCM tag with everything fed as AAD; the 16-byte tag is folded to 8 bytes
 *    (first half XOR second half);
 *  - the block (packet id ‖ folded tag) is AES-256-ECB-encrypted under K1: that 16-byte value is
 *    what goes on the wire, and with bit 31 of its last 32-bit word cleared it is the AES-256-CTR
 *    IV under K1 for the payload (the cleared bit keeps the 32-bit block counter from wrapping).
 *
 * The ECB contexts are created once per key and reused (ECB is stateless); GCM and CTR need a new
 * node:crypto object per packet, which is the main per-packet cost here.
 */
import { createCipheriv, createDecipheriv, createHmac, type Cipher, type Decipher } from 'node:crypto';

/** KBKDF (NIST SP 800-108 counter mode, HMAC-SHA384) message for label '0' or '1', as stock ZeroTier builds it. */
function kbkdfMessage(label: 0x30 | 0x31): Buffer {
  // counter 0 (4 bytes) | 'Z' 'T' | label | 0x00 | context 0x00 | output length in bits, 384
  return Buffer.from([0, 0, 0, 0, 0x5a, 0x54, label, 0, 0, 0, 0, 0x01, 0x80]);
}

/** K0 (GMAC key) and K1 (ECB/CTR key) from a 48-byte peer key. */
export function deriveAesGmacSivKeys(key48: Uint8Array): { k0: Buffer; k1: Buffer } {
  const k0 = createHmac('sha384', key48).update(kbkdfMessage(0x30)).digest().subarray(0, 32);
  const k1 = createHmac('sha384', key48).update(kbkdfMessage(0x31)).digest().subarray(0, 32);
  return { k0, k1 };
}

const ZERO4 = Buffer.alloc(4);

/** One peer's AES-GMAC-SIV keys with their reusable ECB contexts. */
export class AesGmacSiv {
  private readonly ecbEncrypt: Cipher;
  private readonly ecbDecrypt: Decipher;
  private readonly gcmIv = Buffer.alloc(12);
  private readonly block = Buffer.alloc(16);
  private readonly ctrIv = Buffer.alloc(16);

  constructor(
    readonly k0: Buffer,
    readonly k1: Buffer,
  ) {
    this.ecbEncrypt = createCipheriv('aes-256-ecb', k1, null).setAutoPadding(false);
    this.ecbDecrypt = createDecipheriv('aes-256-ecb', k1, null).setAutoPadding(false);
  }

  static fromPeerKey(key48: Uint8Array): AesGmacSiv {
    const { k0, k1 } = deriveAesGmacSivKeys(key48);
    return new AesGmacSiv(k0, k1);
  }

  /**
   * The 16-byte GMAC tag (not folded) of aad16 ‖ data[start, end) with IV iv8 ‖ 0^32, into out16.
   */
  gmac(iv8: Uint8Array, aad16: Uint8Array, data: Buffer, start: number, end: number, out16: Uint8Array): void {
    const iv = this.gcmIv;
    for (let i = 0; i < 8; i++) iv[i] = iv8[i]!;
    ZERO4.copy(iv, 8);
    const g = createCipheriv('aes-256-gcm', this.k0, iv);
    g.setAAD(aad16);
    if (end > start) g.setAAD(data.subarray(start, end));
    g.final();
    const tag = g.getAuthTag();
    for (let i = 0; i < 16; i++) out16[i] = tag[i]!;
  }

  /** AES-256-ECB encryption of one 16-byte block under K1, in place. */
  encryptBlock(block16: Uint8Array): void {
    const out = this.ecbEncrypt.update(block16);
    for (let i = 0; i < 16; i++) block16[i] = out[i]!;
  }

  /** AES-256-ECB decryption of one 16-byte block under K1, in place. */
  decryptBlock(block16: Uint8Array): void {
    const out = this.ecbDecrypt.update(block16);
    for (let i = 0; i < 16; i++) block16[i] = out[i]!;
  }

  /** The CTR IV for an encrypted tag block: bit 31 of the last 32-bit word (byte 12's top bit) cleared. */
  ctrIvFor(encryptedTag16: Uint8Array, out16: Uint8Array): void {
    for (let i = 0; i < 16; i++) out16[i] = encryptedTag16[i]!;
    out16[12] = out16[12]! & 0x7f;
  }

  /** AES-256-CTR under K1 over data[start, end) in place (encryption and decryption are the same). */
  ctr(encryptedTag16: Uint8Array, data: Buffer, start: number, end: number): void {
    if (end <= start) return;
    this.ctrIvFor(encryptedTag16, this.ctrIv);
    const c = createCipheriv('aes-256-ctr', this.k1, this.ctrIv);
    const out = c.update(data.subarray(start, end));
    out.copy(data, start);
  }

  /**
   * Seals: computes the tag of aad16 ‖ data[start,end) with packet id iv8, writes the 16-byte
   * encrypted tag block to tagOut16 and encrypts the data in place.
   */
  seal(iv8: Uint8Array, aad16: Uint8Array, data: Buffer, start: number, end: number, tagOut16: Uint8Array): void {
    const b = this.block;
    this.gmac(iv8, aad16, data, start, end, b);
    for (let i = 0; i < 8; i++) b[8 + i] = b[i]! ^ b[8 + i]!;
    for (let i = 0; i < 8; i++) b[i] = iv8[i]!;
    this.encryptBlock(b);
    for (let i = 0; i < 16; i++) tagOut16[i] = b[i]!;
    this.ctr(b, data, start, end);
  }

  /**
   * Opens: decrypts data[start,end) in place under the encrypted tag block tag16 and returns the
   * decrypted tag block (original packet id ‖ folded tag) in blockOut16. The caller then checks
   * the folded GMAC of the plaintext against its second half (armor.ts `dearmor`).
   */
  open(tag16: Uint8Array, data: Buffer, start: number, end: number, blockOut16: Uint8Array): void {
    this.ctr(tag16, data, start, end);
    for (let i = 0; i < 16; i++) blockOut16[i] = tag16[i]!;
    this.decryptBlock(blockOut16);
  }
}
