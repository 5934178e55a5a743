/**
 * A joined network's user settings (`ztnc-cli set`: stock's allow* flags) as kept in
 * `networks.d/<nwid>.conf`: an empty file means the defaults, JSON `{"allowDNS": true, …}` the
 * rest. Reading never blocks and never fails the daemon: anything unreadable means the defaults.
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

/** The network's user settings kept in networks.d/<nwid>.conf: empty = defaults. */
export function readNetworkSettings(file: string, log: Logger): NetworkUserSettings {
  const out = defaultNetworkUserSettings();
  let text: string;
  try {
    text = readRegularFile(file);
  } catch {
    return out;
  }
  if (text.trim() === '') return out;
  try {
    const doc = JSON.parse(text) as unknown;
    if (typeof doc === 'object' && doc !== null && !Array.isArray(doc)) {
      const d = doc as Record<string, unknown>;
      for (const k of Object.keys(out) as (keyof NetworkUserSettings)[]) if (typeof d[k] === 'boolean') out[k] = d[k];
      return out;
    }
  } catch {
    // fall through
  }
  log.warn({ file }, 'network settings file not understood: using the defaults');
  return out;
}

export function sameSettings(a: NetworkUserSettings, b: NetworkUserSettings): boolean {
  return (
    a.allowManaged === b.allowManaged && a.allowGlobal === b.allowGlobal && a.allowDefault === b.allowDefault && a.allowDNS === b.allowDNS
  );
}
