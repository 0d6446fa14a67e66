/**
 * An ELF64 x86-64 executable of an `Image` (`seamlab build --elf FILE`): one
 * PT_LOAD per section at its image address, section headers, and a symbol
 * table, so that objdump/gdb/readelf can look at exactly the bytes seamlab
 * runs. Non-allocated sections can be added (the DWARF of src/image/dwarf.ts).
 */
import type { Image, ImageSymbol } from './types.js';
import { PAGE_SIZE } from '../support/memory.js';

const SHT_PROGBITS = 1;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_NOBITS = 8;
const SHF_WRITE = 1;
const SHF_ALLOC = 2;
const SHF_EXECINSTR = 4;
const PT_LOAD = 1;
const SHN_ABS = 0xfff1;
const PAGE = PAGE_SIZE;

class StrTab {
  readonly bytes: number[] = [0];
  private readonly seen = new Map<string, number>();
  add(s: string): number {
    const hit = this.seen.get(s);
    if (hit !== undefined) return hit;
    const at = this.bytes.length;
    for (const b of Buffer.from(s, 'utf8')) this.bytes.push(b);
    this.bytes.push(0);
    this.seen.set(s, at);
    return at;
  }
}

function isNobits(name: string): boolean {
  return name === '.bss' || name.startsWith('.bss.');
}

export interface ElfOptions {
  /** Non-allocated sections written after the image's (e.g. `.debug_line`). */
  extraSections?: readonly { name: string; bytes: Uint8Array }[];
}

export function writeElf(image: Image, opts: ElfOptions = {}): Uint8Array {
  const sections = image.sections;
  const extra = opts.extraSections ?? [];
  const shstr = new StrTab();
  const str = new StrTab();
  // Layout: header + program headers, then each section's bytes at a page-aligned offset.
  const ehsize = 64;
  const phentsize = 56;
  const loadable = sections.filter((s) => s.flags.alloc && s.bytes.length > 0);
  const phoff = ehsize;
  let off = Math.ceil((phoff + phentsize * loadable.length) / PAGE) * PAGE;
  const fileOffsets = new Map<string, number>();
  for (const s of sections) {
    if (isNobits(s.name)) {
      fileOffsets.set(s.name, off);
      continue;
    }
    // p_offset ≡ p_vaddr (mod page size).
    const want = Number(s.address % BigInt(PAGE));
    off = Math.ceil(off / PAGE) * PAGE + want;
    fileOffsets.set(s.name, off);
    off += s.bytes.length;
  }
  const extraOffsets: number[] = [];
  for (const x of extra) {
    extraOffsets.push(off);
    off += x.bytes.length;
  }
  // Symbol table: locals first (ELF requires it), then globals/weak.
  const secIndex = new Map(sections.map((s, i) => [s.name, i + 1]));
  const syms = [...image.symbols].sort((a, b) => Number(a.binding !== 'local') - Number(b.binding !== 'local'));
  const firstGlobal = 1 + syms.filter((s) => s.binding === 'local').length;
  const symtab = Buffer.alloc(24 * (syms.length + 1));
  syms.forEach((s: ImageSymbol, i) => {
    const at = 24 * (i + 1);
    const bind = s.binding === 'local' ? 0 : s.binding === 'global' ? 1 : 2;
    const type = s.type === 'func' ? 2 : s.type === 'object' ? 1 : 0;
    symtab.writeUInt32LE(str.add(s.name), at);
    symtab.writeUInt8((bind << 4) | type, at + 4);
    symtab.writeUInt8(s.hidden ? 2 : 0, at + 5);
    symtab.writeUInt16LE(s.section === null ? SHN_ABS : secIndex.get(s.section) ?? SHN_ABS, at + 6);
    symtab.writeBigUInt64LE(BigInt.asUintN(64, s.address), at + 8);
    symtab.writeBigUInt64LE(BigInt.asUintN(64, s.size), at + 16);
  });
  const symtabOff = Math.ceil(off / 8) * 8;
  off = symtabOff + symtab.length;
  const strBytes = Buffer.from(str.bytes);
  const strOff = off;
  off += strBytes.length;
  const names = sections.map((s) => shstr.add(s.name));
  const extraNames = extra.map((x) => shstr.add(x.name));
  const symtabName = shstr.add('.symtab');
  const strtabName = shstr.add('.strtab');
  const shstrName = shstr.add('.shstrtab');
  const shstrBytes = Buffer.from(shstr.bytes);
  const shstrOff = off;
  off += shstrBytes.length;
  const shoff = Math.ceil(off / 8) * 8;
  const shnum = sections.length + extra.length + 4;
  const total = shoff + 64 * shnum;
  const out = Buffer.alloc(total);
  // ELF header.
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0);
  out.writeUInt16LE(2, 16); // ET_EXEC
  out.writeUInt16LE(62, 18); // EM_X86_64
  out.writeUInt32LE(1, 20);
  const entry = image.symbols.find((s) => s.type === 'func' && s.binding === 'global' && !s.stub)?.address ?? sections[0]?.address ?? 0n;
  out.writeBigUInt64LE(BigInt.asUintN(64, entry), 24);
  out.writeBigUInt64LE(BigInt(phoff), 32);
  out.writeBigUInt64LE(BigInt(shoff), 40);
  out.writeUInt32LE(0, 48);
  out.writeUInt16LE(ehsize, 52);
  out.writeUInt16LE(phentsize, 54);
  out.writeUInt16LE(loadable.length, 56);
  out.writeUInt16LE(64, 58);
  out.writeUInt16LE(shnum, 60);
  out.writeUInt16LE(shnum - 1, 62);
  // Program headers.
  loadable.forEach((s, i) => {
    const at = phoff + phentsize * i;
    const flags = 4 | (s.flags.write ? 2 : 0) | (s.flags.exec ? 1 : 0);
    const nobits = isNobits(s.name);
    out.writeUInt32LE(PT_LOAD, at);
    out.writeUInt32LE(flags, at + 4);
    out.writeBigUInt64LE(BigInt(fileOffsets.get(s.name)!), at + 8);
    out.writeBigUInt64LE(s.address, at + 16);
    out.writeBigUInt64LE(s.address, at + 24);
    out.writeBigUInt64LE(BigInt(nobits ? 0 : s.bytes.length), at + 32);
    out.writeBigUInt64LE(BigInt(s.bytes.length), at + 40);
    out.writeBigUInt64LE(BigInt(PAGE), at + 48);
  });
  for (const s of sections) if (!isNobits(s.name)) out.set(s.bytes, fileOffsets.get(s.name));
  extra.forEach((x, i) => out.set(x.bytes, extraOffsets[i]));
  symtab.copy(out, symtabOff);
  strBytes.copy(out, strOff);
  shstrBytes.copy(out, shstrOff);
  // Section headers.
  const sh = (i: number, name: number, type: number, flags: number, addr: bigint, offset: number, size: number, link: number, info: number, align: number, entsize: number) => {
    const at = shoff + 64 * i;
    out.writeUInt32LE(name, at);
    out.writeUInt32LE(type, at + 4);
    out.writeBigUInt64LE(BigInt(flags), at + 8);
    out.writeBigUInt64LE(addr, at + 16);
    out.writeBigUInt64LE(BigInt(offset), at + 24);
    out.writeBigUInt64LE(BigInt(size), at + 32);
    out.writeUInt32LE(link, at + 40);
    out.writeUInt32LE(info, at + 44);
    out.writeBigUInt64LE(BigInt(align), at + 48);
    out.writeBigUInt64LE(BigInt(entsize), at + 56);
  };
  sections.forEach((s, i) => {
    const flags = (s.flags.alloc ? SHF_ALLOC : 0) | (s.flags.write ? SHF_WRITE : 0) | (s.flags.exec ? SHF_EXECINSTR : 0);
    sh(i + 1, names[i]!, isNobits(s.name) ? SHT_NOBITS : SHT_PROGBITS, flags, s.address, fileOffsets.get(s.name)!, s.bytes.length, 0, 0, s.align, 0);
  });
  extra.forEach((x, i) => sh(sections.length + 1 + i, extraNames[i]!, SHT_PROGBITS, 0, 0n, extraOffsets[i]!, x.bytes.length, 0, 0, 1, 0));
  const symIdx = sections.length + extra.length + 1;
  sh(symIdx, symtabName, SHT_SYMTAB, 0, 0n, symtabOff, symtab.length, symIdx + 1, firstGlobal, 8, 24);
  sh(symIdx + 1, strtabName, SHT_STRTAB, 0, 0n, strOff, strBytes.length, 0, 0, 1, 0);
  sh(symIdx + 2, shstrName, SHT_STRTAB, 0, 0n, shstrOff, shstrBytes.length, 0, 0, 1, 0);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
