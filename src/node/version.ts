/** The protocol and software versions this node announces (in HELLO, OK(HELLO) and network configs). */

/** The protocol we speak: 12 = AES-GMAC-SIV capable, as stock 1.14. */
export const PROTOCOL_VERSION = 12;
export const SOFTWARE_VERSION: readonly [number, number, number] = [1, 14, 1];
