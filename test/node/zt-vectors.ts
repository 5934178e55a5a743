/**
 * Loads the stock ZeroTier 1.14.1 vectors from ../shared/zt-vectors (relative to the repository
 * root). They are never copied into the repository; if they are missing, tests fail loudly.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export { VECTORS_DIR } from '../support/vectors.js';
import { VECTORS_DIR } from '../support/vectors.js';

export function vectorFile(name: string): Buffer {
  const p = resolve(VECTORS_DIR, name);
  if (!existsSync(p)) throw new Error(`ZeroTier test vector missing: ${p} (expected ../shared/zt-vectors beside the repository)`);
  return readFileSync(p);
}

export function vectorJson<T>(name: string): T {
  return JSON.parse(vectorFile(name).toString('utf8')) as T;
}

export const hexBuf = (h: string): Buffer => Buffer.from(h, 'hex');

export interface SessionRecord {
  r: number;
  hex: string;
  kind: 'packet' | 'head' | 'fragment' | 'short';
  from?: string;
  to?: string;
  hops?: number;
  cipher?: number;
  verb?: string;
  lz4?: boolean;
  plain?: string;
  fragOf?: string;
  fragNo?: number;
  fragTotal?: number;
  reassembledFromRecords?: number[];
}

export interface VectorPacket {
  id: string;
  udpPayloadHex?: string;
  fragments?: { udpPayloadHex: string }[];
  reassembledPacketHex?: string;
  header?: {
    packetIdHex: string;
    destination: string;
    source: string;
    flagsByte: number;
    cipher: number;
    hops: number;
    macHex: string;
    fragmentedFlag: boolean;
  };
  verb?: string;
  verbByte?: number;
  compressed?: boolean;
  plaintextWireHex?: string;
  lz4BlockHex?: string;
  plaintextHex?: string;
  decoded?: Record<string, unknown>;
}

export interface NodeInfo {
  address: string;
  physicalAddress: string;
  identitySecret: string;
  identityPublic: string;
}

export interface PacketsJson {
  nodes: Record<string, NodeInfo>;
  packets: VectorPacket[];
  networkConfigDictionaries: {
    dictionaries: {
      issuedTo: string;
      dictionaryHex: string;
      dictionaryLength: number;
      entries: { key: string; text?: string; hex?: string; numeric?: string; decoded?: Record<string, unknown> }[];
    }[];
  };
}

export const sessionRecords = (): SessionRecord[] => vectorJson<{ records: SessionRecord[] }>('session_all.json').records;
export const packetsJson = (): PacketsJson => vectorJson<PacketsJson>('packets.json');
/** A vector node's identity as signing keys: its address and its public and private key bytes. */
export interface VectorNodeKeys {
  address: bigint;
  publicKey: Buffer;
  privateKey: Buffer;
}

/** The keys of the vector node called `name` (A, B, C, …), from its `identitySecret`. */
export function vectorNodeKeys(name: string): VectorNodeKeys {
  const node = packetsJson().nodes[name];
  if (!node) throw new Error(`no node ${name} in packets.json`);
  const [addr, , pub, priv] = node.identitySecret.split(':');
  return { address: BigInt(`0x${addr}`), publicKey: hexBuf(pub!), privateKey: hexBuf(priv!) };
}

export const vectorPacket = (id: string): VectorPacket => {
  const p = packetsJson().packets.find((x) => x.id === id);
  if (!p) throw new Error(`no packet ${id} in packets.json`);
  return p;
};
