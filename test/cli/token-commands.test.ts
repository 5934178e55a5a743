/**
 * `ztnc-cli net token …` and `join --token`: the option parsing and the bodies sent (the commands
 * themselves run against a real controller in test/service/join-token.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../src/cli/cli-args.js';
import { CliError } from '../../src/cli/cli-client.js';
import { expiryField, parseTags, tokenCreateBody } from '../../src/cli/token-commands.js';

describe('net token create options', () => {
  it('turns --uses, --expires, --tags and --ip into the API body', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(tokenCreateBody({ tags: [], ips: [] }, now)).toEqual({});
    expect(
      tokenCreateBody({ uses: 0, expires: '12h', tags: ['1000=1,1001=0x20'], ips: ['10.1.2.3', '10.1.2.4,fd00::5'], name: 'x' }, now),
    ).toEqual({
      uses: 0,
      expiresIn: 43_200,
      tags: [
        [1000, 1],
        [1001, 32],
      ],
      ipAssignments: ['10.1.2.3', '10.1.2.4', 'fd00::5'],
      name: 'x',
    });
    expect(expiryField('3600', now)).toEqual({ expiresIn: 3600 });
    expect(expiryField('7d', now)).toEqual({ expiresIn: 604_800 });
    expect(expiryField('2026-02-01T00:00:00Z', now)).toEqual({ expiresAt: Date.UTC(2026, 1, 1) });
    expect(() => expiryField('2025-01-01', now)).toThrow(/in the past/);
    expect(() => expiryField('soon', now)).toThrow(/--expires/);
    expect(() => expiryField('0', now)).toThrow(/future/);
    expect(() => parseTags(['1000'])).toThrow(/<tag id>=<value>/);
    expect(() => parseTags(['1=4294967296'])).toThrow(CliError);
  });

  it('parses the options; --token is the join token after join and the auth token elsewhere', () => {
    const a = parseCliArgs([
      '-D',
      'h',
      'net',
      'token',
      'create',
      '8056c2e21c000001',
      '--uses',
      '5',
      '--expires',
      '1h',
      '--tags',
      '1=2',
      '--ip',
      '10.0.0.1',
    ]);
    expect(a).toMatchObject({
      uses: 5,
      expires: '1h',
      tags: ['1=2'],
      ips: ['10.0.0.1'],
      words: ['net', 'token', 'create', '8056c2e21c000001'],
    });
    expect(() => parseCliArgs(['net', 'token', 'create', 'x', '--uses', '-1'])).toThrow(/--uses/);
    expect(parseCliArgs(['join', '8056c2e21c000001', '--token', 'JT'])).toMatchObject({ joinToken: 'JT', token: undefined });
    expect(parseCliArgs(['-T', 'AUTH', 'join', '8056c2e21c000001', '--token', 'JT'])).toMatchObject({ joinToken: 'JT', token: 'AUTH' });
    expect(parseCliArgs(['--token', 'AUTH', 'info'])).toMatchObject({ joinToken: undefined, token: 'AUTH' });
    expect(parseCliArgs(['-TAUTH', 'listnetworks'])).toMatchObject({ token: 'AUTH' });
  });
});
