/**
 * Decodes a plaintext, decompressed verb payload with the codec for its verb, including the
 * per-verb bodies of OK and ERROR. One entry point for the node's receive path and for tests
 * that run the decoder over whole captures.
 */
import { fail, ok, type Parsed } from './bytes.js';
import { parseConfigPushAck, parseEcho, type ConfigPushAck } from './echo.js';
import { parseExtFrame, parseFrame, parseOkExtFrame, type ExtFrame, type Frame } from './frame.js';
import { parseHello, parseOkHello, type Hello, type OkHello } from './hello.js';
import type { IdentityBytes } from './identity-bytes.js';
import {
  parseMulticastFrame,
  parseMulticastFrameErrorBody,
  parseOkMulticastFrame,
  type MulticastFrame,
  type MulticastFrameErrorBody,
  type OkMulticastFrame,
} from './multicast-frame.js';
import { parseMulticastGather, parseOkMulticastGather, type MulticastGather, type OkMulticastGather } from './multicast-gather.js';
import { parseMulticastLike, type MulticastLike } from './multicast-like.js';
import { parseNetworkConfigChunk, type NetworkConfigChunk } from './network-config-chunk.js';
import { parseNetworkConfigRequest, type NetworkConfigRequest } from './network-config-request.js';
import { parseNetworkCredentials, type NetworkCredentials } from './network-credentials.js';
import { ErrorCode, parseError, parseNetworkErrorBody, parseOk, type NetworkErrorBody } from './ok-error.js';
import { Verb } from './packet.js';
import { parsePushDirectPaths, type PushedPath } from './push-direct-paths.js';
import { parseRendezvous, type Rendezvous } from './rendezvous.js';
import { parseUserMessage, type UserMessage } from './user-message.js';
import { parseOkWhois, parseWhois } from './whois.js';

export type OkBody =
  | { verb: typeof Verb.HELLO; value: OkHello }
  | { verb: typeof Verb.WHOIS; value: IdentityBytes[] }
  | { verb: typeof Verb.NETWORK_CONFIG_REQUEST; value: NetworkConfigChunk }
  | { verb: typeof Verb.MULTICAST_GATHER; value: OkMulticastGather }
  | { verb: typeof Verb.MULTICAST_FRAME; value: OkMulticastFrame }
  | { verb: typeof Verb.EXT_FRAME; value: bigint }
  /** OK(ECHO): the echoed bytes; a 16-byte body may be a config push ack. */
  | { verb: typeof Verb.ECHO; value: Buffer; configAck: ConfigPushAck | null }
  /** OK(NETWORK_CONFIG), as the protocol documents the push ack (stock 1.14 uses OK(ECHO)). */
  | { verb: typeof Verb.NETWORK_CONFIG; value: ConfigPushAck }
  | { verb: number; value: Buffer };

export type ErrorBody =
  { kind: 'network'; value: NetworkErrorBody } | { kind: 'multicast'; value: MulticastFrameErrorBody } | { kind: 'raw'; value: Buffer };

export type DecodedPayload =
  | { verb: typeof Verb.NOP }
  | { verb: typeof Verb.HELLO; value: Hello }
  | { verb: typeof Verb.ERROR; inReVerb: number; inRePacketId: Buffer; code: number; body: ErrorBody }
  | { verb: typeof Verb.OK; inReVerb: number; inRePacketId: Buffer; body: OkBody }
  | { verb: typeof Verb.WHOIS; value: bigint[] }
  | { verb: typeof Verb.RENDEZVOUS; value: Rendezvous }
  | { verb: typeof Verb.FRAME; value: Frame }
  | { verb: typeof Verb.EXT_FRAME; value: ExtFrame }
  | { verb: typeof Verb.ECHO; value: Buffer }
  | { verb: typeof Verb.MULTICAST_LIKE; value: MulticastLike[] }
  | { verb: typeof Verb.NETWORK_CREDENTIALS; value: NetworkCredentials }
  | { verb: typeof Verb.NETWORK_CONFIG_REQUEST; value: NetworkConfigRequest }
  | { verb: typeof Verb.NETWORK_CONFIG; value: NetworkConfigChunk }
  | { verb: typeof Verb.MULTICAST_GATHER; value: MulticastGather }
  | { verb: typeof Verb.MULTICAST_FRAME; value: MulticastFrame }
  | { verb: typeof Verb.PUSH_DIRECT_PATHS; value: PushedPath[] }
  | { verb: typeof Verb.USER_MESSAGE; value: UserMessage };

function map<T, U>(p: Parsed<T>, f: (v: T) => U): Parsed<U> {
  return p.ok ? ok(f(p.value)) : p;
}

export function decodeOkBody(inReVerb: number, body: Buffer): Parsed<OkBody> {
  switch (inReVerb) {
    case Verb.HELLO:
      return map(parseOkHello(body), (value) => ({ verb: Verb.HELLO, value }));
    case Verb.WHOIS:
      return map(parseOkWhois(body), (value) => ({ verb: Verb.WHOIS, value }));
    case Verb.NETWORK_CONFIG_REQUEST:
      return map(parseNetworkConfigChunk(body), (value) => ({ verb: Verb.NETWORK_CONFIG_REQUEST, value }));
    case Verb.MULTICAST_GATHER:
      return map(parseOkMulticastGather(body), (value) => ({ verb: Verb.MULTICAST_GATHER, value }));
    case Verb.MULTICAST_FRAME:
      return map(parseOkMulticastFrame(body), (value) => ({ verb: Verb.MULTICAST_FRAME, value }));
    case Verb.EXT_FRAME:
      return map(parseOkExtFrame(body), (value) => ({ verb: Verb.EXT_FRAME, value }));
    case Verb.NETWORK_CONFIG:
      return map(parseConfigPushAck(body), (value) => ({ verb: Verb.NETWORK_CONFIG, value }));
    case Verb.ECHO: {
      const ack = body.length === 16 ? parseConfigPushAck(body) : null;
      return ok({ verb: Verb.ECHO, value: body, configAck: ack && ack.ok ? ack.value : null });
    }
    default:
      return ok({ verb: inReVerb, value: body });
  }
}

export function decodeErrorBody(inReVerb: number, code: number, body: Buffer): Parsed<ErrorBody> {
  if (
    code === ErrorCode.NEED_MEMBERSHIP_CERTIFICATE ||
    code === ErrorCode.NETWORK_ACCESS_DENIED ||
    code === ErrorCode.NETWORK_AUTHENTICATION_REQUIRED
  ) {
    if (inReVerb === Verb.MULTICAST_FRAME && body.length >= 18)
      return map(parseMulticastFrameErrorBody(body), (value) => ({ kind: 'multicast' as const, value }));
    return map(parseNetworkErrorBody(body), (value) => ({ kind: 'network' as const, value }));
  }
  if (code === ErrorCode.UNWANTED_MULTICAST)
    return map(parseMulticastFrameErrorBody(body), (value) => ({ kind: 'multicast' as const, value }));
  return ok({ kind: 'raw', value: body });
}

/** `verb` is the low 5 bits of the verb byte; `payload` the decrypted, decompressed bytes after it. */
export function decodeVerbPayload(verb: number, payload: Buffer): Parsed<DecodedPayload> {
  switch (verb) {
    case Verb.NOP:
      return ok({ verb: Verb.NOP });
    case Verb.HELLO:
      return map(parseHello(payload), (value) => ({ verb: Verb.HELLO, value }));
    case Verb.ERROR: {
      const e = parseError(payload);
      if (!e.ok) return e;
      const body = decodeErrorBody(e.value.inReVerb, e.value.code, e.value.body);
      if (!body.ok) return body;
      return ok({ verb: Verb.ERROR, inReVerb: e.value.inReVerb, inRePacketId: e.value.inRePacketId, code: e.value.code, body: body.value });
    }
    case Verb.OK: {
      const o = parseOk(payload);
      if (!o.ok) return o;
      const body = decodeOkBody(o.value.inReVerb, o.value.body);
      if (!body.ok) return body;
      return ok({ verb: Verb.OK, inReVerb: o.value.inReVerb, inRePacketId: o.value.inRePacketId, body: body.value });
    }
    case Verb.WHOIS:
      return map(parseWhois(payload), (value) => ({ verb: Verb.WHOIS, value }));
    case Verb.RENDEZVOUS:
      return map(parseRendezvous(payload), (value) => ({ verb: Verb.RENDEZVOUS, value }));
    case Verb.FRAME:
      return map(parseFrame(payload), (value) => ({ verb: Verb.FRAME, value }));
    case Verb.EXT_FRAME:
      return map(parseExtFrame(payload), (value) => ({ verb: Verb.EXT_FRAME, value }));
    case Verb.ECHO:
      return map(parseEcho(payload), (value) => ({ verb: Verb.ECHO, value }));
    case Verb.MULTICAST_LIKE:
      return map(parseMulticastLike(payload), (value) => ({ verb: Verb.MULTICAST_LIKE, value }));
    case Verb.NETWORK_CREDENTIALS:
      return map(parseNetworkCredentials(payload), (value) => ({ verb: Verb.NETWORK_CREDENTIALS, value }));
    case Verb.NETWORK_CONFIG_REQUEST:
      return map(parseNetworkConfigRequest(payload), (value) => ({ verb: Verb.NETWORK_CONFIG_REQUEST, value }));
    case Verb.NETWORK_CONFIG:
      return map(parseNetworkConfigChunk(payload), (value) => ({ verb: Verb.NETWORK_CONFIG, value }));
    case Verb.MULTICAST_GATHER:
      return map(parseMulticastGather(payload), (value) => ({ verb: Verb.MULTICAST_GATHER, value }));
    case Verb.MULTICAST_FRAME:
      return map(parseMulticastFrame(payload), (value) => ({ verb: Verb.MULTICAST_FRAME, value }));
    case Verb.PUSH_DIRECT_PATHS:
      return map(parsePushDirectPaths(payload), (value) => ({ verb: Verb.PUSH_DIRECT_PATHS, value }));
    case Verb.USER_MESSAGE:
      return map(parseUserMessage(payload), (value) => ({ verb: Verb.USER_MESSAGE, value }));
    default:
      return fail(`unsupported verb ${verb}`);
  }
}
