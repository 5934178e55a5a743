/**
 * The namespace control socket's messages (`<home>/namespace.sock`, see namespace-server.ts):
 * newline-terminated JSON over a Unix stream socket. The client's first message is `attach`, sent
 * with the TAP fd as SCM_RIGHTS; the daemon answers `network` (the network's local-API JSON, as
 * GET /network/<nwid> shows it) at once and again whenever it changes, or `error` before closing.
 */

import { stringifyJson } from './http/json-text.js';

export const NAMESPACE_SOCKET = 'namespace.sock';
/** Longest message accepted (a network's JSON is a few KiB). */
export const MAX_LINE = 256 * 1024;

export interface AttachMessage {
  t: 'attach';
  nwid: string;
  /** The TAP's name inside its namespace. */
  ifname: string;
  /** Stay joined when this connection ends (default: leave the network). */
  stay?: boolean;
  /** The daemon's endpoint whose network this is (default: `default`, the daemon's own identity). */
  endpoint?: string;
}

export interface NetworkMessage {
  t: 'network';
  network: Record<string, unknown>;
}

export interface ErrorMessage {
  t: 'error';
  message: string;
}

export type NamespaceMessage = AttachMessage | NetworkMessage | ErrorMessage;

export function encodeMessage(m: NamespaceMessage): Buffer {
  return Buffer.from(`${stringifyJson(m)}\n`);
}

/** Splits a byte stream into messages; throws on a line that is too long or not a message. */
export class LineReader {
  private buf = '';

  push(data: Buffer): NamespaceMessage[] {
    this.buf += data.toString('utf8');
    const out: NamespaceMessage[] = [];
    for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      out.push(parseMessage(line));
    }
    if (this.buf.length > MAX_LINE) throw new Error(`message longer than ${MAX_LINE} bytes`);
    return out;
  }
}

function parseMessage(line: string): NamespaceMessage {
  let m: unknown;
  try {
    m = JSON.parse(line);
  } catch {
    throw new Error('message is not JSON');
  }
  const t = (m as { t?: unknown } | null)?.t;
  if (typeof m !== 'object' || m === null || (t !== 'attach' && t !== 'network' && t !== 'error')) throw new Error('unknown message');
  const msg = m as NamespaceMessage;
  if (msg.t === 'attach' && (typeof msg.nwid !== 'string' || typeof msg.ifname !== 'string'))
    throw new Error('attach needs nwid and ifname');
  if (msg.t === 'attach' && msg.endpoint !== undefined && typeof msg.endpoint !== 'string')
    throw new Error('attach: endpoint must be a name');
  return msg;
}
