import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../support/temp-dir.js';
import { Home, HomeError } from '../../src/service/home.js';
import { defaultLocalSettings, loadLocalConf, LocalConfError, parseLocalConf } from '../../src/service/local-conf.js';

function tempHome(): Home {
  const d = tempDir('ztnc-home-');
  return new Home(join(d, 'home'));
}
afterEach(() => {
  removeTempDirs();
});

describe('home directory', () => {
  it('is created with mode 0700 and its subdirectories', () => {
    const h = tempHome();
    h.ensure();
    expect(statSync(h.dir).mode & 0o777).toBe(0o700);
    expect(statSync(h.socketsDir).mode & 0o777).toBe(0o700);
    expect(statSync(h.networksDir).isDirectory()).toBe(true);
  });

  it('lists networks.d joins and reports badly named files', () => {
    const h = tempHome();
    h.ensure();
    writeFileSync(h.networkConf('8056c2e21c000001'), '');
    writeFileSync(join(h.networksDir, '3CE329F872000001.conf'), '');
    writeFileSync(join(h.networksDir, 'not-a-network.conf'), '');
    writeFileSync(join(h.networksDir, 'README'), '');
    const bad: string[] = [];
    expect(h.joinedNetworks((f) => bad.push(f))).toEqual(['3ce329f872000001', '8056c2e21c000001']);
    expect(bad).toEqual([join(h.networksDir, 'not-a-network.conf')]);
  });

  it('skips networks.d entries that are not regular files (a FIFO would block)', () => {
    const h = tempHome();
    h.ensure();
    writeFileSync(h.networkConf('8056c2e21c000001'), '');
    execFileSync('mkfifo', [h.networkConf('8056c2e21c000002')]);
    mkdirSync(h.networkConf('8056c2e21c000003'));
    const notFiles: string[] = [];
    expect(
      h.joinedNetworks(
        () => {},
        (f) => notFiles.push(f),
      ),
    ).toEqual(['8056c2e21c000001']);
    expect(notFiles).toEqual([h.networkConf('8056c2e21c000002'), h.networkConf('8056c2e21c000003')]);
  });

  it('tells when an existing home is open to group or others', () => {
    const h = tempHome();
    h.ensure();
    expect(h.looseMode()).toBeNull();
    chmodSync(h.dir, 0o755);
    h.ensure();
    expect(h.looseMode()).toBe(0o755);
    chmodSync(h.dir, 0o710);
    expect(h.looseMode()).toBe(0o710);
  });

  it('pid file refuses a second live owner and replaces a stale one', () => {
    const h = tempHome();
    h.ensure();
    h.acquirePidFile();
    expect(readFileSync(h.pidFile, 'utf8').trim()).toBe(String(process.pid));
    // pid 1 is alive and is not us: a second daemon must be refused
    const other = new Home(h.dir);
    writeFileSync(h.pidFile, '1\n');
    expect(() => other.acquirePidFile(process.pid)).toThrow(/already running/);
    // a pid that cannot exist is stale
    writeFileSync(h.pidFile, '2147483646\n');
    other.acquirePidFile(process.pid);
    expect(other.readPid()).toBe(process.pid);
    other.releasePidFile();
    expect(other.readPid()).toBeNull();
  });

  it('names the directory when it cannot be created', () => {
    const d = tempDir('ztnc-home-');
    writeFileSync(join(d, 'file'), 'x');
    const h = new Home(join(d, 'file', 'home'));
    expect(() => h.ensure()).toThrow(HomeError);
    expect(() => h.ensure()).toThrow(/file/);
  });
});

describe('local.conf', () => {
  it('defaults when absent', () => {
    const h = tempHome();
    expect(loadLocalConf(h.localConf)).toEqual(defaultLocalSettings());
  });

  it('reads the settings and ignores unknown keys', () => {
    const s = parseLocalConf(
      JSON.stringify({ settings: { primaryPort: 29993, allowLoopbackPaths: true, controllerEnabled: true, softwareUpdate: 'disable' } }),
      'local.conf',
    );
    expect(s.primaryPort).toBe(29993);
    expect(s.apiPort).toBe(29993);
    expect(s.allowLoopbackPaths).toBe(true);
    expect(s.controllerEnabled).toBe(true);
  });

  it("keeps the host's resolvers off unless allowHostResolvers says so", () => {
    expect(defaultLocalSettings().allowHostResolvers).toBe(false);
    expect(parseLocalConf('{"settings": {"allowHostResolvers": true}}', 'local.conf').allowHostResolvers).toBe(true);
  });

  it('keeps the same-daemon fast path on unless fastPath says false', () => {
    expect(defaultLocalSettings().fastPath).toBe(true);
    expect(parseLocalConf('{"settings": {"fastPath": false}}', 'local.conf').fastPath).toBe(false);
    expect(parseLocalConf('{"settings": {}}', 'local.conf').fastPath).toBe(true);
  });

  it.each([
    ['{', /local.conf: is not valid JSON/],
    ['{"settings": {"fastPath": "off"}}', /"fastPath" must be true or false/],
    ['[]', /must hold a JSON object/],
    ['{"settings": 3}', /"settings" must be an object/],
    ['{"settings": {"primaryPort": 70000}}', /"primaryPort" must be an integer port/],
    ['{"settings": {"primaryPort": "9993"}}', /"primaryPort"/],
    ['{"settings": {"bind": ["ok", 3]}}', /"bind" must be a list/],
    ['{"settings": {"allowLoopbackPaths": "yes"}}', /"allowLoopbackPaths" must be true or false/],
    ['{"settings": {"allowHostResolvers": 1}}', /"allowHostResolvers" must be true or false/],
  ])('rejects %s with an error naming the file and key', (text, re) => {
    expect(() => parseLocalConf(text, 'local.conf')).toThrow(LocalConfError);
    expect(() => parseLocalConf(text, 'local.conf')).toThrow(re);
  });
});
