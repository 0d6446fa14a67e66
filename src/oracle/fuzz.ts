/**
 * Fuzzing the oracle: random scenarios (leaves, input values and buffers,
 * CPU environments, and SEAM-side answers of every kind — statuses of every
 * class, VMfailInvalid, VMfailValid, #UD, #GP — or the built-in models) run
 * against every entry point of a revision on Unicorn and on the CPU.
 * fast-check generates them from a seed and shrinks a divergence to a
 * minimal scenario, which is printed in the scenario-file format so that
 * `seamlab oracle --scenario FILE` replays it.
 *
 * Scenarios are generated as scenario-file objects (hex strings for 64-bit
 * values) and read by the same loader as a user's file.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import type { Image } from '../image/types.js';
import type { EntryFunction } from '../intake/types.js';
import { SEAMCALL_LEAF, SEAMLDR_LEAF, STATUS, TDCALL_LEAF, TDVMCALL } from '../seam/codes.js';
import { scenarioFromObject } from '../seam/scenario-file.js';
import type { SeamKind } from '../seam/types.js';
import { GPR_NAMES } from '../support/registers.js';
import type { OracleDivergence } from './compare.js';
import type { Oracle, OracleRunResult } from './oracle.js';

const HEX = (v: bigint): string => `0x${v.toString(16)}`;
const INPUT_REGS = GPR_NAMES.filter((r) => r !== 'rax' && r !== 'rsp');
const OUTPUT_REGS = INPUT_REGS;

const u64: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) },
  { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: 0xffffn }) },
  { weight: 1, arbitrary: fc.constantFrom(0n, 1n, 0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn, TDVMCALL.MAP_GPA, 0xffccn) },
);

/** A completion status: a named one, any class with both top bits, or anything. */
const status: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...Object.values(STATUS)) },
  {
    weight: 3,
    arbitrary: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }), fc.bigInt({ min: 0n, max: 0xffffffffn }))
      .map(([top, cls, detail]) => (BigInt(top) << 62n) | (BigInt(cls) << 40n) | detail),
  },
  { weight: 1, arbitrary: u64 },
);

const regValues = (names: readonly string[]) => fc.uniqueArray(fc.tuple(fc.constantFrom(...names), u64), { maxLength: 6, selector: (t) => t[0] })
  .map((pairs) => Object.fromEntries(pairs.map(([r, v]) => [r, HEX(v)])));

type Step = 'vmfailinvalid' | 'vmfailvalid' | { fault: 'UD' | 'GP' } | { return: { rax: string; regs?: Record<string, string> } };

/** A SEAM-side answer; TDCALL has no VMfail outcome (Intel SDM TDCALL: it returns, faults or exits to the VMM). */
function answer(kind: SeamKind): fc.Arbitrary<Step> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(status, regValues(OUTPUT_REGS)).map(([rax, regs]): Step => ({ return: { rax: HEX(rax), ...(Object.keys(regs).length ? { regs } : {}) } })) },
    ...(kind === 'seamcall' ? [
      { weight: 1, arbitrary: fc.constant<Step>('vmfailinvalid') },
      { weight: 1, arbitrary: fc.constant<Step>('vmfailvalid') },
    ] : []),
    { weight: 1, arbitrary: fc.constantFrom<Step>({ fault: 'UD' }, { fault: 'GP' }) },
  );
}

const physBuffer = fc.record({
  phys: fc.integer({ min: 8, max: 4096 }),
  align: fc.constantFrom(1, 8, 64, 256, 4096),
  fill: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constant('pattern' as const)),
  offset: fc.integer({ min: 0, max: 16 }),
}, { requiredKeys: ['phys'] });

const inputs = fc.uniqueArray(fc.tuple(fc.constantFrom(...INPUT_REGS), fc.oneof({ weight: 4, arbitrary: u64.map(HEX) }, { weight: 1, arbitrary: physBuffer })), { maxLength: 8, selector: (t) => t[0] })
  .map((pairs) => Object.fromEntries(pairs));

function leaves(kind: SeamKind): fc.Arbitrary<string> {
  const named = kind === 'seamcall' ? [...Object.values(SEAMCALL_LEAF).map(BigInt), ...Object.values(SEAMLDR_LEAF)] : Object.values(TDCALL_LEAF).map(BigInt);
  return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...named) }, { weight: 1, arbitrary: u64 }).map(HEX);
}

function environment(kind: SeamKind): fc.Arbitrary<Record<string, unknown>> {
  const faulting = kind === 'seamcall'
    ? fc.constantFrom<Record<string, unknown>>({ vmx: false }, { seamrr: false }, { cpl: 3 }, { inTd: true })
    : fc.constantFrom<Record<string, unknown>>({ inTd: false }, { cpl: 3 });
  return fc.oneof({ weight: 6, arbitrary: fc.record({ lp: fc.integer({ min: 0, max: 7 }) }) }, { weight: 1, arbitrary: faulting });
}

function handler(kind: SeamKind): fc.Arbitrary<Record<string, unknown>> {
  const model = kind === 'seamcall' ? { model: 'tdx-module' } : { model: 'td-guest' };
  return fc.oneof(
    { weight: 6, arbitrary: fc.array(answer(kind), { minLength: 1, maxLength: 3 }).map((script) => ({ script })) },
    { weight: 1, arbitrary: fc.constant(model) },
  );
}

function seamCase(kind: SeamKind) {
  return fc.record({
    call: fc.record({ leaf: leaves(kind), inputs, nullOutput: fc.boolean() }),
    env: environment(kind),
    handler: handler(kind),
  });
}

/** One fuzz input: which entry point, and a scenario (file format) with a host and a guest case. */
export interface FuzzInput {
  fn: string;
  scenario: { name: string; summary: string; seamcall: unknown; tdcall: unknown };
}

export function fuzzInput(functions: readonly string[]): fc.Arbitrary<FuzzInput> {
  return fc.record({ fn: fc.constantFrom(...functions), host: seamCase('seamcall'), guest: seamCase('tdcall') })
    .map(({ fn, host, guest }) => ({ fn, scenario: { name: 'fuzz', summary: 'a random scenario of seamlab oracle --fuzz', seamcall: host, tdcall: guest } }));
}

/** The scenario a fuzz input runs, as a scenario file for `--scenario` (only the case its entry point uses). */
export function scenarioFileText(input: FuzzInput, kind: SeamKind): string {
  const { name, summary } = input.scenario;
  return stringify({ name, summary, [kind]: input.scenario[kind] });
}

export interface FuzzTarget {
  fn: EntryFunction;
  image: Image;
}

export interface FuzzOptions {
  revision: string;
  profile: string;
  runs: number;
  seed: number;
  /** Test knob passed to every run (see SiliconRunOptions.flip). */
  flip?: { step: number; mask: bigint };
}

export interface FuzzFailure {
  input: FuzzInput;
  function: string;
  kind: SeamKind;
  divergence: OracleDivergence;
  /** Shrinking steps fast-check took from the first failing input. */
  shrinks: number;
  /** The scenario file that replays it. */
  scenarioFile: string;
}

export interface FuzzReport {
  runs: number;
  instructions: number;
  /** How the runs ended (Unicorn's view), by kind. */
  ends: Record<string, number>;
  /** SEAM-side answers served, by kind (return, vmfailinvalid, vmfailvalid, fault). */
  answers: Record<string, number>;
  fixups: number;
  exactReruns: number;
  failure?: FuzzFailure;
}

/** Runs `runs` random scenarios from `seed` against the targets on Unicorn and the CPU; shrinks the first divergence. */
export async function fuzzOracle(oracle: Oracle, targets: readonly FuzzTarget[], opts: FuzzOptions): Promise<FuzzReport> {
  const byName = new Map(targets.map((t) => [t.fn.name, t]));
  const report: FuzzReport = { runs: 0, instructions: 0, ends: {}, answers: {}, fixups: 0, exactReruns: 0 };
  let counting = true;
  const runOne = async (input: FuzzInput): Promise<OracleRunResult> => {
    const t = byName.get(input.fn)!;
    const scenario = await scenarioFromObject(input.scenario, 'fuzz');
    return oracle.run(t.image, t.fn, scenario, { revision: opts.revision, profile: opts.profile, ...(opts.flip ? { flip: opts.flip } : {}) });
  };
  const property = fc.asyncProperty(fuzzInput(targets.map((t) => t.fn.name)), async (input) => {
    const r = await runOne(input);
    if (counting) {
      report.runs++;
      report.instructions += r.instructions;
      report.ends[r.end.kind] = (report.ends[r.end.kind] ?? 0) + 1;
      for (const s of r.unicorn.steps) {
        if (s.seam) report.answers[s.seam.outcome] = (report.answers[s.seam.outcome] ?? 0) + 1;
        if (s.exception) report.fixups++;
      }
      if (r.exactRerun) report.exactReruns++;
    }
    if (r.divergence) counting = false;
    return r.divergence === undefined;
  });
  const details = await fc.check(property, { numRuns: opts.runs, seed: opts.seed, endOnFailure: false });
  if (details.failed && details.counterexample) {
    const [input] = details.counterexample;
    const r = await runOne(input);
    const t = byName.get(input.fn)!;
    if (r.divergence) {
      report.failure = { input, function: input.fn, kind: t.fn.kind, divergence: r.divergence, shrinks: details.numShrinks, scenarioFile: scenarioFileText(input, t.fn.kind) };
    }
  } else if (details.failed) {
    throw new Error(`internal: the fuzz campaign stopped without a counterexample (${details.interrupted ? 'interrupted' : 'too many skipped inputs'})`);
  }
  return report;
}
