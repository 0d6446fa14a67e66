/**
 * Batch mode: the asm/batch-driver.S loop calls the function once per row and
 * JavaScript runs only at the traps (one handler call per SEAM call).
 */
import { describe, expect, it } from 'vitest';
import { runBatch } from '../src/run/batch.js';
import { disableNativeBatch, loadBatchHooks } from '../src/machine/native-batch.js';
import { assembleBatchDriver } from '../src/image/batch-driver.js';
import { resolveRevision } from '../src/intake/revision.js';
import { HOST_ENV, type SeamCall } from '../src/seam/types.js';
import { SeamRoot } from '../src/seam/p-seamldr.js';
import { testImage } from './support/images.js';
import { readFileSync } from 'node:fs';
import { gasAvailable, gnuAs, hex } from './support/gas-live.js';

describe('the batch driver', () => {
  it('is assembled by seamlab byte-identically to GNU as', () => {
    if (!gasAvailable()) return;
    const gnu = gnuAs(readFileSync(new URL('../asm/batch-driver.S', import.meta.url), 'utf8'));
    expect(gnu.errors).toEqual([]);
    expect(hex(assembleBatchDriver().bytes)).toBe(hex(gnu.sections.get('.text')));
    expect(assembleBatchDriver().entry).toBe(0);
  });
});

describe('batch mode', () => {
  it('v3 __seamcall: one handler call per row, each row gets its own RAX', () => {
    const rev = resolveRevision('v3');
    const fn = rev.functions.find((f) => f.name === '__seamcall')!;
    const seen: bigint[] = [];
    const handler = { name: 'count', handle: (c: SeamCall) => { seen.push(c.regs.rdx); return { kind: 'return' as const, rax: BigInt(c.index) * 3n }; } };
    const r = runBatch(testImage(rev, fn.sourceFile), fn, assembleBatchDriver(), { rows: 1000, call: { leaf: 34n, inputs: { rdx: 0x77n } }, handler, env: HOST_ENV });
    expect(r.stop.kind).toBe('returned');
    expect(r.seamCalls).toBe(1000);
    expect(seen).toHaveLength(1000);
    expect(seen.every((v) => v === 0x77n)).toBe(true);
    expect([...r.returns.slice(0, 3)]).toEqual([0n, 3n, 6n]);
    expect(r.returns[999]).toBe(2997n);
  });

  it('6.12 __seamcall: #UD in every row goes through the exception table', () => {
    const rev = resolveRevision('linux-6.12');
    const fn = rev.functions.find((f) => f.name === '__seamcall')!;
    const r = runBatch(testImage(rev, fn.sourceFile), fn, assembleBatchDriver(), { rows: 50, call: { leaf: 33n, inputs: {} }, handler: new SeamRoot(), env: { ...HOST_ENV, vmx: false } });
    expect(r.stop.kind).toBe('returned');
    expect(new Set(r.returns)).toEqual(new Set([0x8000FF0000000006n]));
  });

  it('a budget per row turns a runaway batch into a runaway result', () => {
    const rev = resolveRevision('v3');
    const fn = rev.functions.find((f) => f.name === '__seamcall')!;
    // 10 instructions per row are not enough for the driver loop plus __seamcall.
    const r = runBatch(testImage(rev, fn.sourceFile), fn, assembleBatchDriver(), { rows: 20, call: { leaf: 34n, inputs: {} }, handler: new SeamRoot(), env: HOST_ENV, budgetPerRow: 10 });
    expect(r.stop).toMatchObject({ kind: 'runaway', limit: 'instructions', budget: 200 });
  });

  for (const native of [true, false]) {
    it(`a batch that never ends stops at its time limit (${native ? 'the native watched start' : "Unicorn's own timeout"})`, () => {
      disableNativeBatch(!native);
      try {
        const rev = resolveRevision('v3');
        const fn = rev.functions.find((f) => f.name === '__seamcall')!;
        // Every SEAMCALL re-executed (RIP not advanced): the first row never returns, and no budget is set.
        const handler = { name: 'forever', handle: () => ({ kind: 'interrupted' as const }) };
        const r = runBatch(testImage(rev, fn.sourceFile), fn, assembleBatchDriver(), { rows: 5, call: { leaf: 34n, inputs: {} }, handler, env: HOST_ENV, timeLimitMs: 200 });
        expect(r.stop).toMatchObject({ kind: 'runaway', limit: 'time' });
        expect(loadBatchHooks().ok).toBe(native);
      } finally {
        disableNativeBatch(false);
      }
    });
  }
});
