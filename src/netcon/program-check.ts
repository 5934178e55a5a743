/**
 * Whether libztintercept.so can contain a program, decided before it is run: the program is
 * found as execvp finds it (PATH), a `#!` script is judged by its interpreter (and by the program
 * `env` would look up), and an ELF executable is refused when the dynamic loader would not put
 * the library into it: no ELF interpreter (static), another class or machine than the library's,
 * set-user-ID/set-group-ID (the loader then ignores LD_PRELOAD), or a Go program (Go makes its
 * socket calls without libc). Any of those would run with its sockets on the host's network,
 * outside the container, while looking contained.
 */
import { accessSync, closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { basename, delimiter, isAbsolute, join, resolve } from 'node:path';
import { fileCapabilities, isSystemError } from '../native/binding.js';
import { type ElfFacts, inspectElf, machineName, type ReadAt } from './elf-facts.js';

export type UncontainedReason = 'static' | 'go' | 'foreign' | 'setuid' | 'capabilities' | 'malformed' | 'unreadable' | 'no-library';

export type ProgramVerdict =
  /** `path`: the file exec will run, or null when it could not be found (exec reports that). */
  { ok: true; path: string | null } | { ok: false; reason: UncontainedReason; message: string };

export interface ProgramCheckOptions {
  /** The environment the program gets (its PATH is searched). */
  env: NodeJS.ProcessEnv;
  /** The library that will be preloaded. */
  library: string;
  cwd?: string;
  /** Effective ids the program would start with (default: this process's). */
  euid?: number;
  egid?: number;
}

/** st_mode's set-ID bits (not in node's fs.constants). */
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
/** glibc's execvp search path when PATH is unset. */
const DEFAULT_PATH = '/bin:/usr/bin';
/** Linux follows at most this many `#!` interpreters (BINPRM_MAX_RECURSION, plus the program). */
const MAX_SCRIPT_DEPTH = 5;
/** Linux reads this much of a file to find `#!` and the interpreter (BINPRM_BUF_SIZE). */
const SCRIPT_HEAD = 256;

const WHY_BYPASS = 'its sockets would bypass the container and reach the host network directly';
const ALTERNATIVE =
  'Run it in namespace mode instead (ztnc-run, planned), or pass --allow-uncontained to run it anyway, outside the container.';

/** Finds `cmd` as execvp does: a name with a slash as is, otherwise the first executable file on PATH. */
export function resolveProgram(cmd: string, env: NodeJS.ProcessEnv, cwd = process.cwd()): string | null {
  if (cmd.includes('/')) return resolve(cwd, cmd);
  const path = env.PATH ?? DEFAULT_PATH;
  for (const dir of path.split(delimiter)) {
    // An empty entry means the current directory, as for execvp.
    const candidate = resolve(cwd, dir === '' ? '.' : dir, cmd);
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    if (statOf(candidate)?.isFile()) return candidate;
  }
  return null;
}

function statOf(path: string): Stats | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    return fstatSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Checks the program `cmd` would run as; see the file comment. */
export function checkProgram(cmd: string, o: ProgramCheckOptions): ProgramVerdict {
  const cwd = o.cwd ?? process.cwd();
  const lib = inspectFile(o.library);
  if (lib?.kind !== 'elf') {
    const why = lib === null ? 'is missing' : 'why' in lib ? lib.why : 'is not an ELF shared library';
    return {
      ok: false,
      reason: 'no-library',
      message: `${o.library} ${why} (build it with make -C native/intercept); without it every program's sockets would bypass the container.`,
    };
  }
  const path = resolveProgram(cmd, o.env, cwd);
  if (path === null) return { ok: true, path: null };
  const ids = { euid: o.euid ?? process.geteuid?.() ?? 0, egid: o.egid ?? process.getegid?.() ?? 0 };
  const bad = checkFile(path, lib.facts, o.env, cwd, ids, [], 0);
  return bad ?? { ok: true, path };
}

type Inspected =
  | { kind: 'elf'; facts: ElfFacts; stat: Stats }
  | { kind: 'script'; head: Buffer }
  | { kind: 'other' }
  | { kind: 'malformed' | 'unreadable'; why: string };

/** Opens `path` and inspects it; null when it does not exist. */
function inspectFile(path: string): Inspected | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    return { kind: 'unreadable', why: `cannot be read (${code ?? (e as Error).message})` };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { kind: 'unreadable', why: 'is not a regular file' };
    const read: ReadAt = (offset, length) => {
      const b = Buffer.alloc(Math.max(0, Math.min(length, stat.size - offset)));
      let got = 0;
      while (got < b.length) {
        const n = readSync(fd, b, got, b.length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      return b.subarray(0, got);
    };
    const head = read(0, SCRIPT_HEAD);
    if (head[0] === 0x23 && head[1] === 0x21) return { kind: 'script', head };
    const r = inspectElf(read, stat.size);
    if (r.kind === 'malformed') return { kind: 'malformed', why: `is a malformed ELF file (${r.why})` };
    if (r.kind === 'not-elf') return { kind: 'other' };
    return { kind: 'elf', facts: r.facts, stat };
  } catch (e) {
    return { kind: 'unreadable', why: `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  } finally {
    closeSync(fd);
  }
}

/**
 * The verdict against `path`, or null when it can be contained. `via` lists what led here, the
 * program asked for first, then each interpreter on the way (for the message).
 */
function checkFile(
  path: string,
  lib: ElfFacts,
  env: NodeJS.ProcessEnv,
  cwd: string,
  ids: { euid: number; egid: number },
  via: string[],
  depth: number,
): ProgramVerdict | null {
  const through = via.length > 1 ? `, through ${via.slice(1).join(', ')}` : '';
  const who = via.length === 0 ? path : `${path} (the interpreter of ${via[0]}${through})`;
  const refuse = (reason: UncontainedReason, why: string): ProgramVerdict => ({
    ok: false,
    reason,
    message: `${who} ${why}, so ${WHY_BYPASS}. ${ALTERNATIVE}`,
  });
  const r = inspectFile(path);
  // A missing interpreter makes exec fail on its own; nothing runs uncontained.
  if (r === null) return null;
  switch (r.kind) {
    case 'malformed':
    case 'unreadable':
      return {
        ok: false,
        reason: r.kind,
        message: `${who} ${r.why}: it cannot be checked, and if libztintercept.so cannot enter it ${WHY_BYPASS}. Pass --allow-uncontained to run it anyway.`,
      };
    case 'other':
      // Not ELF and not `#!`: exec (or binfmt_misc) decides; nothing here to judge.
      return null;
    case 'script': {
      if (depth >= MAX_SCRIPT_DEPTH) return null; // exec itself fails with ELOOP
      const line = shebang(r.head);
      if (line === null) return null;
      const interp = resolve(cwd, line.interpreter);
      const next = [...via, path];
      const bad = checkFile(interp, lib, env, cwd, ids, next, depth + 1);
      if (bad !== null) return bad;
      // `#!/usr/bin/env prog` runs prog from PATH: that is the program to judge.
      const target = basename(line.interpreter) === 'env' ? envTarget(line.argument) : null;
      const found = target === null ? null : resolveProgram(target, env, cwd);
      return found === null ? null : checkFile(found, lib, env, cwd, ids, [...next, interp], depth + 1);
    }
    case 'elf':
      break;
  }
  const f = r.facts;
  if (f.go !== null) {
    return refuse(
      'go',
      `is a Go program (it has ${f.go}): Go makes its socket calls without libc, where libztintercept.so cannot see them`,
    );
  }
  if (f.bits !== lib.bits || f.machine !== lib.machine) {
    return refuse(
      'foreign',
      `is a ${f.bits}-bit ${machineName(f.machine)} program and libztintercept.so is ${lib.bits}-bit ${machineName(lib.machine)}: the dynamic loader would skip the library`,
    );
  }
  if (f.interpreter === null) {
    return refuse('static', 'is statically linked (it has no ELF interpreter): no dynamic loader runs to preload libztintercept.so');
  }
  // Linux ignores set-ID bits on scripts, so only an ELF program's own bits matter.
  const setid = setIdOf(r.stat, ids);
  if (setid !== null) return refuse('setuid', `is ${setid}: the dynamic loader ignores LD_PRELOAD for it`);
  if (gainsCapabilities(path, ids)) {
    return refuse('capabilities', 'has file capabilities (e.g. setcap cap_net_raw): the dynamic loader ignores LD_PRELOAD for it');
  }
  return null;
}

/**
 * Whether exec would grant the program capabilities from its file, which makes it a secure exec
 * (AT_SECURE) as set-ID bits do (security/commoncap.c: a caller other than root whose permitted
 * set grows, or a file with the effective bit). iputils ping carries cap_net_raw on Debian.
 */
function gainsCapabilities(path: string, ids: { euid: number }): boolean {
  if (ids.euid === 0) return false;
  try {
    const caps = fileCapabilities(path);
    return caps !== null && (caps.permitted !== 0 || caps.effective);
  } catch (e) {
    if (isSystemError(e)) return false; // unreadable attributes: exec decides, as for a file it cannot read
    throw e;
  }
}

/** "set-user-ID (owner uid 0)" when exec would change the program's ids, else null. */
function setIdOf(st: Stats, ids: { euid: number; egid: number }): string | null {
  if ((st.mode & S_ISUID) !== 0 && st.uid !== ids.euid) return `set-user-ID (owner uid ${st.uid})`;
  // Set-group-ID without group execute is mandatory locking, not an id change.
  if ((st.mode & S_ISGID) !== 0 && (st.mode & constants.S_IXGRP) !== 0 && st.gid !== ids.egid) return `set-group-ID (group ${st.gid})`;
  return null;
}

/** `#!interpreter [argument]` as Linux splits it: one optional argument, the rest of the line. */
export function shebang(head: Buffer): { interpreter: string; argument: string } | null {
  if (head[0] !== 0x23 || head[1] !== 0x21) return null;
  const nl = head.indexOf(0x0a);
  const line = head
    .toString('latin1', 2, nl < 0 ? head.length : nl)
    .replace(/^[ \t]+/, '')
    .replace(/[ \t\r]+$/, '');
  if (line === '') return null;
  const m = /^(\S+)(?:[ \t]+(.*))?$/.exec(line);
  if (m === null) return null;
  return { interpreter: m[1]!, argument: m[2] ?? '' };
}

/** The program `env <argument>` runs (`env prog`, `env -S prog args`, `env -S VAR=x prog`), or null. */
export function envTarget(argument: string): string | null {
  let words = argument.split(/[ \t]+/).filter((w) => w !== '');
  if (words[0] === '-S' || words[0] === '--split-string') words = words.slice(1);
  else if (words[0]?.startsWith('-S')) words = [words[0].slice(2), ...words.slice(1)];
  else if (words.length > 1) return null; // without -S the whole rest is one program name
  for (const w of words) {
    if (w.startsWith('-')) return null; // other env options: do not guess
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) continue;
    return isAbsolute(w) ? w : w.includes('/') ? join('.', w) : w;
  }
  return null;
}
