/**
 * The native step recorder ('recorded' machine mode): the observers see what
 * they see in 'single' mode — the same steps, registers, memory accesses,
 * SEAM calls and fixups in the same order — so a trace recorded either way
 * is byte for byte the same. Runs longer than the buffers drain and go on;
 * the budget ends a runaway at the same instruction.
 */
import { describe, expect, it } from 'vitest';
import { resolveRevision } from '../src/intake/revision.js';
import type { FunctionAbi } from '../src/intake/types.js';
import { Machine, type MemoryAccess, type RunObserver } from '../src/machine/machine.js';
import { loadStepRecorder } from '../src/machine/native-steps.js';
import { planCall } from '../src/run/plan.js';
import { notApplicable } from '../src/run/run.js';
import { BUILTIN_SCENARIOS } from '../src/seam/builtin-scenarios.js';
import { serveWithEnvironment } from '../src/seam/env.js';
import { HOST_ENV } from '../src/seam/types.js';
import { serializeTrace } from '../src/trace/jsonl.js';
import { recordTrace } from '../src/trace/record.js';
import { MINI_BASE, X, miniImage } from './support/mini-image.js';
import { requireOracle } from './support/oracles.js';

const available = loadStepRecorder();
const VOID_ABI: FunctionAbi = { prototype: 'void f(void);', declaredAt: { file: 't.h', line: 1 }, returns: { kind: 'void' }, params: [] };

describe('the native step recorder', () => {
  it('is available where a C compiler is (it is built by seamlab setup)', () => {
    requireOracle('a C compiler for the native step recorder', available.ok, `apt-get install gcc (${available.ok ? '' : available.reason})`);
  });

  it.runIf(available.ok)('records every built-in run exactly as the JavaScript hooks do', async () => {
    let compared = 0;
    for (const spec of ['v3', 'linux-6.1', 'linux-6.12']) {
      const rev = resolveRevision(spec);
      for (const fn of rev.functions) {
        for (const scenario of BUILTIN_SCENARIOS) {
          if (notApplicable(scenario, fn)) continue;
          const js = serializeTrace(await recordTrace({ revision: rev, fn, scenario, recorder: 'js' }));
          const native = serializeTrace(await recordTrace({ revision: rev, fn, scenario, recorder: 'native' }));
          expect(native, `${spec} ${fn.name} × ${scenario.name}`).toBe(js);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(70);
  });

  it.runIf(available.ok)('drains full buffers and goes on; the budget stops at the same instruction as in single mode', () => {
    // push %rax; pop %rcx; nop; jmp . — a loop of one instruction after three.
    const image = miniImage([{ label: 'f', ...X.pushRax }, X.popRcx, X.nop, X.jmpSelf]);
    const runWith = (mode: 'single' | 'recorded') => {
      const m = new Machine(image, { mode, observeReads: true });
      try {
        planCall(m, VOID_ABI, MINI_BASE, { leaf: 0n, inputs: {} });
        const seen: { steps: number; lastRip: bigint; accesses: MemoryAccess[]; regsAt: bigint[] } = { steps: 0, lastRip: 0n, accesses: [], regsAt: [] };
        const observer: RunObserver = {
          instruction(step, address, _size, registers) {
            expect(step).toBe(seen.steps);
            seen.steps++;
            seen.lastRip = address;
            // RAX before step 100000 (recorded mode hands the registers over; single mode reads them live).
            if (step === 100_000) seen.regsAt.push(registers ? registers[0]! : m.cpuState().gprs.rax);
          },
          memory(a) {
            if (seen.accesses.length < 4) seen.accesses.push(a);
          },
        };
        const run = m.start({ entry: MINI_BASE, serve: serveWithEnvironment({ name: 't', handle: () => ({ kind: 'return', rax: 0n }) }), handlerName: 't', env: HOST_ENV, budget: 200_000, timeLimitMs: 60_000, observers: [observer] }).finish();
        return { run, seen };
      } finally {
        m.close();
      }
    };
    const single = runWith('single');
    const recorded = runWith('recorded');
    expect(recorded.run.stop).toMatchObject({ kind: 'runaway', limit: 'instructions', budget: 200_000 });
    expect(recorded.run.instructions).toBe(200_000);
    expect(recorded.seen.steps).toBe(200_000);
    expect(recorded.seen).toEqual(single.seen);
    expect(recorded.run.stores).toEqual(single.run.stores);
    expect({ ...recorded.run.stop, last: undefined }).toEqual({ ...single.run.stop, last: undefined });
    expect((recorded.run.stop as { last: { address: bigint }[] }).last.map((t) => t.address)).toEqual((single.run.stop as { last: { address: bigint }[] }).last.map((t) => t.address));
  });

  it.runIf(available.ok)('the wall-clock limit ends an endless loop (the C hook reads the clock; Unicorn has no watchdog thread)', () => {
    const m = new Machine(miniImage([{ label: 'f', ...X.nop }, X.jmpSelf]), { mode: 'recorded' });
    try {
      planCall(m, VOID_ABI, MINI_BASE, { leaf: 0n, inputs: {} });
      const run = m.start({ entry: MINI_BASE, serve: () => ({ kind: 'return', rax: 0n }), handlerName: 't', env: HOST_ENV, budget: 0, timeLimitMs: 100 }).finish();
      expect(run.stop).toMatchObject({ kind: 'runaway', limit: 'time', timeLimitMs: 100 });
      expect(run.instructions).toBeGreaterThan(10_000);
    } finally {
      m.close();
    }
  });

  it.runIf(available.ok)('refuses stepping: pauses are decided by the JavaScript hook', () => {
    const m = new Machine(miniImage([{ label: 'f', ...X.nop }, X.ret]), { mode: 'recorded' });
    try {
      planCall(m, VOID_ABI, MINI_BASE, { leaf: 0n, inputs: {} });
      const exec = m.start({ entry: MINI_BASE, serve: () => ({ kind: 'return', rax: 0n }), handlerName: 't', env: HOST_ENV, budget: 100, timeLimitMs: 1000 });
      expect(() => exec.step(1)).toThrow(/mode "single"/);
      expect(exec.finish().stop.kind).toBe('returned');
    } finally {
      m.close();
    }
  });
});
