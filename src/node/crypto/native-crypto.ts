/**
 * The AES-GMAC-SIV fast path in the native binding (native/binding/src/crypto.cc): OpenSSL
 * contexts made once per peer key and reused, where node:crypto needs new cipher objects for
 * every packet. Optional: when the binding is not built (or predates crypto.cc) `nativeCrypto()`
 * is null and armor uses the node:crypto path, which gives the same bytes.
 */
import { nativeBinding } from '../../native/binding.js';

/** Opaque per-key native state (an N-API External). */
export type NativeSivContext = object;

export interface NativeCrypto {
  aesGmacSivCreate(k0: Buffer, k1: Buffer): NativeSivContext;
  /** Seals a whole packet in place (flags byte already holds cipher 3); false if shorter than 28 bytes. */
  aesGmacSivArmor(ctx: NativeSivContext, packet: Buffer): boolean;
  /** Opens and checks a whole cipher-3 packet in place; false (packet unchanged) on any failure. */
  aesGmacSivDearmor(ctx: NativeSivContext, packet: Buffer): boolean;
}

let probed = false;
let native: NativeCrypto | null = null;

export function nativeCrypto(): NativeCrypto | null {
  if (probed) return native;
  probed = true;
  try {
    const b = nativeBinding() as unknown as Partial<NativeCrypto>;
    if (typeof b.aesGmacSivCreate === 'function' && typeof b.aesGmacSivArmor === 'function' && typeof b.aesGmacSivDearmor === 'function') {
      native = b as NativeCrypto;
    }
  } catch {
    native = null; // not built: the node:crypto path is used
  }
  return native;
}
