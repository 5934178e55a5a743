/**
 * A joined network's user settings (`ztnc-cli set`: stock's allow* flags) and join token as kept in
 * `networks.d/<nwid>.conf`: an empty file means the defaults; the settings are a JSON line
 * `{"allowDNS": true, …}` or stock's `key=value` lines (`allowDNS=1`, as in its
 * `<nwid>.local.conf`); a line `token=<T>` is a join token presented to the network's controller
 * until it admits us. Reading never blocks and never fails the daemon: anything unreadable means
 * the defaults. Without a token in the file, `ZTNC_JOIN_TOKEN` in the daemon's environment is used.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { defaultNetworkUserSettings, type NetworkUserSettings } from './json-views.js';

/**
 * A file's text, refusing anything but a regular file without blocking: opened non-blocking (a
 * FIFO put in place of a settings file would otherwise hang the daemon) and checked after.
 */
function readRegularFile(file: string): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw new Error(`${file}: not a regular file`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** The environment variable holding a join token for networks whose file names none. */
export const JOIN_TOKEN_ENV = 'ZTNC_JOIN_TOKEN';

/** What networks.d/<nwid>.conf holds. */
export interface NetworkConf {
  settings: NetworkUserSettings;
  /** The `token=` line's join token; null when none. */
  token: string | null;
}

const KEY_VALUE_RE = /^\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/;
/** Printable ASCII without spaces: fits a metadata dictionary value and a `token=` line. */
const TOKEN_RE = /^[\x21-\x7e]{1,256}$/;

/** Whether text can be a join token (the controller decides whether it is one). */
export function isJoinTokenText(text: string): boolean {
  return TOKEN_RE.test(text);
}

function flagValue(v: string): boolean | undefined {
  const t = v.toLowerCase();
  if (t === '1' || t === 'true') return true;
  if (t === '0' || t === 'false') return false;
  return undefined;
}

/** The file's settings and token; empty or absent = defaults and no token. */
export function readNetworkConf(file: string, log: Logger): NetworkConf {
  const out: NetworkConf = { settings: defaultNetworkUserSettings(), token: null };
  let text: string;
  try {
    text = readRegularFile(file);
  } catch {
    return out;
  }
  const keys = Object.keys(out.settings) as (keyof NetworkUserSettings)[];
  const rest: string[] = [];
  let understood = true;
  for (const line of text.split('\n')) {
    const kv = KEY_VALUE_RE.exec(line);
    if (!kv) {
      rest.push(line);
      continue;
    }
    const [, key, value] = kv as unknown as [string, string, string];
    if (key === 'token') {
      if (isJoinTokenText(value)) out.token = value;
      else log.warn({ file }, 'join token in network settings file is not printable text without spaces: ignored');
    } else if (keys.includes(key as keyof NetworkUserSettings) && flagValue(value) !== undefined) {
      out.settings[key as keyof NetworkUserSettings] = flagValue(value)!;
    }
    // other keys of stock's files (allowDefault's relatives, comments' cousins) are ignored, as stock ignores unknown ones
  }
  const json = rest.join('\n').trim();
  if (json !== '') {
    try {
      const doc = JSON.parse(json) as unknown;
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) understood = false;
      else {
        const d = doc as Record<string, unknown>;
        for (const k of keys) if (typeof d[k] === 'boolean') out.settings[k] = d[k];
      }
    } catch {
      understood = false;
    }
  }
  if (!understood) log.warn({ file }, 'network settings file not understood: using the default settings');
  return out;
}

/** The file's text for these settings and token: empty for the defaults and no token. */
export function networkConfText(settings: NetworkUserSettings, token: string | null): string {
  const json = sameSettings(settings, defaultNetworkUserSettings()) ? '' : `${JSON.stringify(settings)}\n`;
  return token !== null ? `${json}token=${token}\n` : json;
}

/** The token a network presents: its file's, else the environment's (when it is usable text). */
export function joinTokenFor(conf: NetworkConf, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (conf.token !== null) return conf.token;
  const fromEnv = env[JOIN_TOKEN_ENV]?.trim();
  return fromEnv !== undefined && isJoinTokenText(fromEnv) ? fromEnv : undefined;
}

export function sameSettings(a: NetworkUserSettings, b: NetworkUserSettings): boolean {
  return (
    a.allowManaged === b.allowManaged && a.allowGlobal === b.allowGlobal && a.allowDefault === b.allowDefault && a.allowDNS === b.allowDNS
  );
}
