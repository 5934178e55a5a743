/**
 * ztnc-oci-hook: the state parsing and option lookup (pure), and runc running a bundle whose rootfs
 * is busybox-static with the hook at createRuntime and poststop (root: runc, network namespaces,
 * TAP devices): the container fetches a file from a library-mode member, has only lo and eth0,
 * and after it exits the poststop hook has removed its endpoint. Runs dist/ (npm run build:ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpointName } from '../../src/namespace/cni-commands.js';
import { ANNOTATION, hookRequest, parseOciState } from '../../src/namespace/oci-hook.js';
import { ROOT } from '../support/programs.js';
import { combine, needPrograms, needRootNetns, requireOrSkip } from '../support/requirements.js';
import { killAll, tempDir, waitFor } from '../service/service-harness.js';
import { busyboxRootfs, FILE_TEXT, startContainerRig, type ContainerRig } from './container-rig.js';

const HOOK = join(ROOT, 'dist', 'src', 'cli', 'ztnc-oci-hook.js');
const NWID = '8056c2e21c000001';

describe('OCI hook input', () => {
  it('takes the network from the args before the annotations, and the netns from the pid', () => {
    const state = parseOciState(
      JSON.stringify({
        ociVersion: '1.0.2',
        id: 'c1',
        status: 'created',
        pid: 4242,
        bundle: '/b',
        annotations: { [ANNOTATION.network]: NWID },
      }),
    );
    expect(hookRequest(state, {}, 'ADD')).toMatchObject({
      conf: { network: NWID, name: 'oci-hook' },
      env: { command: 'ADD', containerId: 'c1', netns: '/proc/4242/ns/net', ifname: 'eth0' },
    });
    expect(hookRequest(state, { network: 'AAAAAAAAAAAAAAAA', ifname: 'zt0' }, 'ADD')).toMatchObject({
      conf: { network: 'aaaaaaaaaaaaaaaa' },
      env: { ifname: 'zt0' },
    });
  });

  it('refuses a state without what the stage needs, with a clear error', () => {
    expect(() => parseOciState('not json')).toThrow(/not JSON/);
    expect(() => parseOciState('{"pid":1}')).toThrow(/"id"/);
    expect(() => parseOciState('{"id":"x","pid":-3}')).toThrow(/pid/);
    expect(() => hookRequest(parseOciState('{"id":"x","pid":5}'), {}, 'ADD')).toThrow(/--network/);
    expect(() => hookRequest(parseOciState('{"id":"x"}'), { network: NWID }, 'ADD')).toThrow(/createRuntime/);
    expect(hookRequest(parseOciState('{"id":"x"}'), { network: NWID }, 'DEL').env.containerId).toBe('x');
    expect(() => hookRequest(parseOciState('{"id":"x"}'), { network: 'zz' }, 'DEL')).toThrow(/16-hex-digit/);
  });
});

const req = combine(needRootNetns(), needPrograms('runc', 'busybox', 'nsenter', 'python3'), {
  ok: existsSync(HOOK),
  reason: `needs the build (${HOOK}): npm run build:ts`,
});

describe.runIf(requireOrSkip(req, 'ztnc-oci-hook with runc'))('runc with ztnc-oci-hook', () => {
  let rig: ContainerRig;
  let rootfs: string;

  beforeAll(async () => {
    rig = await startContainerRig('10.98.0');
    rootfs = busyboxRootfs();
  }, 180_000);

  afterAll(async () => {
    if (rig?.server.pid) rig.server.kill();
    await killAll();
  });

  /** A bundle from `runc spec` running `script` in busybox, with the hook at createRuntime and poststop. */
  const bundle = (script: string, annotations: Record<string, string>, hookArgs: string[]): string => {
    const dir = tempDir('ztnc-bundle-');
    mkdirSync(join(dir, 'state'));
    const made = spawnSync('runc', ['spec', '-b', dir], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`runc spec: ${made.stderr}`);
    const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { process: Record<string, unknown> } & Record<
      string,
      unknown
    >;
    spec.process.terminal = false;
    spec.process.args = ['/bin/sh', '-c', script];
    spec.root = { path: rootfs, readonly: true };
    spec.annotations = annotations;
    const hook = (stage: string): Record<string, unknown> => ({ path: process.execPath, args: ['node', HOOK, stage, ...hookArgs] });
    spec.hooks = { createRuntime: [hook('createRuntime')], poststop: [hook('poststop')] };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
    return dir;
  };

  it('a container started by runc is a member that fetches a file and has only lo and eth0; poststop removes it', async () => {
    const script = `ip -o link show; echo ---; ip -o -4 addr show; echo ---; wget -q -O - ${rig.url}`;
    const annotations = {
      [ANNOTATION.network]: rig.nwid,
      [ANNOTATION.home]: rig.c.home,
      [ANNOTATION.planet]: join(rig.root.home, 'planet'),
    };
    const dir = bundle(script, annotations, []);
    const id = `ztnc-oci-${process.pid}`;
    const r = spawnSync('runc', ['--root', join(dir, 'state'), 'run', '-b', dir, id], { encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [links, addrs, body] = r.stdout.split('---\n');
    const names = links!
      .trim()
      .split('\n')
      .map((l) => l.split(':')[1]!.trim().split('@')[0]);
    expect(names).toEqual(['lo', 'eth0']);
    expect(addrs).toMatch(/eth0\s+inet 10\.98\.0\.\d+\/24/);
    expect(body).toBe(FILE_TEXT);
    await waitFor(
      async () => (await rig.c.api('GET', `/endpoint/${endpointName(id)}`)).status === 404,
      30_000,
      'the endpoint deleted at poststop',
    );
  }, 180_000);

  it('a hook that cannot attach the container fails its start with the reason', async () => {
    const dir = bundle('true', {}, ['-n', 'not-a-network']);
    const r = spawnSync('runc', ['--root', join(dir, 'state'), 'run', '-b', dir, `ztnc-oci-bad-${process.pid}`], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('not a 16-hex-digit network id');
  }, 60_000);
});
