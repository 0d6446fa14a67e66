/**
 * Every entry point of v3, linux-6.1 and linux-6.12 × every built-in
 * scenario, run on Unicorn through the System V harness. The expected
 * caller-visible results are derived by hand from the kernel sources
 * (tdxcall.S R0 and R5, seamcall.S, tdcall.S, asm/tdx.h, mm/extable.c) and
 * the models' documented answers — never recorded from seamlab's output.
 *
 * Notation: C(r) is the canary the harness leaves in register r (a caller's
 * leftover); PHYS is the start of the physical-memory area, where the
 * scenario's buffers are placed in order (1024-aligned report first, …).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { notApplicable, runScenario, type RunResult } from '../src/run/run.js';
import { resolveRevision } from '../src/intake/revision.js';
import type { Revision } from '../src/intake/types.js';
import { Machine } from '../src/machine/machine.js';
import { BUILTIN_SCENARIOS } from '../src/seam/builtin-scenarios.js';
import type { GprName } from '../src/seam/types.js';
import { testImage } from './support/images.js';
import { C, CALLEE_SAVED, EXPECTED, POISON, type Expect } from './support/expected-runs.js';
import { loadDisassembler } from '../src/encode/capstone.js';

for (const [revName, spec] of Object.entries(EXPECTED)) {
  describe(`${revName}: every entry point × every built-in scenario`, () => {
    let rev: Revision;
    beforeAll(async () => {
      rev = resolveRevision(revName);
      // The leak check's register origins need Capstone.
      await loadDisassembler();
    });

    it('has exactly the entry points of the facts', () => {
      expect(Object.fromEntries(rev.functions.map((f) => [f.name, f.sourceFile]))).toEqual(spec.functions);
    });

    for (const [fnName, cases] of Object.entries(spec.table)) {
      for (const sc of BUILTIN_SCENARIOS) {
        const exp = cases[sc.name];
        it(`${fnName} × ${sc.name}`, () => {
          const fn = rev.functions.find((f) => f.name === fnName)!;
          if (!exp) {
            expect(notApplicable(sc, fn), `${sc.name} should not apply to ${fnName}`).toBeDefined();
            return;
          }
          expect(notApplicable(sc, fn)).toBeUndefined();
          const image = testImage(rev, fn.sourceFile);
          const m = new Machine(image, { observeReads: true });
          try {
            const r = runScenario(image, fn, sc, { revision: revName, machine: m });
            check(r, exp, m);
          } finally {
            m.close();
          }
        });
      }
    }
  });
}

function check(r: RunResult, exp: Expect, m: Machine): void {
  const call = r.seamCalls[0];
  expect(r.seamCalls).toHaveLength(1);
  if (exp.oops) {
    expect(r.end).toMatchObject({ kind: 'oops', vectorName: exp.oops, address: call!.address });
    expect(r.expectedOops).toBe(true);
    expect(call!.path).toBe('oops');
    expect(r.returnValue).toBeUndefined();
  } else {
    expect(r.end.kind).toBe('returned');
    expect(r.returnValue).toBe(exp.ret);
    expect(call!.path).toBe(exp.fixup ? 'exception-table' : 'resumed');
    // Callee-saved registers survive in every case.
    for (const reg of CALLEE_SAVED) expect(r.registersOut[reg], reg).toBe(C(reg));
    // The leak check passes too: a function that clears registers after the call clears every SEAM value
    // (6.12 tdxcall.S `.if \saved && \ret`); one that clears none promises only RAX (see src/run/check.ts).
    expect(r.checks.map((c) => [c.name, c.status])).toEqual([['callee-saved', 'pass'], ['rsp', 'pass'], ['df', 'pass'], ['stack-writes', 'pass'], ['memory-writes', 'pass'], ['leak', 'pass']]);
  }
  expect(r.ok).toBe(true);
  if (exp.seamFlags !== undefined) expect(call!.rflagsOut & 0x8d5n).toBe(exp.seamFlags);
  for (const [reg, v] of Object.entries(exp.regs ?? {})) expect(r.registersOut[reg as GprName], reg).toBe(v);
  expect(r.call.unpassable).toEqual(exp.unpassable ?? []);
  const nullParam = r.call.params.find((p) => p.role === 'null');
  if (exp.written === undefined) {
    // null-out: the pointer was NULL and nothing outside the stack was written.
    expect(nullParam).toBeDefined();
    expect(r.outputs).toEqual([]);
    return;
  }
  expect(r.outputs).toHaveLength(1);
  const out = r.outputs[0]!;
  const written = Object.fromEntries(out.fields.filter((f) => f.written).map((f) => [f.name, f.value]));
  expect(written).toEqual(exp.written);
  for (const f of out.fields.filter((x) => !x.written)) {
    // Untouched: the poison of an output-only struct, or what the caller put in an in/out struct.
    expect(f.value, f.name).toBe(f.initial);
    if (out.outputOnly) expect(f.initial, f.name).toBe(POISON);
  }
  exp.check?.(r, m);
}
