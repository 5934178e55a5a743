/**
 * Logging under systemd: when stdout is the stream JOURNAL_STREAM names, ztnc-service writes plain
 * `<priority>message key=value` lines without time stamps (journald adds its own); elsewhere the
 * output is unchanged. And the user units in contrib/systemd run the daemon in the foreground,
 * restarted on failure.
 */
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isJournalStream, journalLine } from '../../src/service/journal-format.js';
import { programPath, ROOT } from '../support/programs.js';
import { killAll, serviceEnv, tempDir, waitFor } from './service-harness.js';

afterAll(async () => {
  await killAll();
});

describe('journal lines', () => {
  it('formats pino records as <priority>message key=value, without time, pid or host', () => {
    const rec = { level: 40, time: 1, pid: 2, hostname: 'h', msg: 'join token refused', nwid: 'abc', n: 3, o: { a: 1 }, s: 'two words' };
    expect(journalLine(JSON.stringify(rec))).toBe('<4>join token refused nwid=abc n=3 o={"a":1} s="two words"\n');
    expect(journalLine(JSON.stringify({ level: 30, msg: 'a\nb' }))).toBe('<6>a\\nb\n');
    expect(journalLine(JSON.stringify({ level: 50, msg: 'x' }))).toBe('<3>x\n');
    expect(journalLine(JSON.stringify({ level: 20, msg: 'x' }))).toBe('<7>x\n');
    expect(journalLine('not json')).toBe('not json\n');
  });

  it('knows the journal stream by device and inode', () => {
    const file = join(tempDir('ztnc-journal-'), 'out');
    const fd = openSync(file, 'w');
    try {
      const st = fstatSync(fd);
      expect(isJournalStream({ JOURNAL_STREAM: `${st.dev}:${st.ino}` }, fd)).toBe(true);
      expect(isJournalStream({ JOURNAL_STREAM: `${st.dev}:${st.ino + 1}` }, fd)).toBe(false);
      expect(isJournalStream({}, fd)).toBe(false);
      expect(isJournalStream({ JOURNAL_STREAM: 'junk' }, fd)).toBe(false);
    } finally {
      closeSync(fd);
    }
  });

  it('ztnc-service writes journal lines when its stdout is JOURNAL_STREAM', async () => {
    const dir = tempDir('ztnc-journal-');
    const file = join(dir, 'journal');
    const fd = openSync(file, 'w');
    const st = fstatSync(fd);
    const service = await programPath('ztnc-service');
    const p = spawn(process.execPath, [service, join(dir, 'home'), '--private-planet', '-p', '0', '--api-port', '0'], {
      env: serviceEnv({ JOURNAL_STREAM: `${st.dev}:${st.ino}` }),
      stdio: ['ignore', fd, 'pipe'],
    });
    closeSync(fd);
    try {
      await waitFor(() => readFileSync(file, 'utf8').includes('ztnc-service running'), 60_000, 'the daemon running');
    } finally {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0);
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(l).toMatch(/^<[0-7]>[^{]/);
    expect(lines.find((l) => l.includes('ztnc-service running'))).toMatch(/^<6>ztnc-service running address=[0-9a-f]{10} /);
    expect(lines.some((l) => /"time"|\d{4}-\d{2}-\d{2}/.test(l))).toBe(false);
  }, 90_000);
});

describe('systemd user units', () => {
  it('run ztnc-service in the foreground, restarted on failure, started with the user session', () => {
    for (const name of ['ztnc-service.service', 'ztnc-service@.service']) {
      const text = readFileSync(join(ROOT, 'contrib', 'systemd', name), 'utf8');
      const exec = /^ExecStart=(.*)$/m.exec(text)?.[1] ?? '';
      expect(exec, name).toMatch(/ztnc-service %h\/\.ztnc/);
      expect(exec, name).not.toMatch(/\s-d\b|--daemon/);
      expect(text, name).toMatch(/^Restart=on-failure$/m);
      expect(text, name).toMatch(/^Type=simple$/m);
      expect(text, name).toMatch(/^WantedBy=default\.target$/m);
    }
  });
});
