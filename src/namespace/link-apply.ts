/**
 * Runs iproute2 inside the current network namespace: what ns-agent.ts (ztnc-run) and cni-agent.ts
 * (ztnc-cni) use to apply link-config.ts's commands to their TAP.
 */
import { spawnSync } from 'node:child_process';
import { linkCommands, type LinkState } from './link-config.js';

/** Runs `ip args…`; returns the error text, or null. */
export function ip(args: string[]): string | null {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.error) return `ip: ${r.error.message}`;
  if (r.status !== 0) return `ip ${args.join(' ')}: ${(r.stderr || '').trim()}`;
  return null;
}

/** Takes interface `ifname` from `prev` to `next`; returns the failures (each one also goes on). */
export function applyLink(ifname: string, prev: LinkState | null, next: LinkState): string[] {
  const errors: string[] = [];
  for (const cmd of linkCommands(ifname, prev, next)) {
    const err = ip(cmd);
    if (err) errors.push(err);
  }
  return errors;
}
