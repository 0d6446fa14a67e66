/**
 * Evaluating GNU as expressions in the three moments GNU as does:
 *
 * - `read`: when the statement is read (expr.c). Numbers and absolute
 *   symbols fold; `label ± c` stays a relocatable value; `a - b` folds only
 *   when both labels are in one section and every frag between them has a
 *   fixed size (`frag_offset_fixed_p`); anything else is not known yet. What
 *   is known here decides instruction forms (`ResolvedValue.known`).
 * - `layout`: during relaxation (write.c), labels have section offsets from
 *   the current pass; used for `.skip` amounts and branch targets.
 * - `link`: after sections are placed; labels have addresses, external
 *   symbols the addresses of the stubs the linker bound them to.
 *
 * Operator semantics (64-bit two's complement, comparisons give -1/0,
 * `&&`/`||` give 1/0, `>>` logical) are in expr.ts `foldAbs`.
 */
import { foldAbs, foldUnary, type BinOp, type Expr } from './expr.js';
import type { GasSymbol, Loc, Section } from './model.js';
import type { ErrorCode } from '../error-codes.js';

export type Val =
  | { k: 'abs'; v: bigint }
  | { k: 'reg'; reg: string }
  /** A position in a section: read time (loc in a frag) or layout/link time (offset in section). */
  | { k: 'rel'; loc: Loc; add: bigint }
  | { k: 'sec'; section: Section; off: bigint; pcrel?: PcRel }
  /** An undefined (external) symbol + addend. */
  | { k: 'ext'; sym: GasSymbol; add: bigint; pcrel?: PcRel }
  /** Not reducible now (read time only): GNU as makes an expression symbol. */
  | { k: 'opaque'; why: string };

/** Link mode: `x - .` across sections — the value is x minus this position (a PC-relative relocation). */
export interface PcRel {
  section: Section;
  off: bigint;
}

export type EvalMode = 'read' | 'layout' | 'link';

export interface EvalContext {
  mode: EvalMode;
  /** Where `.` is. */
  dot: Loc;
  lookup(name: string): GasSymbol;
  /** Offset of a read-time position inside its section (layout/link modes). */
  locOffset(loc: Loc): number;
  /** Read mode: the byte distance b→a if fixed (frag_offset_fixed_p), else undefined. */
  fixedDistance(a: Loc, b: Loc): number | undefined;
  /** Link mode: the section a fixup is written in (a `sym - .` across sections is PC-relative there). */
  fixupSection?: Section;
  /** A plain function (no `this`): folding hands it on. */
  warn: (msg: string) => void;
}

/** Thrown by evaluation for GNU as "invalid operands" and similar errors; the caller adds the position. */
export class EvalError extends Error {
  constructor(message: string, readonly code: ErrorCode = 'GAS_BAD_EXPRESSION') {
    super(message);
  }
}

const MAX_DEPTH = 200;

function sectionName(v: Val): string {
  switch (v.k) {
    case 'abs': return '*ABS*';
    case 'reg': return 'reg';
    case 'rel': return v.loc.frag.section.name;
    case 'sec': return v.section.name;
    case 'ext': return '*UND*';
    case 'opaque': return 'expr';
  }
}

export function evaluate(e: Expr, ctx: EvalContext, depth = 0): Val {
  if (depth > MAX_DEPTH) throw new EvalError('expression symbols nested too deeply (a symbol defined in terms of itself?)', 'GAS_SYMBOL_LOOP');
  switch (e.op) {
    case 'num':
      return { k: 'abs', v: e.value };
    case 'reg':
      return { k: 'reg', reg: e.reg };
    case 'dot':
      return locVal(ctx.dot, 0n, ctx);
    case 'sym':
      return symbolValue(e.ref ?? ctx.lookup(e.name), ctx, depth);
    case 'unary': {
      const a = evaluate(e.arg, ctx, depth);
      if (a.k === 'abs') return { k: 'abs', v: foldUnary(e.fn, a.v) };
      if (a.k === 'opaque') return a;
      if (ctx.mode === 'read') return { k: 'opaque', why: `unary ${e.fn} of a symbol` };
      throw new EvalError(`invalid operand (${sectionName(a)} section) for \`${e.fn}'`);
    }
    case 'bin':
      return binary(e.fn, evaluate(e.left, ctx, depth), evaluate(e.right, ctx, depth), ctx);
  }
}

function locVal(loc: Loc, add: bigint, ctx: EvalContext): Val {
  if (ctx.mode === 'read') return { k: 'rel', loc, add };
  return { k: 'sec', section: loc.frag.section, off: BigInt(ctx.locOffset(loc)) + add };
}

export function symbolValue(sym: GasSymbol, ctx: EvalContext, depth: number): Val {
  switch (sym.kind) {
    case 'absolute':
      return { k: 'abs', v: sym.value! };
    case 'register':
      return { k: 'reg', reg: sym.reg! };
    case 'label':
      return locVal(sym.loc!, BigInt(sym.offset ?? 0), ctx);
    case 'undefined':
      return { k: 'ext', sym, add: 0n };
    case 'expr': {
      // GNU as does not look into an expression symbol when reading
      // (operand() yields O_symbol): it is known only after layout.
      if (ctx.mode === 'read') return { k: 'opaque', why: `\`${sym.name}' is defined by an expression` };
      const inner: EvalContext = { ...ctx, dot: sym.exprDot ?? ctx.dot };
      return evaluate(sym.expr!, inner, depth + 1);
    }
  }
}

function sameSection(a: Val, b: Val): boolean {
  if (a.k === 'rel' && b.k === 'rel') return a.loc.frag.section === b.loc.frag.section;
  if (a.k === 'sec' && b.k === 'sec') return a.section === b.section;
  return false;
}

function binary(fn: BinOp, a: Val, b: Val, ctx: EvalContext): Val {
  if (a.k === 'abs' && b.k === 'abs') return { k: 'abs', v: foldAbs(fn, a.v, b.v, ctx.warn) };
  if (a.k === 'opaque') return a;
  if (b.k === 'opaque') return b;
  // Registers: only equality tests (e.g. `.if \base == %rsp`).
  if (a.k === 'reg' || b.k === 'reg') {
    if ((fn === '==' || fn === '!=') && a.k === 'reg' && b.k === 'reg') {
      const eq = a.reg === b.reg;
      return { k: 'abs', v: (fn === '==') === eq ? -1n : 0n };
    }
    if (fn === '==' || fn === '!=') return { k: 'abs', v: fn === '==' ? 0n : -1n };
    throw new EvalError(`invalid operands (${sectionName(a)} and ${sectionName(b)} sections) for \`${fn}'`);
  }
  if (fn === '+') {
    if (b.k === 'abs') return addConst(a, b.v);
    if (a.k === 'abs') return addConst(b, a.v);
  }
  if (fn === '-' && b.k === 'abs') return addConst(a, -b.v);
  if (ctx.mode === 'read') return readBinary(fn, a, b, ctx);
  return placedBinary(fn, a, b, ctx);
}

function addConst(v: Val, c: bigint): Val {
  switch (v.k) {
    case 'rel': return { ...v, add: BigInt.asIntN(64, v.add + c) };
    case 'sec': return { ...v, off: BigInt.asIntN(64, v.off + c) };
    case 'ext': return { ...v, add: BigInt.asIntN(64, v.add + c) };
    default: throw new Error('internal: addConst');
  }
}

function readBinary(fn: BinOp, a: Val, b: Val, ctx: EvalContext): Val {
  if (fn === '-' && a.k === 'rel' && b.k === 'rel' && sameSection(a, b)) {
    const d = ctx.fixedDistance(a.loc, b.loc);
    if (d !== undefined) return { k: 'abs', v: BigInt.asIntN(64, BigInt(d) + a.add - b.add) };
    return { k: 'opaque', why: 'the distance between the labels depends on layout' };
  }
  if (fn === '-' && a.k === 'ext' && b.k === 'ext' && a.sym === b.sym) return { k: 'abs', v: a.add - b.add };
  return { k: 'opaque', why: `\`${fn}' of symbols is resolved after layout` };
}

function placedBinary(fn: BinOp, a: Val, b: Val, ctx: EvalContext): Val {
  if (a.k === 'sec' && b.k === 'sec' && !a.pcrel && !b.pcrel) {
    if (a.section === b.section) {
      switch (fn) {
        case '-':
        case '==':
        case '!=':
        case '<':
        case '<=':
        case '>':
        case '>=':
          return { k: 'abs', v: foldAbs(fn, a.off, b.off, ctx.warn) };
      }
    } else if (fn === '==' || fn === '!=') {
      return { k: 'abs', v: fn === '==' ? 0n : -1n };
    } else if (fn === '-' && ctx.mode === 'link' && ctx.fixupSection === b.section) {
      // `.long sym - .` across sections: a PC-relative relocation, resolved by the link.
      return { k: 'sec', section: a.section, off: a.off, pcrel: { section: b.section, off: b.off } };
    }
  }
  if (fn === '-' && a.k === 'ext' && b.k === 'sec' && ctx.mode === 'link' && ctx.fixupSection === b.section) {
    return { k: 'ext', sym: a.sym, add: a.add, pcrel: { section: b.section, off: b.off } };
  }
  if (fn === '-' && a.k === 'ext' && b.k === 'ext' && a.sym === b.sym) return { k: 'abs', v: a.add - b.add };
  if ((fn === '==' || fn === '!=') && a.k === 'ext' && b.k === 'ext') {
    const eq = a.sym === b.sym && a.add === b.add;
    return { k: 'abs', v: (fn === '==') === eq ? -1n : 0n };
  }
  throw new EvalError(`invalid operands (${sectionName(a)} and ${sectionName(b)} sections) for \`${fn}'`);
}

/** A value placed at link time: an address or a number. */
export interface Placed {
  value: bigint;
  /** An address in a section or of an external symbol (not a plain number). */
  relocatable: boolean;
  /** `x - .` across sections: a PC-relative value (signed range in data). */
  pcrel?: boolean;
}

/**
 * Turns a link-mode value into a number, given section and external
 * addresses. A `x - .` across sections (see placedBinary) becomes the
 * distance between the addresses.
 */
export function place(v: Val, sectionBase: (s: Section) => bigint, externalAddress: (s: GasSymbol) => bigint): Placed {
  const pcrel = v.k === 'sec' || v.k === 'ext' ? v.pcrel : undefined;
  const minus = pcrel ? sectionBase(pcrel.section) + pcrel.off : 0n;
  switch (v.k) {
    case 'abs':
      return { value: v.v, relocatable: false };
    case 'sec':
      return { value: BigInt.asIntN(64, sectionBase(v.section) + v.off - minus), relocatable: !pcrel, pcrel: !!pcrel };
    case 'ext':
      return { value: BigInt.asIntN(64, externalAddress(v.sym) + v.add - minus), relocatable: !pcrel, pcrel: !!pcrel };
    case 'reg':
      throw new EvalError(`register %${v.reg} where a value is required`, 'GAS_REGISTER_VALUE');
    default:
      throw new Error(`internal: cannot place a ${v.k} value`);
  }
}

/** Requires an absolute value now (for `.if`, `.rept`, `.fill` counts …). */
export function requireAbsolute(v: Val, what: string): bigint {
  if (v.k === 'abs') return v.v;
  if (v.k === 'opaque') throw new EvalError(`non-constant expression in ${what} (${v.why})`, 'GAS_NOT_CONSTANT');
  if (v.k === 'ext') throw new EvalError(`non-constant expression in ${what} (\`${v.sym.name}' is not defined yet)`, 'GAS_NOT_CONSTANT');
  if (v.k === 'reg') throw new EvalError(`register %${v.reg} in ${what}`, 'GAS_NOT_CONSTANT');
  throw new EvalError(`non-constant expression in ${what} (an address is not a constant)`, 'GAS_NOT_CONSTANT');
}

