/**
 * What an executable's ELF headers say about whether an LD_PRELOAD library can enter it
 * (System V gABI, "ELF Header", "Program Header", "Sections"; Linux's binfmt_elf reads the same
 * fields): its class and machine, its ELF interpreter (PT_INTERP: without one no dynamic loader
 * runs, so nothing is preloaded) and signs of a Go program (Go makes its system calls without
 * libc). Reads only the bytes it needs through a positional reader, never the whole file, except
 * the scan for Go's build-info magic in a file that has no section table.
 */

/** Reads up to `length` bytes at `offset`; fewer at the end of the file. */
export type ReadAt = (offset: number, length: number) => Buffer;

export interface ElfFacts {
  bits: 32 | 64;
  littleEndian: boolean;
  /** e_machine (EM_X86_64 = 62, EM_386 = 3, EM_AARCH64 = 183…). */
  machine: number;
  /** ET_EXEC or ET_DYN (position-independent executables and static-pie are ET_DYN). */
  type: 'exec' | 'dyn';
  /** The PT_INTERP path (the dynamic loader), or null: a static executable. */
  interpreter: string | null;
  /** Why this looks like a Go program (the section or magic found), or null. */
  go: string | null;
}

export type ElfInspection = { kind: 'elf'; facts: ElfFacts } | { kind: 'not-elf' } | { kind: 'malformed'; why: string };

export const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
/** The first bytes of Go's build information (runtime/debug, cmd/go/internal/version). */
export const GO_BUILDINFO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
/** Sections only Go's linker writes. */
const GO_SECTIONS = ['.go.buildinfo', '.note.go.buildid', '.gopclntab'];

const ET_EXEC = 2;
const ET_DYN = 3;
const PT_INTERP = 3;
/** e_phnum value saying the real count is in section 0's sh_info. */
const PN_XNUM = 0xffff;
/** e_shstrndx value saying the real index is in section 0's sh_link. */
const SHN_XINDEX = 0xffff;
/** Linux refuses program header tables larger than this (binfmt_elf's load_elf_phdrs). */
const MAX_PHDR_BYTES = 65536;
const MAX_SECTIONS = 1 << 16;
const MAX_SHSTRTAB = 16 << 20;
const PATH_MAX = 4096;
const SCAN_CHUNK = 1 << 20;

/** Field offsets of the two ELF classes. */
interface Layout {
  ehsize: number;
  phoff: number;
  shoff: number;
  phentsize: number;
  phnum: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
  /** Program header: p_offset, p_filesz and the entry size. */
  pOffset: number;
  pFilesz: number;
  phent: number;
  /** Section header: sh_name, sh_offset, sh_size, sh_link, sh_info and the entry size. */
  shName: number;
  shOffset: number;
  shSize: number;
  shLink: number;
  shInfo: number;
  shent: number;
}

const LAYOUT64: Layout = {
  ehsize: 64,
  phoff: 32,
  shoff: 40,
  phentsize: 54,
  phnum: 56,
  shentsize: 58,
  shnum: 60,
  shstrndx: 62,
  pOffset: 8,
  pFilesz: 32,
  phent: 56,
  shName: 0,
  shOffset: 24,
  shSize: 32,
  shLink: 40,
  shInfo: 44,
  shent: 64,
};

const LAYOUT32: Layout = {
  ehsize: 52,
  phoff: 28,
  shoff: 32,
  phentsize: 42,
  phnum: 44,
  shentsize: 46,
  shnum: 48,
  shstrndx: 50,
  pOffset: 4,
  pFilesz: 16,
  phent: 32,
  shName: 0,
  shOffset: 16,
  shSize: 20,
  shLink: 24,
  shInfo: 28,
  shent: 40,
};

class Malformed extends Error {}

/** Reads integers of one ELF class and byte order. */
class Fields {
  constructor(
    private readonly bits: 32 | 64,
    private readonly le: boolean,
  ) {}

  u16(b: Buffer, at: number): number {
    return this.le ? b.readUInt16LE(at) : b.readUInt16BE(at);
  }

  u32(b: Buffer, at: number): number {
    return this.le ? b.readUInt32LE(at) : b.readUInt32BE(at);
  }

  /** An address-sized field (offsets and sizes); beyond 2^53 cannot be a file position. */
  word(b: Buffer, at: number): number {
    if (this.bits === 32) return this.u32(b, at);
    const v = this.le ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }
}

/** Exactly `length` bytes at `offset` inside a file of `size` bytes, or Malformed naming `what`. */
function readExact(read: ReadAt, size: number, offset: number, length: number, what: string): Buffer {
  if (offset < 0 || length < 0 || offset + length > size) throw new Malformed(`${what} lies beyond the end of the file`);
  const b = read(offset, length);
  if (b.length < length) throw new Malformed(`${what} is cut short`);
  return b;
}

/** Inspects the file behind `read` (`size` bytes long). Never throws for bad input. */
export function inspectElf(read: ReadAt, size: number): ElfInspection {
  const head = read(0, 64);
  if (head.length < 4 || !head.subarray(0, 4).equals(ELF_MAGIC)) return { kind: 'not-elf' };
  try {
    return { kind: 'elf', facts: elfFacts(read, size, head) };
  } catch (e) {
    if (e instanceof Malformed) return { kind: 'malformed', why: e.message };
    throw e;
  }
}

function elfFacts(read: ReadAt, size: number, head: Buffer): ElfFacts {
  if (head.length < 16) throw new Malformed('the ELF identification is cut short');
  const cls = head[4];
  const data = head[5];
  if (cls !== 1 && cls !== 2) throw new Malformed(`unknown ELF class ${cls}`);
  if (data !== 1 && data !== 2) throw new Malformed(`unknown ELF byte order ${data}`);
  const bits = cls === 1 ? 32 : 64;
  const L = bits === 64 ? LAYOUT64 : LAYOUT32;
  if (head.length < L.ehsize) throw new Malformed('the ELF header is cut short');
  const f = new Fields(bits, data === 1);
  const etype = f.u16(head, 16);
  if (etype !== ET_EXEC && etype !== ET_DYN) throw new Malformed(`ELF type ${etype} is not an executable`);
  const sections = readSections(read, size, f, L, head);
  const interpreter = readInterpreter(read, size, f, L, head, sections);
  const goSection = sections?.names.find((n) => GO_SECTIONS.includes(n)) ?? null;
  let go = goSection === null ? null : `a ${goSection} section`;
  // Without a section table (stripped to the bone) only the build-info magic tells Go apart.
  if (sections === null && scanGoMagic(read, size)) go = "Go's build-info magic";
  return { bits, littleEndian: data === 1, machine: f.u16(head, 18), type: etype === ET_EXEC ? 'exec' : 'dyn', interpreter, go };
}

interface Sections {
  names: string[];
  /** Section 0, which holds the counts that do not fit in the ELF header. */
  first: Buffer;
}

/**
 * Section names, or null when the file has no usable section table. Sections do not matter to
 * exec, so a damaged table is treated as absent, never as a malformed program.
 */
function readSections(read: ReadAt, size: number, f: Fields, L: Layout, head: Buffer): Sections | null {
  const shoff = f.word(head, L.shoff);
  const entsize = f.u16(head, L.shentsize);
  if (shoff === 0 || entsize < L.shent) return null;
  try {
    const first = readExact(read, size, shoff, L.shent, 'section 0');
    let count = f.u16(head, L.shnum);
    if (count === 0) count = f.word(first, L.shSize);
    let strndx = f.u16(head, L.shstrndx);
    if (strndx === SHN_XINDEX) strndx = f.u32(first, L.shLink);
    if (count === 0 || count > MAX_SECTIONS || strndx >= count) return null;
    const table = readExact(read, size, shoff, count * entsize, 'the section table');
    const strHdr = table.subarray(strndx * entsize, strndx * entsize + L.shent);
    const strSize = f.word(strHdr, L.shSize);
    if (strSize > MAX_SHSTRTAB) return null;
    const strtab = readExact(read, size, f.word(strHdr, L.shOffset), strSize, 'the section names');
    const names: string[] = [];
    for (let i = 0; i < count; i++) {
      const at = f.u32(table, i * entsize + L.shName);
      if (at >= strtab.length) continue;
      const end = strtab.indexOf(0, at);
      names.push(strtab.toString('latin1', at, end < 0 ? strtab.length : end));
    }
    return { names, first };
  } catch (e) {
    if (e instanceof Malformed) return null;
    throw e;
  }
}

/** The PT_INTERP path, read as Linux's loader reads it; null when there is none. */
function readInterpreter(read: ReadAt, size: number, f: Fields, L: Layout, head: Buffer, sections: Sections | null): string | null {
  const phoff = f.word(head, L.phoff);
  const entsize = f.u16(head, L.phentsize);
  let count = f.u16(head, L.phnum);
  if (count === PN_XNUM) {
    if (sections === null) throw new Malformed('the program header count is in a section table the file lacks');
    count = f.u32(sections.first, L.shInfo);
  }
  if (count === 0) throw new Malformed('no program headers');
  if (entsize !== L.phent) throw new Malformed(`program header entries of ${entsize} bytes (expected ${L.phent})`);
  if (count * entsize > MAX_PHDR_BYTES)
    throw new Malformed(`${count} program headers (Linux takes at most ${MAX_PHDR_BYTES} bytes of them)`);
  const table = readExact(read, size, phoff, count * entsize, 'the program header table');
  for (let i = 0; i < count; i++) {
    const p = table.subarray(i * entsize, (i + 1) * entsize);
    if (f.u32(p, 0) !== PT_INTERP) continue;
    const len = f.word(p, L.pFilesz);
    if (len < 2 || len > PATH_MAX) throw new Malformed(`an interpreter path of ${len} bytes`);
    const raw = readExact(read, size, f.word(p, L.pOffset), len, 'the interpreter path');
    if (raw[len - 1] !== 0) throw new Malformed('the interpreter path is not NUL-terminated');
    return raw.toString('latin1', 0, raw.indexOf(0));
  }
  return null;
}

/** Scans the whole file for Go's build-info header (16-byte aligned, pointer size 4 or 8 after it). */
function scanGoMagic(read: ReadAt, size: number): boolean {
  const m = GO_BUILDINFO_MAGIC;
  for (let base = 0; base < size; base += SCAN_CHUNK) {
    const chunk = read(base, SCAN_CHUNK + m.length + 1);
    for (let i = chunk.indexOf(m); i >= 0; i = chunk.indexOf(m, i + 1)) {
      if ((base + i) % 16 !== 0 || i + m.length >= chunk.length) continue;
      const ptrSize = chunk[i + m.length];
      if (ptrSize === 4 || ptrSize === 8) return true;
    }
    if (chunk.length < SCAN_CHUNK) break;
  }
  return false;
}

/** e_machine names for messages (the common ones). */
export function machineName(machine: number): string {
  const names: Record<number, string> = {
    3: 'i386',
    8: 'MIPS',
    20: 'PowerPC',
    21: 'PowerPC64',
    22: 's390',
    40: 'ARM',
    62: 'x86-64',
    183: 'AArch64',
    243: 'RISC-V',
    258: 'LoongArch',
  };
  return names[machine] ?? `machine ${machine}`;
}
