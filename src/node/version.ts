/** The protocol and software versions this node announces (in HELLO, OK(HELLO) and network configs). */

/** The first protocol version with AES-GMAC-SIV (ZeroTier 1.6): peers from it on get cipher 3. */
export const PROTOCOL_VERSION_AES_GMAC_SIV = 12;

/** The protocol we speak: AES-GMAC-SIV capable, as stock 1.14. */
export const PROTOCOL_VERSION = PROTOCOL_VERSION_AES_GMAC_SIV;
export const SOFTWARE_VERSION: readonly [number, number, number] = [1, 14, 1];
