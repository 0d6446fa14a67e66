/**
 * A scenario is what a run asks: the logical call (leaf and inputs by
 * register name), the CPU environment, and who answers on the SEAM side.
 * The System V harness maps the logical call onto whatever C ABI the entry
 * point has, so one scenario runs against every revision.
 */
import { DEFAULT_TIME_LIMIT_MS } from '../support/limits.js';
import { SeamRoot, type SeamldrConfig } from './p-seamldr.js';
import { ScriptedHandler } from './scripted.js';
import { TdGuestModel, type TdGuestConfig, type VmmHandler } from './td-guest.js';
import type { TdxModuleConfig } from './tdx-module.js';
import type { CpuEnv, GprName, Outcome, OutcomeKind, OutputReg, SeamHandler, SeamKind } from './types.js';
import { boundedUserHandler } from './user-code.js';

/** A buffer in the physical-memory area; the register gets its address. */
export interface PhysBuffer {
  phys: number;
  align?: number;
  /** Byte to fill with, or 'pattern' (0x00, 0x01, … 0xff, 0x00, …). Default 0. */
  fill?: number | 'pattern';
  /** The register gets the buffer's address plus this (e.g. 8 for a deliberately misaligned pointer). */
  offset?: number;
}

export type InputValue = bigint | PhysBuffer;

export interface LogicalCall {
  /** RAX: the leaf number with its version bits (P-SEAMLDR leaves have bit 63 set). */
  leaf: bigint;
  /** Inputs by SEAM register name (rcx, rdx, r8 …), placed wherever the function's ABI carries them. */
  inputs: Partial<Record<GprName, InputValue>>;
  /** Pass NULL for output-only struct pointers (the `out` of R0's `__seamcall`). */
  nullOutput?: boolean;
}

export type HandlerSpec =
  | { model: 'tdx-module'; module?: Partial<TdxModuleConfig>; seamldr?: Partial<SeamldrConfig> }
  | { model: 'td-guest'; guest?: Partial<TdGuestConfig>; vmm?: VmmHandler }
  | { script: Outcome[]; then?: HandlerSpec }
  /** The user's own handler; `create` is called once per run so state does not leak between runs. */
  | { custom: string; create: () => SeamHandler };

export interface ScenarioCase {
  call: LogicalCall;
  env: CpuEnv;
  handler: HandlerSpec;
}

/** What the caller should see after one step of a sequence (checked when given). */
export interface StepExpect {
  /**
   * The status the calling function returns: the SEAM call's RAX, or the
   * kernel's software status for VMfailInvalid / a trapped #UD/#GP (6.7+
   * tdxcall.S). The run layer compares the function's real return value.
   */
  status?: bigint;
  /** Registers the SEAM call leaves, as the caller reads them back (the args struct fields of the `ret` variants). */
  outputs?: Partial<Record<OutputReg, bigint>>;
  /** How the last SEAM call of the step ended. */
  outcome?: OutcomeKind;
}

/** One logical call of a sequence. */
export interface SequenceStep {
  call: LogicalCall;
  env: CpuEnv;
  expect?: StepExpect;
  /** Call again while output `while` is below `below` (the kernel's init_tdmr loop on RDX), at most `max` calls in all. */
  repeat?: { while: OutputReg; below: bigint; max: number };
  label?: string;
}

/** Physical memory the run writes before the first call: little-endian qwords from an absolute physical address. */
export interface MemoryInit {
  phys: bigint;
  u64: bigint[];
}

/**
 * Several calls against one SEAM side: the handler is created once and keeps
 * its state (module state machine, scripted answers consumed in order)
 * across the steps. See session.ts for the library side.
 */
export interface Sequence {
  kind: SeamKind;
  handler: HandlerSpec;
  memory: MemoryInit[];
  steps: SequenceStep[];
}

export interface Scenario {
  name: string;
  /** One line for `seamlab scenarios` and the table. */
  summary: string;
  /** 'builtin', or the file it was loaded from. */
  source: string;
  /** The case for host (SEAMCALL) and/or guest (TDCALL) entry points. */
  cases: Partial<Record<SeamKind, ScenarioCase>>;
  /** Only for ABIs with an output-only struct pointer (null-out). */
  requiresOutputPointer?: boolean;
  /** A sequence of calls against one SEAM state (then `cases` is empty). */
  sequence?: Sequence;
}

export interface CreateHandlerOptions {
  /**
   * How long the user's handler code may take to be created and to answer
   * one call (default DEFAULT_TIME_LIMIT_MS): the run's time limit. The
   * built-in models are not bounded (they are seamlab's code).
   */
  timeLimitMs?: number;
}

export function createHandler(spec: HandlerSpec, opts: CreateHandlerOptions = {}): SeamHandler {
  if ('model' in spec) {
    if (spec.model === 'tdx-module') return new SeamRoot(spec.module, spec.seamldr);
    return new TdGuestModel({ ...spec.guest, ...(spec.vmm ? { vmm: spec.vmm } : {}) });
  }
  if ('script' in spec) return new ScriptedHandler(spec.script, spec.then ? createHandler(spec.then, opts) : undefined);
  // The user's code: created and called under a deadline (user-code.ts), so a handler that never answers ends its run.
  return boundedUserHandler(spec.create, spec.custom, opts.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS);
}

export function handlerLabel(spec: HandlerSpec): string {
  if ('model' in spec) return spec.model;
  if ('script' in spec) return spec.then ? `script then ${handlerLabel(spec.then)}` : 'script';
  return spec.custom;
}
