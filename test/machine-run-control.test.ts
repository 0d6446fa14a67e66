/**
 * Run control and observers on the real kernel functions: stepping one
 * instruction at a time ends where one continue ends, pauses are exact,
 * an interrupt stops an endless loop within one slice, and observers see
 * every instruction and every store once, in order, with the plan's labels.
 *
 * Expected stores come from the kernel source as tdx-facts.md §1 describes
 * it: R0 (v3 `__seamcall`) stores RCX, RDX, R8, R9, R10, R11 into *out after
 * the SEAMCALL; R5 (6.12 `__seamcall_ret`) stores the same six registers
 * into the `struct tdx_module_args` it was passed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Image } from '../src/image/types.js';
import { resolveRevision } from '../src/intake/revision.js';
import type { FixupRecord, MemoryAccess, RunObserver, RunStop, SeamCallRecord } from '../src/machine/machine.js';
import { Machine } from '../src/machine/machine.js';
import { planCall } from '../src/run/plan.js';
import { labelAddress } from '../src/run/plan.js';
import { prepareRun, type PreparedRun } from '../src/run/run.js';
import { BUILTIN_SCENARIOS } from '../src/seam/builtin-scenarios.js';
import { serveWithEnvironment } from '../src/seam/env.js';
import { HOST_ENV } from '../src/seam/types.js';
import type { FunctionAbi } from '../src/intake/types.js';
import { testImage } from './support/images.js';
import { MINI_BASE, X, miniImage } from './support/mini-image.js';

const scenario = (name: string) => BUILTIN_SCENARIOS.find((s) => s.name === name)!;

const open: PreparedRun[] = [];
afterEach(() => {
  for (const p of open.splice(0)) p.close();
});

function prepare(rev: string, fnName: string, scenarioName: string, observers: RunObserver[] = []): PreparedRun {
  const r = resolveRevision(rev);
  const fn = r.functions.find((f) => f.name === fnName)!;
  const image: Image = testImage(r, fn.sourceFile);
  const p = prepareRun(image, fn, scenario(scenarioName), { revision: rev, observers, observeReads: true });
  open.push(p);
  return p;
}

/** What a run leaves behind that a caller or a debugger can see. */
function finalState(p: PreparedRun) {
  const cpu = p.machine.cpuState();
  return {
    cpu,
    stack: Buffer.from(p.machine.stack).toString('hex'),
    caller: Buffer.from(p.machine.caller).toString('hex'),
    seamCalls: p.execution.seamCalls.map((c) => ({ ...c, location: undefined })),
    instructions: p.execution.instructions,
  };
}

/** The exception-table entry inside the run's own function (an image holds several functions). */
function extableOf(p: PreparedRun) {
  const sym = p.machine.image.symbols.find((s) => s.name === p.fn.name)!;
  return p.machine.image.extable.find((e) => e.insn >= sym.address && e.insn < sym.address + sym.size);
}

class Recorder implements RunObserver {
  readonly observesReads = true;
  readonly insns: { step: number; address: bigint }[] = [];
  readonly accesses: MemoryAccess[] = [];
  readonly seam: SeamCallRecord[] = [];
  readonly fixups: FixupRecord[] = [];
  readonly stops: RunStop[] = [];
  instruction(step: number, address: bigint): void {
    this.insns.push({ step, address });
  }
  memory(a: MemoryAccess): void {
    this.accesses.push(a);
  }
  seamCall(r: SeamCallRecord): void {
    this.seam.push(r);
  }
  fixup(f: FixupRecord): void {
    this.fixups.push(f);
  }
  stop(s: RunStop): void {
    this.stops.push(s);
  }
}

describe('stepping one instruction at a time ends where one continue ends', () => {
  for (const [rev, fn, sc] of [['v3', '__seamcall', 'success'], ['linux-6.12', '__seamcall_saved_ret', 'success'], ['linux-6.12', '__seamcall_saved_ret', 'ud']] as const) {
    it(`${rev} ${fn} × ${sc}`, () => {
      const a = prepare(rev, fn, sc);
      const ra = a.complete();
      const want = finalState(a);

      const b = prepare(rev, fn, sc);
      let steps = 0;
      for (;;) {
        const s = b.execution.step(1);
        if (s.kind === 'ended') break;
        expect(s.reason.kind).toBe('step');
        steps++;
        expect(b.execution.instructions).toBe(steps);
      }
      const rb = b.result();
      expect(finalState(b)).toEqual(want);
      expect(rb.end).toEqual(ra.end);
      expect(rb.checks).toEqual(ra.checks);
      expect(rb.returnValue).toBe(ra.returnValue);
    });
  }
});

describe('pauses are exact', () => {
  it('runUntil(address) stops before the instruction there, with earlier instructions executed', () => {
    const ref = new Recorder();
    const a = prepare('linux-6.12', '__seamcall_ret', 'success', [ref]);
    a.complete();
    const target = ref.insns[7]!.address;
    const b = prepare('linux-6.12', '__seamcall_ret', 'success');
    const s = b.execution.runUntil({ addresses: [target] });
    expect(s).toEqual({ kind: 'paused', reason: { kind: 'breakpoint', address: target }, rip: target });
    expect(b.machine.cpuState().rip).toBe(target);
    expect(b.execution.instructions).toBe(7);
    // Resuming runs the instruction at the pause instead of pausing there again.
    expect(b.execution.step(1)).toMatchObject({ kind: 'paused', reason: { kind: 'step' }, rip: ref.insns[8]!.address });
  });

  it('a SEAM-call pause comes before the SEAM side is asked, with the inputs in the registers', () => {
    const p = prepare('linux-6.12', '__seamcall_ret', 'success');
    p.execution.pauseOnSeamCall = true;
    const s = p.execution.continue();
    expect(s).toMatchObject({ kind: 'paused', reason: { kind: 'seam-call', seamKind: 'seamcall', index: 0 } });
    expect(p.execution.seamCalls).toHaveLength(0);
    const cpu = p.machine.cpuState();
    expect(p.machine.siteAt(cpu.rip)?.kind).toBe('seamcall');
    expect(cpu.gprs.rax).toBe(p.plan.params.find((x) => x.role === 'leaf')!.value);
    expect(p.execution.continue()).toMatchObject({ kind: 'ended', end: { kind: 'returned' } });
    expect(p.execution.seamCalls).toHaveLength(1);
  });

  it('a fault through the exception table pauses at the fixup (6.12 __seamcall_saved_ret × ud)', () => {
    const p = prepare('linux-6.12', '__seamcall_saved_ret', 'ud');
    p.execution.pauseOnFixup = true;
    const s = p.execution.continue();
    const fixup = extableOf(p)!;
    expect(s).toMatchObject({ kind: 'paused', reason: { kind: 'fixup', fixup: { vector: 6, address: fixup.insn, fixup: fixup.fixup } }, rip: fixup.fixup });
    // ex_handler_fault: regs->ax = trapnr (arch/x86/mm/extable.c)
    expect(p.machine.cpuState().gprs.rax).toBe(6n);
    expect(p.execution.continue()).toMatchObject({ kind: 'ended', end: { kind: 'returned' } });
  });

  it('persistent breakpoints hit on every continue; finish ignores them', () => {
    const ref = new Recorder();
    prepare('v3', '__seamcall', 'success', [ref]).complete();
    const p = prepare('v3', '__seamcall', 'success');
    const [b1, b2] = [ref.insns[2]!.address, ref.insns[5]!.address];
    p.execution.breakpoints.add(b1);
    p.execution.breakpoints.add(b2);
    expect(p.execution.continue()).toMatchObject({ kind: 'paused', reason: { kind: 'breakpoint', address: b1 } });
    expect(p.execution.continue()).toMatchObject({ kind: 'paused', reason: { kind: 'breakpoint', address: b2 } });
    expect(p.execution.finish().stop.kind).toBe('returned');
  });
});

describe('interrupting an endless loop', () => {
  const VOID_ABI: FunctionAbi = { prototype: 'void f(void);', declaredAt: { file: 't.h', line: 1 }, returns: { kind: 'void' }, params: [] };

  it('continueAsync stops within one slice of interrupt()', async () => {
    const m = new Machine(miniImage([{ label: 'f', ...X.nop }, X.jmpSelf]));
    try {
      planCall(m, VOID_ABI, MINI_BASE, { leaf: 0n, inputs: {} });
      const exec = m.start({ entry: MINI_BASE, serve: serveWithEnvironment({ name: 't', handle: () => ({ kind: 'return', rax: 0n }) }), handlerName: 't', env: HOST_ENV, budget: 0, timeLimitMs: 60_000 });
      let slicesAtInterrupt = -1;
      setTimeout(() => { slicesAtInterrupt = exec.slicesRun; exec.interrupt(); }, 100);
      const s = await exec.continueAsync({ sliceMs: 20 });
      expect(s).toMatchObject({ kind: 'paused', reason: { kind: 'interrupted' }, rip: MINI_BASE + 1n });
      expect(exec.instructions).toBeGreaterThan(1000);
      // The timer ran between two slices, so the very next slice pauses at its first instruction:
      // the wait is one event-loop turn, far under the 50 ms (the slice is 20 ms of emulation).
      expect(slicesAtInterrupt).toBeGreaterThan(1);
      expect(exec.slicesRun).toBe(slicesAtInterrupt + 1);
      // The run is intact: it can go on and still end by its own rules.
      expect(exec.step(3)).toMatchObject({ kind: 'paused', reason: { kind: 'step' }, rip: MINI_BASE + 1n });
    } finally {
      m.close();
    }
  });
});

describe('observers', () => {
  it('see every instruction once, in order, including the trapped SEAMCALL and the fixup path', () => {
    const obs = new Recorder();
    const p = prepare('linux-6.12', '__seamcall_saved_ret', 'ud', [obs]);
    const r = p.complete();
    // Step by step, the RIP at each pause is the next instruction the observer saw.
    const q = prepare('linux-6.12', '__seamcall_saved_ret', 'ud');
    const walked: bigint[] = [q.machine.cpuState().rip];
    while (q.execution.step(1).kind === 'paused') walked.push(q.machine.cpuState().rip);
    expect(obs.insns.map((i) => i.step)).toEqual(obs.insns.map((_, i) => i));
    expect(obs.insns.map((i) => i.address)).toEqual(walked);
    expect(obs.insns.length).toBe(r.instructions);
    const fx = extableOf(p)!;
    const at = obs.insns.findIndex((i) => i.address === fx.insn);
    expect(p.machine.siteAt(fx.insn)?.kind).toBe('seamcall');
    expect(obs.insns[at + 1]!.address).toBe(fx.fixup);
    expect(obs.fixups).toEqual([{ vector: 6, address: fx.insn, fixup: fx.fixup }]);
    expect(obs.seam.map((s) => s.path)).toEqual(['exception-table']);
    expect(obs.stops).toEqual([{ kind: 'ended', end: { kind: 'returned' } }]);
  });

  for (const [rev, fn, param] of [['v3', '__seamcall', 'out'], ['linux-6.12', '__seamcall_ret', 'args']] as const) {
    it(`see the stores of the outputs with their labels (${rev} ${fn})`, () => {
      const obs = new Recorder();
      const p = prepare(rev, fn, 'success', [obs]);
      p.complete();
      const seamcallStep = obs.insns.find((i) => p.machine.siteAt(i.address))!.step;
      const labelled = obs.accesses
        .filter((a) => a.kind === 'write' && a.step > seamcallStep)
        .map((a) => labelAddress(p.plan, a.address, 0n))
        .filter((l) => l?.startsWith(`${param}->`));
      expect(labelled).toEqual(['rcx', 'rdx', 'r8', 'r9', 'r10', 'r11'].map((r) => `${param}->${r}`));
      // Every store the machine recorded for the ABI checks was seen by the observer too.
      const writes = obs.accesses.filter((a) => a.kind === 'write').map((a) => ({ address: a.address, size: a.size, rip: a.rip }));
      expect(writes).toEqual(p.execution.summary().stores);
    });
  }

  it('recording changes nothing: the same end state with and without observers', () => {
    const a = prepare('linux-6.12', '__seamcall_saved_ret', 'success');
    const ra = a.complete();
    const b = prepare('linux-6.12', '__seamcall_saved_ret', 'success', [new Recorder()]);
    const rb = b.complete();
    expect(finalState(b)).toEqual(finalState(a));
    expect({ ...rb, seamCalls: rb.seamCalls.length }).toEqual({ ...ra, seamCalls: ra.seamCalls.length });
  });
});
