/**
 * Builds small ELF files for tests of the ELF inspector: an ELF header, program headers (a
 * PT_LOAD, and a PT_INTERP when an interpreter is given), and optionally a section table with
 * the given section names. Not runnable programs, only what the headers say.
 */

export interface ElfSpec {
  bits?: 32 | 64;
  littleEndian?: boolean;
  /** e_machine; x86-64 (62) by default. */
  machine?: number;
  /** e_type; ET_DYN (3) by default. */
  type?: number;
  interpreter?: string;
  /** Section names besides the null section and .shstrtab; no section table when undefined. */
  sections?: string[];
  /** Bytes appended after everything else (e.g. a Go build-info header at a chosen alignment). */
  tail?: Buffer;
}

const PT_LOAD = 1;
const PT_INTERP = 3;

/** Builds the file; `tailOffset` tells where `tail` starts. */
export function buildElf(spec: ElfSpec): { bytes: Buffer; tailOffset: number } {
  const bits = spec.bits ?? 64;
  const le = spec.littleEndian ?? true;
  const is64 = bits === 64;
  const ehsize = is64 ? 64 : 52;
  const phent = is64 ? 56 : 32;
  const shent = is64 ? 64 : 40;
  const phdrs = spec.interpreter !== undefined ? 2 : 1;
  const interp = spec.interpreter !== undefined ? Buffer.from(`${spec.interpreter}\0`, 'latin1') : Buffer.alloc(0);
  const names = spec.sections !== undefined ? ['', ...spec.sections, '.shstrtab'] : [];
  const nameOffsets: number[] = [];
  const strtabParts: Buffer[] = [];
  let strLen = 0;
  for (const n of names) {
    nameOffsets.push(strLen);
    const b = Buffer.from(`${n}\0`, 'latin1');
    strtabParts.push(b);
    strLen += b.length;
  }
  const strtab = Buffer.concat(strtabParts);
  const phoff = ehsize;
  const interpOff = phoff + phdrs * phent;
  const strOff = interpOff + interp.length;
  const shoff = align(strOff + strtab.length, 8);
  const tailOffset = align(shoff + names.length * shent, 16);
  const size = tailOffset + (spec.tail?.length ?? 0);
  const b = Buffer.alloc(size);
  const u16 = (at: number, v: number): number => (le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
  const u32 = (at: number, v: number): number => (le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  const word = (at: number, v: number): number =>
    is64 ? (le ? b.writeBigUInt64LE(BigInt(v), at) : b.writeBigUInt64BE(BigInt(v), at)) : u32(at, v);
  b.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1], 0);
  u16(16, spec.type ?? 3);
  u16(18, spec.machine ?? 62);
  u32(20, 1);
  word(is64 ? 32 : 28, phoff);
  word(is64 ? 40 : 32, names.length > 0 ? shoff : 0);
  u16(is64 ? 52 : 40, ehsize);
  u16(is64 ? 54 : 42, phent);
  u16(is64 ? 56 : 44, phdrs);
  u16(is64 ? 58 : 46, shent);
  u16(is64 ? 60 : 48, names.length);
  u16(is64 ? 62 : 50, names.length > 0 ? names.length - 1 : 0);
  const phdr = (i: number, type: number, offset: number, filesz: number): void => {
    const at = phoff + i * phent;
    u32(at, type);
    word(at + (is64 ? 8 : 4), offset);
    word(at + (is64 ? 32 : 16), filesz);
    word(at + (is64 ? 40 : 20), filesz);
  };
  phdr(0, PT_LOAD, 0, size);
  if (spec.interpreter !== undefined) phdr(1, PT_INTERP, interpOff, interp.length);
  interp.copy(b, interpOff);
  strtab.copy(b, strOff);
  for (let i = 1; i < names.length; i++) {
    const at = shoff + i * shent;
    u32(at, nameOffsets[i]!);
    u32(at + 4, i === names.length - 1 ? 3 : 1); // SHT_STRTAB for .shstrtab, else SHT_PROGBITS
    if (i === names.length - 1) {
      word(at + (is64 ? 24 : 16), strOff);
      word(at + (is64 ? 32 : 20), strtab.length);
    }
  }
  spec.tail?.copy(b, tailOffset);
  return { bytes: b, tailOffset };
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** A positional reader over a buffer, as the inspector takes one. */
export function bufferReader(b: Buffer): (offset: number, length: number) => Buffer {
  return (offset, length) => b.subarray(Math.min(offset, b.length), Math.min(offset + length, b.length));
}
