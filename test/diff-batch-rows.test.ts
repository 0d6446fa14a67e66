/**
 * A batch row read back as observations (SideBatch, src/diff/fuzz-batch.ts)
 * compares registers and guard words as 32-bit halves to avoid making
 * BigInts per row; here every such reader is checked against the same
 * question asked with 64-bit values, over rows of random bytes with the
 * interesting values (canaries, poison, guards, the call's RSP) planted.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveRevision } from '../src/intake/revision.js';
import { resolvePairs } from '../src/diff/pairing.js';
import { SideBatch } from '../src/diff/fuzz-batch.js';
import { GPR_NAMES } from '../src/support/registers.js';

const CALLEE_SAVED = ['rbx', 'rbp', 'r12', 'r13', 'r14', 'r15'];
const ROW_IN = 0;
const ROW_OUT = 136;
const ROW_OUT_FLAGS = 264;
const POISON64 = 0x5a5a5a5a5a5a5a5an;
const GUARD64 = 0xa5a5a5a5a5a5a5a5n;

const sides: SideBatch[] = [];
afterAll(() => { for (const s of sides) s.close(); });

function side(rev: string, fn: string): SideBatch {
  const r = resolveRevision(rev);
  const f = r.functions.find((x) => x.name === fn)!;
  const img = resolvePairs(rev, r, rev, r, [{ a: { spec: rev, fn }, b: { spec: rev, fn } }])[0]!.a.image;
  const s = new SideBatch({ label: rev, image: img, fn: { name: fn, kind: f.kind, abi: f.abi } }, 4);
  sides.push(s);
  return s;
}

describe('batch rows read as 32-bit halves', () => {
  for (const [rev, fn] of [['linux-6.12', '__seamcall_saved_ret'], ['v3', '__seamcall']] as const) {
    it(`agree with 64-bit reads: ${rev} ${fn}`, () => {
      const s = side(rev, fn);
      const bytes = s.memoryBytes;
      const row = 1;
      const off = s.rowOffset(row);
      const q = (at: number) => bytes.readBigUInt64LE(at);
      const callRsp = q(40); // the control block's RSP at the call (set by run(); any value will do here)
      // Words a reader looks at: the registers in and out, RFLAGS out, every field and the guards after the structs.
      const special = fc.constantFrom(0n, POISON64, GUARD64, callRsp, 0x5a5a5a5an, 0xa5a5a5a5_00000000n, 1n << 63n);
      const word = fc.oneof(special, fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));
      const span = s.stride / 8;
      s.calls[row] = 1; // a row with a SEAM call: its in/out structs were poisoned at the call
      fc.assert(fc.property(fc.array(word, { minLength: span, maxLength: span }), fc.array(fc.nat(span - 1), { maxLength: 8 }), (words, copies) => {
        words.forEach((w, i) => bytes.writeBigUInt64LE(w, off + i * 8));
        // Some registers out equal to the registers in (callee-saved preserved), some not.
        for (const c of copies) if (c < 16) bytes.writeBigUInt64LE(q(off + ROW_IN + c * 8), off + ROW_OUT + c * 8);
        const clobbered = CALLEE_SAVED.filter((r) => q(off + ROW_OUT + GPR_NAMES.indexOf(r as never) * 8) !== q(off + ROW_IN + GPR_NAMES.indexOf(r as never) * 8)).join(' ');
        expect(s.calleeSaved(row)).toBe(clobbered);
        const rsp = q(off + ROW_OUT + 4 * 8);
        const df = (q(off + ROW_OUT_FLAGS) & 0x400n) !== 0n;
        const bad = [rsp !== callRsp ? `RSP off by ${rsp - callRsp}` : '', df ? 'DF set' : ''].filter(Boolean);
        expect(s.stack(row)).toBe(bad.length ? bad.join(', ') : 'balanced');
        for (let slot = 0; slot < 16; slot++) {
          const at = s.outputAt[slot]!;
          // Rows with a SEAM call: a field is written when it no longer holds the poison.
          if (at >= 0 && s.calls[row]! > 0) expect(s.fieldWritten(row, slot)).toBe(q(off + at) !== POISON64);
        }
      }), { numRuns: 300, seed: 5 });
      // memory(): the guard words after each struct. A row of guard bytes is clean; changing either half of a
      // guard word is a stray store — and exactly 16 bytes (two words) per struct are guards.
      for (let i = 0; i < span; i++) bytes.writeBigUInt64LE(GUARD64, off + i * 8);
      expect(s.memory(row)).toBe('clean');
      const flips = [0n, 32n].map((shift) => {
        let n = 0;
        for (let i = 0; i < span; i++) {
          bytes.writeBigUInt64LE(GUARD64 ^ (1n << (shift + 3n)), off + i * 8);
          if (s.memory(row) !== 'clean') n++;
          bytes.writeBigUInt64LE(GUARD64, off + i * 8);
        }
        return n;
      });
      expect(flips).toEqual([2, 2]);
    });
  }
});
