/**
 * The System V harness: the checks catch each kind of ABI breakage in small
 * hand-made functions, the ABI description alone decides where inputs go,
 * and two kernel behaviours are checked with deliberately non-zero values
 * (R5 `saved ret` zeroing, R5 `ret` storing nothing on VMfailInvalid).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { canary, planCall, hasOutputPointer } from '../src/run/plan.js';
import { checkCall } from '../src/run/check.js';
import { runScenario, type RunResult } from '../src/run/run.js';
import type { CType, FunctionAbi, StructLayout } from '../src/intake/types.js';
import { resolveRevision } from '../src/intake/revision.js';
import { DEFAULT_LAYOUT } from '../src/machine/layout.js';
import { Machine } from '../src/machine/machine.js';
import { serveWithEnvironment } from '../src/seam/env.js';
import type { Scenario } from '../src/seam/scenario.js';
import { HOST_ENV } from '../src/seam/types.js';
import { MINI_BASE, X, miniImage, type MiniStmt } from './support/mini-image.js';
import { testImage } from './support/images.js';

const u64: CType = { kind: 'int', name: 'u64', size: 8, signed: false };
const pair: StructLayout = {
  name: 'pair', size: 16, align: 8, definedAt: { file: 't.h', line: 1 },
  fields: [{ name: 'rcx', offset: 0, size: 8, type: u64 }, { name: 'other', offset: 8, size: 8, type: u64 }],
};
const ptr = (layout: StructLayout): CType => ({ kind: 'pointer', to: { kind: 'struct', layout }, spelled: `struct ${layout.name}` });
/** u64 f(u64 fn, u64 rdx, struct pair *args) */
const ABI: FunctionAbi = {
  prototype: 'u64 f(u64 fn, u64 rdx, struct pair *args);', declaredAt: { file: 't.h', line: 2 }, returns: u64,
  params: [{ name: 'fn', register: 'rdi', type: u64 }, { name: 'rdx', register: 'rsi', type: u64 }, { name: 'args', register: 'rdx', type: ptr(pair) }],
};

let machines: Machine[] = [];
afterEach(() => { machines.forEach((m) => m.close()); machines = []; });

function harness(stmts: MiniStmt[], leaf = 0n) {
  const img = miniImage([{ ...stmts[0]!, label: 'f' }, ...stmts.slice(1)]);
  const m = new Machine(img);
  machines.push(m);
  const plan = planCall(m, ABI, MINI_BASE, { leaf, inputs: { rcx: 0x11n, rdx: 0x22n, r9: 0x33n } });
  const run = m.run({ entry: MINI_BASE, serve: serveWithEnvironment({ name: 't', handle: () => ({ kind: 'return', rax: 0n }) }), handlerName: 't', env: HOST_ENV, budget: 100, timeLimitMs: 2000 });
  return { m, plan, run, h: checkCall(m, plan, run) };
}
const status = (h: ReturnType<typeof checkCall>) => Object.fromEntries(h.checks.map((c) => [c.name, c.status]));

describe('ABI checks catch what breaks the C caller', () => {
  it('a well-behaved function passes every check', () => {
    // No register origins were tracked here (checkCall without a tracker): the leak check says so.
    expect(status(harness([X.ret]).h)).toEqual({ 'callee-saved': 'pass', rsp: 'pass', df: 'pass', 'stack-writes': 'pass', 'memory-writes': 'pass', leak: 'n/a' });
  });
  it('a clobbered callee-saved register', () => {
    const { h } = harness([X.clobberRbx, X.ret]);
    expect(status(h)['callee-saved']).toBe('fail');
    expect(h.checks[0]!.detail).toMatch(/^rbx 0xcafe0003c0de0003 → 0x0$/);
  });
  it('RSP not back at entry + 8 (ret $8)', () => {
    const { h } = harness([{ bytes: [0xc2, 0x08, 0x00], text: 'ret $8' }]);
    expect(status(h).rsp).toBe('fail');
  });
  it('DF set on return', () => {
    expect(status(harness([X.std, X.ret]).h).df).toBe('fail');
  });
  it('a store at or above the entry RSP (into the caller frame)', () => {
    const { h } = harness([X.storeAboveRsp, X.ret]);
    expect(status(h)['stack-writes']).toBe('fail');
    expect(h.checks[3]!.detail).toMatch(/8 bytes at 0x[0-9a-f]+ \(stack\) by f test\/mini.S:1: mov %rbx,0x10\(%rsp\)/);
  });
  it('a store outside the stack and the structs passed (here: physical memory through the leaf register)', () => {
    const { h } = harness([{ bytes: [0x48, 0x89, 0x1f], text: 'mov %rbx,(%rdi)' }, X.ret], DEFAULT_LAYOUT.physBase);
    expect(status(h)['memory-writes']).toBe('fail');
    expect(h.checks[4]!.detail).toMatch(/\(physical memory\)/);
  });
  it('a store into the struct passed is allowed and decoded by field name', () => {
    const { h } = harness([{ bytes: [0x48, 0x89, 0x5a, 0x08], text: 'mov %rbx,0x8(%rdx)' }, X.ret]);
    expect(status(h)['memory-writes']).toBe('pass');
    expect(h.outputs[0]!.fields).toEqual([
      { name: 'rcx', offset: 0, size: 8, value: 0x11n, initial: 0x11n, written: false },
      { name: 'other', offset: 8, size: 8, value: canary('rbx'), initial: 0n, written: true },
    ]);
  });
  it('places inputs by the ABI alone: leaf → RAX param, register-named params, struct fields; reports what cannot be passed', () => {
    const { plan } = harness([X.ret], 0x22n);
    expect(plan.params.map((p) => [p.name, p.register, p.role, p.value])).toEqual([
      ['fn', 'rdi', 'leaf', 0x22n], ['rdx', 'rsi', 'register', 0x22n], ['args', 'rdx', 'struct', DEFAULT_LAYOUT.callerBase],
    ]);
    expect(plan.unpassable).toEqual(['r9']);
    expect(plan.initialRegs.r9).toBe(canary('r9'));
    expect(plan.initialRegs.rbx).toBe(canary('rbx'));
  });
  it('distinct canaries in every register', () => {
    const names = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;
    expect(new Set(names.map((n) => canary(n))).size).toBe(16);
  });
  it('knows which ABIs have an output-only pointer', () => {
    expect(hasOutputPointer(ABI)).toBe(false);
    expect(hasOutputPointer({ ...ABI, params: [...ABI.params.slice(0, 2), { name: 'out', register: 'rdx', type: ptr(pair) }] })).toBe(true);
  });
});

describe('R5 behaviours with non-zero values everywhere', () => {
  const regs12 = { rcx: 0x101n, rdx: 0x102n, r8: 0x108n, r9: 0x109n, r10: 0x10an, r11: 0x10bn, r12: 0x10cn, r13: 0x10dn, r14: 0x10en, r15: 0x10fn, rbx: 0x103n, rdi: 0x107n };
  const inputs = { rcx: 0x201n, rdx: 0x202n, r8: 0x208n, r9: 0x209n, r10: 0x20an, r11: 0x20bn, r12: 0x20cn, r13: 0x20dn, r14: 0x20en, r15: 0x20fn, rbx: 0x203n, rdi: 0x207n, rsi: 0x206n };
  const scripted = (answer: Scenario['cases']['seamcall'] extends infer T ? T extends { handler: infer H } ? H : never : never): Scenario => ({
    name: 't', summary: 't', source: 'test', cases: { seamcall: { call: { leaf: 34n, inputs }, env: { ...HOST_ENV }, handler: answer } },
  });

  it('__seamcall_saved_ret stores all 13 registers, then zeroes the 12 and restores RBX, R12–R15', () => {
    const rev = resolveRevision('linux-6.12');
    const fn = rev.functions.find((f) => f.name === '__seamcall_saved_ret')!;
    const r = runScenario(testImage(rev, fn.sourceFile), fn, scripted({ script: [{ kind: 'return', rax: 0n, regs: { ...regs12, rsi: 0x106n } }] }), { revision: 'linux-6.12' });
    expect(r.seamCalls[0]!.regsIn).toMatchObject(inputs);
    const args = Object.fromEntries(r.outputs[0]!.fields.map((f) => [f.name, f.value]));
    expect(args).toEqual({ ...regs12, rsi: 0x106n });
    for (const reg of ['rcx', 'rdx', 'r8', 'r9', 'r10', 'r11', 'rdi'] as const) expect(r.registersOut[reg], reg).toBe(0n);
    for (const reg of ['rbx', 'r12', 'r13', 'r14', 'r15', 'rbp'] as const) expect(r.registersOut[reg], reg).toBe(canary(reg));
    expect(r.registersOut.rsi).toBe(DEFAULT_LAYOUT.callerBase);
    expect(r.ok).toBe(true);
  });

  it('__seamcall_ret stores nothing on VMfailInvalid and leaves the module inputs in the registers', () => {
    const rev = resolveRevision('linux-6.12');
    const fn = rev.functions.find((f) => f.name === '__seamcall_ret')!;
    const r = runScenario(testImage(rev, fn.sourceFile), fn, scripted({ script: [{ kind: 'vmfailinvalid' }] }), { revision: 'linux-6.12' });
    expect(r.returnValue).toBe(0x8000FF00FFFF0000n);
    expect(r.outputs[0]!.fields.some((f) => f.written)).toBe(false);
    expect(r.registersOut.rcx).toBe(0x201n);
    expect(r.registersOut.r11).toBe(0x20bn);
  });

  it('v3 __seamcall stores RCX, RDX, R8–R11 into *out on VMfailInvalid, including the caller leftovers in R10/R11', () => {
    const rev = resolveRevision('v3');
    const fn = rev.functions.find((f) => f.name === '__seamcall')!;
    const r = runScenario(testImage(rev, fn.sourceFile), fn, scripted({ script: [{ kind: 'vmfailinvalid' }] }), { revision: 'v3' });
    expect(r.returnValue).toBe(0x8000FF00FFFF0000n);
    expect(Object.fromEntries(r.outputs[0]!.fields.map((f) => [f.name, [f.value, f.written]]))).toEqual({
      // fn, rcx, rdx, r8, r9 params: RSI→RCX, RDX, RCX→R8, R8→R9.
      rcx: [0x201n, true], rdx: [0x202n, true], r8: [0x208n, true], r9: [0x209n, true], r10: [canary('r10'), true], r11: [canary('r11'), true],
    });
    expect(r.call.unpassable).toEqual(['r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rbx', 'rdi', 'rsi']);
  });

  it('a module that clobbers RSI makes __seamcall_ret store through a wild pointer: a fault with the source line', () => {
    const rev = resolveRevision('linux-6.12');
    const fn = rev.functions.find((f) => f.name === '__seamcall_ret')!;
    const r = runScenario(testImage(rev, fn.sourceFile), fn, scripted({ script: [{ kind: 'return', rax: 0n, regs: { rsi: 0xdead0000n } }] }), { revision: 'linux-6.12' });
    expect(r.end).toMatchObject({ kind: 'fault', access: 'write', address: 0xdead0000n, size: 8 });
    const end = r.end as Extract<RunResult['end'], { kind: 'fault' }>;
    // The first store after the SEAMCALL: movq %rcx, TDX_MODULE_rcx(%rsi) in tdxcall.S (R5).
    expect(end.location!.location.pos.file).toMatch(/arch\/x86\/virt\/vmx\/tdx\/(tdxcall|seamcall)\.S$/);
    expect(end.location!.location.gasStack.map((f) => f.name)).toContain('TDX_MODULE_CALL');
    expect(r.ok).toBe(false);
  });
});
