/**
 * The sending side of one network's multicast (stock Multicaster::send): a broadcast or ARP frame
 * goes as MULTICAST_FRAME to the members known to be subscribed to its group, at most the config's
 * multicast limit of them. While none is known the frame waits (16 per group, 3 s) and the roots
 * are asked with MULTICAST_GATHER — at once, then at most once a second; when members are known,
 * once per gather period. Gather results add members and release the frames that waited.
 */
import type { Counters } from '../../netstack/index.js';
import type { CertificateOfMembership } from '../credentials/certificate-of-membership.js';
import type { Node } from '../node.js';
import { Timing } from '../timing.js';
import { emitMulticastFrame } from '../wire/multicast-frame.js';
import { emitMulticastGather } from '../wire/multicast-gather.js';
import { Verb } from '../wire/packet.js';
import type { EthernetView } from './ethernet-frame.js';
import { groupKey, type MulticastGroup } from './multicast.js';
import { macFromBytes } from './network-mac.js';
import type { NetworkRequestContext } from './request-context.js';

/** What the sender needs of its network. */
export interface MulticastSenderOptions {
  nwid: bigint;
  /** Our MAC on the network: frames from it go without a source MAC. */
  macInt: bigint;
  counters: Counters;
  /** The config's multicast limit (0 when unset). */
  multicastLimit: () => number;
  /** Our certificate of membership, sent with gathers. */
  com: () => CertificateOfMembership | null;
  /** True when nothing may go to this member (revoked); the network counts it. */
  cutOff: (member: bigint, verb: number) => boolean;
  sendToMember: (member: bigint, verb: number, payload: Buffer) => void;
}

interface PendingMulticast {
  frames: { eth: EthernetView; at: number }[];
  lastGather: number;
}

const MAX_PENDING_MULTICAST_FRAMES = 16;
const PENDING_MULTICAST_TTL_MS = 3_000;
/** Members a frame goes to when the config sets no limit (stock's default). */
const DEFAULT_MULTICAST_LIMIT = 32;

export class MulticastSender {
  private readonly pending = new Map<string, PendingMulticast>();

  constructor(
    private readonly node: Node,
    private readonly opts: MulticastSenderOptions,
  ) {}

  private limit(): number {
    return this.opts.multicastLimit() || DEFAULT_MULTICAST_LIMIT;
  }

  send(group: MulticastGroup, eth: EthernetView): void {
    const { nwid } = this.opts;
    const now = this.node.now();
    const limit = this.limit();
    const members = this.node.multicast.members(nwid, group, limit, this.node.address);
    const key = groupKey(nwid, group);
    let pending = this.pending.get(key);
    if (!pending) {
      pending = { frames: [], lastGather: -Infinity };
      this.pending.set(key, pending);
    }
    // ask the roots who is subscribed: at once when we know no one, else now and then
    const gatherDue = members.length === 0 ? now - pending.lastGather >= 1_000 : now - pending.lastGather >= Timing.multicastGatherDelay;
    if (gatherDue) {
      pending.lastGather = now;
      const context: NetworkRequestContext = { kind: 'gather', nwid, group };
      const payload = emitMulticastGather({ networkId: nwid, group, gatherLimit: limit, com: this.opts.com() });
      for (const root of this.node.topology.rootPeers())
        this.node.sendPacket(root, Verb.MULTICAST_GATHER, payload, { expectReply: context });
    }
    if (members.length === 0) {
      if (pending.frames.length < MAX_PENDING_MULTICAST_FRAMES)
        pending.frames.push({ eth: { ...eth, payload: Buffer.from(eth.payload) }, at: now });
      else this.opts.counters.inc('drop_multicast_pending_full');
      return;
    }
    for (const m of members) this.sendTo(m, group, eth);
  }

  /** Members a root (or a member) told us about: remember them and send the frames that waited. */
  onGatherResult(group: MulticastGroup, members: bigint[]): void {
    const now = this.node.now();
    const others = members.filter((m) => m !== this.node.address);
    for (const m of others) this.node.multicast.add(this.opts.nwid, group, m, now);
    const pending = this.pending.get(groupKey(this.opts.nwid, group));
    if (!pending || pending.frames.length === 0 || others.length === 0) return;
    const frames = pending.frames.splice(0);
    for (const f of frames) for (const m of others.slice(0, this.limit())) this.sendTo(m, group, f.eth);
  }

  /** Forgets frames that waited too long, and groups with nothing waiting and no recent gather. */
  expire(now: number): void {
    for (const [k, p] of this.pending) {
      p.frames = p.frames.filter((f) => now - f.at < PENDING_MULTICAST_TTL_MS);
      if (p.frames.length === 0 && now - p.lastGather > Timing.multicastGatherDelay) this.pending.delete(k);
    }
  }

  private sendTo(member: bigint, group: MulticastGroup, eth: EthernetView): void {
    if (this.opts.cutOff(member, Verb.MULTICAST_FRAME)) return;
    const srcMac = macFromBytes(eth.src);
    const payload = emitMulticastFrame({
      networkId: this.opts.nwid,
      com: null,
      gatherLimit: 0,
      sourceMac: srcMac === this.opts.macInt ? null : srcMac,
      group,
      etherType: eth.etherType,
      data: eth.payload,
    });
    this.opts.sendToMember(member, Verb.MULTICAST_FRAME, payload);
    this.opts.counters.inc('multicast_out');
  }
}
