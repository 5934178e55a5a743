/**
 * Stock ZeroTier One 1.14's label values (`node/Metrics.cpp`): the `packet_type` of each verb
 * and the `error_type` of each ERROR code, so dashboards made for stock read ztnc's series.
 */
import { ErrorCode, Verb } from '../../node/index.js';

/** Verbs with stock's `packet_type` names, in stock's order. */
export const STOCK_PACKET_TYPES: ReadonlyArray<readonly [number, string]> = [
  [Verb.NOP, 'nop'],
  [Verb.ERROR, 'error'],
  [Verb.ACK, 'ack'],
  [Verb.QOS_MEASUREMENT, 'qos'],
  [Verb.HELLO, 'hello'],
  [Verb.OK, 'ok'],
  [Verb.WHOIS, 'whois'],
  [Verb.RENDEZVOUS, 'rendezvous'],
  [Verb.FRAME, 'frame'],
  [Verb.EXT_FRAME, 'ext_frame'],
  [Verb.ECHO, 'echo'],
  [Verb.MULTICAST_LIKE, 'multicast_like'],
  [Verb.NETWORK_CREDENTIALS, 'network_credentials'],
  [Verb.NETWORK_CONFIG_REQUEST, 'network_config_request'],
  [Verb.NETWORK_CONFIG, 'network_config'],
  [Verb.MULTICAST_GATHER, 'multicast_gather'],
  [Verb.MULTICAST_FRAME, 'multicast_frame'],
  [Verb.PUSH_DIRECT_PATHS, 'push_direct_paths'],
  [Verb.USER_MESSAGE, 'user_message'],
  [Verb.REMOTE_TRACE, 'remote_trace'],
  [Verb.PATH_NEGOTIATION_REQUEST, 'path_negotiation_request'],
];

/**
 * ERROR codes with stock's `error_type` names (stock lists these; `internal_server_error` has no
 * code in the 1.x protocol and stays 0), then the two codes stock does not list.
 */
export const STOCK_ERROR_TYPES: ReadonlyArray<readonly [number | null, string]> = [
  [ErrorCode.OBJ_NOT_FOUND, 'obj_not_found'],
  [ErrorCode.UNSUPPORTED_OPERATION, 'unsupported_operation'],
  [ErrorCode.IDENTITY_COLLISION, 'identity_collision'],
  [ErrorCode.NEED_MEMBERSHIP_CERTIFICATE, 'need_membership_certificate'],
  [ErrorCode.NETWORK_ACCESS_DENIED, 'network_access_denied'],
  [ErrorCode.UNWANTED_MULTICAST, 'unwanted_multicast'],
  [ErrorCode.NETWORK_AUTHENTICATION_REQUIRED, 'authentication_required'],
  [null, 'internal_server_error'],
  [ErrorCode.INVALID_REQUEST, 'invalid_request'],
  [ErrorCode.BAD_PROTOCOL_VERSION, 'bad_protocol_version'],
];

/** Stock's `zt_peer_latency` buckets, in milliseconds (`node/Peer.cpp`). */
export const PEER_LATENCY_BUCKETS_MS = [1, 3, 6, 10, 30, 60, 100, 300, 600, 1000];

/** How often each peer's latency is observed: stock's ping check interval (ZT_PING_CHECK_INVERVAL). */
export const PEER_LATENCY_PERIOD_MS = 5_000;
