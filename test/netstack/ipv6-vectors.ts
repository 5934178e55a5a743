/**
 * IPv6 test vectors: frames captured from the Linux kernel (ipv6-kernel-frames.txt says how) and
 * `v6()`, IPv6 text to the stack's address form.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseIpv6Addr, type Ipv6Addr } from '../../src/netstack/addr.js';

export const v6 = (text: string): Ipv6Addr => {
  const a = parseIpv6Addr(text);
  if (a === null) throw new Error(`bad IPv6 address ${text}`);
  return a;
};

const framesFile = join(import.meta.dirname, 'ipv6-kernel-frames.txt');
let kernelFrames: Map<string, Buffer> | null = null;

/** A frame captured from the Linux kernel (see ipv6-kernel-frames.txt). */
export function kernelFrame(name: string): Buffer {
  kernelFrames ??= new Map(
    readFileSync(framesFile, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0 && !l.startsWith('#'))
      .map((l) => {
        const [n, hex] = l.split(' ');
        return [n!, Buffer.from(hex!, 'hex')] as const;
      }),
  );
  const f = kernelFrames.get(name);
  if (!f) throw new Error(`no kernel frame ${name}`);
  return Buffer.from(f);
}
