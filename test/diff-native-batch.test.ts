/**
 * The native batch helpers (src/machine/native/batch-hooks.c) change how
 * fast a differential batch runs, never what it finds: the same campaign
 * run with the row capture hook and with the portable driver (which stores
 * the registers itself, under Unicorn's own timeout) gives the same rows,
 * byte for byte, and the same differences. The watched start stops an
 * endless loop at its time limit.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadDisassembler } from '../src/encode/capstone.js';
import { resolveRevision } from '../src/intake/revision.js';
import { DifferenceCollector } from '../src/diff/collect.js';
import { DiffEngine, type RangeResult } from '../src/diff/fuzz-engine.js';
import { engineConfig } from '../src/diff/fuzz.js';
import { preparePair } from '../src/diff/matrix.js';
import { resolvePairs } from '../src/diff/pairing.js';
import { disableNativeBatch, loadBatchHooks, watchedEmuStart } from '../src/machine/native-batch.js';
import { Unicorn } from '../src/machine/unicorn.js';
import { UC_ERR, UC_PROT } from '../src/machine/unicorn-consts.js';

afterAll(() => disableNativeBatch(false));

/** A campaign's result and the caller memory (row tables) both sides ended with. */
async function campaign(a: [string, string], b: [string, string], cases: number, native: boolean): Promise<{ result: RangeResult; rowsA: Buffer; rowsB: Buffer }> {
  disableNativeBatch(!native);
  try {
    await loadDisassembler();
    const pair = resolvePairs(a[0], resolveRevision(a[0]), b[0], resolveRevision(b[0]), [{ a: { spec: a[0], fn: a[1] }, b: { spec: b[0], fn: b[1] } }])[0]!;
    const prepared = preparePair(pair);
    const engine = new DiffEngine(engineConfig(prepared, 7, new DifferenceCollector(prepared.label, undefined)));
    try {
      const result = engine.runRange(0, cases);
      // The control block's scratch word (+32) is the portable driver's own; rows start at +64.
      return { result, rowsA: Buffer.from(engine.a.memoryBytes.subarray(64)), rowsB: Buffer.from(engine.b.memoryBytes.subarray(64)) };
    } finally {
      engine.close();
    }
  } finally {
    disableNativeBatch(false);
  }
}

describe('native batch helpers', () => {
  it('build here (CI installs gcc)', () => {
    expect(loadBatchHooks()).toEqual({ ok: true });
  });

  for (const [name, a, b] of [
    ['v3 __seamcall ↔ 6.12 __seamcall_ret (every row differs)', ['v3', '__seamcall'], ['linux-6.12', '__seamcall_ret']],
    ['6.12 __seamcall_saved_ret ↔ itself', ['linux-6.12', '__seamcall_saved_ret'], ['linux-6.12', '__seamcall_saved_ret']],
  ] as const) {
    it(`give the rows and differences of the portable driver: ${name}`, async () => {
      const cases = 1500; // a chunk and a half: a restart of the table mid-campaign
      const fast = await campaign([...a], [...b], cases, true);
      const slow = await campaign([...a], [...b], cases, false);
      expect(fast.result.pairs).toBe(slow.result.pairs);
      expect(fast.result).toEqual(slow.result);
      expect(fast.rowsA.equals(slow.rowsA)).toBe(true);
      expect(fast.rowsB.equals(slow.rowsB)).toBe(true);
    }, 120_000);
  }

  it('a watched start ends an endless loop at its time limit', () => {
    expect(loadBatchHooks().ok).toBe(true);
    const uc = Unicorn.open();
    try {
      uc.memMap(0x10000n, 0x1000, UC_PROT.READ | UC_PROT.EXEC);
      uc.memWrite(0x10000n, Uint8Array.from([0xeb, 0xfe])); // jmp .
      // Unicorn is given no timeout of its own: only the watchdog can stop this.
      const err = watchedEmuStart(uc.enginePointer, 0x10000n, 0x20000n, 100_000, 0);
      expect(err).toBe(UC_ERR.OK);
      expect(uc.rip).toBe(0x10000n);
    } finally {
      uc.close();
    }
  });
});
