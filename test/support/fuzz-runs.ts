/**
 * How many inputs a fuzz test tries (issue 18 item 11): a short run with a
 * fixed seed in `npm test`; `SEAMLAB_FUZZ_LONG=1` runs at least 100,000
 * inputs per front end (SEAMLAB_FUZZ_RUNS sets any count,
 * SEAMLAB_FUZZ_SEED another seed).
 */
export const FUZZ_LONG = process.env.SEAMLAB_FUZZ_LONG !== undefined && process.env.SEAMLAB_FUZZ_LONG !== '' && process.env.SEAMLAB_FUZZ_LONG !== '0';

/** Inputs per property: `short` normally, 100,000 in the long run. */
export function fuzzRuns(short: number): number {
  if (process.env.SEAMLAB_FUZZ_RUNS) return Number(process.env.SEAMLAB_FUZZ_RUNS);
  return FUZZ_LONG ? 100_000 : short;
}

export function fuzzSeed(fixed: number): number {
  return process.env.SEAMLAB_FUZZ_SEED !== undefined ? Number(process.env.SEAMLAB_FUZZ_SEED) : fixed;
}

/** A test timeout fit for the run: the long run takes minutes. */
export const FUZZ_TIMEOUT_MS = FUZZ_LONG ? 3_600_000 : 120_000;
