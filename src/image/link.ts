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
import type { Assembler } from '../gas/assembler.js';
import { emitSections, linkValue, type LinkAddresses } from '../gas/emit.js';
import { locOffset } from '../gas/assembler.js';
import { type GasSymbol, type Section } from '../gas/model.js';
import { sectionSize } from '../gas/relax.js';
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
}

const alignUp = (v: bigint, a: bigint): bigint => ((v + a - 1n) / a) * a;

/** Does the image keep this section? (Allocated, and non-empty or holding a symbol.) */
function keepSection(asm: Assembler, s: Section): boolean {
  if (!s.flags.alloc) return false;
  if (sectionSize(s) > 0) return true;
  for (const sym of asm.symbols.values()) if (!sym.local && sym.kind === 'label' && sym.loc!.frag.section === s) return true;
  return false;
}

export interface Placement {
  bases: Map<Section, bigint>;
  kept: Section[];
  stubBase: bigint;
}

/** The linker script's placement rule. */
export function placeSections(asm: Assembler): Placement {
  const bases = new Map<Section, bigint>();
  const kept: Section[] = [];
  let next = TEXT_BASE;
  const ordered = [...asm.sections].sort((a, b) => (a.name === '.text' ? -1 : b.name === '.text' ? 1 : a.index - b.index));
  for (const s of ordered) {
    if (!keepSection(asm, s)) {
      bases.set(s, 0n);
      continue;
    }
    const align = BigInt(Math.max(s.align, Number(PAGE)));
    const base = alignUp(next, align);
    bases.set(s, base);
    kept.push(s);
    next = base + BigInt(sectionSize(s));
  }
  return { bases, kept, stubBase: alignUp(next, PAGE) };
}

export function linkObject(asm: Assembler, opts: LinkOptions): Image {
  const placement = placeSections(asm);
  // Stubs for the kernel symbols the file refers to (known before writing).
  const stubs: HarnessStub[] = [];
  const stubBytes: number[] = [];
  for (const sym of [...asm.symbols.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (sym.kind !== 'undefined' || !sym.usedAt) continue;
    const def = KERNEL_STUBS.get(sym.name);
    if (!def) continue;
    while (stubBytes.length % STUB_ALIGN) stubBytes.push(0xcc);
    stubs.push({ name: sym.name, address: placement.stubBase + BigInt(stubBytes.length), kind: def.kind, description: def.description });
    stubBytes.push(...def.bytes);
  }
  const addresses: LinkAddresses = {
    sectionBase: (s) => placement.bases.get(s) ?? 0n,
    // Sections outside the image (non-allocated, e.g. objtool's .discard.*) are not written.
    discard: (s) => !placement.kept.includes(s),
    external: (sym) => {
      const stub = stubs.find((st) => st.name === sym.name);
      if (stub) return stub.address;
      throw undefinedSymbol(sym);
    },
  };
  const emitted = emitSections(asm, addresses);
  const sections: ImageSection[] = [];
  for (const e of emitted.sections) {
    if (!placement.kept.includes(e.section)) continue; // empty allocated sections
    sections.push({
      name: e.section.name,
      address: e.address,
      bytes: e.section.type === 'nobits' ? new Uint8Array(e.size) : e.bytes,
      flags: { ...e.section.flags },
      align: e.section.align,
    });
  }
  if (stubs.length > 0) {
    sections.push({ name: STUB_SECTION, address: placement.stubBase, bytes: Uint8Array.from(stubBytes), flags: { alloc: true, write: false, exec: true }, align: STUB_ALIGN });
  }
  const symbols = linkSymbols(asm, addresses, placement);
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
  const byteMap = emitted.ranges.filter((r) => placement.kept.some((s) => s.name === r.section));
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
  const cfi: CfiDirective[] = asm.cfi.map((c) => ({
    address: (placement.bases.get(c.dot.frag.section) ?? 0n) + BigInt(locOffset(c.dot)),
    directive: c.directive,
    origin: c.origin,
  }));
  return { sourceFile: opts.sourceFile, profile: opts.profile, sections, symbols, extable, stubs, byteMap, cfi };
}

function undefinedSymbol(sym: GasSymbol): SeamlabError {
  const u = sym.usedAt;
  const fb = /^\.L(\d+)\x02(\d+)$/.exec(sym.name);
  const what = fb ? `local label \`${fb[1]}:' (referenced as ${fb[1]}b or ${fb[1]}f, but there is no such label in that direction)` : `symbol \`${sym.name}'`;
  return new SeamlabError(
    'IMAGE_UNDEFINED_SYMBOL',
    `undefined ${what}`,
    `define it in the assembly, or use a symbol seamlab provides a stub for (${[...KERNEL_STUBS.keys()].join(', ')})`,
    u ? { where: u } : {},
  );
}

function linkSymbols(asm: Assembler, addr: LinkAddresses, placement: Placement): ImageSymbol[] {
  const out: ImageSymbol[] = [];
  for (const sym of asm.symbols.values()) {
    if (sym.local || sym.kind === 'undefined' || sym.kind === 'register') continue;
    let address: bigint;
    let section: string | null;
    if (sym.kind === 'label') {
      const s = sym.loc!.frag.section;
      address = (placement.bases.get(s) ?? 0n) + BigInt(locOffset(sym.loc!) + (sym.offset ?? 0));
      section = s.name;
    } else if (sym.kind === 'absolute') {
      address = sym.value!;
      section = null;
    } else {
      const origin = sym.definedAt!;
      const v = linkValue(asm, sym.expr!, sym.exprDot!, sym.exprDot!.frag.section, addr, origin);
      address = v.value;
      section = null;
      if (v.relocatable) {
        // An address: find which section it falls in.
        const s = placement.kept.find((k) => {
          const b = placement.bases.get(k)!;
          return address >= b && address <= b + BigInt(sectionSize(k));
        });
        section = s?.name ?? null;
      }
    }
    let size = 0n;
    if (sym.size) {
      const origin = sym.definedAt ?? { ...locationAt({ file: asm.file, line: 0 }), text: `.size ${sym.name}` };
      const v = linkValue(asm, sym.size.expr, sym.size.dot, sym.size.dot.frag.section, addr, origin);
      if (v.relocatable) throw new SeamlabError('GAS_BAD_SIZE', `.size expression for ${sym.name} is not a constant`, 'write .size name, end - name');
      size = v.value;
    }
    const entry: ImageSymbol = { name: sym.name, address: BigInt.asUintN(64, address), size, section, type: sym.type, binding: sym.binding };
    if (sym.visibility === 'hidden') entry.hidden = true;
    out.push(entry);
  }
  return out;
}
