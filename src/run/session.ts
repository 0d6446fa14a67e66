/**
 * Kernel sessions: calls of real entry points (`__seamcall`, `__seamcall_ret`,
 * `__tdcall` …) against one SEAM state. Every call is a whole run — plan,
 * execute, check (run.ts `runCall`) — on a machine of the entry point's
 * image, and every SEAMCALL/TDCALL of every call is served by the same
 * module session (src/seam/session.ts), so the module's state machine, a
 * script's position and the physical memory the module wrote carry from one
 * call to the next. Sequence scenarios run on this (`runSequence`; what
 * they report is in sequence.ts), and the library gets it as `openSession`:
 *
 *     const s = await openSession('linux-6.12', { module: { state: 'uninitialized' } });
 *     const r = s.call('__seamcall_ret', { leaf: 'TDH.SYS.INIT' });   // a RunResult, plus the caller's view
 *
 * Physical memory is one area for the whole session: the sequence's memory
 * initialisation is written once, calls do not clear it, and each call's own
 * buffers are placed after the initialised part (the same place for every
 * call). When a session calls entry points of two images (two machines),
 * the area moves with it.
 */
import { SeamlabError } from '../errors.js';
import { buildImage } from '../image/build.js';
import type { Image } from '../image/types.js';
import { resolveRevision } from '../intake/revision.js';
import type { Revision } from '../intake/types.js';
import { Machine } from '../machine/machine.js';
import type { SeamldrConfig } from '../seam/p-seamldr.js';
import { handlerLabel, type HandlerSpec, type InputValue, type LogicalCall, type MemoryInit, type PhysBuffer, type Scenario, type SequenceStep } from '../seam/scenario.js';
import { parseNumber } from '../seam/scenario-schema.js';
import { createModuleSession, repeatContinues, writeMemoryInits, type ModuleSession } from '../seam/session.js';
import type { TdGuestConfig } from '../seam/td-guest.js';
import type { TdxModuleConfig } from '../seam/tdx-module.js';
import { GUEST_ENV, HOST_ENV, type CpuEnv, type GprName, type SeamHandler, type SeamKind } from '../seam/types.js';
import { isGprName } from '../support/registers.js';
import { pageAlignUp } from '../support/memory.js';
import type { ImageBuilder } from './main-job.js';
import { runCall, scenarioInfo, type RunFunction, type RunOptions, type RunResult } from './run.js';
import { callerView, stepChecks, type CallerView, type SequenceResult, type SequenceStepResult } from './sequence.js';
import { loadDisassembler } from '../encode/capstone.js';

/** The run-layer side of a session: one module session, one machine per image, one physical memory. */
export class CallSession {
  readonly module: ModuleSession;
  readonly label: string;
  private readonly machines = new Map<Image, { machine: Machine; owned: boolean }>();
  private current: Machine | undefined;
  private physStart = 0;

  constructor(handler: HandlerSpec, readonly kind: SeamKind, private readonly memory: readonly MemoryInit[], private readonly options: RunOptions) {
    this.module = createModuleSession(handler, { kind });
    this.label = handlerLabel(handler);
  }

  /** The machine for `image` (the given one, or one made here), holding the session's physical memory. */
  private machineFor(image: Image, given?: Machine): Machine {
    let m = this.machines.get(image);
    if (!m) {
      // Loads observed: the leak check follows register origins through every call.
      m = { machine: given ?? new Machine(image, { observeReads: true }), owned: given === undefined };
      this.machines.set(image, m);
    }
    const machine = m.machine;
    if (this.current === machine) return machine;
    if (this.current) {
      machine.phys.buffer.set(this.current.phys.buffer);
    } else {
      machine.reset();
      this.physStart = initialise(machine, this.memory);
    }
    this.current = machine;
    return machine;
  }

  /** One call of `fn`: plan (the session's memory kept), execute against the module session, check. */
  call(image: Image, fn: RunFunction, call: LogicalCall, env: CpuEnv, scenario: RunResult['scenario'], machine?: Machine): RunResult {
    if (fn.kind !== this.kind) {
      throw new SeamlabError('SESSION_WRONG_KIND', `${fn.name} makes ${fn.kind === 'seamcall' ? 'SEAMCALLs' : 'TDCALLs'}; this session serves ${this.kind === 'seamcall' ? 'SEAMCALLs (host)' : 'TDCALLs (guest)'}`,
        'call an entry point of the session\'s side, or open a session with a handler for the other one');
    }
    const m = this.machineFor(image, machine);
    return runCall(image, fn, m, scenario, { call, env, handler: this.label }, {
      ...this.options, serve: (c) => this.module.serve(c), handlerName: this.module.handler.name,
      plan: { keepPhys: true, physStart: this.physStart },
    });
  }

  /** One step of a sequence through `fn`: called again while its `repeat` says so, then checked. */
  step(image: Image, fn: RunFunction, step: SequenceStep, index: number, scenario: RunResult['scenario'], machine?: Machine): SequenceStepResult {
    const calls: RunResult[] = [];
    for (;;) {
      const r = this.call(image, fn, step.call, step.env, scenario, machine);
      calls.push(r);
      if (r.end.kind !== 'returned') break;
      const v = callerView(r);
      if (!repeatContinues(step, v.out, v.status, calls.length)) break;
    }
    const checks = stepChecks(step, fn.name, calls);
    const last = calls[calls.length - 1]!;
    return {
      index, ...(step.label ? { label: step.label } : {}), leaf: step.call.leaf, ...(last.call.leafName ? { leafName: last.call.leafName } : {}),
      env: { ...step.env }, ...(step.repeat ? { repeat: { ...step.repeat } } : {}), calls, checks, ok: calls.every((c) => c.ok) && checks.every((c) => c.status !== 'fail'),
    };
  }

  close(): void {
    for (const { machine, owned } of this.machines.values()) if (owned) machine.close();
    this.machines.clear();
    this.current = undefined;
  }
}

/** Writes the memory initialisation; returns where each call's buffers go (the page after the initialised part). */
function initialise(machine: Machine, memory: readonly MemoryInit[]): number {
  const area = machine.phys;
  let end = 0;
  for (const m of memory) {
    const size = m.u64.length * 8;
    if (!area.contains(m.phys, size)) {
      throw new SeamlabError('SEQUENCE_MEMORY_OUTSIDE', `memory at 0x${m.phys.toString(16)} (${size} bytes) is outside the physical-memory area 0x${area.base.toString(16)}..0x${(area.base + BigInt(area.size)).toString(16)}`,
        `give addresses inside the area (from 0x${area.base.toString(16)})`);
    }
    end = Math.max(end, Number(m.phys - area.base) + size);
  }
  writeMemoryInits(area, memory);
  return pageAlignUp(end);
}

/** A register input of a session call: a number (bigint, a safe integer, or text such as "0x…" or a status name) or a physical buffer. */
export type SessionInput = bigint | number | string | PhysBuffer;

/** One call in a session: the leaf, the inputs by SEAM register name, and the CPU environment. */
export type KernelCallInput = {
  /** A leaf name ("TDH.SYS.RD", "TDG.VM.RD v1", "SEAMLDR.INFO") or number (with its version bits). */
  leaf: string | bigint;
  /** Changes to the side's default environment (host: VMX on, SEAMRR on, CPL 0, LP 0). */
  env?: Partial<CpuEnv>;
  /** Pass NULL for output-only struct pointers. */
  nullOutput?: boolean;
} & { [R in Exclude<GprName, 'rax' | 'rsp'>]?: SessionInput };

/** A session call's result: the run (as `seamlab run` reports it) and what the caller got back. */
export type KernelCallResult = RunResult & CallerView & { statusName?: string };

export interface SessionOptions {
  /** Who answers (default: the TDX module model for a host session, the TD-guest model for a guest one). */
  handler?: HandlerSpec;
  /** Settings of the TDX module model (SCENARIOS.md): e.g. `{ state: 'uninitialized', lps: 4 }`. */
  module?: Partial<TdxModuleConfig>;
  seamldr?: Partial<SeamldrConfig>;
  /** Settings of the TD-guest model; makes the session a guest (TDCALL) one. */
  guest?: Partial<TdGuestConfig>;
  kind?: SeamKind;
  /** Physical memory written before the first call (absolute addresses, as a sequence's `memory`). */
  memory?: MemoryInit[];
  profile?: string;
  /** A kernel .config (path or text) instead of the profile. */
  config?: string;
  budget?: number;
  timeLimitMs?: number;
  buildImage?: ImageBuilder;
}

export interface KernelSession {
  readonly revision: Revision;
  readonly kind: SeamKind;
  /** The SEAM side; its state (`handler.module.state` for the TDX module model) carries from call to call. */
  readonly handler: SeamHandler;
  /** SEAM calls served so far. */
  readonly seamCalls: number;
  /** Calls `fn` once with `input`, against the session's module state. */
  call(fn: string, input: KernelCallInput): KernelCallResult;
  /** One step of a sequence through `fn` (again while its `repeat` says so), with its checks. */
  step(fn: string, step: SequenceStep, index?: number): SequenceStepResult;
  /** Closes the machines. */
  close(): void;
}

const INPUT_KEYS = new Set(['leaf', 'env', 'nullOutput']);

function inputValue(r: string, v: SessionInput): InputValue {
  if (typeof v === 'object') return v;
  const n = parseNumber(v);
  if (typeof n === 'string') throw new SeamlabError('SESSION_BAD_VALUE', `${r}: ${n}`, 'write a bigint (0x…n), a safe integer, or a string: "0x…", decimal, a status name');
  return n;
}

/**
 * Opens a session on a revision (a built-in name such as 'linux-6.12', a
 * tree, BASE+PATCH…, or a resolved Revision): calls of its entry points
 * against one SEAM state. Images are built when an entry point of their
 * file is first called.
 */
export async function openSession(revision: string | Revision, opts: SessionOptions = {}): Promise<KernelSession> {
  const rev = typeof revision === 'string' ? resolveRevision(revision) : revision;
  // The leak check's register origins need Capstone (loaded once per process).
  await loadDisassembler();
  const kind: SeamKind = opts.kind ?? (opts.guest || (opts.handler && 'model' in opts.handler && opts.handler.model === 'td-guest') ? 'tdcall' : 'seamcall');
  const handler: HandlerSpec = opts.handler ?? (kind === 'seamcall'
    ? { model: 'tdx-module', ...(opts.module ? { module: opts.module } : {}), ...(opts.seamldr ? { seamldr: opts.seamldr } : {}) }
    : { model: 'td-guest', ...(opts.guest ? { guest: opts.guest } : {}) });
  const profile = opts.profile ?? 'default';
  const label = opts.config === undefined ? profile : `.config ${opts.config.includes('\n') ? '(text)' : opts.config}`;
  const core = new CallSession(handler, kind, opts.memory ?? [], {
    revision: rev.name, profile: label,
    ...(opts.budget !== undefined ? { budget: opts.budget } : {}), ...(opts.timeLimitMs !== undefined ? { timeLimitMs: opts.timeLimitMs } : {}),
  });
  const images = new Map<string, Image>();
  const imageOf = (file: string): Image => {
    let img = images.get(file);
    if (!img) {
      img = opts.buildImage ? opts.buildImage(rev, file, profile) : buildImage(rev.files, file, { profile, ...(opts.config !== undefined ? { config: opts.config } : {}) }).image;
      images.set(file, img);
    }
    return img;
  };
  const entry = (name: string) => {
    const f = rev.functions.find((x) => x.name === name);
    if (!f) {
      throw new SeamlabError('RUN_UNKNOWN_FUNCTION', `${rev.name} has no TDX entry point named ${name}`, 'pick one of the functions `seamlab revisions` lists',
        { notes: [`entry points of ${rev.name}: ${rev.functions.map((x) => x.name).join(', ')}`] });
    }
    return f;
  };
  let n = 0;
  return {
    revision: rev, kind,
    get handler() { return core.module.handler; },
    get seamCalls() { return core.module.calls; },
    call(fnName, input) {
      const fn = entry(fnName);
      const leaf = parseNumber(input.leaf, true);
      if (typeof leaf === 'string') throw new SeamlabError('SESSION_UNKNOWN_LEAF', leaf, 'give a leaf number or a name such as TDH.SYS.RD, TDG.VP.INFO, SEAMLDR.INFO');
      const inputs: Partial<Record<GprName, InputValue>> = {};
      for (const [k, v] of Object.entries(input)) {
        if (INPUT_KEYS.has(k) || v === undefined) continue;
        if (!isGprName(k) || k === 'rax' || k === 'rsp') {
          throw new SeamlabError('SESSION_BAD_INPUT', `${k} is not an input register`, 'give inputs by SEAM register name: rcx, rdx, r8 … (RAX is the leaf)');
        }
        inputs[k] = inputValue(k, v as SessionInput);
      }
      const env: CpuEnv = { ...(kind === 'seamcall' ? HOST_ENV : GUEST_ENV), ...input.env };
      const call: LogicalCall = { leaf, inputs, ...(input.nullOutput ? { nullOutput: true } : {}) };
      n++;
      const r = core.call(imageOf(fn.sourceFile), fn, call, env, { name: `session#${n}`, summary: `call ${n} of a session on ${rev.name}`, source: 'session' });
      return { ...r, ...callerView(r), ...(r.returnName ? { statusName: r.returnName } : {}) };
    },
    step(fnName, step, index = 0) {
      const fn = entry(fnName);
      n++;
      return core.step(imageOf(fn.sourceFile), fn, step, index, { name: `session#${n}`, summary: `step ${index + 1} in a session on ${rev.name}`, source: 'session' });
    },
    close() { core.close(); },
  };
}

/**
 * Runs a sequence scenario's steps through `fn`, in order, against one
 * module state. `opts.machine` (an image's machine the job reuses) is used
 * and left open; otherwise the machine is made and closed here.
 */
export function runSequence(image: Image, fn: RunFunction, scenario: Scenario, opts: RunOptions): SequenceResult {
  const seq = scenario.sequence;
  if (!seq) throw new Error(`runSequence: ${scenario.name} is not a sequence`);
  const info = scenarioInfo(scenario);
  const core = new CallSession(seq.handler, seq.kind, seq.memory, opts);
  const steps: SequenceStepResult[] = [];
  let notRun = 0;
  try {
    for (let i = 0; i < seq.steps.length; i++) {
      const st = core.step(image, fn, seq.steps[i]!, i, info, opts.machine);
      steps.push(st);
      if (st.calls[st.calls.length - 1]!.end.kind !== 'returned') {
        notRun = seq.steps.length - i - 1;
        break;
      }
    }
  } finally {
    core.close();
  }
  const first = steps[0]?.calls[0];
  return {
    revision: opts.revision, function: fn.name, kind: fn.kind, sourceFile: first?.sourceFile ?? fn.sourceFile ?? image.sourceFile,
    profile: first?.profile ?? opts.profile ?? image.profile, prototype: fn.abi.prototype, scenario: info, handler: core.label,
    steps, notRun, calls: steps.reduce((n, s) => n + s.calls.length, 0),
    ok: notRun === 0 && steps.every((s) => s.ok),
  };
}
