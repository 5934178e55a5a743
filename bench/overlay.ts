/**
 * Overlay benchmark, armor part: Gbit/s of 2800-byte ZeroTier packets through armor + dearmor (one
 * sender's and one receiver's work per packet, on one core) for cipher 1 (Salsa20/12 + Poly1305,
 * TypeScript) and cipher 3 (AES-GMAC-SIV: node:crypto objects per packet, and the native binding's
 * reused OpenSSL contexts when built), beside the reference measured in the same run: node:crypto
 * AES-256-GCM encrypt + decrypt of the same payload with a fresh cipher object per packet, the
 * cheapest authenticated encryption node:crypto offers per packet.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { armor, dearmor, setNativeArmor, type ArmorCipher } from '../src/node/armor.js';

const PACKET_BYTES = 2800;
const SECONDS_PER_CASE = 2;

interface Figure {
  name: string;
  gbps: number;
  usPerPacket: number;
}

/** Runs fn in batches until SECONDS_PER_CASE have passed; returns packets per second. */
function measure(fn: () => void): number {
  for (let i = 0; i < 2000; i++) fn(); // warm up the JIT
  const batch = 500;
  let n = 0;
  const start = process.hrtime.bigint();
  const limit = BigInt(SECONDS_PER_CASE * 1e9);
  let elapsed = 0n;
  while (elapsed < limit) {
    for (let i = 0; i < batch; i++) fn();
    n += batch;
    elapsed = process.hrtime.bigint() - start;
  }
  return n / (Number(elapsed) / 1e9);
}

function figure(name: string, perSecond: number): Figure {
  return { name, gbps: (perSecond * PACKET_BYTES * 8) / 1e9, usPerPacket: 1e6 / perSecond };
}

function armorCase(cipher: ArmorCipher, label: string): Figure {
  const key = randomBytes(48);
  const template = randomBytes(PACKET_BYTES);
  template[18] = 0;
  const pkt = Buffer.from(template);
  const fn = (): void => {
    // fresh packet id each time, as a sender does
    pkt.writeUInt32LE((pkt.readUInt32LE(0) + 1) >>> 0, 0);
    armor(pkt, key, cipher);
    if (!dearmor(pkt, key)) throw new Error(`overlay bench: cipher ${cipher} round trip failed`);
  };
  fn();
  if (!pkt.subarray(27).equals(template.subarray(27))) throw new Error('overlay bench: payload changed');
  return figure(`armor+dearmor cipher ${cipher} ${label}`, measure(fn));
}

function gcmReference(): Figure {
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const payload = randomBytes(PACKET_BYTES - 27);
  const fn = (): void => {
    iv.writeUInt32LE((iv.readUInt32LE(0) + 1) >>> 0, 0);
    const c = createCipheriv('aes-256-gcm', key, iv);
    const ct = c.update(payload);
    c.final();
    const tag = c.getAuthTag();
    const d = createDecipheriv('aes-256-gcm', key, iv);
    d.setAuthTag(tag);
    d.update(ct);
    d.final();
  };
  return figure('node:crypto AES-256-GCM enc+dec (reference)', measure(fn));
}

export async function run({ json }: { json: boolean }): Promise<void> {
  const c1 = armorCase(1, '(TypeScript)');
  setNativeArmor(false);
  const c3js = armorCase(3, '(node:crypto)');
  const hasNative = setNativeArmor(true);
  const c3native = hasNative ? armorCase(3, '(native binding)') : null;
  const c3 = c3native ?? c3js;
  const ref = gcmReference();
  const rows = [c1, c3js, ...(c3native ? [c3native] : []), ref];
  const out = json ? process.stderr : process.stdout;
  out.write(`overlay: ${PACKET_BYTES}-byte packets, one core\n`);
  for (const r of rows) out.write(`  ${r.name.padEnd(46)} ${r.gbps.toFixed(2).padStart(6)} Gbit/s  ${r.usPerPacket.toFixed(2).padStart(6)} µs/packet\n`);
  if (json) {
    const round = (x: number): number => Math.round(x * 1000) / 1000;
    process.stdout.write(
      `${JSON.stringify({
        bench: 'overlay',
        packet_bytes: PACKET_BYTES,
        armor_cipher1_gbps: round(c1.gbps),
        armor_cipher3_gbps: round(c3.gbps),
        armor_cipher3_native: c3native !== null,
        armor_cipher3_nodecrypto_gbps: round(c3js.gbps),
        armor_cipher3_native_gbps: c3native ? round(c3native.gbps) : null,
        armor_cipher1_us_per_packet: round(c1.usPerPacket),
        armor_cipher3_us_per_packet: round(c3.usPerPacket),
        ref_aes_gcm_gbps: round(ref.gbps),
        armor_cipher3_ratio: round(c3.gbps / ref.gbps),
      })}\n`,
    );
  }
}
