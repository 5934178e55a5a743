/**
 * What ztnc-cni remembers of each attachment it made, so that DEL, CHECK and GC know what ADD did
 * after the plugin process is gone: one JSON file per (network config name, container, interface)
 * under `<home>/cni/`, written after a successful ADD and removed by DEL. Malformed files are
 * skipped (and GC removes them), never fatal.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CniAttachment {
  /** The network config's `name` (GC works per config). */
  name: string;
  containerId: string;
  ifname: string;
  netns: string;
  nwid: string;
  /** The daemon endpoint serving it ('default': the home's own identity). */
  endpoint: string;
  /** ADD joined the network (default endpoint): DEL leaves it. */
  joined: boolean;
}

const dirOf = (home: string, name: string): string => join(home, 'cni', encodeURIComponent(name));
const fileName = (containerId: string, ifname: string): string => `${encodeURIComponent(containerId)}_${encodeURIComponent(ifname)}.json`;

export function saveAttachment(home: string, a: CniAttachment): void {
  const dir = dirOf(home, a.name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, fileName(a.containerId, a.ifname));
  writeFileSync(`${file}.tmp`, `${JSON.stringify(a)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

function parse(text: string): CniAttachment | null {
  try {
    const a = JSON.parse(text) as CniAttachment;
    const strings = [a.name, a.containerId, a.ifname, a.netns, a.nwid, a.endpoint];
    return strings.every((s) => typeof s === 'string') && typeof a.joined === 'boolean' ? a : null;
  } catch {
    return null;
  }
}

export function loadAttachment(home: string, name: string, containerId: string, ifname: string): CniAttachment | null {
  try {
    return parse(readFileSync(join(dirOf(home, name), fileName(containerId, ifname)), 'utf8'));
  } catch {
    return null;
  }
}

export function removeAttachment(home: string, name: string, containerId: string, ifname: string): void {
  rmSync(join(dirOf(home, name), fileName(containerId, ifname)), { force: true });
}

/** Every attachment recorded for network config `name`; `bad` lists unreadable files' paths. */
export function listAttachments(home: string, name: string): { attachments: CniAttachment[]; bad: string[] } {
  const dir = dirOf(home, name);
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return { attachments: [], bad: [] };
  }
  const attachments: CniAttachment[] = [];
  const bad: string[] = [];
  for (const f of files) {
    let a: CniAttachment | null;
    try {
      a = parse(readFileSync(join(dir, f), 'utf8'));
    } catch {
      a = null;
    }
    if (a) attachments.push(a);
    else bad.push(join(dir, f));
  }
  return { attachments, bad };
}

/** Every attachment recorded in `home`, of any network config (readable ones only). */
export function listAttachmentsOfHome(home: string): CniAttachment[] {
  let names: string[];
  try {
    names = readdirSync(join(home, 'cni'));
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    try {
      return listAttachments(home, decodeURIComponent(n)).attachments;
    } catch {
      return []; // not a directory ztnc-cni named
    }
  });
}
