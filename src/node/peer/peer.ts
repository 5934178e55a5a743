/**
 * One other node we have a session with: its identity, the key agreed with it, what it told us
 * about itself in HELLO/OK, and its physical paths.
 */
import type { Identity } from '../identity/identity.js';
import { PathSet } from './path.js';
import { ReplayWindow } from './replay-window.js';
import type { MoonRef } from '../wire/hello.js';

export class Peer {
  readonly paths = new PathSet();
  readonly replay = new ReplayWindow();
  /** Protocol version from its HELLO or OK(HELLO); 0 until known. */
  remoteProtocol = 0;
  remoteVersion: [number, number, number] = [0, 0, 0];
  /** Moons the peer orbits, from the (encrypted) trailer of its last HELLO. */
  moons: MoonRef[] = [];
  lastReceive = -Infinity;
  lastHelloSent = -Infinity;
  /** Authenticated packets from it and packets sent to it (stock's `zt_peer_packets`). */
  rxPackets = 0;
  txPackets = 0;
  /** Its packets dropped after the header named it: bad MAC, replay, undecompressable (`zt_peer_packet_errors`). */
  rxErrors = 0;

  constructor(
    readonly identity: Identity,
    /** The 48-byte key agreed between our identity and this one. */
    readonly key: Buffer,
  ) {}

  get hex(): string {
    return this.identity.addressHex;
  }

  get address(): bigint {
    return this.identity.address;
  }

  /** AES-GMAC-SIV once the peer is known to speak protocol 12 or later (as stock chooses), else Salsa20/12. */
  cipher(): 1 | 3 {
    return this.remoteProtocol >= 12 ? 3 : 1;
  }
}
