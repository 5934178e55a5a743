/**
 * native/intercept/proto.h and its TypeScript mirror (src/netcon/protocol.ts, socket-path.ts) must
 * agree: every #define and enum constant of proto.h has a counterpart with the same value, as the
 * C compiler computes it (a program including proto.h prints them), and every op of `Op` is in
 * proto.h. A constant added on one side only fails here.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as protocol from '../../src/netcon/protocol.js';
import {
  DEFAULT_ENDPOINT,
  DEFAULT_HOME_DIR,
  DEFAULT_SOCKET_DIR_PREFIX,
  ENDPOINT_NAME_MAX,
  ENDPOINT_NAME_PATTERN,
  ENDPOINTS_DIR,
  HOME_SOCKET_DIR,
  RUNTIME_SOCKET_DIR,
  SOCKET_SUFFIX,
} from '../../src/netcon/socket-path.js';
import { needPrograms, requireOrSkip } from '../support/requirements.js';
import { ROOT, tempDir } from './harness.js';

const PROTO_H = join(ROOT, 'native', 'intercept', 'proto.h');

/** proto.h name → the TypeScript value it mirrors. */
const MIRROR: Record<string, number | string> = {
  ZT_PROTO_VERSION: protocol.PROTO_VERSION,
  ZT_MAX_FRAME: protocol.MAX_FRAME,
  ZT_REQ_HEADER: protocol.REQUEST_HEADER,
  ZT_RESP_HEADER: protocol.RESPONSE_HEADER,
  ZT_MAX_REQ_PAYLOAD: protocol.MAX_REQUEST_PAYLOAD,
  ZT_MAX_RESP_PAYLOAD: protocol.MAX_RESPONSE_PAYLOAD,
  ZT_SOCKADDR: protocol.SOCKADDR_SIZE,
  ...Object.fromEntries(Object.entries(protocol.Op).map(([name, v]) => [`ZT_OP_${name}`, v])),
  ZT_F_WAIT: protocol.FLAG_WAIT,
  ZT_F_FILLED: protocol.FLAG_FILLED,
  ZT_F_UNSPEC: protocol.FLAG_UNSPEC,
  ZT_F_FAST: protocol.FLAG_FAST,
  ZT_RF_PENDING: protocol.RFLAG_PENDING,
  ZT_RF_FILLER: protocol.RFLAG_FILLER,
  ZT_RF_KERNEL: protocol.RFLAG_KERNEL,
  ZT_RF_SHUT_WR: protocol.RFLAG_SHUT_WR,
  ZT_CONNECT_FILLER_MAX: protocol.CONNECT_FILLER_MAX,
  ...Object.fromEntries(Object.entries(protocol.Kind).map(([name, v]) => [`ZT_KIND_${name}`, v])),
  ZT_DGRAM_HEADER: protocol.DGRAM_HEADER,
  ...Object.fromEntries(Object.entries(protocol.DgramType).map(([name, v]) => [`ZT_DG_${name}`, v])),
  ...Object.fromEntries(Object.entries(protocol.DGF).map(([name, v]) => [`ZT_DGF_${name}`, v])),
  ZT_ACCEPT_RECORD: protocol.ACCEPT_RECORD_SIZE,
  ZT_ACCEPT_MAGIC: protocol.ACCEPT_MAGIC,
  ZT_HOME_SOCKET_DIR: HOME_SOCKET_DIR,
  ZT_RUNTIME_SOCKET_DIR: RUNTIME_SOCKET_DIR,
  ZT_DEFAULT_DIR_PREFIX: DEFAULT_SOCKET_DIR_PREFIX,
  ZT_SOCKET_SUFFIX: SOCKET_SUFFIX,
  ZT_ENDPOINTS_DIR: ENDPOINTS_DIR,
  ZT_DEFAULT_ENDPOINT: DEFAULT_ENDPOINT,
  ZT_DEFAULT_HOME_DIR: DEFAULT_HOME_DIR,
  ZT_ENDPOINT_NAME_MAX: ENDPOINT_NAME_MAX,
};

/** The constants proto.h declares: #define names (not the include guard) and enum members. */
function protoNames(text: string): string[] {
  const noComments = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  const defines = [...noComments.matchAll(/^\s*#define\s+(ZT_\w+)\s+\S/gm)].map((m) => m[1]!);
  const enums = [...noComments.matchAll(/enum\s+\w+\s*\{([^}]*)\}/g)].flatMap((m) =>
    m[1]!
      .split(',')
      .map((e) => e.trim().split(/\s|=/)[0]!)
      .filter((n) => n.startsWith('ZT_')),
  );
  return [...defines, ...enums];
}

/** The values of `names` as the C compiler sees them. */
function compiledValues(names: string[], dir: string): Record<string, number | string> {
  const src = join(dir, 'values.c');
  const bin = join(dir, 'values');
  writeFileSync(
    src,
    [
      '#include <stdio.h>',
      `#include "${PROTO_H}"`,
      'static void s(const char *n, const char *v) { printf("%s\\ts\\t%s\\n", n, v); }',
      'static void i(const char *n, long long v) { printf("%s\\ti\\t%lld\\n", n, v); }',
      '#define P(x) _Generic((x), char *: s, const char *: s, default: i)(#x, x)',
      'int main(void) {',
      ...names.map((n) => `  P(${n});`),
      '  return 0;',
      '}',
    ].join('\n'),
  );
  execFileSync('cc', ['-Wall', '-Werror', '-o', bin, src]);
  const out: Record<string, number | string> = {};
  for (const line of execFileSync(bin, { encoding: 'utf8' }).trim().split('\n')) {
    const [name, kind, value] = line.split('\t');
    out[name!] = kind === 's' ? value! : Number(value);
  }
  return out;
}

describe.runIf(requireOrSkip(needPrograms('cc'), 'proto.h mirror'))('proto.h ↔ protocol.ts', () => {
  const tmp = tempDir('ztnc-proto-');
  afterAll(() => tmp.remove());
  const names = protoNames(readFileSync(PROTO_H, 'utf8'));

  it('every constant of proto.h has a TypeScript counterpart, and every one listed is in proto.h', () => {
    expect([...names].sort()).toEqual(Object.keys(MIRROR).sort());
  });

  it('each constant has the same value on both sides', () => {
    expect(compiledValues(names, tmp.dir)).toEqual(MIRROR);
  });

  it("the endpoint name pattern's length bound is ZT_ENDPOINT_NAME_MAX", () => {
    expect(ENDPOINT_NAME_PATTERN.test('a'.repeat(ENDPOINT_NAME_MAX))).toBe(true);
    expect(ENDPOINT_NAME_PATTERN.test('a'.repeat(ENDPOINT_NAME_MAX + 1))).toBe(false);
  });

  it('the name scan sees #defines and enum members, and not the include guard', () => {
    expect(protoNames('#ifndef ZTNC_X\n#define ZTNC_X\n#define ZT_A 1 /* c */\nenum e { ZT_B = 2, ZT_C = 3 };\n')).toEqual([
      'ZT_A',
      'ZT_B',
      'ZT_C',
    ]);
  });
});
