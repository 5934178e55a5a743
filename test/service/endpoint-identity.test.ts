/**
 * Endpoints created with an identity their client made (SPEC §1): `POST /endpoint/<name>` with
 * `{"identity": "<identity.secret text>"}` gives the endpoint that identity; a forged one (the
 * address not derived from the key), one without its secret, one whose secret is another key's,
 * and garbage are refused with 400 and a reason; an address another endpoint (or the daemon
 * itself) has is refused with 409. `ztnc-cli endpoint create` makes the identity itself and the
 * daemon keeps it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeMemoryHardHashWorker, Identity } from '../../src/node/index.js';
import { runProgram } from '../cli/harness.js';
import { killAll, type Service, startRoot, tempDir } from './service-harness.js';

interface EndpointView {
  name: string;
  address: string;
}

const errorOf = (body: unknown): string => (body as { error: string }).error;

describe('endpoints with identities made by their clients', () => {
  const tmp = tempDir('ztnc-endpoint-identity-');
  let daemon: Service;
  let mine: Identity;
  let other: Identity;

  beforeAll(async () => {
    [daemon, mine, other] = await Promise.all([startRoot(join(tmp, 'd')), Identity.generate(), Identity.generate()]);
  }, 120_000);

  afterAll(async () => {
    await killAll();
    await closeMemoryHardHashWorker();
  }, 60_000);

  it('takes a valid identity: the endpoint has its address and its identity.secret', async () => {
    const r = await daemon.api('POST', '/endpoint/c1', { identity: mine.toString(true) });
    expect(r.status).toBe(200);
    expect((r.body as EndpointView).address).toBe(mine.addressHex);
    const dir = join(daemon.home, 'endpoints', 'c1');
    expect(readFileSync(join(dir, 'identity.secret'), 'utf8').trim()).toBe(mine.toString(true));
    expect(readFileSync(join(dir, 'identity.public'), 'utf8').trim()).toBe(mine.toString(false));
    expect((await daemon.get<EndpointView>('/endpoint/c1')).address).toBe(mine.addressHex);
    expect(daemon.output).toMatch(/"identityFrom":"client"/);
  });

  it('refuses an address that does not derive from the key (forged) with 400', async () => {
    const forged = Identity.fromParts(mine.address ^ 1n, mine.publicKey, mine.privateKey);
    const r = await daemon.api('POST', '/endpoint/forged', { identity: forged.toString(true) });
    expect(r.status).toBe(400);
    expect(errorOf(r.body)).toMatch(/does not derive from the public key/);
    expect((await daemon.api('GET', '/endpoint/forged')).status).toBe(404);
  });

  it('refuses an identity without its secret, with another key’s secret, or not an identity, with 400', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ identity: other.toString(false) }, /has no secret key/],
      [{ identity: `${other.toString(false)}:${mine.privateKey!.toString('hex')}` }, /secret key does not belong to its public key/],
      [{ identity: 'not an identity' }, /is not an identity\.secret/],
      [{ identity: `${other.addressHex}:0:zz` }, /is not an identity\.secret: public key/],
      [{ identity: 42 }, /identity must be the text of an identity\.secret/],
      [['an array'], /must be a JSON object/],
    ];
    for (const [body, why] of cases) {
      const r = await daemon.api('POST', '/endpoint/bad', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(r.body)).toMatch(why);
    }
    expect((await daemon.api('GET', '/endpoint/bad')).status).toBe(404);
  });

  it('refuses with 409 an address another endpoint or the daemon itself has', async () => {
    const again = await daemon.api('POST', '/endpoint/c2', { identity: mine.toString(true) });
    expect(again.status).toBe(409);
    expect(errorOf(again.body)).toMatch(/is endpoint c1's/);
    const own = readFileSync(join(daemon.home, 'identity.secret'), 'utf8');
    const r = await daemon.api('POST', '/endpoint/c3', { identity: own });
    expect(r.status).toBe(409);
    expect(errorOf(r.body)).toMatch(/is endpoint default's/);
  });

  it('still makes the identity itself without a body', async () => {
    const r = await daemon.api('POST', '/endpoint/plain');
    expect(r.status).toBe(200);
    const made = Identity.fromString(readFileSync(join(daemon.home, 'endpoints', 'plain', 'identity.secret'), 'utf8'));
    expect(made.addressHex).toBe((r.body as EndpointView).address);
  });

  it('ztnc-cli endpoint create makes the identity in its own process and the daemon keeps it', async () => {
    const before = daemon.output.length;
    const r = await runProgram('ztnc-cli', ['-D', daemon.home, 'endpoint', 'create', 'viacli']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [, , , name, address] = r.stdout.trim().split(' ');
    expect(name).toBe('viacli');
    const id = Identity.fromString(readFileSync(join(daemon.home, 'endpoints', 'viacli', 'identity.secret'), 'utf8'));
    expect(id.addressHex).toBe(address);
    expect(id.hasPrivate).toBe(true);
    expect(await id.locallyValidate()).toBe(true);
    // the daemon logs where the identity came from: the client's request, not its own search
    const created = daemon.output
      .slice(before)
      .split('\n')
      .find((l) => l.includes('"endpoint created"') && l.includes('"viacli"'));
    expect(created).toMatch(/"identityFrom":"client"/);
  });
});
