/**
 * `ztnc-cli ping <network ID> <address> [-c N] [--timeout MS] [-e <endpoint>]`: ICMP echo from
 * the daemon's stack on that network (POST /network/<nwid>/ping; with -e, the endpoint's:
 * POST /endpoint/<name>/network/<nwid>/ping), printed as the system ping prints its
 * replies and summary, or as the API's JSON with -j. Exits 1 when no reply came back, as ping does.
 */
import { parseIp } from '../netstack/index.js';
import { PING_DEFAULT_COUNT, PING_MAX_COUNT, PING_MAX_TIMEOUT_MS, type PingReport } from '../service/local-api.js';
import { answerError, apiRequest, checkNwid, CliError, type ConnectionSource } from './cli-client.js';
import { endpointPrefix } from './endpoint-commands.js';
import { jsonDump } from './zerotier-cli-format.js';

/** ICMP data bytes the daemon's pings carry (the stack's default, as ping's). */
const PING_DATA_BYTES = 56;
const ICMP_HEADER_BYTES = 8;

/** -c's value: 1 to PING_MAX_COUNT. */
export function parsePingCount(text: string): number {
  const n = /^\d{1,3}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > PING_MAX_COUNT)
    throw new CliError(`-c: ${JSON.stringify(text)} is not a count from 1 to ${PING_MAX_COUNT}`, 2);
  return n;
}

/** --timeout's value: milliseconds to wait for each reply, 1 to PING_MAX_TIMEOUT_MS. */
export function parsePingTimeout(text: string): number {
  const n = /^\d{1,6}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > PING_MAX_TIMEOUT_MS)
    throw new CliError(`--timeout: ${JSON.stringify(text)} is not a time in ms from 1 to ${PING_MAX_TIMEOUT_MS}`, 2);
  return n;
}

/** Milliseconds as ping prints them: about three significant digits. */
function ms(v: number): string {
  if (v < 1) return v.toFixed(3);
  if (v < 10) return v.toFixed(2);
  if (v < 100) return v.toFixed(1);
  return v.toFixed(0);
}

function isReport(v: unknown): v is PingReport {
  const r = v as PingReport;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof r.address === 'string' &&
    typeof r.transmitted === 'number' &&
    typeof r.received === 'number' &&
    Array.isArray(r.rttMs) &&
    Array.isArray(r.replies)
  );
}

/** The reply lines and the summary, as the system ping prints them. */
export function pingLines(report: PingReport): string[] {
  const out: string[] = [];
  for (const r of report.replies) {
    if ('rttMs' in r)
      out.push(
        `${PING_DATA_BYTES + ICMP_HEADER_BYTES} bytes from ${report.address}: icmp_seq=${r.seq} ttl=${r.ttl} time=${ms(r.rttMs)} ms`,
      );
    else out.push(`no reply from ${report.address}: icmp_seq=${r.seq} (${r.error})`);
  }
  const errors = report.replies.filter((r) => 'error' in r && r.error !== 'ETIMEDOUT').length;
  const loss = report.transmitted > 0 ? ((report.transmitted - report.received) * 100) / report.transmitted : 0;
  out.push('');
  out.push(`--- ${report.address} ping statistics ---`);
  out.push(
    `${report.transmitted} packets transmitted, ${report.received} received, ${errors > 0 ? `+${errors} errors, ` : ''}${Number(loss.toFixed(1))}% packet loss`,
  );
  if (report.rttMs.length > 0) {
    const min = Math.min(...report.rttMs);
    const max = Math.max(...report.rttMs);
    const avg = report.rttMs.reduce((a, b) => a + b, 0) / report.rttMs.length;
    const mdev = Math.sqrt(report.rttMs.reduce((a, b) => a + (b - avg) ** 2, 0) / report.rttMs.length);
    out.push(`rtt min/avg/max/mdev = ${min.toFixed(3)}/${avg.toFixed(3)}/${max.toFixed(3)}/${mdev.toFixed(3)} ms`);
  }
  return out;
}

export interface PingCliOptions {
  count?: number;
  timeoutMs?: number;
  /** `-e`: the endpoint whose stack sends (default: the daemon's own). */
  endpoint?: string;
  json: boolean;
}

export async function runPing(
  c: ConnectionSource,
  words: readonly string[],
  opts: PingCliOptions,
  out: (line: string) => void,
): Promise<void> {
  if (words.length !== 2) throw new CliError('usage: ztnc-cli ping <network ID> <address> [-c N] [--timeout MS] [-e <endpoint>]', 2);
  const prefix = endpointPrefix(opts.endpoint);
  const nwid = checkNwid(words[0]);
  const address = words[1]!;
  if (parseIp(address) === null) throw new CliError(`ping: ${JSON.stringify(address)} is not an IPv4 or IPv6 address`, 2);
  const body = { address, count: opts.count ?? PING_DEFAULT_COUNT, ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) };
  const a = await apiRequest(c, 'POST', `${prefix}/network/${nwid}/ping`, body);
  if (a.status !== 200) throw new CliError(`ping: ${answerError(a)} (HTTP ${a.status})`);
  if (!isReport(a.body)) throw new CliError('ping: the daemon answered without a ping report');
  const report = a.body;
  if (opts.json) out(jsonDump(report));
  else {
    const from = prefix ? ` from endpoint ${opts.endpoint}` : '';
    [`PING ${report.address} on ${nwid}${from}: ${PING_DATA_BYTES} data bytes`, ...pingLines(report)].forEach((l) => out(l));
  }
  if (report.received === 0) throw new CliError(`ping: no reply from ${report.address}`);
}
