/**
 * What a call did, in terms that do not depend on the function's ABI, and
 * the comparison of two sides' observations. One semantics for both ways a
 * call is run: a single-mode run (src/diff/single.ts, with source lines for
 * the evidence) and a row of a differential batch (src/diff/fuzz-batch.ts).
 *
 * Values are compared by *class*, not by number: "the call's RCX input",
 * "the caller's leftover in R10", "R8 as the SEAM call left it", "a pointer
 * to the caller's struct", else the literal value. So two ABIs that place
 * the same logical call differently (registers vs `struct tdx_module_args`)
 * agree wherever the behaviour agrees, and a register that reaches the
 * module from the caller's leftovers on one side and from the struct on the
 * other differs.
 *
 * Observations (their `kind` is what an expected-differences file names):
 *   end                 how the run ended (returned, returned through the exception table, oops, fault, runaway …)
 *   return              RAX returned (or none)
 *   seam.calls          how many SEAM calls were made
 *   seam.in.<reg>       what SEAM call #i was given in <reg> (RAX = the leaf)
 *   output.<reg>        what the caller gets for <reg> through the structs it passed ("not returned" if nothing)
 *   after.<reg>         a caller-clobbered register after return: a value the SEAM side wrote, or not
 *   callee-saved        callee-saved registers preserved or not
 *   stack               RSP back at entry + 8, DF clear
 *   memory              stores only into the stack and the structs passed
 */
import { hex } from '../support/format.js';
import { GPR_NAMES, type GprName } from '../support/registers.js';
import { canary } from '../run/plan.js';
import { statusName } from '../seam/codes.js';

export const OBSERVATION_GROUPS = ['end', 'return', 'seam.calls', 'seam.in', 'output', 'after', 'callee-saved', 'stack', 'memory'] as const;
export type ObservationGroup = (typeof OBSERVATION_GROUPS)[number];

/** Registers a SEAM call may be given inputs in (RSP and RBP never are: TDX_FEATURES0_NO_RBP_MOD). */
export const SEAM_INPUT_REGS: readonly GprName[] = ['rax', 'rcx', 'rdx', 'rbx', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
/** Registers a SEAM call may return outputs in (RAX is the status). */
export const SEAM_OUTPUT_REGS: readonly GprName[] = ['rcx', 'rdx', 'rbx', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
/** The registers the C caller may not rely on after a call, except RAX (System V psABI §3.2.1). */
export const CALLER_CLOBBERED: readonly GprName[] = ['rcx', 'rdx', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11'];

export const SLOT_OF: Readonly<Record<GprName, number>> = Object.fromEntries(GPR_NAMES.map((r, i) => [r, i])) as Record<GprName, number>;

/**
 * One observed value: its class (what is compared) and how to show it.
 * `compareRuns` gives values whose class and text are made when read (the
 * same strings each time, and `{ cls, text }` as JSON); `plainValue` turns
 * one into plain data, for keeping or sending to another thread.
 */
export interface ObsValue {
  readonly cls: string;
  readonly text: string;
}

/** One observation that differs between the two sides. */
export interface RawDifference {
  kind: string;
  group: ObservationGroup;
  /** For seam.in: which SEAM call. */
  call?: number;
  a: ObsValue;
  b: ObsValue;
}

/** How a run ended, as compared. */
export interface EndInfo {
  returned: boolean;
  cls: string;
  text: string;
}

/** The logical call both sides were given (shared) — what "input" means. */
export interface LogicalInputs {
  leaf: bigint;
  /** Input value by GPR slot (undefined: not given). Physical buffers are their addresses. */
  inputs: (bigint | undefined)[];
}

/**
 * One side's run, read through accessors so that a batch row (typed arrays)
 * and a single run (plain objects) answer the same questions.
 */
export interface RunView {
  readonly end: EndInfo;
  readonly calls: number;
  /** Register `slot` as SEAM call `call` received it. */
  regIn(call: number, slot: number): bigint;
  /** Register `slot` as SEAM call `call` left it (after its outcome). */
  regAfterCall(call: number, slot: number): bigint;
  /** Whether a SEAM call's outcome wrote `value` into register `slot` (its status into RAX). */
  seamWrote(value: bigint, slot: number): boolean;
  readonly returnValue: bigint | undefined;
  /** Whether a struct this side passes has a field for register `slot`. */
  outputPresent(slot: number): boolean;
  outputWritten(slot: number): boolean;
  outputValue(slot: number): bigint;
  /** Register `slot` after return. */
  regOut(slot: number): bigint;
  /** '' when preserved, else the clobbered register names. */
  calleeSaved(): string;
  /** 'balanced' or what is wrong with RSP/DF. */
  stack(): string;
  /** 'clean' or what was written where it should not be. */
  memory(): string;
  /** The caller's memory this side placed (struct addresses), for the "pointer" class. */
  readonly pointers: readonly (readonly [bigint, bigint])[];
  /** Inputs this side's ABI has no place for, by slot. */
  notPassable(slot: number): boolean;
}

/** What a pair compares, fixed for the pair (from both sides' ABIs and a probe run). */
export interface CompareSpec {
  /**
   * SEAM input registers compared: RAX and every register at least one side
   * delivers (a register neither side passes to the SEAM side holds the
   * caller's junk on both: not an input, not compared).
   */
  seamIn: readonly number[];
  /** Per side, by slot: the side's function delivers an input in this register (found by a probe call). */
  deliversA: readonly boolean[];
  deliversB: readonly boolean[];
  /** Output registers either side has a field for. */
  outputs: readonly number[];
  after: readonly number[];
}

/*
 * A value's class is first decided as a number (below), without building
 * any string: most compared values turn out to be the same class on both
 * sides, and a fuzz campaign keeps only the first occurrence of each
 * difference, so the class name and the text are made only when a
 * difference is recorded, and then only when read (`Observed`).
 *
 * Class code: bits 0–3 a register slot (for the classes that name one),
 * bit 4 "the same class, shown another way" (not compared), the rest the
 * class. Two codes are the same class when they agree outside bit 4 — and,
 * for a literal, when the values are equal (its class is the value).
 */
const REG = 0xf;
const ALT = 0x10;
const CLASS = ~(REG | ALT);
/** The value itself (hex). ALT: a return value, shown with its status name. */
const LITERAL = 1 << 5;
/** The call's own input for this register. ALT: RAX holding the leaf. */
const INPUT = 2 << 5;
/** The caller's leftover (canary) in register REG. */
const LEFTOVER = 3 << 5;
/** The call's input for register REG (a value too distinctive to be a coincidence). */
const INPUT_REG = 4 << 5;
/** The leaf. ALT: a return value, shown with its status name. */
const LEAF = 5 << 5;
const POINTER = 6 << 5;
/** Register REG as the last SEAM call left it. */
const SEAM_LEFT = 7 << 5;
const NOT_RETURNED = 8 << 5;
const SEAM = 9 << 5;
const NOT_SEAM = 10 << 5;
/** No return value (the run did not return). */
const NONE = 11 << 5;

const CANARIES = GPR_NAMES.map((r) => canary(r));
const CANARY_SLOT = new Map<bigint, number>(CANARIES.map((c, i) => [c, i]));
/** The canaries' range: most values are outside it, and two BigInt comparisons cost less than hashing one. */
const CANARY_MIN = CANARIES.reduce((m, c) => (c < m ? c : m));
const CANARY_MAX = CANARIES.reduce((m, c) => (c > m ? c : m));

/** The register whose canary `v` is (the caller's leftover), or undefined. */
function canarySlot(v: bigint): number | undefined {
  return v >= CANARY_MIN && v <= CANARY_MAX ? CANARY_SLOT.get(v) : undefined;
}
const UPPER = GPR_NAMES.map((r) => r.toUpperCase());
const LEFTOVER_CLS = GPR_NAMES.map((r) => `leftover:${r}`);
const INPUT_REG_CLS = GPR_NAMES.map((r) => `input:${r}`);
const SEAM_LEFT_CLS = GPR_NAMES.map((r) => `seam-left:${r}`);
/** Output registers in slot order: where an output value may have been left by the SEAM call. */
const SEAM_OUTPUT_SLOTS = GPR_NAMES.flatMap((r, i) => (SEAM_OUTPUT_REGS.includes(r) ? [i] : []));
const KIND_IN = GPR_NAMES.map((r) => `seam.in.${r}`);
const KIND_OUTPUT = GPR_NAMES.map((r) => `output.${r}`);
const KIND_AFTER = GPR_NAMES.map((r) => `after.${r}`);
const NOT_PASSABLE = 'not passable by this ABI';
const NOT_LOADED = 'not loaded by this function (its struct has the field)';

function sameClass(x: number, vx: bigint | undefined, y: number, vy: bigint | undefined): boolean {
  return ((x ^ y) & ~ALT) === 0 && ((x & CLASS) !== LITERAL || vx === vy);
}

/**
 * An observed value of a recorded difference: its class and text made from
 * the class code when read. Not plain data: what is kept beyond the
 * comparison (a fuzz signature, a report) takes `plainValue` of it.
 */
class Observed implements ObsValue {
  readonly #code: number;
  readonly #v: bigint;
  readonly #slot: number;
  /** NONE: how the run ended; otherwise, when not empty, why the register is not the call's input. */
  readonly #detail: string;

  constructor(code: number, v: bigint, slot: number, detail: string) {
    this.#code = code;
    this.#v = v;
    this.#slot = slot;
    this.#detail = detail;
  }

  get cls(): string {
    const code = this.#code;
    switch (code & CLASS) {
      case LITERAL: return hex(this.#v);
      case INPUT: return 'input';
      case LEFTOVER: return LEFTOVER_CLS[code & REG]!;
      case INPUT_REG: return INPUT_REG_CLS[code & REG]!;
      case LEAF: return 'leaf';
      case POINTER: return 'pointer:struct';
      case SEAM_LEFT: return SEAM_LEFT_CLS[code & REG]!;
      case NOT_RETURNED: return 'not returned';
      case SEAM: return 'seam';
      case NOT_SEAM: return 'not a SEAM value';
      default: return 'none';
    }
  }

  get text(): string {
    const code = this.#code;
    const v = this.#v;
    let t: string;
    switch (code & CLASS) {
      case LITERAL: t = code & ALT ? returnText(v) : hex(v); break;
      case INPUT: t = code & ALT ? `the leaf (${hex(v)})` : `the call's ${UPPER[this.#slot]} (${hex(v)})`; break;
      case LEFTOVER: t = `the caller's leftover ${UPPER[code & REG]} (${hex(v)})`; break;
      case INPUT_REG: t = `the call's ${UPPER[code & REG]} input (${hex(v)})`; break;
      case LEAF: t = `the leaf (${code & ALT ? returnText(v) : hex(v)})`; break;
      case POINTER: t = `a pointer into the caller's struct (${hex(v)})`; break;
      case SEAM_LEFT: t = `${UPPER[code & REG]} as the SEAM call left it (${hex(v)})`; break;
      case NOT_RETURNED: return 'not returned';
      case SEAM: t = `what the SEAM side wrote into ${UPPER[this.#slot]} (${hex(v)})`; break;
      case NOT_SEAM: t = `not a SEAM value (${hex(v)})`; break;
      default: return `none (${this.#detail})`;
    }
    return this.#detail ? `${this.#detail}; the module got ${t}` : t;
  }

  toJSON(): ObsValue {
    return { cls: this.cls, text: this.text };
  }
}

/** An observed value as plain data (`{ cls, text }`; a value that already is plain data is returned as it is). */
export function plainValue(v: ObsValue): ObsValue {
  return v instanceof Observed ? { cls: v.cls, text: v.text } : v;
}

/**
 * The class of a value the module was given in register `slot`, when the
 * side's function delivers the call's input there.
 */
function inputClass(v: bigint, slot: number, call: LogicalInputs, view: RunView): number {
  const own = call.inputs[slot];
  if (own !== undefined && own === v) return INPUT;
  if (slot === 0 && v === call.leaf) return INPUT | ALT;
  return otherClass(v, call, view, -1);
}

/**
 * The class of a value that is not the register's own input: a leftover,
 * another input or the leaf (if distinctive), a pointer, else the literal.
 * `excluded`: an input slot not to match (the register itself, when the
 * function does not pass it: an equal value is a coincidence).
 */
function otherClass(v: bigint, call: LogicalInputs, view: RunView, excluded: number): number {
  const left = canarySlot(v);
  if (left !== undefined) return LEFTOVER | left;
  if (v > 0xffffn) {
    const inputs = call.inputs;
    for (let i = 0; i < 16; i++) if (i !== excluded && inputs[i] === v) return INPUT_REG | i;
    if (v === call.leaf) return LEAF;
  }
  for (const [lo, hi] of view.pointers) if (v >= lo && v < hi) return POINTER;
  return LITERAL;
}

/** The class of what the caller finds for register `slot` in the structs it passed: value `v` (written). */
function outputClass(view: RunView, slot: number, call: LogicalInputs, calls: number, v: bigint): number {
  const last = calls - 1;
  if (last >= 0) {
    if (view.regAfterCall(last, slot) === v) return SEAM_LEFT | slot;
    for (const i of SEAM_OUTPUT_SLOTS) if (view.regAfterCall(last, i) === v) return SEAM_LEFT | i;
  }
  return otherClass(v, call, view, -1);
}

/**
 * A register after return: still the value the SEAM side wrote into it, or
 * not. By value, the same register only (a batch row has no register
 * origins; the leak check of `seamlab run` follows origins instead).
 */
function afterClass(view: RunView, v: bigint, slot: number): number {
  return view.seamWrote(v, slot) ? SEAM : NOT_SEAM;
}

export function returnText(v: bigint | undefined): string {
  if (v === undefined) return 'none';
  const n = statusName(v);
  return n ? `${hex(v)} ${n}` : hex(v);
}

function returnClass(v: bigint | undefined, call: LogicalInputs): number {
  if (v === undefined) return NONE;
  const c = canarySlot(v);
  if (c !== undefined) return LEFTOVER | c;
  if (v === call.leaf) return LEAF | ALT;
  return LITERAL | ALT;
}

/**
 * Compares two sides' runs of the same logical call. Values equal as
 * numbers are the same class on both sides; only unequal ones are
 * classified (the batch's fast path), and a value's class name and text
 * are made only for a recorded difference, when read.
 */
export function compareRuns(a: RunView, b: RunView, call: LogicalInputs, spec: CompareSpec, out: RawDifference[]): void {
  const ea = a.end;
  const eb = b.end;
  if (ea.cls !== eb.cls) out.push({ kind: 'end', group: 'end', a: ea, b: eb });
  const ra = a.returnValue;
  const rb = b.returnValue;
  if (ra !== rb) {
    const x = returnClass(ra, call);
    const y = returnClass(rb, call);
    if (!sameClass(x, ra, y, rb)) {
      out.push({ kind: 'return', group: 'return', a: new Observed(x, ra ?? 0n, 0, x === NONE ? ea.text : ''), b: new Observed(y, rb ?? 0n, 0, y === NONE ? eb.text : '') });
    }
  }
  const na = a.calls;
  const nb = b.calls;
  if (na !== nb) out.push({ kind: 'seam.calls', group: 'seam.calls', a: { cls: String(na), text: String(na) }, b: { cls: String(nb), text: String(nb) } });
  const calls = Math.min(na, nb);
  for (let c = 0; c < calls; c++) for (const slot of spec.seamIn) compareIn(a, b, call, c, slot, spec, out);
  if (!ea.returned || !eb.returned) return;
  for (const slot of spec.outputs) {
    const pa = a.outputPresent(slot) && a.outputWritten(slot);
    const pb = b.outputPresent(slot) && b.outputWritten(slot);
    const oa = pa ? a.outputValue(slot) : undefined;
    const ob = pb ? b.outputValue(slot) : undefined;
    if (pa === pb && (!pa || (oa === ob && leftBy(a, na, slot) === leftBy(b, nb, slot)))) continue;
    const x = oa === undefined ? NOT_RETURNED : outputClass(a, slot, call, na, oa);
    const y = ob === undefined ? NOT_RETURNED : outputClass(b, slot, call, nb, ob);
    if (!sameClass(x, oa, y, ob)) out.push({ kind: KIND_OUTPUT[slot]!, group: 'output', a: new Observed(x, oa ?? 0n, slot, ''), b: new Observed(y, ob ?? 0n, slot, '') });
  }
  for (const slot of spec.after) {
    const va = a.regOut(slot);
    const vb = b.regOut(slot);
    if (va === vb) continue;
    const x = afterClass(a, va, slot);
    const y = afterClass(b, vb, slot);
    if (x !== y) out.push({ kind: KIND_AFTER[slot]!, group: 'after', a: new Observed(x, va, slot, ''), b: new Observed(y, vb, slot, '') });
  }
  const ca = a.calleeSaved();
  const cb = b.calleeSaved();
  if (ca !== cb) out.push({ kind: 'callee-saved', group: 'callee-saved', a: savedValue(ca), b: savedValue(cb) });
  const sa = a.stack();
  const sb = b.stack();
  if (sa !== sb) out.push({ kind: 'stack', group: 'stack', a: { cls: sa, text: sa }, b: { cls: sb, text: sb } });
  const ma = a.memory();
  const mb = b.memory();
  if (ma !== mb) out.push({ kind: 'memory', group: 'memory', a: { cls: ma, text: ma }, b: { cls: mb, text: mb } });
}

/** Register `slot` as the last of `calls` SEAM calls left it (undefined: no SEAM call). */
function leftBy(view: RunView, calls: number, slot: number): bigint | undefined {
  return calls > 0 ? view.regAfterCall(calls - 1, slot) : undefined;
}

function savedValue(s: string): ObsValue {
  return s ? { cls: `clobbered: ${s}`, text: `clobbered: ${s}` } : { cls: 'preserved', text: 'preserved' };
}

function compareIn(a: RunView, b: RunView, call: LogicalInputs, c: number, slot: number, spec: CompareSpec, out: RawDifference[]): void {
  const va = a.regIn(c, slot);
  const vb = b.regIn(c, slot);
  const da = slot === 0 || spec.deliversA[slot]!;
  const db = slot === 0 || spec.deliversB[slot]!;
  if (va === vb && da === db) return;
  // A function that does not pass this register: whatever the module got is not the input (an equal value is a coincidence).
  const x = da ? inputClass(va, slot, call, a) : otherClass(va, call, a, slot);
  const y = db ? inputClass(vb, slot, call, b) : otherClass(vb, call, b, slot);
  if (sameClass(x, va, y, vb)) return;
  out.push({ kind: KIND_IN[slot]!, group: 'seam.in', call: c, a: new Observed(x, va, slot, da ? '' : notInput(a, slot, call)), b: new Observed(y, vb, slot, db ? '' : notInput(b, slot, call)) });
}

/** Why a register the function does not pass is not the call's input ('' when the call has no input there). */
function notInput(view: RunView, slot: number, call: LogicalInputs): string {
  if (call.inputs[slot] === undefined) return '';
  return view.notPassable(slot) ? NOT_PASSABLE : NOT_LOADED;
}

/** The `end` observation from how a run ended. */
export function endInfo(kind: string, opts: { vector?: string; fixupVector?: string; access?: string; stub?: string } = {}): EndInfo {
  switch (kind) {
    case 'returned':
      return opts.fixupVector
        ? { returned: true, cls: `returned via exception table (#${opts.fixupVector})`, text: `returned through the exception-table fixup for #${opts.fixupVector}` }
        : { returned: true, cls: 'returned', text: 'returned' };
    case 'oops': return { returned: false, cls: `oops #${opts.vector}`, text: `oops: #${opts.vector} with no exception-table entry` };
    case 'fault': return { returned: false, cls: `fault (${opts.access})`, text: `wild ${opts.access} (unmapped or protected memory)` };
    case 'panic': return { returned: false, cls: `panic (${opts.stub})`, text: `called ${opts.stub}, which does not return` };
    default: return { returned: false, cls: kind, text: kind };
  }
}

/** The compared register sets for a pair: inputs either side delivers, outputs either side has a field for. */
export function compareSpec(deliversA: readonly GprName[], deliversB: readonly GprName[], outputs: readonly GprName[]): CompareSpec {
  const seamIn = SEAM_INPUT_REGS.filter((r) => r === 'rax' || deliversA.includes(r) || deliversB.includes(r)).map((r) => SLOT_OF[r]);
  return {
    seamIn,
    deliversA: GPR_NAMES.map((r) => deliversA.includes(r)), deliversB: GPR_NAMES.map((r) => deliversB.includes(r)),
    outputs: SEAM_OUTPUT_REGS.filter((r) => outputs.includes(r)).map((r) => SLOT_OF[r]), after: CALLER_CLOBBERED.map((r) => SLOT_OF[r]),
  };
}

/** The group of an observation kind (`seam.in.r10` → `seam.in`). */
export function groupOf(kind: string): ObservationGroup {
  for (const g of OBSERVATION_GROUPS) if (kind === g || kind.startsWith(`${g}.`)) return g;
  throw new Error(`unknown observation ${kind}`);
}
