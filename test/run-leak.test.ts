/**
 * The leak check: register origins followed with Capstone's regs-access, and
 * the verdict against what each function promises. Expectations come from
 * the kernel source (tdxcall.S read from the cached tree), tdx-facts.md and
 * the x86 instruction semantics (Intel SDM Vol. 2), not from earlier runs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDisassembler, type Disassembler } from '../src/encode/capstone.js';
import { resolveRevision } from '../src/intake/revision.js';
import { decodeAccess } from '../src/run/origins.js';
import { runScenario, type RunResult } from '../src/run/run.js';
import { BUILTIN_SCENARIOS } from '../src/seam/builtin-scenarios.js';
import { testImage } from './support/images.js';
import { makePatch, treeFile } from './support/patches.js';
import { seamlab } from './support/cli.js';

const TDXCALL = 'arch/x86/virt/vmx/tdx/tdxcall.S';
const scenario = (n: string) => BUILTIN_SCENARIOS.find((s) => s.name === n)!;
let disasm: Disassembler;
beforeAll(async () => { disasm = await loadDisassembler(); });

function run(rev: string, fnName: string, sc: string): RunResult {
  const r = resolveRevision(rev);
  const fn = r.functions.find((f) => f.name === fnName)!;
  return runScenario(testImage(r, fn.sourceFile), fn, scenario(sc), { revision: rev });
}

/** 1-based lines of the cached 6.12 tdxcall.S matching `re`. */
function lines612(re: RegExp): number[] {
  return treeFile('linux-6.12', TDXCALL).split('\n').flatMap((l, i) => (re.test(l) ? [i + 1] : []));
}

describe('Capstone regs-access (one home: src/encode/capstone.ts)', () => {
  const acc = (bytes: number[]) => disasm.access(Uint8Array.from(bytes), 0, 0x1000n);
  it('reports explicit and implicit registers as the SDM defines the instructions', () => {
    // PUSH r64: reads the operand and RSP, writes RSP (SDM Vol. 2B PUSH).
    expect(acc([0x41, 0x54])).toMatchObject({ regsRead: ['rsp', 'r12'], regsWrite: ['rsp'] });
    // POP r64: reads RSP (and memory), writes the operand and RSP.
    expect(acc([0x5e])).toMatchObject({ regsRead: ['rsp'], regsWrite: ['rsp', 'rsi'] });
    // XOR r32, r32: reads and writes the operand, writes the flags.
    expect(acc([0x45, 0x31, 0xd2])).toMatchObject({ regsRead: ['r10d'], regsWrite: ['rflags', 'r10d'] });
    // MOV r64 → m64: the base register forms the address.
    expect(acc([0x4c, 0x89, 0x46, 0x10])).toMatchObject({ regsRead: ['r8', 'rsi'], regsWrite: [], addressRegs: ['rsi'] });
    // Jcc reads RFLAGS only.
    expect(acc([0x72, 0x10])).toMatchObject({ regsRead: ['rflags'], regsWrite: [] });
  });
  it('reports nothing for SEAMCALL and TDCALL (what they write is the SEAM side\'s outcome)', () => {
    expect(acc([0x66, 0x0f, 0x01, 0xcf])).toMatchObject({ insn: { text: 'seamcall' }, regsRead: [], regsWrite: [] });
    expect(acc([0x66, 0x0f, 0x01, 0xcc])).toMatchObject({ insn: { text: 'tdcall' }, regsRead: [], regsWrite: [] });
  });
  it('classifies zeroing idioms, moves and data registers', () => {
    const d = (bytes: number[]) => decodeAccess(acc(bytes));
    expect(d([0x45, 0x31, 0xd2])).toMatchObject({ zeroing: true, writes: [{ reg: 'r10', bits: 32 }] });
    // xorl $5, %eax is not a zeroing idiom.
    expect(d([0x83, 0xf0, 0x05])).toMatchObject({ zeroing: false });
    // movq %rsi, 0x60(%rax): RSI is data, RAX only the address.
    expect(d([0x48, 0x89, 0x70, 0x60])).toMatchObject({ move: true, data: ['rsi'] });
    // orq %rdi, %rax: both are data; not a move.
    expect(d([0x48, 0x09, 0xf8])).toMatchObject({ move: false, data: ['rdi', 'rax'], writes: [{ reg: 'rax', bits: 64 }] });
  });
});

describe('leak check', () => {
  it('6.12 __tdcall_saved_ret × vmcall: the 12 registers tdxcall.S clears are the promise, and nothing the VMM wrote survives', () => {
    const r = run('linux-6.12', '__tdcall_saved_ret', 'vmcall');
    expect(r.leak?.tracked).toBe(true);
    if (!r.leak?.tracked) return;
    // tdxcall.S `.if \saved && \ret`: xorl of ECX, EDX, R8D–R15D, EBX, EDI after the call.
    const fromSource = treeFile('linux-6.12', TDXCALL).split('\n').flatMap((l) => {
      const m = /^\txorl %(\w+),\s*%\1$/.exec(l);
      return m ? [m[1]!.replace(/^e(\w\w)$/, 'r$1').replace(/^(r\d+)d$/, '$1')] : [];
    });
    expect(fromSource).toHaveLength(12);
    expect(r.leak.promise.scrubs).toBe(true);
    expect(r.leak.promise.zeroed.map((z) => z.register).sort()).toEqual([...fromSource].sort());
    expect(r.leak.leftovers).toEqual([]);
    expect(r.checks.find((c) => c.name === 'leak')).toMatchObject({ status: 'pass' });
  });

  it('a patch that drops `xorl %r10d, %r10d` fails the check, naming R10, its value and the TDCALL that wrote it', () => {
    const patch = makePatch('linux-6.12', TDXCALL, 'leak-drop-xorl-r10', (t) => t.replace(/\n\txorl %r10d, %r10d\n/, '\n'));
    const r = run(`linux-6.12+${patch}`, '__tdcall_saved_ret', 'vmcall');
    const leak = r.checks.find((c) => c.name === 'leak')!;
    expect(leak.status).toBe('fail');
    expect(r.ok).toBe(false);
    // The VMM's GHCI status comes back in R10 (tdx-facts.md §2.4); MapGPA of an aligned range succeeds: 0.
    expect(r.leak?.tracked && r.leak.leftovers.map((l) => [l.register, l.value, l.origin.from, l.origin.seamCall])).toEqual([['r10', 0n, 'r10', 0]]);
    // The last writer is the TDCALL itself, on its line in tdxcall.S.
    const tdcallLine = lines612(/^\ttdcall$/)[0]!;
    expect(leak.detail).toContain(`${TDXCALL}:${tdcallLine}`);
    expect(leak.detail).toMatch(/^SEAM values survive the clearing after the call \(11 registers cleared\): r10 = 0x0 from SEAM call #0 R10/);
  });

  it('`seamlab run` on the patched revision prints the failed leak check and exits 1', () => {
    const patch = makePatch('linux-6.12', TDXCALL, 'leak-cli-drop-xorl-r10', (t) => t.replace(/\n\txorl %r10d, %r10d\n/, '\n'));
    const res = seamlab(['run', `linux-6.12+${patch}`, '--fn', '__tdcall_saved_ret', '--scenario', 'vmcall', '--details']);
    expect(res.status).toBe(1);
    expect(res.stdout).toMatch(/fail +leak +SEAM values survive the clearing after the call \(11 registers cleared\): r10 = 0x0 from SEAM call #0 R10/);
    const good = seamlab(['run', 'linux-6.12', '--fn', '__tdcall_saved_ret', '--scenario', 'vmcall', '--details']);
    expect(good.status).toBe(0);
    expect(good.stdout).toMatch(/pass +leak +no SEAM-produced value left/);
  });

  it('v3 __seamcall × success: R0 clears nothing, so the module\'s R8 left in R8 is listed but passes; it was also stored to *out', () => {
    const r = run('v3', '__seamcall', 'success');
    if (!r.leak?.tracked) throw new Error('not tracked');
    expect(r.leak.promise).toEqual({ scrubs: false, zeroed: [] });
    // TDH.SYS.RD writes R8 (tdx-facts.md §7); R0 stores RCX, RDX, R8–R11 into *out and zeroes nothing (§1.1).
    const r8 = r.leak.leftovers.find((l) => l.register === 'r8')!;
    expect(r8).toMatchObject({ value: 64n, origin: { seamCall: 0, from: 'r8', derived: false }, storedToStruct: true });
    expect(r.checks.find((c) => c.name === 'leak')).toMatchObject({ status: 'pass', detail: expect.stringMatching(/promises only RAX: .*r8 = 0x40 from SEAM call #0 R8/) });
  });

  it('6.12 __seamcall (ret=0) × success: the module\'s RDX and R8 stay where it left them and are stored nowhere (outputs copied back: none)', () => {
    const r = run('linux-6.12', '__seamcall', 'success');
    if (!r.leak?.tracked) throw new Error('not tracked');
    // TDH.SYS.RD writes RDX (the next field id) and R8 (the value): tdx-module tdh_sys_rd.c; 6.12 __seamcall stores neither (tdxcall.S ret=0).
    expect(r.leak.leftovers.map((l) => [l.register, l.storedToStruct])).toEqual([['rdx', false], ['r8', false]]);
    expect(r.checks.find((c) => c.name === 'leak')!.status).toBe('pass');
  });

  it('the status goes through the stack in __seamcall_saved_ret (pushq %rax … popq %rax) and is allowed in RAX', () => {
    const r = run('linux-6.12', '__seamcall_saved_ret', 'success');
    if (!r.leak?.tracked) throw new Error('not tracked');
    expect(r.leak.leftovers).toEqual([]);
    expect(r.returnValue).toBe(0n);
  });

  it('is n/a where the run did not return (v3 oopses on #UD)', () => {
    const r = run('v3', '__seamcall', 'ud');
    expect(r.checks.find((c) => c.name === 'leak')).toMatchObject({ status: 'n/a' });
  });
});
