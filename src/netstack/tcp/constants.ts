/** TCP's tuning constants (Linux's values where Linux has one), in one place for every part of the connection. */

export const DEFAULT_RCVBUF = 4 * 1024 * 1024;
export const DEFAULT_SNDBUF = 4 * 1024 * 1024;
/** SO_RCVBUF / SO_SNDBUF are clamped to [MIN_BUF, MAX_BUF]. */
export const MIN_BUF = 2048;
export const MAX_BUF = 64 * 1024 * 1024;
/** Delayed-ACK timeout (Linux's TCP_ATO_MIN). */
export const DELACK_MS = 40;
/** TCP_CORK holds a partial segment at most this long (as Linux). */
export const CORK_MS = 200;
export const SYN_RETRIES = 6;
export const SYNACK_RETRIES = 5;
export const DATA_RETRIES = 15;
/** An orphaned FIN_WAIT_2 ends after this long (tcp_fin_timeout). */
export const FIN_WAIT2_TIMEOUT_MS = 60_000;
/** RFC 9293's default MSS, used until the peer says otherwise. */
export const DEFAULT_MSS = 536;
/** Replies to out-of-window pure ACKs are at most one per this interval (breaks ACK loops). */
export const OOW_ACK_INTERVAL_MS = 500;
/** RFC 7323's largest window-scale shift. */
export const MAX_WSCALE = 14;
/** Received segments shorter than this are copied out of the frame (so it is not kept alive by a few bytes). */
export const SMALL_SEGMENT_COPY = 512;
/** PAWS: a timestamp older than this (24 days) no longer rejects segments (RFC 7323 §5.5). */
export const PAWS_IDLE_MS = 24 * 24 * 3600 * 1000;

/** Window scale shift for a receive buffer: the smallest with buf >> shift <= 65535. */
export function wscaleFor(bufBytes: number): number {
  let s = 0;
  while (s < MAX_WSCALE && bufBytes / 2 ** s > 65535) s++;
  return s;
}
