/** ZeroTier addresses (40 bits) and network ids (64 bits) as bigints, with their text forms. */

export const ADDRESS_LENGTH = 5;

export function formatAddress(a: bigint): string {
  return a.toString(16).padStart(10, '0');
}

/** Parses 10 hex digits; null otherwise. */
export function parseAddress(text: string): bigint | null {
  return /^[0-9a-fA-F]{10}$/.test(text) ? BigInt(`0x${text}`) : null;
}

export function formatNetworkId(nwid: bigint): string {
  return nwid.toString(16).padStart(16, '0');
}

export function parseNetworkId(text: string): bigint | null {
  return /^[0-9a-fA-F]{16}$/.test(text) ? BigInt(`0x${text}`) : null;
}

/** The controller of a network is the node whose address is the network id's top 40 bits. */
export function controllerOf(nwid: bigint): bigint {
  return (nwid >> 24n) & 0xffffffffffn;
}
