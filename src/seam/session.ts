/**
 * A module session: one SEAM side (TDX module + P-SEAMLDR, TD guest view,
 * a script, or a user's handler) whose state persists across calls, so a
 * sequence — the kernel's bring-up, a retry loop over scripted answers, a
 * TD being built — runs against one module. Two ways in:
 * - `serve(call)`: what the machine's trap calls (environment check, then
 *   the handler, applied as the CPU does) — the run layer passes it to
 *   `Machine.run` for every call of a sequence or a kernel session
 *   (src/run/session.ts `CallSession`, `runSequence`, `openSession`);
 * - `call(…)` / `runSequence(…)`: drive it directly with register values,
 *   no emulator — the outcome applied to a register file by the machine's
 *   own `applyOutcome` (re-executing while the answer is "interrupted"),
 *   and the caller-visible result checked against the step's `expect`.
 */
import { SeamlabError } from '../errors.js';
import { DEFAULT_LAYOUT } from '../machine/layout.js';
import { PhysMemory } from '../machine/memory.js';
import { SLOT, SLOT_COUNT } from '../machine/register-file.js';
import { applyOutcome } from '../machine/trap.js';
import { GPR_NAMES } from '../support/registers.js';
import { leafName, parseLeaf, SOFTWARE_STATUS, statusName } from './codes.js';
import { serveWithEnvironment } from './env.js';
import { createHandler, type HandlerSpec, type InputValue, type MemoryInit, type Sequence, type SequenceStep, type StepExpect } from './scenario.js';
import { GUEST_ENV, HOST_ENV, VECTOR_NUMBER, type CpuEnv, type GprName, type GuestMemory, type Outcome, type OutcomeKind, type OutputReg, type SeamCall, type SeamHandler, type SeamKind } from './types.js';

/** One call made directly (no emulator). */
export interface SessionCall {
  /** RAX: a leaf number (with version bits) or name ("TDH.SYS.RD", "TDG.VM.RD v1"). */
  leaf: bigint | string;
  /** Every other register the instruction sees (0 when not given). */
  regs?: Partial<Record<GprName, bigint>>;
  env?: Partial<CpuEnv>;
  kind?: SeamKind;
  /** RFLAGS before the instruction (default 0x202: IF and the always-one bit). */
  rflags?: bigint;
}

export interface SessionCallResult {
  kind: SeamKind;
  leaf: bigint;
  leafName?: string;
  /** Every answer, re-executions of an interrupted TDCALL included; the last is the one that completed it. */
  outcomes: Outcome[];
  outcome: Outcome;
  regsIn: Record<GprName, bigint>;
  regsOut: Record<GprName, bigint>;
  rflagsOut: bigint;
  /** The status the 6.7+ caller gets (tdxcall.S): see `callerStatus`. Undefined when the call oopses. */
  status?: bigint;
  statusName?: string;
}

export interface StepCheck {
  what: string;
  expected: bigint | string;
  actual: bigint | string | undefined;
  ok: boolean;
}

export interface StepResult {
  index: number;
  label?: string;
  /** Every call the step made (more than one with `repeat`). */
  calls: SessionCallResult[];
  checks: StepCheck[];
  ok: boolean;
}

/** How many times an "interrupted" answer is re-executed before the session gives up (a handler that never completes). */
export const MAX_REEXECUTIONS = 10_000;

/**
 * The status a 6.7+ caller gets back from `__seamcall*` / `__tdcall*`
 * (arch/x86/virt/vmx/tdx/tdxcall.S, R5): RAX on a return; VMfailInvalid →
 * TDX_SEAMCALL_VMFAILINVALID; VMfailValid → RAX as it was (only CF is
 * tested); a SEAMCALL #UD/#GP → TDX_SW_ERROR | trap number (the
 * _ASM_EXTABLE_FAULT fixup); a TDCALL fault has no fixup (an oops: undefined).
 */
export function callerStatus(kind: SeamKind, o: Outcome, raxAfter: bigint): bigint | undefined {
  switch (o.kind) {
    case 'return': return o.rax;
    case 'vmfailinvalid': return SOFTWARE_STATUS.TDX_SEAMCALL_VMFAILINVALID;
    case 'vmfailvalid': return raxAfter;
    case 'fault': return kind === 'seamcall' ? SOFTWARE_STATUS.TDX_SW_ERROR | BigInt(VECTOR_NUMBER[o.vector]) : undefined;
    case 'interrupted': return undefined;
  }
}

/** Compares what a step's caller saw with its `expect`. `observed.outputs` are the registers (or args fields) after the call. */
export function checkStep(expect: StepExpect | undefined, observed: { status?: bigint; outputs: Partial<Record<OutputReg, bigint>>; outcome: OutcomeKind }): StepCheck[] {
  if (!expect) return [];
  const out: StepCheck[] = [];
  if (expect.outcome !== undefined) out.push({ what: 'outcome', expected: expect.outcome, actual: observed.outcome, ok: expect.outcome === observed.outcome });
  if (expect.status !== undefined) out.push({ what: 'status', expected: expect.status, actual: observed.status, ok: expect.status === observed.status });
  for (const [r, v] of Object.entries(expect.outputs ?? {}) as [OutputReg, bigint][]) {
    out.push({ what: `outputs.${r}`, expected: v, actual: observed.outputs[r], ok: observed.outputs[r] === v });
  }
  return out;
}

/** Whether a `repeat` step calls again: its output is still below the bound and the call succeeded. */
export function repeatContinues(step: SequenceStep, outputs: Partial<Record<OutputReg, bigint>>, status: bigint | undefined, callsSoFar: number): boolean {
  const r = step.repeat;
  if (!r || callsSoFar >= r.max || status !== 0n) return false;
  const v = outputs[r.while];
  return v !== undefined && v < r.below;
}

/** Writes a sequence's memory initialisation (absolute physical addresses) into the area. */
export function writeMemoryInits(mem: GuestMemory, inits: readonly MemoryInit[]): void {
  for (const m of inits) m.u64.forEach((q, i) => mem.writeU64(m.phys + BigInt(i * 8), q));
}

export interface ModuleSession {
  /** The persistent SEAM side; its state carries from call to call. */
  readonly handler: SeamHandler;
  readonly kind: SeamKind;
  /** For `Machine.run({ serve })`: the environment check, then the handler, as the CPU applies it. */
  serve(call: SeamCall): Outcome;
  /** One direct call (no emulator). */
  call(c: SessionCall, mem?: GuestMemory): SessionCallResult;
  /** Every step of a sequence, in order, with its checks. */
  runSequence(steps: readonly SequenceStep[], mem?: GuestMemory): StepResult[];
  /** Calls served so far (the `index` a `SeamCall` gets). */
  readonly calls: number;
}

/** The physical-memory area direct calls use when none is given: the machine's default layout's. */
export function defaultSessionMemory(): PhysMemory {
  return new PhysMemory(DEFAULT_LAYOUT.physBase, Buffer.alloc(DEFAULT_LAYOUT.physSize));
}

/**
 * Creates a session around a handler spec (a scenario's `handler`, or a
 * sequence's): `createModuleSession({ model: 'tdx-module', module: { state: 'uninitialized' } })`.
 */
export function createModuleSession(spec: HandlerSpec, opts: { kind?: SeamKind; mem?: GuestMemory; timeLimitMs?: number } = {}): ModuleSession {
  const handler = createHandler(spec, opts.timeLimitMs !== undefined ? { timeLimitMs: opts.timeLimitMs } : {});
  const serve = serveWithEnvironment(handler);
  const kind: SeamKind = opts.kind ?? ('model' in spec && spec.model === 'td-guest' ? 'tdcall' : 'seamcall');
  let memory = opts.mem;
  let count = 0;
  const session: ModuleSession = {
    handler, kind,
    get calls() { return count; },
    serve(call) {
      count++;
      return serve(call);
    },
    call(c, mem) {
      const m = mem ?? (memory ??= defaultSessionMemory());
      const k = c.kind ?? kind;
      const leaf = typeof c.leaf === 'bigint' ? c.leaf : parseLeaf(c.leaf);
      if (leaf === undefined) throw new SeamlabError('SESSION_UNKNOWN_LEAF', `unknown leaf ${String(c.leaf)}`, 'give a leaf number or a name such as TDH.SYS.RD, TDG.VP.INFO, SEAMLDR.INFO');
      const env: CpuEnv = { ...(k === 'seamcall' ? HOST_ENV : GUEST_ENV), ...c.env };
      const v = new BigUint64Array(SLOT_COUNT);
      for (const [r, val] of Object.entries(c.regs ?? {}) as [GprName, bigint][]) v[SLOT[r]] = BigInt.asUintN(64, val);
      v[SLOT.rax] = leaf;
      v[SLOT.rflags] = c.rflags ?? 0x202n;
      const rip0 = 0x1000n;
      v[SLOT.rip] = rip0;
      const regsIn = regsOf(v);
      const outcomes: Outcome[] = [];
      for (let i = 0; i < MAX_REEXECUTIONS; i++) {
        const call: SeamCall = { kind: k, index: count, rip: rip0, rflags: v[SLOT.rflags]!, regs: regsOf(v), env, mem: m };
        const o = session.serve(call);
        outcomes.push(o.kind === 'return' || o.kind === 'interrupted' ? { ...o, ...(o.regs ? { regs: { ...o.regs } } : {}) } : { ...o });
        if (!applyOutcome(v, o, handler.name) || o.kind !== 'interrupted') break;
      }
      const outcome = outcomes[outcomes.length - 1]!;
      if (outcome.kind === 'interrupted') throw new SeamlabError('SESSION_NEVER_COMPLETES', `${handler.name} answered "interrupted" ${MAX_REEXECUTIONS} times in a row`, 'give the handler a condition that ends (e.g. fewer pending interrupts)');
      const regsOut = regsOf(v);
      const status = callerStatus(k, outcome, regsOut.rax);
      const ln = leafName(k, leaf);
      const sn = status === undefined ? undefined : statusName(status, { kind: k, rax: leaf });
      return { kind: k, leaf, ...(ln ? { leafName: ln } : {}), outcomes, outcome, regsIn, regsOut, rflagsOut: v[SLOT.rflags]!, ...(status !== undefined ? { status } : {}), ...(sn ? { statusName: sn } : {}) };
    },
    runSequence(steps, mem) {
      const m = mem ?? (memory ??= defaultSessionMemory());
      return steps.map((step, index) => {
        const regs = directInputs(step.call.inputs, index);
        const calls: SessionCallResult[] = [];
        for (;;) {
          const r = session.call({ leaf: step.call.leaf, regs, env: step.env, kind }, m);
          calls.push(r);
          if (!repeatContinues(step, outputsOf(r), r.status, calls.length)) break;
        }
        const last = calls[calls.length - 1]!;
        const checks = checkStep(step.expect, { ...(last.status !== undefined ? { status: last.status } : {}), outputs: outputsOf(last), outcome: last.outcome.kind });
        return { index, ...(step.label ? { label: step.label } : {}), calls, checks, ok: checks.every((c) => c.ok) };
      });
    },
  };
  return session;
}

/** Runs a whole sequence scenario's steps in a fresh session (memory initialised first). */
export function runSequenceDirect(seq: Sequence, mem: GuestMemory = defaultSessionMemory()): StepResult[] {
  writeMemoryInits(mem, seq.memory);
  return createModuleSession(seq.handler, { kind: seq.kind, mem }).runSequence(seq.steps, mem);
}

function regsOf(v: BigUint64Array): Record<GprName, bigint> {
  return Object.fromEntries(GPR_NAMES.map((n, i) => [n, v[i]!])) as Record<GprName, bigint>;
}

function outputsOf(r: SessionCallResult): Partial<Record<OutputReg, bigint>> {
  const { rax: _a, rsp: _s, ...rest } = r.regsOut;
  return rest;
}

function directInputs(inputs: Partial<Record<GprName, InputValue>>, step: number): Partial<Record<GprName, bigint>> {
  const out: Partial<Record<GprName, bigint>> = {};
  for (const [r, v] of Object.entries(inputs) as [GprName, InputValue][]) {
    if (typeof v !== 'bigint') {
      throw new SeamlabError('SESSION_BUFFER_INPUT', `step ${step}: input ${r} is a physical buffer, which only the run layer places`,
        'give the address as a number and put the contents in the sequence\'s `memory`');
    }
    out[r] = v;
  }
  return out;
}
