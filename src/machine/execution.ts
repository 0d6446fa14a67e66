/**
 * Run control: one run of a machine from an entry point, as an object a
 * harness, a trace recorder or a debugger drives — `step(n)`, `runUntil(…)`,
 * `continue()` (interruptible when awaited through `continueAsync`),
 * `finish()` — and that observers watch instruction by instruction.
 *
 * Every pause is decided in the per-instruction hook, before the
 * instruction executes, and stops Unicorn there: the state at a pause is
 * exact (RIP at the next instruction, nothing half done), so stepping one
 * instruction at a time ends in the same state as one continue. Unicorn 2
 * skips the remaining hooks of an instruction once one of them stops it, so
 * a pause at a SEAMCALL happens before the trap serves it; resuming runs the
 * instruction without pausing at it again.
 *
 * CPU exceptions go through the image's exception table like the kernel's
 * fixup_exception() (EX_TYPE_FAULT: ex_handler_fault sets regs->ax = trapnr;
 * EX_TYPE_DEFAULT: ex_handler_default only jumps), or end the run in an oops.
 */
import type { ExtableEntry, Image } from '../image/types.js';
import type { CpuEnv, Outcome, SeamCall, SeamKind } from '../seam/types.js';
import { VECTOR_NUMBER } from '../seam/types.js';
import { GPR_NAMES, type Regs } from '../support/registers.js';
import { fromLittleEndian } from '../support/memory.js';
import type { Machine } from './machine.js';
import { SLOT } from './register-file.js';
import type {
  FixupRecord, MachineRun, MemoryAccess, PauseReason, RunEnd, RunObserver, RunStop, SeamCallRecord, SeamPath, StoreRecord, TraceEntry,
} from './run-types.js';
import { applyOutcome, type TrapSite } from './trap.js';
import { UC_ERR } from './unicorn-consts.js';
import { CTL, FLAG_BUDGET, FLAG_FULL, FLAG_TIME } from './native-steps.js';
import type { BranchSite, UnmodelledSite } from './code-scan.js';

export const EXCEPTION_NAMES: Readonly<Record<number, string>> = {
  0: 'DE', 1: 'DB', 3: 'BP', 4: 'OF', 5: 'BR', 6: 'UD', 7: 'NM', 8: 'DF', 10: 'TS', 11: 'NP', 12: 'SS', 13: 'GP', 14: 'PF', 16: 'MF', 17: 'AC', 18: 'MC', 19: 'XM',
};
export const EX_TYPE_DEFAULT = 1;
export const EX_TYPE_FAULT = 2;
const PF_VECTOR = 14;
const GP_VECTOR = 13;

/**
 * Does every byte of [address, address + size) have a canonical 48-bit
 * address (bits 63:47 all equal)? The CPU raises #GP(0), not #PF, for a
 * data access that touches a non-canonical byte (Intel SDM Vol. 3A §6.15,
 * "Interrupt 13—General Protection Exception": "a linear address … not in
 * canonical form"); Unicorn reports it as unmapped memory. Found by the
 * silicon oracle (src/oracle).
 */
export function isCanonicalAccess(address: bigint, size: number): boolean {
  const canonical = (a: bigint) => {
    const top = BigInt.asUintN(64, a) >> 47n;
    return top === 0n || top === 0x1ffffn;
  };
  return canonical(address) && canonical(BigInt.asUintN(64, address + BigInt(Math.max(size, 1) - 1)));
}

/** Stores recorded per run (single mode); a runaway loop beyond this is counted, not kept. */
export const MAX_RECORDED_STORES = 65536;

/** How long one slice of an interruptible continue runs before yielding (a gdb Ctrl-C is served within it). */
export const DEFAULT_SLICE_MS = 20;
/** Instructions between two clock reads in the per-instruction hook. */
const CLOCK_EVERY = 1024;

export interface ExecutionOptions {
  entry: bigint;
  /** Where the run ends (default: the return-address sentinel). */
  until?: bigint;
  serve: (call: SeamCall) => Outcome;
  handlerName: string;
  env: Readonly<CpuEnv>;
  /**
   * Instruction budget. Single mode counts in the per-instruction hook;
   * batch mode passes it to Unicorn (whose counting hook costs ~15% of batch
   * throughput), and 0 there means "wall-clock limit only".
   */
  budget: number;
  /** Emulation time allowed (pauses do not count). */
  timeLimitMs: number;
  observers?: RunObserver[];
}

/** Extra places to pause at, for one `runUntil`. */
export interface StopCondition {
  /** Pause before any of these addresses. */
  addresses?: readonly bigint[];
  /** Pause at the next SEAMCALL/TDCALL, before it is served. */
  seamCall?: boolean;
  /** Pause at the fixup after the next fault that goes through the exception table. */
  fixup?: boolean;
  /** Pause after this many more instructions. */
  instructions?: number;
}

interface MemFault { access: 'read' | 'write' | 'fetch'; address: bigint; size: number; rip: bigint }

export class Execution {
  readonly until: bigint;
  /** Persistent breakpoints (addresses), honoured by `continue` and `runUntil`. */
  readonly breakpoints = new Set<bigint>();
  /** Pause at every SEAMCALL/TDCALL before it is served. */
  pauseOnSeamCall = false;
  /** Pause at the fixup after every fault that goes through the exception table. */
  pauseOnFixup = false;

  private readonly observers: RunObserver[];
  private readonly traceDepth: number;
  private readonly ring: bigint[];
  private count = 0;
  private lastInsn = 0n;
  private end: RunEnd | undefined;
  private paused: PauseReason | undefined;
  private pending: PauseReason | undefined;
  private skipPauseOnce = false;
  private interruptRequested = false;
  private resumeAt: bigint | undefined;
  private memFault: MemFault | undefined;
  private elapsedMs = 0;
  private sliceDeadline = Infinity;
  /** When the run's emulation time is up (performance.now() clock), for the hooks that check it. */
  private timeDeadline = Infinity;
  private stepTarget = Infinity;
  private temporary: StopCondition | undefined;
  private ignorePauses = false;
  private started = false;
  private readonly records: SeamCallRecord[] = [];
  private readonly stores: StoreRecord[] = [];
  private storesDropped = 0;
  private readonly fixups: FixupRecord[] = [];
  private seamCallCount = 0;
  private slices = 0;
  /** Recorded mode: SEAM calls and fixups waiting for their step to be replayed. */
  private readonly deferred: { step: number; deliver: () => void }[] = [];

  constructor(readonly machine: Machine, readonly options: ExecutionOptions, traceDepth: number) {
    this.until = options.until ?? machine.layout.sentinel;
    this.observers = [];
    for (const o of options.observers ?? []) this.observe(o);
    this.traceDepth = traceDepth;
    this.ring = new Array<bigint>(traceDepth).fill(0n);
    machine.steps?.reset(options.budget);
    machine.call.env = options.env;
  }

  // ---- state ---------------------------------------------------------------

  get ended(): RunEnd | undefined {
    return this.end;
  }

  /** Time slices `continueAsync` has started (each ends at most `sliceMs` of emulation later). */
  get slicesRun(): number {
    return this.slices;
  }

  /** Instructions executed so far (single mode). */
  get instructions(): number {
    return this.count;
  }

  get seamCalls(): readonly SeamCallRecord[] {
    return this.records;
  }

  /** The summary so far (complete once the run has ended). */
  summary(): MachineRun {
    if (!this.end) throw new Error('the run has not ended; call finish() first');
    return {
      stop: this.end, instructions: this.count, seamCalls: this.records, seamCallCount: this.seamCallCount,
      stores: this.stores, storesDropped: this.storesDropped, fixups: this.fixups, elapsedMs: this.elapsedMs,
    };
  }

  // ---- control -------------------------------------------------------------

  /** Executes `n` instructions (fewer if the run ends or a breakpoint/watchpoint hits first). */
  step(n = 1): RunStop {
    this.requireObserved('step');
    return this.runUntil({ instructions: n });
  }

  /** Runs until one of `cond` or a persistent pause point (breakpoint, watchpoint, SEAM call/fixup flags). */
  runUntil(cond: StopCondition): RunStop {
    if ((cond.addresses?.length || cond.instructions !== undefined) && this.machine.mode !== 'single') this.requireObserved('runUntil');
    this.temporary = cond;
    this.stepTarget = cond.instructions === undefined ? Infinity : this.count + cond.instructions;
    try {
      return this.advance();
    } finally {
      this.temporary = undefined;
      this.stepTarget = Infinity;
    }
  }

  /** Runs until a persistent pause point or the end. Synchronous: it cannot be interrupted (see `continueAsync`). */
  continue(): RunStop {
    return this.advance();
  }

  /**
   * `continue` in slices of `sliceMs` of emulation, yielding to the event loop
   * between them so that `interrupt()` (from a socket or a DAP request) is
   * served within one slice.
   */
  async continueAsync(opts: { sliceMs?: number; signal?: AbortSignal } = {}): Promise<RunStop> {
    this.requireObserved('continueAsync');
    const slice = opts.sliceMs ?? DEFAULT_SLICE_MS;
    for (;;) {
      if (opts.signal?.aborted) this.interruptRequested = true;
      this.sliceDeadline = performance.now() + slice;
      this.slices++;
      let stop: RunStop;
      try {
        stop = this.advance();
      } finally {
        this.sliceDeadline = Infinity;
      }
      if (stop.kind === 'ended' || stop.reason.kind !== 'slice') return stop;
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  /**
   * Adds an observer (before the first instruction, or at a pause). An
   * observer of loads needs a machine created with `observeReads`.
   */
  observe(o: RunObserver): void {
    if (this.machine.mode === 'batch') throw new Error('observers need a machine created with mode "single" or "recorded"');
    if (o.observesReads && !this.machine.readsObserved) throw new Error('this observer wants memory reads: create the machine with observeReads');
    this.observers.push(o);
  }

  /** Asks a running `continueAsync` to pause (at the next slice boundary at the latest). */
  interrupt(): void {
    this.interruptRequested = true;
  }

  /** Runs to the end, ignoring every pause point, and returns the summary. */
  finish(): MachineRun {
    this.ignorePauses = true;
    try {
      while (!this.end) this.advance();
    } finally {
      this.ignorePauses = false;
    }
    return this.summary();
  }

  /** Stepping, breakpoints and interrupts decide in the JavaScript per-instruction hook: 'single' mode only. */
  private requireObserved(what: string): void {
    if (this.machine.mode !== 'single') throw new Error(`${what} needs a machine created with mode "single"`);
  }

  /**
   * Emulates until a pause or the end. Restarts emulation where a hook could
   * not redirect RIP in place (an undefined opcode through the exception
   * table) or a page fault went to a fixup.
   */
  private advance(): RunStop {
    if (this.end) return { kind: 'ended', end: this.end };
    const m = this.machine;
    const uc = m.uc;
    const opts = this.options;
    // Resuming from a pause: the instruction at RIP runs without pausing at it
    // again (as gdb steps over a breakpoint at the PC), except after a time
    // slice, which was taken before any pause point at RIP was checked.
    this.skipPauseOnce = this.paused !== undefined && this.paused.kind !== 'slice';
    this.paused = undefined;
    let begin = this.started ? uc.rip : opts.entry;
    this.started = true;
    m.active = this;
    const t0 = performance.now();
    try {
      for (;;) {
        const remainingMs = opts.timeLimitMs - this.elapsedMs - (performance.now() - t0);
        if (remainingMs <= 0) return this.finishWith({ kind: 'runaway', limit: 'time', budget: opts.budget, timeLimitMs: opts.timeLimitMs, last: this.lastTrace() });
        this.resumeAt = undefined;
        this.memFault = undefined;
        let err: number;
        try {
          // Only batch mode, which has no per-instruction hook, asks Unicorn to time the run: its
          // watchdog is a thread per uc_emu_start that polls every 2 µs and is joined at the end —
          // a millisecond or more per call when the other core is busy. The per-instruction hooks
          // of single and recorded modes check the clock themselves.
          this.timeDeadline = performance.now() + remainingMs;
          if (m.steps) m.steps.setDeadline(remainingMs);
          err = uc.emuStart(begin, this.until, m.mode === 'batch' ? Math.ceil(remainingMs * 1000) : 0, m.mode === 'batch' && opts.budget > 0 ? opts.budget : 0);
        } catch (e) {
          if (m.steps) this.drainNative();
          return this.finishWith(this.end ?? { kind: 'handler-error', message: e instanceof Error ? e.message : String(e), error: e });
        }
        if (m.steps) {
          // Recorded mode: replay what the native recorder buffered, then go on if it only stopped because the buffers were full.
          const flags = m.steps.ctl[CTL.flags]!;
          this.drainNative();
          if ((flags & FLAG_BUDGET) !== 0n) this.end ??= { kind: 'runaway', limit: 'instructions', budget: opts.budget, timeLimitMs: opts.timeLimitMs, last: this.lastTrace() };
          else if ((flags & FLAG_TIME) !== 0n) this.end ??= { kind: 'runaway', limit: 'time', budget: opts.budget, timeLimitMs: opts.timeLimitMs, last: this.lastTrace() };
          else if ((flags & FLAG_FULL) !== 0n && !this.end && this.resumeAt === undefined && !this.memFault) {
            begin = uc.rip;
            continue;
          }
        }
        if (this.end) return this.finishWith(this.end);
        if (this.paused) return this.notify({ kind: 'paused', reason: this.paused, rip: uc.rip });
        if (this.resumeAt !== undefined) {
          begin = this.resumeAt;
          continue;
        }
        // Set by the memory hook during emuStart (TypeScript cannot see that).
        const f = this.memFault as MemFault | undefined;
        if (f && f.access !== 'fetch' && !isCanonicalAccess(f.address, f.size)) {
          // A general-protection fault, through the exception table (trapnr 13) or an oops.
          if (!this.raise(GP_VECTOR, f.rip, nonCanonicalAccessCause(f.address), true)) return this.finishWith(this.end!);
          begin = this.resumeAt!;
          continue;
        }
        if (f) {
          // A page fault at an instruction with an exception-table entry continues at the fixup (trapnr 14 for EX_TYPE_FAULT).
          const entry = f.access === 'fetch' ? undefined : this.fixupFor(f.rip);
          if (entry) {
            this.takeFixup(entry, PF_VECTOR, f.rip);
            begin = entry.fixup;
            continue;
          }
          const location = m.map.locate(f.rip);
          return this.finishWith({
            kind: 'fault', ...f, ...(location ? { location } : {}),
            ...(f.access === 'fetch' && m.mode !== 'batch' && this.count > 1
              ? { last: this.traceEntry(this.ring[(this.count - 1) % this.traceDepth]!) } : {}),
          });
        }
        const rip = uc.rip;
        if (rip === this.until) return this.finishWith({ kind: 'returned' });
        if (err !== UC_ERR.OK) {
          const location = m.map.locate(rip);
          return this.finishWith({ kind: 'stopped', rip, ucErr: err, ...(location ? { location } : {}) });
        }
        // Stopped short of the sentinel without an error: Unicorn's instruction count or timeout ran out.
        const timedOut = this.elapsedMs + performance.now() - t0 >= opts.timeLimitMs;
        return this.finishWith({ kind: 'runaway', limit: timedOut ? 'time' : 'instructions', budget: opts.budget, timeLimitMs: opts.timeLimitMs, last: this.lastTrace() });
      }
    } finally {
      this.elapsedMs += performance.now() - t0;
      this.skipPauseOnce = false;
    }
  }

  private finishWith(end: RunEnd): RunStop {
    this.end = end;
    return this.notify({ kind: 'ended', end });
  }

  private notify(stop: RunStop): RunStop {
    if (!(stop.kind === 'paused' && stop.reason.kind === 'slice')) for (const o of this.observers) o.stop?.(stop);
    return stop;
  }

  private pauseHere(reason: PauseReason): void {
    this.paused = reason;
    this.machine.uc.emuStop();
  }

  // ---- hooks (called by the machine) ----------------------------------------

  /** Single mode: before every instruction. Decides pauses, counts, tells observers. */
  onInstruction(address: bigint, size: number): void {
    if (this.end || this.paused) return;
    if (this.skipPauseOnce) {
      this.skipPauseOnce = false;
    } else if (!this.ignorePauses) {
      const reason = this.pauseBefore(address);
      if (reason) {
        this.pauseHere(reason);
        return;
      }
    }
    const budget = this.options.budget;
    if (budget > 0 && this.count >= budget) {
      this.end = { kind: 'runaway', limit: 'instructions', budget, timeLimitMs: this.options.timeLimitMs, last: this.lastTrace() };
      this.machine.uc.emuStop();
      return;
    }
    // The clock, every CLOCK_EVERY instructions: the run's time limit, and the slice of a continueAsync.
    if (this.count % CLOCK_EVERY === 0 && this.count > 0) {
      const now = performance.now();
      if (now >= this.timeDeadline) {
        this.end = { kind: 'runaway', limit: 'time', budget, timeLimitMs: this.options.timeLimitMs, last: this.lastTrace() };
        this.machine.uc.emuStop();
        return;
      }
      if (now >= this.sliceDeadline && !this.ignorePauses) {
        this.pauseHere({ kind: 'slice' });
        return;
      }
    }
    this.recordInstruction(address, size);
  }

  /** An instruction executes: count it, remember it, tell the observers (with the registers before it, when recorded). */
  private recordInstruction(address: bigint, size: number, registers?: BigUint64Array): void {
    const step = this.count;
    this.lastInsn = address;
    this.ring[step % this.traceDepth] = address;
    this.count = step + 1;
    for (const o of this.observers) {
      const w = o.instruction?.(step, address, size, registers);
      if (w) this.pending ??= { kind: 'watchpoint', detail: w };
    }
  }

  /**
   * Recorded mode: feeds the native recorder's buffered steps and memory
   * accesses through the same paths the JavaScript hooks take, with the SEAM
   * calls and fixups that happened at each step delivered after its accesses
   * — the order single mode gives observers.
   */
  private drainNative(): void {
    const log = this.machine.steps!;
    const steps = Number(log.ctl[CTL.steps]);
    const accesses = Number(log.ctl[CTL.accesses]);
    let a = 0;
    let d = 0;
    for (let i = 0; i < steps; i++) {
      const step = this.count;
      this.recordInstruction(log.stepRip(i), log.stepSize(i), log.stepRegisters(i));
      for (; a < accesses && log.accessStep(a) === step; a++) {
        const x = log.access(a);
        this.onMemory(x.read ? 'read' : 'write', x.address, x.size, x.value);
      }
      for (; d < this.deferred.length && this.deferred[d]!.step === step; d++) this.deferred[d]!.deliver();
    }
    this.deferred.splice(0, d);
    log.drained();
  }

  /** Tells observers now, or — in recorded mode, where the step is still in the native buffer — when the step is replayed. */
  private tellObservers(deliver: () => void): void {
    const log = this.machine.steps;
    if (log) this.deferred.push({ step: log.total - 1, deliver });
    else deliver();
  }

  /** The address of the instruction executing now (in recorded mode the native recorder knows it first). */
  private currentInstruction(): bigint {
    return this.machine.steps?.lastBufferedRip() ?? this.lastInsn;
  }

  private pauseBefore(address: bigint): PauseReason | undefined {
    if (this.pending) {
      const p = this.pending;
      this.pending = undefined;
      return p;
    }
    if (this.interruptRequested) {
      this.interruptRequested = false;
      return { kind: 'interrupted' };
    }
    if (this.count >= this.stepTarget) return { kind: 'step' };
    const t = this.temporary;
    if (this.breakpoints.has(address) || t?.addresses?.includes(address)) return { kind: 'breakpoint', address };
    if (this.pauseOnSeamCall || t?.seamCall) {
      const site = this.machine.siteAt(address);
      if (site) return { kind: 'seam-call', address, seamKind: site.kind, index: this.seamCallCount };
    }
    return undefined;
  }

  /** Single mode: every store (and, when an observer asks, every load). */
  onMemory(kind: 'read' | 'write', address: bigint, size: number, value: bigint): void {
    if (kind === 'write') {
      if (this.stores.length < MAX_RECORDED_STORES) this.stores.push({ address, size, rip: this.lastInsn });
      else this.storesDropped++;
    }
    if (this.observers.length === 0) return;
    const access: MemoryAccess = { kind, address, size, value, rip: this.lastInsn, step: this.count - 1 };
    for (const o of this.observers) {
      const w = o.memory?.(access);
      if (w) this.pending ??= { kind: 'watchpoint', detail: w };
    }
  }

  onStub(name: string): void {
    if (this.end) return;
    const prev = this.machine.steps?.lastBufferedRip(1) ?? this.ring[(this.count + this.traceDepth - 2) % this.traceDepth]!;
    this.end = { kind: 'panic', stub: name, ...(this.machine.mode !== 'batch' ? { caller: this.traceEntry(prev) } : {}) };
    this.machine.uc.emuStop();
  }

  /** Both modes: at an instruction the machine does not model, before it executes: the run ends there. */
  onUnmodelled(site: UnmodelledSite): void {
    if (this.end || this.paused) return;
    const location = this.machine.map.locate(site.address);
    this.end = { kind: 'unmodelled', mnemonic: site.mnemonic, why: site.why, address: site.address, ...(location ? { location } : {}) };
    this.machine.uc.emuStop();
  }

  /**
   * Single and recorded modes: before a `ret` or indirect branch. A non-canonical target
   * raises #GP(0) at the branch, which does not execute (code-scan.ts):
   * through the exception table, or an oops.
   */
  onBranch(site: BranchSite): void {
    if (this.end || this.paused) return;
    const target = branchTarget(this.machine, site);
    if (target === undefined || isCanonicalAccess(target, 1)) return;
    this.raise(GP_VECTOR, site.address, nonCanonicalBranchCause(site, target), false);
  }


  onInsnInvalid(): boolean {
    if (this.end) return false;
    return this.raise(VECTOR_NUMBER.UD, this.machine.uc.rip, exceptionCause(VECTOR_NUMBER.UD), true);
  }

  onInterrupt(intno: number): void {
    if (this.end) return;
    // int3 is a trap (RIP already past it); the other exceptions Unicorn reports are faults at RIP.
    const rip = this.machine.uc.rip;
    this.raise(intno, intno === 3 ? rip - 1n : rip, exceptionCause(intno), false);
  }

  onMemInvalid(access: 'read' | 'write' | 'fetch', address: bigint, size: number): void {
    if (this.end) return;
    // Unicorn 2.0.1 does not sync RIP for memory hooks: in single mode the code hook knows the exact instruction.
    const rip = access === 'fetch' ? address : this.machine.mode !== 'batch' ? this.currentInstruction() : this.machine.uc.rip;
    this.memFault = { access, address, size, rip };
  }

  onTrap(site: TrapSite, address: bigint): void {
    if (this.end || this.paused) return;
    const m = this.machine;
    // Batch runs are timed by a thread that calls uc_emu_stop, and Unicorn 2.0.1 forgets a stop request when a hook
    // then sets RIP (its quit request clears it): a call re-executed forever would never stop. So the time
    // limit is checked here too, and nothing is written after stopping.
    if (m.mode === 'batch' && performance.now() >= this.timeDeadline) {
      this.end = { kind: 'runaway', limit: 'time', budget: this.options.budget, timeLimitMs: this.options.timeLimitMs, last: this.lastTrace() };
      m.uc.emuStop();
      return;
    }
    const rf = m.regs;
    const v = rf.values;
    rf.read();
    const call = m.call;
    call.kind = site.kind;
    call.index = this.seamCallCount++;
    call.rip = address;
    call.rflags = v[SLOT.rflags]!;
    const recording = m.mode !== 'batch';
    const regsIn = recording ? snapshot(v) : undefined;
    if (recording) m.phys.recorded = [];
    const outcome = this.options.serve(call);
    const resumed = applyOutcome(v, outcome, this.options.handlerName);
    let path: SeamPath = 'resumed';
    if (resumed) {
      rf.write();
    } else {
      const vector = VECTOR_NUMBER[(outcome as { vector: 'UD' | 'GP' }).vector];
      path = this.raise(vector, address, seamFaultCause(site.kind, vector, outcome.note ?? this.options.handlerName), false)
        ? 'exception-table' : 'oops';
    }
    if (recording) {
      if (path === 'exception-table') rf.read();
      const location = m.map.locate(address);
      const record: SeamCallRecord = {
        index: call.index, kind: site.kind, address, ...(location ? { location } : {}),
        regsIn: regsIn!, rflagsIn: call.rflags, handler: this.options.handlerName, outcome: copyOutcome(outcome), path,
        regsOut: snapshot(v), rflagsOut: v[SLOT.rflags]!, ripOut: v[SLOT.rip]!,
        memWrites: m.phys.recorded ?? [],
      };
      m.phys.recorded = undefined;
      this.records.push(record);
      this.tellObservers(() => { for (const o of this.observers) o.seamCall?.(record); });
    }
  }

  /**
   * A CPU exception at `address`: continue at the exception-table fixup, or
   * end the run with an oops. Returns true when execution may continue.
   * `restart` says the caller cannot redirect RIP in place and the run loop
   * must restart emulation at the fixup.
   */
  private raise(vector: number, address: bigint, cause: string, restart: boolean): boolean {
    const entry = this.fixupFor(address);
    if (entry) {
      this.takeFixup(entry, vector, address);
      if (restart) this.resumeAt = entry.fixup;
      return true;
    }
    this.end = oopsEnd(this.machine, vector, address, cause);
    this.machine.uc.emuStop();
    return false;
  }

  private fixupFor(address: bigint): ExtableEntry | undefined {
    return exceptionFixup(this.machine.image, address);
  }

  private takeFixup(entry: ExtableEntry, vector: number, address: bigint): void {
    const rf = this.machine.regs;
    rf.read();
    applyFixup(rf.values, entry, vector);
    rf.write();
    const record: FixupRecord = { vector, address, fixup: entry.fixup };
    this.fixups.push(record);
    this.tellObservers(() => { for (const o of this.observers) o.fixup?.(record); });
    if ((this.pauseOnFixup || this.temporary?.fixup) && !this.ignorePauses) this.pending ??= { kind: 'fixup', fixup: record };
  }

  // ---- runaway reports ---------------------------------------------------------

  private traceEntry(address: bigint): TraceEntry {
    const location = this.machine.map.locate(address);
    return location ? { address, location } : { address };
  }

  private lastTrace(): TraceEntry[] {
    const n = Math.min(this.count, this.traceDepth);
    const out: TraceEntry[] = [];
    for (let i = this.count - n; i < this.count; i++) out.push(this.traceEntry(this.ring[i % this.traceDepth]!));
    return out;
  }
}

/**
 * Where a branch goes, read before it executes from the machine's registers
 * and memory; undefined when its operand cannot be read (Unicorn then
 * faults as the CPU would).
 */
export function branchTarget(m: Machine, site: BranchSite): bigint | undefined {
  const t = site.target;
  const rf = m.regs;
  rf.read();
  const v = rf.values;
  const qword = (address: bigint): bigint | undefined => {
    const b = m.readMemory(BigInt.asUintN(64, address), 8);
    return b ? fromLittleEndian(b) : undefined;
  };
  switch (t.kind) {
    case 'stack': return qword(v[SLOT.rsp]!);
    case 'register': return v[t.reg]!;
    case 'memory': {
      const base = t.ripRelative ? site.address + BigInt(site.length) : t.base !== undefined ? v[t.base]! : 0n;
      const index = t.index !== undefined ? v[t.index]! * BigInt(t.scale) : 0n;
      return qword(base + index + t.disp);
    }
  }
}

/** The causes an oops report gives, one wording whichever executor (Unicorn, or the CPU in src/oracle/replay.ts) saw the exception. */
export function exceptionCause(vector: number): string {
  return vector === VECTOR_NUMBER.UD ? 'undefined opcode' : `CPU exception #${EXCEPTION_NAMES[vector] ?? vector}`;
}

export function nonCanonicalAccessCause(address: bigint): string {
  return `general protection fault: non-canonical address 0x${address.toString(16)}`;
}

export function nonCanonicalBranchCause(site: BranchSite, target: bigint): string {
  return `general protection fault: ${site.mnemonic} to non-canonical address 0x${target.toString(16)}`;
}

/** Why a SEAMCALL/TDCALL oopsed or went through the exception table: the fault its SEAM side answered, and the answer's note (or who answered). */
export function seamFaultCause(kind: SeamKind, vector: number, note: string): string {
  return `${kind.toUpperCase()} raised #${EXCEPTION_NAMES[vector]} (${note})`;
}

/** The end of a run whose CPU exception at `address` no exception-table entry handles (the kernel would oops). */
export function oopsEnd(machine: Machine, vector: number, address: bigint, cause: string): RunEnd {
  const location = machine.map.locate(address);
  const other = machine.image.extable.find((e) => e.insn === address);
  const note = other ? ` (exception-table entry of type ${other.type} is not modelled)` : '';
  return {
    kind: 'oops', vector, vectorName: EXCEPTION_NAMES[vector] ?? String(vector), address,
    ...(location ? { location } : {}), cause: cause + note,
  };
}

/** The exception-table entry that handles a fault at `address`, if any (the types fixup_exception() handles here). */
export function exceptionFixup(image: Image, address: bigint): ExtableEntry | undefined {
  return image.extable.find((e) => e.insn === address && (e.type === EX_TYPE_FAULT || e.type === EX_TYPE_DEFAULT));
}

/** The registers after taking `entry` for `vector`: ex_handler_fault sets RAX = trapnr; both types jump to the fixup. */
export function applyFixup(v: BigUint64Array, entry: ExtableEntry, vector: number): void {
  if (entry.type === EX_TYPE_FAULT) v[SLOT.rax] = BigInt(vector);
  v[SLOT.rip] = entry.fixup;
}

export function snapshot(v: BigUint64Array): Regs {
  const out = {} as Regs;
  for (let i = 0; i < 16; i++) out[GPR_NAMES[i]!] = v[i]!;
  return out;
}

/** A copy of a handler's outcome (a handler may reuse its objects from call to call). */
export function copyOutcome(o: Outcome): Outcome {
  return o.kind === 'return' && o.regs ? { ...o, regs: { ...o.regs } } : { ...o };
}
