/**
 * The controller side of the in-band protocol: for networks whose id begins with our address,
 * answer NETWORK_CONFIG_REQUEST with the member's config — a freshly signed certificate of
 * membership added, LZ4-compressed by the switch, in signed chunks — or with ERROR access-denied /
 * not-found, and push new configs to members when the backend reports a change. A member that
 * was admitted and is now refused (de-authorized, deleted, its network deleted) is revoked at
 * once: a signed revocation goes to every online member of the network, as stock's
 * onNetworkMemberDeauthorize does, and the member itself is told ERROR access-denied naming its
 * last request. This node's own requests for these networks never go on the wire: they are
 * answered here, under the same rules, with the same signed chunks handed to the local sink.
 */
import { createCom, signCom } from '../credentials/certificate-of-membership.js';
import { networkConfigFromController, requestMetadataFromDictionary } from './config-translation.js';
import { Dictionary } from '../wire/dictionary.js';
import { endpointKey, type Endpoint } from '../peer/endpoint.js';
import { idBytes } from '../incoming.js';
import { encodeNetworkConfig } from '../network/network-config.js';
import type { Identity } from '../identity/identity.js';
import type { ConfigRequestMetadata, ConfigRequestResult, ControllerChange, NetworkControllerBackend } from './controller-backend.js';
import type { NetworkConfig } from '../network/network-config.js';
import type { Node } from '../node.js';
import type { Peer } from '../peer/peer.js';
import { RateLimiter } from '../peer/rate-limit.js';
import { comRevocation, signRevocation, type Revocation } from '../credentials/revocation.js';
import { controllerOf, formatAddress, formatNetworkId } from '../wire/address.js';
import { emitNetworkConfigChunk } from '../wire/network-config-chunk.js';
import { emitNetworkCredentials } from '../wire/network-credentials.js';
import { parseNetworkConfigRequest } from '../wire/network-config-request.js';
import { emitError, emitNetworkErrorBody, emitOk, ErrorCode } from '../wire/ok-error.js';
import { Verb } from '../wire/packet.js';

/** Dictionary bytes per chunk: with headers and signature a chunk packet stays near one UDP datagram. */
const CHUNK_DATA_MAX = 1200;

/** Who a config goes to: a peer over the wire, or (peer null) this node's own membership of a network it controls. */
interface Recipient {
  peer: Peer | null;
  identity: Identity;
  address: bigint;
}

/** Where configs for this node's own memberships go, instead of onto the wire. */
export interface LocalConfigSink {
  configChunks(nwid: bigint, chunks: Buffer[]): void;
  refused(nwid: bigint, error: 'ACCESS_DENIED' | 'NOT_FOUND'): void;
  /** A revocation this controller issued, for our own membership of the network. */
  revocation(nwid: bigint, revocation: Revocation): void;
}

interface Member extends Recipient {
  nwid: bigint;
  lastRequest: number;
  /** What the member said about itself in its last request: pushed configs are built for the same node. */
  metadata: ConfigRequestMetadata;
  fromAddress?: string;
  /** Whether the last answer gave it a config: a refusal after one revokes it. */
  admitted: boolean;
  /** Its last request's on-wire id, so a refusal pushed later can name it (null: none, or ours). */
  lastRequestId: bigint | null;
}

/**
 * The member's config as signed NETWORK_CONFIG chunks: a certificate of membership for `member`
 * signed by `controller` is added to `config`, the dictionary is cut into chunks and each chunk is
 * signed. Null when a chunk cannot be encoded.
 */
export function signedConfigChunks(controller: Identity, member: Identity, config: NetworkConfig, configUpdateId: bigint): Buffer[] | null {
  const privateKey = controller.privateKey;
  if (!privateKey) throw new Error('signing configs needs the controller identity with its private key');
  config.com = signCom(createCom(config.timestamp, config.credentialTimeMaxDelta, config.networkId, member), {
    address: controller.address,
    publicKey: controller.publicKey,
    privateKey,
  });
  const dict = encodeNetworkConfig(config);
  const chunks: Buffer[] = [];
  for (let off = 0; off < dict.length; off += CHUNK_DATA_MAX) {
    const data = dict.subarray(off, Math.min(dict.length, off + CHUNK_DATA_MAX));
    const chunk = emitNetworkConfigChunk(
      { networkId: config.networkId, data, flags: 0, configUpdateId, totalLength: dict.length, chunkIndex: off },
      { publicKey: controller.publicKey, privateKey },
    );
    if (!chunk) return null;
    chunks.push(chunk);
  }
  return chunks;
}

export class ConfigResponder {
  /** Members that asked recently, so changes can be pushed to them. */
  private readonly members = new Map<string, Member>();
  private readonly requestLimit: RateLimiter;
  private unsubscribe: (() => void) | null = null;
  /** The member whose request is being answered: a change the request itself makes is not pushed to it again. */
  private answering: string | null = null;

  constructor(
    private readonly node: Node,
    private readonly backend: NetworkControllerBackend,
    private readonly memberTtlMs: number,
    private readonly local: LocalConfigSink | null = null,
  ) {
    this.requestLimit = new RateLimiter(node.scheduler, { ratePerSec: 2, burst: 8 });
  }

  start(): void {
    this.unsubscribe ??= this.backend.onChange((change) => this.onChange(change));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  tick(now: number): void {
    for (const [k, m] of this.members) if (now - m.lastRequest > this.memberTtlMs) this.members.delete(k);
  }

  onRequest(peer: Peer, payload: Buffer, wireId: bigint, from: Endpoint | null): void {
    const c = this.node.counters;
    const req = parseNetworkConfigRequest(payload);
    if (!req.ok) return void c.inc('ctl_drop_bad_request');
    const nwid = req.value.networkId;
    if (controllerOf(nwid) !== this.node.address) return void c.inc('ctl_drop_not_our_network');
    if (!this.requestLimit.allow(`${peer.hex}/${formatNetworkId(nwid)}`)) return void c.inc('ctl_drop_rate_limited');
    this.handle(
      { peer, identity: peer.identity, address: peer.address },
      nwid,
      req.value.metadata,
      from ? endpointKey(from) : undefined,
      wireId,
    );
  }

  /**
   * This node's own request for a network it controls: answered here, as stock does, under the
   * same rules as any member's, with the answer going to the local sink.
   */
  requestLocal(nwid: bigint, metadata: Buffer): void {
    if (controllerOf(nwid) !== this.node.address) return void this.node.counters.inc('ctl_drop_not_our_network');
    if (!this.local) return void this.node.counters.inc('ctl_drop_no_local_sink');
    this.handle({ peer: null, identity: this.node.identity.publicOnly(), address: this.node.address }, nwid, metadata, undefined, null);
  }

  private handle(to: Recipient, nwid: bigint, metadataBytes: Buffer, fromAddress: string | undefined, inRe: bigint | null): void {
    const c = this.node.counters;
    const md = Dictionary.parse(metadataBytes);
    const metadata = md.ok ? requestMetadataFromDictionary(md.value) : {};
    const key = `${formatNetworkId(nwid)}/${formatAddress(to.address)}`;
    const known = this.members.get(key);
    // a join token counts only when the member itself presents it: pushes are answered without
    const { joinToken: _presented, ...pushMetadata } = metadata;
    const member: Member = {
      ...to,
      nwid,
      lastRequest: this.node.now(),
      metadata: pushMetadata,
      ...(fromAddress ? { fromAddress } : {}),
      admitted: known?.admitted ?? false,
      lastRequestId: inRe,
    };
    if (this.members.size < 100_000 || known) this.members.set(key, member);
    let result: ConfigRequestResult;
    const outer = this.answering;
    this.answering = key;
    try {
      result = this.backend.request({
        nwid,
        identity: to.identity.toString(),
        address: to.address,
        metadata,
        ...(fromAddress ? { fromAddress } : {}),
      });
    } catch (err) {
      c.inc('ctl_backend_error');
      this.node.log.warn({ err: (err as Error).message }, 'controller backend failed');
      return;
    } finally {
      this.answering = outer;
    }
    this.answer(to, nwid, inRe, result);
    this.settle(member, result);
  }

  /** Records whether the member is admitted; revokes it when it was and no longer is. */
  private settle(m: Member, result: ConfigRequestResult): void {
    const wasAdmitted = m.admitted;
    m.admitted = result.ok;
    if (wasAdmitted && !result.ok) this.revoke(m.nwid, m.address);
  }

  /**
   * Signs a revocation of every certificate of `target` issued until now and sends it to each
   * online member of the network (the target too: an honest one then asks and learns it is refused).
   */
  revoke(nwid: bigint, target: bigint): void {
    const privateKey = this.node.identity.privateKey;
    if (!privateKey) return;
    const unsigned = comRevocation(this.node.random.bytes(4).readUInt32BE(0), nwid, target, BigInt(Math.floor(this.node.wallClock())));
    const rev = signRevocation(unsigned, { address: this.node.address, publicKey: this.node.identity.publicKey, privateKey });
    const payload = emitNetworkCredentials({ revocations: [rev] });
    for (const m of this.members.values()) {
      if (m.nwid !== nwid) continue;
      if (m.peer === null) this.local?.revocation(nwid, rev);
      else this.node.sendPacket(m.peer, Verb.NETWORK_CREDENTIALS, payload);
    }
    this.node.counters.inc('ctl_revocations_issued');
    this.node.log.info({ nwid: formatNetworkId(nwid), member: formatAddress(target) }, 'member revoked');
  }

  /**
   * `inRe` is the request answered; null for a push (and for this node's own requests, which have
   * no packet). A pushed refusal names `refusalInRe`, the member's last request, instead.
   */
  private answer(to: Recipient, nwid: bigint, inRe: bigint | null, result: ConfigRequestResult, refusalInRe: bigint | null = inRe): void {
    const c = this.node.counters;
    const peer = to.peer;
    if (!result.ok) {
      c.inc(result.error === 'ACCESS_DENIED' ? 'ctl_denied' : 'ctl_not_found');
      // our own membership learns a refusal at once, pushed or asked: there is no wire to be quiet on
      if (peer === null) return void this.local?.refused(nwid, result.error);
      // a push names the member's last request: stock members take a controller's refusal of any
      // request of theirs, ours while that request is still expected (else the revocation tells them)
      if (refusalInRe === null) return;
      const code = result.error === 'ACCESS_DENIED' ? ErrorCode.NETWORK_ACCESS_DENIED : ErrorCode.OBJ_NOT_FOUND;
      this.node.sendPacket(
        peer,
        Verb.ERROR,
        emitError(Verb.NETWORK_CONFIG_REQUEST, idBytes(refusalInRe), code, emitNetworkErrorBody({ networkId: nwid, dictionary: null })),
      );
      return;
    }
    const cfg = networkConfigFromController(result.config);
    if (!cfg.ok) {
      c.inc('ctl_bad_config');
      this.node.log.warn({ nwid: formatNetworkId(nwid), err: cfg.error }, 'controller produced an unusable config');
      return;
    }
    const updateId = this.node.random.bytes(8).readBigUInt64BE(0);
    const chunks = signedConfigChunks(this.node.identity, to.identity, cfg.value, updateId);
    if (!chunks) return void c.inc('ctl_bad_config');
    if (peer === null) {
      this.local?.configChunks(nwid, chunks);
      return void c.inc('ctl_configs_local');
    }
    for (const chunk of chunks) {
      if (inRe !== null) this.node.sendPacket(peer, Verb.OK, emitOk(Verb.NETWORK_CONFIG_REQUEST, idBytes(inRe), chunk));
      else this.node.sendPacket(peer, Verb.NETWORK_CONFIG, chunk);
    }
    c.inc(inRe !== null ? 'ctl_configs_sent' : 'ctl_configs_pushed');
  }

  /** Pushes fresh configs (or the refusal, and a revocation, to members now refused) to online members. */
  private onChange(change: ControllerChange): void {
    for (const [key, m] of this.members) {
      if (m.nwid !== change.nwid || key === this.answering) continue;
      if (change.members && !change.members.includes(m.address)) continue;
      let result: ConfigRequestResult;
      const outer = this.answering;
      this.answering = key;
      try {
        result = change.deleted
          ? { ok: false, error: 'NOT_FOUND' }
          : this.backend.request({
              nwid: m.nwid,
              identity: m.identity.toString(),
              address: m.address,
              metadata: m.metadata,
              ...(m.fromAddress ? { fromAddress: m.fromAddress } : {}),
            });
      } catch {
        this.node.counters.inc('ctl_backend_error');
        continue;
      } finally {
        this.answering = outer;
      }
      this.answer(m, m.nwid, null, result, m.admitted ? m.lastRequestId : null);
      this.settle(m, result);
    }
  }

  /** A member acknowledged a pushed config (OK in-re ECHO). */
  onPushAcknowledged(): void {
    this.node.counters.inc('ctl_push_acked');
  }
}
