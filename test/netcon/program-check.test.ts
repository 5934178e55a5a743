/**
 * Which programs ztnc-intercept refuses before running them: found through PATH as exec finds
 * them, scripts judged by their interpreters, ELF files by what the dynamic loader would do with
 * LD_PRELOAD (static, Go, another class or machine, set-user-ID, file capabilities).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkProgram, envTarget, resolveProgram, shebang } from '../../src/netcon/program-check.js';
import { buildElf } from '../support/elf-builder.js';
import { combine, needPrograms, requireOrSkip } from '../support/requirements.js';
import { SHIM, tempDir } from './harness.js';

const LOADER = '/lib64/ld-linux-x86-64.so.2';

describe('shebang and env', () => {
  it('splits #! lines as Linux does: the interpreter and one optional argument', () => {
    expect(shebang(Buffer.from('#!/bin/sh\n'))).toEqual({ interpreter: '/bin/sh', argument: '' });
    expect(shebang(Buffer.from('#! /usr/bin/python3 -u -B\r\nx'))).toEqual({ interpreter: '/usr/bin/python3', argument: '-u -B' });
    expect(shebang(Buffer.from('#!\n'))).toBeNull();
    expect(shebang(Buffer.from('#/bin/sh\n'))).toBeNull();
  });

  it('finds the program env would run', () => {
    expect(envTarget('python3')).toBe('python3');
    expect(envTarget('-S python3 -u')).toBe('python3');
    expect(envTarget('-S FOO=1 BAR=2 node --x')).toBe('node');
    expect(envTarget('-Snode')).toBe('node');
    expect(envTarget('-i python3')).toBeNull();
    expect(envTarget('')).toBeNull();
  });
});

describe('checkProgram', () => {
  const tmp = tempDir('ztnc-progcheck-');
  const bin = join(tmp.dir, 'bin');
  let realStatic = false;
  const env = (): NodeJS.ProcessEnv => ({ PATH: `${bin}:/usr/bin:/bin` });
  const check = (cmd: string, extra: Partial<Parameters<typeof checkProgram>[1]> = {}) =>
    checkProgram(cmd, { env: env(), library: SHIM, cwd: tmp.dir, euid: 1000, egid: 1000, ...extra });
  const exe = (name: string, bytes: Buffer | string): string => {
    const p = join(bin, name);
    writeFileSync(p, bytes);
    chmodSync(p, 0o755);
    return p;
  };

  beforeAll(() => {
    mkdirSync(bin);
    execFileSync('make', ['-s', '-C', join(SHIM, '..')], { stdio: 'inherit' });
    writeFileSync(join(tmp.dir, 'hi.c'), '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n');
    execFileSync('cc', ['-o', join(bin, 'dynamic'), join(tmp.dir, 'hi.c')]);
    try {
      execFileSync('cc', ['-static', '-o', join(bin, 'static'), join(tmp.dir, 'hi.c')], { stdio: 'ignore' });
      realStatic = true;
    } catch {
      exe('static', buildElf({ type: 2, sections: ['.text'] }).bytes);
    }
    exe('golike', buildElf({ interpreter: LOADER, sections: ['.text', '.go.buildinfo'] }).bytes);
    exe('thirtytwo', buildElf({ bits: 32, machine: 3, interpreter: '/lib/ld-linux.so.2' }).bytes);
    exe('arm', buildElf({ machine: 183, interpreter: '/lib/ld-linux-aarch64.so.1' }).bytes);
    exe('broken', Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), Buffer.alloc(20)]));
    exe('via-static.sh', `#!${join(bin, 'static')}\n`);
    exe('via-env.sh', '#!/usr/bin/env -S FOO=1 golike --flag\n');
    exe('via-script.sh', `#!${join(bin, 'via-static.sh')}\n`);
    exe('shell.sh', '#!/bin/sh\necho hi\n');
    exe('missing-interp.sh', '#!/nonexistent/interp\n');
    exe('text', 'echo plain text, run by a shell if anything\n');
    copyFileSync(join(bin, 'dynamic'), join(bin, 'setuid'));
    chmodSync(join(bin, 'setuid'), 0o4755);
  });

  afterAll(() => tmp.remove());

  it('static programs are refused, naming the reason and the alternative', () => {
    const v = check('static');
    expect(v).toMatchObject({ ok: false, reason: 'static' });
    if (!v.ok) {
      expect(v.message).toContain(join(bin, 'static'));
      expect(v.message).toContain('statically linked');
      expect(v.message).toContain('bypass the container');
      expect(v.message).toContain('ztnc-run');
      expect(v.message).toContain('--allow-uncontained');
    }
    if (!realStatic) console.warn('cc -static is not available here: a crafted static ELF stands in');
  });

  it('Go programs are refused even when dynamically linked (cgo)', () => {
    const v = check('golike');
    expect(v).toMatchObject({ ok: false, reason: 'go' });
    if (!v.ok) expect(v.message).toMatch(/Go program \(it has a \.go\.buildinfo section\): Go makes its socket calls without libc/);
  });

  it('programs of another class or machine are refused (the loader would skip the library)', () => {
    expect(check('thirtytwo')).toMatchObject({ ok: false, reason: 'foreign' });
    const v = check('arm');
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.message).toContain('64-bit AArch64 program and libztintercept.so is 64-bit x86-64');
  });

  it('set-user-ID programs are refused unless they would keep the same user', () => {
    expect(check('setuid', { euid: 1000 })).toMatchObject({ ok: false, reason: 'setuid' });
    expect(check('setuid', { euid: 0 })).toEqual({ ok: true, path: join(bin, 'setuid') });
  });

  it('dynamic programs pass, found through PATH or by path', () => {
    expect(check('dynamic')).toEqual({ ok: true, path: join(bin, 'dynamic') });
    expect(check('./bin/dynamic')).toEqual({ ok: true, path: join(bin, 'dynamic') });
    expect(check('sh').ok).toBe(true);
  });

  it('scripts are judged by their interpreter, through env and nested scripts', () => {
    expect(check('shell.sh')).toEqual({ ok: true, path: join(bin, 'shell.sh') });
    const direct = check('via-static.sh');
    expect(direct).toMatchObject({ ok: false, reason: 'static' });
    if (!direct.ok) expect(direct.message).toContain(`${join(bin, 'static')} (the interpreter of ${join(bin, 'via-static.sh')})`);
    const viaEnv = check('via-env.sh');
    expect(viaEnv).toMatchObject({ ok: false, reason: 'go' });
    if (!viaEnv.ok) expect(viaEnv.message).toContain(`(the interpreter of ${join(bin, 'via-env.sh')}, through /usr/bin/env)`);
    expect(check('via-script.sh')).toMatchObject({ ok: false, reason: 'static' });
  });

  it('what exec itself will reject is left to exec', () => {
    expect(check('no-such-program')).toEqual({ ok: true, path: null });
    expect(check('missing-interp.sh').ok).toBe(true);
    expect(check('text').ok).toBe(true);
  });

  it('a damaged ELF file is refused with a clear reason', () => {
    const v = check('broken');
    expect(v).toMatchObject({ ok: false, reason: 'malformed' });
    if (!v.ok) expect(v.message).toMatch(/is a malformed ELF file \(.*cut short\)/);
  });

  it('without the library nothing could be contained', () => {
    const v = check('dynamic', { library: join(tmp.dir, 'nope.so') });
    expect(v).toMatchObject({ ok: false, reason: 'no-library' });
    if (!v.ok) expect(v.message).toContain('make -C native/intercept');
  });

  it('resolves like execvp: PATH order, executables only, an empty entry is the current directory', () => {
    const other = join(tmp.dir, 'other');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'dynamic'), 'not executable');
    mkdirSync(join(other, 'adir'), { recursive: true });
    expect(resolveProgram('dynamic', { PATH: `${other}:${bin}` }, tmp.dir)).toBe(join(bin, 'dynamic'));
    expect(resolveProgram('adir', { PATH: other }, tmp.dir)).toBeNull();
    expect(resolveProgram('dynamic', { PATH: ':/nonexistent' }, bin)).toBe(join(bin, 'dynamic'));
    expect(resolveProgram('sh', {}, tmp.dir)).toMatch(/\/s?bin\/sh$/);
  });
});

const asRoot = { ok: process.getuid?.() === 0, reason: 'needs root (setcap)' };

describe.runIf(requireOrSkip(combine(asRoot, needPrograms('setcap')), 'programs with file capabilities'))(
  'programs with file capabilities',
  () => {
    const tmp = tempDir('ztnc-progcaps-');
    const bin = join(tmp.dir, 'bin');

    beforeAll(() => {
      mkdirSync(bin);
      for (const name of ['capable', 'inheritable-only']) {
        copyFileSync('/bin/true', join(bin, name));
        chmodSync(join(bin, name), 0o755);
      }
      // as Debian installs iputils ping
      execFileSync('setcap', ['cap_net_raw=ep', join(bin, 'capable')]);
      execFileSync('setcap', ['cap_net_raw=i', join(bin, 'inheritable-only')]);
    });

    afterAll(() => tmp.remove());

    const check = (name: string, euid: number) => checkProgram(join(bin, name), { env: { PATH: bin }, library: SHIM, cwd: tmp.dir, euid });

    it('are refused for a user other than root: the loader ignores LD_PRELOAD for them', () => {
      const v = check('capable', 1000);
      expect(v).toMatchObject({ ok: false, reason: 'capabilities' });
      if (!v.ok) expect(v.message).toContain('file capabilities');
    });

    it('pass for root, and when the file grants nothing the caller does not hold', () => {
      expect(check('capable', 0)).toEqual({ ok: true, path: join(bin, 'capable') });
      expect(check('inheritable-only', 1000)).toEqual({ ok: true, path: join(bin, 'inheritable-only') });
    });
  },
);
