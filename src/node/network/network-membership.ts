/**
 * The other members of one network as this member sees them (stock node/Membership): the
 * certificates of membership they presented, the controller's revocations, and when we last
 * pushed our own credentials to each. Decides whether a peer's frames are admitted, and carries
 * revocations on to the members we know as stock's fast propagation does.
 */
import type { Counters } from '../../netstack/index.js';
import {
  comAgrees,
  comIssuedTo,
  comNetworkId,
  comTimestamp,
  verifyCom,
  type CertificateOfMembership,
} from '../credentials/certificate-of-membership.js';
import { NetworkType, type NetworkConfig } from './network-config.js';
import type { Node } from '../node.js';
import type { Peer } from '../peer/peer.js';
import { fastPropagates, verifyRevocation, type Revocation } from '../credentials/revocation.js';
import { RevocationThresholds, revokesMembership } from '../credentials/revocation-thresholds.js';
import { emitNetworkCredentials } from '../wire/network-credentials.js';
import { Verb } from '../wire/packet.js';

/** Most peers whose certificates (or whose last credential push) one network remembers. */
const MAX_MEMBERS = 4096;
/** A peer asking for our certificate (ERROR need-certificate) gets it at most this often. */
const ASKED_PUSH_INTERVAL_MS = 500;
/** A revocation of our own certificate makes us ask for config at most this often. */
const SELF_REVOKED_REQUEST_INTERVAL_MS = 1_000;

/** What the membership needs from its network. */
export interface MembershipContext {
  readonly nwid: bigint;
  readonly counters: Counters;
  /** Our credentials are pushed again to a peer after this long. */
  readonly refreshMs: number;
  config(): NetworkConfig | null;
  /** The network controller's public key (null while unknown). */
  controllerKey(): Buffer | null;
  /** A verified revocation covers our own current certificate. */
  onRevokedSelf(): void;
}

export class NetworkMembership {
  /** Peers' certificates of membership that checked out, by address. */
  private readonly memberComs = new Map<bigint, CertificateOfMembership>();
  /**
   * Per peer, the pair of certificates (theirs, ours) last found to agree: every frame is checked
   * against it instead of comparing again (which hashes the peer's identity).
   */
  private readonly agreed = new Map<bigint, { theirs: CertificateOfMembership; ours: CertificateOfMembership }>();
  /** When we last sent our credentials to each peer. */
  private readonly credentialsSent = new Map<bigint, number>();
  /** The controller's revocations, by member. */
  readonly revocations = new RevocationThresholds();
  private lastSelfRevokedRequest = -Infinity;
  /**
   * The peer admits() last let in, with our certificate then: frames come from one peer after
   * another, so its next frame needs no lookups. Reset whenever a peer's certificate is taken or dropped.
   */
  private admittedPeer: Peer | null = null;
  private admittedOurs: CertificateOfMembership | null = null;
  /** The peer our credentials last went to, and when: most frames go to the peer the last one went to. */
  private lastPushedTo: Peer | null = null;
  private lastPushedAt = -Infinity;

  constructor(
    private readonly node: Node,
    private readonly ctx: MembershipContext,
  ) {}

  private drop(reason: string): void {
    this.ctx.counters.inc(`drop_${reason}`);
  }

  private forget(address: bigint): void {
    this.memberComs.delete(address);
    this.agreed.delete(address);
    this.admittedPeer = null;
  }

  private forgetPushes(): void {
    this.credentialsSent.clear();
    this.lastPushedTo = null;
  }

  /**
   * Access refused: certificates we hold mean nothing without ours, and a new certificate of ours
   * goes to each peer before our next frame to it (revocations stay: they are the controller's word).
   */
  clearCertificates(): void {
    this.memberComs.clear();
    this.agreed.clear();
    this.admittedPeer = null;
    this.forgetPushes();
  }

  /** A new config of ours: certificates accepted earlier must still agree with it; stale revocations go. */
  configChanged(cfg: NetworkConfig): void {
    const ours = cfg.com ? comTimestamp(cfg.com) : undefined;
    if (ours !== undefined) this.revocations.prune(ours, cfg.credentialTimeMaxDelta);
    for (const [addr, com] of this.memberComs) {
      const peer = this.node.peer(addr);
      if (!peer || !this.comAgrees(com, peer)) this.forget(addr);
    }
  }

  /** Sends our certificate to a peer: before our first frames to it, and when it asks (ERROR need-certificate). */
  pushCredentials(peer: Peer, asked: boolean): void {
    const com = this.ctx.config()?.com;
    if (!com) return;
    const now = this.node.now();
    // too soon after the last push to this peer, whatever the interval that applies
    if (peer === this.lastPushedTo && now - this.lastPushedAt < Math.min(ASKED_PUSH_INTERVAL_MS, this.ctx.refreshMs)) return;
    const last = this.credentialsSent.get(peer.address) ?? -Infinity;
    // a revoked peer dropped our certificate when it was refused: should it come back, it needs ours again
    const again = asked || (this.revocations.threshold(peer.address) !== undefined && !this.memberComs.has(peer.address));
    if (now - last < (again ? ASKED_PUSH_INTERVAL_MS : this.ctx.refreshMs)) return;
    if (this.credentialsSent.size > MAX_MEMBERS) this.forgetPushes();
    this.credentialsSent.set(peer.address, now);
    this.lastPushedTo = peer;
    this.lastPushedAt = now;
    this.node.sendPacket(peer, Verb.NETWORK_CREDENTIALS, emitNetworkCredentials({ coms: [com] }));
  }

  private comAgrees(theirs: CertificateOfMembership, peer: Peer): boolean {
    const ours = this.ctx.config()?.com;
    return !!ours && comAgrees(ours, theirs, peer.identity);
  }

  /** Whether frames from `peer` may pass: public networks admit everyone, private ones need an agreeing, unrevoked certificate. */
  admits(peer: Peer): boolean {
    const config = this.ctx.config();
    if (!config) return false;
    if (config.type === NetworkType.PUBLIC) return true;
    const ours = config.com;
    if (peer === this.admittedPeer && ours === this.admittedOurs && ours) return true;
    const com = this.memberComs.get(peer.address);
    if (!com || !ours) return false;
    const known = this.agreed.get(peer.address);
    if ((known && known.theirs === com && known.ours === ours) || this.comAgrees(com, peer)) {
      if (!known || known.theirs !== com || known.ours !== ours) this.agreed.set(peer.address, { theirs: com, ours });
      this.admittedPeer = peer;
      this.admittedOurs = ours;
      return true;
    }
    this.forget(peer.address);
    return false;
  }

  /** Is `address` revoked and without a newer certificate (public networks admit everyone)? Free while nobody is revoked. */
  cutOff(address: bigint): boolean {
    if (this.revocations.size === 0 || this.revocations.threshold(address) === undefined || this.memberComs.has(address)) return false;
    return this.ctx.config()?.type !== NetworkType.PUBLIC;
  }

  /** Why frames from a peer that is not admitted are dropped (the counter's name). */
  refusalReason(peer: Peer): string {
    return this.revocations.threshold(peer.address) !== undefined ? 'frame_revoked' : 'frame_no_certificate';
  }

  acceptCom(peer: Peer, com: CertificateOfMembership): void {
    if (comNetworkId(com) !== this.ctx.nwid) return;
    if (comIssuedTo(com) !== peer.address) return this.drop('credentials_not_theirs');
    if (this.revocations.revokes(peer.address, comTimestamp(com))) return this.drop('credentials_revoked');
    const controllerKey = this.ctx.controllerKey();
    if (!controllerKey) return this.drop('credentials_controller_unknown');
    if (!verifyCom(com, controllerKey)) return this.drop('credentials_bad_signature');
    if (!this.comAgrees(com, peer)) return this.drop('credentials_disagree');
    if (this.memberComs.size > MAX_MEMBERS && !this.memberComs.has(peer.address)) return this.drop('credentials_table_full');
    this.memberComs.set(peer.address, com);
    this.admittedPeer = null;
    this.ctx.counters.inc('credentials_accepted');
  }

  /**
   * A revocation, from a peer or (`from` null) our own controller. Once verified, the target's
   * certificates up to the threshold stop admitting it at once; a new one with the fast
   * propagation flag goes on to every member we know but the sender and the signer, as stock
   * forwards it; one covering our own certificate is reported to the network. Returns false when
   * its signature was bad (the caller checks no more from that packet: a controller never sends one).
   */
  acceptRevocation(from: Peer | null, rev: Revocation): boolean {
    // NETWORK_CREDENTIALS goes to every network we joined: each takes its own
    if (rev.networkId !== this.ctx.nwid) return true;
    const refused = this.revocationProblem(rev);
    if (refused !== null) {
      this.ctx.counters.inc(refused);
      return refused !== 'drop_revocation_bad_signature';
    }
    this.ctx.counters.inc('revocations_accepted');
    const com = this.memberComs.get(rev.target);
    if (com && this.revocations.revokes(rev.target, comTimestamp(com))) this.forget(rev.target);
    if (fastPropagates(rev)) this.propagate(from, rev);
    // the target dropped its certificates when it was refused: should it come back, ours goes first again
    this.credentialsSent.delete(rev.target);
    this.lastPushedTo = null;
    if (rev.target === this.node.address) this.revokedSelf(rev);
    return true;
  }

  /** Why a revocation is not taken (the counter to count), or null once its threshold is recorded. */
  private revocationProblem(rev: Revocation): string | null {
    if (!revokesMembership(rev.credentialType)) return 'drop_revocation_unknown_type';
    // what would change nothing needs no signature check (nor can replaying it cost one)
    if (!this.revocations.raises(rev.target, rev.threshold)) return 'revocations_redundant';
    const controllerKey = this.ctx.controllerKey();
    if (!controllerKey) return 'drop_revocation_controller_unknown';
    if (!verifyRevocation(rev, controllerKey)) return 'drop_revocation_bad_signature';
    if (!this.revocations.raise(rev.target, rev.threshold)) return 'drop_revocation_table_full';
    return null;
  }

  private propagate(from: Peer | null, rev: Revocation): void {
    const payload = emitNetworkCredentials({ revocations: [rev] });
    const skip = new Set([from?.address, rev.signedBy, this.node.address]);
    for (const address of new Set([...this.memberComs.keys(), ...this.credentialsSent.keys()])) {
      if (skip.has(address)) continue;
      const peer = this.node.peer(address);
      if (!peer) continue;
      this.node.sendPacket(peer, Verb.NETWORK_CREDENTIALS, payload);
      this.ctx.counters.inc('revocations_forwarded');
    }
  }

  private revokedSelf(rev: Revocation): void {
    const com = this.ctx.config()?.com;
    const ours = com ? comTimestamp(com) : undefined;
    if (ours === undefined || ours > rev.threshold) return;
    const now = this.node.now();
    if (now - this.lastSelfRevokedRequest < SELF_REVOKED_REQUEST_INTERVAL_MS) return;
    this.lastSelfRevokedRequest = now;
    this.ctx.onRevokedSelf();
  }
}
