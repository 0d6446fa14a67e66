/**
 * The object file: what `assemble()` returns, as plain data. Like an ELF
 * relocatable object it holds, per section, the laid-out contents (frags
 * with their final offsets and sizes) with the fields that depend on where
 * the linker puts things left open — data values as relocations, and the
 * instructions whose encoding depends on their final address — plus the
 * symbol table, the byte map (which statement produced which bytes), the
 * statement log for listings, the `.cfi_*` directives and the warnings.
 *
 * Link-time values are evaluated here, once layout is final, into
 * relocation-shaped `LinkValue`s (a number, a section offset, an external
 * symbol, each ± addend and optionally PC-relative): what is left to the
 * linker is adding section and symbol addresses (write.ts).
 */
import type { BranchForm, ResolvedInstruction, ResolvedValue } from '../encode/types.js';
import type { ErrorWhere } from '../support/source-location.js';
import { locOffset, type Assembler, type AsmWarning } from './assembler.js';
import { evaluate, EvalError, type Val } from './evaluate.js';
import type { Expr } from './expr.js';
import { codePadding } from './nops.js';
import type { GasSymbol, InsnItem, Loc, Section, SectionType } from './model.js';
import { sectionSize } from './relax.js';
import type { ByteKind, SectionFlags, StatementOrigin } from './types.js';
import type { ErrorCode } from '../error-codes.js';

export type { AsmWarning } from './assembler.js';

export interface ObjectFile {
  /** The main source file. */
  file: string;
  /** In creation order (GNU as numbers sections this way). */
  sections: ObjectSection[];
  /** Defined symbols of the symbol table, and every undefined symbol a statement referred to. */
  symbols: ObjectSymbol[];
  /** Data fields the linker fills. */
  relocations: Relocation[];
  /** Instructions encoded by the linker at their final address. */
  linkInstructions: LinkInstruction[];
  /** Which statement produced which bytes, by section and offset. */
  ranges: ObjectRange[];
  /** Every executed statement in source order (`as -al`). */
  statements: StatementRecord[];
  cfi: CfiRecord[];
  warnings: AsmWarning[];
}

export interface ObjectSection {
  name: string;
  index: number;
  flags: SectionFlags;
  type: SectionType;
  /** Other ELF flag letters as written (M, S, G, o, R …): recorded, not interpreted. */
  extraFlags: string;
  /** Largest alignment requested in the section, in bytes. */
  align: number;
  /** The statement that requested `align` (the linker's errors point there). */
  alignOrigin?: StatementOrigin;
  size: number;
  /** The contents, with fields the linker fills left zero; empty for nobits sections. */
  bytes: Uint8Array;
  /** The layout: frags with their final offsets. */
  frags: ObjectFrag[];
  /** Where the section was first named. */
  origin?: StatementOrigin;
}

export interface ObjectFrag {
  /** Offset in the section. */
  offset: number;
  /** Size of the fixed part. */
  fixed: number;
  /** The variable tail: alignment, `.skip`/`.fill` sized by layout, a relaxable branch, `.org`. */
  tail: 'none' | 'align' | 'space' | 'branch' | 'org';
  tailSize: number;
  /** The form relaxation chose for a branch tail. */
  form?: BranchForm;
}

export interface SectionOffset {
  section: string;
  offset: bigint;
}

export type LinkValue =
  | { kind: 'absolute'; value: bigint }
  /** An address in a section; with `pcrel`, minus that position (`x - .` across sections). */
  | { kind: 'section'; section: string; offset: bigint; pcrel?: SectionOffset }
  /** An undefined symbol + addend (the linker binds it to a harness stub). */
  | { kind: 'external'; symbol: string; addend: bigint; pcrel?: SectionOffset }
  /** Not computable (GNU as: invalid operands): an error if the linker writes it. */
  | { kind: 'invalid'; code: ErrorCode; message: string };

export interface Relocation {
  section: string;
  offset: number;
  width: number;
  value: LinkValue;
  origin: StatementOrigin;
}

export interface LinkInstruction {
  section: string;
  offset: number;
  /** Length chosen by layout (the encoding at the final address must have it). */
  size: number;
  /** The instruction as resolved when read. */
  insn: ResolvedInstruction;
  /** Per operand value (in `forEachValue` order): its link-time value, or null when it was known when read. */
  values: (LinkValue | null)[];
  /** For a relaxed branch. */
  form?: BranchForm;
  text: string;
  origin: StatementOrigin;
  /** For encoder errors: the statement with its labels. */
  where: ErrorWhere;
}

export interface ObjectSymbol {
  name: string;
  /** A label, `.set` to a number, `.set` to an expression evaluated at link time, or not defined (external). */
  definition: 'label' | 'absolute' | 'expression' | 'undefined';
  /** Absent for undefined symbols. */
  value?: LinkValue;
  /** `.size`, evaluated like a data value. */
  size?: { value: LinkValue; origin: StatementOrigin };
  binding: 'local' | 'global' | 'weak';
  visibility: 'default' | 'hidden' | 'protected' | 'internal';
  type: 'notype' | 'func' | 'object';
  /** `.L` and numeric local labels (listed only when undefined, for the error). */
  local: boolean;
  definedAt?: StatementOrigin;
  /** First reference. */
  usedAt?: StatementOrigin;
}

export interface ObjectRange {
  section: string;
  offset: number;
  size: number;
  kind: ByteKind;
  origin: StatementOrigin;
}

/** One executed statement, for listings (`as -al`); its expansion depth is `origin.gasStack.length`. */
export interface StatementRecord {
  kind: 'insn' | 'directive' | 'label' | 'macro' | 'rept';
  origin: StatementOrigin;
  /** The section the statement started in, and where. */
  section: string;
  offset: number;
  /** Bytes it produced (0 when it ended in another section). */
  size: number;
}

export interface CfiRecord {
  section: string;
  offset: number;
  directive: string;
  origin: StatementOrigin;
}

/**
 * Visits an instruction's operand values in order (immediates,
 * displacements, branch targets) with the index of the operand expression
 * each was read from, and rebuilds the instruction with what `visit` returns.
 */
export function forEachValue(insn: ResolvedInstruction, visit: (v: ResolvedValue, exprIndex: number) => ResolvedValue): ResolvedInstruction {
  let k = 0;
  const value = (v: ResolvedValue) => visit(v, k++);
  const operands = insn.operands.map((o) => {
    switch (o.kind) {
      case 'reg':
        k++;
        return o;
      case 'imm':
        return { kind: 'imm' as const, value: value(o.value) };
      case 'mem':
        if (!o.disp) {
          k++;
          return o;
        }
        return { ...o, disp: value(o.disp) };
      case 'target':
        return { kind: 'target' as const, address: value(o.address) };
      case 'indirect':
        if (o.operand.kind === 'reg' || !o.operand.disp) {
          k++;
          return o;
        }
        return { kind: 'indirect' as const, operand: { ...o.operand, disp: value(o.operand.disp) } };
    }
  });
  return { ...insn, operands };
}

/** The link-time value of an expression written in `section` (a `sym - .` across sections is PC-relative there). */
function linkValueOf(asm: Assembler, e: Expr, dot: Loc, section: Section): LinkValue {
  let v: Val;
  try {
    v = evaluate(e, { ...asm.evalContext('link', dot), fixupSection: section });
  } catch (err) {
    if (err instanceof EvalError) return { kind: 'invalid', code: err.code, message: err.message };
    throw err;
  }
  const pcrel = (p: { section: Section; off: bigint } | undefined) => (p ? { pcrel: { section: p.section.name, offset: p.off } } : {});
  switch (v.k) {
    case 'abs':
      return { kind: 'absolute', value: v.v };
    case 'sec':
      return { kind: 'section', section: v.section.name, offset: v.off, ...pcrel(v.pcrel) };
    case 'ext':
      return { kind: 'external', symbol: v.sym.name, addend: v.add, ...pcrel(v.pcrel) };
    case 'reg':
      return { kind: 'invalid', code: 'GAS_REGISTER_VALUE', message: `register %${v.reg} where a value is required` };
    default:
      throw new Error(`internal: a ${v.k} value at link time`);
  }
}

function symbolEntry(asm: Assembler, sym: GasSymbol): ObjectSymbol | undefined {
  if (sym.kind === 'register') return undefined;
  if (sym.local && sym.kind !== 'undefined') return undefined;
  const entry: ObjectSymbol = { name: sym.name, definition: 'undefined', binding: sym.binding, visibility: sym.visibility, type: sym.type, local: sym.local };
  if (sym.definedAt) entry.definedAt = sym.definedAt;
  if (sym.usedAt) entry.usedAt = sym.usedAt;
  switch (sym.kind) {
    case 'label':
      entry.definition = 'label';
      entry.value = { kind: 'section', section: sym.loc!.frag.section.name, offset: BigInt(locOffset(sym.loc!) + (sym.offset ?? 0)) };
      break;
    case 'absolute':
      entry.definition = 'absolute';
      entry.value = { kind: 'absolute', value: sym.value! };
      break;
    case 'expr':
      entry.definition = 'expression';
      entry.value = linkValueOf(asm, sym.expr!, sym.exprDot!, sym.exprDot!.frag.section);
      break;
    case 'undefined':
      break;
  }
  if (sym.size && sym.kind !== 'undefined') {
    const origin = sym.definedAt ?? { pos: { file: asm.file, line: 0 }, includeStack: [], cppStack: [], gasStack: [], text: `.size ${sym.name}` };
    entry.size = { value: linkValueOf(asm, sym.size.expr, sym.size.dot, sym.size.dot.frag.section), origin };
  }
  return entry;
}

/** The values an instruction's operands take at link time (null where known when read). */
function linkValues(asm: Assembler, item: InsnItem, section: Section): (LinkValue | null)[] {
  const values: (LinkValue | null)[] = [];
  forEachValue(item.resolved, (v, k) => {
    if (v.known) values.push(null);
    else {
      const e = item.exprs[k];
      if (!e) throw new Error('internal: operand expression missing');
      values.push(linkValueOf(asm, e, item.dot, section));
    }
    return v;
  });
  return values;
}

function linkInstruction(asm: Assembler, item: InsnItem, section: Section, offset: number, size: number, form?: BranchForm): LinkInstruction {
  const li: LinkInstruction = { section: section.name, offset, size, insn: item.resolved, values: linkValues(asm, item, section), text: item.text, origin: item.origin, where: item.where };
  if (form) li.form = form;
  return li;
}

/** The plain object of a laid-out assembly (after relaxAll). */
export function objectFile(asm: Assembler): ObjectFile {
  const sections: ObjectSection[] = [];
  const relocations: Relocation[] = [];
  const linkInstructions: LinkInstruction[] = [];
  const ranges: ObjectRange[] = [];
  for (const section of asm.sections) {
    const size = sectionSize(section);
    const nobits = section.type === 'nobits';
    const bytes = new Uint8Array(nobits ? 0 : size);
    const range = (offset: number, n: number, kind: ByteKind, origin: StatementOrigin) => {
      if (n <= 0) return;
      // The values of one data statement (`.byte 0x66,0x0f,0x01,0xcf`) are one range.
      const prev = ranges[ranges.length - 1];
      if (prev && kind !== 'insn' && prev.origin === origin && prev.kind === kind && prev.section === section.name && prev.offset + prev.size === offset) prev.size += n;
      else ranges.push({ section: section.name, offset, size: n, kind, origin });
    };
    const frags: ObjectFrag[] = [];
    for (const f of section.frags) {
      f.items.forEach((it, k) => {
        const at = f.address + f.offsets[k]!;
        if (it.kind === 'data') {
          if (!nobits) {
            if (it.bytes) bytes.set(it.bytes, at);
            for (const fx of it.fixups ?? []) {
              relocations.push({ section: section.name, offset: at + fx.at, width: fx.width, value: linkValueOf(asm, fx.expr, fx.dot, section), origin: it.origin });
            }
          }
          range(at, it.size, it.byteKind, it.origin);
        } else {
          if (it.bytes) bytes.set(it.bytes, at);
          else linkInstructions.push(linkInstruction(asm, it, section, at, it.size!));
          range(at, it.size!, 'insn', it.origin);
        }
      });
      const tailAt = f.address + f.fix;
      const t = f.tail;
      const frag: ObjectFrag = { offset: f.address, fixed: f.fix, tail: t.kind, tailSize: f.varSize };
      switch (t.kind) {
        case 'align':
          if (!nobits && f.varSize > 0) {
            if (t.fill === 'nop') bytes.set(codePadding(f.varSize), tailAt);
            else for (let i = 0; i < f.varSize; i++) bytes[tailAt + i] = t.fill[i % t.fill.length]!;
          }
          range(tailAt, f.varSize, 'align', t.origin);
          break;
        case 'space':
          if (!nobits) for (let i = 0; i < f.varSize; i++) bytes[tailAt + i] = t.fill[i % t.fill.length]!;
          range(tailAt, f.varSize, 'fill', t.origin);
          break;
        case 'org':
          if (!nobits) bytes.fill(t.fill, tailAt, tailAt + f.varSize);
          range(tailAt, f.varSize, 'fill', t.origin);
          break;
        case 'branch':
          frag.form = t.form;
          linkInstructions.push(linkInstruction(asm, t.insn, section, tailAt, f.varSize, t.form));
          range(tailAt, f.varSize, 'insn', t.insn.origin);
          break;
        case 'none':
          break;
      }
      frags.push(frag);
    }
    const s: ObjectSection = { name: section.name, index: section.index, flags: { ...section.flags }, type: section.type, extraFlags: section.extraFlags, align: section.align, ...(section.alignOrigin ? { alignOrigin: section.alignOrigin } : {}), size, bytes, frags };
    if (section.origin) s.origin = section.origin;
    sections.push(s);
  }
  const symbols: ObjectSymbol[] = [];
  for (const sym of asm.symbols.values()) {
    const e = symbolEntry(asm, sym);
    if (e) symbols.push(e);
  }
  const offsetOf = (loc: Loc) => locOffset(loc);
  const statements: StatementRecord[] = asm.log.map((r) => ({
    kind: r.kind,
    origin: r.origin,
    section: r.start.frag.section.name,
    offset: offsetOf(r.start),
    size: r.start.frag.section === r.end.frag.section ? offsetOf(r.end) - offsetOf(r.start) : 0,
  }));
  const cfi: CfiRecord[] = asm.cfi.map((c) => ({ section: c.dot.frag.section.name, offset: offsetOf(c.dot), directive: c.directive, origin: c.origin }));
  return { file: asm.file, sections, symbols, relocations, linkInstructions, ranges, statements, cfi, warnings: asm.warnings };
}
