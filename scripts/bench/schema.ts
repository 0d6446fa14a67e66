/**
 * The benchmark's results document, bench-results.json: `format:
 * "seamlab-bench", version: 1`. One row per measurement (the median of its
 * repetitions with min and max, and the peak RSS of the process measured),
 * grouped as the table prints them; the targets as ratios measured in the
 * same run. scripts/bench.ts writes it, scripts/bench-readme.ts turns it
 * into the README's performance section. Bump BENCH_VERSION when a field
 * changes meaning.
 */
import { z } from 'zod';

export const BENCH_FORMAT = 'seamlab-bench';
export const BENCH_VERSION = 1;

/** A measurement over repetitions, in the row's unit. */
export const statSchema = z.object({
  median: z.number(),
  min: z.number(),
  max: z.number(),
  /** Every repetition, in the order measured. */
  samples: z.array(z.number()).min(1),
});
export type Stat = z.infer<typeof statSchema>;

export const UNITS = ['calls/s', 'insns/s', 'pairs/s', 'ms', 's'] as const;
export type Unit = (typeof UNITS)[number];

/** Throughputs are better higher, times lower. */
export function higherIsBetter(unit: Unit): boolean {
  return unit.endsWith('/s');
}

export const rowSchema = z.object({
  /** Stable identifier (targets and comparisons name rows by it). */
  id: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/),
  group: z.string(),
  label: z.string(),
  unit: z.enum(UNITS),
  status: z.enum(['ok', 'unavailable']),
  /** Why a row is unavailable (what to install, what is missing). */
  reason: z.string().optional(),
  value: statSchema.optional(),
  /** Peak resident set size of the process that was measured, MB (null: not measurable here). */
  peakRssMb: z.number().nullable().optional(),
  /** What was run, in a few words (sizes, counts). */
  note: z.string().optional(),
  /** Ratios to other rows of the same unit: this row's median ÷ that row's. */
  versus: z.array(z.object({ row: z.string(), ratio: z.number() })).optional(),
});
export type BenchRow = z.infer<typeof rowSchema>;

export const targetSchema = z.object({
  id: z.string(),
  /** What is compared, e.g. "batch ÷ best Python harness". */
  description: z.string(),
  /** The measured ratio (null when a row it needs is unavailable). */
  ratio: z.number().nullable(),
  comparison: z.enum(['>=', '<=']),
  target: z.number(),
  /** What `ratio` and `target` are: a ratio (the default), seconds, or pairs per second. */
  unit: z.enum(['ratio', 's', 'pairs/s']).optional(),
  met: z.boolean().nullable(),
});
export type BenchTarget = z.infer<typeof targetSchema>;

export const machineSchema = z.object({
  cpu: z.string(),
  cores: z.number().int(),
  memoryGb: z.number(),
  os: z.string(),
  node: z.string(),
  unicorn: z.string().optional(),
  /** 1-minute load average when the benchmark started and ended: other work on the machine shows here. */
  loadStart: z.number(),
  loadEnd: z.number(),
});

export const startupSchema = z.object({
  /** Bundle files `node dist/seamlab.js COMMAND` loads before the command's action runs (--version loads fewer). */
  files: z.number().int(),
  bytes: z.number().int(),
  packages: z.array(z.string()),
  modules: z.number().int(),
});

export const benchResultsSchema = z.object({
  format: z.literal(BENCH_FORMAT),
  version: z.literal(BENCH_VERSION),
  machine: machineSchema,
  /** Default repetitions per row (some rows use fewer; each row's samples say how many). */
  repetitions: z.number().int(),
  elapsedSeconds: z.number(),
  startup: startupSchema.optional(),
  rows: z.array(rowSchema),
  targets: z.array(targetSchema),
});
export type BenchResults = z.infer<typeof benchResultsSchema>;
