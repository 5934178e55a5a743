/**
 * Packets by verb each way, and ERRORs sent by error code: what stock ZeroTier One's `zt_packet`
 * and `zt_packet_error` count (`node/Metrics.cpp`). Plain arrays indexed by the verb or code, so
 * counting a packet is one increment with no lookup; the daemon's /metrics reads them when scraped.
 */
import { VERB_MASK } from './wire/packet.js';

export class PacketCounts {
  /** Authenticated packets received from known peers, by verb. */
  readonly rxByVerb = new Float64Array(VERB_MASK + 1);
  /** Packets sent to peers (counted once, however many paths or fragments carried them), by verb. */
  readonly txByVerb = new Float64Array(VERB_MASK + 1);
  /** ERROR packets sent, by error code (received ones are the node's `rx_error_code_<n>` counters). */
  readonly txErrorsByCode = new Float64Array(256);
}

/** Offset of the error code in an ERROR payload: in-re verb (1 byte), in-re packet id (8 bytes). */
export const ERROR_PAYLOAD_CODE_OFFSET = 9;
