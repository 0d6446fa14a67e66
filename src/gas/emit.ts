/**
 * Writing the laid-out object at its final addresses: every data value and
 * instruction operand is evaluated again once sections are placed (GNU as
 * would leave relocations for `ld`; seamlab links in one step), every
 * instruction is encoded at its address in one encoder batch, padding is
 * written, and each byte range is tagged with its origin for the source map.
 */
import type { ResolvedInstruction, ResolvedOperand, ResolvedValue } from '../encode/types.js';
import { SeamlabError } from '../errors.js';
import type { ByteRange, StatementOrigin } from './types.js';
import type { Assembler } from './assembler.js';
import { evaluate, EvalError, place, type EvalContext, type Placed } from './evaluate.js';
import { le, type Expr } from './expr.js';
import { codePadding } from './nops.js';
import { type GasSymbol, type InsnItem, type Loc, type Section } from './model.js';
import { positionEncoderError } from './instructions.js';
import { sectionSize } from './relax.js';
import type { EncodeRequest } from './layer.js';

export interface LinkAddresses {
  sectionBase(s: Section): bigint;
  /** Address of an undefined symbol (a harness stub); throws a SeamlabError when there is none. */
  external(sym: GasSymbol): bigint;
  /**
   * Sections the link discards (not written: their values are never
   * computed, like the kernel linker script's /DISCARD/ of `.discard.*`).
   */
  discard?(s: Section): boolean;
}

export interface EmittedSection {
  section: Section;
  address: bigint;
  size: number;
  /** Empty for nobits sections. */
  bytes: Uint8Array;
}

export interface Emitted {
  sections: EmittedSection[];
  ranges: ByteRange[];
}

function linkContext(asm: Assembler, dot: Loc, section: Section): EvalContext {
  return { ...asm.evalContext('link', dot), fixupSection: section };
}

function errorAt(origin: StatementOrigin, err: EvalError, hint: string): SeamlabError {
  return new SeamlabError(err.code, err.message, hint, { where: origin });
}

/** Evaluates an expression at link time to a number (address or constant). */
export function linkValue(asm: Assembler, e: Expr, dot: Loc, section: Section, addr: LinkAddresses, origin: StatementOrigin): Placed {
  try {
    return place(evaluate(e, linkContext(asm, dot, section)), addr.sectionBase, addr.external);
  } catch (err) {
    if (err instanceof EvalError) throw errorAt(origin, err, 'GNU as could not resolve this expression either');
    throw err;
  }
}

function fitsField(v: bigint, width: number, relocatable: boolean, pcrel: boolean): boolean {
  if (width >= 8) return true;
  const bits = BigInt(width * 8);
  const sMin = -(1n << (bits - 1n));
  const sMax = (1n << (bits - 1n)) - 1n;
  const uMax = (1n << bits) - 1n;
  if (pcrel) return v >= sMin && v <= sMax;
  // R_X86_64_32 is zero-extended: an address must fit unsigned.
  if (relocatable && width === 4) return v >= 0n && v <= uMax;
  return (v >= sMin && v <= sMax) || (v >= 0n && v <= uMax);
}

/** The instruction with every operand value as it is at its final address. */
function finalInstruction(asm: Assembler, item: InsnItem, section: Section, addr: LinkAddresses): ResolvedInstruction {
  let k = 0;
  const value = (read: ResolvedValue): ResolvedValue => {
    const e = item.exprs[k++];
    if (!e) throw new Error('internal: operand expression missing');
    if (read.known) return read;
    const p = linkValue(asm, e, item.dot, section, addr, item.origin);
    return { value: p.value, known: false, relocatable: p.relocatable };
  };
  const operand = (o: ResolvedOperand): ResolvedOperand => {
    switch (o.kind) {
      case 'reg':
        k++;
        return o;
      case 'imm':
        return { kind: 'imm', value: value(o.value) };
      case 'mem':
        if (!o.disp) {
          k++;
          return o;
        }
        return { ...o, disp: value(o.disp) };
      case 'target':
        return { kind: 'target', address: value(o.address) };
      case 'indirect':
        if (o.operand.kind === 'reg') {
          k++;
          return o;
        }
        return { kind: 'indirect', operand: o.operand.disp ? { ...o.operand, disp: value(o.operand.disp) } : (k++, o.operand) };
    }
  };
  return { ...item.resolved, operands: item.resolved.operands.map(operand) };
}

export function emitSections(asm: Assembler, addr: LinkAddresses): Emitted {
  const ranges: ByteRange[] = [];
  const out: EmittedSection[] = [];
  const requests: EncodeRequest[] = [];
  const pending: { bytes: Uint8Array; at: number; size: number; item: InsnItem }[] = [];
  for (const section of asm.sections) {
    if (addr.discard?.(section)) continue;
    const size = sectionSize(section);
    const base = addr.sectionBase(section);
    const nobits = section.type === 'nobits';
    const bytes = new Uint8Array(nobits ? 0 : size);
    const range = (at: number, n: number, kind: ByteRange['kind'], origin: StatementOrigin) => {
      if (n <= 0) return;
      const address = base + BigInt(at);
      // The values of one data statement (`.byte 0x66,0x0f,0x01,0xcf`) are one range.
      const prev = ranges[ranges.length - 1];
      if (prev && kind !== 'insn' && prev.origin === origin && prev.kind === kind && prev.section === section.name && prev.address + BigInt(prev.size) === address) prev.size += n;
      else ranges.push({ address, size: n, section: section.name, kind, origin });
    };
    for (const f of section.frags) {
      f.items.forEach((it, k) => {
        const at = f.address + f.offsets[k]!;
        if (it.kind === 'data') {
          if (!nobits) {
            if (it.bytes) bytes.set(it.bytes, at);
            for (const fx of it.fixups ?? []) {
              const p = linkValue(asm, fx.expr, fx.dot, section, addr, it.origin);
              if (!fitsField(p.value, fx.width, p.relocatable, p.pcrel === true)) {
                throw errorAt(it.origin, new EvalError(`value 0x${BigInt.asUintN(64, p.value).toString(16)} does not fit in ${fx.width} byte${fx.width > 1 ? 's' : ''} (relocation truncated to fit)`, 'GAS_FIXUP_OVERFLOW'), 'use a wider data directive or a PC-relative value (sym - .)');
              }
              bytes.set(le(p.value, fx.width), at + fx.at);
            }
          }
          range(at, it.size, it.byteKind, it.origin);
        } else {
          if (it.bytes) bytes.set(it.bytes, at);
          else {
            requests.push({ insn: finalInstruction(asm, it, section, addr), address: base + BigInt(at) });
            pending.push({ bytes, at, size: it.size!, item: it });
          }
          range(at, it.size!, 'insn', it.origin);
        }
      });
      const tailAt = f.address + f.fix;
      const t = f.tail;
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
        case 'branch': {
          const insn = finalInstruction(asm, t.insn, section, addr);
          requests.push({ insn, address: base + BigInt(tailAt), form: t.form });
          pending.push({ bytes, at: tailAt, size: f.varSize, item: t.insn });
          range(tailAt, f.varSize, 'insn', t.insn.origin);
          break;
        }
        case 'none':
          break;
      }
    }
    out.push({ section, address: base, size, bytes });
  }
  const encoded = asm.layer.encodeMany(requests);
  encoded.forEach((r, k) => {
    const p = pending[k]!;
    if (!r.ok) throw positionEncoderError(r.error, p.item.where);
    if (r.bytes.length !== p.size) {
      throw new Error(`internal: ${p.item.text} encoded in ${r.bytes.length} bytes at its final address but laid out in ${p.size}`);
    }
    p.bytes.set(r.bytes, p.at);
  });
  ranges.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return { sections: out, ranges };
}
