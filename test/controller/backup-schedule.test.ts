/**
 * controller.db.backup's schedule and the database files' modes: a backup at start-up, another
 * after N changes or T after the last one when anything changed, never two at once; controller.db,
 * its WAL and SHM, and the backup owner-only (0600), also when an older ztnc left them wider.
 */
import { chmodSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { NetworkController } from '../../src/controller/index.js';
import { ControllerStore } from '../../src/controller/store.js';
import { defaultNetworkSettings } from '../../src/controller/types.js';
import { waitFor } from '../service/service-harness.js';
import { NODE_ADDRESS, removeDir, tempDir } from './harness.js';

const logger = pino({ level: 'silent' });
const dirs: string[] = [];
function fresh(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach(removeDir));

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

/** Network names in the backup (null when there is no backup yet). */
function backedUpNames(file: string): string[] | null {
  if (!existsSync(`${file}.backup`)) return null;
  const db = new Database(`${file}.backup`, { readonly: true });
  try {
    return (db.prepare('SELECT doc FROM networks ORDER BY id').all() as { doc: string }[]).map(
      (r) => (JSON.parse(r.doc) as { name: string }).name,
    );
  } finally {
    db.close();
  }
}

function putNetwork(c: NetworkController, i: number): void {
  const nwid = `${NODE_ADDRESS}${i.toString(16).padStart(6, '0')}`;
  c.store.putNetwork(nwid, () => ({ ...defaultNetworkSettings(nwid, Date.now()), name: `n${i}` }));
}

describe('controller.db.backup schedule', () => {
  it('writes a backup at start-up, then after every N changes', async () => {
    const dir = fresh();
    const file = join(dir, 'controller.db');
    // an existing database with content: the start-up backup holds it before any change
    const seed = new ControllerStore(file);
    seed.putNetwork(`${NODE_ADDRESS}000001`, () => ({ ...defaultNetworkSettings(`${NODE_ADDRESS}000001`, 0), name: 'seed' }));
    await seed.close();
    const c = new NetworkController({
      dbFile: file,
      nodeAddress: NODE_ADDRESS,
      logger,
      backupIntervalMs: 3_600_000,
      backupEveryChanges: 3,
    });
    try {
      await waitFor(() => backedUpNames(file)?.length === 1, 10_000, 'the start-up backup');
      expect(backedUpNames(file)).toEqual(['seed']);
      putNetwork(c, 2);
      putNetwork(c, 3);
      // two changes: below the count, and the hour has not passed
      await new Promise((r) => setTimeout(r, 200));
      expect(backedUpNames(file)).toEqual(['seed']);
      putNetwork(c, 4);
      await waitFor(() => backedUpNames(file)?.length === 4, 10_000, 'the backup after 3 changes');
      expect(mode(`${file}.backup`)).toBe(0o600);
    } finally {
      await c.close();
    }
  });

  it('writes one T after the last when anything changed, and none while nothing did', async () => {
    const dir = fresh();
    const file = join(dir, 'controller.db');
    const c = new NetworkController({ dbFile: file, nodeAddress: NODE_ADDRESS, logger, backupIntervalMs: 100, backupEveryChanges: 1000 });
    try {
      await waitFor(() => backedUpNames(file) !== null, 10_000, 'the start-up backup');
      expect(backedUpNames(file)).toEqual([]);
      const first = statSync(`${file}.backup`).mtimeMs;
      putNetwork(c, 5);
      await waitFor(() => backedUpNames(file)?.length === 1, 10_000, 'the backup after the interval');
      // nothing changes now: the backup is left alone
      const after = statSync(`${file}.backup`).mtimeMs;
      expect(after).toBeGreaterThanOrEqual(first);
      await new Promise((r) => setTimeout(r, 400));
      expect(statSync(`${file}.backup`).mtimeMs).toBe(after);
    } finally {
      await c.close();
    }
  });

  it('backupIntervalMs 0 turns automatic backups off', async () => {
    const dir = fresh();
    const file = join(dir, 'controller.db');
    const c = new NetworkController({ dbFile: file, nodeAddress: NODE_ADDRESS, logger, backupIntervalMs: 0, backupEveryChanges: 1 });
    putNetwork(c, 6);
    await new Promise((r) => setTimeout(r, 200));
    await c.close();
    expect(existsSync(`${file}.backup`)).toBe(false);
  });
});

describe('database file modes', () => {
  it('creates controller.db, its WAL and SHM, and the backup 0600, and narrows wider ones', async () => {
    const dir = fresh();
    const file = join(dir, 'controller.db');
    const old = process.umask(0o022);
    try {
      let store = new ControllerStore(file);
      store.putNetwork(`${NODE_ADDRESS}000007`, () => defaultNetworkSettings(`${NODE_ADDRESS}000007`, 0));
      await store.backup();
      for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}.backup`]) expect(mode(f), f).toBe(0o600);
      await store.close();
      // an older ztnc (or a copy) left them readable: opening narrows them
      for (const f of [file, `${file}.backup`]) chmodSync(f, 0o644);
      writeFileSync(`${file}-wal`, '');
      chmodSync(`${file}-wal`, 0o644);
      store = new ControllerStore(file);
      for (const f of [file, `${file}-wal`, `${file}.backup`]) expect(mode(f), f).toBe(0o600);
      await store.close();
    } finally {
      process.umask(old);
    }
  });
});
