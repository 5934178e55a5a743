/**
 * The systemd user units in contrib/systemd. Always: each unit's ExecStart runs a command this
 * package installs (package.json `bin`, with `contrib` in `files`), with only options
 * `ztnc-service --help` documents; and run the way the user manager runs it — specifiers
 * expanded, the unit's Environment= as the whole environment, the command found through the
 * unit's PATH where `npm install --prefix ~/.local` puts it, stdout the journal stream — it runs
 * the daemon in the foreground on the unit's home, writes journal lines, and exits 0 on the
 * unit's KillSignal, so Restart=on-failure leaves a stopped daemon stopped. When systemd is
 * installed (optional: ztnc does not need it), `systemd-analyze verify` has nothing to say about
 * them, for the system and the user manager, the template as an instance.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPrivatePlanet, Identity } from '../../src/node/index.js';
import { programBinDir, programPath, ROOT } from '../support/programs.js';
import { optionalSuite } from '../support/requirements.js';
import { vectorEntry, VECTORS_DIR } from '../support/vectors.js';
import { killAll, tempDir, waitFor } from './service-harness.js';

afterAll(async () => {
  await killAll();
});

const UNITS = ['ztnc-service.service', 'ztnc-service@.service'];
const UNIT_DIR = join(ROOT, 'contrib', 'systemd');

type Unit = Record<string, Record<string, string[]>>;

/** A unit file's sections and their settings (a key given twice keeps both values, in order). */
function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section: Record<string, string[]> | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[([A-Za-z]+)\]$/.exec(line);
    if (head) {
      section = unit[head[1]!] ??= {};
      continue;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    if (!kv || !section) throw new Error(`not a unit file line: ${raw}`);
    (section[kv[1]!] ??= []).push(kv[2]!);
  }
  return unit;
}

/** systemd's specifiers the units use: %h (home), %i (instance), %% (a percent sign). */
function expand(value: string, home: string, instance: string): string {
  return value.replace(/%([hi%])/g, (_, s: string) => (s === 'h' ? home : s === 'i' ? instance : '%'));
}

function unit(name: string): Unit {
  return parseUnit(readFileSync(join(UNIT_DIR, name), 'utf8'));
}

function setting(u: Unit, section: string, key: string): string {
  const v = u[section]?.[key];
  if (!v || v.length !== 1) throw new Error(`[${section}] ${key}= given ${v?.length ?? 0} times`);
  return v[0]!;
}

describe('systemd user units', () => {
  it('start a command this package installs, with options ztnc-service documents', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; files: string[] };
    expect(pkg.files).toContain('contrib');
    const help = execFileSync(process.execPath, [await programPath('ztnc-service'), '--help'], { encoding: 'utf8' });
    for (const name of UNITS) {
      const u = unit(name);
      expect(Object.keys(u), name).toEqual(['Unit', 'Service', 'Install']);
      const [program, command, ...args] = setting(u, 'Service', 'ExecStart').split(/\s+/);
      expect(program, name).toBe('/usr/bin/env');
      expect(Object.keys(pkg.bin), name).toContain(command);
      for (const a of args.filter((x) => x.startsWith('-'))) expect(help, `${name}: ${a}`).toContain(a.split('=')[0]);
      // one positional argument: the home
      expect(
        args.filter((x) => !x.startsWith('-')),
        name,
      ).toHaveLength(1);
    }
  });

  it('run as the user manager runs them: the daemon in the foreground, journal lines, exit 0 on KillSignal', async () => {
    const bin = await programBinDir();
    const ids = JSON.parse(readFileSync(join(VECTORS_DIR, 'identities.json'), 'utf8')) as { valid: { public: string }[] };
    const rootId = Identity.fromString(vectorEntry(ids.valid, 0, 'valid').public);
    for (const [name, instance] of [
      ['ztnc-service.service', ''],
      ['ztnc-service@.service', 'web'],
    ] as const) {
      const u = unit(name);
      const userHome = tempDir('ztnc-unit-');
      // where `npm install -g --prefix ~/.local` puts the command
      mkdirSync(join(userHome, '.local', 'bin'), { recursive: true });
      symlinkSync(join(bin, 'ztnc-service'), join(userHome, '.local', 'bin', 'ztnc-service'));
      const [program, ...args] = expand(setting(u, 'Service', 'ExecStart'), userHome, instance).split(/\s+/);
      const home = args.at(-1)!;
      expect(home, name).toBe(join(userHome, instance ? `.ztnc-${instance}` : '.ztnc'));
      // a home kept on loopback: a private planet (whose root is not running), any free ports
      mkdirSync(home, { mode: 0o700 });
      const planet = createPrivatePlanet({
        id: 0x5eed5n,
        timestamp: 1n,
        roots: [
          { address: rootId.address, publicKey: Buffer.from(rootId.publicKey), stableEndpoints: [{ family: 4, ip: '127.0.0.1', port: 9 }] },
        ],
      });
      if (!planet.ok) throw new Error(planet.error);
      writeFileSync(join(home, 'planet'), planet.value.serialized);
      writeFileSync(join(home, 'local.conf'), JSON.stringify({ settings: { primaryPort: 0, refuseBuiltinPlanet: true } }));

      const env: NodeJS.ProcessEnv = { HOME: userHome };
      for (const e of u.Service!.Environment ?? []) {
        const [k, ...v] = expand(e, userHome, instance).split('=');
        env[k!] = v.join('=');
      }
      const journal = join(userHome, 'journal');
      const fd = openSync(journal, 'w');
      const st = fstatSync(fd);
      env.JOURNAL_STREAM = `${st.dev}:${st.ino}`;
      const p = spawn(program!, args, { env, stdio: ['ignore', fd, fd] });
      closeSync(fd);
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        p.once('exit', (code, signal) => resolve({ code, signal })),
      );
      try {
        await waitFor(() => readFileSync(journal, 'utf8').includes('ztnc-service running'), 60_000, `${name}'s daemon running`);
      } catch (e) {
        p.kill('SIGKILL');
        throw new Error(`${(e as Error).message}:\n${readFileSync(journal, 'utf8')}`, { cause: e });
      }
      expect(setting(u, 'Service', 'KillSignal'), name).toBe('SIGTERM');
      p.kill('SIGTERM');
      expect(await exited, name).toEqual({ code: 0, signal: null });
      const lines = readFileSync(journal, 'utf8').split('\n').filter(Boolean);
      for (const l of lines) expect(l, name).toMatch(/^<[0-7]>[^{]/);
      expect(
        lines.find((l) => l.includes('ztnc-service running')),
        name,
      ).toMatch(new RegExp(`^<6>ztnc-service running .*home=${home}`));
    }
  }, 150_000);
});

/** Why `systemd-analyze verify` cannot run here, or null. */
function noSystemdAnalyze(): string | null {
  const r = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? null : "systemd-analyze is not installed (Debian's systemd package)";
}

describe.runIf(optionalSuite(noSystemdAnalyze(), 'systemd-analyze verify of contrib/systemd'))('systemd-analyze verify', () => {
  it('finds nothing to say about the units, for the system and the user manager', () => {
    const dir = tempDir('ztnc-units-');
    // a template is verified as one of its instances
    const files = UNITS.map((name) => {
      const file = join(dir, name.replace('@.', '@web.'));
      copyFileSync(join(UNIT_DIR, name), file);
      return file;
    });
    // the user manager wants a runtime directory; a private one for this check
    const runtime = join(dir, 'run');
    mkdirSync(runtime, { mode: 0o700 });
    for (const mode of [[], ['--user']]) {
      const r = spawnSync('systemd-analyze', [...mode, '--man=no', 'verify', ...files], {
        encoding: 'utf8',
        env: { ...process.env, XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_LEVEL: 'notice' },
      });
      expect({ mode, status: r.status, output: (r.stdout + r.stderr).trim() }).toEqual({ mode, status: 0, output: '' });
    }
  });
});
