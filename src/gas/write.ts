/**
 * Writing an object file at its final addresses (what `ld` does with GNU
 * as's relocations; seamlab links in one step): each relocation's value is
 * placed and checked against its field, every instruction left open is
 * encoded at its address in one encoder batch, and each statement's byte
 * range gets its address for the image's byte map.
 */
import { SeamlabError } from '../errors.js';
import { toLittleEndian } from '../support/memory.js';
import { positionEncoderError } from './instructions.js';
import { x86Layer, type EncodeRequest, type InstructionLayer } from './layer.js';
import { forEachValue, type LinkInstruction, type LinkValue, type ObjectFile, type ObjectSection } from './object.js';
import type { ByteRange, StatementOrigin } from './types.js';

export interface LinkAddresses {
  sectionBase(section: ObjectSection): bigint;
  /** Address of an undefined symbol (a harness stub); throws a SeamlabError when there is none. */
  external(symbol: string): bigint;
  /**
   * Sections the link discards (not written: their values are never
   * placed, like the kernel linker script's /DISCARD/ of `.discard.*`).
   */
  discard?(section: ObjectSection): boolean;
}

/** A value placed at link time: an address or a number. */
export interface Placed {
  value: bigint;
  /** An address in a section or of an external symbol (not a plain number). */
  relocatable: boolean;
  /** `x - .` across sections: a PC-relative value (signed range in data). */
  pcrel: boolean;
}

export interface WrittenSection {
  section: ObjectSection;
  address: bigint;
  /** Empty for nobits sections. */
  bytes: Uint8Array;
}

export interface Written {
  sections: WrittenSection[];
  /** Sorted by address. */
  ranges: ByteRange[];
  /** Statements that wrote an absolute address (of a section or an external symbol) into the bytes: what makes the code position-dependent. */
  absolute: AbsoluteReference[];
}

/** An address written into the bytes as a number, not relative to where it is written. */
export interface AbsoluteReference {
  /** Where the statement's bytes are. */
  address: bigint;
  origin: StatementOrigin;
}

/** The number a link-time value stands for once sections and externals have addresses. */
export function placeValue(obj: ObjectFile, v: LinkValue, addr: LinkAddresses, origin: StatementOrigin): Placed {
  const base = (name: string) => {
    const s = obj.sections.find((x) => x.name === name);
    if (!s) throw new Error(`internal: no section ${name}`);
    return addr.sectionBase(s);
  };
  if (v.kind === 'invalid') throw new SeamlabError(v.code, v.message, 'GNU as could not resolve this expression either', { where: origin });
  if (v.kind === 'absolute') return { value: v.value, relocatable: false, pcrel: false };
  const minus = v.pcrel ? base(v.pcrel.section) + v.pcrel.offset : 0n;
  const at = v.kind === 'section' ? base(v.section) + v.offset : addr.external(v.symbol) + v.addend;
  return { value: BigInt.asIntN(64, at - minus), relocatable: !v.pcrel, pcrel: !!v.pcrel };
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
function finalInstruction(obj: ObjectFile, li: LinkInstruction, addr: LinkAddresses): EncodeRequest['insn'] {
  let i = 0;
  return forEachValue(li.insn, (read) => {
    const v = li.values[i++];
    if (v === undefined) throw new Error('internal: operand value missing');
    if (v === null) return read;
    const p = placeValue(obj, v, addr, li.origin);
    return { value: p.value, known: false, relocatable: p.relocatable };
  });
}

/** Writes every section the link keeps at its address. */
export function writeObject(obj: ObjectFile, addr: LinkAddresses, layer: InstructionLayer = x86Layer): Written {
  const out: WrittenSection[] = [];
  const written = new Map<string, WrittenSection>();
  for (const section of obj.sections) {
    if (addr.discard?.(section)) continue;
    const w: WrittenSection = { section, address: addr.sectionBase(section), bytes: Uint8Array.from(section.bytes) };
    out.push(w);
    written.set(section.name, w);
  }
  const absolute: AbsoluteReference[] = [];
  for (const r of obj.relocations) {
    const w = written.get(r.section);
    if (!w || w.section.type === 'nobits') continue;
    const p = placeValue(obj, r.value, addr, r.origin);
    if (p.relocatable) absolute.push({ address: w.address + BigInt(r.offset), origin: r.origin });
    if (!fitsField(p.value, r.width, p.relocatable, p.pcrel)) {
      throw new SeamlabError(
        'GAS_FIXUP_OVERFLOW',
        `value 0x${BigInt.asUintN(64, p.value).toString(16)} does not fit in ${r.width} byte${r.width > 1 ? 's' : ''} (relocation truncated to fit)`,
        'use a wider data directive or a PC-relative value (sym - .)',
        { where: r.origin },
      );
    }
    w.bytes.set(toLittleEndian(p.value, r.width), r.offset);
  }
  const pending = obj.linkInstructions.filter((li) => written.has(li.section));
  for (const li of pending) {
    if (hasAbsoluteAddress(obj, li, addr)) absolute.push({ address: written.get(li.section)!.address + BigInt(li.offset), origin: li.origin });
  }
  const requests: EncodeRequest[] = pending.map((li) => {
    const req: EncodeRequest = { insn: finalInstruction(obj, li, addr), address: written.get(li.section)!.address + BigInt(li.offset) };
    if (li.form) req.form = li.form;
    return req;
  });
  layer.encodeMany(requests).forEach((r, k) => {
    const li = pending[k]!;
    if (!r.ok) throw positionEncoderError(r.error, li.where);
    if (r.bytes.length !== li.size) {
      throw new Error(`internal: ${li.text} encoded in ${r.bytes.length} bytes at its final address but laid out in ${li.size}`);
    }
    written.get(li.section)!.bytes.set(r.bytes, li.offset);
  });
  const ranges: ByteRange[] = [];
  for (const r of obj.ranges) {
    const w = written.get(r.section);
    if (w) ranges.push({ address: w.address + BigInt(r.offset), size: r.size, section: r.section, kind: r.kind, origin: r.origin });
  }
  ranges.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return { sections: out, ranges, absolute };
}

/**
 * Does the instruction carry an address as an immediate or an absolute
 * displacement? Branch targets and RIP-relative displacements are encoded
 * relative to the instruction; anything else relocatable is a number.
 */
function hasAbsoluteAddress(obj: ObjectFile, li: LinkInstruction, addr: LinkAddresses): boolean {
  let i = 0;
  let found = false;
  forEachValue(li.insn, (read) => {
    const v = li.values[i++];
    if (v === undefined || v === null) return read;
    const p = placeValue(obj, v, addr, li.origin);
    const operand = li.insn.operands.find((o) => (o.kind === 'imm' && o.value === read) || (o.kind === 'mem' && o.disp === read) || (o.kind === 'target' && o.address === read)
      || (o.kind === 'indirect' && o.operand.kind === 'mem' && o.operand.disp === read));
    const relative = operand?.kind === 'target' || (operand?.kind === 'mem' && operand.base === 'rip');
    if (p.relocatable && !relative) found = true;
    return read;
  });
  return found;
}
