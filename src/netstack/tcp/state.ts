/**
 * Named predicates over the RFC 9293 states, so the rest of TCP asks "may this connection send
 * data?" instead of listing states inline (as gVisor's EndpointState methods).
 */
import type { TcpStateName } from '../socket-api.js';

/** Synchronized states in which queued data and a FIN may be sent (or resent). */
export function canSendData(s: TcpStateName): boolean {
  return s === 'ESTABLISHED' || s === 'CLOSE_WAIT' || s === 'FIN_WAIT_1' || s === 'CLOSING' || s === 'LAST_ACK';
}

/** States in which the peer's data is still taken in (no FIN from it yet). */
export function receivesData(s: TcpStateName): boolean {
  return s === 'ESTABLISHED' || s === 'FIN_WAIT_1' || s === 'FIN_WAIT_2';
}

/** States in which the application may still queue data (and a write sends at once). */
export function acceptsWrites(s: TcpStateName): boolean {
  return s === 'ESTABLISHED' || s === 'CLOSE_WAIT';
}

/** The handshake is under way. */
export function isHandshaking(s: TcpStateName): boolean {
  return s === 'SYN_SENT' || s === 'SYN_RECEIVED';
}

/** States without per-connection timers or sending: nothing to arm, nothing to fire. */
export function isQuiet(s: TcpStateName): boolean {
  return s === 'CLOSED' || s === 'TIME_WAIT' || s === 'LISTEN';
}

/** States in which the peer knows the connection, so an abort sends it a RST. */
export function peerKnowsConnection(s: TcpStateName): boolean {
  return (
    s === 'ESTABLISHED' ||
    s === 'CLOSE_WAIT' ||
    s === 'FIN_WAIT_1' ||
    s === 'FIN_WAIT_2' ||
    s === 'SYN_RECEIVED' ||
    s === 'CLOSING' ||
    s === 'LAST_ACK'
  );
}

/** States in which keepalive probes are sent when the connection is idle. */
export function keepsAlive(s: TcpStateName): boolean {
  return s === 'ESTABLISHED' || s === 'CLOSE_WAIT' || s === 'FIN_WAIT_2';
}

/** No connection to speak of: a socket not yet connected, or a listener. */
export function isUnconnected(s: TcpStateName): boolean {
  return s === 'CLOSED' || s === 'LISTEN';
}

/** Both FINs are sent (ours maybe not yet acknowledged): a RST now merely ends it, with no error to report. */
export function finsExchanged(s: TcpStateName): boolean {
  return s === 'CLOSING' || s === 'LAST_ACK' || s === 'TIME_WAIT';
}
