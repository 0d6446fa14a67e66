/**
 * `seamlab debug` batch scripts on v3 `__seamcall`, with exact output: a
 * breakpoint on a line of the TDX_MODULE_CALL body, the registers and the
 * stack at the SEAMCALL, stepping into and over the macro invocation,
 * reverse-stepping across the SEAM call, watchpoints, `list` with the
 * expansion shown under the invocation; the CLI prints the same.
 *
 * Source lines and their text come from the kernel files themselves; the
 * values from tdx-facts.md §1.1 (RAX = leaf TDH.SYS.RD = 34, RDX = the
 * MAX_TDMRS field id 0x9100000100000008, the stack at the instruction: out
 * pointer, r12, rbp, return address — three pushes below the entry RSP) and
 * the SDM (VMsucceed clears every status flag); instruction offsets from
 * the encodings' lengths (push %rbp 1, mov %rsp,%rbp 3, push %r12 2,
 * push %r9 2, four reg-reg movs 3 each: the SEAMCALL is at +20, the jnc
 * after it at +24).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { runBatch } from '../src/cli/debug.js';
import { Debugger } from '../src/debug/debugger.js';
import { DebugRepl } from '../src/debug/repl.js';
import { resolveRevision } from '../src/intake/revision.js';
import { DEFAULT_LAYOUT } from '../src/machine/layout.js';
import { canary, ENTRY_RFLAGS } from '../src/run/plan.js';
import { builtinScenario } from '../src/seam/builtin-scenarios.js';
import { hexU64 } from '../src/support/format.js';

const TDX = 'arch/x86/virt/vmx/tdx/tdxcall.S';
const SC = 'arch/x86/virt/vmx/tdx/seamcall.S';
const ROOT = path.resolve(import.meta.dirname, '..');
const rev = resolveRevision('v3');

/** The kernel's own line: its number and `N\ttext` as gdb prints it. */
function src(file: string, re: RegExp): { n: number; shown: string } {
  const lines = rev.files.readFile(file)!.split('\n');
  const i = lines.findIndex((l) => re.test(l));
  if (i < 0) throw new Error(`no ${re} in ${file}`);
  return { n: i + 1, shown: `${i + 1}\t${lines[i]}` };
}

const reg = (name: string, value: string, natural: string) => `${name.padEnd(15)}${value.padEnd(19)}${natural}`;
const q = (v: bigint) => `0x${v.toString(16).padStart(16, '0')}`;

const open: Debugger[] = [];
afterEach(() => {
  for (const d of open.splice(0)) d.close();
});

async function debug(): Promise<{ d: Debugger; at: (off: number) => string; entryRsp: bigint }> {
  const d = await Debugger.open({ revision: rev, fn: '__seamcall', scenario: builtinScenario('success')! });
  open.push(d);
  const base = d.image.symbols.find((s) => s.name === '__seamcall')!.address;
  return { d, at: (off) => hexU64(base + BigInt(off)), entryRsp: d.registers().gprs.rsp };
}

async function script(d: Debugger, lines: string[]): Promise<string[]> {
  const out: string[] = [];
  const errors = await runBatch(new DebugRepl(d, (l) => out.push(l)), lines.join('\n') + '\n');
  expect(errors, out.join('\n')).toBe(0);
  return out;
}

describe('seamlab debug --batch', () => {
  it('breaks on a macro body line, shows registers and the stack, reverse-steps across the SEAM call', async () => {
    const { d, at, entryRsp } = await debug();
    const out = d.params().find((p) => p.name === 'out')!.value;
    const seam = src(TDX, /^\s*seamcall\s*$/);
    const jnc = src(TDX, /^\s*jnc \.Lno_vmfailinvalid/);
    const movRcx = src(TDX, /^\s*mov %rsi, %rcx/);
    const rsp = entryRsp - 24n;
    expect(await script(d, [
      `break tdxcall.S:${seam.n}`, 'run', 'info registers rax rdx rflags', 'p $rax', 'p/x $rdx', 'x/4gx $rsp',
      'stepi', 'info registers rax rflags', 'reverse-stepi', 'info seam', 'reverse-step', 'p $rcx',
    ])).toEqual([
      `Breakpoint 1 at ${at(0x14)}: file ${TDX}, line ${seam.n}.`,
      `Breakpoint 1, __seamcall+0x14 at ${TDX}:${seam.n}`,
      seam.shown,
      reg('rax', '0x22', '34'),
      reg('rdx', '0x9100000100000008', BigInt.asIntN(64, 0x9100000100000008n).toString()),
      reg('eflags', hexU64(ENTRY_RFLAGS), '[ OF IF SF ZF AF PF CF ]'),
      '$1 = 34',
      '$2 = 0x9100000100000008',
      `${hexU64(rsp)} <stack[rsp]>:\t${q(out)}\t${q(canary('r12'))}`,
      `${hexU64(rsp + 16n)} <stack[rsp+16]>:\t${q(canary('rbp'))}\t${q(DEFAULT_LAYOUT.sentinel)}`,
      `${at(0x18)}\t${jnc.shown}`,
      reg('rax', '0x0', '0'),
      reg('eflags', '0x202', '[ IF ]'),
      `${at(0x14)}\t${seam.shown}`,
      'No SEAM call has been made yet.',
      movRcx.shown,
      '$3 = 0',
    ]);
  });

  it('steps over TDX_MODULE_CALL with next, into it with step, out with finish; reverse-next passes it as one line', async () => {
    const { d, at } = await debug();
    const line = (re: RegExp) => src(SC, re);
    const begin = line(/^\s*FRAME_BEGIN/);
    const call = line(/^\s*TDX_MODULE_CALL host=1/);
    const end = line(/^\s*FRAME_END/);
    const ret = line(/^\s*ret\s*$/);
    const fn = line(/SYM_FUNC_START\(__seamcall\)/);
    const pushR12 = src(TDX, /^\s*push %r12/);
    const pushR9 = src(TDX, /^\s*push %r9/);
    expect(await script(d, ['info line', 'next', 'next', 'next', 'reverse-next', 'reverse-next', 'step', 'step', 'bt', 'finish', 'next', 'next', 'reverse-stepi'])).toEqual([
      `Line ${begin.n} of "${SC}" starts at address ${at(0)} <__seamcall> and ends at ${at(1)} <__seamcall+1>: push %rbp (frame.h:17 of the expansion).`,
      `Line ${begin.n} of "${SC}" starts at address ${at(1)} <__seamcall+1> and ends at ${at(4)} <__seamcall+4>: movq %rsp,%rbp (frame.h:18 of the expansion).`,
      call.shown,
      end.shown,
      ret.shown,
      end.shown,
      call.shown,
      `__seamcall+0x4 at ${TDX}:${pushR12.n}`,
      pushR12.shown,
      pushR9.shown,
      `#0  ${at(6)} in __seamcall+0x6 at ${TDX}:${pushR9.n}: push %r9`,
      `#1  TDX_MODULE_CALL host=1 at ${SC}:${call.n} (.macro TDX_MODULE_CALL, \\@ = 1)`,
      `#2  __seamcall at ${SC}:${fn.n}: u64 __seamcall(u64 fn, u64 rcx, u64 rdx, u64 r8, u64 r9, struct tdx_module_output *out);`,
      `__seamcall+0x4a at ${SC}:${end.n}`,
      end.shown,
      ret.shown,
      '[Run ended: returned 0x0 TDX_SUCCESS]',
      `__seamcall+0x4b at ${SC}:${ret.n}`,
      `${at(0x4b)}\t${ret.shown}`,
    ]);
  });

  it('watch on a struct field, continue, reverse-continue; print the struct', async () => {
    const { d } = await debug();
    const storeR8 = src(TDX, /movq %r8,\s+TDX_MODULE_r8\(%r12\)/);
    const storeR9 = src(TDX, /movq %r9,\s+TDX_MODULE_r9\(%r12\)/);
    const lines = await script(d, ['watch out->r8', 'continue', 'p/x out->r8', 'reverse-continue', 'p *out', 'info breakpoints']);
    const poison = '0x5a5a5a5a5a5a5a5a';
    const p = BigInt.asIntN(64, BigInt(poison));
    // Before the store of R8, RCX and RDX are already stored: what the SEAM call returned in them.
    const got = d.seamCalls()[0]!.regsOut;
    expect(lines).toEqual([
      'Hardware watchpoint 1: out->r8',
      'Hardware watchpoint 1: out->r8',
      '',
      `Old value = ${poison}`,
      'New value = 0x40',
      `__seamcall+0x39 at ${TDX}:${storeR9.n}`,
      storeR9.shown,
      '$1 = 0x40',
      'Hardware watchpoint 1: out->r8',
      '',
      'Old value = 0x40',
      `New value = ${poison}`,
      `__seamcall+0x34 at ${TDX}:${storeR8.n}`,
      storeR8.shown,
      `$2 = {rcx = ${BigInt.asIntN(64, got.rcx)}, rdx = ${BigInt.asIntN(64, got.rdx)}, r8 = ${p}, r9 = ${p}, r10 = ${p}, r11 = ${p}}`,
      'Num     Type           Disp Enb Address            What',
      '1       hw watchpoint  keep y                      out->r8',
      '\tbreakpoint already hit 2 times',
    ]);
    // The new value is what the SEAM side returned in R8 (MAX_TDMRS).
    d.stepInstruction();
    expect(d.seamCalls()[0]!.regsOut.r8).toBe(0x40n);
  });

  it('list shows the source with the expansion of each macro invocation under it', async () => {
    const { d } = await debug();
    const call = src(SC, /^\s*TDX_MODULE_CALL host=1/);
    const lines = await script(d, [`list seamcall.S:${call.n}`]);
    const source = rev.files.readFile(SC)!.split('\n');
    const numbered = lines.filter((l) => /^\d+\t/.test(l));
    const last = Math.min(call.n + 4, source.length - (source[source.length - 1] === '' ? 1 : 0));
    expect(numbered).toEqual(Array.from({ length: last - (call.n - 5) + 1 }, (_, i) => `${call.n - 5 + i}\t${source[call.n - 6 + i]}`));
    const under = lines.slice(lines.indexOf(call.shown) + 1, lines.indexOf(src(SC, /^\s*FRAME_END/).shown));
    const bodyLines = under.map((l) => Number(/tdxcall\.S:(\d+)/.exec(l)?.[1]));
    expect(bodyLines.every((n, i) => n > 0 && (i === 0 || n > bodyLines[i - 1]!))).toBe(true);
    for (const re of [/^\s*push %r12/, /^\s*seamcall\s*$/, /^\s*pop %r12/, /^\.Lno_output_struct:/]) expect(bodyLines).toContain(src(TDX, re).n);
    // host=1: the `.else` branch (tdcall) is not part of this expansion.
    expect(bodyLines).not.toContain(src(TDX, /^\s*tdcall\s*$/).n);
    // The SEAMCALL is shown as the assembler saw it after cpp: the `seamcall` macro's bytes.
    expect(under.find((l) => l.includes(`tdxcall.S:${src(TDX, /^\s*seamcall\s*$/).n} `))).toMatch(/\.byte 0x66,0x0f,0x01,0xcf$/);
  });

  it('errors are positioned and counted; completion offers commands, files and struct fields', async () => {
    const { d } = await debug();
    const out: string[] = [];
    const repl = new DebugRepl(d, (l) => out.push(l));
    expect(await runBatch(repl, 'p $rax +\nfrobnicate\nbreak nosuch.S:1\n')).toBe(3);
    expect(out).toEqual([
      'error: expected a value, found the end of the expression (column 7) [DEBUG_EXPRESSION]',
      '  note: $rax +',
      '  note:       ^',
      '  hint: a number, a register ($rax), a symbol, or a field (args->rcx)',
      'error: undefined command: "frobnicate" [DEBUG_UNKNOWN_COMMAND]',
      '  hint: try "help"',
      'error: no code in this image comes from nosuch.S [DEBUG_BREAK_UNRESOLVED]',
      '  hint: pick a line with code (list), a function name or *ADDRESS',
    ]);
    expect(repl.complete('reverse-s')).toEqual([['reverse-step', 'reverse-stepi'], 'reverse-s']);
    expect(repl.complete('b tdx')).toEqual([['tdxcall.S:'], 'tdx']);
    expect(repl.complete('p out->r')).toEqual([['out->r10', 'out->r11', 'out->r8', 'out->r9', 'out->rcx', 'out->rdx'], 'out->r']);
  });

  it('the CLI prints what the REPL prints, and exits 1 when a command failed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-debug-'));
    try {
      const seam = src(TDX, /^\s*seamcall\s*$/);
      const file = path.join(dir, 'script.gdb');
      const cmds = [`b tdxcall.S:${seam.n}`, 'r', 'i r rax', 'si', 'rsi', 'bt', 'c'];
      fs.writeFileSync(file, cmds.join('\n') + '\n');
      const run = promisify(execFile);
      const res = await run(process.execPath, [path.join(ROOT, 'dist/seamlab.js'), 'debug', 'v3', '--fn', '__seamcall', '--batch', file]);
      const { d } = await debug();
      expect(res.stdout).toBe((await script(d, cmds)).join('\n') + '\n');
      fs.writeFileSync(file, 'p nosuch\n');
      const bad = await run(process.execPath, [path.join(ROOT, 'dist/seamlab.js'), 'debug', 'v3', '--fn', '__seamcall', '--batch', file]).catch((e: { code: number; stdout: string }) => e);
      expect((bad as { code: number }).code).toBe(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
