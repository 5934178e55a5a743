/**
 * A published port: what `ztnc-cli publish <nwid> tcp|udp [host-addr:]host-port <member>:port`
 * and `POST /gateway/<nwid>/publish` describe, parsed and checked. Every problem is one message
 * naming the field, for the CLI and the API to answer with.
 */
import { isIP } from 'node:net';
import { parseIpv4 } from '../netstack/index.js';

export type PublishProtocol = 'tcp' | 'udp';

export interface PublishSpec {
  protocol: PublishProtocol;
  /** The host address the gateway listens on (0.0.0.0: every IPv4 address of the host). */
  hostAddr: string;
  hostPort: number;
  /** The member it forwards to: an IPv4 address on the network, or a member's name. */
  target: string;
  targetPort: number;
}

/** A name a member may have (RFC 1123 labels, dots allowed). */
const NAME_RE = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

export class PublishSpecError extends Error {}

function port(text: string, what: string): number {
  if (!/^[0-9]{1,5}$/.test(text)) throw new PublishSpecError(`${what}: ${JSON.stringify(text)} is not a port number (1-65535)`);
  const n = Number(text);
  if (n < 1 || n > 65535) throw new PublishSpecError(`${what}: ${n} is not a port number (1-65535)`);
  return n;
}

export function parseProtocol(text: unknown): PublishProtocol {
  if (text === 'tcp' || text === 'udp') return text;
  throw new PublishSpecError(`protocol: ${JSON.stringify(text)} is neither tcp nor udp`);
}

/** `[host-addr:]host-port` (IPv4 host address for now). */
export function parseHostEnd(text: string): { hostAddr: string; hostPort: number } {
  const colon = text.lastIndexOf(':');
  if (colon < 0) return { hostAddr: '0.0.0.0', hostPort: port(text, 'host port') };
  const addr = text.slice(0, colon);
  if (isIP(addr) !== 4 || parseIpv4(addr) === null)
    throw new PublishSpecError(`host address: ${JSON.stringify(addr)} is not an IPv4 address of this host`);
  return { hostAddr: addr, hostPort: port(text.slice(colon + 1), 'host port') };
}

/** `<member-ip-or-name>:port`. */
export function parseTarget(text: string): { target: string; targetPort: number } {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) throw new PublishSpecError(`target: ${JSON.stringify(text)} must be <member address or name>:<port>`);
  const target = text.slice(0, colon);
  if (isIP(target) === 0 && !NAME_RE.test(target))
    throw new PublishSpecError(`target: ${JSON.stringify(target)} is neither an IPv4 address nor a member name`);
  if (isIP(target) === 6) throw new PublishSpecError(`target: IPv6 members are not published yet (${target})`);
  return { target, targetPort: port(text.slice(colon + 1), 'target port') };
}

/** A spec from the API's JSON body (`{ protocol, hostAddr?, hostPort, target, targetPort }`), checked as the CLI's words are. */
export function specFromJson(body: unknown): PublishSpec {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new PublishSpecError('the body must be a JSON object');
  const b = body as Record<string, unknown>;
  const protocol = parseProtocol(b.protocol);
  const hostAddr = b.hostAddr === undefined ? '0.0.0.0' : b.hostAddr;
  if (typeof hostAddr !== 'string') throw new PublishSpecError('hostAddr: must be a string');
  if (typeof b.hostPort !== 'number' && typeof b.hostPort !== 'string') throw new PublishSpecError('hostPort: missing');
  if (typeof b.target !== 'string') throw new PublishSpecError('target: missing');
  if (typeof b.targetPort !== 'number' && typeof b.targetPort !== 'string') throw new PublishSpecError('targetPort: missing');
  const host = parseHostEnd(`${hostAddr}:${String(b.hostPort)}`);
  const t = parseTarget(`${b.target}:${String(b.targetPort)}`);
  return { protocol, ...host, ...t };
}

/** How a spec is written: `tcp 10.0.0.1:8080 -> 10.147.17.5:80`. */
export function describeSpec(s: PublishSpec): string {
  return `${s.protocol} ${s.hostAddr}:${s.hostPort} -> ${s.target}:${s.targetPort}`;
}

/** Two specs that would listen on the same host socket. */
export function sameHostEnd(a: PublishSpec, b: PublishSpec): boolean {
  return (
    a.protocol === b.protocol &&
    a.hostPort === b.hostPort &&
    (a.hostAddr === b.hostAddr || a.hostAddr === '0.0.0.0' || b.hostAddr === '0.0.0.0')
  );
}
