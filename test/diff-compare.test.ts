/**
 * The comparison's fast path (src/diff/observe.ts: classes decided as
 * numbers, names and texts made only for a recorded difference; the fuzz
 * engine's signatures found without string keys) against the
 * straightforward code it replaced (test/support/diff-reference.ts):
 * the same differences with the same classes and texts, and the same
 * campaign results byte for byte.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareRuns, compareSpec, endInfo, plainValue, SEAM_INPUT_REGS, SEAM_OUTPUT_REGS, type EndInfo, type LogicalInputs, type RawDifference, type RunView } from '../src/diff/observe.js';
import { DiffEngine } from '../src/diff/fuzz-engine.js';
import { engineConfig } from '../src/diff/fuzz.js';
import { preparePair } from '../src/diff/matrix.js';
import { resolvePairs } from '../src/diff/pairing.js';
import { DifferenceCollector } from '../src/diff/collect.js';
import { resolveRevision } from '../src/intake/revision.js';
import { loadDisassembler } from '../src/encode/capstone.js';
import { canary } from '../src/run/plan.js';
import { STATUS } from '../src/seam/codes.js';
import type { GprName } from '../src/support/registers.js';
import { ALL_KINDS } from '../src/diff/expect.js';
import { variantsFor } from '../src/diff/fuzz-gen.js';
import { referenceCompareRuns, referenceRunRange } from './support/diff-reference.js';
import { fuzzRuns, fuzzSeed, FUZZ_TIMEOUT_MS } from './support/fuzz-runs.js';
import { makePatch } from './support/patches.js';

const POINTER_LO = 0x7f00_1000n;
/** Values that make every class likely: canaries, statuses, a leaf, pointers, small and large literals. */
const POOL: bigint[] = [
  0n, 1n, 0x22n, 0xffffn, 0x10000n, canary('rcx'), canary('r10'), canary('rax'), canary('r11'),
  STATUS.TDX_SUCCESS, STATUS.TDX_SEAMCALL_VMFAILINVALID, STATUS.TDX_SEAMCALL_UD, 0x8000_0201_0000_0000n,
  POINTER_LO, POINTER_LO + 0x18n, POINTER_LO + 0x100n, 0x9100_0001_0000_0008n, 0xffff_ffff_ffff_ffffn, 0x1234_5678_9abc_def0n,
];
const ENDS: EndInfo[] = [endInfo('returned'), endInfo('returned', { fixupVector: 'UD' }), endInfo('oops', { vector: 'GP' }), endInfo('fault', { access: 'read' }), endInfo('runaway')];
const STACKS = ['balanced', 'RSP off by 8', 'DF set'];
const MEMORY = ['clean', 'stores outside the stack and the structs passed'];
const SAVED = ['', 'rbx', 'rbx r12'];

const value = fc.constantFrom(...POOL);
const slots16 = <T>(arb: fc.Arbitrary<T>) => fc.array(arb, { minLength: 16, maxLength: 16 });

const sideArb = fc.record({
  end: fc.constantFrom(...ENDS),
  calls: fc.integer({ min: 0, max: 3 }),
  regIn: fc.array(slots16(value), { minLength: 3, maxLength: 3 }),
  regAfter: fc.array(slots16(value), { minLength: 3, maxLength: 3 }),
  wrote: slots16(fc.subarray(POOL, { maxLength: 3 })),
  returnValue: value,
  present: slots16(fc.boolean()),
  written: slots16(fc.boolean()),
  output: slots16(value),
  regOut: slots16(value),
  saved: fc.constantFrom(...SAVED),
  stack: fc.constantFrom(...STACKS),
  memory: fc.constantFrom(...MEMORY),
  pointerShift: fc.constantFrom(0n, 0x100n),
  notPassable: slots16(fc.boolean()),
});
type SideData = typeof sideArb extends fc.Arbitrary<infer T> ? T : never;

/** A RunView from generated data (a single run or a batch row answers the same questions). */
function view(d: SideData): RunView {
  return {
    end: d.end, calls: d.calls,
    regIn: (c, s) => d.regIn[c]![s]!,
    regAfterCall: (c, s) => d.regAfter[c]![s]!,
    seamWrote: (v, s) => d.wrote[s]!.includes(v),
    returnValue: d.end.returned ? d.returnValue : undefined,
    outputPresent: (s) => d.present[s]!,
    outputWritten: (s) => d.written[s]!,
    outputValue: (s) => d.output[s]!,
    regOut: (s) => d.regOut[s]!,
    calleeSaved: () => d.saved,
    stack: () => d.stack,
    memory: () => d.memory,
    pointers: [[POINTER_LO + d.pointerShift, POINTER_LO + d.pointerShift + 0x100n]],
    notPassable: (s) => d.notPassable[s]!,
  };
}

const callArb = fc.record({ leaf: value, inputs: slots16(fc.option(value, { nil: undefined, freq: 2 })) });
const regsArb = (regs: readonly GprName[]) => fc.subarray([...regs]);

/** What a caller sees of a difference: every field, and the values' classes and texts read through them. */
function seen(ds: RawDifference[]): unknown[] {
  return ds.map((d) => ({ ...d, a: { ...plainValue(d.a), cls: d.a.cls, text: d.a.text }, b: { ...plainValue(d.b), cls: d.b.cls, text: d.b.text } }));
}

describe('compareRuns (classes first, texts when recorded) agrees with the eager reference', () => {
  it('on generated views: same differences, classes, texts and JSON', () => {
    fc.assert(fc.property(sideArb, sideArb, callArb, regsArb(SEAM_INPUT_REGS), regsArb(SEAM_INPUT_REGS), regsArb(SEAM_OUTPUT_REGS), (da, db, call: LogicalInputs, delA, delB, outs) => {
      const spec = compareSpec(delA, delB, outs);
      const a = view(da);
      const b = view(db);
      const fast: RawDifference[] = [];
      const ref: RawDifference[] = [];
      compareRuns(a, b, call, spec, fast);
      referenceCompareRuns(a, b, call, spec, ref);
      expect(seen(fast)).toEqual(seen(ref));
      expect(JSON.stringify(fast)).toBe(JSON.stringify(ref));
      expect(JSON.stringify(fast.map((d) => [plainValue(d.a), plainValue(d.b)]))).toBe(JSON.stringify(ref.map((d) => [d.a, d.b])));
    }), { numRuns: fuzzRuns(3000), seed: fuzzSeed(20261205) });
  }, FUZZ_TIMEOUT_MS);

  it('on every class the generated views reach (the property above is not vacuous)', () => {
    const classes = new Set<string>();
    fc.assert(fc.property(sideArb, sideArb, callArb, (da, db, call) => {
      const out: RawDifference[] = [];
      compareRuns(view(da), view(db), call, compareSpec(['rcx', 'rdx', 'r10'], ['rcx', 'r8', 'r11'], [...SEAM_OUTPUT_REGS]), out);
      for (const d of out) for (const v of [d.a, d.b]) classes.add(v.cls.startsWith('0x') ? 'literal' : v.cls.replace(/:.*/, ':'));
    }), { numRuns: 1000, seed: 1 });
    for (const c of ['literal', 'input', 'input:', 'leftover:', 'leaf', 'pointer:', 'seam-left:', 'not returned', 'seam', 'not a SEAM value', 'none']) expect(classes).toContain(c);
  });
});

/** A pair's fuzz engine, as `seamlab diff --fuzz` builds it (src/diff/fuzz.ts). */
function engineFor(specA: string, fnA: string, specB: string, fnB: string, seed: number, expected: (v: string, kind: string) => boolean = () => false): DiffEngine {
  const pair = resolvePairs(specA, resolveRevision(specA), specB, resolveRevision(specB), [{ a: { spec: specA, fn: fnA }, b: { spec: specB, fn: fnB } }])[0]!;
  const config = engineConfig(preparePair(pair), seed, new DifferenceCollector(`${specA}=${specB}`, undefined));
  config.expected = variantsFor(config.kind).flatMap((v) => ALL_KINDS.filter((k) => expected(v, k)).map((k) => `${v}\u0000${k}`));
  return new DiffEngine(config);
}

describe('DiffEngine.runRange (signatures without string keys) agrees byte for byte with the reference bookkeeping', () => {
  const TDXCALL = 'arch/x86/virt/vmx/tdx/tdxcall.S';
  const cases: [string, () => DiffEngine][] = [
    // Every row differs (outputs on VMfailInvalid, #UD/#GP, R10/R11 not passable), some pairs muted.
    ['v3 __seamcall ↔ linux-6.12 __seamcall_ret, VMfailInvalid outputs and #UD ends expected', () => engineFor('v3', '__seamcall', 'linux-6.12', '__seamcall_ret', 3, (v, k) => (v === 'vmfailinvalid' && k.startsWith('output.')) || (v === 'ud' && k === 'end'))],
    ['v3 __tdx_module_call ↔ linux-6.12 __tdcall_ret', () => engineFor('v3', '__tdx_module_call', 'linux-6.12', '__tdcall_ret', 5)],
    // Registers the struct has but the function does not load.
    ['linux-6.12 __seamcall_ret ↔ __seamcall_saved_ret', () => engineFor('linux-6.12', '__seamcall_ret', 'linux-6.12', '__seamcall_saved_ret', 11)],
    // The same layout on both sides (equal rows skipped); outputs left in other registers, a muted output.
    ['linux-6.12 __seamcall_saved_ret ↔ a copy storing R11 into args->r10, output.r10 of success expected', () => {
      const patch = makePatch('linux-6.12', TDXCALL, 'cmp-wrong-field', (t) => t.replace(/\n\tmovq %r11, TDX_MODULE_r11\(%rsi\)\n/, '\n\tmovq %r11, TDX_MODULE_r10(%rsi)\n'));
      return engineFor('linux-6.12', '__seamcall_saved_ret', `linux-6.12+${patch}`, '__seamcall_saved_ret', 2, (v, k) => v === 'success' && k === 'output.r10');
    }],
  ];
  for (const [name, make] of cases) {
    it(name, async () => {
      await loadDisassembler();
      const engine = make();
      try {
        // Across a chunk boundary (CHUNK = 1024).
        const fast = engine.runRange(700, 700);
        const ref = referenceRunRange(engine, 700, 700);
        expect(fast.signatures.length).toBeGreaterThan(0);
        expect(JSON.stringify(fast)).toBe(JSON.stringify(ref));
        // Plain data: a worker sends it by structured clone.
        expect(structuredClone(fast)).toEqual(ref);
      } finally {
        engine.close();
      }
    }, 120_000);
  }
});
