/**
 * A differential fuzz campaign for one pair (`seamlab diff --fuzz N --seed S`):
 * the case range (the whole campaign, or one shard's part) split across
 * worker threads, each running batches on both sides; the differences
 * reduced to signatures (class × observation); for each, the earliest case
 * shrunk with fast-check to a minimal logical call, printed as a scenario
 * file and re-run in single mode for the source lines that explain it.
 *
 * The result does not depend on --jobs or on how shards split the range:
 * signatures are merged by earliest case, and shrinking starts from it.
 */
import { availableParallelism } from 'node:os';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { scenarioFromObject } from '../seam/scenario-file.js';
import { caseScenarioFile, variantsFor, type FuzzCase } from './fuzz-gen.js';
import { CHUNK, chunkSeed, DiffEngine, mergeRanges, type EngineConfig, type RangeResult, type Signature } from './fuzz-engine.js';
import type { DifferenceCollector } from './collect.js';
import { compareRuns, groupOf, type RawDifference } from './observe.js';
import type { PreparedPair } from './matrix.js';
import type { FuzzSummary } from './report.js';
import { runSingle } from './single.js';
import { runWorkers } from './workers.js';
import { ALL_KINDS } from './expect.js';

export interface FuzzOptions {
  /** Cases in the whole campaign (each runs once per variant). */
  cases: number;
  seed: number;
  /** Worker threads (default: the number of cores; 1 runs in this thread). */
  jobs?: number;
  /** Run only part i of n of the cases (1-based), for a CI matrix; merge the JSON reports with `seamlab diff-merge`. */
  shard?: { index: number; count: number };
  /** Called as cases complete (for a progress bar). */
  progress?: (done: number, total: number) => void;
}

export interface FuzzResult {
  summary: FuzzSummary;
  /** Classes (variants) the campaign ran, in variant order. */
  classes: string[];
}

/** The cases [first, first + count) of shard `index` of `count`: contiguous, sizes differing by at most one. */
export function shardRange(cases: number, shard?: { index: number; count: number }): { first: number; count: number } {
  if (!shard) return { first: 0, count: cases };
  const per = Math.floor(cases / shard.count);
  const extra = cases % shard.count;
  const i = shard.index - 1;
  const first = i * per + Math.min(i, extra);
  return { first, count: per + (i < extra ? 1 : 0) };
}

/** Both sides pass and restore RBX, RSI, RDI and R12–R15 (the `saved` variants): outputs may go there. */
export function extendedOutputs(p: PreparedPair): boolean {
  return ['rbx', 'rsi', 'rdi', 'r12', 'r13', 'r14', 'r15'].every((r) => p.a.delivers.includes(r) && p.b.delivers.includes(r));
}

export function engineConfig(p: PreparedPair, seed: number, collector: DifferenceCollector): EngineConfig {
  const kind = p.pair.a.fn.kind;
  const expected: string[] = [];
  for (const v of variantsFor(kind)) for (const k of ALL_KINDS) if (collector.isExpected(v, k)) expected.push(`${v}\u0000${k}`);
  const side = (s: PreparedPair['pair']['a']) => ({ label: s.label, image: s.image, fn: { name: s.fn.name, kind: s.fn.kind, abi: s.fn.abi } });
  return { a: side(p.pair.a), b: side(p.pair.b), spec: p.spec, kind, extended: extendedOutputs(p), seed, expected };
}

/** The fast-check value of campaign case `index`, shrunk while (variant, observation, call) still differs. */
function shrink(engine: DiffEngine, seed: number, sig: Signature): { value: FuzzCase; shrinks: number } {
  const k = Math.floor(sig.firstCase / CHUNK);
  const fails = (c: FuzzCase) => engine.runOne(c, sig.variant).some((d) => d.kind === sig.kind && (d.call ?? 0) === (sig.call ?? 0));
  const r = fc.check(fc.property(engine.arb, (c) => !fails(c)), { seed: chunkSeed(seed, k), path: String(sig.firstCase - k * CHUNK), numRuns: 1 });
  if (!r.failed || !r.counterexample) {
    // Not reproduced alone (it needed the batch around it): keep the case as generated.
    const value = fc.sample(engine.arb, { seed: chunkSeed(seed, k), path: String(sig.firstCase - k * CHUNK), numRuns: 1 })[0]!;
    return { value, shrinks: 0 };
  }
  return { value: r.counterexample[0], shrinks: r.numShrinks };
}

export async function runFuzz(p: PreparedPair, collector: DifferenceCollector, opts: FuzzOptions): Promise<FuzzResult> {
  const kind = p.pair.a.fn.kind;
  const variants = variantsFor(kind);
  const { first, count } = shardRange(opts.cases, opts.shard);
  const config = engineConfig(p, opts.seed, collector);
  const jobs = Math.max(1, Math.min(opts.jobs ?? availableParallelism(), Math.ceil(count / CHUNK)));
  let result: RangeResult;
  const engine = new DiffEngine(config);
  try {
    if (jobs === 1 || count === 0) {
      result = engine.runRange(first, count, (done) => opts.progress?.(done, count));
    } else {
      result = mergeRanges(await runWorkers(config, first, count, jobs, (done) => opts.progress?.(done, count), engine));
    }
    const sigs = result.signatures.sort((x, y) => x.firstCase - y.firstCase || variants.indexOf(x.variant) - variants.indexOf(y.variant) || ALL_KINDS.indexOf(x.kind) - ALL_KINDS.indexOf(y.kind));
    for (const sig of sigs) {
      const raw: RawDifference = { kind: sig.kind, group: groupOf(sig.kind), ...(sig.call ? { call: sig.call } : {}), a: sig.a, b: sig.b };
      if (collector.has(sig.cls, raw)) {
        // A scenario of the matrix already shows it (with its source lines): count the fuzz pairs too.
        collector.add(sig.cls, raw, { source: 'fuzz', scenario: '' }, undefined, sig.count);
        continue;
      }
      const { value } = shrink(engine, opts.seed, sig);
      const name = `fuzz-${opts.seed}-${sig.firstCase}-${sig.variant}`;
      const summary = `${sig.kind} differs (${sig.variant}): shrunk from case ${sig.firstCase} of seed ${opts.seed}`;
      const file = caseScenarioFile(value, sig.variant, kind, name, summary);
      const yaml = stringify(file, { lineWidth: 0 });
      const scenario = await scenarioFromObject(file, `${name}.yaml`);
      const ra = runSingle(p.pair.a, scenario);
      const rb = runSingle(p.pair.b, scenario);
      const single: RawDifference[] = [];
      compareRuns(ra.view, rb.view, ra.call, p.spec, single);
      const confirmed = single.find((d) => d.kind === sig.kind && (d.call ?? 0) === (sig.call ?? 0));
      const example = { source: 'fuzz' as const, scenario: name, case: sig.firstCase, variant: sig.variant, yaml, confirmed: confirmed !== undefined };
      if (confirmed) collector.add(sig.cls, confirmed, example, (s, x) => (s === 'a' ? ra : rb).view.evidence(x.kind, x.call ?? 0), sig.count);
      else collector.add(sig.cls, raw, example, undefined, sig.count);
    }
  } finally {
    engine.close();
  }
  return {
    summary: {
      seed: opts.seed, cases: count, first, variants, pairs: result.pairs, failingPairs: result.failingPairs,
      ...(opts.shard ? { shard: opts.shard } : {}),
    },
    classes: variants,
  };
}
