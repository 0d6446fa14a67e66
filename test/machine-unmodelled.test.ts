/**
 * Emulation that does not lie (issue 18 class 6).
 *
 * Instructions the machine does not model end the run, before they
 * execute, with their own stop reason at their source line, in both modes
 * (src/machine/code-scan.ts). Before, Unicorn ran them as it runs them: a
 * `syscall` as a no-op (the run said ok), `hlt` stopping emulation short
 * of the sentinel (the run said "runaway: over 1000000 instructions"),
 * `wrmsr`/`cli` changing state nothing models. Encodings from the Intel SDM
 * Vol. 2 opcode maps: SYSCALL 0F 05, SYSRET REX.W 0F 07, HLT F4, WRMSR 0F
 * 30, RDMSR 0F 32, CLI FA, STI FB, IN AL,DX EC, IN AL,imm8 E4 ib, OUT DX,AL
 * EE, INSB 6C, OUTSB 6E.
 *
 * A branch or `ret` to a non-canonical address raises #GP(0) at the branch,
 * which does not execute (SDM Vol. 2A JMP/CALL "64-Bit Mode Exceptions:
 * #GP(0) If the target offset … is non-canonical"; Vol. 2B RET: "IF the
 * return address is not canonical THEN #GP(0)", checked before RSP is
 * updated): RIP stays at the branch and RSP as it was. Unicorn executes the
 * branch and faults fetching the target; the silicon oracle found it
 * (test/oracle.test.ts checks the same instructions on the CPU).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Machine, type MachineMode, type MachineRun } from '../src/machine/machine.js';
import { scanCode } from '../src/machine/code-scan.js';
import { loadStepRecorder } from '../src/machine/native-steps.js';
import { SLOT } from '../src/machine/register-file.js';
import { planCall } from '../src/run/plan.js';
import type { FunctionAbi } from '../src/intake/types.js';
import { HOST_ENV } from '../src/seam/types.js';
import { serveWithEnvironment } from '../src/seam/env.js';
import { endText } from '../src/report/run-report.js';
import { MINI_BASE, X, miniImage, type MiniStmt } from './support/mini-image.js';
import type { Image } from '../src/image/types.js';

const VOID_ABI: FunctionAbi = { prototype: 'void f(void);', declaredAt: { file: 't.h', line: 1 }, returns: { kind: 'void' }, params: [] };
const EX_TYPE_FAULT = 2;
const NON_CANONICAL = 0x8000000000000000n;
const IF = 1n << 9n;

let machines: Machine[] = [];
afterEach(() => {
  for (const m of machines) m.close();
  machines = [];
});

function run(image: Image, mode: MachineMode, regs: Partial<Record<keyof typeof SLOT, bigint>> = {}): { m: Machine; run: MachineRun } {
  const m = new Machine(image, { mode });
  machines.push(m);
  const addr = image.symbols.find((s) => s.name === 'f')!.address;
  planCall(m, VOID_ABI, addr, { leaf: 0n, inputs: {} });
  m.regs.read();
  for (const [r, v] of Object.entries(regs)) m.regs.values[SLOT[r as keyof typeof SLOT]] = v;
  m.regs.write();
  return {
    m,
    run: m.run({ entry: addr, serve: serveWithEnvironment({ name: 't', handle: () => ({ kind: 'return', rax: 0n }) }), handlerName: 't', env: HOST_ENV, budget: mode === 'batch' ? 0 : 1_000_000, timeLimitMs: 5000 }),
  };
}

const movabsRax = (v: bigint): MiniStmt => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return { bytes: [0x48, 0xb8, ...b], text: `movabs $0x${v.toString(16)},%rax` };
};

const UNMODELLED: [string, MiniStmt, string][] = [
  ['syscall', { bytes: [0x0f, 0x05], text: 'syscall' }, 'syscall'],
  ['sysretq', { bytes: [0x48, 0x0f, 0x07], text: 'sysretq' }, 'sysret'],
  ['hlt', { bytes: [0xf4], text: 'hlt' }, 'hlt'],
  ['wrmsr', { bytes: [0x0f, 0x30], text: 'wrmsr' }, 'wrmsr'],
  ['rdmsr', { bytes: [0x0f, 0x32], text: 'rdmsr' }, 'rdmsr'],
  ['cli', { bytes: [0xfa], text: 'cli' }, 'cli'],
  ['sti', { bytes: [0xfb], text: 'sti' }, 'sti'],
  ['in %dx,%al', { bytes: [0xec], text: 'in %dx,%al' }, 'in'],
  ['in $0x60,%al', { bytes: [0xe4, 0x60], text: 'in $0x60,%al' }, 'in'],
  ['out %al,%dx', { bytes: [0xee], text: 'out %al,%dx' }, 'out'],
  ['insb', { bytes: [0x6c], text: 'insb (%dx),%es:(%rdi)' }, 'ins'],
  ['rep outsb', { bytes: [0xf3, 0x6e], text: 'rep outsb %ds:(%rsi),(%dx)' }, 'outs'],
];

describe.each(['single', 'batch'] as const)('instructions the machine does not model (%s mode)', (mode) => {
  for (const [name, insn, mnemonic] of UNMODELLED) {
    it(`${name} ends the run before it executes, at its source line`, () => {
      const image = miniImage([{ label: 'f', ...X.nop }, X.nop, insn, X.ret]);
      const { m, run: r } = run(image, mode);
      expect(r.stop).toMatchObject({ kind: 'unmodelled', mnemonic, address: MINI_BASE + 2n, location: { location: { pos: { file: 'test/mini.S', line: 3 } } } });
      expect(endText(r.stop)).toMatch(new RegExp(`^unmodelled instruction ${mnemonic} at .*test/mini\\.S:3.* \\(it .*\\)$`));
      // Not executed: RIP is at it, and (cli) IF is still set.
      m.regs.read();
      expect(m.regs.values[SLOT.rip]).toBe(MINI_BASE + 2n);
      expect(m.regs.values[SLOT.rflags]! & IF).toBe(IF);
    });
  }

  it('hlt after 23 instructions is that, not a runaway over the instruction budget', () => {
    const image = miniImage([{ label: 'f', ...X.nop }, ...Array.from({ length: 22 }, () => X.nop), { bytes: [0xf4], text: 'hlt' }, X.ret]);
    const r = run(image, mode).run;
    expect(r.stop).toMatchObject({ kind: 'unmodelled', mnemonic: 'hlt', address: MINI_BASE + 23n });
  });

  it('the same bytes inside another instruction are not an instruction: the run returns', () => {
    // movabs $0x6cee_ecfa_f40f_300f, %rax holds 0f 30, f4, fa, ec, ee, 6c; movabs $…0f05 holds a syscall.
    const image = miniImage([{ label: 'f', ...movabsRax(0x6ceeecfaf40f300fn) }, movabsRax(0x050f050f050f050fn), X.ret]);
    expect(run(image, mode).run.stop).toEqual({ kind: 'returned' });
  });
});

describe('the scan finds every possible start, including .byte-written code and prefixes', () => {
  it('lists a site per decodable offset; a prefix run gives one site per prefix', () => {
    const scan = scanCode(miniImage([{ label: 'f', bytes: [0x66, 0x48, 0x0f, 0x05], text: '.byte 0x66,0x48,0x0f,0x05' }, X.ret]));
    expect(scan.unmodelled.map((s) => [Number(s.address - MINI_BASE), s.mnemonic])).toEqual([[0, 'syscall'], [1, 'syscall'], [2, 'syscall']]);
    expect(scan.branches.map((s) => [Number(s.address - MINI_BASE), s.mnemonic])).toEqual([[4, 'ret']]);
  });
});

// Recorded mode (the native step recorder: traces, goldens) checks branches as single mode does, so a trace shows
// what the CPU does; batch mode leaves them to Unicorn (a fetch fault at the target).
const BRANCH_MODES: MachineMode[] = loadStepRecorder().ok ? ['single', 'recorded'] : ['single'];

describe.each(BRANCH_MODES)('a branch to a non-canonical address raises #GP(0) at the branch, which does not execute (%s mode)', (mode) => {
  const pushRax = { bytes: [0x50], text: 'push %rax' };
  const cases: [string, MiniStmt[], Partial<Record<keyof typeof SLOT, bigint>>][] = [
    ['ret to a pushed non-canonical address', [movabsRax(NON_CANONICAL), pushRax, X.ret], {}],
    ['jmp *%rax', [movabsRax(NON_CANONICAL), { bytes: [0xff, 0xe0], text: 'jmp *%rax' }], {}],
    ['call *%rax', [movabsRax(NON_CANONICAL), { bytes: [0xff, 0xd0], text: 'call *%rax' }], {}],
    ['jmp *(%rsp)', [movabsRax(NON_CANONICAL), pushRax, { bytes: [0xff, 0x24, 0x24], text: 'jmp *(%rsp)' }], {}],
    ['call *0x8(%rsp,%rcx,8)', [movabsRax(NON_CANONICAL), pushRax, pushRax, { bytes: [0xff, 0x54, 0xcc, 0x08], text: 'call *0x8(%rsp,%rcx,8)' }], { rcx: 0n }],
  ];
  for (const [name, body, regs] of cases) {
    it(name, () => {
      const stmts: MiniStmt[] = [{ label: 'f', ...body[0]! }, ...body.slice(1)];
      const image = miniImage(stmts);
      const branchAt = MINI_BASE + BigInt(stmts.slice(0, -1).reduce((n, s) => n + s.bytes.length, 0));
      const { m, run: r } = run(image, mode, regs);
      expect(r.stop).toMatchObject({ kind: 'oops', vector: 13, vectorName: 'GP', address: branchAt, location: { location: { pos: { line: stmts.length } } } });
      expect((r.stop as { cause: string }).cause).toMatch(/non-canonical address 0x8000000000000000/);
      // Not executed: RIP at the branch, and RSP as the pushes left it (a ret did not pop, a call did not push).
      m.regs.read();
      expect(m.regs.values[SLOT.rip]).toBe(branchAt);
      const pushes = stmts.filter((s) => s.bytes[0] === 0x50).length;
      expect(m.entryRsp - m.regs.values[SLOT.rsp]!).toBe(BigInt(8 * pushes));
    });
  }

  it('jmp *disp(%rip) reads its target from the image', () => {
    const stmts: MiniStmt[] = [{ label: 'f', bytes: [0xff, 0x25, 0x00, 0x00, 0x00, 0x00], text: 'jmp *0(%rip)' }, { bytes: [0, 0, 0, 0, 0, 0, 0, 0x80], text: '.quad 0x8000000000000000' }];
    expect(run(miniImage(stmts), mode).run.stop).toMatchObject({ kind: 'oops', vector: 13, address: MINI_BASE });
  });

  it('with an EX_TYPE_FAULT entry at the ret, execution continues at the fixup with RAX = 13 (X86_TRAP_GP)', () => {
    const stmts: MiniStmt[] = [{ label: 'f', ...movabsRax(NON_CANONICAL) }, pushRax, { label: 'bad', ...X.ret }, { label: 'fixup', bytes: [0x59], text: 'pop %rcx' }, X.ret];
    const { m, run: r } = run(miniImage(stmts, { extable: [['bad', 'fixup', EX_TYPE_FAULT]] }), mode);
    expect(r.stop).toEqual({ kind: 'returned' });
    expect(r.fixups).toEqual([{ vector: 13, address: MINI_BASE + 11n, fixup: MINI_BASE + 12n }]);
    m.regs.read();
    expect(m.regs.values[SLOT.rax]).toBe(13n);
  });

  it('a canonical target is taken as before', () => {
    const stmts: MiniStmt[] = [{ label: 'f', ...movabsRax(MINI_BASE + 12n) }, { bytes: [0xff, 0xe0], text: 'jmp *%rax' }, X.ret];
    expect(run(miniImage(stmts), mode).run.stop).toEqual({ kind: 'returned' });
  });
});
