/**
 * Environment requirements of tests that need root, network namespaces, TAP devices or installed
 * programs. Where a requirement is missing the suite is skipped with the reason printed — except
 * under CI=true, where a missing requirement is a failure, so CI can never pass by skipping.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { it } from 'vitest';

export interface Requirement {
  ok: boolean;
  reason: string;
}

function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Root plus `ip` (iproute2) and /dev/net/tun: what network-namespace and TAP tests need. */
export function needRootNetns(): Requirement {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'needs root (network namespaces and TAP devices)' };
  if (!have('ip')) return { ok: false, reason: 'needs iproute2 (`ip`)' };
  if (!existsSync('/dev/net/tun')) return { ok: false, reason: 'needs /dev/net/tun' };
  return { ok: true, reason: '' };
}

/** Every named program on PATH. */
export function needPrograms(...names: string[]): Requirement {
  const missing = names.filter((n) => !have(n));
  return missing.length === 0 ? { ok: true, reason: '' } : { ok: false, reason: `needs ${missing.join(', ')} installed` };
}

export function combine(...reqs: Requirement[]): Requirement {
  const failed = reqs.filter((r) => !r.ok);
  return failed.length === 0 ? { ok: true, reason: '' } : { ok: false, reason: failed.map((r) => r.reason).join('; ') };
}

/**
 * Returns true when the suite may run. Otherwise prints why it is skipped, or — under CI=true —
 * registers a failing test naming the missing requirement. Use as `describe.runIf(requireOrSkip(r, 'name'))`.
 */
export function requireOrSkip(req: Requirement, suite: string): boolean {
  if (req.ok) return true;
  if (process.env.CI === 'true') {
    it(`${suite}: requirement met`, () => {
      throw new Error(`${suite} cannot run in CI: ${req.reason}`);
    });
  } else {
    process.stderr.write(`[skip] ${suite}: ${req.reason}\n`);
  }
  return false;
}

/**
 * For suites that need something ztnc cannot install (a stock zerotier-one binary): true when the
 * suite may run, else prints why it is skipped — under CI=true too, since CI cannot provide it.
 */
export function optionalSuite(why: string | null, suite: string): boolean {
  if (why === null) return true;
  process.stderr.write(`[skip] ${suite} (optional): ${why}\n`);
  return false;
}
