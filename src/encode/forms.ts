/**
 * Instruction forms: what GNU as 2.40 would pick for a resolved instruction
 * (operand size, immediate slot, displacement size, segment prefix), and the
 * Keystone text that forces exactly that form. Values never reach Keystone:
 * each immediate/displacement is replaced by a placeholder of the chosen
 * width, and the real value is written into the bytes afterwards
 * (src/encode/x86.ts). That makes Keystone's output depend only on the form,
 * so it is cached by text, and it makes every size decision ours — the
 * parity rules below say which GNU as behaviour each reproduces.
 */
import { SeamlabError } from '../errors.js';
import type { ResolvedInstruction, ResolvedMem, ResolvedOperand, ResolvedValue } from './types.js';
import { gprBits, regInfo } from './registers.js';
import {
  IMM_CLASSES, type ImmClass, type ImmTemplate, type OpSize,
  constantImmTypes, fitsS32, fitsU32, matchImmTemplate, slotBytes, symbolImmTypes,
} from './immediates.js';
import { hex } from '../support/format.js';

/** Mnemonics that take a b/w/l/q size suffix in AT&T syntax (only those whose size matters here). */
const SUFFIXABLE = new Set([
  'mov', 'add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp', 'test', 'not', 'neg', 'inc', 'dec',
  'mul', 'imul', 'div', 'idiv', 'shl', 'shr', 'sal', 'sar', 'rol', 'ror', 'rcl', 'rcr', 'push', 'pop',
  'lea', 'xchg', 'bt', 'bts', 'btr', 'btc', 'bsf', 'bsr', 'cmpxchg', 'xadd', 'movabs', 'shld', 'shrd',
  'popcnt', 'lzcnt', 'tzcnt', 'nop', 'ret', 'lret', 'in', 'out', 'int',
]);

const IMM_CLASS_OF: Readonly<Record<string, ImmClass>> = {
  add: 'alu', or: 'alu', adc: 'alu', sbb: 'alu', and: 'alu', sub: 'alu', xor: 'alu', cmp: 'alu',
  test: 'test', mov: 'mov', movabs: 'movabs', push: 'push', imul: 'imul',
  shl: 'shift', shr: 'shift', sal: 'shift', sar: 'shift', rol: 'shift', ror: 'shift', rcl: 'shift', rcr: 'shift',
  bt: 'imm8', bts: 'imm8', btr: 'imm8', btc: 'imm8', int: 'imm8', in: 'imm8', out: 'imm8', shld: 'imm8', shrd: 'imm8',
  ret: 'imm16', lret: 'imm16',
};

const SUFFIX_SIZE: Readonly<Record<string, OpSize>> = { b: 8, w: 16, l: 32, q: 64 };
const SIZE_SUFFIX: Readonly<Record<OpSize, string>> = { 8: 'b', 16: 'w', 32: 'l', 64: 'q' };

export interface MnemonicInfo {
  base: string;
  suffix?: OpSize;
}

/** Splits a size suffix off a mnemonic GNU as would accept it on (`movq` → mov+q; `cmovl` stays). */
export function splitSuffix(mnemonic: string): MnemonicInfo {
  if (SUFFIXABLE.has(mnemonic)) return { base: mnemonic };
  const last = mnemonic.slice(-1);
  const base = mnemonic.slice(0, -1);
  if (last in SUFFIX_SIZE && SUFFIXABLE.has(base)) return { base, suffix: SUFFIX_SIZE[last]! };
  return { base: mnemonic };
}

function isStackOp(base: string): boolean {
  return base === 'push' || base === 'pop';
}

/**
 * The operand size GNU as uses (its `guess_suffix` / `i.suffix`): the
 * suffix, else the last general-purpose register operand, else the default
 * (q for push/pop in 64-bit mode, l otherwise — GNU as warns "no instruction
 * mnemonic suffix given and no register operands; using default").
 */
export function operandSize(info: MnemonicInfo, operands: readonly ResolvedOperand[], prefixes: readonly string[]): OpSize {
  if (info.suffix) return info.suffix;
  // The shift count %cl and the port %dx do not size the instruction (`shl %cl,(%rax)` is shll).
  const countFirst = (IMM_CLASS_OF[info.base] === 'shift' || info.base === 'shld' || info.base === 'shrd') && operands.length >= 2;
  const skip = (i: number, op: ResolvedOperand) =>
    (countFirst && i === 0 && op.kind === 'reg' && op.reg === 'cl') ||
    ((info.base === 'in' || info.base === 'out') && op.kind === 'reg' && op.reg === 'dx' && (info.base === 'in' ? i === 0 : i === 1));
  for (let i = operands.length - 1; i >= 0; i--) {
    const op = operands[i]!;
    if (skip(i, op)) continue;
    if (op.kind === 'reg') {
      const bits = gprBits(op.reg);
      if (bits) return bits as OpSize;
    }
  }
  if (prefixes.includes('data16')) return 16;
  return isStackOp(info.base) ? 64 : 32;
}

export interface ValueField {
  /** Bytes in the encoding. */
  bytes: number;
  /** The value GNU as emits (low `bytes` bytes are stored). */
  value: bigint;
  /** For %rip-relative symbols: store value − end of instruction. */
  pcRelative?: boolean;
  /** A relocated or unknown value: range-checked like ld would (signed 32 for disp/imm32s, …). */
  reloc?: RangeCheck;
  /** The placeholder Keystone was given (to verify Keystone chose the forced form). */
  placeholder: bigint;
}

export interface FormPlan {
  /** What Keystone encodes (prefixes stripped, values replaced by placeholders). */
  ksText: string;
  /** Legacy prefix bytes seamlab adds (written prefixes, needed segment overrides). */
  prefixBytes: number[];
  disp?: ValueField;
  /** Immediates, in encoding order (the order they are written in AT&T). */
  imms: ValueField[];
  /** Absolute address: Keystone got `(,%rax,1)`; SIB 05 becomes 25 (no index). */
  sibNoIndex: boolean;
  /** The A0–A3 moffs64 form: Keystone must see `movabs`. */
  moffs?: boolean;
  /**
   * Bytes after the displacement that are not seamlab's fields: immediates
   * of instructions outside the modelled classes (SSE/AVX imm8 …), passed to
   * Keystone as values. Assumed imm8 each; layOut verifies the placeholder.
   */
  rawTail: number;
}

const P8 = 0x5an;
const P16 = 0x5a5an;
const P32 = 0x5a5a5a5an;
const P64 = 0x5a5a5a5a5a5a5a5an;


function placeholderFor(bytes: number): bigint {
  return bytes === 1 ? P8 : bytes === 2 ? P16 : bytes === 4 ? P32 : P64;
}

export function unsupported(message: string, hint = 'write the instruction in a form GNU as accepts, or report the form to seamlab'): SeamlabError {
  return new SeamlabError('ENCODE_UNSUPPORTED', message, hint);
}

function rangeError(message: string): SeamlabError {
  return new SeamlabError('ENCODE_RANGE', message, 'use a value that fits the operand (GNU as rejects this form too)');
}

type RangeCheck = 'signed' | 'unsigned' | 'bitfield';

/**
 * How ld (or GNU as, for a constant it resolves late) checks a value that
 * was written through a fixup. ld: R_X86_64_32S/_PC32 signed, R_X86_64_32
 * unsigned, R_X86_64_8/_16 "bitfield" (the bits above the field all 0 or
 * all 1: `movb $sym,%al` links with sym = 0xff or -0x81, not 0x100 — checked
 * with ld 2.40). GNU as's own check for a constant it resolves late is the
 * same up to the one value -2^N. `wide32` is the check for a 4-byte field:
 * signed for 64-bit operands and addresses, unsigned for 32-bit ones.
 */
function rangeCheck(bytes: number, v: ResolvedValue, wide32: RangeCheck): RangeCheck | undefined {
  if (bytes === 8) return undefined;
  if (v.relocatable !== true || bytes < 4) return 'bitfield';
  return wide32;
}

/** A value GNU as cannot size at parse time: it must get the relocation-sized form. */
function isSymbolic(v: ResolvedValue): boolean {
  return !v.known || v.relocatable === true;
}

/** Default segment of an address: SS for %rsp/%rbp bases, DS otherwise (SDM Vol. 1, 3.7.4). */
function defaultSegment(mem: ResolvedMem): string {
  const b = mem.base;
  return b === 'rsp' || b === 'rbp' || b === 'esp' || b === 'ebp' ? 'ss' : 'ds';
}

const SEGMENT_BYTES: Readonly<Record<string, number>> = { es: 0x26, cs: 0x2e, ss: 0x36, ds: 0x3e, fs: 0x64, gs: 0x65 };

interface MemContext {
  /** The instruction is `mov`/`movabs` with the accumulator as the other operand. */
  accumulatorMov: boolean;
  movabs: boolean;
  /** GNU as want_disp32(): 32-bit addressing or lea to a 16/32-bit register. */
  wantDisp32: boolean;
}

/**
 * Chooses the displacement form of a memory operand like GNU as
 * optimize_disp()/build_modrm_byte() and renders it for Keystone.
 */
function planMemory(mem: ResolvedMem, ctx: MemContext, plan: FormPlan): string {
  // Parity rule (segment overrides): GNU as emits a segment prefix only when it differs from the
  // address's default segment (`%ds:(%rax)` → none, `%ds:(%rsp)` → 3E, `%ss:(%rbp)` → none).
  // Keystone drops or keeps them differently, so seamlab emits the prefix itself.
  if (mem.segment && mem.segment !== defaultSegment(mem)) plan.prefixBytes.push(SEGMENT_BYTES[mem.segment]!);
  const regs = mem.base || mem.index ? `(${mem.base ? '%' + mem.base : ''}${mem.index ? `,%${mem.index},${mem.scale ?? 1}` : ''})` : '';
  const d = mem.disp;
  if (mem.base === 'rip' || mem.base === 'eip') {
    // %rip-relative: always disp32. A symbol is stored relative to the next instruction; a
    // plain number is the displacement itself (GNU as: `0x10(%rip)` → disp32 0x10). GNU as
    // treats anything it cannot evaluate at that point as a symbol, even a forward-referenced
    // absolute constant (`F(%rip)` with `.set F,3` later is pc-relative to address 3).
    let value = d ? BigInt.asIntN(64, d.value) : 0n;
    const pcRelative = d !== undefined && isSymbolic(d);
    // lea into a 16/32-bit register (GNU as want_disp32): the number is taken modulo 2^32.
    if (!pcRelative && ctx.wantDisp32) value = BigInt.asIntN(32, value);
    if (!pcRelative && d && d.known && !fitsS32(value)) throw rangeError(`${hex(value)} out of range of signed 32bit displacement`);
    plan.disp = { bytes: 4, value, pcRelative, placeholder: P32 };
    return `${hex(P32)}${regs}`;
  }
  if (mem.base || mem.index) {
    if (d && isSymbolic(d)) {
      plan.disp = { bytes: 4, value: BigInt.asIntN(64, d.value), reloc: rangeCheck(4, d, ctx.wantDisp32 ? 'unsigned' : 'signed'), placeholder: P32 };
      return `${hex(P32)}${regs}`;
    }
    let v = d ? BigInt.asIntN(64, d.value) : 0n;
    // GNU as: with 32-bit addressing (or lea into a 16/32-bit register) a displacement that
    // fits 32 bits unsigned is read as signed (`0xffffffff(%eax)` is -1 → disp8); one that does
    // not fit 32 bits at all gets disp32 with its low 32 bits (no range error there).
    if (ctx.wantDisp32 && fitsU32(v)) v = BigInt.asIntN(32, v);
    const truncate32 = ctx.wantDisp32 && !fitsS32(v);
    const needsDisp = !mem.base || mem.base === 'rbp' || mem.base === 'r13' || mem.base === 'ebp' || mem.base === 'r13d';
    if (v === 0n && !needsDisp) return regs; // GNU as drops a zero displacement
    if (truncate32) {
      plan.disp = { bytes: 4, value: v, placeholder: P32 };
      return `${hex(P32)}${regs}`;
    }
    if (!mem.base) {
      if (!fitsS32(v)) throw rangeError(`${hex(v)} out of range of signed 32bit displacement`);
      plan.disp = { bytes: 4, value: v, placeholder: P32 };
      return `${hex(P32)}${regs}`;
    }
    if (v >= -0x80n && v <= 0x7fn) {
      plan.disp = { bytes: 1, value: v, placeholder: P8 };
      return `${hex(P8)}${regs}`;
    }
    if (!fitsS32(v)) throw rangeError(`${hex(v)} out of range of signed 32bit displacement`);
    plan.disp = { bytes: 4, value: v, placeholder: P32 };
    return `${hex(P32)}${regs}`;
  }
  // Absolute address (no base, no index).
  const value = d ? BigInt.asIntN(64, d.value) : 0n;
  const symbolic = d ? isSymbolic(d) : false;
  if (ctx.movabs || (!symbolic && !fitsS32(ctx.wantDisp32 && fitsU32(value) ? BigInt.asIntN(32, value) : value) && ctx.accumulatorMov)) {
    // Parity rule (moffs): GNU as uses the A0–A3 moffs64 form only for movabs, or for mov
    // with the accumulator when the address does not fit a sign-extended disp32.
    plan.disp = { bytes: 8, value, placeholder: P64 };
    plan.moffs = true;
    return hex(P64);
  }
  let v = value;
  if (!symbolic && ctx.wantDisp32) v = BigInt.asIntN(32, v);
  if (!symbolic && !fitsS32(v)) throw rangeError(`${hex(v)} out of range of signed 32bit displacement`);
  // Parity rule (absolute addresses): GNU as encodes `mov 0x1000,%eax` as ModRM+SIB disp32
  // (8b 04 25 …); Keystone picks moffs64 or even %rip-relative. Keystone gets an index-only
  // operand of the same shape and seamlab clears the index in the SIB byte.
  plan.disp = { bytes: 4, value: v, reloc: symbolic && d ? rangeCheck(4, d, ctx.wantDisp32 ? 'unsigned' : 'signed') : undefined, placeholder: P32 };
  plan.sibNoIndex = true;
  return `${hex(P32)}(,%rax,1)`;
}

function isAccumulator(op: ResolvedOperand | undefined): boolean {
  return op?.kind === 'reg' && regInfo(op.reg)?.cls === 'gpr' && regInfo(op.reg)!.num === 0 && !regInfo(op.reg)!.highByte;
}

/**
 * Plans an ordinary instruction (anything but direct branches and table
 * instructions): chooses every size like GNU as and renders Keystone text.
 */
export function planForm(insn: ResolvedInstruction, prefixBytes: number[]): FormPlan {
  const info = splitSuffix(insn.mnemonic);
  const ops = insn.operands;
  rejectEvex(insn);
  const size = operandSize(info, ops, insn.prefixes);
  const plan: FormPlan = { ksText: '', prefixBytes, imms: [], sibNoIndex: false, rawTail: 0 };
  const hasImm = ops.some((o) => o.kind === 'imm');
  const hasGpr = ops.some((o, i) => o.kind === 'reg' && gprBits(o.reg) !== undefined && !(i === 0 && o.reg === 'cl' && IMM_CLASS_OF[info.base] === 'shift' && ops.length === 2));
  const immClass = IMM_CLASS_OF[info.base];

  // The mnemonic Keystone sees: with an explicit size suffix where GNU as infers one (Keystone
  // rejects `add $1,(%rax)` and turns `mov $x,%rax` into movabs; GNU as uses the suffix it infers).
  let mnemonic = insn.mnemonic;
  const needsSuffix = SUFFIXABLE.has(info.base) && !info.suffix && (hasImm || !hasGpr) && ops.length > 0;
  if (needsSuffix && info.base !== 'ret' && info.base !== 'lret' && info.base !== 'int' && info.base !== 'in' && info.base !== 'out') {
    mnemonic = info.base + SIZE_SUFFIX[size];
  }

  const memOp = ops.find((o): o is ResolvedMem => o.kind === 'mem') ?? findIndirectMem(ops);
  const regDest = ops.length > 0 && ops[ops.length - 1]!.kind === 'reg';
  const wantDisp32 = (memOp !== undefined && [memOp.base, memOp.index].some((r) => r !== undefined && gprBits(r) === 32))
    || insn.prefixes.includes('addr32')
    || (info.base === 'lea' && size !== 64);
  const ctx: MemContext = {
    accumulatorMov: (info.base === 'mov') && ops.length === 2 && ops.some((o) => isAccumulator(o)),
    movabs: info.base === 'movabs',
    wantDisp32,
  };

  const rendered: string[] = [];
  for (const op of ops) {
    switch (op.kind) {
      case 'reg':
        rendered.push('%' + op.reg);
        break;
      case 'mem':
        rendered.push(planMemory(op, ctx, plan));
        break;
      case 'indirect':
        rendered.push('*' + (op.operand.kind === 'reg' ? '%' + op.operand.reg : planMemory(op.operand, ctx, plan)));
        break;
      case 'target':
        throw unsupported(`\`${insn.mnemonic}' does not take a branch target`);
      case 'imm': {
        if (!immClass) {
          // An instruction outside the classes GNU as sizing is modelled for (SSE imm8, enter, …):
          // these have one fixed immediate size, so Keystone's choice is the only one.
          if (isSymbolic(op.value)) throw unsupported(`\`${insn.mnemonic}' with a relocated or not-yet-known immediate is not supported`);
          rendered.push('$' + hex(BigInt.asIntN(64, op.value.value)));
          plan.rawTail += 1;
          break;
        }
        const templates: readonly ImmTemplate[] = IMM_CLASSES[immClass];
        const symbolic = isSymbolic(op.value);
        let types: number;
        let value = BigInt.asIntN(64, op.value.value);
        if (symbolic) {
          types = symbolImmTypes(size, templates);
        } else {
          const c = constantImmTypes(value, size);
          types = c.types;
          value = c.value;
        }
        const t = matchImmTemplate(types, size, templates, regDest);
        if (!t) throw rangeError(`operand size mismatch for \`${insn.mnemonic}': immediate ${hex(value)} does not fit a ${size}-bit operand`);
        const bytes = slotBytes(t.slot, size);
        if (t.slot === 'fixed8') mnemonic = 'movabsq';
        if (t.slot === 'none') {
          rendered.push('$0x1');
          break;
        }
        const placeholder = placeholderFor(bytes);
        const reloc = symbolic ? rangeCheck(bytes, op.value, size === 64 ? 'signed' : 'unsigned') : undefined;
        plan.imms.push({ bytes, value, reloc, placeholder });
        rendered.push('$' + hex(placeholder));
        break;
      }
    }
  }
  if (plan.moffs) mnemonic = 'movabs';
  // Two-operand imul with an immediate is the three-operand form with the register repeated.
  if (info.base === 'imul' && ops.length === 2 && ops[0]!.kind === 'imm') rendered.push(rendered[1]!);
  plan.ksText = rendered.length ? `${mnemonic} ${rendered.join(', ')}` : mnemonic;
  return plan;
}

function findIndirectMem(ops: readonly ResolvedOperand[]): ResolvedMem | undefined {
  for (const o of ops) if (o.kind === 'indirect' && o.operand.kind === 'mem') return o.operand;
  return undefined;
}

/**
 * AVX-512 (EVEX) encodings scale an 8-bit displacement by the operand size
 * (disp8*N), so seamlab's disp8 choice would be wrong for them; kernel TDX
 * code does not use them, so they are refused rather than mis-encoded.
 */
function rejectEvex(insn: ResolvedInstruction): void {
  const evexReg = (name: string | undefined) => {
    if (name === undefined) return false;
    const r = regInfo(name);
    return r !== undefined && (r.cls === 'zmm' || r.cls === 'mask' || ((r.cls === 'xmm' || r.cls === 'ymm') && r.num >= 16));
  };
  const uses = insn.operands.some((o) =>
    (o.kind === 'reg' && evexReg(o.reg)) || (o.kind === 'mem' && evexReg(o.index)));
  if (uses) throw unsupported(`\`${insn.mnemonic}' needs an AVX-512 (EVEX) encoding, which seamlab does not encode`, 'kernel TDX code does not use AVX-512; rewrite without %zmm/%k/%xmm16+ registers');
}
