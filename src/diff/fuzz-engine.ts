/**
 * The differential fuzz engine of one pair: both sides' batch machines, the
 * case generator, and a range of cases run as batches and compared row by
 * row, the differences reduced to signatures (class × observation) with a
 * count and the first case that showed each. Runs in the main thread or in
 * a worker (src/diff/worker.ts) — plain data in, plain data out.
 *
 * Reproducibility: case i of seed S is value (i mod CHUNK) of fast-check's
 * run with seed chunkSeed(S, ⌊i / CHUNK⌋), so any range (a worker's, a
 * shard's) is generated without generating what comes before it, and
 * `fc.check(…, { seed, path })` replays and shrinks one case.
 */
import fc from 'fast-check';
import type { CpuEnv, Outcome, SeamKind } from '../seam/types.js';
import { GPR_NAMES } from '../support/registers.js';
import { caseArbitrary, variantPlan, variantsFor, type FuzzCase, type Variant } from './fuzz-gen.js';
import { BatchRowView, SideBatch, type BatchSide, type RowCall } from './fuzz-batch.js';
import { asCpuApplies, environmentFault } from '../seam/env.js';
import { loadBatchHooks } from '../machine/native-batch.js';
import { ScriptTable } from '../machine/script-table.js';
import { compareRuns, plainValue, type CompareSpec, type LogicalInputs, type ObsValue, type RawDifference } from './observe.js';

/** Cases per fast-check run (and per batch). */
export const CHUNK = 1024;

/** The fast-check seed of chunk `k` of a campaign with seed `seed` (a 32-bit integer mix). */
export function chunkSeed(seed: number, k: number): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(k + 1, 0x85ebca77)) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) | 0;
}

export type EngineSide = BatchSide;

export interface EngineConfig {
  a: EngineSide;
  b: EngineSide;
  spec: CompareSpec;
  kind: SeamKind;
  /** Both sides pass and restore RBX, RSI, RDI, R12–R15: random outputs may go there. */
  extended: boolean;
  seed: number;
  /** Observation × class pairs the expected-differences file mutes, as "class\0kind". */
  expected: string[];
}

export interface Signature {
  cls: string;
  kind: string;
  call?: number;
  count: number;
  firstCase: number;
  variant: Variant;
  a: ObsValue;
  b: ObsValue;
}

export interface RangeResult {
  signatures: Signature[];
  cases: number;
  pairs: number;
  failingPairs: number;
}

export function signatureKey(cls: string, kind: string, call?: number): string {
  return `${cls}\u0000${kind}\u0000${call ?? 0}`;
}

/** fast-check's cases [start, start + n) of chunk `k` (start + n ≤ CHUNK). */
export function chunkCases(arb: fc.Arbitrary<FuzzCase>, seed: number, k: number, start: number, n: number): FuzzCase[] {
  return fc.sample(arb, { seed: chunkSeed(seed, k), path: String(start), numRuns: n });
}

function logical(c: FuzzCase, into: LogicalInputs): LogicalInputs {
  into.leaf = c.leaf;
  into.inputs.fill(undefined);
  for (const [r, v] of c.inputs) into.inputs[GPR_NAMES.indexOf(r)] = v;
  return into;
}

export class DiffEngine {
  readonly a: SideBatch;
  readonly b: SideBatch;
  readonly arb: fc.Arbitrary<FuzzCase>;
  readonly variants: Variant[];
  private readonly va: BatchRowView;
  private readonly vb: BatchRowView;
  private readonly expected: Set<string>;
  /** Every row's answers, for the native traps of both sides (undefined: the sides answer in JavaScript). */
  private readonly table: ScriptTable | undefined;
  /** What each CPU environment raises (variantPlan hands out a few shared environment objects). */
  private readonly envFaults = new Map<CpuEnv, Outcome | undefined>();
  /** Both sides lay rows out alike: a row pair with equal bytes has no difference (the fast path). */
  private readonly sameLayout: boolean;

  constructor(readonly config: EngineConfig, capacityCases = CHUNK) {
    this.variants = variantsFor(config.kind);
    const rows = capacityCases * this.variants.length;
    this.table = loadBatchHooks().ok ? new ScriptTable(rows) : undefined;
    this.a = new SideBatch(config.a, rows, this.table);
    this.b = new SideBatch(config.b, rows, this.table);
    this.va = new BatchRowView(this.a);
    this.vb = new BatchRowView(this.b);
    this.arb = caseArbitrary(config.kind, config.extended);
    this.expected = new Set(config.expected);
    this.sameLayout = this.a.sameLayout(this.b);
  }

  close(): void {
    this.a.close();
    this.b.close();
  }

  /**
   * Runs `cases` (each once per variant) on both sides and calls `visit`
   * for every row pair with its differences (none: not called).
   */
  runCases(cases: readonly FuzzCase[], visit: (caseIndex: number, variant: Variant, diffs: RawDifference[]) => void, variants: readonly Variant[] = this.variants): void {
    const calls: LogicalInputs[] = [];
    let row = 0;
    for (const c of cases) {
      const call = logical(c, { leaf: 0n, inputs: new Array<bigint | undefined>(16) });
      calls.push(call);
      const regs = c.outputs.length ? Object.fromEntries(c.outputs) : undefined;
      for (const v of variants) {
        const plan = variantPlan(c, v, this.config.kind, regs);
        const env = plan.env;
        // As the CPU applies them (a TDCALL return keeps the TD's RFLAGS), as a single run's handler does (src/seam/env.ts).
        const script = this.config.kind === 'tdcall' ? plan.script.map((o) => asCpuApplies('tdcall', o)) : plan.script;
        let envFault = this.envFaults.get(env);
        if (envFault === undefined && !this.envFaults.has(env)) this.envFaults.set(env, (envFault = environmentFault(this.config.kind, env)));
        const rc: RowCall = { call, script, env, envFault };
        this.table?.encode(row, script, rc.envFault);
        this.a.fill(row, rc);
        this.b.fill(row, rc);
        row++;
      }
    }
    this.a.run(row);
    this.b.run(row);
    const diffs: RawDifference[] = [];
    row = 0;
    for (let i = 0; i < cases.length; i++) {
      for (const v of variants) {
        if (this.sameLayout && this.a.sameRow(this.b, row)) {
          row++;
          continue;
        }
        this.va.row = row;
        this.vb.row = row;
        diffs.length = 0;
        compareRuns(this.va, this.vb, calls[i]!, this.config.spec, diffs);
        if (diffs.length) visit(i, v, diffs);
        row++;
      }
    }
  }

  /** The differences of one case run as one variant. */
  runOne(c: FuzzCase, variant: Variant): RawDifference[] {
    let out: RawDifference[] = [];
    this.runCases([c], (_i, _v, d) => { out = [...d]; }, [variant]);
    return out;
  }

  isExpected(cls: string, kind: string): boolean {
    return this.expected.has(`${cls}\u0000${kind}`);
  }

  /** Runs cases [first, first + count) of the campaign. */
  runRange(first: number, count: number, progress?: (cases: number) => void): RangeResult {
    // Signatures in order of first occurrence, found per (variant, observation, call) without building a key per difference.
    const list: Signature[] = [];
    const byVariant = new Map<Variant, Map<string, KindSignatures>>();
    let pairs = 0;
    let failing = 0;
    let done = 0;
    for (let i = first; i < first + count;) {
      const k = Math.floor(i / CHUNK);
      const start = i - k * CHUNK;
      const n = Math.min(CHUNK - start, first + count - i);
      const cases = chunkCases(this.arb, this.config.seed, k, start, n);
      this.runCases(cases, (ci, variant, diffs) => {
        let kinds = byVariant.get(variant);
        if (!kinds) byVariant.set(variant, (kinds = new Map<string, KindSignatures>()));
        let unexpected = false;
        for (const d of diffs) {
          let ks = kinds.get(d.kind);
          if (!ks) kinds.set(d.kind, (ks = { expected: this.isExpected(variant, d.kind), byCall: [] }));
          const s = ks.byCall[d.call ?? 0];
          if (s) s.count++;
          else {
            const sig: Signature = { cls: variant, kind: d.kind, ...(d.call ? { call: d.call } : {}), count: 1, firstCase: i + ci, variant, a: plainValue(d.a), b: plainValue(d.b) };
            ks.byCall[d.call ?? 0] = sig;
            list.push(sig);
          }
          if (!ks.expected) unexpected = true;
        }
        if (unexpected) failing++;
      });
      pairs += n * this.variants.length;
      i += n;
      done += n;
      progress?.(done);
    }
    return { signatures: list, cases: count, pairs, failingPairs: failing };
  }
}

/** One observation of one variant in a range: muted or not, and its signature per SEAM call (`signatureKey`'s call). */
interface KindSignatures {
  expected: boolean;
  byCall: Signature[];
}

/** Merges range results (workers, shards): counts add up, the earliest case of each signature wins. */
export function mergeRanges(results: readonly RangeResult[]): RangeResult {
  const sigs = new Map<string, Signature>();
  let cases = 0;
  let pairs = 0;
  let failing = 0;
  for (const r of results) {
    cases += r.cases;
    pairs += r.pairs;
    failing += r.failingPairs;
    for (const s of r.signatures) {
      const key = signatureKey(s.cls, s.kind, s.call);
      const seen = sigs.get(key);
      if (!seen) sigs.set(key, { ...s });
      else {
        seen.count += s.count;
        if (s.firstCase < seen.firstCase) Object.assign(seen, { firstCase: s.firstCase, variant: s.variant, a: s.a, b: s.b });
      }
    }
  }
  return { signatures: [...sigs.values()], cases, pairs, failingPairs: failing };
}
