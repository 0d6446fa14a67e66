/**
 * `seamlab diff-merge`: combines the JSON reports of the shards of one
 * campaign (`--shard i/n`, same revisions, pairs, seed and case count) into
 * the report one unsharded run gives: differences by id with their
 * occurrences added, the example from a scenario if any, else from the
 * earliest fuzz case; fuzz summaries added up; the matrix rebuilt.
 */
import { readFileSync } from 'node:fs';
import { SeamlabError } from '../errors.js';
import { differenceOrder } from './collect.js';
import { DiffReportSchema, buildMatrix, finishReport, type DiffReport, type Difference, type PairReport } from './report.js';

export function readReport(file: string): DiffReport {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new SeamlabError('DIFF_MERGE_READ', `cannot read ${file}: ${(e as Error).message}`, 'give the files `seamlab diff --json -o FILE --shard i/n` wrote');
  }
  const parsed = DiffReportSchema.safeParse(data);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new SeamlabError('DIFF_MERGE_FORMAT', `${file}: ${i.path.join('.') || '(top level)'}: ${i.message}`, 'merge only seamlab-diff version 1 reports');
  }
  return parsed.data;
}

function better(x: Difference, y: Difference): Difference {
  if (x.example.source !== y.example.source) return x.example.source === 'scenario' ? x : y;
  return (y.example.case ?? Infinity) < (x.example.case ?? Infinity) ? y : x;
}

function mergePair(ps: PairReport[]): PairReport {
  const first = ps[0]!;
  const byId = new Map<string, Difference>();
  const classes: string[] = [];
  const ran = new Set<string>();
  for (const p of ps) {
    for (const c of p.classes) if (!classes.includes(c)) classes.push(c);
    for (const m of p.matrix) if (m.state !== 'not-run') ran.add(m.class);
    for (const d of p.differences) {
      const seen = byId.get(d.id);
      if (!seen) byId.set(d.id, { ...d });
      else byId.set(d.id, { ...better(seen, d), occurrences: seen.occurrences + d.occurrences });
    }
  }
  const differences = [...byId.values()].sort(differenceOrder(classes));
  const scenarios = ps.flatMap((p) => p.scenarios).filter((s, i, all) => all.findIndex((t) => t.name === s.name) === i);
  const fuzzes = ps.flatMap((p) => (p.fuzz ? [p.fuzz] : []));
  const fuzz = fuzzes.length ? {
    seed: fuzzes[0]!.seed,
    cases: fuzzes.reduce((n, f) => n + f.cases, 0), first: Math.min(...fuzzes.map((f) => f.first)),
    variants: fuzzes[0]!.variants,
    pairs: fuzzes.reduce((n, f) => n + f.pairs, 0), failingPairs: fuzzes.reduce((n, f) => n + f.failingPairs, 0),
  } : undefined;
  const alignment = ps.find((p) => p.alignment)?.alignment;
  return {
    a: first.a, b: first.b, classes, groups: first.groups, matrix: buildMatrix(classes, ran, differences), differences, scenarios,
    ...(fuzz ? { fuzz } : {}), ...(alignment ? { alignment } : {}),
  };
}

export function mergeReports(reports: DiffReport[]): DiffReport {
  if (reports.length === 0) throw new SeamlabError('DIFF_MERGE_NONE', 'nothing to merge', 'give the shard reports as arguments');
  const first = reports[0]!;
  for (const r of reports) {
    const same = r.a === first.a && r.b === first.b && r.pairs.length === first.pairs.length && r.pairs.every((p, i) => p.a.label === first.pairs[i]!.a.label && p.b.label === first.pairs[i]!.b.label);
    const fz = (x: DiffReport) => x.pairs.map((p) => p.fuzz ? `${p.fuzz.seed}` : '').join();
    if (!same || fz(r) !== fz(first)) {
      throw new SeamlabError('DIFF_MERGE_MISMATCH', `the reports are not shards of one campaign (${first.a} ↔ ${first.b} vs ${r.a} ↔ ${r.b}, or another seed or pair list)`, 'merge the shards of one `seamlab diff … --fuzz N --seed S --shard i/n` command');
    }
  }
  const shards = reports.flatMap((r) => r.pairs[0]?.fuzz?.shard ? [r.pairs[0].fuzz.shard] : []);
  if (shards.length === reports.length && shards.length > 0) {
    const n = shards[0]!.count;
    const idx = shards.map((s) => s.index).sort((x, y) => x - y);
    if (shards.some((s) => s.count !== n) || idx.some((x, i) => x !== i + 1) || idx.length !== n) {
      throw new SeamlabError('DIFF_MERGE_SHARDS', `expected shards 1..${n} once each, got ${idx.join(', ')}`, 'merge every shard of the campaign exactly once');
    }
  }
  const pairs = first.pairs.map((_, i) => mergePair(reports.map((r) => r.pairs[i]!)));
  const unused = first.unusedRules.filter((u) => reports.every((r) => r.unusedRules.includes(u)));
  return finishReport({ format: first.format, version: first.version, a: first.a, b: first.b, ...(first.expectFile ? { expectFile: first.expectFile } : {}), unusedRules: unused, pairs });
}
