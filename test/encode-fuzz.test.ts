/**
 * Encoder differential fuzz: ≥ 20,000 random AT&T instructions (the kernel
 * x86-64 subset, test/support/encode-grammar.ts) encoded by seamlab and by
 * GNU as + ld, compared byte for byte. Fixed seed under CI, random locally
 * (the seed is printed; SEAMLAB_FUZZ_SEED=<n> reproduces a run,
 * SEAMLAB_FUZZ_COUNT=<n> changes the size).
 */
import { describe, expect, it } from 'vitest';
import { hasCommand, IN_CI, requireOracle } from './support/oracles.js';
import { runEncoderFuzz, type FuzzCase } from './support/encode-fuzz.js';

const haveBinutils = hasCommand('as') && hasCommand('ld') && hasCommand('nm') && hasCommand('objcopy');
const enabled = requireOracle('GNU binutils (as, ld, nm, objcopy)', haveBinutils, 'apt-get install binutils');

const CI_SEED = 0x5ea71ab;
const seed = process.env.SEAMLAB_FUZZ_SEED !== undefined
  ? Number(process.env.SEAMLAB_FUZZ_SEED)
  : IN_CI ? CI_SEED : Math.floor(Math.random() * 0x7fffffff);
const count = Number(process.env.SEAMLAB_FUZZ_COUNT ?? 20_000);

/**
 * Forms GNU as accepts that seamlab reports as unsupported, each with why.
 * Empty: every generated instruction GNU as accepts is encoded.
 */
const JUSTIFIED_UNSUPPORTED: { code: string; pattern: RegExp; why: string }[] = [];

const show = (c: FuzzCase) => `  ${c.text.padEnd(48)} gas=${c.gas ?? `ERROR ${c.gasError}`}  seamlab=${c.seamlab ?? `${c.seamlabCode} ${c.seamlabError}`}`;

describe.skipIf(!enabled)('encoder differential fuzz vs GNU as 2.40 + ld', () => {
  it(`encodes ${count} random instructions byte-identically (seed ${seed})`, () => {
    console.log(`encoder fuzz: seed ${seed}, ${count} instructions`);
    const t0 = performance.now();
    const r = runEncoderFuzz(seed, count);
    const ms = Math.round(performance.now() - t0);
    const unjustified = r.unsupported.filter((c) => !JUSTIFIED_UNSUPPORTED.some((j) => j.code === c.seamlabCode && j.pattern.test(c.text)));
    console.log([
      `encoder fuzz: seed ${seed} (SEAMLAB_FUZZ_SEED=${seed} reproduces), ${r.total} instructions in ${ms} ms`,
      `  identical bytes: ${r.matches}; rejected by both GNU as and seamlab: ${r.bothReject}`,
      `  byte differences: ${r.mismatches.length}; unsupported by seamlab: ${r.unsupported.length}`,
      ...r.unsupported.slice(0, 50).map(show),
    ].join('\n'));
    if (r.mismatches.length) console.log(`MISMATCHES (first 50):\n${r.mismatches.slice(0, 50).map(show).join('\n')}`);
    expect(r.total).toBe(count);
    expect(r.mismatches.map(show)).toEqual([]);
    expect(unjustified.map(show)).toEqual([]);
    // The grammar must mostly produce instructions GNU as accepts, or the comparison means little.
    expect(r.matches).toBeGreaterThan(count * 0.85);
  });
});
