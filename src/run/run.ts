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
import { leafName, statusName } from '../seam/codes.js';
import { serveWithEnvironment } from '../seam/env.js';
import { createHandler, handlerLabel, type Scenario } from '../seam/scenario.js';
import type { CpuEnv, GprName, SeamKind } from '../seam/types.js';
import { checkCall, type AbiCheck, type OriginSource, type OutputStruct } from './check.js';
import { loadedDisassembler, type Disassembler } from '../encode/capstone.js';
import { OriginTracker, scrubPromise, type LeakReport } from './origins.js';
import { hasOutputPointer, planCall, type CallPlan, type ParamPlan, type PhysPlacement } from './plan.js';

export const DEFAULT_BUDGET = 1_000_000;
export const DEFAULT_TIME_LIMIT_MS = 5_000;

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

export interface RunResult {
  revision: string;
  function: string;
  kind: SeamKind;
  sourceFile: string;
  profile: string;
  prototype: string;
  scenario: { name: string; summary: string; source: string };
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

/** Why a scenario does not apply to a function, or undefined when it does. */
export function notApplicable(scenario: Scenario, fn: RunFunction): string | undefined {
  if (!scenario.cases[fn.kind]) return `no ${fn.kind === 'seamcall' ? 'host (seamcall)' : 'guest (tdcall)'} case`;
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
  /** For the register-origin tracking of the leak check (default: the one `loadDisassembler()` loaded, if any). */
  disassembler?: Disassembler;
  /** Track register origins for the leak check (default true; needs Capstone and a machine that observes loads). */
  trackOrigins?: boolean;
}

/** Plans the scenario's call for `fn` and starts the run (nothing executes yet). */
export function prepareRun(image: Image, fn: RunFunction, scenario: Scenario, opts: PrepareOptions): PreparedRun {
  const reason = notApplicable(scenario, fn);
  if (reason) throw new SeamlabError('RUN_NOT_APPLICABLE', `scenario ${scenario.name} does not apply to ${fn.name}: ${reason}`, 'pick a scenario listed by `seamlab scenarios` for this kind of entry point');
  const c = scenario.cases[fn.kind]!;
  const entry = functionAddress(image, fn.name);
  const ownMachine = opts.machine === undefined;
  const track = opts.trackOrigins !== false;
  const machine = opts.machine ?? new Machine(image, { observeReads: track || opts.observeReads === true || (opts.observers ?? []).some((o) => o.observesReads) });
  try {
    const plan = planCall(machine, fn.abi, entry, c.call);
    // A fresh handler per run: an inline handler object carries no state from one run to the next.
    const handler = createHandler(c.handler);
    const disasm = opts.disassembler ?? loadedDisassembler();
    let originSource: OriginSource;
    let origins: OriginTracker | undefined;
    if (!track) originSource = { untracked: 'register origins not tracked (trackOrigins: false)' };
    else if (machine.mode !== 'single') originSource = { untracked: 'batch mode tracks no register origins' };
    else if (!disasm) originSource = { untracked: 'register origins need Capstone: await loadDisassembler() before the run' };
    else if (!machine.readsObserved) originSource = { untracked: 'register origins need a machine created with observeReads' };
    else {
      origins = new OriginTracker(machine, disasm);
      originSource = { tracker: origins, promise: scrubPromise(image, fn.name, machine.sites.map((s) => s.address), disasm) };
    }
    const execution = machine.start({
      entry, serve: serveWithEnvironment(handler), handlerName: handler.name, env: c.env,
      budget: opts.budget ?? DEFAULT_BUDGET, timeLimitMs: opts.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS,
      observers: [...(opts.observers ?? []), ...(origins ? [origins] : [])],
    });
    const result = (): RunResult => checkRun(image, fn, scenario, opts, machine, plan, execution.summary(), originSource);
    return {
      machine, plan, execution, fn, scenario, result, ...(origins ? { origins } : {}),
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

/** The check step: what the caller got, the ABI checks, names of leaves and statuses. */
function checkRun(image: Image, fn: RunFunction, scenario: Scenario, opts: RunOptions, machine: Machine, plan: CallPlan, run: MachineRun, origins: OriginSource): RunResult {
  const c = scenario.cases[fn.kind]!;
  const h = checkCall(machine, plan, run, origins);
  const seamCalls: SeamCallResult[] = run.seamCalls.map((r) => {
    const ln = leafName(r.kind, r.regsIn.rax);
    const sn = r.outcome.kind === 'return' ? statusName(r.outcome.rax) : undefined;
    return { ...r, ...(ln ? { leafName: ln } : {}), ...(sn ? { statusName: sn } : {}) };
  });
  const expectedOops = isExpectedOops(run.stop, run.seamCalls);
  const badEnd = run.stop.kind !== 'returned' && !expectedOops;
  const returnName = h.returnValue !== undefined ? statusName(h.returnValue) : undefined;
  const ln = leafName(fn.kind, c.call.leaf);
  return {
    revision: opts.revision, function: fn.name, kind: fn.kind, sourceFile: fn.sourceFile ?? image.sourceFile,
    profile: opts.profile ?? image.profile, prototype: fn.abi.prototype,
    scenario: { name: scenario.name, summary: scenario.summary, source: scenario.source },
    env: { ...c.env }, handler: handlerLabel(c.handler),
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
