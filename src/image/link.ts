/**
 * Linking one assembled file into an `Image`, like `ld` with seamlab's
 * fixed linker script:
 *
 *   .text at 0xffffffff81000000 (the x86-64 kernel's __START_KERNEL_map +
 *   16 MiB, where vmlinux's .text starts), then every other allocated
 *   section in the order GNU as created them (the first section kept starts
 *   at that address when .text is empty, e.g. 6.12's tdcall.S, which is all
 *   in .noinstr.text), each at the next 4 KiB
 *   boundary after the previous one (or its own alignment if larger), then
 *   `.seamlab.stubs` with the harness stubs. Sections that are empty and
 *   hold no symbol of the object's symbol table (`.L` labels are not in
 *   it) are left out; non-allocated sections (e.g. objtool's
 *   `.discard.*`) are not part of the image (`ld` puts them at address 0).
 *
 * test/image-oracle.test.ts writes the same rule as a GNU ld script and
 * checks that both links agree byte for byte.
 */
import { SeamlabError } from '../errors.js';
import { locationAt } from '../support/source-location.js';
import { PAGE_SIZE } from '../support/memory.js';
import type { ReadonlyFs } from '../support/vfs.js';
import type { InstructionLayer } from '../gas/layer.js';
import type { ObjectFile, ObjectSection, ObjectSymbol } from '../gas/object.js';
import type { StatementOrigin } from '../gas/types.js';
import { placeValue, writeObject, type LinkAddresses } from '../gas/write.js';
import { decodeExtable, EXTABLE_SECTION, ExtableError, extableTypeNames } from './extable.js';
import { KERNEL_STUBS, STUB_ALIGN, STUB_SECTION, STUB_SOURCE } from './stubs.js';
import type { CfiDirective, HarnessStub, Image, ImageSection, ImageSymbol } from './types.js';

export const TEXT_BASE = 0xffffffff81000000n;
const PAGE = BigInt(PAGE_SIZE);

export interface LinkOptions {
  sourceFile: string;
  profile: string;
  /** The revision's files (for EX_TYPE_* names). */
  files?: ReadonlyFs;
  /** The encoder the object was assembled with (default: seamlab's x86 layer). */
  layer?: InstructionLayer;
}

const alignUp = (v: bigint, a: bigint): bigint => ((v + a - 1n) / a) * a;
/** One past the last address of the 64-bit address space. */
const ADDRESS_SPACE_END = 1n << 64n;

/**
 * A section placed past the top of the address space (ld: "section … VMA
 * wraps around address space"), e.g. after `.p2align 31` puts it at 2^64:
 * refused at the statement that asked for the alignment, at build time,
 * instead of an image the machine cannot map.
 */
function wrapsAround(section: string, base: bigint, size: number, where: StatementOrigin | undefined): SeamlabError {
  return new SeamlabError('IMAGE_WRAPS_AROUND', `section ${section} placed at 0x${base.toString(16)} with ${size} bytes wraps around the 64-bit address space`,
    'lower the alignment: sections are placed upwards from 0xffffffff81000000, the top 2 GiB of the address space', where ? { where } : {});
}

/** Does the image keep this section? (Allocated, and non-empty or holding a symbol.) */
function keepSection(obj: ObjectFile, s: ObjectSection): boolean {
  if (!s.flags.alloc) return false;
  if (s.size > 0) return true;
  return obj.symbols.some((sym) => !sym.local && sym.definition === 'label' && sym.value?.kind === 'section' && sym.value.section === s.name);
}

export interface Placement {
  /** Section name → address (0 for sections the image leaves out). */
  bases: Map<string, bigint>;
  /** Names of the sections in the image, in placement order. */
  kept: string[];
  stubBase: bigint;
}

/** The linker script's placement rule. */
export function placeSections(obj: ObjectFile): Placement {
  const bases = new Map<string, bigint>();
  const kept: string[] = [];
  let next = TEXT_BASE;
  const ordered = [...obj.sections].sort((a, b) => (a.name === '.text' ? -1 : b.name === '.text' ? 1 : a.index - b.index));
  for (const s of ordered) {
    if (!keepSection(obj, s)) {
      bases.set(s.name, 0n);
      continue;
    }
    const align = BigInt(Math.max(s.align, Number(PAGE)));
    const base = alignUp(next, align);
    if (base + BigInt(s.size) > ADDRESS_SPACE_END) throw wrapsAround(s.name, base, s.size, s.alignOrigin ?? s.origin);
    bases.set(s.name, base);
    kept.push(s.name);
    next = base + BigInt(s.size);
  }
  return { bases, kept, stubBase: alignUp(next, PAGE) };
}

export function linkObject(obj: ObjectFile, opts: LinkOptions): Image {
  const placement = placeSections(obj);
  const kept = new Set(placement.kept);
  // Stubs for the kernel symbols the file refers to (known before writing).
  const stubs: HarnessStub[] = [];
  const stubBytes: number[] = [];
  for (const sym of [...obj.symbols].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (sym.definition !== 'undefined' || !sym.usedAt) continue;
    const def = KERNEL_STUBS.get(sym.name);
    if (!def) continue;
    while (stubBytes.length % STUB_ALIGN) stubBytes.push(0xcc);
    stubs.push({ name: sym.name, address: placement.stubBase + BigInt(stubBytes.length), kind: def.kind, description: def.description });
    stubBytes.push(...def.bytes);
  }
  const addresses: LinkAddresses = {
    sectionBase: (s) => placement.bases.get(s.name) ?? 0n,
    // Sections outside the image (non-allocated, e.g. objtool's .discard.*) are not written.
    discard: (s) => !kept.has(s.name),
    external: (name) => {
      const stub = stubs.find((st) => st.name === name);
      if (stub) return stub.address;
      throw undefinedSymbol(obj.symbols.find((x) => x.name === name && x.definition === 'undefined'), name);
    },
  };
  const written = writeObject(obj, addresses, opts.layer);
  const sections: ImageSection[] = [];
  for (const w of written.sections) {
    sections.push({
      name: w.section.name,
      address: w.address,
      bytes: w.section.type === 'nobits' ? new Uint8Array(w.section.size) : w.bytes,
      flags: { ...w.section.flags },
      align: w.section.align,
    });
  }
  if (stubs.length > 0) {
    if (placement.stubBase + BigInt(stubBytes.length) > ADDRESS_SPACE_END) {
      const last = obj.sections.find((s) => s.name === placement.kept[placement.kept.length - 1]);
      throw wrapsAround(STUB_SECTION, placement.stubBase, stubBytes.length, last?.alignOrigin ?? last?.origin);
    }
    sections.push({ name: STUB_SECTION, address: placement.stubBase, bytes: Uint8Array.from(stubBytes), flags: { alloc: true, write: false, exec: true }, align: STUB_ALIGN });
  }
  const symbols = linkSymbols(obj, addresses, placement);
  for (const st of stubs) {
    const def = KERNEL_STUBS.get(st.name)!;
    symbols.push({ name: st.name, address: st.address, size: BigInt(def.bytes.length), section: STUB_SECTION, type: 'func', binding: 'global', stub: true });
  }
  symbols.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const ex = sections.find((s) => s.name === EXTABLE_SECTION);
  let extable: Image['extable'] = [];
  if (ex) {
    try {
      extable = decodeExtable(ex, extableTypeNames(opts.files));
    } catch (e) {
      if (e instanceof ExtableError) throw new SeamlabError('IMAGE_BAD_EXTABLE', e.message, 'exception table entries must come from the kernel\'s _ASM_EXTABLE* macros');
      throw e;
    }
  }
  const byteMap = written.ranges;
  stubs.forEach((st, i) => {
    const def = KERNEL_STUBS.get(st.name)!;
    byteMap.push({
      address: st.address,
      size: def.bytes.length,
      section: STUB_SECTION,
      kind: 'insn',
      origin: { ...locationAt({ file: STUB_SOURCE, line: i + 1 }), text: `${st.name}: ${def.text}` },
    });
    const gap = (stubs[i + 1]?.address ?? st.address + BigInt(def.bytes.length)) - (st.address + BigInt(def.bytes.length));
    if (gap > 0n) {
      byteMap.push({
        address: st.address + BigInt(def.bytes.length),
        size: Number(gap),
        section: STUB_SECTION,
        kind: 'align',
        origin: { ...locationAt({ file: STUB_SOURCE, line: i + 1 }), text: 'int3 padding' },
      });
    }
  });
  const cfi: CfiDirective[] = obj.cfi.map((c) => ({
    address: (placement.bases.get(c.section) ?? 0n) + BigInt(c.offset),
    directive: c.directive,
    origin: c.origin,
  }));
  return { sourceFile: opts.sourceFile, profile: opts.profile, sections, symbols, extable, stubs, byteMap, cfi, absoluteReferences: written.absolute };
}

function undefinedSymbol(sym: ObjectSymbol | undefined, name: string): SeamlabError {
  const u = sym?.usedAt;
  const fb = /^\.L(\d+)\x02(\d+)$/.exec(name);
  const what = fb ? `local label \`${fb[1]}:' (referenced as ${fb[1]}b or ${fb[1]}f, but there is no such label in that direction)` : `symbol \`${name}'`;
  return new SeamlabError(
    'IMAGE_UNDEFINED_SYMBOL',
    `undefined ${what}`,
    `define it in the assembly, or use a symbol seamlab provides a stub for (${[...KERNEL_STUBS.keys()].join(', ')})`,
    u ? { where: u } : {},
  );
}

function linkSymbols(obj: ObjectFile, addr: LinkAddresses, placement: Placement): ImageSymbol[] {
  const out: ImageSymbol[] = [];
  const sizeOf = (name: string) => obj.sections.find((s) => s.name === name)!.size;
  for (const sym of obj.symbols) {
    if (sym.local || sym.definition === 'undefined') continue;
    let address: bigint;
    let section: string | null;
    const v = sym.value!;
    if (sym.definition === 'label' && v.kind === 'section') {
      address = (placement.bases.get(v.section) ?? 0n) + v.offset;
      section = v.section;
    } else if (sym.definition === 'absolute' && v.kind === 'absolute') {
      address = v.value;
      section = null;
    } else {
      const origin = sym.definedAt ?? { ...locationAt({ file: obj.file, line: 0 }), text: sym.name };
      const p = placeValue(obj, v, addr, origin);
      address = p.value;
      section = null;
      if (p.relocatable) {
        // An address: find which section it falls in.
        section =
          placement.kept.find((k) => {
            const b = placement.bases.get(k)!;
            return address >= b && address <= b + BigInt(sizeOf(k));
          }) ?? null;
      }
    }
    let size = 0n;
    if (sym.size) {
      const p = placeValue(obj, sym.size.value, addr, sym.size.origin);
      if (p.relocatable) throw new SeamlabError('GAS_BAD_SIZE', `.size expression for ${sym.name} is not a constant`, 'write .size name, end - name');
      size = p.value;
    }
    const entry: ImageSymbol = { name: sym.name, address: BigInt.asUintN(64, address), size, section, type: sym.type, binding: sym.binding };
    if (sym.visibility === 'hidden') entry.hidden = true;
    out.push(entry);
  }
  return out;
}
