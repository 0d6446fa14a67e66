/**
 * The silicon oracle's fuzz campaign: 10,000 random scenarios per revision
 * (every entry point; leaves, inputs, environments, and SEAM answers of
 * every kind) run on Unicorn and on this CPU with no divergence. The seed
 * is fixed in CI and random locally (printed; SEAMLAB_FUZZ_SEED=<n>
 * reproduces a run, as does `seamlab oracle REV --fuzz 10000 --seed <n>`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveRevision } from '../src/intake/revision.js';
import { formatOracleDivergence } from '../src/oracle/compare.js';
import { fuzzOracle } from '../src/oracle/fuzz.js';
import { Oracle } from '../src/oracle/oracle.js';
import { testImage } from './support/images.js';
import { IN_CI } from './support/oracles.js';
import { siliconUsable } from './support/silicon.js';

const RUNS = 10_000;
const CI_SEED = 20240601;
const SEED = process.env.SEAMLAB_FUZZ_SEED !== undefined ? Number(process.env.SEAMLAB_FUZZ_SEED) : IN_CI ? CI_SEED : Math.floor(Math.random() * 0x7fffffff);

describe.skipIf(!siliconUsable())(`${RUNS} random scenarios per revision`, () => {
  let oracle: Oracle;
  beforeAll(async () => {
    oracle = await Oracle.open();
  });
  afterAll(() => oracle?.close());

  for (const rev of ['v3', 'linux-6.1', 'linux-6.12']) {
    it(`${rev}: Unicorn and this CPU agree on every instruction`, async () => {
      const r = resolveRevision(rev);
      const targets = r.functions.map((fn) => ({ fn, image: testImage(r, fn.sourceFile) }));
      const t0 = performance.now();
      const report = await fuzzOracle(oracle, targets, { revision: rev, profile: 'default', runs: RUNS, seed: SEED });
      console.log(`oracle fuzz ${rev}: seed ${SEED} (SEAMLAB_FUZZ_SEED=${SEED} reproduces), ${report.runs} scenarios, ${report.instructions} instructions, ${Math.round(performance.now() - t0)} ms`);
      const f = report.failure;
      expect(f ? `${formatOracleDivergence(f.divergence, f.function)}\n${f.scenarioFile}` : undefined).toBeUndefined();
      expect(report.runs).toBe(RUNS);
      // The campaign reaches every kind of SEAM answer the revision's entry points can get, and both ways a run ends.
      // 'interrupted': the TD-guest model asks for TDG.MR.REPORT and friends to be re-executed (src/seam/td-guest.ts);
      // VMfailInvalid/VMfailValid only answer SEAMCALL (TDCALL has no VMfail outcome, Intel SDM TDCALL), and linux-6.1 has only a TDCALL entry point.
      const host = r.functions.some((f) => f.kind === 'seamcall');
      expect(Object.keys(report.answers).sort()).toEqual(['fault', 'interrupted', 'return', ...(host ? ['vmfailinvalid', 'vmfailvalid'] : [])]);
      expect(report.ends.returned).toBeGreaterThan(RUNS / 2);
      expect(report.ends.oops).toBeGreaterThan(0);
      if (rev === 'linux-6.12') expect(report.fixups).toBeGreaterThan(0);
    }, 300_000);
  }
});
