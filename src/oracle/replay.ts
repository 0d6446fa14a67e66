/**
 * A run on the CPU told to the observers of a machine run, so that what
 * watches and checks an emulated run — the trace recorder, the register-
 * origin tracker of the leak check, the ABI checks — reads a CPU run the
 * same way (`seamlab trace --on silicon`).
 *
 * The run is planned on a Unicorn machine as usual, sent to the CPU
 * (silicon.ts) and never emulated; its steps are then loaded into that
 * machine one after the other — registers and changed memory, mapped back
 * into Unicorn's addresses (relocate.ts) — and each observer is called as
 * `Execution` calls it: `instruction` with the state before the step,
 * `memory` for each access, `fixup`, `seamCall`, and `stop` at the end. The
 * machine then holds the CPU's final state for `PreparedRun.resultOf`.
 *
 * What the CPU cannot report is derived, never invented:
 * - memory accesses: the CPU shows only the bytes an instruction changed;
 *   the accesses are worked out from its operands and the registers before
 *   it (accesses.ts), read values from memory before the step, written
 *   values from memory after it. A change no derived write covers is shown
 *   as a write of the changed bytes. A faulting instruction shows none (it
 *   completed no access).
 * - RFLAGS without RF and TF: the kernel sets RF in the flags of a faulting
 *   instruction and single-stepping sets TF; neither is the instruction's.
 * - how the run ended, in the words Unicorn's run would use (execution.ts
 *   `oopsEnd`, `exceptionCause` …); a CPU run has an instruction budget but
 *   no time limit.
 */
import type { Disassembler, InsnMemory } from '../encode/capstone.js';
import { imageBytes } from '../image/bytes.js';
import { isCanonicalAccess } from '../machine/execution.js';
import {
  branchTarget, exceptionCause, MAX_RECORDED_STORES, nonCanonicalAccessCause, nonCanonicalBranchCause, oopsEnd, seamFaultCause,
  type FixupRecord, type Machine, type MachineRun, type RunEnd, type RunObserver, type SeamCallRecord, type StoreRecord, type TraceEntry,
} from '../machine/machine.js';
import { SLOT } from '../machine/register-file.js';
import type { PreparedRun, RunResult } from '../run/run.js';
import { RFLAGS, type Regs } from '../support/registers.js';
import { GPR_NAMES } from '../support/registers.js';
import { fromLittleEndian } from '../support/memory.js';
import { derivedAccesses, type DerivedAccess } from './accesses.js';
import type { Relocation } from './relocate.js';
import { ORACLE_BUDGET, SiliconSession, type SiliconRunOptions } from './silicon.js';
import type { ByteRun, OracleEnd, OracleStep, OracleTrace } from './step-trace.js';

/** RFLAGS.RF (bit 16), set by the CPU in the flags of a faulting instruction. */
const RF = 1n << 16n;
const NOT_THE_INSTRUCTIONS = ~(RF | RFLAGS.TF);

export interface SiliconReplayOptions {
  budget: number;
  /** Reported in a runaway's end, as Unicorn's runs report theirs. */
  timeLimitMs: number;
}

/** A step's registers in Unicorn's addresses, without the flags the CPU set for ptrace. */
function unicornRegs(R: Relocation, regs: BigUint64Array): BigUint64Array {
  const v = R.regsToUnicorn(regs.slice());
  v[SLOT.rflags] = v[SLOT.rflags]! & NOT_THE_INSTRUCTIONS;
  return v;
}

function regsOf(v: BigUint64Array): Regs {
  return Object.fromEntries(GPR_NAMES.map((n, i) => [n, v[i]!])) as Regs;
}

class Replay {
  private readonly m: Machine;
  private readonly R: Relocation;
  private readonly decoded = new Map<bigint, InsnMemory | undefined>();
  private readonly seamCalls: SeamCallRecord[] = [];
  private readonly fixups: FixupRecord[] = [];
  private readonly stores: StoreRecord[] = [];
  private storesDropped = 0;
  /** Unicorn address of every step so far. */
  private readonly addresses: bigint[] = [];
  /** Why the last step raised an exception, worked out before it was applied (for an oops). */
  private lastCause: string | undefined;
  /** The access of the last step that a wild access ended the run at (from its operands: the CPU names only the faulting byte). */
  private faultAccess: DerivedAccess | undefined;

  constructor(
    prepared: PreparedRun,
    private readonly trace: OracleTrace,
    private readonly disasm: Disassembler,
    private readonly observers: readonly RunObserver[],
    private readonly opts: SiliconReplayOptions,
  ) {
    this.m = prepared.machine;
    this.R = trace.relocation!;
  }

  private tell(f: (o: RunObserver) => void): void {
    for (const o of this.observers) f(o);
  }

  private decode(address: bigint): InsnMemory | undefined {
    if (this.decoded.has(address)) return this.decoded.get(address);
    const code = imageBytes(this.m.image, address) ?? this.m.readMemory(address, 15);
    const d = code && code.length ? this.disasm.memoryOperands(code, 0, address) : undefined;
    this.decoded.set(address, d);
    return d;
  }

  private valueAt(address: bigint, size: number): bigint {
    const b = this.m.readMemory(address, size);
    return b ? fromLittleEndian(b) : 0n;
  }

  /** Writes the CPU's changed bytes into the machine, every aligned qword they touch mapped back into Unicorn's addresses. */
  private applyChanges(runs: readonly ByteRun[]): void {
    const qwords = new Set<bigint>();
    for (const w of runs) {
      this.m.uc.memWrite(w.address, w.bytes);
      for (let q = w.address & ~7n; q < w.address + BigInt(w.bytes.length); q += 8n) qwords.add(q);
    }
    for (const q of qwords) {
      const b = this.m.readMemory(q, 8);
      if (!b) continue;
      const v = fromLittleEndian(b);
      const u = this.R.toUnicorn(v);
      if (u !== v) {
        const out = Buffer.alloc(8);
        out.writeBigUInt64LE(u);
        this.m.uc.memWrite(q, out);
      }
    }
  }

  private store(k: number, rip: bigint, address: bigint, size: number, value: bigint): void {
    this.tell((o) => o.memory?.({ kind: 'write', address, size, value, rip, step: k }));
    if (this.stores.length < MAX_RECORDED_STORES) this.stores.push({ address, size, rip });
    else this.storesDropped++;
  }

  /** Why an exception at this (not yet applied) step would oops, in the words of execution.ts. */
  private causeAt(step: OracleStep, vector: number, address: bigint, accesses: DerivedAccess[]): string {
    const s = step.seam;
    if (s && s.served.answer.kind === 'fault') return seamFaultCause(s.kind, vector, s.served.answer.note ?? s.served.handler);
    if (vector === 13) {
      const wild = accesses.find((a) => !isCanonicalAccess(a.address, a.size));
      if (wild) return nonCanonicalAccessCause(wild.address);
      const branch = this.m.code.branches.find((b) => b.address === address);
      const target = branch ? branchTarget(this.m, branch) : undefined;
      if (branch && target !== undefined && !isCanonicalAccess(target, 1)) return nonCanonicalBranchCause(branch, target);
    }
    return exceptionCause(vector);
  }

  run(): MachineRun {
    const { steps, end } = this.trace;
    const regs = this.m.regs;
    const last = steps.length - 1;
    // The last step of a run that ended in a fault, an oops or an error is the instruction that faulted.
    const endsInFault = end.kind === 'fault' || end.kind === 'oops' || end.kind === 'error';
    for (let k = 0; k < steps.length; k++) {
      const step = steps[k]!;
      const address = this.R.toUnicorn(step.address);
      this.addresses.push(address);
      regs.read();
      const before = regs.values.slice();
      const insn = this.decode(address);
      this.tell((o) => o.instruction?.(k, address, insn?.insn.bytes.length ?? 0));
      const faulted = step.exception !== undefined || (k === last && endsInFault);
      const derived = insn ? derivedAccesses(insn, before) : [];
      if (k === last && end.kind === 'oops') this.lastCause = this.causeAt(step, end.vector, end.address, derived);
      if (k === last && end.kind === 'fault' && end.access === 'data') {
        this.faultAccess = derived.find((x) => end.address >= x.address && end.address < x.address + BigInt(x.size));
        // Unicorn's store hook runs before the store faults: the ABI checks count the attempted store (the trace cannot show its value).
        if (this.faultAccess?.kind === 'write') this.stores.push({ address: this.faultAccess.address, size: this.faultAccess.size, rip: address });
      }
      const accesses = faulted || step.seam ? [] : derived;
      for (const a of accesses) {
        if (a.kind === 'read') this.tell((o) => o.memory?.({ kind: 'read', address: a.address, size: a.size, value: this.valueAt(a.address, a.size), rip: address, step: k }));
      }
      this.applyChanges(step.writes);
      const covered = new Set<bigint>();
      for (const a of accesses) {
        if (a.kind !== 'write') continue;
        for (let i = 0n; i < BigInt(a.size); i++) covered.add(a.address + i);
        this.store(k, address, a.address, a.size, this.valueAt(a.address, a.size));
      }
      // Bytes the CPU changed that no derived write explains: shown as they are (a trace never hides a change).
      for (const w of step.writes) {
        let i = 0;
        while (i < w.bytes.length) {
          if (covered.has(w.address + BigInt(i))) {
            i++;
            continue;
          }
          let j = i;
          while (j < w.bytes.length && !covered.has(w.address + BigInt(j))) j++;
          const at = w.address + BigInt(i);
          this.store(k, address, at, j - i, this.valueAt(at, j - i));
          i = j;
        }
      }
      const after = unicornRegs(this.R, step.regs);
      if (step.exception) {
        const f: FixupRecord = { vector: step.exception.vector, address, fixup: step.exception.fixup };
        this.fixups.push(f);
        this.tell((o) => o.fixup?.(f));
      }
      if (step.seam) this.seamCall(step, address, after);
      regs.values.set(after);
      regs.write();
    }
    let instructions = steps.length;
    if (end.kind === 'panic') {
      // Unicorn reports the noreturn stub's first instruction, then stops there (execution.ts onStub).
      regs.read();
      const stub = regs.values[SLOT.rip]!;
      this.tell((o) => o.instruction?.(instructions, stub, this.decode(stub)?.insn.bytes.length ?? 0));
      instructions++;
    }
    const runEnd = this.runEnd(end);
    this.tell((o) => o.stop?.({ kind: 'ended', end: runEnd }));
    return {
      stop: runEnd, instructions, seamCalls: this.seamCalls, seamCallCount: this.seamCalls.length,
      stores: this.stores, storesDropped: this.storesDropped, fixups: this.fixups, elapsedMs: 0,
    };
  }

  private seamCall(step: OracleStep, address: bigint, after: BigUint64Array): void {
    const s = step.seam!;
    // Physical memory as the handler wrote it (its values are Unicorn's already).
    for (const w of s.writes) this.m.uc.memWrite(w.address, w.bytes);
    const location = this.m.map.locate(address);
    const record: SeamCallRecord = {
      index: s.served.index, kind: s.kind, address, ...(location ? { location } : {}),
      regsIn: s.served.regsIn, rflagsIn: s.served.rflagsIn, handler: s.served.handler, outcome: s.served.answer, path: s.path,
      regsOut: regsOf(after), rflagsOut: after[SLOT.rflags]!, ripOut: after[SLOT.rip]!,
      memWrites: s.writes.map((w) => ({ address: w.address, length: w.bytes.length, bytes: w.bytes })),
    };
    this.seamCalls.push(record);
    this.tell((o) => o.seamCall?.(record));
  }

  private entry(address: bigint): TraceEntry {
    const location = this.m.map.locate(address);
    return location ? { address, location } : { address };
  }

  /** How the CPU run ended, as Unicorn's run would say it. */
  private runEnd(end: OracleEnd): RunEnd {
    const a = this.addresses;
    switch (end.kind) {
      case 'returned':
        return { kind: 'returned' };
      case 'oops':
        return oopsEnd(this.m, end.vector, end.address, this.lastCause ?? exceptionCause(end.vector));
      case 'fault': {
        const location = this.m.map.locate(end.rip);
        if (end.access === 'fetch') {
          return { kind: 'fault', access: 'fetch', address: end.address, size: 1, rip: end.address, ...(location ? { location } : {}), ...(a.length > 1 ? { last: this.entry(a[a.length - 1]!) } : {}) };
        }
        // The CPU names the first byte that faulted; the machine names the access (worked out from the operands).
        const hit = this.faultAccess;
        return { kind: 'fault', access: hit?.kind ?? 'read', address: hit?.address ?? end.address, size: hit?.size ?? 1, rip: end.rip, ...(location ? { location } : {}) };
      }
      case 'panic':
        return { kind: 'panic', stub: end.stub, ...(a.length ? { caller: this.entry(a[a.length - 1]!) } : {}) };
      case 'runaway':
        return { kind: 'runaway', limit: 'instructions', budget: this.opts.budget, timeLimitMs: this.opts.timeLimitMs, last: a.slice(-this.m.traceDepth).map((x) => this.entry(x)) };
      case 'error':
        return { kind: 'handler-error', message: end.message, error: undefined };
    }
  }
}

/**
 * Tells `observers` the CPU run `trace` of `prepared` (see the file
 * comment) and returns it as a machine run; the machine is left holding the
 * CPU's final registers and memory.
 */
export function replaySiliconRun(prepared: PreparedRun, trace: OracleTrace, disasm: Disassembler, observers: readonly RunObserver[], opts: SiliconReplayOptions): MachineRun {
  if (trace.side !== 'silicon' || !trace.relocation) throw new Error('internal: only a CPU run is replayed');
  return new Replay(prepared, trace, disasm, observers, opts).run();
}

export interface RunOnSiliconOptions extends Pick<SiliconRunOptions, 'flip'> {
  /** The runner to use (default: one started now and closed after the run). */
  session?: SiliconSession;
  budget?: number;
  timeLimitMs: number;
  /** Watchers of the run besides the register-origin tracker of the leak check. */
  observers: readonly RunObserver[];
  disassembler: Disassembler;
}

/**
 * Runs a prepared (planned, not executed) run on the CPU, tells the
 * observers every step, and checks it: a `RunResult` from the CPU. Where a
 * change escaped the runner's per-step scan, the CPU runs it again comparing
 * every page (as the oracle does).
 */
export function runOnSilicon(prepared: PreparedRun, opts: RunOnSiliconOptions): RunResult {
  const session = opts.session ?? SiliconSession.open();
  try {
    const budget = opts.budget ?? ORACLE_BUDGET;
    const run = (exactWrites: boolean) => session.start(prepared, { budget, exactWrites, ...(opts.flip ? { flip: opts.flip } : {}) }).finish();
    let trace = run(false);
    if (trace.unattributed.length > 0) trace = run(true);
    const observers = [...opts.observers, ...(prepared.origins ? [prepared.origins] : [])];
    return prepared.resultOf(replaySiliconRun(prepared, trace, opts.disassembler, observers, { budget, timeLimitMs: opts.timeLimitMs }));
  } finally {
    if (!opts.session) session.close();
  }
}
