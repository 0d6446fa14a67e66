/**
 * The fuzz campaign's generators (fast-check): one generated *case* is a
 * logical call (leaf — valid, with reserved bits set, P-SEAMLDR, or any
 * value — and input registers), the registers and status the SEAM side
 * answers with, how a fault is raised (by the handler or by the CPU
 * environment) and what later SEAM calls get (a scripted sequence). Each
 * case runs once per *variant*, the outcome class of the first SEAM call
 * (success, error, VMfailInvalid, VMfailValid, #UD, #GP), so every class is
 * covered by every case and generation is paid once per case.
 *
 * Shrinking (fast-check) goes toward fewer inputs and outputs, smaller
 * values, the first leaf of the table, a fault raised by the handler and no
 * later answers: a one-call scenario.
 */
import fc from 'fast-check';
import { SEAMCALL_LEAF, SEAMLDR_LEAF, STATUS, TDCALL_LEAF } from '../seam/codes.js';
import type { Scenario, ScenarioCase } from '../seam/scenario.js';
import { GUEST_ENV, HOST_ENV, type CpuEnv, type Outcome, type SeamKind } from '../seam/types.js';
import type { GprName } from '../support/registers.js';
import { hexU64 } from '../support/format.js';

export type Variant = 'success' | 'error' | 'vmfailinvalid' | 'vmfailvalid' | 'ud' | 'gp';

/** Variants per kind: TDCALL has no VMfail outcome (tdx-facts.md §7). */
export function variantsFor(kind: SeamKind): Variant[] {
  return kind === 'seamcall' ? ['success', 'error', 'vmfailinvalid', 'vmfailvalid', 'ud', 'gp'] : ['success', 'error', 'ud', 'gp'];
}

export interface FuzzCase {
  leaf: bigint;
  /** Logical inputs (distinct registers). */
  inputs: [GprName, bigint][];
  /** What a 'return' answer writes. */
  outputs: [GprName, bigint][];
  /** The status word of a 'return' answer (bit 63 is set by the variant: clear for success, set for error). */
  status: bigint;
  /** How #UD/#GP happen: the handler answers the fault, or the CPU environment raises it before any handler. */
  faultVia: 'handler' | 'environment';
  /** Answers to later SEAM calls, in order (the last repeats). */
  tail: Outcome[];
}

/** Input registers a case may set (never RAX: the leaf; never RSP/RBP). */
const INPUT_REGS: readonly GprName[] = ['rcx', 'rdx', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rbx', 'rdi', 'rsi'];
/** Outputs of the leaves the non-`saved` functions serve (tdxcall.S: "the common core (RAX,RCX,RDX,R8-R11)"). */
export const CORE_OUTPUTS: readonly GprName[] = ['rcx', 'rdx', 'r8', 'r9', 'r10', 'r11'];
/** The callee-saved and RDI/RSI outputs, only for leaves served by functions that pass and restore them (`saved`). */
export const EXTENDED_OUTPUTS: readonly GprName[] = ['r12', 'r13', 'r14', 'r15', 'rbx', 'rdi', 'rsi'];

const U64_MAX = (1n << 64n) - 1n;
const BIT63 = 1n << 63n;

const value: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: 0xffffn }) },
  { weight: 5, arbitrary: fc.bigInt({ min: 0n, max: U64_MAX }) },
  { weight: 1, arbitrary: fc.constantFrom(U64_MAX, BIT63, 0xffffffffn) },
);

function leafArb(kind: SeamKind): fc.Arbitrary<bigint> {
  const table = Object.values(kind === 'seamcall' ? SEAMCALL_LEAF : TDCALL_LEAF).map(BigInt);
  const valid = fc.constantFrom(...table);
  const parts: { weight: number; arbitrary: fc.Arbitrary<bigint> }[] = [
    { weight: 6, arbitrary: valid },
    // Version bits (RAX[23:16]).
    { weight: 1, arbitrary: fc.tuple(valid, fc.bigInt({ min: 1n, max: 0xffn })).map(([l, v]) => l | (v << 16n)) },
    // Reserved bits (RAX[63:24] must be 0; bit 63 alone selects the P-SEAMLDR on the host side).
    { weight: 1, arbitrary: fc.tuple(valid, fc.bigInt({ min: 1n, max: (1n << 39n) - 1n })).map(([l, r]) => l | (r << 24n)) },
    { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: U64_MAX }) },
  ];
  if (kind === 'seamcall') parts.push({ weight: 1, arbitrary: fc.constantFrom(...Object.values(SEAMLDR_LEAF)) });
  return fc.oneof(...parts);
}

const statusArb: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...Object.values(STATUS)) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...Object.values(STATUS)), fc.bigInt({ min: 0n, max: 15n })).map(([s, op]) => s | op) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: U64_MAX }) },
);

function regsArb(regs: readonly GprName[], max: number): fc.Arbitrary<[GprName, bigint][]> {
  return fc.uniqueArray(fc.tuple(fc.constantFrom(...regs), value), { maxLength: max, selector: (t) => t[0] });
}

function outcomeArb(kind: SeamKind, outputs: readonly GprName[]): fc.Arbitrary<Outcome> {
  const ret = fc.tuple(statusArb, regsArb(outputs, 3)).map(([rax, regs]): Outcome => (regs.length ? { kind: 'return', rax, regs: Object.fromEntries(regs) } : { kind: 'return', rax }));
  const faults = fc.constantFrom<Outcome>({ kind: 'fault', vector: 'UD' }, { kind: 'fault', vector: 'GP' });
  return kind === 'seamcall'
    ? fc.oneof(ret, fc.constantFrom<Outcome>({ kind: 'vmfailinvalid' }, { kind: 'vmfailvalid' }), faults)
    : fc.oneof(ret, faults);
}

/** The case generator for a pair of `kind`; `extended`: both sides pass and restore RBX, RSI, RDI, R12–R15. */
export function caseArbitrary(kind: SeamKind, extended: boolean): fc.Arbitrary<FuzzCase> {
  const outs = extended ? [...CORE_OUTPUTS, ...EXTENDED_OUTPUTS] : CORE_OUTPUTS;
  return fc.record({
    leaf: leafArb(kind),
    inputs: regsArb(INPUT_REGS, 6),
    outputs: regsArb(outs, 6),
    status: statusArb,
    faultVia: fc.constantFrom<'handler' | 'environment'>('handler', 'environment'),
    tail: fc.array(outcomeArb(kind, outs), { maxLength: 2 }),
  });
}

/** The environments a variant runs in (shared, never modified). */
const ENVS: Readonly<Record<SeamKind, Readonly<Record<'base' | 'ud' | 'gp', CpuEnv>>>> = {
  seamcall: { base: { ...HOST_ENV }, ud: { ...HOST_ENV, vmx: false }, gp: { ...HOST_ENV, seamrr: false } },
  tdcall: { base: { ...GUEST_ENV }, ud: { ...GUEST_ENV, inTd: false }, gp: { ...GUEST_ENV, cpl: 3 } },
};
const VMFAILINVALID: Outcome = { kind: 'vmfailinvalid' };
const VMFAILVALID: Outcome = { kind: 'vmfailvalid' };
const FAULT: Readonly<Record<'UD' | 'GP', Outcome>> = { UD: { kind: 'fault', vector: 'UD' }, GP: { kind: 'fault', vector: 'GP' } };
const UNUSED: Outcome = { kind: 'return', rax: 0n };

/**
 * The first SEAM call's answer and the CPU environment of a case run as
 * `variant`. `regs` (the case's outputs as an object) may be passed in when
 * the caller runs many variants of one case.
 */
export function variantPlan(c: FuzzCase, variant: Variant, kind: SeamKind, regs = c.outputs.length ? Object.fromEntries(c.outputs) : undefined): { script: Outcome[]; env: CpuEnv } {
  const envs = ENVS[kind];
  let first: Outcome;
  let env = envs.base;
  switch (variant) {
    case 'success': first = regs ? { kind: 'return', rax: c.status & ~BIT63, regs } : { kind: 'return', rax: c.status & ~BIT63 }; break;
    case 'error': first = regs ? { kind: 'return', rax: c.status | BIT63, regs } : { kind: 'return', rax: c.status | BIT63 }; break;
    case 'vmfailinvalid': first = VMFAILINVALID; break;
    case 'vmfailvalid': first = VMFAILVALID; break;
    case 'ud':
    case 'gp':
      if (c.faultVia === 'handler') first = FAULT[variant === 'ud' ? 'UD' : 'GP'];
      else {
        // The CPU faults before the SEAM side is asked (src/seam/env.ts); the handler's answer is never used.
        first = UNUSED;
        env = envs[variant];
      }
      break;
  }
  return { script: c.tail.length ? [first, ...c.tail] : [first], env };
}

/** A case run as `variant`, as a scenario (what the counterexample file says). */
export function caseScenario(c: FuzzCase, variant: Variant, kind: SeamKind, name: string, summary: string): Scenario {
  const { script, env } = variantPlan(c, variant, kind);
  const sc: ScenarioCase = { call: { leaf: c.leaf, inputs: Object.fromEntries(c.inputs) }, env: { ...env }, handler: { script } };
  return { name, summary, source: 'fuzz', cases: { [kind]: sc } };
}

function stepYaml(o: Outcome): unknown {
  switch (o.kind) {
    case 'vmfailinvalid':
    case 'vmfailvalid':
      return o.kind;
    case 'fault':
      return { fault: o.vector };
    case 'return':
      return { return: { rax: hexU64(o.rax), ...(o.regs ? { regs: Object.fromEntries(Object.entries(o.regs).map(([k, v]) => [k, hexU64(v)])) } : {}) } };
  }
}

/** The scenario file (src/seam/SCENARIOS.md) of a case run as `variant`: plain data for YAML. */
export function caseScenarioFile(c: FuzzCase, variant: Variant, kind: SeamKind, name: string, summary: string): Record<string, unknown> {
  const { script, env } = variantPlan(c, variant, kind);
  const base: CpuEnv = kind === 'seamcall' ? HOST_ENV : GUEST_ENV;
  const envDiff = Object.fromEntries(Object.entries(env).filter(([k, v]) => base[k as keyof CpuEnv] !== v));
  return {
    name, summary,
    [kind]: {
      call: { leaf: hexU64(c.leaf), ...(c.inputs.length ? { inputs: Object.fromEntries(c.inputs.map(([r, v]) => [r, hexU64(v)])) } : {}) },
      ...(Object.keys(envDiff).length ? { env: envDiff } : {}),
      handler: { script: script.map(stepYaml) },
    },
  };
}
