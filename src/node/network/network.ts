/**
 * Membership of one virtual network: asks the network's controller for config (and keeps asking),
 * verifies and applies what comes back, runs the network's stack with the assigned addresses and
 * routes, and carries Ethernet frames between that stack and the other members — unicast as
 * FRAME/EXT_FRAME, broadcast and ARP through MULTICAST_LIKE/GATHER/FRAME — checking certificates
 * of membership and the network's rules both ways; honours and forwards the controller's
 * revocations (a revoked member's frames are dropped from the moment the revocation arrives).
 */
import { Counters, ETH_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV6, macEqualsAt, type NetStack } from '../../netstack/index.js';
import { ConfigChunkAssembly } from './config-chunk-assembly.js';
import { arpRequestTarget, buildFrame, frameAroundPayload, frameInEthernet, splitFrame, type EthernetView } from './ethernet-frame.js';
import { arpGroup, BROADCAST_GROUP, groupKey, ipMulticastGroup, type MulticastGroup } from './multicast.js';
import { MulticastSender } from './multicast-sender.js';
import type { NetworkRequestContext } from './request-context.js';
import { decodeNetworkConfig, NetworkConfigFlag, requestMetadataDictionary, type NetworkConfig } from './network-config.js';
import { emulateNeighborAdvertisement } from './ndp-emulation.js';
import { addressFromMac, isMulticastMac, macFromBytes, macIntForMember, macToBytes } from './network-mac.js';
import type { Node } from '../node.js';
import { PROTOCOL_VERSION, SOFTWARE_VERSION } from '../version.js';
import type { Peer } from '../peer/peer.js';
import { NetworkMembership } from './network-membership.js';
import type { Revocation } from '../credentials/revocation.js';
import { acceptsEverything, filterFrame } from './rules-engine.js';
import { StackConfigurator, type ConfigurableStack } from './stack-config.js';
import { Timing } from '../timing.js';
import { controllerOf, formatNetworkId } from '../wire/address.js';
import { emitConfigPushAck } from '../wire/echo.js';
import { emitExtFrame, emitFrame, FRAME_HEADER_LENGTH, frameEtherType, parseExtFrame } from '../wire/frame.js';
import { parseMulticastFrame } from '../wire/multicast-frame.js';
import { emitMulticastLike } from '../wire/multicast-like.js';
import { parseNetworkConfigChunk, verifyNetworkConfigChunk, type NetworkConfigChunk } from '../wire/network-config-chunk.js';
import { emitNetworkConfigRequest } from '../wire/network-config-request.js';
import { parseNetworkCredentials } from '../wire/network-credentials.js';
import { emitError, emitOk, emitNetworkErrorBody, ErrorCode } from '../wire/ok-error.js';
import { PACKET_IDX_PAYLOAD, Verb } from '../wire/packet.js';
import { idBytes, type RequestRef } from '../incoming.js';

/** Status strings as ZeroTier reports them. */
export type NetworkStatus = 'REQUESTING_CONFIGURATION' | 'OK' | 'ACCESS_DENIED' | 'NOT_FOUND' | 'PORT_ERROR' | 'CLIENT_TOO_OLD';

/** What a network's stack is built from: the network it is for, our MAC on it, its MTU and interface name. */
export interface StackFactoryOptions {
  nwid: bigint;
  mac: Buffer;
  mtu: number;
  /** `zt-` and the network id in 16 hex digits; a label only (logs, counters), never parsed. */
  name: string;
}

export type StackFactory = (opts: StackFactoryOptions) => NetStack;

export interface NetworkOptions {
  stackFactory: StackFactory;
  /** How often an OK network refreshes its config (stock: 60 s). */
  refreshMs: number;
  /** Asks this node's own controller, for networks this node controls (their requests never go on the wire). */
  localController?: (nwid: bigint, metadata: Buffer) => void;
  /** A join token presented to the controller until the network is OK (ztnc controllers then authorize us). */
  joinToken?: string;
}

export class Network {
  readonly counters = new Counters();
  private readonly framesIn = this.counters.cell('frames_in');
  private readonly framesOut = this.counters.cell('frames_out');
  readonly mac: Buffer;
  readonly macInt: bigint;
  readonly controller: bigint;
  status: NetworkStatus = 'REQUESTING_CONFIGURATION';
  config: NetworkConfig | null = null;
  stack: NetStack | null = null;
  /** What the config applied to `stack` (a new one with each stack). */
  private stackConfig = new StackConfigurator(NO_STACK);
  private readonly assembly = new ConfigChunkAssembly();
  private lastRequest = -Infinity;
  /** Requests made before any config came: a new member's first may reach the controller before its path does. */
  private unanswered = 0;
  private lastAnnounce = -Infinity;
  /** The other members: their certificates, the controller's revocations. */
  readonly members: NetworkMembership;
  private readonly multicastOut: MulticastSender;
  private closed = false;
  /** Presented in config requests while the network is not OK; once admitted it need not be sent again. */
  joinToken: string | null;
  /** The network id as FRAME carries it. */
  private readonly nwidBytes: Buffer;
  private readonly memberSendOptions = { beforeSend: (peer: Peer): void => this.pushCredentials(peer, false), headroom: 0 };
  private lastDestination: { address: bigint; mac: bigint; macBytes: Buffer } | null = null;
  private lastSender: Peer | null = null;
  private lastSenderMac = 0n;
  private lastSenderMacBytes: Buffer = Buffer.alloc(6);
  /** Stops hearing the stack's multicast group changes (set while a stack is attached). */
  private stopGroupEvents: (() => void) | null = null;
  /** The stack's IP multicast groups as last announced. */
  private announcedIpGroups: MulticastGroup[] = [];

  constructor(
    private readonly node: Node,
    readonly nwid: bigint,
    private readonly opts: NetworkOptions,
  ) {
    this.macInt = macIntForMember(node.address, nwid);
    this.mac = macToBytes(this.macInt);
    this.controller = controllerOf(nwid);
    this.joinToken = opts.joinToken ?? null;
    this.nwidBytes = Buffer.alloc(8);
    this.nwidBytes.writeBigUInt64BE(BigInt.asUintN(64, nwid));
    this.members = new NetworkMembership(node, {
      nwid,
      counters: this.counters,
      refreshMs: opts.refreshMs,
      config: () => this.config,
      controllerKey: () => this.controllerKey(),
      onRevokedSelf: () => {
        node.log.info({ nwid: this.idHex }, 'our membership was revoked: asking the controller now');
        this.requestConfig();
      },
    });
    this.multicastOut = new MulticastSender(node, {
      nwid,
      macInt: this.macInt,
      counters: this.counters,
      multicastLimit: () => this.config?.multicastLimit ?? 0,
      com: () => this.config?.com ?? null,
      cutOff: (member, verb) => this.cutOff(member, verb),
      sendToMember: (member, verb, payload) => this.sendToMember(member, verb, payload),
    });
  }

  get idHex(): string {
    return formatNetworkId(this.nwid);
  }

  private drop(reason: string): false {
    this.counters.inc(`drop_${reason}`);
    return false;
  }

  // ------------------------------------------------------------ config

  requestConfig(): void {
    if (this.closed) return;
    this.lastRequest = this.node.now();
    if (this.config === null) this.unanswered++;
    const metadata = requestMetadataDictionary({
      protocolVersion: PROTOCOL_VERSION,
      versionMajor: SOFTWARE_VERSION[0],
      versionMinor: SOFTWARE_VERSION[1],
      versionRevision: SOFTWARE_VERSION[2],
      os: `${process.platform}/${process.arch === 'x64' ? 'x86_64' : process.arch}`,
      ...(this.joinToken !== null && this.status !== 'OK' ? { joinToken: this.joinToken } : {}),
    }).encode();
    const payload = emitNetworkConfigRequest({
      networkId: this.nwid,
      metadata,
      haveRevision: this.config?.revision ?? 0n,
      haveTimestamp: this.config?.timestamp ?? 0n,
    });
    if (!payload) return void this.drop('request_too_big');
    if (this.controlledHere) {
      if (!this.opts.localController) return void this.drop('request_no_local_controller');
      this.opts.localController(this.nwid, metadata);
      this.counters.inc('config_requests');
      return;
    }
    const context: NetworkRequestContext = { kind: 'config', nwid: this.nwid };
    this.node.sendTo(this.controller, Verb.NETWORK_CONFIG_REQUEST, payload, { expectReply: context });
    this.counters.inc('config_requests');
  }

  /** True when this node is the network's controller. */
  private get controlledHere(): boolean {
    return this.controller === this.node.address;
  }

  /** The controller's public key: ours when we control the network, else its peer's (null while unknown). */
  private controllerKey(): Buffer | null {
    if (this.controlledHere) return this.node.identity.publicKey;
    return this.node.peer(this.controller)?.identity.publicKey ?? null;
  }

  /** Whether a config or refusal came from the controller: `from` null means our own controller answered locally. */
  private fromController(from: Peer | null): boolean {
    return from === null ? this.controlledHere : from.address === this.controller;
  }

  /** A config chunk, from OK(NETWORK_CONFIG_REQUEST), a NETWORK_CONFIG push, or (`from` null) our own controller; true when accepted. */
  onConfigChunk(from: Peer | null, chunk: NetworkConfigChunk): boolean {
    if (this.closed) return false;
    const controllerKey = this.controllerKey();
    if (!controllerKey) return this.drop('config_controller_unknown');
    const s = chunk.signed;
    if (s) {
      if (!verifyNetworkConfigChunk(chunk, controllerKey)) return this.drop('config_bad_signature');
    } else if (from === null || from.address !== this.controller) {
      return this.drop('config_unsigned');
    }
    const r = this.assembly.add(
      { updateId: s?.configUpdateId ?? 0n, totalLength: s?.totalLength ?? chunk.data.length, offset: s?.chunkIndex ?? 0, data: chunk.data },
      this.node.now(),
    );
    if (r.kind === 'invalid') return this.drop('config_chunk_invalid');
    if (r.kind === 'partial') return true;
    const cfg = decodeNetworkConfig(r.config);
    if (!cfg.ok) {
      this.node.log.warn({ nwid: this.idHex, err: cfg.error }, 'undecodable network config');
      return this.drop('config_undecodable');
    }
    return this.applyConfig(cfg.value);
  }

  onConfigError(from: Peer | null, code: number): void {
    if (!this.fromController(from)) return void this.drop('config_error_not_from_controller');
    if (code === ErrorCode.NETWORK_ACCESS_DENIED) this.refuse('ACCESS_DENIED');
    else if (code === ErrorCode.OBJ_NOT_FOUND) this.refuse('NOT_FOUND');
    else this.counters.inc(`config_error_${code}`);
  }

  private refuse(status: NetworkStatus): void {
    if (this.status !== status) this.node.log.info({ nwid: this.idHex, status }, 'network refused');
    this.forgetOwnSubscriptions();
    this.status = status;
    this.config = null;
    this.members.clearCertificates();
    this.detachStack();
  }

  private applyConfig(cfg: NetworkConfig): boolean {
    if (cfg.networkId !== this.nwid || cfg.issuedTo !== this.node.address) return this.drop('config_not_for_us');
    if (this.config && cfg.timestamp < this.config.timestamp) return this.drop('config_older');
    const first = this.status !== 'OK';
    this.config = cfg;
    this.status = 'OK';
    this.counters.inc('configs_applied');
    if (cfg.rulesError) this.node.log.warn({ nwid: this.idHex, err: cfg.rulesError }, 'network rules not understood: dropping all traffic');
    this.syncStack(cfg);
    this.members.configChanged(cfg);
    if (first) this.node.log.info({ nwid: this.idHex }, 'network config applied');
    this.announce();
    return true;
  }

  private syncStack(cfg: NetworkConfig): void {
    if (!this.stack) {
      this.stack = this.opts.stackFactory({ nwid: this.nwid, mac: this.mac, mtu: cfg.mtu, name: `zt-${this.idHex}` });
      this.stackConfig = new StackConfigurator(this.stack);
      this.stack.setLinkOutput((frame, headroom) => this.fromStack(frame, headroom));
      this.stopGroupEvents = this.stack.onMulticastGroupsChanged(() => this.stackGroupsChanged());
    }
    if (this.stack.mtu !== cfg.mtu) this.stack.setMtu(cfg.mtu);
    this.stackConfig.apply(cfg);
  }

  /** Takes our own entries out of our table (kept there only as a root, see announce). */
  private forgetOwnSubscriptions(): void {
    if (!this.node.isRoot) return;
    for (const group of this.groups()) this.node.multicast.remove(this.nwid, group, this.node.address);
  }

  private detachStack(): void {
    this.stopGroupEvents?.();
    this.stopGroupEvents = null;
    this.stack?.close();
    this.stack = null;
    this.stackConfig = new StackConfigurator(NO_STACK);
  }

  close(): void {
    this.closed = true;
    this.forgetOwnSubscriptions();
    this.detachStack();
    this.config = null;
    this.status = 'REQUESTING_CONFIGURATION';
  }

  tick(now: number): void {
    if (this.closed) return;
    const soon = this.unanswered < Timing.networkFirstRequests;
    const period = this.status === 'OK' ? this.opts.refreshMs : soon ? Timing.networkFirstRequestRetry : Timing.networkRequestRetry;
    if (now - this.lastRequest >= period) this.requestConfig();
    if (this.status === 'OK' && now - this.lastAnnounce >= Timing.multicastAnnounce) this.announce();
    this.multicastOut.expire(now);
  }

  // ------------------------------------------------------------ membership

  /**
   * Our subscriptions: broadcast, the ARP group of each of our IPv4 addresses, and the multicast
   * groups our stack listens to — IPv4 groups its sockets joined, and its IPv6 groups (the
   * solicited-node groups of its addresses, all-nodes, and sockets' joins).
   */
  groups(): MulticastGroup[] {
    const out: MulticastGroup[] = [BROADCAST_GROUP];
    for (const a of this.stack?.addresses() ?? []) if (typeof a.addr === 'number') out.push(arpGroup(a.addr));
    return out.concat(this.ipGroups());
  }

  private ipGroups(): MulticastGroup[] {
    const out: MulticastGroup[] = [];
    const seen = new Set<bigint>();
    for (const g of this.stack?.multicastGroups() ?? []) {
      // groups that share an Ethernet address share a subscription
      const group = ipMulticastGroup(g);
      if (!seen.has(group.mac)) out.push(group);
      seen.add(group.mac);
    }
    return out;
  }

  /**
   * A socket joined a new group or left one for good: the roots hear our subscriptions at once
   * (ZeroTier has no unsubscribe; a group left ages out of the others' tables, and its frames are
   * refused meanwhile). A root keeps its own subscriptions in its table, so it takes left ones out.
   */
  private stackGroupsChanged(): void {
    this.counters.inc('multicast_groups_changed');
    const now = this.ipGroups();
    if (this.node.isRoot) {
      const keep = new Set(now.map((g) => groupKey(this.nwid, g)));
      for (const g of this.announcedIpGroups)
        if (!keep.has(groupKey(this.nwid, g))) this.node.multicast.remove(this.nwid, g, this.node.address);
    }
    this.announcedIpGroups = now;
    this.announce();
  }

  /** MULTICAST_LIKE to the roots, who answer gathers. */
  announce(): void {
    if (this.status !== 'OK') return;
    this.lastAnnounce = this.node.now();
    // a root that is a member answers gathers from its own table: our subscriptions belong there too
    if (this.node.isRoot)
      for (const group of this.groups()) this.node.multicast.add(this.nwid, group, this.node.address, this.lastAnnounce);
    const payload = emitMulticastLike(this.groups().map((group) => ({ networkId: this.nwid, group })));
    for (const root of this.node.topology.rootPeers()) this.node.sendPacket(root, Verb.MULTICAST_LIKE, payload);
  }

  /** Sends our certificate to a peer: before our first frames to it, and when it asks (ERROR need-certificate). */
  pushCredentials(peer: Peer, asked: boolean): void {
    if (!this.closed) this.members.pushCredentials(peer, asked);
  }

  /** A revocation, from a peer or (`from` null) our own controller (see NetworkMembership). */
  acceptRevocation(from: Peer | null, rev: Revocation): boolean {
    return this.closed || this.members.acceptRevocation(from, rev);
  }

  // ------------------------------------------------------------ frames in

  /**
   * A network verb from a peer, for this network. `headroom` bytes before `payload` are free to
   * overwrite: a frame's Ethernet header is then rebuilt in place instead of copying the frame.
   */
  onPeerVerb(peer: Peer, verb: number, payload: Buffer, request: RequestRef, headroom = 0): void {
    switch (verb) {
      case Verb.NETWORK_CREDENTIALS: {
        const c = parseNetworkCredentials(payload);
        if (!c.ok) return void this.drop('credentials_malformed');
        for (const com of c.value.coms) this.members.acceptCom(peer, com);
        for (const rev of c.value.revocations) if (!this.acceptRevocation(peer, rev)) break;
        return;
      }
      case Verb.NETWORK_CONFIG: {
        const chunk = parseNetworkConfigChunk(payload);
        if (!chunk.ok) return void this.drop('config_chunk_malformed');
        if (this.onConfigChunk(peer, chunk.value) && chunk.value.signed) {
          // stock acks a pushed config with OK in-re ECHO naming the network and update id
          const ack = emitConfigPushAck({ networkId: this.nwid, configUpdateId: chunk.value.signed.configUpdateId });
          this.node.sendPacket(peer, Verb.OK, emitOk(Verb.ECHO, idBytes(request.wireId), ack));
        }
        return;
      }
      case Verb.FRAME: {
        // read in place, no parsed objects: a stream's every segment comes this way
        const etherType = frameEtherType(payload);
        if (etherType < 0) return void this.drop('frame_malformed');
        const room = headroom > 0 ? headroom + FRAME_HEADER_LENGTH : 0;
        return this.deliver(peer, this.macInt, this.memberMac(peer), etherType, payload, FRAME_HEADER_LENGTH, room, request, verb);
      }
      case Verb.EXT_FRAME: {
        const f = parseExtFrame(payload);
        if (!f.ok) return void this.drop('frame_malformed');
        const x = f.value;
        if (x.com) this.members.acceptCom(peer, x.com);
        // no bridging: the source must be the sender's own MAC
        if (x.sourceMac !== this.memberMac(peer)) return void this.drop('frame_bridged');
        if (x.destMac !== this.macInt && (x.destMac & 0x010000000000n) === 0n) return void this.drop('frame_not_for_us');
        return this.deliver(peer, x.destMac, x.sourceMac, x.etherType, x.data, 0, roomBefore(x.data, payload, headroom), request, verb);
      }
      case Verb.MULTICAST_FRAME: {
        const f = parseMulticastFrame(payload);
        if (!f.ok) return void this.drop('frame_malformed');
        const m = f.value;
        if (m.com) this.members.acceptCom(peer, m.com);
        if (!this.subscribed(m.group)) return void this.drop('multicast_not_subscribed');
        const src = m.sourceMac ?? this.memberMac(peer);
        if (src !== this.memberMac(peer)) return void this.drop('frame_bridged');
        this.counters.inc('multicast_in');
        return this.deliver(peer, m.group.mac, src, m.etherType, m.data, 0, roomBefore(m.data, payload, headroom), request, verb);
      }
      case Verb.MULTICAST_LIKE:
        return; // members learn subscriptions from gathers; roots keep the table
      default:
        this.drop('verb_unexpected');
    }
  }

  private subscribed(g: MulticastGroup): boolean {
    return this.groups().some((x) => x.mac === g.mac && x.adi === g.adi);
  }

  /** A frame's data is `body` from `dataStart` on, with `room` free bytes before it. */
  private deliver(
    peer: Peer,
    dst: bigint,
    src: bigint,
    etherType: number,
    body: Buffer,
    dataStart: number,
    room: number,
    request: RequestRef,
    verb: number,
  ): void {
    if (this.status !== 'OK' || !this.stack || !this.config) return void this.drop('frame_not_joined');
    if (!this.members.admits(peer)) {
      this.drop(this.members.refusalReason(peer));
      return this.askForCertificate(peer, verb, request.wireId);
    }
    const rules = this.config.rules;
    if (!acceptsEverything(rules)) {
      const verdict = filterFrame(rules, {
        ztSource: peer.address,
        ztDest: this.node.address,
        macSource: src,
        macDest: dst,
        etherType,
        payload: body.subarray(dataStart),
      });
      if (!verdict.accept) return void this.drop('frame_rules_in');
    }
    this.framesIn.n++;
    // the MACs as bytes: ours and the last sender's are kept, others made
    const dstBytes = dst === this.macInt ? this.mac : macToBytes(dst);
    const srcBytes = src === this.lastSenderMac ? this.lastSenderMacBytes : macToBytes(src);
    this.stack.input(
      room >= ETH_HEADER_LEN
        ? frameAroundPayload(dstBytes, srcBytes, etherType, body, dataStart)
        : buildFrame(dstBytes, srcBytes, etherType, body.subarray(dataStart)),
    );
  }

  /** ERROR need-certificate (rate-limited): the peer answers with its certificate, if it has one we can take. */
  private askForCertificate(peer: Peer, inReVerb: number, inReId: bigint): void {
    if (!this.node.limits.errorReply.allow(`${peer.hex}/${this.idHex}`)) return;
    const body = emitNetworkErrorBody({ networkId: this.nwid, dictionary: null });
    this.node.sendPacket(peer, Verb.ERROR, emitError(inReVerb, idBytes(inReId), ErrorCode.NEED_MEMBERSHIP_CERTIFICATE, body));
  }

  /**
   * Frames to a revoked member without a newer certificate are not sent (a member ignoring its
   * de-authorization reads nothing more from us); it is asked for a certificate instead, so a
   * re-authorized one is let back in by the certificate it answers with.
   */
  private cutOff(address: bigint, verb: number): boolean {
    if (!this.members.cutOff(address)) return false;
    this.drop('tx_revoked');
    const peer = this.node.peer(address);
    if (peer) this.askForCertificate(peer, verb, 0n);
    return true;
  }

  // ------------------------------------------------------------ frames out

  /** A frame our stack sends onto the network, with `headroom` free bytes before it (see LinkOutput). */
  private fromStack(frame: Buffer, headroom: number): void {
    if (this.status !== 'OK' || !this.config) return void this.drop('tx_not_joined');
    if (frame.length < ETH_HEADER_LEN) return void this.drop('tx_runt');
    if (isMulticastMac(frame)) {
      const eth = splitFrame(frame)!;
      if (eth.etherType === ETHERTYPE_IPV6 && this.emulateNdp(eth)) return;
      const target = eth.etherType === ETHERTYPE_ARP ? arpRequestTarget(eth.payload) : null;
      const group: MulticastGroup = target !== null ? arpGroup(target) : { mac: macFromBytes(eth.dst), adi: 0 };
      return this.multicastOut.send(group, eth);
    }
    // a unicast frame (a stream's every segment) is read in place: MACs compared on its bytes,
    // and the Ethernet view made only when the rules or an EXT_FRAME need it
    const to = this.unicastDestination(frame);
    if (to === null) return void this.drop('tx_unknown_mac');
    const dest = to.address;
    if (this.cutOff(dest, Verb.FRAME)) return;
    const ownSource = macEqualsAt(frame, 6, this.mac);
    const rules = this.config.rules;
    if (!acceptsEverything(rules)) {
      const eth = splitFrame(frame)!;
      const verdict = filterFrame(rules, {
        ztSource: this.node.address,
        ztDest: dest,
        macSource: ownSource ? this.macInt : macFromBytes(eth.src),
        macDest: to.mac,
        etherType: eth.etherType,
        payload: eth.payload,
      });
      if (!verdict.accept) return void this.drop('frame_rules_out');
    }
    if (ownSource) {
      // FRAME: the network id goes over the MACs and the packet header into the headroom, so the
      // frame is not copied; without room for that, a copy
      const payloadRoom = headroom + ETH_HEADER_LEN - FRAME_HEADER_LENGTH;
      if (payloadRoom >= PACKET_IDX_PAYLOAD) this.sendToMember(dest, Verb.FRAME, frameInEthernet(this.nwidBytes, frame), payloadRoom);
      else {
        const eth = splitFrame(frame)!;
        this.sendToMember(dest, Verb.FRAME, emitFrame(this.nwid, eth.etherType, eth.payload));
      }
    } else {
      const eth = splitFrame(frame)!;
      this.sendToMember(
        dest,
        Verb.EXT_FRAME,
        emitExtFrame({
          networkId: this.nwid,
          flags: 0,
          com: null,
          destMac: to.mac,
          sourceMac: macFromBytes(eth.src),
          etherType: eth.etherType,
          data: eth.payload,
        }),
      );
    }
    this.framesOut.n++;
  }

  /**
   * Stock's NDP emulation (see ndp-emulation.ts): a neighbor solicitation for another member's
   * rfc4193 or 6plane address is answered here, on a later turn as stock answers from another
   * thread (the stack is inside its own send now), and goes no further.
   */
  private emulateNdp(eth: EthernetView): boolean {
    const cfg = this.config!;
    if ((cfg.flags & NetworkConfigFlag.ENABLE_IPV6_NDP_EMULATION) === 0n) return false;
    const na = emulateNeighborAdvertisement(this.nwid, this.node.address, cfg.staticIps, eth.payload);
    if (na === null) return false;
    this.counters.inc('ndp_emulated');
    const frame = buildFrame(eth.src, macToBytes(na.peerMac), ETHERTYPE_IPV6, na.packet);
    this.node.scheduler.setTimer(0, () => this.stack?.input(frame));
    return true;
  }

  /** The member a unicast MAC belongs to (null: not a member's, or our own), remembered for the last MAC asked (a stream's). */
  private unicastDestination(mac: Uint8Array): { address: bigint; mac: bigint } | null {
    const last = this.lastDestination;
    if (last !== null && macEqualsAt(mac, 0, last.macBytes)) return last;
    const address = addressFromMac(mac, this.nwid);
    if (address === null || address === this.node.address) return null;
    this.lastDestination = { address, mac: macFromBytes(mac), macBytes: Buffer.from(mac.subarray(0, 6)) };
    return this.lastDestination;
  }

  /** The MAC of a member that sends to us, remembered for the last sender. */
  private memberMac(peer: Peer): bigint {
    if (this.lastSender !== peer) {
      this.lastSender = peer;
      this.lastSenderMac = macIntForMember(peer.address, this.nwid);
      this.lastSenderMacBytes = macToBytes(this.lastSenderMac);
    }
    return this.lastSenderMac;
  }

  /** Sends to another member, our certificate first when it has not seen it lately (so the frame is not refused). */
  private sendToMember(member: bigint, verb: number, payload: Buffer, headroom = 0): void {
    // one options object for every send (sendTo reads it before it returns)
    this.memberSendOptions.headroom = headroom;
    this.node.sendTo(member, verb, payload, this.memberSendOptions);
  }

  /** Members a root (or a member) told us about: remember them and send the frames that waited. */
  onGatherResult(group: MulticastGroup, members: bigint[]): void {
    this.multicastOut.onGatherResult(group, members);
  }
}

/** Where config goes while no stack is attached: nowhere (a stack gets its own configurator). */
const NO_STACK: ConfigurableStack = {
  addresses: () => [],
  addAddress: () => {},
  removeAddress: () => {},
  routes: () => [],
  addRoute: () => {},
  removeRoute: () => {},
  addOwnedPrefix: () => {},
  removeOwnedPrefix: () => {},
};

/** Free bytes before `data`, a view inside `payload` that has `headroom` free bytes before it. */
function roomBefore(data: Buffer, payload: Buffer, headroom: number): number {
  return headroom > 0 && data.buffer === payload.buffer ? headroom + data.byteOffset - payload.byteOffset : 0;
}
