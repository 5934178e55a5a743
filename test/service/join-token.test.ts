/**
 * Join tokens between real daemons: a private root+controller issues tokens with `ztnc-cli net
 * token create`; a member whose networks.d/<nwid>.conf holds `token=<T>` comes up authorized with
 * the token's address and no API call to the controller; the spent token admits nobody else (a
 * member presenting it through ZTNC_JOIN_TOKEN stays unauthorized) until that member is given a
 * fresh one with `ztnc-cli join <nwid> --token`; a restarted member resending its spent token stays
 * authorized.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProgram } from '../cli/harness.js';
import {
  assignedIp,
  createNetwork,
  killAll,
  serviceEnv,
  type Service,
  startRoot,
  startService,
  tempDir,
  waitFor,
} from './service-harness.js';

const NETWORK_TIMEOUT_MS = 90_000;

async function tokenCreate(root: Service, nwid: string, extra: string[] = []): Promise<{ id: string; token: string }> {
  const r = await runProgram('ztnc-cli', ['-D', root.home, 'net', 'token', 'create', nwid, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { id: string; token: string };
}

async function status(member: Service, nwid: string): Promise<string> {
  return (await member.get<{ status: string }>(`/network/${nwid}`)).status;
}

describe('join tokens between real daemons', () => {
  const tmp = tempDir('ztnc-jointoken-');
  let root: Service;
  let nwid: string;

  beforeAll(async () => {
    root = await startRoot(join(tmp, 'root'));
    nwid = await createNetwork(root, '10.97.0');
  }, 120_000);

  afterAll(async () => {
    await killAll();
  }, 60_000);

  it('a member with token= in networks.d is authorized with the token address; the spent token admits nobody else', async () => {
    const t = await tokenCreate(root, nwid, ['--ip', '10.97.0.77', '--tags', '1000=3']);
    const aHome = join(tmp, 'a');
    mkdirSync(join(aHome, 'networks.d'), { recursive: true, mode: 0o700 });
    writeFileSync(join(aHome, 'networks.d', `${nwid}.conf`), `token=${t.token}\n`);
    let a = await startService(aHome, ['--planet', join(root.home, 'planet')]);
    expect(await assignedIp(a, nwid, NETWORK_TIMEOUT_MS)).toBe('10.97.0.77');
    const addrA = await a.address();
    const m = await root.get(`/controller/network/${nwid}/member/${addrA}`);
    expect(m).toMatchObject({ authorized: true, lastAuthorizedCredentialType: 'token', lastAuthorizedCredential: t.id, tags: [[1000, 3]] });
    const list = await runProgram('ztnc-cli', ['-D', root.home, 'net', 'token', 'list', nwid]);
    expect(list.stdout).toMatch(new RegExp(`^200 net token ${t.id} USED 0/1 never -$`, 'm'));
    expect(list.stdout).not.toContain(t.token);

    // B presents the spent token through the environment: refused, it stays unauthorized
    const bHome = join(tmp, 'b');
    mkdirSync(join(bHome, 'networks.d'), { recursive: true, mode: 0o700 });
    writeFileSync(join(bHome, 'networks.d', `${nwid}.conf`), '');
    const b = await startService(bHome, ['--planet', join(root.home, 'planet')], serviceEnv({ ZTNC_JOIN_TOKEN: t.token }));
    const addrB = await b.address();
    await waitFor(async () => (await status(b, nwid)) === 'ACCESS_DENIED', NETWORK_TIMEOUT_MS, 'B refused');
    expect(await root.get(`/controller/network/${nwid}/member/${addrB}`)).toMatchObject({ authorized: false });
    await waitFor(() => /join token refused/.test(root.output), 10_000, 'the refusal logged by the controller');

    // a fresh token given with ztnc-cli join --token admits it, and is kept in networks.d
    const t2 = await tokenCreate(root, nwid, ['--expires', '1h']);
    const j = await runProgram('ztnc-cli', ['-D', bHome, 'join', nwid, '--token', t2.token]);
    expect(j.code, j.stderr).toBe(0);
    expect(readFileSync(join(bHome, 'networks.d', `${nwid}.conf`), 'utf8')).toBe(`token=${t2.token}\n`);
    await assignedIp(b, nwid, NETWORK_TIMEOUT_MS);

    // A restarted with its spent token still in networks.d stays authorized
    await a.stop();
    a = await startService(aHome, ['--planet', join(root.home, 'planet')]);
    expect(await assignedIp(a, nwid, NETWORK_TIMEOUT_MS)).toBe('10.97.0.77');
    expect(await root.get(`/controller/network/${nwid}/member/${addrA}`)).toMatchObject({ authorized: true });

    // settings changed later keep the token line
    const set = await runProgram('ztnc-cli', ['-D', bHome, 'set', nwid, 'allowDNS=1']);
    expect(set.code, set.stderr).toBe(0);
    expect(readFileSync(join(bHome, 'networks.d', `${nwid}.conf`), 'utf8')).toMatch(
      new RegExp(`"allowDNS":true.*\\ntoken=${t2.token}\\n$`, 's'),
    );

    // revoke through the CLI
    const rv = await runProgram('ztnc-cli', ['-D', root.home, 'net', 'token', 'revoke', nwid, t2.id]);
    expect(rv.stdout.trim()).toBe('200 net token revoke OK');
    const bad = await runProgram('ztnc-cli', ['-D', root.home, 'net', 'token', 'create', nwid, '--uses', 'lots']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--uses/);
  }, 300_000);
});
