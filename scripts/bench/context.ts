/**
 * What every group of benchmark rows shares: the temporary directory, the
 * tools found, the process runner, the bundled in-process worker, the
 * harness image, and how rows are made. A group is a function from this
 * context to rows (scripts/bench/groups-*.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { HarnessImage } from './harness.js';
import { stat, type ProcessRunner, type Tools } from './host.js';
import type { BenchRow, Unit } from './schema.js';

export interface BenchContext {
  root: string;
  /** Temporary directory of this run (removed at the end). */
  dir: string;
  tools: Tools;
  runner: ProcessRunner;
  /** Repetitions per row (a few slow rows use fewer). */
  reps: number;
  /** --quick: smaller counts, for trying the benchmark out. */
  quick: boolean;
  /** dist/seamlab.js. */
  cli: string;
  /** The bundled worker (scripts/bench/worker.ts). */
  worker: string;
  harness: HarnessImage;
  /** Compiled reference programs (undefined: not available, with the reason in `missing`). */
  native?: string;
  unicornLimit?: string;
  python?: string;
  /** Why a reference program is missing, by name. */
  missing: Record<string, string>;
  log(line: string): void;
}

/** The worker's answer: samples in the row's unit and its peak RSS. */
export interface WorkerResult {
  samples: number[];
  rssMb: number;
  [extra: string]: unknown;
}

/** Runs one worker task in a process of its own (optionally under a prefix such as taskset). */
export function runWorker(ctx: BenchContext, task: string, args: Record<string, unknown>, prefix: [string, string[]] | undefined = undefined): WorkerResult {
  const argv = [ctx.worker, task, JSON.stringify(args)];
  const [cmd, cmdArgs] = prefix ? [prefix[0], [...prefix[1], process.execPath, ...argv]] : [process.execPath, argv];
  const r = spawnSync(cmd, cmdArgs, { cwd: ctx.root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`bench worker ${task} failed (${r.status ?? r.signal}):\n${(r.stderr || '').trim().slice(-3000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as WorkerResult;
}

/** A directory inside the run's temporary directory. */
export function subdir(ctx: BenchContext, name: string): string {
  const d = join(ctx.dir, name);
  mkdirSync(d, { recursive: true });
  return d;
}

/** A measured row. */
export function row(id: string, group: string, label: string, unit: Unit, samples: number[], peakRssMb: number | null, note?: string): BenchRow {
  return { id, group, label, unit, status: 'ok', value: stat(samples), peakRssMb, ...(note ? { note } : {}) };
}

/** A row that could not be measured here, saying why (and what to install). */
export function unavailable(id: string, group: string, label: string, unit: Unit, reason: string): BenchRow {
  return { id, group, label, unit, status: 'unavailable', reason };
}

/** One measurement of an interleaved set: made ready once, then measured once per round. */
export interface Measure {
  id: string;
  group: string;
  label: string;
  unit: Unit;
  note?: string;
  /** Why it cannot be measured here (then it is an unavailable row). */
  missing?: string;
  /** Untimed preparation (and warm-up); returns the function that measures one repetition. */
  prepare(): () => { value: number; rssMb: number | null };
  /** Removes what prepare made. */
  cleanup?(): void;
}

/**
 * Measures several rows in rounds — each round measures every row once — so
 * that the ratios between them see the same background load (a shared
 * machine's load changes over minutes). A row that fails is unavailable with
 * the reason; the others go on.
 */
export function interleaved(ctx: BenchContext, measures: Measure[], reps: number): BenchRow[] {
  const live: { m: Measure; once: () => { value: number; rssMb: number | null }; samples: number[]; rss: number | null }[] = [];
  const failed = new Map<string, string>();
  const fail = (m: Measure, e: unknown) => {
    const reason = `failed: ${(e instanceof Error ? e.message : String(e)).split('\n').slice(0, 3).join(' / ')}`;
    ctx.log(`  ${m.id}: ${reason}`);
    failed.set(m.id, reason);
  };
  for (const m of measures) {
    if (m.missing) continue;
    try {
      live.push({ m, once: m.prepare(), samples: [], rss: null });
    } catch (e) {
      fail(m, e);
    }
  }
  try {
    for (let i = 0; i < reps; i++) {
      for (const l of live) {
        if (failed.has(l.m.id)) continue;
        try {
          const r = l.once();
          l.samples.push(r.value);
          if (r.rssMb !== null) l.rss = Math.max(l.rss ?? 0, r.rssMb);
        } catch (e) {
          fail(l.m, e);
        }
      }
    }
  } finally {
    for (const m of measures) {
      try {
        m.cleanup?.();
      } catch {
        // a temporary directory removed already
      }
    }
  }
  return measures.map((m) => {
    if (m.missing) return unavailable(m.id, m.group, m.label, m.unit, m.missing);
    const reason = failed.get(m.id);
    if (reason) return unavailable(m.id, m.group, m.label, m.unit, reason);
    const l = live.find((x) => x.m === m)!;
    return row(m.id, m.group, m.label, m.unit, l.samples, l.rss, m.note);
  });
}

/** Runs `measure` and turns an exception into an unavailable row (the rest of the benchmark goes on). */
export function guarded(id: string, group: string, label: string, unit: Unit, ctx: BenchContext, measure: () => BenchRow): BenchRow {
  try {
    return measure();
  } catch (e) {
    const reason = `failed: ${(e instanceof Error ? e.message : String(e)).split('\n').slice(0, 3).join(' / ')}`;
    ctx.log(`  ${id}: ${reason}`);
    return unavailable(id, group, label, unit, reason);
  }
}

/** Same, for measurements that await. */
export async function guardedAsync(id: string, group: string, label: string, unit: Unit, ctx: BenchContext, measure: () => Promise<BenchRow>): Promise<BenchRow> {
  try {
    return await measure();
  } catch (e) {
    const reason = `failed: ${(e instanceof Error ? e.message : String(e)).split('\n').slice(0, 3).join(' / ')}`;
    ctx.log(`  ${id}: ${reason}`);
    return unavailable(id, group, label, unit, reason);
  }
}
