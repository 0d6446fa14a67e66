/**
 * A scenario is what a run asks: the logical call (leaf and inputs by
 * register name), the CPU environment, and who answers on the SEAM side.
 * The System V harness maps the logical call onto whatever C ABI the entry
 * point has, so one scenario runs against every revision.
 */
import { SeamlabError } from '../errors.js';
import { SeamRoot, type SeamldrConfig } from './p-seamldr.js';
import { ScriptedHandler } from './scripted.js';
import { TdGuestModel, type TdGuestConfig, type VmmHandler } from './td-guest.js';
import type { TdxModuleConfig } from './tdx-module.js';
import type { CpuEnv, GprName, Outcome, SeamCall, SeamHandler, SeamKind } from './types.js';

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
}

export function createHandler(spec: HandlerSpec): SeamHandler {
  if ('model' in spec) {
    if (spec.model === 'tdx-module') return new SeamRoot(spec.module, spec.seamldr);
    return new TdGuestModel({ ...spec.guest, ...(spec.vmm ? { vmm: spec.vmm } : {}) });
  }
  if ('script' in spec) return new ScriptedHandler(spec.script, spec.then ? createHandler(spec.then) : undefined);
  const h = spec.create();
  if (typeof h === 'function') {
    const fn = h as (call: SeamCall) => Outcome;
    return { name: spec.custom, handle: fn };
  }
  if (!h || typeof h.handle !== 'function') {
    throw new SeamlabError('SCENARIO_BAD_HANDLER', `${spec.custom} did not give a handler with a handle(call) method`,
      'export a SeamHandler object ({ name, handle(call) { … } }) or a function (call) => outcome');
  }
  return h;
}

export function handlerLabel(spec: HandlerSpec): string {
  if ('model' in spec) return spec.model;
  if ('script' in spec) return spec.then ? `script then ${handlerLabel(spec.then)}` : 'script';
  return spec.custom;
}
