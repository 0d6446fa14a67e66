/**
 * The per-instruction state stream both sides of the oracle produce — the
 * emulator (through a run observer) and the CPU (through the runner) — in
 * one shape: for every executed instruction, its address, all registers
 * after it, and the bytes of memory it changed; SEAM calls and
 * exception-table fixups marked on the step where they happened.
 *
 * A step is one instruction: a SEAMCALL/TDCALL is one step whose state is
 * the one after its outcome was applied; a faulting instruction that went
 * through the exception table is one step whose state is the one at the
 * fixup; a run that ends in an oops or a wild access ends with the faulting
 * instruction as its last step. Reaching a noreturn stub (a panic) or the
 * return-address sentinel is not a step.
 *
 * Memory changes are "bytes whose value changed" on both sides (the CPU can
 * only be observed that way), so a store of the value already there is not
 * a change. A trace recorded from the CPU (`seamlab trace --on silicon`)
 * is this stream with `side: 'silicon'`, told to the trace recorder by
 * replay.ts.
 */
import type { Machine } from '../machine/machine.js';
import type { FixupRecord, MemoryAccess, RunEnd, RunObserver, RunStop, SeamCallRecord, SeamPath } from '../machine/run-types.js';
import type { Outcome, SeamKind } from '../seam/types.js';
import type { Regs } from '../support/registers.js';
import type { ByteRun } from './protocol.js';
import type { Relocation } from './relocate.js';

export type { ByteRun } from './protocol.js';

export interface OracleSeamCall {
  kind: SeamKind;
  outcome: Outcome['kind'];
  path: SeamPath;
  /** Bytes the SEAM handler wrote into physical memory (all of them, changed or not), in the order it wrote them. */
  writes: ByteRun[];
  /** What the handler was asked and what it answered (a trace shows both). */
  served: {
    /** 0-based, in run order. */
    index: number;
    /** The GPRs the handler saw (Unicorn's addresses) and RFLAGS as the instruction started. */
    regsIn: Regs;
    rflagsIn: bigint;
    handler: string;
    answer: Outcome;
  };
}

export interface OracleStep {
  /** Address of the instruction (in the side's own address space). */
  address: bigint;
  /** Registers after the instruction: RAX … R15 (encoding order), RFLAGS, RIP. */
  regs: BigUint64Array;
  /** Bytes the instruction changed. */
  writes: ByteRun[];
  seam?: OracleSeamCall;
  /** The instruction faulted and execution continued at the exception-table fixup. */
  exception?: { vector: number; fixup: bigint };
}

/** How the run ended, in Unicorn's addresses. */
export type OracleEnd =
  | { kind: 'returned' }
  | { kind: 'oops'; vector: number; address: bigint }
  /** A wild access; the CPU cannot tell a read from a write ('data'). */
  | { kind: 'fault'; access: 'read' | 'write' | 'fetch' | 'data'; address: bigint; rip: bigint }
  | { kind: 'panic'; stub: string }
  | { kind: 'runaway' }
  | { kind: 'error'; message: string };

/** Writable memory before the first instruction: the runs that are not zero (the rest of the writable regions is zero). */
export interface MemorySnapshot {
  address: bigint;
  bytes: Uint8Array;
}

export interface OracleTrace {
  side: 'unicorn' | 'silicon';
  /** Registers before the first instruction. */
  initial: BigUint64Array;
  steps: OracleStep[];
  end: OracleEnd;
  /** Silicon: where the image ran (see relocate.ts for the normalisation rule). */
  relocation?: Relocation;
  /** Silicon: changes found between steps that no step reported (empty unless the per-step scan missed one). */
  unattributed: ByteRun[];
}

/** Unicorn's RunEnd as a OracleEnd. */
export function oracleEnd(end: RunEnd): OracleEnd {
  switch (end.kind) {
    case 'returned':
      return { kind: 'returned' };
    case 'oops':
      return { kind: 'oops', vector: end.vector, address: end.address };
    case 'fault':
      return { kind: 'fault', access: end.access, address: end.address, rip: end.rip };
    case 'panic':
      return { kind: 'panic', stub: end.stub };
    case 'runaway':
      return { kind: 'runaway' };
    case 'handler-error':
      return { kind: 'error', message: end.message };
    case 'stopped':
      return { kind: 'error', message: `Unicorn stopped with error ${end.ucErr} at 0x${end.rip.toString(16)}` };
    case 'unmodelled':
      return { kind: 'error', message: `unmodelled instruction ${end.mnemonic} at 0x${end.address.toString(16)}` };
  }
}

/** The runs of `next` that differ from `old` (every byte when `old` is unknown). */
export function changedRuns(address: bigint, next: Uint8Array, old: Uint8Array | undefined): ByteRun[] {
  const out: ByteRun[] = [];
  let i = 0;
  while (i < next.length) {
    if (old && old[i] === next[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j < next.length && !(old && old[j] === next[j])) j++;
    out.push({ address: address + BigInt(i), bytes: next.slice(i, j) });
    i = j;
  }
  return out;
}

interface PendingStep {
  address: bigint;
  /** Stores the instruction attempted, with the bytes that were there before. */
  stores: { address: bigint; size: number; old: Uint8Array }[];
  seam?: OracleSeamCall;
  exception?: OracleStep['exception'];
}

/**
 * Records a Unicorn run as a OracleTrace. Give it to `prepareRun` as an
 * observer of a run on `machine` (mode 'single'). The state after step k is
 * read when instruction k+1 is about to execute (the hook runs before it),
 * or when the run ends.
 */
export class UnicornStepRecorder implements RunObserver {
  private readonly steps: OracleStep[] = [];
  private pending: PendingStep | undefined;
  private initial: BigUint64Array | undefined;
  private end: OracleEnd | undefined;

  constructor(private readonly machine: Machine) {}

  private registers(): BigUint64Array {
    this.machine.regs.read();
    return this.machine.regs.values.slice();
  }

  /**
   * The step's changes are read back once it is over: a store that faulted
   * (Unicorn calls the write hook before it finds the page unmapped or
   * read-only) changed nothing, as on the CPU.
   */
  private complete(regs: BigUint64Array): void {
    const p = this.pending!;
    const writes: ByteRun[] = [];
    for (const st of p.stores) writes.push(...changedRuns(st.address, this.machine.readMemory(st.address, st.size) ?? st.old, st.old));
    this.steps.push({ address: p.address, regs, writes, ...(p.seam ? { seam: p.seam } : {}), ...(p.exception ? { exception: p.exception } : {}) });
    this.pending = undefined;
  }

  instruction(_step: number, address: bigint): void {
    const regs = this.registers();
    if (this.pending) this.complete(regs);
    else this.initial ??= regs;
    this.pending = { address, stores: [] };
  }

  memory(a: MemoryAccess): void {
    if (a.kind !== 'write' || !this.pending) return;
    // The write hook runs before the store: memory still holds the old bytes (unmapped memory cannot change).
    const old = this.machine.readMemory(a.address, a.size);
    if (old) this.pending.stores.push({ address: a.address, size: a.size, old });
  }

  seamCall(r: SeamCallRecord): void {
    if (!this.pending) return;
    const phys = this.machine.phys;
    this.pending.seam = {
      kind: r.kind, outcome: r.outcome.kind, path: r.path,
      writes: r.memWrites.map((w) => ({ address: w.address, bytes: phys.read(w.address, w.length) })),
      served: { index: r.index, regsIn: r.regsIn, rflagsIn: r.rflagsIn, handler: r.handler, answer: r.outcome },
    };
  }

  fixup(f: FixupRecord): void {
    if (this.pending) this.pending.exception = { vector: f.vector, fixup: f.fixup };
  }

  stop(s: RunStop): void {
    if (s.kind !== 'ended') return;
    const regs = this.registers();
    this.initial ??= regs;
    if (this.pending) {
      // A noreturn stub ends the run before its instruction executes.
      if (s.end.kind === 'panic') this.pending = undefined;
      else this.complete(regs);
    }
    this.end = oracleEnd(s.end);
  }

  trace(): OracleTrace {
    if (!this.end || !this.initial) throw new Error('internal: the recorded run has not ended');
    return { side: 'unicorn', initial: this.initial, steps: this.steps, end: this.end, unattributed: [] };
  }
}
