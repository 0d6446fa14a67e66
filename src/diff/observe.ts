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
const CANARY_OF = new Map<bigint, GprName>(GPR_NAMES.map((r) => [canary(r), r]));

/** One observed value: its class (what is compared) and how to show it. */
export interface ObsValue {
  cls: string;
  text: string;
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

function literal(v: bigint): ObsValue {
  return { cls: hex(v), text: hex(v) };
}

/** Classifies a value the module was given in register `slot`. */
export function classifyInput(v: bigint, slot: number, call: LogicalInputs, view: RunView): ObsValue {
  const reg = GPR_NAMES[slot]!;
  const own = call.inputs[slot];
  if (own !== undefined && own === v) return { cls: 'input', text: `the call's ${reg.toUpperCase()} (${hex(v)})` };
  if (slot === 0 && v === call.leaf) return { cls: 'input', text: `the leaf (${hex(v)})` };
  return classifyOther(v, call, view);
}

function classifyOther(v: bigint, call: LogicalInputs, view: RunView): ObsValue {
  const left = CANARY_OF.get(v);
  if (left) return { cls: `leftover:${left}`, text: `the caller's leftover ${left.toUpperCase()} (${hex(v)})` };
  for (let i = 0; i < 16; i++) {
    const x = call.inputs[i];
    if (x !== undefined && x === v && v > 0xffffn) return { cls: `input:${GPR_NAMES[i]}`, text: `the call's ${GPR_NAMES[i]!.toUpperCase()} input (${hex(v)})` };
  }
  if (v === call.leaf && v > 0xffffn) return { cls: 'leaf', text: `the leaf (${hex(v)})` };
  for (const [lo, hi] of view.pointers) if (v >= lo && v < hi) return { cls: 'pointer:struct', text: `a pointer into the caller's struct (${hex(v)})` };
  return literal(v);
}

/** Classifies what the caller finds for register `slot` in the structs it passed. */
function classifyOutput(view: RunView, slot: number, call: LogicalInputs): ObsValue {
  if (!view.outputPresent(slot) || !view.outputWritten(slot)) return { cls: 'not returned', text: 'not returned' };
  const v = view.outputValue(slot);
  const last = view.calls - 1;
  if (last >= 0) {
    if (view.regAfterCall(last, slot) === v) return { cls: `seam-left:${GPR_NAMES[slot]}`, text: `${GPR_NAMES[slot]!.toUpperCase()} as the SEAM call left it (${hex(v)})` };
    for (let i = 0; i < 16; i++) {
      if (i !== 4 && view.regAfterCall(last, i) === v && SEAM_OUTPUT_REGS.includes(GPR_NAMES[i]!)) {
        return { cls: `seam-left:${GPR_NAMES[i]}`, text: `${GPR_NAMES[i]!.toUpperCase()} as the SEAM call left it (${hex(v)})` };
      }
    }
  }
  return classifyOther(v, call, view);
}

/**
 * A register after return: still the value the SEAM side wrote into it, or
 * not. By value, the same register only (a batch row has no register
 * origins; the leak check of `seamlab run` follows origins instead).
 */
function classifyAfter(view: RunView, slot: number): ObsValue {
  const v = view.regOut(slot);
  if (view.seamWrote(v, slot)) return { cls: 'seam', text: `what the SEAM side wrote into ${GPR_NAMES[slot]!.toUpperCase()} (${hex(v)})` };
  return { cls: 'not a SEAM value', text: `not a SEAM value (${hex(v)})` };
}

export function returnText(v: bigint | undefined): string {
  if (v === undefined) return 'none';
  const n = statusName(v);
  return n ? `${hex(v)} ${n}` : hex(v);
}

function classifyReturn(view: RunView, call: LogicalInputs): ObsValue {
  const v = view.returnValue;
  if (v === undefined) return { cls: 'none', text: `none (${view.end.text})` };
  const c = CANARY_OF.get(v);
  if (c) return { cls: `leftover:${c}`, text: `the caller's leftover ${c.toUpperCase()} (${hex(v)})` };
  if (v === call.leaf) return { cls: 'leaf', text: `the leaf (${returnText(v)})` };
  return { cls: hex(v), text: returnText(v) };
}

/**
 * Compares two sides' runs of the same logical call. Values equal as
 * numbers are the same class on both sides; only unequal ones are
 * classified (the batch's fast path).
 */
export function compareRuns(a: RunView, b: RunView, call: LogicalInputs, spec: CompareSpec, out: RawDifference[]): void {
  if (a.end.cls !== b.end.cls) out.push({ kind: 'end', group: 'end', a: a.end, b: b.end });
  if (a.returnValue !== b.returnValue) {
    const x = classifyReturn(a, call);
    const y = classifyReturn(b, call);
    if (x.cls !== y.cls) out.push({ kind: 'return', group: 'return', a: x, b: y });
  }
  if (a.calls !== b.calls) out.push({ kind: 'seam.calls', group: 'seam.calls', a: { cls: String(a.calls), text: String(a.calls) }, b: { cls: String(b.calls), text: String(b.calls) } });
  const calls = Math.min(a.calls, b.calls);
  for (let c = 0; c < calls; c++) for (const slot of spec.seamIn) compareIn(a, b, call, c, slot, spec, out);
  if (!a.end.returned || !b.end.returned) return;
  for (const slot of spec.outputs) {
    const pa = a.outputPresent(slot) && a.outputWritten(slot);
    const pb = b.outputPresent(slot) && b.outputWritten(slot);
    if (pa === pb && (!pa || (a.outputValue(slot) === b.outputValue(slot) && leftBy(a, slot) === leftBy(b, slot)))) continue;
    const x = classifyOutput(a, slot, call);
    const y = classifyOutput(b, slot, call);
    if (x.cls !== y.cls) out.push({ kind: `output.${GPR_NAMES[slot]}`, group: 'output', a: x, b: y });
  }
  for (const slot of spec.after) {
    if (a.regOut(slot) === b.regOut(slot)) continue;
    const x = classifyAfter(a, slot);
    const y = classifyAfter(b, slot);
    if (x.cls !== y.cls) out.push({ kind: `after.${GPR_NAMES[slot]}`, group: 'after', a: x, b: y });
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

/** Register `slot` as the last SEAM call left it (undefined: no SEAM call). */
function leftBy(view: RunView, slot: number): bigint | undefined {
  return view.calls > 0 ? view.regAfterCall(view.calls - 1, slot) : undefined;
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
  const x = inputValue(a, va, slot, call, da);
  const y = inputValue(b, vb, slot, call, db);
  if (x.cls !== y.cls) out.push({ kind: `seam.in.${GPR_NAMES[slot]}`, group: 'seam.in', call: c, a: x, b: y });
}

function inputValue(view: RunView, v: bigint, slot: number, call: LogicalInputs, delivers: boolean): ObsValue {
  if (delivers) return classifyInput(v, slot, call, view);
  // The function does not pass this register: whatever the module got is not the input (an equal value is a coincidence).
  const x = classifyOther(v, { ...call, inputs: call.inputs.map((i, k) => (k === slot ? undefined : i)) }, view);
  if (call.inputs[slot] === undefined) return x;
  const why = view.notPassable(slot) ? 'not passable by this ABI' : 'not loaded by this function (its struct has the field)';
  return { cls: x.cls, text: `${why}; the module got ${x.text}` };
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
