/** The netstack's public API: what other modules may import, and that they import nothing else. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as netstack from '../../src/netstack/index.js';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

describe('netstack public API', () => {
  it('every other module of src/ imports the netstack only through its index.ts', () => {
    const deep: string[] = [];
    for (const dir of readdirSync(SRC).filter((d) => d !== 'netstack' && !d.endsWith('.ts'))) {
      for (const file of sources(join(SRC, dir))) {
        for (const m of readFileSync(file, 'utf8').matchAll(/from '((?:\.\.\/)+netstack\/[^']*)'/g)) {
          if (!m[1]!.endsWith('netstack/index.js')) deep.push(`${file.slice(SRC.length + 1)}: ${m[1]}`);
        }
      }
    }
    expect(deep).toEqual([]);
  });

  it('exports the typed loss state and the figures TCP_INFO needs', () => {
    expect(netstack.TcpLossState).toEqual({ Open: 0, Recovery: 1, Loss: 2 });
    expect(netstack.DELACK_MS).toBe(40);
    expect(netstack.DUP_THRESH).toBe(3);
    expect(netstack.INFINITE_SSTHRESH).toBe(0x7fffffff);
    expect(netstack.DEFAULT_TTL).toBe(64);
  });
});
