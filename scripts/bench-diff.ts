/**
 * Benchmark for `seamlab diff --fuzz` (prints figures and ratios; nothing here
 * is a test). Run with: npx tsx scripts/bench-diff.ts [cases] [jobs]
 *
 * A differential pair is one generated logical call run under one outcome
 * class on both sides (batch mode, asm/diff-driver.S) and compared. For two
 * pairs of entry points — a revision against itself (the regression-check
 * case: rows are compared as bytes) and v3's R0 `__seamcall` against 6.12's
 * `__seamcall_ret` (every row differs, every row is classified) — it measures:
 *
 * 1. one core: the fuzz engine in this thread, warm (pairs per wall second and
 *    per CPU second: on a shared machine the CPU figure is the per-core one);
 * 2. --jobs = cores: the same cases across worker threads, cold (worker start,
 *    image transfer and machine set-up included), and the ratio to 1.
 *
 * The load average is printed: other processes on the machine slow every figure.
 */
import { availableParallelism, loadavg } from 'node:os';
import { loadDisassembler } from '../src/encode/capstone.js';
import { resolveRevision } from '../src/intake/revision.js';
import { preparePair } from '../src/diff/matrix.js';
import { resolvePairs } from '../src/diff/pairing.js';
import { DiffEngine, mergeRanges } from '../src/diff/fuzz-engine.js';
import { engineConfig } from '../src/diff/fuzz.js';
import { DifferenceCollector } from '../src/diff/collect.js';
import { runWorkers } from '../src/diff/workers.js';

const CASES = Number(process.argv[2] ?? 20_000);
const JOBS = Number(process.argv[3] ?? availableParallelism());

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function timed<T>(f: () => T): { value: T; wallMs: number; cpuMs: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = f();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { value, wallMs, cpuMs: (c.user + c.system) / 1000 };
}

async function timedAsync<T>(f: () => Promise<T>): Promise<{ value: T; wallMs: number; cpuMs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { value, wallMs, cpuMs: (c.user + c.system) / 1000 };
}

await loadDisassembler();
console.log(`seamlab diff fuzz benchmark: ${fmt(CASES)} cases per measurement, --jobs ${JOBS} (${availableParallelism()} cores); load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
const rows: string[][] = [];
for (const [a, fa, b, fb] of [['linux-6.12', '__seamcall_ret', 'linux-6.12', '__seamcall_ret'], ['v3', '__seamcall', 'linux-6.12', '__seamcall_ret']] as const) {
  const pair = resolvePairs(a, resolveRevision(a), b, resolveRevision(b), [{ a: { spec: a, fn: fa }, b: { spec: b, fn: fb } }])[0]!;
  const prepared = preparePair(pair);
  const config = engineConfig(prepared, 1, new DifferenceCollector(prepared.label, undefined));
  const engine = new DiffEngine(config);
  engine.runRange(0, 2048); // warm-up: JIT, translation cache
  const one = timed(() => engine.runRange(0, CASES));
  engine.close();
  const many = await timedAsync(async () => mergeRanges(await runWorkers(config, 0, CASES, JOBS)));
  const pairs = one.value.pairs;
  if (many.value.pairs !== pairs) throw new Error(`workers ran ${many.value.pairs} pairs, one thread ${pairs}`);
  const onePerSec = (pairs / one.wallMs) * 1000;
  const manyPerSec = (pairs / many.wallMs) * 1000;
  rows.push([`${a}:${fa} ↔ ${b}:${fb}`, fmt(pairs), fmt(onePerSec), fmt((pairs / one.cpuMs) * 1000), fmt(manyPerSec), fmt((pairs / many.cpuMs) * 1000), `${(manyPerSec / onePerSec).toFixed(2)}×`]);
}
// With idle cores, "jobs ÷ 1" approaches --jobs; on a busy machine the wall figure cannot, and the per-CPU-second
// figures show whether the work itself scales (equal per-CPU-second rates: no cost added by splitting it).
const head = ['pair', 'pairs', '1 core /s (wall)', '1 core /CPU-s', `--jobs ${JOBS} /s (wall, cold)`, `--jobs ${JOBS} /CPU-s`, `jobs ÷ 1 (wall)`];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
for (const r of [head, ...rows]) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
console.log(`load average after: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
