/**
 * The ELF inspector on crafted headers (both classes and byte orders, Go markers, damage of every
 * kind) and on the machine's own programs.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GO_BUILDINFO_MAGIC, inspectElf } from '../../src/netcon/elf-facts.js';
import { buildElf, bufferReader } from '../support/elf-builder.js';

function inspect(b: Buffer): ReturnType<typeof inspectElf> {
  return inspectElf(bufferReader(b), b.length);
}

function facts(b: Buffer) {
  const r = inspect(b);
  if (r.kind !== 'elf') throw new Error(`expected ELF facts, got ${JSON.stringify(r)}`);
  return r.facts;
}

/** Go's build-info header: the magic, pointer size 8, flags 2, then padding. */
const GO_HEADER = Buffer.concat([GO_BUILDINFO_MAGIC, Buffer.from([8, 2]), Buffer.alloc(16)]);

describe('inspectElf', () => {
  it('reads class, byte order, machine, type and interpreter of both classes', () => {
    expect(facts(buildElf({ interpreter: '/lib64/ld-linux-x86-64.so.2' }).bytes)).toEqual({
      bits: 64,
      littleEndian: true,
      machine: 62,
      type: 'dyn',
      interpreter: '/lib64/ld-linux-x86-64.so.2',
      go: null,
    });
    expect(facts(buildElf({ bits: 32, machine: 3, type: 2, interpreter: '/lib/ld-linux.so.2' }).bytes)).toMatchObject({
      bits: 32,
      machine: 3,
      type: 'exec',
      interpreter: '/lib/ld-linux.so.2',
    });
    expect(facts(buildElf({ littleEndian: false, machine: 22, interpreter: '/lib/ld64.so.1' }).bytes)).toMatchObject({
      littleEndian: false,
      machine: 22,
      interpreter: '/lib/ld64.so.1',
    });
    expect(facts(buildElf({ bits: 32, littleEndian: false, machine: 8, sections: ['.text'] }).bytes)).toMatchObject({
      bits: 32,
      interpreter: null,
    });
  });

  it('no PT_INTERP: static (also static-pie, which is ET_DYN)', () => {
    expect(facts(buildElf({ type: 2 }).bytes).interpreter).toBeNull();
    expect(facts(buildElf({ type: 3, sections: ['.text', '.dynamic'] }).bytes)).toMatchObject({ type: 'dyn', interpreter: null });
  });

  it('Go programs: by a Go section, or by the build-info magic when there is no section table', () => {
    expect(facts(buildElf({ interpreter: '/lib64/ld-linux-x86-64.so.2', sections: ['.text', '.go.buildinfo'] }).bytes).go).toBe(
      'a .go.buildinfo section',
    );
    expect(facts(buildElf({ sections: ['.note.go.buildid', '.text'] }).bytes).go).toBe('a .note.go.buildid section');
    expect(facts(buildElf({ tail: GO_HEADER }).bytes).go).toBe("Go's build-info magic");
    // Misaligned, or followed by no plausible pointer size: a string in some other program.
    const off = Buffer.concat([Buffer.alloc(3), GO_HEADER]);
    expect(facts(buildElf({ tail: off }).bytes).go).toBeNull();
    const badPtr = Buffer.from(GO_HEADER);
    badPtr[GO_BUILDINFO_MAGIC.length] = 5;
    expect(facts(buildElf({ tail: badPtr }).bytes).go).toBeNull();
    // With a section table that has no Go section, stray magic bytes do not count.
    expect(facts(buildElf({ sections: ['.rodata'], tail: GO_HEADER }).bytes).go).toBeNull();
  });

  it('scans a file larger than one read for the magic', () => {
    const at = (1 << 20) + 32; // in the second 1 MiB read
    const { tailOffset } = buildElf({});
    const { bytes } = buildElf({ tail: Buffer.concat([Buffer.alloc(at - tailOffset), GO_HEADER]) });
    expect(bytes.indexOf(GO_BUILDINFO_MAGIC)).toBe(at);
    expect(facts(bytes).go).toBe("Go's build-info magic");
  });

  it('not ELF: scripts, text, empty files', () => {
    expect(inspect(Buffer.from('#!/bin/sh\necho hi\n'))).toEqual({ kind: 'not-elf' });
    expect(inspect(Buffer.from('plain text'))).toEqual({ kind: 'not-elf' });
    expect(inspect(Buffer.alloc(0))).toEqual({ kind: 'not-elf' });
    expect(inspect(Buffer.from([0x7f, 0x45, 0x4c]))).toEqual({ kind: 'not-elf' });
  });

  it('damaged ELF: a clear reason, never a throw', () => {
    const good = buildElf({ interpreter: '/lib64/ld-linux-x86-64.so.2', sections: ['.text'] }).bytes;
    const damaged = (edit: (b: Buffer) => void): string => {
      const b = Buffer.from(good);
      edit(b);
      const r = inspect(b);
      if (r.kind !== 'malformed') throw new Error(`expected malformed, got ${JSON.stringify(r)}`);
      return r.why;
    };
    expect(damaged((b) => (b[4] = 7))).toMatch(/class 7/);
    expect(damaged((b) => (b[5] = 0))).toMatch(/byte order/);
    expect(damaged((b) => b.writeUInt16LE(1, 16))).toMatch(/type 1 is not an executable/);
    expect(damaged((b) => b.writeUInt16LE(0, 56))).toMatch(/no program headers/);
    expect(damaged((b) => b.writeUInt16LE(40, 54))).toMatch(/entries of 40 bytes/);
    expect(damaged((b) => b.writeBigUInt64LE(1n << 40n, 32))).toMatch(/program header table lies beyond/);
    expect(damaged((b) => b.writeBigUInt64LE(3n, 64 + 56 + 32))).toMatch(/NUL-terminated/);
    expect(damaged((b) => b.writeBigUInt64LE(1n << 20n, 64 + 56 + 32))).toMatch(/interpreter path of/);
    expect(damaged((b) => b.writeUInt16LE(2000, 56))).toMatch(/Linux takes at most/);
    for (const cut of [10, 20, 63, 100, 64 + 56 + 10]) {
      const r = inspect(good.subarray(0, cut));
      expect(r.kind, `cut at ${cut}`).toBe('malformed');
    }
  });

  it('a damaged section table counts as none (exec does not read it)', () => {
    const b = Buffer.from(buildElf({ interpreter: '/l', sections: ['.go.buildinfo'] }).bytes);
    b.writeBigUInt64LE(1n << 40n, 40); // e_shoff far beyond the file
    expect(facts(b)).toMatchObject({ interpreter: '/l', go: null });
  });

  it('random bytes after the ELF magic never throw', () => {
    let seed = 12345;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.alloc(64 + (i % 200));
      for (let j = 0; j < b.length; j++) b[j] = rnd();
      b.set([0x7f, 0x45, 0x4c, 0x46, 1 + (i % 2), 1 + ((i >> 1) % 2)], 0);
      b.writeUInt16LE(2 + (i % 2), 16);
      expect(['elf', 'malformed']).toContain(inspect(b).kind);
    }
  });

  it("the machine's own programs: a dynamic one has the loader as interpreter", () => {
    const ls = execFileSync('sh', ['-c', 'command -v ls'], { encoding: 'utf8' }).trim();
    const fd = openSync(ls, 'r');
    try {
      const size = statSync(ls).size;
      const r = inspectElf((offset, length) => {
        const b = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
        return b.subarray(0, readSync(fd, b, 0, b.length, offset));
      }, size);
      expect(r.kind).toBe('elf');
      if (r.kind === 'elf') expect(r.facts.interpreter).toMatch(/ld-/);
    } finally {
      closeSync(fd);
    }
  });
});
