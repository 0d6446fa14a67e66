/**
 * TDCALL answers as the 6.12 guest entry points meet them on the machine:
 * a re-executed TDCALL ("interrupted: re-execute", tdx_td_dispatcher.c:
 * no RAX and no advance_guest_rip when an interrupt occurred) and a
 * returning one that leaves the TD's RFLAGS alone (td_call writes only RAX),
 * run through linux-6.12 arch/x86/coco/tdx/tdcall.S `__tdcall_ret`.
 */
import { describe, expect, it } from 'vitest';
import { resolveRevision } from '../src/intake/revision.js';
import { Machine } from '../src/machine/machine.js';
import { runScenario } from '../src/run/run.js';
import type { Scenario } from '../src/seam/scenario.js';
import { GUEST_ENV } from '../src/seam/types.js';
import { testImage } from './support/images.js';

function report(interrupts: number): Scenario {
  return {
    name: 'mr-report-interrupted', summary: 'TDG.MR.REPORT with pending interrupts', source: 'test',
    cases: {
      tdcall: {
        call: { leaf: 4n, inputs: { rcx: { phys: 1024, align: 1024 }, rdx: { phys: 64, align: 64, fill: 'pattern' }, r8: 0n } },
        env: { ...GUEST_ENV }, handler: { model: 'td-guest', guest: { interrupts } },
      },
    },
  };
}

describe('linux-6.12 __tdcall_ret on the machine', () => {
  it('TDG.MR.REPORT interrupted twice: the TDCALL runs three times at the same address, then the report is written and 0 returned', () => {
    const rev = resolveRevision('linux-6.12');
    const fn = rev.functions.find((f) => f.name === '__tdcall_ret')!;
    const image = testImage(rev, fn.sourceFile);
    const m = new Machine(image);
    try {
      const r = runScenario(image, fn, report(2), { revision: 'linux-6.12', machine: m });
      expect(r.end.kind).toBe('returned');
      expect(r.returnValue).toBe(0n);
      expect(r.seamCalls.map((c) => c.outcome.kind)).toEqual(['interrupted', 'interrupted', 'return']);
      const [a, b, c] = r.seamCalls;
      expect(new Set([a!.address, b!.address, c!.address]).size).toBe(1);
      expect(a!.ripOut).toBe(a!.address);
      expect(a!.regsOut).toEqual(a!.regsIn); // RAX still the leaf (4)
      expect(c!.ripOut).toBe(c!.address + 4n);
      // Returns keep the TD's RFLAGS: the status flags after the call are those before it.
      expect(c!.rflagsOut).toBe(c!.rflagsIn);
      expect(m.phys.buffer[0]).toBe(0x81);
    } finally {
      m.close();
    }
  });
});
