/**
 * The debugger core's data (the contract in DEBUG-CORE-API.md, shared by the
 * terminal REPL, the DAP adapter and the GDB remote stub): what is debugged,
 * breakpoints and watchpoints as the user gave them and as they resolved,
 * why and where a run stopped, and the frames of the macro-expansion
 * backtrace. Plain data: front ends render it, none of them computes it.
 */
import type { AddressLocation } from '../image/source-map.js';
import type { Revision } from '../intake/types.js';
import type { RunEnd } from '../machine/run-types.js';
import type { RunResult } from '../run/run.js';
import type { Scenario } from '../seam/scenario.js';
import type { SourceLocation } from '../support/source-location.js';

export interface DebugTarget {
  revision: Revision;
  /** The entry point's name. */
  fn: string;
  scenario: Scenario;
  /** kconfig profile (default 'default'). */
  profile?: string;
  budget?: number;
  timeLimitMs?: number;
}

export type BreakpointSpec =
  /** `file`: tree-relative path, or a suffix of one that names a single file ("tdxcall.S"). */
  | { kind: 'line'; file: string; line: number }
  | { kind: 'function'; name: string }
  | { kind: 'address'; address: bigint }
  /** Every SEAMCALL/TDCALL, before it is served. */
  | { kind: 'seam-call' };

export interface Breakpoint {
  id: number;
  spec: BreakpointSpec;
  temporary: boolean;
  enabled: boolean;
  /** Resolved addresses: one per expansion for a macro-body line (empty = unverified). */
  addresses: bigint[];
  /** When the requested line had no code: the line actually used (the next line with code). */
  movedTo?: { file: string; line: number };
  /** The tree-relative file a line breakpoint resolved to. */
  file?: string;
  verified: boolean;
  /** Why unverified, or why moved. */
  message?: string;
  hits: number;
}

export type WatchAccess = 'write' | 'read' | 'access';

export type WatchSpec =
  /** 'rax' … 'r15', 'rip', 'rflags', or a 32-bit name ('eax'). */
  | { kind: 'register'; register: string }
  | { kind: 'memory'; address: bigint; size: number; access: WatchAccess }
  /**
   * An expression: a register (`$rax`), a struct field (`args->rcx`,
   * `out->r8`), or a memory location (`*(u64*)($rsp+8)`) — whose address is
   * taken once, when the watchpoint is set (like gdb's `watch -l`) — or any
   * other expression, whose value is watched (checked at every instruction).
   */
  | { kind: 'expression'; expression: string; access?: WatchAccess };

export interface Watchpoint {
  id: number;
  spec: WatchSpec;
  /** For memory (and struct-field) watchpoints: the range watched. */
  address?: bigint;
  size?: number;
  /** What is watched, as shown to the user ("args->rcx", "$rax", "*(u64*)0x…"). */
  label: string;
  access: WatchAccess;
  hits: number;
}

export type StopReason =
  | 'entry' | 'step' | 'breakpoint' | 'watchpoint' | 'seam-call' | 'fixup' | 'interrupted' | 'exited' | 'start-of-run';

export interface WatchHit {
  id: number;
  /** Values in the direction of travel: a reverse-continue reports the value after the change as `old`. */
  old: bigint;
  new: bigint;
  /** For memory watchpoints: the watched address. */
  address?: bigint;
  /** What the instruction did to it ('read' for rwatch/awatch hits). */
  access: 'read' | 'write' | 'value';
}

export interface StopEvent {
  reason: StopReason;
  /** Instructions executed so far (the position in the run; 0 = at the entry). */
  position: number;
  rip: bigint;
  location?: AddressLocation;
  breakpointIds?: number[];
  watch?: WatchHit;
  /** The run is going backwards (reverse-step, reverse-continue …). */
  reverse?: boolean;
  /**
   * How many innermost GAS expansions the stop is shown outside of: after a
   * breakpoint on (or a `next` onto) a line that invokes a macro, the stop is
   * at the macro's first instruction but shown on the invocation line, as gdb
   * shows an inlined function's call site. `stepLine` then enters the
   * expansion without executing anything. 0 or absent: shown at RIP's line.
   */
  hiddenFrames?: number;
  /** When reason === 'exited': how the run ended and what the C caller saw. */
  end?: RunEnd;
  result?: RunResult;
}

export interface Frame {
  index: number;
  /**
   * 'statement': the instruction at RIP on its source line; 'macro': one GAS
   * expansion (a `.macro` invocation or a repetition block), at the line that
   * invokes it; 'function': the function containing RIP, where it is defined.
   */
  kind: 'statement' | 'macro' | 'function';
  /** statement: `fn+0x1e`; macro: the macro's name (".rept" for a block); function: its name. */
  name: string;
  location?: SourceLocation;
  address: bigint;
  /** statement: the statement as assembled; macro: the invocation as written; function: its prototype when known. */
  text: string;
  /** macro frames: the value of `\@` in the expansion. */
  counter?: number;
}

/** One field of a struct the call passes (`args->rcx`), read now. */
export interface FieldView {
  name: string;
  /** `args->rcx`. */
  path: string;
  address: bigint;
  offset: number;
  size: number;
  value: bigint;
}

/** One parameter of the entry point as the harness passed it. */
export interface ParamView {
  name: string;
  register: string;
  role: string;
  /** The value passed (for a struct: its address). */
  value: bigint;
  struct?: { name: string; address: bigint; outputOnly: boolean; fields: FieldView[] };
}

/** One instruction of the image, for disassembly views. */
export interface InstructionView {
  address: bigint;
  bytes: Uint8Array;
  text: string;
  /** False for padding entries outside the image (DAP asks for exact counts). */
  valid: boolean;
  symbol?: string;
  location?: SourceLocation;
}
