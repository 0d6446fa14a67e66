/**
 * `seamlab diff` as a library call: resolve both revisions and the pairs,
 * run the scenario matrix (single mode, with source lines), optionally a
 * differential fuzz campaign (batch mode, shrunk counterexamples) and a
 * trace alignment, and return the plain-data report.
 */
import { loadDisassembler } from '../encode/capstone.js';
import { resolveRevision } from '../intake/revision.js';
import { BUILTIN_SCENARIOS } from '../seam/builtin-scenarios.js';
import type { Scenario } from '../seam/scenario.js';
import { alignPair } from './align.js';
import { DifferenceCollector } from './collect.js';
import type { Expectations } from './expect.js';
import { runFuzz, type FuzzOptions } from './fuzz.js';
import { preparePair, runScenarioMatrix } from './matrix.js';
import { OBSERVATION_GROUPS } from './observe.js';
import { resolvePairs, type PairRequest } from './pairing.js';
import { buildMatrix, DIFF_FORMAT, DIFF_VERSION, finishReport, type DiffReport, type PairReport, type ScenarioRun } from './report.js';

export interface DiffOptions {
  a: string;
  b: string;
  pairs?: PairRequest[];
  /** Scenarios of the matrix (default: the built-ins that apply). */
  scenarios?: readonly Scenario[];
  expect?: Expectations;
  fuzz?: FuzzOptions;
  /** Align both traces of this scenario. */
  align?: Scenario;
  profile?: string;
  budget?: number;
  timeLimitMs?: number;
}

export async function runDiff(opts: DiffOptions): Promise<DiffReport> {
  await loadDisassembler();
  const revA = resolveRevision(opts.a);
  const revB = resolveRevision(opts.b);
  const pairs = resolvePairs(opts.a, revA, opts.b, revB, opts.pairs ?? [], opts.profile);
  const scenarios = opts.scenarios ?? BUILTIN_SCENARIOS;
  // A shard other than the first runs only its part of the campaign: the scenario matrix is the first shard's.
  const withMatrix = !opts.fuzz?.shard || opts.fuzz.shard.index === 1;
  const used = new Set<string>();
  const reports: PairReport[] = [];
  for (const pair of pairs) {
    const prepared = preparePair(pair);
    const collector = new DifferenceCollector(prepared.label, opts.expect);
    const runs: ScenarioRun[] = withMatrix ? runScenarioMatrix(prepared, scenarios, collector, opts) : [];
    const classes = runs.filter((r) => r.ran).map((r) => r.class);
    const fuzz = opts.fuzz ? await runFuzz(prepared, collector, opts.fuzz) : undefined;
    for (const c of fuzz?.classes ?? []) if (!classes.includes(c)) classes.push(c);
    const ran = new Set(classes);
    const differences = collector.list(classes);
    for (const r of collector.usedRules) used.add(r);
    const alignment = opts.align ? await alignPair(pair, opts.align, opts) : undefined;
    reports.push({
      a: prepared.a, b: prepared.b, classes, groups: [...OBSERVATION_GROUPS],
      matrix: buildMatrix(classes, ran, differences), differences, scenarios: runs,
      ...(fuzz ? { fuzz: fuzz.summary } : {}), ...(alignment ? { alignment } : {}),
    });
  }
  return finishReport({
    format: DIFF_FORMAT, version: DIFF_VERSION, a: opts.a, b: opts.b,
    ...(opts.expect ? { expectFile: opts.expect.file } : {}),
    unusedRules: (opts.expect?.rules ?? []).filter((r) => !used.has(r.at)).map((r) => `${r.at} (${r.observation.join(' ')} × ${r.class.join(' ')})`),
    pairs: reports,
  });
}
