/**
 * The machine on hand-made images: SEAMCALL/TDCALL outcomes applied like the
 * CPU (RFLAGS per SDM Vol. 3C §30.2), faults through the exception table like
 * the kernel's ex_handler_fault, oops, wild accesses, budget and time limit.
 * Expected values are written from the SDM and the kernel sources.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Machine, type MachineRun } from '../src/machine/machine.js';
import { planCall, canary } from '../src/run/plan.js';
import type { FunctionAbi } from '../src/intake/types.js';
import type { CpuEnv, Outcome, SeamCall } from '../src/seam/types.js';
import { HOST_ENV, GUEST_ENV } from '../src/seam/types.js';
import { serveWithEnvironment } from '../src/seam/env.js';
import { findTrapSites } from '../src/machine/trap.js';
import { SourceMap, formatLocation } from '../src/image/source-map.js';
import { MINI_BASE, X, callRel, miniImage, type MiniStmt } from './support/mini-image.js';
import type { Image } from '../src/image/types.js';

const VOID_ABI: FunctionAbi = { prototype: 'void f(void);', declaredAt: { file: 't.h', line: 1 }, returns: { kind: 'void' }, params: [] };
// RFLAGS bits (SDM Vol. 1 §3.4.3): CF 0, PF 2, AF 4, ZF 6, SF 7, IF 9, DF 10, OF 11; bit 1 reads as 1.
const CF = 0x1n, PF = 0x4n, AF = 0x10n, ZF = 0x40n, SF = 0x80n, IF = 0x200n, OF = 0x800n;
const ALL_STATUS = CF | PF | AF | ZF | SF | OF;

let machines: Machine[] = [];
afterEach(() => {
  for (const m of machines) m.close();
  machines = [];
});

function start(image: Image, entry = 'f', serve: (c: SeamCall) => Outcome = () => ({ kind: 'return', rax: 0n }),
  opts: { env?: CpuEnv; budget?: number; timeLimitMs?: number; regs?: Record<string, bigint> } = {}): { m: Machine; run: MachineRun } {
  const m = new Machine(image);
  machines.push(m);
  const addr = image.symbols.find((s) => s.name === entry)!.address;
  planCall(m, VOID_ABI, addr, { leaf: 0n, inputs: {} });
  if (opts.regs) {
    m.regs.read();
    const names = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
    for (const [k, v] of Object.entries(opts.regs)) m.regs.values[names.indexOf(k)] = v;
    m.regs.write();
  }
  const run = m.run({ entry: addr, serve: serveWithEnvironment({ name: 'test', handle: serve }), handlerName: 'test', env: opts.env ?? HOST_ENV, budget: opts.budget ?? 1000, timeLimitMs: opts.timeLimitMs ?? 5000 });
  return { m, run };
}

const seamcallThenRet: MiniStmt[] = [{ label: 'f', ...X.seamcall }, X.ret];

describe('SEAMCALL outcomes are applied like the CPU', () => {
  it('return: RAX = status, listed registers written, others preserved, CF PF AF ZF SF OF cleared, RIP past the instruction', () => {
    const { m, run } = start(miniImage(seamcallThenRet), 'f', () => ({ kind: 'return', rax: 0x8000020300000000n, regs: { rcx: 0x11n, r11: 0x22n } }));
    expect(run.stop.kind).toBe('returned');
    const c = run.seamCalls[0]!;
    expect(c.rflagsIn & ALL_STATUS).toBe(ALL_STATUS); // the caller left every status flag set
    expect(c.rflagsOut).toBe(0x2n | IF);
    expect(c.ripOut).toBe(MINI_BASE + 4n);
    expect(c.regsOut.rax).toBe(0x8000020300000000n);
    expect(c.regsOut.rcx).toBe(0x11n);
    expect(c.regsOut.r11).toBe(0x22n);
    for (const r of ['rdx', 'rbx', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r12', 'r13', 'r14', 'r15'] as const) expect(c.regsOut[r], r).toBe(canary(r));
    expect(c.regsOut.rsp).toBe(c.regsIn.rsp);
    expect(m.regs.values[0]).toBe(0x8000020300000000n);
  });

  it('vmfailinvalid: RAX unchanged, CF = 1, PF AF ZF SF OF = 0', () => {
    const { run } = start(miniImage(seamcallThenRet), 'f', () => ({ kind: 'vmfailinvalid' }));
    const c = run.seamCalls[0]!;
    expect(c.rflagsOut).toBe(0x2n | IF | CF);
    expect(c.regsOut).toEqual(c.regsIn);
    expect(c.ripOut).toBe(MINI_BASE + 4n);
  });

  it('vmfailvalid: ZF = 1, CF PF AF SF OF = 0', () => {
    const { run } = start(miniImage(seamcallThenRet), 'f', () => ({ kind: 'vmfailvalid' }));
    const c = run.seamCalls[0]!;
    expect(c.rflagsOut).toBe(0x2n | IF | ZF);
    expect(c.regsOut).toEqual(c.regsIn);
  });

  it('return with flags: preserve (a TDCALL): RAX and outputs written, RFLAGS as the TD left them (tdx_td_dispatcher.c td_call writes only RAX)', () => {
    const img = miniImage([{ label: 'f', ...X.tdcall }, X.ret]);
    const { run } = start(img, 'f', () => ({ kind: 'return', rax: 0n, regs: { rcx: 48n }, flags: 'preserve' }), { env: GUEST_ENV });
    const c = run.seamCalls[0]!;
    expect(c.rflagsIn & ALL_STATUS).toBe(ALL_STATUS);
    expect(c.rflagsOut).toBe(c.rflagsIn);
    expect(c.regsOut.rax).toBe(0n);
    expect(c.regsOut.rcx).toBe(48n);
    expect(c.ripOut).toBe(MINI_BASE + 4n);
  });

  it('interrupted: re-execute — RIP stays at the TDCALL, RAX and RFLAGS untouched, the instruction traps again (tdg_mem_page_accept.c interrupt_occurred; td_call skips advance_guest_rip)', () => {
    const img = miniImage([{ label: 'f', ...X.tdcall }, X.ret]);
    let asked = 0;
    const { run } = start(img, 'f', () => (++asked < 3 ? { kind: 'interrupted', note: 'pending interrupt' } : { kind: 'return', rax: 0n, flags: 'preserve' }), { env: GUEST_ENV });
    expect(asked).toBe(3);
    expect(run.stop.kind).toBe('returned');
    expect(run.seamCalls).toHaveLength(3);
    const [first, , last] = run.seamCalls;
    expect(first!.path).toBe('resumed');
    expect(first!.ripOut).toBe(MINI_BASE);
    expect(first!.regsOut).toEqual(first!.regsIn);
    expect(first!.rflagsOut).toBe(first!.rflagsIn);
    expect(last!.address).toBe(MINI_BASE);
    expect(last!.ripOut).toBe(MINI_BASE + 4n);
  });

  it('hands the handler all 16 GPRs, RIP, RFLAGS and the environment', () => {
    let seen: { rip: bigint; rflags: bigint; regs: Record<string, bigint>; env: CpuEnv; kind: string } | undefined;
    start(miniImage(seamcallThenRet), 'f', (c) => {
      seen = { rip: c.rip, rflags: c.rflags, regs: { ...(c.regs as unknown as { toJSON(): Record<string, bigint> }).toJSON() }, env: c.env, kind: c.kind };
      return { kind: 'return', rax: 0n };
    }, { env: { ...HOST_ENV, lp: 5 } });
    expect(seen!.kind).toBe('seamcall');
    expect(seen!.rip).toBe(MINI_BASE);
    expect(seen!.rflags & ALL_STATUS).toBe(ALL_STATUS);
    expect(seen!.env.lp).toBe(5);
    expect(seen!.regs.r15).toBe(canary('r15'));
    expect(Object.keys(seen!.regs)).toHaveLength(16);
  });

  it('rejects an outcome that writes RSP or a non-bigint, ending the run with a handler error', () => {
    const { run } = start(miniImage(seamcallThenRet), 'f', () => ({ kind: 'return', rax: 0n, regs: { rsp: 1n } }) as unknown as Outcome);
    expect(run.stop.kind).toBe('handler-error');
    expect((run.stop as { message: string }).message).toMatch(/regs\.rsp/);
    const { run: run2 } = start(miniImage(seamcallThenRet), 'f', () => ({ kind: 'return', rax: 5 }) as unknown as Outcome);
    expect((run2.stop as { message: string }).message).toMatch(/not a bigint/);
  });

  it('a handler that throws ends the run with its message, not a crash', () => {
    const { run } = start(miniImage(seamcallThenRet), 'f', () => { throw new Error('boom in handler'); });
    expect(run.stop).toMatchObject({ kind: 'handler-error', message: 'boom in handler' });
  });

  it('finds trap sites only at statement starts, not inside an immediate', () => {
    const img = miniImage([{ label: 'f', ...X.movabsSeamcallBytes }, X.seamcall, X.tdcall, X.ret]);
    const sites = findTrapSites(img, new SourceMap(img));
    expect(sites).toEqual([{ address: MINI_BASE + 10n, kind: 'seamcall' }, { address: MINI_BASE + 14n, kind: 'tdcall' }]);
  });
});

describe('the CPU environment decides before the handler', () => {
  const cases: [string, Partial<CpuEnv>, 'seamcall' | 'tdcall', string][] = [
    ['SEAMCALL outside VMX operation', { vmx: false }, 'seamcall', 'UD'],
    ['SEAMCALL at CPL 3', { cpl: 3 }, 'seamcall', 'GP'],
    ['SEAMCALL with SEAMRR disabled', { seamrr: false }, 'seamcall', 'GP'],
    ['SEAMCALL outside VMX and at CPL 3 (#UD is checked first)', { vmx: false, cpl: 3 }, 'seamcall', 'UD'],
    ['TDCALL outside a TD', { inTd: false }, 'tdcall', 'UD'],
    ['TDCALL at CPL 3', { cpl: 3 }, 'tdcall', 'GP'],
  ];
  for (const [name, env, kind, vector] of cases) {
    it(`${name} → #${vector}, handler not asked`, () => {
      let asked = 0;
      const img = miniImage([{ label: 'f', ...(kind === 'seamcall' ? X.seamcall : X.tdcall) }, X.ret]);
      const { run } = start(img, 'f', () => { asked++; return { kind: 'return', rax: 0n }; }, { env: { ...(kind === 'seamcall' ? HOST_ENV : GUEST_ENV), ...env } });
      expect(asked).toBe(0);
      expect(run.stop).toMatchObject({ kind: 'oops', vectorName: vector, address: MINI_BASE });
      expect(run.seamCalls[0]!.path).toBe('oops');
    });
  }
});

describe('faults go through the exception table like the kernel', () => {
  // f: seamcall; ret; fixup: ret
  const img = (type: number) => miniImage([{ label: 'f', ...X.seamcall }, X.ret, { label: 'fixup', ...X.ret }], { extable: [['f', 'fixup', type]] });

  it('EX_TYPE_FAULT: continue at the fixup with RAX = trap number (#UD 6, #GP 13)', () => {
    for (const [vector, n] of [['UD', 6n], ['GP', 13n]] as const) {
      const { run } = start(img(2), 'f', () => ({ kind: 'fault', vector }));
      expect(run.stop.kind).toBe('returned');
      expect(run.seamCalls[0]!.path).toBe('exception-table');
      expect(run.seamCalls[0]!.regsOut.rax).toBe(n);
      expect(run.seamCalls[0]!.ripOut).toBe(MINI_BASE + 5n);
      expect(run.fixups).toEqual([{ vector: Number(n), address: MINI_BASE, fixup: MINI_BASE + 5n }]);
    }
  });

  it('EX_TYPE_DEFAULT: continue at the fixup with RAX untouched', () => {
    const { run } = start(img(1), 'f', () => ({ kind: 'fault', vector: 'GP' }));
    expect(run.stop.kind).toBe('returned');
    expect(run.seamCalls[0]!.regsOut.rax).toBe(canary('rax'));
  });

  it('no entry: the run ends with an oops naming the instruction, its source line and macro stack', () => {
    const { run } = start(miniImage(seamcallThenRet), 'f', () => ({ kind: 'fault', vector: 'UD' }));
    expect(run.stop).toMatchObject({ kind: 'oops', vector: 6, vectorName: 'UD', address: MINI_BASE });
    const loc = (run.stop as { location: Parameters<typeof formatLocation>[0] }).location;
    expect(formatLocation(loc)).toBe('f test/mini.S:1: seamcall, in .macro MINI invoked at test/caller.S:7');
  });

  it('any other undefined opcode raises #UD through the same path', () => {
    const withEntry = miniImage([{ label: 'f', ...X.nop }, { label: 'bad', ...X.ud2 }, X.ret, { label: 'fixup', ...X.ret }], { extable: [['bad', 'fixup', 2]] });
    const { run } = start(withEntry);
    expect(run.stop.kind).toBe('returned');
    expect(run.fixups).toEqual([{ vector: 6, address: MINI_BASE + 1n, fixup: MINI_BASE + 4n }]);
    const { m, run: run2 } = start(miniImage([{ label: 'f', ...X.nop }, X.ud2, X.ret]));
    expect(run2.stop).toMatchObject({ kind: 'oops', vectorName: 'UD', address: MINI_BASE + 1n });
    expect((run2.stop as { location: { text: string } }).location.text).toBe('ud2');
    m.regs.read();
  });

  it('int3 in the code is an oops (#BP) at its address', () => {
    const { run } = start(miniImage([{ label: 'f', ...X.nop }, X.int3, X.ret]));
    expect(run.stop).toMatchObject({ kind: 'oops', vectorName: 'BP', address: MINI_BASE + 1n });
  });
});

describe('wild accesses, stubs and limits', () => {
  it('a read from unmapped memory is a fault with the instruction and source line', () => {
    const { run } = start(miniImage([{ label: 'f', ...X.nop }, X.loadRaxToRbx, X.ret]), 'f', undefined, { regs: { rax: 0xdead0000n } });
    expect(run.stop).toMatchObject({ kind: 'fault', access: 'read', address: 0xdead0000n, size: 8, rip: MINI_BASE + 1n });
    expect((run.stop as { location: { location: { pos: { line: number } } } }).location.location.pos.line).toBe(2);
  });

  it('a write into the guard page below the stack is a fault', () => {
    const m0 = new Machine(miniImage([{ label: 'f', ...X.ret }]));
    const guard = m0.layout.stackBase - 8n;
    m0.close();
    const { run } = start(miniImage([{ label: 'f', ...X.storeRbxToRax }, X.ret]), 'f', undefined, { regs: { rax: guard } });
    expect(run.stop).toMatchObject({ kind: 'fault', access: 'write', address: guard });
  });

  it('a write to the read-only text is a fault', () => {
    const { run } = start(miniImage([{ label: 'f', ...X.storeRbxToRax }, X.ret]), 'f', undefined, { regs: { rax: MINI_BASE } });
    expect(run.stop).toMatchObject({ kind: 'fault', access: 'write', address: MINI_BASE });
  });

  it('a page fault at an EX_TYPE_FAULT instruction continues at the fixup with RAX = 14', () => {
    const img = miniImage([{ label: 'f', ...X.loadRaxToRbx }, X.ret, { label: 'fixup', ...X.ret }], { extable: [['f', 'fixup', 2]] });
    const { m, run } = start(img, 'f', undefined, { regs: { rax: 0xdead0000n } });
    expect(run.stop.kind).toBe('returned');
    m.regs.read();
    expect(m.regs.values[0]).toBe(14n);
  });

  it('calling a noreturn stub ends the run with a panic naming it and the caller', () => {
    const stmts: MiniStmt[] = [{ label: 'f', ...X.nop }];
    stmts.push(callRel(MINI_BASE + 1n, MINI_BASE + 7n), X.ret, { label: '__tdx_hypercall_failed', ...X.int3 });
    const { run } = start(miniImage(stmts, { noreturn: ['__tdx_hypercall_failed'] }));
    expect(run.stop).toMatchObject({ kind: 'panic', stub: '__tdx_hypercall_failed', caller: { address: MINI_BASE + 1n } });
  });

  it('the instruction budget ends an endless loop with a runaway listing the last instructions', () => {
    const { run } = start(miniImage([{ label: 'f', ...X.nop }, X.jmpSelf]), 'f', undefined, { budget: 50 });
    expect(run.stop.kind).toBe('runaway');
    const r = run.stop as Extract<MachineRun['stop'], { kind: 'runaway' }>;
    expect(r.limit).toBe('instructions');
    expect(r.budget).toBe(50);
    expect(r.last.length).toBe(16);
    expect(r.last.every((t) => t.address === MINI_BASE + 1n)).toBe(true);
    expect(r.last[0]!.location!.text).toBe('jmp .');
    // `instructions` counts instructions executed: the 51st is refused before it runs.
    expect(run.instructions).toBe(50);
  });

  it('the wall-clock limit ends an endless loop with a runaway', () => {
    const { run } = start(miniImage([{ label: 'f', ...X.nop }, X.jmpSelf]), 'f', undefined, { budget: 1e12, timeLimitMs: 100 });
    expect(run.stop).toMatchObject({ kind: 'runaway', limit: 'time', timeLimitMs: 100 });
  });

  it('the wall-clock limit ends an endless loop in batch mode too (no per-instruction hook; Unicorn\'s timeout, polled coarsely)', () => {
    const image = miniImage([{ label: 'f', ...X.nop }, X.jmpSelf]);
    const m = new Machine(image, { mode: 'batch' });
    machines.push(m);
    m.uc.longRuns = true;
    const addr = image.symbols.find((s) => s.name === 'f')!.address;
    planCall(m, VOID_ABI, addr, { leaf: 0n, inputs: {} });
    const run = m.run({ entry: addr, serve: serveWithEnvironment({ name: 'test', handle: () => ({ kind: 'return', rax: 0n }) }), handlerName: 'test', env: HOST_ENV, budget: 0, timeLimitMs: 100 });
    expect(run.stop).toMatchObject({ kind: 'runaway', limit: 'time', timeLimitMs: 100 });
  });

  it('records every store with the storing instruction', () => {
    const { m, run } = start(miniImage([{ label: 'f', ...X.pushRax }, X.popRcx, X.ret]));
    expect(run.stores).toEqual([{ address: m.entryRsp - 8n, size: 8, rip: MINI_BASE }]);
  });
});
