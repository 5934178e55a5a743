import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControllerStore, StoreError } from '../../src/controller/store.js';
import { defaultNetworkSettings } from '../../src/controller/types.js';
import { TEST_BUILD_DIR } from '../support/programs.js';
import { NODE_ADDRESS, obj, removeDir, startController, tempDir } from './harness.js';

const repo = resolve(import.meta.dirname, '../..');

describe('controller persistence', () => {
  const dirs: string[] = [];
  const fresh = (): string => {
    const d = tempDir();
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach(removeDir));

  it('keeps networks, members, counters and instanceId across a restart', async () => {
    const dir = fresh();
    let h = await startController(dir);
    const nwid = `${NODE_ADDRESS}0000aa`;
    await h.call('POST', `/controller/network/${nwid}`, {
      name: 'persist',
      routes: [{ target: '10.1.0.0/16' }],
      v4AssignMode: { zt: true },
    });
    await h.call('POST', `/controller/network/${nwid}/member/1234567890`, { authorized: true, ipAssignments: ['10.1.2.3'] });
    const net = obj((await h.call('GET', `/controller/network/${nwid}`)).body);
    const member = obj((await h.call('GET', `/controller/network/${nwid}/member/1234567890`)).body);
    const instanceId = h.controller.store.instanceId;
    const token = h.token;
    await h.stop();

    h = await startController(dir);
    try {
      expect(h.token).toBe(token);
      expect(h.controller.store.instanceId).toBe(instanceId);
      expect({ ...obj((await h.call('GET', `/controller/network/${nwid}`)).body), clock: 0 }).toEqual({ ...net, clock: 0 });
      expect({ ...obj((await h.call('GET', `/controller/network/${nwid}/member/1234567890`)).body), clock: 0 }).toEqual({
        ...member,
        clock: 0,
      });
      // The address index survived too: nobody else may take 10.1.2.3.
      const clash = await h.call('POST', `/controller/network/${nwid}/member/0987654321`, { ipAssignments: ['10.1.2.3'] });
      expect(clash.status).toBe(400);
    } finally {
      await h.stop();
    }
  });

  it('refuses a database with a newer schema, and a file that is not a database, naming the file', async () => {
    const dir = fresh();
    const file = join(dir, 'controller.db');
    await new ControllerStore(file).close();
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
    expect(() => new ControllerStore(file)).toThrow(StoreError);
    expect(() => new ControllerStore(file)).toThrow(/controller\.db: schema version 99 is newer than this ztnc understands \(2\)/);
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'this is not an SQLite database, just some text that is long enough to matter'.repeat(20));
    expect(() => new ControllerStore(junk)).toThrow(/junk\.db/);
  });

  it('writes a backup that is a valid database equal to the live one at some instant', async () => {
    const dir = fresh();
    const file = join(dir, 'controller.db');
    const store = new ControllerStore(file);
    const nwid = `${NODE_ADDRESS}0000bb`;
    store.putNetwork(nwid, () => defaultNetworkSettings(nwid, Date.now()));
    const snapshots = new Set<string>();
    const snap = (): void => {
      snapshots.add(JSON.stringify(store.memberRevisions(nwid)));
    };
    snap();
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing && i < 5000; i++) {
        store.updateMember(nwid, (0x3000000000 + (i % 300)).toString(16), (m) => {
          m.name = `w${i}`;
        });
        snap();
        await new Promise((r) => setImmediate(r));
      }
    })();
    await new Promise((r) => setTimeout(r, 20));
    await store.backup();
    writing = false;
    await writer;
    const copy = new Database(`${file}.backup`, { readonly: true });
    try {
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      const rows = copy.prepare('SELECT address, revision FROM members WHERE nwid = ? ORDER BY address').all(nwid) as {
        address: string;
        revision: number;
      }[];
      const state: Record<string, number> = {};
      for (const r of rows) state[r.address] = r.revision;
      expect(rows.length).toBeGreaterThan(0);
      expect(snapshots.has(JSON.stringify(state))).toBe(true);
    } finally {
      copy.close();
      await store.close();
    }
    // A second backup replaces the first atomically and leaves no temporary file.
    const again = new ControllerStore(file);
    await again.backup();
    await again.close();
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  describe('kill -9 during a burst of member updates', () => {
    let childJs: string;
    beforeAll(async () => {
      const outDir = join(TEST_BUILD_DIR, 'controller');
      mkdirSync(outDir, { recursive: true });
      childJs = join(outDir, `crash-child-${process.pid}.mjs`);
      await build({
        entryPoints: [join(repo, 'test/controller/crash-child.ts')],
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        outfile: childJs,
        logLevel: 'silent',
      });
    });

    it('loses no acknowledged write and leaves a database that opens', async () => {
      const dir = fresh();
      const child = spawn(process.execPath, [childJs, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      const { port, token } = await new Promise<{ port: number; token: string }>((res, rej) => {
        let buf = '';
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const nl = buf.indexOf('\n');
          if (nl >= 0) res(JSON.parse(buf.slice(0, nl)) as { port: number; token: string });
        });
        child.once('exit', (code) => rej(new Error(`child exited early (${code})`)));
      });
      const base = `http://127.0.0.1:${port}`;
      const nwid = `${NODE_ADDRESS}0000cc`;
      const post = (path: string, body: unknown) =>
        fetch(base + path, { method: 'POST', headers: { 'X-ZT1-Auth': token }, body: JSON.stringify(body) });
      expect((await post(`/controller/network/${nwid}`, { name: 'crash' })).status).toBe(200);

      const acked: number[] = [];
      let next = 0;
      let killed = false;
      const worker = async (): Promise<void> => {
        while (next < 1000 && !killed) {
          const i = next++;
          try {
            const r = await post(`/controller/network/${nwid}/member/${(0x4000000000 + i).toString(16)}`, {
              authorized: true,
              name: `u${i}`,
            });
            if (r.status === 200) {
              await r.text();
              acked.push(i);
              if (acked.length === 400 && !killed) {
                killed = true;
                child.kill('SIGKILL');
              }
            }
          } catch {
            // the connection died with the child: not acknowledged
          }
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      await new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
      expect(child.signalCode).toBe('SIGKILL');
      expect(acked.length).toBeGreaterThanOrEqual(400);
      expect(acked.length).toBeLessThan(1000);

      const raw = new Database(join(dir, 'controller.db'));
      expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
      raw.close();
      const store = new ControllerStore(join(dir, 'controller.db'));
      try {
        for (const i of acked) {
          const m = store.getMember(nwid, (0x4000000000 + i).toString(16));
          expect(m, `acknowledged update ${i}`).toMatchObject({ authorized: true, name: `u${i}`, revision: 1 });
        }
        const n = store.getNetwork(nwid);
        // Every stored member was counted exactly once; acknowledged ones are all there.
        expect(n?.totalMemberCount).toBe(n?.memberRevisionCounter);
        expect(n?.totalMemberCount).toBeGreaterThanOrEqual(acked.length);
      } finally {
        await store.close();
      }
    });
  });
});
