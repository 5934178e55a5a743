/**
 * Join tokens in the controller: the API (create, list, revoke, 400s naming the field, 404s), what
 * the database keeps (the SHA-256, never the secret), and what a member's config request with a
 * token does (authorized on the spot with the token's addresses and tags, a use spent; refused and
 * counted when unknown, expired, used up, revoked, for another network, or the member was
 * de-authorized), uses spent exactly once by two processes racing on one database.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { type ConfigRequestResult } from '../../src/node/index.js';
import { ROOT } from '../support/programs.js';
import { type ControllerHarness, NODE_ADDRESS, obj, removeDir, startController, tempDir } from './harness.js';

let h: ControllerHarness | null = null;
afterEach(async () => {
  if (h) {
    await h.stop();
    removeDir(h.dir);
    h = null;
  }
});

let clock = 1_700_000_000_000;
const now = (): number => clock;

async function setup(): Promise<{ h: ControllerHarness; nwid: string; other: string }> {
  clock = 1_700_000_000_000;
  h = await startController(tempDir(), { now });
  const net = await h.call('POST', '/controller/network', {
    private: true,
    v4AssignMode: { zt: true },
    routes: [{ target: '10.50.0.0/24', via: null }],
    ipAssignmentPools: [{ ipRangeStart: '10.50.0.10', ipRangeEnd: '10.50.0.200' }],
  });
  const other = await h.call('POST', '/controller/network', { private: true });
  return { h, nwid: String(obj(net.body).id), other: String(obj(other.body).id) };
}

/** A member address from a number (never the reserved ff… or 0). */
function member(n: number): string {
  return (0x1000000000 + n).toString(16).padStart(10, '0');
}

function request(c: ControllerHarness, nwid: string, address: string, joinToken?: string): ConfigRequestResult {
  return c.controller.backend.request({
    nwid: BigInt(`0x${nwid}`),
    address: BigInt(`0x${address}`),
    identity: `${address}:0:${'ab'.repeat(64)}`,
    metadata: {
      majorVersion: 1,
      minorVersion: 14,
      revision: 1,
      protocolVersion: 12,
      rulesEngineRev: 1,
      ...(joinToken ? { joinToken } : {}),
    },
  });
}

async function createToken(
  c: ControllerHarness,
  nwid: string,
  body: unknown = {},
): Promise<{ id: string; token: string } & Record<string, unknown>> {
  const r = await c.call('POST', `/controller/network/${nwid}/token`, body);
  expect(r.status, r.text).toBe(200);
  return r.body as { id: string; token: string } & Record<string, unknown>;
}

describe('join token API', () => {
  it('creates with defaults, lists without the secret, revokes', async () => {
    const { h, nwid } = await setup();
    const t = await createToken(h, nwid, { name: 'ci' });
    expect(t).toMatchObject({
      nwid,
      name: 'ci',
      uses: 1,
      usesLeft: 1,
      expiresAt: null,
      createdAt: clock,
      ipAssignments: [],
      tags: [],
      revoked: false,
    });
    expect(t.id).toMatch(/^[0-9a-f]{16}$/);
    expect(t.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const list = await h.call('GET', `/controller/network/${nwid}/token`);
    expect(list.status).toBe(200);
    expect(list.body).toEqual([{ ...t, token: undefined }].map(({ token: _t, ...rest }) => rest));
    expect(list.text).not.toContain(t.token);
    const del = await h.call('DELETE', `/controller/network/${nwid}/token/${t.id}`);
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ id: t.id, revoked: true });
    expect(JSON.stringify(del.body)).not.toContain(t.token);
  });

  it('takes uses, expiry (absolute or relative), addresses and tags', async () => {
    const { h, nwid } = await setup();
    const a = await createToken(h, nwid, { uses: 0, expiresIn: 3600, ipAssignments: ['10.50.0.7'], tags: [[1000, 5]] });
    expect(a).toMatchObject({ uses: 0, usesLeft: null, expiresAt: clock + 3_600_000, ipAssignments: ['10.50.0.7'], tags: [[1000, 5]] });
    const b = await createToken(h, nwid, { uses: 3, expiresAt: clock + 5000 });
    expect(b).toMatchObject({ uses: 3, usesLeft: 3, expiresAt: clock + 5000 });
  });

  it('answers 400 naming the field, 404 for unknown networks and tokens', async () => {
    const { h, nwid } = await setup();
    const bad: [unknown, string][] = [
      [[1], 'body'],
      [{ uses: -1 }, 'uses'],
      [{ uses: 'two' }, 'uses'],
      [{ expiresAt: clock - 1 }, 'expiresAt'],
      [{ expiresIn: 0 }, 'expiresIn'],
      [{ expiresIn: 60, expiresAt: clock + 1000 }, 'expiresIn'],
      [{ ipAssignments: ['10.50.0.300'] }, 'ipAssignments[0]'],
      [{ ipAssignments: '10.50.0.3' }, 'ipAssignments'],
      [{ tags: [[1, 2, 3]] }, 'tags[0]'],
      [{ tags: [[1, -2]] }, 'tags[0][1]'],
      [{ name: 7 }, 'name'],
    ];
    for (const [body, field] of bad) {
      const r = await h.call('POST', `/controller/network/${nwid}/token`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(obj(r.body).field, JSON.stringify(body)).toBe(field);
    }
    expect((await h.call('GET', `/controller/network/${nwid}/token`)).body).toEqual([]);
    const absent = `${NODE_ADDRESS}abcdef`;
    expect((await h.call('POST', `/controller/network/${absent}/token`, {})).status).toBe(404);
    expect((await h.call('GET', `/controller/network/${absent}/token`)).status).toBe(404);
    expect((await h.call('DELETE', `/controller/network/${nwid}/token/0123456789abcdef`)).status).toBe(404);
    expect((await h.call('DELETE', `/controller/network/${nwid}/token/nothex`)).status).toBe(400);
    expect((await h.call('GET', '/controller/network/xyz/token')).status).toBe(400);
  });

  it('keeps only the SHA-256 of the secret in the database', async () => {
    const { h, nwid } = await setup();
    const t = await createToken(h, nwid);
    const db = new Database(join(h.dir, 'controller.db'), { readonly: true });
    try {
      const rows = db.prepare('SELECT * FROM join_tokens').all() as Record<string, unknown>[];
      expect(rows).toHaveLength(1);
      expect(rows[0]!.hash).toBe(createHash('sha256').update(Buffer.from(t.token, 'base64url')).digest('hex'));
      expect(JSON.stringify(rows)).not.toContain(t.token);
    } finally {
      db.close();
    }
    // nor in any file of the database (WAL included)
    for (const f of readdirSync(h.dir).filter((n) => n.startsWith('controller.db'))) {
      const bytes = readFileSync(join(h.dir, f));
      expect(bytes.includes(Buffer.from(t.token)), f).toBe(false);
      expect(bytes.includes(Buffer.from(t.token, 'base64url')), f).toBe(false);
    }
  });
});

describe('presenting a join token in a config request', () => {
  it('authorizes on the spot with the token addresses and tags, and spends the use', async () => {
    const { h, nwid } = await setup();
    const t = await createToken(h, nwid, { ipAssignments: ['10.50.0.99'], tags: [[2000, 7]] });
    expect(request(h, nwid, member(1))).toEqual({ ok: false, error: 'ACCESS_DENIED' });
    const r = request(h, nwid, member(1), t.token);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.config.staticIps).toContain('10.50.0.99/24');
      expect(r.config.tags).toEqual([{ id: 2000, value: 7 }]);
    }
    const m = obj((await h.call('GET', `/controller/network/${nwid}/member/${member(1)}`)).body);
    expect(m).toMatchObject({
      authorized: true,
      lastAuthorizedCredentialType: 'token',
      lastAuthorizedCredential: t.id,
      ipAssignments: ['10.50.0.99'],
    });
    expect((await h.call('GET', `/controller/network/${nwid}/token`)).body).toMatchObject([{ id: t.id, usesLeft: 0 }]);
    // resending the spent token as an admitted member changes nothing
    expect(request(h, nwid, member(1), t.token).ok).toBe(true);
    // a second member cannot use it
    expect(request(h, nwid, member(2), t.token)).toEqual({ ok: false, error: 'ACCESS_DENIED' });
    expect(h.controller.joinTokenCounts()).toMatchObject({ accepted: 1, refused: { used_up: 1 } });
  });

  it('admits as many members as it has uses; 0 uses admits any number', async () => {
    const { h, nwid } = await setup();
    const three = await createToken(h, nwid, { uses: 3 });
    const admitted = [1, 2, 3, 4, 5].filter((n) => request(h, nwid, member(n), three.token).ok);
    expect(admitted).toEqual([1, 2, 3]);
    const unlimited = await createToken(h, nwid, { uses: 0 });
    for (let n = 10; n < 30; n++) expect(request(h, nwid, member(n), unlimited.token).ok).toBe(true);
    expect((await h.call('GET', `/controller/network/${nwid}/token`)).body).toMatchObject([{ usesLeft: 0 }, { usesLeft: null }]);
    expect(h.controller.joinTokenCounts()).toMatchObject({ accepted: 23, refused: { used_up: 2 } });
  });

  it('refuses and counts unknown, expired, revoked and other-network tokens, and de-authorized members', async () => {
    const { h, nwid, other } = await setup();
    const expiring = await createToken(h, nwid, { expiresIn: 60, uses: 0 });
    const revoked = await createToken(h, nwid, { uses: 0 });
    const elsewhere = await createToken(h, other, { uses: 0 });
    const good = await createToken(h, nwid, { uses: 0 });
    await h.call('DELETE', `/controller/network/${nwid}/token/${revoked.id}`);
    expect(request(h, nwid, member(1), expiring.token).ok).toBe(true);
    clock += 60_000;
    expect(request(h, nwid, member(2), expiring.token).ok).toBe(false);
    expect(request(h, nwid, member(3), revoked.token).ok).toBe(false);
    expect(request(h, nwid, member(4), elsewhere.token).ok).toBe(false);
    expect(request(h, nwid, member(5), 'A'.repeat(43)).ok).toBe(false);
    expect(request(h, nwid, member(5), 'not a token').ok).toBe(false);
    // a member the API de-authorized is not let back in by a token
    expect(request(h, nwid, member(6), good.token).ok).toBe(true);
    await h.call('POST', `/controller/network/${nwid}/member/${member(6)}`, { authorized: false });
    expect(request(h, nwid, member(6), good.token).ok).toBe(false);
    expect(h.controller.joinTokenCounts()).toEqual({
      accepted: 2,
      refused: { unknown: 2, expired: 1, used_up: 0, revoked: 1, wrong_network: 1, member_deauthorized: 1 },
    });
    for (const n of [2, 3, 4, 5, 6]) {
      expect(obj((await h.call('GET', `/controller/network/${nwid}/member/${member(n)}`)).body).authorized).toBe(false);
    }
    // nothing was spent by the refusals
    const tokens = (await h.call('GET', `/controller/network/${other}/token`)).body;
    expect(tokens).toMatchObject([{ id: elsewhere.id, usesLeft: null }]);
  });

  it('a member without a token is unaffected (stock members)', async () => {
    const { h, nwid } = await setup();
    await createToken(h, nwid, { uses: 0 });
    expect(request(h, nwid, member(1))).toEqual({ ok: false, error: 'ACCESS_DENIED' });
    expect(h.controller.joinTokenCounts().accepted).toBe(0);
  });
});

describe('spending uses concurrently', () => {
  it('two processes on one database spend exactly the uses there are', async () => {
    const { h, nwid } = await setup();
    const t = await createToken(h, nwid, { uses: 30 });
    const dbFile = join(h.dir, 'controller.db');
    // each process spends from its own connection, in its own transactions, as fast as it can
    const script = `
      const { ControllerStore } = await import(${JSON.stringify(join(ROOT, 'dist/src/controller/store.js'))});
      const { JoinTokens } = await import(${JSON.stringify(join(ROOT, 'dist/src/controller/join-tokens.js'))});
      const store = new ControllerStore(process.argv[1]);
      const tokens = new JoinTokens(store);
      let ok = 0;
      for (let i = 0; i < 40; i++) if (store.transaction(() => tokens.consume(process.argv[2], process.argv[3])).ok) ok++;
      await store.close();
      console.log(ok);`;
    const run = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const p = spawn(process.execPath, ['--input-type=module', '-e', script, dbFile, nwid, t.token], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        p.stdout.on('data', (d: Buffer) => (out += d.toString()));
        p.stderr.on('data', (d: Buffer) => (err += d.toString()));
        p.on('error', reject);
        p.on('exit', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`consumer exited ${code}: ${err}`))));
      });
    const [a, b] = await Promise.all([run(), run()]);
    expect(a + b).toBe(30);
    expect((await h.call('GET', `/controller/network/${nwid}/token`)).body).toMatchObject([{ usesLeft: 0 }]);
  }, 60_000);
});
