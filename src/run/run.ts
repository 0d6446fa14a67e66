/**
 * One run: an entry point of an image, called through the System V harness
 * with a scenario's logical call, SEAMCALL/TDCALL served by the scenario's
 * handler behind the CPU environment — in three steps that run, trace,
 * debug, diff and the silicon oracle share: plan (plan.ts), execute (the
 * machine's run control, driven by whoever prepared the run), check
 * (check.ts). The result is plain data (`RunResult`).
 */
import { SeamlabError } from '../errors.js';
import type { Image } from '../image/types.js';
import type { EntryFunction } from '../intake/types.js';
import { Machine, type MachineRun, type RunObserver, type SeamCallRecord, type StopReason, type Regs } from '../machine/machine.js';
import type { Execution } from '../machine/execution.js';
import type { AddressLocation } from '../image/source-map.js';
import { leafName, SOFTWARE_STATUS, statusName } from '../seam/codes.js';
import { serveWithEnvironment } from '../seam/env.js';
import { createHandler, handlerLabel, type LogicalCall, type Scenario } from '../seam/scenario.js';
import type { CpuEnv, GprName, Outcome, SeamCall, SeamKind } from '../seam/types.js';
import { checkCall, type AbiCheck, type OriginSource, type OutputStruct } from './check.js';
import { loadedDisassembler, type Disassembler } from '../encode/capstone.js';
import { OriginTracker, scrubPromise, type LeakReport } from './origins.js';
import { hasOutputPointer, planCall, type CallPlan, type ParamPlan, type PhysPlacement, type PlanOptions } from './plan.js';
import { DEFAULT_BUDGET, DEFAULT_TIME_LIMIT_MS } from '../support/limits.js';

/** The entry point to run: what intake discovered (name, kind, ABI). */
export type RunFunction = Pick<EntryFunction, 'name' | 'kind' | 'abi'> & { sourceFile?: string };

export interface RunOptions {
  revision: string;
  profile?: string;
  budget?: number;
  timeLimitMs?: number;
  /** Reuse a machine built for this image (the main job runs many scenarios per image). */
  machine?: Machine;
}

export interface SeamCallResult extends SeamCallRecord {
  leafName?: string;
  /** Name of the status in RAX after the call, when it is one. */
  statusName?: string;
}

/** What was run: the entry point of which revision, built how, under which scenario (a single run or a sequence). */
export interface RunSubject {
  revision: string;
  function: string;
  kind: SeamKind;
  sourceFile: string;
  profile: string;
  prototype: string;
  scenario: { name: string; summary: string; source: string };
}

export interface RunResult extends RunSubject {
  env: CpuEnv;
  handler: string;
  call: {
    leaf: bigint;
    leafName?: string;
    params: ParamPlan[];
    phys: PhysPlacement[];
    /** Scenario inputs this ABI cannot pass (the register held the caller's canary instead). */
    unpassable: GprName[];
  };
  seamCalls: SeamCallResult[];
  returnValue?: bigint;
  returnName?: string;
  outputs: OutputStruct[];
  registersOut: Regs;
  rflagsOut: bigint;
  checks: AbiCheck[];
  /** SEAM-produced values left in caller registers after return, with their origin (absent when the run did not return). */
  leak?: LeakReport;
  /** Exception-table fixups taken: the faulting instruction, where execution continued, and its source. */
  fixups: { vector: number; address: bigint; fixup: bigint; fixupLocation?: AddressLocation }[];
  instructions: number;
  end: StopReason;
  /** False when an ABI check failed or the run ended in oops, runaway, fault, panic or a handler error. */
  ok: boolean;
  /** The run ended in an oops caused by the scenario's own injected #UD/#GP (see `isExpectedOops`). */
  expectedOops: boolean;
}

/** Why a scenario does not apply to a function, or undefined when it does. A sequence applies to the entry points of its side. */
export function notApplicable(scenario: Scenario, fn: RunFunction): string | undefined {
  const side = (k: SeamKind) => (k === 'seamcall' ? 'host (seamcall)' : 'guest (tdcall)');
  if (scenario.sequence) return scenario.sequence.kind === fn.kind ? undefined : `a ${side(scenario.sequence.kind)} sequence`;
  if (!scenario.cases[fn.kind]) return `no ${side(fn.kind)} case`;
  if (scenario.requiresOutputPointer && !hasOutputPointer(fn.abi)) return 'the ABI has no output-only pointer';
  return undefined;
}

export function functionAddress(image: Image, name: string): bigint {
  const sym = image.symbols.find((s) => s.name === name && s.section !== null);
  if (!sym) {
    throw new SeamlabError('RUN_NO_SYMBOL', `${name} is not defined in ${image.sourceFile}`, 'check --fn against `seamlab revisions`',
      { notes: [`symbols: ${image.symbols.filter((s) => s.type === 'func').map((s) => s.name).join(', ') || 'none'}`] });
  }
  return sym.address;
}

/**
 * An oops is "expected" when the SEAM call itself faulted because the
 * scenario asked for it (environment or handler answered #UD/#GP) and the
 * function has no exception-table entry for it: the kernel would oops, and
 * that is the finding, not a failure of the run.
 */
export function isExpectedOops(end: StopReason, calls: SeamCallRecord[]): boolean {
  return end.kind === 'oops' && calls.some((c) => c.path === 'oops' && c.outcome.kind === 'fault' && c.address === end.address);
}

/**
 * A run planned and started but not yet checked: plan → execute → check,
 * with the middle step in the caller's hands. `runScenario` drives it to the
 * end at once; a debugger or a trace recorder drives `execution` (step,
 * breakpoints, observers) and then asks for the `result()`.
 */
export interface PreparedRun {
  readonly machine: Machine;
  readonly plan: CallPlan;
  readonly execution: Execution;
  readonly fn: RunFunction;
  readonly scenario: Scenario;
  /** Register origins through the run (single mode, Capstone loaded, loads observed); the leak check reads them. */
  readonly origins?: OriginTracker;
  /** Checks the ended run and returns what the C caller saw. Throws while the run has not ended. */
  result(): RunResult;
  /**
   * Checks a run of this plan made elsewhere — on the CPU, told to the
   * machine's observers by src/oracle/replay.ts, which leaves its final
   * registers and memory in the machine — as `result()` checks the machine's own.
   */
  resultOf(run: MachineRun): RunResult;
  /** Runs to the end (ignoring pause points), then `result()`. */
  complete(): RunResult;
  /** Closes the machine if this run created it. */
  close(): void;
}

export interface PrepareOptions extends RunOptions {
  /** Watchers of the run (trace recorder, debugger, coverage …). */
  observers?: RunObserver[];
  /** Install the memory-read hook (an observer wants loads). Only for a machine created here. */
  observeReads?: boolean;
  /** For a machine created here: 'recorded' records natively and replays to the observers (no stepping); default 'single'. */
  mode?: 'single' | 'recorded';
  /** For the register-origin tracking of the leak check (default: the one `loadDisassembler()` loaded, if any). */
  disassembler?: Disassembler;
  /** Track register origins for the leak check (default true; needs Capstone and a machine that observes loads). */
  trackOrigins?: boolean;
}

/** Plans the scenario's call for `fn` and starts the run (nothing executes yet). */
export function prepareRun(image: Image, fn: RunFunction, scenario: Scenario, opts: PrepareOptions): PreparedRun {
  if (scenario.sequence) {
    throw new SeamlabError('RUN_SEQUENCE', `scenario ${scenario.name} is a sequence of ${scenario.sequence.steps.length} calls, not one call`,
      `run it with \`seamlab run REV --fn ${fn.name} --scenario ${scenario.name}\` (or openSession in the library)`);
  }
  const reason = notApplicable(scenario, fn);
  if (reason) throw new SeamlabError('RUN_NOT_APPLICABLE', `scenario ${scenario.name} does not apply to ${fn.name}: ${reason}`, 'pick a scenario listed by `seamlab scenarios` for this kind of entry point');
  const c = scenario.cases[fn.kind]!;
  const entry = functionAddress(image, fn.name);
  const ownMachine = opts.machine === undefined;
  const track = opts.trackOrigins !== false;
  const machine = opts.machine ?? new Machine(image, { mode: opts.mode ?? 'single', observeReads: track || opts.observeReads === true || (opts.observers ?? []).some((o) => o.observesReads) });
  try {
    const plan = planCall(machine, fn.abi, entry, c.call);
    // A fresh handler per run: an inline handler object carries no state from one run to the next.
    const handler = createHandler(c.handler, { timeLimitMs: opts.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS });
    const { origins, originSource } = originsFor(image, fn, machine, track, opts.disassembler);
    const execution = machine.start({
      entry, serve: serveWithEnvironment(handler), handlerName: handler.name, env: c.env,
      budget: opts.budget ?? DEFAULT_BUDGET, timeLimitMs: opts.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS,
      observers: [...(opts.observers ?? []), ...(origins ? [origins] : [])],
    });
    const spec: CallSpec = { call: c.call, env: c.env, handler: handlerLabel(c.handler) };
    const resultOf = (run: MachineRun): RunResult => checkRun(image, fn, scenarioInfo(scenario), spec, opts, machine, plan, run, originSource);
    const result = (): RunResult => resultOf(execution.summary());
    return {
      machine, plan, execution, fn, scenario, result, resultOf, ...(origins ? { origins } : {}),
      complete: () => {
        execution.finish();
        return result();
      },
      close: () => {
        if (ownMachine) machine.close();
      },
    };
  } catch (e) {
    if (ownMachine) machine.close();
    throw e;
  }
}

export function runScenario(image: Image, fn: RunFunction, scenario: Scenario, opts: PrepareOptions): RunResult {
  const prepared = prepareRun(image, fn, scenario, opts);
  try {
    return prepared.complete();
  } finally {
    prepared.close();
  }
}

/** The scenario as a RunResult names it. */
export function scenarioInfo(s: Scenario): RunResult['scenario'] {
  return { name: s.name, summary: s.summary, source: s.source };
}

/** One call as a run makes it: the logical call, the CPU environment, and the label of who answers. */
export interface CallSpec {
  call: LogicalCall;
  env: CpuEnv;
  /** The handler as the result names it (`handlerLabel`). */
  handler: string;
}

export interface CallOptions extends RunOptions {
  /** Who serves the SEAM calls (a session's `serve`, keeping its state from call to call). */
  serve: (call: SeamCall) => Outcome;
  handlerName: string;
  /** How the call is planned (a sequence keeps its physical memory). */
  plan?: PlanOptions;
  observers?: RunObserver[];
}

/**
 * Plan → execute → check for one call on a machine the caller owns, with
 * the SEAM side given by the caller: what a sequence or a session does for
 * each of its calls, against one module state.
 */
export function runCall(image: Image, fn: RunFunction, machine: Machine, scenario: RunResult['scenario'], spec: CallSpec, opts: CallOptions): RunResult {
  const entry = functionAddress(image, fn.name);
  const plan = planCall(machine, fn.abi, entry, spec.call, opts.plan);
  const { origins, originSource } = originsFor(image, fn, machine, true, undefined);
  const run = machine.start({
    entry, serve: opts.serve, handlerName: opts.handlerName, env: spec.env,
    budget: opts.budget ?? DEFAULT_BUDGET, timeLimitMs: opts.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS,
    observers: [...(opts.observers ?? []), ...(origins ? [origins] : [])],
  }).finish();
  return checkRun(image, fn, scenario, spec, opts, machine, plan, run, originSource);
}

/**
 * The leak check's register origins for one run, or why they are not
 * tracked: they follow every instruction (single or recorded mode), need
 * Capstone's regs-access and a machine that reports loads.
 */
function originsFor(image: Image, fn: RunFunction, machine: Machine, track: boolean, disassembler: Disassembler | undefined): { origins?: OriginTracker; originSource: OriginSource } {
  const disasm = disassembler ?? loadedDisassembler();
  if (!track) return { originSource: { untracked: 'register origins not tracked (trackOrigins: false)' } };
  if (machine.mode === 'batch') return { originSource: { untracked: 'batch mode tracks no register origins' } };
  if (!disasm) return { originSource: { untracked: 'register origins need Capstone: await loadDisassembler() before the run' } };
  if (!machine.readsObserved) return { originSource: { untracked: 'register origins need a machine created with observeReads' } };
  const origins = new OriginTracker(machine, disasm);
  return { origins, originSource: { tracker: origins, promise: scrubPromise(image, fn.name, machine.sites.map((s) => s.address), disasm) } };
}

/**
 * A status's name as the caller of `leaf` sees it: the P-SEAMLDR's own codes
 * for SEAMCALLs with RAX bit 63 (codes.ts statusName), the module's table
 * otherwise; the kernel's software statuses (VMfailInvalid, #UD/#GP through
 * __ex_table) whichever side was called.
 */
function callerStatusName(value: bigint, kind: SeamKind, leaf: bigint): string | undefined {
  return statusName(value, { kind, rax: leaf }) ?? SOFTWARE_STATUS_NAME.get(value);
}
const SOFTWARE_STATUS_NAME = new Map<bigint, string>(Object.entries(SOFTWARE_STATUS).map(([n, v]) => [v, n]));

/** The check step: what the caller got, the ABI checks, names of leaves and statuses. */
function checkRun(image: Image, fn: RunFunction, scenario: RunResult['scenario'], c: CallSpec, opts: RunOptions, machine: Machine, plan: CallPlan, run: MachineRun, origins: OriginSource): RunResult {
  const h = checkCall(machine, plan, run, origins);
  const seamCalls: SeamCallResult[] = run.seamCalls.map((r) => {
    const ln = leafName(r.kind, r.regsIn.rax);
    const sn = r.outcome.kind === 'return' ? statusName(r.outcome.rax, { kind: r.kind, rax: r.regsIn.rax }) : undefined;
    return { ...r, ...(ln ? { leafName: ln } : {}), ...(sn ? { statusName: sn } : {}) };
  });
  const expectedOops = isExpectedOops(run.stop, run.seamCalls);
  const badEnd = run.stop.kind !== 'returned' && !expectedOops;
  const returnName = h.returnValue !== undefined ? callerStatusName(h.returnValue, fn.kind, c.call.leaf) : undefined;
  const ln = leafName(fn.kind, c.call.leaf);
  return {
    revision: opts.revision, function: fn.name, kind: fn.kind, sourceFile: fn.sourceFile ?? image.sourceFile,
    profile: opts.profile ?? image.profile, prototype: fn.abi.prototype,
    scenario: { ...scenario },
    env: { ...c.env }, handler: c.handler,
    call: { leaf: c.call.leaf, ...(ln ? { leafName: ln } : {}), params: plan.params, phys: plan.phys, unpassable: plan.unpassable },
    seamCalls,
    ...(h.returnValue !== undefined ? { returnValue: h.returnValue } : {}),
    ...(returnName ? { returnName } : {}),
    outputs: h.outputs, registersOut: h.regsOut, rflagsOut: h.rflagsOut, checks: h.checks, ...(h.leak ? { leak: h.leak } : {}),
    fixups: run.fixups.map((f) => {
      const loc = machine.map.locate(f.fixup);
      return loc ? { ...f, fixupLocation: loc } : f;
    }),
    instructions: run.instructions, end: run.stop,
    ok: !badEnd && !h.checks.some((x) => x.status === 'fail'),
    expectedOops,
  };
}
