/**
 * What a run of the machine reports, as plain data: how it ended (`RunEnd`),
 * why it paused (`PauseReason`), the SEAM calls it served, the stores it
 * made, and the interface of whoever watches it (`RunObserver`: trace
 * recorder, debugger, coverage, leak checker).
 */
import type { Outcome, SeamKind } from '../seam/types.js';
import type { Regs } from '../support/registers.js';
import type { MemoryWrite } from './memory.js';
import type { AddressLocation } from '../image/source-map.js';

export interface TraceEntry {
  address: bigint;
  location?: AddressLocation;
}

export interface StoreRecord {
  address: bigint;
  size: number;
  /** The instruction that stored. */
  rip: bigint;
}

/** How execution continued after a SEAM call: after the instruction, at an exception-table fixup, or not at all. */
export type SeamPath = 'resumed' | 'exception-table' | 'oops';

export interface SeamCallRecord {
  index: number;
  kind: SeamKind;
  address: bigint;
  location?: AddressLocation;
  regsIn: Regs;
  rflagsIn: bigint;
  handler: string;
  outcome: Outcome;
  path: SeamPath;
  regsOut: Regs;
  rflagsOut: bigint;
  ripOut: bigint;
  /** Physical-memory writes the handler made. */
  memWrites: MemoryWrite[];
}

/** A fault taken through the image's exception table. */
export interface FixupRecord {
  vector: number;
  /** The faulting instruction. */
  address: bigint;
  /** Where execution continued. */
  fixup: bigint;
}

/** How a run ended. Once ended, a run cannot continue. */
export type RunEnd =
  | { kind: 'returned' }
  /** A CPU exception with no exception-table entry: the kernel would oops. */
  | { kind: 'oops'; vector: number; vectorName: string; address: bigint; location?: AddressLocation; cause: string }
  /** A wild memory access (unmapped or protected) with no exception-table entry. */
  | { kind: 'fault'; access: 'read' | 'write' | 'fetch'; address: bigint; size: number; rip: bigint; location?: AddressLocation; last?: TraceEntry }
  | { kind: 'runaway'; limit: 'instructions' | 'time'; budget: number; timeLimitMs: number; last: TraceEntry[] }
  /** A call into a kernel function that does not return (a harness stub such as __tdx_hypercall_failed). */
  | { kind: 'panic'; stub: string; caller?: TraceEntry }
  | { kind: 'handler-error'; message: string; error: unknown }
  /** An instruction the machine does not model (syscall, hlt, wrmsr, cli, in …: src/machine/code-scan.ts), not executed. */
  | { kind: 'unmodelled'; mnemonic: string; why: string; address: bigint; location?: AddressLocation }
  | { kind: 'stopped'; rip: bigint; ucErr: number; location?: AddressLocation };

/** Kept for the many places that say "stop" for the end of a run. */
export type StopReason = RunEnd;

/**
 * Why a run paused. A paused run sits *before* the instruction at RIP: the
 * registers and memory are what that instruction will see.
 */
export type PauseReason =
  /** `step(n)` executed its n instructions. */
  | { kind: 'step' }
  | { kind: 'breakpoint'; address: bigint }
  /** An observer asked to pause after an instruction it watched (a data watchpoint). */
  | { kind: 'watchpoint'; detail: string }
  /** At a SEAMCALL/TDCALL, before the SEAM side was asked. */
  | { kind: 'seam-call'; address: bigint; seamKind: SeamKind; index: number }
  /** A fault went through the exception table; RIP is at the fixup. */
  | { kind: 'fixup'; fixup: FixupRecord }
  /** `interrupt()` (a gdb Ctrl-C, a DAP pause). */
  | { kind: 'interrupted' }
  /** One time slice of an interruptible continue ran out (internal; `continueAsync` never returns it). */
  | { kind: 'slice' };

export type RunStop = { kind: 'paused'; reason: PauseReason; rip: bigint } | { kind: 'ended'; end: RunEnd };

/** One memory access by the instruction being executed. */
export interface MemoryAccess {
  kind: 'read' | 'write';
  address: bigint;
  size: number;
  /** Value read or written (little-endian, `size` bytes). */
  value: bigint;
  /** The instruction making the access. */
  rip: bigint;
  /** Its step number (0-based count of instructions executed before it). */
  step: number;
}

/**
 * Whoever watches a run. Every method is optional; a machine calls only what
 * is there, and installs Unicorn's per-instruction and memory hooks only
 * when it is created to be observed (`mode: 'single'`), before the first
 * instruction is translated.
 *
 * `instruction` and `memory` may return a watchpoint description to pause
 * the run after the current instruction completes (never in the middle of
 * one: Unicorn abandons an instruction stopped from a memory hook with its
 * stores done and RIP not advanced).
 */
export interface RunObserver {
  /** Wants memory reads too (costs a hook and a read per load). Writes are always reported. */
  readonly observesReads?: boolean;
  /**
   * Before the instruction at `address` executes (it will: pauses were
   * decided before). `step` counts from 0. A machine in 'recorded' mode
   * passes the registers before the instruction (src/machine/native-steps.ts
   * `STEP_REGISTERS` order: the 16 GPRs in encoding order, then RFLAGS) —
   * it reports steps after Unicorn ran them, so the live registers are
   * later ones; in 'single' mode the live registers are these.
   */
  instruction?(step: number, address: bigint, size: number, registers?: BigUint64Array): string | void;
  memory?(access: MemoryAccess): string | void;
  /** A SEAM call was served and its outcome applied (or it faulted). */
  seamCall?(record: SeamCallRecord): void;
  /** A fault went through the exception table. */
  fixup?(record: FixupRecord): void;
  /** The run paused or ended. */
  stop?(stop: RunStop): void;
}

export interface MachineRun {
  stop: RunEnd;
  /** Instructions executed (single mode; batch mode reports 0). */
  instructions: number;
  seamCalls: SeamCallRecord[];
  /** Number of SEAM calls served (both modes). */
  seamCallCount: number;
  /** Every store the guest made (single mode), up to MAX_RECORDED_STORES. */
  stores: StoreRecord[];
  /** Stores beyond MAX_RECORDED_STORES. */
  storesDropped: number;
  /** Exception-table fixups taken, in order. */
  fixups: FixupRecord[];
  /** Time spent emulating (pauses do not count). */
  elapsedMs: number;
}
