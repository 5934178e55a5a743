/**
 * ztnc-cni against the CNI spec's plugin protocol: VERSION's answer, and errors as the spec's error
 * JSON with its codes and a non-zero status. Runs the built command in dist/ (npm run build:ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/programs.js';

const CNI = join(ROOT, 'dist', 'src', 'cli', 'ztnc-cni.js');
const conf = { cniVersion: '1.0.0', name: 'zt', type: 'ztnc', network: '8056c2e21c000001' };

/** One plugin call as a runtime makes it: command and parameters in the environment, config on stdin. */
function cni(env: Record<string, string>, stdin: string): { code: number | null; out: Record<string, unknown> } {
  const r = spawnSync(process.execPath, [CNI], {
    env: { PATH: process.env.PATH, ...env },
    input: stdin,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, out: JSON.parse(r.stdout) as Record<string, unknown> };
}

const addEnv = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/var/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };

describe.runIf(existsSync(CNI))('ztnc-cni', () => {
  it('answers VERSION with the versions it supports', () => {
    const r = cni({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.1.0"}');
    expect(r.code).toBe(0);
    expect(r.out).toEqual({ cniVersion: '1.1.0', supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] });
  });

  it('refuses an unsupported cniVersion with code 1', () => {
    const r = cni(addEnv, JSON.stringify({ ...conf, cniVersion: '9.9.9' }));
    expect(r.code).not.toBe(0);
    expect(r.out).toMatchObject({ code: 1, msg: expect.stringContaining('9.9.9') });
  });

  it('refuses config that is not JSON with code 6, and a bad network id with code 7', () => {
    expect(cni(addEnv, 'not json').out).toMatchObject({ code: 6 });
    const bad = cni(addEnv, JSON.stringify({ ...conf, network: 'xyz' }));
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatchObject({ cniVersion: '1.0.0', code: 7 });
  });

  it('refuses missing environment with code 4', () => {
    const { CNI_NETNS: _netns, ...noNetns } = addEnv;
    expect(cni(noNetns, JSON.stringify(conf)).out).toMatchObject({ code: 4, msg: 'CNI_NETNS is not set' });
    expect(cni({}, JSON.stringify(conf)).out).toMatchObject({ code: 4 });
  });
});
