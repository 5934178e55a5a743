/**
 * Packet armor: the MAC and encryption of a whole ZeroTier packet, in place, as stock 1.14 does.
 *
 * Header (offsets and cipher ids are wire/packet.ts's): id/IV 0..8, destination 8..13, source
 * 13..18, flags 18 (0x40 fragmented, bits 3-5 cipher, bits 0-2 hops), MAC 19..27, verb 27,
 * payload 28... The hop bits are never covered (relays change them), everything from the verb on is.
 *
 *  - cipher 0 (POLY1305_NONE): Poly1305 over bytes 27.. in clear; used for HELLO.
 *  - cipher 1 (POLY1305_SALSA2012): per-packet Salsa20/12 key = peer key[0..32] mangled with the
 *    header and length; keystream block 0 gives the Poly1305 key, block 1 on encrypts bytes 27..;
 *    the MAC is over the ciphertext.
 *  - cipher 3 (AES_GMAC_SIV): see crypto/aes-gmac-siv.ts; bytes 0..8 and 19..27 carry the
 *    encrypted tag block, so the on-wire packet id of a cipher 3 packet is not the one it was
 *    armored with.
 *
 * Packets handed to dearmor come straight from the network: every failure is a `false`, never a
 * throw, and a failed dearmor leaves the packet as it was.
 */
import { AesGmacSiv } from '../crypto/aes-gmac-siv.js';
import { constantTimeEqual } from '../crypto/constant-time.js';
import { nativeCrypto, type NativeCrypto, type NativeSivContext } from '../crypto/native-crypto.js';
import { poly1305 } from '../crypto/poly1305.js';
import { Salsa20 } from '../crypto/salsa20.js';
import { PROTOCOL_VERSION_AES_GMAC_SIV } from '../version.js';
import {
  Cipher,
  PACKET_IDX_DEST,
  PACKET_IDX_FLAGS,
  PACKET_IDX_IV,
  PACKET_IDX_MAC,
  PACKET_IDX_VERB,
  PACKET_MIN_LENGTH,
} from '../wire/packet.js';

export type ArmorCipher = 0 | 1 | 3;

const PEER_KEY_LENGTH = 48;

/** The cipher for non-HELLO packets to a peer, as stock does: cipher 3 from protocol 12 on, else 1. */
export function dataCipherFor(remoteProtocolVersion: number): 1 | 3 {
  return remoteProtocolVersion >= PROTOCOL_VERSION_AES_GMAC_SIV ? Cipher.AES_GMAC_SIV : Cipher.POLY1305_SALSA2012;
}

/** The cipher suite field of a packet's flags byte. */
export function packetCipher(packet: Uint8Array): number {
  return (packet[PACKET_IDX_FLAGS]! >>> 3) & 7;
}

// Scratch state shared by all calls (armor is synchronous, so no call can interleave another).
const salsa12 = new Salsa20(12);
const mangledKey = new Uint8Array(32);
const macKey = new Uint8Array(32);
const polyTag = new Uint8Array(16);
const sivAad = new Uint8Array(16);
const sivTag = new Uint8Array(16);
const sivBlock = new Uint8Array(16);
const sivGmac = new Uint8Array(16);
const fieldIv = new Uint8Array(8);

/** Per-packet Salsa20/12 key: peer key[0..32] XOR (header bytes 0..17, flags without hops, length LE). */
export function mangleSalsaKey(key48: Uint8Array, packet: Uint8Array, out32: Uint8Array): void {
  for (let i = 0; i < 18; i++) out32[i] = key48[i]! ^ packet[i]!;
  out32[18] = key48[18]! ^ (packet[PACKET_IDX_FLAGS]! & 0xf8);
  out32[19] = key48[19]! ^ (packet.length & 0xff);
  out32[20] = key48[20]! ^ ((packet.length >>> 8) & 0xff);
  for (let i = 21; i < 32; i++) out32[i] = key48[i]!;
}

/** Sets up the Salsa20/12 stream for a packet and takes the Poly1305 key from its block 0. */
function startSalsaPacket(packet: Buffer, key48: Uint8Array): void {
  mangleSalsaKey(key48, packet, mangledKey);
  salsa12.init(mangledKey, 0, packet, PACKET_IDX_IV);
  salsa12.keystream(macKey, 0, 32);
}

/** The 16-byte GMAC AAD of a packet: destination, source, flags without hops, 5 zero bytes. */
function fillSivAad(packet: Uint8Array): void {
  for (let i = 0; i < 11; i++) sivAad[i] = packet[PACKET_IDX_DEST + i]!;
  sivAad[10] = sivAad[10]! & 0xf8;
  sivAad.fill(0, 11);
}

interface SivEntry {
  key: Buffer;
  siv: AesGmacSiv;
  /** The native contexts for the same keys, made on first use when the binding has them. */
  native: NativeSivContext | null;
}
const sivByKeyObject = new WeakMap<Uint8Array, SivEntry>();

/** Byte equality of two keys, in JavaScript: for 48 bytes cheaper than a call into Buffer.equals. */
function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sivEntryFor(key48: Uint8Array): SivEntry {
  const hit = sivByKeyObject.get(key48);
  // the key object is checked against a copy: a Buffer reused for another key is not trusted
  if (hit && sameKey(hit.key, key48)) return hit;
  const entry: SivEntry = { key: Buffer.from(key48), siv: AesGmacSiv.fromPeerKey(key48), native: null };
  sivByKeyObject.set(key48, entry);
  return entry;
}

/**
 * The AES-GMAC-SIV state (K0/K1 and reusable AES contexts) for a 48-byte peer key, derived once
 * per key Buffer and cached for as long as that Buffer lives (a peer keeps its key).
 */
export function aesGmacSivFor(key48: Uint8Array): AesGmacSiv {
  return sivEntryFor(key48).siv;
}

let useNative = true;

/**
 * Chooses the AES-GMAC-SIV implementation: the native binding's reused OpenSSL contexts when it
 * is built (default), or node:crypto. Both give identical bytes; tests run the vectors through
 * each. Returns whether the native path is now in use.
 */
export function setNativeArmor(enabled: boolean): boolean {
  useNative = enabled;
  return nativeArmorActive();
}

export function nativeArmorActive(): boolean {
  return useNative && nativeCrypto() !== null;
}

/** The native contexts for a key, when the native path is in use (`lib` is then nativeCrypto()). */
function nativeSivFor(lib: NativeCrypto | null, key48: Uint8Array): NativeSivContext | null {
  if (!useNative || !lib) return null;
  const e = sivEntryFor(key48);
  e.native ??= lib.aesGmacSivCreate(e.siv.k0, e.siv.k1);
  return e.native;
}

/**
 * Sets the cipher field and MAC of a packet and encrypts it, in place. Bytes 0..8 must hold the
 * packet id; hop bits may be anything (they are not covered). Cipher 1 and 3 always encrypt;
 * `encryptPayload` false with cipher 1 falls back to cipher 0 (MAC only), as stock does for HELLO.
 * Returns false (packet untouched) when the packet or key is too short.
 */
export function armor(packet: Buffer, key48: Buffer, cipher: ArmorCipher, encryptPayload: boolean = cipher !== 0): boolean {
  if (packet.length < PACKET_MIN_LENGTH || key48.length < PEER_KEY_LENGTH) return false;
  const suite: ArmorCipher = cipher === Cipher.POLY1305_SALSA2012 && !encryptPayload ? Cipher.POLY1305_NONE : cipher;
  packet[PACKET_IDX_FLAGS] = (packet[PACKET_IDX_FLAGS]! & 0xc7) | (suite << 3);

  if (suite === Cipher.AES_GMAC_SIV) {
    const lib = nativeCrypto();
    const ctx = nativeSivFor(lib, key48);
    if (ctx) return lib!.aesGmacSivArmor(ctx, packet);
    const siv = aesGmacSivFor(key48);
    fillSivAad(packet);
    siv.seal(packet.subarray(0, 8), sivAad, packet, PACKET_IDX_VERB, packet.length, sivTag);
    for (let i = 0; i < 8; i++) {
      packet[PACKET_IDX_IV + i] = sivTag[i]!;
      packet[PACKET_IDX_MAC + i] = sivTag[8 + i]!;
    }
    return true;
  }

  startSalsaPacket(packet, key48);
  if (suite === Cipher.POLY1305_SALSA2012) salsa12.crypt(packet, PACKET_IDX_VERB, packet.length);
  poly1305(macKey, 0, packet, PACKET_IDX_VERB, packet.length, polyTag, 0);
  for (let i = 0; i < 8; i++) packet[PACKET_IDX_MAC + i] = polyTag[i]!;
  return true;
}

/**
 * Checks the MAC of a received packet and, for cipher 1 and 3, decrypts it in place (the header,
 * including the on-wire packet id, is left as received). Returns false for a wrong MAC, a
 * truncated packet or an unknown cipher, leaving the packet unchanged.
 */
export function dearmor(packet: Buffer, key48: Buffer): boolean {
  if (packet.length < PACKET_MIN_LENGTH || key48.length < PEER_KEY_LENGTH) return false;
  const cipher = packetCipher(packet);

  if (cipher === Cipher.AES_GMAC_SIV) {
    const lib = nativeCrypto();
    const ctx = nativeSivFor(lib, key48);
    if (ctx) return lib!.aesGmacSivDearmor(ctx, packet);
    const siv = aesGmacSivFor(key48);
    for (let i = 0; i < 8; i++) {
      sivTag[i] = packet[PACKET_IDX_IV + i]!;
      sivTag[8 + i] = packet[PACKET_IDX_MAC + i]!;
    }
    siv.open(sivTag, packet, PACKET_IDX_VERB, packet.length, sivBlock);
    fillSivAad(packet);
    siv.gmac(sivBlock.subarray(0, 8), sivAad, packet, PACKET_IDX_VERB, packet.length, sivGmac);
    for (let i = 0; i < 8; i++) sivGmac[i] = sivGmac[i]! ^ sivGmac[8 + i]!;
    if (constantTimeEqual(sivGmac, 0, sivBlock, 8, 8)) return true;
    siv.ctr(sivTag, packet, PACKET_IDX_VERB, packet.length); // CTR again restores the ciphertext
    return false;
  }

  if (cipher !== Cipher.POLY1305_NONE && cipher !== Cipher.POLY1305_SALSA2012) return false;
  startSalsaPacket(packet, key48);
  poly1305(macKey, 0, packet, PACKET_IDX_VERB, packet.length, polyTag, 0);
  if (!constantTimeEqual(polyTag, 0, packet, PACKET_IDX_MAC, 8)) return false;
  if (cipher === Cipher.POLY1305_SALSA2012) salsa12.crypt(packet, PACKET_IDX_VERB, packet.length);
  return true;
}

/**
 * Salsa20/12 over packet[start, start+length) in place under the unmangled peer key, IV = packet
 * id with the low 3 bits of byte 7 cleared: how HELLO hides its trailing moon list (cipher 0
 * leaves the rest of HELLO readable). Its own inverse. Returns false when the range is out of bounds.
 */
export function cryptField(key48: Buffer, packet: Buffer, start: number, length: number): boolean {
  if (key48.length < 32 || packet.length < 8 || start < 0 || length < 0 || start + length > packet.length) return false;
  for (let i = 0; i < 8; i++) fieldIv[i] = packet[i]!;
  fieldIv[7] = fieldIv[7]! & 0xf8;
  salsa12.init(key48, 0, fieldIv, 0);
  salsa12.crypt(packet, start, start + length);
  return true;
}
