/**
 * What a sequence scenario run against an entry point reports, and how a
 * step is checked (session.ts `runSequence` runs it): every step is a call of
 * the real function (plan → execute → check, run.ts), one machine and one
 * module state for the whole sequence (session.ts `CallSession`), a step
 * with `repeat` called again while the caller sees its output below the
 * bound (the kernel's init_tdmr loop), and each step's `expect` compared
 * with what the C caller got: the function's return value, the registers it
 * returned through its structs, how its last SEAM call ended.
 *
 * An expectation the entry point cannot show its caller (6.12 `__seamcall`
 * returns no registers, so neither a step's `outputs` nor a `repeat` on one
 * can be seen) is "n/a", not a failure, as an input the ABI cannot carry is
 * `ok*` in a single run. A call that does not return (an oops, a runaway)
 * ends the sequence there: the kernel would not go on.
 */
import { SOFTWARE_STATUS, statusName } from '../seam/codes.js';
import type { SequenceStep } from '../seam/scenario.js';
import { checkStep } from '../seam/session.js';
import type { CpuEnv, OutcomeKind, OutputReg, SeamKind } from '../seam/types.js';
import { isGprName } from '../support/registers.js';
import type { CheckStatus } from './check.js';
import type { RunResult, RunSubject } from './run.js';

/** One expectation of a step, checked against the caller's view. */
export interface ExpectCheck {
  /** `status`, `outcome`, `outputs.r8`, or `repeat`. */
  what: string;
  expected: bigint | string;
  actual?: bigint | string;
  status: CheckStatus;
  /** Why n/a, or what a repeat did. */
  detail?: string;
}

export interface SequenceStepResult {
  /** 0-based. */
  index: number;
  label?: string;
  leaf: bigint;
  leafName?: string;
  env: CpuEnv;
  /** The step's `repeat`: called again while the caller sees `while` below `below`. */
  repeat?: { while: OutputReg; below: bigint; max: number };
  /** Every call of the function the step made (more than one with `repeat`), each a whole checked run. */
  calls: RunResult[];
  checks: ExpectCheck[];
  /** Every call ok (ABI checks, how it ended) and no expectation failed. */
  ok: boolean;
}

export interface SequenceResult extends RunSubject {
  handler: string;
  steps: SequenceStepResult[];
  /** Steps after a call that did not return: not run. */
  notRun: number;
  /** Calls of the function in all. */
  calls: number;
  ok: boolean;
}

/** What the C caller got back from one call: the function's return value and the registers it returned through its structs. */
export interface CallerView {
  /** The return value (RAX) when the function returned. */
  status?: bigint;
  /** Registers the function stored into an output or args struct during the call, by register name. */
  out: Partial<Record<OutputReg, bigint>>;
}

/** The caller's view of a run: only struct fields the function wrote count as returned. */
export function callerView(r: RunResult): CallerView {
  const out: Partial<Record<OutputReg, bigint>> = {};
  for (const s of r.outputs) {
    for (const f of s.fields) if (f.written && isGprName(f.name) && f.name !== 'rax' && f.name !== 'rsp') out[f.name] = f.value;
  }
  return { ...(r.returnValue !== undefined ? { status: r.returnValue } : {}), out };
}

/** A status as reports show it: its name (P-SEAMLDR's for bit-63 leaves) or hex. */
export function statusText(v: bigint, kind: SeamKind, leaf: bigint): string {
  const sw = Object.entries(SOFTWARE_STATUS).find(([, x]) => x === v)?.[0];
  return statusName(v, { kind, rax: leaf }) ?? sw ?? `0x${v.toString(16)}`;
}

/** The step's expectations and its repeat, checked against its last call (see the header for n/a). */
export function stepChecks(step: SequenceStep, fnName: string, calls: readonly RunResult[]): ExpectCheck[] {
  const last = calls[calls.length - 1]!;
  const v = callerView(last);
  const outcome = last.seamCalls[last.seamCalls.length - 1]?.outcome.kind;
  const out: ExpectCheck[] = [];
  const r = step.repeat;
  if (r) {
    const w = v.out[r.while];
    const reg = r.while.toUpperCase();
    if (last.end.kind !== 'returned') out.push({ what: 'repeat', expected: r.below, status: 'fail', detail: `call ${calls.length} did not return` });
    else if (w === undefined) out.push({ what: 'repeat', expected: r.below, status: 'n/a', detail: `${fnName} does not return ${reg} to its caller: called once, not until ${reg} reached 0x${r.below.toString(16)}` });
    else if (w < r.below && v.status === 0n) out.push({ what: 'repeat', expected: r.below, actual: w, status: 'fail', detail: `${reg} still below 0x${r.below.toString(16)} after ${r.max} calls` });
    else out.push({ what: 'repeat', expected: r.below, actual: w, status: 'pass', detail: `${calls.length} call${calls.length === 1 ? '' : 's'}` });
  }
  const observed = { ...(v.status !== undefined ? { status: v.status } : {}), outputs: v.out, outcome: outcome as OutcomeKind };
  const returned = last.end.kind === 'returned';
  for (const c of checkStep(step.expect, observed)) {
    const na = !c.ok && returned && c.actual === undefined && c.what.startsWith('outputs.');
    const detail = na ? `${fnName} does not return ${c.what.slice('outputs.'.length).toUpperCase()} to its caller`
      : !c.ok && !returned ? `the call did not return: ${last.end.kind}` : undefined;
    out.push({
      what: c.what, expected: c.expected, ...(c.actual !== undefined ? { actual: c.actual } : {}),
      status: c.ok ? 'pass' : na ? 'n/a' : 'fail', ...(detail ? { detail } : {}),
    });
  }
  return out;
}
