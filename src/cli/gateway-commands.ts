/**
 * ztnc-cli's gateway commands (issue 19), over the daemon's `/gateway` routes:
 *   gateway enable|disable <nwid>     this daemon is (no longer) the network's gateway member
 *     [--allow-host-loopback|--deny-host-loopback] [--host-loopback-alias <address>|off]
 *                                     with these outbound options for the network
 *   gateway status <nwid>             its role and published ports
 *   publish <nwid> tcp|udp [host-addr:]host-port <member-ip-or-name>:port
 *   publish list [<nwid>]             published ports with their counters
 *   unpublish <nwid> tcp|udp [host-addr:]host-port
 * Arguments are checked before the daemon is asked, so a typo is named as such.
 */
import { parseHostLoopbackAlias } from '../gateway/outbound.js';
import { parseHostEnd, parseProtocol, parseTarget, PublishSpecError } from '../gateway/publish-spec.js';
import { checkNwid, CliError, okAnswer, type ApiAnswer, type ConnectionSource } from './cli-client.js';
import { jsonDump } from './zerotier-cli-format.js';

export const GATEWAY_COMMANDS = ['gateway', 'publish', 'unpublish'] as const;

const USAGE = {
  gateway: 'gateway enable|disable|status <network ID>',
  publish: 'publish <network ID> tcp|udp [host-addr:]host-port <member-ip-or-name>:port | publish list [<network ID>]',
  unpublish: 'unpublish <network ID> tcp|udp [host-addr:]host-port',
};

interface PublishedView {
  nwid: string;
  protocol: string;
  hostAddr: string;
  hostPort: number;
  target: string;
  targetPort: number;
  stats: { connections: number; active: number; preserved: number; snat: number; failed: number; bytesIn: number; bytesOut: number };
}

function usage(command: keyof typeof USAGE): never {
  throw new CliError(`usage: ztnc-cli ${USAGE[command]}`, 2);
}

function checked<T>(command: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof PublishSpecError) throw new CliError(`${command}: ${e.message}`, 2);
    throw e;
  }
}

const ok = (c: ConnectionSource, command: string, method: string, path: string, body?: unknown): Promise<ApiAnswer> =>
  okAnswer(c, command, method, path, body, 'this ztnc-service has no gateway (upgrade it)');

function publishedLine(p: PublishedView): string {
  const s = p.stats;
  return `${p.nwid} ${p.protocol} ${p.hostAddr}:${p.hostPort} -> ${p.target}:${p.targetPort} connections=${s.connections} active=${s.active} preserved=${s.preserved} snat=${s.snat} failed=${s.failed} in=${s.bytesIn} out=${s.bytesOut}`;
}

/** `gateway enable`'s outbound flags. */
export interface GatewayFlags {
  allowHostLoopback?: boolean;
  hostLoopbackAlias?: string;
}

function outboundBody(flags: GatewayFlags): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (flags.allowHostLoopback !== undefined) body.allowHostLoopback = flags.allowHostLoopback;
  const alias = flags.hostLoopbackAlias;
  if (alias !== undefined) {
    if (alias === 'off' || alias === 'none') body.hostLoopbackAlias = null;
    else {
      checked('gateway', () => {
        try {
          parseHostLoopbackAlias(alias);
        } catch (e) {
          throw new PublishSpecError(`--host-loopback-alias: ${(e as Error).message}`);
        }
      });
      body.hostLoopbackAlias = alias;
    }
  }
  return body;
}

/** Runs one gateway command (`words` from the command on); returns the lines to print. */
export async function runGatewayCommand(
  c: ConnectionSource,
  words: readonly string[],
  json: boolean,
  flags: GatewayFlags = {},
): Promise<string[]> {
  const [command, ...rest] = words as [string, ...string[]];
  if (command === 'gateway') {
    const [verb, nwidText] = rest;
    if (rest.length !== 2 || (verb !== 'enable' && verb !== 'disable' && verb !== 'status')) usage('gateway');
    const nwid = checkNwid(nwidText);
    const outbound = outboundBody(flags);
    if (verb !== 'enable' && Object.keys(outbound).length > 0)
      throw new CliError('gateway: --allow-host-loopback, --deny-host-loopback and --host-loopback-alias go with gateway enable', 2);
    const a =
      verb === 'status'
        ? await ok(c, 'gateway', 'GET', `/gateway/${nwid}`)
        : await ok(c, 'gateway', 'POST', `/gateway/${nwid}`, { enabled: verb === 'enable', ...outbound });
    if (json) return [jsonDump(a.body)];
    const b = a.body as { enabled: boolean; published: PublishedView[] };
    if (verb !== 'status') return [`200 gateway ${verb} OK`];
    return [`${nwid} gateway ${b.enabled ? 'enabled' : 'disabled'}`, ...b.published.map(publishedLine)];
  }
  if (command === 'publish' && rest[0] === 'list') {
    if (rest.length > 2) usage('publish');
    const path = rest[1] === undefined ? '/gateway' : `/gateway/${checkNwid(rest[1])}/publish`;
    const a = await ok(c, 'publish list', 'GET', path);
    return json ? [jsonDump(a.body)] : (a.body as PublishedView[]).map(publishedLine);
  }
  if (command === 'publish') {
    if (rest.length !== 4) usage('publish');
    const nwid = checkNwid(rest[0]);
    const body = checked('publish', () => {
      const protocol = parseProtocol(rest[1]);
      const host = parseHostEnd(rest[2]!);
      const t = parseTarget(rest[3]!);
      return { protocol, ...host, ...t };
    });
    const a = await ok(c, 'publish', 'POST', `/gateway/${nwid}/publish`, body);
    return json ? [jsonDump(a.body)] : [`200 publish OK ${publishedLine(a.body as PublishedView)}`];
  }
  if (rest.length !== 3) usage('unpublish');
  const nwid = checkNwid(rest[0]);
  const { protocol, host } = checked('unpublish', () => ({ protocol: parseProtocol(rest[1]), host: parseHostEnd(rest[2]!) }));
  const explicitAddr = rest[2]!.includes(':');
  const q = explicitAddr ? `?hostAddr=${encodeURIComponent(host.hostAddr)}` : '';
  const a = await ok(c, 'unpublish', 'DELETE', `/gateway/${nwid}/publish/${protocol}/${host.hostPort}${q}`);
  return json ? [jsonDump(a.body)] : [`200 unpublish OK`];
}
