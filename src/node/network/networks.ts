/**
 * The networks of one node: joins and leaves, routes network-level verbs and replies to the right
 * Network, and runs the in-band controller for networks this node controls.
 */
import { createNetStack } from '../../netstack/index.js';
import type { Endpoint } from '../peer/endpoint.js';
import { parseNetworkErrorBody, type ErrorMessage, type OkMessage } from '../wire/ok-error.js';
import { ConfigResponder } from '../controller-link/config-responder.js';
import type { RequestRef, VerbHandlers } from '../incoming.js';
import { Network, type StackFactory } from './network.js';
import type { NetworkRequestContext } from './request-context.js';
import type { NetworkControllerBackend } from '../controller-link/controller-backend.js';
import type { Node } from '../node.js';
import type { Peer } from '../peer/peer.js';
import { Timing } from '../timing.js';
import { parseOkMulticastGather } from '../wire/multicast-gather.js';
import { parseOkMulticastFrame } from '../wire/multicast-frame.js';
import { parseNetworkConfigChunk } from '../wire/network-config-chunk.js';
import { ErrorCode } from '../wire/ok-error.js';
import { Verb } from '../wire/packet.js';
import { NetworkTable } from './network-table.js';

export interface NetworksOptions {
  /** Builds each joined network's stack; default createNetStack on the node's clock. */
  stackFactory?: StackFactory;
  /** Config refresh period of joined networks (stock: 60 s). */
  refreshMs?: number;
  /** Makes this node the controller of networks whose id starts with its address. */
  controller?: NetworkControllerBackend;
}

/** Most networks one node joins. */
const MAX_NETWORKS = 64;

export class Networks implements VerbHandlers {
  private readonly nets = new NetworkTable<Network>();
  readonly controller: ConfigResponder | null;
  private readonly stackFactory: StackFactory;
  private readonly refreshMs: number;
  private closed = false;

  constructor(
    private readonly node: Node,
    opts: NetworksOptions = {},
  ) {
    this.refreshMs = opts.refreshMs ?? Timing.networkRefresh;
    this.stackFactory =
      opts.stackFactory ??
      ((o) => createNetStack({ scheduler: node.scheduler, random: node.random, mac: o.mac, mtu: o.mtu, name: o.name }));
    this.controller = opts.controller
      ? new ConfigResponder(node, opts.controller, 3 * this.refreshMs + 60_000, {
          configChunks: (nwid, chunks) => this.later(() => this.localConfigChunks(nwid, chunks)),
          refused: (nwid, error) =>
            this.later(() =>
              this.nets
                .get(nwid)
                ?.onConfigError(null, error === 'ACCESS_DENIED' ? ErrorCode.NETWORK_ACCESS_DENIED : ErrorCode.OBJ_NOT_FOUND),
            ),
          // as stock's ncSendRevocation to itself: our own membership takes it as from the wire
          revocation: (nwid, rev) => this.later(() => this.nets.get(nwid)?.acceptRevocation(null, rev)),
        })
      : null;
    this.controller?.start();
    node.handlers = this;
    node.onTick((now) => {
      for (const n of this.nets.values()) n.tick(now);
      this.controller?.tick(now);
    });
    // a root that came (back) up has no subscriptions from us: announce them again
    node.onRootUp(() => {
      for (const n of this.nets.values()) n.announce();
    });
  }

  /**
   * Joins (or returns the joined network); `joinToken` is presented to its controller until
   * admitted (a new one for a network joined already at once, when it is not OK).
   */
  join(nwid: bigint, opts: { joinToken?: string | undefined } = {}): Network {
    let n = this.nets.get(nwid);
    if (n && opts.joinToken !== undefined) {
      n.joinToken = opts.joinToken;
      if (n.status !== 'OK') n.requestConfig();
    }
    if (n) return n;
    if (this.nets.size >= MAX_NETWORKS) throw new Error(`cannot join more than ${MAX_NETWORKS} networks`);
    const controller = this.controller;
    n = new Network(this.node, nwid, {
      stackFactory: this.stackFactory,
      refreshMs: this.refreshMs,
      ...(opts.joinToken !== undefined ? { joinToken: opts.joinToken } : {}),
      ...(controller ? { localController: (id: bigint, metadata: Buffer) => this.later(() => controller.requestLocal(id, metadata)) } : {}),
    });
    this.nets.set(nwid, n);
    n.requestConfig();
    return n;
  }

  leave(nwid: bigint): boolean {
    const n = this.nets.get(nwid);
    if (!n) return false;
    n.close();
    this.nets.delete(nwid);
    this.node.multicast.forgetNetwork(nwid);
    return true;
  }

  get(nwid: bigint): Network | undefined {
    return this.nets.get(nwid);
  }

  list(): Network[] {
    return [...this.nets.values()];
  }

  close(): void {
    this.closed = true;
    for (const n of this.nets.values()) n.close();
    this.nets.clear();
    this.controller?.stop();
  }

  /**
   * Runs work between this node and its own controller on a later turn, as a reply over the wire
   * would: a join never configures within itself, and a controller change is never re-entered.
   */
  private later(fn: () => void): void {
    this.node.scheduler.setTimer(0, () => {
      if (!this.closed) fn();
    });
  }

  private localConfigChunks(nwid: bigint, chunks: Buffer[]): void {
    const n = this.nets.get(nwid);
    if (!n) return;
    for (const bytes of chunks) {
      const chunk = parseNetworkConfigChunk(bytes);
      if (!chunk.ok) return void this.node.counters.inc('rx_drop_bad_config_chunk');
      n.onConfigChunk(null, chunk.value);
    }
  }

  // ---------------------------------------------------------------- VerbHandlers

  onNetworkVerb(peer: Peer, verb: number, payload: Buffer, request: RequestRef, headroom = 0): void {
    if (verb === Verb.NETWORK_CREDENTIALS) {
      // certificates name their own network
      for (const n of this.nets.values()) n.onPeerVerb(peer, verb, payload, request);
      return;
    }
    if (payload.length < 8) return void this.node.counters.inc('rx_drop_bad_network_verb');
    const n = this.nets.at(payload, 0);
    if (!n) return void this.node.counters.inc('rx_drop_unknown_network');
    n.onPeerVerb(peer, verb, payload, request, headroom);
  }

  onConfigRequest(peer: Peer, payload: Buffer, wireId: bigint, from?: Endpoint | null): void {
    if (!this.controller) return void this.node.counters.inc('rx_drop_not_controller');
    this.controller.onRequest(peer, payload, wireId, from === undefined ? (peer.paths.best(this.node.now())?.endpoint ?? null) : from);
  }

  onOk(peer: Peer, ok: OkMessage, context: unknown): void {
    const ctx = context as NetworkRequestContext | undefined;
    switch (ok.inReVerb) {
      case Verb.NETWORK_CONFIG_REQUEST: {
        if (ctx?.kind !== 'config') return void this.node.counters.inc('rx_drop_unexpected_ok');
        const chunk = parseNetworkConfigChunk(ok.body);
        if (!chunk.ok) return void this.node.counters.inc('rx_drop_bad_config_chunk');
        if (chunk.value.networkId !== ctx.nwid) return void this.node.counters.inc('rx_drop_bad_config_chunk');
        this.nets.get(ctx.nwid)?.onConfigChunk(peer, chunk.value);
        return;
      }
      case Verb.MULTICAST_GATHER: {
        const g = parseOkMulticastGather(ok.body);
        if (!g.ok) return void this.node.counters.inc('rx_drop_bad_ok');
        this.nets.get(g.value.networkId)?.onGatherResult(g.value.group, g.value.members);
        return;
      }
      case Verb.MULTICAST_FRAME: {
        const f = parseOkMulticastFrame(ok.body);
        if (!f.ok) return void this.node.counters.inc('rx_drop_bad_ok');
        if (f.value.gather) this.nets.get(f.value.networkId)?.onGatherResult(f.value.group, f.value.gather.members);
        return;
      }
      case Verb.ECHO:
        this.controller?.onPushAcknowledged();
        return;
      default:
        this.node.counters.inc('rx_ok_ignored');
    }
  }

  onError(peer: Peer, err: ErrorMessage, context: unknown): void {
    const ctx = context as NetworkRequestContext | undefined;
    if (err.inReVerb === Verb.NETWORK_CONFIG_REQUEST) {
      // only an error naming a request we sent counts: anyone could send us ERROR packets
      if (ctx?.kind !== 'config') return void this.node.counters.inc('rx_drop_unexpected_error');
      this.nets.get(ctx.nwid)?.onConfigError(peer, err.code);
      return;
    }
    if (err.code === ErrorCode.NEED_MEMBERSHIP_CERTIFICATE) {
      const body = parseNetworkErrorBody(err.body);
      if (!body.ok) return void this.node.counters.inc('rx_drop_bad_error');
      this.nets.get(body.value.networkId)?.pushCredentials(peer, true);
    }
  }
}
