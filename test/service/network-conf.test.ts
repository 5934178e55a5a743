/**
 * networks.d/<nwid>.conf as read and written: JSON settings, stock's key=value lines, a `token=`
 * join token beside either; ZTNC_JOIN_TOKEN when the file names none; a join body's `token`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { defaultNetworkUserSettings } from '../../src/service/json-views.js';
import { parseJoinToken } from '../../src/service/local-api.js';
import { joinTokenFor, networkConfText, readNetworkConf } from '../../src/service/network-settings.js';
import { tempDir } from '../support/temp-dir.js';

const log = pino({ level: 'silent' });
const TOKEN = 'q3VbI5Vb9d3Gm0zZlTn1c8rkYg3Yt2oR1mN0pQx-_aZ';

function conf(text: string) {
  const file = join(tempDir('ztnc-netconf-'), 'n.conf');
  writeFileSync(file, text);
  return readNetworkConf(file, log);
}

describe('networks.d/<nwid>.conf', () => {
  it('reads the empty file, JSON, key=value lines and a token line beside either', () => {
    const defaults = defaultNetworkUserSettings();
    expect(conf('')).toEqual({ settings: defaults, token: null });
    expect(conf(`token=${TOKEN}\n`)).toEqual({ settings: defaults, token: TOKEN });
    expect(conf(`{"allowDNS":true}\ntoken=${TOKEN}\n`)).toEqual({ settings: { ...defaults, allowDNS: true }, token: TOKEN });
    expect(conf(`allowManaged=0\nallowGlobal=1\ntoken = ${TOKEN}\nallowDefault=true\nsomethingElse=3\n`)).toEqual({
      settings: { allowManaged: false, allowGlobal: true, allowDefault: true, allowDNS: false },
      token: TOKEN,
    });
    // JSON over several lines still works, and garbage falls back to the defaults
    expect(conf('{\n  "allowGlobal": true\n}\n').settings.allowGlobal).toBe(true);
    expect(conf('not json at all')).toEqual({ settings: defaults, token: null });
    expect(conf('token=has a space\n').token).toBeNull();
    expect(readNetworkConf(join(tempDir('ztnc-netconf-'), 'absent.conf'), log)).toEqual({ settings: defaults, token: null });
  });

  it('writes what it reads back, the token kept', () => {
    const s = { ...defaultNetworkUserSettings(), allowDNS: true };
    expect(networkConfText(defaultNetworkUserSettings(), null)).toBe('');
    expect(networkConfText(defaultNetworkUserSettings(), TOKEN)).toBe(`token=${TOKEN}\n`);
    expect(conf(networkConfText(s, TOKEN))).toEqual({ settings: s, token: TOKEN });
  });

  it('takes ZTNC_JOIN_TOKEN when the file names no token', () => {
    const none = { settings: defaultNetworkUserSettings(), token: null };
    expect(joinTokenFor(none, {})).toBeUndefined();
    expect(joinTokenFor(none, { ZTNC_JOIN_TOKEN: ` ${TOKEN}\n` })).toBe(TOKEN);
    expect(joinTokenFor(none, { ZTNC_JOIN_TOKEN: '' })).toBeUndefined();
    expect(joinTokenFor({ ...none, token: 'fromfile' }, { ZTNC_JOIN_TOKEN: TOKEN })).toBe('fromfile');
  });

  it('reads a join body token, refusing what cannot be one', () => {
    expect(parseJoinToken({ token: TOKEN })).toBe(TOKEN);
    expect(parseJoinToken({})).toBeUndefined();
    expect(parseJoinToken(undefined)).toBeUndefined();
    expect(parseJoinToken({ token: 'a b' })).toEqual({ error: expect.stringMatching(/^token: /) as unknown });
    expect(parseJoinToken({ token: 5 })).toEqual({ error: expect.stringMatching(/^token: /) as unknown });
  });
});
